package procnet

import (
	"bytes"
	"io"
	"slices"
	"strconv"
)

// The two header lines of /proc/net/dev, byte for byte as
// net/core/net-procfs.c:dev_seq_show prints them (unchanged since 2.6).
const (
	netDevHeader1 = "Inter-|   Receive                                                |  Transmit"
	netDevHeader2 = " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed"
)

// NetDevColumns names the 16 columns of /proc/net/dev in file order, as the
// header spells them with the direction in front. It is indexed like
// DevStats.Values. Three are sums: see DevStats.
var NetDevColumns = [16]string{
	"rx bytes", "rx packets", "rx errs", "rx drop", "rx fifo", "rx frame", "rx compressed", "rx multicast",
	"tx bytes", "tx packets", "tx errs", "tx drop", "tx fifo", "tx colls", "tx carrier", "tx compressed",
}

// netDevWidths are the minimum field widths of dev_seq_printf_stats
// ("%6s: %7llu %7llu %4llu ..."), used by AppendNetDevText.
var netDevWidths = [16]int{7, 7, 4, 4, 4, 5, 10, 9, 8, 7, 4, 4, 4, 5, 7, 10}

// Values returns the 16 columns in file order, indexed like NetDevColumns.
func (d *DevStats) Values() [16]uint64 {
	return [16]uint64{
		d.RxBytes, d.RxPackets, d.RxErrors, uint64(d.RxDropSum),
		d.RxFIFOErrors, uint64(d.RxFrameSum), d.RxCompressed, d.RxMulticast,
		d.TxBytes, d.TxPackets, d.TxErrors, d.TxDropped,
		d.TxFIFOErrors, d.Collisions, uint64(d.TxCarrierSum), d.TxCompressed,
	}
}

func (d *DevStats) setValues(v *[16]uint64) {
	d.RxBytes, d.RxPackets, d.RxErrors, d.RxDropSum = v[0], v[1], v[2], Sum(v[3])
	d.RxFIFOErrors, d.RxFrameSum, d.RxCompressed, d.RxMulticast = v[4], Sum(v[5]), v[6], v[7]
	d.TxBytes, d.TxPackets, d.TxErrors, d.TxDropped = v[8], v[9], v[10], v[11]
	d.TxFIFOErrors, d.Collisions, d.TxCarrierSum, d.TxCompressed = v[12], v[13], Sum(v[14]), v[15]
}

// ParseNetDev parses the whole of a /proc/net/dev file. Interfaces are
// returned in file order, which is ifindex order.
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

// AppendNetDev parses a /proc/net/dev file held in data and appends its
// interfaces to dst, with the same rules as ParseNetDev.
//
// It is the allocation-free path for poll loops: elements in dst's spare
// capacity are overwritten, and a Name already stored there that equals the
// new one is kept rather than allocated again. So
//
//	cur, err = procnet.AppendNetDev(cur[:0], data)
//
// allocates nothing once cur is large enough and interfaces keep their
// names. New names are carved from shared chunks of at most 64 KiB, one
// allocation per chunk rather than per name. data is not retained. On
// error, dst is returned with the lines before the bad one appended.
func AppendNetDev(dst []DevStats, data []byte) ([]DevStats, error) {
	return parseNetDev(dst, data, "net/dev")
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
	var v [16]uint64
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
func parseNetDevLine(buf []byte, end int, v *[16]uint64) (name []byte, err error) {
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
				return nil, errorf(ErrSyntax, "column %d (%s): %q is not a decimal number", col+1, NetDevColumns[col], fieldAt(line, start))
			}
			x = x*10 + d
		}
		if p-start > 19 {
			var ok bool
			if x, ok = parseDecimalChecked(line[start:p]); !ok {
				return nil, errorf(ErrRange, "column %d (%s): %s is larger than 2^64-1", col+1, NetDevColumns[col], line[start:p])
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

// AppendNetDevText appends stats to b in the kernel's /proc/net/dev layout,
// header included, byte for byte as Linux 3.x+ prints it ("%6s: %7llu ...").
// ParseNetDev reads the result back unchanged.
func AppendNetDevText(b []byte, stats []DevStats) []byte {
	b = append(b, netDevHeader1...)
	b = append(b, '\n')
	b = append(b, netDevHeader2...)
	b = append(b, '\n')
	for i := range stats {
		d := &stats[i]
		b = appendPadded(b, d.Name, 6)
		b = append(b, ':')
		v := d.Values()
		for col, x := range v {
			b = append(b, ' ')
			var num [20]byte
			digits := strconv.AppendUint(num[:0], x, 10)
			for pad := netDevWidths[col] - len(digits); pad > 0; pad-- {
				b = append(b, ' ')
			}
			b = append(b, digits...)
		}
		b = append(b, '\n')
	}
	return b
}

// WriteNetDev writes stats to w in the kernel's /proc/net/dev layout; see
// AppendNetDevText.
func WriteNetDev(w io.Writer, stats []DevStats) error {
	_, err := w.Write(AppendNetDevText(nil, stats))
	return err
}

// appendPadded appends s right-aligned in width, like printf "%*s".
func appendPadded(b []byte, s string, width int) []byte {
	for pad := width - len(s); pad > 0; pad-- {
		b = append(b, ' ')
	}
	return append(b, s...)
}
