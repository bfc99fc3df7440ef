package vtistat

import (
	"slices"
	"strconv"
	"time"
)

// ResetReason says why a link's delta is not simply after minus before.
type ResetReason uint8

const (
	// NoReset: the same link (same ifindex) in both snapshots, no counter
	// went down. Stats is after − before, field by field.
	NoReset ResetReason = iota
	// ResetNewLink: the link is not in before (created since, moved into the
	// namespace, or newly selected). Stats is its counters as read in after.
	ResetNewLink
	// ResetRecreated: a link of this name was in before with another
	// ifindex: it was deleted and created again. Stats is the new link's
	// counters; what the old one counted after before.Time is lost.
	ResetRecreated
	// ResetCounterDecreased: the same link, but some counters went down
	// (a driver reset them, or a 32-bit counter wrapped; see
	// LinkDelta.Decreased). Those fields hold their value in after, the
	// others their increase.
	ResetCounterDecreased
	// ResetSourceChanged: the counters came from different sources (see
	// StatsSource), so they cannot be subtracted. Stats is zero.
	ResetSourceChanged
)

var resetNames = [...]string{"none", "new-link", "recreated", "counter-decreased", "source-changed"}

// String returns "none", "new-link", "recreated", "counter-decreased" or
// "source-changed".
func (r ResetReason) String() string {
	if int(r) < len(resetNames) {
		return resetNames[r]
	}
	return "ResetReason(" + strconv.Itoa(int(r)) + ")"
}

// LinkDelta is how one link's counters moved between two snapshots.
type LinkDelta struct {
	Index int32
	Name  string
	Kind  string

	// Stats is the increase of every counter; see Reset for the cases where
	// it is only a lower bound. It never holds a negative or wrapped value.
	Stats Stats64
	Reset ResetReason
	// Decreased has bit i set when the i-th counter of struct
	// rtnl_link_stats64 (RxPackets = bit 0 … RxOtherhostDropped = bit 24)
	// went down. Only with ResetCounterDecreased.
	Decreased uint32
	// PrevIndex is the ifindex the link had in before: equal to Index but
	// for ResetRecreated, 0 for ResetNewLink.
	PrevIndex int32
}

// RemovedLink is a link of before that after does not have (and that was
// not recreated under its name).
type RemovedLink struct {
	Index int32
	Name  string
	Kind  string
}

// Delta is what changed between two snapshots of the same namespace.
type Delta struct {
	Start, End time.Time // before.Time and after.Time
	// Links has one entry per link of after, in after's order.
	Links   []LinkDelta
	Removed []RemovedLink

	// scratch for DiffInto, reused between calls
	pair []int32
	used []bool
}

// Resets reports whether any link's delta is not a plain difference.
func (d *Delta) Resets() bool {
	for i := range d.Links {
		if d.Links[i].Reset != NoReset {
			return true
		}
	}
	return false
}

// Diff returns the counter changes from before to after. Links are matched
// by ifindex; a link whose ifindex is new but whose name was in before with
// another ifindex is reported as ResetRecreated. Links without an ifindex
// (the /proc/net/dev fallback) are matched by name.
func Diff(before, after *Snapshot) Delta {
	var d Delta
	DiffInto(&d, before, after)
	return d
}

// DiffInto is Diff writing into dst and reusing its storage: once dst is
// large enough, and the links have not changed, it allocates nothing.
func DiffInto(dst *Delta, before, after *Snapshot) {
	dst.Start, dst.End = before.Time, after.Time
	dst.Links = dst.Links[:0]
	dst.Removed = dst.Removed[:0]

	// pair[j] is the position in before of after.Links[j], -1 if none.
	pair := slices.Grow(dst.pair[:0], len(after.Links))[:len(after.Links)]
	used := slices.Grow(dst.used[:0], len(before.Links))[:len(before.Links)]
	clear(used)
	byName := usesNames(before) || usesNames(after)
	if !byName && slices.IsSortedFunc(before.Links, cmpIndex) && slices.IsSortedFunc(after.Links, cmpIndex) {
		// Merge walk: the common case, linear and allocation-free.
		i := 0
		for j := range after.Links {
			idx := after.Links[j].Index
			for i < len(before.Links) && before.Links[i].Index < idx {
				i++
			}
			pair[j] = -1
			if i < len(before.Links) && before.Links[i].Index == idx {
				pair[j] = int32(i)
				used[i] = true
			}
		}
	} else {
		var pos map[string]int32
		var ipos map[int32]int32
		if byName {
			pos = make(map[string]int32, len(before.Links))
			for i := range before.Links {
				pos[before.Links[i].Name] = int32(i)
			}
		} else {
			ipos = make(map[int32]int32, len(before.Links))
			for i := range before.Links {
				ipos[before.Links[i].Index] = int32(i)
			}
		}
		for j := range after.Links {
			pair[j] = -1
			var i int32
			var ok bool
			if byName {
				i, ok = pos[after.Links[j].Name]
			} else {
				i, ok = ipos[after.Links[j].Index]
			}
			if ok && !used[i] {
				pair[j] = i
				used[i] = true
			}
		}
	}

	// Links of after with a new ifindex: recreated if their name was in
	// before under an ifindex that after no longer has.
	var recreated map[string]int32
	for j := range after.Links {
		if pair[j] >= 0 || byName {
			continue
		}
		if recreated == nil {
			recreated = make(map[string]int32)
			for i := range before.Links {
				if !used[i] {
					recreated[before.Links[i].Name] = int32(i)
				}
			}
		}
		if i, ok := recreated[after.Links[j].Name]; ok && !used[i] {
			pair[j] = -2 - i // recreated: marked apart from a plain match
			used[i] = true
		}
	}

	for j := range after.Links {
		a := &after.Links[j]
		d := LinkDelta{Index: a.Index, Name: a.Name, Kind: a.Kind, PrevIndex: a.Index}
		switch p := pair[j]; {
		case p == -1:
			d.Reset, d.Stats, d.PrevIndex = ResetNewLink, a.Stats, 0
		case p <= -2:
			d.Reset, d.Stats, d.PrevIndex = ResetRecreated, a.Stats, before.Links[-2-p].Index
		default:
			b := &before.Links[p]
			if b.StatsSource != a.StatsSource {
				d.Reset = ResetSourceChanged
				break
			}
			d.Decreased = subStats(&d.Stats, &a.Stats, &b.Stats)
			if d.Decreased != 0 {
				d.Reset = ResetCounterDecreased
			}
		}
		dst.Links = append(dst.Links, d)
	}
	for i := range before.Links {
		if !used[i] {
			b := &before.Links[i]
			dst.Removed = append(dst.Removed, RemovedLink{Index: b.Index, Name: b.Name, Kind: b.Kind})
		}
	}
	dst.pair, dst.used = pair, used
}

// usesNames reports whether s's links have no ifindex (/proc/net/dev).
func usesNames(s *Snapshot) bool {
	return len(s.Links) > 0 && s.Links[0].Index == 0
}

// subStats sets d = a − b field by field. A field that went down holds
// its value in a, and its bit is set in the result.
func subStats(d, a, b *Stats64) (decreased uint32) {
	df, af, bf := d.fields(), a.fields(), b.fields()
	for i := range af {
		if *af[i] >= *bf[i] {
			*df[i] = *af[i] - *bf[i]
		} else {
			*df[i] = *af[i]
			decreased |= 1 << i
		}
	}
	return decreased
}

// StatsFieldNames names the counters of Stats64 in the kernel's struct
// order, as LinkDelta.Decreased numbers them: the field names of struct
// rtnl_link_stats64.
var StatsFieldNames = [25]string{
	"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
	"rx_dropped", "tx_dropped", "multicast", "collisions",
	"rx_length_errors", "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors", "rx_missed_errors",
	"tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors", "tx_heartbeat_errors", "tx_window_errors",
	"rx_compressed", "tx_compressed", "rx_nohandler", "rx_otherhost_dropped",
}
