// Package vtistat reads tunnel links (vti, vti6, xfrm, gre, ipip, sit, ip6tnl …),
// their parameters and their full rtnl_link_stats64 counters over rtnetlink.
//
// # What it reads
//
// A Link is one network interface of a namespace: index, name, alias, kind,
// flags, operational state, MTU, underlay and every rtnl_link_stats64 field
// kept apart (tx_carrier_errors apart from tx_aborted_errors, which
// /proc/net/dev adds up; package explain says what each means per kind).
// Stats blocks of any size are accepted: fields an older kernel does not
// send are zero, fields a newer one adds are ignored. Only where a kernel
// sends no 64-bit block is the 32-bit IFLA_STATS used, and Link.StatsSource
// then says Stats32Bit (those counters wrap at 2^32). For vti, vti6, xfrm,
// gre, gretap, ip6gre, ip6gretap, ipip, sit and ip6tnl the tunnel's
// parameters are decoded into Link.Tunnel, keys in host order ("ikey 10" is
// IKey 10); any other kind keeps its kind string and a nil Tunnel.
//
// # Snapshots, stats polls and deltas
//
// Client.Snapshot sends one RTM_GETLINK dump: every attribute of every link.
// Client.PollStats sends one RTM_GETSTATS dump of IFLA_STATS_LINK_64 alone,
// far cheaper; it reads the parameters again by itself when links appear or
// vanish, but sees no change of name, state or tunnel parameters: take a
// Snapshot now and then. Both decode into a caller-owned Snapshot and,
// once it has held the same links, allocate nothing per link (with a
// context that cannot be cancelled, nothing at all). As everywhere in this
// module, a call that can reuse memory takes its destination as an argument
// (a *Snapshot, a *Delta) and has no allocating twin. Alternate two
// Snapshots and compute deltas with Diff: a link deleted and created again
// under the same name, or a counter that went down, is a reset, never a
// negative or huge count (LinkDelta.DecreasedFields names the counters).
// A link is the same link when its ifindex and kind are, so a rename goes
// on counting (LinkDelta.PrevName); procnet.DiffNetDev and package explain
// pair links by the same rule. Stats64.All yields every counter by its
// kernel name (StatsFieldNames lists them).
//
// Snapshot takes filters, plain values built by ByKind, ByName and ByIndex
// (the pattern of xfrmstat.SAFilter), and PollStats keeps them. With one
// kind and a kernel that checks dump requests strictly (4.20+), the kernel
// filters the dump itself; a name or an index is one RTM_GETLINK request,
// not a dump. No request asks for VF information (IFLA_EXT_MASK with
// RTEXT_FILTER_VF), which holds the kernel's RTNL lock on hosts with many
// VFs.
//
// # WireGuard
//
// wireguard is one of TunnelKinds: its links, kinds and counters are read
// like the others', with a nil Link.Tunnel, because the driver keeps its
// configuration out of RTM_NEWLINK. Client.WireGuardDevice reads one
// device's peers from the "wireguard" generic netlink family (public key,
// endpoint, allowed IPs, last handshake, bytes, keepalive) into a reused
// WireGuardDevice, joining the messages the kernel splits a large device
// into. The private key and the preshared keys, which the kernel sends in
// the same reply, are never copied into any value and are zeroed in the
// receive buffer.
//
// # Consistency and errors
//
// A dump the kernel marks NLM_F_DUMP_INTR (links changed meanwhile) is
// started again, up to Config.DumpRetries times, then ErrDumpInterrupted is
// returned. An overflowing socket (ENOBUFS, ErrOverrun) and a truncated
// reply (ErrTruncated) are errors too. A failed read never returns a
// partial list: the Snapshot is emptied. The package builds on every OS;
// off Linux, Dial returns an error wrapping ErrNotSupported, while
// DecodeLink and Diff are pure Go and work anywhere.
//
// # Namespaces and refusals
//
// Config.NetNS selects the network namespace (by name, path, file
// descriptor or process ID); Dial keeps a descriptor of its own, so the
// caller may close theirs after Dial. The socket is opened inside the
// namespace and stays bound to it, and nothing else in the process changes
// namespace.
//
// Where rtnetlink is refused (seccomp, SELinux, a patched kernel) the
// refusal is returned, matching os.ErrPermission: nothing falls back
// silently. A caller who would rather have less than nothing sets
// Config.ProcNetDevFallback: the Client then reads /proc/net/dev of the
// same namespace and says so on every result. Client.FallbackReason
// returns the refusal, and every Link has StatsSource StatsProcNet, Index
// 0, an empty Kind (unknown, not "none"), zero Stats and its line of the
// file in Link.Dev: the file's three sums are never stored in Stats64
// fields named for one kernel counter. Diff subtracts the lines into
// LinkDelta.Dev. Selecting by kind or index is then ErrNotSupported; by
// name works.
//
// The errors are those of package xfrmstat, under the same names and with
// the same values: ErrNotSupported (also procnet's), ErrDumpInterrupted
// (after Config.DumpRetries restarts: 0 means 10, negative none),
// ErrOverrun and ErrTruncated; a read after Close matches os.ErrClosed, a
// refused request os.ErrPermission, a namespace or a selected link that
// does not exist os.ErrNotExist. A message that cannot be decoded is a
// *DecodeError, whose Message and Index (the position in the dump) mean
// what they mean in xfrmstat.
package vtistat
