package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// source is what the exporter reads: a monitor.Reader, or a fake in tests.
type source interface {
	Read(ctx context.Context) (*monitor.Snapshot, error)
}

// contentType is the text exposition format, the one format served.
var contentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// Exporter serves the metrics of one network namespace.
//
// A scrape takes a fresh reading, unless one is already under way: then
// it waits for that one and serves it too. So concurrent scrapes share one
// reading instead of queueing one each, and readings never overlap. The
// explanation of what moved since the previous reading feeds the cause
// counters, which therefore count each event once, however many servers
// scrape.
//
// A reading is rendered once into the text format (and, the first time a
// scraper asks for it, gzipped once); every scrape of it writes those
// same bytes. At most maxRequests scrapes are served at once; a scrape
// past that waits for a turn as long as a reading may take, then gets 503.
// So the memory held for responses is at most (maxRequests + 1) ×
// (rendered size + its gzipped copy), and usually one of each: each scrape
// keeps its reading's bytes until its response is written, which the
// server's write timeout bounds.
type Exporter struct {
	src     source
	timeout time.Duration
	// logf reports failed readings (log.Printf); nil: silent.
	logf func(format string, args ...any)

	// slots holds a token per scrape being served.
	slots chan struct{}

	mu       sync.Mutex
	pending  *reading // the reading under way, nil if none
	rejected uint64   // scrapes turned away with 503
	lastSize int      // the previous rendering's size, to size the next

	// Used by the reading under way only (one at a time).
	prev     *explain.Reading
	causes   explain.Tally // every reading's events, each counted once
	scrapes  uint64
	failures uint64
}

// reading is one reading of the namespace, rendered for every scrape that
// shares it. body and gz are never modified once set.
type reading struct {
	done chan struct{} // closed when body is set
	body []byte

	gzOnce sync.Once
	gz     []byte
}

// NewExporter returns an exporter reading src, each reading bounded by
// timeout (and by the scraper's own timeout, when the scrape that starts it
// sends one), measured from when the reading starts; at most maxRequests
// scrapes are served at once.
func NewExporter(src source, timeout time.Duration, maxRequests int) *Exporter {
	return &Exporter{src: src, timeout: timeout, slots: make(chan struct{}, max(maxRequests, 1))}
}

// ServeHTTP serves one scrape.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	timeout := e.timeout
	// Prometheus says how long it waits; answer a little before that.
	if s, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64); err == nil && s > 0 {
		timeout = min(timeout, max(time.Duration(s*float64(time.Second))-250*time.Millisecond, 100*time.Millisecond))
	}
	if !e.acquire(r.Context(), timeout) {
		e.mu.Lock()
		e.rejected++
		e.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "tunnelstat exporter: too many scrapes in flight, try again", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-e.slots }()

	rd := e.join(timeout)
	select {
	case <-rd.done:
	case <-r.Context().Done():
		return // the scraper left
	}
	body := rd.body
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = rd.gzipped()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // an error is the scraper's: it left, or the write timeout cut it off
	}
}

// acquire waits for a turn to serve a scrape, at most wait.
func (e *Exporter) acquire(ctx context.Context, wait time.Duration) bool {
	select {
	case e.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case e.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// join returns the reading under way, or takes one.
func (e *Exporter) join(timeout time.Duration) *reading {
	e.mu.Lock()
	if rd := e.pending; rd != nil {
		e.mu.Unlock()
		return rd
	}
	rd := &reading{done: make(chan struct{})}
	e.pending = rd
	size := e.lastSize
	e.mu.Unlock()

	rd.body = e.take(timeout, size)

	e.mu.Lock()
	e.pending = nil
	e.lastSize = len(rd.body)
	e.mu.Unlock()
	close(rd.done)
	return rd
}

// take reads the namespace, explains what moved since the previous reading
// and renders the metrics. The timeout starts now, not when the scrape
// arrived.
func (e *Exporter) take(timeout time.Duration, size int) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	snap, err := e.src.Read(ctx)
	if errors.Is(err, monitor.ErrNetNSReplaced) {
		// Nothing of the old namespace is compared with the new one; the
		// cause counters carry on from there.
		e.log("%v: the cause counters go on with the new namespace", err)
		e.prev = nil
		snap, err = e.src.Read(ctx)
	}
	e.scrapes++
	c := &collector{snap: snap, causes: &e.causes, duration: time.Since(start)}
	if err != nil {
		e.failures++
		c.snap, c.reason = nil, failureReason(err)
		e.log("scrape failed: %v", err)
	} else {
		cur := snap.Reading()
		if e.prev != nil {
			e.causes.Add(explain.Explain(e.prev, cur))
		}
		e.prev = cur
	}
	e.mu.Lock()
	c.scrapes, c.failures, c.rejected = e.scrapes, e.failures, e.rejected
	e.mu.Unlock()

	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		// What could be gathered is served (promhttp's ContinueOnError).
		e.log("scrape: %v", err)
	}
	var buf bytes.Buffer
	buf.Grow(size + size/8)
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			e.log("scrape: render %s: %v", mf.GetName(), err)
		}
	}
	return buf.Bytes()
}

func (e *Exporter) log(format string, args ...any) {
	if e.logf != nil {
		e.logf(format, args...)
	}
}

// gzipped returns the body gzipped, compressing it the first time.
func (rd *reading) gzipped() []byte {
	rd.gzOnce.Do(func() {
		var buf bytes.Buffer
		buf.Grow(len(rd.body) / 8)
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(rd.body) // a bytes.Buffer does not fail
		_ = zw.Close()
		rd.gz = buf.Bytes()
	})
	return rd.gz
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// failureReason is the reason label of tunnelstat_read_error.
func failureReason(err error) string {
	switch {
	case errors.Is(err, monitor.ErrNetNSGone):
		return "netns_gone"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, os.ErrPermission):
		return "permission"
	}
	return "error"
}

// collector is the metrics of one reading.
type collector struct {
	snap     *monitor.Snapshot // nil when the reading failed
	reason   string            // why it failed
	causes   *explain.Tally
	duration time.Duration

	scrapes, failures, rejected uint64
}

// Describe sends no descriptor: the metrics depend on what the namespace
// holds (an unchecked collector, registered for one reading only).
func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.snap != nil {
		up = 1
		collectSnapshot(ch, c.snap)
	} else {
		gauge(ch, descReadError, 1, c.reason)
	}
	collectCauses(ch, c.causes)
	gauge(ch, descUp, up)
	counter(ch, descScrapes, c.scrapes)
	counter(ch, descFailures, c.failures)
	counter(ch, descRejected, c.rejected)
	gauge(ch, descDuration, c.duration.Seconds())
}
