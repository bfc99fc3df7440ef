// Package monitor reads network namespaces for package explain: once, from
// saved files, or continuously, with each interval's events counted.
//
// # Readings
//
// A Snapshot is one reading of a namespace: every link with its kind,
// tunnel parameters and stats64, the peers of its wireguard links (public
// keys only), /proc/net/xfrm_stat, the SAs (never their keys), the
// policies, the policy defaults, SPD and SAD info, the kernel release and
// the time. A part that could not be read is nil and listed in
// Unread with the reason and, when known, what would make it readable
// (CAP_NET_ADMIN for XFRM netlink); a part read and found empty is empty,
// not nil, because explain treats "no SA" and "SAs not known" differently.
// Snapshot.Reading converts a Snapshot into explain's input.
//
// Snapshots come from three places, and explain the same whichever it was:
//
//   - Open opens a Reader on a namespace (NetNS; ParseNetNS reads one as a
//     person types it); Reader.Read takes a reading live. Only links that
//     cannot be read at all are an error. A Reader follows a namespace's
//     name or path: it never returns a reading of a namespace deleted
//     under it (ErrNetNSGone), and says once when the name came to refer
//     to another namespace (ErrNetNSReplaced), then reads that one.
//   - Decode reads the JSON document Snapshot.Encode writes, whose layout
//     is named by Format ("tunnelstat.snapshot/v1"). Unknown fields, other
//     formats, missing parts, links listed twice or named as no interface
//     can be are refused, never half read; a *DecodeError names the line,
//     column and field. Documents written since the format was introduced
//     keep decoding to the same Snapshot.
//   - Load reads raw captures: copies of /proc/net/dev, /proc/net/xfrm_stat
//     and /sys/class/net/IFNAME/statistics, or a snapshot document (see
//     LoadHelp). A Loader does the same within limits, for files that may
//     be hostile: regular files only, opened without blocking, at most
//     MaxBytes (DefaultMaxBytes, 64 MiB), watching a context; its
//     LoadReading returns explain's input directly, in less memory.
//
// So a saved reading compared with a live one compares like with like:
//
//	before, _ := monitor.Decode(f)
//	r, _ := monitor.Open(ctx, monitor.NetNS{Name: "blue"})
//	after, _ := r.Read(ctx)
//	rep := explain.Explain(before.Reading(), after.Reading())
//
// # Monitoring
//
// A Monitor watches one or many namespaces: New, then Run with a function
// that receives, every interval, one Update per namespace, in order: the
// interval's explain.Report, the full Snapshot when one was taken, and
// Total, the namespace's cumulative explain.Tally (each event counted once,
// however many findings describe it). A namespace that cannot be opened or
// read yields an Update with Err and is tried again the next interval,
// without holding up the others; its events are explained once it reads
// again. A name deleted and added again starts from a new baseline. Run ends when its context is done or the function returns an
// error (ErrStop to end quietly), with every goroutine it started ended
// (but, with Config.Health, the one per live namespace that receives its
// XFRM events); Close then closes the sockets and ends those.
//
// With Config.Health, each Update also carries the namespace's tunnels
// and the failures ahead (Health, from an explain.Tracker per namespace),
// and its Report the XFRM events received in the interval (Events,
// counted by type in Total.XfrmEvents).
//
// # What an interval costs
//
// Read live (Config.Open nil), a namespace costs, per interval:
//
//   - The first reading (the baseline): a full Read.
//   - An interval in which no error counter moved: one stats-only netlink
//     dump of the links' 64-bit counters (vtistat's Client.PollStats, a
//     full link dump when links were added or removed), one read of
//     xfrm_stat (xfrmstat's Client.MIB), and an explain.Explain of the
//     two readings, all into storage kept from interval to interval:
//     nothing is allocated per link, SA or policy; the interval's deadline
//     and the check that a namespace's name still refers to it (one
//     stat) cost a few small allocations, however large the namespace.
//     No SA or policy is read. When the namespace has wireguard links:
//     one WG_CMD_GET_DEVICE dump per wireguard link, every interval (a
//     peer's handshakes and bytes move without any XFRM event, and its
//     underlay may be in another namespace), into kept storage too.
//   - An interval in which something moved (the report has findings): the
//     same poll, then a full Read (link dump with parameters, SA and policy
//     dumps, policy defaults, SPD and SAD info), explained again, so that
//     the report has the policies and SAs that settle causes and fill the
//     checks with SPIs. That Snapshot is allocated afresh and handed over
//     in Update.Snapshot.
//
// With Config.Health (tunnel health: an explain.Tracker per namespace),
// a live namespace costs, on top of that:
//
//   - From when it is opened (before its baseline) until Close, or until
//     the namespace is gone: one NETLINK_XFRM socket subscribed to its
//     acquire, expire, SA, policy, mapping and migrate events, and one
//     goroutine that receives them into a buffer of at most 65536 events
//     per interval (past that, one events-lost stands for the rest); and
//     one NETLINK_ROUTE socket subscribed to its link notifications
//     (RTNLGRP_LINK) with a goroutine of its own. A namespace replaced
//     under its name is subscribed to again.
//   - An interval after a link was added, deleted or changed (its state,
//     MTU, name or parameters: the kernel notifies those, never counters)
//     is a full reading, so that the link parameters in Update.Snapshot,
//     and those Update.Reading keeps, are never older than an interval.
//   - Every interval: SPD and SAD info requests and Tracker.Add on the
//     interval's last reading. An SA dump in every interval where
//     something could have moved an SA: an XFRM event, a change of the
//     SAD count, a link counter or a MIB counter that moved (a packet an
//     SA encrypts or decrypts goes out or comes in on an interface of the
//     namespace), or SAs last dumped a minute ago or more. Otherwise the
//     interval's Reading carries the last SAs over (Update.Unchanged when
//     nothing else moved either): in a quiet namespace the SA dump, the
//     largest part of a health poll, is made once a minute. (A packet an
//     SA encrypted and a queueing discipline then dropped moves no
//     interface counter: it shows in the SA's counters within that
//     minute.) The dump's storage is kept while dumps follow one another,
//     as the links' is (nothing is allocated per SA when no SA was
//     added), and let go while the SAs are carried over.
//   - The policy dump only in an interval after a policy event, an
//     events-lost or a change of the SPD's policy counts (and every
//     interval while the events cannot be subscribed to); otherwise the
//     previous policies are reused.
//   - The events themselves: each interval's are allocated for its
//     Report.Events, which the caller keeps.
//
// A subscription refused (XFRM netlink needs CAP_NET_ADMIN) is an Unread
// "events" in every Update; health goes on without events, and every
// interval is then a full reading (nothing says when links change). Link
// notifications refused are an Unread "link_changes", with the same
// consequence for the links.
//
// With Config.Open, every interval reads a whole Snapshot from the Source
// (with Config.Health, the Tracker reads its SAs and policies; there are
// no events).
package monitor

// All conversions between the reading packages' types, the Snapshot and
// explain.Reading are in one file, reading.go.
