package explain_test

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
)

// ---- WireGuard peers (phase 2) ----
//
// A wireguard link of a phase 2 world has a peer configuration that holds
// for the whole interval, and its events follow wg_xmit and
// wg_packet_consume_data_done (drivers/net/wireguard) under it: a packet
// finds the peer whose allowed IPs hold its destination, fails on a peer
// without endpoint before it is segmented or staged, and only a peer's own
// packets can fail on receive. Or the configuration changed in between
// (churn): then any cause may have happened, and the readings show the
// change as the kernel does (a peer removed and added again restarts its
// counters, or a peer more or less).

// oWGPeer is one peer: allowed IPs per family (0 none, 1 a host, 2 all)
// and whether it has an endpoint.
type oWGPeer struct {
	a4, a6   uint8
	endpoint bool
}

type oWGCfg struct {
	peers []oWGPeer
	churn byte // 0 none; 'r' a peer re-added, '+' one added, '-' one removed
	// The device before a re-creation had its own peers.
	old []oWGPeer
	// Which readings have the peer lists.
	readB, readA bool
}

func genWireGuard(r oRand, w *oWorld) {
	for _, l := range w.links {
		if l.kind != explain.KindWireGuard {
			continue
		}
		cfg := &oWGCfg{readB: !chance(r, 10), readA: !chance(r, 5)}
		gen := func() []oWGPeer {
			n := r.intn(4)
			ps := make([]oWGPeer, n)
			for i := range ps {
				ps[i] = oWGPeer{a4: uint8(r.intn(3)), a6: uint8(r.intn(3)), endpoint: !chance(r, 30)}
			}
			return ps
		}
		cfg.peers = gen()
		if l.fate == fRecreated {
			cfg.old = gen()
		} else {
			cfg.old = cfg.peers
		}
		if chance(r, 20) {
			cfg.churn = "r+-"[r.intn(3)]
			if len(cfg.peers) == 0 && cfg.churn != '+' {
				cfg.churn = '+'
			}
		}
		l.wg = cfg
	}
}

// wgAllows says whether an event of cause c, of family fam ('4', '6', 0
// for either or not a TX packet), can happen on wireguard link l.
func (w *oWorld) wgAllows(l *oLink, fam byte, c explain.Cause) bool {
	cfg := l.wg
	if cfg == nil || cfg.churn != 0 {
		return true // any configuration may have held for a while
	}
	ps := cfg.peers
	holds := func(p oWGPeer) bool {
		switch fam {
		case '4':
			return p.a4 > 0
		case '6':
			return p.a6 > 0
		}
		return p.a4 > 0 || p.a6 > 0
	}
	all := func(f byte) bool {
		for _, p := range ps {
			if (f == '4' && p.a4 == 2) || (f == '6' && p.a6 == 2) {
				return true
			}
		}
		return false
	}
	some := func(ok func(oWGPeer) bool) bool {
		for _, p := range ps {
			if holds(p) && ok(p) {
				return true
			}
		}
		return false
	}
	switch c.ID {
	case "tx-wg-no-peer":
		switch fam {
		case '4', '6':
			return !all(fam)
		}
		return !all('4') || !all('6')
	case "tx-wg-no-endpoint":
		return some(func(p oWGPeer) bool { return !p.endpoint })
	case "tx-wg-gso-error", "tx-wg-staged-overflow":
		return some(func(p oWGPeer) bool { return p.endpoint })
	case "tx-wg-staged-purged": // a keepalive is staged for any peer
		return len(ps) > 0
	case "rx-wg-src-not-allowed":
		return len(ps) > 1 || (len(ps) == 1 && (ps[0].a4 != 2 || ps[0].a6 != 2))
	case "rx-wg-bad-protocol", "rx-wg-bad-length":
		return len(ps) > 0
	}
	return true // another protocol, the core's drops
}

// wgPeers renders a configuration as a peer list, link li's keys, with
// counters that grow by reading (after) and, under churn, change as the
// kernel shows a re-added, added or removed peer.
func wgPeers(li int, ps []oWGPeer, after bool, churn byte) []explain.WireGuardPeer {
	t := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	out := []explain.WireGuardPeer{}
	for i, p := range ps {
		if after && churn == '-' && i == 0 {
			continue
		}
		out = append(out, wgPeer(li, i, p, after, after && churn == 'r' && i == 0, t))
	}
	if after && churn == '+' {
		out = append(out, wgPeer(li, len(ps), oWGPeer{a4: 2, a6: 2}, true, true, t))
	}
	return out
}

func wgPeer(li, i int, p oWGPeer, after, fresh bool, t time.Time) explain.WireGuardPeer {
	var k [32]byte
	k[0], k[1], k[31] = byte(li), byte(i), 0x40
	wp := explain.WireGuardPeer{PublicKey: base64.StdEncoding.EncodeToString(k[:]),
		LastHandshake: t.Add(-time.Minute), RxBytes: 50_000 + uint64(i), TxBytes: 60_000 + uint64(i)}
	if p.endpoint {
		wp.Endpoint = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), 51820)
	}
	switch p.a4 {
	case 1:
		wp.AllowedIPs = append(wp.AllowedIPs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(li), byte(i + 2)}), 32))
	case 2:
		wp.AllowedIPs = append(wp.AllowedIPs, netip.MustParsePrefix("0.0.0.0/0"))
	}
	switch p.a6 {
	case 1:
		wp.AllowedIPs = append(wp.AllowedIPs, netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 9, byte(li), 15: byte(i + 2)}), 128))
	case 2:
		wp.AllowedIPs = append(wp.AllowedIPs, netip.MustParsePrefix("::/0"))
	}
	switch {
	case fresh: // removed and added again (or new): the kernel counts from zero
		wp.LastHandshake, wp.RxBytes, wp.TxBytes = time.Time{}, 0, 148
	case after:
		wp.LastHandshake = t.Add(5 * time.Second)
		wp.RxBytes += 1000
		wp.TxBytes += 2000
	}
	return wp
}

// wgReading is the reading's peer lists: one device per wireguard link
// present, with its ifindex as generic netlink gives it; nil when the
// world did not read them.
func (w *oWorld) wgReading(after bool) []explain.WireGuardDevice {
	var out []explain.WireGuardDevice
	read := false
	for li, l := range w.links {
		if l.wg == nil {
			continue
		}
		if (after && !l.wg.readA) || (!after && !l.wg.readB) {
			return nil // the lists are read for the namespace, or not at all
		}
		read = true
		switch {
		case after && l.nameA != "":
			out = append(out, explain.WireGuardDevice{Index: l.idxA, Name: l.nameA, Peers: wgPeers(li, l.wg.peers, true, l.wg.churn)})
		case !after && l.nameB != "":
			ps := l.wg.peers
			if l.fate == fRecreated {
				ps = l.wg.old
			}
			out = append(out, explain.WireGuardDevice{Index: l.idxB, Name: l.nameB, Peers: wgPeers(li+100*boolInt(l.fate == fRecreated), ps, false, 0)})
		}
	}
	if read && out == nil {
		out = []explain.WireGuardDevice{}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *oWorld) wgDump(l *oLink) string {
	if l.wg == nil {
		return ""
	}
	var parts []string
	for _, p := range l.wg.peers {
		parts = append(parts, fmt.Sprintf("{v4 %d v6 %d endpoint %v}", p.a4, p.a6, p.endpoint))
	}
	return fmt.Sprintf("    peers %s churn %q read before %v after %v\n", strings.Join(parts, " "), l.wg.churn, l.wg.readB, l.wg.readA)
}
