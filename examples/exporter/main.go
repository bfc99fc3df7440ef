// Command exporter serves tunnelstat's metrics to Prometheus: every tunnel's
// stats64 with each error field apart, tunnel parameters on an info metric,
// the whole XFRM MIB, SA and policy counts, per-SA traffic, replay and
// integrity counters (never keys), SPD and SAD info, and
// tunnelstat_cause_events_total{interface,cause}: what explain found
// between consecutive scrapes, each event counted once.
//
//	exporter [--listen 127.0.0.1:9469] [--netns NAME|PATH] [--scrape-timeout 5s]
//	         [--max-requests 32] [--write-timeout 30s] [--idle-timeout 60s]
//
// It listens on loopback unless told otherwise. Scrapes that arrive while a
// reading is under way share it; each reading is rendered once. Run it as root (or with
// CAP_NET_ADMIN) for SAs and policies; without, tunnelstat_part_readable
// says what is missing. The repository's README.md lists the metrics and
// the counting rule of the cause counters.
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
	"syscall"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// defaultListen is loopback: the metrics name SAs and peers, so exposing
// them beyond the host is a decision to make, not a default.
const defaultListen = "127.0.0.1:9469"

func main() {
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

// run parses args, opens the namespace and serves until ctx is done. If
// ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", defaultListen, "`ADDRESS` to serve /metrics on")
	netns := fs.String("netns", "", "read the network namespace `NAME` (ip netns list) or at PATH; needs CAP_SYS_ADMIN")
	timeout := fs.Duration("scrape-timeout", 5*time.Second, "the longest one reading of the namespace may take, from when it starts (a shorter X-Prometheus-Scrape-Timeout-Seconds wins)")
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
	case *timeout <= 0:
		return usageError{fmt.Errorf("--scrape-timeout %v: want a positive duration", *timeout)}
	case *maxRequests < 1:
		return usageError{fmt.Errorf("--max-requests %d: want 1 or more", *maxRequests)}
	case *writeTimeout < 0:
		return usageError{fmt.Errorf("--write-timeout %v: want a positive duration, or 0 for the default", *writeTimeout)}
	case *idleTimeout <= 0:
		return usageError{fmt.Errorf("--idle-timeout %v: want a positive duration", *idleTimeout)}
	case *writeTimeout == 0:
		*writeTimeout = 2**timeout + 20*time.Second
	}
	ns, err := monitor.ParseNetNS(*netns)
	if err != nil {
		return usageError{err}
	}
	src, err := monitor.Open(ctx, ns)
	if err != nil {
		return err
	}
	defer src.Close()

	logger := log.New(stderr, "exporter: ", log.LstdFlags)
	exp := NewExporter(src, *timeout, *maxRequests)
	exp.logf = logger.Printf
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
	logger.Printf("serving http://%s%s for %s", ln.Addr(), *path, nsText(*netns))
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
	if netns == "" {
		return "this network namespace"
	}
	return "network namespace " + netns
}
