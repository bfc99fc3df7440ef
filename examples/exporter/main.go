// Command exporter serves tunnelstat's metrics to Prometheus: every tunnel's
// stats64 with each error field apart, tunnel parameters on an info metric,
// the whole XFRM MIB, SA and policy counts, SPD and SAD info, per-tunnel
// health (up, traffic kept across rekeys, when the newest SAs expire,
// sequence numbers left, the failures ahead), XFRM events by type, and
// tunnelstat_cause_events_total{interface,cause}: what explain found
// between polls, each event counted once. Every namespace's series carry
// its netns label.
//
//	exporter [--listen 127.0.0.1:9469] [--netns NAME|PATH|all] [--interval 15s]
//	         [--sa-metrics] [--max-requests 32] [--scrape-timeout 5s]
//	         [--write-timeout 30s] [--idle-timeout 60s]
//
// It listens on loopback unless told otherwise. A background loop polls
// each namespace every --interval; scrapes never read a namespace, they
// serve the last polls, rendered once per poll for every scrape. With
// --netns all it watches every named namespace and every namespace of a
// running process, picking up new ones and dropping gone ones every
// interval. Run it as root (or with CAP_NET_ADMIN, and CAP_SYS_ADMIN for
// other namespaces) for SAs and policies; without, tunnelstat_part_readable
// says what is missing. The repository's README.md lists the metrics, the
// counting rule of the cause counters and the series per tunnel.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// defaultListen is loopback: the metrics name SAs and peers, so exposing
// them beyond the host is a decision to make, not a default.
const defaultListen = "127.0.0.1:9469"

func main() {
	// The agent's heap is mostly what it keeps from poll to poll (readings,
	// Trackers, rendered bytes), and a quiet poll allocates little: the
	// default GC headroom (GOGC=100, a heap twice the live one) would only
	// hold garbage. Half of it keeps RSS near the live heap for a few
	// more collections. GOGC set by the user wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "exporter:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

// listen opens the listening socket; tests open it in a namespace of their
// own.
var netListen = net.Listen

// run parses args, starts the background polls and serves until ctx is
// done, then stops the polls. If ready is not nil, it receives the
// listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", defaultListen, "`ADDRESS` to serve /metrics on")
	netns := fs.String("netns", "", "watch the network namespace `NAME` (ip netns list) or at PATH, or all: every named namespace and every namespace of a running process; other namespaces need CAP_SYS_ADMIN")
	interval := fs.Duration("interval", 15*time.Second, "how often each namespace is read, and the longest a reading may take; scrapes serve the last reading")
	saMetrics := fs.Bool("sa-metrics", false, "also export the per-SA series (tunnelstat_xfrm_sa_*, labelled by SPI: new series at every rekey)")
	wait := fs.Duration("scrape-timeout", 5*time.Second, "the longest a scrape waits for a turn past --max-requests, or for the first poll after start-up, before 503 (a shorter X-Prometheus-Scrape-Timeout-Seconds wins); scrapes never read a namespace")
	path := fs.String("metrics-path", "/metrics", "the `PATH` metrics are served on")
	maxRequests := fs.Int("max-requests", 32, "the most scrapes served at once; more wait up to --scrape-timeout for a turn, then get 503")
	writeTimeout := fs.Duration("write-timeout", 0, "the longest a request may take from its headers to the last byte of the response, waiting included (0: 2 × --scrape-timeout + 20s)")
	idleTimeout := fs.Duration("idle-timeout", 60*time.Second, "how long an idle keep-alive connection stays open")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case *interval <= 0:
		return usageError{fmt.Errorf("--interval %v: want a positive duration", *interval)}
	case *wait <= 0:
		return usageError{fmt.Errorf("--scrape-timeout %v: want a positive duration", *wait)}
	case *maxRequests < 1:
		return usageError{fmt.Errorf("--max-requests %d: want 1 or more", *maxRequests)}
	case *writeTimeout < 0:
		return usageError{fmt.Errorf("--write-timeout %v: want a positive duration, or 0 for the default", *writeTimeout)}
	case *idleTimeout <= 0:
		return usageError{fmt.Errorf("--idle-timeout %v: want a positive duration", *idleTimeout)}
	case *writeTimeout == 0:
		*writeTimeout = 2**wait + 20*time.Second
	}
	all := *netns == "all"
	var ns monitor.NetNS
	if all {
		if !canDiscover {
			return usageError{errNoDiscovery}
		}
	} else {
		var err error
		if ns, err = monitor.ParseNetNS(*netns); err != nil {
			return usageError{err}
		}
		if ns != (monitor.NetNS{}) {
			// Say at once what is wrong with the namespace given (missing,
			// not a namespace, no permission), rather than poll by poll.
			r, err := monitor.Open(ctx, ns)
			if err != nil {
				return err
			}
			r.Close()
		}
	}

	logger := log.New(stderr, "exporter: ", log.LstdFlags)
	exp := newExporter(*maxRequests, *wait, *saMetrics)
	a := &agent{
		e: exp, interval: *interval, logf: logger.Printf,
		all: all, fixed: ns, label: ns.String(),
		discover: discoverNetNS, hold: holdNetNS,
	}
	actx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		a.run(actx)
	}()
	defer func() {
		stopAgent()
		<-agentDone
	}()

	mux := http.NewServeMux()
	mux.Handle(*path, exp)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "tunnelstat exporter: metrics at %s\n", *path)
	})
	ln, err := netListen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := newServer(mux, *writeTimeout, *idleTimeout, logger)
	logger.Printf("serving http://%s%s for %s, read every %v", ln.Addr(), *path, nsText(*netns), *interval)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// newServer bounds what a connection may hold: 10 s to send the request,
// writeTimeout from its headers to the end of the response (a client that
// reads slowly is cut off), idleTimeout between requests.
func newServer(h http.Handler, writeTimeout, idleTimeout time.Duration, logger *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          logger,
	}
}

func nsText(netns string) string {
	switch netns {
	case "":
		return "this network namespace"
	case "all":
		return "every network namespace"
	}
	return "network namespace " + netns
}
