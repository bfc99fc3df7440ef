//go:build linux

package nl

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Receive reads notifications from the multicast groups the socket has
// joined (see NetlinkConn().JoinGroup) until ctx is done, and calls fn for
// each message in place: Data is valid only during the call.
//
// When the kernel dropped notifications because the socket's receive queue
// was full (ENOBUFS), fn is called with a Message of Type TypeOverrun and no
// Data, and receiving goes on.
//
// Receive returns ctx's error when ctx is done, fn's error, or a socket
// error. Use a Conn for either requests or notifications, not both.
func (c *Conn) Receive(ctx context.Context, fn func(Message) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &OpError{Op: "receive", Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop, armed := c.watchContext(ctx)
	defer c.releaseContext(stop, armed)
	// A buffer is held only from a datagram's arrival until it has been
	// handled: a subscription waits with none.
	defer c.releaseBuf()
	recv := func(fd uintptr) bool {
		c.holdBuf()
		if !c.recvFn(fd) {
			c.releaseBuf() // nothing yet: wait without it
			return false
		}
		return true
	}
	for {
		c.rerr = nil
		c.releaseBuf()
		if rerr := c.raw.Read(recv); rerr != nil {
			return recvError(ctx, "receive", rerr)
		}
		if c.rerr != nil {
			if errors.Is(c.rerr, unix.ENOBUFS) {
				if err := fn(Message{Type: TypeOverrun}); err != nil {
					return err
				}
				continue
			}
			return &OpError{Op: "receive", Err: c.rerr}
		}
		if c.n > len(c.buf) {
			return &OpError{Op: "receive", Err: fmt.Errorf("%w: datagram of %d bytes, buffer %d", ErrTruncated, c.n, len(c.buf))}
		}
		if c.from.Pid != 0 {
			continue // not from the kernel: no notification of ours
		}
		if err := walkMulticast(c.buf[:c.n], fn); err != nil {
			return err
		}
	}
}
