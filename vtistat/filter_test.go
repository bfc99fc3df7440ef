package vtistat

import (
	"slices"
	"strings"
	"testing"
)

func TestLinkFilters(t *testing.T) {
	kinds := []string{"vti", "gre"}
	f := ByKind(kinds...)
	kinds[0] = "changed" // the filter keeps its own copy
	q := newQuery([]LinkFilter{f, ByKind("xfrm"), ByName("vti0"), ByIndex(7)})
	if !q.byKind || !slices.Equal(q.kinds, []string{"vti", "gre", "xfrm"}) || !q.byName || q.name != "vti0" ||
		!q.byIndex || q.index != 7 || q.bad != "" {
		t.Errorf("query %+v", q)
	}
	if q := newQuery(nil); q.byKind || q.byName || q.byIndex || q.bad != "" {
		t.Errorf("no filters: %+v", q)
	}
	if q := newQuery([]LinkFilter{ByName("a"), ByName("a")}); q.bad != "" {
		t.Errorf("the same name twice: %q", q.bad)
	}
	for _, c := range []struct {
		filters []LinkFilter
		want    string
	}{
		{[]LinkFilter{{}}, "zero LinkFilter"},
		{[]LinkFilter{ByName("a"), ByName("b")}, "two different ByName"},
		{[]LinkFilter{ByIndex(1), ByIndex(2)}, "two different ByIndex"},
	} {
		if q := newQuery(c.filters); !strings.Contains(q.bad, c.want) {
			t.Errorf("%+v: bad = %q, want %q", c.filters, q.bad, c.want)
		}
	}
}

func TestStatsNames(t *testing.T) {
	names := StatsFieldNames()
	if len(names) != nStats || names[17] != "tx_carrier_errors" {
		t.Fatalf("StatsFieldNames() = %v", names)
	}
	names[0] = "changed"
	if StatsFieldNames()[0] != "rx_packets" {
		t.Error("StatsFieldNames returned shared storage")
	}
	s := Stats64{RxPackets: 1, TxCarrierErrors: 18, RxOtherhostDropped: 25}
	i := 0
	for name, v := range s.All() {
		if name != statsFieldNames[i] || v != *s.fields()[i] {
			t.Errorf("All() #%d = %s %d", i, name, v)
		}
		i++
	}
	if i != nStats {
		t.Errorf("All() yielded %d counters, want %d", i, nStats)
	}
}
