//go:build linux

package nl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/netns"
)

// DefaultDumpRetries is how many times a dump interrupted by concurrent
// changes (NLM_F_DUMP_INTR) is started again before ErrDumpInterrupted is
// returned.
const DefaultDumpRetries = 10

// DumpRetries turns the Config.DumpRetries of the public clients into
// Conn.Retries, so that both read it alike: 0 means DefaultDumpRetries, a
// negative value means no retry, a positive one is the bound.
func DumpRetries(configured int) int {
	switch {
	case configured > 0:
		return configured
	case configured < 0:
		return 0
	}
	return DefaultDumpRetries
}

// The kernel fills a dump datagram up to about 32 KiB when the reader's
// buffer allows it (net/netlink/af_netlink.c:netlink_dump), so a 64 KiB
// buffer never truncates a dump and keeps the syscall count minimal.
const recvBufSize = 64 << 10

// recvBufs are the receive buffers of the conns that carry no secret. A
// conn holds one only while it exchanges or handles a notification: a
// process with a hundred namespaces open (four conns each, two of them
// subscriptions that wait for hours) then keeps a few buffers, not four
// hundred. Replies are decoded while they are walked (Message.Data is valid
// only during the call), so nothing refers into a buffer once it is back.
// A free list, not a sync.Pool: a collection would empty the pool, and the
// next poll would allocate again (polls that reuse their storage allocate
// nothing).
var recvBufs struct {
	mu   sync.Mutex
	free []*[]byte
}

// maxFreeRecvBufs bounds the buffers kept for reuse (1 MiB): as many as
// exchanges run at once in a busy process.
const maxFreeRecvBufs = 16

func getRecvBuf() *[]byte {
	recvBufs.mu.Lock()
	defer recvBufs.mu.Unlock()
	if n := len(recvBufs.free); n > 0 {
		b := recvBufs.free[n-1]
		recvBufs.free[n-1] = nil
		recvBufs.free = recvBufs.free[:n-1]
		return b
	}
	b := make([]byte, recvBufSize)
	return &b
}

func putRecvBuf(b *[]byte) {
	recvBufs.mu.Lock()
	defer recvBufs.mu.Unlock()
	if len(recvBufs.free) < maxFreeRecvBufs {
		recvBufs.free = append(recvBufs.free, b)
	}
}

// Conn is a netlink socket that streams replies through one reused buffer.
// It is safe for concurrent use: requests are serialised.
type Conn struct {
	mu     sync.Mutex
	nc     *netlink.Conn
	raw    syscall.RawConn
	pid    uint32
	seq    uint32
	dirty  bool // a previous exchange was abandoned: drain before the next
	closed bool

	// StrictCheck reports whether NETLINK_GET_STRICT_CHK is on, so the
	// kernel honours filters in dump requests (Linux 4.20+).
	StrictCheck bool
	// Retries bounds restarts of dumps interrupted by concurrent changes.
	Retries int

	req []byte
	// buf is the receive buffer: the conn's own for generic netlink (its
	// replies may carry secrets, which ClearBuffer zeroes, so the buffer is
	// never shared), else one of recvBufs, held by bufp from holdBuf to
	// releaseBuf and nil in between.
	buf     []byte
	bufp    *[]byte
	own     bool
	n       int
	rerr    error
	from    unix.RawSockaddrNetlink
	fromLen uint32

	recvFn  func(fd uintptr) bool
	drainFn func(fd uintptr) bool
	sendFn  func(fd uintptr) bool

	// deadline generation: a context cancellation that fires late must not
	// poison the next exchange.
	cancelMu  sync.Mutex
	cancelGen uint64
}

// Dial opens a netlink socket of the given family (unix.NETLINK_ROUTE,
// unix.NETLINK_XFRM …) in the network namespace netnsFD refers to, or in the
// caller's namespace when netnsFD is negative.
func Dial(family int, netnsFD int, groups uint32) (*Conn, error) {
	cfg := &netlink.Config{Groups: groups}
	if netnsFD >= 0 {
		cfg.NetNS = netnsFD
	}
	nc, err := netlink.Dial(family, cfg)
	if err != nil {
		return nil, mapDialError(family, err)
	}
	raw, err := nc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &Conn{nc: nc, raw: raw, pid: nc.PID(), Retries: DefaultDumpRetries}
	if family == unix.NETLINK_GENERIC {
		c.own, c.buf = true, make([]byte, recvBufSize)
	}
	// Best effort: extended ACK gives the kernel's reason with an error;
	// strict checking makes the kernel honour dump filters.
	_ = nc.SetOption(netlink.ExtendedAcknowledge, true)
	c.StrictCheck = nc.SetOption(netlink.GetStrictCheck, true) == nil
	c.recvFn = func(fd uintptr) bool {
		c.fromLen = uint32(unsafe.Sizeof(c.from))
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.buf[0])), uintptr(len(c.buf)),
			unix.MSG_TRUNC, uintptr(unsafe.Pointer(&c.from)), uintptr(unsafe.Pointer(&c.fromLen)))
		if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
			return false // wait for the poller
		}
		if e == unix.EINTR {
			return false
		}
		c.n, c.rerr = int(r), errnoErr(e)
		return true
	}
	c.drainFn = func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.buf[0])), uintptr(len(c.buf)),
			unix.MSG_DONTWAIT, 0, 0)
		c.n, c.rerr = int(r), errnoErr(e)
		return true
	}
	c.sendFn = func(fd uintptr) bool {
		var to unix.RawSockaddrNetlink
		to.Family = unix.AF_NETLINK
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&c.req[0])), uintptr(len(c.req)), 0,
			uintptr(unsafe.Pointer(&to)), unsafe.Sizeof(to))
		if e == unix.EAGAIN || e == unix.EINTR {
			return false
		}
		c.rerr = errnoErr(e)
		return true
	}
	return c, nil
}

// holdBuf gives the conn a receive buffer until releaseBuf. Call both
// with c.mu held.
func (c *Conn) holdBuf() {
	if c.buf == nil {
		c.bufp = getRecvBuf()
		c.buf = *c.bufp
	}
}

// releaseBuf returns a pooled receive buffer; a conn's own stays.
func (c *Conn) releaseBuf() {
	if c.own || c.bufp == nil {
		return
	}
	putRecvBuf(c.bufp)
	c.buf, c.bufp = nil, nil
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// mapDialError keeps errors.Is working for the cases callers care about:
// EPROTONOSUPPORT means the kernel lacks the family (e.g. xfrm_user absent).
func mapDialError(family int, err error) error {
	if IsEnterNetNSError(err) {
		why := "needs CAP_SYS_ADMIN"
		if errors.Is(err, unix.EINVAL) {
			why = netns.NotANetNS
		}
		return &OpError{Op: fmt.Sprintf("dial netlink family %d: enter the network namespace (%s)", family, why), Err: err}
	}
	return &OpError{Op: fmt.Sprintf("dial netlink family %d", family), Err: err}
}

// IsEnterNetNSError reports whether err is the failure to enter another
// network namespace (setns), as opposed to the socket itself being refused.
// Both can match os.ErrPermission; only the second one leaves /proc/net as a
// fallback.
func IsEnterNetNSError(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "setns"
}

// PID is the socket's netlink port ID.
func (c *Conn) PID() uint32 { return c.pid }

// NetlinkConn exposes the underlying socket, for multicast subscriptions.
func (c *Conn) NetlinkConn() *netlink.Conn { return c.nc }

// Close releases the socket. Further calls return ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.nc.Close()
}

// Dump sends one request (a dump when flags include FlagDump) and streams
// every reply message to fn. The message Data is valid only during the call.
//
// If the kernel marks the dump NLM_F_DUMP_INTR, reset is called and the dump
// is started again, up to c.Retries times; then ErrDumpInterrupted is
// returned. reset must discard whatever fn accumulated. retries, if non-nil,
// receives the number of restarts.
func (c *Conn) Dump(ctx context.Context, op string, typ, flags uint16, payload []byte, reset func(), fn func(Message) error, retries *int) error {
	for try := 0; ; try++ {
		if reset != nil {
			reset()
		}
		err := c.exchange(ctx, op, typ, flags, payload, fn)
		if errors.Is(err, ErrDumpInterrupted) && try < c.Retries {
			if retries != nil {
				*retries++
			}
			continue
		}
		return err
	}
}

// Request sends one request expecting a single reply or an ACK.
func (c *Conn) Request(ctx context.Context, op string, typ, flags uint16, payload []byte, fn func(Message) error) error {
	return c.exchange(ctx, op, typ, flags, payload, fn)
}

var longAgo = time.Unix(1, 0)

func (c *Conn) exchange(ctx context.Context, op string, typ, flags uint16, payload []byte, fn func(Message) error) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &OpError{Op: op, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.holdBuf()
	defer c.releaseBuf()
	if c.dirty {
		c.drain()
	}

	stop, armed := c.watchContext(ctx)
	defer c.releaseContext(stop, armed)

	c.seq++
	seq := c.seq
	c.req = AppendHeader(c.req[:0], typ, flags|FlagRequest, seq, 0, len(payload))
	c.req = append(c.req, payload...)
	c.rerr = nil
	if werr := c.raw.Write(c.sendFn); werr != nil {
		return &OpError{Op: op, Err: werr}
	}
	if c.rerr != nil {
		return &OpError{Op: op, Err: c.rerr}
	}

	interrupted := false
	for {
		c.rerr = nil
		if rerr := c.raw.Read(c.recvFn); rerr != nil {
			c.dirty = true
			return recvError(ctx, op, rerr)
		}
		if c.rerr != nil {
			c.dirty = true
			if errors.Is(c.rerr, unix.ENOBUFS) {
				return &OpError{Op: op, Err: ErrOverrun}
			}
			return &OpError{Op: op, Err: c.rerr}
		}
		if c.n > len(c.buf) {
			c.dirty = true
			return &OpError{Op: op, Err: fmt.Errorf("%w: datagram of %d bytes, buffer %d", ErrTruncated, c.n, len(c.buf))}
		}
		if c.from.Pid != 0 {
			c.dirty = true
			return &ReplyError{Op: op, Msg: fmt.Sprintf("datagram from port %d, not the kernel", c.from.Pid)}
		}
		res, werr := walkBatch(c.buf[:c.n], op, seq, c.pid, fn)
		if res.interrupted {
			interrupted = true
		}
		if werr != nil {
			if !res.done {
				c.dirty = true
			}
			return werr
		}
		if res.done {
			if interrupted {
				return &OpError{Op: op, Err: ErrDumpInterrupted}
			}
			return nil
		}
	}
}

// watchContext makes a blocked receive end when ctx is done or its deadline
// passes: both work through the read deadline of the socket's file. Pass
// its results to releaseContext when the exchange ends.
func (c *Conn) watchContext(ctx context.Context) (stop func() bool, armed bool) {
	dl, hasDL := ctx.Deadline()
	if hasDL {
		_ = c.nc.SetReadDeadline(dl)
	}
	if ctx.Done() != nil {
		// A cancellation that fires after the exchange ended must not
		// poison the next one: it acts only while its generation is current.
		gen := c.cancelGen
		stop = context.AfterFunc(ctx, func() {
			c.cancelMu.Lock()
			if c.cancelGen == gen {
				_ = c.nc.SetReadDeadline(longAgo)
			}
			c.cancelMu.Unlock()
		})
	}
	return stop, hasDL || stop != nil
}

// releaseContext undoes watchContext.
func (c *Conn) releaseContext(stop func() bool, armed bool) {
	if stop != nil {
		stop()
	}
	if !armed {
		return
	}
	c.cancelMu.Lock()
	c.cancelGen++
	_ = c.nc.SetReadDeadline(time.Time{})
	c.cancelMu.Unlock()
}

// recvError turns a failed receive into ctx's error when ctx ended it.
func recvError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, hasDL := ctx.Deadline(); hasDL && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return &OpError{Op: op, Err: err}
}

// drain discards whatever an abandoned exchange left queued. Reading a
// socket with a dump in progress makes the kernel produce the rest of it, so
// this reads until the queue is empty.
func (c *Conn) drain() {
	for i := 0; i < 1<<20; i++ {
		c.rerr = nil
		if err := c.raw.Read(c.drainFn); err != nil {
			break
		}
		if c.rerr != nil {
			if errors.Is(c.rerr, unix.ENOBUFS) {
				continue
			}
			break // EAGAIN: empty
		}
	}
	c.dirty = false
}
