package explain

import (
	"fmt"
	"net/netip"
	"time"
)

// TunnelID names a tunnel by values that do not change when its SAs are
// rekeyed: SPIs come and go, a TunnelID stays. It is comparable.
type TunnelID struct {
	// Interface is the VTI or xfrm interface that carries the tunnel; ""
	// for a policy-based tunnel.
	Interface string `json:"interface"`
	// Kind is the interface's kind ("vti", "vti6", "xfrm"), or "policy"
	// for a policy-based tunnel.
	Kind string `json:"kind"`
	// Peer is the remote end's outer address: a VTI's remote, or the
	// address the tunnel's outbound SAs and policy templates send to.
	Peer netip.Addr `json:"peer"`
	// ReqID is a policy-based tunnel's reqid (its policies' templates and
	// SAs share it); 0 for interfaces.
	ReqID uint32 `json:"reqid,omitempty"`
	// PublicKey names a WireGuard peer (Kind "wireguard"; base64, as
	// wg(8) prints it); "" for any other tunnel. Peer is then unset: a
	// peer's endpoint changes when it roams, its key does not.
	PublicKey string `json:"public_key,omitempty"`
}

// KindPolicy is TunnelID.Kind of a policy-based tunnel.
const KindPolicy = "policy"

// String names the tunnel: "vti0", "xfrm1 to 198.51.100.2", "reqid 5 to
// 198.51.100.2", "wg0 peer xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=".
func (id TunnelID) String() string {
	switch {
	case id.Kind == KindPolicy:
		return fmt.Sprintf("reqid %d to %s", id.ReqID, addrWord(id.Peer))
	case id.Kind == KindWireGuard:
		return fmt.Sprintf("%s peer %s", id.Interface, id.PublicKey)
	case id.Kind == KindXfrm && id.Peer.IsValid():
		return fmt.Sprintf("%s to %s", id.Interface, id.Peer)
	}
	return id.Interface
}

// TunnelState says whether a tunnel can carry traffic now.
type TunnelState uint8

const (
	// TunnelUp: the tunnel has an outbound policy (or is an interface
	// that needs none of its own) and an SA in each direction.
	TunnelUp TunnelState = iota + 1
	// TunnelNoSA: the tunnel is configured (policy or interface) but has
	// no SA in at least one direction: not negotiated, expired, or
	// deleted. Traffic into it is dropped (tx-no-sa) or waits.
	TunnelNoSA
	// TunnelNoPolicy: SAs exist but no outbound policy sends traffic
	// through them: nothing will use them.
	TunnelNoPolicy
)

var tunnelStateNames = [...]string{TunnelUp: "up", TunnelNoSA: "no-sa", TunnelNoPolicy: "no-policy"}

// String returns "up", "no-sa" or "no-policy".
func (s TunnelState) String() string {
	if int(s) < len(tunnelStateNames) && tunnelStateNames[s] != "" {
		return tunnelStateNames[s]
	}
	return "unknown"
}

// MarshalText returns String's name.
func (s TunnelState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name String returns.
func (s *TunnelState) UnmarshalText(b []byte) error {
	for i, n := range tunnelStateNames {
		if n != "" && n == string(b) {
			*s = TunnelState(i)
			return nil
		}
	}
	return fmt.Errorf("explain: unknown tunnel state %q", b)
}

// Traffic is what a tunnel carried in one direction.
type Traffic struct {
	// Bytes and Packets count from when the Tracker first saw the tunnel,
	// across rekeys: the final counters of every SA the tunnel had are
	// kept, so they never decrease while the Tracker lives.
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
	// Last is when an SA of this direction last carried a packet; zero if
	// none has been seen to.
	Last time.Time `json:"last,omitzero"`
}

// SAHealth is one SA of a tunnel and how far it is from its limits.
type SAHealth struct {
	SA SARef `json:"sa"`
	// Dir is the direction the SA serves in its tunnel.
	Dir   SADir     `json:"dir"`
	Added time.Time `json:"added,omitzero"`
	// SoftExpiry and HardExpiry are when the SA reaches its soft (rekey)
	// and hard (deleted) time limit: the earlier of the add-time and
	// use-time limits; zero when it has none. A use-time limit counts
	// from the first use, so an unused SA has none yet.
	SoftExpiry time.Time `json:"soft_expiry,omitzero"`
	HardExpiry time.Time `json:"hard_expiry,omitzero"`
	// Bytes and packets left before each limit; math.MaxUint64 when there
	// is no such limit.
	SoftBytesLeft   uint64 `json:"soft_bytes_left"`
	HardBytesLeft   uint64 `json:"hard_bytes_left"`
	SoftPacketsLeft uint64 `json:"soft_packets_left"`
	HardPacketsLeft uint64 `json:"hard_packets_left"`
	// SeqHeadroom is, for an outbound SA, the sequence numbers left before
	// it can send no more (2^32−1 without ESN, 2^64−1 with, less OSeq);
	// HasSeq is false when the SA is inbound or its replay state unknown.
	SeqHeadroom uint64 `json:"seq_headroom"`
	HasSeq      bool   `json:"has_seq"`
	ESN         bool   `json:"esn"`
}

// TunnelStatus is one tunnel at the time of a reading.
type TunnelStatus struct {
	ID    TunnelID    `json:"id"`
	Local netip.Addr  `json:"local"`
	State TunnelState `json:"state"`
	// In and Out are the tunnel's traffic, kept across rekeys.
	In  Traffic `json:"in"`
	Out Traffic `json:"out"`
	// SAs are its SAs in this reading, inbound first.
	SAs []SAHealth `json:"sas"`
}

// PeerStatus is one WireGuard peer at the time of a reading.
type PeerStatus struct {
	// ID is the peer's interface, Kind "wireguard" and PublicKey.
	ID TunnelID `json:"id"`
	// Endpoint is where the peer's packets go now; zero: none.
	Endpoint netip.AddrPort `json:"endpoint,omitzero"`
	// Up is true when the last handshake completed less than 180 s
	// (REJECT_AFTER_TIME) before the reading, so the peer has a session
	// it can send on. WireGuard is silent while idle: a peer that carried
	// no traffic for three minutes, and has no persistent keepalive, is
	// not up although nothing is wrong.
	Up            bool      `json:"up"`
	LastHandshake time.Time `json:"last_handshake,omitzero"`
	// In and Out are the bytes received from and sent to the peer (its
	// UDP payloads: data, keepalives and handshakes), kept monotonic
	// while the Tracker lives, across the peer's removal and re-adding.
	// WireGuard counts no packets per peer: Packets stays 0, and Last is
	// when the Tracker saw the bytes grow.
	In  Traffic `json:"in"`
	Out Traffic `json:"out"`
}

// Risk is a failure ahead: a state of an SA or tunnel that will drop
// packets unless something changes. Its Cause is a catalogue entry.
type Risk struct {
	Tunnel TunnelID `json:"tunnel"`
	Cause  CauseID  `json:"cause"`
	Title  string   `json:"title"`
	// SA is the SA at risk; nil for a risk of the whole tunnel.
	SA *SARef `json:"sa,omitempty"`
	// At is when packets will start to drop at the current rate (the
	// hard expiry, the sequence number's end); zero when not known.
	At time.Time `json:"at,omitzero"`

	KernelRef []string `json:"kernel_refs"`
	Kernels   string   `json:"kernels"`
	Checks    []Check  `json:"checks"`
	// Explanation says in plain words what is ahead and why.
	Explanation string `json:"explanation"`
}

// Health is a namespace's tunnels at one reading, and the failures ahead.
type Health struct {
	Time    time.Time      `json:"time"`
	Tunnels []TunnelStatus `json:"tunnels"`
	// Peers are the WireGuard peers of Reading.WireGuard, in its order.
	Peers []PeerStatus `json:"peers,omitempty"`
	Risks []Risk       `json:"risks"`

	// The storage behind the tunnels' SAs and their marks, kept for the
	// next Tracker.Add into this Health.
	sas   []SAHealth
	marks []Mark
}

// String returns "in", "out" or "unknown".
func (d SADir) String() string {
	switch d {
	case SADirIn:
		return "in"
	case SADirOut:
		return "out"
	}
	return "unknown"
}

// MarshalText returns String's name.
func (d SADir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a name String returns.
func (d *SADir) UnmarshalText(b []byte) error {
	for _, c := range []SADir{SADirUnknown, SADirIn, SADirOut} {
		if c.String() == string(b) {
			*d = c
			return nil
		}
	}
	return fmt.Errorf("explain: unknown SA direction %q", b)
}

// Default HealthConfig settings.
const (
	DefaultOneWayAfter = 3
	DefaultRekeyMargin = 30 * time.Second
)

// HealthConfig tunes a Tracker. The zero HealthConfig uses the defaults.
type HealthConfig struct {
	// OneWayAfter is how many readings in a row one direction of a tunnel
	// must carry packets while the other carries none before a
	// tunnel-one-way risk is raised (for a WireGuard peer:
	// tunnel-wg-one-way: that many readings with data one way, and not a
	// byte the other way since the first of them; readings with neither
	// end the run only after more than 10 s without data); 0 (or less)
	// means DefaultOneWayAfter.
	OneWayAfter int
	// RekeyMargin is the least time a key manager should have between an
	// SA's soft and hard limits to install its replacement; 0 (or less)
	// means DefaultRekeyMargin.
	RekeyMargin time.Duration
}

// Tracker follows a namespace's tunnels from reading to reading: it groups
// SAs and policies into tunnels (an xfrm interface's by if_id, a VTI's by
// its keys as marks, policy-based ones by reqid and peer), keeps each
// tunnel's traffic monotonic across rekeys, and finds the failures ahead.
// It follows WireGuard peers too (Health.Peers): each peer's bytes kept
// monotonic across its removal and re-adding and its device's
// re-creation, whether it is up, and the failures ahead of it.
// Add one reading after another, each with the events received since the
// one before; a reading without SAs (not read) yields no tunnels, one
// without peers (not read) no peers.
//
// The zero Tracker is ready to use. A Tracker is not safe for concurrent
// use.
type Tracker struct {
	Config HealthConfig

	tunnels map[TunnelID]*tunnelTrack
	sas     map[saKey]*saTrack
	retired map[saKey]retiredSA
	prev    time.Time
	gen     uint64

	// What the links and policies say, kept while they do not change
	// (ixSum is their fingerprint), and the tunnels they define.
	ix       tunnelIndex
	ixSum    uint64
	ixBuilt  bool
	ixTracks []*tunnelTrack
	ifNames  map[int32]string // interface names by ifindex, to follow renames
	// order is the tunnels in report order, kept while the set of
	// tunnels does not change.
	order []*tunnelTrack
	// byPos is the SA track at each position of the previous dump.
	byPos []*saTrack
	// same is what an Add of the previous reading read again reuses.
	same sameState
	// WireGuard peers (tracker_wireguard.go), and the wireguard devices'
	// names by ifindex at the previous reading, to follow renames.
	peers   map[peerKey]*peerTrack
	wgNames map[int32]string
}
