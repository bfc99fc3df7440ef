//go:build linux

package nl

import "testing"

// Config.DumpRetries means the same in vtistat and xfrmstat: both go
// through DumpRetries.
func TestDumpRetries(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{0, DefaultDumpRetries},
		{-1, 0},
		{-100, 0},
		{1, 1},
		{3, 3},
	} {
		if got := DumpRetries(c.in); got != c.want {
			t.Errorf("DumpRetries(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}
