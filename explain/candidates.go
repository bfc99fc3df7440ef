package explain

import (
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/linkid"
)

// From buckets to findings. Each bucket of a moved link (buckets.go) starts
// with the catalogue's causes for its counter; the kernel version, the
// policy list and the MIB rule some out (candidates); the MIB counts of the
// causes left, and how many tunnels draw on them, decide how many events
// each accounts for and how sure that count is (decide); the findings then
// stand alone or form a group of alternatives (addBucketFindings).

// explainLinks turns the buckets of every moved link into findings.
func (e *engine) explainLinks() {
	// Which MIB counters more than one bucket draws on (of one link or of
	// several): the MIB is per namespace, so such counts can only be bounds.
	var users [nMIB]int
	if len(e.moved) >= indexFrom {
		e.look = newLookups(e.after)
	}
	for _, m := range e.moved {
		switch {
		case isIPsecKind(m.kind):
			m.res = resolveTX(m.kind, m.link.Tunnel, e.after, e.look)
		case m.kind == KindWireGuard:
			m.res = e.resolveWG(m)
		default:
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
		if m.kind == KindWireGuard {
			e.wgAnnotate(m)
		}
		e.annotate(m.findings, m.link)
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
		why := msgMIBBound.text("n", num(n), "cause", string(id), "mib", mibText(c), "m", num(m))
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

// mibText names the MIB counters that count a cause.
func mibText(c *Cause) string { return strings.Join(c.Signature.MIB, "+") }

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
	why := []string{e.bucketText(m, b)}
	useMIB := e.mib.ok && !l.CrossNetns
	switch {
	case l.CrossNetns:
		why = append(why, msgCrossNetns.text())
	case !e.mib.ok && b.mask != 0:
		why = append(why, msgNoMIB.text("why", e.mibWhy))
	}
	cands := e.candidates(m, b, useMIB, &why)
	v := e.decide(m, b, cands, shared, useMIB)
	why = append(why, v.why...)
	if m.inferred {
		why = append(why, msgInferredKind.text("dev", showName(l.Name), "devarg", shellArg(l.Name), "kind", quote(m.kind)))
	}
	e.addBucketFindings(m, b, &v, strings.Join(why, " "))
}

// candidates filters the catalogue's causes of a bucket: kernel version,
// configuration, MIB counters that did not move. A filter that would leave
// nothing is skipped and said.
func (e *engine) candidates(m *movedLink, b *bucket, useMIB bool, why *[]string) []candidate {
	cands := make([]candidate, 0, len(b.causes))
	for _, c := range b.causes {
		cd := candidate{c: c}
		if useMIB {
			cd.m, cd.mibKnown = e.mib.count(c)
		}
		cands = append(cands, cd)
	}
	cands = e.filter(cands, why, func(cd candidate) bool {
		return e.kernelKnown && cd.c.Since.Known() && e.kernel.Less(cd.c.Since)
	}, msgRuleOutKernel, "kernel", e.kernel.String())
	if m.res.done && slices.ContainsFunc(b.causes, m.res.bears) {
		*why = append(*why, m.res.why)
		out := func(cd candidate) bool { return m.res.excluded(cd.c.ID) }
		if m.res.wg {
			cands = e.filter(cands, why, out, msgRuleOutPeers)
		} else {
			cands = e.filter(cands, why, out, msgRuleOutPolicies)
		}
	}
	if useMIB {
		cands = e.filter(cands, why, func(cd candidate) bool {
			return cd.mibKnown && cd.m == 0 && !cd.c.Signature.AlsoWithoutMIB
		}, msgRuleOutMIB)
	}
	return cands
}

// verdict is what decide makes of one bucket.
type verdict struct {
	out        []Finding
	standalone int      // out's first findings stand alone: they add up, the rest are alternatives
	remainder  *Finding // events no cause left accounts for
	why        []string // why the counts are what they are
}

// decide shares the bucket's events among the causes left and says how
// sure each count is.
func (e *engine) decide(m *movedLink, b *bucket, cands []candidate, shared int, useMIB bool) verdict {
	l := m.link
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
	var v verdict
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
	// The MIB's counts are this link's alone: no other bucket draws on
	// them, no link took events away, no tunnel may have moved them
	// silently.
	alone := func() bool {
		return useMIB && shared <= 1 && e.lostEvents == "" && !b.lower && !e.silentlyShared(cands, l)
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
			v.out = append(v.out, mk(cd, n, AtMost))
		}
	case len(cands) == 1 && useMIB && mibShort(cands[0], b.n):
		// The only cause left is one the MIB counts in full, and the MIB
		// counted fewer: it bounds the cause, and the rest fits no cause
		// left (a rule-out was wrong, or the catalogue misses a path).
		cd := cands[0]
		if cd.m > 0 {
			v.out = append(v.out, mk(cd, cd.m, AtMost))
		}
		id := string(cd.c.ID)
		v.why = append(v.why, msgMIBShort.text("cause", id, "mib", mibText(cd.c), "m", num(cd.m), "n", num(b.n)))
		rest := b.n - cd.m
		v.remainder = &Finding{Interface: l.Name, Cause: "unexplained-counter", Count: rest, Certainty: AtLeast,
			Evidence: e.linkEvidence(m, b)}
		why := msgRemainder.text("rest", num(rest), "dev", showName(l.Name), "n", num(b.n), "counter", m.d.name(b.key), "cause", id)
		e.fill(v.remainder, causeByID("unexplained-counter"), l, why)
	case len(cands) == 1:
		cd := cands[0]
		if len(b.causes) == 1 {
			v.why = append(v.why, msgOnlyOfKind.text("kind", showName(m.kind)))
		} else {
			v.why = append(v.why, msgRuledOut.text())
		}
		switch {
		case !b.lower:
			v.out = append(v.out, mk(cd, b.n, Exact))
		case b.n > 0:
			v.out = append(v.out, mk(cd, b.n, AtLeast))
		default: // no drop need be its own; up to upper may be
			v.out = append(v.out, mk(cd, b.upper, AtMost))
		}
	case withMIB == 1 && mSum == b.n && alone():
		// The tie: exactly one MIB counter among the candidates' moved, by
		// exactly the link's count, and no other tunnel draws on it.
		for _, cd := range cands {
			if cd.mibKnown && cd.m > 0 {
				v.why = append(v.why, msgTie.text("mib", mibText(cd.c), "m", num(cd.m), "dev", showName(l.Name), "cause", string(cd.c.ID)))
				v.out = append(v.out, mk(cd, b.n, Exact))
			}
		}
	case withMIB > 1 && mSum == b.n && alone():
		// The partition: several of the candidates' MIB counters moved,
		// and together by exactly the link's count, and no other tunnel
		// draws on them: each MIB count is that many events of its cause,
		// and nothing is left for the causes the MIB does not count.
		var parts []string
		for _, cd := range cands {
			if cd.mibKnown && cd.m > 0 {
				parts = append(parts, msgMIBPart.text("mib", mibText(cd.c), "m", num(cd.m)))
				v.out = append(v.out, mk(cd, cd.m, Exact))
			}
		}
		v.standalone = len(v.out) // they split the events between them, they are not alternatives
		v.why = append(v.why, msgPartition.text("dev", showName(l.Name), "n", num(b.n), "parts", strings.Join(parts, ", ")))
	case mSum < b.n && alone() && closedSplit(cands, b.n):
		// The MIB accounts for part of the link's events, and no other
		// tunnel draws on its counters: each MIB count is that many events
		// of its cause, and the rest are causes the MIB does not count
		// (one of them, or one of several).
		var parts, left []string
		var counted uint64
		for _, cd := range cands {
			if cd.countedInFull() {
				parts = append(parts, msgMIBPart.text("mib", mibText(cd.c), "m", num(cd.m)))
				v.out = append(v.out, mk(cd, cd.m, Exact))
				counted += cd.m
			}
		}
		v.standalone = len(v.out)
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
				v.out = append(v.out, mk(cd, rest, cert))
			}
		}
		v.why = append(v.why, msgClosedSplit.text("counted", num(counted), "dev", showName(l.Name), "n", num(b.n),
			"parts", strings.Join(parts, ", "), "rest", num(rest), "left", joinOr(left)))
	default:
		if useMIB && e.lostEvents != "" && withMIB > 0 {
			v.why = append(v.why, msgLostEvents.text("lost", e.lostEvents))
		}
		if useMIB && shared > 1 {
			v.why = append(v.why, msgShared.text("shared", inum(shared)))
		}
		for _, cd := range cands {
			switch {
			case cd.countedInFull():
				v.out = append(v.out, mk(cd, min(b.upper, cd.m), AtMost))
			case useMIB && mibLess == 1 && mSum < b.n && (!cd.c.mibBearing() || cd.c.Signature.AlsoWithoutMIB):
				// The only cause the MIB does not count must take the
				// events the MIB cannot.
				v.out = append(v.out, mk(cd, b.n-mSum, AtLeast))
				v.why = append(v.why, msgAtLeast.text("m", num(mSum), "n", num(b.n), "cause", string(cd.c.ID), "rest", num(b.n-mSum)))
			case b.lower:
				// The bucket holds at least n events and at most upper;
				// each of several causes may have any number up to upper.
				v.out = append(v.out, mk(cd, b.upper, AtMost))
			default:
				v.out = append(v.out, mk(cd, b.n, Candidate))
			}
		}
		if len(v.out) > 1 {
			v.why = append(v.why, msgCannotTell.text("hints", e.tellApart(m, b, v.out)))
		}
	}
	return v
}

// addBucketFindings completes the findings of one bucket, each with why as
// the words its group shares, and adds them to the link's. Findings that
// stand alone (or are the only alternative) leave their group; the others
// name each other as candidates.
func (e *engine) addBucketFindings(m *movedLink, b *bucket, v *verdict, why string) {
	out := v.out
	ids := make([]CauseID, len(out))
	for i := range out {
		ids[i] = out[i].Cause
	}
	alternatives := ids[v.standalone:]
	for i := range out {
		f := &out[i]
		if i < v.standalone || len(alternatives) == 1 {
			f.Group = "" // it stands alone: it adds up with the others
		} else {
			for _, id := range alternatives {
				if id != f.Cause {
					f.Candidates = append(f.Candidates, id)
				}
			}
		}
		c := causeByID(f.Cause)
		e.fill(f, c, m.link, why)
		f.GroupExplanation = why
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
	if v.remainder != nil {
		m.findings = append(m.findings, *v.remainder)
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

// joinOr joins cause IDs as alternatives: "a", or "one of a, b or c".
func joinOr(ids []string) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	return msgOneOf.text("ids", strings.Join(ids[:len(ids)-1], ", "), "last", ids[len(ids)-1])
}

// mibShort reports whether cd is a cause every event of which moves the
// MIB, and the MIB counted fewer than n in the namespace.
func mibShort(cd candidate, n uint64) bool {
	return cd.mibKnown && cd.c.mibBearing() && !cd.c.Signature.AlsoWithoutMIB && cd.m < n
}

func isTxLookup(c *Cause) bool { return slices.Contains(txLookupCauses[:], c.ID) }

// filter drops the candidates drop selects, unless that would drop all of
// them; either way it says what it did, in ruleOut with args and the
// dropped causes as {causes}.
func (e *engine) filter(cands []candidate, why *[]string, drop func(candidate) bool, ruleOut message, args ...string) []candidate {
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
	said := ruleOut.text(append(args, "causes", strings.Join(gone, ", "))...)
	if len(kept) == 0 {
		*why = append(*why, msgSetAside.text("ruleout", said))
		return cands
	}
	*why = append(*why, capitalize(said)+".")
	return kept
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
