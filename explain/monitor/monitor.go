package monitor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/internal/hint"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// DefaultInterval is the time between readings when Config.Interval is 0.
const DefaultInterval = 10 * time.Second

// ErrStop ends Run without an error: the function Run calls returns it to
// stop watching.
var ErrStop = errors.New("monitor: stop")

// errClosed is returned by Run after Close; it matches os.ErrClosed, as
// every closed client of this module does.
var errClosed = fmt.Errorf("monitor: %w", os.ErrClosed)

// Config configures a Monitor. A nil *Config is the zero Config.
type Config struct {
	// Interval is the time between two readings of each namespace, and the
	// longest one reading may take. 0 means DefaultInterval.
	Interval time.Duration

	// Open, when set, opens each namespace as a Source the Monitor reads a
	// whole Snapshot from every interval, instead of reading it live: to
	// replay saved snapshots, read through another transport, or test.
	// nil reads each namespace live (see the package documentation for
	// what an interval then costs).
	Open func(ctx context.Context, ns NetNS) (Source, error)

	// Health, when not nil, also follows each namespace's tunnels with an
	// explain.Tracker so configured: live, the Monitor subscribes to the
	// namespace's XFRM events and reads its SAs in every interval where
	// something could have moved them, and at least once a minute (its
	// policies when events or the SPD size say they changed; see the
	// package documentation), and each
	// Update carries Health. The interval's events are in
	// Update.Report.Events and counted in Update.Total.XfrmEvents; a
	// subscription refused is an Unread "events". The Monitor also
	// subscribes to the namespace's link notifications, and takes a full
	// reading in an interval after a link changed, so that link
	// parameters are never older than an interval. With Config.Open, the
	// Tracker reads each Snapshot, and there are no events. nil: neither
	// events nor health, and an interval in which nothing moved reads no
	// SA.
	Health *explain.HealthConfig
}

// Source is what Config.Open returns for a namespace. A *Reader is one (it
// reads in full every interval; without Config.Open a Monitor reads live
// namespaces more cheaply).
type Source interface {
	// Read returns the namespace's reading now. The Monitor does not
	// modify the Snapshot, and hands it to the caller in Update.Snapshot.
	Read(ctx context.Context) (*Snapshot, error)
	// Close is called by Monitor.Close.
	Close() error
}

// Update is what a Monitor says about one namespace for one interval.
type Update struct {
	// NetNS is the namespace, as given to New.
	NetNS NetNS
	// Time is when the interval's reading started.
	Time time.Time
	// Err is why the namespace could not be opened or read in this
	// interval; nil when it was read. A live reading's error names the
	// namespace, and errors.Is finds the reading packages' errors and
	// os.ErrNotExist or os.ErrPermission behind it; a Source's error is
	// as the Source returned it. A namespace given by name or path whose
	// name no longer exists (ip netns del) is not read through the
	// sockets that keep it alive: Err then matches ErrNetNSGone and
	// os.ErrNotExist, every interval until the name exists again.
	// Report, Snapshot and Unread are then empty, and the next successful
	// interval explains everything since the last reading: no event is
	// lost or counted twice.
	Err error
	// Baseline is true for the namespace's first reading (the first that
	// succeeded): there is nothing to compare it with, and Report is
	// empty. It is true again when the namespace's name came to refer to
	// another namespace (deleted and added again: ErrNetNSReplaced): the
	// new one's first reading is compared with nothing of the old one.
	// Total carries on.
	Baseline bool
	// Report explains what moved since the namespace's previous reading.
	Report explain.Report
	// Snapshot is the full reading taken in this interval, or nil when the
	// interval only polled counters (see the package documentation). It is
	// the caller's: the Monitor never touches it again.
	Snapshot *Snapshot
	// Reading is what the interval ended with, as explain saw it: the
	// links with this interval's counters (and the parameters of the last
	// full reading), the MIB, and with Config.Health the SAs as of this
	// interval (read in it, or carried over when nothing could have moved
	// them) and the policies as last read. It is there every interval,
	// polled or full, so that a program rendering the counters needs no
	// reading of its own. Its WireGuard peers are of this interval, polled
	// or full. It is the Monitor's: read it before fn returns,
	// never modify or keep it (a later interval reuses its storage). nil
	// with Err.
	Reading *explain.Reading
	// Unchanged is true when the interval read nothing new: a poll whose
	// links (the same ones, in the same order) and MIB have the counters
	// of the previous interval's reading, whose wireguard peers (read
	// every poll when the namespace has wireguard links) are those of the
	// previous reading field by field, with Config.Health no XFRM
	// event since it, the SAs carried over from it and the policies not
	// read again. Reading then differs from the previous interval's only
	// in Time, Report is empty and Total the same; with Config.Health the
	// tunnels in Health are those of the previous interval (a Tracker's
	// tunnels depend on what it read, not when), and only its Risks may
	// differ, as time brings expiries closer. A program that renders each
	// interval may keep what it rendered from the previous one.
	Unchanged bool
	// Unread lists the parts of this interval's reading that could not be
	// read: of a full reading every part (Snapshot.Unread), of a poll the
	// XFRM MIB and the peers of wireguard links ("wireguard"; with
	// Config.Health also the SAs, SPD info and policies);
	// with Config.Health, "events" when the namespace's XFRM events could
	// not be subscribed to, "link_changes" when its link notifications
	// could not. Do not modify it.
	Unread []Unread
	// Health is the namespace's tunnels and the failures ahead, when
	// Config.Health is set and the interval was read; nil otherwise. It is
	// the caller's.
	Health *explain.Health
	// Total counts the namespace's events since the Monitor was made,
	// each event once: every Report so far added to one explain.Tally. A
	// Total is never modified once delivered: keep it as long as you
	// like, but do not modify it.
	Total explain.Tally
}

// Monitor watches network namespaces: it reads each one every interval,
// explains what moved since its previous reading and counts the events of
// each cause. Make one with New, call Run, then Close.
type Monitor struct {
	interval time.Duration
	open     func(ctx context.Context, ns NetNS) (Source, error)
	health   *explain.HealthConfig // nil: no events, no health
	watched  []*watched

	// The XFRM groups subscribed to and the events kept per interval
	// (eventGroups and maxEvents; tests change them).
	groups    xfrmstat.Group
	maxEvents int

	mu      sync.Mutex
	running bool
	closed  bool
}

// New returns a Monitor of the namespaces, in that order. It opens nothing:
// Run opens each namespace on its first interval, and again on every
// interval until that succeeds. Giving the same namespace twice is an
// error.
func New(cfg *Config, namespaces ...NetNS) (*Monitor, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	m := &Monitor{interval: cfg.Interval, open: cfg.Open, groups: eventGroups, maxEvents: maxEvents}
	if cfg.Health != nil {
		h := *cfg.Health
		switch {
		case h.OneWayAfter < 0:
			return nil, fmt.Errorf("monitor: Config.Health.OneWayAfter %d: want 0 (the default, %d) or more", h.OneWayAfter, explain.DefaultOneWayAfter)
		case h.RekeyMargin < 0:
			return nil, fmt.Errorf("monitor: Config.Health.RekeyMargin %v: want 0 (the default, %v) or more", h.RekeyMargin, explain.DefaultRekeyMargin)
		}
		m.health = &h
	}
	switch {
	case cfg.Interval < 0:
		return nil, fmt.Errorf("monitor: negative interval %v", cfg.Interval)
	case cfg.Interval == 0:
		m.interval = DefaultInterval
	}
	if len(namespaces) == 0 {
		return nil, errors.New("monitor: no namespace to watch (NetNS{} is the process's own)")
	}
	seen := map[NetNS]bool{}
	for _, ns := range namespaces {
		if seen[ns] {
			return nil, fmt.Errorf("monitor: %s given twice", ns.describe())
		}
		seen[ns] = true
		m.watched = append(m.watched, &watched{ns: ns, m: m, prevBuf: -1})
	}
	return m, nil
}

// Run watches the namespaces until ctx is done or fn returns an error.
// Every interval it reads all namespaces, concurrently, then calls fn with
// one Update per namespace, in the order given to New, from the goroutine
// that called Run. The first interval starts at once, the second at the
// first multiple of Config.Interval on the wall clock at least one interval
// later, and the others one interval apart, on those multiples: every
// Monitor of a process with the same interval reads at the same instants,
// and the process wakes once per interval, not once per Monitor. When an
// interval (fn included) takes longer than Config.Interval, the next
// starts as soon as it ends.
//
// A namespace that cannot be opened or read yields an Update with Err and
// is tried again next interval; it does not stop the others.
//
// Run returns ctx.Err() when ctx is done, nil when fn returns ErrStop, and
// fn's error as it is otherwise. Every goroutine it starts has ended when
// it returns, but one: with Config.Health, each live namespace's XFRM
// events are received from when it is opened until Close (or until the
// namespace is gone), so that the events between two Runs are not lost.
// Run may be called again after it returned: it carries on from the
// previous readings and totals. It may not run twice at once, and returns
// an error matching os.ErrClosed after Close.
func (m *Monitor) Run(ctx context.Context, fn func(Update) error) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return errClosed
	case m.running:
		m.mu.Unlock()
		return errors.New("monitor: Run called while running")
	}
	m.running = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
	}()

	// One goroutine per namespace for the whole Run, told to read by its
	// tick channel: nothing is started per interval.
	n := len(m.watched)
	ticks := make([]chan struct{}, n)
	results := make([]chan Update, n)
	var wg sync.WaitGroup
	for i, w := range m.watched {
		ticks[i], results[i] = make(chan struct{}), make(chan Update, 1)
		wg.Go(func() {
			for range ticks[i] {
				results[i] <- w.step(ctx, m)
			}
		})
	}
	defer func() {
		for _, t := range ticks {
			close(t)
		}
		wg.Wait()
	}()

	// Intervals after the first start at multiples of the interval on the
	// wall clock, so that every Monitor of a process with the same
	// interval reads at the same instants: the process then wakes once an
	// interval for all of them, rather than once for each (a hundred
	// Monitors of a hundred namespaces, started one after the other, would
	// otherwise wake it a hundred times, each a thread switch or more).
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due time.Time // when the interval that ran was due; zero for the first
	updates := make([]Update, n)
	for {
		start := time.Now()
		for _, t := range ticks {
			t <- struct{}{}
		}
		for i, r := range results {
			updates[i] = <-r
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range updates {
			err := fn(updates[i])
			updates[i] = Update{}
			if errors.Is(err, ErrStop) {
				return nil
			} else if err != nil {
				return err
			}
		}
		var wait time.Duration
		due, wait = schedule(due, start, time.Now(), m.interval)
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
			}
		}
	}
}

// schedule returns when the next interval is due (next) and how long to
// wait for it (0: start it at once). prev is when the interval that just
// ran was due, zero for the first (which starts at once, at start); now is
// when it ended.
//
// Intervals start on multiples of d on the wall clock: the second a whole
// interval at least after the first, the others d apart. An interval that
// overran its successor's start has it start at once, and the one after on
// the next multiple, as a Ticker drops the ticks it could not deliver.
// When the wall clock is set back, the multiples are counted again from
// now.
func schedule(prev, start, now time.Time, d time.Duration) (next time.Time, wait time.Duration) {
	if prev.IsZero() {
		next = nextTick(start.Add(d-1), d)
	} else {
		next = prev.Add(d)
	}
	wait = next.Sub(now)
	switch {
	case wait > 2*d: // the wall clock was set back
		next = nextTick(now.Add(d-1), d)
		return next, next.Sub(now)
	case wait < 0:
		return now.Truncate(d), 0
	}
	return next, wait
}

// nextTick returns the first multiple of d on the wall clock after t.
func nextTick(t time.Time, d time.Duration) time.Time {
	return t.Truncate(d).Add(d)
}

// Close closes every namespace's sockets (or Source) and event
// subscription, and ends the goroutines that receive the events. Call it
// once Run has returned; Close during Run is an error. Close is
// idempotent.
func (m *Monitor) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return errors.New("monitor: Close called while Run is running (cancel its context first)")
	}
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	for _, w := range m.watched {
		errs = append(errs, w.close())
	}
	return errors.Join(errs...)
}

// watched is the state of one namespace, kept from interval to interval
// and from one Run to the next.
type watched struct {
	ns NetNS
	m  *Monitor

	// Live: the Reader and the poller's buffers.
	r *Reader
	p *poller
	// Config.Open's source.
	src Source

	// prev is the last reading, nil before the first. It points into the
	// poller's buffer set prevBuf, or is its own (prevBuf -1).
	prev    *explain.Reading
	prevBuf int
	total   explain.Tally

	// With Config.Health: the tracker (nil until the first reading), and,
	// live, the events. q receives them (nil: not subscribed, and
	// qUnread says why); pending are those taken from q and not yet in
	// a reading (an interval that failed keeps them for the next), and
	// pendingFlags what they mean.
	tracker      *explain.Tracker
	q            *eventQueue
	qUnread      []Unread
	pending      []explain.Event
	pendingFlags eventFlags
}

// step reads the namespace once and explains it against the previous
// reading.
func (w *watched) step(ctx context.Context, m *Monitor) Update {
	u := Update{NetNS: w.ns, Time: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, m.interval)
	defer cancel()
	switch {
	case w.r == nil && w.src == nil && m.open != nil:
		src, err := m.open(ctx, w.ns)
		if err == nil && src == nil {
			err = fmt.Errorf("monitor: Config.Open returned no Source for %s", w.ns.describe())
		}
		if err != nil {
			u.Err = err
			return u
		}
		w.src = src
	case w.r == nil && w.src == nil:
		r, err := Open(ctx, w.ns)
		if err != nil {
			u.Err = err
			return u
		}
		w.r, w.p = r, w.newPoller(r)
	}
	w.read(ctx, &u)
	if errors.Is(u.Err, ErrNetNSReplaced) {
		// The name now refers to another namespace: nothing of the old
		// one is compared with it. Its baseline is read at once; Total
		// carries on.
		w.restart()
		u = Update{NetNS: w.ns, Time: time.Now()}
		w.read(ctx, &u)
	}
	if errors.Is(u.Err, ErrNetNSGone) {
		// The Reader released the deleted namespace; so does the
		// subscription. A namespace of that name, when there is one
		// again, is subscribed to once its Reader says it was replaced.
		w.unsubscribe()
	}
	if u.Err == nil && (len(u.Report.Findings) > 0 || len(u.Report.Events) > 0) {
		// Copy on write: a Total once delivered never changes.
		t := explain.Tally{Events: maps.Clone(w.total.Events), Candidates: maps.Clone(w.total.Candidates),
			XfrmEvents: maps.Clone(w.total.XfrmEvents)}
		t.Add(u.Report)
		w.total = t
	}
	u.Total = w.total
	return u
}

func (w *watched) newPoller(r *Reader) *poller {
	return &poller{r: r, health: w.m.health != nil, saBuf: -1, saMaxAge: saMaxAge}
}

func (w *watched) read(ctx context.Context, u *Update) {
	if w.src != nil {
		w.readSource(ctx, u)
	} else {
		w.readLive(ctx, u)
	}
}

// restart forgets the previous reading (and the poller's, which holds the
// old namespace's links), the tracker's tunnels and the old namespace's
// event subscription: the next reading is a baseline, and the namespace
// is subscribed to again before it.
func (w *watched) restart() {
	w.prev, w.prevBuf = nil, -1
	if w.p != nil {
		w.p.close()
		w.p = w.newPoller(w.r)
	}
	w.tracker = nil
	w.unsubscribe()
}

// subscribe subscribes to the live namespace's XFRM events. Events that
// came before it were missed: when there is a previous reading to explain
// them against, the next reading says so with an explain.EventsLost, and
// reads the policies again.
func (w *watched) subscribe() {
	q, err := subscribeEvents(w.r, w.m.groups, w.m.maxEvents)
	if err != nil {
		w.qUnread = []Unread{unread("events", err)}
		return
	}
	w.q, w.qUnread = q, nil
	if q.linkErr != nil {
		// Every interval then reads the links in full.
		w.qUnread = []Unread{unread("link_changes", q.linkErr)}
	}
	if w.prev != nil {
		w.addPending(explain.Event{Time: time.Now(), Type: explain.EventsLost}, eventsLost)
	}
}

// unsubscribe closes the subscription, if any, and forgets the events not
// yet in a reading.
func (w *watched) unsubscribe() error {
	var err error
	if w.q != nil {
		err = w.q.close()
		w.q = nil
	}
	w.qUnread, w.pending, w.pendingFlags = nil, nil, 0
	return err
}

// addPending adds one event to those not yet in a reading, within the
// bound, and what it means.
func (w *watched) addPending(e explain.Event, f eventFlags) {
	var dropped bool
	w.pending, dropped = appendEvent(w.pending, e, w.m.maxEvents)
	if dropped {
		f |= eventsLost
	}
	w.pendingFlags |= f
}

// takeEvents moves the events received since the last take to those not
// yet in a reading, and returns those and what they mean. When receiving
// stopped (the socket failed), it subscribes again at once.
func (w *watched) takeEvents() ([]explain.Event, eventFlags) {
	if w.q != nil {
		evs, f, err := w.q.take()
		if len(w.pending) == 0 {
			w.pending = evs
			w.pendingFlags |= f
		} else {
			w.pendingFlags |= f
			for _, e := range evs {
				w.addPending(e, 0)
			}
		}
		if err != nil {
			_ = w.q.close()
			w.q = nil
			w.subscribe()
			if w.q == nil {
				w.qUnread = []Unread{unread("events", err), w.qUnread[0]}
			}
		}
	}
	return w.pending, w.pendingFlags
}

// eventsTaken says the pending events are in a delivered reading.
func (w *watched) eventsTaken() { w.pending, w.pendingFlags = nil, 0 }

// withEventsUnread adds to un why the events are not watched, if they are
// not; un is never appended to in place.
func (w *watched) withEventsUnread(un []Unread) []Unread {
	if w.qUnread == nil {
		return un
	}
	return append(slices.Clip(un), w.qUnread...)
}

// track adds the interval's last reading to the tracker and puts its
// health in u. The Tracker keeps no pointer into the reading (the SAs of
// a poll's reading are overwritten two intervals later).
func (w *watched) track(u *Update, r *explain.Reading) {
	if w.m.health == nil {
		return
	}
	if w.tracker == nil {
		w.tracker = &explain.Tracker{Config: *w.m.health}
	}
	if u.Unchanged {
		hint.Same(r, w.tracker) // it reuses the previous interval's tunnels
	}
	h := new(explain.Health) // the caller's: a Health of its own every interval
	w.tracker.Add(h, r)
	u.Health = h
}

// readSource reads a Config.Open source: a whole Snapshot every interval.
func (w *watched) readSource(ctx context.Context, u *Update) {
	snap, err := w.src.Read(ctx)
	if err == nil && snap == nil {
		err = fmt.Errorf("monitor: the Source of %s returned no Snapshot", w.ns.describe())
	}
	if err != nil {
		u.Err = err
		return
	}
	cur := snap.Reading()
	u.Snapshot, u.Unread, u.Reading = snap, snap.Unread, cur
	if w.prev == nil {
		u.Baseline = true
	} else {
		u.Report = explain.Explain(w.prev, cur)
	}
	w.track(u, cur)
	w.prev = cur
}

// readLive reads a live namespace: a full reading for the baseline, then a
// poll of the counters, and a full reading again when the poll's report
// has findings. With Config.Health the namespace's events are subscribed
// to before its baseline, polls read the SAs when they may have moved and
// the policies when they may have changed, and each interval's events go
// with its reading.
func (w *watched) readLive(ctx context.Context, u *Update) {
	health := w.m.health != nil
	if health && w.q == nil {
		w.subscribe()
	}
	if w.prev == nil {
		if w.q != nil {
			// What came before the baseline is in it.
			w.q.take()
		}
		w.pending, w.pendingFlags = nil, 0
		snap, err := w.r.Read(ctx)
		if err != nil {
			u.Err = err
			return
		}
		base := snap.Reading()
		u.Baseline, u.Snapshot, u.Unread, u.Reading = true, snap, snap.Unread, base
		if health {
			u.Unread = w.withEventsUnread(u.Unread)
			w.p.setFull(base, snap.SPDInfo)
			w.track(u, base)
		}
		w.prev, w.prevBuf = base, -1
		return
	}
	var evs []explain.Event
	reread, fullLinks, quiet := false, false, false
	if health {
		var f eventFlags
		evs, f = w.takeEvents()
		quiet = w.q != nil && len(evs) == 0 && f == 0
		// Without a subscription nothing says when the policies or the
		// links change.
		reread = f&^linksChanged != 0 || w.q == nil
		fullLinks = f&linksChanged != 0 || w.q == nil
	}
	if fullLinks {
		// A link was added, deleted or changed (its state, MTU, name or
		// parameters): a poll would keep the parameters of the last full
		// reading, so this interval takes a full one.
		w.readFull(ctx, u, evs, health)
		return
	}
	b := 0
	if w.prevBuf == 0 {
		b = 1
	}
	cur, unread, err := w.p.poll(ctx, b, reread, w.prev, quiet)
	if err != nil {
		u.Err = err // the events stay pending: the next interval has them
		return
	}
	cur.Events = evs
	rep := explain.Explain(w.prev, cur)
	if len(rep.Findings) == 0 {
		u.Report, u.Unread, u.Reading, u.Unchanged = rep, unread, cur, w.p.unchanged && w.p.wgSame && len(evs) == 0
		if health {
			u.Unread = w.withEventsUnread(u.Unread)
			w.track(u, cur)
			w.eventsTaken()
		}
		w.prev, w.prevBuf = cur, b
		return
	}
	// Something moved: read everything, so that the report has the
	// policies and SAs that settle causes and fill the checks, and fresh
	// tunnel parameters. The interval then ends with this reading.
	w.readFull(ctx, u, evs, health)
}

// readFull ends an interval with a full reading, explained against the
// previous one.
func (w *watched) readFull(ctx context.Context, u *Update, evs []explain.Event, health bool) {
	snap, err := w.r.Read(ctx)
	if err != nil {
		u.Err = err // prev stays: the next interval explains these events
		return
	}
	full := snap.Reading()
	full.Events = evs
	u.Report = explain.Explain(w.prev, full)
	u.Snapshot, u.Unread, u.Reading = snap, snap.Unread, full
	if health {
		u.Unread = w.withEventsUnread(u.Unread)
		w.p.setFull(full, snap.SPDInfo)
		w.track(u, full)
		w.eventsTaken()
	}
	w.prev, w.prevBuf = full, -1
}

func (w *watched) close() error {
	err := w.unsubscribe()
	if w.p != nil {
		err = errors.Join(err, w.p.close())
	}
	if w.r != nil {
		err = errors.Join(err, w.r.Close())
	}
	if w.src != nil {
		err = errors.Join(err, w.src.Close())
	}
	return err
}
