package nl

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

func msg(typ, flags uint16, seq, pid uint32, payload []byte) []byte {
	b := AppendHeader(nil, typ, flags, seq, pid, len(payload))
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func errPayload(errno int32) []byte {
	return binary.NativeEndian.AppendUint32(nil, uint32(errno))
}

func TestWalkBatch(t *testing.T) {
	var got []uint16
	collect := func(m Message) error { got = append(got, m.Type); return nil }

	b := append(msg(16, FlagMulti, 7, 42, []byte{1, 2, 3}), msg(16, FlagMulti|FlagDumpIntr, 7, 42, nil)...)
	b = append(b, msg(TypeDone, FlagMulti, 7, 42, errPayload(0))...)
	res, err := walkBatch(b, "test", 7, 42, collect)
	if err != nil || !res.done || !res.interrupted || len(got) != 2 {
		t.Fatalf("res=%+v err=%v got=%v", res, err, got)
	}

	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"wrong seq", msg(16, FlagMulti, 8, 42, nil), "sequence 8, request was 7"},
		{"wrong pid", msg(16, FlagMulti, 7, 41, nil), "port 41"},
		{"short", []byte{1, 2, 3}, "shorter than a message header"},
		{"length overflow", func() []byte { b := msg(16, 0, 7, 42, nil); binary.NativeEndian.PutUint32(b, 1<<31); return b }(), "outside"},
		{"length under header", func() []byte { b := msg(16, 0, 7, 42, nil); binary.NativeEndian.PutUint32(b, 3); return b }(), "outside"},
		{"error payload short", msg(TypeError, 0, 7, 42, []byte{1}), "1-byte payload"},
		{"overrun", msg(TypeOverrun, 0, 7, 42, nil), "overrun"},
	}
	for _, c := range cases {
		_, err := walkBatch(c.b, "test", 7, 42, collect)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestWalkBatchErrno(t *testing.T) {
	_, err := walkBatch(msg(TypeError, 0, 1, 2, errPayload(-int32(syscall.EPERM))), "dump", 1, 2, nil)
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("EPERM reply: %v does not match os.ErrPermission", err)
	}
	_, err = walkBatch(msg(TypeDone, FlagMulti, 1, 2, errPayload(-int32(syscall.ENOENT))), "dump", 1, 2, nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ENOENT in DONE: %v does not match os.ErrNotExist", err)
	}
	res, err := walkBatch(msg(TypeError, 0, 1, 2, errPayload(0)), "ack", 1, 2, nil)
	if err != nil || !res.done {
		t.Fatalf("ACK: %+v %v", res, err)
	}
}

func TestAttrs(t *testing.T) {
	b := AppendUint32Attr(nil, 3, 0xdeadbeef)
	b = AppendAttr(b, 4|nlaFNested, AppendAttr(nil, 1, []byte("vti\x00")))
	b = AppendAttr(b, 5, []byte{9})
	a := NewAttrs(b, "test")
	var n int
	for a.Next() {
		n++
		switch a.Type() {
		case 3:
			if a.Uint32() != 0xdeadbeef {
				t.Error("u32")
			}
		case 4:
			in := a.Nested("inner")
			if !in.Next() || in.String() != "vti" {
				t.Error("nested string")
			}
		case 5:
			if a.Uint8() != 9 {
				t.Error("u8")
			}
			_ = a.Uint32() // too short: records an error
		}
	}
	if n != 3 || a.Err() == nil || !strings.Contains(a.Err().Error(), "type 5") {
		t.Fatalf("n=%d err=%v", n, a.Err())
	}

	bad := AppendUint32Attr(nil, 3, 1)
	binary.NativeEndian.PutUint16(bad, 200)
	a = NewAttrs(bad, "ctx")
	if a.Next() || a.Err() == nil || !strings.Contains(a.Err().Error(), "overruns") {
		t.Fatalf("overrun not caught: %v", a.Err())
	}
}

func FuzzWalkBatch(f *testing.F) {
	f.Add(append(msg(16, FlagMulti, 7, 42, []byte{1, 2, 3}), msg(TypeDone, FlagMulti, 7, 42, errPayload(0))...))
	f.Add(msg(TypeError, flagAckTLVs, 7, 42, append(errPayload(-1), AppendAttr(msg(16, 0, 7, 42, nil), nlmsgerrAttrMsg, []byte("x\x00"))...)))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = walkBatch(b, "fuzz", 7, 42, func(m Message) error {
			a := NewAttrs(m.Data, "fuzz")
			for a.Next() {
				_ = a.Uint64()
				in := a.Nested("n")
				for in.Next() {
				}
			}
			return nil
		})
	})
}
