package explain

// linkList is a reading's links as explain walks them.
type linkList struct {
	linkView
}

func newLinkList(r *Reading) linkList {
	return linkList{linkView: linkView{readings: r.Links}}
}

// at returns link i.
func (ll *linkList) at(i int) *LinkReading { return &ll.readings[i] }

// nothingToExplainAt is nothingToExplain for link bi of before and link ai
// of after, the same interface by name: the same index (or one unknown),
// the same counter source, and nothing moved that needs explaining.
func nothingToExplainAt(before *linkList, bi int, after *linkList, ai int) bool {
	b, a := &before.readings[bi], &after.readings[ai]
	if a.Source == 0 || b.Source != a.Source || (b.Index != 0 && a.Index != 0 && b.Index != a.Index) {
		return false
	}
	return nothingToExplain(b, a)
}

// kind returns link i's name, kind and whether its underlay is in another
// namespace.
func (ll *linkList) kind(i int) (name, kind string, crossNetns bool) {
	l := &ll.readings[i]
	return l.Name, l.Kind, l.CrossNetns
}

// linkView is a reading's links as internal/linkid pairs them: names,
// indexes and kinds. It is passed by value, so that pairing does not make
// the engine escape to the heap.
type linkView struct {
	readings []LinkReading
}

func (v linkView) Len() int { return len(v.readings) }

// identity returns what linkid compares of link i, in one lookup.
func (v linkView) identity(i int) (name string, index int32, kind string) {
	r := &v.readings[i]
	return r.Name, r.Index, r.Kind
}

func (v linkView) Name(i int) string { n, _, _ := v.identity(i); return n }
func (v linkView) Index(i int) int32 { _, x, _ := v.identity(i); return x }
func (v linkView) Kind(i int) string { _, _, k := v.identity(i); return k }
