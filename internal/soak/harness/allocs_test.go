//go:build linux

package harness

import (
	"context"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// TestSoakPollAllocs reports the allocations of each part of a soak poll
// (the soak's mallocs column divided by the polls), so a regression in one
// path shows by name. The reuse paths vtistat.PollStats and
// xfrmstat.MIB promise none; SPDInfo and SADInfo return values.
func TestSoakPollAllocs(t *testing.T) {
	ns := newNS(t)
	cfg := ChurnConfig{NS: ns, StaticLinks: 2, StaticPolicies: 4}
	if err := Setup(&cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	xc, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer xc.Close()
	var snap vtistat.Snapshot
	var mib procnet.XfrmStat
	if err := vc.Snapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if err := xc.MIB(ctx, &mib); err != nil {
		t.Fatal(err)
	}
	parts := []struct {
		name    string
		promise bool
		fn      func()
	}{
		{"vtistat PollStats", true, func() { _ = vc.PollStats(ctx, &snap) }},
		{"xfrmstat MIB", true, func() { _ = xc.MIB(ctx, &mib) }},
		{"xfrmstat SPDInfo", false, func() { _, _ = xc.SPDInfo(ctx) }},
		{"xfrmstat SADInfo", false, func() { _, _ = xc.SADInfo(ctx) }},
	}
	for _, p := range parts {
		n := testing.AllocsPerRun(200, p.fn)
		t.Logf("%s: %.1f allocations per call", p.name, n)
		if p.promise && n != 0 {
			t.Errorf("%s allocates %.1f per call; it promises none", p.name, n)
		}
	}
	// With a cancellable context every request arms a context.AfterFunc
	// to interrupt a blocked receive: a few small allocations, garbage at
	// once (the soak's heap stays flat). Logged, not asserted.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := testing.AllocsPerRun(200, func() {
		_ = vc.PollStats(cctx, &snap)
		_ = xc.MIB(cctx, &mib)
		_, _ = xc.SPDInfo(cctx)
		_, _ = xc.SADInfo(cctx)
	})
	t.Logf("one soak poll with a cancellable context: %.1f allocations", n)
}
