package monitor

import (
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// A link vtistat read from /proc/net/dev keeps its line in Dev; the
// document stores the sums in the named fields (StatsFrom says so), and
// converting back gives vtistat's shape again: the line in Dev, zero Stats.
func TestProcNetDevLinkRoundTrip(t *testing.T) {
	dev := procnet.DevStats{Name: "vti0", TxPackets: 5, TxErrors: 7, TxCarrierSum: 7, RxDropSum: 2, RxFrameSum: 4}
	l := vtistat.Link{Name: "vti0", LinkNetNSID: -1, StatsSource: vtistat.StatsProcNet, Dev: &dev}
	doc := linkFromVTIStat(&l)
	if doc.StatsFrom != "proc/net/dev" || doc.Stats != linkFromProcNetDev(&dev).Stats || doc.Stats.TxCarrierErrors != 7 {
		t.Fatalf("document link %+v", doc)
	}
	back := doc.vtistat()
	if back.StatsSource != vtistat.StatsProcNet || back.Stats != (vtistat.Stats64{}) || back.Dev == nil || *back.Dev != dev {
		t.Fatalf("back to vtistat: %+v, Dev %+v; want Dev %+v and zero Stats", back, back.Dev, dev)
	}
}
