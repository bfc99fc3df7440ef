package explain_test

// Soundness scenarios: situations where an explanation can claim more than
// happened (mixed causes on one xfrm interface, a renamed or re-created
// link, the xfrm interface counters of 5.10, an ip6 tunnel over IPsec with
// no SA). The VM half (vm_soundness_test.go, TestVMSoundness) builds each
// one in real kernels, sends a known number of packets and saves the two
// readings; this half says
//
//   - what the kernels counted (facts, exact counter deltas per kernel:
//     they pass against any engine and catch a kernel that changes);
//   - what any correct explanation of those readings must respect
//     (soundness: no count the traffic cannot back, the events of the
//     interval named, no events made up from a rename or a re-creation).
//
// Both are checked inside the VMs and again on this host, on the captures
// kept in testdata/vm/soundness/<kernel>/<scenario>/ (TestExplainSoundnessCaptures).

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// -vmsound.factsonly checks the kernel facts but not the reports: for
// refreshing the captures with vmtest -captures, which copies the
// artifacts of passing kernels only (see testdata/vm/README.md).
var soundFactsOnlyFlag = flag.Bool("vmsound.factsonly", false, "soundness scenarios: check kernel facts only, log the reports without checking them")

func soundFactsOnly() bool { return *soundFactsOnlyFlag }

// linkStats returns the stats64 fields in struct order
// (vtistat.StatsFieldNames()).
func linkStats(s *vtistat.Stats64) []uint64 {
	v := reflect.ValueOf(s).Elem()
	out := make([]uint64, v.NumField())
	for i := range out {
		out[i] = v.Field(i).Uint()
	}
	return out
}

// soundnessRoot is where the soundness captures are kept.
const soundnessRoot = "testdata/vm/soundness"

// Names and counts of the soundness scenarios.
const (
	xfrmiName  = "xfrm1"   // the xfrm interface
	xfrmiIfID  = 42        // its if_id, on its SAs and policies
	renamedTo  = "vti9"    // vti1's new name in vti-renamed
	ip6tnl     = "ip6tnl1" // the ip6 tunnel of ip6tnl-tx-no-sa…
	ip6greName = "ip6gre1" // the ip6 tunnel of ip6gre-tx-no-sa

	mixedV4 = 3 // xfrmi-mixed: IPv4 packets into xfrm1 (outbound SA missing)
	mixedV6 = 1 // xfrmi-mixed: IPv6 packets into xfrm1 (no IPv6 policy)

	renamedOld = 3 // vti-renamed: carrier errors vti1 had before reading 1

	recreatedOld  = 2 // vti-recreated: carrier errors of the old vti1, before reading 1
	recreatedGood = 2 // vti-recreated: packets each way through the new vti1
	recreatedNew  = 5 // vti-recreated: carrier errors of the new vti1
)

// soundSpec is one soundness scenario's expectations; the VM step of the
// same name is in vm_soundness_test.go.
type soundSpec struct {
	name string
	// since and why: the first kernel the scenario runs on, and why
	// older ones cannot.
	since, why string
	// truth is what happened in the interval, as "interface cause" → count
	// ("" interface: namespace-wide). No finding may claim more (exact or
	// at_least) of a cause on an interface than this says; a cause not
	// listed happened 0 times.
	truth map[string]uint64
	// facts checks the kernel's counters (deltas per kernel).
	facts func(t testing.TB, k explain.KernelVersion, before, after *capturedReading)
	// check returns what is wrong with one view's report beyond the truth
	// table, one message per problem.
	check func(v view, k explain.KernelVersion, rep explain.Report) []string
}

func truthKey(iface string, c explain.CauseID) string { return iface + " " + string(c) }

// Causes that describe the readings rather than events: no count of theirs
// is a claim about packets.
var accountingNotes = map[explain.CauseID]bool{
	"unexplained-counter":      true,
	"kernel-version-dependent": true,
}

// eventCause reports whether a finding's cause stands for packets (not an
// accounting finding such as counter-reset or unexplained-counter).
func eventCause(c explain.CauseID) bool {
	switch c {
	case "counter-reset", "unexplained-counter", "kernel-version-dependent", "kernel-dead-counter", "kernel-drops-counted-as-sent":
		return false
	}
	return true
}

// names reports whether a finding names cause c, as its cause or as one
// of its candidates.
func names(f explain.Finding, c explain.CauseID) bool {
	return f.Cause == c || slices.Contains(f.Candidates, c)
}

func findingSpec(f explain.Finding) string {
	where := f.Interface
	if where == "" {
		where = "(namespace)"
	}
	s := fmt.Sprintf("%s: %s=%d %s", where, f.Cause, f.Count, f.Certainty)
	if len(f.Candidates) > 0 {
		cs := make([]string, len(f.Candidates))
		for i, c := range f.Candidates {
			cs[i] = string(c)
		}
		s += " (candidates " + strings.Join(cs, ",") + ")"
	}
	return s
}

// reportSummary is one line per finding and note, for logs and failures.
func reportSummary(rep explain.Report) string {
	var b strings.Builder
	if len(rep.Findings) == 0 {
		b.WriteString("\t(no findings)\n")
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\t%s\n", findingSpec(f))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "\tnote: %s\n", n)
	}
	return b.String()
}

// checkTruth returns a problem for every exact or at_least finding that
// claims more events of its cause on its interface than happened.
func checkTruth(truth map[string]uint64, rep explain.Report) (bad []string) {
	for _, f := range rep.Findings {
		if accountingNotes[f.Cause] || (f.Certainty != explain.Exact && f.Certainty != explain.AtLeast) {
			continue
		}
		if n := truth[truthKey(f.Interface, f.Cause)]; f.Count > n {
			bad = append(bad, fmt.Sprintf("FALSE CLAIM %q: %s %d, but the test caused %d such events there", findingSpec(f), f.Certainty, f.Count, n))
		}
	}
	return bad
}

// linkByName returns a reading's netlink link of that name, or nil.
func linkByName(c *capturedReading, name string) *capturedLink {
	for i := range c.Netlink.Links {
		if c.Netlink.Links[i].Name == name {
			return &c.Netlink.Links[i]
		}
	}
	return nil
}

// moved returns every counter that changed between two readings: the
// stats64 fields of the tunnel links present in both with the same name
// and ifindex ("xfrm1 tx_carrier_errors"), and the MIB ("XfrmOutNoStates").
func moved(before, after *capturedReading) map[string]int64 {
	out := map[string]int64{}
	for _, l := range after.Netlink.Links {
		if l.Tunnel == nil {
			continue
		}
		b := linkByName(before, l.Name)
		if b == nil || b.Index != l.Index {
			continue
		}
		bv, av := linkStats(&b.Stats), linkStats(&l.Stats)
		for i, name := range vtistat.StatsFieldNames() {
			if bv[i] != av[i] {
				out[l.Name+" "+name] = int64(av[i] - bv[i])
			}
		}
	}
	if after.Netlink.MIB != nil && before.Netlink.MIB != nil {
		for name, v := range after.Netlink.MIB.All() {
			w, _ := before.Netlink.MIB.Counter(name)
			if v != w {
				out[name] = int64(v - w)
			}
		}
	}
	return out
}

func formatMoved(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %+d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// expectMoved checks that exactly the wanted counters moved, by exactly
// the wanted amounts. Byte counters ("… tx_bytes") are left out of the
// comparison unless wanted.
func expectMoved(t testing.TB, k explain.KernelVersion, before, after *capturedReading, want map[string]int64) {
	t.Helper()
	got := moved(before, after)
	for key := range got {
		if strings.HasSuffix(key, "_bytes") {
			if _, ok := want[key]; !ok {
				delete(got, key)
			}
		}
	}
	if !mapsEqual(got, want) {
		t.Errorf("KERNEL FACT changed on %s: counters moved %s, want %s", k, formatMoved(got), formatMoved(want))
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// xfrmiTxDrop is what an xfrm interface counts for n packets whose
// outbound lookup failed: 5.10 exports only tx_dropped (its stats64 copy
// of dev->stats has no tx_errors or tx_carrier_errors); 5.11 on all three.
func xfrmiTxDrop(k explain.KernelVersion, n int64) map[string]int64 {
	if k.AtLeast(5, 11) {
		return map[string]int64{xfrmiName + " tx_carrier_errors": n, xfrmiName + " tx_errors": n, xfrmiName + " tx_dropped": n}
	}
	return map[string]int64{xfrmiName + " tx_dropped": n}
}

var soundSpecs = []soundSpec{
	{
		// 1. Mixed causes on one xfrm interface: 3 IPv4 packets find the
		// IPv4 policy without its SA, 1 IPv6 packet finds no policy.
		name: "xfrmi-mixed", since: "5.11", why: "xfrm interface error counters (tx_carrier_errors, tx_errors) are not exported before 5.11",
		truth: map[string]uint64{
			truthKey(xfrmiName, "tx-no-sa"):     mixedV4,
			truthKey(xfrmiName, "tx-no-policy"): mixedV6,
			truthKey("", "tx-no-sa"):            mixedV4,
		},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			want := xfrmiTxDrop(k, mixedV4+mixedV6)
			want["XfrmOutNoStates"] = mixedV4
			expectMoved(t, k, before, after, want)
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) (bad []string) {
			named := false
			for _, f := range rep.ByInterface(xfrmiName) {
				if f.Cause == "tx-no-sa" && f.Count > mixedV4 && (f.Certainty == explain.Exact || f.Certainty == explain.AtLeast) {
					bad = append(bad, fmt.Sprintf("FALSE CLAIM %q: only %d of the %d packets %s dropped lacked an SA (%d IPv6 packet found no policy)",
						findingSpec(f), mixedV4, mixedV4+mixedV6, xfrmiName, mixedV6))
				}
				if names(f, "tx-no-policy") {
					named = true
				}
			}
			if !named {
				bad = append(bad, fmt.Sprintf("MISSING: the IPv6 packet sent into %s (no IPv6 policy with if_id %d: tx-no-policy) is named by no finding on %s, neither as cause nor as candidate",
					xfrmiName, xfrmiIfID, xfrmiName))
			}
			return bad
		},
	},
	{
		// 2. vti1 renamed vti9 (same ifindex) between the readings, no
		// traffic: nothing happened.
		name:  "vti-renamed",
		truth: map[string]uint64{},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			b, a := linkByName(before, "vti1"), linkByName(after, renamedTo)
			switch {
			case b == nil || a == nil:
				t.Errorf("KERNEL FACT: want vti1 before and %s after, got %v and %v", renamedTo, b != nil, a != nil)
			case linkByName(after, "vti1") != nil:
				t.Errorf("KERNEL FACT: vti1 still there after the rename")
			case a.Index != b.Index:
				t.Errorf("KERNEL FACT: rename changed the ifindex %d → %d", b.Index, a.Index)
			case a.Stats != b.Stats:
				t.Errorf("KERNEL FACT: rename moved counters:\nbefore %+v\nafter  %+v", b.Stats, a.Stats)
			case b.Stats.TxCarrierErrors != renamedOld:
				t.Errorf("KERNEL FACT: vti1 had tx_carrier_errors %d before the rename, want %d", b.Stats.TxCarrierErrors, renamedOld)
			}
			expectMoved(t, k, before, after, map[string]int64{})
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) (bad []string) {
			for _, name := range []string{"vti1", renamedTo} {
				for _, f := range rep.ByInterface(name) {
					if v == viewProcfs && f.Certainty == explain.AtMost {
						// /proc/net/dev has no ifindex: a rename reads as
						// one link gone and one new, whose counters can only
						// bound the interval.
						continue
					}
					bad = append(bad, fmt.Sprintf("FALSE CLAIM %q: vti1 was only renamed %s (same ifindex, no packet sent): no finding belongs on it",
						findingSpec(f), renamedTo))
				}
			}
			if v == viewProcfs {
				return bad
			}
			for _, n := range rep.Notes {
				if strings.Contains(n, "vti1") != strings.Contains(n, renamedTo) {
					bad = append(bad, fmt.Sprintf("NOTE names only one of vti1 and %s, the same link (ifindex unchanged): %q", renamedTo, n))
				}
			}
			return bad
		},
	},
	{
		// 3. vti1 deleted and created again between the readings; the
		// new one carries packets and has more carrier errors than the old.
		name: "vti-recreated",
		truth: map[string]uint64{
			truthKey("vti1", "tx-no-sa"):      recreatedNew,
			truthKey("vti1", "counter-reset"): 1,
			truthKey("", "tx-no-sa"):          recreatedNew,
		},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			b, a := linkByName(before, "vti1"), linkByName(after, "vti1")
			if b == nil || a == nil {
				t.Fatalf("KERNEL FACT: vti1 missing (before %v, after %v)", b != nil, a != nil)
			}
			if a.Index == b.Index {
				t.Errorf("KERNEL FACT: the re-created vti1 kept ifindex %d", a.Index)
			}
			if b.Stats.TxCarrierErrors != recreatedOld || a.Stats.TxCarrierErrors != recreatedNew ||
				b.Stats.TxPackets != 1 || a.Stats.TxPackets != recreatedGood ||
				b.Stats.RxPackets != 1 || a.Stats.RxPackets != recreatedGood {
				t.Errorf("KERNEL FACT: vti1 tx_carrier_errors %d → %d, tx_packets %d → %d, rx_packets %d → %d; want %d → %d, 1 → %d, 1 → %d",
					b.Stats.TxCarrierErrors, a.Stats.TxCarrierErrors, b.Stats.TxPackets, a.Stats.TxPackets, b.Stats.RxPackets, a.Stats.RxPackets,
					recreatedOld, recreatedNew, recreatedGood, recreatedGood)
			}
			// Every counter of the new link is at least the old one's, so
			// only the ifindex (netlink) and the position (/proc/net/dev)
			// tell that it is another link.
			bv, av := linkStats(&b.Stats), linkStats(&a.Stats)
			for i, name := range vtistat.StatsFieldNames() {
				if av[i] < bv[i] {
					t.Errorf("KERNEL FACT: the new vti1's %s (%d) is below the old one's (%d)", name, av[i], bv[i])
				}
			}
			// In /proc/net/dev the new vti1 comes after the link created
			// after the old one.
			if pb, pa := procOrder(t, before), procOrder(t, after); slices.Index(pb, "vti1") > slices.Index(pb, "dummy1") ||
				slices.Index(pa, "vti1") < slices.Index(pa, "dummy1") {
				t.Errorf("KERNEL FACT: /proc/net/dev order %v → %v, want vti1 before dummy1, then after it", pb, pa)
			}
			expectMoved(t, k, before, after, map[string]int64{"XfrmOutNoStates": recreatedNew})
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) (bad []string) {
			settled := false
			for _, f := range rep.ByInterface("vti1") {
				if eventCause(f.Cause) && f.Count == recreatedNew-recreatedOld {
					bad = append(bad, fmt.Sprintf("FALSE CLAIM %q: %d is the new vti1's %d carrier errors minus the old vti1's %d, counters of two different links",
						findingSpec(f), f.Count, recreatedNew, recreatedOld))
				}
				if f.Cause == "counter-reset" || (names(f, "tx-no-sa") && f.Count == recreatedNew) {
					settled = true
				}
			}
			if !settled {
				bad = append(bad, fmt.Sprintf("MISSING: vti1 was deleted and created again; want it reported as reset (counter-reset) or explained since it was created (tx-no-sa %d): neither is in the report",
					recreatedNew))
			}
			return bad
		},
	},
	{
		// 4a. xfrm interface, outbound SA deleted.
		name: "xfrmi-tx-no-sa",
		truth: map[string]uint64{
			truthKey(xfrmiName, "tx-no-sa"): events,
			truthKey("", "tx-no-sa"):        events,
		},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			want := xfrmiTxDrop(k, events)
			want["XfrmOutNoStates"] = events
			expectMoved(t, k, before, after, want)
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) (bad []string) {
			return noExactClaim(rep, "tx-core-drop", "before 5.11 an xfrm interface exports its lookup failures as tx_dropped alone")
		},
	},
	{
		// 4b. xfrm interface, inbound SA deleted: the packets never reach
		// an SA, so nothing ties them to the interface.
		name: "xfrmi-rx-no-sa",
		truth: map[string]uint64{
			truthKey(xfrmiName, "rx-no-sa"): events,
			truthKey("", "rx-no-sa"):        events,
		},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			expectMoved(t, k, before, after, map[string]int64{"XfrmInNoStates": events})
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) (bad []string) {
			return noExactClaim(rep, "rx-backlog-full", "")
		},
	},
	{
		// 4c. xfrm interface, inbound SA with another authentication key
		// than the peer's (bad ICV).
		name: "xfrmi-rx-integrity-failed",
		truth: map[string]uint64{
			truthKey(xfrmiName, "rx-integrity-failed"): events,
			truthKey("", "rx-integrity-failed"):        events,
		},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			want := map[string]int64{xfrmiName + " rx_dropped": events, "XfrmInStateProtoError": events}
			if k.AtLeast(5, 11) {
				want[xfrmiName+" rx_errors"] = events
			}
			expectMoved(t, k, before, after, want)
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) (bad []string) {
			return noExactClaim(rep, "rx-backlog-full", "before 5.11 an xfrm interface exports its IPsec input failures as rx_dropped alone")
		},
	},
	{
		// 5. ip6 tunnel (ipip6) whose outer packets match a transport-mode
		// ESP policy without SA, net.core.xfrm_larval_drop=1 (default).
		name: "ip6tnl-tx-no-sa",
		truth: map[string]uint64{
			truthKey(ip6tnl, "tx-no-sa"): events,
			truthKey("", "tx-no-sa"):     events,
		},
		facts: ip6tnlNoSAFacts,
		check: ip6tnlNoSACheck,
	},
	{
		// 5b. The same with net.core.xfrm_larval_drop=0. An ip6 tunnel
		// calls xfrm_lookup without XFRM_LOOKUP_QUEUE, so nothing waits in
		// the policy's hold queue (unlike a VTI since 5.9): the kernels
		// count exactly as with larval_drop=1.
		name: "ip6tnl-tx-no-sa-larval0",
		truth: map[string]uint64{
			truthKey(ip6tnl, "tx-no-sa"): events,
			truthKey("", "tx-no-sa"):     events,
		},
		facts: ip6tnlNoSAFacts,
		check: ip6tnlNoSACheck,
	},
	{
		// 5c. larval_drop=1 with a key manager listening: the first
		// packet's acquire installs a larval SA (SPI 0) that the reading
		// after shows; the packets are still dropped.
		name: "ip6tnl-tx-no-sa-acquire",
		truth: map[string]uint64{
			truthKey(ip6tnl, "tx-no-sa"): events,
			truthKey("", "tx-no-sa"):     events,
		},
		facts: ip6tnlNoSALarvalFacts,
		check: ip6tnlNoSACheck,
	},
	{
		// 5d. larval_drop=0 with a key manager listening.
		name: "ip6tnl-tx-no-sa-acquire-larval0",
		truth: map[string]uint64{
			truthKey(ip6tnl, "tx-no-sa"): events,
			truthKey("", "tx-no-sa"):     events,
		},
		facts: ip6tnlNoSALarvalFacts,
		check: ip6tnlNoSACheck,
	},
	{
		// 5e. ip6gre instead of ip6tnl (the same ip6_tnl_xmit), larval_drop=1.
		name: "ip6gre-tx-no-sa",
		truth: map[string]uint64{
			truthKey(ip6greName, "tx-no-sa"): events,
			truthKey("", "tx-no-sa"):         events,
		},
		facts: func(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
			expectMoved(t, k, before, after, map[string]int64{
				ip6greName + " tx_carrier_errors": events, ip6greName + " tx_errors": events, ip6greName + " tx_dropped": events,
				"XfrmOutNoStates": events,
			})
		},
		check: func(v view, k explain.KernelVersion, rep explain.Report) []string {
			return namesTxNoSA(ip6greName, rep)
		},
	},
}

// ip6tnlNoSAFacts: an ip6 tunnel counts a failed xfrm_lookup of its outer
// packet as tx_carrier_errors, tx_errors and tx_dropped; the lookup counts
// XfrmOutNoStates.
func ip6tnlNoSAFacts(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
	t.Helper()
	expectMoved(t, k, before, after, map[string]int64{
		ip6tnl + " tx_carrier_errors": events, ip6tnl + " tx_errors": events, ip6tnl + " tx_dropped": events,
		"XfrmOutNoStates": events,
	})
}

// ip6tnlNoSALarvalFacts: the same counts, and the acquire left one larval
// SA (SPI 0, the template's endpoints, hard lifetime 30 s: XFRM_ACQ_EXPIRES)
// that the reading after shows and the one before did not.
func ip6tnlNoSALarvalFacts(t testing.TB, k explain.KernelVersion, before, after *capturedReading) {
	t.Helper()
	ip6tnlNoSAFacts(t, k, before, after)
	if n := len(before.Netlink.SAs); n != 0 {
		t.Errorf("KERNEL FACT: %d SAs before the packets, want none", n)
	}
	sas := after.Netlink.SAs
	if len(sas) != 1 || sas[0].SPI != 0 || sas[0].Proto != 50 || sas[0].Src.String() != "2001:db8:1::1" || sas[0].Dst.String() != "2001:db8:1::2" ||
		sas[0].LifetimeConfig.HardAddExpiresSeconds != 30 {
		t.Errorf("KERNEL FACT: want one larval ESP SA 2001:db8:1::1 → 2001:db8:1::2, SPI 0, hard lifetime 30 s after the packets; got %+v", sas)
	}
}

func ip6tnlNoSACheck(v view, k explain.KernelVersion, rep explain.Report) []string {
	return namesTxNoSA(ip6tnl, rep)
}

// namesTxNoSA wants a finding on the ip6 tunnel dev that names tx-no-sa.
func namesTxNoSA(dev string, rep explain.Report) []string {
	for _, f := range rep.ByInterface(dev) {
		if names(f, "tx-no-sa") {
			return nil
		}
	}
	return []string{fmt.Sprintf("MISSING: the %d packets sent into %s met the outer packets' ESP policy without SA (XfrmOutNoStates +%d); no finding on %s names tx-no-sa",
		events, dev, events, dev)}
}

// noExactClaim returns a problem for each exact finding of cause (a cause
// no packet of the scenario had).
func noExactClaim(rep explain.Report, cause explain.CauseID, why string) (bad []string) {
	if why != "" {
		why = " (" + why + ")"
	}
	for _, f := range rep.Findings {
		if f.Cause == cause && f.Certainty == explain.Exact {
			bad = append(bad, fmt.Sprintf("FALSE CLAIM %q: no packet of this scenario was a %s%s", findingSpec(f), cause, why))
		}
	}
	return bad
}

// procOrder returns the interface names of a capture's /proc/net/dev, in
// file order.
func procOrder(t testing.TB, c *capturedReading) []string {
	t.Helper()
	var out []string
	for i, line := range strings.Split(string(c.ProcNetDev), "\n") {
		if i < 2 {
			continue
		}
		if name, _, ok := strings.Cut(line, ":"); ok {
			out = append(out, strings.TrimSpace(name))
		}
	}
	return out
}

// checkSoundness checks a scenario's kernel facts and the soundness of
// Explain's report from every view of the readings.
func checkSoundness(t testing.TB, sp *soundSpec, before, after *capturedReading) {
	t.Helper()
	k, err := explain.ParseKernelRelease(after.Release)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s: moved %s", after.Release, formatMoved(moved(before, after)))
	if sp.facts != nil {
		sp.facts(t, k, before, after)
	}
	for _, v := range views {
		rep := explain.Explain(before.view(t, v), after.view(t, v))
		if soundFactsOnly() {
			t.Logf("%s view, report:\n%s", v, reportSummary(rep))
			continue
		}
		var specific []string
		if sp.check != nil {
			specific = sp.check(v, k, rep)
		}
		// A finding the scenario's own check calls false is reported once,
		// with its reason.
		var bad []string
		for _, b := range checkTruth(sp.truth, rep) {
			claim := b[:strings.Index(b, "\": ")+1] // FALSE CLAIM "<finding>"
			if !slices.ContainsFunc(specific, func(s string) bool { return strings.HasPrefix(s, claim) }) {
				bad = append(bad, b)
			}
		}
		bad = append(bad, specific...)
		if len(bad) > 0 {
			t.Errorf("%s, %s view: the report is not sound:\n\t- %s\nreport:\n%s", sp.name, v, strings.Join(bad, "\n\t- "), reportSummary(rep))
		} else {
			t.Logf("%s view, report (sound):\n%s", v, reportSummary(rep))
		}
	}
}

// TestExplainSoundnessCaptures runs the soundness checks on the captures
// of TestVMSoundness kept in testdata/vm/soundness/<kernel>/<scenario>/.
func TestExplainSoundnessCaptures(t *testing.T) {
	kernels, err := os.ReadDir(soundnessRoot)
	if err != nil {
		t.Fatalf("%s: %v (see testdata/vm/README.md)", soundnessRoot, err)
	}
	n := 0
	for _, kd := range kernels {
		if !kd.IsDir() {
			continue
		}
		for i := range soundSpecs {
			sp := &soundSpecs[i]
			dir := filepath.Join(soundnessRoot, kd.Name(), sp.name)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			n++
			t.Run(kd.Name()+"/"+sp.name, func(t *testing.T) {
				checkSoundness(t, sp, loadCapture(t, filepath.Join(dir, "before")), loadCapture(t, filepath.Join(dir, "after")))
			})
		}
	}
	if n == 0 {
		t.Fatalf("no captures under %s", soundnessRoot)
	}
}
