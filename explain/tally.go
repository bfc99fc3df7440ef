package explain

import (
	"cmp"
	"strings"
)

// Unresolved is the cause a Tally counts events under when the counters
// leave their cause open between candidates. It is not in the catalogue
// (Lookup does not know it).
const Unresolved CauseID = "unresolved"

// EventGroup is one set of events of a report and the findings that
// explain them: a single finding when the cause is known, the candidates
// of one Group otherwise.
type EventGroup struct {
	Interface string // "" for namespace-wide
	// Events is how many events the group stands for: the largest Count
	// among its findings.
	Events uint64
	// Findings are the group's findings, in report order.
	Findings []Finding
	// Annotation is true for a finding that counts no events of its own
	// (kernel-version-dependent): it qualifies the other groups.
	Annotation bool
}

// Cause returns the group's cause, or Unresolved when it has several
// candidates.
func (g *EventGroup) Cause() CauseID {
	if len(g.Findings) == 1 {
		return g.Findings[0].Cause
	}
	return Unresolved
}

// Causes returns the causes of the group's findings, in report order.
func (g *EventGroup) Causes() []CauseID {
	ids := make([]CauseID, len(g.Findings))
	for i := range g.Findings {
		ids[i] = g.Findings[i].Cause
	}
	return ids
}

// Groups splits the report's findings into groups of the same events, in
// report order: the unit to count and to show (see Tally for the rules).
// It returns nil when the report has no finding.
func (r Report) Groups() []EventGroup {
	var out []EventGroup
	var index map[[2]string]int // (interface, group) → position in out
	for _, f := range r.Findings {
		if f.Group != "" {
			k := [2]string{f.Interface, f.Group}
			if i, ok := index[k]; ok {
				g := &out[i]
				g.Findings = append(g.Findings, f)
				g.Events = max(g.Events, f.Count)
				continue
			}
			if index == nil {
				index = map[[2]string]int{}
			}
			index[k] = len(out)
		}
		out = append(out, EventGroup{
			Interface:  f.Interface,
			Events:     f.Count,
			Findings:   []Finding{f},
			Annotation: f.Cause == "kernel-version-dependent",
		})
	}
	return out
}

// TallyKey is one series of a Tally: an interface ("" for namespace-wide)
// and a cause.
type TallyKey struct {
	Interface string
	Cause     CauseID
}

// Compare orders keys by interface, then cause, as strings.Compare does;
// slices.SortedFunc(maps.Keys(t.Events), TallyKey.Compare) lists a tally
// in a stable order.
func (k TallyKey) Compare(o TallyKey) int {
	return cmp.Or(strings.Compare(k.Interface, o.Interface), strings.Compare(string(k.Cause), string(o.Cause)))
}

// Tally counts the events of one or more reports, each event once. A
// report can hold several findings about the same events, so summing
// every Finding.Count double counts. Tally's rules:
//
//   - Findings that share a Group are candidates for the same events (the
//     counters cannot tell the causes apart): the group counts once, with
//     its largest Count, under Unresolved; each candidate gets the count
//     in Candidates.
//   - A namespace-wide finding (Interface "") counts every event of its
//     cause in the namespace: the link findings with the same cause are
//     among them, not in addition to them. Both are kept, in series of
//     their own.
//   - kernel-version-dependent qualifies other findings' events and counts
//     none of its own.
//
// Add a report per interval to keep cumulative counts per cause: the
// reports of consecutive intervals of one namespace add up, since each
// interval's events are its own (package explain/monitor does it for the
// namespaces it watches).
//
// The zero Tally is empty and ready to use. A Tally is not safe for
// concurrent use.
type Tally struct {
	// Events holds, per interface and cause, the events attributed to
	// that cause; events whose cause is open count under Unresolved.
	// Interface "" holds the namespace-wide count of its cause, which
	// includes the links' events of that cause: for one cause, use the
	// links' series or the namespace-wide one, never their sum.
	Events map[TallyKey]uint64
	// Candidates holds, per interface and cause, the Unresolved events
	// that cause may explain: an upper bound for each cause, never to be
	// summed across causes (the same events are counted under every
	// candidate).
	Candidates map[TallyKey]uint64
	// XfrmEvents counts the reports' XFRM events (Report.Events) by type.
	XfrmEvents map[EventType]uint64
}

// Add counts the events of r into t. A report without findings changes
// nothing and allocates nothing.
func (t *Tally) Add(r Report) {
	for _, ev := range r.Events {
		if t.XfrmEvents == nil {
			t.XfrmEvents = map[EventType]uint64{}
		}
		t.XfrmEvents[ev.Type]++
	}
	for _, g := range r.Groups() {
		if g.Annotation || g.Events == 0 {
			continue
		}
		if t.Events == nil {
			t.Events = map[TallyKey]uint64{}
		}
		t.Events[TallyKey{g.Interface, g.Cause()}] += g.Events
		if len(g.Findings) < 2 {
			continue
		}
		if t.Candidates == nil {
			t.Candidates = map[TallyKey]uint64{}
		}
		for _, f := range g.Findings {
			t.Candidates[TallyKey{g.Interface, f.Cause}] += f.Count
		}
	}
}
