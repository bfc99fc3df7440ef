package explain

import (
	"reflect"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

func TestLinksFromVTIStat(t *testing.T) {
	links := []vtistat.Link{
		{Index: 5, Name: "vti0", Kind: "vti", LinkNetNSID: -1, Tunnel: vtiTunnel(), StatsSource: vtistat.Stats64Bit,
			Stats: vtistat.Stats64{TxErrors: 3, TxCarrierErrors: 2, TxAbortedErrors: 1}},
		{Index: 6, Name: "vti1", Kind: "vti", LinkNetNSID: 0, Tunnel: vtiTunnel(), StatsSource: vtistat.Stats32Bit},
		{Name: "vti2", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet,
			Dev: &procnet.DevStats{Name: "vti2", TxErrors: 7, TxCarrierSum: 7, RxDropSum: 2, RxFrameSum: 4}},
		{Name: "vti3", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet}, // no line: no counters
		{Index: 8, Name: "dummy0", Kind: "dummy", LinkNetNSID: -1},
	}
	got := LinksFromVTIStat(links)
	if got[0].Source != SourceStats64 || got[0].Stats.TxAbortedErrors != 1 || got[0].CrossNetns || got[0].Tunnel == nil {
		t.Errorf("stats64 link: %+v", got[0])
	}
	if got[1].Source != SourceStats32 || !got[1].CrossNetns {
		t.Errorf("stats32 cross-netns link: %+v", got[1])
	}
	if got[2].Source != SourceProcNetDev || got[2].Dev.TxCarrierSum != 7 || got[2].Dev.RxFrameSum != 4 || got[2].Dev.RxDropSum != 2 {
		t.Errorf("procnet fallback link: %+v", got[2])
	}
	if got[3].Source != 0 || got[4].Source != 0 {
		t.Errorf("links without counters: %+v %+v", got[3], got[4])
	}
	rep := ExplainSinceBoot(&Reading{KernelRelease: "6.1.0-31-cloud-amd64", Links: got})
	mustFind(t, rep, want{"vti0", "tx-sa-expired", 1, Candidate})
	mustFind(t, rep, want{"vti2", "tx-no-sa", 7, Candidate})
	if len(rep.Notes) != 2 || rep.Notes[1] != "dummy0: the kernel sent no counters" {
		t.Errorf("notes = %q", rep.Notes)
	}
}

// TestAppendLinksFromVTIStatReuses: the same readings as LinksFromVTIStat,
// appended after what dst holds, and no allocation once dst is large
// enough (the poll-loop path).
func TestAppendLinksFromVTIStatReuses(t *testing.T) {
	links := []vtistat.Link{
		{Index: 5, Name: "vti0", Kind: "vti", LinkNetNSID: -1, Tunnel: vtiTunnel(), StatsSource: vtistat.Stats64Bit,
			Stats: vtistat.Stats64{TxErrors: 3, TxCarrierErrors: 2}},
		{Name: "vti2", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet, Dev: &procnet.DevStats{Name: "vti2", TxErrors: 7, TxCarrierSum: 7}},
	}
	first := LinkReading{Name: "kept"}
	got := AppendLinksFromVTIStat([]LinkReading{first}, links)
	if len(got) != 3 || got[0] != first || !reflect.DeepEqual(got[1:], LinksFromVTIStat(links)) {
		t.Fatalf("got %+v", got)
	}
	buf := make([]LinkReading, 0, len(links))
	if n := testing.AllocsPerRun(100, func() { buf = AppendLinksFromVTIStat(buf[:0], links) }); n != 0 {
		t.Errorf("%v allocations per call into a large enough slice, want 0", n)
	}

	// Storage that held other readings (the links swapped places, one lost
	// its counters) keeps nothing of them: each reading is as fresh.
	dirty := []vtistat.Link{links[1], links[0], {Index: 9, Name: "dummy0", Kind: "dummy"}}
	buf = AppendLinksFromVTIStat(buf[:0], dirty)
	buf = AppendLinksFromVTIStat(buf[:0], []vtistat.Link{links[0], links[1], {Name: "x", StatsSource: vtistat.Stats64Bit}})
	buf = AppendLinksFromVTIStat(buf[:0], links)
	if !reflect.DeepEqual(buf, LinksFromVTIStat(links)) {
		t.Fatalf("reused storage kept old values:\n got %+v\nwant %+v", buf, LinksFromVTIStat(links))
	}
	buf = AppendLinksFromVTIStat(buf[:0], dirty)
	if !reflect.DeepEqual(buf, LinksFromVTIStat(dirty)) {
		t.Fatalf("reused storage kept old values:\n got %+v\nwant %+v", buf, LinksFromVTIStat(dirty))
	}
}
