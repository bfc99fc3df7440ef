package explain

import (
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/linkid"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// The engine, in the order one Explain runs it:
//
//   - explain.go: the readings as a whole (kernel release, XFRM MIB) and
//     what every finding gets from the catalogue (fill);
//   - pairing.go: each later link paired with its earlier self, its
//     counters subtracted, renames, deletions and resets;
//   - candidates.go: each moved link's buckets (buckets.go) turned into
//     findings: which causes are left and how sure each count is;
//   - evidence.go: the evidence of link findings and the words that say
//     what a bucket is;
//   - namespace.go: kernel-version findings, namespace-wide findings and
//     kernel quirks.
//
// The words are in messages.go, the causes in catalogue.go.

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
		return Report{Notes: []string{msgNoReading.text()}}
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
	// The SAs whose own error counters moved (annotate), computed once.
	saDeltas     []saErrDelta
	saDeltasDone bool
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
	nLinks := len(e.rep.Findings)
	e.namespaceWide()
	e.annotate(e.rep.Findings[nLinks:], nil)
	e.rep.Events = e.after.Events
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
		e.note(msgKernelUnknown.text("release", quote(rel), "err", err.Error()))
		return
	}
	if b, a := e.before, e.after; b != nil && b.KernelRelease != "" && a.KernelRelease != "" && b.KernelRelease != a.KernelRelease {
		e.note(msgKernelChanged.text("before", showName(b.KernelRelease), "after", showName(a.KernelRelease)))
	}
	e.kernel, e.kernelKnown = v, true
	e.rep.Kernel = v
}

func (e *engine) setMIB() {
	switch {
	case e.after.MIB == nil:
		e.mibWhy = msgMIBNotRead.text()
		return
	case e.before != nil && e.before.MIB == nil:
		e.mibWhy = msgMIBOnlyLater.text()
		e.note(msgMIBNotUsed.text("why", e.mibWhy))
		return
	}
	var before *procnet.XfrmStat
	if e.before != nil {
		before = e.before.MIB
	}
	e.mib = newMIBDelta(before, e.after.MIB)
	if !e.mib.ok {
		e.mibWhy = msgMIBBackwards.text()
		f := Finding{
			Cause:     "counter-reset",
			Count:     1,
			Certainty: Exact,
		}
		for _, i := range e.mib.reset {
			b, a := e.mib.before[i], e.mib.after[i]
			f.Evidence = append(f.Evidence, Evidence{Counter: mibNames[i], Source: SourceXfrmStat, Before: &b, After: &a})
		}
		e.fill(&f, causeByID("counter-reset"), nil, msgMIBReset.text())
		e.addNamespace(f)
	}
}

func (e *engine) note(s string) {
	e.rep.Notes = append(e.rep.Notes, s)
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
