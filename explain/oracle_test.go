package explain_test

// The checks of the soundness oracle (the world model is described in
// oracle_world_test.go). A finding is a claim about the truth as its
// Certainty documents it (report.go, doc.go); the oracle reads the contract
// strictly where it is ambiguous:
//
//   - Exact on a link: Count is the number of events of the cause on that
//     link in the interval that the link's counters show ("the counters
//     account for every event"). Silent events (a drop counted as sent) and
//     MIB-only events of a cause the catalogue says the kind does not count
//     (rx-no-sa on xfrm) are namespace events: the namespace-wide findings
//     and kernel-drops-counted-as-sent speak of them. Interface names the link as it is called in the later
//     reading; a name not in the later reading has no events.
//   - AtMost: truth ≤ Count. AtLeast: truth ≥ Count.
//   - Candidate: "Count is how many events the group explains, so it is also
//     the most this cause can account for": truth ≤ Count for the cause, and
//     the group (findings with the same non-empty Group on one interface;
//     its count is the largest Count of its candidates, as Report.Format
//     sums it) explains events that happened: Count ≤ Σ truth over the
//     group's causes. A group whose members are all AtMost claims no total.
//   - A group misses a true cause: a cause with visible events on the link
//     whose distinguishing counter (the first of its Signature.Link entry,
//     as the view names it) is in the group's evidence, that neither the
//     group nor any other finding on the link names.
//   - Uncounted: every cause with events visible in the link's error
//     counters must be named (as Cause or in Candidates) by a finding on
//     that link — "What no catalogue entry explains is an unexplained-
//     counter finding or a note, never dropped" is read as allowing an
//     unexplained-counter finding only when no catalogue cause fits, which
//     here is never. Exempt: a link with a counter-reset finding (the doc:
//     "its link is not explained for that interval"), and a re-created or
//     appeared link that a note or a counter-reset finding names.
//   - Namespace-wide findings (Interface ""): Exact = the namespace's
//     MIB-counted events of the cause (for kernel-drops-counted-as-sent: the
//     silent tx-crypto-backlog events on vti/vti6), AtMost ≥, AtLeast ≤,
//     Candidate ≥.
//   - counter-reset on a link that was neither reset nor re-created is
//     false. kernel-version-dependent and unexplained-counter findings are
//     not claims.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"math/rand/v2"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// ---- truth ----

// truth is the number of events of c on l in the interval: silent ones
// included (the link counted the packet as sent), MIB-only ones (variant
// N) not: the catalogue says the link does not see them ("namespace-wide
// only"), so they are namespace events.
func (l *oLink) truth(c explain.CauseID) uint64 {
	var n uint64
	for _, e := range l.evs {
		if e.cause == c && e.variant != 'N' && e.variant != 'S' {
			n += e.n
		}
	}
	return n
}

// visible: events of c that moved an error counter the view reports.
func (w *oWorld) visible(l *oLink, c explain.CauseID) uint64 {
	var n uint64
	for _, e := range l.evs {
		if e.cause == c && (e.variant == 'L' || e.variant == 'M') &&
			len(visibleCounters(linkSig(oCauses[c], l.kind), l.kind, w.kernel.v)) > 0 {
			n += e.n
		}
	}
	return n
}

func (w *oWorld) nsTruth(c explain.CauseID) uint64 {
	var n uint64
	for _, l := range w.links {
		for _, e := range l.evs {
			switch {
			case c == "kernel-drops-counted-as-sent":
				if e.cause == "tx-crypto-backlog" && e.variant == 'S' {
					n += e.n
				}
			case e.cause == c && e.variant != 'L':
				n += e.n
			}
		}
	}
	return n
}

func (w *oWorld) byAfterName(name string) *oLink {
	for _, l := range w.links {
		if l.nameA != "" && l.nameA == name {
			return l
		}
	}
	return nil
}

// distinguishing returns the name the view gives the first counter of c's
// signature on l, and its direction.
func (w *oWorld) distinguishing(l *oLink, c explain.CauseID) string {
	vis := visibleCounters(linkSig(oCauses[c], l.kind), l.kind, w.kernel.v)
	if len(vis) == 0 {
		return ""
	}
	if w.view.proc() {
		return procColumn(vis[0])
	}
	return vis[0]
}

// ---- checks ----

type oViolation struct {
	class  string // what kind of false claim, for grouping
	detail string // kind and cause, tallied within the class
	msg    string
}

func named(fs []explain.Finding, c explain.CauseID) bool {
	for _, f := range fs {
		if f.Cause == c || slices.Contains(f.Candidates, c) {
			return true
		}
	}
	return false
}

func notClaim(c explain.CauseID) bool {
	return c == "kernel-version-dependent" || c == "unexplained-counter" || c == "counter-reset"
}

func (w *oWorld) check(rep explain.Report) []oViolation {
	var vs []oViolation
	var cur *oLink // the link the claim is about, for the class's tags
	var curCause explain.CauseID
	add := func(check, format string, a ...any) {
		vs = append(vs, oViolation{w.classOf(check, cur), w.detailOf(cur, curCause), fmt.Sprintf(format, a...)})
	}
	byIface := map[string][]explain.Finding{}
	for _, f := range rep.Findings {
		byIface[f.Interface] = append(byIface[f.Interface], f)
	}
	// Claims, gathered per link and cause.
	type ckey struct {
		iface string
		cause explain.CauseID
	}
	claims := map[ckey][]explain.Finding{}
	var corder []ckey
	for _, f := range rep.Findings {
		if f.Cause == "counter-reset" {
			if f.Interface == "" {
				continue // the MIB is never reset here, but a namespace reset finding claims no count
			}
			l := w.byAfterName(f.Interface)
			cur, curCause = l, f.Cause
			if f.Certainty == explain.AtMost {
				continue // "may have been reset": no claim
			}
			if l == nil || (l.fate != fReset && l.fate != fRecreated) {
				add("counter-reset on a link not reset",
					"%s: counter-reset, but the link was not reset or re-created", f.Interface)
			}
			continue
		}
		if notClaim(f.Cause) {
			continue
		}
		k := ckey{f.Interface, f.Cause}
		if _, ok := claims[k]; !ok {
			corder = append(corder, k)
		}
		claims[k] = append(claims[k], f)
	}
	// A cause may be named by several findings of one link (one per bucket
	// its signatures land in): what they claim together is lo ≤ truth ≤ hi,
	// lo the sum of the exact and at-least counts, hi the sum of the exact,
	// at-most and candidate counts (none if any is at-least).
	for _, k := range corder {
		fs := claims[k]
		var truth uint64
		var l *oLink
		if k.iface == "" {
			truth = w.nsTruth(k.cause)
		} else if l = w.byAfterName(k.iface); l != nil {
			truth = l.truth(k.cause)
		}
		cur, curCause = l, k.cause
		cls := func(what string) string {
			if k.iface == "" {
				return "namespace-wide: " + what
			}
			return what
		}
		iface := cmp.Or(k.iface, "(namespace)")
		var lo, hi uint64
		var hiInf bool
		kinds := map[explain.Certainty]bool{}
		var desc []string
		for _, f := range fs {
			kinds[f.Certainty] = true
			desc = append(desc, fmt.Sprintf("%s %d", f.Certainty, f.Count))
			switch f.Certainty {
			case explain.Exact:
				lo += f.Count
				hi += f.Count
			case explain.AtLeast:
				lo += f.Count
				hiInf = true
			case explain.AtMost, explain.Candidate:
				hi += f.Count
			default:
				add(cls("unknown certainty"), "%s: %s certainty %d", iface, k.cause, f.Certainty)
			}
		}
		what := fmt.Sprintf("%s: %s %s, truth %d", iface, k.cause, strings.Join(desc, " + "), truth)
		switch {
		case lo > truth && truth == 0 && kinds[explain.Exact]:
			add(cls("exact claim of a cause that did not happen"), "%s", what)
		case lo > truth && kinds[explain.Exact] && !kinds[explain.AtLeast]:
			add(cls("exact count above truth"), "%s", what)
		case lo > truth:
			add(cls("at_least above truth"), "%s", what)
		case !hiInf && hi < truth && len(kinds) == 1 && kinds[explain.Exact]:
			add(cls("exact count below truth"), "%s", what)
		case !hiInf && hi < truth && kinds[explain.Candidate]:
			add(cls("candidate bound below truth"), "%s", what)
		case !hiInf && hi < truth:
			add(cls("at_most below truth"), "%s", what)
		}
	}
	// Words: an explanation never rules out, or says the kernel cannot
	// produce, the cause of its own finding.
	for _, f := range rep.Findings {
		if contradicts(f) {
			cur, curCause = w.byAfterName(f.Interface), f.Cause
			add("explanation contradicts its finding", "%s: %s: %q", cmp.Or(f.Interface, "(namespace)"), f.Cause, f.Explanation)
		}
	}
	// Groups.
	type gkey struct{ iface, group string }
	groups := map[gkey][]explain.Finding{}
	var gorder []gkey
	for _, f := range rep.Findings {
		if f.Group == "" || f.Interface == "" {
			continue
		}
		k := gkey{f.Interface, f.Group}
		if _, ok := groups[k]; !ok {
			gorder = append(gorder, k)
		}
		groups[k] = append(groups[k], f)
	}
	missReported := map[[2]string]bool{}
	for _, k := range gorder {
		fs := groups[k]
		l := w.byAfterName(k.iface)
		var n, sum uint64
		var set []explain.CauseID
		evidence := map[string]bool{}
		for _, f := range fs {
			// Only a candidate says how many events the group explains;
			// a group of bounds (every member AtMost) claims no total.
			if f.Certainty == explain.Candidate {
				n = max(n, f.Count)
			}
			if !slices.Contains(set, f.Cause) {
				set = append(set, f.Cause)
			}
			for _, e := range f.Evidence {
				if e.Delta > 0 && e.Source != explain.SourceXfrmStat {
					evidence[e.Counter] = true
				}
			}
		}
		if l != nil {
			for _, c := range set {
				sum += l.truth(c)
			}
		}
		if n > sum {
			cur, curCause = l, set[0]
			add("group explains more events than its causes had",
				"%s: group %q of %v explains %d events, its causes had %d", k.iface, k.group, set, n, sum)
		}
		if l == nil {
			continue
		}
		var others []explain.Finding
		for _, f := range byIface[k.iface] {
			if f.Group != k.group {
				others = append(others, f)
			}
		}
		for _, c := range oGenList {
			if slices.Contains(set, c) || w.visible(l, c) == 0 || named(others, c) {
				continue
			}
			d := w.distinguishing(l, c)
			if !evidence[d] {
				continue
			}
			if w.view.proc() && (d == "errs" || d == "drop" || d == "fifo") {
				// the column names are shared by RX and TX: only a group of the same direction
				dir := strings.SplitN(string(c), "-", 2)[0]
				same := false
				for _, s := range set {
					same = same || strings.SplitN(string(s), "-", 2)[0] == dir
				}
				if !same {
					continue
				}
			}
			missReported[[2]string{k.iface, string(c)}] = true
			cur, curCause = l, c
			add("group misses a true cause",
				"%s: group %q of %v (evidence %s) misses %s (%d visible events)", k.iface, k.group, set, d, c, w.visible(l, c))
		}
	}
	// Uncounted events.
	for _, l := range w.links {
		if l.nameA == "" {
			continue
		}
		fs := byIface[l.nameA]
		if named(fs, "counter-reset") {
			continue
		}
		if l.fate == fRecreated || l.fate == fAppeared {
			noted := false
			for _, n := range rep.Notes {
				noted = noted || strings.Contains(n, l.nameA)
			}
			if noted {
				continue
			}
		}
		uncounted := "events left uncounted"
		for _, n := range rep.Notes {
			if strings.Contains(n, l.nameA) && strings.Contains(n, "not explained") {
				uncounted = "events left uncounted (a note says the link is not explained)"
			}
		}
		for _, c := range oGenList {
			if v := w.visible(l, c); v > 0 && !named(fs, c) && !missReported[[2]string{l.nameA, string(c)}] {
				cur, curCause = l, c
				add(uncounted,
					"%s: %d visible %s events, no finding on the link names it", l.nameA, v, c)
			}
		}
	}
	return vs
}

// classOf is the class of a false claim: the check, and what about the
// world sets it apart (the link's fate, the view, the kernel quirks).
func (w *oWorld) classOf(check string, l *oLink) string {
	view := "stats64"
	if w.view.proc() {
		view = "/proc/net/dev"
	}
	var tags []string
	switch {
	case strings.Contains(check, "a note says"):
		tags = append(tags, view)
	case l != nil && l.fate != fNormal:
		tags = append(tags, l.fate.String()+" link", view)
	case l != nil && l.kind == explain.KindXfrm && !w.kernel.v.AtLeast(5, 11):
		tags = append(tags, "xfrm interface on 5.10")
	default:
		tags = append(tags, view)
		if w.phase == 2 {
			tags = append(tags, "policies read")
		}
		// A sibling whose MIB events the engine may not see as such.
		for _, o := range w.links {
			if o != l && o.fate != fNormal && o.fate != fVanished && slices.ContainsFunc(o.evs, func(e oEv) bool { return e.variant != 'L' }) {
				tags = append(tags, "MIB shared with a "+o.fate.String()+" link")
				break
			}
		}
	}
	return check + " [" + strings.Join(tags, ", ") + "]"
}

func (w *oWorld) detailOf(l *oLink, c explain.CauseID) string {
	if l == nil {
		return string(c)
	}
	return l.kind + "/" + string(c)
}

// ---- dumps ----

func (w *oWorld) size() (int, uint64) {
	var n uint64
	for _, l := range w.links {
		for _, e := range l.evs {
			n += e.n
		}
	}
	return len(w.links), n
}

func statsDelta(b, a explain.Stats64) string {
	var parts []string
	for _, name := range []string{"tx_errors", "tx_dropped", "tx_carrier_errors", "tx_aborted_errors", "tx_fifo_errors", "collisions",
		"tx_window_errors", "tx_heartbeat_errors", "rx_errors", "rx_dropped", "rx_missed_errors", "rx_crc_errors", "rx_fifo_errors",
		"rx_length_errors", "rx_over_errors", "rx_frame_errors"} {
		x, y := *statField(&b, name), *statField(&a, name)
		if x != 0 || y != 0 {
			parts = append(parts, fmt.Sprintf("%s %d→%d", name, x, y))
		}
	}
	parts = append(parts, fmt.Sprintf("tx_packets %d→%d", b.TxPackets, a.TxPackets), fmt.Sprintf("rx_packets %d→%d", b.RxPackets, a.RxPackets))
	return strings.Join(parts, ", ")
}

func (w *oWorld) dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "world %s: phase %d, kernel %s (reading says %q), view %s, MIB read %v",
		w.label, w.phase, w.kernel.v, w.release, w.view, w.withMIB)
	if w.phase == 2 {
		fmt.Fprintf(&b, ", outbound default block %v (read %v)", w.defBlock, w.readDef)
	}
	b.WriteString("\n")
	for _, l := range w.links {
		fmt.Fprintf(&b, "  %s %q(#%d) → %q(#%d) [%s]: %s\n", l.kind, l.nameB, l.idxB, l.nameA, l.idxA, l.fate, statsDelta(l.sB, l.sA))
		if l.tun != nil && isIPsecKind(l.kind) {
			fmt.Fprintf(&b, "    tunnel local %v remote %v okey %#x if_id %#x\n", l.tun.Local, l.tun.Remote, l.tun.OKey, l.tun.IfID)
		}
		b.WriteString(w.wgDump(l))
		if w.phase == 2 && l.pol != nil && isIPsecKind(l.kind) {
			for f, fc := range l.pol.fam {
				fam := [2]string{"IPv4", "IPv6"}[f]
				switch {
				case !fc.policy:
					fmt.Fprintf(&b, "    %s: no outbound policy\n", fam)
				case fc.block:
					fmt.Fprintf(&b, "    %s: wildcard policy, action block\n", fam)
				default:
					t := 0
					if fc.mismatch {
						t = 1
					}
					fmt.Fprintf(&b, "    %s: wildcard policy, template mismatched %v, SA %s\n", fam, fc.mismatch, [...]string{"missing", "present", "dir in"}[l.pol.sa[t]])
				}
			}
		}
		for _, e := range l.evs {
			fam := ""
			if e.fam != 0 {
				fam = " IPv" + string(e.fam)
			}
			fmt.Fprintf(&b, "    truth: %d × %s (%c)%s\n", e.n, e.cause, e.variant, fam)
		}
	}
	var mib []string
	for i, n := range procnet.KnownXfrmCounters() {
		if d := w.mibA[i] - w.mibB[i]; d != 0 {
			mib = append(mib, fmt.Sprintf("%s +%d", n, d))
		}
	}
	fmt.Fprintf(&b, "  MIB delta: %s\n", cmp.Or(strings.Join(mib, ", "), "none"))
	return b.String()
}

func reportDump(rep explain.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		var ev []string
		for _, e := range f.Evidence {
			ev = append(ev, fmt.Sprintf("%s+%d(%s)", e.Counter, e.Delta, e.Source))
		}
		fmt.Fprintf(&b, "  finding %q %s %s %d", f.Interface, f.Cause, f.Certainty, f.Count)
		if f.Group != "" {
			fmt.Fprintf(&b, " group %s candidates %v", f.Group, f.Candidates)
		}
		fmt.Fprintf(&b, " evidence %s\n", strings.Join(ev, " "))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

// ---- running ----

func runWorld(w *oWorld) (explain.Report, []oViolation) {
	rep := explain.Explain(w.reading(false), w.reading(true))
	return rep, w.check(rep)
}

type oExample struct {
	w       *oWorld
	rep     explain.Report
	msg     string
	n       int
	links   int
	events  uint64
	classes int
	details map[string]int
}

func TestSoundnessOracle(t *testing.T) {
	n := 20000
	if oRaceWorlds > 0 {
		n = oRaceWorlds
	}
	if testing.Short() {
		n = 2000
	}
	const workers = 2
	var mu sync.Mutex
	all := map[string]*oExample{}
	badWorlds := 0
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]*oExample{}
			bad := 0
			for i := wk; i < n; i += workers {
				phase := 1
				if i >= n/2 {
					phase = 2
				}
				seed := uint64(i)
				w := genWorld(oPCG{rand.New(rand.NewPCG(seed, uint64(phase)))}, phase, fmt.Sprintf("phase %d seed %d", phase, seed))
				rep, vs := runWorld(w)
				if len(vs) > 0 {
					bad++
				}
				nl, ne := w.size()
				for _, v := range vs {
					ex := local[v.class]
					if ex == nil {
						ex = &oExample{details: map[string]int{}}
						local[v.class] = ex
					}
					ex.n++
					ex.details[v.detail]++
					if ex.w == nil || nl < ex.links || (nl == ex.links && (ne < ex.events || (ne == ex.events && len(vs) < ex.classes))) {
						ex.w, ex.rep, ex.msg, ex.links, ex.events, ex.classes = w, rep, v.msg, nl, ne, len(vs)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			badWorlds += bad
			for k, ex := range local {
				g := all[k]
				if g == nil {
					all[k] = ex
					continue
				}
				g.n += ex.n
				for d, c := range ex.details {
					g.details[d] += c
				}
				if ex.links < g.links || (ex.links == g.links && ex.events < g.events) {
					g.w, g.rep, g.msg, g.links, g.events, g.classes = ex.w, ex.rep, ex.msg, ex.links, ex.events, ex.classes
				}
			}
		}()
	}
	wg.Wait()
	if len(all) == 0 {
		t.Logf("%d worlds, no false claim", n)
		return
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(all[b].n, all[a].n), cmp.Compare(a, b))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d worlds have false claims, %d classes:\n", badWorlds, n, len(keys))
	for _, k := range keys {
		fmt.Fprintf(&b, "  %6d  %s\n", all[k].n, k)
	}
	for _, k := range keys {
		ex := all[k]
		ds := make([]string, 0, len(ex.details))
		for d := range ex.details {
			ds = append(ds, d)
		}
		slices.SortFunc(ds, func(a, b string) int { return cmp.Or(cmp.Compare(ex.details[b], ex.details[a]), cmp.Compare(a, b)) })
		var dl []string
		for i, d := range ds {
			if i == 12 {
				dl = append(dl, fmt.Sprintf("… %d more", len(ds)-i))
				break
			}
			dl = append(dl, fmt.Sprintf("%s ×%d", d, ex.details[d]))
		}
		fmt.Fprintf(&b, "\n=== %s (%d times: %s); smallest example:\n  claim: %s\n%s  report:\n%s",
			k, ex.n, strings.Join(dl, ", "), ex.msg, ex.w.dump(), reportDump(ex.rep))
	}
	t.Error(b.String())
}

func FuzzSoundness(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("phase two: policies, SAs and renamed tunnels"))
	f.Fuzz(func(t *testing.T, data []byte) {
		phase := 1
		if len(data) > 0 && data[0]&1 == 1 {
			phase = 2
		}
		w := genWorld(&oBytes{b: data, i: min(1, len(data))}, phase, "fuzz")
		rep, vs := runWorld(w)
		if len(vs) == 0 {
			return
		}
		var b strings.Builder
		for _, v := range vs {
			fmt.Fprintf(&b, "false claim: %s\n  %s\n", v.class, v.msg)
		}
		t.Fatalf("%s%s  report:\n%s", b.String(), w.dump(), reportDump(rep))
	})
}

// contradicts reports whether f's explanation says its own cause did not
// happen: a sentence that rules it out, says the kernel cannot produce it
// or the MIB counted none of it, or a routing-loop, oversize or
// unsupported-protocol finding that says none was one.
func contradicts(f explain.Finding) bool {
	id := string(f.Cause)
	for _, sentence := range strings.Split(f.Explanation, ". ") {
		if strings.Contains(sentence, "set aside") {
			continue // evidence that would rule out every cause, said and not used
		}
		for _, neg := range []string{"rule out ", "cannot produce ", "counted no "} {
			i := strings.Index(sentence, neg)
			if i < 0 {
				continue
			}
			for _, w := range strings.FieldsFunc(sentence[i+len(neg):], func(r rune) bool { return r == ',' || r == ' ' }) {
				if w == id {
					return true
				}
			}
		}
	}
	none := map[explain.CauseID]string{
		"tx-routing-loop":         "none was a routing loop",
		"tx-too-big":              "an oversize packet",
		"tx-unsupported-protocol": "an unsupported protocol",
	}
	if p, ok := none[f.Cause]; ok && strings.Contains(f.Explanation, "so none was") && strings.Contains(f.Explanation, p) {
		return true
	}
	return false
}
