package vtistat

import (
	"cmp"
	"slices"
	"time"
)

// clear empties s after a failed read, keeping its storage for reuse.
func (s *Snapshot) clear() {
	s.Links = s.Links[:0]
	s.skipped = s.skipped[:0]
	s.Time, s.ParamsTime = time.Time{}, time.Time{}
}

// Clone returns a deep copy of s that shares no storage with it.
func (s *Snapshot) Clone() *Snapshot {
	c := &Snapshot{
		Time:       s.Time,
		ParamsTime: s.ParamsTime,
		Retries:    s.Retries,
		Links:      slices.Clone(s.Links),
		q:          s.q.clone(),
		skipped:    slices.Clone(s.skipped),
		seen:       slices.Clone(s.seen),
		gen:        s.gen,
	}
	for i := range c.Links {
		l := &c.Links[i]
		if t := l.Tunnel; t != nil {
			tc := *t
			l.Tunnel = &tc
		}
		if d := l.Dev; d != nil {
			dc := *d
			l.Dev = &dc
		}
	}
	return c
}

// ByIndex returns the link with this ifindex, or nil.
func (s *Snapshot) ByIndex(index int32) *Link {
	if i, ok := slices.BinarySearchFunc(s.Links, index, func(l Link, t int32) int { return cmp.Compare(l.Index, t) }); ok {
		return &s.Links[i]
	}
	for i := range s.Links { // a Snapshot not made by this package may be unsorted
		if s.Links[i].Index == index {
			return &s.Links[i]
		}
	}
	return nil
}

// ByName returns the link with this name, or nil.
func (s *Snapshot) ByName(name string) *Link {
	for i := range s.Links {
		if s.Links[i].Name == name {
			return &s.Links[i]
		}
	}
	return nil
}

func cmpIndex(a, b Link) int { return cmp.Compare(a.Index, b.Index) }
