//go:build linux

package vtistat

import (
	"errors"
	"fmt"
	"slices"
)

// iflaStatsLink64 is IFLA_STATS_LINK_64 in RTM_NEWSTATS.
const iflaStatsLink64 = 1

func (q *query) validate() error {
	if q.bad != "" {
		return errors.New("vtistat: " + q.bad)
	}
	if q.byName && (q.name == "" || len(q.name) >= 16) {
		return fmt.Errorf("vtistat: ByName(%q): a link name has 1 to 15 bytes", q.name)
	}
	if q.byIndex && q.index <= 0 {
		return fmt.Errorf("vtistat: ByIndex(%d): an ifindex is positive", q.index)
	}
	return nil
}

// single reports whether the query names one link.
func (q *query) single() bool { return q.byName || q.byIndex }

// match reports whether l is selected.
func (q *query) match(l *Link) bool {
	if q.byIndex && l.Index != q.index {
		return false
	}
	if q.byName && l.Name != q.name {
		return false
	}
	if q.byKind && !slices.Contains(q.kinds, l.Kind) {
		return false
	}
	return true
}

// matchKind is match for a kind seen before the rest is decoded.
func (q *query) matchKind(kind []byte) bool {
	if !q.byKind {
		return true
	}
	for _, k := range q.kinds {
		if k == string(kind) {
			return true
		}
	}
	return false
}

// same reports whether q and o select the same links.
func (q *query) same(o *query) bool {
	return q.byKind == o.byKind && q.byName == o.byName && q.byIndex == o.byIndex &&
		q.name == o.name && q.index == o.index && slices.Equal(q.kinds, o.kinds)
}
