//go:build linux

package vtistat

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/procnet"
	"golang.org/x/sys/unix"
)

// filterBitLink64 is IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64): ask
// RTM_GETSTATS for struct rtnl_link_stats64 and nothing else.
const filterBitLink64 = 1 << (iflaStatsLink64 - 1)

type client struct {
	mu     sync.Mutex
	conn   *nl.Conn // nil when reading /proc/net/dev
	ns     *netns.Handle
	target netns.Target
	closed bool

	fallback    bool  // Config.ProcNetDevFallback
	fallbackErr error // why /proc/net/dev is read instead of rtnetlink
	proc        *procnet.NetDevReader

	noGetStats bool // the kernel has no RTM_GETSTATS (before 4.7)

	dumpRetries int // Config.DumpRetries, for sockets opened later

	// Generic netlink, opened at the first WireGuardDevice.
	genl     *nl.Conn
	wgFamily uint16 // the "wireguard" family's ID; 0 until resolved
	wg       wgDecoder
	wgFn     func(nl.Message) error
	wgReset  func()

	req []byte // request payload, reused

	// State of the dump in progress, read by the callbacks below. They are
	// method values bound once so that a dump allocates no closure.
	dst       *Snapshot
	q         *query
	n         int  // links stored so far
	pos       int  // position of the next message in its dump; -1 for a single reply
	cur       int  // PollStats: position expected for the next message
	matched   int  // PollStats: dst links seen
	skipSeen  int  // PollStats: skipped links seen
	changed   bool // PollStats: a link dst does not know
	linkFn    func(nl.Message) error
	linkReset func()
	statFn    func(nl.Message) error
	statReset func()
	censusFn  func(nl.Message) error
	censusRst func()
	censusLen int // skipped entries that came from the census
}

func dial(cfg *Config) (*client, error) {
	t := netns.Target{Name: cfg.NetNS.Name, Path: cfg.NetNS.Path, FD: cfg.NetNS.FD, PID: cfg.NetNS.PID}
	h, err := netns.Open(t)
	if err != nil {
		return nil, fmt.Errorf("vtistat: %w", err)
	}
	c := &client{ns: h, target: t, fallback: cfg.ProcNetDevFallback, dumpRetries: cfg.DumpRetries}
	c.linkFn, c.linkReset = c.onLink, c.resetLinks
	c.statFn, c.statReset = c.onStats, c.resetStats
	c.censusFn, c.censusRst = c.onCensus, c.censusReset

	conn, err := nl.Dial(unix.NETLINK_ROUTE, h.FD, 0)
	if err != nil {
		// A refused socket leaves /proc/net/dev; a refused setns (entering
		// another namespace needs CAP_SYS_ADMIN) would refuse that too.
		if c.fallback && errors.Is(err, os.ErrPermission) && !nl.IsEnterNetNSError(err) {
			if ferr := c.startFallback(context.Background(), err); ferr != nil {
				h.Close()
				return nil, ferr
			}
			return c, nil
		}
		h.Close()
		return nil, fmt.Errorf("vtistat: %s: %w", t, err)
	}
	conn.Retries = nl.DumpRetries(cfg.DumpRetries)
	c.conn = conn
	return c, nil
}

func (c *client) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if c.conn != nil {
		errs = append(errs, c.conn.Close())
	}
	if c.proc != nil {
		errs = append(errs, c.proc.Close())
	}
	if c.genl != nil {
		errs = append(errs, c.genl.Close())
	}
	errs = append(errs, c.ns.Close())
	return errors.Join(errs...)
}

func (c *client) fallbackReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fallbackErr
}

// lock takes the client for one read.
func (c *client) lock(op string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("vtistat: %s: %w", op, nl.ErrClosed) // matches os.ErrClosed
	}
	return nil
}

// snapshot is a full read. poll says whether PollStats may follow, which
// makes a kernel-filtered dump learn the other ifindexes; Client.Snapshot
// always says so, tests measure the dump without it.
func (c *client) snapshot(ctx context.Context, dst *Snapshot, q query, poll bool) error {
	if err := q.validate(); err != nil {
		dst.clear()
		return err
	}
	if err := c.lock("snapshot"); err != nil {
		dst.clear()
		return err
	}
	defer c.mu.Unlock()
	if !q.same(&dst.q) {
		dst.q = q.clone()
	}
	dst.Retries = 0
	err := c.fullLocked(ctx, dst, poll)
	if err != nil {
		dst.clear()
	}
	return err
}

func (c *client) pollStats(ctx context.Context, dst *Snapshot) error {
	if err := dst.q.validate(); err != nil {
		dst.clear()
		return err
	}
	if err := c.lock("poll stats"); err != nil {
		dst.clear()
		return err
	}
	defer c.mu.Unlock()
	dst.Retries = 0
	var err error
	switch {
	case c.conn == nil || dst.ParamsTime.IsZero() || c.noGetStats:
		err = c.fullLocked(ctx, dst, true)
	case dst.q.single():
		err = c.pollOneLocked(ctx, dst)
	default:
		err = c.pollAllLocked(ctx, dst)
	}
	if err != nil {
		dst.clear()
	}
	return err
}

// fullLocked reads parameters and counters of the links dst.q selects.
func (c *client) fullLocked(ctx context.Context, dst *Snapshot, census bool) error {
	if c.conn == nil {
		return c.readProcLocked(ctx, dst)
	}
	var err error
	if dst.q.single() {
		err = c.getOneLocked(ctx, dst)
	} else {
		err = c.dumpLinksLocked(ctx, dst, census)
	}
	if err != nil && c.mayFallBack(err) {
		if ferr := c.startFallback(ctx, err); ferr != nil {
			return errors.Join(err, ferr)
		}
		return c.readProcLocked(ctx, dst)
	}
	return err
}

// dumpLinksLocked is one RTM_GETLINK dump into dst. It never asks for VF
// information (no IFLA_EXT_MASK): collecting it holds RTNL for a long time
// on hosts with many VFs.
//
// With census, the ifindexes of the links a kernel-side kind filter leaves
// out are learnt first from a stats-only dump (far cheaper than dumping
// them), so that PollStats can tell them from new links.
func (c *client) dumpLinksLocked(ctx context.Context, dst *Snapshot, census bool) error {
	q := &dst.q
	kernelFilter := q.byKind && len(q.kinds) == 1 && q.kinds[0] != "" && c.conn.StrictCheck
	c.dst, c.q, c.censusLen = dst, q, 0
	defer func() { c.dst, c.q = nil, nil }()
	if kernelFilter && census && !c.noGetStats {
		// Census before the filtered dump: a link created in between is
		// then either in dst.Links or unknown to the census, and an unknown
		// ifindex makes the next PollStats read parameters again.
		c.req = statsRequest(c.req, 0)
		err := c.conn.Dump(ctx, "RTM_GETSTATS dump", unix.RTM_GETSTATS, nl.FlagDump, c.req, c.censusRst, c.censusFn, &dst.Retries)
		switch {
		case isNoGetStats(err):
			c.noGetStats = true
			dst.skipped = dst.skipped[:0]
		case err != nil:
			return c.wrap(err)
		}
		c.censusLen = len(dst.skipped)
	}
	c.req = append(c.req[:0], make([]byte, sizeofIfInfomsg)...) // ifinfomsg, AF_UNSPEC, all zero
	if kernelFilter {
		// The kernel skips links of other kinds (rtnl_dump_ifinfo,
		// link_kind_filtered). If it does not know the kind (its module is
		// not loaded) it sends every link, and the Go-side filter applies.
		var info []byte
		info = nl.AppendAttr(info, iflaInfoKind, append([]byte(q.kinds[0]), 0))
		c.req = nl.AppendAttr(c.req, iflaLinkinfo|nlaFNested, info)
	}
	err := c.conn.Dump(ctx, "RTM_GETLINK dump", unix.RTM_GETLINK, nl.FlagDump, c.req, c.linkReset, c.linkFn, &dst.Retries)
	if err != nil {
		return c.wrap(err)
	}
	c.finishFull(dst)
	return nil
}

func (c *client) censusReset() { c.dst.skipped = c.dst.skipped[:0]; c.pos = 0 }

func (c *client) onCensus(m nl.Message) error {
	c.nextPos()
	if m.Type != unix.RTM_NEWSTATS || len(m.Data) < sizeofIfStatsMsg {
		return &nl.ReplyError{Op: "RTM_GETSTATS dump", Msg: fmt.Sprintf("message type %d of %d bytes, want RTM_NEWSTATS", m.Type, len(m.Data))}
	}
	c.dst.skipped = append(c.dst.skipped, int32(binary.NativeEndian.Uint32(m.Data[4:])))
	return nil
}

const nlaFNested = 1 << 15

func (c *client) resetLinks() {
	c.n, c.pos = 0, 0
	c.dst.skipped = c.dst.skipped[:c.censusLen]
}

// nextPos returns the position of the message being handled in its dump
// (DecodeError.Index), -1 for a single reply.
func (c *client) nextPos() int {
	p := c.pos
	if p >= 0 {
		c.pos++
	}
	return p
}

// onLink decodes one RTM_NEWLINK in place into the next slot of dst.Links.
func (c *client) onLink(m nl.Message) error {
	pos := c.nextPos()
	if m.Type != unix.RTM_NEWLINK {
		return &nl.ReplyError{Op: "RTM_GETLINK dump", Msg: fmt.Sprintf("message type %d, want RTM_NEWLINK", m.Type)}
	}
	dst := c.dst
	if c.q.byKind && !c.q.matchKind(peekKind(m.Data)) {
		if len(m.Data) >= sizeofIfInfomsg {
			dst.skipped = append(dst.skipped, int32(binary.NativeEndian.Uint32(m.Data[4:])))
		}
		return nil
	}
	links := dst.Links
	if c.n < cap(links) {
		links = links[:c.n+1]
	} else {
		links = append(links[:c.n], Link{})
	}
	dst.Links = links
	l := &links[c.n]
	if err := decodeLink(m.Data, l); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Index = pos
		}
		return err
	}
	if !c.q.match(l) {
		// Unreachable for kind (peeked above); kept for name/index.
		dst.skipped = append(dst.skipped, l.Index)
		return nil
	}
	c.n++
	return nil
}

// finishFull completes a full read of c.n links into dst.
func (c *client) finishFull(dst *Snapshot) {
	dst.Links = dst.Links[:c.n]
	if !slices.IsSortedFunc(dst.Links, cmpIndex) {
		slices.SortFunc(dst.Links, cmpIndex)
	}
	// skipped: sorted, once each, and none of the selected links (the
	// census saw every link).
	slices.Sort(dst.skipped)
	dst.skipped = slices.Compact(dst.skipped)
	if c.censusLen > 0 {
		w, j := 0, 0
		for _, idx := range dst.skipped {
			for j < len(dst.Links) && dst.Links[j].Index < idx {
				j++
			}
			if j < len(dst.Links) && dst.Links[j].Index == idx {
				continue
			}
			dst.skipped[w] = idx
			w++
		}
		dst.skipped = dst.skipped[:w]
	}
	if cap(dst.seen) < len(dst.Links) {
		dst.seen = make([]uint32, len(dst.Links), cap(dst.Links))
	}
	dst.seen = dst.seen[:len(dst.Links)]
	clear(dst.seen)
	dst.gen = 0
	now := time.Now()
	dst.Time, dst.ParamsTime = now, now
}

// getOneLocked reads the one link dst.q names with a plain RTM_GETLINK.
func (c *client) getOneLocked(ctx context.Context, dst *Snapshot) error {
	q := &dst.q
	c.req = append(c.req[:0], make([]byte, sizeofIfInfomsg)...)
	if q.byIndex {
		binary.NativeEndian.PutUint32(c.req[4:], uint32(q.index))
	} else {
		c.req = nl.AppendAttr(c.req, unix.IFLA_IFNAME, append([]byte(q.name), 0))
	}
	c.dst, c.q = dst, q
	defer func() { c.dst, c.q = nil, nil }()
	c.resetLinks()
	c.pos = -1 // a single reply
	err := c.conn.Request(ctx, "RTM_GETLINK", unix.RTM_GETLINK, 0, c.req, c.linkFn)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("vtistat: link with %s: %w (%w)", q, os.ErrNotExist, c.wrap(err))
		}
		return c.wrap(err)
	}
	if c.n == 0 && len(dst.skipped) == 0 {
		return fmt.Errorf("vtistat: link with %s: kernel replied without it: %w", q, os.ErrNotExist)
	}
	c.finishFull(dst)
	return nil
}

// pollOneLocked refreshes the counters of a single selected link.
func (c *client) pollOneLocked(ctx context.Context, dst *Snapshot) error {
	if len(dst.Links) != 1 {
		return c.fullLocked(ctx, dst, true)
	}
	c.req = statsRequest(c.req, dst.Links[0].Index)
	c.dst = dst
	defer func() { c.dst = nil }()
	c.resetStats()
	c.pos = -1 // a single reply
	err := c.conn.Request(ctx, "RTM_GETSTATS", unix.RTM_GETSTATS, 0, c.req, c.statFn)
	switch {
	case errors.Is(err, unix.ENODEV):
		return c.fullLocked(ctx, dst, true) // gone: find it again by name or index
	case isNoGetStats(err):
		c.noGetStats = true
		return c.fullLocked(ctx, dst, true)
	case err != nil:
		return c.wrap(err)
	case c.changed || c.matched != 1:
		return c.fullLocked(ctx, dst, true)
	}
	dst.Time = time.Now()
	return nil
}

// pollAllLocked refreshes the counters of every link in dst with one
// RTM_GETSTATS dump.
func (c *client) pollAllLocked(ctx context.Context, dst *Snapshot) error {
	c.req = statsRequest(c.req, 0)
	c.dst = dst
	defer func() { c.dst = nil }()
	err := c.conn.Dump(ctx, "RTM_GETSTATS dump", unix.RTM_GETSTATS, nl.FlagDump, c.req, c.statReset, c.statFn, &dst.Retries)
	if isNoGetStats(err) {
		c.noGetStats = true
		return c.fullLocked(ctx, dst, true)
	}
	if err != nil {
		if c.mayFallBack(err) {
			return c.fullLocked(ctx, dst, true)
		}
		return c.wrap(err)
	}
	if c.changed || c.matched != len(dst.Links) || c.skipSeen != len(dst.skipped) {
		return c.fullLocked(ctx, dst, true)
	}
	dst.Time = time.Now()
	return nil
}

// statsRequest builds a struct if_stats_msg asking for IFLA_STATS_LINK_64
// only, for one ifindex or (0) a dump.
func statsRequest(b []byte, index int32) []byte {
	b = append(b[:0], make([]byte, sizeofIfStatsMsg)...)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], filterBitLink64)
	return b
}

// isNoGetStats reports the error of a kernel without RTM_GETSTATS (before
// 4.7): rtnetlink_rcv_msg answers EOPNOTSUPP for a type it does not know.
func isNoGetStats(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP)
}

func (c *client) resetStats() {
	c.cur, c.matched, c.skipSeen, c.changed, c.pos = 0, 0, 0, false, 0
	d := c.dst
	d.gen++
	if d.gen == 0 { // wrapped: stale marks could collide
		clear(d.seen)
		d.gen = 1
	}
	if len(d.seen) != len(d.Links) {
		d.seen = append(d.seen[:0], make([]uint32, len(d.Links))...)
	}
}

// onStats stores one RTM_NEWSTATS message's counters in the dst link with
// the same ifindex. Both dumps walk the links in the same order, so the
// expected position is tried first and a binary search is the fallback.
func (c *client) onStats(m nl.Message) error {
	msgPos := c.nextPos()
	if m.Type != unix.RTM_NEWSTATS {
		return &nl.ReplyError{Op: "RTM_GETSTATS", Msg: fmt.Sprintf("message type %d, want RTM_NEWSTATS", m.Type)}
	}
	if len(m.Data) < sizeofIfStatsMsg {
		return &DecodeError{Message: "RTM_NEWSTATS", Index: msgPos, Err: fmt.Errorf("RTM_NEWSTATS payload of %d bytes is shorter than struct if_stats_msg (%d)", len(m.Data), sizeofIfStatsMsg)}
	}
	idx := int32(binary.NativeEndian.Uint32(m.Data[4:]))
	dst := c.dst
	links := dst.Links
	pos := -1
	if c.cur < len(links) && links[c.cur].Index == idx {
		pos = c.cur
	} else if i, ok := slices.BinarySearchFunc(links, idx, func(l Link, t int32) int { return cmp.Compare(l.Index, t) }); ok {
		pos = i
	}
	if pos < 0 {
		if _, ok := slices.BinarySearch(dst.skipped, idx); ok {
			c.skipSeen++
		} else {
			c.changed = true
		}
		return nil
	}
	c.cur = pos + 1
	l := &links[pos]
	a := nl.NewAttrs(m.Data[sizeofIfStatsMsg:], "RTM_NEWSTATS")
	found := false
	for a.Next() {
		if a.Type() == iflaStatsLink64 {
			decodeStats64(a.Data(), &l.Stats)
			l.StatsSource = Stats64Bit
			found = true
		}
	}
	if err := a.Err(); err != nil {
		return &DecodeError{Message: "RTM_NEWSTATS", Index: msgPos, IfIndex: idx, Name: l.Name, Err: err}
	}
	if !found {
		return &DecodeError{Message: "RTM_NEWSTATS", Index: msgPos, IfIndex: idx, Name: l.Name, Err: errors.New("RTM_NEWSTATS without IFLA_STATS_LINK_64")}
	}
	if dst.seen[pos] != dst.gen {
		dst.seen[pos] = dst.gen
		c.matched++
	}
	return nil
}

// wrap adds the namespace to an error.
func (c *client) wrap(err error) error {
	var de *DecodeError
	if errors.As(err, &de) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if c.target.IsZero() {
		return fmt.Errorf("vtistat: %w", err)
	}
	return fmt.Errorf("vtistat: %s: %w", c.target, err)
}

// mayFallBack reports whether err is rtnetlink being refused and the
// caller allowed the /proc/net/dev fallback (Config.ProcNetDevFallback).
func (c *client) mayFallBack(err error) bool {
	return c.fallback && errors.Is(err, os.ErrPermission)
}

// startFallback switches the client to /proc/net/dev of its namespace,
// for good: a kernel or policy that refused rtnetlink once will again.
func (c *client) startFallback(ctx context.Context, cause error) error {
	var (
		r   *procnet.NetDevReader
		err error
	)
	switch {
	case c.target.IsZero():
		r, err = procnet.FS{}.OpenNetDev(ctx)
	case c.target.PID != 0:
		// /proc/PID/net needs no setns, which seccomp may forbid too.
		r, err = procnet.FS{}.Proc(c.target.PID).OpenNetDev(ctx)
	default:
		err = c.ns.Do(func() error {
			var oerr error
			r, oerr = procnet.FS{}.ThreadSelf().OpenNetDev(ctx)
			return oerr
		})
	}
	if err != nil {
		return fmt.Errorf("vtistat: %s: rtnetlink refused (%w) and /proc/net/dev fallback failed: %w", c.target, cause, err)
	}
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	c.proc = r
	c.fallbackErr = cause
	return nil
}

// readProcLocked fills dst from /proc/net/dev. Only name selection works:
// the file has no kinds and no ifindexes. Each link's Dev points at its
// line in dst.devs; Stats stays zero (see Link.Dev).
func (c *client) readProcLocked(ctx context.Context, dst *Snapshot) error {
	q := &dst.q
	if q.byKind || q.byIndex {
		return fmt.Errorf("vtistat: select by %s: %w: /proc/net/dev has no link kinds or indexes (rtnetlink refused: %v)", q, ErrNotSupported, c.fallbackErr)
	}
	devs, err := c.proc.Read(ctx, dst.devs)
	dst.devs = devs
	if err != nil {
		return fmt.Errorf("vtistat: %s: /proc/net/dev fallback: %w", c.target, err)
	}
	n := 0
	for i := range devs {
		d := &devs[i]
		if q.byName && d.Name != q.name {
			continue
		}
		if n < cap(dst.Links) {
			dst.Links = dst.Links[:n+1]
		} else {
			dst.Links = append(dst.Links[:n], Link{})
		}
		dst.Links[n] = Link{Name: d.Name, LinkNetNSID: -1, StatsSource: StatsProcNet, Dev: d}
		n++
	}
	if q.byName && n == 0 {
		return fmt.Errorf("vtistat: link with %s: not in /proc/net/dev: %w", q, os.ErrNotExist)
	}
	dst.Links = dst.Links[:n]
	dst.skipped = dst.skipped[:0]
	now := time.Now()
	dst.Time, dst.ParamsTime = now, now
	return nil
}

// rtnlgrpLink is RTNLGRP_LINK, the link notifications' multicast group.
const rtnlgrpLink = 1

type subscription struct {
	conn   *nl.Conn
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *client) subscribe(ctx context.Context) (*subscription, error) {
	// The socket is opened under the lock: Close must not release the
	// namespace descriptor while it is being entered.
	c.mu.Lock()
	closed := c.closed
	var conn *nl.Conn
	var err error
	if !closed {
		conn, err = nl.Dial(unix.NETLINK_ROUTE, c.ns.FD, 0)
	}
	c.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("vtistat: subscribe: %w", os.ErrClosed)
	}
	if err != nil {
		return nil, fmt.Errorf("vtistat: subscribe to link notifications: %w", err)
	}
	if err := conn.NetlinkConn().JoinGroup(rtnlgrpLink); err != nil {
		conn.Close()
		return nil, fmt.Errorf("vtistat: join RTNLGRP_LINK: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	return &subscription{conn: conn, ctx: sctx, cancel: cancel}, nil
}

func (s *subscription) receive(fn func(LinkChange) error) error {
	return s.conn.Receive(s.ctx, func(m nl.Message) error {
		switch m.Type {
		case nl.TypeOverrun:
			return fn(LinkChange{Lost: true})
		case unix.RTM_NEWLINK, unix.RTM_DELLINK:
			return fn(decodeLinkChange(m.Type == unix.RTM_DELLINK, m.Data))
		}
		return nil // another message of the group: not a link's
	})
}

func (s *subscription) close() error {
	s.cancel() // unblocks a running Receive, which holds the socket
	return s.conn.Close()
}
