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
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// replay is a source that returns readings in turn, then fails.
type replay struct {
	snaps []*monitor.Snapshot
	ctxs  []context.Context
}

func (r *replay) Read(ctx context.Context) (*monitor.Snapshot, error) {
	r.ctxs = append(r.ctxs, ctx)
	if len(r.snaps) == 0 {
		return nil, errors.New("no more readings")
	}
	s := r.snaps[0]
	r.snaps = r.snaps[1:]
	return s, nil
}

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
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body)
}

// promtoolCheck runs `promtool check metrics` on a scrape. promtool is in
// Debian's prometheus package; CI installs it.
func promtoolCheck(t *testing.T, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): the exposition format is not checked")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
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

// Two scrapes of the VM rig's capture: the second one explains what moved
// (5 packets without an outbound SA) and counts it once per series.
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

	src := &replay{snaps: []*monitor.Snapshot{before, after}}
	srv := httptest.NewServer(NewExporter(src, 5*time.Second, 4))
	defer srv.Close()

	first := scrapeURL(t, srv.URL, nil)
	wantLines(t, first,
		"tunnelstat_up 1",
		`tunnelstat_link_tx_carrier_errors_total{interface="vti0"} 0`,
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates"} 0`,
		`tunnelstat_part_readable{part="sas"} 0`,
	)
	if strings.Contains(first, "tunnelstat_cause_events_total{") {
		t.Error("the first scrape has cause counts: nothing was explained yet")
	}
	promtoolCheck(t, first)

	second := scrapeURL(t, srv.URL, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"2"}})
	wantLines(t, second,
		`tunnelstat_link_info{if_id="",ikey="",interface="vti0",kind="",local="",okey="",remote=""} 1`,
		`tunnelstat_link_tx_carrier_errors_total{interface="vti0"} 5`,
		`tunnelstat_link_tx_aborted_errors_total{interface="vti0"} 0`,
		`tunnelstat_link_tx_errors_total{interface="vti0"} 5`,
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates"} 5`,
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface="vti0"} 5`,
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface=""} 5`,
		`tunnelstat_xfrm_sas 2`,
		`tunnelstat_xfrm_sa_integrity_failed_total{dst="203.0.113.1",if_id="0",mark="0x2a/0xffffffff",mode="tunnel",proto="esp",reqid="2",spi="0x0001000b",src="203.0.113.2"} 4`,
		`tunnelstat_xfrm_sa_bytes_total{dst="203.0.113.1",if_id="0",mark="0x2a/0xffffffff",mode="tunnel",proto="esp",reqid="2",spi="0x0001000b",src="203.0.113.2"} 252`,
		`tunnelstat_xfrm_policies{dir="out",socket="true"} 1`,
		`tunnelstat_xfrm_spd_policies{dir="out",socket="false"} 1`,
		`tunnelstat_xfrm_spd_hash_buckets 8`,
		`tunnelstat_xfrm_sad_sas 1`,
		`tunnelstat_xfrm_policy_default_block{dir="out"} 1`,
		`tunnelstat_part_readable{part="sas"} 1`,
	)
	if strings.Contains(second, "cause_candidate_events_total{") {
		t.Error("candidate counts for a cause that is settled")
	}
	if d, ok := src.ctxs[1].Deadline(); !ok || time.Until(d) > 2*time.Second {
		t.Errorf("the scraper's 2s timeout was not applied: deadline %v, %v", d, ok)
	}
	promtoolCheck(t, second)

	// A failed read: up 0, the cause counters kept.
	third := scrapeURL(t, srv.URL, nil)
	wantLines(t, third, "tunnelstat_up 0", "tunnelstat_scrape_failures_total 1",
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface="vti0"} 5`)
	promtoolCheck(t, third)
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
	srv := httptest.NewServer(NewExporter(&replay{snaps: []*monitor.Snapshot{empty, seed}}, time.Second, 4))
	defer srv.Close()
	scrapeURL(t, srv.URL, nil)
	body := scrapeURL(t, srv.URL, nil)
	wantLines(t, body,
		`tunnelstat_cause_events_total{cause="unresolved",interface="vti0"} 59`,
		`tunnelstat_cause_events_total{cause="unresolved",interface="vti1"} 280`,
		`tunnelstat_cause_candidate_events_total{cause="tx-no-sa",interface="vti0"} 59`,
		`tunnelstat_cause_candidate_events_total{cause="tx-crypto-backlog",interface="vti1"} 280`,
		`tunnelstat_link_procfs_tx_carrier_column_total{interface="vti0"} 59`,
	)
	if strings.Contains(body, "kernel-version-dependent") {
		t.Error("kernel-version-dependent counted as events")
	}
	if strings.Contains(body, `tunnelstat_link_tx_carrier_errors_total{interface="vti0"}`) {
		t.Error("a /proc/net/dev sum exported as tx_carrier_errors")
	}
	promtoolCheck(t, body)
}

func TestRunFlags(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"--scrape-timeout", "0s"}, {"extra"}, {"--netns", ".."}, {"--nope"},
		{"--max-requests", "0"}, {"--write-timeout", "-1s"}, {"--idle-timeout", "0s"}} {
		err := run(context.Background(), args, &stderr, nil)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
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

// gate is a source whose reads wait until released, and that records when
// each read started and its deadline.
type gate struct {
	mu      sync.Mutex
	snap    *monitor.Snapshot
	errs    []error // returned by the first reads, in turn
	hold    chan struct{}
	started chan struct{}
	reads   []struct{ at, deadline time.Time }
}

func newGate(snap *monitor.Snapshot) *gate {
	return &gate{snap: snap, hold: make(chan struct{}), started: make(chan struct{}, 100)}
}

func (g *gate) Read(ctx context.Context) (*monitor.Snapshot, error) {
	d, _ := ctx.Deadline()
	g.mu.Lock()
	g.reads = append(g.reads, struct{ at, deadline time.Time }{time.Now(), d})
	var err error
	if len(g.errs) > 0 {
		err, g.errs = g.errs[0], g.errs[1:]
	}
	g.mu.Unlock()
	g.started <- struct{}{}
	select {
	case <-g.hold:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return g.snap, nil
}

func (g *gate) readCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reads)
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

// Scrapes that arrive while a reading is under way share it: ten
// scrapes, one reading, ten identical answers.
func TestScrapesShareReading(t *testing.T) {
	g := newGate(vmReading(t, "before"))
	srv := httptest.NewServer(NewExporter(g, 5*time.Second, 32))
	defer srv.Close()
	const n = 10
	results := make(chan response, n)
	go func() { results <- fetch(srv.URL, nil) }()
	<-g.started
	for range n - 1 {
		go func() { results <- fetch(srv.URL, nil) }()
	}
	time.Sleep(300 * time.Millisecond) // they join the reading under way
	close(g.hold)
	var first string
	for i := range n {
		r := <-results
		if r.status != http.StatusOK || !strings.Contains(r.body, "\ntunnelstat_up 1\n") {
			t.Fatalf("scrape %d: %d %s", i, r.status, r.body)
		}
		if i == 0 {
			first = r.body
		} else if r.body != first {
			t.Errorf("scrape %d differs from the first", i)
		}
	}
	if got := g.readCount(); got != 1 {
		t.Errorf("%d readings for %d concurrent scrapes, want 1", got, n)
	}
	wantLines(t, first, "tunnelstat_scrapes_total 1")
}

// The scrape timeout is counted from when the reading starts: a scrape that
// waited its turn behind a slow one still gets the whole timeout to read.
func TestScrapeTimeoutFromReadingStart(t *testing.T) {
	const timeout = time.Second
	g := newGate(vmReading(t, "before"))
	srv := httptest.NewServer(NewExporter(g, timeout, 1))
	defer srv.Close()
	results := make(chan response, 2)
	go func() { results <- fetch(srv.URL, nil) }()
	<-g.started
	go func() { results <- fetch(srv.URL, nil) }() // waits for the only turn
	time.Sleep(700 * time.Millisecond)
	g.hold <- struct{}{} // the first reading ends
	<-g.started
	close(g.hold)
	for range 2 {
		if r := <-results; r.status != http.StatusOK || !strings.Contains(r.body, "\ntunnelstat_up 1\n") {
			t.Fatalf("scrape: %d %s", r.status, r.body)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.reads) != 2 {
		t.Fatalf("%d readings", len(g.reads))
	}
	second := g.reads[1]
	if left := second.deadline.Sub(second.at); left < timeout-50*time.Millisecond {
		t.Errorf("the second reading had %v of its %v: its wait was counted against it", left, timeout)
	}
}

// A scrape past --max-requests waits for a turn, then gets 503: never a
// tunnelstat_up 0 for a namespace that is fine.
func TestScrapeOverLimit(t *testing.T) {
	g := newGate(vmReading(t, "before"))
	srv := httptest.NewServer(NewExporter(g, 5*time.Second, 1))
	defer srv.Close()
	first := make(chan response, 1)
	go func() { first <- fetch(srv.URL, nil) }()
	<-g.started
	t0 := time.Now()
	r := fetch(srv.URL, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"0.5"}})
	waited := time.Since(t0)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || strings.Contains(r.body, "tunnelstat_up") {
		t.Errorf("scrape over the limit: %d %v %q", r.status, r.header, r.body)
	}
	if waited < 200*time.Millisecond {
		t.Errorf("turned away after %v: it did not wait for a turn", waited)
	}
	close(g.hold)
	if r := <-first; r.status != http.StatusOK || !strings.Contains(r.body, "\ntunnelstat_up 1\n") {
		t.Fatalf("first scrape: %d %s", r.status, r.body)
	}
	r = fetch(srv.URL, nil)
	wantLines(t, r.body, "tunnelstat_up 1", "tunnelstat_scrapes_rejected_total 1")
}

// What a source that follows its namespace's name says reaches the
// metrics: replaced, the exporter reads again and compares nothing of the
// old namespace with the new one; gone, tunnelstat_up 0 with the reason.
func TestScrapeNetNSReplacedAndGone(t *testing.T) {
	before, after := vmReading(t, "before"), vmReading(t, "after")
	replaced := fmt.Errorf("network namespace %q was replaced: %w", "blue", monitor.ErrNetNSReplaced)
	gone := fmt.Errorf("network namespace %q is gone: %w", "blue", errors.Join(monitor.ErrNetNSGone, os.ErrNotExist))
	src := &script{steps: []step{{snap: before}, {err: replaced}, {snap: after}, {err: gone}, {snap: after}}}
	var logs lockedBuffer
	exp := NewExporter(src, time.Second, 4)
	exp.logf = func(format string, args ...any) { fmt.Fprintf(&logs, format+"\n", args...) }
	srv := httptest.NewServer(exp)
	defer srv.Close()

	scrapeURL(t, srv.URL, nil)
	second := scrapeURL(t, srv.URL, nil)
	wantLines(t, second, "tunnelstat_up 1", `tunnelstat_link_tx_carrier_errors_total{interface="vti0"} 5`)
	if strings.Contains(second, "tunnelstat_cause_events_total{") {
		t.Errorf("the old namespace's reading compared with the new one's:\n%s", second)
	}
	third := scrapeURL(t, srv.URL, nil)
	wantLines(t, third, "tunnelstat_up 0", `tunnelstat_read_error{reason="netns_gone"} 1`)
	promtoolCheck(t, third)
	fourth := scrapeURL(t, srv.URL, nil)
	wantLines(t, fourth, "tunnelstat_up 1", "tunnelstat_scrapes_total 4", "tunnelstat_scrape_failures_total 1")
	for _, want := range []string{"was replaced", "is gone"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

type step struct {
	snap *monitor.Snapshot
	err  error
}

// script is a source that follows its steps.
type script struct {
	mu    sync.Mutex
	steps []step
}

func (s *script) Read(context.Context) (*monitor.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.steps) == 0 {
		return nil, errors.New("no more steps")
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	return st.snap, st.err
}

// The response is rendered once per reading, gzipped once when asked
// for, and both say what they are.
func TestScrapeEncodings(t *testing.T) {
	srv := httptest.NewServer(NewExporter(&script{steps: []step{{snap: vmReading(t, "before")}}}, time.Second, 4))
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
	wantLines(t, "\n"+string(body), "tunnelstat_up 1")
	promtoolCheck(t, string(body))

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
