package explain

import (
	"fmt"
	"time"
)

// WireGuard peers in the Tracker. A peer is followed by its device's name
// and its public key: its endpoint changes when it roams, and a device
// deleted and created again (wg-quick down, up) keeps its name, not its
// ifindex. The kernel's byte counters of a peer start again from zero when
// the peer is removed and added again or its device is re-created; the
// Tracker sees that as counters that went back, a handshake time that went
// back, a new ifindex, or a reading of the device without the peer, and
// keeps the totals growing across it, as it keeps a tunnel's across
// rekeys. A peer not seen for an hour is forgotten.
//
// Peers are read in full at every Add, the same reading again included:
// whether a peer is up depends on the time, and a peer's byte counters
// move with handshakes and keepalives that no link counter shows.

// Protocol constants (drivers/net/wireguard/messages.h, the same in 5.10,
// 6.1, 6.12 and 7.3) and message sizes (messages.h: struct
// message_handshake_initiation 148 bytes, message_data_len(0) 32).
const (
	wgRekeyTimeout     = 5 * time.Second
	wgKeepaliveTimeout = 10 * time.Second
	wgInitiationBytes  = 148
	wgKeepaliveBytes   = 32
	// The shortest persistent keepalive interval wg(8) can set.
	wgMinKeepalive = time.Second
	// A peer not seen for this long is forgotten.
	wgForgetAfter = time.Hour
)

type peerKey struct{ dev, key string }

// peerTrack is what the Tracker remembers of one peer between readings.
type peerTrack struct {
	index    int32     // its device's ifindex when last seen
	rx, tx   uint64    // the kernel's counters then
	hs       time.Time // its last handshake then
	at       time.Time // when it was last seen
	missed   bool      // a reading of its device did not list it since
	in, out  Traffic   // the totals, monotonic
	oneWay   [2]int    // readings with data out (0), in (1), nothing back since the first
	oneSince [2]time.Time
	oneLast  [2]time.Time // the end of the run's last reading with data
	// The readings in a row in which the peer had no session, completed
	// no handshake and received nothing: since when, and the bytes sent
	// to it in them (zero time: the last interval was not one of them).
	failSince time.Time
	failOut   uint64
}

// addPeers sets dst.Peers and the peers' risks from r.WireGuard.
func (t *Tracker) addPeers(dst *Health, r *Reading) {
	if r.WireGuard == nil {
		return
	}
	if t.peers == nil {
		t.peers, t.wgNames = map[peerKey]*peerTrack{}, map[int32]string{}
	}
	oneWayAfter := t.Config.OneWayAfter
	if oneWayAfter <= 0 {
		oneWayAfter = DefaultOneWayAfter
	}
	for i := range r.WireGuard {
		d := &r.WireGuard[i]
		t.followRename(d, r)
		for pi := range d.Peers {
			p := &d.Peers[pi]
			k := peerKey{d.Name, p.PublicKey}
			tr := t.peers[k]
			var dIn, dOut uint64
			fresh := tr == nil
			if fresh {
				tr = &peerTrack{}
				t.peers[k] = tr
				dIn, dOut = p.RxBytes, p.TxBytes
			} else if (d.Index != 0 && tr.index != 0 && d.Index != tr.index) || tr.missed ||
				p.RxBytes < tr.rx || p.TxBytes < tr.tx || p.LastHandshake.Before(tr.hs) {
				// Removed and added again, or its device re-created: the
				// kernel counts again from zero.
				dIn, dOut = p.RxBytes, p.TxBytes
				fresh = true
			} else {
				dIn, dOut = p.RxBytes-tr.rx, p.TxBytes-tr.tx
			}
			tr.in.Bytes, tr.out.Bytes = satAdd(tr.in.Bytes, dIn), satAdd(tr.out.Bytes, dOut)
			if dIn > 0 && !tr.at.IsZero() {
				tr.in.Last = r.Time
			}
			if dOut > 0 && !tr.at.IsZero() {
				tr.out.Last = r.Time
			}
			id := TunnelID{Interface: d.Name, Kind: KindWireGuard, PublicKey: p.PublicKey}
			if !fresh && !tr.at.IsZero() {
				dst.Risks = t.peerRisks(dst.Risks, id, p, tr, dIn, dOut, r.Time, oneWayAfter)
			} else {
				tr.oneWay = [2]int{}
				tr.failSince, tr.failOut = time.Time{}, 0
			}
			tr.index, tr.rx, tr.tx, tr.hs, tr.at, tr.missed = d.Index, p.RxBytes, p.TxBytes, p.LastHandshake, r.Time, false
			dst.Peers = append(dst.Peers, PeerStatus{ID: id, Endpoint: p.Endpoint, Up: wgUp(p, r.Time),
				LastHandshake: p.LastHandshake, In: tr.in, Out: tr.out})
		}
	}
	// A peer of a device read without it was removed. A device missing
	// from the reading may only not have been read: its peers stay as
	// they were (if it was deleted, its re-creation has a new ifindex).
	// A peer not seen for an hour is forgotten.
	for k, tr := range t.peers {
		if tr.at.Equal(r.Time) {
			continue
		}
		if hasDevice(r, k.dev) {
			tr.missed = true
		}
		if r.Time.Sub(tr.at) > wgForgetAfter {
			delete(t.peers, k)
		}
	}
	clear(t.wgNames)
	for i := range r.WireGuard {
		if d := &r.WireGuard[i]; d.Index != 0 {
			t.wgNames[d.Index] = d.Name
		}
	}
}

// followRename moves the peers of a device that was renamed since the
// previous reading (same ifindex, another name, the old name gone) to its
// new name.
func (t *Tracker) followRename(d *WireGuardDevice, r *Reading) {
	old, ok := t.wgNames[d.Index]
	if !ok || d.Index == 0 || old == d.Name || hasDevice(r, old) {
		return
	}
	for k, tr := range t.peers {
		if k.dev == old && tr.index == d.Index {
			delete(t.peers, k)
			t.peers[peerKey{d.Name, k.key}] = tr
		}
	}
}

// satAdd is a+b, or the largest uint64 where that overflows: a total
// never goes down.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// hasDevice reports whether r's peer lists have a device named name.
func hasDevice(r *Reading, name string) bool {
	for i := range r.WireGuard {
		if r.WireGuard[i].Name == name {
			return true
		}
	}
	return false
}

// peerRisks adds the risks of one peer, seen before, whose counters moved
// by dIn and dOut since.
func (t *Tracker) peerRisks(out []Risk, id TunnelID, p *WireGuardPeer, tr *peerTrack, dIn, dOut uint64, now time.Time, oneWayAfter int) []Risk {
	prev := tr.at
	dt := now.Sub(prev)
	// Handshake failing: no session over one or more intervals in a row
	// (no handshake in them, the last one already too old at the reading
	// they start from), nothing received, and at least two initiations'
	// worth of bytes sent in them. An initiation goes out at most once
	// per REKEY_TIMEOUT unless one completes, so the first went
	// unanswered for 5 s at least. Readings closer than REKEY_TIMEOUT
	// each see one initiation at most: the bytes of the run add up.
	noSession := p.LastHandshake.IsZero() || prev.Sub(p.LastHandshake) >= wgRejectAfter
	if !p.LastHandshake.After(tr.hs) && noSession && dIn == 0 {
		if tr.failSince.IsZero() {
			tr.failSince, tr.failOut = prev, 0
		}
		tr.failOut = satAdd(tr.failOut, dOut)
	} else {
		tr.failSince, tr.failOut = time.Time{}, 0
	}
	if !tr.failSince.IsZero() && tr.failOut >= 2*wgInitiationBytes {
		since := fmt.Sprintf("since the previous reading (%s before)", dt.Round(time.Second))
		if !tr.failSince.Equal(prev) {
			since = fmt.Sprintf("since %s (%s before)", tr.failSince.UTC().Format(time.RFC3339), now.Sub(tr.failSince).Round(time.Second))
		}
		why := fmt.Sprintf("%s sent %d bytes to %s %s and received nothing; %s",
			showName(id.Interface), tr.failOut, peerRef(p), since, handshakeAgo(p, now))
		out = append(out, newPeerRisk("tunnel-wg-handshake-failing", id, why))
	}
	// One way: data in one direction, not a byte in the other. The
	// allowance is what handshakes and keepalives can send in dt. A byte
	// the other way ends the run. A reading with neither (nothing beyond
	// the allowance one way, nothing the other) ends it only when the run
	// has had no data for over KEEPALIVE_TIMEOUT: at a poll every second a
	// data packet a second lands in some intervals twice and in others
	// not at all, and a short silence both ways says nothing against
	// one-way traffic; but after a longer one, new data is owed its own
	// answer, and an answer lost before the silence (one packet) must not
	// count against it.
	allow := uint64(wgInitiationBytes*(dt/wgRekeyTimeout+1) + wgKeepaliveBytes*(dt/wgMinKeepalive+1))
	for dir, moved := range [2][2]uint64{{dOut, dIn}, {dIn, dOut}} {
		switch {
		case dt <= 0 || moved[1] > 0:
			tr.oneWay[dir] = 0
		case moved[0] > allow:
			if tr.oneWay[dir] == 0 {
				tr.oneSince[dir] = prev
			}
			tr.oneWay[dir]++
			tr.oneLast[dir] = now
		case now.Sub(tr.oneLast[dir]) > wgKeepaliveTimeout:
			tr.oneWay[dir] = 0
		}
		// A peer that receives data answers it within KEEPALIVE_TIMEOUT
		// at the latest (a keepalive, if nothing else): the streak must
		// be longer than twice that.
		if tr.oneWay[dir] >= oneWayAfter && now.Sub(tr.oneSince[dir]) > 2*wgKeepaliveTimeout {
			what, back := "sent data to", "received nothing from it"
			if dir == 1 {
				what, back = "received data from", "sent nothing to it"
			}
			why := fmt.Sprintf("%s %s %s in %d readings since %s and %s.",
				showName(id.Interface), what, peerRef(p), tr.oneWay[dir], tr.oneSince[dir].UTC().Format(time.RFC3339), back)
			out = append(out, newPeerRisk("tunnel-wg-one-way", id, why))
		}
	}
	return out
}

// handshakeAgo says when the peer's last handshake completed.
func handshakeAgo(p *WireGuardPeer, now time.Time) string {
	if p.LastHandshake.IsZero() {
		return "it has never completed a handshake."
	}
	return "its last handshake completed " + ageWords(now.Sub(p.LastHandshake)) + " ago."
}

// newPeerRisk fills a peer's risk from its catalogue entry.
func newPeerRisk(cause CauseID, id TunnelID, why string) Risk {
	r := newRisk(cause, id, nil, SADirOut, time.Time{}, why)
	v := checkValues{dev: id.Interface, peer: id.PublicKey}
	for i, ch := range causeByID(cause).Checks {
		r.Checks[i] = v.fill(ch)
	}
	return r
}
