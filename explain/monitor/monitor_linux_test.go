//go:build linux

package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// xfrmNamespace makes a namespace with a veth pair (and extra more) and an
// outbound policy whose template has no SA, so that packets matching it
// are dropped and counted in XfrmOutNoStates. Those packets never leave
// the namespace.
func xfrmNamespace(t *testing.T, extra int) *testns.NS {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns.IP(t, "addr", "add", "10.0.0.1/24", "dev", "v0")
	ns.IP(t, "link", "set", "v0", "up")
	ns.IP(t, "link", "set", "v1", "up")
	ns.IP(t, "route", "add", "10.0.1.0/24", "dev", "v0")
	ns.IP(t, "xfrm", "policy", "add", "dir", "out", "src", "10.0.0.0/24", "dst", "10.0.1.0/24", "mark", "42",
		"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel", "reqid", "7")
	for i := range extra {
		ns.IP(t, "link", "add", fmt.Sprintf("e%da", i), "type", "veth", "peer", "name", fmt.Sprintf("e%db", i))
	}
	return ns
}

// sendNoSA sends n packets that the namespace's policy drops for want of
// an SA.
func sendNoSA(t *testing.T, ns *testns.NS, n int) {
	t.Helper()
	_, _ = ns.Ping(t, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.2"), n, testns.PingOpts{Mark: 42})
}

// Three namespaces live: one where packets are dropped, a quiet one (by
// path), and one that does not exist. The quiet intervals only poll; the
// interval in which something moved takes a full reading.
func TestLiveMonitor(t *testing.T) {
	a := xfrmNamespace(t, 0)
	b := testns.New(t)
	b.IP(t, "link", "add", "q0", "type", "veth", "peer", "name", "q1")
	missing := NetNS{Name: fmt.Sprintf("tsmon-missing-%d", os.Getpid())}
	nsA, nsB := NetNS{Name: a.Name}, NetNS{Path: b.Path()}
	m, err := New(&Config{Interval: 200 * time.Millisecond}, nsA, nsB, missing)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tick := 0
	err = m.Run(context.Background(), func(u Update) error {
		name := fmt.Sprintf("tick %d, %s", tick, u.NetNS)
		if u.NetNS == missing {
			if !errors.Is(u.Err, os.ErrNotExist) || u.Total.Events != nil {
				t.Errorf("%s: %v", name, u.Err)
			}
			if tick++; tick == 3 {
				return ErrStop
			}
			return nil
		}
		if u.Err != nil {
			t.Fatalf("%s: %v", name, u.Err)
		}
		switch {
		case tick == 0:
			if !u.Baseline || u.Snapshot == nil || u.Snapshot.SAs == nil || len(u.Unread) != 0 {
				t.Errorf("%s: baseline %v, snapshot %v, unread %v", name, u.Baseline, u.Snapshot != nil, u.Unread)
			}
			if u.NetNS == nsA {
				if len(u.Snapshot.Policies) != 1 || u.Snapshot.NetNS != a.Name {
					t.Errorf("%s: policies %v", name, u.Snapshot.Policies)
				}
				sendNoSA(t, a, 3)
			}
		case tick == 1 && u.NetNS == nsA:
			fs := u.Report.Findings
			if len(fs) != 1 || fs[0].Interface != "" || fs[0].Cause != "tx-no-sa" || fs[0].Count != 3 || fs[0].Certainty != explain.Exact {
				t.Errorf("%s: %v", name, u.Report)
			}
			if u.Snapshot == nil || len(u.Snapshot.Policies) != 1 {
				t.Errorf("%s: no full reading after the counters moved", name)
			}
			if u.Total.Events[key("", "tx-no-sa")] != 3 || len(u.Total.Events) != 1 {
				t.Errorf("%s: total %v", name, u.Total.Events)
			}
		default:
			if u.Baseline || u.Snapshot != nil || len(u.Report.Findings) != 0 || len(u.Unread) != 0 {
				t.Errorf("%s: a quiet interval: baseline %v, snapshot %v, report %v, unread %v", name, u.Baseline, u.Snapshot != nil, u.Report, u.Unread)
			}
			if u.Report.Until.IsZero() || !u.Report.Until.After(u.Report.Since) {
				t.Errorf("%s: interval %v – %v", name, u.Report.Since, u.Report.Until)
			}
			if u.NetNS == nsA && u.Total.Events[key("", "tx-no-sa")] != 3 {
				t.Errorf("%s: total %v", name, u.Total.Events)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tick != 3 {
		t.Errorf("%d intervals", tick)
	}
}

// A quiet interval allocates nothing per link: with 80 links, a handful of
// allocations (the interval's context and timer, the path of the check
// that the name still refers to the namespace).
func TestLiveMonitorQuietAllocs(t *testing.T) {
	ns := xfrmNamespace(t, 40)
	m, err := New(&Config{Interval: 5 * time.Second}, NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := m.watched[0]
	ctx := context.Background()
	for i := range 4 { // the baseline, then a poll into each buffer set
		if u := w.step(ctx, m); u.Err != nil || u.Baseline != (i == 0) || len(u.Report.Findings) != 0 {
			t.Fatalf("step %d: %+v", i, u)
		}
	}
	if n := len(w.p.snaps[0].Links); n != 83 {
		t.Fatalf("%d links polled, want 83", n)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if u := w.step(ctx, m); u.Err != nil || u.Snapshot != nil || len(u.Report.Findings) != 0 {
			t.Fatalf("quiet step: %+v", u)
		}
	})
	t.Logf("%.1f allocations per quiet interval with 83 links", allocs)
	if allocs > 11 {
		t.Errorf("%.1f allocations per quiet interval with 83 links: the poll allocates per link", allocs)
	}
}

// The Reader's snapshot, and what Close does.
func TestLiveReader(t *testing.T) {
	ns := xfrmNamespace(t, 0)
	ctx := context.Background()
	r, err := Open(ctx, NetNS{Path: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != Format || s.NetNS != ns.Path() || s.LinksFrom != "rtnetlink" || len(s.Links) != 3 || s.MIB == nil ||
		s.SAs == nil || len(s.Policies) != 1 || s.SPDInfo == nil || s.KernelRelease == "" || len(s.Unread) != 0 || len(s.Tunnels()) != 0 {
		t.Errorf("snapshot: %+v", s)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(ctx); err == nil {
		t.Error("Read after Close succeeded")
	}
	if _, err := Open(ctx, NetNS{Name: fmt.Sprintf("tsmon-missing-%d", os.Getpid())}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing namespace: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cancelled, NetNS{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}
