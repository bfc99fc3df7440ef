package procnet

import (
	"bytes"
	"io"
	"iter"
	"slices"
)

// The two header lines of /proc/net/dev, byte for byte as
// net/core/net-procfs.c:dev_seq_show prints them (unchanged since 2.6).
const (
	netDevHeader1 = "Inter-|   Receive                                                |  Transmit"
	netDevHeader2 = " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed"
)

// netDevColumns names the columns of /proc/net/dev in file order, as the
// header spells them with the direction in front.
var netDevColumns = [...]string{
	"rx bytes", "rx packets", "rx errs", "rx drop", "rx fifo", "rx frame", "rx compressed", "rx multicast",
	"tx bytes", "tx packets", "tx errs", "tx drop", "tx fifo", "tx colls", "tx carrier", "tx compressed",
}

// nNetDevColumns is how many numbers an interface line holds.
const nNetDevColumns = len(netDevColumns)

// NetDevColumns returns the names of the /proc/net/dev columns in file
// order, as the header spells them with the direction in front ("rx bytes",
// …, "tx carrier", "tx compressed"): the names DevStats.All yields and
// NetDevReset.Column holds. The slice is the caller's to keep or change.
func NetDevColumns() []string { return slices.Clone(netDevColumns[:]) }

// All yields every column of d in file order, by the name NetDevColumns
// gives it, with its value. Three are sums: see DevStats.
func (d *DevStats) All() iter.Seq2[string, uint64] {
	return func(yield func(string, uint64) bool) {
		v := d.values()
		for i, name := range netDevColumns {
			if !yield(name, v[i]) {
				return
			}
		}
	}
}

// values returns the columns in file order, indexed like netDevColumns.
func (d *DevStats) values() [nNetDevColumns]uint64 {
	return [nNetDevColumns]uint64{
		d.RxBytes, d.RxPackets, d.RxErrors, uint64(d.RxDropSum),
		d.RxFIFOErrors, uint64(d.RxFrameSum), d.RxCompressed, d.RxMulticast,
		d.TxBytes, d.TxPackets, d.TxErrors, d.TxDropped,
		d.TxFIFOErrors, d.Collisions, uint64(d.TxCarrierSum), d.TxCompressed,
	}
}

func (d *DevStats) setValues(v *[nNetDevColumns]uint64) {
	d.RxBytes, d.RxPackets, d.RxErrors, d.RxDropSum = v[0], v[1], v[2], Sum(v[3])
	d.RxFIFOErrors, d.RxFrameSum, d.RxCompressed, d.RxMulticast = v[4], Sum(v[5]), v[6], v[7]
	d.TxBytes, d.TxPackets, d.TxErrors, d.TxDropped = v[8], v[9], v[10], v[11]
	d.TxFIFOErrors, d.Collisions, d.TxCarrierSum, d.TxCompressed = v[12], v[13], Sum(v[14]), v[15]
}

// ParseNetDev parses the whole of a /proc/net/dev file read from r: a copy
// of the file, a capture, a pipe from another host. Interfaces are returned
// in file order, which is ifindex order. To read the running system's file
// use FS.ReadNetDev, and to read it again and again FS.OpenNetDev.
//
// The header must be the kernel's; every interface line must hold a name, a
// colon and exactly 16 decimal numbers below 2^64; the file must end with a
// newline (a last line without one is a truncated read). Anything else is a
// *ParseError naming the line. Both layouts the kernel has printed are
// accepted: "  eth0: 123 ..." and the older "  eth0:123 ...", where a wide
// first number touches the colon.
func ParseNetDev(r io.Reader) ([]DevStats, error) {
	var stats []DevStats
	err := readAllPooled(r, func(data []byte) (err error) {
		stats, err = parseNetDev(nil, data, "net/dev")
		return err
	})
	if err != nil {
		return nil, err
	}
	return stats, nil
}

func parseNetDev(dst []DevStats, data []byte, file string) ([]DevStats, error) {
	rest := data
	for lineNo := 1; lineNo <= 2; lineNo++ {
		line, next, ok := cutLine(rest)
		if !ok {
			if len(line) == 0 && lineNo == 1 {
				return dst, newParseError(file, lineNo, line, errorf(ErrHeader, "empty input: no header"))
			}
			return dst, newParseError(file, lineNo, line, errorf(ErrSyntax, "no newline at end of input: truncated read?"))
		}
		want := netDevHeader1
		if lineNo == 2 {
			want = netDevHeader2
		}
		if !sameWords(line, want) {
			return dst, newParseError(file, lineNo, line, errorf(ErrHeader, "header line %d is not the kernel's %q", lineNo, want))
		}
		rest = next
	}
	if len(dst) == cap(dst) {
		// Fresh storage: size it once. (With spare capacity, the caller is
		// reusing storage and counting lines would be wasted work.)
		dst = slices.Grow(dst, bytes.Count(rest, newline))
	}
	var v [nNetDevColumns]uint64
	var names nameArena
	for lineNo := 3; len(rest) > 0; lineNo++ {
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			return dst, newParseError(file, lineNo, rest, errorf(ErrSyntax, "no newline at end of input: truncated read?"))
		}
		name, err := parseNetDevLine(rest, end, &v)
		if err != nil {
			return dst, newParseError(file, lineNo, rest[:end], err)
		}
		rest = rest[end+1:]
		n := len(dst)
		if n < cap(dst) {
			dst = dst[:n+1]
			if dst[n].Name != string(name) { // no allocation: compared, not converted
				dst[n].Name = names.string(name, len(rest))
			}
		} else {
			dst = append(dst, DevStats{Name: names.string(name, len(rest))})
		}
		dst[n].setValues(&v)
	}
	return dst, nil
}

var newline = []byte{'\n'}

// cutLine splits off the first line of b. ok is false when b has no newline;
// line is then all of b.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+1:], true
}

// sameWords reports whether got and want hold the same space-separated words.
// It makes the header check immune to padding changes but not to a column
// being added, removed or renamed.
func sameWords(got []byte, want string) bool {
	i, j := 0, 0
	for {
		for i < len(got) && got[i] == ' ' {
			i++
		}
		for j < len(want) && want[j] == ' ' {
			j++
		}
		if i == len(got) || j == len(want) {
			return i == len(got) && j == len(want)
		}
		for i < len(got) && j < len(want) && got[i] != ' ' && want[j] != ' ' {
			if got[i] != want[j] {
				return false
			}
			i++
			j++
		}
		if (i < len(got) && got[i] != ' ') || (j < len(want) && want[j] != ' ') {
			return false
		}
	}
}

// maxIfName is the longest interface name the kernel allows: IFNAMSIZ (16)
// less the terminating NUL.
const maxIfName = 15

// parseNetDevLine parses the line buf[:end], "  name: n1 n2 ... n16", into v
// and returns the name.
//
// The name ends at the last colon of the line. Current kernels
// (net/core/dev.c:dev_valid_name) reject ':' in device names, so the last
// colon is the only one; old kernels rejected only '/' and whitespace, and
// the numbers never contain a colon, so the last one is always the
// separator. Names never contain whitespace.
func parseNetDevLine(buf []byte, end int, v *[nNetDevColumns]uint64) (name []byte, err error) {
	line := buf[:end]
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return nil, errorf(ErrSyntax, "no ':' after the interface name")
	}
	for {
		next := bytes.IndexByte(line[colon+1:], ':')
		if next < 0 {
			break
		}
		colon += next + 1
	}
	start := 0
	for start < colon && line[start] == ' ' {
		start++
	}
	name = line[start:colon]
	if len(name) == 0 {
		return nil, errorf(ErrSyntax, "empty interface name")
	}
	if len(name) > maxIfName {
		return nil, errorf(ErrSyntax, "interface name %q is %d bytes; the kernel's names have at most %d (IFNAMSIZ-1)", name, len(name), maxIfName)
	}
	for _, c := range name {
		if c <= ' ' || c == 0x7f {
			return nil, errorf(ErrSyntax, "interface name %q holds a space or control byte", name)
		}
	}

	p := colon + 1
	col := 0
	for {
		for p < end && buf[p] == ' ' {
			p++
		}
		if p == end {
			break
		}
		if col == len(v) {
			return nil, errorf(ErrSyntax, "more than 16 numbers after %q", name)
		}
		// Up to 19 digits cannot overflow a uint64; longer runs (20 digits,
		// or leading zeros) go through the checked parser.
		start := p
		var x uint64
		for ; p < end && buf[p] != ' '; p++ {
			d := uint64(buf[p]) - '0'
			if d > 9 {
				return nil, errorf(ErrSyntax, "column %d (%s): %q is not a decimal number", col+1, netDevColumns[col], fieldAt(line, start))
			}
			x = x*10 + d
		}
		if p-start > 19 {
			var ok bool
			if x, ok = parseDecimalChecked(line[start:p]); !ok {
				return nil, errorf(ErrRange, "column %d (%s): %s is larger than 2^64-1", col+1, netDevColumns[col], line[start:p])
			}
		}
		v[col] = x
		col++
	}
	if col != len(v) {
		return nil, errorf(ErrSyntax, "%d numbers after %q, want 16", col, name)
	}
	return name, nil
}
