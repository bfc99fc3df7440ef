package vtistat

import (
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/linkid"
	"github.com/tunnelstat/tunnelstat/procnet"
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
	// LinkDelta.DecreasedFields). Those fields hold their value in after,
	// the others their increase.
	ResetCounterDecreased
	// ResetSourceChanged: the counters came from different sources (see
	// StatsSource), so they cannot be subtracted. Stats is zero.
	ResetSourceChanged
	// ResetDuplicate: the link's ifindex (or, without indexes, its name) is
	// listed twice in one snapshot, so pairing it would be a guess. Stats is
	// zero.
	ResetDuplicate
)

var resetNames = [...]string{"none", "new-link", "recreated", "counter-decreased", "source-changed", "duplicate"}

// String returns "none", "new-link", "recreated", "counter-decreased",
// "source-changed" or "duplicate".
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
	// PrevIndex is the ifindex the link had in before: equal to Index but
	// for ResetRecreated, 0 for ResetNewLink.
	PrevIndex int32
	// PrevName is the name the link had in before: equal to Name unless it
	// was renamed (the same ifindex and kind under a new name: the same
	// link, its counters subtracted as usual), "" for ResetNewLink.
	PrevName string

	// Dev is, for a link read from /proc/net/dev (Link.Dev set in after),
	// the increase of every column of its line, under the rules Stats
	// follows: the line as read in after for ResetNewLink and
	// ResetRecreated, zero for ResetSourceChanged and ResetDuplicate, and
	// with ResetCounterDecreased a column that went down holds its value in
	// after (DecreasedFields names fields of Stats64 and yields nothing for
	// a line). The Sum columns are differences of sums: still sums. Stats
	// is then zero. Dev is nil for links read over rtnetlink. It points
	// into the Delta's storage and is overwritten by the next Diff into it.
	Dev *procnet.DevStats

	decreased statsSet // the counters that went down; see DecreasedFields
}

// DecreasedFields yields, with ResetCounterDecreased, the counters that
// went down, by their kernel names ("tx_carrier_errors"; see
// StatsFieldNames), in struct order. Otherwise it yields nothing.
func (d *LinkDelta) DecreasedFields() iter.Seq[string] {
	return func(yield func(string) bool) {
		for i, name := range statsFieldNames {
			if d.decreased.has(i) && !yield(name) {
				return
			}
		}
	}
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

	// Diff's scratch, reused between calls
	pairing linkid.Pairing
	devs    []procnet.DevStats // what Links[i].Dev point into
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

// Diff sets dst to the counter changes from before to after. Links are
// paired by the module's one link identity (internal/linkid): the same
// ifindex and kind is the same link, also under a new name (PrevName says
// which); a name that before had under an ifindex that after no longer has
// is ResetRecreated. Links without an ifindex (the /proc/net/dev fallback)
// are paired by name and by the order the kernel lists them in, where an
// interface that moved behind others was re-created.
//
// dst is overwritten and its storage reused, as every destination in this
// module: keep one Delta in a poll loop and pass it each time; once it is
// large enough, and the links have not changed, Diff allocates nothing.
// Names in dst share the strings of after.
func Diff(dst *Delta, before, after *Snapshot) {
	dst.Start, dst.End = before.Time, after.Time
	dst.Links = dst.Links[:0]
	dst.Removed = dst.Removed[:0]
	p := &dst.pairing
	linkid.Pair(p, snapLinks(before.Links), snapLinks(after.Links))
	// The /proc/net/dev deltas get their storage first, so that the
	// pointers into it stay valid.
	nDev := 0
	for j := range after.Links {
		if after.Links[j].Dev != nil {
			nDev++
		}
	}
	dst.devs = slices.Grow(dst.devs[:0], nDev)[:nDev]
	nDev = 0
	for j := range after.Links {
		a := &after.Links[j]
		d := LinkDelta{Index: a.Index, Name: a.Name, Kind: a.Kind, PrevIndex: a.Index, PrevName: a.Name}
		if a.Dev != nil {
			d.Dev = &dst.devs[nDev]
			*d.Dev = procnet.DevStats{Name: a.Dev.Name}
			nDev++
		}
		switch p.How[j] {
		case linkid.New:
			d.Reset, d.Stats, d.PrevIndex, d.PrevName = ResetNewLink, a.Stats, 0, ""
			if d.Dev != nil {
				*d.Dev = *a.Dev
			}
		case linkid.Duplicate:
			d.Reset, d.PrevIndex, d.PrevName = ResetDuplicate, 0, ""
		case linkid.Recreated:
			b := &before.Links[p.Prev[j]]
			d.Reset, d.Stats, d.PrevIndex = ResetRecreated, a.Stats, b.Index
			if d.Dev != nil {
				*d.Dev = *a.Dev
			}
		default: // Same or Renamed
			b := &before.Links[p.Prev[j]]
			d.PrevName = b.Name
			if b.StatsSource != a.StatsSource || (a.Dev == nil) != (b.Dev == nil) {
				d.Reset = ResetSourceChanged
				break
			}
			d.decreased = subStats(&d.Stats, &a.Stats, &b.Stats)
			if d.decreased != 0 || (d.Dev != nil && subDev(d.Dev, a.Dev, b.Dev)) {
				d.Reset = ResetCounterDecreased
			}
		}
		dst.Links = append(dst.Links, d)
	}
	for _, i := range p.Vanished {
		b := &before.Links[i]
		dst.Removed = append(dst.Removed, RemovedLink{Index: b.Index, Name: b.Name, Kind: b.Kind})
	}
}

// snapLinks is a snapshot's links as internal/linkid pairs them.
type snapLinks []Link

func (l snapLinks) Len() int          { return len(l) }
func (l snapLinks) Name(i int) string { return l[i].Name }
func (l snapLinks) Index(i int) int32 { return l[i].Index }
func (l snapLinks) Kind(i int) string { return l[i].Kind }

// subStats sets d = a − b field by field. A field that went down holds
// its value in a, and is in the result.
func subStats(d, a, b *Stats64) (decreased statsSet) {
	df, af, bf := d.fields(), a.fields(), b.fields()
	for i := range af {
		if *af[i] >= *bf[i] {
			*df[i] = *af[i] - *bf[i]
		} else {
			*df[i] = *af[i]
			decreased = decreased.with(i)
		}
	}
	return decreased
}

// subDev sets the columns of d to a − b. A column that went down holds its
// value in a; the result says whether any did.
func subDev(d, a, b *procnet.DevStats) (decreased bool) {
	sub := func(a, b uint64) uint64 {
		if a < b {
			decreased = true
			return a
		}
		return a - b
	}
	subSum := func(a, b procnet.Sum) procnet.Sum { return procnet.Sum(sub(uint64(a), uint64(b))) }
	*d = procnet.DevStats{
		Name:    a.Name,
		RxBytes: sub(a.RxBytes, b.RxBytes), RxPackets: sub(a.RxPackets, b.RxPackets), RxErrors: sub(a.RxErrors, b.RxErrors),
		RxDropSum: subSum(a.RxDropSum, b.RxDropSum), RxFIFOErrors: sub(a.RxFIFOErrors, b.RxFIFOErrors),
		RxFrameSum: subSum(a.RxFrameSum, b.RxFrameSum), RxCompressed: sub(a.RxCompressed, b.RxCompressed),
		RxMulticast: sub(a.RxMulticast, b.RxMulticast),
		TxBytes:     sub(a.TxBytes, b.TxBytes), TxPackets: sub(a.TxPackets, b.TxPackets), TxErrors: sub(a.TxErrors, b.TxErrors),
		TxDropped: sub(a.TxDropped, b.TxDropped), TxFIFOErrors: sub(a.TxFIFOErrors, b.TxFIFOErrors),
		Collisions: sub(a.Collisions, b.Collisions), TxCarrierSum: subSum(a.TxCarrierSum, b.TxCarrierSum),
		TxCompressed: sub(a.TxCompressed, b.TxCompressed),
	}
	return decreased
}
