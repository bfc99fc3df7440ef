package explain

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Two peers send to vti0's namespace; only one SA's own integrity counter
// moved: the rx-integrity-failed finding names that SA and its peer, and
// the count stays what the link and MIB counters say.
func TestAnnotateNamesTheSA(t *testing.T) {
	other := netip.MustParseAddr("203.0.113.7")
	mk := func(spi uint32, src netip.Addr, integrity uint32) SA {
		return SA{Src: src, Dst: tLocal, SPI: spi, Proto: 50, Mode: ModeTunnel, Mark: &Mark{0x10, 0xffffffff},
			Usage: Usage{Added: t0.Add(-time.Hour)}, Errors: SAErrors{IntegrityFailed: integrity}}
	}
	before, after := pair("6.1.0-31-cloud-amd64",
		[]LinkReading{link("vti0", KindVTI, 5, Stats64{RxErrors: 4, RxDropped: 4})},
		mib(), mib("XfrmInStateProtoError", 4))
	before.SAs = []SA{mk(0x1001, tRemote, 10), mk(0x2001, other, 0)}
	after.SAs = []SA{mk(0x1001, tRemote, 14), mk(0x2001, other, 0)}
	rep := Explain(before, after)
	f := find(rep, "vti0", "rx-integrity-failed")
	if f == nil {
		t.Fatalf("no rx-integrity-failed on vti0:\n%s", rep)
	}
	var named []Evidence
	for _, e := range f.Evidence {
		if e.Source == SourceSA {
			named = append(named, e)
		}
	}
	if len(named) != 1 || named[0].SA.SPI != 0x1001 || named[0].SA.Src != tRemote || named[0].Delta != 4 || named[0].Counter != "integrity_failed" {
		t.Errorf("per-SA evidence %+v", named)
	}
	if !strings.Contains(f.Explanation, "peer 198.51.100.2") || strings.Contains(f.Explanation, "203.0.113.7") {
		t.Errorf("explanation does not name only the peer: %s", f.Explanation)
	}
	if f.Count != 4 {
		t.Errorf("count %d, want 4 (unchanged)", f.Count)
	}
	if !strings.Contains(rep.String(), "integrity_failed +4 (xfrm_sa esp spi 0x00001001 198.51.100.2 > 192.0.2.1)") {
		t.Errorf("Format does not show the SA:\n%s", rep)
	}
}

// The outbound SA was deleted in the interval: the tx-no-sa finding cites
// the delete event; another tunnel's event is not cited; Report.Events
// lists every event and survives a JSON round trip.
func TestAnnotateCitesEvents(t *testing.T) {
	before, after := pair("6.1.0-31-cloud-amd64",
		[]LinkReading{link("vti0", KindVTI, 5, Stats64{TxCarrierErrors: 3, TxErrors: 3})},
		mib(), mib("XfrmOutNoStates", 3))
	pol := dualStack(outPolicy(0x10, tunnelTmpl(tLocal, tRemote)))
	before.Policies, after.Policies = pol, pol
	before.SAs = []SA{{Src: tLocal, Dst: tRemote, SPI: 0x1001, Proto: 50, Mode: ModeTunnel, Mark: &Mark{0x10, 0xffffffff}}}
	after.SAs = []SA{}
	mark := &Mark{0x10, 0xffffffff}
	after.Events = []Event{
		{Time: t0.Add(2 * time.Second), Type: EventSADeleted, SA: SARef{SPI: 0x1001, Proto: 50, Src: tLocal, Dst: tRemote, Mark: mark},
			Usage: &Usage{Bytes: 100, Packets: 1}},
		{Time: t0.Add(3 * time.Second), Type: EventSADeleted, SA: SARef{SPI: 0x3001, Proto: 50, Src: tLocal, Dst: netip.MustParseAddr("203.0.113.7")}},
		{Time: t0.Add(4 * time.Second), Type: EventPolicyAdded, Policy: &PolicyRef{Index: 9, Dir: DirOut}},
	}
	rep := Explain(before, after)
	f := find(rep, "vti0", "tx-no-sa")
	if f == nil {
		t.Fatalf("no tx-no-sa on vti0:\n%s", rep)
	}
	var cited []Evidence
	for _, e := range f.Evidence {
		if e.Source == SourceEvent {
			cited = append(cited, e)
		}
	}
	if len(cited) != 1 || cited[0].Counter != "sa-deleted" || cited[0].SA.SPI != 0x1001 || cited[0].Delta != 1 {
		t.Errorf("cited events %+v", cited)
	}
	if len(rep.Events) != 3 {
		t.Errorf("report lists %d events, want 3", len(rep.Events))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(back.Events) != 3 || back.Events[0].Type != EventSADeleted || back.Events[0].SA.Mark == nil || back.Events[2].Policy.Dir != DirOut {
		t.Errorf("events after a JSON round trip: %+v", back.Events)
	}
	if !strings.Contains(string(b), `"type":"sa-deleted"`) || !strings.Contains(rep.String(), "event: ") {
		t.Errorf("event type not named in JSON or text:\n%s\n%s", b, rep)
	}
	var tally Tally
	tally.Add(rep)
	if tally.XfrmEvents[EventSADeleted] != 2 || tally.XfrmEvents[EventPolicyAdded] != 1 {
		t.Errorf("tally of events %v", tally.XfrmEvents)
	}
}

// One line per event: its time, type and SA, or the policy.
func TestEventLines(t *testing.T) {
	at := time.Date(2026, 12, 2, 16, 3, 12, 0, time.Local)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	sa := SARef{SPI: 0x1001, Proto: 50, Src: a, Dst: b, ReqID: 4}
	rep := Report{Events: []Event{
		{Time: at, Type: EventHardExpire, SA: sa, Usage: &Usage{Bytes: 1}},
		{Time: at, Type: EventPolicyAdded, Policy: &PolicyRef{Index: 9, Dir: DirOut}},
		{Time: at, Type: EventPolicyExpire, Hard: true, Policy: &PolicyRef{Index: 10, Dir: DirIn}},
		{Time: at, Type: EventMapping, SA: sa, Addr: netip.MustParseAddrPort("203.0.113.5:31000")},
		{Time: at, Type: EventsLost},
	}}
	want := "No tunnel or IPsec error counter moved.\n" +
		"event: 16:03:12 sa-hard-expire esp spi 0x00001001 10.0.0.1 > 10.0.0.2 after 1 bytes, 0 packets\n" +
		"event: 16:03:12 policy-added policy dir out index 9\n" +
		"event: 16:03:12 policy-expire policy dir in index 10 hard\n" +
		"event: 16:03:12 nat-mapping esp spi 0x00001001 10.0.0.1 > 10.0.0.2 now from 203.0.113.5:31000\n" +
		"event: 16:03:12 events-lost\n"
	if got := rep.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
