// Package procnet parses /proc/net/dev and /proc/net/xfrm_stat exactly and
// fast, in pure Go, on any OS: every column and every counter, as uint64, in
// file order, and a *ParseError naming the file and line for anything it
// does not understand (a number above 2^64-1 is ErrRange, never a silent
// wrap). The README's background section describes both files.
//
// # /proc/net/dev
//
// A DevStats is one interface's line (a VTI, an XFRM interface, a GRE
// tunnel are interfaces): its name and the 16 columns, which the kernel
// prints from struct rtnl_link_stats64 (NetDevColumns names them as the
// header does, DevStats.All yields them by those names). Three columns are
// sums, and their type, Sum, says so: RxDropSum (rx_dropped +
// rx_missed_errors), RxFrameSum (rx_length, rx_over, rx_crc and rx_frame
// errors) and TxCarrierSum (tx_carrier, tx_aborted, tx_window and
// tx_heartbeat errors). They cannot be split back into their parts: from
// this file, a VTI whose xfrm lookup failed cannot be told from one whose
// IPsec output failed; only netlink's stats64 (package vtistat) keeps them
// apart. Both line layouts kernels have printed are read, and a name ends
// at the line's last colon.
//
// # /proc/net/xfrm_stat
//
// An XfrmStat is the XFRM MIB: the IPsec error counters of one network
// namespace. It has a field for each counter this package knows
// (KnownXfrmCounters lists them), and a counter it does not know yet is
// kept in Other, by name, in file order. A counter that is 0 is not a
// counter that does not exist: XfrmStat.Counter looks a counter up by its
// kernel name and says whether the file had it, and XfrmStat.All yields
// every counter the file had. A kernel built without
// CONFIG_XFRM_STATISTICS keeps no such counters: reading the file gives an
// error matching ErrNotSupported.
//
// # Namespaces
//
// Both files are per network namespace; /proc/net is that of the reading
// process's main thread. FS.Proc(pid) reads the namespace of process pid,
// with no setns and no privilege beyond seeing the process; FS.ThreadSelf
// that of a thread that entered another namespace with setns; and
// NewFS("/host/proc") the host's procfs mounted into a container.
//
// # One way to do each thing
//
//	FS.ReadNetDev, FS.ReadXfrmStat   read the file once (FS{} is the running system's /proc)
//	FS.OpenNetDev, FS.OpenXfrmStat   open it once, then Read it again and again
//	ParseNetDev, ParseXfrmStat       parse a copy from an io.Reader (a capture, another host)
//	DiffNetDev, DiffXfrmStat         subtract two readings
//
// The XFRM MIB of another network namespace, selected the way the netlink
// clients select it, is xfrmstat.Client.MIB, which opens the file inside
// that namespace. (FS.Proc reaches another namespace through one of its
// processes, with no setns.)
//
// # Polling and deltas
//
// NetDevReader and XfrmStatReader keep the file open and re-read it into
// storage the caller owns. As everywhere in this module, a call that can
// reuse memory takes its destination as an argument and has no allocating
// twin (a slice is overwritten and returned, a pointer overwritten in
// place): pass nil or a zero value to start, then the same storage on
// every tick, and a poll loop allocates nothing once warm. DiffNetDev and
// DiffXfrmStat subtract two readings. A counter that went down (an
// interface deleted and re-created under the same name, a driver reset, a
// 32-bit counter that wrapped, a new namespace) is a reset with its reason,
// never a negative or huge wrapped difference, and so is an interface that
// moved in the ifindex order, even if its counters went up: the file has
// no ifindex, so this is the name-and-order rule of the module's one link
// identity, which vtistat.Diff and package explain also use.
package procnet
