package explain

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// quietReadings returns two readings of n VTIs with realistic, equal error
// counters (nothing moved) and moving traffic counters.
func quietReadings(n int) (*Reading, *Reading) {
	before := &Reading{Time: t0, KernelRelease: "6.1.0-31-cloud-amd64", MIB: mib("XfrmOutNoStates", 70)}
	after := &Reading{Time: t0.Add(10e9), KernelRelease: "6.1.0-31-cloud-amd64", MIB: mib("XfrmOutNoStates", 70)}
	for i := range n {
		s := vtistat.Stats64{RxPackets: 1e9, TxPackets: 9e8, RxBytes: 1e12, TxBytes: 9e11, TxErrors: 59, TxCarrierErrors: 59}
		tun := &vtistat.Tunnel{Local: tLocal, Remote: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), IKey: uint32(i), OKey: uint32(i)}
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
	after.Policies = []xfrmstat.Policy{outPolicy(1, tunnelTmpl(tLocal, tRemote))}
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
				d := &l.Dev
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
		for _, rep := range []Report{Explain(before, after), ExplainSinceBoot(after)} {
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
