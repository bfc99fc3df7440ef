package explain_test

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
)

// Follow a VTI across a rekey: the traffic totals carry on when the new
// SAs replace the old ones, and an SA past its soft limit with no
// replacement is a risk before any packet drops.
func ExampleTracker() {
	local, remote := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	mark := &explain.Mark{Value: 0x10, Mask: 0xffffffff}
	sa := func(spi uint32, out bool, added time.Time, packets uint64) explain.SA {
		s := explain.SA{Src: remote, Dst: local, SPI: spi, Proto: 50, Mode: explain.ModeTunnel, Mark: mark,
			Lifetime: explain.Lifetime{SoftBytes: math.MaxUint64, HardBytes: math.MaxUint64, SoftPackets: math.MaxUint64,
				HardPackets: math.MaxUint64, SoftAdd: 50 * time.Minute, HardAdd: time.Hour},
			Usage: explain.Usage{Bytes: packets * 100, Packets: packets, Added: added}}
		if out {
			s.Src, s.Dst = local, remote
		}
		return s
	}
	reading := func(at time.Time, sas ...explain.SA) *explain.Reading {
		return &explain.Reading{Time: at, SAs: sas,
			Links: []explain.LinkReading{{Name: "vti0", Kind: explain.KindVTI,
				Tunnel: &explain.Tunnel{Local: local, Remote: remote, IKey: 0x10, OKey: 0x10}}},
			Policies: []explain.Policy{{Dir: explain.DirOut, Mark: mark,
				Templates: []explain.Template{{Src: local, Dst: remote, Proto: 50, Mode: explain.ModeTunnel}}}}}
	}
	old, rekeyed := t0.Add(-55*time.Minute), t0.Add(5*time.Second)

	var tr explain.Tracker
	var h explain.Health
	tr.Add(&h, reading(t0, sa(0x1001, true, old, 500), sa(0x2001, false, old, 400)))
	fmt.Println(h.Tunnels[0].ID, h.Tunnels[0].State, "out", h.Tunnels[0].Out.Packets, "in", h.Tunnels[0].In.Packets)
	for _, r := range h.Risks {
		fmt.Println("risk:", r.Cause, r.SA.SPI == 0x1001, r.At.Sub(t0)) // inbound first
	}

	// The key manager installed new SAs and deleted the old ones, which
	// carried 20 more packets each since the last reading.
	later := reading(t0.Add(10*time.Second), sa(0x1002, true, rekeyed, 30), sa(0x2002, false, rekeyed, 30))
	later.Events = []explain.Event{
		{Type: explain.EventSADeleted, SA: explain.SARef{SPI: 0x1001, Proto: 50, Src: local, Dst: remote, Mark: mark},
			Usage: &explain.Usage{Packets: 520, Added: old}},
		{Type: explain.EventSADeleted, SA: explain.SARef{SPI: 0x2001, Proto: 50, Src: remote, Dst: local, Mark: mark},
			Usage: &explain.Usage{Packets: 420, Added: old}},
	}
	tr.Add(&h, later)
	fmt.Println(h.Tunnels[0].ID, h.Tunnels[0].State, "out", h.Tunnels[0].Out.Packets, "in", h.Tunnels[0].In.Packets, "risks", len(h.Risks))
	// Output:
	// vti0 up out 500 in 400
	// risk: sa-soft-expired-no-rekey false 5m0s
	// risk: sa-soft-expired-no-rekey true 5m0s
	// vti0 up out 550 in 450 risks 0
}

// Follow a WireGuard peer: it is up while its last handshake is under
// three minutes old, and a peer sent handshake initiations that nobody
// answers is a risk before the staged packets are dropped.
func ExampleTracker_wireGuard() {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	peer := explain.WireGuardPeer{
		PublicKey:     "TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs=",
		Endpoint:      netip.MustParseAddrPort("198.51.100.2:51821"),
		AllowedIPs:    []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32")},
		LastHandshake: t0.Add(-40 * time.Second),
		RxBytes:       180, TxBytes: 492,
	}
	reading := func(at time.Time, p explain.WireGuardPeer) *explain.Reading {
		return &explain.Reading{Time: at, WireGuard: []explain.WireGuardDevice{{Index: 3, Name: "wg0", Peers: []explain.WireGuardPeer{p}}}}
	}
	var tr explain.Tracker
	var h explain.Health
	tr.Add(&h, reading(t0, peer))
	p := h.Peers[0]
	fmt.Println(p.ID, "up", p.Up, "in", p.In.Bytes, "out", p.Out.Bytes)

	// Five minutes on the peer has gone quiet: two initiations (148 bytes
	// each) went out in the last ten seconds and nothing came back.
	t1 := t0.Add(5 * time.Minute)
	tr.Add(&h, reading(t1, peer))
	peer.TxBytes += 2 * 148
	tr.Add(&h, reading(t1.Add(10*time.Second), peer))
	p = h.Peers[0]
	fmt.Println(p.ID, "up", p.Up, "in", p.In.Bytes, "out", p.Out.Bytes)
	for _, r := range h.Risks {
		fmt.Println("risk:", r.Cause, r.Tunnel.PublicKey == peer.PublicKey)
	}
	// Output:
	// wg0 peer TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs= up true in 180 out 492
	// wg0 peer TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs= up false in 180 out 788
	// risk: tunnel-wg-handshake-failing true
}
