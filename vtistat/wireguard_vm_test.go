//go:build linux

package vtistat

// The wireguard VM test: the host has no wireguard module, the rig's
// kernels do.
//
//	go run ./internal/vmtest/cmd/vmtest -kernels 6.12 -parallel 1 -run '^TestVMWireGuard' ./vtistat/
//
// To refresh the fixtures TestDecodeWireGuardFixtures reads, run it with
// -captures DIR and copy DIR/<kernel>/TestVMWireGuard/*.bin to
// testdata/wg/<kernel>/ (the key bytes are zero in them already). The
// configuration helpers are package internal/wgtest's.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
)

// wgSetPeer is one peer of a WG_CMD_SET_DEVICE request.
type wgSetPeer struct {
	public    WireGuardKey
	preshared [32]byte
	endpoint  netip.AddrPort
	allowed   []netip.Prefix
	keepalive uint16
}

// wgSet configures a wireguard device with package wgtest: private key,
// listen port, fwmark and peers, in requests of at most wgtest.Batch peers.
func wgSet(t *testing.T, ns *testns.NS, dev string, private [32]byte, port uint16, fwmark uint32, peers []wgSetPeer) {
	t.Helper()
	ps := make([]wgtest.Peer, len(peers))
	for i, p := range peers {
		ps[i] = wgtest.Peer{Public: wgtest.Key(p.public), Preshared: p.preshared, Endpoint: p.endpoint, Allowed: p.allowed, Keepalive: p.keepalive}
	}
	wgtest.Set(t, ns, dev, wgtest.Device{Private: private, ListenPort: port, FwMark: fwmark}, ps)
}

// TestVMWireGuard joins two namespaces with a wireguard tunnel configured
// over generic netlink, sends datagrams through it, and reads both ends
// back with WireGuardDevice: every field, and none of the known private or
// preshared key bytes anywhere in the values, their JSON or their %+v.
// A third device with 300 peers (one of them with 1 503 allowed IPs) makes
// the kernel split its dump. The raw dumps, keys zeroed, are saved as
// fixtures for TestDecodeWireGuardFixtures. Last, the test binary runs
// again as nobody in namespace A: the link reads, the peers are refused
// as os.ErrPermission.
func TestVMWireGuard(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "wireguard", "veth")
	p := newQuietPair(t)
	ctx := context.Background()

	// Identities 1 (A) and 2 (B); preshared key 7 between them.
	privA, privB, psk := wgTestPrivate(1), wgTestPrivate(2), wgTestPreshared(7)
	pubA, pubB := wgTestPublic(t, 1), wgTestPublic(t, 2)
	tunA, tunB := netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2")
	const portA, portB = 51820, 51821
	for _, s := range []struct {
		ns   *testns.NS
		addr netip.Addr
	}{{p.A, tunA}, {p.B, tunB}} {
		wgtest.AddDevice(t, s.ns, "wg0")
		s.ns.IP(t, "addr", "add", s.addr.String()+"/24", "dev", "wg0")
	}
	wgSet(t, p.A, "wg0", privA, portA, 0, []wgSetPeer{{public: pubB, preshared: psk,
		endpoint: netip.AddrPortFrom(p.BAddr, portB), allowed: []netip.Prefix{netip.PrefixFrom(tunB, 32)}}})
	wgSet(t, p.B, "wg0", privB, portB, 0x42, []wgSetPeer{{public: pubA, preshared: psk, keepalive: 25,
		endpoint: netip.AddrPortFrom(p.AAddr, portA), allowed: []netip.Prefix{netip.PrefixFrom(tunA, 32), netip.MustParsePrefix("fd00:9::/64")}}})
	p.A.IP(t, "link", "set", "wg0", "up")
	p.B.IP(t, "link", "set", "wg0", "up")

	// The big device, down (it sends nothing): identity 999.
	var big []wgSetPeer
	for i := range wgBigPeers {
		ka := uint16(0)
		if i%3 == 0 {
			ka = 25
		}
		big = append(big, wgSetPeer{public: wgTestPublic(t, 1000+i), preshared: wgTestPreshared(1000 + i),
			endpoint: wgBigEndpoint(i), allowed: wgBigAllowed(i), keepalive: ka})
	}
	wgtest.AddDevice(t, p.A, "wg1")
	wgSet(t, p.A, "wg1", wgTestPrivate(999), wgBigPort, wgBigMark, big)

	// Traffic: n datagrams from A's tunnel address to B's, received in B.
	const n = 5
	before := time.Now()
	var rx net.PacketConn
	inNS(t, p.B, func() (err error) {
		rx, err = net.ListenPacket("udp4", tunB.String()+":9999")
		return err
	})
	defer rx.Close()
	sendUDPFrom(t, p.A, tunA.String(), tunB.String()+":9999", n)
	_ = rx.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 2048)
	for i := range n {
		if _, _, err := rx.ReadFrom(buf); err != nil {
			t.Fatalf("datagram %d of %d through the tunnel: %v", i+1, n, err)
		}
	}

	clA, clB := dialNS(t, p.A), dialNS(t, p.B)
	var a, b WireGuardDevice
	if err := clA.WireGuardDevice(ctx, &a, ByName("wg0")); err != nil {
		t.Fatal(err)
	}
	if err := clB.WireGuardDevice(ctx, &b, ByName("wg0")); err != nil {
		t.Fatal(err)
	}
	var links Snapshot
	if err := clA.Snapshot(ctx, &links, ByName("wg0")); err != nil {
		t.Fatal(err)
	}
	if l := links.Links[0]; l.Kind != "wireguard" || l.Tunnel != nil || a.Index != l.Index {
		t.Errorf("link %+v, device index %d", l, a.Index)
	}
	checkPeerEnd := func(name string, d *WireGuardDevice, pub WireGuardKey, port uint16, mark uint32, peer WireGuardKey, ep netip.AddrPort, allowed []netip.Prefix, ka time.Duration) {
		t.Helper()
		if d.Name != "wg0" || d.Index <= 0 || d.PublicKey != pub || d.ListenPort != port || d.FwMark != mark || len(d.Peers) != 1 {
			t.Fatalf("%s: device %+v", name, d)
		}
		pe := &d.Peers[0]
		if pe.PublicKey != peer || pe.Endpoint != ep || !equalPrefixes(pe.AllowedIPs, allowed) || pe.PersistentKeepalive != ka || pe.ProtocolVersion != 1 {
			t.Errorf("%s: peer %+v", name, pe)
		}
		if pe.LastHandshake.Before(before.Add(-2*time.Second)) || pe.LastHandshake.After(time.Now().Add(2*time.Second)) {
			t.Errorf("%s: last handshake %v, the test began at %v", name, pe.LastHandshake, before)
		}
		if pe.RxBytes == 0 || pe.TxBytes == 0 {
			t.Errorf("%s: rx %d tx %d bytes", name, pe.RxBytes, pe.TxBytes)
		}
	}
	checkPeerEnd("A", &a, pubA, portA, 0, pubB, netip.AddrPortFrom(p.BAddr, portB), []netip.Prefix{netip.PrefixFrom(tunB, 32)}, 0)
	checkPeerEnd("B", &b, pubB, portB, 0x42, pubA, netip.AddrPortFrom(p.AAddr, portA),
		[]netip.Prefix{netip.PrefixFrom(tunA, 32), netip.MustParsePrefix("fd00:9::/64")}, 25*time.Second)
	// A sent n datagrams (plus a handshake initiation), B received them.
	if a.Peers[0].TxBytes < uint64(n*32) || b.Peers[0].RxBytes < uint64(n*32) {
		t.Errorf("A tx %d, B rx %d bytes for %d datagrams", a.Peers[0].TxBytes, b.Peers[0].RxBytes, n)
	}

	var bigDev WireGuardDevice
	if err := clA.WireGuardDevice(ctx, &bigDev, ByName("wg1")); err != nil {
		t.Fatal(err)
	}
	want := wgBigWant(t)
	want.Index, want.Name = bigDev.Index, "wg1"
	if msg := diffWireGuard(&bigDev, &want); msg != "" {
		t.Error("wg1: " + msg)
	}
	// A second read into the same value allocates nothing.
	if allocs := testing.AllocsPerRun(3, func() {
		if err := clA.WireGuardDevice(ctx, &bigDev, ByIndex(bigDev.Index)); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("re-reading wg1: %v allocations", allocs)
	}

	// The key audit: no private or preshared key byte string in any value
	// or in what a program would print or log.
	secrets := [][32]byte{privA, privB, psk, wgTestPrivate(999)}
	for i := range wgBigPeers {
		secrets = append(secrets, wgTestPreshared(1000+i))
	}
	for name, d := range map[string]*WireGuardDevice{"A": &a, "B": &b, "wg1": &bigDev} {
		js, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		auditKeys(t, name, secrets, wgDeviceBytes(d), js, fmt.Appendf(nil, "%+v %v %#v", *d, *d, *d))
	}

	// Raw dumps: the kernel does send the secrets; the saved fixtures
	// must not.
	for _, dev := range []struct {
		ns   *testns.NS
		name string
		priv [32]byte
	}{{p.A, "wg0", privA}, {p.A, "wg1", wgTestPrivate(999)}} {
		msgs := wgtest.RawDump(t, dev.ns, dev.name)
		raw := bytes.Join(msgs, nil)
		if !bytes.Contains(raw, dev.priv[:]) {
			t.Errorf("%s: the raw dump does not hold the private key: the audit would prove nothing", dev.name)
		}
		for _, m := range msgs {
			scrubWireGuard(m[nl.HeaderLen:])
		}
		raw = bytes.Join(msgs, nil)
		auditKeys(t, dev.name+" fixture", secrets, raw)
		t.Logf("kernel %s: %s dump: %d messages, %d bytes", vmtest.Kernel(), dev.name, len(msgs), len(raw))
		if dev.name == "wg1" && len(msgs) < 2 {
			t.Errorf("wg1: %d message(s): the dump was not split", len(msgs))
		}
		vmtest.SaveArtifact(t, "wg_get_device-"+dev.name+".bin", raw)
	}

	checkUnprivileged(t, p.A, "wg0")
}

// wgUnprivilegedEnv names the device a re-executed test binary reads as an
// unprivileged user (see TestMain).
const wgUnprivilegedEnv = "TUNNELSTAT_TEST_WG_UNPRIVILEGED"

// wgUnprivilegedResult is what that child reports, as one JSON line.
type wgUnprivilegedResult struct {
	UID, EUID    int
	Kind         string // wg0's link kind, read with Snapshot
	LinksErr     string
	PeersErr     string // WireGuardDevice's error
	IsPermission bool   // errors.Is(PeersErr, os.ErrPermission)
	IsNotExist   bool
	IsNotSupp    bool
}

func TestMain(m *testing.M) {
	if dev := os.Getenv(wgUnprivilegedEnv); dev != "" {
		os.Exit(wgUnprivilegedChild(dev))
	}
	os.Exit(m.Run())
}

// wgUnprivilegedChild reads device dev's link and peers in the namespace
// it was started in and prints what it got.
func wgUnprivilegedChild(dev string) int {
	res := wgUnprivilegedResult{UID: os.Getuid(), EUID: os.Geteuid()}
	ctx := context.Background()
	c, err := Dial(nil)
	if err != nil {
		res.LinksErr = err.Error()
	} else {
		defer c.Close()
		var links Snapshot
		if err := c.Snapshot(ctx, &links, ByName(dev)); err != nil {
			res.LinksErr = err.Error()
		} else if len(links.Links) == 1 {
			res.Kind = links.Links[0].Kind
		}
		var d WireGuardDevice
		err := c.WireGuardDevice(ctx, &d, ByName(dev))
		if err != nil {
			res.PeersErr = err.Error()
		}
		res.IsPermission, res.IsNotExist, res.IsNotSupp = errors.Is(err, os.ErrPermission), errors.Is(err, os.ErrNotExist), errors.Is(err, ErrNotSupported)
	}
	js, _ := json.Marshal(res)
	fmt.Printf("%s\n", js)
	return 0
}

// checkUnprivileged runs this test binary again as nobody (uid and gid
// 65534, no capabilities) in ns, where it reads dev: the link is readable
// by anyone, the peers need CAP_NET_ADMIN (the kernel's
// GENL_UNS_ADMIN_PERM on WG_CMD_GET_DEVICE), and the refusal must match
// os.ErrPermission and nothing else.
func checkUnprivileged(t *testing.T, ns *testns.NS, dev string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := ns.AsNobody(t, []string{wgUnprivilegedEnv + "=" + dev}, exe)
	if err != nil {
		t.Fatalf("unprivileged child: %v (stderr %q)", err, stderr)
	}
	var res wgUnprivilegedResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("unprivileged child said %q: %v", out, err)
	}
	t.Logf("kernel %s: as uid %d: link kind %q (%s); peers: %s", vmtest.Kernel(), res.EUID, res.Kind, res.LinksErr, res.PeersErr)
	if res.UID != testns.Nobody || res.EUID != testns.Nobody {
		t.Fatalf("the child ran as uid %d euid %d", res.UID, res.EUID)
	}
	if res.LinksErr != "" || res.Kind != "wireguard" {
		t.Errorf("unprivileged: link kind %q, error %q: want wireguard, read", res.Kind, res.LinksErr)
	}
	if !res.IsPermission || res.IsNotExist || res.IsNotSupp || !strings.Contains(res.PeersErr, "WG_CMD_GET_DEVICE") {
		t.Errorf("unprivileged: WireGuardDevice: %q (permission %v, not exist %v, not supported %v): want a WG_CMD_GET_DEVICE error matching os.ErrPermission alone",
			res.PeersErr, res.IsPermission, res.IsNotExist, res.IsNotSupp)
	}
}

// TestVMWireGuardIPv6Underlay runs a wireguard tunnel over IPv6 between
// two namespaces (veth fd00:51::1/64 – ::2/64). B is configured with A's
// key and allowed IPs but no endpoint: it learns A's from the handshake,
// and WireGuardDevice reads it back as an IPv6 AddrPort, as it reads A's
// configured one.
func TestVMWireGuardIPv6Underlay(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "wireguard", "veth")
	a, b := testns.New(t), testns.New(t)
	underA, underB := netip.MustParseAddr("fd00:51::1"), netip.MustParseAddr("fd00:51::2")
	a.IP(t, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", b.Name)
	a.IP(t, "addr", "add", underA.String()+"/64", "dev", "a0", "nodad")
	b.IP(t, "addr", "add", underB.String()+"/64", "dev", "b0", "nodad")
	a.IP(t, "link", "set", "a0", "up")
	b.IP(t, "link", "set", "b0", "up")
	tunA, tunB := netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2")
	const portA, portB = 51820, 51821
	for _, s := range []struct {
		ns   *testns.NS
		addr netip.Addr
	}{{a, tunA}, {b, tunB}} {
		wgtest.AddDevice(t, s.ns, "wg0")
		s.ns.IP(t, "addr", "add", s.addr.String()+"/24", "dev", "wg0")
	}
	epB := netip.AddrPortFrom(underB, portB)
	wgSet(t, a, "wg0", wgTestPrivate(1), portA, 0, []wgSetPeer{{public: wgTestPublic(t, 2), endpoint: epB,
		allowed: []netip.Prefix{netip.PrefixFrom(tunB, 32)}}})
	wgSet(t, b, "wg0", wgTestPrivate(2), portB, 0, []wgSetPeer{{public: wgTestPublic(t, 1),
		allowed: []netip.Prefix{netip.PrefixFrom(tunA, 32)}}})
	a.IP(t, "link", "set", "wg0", "up")
	b.IP(t, "link", "set", "wg0", "up")

	ctx := context.Background()
	clA, clB := dialNS(t, a), dialNS(t, b)
	var d WireGuardDevice
	if err := clB.WireGuardDevice(ctx, &d, ByName("wg0")); err != nil {
		t.Fatal(err)
	}
	if len(d.Peers) != 1 || d.Peers[0].Endpoint.IsValid() {
		t.Fatalf("B before any handshake: %+v: want one peer without an endpoint", d.Peers)
	}

	var rx net.PacketConn
	inNS(t, b, func() (err error) {
		rx, err = net.ListenPacket("udp4", tunB.String()+":9999")
		return err
	})
	defer rx.Close()
	const n = 5
	sendUDPFrom(t, a, tunA.String(), tunB.String()+":9999", n)
	_ = rx.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 2048)
	for i := range n {
		if _, _, err := rx.ReadFrom(buf); err != nil {
			t.Fatalf("datagram %d of %d through the tunnel over IPv6: %v", i+1, n, err)
		}
	}

	for _, s := range []struct {
		name string
		c    *Client
		want netip.AddrPort
	}{{"A", clA, epB}, {"B", clB, netip.AddrPortFrom(underA, portA)}} {
		if err := s.c.WireGuardDevice(ctx, &d, ByName("wg0")); err != nil {
			t.Fatal(err)
		}
		if len(d.Peers) != 1 {
			t.Fatalf("%s: peers %+v", s.name, d.Peers)
		}
		p := d.Peers[0]
		t.Logf("kernel %s: %s's peer: endpoint %v, last handshake %v, rx %d tx %d bytes", vmtest.Kernel(), s.name, p.Endpoint, p.LastHandshake, p.RxBytes, p.TxBytes)
		if p.Endpoint != s.want || !p.Endpoint.Addr().Is6() || p.LastHandshake.IsZero() || p.RxBytes == 0 || p.TxBytes == 0 {
			t.Errorf("%s's peer: endpoint %v, last handshake %v, rx %d tx %d bytes: want endpoint %v, a handshake, bytes both ways",
				s.name, p.Endpoint, p.LastHandshake, p.RxBytes, p.TxBytes, s.want)
		}
	}
}
