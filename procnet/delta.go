package procnet

import (
	"sort"
	"strconv"
)

// ResetReason says why two readings of a counter cannot be subtracted.
type ResetReason uint8

const (
	// ResetDecreased: a counter went down. The interface was re-created, its
	// driver reset its counters, a 32-bit counter wrapped, or the network
	// namespace was replaced. Which one cannot be told from the file, so no
	// delta is guessed.
	ResetDecreased ResetReason = iota + 1
	// ResetVanished: only the earlier reading has it (interface deleted or
	// moved to another namespace; a counter the kernel stopped printing).
	ResetVanished
	// ResetAppeared: only the later reading has it.
	ResetAppeared
	// ResetReordered: an interface in both readings whose position moved
	// relative to the others. /proc/net/dev lists interfaces by ifindex, and
	// an interface deleted and re-created between the readings gets a new
	// ifindex, so its counters restarted from zero even if they are now
	// higher than before. When several moved, the fewest interfaces that
	// explain the new order are reported, preferring those that moved later.
	ResetReordered
	// ResetDuplicate: the name appears more than once in one reading (a
	// rename racing a multi-read of a very large file), so pairing the lines
	// would be a guess.
	ResetDuplicate
)

func (r ResetReason) String() string {
	switch r {
	case ResetDecreased:
		return "decreased"
	case ResetVanished:
		return "vanished"
	case ResetAppeared:
		return "appeared"
	case ResetReordered:
		return "reordered"
	case ResetDuplicate:
		return "duplicate"
	}
	return "ResetReason(" + strconv.Itoa(int(r)) + ")"
}

// NetDevReset is an interface whose counters cannot be subtracted between two
// readings.
type NetDevReset struct {
	Name   string
	Reason ResetReason
	// Column is, for ResetDecreased, the index in NetDevColumns of the first
	// column that went down, and Before and After are its two values.
	// Otherwise Column is -1 and Before and After are 0.
	Column        int
	Before, After uint64
}

// NetDevDelta is the difference between two readings of /proc/net/dev.
type NetDevDelta struct {
	// Devs holds after-before for every interface in both readings that
	// has no reset, in the order of the later reading. The Sum columns are
	// differences of sums: still sums.
	Devs []DevStats
	// Resets lists the interfaces that Devs leaves out and why: those of the
	// later reading in its order, then vanished ones in the earlier order.
	Resets []NetDevReset
}

// Dev returns the delta of the named interface, if it has one.
func (d *NetDevDelta) Dev(name string) (DevStats, bool) {
	for _, s := range d.Devs {
		if s.Name == name {
			return s, true
		}
	}
	return DevStats{}, false
}

// DiffNetDev returns after-before per interface, pairing interfaces by name.
// A counter that went down, an interface that vanished, appeared, or was
// re-created in between (seen as a change of order), and a name listed twice
// are reported in Resets and never as a wrapped or partial number.
func DiffNetDev(before, after []DevStats) NetDevDelta {
	var d NetDevDelta
	// pair[j] is the index in before of after[j], or notInBefore, or
	// duplicated.
	pair := make([]int, len(after))
	var vanished []NetDevReset
	if sameNames(before, after) && !hasDuplicateNames(after) {
		for j := range pair {
			pair[j] = j
		}
	} else {
		vanished = pairByName(before, after, pair)
	}

	// Interfaces in both readings keep their relative order unless one was
	// re-created: keep the longest run that is still in order.
	inOrder := longestInOrder(pair)

	reported := map[string]bool(nil) // duplicate names already reported
	for j := range after {
		name := after[j].Name
		switch i := pair[j]; {
		case i == notInBefore:
			d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetAppeared, Column: -1})
			continue
		case i == duplicated:
			if !reported[name] {
				if reported == nil {
					reported = make(map[string]bool)
				}
				reported[name] = true
				d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetDuplicate, Column: -1})
			}
			continue
		case !inOrder[j]:
			d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetReordered, Column: -1})
			continue
		}
		b, a := before[pair[j]].Values(), after[j].Values()
		col := -1
		for c := range a {
			if a[c] < b[c] {
				col = c
				break
			}
		}
		if col >= 0 {
			d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetDecreased, Column: col, Before: b[col], After: a[col]})
			continue
		}
		var v [16]uint64
		for c := range a {
			v[c] = a[c] - b[c]
		}
		s := DevStats{Name: name}
		s.setValues(&v)
		d.Devs = append(d.Devs, s)
	}
	d.Resets = append(d.Resets, vanished...)
	return d
}

// Values of pair[j] for an interface of the later reading that has no
// single partner in the earlier one.
const (
	notInBefore = -1
	duplicated  = -2
)

func sameNames(before, after []DevStats) bool {
	if len(before) != len(after) {
		return false
	}
	for i := range before {
		if before[i].Name != after[i].Name {
			return false
		}
	}
	return true
}

// hasDuplicateNames reports whether a name is listed twice, without a map in
// the common small case.
func hasDuplicateNames(stats []DevStats) bool {
	if len(stats) <= 32 {
		for i := range stats {
			for j := i + 1; j < len(stats); j++ {
				if stats[i].Name == stats[j].Name {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(stats))
	for i := range stats {
		if _, dup := seen[stats[i].Name]; dup {
			return true
		}
		seen[stats[i].Name] = struct{}{}
	}
	return false
}

// pairByName fills pair and returns the resets of names only the earlier
// reading has (vanished, or listed twice there and absent later), in its
// order.
func pairByName(before, after []DevStats, pair []int) []NetDevReset {
	index := make(map[string]int, len(before)) // name -> index in before, or duplicated
	for i := range before {
		if _, seen := index[before[i].Name]; seen {
			index[before[i].Name] = duplicated
		} else {
			index[before[i].Name] = i
		}
	}
	count := make(map[string]int, len(after))
	for j := range after {
		count[after[j].Name]++
	}
	for j := range after {
		name := after[j].Name
		i, inBefore := index[name]
		switch {
		case count[name] > 1 || (inBefore && i == duplicated):
			pair[j] = duplicated
		case !inBefore:
			pair[j] = notInBefore
		default:
			pair[j] = i
		}
	}
	var resets []NetDevReset
	for i := range before {
		name := before[i].Name
		if count[name] > 0 {
			continue // paired, or reported as a duplicate of the later reading
		}
		switch index[name] {
		case i:
			resets = append(resets, NetDevReset{Name: name, Reason: ResetVanished, Column: -1})
		case duplicated:
			index[name] = duplicated - 1 // report once
			resets = append(resets, NetDevReset{Name: name, Reason: ResetDuplicate, Column: -1})
		}
	}
	return resets
}

// longestInOrder marks the paired entries (pair[j] >= 0) that belong to the
// longest subsequence whose earlier-reading indices increase. Among equally
// long ones it keeps those that come first in the later reading, because an
// interface re-created between readings gets a higher ifindex and so moves
// later. Runs in O(n log n).
func longestInOrder(pair []int) []bool {
	keep := make([]bool, len(pair))
	// Scan the later reading backwards looking for a decreasing run of
	// earlier indices; patience sorting keeps, per length, the entry seen
	// last (the earliest in the later reading).
	var tails []int // tails[k]: position j ending the best run of length k+1
	prev := make([]int, len(pair))
	for j := len(pair) - 1; j >= 0; j-- {
		if pair[j] < 0 {
			continue
		}
		// Runs decrease in pair value; find the first tail whose value is
		// <= pair[j] (it cannot be extended by j).
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

// CounterReset is an xfrm_stat counter that cannot be subtracted between two
// readings.
type CounterReset struct {
	Name          string // kernel name, e.g. "XfrmOutNoStates"
	Reason        ResetReason
	Before, After uint64 // for ResetDecreased
}

// XfrmStatDelta is the difference between two readings of
// /proc/net/xfrm_stat.
type XfrmStatDelta struct {
	// XfrmStat holds after-before. Present[i] is true only for counters in
	// both readings that did not go down; Other holds, in the later
	// reading's order, the unknown counters in both that did not go down.
	XfrmStat
	// Resets lists the counters left out and why.
	Resets []CounterReset
}

// DiffXfrmStat returns after-before for every counter. A counter that went
// down (the namespace was re-created, or a 32-bit kernel's unsigned long
// wrapped) or that only one reading has is reported in Resets, never as a
// wrapped number.
func DiffXfrmStat(before, after *XfrmStat) XfrmStatDelta {
	var d XfrmStatDelta
	for i, name := range KnownXfrmCounters {
		inB, inA := before.Present[i], after.Present[i]
		switch {
		case inB && inA:
			b, a := *before.field(i), *after.field(i)
			if a < b {
				d.Resets = append(d.Resets, CounterReset{Name: name, Reason: ResetDecreased, Before: b, After: a})
				continue
			}
			d.Present[i] = true
			*d.field(i) = a - b
		case inA:
			d.Resets = append(d.Resets, CounterReset{Name: name, Reason: ResetAppeared, After: *after.field(i)})
		case inB:
			d.Resets = append(d.Resets, CounterReset{Name: name, Reason: ResetVanished, Before: *before.field(i)})
		}
	}
	for _, c := range after.Other {
		b, ok := findCounter(before.Other, c.Name)
		switch {
		case !ok:
			d.Resets = append(d.Resets, CounterReset{Name: c.Name, Reason: ResetAppeared, After: c.Value})
		case c.Value < b:
			d.Resets = append(d.Resets, CounterReset{Name: c.Name, Reason: ResetDecreased, Before: b, After: c.Value})
		default:
			d.Other = append(d.Other, Counter{Name: c.Name, Value: c.Value - b})
		}
	}
	for _, c := range before.Other {
		if _, ok := findCounter(after.Other, c.Name); !ok {
			d.Resets = append(d.Resets, CounterReset{Name: c.Name, Reason: ResetVanished, Before: c.Value})
		}
	}
	return d
}

func findCounter(cs []Counter, name string) (uint64, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}
