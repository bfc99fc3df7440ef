//go:build linux

package explain_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
)

// What explain must say about each scenario of TestVMWireGuardSignatures,
// checked on the saved captures (TestWireGuardCaptureFindings) and live in
// the VMs (the scenarios call checkWGFindings on what they read). The
// answers follow from the counters and the peer lists alone, and none is
// exact, because none is proven:
//
//   - no-allowed-ip, tx-not-ip: tx_errors on a device whose only peer has
//     allowed IPs and an endpoint in both readings. That rules out
//     tx-wg-no-endpoint (every reachable peer has an endpoint); a
//     destination no allowed IP holds, a GSO packet that failed
//     segmentation and a packet of another protocol all count tx_errors
//     alone, so tx-wg-no-peer, tx-wg-gso-error and tx-unsupported-protocol
//     stay candidates (the ICMP host unreachables of no-allowed-ip are not
//     in a Reading).
//   - no-endpoint: the only peer has allowed IPs and no endpoint in both
//     readings: tx-wg-gso-error and the staged causes are ruled out (the
//     endpoint is checked before segmentation); tx-wg-no-endpoint, naming
//     the peer, stays a candidate beside tx-wg-no-peer (a destination
//     outside 192.0.2.2/32) and tx-unsupported-protocol.
//   - rx-unallowed-source: rx_errors and rx_frame_errors alone are a
//     source the allowed IPs refuse or a packet of no IP protocol
//     (receive.c counts both the same): two candidates. Both name B's key
//     (with its handshake age): the packets decrypted, so they came from
//     a peer with a session, and A's only peer, the same in both
//     readings, is the only one with a handshake.
//   - wrong-key, wrong-key-gives-up: tx_dropped is the staged queue
//     overflowing, its purge or the core's drops: three candidates, the
//     staged ones naming the one peer without a session (never a
//     handshake, the bytes sent to it). A Tracker raises
//     tunnel-wg-handshake-failing for it, fed every sample, the samples
//     10 s or more apart, or only before and after: no handshake ever,
//     nothing received, at least two initiations sent over readings in a
//     row.
//   - handshake-stops (both kinds): no counter moves that explain reads
//     (the ICMP port unreachables are not in a Reading): no finding. The
//     last handshake is under a minute old, so the peer has a session
//     and tunnel-wg-handshake-failing cannot hold within the 40 s
//     captured. tunnel-wg-one-way must: data out, 1 056 bytes a second,
//     more than handshakes and keepalives may send, in at least
//     DefaultOneWayAfter readings over more than 20 s, and nothing back. A
//     Tracker fed every sample or a sample every 10 s sees that; one fed
//     before and after only has one interval, and raises nothing.
//
// The other side has no finding and no risk in any scenario.
type wgExpect struct {
	side     string // "A" or "B": whose wg0 the findings are on
	findings []wgWantFinding
	// risk is raised (for peer riskPeer) by each Tracker checkWGTracker
	// feeds at least riskAfter readings (0: every Tracker); mayRisk may
	// be, for riskPeer; no other risk may.
	risk, mayRisk explain.CauseID
	riskAfter     int
	riskPeer      int
	peerUp        bool // the risk peer is up at the last reading
}

// wgWantFinding is one finding on wg0. peer is the identity (package
// wgtest) of the peer its evidence names under counter peerEvidence, 0 for
// none.
type wgWantFinding struct {
	cause        explain.CauseID
	certainty    explain.Certainty
	count        uint64
	peer         int
	peerEvidence string
}

var wgExpectations = map[string]wgExpect{
	"no-allowed-ip": {side: "A", findings: []wgWantFinding{
		{cause: "tx-wg-no-peer", certainty: explain.Candidate, count: wgDatagrams},
		{cause: "tx-wg-gso-error", certainty: explain.Candidate, count: wgDatagrams},
		{cause: "tx-unsupported-protocol", certainty: explain.Candidate, count: wgDatagrams},
	}},
	"no-endpoint": {side: "A", findings: []wgWantFinding{
		{cause: "tx-wg-no-peer", certainty: explain.Candidate, count: wgDatagrams},
		{cause: "tx-wg-no-endpoint", certainty: explain.Candidate, count: wgDatagrams, peer: wgIdentB, peerEvidence: "no_endpoint"},
		{cause: "tx-unsupported-protocol", certainty: explain.Candidate, count: wgDatagrams},
	}},
	"tx-not-ip": {side: "A", findings: []wgWantFinding{
		{cause: "tx-wg-no-peer", certainty: explain.Candidate, count: wgDatagrams},
		{cause: "tx-wg-gso-error", certainty: explain.Candidate, count: wgDatagrams},
		{cause: "tx-unsupported-protocol", certainty: explain.Candidate, count: wgDatagrams},
	}},
	"rx-unallowed-source": {side: "A", findings: []wgWantFinding{
		{cause: "rx-wg-src-not-allowed", certainty: explain.Candidate, count: wgDatagrams, peer: wgIdentB, peerEvidence: "handshake_age"},
		{cause: "rx-wg-bad-protocol", certainty: explain.Candidate, count: wgDatagrams, peer: wgIdentB, peerEvidence: "handshake_age"},
	}},
	"wrong-key": {side: "A", findings: []wgWantFinding{
		{cause: "tx-wg-staged-overflow", certainty: explain.Candidate, count: 200 - 129, peer: wgIdentWrong, peerEvidence: "no_handshake"},
		{cause: "tx-wg-staged-purged", certainty: explain.Candidate, count: 200 - 129, peer: wgIdentWrong, peerEvidence: "no_handshake"},
		{cause: "tx-core-drop", certainty: explain.Candidate, count: 200 - 129},
	}, risk: "tunnel-wg-handshake-failing", riskPeer: wgIdentWrong},
	"wrong-key-gives-up": {side: "A", findings: []wgWantFinding{
		{cause: "tx-wg-staged-overflow", certainty: explain.Candidate, count: 200, peer: wgIdentWrong, peerEvidence: "no_handshake"},
		{cause: "tx-wg-staged-purged", certainty: explain.Candidate, count: 200, peer: wgIdentWrong, peerEvidence: "no_handshake"},
		{cause: "tx-core-drop", certainty: explain.Candidate, count: 200},
	}, risk: "tunnel-wg-handshake-failing", riskPeer: wgIdentWrong},
	"handshake-stops":             {side: "A", risk: "tunnel-wg-one-way", riskAfter: explain.DefaultOneWayAfter + 1, riskPeer: wgIdentB, peerUp: true},
	"handshake-stops-device-down": {side: "A", risk: "tunnel-wg-one-way", riskAfter: explain.DefaultOneWayAfter + 1, riskPeer: wgIdentB, peerUp: true},
}

// reading converts one side of a capture at time at, as explain/monitor
// converts a live read.
func (c *wgSideCapture) reading(release string, at time.Time) *explain.Reading {
	r := &explain.Reading{Time: at, KernelRelease: release, WireGuard: monitor.ExplainWireGuard(nil, c.WireGuard)}
	for _, l := range c.Links {
		lr := explain.LinkReading{Name: l.Name, Index: l.Index, Kind: l.Kind, CrossNetns: l.CrossNetns,
			Source: explain.Source(l.Source), Stats: explain.Stats64(l.Stats)}
		if lr.Source == explain.SourceProcNetDev {
			dev := l.Dev
			lr.Dev = &dev
		}
		r.Links = append(r.Links, lr)
	}
	return r
}

// side returns side s ("A", "B") of a moment.
func (m *wgMoment) side(s string) *wgSideCapture {
	if s == "A" {
		return &m.A
	}
	return &m.B
}

// wgTimed is one side's capture at a time.
type wgTimed struct {
	at time.Time
	c  *wgSideCapture
}

// series is side s's readings: before, the timeline samples at least gap
// after the one kept before them (gap < 0: none of them), after.
func (c *wgCapture) series(s string, gap time.Duration) []wgTimed {
	out := []wgTimed{{c.Before.Time, c.Before.side(s)}}
	for i := range c.Timeline {
		if gap < 0 {
			break
		}
		x := &c.Timeline[i]
		at := c.Before.Time.Add(time.Duration(x.Seconds * float64(time.Second)))
		if at.Sub(out[len(out)-1].at) < gap || !at.Before(c.After.Time) {
			continue
		}
		sc := &x.A
		if s == "B" {
			sc = &x.B
		}
		out = append(out, wgTimed{at, sc})
	}
	return append(out, wgTimed{c.After.Time, c.After.side(s)})
}

// checkWGFindings checks what explain says of capture c against
// wgExpectations, and returns a summary of the findings and risks on the
// side the scenario breaks ("cause certainty count", risks after "|").
func checkWGFindings(t testing.TB, c *wgCapture) string {
	t.Helper()
	want, ok := wgExpectations[c.Scenario]
	if !ok {
		t.Errorf("%s: no expectation for scenario %q", c.Kernel, c.Scenario)
		return ""
	}
	what := c.Kernel + " " + c.Scenario
	var summary []string
	for _, side := range []string{"A", "B"} {
		rep := explain.Explain(c.Before.side(side).reading(c.KernelRelease, c.Before.Time), c.After.side(side).reading(c.KernelRelease, c.After.Time))
		var wf []wgWantFinding
		if side == want.side {
			wf = want.findings
		}
		summary = append(summary, checkWGReport(t, what+" "+side, rep, wf)...)
		summary = append(summary, checkWGTracker(t, what+" "+side, c, side, want, side == want.side)...)
	}
	return strings.Join(summary, "; ")
}

// checkWGReport fails unless rep's findings are exactly want, all on wg0.
func checkWGReport(t testing.TB, what string, rep explain.Report, want []wgWantFinding) []string {
	t.Helper()
	var got, named []string
	for _, f := range rep.Findings {
		got = append(got, fmt.Sprintf("%s %s %s %d", f.Interface, f.Cause, f.Certainty, f.Count))
		for _, e := range f.Evidence {
			if e.Peer != nil {
				named = append(named, fmt.Sprintf("%s %s peer %.8s %s %d", f.Interface, f.Cause, e.Peer.PublicKey, e.Counter, e.Delta))
			}
		}
	}
	var exp []string
	for _, w := range want {
		exp = append(exp, fmt.Sprintf("wg0 %s %s %d", w.cause, w.certainty, w.count))
	}
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		var b strings.Builder
		_ = rep.Format(&b)
		t.Errorf("%s: findings\n got %q\nwant %q\n%s", what, got, exp, b.String())
		return got
	}
	for _, w := range want {
		i := slices.IndexFunc(rep.Findings, func(f explain.Finding) bool { return f.Cause == w.cause })
		f := &rep.Findings[i]
		var peers []string
		for _, e := range f.Evidence {
			if e.Peer != nil {
				peers = append(peers, e.Counter+" "+e.Peer.PublicKey)
			}
		}
		if w.peer == 0 {
			if len(peers) > 0 {
				t.Errorf("%s: %s names peers %q", what, w.cause, peers)
			}
			continue
		}
		key := wgtest.Public(t, w.peer).String()
		if !slices.Contains(peers, w.peerEvidence+" "+key) {
			t.Errorf("%s: %s: peer evidence %q, want %s of %s", what, w.cause, peers, w.peerEvidence, key)
		}
		// The checks that take the peer ({peer}) name it.
		cause, _ := explain.Lookup(w.cause)
		takesPeer := slices.ContainsFunc(cause.Checks, func(ch explain.CheckTemplate) bool { return strings.Contains(ch.Command, "{peer}") })
		if takesPeer && !slices.ContainsFunc(f.Checks, func(ch explain.Check) bool { return strings.Contains(ch.Command, key) }) {
			t.Errorf("%s: %s: no check names peer %s: %+v", what, w.cause, key, f.Checks)
		}
	}
	return append(got, named...)
}

// checkWGTracker feeds a Tracker side's readings of c: all of them (the
// timeline's samples, 0.5 to 1 s apart), those at least 10 s apart, and
// before and after only; and checks the risks.
func checkWGTracker(t testing.TB, what string, c *wgCapture, side string, want wgExpect, broken bool) []string {
	t.Helper()
	var summary []string
	for _, gap := range []time.Duration{0, 10 * time.Second, -1} {
		rs := c.series(side, gap)
		var tr explain.Tracker
		var h explain.Health
		raised := map[explain.CauseID]bool{}
		for _, r := range rs {
			tr.Add(&h, r.c.reading(c.KernelRelease, r.at))
			for _, k := range h.Risks {
				ok := broken && (k.Cause == want.risk || k.Cause == want.mayRisk) &&
					k.Tunnel.Interface == "wg0" && k.Tunnel.PublicKey == wgtest.Public(t, want.riskPeer).String()
				if !ok {
					t.Errorf("%s (%d readings): risk %s of %+v at %s: %s", what, len(rs), k.Cause, k.Tunnel,
						r.at.Sub(c.Before.Time).Round(time.Second), k.Explanation)
				}
				raised[k.Cause] = true
			}
		}
		if broken && want.risk != "" && !raised[want.risk] && len(rs) >= want.riskAfter {
			t.Errorf("%s (%d readings): no %s", what, len(rs), want.risk)
		}
		if broken && want.riskPeer != 0 {
			key := wgtest.Public(t, want.riskPeer).String()
			i := slices.IndexFunc(h.Peers, func(p explain.PeerStatus) bool { return p.ID.PublicKey == key })
			if i < 0 || h.Peers[i].Up != want.peerUp {
				t.Errorf("%s: peers %+v: want %s up=%v", what, h.Peers, key, want.peerUp)
			}
		}
		var rl []string
		for k := range raised {
			rl = append(rl, string(k))
		}
		slices.Sort(rl)
		if len(rl) > 0 {
			summary = append(summary, fmt.Sprintf("%s tracker(%d readings): %s", side, len(rs), strings.Join(rl, ",")))
		}
	}
	return summary
}

// TestWireGuardCaptureFindings runs explain and the Tracker on every saved
// capture of TestVMWireGuardSignatures.
func TestWireGuardCaptureFindings(t *testing.T) {
	files, err := filepath.Glob("testdata/wireguard/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no wireguard captures")
	}
	seen := map[string]int{}
	for _, f := range files {
		js, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c wgCapture
		if err := json.Unmarshal(js, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seen[c.Scenario]++
		t.Run(c.Kernel+"/"+c.Scenario, func(t *testing.T) {
			t.Logf("%s", checkWGFindings(t, &c))
		})
	}
	for s := range wgExpectations {
		if seen[s] == 0 {
			t.Errorf("no capture of scenario %s", s)
		}
	}
}
