package explain_test

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// The seed question: a VyOS router's /proc/net/dev shows TX errors on its
// VTIs. Explained since boot from that file alone, the errors are
// candidates of two families that only netlink stats64 tell apart.
func ExampleExplain_sinceBoot() {
	f, err := os.Open("testdata/vyos-seed003-proc-net-dev.txt")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	devs, err := procnet.ParseNetDev(f)
	if err != nil {
		panic(err)
	}
	rep := explain.Explain(nil, &explain.Reading{Links: explain.LinksFromProcNetDev(devs)})
	for _, iface := range []string{"vti0", "vti1"} {
		var lookup, output int
		var count uint64
		for _, fd := range rep.ByInterface(iface) {
			c, _ := explain.Lookup(fd.Cause)
			for _, ls := range c.Signature.Link {
				if ls.Kinds[0] == explain.KindVTI {
					switch ls.Counters[0] {
					case "tx_carrier_errors":
						lookup++
					case "tx_aborted_errors":
						output++
					}
				}
			}
			count = fd.Count
		}
		fmt.Printf("%s: %d errors; %d lookup-failure and %d output-failure candidates\n", iface, count, lookup, output)
	}
	fmt.Println(rep.ByInterface("vti0")[0].Checks[0].Command)
	// Output:
	// vti0: 59 errors; 9 lookup-failure and 8 output-failure candidates
	// vti1: 280 errors; 9 lookup-failure and 8 output-failure candidates
	// ip -s -s link show dev vti0
}

// Two netlink readings ten seconds apart with the XFRM MIB: the tunnel's 17
// lookup failures match 17 XfrmOutNoStates, so each is a missing SA.
func ExampleExplain() {
	tun := &explain.Tunnel{
		Local:  netip.MustParseAddr("192.0.2.1"),
		Remote: netip.MustParseAddr("198.51.100.2"),
		IKey:   0x10, OKey: 0x10,
	}
	reading := func(carrier, noStates uint64) *explain.Reading {
		return &explain.Reading{
			KernelRelease: "6.1.0-31-cloud-amd64",
			Links: []explain.LinkReading{{
				Name: "vti0", Index: 5, Kind: explain.KindVTI, Tunnel: tun,
				Source: explain.SourceStats64,
				Stats:  explain.Stats64{TxPackets: 1e6, TxErrors: carrier, TxCarrierErrors: carrier},
			}},
			MIB: &procnet.XfrmStat{OutNoStates: noStates},
		}
	}
	rep := explain.Explain(reading(100, 100), reading(117, 117))
	f := rep.Findings[0]
	fmt.Println(f.Interface, f.Cause, f.Count, f.Certainty)
	for _, c := range f.Checks {
		if strings.HasPrefix(c.Command, "ip -s xfrm state") {
			fmt.Println(c.Command)
		}
	}
	// Output:
	// vti0 tx-no-sa 17 exact
	// ip -s xfrm state list src 192.0.2.1 dst 198.51.100.2
}

// The policy list settles what counters alone cannot: the outbound
// policies with the tunnel's mark (one per address family: a policy rules a
// cause out only for the traffic its selector covers) send to another peer.
func ExampleExplain_policies() {
	local, remote := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	tun := &explain.Tunnel{Local: local, Remote: remote, IKey: 0x10, OKey: 0x10}
	reading := func(carrier uint64) *explain.Reading {
		return &explain.Reading{
			KernelRelease: "5.10.0-33-amd64",
			Links: []explain.LinkReading{{Name: "vti0", Index: 5, Kind: explain.KindVTI, Tunnel: tun,
				Source: explain.SourceStats64, Stats: explain.Stats64{TxErrors: carrier, TxCarrierErrors: carrier}}},
			MIB: &procnet.XfrmStat{},
		}
	}
	before, after := reading(0), reading(9)
	policy := func(any string) explain.Policy {
		return explain.Policy{
			Dir:      explain.DirOut,
			Selector: explain.Selector{Src: netip.MustParsePrefix(any), Dst: netip.MustParsePrefix(any)},
			Mark:     &explain.Mark{Value: 0x10, Mask: 0xffffffff},
			Templates: []explain.Template{{Src: local, Dst: netip.MustParseAddr("203.0.113.9"),
				Proto: 50, Mode: explain.ModeTunnel}},
		}
	}
	after.Policies = []explain.Policy{policy("0.0.0.0/0"), policy("::/0")}
	for _, f := range explain.Explain(before, after).Findings {
		fmt.Println(f.Interface, f.Cause, f.Count, f.Certainty)
	}
	// The only other cause left is a packet that reached the tunnel without
	// a route, which only a packet socket or bpf_redirect sends:
	//
	// Output:
	// vti0 tx-no-route 9 candidate
	// vti0 tx-sa-mismatch 9 candidate
}

// The catalogue is data: list it, or look one cause up.
func ExampleLookup() {
	c, _ := explain.Lookup("tx-routing-loop")
	fmt.Println(c.Title)
	fmt.Println(c.Signature.Link[0].Kinds, c.Signature.Link[0].Counters)
	fmt.Println(len(explain.Causes()) > 40)
	// Output:
	// Routing loop: the route to the tunnel's peer leads back into the tunnel
	// [vti] [collisions tx_errors]
	// true
}

// A WireGuard device's tx_errors have four possible causes; its peer lists,
// the same in both readings, rule out those that need a peer with an
// endpoint when no peer has allowed IPs.
func ExampleExplain_wireGuard() {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	reading := func(at time.Time, txErrors uint64) *explain.Reading {
		return &explain.Reading{Time: at, KernelRelease: "6.12.117+deb13-cloud-amd64",
			Links: []explain.LinkReading{{Name: "wg0", Index: 3, Kind: explain.KindWireGuard, Source: explain.SourceStats64,
				Stats: explain.Stats64{TxPackets: 1000, TxErrors: txErrors}}},
			// wg-quick brought wg0 up; its peers are not set yet.
			WireGuard: []explain.WireGuardDevice{{Index: 3, Name: "wg0", Peers: []explain.WireGuardPeer{}}}}
	}
	rep := explain.Explain(reading(t0, 0), reading(t0.Add(10*time.Second), 12))
	for _, f := range rep.Findings {
		fmt.Println(f.Cause, f.Count, f.Certainty)
	}
	// Output:
	// tx-unsupported-protocol 12 candidate
	// tx-wg-no-peer 12 candidate
}
