package monitor

import (
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
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
	sas := ExplainSAs([]xfrmstat.SA{{Src: src, Dst: dst, SPI: 0xc1, Proto: 50, Mode: xfrmstat.ModeTunnel, AEAD: &xfrmstat.Algorithm{Name: "rfc4106(gcm(aes))"},
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

// Every field of explain.SA comes from the SA dump: lifetimes in seconds
// become durations (saturating), sequence numbers are 64-bit with ESN,
// and the error counters are the SA's own.
func TestExplainSAsHealthFields(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.1")
	added, used := time.Unix(1700000000, 0).UTC(), time.Unix(1700000100, 0).UTC()
	in := []xfrmstat.SA{
		{Src: src, Dst: dst, SPI: 0x1001, Proto: 50, Mode: xfrmstat.ModeTunnel, ReqID: 5, SADir: xfrmstat.SADirOut,
			Crypt: &xfrmstat.Algorithm{Name: "cbc(aes)"}, LastUsed: used.Add(time.Minute),
			LifetimeConfig: xfrmstat.LifetimeConfig{SoftByteLimit: 1 << 30, HardByteLimit: 1 << 31, SoftPacketLimit: 1000, HardPacketLimit: math.MaxUint64,
				SoftAddExpiresSeconds: 3000, HardAddExpiresSeconds: 3600, SoftUseExpiresSeconds: 60, HardUseExpiresSeconds: math.MaxUint64},
			LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 12345, Packets: 67, AddTime: added, UseTime: used},
			Stats:           xfrmstat.Stats{ReplayWindow: 1, Replay: 2, IntegrityFailed: 3},
			Replay:          &xfrmstat.Replay{ESN: true, Seq: 7, SeqHi: 1, OSeq: 9, OSeqHi: 2, ESNFormat: true}},
		{Src: dst, Dst: src, SPI: 0x1002, Proto: 50, SADir: xfrmstat.SADirIn, Replay: &xfrmstat.Replay{Seq: 0xfffffff0, OSeq: 3, SeqHi: 5, OSeqHi: 5}}, // no algorithm: larval
		{Src: dst, Dst: src, SPI: 0x1003, Proto: 51, SADir: 7, Flags: xfrm.StateESN, Auth: &xfrmstat.Algorithm{Name: "hmac(sha256)"}},                  // no replay state
	}
	got := ExplainSAs(in)
	want := []explain.SA{
		{Src: src, Dst: dst, SPI: 0x1001, Proto: 50, Mode: explain.ModeTunnel, ReqID: 5, Dir: explain.SADirOut,
			Lifetime: explain.Lifetime{SoftBytes: 1 << 30, HardBytes: 1 << 31, SoftPackets: 1000, HardPackets: math.MaxUint64,
				SoftAdd: 3000 * time.Second, HardAdd: time.Hour, SoftUse: time.Minute, HardUse: math.MaxInt64},
			Usage:    explain.Usage{Bytes: 12345, Packets: 67, Added: added, Used: used},
			LastUsed: used.Add(time.Minute),
			Errors:   explain.SAErrors{ReplayWindow: 1, Replay: 2, IntegrityFailed: 3},
			OSeq:     2<<32 | 9, Seq: 1<<32 | 7, ESN: true, HasReplay: true},
		// Without ESN the high halves mean nothing.
		{Src: dst, Dst: src, SPI: 0x1002, Proto: 50, Dir: explain.SADirIn, OSeq: 3, Seq: 0xfffffff0, HasReplay: true, Larval: true},
		// Without replay state the sequence numbers are unknown; ESN is
		// the SA's flag.
		{Src: dst, Dst: src, SPI: 0x1003, Proto: 51, Dir: explain.SADirUnknown, ESN: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	const most = math.MaxInt64 / uint64(time.Second) // seconds a Duration holds
	for s, d := range map[uint64]time.Duration{0: 0, 1: time.Second, most: time.Duration(most) * time.Second,
		most + 1: math.MaxInt64, math.MaxUint64: math.MaxInt64} {
		if got := seconds(s); got != d {
			t.Errorf("seconds(%d) = %v, want %v", s, got, d)
		}
	}
	// A template's reqid.
	pols := ExplainPolicies([]xfrmstat.Policy{{Templates: []xfrmstat.Template{{Proto: 50, ReqID: 9}}}})
	if pols[0].Templates[0].ReqID != 9 {
		t.Errorf("template reqid: %+v", pols[0].Templates)
	}
}

// appendSAs converts into reused storage without allocating, and keeps
// nothing of what the storage held.
func TestAppendSAsReuses(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.1")
	sas := make([]xfrmstat.SA, 100)
	for i := range sas {
		sas[i] = xfrmstat.SA{Src: src, Dst: dst, SPI: uint32(i), Proto: 50, Replay: &xfrmstat.Replay{OSeq: uint32(i)}}
		if i%2 == 0 {
			sas[i].Mark = &xfrmstat.Mark{Value: uint32(i), Mask: ^uint32(0)}
		}
	}
	buf := appendSAs(nil, sas)
	if n := testing.AllocsPerRun(50, func() { buf = appendSAs(buf[:0], sas) }); n != 0 {
		t.Errorf("%v allocations per conversion into reused storage, want 0", n)
	}
	// Marks moved around, then the first list again.
	shifted := append(sas[1:len(sas):len(sas)], sas[0])
	buf = appendSAs(buf[:0], shifted)
	if !reflect.DeepEqual(buf, ExplainSAs(shifted)) {
		t.Fatal("reused storage converted differently")
	}
	buf = appendSAs(buf[:0], sas)
	if !reflect.DeepEqual(buf, ExplainSAs(sas)) {
		t.Fatal("reused storage kept old values")
	}
	if s := appendSAs(nil, nil); s != nil {
		t.Errorf("appendSAs(nil, nil) = %v", s)
	}
}

func TestExplainEvent(t *testing.T) {
	at := time.Date(2026, 12, 2, 16, 3, 12, 0, time.UTC)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	added := time.Unix(1700000000, 0).UTC()
	sa := xfrmstat.SA{Src: a, Dst: b, SPI: 0x1001, Proto: 50, ReqID: 4, IfID: 3, Mark: &xfrmstat.Mark{Value: 16, Mask: 0xff},
		LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 100, Packets: 2, AddTime: added}}
	ref := explain.SARef{SPI: 0x1001, Proto: 50, Src: a, Dst: b, ReqID: 4, IfID: 3, Mark: &explain.Mark{Value: 16, Mask: 0xff}}
	usage := &explain.Usage{Bytes: 100, Packets: 2, Added: added}
	pol := xfrmstat.Policy{Index: 9, Dir: xfrmstat.DirOut, IfID: 3, Mark: &xfrmstat.Mark{Value: 16, Mask: 0xff},
		Templates: []xfrmstat.Template{
			{Dst: netip.MustParseAddr("192.0.2.9"), Proto: 50, ReqID: 1}, // another destination
			{Proto: 51, ReqID: 2}, // another protocol
			{Dst: b, Proto: 50, ReqID: 7},
		}}
	polRef := &explain.PolicyRef{Index: 9, Dir: explain.DirOut}
	for _, tc := range []struct {
		in   xfrmstat.Event
		want explain.Event
	}{
		{&xfrmstat.EventsLost{}, explain.Event{Type: explain.EventsLost}},
		{&xfrmstat.SAExpire{SA: sa}, explain.Event{Type: explain.EventSoftExpire, SA: ref, Usage: usage}},
		{&xfrmstat.SAExpire{SA: sa, Hard: true}, explain.Event{Type: explain.EventHardExpire, SA: ref, Usage: usage}},
		{&xfrmstat.SAEvent{Op: xfrmstat.OpNew, SA: sa}, explain.Event{Type: explain.EventSAAdded, SA: ref}},
		{&xfrmstat.SAEvent{Op: xfrmstat.OpUpdate, SA: sa}, explain.Event{Type: explain.EventSAUpdated, SA: ref}},
		{&xfrmstat.SAEvent{Op: xfrmstat.OpDelete, SA: sa}, explain.Event{Type: explain.EventSADeleted, SA: ref, Usage: usage}},
		{&xfrmstat.SAFlush{Proto: 50}, explain.Event{Type: explain.EventSAFlush}},
		{&xfrmstat.PolicyEvent{Op: xfrmstat.OpNew, Policy: pol}, explain.Event{Type: explain.EventPolicyAdded, Policy: polRef}},
		{&xfrmstat.PolicyEvent{Op: xfrmstat.OpUpdate, Policy: pol}, explain.Event{Type: explain.EventPolicyUpdated, Policy: polRef}},
		{&xfrmstat.PolicyEvent{Op: xfrmstat.OpDelete, Policy: pol}, explain.Event{Type: explain.EventPolicyDeleted, Policy: polRef}},
		{&xfrmstat.PolicyExpire{Policy: pol, Hard: true}, explain.Event{Type: explain.EventPolicyExpire, Hard: true, Policy: polRef}},
		{&xfrmstat.PolicyExpire{Policy: pol}, explain.Event{Type: explain.EventPolicyExpire, Policy: polRef}},
		{&xfrmstat.PolicyFlush{}, explain.Event{Type: explain.EventPolicyFlush}},
		// The SA wanted: the reqid of the template it is for, the
		// policy's mark and if_id.
		{&xfrmstat.Acquire{Src: a, Dst: b, Proto: 50, Policy: pol, Seq: 55},
			explain.Event{Type: explain.EventAcquire, SA: explain.SARef{Proto: 50, Src: a, Dst: b, ReqID: 7, IfID: 3,
				Mark: &explain.Mark{Value: 16, Mask: 0xff}}, Policy: polRef}},
		// A transport-mode template has no destination: it is the one.
		{&xfrmstat.Acquire{Src: a, Dst: b, Proto: 51, Policy: pol},
			explain.Event{Type: explain.EventAcquire, SA: explain.SARef{Proto: 51, Src: a, Dst: b, ReqID: 2, IfID: 3,
				Mark: &explain.Mark{Value: 16, Mask: 0xff}}, Policy: polRef}},
		{&xfrmstat.Mapping{Dst: b, SPI: 0x1001, Proto: 50, ReqID: 4, OldSrc: a, NewSrc: netip.MustParseAddr("203.0.113.5"),
			OldSPort: 4500, NewSPort: 31000},
			explain.Event{Type: explain.EventMapping, SA: explain.SARef{SPI: 0x1001, Proto: 50, Src: a, Dst: b, ReqID: 4},
				Addr: netip.MustParseAddrPort("203.0.113.5:31000")}},
		{&xfrmstat.Migrate{Dir: xfrmstat.DirOut, Entries: []xfrmstat.MigrateEntry{{OldSrc: a, OldDst: b,
			NewSrc: netip.MustParseAddr("10.1.0.1"), NewDst: b, Proto: 50, ReqID: 4}}},
			explain.Event{Type: explain.EventMigrate, SA: explain.SARef{Proto: 50, Src: netip.MustParseAddr("10.1.0.1"), Dst: b, ReqID: 4},
				Policy: &explain.PolicyRef{Dir: explain.DirOut}}},
	} {
		got, ok := ExplainEvent(tc.in, at)
		tc.want.Time = at
		if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v\nwant %+v", tc.in.Message(), got, ok, tc.want)
		}
	}
	// The SA refs are the event's own: nothing points into the event.
	ev := &xfrmstat.SAEvent{Op: xfrmstat.OpDelete, SA: sa}
	got, _ := ExplainEvent(ev, at)
	ev.SA.Mark.Value = 99
	if got.SA.Mark.Value != 16 {
		t.Error("the event's SA ref shares the xfrmstat event's mark")
	}
	if got.SA.String() != "esp spi 0x00001001 10.0.0.1 > 10.0.0.2" {
		t.Errorf("SARef.String() = %q", got.SA.String())
	}
	for _, ev := range []xfrmstat.Event{&xfrmstat.AEvent{}, &xfrmstat.Report{}, &xfrmstat.UnknownEvent{Type: 99},
		&xfrmstat.SAEvent{Op: 9}, &xfrmstat.PolicyEvent{}, nil} {
		if got, ok := ExplainEvent(ev, at); ok || got != (explain.Event{}) {
			t.Errorf("%T: %+v, %v; want no event", ev, got, ok)
		}
	}
}
