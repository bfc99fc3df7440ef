//go:build linux

package xfrmstat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
	"github.com/tunnelstat/tunnelstat/procnet"
	"golang.org/x/sys/unix"
)

// client is the Linux implementation. mu serialises every request and
// guards the decoding state, which the dump callbacks (method values made
// once, so that a dump allocates no closure) share through the struct.
type client struct {
	mu     sync.Mutex
	conn   *nl.Conn
	ns     *netns.Handle // our own descriptor: an FD target is duplicated
	where  string
	closed bool

	dec decoder
	req []byte

	sas     []SA
	pols    []Policy
	spd     SPDInfo
	sad     SADInfo
	defs    PolicyDefaults
	saFn    func(nl.Message) error
	polFn   func(nl.Message) error
	spdFn   func(nl.Message) error
	sadFn   func(nl.Message) error
	defFn   func(nl.Message) error
	saReset func()
	pReset  func()

	mib *procnet.XfrmStatReader // opened inside the namespace by the first MIB
}

func dial(cfg *Config) (*client, error) {
	var conf Config
	if cfg != nil {
		conf = *cfg
	}
	t := netns.Target{Name: conf.NetNS.Name, Path: conf.NetNS.Path, FD: conf.NetNS.FD, PID: conf.NetNS.PID}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("xfrmstat: %w", err)
	}
	c := &client{where: t.String()}
	// Open keeps a descriptor of its own (an FD target is duplicated): the
	// caller may close theirs, and Subscribe opens sockets in the namespace
	// later.
	h, err := netns.Open(t)
	if err != nil {
		return nil, fmt.Errorf("xfrmstat: %w", err)
	}
	c.ns = h
	conn, err := nl.Dial(unix.NETLINK_XFRM, h.FD, 0)
	if err != nil {
		h.Close()
		return nil, c.dialError(err)
	}
	conn.Retries = nl.DumpRetries(conf.DumpRetries)
	c.conn = conn
	c.saFn, c.polFn, c.spdFn, c.sadFn, c.defFn = c.onSA, c.onPolicy, c.onSPDInfo, c.onSADInfo, c.onDefaults
	c.saReset = func() { c.sas = c.sas[:0] }
	c.pReset = func() { c.pols = c.pols[:0] }
	return c, nil
}

// dialError maps a socket error: EPROTONOSUPPORT means the kernel has no
// NETLINK_XFRM (xfrm_user not loaded or not built).
func (c *client) dialError(err error) error {
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		return fmt.Errorf("xfrmstat: %w: %s has no XFRM netlink (load the xfrm_user module, or build with CONFIG_XFRM_USER): %w", ErrNotSupported, c.where, err)
	}
	return fmt.Errorf("xfrmstat: open XFRM netlink socket in %s: %w", c.where, err)
}

// opError adds what was asked and where, and a hint for the usual
// permission problem; errors.Is still sees the errno.
func (c *client) opError(op string, err error) error {
	var de *DecodeError
	switch {
	case errors.As(err, &de), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("xfrmstat: %s in %s: needs CAP_NET_ADMIN in the namespace's user namespace (the kernel checks it for every XFRM request, reads included): %w", op, c.where, err)
	}
	return fmt.Errorf("xfrmstat: %s in %s: %w", op, c.where, err)
}

func (c *client) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.conn.Close()
	if c.mib != nil {
		c.mib.Close()
		c.mib = nil
	}
	c.ns.Close()
	return err
}

// maxHint bounds the capacity a fresh dump preallocates from the kernel's
// count, so that a bogus count cannot make it allocate gigabytes.
const maxHint = 1 << 22

func (c *client) sasInto(ctx context.Context, dst []SA, filters []SAFilter) ([]SA, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req, err := saFilterRequest(c.req[:0], filters)
	if err != nil {
		return nil, err
	}
	c.req = req
	if cap(dst) == 0 {
		// A first dump: size the result from the SA count (one short
		// request) instead of growing it by copying. With filters the count
		// would over-allocate, so let it grow then.
		n := 0
		if len(filters) == 0 {
			if err := c.conn.Request(ctx, "XFRM_MSG_GETSADINFO", xfrm.MsgGetSADInfo, 0, zeroFlags[:], c.sadFn); err == nil {
				n = int(min(c.sad.Count, maxHint))
			}
		}
		dst = make([]SA, 0, n+n/16+1)
	}
	c.sas = dst
	err = c.conn.Dump(ctx, "XFRM_MSG_GETSA dump", xfrm.MsgGetSA, nl.FlagDump, c.req, c.saReset, c.saFn, nil)
	out := c.sas
	c.sas = nil // do not keep the caller's memory
	if err != nil {
		return out[:0], c.opError("dump SAs", err)
	}
	return out, nil
}

func (c *client) onSA(m nl.Message) error {
	i := len(c.sas)
	if m.Type != xfrm.MsgNewSA {
		return &DecodeError{Message: msgName(m.Type), Index: i, Err: errors.New("unexpected message type in an SA dump")}
	}
	if i < cap(c.sas) {
		c.sas = c.sas[:i+1]
	} else {
		c.sas = append(c.sas, SA{})
	}
	if err := c.dec.saMessage(&c.sas[i], m.Data); err != nil {
		c.sas = c.sas[:i]
		return &DecodeError{Message: "XFRM_MSG_NEWSA", Index: i, Err: err}
	}
	return nil
}

func (c *client) policiesInto(ctx context.Context, dst []Policy) ([]Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(dst) == 0 {
		// A first dump: size the result from the policy count.
		n := 0
		if err := c.conn.Request(ctx, "XFRM_MSG_GETSPDINFO", xfrm.MsgGetSPDInfo, 0, zeroFlags[:], c.spdFn); err == nil {
			n = int(min(c.spd.Total(), maxHint))
		}
		dst = make([]Policy, 0, n+n/16+1)
	}
	c.pols = dst
	// The GETPOLICY dump takes no filter: the request has no payload.
	err := c.conn.Dump(ctx, "XFRM_MSG_GETPOLICY dump", xfrm.MsgGetPolicy, nl.FlagDump, nil, c.pReset, c.polFn, nil)
	out := c.pols
	c.pols = nil
	if err != nil {
		return out[:0], c.opError("dump policies", err)
	}
	return out, nil
}

func (c *client) onPolicy(m nl.Message) error {
	i := len(c.pols)
	if m.Type != xfrm.MsgNewPolicy {
		return &DecodeError{Message: msgName(m.Type), Index: i, Err: errors.New("unexpected message type in a policy dump")}
	}
	if i < cap(c.pols) {
		c.pols = c.pols[:i+1]
	} else {
		c.pols = append(c.pols, Policy{})
	}
	if err := c.dec.policyMessage(&c.pols[i], m.Data); err != nil {
		c.pols = c.pols[:i]
		return &DecodeError{Message: "XFRM_MSG_NEWPOLICY", Index: i, Err: err}
	}
	return nil
}

// zeroFlags is the __u32 of flags that GETSPDINFO and GETSADINFO requests
// carry (the kernel echoes it).
var zeroFlags [4]byte

func (c *client) spdInfo(ctx context.Context) (SPDInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.conn.Request(ctx, "XFRM_MSG_GETSPDINFO", xfrm.MsgGetSPDInfo, 0, zeroFlags[:], c.spdFn); err != nil {
		return SPDInfo{}, c.opError("read SPD info", err)
	}
	return c.spd, nil
}

func (c *client) onSPDInfo(m nl.Message) error {
	if m.Type != xfrm.MsgNewSPDInfo {
		return &DecodeError{Message: msgName(m.Type), Index: -1, Err: errors.New("unexpected reply to XFRM_MSG_GETSPDINFO")}
	}
	if err := decodeSPDInfo(&c.spd, m.Data); err != nil {
		return &DecodeError{Message: "XFRM_MSG_NEWSPDINFO", Index: -1, Err: err}
	}
	return nil
}

func (c *client) sadInfo(ctx context.Context) (SADInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.conn.Request(ctx, "XFRM_MSG_GETSADINFO", xfrm.MsgGetSADInfo, 0, zeroFlags[:], c.sadFn); err != nil {
		return SADInfo{}, c.opError("read SAD info", err)
	}
	return c.sad, nil
}

func (c *client) onSADInfo(m nl.Message) error {
	if m.Type != xfrm.MsgNewSADInfo {
		return &DecodeError{Message: msgName(m.Type), Index: -1, Err: errors.New("unexpected reply to XFRM_MSG_GETSADINFO")}
	}
	if err := decodeSADInfo(&c.sad, m.Data); err != nil {
		return &DecodeError{Message: "XFRM_MSG_NEWSADINFO", Index: -1, Err: err}
	}
	return nil
}

func (c *client) policyDefaults(ctx context.Context) (PolicyDefaults, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var req [xfrm.SizeofUserpolDefault]byte
	err := c.conn.Request(ctx, "XFRM_MSG_GETDEFAULT", xfrm.MsgGetDefault, 0, req[:], c.defFn)
	if errors.Is(err, unix.EINVAL) {
		// Before 5.16 the message type is past XFRM_MSG_MAX, which the
		// kernel rejects with EINVAL.
		return PolicyDefaults{}, fmt.Errorf("xfrmstat: %w: XFRM_MSG_GETDEFAULT in %s needs Linux 5.16 or later (older kernels accept packets that match no policy): %w", ErrNotSupported, c.where, err)
	}
	if err != nil {
		return PolicyDefaults{}, c.opError("read default policy", err)
	}
	return c.defs, nil
}

func (c *client) onDefaults(m nl.Message) error {
	if m.Type != xfrm.MsgGetDefault {
		return &DecodeError{Message: msgName(m.Type), Index: -1, Err: errors.New("unexpected reply to XFRM_MSG_GETDEFAULT")}
	}
	if err := decodePolicyDefaults(&c.defs, m.Data); err != nil {
		return &DecodeError{Message: "XFRM_MSG_GETDEFAULT", Index: -1, Err: err}
	}
	return nil
}

// mibInto reads /proc/net/xfrm_stat of the namespace. The file is opened
// once, from a thread inside the namespace (/proc/thread-self/net follows
// the opening thread's namespace, and the open file keeps it), then read
// again from offset 0 on every call by procnet's polling reader: the
// seq_file restarts its listing.
func (c *client) mibInto(ctx context.Context, dst *procnet.XfrmStat) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closed {
		return fmt.Errorf("xfrmstat: read MIB: %w", os.ErrClosed)
	}
	if c.mib == nil {
		var r *procnet.XfrmStatReader
		err := c.ns.Do(func() error {
			var err error
			r, err = procnet.FS{}.ThreadSelf().OpenXfrmStat(ctx)
			return err
		})
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, procnet.ErrNotSupported) {
			return fmt.Errorf("xfrmstat: %w: %s has no /proc/net/xfrm_stat: the kernel was built without CONFIG_XFRM_STATISTICS (%w)", ErrNotSupported, c.where, err)
		}
		if err != nil {
			return fmt.Errorf("xfrmstat: open xfrm_stat of %s: %w", c.where, err)
		}
		c.mib = r
	}
	if err := c.mib.Read(ctx, dst); err != nil {
		return fmt.Errorf("xfrmstat: xfrm_stat of %s: %w", c.where, err)
	}
	return nil
}

// eventBuffer is the receive buffer a subscription asks for: bursts (an IKE
// daemon installing thousands of SAs) overflow the default ~200 KiB.
const eventBuffer = 4 << 20

type subscription struct {
	conn   *nl.Conn
	ctx    context.Context
	cancel context.CancelFunc
	dec    decoder
}

func (c *client) subscribe(ctx context.Context, groups Group) (*subscription, error) {
	// The socket is opened under the lock: Close must not release the
	// namespace descriptor while it is being entered.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("xfrmstat: subscribe: %w", os.ErrClosed)
	}
	conn, err := nl.Dial(unix.NETLINK_XFRM, c.ns.FD, 0)
	c.mu.Unlock()
	if err != nil {
		return nil, c.dialError(err)
	}
	nc := conn.NetlinkConn()
	for i, g := range groupNumbers {
		if groups&(1<<i) == 0 {
			continue
		}
		if err := nc.JoinGroup(g); err != nil {
			conn.Close()
			return nil, c.opError(fmt.Sprintf("join XFRM multicast group %d", g), err)
		}
	}
	// Best effort: without CAP_NET_ADMIN in the initial namespace the
	// kernel caps the size at net.core.rmem_max.
	_ = nc.SetReadBuffer(eventBuffer)
	sctx, cancel := context.WithCancel(ctx)
	return &subscription{conn: conn, ctx: sctx, cancel: cancel}, nil
}

func (s *subscription) receive(fn func(Event) error) error {
	return s.conn.Receive(s.ctx, func(m nl.Message) error {
		if m.Type == nl.TypeOverrun {
			return fn(&EventsLost{})
		}
		ev, err := s.dec.decodeEvent(m.Type, m.Data)
		if err != nil {
			ev = &UnknownEvent{Type: m.Type, Len: len(m.Data), Err: &DecodeError{Message: msgName(m.Type), Index: -1, Err: err}}
		}
		return fn(ev)
	})
}

func (s *subscription) close() error {
	s.cancel() // unblocks a running Receive, which holds the socket
	return s.conn.Close()
}
