package explain

import "github.com/tunnelstat/tunnelstat/vtistat"

// linkList is a reading's links as explain walks them: Links, then
// VTIStatLinks. The quick test of a quiet link reads either kind in place;
// a VTIStatLinks entry becomes a LinkReading (converted once, cached) only
// when explain needs more of it.
type linkList struct {
	linkView
	conv map[int]*LinkReading // converted vti entries, by position in vti
}

func newLinkList(r *Reading) linkList {
	return linkList{linkView: linkView{readings: r.Links, vti: r.VTIStatLinks}}
}

// at returns link i as a LinkReading.
func (ll *linkList) at(i int) *LinkReading {
	if i < len(ll.readings) {
		return &ll.readings[i]
	}
	j := i - len(ll.readings)
	if r := ll.conv[j]; r != nil {
		return r
	}
	if ll.conv == nil {
		ll.conv = map[int]*LinkReading{}
	}
	r := &AppendLinksFromVTIStat(make([]LinkReading, 0, 1), ll.vti[j:j+1])[0]
	ll.conv[j] = r
	return r
}

// quick is what the quick test reads of link i: its index, counter source
// and, for netlink counters, the counters; or the LinkReading itself.
func (ll *linkList) quick(i int) (index int32, src CounterSource, stats *vtistat.Stats64, lr *LinkReading) {
	if i < len(ll.readings) {
		lr = &ll.readings[i]
		return lr.Index, lr.Source, &lr.Stats, lr
	}
	l := &ll.vti[i-len(ll.readings)]
	switch l.StatsSource {
	case vtistat.Stats64Bit:
		src = SourceStats64
	case vtistat.Stats32Bit:
		src = SourceStats32
	default:
		return l.Index, 0, nil, nil // /proc/net/dev sums or no counters: not for the quick test
	}
	return l.Index, src, &l.Stats, nil
}

// nothingToExplainAt is nothingToExplain for link bi of before and link ai
// of after, the same interface by name: the same index (or one unknown),
// the same counter source, and nothing moved that needs explaining.
func nothingToExplainAt(before *linkList, bi int, after *linkList, ai int) bool {
	bIdx, bSrc, bStats, bLR := before.quick(bi)
	aIdx, aSrc, aStats, aLR := after.quick(ai)
	if aSrc == 0 || bSrc != aSrc || (bIdx != 0 && aIdx != 0 && bIdx != aIdx) {
		return false
	}
	if bLR != nil && aLR != nil {
		return nothingToExplain(bLR, aLR)
	}
	return nothingToExplainStats(bStats, aStats) // a vtistat link on one side or both: netlink counters
}

// kind returns link i's name, kind and whether its underlay is in another
// namespace, without converting it.
func (ll *linkList) kind(i int) (name, kind string, crossNetns bool) {
	if i < len(ll.readings) {
		l := &ll.readings[i]
		return l.Name, l.Kind, l.CrossNetns
	}
	l := &ll.vti[i-len(ll.readings)]
	return l.Name, l.Kind, l.Tunnel != nil && l.LinkNetNSID >= 0
}

// linkView is a reading's links as internal/linkid pairs them: names,
// indexes and kinds. It is passed by value, so that pairing does not make
// the engine escape to the heap.
type linkView struct {
	readings []LinkReading
	vti      []vtistat.Link
}

func (v linkView) Len() int { return len(v.readings) + len(v.vti) }

// identity returns what linkid compares of link i, in one lookup.
func (v linkView) identity(i int) (name string, index int32, kind string) {
	if i < len(v.readings) {
		r := &v.readings[i]
		return r.Name, r.Index, r.Kind
	}
	l := &v.vti[i-len(v.readings)]
	return l.Name, l.Index, l.Kind
}

func (v linkView) Name(i int) string { n, _, _ := v.identity(i); return n }
func (v linkView) Index(i int) int32 { _, x, _ := v.identity(i); return x }
func (v linkView) Kind(i int) string { _, _, k := v.identity(i); return k }
