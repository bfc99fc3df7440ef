package explain

import (
	"fmt"
	"net/netip"
	"testing"
)

// A poll loop handing its readings to explain: nothing allocated per
// tunnel when nothing moved.
func TestLinksQuietAllocs(t *testing.T) {
	mk := func(n int, rx uint64) []LinkReading {
		links := make([]LinkReading, n)
		for i := range links {
			links[i] = LinkReading{Index: int32(i + 2), Name: fmt.Sprintf("vti%d", i), Kind: KindVTI,
				Tunnel: &Tunnel{Local: tLocal, Remote: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})},
				Source: SourceStats64, Stats: Stats64{RxPackets: rx, TxErrors: 59, TxCarrierErrors: 59}}
		}
		return links
	}
	for _, n := range []int{100, 10_000} {
		before := &Reading{KernelRelease: "6.1.0", Links: mk(n, 1000), MIB: mib()}
		after := &Reading{KernelRelease: "6.1.0", Links: mk(n, 2000), MIB: mib()}
		var rep Report
		if a := testing.AllocsPerRun(10, func() { rep = Explain(before, after) }); a != 0 {
			t.Errorf("%d quiet tunnels: %v allocations per Explain, want 0", n, a)
		}
		if len(rep.Findings) != 0 || len(rep.Notes) != 0 {
			t.Errorf("%d quiet tunnels: %s", n, rep.String())
		}
	}
}
