//go:build linux

package vtistat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// quietNS creates a namespace whose links send nothing on their own: IPv6
// off (no MLD, ND or router solicitations), so that every packet a test
// counts is one it sent.
func quietNS(t *testing.T) *testns.NS {
	t.Helper()
	ns := testns.New(t)
	ns.Run(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6")
	return ns
}

// quietPair is two quiet namespaces joined by veth (a0 in A, b0 in B) with
// IPv4 addresses and permanent neighbour entries: no ARP either.
type quietPair struct {
	A, B         *testns.NS
	AAddr, BAddr netip.Addr
}

func newQuietPair(t *testing.T) *quietPair {
	t.Helper()
	p := &quietPair{A: quietNS(t), B: quietNS(t),
		AAddr: netip.MustParseAddr("198.51.100.1"), BAddr: netip.MustParseAddr("198.51.100.2")}
	p.A.IP(t, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", p.B.Name)
	p.A.IP(t, "addr", "add", p.AAddr.String()+"/24", "dev", "a0")
	p.B.IP(t, "addr", "add", p.BAddr.String()+"/24", "dev", "b0")
	p.A.IP(t, "link", "set", "a0", "up")
	p.B.IP(t, "link", "set", "b0", "up")
	p.A.IP(t, "neigh", "replace", p.BAddr.String(), "lladdr", macOf(t, p.B, "b0"), "dev", "a0", "nud", "permanent")
	p.B.IP(t, "neigh", "replace", p.AAddr.String(), "lladdr", macOf(t, p.A, "a0"), "dev", "b0", "nud", "permanent")
	return p
}

func macOf(t *testing.T, ns *testns.NS, dev string) string {
	t.Helper()
	var out []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(ns.IP(t, "-j", "link", "show", "dev", dev)), &out); err != nil || len(out) != 1 {
		t.Fatalf("ip -j link show %s: %v", dev, err)
	}
	return out[0].Address
}

// inNS runs fn on a thread inside ns.
func inNS(t *testing.T, ns *testns.NS, fn func() error) {
	t.Helper()
	h, err := netns.Open(netns.Target{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Do(fn); err != nil {
		t.Fatal(err)
	}
}

// sendUDP sends n datagrams of payload bytes from A to B and waits until B
// has received them all: IPv4 + UDP over Ethernet, 42+payload bytes each.
func (p *quietPair) sendUDP(t *testing.T, n, payload int) {
	t.Helper()
	var rx, tx net.PacketConn
	inNS(t, p.B, func() (err error) {
		rx, err = net.ListenPacket("udp4", p.BAddr.String()+":0")
		return err
	})
	defer rx.Close()
	inNS(t, p.A, func() (err error) {
		tx, err = net.ListenPacket("udp4", p.AAddr.String()+":0")
		return err
	})
	defer tx.Close()
	buf := make([]byte, payload)
	for i := 0; i < n; i++ {
		if _, err := tx.WriteTo(buf, rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	rb := make([]byte, 2048)
	for i := 0; i < n; i++ {
		if _, _, err := rx.ReadFrom(rb); err != nil {
			t.Fatalf("datagram %d of %d: %v", i+1, n, err)
		}
	}
}

func dialNS(t *testing.T, ns *testns.NS) *Client {
	t.Helper()
	c, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLinksVethVxlan(t *testing.T) {
	ns := quietNS(t)
	other := quietNS(t)
	ns.IP(t, "link", "add", "v0", "mtu", "1400", "type", "veth", "peer", "name", "v1")
	ns.IP(t, "link", "set", "v0", "alias", "uplink to nowhere")
	ns.IP(t, "link", "add", "x0", "type", "veth", "peer", "name", "x1", "netns", other.Name)
	ns.IP(t, "addr", "add", "192.0.2.1/24", "dev", "v0")
	ns.IP(t, "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "local", "192.0.2.1", "remote", "192.0.2.9", "dev", "v0")
	ns.IP(t, "link", "set", "v0", "up")
	ns.IP(t, "link", "set", "v1", "up")

	c := dialNS(t, ns)
	// The kernel sets a veth's operstate from its link watch, up to a
	// second after both ends are up (later on a loaded machine): read
	// until v0 is up, or give the assertions below what there is.
	var links []Link
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if links, err = readLinks(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(links, func(l Link) bool { return l.Name == "v0" }); (i >= 0 && links[i].OperState == OperUp) ||
			time.Now().After(deadline) {
			break
		}
	}
	by := map[string]Link{}
	for _, l := range links {
		by[l.Name] = l
		if l.StatsSource != Stats64Bit {
			t.Errorf("%s: StatsSource %v, want stats64", l.Name, l.StatsSource)
		}
	}
	if len(links) != 5 {
		t.Fatalf("got %d links, want lo v0 v1 x0 vx0: %+v", len(links), links)
	}
	lo, v0, v1, x0, vx := by["lo"], by["v0"], by["v1"], by["x0"], by["vx0"]
	if lo.Index != 1 || lo.Kind != "" || lo.Flags&unix.IFF_LOOPBACK == 0 || lo.Flags&unix.IFF_UP == 0 || lo.Tunnel != nil {
		t.Errorf("lo: %+v", lo)
	}
	if v0.Kind != "veth" || v0.MTU != 1400 || v0.Alias != "uplink to nowhere" || v0.ParentIndex != v1.Index ||
		v0.LinkNetNSID != -1 || v0.Flags&unix.IFF_UP == 0 || v0.Tunnel != nil {
		t.Errorf("v0: %+v (v1 index %d)", v0, v1.Index)
	}
	if v0.OperState != OperUp {
		t.Errorf("v0 operstate %v, want up", v0.OperState)
	}
	// x1 lives in the other namespace: the parent index is there.
	if x0.LinkNetNSID < 0 || x0.OperState != OperDown {
		t.Errorf("x0: LinkNetNSID %d operstate %v, want a netnsid and down", x0.LinkNetNSID, x0.OperState)
	}
	var x1 []struct {
		IfIndex int32 `json:"ifindex"`
	}
	if err := json.Unmarshal([]byte(other.IP(t, "-j", "link", "show", "x1")), &x1); err != nil || len(x1) != 1 {
		t.Fatal(err)
	}
	if x0.ParentIndex != x1[0].IfIndex {
		t.Errorf("x0 parent %d, want x1's index %d in the other namespace", x0.ParentIndex, x1[0].IfIndex)
	}
	// vxlan is not a decoded kind: kind kept, no tunnel, no error.
	if vx.Kind != "vxlan" || vx.Tunnel != nil || vx.ParentIndex != 0 && vx.ParentIndex != v0.Index {
		t.Errorf("vx0: %+v", vx)
	}
	if vx.MTU != 1350 {
		t.Errorf("vx0 MTU %d, want 1400-50", vx.MTU)
	}
}

func TestTrafficCountedExactly(t *testing.T) {
	p := newQuietPair(t)
	ca, cb := dialNS(t, p.A), dialNS(t, p.B)
	ctx := context.Background()
	var a0, a1, b0, b1 Snapshot
	if err := ca.Snapshot(ctx, &a0, ByName("a0")); err != nil {
		t.Fatal(err)
	}
	if err := cb.Snapshot(ctx, &b0, ByKind("veth")); err != nil {
		t.Fatal(err)
	}
	const n, payload = 5, 100
	p.sendUDP(t, n, payload)
	// One full read and one stats-only poll: both must see the same.
	if err := ca.Snapshot(ctx, &a1, ByName("a0")); err != nil {
		t.Fatal(err)
	}
	b1 = *b0.Clone()
	if err := cb.PollStats(ctx, &b1); err != nil {
		t.Fatal(err)
	}
	if !b1.ParamsTime.Equal(b0.ParamsTime) || !b1.Time.After(b0.Time) {
		t.Errorf("PollStats did a full dump: ParamsTime %v, Time %v (before %v)", b1.ParamsTime, b1.Time, b0.Time)
	}
	const frame = 14 + 20 + 8 + payload
	da, db := diff(&a0, &a1), diff(&b0, &b1)
	if len(da.Links) != 1 || len(db.Links) != 1 {
		t.Fatalf("deltas: %+v %+v", da, db)
	}
	sa, sb := da.Links[0].Stats, db.Links[0].Stats
	want := Stats64{TxPackets: n, TxBytes: n * frame}
	if sa != want || da.Links[0].Reset != NoReset {
		t.Errorf("a0 delta %+v reset %v, want %+v", sa, da.Links[0].Reset, want)
	}
	want = Stats64{RxPackets: n, RxBytes: n * frame}
	if sb != want || db.Links[0].Reset != NoReset {
		t.Errorf("b0 delta %+v reset %v, want %+v", sb, db.Links[0].Reset, want)
	}
}

func TestSelection(t *testing.T) {
	ns := quietNS(t)
	for i := 0; i < 3; i++ {
		ns.IP(t, "link", "add", fmt.Sprintf("s%d", i), "type", "veth", "peer", "name", fmt.Sprintf("p%d", i))
	}
	ns.IP(t, "link", "add", "vx0", "type", "vxlan", "id", "7", "dstport", "4789")
	c := dialNS(t, ns)
	ctx := context.Background()

	all, err := readLinks(ctx, c)
	if err != nil || len(all) != 8 {
		t.Fatalf("all: %d links, %v", len(all), err)
	}
	l, err := readLinks(ctx, c, ByName("s1"))
	if err != nil || len(l) != 1 || l[0].Name != "s1" || l[0].Kind != "veth" {
		t.Fatalf("ByName: %+v %v", l, err)
	}
	l2, err := readLinks(ctx, c, ByIndex(l[0].Index))
	if err != nil || len(l2) != 1 || l2[0].Name != "s1" {
		t.Fatalf("ByIndex: %+v %v", l2, err)
	}
	if l, err := readLinks(ctx, c, ByName("s1"), ByKind("vxlan")); err != nil || len(l) != 0 {
		t.Fatalf("ByName s1 + ByKind vxlan: %+v %v, want none", l, err)
	}
	if _, err := readLinks(ctx, c, ByName("nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing name: %v, want os.ErrNotExist", err)
	}
	if _, err := readLinks(ctx, c, ByIndex(1<<30)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing index: %v, want os.ErrNotExist", err)
	}
	if _, err := readLinks(ctx, c, ByName("a-name-longer-than-15")); err == nil {
		t.Error("a 21-byte name was accepted")
	}

	// One kind: the kernel filters (strict checking, 4.20+), so no link
	// reaches the Go-side filter.
	var s Snapshot
	if err := c.c.snapshot(ctx, &s, newQuery([]LinkFilter{ByKind("vxlan")}), false); err != nil || len(s.Links) != 1 || s.Links[0].Name != "vx0" {
		t.Fatalf("kind vxlan: %+v %v", s.Links, err)
	}
	if !c.c.conn.StrictCheck {
		t.Log("no strict dump checking: the kind filter ran in Go")
	} else if len(s.skipped) != 0 {
		t.Errorf("kernel did not filter by kind: %d links skipped in Go", len(s.skipped))
	}
	// For PollStats, Snapshot also learns the ifindexes the filter left out.
	if err := c.Snapshot(ctx, &s, ByKind("vxlan")); err != nil || len(s.Links) != 1 || len(s.skipped) != 7 {
		t.Fatalf("kind vxlan snapshot: %+v skipped %v %v", s.Links, s.skipped, err)
	}
	// Several kinds: one dump, filtered here.
	if err := c.Snapshot(ctx, &s, ByKind("vxlan", "")); err != nil || len(s.Links) != 2 || len(s.skipped) != 6 {
		t.Fatalf("kinds vxlan+none: %+v skipped %v %v", s.Links, s.skipped, err)
	}
	// A kind no module registered: the kernel cannot filter, Go does.
	if err := c.Snapshot(ctx, &s, ByKind("no-such-kind")); err != nil || len(s.Links) != 0 {
		t.Fatalf("unknown kind: %+v %v", s.Links, err)
	}
	// PollStats keeps the selection.
	if err := c.Snapshot(ctx, &s, ByKind("veth")); err != nil || len(s.Links) != 6 {
		t.Fatal(len(s.Links), err)
	}
	pt := s.ParamsTime
	if err := c.PollStats(ctx, &s); err != nil || len(s.Links) != 6 || !s.ParamsTime.Equal(pt) {
		t.Fatalf("poll: %d links, ParamsTime moved %v, %v", len(s.Links), !s.ParamsTime.Equal(pt), err)
	}
	for _, l := range s.Links {
		if l.Kind != "veth" {
			t.Errorf("poll kept %s of kind %q", l.Name, l.Kind)
		}
	}
	// Single link poll.
	if err := c.Snapshot(ctx, &s, ByName("s2")); err != nil {
		t.Fatal(err)
	}
	pt = s.ParamsTime
	if err := c.PollStats(ctx, &s); err != nil || len(s.Links) != 1 || s.Links[0].Name != "s2" || !s.ParamsTime.Equal(pt) {
		t.Fatalf("single poll: %+v %v", s.Links, err)
	}
	ns.IP(t, "link", "del", "s2")
	ns.IP(t, "link", "add", "s2", "type", "veth", "peer", "name", "q2")
	old := s.Links[0].Index
	if err := c.PollStats(ctx, &s); err != nil || len(s.Links) != 1 || s.Links[0].Index == old || !s.ParamsTime.Equal(s.Time) {
		t.Fatalf("single poll after recreate: %+v %v", s.Links, err)
	}
	ns.IP(t, "link", "del", "s2")
	if err := c.PollStats(ctx, &s); !errors.Is(err, os.ErrNotExist) || len(s.Links) != 0 {
		t.Fatalf("single poll after delete: %+v %v, want os.ErrNotExist", s.Links, err)
	}
}

func TestNamespaceSelectors(t *testing.T) {
	ns := quietNS(t)
	ns.IP(t, "link", "add", "marker0", "type", "veth", "peer", "name", "marker1")
	fd := ns.Open(t)

	sleep := exec.Command("ip", "netns", "exec", ns.Name, "sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	waitSameNS(t, fmt.Sprintf("/proc/%d/ns/net", sleep.Process.Pid), ns.Path())

	for _, sel := range []NetNS{{Name: ns.Name}, {Path: ns.Path()}, {FD: fd}, {PID: sleep.Process.Pid}} {
		t.Run(fmt.Sprintf("%+v", sel), func(t *testing.T) {
			c, err := Dial(&Config{NetNS: sel})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			l, err := readLinks(context.Background(), c, ByName("marker0"))
			if err != nil || len(l) != 1 {
				t.Fatalf("%+v %v", l, err)
			}
		})
	}
	// The caller's namespace has no marker0.
	c, err := Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := readLinks(context.Background(), c, ByName("marker0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("own namespace: %v", err)
	}
	if _, err := Dial(&Config{NetNS: NetNS{Name: "ts-does-not-exist"}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing namespace: %v, want os.ErrNotExist", err)
	}
	if _, err := Dial(&Config{NetNS: NetNS{Name: ns.Name, PID: 1}}); err == nil {
		t.Error("two selectors accepted")
	}
}

// waitSameNS waits until two namespace files refer to the same namespace.
func waitSameNS(t *testing.T, a, b string) {
	t.Helper()
	var sb unix.Stat_t
	if err := unix.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		var sa unix.Stat_t
		if unix.Stat(a, &sa) == nil && sa.Ino == sb.Ino && sa.Dev == sb.Dev {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never entered %s", a, b)
}

func TestDeltaRecreatedRemovedNew(t *testing.T) {
	ns := quietNS(t)
	ns.IP(t, "link", "add", "keep0", "type", "veth", "peer", "name", "keep1")
	ns.IP(t, "link", "add", "re0", "type", "veth", "peer", "name", "re1")
	ns.IP(t, "link", "add", "gone0", "type", "veth", "peer", "name", "gone1")
	c := dialNS(t, ns)
	ctx := context.Background()
	var before, after Snapshot
	if err := c.Snapshot(ctx, &before, ByKind("veth")); err != nil {
		t.Fatal(err)
	}
	old := before.ByName("re0").Index
	ns.IP(t, "link", "del", "re0")
	ns.IP(t, "link", "add", "re0", "type", "veth", "peer", "name", "re1")
	ns.IP(t, "link", "del", "gone0")
	ns.IP(t, "link", "add", "new0", "type", "veth", "peer", "name", "new1")
	// A stats poll sees new ifindexes and refreshes the parameters.
	after = *before.Clone()
	if err := c.PollStats(ctx, &after); err != nil {
		t.Fatal(err)
	}
	if !after.ParamsTime.Equal(after.Time) {
		t.Error("PollStats did not refresh after links changed")
	}
	d := diff(&before, &after)
	got := map[string]LinkDelta{}
	for _, l := range d.Links {
		got[l.Name] = l
	}
	if r := got["keep0"].Reset; r != NoReset {
		t.Errorf("keep0: %v", r)
	}
	if r := got["re0"]; r.Reset != ResetRecreated || r.PrevIndex != old || r.Index == old {
		t.Errorf("re0: %+v (old index %d)", r, old)
	}
	if r := got["new0"]; r.Reset != ResetNewLink || r.PrevIndex != 0 {
		t.Errorf("new0: %+v", r)
	}
	if len(d.Removed) != 2 || !d.Resets() {
		t.Errorf("removed %+v, want gone0 and gone1", d.Removed)
	}
	for _, r := range d.Removed {
		if !strings.HasPrefix(r.Name, "gone") {
			t.Errorf("removed %+v", r)
		}
	}
}

func TestDumpInterruptedUnderChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test is slow")
	}
	ns := quietNS(t)
	const static = 200
	var b strings.Builder
	for i := 0; i < static; i++ {
		fmt.Fprintf(&b, "link add st%d type veth peer name sp%d\n", i, i)
	}
	batch(t, ns, b.String())
	c := dialNS(t, ns)
	// A second client with no retries shows the typed error.
	c0, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}, DumpRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c0.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // churn: add and delete links as fast as ip(8) can
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			var b strings.Builder
			for j := 0; j < 20; j++ {
				fmt.Fprintf(&b, "link add ch%d type veth peer name cp%d\n", j, j)
			}
			for j := 0; j < 20; j++ {
				fmt.Fprintf(&b, "link del ch%d\n", j)
			}
			cmd := exec.Command("ip", "-n", ns.Name, "-force", "-batch", "-")
			cmd.Stdin = strings.NewReader(b.String())
			_ = cmd.Run()
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	var s, p Snapshot
	ok, retries, interrupted := 0, 0, 0
	check := func(snap *Snapshot, err error) {
		switch {
		case err == nil:
			ok++
			retries += snap.Retries
			n := 0
			for _, l := range snap.Links {
				if strings.HasPrefix(l.Name, "st") || strings.HasPrefix(l.Name, "sp") {
					n++
				}
			}
			if n != 2*static {
				t.Fatalf("a read returned as complete holds %d of the %d static links", n, 2*static)
			}
		case errors.Is(err, ErrDumpInterrupted):
			interrupted++
			if len(snap.Links) != 0 {
				t.Fatal("a failed read left links in the snapshot")
			}
		default:
			t.Fatalf("error other than ErrDumpInterrupted: %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, cl := range []*Client{c, c0} {
			check(&s, cl.Snapshot(context.Background(), &s))
			check(&p, cl.PollStats(context.Background(), &p))
		}
	}
	t.Logf("complete reads %d, restarts after NLM_F_DUMP_INTR %d, ErrDumpInterrupted %d", ok, retries, interrupted)
	if retries+interrupted == 0 {
		t.Error("churn never interrupted a dump: the test proved nothing")
	}
}

func batch(t testing.TB, ns *testns.NS, cmds string) {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(cmds)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v: %s", err, out)
	}
}

func TestZeroAllocsReuse(t *testing.T) {
	ns := quietNS(t)
	var b strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "link add z%d type veth peer name y%d\n", i, i)
	}
	b.WriteString("link add vx0 type vxlan id 5 dstport 4789\n")
	batch(t, ns, b.String())
	c := dialNS(t, ns)
	ctx := context.Background()
	var s, prev Snapshot
	var d Delta
	if err := c.Snapshot(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if err := c.Snapshot(ctx, &prev); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := c.Snapshot(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Snapshot: %v allocs per full dump of %d links, want 0", n, len(s.Links))
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := c.PollStats(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("PollStats: %v allocs per poll, want 0", n)
	}
	if !s.ParamsTime.Before(s.Time) {
		t.Error("PollStats did full dumps")
	}
	Diff(&d, &prev, &s)
	if n := testing.AllocsPerRun(20, func() { Diff(&d, &prev, &s) }); n != 0 {
		t.Errorf("Diff: %v allocs, want 0", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	p := newQuietPair(t)
	c := dialNS(t, p.A)
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s Snapshot
			for i := 0; i < 30; i++ {
				var err error
				switch i % 3 {
				case 0:
					_, err = readLinks(context.Background(), c, ByKind("veth"))
				case 1:
					err = c.Snapshot(context.Background(), &s)
				case 2:
					err = c.PollStats(context.Background(), &s)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	p.sendUDP(t, 3, 10)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestCloseAndCancel(t *testing.T) {
	ns := quietNS(t)
	c := dialNS(t, ns)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var s Snapshot
	if err := c.Snapshot(ctx, &s); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := c.PollStats(ctx, &s); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled poll: %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
	defer dcancel()
	if _, err := readLinks(dctx, c); err != nil {
		t.Fatalf("after a cancelled call: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := readLinks(context.Background(), c); !errors.Is(err, os.ErrClosed) {
		t.Errorf("after Close: %v, want os.ErrClosed", err)
	}
	if err := c.PollStats(context.Background(), &s); !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v, want os.ErrClosed", err)
	}
}
