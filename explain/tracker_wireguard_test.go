package explain

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// wgReading is a reading of wireguard devices only, at t.
func wgReading(t time.Time, devs ...WireGuardDevice) *Reading {
	if devs == nil {
		devs = []WireGuardDevice{}
	}
	return &Reading{Time: t, WireGuard: devs}
}

func wgDev(name string, idx int32, peers ...WireGuardPeer) WireGuardDevice {
	return WireGuardDevice{Index: idx, Name: name, Peers: peers}
}

// traffic returns p with its counters at rx, tx.
func traffic(p WireGuardPeer, rx, tx uint64) WireGuardPeer {
	p.RxBytes, p.TxBytes = rx, tx
	return p
}

func risksOf(h Health, cause CauseID) []Risk {
	var out []Risk
	for _, r := range h.Risks {
		if r.Cause == cause {
			out = append(out, r)
		}
	}
	return out
}

func TestTrackerPeers(t *testing.T) {
	var tr Tracker
	p1 := wg0Peer(trT0.Add(-40 * time.Second)) // the real wg0 peer, handshake 40 s before
	peers := wg1Peers()                        // two of wg1's peers, never a handshake
	h := add(&tr, wgReading(trT0, wgDev("wg0", 3, p1), wgDev("wg1", 4, peers...)))
	if len(h.Peers) != 3 {
		t.Fatalf("peers %+v", h.Peers)
	}
	want := []struct {
		dev, key string
		up       bool
	}{{"wg0", wgKey0, true}, {"wg1", wgKeyA, false}, {"wg1", wgKeyB, false}}
	for i, w := range want {
		ps := h.Peers[i]
		if ps.ID != (TunnelID{Interface: w.dev, Kind: KindWireGuard, PublicKey: w.key}) || ps.Up != w.up {
			t.Errorf("peer %d: %+v, want %s %s up %v", i, ps, w.dev, w.key, w.up)
		}
	}
	if h.Peers[0].Endpoint != p1.Endpoint || h.Peers[0].In.Bytes != 180 || h.Peers[0].Out.Bytes != 492 || !h.Peers[0].In.Last.IsZero() {
		t.Errorf("wg0's peer: %+v", h.Peers[0])
	}
	if got := h.Peers[0].ID.String(); got != "wg0 peer "+wgKey0 {
		t.Errorf("ID %q", got)
	}

	// 150 s later: the handshake is 190 s old, no longer up. Only the
	// bytes sent grew.
	t1 := trT0.Add(150 * time.Second)
	h = add(&tr, wgReading(t1, wgDev("wg0", 3, traffic(p1, 180, 600)), wgDev("wg1", 4, peers...)))
	if ps := h.Peers[0]; ps.Up || ps.Out.Bytes != 600 || ps.In.Bytes != 180 || !ps.Out.Last.Equal(t1) || !ps.In.Last.IsZero() {
		t.Errorf("after 150 s: %+v", ps)
	}

	// The peer removed and added again: its counters start from zero,
	// the totals go on.
	t2 := t1.Add(10 * time.Second)
	readded := traffic(wg0Peer(time.Time{}), 0, 148)
	h = add(&tr, wgReading(t2, wgDev("wg0", 3, readded), wgDev("wg1", 4, peers...)))
	if ps := h.Peers[0]; ps.Out.Bytes != 748 || ps.In.Bytes != 180 || ps.Up || !ps.LastHandshake.IsZero() {
		t.Errorf("re-added: %+v", ps)
	}

	// A reading that did not read the peers gives none, and changes
	// nothing.
	h = add(&tr, &Reading{Time: t2.Add(time.Second)})
	if h.Peers != nil {
		t.Errorf("peers of a reading without them: %+v", h.Peers)
	}

	// The device re-created (a new ifindex) with counters beyond the old
	// ones: still counted from zero.
	t3 := t2.Add(20 * time.Second)
	hs := t3.Add(-time.Second)
	h = add(&tr, wgReading(t3, wgDev("wg0", 9, traffic(wg0Peer(hs), 1000, 2000)), wgDev("wg1", 4, peers...)))
	if ps := h.Peers[0]; ps.Out.Bytes != 2748 || ps.In.Bytes != 1180 || !ps.Up || !ps.In.Last.Equal(t3) {
		t.Errorf("re-created: %+v", ps)
	}

	// A reading of wg0 without the peer (removed), then the peer back
	// with counters beyond the last ones: counted from zero as well.
	t4 := t3.Add(10 * time.Second)
	add(&tr, wgReading(t4, wgDev("wg0", 9), wgDev("wg1", 4, peers...)))
	h = add(&tr, wgReading(t4.Add(10*time.Second), wgDev("wg0", 9, traffic(wg0Peer(hs.Add(15*time.Second)), 1500, 2500)), wgDev("wg1", 4, peers...)))
	if ps := h.Peers[0]; ps.Out.Bytes != 5248 || ps.In.Bytes != 2680 {
		t.Errorf("back after a removal: %+v", ps)
	}

	// A reading whose peer lists lack wg0 (not read this time): its
	// peer is neither removed nor counted again.
	t5 := t4.Add(15 * time.Second)
	add(&tr, wgReading(t5, wgDev("wg1", 4, peers...)))
	h = add(&tr, wgReading(t5.Add(time.Second), wgDev("wg0", 9, traffic(wg0Peer(hs.Add(15*time.Second)), 1500, 2500)), wgDev("wg1", 4, peers...)))
	if ps := h.Peers[0]; ps.Out.Bytes != 5248 || ps.In.Bytes != 2680 {
		t.Errorf("after a reading without its device: %+v", ps)
	}

	// Renamed (same ifindex): the same peer.
	h = add(&tr, wgReading(t4.Add(20*time.Second), wgDev("wg-office", 9, traffic(wg0Peer(hs.Add(15*time.Second)), 1600, 2600)), wgDev("wg1", 4, peers...)))
	if ps := h.Peers[0]; ps.ID.Interface != "wg-office" || ps.Out.Bytes != 5348 || ps.In.Bytes != 2780 {
		t.Errorf("renamed: %+v", ps)
	}
	if len(h.Risks) != 0 {
		t.Errorf("risks: %+v", h.Risks)
	}
}

// A peer that never answers: every 5 s an initiation (148 bytes) goes out,
// nothing comes back.
func TestTrackerPeerHandshakeFailing(t *testing.T) {
	for _, c := range []struct {
		name   string
		hs     time.Duration // before the first reading; 0: never
		sent   uint64        // per 10 s reading
		recv   uint64
		expect bool
	}{
		{"never, two initiations", 0, 2 * 148, 0, true},
		{"stale, retries", 10 * time.Minute, 3 * 148, 0, true},
		{"one initiation may still be answered", 0, 148, 0, false},
		{"answered", 0, 2 * 148, 92, false},
		{"session still valid at the earlier reading", 170 * time.Second, 2 * 148, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr Tracker
			p := wg1Peers()[1] // an IPv6 endpoint
			if c.hs != 0 {
				p.LastHandshake = trT0.Add(-c.hs)
			}
			add(&tr, wgReading(trT0, wgDev("wg1", 4, p)))
			h := add(&tr, wgReading(trT0.Add(10*time.Second), wgDev("wg1", 4, traffic(p, c.recv, c.sent))))
			rs := risksOf(h, "tunnel-wg-handshake-failing")
			if (len(rs) == 1) != c.expect || len(h.Risks) != len(rs) {
				t.Fatalf("risks %+v, want handshake-failing %v", h.Risks, c.expect)
			}
			if !c.expect {
				return
			}
			r := rs[0]
			if r.Tunnel.PublicKey != wgKeyB || r.SA != nil || !strings.Contains(r.Explanation, "peer "+wgKeyB+" ([2001:db8::1]:40001)") {
				t.Errorf("risk %+v", r)
			}
			named := false
			for _, ch := range r.Checks {
				if strings.Contains(ch.Command, "<") || strings.Contains(ch.Why, "<peer>") {
					t.Errorf("placeholder left: %+v", ch)
				}
				named = named || strings.Contains(ch.Why, wgKeyB)
			}
			if !named {
				t.Errorf("no check names the peer: %+v", r.Checks)
			}
		})
	}
}

func TestTrackerPeerOneWay(t *testing.T) {
	for _, c := range []struct {
		name     string
		step     time.Duration
		out, in  uint64 // per reading
		readings int
		want     int // readings with the risk
		// moved, when set, is what moves in interval i (1, 2, …)
		// instead of out and in.
		moved func(i int) (out, in uint64)
	}{
		{"data out, nothing back", 10 * time.Second, 50_000, 0, 5, 2, nil}, // the 3rd and 4th intervals
		{"data in, nothing out", 10 * time.Second, 0, 50_000, 5, 2, nil},   // our keepalives do not leave
		{"keepalives back", 10 * time.Second, 50_000, 32, 5, 0, nil},       // the peer answers
		{"only keepalives out", 10 * time.Second, 3 * 32, 0, 5, 0, nil},    // persistent keepalive, idle
		{"too short to tell", 2 * time.Second, 50_000, 0, 8, 0, nil},       // under 20 s: a keepalive may be due
		{"long enough at last", 4 * time.Second, 50_000, 0, 9, 3, nil},     // at 24, 28 and 32 s
		// A poll every second and a data packet a second: some
		// intervals see none. Silence both ways does not end the run.
		{"idle intervals in between", time.Second, 0, 0, 31, 10, func(i int) (uint64, uint64) { // at 21 … 30 s
			if i%3 == 0 {
				return 0, 0
			}
			return 1056, 0
		}},
		{"a long silence ends it", time.Second, 0, 0, 41, 0, func(i int) (uint64, uint64) { // a new run from 20 s
			if i > 5 && i <= 20 {
				return 0, 0 // 15 s without data: an answer lost before it would count
			}
			return 1056, 0
		}},
		{"a byte back ends it", time.Second, 0, 0, 31, 0, func(i int) (uint64, uint64) { // a new run from 15 s
			if i == 15 {
				return 1056, 32
			}
			return 1056, 0
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr Tracker
			p := wg0Peer(trT0.Add(-time.Second))
			var rx, tx uint64 = 180, 492
			got := 0
			for i := range c.readings {
				now := trT0.Add(time.Duration(i) * c.step)
				if i > 0 {
					out, in := c.out, c.in
					if c.moved != nil {
						out, in = c.moved(i)
					}
					rx, tx = rx+in, tx+out
				}
				h := add(&tr, wgReading(now, wgDev("wg0", 3, traffic(p, rx, tx))))
				if rs := risksOf(h, "tunnel-wg-one-way"); len(rs) > 0 {
					got++
					if !strings.Contains(rs[0].Explanation, wgKey0) {
						t.Errorf("risk does not name the peer: %s", rs[0].Explanation)
					}
				}
			}
			if got != c.want {
				t.Errorf("one-way in %d readings, want %d", got, c.want)
			}
		})
	}
}

// Once its Health has grown, a Tracker that follows peers allocates
// nothing for a reading in which nothing alarming happens.
func TestTrackerPeersNoAlloc(t *testing.T) {
	var tr Tracker
	var h Health
	peers := wg1Peers()
	now := trT0
	r := wgReading(now, wgDev("wg0", 3, wg0Peer(now)), wgDev("wg1", 4, peers...))
	tr.Add(&h, r)
	if n := testing.AllocsPerRun(50, func() {
		now = now.Add(10 * time.Second)
		r.Time = now
		r.WireGuard[0].Peers[0].TxBytes += 100
		r.WireGuard[0].Peers[0].RxBytes += 100
		tr.Add(&h, r)
	}); n != 0 {
		t.Errorf("%v allocations per Add", n)
	}
}

// Odd input: zero and future times, readings out of order, a key listed
// twice, empty names, counters at their limits. Nothing panics, and a
// peer's totals never go down.
func TestTrackerPeersOddInput(t *testing.T) {
	var tr Tracker
	var last [2]uint64
	p := wg0Peer(trT0.Add(time.Hour)) // a handshake in the future
	for i, c := range []struct {
		at     time.Time
		rx, tx uint64
	}{
		{time.Time{}, 0, 0}, {trT0, ^uint64(0), ^uint64(0)}, {trT0.Add(-time.Minute), 5, 5}, {trT0.Add(time.Second), ^uint64(0), 1},
		{trT0.Add(time.Hour * 3), 1, ^uint64(0)},
	} {
		q := traffic(p, c.rx, c.tx)
		h := add(&tr, wgReading(c.at, wgDev("", 0, q, q), wgDev("wg0", 3, q)))
		if len(h.Peers) != 3 {
			t.Fatalf("reading %d: %+v", i, h.Peers)
		}
		ps := h.Peers[2]
		if ps.In.Bytes < last[0] || ps.Out.Bytes < last[1] {
			t.Errorf("reading %d: totals went down: %+v after %v", i, ps, last)
		}
		last = [2]uint64{ps.In.Bytes, ps.Out.Bytes}
	}
}

// Readings closer than REKEY_TIMEOUT see one initiation each at most: the
// bytes sent over readings in a row without a session or an answer add up
// (wrong-key in the VM captures: samples 0.5 s apart), and an answer
// starts the count again.
func TestTrackerPeerHandshakeFailingShortIntervals(t *testing.T) {
	for _, c := range []struct {
		name    string
		answers []int // the seconds at which 92 bytes come back
		want    int   // the first second with the risk; 0: none
	}{
		{"never answered", nil, 5},
		{"answered after the first", []int{3}, 10},
		{"answered after each", []int{3, 7}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr Tracker
			p := wg1Peers()[1] // never a handshake
			add(&tr, wgReading(trT0, wgDev("wg1", 4, p)))
			first := 0
			var sent, recv uint64
			for s := 1; s <= 10; s++ {
				if s%5 == 0 || s == 1 { // initiations at 1, 5, 10 s
					sent += 148
				}
				if slices.Contains(c.answers, s) {
					recv += 92
				}
				h := add(&tr, wgReading(trT0.Add(time.Duration(s)*time.Second), wgDev("wg1", 4, traffic(p, recv, sent))))
				rs := risksOf(h, "tunnel-wg-handshake-failing")
				if len(rs) != len(h.Risks) {
					t.Fatalf("%d s: risks %+v", s, h.Risks)
				}
				if len(rs) > 0 && first == 0 {
					first = s
					if want := fmt.Sprintf("sent 296 bytes to peer %s ([2001:db8::1]:40001) since ", wgKeyB); !strings.Contains(rs[0].Explanation, want) {
						t.Errorf("%s: want %q", rs[0].Explanation, want)
					}
				}
			}
			if first != c.want {
				t.Errorf("risk first at %d s, want %d", first, c.want)
			}
		})
	}
}
