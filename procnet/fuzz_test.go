package procnet

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// checkRejected: a rejected input must give a *ParseError of a known kind
// with a line number, never a panic or a bare error.
func checkRejected(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line < 1 {
		t.Fatalf("error is not a *ParseError with a line: %v", err)
	}
	if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) && !errors.Is(err, ErrHeader) {
		t.Fatalf("error of unknown kind: %v", err)
	}
	if len(pe.Text) > maxErrorText+3 {
		t.Fatalf("Text not bounded: %d bytes", len(pe.Text))
	}
}

// FuzzParseNetDev: no panic, and every accepted input round-trips through
// netDevText to the same values, also on the reuse path.
func FuzzParseNetDev(f *testing.F) {
	for _, file := range append(fixtures(f, "netdev-*.txt"), fixtures(f, "edge-netdev-*.txt")...) {
		f.Add(readFixture(f, file))
	}
	f.Add([]byte(h1 + h2 + "eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"))
	f.Add([]byte(h1 + h2 + "a:b:c: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		stats, err := appendNetDev(nil, data)
		if err != nil {
			checkRejected(t, err)
			return
		}
		text := netDevText(stats)
		again, err := appendNetDev(nil, text)
		if err != nil {
			t.Fatalf("formatted output rejected: %v\n%s", err, text)
		}
		if !slices.Equal(again, stats) {
			t.Fatalf("round trip changed values:\n%+v\n%+v", stats, again)
		}
		// Reuse path over stale storage gives the same answer.
		stale := append(again, DevStats{Name: "stale", RxBytes: 1})
		reused, err := appendNetDev(stale[:0], data)
		if err != nil || !slices.Equal(reused, stats) {
			t.Fatalf("reuse path differs: %v", err)
		}
		viaReader, err := ParseNetDev(bytes.NewReader(data))
		if err != nil || !slices.Equal(viaReader, stats) {
			t.Fatalf("ParseNetDev differs from the reuse path: %v", err)
		}
	})
}

func equalXfrmStat(a, b *XfrmStat) bool {
	if a.present != b.present || !slices.Equal(a.Other, b.Other) {
		return false
	}
	for i := range knownXfrmCounters {
		if *a.field(i) != *b.field(i) {
			return false
		}
	}
	return true
}

// FuzzParseXfrmStat: no panic, and every accepted input round-trips through
// xfrmStatText to the same values, also on the reuse path.
func FuzzParseXfrmStat(f *testing.F) {
	for _, file := range append(fixtures(f, "xfrm_stat-*.txt"), fixtures(f, "edge-xfrm_stat-*.txt")...) {
		f.Add(readFixture(f, file))
	}
	f.Add([]byte("XfrmNew 1\nXfrmInError\t\t  2  \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s XfrmStat
		if err := s.unmarshalText(data); err != nil {
			checkRejected(t, err)
			return
		}
		text := xfrmStatText(&s)
		again, err := ParseXfrmStat(bytes.NewReader(text))
		if err != nil {
			t.Fatalf("formatted output rejected: %v\n%s", err, text)
		}
		if !equalXfrmStat(again, &s) {
			t.Fatalf("round trip changed values:\n%+v\n%+v", s, *again)
		}
		stale := XfrmStat{InError: 99, Other: []Counter{{"XfrmStale", 1}, {"XfrmStale2", 2}}}
		stale.present[5] = true
		if err := stale.unmarshalText(data); err != nil || !equalXfrmStat(&stale, &s) {
			t.Fatalf("reuse path differs: %v\n%+v\n%+v", err, stale, s)
		}
	})
}

// FuzzDiffNetDev: for any two readings (names from a small set so that
// matches, moves and duplicates are common), every interface of the later
// reading is accounted for exactly once, as a delta or as a reset, deltas
// never wrap, and what only the earlier reading has is reported.
func FuzzDiffNetDev(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{1, 2, 3})
	f.Add([]byte{1, 2, 3, 4}, []byte{1, 3, 4, 2})
	f.Add([]byte{1, 2, 2}, []byte{2, 1, 5})
	f.Add([]byte{0x11, 0x22}, []byte{0x21, 0x12})
	f.Fuzz(func(t *testing.T, b, a []byte) {
		mk := func(spec []byte) []DevStats {
			var out []DevStats
			for _, c := range spec {
				out = append(out, dev("if"+itoa(int(c%16)), uint64(c/16)))
			}
			return out
		}
		before, after := mk(b), mk(a)
		var d NetDevDelta
		DiffNetDev(&d, before, after)
		seen := map[string]int{}
		for _, s := range d.Devs {
			seen[s.Name]++
			for _, v := range s.values() {
				if v >= 16 {
					t.Fatalf("%s: delta %d cannot come from values below 16", s.Name, v)
				}
			}
		}
		for _, r := range d.Resets {
			seen[r.Name]++
			if r.Reason == ResetDecreased && (r.Column == "" || r.Before <= r.After) {
				t.Fatalf("bad decrease %+v", r)
			}
		}
		inBefore := map[string]bool{}
		for _, s := range before {
			inBefore[s.Name] = true
		}
		for _, s := range after {
			if seen[s.Name] != 1 {
				t.Fatalf("%s accounted for %d times: %+v", s.Name, seen[s.Name], d)
			}
		}
		for name := range inBefore {
			if seen[name] != 1 {
				t.Fatalf("earlier-only %s accounted for %d times: %+v", name, seen[name], d)
			}
		}
	})
}
