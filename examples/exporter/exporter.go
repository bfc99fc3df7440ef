package main

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// source is what the exporter reads: a monitor.Reader, or a fake in tests.
type source interface {
	Read(ctx context.Context) (*monitor.Snapshot, error)
}

// Exporter serves the metrics of one network namespace. Every scrape
// takes a fresh reading; the explanation of what moved since the previous
// scrape feeds the cause counters, which therefore count each event once,
// however many servers scrape.
type Exporter struct {
	src     source
	timeout time.Duration
	// logf reports failed scrapes (log.Printf); nil: silent.
	logf func(format string, args ...any)

	// mu serialises scrapes: each one reads, explains against the previous
	// reading and adds to the cause counters.
	mu       sync.Mutex
	prev     *explain.Reading
	causes   explain.Tally // every scrape's events, each counted once
	scrapes  uint64
	failures uint64
}

// NewExporter returns an exporter reading src, each scrape bounded by
// timeout (and by the scraper's own timeout, when it sends one).
func NewExporter(src source, timeout time.Duration) *Exporter {
	return &Exporter{src: src, timeout: timeout}
}

// ServeHTTP serves one scrape.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	timeout := e.timeout
	// Prometheus says how long it waits; answer a little before that.
	if s, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64); err == nil && s > 0 {
		timeout = min(timeout, max(time.Duration(s*float64(time.Second))-250*time.Millisecond, 100*time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(&scrape{e: e, ctx: ctx})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// scrape is the collector of one request.
type scrape struct {
	e   *Exporter
	ctx context.Context
}

// Describe sends no descriptor: the metrics depend on what the namespace
// holds (an unchecked collector, registered for one request only).
func (s *scrape) Describe(chan<- *prometheus.Desc) {}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	snap, err := e.src.Read(s.ctx)
	e.scrapes++
	up := 1.0
	if err != nil {
		e.failures++
		up = 0
		if e.logf != nil {
			e.logf("scrape failed: %v", err)
		}
	} else {
		cur := snap.Reading()
		if e.prev != nil {
			e.causes.Add(explain.Explain(e.prev, cur))
		}
		e.prev = cur
		collectSnapshot(ch, snap)
	}
	collectCauses(ch, &e.causes)
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descScrapes, prometheus.CounterValue, float64(e.scrapes))
	ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(e.failures))
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, time.Since(start).Seconds())
}
