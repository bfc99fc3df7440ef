// Package nl holds the netlink machinery that vtistat and xfrmstat share: a
// dump streamer that receives into one reused buffer and hands each message
// to a callback in place, a zero-allocation attribute iterator, and the
// generic netlink controller's family lookup (ResolveFamily), on which
// vtistat reads wireguard devices.
//
// Nothing here allocates per message or per attribute: decoders read the
// bytes where the kernel put them and copy out only the values they keep.
// That is what lets a 10 000-link dump cost little more than the syscalls.
package nl

import (
	"encoding/binary"
	"fmt"
)

// AttrHeaderLen is the size of struct nlattr.
const AttrHeaderLen = 4

const (
	nlaFNested       = 1 << 15
	nlaFNetByteOrder = 1 << 14
	nlaTypeMask      = ^uint16(nlaFNested | nlaFNetByteOrder)
)

// AttrError says that an attribute could not be decoded: where it was and why.
type AttrError struct {
	Context string // what was being decoded, e.g. "IFLA_LINKINFO"
	Type    uint16 // attribute type, 0 if the header itself was bad
	Offset  int    // byte offset of the attribute within the attribute block
	Msg     string
}

func (e *AttrError) Error() string {
	if e.Type != 0 {
		return fmt.Sprintf("netlink: %s: attribute type %d at offset %d: %s", e.Context, e.Type, e.Offset, e.Msg)
	}
	return fmt.Sprintf("netlink: %s: attribute at offset %d: %s", e.Context, e.Offset, e.Msg)
}

// Attrs iterates over a block of netlink attributes without allocating.
//
//	a := nl.NewAttrs(b, "IFLA")
//	for a.Next() {
//		switch a.Type() { … a.Data() … }
//	}
//	if err := a.Err(); err != nil { … }
type Attrs struct {
	b       []byte
	off     int
	cur     int // offset of the current attribute
	typ     uint16
	nested  bool
	data    []byte
	err     error
	context string
}

// NewAttrs returns an iterator over the attributes in b. context names the
// block in error messages.
func NewAttrs(b []byte, context string) Attrs {
	return Attrs{b: b, context: context}
}

// Next advances to the next attribute. It returns false at the end of the
// block or on a malformed attribute (then Err is set).
func (a *Attrs) Next() bool {
	if a.err != nil {
		return false
	}
	rest := len(a.b) - a.off
	if rest == 0 {
		return false
	}
	// Trailing bytes shorter than a header: the kernel pads to 4, so fewer
	// than 4 leftover bytes are padding only if they follow an aligned end.
	if rest < AttrHeaderLen {
		a.err = &AttrError{Context: a.context, Offset: a.off, Msg: fmt.Sprintf("%d trailing bytes, shorter than an attribute header", rest)}
		return false
	}
	l := int(binary.NativeEndian.Uint16(a.b[a.off:]))
	t := binary.NativeEndian.Uint16(a.b[a.off+2:])
	if l < AttrHeaderLen {
		a.err = &AttrError{Context: a.context, Type: t & nlaTypeMask, Offset: a.off, Msg: fmt.Sprintf("length %d is shorter than its header", l)}
		return false
	}
	if l > rest {
		a.err = &AttrError{Context: a.context, Type: t & nlaTypeMask, Offset: a.off, Msg: fmt.Sprintf("length %d overruns the %d bytes left", l, rest)}
		return false
	}
	a.cur = a.off
	a.typ = t & nlaTypeMask
	a.nested = t&nlaFNested != 0
	a.data = a.b[a.off+AttrHeaderLen : a.off+l]
	next := a.off + Align(l)
	if next > len(a.b) {
		next = len(a.b) // last attribute without its padding
	}
	a.off = next
	return true
}

// Offset is the byte offset of the current attribute within the block the
// iterator walks: add it, plus AttrHeaderLen, to the block's own offset to
// place a nested block in its message.
func (a *Attrs) Offset() int { return a.cur }

// Type is the current attribute's type with the NESTED and NET_BYTEORDER flags
// removed.
func (a *Attrs) Type() uint16 { return a.typ }

// Data is the current attribute's payload. It aliases the receive buffer: copy
// what you keep.
func (a *Attrs) Data() []byte { return a.data }

// Err returns the first decoding error, if any.
func (a *Attrs) Err() error { return a.err }

// Fail records a decoding error for the current attribute; Next then returns
// false and Err reports it.
func (a *Attrs) Fail(msg string) {
	if a.err == nil {
		a.err = &AttrError{Context: a.context, Type: a.typ, Offset: a.cur, Msg: msg}
	}
}

// Uint8 returns the current attribute as a u8, failing on a wrong size.
func (a *Attrs) Uint8() uint8 {
	if len(a.data) < 1 {
		a.Fail(fmt.Sprintf("want 1 byte, have %d", len(a.data)))
		return 0
	}
	return a.data[0]
}

// Uint16 returns the current attribute as a native-endian u16.
func (a *Attrs) Uint16() uint16 {
	if len(a.data) < 2 {
		a.Fail(fmt.Sprintf("want 2 bytes, have %d", len(a.data)))
		return 0
	}
	return binary.NativeEndian.Uint16(a.data)
}

// BE16 returns the current attribute as a big-endian (network order) u16.
func (a *Attrs) BE16() uint16 {
	if len(a.data) < 2 {
		a.Fail(fmt.Sprintf("want 2 bytes, have %d", len(a.data)))
		return 0
	}
	return binary.BigEndian.Uint16(a.data)
}

// Uint32 returns the current attribute as a native-endian u32.
func (a *Attrs) Uint32() uint32 {
	if len(a.data) < 4 {
		a.Fail(fmt.Sprintf("want 4 bytes, have %d", len(a.data)))
		return 0
	}
	return binary.NativeEndian.Uint32(a.data)
}

// BE32 returns the current attribute as a big-endian (network order) u32.
func (a *Attrs) BE32() uint32 {
	if len(a.data) < 4 {
		a.Fail(fmt.Sprintf("want 4 bytes, have %d", len(a.data)))
		return 0
	}
	return binary.BigEndian.Uint32(a.data)
}

// Int32 returns the current attribute as a native-endian s32.
func (a *Attrs) Int32() int32 { return int32(a.Uint32()) }

// Uint64 returns the current attribute as a native-endian u64.
func (a *Attrs) Uint64() uint64 {
	if len(a.data) < 8 {
		a.Fail(fmt.Sprintf("want 8 bytes, have %d", len(a.data)))
		return 0
	}
	return binary.NativeEndian.Uint64(a.data)
}

// Flag reports a present NLA_FLAG attribute (always true: presence is the value).
func (a *Attrs) Flag() bool { return true }

// String returns the current attribute as a NUL-terminated string. It
// allocates: callers on hot paths compare bytes with StringBytes first.
func (a *Attrs) String() string { return string(a.StringBytes()) }

// StringBytes returns the current attribute's bytes up to the first NUL.
func (a *Attrs) StringBytes() []byte {
	d := a.data
	for i, c := range d {
		if c == 0 {
			return d[:i]
		}
	}
	return d
}

// Nested returns an iterator over the current attribute's payload.
func (a *Attrs) Nested(context string) Attrs {
	return Attrs{b: a.data, context: context}
}

// Align rounds n up to the netlink alignment of 4 bytes.
func Align(n int) int { return (n + 3) &^ 3 }

// AppendAttr appends one attribute to b.
func AppendAttr(b []byte, typ uint16, data []byte) []byte {
	l := AttrHeaderLen + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for i := l; i < Align(l); i++ {
		b = append(b, 0)
	}
	return b
}

// AppendUint32Attr appends a native-endian u32 attribute to b.
func AppendUint32Attr(b []byte, typ uint16, v uint32) []byte {
	var d [4]byte
	binary.NativeEndian.PutUint32(d[:], v)
	return AppendAttr(b, typ, d[:])
}

// AppendStringAttr appends a NUL-terminated string attribute to b without
// allocating.
func AppendStringAttr(b []byte, typ uint16, s string) []byte {
	l := AttrHeaderLen + len(s) + 1
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, s...)
	b = append(b, 0)
	for i := l; i < Align(l); i++ {
		b = append(b, 0)
	}
	return b
}
