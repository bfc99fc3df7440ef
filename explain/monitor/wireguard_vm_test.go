//go:build linux

package monitor

// The wireguard VM test: the host has no wireguard module, the rig's
// kernels do.
//
//	go run ./internal/vmtest/cmd/vmtest -kernels 6.12 -parallel 1 -run '^TestVMWireGuard' ./explain/monitor/
//
// With -captures DIR, DIR/<kernel>/TestVMWireGuardMonitor/snapshot-wg.json
// is namespace A's snapshot, the golden document
// testdata/snapshots/vm-<kernel>-wireguard.json.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// wgConfigure sets dev's private key and listen port (when priv is not
// nil) and adds or updates one peer (internal/wgtest).
func wgConfigure(t *testing.T, ns *testns.NS, dev string, priv *wgtest.Key, port uint16, peer vtistat.WireGuardKey, psk wgtest.Key, ep netip.AddrPort, allowed []netip.Prefix) {
	t.Helper()
	peers := []wgtest.Peer{{Public: wgtest.Key(peer), Preshared: psk, Endpoint: ep, Allowed: allowed}}
	if priv == nil {
		wgtest.SetPeers(t, ns, dev, peers)
		return
	}
	wgtest.Set(t, ns, dev, wgtest.Device{Private: *priv, ListenPort: port}, peers)
}

// TestVMWireGuardMonitor joins two namespaces with a wireguard tunnel
// (configured over generic netlink), sends datagrams through it, and reads
// namespace A through a Reader and a Monitor (without and with Health):
// the peer arrives in the Snapshot and in the Reading, the Snapshot's
// document holds public keys only and round-trips byte for byte, a poll
// reads the peers every interval (a changed endpoint, which moves no
// counter, makes the interval not Unchanged), and a device deleted
// between the link dump and the peer dump is an Unread, not a device
// without peers. Last, the test binary runs again as nobody in namespace
// A: its Reader reads the links and reports the peers unread for want of
// CAP_NET_ADMIN. Last, the test binary runs again as nobody in namespace
// A: its Reader reads the links and reports the peers unread for want of
// CAP_NET_ADMIN.
func TestVMWireGuardMonitor(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "wireguard", "veth")
	p := testns.NewPair(t)
	ctx := context.Background()

	privA, privB, psk := wgtest.Private(1), wgtest.Private(2), wgtest.Preshared(7)
	pubA, pubB := vtistat.WireGuardKey(wgtest.Public(t, 1)), vtistat.WireGuardKey(wgtest.Public(t, 2))
	tunA, tunB := netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2")
	const portA, portB = 51820, 51821
	for _, s := range []struct {
		ns   *testns.NS
		addr netip.Addr
	}{{p.A, tunA}, {p.B, tunB}} {
		s.ns.IP(t, "link", "add", "wg0", "type", "wireguard")
		s.ns.IP(t, "addr", "add", s.addr.String()+"/24", "dev", "wg0")
	}
	epB := netip.AddrPortFrom(p.BAddr, portB)
	allowedB := []netip.Prefix{netip.PrefixFrom(tunB, 32), netip.MustParsePrefix("fd00:9::/64")}
	wgConfigure(t, p.A, "wg0", &privA, portA, pubB, psk, epB, allowedB)
	wgConfigure(t, p.B, "wg0", &privB, portB, pubA, psk, netip.AddrPortFrom(p.AAddr, portA), []netip.Prefix{netip.PrefixFrom(tunA, 32)})
	p.A.IP(t, "link", "set", "wg0", "up")
	p.B.IP(t, "link", "set", "wg0", "up")
	before := time.Now()
	wgtest.SendUDP(t, p.A, "", tunB.String()+":9", 5, 10)
	waitHandshake(t, p.A)

	// Reader: the peer in the Snapshot and in the Reading.
	r, err := Open(ctx, NetNS{Name: p.A.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	snap, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := snap.Unreadable("wireguard"); ok {
		t.Fatalf("unread: %+v", u)
	}
	var link *Link
	for i := range snap.Links {
		if snap.Links[i].Name == "wg0" {
			link = &snap.Links[i]
		}
	}
	if link == nil || link.Kind != "wireguard" || !link.IsTunnel() {
		t.Fatalf("link wg0: %+v", link)
	}
	if len(snap.WireGuard) != 1 || snap.WireGuard[0].Index != link.Index || len(snap.WireGuard[0].Peers) != 1 {
		t.Fatalf("WireGuard = %+v", snap.WireGuard)
	}
	dev := &snap.WireGuard[0]
	peer := &dev.Peers[0]
	if dev.Name != "wg0" || dev.PublicKey != pubA || dev.ListenPort != portA || peer.PublicKey != pubB || peer.Endpoint != epB ||
		fmt.Sprint(peer.AllowedIPs) != fmt.Sprint(allowedB) || peer.RxBytes == 0 || peer.TxBytes == 0 ||
		peer.LastHandshake.Before(before.Add(-2*time.Second)) {
		t.Errorf("device %+v", *dev)
	}
	rd := snap.Reading()
	if len(rd.WireGuard) != 1 || rd.WireGuard[0].Name != "wg0" || len(rd.WireGuard[0].Peers) != 1 {
		t.Fatalf("Reading().WireGuard = %+v", rd.WireGuard)
	}
	ep := rd.WireGuard[0].Peers[0]
	if ep.PublicKey != pubB.String() || ep.Endpoint != epB || ep.RxBytes != peer.RxBytes || !ep.LastHandshake.Equal(peer.LastHandshake) {
		t.Errorf("explain's peer %+v, vtistat's %+v", ep, *peer)
	}

	// The document: public keys, no secret, byte for byte back.
	var doc bytes.Buffer
	if err := snap.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.String(), `"public_key": "`+pubB.String()+`"`) {
		t.Errorf("the document lacks the peer's public key:\n%s", doc.String())
	}
	for _, s := range []wgtest.Key{privA, privB, psk} {
		for _, f := range wgtest.SecretForms(s) {
			if bytes.Contains(doc.Bytes(), f) || strings.Contains(fmt.Sprintf("%+v %+v", *snap, *rd), string(f)) {
				t.Errorf("a secret key (%x…) appears in the snapshot", s[:4])
			}
		}
	}
	back, err := Decode(bytes.NewReader(doc.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := back.Encode(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != doc.String() {
		t.Errorf("decoded and encoded again, the document differs:\n%s", firstDiff(doc.String(), again.String()))
	}
	vmtest.SaveArtifact(t, "snapshot-wg.json", doc.Bytes())

	// Monitor, without and with Health: the peers every poll.
	for i, cfg := range []*Config{{}, {Health: &explain.HealthConfig{}}} {
		monitorWireGuard(t, p, cfg, tunB, pubB, psk, netip.AddrPortFrom(p.BAddr, uint16(51990+i)), allowedB)
	}

	// A device deleted between the link dump and the peer dump.
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: p.B.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var links vtistat.Snapshot
	if err := c.Snapshot(ctx, &links); err != nil {
		t.Fatal(err)
	}
	p.B.IP(t, "link", "del", "wg0")
	wg, un := readWireGuard(ctx, c, nil, links.Links)
	if wg != nil || un == nil || !errors.Is(un.Err(), os.ErrNotExist) || errors.Is(un.Err(), vtistat.ErrNotSupported) ||
		!strings.Contains(un.Error, "peers of wg0") {
		t.Errorf("device gone: got %+v, %+v (%v); want no device, an Unread naming wg0 matching os.ErrNotExist only", wg, un, un.Err())
	}
	t.Logf("kernel %s: device gone: %s", vmtest.Kernel(), un.Error)

	checkUnprivilegedReader(t, p.A)
}

// wgUnprivilegedEnv makes a re-executed test binary read the namespace it
// starts in as an unprivileged user (see TestMain).
const wgUnprivilegedEnv = "TUNNELSTAT_TEST_MONITOR_UNPRIVILEGED"

// unprivilegedRead is what that child reports, as one JSON line.
type unprivilegedRead struct {
	EUID     int
	Err      string // Open's or Read's
	Links    []string
	Peers    int // devices read
	Unread   []Unread
	WGDenied bool // the "wireguard" Unread matches os.ErrPermission
}

func TestMain(m *testing.M) {
	if os.Getenv(wgUnprivilegedEnv) != "" {
		os.Exit(unprivilegedChild())
	}
	os.Exit(m.Run())
}

// unprivilegedChild reads its own namespace with a Reader and prints what
// it got.
func unprivilegedChild() int {
	res := unprivilegedRead{EUID: os.Geteuid()}
	ctx := context.Background()
	if r, err := Open(ctx, NetNS{}); err != nil {
		res.Err = err.Error()
	} else {
		defer r.Close()
		snap, err := r.Read(ctx)
		if err != nil {
			res.Err = err.Error()
		} else {
			for _, l := range snap.Links {
				res.Links = append(res.Links, l.Name+" "+l.Kind)
			}
			res.Peers, res.Unread = len(snap.WireGuard), snap.Unread
			if u, ok := snap.Unreadable("wireguard"); ok {
				res.WGDenied = errors.Is(u.Err(), os.ErrPermission)
			}
		}
	}
	js, _ := json.Marshal(res)
	fmt.Printf("%s\n", js)
	return 0
}

// checkUnprivilegedReader runs this test binary again as nobody (uid and
// gid 65534, no capabilities) in ns: a Reader there reads the links, and
// says the peers are unread for want of CAP_NET_ADMIN, as os.ErrPermission.
func checkUnprivilegedReader(t *testing.T, ns *testns.NS) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := ns.AsNobody(t, []string{wgUnprivilegedEnv + "=1"}, exe)
	if err != nil {
		t.Fatalf("unprivileged child: %v (stderr %q)", err, stderr)
	}
	var res unprivilegedRead
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("unprivileged child said %q: %v", out, err)
	}
	t.Logf("kernel %s: as uid %d: links %q, %d devices' peers, unread %+v", vmtest.Kernel(), res.EUID, res.Links, res.Peers, res.Unread)
	if res.EUID != testns.Nobody || res.Err != "" {
		t.Fatalf("the child (euid %d) could not read: %s", res.EUID, res.Err)
	}
	var wg *Unread
	for i := range res.Unread {
		if res.Unread[i].Part == "wireguard" {
			wg = &res.Unread[i]
		}
	}
	if !slices.Contains(res.Links, "wg0 wireguard") || res.Peers != 0 || wg == nil || !res.WGDenied || wg.Needs != "CAP_NET_ADMIN" ||
		!strings.Contains(wg.Error, "peers of wg0") {
		t.Errorf("unprivileged: links %q, %d devices, wireguard unread %+v (permission %v): want wg0 read, its peers unread for CAP_NET_ADMIN",
			res.Links, res.Peers, wg, res.WGDenied)
	}
}

// waitHandshake waits until ns's wg0 has completed a handshake.
func waitHandshake(t *testing.T, ns *testns.NS) {
	t.Helper()
	waitPeer(t, ns, "a handshake", func(p *vtistat.WireGuardPeer) bool { return !p.LastHandshake.IsZero() && p.RxBytes > 0 })
}

// waitRx waits until ns's wg0 peer has received more than rx bytes.
func waitRx(t *testing.T, ns *testns.NS, rx uint64) {
	t.Helper()
	waitPeer(t, ns, "more bytes", func(p *vtistat.WireGuardPeer) bool { return p.RxBytes > rx })
}

func waitPeer(t *testing.T, ns *testns.NS, what string, ok func(p *vtistat.WireGuardPeer) bool) {
	t.Helper()
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var d vtistat.WireGuardDevice
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := c.WireGuardDevice(context.Background(), &d, vtistat.ByName("wg0")); err != nil {
			t.Fatal(err)
		}
		if len(d.Peers) == 1 && ok(&d.Peers[0]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s in 20 s: %+v", ns.Name, what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// monitorWireGuard watches p.A with a Monitor configured cfg: every
// interval's Reading has wg0's peer; traffic, then a quiet interval
// (Unchanged), then a new endpoint ep, which moves no counter (not
// Unchanged); a poll reads and converts the peers without allocating.
func monitorWireGuard(t *testing.T, p *testns.Pair, cfg *Config, tunB netip.Addr, pubB vtistat.WireGuardKey, psk wgtest.Key, newEP netip.AddrPort, allowedB []netip.Prefix) {
	ctx := context.Background()
	health := cfg.Health != nil
	m, err := New(cfg, NetNS{Name: p.A.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := m.watched[0]
	step := func(what string) Update {
		t.Helper()
		u := w.step(ctx, m)
		if u.Err != nil {
			t.Fatalf("health %v: %s: %v", health, what, u.Err)
		}
		if len(u.Reading.WireGuard) != 1 || len(u.Reading.WireGuard[0].Peers) != 1 || (u.Health != nil) != health {
			t.Fatalf("health %v: %s: Reading.WireGuard = %+v, Health %v", health, what, u.Reading.WireGuard, u.Health != nil)
		}
		return u
	}
	base := step("baseline")
	rx0 := base.Reading.WireGuard[0].Peers[0].RxBytes
	wgtest.SendUDP(t, p.A, "", tunB.String()+":9", 5, 10)
	waitRx(t, p.A, rx0)
	u := step("after traffic")
	if got := u.Reading.WireGuard[0].Peers[0]; got.RxBytes <= rx0 || u.Unchanged {
		t.Errorf("health %v: after traffic: rx %d (was %d), Unchanged %v", health, got.RxBytes, rx0, u.Unchanged)
	}
	// Quiet: the same peers, field by field (IPv6 neighbour discovery on
	// the veth may move a counter for a while: a few tries).
	quiet := false
	for i := 0; i < 20 && !quiet; i++ {
		time.Sleep(200 * time.Millisecond)
		quiet = step("quiet").Unchanged
	}
	if !quiet {
		t.Fatalf("health %v: no Unchanged interval in 20", health)
	}
	// A new endpoint moves no counter: the interval is not Unchanged, and
	// its Reading has the new endpoint.
	wgConfigure(t, p.A, "wg0", nil, 0, pubB, psk, newEP, allowedB)
	u = step("new endpoint")
	if got := u.Reading.WireGuard[0].Peers[0].Endpoint; got != newEP || u.Unchanged {
		t.Errorf("health %v: new endpoint: Reading has %v, Unchanged %v; want %v, false", health, got, u.Unchanged, newEP)
	}
	if u.Snapshot != nil {
		t.Logf("health %v: the new endpoint's interval took a full reading", health)
	}
	// A poll reads and converts the peers into kept storage: nothing is
	// allocated for them.
	if b := w.prevBuf; u.Snapshot == nil && b >= 0 {
		if w.p.rawWG == nil {
			t.Errorf("health %v: the poll kept no wireguard storage", health)
		}
		allocs := testing.AllocsPerRun(3, func() {
			w.p.rawWG, _ = readWireGuard(ctx, w.r.s.links, w.p.rawWG, w.p.snaps[b].Links)
			w.p.wg[b] = ExplainWireGuard(w.p.wg[b], w.p.rawWG)
		})
		if allocs != 0 {
			t.Errorf("health %v: reading and converting the peers again: %v allocations, want 0", health, allocs)
		}
	}
}
