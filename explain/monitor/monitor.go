package monitor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
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
	// namespace's XFRM events and reads its SAs every interval (its
	// policies when events or the SPD size say they changed), and each
	// Update carries Health. The interval's events are in
	// Update.Report.Events and counted in Update.Total.XfrmEvents. nil:
	// neither events nor health, and an interval in which nothing moved
	// reads no SA.
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
	// Unread lists the parts of this interval's reading that could not be
	// read: of a full reading every part (Snapshot.Unread), of a poll the
	// XFRM MIB. Do not modify it.
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
	watched  []*watched

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
	m := &Monitor{interval: cfg.Interval, open: cfg.Open}
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
		m.watched = append(m.watched, &watched{ns: ns, prevBuf: -1})
	}
	return m, nil
}

// Run watches the namespaces until ctx is done or fn returns an error.
// Every interval it reads all namespaces, concurrently, then calls fn with
// one Update per namespace, in the order given to New, from the goroutine
// that called Run. The first interval starts at once; when an interval
// (fn included) takes longer than Config.Interval, the next starts as soon
// as it ends.
//
// A namespace that cannot be opened or read yields an Update with Err and
// is tried again next interval; it does not stop the others.
//
// Run returns ctx.Err() when ctx is done, nil when fn returns ErrStop, and
// fn's error as it is otherwise. Every goroutine it starts has ended when
// it returns. Run may be called again after it returned: it carries on
// from the previous readings and totals. It may not run twice at once,
// and returns an error matching os.ErrClosed after Close.
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

	ticker := time.NewTicker(m.interval)
	defer ticker.Stop()
	updates := make([]Update, n)
	for {
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// Close closes every namespace's sockets (or Source). Call it once Run has
// returned; Close during Run is an error. Close is idempotent.
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
		w.r, w.p = r, &poller{r: r}
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
	if u.Err == nil && len(u.Report.Findings) > 0 {
		// Copy on write: a Total once delivered never changes.
		t := explain.Tally{Events: maps.Clone(w.total.Events), Candidates: maps.Clone(w.total.Candidates)}
		t.Add(u.Report)
		w.total = t
	}
	u.Total = w.total
	return u
}

func (w *watched) read(ctx context.Context, u *Update) {
	if w.src != nil {
		w.readSource(ctx, u)
	} else {
		w.readLive(ctx, u)
	}
}

// restart forgets the previous reading (and the poller's, which holds the
// old namespace's links): the next reading is a baseline.
func (w *watched) restart() {
	w.prev, w.prevBuf = nil, -1
	if w.p != nil {
		w.p.close()
		w.p = &poller{r: w.r}
	}
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
	u.Snapshot, u.Unread = snap, snap.Unread
	if w.prev == nil {
		u.Baseline = true
	} else {
		u.Report = explain.Explain(w.prev, cur)
	}
	w.prev = cur
}

// readLive reads a live namespace: a full reading for the baseline, then a
// poll of the counters, and a full reading again when the poll's report
// has findings.
func (w *watched) readLive(ctx context.Context, u *Update) {
	if w.prev == nil {
		snap, err := w.r.Read(ctx)
		if err != nil {
			u.Err = err
			return
		}
		u.Baseline, u.Snapshot, u.Unread = true, snap, snap.Unread
		w.prev, w.prevBuf = snap.Reading(), -1
		return
	}
	b := 0
	if w.prevBuf == 0 {
		b = 1
	}
	cur, unread, err := w.p.poll(ctx, b)
	if err != nil {
		u.Err = err
		return
	}
	rep := explain.Explain(w.prev, cur)
	if len(rep.Findings) == 0 {
		u.Report, u.Unread = rep, unread
		w.prev, w.prevBuf = cur, b
		return
	}
	// Something moved: read everything, so that the report has the
	// policies and SAs that settle causes and fill the checks, and fresh
	// tunnel parameters. The interval then ends with this reading.
	snap, err := w.r.Read(ctx)
	if err != nil {
		u.Err = err // prev stays: the next interval explains these events
		return
	}
	full := snap.Reading()
	u.Report = explain.Explain(w.prev, full)
	u.Snapshot, u.Unread = snap, snap.Unread
	w.prev, w.prevBuf = full, -1
}

func (w *watched) close() error {
	var err error
	if w.p != nil {
		err = w.p.close()
	}
	if w.r != nil {
		err = errors.Join(err, w.r.Close())
	}
	if w.src != nil {
		err = errors.Join(err, w.src.Close())
	}
	return err
}
