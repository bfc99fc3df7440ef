package nl

import (
	"errors"
	"fmt"
	"os"
)

// ErrDumpInterrupted reports that the kernel set NLM_F_DUMP_INTR: the table
// changed while it was being dumped, so the result may be inconsistent.
// Conn.Dump retries a bounded number of times before returning it.
var ErrDumpInterrupted = errors.New("netlink: dump interrupted by concurrent changes (NLM_F_DUMP_INTR)")

// ErrTruncated reports a reply that did not fit the receive buffer: part of
// a message was lost, so the result is incomplete.
var ErrTruncated = errors.New("netlink: reply truncated")

// ErrOverrun reports ENOBUFS: the socket's receive queue overflowed and the
// kernel dropped messages, so the result is incomplete.
var ErrOverrun = errors.New("netlink: receive buffer overrun (ENOBUFS): messages were lost")

// ErrClosed reports use of a closed Conn. It also matches os.ErrClosed, as
// the error of a read on a closed file does, so that a Client's netlink
// requests and its /proc reads fail alike after Close.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string        { return "netlink: use of closed connection" }
func (closedError) Is(target error) bool { return target == os.ErrClosed }

// ReplyError reports a reply that does not belong to the request that is
// waiting for it (wrong sequence or port ID) or that is malformed.
type ReplyError struct {
	Op  string
	Msg string
}

func (e *ReplyError) Error() string { return fmt.Sprintf("netlink: %s: %s", e.Op, e.Msg) }

// OpError is an error the kernel returned for a request (NLMSG_ERROR), or a
// system call error on the socket. Err is a syscall.Errno where there is one,
// so errors.Is(err, os.ErrPermission) and errors.Is(err, os.ErrNotExist) work.
type OpError struct {
	Op  string // e.g. "RTM_GETLINK dump"
	Err error
	// Ext is the kernel's extended ACK message, if it sent one.
	Ext string
}

func (e *OpError) Error() string {
	if e.Ext != "" {
		return fmt.Sprintf("netlink: %s: %v (%s)", e.Op, e.Err, e.Ext)
	}
	return fmt.Sprintf("netlink: %s: %v", e.Op, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }
