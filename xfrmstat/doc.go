// Package xfrmstat reads the state of Linux IPsec (XFRM) over netlink: the
// SAs, the policies, the SPD and SAD summaries, the event stream, and the
// XFRM MIB of the same network namespace. It is what ip-xfrm(8) shows,
// decoded into Go values fast enough to poll large tables. The README's
// background section explains policies, SAs, lifetimes and ACQUIREs.
//
// # What it reads
//
// Client.SAs and Client.Policies dump the SAD and the SPD. An SA is one
// direction of one tunnel, identified by destination, SPI and protocol,
// with its mode, selector, algorithms (names and key lengths), lifetimes,
// per-SA error Stats and anti-replay state (Replay); a Policy has its
// selector, direction, action, templates and lifetimes. In a
// LifetimeConfig, math.MaxUint64 means no limit and 0 seconds means none.
// SPDInfo and SADInfo are one cheap request each, unlike a dump;
// PolicyDefaults says what happens to packets no policy matches. Subscribe
// delivers the kernel's XFRM notifications (Event), and MIB reads
// /proc/net/xfrm_stat of the Client's namespace.
//
// # Key material
//
// The kernel sends SA keys in every SA dump and SA notification. This
// package never copies them: the decoders read each algorithm's name and key
// length and stop before the key, so key bytes are in no field, no error,
// no String or fmt output and no JSON, and an SA decodes identically
// whatever its key. Algorithm has no key field and never will. This is a
// promise of the package, checked by tests on real kernel messages with
// known keys.
//
// # Namespaces and permissions
//
// XFRM state is per network namespace. Config.NetNS selects one by name
// (ip netns), path, file descriptor or process; everything a Client reads
// (dumps, info, events, and the MIB from /proc/net/xfrm_stat) comes from that
// namespace. Dial resolves it once and keeps a descriptor of its own (a file
// descriptor given is duplicated), so the caller may close theirs after
// Dial. The kernel demands CAP_NET_ADMIN over the namespace for every
// XFRM netlink request, reads included; without it errors match
// os.ErrPermission. A kernel without the xfrm_user module gives
// ErrNotSupported, as does every call on other operating systems.
//
// # Errors
//
// The errors are those of package vtistat, under the same names and with
// the same values: ErrNotSupported (also procnet's), ErrDumpInterrupted
// (after Config.DumpRetries restarts: 0 means 10, negative none), ErrOverrun
// and ErrTruncated; and the standard library's for the rest: a read after
// Close matches os.ErrClosed, a refused request os.ErrPermission, a
// namespace that does not exist os.ErrNotExist. A message that cannot be
// decoded is a *DecodeError, whose Message and Index (the position in the
// dump) mean what they mean in vtistat.
//
// # One way to do each thing
//
//	Client.SAs, Client.Policies       dump the SAD and the SPD
//	Client.SPDInfo, Client.SADInfo    their sizes, one cheap request each
//	Client.PolicyDefaults             what happens to packets no policy matches
//	Client.MIB                        /proc/net/xfrm_stat of the Client's namespace
//	Client.Subscribe, Receive         the event stream
//
// SAs takes filters, plain values built by ByProto, BySrc, ByDst and
// ByFamily (the pattern of vtistat.LinkFilter). The kernel applies them
// (XFRMA_ADDRESS_FILTER, XFRMA_PROTO), so unwanted SAs are never copied to
// user space.
//
// # Polling without allocating
//
// Caller-owned storage is passed the same way throughout the module: a call
// that can reuse memory takes its destination as an argument and has no
// allocating twin. SAs and Policies take a slice, overwrite it from its
// first element up to its capacity (what its elements point to included)
// and return it; MIB takes a *procnet.XfrmStat and overwrites it. Pass nil
// (or a zero value) to start, and the previous result on the next call:
// with the same SAs and policies, a poll allocates nothing, however large
// the tables. To keep the previous poll for comparison, alternate between
// two slices.
package xfrmstat
