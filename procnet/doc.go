// Package procnet parses /proc/net/dev and /proc/net/xfrm_stat exactly and
// fast, in pure Go, on any OS.
//
// These two files are the cheapest way to see that a tunnel or IPsec is
// losing packets: /proc/net/dev has per-interface counters (a VTI, an XFRM
// interface, a GRE tunnel are interfaces), /proc/net/xfrm_stat has the XFRM
// MIB, the IPsec error counters of one network namespace. procnet reads them
// without loss: every column and every counter, as uint64, in file order, and
// an error naming the line for anything it does not understand.
//
// # /proc/net/dev
//
// After two header lines, one line per interface, in ifindex order:
//
//	Inter-|   Receive                                                |  Transmit
//	 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
//	  vti0: 2585149477912 2520061641    0    0    0     0          0         0 428688344945 1836442339   59    0    0     0      59          0
//
// The kernel (net/core/net-procfs.c:dev_seq_printf_stats) prints fields of
// struct rtnl_link_stats64, the same the netlink IFLA_STATS64 attribute
// carries. A DevStats holds the 16 columns (NetDevColumns names them as the
// header does, DevStats.All yields them by those names):
//
//	RxBytes, RxPackets   bytes and packets received and passed up the stack
//	RxErrors             rx_errors: bad packets received, any reason
//	RxDropSum            rx_dropped + rx_missed_errors
//	RxFIFOErrors         rx_fifo_errors (receive ring overrun; tunnels: sequence errors)
//	RxFrameSum           rx_length + rx_over + rx_crc + rx_frame errors
//	RxCompressed         rx_compressed (CSLIP/PPP only)
//	RxMulticast          multicast packets received
//	TxBytes, TxPackets   bytes and packets handed to the driver successfully
//	TxErrors             tx_errors: packets the driver failed to send, any reason
//	TxDropped            tx_dropped
//	TxFIFOErrors         tx_fifo_errors
//	Collisions           collisions (tunnels: the route to the peer points back into the tunnel)
//	TxCarrierSum         tx_carrier + tx_aborted + tx_window + tx_heartbeat errors
//	TxCompressed         tx_compressed
//
// Three columns are sums, and their type, Sum, says so: the file cannot be
// split back into the parts. That matters for tunnels. A VTI counts a failed
// xfrm lookup (no SA, a block policy, no route to the peer) in
// tx_carrier_errors, and a failed IPsec output (expired SA, sequence
// overflow, no memory) in tx_aborted_errors; /proc/net/dev adds both into one
// "carrier" column. Only netlink's stats64 (package vtistat, or
// `ip -s -s link`) keeps them apart.
//
// Two line layouts exist. Current kernels print "%6s: %7llu ...", a space
// after the colon; older ones printed "%6s:%8llu ...", where a first number
// of 9 or more digits touches the colon ("  eth0:123456789 ..."). Both are
// read. The interface name ends at the last colon: current kernels forbid
// ':' (and whitespace) in device names (net/core/dev.c:dev_valid_name), old
// ones only forbade '/' and whitespace, and the numbers never contain a
// colon, so the last one is always the separator.
//
// # /proc/net/xfrm_stat
//
// One counter per line, "%-24s\t%lu" (net/xfrm/xfrm_proc.c). The file exists
// only when the kernel has CONFIG_XFRM_STATISTICS; without it the counters
// are not kept at all, and reading the file gives an error matching
// ErrNotSupported. Kernels add counters over time (6.10 added the SA direction
// errors, 6.14 the IP-TFS ones); XfrmStat has a field for each counter this
// package knows (KnownXfrmCounters lists them), and any counter it does not
// know yet is kept in Other, by name, in file order. A counter that is 0 is
// not a counter that does not exist: XfrmStat.Counter looks a counter up by
// its kernel name and says whether the file had it, and XfrmStat.All yields
// every counter the file had.
//
// # Why uint64
//
// /proc/net/dev prints 64-bit counters (%llu) on every architecture, and a
// busy 10 Gbit/s link passes 2^32 bytes in under four seconds. xfrm_stat
// prints unsigned long: 64 bits on 64-bit kernels, 32 on 32-bit ones, where
// a counter above 2^31-1 breaks a parser that uses a signed 32-bit int. uint64
// holds every value any kernel prints; a number above 2^64-1 is an error, not
// a silent wrap.
//
// # Namespaces
//
// Both files are per network namespace. /proc/net is a link to
// /proc/self/net: the namespace of the reading process's main thread.
// /proc/PID/net shows the namespace of process PID, with no setns and no
// privilege beyond seeing the process: FS.Proc(pid). A thread that entered
// another namespace with setns sees it under /proc/thread-self/net:
// FS.ThreadSelf. In a container, mount the host's procfs at /host/proc and use
// NewFS("/host/proc").
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
// twin: a slice (NetDevReader.Read) is overwritten from its first element,
// up to its capacity, and returned; a pointer (XfrmStatReader.Read,
// DiffNetDev, DiffXfrmStat) is overwritten in place, its slices reused. Pass
// nil or a zero value to start, then the same storage on every tick (two,
// alternating, to keep the previous reading): a poll loop allocates nothing
// once warm.
//
// DiffNetDev and DiffXfrmStat subtract two readings. A counter can go down:
// an interface deleted and re-created under the same name, a driver reset, a
// 32-bit counter that wrapped, a new namespace. Those are returned as resets
// with their reason, never as a huge wrapped difference, and an interface
// that moved in the ifindex order (deleted and re-created in between) is a
// reset even if its counters went up. The file has no ifindex, so this is
// the name-and-order rule of the module's one link identity, which
// vtistat.Diff and package explain also use.
package procnet
