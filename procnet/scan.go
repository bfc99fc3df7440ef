package procnet

import (
	"math"
	"unsafe"
)

// parseDecimalChecked parses a run of ASCII digits, reporting ok=false when
// the value does not fit in a uint64. It is the slow path for runs of 20 or
// more digits: leading zeros are allowed, so even 25 digits can fit.
func parseDecimalChecked(digits []byte) (value uint64, ok bool) {
	for _, c := range digits {
		d := uint64(c) - '0'
		if value > math.MaxUint64/10 || (value == math.MaxUint64/10 && d > math.MaxUint64%10) {
			return 0, false
		}
		value = value*10 + d
	}
	return value, true
}

// nameArena hands out strings carved from shared chunks, so that parsing a
// fresh /proc/net/dev costs one allocation per chunk instead of one per
// interface name. Bytes in a chunk are written once, before the string that
// covers them exists, and never again: the strings are immutable as Go
// requires. A string keeps its whole chunk (at most 64 KiB) alive.
type nameArena struct {
	chunk []byte
}

// string returns a string holding b. remaining (bytes of input left) sizes
// the first chunk, so small files take a small chunk.
func (a *nameArena) string(b []byte, remaining int) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		// Names are about a tenth of a /proc/net/dev line.
		size := min(max(remaining/8, 64, len(b)), 64<<10)
		size = max(size, len(b))
		a.chunk = make([]byte, 0, size)
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return unsafe.String(&a.chunk[start], len(b))
}
