//go:build linux

package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// healthNamespace makes a namespace with a veth pair and a route to
// 10.0.1.0/24 through it, and no policy: the tests add their own. Nothing
// sent to 10.0.1.0/24 leaves the namespace (the veth's peer is in it).
func healthNamespace(t *testing.T) *testns.NS {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns.IP(t, "addr", "add", "10.0.0.1/24", "dev", "v0")
	ns.IP(t, "link", "set", "v0", "up")
	ns.IP(t, "link", "set", "v1", "up")
	ns.IP(t, "route", "add", "10.0.1.0/24", "dev", "v0")
	return ns
}

// outPolicy is ip xfrm policy add|update of the outbound policy from
// 10.0.0.0/24 to 10.0.1.0/24 through an ESP tunnel to 192.0.2.2.
func outPolicy(op, reqid string) []string {
	return []string{"xfrm", "policy", op, "dir", "out", "src", "10.0.0.0/24", "dst", "10.0.1.0/24",
		"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel", "reqid", reqid}
}

// sendUDP sends one UDP datagram from inside the namespace. To an address
// an outbound policy covers and no SA serves, it makes the kernel ACQUIRE
// an SA (and drop the datagram).
func sendUDP(t *testing.T, ns *testns.NS, to string) {
	t.Helper()
	h := &netns.Handle{FD: ns.Open(t)}
	err := h.Do(func() error {
		c, err := net.Dial("udp4", to)
		if err != nil {
			return err
		}
		defer c.Close()
		_, _ = c.Write([]byte("tunnelstat")) // dropped for want of an SA: the error, if any, says so
		return nil
	})
	if err != nil {
		t.Fatalf("%s: send to %s: %v", ns.Name, to, err)
	}
}

// waitQueued waits until the namespace's subscription has received n
// events since they were last taken.
func waitQueued(t *testing.T, w *watched, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.q.mu.Lock()
		k := len(w.q.evs)
		w.q.mu.Unlock()
		if k >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events received in 5s, want %d", k, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func eventTypes(evs []explain.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type.String())
	}
	return strings.Join(s, " ")
}

// healthMonitor is a Monitor with Config.Health of one namespace, stepped
// by hand.
func healthMonitor(t *testing.T, ns *testns.NS) (*Monitor, *watched) {
	t.Helper()
	m, err := New(&Config{Interval: 5 * time.Second, Health: &explain.HealthConfig{}}, NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m, m.watched[0]
}

// A Monitor with Health on a live namespace: each interval's XFRM events
// are in its report and counted once in Total; the SAs are read every
// interval and the policies when they changed; every Update has Health.
func TestLiveMonitorHealthEvents(t *testing.T) {
	ns := healthNamespace(t)
	m, w := healthMonitor(t, ns)
	ctx := context.Background()
	var totals []explain.Tally
	step := func(name, wantEvents string) Update {
		t.Helper()
		u := w.step(ctx, m)
		if u.Err != nil {
			t.Fatalf("%s: %v", name, u.Err)
		}
		if got := eventTypes(u.Report.Events); got != wantEvents {
			t.Errorf("%s: events %q, want %q", name, got, wantEvents)
		}
		if u.Health == nil || !u.Health.Time.Equal(w.prev.Time) {
			t.Errorf("%s: health %+v of the reading of %v", name, u.Health, w.prev.Time)
		}
		if len(u.Unread) != 0 {
			t.Errorf("%s: unread %+v", name, u.Unread)
		}
		if w.prev.SAs == nil || w.prev.Policies == nil {
			t.Errorf("%s: the reading has no SAs (%v) or policies (%v)", name, w.prev.SAs == nil, w.prev.Policies == nil)
		}
		totals = append(totals, u.Total)
		return u
	}

	u := step("baseline", "")
	if !u.Baseline || w.q == nil {
		t.Fatalf("baseline %v, subscribed %v", u.Baseline, w.q != nil)
	}

	// A policy added and a larval SA allocated (the kernel says nothing
	// of an allocspi).
	ns.IP(t, outPolicy("add", "7")...)
	ns.IP(t, "xfrm", "state", "allocspi", "src", "192.0.2.1", "dst", "192.0.2.9", "proto", "esp", "mode", "tunnel", "min", "0x3000", "max", "0x3000")
	waitQueued(t, w, 1)
	u = step("policy added", "policy-added")
	if e := u.Report.Events[0]; e.Policy == nil || e.Policy.Dir != explain.DirOut || e.Policy.Index == 0 || e.SA != (explain.SARef{}) {
		t.Errorf("policy-added: %+v", e)
	}
	if len(w.prev.Policies) != 1 || len(w.prev.SAs) != 1 || w.prev.SAs[0].SPI != 0x3000 {
		t.Errorf("after the policy and allocspi: %d policies, SAs %+v", len(w.prev.Policies), w.prev.SAs)
	}
	if u.Snapshot != nil || len(u.Report.Findings) != 0 {
		t.Errorf("policy added: snapshot %v, findings %v", u.Snapshot != nil, u.Report.Findings)
	}

	// The larval SA deleted, the policy updated to another reqid (the SPD
	// counts stay: the event alone says to read the policies again).
	ns.IP(t, "xfrm", "state", "delete", "src", "192.0.2.1", "dst", "192.0.2.9", "proto", "esp", "spi", "0x3000")
	ns.IP(t, outPolicy("update", "8")...)
	waitQueued(t, w, 2)
	u = step("SA deleted, policy updated", "sa-deleted policy-updated")
	if e := u.Report.Events[0]; e.SA.String() != "esp spi 0x00003000 192.0.2.1 > 192.0.2.9" || e.Usage == nil || e.Usage.Added.IsZero() {
		t.Errorf("sa-deleted: %+v (%s)", e, e.SA)
	}
	if len(w.prev.SAs) != 0 || len(w.prev.Policies) != 1 || w.prev.Policies[0].Templates[0].ReqID != 8 {
		t.Errorf("after the update: SAs %+v, policies %+v", w.prev.SAs, w.prev.Policies)
	}

	// A larval SA nobody completes expires hard.
	ns.Run(t, "sysctl", "-qw", "net.core.xfrm_acq_expires=1")
	ns.IP(t, "xfrm", "state", "allocspi", "src", "192.0.2.1", "dst", "192.0.2.7", "proto", "esp", "mode", "tunnel", "min", "0x3001", "max", "0x3001")
	ns.Run(t, "sysctl", "-qw", "net.core.xfrm_acq_expires=30")
	waitQueued(t, w, 1)
	u = step("larval SA expired", "sa-hard-expire")
	if e := u.Report.Events[0]; e.SA.SPI != 0x3001 || e.Usage == nil {
		t.Errorf("sa-hard-expire: %+v", e)
	}

	// One datagram into the policy, which has no SA: ACQUIRE, and the
	// drop moves XfrmOutNoStates, so the interval ends with a full
	// reading, which carries the events too.
	sendUDP(t, ns, "10.0.1.2:9")
	waitQueued(t, w, 1)
	u = step("acquire", "acquire")
	e := u.Report.Events[0]
	if e.SA.Dst.String() != "192.0.2.2" || e.SA.Src.String() != "192.0.2.1" || e.SA.Proto != 50 || e.SA.ReqID != 8 || e.SA.SPI != 0 ||
		e.Policy == nil || e.Policy.Dir != explain.DirOut {
		t.Errorf("acquire: %+v", e)
	}
	var causes []explain.CauseID
	for _, f := range u.Report.Findings {
		causes = append(causes, f.Cause)
	}
	t.Logf("acquire: %s; findings %v", e.SA, causes)
	if len(u.Report.Findings) != 0 && u.Snapshot == nil {
		t.Error("findings without a full reading")
	}
	if u.Reading != w.prev {
		t.Error("Update.Reading is not the reading the interval ended with")
	}
	if !slices.ContainsFunc(w.prev.SAs, func(sa explain.SA) bool { return sa.SPI == 0 && sa.ReqID == 8 }) {
		t.Errorf("the acquire's larval SA is not in the reading: %+v", w.prev.SAs)
	}

	ns.IP(t, "xfrm", "policy", "delete", "dir", "out", "src", "10.0.0.0/24", "dst", "10.0.1.0/24")
	waitQueued(t, w, 1)
	step("policy deleted", "policy-deleted")
	if len(w.prev.Policies) != 0 {
		t.Errorf("policies after the delete: %+v", w.prev.Policies)
	}
	u = step("quiet", "")

	want := map[explain.EventType]uint64{explain.EventPolicyAdded: 1, explain.EventSADeleted: 1, explain.EventPolicyUpdated: 1,
		explain.EventHardExpire: 1, explain.EventAcquire: 1, explain.EventPolicyDeleted: 1}
	if fmt.Sprint(u.Total.XfrmEvents) != fmt.Sprint(want) {
		t.Errorf("Total.XfrmEvents %v, want %v", u.Total.XfrmEvents, want)
	}
	// Delivered totals never change.
	if totals[0].XfrmEvents != nil || fmt.Sprint(totals[1].XfrmEvents) != "map[policy-added:1]" {
		t.Errorf("delivered totals changed: %v, %v", totals[0].XfrmEvents, totals[1].XfrmEvents)
	}
}

// Past the bound an interval keeps, one events-lost stands for the events
// dropped; an events-lost (the kernel's too) makes the interval read the
// policies, which otherwise are read only when an event or the SPD counts
// say they changed.
func TestLiveMonitorHealthEventsLost(t *testing.T) {
	ns := healthNamespace(t)
	m, w := healthMonitor(t, ns)
	m.maxEvents = 2
	ctx := context.Background()
	if u := w.step(ctx, m); u.Err != nil || !u.Baseline {
		t.Fatalf("baseline: %+v", u)
	}
	for i := range 4 {
		ns.IP(t, "xfrm", "policy", "add", "dir", "out", "src", "10.0.0.0/24", "dst", fmt.Sprintf("10.0.%d.0/24", 10+i))
	}
	waitQueued(t, w, 3) // two kept, one events-lost
	u := w.step(ctx, m)
	if got := eventTypes(u.Report.Events); u.Err != nil || got != "policy-added policy-added events-lost" {
		t.Fatalf("4 events past a bound of 2: %v, %q", u.Err, got)
	}
	if len(w.prev.Policies) != 4 {
		t.Errorf("%d policies read, want 4", len(w.prev.Policies))
	}
	if want := "map[policy-added:2 events-lost:1]"; fmt.Sprint(u.Total.XfrmEvents) != want {
		t.Errorf("Total.XfrmEvents %v, want %s", u.Total.XfrmEvents, want)
	}
	if u := w.step(ctx, m); len(u.Report.Events) != 0 {
		t.Errorf("the next interval: %q", eventTypes(u.Report.Events))
	}
}

// Subscribed to SA events only, a policy updated in place goes unseen
// (the SPD counts stay) and the policies are not read again; an
// events-lost from the kernel makes the next interval read them.
func TestLiveMonitorHealthEventsLostRereads(t *testing.T) {
	ns := healthNamespace(t)
	ns.IP(t, outPolicy("add", "7")...)
	m, w := healthMonitor(t, ns)
	m.groups = xfrmstat.GroupSA
	ctx := context.Background()
	reqid := func() uint32 { return w.prev.Policies[0].Templates[0].ReqID }
	if u := w.step(ctx, m); u.Err != nil || !u.Baseline || reqid() != 7 {
		t.Fatalf("baseline: %+v", u)
	}
	ns.IP(t, outPolicy("update", "8")...)
	if u := w.step(ctx, m); u.Err != nil || len(u.Report.Events) != 0 || reqid() != 7 {
		t.Fatalf("unseen update: %v, events %q, reqid %d: the policies were read again", u.Err, eventTypes(u.Report.Events), reqid())
	}
	_ = w.q.receive(&xfrmstat.EventsLost{}) // as the subscription delivers ENOBUFS
	u := w.step(ctx, m)
	if u.Err != nil || eventTypes(u.Report.Events) != "events-lost" || reqid() != 8 {
		t.Fatalf("after events-lost: %v, events %q, reqid %d", u.Err, eventTypes(u.Report.Events), reqid())
	}
}

// A subscription that fails is an Unread "events" every interval; health
// goes on without events, and the policies are read every interval.
func TestLiveMonitorHealthSubscribeFails(t *testing.T) {
	ns := healthNamespace(t)
	m, w := healthMonitor(t, ns)
	m.groups = 1 << 30 // no such group: Subscribe refuses it
	ctx := context.Background()
	for i := range 3 {
		if i == 2 {
			ns.IP(t, outPolicy("add", "7")...)
		}
		u := w.step(ctx, m)
		if u.Err != nil || u.Health == nil || len(u.Report.Events) != 0 {
			t.Fatalf("interval %d: %v, health %v, events %q", i, u.Err, u.Health != nil, eventTypes(u.Report.Events))
		}
		if len(u.Unread) != 1 || u.Unread[0].Part != "events" || u.Unread[0].Err() == nil {
			t.Errorf("interval %d: unread %+v", i, u.Unread)
		}
	}
	if len(w.prev.Policies) != 1 {
		t.Errorf("policy added unseen: %d policies", len(w.prev.Policies))
	}
}

// Without Health nothing changes: no subscription, no events, no health,
// and a quiet interval reads no SA.
func TestLiveMonitorNoHealth(t *testing.T) {
	ns := healthNamespace(t)
	ns.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1") // no IPv6 chatter moving the veths
	m, err := New(&Config{Interval: 5 * time.Second}, NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := m.watched[0]
	ctx := context.Background()
	for i := range 3 {
		if i == 1 {
			ns.IP(t, outPolicy("add", "7")...)
		}
		u := w.step(ctx, m)
		if u.Err != nil || u.Health != nil || u.Report.Events != nil || u.Total.XfrmEvents != nil || w.q != nil {
			t.Fatalf("interval %d: %v, health %v, events %q, subscribed %v", i, u.Err, u.Health, eventTypes(u.Report.Events), w.q != nil)
		}
		if i > 0 && (w.prev.SAs != nil || w.prev.Policies != nil) {
			t.Errorf("interval %d: a quiet interval read SAs or policies", i)
		}
	}
	// Without health, Unchanged says only that the counters did not move.
	if u := w.step(ctx, m); u.Err != nil || !u.Unchanged {
		t.Fatalf("a quiet poll: %v, Unchanged %v, want true", u.Err, u.Unchanged)
	}
	sendUDP(t, ns, "10.0.1.5:9")
	if u := w.step(ctx, m); u.Err != nil || u.Unchanged {
		t.Fatalf("a poll after a datagram: %v, Unchanged %v, want false", u.Err, u.Unchanged)
	}
}

// A quiet interval with Health reads the SAs into reused storage: the
// poll allocates no more with 200 SAs than with none.
func TestLiveMonitorHealthPollAllocs(t *testing.T) {
	allocs := func(n int) float64 {
		ns := healthNamespace(t)
		larval(t, ns, n)
		m, w := healthMonitor(t, ns)
		ctx := context.Background()
		for i := range 3 {
			if u := w.step(ctx, m); u.Err != nil || len(w.prev.SAs) != n {
				t.Fatalf("step %d: %v, %d SAs, want %d", i, u.Err, len(w.prev.SAs), n)
			}
		}
		steps := testing.AllocsPerRun(20, func() {
			if u := w.step(ctx, m); u.Err != nil || u.Snapshot != nil {
				t.Fatalf("quiet step: %+v", u)
			}
		})
		t.Logf("a quiet interval with Health and %d SAs: %.1f allocations (the Tracker's included)", n, steps)
		b := 0
		return testing.AllocsPerRun(20, func() {
			b = 1 - b
			if _, _, err := w.p.poll(ctx, b, false, nil, false); err != nil {
				t.Fatal(err)
			}
		})
	}
	none, many := allocs(0), allocs(200)
	t.Logf("a health poll allocates %.1f times with no SA, %.1f with 200", none, many)
	if many > none {
		t.Errorf("a health poll allocates per SA: %.1f allocations with 200 SAs, %.1f with none", many, none)
	}
}

// Run with Health, then Close: the goroutine receiving the events ends
// with Close; a namespace deleted is unsubscribed from, and subscribed to
// again once its name is back.
func TestLiveMonitorHealthRunClose(t *testing.T) {
	ns := healthNamespace(t)
	goroutines := runtime.NumGoroutine()
	m, err := New(&Config{Interval: 100 * time.Millisecond, Health: &explain.HealthConfig{}}, NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	w := m.watched[0]
	var got []string
	err = m.Run(context.Background(), func(u Update) error {
		line := ""
		switch {
		case errors.Is(u.Err, ErrNetNSGone):
			line = fmt.Sprintf("gone, subscribed %v", w.q != nil)
		case u.Err != nil:
			line = "error: " + u.Err.Error()
		case u.Baseline:
			line = fmt.Sprintf("baseline, subscribed %v, health %v", w.q != nil, u.Health != nil)
		default:
			line = fmt.Sprintf("events %q, health %v", eventTypes(u.Report.Events), u.Health != nil)
		}
		got = append(got, line)
		switch len(got) {
		case 1:
			ns.IP(t, outPolicy("add", "7")...)
			waitQueued(t, w, 1)
		case 2:
			ns.Del(t)
		case 3:
			ns.Add(t)
		case 4:
			ns.IP(t, outPolicy("add", "9")...)
			waitQueued(t, w, 1)
		case 5:
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"baseline, subscribed true, health true", `events "policy-added", health true`, "gone, subscribed false",
		"baseline, subscribed true, health true", `events "policy-added", health true`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("updates:\n got %q\nwant %q", got, want)
	}
	if w.q == nil {
		t.Fatal("the subscription ended with Run")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if w.q != nil {
		t.Error("Close left the subscription")
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("%d goroutines after Close, %d before", g, goroutines)
	}
}

// With Health, a link whose MTU changes (or that is added) makes the next
// interval a full reading, so that parameters a poll would keep from the
// last full reading are fresh; a quiet interval stays a poll.
func TestLiveMonitorHealthLinkChange(t *testing.T) {
	ns := healthNamespace(t)
	ns.IP(t, "link", "add", "lc0", "type", "veth", "peer", "name", "lc1")
	m, w := healthMonitor(t, ns)
	ctx := context.Background()
	if u := w.step(ctx, m); u.Err != nil || !u.Baseline {
		t.Fatalf("baseline: %+v", u.Err)
	}
	if u := w.step(ctx, m); u.Err != nil || u.Snapshot != nil {
		t.Fatalf("quiet interval: err %v, full reading %v", u.Err, u.Snapshot != nil)
	}
	ns.IP(t, "link", "set", "lc0", "mtu", "1300")
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.q.mu.Lock()
		f := w.q.flags
		w.q.mu.Unlock()
		if f&linksChanged != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no link notification queued")
		}
		time.Sleep(10 * time.Millisecond)
	}
	u := w.step(ctx, m)
	if u.Err != nil || u.Snapshot == nil {
		t.Fatalf("after the MTU change: err %v, full reading %v", u.Err, u.Snapshot != nil)
	}
	var mtu uint32
	for _, l := range u.Snapshot.Links {
		if l.Name == "lc0" {
			mtu = l.MTU
		}
	}
	if mtu != 1300 {
		t.Errorf("lc0's MTU in the reading: %d, want 1300", mtu)
	}
	if u := w.step(ctx, m); u.Err != nil || u.Snapshot != nil {
		t.Errorf("the next quiet interval: err %v, full reading %v", u.Err, u.Snapshot != nil)
	}
}

// A health poll dumps the SAs only when something could have moved them:
// quiet intervals carry the last SAs over; a link counter that moved, an
// SA deleted (its event, the SAD count) or saMaxAge makes the next poll dump
// them again, into the buffer the previous reading's SAs are not in.
func TestLiveMonitorHealthCarriesSAs(t *testing.T) {
	ns := healthNamespace(t)
	// No IPv6: its neighbour discovery and MLD reports after the veths
	// come up would move their counters (and rightly make polls dump).
	ns.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	larval(t, ns, 4)
	m, w := healthMonitor(t, ns)
	ctx := context.Background()
	var base uint64 // dumps before the counting starts
	step := func(what string, wantSAs int, wantDumps uint64, unchanged bool) Update {
		t.Helper()
		wantDumps += base
		u := w.step(ctx, m)
		switch {
		case u.Err != nil:
			t.Fatalf("%s: %v", what, u.Err)
		case u.Snapshot != nil:
			t.Fatalf("%s: a full reading (findings %v), want a poll", what, u.Report.Findings)
		case len(u.Reading.SAs) != wantSAs:
			t.Fatalf("%s: %d SAs, want %d", what, len(u.Reading.SAs), wantSAs)
		case w.p.saDumps != wantDumps:
			t.Fatalf("%s: %d SA dumps in all, want %d", what, w.p.saDumps, wantDumps)
		case u.Unchanged != unchanged:
			t.Fatalf("%s: Unchanged %v, want %v", what, u.Unchanged, unchanged)
		}
		return u
	}
	if u := w.step(ctx, m); u.Err != nil || !u.Baseline {
		t.Fatalf("baseline: %+v", u)
	}
	step("the poll after a full reading", 4, 1, false)
	// Wait for the namespace to settle: a poll that carries the SAs over.
	for i := 0; ; i++ {
		u := w.step(ctx, m)
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		if u.Unchanged {
			break
		}
		if i == 50 {
			t.Fatal("no quiet poll in 50 intervals: something keeps moving in the namespace")
		}
		time.Sleep(100 * time.Millisecond)
	}
	base = w.p.saDumps - 1
	for i := range 3 {
		step(fmt.Sprintf("quiet poll %d", i), 4, 1, true)
	}
	sendUDP(t, ns, "10.0.1.5:9") // no policy: out through v0, counted by both veths
	step("a poll after a datagram", 4, 2, false)
	step("a quiet poll after it", 4, 2, true)

	prevSAs := w.prev.SAs
	kept := slices.Clone(prevSAs)
	ns.IP(t, "xfrm", "state", "delete", "src", "192.0.2.1", "dst", "192.0.2.10", "proto", "esp", "spi", "0x3000")
	u := step("a poll after an SA was deleted", 3, 3, false)
	if &u.Reading.SAs[0] == &prevSAs[0] || !slices.EqualFunc(prevSAs, kept, func(a, b explain.SA) bool { return reflect.DeepEqual(a, b) }) {
		t.Fatal("the dump went into the storage of the previous reading's SAs")
	}
	w.p.saMaxAge = 0
	step("a quiet poll past saMaxAge", 3, 4, false)
}
