package procnet

import (
	"fmt"
	"strings"
	"testing"
)

func dev(name string, v uint64) DevStats {
	d := DevStats{Name: name}
	var a [nNetDevColumns]uint64
	for i := range a {
		a[i] = v
	}
	d.setValues(&a)
	return d
}

func devs(spec string) []DevStats {
	// "lo=1 eth0=5": name=value for every column.
	var out []DevStats
	for _, f := range strings.Fields(spec) {
		var v uint64
		name, val, _ := strings.Cut(f, "=")
		fmt.Sscan(val, &v)
		out = append(out, dev(name, v))
	}
	return out
}

func resetsString(rs []NetDevReset) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s:%s", r.Name, r.Reason)
		if r.Reason == ResetDecreased {
			fmt.Fprintf(&b, "(%s %d->%d)", r.Column, r.Before, r.After)
		} else if r.Column != "" {
			fmt.Fprintf(&b, "(column %q)", r.Column)
		}
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

func devsString(ds []DevStats) string {
	var b strings.Builder
	for _, d := range ds {
		v := d.values()
		for _, x := range v[1:] {
			if x != v[0] {
				fmt.Fprintf(&b, "%s=%v ", d.Name, v)
				goto next
			}
		}
		fmt.Fprintf(&b, "%s=%d ", d.Name, v[0])
	next:
	}
	return strings.TrimSpace(b.String())
}

func TestDiffNetDev(t *testing.T) {
	tests := []struct {
		name, before, after string
		devs, resets        string
	}{
		{"same order", "lo=1 eth0=5 vti0=7", "lo=2 eth0=5 vti0=10", "lo=1 eth0=0 vti0=3", ""},
		{"empty", "", "", "", ""},
		{"decreased", "lo=1 eth0=5", "lo=1 eth0=4", "lo=0", "eth0:decreased(rx bytes 5->4)"},
		{"vanished", "lo=1 vti0=5 eth0=5", "lo=1 eth0=6", "lo=0 eth0=1", "vti0:vanished"},
		{"appeared", "lo=1 eth0=5", "lo=1 vti0=2 eth0=6", "lo=0 eth0=1", "vti0:appeared"},
		// vti0 deleted and re-created: new ifindex, so it moves to the end,
		// and its counters have grown past the old ones.
		{"re-created", "lo=1 vti0=5 eth0=5 eth1=1", "lo=1 eth0=6 eth1=1 vti0=9", "lo=0 eth0=1 eth1=0", "vti0:reordered"},
		// Two swapped: the later one in the new order is the re-created one.
		{"swap", "a=1 b=1", "b=2 a=2", "b=1", "a:reordered"},
		{"duplicate after", "lo=1 x=1", "lo=1 x=2 x=3", "lo=0", "x:duplicate"},
		{"duplicate before", "lo=1 x=1 x=2", "lo=1 x=3", "lo=0", "x:duplicate"},
		{"duplicate before, gone", "lo=1 x=1 x=2", "lo=1", "lo=0", "x:duplicate"},
		{"all at once", "lo=1 a=1 b=5 c=1", "lo=2 b=4 c=1 d=0", "lo=1 c=0", "b:decreased(rx bytes 5->4) d:appeared a:vanished"},
		{"reorder wins over decrease", "lo=1 b=5 c=1", "lo=2 c=1 b=4", "lo=1 c=0", "b:reordered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d NetDevDelta
			DiffNetDev(&d, devs(tt.before), devs(tt.after))
			if got := devsString(d.Devs); got != tt.devs {
				t.Errorf("Devs = %q, want %q", got, tt.devs)
			}
			if got := resetsString(d.Resets); got != tt.resets {
				t.Errorf("Resets = %q, want %q", got, tt.resets)
			}
		})
	}
}

func TestDiffNetDevSumsAndColumn(t *testing.T) {
	before := []DevStats{{Name: "vti0", TxErrors: 59, TxCarrierSum: 59}}
	after := []DevStats{{Name: "vti0", TxErrors: 80, TxCarrierSum: 70}}
	var d NetDevDelta
	DiffNetDev(&d, before, after)
	if len(d.Resets) != 0 || len(d.Devs) != 1 {
		t.Fatalf("%+v", d)
	}
	if got, ok := d.Dev("vti0"); !ok || got.TxErrors != 21 || got.TxCarrierSum != 11 {
		t.Errorf("Dev(vti0) = %+v, %v", got, ok)
	}
	if _, ok := d.Dev("eth0"); ok {
		t.Error("Dev(eth0) found")
	}
	after[0].TxCarrierSum = 1
	DiffNetDev(&d, before, after)
	if len(d.Resets) != 1 || d.Resets[0].Column != "tx carrier" || d.Resets[0].Before != 59 || d.Resets[0].After != 1 {
		t.Errorf("Resets = %+v", d.Resets)
	}
}

func TestDiffNetDevManyReordered(t *testing.T) {
	// 100 interfaces; every tenth is re-created (moved to the end).
	var before, after, moved []DevStats
	for i := range 100 {
		d := dev(fmt.Sprintf("if%d", i), uint64(i))
		before = append(before, d)
		if i%10 == 3 {
			moved = append(moved, d)
		} else {
			after = append(after, d)
		}
	}
	after = append(after, moved...)
	var d NetDevDelta
	DiffNetDev(&d, before, after)
	if len(d.Devs) != 90 || len(d.Resets) != 10 {
		t.Fatalf("%d devs, %d resets: %s", len(d.Devs), len(d.Resets), resetsString(d.Resets))
	}
	for i, r := range d.Resets {
		if want := fmt.Sprintf("if%d", 10*i+3); r.Name != want || r.Reason != ResetReordered {
			t.Errorf("reset %d = %+v, want %s reordered", i, r, want)
		}
	}
}

func TestDiffXfrmStat(t *testing.T) {
	var before, after XfrmStat
	if err := before.unmarshalText([]byte("XfrmInError\t5\nXfrmInNoStates\t7\nXfrmOutNoStates\t1\nXfrmGone\t3\nXfrmNew\t1\nXfrmDown\t9\n")); err != nil {
		t.Fatal(err)
	}
	if err := after.unmarshalText([]byte("XfrmInError\t4\nXfrmInNoStates\t9\nXfrmInHdrError\t2\nXfrmNew\t6\nXfrmDown\t8\nXfrmBorn\t1\n")); err != nil {
		t.Fatal(err)
	}
	var d XfrmStatDelta
	DiffXfrmStat(&d, &before, &after)
	if d.InNoStates != 2 || !d.has("XfrmInNoStates") {
		t.Errorf("InNoStates delta = %d", d.InNoStates)
	}
	if d.has("XfrmInError") || d.has("XfrmInHdrError") || d.has("XfrmOutNoStates") {
		t.Error("a reset counter is marked present")
	}
	if v, ok := d.Counter("XfrmNew"); !ok || v != 5 {
		t.Errorf("XfrmNew delta = %d, %v", v, ok)
	}
	var got []string
	for _, r := range d.Resets {
		got = append(got, fmt.Sprintf("%s:%s:%d->%d", r.Name, r.Reason, r.Before, r.After))
	}
	want := "XfrmInError:decreased:5->4 XfrmInHdrError:appeared:0->2 XfrmOutNoStates:vanished:1->0 " +
		"XfrmDown:decreased:9->8 XfrmBorn:appeared:0->1 XfrmGone:vanished:3->0"
	if strings.Join(got, " ") != want {
		t.Errorf("Resets =\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

// TestDiffReusesDestination: a delta passed again is overwritten, not
// appended to, and a steady poll loop allocates nothing.
func TestDiffReusesDestination(t *testing.T) {
	before, after := devs("lo=1 a=1 b=5 c=1"), devs("lo=2 b=4 c=1 d=0")
	var d NetDevDelta
	DiffNetDev(&d, before, after)
	DiffNetDev(&d, before, after)
	if got, want := resetsString(d.Resets), "b:decreased(rx bytes 5->4) d:appeared a:vanished"; got != want {
		t.Errorf("Resets after reuse = %q, want %q", got, want)
	}
	if got := devsString(d.Devs); got != "lo=1 c=0" {
		t.Errorf("Devs after reuse = %q", got)
	}
	// With the same interfaces in both readings (a steady poll), nothing
	// is allocated.
	before, after = devs("lo=1 a=1 b=5 c=1"), devs("lo=2 a=1 b=6 c=1")
	DiffNetDev(&d, before, after)
	if n := testing.AllocsPerRun(100, func() { DiffNetDev(&d, before, after) }); n != 0 {
		t.Errorf("DiffNetDev reuse: %v allocs/op, want 0", n)
	}

	var xb, xa XfrmStat
	if err := xb.unmarshalText([]byte("XfrmInError\t5\nXfrmNew\t1\n")); err != nil {
		t.Fatal(err)
	}
	if err := xa.unmarshalText([]byte("XfrmInError\t4\nXfrmNew\t6\n")); err != nil {
		t.Fatal(err)
	}
	var xd XfrmStatDelta
	DiffXfrmStat(&xd, &xb, &xa)
	DiffXfrmStat(&xd, &xb, &xa)
	if len(xd.Resets) != 1 || len(xd.Other) != 1 || xd.Other[0] != (Counter{"XfrmNew", 5}) || xd.has("XfrmInError") {
		t.Errorf("XfrmStatDelta after reuse = %+v", xd)
	}
	if n := testing.AllocsPerRun(100, func() { DiffXfrmStat(&xd, &xb, &xa) }); n != 0 {
		t.Errorf("DiffXfrmStat reuse: %v allocs/op, want 0", n)
	}
}

func TestResetReasonString(t *testing.T) {
	for r, want := range map[ResetReason]string{
		ResetDecreased: "decreased", ResetVanished: "vanished", ResetAppeared: "appeared",
		ResetReordered: "reordered", ResetDuplicate: "duplicate", 0: "ResetReason(0)", 99: "ResetReason(99)",
	} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), want)
		}
	}
}
