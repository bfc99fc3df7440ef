//go:build linux

package wgtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// The wireguard generic netlink interface (include/uapi/linux/wireguard.h).
const (
	GenlName    = "wireguard"
	GenlVersion = 1
	CmdGetDev   = 0 // WG_CMD_GET_DEVICE
	CmdSetDev   = 1 // WG_CMD_SET_DEVICE

	DeviceIfIndex    = 1
	DeviceIfName     = 2
	DevicePrivateKey = 3
	DevicePublicKey  = 4
	DeviceFlags      = 5
	DeviceListenPort = 6
	DeviceFwMark     = 7
	DevicePeers      = 8

	PeerPublicKey    = 1
	PeerPresharedKey = 2
	PeerFlags        = 3
	PeerEndpoint     = 4
	PeerKeepalive    = 5
	PeerAllowedIPs   = 9

	AllowedIPFamily = 1
	AllowedIPAddr   = 2
	AllowedIPCIDR   = 3

	// DeviceFReplacePeers (WGDEVICE_F_REPLACE_PEERS) removes every peer
	// not in the request.
	DeviceFReplacePeers = 1
	// PeerFRemoveMe (WGPEER_F_REMOVE_ME) removes the peer.
	PeerFRemoveMe = 1
	// PeerFReplaceAllowedIPs (WGPEER_F_REPLACE_ALLOWEDIPS) replaces the
	// peer's allowed IPs instead of adding to them.
	PeerFReplaceAllowedIPs = 2

	nlaFNested = 1 << 15
	afInet     = 2
	afInet6    = 10

	// Batch is how many peers one WG_CMD_SET_DEVICE request carries.
	Batch = 50
)

// Peer is one peer of a WG_CMD_SET_DEVICE request.
type Peer struct {
	Public    Key
	Preshared Key            // zero: none
	Endpoint  netip.AddrPort // invalid: none sent (an existing endpoint stays)
	Allowed   []netip.Prefix
	Keepalive uint16 // seconds, 0 off
	Flags     uint32 // PeerFRemoveMe, PeerFReplaceAllowedIPs
}

// Device is the device part of a WG_CMD_SET_DEVICE request.
type Device struct {
	Private    Key
	ListenPort uint16
	FwMark     uint32
	Flags      uint32 // DeviceFReplacePeers
}

// AddDevice creates a wireguard link named name in ns (RTM_NEWLINK, kind
// "wireguard", through ip(8)).
func AddDevice(tb testing.TB, ns *testns.NS, name string) {
	tb.Helper()
	ns.IP(tb, "link", "add", name, "type", "wireguard")
}

// Dial opens a generic netlink socket in ns and resolves the wireguard
// family. The caller closes the connection.
func Dial(tb testing.TB, ns *testns.NS) (*nl.Conn, nl.Family) {
	tb.Helper()
	c, err := nl.Dial(unix.NETLINK_GENERIC, ns.Open(tb), 0)
	if err != nil {
		tb.Fatal(err)
	}
	fam, err := c.ResolveFamily(context.Background(), GenlName)
	if err != nil {
		c.Close()
		tb.Fatal(err)
	}
	return c, fam
}

// Set configures device dev in ns: the device attributes in the first
// request, then the peers, at most Batch per request.
func Set(tb testing.TB, ns *testns.NS, dev string, d Device, peers []Peer) {
	tb.Helper()
	c, fam := Dial(tb, ns)
	defer c.Close()
	if err := SetWith(c, fam, dev, &d, peers); err != nil {
		tb.Fatal(err)
	}
}

// SetPeers changes only peers of dev (no device attribute is sent).
func SetPeers(tb testing.TB, ns *testns.NS, dev string, peers []Peer) {
	tb.Helper()
	c, fam := Dial(tb, ns)
	defer c.Close()
	if err := SetWith(c, fam, dev, nil, peers); err != nil {
		tb.Fatal(err)
	}
}

// RemovePeer removes the peer with public key pub from dev.
func RemovePeer(tb testing.TB, ns *testns.NS, dev string, pub Key) {
	tb.Helper()
	SetPeers(tb, ns, dev, []Peer{{Public: pub, Flags: PeerFRemoveMe}})
}

// ReplacePeer removes the peer with p's public key and adds p as given:
// the way to take an endpoint away (WG_CMD_SET_DEVICE can set an endpoint
// but not clear one). The peer's sessions and counters go with it.
func ReplacePeer(tb testing.TB, ns *testns.NS, dev string, p Peer) {
	tb.Helper()
	SetPeers(tb, ns, dev, []Peer{{Public: p.Public, Flags: PeerFRemoveMe}, p})
}

// SetWith sends the WG_CMD_SET_DEVICE requests of Set over an open
// connection: d (nil: no device attribute) in the first, then peers in
// requests of at most Batch. It is what benchmarks use to build large
// devices.
func SetWith(c *nl.Conn, fam nl.Family, dev string, d *Device, peers []Peer) error {
	ctx := context.Background()
	first := true
	for len(peers) > 0 || first {
		batch := peers[:min(Batch, len(peers))]
		peers = peers[len(batch):]
		req := nl.AppendGenlHeader(nil, CmdSetDev, GenlVersion)
		req = nl.AppendStringAttr(req, DeviceIfName, dev)
		if first && d != nil {
			req = nl.AppendAttr(req, DevicePrivateKey, d.Private[:])
			var p [2]byte
			binary.NativeEndian.PutUint16(p[:], d.ListenPort)
			req = nl.AppendAttr(req, DeviceListenPort, p[:])
			req = nl.AppendUint32Attr(req, DeviceFwMark, d.FwMark)
			if d.Flags != 0 {
				req = nl.AppendUint32Attr(req, DeviceFlags, d.Flags)
			}
		}
		var ps []byte
		for _, p := range batch {
			ps = nl.AppendAttr(ps, nlaFNested, appendPeer(nil, &p))
		}
		if len(ps) > 0 {
			req = nl.AppendAttr(req, DevicePeers|nlaFNested, ps)
		}
		if err := c.Request(ctx, "WG_CMD_SET_DEVICE", fam.ID, nl.FlagAck, req, func(nl.Message) error { return nil }); err != nil {
			return fmt.Errorf("WG_CMD_SET_DEVICE %s: %w", dev, err)
		}
		first = false
	}
	return nil
}

func appendPeer(pa []byte, p *Peer) []byte {
	pa = nl.AppendAttr(pa, PeerPublicKey, p.Public[:])
	if p.Flags != 0 {
		pa = nl.AppendUint32Attr(pa, PeerFlags, p.Flags)
	}
	if p.Flags&PeerFRemoveMe != 0 {
		return pa
	}
	if p.Preshared != (Key{}) {
		pa = nl.AppendAttr(pa, PeerPresharedKey, p.Preshared[:])
	}
	if p.Endpoint.IsValid() {
		pa = nl.AppendAttr(pa, PeerEndpoint, Sockaddr(p.Endpoint))
	}
	var ka [2]byte
	binary.NativeEndian.PutUint16(ka[:], p.Keepalive)
	pa = nl.AppendAttr(pa, PeerKeepalive, ka[:])
	var ips []byte
	for _, pfx := range p.Allowed {
		var e []byte
		fam := uint16(afInet)
		if pfx.Addr().Is6() {
			fam = afInet6
		}
		var f [2]byte
		binary.NativeEndian.PutUint16(f[:], fam)
		e = nl.AppendAttr(e, AllowedIPFamily, f[:])
		e = nl.AppendAttr(e, AllowedIPAddr, pfx.Addr().AsSlice())
		e = nl.AppendAttr(e, AllowedIPCIDR, []byte{byte(pfx.Bits())})
		ips = nl.AppendAttr(ips, nlaFNested, e)
	}
	return nl.AppendAttr(pa, PeerAllowedIPs|nlaFNested, ips)
}

// Sockaddr encodes ap as a struct sockaddr_in or sockaddr_in6.
func Sockaddr(ap netip.AddrPort) []byte {
	if ap.Addr().Is4() {
		b := make([]byte, 16)
		binary.NativeEndian.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], ap.Port())
		a := ap.Addr().As4()
		copy(b[4:], a[:])
		return b
	}
	b := make([]byte, 28)
	binary.NativeEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], ap.Port())
	a := ap.Addr().As16()
	copy(b[8:], a[:])
	return b
}

// RawDump returns the messages of one WG_CMD_GET_DEVICE dump, each with
// its netlink header, as the kernel sent them (keys included: the caller
// scrubs them before saving anything).
func RawDump(tb testing.TB, ns *testns.NS, dev string) [][]byte {
	tb.Helper()
	c, fam := Dial(tb, ns)
	defer c.Close()
	req := nl.AppendGenlHeader(nil, CmdGetDev, GenlVersion)
	req = nl.AppendStringAttr(req, DeviceIfName, dev)
	var msgs [][]byte
	err := c.Dump(context.Background(), "WG_CMD_GET_DEVICE dump", fam.ID, nl.FlagDump, req, func() { msgs = nil }, func(m nl.Message) error {
		b := nl.AppendHeader(nil, m.Type, m.Flags, 0, 0, len(m.Data))
		msgs = append(msgs, append(b, m.Data...))
		return nil
	}, nil)
	c.ClearBuffer()
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}

// The tunnel Tunnel makes.
const (
	TunnelPortA, TunnelPortB = 51820, 51821
	TunnelInnerA             = "10.9.0.1"
	TunnelInnerB             = "10.9.0.2"
)

// Tunnel joins p's namespaces with a wireguard tunnel and sets it up: wg0
// in A (identity 1, TunnelInnerA/24, port TunnelPortA) and in B (identity
// 2, TunnelInnerB/24, port TunnelPortB), each the other's only peer, with
// the other's veth address as endpoint and the other's inner /32 as
// allowed IPs. No handshake has happened when it returns.
func Tunnel(tb testing.TB, p *testns.Pair) {
	tb.Helper()
	sides := []struct {
		ns, other   *testns.NS
		id, otherID int
		inner       string
		port        uint16
		otherInner  string
		otherEnd    netip.AddrPort
	}{
		{p.A, p.B, 1, 2, TunnelInnerA, TunnelPortA, TunnelInnerB, netip.AddrPortFrom(p.BAddr, TunnelPortB)},
		{p.B, p.A, 2, 1, TunnelInnerB, TunnelPortB, TunnelInnerA, netip.AddrPortFrom(p.AAddr, TunnelPortA)},
	}
	for _, s := range sides {
		AddDevice(tb, s.ns, "wg0")
		s.ns.IP(tb, "addr", "add", s.inner+"/24", "dev", "wg0")
		Set(tb, s.ns, "wg0", Device{Private: Private(s.id), ListenPort: s.port}, []Peer{{Public: Public(tb, s.otherID), Endpoint: s.otherEnd,
			Allowed: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr(s.otherInner), 32)}}})
	}
	for _, s := range sides {
		s.ns.IP(tb, "link", "set", "wg0", "up")
	}
}

// SendUDP sends n datagrams of size bytes from inside ns, from address
// src ("" for any) to dst (IPv4 address:port), from an unconnected
// socket, so that an ICMP error a datagram brings back fails no later
// send. Any failed send fails tb.
func SendUDP(tb testing.TB, ns *testns.NS, src, dst string, n, size int) {
	tb.Helper()
	if errs := TrySendUDP(tb, ns, src, dst, n, size); len(errs) > 0 {
		tb.Fatalf("%s: datagrams to %s: send errors %v", ns.Name, dst, errs)
	}
}

// TrySendUDP is SendUDP that counts the failed sends by errno name
// (ErrnoName: the wireguard driver returns its reason to the sender).
func TrySendUDP(tb testing.TB, ns *testns.NS, src, dst string, n, size int) map[string]int {
	tb.Helper()
	to, err := netip.ParseAddrPort(dst)
	if err != nil {
		tb.Fatal(err)
	}
	var from netip.Addr
	if src != "" {
		if from, err = netip.ParseAddr(src); err != nil {
			tb.Fatal(err)
		}
	}
	h, err := netns.Open(netns.Target{Name: ns.Name})
	if err != nil {
		tb.Fatal(err)
	}
	defer h.Close()
	errs := map[string]int{}
	err = h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if from.IsValid() {
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: from.As4()}); err != nil {
				return err
			}
		}
		sa := &unix.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()}
		payload := make([]byte, size)
		for range n {
			if err := unix.Sendto(fd, payload, 0, sa); err != nil {
				errs[ErrnoName(err)]++
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("%s: socket from %q: %v", ns.Name, src, err)
	}
	return errs
}

// ErrnoName is the name (ENOKEY …) of the errno err is or wraps, else
// err's text.
func ErrnoName(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
	}
	return err.Error()
}
