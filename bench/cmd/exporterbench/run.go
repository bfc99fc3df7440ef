//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// scenario is one exporter run.
type scenario struct {
	key   string // old, new, new-sa, new-all
	title string // the table's column
	bin   string
	args  []string // after --listen
	ns    string   // where it runs and is scraped
	mode  string   // scrape, poll or auto
	scope string   // "A" or "B"
}

// result is what one scenario measured.
type result struct {
	sc        *scenario
	err       error
	startup   time.Duration // start to the first served scrape
	perScrape bool          // each scrape reads the namespace
	phases    []phase

	// CPU per poll, and what it was computed from.
	cpuPerPoll  time.Duration
	pollsCPU    time.Duration
	polls       float64
	pollsWindow time.Duration
	pollsFrom   string
	// The same with traffic in the namespace (loopbackTraffic).
	busyPerPoll, busyCPU, busyWindow time.Duration
	busyPolls                        float64

	// loop is the poll loop measured on the scenario's namespaces (the
	// exporters of a scope share it).
	loop *loopBase

	hwm, rssMedian, rssMax uint64 // kB
	rssSamples             int
	last                   *probe // the last probe: series, sizes, namespaces
}

func (c *config) scenarioList(w *world) []*scenario {
	var out []*scenario
	// B first: its namespaces are torn down (by the kernel, in the
	// background) while A's 10 000 tunnels are made, not while A is
	// measured.
	order := []string{"new-all", "old", "new", "new-sa"}
	for _, k := range order {
		if !slices.Contains(c.scenarios, k) {
			continue
		}
		sc := &scenario{key: k, scope: "A", ns: w.nsA(), mode: c.newMode, bin: c.newBin}
		switch k {
		case "old":
			sc.title, sc.bin, sc.args, sc.mode = "old (A)", c.oldBin, c.oldArgs, c.oldMode
		case "new":
			sc.title, sc.args = "new (A)", c.newArgs
		case "new-sa":
			sc.title, sc.args = "new "+strings.Join(c.saArgs, " ")+" (A)", concat(c.newArgs, c.saArgs)
		case "new-all":
			all := make([]string, len(c.allArgs))
			for i, a := range c.allArgs {
				all[i] = strings.ReplaceAll(a, "{ns0}", w.nsB(0))
			}
			sc.title, sc.args, sc.ns, sc.scope = "new "+strings.Join(c.allArgs, " ")+" (B)", concat(c.newArgs, all), w.nsCtl(), "B"
		}
		out = append(out, sc)
	}
	return out
}

// columnOrder is the order of the table's columns.
var columnOrder = []string{"old", "new", "new-sa", "new-all"}

func concat(a, b []string) []string { return append(append([]string(nil), a...), b...) }

func run(ctx context.Context, c *config) error {
	w := newWorld()
	defer w.deleteAll()
	logf("every namespace of this run is named %s…; all are deleted at the end (if this process is killed, -clean %s deletes them)", w.prefix, w.prefix)
	m := newMeta()
	scens := c.scenarioList(w)
	var results []*result
	var failed []string
	builtA := false
	loops := map[string]*loopBase{}
	loop := func(scope string, names []string) *loopBase {
		if c.loopInterval <= 0 {
			return nil
		}
		if b := loops[scope]; b != nil {
			return b
		}
		if err := sleep(ctx, c.settle); err != nil {
			return &loopBase{err: err}
		}
		logf("scenario %s: the poll loop (a monitor without health, in this process) at %v over %v", scope, c.loopInterval, c.idle)
		b := measureLoop(ctx, names, c.loopInterval, c.idle)
		if b.err != nil {
			logf("scenario %s: poll loop: %v", scope, b.err)
		} else {
			logf("scenario %s: poll loop: %v per pass (%v over %.1f passes in %v)", scope, b.perPass, b.cpu, b.passes, b.window.Round(time.Millisecond))
		}
		loops[scope] = &b
		return &b
	}
	for _, sc := range scens {
		if err := ctx.Err(); err != nil {
			return err
		}
		if sc.scope == "B" {
			if err := w.add(ctx, w.nsCtl()); err != nil {
				return err
			}
			if err := ip(ctx, "", "-n", w.nsCtl(), "link", "set", "lo", "up"); err != nil {
				return err
			}
			if err := w.buildB(ctx, c.namespaces, c.nsTunnels, c.workers); err != nil {
				return err
			}
		} else if !builtA {
			if err := w.buildA(ctx, c.tunnels); err != nil {
				return err
			}
			builtA = true
		}
		var base *loopBase
		if sc.key != "old" {
			names := []string{w.nsA()}
			if sc.scope == "B" {
				names = names[:0]
				for k := range c.namespaces {
					names = append(names, w.nsB(k))
				}
			}
			base = loop(sc.scope, names)
		}
		logf("%s: %s %s", sc.title, sc.bin, strings.Join(sc.args, " "))
		r := runScenario(ctx, c, w, sc)
		r.loop = base
		results = append(results, r)
		if r.err != nil {
			if errors.Is(r.err, context.Canceled) {
				return r.err
			}
			logf("%s: FAILED: %v", sc.title, r.err)
			failed = append(failed, sc.key)
		} else {
			logf("%s: done", sc.title)
		}
		if sc.scope == "B" {
			names := []string{w.nsCtl()}
			for k := range c.namespaces {
				names = append(names, w.nsB(k))
			}
			w.del(names...)
		}
	}
	m.load1 = loadavg()
	// The table's columns: old first, whatever ran first.
	slices.SortStableFunc(results, func(a, b *result) int {
		return slices.Index(columnOrder, a.sc.key) - slices.Index(columnOrder, b.sc.key)
	})
	var out strings.Builder
	report(&out, c, m, results)
	fmt.Print(out.String())
	if c.out != "" {
		if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(c.out, []byte(out.String()), 0o644); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func runScenario(ctx context.Context, c *config, w *world, sc *scenario) (r *result) {
	r = &result{sc: sc}
	r.err = measure(ctx, c, w, sc, r)
	return r
}

func measure(ctx context.Context, c *config, w *world, sc *scenario, r *result) error {
	if err := sleep(ctx, c.settle); err != nil {
		return err
	}
	bPrefix := ""
	if sc.scope == "B" {
		bPrefix = w.bPrefix()
	}
	port := c.port
	p, err := startProc(sc.ns, sc.bin, concat([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)}, sc.args))
	if err != nil {
		return err
	}
	defer func() {
		p.sampleNow()
		r.hwm, r.rssMedian, r.rssMax, r.rssSamples = p.memory()
		p.stop()
	}()
	s, err := newScraper(sc.ns, port, c.gzip, c.scrapeTimeout)
	if err != nil {
		return err
	}
	defer s.close()

	// The first served scrape.
	t0 := time.Now()
	for {
		if p.exited() {
			return p.exitError()
		}
		_, err := s.timed(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(t0) > c.startTimeout {
			return fmt.Errorf("no scrape served within %v (last: %v); output:\n%s", c.startTimeout, err, p.out.String())
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	r.startup = time.Since(t0)
	if err := p.checkExe(); err != nil {
		return err
	}
	p.serving()
	logf("%s: serving after %v (PID %d)", sc.title, r.startup.Round(time.Millisecond), p.pid)
	for range c.warmup {
		if _, err := s.timed(ctx); err != nil {
			return fmt.Errorf("warm-up scrape: %w", err)
		}
	}

	// Does every scrape read? Three probes back to back: a reading each
	// moves the counter by exactly one each time.
	var probes [3]*probe
	for i := range probes {
		if probes[i], err = s.probe(ctx, bPrefix, c); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
	d1, d2 := probes[1].expo.cycles()-probes[0].expo.cycles(), probes[2].expo.cycles()-probes[1].expo.cycles()
	switch sc.mode {
	case "scrape":
		r.perScrape = true
	case "poll":
		r.perScrape = false
	default:
		r.perScrape = d1 == 1 && d2 == 1
	}
	if probes[0].expo.pollsN == 0 {
		return fmt.Errorf("no %s in the exposition: set -polls-metric", c.pollsMetric)
	}
	logf("%s: %d series, %d bytes (%d on the wire), counter moved %g and %g over 3 scrapes back to back: %s",
		sc.title, probes[2].expo.series, probes[2].body, probes[2].wire, d1, d2, map[bool]string{true: "reads on every scrape", false: "polls in the background"}[r.perScrape])
	prev := probes[2]

	for _, n := range c.clients {
		cpu0, err := p.cpu()
		if err != nil {
			return err
		}
		ph := runPhase(ctx, s, n, c.scrapes)
		cpu1, err := p.cpu()
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.exited() {
			return p.exitError()
		}
		if len(ph.lat) == 0 {
			return fmt.Errorf("%d clients: every scrape failed: %v", n, ph.firstErr)
		}
		pr, err := s.probe(ctx, bPrefix, c)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		ph.cpu = cpu1 - cpu0
		ph.readings = pr.expo.cycles() - prev.expo.cycles()
		ph.failed = pr.expo.failures - prev.expo.failures
		if r.perScrape {
			ph.readings-- // the probe's own reading, after the phase
		}
		prev = pr
		r.phases = append(r.phases, ph)
		logf("%s: %d clients × %d scrapes: p50 %v p99 %v, %d errors, CPU %v, %.1f readings (%g failed), %v wall",
			sc.title, n, c.scrapes, pct(ph.lat, 50).Round(time.Microsecond), pct(ph.lat, 99).Round(time.Microsecond),
			ph.errs, ph.cpu, ph.readings, ph.failed, ph.wall.Round(time.Millisecond))
		if ph.errs > 0 {
			logf("%s: first error: %v", sc.title, ph.firstErr)
		}
	}

	if r.perScrape {
		// Each scrape is a poll: the CPU of the phase with one client
		// over the readings it made.
		ph := r.phases[0]
		for _, q := range r.phases {
			if q.clients == 1 {
				ph = q
				break
			}
		}
		r.pollsCPU, r.polls, r.pollsWindow = ph.cpu, ph.readings, ph.wall
		r.pollsFrom = fmt.Sprintf("the %d-client phase: its CPU over its readings", ph.clients)
	} else {
		// Without scrapes means without the scrapers' idle keep-alive
		// connections too: their TCP keep-alive probes move the
		// loopback's counters, and a namespace in which anything moved is
		// read as a busy one (measured next).
		s.client.CloseIdleConnections()
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		cpu0, err := p.cpu()
		if err != nil {
			return err
		}
		t := time.Now()
		if err := sleep(ctx, c.idle); err != nil {
			return err
		}
		cpu1, err := p.cpu()
		if err != nil {
			return err
		}
		wall := time.Since(t)
		pr, err := s.probe(ctx, bPrefix, c)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		r.pollsCPU, r.polls, r.pollsWindow = cpu1-cpu0, pr.expo.cycles()-prev.expo.cycles(), wall
		r.pollsFrom = fmt.Sprintf("a %v window without scrapes: its CPU over the polls in it", c.idle)
		prev = pr
		if r.polls <= 0 {
			return fmt.Errorf("%s did not move in %v without scrapes: does the exporter poll in the background? (-new-mode scrape if not)", c.pollsMetric, c.idle)
		}
		// The same window with traffic in the namespace that no series
		// shows: a UDP datagram to the loopback every 100 ms, so that
		// something moves in every interval.
		s.client.CloseIdleConnections()
		stop, err := loopbackTraffic(s, 100*time.Millisecond)
		if err != nil {
			return fmt.Errorf("traffic on the loopback: %w", err)
		}
		cpu0, err = p.cpu()
		if err != nil {
			stop()
			return err
		}
		t = time.Now()
		err = sleep(ctx, c.idle)
		cpu1, err2 := p.cpu()
		wall = time.Since(t)
		stop()
		if err = errors.Join(err, err2); err != nil {
			return err
		}
		pr, err = s.probe(ctx, bPrefix, c)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		r.busyCPU, r.busyPolls, r.busyWindow = cpu1-cpu0, pr.expo.cycles()-prev.expo.cycles(), wall
		prev = pr
		if r.busyPolls > 0 {
			r.busyPerPoll = time.Duration(float64(r.busyCPU) / r.busyPolls)
		}
	}
	if r.polls > 0 {
		r.cpuPerPoll = time.Duration(float64(r.pollsCPU) / r.polls)
	}
	r.last = prev
	if p.exited() {
		return p.exitError()
	}
	return nil
}
