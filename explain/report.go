package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/safetext"
)

// Certainty says how sure a Finding's Count is.
type Certainty uint8

const (
	// Exact: Count events of this cause happened here. When the count
	// comes from matching link counters with namespace-wide MIB counters,
	// "exact" rests on every MIB event of the interval belonging to a
	// tunnel of the reading: no other bucket draws on the counter, no
	// tunnel could have moved it without a link counter showing it, and
	// no link was deleted, re-created or reset in between (then the MIB
	// only bounds). Policy-based IPsec or forwarded traffic moving the same
	// counter in the same interval is the one case this cannot see.
	Exact Certainty = iota + 1
	// AtMost: between 0 and Count events of this cause happened here. The
	// counters bound it (typically: a namespace-wide MIB counter shared by
	// several tunnels, or other causes fit the same link counter).
	AtMost
	// AtLeast: Count or more events of this cause happened here.
	AtLeast
	// Candidate: the cause is one of several that fit the same events
	// equally well (listed in Candidates); Count is how many events the
	// group explains, so it is also the most this cause can account for.
	Candidate
)

var certaintyNames = [...]string{Exact: "exact", AtMost: "at_most", AtLeast: "at_least", Candidate: "candidate"}

// String returns "exact", "at_most", "at_least" or "candidate".
func (c Certainty) String() string {
	if int(c) < len(certaintyNames) && certaintyNames[c] != "" {
		return certaintyNames[c]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (c Certainty) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Certainty) UnmarshalText(b []byte) error {
	for i, n := range certaintyNames {
		if n != "" && n == string(b) {
			*c = Certainty(i)
			return nil
		}
	}
	return fmt.Errorf("explain: unknown certainty %q", b)
}

// Evidence is one counter delta that supports a finding.
type Evidence struct {
	// Counter is the rtnl_link_stats64 field ("tx_carrier_errors"), the
	// /proc/net/dev column ("carrier") or the MIB counter ("XfrmOutNoStates").
	Counter string `json:"counter"`
	Delta   uint64 `json:"delta"`
	Source  Source `json:"source"`
	// SumOf lists the fields a /proc/net/dev column adds up.
	SumOf []string `json:"sum_of,omitempty"`
	// Before and After are set for counter-reset evidence, where the
	// counter went backwards and Delta is 0.
	Before *uint64 `json:"before,omitempty"`
	After  *uint64 `json:"after,omitempty"`
	// SA names the SA of per-SA evidence (Source SourceSA: one of its own
	// error counters, "integrity_failed", "replay", "replay_window") and of
	// event evidence (SourceEvent: Counter is the event type, Delta how
	// many such events of that SA the interval had).
	SA *SARef `json:"sa,omitempty"`
	// Peer names the WireGuard peer of peer-list evidence (Source
	// SourceWireGuard). Counter is then "no_endpoint" (the peer had no
	// endpoint in either reading), "no_handshake" (it never completed
	// one), "handshake_age" (Delta: seconds since its last handshake at
	// the later reading; on a received-packet finding, the one peer that
	// can have sent it) or "tx_bytes" (Delta: bytes sent to it in the
	// interval); "allowed_ips" without a Peer: Delta is how many of the
	// link's peers have any allowed IP.
	Peer *PeerRef `json:"peer,omitempty"`
}

// Check is a command to run, with the tunnel's values filled in.
type Check struct {
	// Command is safe to paste into a POSIX shell: each value filled in
	// (an interface name, an address, a key) is one shell word that the
	// shell reads back as exactly the value and never expands. A value of
	// only letters, digits and _ . / : @ % + = , - is written as it is;
	// another is single-quoted, each ' written '\'' (a link named
	// vti$(id) gives ip -s -s link show dev 'vti$(id)'); one holding a
	// control character, another unprintable rune or invalid UTF-8 is
	// written $'…' with octal escapes, so that Command never holds a
	// control byte ($'…' is POSIX.1-2024; a shell without it, such as
	// dash before 0.5.13, reads a wrong literal argument, never a
	// command). A value that was not known stays a <name> placeholder,
	// listed in Placeholders, to be replaced by hand before running it.
	Command string `json:"command"`
	// Why is the reason to run it; it names the values as Format prints
	// names (Go-quoted when they are not plain).
	Why string `json:"why"`
	// Placeholders lists the values that were not known and are left in
	// the command as <name>, to be replaced by hand.
	Placeholders []string `json:"placeholders,omitempty"`
}

// Finding is one explained cause with its count and evidence.
type Finding struct {
	// Interface is the link's name, exactly as read (any bytes a file or
	// the kernel gave; Format prints it escaped); "" for a namespace-wide
	// finding.
	Interface string    `json:"interface"`
	Cause     CauseID   `json:"cause"`
	Title     string    `json:"title"`
	Count     uint64    `json:"count"`
	Certainty Certainty `json:"certainty"`
	// Candidates lists the other causes that fit the same events, when
	// the counters cannot tell them apart.
	Candidates []CauseID `json:"candidates,omitempty"`
	// Group is shared by the findings that explain the same events (a
	// cause and its candidates). Sum one finding per group, not all.
	Group string `json:"group,omitempty"`

	Evidence  []Evidence `json:"evidence"`
	KernelRef []string   `json:"kernel_refs"`
	Kernels   string     `json:"kernels"`
	Checks    []Check    `json:"checks"`

	// Explanation says in plain words what happened and why the count is
	// as sure as Certainty says.
	Explanation string `json:"explanation"`

	// GroupExplanation is the reasoning the findings of a Group share,
	// set on each of them and printed once by Format.
	GroupExplanation string `json:"group_explanation,omitempty"`
	// Field is the rtnl_link_stats64 field the cause moves on this link,
	// when the evidence is a /proc/net/dev column that sums several:
	// Format sorts the column's candidates by the field they would be in.
	Field string `json:"field,omitempty"`
}

// Report is the result of explaining two readings (or one since boot).
type Report struct {
	// Since is the earlier reading's time; zero when Explain's before is nil (since boot).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Kernel is the kernel version the explanation assumed; "" if unknown.
	Kernel KernelVersion `json:"kernel"`
	// Findings are ordered by interface (as in the reading), then
	// namespace-wide ones.
	Findings []Finding `json:"findings"`
	// Notes are remarks about the readings themselves: interfaces that
	// appeared or vanished, kinds inferred from names, missing sources.
	Notes []string `json:"notes,omitempty"`
	// Events are the XFRM events of the interval (the later reading's
	// Events), in the order they came. Findings they bear on cite them in
	// their Evidence.
	Events []Event `json:"events,omitempty"`
}

// MarshalJSON makes an empty Findings list encode as [] rather than null.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	p := plain(r)
	if p.Findings == nil {
		p.Findings = []Finding{}
	}
	return json.Marshal(p)
}

// ByInterface returns the findings about one interface ("" for the
// namespace-wide ones).
func (r Report) ByInterface(name string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Interface == name {
			out = append(out, f)
		}
	}
	return out
}

// String formats the report for a terminal; see Format.
func (r Report) String() string {
	var b strings.Builder
	_ = r.Format(&b)
	return b.String()
}

// Format writes the report for a person: one block per group of findings,
// candidates listed together, evidence and checks once per group.
//
// Whatever the findings hold, no control character, other unprintable
// rune or invalid UTF-8 byte reaches the writer: an interface name prints
// as it is when it is plain and Go-quoted otherwise ("vti0\x1b[2J"), as
// it is in the explanations and notes Explain writes; any other text
// prints with such characters as Go escapes. The report itself (and its
// JSON) keeps names exactly as read.
func (r Report) Format(w io.Writer) error {
	var b strings.Builder
	if len(r.Findings) == 0 {
		b.WriteString("No tunnel or IPsec error counter moved.\n")
	}
	for i := 0; i < len(r.Findings); {
		j := i + 1
		if g := r.Findings[i].Group; g != "" {
			for j < len(r.Findings) && r.Findings[j].Group == g {
				j++
			}
		}
		formatGroup(&b, r.Findings[i:j])
		b.WriteByte('\n')
		i = j
	}
	for i := range r.Events {
		b.WriteString("event: ")
		b.WriteString(safetext.Text(eventLine(&r.Events[i])))
		b.WriteByte('\n')
	}
	for _, n := range r.Notes {
		b.WriteString("note: ")
		b.WriteString(safetext.Text(n))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatGroup(b *strings.Builder, fs []Finding) {
	txt := safetext.Text
	where := "namespace"
	if fs[0].Interface != "" {
		where = safetext.Name(fs[0].Interface)
	}
	if len(fs) == 1 {
		f := fs[0]
		fmt.Fprintf(b, "%s: %s %s — %s\n", where, txt(string(f.Cause)), countText(f), txt(f.Title))
	} else {
		n := groupEvents(fs)
		upTo := "" // a group without a candidate only bounds its events
		if !slices.ContainsFunc(fs, func(f Finding) bool { return f.Certainty == Candidate }) {
			upTo = "up to "
		}
		fmt.Fprintf(b, "%s: %s%d event%s, one or more of %d candidate causes:\n", where, upTo, n, plural(int(min(n, 2)), "", "s"), len(fs))
		var vias []string
		for _, f := range fs {
			if !slices.Contains(vias, f.Field) {
				vias = append(vias, f.Field)
			}
		}
		for _, via := range vias {
			indent := "  "
			if len(vias) > 1 {
				fmt.Fprintf(b, "  counted in %s:\n", txt(via))
				indent = "    "
			}
			for _, f := range fs {
				if f.Field == via {
					fmt.Fprintf(b, "%s- %s %s — %s\n", indent, txt(string(f.Cause)), strings.TrimSuffix(countText(f), " (candidate)"), txt(f.Title))
				}
			}
		}
	}
	b.WriteString("  evidence: ")
	seen := map[string]bool{}
	first := true
	for _, f := range fs {
		for _, e := range f.Evidence {
			k := e.Source.String() + "/" + e.Counter
			if e.SA != nil {
				k += "/" + e.SA.String()
			}
			if e.Peer != nil {
				k += "/" + e.Peer.PublicKey
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteString(txt(evidenceText(e)))
		}
	}
	b.WriteByte('\n')
	if len(fs) == 1 {
		fmt.Fprintf(b, "  why: %s\n", txt(fs[0].Explanation))
		fmt.Fprintf(b, "  kernel: %s (%s)\n", txt(strings.Join(fs[0].KernelRef, ", ")), txt(fs[0].Kernels))
	} else {
		// The group's shared reasoning is the same on each member; print it once.
		why := fs[0].GroupExplanation
		if why == "" {
			why = fs[0].Explanation
		}
		fmt.Fprintf(b, "  why: %s\n", txt(why))
	}
	seenCmd := map[string]bool{}
	for _, f := range fs {
		for _, c := range f.Checks {
			if seenCmd[c.Command] {
				continue
			}
			seenCmd[c.Command] = true
			fmt.Fprintf(b, "  check: %s\n         # %s\n", txt(c.Command), txt(c.Why))
		}
	}
}

func groupEvents(fs []Finding) uint64 {
	var n uint64
	for _, f := range fs {
		n = max(n, f.Count)
	}
	return n
}

func countText(f Finding) string {
	n := strconv.FormatUint(f.Count, 10)
	switch f.Certainty {
	case Exact:
		return n
	case AtMost:
		return "≤" + n
	case AtLeast:
		return "≥" + n
	case Candidate:
		return "≤" + n + " (candidate)"
	}
	return n
}

func evidenceText(e Evidence) string {
	if e.Before != nil && e.After != nil {
		return fmt.Sprintf("%s %d→%d (%s)", e.Counter, *e.Before, *e.After, e.Source)
	}
	s := fmt.Sprintf("%s +%d (%s)", e.Counter, e.Delta, e.Source)
	switch {
	case e.SA != nil:
		s = fmt.Sprintf("%s +%d (%s %s)", e.Counter, e.Delta, e.Source, e.SA)
	case e.Peer != nil && e.Delta == 0:
		s = fmt.Sprintf("%s (%s %s)", e.Counter, e.Source, e.Peer)
	case e.Peer != nil:
		s = fmt.Sprintf("%s %d (%s %s)", e.Counter, e.Delta, e.Source, e.Peer)
	case e.Source == SourceWireGuard:
		s = fmt.Sprintf("%s %d (%s)", e.Counter, e.Delta, e.Source)
	}
	if len(e.SumOf) > 0 {
		s += " = " + strings.Join(e.SumOf, "+")
	}
	return s
}
