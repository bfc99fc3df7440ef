package nl

import (
	"encoding/binary"
	"fmt"
	"syscall"
)

// Netlink message header flags and types (include/uapi/linux/netlink.h),
// defined here so this file builds on every OS.
const (
	HeaderLen = 16

	FlagRequest  = 0x1
	FlagMulti    = 0x2
	FlagAck      = 0x4
	FlagDumpIntr = 0x10
	FlagRoot     = 0x100
	FlagMatch    = 0x200
	FlagDump     = FlagRoot | FlagMatch

	// NLM_F_ACK_TLVS on an NLMSG_ERROR: extended ACK attributes follow.
	flagAckTLVs = 0x200
	// NLM_F_CAPPED on an NLMSG_ERROR: the original request was not echoed back.
	flagCapped = 0x100

	TypeNoop    = 0x1
	TypeError   = 0x2
	TypeDone    = 0x3
	TypeOverrun = 0x4

	nlmsgerrAttrMsg = 1 // NLMSGERR_ATTR_MSG
)

// Message is one netlink message of a reply. Data aliases the receive buffer
// and is valid only during the callback that receives it.
type Message struct {
	Type  uint16
	Flags uint16
	Seq   uint32
	PID   uint32
	Data  []byte
}

// batchResult is what walking one received datagram found.
type batchResult struct {
	done        bool // NLMSG_DONE, an ACK, or a single (non-multipart) reply
	interrupted bool // some message carried NLM_F_DUMP_INTR
}

// walkBatch walks the netlink messages of one datagram, checks that each
// belongs to the request (seq, port ID), and calls fn for every data message.
// It is pure so that it can be tested and fuzzed without a socket.
func walkBatch(b []byte, op string, seq, pid uint32, fn func(Message) error) (batchResult, error) {
	var res batchResult
	off := 0
	for off < len(b) {
		rest := len(b) - off
		if rest < HeaderLen {
			return res, &ReplyError{Op: op, Msg: fmt.Sprintf("%d trailing bytes at offset %d, shorter than a message header", rest, off)}
		}
		l := binary.NativeEndian.Uint32(b[off:])
		m := Message{
			Type:  binary.NativeEndian.Uint16(b[off+4:]),
			Flags: binary.NativeEndian.Uint16(b[off+6:]),
			Seq:   binary.NativeEndian.Uint32(b[off+8:]),
			PID:   binary.NativeEndian.Uint32(b[off+12:]),
		}
		if l < HeaderLen || uint64(l) > uint64(rest) {
			return res, &ReplyError{Op: op, Msg: fmt.Sprintf("message at offset %d has length %d, outside [%d, %d]", off, l, HeaderLen, rest)}
		}
		m.Data = b[off+HeaderLen : off+int(l)]
		next := off + Align(int(l))
		if next > len(b) {
			next = len(b)
		}
		off = next

		if m.Seq != seq {
			return res, &ReplyError{Op: op, Msg: fmt.Sprintf("reply has sequence %d, request was %d", m.Seq, seq)}
		}
		if m.PID != pid {
			return res, &ReplyError{Op: op, Msg: fmt.Sprintf("reply is addressed to port %d, this socket is %d", m.PID, pid)}
		}
		if m.Flags&FlagDumpIntr != 0 {
			res.interrupted = true
		}
		switch m.Type {
		case TypeNoop:
			continue
		case TypeOverrun:
			return res, &OpError{Op: op, Err: ErrOverrun}
		case TypeDone:
			// A dump may end with an error code in NLMSG_DONE's payload.
			if len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e < 0 {
					return res, &OpError{Op: op, Err: syscall.Errno(-e), Ext: extAck(m.Data[4:], m.Flags)}
				}
			}
			res.done = true
			return res, nil
		case TypeError:
			if len(m.Data) < 4 {
				return res, &ReplyError{Op: op, Msg: fmt.Sprintf("NLMSG_ERROR with %d-byte payload", len(m.Data))}
			}
			e := int32(binary.NativeEndian.Uint32(m.Data))
			if e == 0 { // ACK
				res.done = true
				return res, nil
			}
			if e > 0 {
				return res, &ReplyError{Op: op, Msg: fmt.Sprintf("NLMSG_ERROR with positive code %d", e)}
			}
			return res, &OpError{Op: op, Err: syscall.Errno(-e), Ext: errorExtAck(m.Data, m.Flags)}
		}
		if err := fn(m); err != nil {
			return res, err
		}
		if m.Flags&FlagMulti == 0 {
			res.done = true
			return res, nil
		}
	}
	return res, nil
}

// errorExtAck returns the extended ACK message of an NLMSG_ERROR payload:
// errno (4), the echoed request (a header, or the whole request without
// NLM_F_CAPPED), then attributes.
func errorExtAck(p []byte, flags uint16) string {
	if flags&flagAckTLVs == 0 || len(p) < 4+HeaderLen {
		return ""
	}
	skip := 4 + HeaderLen
	if flags&flagCapped == 0 {
		l := int(binary.NativeEndian.Uint32(p[4:]))
		if l < HeaderLen || 4+l > len(p) {
			return ""
		}
		skip = 4 + Align(l)
		if skip > len(p) {
			return ""
		}
	}
	return extAck(p[skip:], flagAckTLVs)
}

func extAck(attrs []byte, flags uint16) string {
	if flags&flagAckTLVs == 0 {
		return ""
	}
	a := NewAttrs(attrs, "extended ACK")
	for a.Next() {
		if a.Type() == nlmsgerrAttrMsg {
			return a.String()
		}
	}
	return ""
}

// AppendHeader appends a netlink message header for a message of payloadLen
// bytes.
func AppendHeader(b []byte, typ, flags uint16, seq, pid uint32, payloadLen int) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(HeaderLen+payloadLen))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	return binary.NativeEndian.AppendUint32(b, pid)
}
