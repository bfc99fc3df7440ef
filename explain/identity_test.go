package explain

import (
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// A renamed tunnel is the same link: its old errors are no new events.
func TestRenamedLinkIsNoEvent(t *testing.T) {
	old := Stats64{TxErrors: 3, TxCarrierErrors: 3}
	before := &Reading{Time: t0, KernelRelease: "6.1.0", MIB: mib("XfrmOutNoStates", 3),
		Links: []LinkReading{underlay(), link("vti1", KindVTI, 7, old)}}
	after := &Reading{Time: t0.Add(60e9), KernelRelease: "6.1.0", MIB: mib("XfrmOutNoStates", 3),
		Links: []LinkReading{underlay(), link("vti9", KindVTI, 7, old)}}
	rep := Explain(before, after)
	if len(rep.Findings) != 0 {
		t.Errorf("a rename made findings:\n%s", rep.String())
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "vti1 was renamed vti9") {
		t.Errorf("notes %q, want one naming both names", rep.Notes)
	}
	// Errors after the rename are the renamed link's, counted from the
	// earlier reading's values.
	after.Links[1] = link("vti9", KindVTI, 7, Stats64{TxErrors: 5, TxCarrierErrors: 5})
	after.MIB = mib("XfrmOutNoStates", 5)
	rep = Explain(before, after)
	if f := only(t, rep, "vti9"); f.Cause != "tx-no-sa" || f.Count != 2 {
		t.Errorf("after the rename: %s", rep.String())
	}
}

// /proc/net/dev has no ifindex: an interface deleted and re-created moves
// behind the others, and is explained since it was created, with a
// counter-reset finding; DiffNetDev says the same.
func TestRecreatedInProcNetDev(t *testing.T) {
	dev := func(name string, carrier uint64) procnet.DevStats {
		return procnet.DevStats{Name: name, TxPackets: 100, TxErrors: carrier, TxCarrierSum: procnet.Sum(carrier)}
	}
	b := []procnet.DevStats{dev("vti0", 10), dev("eth0", 0)}
	a := []procnet.DevStats{dev("eth0", 0), dev("vti0", 30)}
	rep := Explain(&Reading{Time: t0, Links: LinksFromProcNetDev(b)}, &Reading{Time: t0.Add(60e9), Links: LinksFromProcNetDev(a)})
	var reset, events uint64
	for _, f := range rep.Findings {
		if f.Interface != "vti0" {
			t.Errorf("finding on %s: %s", f.Interface, rep.String())
		}
		switch {
		case f.Cause == "counter-reset":
			reset++
		case f.Group == "" || f.Count > events:
			events = max(events, f.Count)
		}
	}
	if reset != 1 || events != 30 {
		t.Errorf("want a counter-reset and 30 events since vti0 was created:\n%s", rep.String())
	}
	var d procnet.NetDevDelta
	procnet.DiffNetDev(&d, b, a)
	if len(d.Resets) != 1 || d.Resets[0].Name != "vti0" || d.Resets[0].Reason != procnet.ResetReordered {
		t.Errorf("DiffNetDev: %+v", d)
	}
}

// A name listed twice in a /proc/net/dev copy is not guessed at.
func TestDuplicateNameNotExplained(t *testing.T) {
	dev := func(carrier uint64) procnet.DevStats {
		return procnet.DevStats{Name: "vti0", TxErrors: carrier, TxCarrierSum: procnet.Sum(carrier)}
	}
	rep := Explain(&Reading{Time: t0, Links: LinksFromProcNetDev([]procnet.DevStats{dev(1), dev(2)})},
		&Reading{Time: t0.Add(60e9), Links: LinksFromProcNetDev([]procnet.DevStats{dev(5), dev(9)})})
	if len(rep.Findings) != 0 || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "more than once") {
		t.Errorf("%s", rep.String())
	}
}

// only returns the one finding on iface, failing if there is not exactly one.
func only(t *testing.T, rep Report, iface string) Finding {
	t.Helper()
	var out []Finding
	for _, f := range rep.Findings {
		if f.Interface == iface {
			out = append(out, f)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one finding on %s:\n%s", iface, rep.String())
	}
	return out[0]
}
