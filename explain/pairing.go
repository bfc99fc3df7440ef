package explain

import (
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/linkid"
)

// Link pairing: each link of the later reading is paired with its earlier
// self by the module's one link identity (internal/linkid), its counters
// are subtracted, and what pairing finds (renames, deletions, links listed
// twice, re-created links, counters that went back) becomes notes and
// counter-reset findings. A link whose error counters moved becomes a
// movedLink for explainLinks.

// prevOf returns the position in the earlier reading of the later
// reading's link i (-1 if it has none) and how the two relate, by the
// module's one link identity (internal/linkid). The usual case is answered
// from the two entries at the same position: the same ifindex, name and
// kind is the same link whatever else changed. Anything else pairs the
// whole lists once.
func (e *engine) prevOf(i int) (int, linkid.How) {
	if i < e.bl.Len() {
		bn, bx, bk := e.bl.identity(i)
		an, ax, ak := e.al.identity(i)
		if ax != 0 && bx != 0 && linkid.SameLink(bn, bx, bk, an, ax, ak) {
			return i, linkid.Same
		}
	}
	if e.identical == 0 {
		e.identical = -1
		if linkid.Identical(e.bl.linkView, e.al.linkView) {
			e.identical = 1
		}
	}
	if e.identical == 1 {
		return i, linkid.Same
	}
	if !e.paired {
		linkid.Pair(&e.pairing, e.bl.linkView, e.al.linkView)
		e.paired = true
		if e.pairing.ByName && e.pairing.Recreated() {
			e.note(msgPairedByOrder.text())
		}
	}
	return e.pairing.Prev[i], e.pairing.How[i]
}

// vanished notes the links of the earlier reading that no link of the
// later one continues.
func (e *engine) vanished() {
	if !e.paired {
		// Every later link was its earlier self at the same position.
		for i := e.al.Len(); i < e.bl.Len(); i++ {
			e.note(msgDeleted.text("dev", showName(e.bl.Name(i))))
			e.lose(msgLostDeleted.text("dev", showName(e.bl.Name(i))))
		}
		return
	}
	for k, i := range e.pairing.Vanished {
		e.lose(msgLostDeleted.text("dev", showName(e.bl.Name(i))))
		if e.pairing.VanishedDuplicate[k] {
			e.note(msgVanishedDuplicate.text("dev", showName(e.bl.Name(i))))
			continue
		}
		e.note(msgDeleted.text("dev", showName(e.bl.Name(i))))
	}
}

// lose records a link whose events in the interval no later link shows.
func (e *engine) lose(what string) {
	if e.lostEvents == "" {
		e.lostEvents = what
	} else if !strings.HasSuffix(e.lostEvents, string(msgLostOthers)) {
		e.lostEvents += string(msgLostOthers)
	}
}

// link computes one link's deltas and keeps it if a tunnel error moved.
func (e *engine) link(i int) {
	j, how := -1, linkid.New // the link's position in the earlier reading
	if e.before != nil {
		// The usual case first, kept cheap for agents watching thousands
		// of links: the same link, nothing moved that needs explaining.
		j, how = e.prevOf(i)
		switch how {
		case linkid.Renamed:
			e.note(msgRenamed.text("old", showName(e.bl.Name(j)), "dev", showName(e.al.Name(i)), "index", inum(e.al.Index(i))))
		case linkid.Duplicate:
			if name := e.al.Name(i); !e.dupNoted[name] {
				if e.dupNoted == nil {
					e.dupNoted = map[string]bool{}
				}
				e.dupNoted[name] = true
				e.note(msgDuplicate.text("dev", showName(name)))
			}
			return
		}
		if (how == linkid.Same || how == linkid.Renamed) && nothingToExplainAt(&e.bl, j, &e.al, i) {
			return
		}
	}
	l := e.al.at(i)
	ac, ok := l.counters()
	if !ok {
		e.note(msgNoCounters.text("dev", showName(l.Name)))
		return
	}
	var bc counters
	bc.split = ac.split
	since := ""
	var prev *LinkReading // the same link in the earlier reading, when its counters can be subtracted
	upperOnly := false    // the counters only bound the interval's events
	switch {
	case e.before == nil:
		since = msgSinceBoot.text()
	case how == linkid.New && l.Index == 0:
		// Without an index a new name at the end of the list is a new
		// interface or a renamed one: its counters may predate the
		// interval, so they only bound it.
		since = msgSinceAppeared.text()
		upperOnly = true
	case how == linkid.New:
		since = msgSinceCreated.text()
	case how == linkid.Recreated:
		p := e.bl.at(j)
		e.recreated(l, p)
		if p.Index != 0 && l.Index != 0 {
			since = msgSinceRecreated.text("before", inum(p.Index), "after", inum(l.Index))
		} else {
			// The order rule cannot tell which of two interfaces that
			// changed places was re-created: its counters, from the
			// re-creation or from long before, only bound the interval.
			since = msgSinceByOrder.text()
			upperOnly = true
		}
	default:
		prev = e.bl.at(j)
		var ok bool
		bc, ok = prev.counters()
		if !ok {
			since = msgSinceNoCounters.text()
			bc = counters{split: ac.split}
		} else if bc.split != ac.split {
			// One reading from netlink, one from /proc/net/dev: compare
			// the /proc/net/dev view of both.
			if ac.split {
				dv := devStatsFromStats64(l.Name, &l.Stats)
				ac = countersFromDev(&dv)
			} else {
				dv := devStatsFromStats64(prev.Name, &prev.Stats)
				bc = countersFromDev(&dv)
			}
		}
	}
	d, reset := delta(&bc, &ac)
	if reset != 0 {
		e.reset(l, &bc, &ac, reset)
		return
	}
	if prev != nil && reset == 0 {
		// /proc/net/dev has no ifindex: a link deleted and created again
		// shows only as traffic counters that went back.
		if c, b, a, back := trafficWentBack(prev, l); back {
			e.resetTraffic(l, c, b, a)
			return
		}
	}
	if d.quiet() {
		return
	}
	kind, inferred := l.Kind, false
	if kind == "" {
		kind = inferKind(l.Name)
		inferred = kind != ""
	}
	if !isTunnelKind(kind) {
		what := msgKindQuoted.text("kind", quote(kind))
		if kind == "" {
			what = msgKindUnknown.text()
		}
		e.note(msgNotTunnel.text("dev", showName(l.Name), "what", what))
		return
	}
	m := &movedLink{link: l, kind: kind, inferred: inferred, d: d, since: since, upperOnly: upperOnly}
	e.moved = append(e.moved, m)
	m.nb, m.unexpl = linkBuckets(kind, &m.d, &m.buckets)
}

// recreated adds the counter-reset finding of a link deleted and created
// again between the readings.
func (e *engine) recreated(l, prev *LinkReading) {
	e.lose(msgLostRecreated.text("dev", showName(prev.Name)))
	f := Finding{Interface: l.Name, Cause: "counter-reset", Count: 1, Certainty: Exact}
	var why string
	switch {
	case prev.Index != 0 && l.Index != 0 && prev.Index != l.Index:
		b, a := uint64(prev.Index), uint64(l.Index)
		f.Evidence = []Evidence{{Counter: "ifindex", Source: sourceName(l.Source), Before: &b, After: &a}}
		why = msgRecreatedIndex.text("dev", showName(l.Name), "before", inum(prev.Index), "after", inum(l.Index))
	case prev.Index != 0 && l.Index != 0:
		b, a := uint64(prev.Index), uint64(l.Index)
		f.Evidence = []Evidence{{Counter: "ifindex", Source: sourceName(l.Source), Before: &b, After: &a}}
		why = msgRecreatedKind.text("dev", showName(l.Name), "index", inum(l.Index), "before", showName(prev.Kind), "after", showName(l.Kind))
	default:
		f.Evidence = []Evidence{{Counter: "position", Source: sourceName(l.Source)}}
		f.Certainty = AtMost // the interfaces it changed places with may be the re-created ones
		why = msgRecreatedByOrder.text("dev", showName(l.Name))
	}
	e.fill(&f, causeByID("counter-reset"), l, why)
	e.rep.Findings = append(e.rep.Findings, f)
}

// trafficWentBack reports the first of a link's packet and byte counters
// that is smaller in the later reading: the link was recreated (or its
// driver reset its counters) even though no error counter shows it.
func trafficWentBack(prev, l *LinkReading) (counter string, before, after uint64, back bool) {
	pv, pok := trafficOf(prev)
	lv, lok := trafficOf(l)
	if !pok || !lok {
		return "", 0, 0, false
	}
	names := &trafficNames
	if l.Source == SourceProcNetDev || prev.Source == SourceProcNetDev {
		names = &trafficColumns
	}
	for i := range lv {
		if lv[i] < pv[i] {
			return names[i], pv[i], lv[i], true
		}
	}
	return "", 0, 0, false
}

var (
	trafficNames   = [4]string{"rx_packets", "rx_bytes", "tx_packets", "tx_bytes"}
	trafficColumns = [4]string{"rx packets", "rx bytes", "tx packets", "tx bytes"}
)

func trafficOf(l *LinkReading) ([4]uint64, bool) {
	switch l.Source {
	case SourceStats64, SourceStats32:
		s := &l.Stats
		return [4]uint64{s.RxPackets, s.RxBytes, s.TxPackets, s.TxBytes}, true
	case SourceProcNetDev:
		if d := l.Dev; d != nil {
			return [4]uint64{d.RxPackets, d.RxBytes, d.TxPackets, d.TxBytes}, true
		}
	}
	return [4]uint64{}, false
}

// resetTraffic adds the counter-reset finding of a link whose traffic
// counters went back.
func (e *engine) resetTraffic(l *LinkReading, counter string, b, a uint64) {
	e.lose(msgLostReset.text("dev", showName(l.Name)))
	f := Finding{Interface: l.Name, Cause: "counter-reset", Count: 1, Certainty: Exact}
	f.Evidence = []Evidence{{Counter: counter, Source: sourceName(l.Source), Before: &b, After: &a}}
	why := msgTrafficWentBack.text("dev", showName(l.Name), "counter", counter, "before", num(b), "after", num(a))
	e.fill(&f, causeByID("counter-reset"), l, why)
	e.rep.Findings = append(e.rep.Findings, f)
}

// reset adds the counter-reset finding of a link whose error counters went
// back under the same interface index.
func (e *engine) reset(l *LinkReading, bc, ac *counters, reset uint32) {
	e.lose(msgLostReset.text("dev", showName(l.Name)))
	f := Finding{Interface: l.Name, Cause: "counter-reset", Count: 1, Certainty: Exact}
	for i := range nCtr {
		if reset&(1<<i) == 0 {
			continue
		}
		b, a := bc.v[i], ac.v[i]
		f.Evidence = append(f.Evidence, Evidence{Counter: ac.name(i), Source: sourceName(l.Source), Before: &b, After: &a})
	}
	wrap := ""
	if l.Source == SourceStats32 {
		wrap = msgResetWrap.text()
	}
	e.fill(&f, causeByID("counter-reset"), l, msgReset.text("dev", showName(l.Name), "wrap", wrap))
	e.rep.Findings = append(e.rep.Findings, f)
}

// src names where the link's deltas come from.
func (m *movedLink) src() Source {
	if !m.d.split {
		return SourceProcNetDev
	}
	return sourceName(m.link.Source)
}

// sourceName is the evidence source of a link's counters (stats64 for a link
// read without a source, which is never explained).
func sourceName(s Source) Source {
	switch s {
	case SourceStats32:
		return SourceStats32
	case SourceProcNetDev:
		return SourceProcNetDev
	}
	return SourceStats64
}
