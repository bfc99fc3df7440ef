package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// poller is the counters-only reading of a live namespace, for a Monitor's
// quiet intervals: vtistat's PollStats and the MIB, each into one of two
// sets of buffers, alternated so that the previous poll stays intact for
// explain. After the first polls have grown the buffers, a poll allocates
// nothing.
type poller struct {
	r        *Reader
	snaps    [2]vtistat.Snapshot
	mibs     [2]procnet.XfrmStat
	readings [2]explain.Reading

	// mibFile reads xfrm_stat directly in the process's own namespace when
	// the XFRM client could not be opened.
	mibFile *procnet.XfrmStatReader
	// mibGone is the Unread of a MIB that cannot be read until the
	// namespace is opened again (no XFRM client in another namespace, a
	// kernel without the file): made once, shared by every Update.
	mibGone []Unread

	// With Config.Health (health true), polls also read the SAs, into
	// rawSAs and converted into one of sas (never the one the previous
	// reading's SAs are in), and the SPD and SAD info; the policies only
	// when the caller says they may have changed, when the SPD counts
	// changed or when they are not known. policies are the latest read,
	// shared by the readings until read again: a fresh slice every time,
	// never written to after.
	health   bool
	rawSAs   []xfrmstat.SA
	sas      [2][]explain.SA
	rawPols  []xfrmstat.Policy
	policies []explain.Policy // nil: not known, read at the next poll
	spd      xfrmstat.SPDInfo
	spdKnown bool

	// The latest SAs read (nil: not known, read at the next poll): in
	// sas[saBuf], or a full reading's own when saBuf is -1; read at
	// saTime. sadCount is the SAD count the previous poll saw (sadKnown),
	// saMaxAge the longest the SAs of a poll may be carried over (the
	// dump is skipped while nothing moved; see carrySAs), saDumps the
	// SA dumps polls made (tests count them).
	lastSAs  []explain.SA
	saBuf    int
	saTime   time.Time
	sadCount uint32
	sadKnown bool
	saMaxAge time.Duration
	saDumps  uint64
	// dumped: the last poll dumped the SAs. The dump's storage (rawSAs,
	// and the sas buffer lastSAs is not in) is kept only while polls dump
	// one after the other: a namespace whose SAs are carried over most
	// intervals would otherwise hold some 800 bytes per SA for a dump a
	// minute.
	dumped bool
	// polsRead: the last poll read the policies; their raw storage is
	// kept only while polls read them one after the other, as the SAs'.
	polsRead bool

	// unchanged: the last poll read the counters of the reading before it
	// and, with health, carried its SAs over and kept its policies.
	unchanged bool

	// The peers of the namespace's wireguard links, read every poll that
	// has such links (handshakes and peer bytes move without any XFRM
	// event, and the underlay may be in another namespace): rawWG is the
	// dump's storage, wg[b] explain's view in buffer set b. wgSame: the
	// last poll read the peers of the reading before it, every field the
	// same (also when neither had a wireguard link).
	rawWG  []vtistat.WireGuardDevice
	wg     [2][]explain.WireGuardDevice
	wgSame bool
}

// saMaxAge is how long a poll may carry the SAs of an earlier one over
// while nothing moved: the SA dump is the largest part of a quiet health
// poll (20 000 SAs take longer to dump than 10 000 links' counters).
const saMaxAge = time.Minute

// poll reads the counters into buffer set b and returns them as a
// Reading, with the parts it could not read. It follows the namespace's
// name as Reader.Read does: a poller whose poll returned ErrNetNSReplaced
// is replaced too, as its buffers hold the old namespace's links. With
// health, it reads the SAs too (or carries prev's over, see carrySAs;
// quiet says no XFRM event came since prev and events are watched), and
// the policies when rereadPolicies or the SPD counts say they may have
// changed.
func (p *poller) poll(ctx context.Context, b int, rereadPolicies bool, prev *explain.Reading, quiet bool) (*explain.Reading, []Unread, error) {
	s, err := p.r.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer p.r.end()
	if err := s.links.PollStats(ctx, &p.snaps[b]); err != nil {
		return nil, nil, withHint(fmt.Errorf("read link counters of %s: %w", p.r.ns.describe(), err), p.r.ns)
	}
	mib, un := p.pollMIB(ctx, s, &p.mibs[b])
	r := &p.readings[b]
	pollReading(r, &p.snaps[b], mib, p.r.release)
	p.unchanged = sameCounters(r, prev)
	var wu *Unread
	r.WireGuard, wu = p.pollWireGuard(ctx, s, b)
	p.wgSame = wu == nil && prev != nil && sameWireGuard(r.WireGuard, prev.WireGuard)
	if wu != nil {
		un = append(slices.Clip(un), *wu)
	}
	if p.health {
		r.SAs, un = p.pollXFRM(ctx, s, r, prev, quiet, rereadPolicies, un)
		r.Policies = p.policies
	}
	if _, err := p.r.follow(); err != nil {
		return nil, nil, err
	}
	return r, un, nil
}

// pollXFRM reads the SPD and SAD info, the SAs (unless carrySAs says the
// last ones are still the kernel's) and the policies when they may have
// changed; it returns the SAs (nil if not known) and un with the parts it
// could not read appended (un may be shared: it is never appended to in
// place). cur is the poll's reading, links and MIB filled in.
func (p *poller) pollXFRM(ctx context.Context, s *session, cur, prev *explain.Reading, quiet, rereadPolicies bool, un []Unread) ([]explain.SA, []Unread) {
	if s.xfrm == nil {
		p.policies, p.spdKnown = nil, false
		p.lastSAs, p.sadKnown = nil, false
		return nil, append(slices.Clip(un), unread("sas", s.xfrmErr), unread("policies", s.xfrmErr))
	}
	switch spd, err := s.xfrm.SPDInfo(ctx); {
	case err != nil:
		un = append(slices.Clip(un), unread("spd_info", err))
		rereadPolicies, p.spdKnown = true, false
	default:
		if !p.spdKnown || !sameSPDCounts(&spd, &p.spd) {
			rereadPolicies = true
		}
		p.spd, p.spdKnown = spd, true
	}
	// The SAD count before the dump: an SA added after it is either in
	// the dump or changes the next poll's count.
	sad, sadErr := s.xfrm.SADInfo(ctx)
	sadSame := sadErr == nil && p.sadKnown && sad.Count == p.sadCount
	p.sadCount, p.sadKnown = sad.Count, sadErr == nil
	if quiet && sadSame && p.unchanged && p.carrySAs(cur) {
		p.dumped, p.rawSAs = false, nil
		for i := range p.sas {
			if i != p.saBuf {
				p.sas[i] = nil
			}
		}
	} else {
		p.unchanged = false
		t := 0
		if p.saBuf == 0 {
			t = 1 // prev's SAs may be in sas[0]: they must stay as they are
		}
		if raw, err := s.xfrm.SAs(ctx, p.rawSAs); err != nil {
			un = append(slices.Clip(un), unread("sas", err))
			p.lastSAs = nil
		} else {
			p.rawSAs = nil
			if p.dumped {
				p.rawSAs = raw // the next poll likely dumps again: keep the storage
			}
			p.dumped = true
			sas := appendSAs(p.sas[t][:0], raw)
			if sas == nil {
				sas = []explain.SA{} // read, and there were none
			}
			p.sas[t], p.lastSAs, p.saBuf, p.saTime = sas, sas, t, cur.Time
			p.saDumps++
		}
	}
	if !(rereadPolicies || p.policies == nil) {
		p.polsRead, p.rawPols = false, nil
	} else {
		p.unchanged = false
		if raw, err := s.xfrm.Policies(ctx, p.rawPols); err != nil {
			un = append(slices.Clip(un), unread("policies", err))
			p.policies = nil
		} else {
			p.rawPols = nil
			if p.polsRead {
				p.rawPols = raw // the next poll likely reads them again: keep the storage
			}
			p.polsRead = true
			p.policies = ExplainPolicies(raw)
			if p.policies == nil {
				p.policies = []explain.Policy{}
			}
		}
	}
	return p.lastSAs, un
}

// pollWireGuard reads the peers of the wireguard links of the poll's
// links (buffer set b) and converts them into wg[b]; nil when there is no
// such link or none could be read, with the Unread that says why.
func (p *poller) pollWireGuard(ctx context.Context, s *session, b int) ([]explain.WireGuardDevice, *Unread) {
	raw, u := readWireGuard(ctx, s.links, p.rawWG, p.snaps[b].Links)
	if raw == nil {
		return nil, u
	}
	p.rawWG = raw
	p.wg[b] = ExplainWireGuard(p.wg[b], raw)
	return p.wg[b], u
}

// carrySAs reports whether the last SAs read may still be the kernel's as
// of cur, so that the poll need not dump them again: they are known and
// were read less than saMaxAge before cur. The caller has seen the same
// counters in cur as in the previous reading (sameCounters: no link
// counter and no MIB counter moved since that reading, whose SAs are the
// last read, or older ones carried over with the same proof), no XFRM
// event and the same SAD count: no SA was added, updated, deleted or
// expired. An SA's counters (bytes, packets, sequence numbers, replay
// and integrity failures, last use) move only with packets through it,
// and a packet an SA encrypts or decrypts goes out or comes in on some
// interface of the namespace, moving its counters (or an XFRM error
// moves the MIB). The one exception known is a packet an SA encrypted
// and a queueing discipline then dropped, counted by the qdisc, not the
// device: saMaxAge bounds how late such packets show in the SA counters.
//
// The links are compared in order (sameCounters), the SAs being dumped
// after the links in both a poll and a full reading: a packet between
// the two reads is in the SAs and missing from the links, so the next
// poll's links differ.
func (p *poller) carrySAs(cur *explain.Reading) bool {
	return p.lastSAs != nil && cur.Time.Sub(p.saTime) < p.saMaxAge && !cur.Time.Before(p.saTime)
}

// sameCounters reports whether cur has the links of prev, in the same
// order, with the same names, kinds, parameters and counters, and the
// same MIB.
func sameCounters(cur, prev *explain.Reading) bool {
	if prev == nil || len(cur.Links) != len(prev.Links) || !sameMIB(cur.MIB, prev.MIB) {
		return false
	}
	for i := range cur.Links {
		a, b := &cur.Links[i], &prev.Links[i]
		if a.Index != b.Index || a.Source != b.Source || a.Stats != b.Stats ||
			a.Name != b.Name || a.Kind != b.Kind || a.CrossNetns != b.CrossNetns ||
			(a.Tunnel == nil) != (b.Tunnel == nil) || a.Tunnel != nil && *a.Tunnel != *b.Tunnel {
			return false
		}
		if a.Source != explain.SourceStats64 && a.Source != explain.SourceStats32 {
			return false // no counters apart to compare
		}
	}
	return true
}

// sameMIB reports whether two readings of the MIB have the same counters;
// false when either is missing.
func sameMIB(a, b *procnet.XfrmStat) bool {
	if a == nil || b == nil {
		return false
	}
	n := 0
	for name, v := range a.All() {
		if w, ok := b.Counter(name); !ok || w != v {
			return false
		}
		n++
	}
	for range b.All() {
		n--
	}
	return n == 0
}

// setFull makes the policies, SPD info and SAs of a full reading the
// latest known (nil: not read, read at the next poll). The next poll reads
// the SAs again: the full reading's SAD count was read after its SAs.
func (p *poller) setFull(r *explain.Reading, spd *xfrmstat.SPDInfo) {
	p.policies = r.Policies
	p.spdKnown = spd != nil
	if spd != nil {
		p.spd = *spd
	}
	p.lastSAs, p.saBuf, p.saTime, p.sadKnown = r.SAs, -1, r.Time, false
}

// sameSPDCounts reports whether two SPD infos count the same policies in
// every direction: a policy added or deleted changes a count.
func sameSPDCounts(a, b *xfrmstat.SPDInfo) bool {
	return a.In == b.In && a.Out == b.Out && a.Fwd == b.Fwd &&
		a.SocketIn == b.SocketIn && a.SocketOut == b.SocketOut && a.SocketFwd == b.SocketFwd
}

// pollMIB reads xfrm_stat into dst; nil and why when it could not.
func (p *poller) pollMIB(ctx context.Context, s *session, dst *procnet.XfrmStat) (*procnet.XfrmStat, []Unread) {
	if p.mibGone != nil {
		return nil, p.mibGone
	}
	var err error
	switch {
	case s.xfrm != nil:
		err = s.xfrm.MIB(ctx, dst)
	case p.r.ns == (NetNS{}):
		if p.mibFile == nil {
			p.mibFile, err = procnet.FS{}.OpenXfrmStat(ctx)
		}
		if err == nil {
			err = p.mibFile.Read(ctx, dst)
		}
	default:
		p.mibGone = []Unread{mibUnread(fmt.Errorf("XFRM client for %s not opened: %w", p.r.ns.describe(), s.xfrmErr))}
		return nil, p.mibGone
	}
	if err == nil {
		return dst, nil
	}
	un := []Unread{mibUnread(err)}
	if errors.Is(err, procnet.ErrNotSupported) || errors.Is(err, xfrmstat.ErrNotSupported) {
		p.mibGone = un
	}
	return nil, un
}

func (p *poller) close() error {
	if p.mibFile == nil {
		return nil
	}
	return p.mibFile.Close()
}
