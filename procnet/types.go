package procnet

// Sum is a /proc/net/dev column that the kernel prints as the sum of several
// rtnl_link_stats64 fields (net/core/net-procfs.c:dev_seq_printf_stats). A Sum
// cannot be split back into its parts: for that, read the link's stats64 over
// netlink (package vtistat), which keeps every field apart.
type Sum uint64

// DevStats is one interface line of /proc/net/dev: the 16 columns in the order
// the kernel prints them.
//
// Three columns are sums (type Sum):
//
//	RxDropSum    = rx_dropped + rx_missed_errors
//	RxFrameSum   = rx_length_errors + rx_over_errors + rx_crc_errors + rx_frame_errors
//	TxCarrierSum = tx_carrier_errors + tx_aborted_errors + tx_window_errors + tx_heartbeat_errors
//
// TxCarrierSum is why /proc/net/dev alone cannot tell a VTI whose xfrm lookup
// failed (tx_carrier_errors) from one whose IPsec output failed
// (tx_aborted_errors): both land in this column.
type DevStats struct {
	Name string

	RxBytes      uint64
	RxPackets    uint64
	RxErrors     uint64
	RxDropSum    Sum
	RxFIFOErrors uint64
	RxFrameSum   Sum
	RxCompressed uint64
	RxMulticast  uint64

	TxBytes      uint64
	TxPackets    uint64
	TxErrors     uint64
	TxDropped    uint64
	TxFIFOErrors uint64
	Collisions   uint64
	TxCarrierSum Sum
	TxCompressed uint64
}

// Counter is one named counter of /proc/net/xfrm_stat.
type Counter struct {
	Name  string
	Value uint64
}

// XfrmStat is /proc/net/xfrm_stat: the XFRM MIB of one network namespace.
// Every counter the kernel prints is kept. The ones this package knows have
// named fields; any other (a newer kernel's) is kept in Other, in file order.
//
// A kernel prints only the counters it has (6.10 added the SA direction
// errors, 6.14 the IP-TFS ones), so a named field that is 0 may be a
// counter this kernel does not keep. Counter says which: it returns the
// value and whether the file had the counter, by kernel name, for named and
// Other counters alike; All yields every counter the file had.
type XfrmStat struct {
	InError             uint64 // XfrmInError
	InBufferError       uint64 // XfrmInBufferError
	InHdrError          uint64 // XfrmInHdrError
	InNoStates          uint64 // XfrmInNoStates
	InStateProtoError   uint64 // XfrmInStateProtoError
	InStateModeError    uint64 // XfrmInStateModeError
	InStateSeqError     uint64 // XfrmInStateSeqError
	InStateExpired      uint64 // XfrmInStateExpired
	InStateMismatch     uint64 // XfrmInStateMismatch
	InStateInvalid      uint64 // XfrmInStateInvalid
	InTmplMismatch      uint64 // XfrmInTmplMismatch
	InNoPols            uint64 // XfrmInNoPols
	InPolBlock          uint64 // XfrmInPolBlock
	InPolError          uint64 // XfrmInPolError
	OutError            uint64 // XfrmOutError
	OutBundleGenError   uint64 // XfrmOutBundleGenError
	OutBundleCheckError uint64 // XfrmOutBundleCheckError
	OutNoStates         uint64 // XfrmOutNoStates
	OutStateProtoError  uint64 // XfrmOutStateProtoError
	OutStateModeError   uint64 // XfrmOutStateModeError
	OutStateSeqError    uint64 // XfrmOutStateSeqError
	OutStateExpired     uint64 // XfrmOutStateExpired
	OutPolBlock         uint64 // XfrmOutPolBlock
	OutPolDead          uint64 // XfrmOutPolDead
	OutPolError         uint64 // XfrmOutPolError
	FwdHdrError         uint64 // XfrmFwdHdrError
	OutStateInvalid     uint64 // XfrmOutStateInvalid
	AcquireError        uint64 // XfrmAcquireError
	OutStateDirError    uint64 // XfrmOutStateDirError (Linux 6.10+)
	InStateDirError     uint64 // XfrmInStateDirError (Linux 6.10+)
	InIptfsError        uint64 // XfrmInIptfsError (Linux 6.14+)
	OutNoQueueSpace     uint64 // XfrmOutNoQueueSpace (Linux 6.14+)

	// Other holds counters this package does not know yet, in file order.
	Other []Counter

	// present records which named counters the file contained, indexed
	// like knownXfrmCounters. Ask with Counter.
	present [nKnownXfrm]bool
}
