package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/safetext"
)

// counterWords says in words what a VTI's error field means; the summary
// sorts a group's candidates by the field they would be counted in.
var counterWords = map[string]string{
	"tx_carrier_errors": "lookup failed",
	"tx_aborted_errors": "IPsec output failed",
	"collisions":        "routing loop",
	"rx_errors":         "IPsec input dropped it",
	"rx_dropped":        "dropped on receive",
}

// writeSummary writes a report in a few lines per group of events: what
// happened, how many times and how sure; for causes the counters leave open,
// the candidates by the counter they would be in; the evidence; and up to
// maxChecks commands (all with maxChecks < 0). Names print as shown does,
// other text with control characters escaped, as Report.Format does.
func writeSummary(b *strings.Builder, rep explain.Report, indent string, maxChecks int) {
	groups := rep.Groups()
	if len(groups) == 0 {
		b.WriteString(indent + "No tunnel or IPsec error counter moved.\n")
	}
	linkCauses := map[explain.CauseID][]string{}
	for _, g := range groups {
		if g.Interface != "" && len(g.Findings) == 1 {
			c := g.Findings[0].Cause
			linkCauses[c] = append(linkCauses[c], shown(g.Interface))
		}
	}
	hidden := 0
	explained := map[explain.CauseID]bool{}
	for i, g := range groups {
		if i > 0 && !g.Annotation {
			b.WriteString("\n")
		}
		where := "namespace"
		if g.Interface != "" {
			where = shown(g.Interface)
		}
		f := g.Findings[0]
		switch {
		case g.Annotation:
			wrap(b, fmt.Sprintf("%s: note: %s.", where, f.Title), indent, indent+"    ")
			continue
		case len(g.Findings) == 1:
			wrap(b, fmt.Sprintf("%s: %s × %s (%s): %s.", where, countWords(f), f.Cause, certaintyWords(f.Certainty), f.Title), indent, indent+"    ")
			if ifs := linkCauses[f.Cause]; g.Interface == "" && len(ifs) > 0 {
				wrap(b, fmt.Sprintf("These are every %s event of the namespace: %s's above are among them, not in addition.", f.Cause, strings.Join(ifs, "'s and ")), indent+"    ", indent+"    ")
			} else if c, ok := explain.Lookup(f.Cause); ok && !explained[f.Cause] {
				explained[f.Cause] = true
				wrap(b, "why: "+c.Explanation, indent+"    ", indent+"         ")
			}
		default:
			fmt.Fprintf(b, "%s%s: %d events, cause open: one of %d that these counters cannot tell apart:\n", indent, where, g.Events, len(g.Findings))
			byCounter := map[string][]string{}
			var order []string
			for _, f := range g.Findings {
				c := viaCounter(f)
				if _, ok := byCounter[c]; !ok {
					order = append(order, c)
				}
				byCounter[c] = append(byCounter[c], string(f.Cause))
			}
			for _, c := range order {
				label := c
				if w, ok := counterWords[c]; ok {
					label = w + " (" + c + ")"
				}
				wrap(b, label+": "+strings.Join(byCounter[c], ", "), indent+"    ", indent+"      ")
			}
		}
		wrap(b, "evidence: "+evidenceWords(g.Findings), indent+"    ", indent+"      ")
		checks := groupChecks(g.Findings)
		n := len(checks)
		if maxChecks >= 0 {
			n = min(n, maxChecks)
		}
		for i, c := range checks[:n] {
			lead := "check:"
			if i > 0 {
				lead = "      "
			}
			fmt.Fprintf(b, "%s    %s %s\n", indent, lead, safetext.Text(c.Command))
		}
		hidden += len(checks) - n
	}
	if hidden > 0 {
		fmt.Fprintf(b, "%s(%d more checks, and the kernel references: --full)\n", indent, hidden)
	}
}

// viaCounter is the link counter a finding's cause moves, among those in
// its evidence (a /proc/net/dev sum column lists its parts in SumOf).
func viaCounter(f explain.Finding) string {
	var seen []string
	for _, e := range f.Evidence {
		seen = append(seen, e.Counter)
		seen = append(seen, e.SumOf...)
	}
	c, ok := explain.Lookup(f.Cause)
	if !ok {
		return "?"
	}
	for _, ls := range c.Signature.Link {
		if len(ls.Counters) > 0 && slices.Contains(seen, ls.Counters[0]) {
			return ls.Counters[0]
		}
	}
	if len(c.Signature.MIB) > 0 {
		return c.Signature.MIB[0]
	}
	return "?"
}

func countWords(f explain.Finding) string {
	switch f.Certainty {
	case explain.AtMost:
		return fmt.Sprintf("at most %d", f.Count)
	case explain.AtLeast:
		return fmt.Sprintf("at least %d", f.Count)
	}
	return fmt.Sprint(f.Count)
}

func certaintyWords(c explain.Certainty) string {
	switch c {
	case explain.Exact:
		return "exact"
	case explain.AtMost:
		return "a bound"
	case explain.AtLeast:
		return "a lower bound"
	}
	return c.String()
}

func evidenceWords(fs []explain.Finding) string {
	var out []string
	for _, f := range fs {
		for _, e := range f.Evidence {
			var s string
			if e.Before != nil && e.After != nil {
				s = fmt.Sprintf("%s %d→%d (%s)", e.Counter, *e.Before, *e.After, e.Source)
			} else {
				s = fmt.Sprintf("%s +%d (%s)", e.Counter, e.Delta, e.Source)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, ", ")
}

func groupChecks(fs []explain.Finding) []explain.Check {
	var out []explain.Check
	for _, f := range fs {
		for _, c := range f.Checks {
			if !slices.ContainsFunc(out, func(o explain.Check) bool { return o.Command == c.Command }) {
				out = append(out, c)
			}
		}
	}
	return out
}

// wrapWidth is where summary lines are wrapped.
const wrapWidth = 78

// wrap writes text as lines of at most wrapWidth columns (words longer
// than that stay whole): the first line after first, the others after rest.
// Control characters in text (from a value read from a file) print as Go
// escapes.
func wrap(b *strings.Builder, text, first, rest string) {
	line := first
	empty := true
	for _, w := range strings.Fields(safetext.Text(text)) {
		if !empty && len([]rune(line))+1+len([]rune(w)) > wrapWidth {
			b.WriteString(line + "\n")
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += w
		empty = false
	}
	b.WriteString(line + "\n")
}
