// Package xfrmstat reads the state of Linux IPsec (XFRM) over netlink: the
// SAs, the policies, the SPD and SAD summaries, the event stream, and the
// XFRM MIB of the same network namespace. It is what ip-xfrm(8) shows,
// decoded into Go values fast enough to poll large tables.
//
// # Policies and SAs
//
// The kernel does IPsec in two steps. A policy (security policy database,
// SPD) decides whether traffic needs IPsec: its Selector matches addresses,
// ports and protocol; its direction is out (sent), in (received) or fwd
// (routed through); its Action allows or blocks; and its Templates say
// which protection to apply (protocol ESP or AH, tunnel or transport mode,
// tunnel endpoints, a ReqID tying it to SAs). An SA (security association
// database, SAD) does the protecting: one direction of one tunnel,
// identified by destination, SPI and protocol, holding the algorithms,
// keys, counters and anti-replay state. Policies are long-lived
// configuration; SAs come and go with every IKE rekey.
//
// When an outbound packet matches a policy whose template no SA fulfils,
// the kernel counts XfrmOutNoStates in the MIB, drops the packet (with
// sysctl net.core.xfrm_larval_drop=1, the default), installs a larval SA
// (visible in SAs, counted by SADInfo) and sends an ACQUIRE (Acquire) asking
// the IKE daemon for a real one. An ACQUIRE nobody answers ends in a hard
// expire of the larval SA after net.core.xfrm_acq_expires seconds. Seeing
// that pair repeat is the signature of an IKE daemon that is down or cannot
// reach its peer.
//
// # Lifetimes, stats and replay state
//
// LifetimeConfig holds the limits: bytes, packets, seconds since added and
// seconds since first use, each soft (the kernel sends a soft SAExpire: time
// to rekey) and hard (the kernel deletes the SA or policy and sends a hard
// expire). math.MaxUint64 means no limit, 0 seconds means none.
// LifetimeCurrent is what was used: for SAs, bytes and packets carried and
// when the SA was added and first used; for policies the kernel counts no
// bytes or packets, only the add time and the last use time.
//
// Stats are per-SA error counters since the SA was added: IntegrityFailed
// (ICV check failed: wrong key, corruption), Replay (a sequence number seen
// before) and ReplayWindow (too old for the window). They reset with every
// rekey, since a rekey makes a new SA; the MIB counters
// (XfrmInStateProtoError, XfrmInStateSeqError) do not.
//
// Replay is the anti-replay state: the highest inbound sequence number
// (Seq), the last outbound one (OSeq) and, for extended sequence numbers
// (ESN, 64-bit), their high halves. An outbound SA whose OSeq approaches
// 2^32 without ESN must be rekeyed before it overflows
// (XfrmOutStateSeqError).
//
// # SPD and SAD info
//
// SPDInfo counts policies per direction, socket policies apart (IKE
// daemons install per-socket bypass policies so that their own packets are
// not encrypted), and reports the policy hash table's size and the prefix
// length thresholds: policies with selectors shorter than the threshold are
// not hashed but searched one by one on every lookup, so many broad policies
// make every packet slower. SADInfo counts SAs (larval ones included) and
// reports the SA hash size and its limit. Both are one cheap request each,
// unlike a dump; no other Go library exposes them.
//
// # Key material
//
// The kernel sends SA keys in every SA dump and SA notification. This
// package never copies them: the decoders read each algorithm's name and key
// length and stop before the key, so key bytes are in no field, no error,
// no String or fmt output and no JSON, and an SA decodes identically
// whatever its key. Algorithm has no key field and never will. This is a
// promise of the package, checked by tests on real kernel messages with
// known keys. (vishvananda/netlink, by contrast, returns and prints keys.)
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
// # Polling without allocating
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
