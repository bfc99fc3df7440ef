// Command benchtable runs every comparison of the bench module (procnet
// against procfs, vtistat against rtnetlink, vishvananda/netlink, ip(8),
// xfrmstat against vishvananda and ip(8), each beside the kernel's floor),
// the scaling curves, the RTNL dump comparison, explain on 10 000 quiet
// tunnels and the real-time poll loop, and prints one table. The full run
// writes BENCHMARKS.md at the repository root.
//
//	sudo go run ./bench/cmd/benchtable          # full: 3 rounds × -count 2, about 20 minutes; writes BENCHMARKS.md
//	sudo go run ./bench/cmd/benchtable -quick   # smoke: small sizes, one count, under 2 minutes
//
// It must run as root: the benchmarks create network namespaces with
// veth links and XFRM policies, and delete them when they end (also when a
// benchmark fails). Raw outputs go to bench/out/ (git-ignored); feed them to
// benchstat for confidence intervals.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	fullBench = `^Benchmark(NetDevFile|XfrmStatFile|LinkDump|LinkStats|XfrmPolicyDump|XfrmLarvalSADump|ScaleLinks|ScalePolicies|RTNLDump|PollLoop)$`
	// quickBench: the same functions at their small sizes only.
	quickBench = `^Benchmark(NetDevFile|XfrmStatFile|LinkDump|LinkStats|ScaleLinks|ScalePolicies|PollLoop)$` +
		`/^(ifaces=1000|lib=.*|links=(10|100|1000)|policies=1000|tunnels=.*)$`
)

func main() {
	quick := flag.Bool("quick", false, "smoke run: small sizes, -count 1, short benchtime, 5 polls of 1 000 tunnels; writes bench/out/BENCHMARKS-quick.md")
	count := flag.Int("count", 2, "runs of each benchmark per round (go test -count: consecutive runs)")
	rounds := flag.Int("rounds", 3, "rounds: the benchmark binary runs this many times, so that implementations alternate between rounds; medians are over rounds×count runs")
	benchtime := flag.String("benchtime", "300ms", "go test -benchtime")
	polls := flag.Int("polls", 60, "real-time poll loop: polls at 1 Hz (at least 60 for a CPU figure)")
	pairs := flag.Int("pollpairs", 3, "real-time poll loop: floor and agent runs, alternated this many times on one namespace")
	tunnels := flag.Int("tunnels", 10000, "tunnels the poll loop watches")
	out := flag.String("o", "", "Markdown output (default BENCHMARKS.md at the repository root; bench/out/BENCHMARKS-quick.md with -quick)")
	from := flag.String("from", "", "render the table from this raw output of an earlier run (bench/out/benchtable.txt) instead of running")
	flag.Parse()
	var err error
	if *from != "" {
		err = render(*from, *out)
	} else {
		err = run(*quick, *rounds, *count, *benchtime, *polls, *pairs, *tunnels, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(quick bool, rounds, count int, benchtime string, polls, pairs, tunnels int, out string) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: the benchmarks create network namespaces")
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	benchDir := filepath.Join(root, "bench")
	outDir := filepath.Join(benchDir, "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	benchRe := fullBench
	if quick {
		benchRe, rounds, count, benchtime, polls, pairs, tunnels = quickBench, 1, 1, "100ms", 5, 1, 1000
	}
	if out == "" {
		out = filepath.Join(root, "BENCHMARKS.md")
		if quick {
			out = filepath.Join(outDir, "BENCHMARKS-quick.md")
		}
	}
	start := time.Now()
	load0 := loadavg()

	benchBin := filepath.Join(outDir, "bench.test")
	explainBin := filepath.Join(outDir, "explain.test")
	if err := command(benchDir, nil, "go", "test", "-c", "-o", benchBin, "."); err != nil {
		return err
	}
	if err := command(root, nil, "go", "test", "-c", "-o", explainBin, "./explain"); err != nil {
		return err
	}

	var raw bytes.Buffer
	cmdline := strings.TrimSpace("go run ./bench/cmd/benchtable " + strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&raw, "benchtable-meta: date=%s\nbenchtable-meta: load0=%s\nbenchtable-meta: cmd=%s\nbenchtable-meta: rounds=%d\nbenchtable-meta: count=%d\nbenchtable-meta: benchtime=%s\nbenchtable-meta: quick=%v\n",
		start.UTC().Format(time.RFC3339), load0, cmdline, rounds, count, benchtime, quick)
	for k, v := range machine() {
		fmt.Fprintf(&raw, "benchtable-meta: %s=%s\n", k, v)
	}
	pollFlag := "-pollloop.tunnels=" + strconv.Itoa(tunnels)
	for r := 1; r <= rounds; r++ {
		// Each round is a new process: namespaces are made again, and
		// every implementation runs once before any runs again.
		logf("round %d/%d: %s (count %d, benchtime %s)", r, rounds, benchRe, count, benchtime)
		if err := command(benchDir, &raw, benchBin, "-test.run=^$", "-test.bench="+benchRe, "-test.benchmem",
			"-test.count="+strconv.Itoa(count), "-test.benchtime="+benchtime, "-test.timeout=120m", pollFlag); err != nil {
			return err
		}
		logf("round %d/%d: explain", r, rounds)
		if err := command(filepath.Join(root, "explain"), &raw, explainBin, "-test.run=^$", "-test.bench=^BenchmarkExplain(Quiet10k|QuietVTIStat10k|Shifted10k|Busy)$",
			"-test.benchmem", "-test.count="+strconv.Itoa(count), "-test.benchtime="+benchtime); err != nil {
			return err
		}
	}
	// The raw stats dump alone, then the agent, at the same rate and on
	// the same namespace, alternated: the kernel's own share of the
	// agent's CPU time, with the machine's drift spread over both. The
	// rounds' namespaces (10 000 links, 100 000 policies and SAs) are
	// still being torn down by the kernel for a while after their
	// processes exit, which holds RTNL and the CPUs: wait for an idle
	// machine first.
	waitIdle(90, 5*time.Minute)
	modes := strings.Repeat("floor,agent,", pairs)
	modes = strings.TrimSuffix(modes, ",")
	logf("poll loop (%s): %d polls at 1 Hz each, %d tunnels", modes, polls, tunnels)
	if err := command(benchDir, &raw, benchBin, "-test.run=^TestPollLoop$", "-test.v", "-test.timeout=60m",
		"-pollloop.polls="+strconv.Itoa(polls), "-pollloop.interval=1s", "-pollloop.mode="+modes, pollFlag); err != nil {
		return err
	}
	fmt.Fprintf(&raw, "benchtable-meta: load1=%s\n", loadavg())
	rawName := "benchtable.txt"
	if quick {
		rawName = "benchtable-quick.txt"
	}
	rawPath := filepath.Join(outDir, rawName)
	if err := os.WriteFile(rawPath, raw.Bytes(), 0o644); err != nil {
		return err
	}
	if err := render(rawPath, out); err != nil {
		return err
	}
	logf("wrote %s in %v", out, time.Since(start).Round(time.Second))
	return nil
}

// render writes the Markdown for one raw output (benchmark lines, the poll
// loop's line and benchtable-meta lines) to stdout and to out.
func render(rawPath, out string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	rawData, err := os.ReadFile(rawPath)
	if err != nil {
		return err
	}
	meta := map[string]string{}
	for _, l := range strings.Split(string(rawData), "\n") {
		if kv, ok := strings.CutPrefix(l, "benchtable-meta: "); ok {
			k, v, _ := strings.Cut(kv, "=")
			meta[k] = v
		}
	}
	if out == "" {
		out = filepath.Join(root, "BENCHMARKS.md")
		if meta["quick"] == "true" {
			out = filepath.Join(root, "bench", "out", "BENCHMARKS-quick.md")
		}
	}
	results := parse(rawData)
	var md bytes.Buffer
	writeHeader(&md, meta)
	writeMain(&md, results)
	writeScaling(&md, results)
	writeRTNL(&md, results)
	writePollLoop(&md, rawData)
	writePeersFaster(&md, results)
	if notes, err := os.ReadFile(filepath.Join(root, "bench", "cmd", "benchtable", "notes.md")); err == nil && meta["quick"] != "true" {
		md.WriteString("\n")
		md.Write(notes)
	}
	rel, err := filepath.Rel(root, rawPath)
	if err != nil {
		rel = rawPath
	}
	fmt.Fprintf(&md, "\nRaw output: `%s` (`benchstat -col /impl` or `-col /lib` on it gives confidence intervals).\n", rel)
	os.Stdout.Write(md.Bytes())
	return os.WriteFile(out, md.Bytes(), 0o644)
}

// waitIdle waits until the CPUs were at least pct % idle over 5 seconds
// (from /proc/stat), or until limit has passed, and says how long it took.
func waitIdle(pct float64, limit time.Duration) {
	start := time.Now()
	for time.Since(start) < limit {
		a, errA := cpuTimes()
		time.Sleep(5 * time.Second)
		b, errB := cpuTimes()
		if errA != nil || errB != nil {
			return
		}
		idle := 100 * float64(b[1]-a[1]) / float64(max(b[0]-a[0], 1))
		if idle >= pct {
			logf("machine idle (%.0f %% over 5 s) after %v", idle, time.Since(start).Round(time.Second))
			return
		}
	}
	logf("machine still busy after %v; going on", limit)
}

// cpuTimes returns the total and idle (idle + iowait) jiffies of all CPUs.
func cpuTimes() ([2]uint64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return [2]uint64{}, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return [2]uint64{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var t [2]uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return [2]uint64{}, fmt.Errorf("/proc/stat: %q: %v", line, err)
		}
		t[0] += n
		if i == 3 || i == 4 { // idle, iowait
			t[1] += n
		}
	}
	return t, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchtable: "+format+"\n", args...)
}

// command runs name in dir; its output goes to stderr (progress) and, if
// w is not nil, to w.
func command(dir string, w io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	cmd.Stdout = os.Stderr
	if w != nil {
		cmd.Stdout = io.MultiWriter(os.Stderr, w)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "bench", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the tunnelstat repository (no bench/go.mod above the working directory)")
		}
		dir = parent
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// result is one benchmark across its runs.
type result struct {
	name     string // without "Benchmark" and the -GOMAXPROCS suffix
	workload string // the name without size and implementation
	size     string // "links=10000", "" if none
	impl     string
	values   map[string][]float64 // unit -> one value per run
}

func (r *result) median(unit string) float64 {
	v := slices.Clone(r.values[unit])
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// spread is the largest distance of a run from the median, in percent.
func (r *result) spread(unit string) float64 {
	m := r.median(unit)
	var d float64
	for _, x := range r.values[unit] {
		d = max(d, math.Abs(x-m))
	}
	return 100 * d / m
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(out []byte) map[string]*result {
	res := map[string]*result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := res[m[1]]
		if r == nil {
			r = &result{name: m[1], values: map[string][]float64{}}
			var work []string
			for _, part := range strings.Split(m[1], "/") {
				k, v, ok := strings.Cut(part, "=")
				switch {
				case ok && (k == "impl" || k == "lib"):
					r.impl = v
				case ok && isNumber(v):
					r.size = part
				default:
					work = append(work, part)
				}
			}
			r.workload = strings.Join(work, "/")
			if r.impl == "" {
				r.impl = "tunnelstat"
			}
			res[m[1]] = r
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r.values[f[i+1]] = append(r.values[f[i+1]], v)
			}
		}
	}
	return res
}

func isNumber(s string) bool { _, err := strconv.Atoi(s); return err == nil }

func role(impl string) string {
	switch {
	case impl == "readonly" || strings.HasPrefix(impl, "floor"):
		return "floor"
	case impl == "tunnelstat" || strings.HasPrefix(impl, "vtistat") || strings.HasPrefix(impl, "xfrmstat") || strings.HasPrefix(impl, "procnet"):
		return "tunnelstat"
	}
	return "peer"
}

// workloads of the main table: benchmark workload -> label. ScalePolicies
// joins XfrmPolicyDump (the same policies and implementations).
var mainWorkloads = []struct{ key, label string }{
	{"NetDevFile", "/proc/net/dev read+parse"},
	{"XfrmStatFile", "/proc/net/xfrm_stat read+parse"},
	{"LinkDump", "links: full dump"},
	{"LinkStats", "links: stats poll"},
	{"XfrmPolicyDump", "SPD dump (policies)"},
	{"XfrmLarvalSADump", "SAD dump (larval SAs)"},
	{"ExplainQuiet10k", "explain, 10 000 quiet VTIs"},
	{"ExplainShifted10k", "explain, 10 000 quiet VTIs, the first deleted (paired by name)"},
	{"ExplainBusy", "explain, every VTI failed (one policy and SA each)"},
	{"PollLoop", "agent poll (stats+MIB+SPD/SAD info+explain)"},
}

// primary is the tunnelstat implementation ratios are taken against.
var primaryOrder = []string{"vtistat", "xfrmstat-into", "procnet-reuse", "tunnelstat"}

type group struct {
	workload, label, size string
	rows                  []*result
}

func groups(res map[string]*result) []group {
	byKey := map[[2]string]*group{}
	var order []*group
	for _, w := range mainWorkloads {
		for _, r := range sortedResults(res) {
			wl := r.workload
			if wl == "ScalePolicies" {
				wl = "XfrmPolicyDump"
			}
			if wl != w.key {
				continue
			}
			k := [2]string{w.key, r.size}
			g := byKey[k]
			if g == nil {
				g = &group{workload: w.key, label: w.label, size: r.size}
				byKey[k] = g
				order = append(order, g)
			}
			g.rows = append(g.rows, r)
		}
	}
	out := make([]group, 0, len(order))
	for _, g := range order {
		slices.SortStableFunc(g.rows, func(a, b *result) int { return rank(a.impl) - rank(b.impl) })
		out = append(out, *g)
	}
	slices.SortStableFunc(out, func(a, b group) int {
		if a.workload != b.workload {
			return 0
		}
		return sizeNum(a.size) - sizeNum(b.size)
	})
	return out
}

func rank(impl string) int {
	switch role(impl) {
	case "tunnelstat":
		if i := slices.Index(primaryOrder, impl); i >= 0 {
			return i
		}
		return 10
	case "peer":
		return 20
	}
	return 30
}

func sizeNum(s string) int {
	_, v, _ := strings.Cut(s, "=")
	n, _ := strconv.Atoi(v)
	return n
}

func sortedResults(res map[string]*result) []*result {
	out := make([]*result, 0, len(res))
	for _, r := range res {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *result) int { return strings.Compare(a.name, b.name) })
	return out
}

func primaryOf(g group) *result {
	for _, p := range primaryOrder {
		for _, r := range g.rows {
			if r.impl == p {
				return r
			}
		}
	}
	for _, r := range g.rows {
		if role(r.impl) == "tunnelstat" {
			return r
		}
	}
	return nil
}

func floorOf(g group) *result {
	for _, r := range g.rows {
		if role(r.impl) == "floor" {
			return r
		}
	}
	return nil
}

func fmtDur(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "—"
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v == 0:
		return "0"
	case v >= 1<<20:
		return fmt.Sprintf("%.1f Mi", v/(1<<20))
	case v >= 10000:
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func ratio(a, b *result) string {
	if a == nil || b == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a.median("ns/op")/b.median("ns/op"))
}

// fmtSpread is the spread in percent, or "—" for a single run.
func fmtSpread(r *result, unit string) string {
	if len(r.values[unit]) < 2 {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", r.spread(unit))
}

func writeHeader(w io.Writer, meta map[string]string) {
	for k, v := range machine() { // what the raw output does not say: this machine now
		if meta[k] == "" {
			meta[k] = v
		}
	}
	cpu, kernel, ipv, goVersion := meta["cpu"], meta["kernel"], meta["iproute2"], meta["go"]
	fmt.Fprintf(w, "# tunnelstat benchmarks\n\n")
	fmt.Fprintf(w, "Generated by `%s` (as root, from the repository root). Do not edit by hand: run it again "+
		"(notes come from bench/cmd/benchtable/notes.md).\n\n", meta["cmd"])
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| date | %s |\n", meta["date"])
	fmt.Fprintf(w, "| machine | %s CPUs (nproc), %s |\n", meta["nproc"], cpu)
	fmt.Fprintf(w, "| kernel | %s |\n", kernel)
	fmt.Fprintf(w, "| Go | %s |\n", goVersion)
	fmt.Fprintf(w, "| iproute2 | %s |\n", ipv)
	fmt.Fprintf(w, "| load average | %s at start, %s at end (shared machine: other jobs ran meanwhile) |\n", meta["load0"], meta["load1"])
	if meta["rounds"] != "" {
		fmt.Fprintf(w, "| runs | %s rounds (processes) × -count %s, -benchtime %s: a benchmark's runs are consecutive within a round, implementations alternate between rounds |\n\n",
			meta["rounds"], meta["count"], meta["benchtime"])
	} else {
		fmt.Fprintf(w, "| runs | one process, -count %s, -benchtime %s: each benchmark's runs are consecutive (go test repeats a sub-benchmark before the next), so slow drifts in machine load are not spread evenly over implementations |\n\n",
			meta["count"], meta["benchtime"])
	}
	fmt.Fprintf(w, "Times are medians over the runs; ± is the largest distance of one run from the median. "+
		"×floor is time / the floor's time (the same kernel request sent and received with plain syscalls into one reused buffer, "+
		"nothing decoded; for files, the bare read). ×tunnelstat is time / the first tunnelstat row's time (>1: tunnelstat is faster).\n\n")
}

// machine describes this machine: nproc, CPU model, kernel, Go, iproute2.
func machine() map[string]string {
	m := map[string]string{"nproc": strconv.Itoa(runtime.NumCPU()), "cpu": "?", "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	m["kernel"] = strings.TrimSpace(string(kernel))
	ipv, _ := exec.Command("ip", "-V").Output()
	m["iproute2"] = strings.TrimSpace(firstLine(string(ipv)))
	return m
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func writeMain(w io.Writer, res map[string]*result) {
	fmt.Fprintf(w, "## All comparisons\n\n")
	fmt.Fprintf(w, "| workload | size | implementation | role | time/op | ± | ×floor | ×tunnelstat | allocs/op | B/op | per item |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range groups(res) {
		p, f := primaryOf(g), floorOf(g)
		for _, r := range g.rows {
			xf, xt := "—", "—"
			if f != nil && r != f {
				xf = ratio(r, f)
			}
			if p != nil && r != p && role(r.impl) != "floor" {
				xt = ratio(r, p)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				g.label, g.size, r.impl, role(r.impl), fmtDur(r.median("ns/op")), fmtSpread(r, "ns/op"),
				xf, xt, fmtNum(r.median("allocs/op")), fmtNum(r.median("B/op")), perItem(r))
		}
	}
	fmt.Fprintln(w)
}

// perItem shows the per-link / per-policy / per-SA metrics a benchmark reports.
func perItem(r *result) string {
	var parts []string
	for _, u := range []string{"ns/link", "allocs/link", "ns/policy", "allocs/policy", "ns/sa", "allocs/sa", "ns/tunnel", "allocs/tunnel"} {
		if _, ok := r.values[u]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", fmtNum(r.median(u)), u))
		}
	}
	return strings.Join(parts, ", ")
}

func writeScaling(w io.Writer, res map[string]*result) {
	fmt.Fprintf(w, "## Scaling: cost per item\n\n")
	fmt.Fprintf(w, "Flat ns/item means linear total cost. The 100 000-policy row comes from BenchmarkXfrmPolicyDump. "+
		"The SA rows are larval SAs (ip xfrm state allocspi): this host cannot create ESP SAs (no esp4/esp6 modules), "+
		"but larval SAs are SAD entries the kernel dumps with the same code, without algorithm attributes. "+
		"The explain rows have no floor: they are tunnelstat's own work, a finding with its evidence and checks per tunnel.\n\n")
	fmt.Fprintf(w, "| dump | size | tunnelstat ns/item | ± | floor ns/item | ×floor | tunnelstat allocs/item |\n|---|---|---|---|---|---|---|\n")
	type row struct{ label, workload, size, impl, floor, unit string }
	var rows []row
	for _, op := range []string{"dump", "stats"} {
		for _, n := range []int{10, 100, 1000, 10000} {
			rows = append(rows, row{"links, " + map[string]string{"dump": "full dump (Snapshot)", "stats": "stats poll (PollStats)"}[op],
				"ScaleLinks/op=" + op, fmt.Sprintf("links=%d", n), "vtistat", "floor", "link"})
		}
	}
	for _, n := range []int{1000, 10000, 100000} {
		wl := "ScalePolicies"
		if n == 100000 {
			wl = "XfrmPolicyDump"
		}
		rows = append(rows, row{"policies (Policies, storage reused)", wl, fmt.Sprintf("policies=%d", n), "xfrmstat-into", "floor", "policy"})
	}
	for _, n := range []int{1000, 10000, 100000} {
		rows = append(rows, row{"SAs (SAs, storage reused)", "XfrmLarvalSADump", fmt.Sprintf("larval-sas=%d", n), "xfrmstat-into", "floor", "sa"})
	}
	for _, n := range []int{100, 1000, 10000} {
		rows = append(rows, row{"explain, every tunnel failed (findings resolved against as many policies and SAs)", "ExplainBusy", fmt.Sprintf("tunnels=%d", n), "tunnelstat", "", "tunnel"})
	}
	find := func(wl, size, impl string) *result {
		for _, r := range res {
			if r.workload == wl && r.size == size && r.impl == impl {
				return r
			}
		}
		return nil
	}
	for _, x := range rows {
		t, f := find(x.workload, x.size, x.impl), find(x.workload, x.size, x.floor)
		if t == nil {
			continue
		}
		fn := math.NaN()
		if f != nil {
			fn = f.median("ns/" + x.unit)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", x.label, x.size, fmtNum(t.median("ns/"+x.unit)), fmtSpread(t, "ns/"+x.unit),
			fmtNum(fn), ratio(t, f), fmtNum(t.median("allocs/"+x.unit)))
	}
	fmt.Fprintln(w)
}

func writeRTNL(w io.Writer, res map[string]*result) {
	var rows []*result
	for _, r := range sortedResults(res) {
		if r.workload == "RTNLDump" {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	var ipReq *result
	for _, r := range rows {
		if r.impl == "floor-ip-request" {
			ipReq = r
		}
	}
	fmt.Fprintf(w, "## RTNL: kernel time of one dump of %s\n\n", strings.TrimPrefix(rows[0].size, "links="))
	fmt.Fprintf(w, "`ip -s link show` sends RTM_GETLINK with ifi_family AF_PACKET and IFLA_EXT_MASK = RTEXT_FILTER_VF "+
		"(iproute2 ip/ipaddress.c iplink_filter_req; seen with strace on this host); vtistat sends a bare ifinfomsg, no IFLA_EXT_MASK, "+
		"and polls with RTM_GETSTATS (IFLA_STATS_LINK_64 only). The floor rows replay each request and only receive: "+
		"that is the time the kernel spends building the dump (RTNL is held while it fills each reply buffer). "+
		"veth links have no VFs, so here the VF flag costs little; on SR-IOV NICs it adds IFLA_VFINFO_LIST per VF.\n\n")
	fmt.Fprintf(w, "| request | time/op | ± | ×ip's request | ns/link |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.impl, fmtDur(r.median("ns/op")), fmtSpread(r, "ns/op"), ratio(r, ipReq), fmtNum(r.median("ns/link")))
	}
	fmt.Fprintln(w)
}

func writePollLoop(w io.Writer, out []byte) {
	fmt.Fprintf(w, "## Poll loop: an agent watching tunnels at 1 Hz\n\n")
	fmt.Fprintf(w, "Each poll: vtistat PollStats (RTM_GETSTATS), xfrmstat MIB (/proc/net/xfrm_stat), SPDInfo, SADInfo, "+
		"explain.Explain on the two readings (it computes the deltas), all into reused storage: one Snapshot polled in place, its links converted into the older of "+
		"two alternating explain.Readings (explain/monitor.AppendLinkReadings). Full dumps only when something changed "+
		"(PollStats does one when the set of links changed; the policy and SA lists are read again when the SPD or SAD size moved). "+
		"Stand-ins: vxlan links, whose counters the kernel keeps and sums exactly as a vti's (per-CPU tstats), handed to explain as VTIs "+
		"(this host has no ip_vti); one outbound policy per tunnel; an empty SAD (no ESP here). "+
		"The floor column polls only the raw stats-only dump (plain syscalls, nothing decoded) at the same rate: the kernel's own share. "+
		"CPU is getrusage(RUSAGE_SELF) user+system over wall time, so the kernel's work for the dumps is included. "+
		"Targets: < 1 %% of one core, heap < 20 MB, 0 allocations per tunnel per poll.\n\n")
	type run struct {
		kv     map[string]string
		phases string
	}
	runs := map[string][]run{} // by mode, in order
	var modes, keys []string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "pollloop-phases "); i >= 0 {
			if r := runs["agent"]; len(r) > 0 {
				r[len(r)-1].phases = strings.TrimSpace(l[i+len("pollloop-phases "):])
			}
			continue
		}
		i := strings.Index(l, "pollloop: ")
		if i < 0 {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(l[i+len("pollloop: "):]) {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
			if !slices.Contains(keys, k) && k != "mode" {
				keys = append(keys, k)
			}
		}
		mode := kv["mode"]
		if mode == "" {
			mode = "agent"
		}
		if runs[mode] == nil {
			modes = append(modes, mode)
		}
		runs[mode] = append(runs[mode], run{kv: kv})
	}
	if len(modes) == 0 {
		fmt.Fprintf(w, "No poll-loop result (see the raw output).\n\n")
		return
	}
	cpu := func(r run) float64 { v, _ := strconv.ParseFloat(r.kv["cpu%"], 64); return v }
	// The run of each mode with the median CPU (the lower middle one for
	// an even count) stands for the mode in the detail table.
	median := map[string]run{}
	for _, m := range modes {
		rs := slices.Clone(runs[m])
		slices.SortStableFunc(rs, func(a, b run) int { return cmpFloat(cpu(a), cpu(b)) })
		median[m] = rs[(len(rs)-1)/2]
	}
	if fl, ag := runs["floor"], runs["agent"]; len(fl) > 1 && len(fl) == len(ag) {
		fmt.Fprintf(w, "Floor and agent alternated %d times on one namespace, %s polls each run:\n\n", len(fl), fl[0].kv["polls"])
		fmt.Fprintf(w, "| run | floor cpu%% | agent cpu%% | agent − floor |\n|---|---|---|---|\n")
		var diffs []float64
		for i := range fl {
			d := cpu(ag[i]) - cpu(fl[i])
			diffs = append(diffs, d)
			fmt.Fprintf(w, "| %d | %.3f | %.3f | %+.3f |\n", i+1, cpu(fl[i]), cpu(ag[i]), d)
		}
		slices.Sort(diffs)
		dm := diffs[len(diffs)/2]
		if len(diffs)%2 == 0 {
			dm = (diffs[len(diffs)/2-1] + diffs[len(diffs)/2]) / 2
		}
		fmt.Fprintf(w, "| median | %s | %s | %+.3f |\n\n", median["floor"].kv["cpu%"], median["agent"].kv["cpu%"], dm)
		fmt.Fprintf(w, "Every measure of the median run of each:\n\n")
	}
	fmt.Fprintf(w, "| measure | %s |\n|---|%s\n", strings.Join(modes, " | "), strings.Repeat("---|", len(modes)))
	for _, k := range keys {
		row := make([]string, len(modes))
		for i, m := range modes {
			row[i] = median[m].kv[k]
		}
		fmt.Fprintf(w, "| %s | %s |\n", k, strings.Join(row, " | "))
	}
	if p := median["agent"].phases; p != "" {
		fmt.Fprintf(w, "\nThe agent's poll, step by step %s.\n", p)
	}
	fmt.Fprintln(w)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func writePeersFaster(w io.Writer, res map[string]*result) {
	var lines []string
	for _, g := range groups(res) {
		for _, p := range g.rows {
			if role(p.impl) != "tunnelstat" {
				continue
			}
			for _, r := range g.rows {
				if role(r.impl) == "peer" && r.median("ns/op") < p.median("ns/op") {
					lines = append(lines, fmt.Sprintf("- %s, %s: %s %s against %s %s", g.label, g.size, r.impl, fmtDur(r.median("ns/op")), p.impl, fmtDur(p.median("ns/op"))))
				}
			}
		}
	}
	fmt.Fprintf(w, "## Where a peer is faster\n\n")
	if len(lines) == 0 {
		fmt.Fprintf(w, "In this run no peer beat any tunnelstat implementation (reuse or allocating API) on any workload.\n")
		return
	}
	fmt.Fprintf(w, "In this run:\n\n%s\n", strings.Join(lines, "\n"))
}
