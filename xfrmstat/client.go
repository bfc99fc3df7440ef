package xfrmstat

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/tunnelstat/tunnelstat/internal/errs"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// ErrNotSupported reports that this system cannot answer: not Linux, the
// xfrm_user module is absent (EPROTONOSUPPORT), the kernel is too old for a
// request, or /proc/net/xfrm_stat does not exist (CONFIG_XFRM_STATISTICS
// off). The error wrapping it says which.
//
// It is the same value as procnet.ErrNotSupported and
// vtistat.ErrNotSupported: one errors.Is test covers all three packages.
var ErrNotSupported = errs.ErrNotSupported

// Errors a read can return, comparable with errors.Is. None of them comes
// with a partial result. vtistat exports the same values under the same
// names: one errors.Is test covers both packages.
//
// Other failures match the standard library's errors, in this package as in
// vtistat and procnet: a read after Close matches os.ErrClosed, a refused
// request (EPERM, EACCES) os.ErrPermission, a namespace that does not exist
// (Config.NetNS) os.ErrNotExist.
var (
	// ErrDumpInterrupted: the table kept changing while it was dumped
	// (NLM_F_DUMP_INTR) on every one of the attempts Config.DumpRetries
	// allows. The XFRM dumps resume from a position marker the kernel keeps
	// in its SA and policy lists, and the kernels tested here did not set
	// the flag even with the tables changing during a dump; the check
	// guards against one that does.
	ErrDumpInterrupted = nl.ErrDumpInterrupted
	// ErrOverrun: the socket's receive queue overflowed (ENOBUFS) and the
	// kernel dropped part of the reply. (A Subscription reports its own
	// overflow as an EventsLost event, not as this error.)
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
	// NetNS selects the network namespace to read. XFRM state is per
	// namespace: SAs, policies, SPD/SAD info, events and the MIB all come
	// from this one.
	NetNS NetNS

	// DumpRetries bounds how many times a dump that the kernel marks as
	// interrupted by concurrent changes (NLM_F_DUMP_INTR) is started again
	// before the read fails with ErrDumpInterrupted. 0 means the default
	// (10); a negative value means no retry: the first interrupted dump
	// fails.
	DumpRetries int
}

// SAFilter narrows an SA dump. The kernel applies it (XFRMA_ADDRESS_FILTER,
// XFRMA_PROTO), so SAs that do not match are never copied to user space.
// Filters given together must all match. Build them with ByProto, BySrc,
// ByDst and ByFamily.
type SAFilter struct {
	kind   uint8
	proto  uint8
	family uint16
	prefix netip.Prefix
}

const (
	filterProto = iota + 1
	filterSrc
	filterDst
	filterFamily
)

// ByProto keeps SAs of one IPsec protocol: 50 (ESP), 51 (AH) or 108
// (IPComp); 255 (IPSEC_PROTO_ANY) keeps ESP, AH and IPComp.
func ByProto(proto uint8) SAFilter { return SAFilter{kind: filterProto, proto: proto} }

// BySrc keeps SAs whose source address is in p. It implies ByFamily of p.
func BySrc(p netip.Prefix) SAFilter { return SAFilter{kind: filterSrc, prefix: p} }

// ByDst keeps SAs whose destination address is in p. It implies ByFamily
// of p.
func ByDst(p netip.Prefix) SAFilter { return SAFilter{kind: filterDst, prefix: p} }

// ByFamily keeps SAs of one address family: AF_INET (2) or AF_INET6 (10).
func ByFamily(family uint16) SAFilter { return SAFilter{kind: filterFamily, family: family} }

// saFilterRequest is the dump request payload the filters make: attributes
// only (the kernel parses the GETSA dump request with no fixed header).
func saFilterRequest(b []byte, filters []SAFilter) ([]byte, error) {
	var (
		proto             uint8
		family            uint16
		src, dst          netip.Prefix
		haveProto, haveAF bool
	)
	setFamily := func(f uint16) error {
		if haveAF && family != f {
			return fmt.Errorf("xfrmstat: SA filters mix address families %d and %d", family, f)
		}
		family, haveAF = f, true
		return nil
	}
	for _, f := range filters {
		switch f.kind {
		case filterProto:
			if haveProto && proto != f.proto {
				return nil, fmt.Errorf("xfrmstat: two different ByProto filters (%d, %d)", proto, f.proto)
			}
			proto, haveProto = f.proto, true
		case filterSrc, filterDst:
			if !f.prefix.IsValid() {
				return nil, fmt.Errorf("xfrmstat: invalid prefix %v in an SA filter", f.prefix)
			}
			fam := uint16(xfrm.AFInet)
			if f.prefix.Addr().Is6() && !f.prefix.Addr().Is4In6() {
				fam = xfrm.AFInet6
			} else if f.prefix.Addr().Is4In6() {
				return nil, fmt.Errorf("xfrmstat: SA filter prefix %v is IPv4-mapped IPv6; use the IPv4 form", f.prefix)
			}
			if err := setFamily(fam); err != nil {
				return nil, err
			}
			p := &src
			if f.kind == filterDst {
				p = &dst
			}
			if p.IsValid() && *p != f.prefix {
				return nil, fmt.Errorf("xfrmstat: two different address filters (%v, %v); the kernel takes one source and one destination prefix", *p, f.prefix)
			}
			*p = f.prefix
		case filterFamily:
			if f.family != xfrm.AFInet && f.family != xfrm.AFInet6 {
				return nil, fmt.Errorf("xfrmstat: ByFamily(%d): want AF_INET (2) or AF_INET6 (10)", f.family)
			}
			if err := setFamily(f.family); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("xfrmstat: zero SAFilter; build filters with ByProto, BySrc, ByDst or ByFamily")
		}
	}
	if haveAF {
		var af [xfrm.SizeofAddressFilter]byte
		putPrefix := func(at, lenAt int, p netip.Prefix) {
			if !p.IsValid() {
				return
			}
			if p.Addr().Is4() {
				a := p.Addr().As4()
				copy(af[at:], a[:])
			} else {
				a := p.Addr().As16()
				copy(af[at:], a[:])
			}
			af[lenAt] = uint8(p.Bits())
		}
		putPrefix(xfrm.FilterSaddr, xfrm.FilterSplen, src)
		putPrefix(xfrm.FilterDaddr, xfrm.FilterDplen, dst)
		ne.PutUint16(af[xfrm.FilterFamily:], family)
		b = nl.AppendAttr(b, xfrm.AttrAddressFilter, af[:])
	}
	if haveProto {
		b = nl.AppendAttr(b, xfrm.AttrProto, []byte{proto})
	}
	return b, nil
}

// Client reads the XFRM state of one network namespace over a NETLINK_XFRM
// socket. Every read needs CAP_NET_ADMIN in the namespace's owning user
// namespace (the kernel checks it even for dumps); without it errors match
// os.ErrPermission. A Client is safe for concurrent use: requests are
// serialised on its socket.
type Client struct {
	c *client
}

// Dial opens a Client on the namespace cfg selects (nil: the caller's). On
// a kernel without XFRM netlink (the xfrm_user module absent), and on other
// systems than Linux, the error matches ErrNotSupported. A namespace that
// does not exist gives an error matching os.ErrNotExist.
func Dial(cfg *Config) (*Client, error) {
	c, err := dial(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Close releases the Client's socket and its namespace descriptor. Reads
// after Close fail with an error matching os.ErrClosed. Closing twice
// returns nil. Subscriptions made from it keep working until closed
// themselves.
func (c *Client) Close() error { return c.c.close() }

// SAs dumps the SAs (the security association database, SAD) that match
// every filter, with their lifetimes, counters and replay state. Larval SAs
// that an ACQUIRE created (proto set, SPI 0 until the key manager allocates
// one, no algorithms) are included.
//
// The SAs are decoded into dst's storage, as every destination in this
// module: dst[:cap(dst)] is overwritten from its first element, including
// what its SAs point to (marks, replay states, algorithms and their names
// when unchanged), and the result returned. Pass nil for fresh storage, and
// the previous result to poll the same SAs again without allocating. The
// result shares dst's backing array: to compare two polls, alternate between
// two slices. On error the result is empty.
func (c *Client) SAs(ctx context.Context, dst []SA, filters ...SAFilter) ([]SA, error) {
	return c.c.sasInto(ctx, dst[:0], filters)
}

// Policies dumps the security policy database (SPD): every policy of every
// direction and type, socket policies included (Dir DirSocketIn and
// DirSocketOut). The kernel has no filter for policy dumps. The policies
// are decoded into dst's storage, templates and marks included, as in SAs:
// pass nil for fresh storage, the previous result to poll.
func (c *Client) Policies(ctx context.Context, dst []Policy) ([]Policy, error) {
	return c.c.policiesInto(ctx, dst[:0])
}

// SPDInfo returns the policy counts per direction and the SPD hash table
// sizes and thresholds (XFRM_MSG_GETSPDINFO).
func (c *Client) SPDInfo(ctx context.Context) (SPDInfo, error) { return c.c.spdInfo(ctx) }

// SADInfo returns the SA count and the SAD hash table sizes
// (XFRM_MSG_GETSADINFO).
func (c *Client) SADInfo(ctx context.Context) (SADInfo, error) { return c.c.sadInfo(ctx) }

// PolicyDefaults returns what the kernel does with packets that match no
// policy, per direction (XFRM_MSG_GETDEFAULT). Kernels before 5.16 have no
// default policy: the error then matches ErrNotSupported, and the behaviour
// is DefaultAccept.
func (c *Client) PolicyDefaults(ctx context.Context) (PolicyDefaults, error) {
	return c.c.policyDefaults(ctx)
}

// MIB reads /proc/net/xfrm_stat of the Client's namespace into dst: the
// XFRM error counters (XfrmInNoStates, XfrmOutPolBlock, …), overwritten
// with dst's storage reused. The file is opened once, inside the namespace,
// and read again on every call: once dst has held the same counters, MIB
// allocates nothing. It is the way to read the MIB of a namespace selected
// as the Client's is (by name, path, descriptor or process); package
// procnet reads the caller's own, or that of a process through /proc/PID. A
// kernel built without CONFIG_XFRM_STATISTICS has no such file: the error
// then matches ErrNotSupported (the same value as procnet.ErrNotSupported)
// and os.ErrNotExist.
func (c *Client) MIB(ctx context.Context, dst *procnet.XfrmStat) error {
	if dst == nil {
		return errors.New("xfrmstat: MIB into a nil *procnet.XfrmStat")
	}
	return c.c.mibInto(ctx, dst)
}

// Subscribe joins the multicast groups and returns once the kernel will
// deliver their events to the subscription: anything that happens after
// Subscribe returns is seen. The subscription ends when ctx is done or on
// Close. Read it with Receive.
func (c *Client) Subscribe(ctx context.Context, groups Group) (*Subscription, error) {
	if groups == 0 || groups&^GroupAll != 0 {
		return nil, fmt.Errorf("xfrmstat: subscribe: group set %#x is empty or has unknown bits", uint32(groups))
	}
	s, err := c.c.subscribe(ctx, groups)
	if err != nil {
		return nil, err
	}
	return &Subscription{s: s}, nil
}

// Subscription is a stream of XFRM events from one namespace.
type Subscription struct {
	s *subscription
}

// Receive calls fn for each event, in the order the kernel sent them, until
// the subscription's context is done (it then returns that context's
// error), Close is called, fn returns an error (returned as is), or the
// socket fails. A message that cannot be decoded is delivered as an
// *UnknownEvent with Err set, not dropped. Events that arrive while fn runs
// wait in the socket's buffer; if it overflows the kernel drops them, and
// fn receives an *EventsLost.
//
// Receive is the one way to read a subscription. To hand events to another
// goroutine, send them on a channel from fn:
//
//	go func() { errc <- sub.Receive(func(ev xfrmstat.Event) error { ch <- ev; return nil }) }()
func (s *Subscription) Receive(fn func(Event) error) error {
	if fn == nil {
		return errors.New("xfrmstat: Receive with a nil function")
	}
	return s.s.receive(fn)
}

// Close ends the subscription and releases its socket.
func (s *Subscription) Close() error { return s.s.close() }
