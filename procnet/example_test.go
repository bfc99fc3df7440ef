package procnet_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

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
	// A counter the kernel does not print is absent, not 0.
	_, ok := s.Counter("XfrmInStateDirError")
	fmt.Println("has XfrmInStateDirError (6.10+):", ok)
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
	var d procnet.NetDevDelta // reused by every DiffNetDev of a poll loop
	procnet.DiffNetDev(&d, before, after)
	for _, dev := range d.Devs {
		fmt.Printf("%s: +%d tx errors\n", dev.Name, dev.TxErrors)
	}
	for _, r := range d.Resets {
		fmt.Printf("%s: reset (%s: %s %d -> %d)\n", r.Name, r.Reason, r.Column, r.Before, r.After)
	}
	// Output:
	// lo: +0 tx errors
	// vti0: +2 tx errors
	// vti1: reset (decreased: tx packets 900 -> 3)
}

// A poll loop: open the file once, read it into two XfrmStat values in
// turn, and subtract. Once warm, nothing in the loop allocates.
func ExampleFS_OpenXfrmStat() {
	ctx := context.Background()
	r, err := procnet.FS{}.OpenXfrmStat(ctx) // the running system's /proc
	if err != nil {
		log.Fatal(err) // matches procnet.ErrNotSupported without CONFIG_XFRM_STATISTICS
	}
	defer r.Close()
	var mib [2]procnet.XfrmStat
	var d procnet.XfrmStatDelta
	if err := r.Read(ctx, &mib[0]); err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		time.Sleep(time.Second)
		prev, cur := &mib[(i-1)%2], &mib[i%2]
		if err := r.Read(ctx, cur); err != nil {
			log.Fatal(err)
		}
		procnet.DiffXfrmStat(&d, prev, cur)
		if n, ok := d.Counter("XfrmOutNoStates"); ok && n > 0 {
			fmt.Println(n, "packets found no SA")
		}
	}
}
