//go:build linux

// Package harness holds the churn and soak drivers behind HARDENING.md:
// the same code runs briefly in the tests (internal/soak/harness,
// vtistat and xfrmstat hardening tests) and for the long measured runs of
// `go run ./bench/cmd/soak`.
//
// Everything happens in network namespaces the harness creates itself
// (ts-soak-<random>, deleted at the end, no route out).
package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
	"golang.org/x/sys/unix"
)

// Namespace is a network namespace made with ip-netns(8).
type Namespace struct{ Name string }

// NewNamespace creates ts-soak-<random> with its loopback up.
func NewNamespace() (*Namespace, error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	ns := &Namespace{Name: "ts-soak-" + hex.EncodeToString(b[:])}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	if err := ns.IP("link", "set", "lo", "up"); err != nil {
		ns.Delete()
		return nil, err
	}
	return ns, nil
}

// IP runs ip(8) -n NAME args.
func (ns *Namespace) IP(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", ns.Name, strings.Join(args, " "), err, out)
	}
	return nil
}

// Batch runs the lines through one `ip -n NAME -force -batch -`.
func (ns *Namespace) Batch(lines []string) error {
	cmd := exec.Command("ip", "-n", ns.Name, "-force", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch in %s: %v: %s", ns.Name, err, out)
	}
	return nil
}

// Delete removes the namespace.
func (ns *Namespace) Delete() error {
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
	}
	return nil
}

// Resources is what a long-running process must not accumulate.
type Resources struct {
	At         time.Duration // since the run started
	Polls      int
	FDs        int
	Goroutines int
	HeapAlloc  uint64 // live heap after a forced GC
	HeapInuse  uint64
	Sys        uint64
	Mallocs    uint64 // cumulative
}

// Sample forces a GC and reads the process's resources.
func Sample() Resources {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Resources{FDs: CountFDs(), Goroutines: runtime.NumGoroutine(), HeapAlloc: m.HeapAlloc,
		HeapInuse: m.HeapInuse, Sys: m.Sys, Mallocs: m.Mallocs}
}

// CountFDs counts the open file descriptors of the process (-1 on error).
func CountFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory's own descriptor
}

// Settle waits up to d for goroutines that are ending (a context.AfterFunc,
// a subscription) to end, and returns the count then.
func Settle(want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CPUTime is the process's user and system CPU time so far.
func CPUTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// ---------------------------------------------------------------- churn

// ChurnConfig says what changes and what is dumped meanwhile.
type ChurnConfig struct {
	NS       *Namespace
	Duration time.Duration
	// Links adds and deletes veth pairs; Policies adds and deletes XFRM
	// policies. Each runs its own `ip -batch` process.
	Links, Policies bool
	// StaticLinks veth pairs and StaticPolicies policies are created first
	// and never touched: every successful dump must contain all of them.
	StaticLinks, StaticPolicies int
	// SAs adds and deletes larval SAs (ip xfrm state allocspi with a fixed
	// SPI, then delete): real SAD entries on a host without ESP.
	// StaticSAs larval SAs are created first and never touched.
	SAs       bool
	StaticSAs int
	// LinkWorkers is the number of parallel `ip -batch` link generators
	// (0 means 1). Creating and deleting a netdev mostly waits for RCU
	// grace periods, outside RTNL, so parallel generators overlap the
	// waits and the kernel sees more changes per second.
	LinkWorkers int
}

// linkCycle is the number of link commands per veth pair churned: add,
// six attribute changes, del.
const linkCycle = 8

// ChurnResult counts what happened.
type ChurnResult struct {
	Elapsed       time.Duration
	LinkChanges   uint64 // link commands executed: 1/4 are veth add or del (each changes two links), 3/4 set up/down/mtu
	PolicyChanges uint64
	SAChanges     uint64        // larval SAs added or deleted
	LinkTime      time.Duration // how long the link generator ran
	PolicyTime    time.Duration
	SATime        time.Duration

	Snapshots, StatsPolls, PolicyDumps, SADumps, InfoReads uint64
	// LinkRetries: restarts after NLM_F_DUMP_INTR (vtistat Snapshot.Retries).
	LinkRetries uint64
	// Interrupted: reads that failed with the typed ErrDumpInterrupted
	// after every retry. Allowed, counted.
	Interrupted uint64
	// Incomplete: successful reads that lacked a static link or policy, or
	// whose counts disagree: a partial list returned as complete. Must be 0.
	Incomplete uint64
	// OtherErrors: any other error. Must be 0.
	OtherErrors uint64
	Errors      []string // the first few, for the report
}

// ChangeRate is changes per second over the generators' run time.
func (r *ChurnResult) ChangeRate() (links, policies, sas, total float64) {
	rate := func(n uint64, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	links, policies, sas = rate(r.LinkChanges, r.LinkTime), rate(r.PolicyChanges, r.PolicyTime), rate(r.SAChanges, r.SATime)
	return links, policies, sas, links + policies + sas
}

func (r *ChurnResult) String() string {
	l, p, sa, tot := r.ChangeRate()
	return fmt.Sprintf("%.1fs: link changes %d (%.0f/s, veth add/del %.0f/s), policy changes %d (%.0f/s), SA changes %d (%.0f/s), total %.0f/s; "+
		"snapshots %d, stats polls %d, policy dumps %d, SA dumps %d, SPD/SAD info %d; link dump retries %d; "+
		"ErrDumpInterrupted %d; incomplete %d; other errors %d",
		r.Elapsed.Seconds(), r.LinkChanges, l, l*2/linkCycle, r.PolicyChanges, p, r.SAChanges, sa, tot,
		r.Snapshots, r.StatsPolls, r.PolicyDumps, r.SADumps, r.InfoReads, r.LinkRetries, r.Interrupted, r.Incomplete, r.OtherErrors)
}

type errLog struct {
	mu   sync.Mutex
	errs []string
}

func (e *errLog) add(format string, args ...any) {
	e.mu.Lock()
	if len(e.errs) < 10 {
		e.errs = append(e.errs, fmt.Sprintf(format, args...))
	}
	e.mu.Unlock()
}

// StaticLinkName and StaticPolicySrc name the fixed objects.
func StaticLinkName(i int) string { return fmt.Sprintf("st%d", i) }

// StaticPolicySrc is the source prefix of static policy i (dir in).
func StaticPolicySrc(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, byte(i >> 8), byte(i)}), 32)
}

// StaticSADst is the destination of static larval SA i; its SPI is
// StaticSASPI(i).
func StaticSADst(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 150, byte(i >> 8), byte(i)})
}

// StaticSASPI is the SPI of static larval SA i.
func StaticSASPI(i int) uint32 { return 0x100000 + uint32(i) }

// larvalSA is the ip(8) line that makes a larval SA with a chosen SPI.
func larvalSA(dst netip.Addr, spi uint32) string {
	return fmt.Sprintf("xfrm state allocspi src 192.0.2.1 dst %s proto esp mode tunnel min %#x max %#x", dst, spi, spi)
}

// Setup creates the static links, policies and SAs of cfg.
func Setup(cfg *ChurnConfig) error {
	if cfg.SAs || cfg.StaticSAs > 0 {
		// Larval SAs live net.core.xfrm_acq_expires seconds (30 by
		// default): the static ones must outlive the run.
		if out, err := exec.Command("ip", "netns", "exec", cfg.NS.Name, "sysctl", "-qw", "net.core.xfrm_acq_expires=86400").CombinedOutput(); err != nil {
			return fmt.Errorf("sysctl net.core.xfrm_acq_expires in %s: %v: %s", cfg.NS.Name, err, out)
		}
	}
	var lines []string
	for i := range cfg.StaticSAs {
		lines = append(lines, larvalSA(StaticSADst(i), StaticSASPI(i)))
	}
	for i := range cfg.StaticLinks {
		lines = append(lines, fmt.Sprintf("link add %s type veth peer name %sp", StaticLinkName(i), StaticLinkName(i)))
	}
	for i := range cfg.StaticPolicies {
		lines = append(lines, fmt.Sprintf("xfrm policy add src %s dst 10.0.0.0/8 dir in", StaticPolicySrc(i)))
	}
	if len(lines) == 0 {
		return nil
	}
	return cfg.NS.Batch(lines)
}

// generator feeds an ip -batch process with add/del lines until ctx ends,
// then waits for it to finish what it read: the count is of executed
// commands (with -force ip goes on after a failed one, which the error
// count reports).
func generator(ctx context.Context, ns *Namespace, line func(i uint64) string, count *uint64, took *time.Duration) error {
	cmd := exec.Command("ip", "-n", ns.Name, "-force", "-batch", "-")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	// A small pipe keeps few commands in flight, so the generator stops
	// soon after ctx ends (ip reads ahead, the pipe holds the rest).
	if f, ok := stdin.(*os.File); ok {
		_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, 4096)
	}
	w := bufio.NewWriterSize(stdin, 512)
	var i uint64
	for ctx.Err() == nil {
		for range 8 {
			w.WriteString(line(i))
			w.WriteByte('\n')
			i++
		}
		if err := w.Flush(); err != nil {
			break
		}
	}
	w.Flush()
	stdin.Close()
	werr := cmd.Wait()
	*took = time.Since(start)
	*count = i
	if werr != nil {
		msg := stderr.String()
		if len(msg) > 400 {
			msg = msg[:400]
		}
		return fmt.Errorf("ip -batch generator: %v: %s", werr, msg)
	}
	return nil
}

// Churn runs the generators and, meanwhile, vtistat and xfrmstat reads in
// a loop, and checks every read.
func Churn(ctx context.Context, cfg ChurnConfig) (ChurnResult, error) {
	var res ChurnResult
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: cfg.NS.Name}})
	if err != nil {
		return res, err
	}
	defer vc.Close()
	xc, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: cfg.NS.Name}})
	if err != nil {
		return res, err
	}
	defer xc.Close()

	gctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var (
		wg    sync.WaitGroup
		elog  errLog
		gerrs = make(chan error, 2+max(cfg.LinkWorkers, 1))
		done  atomic.Bool
	)
	start := time.Now()
	if cfg.Links {
		workers := max(cfg.LinkWorkers, 1)
		counts := make([]uint64, workers)
		took := make([]time.Duration, workers)
		var lwg sync.WaitGroup
		for w := range workers {
			lwg.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer lwg.Done()
				// A cycle of eight commands: a veth pair created, six
				// attribute changes (each an RTM_NEWLINK the kernel
				// announces), deleted. Creating and deleting netdevs is
				// slow (unregistering waits for RCU grace periods); the
				// attribute changes bring the rate to what a busy host
				// sees.
				err := generator(gctx, cfg.NS, func(i uint64) string {
					n := (i / linkCycle) % 4096
					switch i % linkCycle {
					case 0:
						return fmt.Sprintf("link add ch%d_%d type veth peer name chp%d_%d", w, n, w, n)
					case linkCycle - 1:
						return fmt.Sprintf("link del ch%d_%d", w, n)
					case 1, 5:
						return fmt.Sprintf("link set ch%d_%d up", w, n)
					case 2, 4:
						return fmt.Sprintf("link set ch%d_%d mtu %d", w, n, 1300+i%200)
					default:
						return fmt.Sprintf("link set ch%d_%d down", w, n)
					}
				}, &counts[w], &took[w])
				if err != nil {
					gerrs <- err
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lwg.Wait()
			for w := range workers {
				res.LinkChanges += counts[w]
				res.LinkTime = max(res.LinkTime, took[w])
			}
		}()
	}
	if cfg.Policies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gerrs <- generator(gctx, cfg.NS, func(i uint64) string {
				n := (i / 2) % 65536
				verb := "add"
				if i%2 == 1 {
					verb = "del"
				}
				return fmt.Sprintf("xfrm policy %s src 10.200.%d.%d/32 dst 10.201.0.0/16 dir out", verb, n>>8, n&255)
			}, &res.PolicyChanges, &res.PolicyTime)
		}()
	}

	if cfg.SAs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gerrs <- generator(gctx, cfg.NS, func(i uint64) string {
				n := uint32(i/2) % 65536
				dst := netip.AddrFrom4([4]byte{10, 151, byte(n >> 8), byte(n)})
				if i%2 == 0 {
					return larvalSA(dst, 0x200000+n)
				}
				return fmt.Sprintf("xfrm state delete src 192.0.2.1 dst %s proto esp spi %#x", dst, 0x200000+n)
			}, &res.SAChanges, &res.SATime)
		}()
	}

	// Readers run until the generators have finished.
	var rwg sync.WaitGroup
	classify := func(op string, err error) {
		switch {
		case errors.Is(err, vtistat.ErrDumpInterrupted), errors.Is(err, xfrmstat.ErrDumpInterrupted):
			atomic.AddUint64(&res.Interrupted, 1)
		default:
			atomic.AddUint64(&res.OtherErrors, 1)
			elog.add("%s: %v", op, err)
		}
	}
	rwg.Add(3)
	go func() { // SAs: every static larval SA in every dump
		defer rwg.Done()
		var sas []xfrmstat.SA
		want := map[uint32]netip.Addr{} // SPI → destination
		for i := range cfg.StaticSAs {
			want[StaticSASPI(i)] = StaticSADst(i)
		}
		for !done.Load() {
			var err error
			sas, err = xc.SAs(ctx, sas)
			atomic.AddUint64(&res.SADumps, 1)
			if err != nil {
				classify("SAs", err)
				continue
			}
			seen := 0
			for i := range sas {
				if dst, ok := want[sas[i].SPI]; ok && sas[i].Dst == dst {
					seen++
				}
			}
			if seen != len(want) {
				atomic.AddUint64(&res.Incomplete, 1)
				elog.add("SAs: %d of %d static SAs in a dump of %d", seen, len(want), len(sas))
			}
			if !cfg.SAs {
				time.Sleep(time.Millisecond) // nothing changes the SAD: don't spin
			}
		}
	}()
	go func() { // links: Snapshot and PollStats alternate
		defer rwg.Done()
		var snap vtistat.Snapshot
		for i := 0; !done.Load(); i++ {
			var err error
			op := "Snapshot"
			if i%2 == 0 {
				err = vc.Snapshot(ctx, &snap)
				atomic.AddUint64(&res.Snapshots, 1)
			} else {
				op = "PollStats"
				err = vc.PollStats(ctx, &snap)
				atomic.AddUint64(&res.StatsPolls, 1)
			}
			atomic.AddUint64(&res.LinkRetries, uint64(snap.Retries))
			if err != nil {
				classify(op, err)
				continue
			}
			if snap.ByName("lo") == nil {
				atomic.AddUint64(&res.Incomplete, 1)
				elog.add("%s: lo missing from %d links", op, len(snap.Links))
				continue
			}
			for s := range cfg.StaticLinks {
				for _, name := range []string{StaticLinkName(s), StaticLinkName(s) + "p"} {
					if snap.ByName(name) == nil {
						atomic.AddUint64(&res.Incomplete, 1)
						elog.add("%s: static link %s missing from %d links", op, name, len(snap.Links))
					}
				}
			}
		}
	}()
	go func() { // XFRM: policy dumps, SPD and SAD info
		defer rwg.Done()
		var pols []xfrmstat.Policy
		want := map[netip.Prefix]bool{}
		for s := range cfg.StaticPolicies {
			want[StaticPolicySrc(s)] = true
		}
		for i := 0; !done.Load(); i++ {
			var err error
			pols, err = xc.Policies(ctx, pols)
			atomic.AddUint64(&res.PolicyDumps, 1)
			if err != nil {
				classify("Policies", err)
				continue
			}
			seen := 0
			for p := range pols {
				if pols[p].Dir == xfrmstat.DirIn && want[pols[p].Selector.Src] {
					seen++
				}
			}
			if seen != len(want) {
				atomic.AddUint64(&res.Incomplete, 1)
				elog.add("Policies: %d of %d static policies in a dump of %d", seen, len(want), len(pols))
			}
			if i%4 == 0 {
				spd, err := xc.SPDInfo(ctx)
				atomic.AddUint64(&res.InfoReads, 1)
				if err != nil {
					classify("SPDInfo", err)
				} else if spd.In != uint32(len(want)) {
					atomic.AddUint64(&res.Incomplete, 1)
					elog.add("SPDInfo: %d inbound policies, want %d", spd.In, len(want))
				}
				if _, err := xc.SADInfo(ctx); err != nil {
					classify("SADInfo", err)
				}
				atomic.AddUint64(&res.InfoReads, 1)
			}
		}
	}()
	wg.Wait()
	done.Store(true)
	rwg.Wait()
	res.Elapsed = time.Since(start)
	close(gerrs)
	var errs []error
	for e := range gerrs {
		if e != nil {
			errs = append(errs, e)
		}
	}
	res.Errors = elog.errs
	return res, errors.Join(errs...)
}

// ---------------------------------------------------------------- soak

// SoakConfig says how many polls and how often to sample.
type SoakConfig struct {
	NS      *Namespace
	Polls   int
	Samples int // resource samples after 0, 1/Samples … of the polls (10: every 10%)
	// Progress, if set, is called with each sample as it is taken.
	Progress func(Resources)
}

// SoakResult is the samples and the CPU the polls took.
type SoakResult struct {
	Samples         []Resources
	Elapsed         time.Duration
	User, System    time.Duration
	Links, Policies int
}

// Soak polls cfg.Polls times: one poll is vtistat PollStats (every link's
// stats64), xfrmstat MIB (/proc/net/xfrm_stat), SPDInfo and SADInfo,
// each reusing its storage as a monitoring loop would. Every 100th poll
// also computes a vtistat.Diff between alternating snapshots.
func Soak(ctx context.Context, cfg SoakConfig) (SoakResult, error) {
	var res SoakResult
	if cfg.Samples <= 0 {
		cfg.Samples = 10
	}
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: cfg.NS.Name}})
	if err != nil {
		return res, err
	}
	defer vc.Close()
	xc, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: cfg.NS.Name}})
	if err != nil {
		return res, err
	}
	defer xc.Close()
	var (
		snaps [2]vtistat.Snapshot
		mib   procnet.XfrmStat
	)
	// Warm up: first reads open files and size buffers.
	for i := range snaps {
		if err := vc.Snapshot(ctx, &snaps[i]); err != nil {
			return res, err
		}
	}
	if err := xc.MIB(ctx, &mib); err != nil {
		return res, err
	}
	res.Links = len(snaps[0].Links)
	u0, s0 := CPUTime()
	start := time.Now()
	sample := func(polls int) {
		r := Sample()
		r.At, r.Polls = time.Since(start), polls
		res.Samples = append(res.Samples, r)
		if cfg.Progress != nil {
			cfg.Progress(r)
		}
	}
	sample(0)
	next := 1
	for i := 1; i <= cfg.Polls; i++ {
		cur := &snaps[i%2]
		if err := vc.PollStats(ctx, cur); err != nil {
			return res, fmt.Errorf("poll %d: PollStats: %w", i, err)
		}
		if err := xc.MIB(ctx, &mib); err != nil {
			return res, fmt.Errorf("poll %d: MIB: %w", i, err)
		}
		spd, err := xc.SPDInfo(ctx)
		if err != nil {
			return res, fmt.Errorf("poll %d: SPDInfo: %w", i, err)
		}
		res.Policies = int(spd.Total())
		if _, err := xc.SADInfo(ctx); err != nil {
			return res, fmt.Errorf("poll %d: SADInfo: %w", i, err)
		}
		if i%100 == 0 {
			var d vtistat.Delta
			vtistat.Diff(&d, &snaps[(i+1)%2], cur)
			if d.Resets() {
				return res, fmt.Errorf("poll %d: unexpected reset in %+v", i, d)
			}
		}
		if i*cfg.Samples >= next*cfg.Polls {
			sample(i)
			next++
		}
	}
	res.Elapsed = time.Since(start)
	u1, s1 := CPUTime()
	res.User, res.System = u1-u0, s1-s0
	return res, nil
}

// Check reports a leak between the first and last sample: any fd or
// goroutine more, or a live heap that grew by more than slack bytes.
func (r *SoakResult) Check(slack uint64) error {
	if len(r.Samples) < 2 {
		return errors.New("fewer than two samples")
	}
	a, b := r.Samples[0], r.Samples[len(r.Samples)-1]
	var errs []error
	if b.FDs != a.FDs {
		errs = append(errs, fmt.Errorf("open fds %d -> %d", a.FDs, b.FDs))
	}
	if b.Goroutines != a.Goroutines {
		errs = append(errs, fmt.Errorf("goroutines %d -> %d", a.Goroutines, b.Goroutines))
	}
	if b.HeapAlloc > a.HeapAlloc+slack {
		errs = append(errs, fmt.Errorf("live heap %d -> %d bytes (slack %d)", a.HeapAlloc, b.HeapAlloc, slack))
	}
	return errors.Join(errs...)
}

// Table formats the samples as a Markdown table.
func (r *SoakResult) Table() string {
	var b strings.Builder
	b.WriteString("| polls | time | fds | goroutines | HeapAlloc | HeapInuse | Sys | mallocs |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "| %d | %.1fs | %d | %d | %d | %d | %d | %d |\n", s.Polls, s.At.Seconds(), s.FDs, s.Goroutines, s.HeapAlloc, s.HeapInuse, s.Sys, s.Mallocs)
	}
	return b.String()
}

// Generate runs one `ip -n NS -force -batch -` fed with line(0), line(1) …
// until ctx ends, and returns how many commands it executed and how long
// that took (for churn tests of other objects, e.g. SAs in the VMs).
func Generate(ctx context.Context, ns *Namespace, line func(i uint64) string) (n uint64, took time.Duration, err error) {
	err = generator(ctx, ns, line, &n, &took)
	return n, took, err
}

// TB is the part of testing.TB that LeakCheck needs (so this package does
// not import testing).
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// LeakCheck records the open file descriptors and goroutines now and, when
// the test ends, reports any that were not released.
func LeakCheck(t TB) {
	t.Helper()
	fds, gs := CountFDs(), Sample().Goroutines
	t.Cleanup(func() {
		if n := Settle(gs, 2*time.Second); n > gs {
			t.Errorf("goroutines %d -> %d", gs, n)
		}
		if n := CountFDs(); n != fds {
			t.Errorf("open fds %d -> %d", fds, n)
		}
	})
}
