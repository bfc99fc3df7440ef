package xfrmstat_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// List the ESP SAs towards one peer, with what they carried and their
// integrity failures. The kernel does the filtering.
func ExampleClient_SAs() {
	c, err := xfrmstat.Dial(nil) // the caller's network namespace
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sas, err := c.SAs(context.Background(), nil,
		xfrmstat.ByProto(50), xfrmstat.ByDst(netip.MustParsePrefix("192.0.2.2/32")))
	if errors.Is(err, os.ErrPermission) {
		log.Fatal("reading XFRM state needs CAP_NET_ADMIN")
	}
	if err != nil {
		log.Fatal(err)
	}
	for _, sa := range sas {
		fmt.Printf("spi %#x %v->%v %v reqid %d: %d bytes, %d integrity failures\n",
			sa.SPI, sa.Src, sa.Dst, sa.Mode, sa.ReqID, sa.LifetimeCurrent.Bytes, sa.Stats.IntegrityFailed)
		if sa.Crypt != nil { // names and key lengths only: never the key
			fmt.Printf("  %s, %d-bit key\n", sa.Crypt.Name, sa.Crypt.KeyBits)
		}
	}
}

// Poll every policy of a namespace once a second without allocating: the
// two slices alternate, so the previous poll stays intact for comparison.
func ExampleClient_Policies() {
	c, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: "vpn"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var prev, cur []xfrmstat.Policy // nil: the first poll allocates
	for range time.Tick(time.Second) {
		cur, err = c.Policies(ctx, cur) // cur's storage reused
		if err != nil {
			log.Fatal(err)
		}
		if len(cur) != len(prev) {
			fmt.Printf("%d policies (was %d)\n", len(cur), len(prev))
		}
		prev, cur = cur, prev
	}
}

// Watch for ACQUIREs: packets that need an SA nobody has negotiated.
func ExampleClient_Subscribe() {
	c, err := xfrmstat.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := c.Subscribe(ctx, xfrmstat.GroupAcquire|xfrmstat.GroupExpire)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	err = sub.Receive(func(ev xfrmstat.Event) error {
		switch ev := ev.(type) {
		case *xfrmstat.Acquire:
			fmt.Printf("no SA for %v -> %v (policy %d): is the IKE daemon up?\n",
				ev.Selector.Src, ev.Selector.Dst, ev.Policy.Index)
		case *xfrmstat.SAExpire:
			fmt.Printf("SA spi %#x expired (hard: %v)\n", ev.SA.SPI, ev.Hard)
		case *xfrmstat.EventsLost:
			fmt.Println("events lost: re-read the SAs")
		}
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		log.Fatal(err)
	}
}

// Size up the SPD and SAD and check the error counters of the same
// namespace.
func ExampleClient_SPDInfo() {
	c, err := xfrmstat.Dial(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	spd, err := c.SPDInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	sad, err := c.SADInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("policies: %d in, %d out, %d fwd, %d socket; SAs: %d (hash %d/%d)\n",
		spd.In, spd.Out, spd.Fwd, spd.SocketIn+spd.SocketOut, sad.Count, sad.HashBuckets, sad.HashMaxBuckets)
	var mib procnet.XfrmStat
	if err := c.MIB(ctx, &mib); errors.Is(err, xfrmstat.ErrNotSupported) {
		fmt.Println("no /proc/net/xfrm_stat: kernel built without CONFIG_XFRM_STATISTICS")
	} else if err != nil {
		log.Fatal(err)
	} else {
		fmt.Printf("XfrmOutNoStates %d, XfrmInStateProtoError %d\n", mib.OutNoStates, mib.InStateProtoError)
	}
}
