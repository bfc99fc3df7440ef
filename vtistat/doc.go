// Package vtistat reads tunnel links (vti, vti6, xfrm, gre, ipip, sit, ip6tnl …),
// their parameters and their full rtnl_link_stats64 counters over rtnetlink.
//
// # What it reads
//
// A Link is one network interface of a namespace: index, name, alias, kind,
// flags, operational state, MTU, underlay (IFLA_LINK and IFLA_LINK_NETNSID)
// and every field of struct rtnl_link_stats64 kept apart, rx_nohandler and
// rx_otherhost_dropped included. The kernel's stats struct has grown over the
// years (184, 192, 200 bytes); any size is accepted: fields an older kernel
// does not send are zero, fields a newer one adds are ignored. Only where a
// kernel sends no 64-bit block is the 32-bit IFLA_STATS used, and
// Link.StatsSource then says Stats32Bit (those counters wrap at 2^32).
//
// For vti, vti6, xfrm, gre, gretap, ip6gre, ip6gretap, ipip, sit and ip6tnl
// the tunnel's parameters are decoded into Link.Tunnel: outer addresses as
// netip.Addr, keys, marks, underlay, TTL, TOS, flags, encapsulation. Keys
// are in host order (the wire carries them big-endian): a vti created with
// "ikey 10" has IKey 10. Any other kind (veth, vxlan, wireguard …) keeps its
// kind string and a nil Tunnel.
//
// # What the counters mean on a tunnel
//
// The kernel counts the same field for different reasons per kind. In short
// (see the explain package for the full catalogue with kernel references):
//
//   - vti, vti6, xfrm (IPsec tunnels): tx_carrier_errors counts packets
//     that found no route, no IPsec policy or no SA, or whose SA does not fit
//     the tunnel (xfrm lookup or state check failed). collisions counts
//     packets routed back into the tunnel itself (a routing loop).
//     tx_aborted_errors counts packets IPsec output rejected after the lookup
//     (SA expired, sequence overflow, output error). tx_errors is the total of
//     those and of MTU and protocol drops. rx_errors with rx_dropped count
//     packets dropped inside IPsec input after they matched the tunnel
//     (unknown SPI, integrity failure, replay, policy check).
//   - gre, gretap, ip6gre, ip6gretap, ipip, sit, ip6tnl (ip_tunnel):
//     tx_carrier_errors counts failed route lookups to the peer, collisions
//     routing loops, tx_fifo_errors NBMA tunnels without a destination;
//     rx_crc_errors GRE checksum mismatches, rx_fifo_errors missing or old
//     GRE sequence numbers, rx_frame_errors ECN decapsulation errors,
//     rx_length_errors short packets.
//
// /proc/net/dev folds tx_carrier, tx_aborted, tx_window and tx_heartbeat
// errors into one "carrier" column, so from that file a VTI whose policy
// lookup fails cannot be told from one whose IPsec output fails. The
// netlink counters this package reads keep them apart.
//
// # Full dump or stats poll
//
// Client.Snapshot sends one RTM_GETLINK dump: every attribute of every link,
// parameters and counters. Client.PollStats sends one RTM_GETSTATS dump that
// asks for nothing but IFLA_STATS_LINK_64: the kernel builds a 200-byte
// block per link instead of a 1.5 KB message, about five times cheaper. A
// monitoring loop calls Snapshot once and PollStats on every tick; PollStats
// reads the parameters again by itself when links appear or vanish, and
// Snapshot now and then refreshes names, state and tunnel parameters, which
// a stats poll does not see change.
//
// Both decode in place from one reused receive buffer and write into a
// caller-owned Snapshot: once the Snapshot has held the same links, neither
// allocates anything per link (with a context that cannot be cancelled, not
// at all). Keep two Snapshots and alternate between them to compute deltas
// with Diff, which reports a link deleted and created again under the same
// name, or a counter that went down, as a reset rather than as a negative
// or huge count (LinkDelta.DecreasedFields names the counters that went
// down). A link is the same link when its ifindex and kind are: a rename
// goes on counting (LinkDelta.PrevName has the old name).
// procnet.DiffNetDev and package explain pair links by the same rule.
//
// # One way to do each thing
//
//	Client.Snapshot    read links, their parameters and counters (once, or now and then in a loop)
//	Client.PollStats   refresh the counters of a Snapshot, cheaply
//	Diff               subtract two Snapshots
//	DecodeLink         decode an RTM_NEWLINK message received elsewhere
//
// Snapshot takes filters, plain values built by ByKind, ByName and ByIndex
// (the pattern of xfrmstat.SAFilter): with one kind and a kernel that checks
// dump requests strictly (4.20+), the kernel filters the dump itself
// (IFLA_LINKINFO in the request); a name or an index is one RTM_GETLINK
// request, not a dump. PollStats keeps the Snapshot's filters.
//
// Caller-owned storage is passed the same way throughout the module: a call
// that can reuse memory takes its destination as an argument (here a
// *Snapshot or a *Delta), overwrites it and reuses its slices, and has no
// allocating twin. Pass a zero value to start, and the same value on every
// tick.
//
// Stats64.All yields every counter by its kernel name (StatsFieldNames
// lists them), for code that handles counters by name rather than by field.
//
// # The promise about RTNL
//
// No request of this package asks for VF information: it never sends
// IFLA_EXT_MASK with RTEXT_FILTER_VF. Collecting VF information made link
// dumps hold the kernel's RTNL lock for most of a second on hosts with many
// VFs, stalling every other network change (ip(8) asks for it by default).
// Here a full dump costs the same whether a host has VFs or not, and a stats
// poll much less.
//
// # Consistency
//
// When links change while a dump runs, the kernel marks it NLM_F_DUMP_INTR;
// the dump is then started again, up to Config.DumpRetries times (0: 10,
// negative: none), and ErrDumpInterrupted is returned after that. An
// overflowing socket (ENOBUFS, ErrOverrun) and a truncated reply
// (ErrTruncated) are errors too. A failed read never returns a partial
// list: the Snapshot is emptied.
//
// # Errors
//
// The errors are those of package xfrmstat, under the same names and with
// the same values: ErrNotSupported (also procnet's), ErrDumpInterrupted,
// ErrOverrun and ErrTruncated; and the standard library's for the rest: a
// read after Close matches os.ErrClosed, a refused request os.ErrPermission,
// a namespace or a selected link that does not exist os.ErrNotExist. A
// message that cannot be decoded is a *DecodeError, whose Message and Index
// (the position in the dump) mean what they mean in xfrmstat.
//
// # Namespaces
//
// Config.NetNS selects the network namespace: by name (/run/netns/NAME, as
// ip-netns(8) makes them), by path (/proc/PID/ns/net, a bind mount), by an
// open file descriptor, or by process ID. Dial resolves it once and keeps a
// descriptor of its own (a file descriptor given is duplicated), so the
// caller may close theirs after Dial. The socket is opened inside that
// namespace and stays bound to it; nothing else in the process changes
// namespace.
//
// # When netlink is refused
//
// Some sandboxes refuse rtnetlink: a seccomp profile that forbids netlink
// sockets (EPERM), SELinux denying the request (EACCES), patched kernels.
// The refusal is then returned, as an error matching os.ErrPermission:
// nothing falls back silently.
//
// A caller who would rather have less than nothing sets
// Config.ProcNetDevFallback: the Client then reads /proc/net/dev of the
// same namespace instead, and says so on every result. Client.FallbackReason
// returns the refusal, and every Link has StatsSource StatsProcNet, Index 0,
// an empty Kind (unknown, not "none"), zero Stats and its line of the file
// in Link.Dev. The file prints three sums (rx drop, rx frame and tx
// carrier, see procnet.DevStats), so its counters are never stored in the
// Stats64 fields named for one kernel counter: from /proc/net/dev a VTI
// whose policy lookup fails cannot be told from one whose IPsec output
// fails, and Stats64 must not pretend otherwise. Diff subtracts the lines
// into LinkDelta.Dev. Selecting by kind or index is then ErrNotSupported;
// selecting by name works.
//
// # Platforms
//
// The package builds everywhere; off Linux, Dial returns an error wrapping
// ErrNotSupported. DecodeLink and Diff are pure Go and work on any OS.
package vtistat
