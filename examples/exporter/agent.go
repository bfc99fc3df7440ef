package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// agent is the exporter's background loop: it watches each namespace with
// a monitor.Monitor of its own, in a goroutine of its own, and publishes
// every interval's poll to the Exporter. With --netns all it discovers the
// namespaces again every interval, starting a monitor for each new one and
// stopping those of the namespaces that are gone.
type agent struct {
	e        *Exporter
	interval time.Duration
	logf     func(format string, args ...any)

	// all: discover the namespaces every interval; else watch fixed,
	// labelled label.
	all   bool
	fixed monitor.NetNS
	label string

	// discover lists the namespaces (discoverNetNS); hold opens one for
	// its monitor (holdNetNS). Tests replace them.
	discover func() (discovery, error)
	hold     func(candidate) (monitor.NetNS, io.Closer, error)
	// open is monitor.Config.Open: nil reads live; tests replay
	// snapshots.
	open func(ctx context.Context, ns monitor.NetNS) (monitor.Source, error)

	runners map[nsKey]*runner
	wg      sync.WaitGroup
}

// errNoDiscovery: --netns all on a system without network namespaces.
var errNoDiscovery = errors.New("--netns all: discovering network namespaces needs Linux (/run/netns, /proc/PID/ns/net)")

// errChanged: the namespace at a path is not the one discovery found
// there a moment before (a process exited and its PID was reused, a name
// was deleted and added again).
var errChanged = errors.New("the namespace changed between two looks")

// skipReason is the reason a namespace was skipped, for
// tunnelstat_netns_discovery_skips_total.
func skipReason(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ESRCH):
		return "gone" // the process exited, the name was deleted
	case errors.Is(err, os.ErrPermission):
		return "permission"
	case errors.Is(err, errChanged):
		return "changed"
	}
	return "error"
}

// runner is one namespace's monitor.
type runner struct {
	ent    *nsEntry
	cancel context.CancelFunc
}

// candidate is a namespace discovery found.
type candidate struct {
	key   nsKey
	label string
	// path opens it: /run/netns/NAME, or /proc/PID/ns/net of a process
	// in it; "" for the exporter's own namespace (own).
	path string
	own  bool
}

// discovery is what one discovery pass found: the namespaces, each once,
// and how many it skipped, by reason (skipReasons).
type discovery struct {
	found   []candidate
	skipped map[string]int
}

// run watches until ctx is done, then stops every monitor and returns
// once they have ended.
func (a *agent) run(ctx context.Context) {
	defer a.wg.Wait()
	a.runners = map[nsKey]*runner{}
	if !a.all {
		a.start(ctx, nsKey{}, a.label, a.fixed, nil)
		a.e.arm()
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for first := true; ; first = false {
		a.pass(ctx)
		if first {
			a.e.arm()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pass discovers the namespaces once and starts and stops monitors to
// match. A namespace it cannot take is skipped (and counted), never the
// whole pass; a failed pass keeps the namespaces watched as they are.
func (a *agent) pass(ctx context.Context) {
	d, err := a.discover()
	if err != nil {
		a.log("discovering network namespaces: %v", err)
		a.e.skipped(map[string]int{"error": 1})
		return
	}
	if d.skipped == nil {
		d.skipped = map[string]int{}
	}
	seen := make(map[nsKey]bool, len(d.found))
	for _, c := range d.found {
		seen[c.key] = true
	}
	// Gone ones first, so that a name that moved to another namespace is
	// never on two at once.
	for key, r := range a.runners {
		if !seen[key] {
			a.log("%s is gone: no longer watched", describe(a.e.label(r.ent)))
			a.e.dropNS(r.ent)
			r.cancel()
			delete(a.runners, key)
		}
	}
	for _, c := range d.found {
		if r := a.runners[c.key]; r != nil {
			if old := a.e.label(r.ent); old != c.label {
				a.log("%s is now %s", describe(old), describe(c.label))
				a.e.relabel(r.ent, c.label)
			}
			continue
		}
		ns, closer, err := a.hold(c)
		if err != nil {
			d.skipped[skipReason(err)]++
			continue
		}
		a.log("watching %s", describe(c.label))
		a.start(ctx, c.key, c.label, ns, closer)
	}
	a.e.skipped(d.skipped)
}

// start runs a monitor of ns until ctx is done or the namespace is
// dropped; closer (the namespace's descriptor) is closed after it.
func (a *agent) start(ctx context.Context, key nsKey, label string, ns monitor.NetNS, closer io.Closer) {
	ent := a.e.addNS(key, label)
	ctx, cancel := context.WithCancel(ctx)
	a.runners[key] = &runner{ent: ent, cancel: cancel}
	a.wg.Go(func() {
		defer cancel()
		if closer != nil {
			defer closer.Close()
		}
		a.watch(ctx, ent, ns)
	})
}

// watch runs one namespace's monitor, with health (XFRM events, SAs every
// interval), and publishes every interval's poll, rendered.
//
// Each interval's series come from what the monitor read in it: the
// counters, MIB, SAs and policies of Update.Reading, every interval; the
// links' operational state and MTU, the SPD and SAD info and the default
// policies of the latest full reading (Update.Snapshot, at the baseline
// and in every interval where something moved), which the nsWriter keeps.
// The exporter never reads the namespace itself.
func (a *agent) watch(ctx context.Context, ent *nsEntry, ns monitor.NetNS) {
	m, err := monitor.New(&monitor.Config{Interval: a.interval, Open: a.open, Health: &explain.HealthConfig{}}, ns)
	if err != nil { // cannot happen (a positive interval, one namespace); said rather than waited for
		a.log("%s: %v", describe(a.e.label(ent)), err)
		a.e.publish(ent, &poll{time: time.Now(), err: err, reason: failureReason(err)})
		return
	}
	defer m.Close()
	w := &nsWriter{saMetrics: a.e.saMetrics}
	good := false // a reading succeeded: a baseline after it is a new namespace
	_ = m.Run(ctx, func(u monitor.Update) error {
		if u.Err == nil && u.Reading == nil {
			u.Err = errNoReading // not from this monitor; said rather than rendered wrong
		}
		p := &poll{time: u.Time, duration: time.Since(u.Time), err: u.Err}
		if u.Err == nil && u.Baseline && good {
			a.log("%s was replaced (deleted and added again): nothing of the old one is compared with the new one; the cause counters carry on", describe(a.e.label(ent)))
		}
		if p.err != nil {
			p.reason = failureReason(p.err)
		} else {
			good = true
		}
		// Rendered here, off the scrape path, and to bytes: nothing of u
		// (the monitor's storage) is kept once this returns.
		p.samples = w.render(a.e.label(ent), &u)
		failed, recovered := a.e.publish(ent, p)
		switch {
		case failed:
			a.log("%s: poll failed: %v", describe(a.e.label(ent)), p.err)
		case recovered:
			a.log("%s: read again", describe(a.e.label(ent)))
		}
		return nil
	})
}

// errNoReading: an Update without error and without a Reading.
var errNoReading = errors.New("monitor: an interval without a reading")

func (a *agent) log(format string, args ...any) {
	if a.logf != nil {
		a.logf(format, args...)
	}
}

// describe names a namespace by its label in the log.
func describe(label string) string {
	if label == "" {
		return "this network namespace"
	}
	return "network namespace " + strconv.Quote(label)
}

// inodeLabel is the netns label of a namespace without a name.
func inodeLabel(ino uint64) string { return fmt.Sprintf("inode:%d", ino) }
