package explain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/linkid"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// Explain explains what the counters did between two readings of the same
// network namespace: before is the earlier one. A nil before means "since
// boot": every counter is explained from zero, as counters count since
// boot or since each interface was created.
//
// Explain never fails: what it cannot explain it reports (as an
// unexplained-counter finding or a note), and what it can only bound it
// says so through each Finding's Certainty. It does no I/O.
func Explain(before, after *Reading) Report {
	if after == nil {
		return Report{Notes: []string{"no reading to explain"}}
	}
	e := newEngine(before, after)
	return e.run()
}

// engine holds the state of one Explain call.
type engine struct {
	before, after *Reading
	bl, al        linkList // their links
	kernel        KernelVersion
	kernelKnown   bool
	mib           mibDelta
	mibWhy        string // why the MIB is not used, "" when it is
	rep           Report
	moved         []*movedLink   // pointers: a movedLink is about 1 KB, and thousands may move at once
	pairing       linkid.Pairing // computed only when positions differ
	paired        bool
	identical     int8 // readings without indexes: 1 the lists are identical, -1 not, 0 not yet known
	// lostEvents says why some of the interval's events are on no link of
	// the later reading ("" if none are): a link deleted, re-created or
	// reset in between took its events with it, though the MIB counted
	// them. Equal totals then prove nothing.
	lostEvents   string
	dupNoted     map[string]bool // names listed twice, already noted
	nsAttributed map[CauseID]uint64
	valueCache   map[*LinkReading]checkValues
	byIndex      map[int32]string
	look         *lookups // indexes of the policy and SA lists; nil: scan them
}

// movedLink is a tunnel link whose error counters moved.
type movedLink struct {
	link     *LinkReading
	kind     string
	inferred bool // kind guessed from the name
	d        counters
	nb       int
	buckets  [12]bucket
	unexpl   []ctr
	res      resolution
	since    string // "since boot" / "since it was created" / ""
	// upperOnly: the counters may include events before the interval, so
	// every count is an upper bound.
	upperOnly bool
	findings  []Finding
}

func newEngine(before, after *Reading) *engine {
	e := &engine{before: before, after: after, al: newLinkList(after)}
	if before != nil {
		e.bl = newLinkList(before)
	}
	return e
}

func (e *engine) run() Report {
	a := e.after
	e.rep.Until = a.Time
	if e.before != nil {
		e.rep.Since = e.before.Time
	}
	e.setKernel()
	e.setMIB()
	for i := range e.al.Len() {
		e.link(i)
	}
	if e.before != nil {
		e.vanished()
	}
	if len(e.moved) > 0 {
		e.explainLinks()
	}
	e.namespaceWide()
	return e.rep
}

func (e *engine) setKernel() {
	rel := e.after.KernelRelease
	if rel == "" && e.before != nil {
		rel = e.before.KernelRelease
	}
	if rel == "" {
		return
	}
	v, err := ParseKernelRelease(rel)
	if err != nil {
		e.note("kernel release %q not understood (%v): version-dependent findings are uncertain", rel, err)
		return
	}
	if e.before != nil && e.before.KernelRelease != "" && e.after.KernelRelease != "" && e.before.KernelRelease != e.after.KernelRelease {
		e.note("the kernel changed between the readings (%s → %s): the host rebooted, so every counter restarted", e.before.KernelRelease, e.after.KernelRelease)
	}
	e.kernel, e.kernelKnown = v, true
	e.rep.Kernel = v
}

func (e *engine) setMIB() {
	switch {
	case e.after.MIB == nil:
		e.mibWhy = "/proc/net/xfrm_stat was not read"
		return
	case e.before != nil && e.before.MIB == nil:
		e.mibWhy = "/proc/net/xfrm_stat was read only in the later reading"
		e.note("%s: the XFRM MIB is not used", e.mibWhy)
		return
	}
	var before *procnet.XfrmStat
	if e.before != nil {
		before = e.before.MIB
	}
	e.mib = newMIBDelta(before, e.after.MIB)
	if !e.mib.ok {
		e.mibWhy = "the XFRM MIB went backwards (the namespace was recreated or the readings are from different namespaces)"
		f := Finding{
			Cause:     "counter-reset",
			Count:     1,
			Certainty: Exact,
		}
		for _, i := range e.mib.reset {
			b, a := e.mib.before[i], e.mib.after[i]
			f.Evidence = append(f.Evidence, Evidence{Counter: mibNames[i], Source: SourceXfrmStat, Before: &b, After: &a})
		}
		e.fill(&f, causeByID("counter-reset"), nil, "The namespace's XFRM MIB is smaller in the later reading, so IPsec causes are explained from the links alone.")
		e.addNamespace(f)
	}
}

func (e *engine) note(format string, args ...any) {
	e.rep.Notes = append(e.rep.Notes, fmt.Sprintf(format, args...))
}

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
			e.note("The readings have no interface index (/proc/net/dev), so links are paired by name and by the order the kernel lists them in: an interface that moved behind others was deleted and created again.")
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
			e.note("%s is in the earlier reading only: it was deleted", e.bl.Name(i))
			e.lose(e.bl.Name(i) + " (deleted)")
		}
		return
	}
	for k, i := range e.pairing.Vanished {
		e.lose(e.bl.Name(i) + " (deleted)")
		if e.pairing.VanishedDuplicate[k] {
			e.note("%s is listed more than once in the earlier reading and not in the later one: it is not explained", e.bl.Name(i))
			continue
		}
		e.note("%s is in the earlier reading only: it was deleted", e.bl.Name(i))
	}
}

// lose records a link whose events in the interval no later link shows.
func (e *engine) lose(what string) {
	if e.lostEvents == "" {
		e.lostEvents = what
	} else if !strings.HasSuffix(e.lostEvents, "and others") {
		e.lostEvents += " and others"
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
			e.note("%s was renamed %s (the same interface, index %d): its counters go on, and the rename is no event", e.bl.Name(j), e.al.Name(i), e.al.Index(i))
		case linkid.Duplicate:
			if name := e.al.Name(i); !e.dupNoted[name] {
				if e.dupNoted == nil {
					e.dupNoted = map[string]bool{}
				}
				e.dupNoted[name] = true
				e.note("%s is listed more than once in a reading: which earlier line continues which cannot be told, so it is not explained", name)
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
		e.note("%s: the kernel sent no counters", l.Name)
		return
	}
	var bc counters
	bc.split = ac.split
	since := ""
	var prev *LinkReading // the same link in the earlier reading, when its counters can be subtracted
	upperOnly := false    // the counters only bound the interval's events
	switch {
	case e.before == nil:
		since = "since boot (or since the interface was created)"
	case how == linkid.New && l.Index == 0:
		// Without an index a new name at the end of the list is a new
		// interface or a renamed one: its counters may predate the
		// interval, so they only bound it.
		since = "since it appeared in the list (created in the interval, or renamed: without an interface index the two look the same, so every count is at most what happened in the interval)"
		upperOnly = true
	case how == linkid.New:
		since = "since it was created (it is new in the later reading)"
	case how == linkid.Recreated:
		p := e.bl.at(j)
		e.recreated(l, p)
		if p.Index != 0 && l.Index != 0 {
			since = fmt.Sprintf("since it was recreated (index %d → %d)", p.Index, l.Index)
		} else {
			// The order rule cannot tell which of two interfaces that
			// changed places was re-created: its counters, from the
			// re-creation or from long before, only bound the interval.
			since = "since it was created again, by the order rule (if it was not, its counters are older: every count is at most what happened in the interval)"
			upperOnly = true
		}
	default:
		prev = e.bl.at(j)
		var ok bool
		bc, ok = prev.counters()
		if !ok {
			since = "since the interface was created (the earlier reading had no counters)"
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
		what := "kind " + strconv.Quote(kind)
		if kind == "" {
			what = "kind unknown, and the name does not suggest a tunnel"
		}
		e.note("%s is not a tunnel (%s): its error counters moved but are not explained here", l.Name, what)
		return
	}
	m := &movedLink{link: l, kind: kind, inferred: inferred, d: d, since: since, upperOnly: upperOnly}
	e.moved = append(e.moved, m)
	m.nb, m.unexpl = linkBuckets(kind, &m.d, &m.buckets)
}

func (e *engine) recreated(l, prev *LinkReading) {
	e.lose(prev.Name + " before it was re-created")
	f := Finding{Interface: l.Name, Cause: "counter-reset", Count: 1, Certainty: Exact}
	var why string
	switch {
	case prev.Index != 0 && l.Index != 0 && prev.Index != l.Index:
		b, a := uint64(prev.Index), uint64(l.Index)
		f.Evidence = []Evidence{{Counter: "ifindex", Source: sourceName(l.Source), Before: &b, After: &a}}
		why = fmt.Sprintf("%s has a new interface index (%d → %d): it was deleted and created again, so its counters restarted; they are explained since then.", l.Name, prev.Index, l.Index)
	case prev.Index != 0 && l.Index != 0:
		b, a := uint64(prev.Index), uint64(l.Index)
		f.Evidence = []Evidence{{Counter: "ifindex", Source: sourceName(l.Source), Before: &b, After: &a}}
		why = fmt.Sprintf("%s has index %d in both readings but its kind changed (%s → %s): it was deleted and another link created under the same index, so its counters restarted; they are explained since then.", l.Name, l.Index, prev.Kind, l.Kind)
	default:
		f.Evidence = []Evidence{{Counter: "position", Source: sourceName(l.Source)}}
		f.Certainty = AtMost // the interfaces it changed places with may be the re-created ones
		why = fmt.Sprintf("%s moved behind interfaces it was listed before: the kernel lists interfaces in the order they were created, so it, or the interfaces it changed places with, was deleted and created again between the readings. The readings have no interface index: this is the order rule, the best one /proc/net/dev allows, and it cannot tell which; %s's counters are explained as an upper bound.", l.Name, l.Name)
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
		d := &l.Dev
		return [4]uint64{d.RxPackets, d.RxBytes, d.TxPackets, d.TxBytes}, true
	}
	return [4]uint64{}, false
}

func (e *engine) resetTraffic(l *LinkReading, counter string, b, a uint64) {
	e.lose(l.Name + " (its counters were reset)")
	f := Finding{Interface: l.Name, Cause: "counter-reset", Count: 1, Certainty: Exact}
	f.Evidence = []Evidence{{Counter: counter, Source: sourceName(l.Source), Before: &b, After: &a}}
	e.fill(&f, causeByID("counter-reset"), l, fmt.Sprintf("%s's %s went back from %d to %d: the interface was deleted and created again (or its counters were reset), which /proc/net/dev, without an interface index, shows only this way. The interval is not explained for this interface; explain the later reading alone (since boot) instead.", l.Name, counter, b, a))
	e.rep.Findings = append(e.rep.Findings, f)
}

func (e *engine) reset(l *LinkReading, bc, ac *counters, reset uint32) {
	e.lose(l.Name + " (its counters were reset)")
	f := Finding{Interface: l.Name, Cause: "counter-reset", Count: 1, Certainty: Exact}
	for i := range nCtr {
		if reset&(1<<i) == 0 {
			continue
		}
		b, a := bc.v[i], ac.v[i]
		f.Evidence = append(f.Evidence, Evidence{Counter: ac.name(i), Source: sourceName(l.Source), Before: &b, After: &a})
	}
	why := "Counters of " + l.Name + " went backwards with the same interface index: they were reset"
	if l.Source == SourceStats32 {
		why += " or a 32-bit counter wrapped at 2^32"
	}
	why += ". The interval is not explained for this interface; explain the later reading alone (since boot) instead."
	e.fill(&f, causeByID("counter-reset"), l, why)
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

// explainLinks turns the buckets of every moved link into findings.
func (e *engine) explainLinks() {
	// Which MIB counters more than one bucket draws on (of one link or of
	// several): the MIB is per namespace, so such counts can only be bounds.
	var users [nMIB]int
	if len(e.moved) >= indexFrom {
		e.look = newLookups(e.after)
	}
	for _, m := range e.moved {
		if isIPsecKind(m.kind) {
			m.res = resolveTX(m.kind, m.link.Tunnel, e.after, e.look)
		} else {
			m.res = resolveOuter(e.after)
		}
		hidden := m.kind == KindXfrm && e.xfrmErrorsMayBeHidden()
		for bi := 0; bi < m.nb; bi++ {
			b := &m.buckets[bi]
			b.causes = candidateTable[candidateKey{m.kind, b.key, m.d.split}]
			if hidden && (b.key == ctrTxDropped || b.key == ctrRxDropped) {
				b.causes = candidateTable[candidateKey{kindXfrmHidden, b.key, m.d.split}]
				b.xfrmHidden = true
			}
			b.mask = mibMask(b.causes)
			if m.link.CrossNetns {
				continue
			}
			for i := range nMIB {
				if b.mask&(1<<i) != 0 {
					users[i]++
				}
			}
		}
	}
	for _, m := range e.moved {
		for bi := 0; bi < m.nb; bi++ {
			b := &m.buckets[bi]
			shared := 0
			for i := range nMIB {
				if b.mask&(1<<i) != 0 && users[i] > shared {
					shared = users[i]
				}
			}
			e.bucket(m, b, shared)
		}
		for _, c := range m.unexpl {
			e.unexplained(m, c)
		}
		e.versionFinding(m)
		if m.upperOnly {
			for i := range m.findings {
				f := &m.findings[i]
				f.Certainty = AtMost
			}
		}
	}
	e.enforceMIBBounds()
	for _, m := range e.moved {
		e.rep.Findings = append(e.rep.Findings, m.findings...)
	}
}

// xfrmErrorsMayBeHidden reports whether the kernel may be one whose xfrm
// interfaces report no error counters (before 5.11), so that their drops
// stand for every kind of error: it is older, or unknown.
func (e *engine) xfrmErrorsMayBeHidden() bool {
	return !e.kernelKnown || e.kernel.Less(xfrmHiddenSince)
}

// enforceMIBBounds is the last word on every link finding of a cause the
// XFRM MIB counts in full (every event moves its MIB counters): the exact
// and at-least counts of that cause over all links of the namespace never
// add up to more than the MIB counted. Findings that would are bounds
// instead. The rules before this one should never get there; this makes
// sure no reading can make them.
func (e *engine) enforceMIBBounds() {
	if !e.mib.ok {
		return
	}
	var claimed map[CauseID]uint64
	for _, m := range e.moved {
		if m.link.CrossNetns {
			continue
		}
		for i := range m.findings {
			if f := &m.findings[i]; f.Certainty == Exact || f.Certainty == AtLeast {
				if claimed == nil {
					claimed = map[CauseID]uint64{}
				}
				claimed[f.Cause] += f.Count
			}
		}
	}
	for id, n := range claimed {
		c := causeByID(id)
		if c == nil || !c.mibBearing() || c.Signature.AlsoWithoutMIB {
			continue
		}
		m, known := e.mib.count(c)
		if !known || n <= m {
			continue
		}
		why := fmt.Sprintf(" The tunnels' counters claim %d %s events while %s counted %d in the whole namespace: the count is only a bound.", n, id, strings.Join(c.Signature.MIB, "+"), m)
		for _, ml := range e.moved {
			if ml.link.CrossNetns {
				continue
			}
			for i := range ml.findings {
				f := &ml.findings[i]
				if f.Cause == id && (f.Certainty == Exact || f.Certainty == AtLeast) {
					f.Certainty, f.Count = AtMost, min(f.Count, m)
					f.Explanation += why
					f.GroupExplanation += why
				}
			}
		}
	}
}

// candidate is a cause still in the running for a bucket's events.
type candidate struct {
	c        *Cause
	m        uint64 // MIB events of this cause in the namespace
	mibKnown bool   // m is known
}

// countedInFull reports whether the MIB counted events of the cause and
// counts every one of them, so that m bounds its events anywhere.
func (cd candidate) countedInFull() bool {
	return cd.mibKnown && cd.m > 0 && !cd.c.Signature.AlsoWithoutMIB
}

// bucket explains one bucket of one link. shared is how many links'
// buckets draw on the same MIB counters.
func (e *engine) bucket(m *movedLink, b *bucket, shared int) {
	l := m.link
	if len(b.causes) == 0 {
		e.unexplained(m, b.key)
		return
	}
	var why []string
	why = append(why, e.bucketText(m, b))
	useMIB := e.mib.ok && !l.CrossNetns
	switch {
	case l.CrossNetns:
		why = append(why, "The tunnel's underlay is in another network namespace, whose XFRM MIB counts its IPsec events; this namespace's MIB is not used for it.")
	case !e.mib.ok && b.mask != 0:
		why = append(why, "Without the XFRM MIB ("+e.mibWhy+"), the IPsec causes cannot be told apart.")
	}

	// Filter the catalogue's candidates: kernel version, configuration,
	// MIB counters that did not move. A filter that would leave nothing is
	// skipped and said.
	cands := make([]candidate, 0, len(b.causes))
	for _, c := range b.causes {
		cd := candidate{c: c}
		if useMIB {
			cd.m, cd.mibKnown = e.mib.count(c)
		}
		cands = append(cands, cd)
	}
	cands = e.filter(cands, &why, func(cd candidate) bool {
		return e.kernelKnown && cd.c.Since.Known() && e.kernel.Less(cd.c.Since)
	}, "kernel "+e.kernel.String()+" cannot produce %s")
	if m.res.done && slices.ContainsFunc(b.causes, isTxLookup) {
		why = append(why, m.res.why)
		cands = e.filter(cands, &why, func(cd candidate) bool { return m.res.excluded(cd.c.ID) }, "the policies rule out %s")
	}
	if useMIB {
		cands = e.filter(cands, &why, func(cd candidate) bool {
			return cd.mibKnown && cd.m == 0 && !cd.c.Signature.AlsoWithoutMIB
		}, "the XFRM MIB counted no %s event")
	}

	group := l.Name + "/" + m.d.name(b.key)
	if b.only {
		group += "-only"
	}
	mk := func(cd candidate, n uint64, cert Certainty) Finding {
		f := Finding{Interface: l.Name, Cause: cd.c.ID, Count: n, Certainty: cert, Group: group}
		f.Evidence = e.linkEvidence(m, b)
		if useMIB {
			f.Evidence = append(f.Evidence, e.mibEvidence(cd.c)...)
		}
		return f
	}
	var out []Finding
	standalone := 0        // out's first findings stand alone: they add up, the rest are alternatives
	var remainder *Finding // events no cause left accounts for
	var idsWhy []string
	partition := false // out's findings split the events between them, they are not alternatives
	// Sum of the namespace's MIB events over the MIB-bearing candidates.
	var mSum uint64
	mibLess := 0
	withMIB := 0
	for _, cd := range cands {
		if cd.mibKnown && cd.m > 0 {
			mSum += cd.m
			withMIB++
		}
		if !cd.c.mibBearing() || cd.c.Signature.AlsoWithoutMIB || !cd.mibKnown {
			mibLess++
		}
	}
	switch {
	case m.upperOnly:
		// The counters may hold events from before the interval: every
		// cause left may account for up to all of the bucket.
		for _, cd := range cands {
			n := b.upper
			if useMIB && cd.mibKnown && cd.c.mibBearing() && !cd.c.Signature.AlsoWithoutMIB {
				n = min(n, cd.m)
			}
			out = append(out, mk(cd, n, AtMost))
		}
	case len(cands) == 1 && useMIB && mibShort(cands[0], b.n):
		// The only cause left is one the MIB counts in full, and the MIB
		// counted fewer: it bounds the cause, and the rest fits no cause
		// left (a rule-out was wrong, or the catalogue misses a path).
		cd := cands[0]
		if cd.m > 0 {
			out = append(out, mk(cd, cd.m, AtMost))
		}
		idsWhy = append(idsWhy, fmt.Sprintf("%s is the only cause left, but %s counted only %d such events in the whole namespace: at most %d of the %d are %s.",
			cd.c.ID, strings.Join(cd.c.Signature.MIB, "+"), cd.m, cd.m, b.n, cd.c.ID))
		rest := b.n - cd.m
		remainder = &Finding{Interface: l.Name, Cause: "unexplained-counter", Count: rest, Certainty: AtLeast, Evidence: e.linkEvidence(m, b)}
		e.fill(remainder, causeByID("unexplained-counter"), l, fmt.Sprintf("At least %d of %s's %d %s events fit no cause left after the rule-outs, and the XFRM MIB does not count them as %s.", rest, l.Name, b.n, m.d.name(b.key), cd.c.ID))
	case len(cands) == 1:
		cd := cands[0]
		if len(b.causes) == 1 {
			idsWhy = append(idsWhy, "No other catalogued cause moves this counter on a "+m.kind+".")
		} else {
			idsWhy = append(idsWhy, "Every other cause that moves this counter is ruled out.")
		}
		switch {
		case !b.lower:
			out = append(out, mk(cd, b.n, Exact))
		case b.n > 0:
			out = append(out, mk(cd, b.n, AtLeast))
		default: // no drop need be its own; up to upper may be
			out = append(out, mk(cd, b.upper, AtMost))
		}
	case useMIB && shared <= 1 && e.lostEvents == "" && withMIB == 1 && mSum == b.n && !b.lower && !e.silentlyShared(cands, l):
		// The tie: exactly one MIB counter among the candidates' moved, by
		// exactly the link's count, and no other tunnel draws on it.
		for _, cd := range cands {
			if cd.mibKnown && cd.m > 0 {
				idsWhy = append(idsWhy, fmt.Sprintf("%s moved by exactly %d, the same as %s's count, and no other tunnel draws on it: each event is one %s (this assumes no traffic outside the tunnel moved that namespace-wide counter in the interval, which the equal totals strongly suggest).",
					strings.Join(cd.c.Signature.MIB, "+"), cd.m, l.Name, cd.c.ID))
				out = append(out, mk(cd, b.n, Exact))
			}
		}
	case useMIB && shared <= 1 && e.lostEvents == "" && withMIB > 1 && mSum == b.n && !b.lower && !e.silentlyShared(cands, l):
		// The partition: several of the candidates' MIB counters moved,
		// and together by exactly the link's count, and no other tunnel
		// draws on them: each MIB count is that many events of its cause,
		// and nothing is left for the causes the MIB does not count.
		var parts []string
		for _, cd := range cands {
			if cd.mibKnown && cd.m > 0 {
				parts = append(parts, fmt.Sprintf("%s +%d", strings.Join(cd.c.Signature.MIB, "+"), cd.m))
				out = append(out, mk(cd, cd.m, Exact))
			}
		}
		partition = true
		idsWhy = append(idsWhy, fmt.Sprintf("The XFRM MIB splits %s's %d events exactly (%s), and no other tunnel draws on these counters: each is that many events of its cause (this assumes no traffic outside the tunnel moved them in the interval, which the equal totals strongly suggest).",
			l.Name, b.n, strings.Join(parts, ", ")))
	case useMIB && shared <= 1 && e.lostEvents == "" && !b.lower && mSum < b.n && !e.silentlyShared(cands, l) && closedSplit(cands, b.n):
		// The MIB accounts for part of the link's events, and no other
		// tunnel draws on its counters: each MIB count is that many events
		// of its cause, and the rest are causes the MIB does not count
		// (one of them, or one of several).
		var parts, left []string
		var counted uint64
		for _, cd := range cands {
			if cd.countedInFull() {
				parts = append(parts, fmt.Sprintf("%s +%d", strings.Join(cd.c.Signature.MIB, "+"), cd.m))
				out = append(out, mk(cd, cd.m, Exact))
				counted += cd.m
			}
		}
		standalone = len(out)
		rest := b.n - counted
		for _, cd := range cands {
			if !cd.countedInFull() {
				left = append(left, string(cd.c.ID))
			}
		}
		cert := Candidate
		if len(left) == 1 {
			cert = Exact
		}
		for _, cd := range cands {
			if !cd.countedInFull() {
				out = append(out, mk(cd, rest, cert))
			}
		}
		idsWhy = append(idsWhy, fmt.Sprintf("The XFRM MIB accounts for %d of %s's %d events (%s), and no other tunnel draws on these counters: each is that many events of its cause (this assumes no traffic outside the tunnels moved them in the interval). The rest (%d) are %s, which the MIB does not count.",
			counted, l.Name, b.n, strings.Join(parts, ", "), rest, joinOr(left)))
	default:
		if useMIB && e.lostEvents != "" && withMIB > 0 {
			idsWhy = append(idsWhy, fmt.Sprintf("The XFRM MIB also counted the events of %s, which no link of the later reading shows, so its counts are only upper bounds here.", e.lostEvents))
		}
		if useMIB && shared > 1 {
			idsWhy = append(idsWhy, fmt.Sprintf("The XFRM MIB counts the whole namespace while %d tunnels had such errors, so a MIB count is only an upper bound for each.", shared))
		}
		for _, cd := range cands {
			switch {
			case cd.countedInFull():
				out = append(out, mk(cd, min(b.upper, cd.m), AtMost))
			case useMIB && mibLess == 1 && mSum < b.n && (!cd.c.mibBearing() || cd.c.Signature.AlsoWithoutMIB):
				// The only cause the MIB does not count must take the
				// events the MIB cannot.
				out = append(out, mk(cd, b.n-mSum, AtLeast))
				idsWhy = append(idsWhy, fmt.Sprintf("The MIB accounts for at most %d of the %d events; %s is the only candidate the MIB does not count, so at least %d are %s.", mSum, b.n, cd.c.ID, b.n-mSum, cd.c.ID))
			case b.lower:
				// The bucket holds at least n events and at most upper;
				// each of several causes may have any number up to upper.
				out = append(out, mk(cd, b.upper, AtMost))
			default:
				out = append(out, mk(cd, b.n, Candidate))
			}
		}
		if len(out) > 1 {
			idsWhy = append(idsWhy, "The counters cannot tell these causes apart"+e.tellApart(m, b, out)+".")
		}
	}
	why = append(why, idsWhy...)
	if m.inferred {
		why = append(why, fmt.Sprintf("%s's kind is unknown; %q is assumed from its name (ip -d link show dev %s tells).", l.Name, m.kind, l.Name))
	}
	ids := make([]CauseID, len(out))
	for i := range out {
		ids[i] = out[i].Cause
	}
	shared2 := strings.Join(why, " ")
	if partition {
		standalone = len(out)
	}
	alternatives := ids[standalone:]
	for i := range out {
		f := &out[i]
		if i < standalone || len(alternatives) == 1 {
			f.Group = "" // it stands alone: it adds up with the others
		} else {
			for _, id := range alternatives {
				if id != f.Cause {
					f.Candidates = append(f.Candidates, id)
				}
			}
		}
		c := causeByID(f.Cause)
		e.fill(f, c, l, shared2)
		f.GroupExplanation = shared2
		for i, ls := range c.linkSignatures(m.kind) {
			// The signature that put the cause in this bucket (an xfrm
			// interface's hidden errors: the first).
			if k, ok := bucketOf(ls.Counters[0], m.d.split); i == 0 || (ok && k == b.key) {
				f.Field = ls.Counters[0]
				if ok && k == b.key {
					break
				}
			}
		}
		e.attribute(f)
	}
	m.findings = append(m.findings, out...)
	if remainder != nil {
		m.findings = append(m.findings, *remainder)
	}
}

// silentlyShared reports whether a tunnel of the reading may have moved the
// MIB counters of cands without a link counter showing it, so that equal
// totals prove nothing:
//
//   - a link of a kind on which the cause is silent (it counts the dropped
//     packet as sent or received): this one, or another that sent or
//     received packets in the interval, or that is new;
//   - any VTI or xfrm interface (this one included) whose kind the cause
//     moves no counter of, or only across namespaces: the kernel counts
//     the event in the MIB before any tunnel sees the packet (an ESP packet
//     with an unknown SPI for an xfrm interface);
//   - on a kernel whose xfrm interfaces report no error counters (before
//     5.11), any xfrm interface for a cause whose xfrm signature moves no
//     drop counter: the packet is neither counted as sent nor shown.
func (e *engine) silentlyShared(cands []candidate, self *LinkReading) bool {
	for _, cd := range cands {
		if !cd.mibKnown || cd.m == 0 {
			continue
		}
		c := cd.c
		hiddenOnXfrm := e.xfrmErrorsMayBeHidden() && c.linkSignatureFor(KindXfrm) != nil &&
			!c.movesAny(KindXfrm, cTxDropped, cRxDropped)
		for i := range e.al.Len() {
			name, kind, cross := e.al.kind(i)
			if kind == "" {
				kind = inferKind(name)
			}
			if cross {
				continue
			}
			if (kind == KindXfrm && hiddenOnXfrm) || (isIPsecKind(kind) && mibOnlyOn(c, kind)) {
				return true
			}
			if !slices.Contains(c.Signature.SilentOn, kind) {
				continue
			}
			if name == self.Name {
				return true // some of its own events may have been counted as sent
			}
			if e.before == nil {
				return true
			}
			j, how := e.prevOf(i)
			if how != linkid.Same && how != linkid.Renamed {
				return true
			}
			// A silent drop is counted as a packet sent or received.
			b, bok := trafficOf(e.bl.at(j))
			a, aok := trafficOf(e.al.at(i))
			if !bok || !aok || a[0] != b[0] || a[2] != b[2] { // rx_packets, tx_packets
				return true
			}
		}
	}
	return false
}

// mibOnlyOn reports whether an event of c on a tunnel of kind (in the same
// namespace as its underlay) may move the MIB and no counter of the link:
// c has no signature for kind, or only ones that need another namespace.
func mibOnlyOn(c *Cause, kind string) bool {
	for _, ls := range c.linkSignatures(kind) {
		if !strings.Contains(ls.Note, "another namespace") {
			return false
		}
	}
	return true
}

// closedSplit reports whether the candidates' MIB counts, of the causes
// whose every event the MIB counts, stay within n and leave the rest to at
// least one cause the MIB does not count (in full).
func closedSplit(cands []candidate, n uint64) bool {
	var counted uint64
	var full, rest int
	for _, cd := range cands {
		if cd.countedInFull() {
			counted += cd.m
			full++
		} else if !cd.mibKnown || !cd.c.mibBearing() || cd.c.Signature.AlsoWithoutMIB {
			rest++
		}
	}
	return full > 0 && rest > 0 && counted < n
}

func joinOr(ids []string) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	return "one of " + strings.Join(ids[:len(ids)-1], ", ") + " or " + ids[len(ids)-1]
}

// mibShort reports whether cd is a cause every event of which moves the
// MIB, and the MIB counted fewer than n in the namespace.
func mibShort(cd candidate, n uint64) bool {
	return cd.mibKnown && cd.c.mibBearing() && !cd.c.Signature.AlsoWithoutMIB && cd.m < n
}

func isTxLookup(c *Cause) bool { return slices.Contains(txLookupCauses[:], c.ID) }

// filter drops the candidates drop selects, unless that would drop all of
// them; either way it says what it did.
func (e *engine) filter(cands []candidate, why *[]string, drop func(candidate) bool, format string) []candidate {
	var kept []candidate
	var gone []string
	for _, cd := range cands {
		if drop(cd) {
			gone = append(gone, string(cd.c.ID))
		} else {
			kept = append(kept, cd)
		}
	}
	if len(gone) == 0 {
		return cands
	}
	if len(kept) == 0 {
		*why = append(*why, "Taken alone, "+fmt.Sprintf(format, strings.Join(gone, ", "))+", which would leave no cause: that evidence is set aside.")
		return cands
	}
	*why = append(*why, capitalize(fmt.Sprintf(format, strings.Join(gone, ", ")))+".")
	return kept
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// bucketText says what a bucket is, in words.
func (e *engine) bucketText(m *movedLink, b *bucket) string {
	l := m.link
	n := strconv.FormatUint(b.n, 10)
	since := ""
	if m.since != "" {
		since = " " + m.since
	}
	if !m.d.split {
		switch b.key {
		case ctrTxCarrier:
			return fmt.Sprintf("%s counted %s TX errors%s in /proc/net/dev's carrier column. That column adds tx_carrier_errors (on a %s: the route, policy or SA lookup failed, or the SA did not fit) and tx_aborted_errors (IPsec output or the underlay failed after the packet left the tunnel), plus tx_window and tx_heartbeat errors that tunnels never count; so from /proc/net/dev a lookup failure and an output failure look the same. Netlink stats64 (ip -s -s link show dev %s) keep them apart.",
				l.Name, n, since, m.kind, l.Name) + allTxHere(m, b)
		case ctrRxFrame:
			return fmt.Sprintf("%s counted %s RX errors%s in /proc/net/dev's frame column, which adds rx_length, rx_over, rx_crc and rx_frame errors; netlink stats64 (ip -s -s link show dev %s) keep them apart.", l.Name, n, since, l.Name)
		}
	}
	name := m.d.name(b.key)
	if ctrIsRx(b.key) && !m.d.split {
		name = "RX " + name
	} else if !m.d.split {
		name = "TX " + name
	}
	switch {
	case b.xfrmHidden:
		dir := "transmit"
		if b.key == ctrRxDropped {
			dir = "receive"
		}
		when := fmt.Sprintf("kernel %s", e.kernel)
		if !e.kernelKnown {
			when = "if the kernel is older than 5.11 (its release is unknown)"
		}
		return fmt.Sprintf("%s counted %s %s%s. Before 5.11 an xfrm interface reports only packets, bytes, rx_dropped and tx_dropped (xfrmi_get_stats64): its error counters are counted but never shown, so on %s a drop is any %s error that dropped the packet, or a plain drop.", l.Name, n, name, since, when, dir)
	case b.only && b.key == ctrTxErrors:
		return fmt.Sprintf("%s counted %s TX errors%s that no more specific counter accounts for (tx_errors minus carrier, aborted, collisions and fifo).", l.Name, n, since)
	case b.only && b.lower && b.n == 0:
		return fmt.Sprintf("%s counted %d %s%s; up to all of them may be drops without an error of their own (the counters do not tell how many of its errors came with a drop).", l.Name, b.upper, name, since)
	case b.only && b.lower:
		return fmt.Sprintf("%s counted at least %s %s%s beyond the drops it pairs with its own errors, and at most %d.", l.Name, n, name, since, b.upper)
	case b.only:
		return fmt.Sprintf("%s counted %s %s%s without a matching error counter.", l.Name, n, name, since)
	}
	return fmt.Sprintf("%s counted %s %s%s.", l.Name, n, name, since) + allTxHere(m, b)
}

// allTxHere notes when a TX bucket holds every TX error of the link: then no
// routing loop, oversize packet or unsupported protocol happened.
func allTxHere(m *movedLink, b *bucket) string {
	if ctrIsRx(b.key) || b.only || m.d.v[ctrTxErrors] != b.n {
		return ""
	}
	if b.key == ctrTxCarrier || b.key == ctrTxAborted {
		// Routing loops count collisions, oversize packets and unsupported
		// protocols tx_errors alone: none of them is in these counters.
		return fmt.Sprintf(" Every TX error of %s is in this counter (errs = %d), so none was a routing loop, an oversize packet or an unsupported protocol.", m.link.Name, b.n)
	}
	return fmt.Sprintf(" Every TX error of %s is in this counter (errs = %d): no other kind of transmit error happened.", m.link.Name, b.n)
}

// tellApart says what tells a group's candidates apart.
func (e *engine) tellApart(m *movedLink, b *bucket, out []Finding) string {
	var hints []string
	if !m.d.split && b.key == ctrTxCarrier {
		hints = append(hints, "ip -s -s link show splits lookup failures (carrier) from output failures (aborted)")
	}
	if !e.mib.ok && b.mask != 0 {
		hints = append(hints, "/proc/net/xfrm_stat names the IPsec cause")
	}
	if isIPsecKind(m.kind) && len(out) > 1 && slices.ContainsFunc(out, func(f Finding) bool { return f.Cause == "tx-no-route" }) {
		hints = append(hints, "tx-no-route needs a packet that reached the tunnel without a route, which only a packet socket or bpf_redirect sends: where nothing on the host does that, it is one of the others")
	}
	hasLookup := slices.ContainsFunc(out, func(f Finding) bool { return slices.Contains(txLookupCauses[:], f.Cause) })
	if hasLookup && !m.res.done {
		if e.after.Policies == nil {
			hints = append(hints, "the outbound policy list (ip xfrm policy) settles no-policy versus SA mismatch")
		} else if m.link.Tunnel == nil {
			hints = append(hints, "the tunnel's parameters (local, remote, okey) let the policy list settle no-policy versus SA mismatch")
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return ": " + strings.Join(hints, "; ")
}

func (e *engine) linkEvidence(m *movedLink, b *bucket) []Evidence {
	src := m.src()
	ev := []Evidence{{Counter: m.d.name(b.key), Delta: m.d.v[b.key], Source: src, SumOf: sumOf(&m.d, b.key)}}
	switch {
	case b.key != ctrTxErrors && !ctrIsRx(b.key) && b.key != ctrTxDropped && m.d.v[ctrTxErrors] != 0:
		ev = append(ev, Evidence{Counter: m.d.name(ctrTxErrors), Delta: m.d.v[ctrTxErrors], Source: src})
	case b.key != ctrRxErrors && ctrIsRx(b.key) && m.d.v[ctrRxErrors] != 0:
		ev = append(ev, Evidence{Counter: m.d.name(ctrRxErrors), Delta: m.d.v[ctrRxErrors], Source: src})
	}
	if b.key == ctrTxErrors && b.only {
		for _, c := range [...]ctr{ctrTxCarrier, ctrTxAborted, ctrCollisions, ctrTxFIFO} {
			if m.d.v[c] != 0 {
				ev = append(ev, Evidence{Counter: m.d.name(c), Delta: m.d.v[c], Source: src, SumOf: sumOf(&m.d, c)})
			}
		}
	}
	if b.key == ctrRxErrors && m.d.v[ctrRxDropped] != 0 {
		ev = append(ev, Evidence{Counter: m.d.name(ctrRxDropped), Delta: m.d.v[ctrRxDropped], Source: src, SumOf: sumOf(&m.d, ctrRxDropped)})
	}
	if (b.key == ctrTxDropped || b.key == ctrRxDropped) && b.only {
		other := ctrTxErrors
		if b.key == ctrRxDropped {
			other = ctrRxErrors
		}
		ev = append(ev, Evidence{Counter: m.d.name(other), Delta: m.d.v[other], Source: src})
	}
	if pairsDrops(m.kind) && !ctrIsRx(b.key) && b.key != ctrTxDropped && m.d.v[ctrTxDropped] != 0 {
		ev = append(ev, Evidence{Counter: m.d.name(ctrTxDropped), Delta: m.d.v[ctrTxDropped], Source: src})
	}
	return ev
}

func sumOf(d *counters, c ctr) []string {
	if d.split {
		return nil
	}
	return procSums[c]
}

func (e *engine) mibEvidence(c *Cause) []Evidence {
	var ev []Evidence
	for _, name := range append(slices.Clip(c.Signature.MIB), c.Signature.MIBMinus...) {
		i := mibIndex[name]
		if e.mib.present[i] {
			ev = append(ev, Evidence{Counter: name, Delta: e.mib.v[i], Source: SourceXfrmStat})
		}
	}
	return ev
}

// attribute records how many events of a MIB-counted cause the links
// account for at most, for the namespace-wide findings.
func (e *engine) attribute(f *Finding) {
	if e.nsAttributed == nil {
		e.nsAttributed = map[CauseID]uint64{}
	}
	e.nsAttributed[f.Cause] += f.Count
}

func (e *engine) unexplained(m *movedLink, c ctr) {
	l := m.link
	f := Finding{Interface: l.Name, Cause: "unexplained-counter", Count: m.d.v[c], Certainty: Exact}
	f.Evidence = []Evidence{{Counter: m.d.name(c), Delta: m.d.v[c], Source: m.src(), SumOf: sumOf(&m.d, c)}}
	why := fmt.Sprintf("%s moved on %s (kind %s), and no catalogued kernel path of that kind increments it.", m.d.name(c), l.Name, m.kind)
	if m.inferred {
		why += fmt.Sprintf(" The kind was assumed from the name; if %s is not a %s, that explains it.", l.Name, m.kind)
	}
	e.fill(&f, causeByID("unexplained-counter"), l, why)
	m.findings = append(m.findings, f)
}

// versionRules are the behaviours that changed between kernel releases, per
// cause and kind.
var versionRules = []struct {
	cause          CauseID
	kinds          []string
	since          KernelVersion
	uncertainBelow bool // stable kernels below since may carry the change
	text           string
}{
	{"tx-no-route", kindsVTIAll, KernelVersion{Major: 5, Minor: 5}, false,
		"before 5.5 every packet reaching a VTI without a route counted as a carrier error; from 5.5 the tunnel looks a route up first and counts only its failure"},
	{"tx-no-sa", kindsVTIBoth, KernelVersion{Major: 5, Minor: 9}, false,
		"from 5.9 (xfrm_lookup_route in vti_xmit) with net.core.xfrm_larval_drop=0, a packet without an SA waits in the hold queue and counts as sent instead"},
	{"tx-queue-full", kindsVTIBoth, KernelVersion{Major: 5, Minor: 9}, false,
		"the policy hold queue exists for VTI only from 5.9"},
	{"tx-too-big", kindsVTIAll, KernelVersion{Major: 5, Minor: 12}, true,
		"before 5.12 a VTI dropped every oversize packet; from 5.12 (and in stable kernels that took the fix) an IPv4 packet without DF passes and is fragmented after encapsulation, so only DF or IPv6 packets count"},
	{"tx-core-drop", []string{KindXfrm}, xfrmHiddenSince, false,
		"before 5.11 an xfrm interface reports no error counters, so its tx_dropped counts every transmit error that dropped the packet"},
	{"rx-backlog-full", []string{KindXfrm}, xfrmHiddenSince, false,
		"before 5.11 an xfrm interface reports no error counters, so its rx_dropped counts every IPsec input error"},
	{"tx-policy-default-block", kindsAll, KernelVersion{Major: 5, Minor: 15}, true,
		"default policies exist from 5.15, and in 5.10.y from 5.10.118"},
	{"tx-tunnel-recursion", kindsIPTnl, KernelVersion{Major: 6, Minor: 12, Patch: 78}, true,
		"the tunnel recursion limit exists in 6.12.y from 6.12.78 and in newer releases; other stable series have it once they took the fix"},
	{"tx-sa-dir-error", kindsVTIAll, KernelVersion{Major: 6, Minor: 10}, false,
		"SA directions exist from 6.10"},
	{"rx-dir-error", kindsVTIAll, KernelVersion{Major: 6, Minor: 10}, false,
		"SA directions exist from 6.10"},
}

// versionFinding adds a kernel-version-dependent finding when a link's
// findings involve behaviour that changed between releases and the kernel
// is unknown or in the range where stable backports make it uncertain.
func (e *engine) versionFinding(m *movedLink) {
	var texts []string
	var n uint64
	var affected []CauseID
	for _, f := range m.findings {
		for _, r := range versionRules {
			if r.cause != f.Cause || !slices.Contains(r.kinds, m.kind) {
				continue
			}
			if e.kernelKnown && !(r.uncertainBelow && e.kernel.Less(r.since)) {
				continue
			}
			if !slices.Contains(texts, r.text) {
				texts = append(texts, r.text)
			}
			if !slices.Contains(affected, f.Cause) {
				affected = append(affected, f.Cause)
			}
			n = max(n, f.Count)
		}
	}
	if len(texts) == 0 {
		return
	}
	f := Finding{Interface: m.link.Name, Cause: "kernel-version-dependent", Count: n, Certainty: AtMost}
	var lead string
	if e.kernelKnown {
		lead = fmt.Sprintf("Kernel %s is older than a change that stable kernels may have backported, so what %s counted depends on the exact build:", e.kernel, m.link.Name)
	} else {
		lead = fmt.Sprintf("The kernel release is unknown, and the meaning of %s's %s depends on it:", m.link.Name, joinIDs(affected))
	}
	f.Evidence = []Evidence{}
	for _, g := range m.findings {
		if slices.Contains(affected, g.Cause) {
			f.Evidence = append(f.Evidence, g.Evidence[0])
			break
		}
	}
	e.fill(&f, causeByID("kernel-version-dependent"), m.link, lead+" "+strings.Join(texts, "; ")+".")
	m.findings = append(m.findings, f)
}

func joinIDs(ids []CauseID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

// fill copies the catalogue's text into a finding and fills its checks.
func (e *engine) fill(f *Finding, c *Cause, l *LinkReading, why string) {
	f.Title = c.Title
	f.KernelRef = c.KernelRefs
	f.Kernels = c.Kernels
	f.Explanation = c.Explanation
	if why != "" {
		f.Explanation += " " + why
	}
	var v checkValues
	if l != nil {
		v = e.values(l)
	}
	f.Checks = make([]Check, 0, len(c.Checks))
	for _, t := range c.Checks {
		if l == nil && strings.Contains(t.Command, "{dev}") {
			continue // a namespace-wide finding has no interface to look at
		}
		f.Checks = append(f.Checks, v.fill(t))
	}
}

// values returns the check values of a link, computed once per Explain.
func (e *engine) values(l *LinkReading) checkValues {
	if v, ok := e.valueCache[l]; ok {
		return v
	}
	if e.valueCache == nil {
		e.valueCache = map[*LinkReading]checkValues{}
	}
	v := valuesFor(l, e.after, e.linkName, e.look)
	e.valueCache[l] = v
	return v
}

// linkName returns the name of the later reading's link with index idx.
func (e *engine) linkName(idx int32) string {
	if e.byIndex == nil {
		e.byIndex = make(map[int32]string, e.al.Len())
		for i := range e.al.Len() {
			if idx := e.al.Index(i); idx != 0 {
				e.byIndex[idx] = e.al.Name(i)
			}
		}
	}
	return e.byIndex[idx]
}

func (e *engine) addNamespace(f Finding) {
	f.Interface = ""
	e.rep.Findings = append(e.rep.Findings, f)
}

// namespaceWide reports every MIB-counted cause with the namespace's count,
// and the kernel quirks the MIB reveals.
func (e *engine) namespaceWide() {
	if !e.mib.ok {
		return
	}
	for i := range catalogue {
		c := &catalogue[i]
		if !c.mibBearing() || strings.HasPrefix(string(c.ID), "kernel-") {
			continue
		}
		n, known := e.mib.count(c)
		if !known || n == 0 {
			continue
		}
		f := Finding{Cause: c.ID, Count: n, Certainty: Exact, Evidence: e.mibEvidence(c)}
		var why string
		if a := e.nsAttributed[c.ID]; a >= n {
			why = fmt.Sprintf("%s counts every such event in the namespace (%d); the tunnel findings above may account for all of them (they are part of this count, not in addition to it).", strings.Join(c.Signature.MIB, "+"), n)
		} else if a > 0 {
			why = fmt.Sprintf("%s counts every such event in the namespace (%d); the tunnel findings above account for at most %d of them, the rest come from other IPsec traffic (policy-based tunnels, GRE over IPsec, an xfrm interface that does not count it) or from tunnels in namespaces that share this underlay.", strings.Join(c.Signature.MIB, "+"), n, a)
		} else {
			why = fmt.Sprintf("%s counts every such event in the namespace (%d). None shows on a tunnel link in this reading: the packets belong to policy-based IPsec, GRE or IPIP over IPsec, an xfrm interface that does not count this cause, or a path the link counts as successful.", strings.Join(c.Signature.MIB, "+"), n)
		}
		e.fill(&f, c, nil, why)
		e.addNamespace(f)
	}
	e.quirkDropsCountedAsSent()
	e.quirkDeadCounters()
}

func (e *engine) quirkDropsCountedAsSent() {
	i := mibIndex["XfrmOutStateProtoError"]
	p := e.mib.v[i]
	if p == 0 {
		return
	}
	var vtis []string
	for li := range e.al.Len() {
		name, kind, cross := e.al.kind(li)
		if kind == "" {
			kind = inferKind(name)
		}
		if (kind != KindVTI && kind != KindVTI6) || cross {
			continue
		}
		vtis = append(vtis, name)
	}
	if len(vtis) == 0 {
		return
	}
	// A VTI counts an IPsec drop of this kind as a sent packet, so its own
	// output errors say nothing of them: up to all are such drops.
	f := Finding{Cause: "kernel-drops-counted-as-sent", Count: p, Certainty: AtMost,
		Evidence: []Evidence{{Counter: "XfrmOutStateProtoError", Delta: p, Source: SourceXfrmStat}}}
	e.fill(&f, causeByID("kernel-drops-counted-as-sent"), nil,
		fmt.Sprintf("XfrmOutStateProtoError rose by %d with VTIs in the namespace (%s), which count such a drop as a sent packet: up to %d IPsec drops were counted by the tunnels as sent packets. Some may instead be asynchronous crypto failures or traffic outside the tunnels, which no link counts either.",
			p, strings.Join(vtis, ", "), p))
	e.addNamespace(f)
}

func (e *engine) quirkDeadCounters() {
	for _, name := range [...]string{"XfrmOutBundleCheckError", "XfrmOutPolDead"} {
		i := mibIndex[name]
		n := e.mib.v[i]
		if n == 0 {
			continue
		}
		if name == "XfrmOutBundleCheckError" && e.kernelKnown && e.kernel.Less(KernelVersion{Major: 4, Minor: 9}) {
			continue // old kernels still counted it
		}
		f := Finding{Cause: "kernel-dead-counter", Count: n, Certainty: Exact,
			Evidence: []Evidence{{Counter: name, Delta: n, Source: SourceXfrmStat}}}
		e.fill(&f, causeByID("kernel-dead-counter"), nil, fmt.Sprintf("%s moved by %d.", name, n))
		e.addNamespace(f)
	}
}
