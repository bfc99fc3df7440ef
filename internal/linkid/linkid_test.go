package linkid

import (
	"fmt"
	"testing"
)

type link struct {
	name  string
	index int32
	kind  string
}

type list []link

func (l list) Len() int          { return len(l) }
func (l list) Name(i int) string { return l[i].name }
func (l list) Index(i int) int32 { return l[i].index }
func (l list) Kind(i int) string { return l[i].kind }

func TestPair(t *testing.T) {
	for _, c := range []struct {
		name          string
		before, after list
		how           []How
		prev          []int
		vanished      []int
		byName        bool
	}{
		{"identical", list{{"a", 1, "vti"}, {"b", 2, "gre"}}, list{{"a", 1, "vti"}, {"b", 2, "gre"}},
			[]How{Same, Same}, []int{0, 1}, nil, false},
		{"rename", list{{"vti1", 5, "vti"}}, list{{"vti9", 5, "vti"}},
			[]How{Renamed}, []int{0}, nil, false},
		{"rename and a new link under the old name", list{{"vti1", 5, "vti"}}, list{{"vti9", 5, "vti"}, {"vti1", 8, "vti"}},
			[]How{Renamed, New}, []int{0, -1}, nil, false},
		{"recreated", list{{"eth0", 2, ""}, {"vti1", 5, "vti"}}, list{{"eth0", 2, ""}, {"vti1", 9, "vti"}},
			[]How{Same, Recreated}, []int{0, 1}, nil, false},
		{"index reused by another kind", list{{"t", 5, "gre"}}, list{{"t", 5, "ipip"}},
			[]How{Recreated}, []int{0}, nil, false},
		{"deleted", list{{"a", 1, ""}, {"b", 2, ""}}, list{{"b", 2, ""}},
			[]How{Same}, []int{1}, []int{0}, false},
		{"duplicate index", list{{"a", 1, ""}}, list{{"a", 1, ""}, {"b", 1, ""}},
			[]How{Duplicate, Duplicate}, []int{-1, -1}, []int{0}, false},
		{"proc: re-created moves behind", list{{"vti0", 0, ""}, {"eth0", 0, ""}}, list{{"eth0", 0, ""}, {"vti0", 0, ""}},
			[]How{Same, Recreated}, []int{1, 0}, nil, true},
		{"proc: one link without index makes it by name", list{{"vti0", 4, ""}, {"eth0", 2, ""}}, list{{"eth0", 0, ""}, {"vti0", 4, ""}},
			[]How{Same, Recreated}, []int{1, 0}, nil, true},
		{"proc: a rename is a name gone and a name new", list{{"a", 0, ""}, {"vti1", 0, ""}, {"b", 0, ""}}, list{{"a", 0, ""}, {"vti9", 0, ""}, {"b", 0, ""}},
			[]How{Same, New, Same}, []int{0, -1, 2}, []int{1}, true},
		{"proc: duplicate name", list{{"a", 0, ""}, {"a", 0, ""}}, list{{"a", 0, ""}, {"a", 0, ""}},
			[]How{Duplicate, Duplicate}, []int{-1, -1}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p Pairing
			Pair(&p, c.before, c.after)
			if fmt.Sprint(p.How) != fmt.Sprint(c.how) || fmt.Sprint(p.Prev) != fmt.Sprint(c.prev) ||
				fmt.Sprint(p.Vanished) != fmt.Sprint(c.vanished) || p.ByName != c.byName {
				t.Errorf("got how %v prev %v vanished %v byName %v\nwant how %v prev %v vanished %v byName %v",
					p.How, p.Prev, p.Vanished, p.ByName, c.how, c.prev, c.vanished, c.byName)
			}
		})
	}
}

func TestIdenticalAllocatesNothing(t *testing.T) {
	l := make(list, 100)
	for i := range l {
		l[i] = link{fmt.Sprint("if", i), int32(i + 1), "vti"}
	}
	var p Pairing
	Pair(&p, l, l)
	if n := testing.AllocsPerRun(10, func() { Pair(&p, l, l) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// FuzzPair: any two lists pair without panic, every earlier link is
// continued by at most one later link or listed as vanished, and a later
// link's How agrees with its Prev.
func FuzzPair(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0, 3, 2, 1}, false)
	f.Add([]byte{1, 1, 2, 0, 2, 1}, true)
	f.Fuzz(func(t *testing.T, data []byte, noIndex bool) {
		var before, after list
		cur := &before
		for _, b := range data {
			if b == 0 && cur == &before {
				cur = &after
				continue
			}
			idx := int32(b & 0x0f)
			if noIndex {
				idx = 0
			}
			*cur = append(*cur, link{name: fmt.Sprint("l", b>>4), index: idx, kind: []string{"", "vti"}[b>>7]})
		}
		var p Pairing
		Pair(&p, before, after)
		used := make([]int, len(before))
		for j, h := range p.How {
			switch h {
			case New, Duplicate:
				if p.Prev[j] != -1 {
					t.Fatalf("link %d is %v with prev %d", j, h, p.Prev[j])
				}
			default:
				if p.Prev[j] < 0 || p.Prev[j] >= len(before) {
					t.Fatalf("link %d is %v with prev %d", j, h, p.Prev[j])
				}
				used[p.Prev[j]]++
			}
		}
		for _, i := range p.Vanished {
			used[i]++
		}
		for i, n := range used {
			if n > 1 {
				t.Fatalf("earlier link %d used %d times: %+v", i, n, p)
			}
		}
	})
}
