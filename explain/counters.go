package explain

import (
	"github.com/tunnelstat/tunnelstat/procnet"
)

// ctr indexes the link error counters explain looks at.
type ctr uint8

const (
	ctrTxErrors ctr = iota
	ctrTxDropped
	ctrTxCarrier // /proc/net/dev: the carrier column (carrier+aborted+window+heartbeat)
	ctrTxAborted
	ctrTxWindow
	ctrTxHeartbeat
	ctrTxFIFO
	ctrCollisions
	ctrRxErrors
	ctrRxDropped // /proc/net/dev: the drop column (rx_dropped+rx_missed)
	ctrRxMissed
	ctrRxCRC
	ctrRxFIFO
	ctrRxLength
	ctrRxOver
	ctrRxFrame // /proc/net/dev: the frame column (length+over+crc+frame)
	nCtr
)

// ctrNames are the rtnl_link_stats64 field names.
var ctrNames = [nCtr]string{
	ctrTxErrors: cTxErrors, ctrTxDropped: cTxDropped, ctrTxCarrier: cTxCarrier, ctrTxAborted: cTxAborted,
	ctrTxWindow: cTxWindow, ctrTxHeartbeat: cTxHeartbeat, ctrTxFIFO: cTxFIFO, ctrCollisions: cCollisions,
	ctrRxErrors: cRxErrors, ctrRxDropped: cRxDropped, ctrRxMissed: cRxMissed, ctrRxCRC: cRxCRC,
	ctrRxFIFO: cRxFIFO, ctrRxLength: cRxLength, ctrRxOver: cRxOver, ctrRxFrame: cRxFrame,
}

// procColumns are the /proc/net/dev column names of the counters a
// DevStats has, and the fields a sum column adds up.
var procColumns = [nCtr]string{
	ctrTxErrors: "errs", ctrTxDropped: "drop", ctrTxCarrier: "carrier", ctrTxFIFO: "fifo", ctrCollisions: "colls",
	ctrRxErrors: "errs", ctrRxDropped: "drop", ctrRxFIFO: "fifo", ctrRxFrame: "frame",
}

var procSums = [nCtr][]string{
	ctrTxCarrier: {cTxCarrier, cTxAborted, cTxWindow, cTxHeartbeat},
	ctrRxDropped: {cRxDropped, cRxMissed},
	ctrRxFrame:   {cRxLength, cRxOver, cRxCRC, cRxFrame},
}

// procTxRx says whether a /proc/net/dev column is on the receive side; the
// TX and RX "errs", "drop" and "fifo" columns share names.
func ctrIsRx(c ctr) bool { return c >= ctrRxErrors }

// counters holds one link's error counters. From /proc/net/dev (split is
// false) only the columns exist and three of them are sums, stored in
// ctrTxCarrier, ctrRxDropped and ctrRxFrame.
type counters struct {
	v     [nCtr]uint64
	split bool
}

func countersFromStats(s *Stats64) counters {
	return counters{split: true, v: [nCtr]uint64{
		ctrTxErrors: s.TxErrors, ctrTxDropped: s.TxDropped, ctrTxCarrier: s.TxCarrierErrors,
		ctrTxAborted: s.TxAbortedErrors, ctrTxWindow: s.TxWindowErrors, ctrTxHeartbeat: s.TxHeartbeatErrors,
		ctrTxFIFO: s.TxFIFOErrors, ctrCollisions: s.Collisions,
		ctrRxErrors: s.RxErrors, ctrRxDropped: s.RxDropped, ctrRxMissed: s.RxMissedErrors,
		ctrRxCRC: s.RxCRCErrors, ctrRxFIFO: s.RxFIFOErrors, ctrRxLength: s.RxLengthErrors,
		ctrRxOver: s.RxOverErrors, ctrRxFrame: s.RxFrameErrors,
	}}
}

func countersFromDev(d *procnet.DevStats) counters {
	return counters{split: false, v: [nCtr]uint64{
		ctrTxErrors: d.TxErrors, ctrTxDropped: d.TxDropped, ctrTxCarrier: uint64(d.TxCarrierSum),
		ctrTxFIFO: d.TxFIFOErrors, ctrCollisions: d.Collisions,
		ctrRxErrors: d.RxErrors, ctrRxDropped: uint64(d.RxDropSum), ctrRxFIFO: d.RxFIFOErrors,
		ctrRxFrame: uint64(d.RxFrameSum),
	}}
}

func (l *LinkReading) counters() (counters, bool) {
	switch l.Source {
	case SourceStats64, SourceStats32:
		return countersFromStats(&l.Stats), true
	case SourceProcNetDev:
		if l.Dev != nil {
			return countersFromDev(l.Dev), true
		}
	}
	return counters{}, false
}

// nothingToExplain is the quick test of the usual case, for two readings
// of one link from the same Source: no error counter moved and no traffic
// counter went back. It decides exactly as counters, delta and
// trafficWentBack would (TestNothingToExplainAgrees checks every field), at
// a fraction of their cost.
func nothingToExplain(b, a *LinkReading) bool {
	switch a.Source {
	case SourceStats64, SourceStats32:
		return nothingToExplainStats(&b.Stats, &a.Stats)
	case SourceProcNetDev:
		return a.Dev != nil && b.Dev != nil && nothingToExplainDev(b.Dev, a.Dev)
	}
	return false
}

func nothingToExplainStats(x, y *Stats64) bool {
	return y.RxPackets >= x.RxPackets && y.RxBytes >= x.RxBytes && y.TxPackets >= x.TxPackets && y.TxBytes >= x.TxBytes &&
		y.TxErrors == x.TxErrors && y.TxDropped == x.TxDropped && y.TxCarrierErrors == x.TxCarrierErrors &&
		y.TxAbortedErrors == x.TxAbortedErrors && y.TxWindowErrors == x.TxWindowErrors &&
		y.TxHeartbeatErrors == x.TxHeartbeatErrors && y.TxFIFOErrors == x.TxFIFOErrors && y.Collisions == x.Collisions &&
		y.RxErrors == x.RxErrors && y.RxDropped == x.RxDropped && y.RxMissedErrors == x.RxMissedErrors &&
		y.RxCRCErrors == x.RxCRCErrors && y.RxFIFOErrors == x.RxFIFOErrors && y.RxLengthErrors == x.RxLengthErrors &&
		y.RxOverErrors == x.RxOverErrors && y.RxFrameErrors == x.RxFrameErrors
}

func nothingToExplainDev(x, y *procnet.DevStats) bool {
	return y.RxPackets >= x.RxPackets && y.RxBytes >= x.RxBytes && y.TxPackets >= x.TxPackets && y.TxBytes >= x.TxBytes &&
		y.TxErrors == x.TxErrors && y.TxDropped == x.TxDropped && y.TxCarrierSum == x.TxCarrierSum &&
		y.TxFIFOErrors == x.TxFIFOErrors && y.Collisions == x.Collisions && y.RxErrors == x.RxErrors &&
		y.RxDropSum == x.RxDropSum && y.RxFIFOErrors == x.RxFIFOErrors && y.RxFrameSum == x.RxFrameSum
}

// name returns how evidence names counter c: the stats64 field, or the
// /proc/net/dev column.
func (c *counters) name(i ctr) string {
	if c.split {
		return ctrNames[i]
	}
	return procColumns[i]
}

// delta subtracts before from after. Counters that went backwards are
// reported in reset (a bit per ctr) and give a zero delta.
func delta(before, after *counters) (d counters, reset uint32) {
	d.split = after.split
	for i := range after.v {
		if after.v[i] < before.v[i] {
			reset |= 1 << i
			continue
		}
		d.v[i] = after.v[i] - before.v[i]
	}
	return d, reset
}

// quiet reports whether no error counter moved.
func (c *counters) quiet() bool {
	for _, x := range c.v {
		if x != 0 {
			return false
		}
	}
	return true
}

// mibNames are the XfrmStat counters explain uses, in the order of
// procnet's named fields (procnet.KnownXfrmCounters()).
var mibNames = [...]string{
	"XfrmInError", "XfrmInBufferError", "XfrmInHdrError", "XfrmInNoStates", "XfrmInStateProtoError",
	"XfrmInStateModeError", "XfrmInStateSeqError", "XfrmInStateExpired", "XfrmInStateMismatch",
	"XfrmInStateInvalid", "XfrmInTmplMismatch", "XfrmInNoPols", "XfrmInPolBlock", "XfrmInPolError",
	"XfrmOutError", "XfrmOutBundleGenError", "XfrmOutBundleCheckError", "XfrmOutNoStates",
	"XfrmOutStateProtoError", "XfrmOutStateModeError", "XfrmOutStateSeqError", "XfrmOutStateExpired",
	"XfrmOutPolBlock", "XfrmOutPolDead", "XfrmOutPolError", "XfrmFwdHdrError", "XfrmOutStateInvalid",
	"XfrmAcquireError", "XfrmOutStateDirError", "XfrmInStateDirError", "XfrmInIptfsError",
	"XfrmOutNoQueueSpace",
}

const nMIB = len(mibNames)

var mibIndex = func() map[string]int {
	m := make(map[string]int, nMIB)
	for i, n := range mibNames {
		m[n] = i
	}
	return m
}()

func mibValues(s *procnet.XfrmStat) [nMIB]uint64 {
	return [nMIB]uint64{
		s.InError, s.InBufferError, s.InHdrError, s.InNoStates, s.InStateProtoError,
		s.InStateModeError, s.InStateSeqError, s.InStateExpired, s.InStateMismatch,
		s.InStateInvalid, s.InTmplMismatch, s.InNoPols, s.InPolBlock, s.InPolError,
		s.OutError, s.OutBundleGenError, s.OutBundleCheckError, s.OutNoStates,
		s.OutStateProtoError, s.OutStateModeError, s.OutStateSeqError, s.OutStateExpired,
		s.OutPolBlock, s.OutPolDead, s.OutPolError, s.FwdHdrError, s.OutStateInvalid,
		s.AcquireError, s.OutStateDirError, s.InStateDirError, s.InIptfsError,
		s.OutNoQueueSpace,
	}
}

// mibDelta is the change of the namespace's XFRM MIB between two readings.
type mibDelta struct {
	ok      bool // both readings had a MIB and no counter went backwards
	v       [nMIB]uint64
	present [nMIB]bool // the kernel prints this counter
	reset   []int      // counters that went backwards
	before  [nMIB]uint64
	after   [nMIB]uint64
}

// mibPresent reports which counters the kernel printed. A reading that
// has none of them (built by hand, not parsed) is taken to have every
// counter.
func mibPresent(s *procnet.XfrmStat) (present [nMIB]bool) {
	some := false
	for i, name := range mibNames {
		_, present[i] = s.Counter(name)
		some = some || present[i]
	}
	if !some {
		for i := range present {
			present[i] = true
		}
	}
	return present
}

func newMIBDelta(before, after *procnet.XfrmStat) mibDelta {
	var d mibDelta
	if after == nil {
		return d
	}
	d.after = mibValues(after)
	inAfter, inBefore := mibPresent(after), [nMIB]bool{}
	if before != nil {
		d.before = mibValues(before)
		inBefore = mibPresent(before)
	}
	for i := range nMIB {
		d.present[i] = inAfter[i] && (before == nil || inBefore[i])
		if !d.present[i] {
			continue
		}
		if d.after[i] < d.before[i] {
			d.reset = append(d.reset, i)
			continue
		}
		d.v[i] = d.after[i] - d.before[i]
	}
	d.ok = len(d.reset) == 0
	return d
}

// count returns the number of events of cause c in the namespace, and
// whether the MIB can tell (it was read and prints every counter involved).
func (d *mibDelta) count(c *Cause) (uint64, bool) {
	if !d.ok || len(c.Signature.MIB) == 0 {
		return 0, false
	}
	var n, minus uint64
	for _, name := range c.Signature.MIB {
		i := mibIndex[name]
		if !d.present[i] {
			return 0, false
		}
		n += d.v[i]
	}
	for _, name := range c.Signature.MIBMinus {
		if i := mibIndex[name]; d.present[i] {
			minus += d.v[i]
		}
	}
	if minus > n {
		return 0, true
	}
	return n - minus, true
}

// devStatsFromStats64 is the /proc/net/dev view of stats64 counters: the
// kernel's dev_seq_printf_stats sums, so that a link read from netlink
// once and from /proc/net/dev once compares like with like.
func devStatsFromStats64(name string, s *Stats64) procnet.DevStats {
	return procnet.DevStats{
		Name:         name,
		RxBytes:      s.RxBytes,
		RxPackets:    s.RxPackets,
		RxErrors:     s.RxErrors,
		RxDropSum:    procnet.Sum(s.RxDropped + s.RxMissedErrors),
		RxFIFOErrors: s.RxFIFOErrors,
		RxFrameSum:   procnet.Sum(s.RxLengthErrors + s.RxOverErrors + s.RxCRCErrors + s.RxFrameErrors),
		RxCompressed: s.RxCompressed,
		RxMulticast:  s.Multicast,
		TxBytes:      s.TxBytes,
		TxPackets:    s.TxPackets,
		TxErrors:     s.TxErrors,
		TxDropped:    s.TxDropped,
		TxFIFOErrors: s.TxFIFOErrors,
		Collisions:   s.Collisions,
		TxCarrierSum: procnet.Sum(s.TxCarrierErrors + s.TxAbortedErrors + s.TxWindowErrors + s.TxHeartbeatErrors),
		TxCompressed: s.TxCompressed,
	}
}
