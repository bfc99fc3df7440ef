package explain_test

// The scenarios that prove the catalogue in real kernels, and what Explain
// must say about each. The same expectations are checked twice:
//
//   - inside the VM kernels (vm_scenarios_test.go, TestVMExplain…), on
//     readings taken around real traffic between two namespaces;
//   - on this host, by TestExplainVMCaptures, on the readings those runs
//     captured into testdata/vm/<kernel>/<scenario>/.
//
// Every scenario is explained from three views of the same namespace:
//
//	netlink   rtnetlink stats64 and tunnel parameters (vtistat), the XFRM
//	          MIB, the SA and policy lists and the default policies
//	          (xfrmstat): the sharpest reading;
//	counters  the same link counters and MIB, but no policies, SAs or
//	          defaults: what counters alone can tell;
//	procfs    /proc/net/dev and /proc/net/xfrm_stat only.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/proctext"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// events is how many packets each scenario sends into the failure.
const events = 5

// view is one way of reading the namespace.
type view string

const (
	viewNetlink  view = "netlink"
	viewCounters view = "counters"
	viewProcfs   view = "procfs"
)

var views = [...]view{viewNetlink, viewCounters, viewProcfs}

// want is one expected finding, or one expected candidate group, written as
// a compact spec: "vti0: tx-no-sa=5 exact" for a finding,
// "vti0: tx-no-policy|tx-sa-mismatch=5 candidate" for a group whose every
// member has that count and certainty, and "vti0: tx-no-sa=5 at_most|
// tx-no-policy=5 candidate" for members that differ. An empty interface
// (": …") is a namespace-wide finding.
type want string

// wantMember is one parsed member of a want.
type wantMember struct {
	cause explain.CauseID
	count uint64
	cert  explain.Certainty
}

func (w want) parse() (iface string, members []wantMember, err error) {
	iface, rest, ok := strings.Cut(string(w), ":")
	if !ok {
		return "", nil, fmt.Errorf("want %q: no interface", w)
	}
	rest = strings.TrimSpace(rest)
	// A trailing "=N cert" applies to every member without its own.
	var defCount uint64
	var defCert explain.Certainty
	if i := strings.LastIndex(rest, "="); i >= 0 && !strings.Contains(rest[i:], "|") {
		f := strings.Fields(rest[i+1:])
		if len(f) != 2 {
			return "", nil, fmt.Errorf("want %q: want \"=count certainty\" at the end", w)
		}
		if defCount, err = strconv.ParseUint(f[0], 10, 64); err != nil {
			return "", nil, fmt.Errorf("want %q: %v", w, err)
		}
		if err = defCert.UnmarshalText([]byte(f[1])); err != nil {
			return "", nil, fmt.Errorf("want %q: %v", w, err)
		}
		rest = rest[:i]
	}
	for _, m := range strings.Split(rest, "|") {
		m = strings.TrimSpace(m)
		wm := wantMember{count: defCount, cert: defCert}
		if id, spec, ok := strings.Cut(m, "="); ok {
			f := strings.Fields(spec)
			if len(f) != 2 {
				return "", nil, fmt.Errorf("want %q: member %q: want \"id=count certainty\"", w, m)
			}
			if wm.count, err = strconv.ParseUint(f[0], 10, 64); err != nil {
				return "", nil, fmt.Errorf("want %q: %v", w, err)
			}
			if err = wm.cert.UnmarshalText([]byte(f[1])); err != nil {
				return "", nil, fmt.Errorf("want %q: %v", w, err)
			}
			m = id
		}
		if wm.cert == 0 {
			return "", nil, fmt.Errorf("want %q: member %q has no count and certainty", w, m)
		}
		if _, ok := explain.Lookup(explain.CauseID(m)); !ok {
			return "", nil, fmt.Errorf("want %q: %q is not in the catalogue", w, m)
		}
		wm.cause = explain.CauseID(m)
		members = append(members, wm)
	}
	return strings.TrimSpace(iface), members, nil
}

// specOf renders the findings of one group (or one ungrouped finding) in
// the spec syntax, members sorted, so that a failure can be read and pasted.
func specOf(fs []explain.Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s=%d %s", f.Cause, f.Count, f.Certainty)
	}
	slices.Sort(parts)
	return fs[0].Interface + ": " + strings.Join(parts, "|")
}

func specOfWant(iface string, ms []wantMember) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%s=%d %s", m.cause, m.count, m.cert)
	}
	slices.Sort(parts)
	return iface + ": " + strings.Join(parts, "|")
}

// diffReport compares the report's findings with the wanted ones: every
// wanted finding or group must be there with the same members, counts and
// certainties, and nothing else may be. It returns "" when they agree.
func diffReport(t testing.TB, rep explain.Report, wants []want) string {
	t.Helper()
	// Group the report's findings: by Group when set, else one by one.
	var got [][]explain.Finding
	byGroup := map[string]int{}
	for _, f := range rep.Findings {
		if f.Group != "" {
			if i, ok := byGroup[f.Interface+"\x00"+f.Group]; ok {
				got[i] = append(got[i], f)
				continue
			}
			byGroup[f.Interface+"\x00"+f.Group] = len(got)
		}
		got = append(got, []explain.Finding{f})
	}
	gotSpecs := make([]string, len(got))
	for i, g := range got {
		gotSpecs[i] = specOf(g)
	}
	var wantSpecs []string
	for _, w := range wants {
		iface, ms, err := w.parse()
		if err != nil {
			t.Fatal(err)
		}
		wantSpecs = append(wantSpecs, specOfWant(iface, ms))
	}
	slices.Sort(gotSpecs)
	slices.Sort(wantSpecs)
	if slices.Equal(gotSpecs, wantSpecs) {
		return ""
	}
	return fmt.Sprintf(" got:\n\t%s\nwant:\n\t%s\nreport:\n%s",
		strings.Join(gotSpecs, "\n\t"), strings.Join(wantSpecs, "\n\t"), rep)
}

// scenario is one way to make a tunnel drop packets, with what Explain
// must conclude from each view. The VM part (how to break the tunnel and
// what traffic to send) is in vm_scenarios_test.go under the same name.
type scenario struct {
	name string // subtest and capture directory name
	// tunnel is the link the scenario breaks: "vti0" or "gre1".
	tunnel string
	// since is the first kernel that can run the scenario ("" for all).
	since string
	// expect returns the wanted findings per view for kernel k: what the
	// kernel's counters prove.
	expect func(k explain.KernelVersion) map[view][]want
}

// same returns the wanted findings for every view.
func same(ws ...want) map[view][]want {
	return map[view][]want{viewNetlink: ws, viewCounters: ws, viewProcfs: ws}
}

// spec formats a want with the scenario's event count.
func spec(format string, args ...any) want { return want(fmt.Sprintf(format, args...)) }

// Candidate groups of the lookup-failure bucket (a VTI's
// tx_carrier_errors) when counters alone cannot tell the causes apart.
func vtiLookupGroup(k explain.KernelVersion) string {
	return "tx-no-route|tx-no-policy|tx-sa-mismatch|tx-policy-default-block"
}

// defaultPolicyNote is the kernel-version-dependent finding a 5.10 kernel
// adds where tx-policy-default-block is a candidate: 5.10.y has default
// policies from 5.10.118, which a Debian release string does not tell.
func defaultPolicyNote(k explain.KernelVersion, tunnel string) []want {
	if k.AtLeast(5, 15) {
		return nil
	}
	return []want{spec("%s: kernel-version-dependent=%d at_most", tunnel, events)}
}

// vtiCarrierColumnGroup is the same for /proc/net/dev's carrier column,
// which adds the output failures that no MIB counter needs to move for.
func vtiCarrierColumnGroup(k explain.KernelVersion) string {
	return vtiLookupGroup(k) + "|tx-output-error|tx-queue-full|tx-netfilter-drop"
}

// The rig's policies are IPv4 only (0.0.0.0/0 with the tunnel's mark), so
// they rule a cause out only for IPv4 packets: an IPv6 packet routed into
// the tunnel would match no policy (tx-no-policy). A packet that reaches a
// VTI without a route (packet socket, bpf_redirect) is tx-no-route. The
// policy list therefore narrows a lookup failure down to a group, not to
// one cause, unless the XFRM MIB names it.
func vtiPolicyGroup(causes string) string { return "tx-no-route|tx-no-policy|" + causes }

// greFrameGroup is the candidate group of /proc/net/dev's frame column on
// a GRE tunnel. rx-length is one of them on every kernel of the matrix:
// 5.10.223 counts it too (a stable backport).
const greFrameGroup = "rx-checksum|rx-ecn|rx-length"

var scenarios = []scenario{
	// TX: the lookup every packet sent into a VTI does (tx_carrier_errors).
	{
		name: "tx-no-sa", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				spec("vti0: tx-no-sa=%d exact", events),
				spec(": tx-no-sa=%d exact", events),
			)
		},
	},
	{
		name: "tx-no-policy", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("vti0: tx-no-route|tx-no-policy=%d candidate", events)},
				viewCounters: append([]want{spec("vti0: %s=%d candidate", vtiLookupGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
				viewProcfs:   append([]want{spec("vti0: %s=%d candidate", vtiCarrierColumnGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
			}
		},
	},
	{
		name: "tx-sa-mismatch", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("vti0: %s=%d candidate", vtiPolicyGroup("tx-sa-mismatch"), events)},
				viewCounters: append([]want{spec("vti0: %s=%d candidate", vtiLookupGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
				viewProcfs:   append([]want{spec("vti0: %s=%d candidate", vtiCarrierColumnGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
			}
		},
	},
	{
		name: "tx-sa-mismatch-transport", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("vti0: %s=%d candidate", vtiPolicyGroup("tx-sa-mismatch"), events)},
				viewCounters: append([]want{spec("vti0: %s=%d candidate", vtiLookupGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
				viewProcfs:   append([]want{spec("vti0: %s=%d candidate", vtiCarrierColumnGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
			}
		},
	},
	{
		name: "tx-underlay-unreachable", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				spec("vti0: tx-underlay-unreachable=%d exact", events),
				spec(": tx-underlay-unreachable=%d exact", events),
			)
		},
	},
	{
		name: "tx-policy-block", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				spec("vti0: tx-policy-block=%d exact", events),
				spec(": tx-policy-block=%d exact", events),
			)
		},
	},
	{
		name: "tx-policy-default-block", tunnel: "vti0", since: "5.16",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("vti0: tx-no-route|tx-policy-default-block=%d candidate", events)},
				viewCounters: append([]want{spec("vti0: %s=%d candidate", vtiLookupGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
				viewProcfs:   append([]want{spec("vti0: %s=%d candidate", vtiCarrierColumnGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
			}
		},
	},
	{
		name: "tx-policy-error", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				spec("vti0: tx-policy-error=%d exact", events),
				spec(": tx-policy-error=%d exact", events),
			)
		},
	},
	{
		// A packet that reached vti0 without a route (packet socket) and
		// whose route lookup fails.
		name: "tx-no-route", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("vti0: tx-no-route|tx-no-policy=%d candidate", events)},
				viewCounters: append([]want{spec("vti0: %s=%d candidate", vtiLookupGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
				viewProcfs:   append([]want{spec("vti0: %s=%d candidate", vtiCarrierColumnGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
			}
		},
	},
	{
		name: "tx-sa-dir-error", tunnel: "vti0", since: "6.10",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				spec("vti0: tx-sa-dir-error=%d exact", events),
				spec(": tx-sa-dir-error=%d exact", events),
			)
		},
	},
	// TX: other tunnel errors.
	{
		name: "tx-routing-loop", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: tx-routing-loop=%d exact", events))
		},
	},
	{
		name: "tx-too-big", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			ws := []want{spec("vti0: tx-too-big|tx-unsupported-protocol=%d candidate", events)}
			if !k.AtLeast(5, 12) {
				ws = append(ws, spec("vti0: kernel-version-dependent=%d at_most", events))
			}
			return same(ws...)
		},
	},
	// TX: after the packet left the tunnel (tx_aborted_errors).
	{
		name: "tx-sa-expired", tunnel: "vti0",
		// The SA's hard limit is 10 packets and 10+events are sent: the
		// 11th finds the SA expired (tx_aborted_errors,
		// XfrmOutStateExpired); the kernel then deletes it, and the rest
		// find none (tx_carrier_errors, XfrmOutNoStates).
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				"vti0: tx-sa-expired=1 exact",
				spec("vti0: tx-no-sa=%d exact", events-1),
				": tx-sa-expired=1 exact",
				spec(": tx-no-sa=%d exact", events-1),
			)
		},
	},
	{
		name: "tx-seq-overflow", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				spec("vti0: tx-seq-overflow=%d exact", events),
				spec(": tx-seq-overflow=%d exact", events),
			)
		},
	},
	{
		// xfrm_larval_drop=0 and no SA: the hold queue takes 101 packets
		// (counted as sent, no MIB counter) and refuses the rest
		// (tx_aborted_errors).
		name: "tx-queue-full", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			aborted := spec("vti0: tx-output-error|tx-queue-full|tx-netfilter-drop=%d candidate", events)
			return map[view][]want{
				viewNetlink:  {aborted},
				viewCounters: {aborted},
				viewProcfs:   append([]want{spec("vti0: %s=%d candidate", vtiCarrierColumnGroup(k), events)}, defaultPolicyNote(k, "vti0")...),
			}
		},
	},
	// RX: IPsec input drops after the VTI matched the packet
	// (rx_errors + rx_dropped).
	{
		name: "rx-no-sa", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-no-sa=%d exact", events), spec(": rx-no-sa=%d exact", events))
		},
	},
	{
		name: "rx-integrity-failed", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-integrity-failed=%d exact", events), spec(": rx-integrity-failed=%d exact", events))
		},
	},
	{
		name: "rx-replay", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-replay=%d exact", events), spec(": rx-replay=%d exact", events))
		},
	},
	{
		// 3 packets pass; the 4th finds the SA expired; the kernel then
		// deletes it, and the rest find none.
		name: "rx-sa-expired", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(
				"vti0: rx-sa-expired=1 exact",
				spec("vti0: rx-no-sa=%d exact", events-1),
				": rx-sa-expired=1 exact",
				spec(": rx-no-sa=%d exact", events-1),
			)
		},
	},
	{
		name: "rx-mode-error", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-mode-error=%d exact", events), spec(": rx-mode-error=%d exact", events))
		},
	},
	{
		name: "rx-encap-mismatch", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-encap-mismatch=%d exact", events), spec(": rx-encap-mismatch=%d exact", events))
		},
	},
	{
		name: "rx-acquire-error", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-acquire-error=%d exact", events), spec(": rx-acquire-error=%d exact", events))
		},
	},
	{
		name: "rx-header-error", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-header-error=%d exact", events), spec(": rx-header-error=%d exact", events))
		},
	},
	{
		name: "rx-dir-error", tunnel: "vti0", since: "6.10",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-dir-error=%d exact", events), spec(": rx-dir-error=%d exact", events))
		},
	},
	{
		name: "rx-no-policy", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-no-policy=%d exact", events), spec(": rx-no-policy=%d exact", events))
		},
	},
	{
		name: "rx-template-mismatch", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-template-mismatch=%d exact", events), spec(": rx-template-mismatch=%d exact", events))
		},
	},
	{
		name: "rx-policy-block", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("vti0: rx-policy-block=%d exact", events), spec(": rx-policy-block=%d exact", events))
		},
	},
	// Accounting.
	{
		// vti0 carried one packet each way, then is deleted and created
		// again: netlink sees a new ifindex, /proc/net/dev only packet and
		// byte counters that went back to 0.
		name: "counter-reset", tunnel: "vti0",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same("vti0: counter-reset=1 exact")
		},
	},
	// GRE (ip_gre).
	{
		name: "gre-tx-no-route", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			bare := append([]want{spec("gre1: tx-no-route|tx-policy-default-block=%d candidate", events)}, defaultPolicyNote(k, "gre1")...)
			return map[view][]want{
				viewNetlink:  {spec("gre1: tx-no-route=%d exact", events)},
				viewCounters: bare,
				viewProcfs:   bare,
			}
		},
	},
	{
		name: "gre-tx-policy-block", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("gre1: tx-policy-block=%d exact", events), spec(": tx-policy-block=%d exact", events))
		},
	},
	{
		// GRE counts the packets as sent: the only trace is the MIB, and
		// Explain must say so rather than pin it on a link.
		name: "gre-ipsec-no-sa", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec(": tx-no-sa=%d exact", events))
		},
	},
	{
		name: "gre-tx-routing-loop", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("gre1: tx-routing-loop=%d exact", events))
		},
	},
	{
		name: "gre-rx-checksum", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("gre1: rx-checksum=%d exact", events)},
				viewCounters: {spec("gre1: rx-checksum=%d exact", events)},
				viewProcfs:   {spec("gre1: %s=%d candidate", greFrameGroup, events)},
			}
		},
	},
	{
		name: "gre-rx-ecn", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return map[view][]want{
				viewNetlink:  {spec("gre1: rx-ecn=%d exact", events)},
				viewCounters: {spec("gre1: rx-ecn=%d exact", events)},
				viewProcfs:   {spec("gre1: %s=%d candidate", greFrameGroup, events)},
			}
		},
	},
	{
		name: "gre-rx-length", tunnel: "gre1",
		// Counted since a stable backport (ip_tunnel_rcv pulls the inner
		// header): 5.10.223, 6.1.176 and 6.12.107 all count it.
		expect: func(k explain.KernelVersion) map[view][]want {
			exact := spec("gre1: rx-length=%d exact", events)
			return map[view][]want{
				viewNetlink:  {exact},
				viewCounters: {exact},
				viewProcfs:   {spec("gre1: %s=%d candidate", greFrameGroup, events)},
			}
		},
	},
	{
		name: "gre-tx-nbma-no-dst", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("gre2: tx-nbma-no-dst=%d exact", events))
		},
	},
	{
		name: "gre-rx-sequence", tunnel: "gre1",
		expect: func(k explain.KernelVersion) map[view][]want {
			return same(spec("gre1: rx-sequence=%d exact", events))
		},
	},
}

// captureRoot is where the VM runs' captures are kept for the host tests.
const captureRoot = "testdata/vm"

// capturedReading is one moment of one scenario as the VM test saved it.
type capturedReading struct {
	// netlink.json.gz: the netlink view, as the test read it.
	Netlink *netlinkCapture
	// proc_net_dev, xfrm_stat, osrelease: the procfs view's raw files.
	ProcNetDev, XfrmStat []byte
	Release              string
}

// view builds one view of a capture.
func (c *capturedReading) view(t testing.TB, v view) *explain.Reading {
	t.Helper()
	switch v {
	case viewNetlink:
		return c.Netlink.reading()
	case viewCounters:
		r := c.Netlink.reading()
		r.Policies, r.SAs, r.OutboundDefaultBlock = nil, nil, nil
		return r
	}
	devs, err := procnet.ParseNetDev(strings.NewReader(string(c.ProcNetDev)))
	if err != nil {
		t.Fatalf("proc_net_dev: %v", err)
	}
	mib, err := procnet.ParseXfrmStat(strings.NewReader(string(c.XfrmStat)))
	if err != nil {
		t.Fatalf("xfrm_stat: %v", err)
	}
	return &explain.Reading{
		Time:          c.Netlink.Time,
		KernelRelease: c.Release,
		Links:         explain.LinksFromProcNetDev(devs),
		MIB:           mib,
	}
}

// netlinkCapture is the netlink view as the VM rig saves it (JSON, Go
// field names): links with every tunnel parameter vtistat decoded, and the
// XFRM state as xfrmstat decoded it, so that a capture keeps what the
// kernel sent and not only what explain reads today.
type netlinkCapture struct {
	Time                 time.Time
	KernelRelease        string
	Links                []capturedLink
	MIB                  *procnet.XfrmStat
	Policies             []xfrmstat.Policy
	SAs                  []xfrmstat.SA
	OutboundDefaultBlock *bool
}

// capturedLink is one link of a netlinkCapture. Source is
// explain.Source's number.
type capturedLink struct {
	Name       string
	Index      int32
	Kind       string
	Tunnel     *vtistat.Tunnel
	CrossNetns bool
	Source     uint8
	Stats      vtistat.Stats64
	Dev        procnet.DevStats
}

// captureLinks records links as explain/monitor converts them.
func captureLinks(links []vtistat.Link) []capturedLink {
	readings := monitor.AppendLinkReadings(nil, links)
	out := make([]capturedLink, len(links))
	for i, r := range readings {
		out[i] = capturedLink{Name: r.Name, Index: r.Index, Kind: r.Kind, Tunnel: links[i].Tunnel, CrossNetns: r.CrossNetns,
			Source: uint8(r.Source), Stats: vtistat.Stats64(r.Stats)}
		if r.Dev != nil {
			out[i].Dev = *r.Dev
		}
	}
	return out
}

// reading converts the capture as explain/monitor converts a live read.
func (n *netlinkCapture) reading() *explain.Reading {
	r := &explain.Reading{Time: n.Time, KernelRelease: n.KernelRelease, MIB: n.MIB,
		Policies: monitor.ExplainPolicies(n.Policies), SAs: monitor.ExplainSAs(n.SAs), OutboundDefaultBlock: n.OutboundDefaultBlock}
	for _, l := range n.Links {
		lr := explain.LinkReading{Name: l.Name, Index: l.Index, Kind: l.Kind, CrossNetns: l.CrossNetns,
			Source: explain.Source(l.Source), Stats: explain.Stats64(l.Stats)}
		if lr.Source == explain.SourceProcNetDev {
			dev := l.Dev
			lr.Dev = &dev
		}
		if l.Tunnel != nil {
			t := monitor.ExplainTunnel(l.Tunnel)
			lr.Tunnel = &t
		}
		r.Links = append(r.Links, lr)
	}
	return r
}

func loadCapture(t testing.TB, dir string) *capturedReading {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	c := &capturedReading{ProcNetDev: read("proc_net_dev"), XfrmStat: read("xfrm_stat"),
		Release: strings.TrimSpace(string(read("osrelease")))}
	zr, err := gzip.NewReader(bytes.NewReader(read("netlink.json.gz")))
	if err != nil {
		t.Fatalf("%s/netlink.json.gz: %v", dir, err)
	}
	if err := json.NewDecoder(zr).Decode(&c.Netlink); err != nil {
		t.Fatalf("%s/netlink.json.gz: %v", dir, err)
	}
	return c
}

// mibText is a MIB in the kernel's text layout.
type mibText procnet.XfrmStat

func (m *mibText) MarshalText() ([]byte, error) {
	return proctext.AppendXfrmStat(nil, (*procnet.XfrmStat)(m).All()), nil
}

func (m *mibText) UnmarshalText(b []byte) error {
	s, err := procnet.ParseXfrmStat(bytes.NewReader(b))
	if err != nil {
		return err
	}
	*m = mibText(*s)
	return nil
}

// MarshalJSON writes the MIB as a JSON string holding the kernel's
// /proc/net/xfrm_stat text, which keeps which counters the kernel printed,
// and the rest as encoding/json writes it.
func (n *netlinkCapture) MarshalJSON() ([]byte, error) {
	type plain netlinkCapture
	return json.Marshal(struct {
		*plain
		MIB *mibText
	}{(*plain)(n), (*mibText)(n.MIB)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *netlinkCapture) UnmarshalJSON(b []byte) error {
	type plain netlinkCapture
	v := struct {
		*plain
		MIB *mibText
	}{plain: (*plain)(n)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.MIB = (*procnet.XfrmStat)(v.MIB)
	return nil
}

// checkScenario explains before → after in every view and checks the
// scenario's expectations.
func checkScenario(t testing.TB, sc *scenario, before, after *capturedReading) {
	t.Helper()
	k, err := explain.ParseKernelRelease(after.Release)
	if err != nil {
		t.Fatal(err)
	}
	exp := sc.expect(k)
	for _, v := range views {
		ws, ok := exp[v]
		if !ok {
			continue
		}
		rep := explain.Explain(before.view(t, v), after.view(t, v))
		checkReportRoundTrip(t, rep)
		diff := diffReport(t, rep, ws)
		if diff != "" {
			t.Errorf("%s from the %s view: findings differ\n%s", sc.name, v, diff)
		}
	}
}

// TestExplainVMCaptures explains the readings the VM scenarios captured in
// real kernels (testdata/vm/<kernel>/<scenario>/{before,after}/) and checks
// the same expectations as the VM tests. It runs anywhere.
func TestExplainVMCaptures(t *testing.T) {
	kernels, err := os.ReadDir(captureRoot)
	if err != nil {
		t.Fatalf("%s: %v (capture with: go run ./internal/vmtest/cmd/vmtest -run '^TestVMExplain' -captures DIR ./explain/)", captureRoot, err)
	}
	n := 0
	for _, kd := range kernels {
		if !kd.IsDir() {
			continue
		}
		for i := range scenarios {
			sc := &scenarios[i]
			dir := filepath.Join(captureRoot, kd.Name(), sc.name)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			n++
			t.Run(kd.Name()+"/"+sc.name, func(t *testing.T) {
				before := loadCapture(t, filepath.Join(dir, "before"))
				after := loadCapture(t, filepath.Join(dir, "after"))
				checkScenario(t, sc, before, after)
			})
		}
	}
	if n == 0 {
		t.Fatalf("no captures under %s", captureRoot)
	}
}

// checkReportRoundTrip: a report read back from its JSON prints and
// encodes exactly as the original.
func checkReportRoundTrip(t testing.TB, rep explain.Report) {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back explain.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report JSON does not decode: %v", err)
	}
	if got, want := back.String(), rep.String(); got != want {
		t.Errorf("report read back from JSON prints differently:\n got:\n%s\nwant:\n%s", got, want)
	}
	if b2, _ := json.Marshal(back); !bytes.Equal(b2, b) {
		t.Errorf("report JSON does not survive a round trip:\n%s\n---\n%s", b, b2)
	}
}
