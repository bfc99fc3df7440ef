package explain

import (
	"slices"
	"strings"
)

// What a link finding shows: its evidence (the link's counters, the MIB's),
// the sentence that says what its bucket is, what tells a group's
// candidates apart, and the unexplained-counter finding of a counter no
// cause moves.

// bucketText says what a bucket is, in words.
func (e *engine) bucketText(m *movedLink, b *bucket) string {
	l := m.link
	n := num(b.n)
	since := ""
	if m.since != "" {
		since = " " + m.since
	}
	if !m.d.split {
		switch b.key {
		case ctrTxCarrier:
			return msgProcCarrier.text("dev", showName(l.Name), "devarg", shellArg(l.Name), "n", n, "since", since, "kind", showName(m.kind)) + allTxHere(m, b)
		case ctrRxFrame:
			return msgProcFrame.text("dev", showName(l.Name), "devarg", shellArg(l.Name), "n", n, "since", since)
		}
	}
	name := m.d.name(b.key)
	if ctrIsRx(b.key) && !m.d.split {
		name = msgRxColumn.text("counter", name)
	} else if !m.d.split {
		name = msgTxColumn.text("counter", name)
	}
	switch {
	case b.xfrmHidden:
		dir := msgDirTransmit.text()
		if b.key == ctrRxDropped {
			dir = msgDirReceive.text()
		}
		when := msgHiddenKernel.text("kernel", e.kernel.String())
		if !e.kernelKnown {
			when = msgHiddenUnknown.text()
		}
		return msgXfrmHidden.text("dev", showName(l.Name), "n", n, "counter", name, "since", since, "when", when, "dir", dir)
	case b.only && b.key == ctrTxErrors:
		return msgTxErrorsOnly.text("dev", showName(l.Name), "n", n, "since", since)
	case b.only && b.lower && b.n == 0:
		return msgDropsUpTo.text("dev", showName(l.Name), "upper", num(b.upper), "counter", name, "since", since)
	case b.only && b.lower:
		return msgDropsAtLeast.text("dev", showName(l.Name), "n", n, "counter", name, "since", since, "upper", num(b.upper))
	case b.only:
		return msgOnlyCounter.text("dev", showName(l.Name), "n", n, "counter", name, "since", since)
	}
	return msgCounted.text("dev", showName(l.Name), "n", n, "counter", name, "since", since) + allTxHere(m, b)
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
		return msgAllTxLookup.text("dev", showName(m.link.Name), "n", num(b.n))
	}
	return msgAllTx.text("dev", showName(m.link.Name), "n", num(b.n))
}

// tellApart says what tells a group's candidates apart: "" or ": " and
// the hints.
func (e *engine) tellApart(m *movedLink, b *bucket, out []Finding) string {
	var hints []string
	if !m.d.split && b.key == ctrTxCarrier {
		hints = append(hints, msgHintCarrier.text())
	}
	if !e.mib.ok && b.mask != 0 {
		hints = append(hints, msgHintXfrmStat.text())
	}
	if isIPsecKind(m.kind) && len(out) > 1 && slices.ContainsFunc(out, func(f Finding) bool { return f.Cause == "tx-no-route" }) {
		hints = append(hints, msgHintNoRoute.text())
	}
	hasLookup := slices.ContainsFunc(out, func(f Finding) bool { return slices.Contains(txLookupCauses[:], f.Cause) })
	if hasLookup && !m.res.done {
		if e.after.Policies == nil {
			hints = append(hints, msgHintPolicies.text())
		} else if m.link.Tunnel == nil {
			hints = append(hints, msgHintTunnelParams.text())
		}
	}
	if m.kind == KindWireGuard && len(out) > 1 {
		if !m.res.done {
			hints = append(hints, msgHintWGPeers.text())
		}
		if slices.ContainsFunc(out, func(f Finding) bool { return f.Cause == "tx-unsupported-protocol" }) {
			hints = append(hints, msgHintWGProtocol.text())
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

// unexplained adds the unexplained-counter finding of a counter that no
// catalogued path of the link's kind moves.
func (e *engine) unexplained(m *movedLink, c ctr) {
	l := m.link
	f := Finding{Interface: l.Name, Cause: "unexplained-counter", Count: m.d.v[c], Certainty: Exact}
	f.Evidence = []Evidence{{Counter: m.d.name(c), Delta: m.d.v[c], Source: m.src(), SumOf: sumOf(&m.d, c)}}
	why := msgUnexplained.text("counter", m.d.name(c), "dev", showName(l.Name), "kind", showName(m.kind))
	if m.inferred {
		why += msgUnexplainedInferred.text("dev", showName(l.Name), "kind", showName(m.kind))
	}
	e.fill(&f, causeByID("unexplained-counter"), l, why)
	m.findings = append(m.findings, f)
}
