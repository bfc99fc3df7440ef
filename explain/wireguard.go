package explain

import (
	"net/netip"
	"time"
)

// WireGuardDevice is what explain reads of one wireguard link's peers
// (vtistat.WireGuardDevice, read over generic netlink). The link's
// counters are in Reading.Links like any other link's; the peers settle
// what the counters leave open: whether any peer's allowed IPs cover a
// destination, whether a peer has an endpoint, and how long ago its last
// handshake completed.
type WireGuardDevice struct {
	// Index and Name identify the link in Reading.Links.
	Index int32
	Name  string
	// Peers are in the kernel's order.
	Peers []WireGuardPeer
}

// WireGuardPeer is what explain reads of one peer. It holds no secret: the
// public key is public, and the preshared key is never read.
type WireGuardPeer struct {
	// PublicKey is the peer's public key in standard base64, as wg(8)
	// prints it; it names the peer in findings.
	PublicKey string
	// Endpoint is the peer's UDP address; the zero AddrPort means none,
	// and then every packet routed to the peer is dropped.
	Endpoint netip.AddrPort
	// AllowedIPs are the destinations routed to the peer and the sources
	// accepted from it.
	AllowedIPs []netip.Prefix
	// LastHandshake is when the last handshake completed; zero: never.
	LastHandshake time.Time
	// RxBytes and TxBytes count the peer's UDP payloads (data,
	// keepalives and handshake messages).
	RxBytes, TxBytes uint64
	// PersistentKeepalive is the keepalive interval; 0 is off.
	PersistentKeepalive time.Duration
}

// PeerRef names a WireGuard peer in a finding's evidence.
type PeerRef struct {
	// PublicKey is the peer's public key in base64, as wg(8) prints it.
	PublicKey string `json:"public_key"`
	// Endpoint is its endpoint at the later reading; zero: none.
	Endpoint netip.AddrPort `json:"endpoint,omitzero"`
}

// String names the peer: "peer KEY= (198.51.100.2:51820)", "peer KEY= (no
// endpoint)". The key is shown as Report.Format shows names, with no
// control character.
func (p PeerRef) String() string {
	ep := "no endpoint"
	if p.Endpoint.IsValid() {
		ep = p.Endpoint.String()
	}
	return "peer " + showName(p.PublicKey) + " (" + ep + ")"
}
