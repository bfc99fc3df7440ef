package procnet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures returns the testdata files whose names start with prefix.
func fixtures(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures match %s", pattern)
	}
	return files
}

func isErrFixture(path string) bool { return strings.Contains(filepath.Base(path), "-err-") }

// netDevFixtures: every /proc/net/dev capture, real (netdev-*) and hand-made
// (edge-netdev-*), that must parse.
func netDevFixtures(t testing.TB) []string {
	var out []string
	for _, f := range append(fixtures(t, "netdev-*.txt"), fixtures(t, "edge-netdev-*.txt")...) {
		if !isErrFixture(f) {
			out = append(out, f)
		}
	}
	return out
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseNetDevVyOSSeed(t *testing.T) {
	// The capture from shared/seeds/003: vti0 and vti1 count every TX error
	// as carrier, which is tx_carrier_errors or tx_aborted_errors.
	stats, err := ParseNetDev(bytes.NewReader(readFixture(t, "testdata/netdev-vyos-seed003.txt")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stats {
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), "vti0,vti1,eth0,eth1,lo,ip_vti0"; got != want {
		t.Fatalf("names = %s, want %s (file order)", got, want)
	}
	want := DevStats{
		Name: "vti1", RxBytes: 20343428031771, RxPackets: 20704797251,
		TxBytes: 3538387799300, TxPackets: 15293395309, TxErrors: 280, TxCarrierSum: 280,
	}
	if stats[1] != want {
		t.Errorf("vti1 = %+v\nwant %+v", stats[1], want)
	}
	if stats[0].TxErrors != 59 || stats[0].TxCarrierSum != 59 {
		t.Errorf("vti0 errs/carrier = %d/%d, want 59/59", stats[0].TxErrors, stats[0].TxCarrierSum)
	}
	if stats[2].RxDropSum != 4735195 {
		t.Errorf("eth0 rx drop = %d, want 4735195", stats[2].RxDropSum)
	}
}

func TestParseNetDevEdgeFixtures(t *testing.T) {
	const max = 1<<64 - 1
	tests := []struct {
		file string
		want []DevStats
	}{
		{"edge-netdev-header-only.txt", []DevStats{}},
		{"edge-netdev-old-layout.txt", []DevStats{
			{Name: "lo", RxBytes: 3193, RxPackets: 29, TxBytes: 3193, TxPackets: 29},
			{Name: "eth0", RxBytes: 2585149477912, RxPackets: 2520061641, RxDropSum: 4735195,
				TxBytes: 428688344945, TxPackets: 1836442339, TxErrors: 59, TxCarrierSum: 59},
			{Name: "vti0", RxBytes: 12345678, RxPackets: 1234, TxBytes: 1, TxPackets: 1},
		}},
		{"edge-netdev-max-uint64.txt", []DevStats{{Name: "big",
			RxBytes: max, RxPackets: max, RxErrors: max, RxDropSum: max, RxFIFOErrors: max, RxFrameSum: max, RxCompressed: max, RxMulticast: max,
			TxBytes: max, TxPackets: max, TxErrors: max, TxDropped: max, TxFIFOErrors: max, Collisions: max, TxCarrierSum: max, TxCompressed: max}}},
		{"edge-netdev-colon-in-name.txt", []DevStats{{Name: "eth0:1",
			RxBytes: 1, RxPackets: 2, RxErrors: 3, RxDropSum: 4, RxFIFOErrors: 5, RxFrameSum: 6, RxCompressed: 7, RxMulticast: 8,
			TxBytes: 9, TxPackets: 10, TxErrors: 11, TxDropped: 12, TxFIFOErrors: 13, Collisions: 14, TxCarrierSum: 15, TxCompressed: 16}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := appendNetDev(nil, readFixture(t, filepath.Join("testdata", tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d interfaces, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("[%d] = %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestNetDevRoundTripKernelBytes: for every capture a current kernel made,
// formatting the parsed values reproduces the file byte for byte. This pins
// the column order and the kernel's printf widths.
func TestNetDevRoundTripKernelBytes(t *testing.T) {
	for _, f := range netDevFixtures(t) {
		data := readFixture(t, f)
		stats, err := appendNetDev(nil, data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out := netDevText(stats)
		if strings.Contains(f, "old-layout") {
			// The old "%6s:%8llu" layout comes back in today's layout.
			again, err := appendNetDev(nil, out)
			if err != nil || !equalDevStats(again, stats) {
				t.Errorf("%s: old layout does not round-trip: %v", f, err)
			}
			continue
		}
		if !bytes.Equal(out, data) {
			t.Errorf("%s: formatted output differs from the capture:\n%s\nwant:\n%s", f, out, data)
		}
	}
}

func equalDevStats(a, b []DevStats) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const (
	h1 = netDevHeader1 + "\n"
	h2 = netDevHeader2 + "\n"
)

func TestParseNetDevErrors(t *testing.T) {
	ok16 := "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
	tests := []struct {
		name  string
		input string
		kind  error
		line  int
		msg   string // in the error text
	}{
		{"empty", "", ErrHeader, 1, "empty input"},
		{"wrong first header", "Inter-| Receive | Transmit and more\n" + h2, ErrHeader, 1, "header line 1"},
		{"15 column header", h1 + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier\n", ErrHeader, 2, "header line 2"},
		{"header without newline", h1 + netDevHeader2, ErrSyntax, 2, "no newline"},
		{"short line", h1 + h2 + ok16 + "  eth1: 1 2 3\n", ErrSyntax, 4, "3 numbers after \"eth1\", want 16"},
		{"no numbers", h1 + h2 + "  eth1:\n", ErrSyntax, 3, "0 numbers"},
		{"long line", h1 + h2 + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", ErrSyntax, 3, "more than 16 numbers"},
		{"negative", h1 + h2 + "  eth0: 1 2 3 4 5 -6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, `column 6 (rx frame): "-6" is not a decimal number`},
		{"hex", h1 + h2 + "  eth0: 0x1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, `column 1 (rx bytes): "0x1"`},
		{"tab", h1 + h2 + "  eth0: 1\t2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, "not a decimal number"},
		{"CRLF", h1 + h2 + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\n", ErrSyntax, 3, `"16\r"`},
		{"2^64", h1 + h2 + "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616\n", ErrRange, 3, "column 16 (tx compressed): 18446744073709551616 is larger than 2^64-1"},
		{"10^20", h1 + h2 + "  eth0: 100000000000000000000 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrRange, 3, "column 1 (rx bytes)"},
		{"no colon", h1 + h2 + "  eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, "no ':'"},
		{"empty name", h1 + h2 + "      : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, "empty interface name"},
		{"space in name", h1 + h2 + "  et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, "space or control byte"},
		{"name longer than IFNAMSIZ-1", h1 + h2 + "0123456789abcdef: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", ErrSyntax, 3, "16 bytes; the kernel's names have at most 15"},
		{"blank line", h1 + h2 + ok16 + "\n" + ok16, ErrSyntax, 4, "no ':'"},
		{"no final newline", h1 + h2 + strings.TrimSuffix(ok16, "\n"), ErrSyntax, 3, "no newline at end of input"},
		{"old kernel without stats", h1 + h2 + "  eth0: No statistics available.\n", ErrSyntax, 3, `"No" is not a decimal number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNetDev(strings.NewReader(tt.input))
			checkParseError(t, err, tt.kind, tt.line, tt.msg)
		})
	}
}

func checkParseError(t *testing.T, err error, kind error, line int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, kind) {
		t.Errorf("errors.Is(%v, %v) = false", err, kind)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%v is not a *ParseError", err)
	}
	if pe.Line != line {
		t.Errorf("Line = %d, want %d (%v)", pe.Line, line, err)
	}
	if want := "line " + itoa(line) + ":"; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not name %q", err, want)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("%q does not say %q", err, msg)
	}
	if !strings.Contains(err.Error(), quoteText(pe.Text)) {
		t.Errorf("%q does not quote the line %q", err, pe.Text)
	}
}

func TestNetDevErrorFixtures(t *testing.T) {
	for _, f := range fixtures(t, "edge-netdev-err-*.txt") {
		_, err := ParseNetDev(bytes.NewReader(readFixture(t, f)))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want a *ParseError", f, err)
			continue
		}
		t.Logf("%s: %v", filepath.Base(f), err)
	}
}

// TestProcfsPanicInputs: prometheus/procfs indexes fields[15] without a
// length check, so a short line panics there. Here each is an error.
func TestProcfsPanicInputs(t *testing.T) {
	for _, line := range []string{"eth0: 1 2 3", "eth0:", "eth0: ", "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"} {
		input := h1 + h2 + line + "\n"
		stats, err := ParseNetDev(strings.NewReader(input))
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: got %v, %v; want ErrSyntax", line, stats, err)
		}
	}
}

func TestParseErrorTextIsBounded(t *testing.T) {
	input := h1 + h2 + "  eth0:" + strings.Repeat(" 1", 100000) + "\n"
	_, err := ParseNetDev(strings.NewReader(input))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if len(pe.Text) > maxErrorText+3 || len(err.Error()) > 1024 {
		t.Errorf("Text is %d bytes, message %d", len(pe.Text), len(err.Error()))
	}
}

// TestReuseKeepsNames: a Name that did not change is the same string
// (no new allocation); a changed one is replaced.
func TestReuseKeepsNames(t *testing.T) {
	data := readFixture(t, "testdata/netdev-vyos-seed003.txt")
	first, err := appendNetDev(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	name0 := first[0].Name
	second, err := appendNetDev(first[:0], data)
	if err != nil {
		t.Fatal(err)
	}
	if &second[0] != &first[0] || unsafeStringData(second[0].Name) != unsafeStringData(name0) {
		t.Error("unchanged name was not reused")
	}
	renamed := bytes.Replace(data, []byte("  vti0:"), []byte("  vti9:"), 1)
	third, err := appendNetDev(second[:0], renamed)
	if err != nil {
		t.Fatal(err)
	}
	if third[0].Name != "vti9" || third[1].Name != "vti1" {
		t.Errorf("names = %s, %s", third[0].Name, third[1].Name)
	}
}

func TestParseNetDevAllocsReuse(t *testing.T) {
	data := readFixture(t, "testdata/netdev-vyos-seed003.txt")
	buf, err := appendNetDev(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		buf, err = appendNetDev(buf[:0], data)
	})
	if err != nil || allocs != 0 {
		t.Errorf("parse reuse: %v allocs/op (err %v), want 0", allocs, err)
	}
}

func TestValuesMatchColumns(t *testing.T) {
	var v [nNetDevColumns]uint64
	for i := range v {
		v[i] = uint64(i + 1)
	}
	var d DevStats
	d.setValues(&v)
	if d.values() != v {
		t.Fatalf("values() = %v, want %v", d.values(), v)
	}
	// All yields the same values under the names NetDevColumns gives.
	cols := NetDevColumns()
	i := 0
	for name, x := range d.All() {
		if name != cols[i] || x != v[i] {
			t.Errorf("All() #%d = %s %d, want %s %d", i, name, x, cols[i], v[i])
		}
		i++
	}
	if i != len(cols) || cols[14] != "tx carrier" {
		t.Errorf("All() yields %d columns, NetDevColumns() = %v", i, cols)
	}
	cols[0] = "changed"
	if NetDevColumns()[0] != "rx bytes" {
		t.Error("NetDevColumns returned shared storage")
	}
	if d.RxDropSum != 4 || d.RxFrameSum != 6 || d.TxCarrierSum != 15 || d.Collisions != 14 {
		t.Errorf("sums in the wrong place: %+v", d)
	}
}

func TestParseNetDevLongDigitRuns(t *testing.T) {
	// 19 digits take the fast path; 20 or more (2^64-1 has 20, and leading
	// zeros are harmless) take the checked one.
	line := "  eth0: 0000000000000000000000001 9999999999999999999 18446744073709551615 00018446744073709551615 5 6 7 8 9 10 11 12 13 14 15 16\n"
	stats, err := ParseNetDev(strings.NewReader(h1 + h2 + line))
	if err != nil {
		t.Fatal(err)
	}
	d := stats[0]
	if d.RxBytes != 1 || d.RxPackets != 9999999999999999999 || d.RxErrors != 1<<64-1 || d.RxDropSum != 1<<64-1 || d.RxFIFOErrors != 5 {
		t.Errorf("%+v", d)
	}
	for _, big := range []string{"18446744073709551616", "99999999999999999999", "000184467440737095516150"} {
		_, err := ParseNetDev(strings.NewReader(h1 + h2 + "  eth0: " + big + " 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"))
		if !errors.Is(err, ErrRange) {
			t.Errorf("%s: %v, want ErrRange", big, err)
		}
	}
}

func TestNameArena(t *testing.T) {
	var a nameArena
	var got []string
	for i := range 5000 {
		got = append(got, a.string([]byte("veth"+itoa(i)), 100))
	}
	for i, s := range got {
		if s != "veth"+itoa(i) {
			t.Fatalf("got[%d] = %q", i, s)
		}
	}
	if a.string(nil, 0) != "" {
		t.Error("empty name")
	}
	long := strings.Repeat("x", 100<<10)
	if a.string([]byte(long), 0) != long {
		t.Error("name longer than a chunk")
	}
}
