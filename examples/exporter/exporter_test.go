package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// vmReading loads a real capture of the VM rig (the CLI's demo data): vti0
// with stats64 from sysfs, the MIB, the kernel release.
func vmReading(t *testing.T, when string) *monitor.Snapshot {
	t.Helper()
	d := "../tunnelstat/demodata/vm-6.1/"
	s, err := monitor.Load(nil, d+when, d+"KERNEL")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scrapeURL(t *testing.T, url string, header http.Header) string {
	t.Helper()
	r := fetch(url, header)
	if r.status != http.StatusOK {
		t.Fatalf("scrape: %d\n%s", r.status, r.body)
	}
	return r.body
}

// checkMetrics checks a scrape as `promtool check metrics` does: it must
// parse, and promlint (what promtool runs) must find no problem.
func checkMetrics(t *testing.T, body string) {
	t.Helper()
	for _, p := range lint(body) {
		t.Errorf("promtool check metrics: %s", p)
	}
}

// lint returns what `promtool check metrics` would say of a scrape.
func lint(body string) []string {
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(body)); err != nil {
		return []string{"does not parse: " + err.Error()}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.Metric+": "+p.Text)
	}
	return out
}

// The check finds what promtool finds.
func TestLintFinds(t *testing.T) {
	for _, bad := range []string{
		"# HELP x_requests A counter.\n# TYPE x_requests counter\nx_requests 1\n",                     // no _total
		"# HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n# HELP x_up Again.\n# TYPE x_up gauge\nx_up 1\n", // a family twice
		"x_up{a=\"1\"} 1\nx_up{a=\"1\"} 2\n",                                                          // no HELP
	} {
		if len(lint(bad)) == 0 {
			t.Errorf("no problem found in %q", bad)
		}
	}
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("scrape lacks the line %q", l)
		}
	}
}

func wantNo(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(body, p) {
			t.Errorf("scrape has %q", p)
		}
	}
}

// lockedBuffer collects the exporter's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) logf(format string, args ...any) {
	fmt.Fprintf(l, format+"\n", args...)
}

type response struct {
	status int
	body   string
	header http.Header
}

func fetch(url string, header http.Header) response {
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

// holder is a monitor.Source that returns its current reading, or error,
// every time it is read, until the test sets another.
type holder struct {
	mu   sync.Mutex
	snap *monitor.Snapshot
	err  error
}

func (h *holder) set(snap *monitor.Snapshot, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snap, h.err = snap, err
}

func (h *holder) Read(context.Context) (*monitor.Snapshot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snap, h.err
}

func (h *holder) Close() error { return nil }

// polls returns how many polls of the namespace labelled label the
// exporter has published, -1 if it watches none so labelled.
func (e *Exporter) pollsOf(label string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ent := range e.ns {
		if ent.label == label {
			return int(ent.polls)
		}
	}
	return -1
}

// waitPolls waits until the namespace labelled label has had n more polls
// than it had when called: what was set before has then been read and
// published.
func waitPolls(t *testing.T, e *Exporter, label string, n int) {
	t.Helper()
	start := e.pollsOf(label)
	deadline := time.Now().Add(10 * time.Second)
	for e.pollsOf(label) < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("namespace %q: %d polls in 10s", label, e.pollsOf(label)-start)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startFixed runs the exporter's agent on one namespace labelled label,
// read from src every 20 ms, logging to logf (nil: silent), and serves
// it; it returns the URL.
func startFixed(t *testing.T, e *Exporter, label string, src monitor.Source, logf func(string, ...any)) string {
	t.Helper()
	a := &agent{e: e, interval: 20 * time.Millisecond, logf: logf, label: label,
		open: func(context.Context, monitor.NetNS) (monitor.Source, error) { return src, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.run(ctx)
	}()
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return srv.URL
}

// Two readings of the VM rig's capture, polled in the background: the
// second one explains what moved (5 packets without an outbound SA) and
// counts it once per series, however many polls and scrapes follow.
func TestScrapeCaptures(t *testing.T) {
	before, after := vmReading(t, "before"), vmReading(t, "after")
	// A hand-made SA and policy, to exercise their metrics (the captures
	// have no SA dump).
	sa := xfrmstat.SA{Src: netip.MustParseAddr("203.0.113.2"), Dst: netip.MustParseAddr("203.0.113.1"), SPI: 0x1000b, Proto: 50,
		Mode: xfrmstat.ModeTunnel, ReqID: 2, Mark: &xfrmstat.Mark{Value: 42, Mask: 0xffffffff},
		LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 252, Packets: 3, AddTime: time.Unix(1700000000, 0)},
		Stats:           xfrmstat.Stats{IntegrityFailed: 4, Replay: 1}, Replay: &xfrmstat.Replay{Seq: 3, Window: 32}}
	after.SAs = []xfrmstat.SA{sa, sa} // a duplicate must not break the scrape
	after.Policies = []xfrmstat.Policy{{Dir: xfrmstat.DirOut}, {Dir: xfrmstat.DirIn}, {Dir: xfrmstat.DirSocketOut}}
	after.SPDInfo = &xfrmstat.SPDInfo{In: 1, Out: 1, SocketOut: 1, IndexHashMask: 7, HashMaxBuckets: 1 << 20}
	after.SADInfo = &xfrmstat.SADInfo{Count: 1, HashBuckets: 8, HashMaxBuckets: 1 << 20}
	after.PolicyDefaults = &xfrmstat.PolicyDefaults{In: xfrmstat.DefaultAccept, Fwd: xfrmstat.DefaultAccept, Out: xfrmstat.DefaultBlock}

	for _, saMetrics := range []bool{false, true} {
		t.Run(fmt.Sprintf("sa-metrics=%v", saMetrics), func(t *testing.T) {
			src := &holder{snap: before}
			e := newExporter(4, 5*time.Second, saMetrics)
			url := startFixed(t, e, "blue", src, nil)

			first := scrapeURL(t, url, nil)
			wantLines(t, first,
				`tunnelstat_up{netns="blue"} 1`,
				`tunnelstat_link_tx_carrier_errors_total{interface="vti0",netns="blue"} 0`,
				`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates",netns="blue"} 0`,
				`tunnelstat_part_readable{netns="blue",part="sas"} 0`,
				`tunnelstat_xfrm_events_total{netns="blue",type="acquire"} 0`,
				`tunnelstat_xfrm_events_total{netns="blue",type="events-lost"} 0`,
				`tunnelstat_scrapes_rejected_total 0`,
			)
			wantNo(t, first, "tunnelstat_cause_events_total{", "tunnelstat_netns_discovery_skips_total")
			checkMetrics(t, first)

			src.set(after, nil)
			waitPolls(t, e, "blue", 3)
			second := scrapeURL(t, url, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"2"}})
			wantLines(t, second,
				`tunnelstat_link_info{if_id="",ikey="",interface="vti0",kind="",local="",netns="blue",okey="",remote=""} 1`,
				`tunnelstat_link_tx_carrier_errors_total{interface="vti0",netns="blue"} 5`,
				`tunnelstat_link_tx_aborted_errors_total{interface="vti0",netns="blue"} 0`,
				`tunnelstat_link_tx_errors_total{interface="vti0",netns="blue"} 5`,
				`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates",netns="blue"} 5`,
				`tunnelstat_cause_events_total{cause="tx-no-sa",interface="vti0",netns="blue"} 5`,
				`tunnelstat_cause_events_total{cause="tx-no-sa",interface="",netns="blue"} 5`,
				`tunnelstat_xfrm_sas{netns="blue"} 2`,
				`tunnelstat_xfrm_policies{dir="out",netns="blue",socket="true"} 1`,
				`tunnelstat_xfrm_spd_policies{dir="out",netns="blue",socket="false"} 1`,
				`tunnelstat_xfrm_spd_hash_buckets{netns="blue"} 8`,
				`tunnelstat_xfrm_sad_sas{netns="blue"} 1`,
				`tunnelstat_xfrm_policy_default_block{dir="out",netns="blue"} 1`,
				`tunnelstat_part_readable{netns="blue",part="sas"} 1`,
			)
			saLines := []string{
				`tunnelstat_xfrm_sa_integrity_failed_total{dst="203.0.113.1",if_id="0",mark="0x2a/0xffffffff",mode="tunnel",netns="blue",proto="esp",reqid="2",spi="0x0001000b",src="203.0.113.2"} 4`,
				`tunnelstat_xfrm_sa_bytes_total{dst="203.0.113.1",if_id="0",mark="0x2a/0xffffffff",mode="tunnel",netns="blue",proto="esp",reqid="2",spi="0x0001000b",src="203.0.113.2"} 252`,
			}
			if saMetrics {
				wantLines(t, second, saLines...)
			} else {
				wantNo(t, second, "spi=", "tunnelstat_xfrm_sa_")
			}
			wantNo(t, second, "cause_candidate_events_total{")
			checkMetrics(t, second)

			// A failed read: up 0, the cause counters kept.
			src.set(nil, errors.New("no more readings"))
			waitPolls(t, e, "blue", 2)
			third := scrapeURL(t, url, nil)
			wantLines(t, third, `tunnelstat_up{netns="blue"} 0`, `tunnelstat_read_error{netns="blue",reason="error"} 1`,
				`tunnelstat_cause_events_total{cause="tx-no-sa",interface="vti0",netns="blue"} 5`)
			wantNo(t, third, "tunnelstat_xfrm_sas{", "tunnelstat_link_info{")
			if !strings.Contains(third, `tunnelstat_scrape_failures_total{netns="blue"} `) {
				t.Error("no failure count")
			}
			checkMetrics(t, third)
		})
	}
}

// The seed's counters since boot leave the cause open: the events count
// once under "unresolved", and each candidate gets them as a bound.
func TestScrapeUnresolved(t *testing.T) {
	empty := &monitor.Snapshot{Format: monitor.Format, LinksFrom: "proc/net/dev"}
	seed, err := monitor.Load(nil, "../tunnelstat/demodata/vyos-seed003/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	for i := range seed.Links {
		empty.Links = append(empty.Links, monitor.Link{Name: seed.Links[i].Name, StatsFrom: "proc/net/dev", LinkNetNSID: -1})
	}
	src := &holder{snap: empty}
	e := newExporter(4, time.Second, false)
	url := startFixed(t, e, "", src, nil)
	scrapeURL(t, url, nil)
	src.set(seed, nil)
	waitPolls(t, e, "", 3)
	body := scrapeURL(t, url, nil)
	wantLines(t, body,
		`tunnelstat_cause_events_total{cause="unresolved",interface="vti0",netns=""} 59`,
		`tunnelstat_cause_events_total{cause="unresolved",interface="vti1",netns=""} 280`,
		`tunnelstat_cause_candidate_events_total{cause="tx-no-sa",interface="vti0",netns=""} 59`,
		`tunnelstat_cause_candidate_events_total{cause="tx-crypto-backlog",interface="vti1",netns=""} 280`,
		`tunnelstat_link_procfs_tx_carrier_column_total{interface="vti0",netns=""} 59`,
	)
	wantNo(t, body, "kernel-version-dependent", `tunnelstat_link_tx_carrier_errors_total{interface="vti0"`)
	checkMetrics(t, body)
}

func TestRunFlags(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"--scrape-timeout", "0s"}, {"extra"}, {"--netns", ".."}, {"--nope"},
		{"--max-requests", "0"}, {"--write-timeout", "-1s"}, {"--idle-timeout", "0s"}, {"--interval", "0s"},
		{"--interval", "-1s"}, {"--sa-metrics=maybe"}} {
		err := run(context.Background(), args, &stderr, nil)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

// polled is a poll that read snap, with the namespace's health h and
// counts total, rendered as the agent renders it for a namespace labelled
// label.
func polled(saMetrics bool, label string, snap *monitor.Snapshot, h *explain.Health, total explain.Tally) *poll {
	w := &nsWriter{saMetrics: saMetrics}
	u := monitor.Update{Time: time.Now(), Snapshot: snap, Reading: snap.Reading(), Health: h, Total: total}
	return &poll{time: u.Time, samples: w.render(label, &u)}
}

// published is an Exporter with one namespace that has published p.
func published(t *testing.T, saMetrics bool, label string, p *poll) (*Exporter, *nsEntry) {
	t.Helper()
	e := newExporter(32, 2*time.Second, saMetrics)
	ent := e.addNS(nsKey{ino: 1}, label)
	e.publish(ent, p)
	e.arm()
	return e, ent
}

// Scrapes share the rendering of the latest polls: 50 at once, one
// rendering, 50 identical answers; the next poll, one more rendering.
func TestScrapesShareRendering(t *testing.T) {
	e, ent := published(t, false, "", polled(false, "", vmReading(t, "before"), nil, explain.Tally{}))
	srv := httptest.NewServer(e)
	defer srv.Close()
	const n = 50
	results := make(chan response, n)
	for range n {
		go func() { results <- fetch(srv.URL, nil) }()
	}
	var first string
	for i := range n {
		r := <-results
		if r.status != http.StatusOK || !strings.Contains(r.body, "\ntunnelstat_up{netns=\"\"} 1\n") {
			t.Fatalf("scrape %d: %d %s", i, r.status, r.body)
		}
		if i == 0 {
			first = r.body
		} else if r.body != first {
			t.Errorf("scrape %d differs from the first", i)
		}
	}
	if got := e.renders(); got != 1 {
		t.Errorf("%d renderings for %d scrapes of one poll, want 1", got, n)
	}
	e.publish(ent, polled(false, "", vmReading(t, "after"), nil, explain.Tally{}))
	body := scrapeURL(t, srv.URL, nil)
	scrapeURL(t, srv.URL, nil)
	wantLines(t, body, `tunnelstat_link_tx_carrier_errors_total{interface="vti0",netns=""} 5`, `tunnelstat_scrapes_total{netns=""} 2`)
	if got := e.renders(); got != 2 {
		t.Errorf("%d renderings after a second poll, want 2", got)
	}
}

// A scrape past --max-requests waits for a turn, then gets 503 with
// Retry-After; so does one that comes before any poll ended and waits in
// vain. Never a tunnelstat_up 0 for a namespace that is fine.
func TestScrapeOverLimit(t *testing.T) {
	e := newExporter(1, 3*time.Second, false)
	ent := e.addNS(nsKey{}, "")
	srv := httptest.NewServer(e)
	defer srv.Close()
	first := make(chan response, 1)
	go func() { first <- fetch(srv.URL, nil) }() // holds the only turn, waiting for the first poll
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	r := fetch(srv.URL, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"0.5"}})
	waited := time.Since(t0)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || strings.Contains(r.body, "tunnelstat_up") {
		t.Errorf("scrape over the limit: %d %v %q", r.status, r.header, r.body)
	}
	if waited < 200*time.Millisecond {
		t.Errorf("turned away after %v: it did not wait for a turn", waited)
	}
	e.publish(ent, polled(false, "", vmReading(t, "before"), nil, explain.Tally{}))
	e.arm()
	if r := <-first; r.status != http.StatusOK || !strings.Contains(r.body, "\ntunnelstat_up{netns=\"\"} 1\n") {
		t.Fatalf("first scrape: %d %s", r.status, r.body)
	}
	wantLines(t, scrapeURL(t, srv.URL, nil), `tunnelstat_up{netns=""} 1`, "tunnelstat_scrapes_rejected_total 1")

	// No poll within the wait: 503, counted.
	e2 := newExporter(4, 300*time.Millisecond, false)
	e2.addNS(nsKey{}, "")
	e2.arm()
	srv2 := httptest.NewServer(e2)
	defer srv2.Close()
	if r := fetch(srv2.URL, nil); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "no poll") {
		t.Errorf("scrape before any poll: %d %v %q", r.status, r.header, r.body)
	}
}

// What the monitor says of a namespace that is replaced or gone reaches
// the metrics: replaced, nothing of the old one is compared with the new
// one (and the log says so); gone, tunnelstat_up 0 with the reason.
func TestScrapeNetNSReplacedAndGone(t *testing.T) {
	before, after := vmReading(t, "before"), vmReading(t, "after")
	replaced := fmt.Errorf("network namespace %q was replaced: %w", "blue", monitor.ErrNetNSReplaced)
	gone := fmt.Errorf("network namespace %q is gone: %w", "blue", errors.Join(monitor.ErrNetNSGone, os.ErrNotExist))
	src := &replacing{holder: holder{snap: before}}
	var logs lockedBuffer
	e := newExporter(4, time.Second, false)
	url := startFixed(t, e, "blue", src, logs.logf)
	scrapeURL(t, url, nil)

	src.replace(replaced, after)
	waitPolls(t, e, "blue", 3)
	second := scrapeURL(t, url, nil)
	wantLines(t, second, `tunnelstat_up{netns="blue"} 1`, `tunnelstat_link_tx_carrier_errors_total{interface="vti0",netns="blue"} 5`)
	wantNo(t, second, "tunnelstat_cause_events_total{")

	src.set(nil, gone)
	waitPolls(t, e, "blue", 2)
	third := scrapeURL(t, url, nil)
	wantLines(t, third, `tunnelstat_up{netns="blue"} 0`, `tunnelstat_read_error{netns="blue",reason="netns_gone"} 1`)
	checkMetrics(t, third)

	src.set(after, nil)
	waitPolls(t, e, "blue", 2)
	fourth := scrapeURL(t, url, nil)
	wantLines(t, fourth, `tunnelstat_up{netns="blue"} 1`)
	wantNo(t, fourth, "tunnelstat_read_error{")
	for _, want := range []string{"was replaced", "is gone", "read again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// replacing is a holder that returns an error once, then the next reading.
type replacing struct {
	holder
	once error
}

func (r *replacing) replace(err error, next *monitor.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.once, r.snap = err, next
}

func (r *replacing) Read(ctx context.Context) (*monitor.Snapshot, error) {
	r.mu.Lock()
	if err := r.once; err != nil {
		r.once = nil
		r.mu.Unlock()
		return nil, err
	}
	r.mu.Unlock()
	return r.holder.Read(ctx)
}

// The response is rendered once per poll, gzipped once when asked for,
// and both say what they are.
func TestScrapeEncodings(t *testing.T) {
	e, _ := published(t, false, "", polled(false, "", vmReading(t, "before"), nil, explain.Tally{}))
	srv := httptest.NewServer(e)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "\n"+string(body), `tunnelstat_up{netns=""} 1`)
	checkMetrics(t, string(body))

	for h, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip;q=1.0, *;q=0.5": true, "gzip;q=0": false, "GZIP": true, "identity": false, "xgzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// The server bounds what a connection may hold.
func TestServerTimeouts(t *testing.T) {
	s := newServer(http.NotFoundHandler(), 30*time.Second, time.Minute, nil)
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout != 30*time.Second || s.IdleTimeout != time.Minute || s.MaxHeaderBytes == 0 {
		t.Errorf("server %+v", s)
	}
}

// renders is how many renderings the exporter made.
func (e *Exporter) renders() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rendered
}
