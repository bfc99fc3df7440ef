//go:build linux

package bench

// A monitoring agent's poll loop at scale: every tick it reads the counters
// of 10 000 links (vtistat PollStats), the namespace's XFRM MIB
// (xfrmstat MIB), the SPD and SAD sizes (SPDInfo, SADInfo) and
// explains what moved since the previous poll (explain.Explain, which
// computes the deltas), all into storage reused from poll to poll: the
// poll the scale issue describes. One Snapshot is polled in place, its
// links are converted into the older of two alternating explain.Readings
// (explain/monitor.AppendLinkReadings, which reuses their storage), and
// explain compares the two readings. Full dumps happen only when something
// changed: PollStats does one itself when the set of links changed, and
// the policy and SA lists are read again when the SPD or SAD size moved.
// -pollloop.refresh N adds a periodic full refresh every N polls (link
// parameters, the policy list, the SA list), for agents that want renamed
// links and changed tunnel parameters seen without subscribing to changes.
//
// Stand-ins: this host cannot create vti links (no ip_vti module) nor ESP
// SAs (no esp4), so the SAD is empty and the links are vxlan devices
// (-pollloop.kind, default): vxlan keeps its counters exactly as vti and
// the other IP tunnels do, in per-CPU tstats the kernel sums for each
// RTM_GETSTATS reply, so the kernel's cost per link is a vti's. veth pairs
// (-pollloop.kind veth) cost it more (veth_get_stats64 also reads its
// peer's queues). With -pollloop.asvti (default) the
// agent hands the links to explain as VTIs with tunnel parameters (okey =
// ikey = policy mark), so explain does the work it does for real VTIs. One
// outbound policy per tunnel (with its mark) fills the SPD.
//
// -pollloop.mode floor polls only the raw stats-only dump (plain syscalls,
// nothing decoded), so the kernel's own share is measured the same way. A
// comma-separated list of modes (floor,agent,floor,agent) runs them one
// after another on the same namespace.
//
// Two forms, both needing root:
//
//	# as fast as possible: ns/tunnel and allocs/tunnel per poll
//	cd bench && go test -run '^$' -bench PollLoop -benchmem -count 6 .
//	# real time, 1 Hz for 60 polls: CPU% from getrusage, heap, allocs
//	cd bench && go test -run TestPollLoop -v -pollloop.polls 60 .

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
	"golang.org/x/sys/unix"
)

var (
	pollPolls    = flag.Int("pollloop.polls", 0, "TestPollLoop: polls to measure (0 skips the test; 60 or more for a CPU figure)")
	pollInterval = flag.Duration("pollloop.interval", time.Second, "TestPollLoop: time between polls (0: back to back)")
	pollTunnels  = flag.Int("pollloop.tunnels", 10000, "tunnels (stand-in links, see -pollloop.kind) the agent watches")
	pollKind     = flag.String("pollloop.kind", "vxlan", "the poll loop's stand-in links: vxlan (the per-CPU tstats counters of vti) or veth")
	pollPolicies = flag.Int("pollloop.policies", -1, "policies in the agent's namespace (-1: one per tunnel)")
	pollAsVTI    = flag.Bool("pollloop.asvti", true, "hand the stand-in links to explain as VTIs with tunnel parameters")
	pollRefresh  = flag.Int("pollloop.refresh", 0, "a full refresh (Snapshot, policy and SA lists) every this many polls; 0: only when the link set, the SPD or the SAD changed size")
	pollMode     = flag.String("pollloop.mode", "agent", "TestPollLoop: agent (the whole poll), stats (vtistat PollStats only) or floor (the raw stats-only dump sent and received with plain syscalls, nothing decoded: the kernel's own cost at the same rate) or idle (nothing: the cost of the measuring loop itself); a comma-separated list runs each in turn on one namespace")
)

// agent is the poll loop's state: two of everything, alternated, so that
// the previous poll stays readable for the delta.
type agent struct {
	vc      *vtistat.Client
	xc      *xfrmstat.Client
	release string
	asVTI   bool

	cur     int
	snap    vtistat.Snapshot // polled in place; the previous poll lives on in its reading
	mib     [2]procnet.XfrmStat
	reading [2]explain.Reading
	tunnels []vtistat.Tunnel // stand-in parameters, one per link, when asVTI
	pols    []xfrmstat.Policy
	sas     []xfrmstat.SA
	// What explain reads of pols and sas, converted when they are read.
	explainPols []explain.Policy
	explainSAs  []explain.SA
	spd         xfrmstat.SPDInfo
	sad         xfrmstat.SADInfo

	polls, refreshes, listReads, findings int

	// phase is the wall time spent in each step, summed over polls (the
	// steps run one after another on one goroutine, so on an idle machine
	// wall time is CPU time).
	phase [phaseCount]time.Duration
}

// The steps of a poll, for the per-phase times.
const (
	phaseLinks    = iota // PollStats (a full dump when the link set changed)
	phaseRefresh         // Snapshot, on a periodic refresh
	phaseMIB             // MIB
	phaseInfo            // SPDInfo + SADInfo
	phaseLists           // Policies + SAs into reused storage, when read
	phaseReadings        // links for explain: the stand-ins' parameters after a full dump, and the conversion
	phaseExplain         // explain.Explain
	phaseCount
)

var phaseNames = [phaseCount]string{"links", "refresh", "mib", "spdsad-info", "lists", "readings", "explain"}

// mark adds the time since *t to phase p and restarts *t.
func (a *agent) mark(p int, t *time.Time) {
	now := time.Now()
	a.phase[p] += now.Sub(*t)
	*t = now
}

func newAgent(tb testing.TB, ns *linkNS, asVTI bool) *agent {
	tb.Helper()
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{FD: ns.fd}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { vc.Close() })
	xc, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{FD: ns.fd}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { xc.Close() })
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	a := &agent{vc: vc, xc: xc, release: unix.ByteSliceToString(uts.Release[:]), asVTI: asVTI}
	return a
}

// poll is one tick of the agent.
func (a *agent) poll(ctx context.Context) error {
	prev := a.cur
	a.cur ^= 1
	s := &a.snap
	refresh := a.polls == 0 || (*pollRefresh > 0 && a.polls%*pollRefresh == 0)
	a.polls++
	t := time.Now()
	if refresh {
		a.refreshes++
		if err := a.vc.Snapshot(ctx, s); err != nil {
			return err
		}
		a.mark(phaseRefresh, &t)
	} else {
		if err := a.vc.PollStats(ctx, s); err != nil {
			return err
		}
		a.mark(phaseLinks, &t)
	}
	if err := a.xc.MIB(ctx, &a.mib[a.cur]); err != nil {
		return err
	}
	a.mark(phaseMIB, &t)
	spd, err := a.xc.SPDInfo(ctx)
	if err != nil {
		return err
	}
	sad, err := a.xc.SADInfo(ctx)
	if err != nil {
		return err
	}
	a.mark(phaseInfo, &t)
	if refresh || a.pols == nil || spd.Total() != a.spd.Total() || sad.Count != a.sad.Count {
		a.listReads++
		if a.pols, err = a.xc.Policies(ctx, a.pols[:0]); err != nil {
			return err
		}
		if a.sas, err = a.xc.SAs(ctx, a.sas[:0]); err != nil {
			return err
		}
		if a.sas == nil {
			a.sas = []xfrmstat.SA{} // read, and there were none
		}
		a.explainPols, a.explainSAs = monitor.ExplainPolicies(a.pols), monitor.ExplainSAs(a.sas)
		a.mark(phaseLists, &t)
	}
	a.spd, a.sad = spd, sad

	// explain computes the deltas itself (with resets) from the two
	// readings; an agent
	// exporting rates would add vtistat.Diff and a Delta (about 2.6 MB
	// more at 10 000 links).
	r := &a.reading[a.cur]
	r.Time, r.KernelRelease, r.MIB, r.Policies, r.SAs = s.Time, a.release, &a.mib[a.cur], a.explainPols, a.explainSAs
	r.Links = monitor.AppendLinkReadings(r.Links[:0], a.standIns(s))
	a.mark(phaseReadings, &t)
	if a.polls == 1 { // first poll: nothing to compare with yet
		return nil
	}
	rep := explain.Explain(&a.reading[prev], r)
	a.findings += len(rep.Findings)
	a.mark(phaseExplain, &t)
	return nil
}

// standIns returns the snapshot's links for explain, as VTIs with tunnel parameters under
// -pollloop.asvti. The parameters are set when a full dump has just read
// the links (PollStats keeps them between dumps), which is also when the
// counters are checked to come from stats64, the path measured here.
func (a *agent) standIns(s *vtistat.Snapshot) []vtistat.Link {
	if !a.asVTI || !s.ParamsTime.Equal(s.Time) {
		return s.Links
	}
	a.growTunnels(len(s.Links))
	for i := range s.Links {
		l := &s.Links[i]
		if l.Kind == "veth" || l.Kind == "vxlan" {
			l.Kind, l.Tunnel = explain.KindVTI, &a.tunnels[i]
		}
		if l.StatsSource != vtistat.Stats64Bit {
			panic(fmt.Sprintf("%s: counter source %v", l.Name, l.StatsSource))
		}
	}
	return s.Links
}

func (a *agent) growTunnels(n int) {
	if len(a.tunnels) >= n {
		return
	}
	a.tunnels = make([]vtistat.Tunnel, n)
	for i := range a.tunnels {
		a.tunnels[i] = vtistat.Tunnel{
			Local: netip.AddrFrom4([4]byte{192, 0, 2, 1}), Remote: netip.AddrFrom4([4]byte{192, 0, 2, 2}),
			IKey: uint32(i + 1), OKey: uint32(i + 1),
		}
	}
}

var (
	agentNSMu sync.Mutex
	agentNSes = map[[2]int]*linkNS{}
)

// agentNamespace is a namespace with tunnels links (lo not counted) and
// policies outbound policies, one per tunnel, marked like its okey.
func agentNamespace(tb testing.TB, tunnels, policies int) *linkNS {
	tb.Helper()
	if policies < 0 {
		policies = tunnels
	}
	ns := namespaceWithLinksOf(tb, *pollKind, tunnels+1)
	agentNSMu.Lock()
	defer agentNSMu.Unlock()
	key := [2]int{tunnels, policies}
	if agentNSes[key] != nil {
		return ns
	}
	var b strings.Builder
	for i := range policies {
		fmt.Fprintf(&b, "%s mark %d mask 0xffffffff\n", policyLine(i), i+1)
	}
	cmd := exec.Command("ip", "-n", ns.name, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ip -batch: %v: %s", err, firstLine(out))
	}
	agentNSes[key] = ns
	return ns
}

// BenchmarkPollLoop: one poll of the agent, back to back.
func BenchmarkPollLoop(b *testing.B) {
	tunnels := *pollTunnels
	b.Run(fmt.Sprintf("tunnels=%d", tunnels), func(b *testing.B) {
		ns := agentNamespace(b, tunnels, *pollPolicies)
		a := newAgent(b, ns, *pollAsVTI)
		ctx := context.Background()
		for range 3 { // warm: every buffer grown
			if err := a.poll(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := a.poll(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(ns.links), "ns/tunnel")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N)/float64(ns.links), "allocs/tunnel")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "allocs/poll")
	})
}

// TestPollLoop runs the agent in real time and reports what it costs:
// CPU time (getrusage RUSAGE_SELF, user + system, so the kernel's work for
// the dumps is included) over wall time, the heap, allocations per poll.
// It asserts nothing about time; it fails only if a poll fails or if the
// steady state allocates per tunnel.
func TestPollLoop(t *testing.T) {
	if *pollPolls <= 0 {
		t.Skip("real-time poll loop: run with -pollloop.polls 60 (and -v)")
	}
	modes := strings.Split(*pollMode, ",")
	for _, mode := range modes {
		if !slices.Contains([]string{"agent", "stats", "floor", "idle"}, mode) {
			t.Fatalf("-pollloop.mode %q: want agent, stats, floor or idle, or a comma-separated list of them", mode)
		}
	}
	ns := agentNamespace(t, *pollTunnels, *pollPolicies)
	for i, mode := range modes {
		if len(modes) == 1 {
			runPollLoop(t, ns, mode)
			break
		}
		// Several modes share one namespace, so that the kernel's cost is
		// compared on the same links, with no namespace created or torn
		// down in between.
		t.Run(fmt.Sprintf("%d-%s", i+1, mode), func(t *testing.T) { runPollLoop(t, ns, mode) })
	}
}

func runPollLoop(t *testing.T, ns *linkNS, mode string) {
	a := newAgent(t, ns, *pollAsVTI)
	ctx := context.Background()
	var poll func(context.Context) error
	switch mode {
	case "agent":
		poll = a.poll
	case "stats":
		if err := a.vc.Snapshot(ctx, &a.snap); err != nil {
			t.Fatal(err)
		}
		poll = func(ctx context.Context) error { return a.vc.PollStats(ctx, &a.snap) }
	case "idle":
		poll = func(context.Context) error { return nil }
	case "floor":
		f := newFloor(t, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETSTATS, statsRequest())
		poll = func(context.Context) error { f.dump(t, ns.links); return nil }
	}
	for range 3 {
		if err := poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	var m0, m runtime.MemStats
	runtime.ReadMemStats(&m0)
	var ru0, ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		t.Fatal(err)
	}
	a.phase = [phaseCount]time.Duration{}
	start := time.Now()
	var tick <-chan time.Time
	if *pollInterval > 0 {
		tk := time.NewTicker(*pollInterval)
		defer tk.Stop()
		tick = tk.C
	}
	durs := make([]time.Duration, 0, *pollPolls)
	var heapMax, inuseMax uint64
	for range *pollPolls {
		if tick != nil {
			<-tick
		}
		t0 := time.Now()
		if err := poll(ctx); err != nil {
			t.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
		runtime.ReadMemStats(&m)
		heapMax, inuseMax = max(heapMax, m.HeapAlloc), max(inuseMax, m.HeapInuse)
	}
	wall := time.Since(start)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		t.Fatal(err)
	}
	user := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano())
	sys := time.Duration(ru1.Stime.Nano() - ru0.Stime.Nano())
	cpu := user + sys
	var inPolls time.Duration
	for _, d := range durs {
		inPolls += d
	}
	slices.Sort(durs)
	polls := len(durs)
	mallocs := m.Mallocs - m0.Mallocs
	allocsPerPoll := float64(mallocs) / float64(polls)
	// One line, parsed by bench/cmd/benchtable.
	t.Logf("pollloop: mode=%s kind=%s tunnels=%d policies=%d polls=%d interval=%v refresh-every=%d asvti=%v wall=%.3fs cpu=%.4fs user=%.4fs sys=%.4fs cpu%%=%.3f "+
		"poll-mean=%v poll-p50=%v poll-p90=%v poll-max=%v heap-alloc-max=%.2fMiB heap-inuse-max=%.2fMiB heap-sys=%.2fMiB "+
		"allocs/poll=%.2f allocs/tunnel/poll=%.6f bytes/poll=%.0f gcs=%d refreshes=%d list-reads=%d findings=%d",
		mode, *pollKind, ns.links-1, a.spd.Total(), polls, *pollInterval, *pollRefresh, a.asVTI, wall.Seconds(), cpu.Seconds(), user.Seconds(), sys.Seconds(),
		100*cpu.Seconds()/wall.Seconds(),
		(inPolls / time.Duration(polls)).Round(time.Microsecond), durs[polls/2].Round(time.Microsecond), durs[polls*9/10].Round(time.Microsecond), durs[polls-1].Round(time.Microsecond),
		float64(heapMax)/(1<<20), float64(inuseMax)/(1<<20), float64(m.HeapSys)/(1<<20),
		allocsPerPoll, allocsPerPoll/float64(ns.links), float64(m.TotalAlloc-m0.TotalAlloc)/float64(polls),
		m.NumGC-m0.NumGC, a.refreshes, a.listReads, a.findings)
	if strings.HasPrefix(mode, "agent") {
		var phases strings.Builder
		for p, d := range a.phase {
			fmt.Fprintf(&phases, " %s=%v", phaseNames[p], (d / time.Duration(polls)).Round(time.Microsecond))
		}
		t.Logf("pollloop-phases (mean wall time per poll):%s", phases.String())
	}
	if allocsPerPoll >= 1 && allocsPerPoll/float64(ns.links) >= 0.01 {
		t.Errorf("the steady state allocates per tunnel: %.1f allocations per poll for %d links", allocsPerPoll, ns.links)
	}
}
