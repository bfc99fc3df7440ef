package nl

import (
	"encoding/binary"
	"fmt"
)

// walkMulticast walks the messages of one multicast datagram and calls fn
// for each data message. Unlike walkBatch it checks no sequence number or
// port ID: a notification carries those of the request that caused it, if
// any. Control messages (NOOP, DONE, ERROR) are not notifications and are
// skipped.
func walkMulticast(b []byte, fn func(Message) error) error {
	off := 0
	for off < len(b) {
		rest := len(b) - off
		if rest < HeaderLen {
			return &ReplyError{Op: "receive", Msg: fmt.Sprintf("%d trailing bytes at offset %d, shorter than a message header", rest, off)}
		}
		l := binary.NativeEndian.Uint32(b[off:])
		if l < HeaderLen || uint64(l) > uint64(rest) {
			return &ReplyError{Op: "receive", Msg: fmt.Sprintf("message at offset %d has length %d, outside [%d, %d]", off, l, HeaderLen, rest)}
		}
		m := Message{
			Type:  binary.NativeEndian.Uint16(b[off+4:]),
			Flags: binary.NativeEndian.Uint16(b[off+6:]),
			Seq:   binary.NativeEndian.Uint32(b[off+8:]),
			PID:   binary.NativeEndian.Uint32(b[off+12:]),
			Data:  b[off+HeaderLen : off+int(l)],
		}
		next := off + Align(int(l))
		if next > len(b) {
			next = len(b)
		}
		off = next
		switch m.Type {
		case TypeNoop, TypeDone, TypeError:
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}
