package explain

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
)

type S = Stats64

// causeCase is one scenario: deltas that one cause produces, as the kernel
// code counts them, and what explain must say.
type causeCase struct {
	name     string
	release  string
	links    []LinkReading
	mib      *procnet.XfrmStat // after; before is all zero with every counter present
	noMIB    bool
	policies []Policy
	sas      []SA
	defBlock *bool
	want     []want
	// group, if set, is the exact set of link causes expected on want[0].iface
	// (kernel-* findings left out).
	group []CauseID
}

func (c *causeCase) run(t *testing.T) Report {
	t.Helper()
	mb, ma := mib(), c.mib
	if ma == nil {
		ma = mib()
	}
	if c.noMIB {
		mb, ma = nil, nil
	}
	before, after := pair(c.release, c.links, mb, ma)
	after.Policies = c.policies
	after.SAs = c.sas
	after.OutboundDefaultBlock = c.defBlock
	rep := Explain(before, after)
	for _, w := range c.want {
		mustFind(t, rep, w)
	}
	if c.group != nil {
		got := causesOn(rep, c.want[0].iface, true)
		if !slices.Equal(got, c.group) {
			t.Fatalf("causes on %s: got %v, want %v\n%s", c.want[0].iface, got, c.group, rep.String())
		}
	}
	checkInvariants(t, before, after, rep)
	return rep
}

// checkInvariants holds for every report: known cause IDs, no count larger
// than the counters allow, every finding filled in.
func checkInvariants(t *testing.T, before, after *Reading, rep Report) {
	t.Helper()
	for _, f := range rep.Findings {
		c := causeByID(f.Cause)
		if c == nil {
			t.Fatalf("finding with unknown cause %q", f.Cause)
		}
		if f.Title == "" || f.Explanation == "" || len(f.KernelRef) == 0 || f.Kernels == "" || f.Certainty == 0 {
			t.Fatalf("finding %s on %q not filled in: %+v", f.Cause, f.Interface, f)
		}
		if len(f.Evidence) == 0 {
			t.Fatalf("finding %s on %q without evidence", f.Cause, f.Interface)
		}
		if f.Count > 1<<48 {
			t.Fatalf("finding %s on %q: implausible count %d", f.Cause, f.Interface, f.Count)
		}
		for _, e := range f.Evidence {
			if e.Delta > 1<<48 {
				t.Fatalf("evidence %s of %s: implausible delta %d", e.Counter, f.Cause, e.Delta)
			}
		}
		for _, ch := range f.Checks {
			if strings.ContainsAny(ch.Command, "{}") && !strings.Contains(ch.Command, "awk") {
				t.Fatalf("unfilled template in %q", ch.Command)
			}
		}
		for _, id := range f.Candidates {
			if causeByID(id) == nil || id == f.Cause {
				t.Fatalf("finding %s: bad candidate %q", f.Cause, id)
			}
		}
	}
}

func TestEveryTXCause(t *testing.T) {
	mismatch := dualStack(outPolicy(0x10, tunnelTmpl(tLocal, netip.MustParseAddr("203.0.113.9"))))
	good := dualStack(outPolicy(0x10, tunnelTmpl(tLocal, tRemote)))
	cases := []causeCase{
		{
			name:    "tx-no-sa: policy installed, SA missing (IKE down)",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 17, TxCarrierErrors: 17})},
			mib:     mib("XfrmOutNoStates", 17),
			want:    []want{{"vti0", "tx-no-sa", 17, Exact}, {"", "tx-no-sa", 17, Exact}},
			group:   ids("tx-no-sa"),
		},
		{
			name:     "tx-no-policy: no policy has the tunnel's mark",
			release:  "6.12.12+deb13-cloud-amd64",
			links:    []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 12, TxCarrierErrors: 12})},
			policies: []Policy{outPolicy(0x20, tunnelTmpl(tLocal, tRemote))},
			defBlock: boolp(false),
			want:     []want{{"vti0", "tx-no-policy", 12, Candidate}},
			group:    ids("tx-no-policy", "tx-no-route"),
		},
		{
			name:     "tx-policy-default-block: no policy, default out block",
			release:  "6.1.0-31-cloud-amd64",
			links:    []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 4, TxCarrierErrors: 4})},
			policies: []Policy{},
			defBlock: boolp(true),
			want:     []want{{"vti0", "tx-policy-default-block", 4, Candidate}},
			group:    ids("tx-policy-default-block", "tx-no-route"),
		},
		{
			name:     "tx-sa-mismatch: template endpoints differ from the tunnel's",
			release:  "6.1.0-31-cloud-amd64",
			links:    []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 9, TxCarrierErrors: 9})},
			policies: mismatch,
			want:     []want{{"vti0", "tx-sa-mismatch", 9, Candidate}},
			group:    ids("tx-sa-mismatch", "tx-no-route"),
		},
		{
			name:    "tx-sa-mismatch: transport-mode template",
			release: "5.10.0-33-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 3, TxCarrierErrors: 3})},
			policies: dualStack(outPolicy(0x10, Template{Src: tLocal, Dst: tRemote, Proto: 50,
				Mode: ModeTransport})),
			want:  []want{{"vti0", "tx-sa-mismatch", 3, Candidate}},
			group: ids("tx-sa-mismatch", "tx-no-route"),
		},
		{
			name:    "tx-underlay-unreachable: no route to the peer",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 6, TxCarrierErrors: 6})},
			mib:     mib("XfrmOutBundleGenError", 6),
			want:    []want{{"vti0", "tx-underlay-unreachable", 6, Exact}, {"", "tx-underlay-unreachable", 6, Exact}},
		},
		{
			name:    "tx-policy-block",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 5, TxCarrierErrors: 5})},
			mib:     mib("XfrmOutPolBlock", 5),
			want:    []want{{"vti0", "tx-policy-block", 5, Exact}},
		},
		{
			name:    "tx-policy-error: SA in error state",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 2, TxCarrierErrors: 2})},
			mib:     mib("XfrmOutPolError", 2),
			want:    []want{{"vti0", "tx-policy-error", 2, Exact}},
		},
		{
			name:    "tx-sa-dir-error: XfrmOutPolError moves too",
			release: "6.12.12+deb13-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 2, TxCarrierErrors: 2})},
			mib:     mib("XfrmOutStateDirError", 2, "XfrmOutPolError", 2),
			want:    []want{{"vti0", "tx-sa-dir-error", 2, Exact}},
			group:   ids("tx-sa-dir-error"),
		},
		{
			name:    "tx-routing-loop",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 7, Collisions: 7})},
			want:    []want{{"vti0", "tx-routing-loop", 7, Exact}},
			group:   ids("tx-routing-loop"),
		},
		{
			name:    "tx-routing-loop on vti6 counts tx_dropped too",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti6a", KindVTI6, 5, S{TxErrors: 7, TxDropped: 7, Collisions: 7})},
			want:    []want{{"vti6a", "tx-routing-loop", 7, Exact}},
			group:   ids("tx-routing-loop"),
		},
		{
			name:    "tx-too-big and tx-unsupported-protocol share tx_errors alone",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 31})},
			want:    []want{{"vti0", "tx-too-big", 31, Candidate}, {"vti0", "tx-unsupported-protocol", 31, Candidate}},
			group:   ids("tx-too-big", "tx-unsupported-protocol"),
		},
		{
			name:    "tx-sa-expired",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 3, TxAbortedErrors: 3})},
			mib:     mib("XfrmOutStateExpired", 3),
			want:    []want{{"vti0", "tx-sa-expired", 3, Exact}},
			group:   ids("tx-sa-expired"),
		},
		{
			name:    "tx-seq-overflow",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 40, TxAbortedErrors: 40})},
			mib:     mib("XfrmOutStateSeqError", 40),
			want:    []want{{"vti0", "tx-seq-overflow", 40, Exact}},
		},
		{
			name:    "tx-sa-invalid",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 1, TxAbortedErrors: 1})},
			mib:     mib("XfrmOutStateInvalid", 1),
			want:    []want{{"vti0", "tx-sa-invalid", 1, Exact}},
		},
		{
			name:    "tx-mode-error",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 2, TxAbortedErrors: 2})},
			mib:     mib("XfrmOutStateModeError", 2),
			want:    []want{{"vti0", "tx-mode-error", 2, Exact}},
		},
		{
			name:    "tx-output-error",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 2, TxAbortedErrors: 2})},
			mib:     mib("XfrmOutError", 2),
			want:    []want{{"vti0", "tx-output-error", 2, Exact}},
			group:   ids("tx-output-error"),
		},
		{
			name:    "tx-crypto-backlog on an xfrm interface (NET_XMIT_DROP counted as an error)",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("ipsec0", KindXfrm, 5, S{TxErrors: 4, TxAbortedErrors: 4})},
			mib:     mib("XfrmOutStateProtoError", 4),
			want:    []want{{"ipsec0", "tx-crypto-backlog", 4, Exact}, {"", "tx-crypto-backlog", 4, Exact}},
		},
		{
			name:    "tx-queue-full, tx-netfilter-drop, tx-output-error: aborted with no MIB counter",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 8, TxAbortedErrors: 8})},
			want:    []want{{"vti0", "tx-queue-full", 8, Candidate}, {"vti0", "tx-netfilter-drop", 8, Candidate}, {"vti0", "tx-output-error", 8, Candidate}},
			group:   ids("tx-queue-full", "tx-netfilter-drop", "tx-output-error"),
		},
		{
			name:    "tx-core-drop: tx_dropped alone on a vti",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{TxDropped: 3})},
			want:    []want{{"vti0", "tx-core-drop", 3, Exact}},
		},
		{
			// A 5.10 build from 5.10.118 on has default policies: a
			// blocked outer packet counts the same.
			name:    "tx-no-route on gre: no route to the remote, no IPsec",
			release: "5.10.0-33-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxErrors: 6, TxCarrierErrors: 6})},
			want:    []want{{"gre1", "tx-no-route", 6, Candidate}},
			group:   ids("tx-no-route", "tx-policy-default-block"),
		},
		{
			name:    "tx-nbma-no-dst",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxErrors: 2, TxFIFOErrors: 2})},
			want:    []want{{"gre1", "tx-nbma-no-dst", 2, Exact}},
		},
		{
			name:    "tx-local-out-error on ip6gre (aborted)",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("ip6gre1", KindIP6GRE, 6, S{TxErrors: 3, TxAbortedErrors: 3})},
			want:    []want{{"ip6gre1", "tx-local-out-error", 3, Exact}},
		},
		{
			name:    "tx-local-out-error on gre (tx_dropped) is a candidate with tx-core-drop",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxDropped: 4})},
			want:    []want{{"gre1", "tx-local-out-error", 4, Candidate}, {"gre1", "tx-core-drop", 4, Candidate}},
		},
		{
			name:    "tx-policy-block on gre over IPsec",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxErrors: 5, TxCarrierErrors: 5})},
			mib:     mib("XfrmOutPolBlock", 5),
			want:    []want{{"gre1", "tx-policy-block", 5, Exact}},
		},
		{
			name:     "policies fine: only tx-no-sa is left",
			release:  "6.1.0-31-cloud-amd64",
			links:    []LinkReading{link("vti0", KindVTI, 5, S{TxErrors: 5, TxCarrierErrors: 5})},
			mib:      mib("XfrmOutNoStates", 9),
			policies: good,
			want:     []want{{"vti0", "tx-no-sa", 5, AtMost}, {"vti0", "tx-no-route", 5, Candidate}},
			group:    ids("tx-no-sa", "tx-no-route"),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func TestEveryRXCause(t *testing.T) {
	// Every VTI RX drop inside xfrm_input or the inner policy check counts
	// rx_errors+rx_dropped on the tunnel and one MIB counter.
	mibCauses := []struct {
		cause CauseID
		mib   string
	}{
		{"rx-no-sa", "XfrmInNoStates"},
		{"rx-integrity-failed", "XfrmInStateProtoError"},
		{"rx-replay", "XfrmInStateSeqError"},
		{"rx-no-policy", "XfrmInNoPols"},
		{"rx-template-mismatch", "XfrmInTmplMismatch"},
		{"rx-policy-block", "XfrmInPolBlock"},
		{"rx-policy-error", "XfrmInPolError"},
		{"rx-sa-expired", "XfrmInStateExpired"},
		{"rx-sa-invalid", "XfrmInStateInvalid"},
		{"rx-encap-mismatch", "XfrmInStateMismatch"},
		{"rx-mode-error", "XfrmInStateModeError"},
		{"rx-header-error", "XfrmInHdrError"},
		{"rx-buffer-error", "XfrmInBufferError"},
		{"rx-error", "XfrmInError"},
		{"rx-acquire-error", "XfrmAcquireError"},
		{"rx-dir-error", "XfrmInStateDirError"},
	}
	for _, mc := range mibCauses {
		t.Run(string(mc.cause), func(t *testing.T) {
			c := causeCase{
				release: "6.12.12+deb13-cloud-amd64",
				links:   []LinkReading{link("vti0", KindVTI, 5, S{RxErrors: 11, RxDropped: 11})},
				mib:     mib(mc.mib, 11),
				want:    []want{{"vti0", mc.cause, 11, Exact}, {"", mc.cause, 11, Exact}},
				group:   []CauseID{mc.cause},
			}
			c.run(t)
		})
	}
	cases := []causeCase{
		{
			name:    "rx-iptfs-error is namespace-wide",
			release: "6.14.0",
			mib:     mib("XfrmInIptfsError", 3),
			want:    []want{{"", "rx-iptfs-error", 3, Exact}},
		},
		{
			name:    "fwd-header-error is namespace-wide",
			release: "6.1.0-31-cloud-amd64",
			mib:     mib("XfrmFwdHdrError", 2),
			want:    []want{{"", "fwd-header-error", 2, Exact}},
		},
		{
			name:    "rx-backlog-full: rx_dropped without rx_errors",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti0", KindVTI, 5, S{RxDropped: 250})},
			want:    []want{{"vti0", "rx-backlog-full", 250, Exact}},
		},
		{
			name:    "rx-endpoint-mismatch is a candidate with rx-backlog-full on vti6",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("vti6a", KindVTI6, 5, S{RxDropped: 2})},
			want:    []want{{"vti6a", "rx-endpoint-mismatch", 2, Candidate}, {"vti6a", "rx-backlog-full", 2, Candidate}},
		},
		{
			name:    "rx-checksum",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{RxErrors: 3, RxCRCErrors: 3})},
			want:    []want{{"gre1", "rx-checksum", 3, Exact}},
		},
		{
			name:    "rx-sequence",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{RxErrors: 8, RxFIFOErrors: 8})},
			want:    []want{{"gre1", "rx-sequence", 8, Exact}},
		},
		{
			name:    "rx-length",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{RxErrors: 1, RxLengthErrors: 1})},
			want:    []want{{"gre1", "rx-length", 1, Exact}},
		},
		{
			name:    "rx-ecn",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{RxErrors: 5, RxFrameErrors: 5})},
			want:    []want{{"gre1", "rx-ecn", 5, Exact}},
		},
		{
			name:    "rx-no-sa on an xfrm interface shows only namespace-wide",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("ipsec0", KindXfrm, 5, S{})},
			mib:     mib("XfrmInNoStates", 6),
			want:    []want{{"", "rx-no-sa", 6, Exact}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func TestRXMIBSplitWithOneTunnelIsExact(t *testing.T) {
	// One tunnel, 10 RX errors, two MIB counters moved: replay 7, ICV 3.
	// They add up to the tunnel's count, so each is that cause's exact
	// count (proven in the VM: scenario rx-sa-expired). With several
	// tunnels sharing the MIB they would be bounds (honesty_test.go).
	c := causeCase{
		release: "6.1.0-31-cloud-amd64",
		links:   []LinkReading{link("vti0", KindVTI, 5, S{RxErrors: 10, RxDropped: 10})},
		mib:     mib("XfrmInStateSeqError", 7, "XfrmInStateProtoError", 3),
		want:    []want{{"vti0", "rx-replay", 7, Exact}, {"vti0", "rx-integrity-failed", 3, Exact}},
	}
	c.run(t)
}

// The 2026-12 catalogue audit: causes and signatures checked against the
// 5.10.262, 6.1.172, 6.12.117 and 7.3.4 sources.
func TestAuditCauses(t *testing.T) {
	cases := []causeCase{
		{
			// ip6_tnl_xmit calls plain xfrm_lookup: no blackhole route, the
			// error comes back and ip6gre counts carrier+errs+drop.
			name:    "tx-no-sa on ip6gre is counted on the link",
			release: "6.12.57+deb13-cloud-amd64",
			links:   []LinkReading{link("ip6gre1", KindIP6GRE, 6, S{TxErrors: 4, TxCarrierErrors: 4, TxDropped: 4})},
			mib:     mib("XfrmOutNoStates", 4),
			want:    []want{{"ip6gre1", "tx-no-sa", 4, Exact}},
		},
		{
			name:    "tx-sa-dir-error on gre over IPsec",
			release: "6.12.57+deb13-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxErrors: 3, TxCarrierErrors: 3})},
			mib:     mib("XfrmOutStateDirError", 3, "XfrmOutPolError", 3),
			want:    []want{{"gre1", "tx-sa-dir-error", 3, Exact}},
		},
		{
			// ipgre_xmit, gre_tap_xmit, erspan_xmit count tx_dropped alone.
			name:    "tx-gre-drop is a candidate for tx_dropped alone on gre",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxDropped: 5})},
			want:    []want{{"gre1", "tx-gre-drop", 5, Candidate}},
			group:   ids("tx-core-drop", "tx-local-out-error", "tx-gre-drop"),
		},
		{
			name:    "tx-tunnel-recursion joins tx_errors alone on gre from 6.12",
			release: "6.12.57+deb13-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxErrors: 2})},
			want:    []want{{"gre1", "tx-tunnel-recursion", 2, Candidate}},
			group:   ids("tx-too-big", "tx-unsupported-protocol", "tx-tunnel-recursion"),
		},
		{
			// 6.1.172 has no recursion limit, but a 6.1 build that took
			// the CVE's fix has: the cause stays a candidate there.
			name:    "tunnel recursion limit a candidate in 6.1",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("gre1", KindGRE, 6, S{TxErrors: 2})},
			want:    []want{{"gre1", "tx-too-big", 2, Candidate}, {"gre1", "tx-tunnel-recursion", 2, Candidate}},
			group:   ids("tx-too-big", "tx-unsupported-protocol", "tx-tunnel-recursion"),
		},
		{
			name:    "tx-ip6-xmit-ctl, tx-encap-limit and a headroom failure on ip6gre (errs+drop)",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("ip6gre1", KindIP6GRE, 6, S{TxErrors: 3, TxDropped: 3})},
			want:    []want{{"ip6gre1", "tx-ip6-xmit-ctl", 3, Candidate}, {"ip6gre1", "tx-encap-limit", 3, Candidate}},
			// The recursion limit counts tx_errors without a drop, so the
			// drops may also be drops of their own.
			group: ids("tx-too-big", "tx-unsupported-protocol", "tx-local-out-error", "tx-ip6-xmit-ctl", "tx-encap-limit", "tx-tunnel-recursion",
				"tx-core-drop", "tx-gre-drop"),
		},
		{
			name:    "tx-nbma-no-dst on sit (IPv4 inside goes through ip_tunnel_xmit)",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("sit1", KindSIT, 6, S{TxErrors: 2, TxFIFOErrors: 2})},
			want:    []want{{"sit1", "tx-nbma-no-dst", 2, Exact}},
		},
		{
			name:    "tx-sit-route-type shares sit's carrier bucket",
			release: "6.1.0-31-cloud-amd64",
			links:   []LinkReading{link("sit1", KindSIT, 6, S{TxErrors: 2, TxCarrierErrors: 2})},
			want:    []want{{"sit1", "tx-sit-route-type", 2, Candidate}},
		},
		{
			// xfrmi_rcv_cb runs the inbound policy check across namespaces.
			// In the underlay's namespace the same check fails later, in
			// the MIB only (the packet was received): equal totals prove
			// nothing, the MIB bounds it.
			name:    "rx-template-mismatch on an xfrm interface",
			release: "6.12.57+deb13-cloud-amd64",
			links:   []LinkReading{link("ipsec0", KindXfrm, 5, S{RxErrors: 6, RxDropped: 6})},
			mib:     mib("XfrmInTmplMismatch", 6),
			want:    []want{{"ipsec0", "rx-template-mismatch", 6, AtMost}},
		},
		{
			// collect_md: metadata_dst_alloc fails, no MIB counter moves.
			name:    "rx-metadata-nomem: xfrm RX errors with a quiet MIB",
			release: "6.12.57+deb13-cloud-amd64",
			links:   []LinkReading{link("ipsec0", KindXfrm, 5, S{RxErrors: 2, RxDropped: 2})},
			want:    []want{{"ipsec0", "rx-metadata-nomem", 2, Exact}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

// rx_errors alone on a sit tunnel is its spoofing check (ipip6_rcv): a
// bucket of its own, not an unexplained counter.
func TestSitSpoofedBucket(t *testing.T) {
	before, after := pair("6.12.107+deb13-cloud-amd64", []LinkReading{link("sit1", KindSIT, 6, S{RxErrors: 4})}, mib(), mib())
	rep := Explain(before, after)
	mustFind(t, rep, want{"sit1", "rx-sit-spoofed", 4, Exact})
	// On GRE no catalogued cause counts rx_errors alone.
	before, after = pair("6.12.107+deb13-cloud-amd64", []LinkReading{link("gre1", KindGRE, 6, S{RxErrors: 4})}, mib(), mib())
	mustFind(t, Explain(before, after), want{"gre1", "unexplained-counter", 4, Exact})
}

// tx-no-sa on an ip6 tunnel is not silent (ip6_tnl_xmit uses plain
// xfrm_lookup): carrier, errors and drops move together, and those drops
// are the lookup failures' own, not drops of their own.
func TestIP6TunnelNoSA(t *testing.T) {
	for _, kind := range []string{KindIP6Tnl, KindIP6GRE} {
		before, after := pair("7.3.4+deb13-cloud-amd64", []LinkReading{link("t6", kind, 6, S{TxErrors: 5, TxCarrierErrors: 5, TxDropped: 5})},
			mib(), mib("XfrmOutNoStates", 5))
		rep := Explain(before, after)
		mustFind(t, rep, want{"t6", "tx-no-sa", 5, Exact})
		for _, f := range rep.Findings {
			if f.Cause == "tx-core-drop" || f.Cause == "tx-gre-drop" {
				t.Errorf("%s: drops paired with the lookup failures reported as drops of their own:\n%s", kind, rep.String())
			}
		}
	}
}
