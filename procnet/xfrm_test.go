package procnet

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func xfrmFixtures(t testing.TB) []string {
	var out []string
	for _, f := range append(fixtures(t, "xfrm_stat-*.txt"), fixtures(t, "edge-xfrm_stat-*.txt")...) {
		if !isErrFixture(f) {
			out = append(out, f)
		}
	}
	return out
}

func TestKnownXfrmCountersMatchPresent(t *testing.T) {
	var s XfrmStat
	if len(knownXfrmCounters) != len(s.present) {
		t.Fatalf("%d known counters, present has %d", len(knownXfrmCounters), len(s.present))
	}
	// KnownXfrmCounters hands out a copy: changing it changes nothing here.
	names := KnownXfrmCounters()
	if !slices.Equal(names, knownXfrmCounters[:]) {
		t.Fatalf("KnownXfrmCounters() = %v", names)
	}
	names[0] = "XfrmChanged"
	if KnownXfrmCounters()[0] != "XfrmInError" {
		t.Error("KnownXfrmCounters returned shared storage")
	}
	// Each index has its own field.
	seen := map[*uint64]string{}
	for i, name := range knownXfrmCounters {
		p := s.field(i)
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s share a field", name, other)
		}
		seen[p] = name
	}
}

func TestParseXfrmStatHost(t *testing.T) {
	// This machine (Linux 6.18) prints all 32 known counters, in order.
	s, err := ParseXfrmStat(bytes.NewReader(readFixture(t, "testdata/xfrm_stat-host-linux6.18.txt")))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range knownXfrmCounters {
		if !s.present[i] || !s.has(name) {
			t.Errorf("%s not present", name)
		}
	}
	if len(s.Other) != 0 {
		t.Errorf("Other = %v", s.Other)
	}
}

func TestParseXfrmStatNetnsPolicies(t *testing.T) {
	// Captured by testdata/capture-netns.sh: counters moved by real packets.
	s, err := ParseXfrmStat(bytes.NewReader(readFixture(t, "testdata/xfrm_stat-netns-policies-linux6.18.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if s.InPolBlock != 5 || s.OutPolBlock != 4 || s.OutNoStates != 9 {
		t.Errorf("InPolBlock, OutPolBlock, OutNoStates = %d, %d, %d; want 5, 4, 9", s.InPolBlock, s.OutPolBlock, s.OutNoStates)
	}
	if v, ok := s.Counter("XfrmOutNoStates"); !ok || v != 9 {
		t.Errorf("Counter(XfrmOutNoStates) = %d, %v", v, ok)
	}
}

func TestParseXfrmStatClassic28(t *testing.T) {
	// A kernel before 6.10 prints only the 28 classic counters: the newer
	// ones are absent, not zero.
	s, err := ParseXfrmStat(bytes.NewReader(readFixture(t, "testdata/edge-xfrm_stat-28-classic.txt")))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range knownXfrmCounters {
		if s.present[i] != (i < 28) {
			t.Errorf("%s: Present = %v", name, s.present[i])
		}
	}
	if s.has("XfrmInStateDirError") {
		t.Error("Has(XfrmInStateDirError) on a 28-counter file")
	}
	if _, ok := s.Counter("XfrmOutNoQueueSpace"); ok {
		t.Error("Counter(XfrmOutNoQueueSpace) found on a 28-counter file")
	}
	if v, ok := s.Counter("XfrmAcquireError"); !ok || v != 0 {
		t.Errorf("Counter(XfrmAcquireError) = %d, %v", v, ok)
	}
}

func TestParseXfrmStatUnknownCounters(t *testing.T) {
	s, err := ParseXfrmStat(bytes.NewReader(readFixture(t, "testdata/edge-xfrm_stat-unknown-counters.txt")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Counter{{"XfrmFutureCounter", 7}, {"XfrmOtherFuture", 8}}
	if len(s.Other) != 2 || s.Other[0] != want[0] || s.Other[1] != want[1] {
		t.Errorf("Other = %v, want %v", s.Other, want)
	}
	if v, ok := s.Counter("XfrmOtherFuture"); !ok || v != 8 {
		t.Errorf("Counter(XfrmOtherFuture) = %d, %v", v, ok)
	}
	if !s.has("XfrmFutureCounter") || s.has("XfrmNoSuchCounter") {
		t.Error("Has is wrong for unknown counters")
	}
	var names []string
	for name := range s.All() {
		names = append(names, name)
	}
	if len(names) != 34 || names[0] != "XfrmInError" || names[33] != "XfrmOtherFuture" {
		t.Errorf("All() = %v", names)
	}
}

func TestParseXfrmStatMaxUint64(t *testing.T) {
	s, err := ParseXfrmStat(bytes.NewReader(readFixture(t, "testdata/edge-xfrm_stat-max-uint64.txt")))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range s.All() {
		if v != 1<<64-1 {
			t.Errorf("%s = %d", name, v)
		}
	}
}

func TestXfrmStatRoundTripKernelBytes(t *testing.T) {
	for _, f := range xfrmFixtures(t) {
		data := readFixture(t, f)
		s, err := ParseXfrmStat(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if out := xfrmStatText(s); !bytes.Equal(out, data) {
			t.Errorf("%s: formatted output differs:\n%s\nwant:\n%s", f, out, data)
		}
	}
}

func TestParseXfrmStatErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		kind  error
		line  int
		msg   string
	}{
		{"empty", "", ErrSyntax, 1, "empty input"},
		{"blank line", "XfrmInError\t0\n\n", ErrSyntax, 2, "want a counter name"},
		{"no value", "XfrmInError\t0\nXfrmInBufferError\n", ErrSyntax, 2, "counter XfrmInBufferError has no value"},
		{"no value trailing tab", "XfrmInError\t\n", ErrSyntax, 1, "has no value"},
		{"non-number", "XfrmInError\t12x\n", ErrSyntax, 1, `value "12x" is not a decimal number`},
		{"negative", "XfrmInError\t-1\n", ErrSyntax, 1, `"-1"`},
		{"2^64", "XfrmInError\t0\nXfrmInHdrError\t18446744073709551616\n", ErrRange, 2, "counter XfrmInHdrError: 18446744073709551616 is larger than 2^64-1"},
		{"two values", "XfrmInError\t1 2\n", ErrSyntax, 1, "text after the value"},
		{"bad name", "Xfrm-In\t1\n", ErrSyntax, 1, `counter name "Xfrm" followed by '-'`},
		{"leading space", " XfrmInError\t1\n", ErrSyntax, 1, "want a counter name"},
		{"known twice", "XfrmInError\t1\nXfrmInHdrError\t0\nXfrmInError\t1\n", ErrSyntax, 3, "counter XfrmInError listed twice"},
		{"unknown twice", "XfrmNew\t1\nXfrmNew\t2\n", ErrSyntax, 2, "counter XfrmNew listed twice"},
		{"no final newline", "XfrmInError\t1\nXfrmInHdrError\t0", ErrSyntax, 2, "no newline at end"},
		{"CRLF", "XfrmInError\t1\r\n", ErrSyntax, 1, `"1\r"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseXfrmStat(strings.NewReader(tt.input))
			checkParseError(t, err, tt.kind, tt.line, tt.msg)
		})
	}
}

func TestXfrmStatErrorFixtures(t *testing.T) {
	for _, f := range fixtures(t, "edge-xfrm_stat-err-*.txt") {
		_, err := ParseXfrmStat(bytes.NewReader(readFixture(t, f)))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want a *ParseError", f, err)
			continue
		}
		t.Logf("%s: %v", filepath.Base(f), err)
	}
}

// TestParseResetsAndReuses: XfrmStatReader's parse path overwrites every
// field and reuses Other.
func TestParseResetsAndReuses(t *testing.T) {
	var s XfrmStat
	if err := s.unmarshalText([]byte("XfrmInError\t5\nXfrmNew\t1\nXfrmNewer\t2\n")); err != nil {
		t.Fatal(err)
	}
	other := &s.Other[:1][0]
	name := s.Other[0].Name
	if err := s.unmarshalText([]byte("XfrmInHdrError\t3\nXfrmNew\t4\n")); err != nil {
		t.Fatal(err)
	}
	if s.InError != 0 || s.present[0] || !s.present[2] || s.InHdrError != 3 {
		t.Errorf("old values kept: %+v", s)
	}
	if len(s.Other) != 1 || s.Other[0] != (Counter{"XfrmNew", 4}) {
		t.Errorf("Other = %v", s.Other)
	}
	if &s.Other[0] != other || unsafeStringData(s.Other[0].Name) != unsafeStringData(name) {
		t.Error("Other storage or name not reused")
	}
	data := []byte("XfrmInHdrError\t3\nXfrmNew\t4\n")
	allocs := testing.AllocsPerRun(100, func() {
		_ = s.unmarshalText(data)
	})
	if allocs != 0 {
		t.Errorf("parse reuse: %v allocs/op, want 0", allocs)
	}
}
