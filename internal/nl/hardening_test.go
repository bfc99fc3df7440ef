//go:build linux

package nl

// Hostile input (issue 9, HARDENING.md): replies that are not the kernel's
// answer to our request, or that are malformed, are errors, never panics,
// never silently accepted.

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// validDump is a well-formed three-message dump reply for seq 7, port 42.
func validDump() []byte {
	attrs := AppendUint32Attr(nil, 1, 0xdeadbeef)
	attrs = AppendAttr(attrs, 2, []byte("name\x00"))
	b := msg(16, FlagMulti, 7, 42, attrs)
	b = append(b, msg(16, FlagMulti, 7, 42, attrs)...)
	return append(b, msg(TypeDone, FlagMulti, 7, 42, errPayload(0))...)
}

// TestHardeningWalkBatchHostile: a wrong sequence or port ID after valid
// messages, and every truncation and length corruption of a valid reply,
// end in an error (or, for a cut at a message boundary, an unfinished batch
// the caller keeps reading for); never a panic, never "done" with a
// message missing.
func TestHardeningWalkBatchHostile(t *testing.T) {
	good := validDump()
	n := 0
	if res, err := walkBatch(good, "t", 7, 42, func(Message) error { n++; return nil }); err != nil || !res.done || n != 2 {
		t.Fatalf("valid dump: %+v %v %d", res, err, n)
	}
	// The third message is from another request or another socket.
	for name, b := range map[string][]byte{
		"seq":  append(append([]byte{}, good[:len(good)-20]...), msg(TypeDone, FlagMulti, 6, 42, errPayload(0))...),
		"port": append(append([]byte{}, good[:len(good)-20]...), msg(TypeDone, FlagMulti, 7, 43, errPayload(0))...),
	} {
		res, err := walkBatch(b, "t", 7, 42, func(Message) error { return nil })
		var re *ReplyError
		if !errors.As(err, &re) || res.done {
			t.Errorf("wrong %s in the last message: %+v, %v", name, res, err)
		}
	}
	// Every prefix: an error, or not done (a cut between messages).
	for cut := 0; cut < len(good); cut++ {
		n := 0
		res, err := walkBatch(good[:cut], "t", 7, 42, func(Message) error { n++; return nil })
		if err == nil && res.done {
			t.Errorf("prefix of %d bytes: done with %d messages", cut, n)
		}
	}
	// Every length field set to every interesting value.
	for _, off := range []int{0, int(binary.NativeEndian.Uint32(good))} {
		for _, l := range []uint32{0, 1, 15, 17, 1 << 16, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
			b := append([]byte{}, good...)
			binary.NativeEndian.PutUint32(b[off:], l)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("length %d at %d: panic %v", l, off, r)
					}
				}()
				_, _ = walkBatch(b, "t", 7, 42, func(m Message) error {
					a := NewAttrs(m.Data, "T")
					for a.Next() {
						_ = a.Uint32()
					}
					return nil
				})
			}()
		}
	}
	// NLMSG_ERROR payloads of every short length, and one with a bogus
	// extended ACK, give an error and no panic.
	for l := 0; l < 40; l++ {
		p := make([]byte, l)
		if l >= 4 {
			e := -int32(unix.EINVAL)
			binary.NativeEndian.PutUint32(p, uint32(e))
		}
		_, err := walkBatch(msg(TypeError, 0x200|0x100, 7, 42, p), "t", 7, 42, nil) // NLM_F_ACK_TLVS|CAPPED
		if err == nil {
			t.Errorf("NLMSG_ERROR with %d-byte payload accepted", l)
		}
	}
}

// TestHardeningAttrsHostile: attribute lengths below the header, past the
// block, of 0xffff, and accessors on attributes of the wrong size.
func TestHardeningAttrsHostile(t *testing.T) {
	cases := map[string][]byte{
		"len 0":        {0, 0, 1, 0},
		"len 3":        {3, 0, 1, 0},
		"len 0xffff":   {0xff, 0xff, 1, 0, 0, 0, 0, 0},
		"past end":     {12, 0, 1, 0, 0, 0, 0, 0},
		"trailing 2":   {8, 0, 1, 0, 1, 2, 3, 4, 9, 9},
		"nested short": AppendAttr(nil, 1|nlaFNested, []byte{9, 0, 2, 0, 1}),
	}
	for name, b := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			a := NewAttrs(b, "TEST")
			var err error
			for a.Next() {
				if a.Type() == 1 && len(a.Data()) > 0 && name == "nested short" {
					na := a.Nested("TEST_NESTED")
					for na.Next() {
					}
					err = na.Err()
				}
			}
			if err == nil {
				err = a.Err()
			}
			var ae *AttrError
			if !errors.As(err, &ae) {
				t.Errorf("%s: %v, want an *AttrError", name, err)
			} else if !strings.Contains(ae.Error(), "TEST") {
				t.Errorf("%s: %v does not name the block", name, err)
			}
		}()
	}
	// Fixed-size accessors on a shorter attribute fail the iterator. A
	// longer one is read from its first bytes, as the kernel's nla_get_*
	// do (a newer kernel may widen an attribute).
	for _, size := range []int{0, 1, 2, 3, 5, 7} {
		for acc, get := range map[string]func(*Attrs){
			"Uint8": func(a *Attrs) { a.Uint8() }, "Uint16": func(a *Attrs) { a.Uint16() },
			"Uint32": func(a *Attrs) { a.Uint32() }, "Uint64": func(a *Attrs) { a.Uint64() },
			"BE16": func(a *Attrs) { a.BE16() }, "BE32": func(a *Attrs) { a.BE32() },
		} {
			want := map[string]int{"Uint8": 1, "Uint16": 2, "BE16": 2, "Uint32": 4, "BE32": 4, "Uint64": 8}[acc]
			if size >= want {
				continue
			}
			a := NewAttrs(AppendAttr(nil, 1, make([]byte, size)), "TEST")
			if !a.Next() {
				t.Fatalf("%s size %d: %v", acc, size, a.Err())
			}
			get(&a)
			if a.Next() || a.Err() == nil {
				t.Errorf("%s on a %d-byte attribute: no error", acc, size)
			}
		}
	}
}

// TestHardeningSpoofedDatagram: a datagram that another user-space socket
// sends to our port is rejected (it is not from the kernel, port 0), and
// the next request works: the abandoned exchange is drained.
func TestHardeningSpoofedDatagram(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (netlink unicast between user sockets)")
	}
	c, err := Dial(unix.NETLINK_ROUTE, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	// A forged "reply" with the sequence number the Conn will use next
	// and its port ID: everything right but the sender.
	forged := msg(TypeDone, FlagMulti, c.seq+1, c.PID(), errPayload(0))
	if err := unix.Sendto(fd, forged, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: c.PID()}); err != nil {
		t.Skipf("cannot send to a user netlink port here: %v", err)
	}
	req := make([]byte, 16) // struct ifinfomsg, all zero
	err = c.Dump(context.Background(), "RTM_GETLINK dump", unix.RTM_GETLINK, FlagDump, req, nil, func(Message) error { return nil }, nil)
	var re *ReplyError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not the kernel") {
		t.Fatalf("forged reply: %v, want a *ReplyError naming the port", err)
	}
	n := 0
	if err := c.Dump(context.Background(), "RTM_GETLINK dump", unix.RTM_GETLINK, FlagDump, req, func() { n = 0 }, func(Message) error { n++; return nil }, nil); err != nil || n == 0 {
		t.Fatalf("next dump: %d links, %v", n, err)
	}
}

// TestHardeningErrClosed: ErrClosed matches os.ErrClosed, like a read of a
// closed file, so that every call of a closed Client fails alike.
func TestHardeningErrClosed(t *testing.T) {
	c, err := Dial(unix.NETLINK_ROUTE, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	err = c.Request(context.Background(), "RTM_GETLINK", unix.RTM_GETLINK, 0, make([]byte, 16), func(Message) error { return nil })
	if !errors.Is(err, ErrClosed) || !errors.Is(err, os.ErrClosed) {
		t.Errorf("request on a closed Conn: %v", err)
	}
}
