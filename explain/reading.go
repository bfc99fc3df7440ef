package explain

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// Reading is everything read from one network namespace at one time. Only
// the links are required; every other part makes the explanation sharper:
//
//   - KernelRelease picks the right meaning where the kernel changed.
//   - MIB (/proc/net/xfrm_stat) names the IPsec cause behind link errors.
//   - Policies and SAs settle causes that counters alone cannot tell apart
//     (no policy, or an SA whose endpoints differ from the tunnel's).
//   - WireGuard peers do the same for wireguard links (no peer, no
//     endpoint, no recent handshake).
//
// A nil MIB, Policies or SAs means "not read"; an empty non-nil slice means
// "read, and there were none".
//
// The types of a Reading are explain's own, holding only what explain
// reads, so that explain depends on no netlink code. Package
// explain/monitor reads a namespace into a Reading, and converts what
// vtistat and xfrmstat return; a Reading is not a file format (a saved
// reading is a monitor.Snapshot).
type Reading struct {
	Time time.Time
	// KernelRelease is uname -r ("6.1.0-31-cloud-amd64"); "" if unknown.
	KernelRelease string

	// Links are the namespace's interfaces. Explain only reads them, but
	// they must not change while it runs, and the earlier reading needs
	// links of its own: a poll loop alternates two Readings.
	Links []LinkReading

	MIB      *procnet.XfrmStat
	Policies []Policy
	SAs      []SA

	// OutboundDefaultBlock is the namespace's default outbound XFRM policy
	// (ip xfrm policy getdefault): true for block, false for accept, nil if
	// not read.
	OutboundDefaultBlock *bool

	// WireGuard are the peers of the namespace's wireguard links, one
	// device per link that was read; nil when not read.
	WireGuard []WireGuardDevice

	// Events are the XFRM events received since the previous reading of
	// the namespace (package explain/monitor subscribes to them), in the
	// order they came; nil when none were watched. Explain lists them in
	// the Report and cites those that bear on a finding; Tracker uses the
	// final counters deleted and expired SAs carry.
	Events []Event

	// sameFor is the Tracker for which this reading is the one it was
	// given before, read again later (explain/internal/hint;
	// monitor.Update.Unchanged); nil for any other.
	sameFor *Tracker
}

// Source says where counters were read: a LinkReading's, and each
// Evidence's. In JSON and text it is the name String returns.
type Source uint8

const (
	// SourceStats64 is rtnetlink's rtnl_link_stats64: every field apart.
	SourceStats64 Source = iota + 1
	// SourceStats32 is the legacy 32-bit IFLA_STATS: fields apart, but they
	// wrap at 2^32.
	SourceStats32
	// SourceProcNetDev is /proc/net/dev: three columns are sums.
	SourceProcNetDev
	// SourceXfrmStat is /proc/net/xfrm_stat, the namespace's XFRM MIB.
	SourceXfrmStat
	// SourceSA is an SA's own counters, from the SA dump (Evidence.SA
	// names the SA).
	SourceSA
	// SourceEvent is XFRM events received between the readings
	// (Evidence.Counter is the event type).
	SourceEvent
	// SourceWireGuard is a wireguard link's peer list (Reading.WireGuard;
	// Evidence.Peer names the peer, Evidence.Counter what of it counts).
	SourceWireGuard
)

var sourceNames = [...]string{
	SourceStats64:    "stats64",
	SourceStats32:    "stats32",
	SourceProcNetDev: "proc/net/dev",
	SourceXfrmStat:   "xfrm_stat",
	SourceSA:         "xfrm_sa",
	SourceEvent:      "xfrm_event",
	SourceWireGuard:  "wg_peers",
}

// String returns "stats64", "stats32", "proc/net/dev", "xfrm_stat",
// "xfrm_sa", "xfrm_event" or "wg_peers";
// "none" for the zero Source (a link read without counters).
func (s Source) String() string {
	if s == 0 || int(s) >= len(sourceNames) {
		return "none"
	}
	return sourceNames[s]
}

// MarshalText returns String's name.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name String returns.
func (s *Source) UnmarshalText(b []byte) error {
	for i, n := range sourceNames {
		if n != "" && n == string(b) {
			*s = Source(i)
			return nil
		}
	}
	if string(b) == "none" {
		*s = 0
		return nil
	}
	return fmt.Errorf("explain: unknown counter source %q", b)
}

// LinkReading is one interface's counters and, when known, its kind and
// tunnel parameters.
type LinkReading struct {
	Name  string
	Index int32 // 0 if unknown (/proc/net/dev has no index)
	// Kind is IFLA_INFO_KIND ("vti", "vti6", "xfrm", "gre", …); "" if
	// unknown. When it is unknown the kind is inferred from the name
	// ("vti0" → vti) and every finding says so.
	Kind string
	// Tunnel holds the tunnel parameters explain reads; nil if unknown.
	// Checks then show placeholders such as <remote>.
	Tunnel *Tunnel
	// CrossNetns is true when the tunnel's underlay is in another network
	// namespace (IFLA_LINK_NETNSID present): its IPsec events are then
	// counted in that namespace's MIB, not in this one's.
	CrossNetns bool

	// Source says which of Stats and Dev holds the counters: Stats for
	// SourceStats64 and SourceStats32, the /proc/net/dev line Dev points to
	// for SourceProcNetDev (nil otherwise). A link with Source 0, or
	// SourceProcNetDev and a nil Dev, has no counters; it is reported, not
	// explained.
	Source Source
	Stats  Stats64
	Dev    *procnet.DevStats
}

// Stats64 is struct rtnl_link_stats64, field for field, in the kernel's
// order; vtistat.Stats64 converts to it directly (explain.Stats64(s)).
type Stats64 struct {
	RxPackets          uint64
	TxPackets          uint64
	RxBytes            uint64
	TxBytes            uint64
	RxErrors           uint64
	TxErrors           uint64
	RxDropped          uint64
	TxDropped          uint64
	Multicast          uint64
	Collisions         uint64
	RxLengthErrors     uint64
	RxOverErrors       uint64
	RxCRCErrors        uint64
	RxFrameErrors      uint64
	RxFIFOErrors       uint64
	RxMissedErrors     uint64
	TxAbortedErrors    uint64
	TxCarrierErrors    uint64
	TxFIFOErrors       uint64
	TxHeartbeatErrors  uint64
	TxWindowErrors     uint64
	RxCompressed       uint64
	TxCompressed       uint64
	RxNoHandler        uint64
	RxOtherhostDropped uint64
}

// Tunnel is what explain reads of a tunnel's parameters (vtistat.Tunnel):
// the outer addresses, the keys and the XFRM interface id. An invalid
// address is unknown; the unspecified address is "any".
type Tunnel struct {
	Local, Remote netip.Addr
	IKey          uint32 // vti: the inbound SA mark; gre: the input key
	OKey          uint32 // vti: the outbound policy mark; gre: the output key
	Link          uint32 // the underlay ifindex the tunnel is bound to, 0 if unbound
	IfID          uint32 // xfrm interfaces: IFLA_XFRM_IF_ID
}

// Mode is an XFRM mode (XFRM_MODE_*), as in xfrmstat.Mode.
type Mode uint8

const (
	ModeTransport Mode = iota
	ModeTunnel
	ModeROBeet
	ModeInTrigger
	ModeBEET
	ModeIPTFS
)

// Mark is an XFRM mark and mask. A nil *Mark is 0/0, which matches every
// mark.
type Mark struct {
	Value uint32 `json:"value"`
	Mask  uint32 `json:"mask"`
}

// SA is what explain reads of an XFRM state (xfrmstat.SA).
type SA struct {
	Src, Dst netip.Addr
	SPI      uint32
	Proto    uint8 // IPPROTO_ESP (50), IPPROTO_AH (51), IPPROTO_COMP (108)
	Mode     Mode
	Mark     *Mark
	IfID     uint32

	// The rest is what tunnel health (Tracker) and the naming of SAs in
	// findings read; a reading without it (zero values) explains the
	// counters as before.

	// ReqID ties the SA to the policy templates of the same reqid
	// (policy-based tunnels).
	ReqID uint32
	// Dir is XFRMA_SA_DIR (Linux 6.10+); SADirUnknown when the kernel or
	// the key manager did not set it.
	Dir SADir
	// Lifetime is the SA's configured limits; Usage what it has carried.
	Lifetime Lifetime
	Usage    Usage
	// LastUsed is when the SA last carried a packet (XFRMA_LASTUSED; the
	// kernel updates it per packet, where Usage.Used is the first use);
	// zero if unknown or never.
	LastUsed time.Time
	// OSeq is the last outbound sequence number used, Seq the highest
	// inbound one seen (with ESN the 64-bit numbers, high half included).
	// HasReplay is false when the kernel sent no replay state: then both
	// are unknown.
	OSeq, Seq uint64
	ESN       bool
	HasReplay bool
	// Errors are the SA's own error counters (struct xfrm_stats).
	Errors SAErrors
	// Larval is true for a placeholder SA with no algorithms: the one an
	// ACQUIRE installs while the key manager negotiates, or one whose SPI
	// was only allocated (ip xfrm state allocspi). No packet can use it.
	Larval bool
}

// SADir is an SA's direction as XFRMA_SA_DIR says it (Linux 6.10+).
type SADir uint8

const (
	SADirUnknown SADir = iota // not set: older kernels, or not given
	SADirIn
	SADirOut
)

// Lifetime is an SA's configured limits (struct xfrm_lifetime_cfg). A byte
// or packet limit of math.MaxUint64 is none (the kernel's XFRM_INF); a time
// limit of 0 is none. Add limits count from when the SA was added, use
// limits from its first use.
type Lifetime struct {
	SoftBytes, HardBytes     uint64
	SoftPackets, HardPackets uint64
	SoftAdd, HardAdd         time.Duration
	SoftUse, HardUse         time.Duration
}

// Usage is what an SA has carried so far (struct xfrm_lifetime_cur).
type Usage struct {
	Bytes   uint64    `json:"bytes"`
	Packets uint64    `json:"packets"`
	Added   time.Time `json:"added,omitzero"`
	// Used is the SA's first use (use-time limits count from it); zero:
	// never used.
	Used time.Time `json:"used,omitzero"`
}

// SAErrors are the error counters the kernel keeps per SA (struct
// xfrm_stats), beside the namespace-wide MIB: xfrm_input counts
// IntegrityFailed with XfrmInStateProtoError when ESP/AH authentication
// fails, xfrm_replay_check Replay and ReplayWindow with
// XfrmInStateSeqError. They are 32-bit counters in the kernel.
type SAErrors struct {
	ReplayWindow    uint32
	Replay          uint32
	IntegrityFailed uint32
}

// Dir is a policy direction (XFRM_POLICY_IN, _OUT, _FWD).
type Dir uint8

const (
	DirIn Dir = iota
	DirOut
	DirFwd
)

// Action is a policy's action: allow or block.
type Action uint8

const (
	ActionAllow Action = iota
	ActionBlock
)

// Policy is what explain reads of an XFRM policy (xfrmstat.Policy).
type Policy struct {
	Selector Selector
	Dir      Dir
	Action   Action
	Type     uint8 // XFRM_POLICY_TYPE_MAIN (0) or _SUB (1)
	Index    uint32
	Mark     *Mark
	IfID     uint32
	// Templates are the SAs the policy requires, outermost last.
	Templates []Template
}

// Selector is what explain reads of a policy's selector: which traffic it
// matches.
type Selector struct {
	Src, Dst                 netip.Prefix
	SrcPortMask, DstPortMask uint16
	Family                   uint16 // AF_INET (2), AF_INET6 (10); 0: the prefixes' family
	Proto                    uint8
	IfIndex                  int32
}

// Template is what explain reads of one template of a policy.
type Template struct {
	Src, Dst netip.Addr
	Proto    uint8
	Mode     Mode
	Optional bool   // level use: the policy applies even without this SA
	ReqID    uint32 // the SAs it takes: those of this reqid (0: any)
}

// LinksFromProcNetDev converts /proc/net/dev lines. Kinds and tunnel
// parameters are unknown: set them on the result if another source knows
// them (ip -d link), which sharpens the explanation. Each reading's Dev
// points into devs.
func LinksFromProcNetDev(devs []procnet.DevStats) []LinkReading {
	out := make([]LinkReading, len(devs))
	for i := range devs {
		out[i] = LinkReading{Name: devs[i].Name, Source: SourceProcNetDev, Dev: &devs[i]}
	}
	return out
}
