package explain

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/internal/hint"
)

// seqHorizon is how far ahead a sequence number's end is looked for when
// the SA has no lifetime that would rekey it first.
const seqHorizon = 24 * time.Hour

// saKey identifies an SA as the kernel does (destination, SPI, protocol,
// and the mark and if_id that let two SAs share them).
type saKey struct {
	dst              netip.Addr
	spi              uint32
	proto            uint8
	mark, mask, ifid uint32
}

func keyOf(r *SARef) saKey {
	k := saKey{dst: r.Dst, spi: r.SPI, proto: r.Proto, ifid: r.IfID}
	if r.Mark != nil {
		k.mark, k.mask = r.Mark.Value, r.Mark.Mask
	}
	return k
}

func saKeyOf(sa *SA) saKey {
	k := saKey{dst: sa.Dst, spi: sa.SPI, proto: sa.Proto, ifid: sa.IfID}
	if sa.Mark != nil {
		k.mark, k.mask = sa.Mark.Value, sa.Mark.Mask
	}
	return k
}

// saTrack is what the Tracker remembers of one SA between readings. An
// SA stays in the tunnel and direction it was first seen in, so that no
// tunnel's totals ever lose what it counted.
type saTrack struct {
	key   saKey
	tt    *tunnelTrack
	dir   SADir
	added time.Time
	// The most the SA was seen to carry: from the dumps and from the
	// final counters of its delete or expire event.
	bytes, packets uint64
	last           time.Time
	// Outbound sequence number at the previous reading, and its rate.
	oseq    uint64
	oseqAt  time.Time
	seqRate float64 // per second; 0 unknown
	// bytes and packets at the previous reading, and their rates.
	prevBytes, prevPackets uint64
	byteRate, packetRate   float64
	softExpired            bool
	observed               bool
	seen                   uint64 // the last reading (Tracker.gen) that had it
}

// member is an SA of the reading, its position in Reading.SAs, and its
// track.
type member struct {
	sa  *SA
	tr  *saTrack
	pos int32
}

// sameState is what the last Add that read SAs gave and went through, for
// an Add of the same reading again (addSame): the tunnels it gave, in
// storage of the Tracker's own, and every tunnel of t.order (output or
// not) with its SAs by dump position, in the order its risks were
// computed.
type sameState struct {
	ok      bool // the last Add recorded it
	settled bool // an addSame since: every SA's rates are zero, nothing moved
	nSAs    int  // len(Reading.SAs)
	tunnels []TunnelStatus
	sas     []SAHealth
	marks   []Mark
	groups  []sameGroup
	members []sameMember
}

type sameGroup struct {
	tt       *tunnelTrack
	out      bool // in the Health (not an xfrm interface listed per peer)
	from, to int  // its members
}

type sameMember struct {
	pos   int32
	tr    *saTrack
	newer bool // the tunnel has a newer SA of its direction
}

func init() { hint.Same = func(r, t any) { r.(*Reading).sameFor = t.(*Tracker) } }

// retiredSA is an SA that left the dump: its counters are in its tunnel's
// retired totals, and an event about it that comes later adds only what it
// carried beyond them.
type retiredSA struct {
	tt             *tunnelTrack
	dir            SADir
	bytes, packets uint64
	at             time.Time
}

// tunnelTrack is what the Tracker remembers of one tunnel.
type tunnelTrack struct {
	id          TunnelID
	local       netip.Addr
	hasOut      bool       // it has an outbound policy (as of the last index)
	retired     [3]Traffic // by SADir: the final counters of its SAs that are gone
	prevPackets [3]uint64
	oneWay      [3]int // readings in a row in which only this direction moved
	started     bool
	members     []member // the SAs of the reading being added
	gen         uint64   // the last reading it was part of
	rank        int      // its place among interfaces (link order), -1 policy-based
}

// Add takes the namespace's next reading and sets *dst to its tunnels'
// health, reusing dst's storage: pass the same Health every interval to
// allocate nothing once it has grown, or a new one to keep each. Readings
// must come in time order, each with the events received since the
// previous one (Reading.Events). A reading whose SAs were not read (nil)
// gives no tunnels and changes nothing but the SAs' final counters from
// its events.
//
// Add keeps what it derives from the links and policies (which SA and
// policy belongs to which tunnel) until they change, and finds each SA
// where the previous reading had it, so that an interval in which only
// counters moved costs little more than a pass over the SAs.
//
// A reading with WireGuard peers (Reading.WireGuard) gives one PeerStatus
// per peer, in the reading's order, and the peers' risks after the
// tunnels'; one without (nil) gives no peers and leaves what the Tracker
// remembers of them as it is.
func (t *Tracker) Add(dst *Health, r *Reading) {
	*dst = Health{Time: r.Time, Tunnels: dst.Tunnels[:0], Peers: dst.Peers[:0], Risks: dst.Risks[:0], sas: dst.sas[:0], marks: dst.marks[:0]}
	t.addTunnels(dst, r)
	t.addPeers(dst, r)
}

// addTunnels is Add's work on the SAs: the tunnels and their risks.
func (t *Tracker) addTunnels(dst *Health, r *Reading) {
	if r.sameFor == t && t.addSame(dst, r) {
		return
	}
	t.same.ok = false
	t.same.groups, t.same.members = t.same.groups[:0], t.same.members[:0]
	h := dst
	if t.tunnels == nil {
		t.tunnels, t.sas, t.retired = map[TunnelID]*tunnelTrack{}, map[saKey]*saTrack{}, map[saKey]retiredSA{}
	}
	t.gen++
	if sum := indexSum(r); !t.ixBuilt || sum != t.ixSum {
		t.ix.build(r)
		t.ixSum, t.ixBuilt, t.order = sum, true, nil
		t.renamed(r)
		t.ixTracks = t.ixTracks[:0]
		for _, id := range t.ix.defined {
			t.ixTracks = append(t.ixTracks, t.tunnel(id))
		}
		for _, tt := range t.tunnels {
			t.place(tt)
		}
	}
	t.applyEvents(r)
	if r.SAs == nil {
		return
	}

	live := 0
	mark := func(tt *tunnelTrack) {
		if tt.gen != t.gen {
			tt.gen, tt.members = t.gen, tt.members[:0]
			live++
		}
	}
	for _, tt := range t.ixTracks {
		mark(tt)
	}
	nSAs, nMarks, seen := 0, 0, 0
	clear(t.byPos[min(len(t.byPos), len(r.SAs)):])
	t.byPos = t.byPos[:min(len(t.byPos), len(r.SAs))]
	var xfrmWithSAs map[string]bool // xfrm interfaces whose SAs name a peer
	for i := range r.SAs {
		sa := &r.SAs[i]
		if sa.SPI == 0 || sa.Larval {
			continue // an acquire's or allocspi's placeholder: nothing flows through it
		}
		k := saKeyOf(sa)
		var tr *saTrack
		if i < len(t.byPos) && t.byPos[i] != nil && t.byPos[i].key == k && t.byPos[i].seen != t.gen {
			tr = t.byPos[i] // the dump's order rarely changes
		} else {
			tr = t.sas[k]
		}
		if tr != nil && (!tr.added.Equal(sa.Usage.Added) || sa.Usage.Bytes < tr.prevBytes || sa.Usage.Packets < tr.prevPackets) {
			// Deleted and added again under the same key between readings.
			t.retire(k, tr, r.Time)
			tr = nil
		}
		if tr == nil {
			ref := sa.Ref()
			id, dir := t.ix.classify(&ref, sa.Dir, sa.OSeq, sa.Seq)
			tr = &saTrack{key: k, tt: t.tunnel(id), dir: dir, added: sa.Usage.Added}
			t.sas[k] = tr
			delete(t.retired, k)
		}
		if tr.seen == t.gen {
			continue // listed twice in one dump
		}
		if i < len(t.byPos) {
			t.byPos[i] = tr
		} else {
			t.byPos = append(t.byPos, tr)
		}
		seen++
		t.observe(tr, sa, r.Time)
		if tr.tt.id.Kind == KindXfrm && tr.tt.id.Peer.IsValid() {
			if xfrmWithSAs == nil {
				xfrmWithSAs = map[string]bool{}
			}
			xfrmWithSAs[tr.tt.id.Interface] = true
		}
		mark(tr.tt)
		tr.tt.members = append(tr.tt.members, member{sa, tr, int32(i)})
		nSAs++
		if sa.Mark != nil {
			nMarks++
		}
	}
	if seen != len(t.sas) {
		for k, tr := range t.sas {
			if tr.seen != t.gen {
				t.retire(k, tr, r.Time)
			}
		}
	}
	if live != len(t.tunnels) {
		// A tunnel that is gone (no interface, policy or SA of it left)
		// is forgotten; if it comes back its totals start again.
		for id, tt := range t.tunnels {
			if tt.gen != t.gen {
				delete(t.tunnels, id)
			}
		}
	}
	if len(t.order) != live || slices.ContainsFunc(t.order, func(tt *tunnelTrack) bool { return tt.gen != t.gen }) {
		t.order = t.order[:0]
		for _, tt := range t.tunnels {
			t.order = append(t.order, tt)
		}
		slices.SortFunc(t.order, func(a, b *tunnelTrack) int {
			switch {
			case a.rank >= 0 && b.rank < 0:
				return -1
			case a.rank < 0 && b.rank >= 0:
				return 1
			}
			return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.id.Interface, b.id.Interface),
				a.id.Peer.Compare(b.id.Peer), cmp.Compare(a.id.ReqID, b.id.ReqID))
		})
	}

	// One allocation each for the tunnels, their SAs and the SAs' marks:
	// the Health is the caller's, and shares nothing with the reading.
	h.Tunnels = slices.Grow(h.Tunnels, len(t.order))
	sah := slices.Grow(h.sas, nSAs)
	marks := slices.Grow(h.marks, nMarks) // never grows in the loop: the pointers into it stay valid
	oneWayAfter := t.Config.OneWayAfter
	if oneWayAfter <= 0 {
		oneWayAfter = DefaultOneWayAfter
	}
	for _, tt := range t.order {
		id := tt.id
		if id.Kind == KindXfrm && !id.Peer.IsValid() && xfrmWithSAs[id.Interface] {
			t.recordSkipped(tt)
			continue // listed per peer instead
		}
		ts := TunnelStatus{ID: id, Local: tt.local, In: tt.retired[SADirIn], Out: tt.retired[SADirOut]}
		var has [3]bool
		members := tt.members
		if len(members) > 1 {
			slices.SortFunc(members, func(a, b member) int {
				return cmp.Or(cmp.Compare(a.tr.dir, b.tr.dir), a.tr.added.Compare(b.tr.added), cmp.Compare(a.sa.SPI, b.sa.SPI))
			})
		}
		first := len(sah)
		for _, m := range members {
			d := m.tr.dir
			has[d] = true
			tf := &ts.In
			if d == SADirOut {
				tf = &ts.Out
			} else if d != SADirIn {
				continue
			}
			tf.Bytes += m.tr.bytes
			tf.Packets += m.tr.packets
			if m.tr.last.After(tf.Last) {
				tf.Last = m.tr.last
			}
			if !ts.Local.IsValid() {
				if d == SADirOut {
					ts.Local = m.sa.Src
				} else {
					ts.Local = m.sa.Dst
				}
			}
			sh := saHealth(m.sa, d)
			if m.sa.Mark != nil {
				marks = append(marks, *m.sa.Mark)
				sh.SA.Mark = &marks[len(marks)-1]
			}
			sah = append(sah, sh)
		}
		ts.SAs = sah[first:len(sah):len(sah)]
		switch {
		case r.Policies != nil && !tt.hasOut:
			ts.State = TunnelNoPolicy
		case !has[SADirIn] || !has[SADirOut]:
			ts.State = TunnelNoSA
		default:
			ts.State = TunnelUp
		}

		// Risks of the tunnel's SAs.
		from := len(t.same.members)
		for i, m := range members {
			newer := false
			if m.tr.dir != SADirIn && m.tr.dir != SADirOut {
				t.same.members = append(t.same.members, sameMember{m.pos, m.tr, newer})
				continue
			}
			for _, o := range members[i+1:] {
				if o.tr.dir == m.tr.dir && o.tr.added.After(m.tr.added) {
					newer = true
				}
			}
			t.same.members = append(t.same.members, sameMember{m.pos, m.tr, newer})
			h.Risks = t.saRisks(h.Risks, id, m.sa, m.tr, newer, r.Time)
		}
		t.same.groups = append(t.same.groups, sameGroup{tt: tt, out: true, from: from, to: len(t.same.members)})

		// One way: packets moved in one direction only.
		if tt.started && has[SADirIn] && has[SADirOut] {
			dIn, dOut := ts.In.Packets-tt.prevPackets[SADirIn], ts.Out.Packets-tt.prevPackets[SADirOut]
			for _, d := range []SADir{SADirIn, SADirOut} {
				moved, other := dIn, dOut
				if d == SADirOut {
					moved, other = dOut, dIn
				}
				if moved > 0 && other == 0 {
					tt.oneWay[d]++
				} else {
					tt.oneWay[d] = 0
				}
				if tt.oneWay[d] >= oneWayAfter {
					h.Risks = append(h.Risks, oneWayRisk(id, d, tt.oneWay[d], members))
				}
			}
		} else {
			tt.oneWay = [3]int{}
		}
		tt.prevPackets[SADirIn], tt.prevPackets[SADirOut] = ts.In.Packets, ts.Out.Packets
		tt.started = true
		tt.members = tt.members[:0]
		h.Tunnels = append(h.Tunnels, ts)
	}
	h.sas, h.marks = sah, marks
	t.forgetRetired(r.Time)
	t.prev = r.Time
	s := &t.same
	s.tunnels = append(s.tunnels[:0], h.Tunnels...)
	s.sas = append(s.sas[:0], sah...)
	s.marks = append(s.marks[:0], marks...)
	s.nSAs, s.ok, s.settled = len(r.SAs), true, false
}

// forgetRetired forgets the SAs retired over an hour before now: an event
// about them is not coming any more.
func (t *Tracker) forgetRetired(now time.Time) {
	if len(t.retired) > 0 {
		for k, rs := range t.retired {
			if now.Sub(rs.at) > time.Hour {
				delete(t.retired, k)
			}
		}
	}
}

// recordSkipped records, for addSame, the members of a tunnel left out of
// the Health (an xfrm interface listed per peer): their SAs are observed
// again, and they give no risk.
func (t *Tracker) recordSkipped(tt *tunnelTrack) {
	from := len(t.same.members)
	for _, m := range tt.members {
		t.same.members = append(t.same.members, sameMember{pos: m.pos, tr: m.tr})
	}
	t.same.groups = append(t.same.groups, sameGroup{tt: tt, from: from, to: len(t.same.members)})
}

// addSame is Add of the reading Add was last given, read again later with
// nothing moved (hint.Same): it gives what Add would, without indexing the
// links and policies, finding the SAs or building the tunnels again. The
// tunnels are those of the last Add, copied; every SA is observed again
// (its rates fall to zero); the risks, which time alone can change, are
// computed again; no direction moved alone, so no tunnel is one-way. It
// reports false, having changed nothing, when the last Add recorded
// nothing to reuse or r cannot be that reading again (another number of
// SAs, events).
func (t *Tracker) addSame(dst *Health, r *Reading) bool {
	s := &t.same
	if !s.ok || r.SAs == nil || len(r.SAs) != s.nSAs || len(r.Events) > 0 {
		return false
	}
	if !s.settled {
		// Once observed unmoved, an SA's track stays as it is until
		// something moves (observe of the same SA again changes nothing
		// but when its sequence number was read, which only counts as
		// known or not).
		for _, m := range s.members {
			t.observe(m.tr, &r.SAs[m.pos], r.Time)
		}
		s.settled = r.Time.After(t.prev) // rates are computed only then
	}
	// The tunnels, in dst's storage: their SAs and marks re-pointed into
	// it, as Add leaves them.
	dst.sas = append(dst.sas, s.sas...)
	dst.marks = append(dst.marks, s.marks...)
	dst.Tunnels = append(dst.Tunnels, s.tunnels...)
	k, mk := 0, 0
	for i := range dst.Tunnels {
		ts := &dst.Tunnels[i]
		n := len(ts.SAs)
		ts.SAs = dst.sas[k : k+n : k+n]
		for j := range ts.SAs {
			if ts.SAs[j].SA.Mark != nil {
				ts.SAs[j].SA.Mark = &dst.marks[mk]
				mk++
			}
		}
		k += n
	}
	for _, g := range s.groups {
		if !g.out {
			continue
		}
		for _, m := range s.members[g.from:g.to] {
			if m.tr.dir == SADirIn || m.tr.dir == SADirOut {
				dst.Risks = t.saRisks(dst.Risks, g.tt.id, &r.SAs[m.pos], m.tr, m.newer, r.Time)
			}
		}
		g.tt.oneWay = [3]int{}
	}
	t.forgetRetired(r.Time)
	t.prev = r.Time
	return true
}

// applyEvents takes the final counters of deleted and expired SAs, and
// notes soft expires.
func (t *Tracker) applyEvents(r *Reading) {
	for i := range r.Events {
		ev := &r.Events[i]
		k := keyOf(&ev.SA)
		switch ev.Type {
		case EventSoftExpire:
			if tr := t.sas[k]; tr != nil {
				tr.softExpired = true
			}
			continue
		case EventHardExpire, EventSADeleted:
		default:
			continue
		}
		u := ev.Usage
		if u == nil || ev.SA.SPI == 0 {
			continue
		}
		if tr := t.sas[k]; tr != nil && (u.Added.IsZero() || tr.added.Equal(u.Added)) {
			tr.bytes, tr.packets = max(tr.bytes, u.Bytes), max(tr.packets, u.Packets)
			continue
		}
		if rs, ok := t.retired[k]; ok {
			// Already retired from the dump: add what it carried since.
			rt := &rs.tt.retired[rs.dir]
			rt.Bytes += u.Bytes - min(u.Bytes, rs.bytes)
			rt.Packets += u.Packets - min(u.Packets, rs.packets)
			rs.bytes, rs.packets = max(rs.bytes, u.Bytes), max(rs.packets, u.Packets)
			t.retired[k] = rs
			continue
		}
		// Added and deleted between two readings: never in a dump.
		id, dir := t.ix.classify(&ev.SA, SADirUnknown, 0, 0)
		if dir != SADirIn && dir != SADirOut {
			continue
		}
		tt := t.tunnel(id)
		tt.retired[dir].Bytes += u.Bytes
		tt.retired[dir].Packets += u.Packets
		t.retired[k] = retiredSA{tt: tt, dir: dir, bytes: u.Bytes, packets: u.Packets, at: r.Time}
	}
}

// renamed carries the tunnels of an interface that was renamed (same
// ifindex and kind, another name) over to the new name, totals and SAs
// included: a rename is the same tunnel.
func (t *Tracker) renamed(r *Reading) {
	prev := t.ifNames
	t.ifNames = map[int32]string{} // only the links of this reading: deleted ones are forgotten
	for i := range r.Links {
		l := &r.Links[i]
		if l.Index == 0 || l.Tunnel == nil || (l.Kind != KindVTI && l.Kind != KindVTI6 && l.Kind != KindXfrm) {
			continue
		}
		old, known := prev[l.Index]
		t.ifNames[l.Index] = l.Name
		if !known || old == l.Name {
			continue
		}
		for id, tt := range t.tunnels {
			if id.Interface != old || id.Kind != l.Kind {
				continue
			}
			nid := id
			nid.Interface = l.Name
			if _, taken := t.tunnels[nid]; taken {
				continue // another tunnel has the name already: keep both apart
			}
			delete(t.tunnels, id)
			tt.id = nid
			t.tunnels[nid] = tt
		}
	}
}

// tunnel returns the tunnel's track, made if it is new.
func (t *Tracker) tunnel(id TunnelID) *tunnelTrack {
	tt := t.tunnels[id]
	if tt == nil {
		tt = &tunnelTrack{id: id}
		t.place(tt)
		t.tunnels[id] = tt
	}
	return tt
}

// place sets what the index says of a tunnel.
func (t *Tracker) place(tt *tunnelTrack) {
	tt.hasOut = t.ix.hasOutPolicy(tt.id)
	tt.local = t.ix.localByVTI[tt.id.Interface]
	tt.rank = -1
	if tt.id.Interface != "" {
		if r, ok := t.ix.order[tt.id.Interface]; ok {
			tt.rank = r
		} else {
			tt.rank = math.MaxInt
		}
	}
}

// retire moves an SA's counters into its tunnel's retired totals.
func (t *Tracker) retire(k saKey, tr *saTrack, now time.Time) {
	delete(t.sas, k)
	if tr.dir != SADirIn && tr.dir != SADirOut {
		return
	}
	rt := &tr.tt.retired[tr.dir]
	rt.Bytes += tr.bytes
	rt.Packets += tr.packets
	if tr.last.After(rt.Last) {
		rt.Last = tr.last
	}
	t.retired[k] = retiredSA{tt: tr.tt, dir: tr.dir, bytes: tr.bytes, packets: tr.packets, at: now}
}

// observe updates an SA's track from the dump.
func (t *Tracker) observe(tr *saTrack, sa *SA, now time.Time) {
	tr.seen = t.gen
	if tr.observed && now.After(t.prev) {
		dt := now.Sub(t.prev).Seconds()
		if sa.HasReplay && !tr.oseqAt.IsZero() && sa.OSeq >= tr.oseq {
			tr.seqRate = float64(sa.OSeq-tr.oseq) / dt
		}
		tr.byteRate = float64(sa.Usage.Bytes-min(sa.Usage.Bytes, tr.prevBytes)) / dt
		tr.packetRate = float64(sa.Usage.Packets-min(sa.Usage.Packets, tr.prevPackets)) / dt
	}
	tr.observed = true
	if sa.Usage.Packets > tr.prevPackets && sa.LastUsed.IsZero() {
		tr.last = now // it carried packets since the previous reading
	}
	if sa.LastUsed.After(tr.last) {
		tr.last = sa.LastUsed
	}
	tr.bytes, tr.packets = max(tr.bytes, sa.Usage.Bytes), max(tr.packets, sa.Usage.Packets)
	tr.prevBytes, tr.prevPackets = sa.Usage.Bytes, sa.Usage.Packets
	if sa.HasReplay {
		tr.oseq, tr.oseqAt = sa.OSeq, now
	}
}

// saHealth is an SA's distance to its limits.
func saHealth(sa *SA, dir SADir) SAHealth {
	lt, u := &sa.Lifetime, &sa.Usage
	// The mark is left to the caller, which stores it apart from the reading.
	h := SAHealth{SA: SARef{SPI: sa.SPI, Proto: sa.Proto, Src: sa.Src, Dst: sa.Dst, ReqID: sa.ReqID, IfID: sa.IfID}, Dir: dir, Added: u.Added, ESN: sa.ESN,
		SoftExpiry: expiry(u, lt.SoftAdd, lt.SoftUse), HardExpiry: expiry(u, lt.HardAdd, lt.HardUse),
		SoftBytesLeft: left(lt.SoftBytes, u.Bytes), HardBytesLeft: left(lt.HardBytes, u.Bytes),
		SoftPacketsLeft: left(lt.SoftPackets, u.Packets), HardPacketsLeft: left(lt.HardPackets, u.Packets),
	}
	if dir == SADirOut && sa.HasReplay {
		h.HasSeq, h.SeqHeadroom = true, seqHeadroom(sa)
	}
	return h
}

// expiry is the earlier of the add-time and use-time limits; zero if
// neither applies yet.
func expiry(u *Usage, add, use time.Duration) time.Time {
	var at time.Time
	if add > 0 && !u.Added.IsZero() {
		at = u.Added.Add(add)
	}
	if use > 0 && !u.Used.IsZero() {
		if t := u.Used.Add(use); at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at
}

func left(limit, used uint64) uint64 {
	if limit == math.MaxUint64 {
		return math.MaxUint64
	}
	return limit - min(limit, used)
}

// seqHeadroom is how many more packets the outbound SA can number.
func seqHeadroom(sa *SA) uint64 {
	if sa.ESN {
		return math.MaxUint64 - sa.OSeq
	}
	return math.MaxUint32 - min(sa.OSeq, math.MaxUint32)
}

// saRisks appends the risks of one SA of a tunnel. newer is true when the
// tunnel has a newer SA in the same direction (its replacement).
func (t *Tracker) saRisks(out []Risk, id TunnelID, sa *SA, tr *saTrack, newer bool, now time.Time) []Risk {
	margin := t.Config.RekeyMargin
	if margin <= 0 {
		margin = DefaultRekeyMargin
	}
	lt, u := &sa.Lifetime, &sa.Usage
	hard := expiry(u, lt.HardAdd, lt.HardUse)
	soft := expiry(u, lt.SoftAdd, lt.SoftUse)
	// Built only for a risk: most SAs have none, and the copy escapes.
	refOf := func() *SARef { r := sa.Ref(); return &r }

	// Soft limit passed, no replacement.
	if !newer {
		var why string
		switch {
		case tr.softExpired:
			why = "the kernel sent its soft expire"
		case !soft.IsZero() && !now.Before(soft):
			why = fmt.Sprintf("its soft time limit passed at %s", soft.UTC().Format(time.RFC3339))
		case lt.SoftBytes != math.MaxUint64 && u.Bytes >= lt.SoftBytes:
			why = fmt.Sprintf("it carried %d bytes, soft limit %d", u.Bytes, lt.SoftBytes)
		case lt.SoftPackets != math.MaxUint64 && u.Packets >= lt.SoftPackets:
			why = fmt.Sprintf("it carried %d packets, soft limit %d", u.Packets, lt.SoftPackets)
		}
		if why != "" {
			ref := refOf()
			out = append(out, newRisk("sa-soft-expired-no-rekey", id, ref, tr.dir, hard,
				fmt.Sprintf("%s SA %s is past its soft limit (%s) and %s has no newer %s SA.%s",
					tr.dir, ref, why, id, tr.dir, hardWords(hard))))
		}
	}

	// Too little room between soft and hard.
	var tight string
	switch {
	case lt.HardAdd > 0 && lt.SoftAdd == 0:
		tight = fmt.Sprintf("a hard time limit of %v and no soft one", lt.HardAdd)
	case lt.HardAdd > 0 && lt.HardAdd-min(lt.SoftAdd, lt.HardAdd) < margin:
		tight = fmt.Sprintf("soft and hard time limits %v and %v apart by less than %v", lt.SoftAdd, lt.HardAdd, margin)
	case lt.HardUse > 0 && lt.SoftUse == 0:
		tight = fmt.Sprintf("a hard use-time limit of %v and no soft one", lt.HardUse)
	case lt.HardUse > 0 && lt.HardUse-min(lt.SoftUse, lt.HardUse) < margin:
		tight = fmt.Sprintf("soft and hard use-time limits %v and %v apart by less than %v", lt.SoftUse, lt.HardUse, margin)
	case lt.HardBytes != math.MaxUint64 && lt.SoftBytes >= lt.HardBytes:
		tight = fmt.Sprintf("a hard byte limit of %d and no lower soft one", lt.HardBytes)
	case lt.HardPackets != math.MaxUint64 && lt.SoftPackets >= lt.HardPackets:
		tight = fmt.Sprintf("a hard packet limit of %d and no lower soft one", lt.HardPackets)
	case lt.HardBytes != math.MaxUint64 && tr.byteRate > 0 && float64(lt.HardBytes-lt.SoftBytes)/tr.byteRate < margin.Seconds():
		tight = fmt.Sprintf("%d bytes between its soft and hard byte limits, %.1f s at the current %.0f B/s", lt.HardBytes-lt.SoftBytes, float64(lt.HardBytes-lt.SoftBytes)/tr.byteRate, tr.byteRate)
	case lt.HardPackets != math.MaxUint64 && tr.packetRate > 0 && float64(lt.HardPackets-lt.SoftPackets)/tr.packetRate < margin.Seconds():
		tight = fmt.Sprintf("%d packets between its soft and hard packet limits, %.1f s at the current %.0f packets/s", lt.HardPackets-lt.SoftPackets, float64(lt.HardPackets-lt.SoftPackets)/tr.packetRate, tr.packetRate)
	}
	if tight != "" {
		ref := refOf()
		out = append(out, newRisk("sa-lifetime-margin", id, ref, tr.dir, hard,
			fmt.Sprintf("%s SA %s of %s has %s: the key manager may not replace it in time.", tr.dir, ref, id, tight)))
	}

	// Sequence numbers running out before the next rekey.
	if tr.dir == SADirOut && sa.HasReplay {
		head := seqHeadroom(sa)
		deadline := now.Add(seqHorizon)
		switch {
		case !soft.IsZero():
			deadline = soft
		case !hard.IsZero():
			deadline = hard
		}
		rekeyByPackets := lt.SoftPackets != math.MaxUint64 && lt.SoftPackets-min(lt.SoftPackets, u.Packets) <= head
		var at time.Time
		switch {
		case head == 0:
			at = now
		case tr.seqRate > 0 && !rekeyByPackets:
			secs := float64(head) / tr.seqRate
			if secs < deadline.Sub(now).Seconds() {
				at = now.Add(time.Duration(secs * float64(time.Second)))
			}
		}
		if !at.IsZero() {
			bits := "32-bit"
			if sa.ESN {
				bits = "64-bit (ESN)"
			}
			ref := refOf()
			out = append(out, newRisk("sa-seq-exhaustion", id, ref, tr.dir, at,
				fmt.Sprintf("Outbound SA %s of %s has %d %s sequence numbers left and sends %.0f packets/s: it runs out at %s, before it is due to be rekeyed.",
					ref, id, head, bits, tr.seqRate, at.UTC().Format(time.RFC3339))))
		}
	}
	return out
}

func hardWords(hard time.Time) string {
	if hard.IsZero() {
		return " It has no hard time limit: it stays until a byte or packet limit, or the key manager, deletes it."
	}
	return " The kernel deletes it at " + hard.UTC().Format(time.RFC3339) + "."
}

// oneWayRisk is a tunnel that carried packets in one direction only.
func oneWayRisk(id TunnelID, d SADir, n int, members []member) Risk {
	var ref *SARef
	for _, m := range members {
		if m.tr.dir == SADirOut {
			r := m.sa.Ref()
			ref = &r
		}
	}
	other := SADirIn
	if d == SADirIn {
		other = SADirOut
	}
	r := newRisk("tunnel-one-way", id, ref, SADirOut, time.Time{},
		fmt.Sprintf("%s carried %s packets and no %s packets in each of the last %d readings.", id, d, other, n))
	r.SA = nil
	return r
}

// newRisk fills a risk from its catalogue entry.
func newRisk(cause CauseID, id TunnelID, ref *SARef, dir SADir, at time.Time, why string) Risk {
	c := causeByID(cause)
	v := checkValues{dev: id.Interface}
	if ref != nil {
		v.local, v.remote, v.spiOut = ref.Src.String(), ref.Dst.String(), fmt.Sprintf("0x%08x", ref.SPI)
	}
	checks := make([]Check, len(c.Checks))
	for i, ch := range c.Checks {
		checks[i] = v.fill(ch)
	}
	return Risk{Tunnel: id, Cause: cause, Title: c.Title, SA: ref, At: at,
		KernelRef: slices.Clone(c.KernelRefs), Kernels: c.Kernels, Checks: checks,
		Explanation: why + " " + c.Explanation}
}
