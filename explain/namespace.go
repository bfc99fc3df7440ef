package explain

import (
	"slices"
	"strings"
)

// Findings beyond the buckets: the kernel-version-dependent finding of a
// link, the namespace-wide count of every cause the MIB counts, and the
// kernel quirks the MIB reveals.

// versionRules are the behaviours that changed between kernel releases, per
// cause and kind; text says what changed.
var versionRules = []struct {
	cause          CauseID
	kinds          []string
	since          KernelVersion
	uncertainBelow bool // stable kernels below since may carry the change
	text           message
}{
	{"tx-no-route", kindsVTIAll, KernelVersion{Major: 5, Minor: 5}, false, msgChangeNoRoute},
	{"tx-no-sa", kindsVTIBoth, KernelVersion{Major: 5, Minor: 9}, false, msgChangeHoldQueueWait},
	{"tx-queue-full", kindsVTIBoth, KernelVersion{Major: 5, Minor: 9}, false, msgChangeHoldQueue},
	{"tx-too-big", kindsVTIAll, KernelVersion{Major: 5, Minor: 12}, true, msgChangeTooBig},
	{"tx-core-drop", []string{KindXfrm}, xfrmHiddenSince, false, msgChangeXfrmTxDropped},
	{"rx-backlog-full", []string{KindXfrm}, xfrmHiddenSince, false, msgChangeXfrmRxDropped},
	{"tx-policy-default-block", kindsAll, KernelVersion{Major: 5, Minor: 15}, true, msgChangeDefaultPolicy},
	{"tx-tunnel-recursion", kindsIPTnl, KernelVersion{Major: 6, Minor: 12, Patch: 78}, true, msgChangeRecursion},
	{"tx-sa-dir-error", kindsVTIAll, KernelVersion{Major: 6, Minor: 10}, false, msgChangeSADir},
	{"rx-dir-error", kindsVTIAll, KernelVersion{Major: 6, Minor: 10}, false, msgChangeSADir},
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
			if t := r.text.text(); !slices.Contains(texts, t) {
				texts = append(texts, t)
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
		lead = msgVersionNear.text("kernel", e.kernel.String(), "dev", showName(m.link.Name))
	} else {
		lead = msgVersionUnknown.text("dev", showName(m.link.Name), "causes", joinIDs(affected))
	}
	f.Evidence = []Evidence{}
	for _, g := range m.findings {
		if slices.Contains(affected, g.Cause) {
			f.Evidence = append(f.Evidence, g.Evidence[0])
			break
		}
	}
	why := msgVersion.text("lead", lead, "changes", strings.Join(texts, "; "))
	e.fill(&f, causeByID("kernel-version-dependent"), m.link, why)
	m.findings = append(m.findings, f)
}

func joinIDs(ids []CauseID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
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
			why = msgNamespaceAll.text("mib", mibText(c), "n", num(n))
		} else if a > 0 {
			why = msgNamespacePart.text("mib", mibText(c), "n", num(n), "attributed", num(a))
		} else {
			why = msgNamespaceNone.text("mib", mibText(c), "n", num(n))
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
		vtis = append(vtis, showName(name))
	}
	if len(vtis) == 0 {
		return
	}
	// A VTI counts an IPsec drop of this kind as a sent packet, so its own
	// output errors say nothing of them: up to all are such drops.
	f := Finding{Cause: "kernel-drops-counted-as-sent", Count: p, Certainty: AtMost,
		Evidence: []Evidence{{Counter: "XfrmOutStateProtoError", Delta: p, Source: SourceXfrmStat}}}
	why := msgDropsCountedAsSent.text("n", num(p), "vtis", strings.Join(vtis, ", "))
	e.fill(&f, causeByID("kernel-drops-counted-as-sent"), nil, why)
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
		e.fill(&f, causeByID("kernel-dead-counter"), nil, msgDeadCounter.text("counter", name, "n", num(n)))
		e.addNamespace(f)
	}
}
