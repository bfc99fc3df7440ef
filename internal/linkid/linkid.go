// Package linkid decides which interface of a later reading is which
// interface of an earlier one: the one link identity that every delta in
// the module (procnet.DiffNetDev, vtistat.Diff, explain) is built on.
//
// The rules, strongest evidence first:
//
//   - With interface indexes (rtnetlink readings): a link is the same link
//     when its ifindex and kind are the same. A new name on the same
//     ifindex is a rename of that link (Renamed): its counters go on and
//     no event happened. A name the earlier reading had under an ifindex
//     the later one no longer has (or under the same ifindex with another
//     kind) is a link deleted and created again (Recreated): its counters
//     restarted at zero when it was created.
//   - Without indexes (/proc/net/dev copies): links are paired by name.
//     The kernel lists interfaces in the order they were registered, so an
//     interface deleted and created again between the readings moves
//     behind the others: the fewest interfaces whose move explains the new
//     order are Recreated, preferring those that are now later (which of
//     two interfaces that changed places was re-created the order alone
//     cannot tell). A renamed interface is a name gone and a name New:
//     without an index a rename and a deletion beside a creation look the
//     same. A name listed twice in one reading cannot be paired
//     (Duplicate). This rule cannot see a link re-created in place (the
//     last one, or all of them): counters that went back are the only sign
//     of those, which the callers check.
//
// Readings in which any link lacks an index are paired by name
// (Pairing.ByName says so).
package linkid

import (
	"slices"
	"sort"
)

// Links is one reading's interfaces as the pairing sees them.
type Links interface {
	Len() int
	Name(i int) string
	// Index is the ifindex, 0 when the reading has none.
	Index(i int) int32
	// Kind is IFLA_INFO_KIND, "" when unknown.
	Kind(i int) string
}

// How says how a link of the later reading relates to the earlier one.
type How uint8

const (
	// New: the earlier reading has no such link (created, moved into the
	// namespace, or newly selected). Prev is -1.
	New How = iota
	// Same: the same link under the same name.
	Same
	// Renamed: the same link (same ifindex and kind) under another name.
	Renamed
	// Recreated: a link of this name was in the earlier reading but this
	// is another one: a new ifindex (or kind), or, without indexes, a
	// position that only deleting and creating it again explains. Prev is
	// the earlier link's position.
	Recreated
	// Duplicate: without indexes, the name is listed twice in one of the
	// readings (with indexes: the ifindex is), so pairing would be a guess.
	// Prev is -1.
	Duplicate
)

var howNames = [...]string{New: "new", Same: "same", Renamed: "renamed", Recreated: "recreated", Duplicate: "duplicate"}

func (h How) String() string {
	if int(h) < len(howNames) {
		return howNames[h]
	}
	return "How(?)"
}

// Pairing is the result of Pair. Its slices are reused by the next Pair
// into the same Pairing.
type Pairing struct {
	// Prev[j] is the position in the earlier reading of the later
	// reading's link j, or -1.
	Prev []int
	How  []How
	// Vanished lists the positions of the earlier reading's links that no
	// link of the later one continues, in order.
	Vanished []int
	// VanishedDuplicate is true, per entry of Vanished, when the name was
	// listed twice in the earlier reading (and the later one has none).
	VanishedDuplicate []bool
	// ByName is true when the readings were paired by name and order
	// because some link had no index.
	ByName bool
}

// Identical reports whether the two readings list the same links in the
// same positions under the same names: every link is Same and none
// vanished. It is the cheap test a poll loop passes almost every time, and
// allocates nothing.
func Identical[B, A Links](before B, after A) bool {
	n := after.Len()
	if before.Len() != n {
		return false
	}
	noIndex := false
	for i := range n {
		if !SameAt(before, i, after, i) {
			return false
		}
		noIndex = noIndex || after.Index(i) == 0 || before.Index(i) == 0
	}
	// Without indexes a name listed twice cannot be paired; with them the
	// ifindex tells the two apart.
	return !noIndex || !hasDuplicateName(after)
}

// SameAt reports whether link bi of before and link ai of after are the
// same link under the same name, judged on the two entries alone: the same
// name, and the same ifindex and kind where both readings know them.
func SameAt[B, A Links](before B, bi int, after A, ai int) bool {
	return SameLink(before.Name(bi), before.Index(bi), before.Kind(bi), after.Name(ai), after.Index(ai), after.Kind(ai))
}

// SameLink is SameAt on the values: a name, ifindex (0: unknown) and kind
// ("": unknown) from each reading.
func SameLink(bName string, bIndex int32, bKind string, aName string, aIndex int32, aKind string) bool {
	if bName != aName {
		return false
	}
	if bIndex != aIndex && bIndex != 0 && aIndex != 0 {
		return false
	}
	return bKind == aKind || bKind == "" || aKind == ""
}

func hasNoIndex[B, A Links](before B, after A) bool {
	for i := range before.Len() {
		if before.Index(i) == 0 {
			return true
		}
	}
	for i := range after.Len() {
		if after.Index(i) == 0 {
			return true
		}
	}
	return false
}

// hasDuplicateName reports whether a name is listed twice, without a map
// in the common small case.
func hasDuplicateName[L Links](l L) bool {
	n := l.Len()
	if n <= 32 {
		for i := range n {
			for j := i + 1; j < n; j++ {
				if l.Name(i) == l.Name(j) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, n)
	for i := range n {
		if _, dup := seen[l.Name(i)]; dup {
			return true
		}
		seen[l.Name(i)] = struct{}{}
	}
	return false
}

// Pair pairs the links of after with those of before into p, reusing its
// storage.
func Pair[B, A Links](p *Pairing, before B, after A) {
	na, nb := after.Len(), before.Len()
	p.Prev = slices.Grow(p.Prev[:0], na)[:na]
	p.How = slices.Grow(p.How[:0], na)[:na]
	p.Vanished = p.Vanished[:0]
	p.VanishedDuplicate = p.VanishedDuplicate[:0]
	p.ByName = hasNoIndex(before, after)
	if Identical(before, after) {
		for j := range na {
			p.Prev[j], p.How[j] = j, Same
		}
		return
	}
	if p.ByName {
		pairByName(p, before, after)
		return
	}
	// By ifindex. Both readings are checked for an ifindex listed twice:
	// such a link cannot be paired.
	byIdx := make(map[int32]int, nb)
	const dup = -1
	for i := range nb {
		x := before.Index(i)
		if _, seen := byIdx[x]; seen {
			byIdx[x] = dup
		} else {
			byIdx[x] = i
		}
	}
	count := make(map[int32]int, na)
	for j := range na {
		count[after.Index(j)]++
	}
	used := make([]bool, nb)
	for j := range na {
		p.Prev[j], p.How[j] = -1, New
		x := after.Index(j)
		i, ok := byIdx[x]
		switch {
		case count[x] > 1 || (ok && i == dup):
			p.How[j] = Duplicate
		case !ok:
		case !kindsAgree(before.Kind(i), after.Kind(j)):
			// The same ifindex with another kind: the index was reused by
			// a new link, which the name rule below may still pair.
		case before.Name(i) == after.Name(j):
			p.Prev[j], p.How[j] = i, Same
			used[i] = true
		default:
			p.Prev[j], p.How[j] = i, Renamed
			used[i] = true
		}
	}
	// A new ifindex under a name whose earlier link is gone: recreated.
	var gone map[string]int
	for j := range na {
		if p.How[j] != New {
			continue
		}
		if gone == nil {
			gone = make(map[string]int)
			for i := range nb {
				if used[i] {
					continue
				}
				if _, seen := gone[before.Name(i)]; seen {
					gone[before.Name(i)] = dup
				} else {
					gone[before.Name(i)] = i
				}
			}
		}
		if i, ok := gone[after.Name(j)]; ok && i != dup && !used[i] {
			p.Prev[j], p.How[j] = i, Recreated
			used[i] = true
		}
	}
	for i := range nb {
		if !used[i] {
			p.Vanished = append(p.Vanished, i)
			p.VanishedDuplicate = append(p.VanishedDuplicate, false)
		}
	}
}

func kindsAgree(a, b string) bool { return a == b || a == "" || b == "" }

// pairByName is the rule for readings without indexes (/proc/net/dev):
// by name, then by order.
func pairByName[B, A Links](p *Pairing, before B, after A) {
	na, nb := after.Len(), before.Len()
	const dup = -2
	index := make(map[string]int, nb) // name -> position in before, or dup
	for i := range nb {
		if _, seen := index[before.Name(i)]; seen {
			index[before.Name(i)] = dup
		} else {
			index[before.Name(i)] = i
		}
	}
	count := make(map[string]int, na)
	for j := range na {
		count[after.Name(j)]++
	}
	for j := range na {
		name := after.Name(j)
		i, inBefore := index[name]
		p.Prev[j], p.How[j] = -1, New
		switch {
		case count[name] > 1 || (inBefore && i == dup):
			p.How[j] = Duplicate
		case inBefore:
			p.Prev[j], p.How[j] = i, Same
		}
	}
	for i := range nb {
		name := before.Name(i)
		if count[name] > 0 {
			continue // paired, or a duplicate of the later reading
		}
		switch index[name] {
		case i:
			p.Vanished = append(p.Vanished, i)
			p.VanishedDuplicate = append(p.VanishedDuplicate, false)
		case dup:
			index[name] = dup - 1 // report once
			p.Vanished = append(p.Vanished, i)
			p.VanishedDuplicate = append(p.VanishedDuplicate, true)
		}
	}
	// Interfaces in both readings keep their relative order unless one
	// was re-created: keep the longest run that is still in order.
	for j, in := range longestInOrder(p.Prev) {
		if p.How[j] == Same && !in {
			p.How[j] = Recreated
		}
	}
}

// longestInOrder marks the paired entries (pair[j] >= 0) that belong to
// the longest subsequence whose earlier-reading positions increase. Among
// equally long ones it keeps those that come first in the later reading,
// because an interface re-created between readings moves later. Runs in
// O(n log n).
func longestInOrder(pair []int) []bool {
	keep := make([]bool, len(pair))
	// Scan the later reading backwards looking for a decreasing run of
	// earlier positions; patience sorting keeps, per length, the entry seen
	// last (the earliest in the later reading).
	var tails []int // tails[k]: position j ending the best run of length k+1
	prev := make([]int, len(pair))
	for j := len(pair) - 1; j >= 0; j-- {
		if pair[j] < 0 {
			continue
		}
		k := sort.Search(len(tails), func(k int) bool { return pair[tails[k]] <= pair[j] })
		if k > 0 {
			prev[j] = tails[k-1]
		} else {
			prev[j] = -1
		}
		if k == len(tails) {
			tails = append(tails, j)
		} else {
			tails[k] = j
		}
	}
	if len(tails) == 0 {
		return keep
	}
	for j := tails[len(tails)-1]; j >= 0; j = prev[j] {
		keep[j] = true
	}
	return keep
}

// Recreated reports whether any link of the later reading is Recreated.
func (p *Pairing) Recreated() bool {
	for _, h := range p.How {
		if h == Recreated {
			return true
		}
	}
	return false
}
