package explain

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// quietReadings returns two readings of n VTIs with realistic, equal error
// counters (nothing moved) and moving traffic counters.
func quietReadings(n int) (*Reading, *Reading) {
	before := &Reading{Time: t0, KernelRelease: "6.1.0-31-cloud-amd64", MIB: mib("XfrmOutNoStates", 70)}
	after := &Reading{Time: t0.Add(10e9), KernelRelease: "6.1.0-31-cloud-amd64", MIB: mib("XfrmOutNoStates", 70)}
	for i := range n {
		s := Stats64{RxPackets: 1e9, TxPackets: 9e8, RxBytes: 1e12, TxBytes: 9e11, TxErrors: 59, TxCarrierErrors: 59}
		tun := &Tunnel{Local: tLocal, Remote: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), IKey: uint32(i), OKey: uint32(i)}
		l := LinkReading{Name: fmt.Sprintf("vti%d", i), Index: int32(10 + i), Kind: KindVTI, Tunnel: tun, Source: SourceStats64, Stats: s}
		before.Links = append(before.Links, l)
		s.RxPackets += 1000
		s.TxPackets += 900
		l.Stats = s
		after.Links = append(after.Links, l)
	}
	return before, after
}

// Explaining a quiet namespace allocates a fixed amount, whatever the
// number of tunnels.
func TestQuietAllocsDoNotGrow(t *testing.T) {
	b100, a100 := quietReadings(100)
	b10k, a10k := quietReadings(10_000)
	n100 := testing.AllocsPerRun(20, func() { Explain(b100, a100) })
	n10k := testing.AllocsPerRun(20, func() { Explain(b10k, a10k) })
	if n10k != n100 {
		t.Fatalf("allocations grow with tunnels: %v for 100, %v for 10000", n100, n10k)
	}
	if rep := Explain(b10k, a10k); len(rep.Findings) != 0 {
		t.Fatalf("quiet readings gave findings:\n%s", rep.String())
	}
	// Reordered links fall back to the name map: still no per-tunnel cost
	// beyond the map itself.
	t.Logf("allocs per Explain: %v (100 and 10000 tunnels)", n10k)
}

func BenchmarkExplainQuiet10k(b *testing.B) {
	before, after := quietReadings(10_000)
	b.ReportAllocs()
	for b.Loop() {
		Explain(before, after)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/tunnel")
}

// BenchmarkExplainBusy explains 100 tunnels that all had lookup failures,
// with policies to resolve against: the cost of a real finding.
func BenchmarkExplainBusy100(b *testing.B) {
	before, after := quietReadings(100)
	for i := range after.Links {
		after.Links[i].Stats.TxErrors += 5
		after.Links[i].Stats.TxCarrierErrors += 5
	}
	after.MIB = mib("XfrmOutNoStates", 70+400)
	after.Policies = []Policy{outPolicy(1, tunnelTmpl(tLocal, tRemote))}
	b.ReportAllocs()
	for b.Loop() {
		Explain(before, after)
	}
}

// FuzzExplain feeds arbitrary counters (including ones that go backwards)
// and checks that Explain never panics and never reports a count larger
// than the counters allow.
func FuzzExplain(f *testing.F) {
	f.Add([]byte{59, 0, 0, 0, 0, 0, 0, 0, 59}, uint8(0), true)
	f.Add(make([]byte, 200), uint8(3), false)
	kinds := append([]string{""}, kindsAll...)
	f.Fuzz(func(t *testing.T, data []byte, kindIdx uint8, split bool) {
		next := func() uint64 {
			if len(data) < 2 {
				return 0
			}
			v := uint64(binary.LittleEndian.Uint16(data))
			data = data[2:]
			if v > 60000 { // sometimes a huge value, to cross resets
				v = 1<<63 + v
			}
			return v
		}
		mk := func() (LinkReading, *procnet.XfrmStat) {
			l := LinkReading{Name: "vti0", Index: 5, Kind: kinds[int(kindIdx)%len(kinds)], Tunnel: vtiTunnel()}
			if split {
				l.Source = SourceStats64
				s := &l.Stats
				for _, p := range []*uint64{&s.TxErrors, &s.TxDropped, &s.TxCarrierErrors, &s.TxAbortedErrors, &s.Collisions,
					&s.TxFIFOErrors, &s.RxErrors, &s.RxDropped, &s.RxCRCErrors, &s.RxFIFOErrors, &s.RxLengthErrors, &s.RxFrameErrors, &s.TxWindowErrors} {
					*p = next()
				}
			} else {
				l.Source = SourceProcNetDev
				d := &procnet.DevStats{Name: l.Name}
				l.Dev = d
				d.TxErrors, d.TxDropped, d.TxCarrierSum, d.Collisions, d.TxFIFOErrors = next(), next(), procnet.Sum(next()), next(), next()
				d.RxErrors, d.RxDropSum, d.RxFIFOErrors, d.RxFrameSum = next(), procnet.Sum(next()), next(), procnet.Sum(next())
			}
			m := mib()
			for _, n := range mibNames {
				setMIB(m, n, next()%64)
			}
			return l, m
		}
		lb, mb := mk()
		la, ma := mk()
		before := &Reading{KernelRelease: "6.1.0", Links: []LinkReading{lb}, MIB: mb}
		after := &Reading{KernelRelease: "6.1.0", Links: []LinkReading{la}, MIB: ma}
		for _, rep := range []Report{Explain(before, after), Explain(nil, after)} {
			_ = rep.String()
			for _, f := range rep.Findings {
				if causeByID(f.Cause) == nil {
					t.Fatalf("unknown cause %q", f.Cause)
				}
				var maxEvidence uint64
				for _, e := range f.Evidence {
					maxEvidence = max(maxEvidence, e.Delta)
				}
				if f.Cause != "counter-reset" && f.Count > maxEvidence {
					t.Fatalf("%s count %d exceeds every evidence delta %v", f.Cause, f.Count, f.Evidence)
				}
			}
		}
	})
}

// BenchmarkExplainShifted10k: the first of 10 000 links was deleted
// between the readings, so no link is at its earlier position and every
// one is found by name: the cost per tunnel must stay that of the quiet
// case plus a map lookup, not grow with the number of links.
func BenchmarkExplainShifted10k(b *testing.B) {
	before, after := quietReadings(10_001)
	after.Links = after.Links[1:]
	b.ReportAllocs()
	for b.Loop() {
		Explain(before, after)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/tunnel")
}

// busyReadings are n VTIs that all had 5 lookup failures since the
// earlier reading, with one outbound policy per tunnel (mark = okey) and
// SAs SAs (one outbound ESP SA per tunnel while they last, the rest to
// other peers): a hub-wide outage, the case where every finding is
// resolved against the configuration at once.
func busyReadings(n, sas int) (*Reading, *Reading) {
	before, after := quietReadings(n)
	for i := range after.Links {
		after.Links[i].Stats.TxErrors += 5
		after.Links[i].Stats.TxCarrierErrors += 5
	}
	after.MIB = mib("XfrmOutNoStates", 70+5*n)
	after.Policies = make([]Policy, 0, n)
	for i := range n {
		after.Policies = append(after.Policies, outPolicy(uint32(i), tunnelTmpl(tLocal, after.Links[i].Tunnel.Remote)))
	}
	after.SAs = make([]SA, 0, sas)
	for i := range sas {
		dst := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		if i < n {
			dst = after.Links[i].Tunnel.Remote
		}
		after.SAs = append(after.SAs, SA{Src: tLocal, Dst: dst, Proto: 50, SPI: uint32(0x1000 + i),
			Mode: ModeTunnel, Mark: &Mark{Value: uint32(i), Mask: 0xffffffff}})
	}
	return before, after
}

// BenchmarkExplainBusy: every tunnel failed, sizes from 100 to 10 000
// tunnels (and as many policies, and SAs). The cost per tunnel must stay
// flat: each finding looks its policies and SAs up, it does not scan them.
func BenchmarkExplainBusy(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000} {
		b.Run(fmt.Sprintf("tunnels=%d", n), func(b *testing.B) {
			before, after := busyReadings(n, n)
			b.ReportAllocs()
			for b.Loop() {
				Explain(before, after)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/tunnel")
		})
	}
}

// healthReadings returns two readings of n VTIs, each with an outbound
// policy and an SA each way, the second later with more traffic: what a
// Tracker sees every interval of a busy, healthy namespace.
func healthReadings(n int) (*Reading, *Reading) {
	before, after := quietReadings(n)
	for _, r := range []*Reading{before, after} {
		r.Policies = make([]Policy, 0, n)
		r.SAs = make([]SA, 0, 2*n)
		for i := range r.Links {
			tun := r.Links[i].Tunnel
			mark := &Mark{Value: tun.OKey, Mask: 0xffffffff}
			r.Policies = append(r.Policies, outPolicy(tun.OKey, tunnelTmpl(tun.Local, tun.Remote)))
			grown := uint64(0)
			if r == after {
				grown = 1000
			}
			for _, out := range []bool{true, false} {
				sa := SA{Src: tun.Remote, Dst: tun.Local, SPI: uint32(0x10000 + 2*i), Proto: 50, Mode: ModeTunnel, Mark: mark,
					Lifetime: Lifetime{SoftBytes: 1 << 62, HardBytes: 1 << 63, SoftPackets: 1 << 62, HardPackets: 1 << 63,
						SoftAdd: 50 * time.Minute, HardAdd: time.Hour},
					Usage: Usage{Bytes: 1e9 + grown*1000, Packets: 1e6 + grown, Added: t0.Add(-10 * time.Minute)}, HasReplay: true}
				if out {
					sa.Src, sa.Dst, sa.SPI, sa.OSeq = tun.Local, tun.Remote, sa.SPI+1, 1e6+grown
				} else {
					sa.Seq = 1e6 + grown
				}
				r.SAs = append(r.SAs, sa)
			}
		}
	}
	return before, after
}

// BenchmarkTrackerAdd10k is one interval of a Tracker over 10 000 VTIs
// with 20 000 SAs and 10 000 policies: the health part of a poll. Every
// SA carries 10 more packets each interval.
func BenchmarkTrackerAdd10k(b *testing.B) {
	_, r := healthReadings(10_000)
	var tr Tracker
	var h Health
	tr.Add(&h, r)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r.Time = t0.Add(time.Duration(i) * 10 * time.Second)
		for j := range r.SAs {
			sa := &r.SAs[j]
			sa.Usage.Bytes += 10_000
			sa.Usage.Packets += 10
			if sa.OSeq > 0 {
				sa.OSeq += 10
			}
		}
		tr.Add(&h, r)
		if len(h.Tunnels) != 10_000 || len(h.Risks) != 0 {
			b.Fatalf("%d tunnels, risks %v", len(h.Tunnels), h.Risks[:min(3, len(h.Risks))])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/tunnel")
}

// BenchmarkTrackerAddUnchanged10k is BenchmarkTrackerAdd10k's namespace in
// an interval where nothing moved, as explain/monitor tells the Tracker
// (Update.Unchanged): the tunnels are the previous interval's; only the
// risks are computed again.
func BenchmarkTrackerAddUnchanged10k(b *testing.B) {
	_, r := healthReadings(10_000)
	var tr Tracker
	var h Health
	tr.Add(&h, r)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r.Time = t0.Add(time.Duration(i) * 10 * time.Second)
		r.sameFor = &tr
		tr.Add(&h, r)
		if len(h.Tunnels) != 10_000 || len(h.Risks) != 0 {
			b.Fatalf("%d tunnels, risks %v", len(h.Tunnels), h.Risks[:min(3, len(h.Risks))])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/tunnel")
}
