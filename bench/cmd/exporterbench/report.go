//go:build linux

package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type meta struct {
	date, machine, kernel, iproute, load0, load1 string
}

func newMeta() *meta {
	m := &meta{date: time.Now().UTC().Format(time.RFC3339), load0: loadavg()}
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	m.machine = fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), cpu)
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.kernel = unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.Command("ip", "-V").Output(); err == nil {
		m.iproute = strings.TrimSpace(string(out))
	}
	return m
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtKB(kb uint64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func fmtBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func fmtRatio(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// measure is one row: a value per result, and optionally a ratio against
// the old exporter (or a fixed base) with a goal.
type row struct {
	name  string
	cell  func(r *result) string
	num   func(r *result) float64 // for the ratio; 0: none
	ratio func(old, cand float64) float64
	goal  string
	met   func(ratio float64) bool
	// base, if set, replaces the old exporter's figure as the ratio's
	// denominator (CPU per poll is held to the Poll loop's figure).
	base float64
}

func phaseOf(r *result, clients int) *phase {
	for i := range r.phases {
		if r.phases[i].clients == clients {
			return &r.phases[i]
		}
	}
	return nil
}

func report(out io.Writer, c *config, m *meta, results []*result) {
	var old *result
	for _, r := range results {
		if r.sc.key == "old" && r.err == nil {
			old = r
		}
	}
	fmt.Fprintf(out, "\n## exporterbench: today's exporter against the new one (issue 15)\n\n")
	fmt.Fprintf(out, "| | |\n|---|---|\n")
	fmt.Fprintf(out, "| date | %s |\n| machine | %s |\n| kernel | %s |\n| iproute2 | %s |\n", m.date, m.machine, m.kernel, m.iproute)
	fmt.Fprintf(out, "| load average | %s at start, %s at end (shared machine: other jobs may have run meanwhile) |\n", m.load0, m.load1)
	ranA, ranB := false, false
	for _, r := range results {
		ranA, ranB = ranA || r.sc.scope == "A", ranB || r.sc.scope == "B"
	}
	if ranA {
		fmt.Fprintf(out, "| scenario A | one namespace: %d vxlan links (stand-ins for tunnel interfaces: this host has no vti/gre/ipip modules; never up), %d outbound policies with a tunnel-mode ESP template (192.0.2.1 → a peer of its own, reqid = tunnel number), %d larval SAs (ip xfrm state allocspi, one out and one in per tunnel, same reqid: no ESP modules here, so no keyed SAs): %d policy-based tunnels |\n",
			c.tunnels, c.tunnels, 2*c.tunnels, c.tunnels)
	}
	if ranB {
		fmt.Fprintf(out, "| scenario B | %d namespaces × %d tunnels, same recipe (%d tunnels in all); the exporter runs in an empty namespace of the harness's own, so that every scrape stays in namespaces it made, and covers every namespace on the host, the harness's and any other |\n",
			c.namespaces, c.nsTunnels, c.namespaces*c.nsTunnels)
	}
	fmt.Fprintf(out, "| scrapes | %d per client per phase, back to back, with %s concurrent clients; keep-alive; Accept-Encoding gzip %v; latency = request sent to last byte received (the body is not decompressed in the timed path); %d warm-up scrapes first |\n",
		c.scrapes, joinInts(c.clients), c.gzip, c.warmup)
	fmt.Fprintf(out, "| RSS | /proc/PID/status, sampled every 50 ms: peak = VmHWM at the end; steady = median VmRSS from the first served scrape to the end |\n")
	fmt.Fprintf(out, "| CPU | /proc/PID/stat utime + stime (10 ms ticks); polls = the move of %s (per namespace: with --netns all, a poll is a pass over every namespace, counted on B's) |\n", c.pollsMetric)
	for _, r := range results {
		fmt.Fprintf(out, "| %s | `%s %s` |\n", r.sc.title, r.sc.bin, strings.Join(concat([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", c.port)}, r.sc.args), " "))
	}
	fmt.Fprintln(out)

	rows := []row{
		{name: "time to first served scrape", cell: func(r *result) string { return fmtDur(r.startup) }},
		{name: "reads the namespace", cell: func(r *result) string {
			if r.perScrape {
				return "on every scrape"
			}
			return "in the background"
		}},
	}
	for _, n := range c.clients {
		p50 := func(r *result) float64 {
			if ph := phaseOf(r, n); ph != nil {
				return float64(pct(ph.lat, 50))
			}
			return 0
		}
		p99 := func(r *result) float64 {
			if ph := phaseOf(r, n); ph != nil {
				return float64(pct(ph.lat, 99))
			}
			return 0
		}
		rows = append(rows,
			row{name: fmt.Sprintf("scrape p50, %d client%s", n, plural(n)), num: p50,
				cell:  func(r *result) string { return fmtDur(time.Duration(p50(r))) },
				ratio: func(o, x float64) float64 { return o / x }, goal: "≥ 10× faster (old ÷ new)", met: func(q float64) bool { return q >= 10 }},
			row{name: fmt.Sprintf("scrape p99, %d client%s", n, plural(n)), num: p99,
				cell:  func(r *result) string { return fmtDur(time.Duration(p99(r))) },
				ratio: func(o, x float64) float64 { return o / x }, goal: "(old ÷ new)"},
			row{name: fmt.Sprintf("scrapes served, refused or failed, failed readings, wall, %d client%s", n, plural(n)), cell: func(r *result) string {
				if ph := phaseOf(r, n); ph != nil {
					return fmt.Sprintf("%d, %d, %g, %s", len(ph.lat), ph.errs, ph.failed, fmtDur(ph.wall))
				}
				return "—"
			}},
		)
	}
	rows = append(rows,
		row{name: "RSS peak (VmHWM)", num: func(r *result) float64 { return float64(r.hwm) },
			cell:  func(r *result) string { return fmtKB(r.hwm) },
			ratio: func(o, x float64) float64 { return x / o }, goal: "≤ ⅓ of old (new ÷ old)", met: func(q float64) bool { return q <= 1.0/3 }},
		row{name: "RSS steady (median VmRSS)", num: func(r *result) float64 { return float64(r.rssMedian) },
			cell: func(r *result) string {
				return fmt.Sprintf("%s (max %s, %d samples)", fmtKB(r.rssMedian), fmtKB(r.rssMax), r.rssSamples)
			},
			ratio: func(o, x float64) float64 { return x / o }, goal: "≤ ⅓ of old (new ÷ old)", met: func(q float64) bool { return q <= 1.0/3 }},
		row{name: "CPU per poll", num: func(r *result) float64 { return float64(r.cpuPerPoll) },
			cell: func(r *result) string {
				return fmt.Sprintf("%s (%s over %.1f polls in %s)", fmtDur(r.cpuPerPoll), fmtDur(r.pollsCPU), r.polls, fmtDur(r.pollsWindow))
			},
			base:  float64(c.pollLoopCPU),
			ratio: func(b, x float64) float64 { return x / b },
			goal:  fmt.Sprintf("≤ 1.5 × Poll loop's %s = %s (new ÷ Poll loop)", fmtDur(c.pollLoopCPU), fmtDur(c.pollLoopCPU*3/2)),
			met:   func(q float64) bool { return q <= 1.5 }},
		row{name: "CPU per poll measured over", cell: func(r *result) string { return r.pollsFrom }},
		row{name: "CPU per poll with traffic in the namespace (a UDP datagram on the loopback every 100 ms: something moves every interval)", num: func(r *result) float64 { return float64(r.busyPerPoll) },
			cell: func(r *result) string {
				if r.busyPolls <= 0 {
					return "—"
				}
				return fmt.Sprintf("%s (%s over %.1f polls in %s)", fmtDur(r.busyPerPoll), fmtDur(r.busyCPU), r.busyPolls, fmtDur(r.busyWindow))
			},
			base:  float64(c.pollLoopCPU),
			ratio: func(b, x float64) float64 { return x / b },
			goal:  fmt.Sprintf("(new ÷ Poll loop's %s)", fmtDur(c.pollLoopCPU))},
		row{name: "poll loop on the same namespaces (monitor without health, this harness)", cell: func(r *result) string {
			switch {
			case r.loop == nil:
				return "—"
			case r.loop.err != nil:
				return "failed: " + firstLine(r.loop.err.Error())
			}
			return fmt.Sprintf("%s per pass (%s over %.1f passes in %s)", fmtDur(r.loop.perPass), fmtDur(r.loop.cpu), r.loop.passes, fmtDur(r.loop.window))
		}},
		row{name: "CPU per poll ÷ poll loop on the same namespaces", num: func(r *result) float64 {
			if r.loop == nil || r.loop.err != nil || r.loop.perPass <= 0 || r.cpuPerPoll <= 0 {
				return 0
			}
			return float64(r.cpuPerPoll) / float64(r.loop.perPass)
		}, cell: func(r *result) string {
			if r.loop == nil || r.loop.err != nil || r.loop.perPass <= 0 || r.cpuPerPoll <= 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f×", float64(r.cpuPerPoll)/float64(r.loop.perPass))
		}, base: 1, ratio: func(b, x float64) float64 { return x / b }, goal: "≤ 1.5 × the poll loop measured on the same namespaces", met: func(q float64) bool { return q <= 1.5 }},
	)
	for _, n := range c.clients {
		rows = append(rows,
			row{name: fmt.Sprintf("CPU per scrape, %d client%s (phase CPU ÷ scrapes; background polls included)", n, plural(n)), cell: func(r *result) string {
				if ph := phaseOf(r, n); ph != nil && len(ph.lat) > 0 {
					return fmt.Sprintf("%s (%s, %d scrapes)", fmtDur(ph.cpu/time.Duration(len(ph.lat))), fmtDur(ph.cpu), len(ph.lat))
				}
				return "—"
			}},
			row{name: fmt.Sprintf("readings during the %d-client phase", n), cell: func(r *result) string {
				if ph := phaseOf(r, n); ph != nil && len(ph.lat) > 0 {
					return fmt.Sprintf("%.1f (%.2f per scrape)", ph.readings, ph.readings/float64(len(ph.lat)))
				}
				return "—"
			}},
		)
	}
	lastInt := func(f func(p *probe) string) func(r *result) string {
		return func(r *result) string {
			if r.last == nil {
				return "—"
			}
			return f(r.last)
		}
	}
	rows = append(rows,
		row{name: "series (sample lines)", num: func(r *result) float64 {
			if r.last == nil {
				return 0
			}
			return float64(r.last.expo.series)
		}, cell: lastInt(func(p *probe) string { return fmt.Sprint(p.expo.series) }),
			ratio: func(o, x float64) float64 { return x / o }, goal: "(new ÷ old)"},
		row{name: "exposition size (on the wire)", cell: lastInt(func(p *probe) string {
			return fmt.Sprintf("%s (%s)", fmtBytes(p.body), fmtBytes(p.wire))
		})},
		row{name: "largest metric families", cell: lastInt(func(p *probe) string { return topFamilies(p.expo.families, 3) })},
		row{name: "namespaces in the exposition (of B's)", cell: lastInt(func(p *probe) string {
			return fmt.Sprintf("%d (%d)", p.expo.pollsN, p.expo.pollsOursN)
		})},
		row{name: "namespaces up (tunnelstat_up summed)", cell: lastInt(func(p *probe) string {
			return fmt.Sprintf("%g of %d", p.expo.upSum, p.expo.upN)
		})},
		row{name: c.tunnelMetric + " samples (tunnels seen)", cell: lastInt(func(p *probe) string { return fmt.Sprint(p.expo.tunnels) })},
		row{name: "SAD SAs / outbound policies the exporter saw (summed over namespaces)", cell: lastInt(func(p *probe) string {
			return fmt.Sprintf("%g / %g", p.expo.sadSAs, p.expo.spdOut)
		})},
	)

	// The table: a column per scenario, then for each new exporter
	// scenario its ratio against the old exporter (or the fixed base).
	var cands []*result
	for _, r := range results {
		if r.sc.key != "old" {
			cands = append(cands, r)
		}
	}
	fmt.Fprintf(out, "| measure |")
	for _, r := range results {
		fmt.Fprintf(out, " %s |", r.sc.title)
	}
	for _, r := range cands {
		fmt.Fprintf(out, " %s: ratio |", r.sc.title)
	}
	fmt.Fprintf(out, " goal (issue 15) |\n|---|")
	for range len(results) + len(cands) {
		fmt.Fprintf(out, "---|")
	}
	fmt.Fprintf(out, "---|\n")
	for _, rw := range rows {
		fmt.Fprintf(out, "| %s |", rw.name)
		for _, r := range results {
			if r.err != nil {
				fmt.Fprintf(out, " failed |")
				continue
			}
			fmt.Fprintf(out, " %s |", rw.cell(r))
		}
		for _, r := range cands {
			fmt.Fprintf(out, " %s |", ratioCell(rw, old, r))
		}
		fmt.Fprintf(out, " %s |\n", rw.goal)
	}
	fmt.Fprintln(out)
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(out, "- **%s failed:** %s\n", r.sc.title, firstLine(r.err.Error()))
			continue
		}
		failed, refused := 0.0, 0
		for _, ph := range r.phases {
			failed += ph.failed
			refused += ph.errs
		}
		if failed > 0 || refused > 0 {
			fmt.Fprintf(out, "- **%s:** %g readings failed (tunnelstat_scrape_failures_total; a scrape of a failed reading is served with tunnelstat_up 0 and no namespace series, so not every latency is that of a full exposition) and %d scrapes were refused or failed during the phases (left out of the latencies).\n", r.sc.title, failed, refused)
		}
	}
	fmt.Fprintf(out, "- Stand-ins: the links are vxlan devices and the SAs larval (allocspi; no ESP, vti, gre or ipip modules on this host). Larval SAs are real SAD entries, dumped by the same kernel code, without keys or algorithms and with no traffic: their counters never move.\n")
	fmt.Fprintf(out, "- The old exporter renders tunnel links only (vti, gre, ipip … or a tunnel's name): it reads the vxlan links on every scrape but renders no series for them; its series are per SA (%d SAs) and namespace-wide.\n", 2*c.tunnels)
	fmt.Fprintf(out, "- Scenario B: the old exporter reads one namespace per process, so it is not run there; B's ratios are against the old exporter in A (the same number of tunnels, in one namespace). --netns all also covers the host's namespace, the harness's empty one and any other on the host (the namespaces row counts them); their cost is in B's CPU and RSS.\n")
	fmt.Fprintf(out, "- CPU per poll, for an exporter that reads on every scrape, is that of a whole scrape (reading, explaining, rendering, gzip, HTTP); for one that polls in the background, of a window without scrapes (polling and rendering; the scrapers' idle connections closed first, as their keep-alive probes are traffic), and again of a window with a UDP datagram on the loopback of the namespace it is scraped in (A; in B the harness's own, one of the 104) every 100 ms: traffic that no series shows, after which the exporter reads SAs and runs the full Tracker as in a busy namespace. The base is BENCHMARKS.md's Poll loop at 10 000 tunnels (0.5989 s / 60 polls), which reads links, MIB and SPD/SAD sizes and explains, with no SAs and no rendering. The second base is that poll loop measured here, on the scenario's own namespaces, at the exporters' interval: since Linux 6.9, /proc/net/xfrm_stat folds in the SAs' offload counters (xfrm_state_update_stats walks every SA on each read), so, reading the MIB of a namespace of 20 000 SAs costs what the first base, taken with none, does not.\n")
	fmt.Fprintf(out, "- One run on a shared 2-CPU machine: the harness and the exporter share the CPUs (the harness only reads and drops bodies in the timed path), and the figures move with other jobs' load.\n\n")
}

func ratioCell(rw row, old, r *result) string {
	if rw.ratio == nil || rw.num == nil || r.err != nil {
		return ""
	}
	base := rw.base
	if base == 0 {
		if old == nil {
			return "—"
		}
		base = rw.num(old)
	}
	x := rw.num(r)
	if base == 0 || x == 0 {
		return "—"
	}
	q := rw.ratio(base, x)
	s := fmtRatio(q)
	if rw.met != nil {
		if rw.met(q) {
			s += " met"
		} else {
			s += " **not met**"
		}
	}
	return s
}

func topFamilies(f map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range f {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int { // largest first, then by name
		return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.k, b.k))
	})
	var parts []string
	for i := 0; i < len(all) && i < n; i++ {
		parts = append(parts, fmt.Sprintf("%s %d", all[i].k, all[i].v))
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " and ")
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
