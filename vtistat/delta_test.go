package vtistat

import (
	"context"
	"slices"
	"testing"
	"time"
)

func snap(t time.Time, links ...Link) *Snapshot { return &Snapshot{Time: t, Links: links} }

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
		Link{Index: 9, Name: "src", StatsSource: StatsProcNet, Stats: Stats64{RxBytes: 9}},
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
			if d.Links[i] != want[i] {
				t.Errorf("link %d:\n got %+v\nwant %+v", i, d.Links[i], want[i])
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
	// /proc/net/dev fallback: no ifindex, matched by name.
	t0 := time.Unix(1000, 0)
	before := snap(t0, Link{Name: "lo", StatsSource: StatsProcNet, Stats: Stats64{RxPackets: 1}},
		Link{Name: "eth0", StatsSource: StatsProcNet, Stats: Stats64{TxCarrierErrors: 4}})
	after := snap(t0.Add(time.Second), Link{Name: "eth0", StatsSource: StatsProcNet, Stats: Stats64{TxCarrierErrors: 9}},
		Link{Name: "vti0", StatsSource: StatsProcNet})
	d := diff(before, after)
	if len(d.Links) != 2 || d.Links[0].Stats.TxCarrierErrors != 5 || d.Links[0].Reset != NoReset ||
		d.Links[1].Reset != ResetNewLink || len(d.Removed) != 1 || d.Removed[0].Name != "lo" {
		t.Errorf("%+v", d)
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
	pb := snap(t0, Link{Name: "vti0", StatsSource: StatsProcNet, Stats: Stats64{TxCarrierErrors: 10}},
		Link{Name: "eth0", StatsSource: StatsProcNet})
	pa := snap(t0.Add(time.Second), Link{Name: "eth0", StatsSource: StatsProcNet},
		Link{Name: "vti0", StatsSource: StatsProcNet, Stats: Stats64{TxCarrierErrors: 30}})
	d = diff(pb, pa)
	if l := d.Links[1]; l.Reset != ResetRecreated || l.Stats.TxCarrierErrors != 30 {
		t.Errorf("re-created under /proc/net/dev: %+v", l)
	}
	if l := d.Links[0]; l.Reset != NoReset {
		t.Errorf("eth0: %+v", l)
	}

	// A name listed twice without indexes cannot be paired.
	pd := snap(t0, Link{Name: "vti0", StatsSource: StatsProcNet}, Link{Name: "vti0", StatsSource: StatsProcNet})
	d = diff(pd, pd)
	if d.Links[0].Reset != ResetDuplicate || d.Links[1].Reset != ResetDuplicate {
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
