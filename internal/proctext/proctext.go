// Package proctext writes /proc/net/dev and /proc/net/xfrm_stat byte for
// byte as the kernel prints them. It exists for tests, fixtures and
// benchmarks, which need kernel-shaped input made from values; programs
// read these files with package procnet and have no need to write them.
//
// The functions take plain names and values (DevStats.All and XfrmStat.All
// yield them), so that procnet's own tests can use this package without an
// import cycle.
package proctext

import (
	"iter"
	"strconv"
)

// The two header lines of /proc/net/dev (net/core/net-procfs.c:dev_seq_show).
const (
	NetDevHeader1 = "Inter-|   Receive                                                |  Transmit"
	NetDevHeader2 = " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed"
)

// netDevWidths are the minimum field widths of dev_seq_printf_stats
// ("%6s: %7llu %7llu %4llu ..."). A column past the 16th (no kernel prints
// one) gets width 0: one space before it.
var netDevWidths = [...]int{7, 7, 4, 4, 4, 5, 10, 9, 8, 7, 4, 4, 4, 5, 7, 10}

// AppendNetDevHeader appends the two header lines of /proc/net/dev.
func AppendNetDevHeader(b []byte) []byte {
	b = append(b, NetDevHeader1...)
	b = append(b, '\n')
	b = append(b, NetDevHeader2...)
	return append(b, '\n')
}

// AppendNetDevLine appends one interface line as Linux 3.x+ prints it
// ("%6s: %7llu ..."): the name right-aligned in 6, a colon, then the
// values in the order columns yields them (column names are ignored).
func AppendNetDevLine(b []byte, name string, columns iter.Seq2[string, uint64]) []byte {
	for pad := 6 - len(name); pad > 0; pad-- {
		b = append(b, ' ')
	}
	b = append(b, name...)
	b = append(b, ':')
	col := 0
	for _, x := range columns {
		b = append(b, ' ')
		var num [20]byte
		digits := strconv.AppendUint(num[:0], x, 10)
		if col < len(netDevWidths) {
			for pad := netDevWidths[col] - len(digits); pad > 0; pad-- {
				b = append(b, ' ')
			}
		}
		b = append(b, digits...)
		col++
	}
	return append(b, '\n')
}

// AppendXfrmStat appends counters in the layout of /proc/net/xfrm_stat
// ("%-24s\t%lu\n", net/xfrm/xfrm_proc.c), in the order counters yields
// them.
func AppendXfrmStat(b []byte, counters iter.Seq2[string, uint64]) []byte {
	for name, value := range counters {
		b = append(b, name...)
		for pad := 24 - len(name); pad > 0; pad-- {
			b = append(b, ' ')
		}
		b = append(b, '\t')
		b = strconv.AppendUint(b, value, 10)
		b = append(b, '\n')
	}
	return b
}
