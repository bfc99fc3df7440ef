//go:build linux

package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// --netns all on the real host, while 200 scrapers hammer /metrics: a
// named namespace made during the test (ip netns add) and an unnamed one
// (a process in a namespace of its own) are picked up, with their netns
// labels, and dropped once deleted or once the process ended. Every
// response is a 200 with a complete body that parses and has every
// namespace's series, or a 503 with Retry-After (counted); the heap stays
// bounded.
//
// The test reads, never changes, the host's other namespaces (the
// exporter's own, and whatever else runs here): netlink dumps and XFRM
// event subscriptions only. Its HTTP traffic stays in a namespace it made.
func TestLiveNetNSAll(t *testing.T) {
	const clients = 200
	testns.RequireRoot(t)
	web := testns.New(t) // where the exporter listens and is scraped from
	n := newNSNet(t, web)
	runtime.GC()
	baseHeap := heapInuse()
	// Each poll must end within its interval, or its namespace is down
	// until the next: under the race detector, with 200 scrapers on the
	// same CPUs, a quarter of a second is not always enough (a poll of the
	// host's namespace once took longer, and the responses of that
	// interval rightly said the namespace was down).
	interval := "250ms"
	if raceEnabled {
		interval = "1s"
	}
	url, logs := startExporter(t, n, "--netns", "all", "--interval", interval, "--max-requests", "32", "--scrape-timeout", "2s")
	client := n.client(clients)
	defer client.CloseIdleConnections()

	first := get(t, client, url)
	wantLines(t, first, `tunnelstat_up{netns=""} 1`, `tunnelstat_up{netns="`+web.Name+`"} 1`)
	checkMetrics(t, seriesOf(first, "", web.Name))

	var (
		ok, unavailable, total atomic.Int64
		mu                     sync.Mutex
		bad                    []string
		peakHeap               atomic.Uint64
		maxBody                atomic.Int64
	)
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(bad) < 10 {
			bad = append(bad, s)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				total.Add(1)
				resp, err := client.Get(url)
				if err != nil {
					fail(err.Error())
					continue
				}
				body, err := io.ReadAll(resp.Body) // Content-Length: a short body is an error
				resp.Body.Close()
				switch {
				case err != nil:
					fail(fmt.Sprintf("%s: reading the body: %v", resp.Status, err))
				case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
					unavailable.Add(1)
				case resp.StatusCode != http.StatusOK:
					fail(fmt.Sprintf("%s: %.200q", resp.Status, body))
				default:
					if why := checkAll(body, web.Name); why != "" {
						fail(why)
					} else {
						ok.Add(1)
					}
					if l := int64(len(body)); l > maxBody.Load() {
						maxBody.Store(l) // racy max: a figure, not a check
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapInuse(); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	t0 := time.Now()

	// A named namespace, made now, with 3 larval SAs.
	named := larvalNamespace(t, 3)
	nl := `netns="` + named.Name + `"`
	body := waitFor(t, client, url, "tunnelstat_xfrm_sas{"+nl+"} 3")
	wantLines(t, body, "tunnelstat_up{"+nl+"} 1", `tunnelstat_xfrm_events_total{`+nl+`,type="acquire"} 0`)
	appeared := time.Since(t0)

	// An unnamed one: a process in a network namespace of its own.
	sleeper := exec.Command("unshare", "--net", "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	defer func() {
		if sleeper.ProcessState == nil {
			sleeper.Process.Kill()
			sleeper.Wait()
		}
	}()
	ino := processNetNS(t, sleeper.Process.Pid)
	ul := fmt.Sprintf(`netns="inode:%d"`, ino)
	waitFor(t, client, url, "tunnelstat_up{"+ul+"} 1")

	// Both go away: the series go with them.
	named.Del(t)
	if err := sleeper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	sleeper.Wait()
	t1 := time.Now()
	body = waitForFunc(t, client, url, func(b string) bool {
		return !strings.Contains(b, nl) && !strings.Contains(b, ul)
	})
	wantLines(t, body, `tunnelstat_up{netns=""} 1`)
	dropped := time.Since(t1)
	waitLog(t, logs, `network namespace "`+named.Name+`" is gone`)
	waitLog(t, logs, fmt.Sprintf(`network namespace "inode:%d" is gone`, ino))
	checkMetrics(t, seriesOf(body, "", web.Name))

	// Keep scraping a little after, then stop.
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	sampler.Wait()
	elapsed := time.Since(t0)
	client.CloseIdleConnections()
	runtime.GC()
	afterHeap := heapInuse()

	const mb = 1 << 20
	t.Logf("%d scrapers for %v: %d responses, %d complete and correct, %d 503 (over --max-requests), %d bad; largest body %d bytes",
		clients, elapsed.Round(time.Millisecond), total.Load(), ok.Load(), unavailable.Load(), len(bad), maxBody.Load())
	t.Logf("named namespace seen %v after it was made, both dropped %v after deletion", appeared.Round(time.Millisecond), dropped.Round(time.Millisecond))
	t.Logf("heap in use: %.1f MB before the exporter, peak %.1f MB, %.1f MB after (GC)", float64(baseHeap)/mb, float64(peakHeap.Load())/mb, float64(afterHeap)/mb)
	if len(bad) > 0 {
		t.Errorf("bad responses: %q\nthe exporter's log:\n%s", bad, logs.String())
	}
	if ok.Load() < clients {
		t.Errorf("only %d complete responses", ok.Load())
	}
	if ok.Load()+unavailable.Load() != total.Load() {
		t.Errorf("%d responses, %d ok and %d 503", total.Load(), ok.Load(), unavailable.Load())
	}
	// The bound: renderings are shared (a few hundred KB each here) and
	// each of the 200 connections holds a few KB of buffers; the test's own
	// clients, parsing every body, are in this heap too.
	if grow := int64(peakHeap.Load()) - int64(baseHeap); grow > 96*mb {
		t.Errorf("heap in use grew by %d MB", grow/mb)
	}
	if grow := int64(afterHeap) - int64(baseHeap); grow > 16*mb {
		t.Errorf("heap in use %d MB larger once the scrapers stopped", grow/mb)
	}
}

// seriesOf returns a scrape with only the exporter's own series and those
// of the namespaces labelled labels: promlint's check for duplicates takes
// time quadratic in a family's series, and the host's other namespaces
// (other tests') may hold thousands of tunnels.
func seriesOf(body string, labels ...string) string {
	var b strings.Builder
	for l := range strings.Lines(body) {
		keep := strings.HasPrefix(l, "#") || !strings.Contains(l, `netns="`)
		for _, label := range labels {
			keep = keep || strings.Contains(l, `netns="`+label+`"`)
		}
		if keep {
			b.WriteString(l)
		}
	}
	return b.String()
}

// checkAll says what is wrong with a scrape of --netns all, or "": it must
// parse, have the exporter's own namespace and the test's listening one
// up, and for every namespace its poll counts and every XFRM event type.
func checkAll(body []byte, webName string) string {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return "does not parse: " + err.Error()
	}
	byNS := func(name string) map[string][]*dto.Metric {
		out := map[string][]*dto.Metric{}
		if mf := mfs[name]; mf != nil {
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					if l.GetName() == "netns" {
						out[l.GetValue()] = append(out[l.GetValue()], m)
					}
				}
			}
		}
		return out
	}
	up := byNS("tunnelstat_up")
	for _, ns := range []string{"", webName} {
		if m := up[ns]; len(m) != 1 || m[0].GetGauge().GetValue() != 1 {
			return fmt.Sprintf("no tunnelstat_up 1 for netns %q", ns)
		}
	}
	events, polls := byNS("tunnelstat_xfrm_events_total"), byNS("tunnelstat_scrapes_total")
	for ns := range up {
		if len(events[ns]) != len(explain.EventTypes()) || len(polls[ns]) != 1 {
			return fmt.Sprintf("netns %q: %d event series, %d poll counts", ns, len(events[ns]), len(polls[ns]))
		}
	}
	if mfs["tunnelstat_scrapes_rejected_total"] == nil || mfs["tunnelstat_netns_discovery_skips_total"] == nil {
		return "no exporter series"
	}
	return ""
}

// processNetNS waits until the process is in a network namespace other
// than the test's (unshare has run) and returns that namespace's inode.
func processNetNS(t *testing.T, pid int) uint64 {
	t.Helper()
	var self syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err == nil && st.Ino != self.Ino {
			return st.Ino
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not enter a namespace of its own", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
