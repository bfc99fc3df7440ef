package explain

import (
	"encoding/json"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// procLink builds a /proc/net/dev link (no kind, no parameters).
func procLink(name string, d procnet.DevStats) LinkReading {
	d.Name = name
	d.RxPackets += 1_000_000
	d.TxPackets += 900_000
	return LinkReading{Name: name, Source: SourceProcNetDev, Dev: &d}
}

// Honesty rule 1: /proc/net/dev's carrier column is carrier + aborted +
// window + heartbeat, so a lookup failure and an output failure are
// candidates of each other, and the finding says netlink tells them apart.
func TestCarrierColumnIsASum(t *testing.T) {
	r := &Reading{KernelRelease: "6.1.0-31-cloud-amd64", Links: []LinkReading{
		procLink("vti0", procnet.DevStats{TxErrors: 12, TxCarrierSum: 12}),
	}}
	rep := Explain(nil, r)
	got := causesOn(rep, "vti0", true)
	for _, id := range []CauseID{"tx-no-sa", "tx-no-policy", "tx-sa-mismatch", "tx-output-error", "tx-sa-expired", "tx-netfilter-drop"} {
		if !slices.Contains(got, id) {
			t.Errorf("carrier column: %s missing from candidates %v", id, got)
		}
	}
	f := mustFind(t, rep, want{"vti0", "tx-output-error", 12, Candidate})
	if !slices.Contains(f.Candidates, "tx-no-sa") {
		t.Errorf("tx-output-error's candidates lack tx-no-sa: %v", f.Candidates)
	}
	for _, s := range []string{"tx_carrier_errors", "tx_aborted_errors", "Netlink stats64", "ip -s -s link show dev vti0"} {
		if !strings.Contains(f.Explanation, s) {
			t.Errorf("explanation lacks %q:\n%s", s, f.Explanation)
		}
	}
	if e := f.Evidence[0]; e.Counter != "carrier" || e.Source != SourceProcNetDev || len(e.SumOf) != 4 {
		t.Errorf("evidence[0] = %+v, want the carrier column as a sum of 4", e)
	}
	if f.Checks[0].Command != "ip -s -s link show dev vti0" {
		t.Errorf("first check = %q, want the stats64 split", f.Checks[0].Command)
	}

	// The same events read over netlink are apart: carrier only → no
	// output-failure candidate.
	r2 := &Reading{KernelRelease: "6.1.0-31-cloud-amd64", Links: []LinkReading{
		link("vti0", KindVTI, 5, Stats64{TxErrors: 12, TxCarrierErrors: 12}),
	}}
	rep2 := Explain(nil, r2)
	got2 := causesOn(rep2, "vti0", true)
	if slices.Contains(got2, "tx-output-error") || !slices.Contains(got2, "tx-no-sa") {
		t.Errorf("stats64 carrier: got %v, want lookup causes only", got2)
	}
}

// The frame column sums four RX fields: checksum, length and ECN errors are
// candidates of each other from /proc/net/dev.
func TestFrameColumnIsASum(t *testing.T) {
	r := &Reading{KernelRelease: "6.1.0-31-cloud-amd64", Links: []LinkReading{
		procLink("gre1", procnet.DevStats{RxErrors: 4, RxFrameSum: 4}),
	}}
	rep := Explain(nil, r)
	if got := causesOn(rep, "gre1", true); !slices.Equal(got, ids("rx-checksum", "rx-ecn", "rx-length")) {
		t.Fatalf("frame column candidates = %v\n%s", got, rep.String())
	}
}

// Honesty rule 2: the MIB is per namespace. With several tunnels the MIB
// bounds each one; nothing is exact.
func TestMIBIsPerNamespace(t *testing.T) {
	t.Run("MIB smaller than the links' total", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 10, TxCarrierErrors: 10}),
			link("vti1", KindVTI, 6, Stats64{TxErrors: 5, TxCarrierErrors: 5}),
		}, mib(), mib("XfrmOutNoStates", 12))
		rep := Explain(before, after)
		mustFind(t, rep, want{"vti0", "tx-no-sa", 10, AtMost})
		mustFind(t, rep, want{"vti1", "tx-no-sa", 5, AtMost})
		mustFind(t, rep, want{"", "tx-no-sa", 12, Exact})
		for _, f := range rep.Findings {
			if f.Interface != "" && f.Certainty == Exact && !strings.HasPrefix(string(f.Cause), "kernel-") {
				t.Errorf("exact finding with a shared MIB: %s on %s", f.Cause, f.Interface)
			}
		}
		f := find(rep, "vti0", "tx-no-sa")
		if !strings.Contains(f.Explanation, "2 tunnels") {
			t.Errorf("explanation does not say the MIB is shared:\n%s", f.Explanation)
		}
	})
	t.Run("MIB equal to the links' total is still shared", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 10, TxCarrierErrors: 10}),
			link("vti1", KindVTI, 6, Stats64{TxErrors: 5, TxCarrierErrors: 5}),
		}, mib(), mib("XfrmOutNoStates", 15))
		rep := Explain(before, after)
		mustFind(t, rep, want{"vti0", "tx-no-sa", 10, AtMost})
		mustFind(t, rep, want{"vti1", "tx-no-sa", 5, AtMost})
	})
	t.Run("one tunnel, MIB smaller: at least the rest needs no MIB", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 10, TxCarrierErrors: 10}),
		}, mib(), mib("XfrmOutNoStates", 4))
		after.Policies = dualStack(outPolicy(0x10, tunnelTmpl(tLocal, netip.MustParseAddr("203.0.113.9"))))
		rep := Explain(before, after)
		// The MIB's 4 are vti0's (no other tunnel draws on it); the other 6
		// are one of the two causes the policy list leaves that the MIB
		// does not count.
		mustFind(t, rep, want{"vti0", "tx-no-sa", 4, Exact})
		mustFind(t, rep, want{"vti0", "tx-sa-mismatch", 6, Candidate})
		mustFind(t, rep, want{"vti0", "tx-no-route", 6, Candidate})
	})
	t.Run("cross-namespace tunnel does not use this MIB", func(t *testing.T) {
		l := link("vti0", KindVTI, 5, Stats64{TxErrors: 10, TxCarrierErrors: 10})
		l.CrossNetns = true
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{l}, mib(), mib())
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"vti0", "tx-no-sa", 10, Candidate})
		if !strings.Contains(f.Explanation, "another network namespace") {
			t.Errorf("explanation does not mention the other namespace:\n%s", f.Explanation)
		}
	})
}

// Honesty rule 3: identical signatures stay candidates until the policies
// and SAs settle them.
func TestIdenticalSignaturesResolvedByPolicies(t *testing.T) {
	links := []LinkReading{link("vti0", KindVTI, 5, Stats64{TxErrors: 9, TxCarrierErrors: 9})}
	t.Run("counters alone", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", links, mib(), mib())
		rep := Explain(before, after)
		want := ids("tx-no-route", "tx-no-policy", "tx-policy-default-block", "tx-sa-mismatch")
		if got := causesOn(rep, "vti0", true); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		f := find(rep, "vti0", "tx-no-policy")
		if f.Certainty != Candidate || f.Count != 9 || len(f.Candidates) != 3 {
			t.Fatalf("tx-no-policy = %+v", f)
		}
		if !strings.Contains(f.Explanation, "policy list") {
			t.Errorf("explanation does not say what settles it:\n%s", f.Explanation)
		}
	})
	t.Run("old kernel has no default policies", func(t *testing.T) {
		before, after := pair("4.19.0-27-amd64", links, mib(), mib())
		rep := Explain(before, after)
		if got := causesOn(rep, "vti0", true); slices.Contains(got, "tx-policy-default-block") {
			t.Fatalf("4.19 cannot produce tx-policy-default-block: %v", got)
		}
	})
	t.Run("5.10 may have them (5.10.118 on)", func(t *testing.T) {
		before, after := pair("5.10.0-33-amd64", links, mib(), mib())
		rep := Explain(before, after)
		if got := causesOn(rep, "vti0", true); !slices.Contains(got, "tx-policy-default-block") {
			t.Fatalf("5.10.118 and later can produce tx-policy-default-block: %v", got)
		}
		mustFind(t, rep, want{"vti0", "kernel-version-dependent", 9, AtMost})
	})
	t.Run("no policy with the mark", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", links, mib(), mib())
		after.Policies = []Policy{outPolicy(0x99, tunnelTmpl(tLocal, tRemote))}
		rep := Explain(before, after)
		if got := causesOn(rep, "vti0", true); !slices.Equal(got, ids("tx-no-policy", "tx-no-route", "tx-policy-default-block")) {
			t.Fatalf("got %v", got)
		}
		after.OutboundDefaultBlock = boolp(false)
		mustFind(t, Explain(before, after), want{"vti0", "tx-no-policy", 9, Candidate})
	})
	t.Run("mark matches under a mask", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", links, mib(), mib())
		p := outPolicy(0, tunnelTmpl(tLocal, netip.MustParseAddr("203.0.113.9")))
		p.Mark = &Mark{Value: 0x10, Mask: 0xf0}
		after.Policies = dualStack(p)
		mustFind(t, Explain(before, after), want{"vti0", "tx-sa-mismatch", 9, Candidate})
	})
	t.Run("template endpoints differ", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", links, mib(), mib())
		after.Policies = dualStack(outPolicy(0x10, tunnelTmpl(netip.MustParseAddr("192.0.2.77"), tRemote)))
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"vti0", "tx-sa-mismatch", 9, Candidate})
		if !strings.Contains(f.Explanation, "template src 192.0.2.77, tunnel local 192.0.2.1") {
			t.Errorf("explanation lacks the mismatch:\n%s", f.Explanation)
		}
	})
	t.Run("policy fine, MIB says no SA", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", links, mib(), mib("XfrmOutNoStates", 9))
		after.Policies = dualStack(outPolicy(0x10, tunnelTmpl(tLocal, tRemote)))
		after.SAs = []SA{}
		mustFind(t, Explain(before, after), want{"vti0", "tx-no-sa", 9, Exact})
	})
}

// Honesty rule 4: counters that go backwards are a finding, never a
// negative or huge count.
func TestCounterReset(t *testing.T) {
	t.Run("same index, smaller counters", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 3, TxCarrierErrors: 3}),
		}, mib(), mib())
		before.Links[1].Stats.TxErrors = 1000
		before.Links[1].Stats.TxCarrierErrors = 1000
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"vti0", "counter-reset", 1, Exact})
		if len(f.Evidence) != 2 || *f.Evidence[0].Before != 1000 || *f.Evidence[0].After != 3 {
			t.Fatalf("evidence = %+v", f.Evidence)
		}
		if len(findingsOf(rep, "vti0")) != 1 {
			t.Fatalf("a reset link must not be explained further:\n%s", rep.String())
		}
	})
	t.Run("recreated interface: counts since creation", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 9, Stats64{TxErrors: 3, Collisions: 3}),
		}, mib(), mib())
		before.Links[1].Index = 5
		before.Links[1].Stats.TxErrors = 500
		rep := Explain(before, after)
		mustFind(t, rep, want{"vti0", "counter-reset", 1, Exact})
		f := mustFind(t, rep, want{"vti0", "tx-routing-loop", 3, Exact})
		if !strings.Contains(f.Explanation, "since it was recreated (index 5 → 9)") {
			t.Errorf("explanation:\n%s", f.Explanation)
		}
	})
	t.Run("32-bit wrap", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 5, TxCarrierErrors: 5}),
		}, mib(), mib())
		before.Links[1].Source, after.Links[1].Source = SourceStats32, SourceStats32
		before.Links[1].Stats.TxErrors = math.MaxUint32 - 2
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"vti0", "counter-reset", 1, Exact})
		if !strings.Contains(f.Explanation, "32-bit") {
			t.Errorf("explanation:\n%s", f.Explanation)
		}
	})
	t.Run("MIB went backwards", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 5, TxCarrierErrors: 5}),
		}, mib("XfrmOutNoStates", 900), mib("XfrmOutNoStates", 5))
		rep := Explain(before, after)
		mustFind(t, rep, want{"", "counter-reset", 1, Exact})
		// The MIB is not used: the link's causes stay candidates.
		mustFind(t, rep, want{"vti0", "tx-no-sa", 5, Candidate})
		if find(rep, "", "tx-no-sa") != nil {
			t.Error("namespace-wide finding from a MIB that went backwards")
		}
	})
}

// Kernel quirks are findings too.
func TestKernelQuirks(t *testing.T) {
	t.Run("crypto backlog drops counted as sent", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{}),
		}, mib(), mib("XfrmOutStateProtoError", 1375))
		after.Links[1].Stats.TxPackets += 1375
		after.Links[1].Stats.TxBytes += 1375
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"", "kernel-drops-counted-as-sent", 1375, AtMost})
		if !strings.Contains(f.Explanation, "vti0") || !strings.Contains(f.Explanation, "count such a drop as a sent packet") {
			t.Errorf("explanation:\n%s", f.Explanation)
		}
		mustFind(t, rep, want{"", "tx-crypto-backlog", 1375, Exact})
	})
	t.Run("some counted as aborted", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("vti0", KindVTI, 5, Stats64{TxErrors: 5, TxAbortedErrors: 5}),
		}, mib(), mib("XfrmOutStateProtoError", 30))
		rep := Explain(before, after)
		// The 5 aborted errors need not be crypto drops (any output
		// failure counts so): up to all 30 may have been counted as sent.
		mustFind(t, rep, want{"", "kernel-drops-counted-as-sent", 30, AtMost})
		mustFind(t, rep, want{"vti0", "tx-crypto-backlog", 5, AtMost})
	})
	t.Run("no quirk without a VTI", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("ipsec0", KindXfrm, 5, Stats64{TxErrors: 30, TxAbortedErrors: 30}),
		}, mib(), mib("XfrmOutStateProtoError", 30))
		rep := Explain(before, after)
		if find(rep, "", "kernel-drops-counted-as-sent") != nil {
			t.Error("quirk reported for an xfrm interface, which counts the drop")
		}
	})
	t.Run("dead counters", func(t *testing.T) {
		before, after := pair("6.1.0-31-cloud-amd64", nil, mib(), mib("XfrmOutPolDead", 2, "XfrmOutBundleCheckError", 1))
		rep := Explain(before, after)
		if n := len(causesOn(rep, "", false)); n != 2 {
			t.Fatalf("want 2 dead-counter findings:\n%s", rep.String())
		}
		var counts []uint64
		for _, f := range findingsOf(rep, "") {
			counts = append(counts, f.Count)
			if f.Cause != "kernel-dead-counter" || f.Certainty != Exact {
				t.Errorf("unexpected %s %s", f.Cause, f.Certainty)
			}
		}
		if !slices.Equal(counts, []uint64{1, 2}) {
			t.Errorf("counts = %v, want [1 2] (BundleCheckError, PolDead)", counts)
		}
	})
	t.Run("version dependent: unknown kernel", func(t *testing.T) {
		before, after := pair("", []LinkReading{link("vti0", KindVTI, 5, Stats64{TxErrors: 31})}, mib(), mib())
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"vti0", "kernel-version-dependent", 31, AtMost})
		if !strings.Contains(f.Explanation, "5.12") || !strings.Contains(f.Explanation, "unknown") {
			t.Errorf("explanation:\n%s", f.Explanation)
		}
	})
	t.Run("version dependent: 5.10 may or may not have the DF fix", func(t *testing.T) {
		before, after := pair("5.10.0-33-amd64", []LinkReading{link("vti0", KindVTI, 5, Stats64{TxErrors: 31})}, mib(), mib())
		mustFind(t, Explain(before, after), want{"vti0", "kernel-version-dependent", 31, AtMost})
	})
	t.Run("version known and past every change", func(t *testing.T) {
		before, after := pair("6.12.12+deb13-cloud-amd64", []LinkReading{link("vti0", KindVTI, 5, Stats64{TxErrors: 31})}, mib(), mib())
		if f := find(Explain(before, after), "vti0", "kernel-version-dependent"); f != nil {
			t.Errorf("unexpected %+v", f)
		}
	})
}

func TestUnexplainedCounter(t *testing.T) {
	before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
		link("vti0", KindVTI, 5, Stats64{RxCRCErrors: 2, RxErrors: 2, RxDropped: 2}),
		link("gre1", KindGRE, 6, Stats64{TxWindowErrors: 1}),
	}, mib(), mib("XfrmInNoStates", 2))
	rep := Explain(before, after)
	mustFind(t, rep, want{"vti0", "unexplained-counter", 2, Exact})
	mustFind(t, rep, want{"gre1", "unexplained-counter", 1, Exact})
	mustFind(t, rep, want{"vti0", "rx-no-sa", 2, Exact})
}

func TestNotesAndKinds(t *testing.T) {
	before := &Reading{Links: []LinkReading{procLink("vti0", procnet.DevStats{}), procLink("old0", procnet.DevStats{})}}
	after := &Reading{Links: []LinkReading{
		procLink("vti0", procnet.DevStats{TxErrors: 2, Collisions: 2}),
		procLink("eth0", procnet.DevStats{RxDropSum: 10}),
		procLink("tun7", procnet.DevStats{TxErrors: 1}),
	}}
	rep := Explain(before, after)
	f := mustFind(t, rep, want{"vti0", "tx-routing-loop", 2, Exact})
	if !strings.Contains(f.Explanation, `"vti" is assumed from its name`) {
		t.Errorf("kind inference not stated:\n%s", f.Explanation)
	}
	notes := strings.Join(rep.Notes, "\n")
	for _, s := range []string{"old0 is in the earlier reading only", "eth0 is not a tunnel", "tun7 is not a tunnel"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
}

func TestChecksFilled(t *testing.T) {
	before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
		link("vti0", KindVTI, 5, Stats64{TxErrors: 4, TxCarrierErrors: 4}),
	}, mib(), mib("XfrmOutNoStates", 4))
	after.SAs = []SA{
		{Src: tLocal, Dst: tRemote, SPI: 0xc1a2b3d4, Proto: 50, Mode: ModeTunnel, Mark: &Mark{Value: 0x10, Mask: 0xffffffff}},
	}
	rep := Explain(before, after)
	f := mustFind(t, rep, want{"vti0", "tx-no-sa", 4, Exact})
	var cmds []string
	for _, c := range f.Checks {
		cmds = append(cmds, c.Command)
		if len(c.Placeholders) != 0 {
			t.Errorf("check %q has placeholders %v", c.Command, c.Placeholders)
		}
	}
	all := strings.Join(cmds, "\n")
	for _, s := range []string{
		"ip -s -s link show dev vti0",
		"ip -s xfrm state list src 192.0.2.1 dst 198.51.100.2",
		"ip xfrm policy get dir out src 0.0.0.0/0 dst 0.0.0.0/0 mark 0x10",
	} {
		if !strings.Contains(all, s) {
			t.Errorf("checks lack %q:\n%s", s, all)
		}
	}
	// The SPI fills the state get of a cause that uses it.
	e := newEngine(nil, after)
	v := e.values(&after.Links[1])
	if c := v.fill(chkStateOutGet); c.Command != "ip xfrm state get src 192.0.2.1 dst 198.51.100.2 proto esp spi 0xc1a2b3d4 mark 0x10" {
		t.Errorf("state get = %q", c.Command)
	}
	if v.underlay != "eth0" {
		t.Errorf("underlay = %q, want eth0 (tunnel link 2)", v.underlay)
	}
}

func TestJSON(t *testing.T) {
	before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
		link("vti0", KindVTI, 5, Stats64{TxErrors: 4, TxCarrierErrors: 4}),
	}, mib(), mib("XfrmOutNoStates", 4))
	rep := Explain(before, after)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Kernel   string           `json:"kernel"`
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Kernel != "6.1.0" {
		t.Errorf("kernel = %q", raw.Kernel)
	}
	for _, k := range []string{"interface", "cause", "count", "certainty", "evidence", "checks", "title", "explanation", "kernel_refs", "kernels"} {
		if _, ok := raw.Findings[0][k]; !ok {
			t.Errorf("finding JSON lacks %q: %s", k, b)
		}
	}
	if raw.Findings[0]["certainty"] != "exact" || raw.Findings[0]["cause"] != "tx-no-sa" {
		t.Errorf("finding JSON = %v", raw.Findings[0])
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Findings[0].Certainty != Exact || back.Kernel != rep.Kernel || back.Findings[0].Count != 4 {
		t.Errorf("round trip: %+v", back.Findings[0])
	}
	empty, _ := json.Marshal(Explain(before, before))
	if !strings.Contains(string(empty), `"findings":[]`) {
		t.Errorf("empty report JSON = %s", empty)
	}
}

// The seed: a VyOS /proc/net/dev capture, explained since boot.
func TestSeedVyOS(t *testing.T) {
	f, err := os.Open("testdata/vyos-seed003-proc-net-dev.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devs, err := procnet.ParseNetDev(f)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reading{Links: LinksFromProcNetDev(devs)}
	rep := Explain(nil, r)
	t.Log("\n" + rep.String())
	checkJSONRoundTrip(t, rep)

	lookup := []CauseID{"tx-no-route", "tx-no-policy", "tx-policy-default-block", "tx-sa-mismatch", "tx-no-sa",
		"tx-underlay-unreachable", "tx-policy-block", "tx-policy-error", "tx-sa-dir-error"}
	output := []CauseID{"tx-sa-expired", "tx-seq-overflow", "tx-sa-invalid", "tx-mode-error", "tx-output-error",
		"tx-crypto-backlog", "tx-queue-full", "tx-netfilter-drop"}
	for _, tc := range []struct {
		dev string
		n   uint64
	}{{"vti0", 59}, {"vti1", 280}} {
		got := causesOn(rep, tc.dev, true)
		all := slices.Sorted(slices.Values(append(slices.Clone(lookup), output...)))
		if !slices.Equal(got, all) {
			t.Errorf("%s: candidates\n got %v\nwant %v", tc.dev, got, all)
		}
		for _, fd := range findingsOf(rep, tc.dev) {
			if strings.HasPrefix(string(fd.Cause), "kernel-") {
				continue
			}
			if fd.Count != tc.n || fd.Certainty != Candidate || len(fd.Candidates) != len(all)-1 {
				t.Errorf("%s %s: %d %s with %d candidates", tc.dev, fd.Cause, fd.Count, fd.Certainty, len(fd.Candidates))
			}
			if fd.Evidence[0].Counter != "carrier" || fd.Evidence[0].Delta != tc.n || fd.Evidence[1].Counter != "errs" || fd.Evidence[1].Delta != tc.n {
				t.Errorf("%s evidence = %+v", tc.dev, fd.Evidence)
			}
			if !strings.Contains(fd.Explanation, "so none was a routing loop, an oversize packet or an unsupported protocol") {
				t.Errorf("%s: explanation does not use errs = carrier:\n%s", tc.dev, fd.Explanation)
			}
		}
		// The version is unknown: say so.
		mustFind(t, rep, want{tc.dev, "kernel-version-dependent", tc.n, AtMost})
		// The checks that tell the candidates apart, with placeholders.
		fd := find(rep, tc.dev, "tx-no-policy")
		var cmds []string
		for _, c := range fd.Checks {
			cmds = append(cmds, c.Command)
		}
		joined := strings.Join(cmds, "\n")
		for _, s := range []string{"ip -s -s link show dev " + tc.dev, "ip xfrm policy get dir out src <any> dst <any> mark <okey>"} {
			if !strings.Contains(joined, s) {
				t.Errorf("%s checks lack %q:\n%s", tc.dev, s, joined)
			}
		}
		if fd := find(rep, tc.dev, "tx-underlay-unreachable"); !slices.ContainsFunc(fd.Checks, func(c Check) bool {
			return c.Command == "ip route get <remote>" && slices.Contains(c.Placeholders, "remote")
		}) {
			t.Errorf("%s: no ip route get <remote> check", tc.dev)
		}
	}
	if len(findingsOf(rep, "ip_vti0")) != 0 || len(findingsOf(rep, "eth0")) != 0 || len(findingsOf(rep, "lo")) != 0 {
		t.Errorf("findings on quiet or non-tunnel links:\n%s", rep.String())
	}

	// With the tunnel's kind and parameters known (ip -d link), the checks
	// carry the real values.
	r.Links[0].Kind = KindVTI
	r.Links[0].Tunnel = &Tunnel{Local: tLocal, Remote: tRemote, IKey: 0x900001, OKey: 0x900001}
	rep = Explain(nil, r)
	fd := find(rep, "vti0", "tx-no-policy")
	if !slices.ContainsFunc(fd.Checks, func(c Check) bool {
		return c.Command == "ip xfrm policy get dir out src 0.0.0.0/0 dst 0.0.0.0/0 mark 0x900001"
	}) {
		t.Errorf("filled checks: %+v", fd.Checks)
	}
	if strings.Contains(fd.Explanation, "assumed from its name") {
		t.Error("kind given but still inferred")
	}
}

// A policy rules a cause out only for the traffic its selector covers: an
// xfrm interface whose only policy is IPv4 also sends IPv6 (link-local
// traffic at least), and an IPv6 packet matches no policy. The issue's
// case: 3 IPv4 packets without an SA and 1 IPv6 packet.
func TestPolicyCoversItsFamilyOnly(t *testing.T) {
	xi := link("xi9", KindXfrm, 9, Stats64{TxErrors: 4, TxCarrierErrors: 4, TxDropped: 4})
	before, after := pair("6.12.107+deb13-cloud-amd64", []LinkReading{xi}, mib(), mib("XfrmOutNoStates", 3))
	p := outPolicy(0, tunnelTmpl(tLocal, tRemote))
	p.Mark, p.IfID = nil, 7
	after.Policies = []Policy{p}
	after.SAs = []SA{}
	rep := Explain(before, after)
	for _, f := range rep.Findings {
		if f.Interface == "xi9" && f.Cause == "tx-no-sa" && (f.Certainty == Exact || f.Certainty == AtLeast) && f.Count > 3 {
			t.Errorf("claims %d %s tx-no-sa:\n%s", f.Count, f.Certainty, rep.String())
		}
	}
	// The MIB's 3 are xi9's tx-no-sa; the fourth event is one of the
	// causes the MIB does not count, tx-no-policy among them.
	mustFind(t, rep, want{"xi9", "tx-no-sa", 3, Exact})
	mustFind(t, rep, want{"xi9", "tx-no-policy", 1, Candidate})
	mustFind(t, rep, want{"", "tx-no-sa", 3, Exact})
	// With another xfrm interface failing beside it the MIB is shared: a
	// bound only.
	xj := link("xi10", KindXfrm, 10, Stats64{TxErrors: 2, TxCarrierErrors: 2, TxDropped: 2})
	b2, a2 := pair("6.12.107+deb13-cloud-amd64", []LinkReading{xi, xj}, mib(), mib("XfrmOutNoStates", 3))
	a2.Policies, a2.SAs = after.Policies, after.SAs
	rep2 := Explain(b2, a2)
	mustFind(t, rep2, want{"xi9", "tx-no-sa", 3, AtMost})
	mustFind(t, rep2, want{"xi10", "tx-no-sa", 2, AtMost})
	if !strings.Contains(rep.String(), "No outbound policy of the tunnel covers IPv6 traffic") {
		t.Errorf("the explanation does not say which family is uncovered:\n%s", rep.String())
	}

	// With the IPv6 twin installed every flow is covered: only tx-no-sa
	// and the route-less packet are left, and the MIB's 3 bound tx-no-sa.
	after.Policies = dualStack(p)
	rep = Explain(before, after)
	for _, f := range rep.Findings {
		if f.Interface == "xi9" && f.Cause == "tx-no-policy" {
			t.Errorf("tx-no-policy with both families covered:\n%s", rep.String())
		}
	}
}

// Equal totals prove nothing when another tunnel of the namespace may have
// moved the MIB counter without a link counter showing it: GRE over IPsec
// counts a packet without an SA as sent (blackhole route).
func TestSilentTunnelSharesTheMIB(t *testing.T) {
	vti := link("vti0", KindVTI, 5, Stats64{TxErrors: 5, TxCarrierErrors: 5})
	gre := link("gre1", KindGRE, 6, Stats64{})
	before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{vti, gre}, mib(), mib("XfrmOutNoStates", 5))
	// Without traffic on gre1 the tie stands.
	mustFind(t, Explain(before, after), want{"vti0", "tx-no-sa", 5, Exact})
	after.Links[2].Stats.TxPackets += 3 // [0] is the underlay
	rep := Explain(before, after)
	for _, f := range rep.Findings {
		if f.Interface == "vti0" && f.Certainty == Exact {
			t.Errorf("exact with a GRE tunnel sending beside it:\n%s", rep.String())
		}
	}
	mustFind(t, rep, want{"vti0", "tx-no-sa", 5, AtMost})
}

// Before 5.11 an xfrm interface reports only packets, bytes and the two
// drop counters: a lookup failure shows as tx_dropped alone and an IPsec
// input failure as rx_dropped alone. They are not plain drops.
func TestXfrmStatsBefore511(t *testing.T) {
	xi := link("xfrm1", KindXfrm, 9, Stats64{TxDropped: 3, RxDropped: 2})
	for _, c := range []struct {
		release string
		mib     *procnet.XfrmStat
		want    []want
		groups  map[string][]CauseID
	}{
		{release: "5.10.0-32-cloud-amd64", mib: mib("XfrmOutNoStates", 3, "XfrmInStateProtoError", 2),
			want: []want{{"xfrm1", "tx-no-sa", 3, Exact}, {"xfrm1", "rx-integrity-failed", 2, Exact}}},
		{release: "6.1.0-31-cloud-amd64", mib: mib("XfrmOutNoStates", 3, "XfrmInStateProtoError", 2),
			want: []want{{"xfrm1", "tx-core-drop", 3, Exact}, {"xfrm1", "rx-backlog-full", 2, Exact}}},
	} {
		t.Run(c.release, func(t *testing.T) {
			before, after := pair(c.release, []LinkReading{xi}, mib(), c.mib)
			rep := Explain(before, after)
			for _, w := range c.want {
				mustFind(t, rep, w)
			}
		})
	}
	t.Run("no MIB", func(t *testing.T) {
		before, after := pair("5.10.0-32-cloud-amd64", []LinkReading{xi}, nil, nil)
		rep := Explain(before, after)
		for _, f := range rep.Findings {
			if f.Certainty == Exact || f.Certainty == AtLeast {
				t.Errorf("exact or at-least claim from drops alone on 5.10:\n%s", rep.String())
			}
		}
		if got := causesOn(rep, "xfrm1", true); !slices.Contains(got, "tx-no-sa") || !slices.Contains(got, "tx-core-drop") {
			t.Errorf("candidates %v", got)
		}
	})
	t.Run("kernel unknown", func(t *testing.T) {
		before, after := pair("", []LinkReading{xi}, nil, nil)
		rep := Explain(before, after)
		found := false
		for _, f := range rep.Findings {
			found = found || f.Cause == "kernel-version-dependent"
			if f.Certainty == Exact {
				t.Errorf("exact claim with the kernel unknown:\n%s", rep.String())
			}
		}
		if !found {
			t.Errorf("no kernel-version-dependent finding:\n%s", rep.String())
		}
	})
}

// An explanation never contradicts its own finding: a routing loop's
// collisions are every TX error of the link, and the words say so without
// ruling the routing loop out.
func TestWordsAgreeWithFinding(t *testing.T) {
	for _, kind := range []string{KindGRE, KindVTI, KindIPIP} {
		before, after := pair("6.1.0-31-cloud-amd64", []LinkReading{
			link("t1", kind, 5, Stats64{TxErrors: 5, Collisions: 5}),
		}, mib(), mib())
		rep := Explain(before, after)
		f := mustFind(t, rep, want{"t1", "tx-routing-loop", 5, Exact})
		if strings.Contains(f.Explanation, "none was a routing loop") {
			t.Errorf("%s: the routing-loop finding says none was a routing loop:\n%s", kind, f.Explanation)
		}
	}
}

// checkJSONRoundTrip: a report read back from its JSON prints and encodes
// exactly as the original (the per-counter grouping included).
func checkJSONRoundTrip(t testing.TB, rep Report) {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report JSON does not decode: %v", err)
	}
	if got, want := back.String(), rep.String(); got != want {
		t.Errorf("report read back from JSON prints differently:\n got:\n%s\nwant:\n%s", got, want)
	}
	if b2, _ := json.Marshal(back); string(b2) != string(b) {
		t.Errorf("report JSON does not survive a round trip:\n%s\n---\n%s", b, b2)
	}
}
