package explain

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// vtiLinksFromBytes builds a list of vtistat links from fuzz input: names
// from a small set (so that links pair up, move, vanish and repeat),
// indexes, kinds, counter sources, tunnels and counters that go up, stay
// or go back.
func vtiLinksFromBytes(data []byte) []vtistat.Link {
	kinds := []string{"", KindVTI, KindVTI6, KindXfrm, KindGRE, "dummy"}
	sources := []vtistat.StatsSource{vtistat.Stats64Bit, vtistat.Stats64Bit, vtistat.Stats32Bit, vtistat.StatsProcNet, 0}
	var links []vtistat.Link
	for len(data) >= 6 && len(links) < 12 {
		b := data[:6]
		data = data[6:]
		l := vtistat.Link{
			Name: fmt.Sprintf("vti%d", b[0]%5), Index: int32(b[1] % 4), Kind: kinds[int(b[2])%len(kinds)],
			StatsSource: sources[int(b[2]>>4)%len(sources)], LinkNetNSID: int32(b[3]%3) - 1,
		}
		if b[3]&0x80 != 0 {
			l.Tunnel = &vtistat.Tunnel{Local: tLocal, Remote: tRemote, IKey: uint32(b[3] & 7), OKey: uint32(b[3] & 7), Link: uint32(b[1] % 4)}
		}
		s := &l.Stats
		v := uint64(b[4])
		s.RxPackets, s.TxPackets, s.RxBytes, s.TxBytes = 100+v, 100+v, 1000+v, 1000+v
		for k, p := range []*uint64{&s.TxErrors, &s.TxCarrierErrors, &s.TxAbortedErrors, &s.TxDropped, &s.Collisions,
			&s.RxErrors, &s.RxDropped, &s.RxFrameErrors} {
			if b[5]&(1<<k) != 0 {
				*p = v % 7
			}
		}
		if l.StatsSource == vtistat.StatsProcNet { // as vtistat's fallback stores them: the line in Dev
			d := devStatsFromStats64(l.Name, &l.Stats)
			l.Dev, l.Stats = &d, vtistat.Stats64{}
		}
		links = append(links, l)
	}
	return links
}

// FuzzVTIStatLinks: explaining links given as VTIStatLinks gives exactly
// the report that their LinksFromVTIStat conversion gives as Links, and so
// does any split of the links between the two fields.
func FuzzVTIStatLinks(f *testing.F) {
	f.Add([]byte("\x00\x01\x81\x80\x05\x00\x01\x02\x81\x80\x05\x00"), []byte("\x00\x01\x81\x80\x09\x03\x01\x02\x81\x80\x05\x00"), uint8(1), uint8(0))
	f.Add([]byte("\x00\x01\x11\x80\x05\x00\x02\x02\x31\x80\x05\x00"), []byte("\x01\x02\x11\x80\x01\x07\x00\x03\x31\x80\x09\x01"), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, bData, aData []byte, bSplit, aSplit uint8) {
		bl, al := vtiLinksFromBytes(bData), vtiLinksFromBytes(aData)
		mk := func(links []vtistat.Link, split uint8, mib int) (*Reading, *Reading) {
			conv := &Reading{KernelRelease: "6.1.0", Links: LinksFromVTIStat(links), MIB: mibOf(mib)}
			k := min(int(split), len(links))
			direct := &Reading{KernelRelease: "6.1.0", Links: LinksFromVTIStat(links[:k]), VTIStatLinks: links[k:], MIB: mibOf(mib)}
			return conv, direct
		}
		bConv, bDirect := mk(bl, bSplit, 10)
		aConv, aDirect := mk(al, aSplit, 10+len(aData)%5)
		want := Explain(bConv, aConv)
		if got := Explain(bDirect, aDirect); !reflect.DeepEqual(got, want) {
			t.Fatalf("VTIStatLinks (split %d/%d) explained differently:\ngot:\n%s\nwant:\n%s", bSplit, aSplit, got.String(), want.String())
		}
		if got := Explain(bConv, aDirect); !reflect.DeepEqual(got, want) {
			t.Fatalf("VTIStatLinks later only (split %d) explained differently:\ngot:\n%s\nwant:\n%s", aSplit, got.String(), want.String())
		}
		if got, want := ExplainSinceBoot(aDirect), ExplainSinceBoot(aConv); !reflect.DeepEqual(got, want) {
			t.Fatalf("since boot, VTIStatLinks explained differently:\ngot:\n%s\nwant:\n%s", got.String(), want.String())
		}
	})
}

func mibOf(outNoStates int) *procnet.XfrmStat { return mib("XfrmOutNoStates", outNoStates) }

// A poll loop handing vtistat links to explain: nothing allocated per
// tunnel when nothing moved, and nothing converted.
func TestVTIStatLinksQuietAllocs(t *testing.T) {
	mk := func(n int, rx uint64) []vtistat.Link {
		links := make([]vtistat.Link, n)
		for i := range links {
			links[i] = vtistat.Link{Index: int32(i + 2), Name: fmt.Sprintf("vti%d", i), Kind: KindVTI, LinkNetNSID: -1,
				Tunnel:      &vtistat.Tunnel{Local: tLocal, Remote: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})},
				StatsSource: vtistat.Stats64Bit, Stats: vtistat.Stats64{RxPackets: rx, TxErrors: 59, TxCarrierErrors: 59}}
		}
		return links
	}
	for _, n := range []int{100, 10_000} {
		before := &Reading{KernelRelease: "6.1.0", VTIStatLinks: mk(n, 1000), MIB: mib()}
		after := &Reading{KernelRelease: "6.1.0", VTIStatLinks: mk(n, 2000), MIB: mib()}
		var rep Report
		if a := testing.AllocsPerRun(10, func() { rep = Explain(before, after) }); a != 0 {
			t.Errorf("%d quiet tunnels: %v allocations per Explain, want 0", n, a)
		}
		if len(rep.Findings) != 0 || len(rep.Notes) != 0 {
			t.Errorf("%d quiet tunnels: %s", n, rep.String())
		}
	}
}
