package procnet_test

import (
	"fmt"
	"log"
	"os"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// A VyOS router's /proc/net/dev: both VTIs count every transmit error in the
// carrier column, a sum that hides whether the xfrm lookup failed
// (tx_carrier_errors) or IPsec output did (tx_aborted_errors).
func ExampleParseNetDev() {
	f, err := os.Open("testdata/netdev-vyos-seed003.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	stats, err := procnet.ParseNetDev(f)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range stats {
		if d.TxErrors > 0 {
			fmt.Printf("%s: %d tx errors, %d in carrier (carrier+aborted+window+heartbeat)\n",
				d.Name, d.TxErrors, d.TxCarrierSum)
		}
	}
	// Output:
	// vti0: 59 tx errors, 59 in carrier (carrier+aborted+window+heartbeat)
	// vti1: 280 tx errors, 280 in carrier (carrier+aborted+window+heartbeat)
}

// Counters moved by packets in a test namespace: one policy with no SA,
// one outbound and one inbound block policy.
func ExampleParseXfrmStat() {
	f, err := os.Open("testdata/xfrm_stat-netns-policies-linux6.18.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	s, err := procnet.ParseXfrmStat(f)
	if err != nil {
		log.Fatal(err)
	}
	for name, v := range s.All() {
		if v != 0 {
			fmt.Println(name, v)
		}
	}
	fmt.Println("has XfrmInStateDirError (6.10+):", s.Has("XfrmInStateDirError"))
	// Output:
	// XfrmInPolBlock 5
	// XfrmOutNoStates 9
	// XfrmOutPolBlock 4
	// has XfrmInStateDirError (6.10+): true
}

// Two readings of the same file: deltas per interface, resets apart.
func ExampleDiffNetDev() {
	before := []procnet.DevStats{{Name: "lo"}, {Name: "vti0", TxErrors: 59, TxCarrierSum: 59}, {Name: "vti1", TxPackets: 900}}
	after := []procnet.DevStats{{Name: "lo"}, {Name: "vti0", TxErrors: 61, TxCarrierSum: 61}, {Name: "vti1", TxPackets: 3}}
	d := procnet.DiffNetDev(before, after)
	for _, dev := range d.Devs {
		fmt.Printf("%s: +%d tx errors\n", dev.Name, dev.TxErrors)
	}
	for _, r := range d.Resets {
		fmt.Printf("%s: reset (%s: %s %d -> %d)\n", r.Name, r.Reason, procnet.NetDevColumns[r.Column], r.Before, r.After)
	}
	// Output:
	// lo: +0 tx errors
	// vti0: +2 tx errors
	// vti1: reset (decreased: tx packets 900 -> 3)
}
