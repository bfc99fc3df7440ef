//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// larvalNamespace makes a namespace holding n larval SAs.
func larvalNamespace(t *testing.T, n int) *testns.NS {
	t.Helper()
	ns := testns.New(t)
	addLarval(t, ns, n)
	return ns
}

// addLarval adds n larval SAs to ns (ip xfrm state allocspi, as an IKE
// daemon makes them), which live for the whole test. They are SAD entries
// only: no packet is sent.
func addLarval(t *testing.T, ns *testns.NS, n int) {
	t.Helper()
	// Larval SAs live net.core.xfrm_acq_expires seconds, 30 by default.
	ns.Run(t, "sysctl", "-qw", "net.core.xfrm_acq_expires=86400")
	var b strings.Builder
	for i := range n {
		spi := 0x100000 + i
		fmt.Fprintf(&b, "xfrm state allocspi src 192.0.2.1 dst 10.150.%d.%d proto esp mode tunnel min %#x max %#x\n", i>>8, i&0xff, spi, spi)
	}
	cmd := exec.Command("ip", "-n", ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch (%d larval SAs): %v: %s", n, err, out)
	}
}

// nsNet listens and dials inside ns: the test's HTTP traffic stays in
// the namespace it made.
type nsNet struct{ h *netns.Handle }

func newNSNet(t *testing.T, ns *testns.NS) *nsNet {
	t.Helper()
	h, err := netns.Open(netns.Target{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &nsNet{h}
}

func (n *nsNet) listen(network, addr string) (ln net.Listener, err error) {
	err = n.h.Do(func() error {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// dial connects from inside the namespace, with d's options.
func (n *nsNet) dial(ctx context.Context, d *net.Dialer, network, addr string) (c net.Conn, err error) {
	err = n.h.Do(func() error {
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// client is an HTTP client that connects from inside the namespace.
func (n *nsNet) client(maxIdle int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: maxIdle, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return n.dial(ctx, &net.Dialer{}, network, addr)
	}}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// startExporter runs the exporter as main does, listening on loopback
// inside ns, until the test ends; it returns the metrics URL and the
// exporter's log.
func startExporter(t *testing.T, n *nsNet, args ...string) (string, *lockedBuffer) {
	t.Helper()
	netListen = n.listen
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs := new(lockedBuffer)
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("exporter: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("exporter did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		netListen = net.Listen
	})
	return "http://" + addr + "/metrics", logs
}

// get scrapes url with c and returns the body of a 200 response.
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
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

// waitFor scrapes url until a scrape has the line (10 s at most) and
// returns that scrape.
func waitFor(t *testing.T, c *http.Client, url, line string) string {
	t.Helper()
	return waitForFunc(t, c, url, func(b string) bool { return strings.Contains(b, "\n"+line+"\n") })
}

// waitForFunc scrapes url until ok accepts a scrape (10 s at most). A 503
// (other scrapers past --max-requests) is tried again.
func waitForFunc(t *testing.T, c *http.Client, url string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		switch {
		case err != nil:
			t.Fatal(err)
		case resp.StatusCode == http.StatusServiceUnavailable:
			body = ""
		case resp.StatusCode != http.StatusOK:
			t.Fatalf("scrape: %s\n%s", resp.Status, body)
		case ok(body):
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scrape as wanted in 10 s; the last:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until the exporter's log says want (10 s at most).
func waitLog(t *testing.T, logs *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say %q:\n%s", want, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rss is the process's resident set size (VmRSS) in bytes.
func rss(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/self/status")
	}
	kb, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return kb << 10
}

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// metricValue returns the value of the line that starts with name (with
// its labels) in a scrape, or -1.
func metricValue(body, name string) float64 {
	for l := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// 200 scrapes at once of a namespace with 2 000 SAs (per-SA series on):
// each gets the namespace's metrics with tunnelstat_up 1, or is turned
// away with 503 (over the limit on requests in flight); none says the
// namespace is down, and they share the rendering of the last poll instead
// of reading the namespace.
func TestLiveConcurrentScrapes(t *testing.T) {
	const sas, clients = 2000, 200
	ns := larvalNamespace(t, sas)
	n := newNSNet(t, ns)
	url, logs := startExporter(t, n, "--netns", ns.Name, "--sa-metrics", "--interval", "2s")
	client := n.client(clients)
	defer client.CloseIdleConnections()
	l := `{netns="` + ns.Name + `"}`
	// The size on the wire: the client asks for gzip and unzips it.
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	first := get(t, client, url)
	wantLines(t, first, "tunnelstat_up"+l+" 1", fmt.Sprintf("tunnelstat_xfrm_sas%s %d", l, sas))
	t.Logf("one scrape: %d bytes (%d gzipped), a poll took %.0f ms", len(first), zipped, 1000*metricValue(first, "tunnelstat_scrape_duration_seconds"+l))

	var (
		up1, up0, unavailable atomic.Int64
		mu                    sync.Mutex
		other                 []string
		bodies                = map[string]bool{}
		slowest               atomic.Int64
	)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				mu.Lock()
				other = append(other, err.Error())
				mu.Unlock()
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if d := int64(time.Since(t0)); d > slowest.Load() {
				slowest.Store(d) // racy max: a figure, not a check
			}
			switch {
			case err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("\ntunnelstat_up"+l+" 1\n")):
				up1.Add(1)
				mu.Lock()
				bodies[string(body)] = true
				mu.Unlock()
			case err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("\ntunnelstat_up"+l+" 0\n")):
				up0.Add(1)
			case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
				unavailable.Add(1)
			default:
				mu.Lock()
				other = append(other, fmt.Sprintf("%s, %v, %.200q", resp.Status, err, body))
				mu.Unlock()
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	last := get(t, client, url)
	polls := metricValue(last, "tunnelstat_scrapes_total"+l) - metricValue(first, "tunnelstat_scrapes_total"+l)
	t.Logf("%d concurrent scrapes, %d SAs, in %v (slowest %v): %d up 1, %d up 0, %d 503, %d other; %.0f polls meanwhile, %d different bodies",
		clients, sas, elapsed.Round(time.Millisecond), time.Duration(slowest.Load()).Round(time.Millisecond),
		up1.Load(), up0.Load(), unavailable.Load(), len(other), polls, len(bodies))
	if up0.Load() > 0 {
		t.Errorf("%d scrapes of a healthy namespace said tunnelstat_up 0\n%s", up0.Load(), logs.String())
	}
	if len(other) > 0 {
		t.Errorf("%d scrapes neither 200 nor 503: %q", len(other), other[:min(len(other), 5)])
	}
	// Scrapes past --max-requests wait up to --scrape-timeout for a turn,
	// then get 503: legitimate, but serving a rendering already made is
	// fast, so on this machine all should be served.
	if served := up1.Load(); served < clients/2 && !raceEnabled || served == 0 {
		t.Errorf("only %d of %d scrapes served", served, clients)
	}
	if up1.Load()+unavailable.Load() != clients {
		t.Errorf("%d up 1 and %d 503 of %d scrapes", up1.Load(), unavailable.Load(), clients)
	}
	// One rendering per poll: the scrapes' bodies are those of the polls
	// that ended meanwhile, never one per scrape.
	if len(bodies) > int(polls)+1 {
		t.Errorf("%d different bodies for %d scrapes and %.0f polls: not one rendering per poll", len(bodies), clients, polls)
	}
}

// slowDialer makes connections with a 4 KiB receive buffer, so that the
// exporter's writes block as soon as a slow reader stops reading (loopback
// otherwise buffers megabytes in the kernel).
var slowDialer = &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return serr
}}

// 20 clients that ask for the metrics of 2 000 SAs (per-SA series on) and
// read 16 bytes every 50 ms: the exporter's memory stays bounded (the
// response is rendered once, not per connection), other scrapes are
// served meanwhile, and the write timeout cuts the slow connections off.
func TestLiveSlowReaders(t *testing.T) {
	const sas, slow = 2000, 20
	const writeTimeout = 3 * time.Second
	ns := larvalNamespace(t, sas)
	// The kernel's send buffer would take the whole response (2.3 MB) at
	// once; a quarter of a megabyte makes the exporter's write wait for
	// the reader, as a larger response or a real network does.
	ns.Run(t, "sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 262144")
	n := newNSNet(t, ns)
	url, _ := startExporter(t, n, "--netns", ns.Name, "--sa-metrics", "--write-timeout", writeTimeout.String())
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics")
	client := n.client(1)
	defer client.CloseIdleConnections()
	up := `tunnelstat_up{netns="` + ns.Name + `"} 1`
	body := get(t, client, url)
	wantLines(t, body, up)
	runtime.GC()
	baseRSS, baseHeap := rss(t), heapInuse()

	type result struct {
		read      int // bytes read before the exporter closed the connection
		truncated bool
		err       error
	}
	results := make([]result, slow)
	var wg sync.WaitGroup
	goroutines := runtime.NumGoroutine()
	t0 := time.Now()
	slowUntil := t0.Add(writeTimeout + time.Second)
	for i := range slow {
		wg.Go(func() {
			c, err := n.dial(context.Background(), slowDialer, "tcp", addr)
			if err != nil {
				results[i].err = err
				return
			}
			defer c.Close()
			// No Accept-Encoding: the plain response, the largest.
			if _, err := fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
				results[i].err = err
				return
			}
			buf := make([]byte, 16)
			for time.Now().Before(slowUntil) {
				n, err := c.Read(buf)
				results[i].read += n
				if err != nil {
					results[i].err = fmt.Errorf("while reading slowly: %w", err)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Past the write timeout the exporter has closed the
			// connection: what the kernel still had queued arrives, then
			// the end, long before the whole response.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := io.Copy(io.Discard, c)
			results[i].read += int(n)
			results[i].truncated = err == nil && results[i].read < len(body)
			if err != nil {
				results[i].err = fmt.Errorf("draining after the write timeout: %w", err)
			}
		})
	}

	// Sample the memory while they read; scrape normally meanwhile.
	stop := make(chan struct{})
	var peakRSS, peakHeap uint64
	var peakG int
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			peakRSS, peakHeap, peakG = max(peakRSS, rss(t)), max(peakHeap, heapInuse()), max(peakG, runtime.NumGoroutine())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	time.Sleep(500 * time.Millisecond)
	served := time.Now()
	during := get(t, client, url)
	servedIn := time.Since(served)
	wantLines(t, during, up)
	// Once the write timeout has passed, the exporter's goroutines of the
	// slow connections have ended, while the clients' still run.
	time.Sleep(time.Until(slowUntil) - 500*time.Millisecond)
	after := runtime.NumGoroutine()
	wg.Wait()
	close(stop)
	sampler.Wait()

	const mb = 1 << 20
	t.Logf("%d slow readers of a %d-byte scrape (%d SAs): RSS %d MB → peak %d MB, heap in use %d MB → peak %d MB; a scrape meanwhile served in %v",
		slow, len(body), sas, baseRSS/mb, peakRSS/mb, baseHeap/mb, peakHeap/mb, servedIn.Round(time.Millisecond))
	t.Logf("goroutines: %d before, peak %d, %d after the write timeout (%d of them the slow clients')", goroutines, peakG, after, slow)
	for i, r := range results {
		if r.err != nil || !r.truncated {
			t.Errorf("slow reader %d: %v; read %d bytes of %d: the exporter did not cut it off", i, r.err, r.read, len(body))
		}
	}
	t.Logf("slow reader 0 read %d bytes before the exporter closed the connection", results[0].read)
	if after > goroutines+slow+2 {
		t.Errorf("%d goroutines after the write timeout, %d before: the exporter still serves the slow readers", after, goroutines)
	}
	// The bound: the response held once (a few MB here) and a small
	// buffer per connection, not a rendering per connection.
	if grow := int64(peakRSS) - int64(baseRSS); grow > 64*mb {
		t.Errorf("RSS grew by %d MB with %d slow readers", grow/mb, slow)
	}
	if grow := int64(peakHeap) - int64(baseHeap); grow > 48*mb {
		t.Errorf("heap in use grew by %d MB with %d slow readers", grow/mb, slow)
	}
}
