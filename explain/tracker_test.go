package explain

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	trLocal  = netip.MustParseAddr("192.0.2.1")
	trRemote = netip.MustParseAddr("198.51.100.2")
	trT0     = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
)

func noLimits() Lifetime {
	return Lifetime{SoftBytes: math.MaxUint64, HardBytes: math.MaxUint64, SoftPackets: math.MaxUint64, HardPackets: math.MaxUint64}
}

func vtiSA(spi uint32, out bool, added time.Time, bytes, packets uint64) SA {
	sa := SA{Src: trRemote, Dst: trLocal, SPI: spi, Proto: 50, Mode: ModeTunnel, Mark: &Mark{Value: 7, Mask: 0xffffffff},
		Lifetime: noLimits(), Usage: Usage{Bytes: bytes, Packets: packets, Added: added}, HasReplay: true}
	if out {
		sa.Src, sa.Dst = trLocal, trRemote
		sa.OSeq = packets
	} else {
		sa.Seq = packets
	}
	return sa
}

func vtiReading(at time.Time, sas ...SA) *Reading {
	return &Reading{
		Time: at,
		Links: []LinkReading{{Name: "vti0", Index: 5, Kind: KindVTI, Source: SourceStats64,
			Tunnel: &Tunnel{Local: trLocal, Remote: trRemote, IKey: 7, OKey: 7}}},
		Policies: []Policy{{Dir: DirOut, Mark: &Mark{Value: 7, Mask: 0xffffffff},
			Templates: []Template{{Src: trLocal, Dst: trRemote, Proto: 50, Mode: ModeTunnel}}}},
		SAs: sas,
	}
}

// A rekey: new SAs are added, the old ones carry a little more and are
// deleted (their final counters come with the delete event, after the
// last dump that had them). The totals never decrease and end at the sum
// of every SA's final counters.
func TestTrackerRekeyMonotonic(t *testing.T) {
	var tr Tracker
	t1, t2 := trT0.Add(-time.Hour), trT0.Add(5*time.Second)
	steps := []*Reading{
		vtiReading(trT0, vtiSA(0x100, true, t1, 1000, 10), vtiSA(0x200, false, t1, 2000, 20)),
		vtiReading(trT0.Add(10*time.Second), vtiSA(0x100, true, t1, 1500, 15), vtiSA(0x200, false, t1, 2500, 25),
			vtiSA(0x101, true, t2, 100, 1), vtiSA(0x201, false, t2, 200, 2)),
		vtiReading(trT0.Add(20*time.Second), vtiSA(0x101, true, t2, 300, 3), vtiSA(0x201, false, t2, 400, 4)),
	}
	steps[2].Events = []Event{
		{Type: EventSADeleted, SA: SARef{SPI: 0x100, Proto: 50, Src: trLocal, Dst: trRemote, Mark: &Mark{7, 0xffffffff}}, Usage: &Usage{Bytes: 1600, Packets: 16, Added: t1}},
		{Type: EventSADeleted, SA: SARef{SPI: 0x200, Proto: 50, Src: trRemote, Dst: trLocal, Mark: &Mark{7, 0xffffffff}}, Usage: &Usage{Bytes: 2600, Packets: 26, Added: t1}},
	}
	var prev TunnelStatus
	for i, r := range steps {
		h := add(&tr, r)
		if len(h.Tunnels) != 1 {
			t.Fatalf("step %d: %d tunnels, want 1: %+v", i, len(h.Tunnels), h.Tunnels)
		}
		ts := h.Tunnels[0]
		if ts.ID != (TunnelID{Interface: "vti0", Kind: KindVTI, Peer: trRemote}) || ts.State != TunnelUp {
			t.Errorf("step %d: %+v state %v", i, ts.ID, ts.State)
		}
		if ts.Out.Bytes < prev.Out.Bytes || ts.In.Bytes < prev.In.Bytes || ts.Out.Packets < prev.Out.Packets || ts.In.Packets < prev.In.Packets {
			t.Errorf("step %d: totals went down: %+v after %+v", i, ts, prev)
		}
		prev = ts
	}
	if prev.Out.Bytes != 1600+300 || prev.Out.Packets != 16+3 || prev.In.Bytes != 2600+400 || prev.In.Packets != 26+4 {
		t.Errorf("final totals out %+v in %+v, want 1900/19 and 3000/30", prev.Out, prev.In)
	}
}

// An SA past its soft time limit with no newer SA; an SA whose hard limit
// leaves no room; sequence numbers running out at the current rate.
func TestTrackerRisks(t *testing.T) {
	var tr Tracker
	added := trT0.Add(-10 * time.Second)
	out := vtiSA(0x100, true, added, 0, 0)
	out.Lifetime.SoftAdd, out.Lifetime.HardAdd = 3*time.Second, 60*time.Second
	in := vtiSA(0x200, false, added, 0, 0)
	in.Lifetime.SoftAdd, in.Lifetime.HardAdd = 50*time.Second, 55*time.Second
	h := add(&tr, vtiReading(trT0, out, in))
	got := map[CauseID]int{}
	for _, r := range h.Risks {
		got[r.Cause]++
		if r.Cause == "sa-soft-expired-no-rekey" && (r.SA == nil || r.SA.SPI != 0x100 || !r.At.Equal(added.Add(60*time.Second))) {
			t.Errorf("soft expiry risk %+v", r)
		}
		if len(r.Checks) == 0 || r.Title == "" || len(r.KernelRef) == 0 {
			t.Errorf("risk without catalogue fields: %+v", r)
		}
	}
	if got["sa-soft-expired-no-rekey"] != 1 || got["sa-lifetime-margin"] != 1 {
		t.Errorf("risks %v, want one soft-expired and one margin: %+v", got, h.Risks)
	}
	sh := h.Tunnels[0].SAs
	if len(sh) != 2 || sh[0].Dir != SADirIn || !sh[1].SoftExpiry.Equal(added.Add(3*time.Second)) || sh[1].SeqHeadroom != math.MaxUint32 {
		t.Errorf("SA health %+v", sh)
	}

	// A replacement installed: no more soft-expired risk.
	repl := vtiSA(0x101, true, trT0, 0, 0)
	h = add(&tr, vtiReading(trT0.Add(time.Second), out, in, repl))
	for _, r := range h.Risks {
		if r.Cause == "sa-soft-expired-no-rekey" {
			t.Errorf("risk despite the replacement: %+v", r)
		}
	}

	// 32-bit sequence numbers at 1e6 packets/s, 2e9 left, no lifetime: out in 2000 s.
	var tr2 Tracker
	s1 := vtiSA(0x300, true, added, 0, 0)
	s1.OSeq = math.MaxUint32 - 3e9
	add(&tr2, vtiReading(trT0, s1, vtiSA(0x301, false, added, 0, 0)))
	s1.OSeq += 1e9
	h = add(&tr2, vtiReading(trT0.Add(1000*time.Second), s1, vtiSA(0x301, false, added, 0, 0)))
	var seq *Risk
	for i := range h.Risks {
		if h.Risks[i].Cause == "sa-seq-exhaustion" {
			seq = &h.Risks[i]
		}
	}
	if seq == nil || !seq.At.Equal(trT0.Add(3000*time.Second)) {
		t.Errorf("sequence risk %+v in %+v", seq, h.Risks)
	}
}

// Packets out and none in, three readings in a row.
func TestTrackerOneWay(t *testing.T) {
	tr := Tracker{Config: HealthConfig{OneWayAfter: 2}}
	added := trT0.Add(-time.Hour)
	var risks []Risk
	for i := range 4 {
		h := add(&tr, vtiReading(trT0.Add(time.Duration(i)*time.Second),
			vtiSA(0x100, true, added, uint64(i)*100, uint64(i)*10), vtiSA(0x200, false, added, 50, 5)))
		risks = h.Risks
		if i == 1 && len(h.Risks) != 0 {
			t.Errorf("one-way after one reading: %+v", h.Risks)
		}
	}
	if len(risks) != 1 || risks[0].Cause != "tunnel-one-way" || risks[0].SA != nil {
		t.Errorf("risks %+v, want one tunnel-one-way", risks)
	}
}

// Policy-based tunnels: grouped by reqid and peer; a tunnel whose policy
// has no SA is no-sa; SAs without a policy are no-policy.
func TestTrackerPolicyBased(t *testing.T) {
	var tr Tracker
	peer2 := netip.MustParseAddr("203.0.113.9")
	r := &Reading{Time: trT0, Policies: []Policy{
		{Dir: DirOut, Templates: []Template{{Src: trLocal, Dst: trRemote, Proto: 50, Mode: ModeTunnel, ReqID: 5}}},
		{Dir: DirOut, Templates: []Template{{Src: trLocal, Dst: peer2, Proto: 50, Mode: ModeTunnel, ReqID: 6}}},
	}, SAs: []SA{
		{Src: trLocal, Dst: trRemote, SPI: 1, Proto: 50, ReqID: 5, Lifetime: noLimits(), Usage: Usage{Bytes: 10, Packets: 1}},
		{Src: trRemote, Dst: trLocal, SPI: 2, Proto: 50, ReqID: 5, Lifetime: noLimits(), Usage: Usage{Bytes: 20, Packets: 2}},
		{Src: trLocal, Dst: netip.MustParseAddr("192.0.2.77"), SPI: 3, Proto: 50, ReqID: 9, OSeq: 4, HasReplay: true, Lifetime: noLimits()},
		{Src: trLocal, Dst: trRemote, SPI: 0, Proto: 50, ReqID: 6, Larval: true},
	}}
	h := add(&tr, r)
	states := map[TunnelID]TunnelState{}
	for _, ts := range h.Tunnels {
		states[ts.ID] = ts.State
	}
	want := map[TunnelID]TunnelState{
		{Kind: KindPolicy, ReqID: 5, Peer: trRemote}:                          TunnelUp,
		{Kind: KindPolicy, ReqID: 6, Peer: peer2}:                             TunnelNoSA,
		{Kind: KindPolicy, ReqID: 9, Peer: netip.MustParseAddr("192.0.2.77")}: TunnelNoPolicy,
	}
	if len(states) != len(want) {
		t.Errorf("tunnels %v, want %v", states, want)
	}
	for id, s := range want {
		if states[id] != s {
			t.Errorf("%v: state %v, want %v (all: %v)", id, states[id], s, states)
		}
	}
	// Ordered by peer: 192.0.2.77, 198.51.100.2, 203.0.113.9.
	if ts := h.Tunnels[1]; ts.ID.ReqID != 5 || ts.In.Bytes != 20 || ts.Out.Bytes != 10 {
		t.Errorf("second tunnel %+v", ts)
	}
}

func add(tr *Tracker, r *Reading) Health {
	var h Health
	tr.Add(&h, r)
	return h
}

// A VTI renamed (same ifindex) is the same tunnel under its new name: its
// totals carry on and no tunnel is left under the old name.
func TestTrackerRename(t *testing.T) {
	var tr Tracker
	added := trT0.Add(-time.Hour)
	r := vtiReading(trT0, vtiSA(0x100, true, added, 1000, 10), vtiSA(0x200, false, added, 2000, 20))
	add(&tr, r)
	r2 := vtiReading(trT0.Add(10*time.Second), vtiSA(0x100, true, added, 1100, 11), vtiSA(0x200, false, added, 2100, 21))
	r2.Links[0].Name = "vti-blue"
	h := add(&tr, r2)
	if len(h.Tunnels) != 1 || h.Tunnels[0].ID.Interface != "vti-blue" || h.Tunnels[0].Out.Packets != 11 || h.Tunnels[0].In.Packets != 21 {
		t.Errorf("after the rename: %+v", h.Tunnels)
	}
}

// Random rekeys, deletes and traffic on one VTI, with each delete's final
// counters coming in the reading after the one that lost the SA, in the
// same one, or never: the tunnel's totals never decrease, and they end at
// least at what the SAs carried up to their last dump (exactly what they
// carried when every event arrived).
func TestTrackerMonotonicRandom(t *testing.T) {
	for seed := range int64(200) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		var tr Tracker
		type live struct {
			sa      SA
			bytes   uint64
			packets uint64
		}
		var sas []*live
		var final [3]uint64 // by SADir: packets of SAs gone, as the kernel counted them
		var lateEvents []Event
		spi := uint32(0x1000)
		now := trT0
		newSA := func(out bool) {
			spi++
			sas = append(sas, &live{sa: vtiSA(spi, out, now, 0, 0)})
		}
		newSA(true)
		newSA(false)
		allEvents := rng.IntN(2) == 0
		var prevIn, prevOut uint64
		for step := range 30 {
			now = now.Add(time.Second)
			var evs []Event
			evs, lateEvents = lateEvents, nil
			// Traffic on every SA, then maybe a rekey or a delete.
			for _, l := range sas {
				n := uint64(rng.IntN(5))
				l.packets += n
				l.bytes += 100 * n
			}
			switch rng.IntN(4) {
			case 0: // rekey one direction: a new SA, the old one deleted
				out := rng.IntN(2) == 0
				for i, l := range sas {
					if (l.sa.Dst == trRemote) != out {
						continue
					}
					l.packets += uint64(rng.IntN(3)) // carried after the dump
					ev := Event{Type: EventSADeleted, SA: l.sa.Ref(), Usage: &Usage{Bytes: l.bytes, Packets: l.packets, Added: l.sa.Usage.Added}}
					d := SADirIn
					if out {
						d = SADirOut
					}
					final[d] += l.packets
					switch {
					case !allEvents && rng.IntN(3) == 0:
						// Lost: what the SA carried after its last dump is
						// never known, so the totals may end below final.
					case rng.IntN(2) == 0:
						evs = append(evs, ev)
					default:
						lateEvents = append(lateEvents, ev)
					}
					sas = append(sas[:i], sas[i+1:]...)
					break
				}
				newSA(out)
			}
			var cur []SA
			for _, l := range sas {
				sa := l.sa
				sa.Usage.Bytes, sa.Usage.Packets = l.bytes, l.packets
				if sa.Dst == trRemote {
					sa.OSeq = l.packets
				}
				cur = append(cur, sa)
			}
			r := vtiReading(now, cur...)
			r.Events = evs
			h := add(&tr, r)
			if len(h.Tunnels) != 1 {
				t.Fatalf("seed %d step %d: %d tunnels", seed, step, len(h.Tunnels))
			}
			ts := h.Tunnels[0]
			if ts.In.Packets < prevIn || ts.Out.Packets < prevOut {
				t.Fatalf("seed %d step %d: totals went down: in %d→%d out %d→%d", seed, step, prevIn, ts.In.Packets, prevOut, ts.Out.Packets)
			}
			prevIn, prevOut = ts.In.Packets, ts.Out.Packets
		}
		// Every SA's traffic is counted, from dumps or events; the late
		// events arrive in one more reading.
		var cur []SA
		var liveSum [3]uint64
		for _, l := range sas {
			sa := l.sa
			sa.Usage.Bytes, sa.Usage.Packets = l.bytes, l.packets
			cur = append(cur, sa)
			if sa.Dst == trRemote {
				liveSum[SADirOut] += l.packets
			} else {
				liveSum[SADirIn] += l.packets
			}
		}
		r := vtiReading(now.Add(time.Second), cur...)
		r.Events = lateEvents
		ts := add(&tr, r).Tunnels[0]
		wantOut, wantIn := final[SADirOut]+liveSum[SADirOut], final[SADirIn]+liveSum[SADirIn]
		if ts.Out.Packets > wantOut || ts.In.Packets > wantIn {
			t.Errorf("seed %d: totals out %d in %d exceed what was carried (%d, %d): counted twice", seed, ts.Out.Packets, ts.In.Packets, wantOut, wantIn)
		}
		if allEvents && (ts.Out.Packets != wantOut || ts.In.Packets != wantIn) {
			t.Errorf("seed %d: with every event, totals out %d in %d, want %d and %d", seed, ts.Out.Packets, ts.In.Packets, wantOut, wantIn)
		}
	}
}

// A Tracker's tunnels depend on what it read, not when: the same reading
// again, later, gives the same tunnels (monitor.Update.Unchanged promises
// this to renderers), while the risks may change: here the one-way risk
// goes once nothing moves.
func TestTrackerSameReadingSameTunnels(t *testing.T) {
	var tr Tracker
	t1 := trT0.Add(-time.Minute)
	sas := func(out, in uint64) []SA {
		o := vtiSA(0x100, true, t1, out*100, out)
		o.Lifetime.HardAdd, o.Lifetime.SoftAdd = 2*time.Minute, time.Minute
		return []SA{o, vtiSA(0x200, false, t1, in*100, in)}
	}
	var last Health
	for i, n := range []uint64{10, 20, 30, 40, 50} { // out only: one way after 3
		last = add(&tr, vtiReading(trT0.Add(time.Duration(i)*time.Second), sas(n, 5)...))
	}
	if got := riskCauses(last.Risks); got != "sa-soft-expired-no-rekey tunnel-one-way" {
		t.Fatalf("risks %q, want the soft expiry and one way", got)
	}
	for i := range 3 {
		at := trT0.Add(time.Duration(10+i*30) * time.Second)
		h := add(&tr, vtiReading(at, sas(50, 5)...))
		if !reflect.DeepEqual(h.Tunnels, last.Tunnels) {
			t.Fatalf("the same reading at %v: tunnels\n%+v\nwant\n%+v", at, h.Tunnels, last.Tunnels)
		}
		if got := riskCauses(h.Risks); got != "sa-soft-expired-no-rekey" {
			t.Fatalf("the same reading at %v: risks %q, want the soft expiry only", at, got)
		}
	}
}

func riskCauses(rs []Risk) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r.Cause))
	}
	return strings.Join(s, " ")
}

// An Add told that its reading is the previous one read again (what
// explain/monitor says of an Unchanged interval) gives exactly what an Add
// not told so gives, interval after interval: random traffic, rekeys,
// deletes, one-way stretches, SAs past their soft limits as time passes,
// a larval SA and a duplicate, each reading followed by up to three
// repeats of it, later.
func TestTrackerSameReadingFastPath(t *testing.T) {
	causes := map[CauseID]int{}
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 11))
		var fast, slow Tracker
		var hf, hs Health // reused, as the monitor's callers may
		base, _ := healthReadings(4)
		now := t0
		sas := slices.Clone(base.SAs)
		for i := range sas {
			sa := &sas[i]
			sa.Lifetime.SoftAdd = time.Duration(30+rng.IntN(1800)) * time.Second
			sa.Lifetime.HardAdd = sa.Lifetime.SoftAdd + time.Duration(rng.IntN(60))*time.Second
			sa.Usage.Added = now
			if sa.OSeq > 0 && rng.IntN(2) == 0 {
				sa.OSeq = math.MaxUint32 - 2000 // runs out at a few packets a second
			}
			if rng.IntN(2) == 0 { // a byte margin that traffic makes tight
				sa.Lifetime.SoftBytes, sa.Lifetime.HardBytes = 1<<40, 1<<40+20000
			}
		}
		larval := SA{Src: trRemote, Dst: trLocal, Proto: 50, Larval: true}
		nextSPI := uint32(0x9000)
		oneWayLeft := 0
		// WireGuard peers beside the SAs: the real wg0 peer (a handshake a
		// minute ago) and two of wg1's (never one).
		peers := []WireGuardPeer{wg0Peer(now.Add(-time.Minute)), wg1Peers()[0], wg1Peers()[1]}
		for step := range 40 {
			now = now.Add(time.Duration(1+rng.IntN(20)) * time.Second)
			var evs []Event
			if oneWayLeft > 0 { // outbound traffic only, a few readings in a row
				oneWayLeft--
				for i := range sas {
					if sas[i].OSeq > 0 {
						sas[i].Usage.Packets += 3
						sas[i].Usage.Bytes += 300
						sas[i].OSeq += 3
					}
				}
				peers[0].TxBytes += 50_000
			}
			switch rng.IntN(5) {
			case 0: // a handshake, and data both ways
				p := &peers[rng.IntN(len(peers))]
				p.LastHandshake, p.RxBytes, p.TxBytes = now, p.RxBytes+92+uint64(rng.IntN(5000)), p.TxBytes+148+uint64(rng.IntN(5000))
			case 1: // initiations nobody answers
				peers[1+rng.IntN(2)].TxBytes += 148 * uint64(1+rng.IntN(3))
			case 2: // a peer removed and added again
				p := &peers[rng.IntN(len(peers))]
				p.LastHandshake, p.RxBytes, p.TxBytes = time.Time{}, 0, 0
			}
			switch rng.IntN(6) {
			case 3:
				oneWayLeft = 3 + rng.IntN(3)
			case 0: // traffic on some SAs, or on one direction only
				oneWay := rng.IntN(2) == 0
				for i := range sas {
					if oneWay && sas[i].OSeq == 0 {
						continue
					}
					if rng.IntN(2) == 0 {
						n := uint64(rng.IntN(50))
						sas[i].Usage.Packets += n
						sas[i].Usage.Bytes += 100 * n
						if sas[i].OSeq > 0 {
							sas[i].OSeq += n
						} else {
							sas[i].Seq += n
						}
					}
				}
			case 1: // a rekey: a copy of an SA under a new SPI, the old one deleted
				i := rng.IntN(len(sas))
				old := sas[i]
				nextSPI++
				sa := old
				sa.SPI, sa.Usage.Added, sa.Usage.Bytes, sa.Usage.Packets = nextSPI, now, 0, 0
				if rng.IntN(2) == 0 { // the old one lingers a while
					sas = append(sas, sa)
					break
				}
				sas = append(slices.Delete(sas, i, i+1), sa)
				evs = append(evs, Event{Type: EventSADeleted, SA: old.Ref(), Usage: &Usage{Bytes: old.Usage.Bytes, Packets: old.Usage.Packets, Added: old.Usage.Added}})
			case 2: // a soft expire event
				evs = append(evs, Event{Type: EventSoftExpire, SA: sas[rng.IntN(len(sas))].Ref()})
			}
			r := vtiReadingOf(base, now, append(slices.Clone(sas), larval, sas[0])...)
			r.Events = evs
			r.WireGuard = []WireGuardDevice{wgDev("wg0", 40, slices.Clone(peers)...)}
			fast.Add(&hf, r)
			slow.Add(&hs, r)
			compareHealth(t, seed, step, 0, &hf, &hs)
			for _, rk := range hs.Risks {
				causes[rk.Cause]++
			}
			for k := range rng.IntN(4) {
				now = now.Add(time.Duration(1+rng.IntN(40)) * time.Second)
				again := vtiReadingOf(base, now, r.SAs...)
				again.WireGuard = r.WireGuard
				again.sameFor = &fast
				fast.Add(&hf, again)
				again.sameFor = nil
				slow.Add(&hs, again)
				compareHealth(t, seed, step, k+1, &hf, &hs)
				for _, rk := range hs.Risks {
					causes[rk.Cause]++
				}
			}
		}
	}
	for _, c := range []CauseID{"sa-soft-expired-no-rekey", "sa-lifetime-margin", "sa-seq-exhaustion", "tunnel-one-way",
		"tunnel-wg-handshake-failing", "tunnel-wg-one-way"} {
		if causes[c] == 0 {
			t.Errorf("no %s risk in any reading: the test does not cover it", c)
		}
	}
	t.Logf("risks seen: %v", causes)
}

// vtiReadingOf is base's links and policies with these SAs, at now.
func vtiReadingOf(base *Reading, now time.Time, sas ...SA) *Reading {
	return &Reading{Time: now, Links: base.Links, Policies: base.Policies, SAs: sas}
}

func compareHealth(t *testing.T, seed uint64, step, repeat int, fast, slow *Health) {
	t.Helper()
	if !reflect.DeepEqual(fast.Tunnels, slow.Tunnels) || !reflect.DeepEqual(fast.Peers, slow.Peers) ||
		!reflect.DeepEqual(fast.Risks, slow.Risks) || !fast.Time.Equal(slow.Time) {
		t.Fatalf("seed %d step %d repeat %d: told the reading is the same, Add gave\n%+v\n%+v\n%+v\nwithout being told\n%+v\n%+v\n%+v",
			seed, step, repeat, fast.Tunnels, fast.Peers, fast.Risks, slow.Tunnels, slow.Peers, slow.Risks)
	}
	if len(fast.Tunnels) == 0 {
		t.Fatalf("seed %d step %d: no tunnel", seed, step)
	}
	// A peer is up while its last handshake is under 180 s old, at this
	// reading's time: a reading read again later may find it down.
	for _, p := range fast.Peers {
		if up := !p.LastHandshake.IsZero() && fast.Time.Sub(p.LastHandshake) < 180*time.Second; p.Up != up {
			t.Fatalf("seed %d step %d repeat %d: %s up %v at %s, handshake %s", seed, step, repeat, p.ID, p.Up, fast.Time, p.LastHandshake)
		}
	}
}

// A reading marked as the same again for one Tracker is read in full by
// another: a copy of the monitor's reading, changed and given to a Tracker
// of the caller's own, is never taken for the previous one.
func TestTrackerSameIsPerTracker(t *testing.T) {
	var mine, other Tracker
	r1 := vtiReading(trT0, vtiSA(0x100, true, trT0, 100, 1), vtiSA(0x200, false, trT0, 100, 1))
	add(&mine, r1)
	add(&other, r1)
	r2 := vtiReading(trT0.Add(time.Second), vtiSA(0x100, true, trT0, 500, 5), vtiSA(0x200, false, trT0, 900, 9))
	r2.sameFor = &mine // as if marked for mine, then given to other
	if h := add(&other, r2); h.Tunnels[0].Out.Packets != 5 || h.Tunnels[0].In.Packets != 9 {
		t.Fatalf("another Tracker took the mark: %+v", h.Tunnels[0])
	}
}
