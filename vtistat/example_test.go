package vtistat_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tunnelstat/tunnelstat/vtistat"
)

// List the IPsec tunnels of a namespace with their parameters and the
// counters that tell a failed policy lookup from a failed IPsec output.
func ExampleClient_Snapshot() {
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: "vpn"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var s vtistat.Snapshot
	if err := c.Snapshot(context.Background(), &s, vtistat.ByKind("vti", "vti6", "xfrm")); err != nil {
		log.Fatal(err)
	}
	for _, l := range s.Links {
		t := l.Tunnel
		fmt.Printf("%s %s local %v remote %v okey %d: carrier %d aborted %d collisions %d\n",
			l.Name, l.Kind, t.Local, t.Remote, t.OKey,
			l.Stats.TxCarrierErrors, l.Stats.TxAbortedErrors, l.Stats.Collisions)
	}
}

// A polling loop: one full dump, then stats-only polls into two
// alternating snapshots, and deltas that report resets as resets. In steady
// state nothing is allocated per link.
func ExampleClient_PollStats() {
	c, err := vtistat.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	tunnels := vtistat.ByKind(vtistat.TunnelKinds()...)
	var snaps [2]vtistat.Snapshot
	var d vtistat.Delta
	for i := range snaps { // full dumps: parameters and counters
		if err := c.Snapshot(ctx, &snaps[i], tunnels); err != nil {
			log.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		time.Sleep(time.Second)
		prev, cur := &snaps[i%2], &snaps[(i+1)%2]
		if err := c.PollStats(ctx, cur); err != nil { // counters only
			log.Fatal(err)
		}
		vtistat.Diff(&d, prev, cur) // d is overwritten, its storage reused
		for _, l := range d.Links {
			if l.Reset != vtistat.NoReset {
				fmt.Printf("%s: counters reset (%v)\n", l.Name, l.Reset)
				continue
			}
			if l.Stats.TxErrors > 0 {
				fmt.Printf("%s: %d tx errors, %d carrier\n", l.Name, l.Stats.TxErrors, l.Stats.TxCarrierErrors)
			}
		}
	}
}

// Decode an RTM_NEWLINK message received elsewhere, here one captured from
// a Linux 6.18 kernel: a veth with traffic.
func ExampleDecodeLink() {
	msg, err := os.ReadFile("testdata/rtm_newlink-veth-linux6.18.bin")
	if err != nil {
		log.Fatal(err)
	}
	var l vtistat.Link
	if err := vtistat.DecodeLink(msg, &l); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s kind=%s mtu=%d alias=%q state=%v\n", l.Name, l.Kind, l.MTU, l.Alias, l.OperState)
	fmt.Printf("tx packets %d bytes %d, from %v\n", l.Stats.TxPackets, l.Stats.TxBytes, l.StatsSource)
	// Output:
	// a0 kind=veth mtu=1400 alias="fixture veth" state=up
	// tx packets 3 bytes 426, from stats64
}
