package monitor

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

func vtiTunnel() *vtistat.Tunnel {
	return &vtistat.Tunnel{Local: netip.MustParseAddr("192.0.2.1"), Remote: netip.MustParseAddr("198.51.100.1"), IKey: 16, OKey: 16}
}

func TestAppendLinkReadings(t *testing.T) {
	links := []vtistat.Link{
		{Index: 5, Name: "vti0", Kind: "vti", LinkNetNSID: -1, Tunnel: vtiTunnel(), StatsSource: vtistat.Stats64Bit,
			Stats: vtistat.Stats64{TxErrors: 3, TxCarrierErrors: 2, TxAbortedErrors: 1}},
		{Index: 6, Name: "vti1", Kind: "vti", LinkNetNSID: 0, Tunnel: vtiTunnel(), StatsSource: vtistat.Stats32Bit},
		{Name: "vti2", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet,
			Dev: &procnet.DevStats{Name: "vti2", TxErrors: 7, TxCarrierSum: 7, RxDropSum: 2, RxFrameSum: 4}},
		{Index: 8, Name: "dummy0", Kind: "dummy", LinkNetNSID: -1},
		{Name: "vti3", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet}, // no line: no counters
	}
	got := AppendLinkReadings(nil, links)
	if got[0].Source != explain.SourceStats64 || got[0].Stats.TxAbortedErrors != 1 || got[0].CrossNetns || got[0].Tunnel == nil ||
		got[0].Tunnel.OKey != 16 || got[0].Tunnel.Remote != links[0].Tunnel.Remote {
		t.Errorf("stats64 link: %+v", got[0])
	}
	if got[1].Source != explain.SourceStats32 || !got[1].CrossNetns {
		t.Errorf("stats32 cross-netns link: %+v", got[1])
	}
	if got[2].Source != explain.SourceProcNetDev || got[2].Dev.TxCarrierSum != 7 || got[2].Dev.RxFrameSum != 4 || got[2].Dev.RxDropSum != 2 ||
		got[2].Stats != (explain.Stats64{}) {
		t.Errorf("procnet fallback link: %+v", got[2])
	}
	if got[3].Source != 0 || got[4].Source != 0 {
		t.Errorf("links without counters: %+v, %+v", got[3], got[4])
	}
	rep := explain.Explain(nil, &explain.Reading{KernelRelease: "6.1.0-31-cloud-amd64", Links: got[:4]})
	if len(rep.Notes) != 1 || rep.Notes[0] != "dummy0: the kernel sent no counters" {
		t.Errorf("notes = %q", rep.Notes)
	}
}

// The same readings appended after what dst holds, no allocation once dst
// is large enough (the poll-loop path), and reused storage keeps nothing
// of what it held.
func TestAppendLinkReadingsReuses(t *testing.T) {
	links := []vtistat.Link{
		{Index: 5, Name: "vti0", Kind: "vti", LinkNetNSID: -1, Tunnel: vtiTunnel(), StatsSource: vtistat.Stats64Bit,
			Stats: vtistat.Stats64{TxErrors: 3, TxCarrierErrors: 2}},
		{Name: "vti2", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet, Dev: &procnet.DevStats{Name: "vti2", TxErrors: 7, TxCarrierSum: 7}},
	}
	fresh := func(l []vtistat.Link) []explain.LinkReading { return AppendLinkReadings(nil, l) }
	first := explain.LinkReading{Name: "kept"}
	got := AppendLinkReadings([]explain.LinkReading{first}, links)
	if len(got) != 3 || got[0] != first || !reflect.DeepEqual(got[1:], fresh(links)) {
		t.Fatalf("got %+v", got)
	}
	buf := AppendLinkReadings(nil, links)
	if n := testing.AllocsPerRun(100, func() { buf = AppendLinkReadings(buf[:0], links) }); n != 0 {
		t.Errorf("%v allocations per call into a large enough slice, want 0", n)
	}
	dirty := []vtistat.Link{links[1], links[0], {Index: 9, Name: "dummy0", Kind: "dummy"}}
	buf = AppendLinkReadings(buf[:0], dirty)
	buf = AppendLinkReadings(buf[:0], []vtistat.Link{links[0], links[1], {Name: "x", StatsSource: vtistat.Stats64Bit}})
	buf = AppendLinkReadings(buf[:0], links)
	if !reflect.DeepEqual(buf, fresh(links)) {
		t.Fatalf("reused storage kept old values:\n got %+v\nwant %+v", buf, fresh(links))
	}
	buf = AppendLinkReadings(buf[:0], dirty)
	if !reflect.DeepEqual(buf, fresh(dirty)) {
		t.Fatalf("reused storage kept old values:\n got %+v\nwant %+v", buf, fresh(dirty))
	}
	// The readings own their counters: the next poll into the same vtistat
	// storage leaves them as they were.
	want := fresh(links)
	got = AppendLinkReadings(nil, links)
	links[0].Stats.TxErrors, links[1].Dev.TxErrors = 99, 99
	links[0].Tunnel.OKey = 99
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("readings changed with the links they came from:\n got %+v\nwant %+v", got, want)
	}
}

func TestExplainSAsAndPolicies(t *testing.T) {
	if ExplainSAs(nil) != nil || ExplainPolicies(nil) != nil {
		t.Error("nil (not read) became read")
	}
	if s := ExplainSAs([]xfrmstat.SA{}); s == nil || len(s) != 0 {
		t.Error("empty (read, none) became not read")
	}
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.1")
	sas := ExplainSAs([]xfrmstat.SA{{Src: src, Dst: dst, SPI: 0xc1, Proto: 50, Mode: xfrmstat.ModeTunnel,
		Mark: &xfrmstat.Mark{Value: 16, Mask: ^uint32(0)}, IfID: 3}})
	want := explain.SA{Src: src, Dst: dst, SPI: 0xc1, Proto: 50, Mode: explain.ModeTunnel, Mark: &explain.Mark{Value: 16, Mask: ^uint32(0)}, IfID: 3}
	if !reflect.DeepEqual(sas[0], want) {
		t.Errorf("SA: got %+v, want %+v", sas[0], want)
	}
	pols := ExplainPolicies([]xfrmstat.Policy{{
		Selector: xfrmstat.Selector{Src: netip.MustParsePrefix("0.0.0.0/0"), Dst: netip.MustParsePrefix("10.0.0.0/8"), Family: 2, Proto: 6,
			DstPortMask: 0xffff, IfIndex: 4},
		Dir: xfrmstat.DirOut, Action: xfrmstat.ActionBlock, Type: 1, Index: 9, IfID: 2,
		Templates: []xfrmstat.Template{{Src: src, Dst: dst, Proto: 50, Mode: xfrmstat.ModeTunnel, Optional: true}},
	}})
	wantP := explain.Policy{
		Selector: explain.Selector{Src: netip.MustParsePrefix("0.0.0.0/0"), Dst: netip.MustParsePrefix("10.0.0.0/8"), Family: 2, Proto: 6,
			DstPortMask: 0xffff, IfIndex: 4},
		Dir: explain.DirOut, Action: explain.ActionBlock, Type: 1, Index: 9, IfID: 2,
		Templates: []explain.Template{{Src: src, Dst: dst, Proto: 50, Mode: explain.ModeTunnel, Optional: true}},
	}
	if !reflect.DeepEqual(pols[0], wantP) {
		t.Errorf("policy: got %+v, want %+v", pols[0], wantP)
	}
	// The enums mean the same numbers in both packages.
	if explain.Mode(xfrmstat.ModeIPTFS) != explain.ModeIPTFS || explain.Dir(xfrmstat.DirFwd) != explain.DirFwd ||
		explain.Action(xfrmstat.ActionBlock) != explain.ActionBlock {
		t.Error("explain's XFRM enums differ from xfrmstat's")
	}
}
