package monitor_test

import (
	"fmt"
	"net/netip"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// A poll loop's two vtistat snapshots, converted into readings it reuses
// from one poll to the next: vti1's lookups failed between the polls,
// vti0 only carried traffic.
func ExampleAppendLinkReadings() {
	tun := func(okey uint32) *vtistat.Tunnel {
		return &vtistat.Tunnel{Local: netip.MustParseAddr("192.0.2.1"), Remote: netip.MustParseAddr("198.51.100.2"), IKey: okey, OKey: okey}
	}
	// What two PollStats calls on alternating Snapshots hold.
	prev := []vtistat.Link{
		{Index: 5, Name: "vti0", Kind: "vti", Tunnel: tun(0x10), LinkNetNSID: -1, StatsSource: vtistat.Stats64Bit, Stats: vtistat.Stats64{TxPackets: 1000}},
		{Index: 6, Name: "vti1", Kind: "vti", Tunnel: tun(0x11), LinkNetNSID: -1, StatsSource: vtistat.Stats64Bit, Stats: vtistat.Stats64{TxPackets: 50}},
	}
	cur := []vtistat.Link{
		{Index: 5, Name: "vti0", Kind: "vti", Tunnel: tun(0x10), LinkNetNSID: -1, StatsSource: vtistat.Stats64Bit, Stats: vtistat.Stats64{TxPackets: 1900}},
		{Index: 6, Name: "vti1", Kind: "vti", Tunnel: tun(0x11), LinkNetNSID: -1, StatsSource: vtistat.Stats64Bit,
			Stats: vtistat.Stats64{TxPackets: 50, TxErrors: 12, TxCarrierErrors: 12}},
	}
	// Two readings the loop keeps; each poll refills the older one.
	var before, after explain.Reading
	before.KernelRelease, after.KernelRelease = "6.1.0-31-cloud-amd64", "6.1.0-31-cloud-amd64"
	before.Links = monitor.AppendLinkReadings(before.Links[:0], prev)
	before.MIB = &procnet.XfrmStat{}
	after.Links = monitor.AppendLinkReadings(after.Links[:0], cur)
	after.MIB = &procnet.XfrmStat{OutNoStates: 12}
	for _, f := range explain.Explain(&before, &after).Findings {
		if f.Interface != "" { // the namespace-wide total follows the tunnels' findings
			fmt.Println(f.Interface, f.Cause, f.Count, f.Certainty)
		}
	}
	// Output:
	// vti1 tx-no-sa 12 exact
}
