// Package tally counts the events of an explain.Report once each, for
// summaries and for counters that must not double count.
//
// A report can hold several findings about the same events: candidates of
// one group (the counters cannot tell them apart), a namespace-wide finding
// whose count includes the tunnels' findings of the same cause, and
// kernel-version-dependent, which qualifies other findings' events rather
// than counting new ones. The rules, from explain's documentation:
//
//   - Findings sharing a Group explain the same events: the group counts
//     once, with its largest Count.
//   - A namespace-wide finding (Interface "") counts every event of its
//     cause in the namespace; link findings with the same cause are part of
//     it, not in addition to it.
//   - kernel-version-dependent counts no event of its own.
package tally

import (
	"cmp"
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
)

// Unresolved is the cause label of events whose cause the counters leave
// open between several candidates.
const Unresolved explain.CauseID = "unresolved"

// Group is one set of events of a report: the findings that explain them.
type Group struct {
	Interface string // "" for namespace-wide
	// Events is how many events the group explains.
	Events uint64
	// Findings are the group's findings, in report order: one when the
	// cause is known, several candidates otherwise.
	Findings []explain.Finding
	// Annotation is true for findings that count no events of their own
	// (kernel-version-dependent).
	Annotation bool
}

// Cause returns the group's cause, or Unresolved when it has candidates.
func (g *Group) Cause() explain.CauseID {
	if len(g.Findings) == 1 {
		return g.Findings[0].Cause
	}
	return Unresolved
}

// Causes returns the IDs of the group's findings.
func (g *Group) Causes() []explain.CauseID {
	ids := make([]explain.CauseID, len(g.Findings))
	for i, f := range g.Findings {
		ids[i] = f.Cause
	}
	return ids
}

// Groups splits a report into groups, in report order.
func Groups(rep explain.Report) []Group {
	var out []Group
	index := map[[2]string]int{}
	for _, f := range rep.Findings {
		if f.Group != "" {
			k := [2]string{f.Interface, f.Group}
			if i, ok := index[k]; ok {
				g := &out[i]
				g.Findings = append(g.Findings, f)
				g.Events = max(g.Events, f.Count)
				continue
			}
			index[k] = len(out)
		}
		out = append(out, Group{
			Interface:  f.Interface,
			Events:     f.Count,
			Findings:   []explain.Finding{f},
			Annotation: f.Cause == "kernel-version-dependent",
		})
	}
	return out
}

// Key is one series of a tally.
type Key struct {
	Interface string
	Cause     explain.CauseID
}

// Tally is the events of one report, counted once each.
type Tally struct {
	// Events holds, per interface and cause, the events attributed to that
	// cause; events with several candidates count under Unresolved.
	// Interface "" is the namespace-wide count of its cause: it includes
	// the tunnels' events of that cause (see the package rules).
	Events map[Key]uint64
	// Candidates holds, per interface and cause, the Unresolved events that
	// cause may explain: an upper bound for each cause, never to be summed
	// across causes.
	Candidates map[Key]uint64
}

// Count tallies a report.
func Count(rep explain.Report) Tally {
	t := Tally{Events: map[Key]uint64{}, Candidates: map[Key]uint64{}}
	for _, g := range Groups(rep) {
		if g.Annotation || g.Events == 0 {
			continue
		}
		t.Events[Key{g.Interface, g.Cause()}] += g.Events
		if len(g.Findings) > 1 {
			for _, f := range g.Findings {
				t.Candidates[Key{g.Interface, f.Cause}] += f.Count
			}
		}
	}
	return t
}

// Keys returns the keys of m, sorted by interface then cause.
func Keys(m map[Key]uint64) []Key {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(strings.Compare(a.Interface, b.Interface), strings.Compare(string(a.Cause), string(b.Cause)))
	})
	return keys
}
