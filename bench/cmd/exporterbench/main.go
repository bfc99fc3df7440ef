//go:build linux

// Command exporterbench measures two builds of examples/exporter side by
// side on the same namespaces, in one run (issue 15): today's exporter,
// which reads its namespace in full on every scrape, against the new one,
// which polls in the background every --interval and serves the last
// rendered poll.
//
//	go build -o /tmp/old-exporter ./examples/exporter   # in a checkout of today's exporter
//	go build -o /tmp/new-exporter ./examples/exporter   # in the new one
//	go run ./bench/cmd/exporterbench -old /tmp/old-exporter -new /tmp/new-exporter
//	go run ./bench/cmd/exporterbench -old /tmp/old-exporter -new /tmp/new-exporter -smoke   # < 1 min
//
// It runs as root. It builds the namespaces itself with ip -batch:
//
//   - scenario A, one namespace: -tunnels (10 000) vxlan links, one
//     outbound policy per tunnel with a tunnel-mode ESP template
//     (192.0.2.1 to a peer of its own in 198.18.0.0/15, reqid = the
//     tunnel's number), and two larval SAs per tunnel (out and in, same
//     peer and reqid): 10 000 policy-based tunnels in the new exporter's
//     model. The old exporter and the new one run in it, one after the
//     other (ip netns exec NS BINARY --listen 127.0.0.1:PORT ...).
//   - scenario B, -namespaces (100) namespaces of -ns-tunnels (100)
//     tunnels each, same recipe; the new exporter watches them all with
//     --netns all. It runs in an empty namespace of the harness's own
//     (…-ctl), so that its listener, and every scrape, stays inside
//     namespaces the harness made; --netns all discovers namespaces
//     through /run/netns and /proc, not through its own. The old exporter
//     reads one namespace per process, so it is measured in A only; B's
//     ratios are against the old exporter in A (the same number of
//     tunnels, in one namespace).
//
// Stand-ins: this host has no vti, gre, ipip or esp modules, so the links
// are vxlan devices (never up, no traffic) and the SAs are larval
// (ip xfrm state allocspi, net.core.xfrm_acq_expires raised so they live):
// real SAD entries, dumped by the same kernel code, without keys or
// algorithms.
//
// For each exporter it measures: the time to its first served scrape;
// scrape latency (request sent to last byte received, keep-alive
// connections, gzip like Prometheus) over -scrapes scrapes per client with
// 1 and with 10 concurrent clients; RSS (/proc/PID/status VmHWM at the end,
// and the median of VmRSS sampled every 50 ms once it serves); CPU time
// (/proc/PID/stat utime + stime) per poll and per scrape; and the series in
// its exposition (lines that are samples). Polls are counted with the
// exporter's own counter (-polls-metric, tunnelstat_scrapes_total: one per
// reading of a namespace, per netns label with --netns all). For an
// exporter that reads on every scrape, CPU per poll is the 1-client
// phase's CPU over the readings it made; for one that polls in the
// background, it is the CPU of an -idle window with no scrapes over the
// polls in it (with --netns all, a poll is a pass over every namespace:
// the polls of the harness's namespaces divided by their number).
//
// The scrapes run in the exporter's namespace: the harness enters it on a
// locked OS thread to open each connection (internal/netns), so no traffic
// ever leaves a namespace the harness made. Everything it made (namespaces,
// processes) is removed at the end, on failure and on SIGINT or SIGTERM;
// the exporters also die with the harness (PR_SET_PDEATHSIG).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pollLoopCPU is BENCHMARKS.md's "Poll loop" figure: 0.5989 s of CPU over
// 60 polls of 10 000 tunnels.
const pollLoopCPU = 9982 * time.Microsecond

type config struct {
	oldBin, newBin            string
	oldArgs, newArgs, allArgs []string
	saArgs                    []string
	oldMode, newMode          string
	scenarios                 []string

	tunnels, namespaces, nsTunnels int
	scrapes, warmup                int
	clients                        []int
	idle, settle                   time.Duration
	startTimeout, scrapeTimeout    time.Duration
	gzip                           bool
	port                           int
	workers                        int
	pollLoopCPU                    time.Duration
	loopInterval                   time.Duration
	pollsMetric, tunnelMetric      string
	out                            string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("exporterbench: ")
	var c config
	var oldArgs, newArgs, allArgs, saArgs, scen, clients string
	var smoke bool
	var clean string
	flag.StringVar(&c.oldBin, "old", "", "`PATH` of today's exporter binary (reads the namespace on every scrape)")
	flag.StringVar(&c.newBin, "new", "", "`PATH` of the new exporter binary (polls in the background)")
	flag.StringVar(&oldArgs, "old-args", "", "extra arguments for the old exporter, space-separated (--listen is the harness's)")
	flag.StringVar(&newArgs, "new-args", "--interval 1s", "extra arguments for the new exporter in every scenario, space-separated")
	flag.StringVar(&allArgs, "all-args", "--netns all", "arguments the new exporter gets in scenario B (new-all), after -new-args; {ns0} is replaced by B's first namespace")
	flag.StringVar(&saArgs, "sa-args", "--sa-metrics", "arguments the new exporter gets in the new-sa scenario, after -new-args")
	flag.StringVar(&c.oldMode, "old-mode", "scrape", "how the old exporter reads: scrape (every scrape reads), poll (background polls) or auto (three scrapes back to back tell)")
	flag.StringVar(&c.newMode, "new-mode", "auto", "how the new exporter reads: poll, scrape or auto")
	flag.StringVar(&scen, "scenarios", "old,new,new-all", "what to run, comma-separated: old (old exporter, A), new (new exporter, A), new-sa (new exporter with -sa-args, A), new-all (new exporter with -all-args over B)")
	flag.IntVar(&c.tunnels, "tunnels", 10000, "scenario A: tunnels in the namespace (vxlan links, outbound policies; twice as many larval SAs)")
	flag.IntVar(&c.namespaces, "namespaces", 100, "scenario B: namespaces")
	flag.IntVar(&c.nsTunnels, "ns-tunnels", 100, "scenario B: tunnels per namespace")
	flag.IntVar(&c.scrapes, "scrapes", 100, "timed scrapes per client in each phase")
	flag.StringVar(&clients, "clients", "1,10", "concurrent scrapers of each phase, comma-separated")
	flag.IntVar(&c.warmup, "warmup", 3, "untimed scrapes after the first served one")
	flag.DurationVar(&c.idle, "idle", 30*time.Second, "window without scrapes over which a polling exporter's CPU per poll is measured")
	flag.DurationVar(&c.settle, "settle", 5*time.Second, "pause before each exporter starts (the kernel finishes tearing down or setting up namespaces)")
	flag.DurationVar(&c.startTimeout, "start-timeout", 3*time.Minute, "longest wait for an exporter's first served scrape")
	flag.DurationVar(&c.scrapeTimeout, "scrape-timeout", 60*time.Second, "longest one scrape may take")
	flag.BoolVar(&c.gzip, "gzip", true, "ask for gzip (Accept-Encoding), as Prometheus does")
	flag.IntVar(&c.port, "port", 9469, "the exporters listen on 127.0.0.1:PORT inside their namespace")
	flag.IntVar(&c.workers, "workers", 2, "scenario B: namespaces filled in parallel")
	flag.DurationVar(&c.pollLoopCPU, "poll-loop-cpu", pollLoopCPU, "the CPU-per-poll budget's base: BENCHMARKS.md Poll loop at 10 000 tunnels (0.5989 s / 60 polls)")
	flag.DurationVar(&c.loopInterval, "loop-interval", time.Second, "also measure the poll loop (a monitor without health, in this process) on each scenario's namespaces at this interval, over -idle, as a second base for CPU per poll; 0: do not")
	flag.StringVar(&c.pollsMetric, "polls-metric", "tunnelstat_scrapes_total", "the counter of readings (polls) of a namespace; one sample per netns label with --netns all")
	flag.StringVar(&c.tunnelMetric, "tunnel-metric", "tunnelstat_tunnel_up", "a metric with one sample per tunnel, counted to show how many tunnels an exporter sees")
	flag.StringVar(&c.out, "out", "", "also write the table to this `FILE`")
	flag.BoolVar(&smoke, "smoke", false, "a small run (under a minute): -tunnels 200 -namespaces 4 -ns-tunnels 50 -scrapes 10 -idle 4s -settle 1s, unless set")
	flag.StringVar(&clean, "clean", "", "only delete the namespaces named `PREFIX`… (tsxb-<random>-, as a run prints it) that a killed run left, and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected argument %q", flag.Arg(0))
	}
	if clean != "" {
		if err := cleanPrefix(clean); err != nil {
			log.Fatal(err)
		}
		return
	}
	if smoke {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"tunnels": "200", "namespaces": "4", "ns-tunnels": "50", "scrapes": "10", "idle": "4s", "settle": "1s"} {
			if !set[name] {
				_ = flag.Set(name, v)
			}
		}
	}
	c.oldArgs, c.newArgs, c.allArgs, c.saArgs = strings.Fields(oldArgs), strings.Fields(newArgs), strings.Fields(allArgs), strings.Fields(saArgs)
	c.scenarios = splitList(scen)
	for _, s := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-clients %q: want positive numbers, comma-separated", clients)
		}
		c.clients = append(c.clients, n)
	}
	if err := c.check(); err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, &c)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			log.Print("interrupted; everything the harness made is removed")
		} else {
			log.Print(err)
		}
		stop()
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (c *config) check() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (it creates network namespaces)")
	}
	if len(c.scenarios) == 0 {
		return errors.New("-scenarios: nothing to run")
	}
	for _, s := range c.scenarios {
		switch s {
		case "old":
			if c.oldBin == "" {
				return errors.New("scenario old needs -old PATH")
			}
		case "new", "new-sa", "new-all":
			if c.newBin == "" {
				return fmt.Errorf("scenario %s needs -new PATH", s)
			}
		default:
			return fmt.Errorf("-scenarios: unknown scenario %q (old, new, new-sa, new-all)", s)
		}
	}
	for _, m := range []string{c.oldMode, c.newMode} {
		if m != "scrape" && m != "poll" && m != "auto" {
			return fmt.Errorf("mode %q: want scrape, poll or auto", m)
		}
	}
	for _, b := range []string{c.oldBin, c.newBin} {
		if b == "" {
			continue
		}
		if st, err := os.Stat(b); err != nil {
			return err
		} else if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s: not an executable file", b)
		}
	}
	switch {
	case c.tunnels < 1 || c.tunnels > maxTunnels:
		return fmt.Errorf("-tunnels %d: want 1 to %d", c.tunnels, maxTunnels)
	case c.namespaces < 1 || c.nsTunnels < 1 || c.namespaces*c.nsTunnels > maxTunnels:
		return fmt.Errorf("-namespaces %d × -ns-tunnels %d: want at least 1 each, at most %d tunnels in all", c.namespaces, c.nsTunnels, maxTunnels)
	case c.scrapes < 1:
		return fmt.Errorf("-scrapes %d: want 1 or more", c.scrapes)
	case c.idle <= 0:
		return fmt.Errorf("-idle %v: want a positive duration", c.idle)
	case c.port < 1 || c.port > 65535-8:
		return fmt.Errorf("-port %d: out of range", c.port)
	case c.workers < 1:
		return fmt.Errorf("-workers %d: want 1 or more", c.workers)
	}
	return nil
}
