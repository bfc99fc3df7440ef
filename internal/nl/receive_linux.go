//go:build linux

package nl

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	if ctx.Done() != nil {
		gen := c.cancelGen
		stop := context.AfterFunc(ctx, func() {
			c.cancelMu.Lock()
			if c.cancelGen == gen {
				_ = c.nc.SetReadDeadline(longAgo)
			}
			c.cancelMu.Unlock()
		})
		defer func() {
			stop()
			c.cancelMu.Lock()
			c.cancelGen++
			_ = c.nc.SetReadDeadline(time.Time{})
			c.cancelMu.Unlock()
		}()
	}
	for {
		c.rerr = nil
		if rerr := c.raw.Read(c.recvFn); rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &OpError{Op: "receive", Err: rerr}
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
