package xfrmstat

import "testing"

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		s    interface{ String() string }
		want string
	}{
		{ModeTunnel, "tunnel"}, {ModeTransport, "transport"}, {ModeBEET, "beet"}, {ModeIPTFS, "iptfs"}, {Mode(9), "mode(9)"},
		{DirOut, "out"}, {DirSocketIn, "socket in"}, {Dir(7), "dir(7)"},
		{ActionBlock, "block"}, {Action(3), "action(3)"},
		{DefaultAccept, "accept"}, {DefaultBlock, "block"},
		{OpDelete, "delete"}, {Op(0), "op(0)"},
		{GroupAcquire | GroupMapping, "acquire|mapping"}, {Group(0), "none"}, {Group(1 << 10), "0x400"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.s, got, c.want)
		}
	}
}
