package vtistat

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
)

func snap(t time.Time, links ...Link) *Snapshot { return &Snapshot{Time: t, Links: links} }

// devLink is a link as the /proc/net/dev fallback stores it: StatsProcNet,
// the line in Dev, zero Stats.
func devLink(d procnet.DevStats) Link {
	return Link{Name: d.Name, LinkNetNSID: -1, StatsSource: StatsProcNet, Dev: &d}
}

// readLinks reads links once, as an embedder does: into a fresh Snapshot.
func readLinks(ctx context.Context, c *Client, filters ...LinkFilter) ([]Link, error) {
	var s Snapshot
	err := c.Snapshot(ctx, &s, filters...)
	return s.Links, err
}

// diff is Diff into a fresh Delta.
func diff(before, after *Snapshot) Delta {
	var d Delta
	Diff(&d, before, after)
	return d
}

func TestDiff(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t1 := t0.Add(time.Minute)
	before := snap(t0,
		Link{Index: 1, Name: "lo", StatsSource: Stats64Bit, Stats: Stats64{RxPackets: 10, TxPackets: 10}},
		Link{Index: 5, Name: "vti0", Kind: "vti", StatsSource: Stats64Bit, Stats: Stats64{TxErrors: 3, TxCarrierErrors: 3}},
		Link{Index: 6, Name: "vti1", Kind: "vti", StatsSource: Stats64Bit, Stats: Stats64{TxPackets: 100, RxPackets: 50}},
		Link{Index: 7, Name: "gone", StatsSource: Stats64Bit},
		Link{Index: 8, Name: "e32", StatsSource: Stats32Bit, Stats: Stats64{RxBytes: 1<<32 - 10}},
		Link{Index: 9, Name: "src", StatsSource: Stats64Bit, Stats: Stats64{RxBytes: 5}},
	)
	after := snap(t1,
		Link{Index: 1, Name: "lo", StatsSource: Stats64Bit, Stats: Stats64{RxPackets: 15, TxPackets: 15}},
		Link{Index: 5, Name: "vti0", Kind: "vti", StatsSource: Stats64Bit, Stats: Stats64{TxErrors: 62, TxCarrierErrors: 59, Collisions: 3}},
		Link{Index: 8, Name: "e32", StatsSource: Stats32Bit, Stats: Stats64{RxBytes: 20}},
		Link{Index: 9, Name: "src", StatsSource: StatsProcNet, Dev: &procnet.DevStats{Name: "src", RxBytes: 9}},
		Link{Index: 11, Name: "vti1", Kind: "vti", StatsSource: Stats64Bit, Stats: Stats64{TxPackets: 4}},
		Link{Index: 12, Name: "new", StatsSource: Stats64Bit, Stats: Stats64{RxPackets: 2}},
	)
	check := func(d Delta) {
		t.Helper()
		if !d.Start.Equal(t0) || !d.End.Equal(t1) || len(d.Links) != 6 || !d.Resets() {
			t.Fatalf("delta %+v", d)
		}
		want := []LinkDelta{
			{Index: 1, Name: "lo", PrevName: "lo", PrevIndex: 1, Stats: Stats64{RxPackets: 5, TxPackets: 5}},
			{Index: 5, Name: "vti0", PrevName: "vti0", Kind: "vti", PrevIndex: 5, Stats: Stats64{TxErrors: 59, TxCarrierErrors: 56, Collisions: 3}},
			{Index: 8, Name: "e32", PrevName: "e32", PrevIndex: 8, Stats: Stats64{RxBytes: 20}, Reset: ResetCounterDecreased, decreased: 1 << 2},
			{Index: 9, Name: "src", PrevName: "src", PrevIndex: 9, Reset: ResetSourceChanged},
			{Index: 11, Name: "vti1", PrevName: "vti1", Kind: "vti", PrevIndex: 6, Stats: Stats64{TxPackets: 4}, Reset: ResetRecreated},
			{Index: 12, Name: "new", Stats: Stats64{RxPackets: 2}, Reset: ResetNewLink},
		}
		for i := range want {
			got := d.Links[i]
			if i == 3 {
				// A change of source subtracts nothing: a zero Dev.
				if got.Dev == nil || *got.Dev != (procnet.DevStats{Name: "src"}) {
					t.Errorf("link %d: Dev %+v, want a zero line", i, got.Dev)
				}
				got.Dev = nil
			}
			if got != want[i] {
				t.Errorf("link %d:\n got %+v\nwant %+v", i, got, want[i])
			}
		}
		if len(d.Removed) != 1 || d.Removed[0] != (RemovedLink{Index: 7, Name: "gone"}) {
			t.Errorf("removed %+v", d.Removed)
		}
		if got := slices.Collect(d.Links[2].DecreasedFields()); !slices.Equal(got, []string{"rx_bytes"}) {
			t.Errorf("DecreasedFields() = %v", got)
		}
		for i := range d.Links {
			if i != 2 && slices.Collect(d.Links[i].DecreasedFields()) != nil {
				t.Errorf("link %d: DecreasedFields() not empty", i)
			}
		}
	}
	check(diff(before, after))

	// Unsorted snapshots (not made by a Client) give the same answer.
	rev := func(s *Snapshot) *Snapshot {
		c := s.Clone()
		for i, j := 0, len(c.Links)-1; i < j; i, j = i+1, j-1 {
			c.Links[i], c.Links[j] = c.Links[j], c.Links[i]
		}
		return c
	}
	d := diff(rev(before), after)
	check(d)

	// A Delta passed again is overwritten, not appended to.
	Diff(&d, before, after)
	check(d)

	// Same snapshot: no change, nothing allocated once warm.
	var dd Delta
	Diff(&dd, after, after)
	if dd.Resets() || len(dd.Removed) != 0 {
		t.Errorf("self diff %+v", dd)
	}
	if n := testing.AllocsPerRun(100, func() { Diff(&dd, after, after) }); n != 0 {
		t.Errorf("Diff: %v allocs", n)
	}
}

func TestDiffByName(t *testing.T) {
	// /proc/net/dev fallback: no ifindex, matched by name; the deltas are
	// of the file's columns, in Dev, and Stats stays zero.
	t0 := time.Unix(1000, 0)
	before := snap(t0, devLink(procnet.DevStats{Name: "lo", RxPackets: 1}),
		devLink(procnet.DevStats{Name: "eth0", TxCarrierSum: 4, TxPackets: 10}))
	after := snap(t0.Add(time.Second), devLink(procnet.DevStats{Name: "eth0", TxCarrierSum: 9, TxPackets: 12}),
		devLink(procnet.DevStats{Name: "vti0", TxPackets: 3}))
	d := diff(before, after)
	if len(d.Links) != 2 || d.Links[0].Reset != NoReset || d.Links[1].Reset != ResetNewLink ||
		len(d.Removed) != 1 || d.Removed[0].Name != "lo" {
		t.Fatalf("%+v", d)
	}
	for _, l := range d.Links {
		if l.Dev == nil || l.Stats != (Stats64{}) {
			t.Fatalf("%s: Dev %+v, Stats %+v; want the columns in Dev and zero Stats", l.Name, l.Dev, l.Stats)
		}
	}
	if got, want := *d.Links[0].Dev, (procnet.DevStats{Name: "eth0", TxCarrierSum: 5, TxPackets: 2}); got != want {
		t.Errorf("eth0 delta %+v, want %+v", got, want)
	}
	if got, want := *d.Links[1].Dev, *after.Links[1].Dev; got != want {
		t.Errorf("new vti0: %+v, want its line %+v", got, want)
	}

	// A column that went down: ResetCounterDecreased, the column holds its
	// value in after, the others their increase; DecreasedFields (which names
	// Stats64 fields) yields nothing.
	later := snap(t0.Add(2*time.Second), devLink(procnet.DevStats{Name: "eth0", TxCarrierSum: 1, TxPackets: 20}),
		devLink(procnet.DevStats{Name: "vti0", TxPackets: 3}))
	var dd Delta
	Diff(&dd, after, later)
	if l := dd.Links[0]; l.Reset != ResetCounterDecreased || len(slices.Collect(l.DecreasedFields())) != 0 ||
		*l.Dev != (procnet.DevStats{Name: "eth0", TxCarrierSum: 1, TxPackets: 8}) {
		t.Errorf("decreased: %+v, Dev %+v", l, l.Dev)
	}
	if l := dd.Links[1]; l.Reset != NoReset || *l.Dev != (procnet.DevStats{Name: "vti0"}) {
		t.Errorf("unchanged: %+v, Dev %+v", l, l.Dev)
	}

	// Reused storage: no allocation, and every Dev is fresh.
	if n := testing.AllocsPerRun(100, func() { Diff(&dd, after, later) }); n != 0 {
		t.Errorf("Diff with /proc/net/dev links: %v allocs", n)
	}
	Diff(&dd, before, after)
	if *dd.Links[0].Dev != (procnet.DevStats{Name: "eth0", TxCarrierSum: 5, TxPackets: 2}) || dd.Links[0].Dev == dd.Links[1].Dev {
		t.Errorf("reused delta: %+v %+v", dd.Links[0].Dev, dd.Links[1].Dev)
	}
}

// The one link identity: a rename is the same link, a reused ifindex of
// another kind is a new link, and without indexes an interface that moved
// behind others was re-created.
func TestDiffIdentity(t *testing.T) {
	t0 := time.Unix(1000, 0)
	before := snap(t0,
		Link{Index: 5, Name: "vti1", Kind: "vti", StatsSource: Stats64Bit, Stats: Stats64{TxErrors: 3, TxCarrierErrors: 3}},
		Link{Index: 6, Name: "gre1", Kind: "gre", StatsSource: Stats64Bit, Stats: Stats64{TxPackets: 9}})
	after := snap(t0.Add(time.Second),
		Link{Index: 5, Name: "vti9", Kind: "vti", StatsSource: Stats64Bit, Stats: Stats64{TxErrors: 3, TxCarrierErrors: 3}},
		Link{Index: 6, Name: "gre1", Kind: "ipip", StatsSource: Stats64Bit, Stats: Stats64{TxPackets: 1}})
	d := diff(before, after)
	if l := d.Links[0]; l.Reset != NoReset || l.PrevName != "vti1" || l.Name != "vti9" || l.Stats != (Stats64{}) {
		t.Errorf("renamed: %+v", l)
	}
	if l := d.Links[1]; l.Reset != ResetRecreated || l.PrevIndex != 6 || l.Stats.TxPackets != 1 {
		t.Errorf("ifindex reused by another kind: %+v", l)
	}
	if len(d.Removed) != 0 {
		t.Errorf("removed %+v", d.Removed)
	}

	// /proc/net/dev fallback: vti0 deleted and re-created moves behind eth0.
	pb := snap(t0, devLink(procnet.DevStats{Name: "vti0", TxCarrierSum: 10}), devLink(procnet.DevStats{Name: "eth0"}))
	pa := snap(t0.Add(time.Second), devLink(procnet.DevStats{Name: "eth0"}), devLink(procnet.DevStats{Name: "vti0", TxCarrierSum: 30}))
	d = diff(pb, pa)
	if l := d.Links[1]; l.Reset != ResetRecreated || l.Dev == nil || l.Dev.TxCarrierSum != 30 {
		t.Errorf("re-created under /proc/net/dev: %+v", l)
	}
	if l := d.Links[0]; l.Reset != NoReset {
		t.Errorf("eth0: %+v", l)
	}

	// A name listed twice without indexes cannot be paired.
	pd := snap(t0, devLink(procnet.DevStats{Name: "vti0", TxPackets: 1}), devLink(procnet.DevStats{Name: "vti0", TxPackets: 2}))
	d = diff(pd, pd)
	if d.Links[0].Reset != ResetDuplicate || d.Links[1].Reset != ResetDuplicate ||
		*d.Links[0].Dev != (procnet.DevStats{Name: "vti0"}) || *d.Links[1].Dev != (procnet.DevStats{Name: "vti0"}) {
		t.Errorf("duplicate: %+v", d.Links)
	}
}

func TestStringers(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{OperUp.String(), "up"}, {OperLowerLayerDown.String(), "lowerlayerdown"}, {OperState(42).String(), "OperState(42)"},
		{Stats64Bit.String(), "stats64"}, {StatsProcNet.String(), "procnet"}, {StatsSource(9).String(), "StatsSource(9)"},
		{ResetRecreated.String(), "recreated"}, {ResetReason(9).String(), "ResetReason(9)"},
	} {
		if c.got != c.want {
			t.Errorf("%q != %q", c.got, c.want)
		}
	}
}
