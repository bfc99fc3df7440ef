//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/netns"
)

// accept asks for the text format only, so that every exporter answers in
// the same format and the sample lines count the same way.
const accept = "text/plain;version=0.0.4"

// scraper scrapes http://127.0.0.1:PORT/metrics inside a namespace: every
// connection is opened by a thread that has entered it (netns.Handle.Do),
// so the traffic never leaves that namespace. Connections are kept alive,
// as Prometheus keeps them.
type scraper struct {
	ns      *netns.Handle
	client  *http.Client
	url     string
	gzip    bool
	timeout time.Duration
}

func newScraper(nsName string, port int, gz bool, timeout time.Duration) (*scraper, error) {
	h, err := netns.Open(netns.Target{Name: nsName})
	if err != nil {
		return nil, err
	}
	s := &scraper{ns: h, url: fmt.Sprintf("http://127.0.0.1:%d/metrics", port), gzip: gz, timeout: timeout}
	tr := &http.Transport{
		Proxy: nil, // never a proxy: the exporter is on the namespace's loopback
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := h.Do(func() error {
				var d net.Dialer
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		DisableCompression:  true, // Accept-Encoding is set by hand, and the timed body is what came over the wire
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	s.client = &http.Client{Transport: tr}
	return s, nil
}

func (s *scraper) close() {
	s.client.CloseIdleConnections()
	_ = s.ns.Close()
}

func (s *scraper) request(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if s.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	return req, nil
}

type statusError int

func (e statusError) Error() string { return fmt.Sprintf("HTTP %d", int(e)) }

// timed is one scrape as the phases take it: the time from sending the
// request to the last byte of the body, which is read and dropped.
func (s *scraper) timed(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.request(ctx)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, statusError(resp.StatusCode)
	}
	return d, nil
}

// probe is a scrape read in full and parsed: between phases, never timed.
type probe struct {
	wire, body int // bytes received, and of the exposition
	expo       exposition
}

func (s *scraper) probe(ctx context.Context, bPrefix string, c *config) (*probe, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.request(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var wire bytes.Buffer
	if _, err := io.Copy(&wire, resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp.StatusCode)
	}
	body, n := wire.Bytes(), wire.Len()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(&wire)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		body = b
	}
	p := &probe{wire: n, body: len(body)}
	p.expo = parse(body, c.pollsMetric, c.tunnelMetric, bPrefix)
	return p, nil
}

// exposition is what the harness reads from a scrape.
type exposition struct {
	series int // lines that are samples

	// The polls counter: its samples' sum and count, over all samples and
	// over those whose netns label starts with B's prefix.
	pollsSum, pollsOurs float64
	pollsN, pollsOursN  int
	labels              []string // the netns labels of the polls counter's samples

	tunnels  int     // samples of the per-tunnel metric
	sadSAs   float64 // tunnelstat_xfrm_sad_sas, summed over namespaces
	spdOut   float64 // tunnelstat_xfrm_spd_policies{dir="out",socket="false"}, summed
	failures float64 // tunnelstat_scrape_failures_total, summed: readings that failed
	upSum    float64 // tunnelstat_up, summed
	upN      int
	families map[string]int // samples per metric name
}

// cycles is how many polls the counter says were made, per namespace:
// of B's namespaces when there are any, else of all its samples (a
// single-namespace exporter has one).
func (e *exposition) cycles() float64 {
	if e.pollsOursN > 0 {
		return e.pollsOurs / float64(e.pollsOursN)
	}
	if e.pollsN > 0 {
		return e.pollsSum / float64(e.pollsN)
	}
	return 0
}

// parse reads the text exposition format. Sample lines are those neither
// empty nor comments.
func parse(body []byte, pollsMetric, tunnelMetric, bPrefix string) exposition {
	e := exposition{families: map[string]int{}}
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		e.series++
		name, labels, rest := splitSample(string(line))
		e.families[name]++
		value := 0.0
		if f := strings.Fields(rest); len(f) > 0 {
			value, _ = strconv.ParseFloat(f[0], 64)
		}
		switch name {
		case pollsMetric:
			e.pollsSum += value
			e.pollsN++
			l := labels["netns"]
			e.labels = append(e.labels, l)
			if bPrefix != "" && strings.HasPrefix(l, bPrefix) {
				e.pollsOurs += value
				e.pollsOursN++
			}
		case tunnelMetric:
			e.tunnels++
		case "tunnelstat_xfrm_sad_sas":
			e.sadSAs += value
		case "tunnelstat_xfrm_spd_policies":
			if labels["dir"] == "out" && labels["socket"] == "false" {
				e.spdOut += value
			}
		case "tunnelstat_scrape_failures_total":
			e.failures += value
		case "tunnelstat_up":
			e.upSum += value
			e.upN++
		}
	}
	return e
}

// splitSample splits name{labels} rest. Label values are unescaped only
// as far as the harness needs (\" and \\).
func splitSample(line string) (name string, labels map[string]string, rest string) {
	i := strings.IndexAny(line, "{ \t")
	if i < 0 {
		return line, nil, ""
	}
	name = line[:i]
	if line[i] != '{' {
		return name, nil, line[i:]
	}
	s := line[i+1:]
	for {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			return name, labels, ""
		}
		if s[0] == '}' {
			return name, labels, s[1:]
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return name, labels, "" // malformed: counted, not read
		}
		key := strings.TrimSpace(s[:eq])
		s = s[eq+2:]
		var v strings.Builder
		j := 0
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			v.WriteByte(s[j])
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[key] = v.String()
		if j >= len(s) {
			return name, labels, ""
		}
		s = s[j+1:]
	}
}

// phase is the result of one scrape phase.
type phase struct {
	clients, perClient int
	lat                []time.Duration // sorted
	errs               int
	firstErr           error
	wall, cpu          time.Duration
	readings           float64 // polls the counter moved by during the phase
	failed             float64 // failed readings (polls) during the phase, by the exporter's count
}

// runPhase runs clients scrapers of perClient scrapes each, back to back,
// all starting together.
func runPhase(ctx context.Context, s *scraper, clients, perClient int) phase {
	ph := phase{clients: clients, perClient: perClient}
	lats := make([][]time.Duration, clients)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			<-start
			for range perClient {
				d, err := s.timed(ctx)
				if err != nil {
					mu.Lock()
					ph.errs++
					if ph.firstErr == nil {
						ph.firstErr = err
					}
					mu.Unlock()
					if ctx.Err() != nil {
						return
					}
					time.Sleep(50 * time.Millisecond) // a refused scrape: no busy loop
					continue
				}
				lats[i] = append(lats[i], d)
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	ph.wall = time.Since(t0)
	for _, l := range lats {
		ph.lat = append(ph.lat, l...)
	}
	slices.Sort(ph.lat)
	return ph
}

// pct is the p-th percentile (nearest rank) of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// loopbackTraffic sends a UDP datagram to 127.0.0.1:9 (discard; nothing
// listens, so the kernel answers with an ICMP port unreachable, on the
// loopback too) inside the scraper's namespace every period, until stop
// is called. The socket is opened by a thread in that namespace, so the
// traffic never leaves it.
func loopbackTraffic(s *scraper, period time.Duration) (stop func(), err error) {
	var c net.Conn
	if err := s.ns.Do(func() error {
		var err error
		c, err = net.Dial("udp4", "127.0.0.1:9")
		return err
	}); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			_, _ = c.Write([]byte("exporterbench")) // refused by ICMP: the error says so, and counts
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-ended
		c.Close()
	}, nil
}
