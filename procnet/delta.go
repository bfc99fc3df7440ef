package procnet

import (
	"strconv"

	"github.com/tunnelstat/tunnelstat/internal/linkid"
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
	// Column is, for ResetDecreased, the first column that went down, named
	// as NetDevColumns names it ("tx carrier"), and Before and After are its
	// two values. Otherwise Column is "" and Before and After are 0.
	Column        string
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

	pairing linkid.Pairing // DiffNetDev's scratch, reused between calls
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

// DiffNetDev sets dst to after-before per interface. A counter that went
// down, an interface that vanished, appeared, or was re-created in between
// (seen as a change of order), and a name listed twice are reported in
// Resets and never as a wrapped or partial number.
//
// Interfaces are paired by the module's one link identity (internal/linkid):
// /proc/net/dev has no interface index, so by name and by the order the
// kernel lists interfaces in.
//
// dst is overwritten and its storage reused, as every destination in this
// module: in a poll loop, keep one NetDevDelta and pass it each time; once
// it is large enough and the interfaces have not changed, DiffNetDev
// allocates nothing. Names in dst share the strings of after.
func DiffNetDev(dst *NetDevDelta, before, after []DevStats) {
	d := dst
	d.Devs, d.Resets = d.Devs[:0], d.Resets[:0]
	p := &d.pairing
	linkid.Pair(p, devList(before), devList(after))
	reported := map[string]bool(nil) // duplicate names already reported
	for j := range after {
		name := after[j].Name
		switch p.How[j] {
		case linkid.New:
			d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetAppeared})
			continue
		case linkid.Duplicate:
			if !reported[name] {
				if reported == nil {
					reported = make(map[string]bool)
				}
				reported[name] = true
				d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetDuplicate})
			}
			continue
		case linkid.Recreated:
			d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetReordered})
			continue
		}
		b, a := before[p.Prev[j]].values(), after[j].values()
		col := -1
		for c := range a {
			if a[c] < b[c] {
				col = c
				break
			}
		}
		if col >= 0 {
			d.Resets = append(d.Resets, NetDevReset{Name: name, Reason: ResetDecreased, Column: netDevColumns[col], Before: b[col], After: a[col]})
			continue
		}
		var v [nNetDevColumns]uint64
		for c := range a {
			v[c] = a[c] - b[c]
		}
		s := DevStats{Name: name}
		s.setValues(&v)
		d.Devs = append(d.Devs, s)
	}
	for k, i := range p.Vanished {
		r := NetDevReset{Name: before[i].Name, Reason: ResetVanished}
		if p.VanishedDuplicate[k] {
			r.Reason = ResetDuplicate
		}
		d.Resets = append(d.Resets, r)
	}
}

// devList is a /proc/net/dev reading as internal/linkid pairs it: names
// only.
type devList []DevStats

func (l devList) Len() int          { return len(l) }
func (l devList) Name(i int) string { return l[i].Name }
func (l devList) Index(int) int32   { return 0 }
func (l devList) Kind(int) string   { return "" }

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
	// XfrmStat holds after-before. Its Counter reports present only the
	// counters in both readings that did not go down; Other holds, in the
	// later reading's order, the unknown counters in both that did not go
	// down.
	XfrmStat
	// Resets lists the counters left out and why.
	Resets []CounterReset
}

// DiffXfrmStat sets dst to after-before for every counter. A counter that
// went down (the namespace was re-created, or a 32-bit kernel's unsigned
// long wrapped) or that only one reading has is reported in Resets, never
// as a wrapped number.
//
// dst is overwritten and its storage reused, as in DiffNetDev: with the same
// counters in both readings, DiffXfrmStat allocates nothing. Names in dst
// share the strings of before and after.
func DiffXfrmStat(dst *XfrmStatDelta, before, after *XfrmStat) {
	d := dst
	other, resets := d.Other[:0], d.Resets[:0]
	d.XfrmStat = XfrmStat{}
	d.Other, d.Resets = other, resets
	for i, name := range knownXfrmCounters {
		inB, inA := before.present[i], after.present[i]
		switch {
		case inB && inA:
			b, a := *before.field(i), *after.field(i)
			if a < b {
				d.Resets = append(d.Resets, CounterReset{Name: name, Reason: ResetDecreased, Before: b, After: a})
				continue
			}
			d.present[i] = true
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
}

func findCounter(cs []Counter, name string) (uint64, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}
