package vtistat

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tunnelstat/tunnelstat/internal/errs"
	"github.com/tunnelstat/tunnelstat/internal/nl"
)

// ErrNotSupported reports that this system cannot answer: not Linux (no
// rtnetlink), or a selection the /proc/net/dev fallback cannot honour (by
// kind or index). The error wrapping it says which.
//
// It is the same value as procnet.ErrNotSupported and
// xfrmstat.ErrNotSupported: one errors.Is test covers all three packages.
var ErrNotSupported = errs.ErrNotSupported

// Errors a read can return, comparable with errors.Is. None of them comes
// with a partial result. xfrmstat exports the same values under the same
// names: one errors.Is test covers both packages.
//
// Other failures match the standard library's errors, in this package as in
// xfrmstat and procnet: a read after Close matches os.ErrClosed, a refused
// request (EPERM, EACCES) os.ErrPermission, a namespace that does not exist
// (Config.NetNS) os.ErrNotExist.
var (
	// ErrDumpInterrupted: the table kept changing while it was dumped
	// (NLM_F_DUMP_INTR) on every one of the attempts Config.DumpRetries
	// allows.
	ErrDumpInterrupted = nl.ErrDumpInterrupted
	// ErrOverrun: the socket's receive queue overflowed (ENOBUFS) and the
	// kernel dropped part of the reply.
	ErrOverrun = nl.ErrOverrun
	// ErrTruncated: a reply did not fit the receive buffer.
	ErrTruncated = nl.ErrTruncated
)

// NetNS selects the network namespace a Client reads. The zero value is the
// caller's own namespace. Set at most one field.
//
// Dial resolves the selection once: a Name, Path or PID is opened at Dial,
// and an FD is duplicated at Dial. The Client keeps its own descriptor until
// Close, so the caller may close theirs as soon as Dial returns, and a
// namespace name removed (ip netns delete) later does not affect the Client.
type NetNS struct {
	Name string // a namespace made by ip-netns(8): /run/netns/NAME
	Path string // a namespace file: /proc/PID/ns/net, a bind mount …
	FD   int    // an open namespace file descriptor (> 0), duplicated at Dial
	PID  int    // the namespace of a process (/proc/PID/ns/net)
}

// Config configures a Client. The zero value (or a nil *Config) reads the
// caller's namespace with the defaults.
type Config struct {
	NetNS NetNS

	// DumpRetries bounds how many times a dump that the kernel marks as
	// interrupted by concurrent changes (NLM_F_DUMP_INTR) is started again
	// before the read fails with ErrDumpInterrupted. 0 means the default
	// (10); a negative value means no retry: the first interrupted dump
	// fails.
	DumpRetries int

	// ProcNetDevFallback lets the Client read /proc/net/dev of the same
	// namespace when the kernel refuses rtnetlink (EPERM or EACCES from
	// seccomp, SELinux or a patched kernel). It is off by default: a
	// refusal is then returned, as an error matching os.ErrPermission.
	//
	// With it, every link read from the file says so (Link.StatsSource is
	// StatsProcNet), carries the file's line in Link.Dev and has zero Stats:
	// the file prints sums of several kernel counters, which no field of
	// Stats64 may hold. Client.FallbackReason returns the refusal. See the
	// package documentation, "When netlink is refused".
	ProcNetDevFallback bool
}

// Client reads links, their tunnel parameters and their counters from one
// network namespace. It is safe for concurrent use; calls are serialised.
type Client struct {
	c *client
}

// Dial opens a Client: an rtnetlink socket in the configured namespace. If
// the kernel refuses rtnetlink, Dial fails with an error matching
// os.ErrPermission, unless Config.ProcNetDevFallback is set: the Client then
// reads /proc/net/dev of that namespace instead, and FallbackReason says
// why. A namespace that does not exist gives an error matching
// os.ErrNotExist; on other systems than Linux the error matches
// ErrNotSupported.
func Dial(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c, err := dial(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Close releases the socket and the Client's namespace descriptor. Reads
// after Close fail with an error matching os.ErrClosed. Closing twice
// returns nil.
func (c *Client) Close() error { return c.c.close() }

// Snapshot reads the links that match every filter, with their parameters
// and counters, into dst. It is the one way to read links, once or in a
// loop. Without filters it reads all links of the namespace with one full
// RTM_GETLINK dump; ByName and ByIndex ask the kernel for that one link, and
// if it does not exist the error matches os.ErrNotExist.
//
// dst is overwritten and its storage reused, as every destination in this
// module: once dst has held the same links, Snapshot allocates nothing per
// link. Pass a zero Snapshot to start. The filters are remembered in dst for
// PollStats. On error dst holds no links.
//
// A full dump costs the kernel about five times what a stats-only dump costs
// (it builds every attribute of every link). Use Snapshot when you need
// fresh parameters, and PollStats for the counters in between.
func (c *Client) Snapshot(ctx context.Context, dst *Snapshot, filters ...LinkFilter) error {
	if dst == nil {
		return errNilSnapshot
	}
	return c.c.snapshot(ctx, dst, newQuery(filters), true)
}

var errNilSnapshot = errors.New("vtistat: read into a nil *Snapshot")

// PollStats refreshes only the counters of the links in dst, with an
// RTM_GETSTATS dump that asks for nothing but IFLA_STATS_LINK_64: the
// cheapest way the kernel offers to read every link's counters, and the
// one a polling loop should use.
//
// Parameters (names, kinds, tunnel parameters, MTU, flags, operational
// state) stay as the last full dump read them; dst.ParamsTime says when. When
// the set of links changed (a new ifindex, or one of dst's links vanished),
// or dst holds no full dump yet, PollStats does a full dump instead, with the
// selection dst was taken with; then ParamsTime equals Time. A renamed link,
// or a changed parameter, is seen only by the next full dump: call Snapshot
// now and then if you need them fresh.
//
// PollStats takes no options: it selects the links dst was taken with. For
// the /proc/net/dev fallback it reads that file again. On error dst holds no
// links.
func (c *Client) PollStats(ctx context.Context, dst *Snapshot) error {
	if dst == nil {
		return errNilSnapshot
	}
	return c.c.pollStats(ctx, dst)
}

// FallbackReason returns the rtnetlink error that made the Client read
// /proc/net/dev instead, or nil while it uses rtnetlink. It is always nil
// without Config.ProcNetDevFallback.
func (c *Client) FallbackReason() error { return c.c.fallbackReason() }

// LinkFilter selects links in Snapshot (and, remembered in the Snapshot,
// in PollStats). Build filters with ByKind, ByName and ByIndex; filters
// given together must all match. A LinkFilter is a plain value: build it
// once and pass it on every call. xfrmstat.SAFilter works the same way.
type LinkFilter struct {
	by    uint8
	kinds []string
	name  string
	index int32
}

const (
	filterKind = iota + 1
	filterName
	filterIndex
)

// ByKind keeps links whose IFLA_INFO_KIND is one of kinds ("vti", "gre" …;
// TunnelKinds lists every tunnel kind). With a single kind, and a kernel with
// strict dump checking (4.20+), the kernel filters the dump itself;
// otherwise links are filtered as they are decoded. ByKind("") keeps links
// without a kind (lo, physical NICs). Two ByKind filters keep the links of
// either's kinds.
func ByKind(kinds ...string) LinkFilter {
	return LinkFilter{by: filterKind, kinds: slices.Clone(kinds)}
}

// ByName keeps the link with this name: one RTM_GETLINK request, not a dump.
// Two ByName filters with different names are an error, as are two
// different ByIndex filters.
func ByName(name string) LinkFilter { return LinkFilter{by: filterName, name: name} }

// ByIndex keeps the link with this ifindex: one RTM_GETLINK request, not a
// dump.
func ByIndex(index int32) LinkFilter { return LinkFilter{by: filterIndex, index: index} }

// query is a selection of links.
type query struct {
	kinds   []string
	byKind  bool
	name    string
	byName  bool
	index   int32
	byIndex bool
	bad     string // why the filters cannot be used; "" if they can
}

func newQuery(filters []LinkFilter) query {
	var q query
	for _, f := range filters {
		switch f.by {
		case filterKind:
			q.kinds, q.byKind = append(q.kinds, f.kinds...), true
		case filterName:
			if q.byName && q.name != f.name {
				q.bad = fmt.Sprintf("two different ByName filters (%q, %q)", q.name, f.name)
			}
			q.name, q.byName = f.name, true
		case filterIndex:
			if q.byIndex && q.index != f.index {
				q.bad = fmt.Sprintf("two different ByIndex filters (%d, %d)", q.index, f.index)
			}
			q.index, q.byIndex = f.index, true
		default:
			q.bad = "zero LinkFilter; build filters with ByKind, ByName or ByIndex"
		}
	}
	return q
}

func (q *query) clone() query {
	c := *q
	c.kinds = slices.Clone(q.kinds)
	return c
}

// String describes the selection for error messages.
func (q *query) String() string {
	s := ""
	add := func(p string) {
		if s != "" {
			s += ", "
		}
		s += p
	}
	if q.byName {
		add(fmt.Sprintf("name %q", q.name))
	}
	if q.byIndex {
		add(fmt.Sprintf("index %d", q.index))
	}
	if q.byKind {
		add(fmt.Sprintf("kind %q", q.kinds))
	}
	if s == "" {
		return "all links"
	}
	return s
}

// LinkChange is one link notification of the namespace: a link was added
// or changed (its state, flags, MTU, name or parameters: RTM_NEWLINK), or
// deleted (RTM_DELLINK). The kernel sends none when only counters move.
type LinkChange struct {
	// Deleted is true for RTM_DELLINK.
	Deleted bool
	// Index and Name are the link's, as the notification gave them (Name
	// "" if it gave none).
	Index int32
	Name  string
	// Lost is true when the kernel dropped notifications because the
	// subscription's socket buffer was full: every link may have changed
	// since the last one received. Index and Name are then zero.
	Lost bool
}

// Subscribe joins the namespace's link notifications (RTNLGRP_LINK) and
// returns once the kernel will deliver them: a change after Subscribe
// returns is seen. A program that polls counters with PollStats, which
// keeps the parameters of the last full dump, takes a Snapshot when a
// change arrives. The subscription ends when ctx is done or on Close.
func (c *Client) Subscribe(ctx context.Context) (*Subscription, error) {
	s, err := c.c.subscribe(ctx)
	if err != nil {
		return nil, err
	}
	return &Subscription{s: s}, nil
}

// Subscription is a stream of link notifications from one namespace.
type Subscription struct {
	s *subscription
}

// Receive calls fn for each notification, in the order the kernel sent
// them, until the subscription's context is done (it returns that
// context's error), Close is called, fn returns an error (returned as is)
// or the socket fails. A notification too short to name its link is
// delivered with Index 0, never dropped.
func (s *Subscription) Receive(fn func(LinkChange) error) error {
	if fn == nil {
		return errors.New("vtistat: Receive with a nil function")
	}
	return s.s.receive(fn)
}

// Close ends the subscription and releases its socket.
func (s *Subscription) Close() error { return s.s.close() }
