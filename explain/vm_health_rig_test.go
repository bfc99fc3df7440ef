//go:build linux

package explain_test

// What the tunnel health VM tests (vm_health_test.go) add to the rig: an
// XFRM event subscription in a namespace, converted to explain.Events as a
// monitor would hand them over, and quick readings with the SAs' health
// fields (lifetimes, usage, sequence numbers, error counters) for a
// Tracker or for Explain.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// -vmhealth.factsonly checks the kernel facts of the health scenarios and
// logs, instead of failing, what the Tracker and Explain say about them:
// for running the scenarios before the health implementation is merged.
var healthFactsOnlyFlag = flag.Bool("vmhealth.factsonly", false, "health scenarios: check kernel facts only, log Tracker and Explain failures without failing")

// healthGroups are the XFRM groups a health monitor follows: every group
// whose messages become an explain.Event.
const healthGroups = xfrmstat.GroupAcquire | xfrmstat.GroupExpire | xfrmstat.GroupSA | xfrmstat.GroupPolicy |
	xfrmstat.GroupMigrate | xfrmstat.GroupMapping

// healthRun is one health scenario: the rig, the events of A's namespace,
// and how its assertions are reported.
type healthRun struct {
	*rig
	events       *eventLog
	implFailures int
}

// kernelf reports a kernel fact that does not hold: the scenario does not
// test what it means to, whatever the implementation does.
func (h *healthRun) kernelf(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf("KERNEL FACT: "+format, args...)
}

// implf reports what the Tracker or Explain got wrong (prefix "TRACKER" or
// "EXPLAIN"); with -vmhealth.factsonly it only logs it.
func (h *healthRun) implf(what, format string, args ...any) {
	h.t.Helper()
	h.implFailures++
	if *healthFactsOnlyFlag {
		h.t.Logf("(facts only) "+what+": "+format, args...)
		return
	}
	h.t.Errorf(what+": "+format, args...)
}

// loggedEvent is one XFRM event as received.
type loggedEvent struct {
	at time.Time
	ev xfrmstat.Event
}

// eventLog collects the events of one namespace's subscription.
type eventLog struct {
	t    *testing.T
	name string
	mu   sync.Mutex
	all  []loggedEvent
	// pending are the converted events not yet taken into a reading.
	pending []explain.Event
	arrived chan struct{} // closed and replaced on each event
}

// subscribe follows s's XFRM events (healthGroups) until the test ends.
func (r *rig) subscribe(s *side) *eventLog {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := s.xfrm.Subscribe(ctx, healthGroups)
	if err != nil {
		cancel()
		r.t.Fatalf("%s: subscribe: %v", s.name, err)
	}
	l := &eventLog{t: r.t, name: s.name, arrived: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- sub.Receive(func(ev xfrmstat.Event) error {
			at := time.Now()
			l.mu.Lock()
			defer l.mu.Unlock()
			l.all = append(l.all, loggedEvent{at, ev})
			if e, ok := monitor.ExplainEvent(ev, at); ok {
				l.pending = append(l.pending, e)
			}
			close(l.arrived)
			l.arrived = make(chan struct{})
			return nil
		})
	}()
	r.t.Cleanup(func() {
		cancel()
		sub.Close()
		<-done
	})
	return l
}

// take returns the converted events received since the last take: the
// Events of the next reading (empty, not nil: the events were watched).
func (l *eventLog) take() []explain.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.pending
	l.pending = nil
	if out == nil {
		out = []explain.Event{}
	}
	return out
}

// snapshot returns every event received so far.
func (l *eventLog) snapshot() []loggedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

// wait returns the first event received that match accepts, waiting up to
// timeout for it; ok is false if none came.
func (l *eventLog) wait(timeout time.Duration, match func(xfrmstat.Event) bool) (loggedEvent, bool) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for _, e := range l.all {
			if match(e.ev) {
				l.mu.Unlock()
				return e, true
			}
		}
		arrived := l.arrived
		l.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			return loggedEvent{}, false
		}
	}
}

// mustWait is wait that fails the test when the event does not come.
func (l *eventLog) mustWait(timeout time.Duration, what string, match func(xfrmstat.Event) bool) loggedEvent {
	l.t.Helper()
	e, ok := l.wait(timeout, match)
	if !ok {
		l.t.Fatalf("KERNEL FACT: %s: no %s within %v; events so far:\n%s", l.name, what, timeout, l.describe(time.Time{}))
	}
	return e
}

// describe lists the events received, one a line, times relative to t0
// (absolute when t0 is zero).
func (l *eventLog) describe(t0 time.Time) string {
	var b strings.Builder
	for _, e := range l.snapshot() {
		when := e.at.Format("15:04:05.000")
		if !t0.IsZero() {
			when = fmt.Sprintf("%+.3fs", e.at.Sub(t0).Seconds())
		}
		fmt.Fprintf(&b, "\t%s %s\n", when, describeEvent(e.ev))
	}
	if b.Len() == 0 {
		return "\t(none)\n"
	}
	return b.String()
}

// saEvent matches an SA notification of op for spi.
func saEvent(op xfrmstat.Op, spi uint32) func(xfrmstat.Event) bool {
	return func(ev xfrmstat.Event) bool {
		e, ok := ev.(*xfrmstat.SAEvent)
		return ok && e.Op == op && e.SA.SPI == spi
	}
}

// saExpire matches a soft or hard expire of spi.
func saExpire(hard bool, spi uint32) func(xfrmstat.Event) bool {
	return func(ev xfrmstat.Event) bool {
		e, ok := ev.(*xfrmstat.SAExpire)
		return ok && e.Hard == hard && e.SA.SPI == spi
	}
}

// describeEvent is one event with the fields the health code reads.
func describeEvent(ev xfrmstat.Event) string {
	switch e := ev.(type) {
	case *xfrmstat.SAEvent:
		return fmt.Sprintf("%s %s", e.Message(), describeSA(&e.SA))
	case *xfrmstat.SAExpire:
		return fmt.Sprintf("%s hard=%v %s", e.Message(), e.Hard, describeSA(&e.SA))
	case *xfrmstat.Acquire:
		return fmt.Sprintf("%s esp spi 0x%x %s > %s proto %d policy index %d dir %d mark %s", e.Message(), e.SPI, e.Src, e.Dst, e.Proto,
			e.Policy.Index, e.Policy.Dir, markWords(e.Policy.Mark))
	case *xfrmstat.PolicyEvent:
		return fmt.Sprintf("%s index %d dir %d mark %s", e.Message(), e.Policy.Index, e.Policy.Dir, markWords(e.Policy.Mark))
	case *xfrmstat.UnknownEvent:
		return fmt.Sprintf("%s len %d err %v", e.Message(), e.Len, e.Err)
	}
	return ev.Message()
}

// describeSA names an SA and says what of its state an event carried.
func describeSA(sa *xfrmstat.SA) string {
	usage := "usage: none"
	if lc := sa.LifetimeCurrent; !lc.AddTime.IsZero() {
		used := "never"
		if !lc.UseTime.IsZero() {
			used = lc.UseTime.Format("15:04:05")
		}
		usage = fmt.Sprintf("usage: bytes %d packets %d added %s used %s", lc.Bytes, lc.Packets, lc.AddTime.Format("15:04:05"), used)
	}
	lft := ""
	if lc := sa.LifetimeConfig; lc.SoftAddExpiresSeconds != 0 || lc.HardAddExpiresSeconds != 0 {
		lft = fmt.Sprintf(" time-soft %d time-hard %d", lc.SoftAddExpiresSeconds, lc.HardAddExpiresSeconds)
	}
	replay := "replay: none"
	if rp := sa.Replay; rp != nil {
		replay = fmt.Sprintf("replay: oseq %d seq %d", rp.OSeq, rp.Seq)
	}
	return fmt.Sprintf("proto %d spi 0x%x %s > %s mode %d reqid %d mark %s dir %d%s; %s; stats %+v; %s",
		sa.Proto, sa.SPI, sa.Src, sa.Dst, sa.Mode, sa.ReqID, markWords(sa.Mark), sa.SADir, lft, usage, sa.Stats, replay)
}

func markWords(m *xfrmstat.Mark) string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("%d/%#x", m.Value, m.Mask)
}

// quickRead takes one reading of s while traffic may flow (no waiting for
// counters to settle): the events received since the last one first, then
// links, MIB, policies and SAs. It also returns the SAs as xfrmstat read
// them.
func (h *healthRun) quickRead(s *side) (*explain.Reading, []xfrmstat.SA) {
	h.t.Helper()
	t := h.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	rd := &explain.Reading{KernelRelease: strings.TrimSpace(string(rel))}
	if h.events != nil {
		rd.Events = h.events.take()
	}
	rd.Time = time.Now()
	links, err := readLinks(s.vti)
	if err != nil {
		t.Fatalf("%s: vtistat links: %v", s.name, err)
	}
	rd.Links = monitor.AppendLinkReadings(nil, links)
	rd.MIB = new(procnet.XfrmStat)
	if err := s.xfrm.MIB(ctx, rd.MIB); err != nil {
		t.Fatalf("%s: xfrmstat MIB: %v", s.name, err)
	}
	policies, err := s.xfrm.Policies(ctx, nil)
	if err != nil {
		t.Fatalf("%s: xfrmstat policies: %v", s.name, err)
	}
	rd.Policies = monitor.ExplainPolicies(policies)
	sas, err := s.xfrm.SAs(ctx, nil)
	if err != nil {
		t.Fatalf("%s: xfrmstat SAs: %v", s.name, err)
	}
	rd.SAs = monitor.ExplainSAs(sas)
	return rd, sas
}

// settledReading is r.read (counters settled) converted with the SAs'
// health fields and the events received since the last reading.
func (h *healthRun) settledReading(s *side) (*explain.Reading, *capturedReading) {
	h.t.Helper()
	var evs []explain.Event
	if h.events != nil {
		evs = h.events.take()
	}
	c := h.read(s)
	rd := c.Netlink.reading()
	rd.SAs = monitor.ExplainSAs(c.Netlink.SAs)
	rd.Policies = monitor.ExplainPolicies(c.Netlink.Policies)
	rd.Events = evs
	return rd, c
}

// findSA returns the SA of spi (ESP) in sas, or nil.
func findSA(sas []xfrmstat.SA, spi uint32) *xfrmstat.SA {
	for i := range sas {
		if sas[i].SPI == spi && sas[i].Proto == 50 {
			return &sas[i]
		}
	}
	return nil
}

// tunnelNamed returns the status of the tunnel on interface name, or nil.
func tunnelNamed(h *explain.Health, name string) *explain.TunnelStatus {
	for i := range h.Tunnels {
		if h.Tunnels[i].ID.Interface == name {
			return &h.Tunnels[i]
		}
	}
	return nil
}

// saHealthOf returns the tunnel's SA of spi, or nil.
func saHealthOf(ts *explain.TunnelStatus, spi uint32) *explain.SAHealth {
	if ts == nil {
		return nil
	}
	for i := range ts.SAs {
		if ts.SAs[i].SA.SPI == spi {
			return &ts.SAs[i]
		}
	}
	return nil
}

// risksOf returns the health's risks of cause for SA spi (any SA when spi
// is 0).
func risksOf(h *explain.Health, cause explain.CauseID, spi uint32) []explain.Risk {
	var out []explain.Risk
	for _, r := range h.Risks {
		if r.Cause == cause && (spi == 0 || r.SA != nil && r.SA.SPI == spi) {
			out = append(out, r)
		}
	}
	return out
}

// describeRisks lists risks, for messages.
func describeRisks(rs []explain.Risk) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		sa := "tunnel"
		if r.SA != nil {
			sa = r.SA.String()
		}
		parts[i] = fmt.Sprintf("%s on %s (%s) at %s", r.Cause, r.Tunnel, sa, r.At.Format("15:04:05.000"))
	}
	return strings.Join(parts, "; ")
}

// eventTypes lists the types of events, for messages.
func eventTypes(evs []explain.Event) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = e.Type.String()
		if e.SA.SPI != 0 {
			parts[i] += fmt.Sprintf("(0x%x)", e.SA.SPI)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// near reports whether a and b are within d of each other.
func near(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}

// readingFailures gathers the failures of a check made at every reading,
// so that a Tracker that fails it everywhere gives one message a check.
type readingFailures struct {
	keys  []string
	first map[string]string
	n     map[string]int
}

// add records a failure of check key; the first one's message is kept.
func (f *readingFailures) add(key, format string, args ...any) {
	if f.first == nil {
		f.first, f.n = map[string]string{}, map[string]int{}
	}
	if _, ok := f.first[key]; !ok {
		f.keys = append(f.keys, key)
		f.first[key] = fmt.Sprintf(format, args...)
	}
	f.n[key]++
}

// report reports each failed check once (implf), with how many of the
// total readings failed it.
func (f *readingFailures) report(h *healthRun, what string, total int) {
	h.t.Helper()
	for _, k := range f.keys {
		h.implf(what, "%s (failed at %d of %d readings; the first shown)", f.first[k], f.n[k], total)
	}
}

// trackOne adds a reading to the tracker and returns a Health of its own.
func trackOne(tr *explain.Tracker, r *explain.Reading) explain.Health {
	var h explain.Health
	tr.Add(&h, r)
	return h
}
