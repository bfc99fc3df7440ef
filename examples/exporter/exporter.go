package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// Exporter serves the last poll of every namespace it watches.
//
// Scrapes never read a namespace: the background loop (agent) polls each
// one every interval, renders what it read into the text format's sample
// lines, family by family (nsWriter), and publishes those bytes. The
// first scrape after a publication assembles every namespace's last
// samples into one response, each family's HELP and TYPE once and then
// every namespace's lines of it (and, the first time a scraper asks for
// it, gzips it once); scrapes that arrive meanwhile wait for that
// assembly, and every later scrape writes the same bytes until the next
// publication. So however many scrapers come, there is at most one
// assembly per publication and none without one, and an assembly copies
// bytes: it formats only the few series of each namespace's poll counts.
//
// At most maxRequests scrapes are served at once; one more waits for a
// turn up to wait (or the scraper's own timeout, when shorter), then gets
// 503 with Retry-After. The same wait bounds how long a scrape waits for
// the first poll after start-up. The memory held for responses is at most
// (maxRequests + 1) × (rendered size + its gzipped copy), one of each in
// practice, and none from a poll to the next scrape: each scrape keeps the
// rendering it was given until its response is written, which the
// server's write timeout bounds, and the Exporter lets its last rendering
// go as soon as a poll makes it stale. Besides
// those, each namespace's last samples are kept (together about one
// response's size), and each namespace's agent holds the one it renders
// until it publishes it.
type Exporter struct {
	saMetrics bool
	wait      time.Duration

	// slots holds a token per scrape being served.
	slots chan struct{}

	mu  sync.Mutex
	ns  map[nsKey]*nsEntry
	gen uint64 // bumped by every change a rendering shows
	// ready is closed once every namespace of the first discovery has
	// published its first poll (armed: that discovery is done).
	ready       chan struct{}
	armed       bool
	readyClosed bool
	rejected    uint64
	// skips counts discovery's skipped namespaces by reason; nil without
	// --netns all.
	skips    map[string]uint64
	cur      *rendering // the latest rendering
	pending  *rendering // the rendering under way, nil if none
	lastSize int
	rendered uint64 // renderings made
}

// nsKey identifies a namespace: the device and inode of its nsfs file.
// With a fixed --netns there is one namespace, key {}.
type nsKey struct{ dev, ino uint64 }

// nsEntry is one namespace the exporter watches. Its fields are guarded by
// Exporter.mu; last is never modified once published, and its samples
// are labelled label.
type nsEntry struct {
	key   nsKey
	label string // the netns label
	last  *poll  // nil before the first poll ends
	// Polls and failed polls since the namespace was first watched.
	polls, failures uint64
	// ok: the previous poll succeeded (to log changes only).
	ok bool
}

// poll is what one interval read of a namespace, as rendered.
type poll struct {
	time     time.Time
	duration time.Duration
	// err is why the namespace could not be read; then reason is
	// tunnelstat_read_error's label.
	err    error
	reason string
	// samples are the namespace's series of the poll (those of the cause
	// counters and XFRM events only, when it failed), but for its poll
	// counts, which the assembly writes.
	samples *nsSamples
}

// rendering is the exposition of one generation of polls, shared by every
// scrape that serves it. body and gz are never modified once set.
type rendering struct {
	gen  uint64
	done chan struct{} // closed when body is set
	body []byte

	gzOnce sync.Once
	gz     []byte
}

// newExporter returns an Exporter that serves at most maxRequests scrapes
// at once, each waiting at most wait for its turn, with the per-SA series
// when saMetrics.
func newExporter(maxRequests int, wait time.Duration, saMetrics bool) *Exporter {
	return &Exporter{
		saMetrics: saMetrics,
		wait:      wait,
		slots:     make(chan struct{}, max(maxRequests, 1)),
		ns:        map[nsKey]*nsEntry{},
		ready:     make(chan struct{}),
	}
}

// addNS starts watching a namespace under label; its series appear with
// its first poll.
func (e *Exporter) addNS(key nsKey, label string) *nsEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := &nsEntry{key: key, label: label}
	e.ns[key] = ent
	return ent
}

// dropNS stops watching a namespace: its series go with the next
// rendering.
func (e *Exporter) dropNS(ent *nsEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ns[ent.key] == ent {
		delete(e.ns, ent.key)
		e.changed()
		e.checkReady()
	}
}

// relabel changes a namespace's label (a name added to or removed from
// /run/netns while it lives), and that of its last samples.
func (e *Exporter) relabel(ent *nsEntry, label string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent.label == label {
		return
	}
	ent.label = label
	e.changed()
	for p := ent.last; p != nil && p.samples != nil && p.samples.label != label; p = ent.last {
		// Rewritten outside the lock (it copies every sample); meanwhile
		// renderings show the samples under the label they have.
		e.mu.Unlock()
		np := *p
		np.samples = p.samples.relabelled(label)
		e.mu.Lock()
		if ent.label != label {
			return // relabelled again meanwhile
		}
		if ent.last == p {
			ent.last = &np
			e.changed()
		}
		// Else a poll was published meanwhile, relabelled by publish.
	}
}

// label returns a namespace's current label.
func (e *Exporter) label(ent *nsEntry) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return ent.label
}

// publish makes p the namespace's last poll, unless it is no longer
// watched. It reports whether the poll failed where the previous one
// succeeded (or the first one failed) and whether it succeeded where the
// previous one failed, for the log.
func (e *Exporter) publish(ent *nsEntry, p *poll) (failed, recovered bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for p.samples != nil && p.samples.label != ent.label {
		// Relabelled while the poll was rendered.
		label := ent.label
		e.mu.Unlock()
		np := *p
		np.samples = p.samples.relabelled(label)
		p = &np
		e.mu.Lock()
	}
	if e.ns[ent.key] != ent {
		return false, false
	}
	first := ent.last == nil
	ent.polls++
	if p.err != nil {
		ent.failures++
		failed = ent.ok || first || ent.last.reason != p.reason
	} else {
		recovered = !ent.ok && !first
	}
	ent.ok = p.err == nil
	ent.last = p
	e.changed()
	e.checkReady()
	return failed, recovered
}

// arm says the first discovery is done: scrapes are served once each
// namespace it found has published a poll.
func (e *Exporter) arm() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.armed = true
	e.checkReady()
}

func (e *Exporter) checkReady() {
	if !e.armed || e.readyClosed {
		return
	}
	for _, ent := range e.ns {
		if ent.last == nil {
			return
		}
	}
	e.readyClosed = true
	close(e.ready)
}

// skipped adds a discovery pass's skipped namespaces to the counts; the
// first call (even with none) makes every reason a series.
func (e *Exporter) skipped(reasons map[string]int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := e.skips == nil
	if e.skips == nil {
		e.skips = map[string]uint64{}
		for _, r := range skipReasons {
			e.skips[r] = 0
		}
	}
	for r, n := range reasons {
		if n > 0 {
			e.skips[r] += uint64(n)
			changed = true
		}
	}
	if changed {
		e.changed()
	}
}

// skipReasons are tunnelstat_netns_discovery_skips_total's reasons.
var skipReasons = []string{"gone", "permission", "not_netns", "changed", "error"}

// ServeHTTP serves one scrape.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wait := e.wait
	// Prometheus says how long it waits; answer a little before that.
	if s, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64); err == nil && s > 0 {
		wait = min(wait, max(time.Duration(s*float64(time.Second))-250*time.Millisecond, 100*time.Millisecond))
	}
	deadline := time.Now().Add(wait)
	if !e.acquire(r.Context(), deadline) {
		e.reject(w, "too many scrapes in flight")
		return
	}
	defer func() { <-e.slots }()

	rd := e.rendering(r.Context(), deadline)
	if rd == nil {
		if r.Context().Err() == nil {
			e.reject(w, "no poll has ended yet")
		}
		return
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

// changed says a rendering would show something new: the next scrape
// renders again, and the last rendering, never to be served again, is let
// go (scrapes being served keep theirs). Call with e.mu held.
func (e *Exporter) changed() {
	e.gen++
	e.cur = nil
}

// reject answers 503 with Retry-After, and counts it.
func (e *Exporter) reject(w http.ResponseWriter, why string) {
	e.mu.Lock()
	e.rejected++
	e.mu.Unlock()
	w.Header().Set("Retry-After", "1")
	http.Error(w, "tunnelstat exporter: "+why+", try again", http.StatusServiceUnavailable)
}

// acquire waits for a turn to serve a scrape, until deadline.
func (e *Exporter) acquire(ctx context.Context, deadline time.Time) bool {
	select {
	case e.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case e.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// rendering returns the rendering of the latest polls: the one made
// already, the one under way, or a new one. Before the first polls have
// ended it waits for them until deadline; nil if they did not end by then
// or the scraper left.
func (e *Exporter) rendering(ctx context.Context, deadline time.Time) *rendering {
	select {
	case <-e.ready:
	default:
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case <-e.ready:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	e.mu.Lock()
	if rd := e.cur; rd != nil && rd.gen == e.gen {
		e.mu.Unlock()
		return rd
	}
	if rd := e.pending; rd != nil {
		e.mu.Unlock()
		select {
		case <-rd.done:
			return rd
		case <-ctx.Done():
			return nil
		}
	}
	rd := &rendering{gen: e.gen, done: make(chan struct{})}
	e.pending = rd
	c := e.collector()
	size := e.lastSize
	e.mu.Unlock()

	rd.body = c.render(size)

	e.mu.Lock()
	e.pending = nil
	e.cur = rd
	e.lastSize = len(rd.body)
	e.rendered++
	e.mu.Unlock()
	close(rd.done)
	return rd
}

// collector takes what a rendering shows. Call with e.mu held.
func (e *Exporter) collector() *collector {
	c := &collector{rejected: e.rejected}
	if e.skips != nil {
		c.skips = maps.Clone(e.skips)
	}
	for _, ent := range e.ns {
		if p := ent.last; p != nil {
			label := ent.label
			if p.samples != nil {
				label = p.samples.label // the label changes: until they are relabelled
			}
			c.ns = append(c.ns, nsView{label: label, last: p, polls: ent.polls, failures: ent.failures})
		}
	}
	slices.SortFunc(c.ns, func(a, b nsView) int { return cmp.Compare(a.label, b.label) })
	// Two namespaces under one label for an instant (names swapped): the
	// next poll sorts it out.
	c.ns = slices.CompactFunc(c.ns, func(a, b nsView) bool { return a.label == b.label })
	return c
}

// gzipped returns the body gzipped, compressing it the first time.
func (rd *rendering) gzipped() []byte {
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

// nsView is one namespace as a rendering shows it.
type nsView struct {
	label           string // that of its samples
	last            *poll
	polls, failures uint64
}

// collector is what one rendering shows: every namespace's last poll,
// sorted by label, and the exporter's own counts.
type collector struct {
	ns       []nsView
	rejected uint64
	skips    map[string]uint64 // nil without discovery
}

// render assembles the response: each family's HELP and TYPE, then every
// namespace's samples of it (its poll counts written here), in the order
// of families; a family without samples is left out. size is the
// previous rendering's, to size the buffer.
func (c *collector) render(size int) []byte {
	total := 0
	for _, v := range c.ns {
		if s := v.last.samples; s != nil {
			total += len(s.buf)
		}
	}
	a := assembler{buf: make([]byte, 0, max(size+size/16, total+total/8+8192))}
	for _, f := range families {
		start := len(a.buf)
		a.buf = append(a.buf, f.header...)
		first := len(a.buf)
		switch f {
		case famUp, famReadError, famScrapes, famFailures, famDuration:
			for _, v := range c.ns {
				a.status(f, &v)
			}
		case famRejected:
			a.sample(f, strconv.AppendUint(a.num[:0], c.rejected, 10))
		case famSkipped:
			for _, r := range slices.Sorted(maps.Keys(c.skips)) {
				a.sample(f, strconv.AppendUint(a.num[:0], c.skips[r], 10), r)
			}
		default:
			for _, v := range c.ns {
				a.buf = append(a.buf, v.last.samples.family(f)...)
			}
		}
		if len(a.buf) == first {
			a.buf = a.buf[:start] // no samples: no family
		}
	}
	return a.buf
}

// assembler writes a response's own samples.
type assembler struct {
	buf, set []byte
	num      [32]byte
}

// sample writes one sample of f with the value v, already formatted.
func (a *assembler) sample(f *family, v []byte, labels ...string) {
	a.set = appendLabels(a.set[:0], f, labels...)
	a.buf = append(a.buf, f.name...)
	a.buf = append(a.buf, a.set...)
	a.buf = append(a.buf, ' ')
	a.buf = append(a.buf, v...)
	a.buf = append(a.buf, '\n')
}

// status writes a namespace's sample of f, one of the families of its
// polls' outcome and counts.
func (a *assembler) status(f *family, v *nsView) {
	p := v.last
	switch f {
	case famUp:
		a.sample(f, appendFloat(a.num[:0], b2f(p.err == nil)), v.label)
	case famReadError:
		if p.err != nil {
			a.sample(f, []byte("1"), v.label, p.reason)
		}
	case famScrapes:
		a.sample(f, strconv.AppendUint(a.num[:0], v.polls, 10), v.label)
	case famFailures:
		a.sample(f, strconv.AppendUint(a.num[:0], v.failures, 10), v.label)
	case famDuration:
		a.sample(f, appendFloat(a.num[:0], p.duration.Seconds()), v.label)
	}
}
