//go:build linux

package vtistat_test

// Hardening tests (issue 9, HARDENING.md): privileges, lifecycle and
// concurrent use of one Client. Churn and soak are in internal/soak/harness and bench/cmd/soak.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/soak/harness"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// readLinks reads links once, as an embedder does: into a fresh Snapshot.
func readLinks(ctx context.Context, c *vtistat.Client, filters ...vtistat.LinkFilter) ([]vtistat.Link, error) {
	var s vtistat.Snapshot
	err := c.Snapshot(ctx, &s, filters...)
	return s.Links, err
}

// copyTestBinary makes the test binary executable by user nobody.
func copyTestBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hardening.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestHardeningUnprivileged runs TestHardeningUnprivilegedChild as user
// nobody with no capabilities at all (setpriv --inh-caps=-all, so not even
// ambient ones), and as root of a fresh user namespace (a rootless
// container: all capabilities, but over no network namespace), inside a
// namespace holding a veth pair and an XFRM policy.
//
// Expected: link stats (rtnetlink RTM_GETLINK and RTM_GETSTATS need no
// privilege) and /proc files work; XFRM netlink requests fail with an error
// matching os.ErrPermission; nothing panics.
func TestHardeningUnprivileged(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "link", "add", "hv0", "type", "veth", "peer", "name", "hv1")
	ns.IP(t, "xfrm", "policy", "add", "src", "10.0.0.0/8", "dst", "10.0.0.0/8", "dir", "fwd")
	other := testns.New(t) // a namespace the child may open but not enter
	bin := copyTestBinary(t)
	for name, wrap := range map[string][]string{
		"setpriv nobody": {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"},
		"user namespace": {"unshare", "--user", "--map-root-user"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			if _, err := exec.LookPath(wrap[0]); err != nil {
				t.Skipf("%s not installed", wrap[0])
			}
			args := append([]string{"netns", "exec", ns.Name}, wrap...)
			args = append(args, bin, "-test.run=^TestHardeningUnprivilegedChild$", "-test.v")
			cmd := exec.Command("ip", args...)
			cmd.Env = append(os.Environ(), "TUNNELSTAT_HARDENING_CHILD=1", "TUNNELSTAT_HARDENING_OTHER_NETNS="+other.Path())
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "HARDENING-CHILD-OK") {
				t.Errorf("%v\n%s", err, out)
				return
			}
			if strings.Contains(string(out), "panic") {
				t.Errorf("child output mentions a panic:\n%s", out)
			}
			t.Logf("\n%s", out)
		})
	}
}

// TestHardeningUnprivilegedChild is TestHardeningUnprivileged's child.
func TestHardeningUnprivilegedChild(t *testing.T) {
	if os.Getenv("TUNNELSTAT_HARDENING_CHILD") != "1" {
		t.Skip("runs only as the child of TestHardeningUnprivileged")
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "CapEff:") || strings.HasPrefix(l, "CapAmb:") {
				t.Log(l)
			}
		}
	}
	ctx := context.Background()

	// vtistat over rtnetlink, no fallback allowed: it must really work.
	c, err := vtistat.Dial(&vtistat.Config{})
	if err != nil {
		t.Fatalf("vtistat.Dial: %v", err)
	}
	defer c.Close()
	var snap vtistat.Snapshot
	if err := c.Snapshot(ctx, &snap); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if err := c.PollStats(ctx, &snap); err != nil {
		t.Fatalf("PollStats: %v", err)
	}
	if snap.ByName("hv0") == nil || snap.ByName("lo") == nil || snap.Links[0].StatsSource != vtistat.Stats64Bit {
		t.Errorf("links: %+v", snap.Links)
	}
	if r := c.FallbackReason(); r != nil {
		t.Errorf("fell back: %v", r)
	}
	t.Logf("vtistat: %d links, stats %s", len(snap.Links), snap.Links[0].StatsSource)

	// Entering another namespace needs CAP_SYS_ADMIN: a clear permission
	// error, not a /proc/net/dev fallback that would fail the same way.
	if p := os.Getenv("TUNNELSTAT_HARDENING_OTHER_NETNS"); p != "" {
		oc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Path: p}})
		if err == nil {
			oc.Close()
			t.Errorf("vtistat.Dial into %s without CAP_SYS_ADMIN succeeded", p)
		} else if !errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "fallback") {
			t.Errorf("vtistat.Dial into %s: %v; want a permission error naming CAP_SYS_ADMIN, no fallback", p, err)
		} else {
			t.Logf("other namespace: %v", err)
		}
	}

	// /proc files.
	devs, err := (procnet.FS{}).ReadNetDev(ctx)
	if err != nil || len(devs) != len(snap.Links) {
		t.Errorf("procnet FS.ReadNetDev: %d devices, %v", len(devs), err)
	}
	if _, err := (procnet.FS{}).ReadXfrmStat(ctx); err != nil {
		t.Errorf("procnet FS.ReadXfrmStat: %v", err)
	}

	// XFRM: the MIB is a /proc file (works), every netlink request needs
	// CAP_NET_ADMIN over the namespace.
	x, err := xfrmstat.Dial(nil)
	if err != nil {
		t.Fatalf("xfrmstat.Dial: %v", err)
	}
	defer x.Close()
	if err := x.MIB(ctx, new(procnet.XfrmStat)); err != nil {
		t.Errorf("xfrmstat MIB: %v", err)
	}
	perm := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s: %v does not match os.ErrPermission", op, err)
		} else {
			t.Logf("%s: %v", op, err)
		}
	}
	_, err = x.SAs(ctx, nil)
	perm("SAs", err)
	_, err = x.Policies(ctx, nil)
	perm("Policies", err)
	_, err = x.SPDInfo(ctx)
	perm("SPDInfo", err)
	_, err = x.SADInfo(ctx)
	perm("SADInfo", err)
	if !t.Failed() {
		fmt.Println("HARDENING-CHILD-OK")
	}
}

// TestHardeningNamespaceDeleted: `ip netns del` only unmounts the name; the
// Client's socket (and its namespace handle) keep the namespace alive, so
// the Client goes on reading it, as documented ("the socket ... stays bound
// to it"). A Dial by the deleted name fails with os.ErrNotExist.
func TestHardeningNamespaceDeleted(t *testing.T) {
	testns.RequireRoot(t)
	harness.LeakCheck(t)
	name := fmt.Sprintf("ts-h9-%d", time.Now().UnixNano()%1e9)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	deleted := false
	defer func() {
		if !deleted {
			exec.Command("ip", "netns", "del", name).Run()
		}
	}()
	if out, err := exec.Command("ip", "-n", name, "link", "add", "nd0", "type", "veth", "peer", "name", "nd1").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var snap vtistat.Snapshot
	if err := c.Snapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	deleted = true
	for i := range 3 {
		if err := c.PollStats(ctx, &snap); err != nil {
			t.Fatalf("PollStats %d after ip netns del: %v", i, err)
		}
		if err := c.Snapshot(ctx, &snap); err != nil {
			t.Fatalf("Snapshot %d after ip netns del: %v", i, err)
		}
	}
	if snap.ByName("nd0") == nil {
		t.Errorf("after ip netns del: links %v", snap.Links)
	}
	if _, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: name}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dial of a deleted namespace: %v, want os.ErrNotExist", err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

// TestHardeningLinkDeletedMidPoll: a link deleted between polls (and one
// deleted and created again under its name) makes PollStats read the links
// again, without error, and Diff reports them as removed and recreated.
func TestHardeningLinkDeletedMidPoll(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "link", "add", "md0", "type", "veth", "peer", "name", "md1")
	ns.IP(t, "link", "add", "re0", "type", "veth", "peer", "name", "re1")
	harness.LeakCheck(t)
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var a, b vtistat.Snapshot
	if err := c.Snapshot(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if err := c.PollStats(ctx, &b); err != nil {
		t.Fatal(err)
	}
	ns.IP(t, "link", "del", "md0")
	ns.IP(t, "link", "del", "re0")
	ns.IP(t, "link", "add", "re0", "type", "veth", "peer", "name", "re1")
	if err := c.PollStats(ctx, &b); err != nil {
		t.Fatalf("PollStats after deletes: %v", err)
	}
	if b.ByName("md0") != nil || b.ByName("md1") != nil || b.ByName("re0") == nil {
		t.Fatalf("links after delete: %+v", b.Links)
	}
	var d vtistat.Delta
	vtistat.Diff(&d, &a, &b)
	removed := map[string]bool{}
	for _, r := range d.Removed {
		removed[r.Name] = true
	}
	if !removed["md0"] || !removed["md1"] {
		t.Errorf("Removed = %+v, want md0 and md1", d.Removed)
	}
	for _, l := range d.Links {
		if l.Name == "re0" && l.Reset != vtistat.ResetRecreated {
			t.Errorf("re0: reset %s, want recreated", l.Reset)
		}
	}
	// The same with one link selected by name: deleted, it is ErrNotExist.
	var one vtistat.Snapshot
	if err := c.Snapshot(ctx, &one, vtistat.ByName("re1")); err != nil {
		t.Fatal(err)
	}
	ns.IP(t, "link", "del", "re1")
	if err := c.PollStats(ctx, &one); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PollStats of a deleted selected link: %v, want os.ErrNotExist", err)
	}
	if len(one.Links) != 0 {
		t.Errorf("error with %d links", len(one.Links))
	}
}

// TestHardeningClosedAndCancelled: every read after Close fails with
// an error matching os.ErrClosed; a cancelled or expired context gives context.Canceled or
// DeadlineExceeded, and the Client works afterwards. Nothing leaks.
func TestHardeningClosedAndCancelled(t *testing.T) {
	ns := testns.New(t)
	harness.LeakCheck(t)
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	var snap vtistat.Snapshot
	cctx, cancel := context.WithCancel(bg)
	cancel()
	if err := c.Snapshot(cctx, &snap); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot, cancelled: %v", err)
	}
	if err := c.PollStats(cctx, &snap); !errors.Is(err, context.Canceled) {
		t.Errorf("PollStats, cancelled: %v", err)
	}
	dctx, dcancel := context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer dcancel()
	if _, err := readLinks(dctx, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Links, expired: %v", err)
	}
	// Cancelled many times while running: each call either completes or
	// returns the context's error, and the next call is clean.
	for i := range 200 {
		ctx, cancel := context.WithCancel(bg)
		go cancel()
		err := c.Snapshot(ctx, &snap)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("race %d: %v", i, err)
		}
		if err := c.Snapshot(bg, &snap); err != nil || snap.ByName("lo") == nil {
			t.Fatalf("after cancel %d: %v", i, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.Snapshot(bg, &snap); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Snapshot after Close: %v", err)
	}
	if err := c.PollStats(bg, &snap); !errors.Is(err, os.ErrClosed) {
		t.Errorf("PollStats after Close: %v", err)
	}
	if _, err := readLinks(bg, c); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Links after Close: %v", err)
	}
	if len(snap.Links) != 0 {
		t.Errorf("a failed read left %d links", len(snap.Links))
	}
}

// TestHardeningConcurrentClient: 16 goroutines share one Client, each with
// its own Snapshot, mixing Snapshot, PollStats, Links with and without
// selections, cancelled contexts, while links come and go. Run with -race.
func TestHardeningConcurrentClient(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "link", "add", "cc0", "type", "veth", "peer", "name", "cc1")
	harness.LeakCheck(t)
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, stop := context.WithCancel(context.Background())
	churned := make(chan struct{})
	go func() { // churn one link meanwhile
		defer close(churned)
		for i := 0; ctx.Err() == nil; i++ {
			exec.Command("ip", "-n", ns.Name, "link", "add", "cx0", "type", "veth", "peer", "name", "cx1").Run()
			exec.Command("ip", "-n", ns.Name, "link", "del", "cx0").Run()
		}
	}()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var snap vtistat.Snapshot
			for i := range 150 {
				var err error
				switch (g + i) % 5 {
				case 0:
					err = c.Snapshot(ctx, &snap)
				case 1, 2:
					err = c.PollStats(ctx, &snap)
				case 3:
					_, err = readLinks(ctx, c, vtistat.ByName("cc0"))
				case 4:
					cctx, cancel := context.WithCancel(ctx)
					cancel()
					if err = c.Snapshot(cctx, &snap); errors.Is(err, context.Canceled) {
						err = nil
					}
				}
				if err != nil {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
					return
				}
				if (g+i)%5 < 3 && (snap.ByName("cc0") == nil || snap.ByName("lo") == nil) {
					t.Errorf("goroutine %d call %d: static links missing", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	stop()
	<-churned
}

// TestHardeningDecodeCorruptedFixtures feeds every real RTM_NEWLINK capture
// (host and VM kernels) cut at every byte and with every 16-bit attribute
// length word set to hostile values to DecodeLink: an error naming where, or
// a decoded link, never a panic. The fuzz targets (FuzzDecodeLink …) explore
// further; this is the deterministic floor CI always runs.
func TestHardeningDecodeCorruptedFixtures(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "rtm_newlink-*.bin"))
	vm, _ := filepath.Glob(filepath.Join("testdata", "vm", "*", "*", "rtm_newlink-*.bin"))
	paths = append(paths, vm...)
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	decode := func(name string, b []byte) (err error) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: panic %v", name, r)
			}
		}()
		var l vtistat.Link
		return vtistat.DecodeLink(b, &l)
	}
	var cuts, corrupt, rejected int
	for _, p := range paths {
		msg, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := decode(p, msg); err != nil {
			t.Fatalf("%s: the real capture does not decode: %v", p, err)
		}
		for cut := 0; cut < len(msg); cut++ {
			cuts++
			if err := decode(p, msg[:cut]); err != nil {
				rejected++
				var de *vtistat.DecodeError
				if !errors.As(err, &de) && cut >= 16 {
					t.Errorf("%s cut at %d: %T %v, want a *DecodeError", p, cut, err, err)
				}
			}
		}
		buf := make([]byte, len(msg))
		for off := 16; off+2 <= len(msg); off += 2 { // after struct ifinfomsg
			for _, v := range []uint16{0, 3, 5, 0x7fff, 0xffff} {
				copy(buf, msg)
				buf[off], buf[off+1] = byte(v), byte(v>>8)
				corrupt++
				if decode(p, buf) != nil {
					rejected++
				}
			}
		}
	}
	t.Logf("%d fixtures: %d truncations and %d corruptions decoded without panic (%d rejected with an error)", len(paths), cuts, corrupt, rejected)
}
