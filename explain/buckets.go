package explain

import (
	"slices"
	"strings"
)

// A bucket is a set of link events that the link's counters alone single
// out: "tx_carrier_errors moved by 59", "tx_errors moved by 3 more than
// every specific TX counter". Each bucket has candidate causes: the
// catalogue entries whose distinguishing counter (the first of their link
// signature for this kind) falls in the bucket.

// pairsDrops reports whether the kind counts tx_dropped with every tx error
// it counts itself (vti6, xfrm and the ip6 tunnels do; vti and the IPv4 IP
// tunnels do not).
func pairsDrops(kind string) bool {
	switch kind {
	case KindVTI6, KindXfrm, KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl:
		return true
	}
	return false
}

// isIPsecKind reports whether the kind runs the xfrm lookup itself (VTI
// family and xfrm interfaces): its RX errors are IPsec input errors.
func isIPsecKind(kind string) bool {
	return kind == KindVTI || kind == KindVTI6 || kind == KindXfrm
}

func isTunnelKind(kind string) bool { return slices.Contains(kindsAll, kind) }

// inferKind guesses a link's kind from its name, for /proc/net/dev readings
// that carry no kind. It only knows the kernel's fallback devices and the
// prefixes that tunnel tools use; "" means no guess.
func inferKind(name string) string {
	// The kernel's own names first (the fallback devices, and the names it
	// gives a tunnel created without one: ip_vti%d, ip6_vti%d, tunl%d,
	// ip6tnl%d, ip6gre%d, ip6gretap%d, ip6erspan%d), then tools' prefixes.
	for _, p := range [...]struct{ prefix, kind string }{
		{"ip_vti", KindVTI}, {"ip6_vti", KindVTI6}, {"tunl", KindIPIP}, {"ip6tnl", KindIP6Tnl},
		{"ip6gretap", KindIP6GRETap}, {"ip6gre", KindIP6GRE}, {"ip6erspan", KindIP6ERSPAN},
		{"vti6", KindVTI6}, {"vti", KindVTI}, {"xfrm", KindXfrm}, {"ipsec", KindXfrm},
		{"gretap", KindGRETap}, {"gre", KindGRE}, {"erspan", KindERSPAN}, {"sit", KindSIT},
		{"wg", KindWireGuard}, // wg-quick names its devices after the config file, wg0.conf by convention
	} {
		if strings.HasPrefix(name, p.prefix) {
			return p.kind
		}
	}
	return ""
}

// bucket is one group of link events with its candidate causes.
type bucket struct {
	key   ctr    // the distinguishing counter (or /proc/net/dev column)
	n     uint64 // events in the bucket
	only  bool   // n is "tx_errors (or rx) beyond every specific counter"
	lower bool   // n is a lower bound (drop-only from /proc/net/dev)
	upper uint64 // the most events the bucket can hold (n unless lower)
	// xfrmHidden: an xfrm interface's drop counter on a kernel that may
	// report no error counters, so the drops stand for every error.
	xfrmHidden bool
	causes     []*Cause
	mask       uint64 // MIB counters the candidates use (bit per mibNames index)
}

// linkBuckets splits a link's deltas into buckets. It returns the number of
// buckets written to out (a caller-owned array, so that a quiet link costs
// no allocation) and the counters whose delta no bucket explains.
func linkBuckets(kind string, d *counters, out *[12]bucket) (n int, unexplained []ctr) {
	add := func(key ctr, amount uint64, only, lower bool) {
		if amount == 0 {
			return
		}
		out[n] = bucket{key: key, n: amount, upper: amount, only: only, lower: lower}
		n++
	}
	v := &d.v
	carrier, aborted := v[ctrTxCarrier], v[ctrTxAborted]
	add(ctrTxCarrier, carrier, false, false)
	add(ctrTxAborted, aborted, false, false)
	add(ctrCollisions, v[ctrCollisions], false, false)
	add(ctrTxFIFO, v[ctrTxFIFO], false, false)
	specific := carrier + aborted + v[ctrCollisions] + v[ctrTxFIFO]
	if v[ctrTxErrors] > specific {
		add(ctrTxErrors, v[ctrTxErrors]-specific, true, false)
	}
	// tx_dropped beyond the drops the kind pairs with its own errors.
	drops := v[ctrTxDropped]
	if pairsDrops(kind) && drops > 0 {
		// At most every TX error but the aborted ones came with a drop;
		// the drops beyond those are drops of their own. Where the kind
		// also has errors without a drop (the tunnel recursion limit), or
		// the aborted errors hide in /proc/net/dev's carrier column, any
		// number of the drops up to all may be of their own.
		errs := v[ctrTxErrors]
		withDrop := errs - min(aborted, errs)
		lo, hi := drops-min(drops, withDrop), drops-min(drops, withDrop)
		if !d.split || unpairedErrors[kind] {
			// The errors of a counter whose every cause on this kind
			// drops the packet came with a drop all the same.
			var surely uint64
			for _, c := range [...]ctr{ctrTxCarrier, ctrCollisions, ctrTxFIFO} {
				if (d.split || c != ctrTxCarrier) && alwaysDrops[candidateKey{kind, c, d.split}] {
					surely += v[c]
				}
			}
			hi = drops - min(drops, surely)
		}
		if hi > 0 {
			out[n] = bucket{key: ctrTxDropped, n: lo, upper: hi, only: true, lower: lo < hi}
			n++
		}
	} else {
		add(ctrTxDropped, drops, true, false)
	}

	if isIPsecKind(kind) {
		add(ctrRxErrors, v[ctrRxErrors], false, false)
		if v[ctrRxDropped] > v[ctrRxErrors] {
			add(ctrRxDropped, v[ctrRxDropped]-v[ctrRxErrors], true, false)
		}
		for _, c := range [...]ctr{ctrRxCRC, ctrRxFIFO, ctrRxLength, ctrRxFrame} {
			if v[c] != 0 {
				unexplained = append(unexplained, c)
			}
		}
	} else {
		add(ctrRxCRC, v[ctrRxCRC], false, false)
		add(ctrRxFIFO, v[ctrRxFIFO], false, false)
		add(ctrRxLength, v[ctrRxLength], false, false)
		add(ctrRxFrame, v[ctrRxFrame], false, false)
		add(ctrRxDropped, v[ctrRxDropped], true, false)
		// rx_errors beyond every specific RX counter: its own bucket (sit's
		// spoofing check counts rx_errors alone); unexplained where no
		// cause of the kind has it.
		if s := v[ctrRxCRC] + v[ctrRxFIFO] + v[ctrRxLength] + v[ctrRxFrame] + v[ctrRxOver]; v[ctrRxErrors] > s {
			add(ctrRxErrors, v[ctrRxErrors]-s, true, false)
		}
	}
	for _, c := range [...]ctr{ctrTxWindow, ctrTxHeartbeat, ctrRxMissed, ctrRxOver} {
		if v[c] != 0 {
			unexplained = append(unexplained, c)
		}
	}
	return n, unexplained
}

// candidateKey indexes candidateTable.
type candidateKey struct {
	kind  string
	key   ctr
	split bool
}

// candidateTable lists, per kind, bucket and counter source, the causes
// whose distinguishing counter falls in the bucket, in catalogue order. It
// is derived from the catalogue at init.
var candidateTable = func() map[candidateKey][]*Cause {
	t := map[candidateKey][]*Cause{}
	for i := range catalogue {
		c := &catalogue[i]
		for _, ls := range c.Signature.Link {
			first := ls.Counters[0]
			for _, kind := range ls.Kinds {
				for _, split := range [...]bool{true, false} {
					key, ok := bucketOf(first, split)
					if !ok {
						continue
					}
					k := candidateKey{kind, key, split}
					if !slices.Contains(t[k], c) {
						t[k] = append(t[k], c)
					}
				}
			}
		}
	}
	return t
}()

// unpairedErrors lists the kinds that pair drops with their errors
// (pairsDrops) but also have a cause whose TX error comes without a drop
// and is not an aborted one, so that tx_errors does not bound the paired
// drops. Derived from the catalogue at init.
var unpairedErrors = func() map[string]bool {
	m := map[string]bool{}
	for i := range catalogue {
		for _, ls := range catalogue[i].Signature.Link {
			if ls.Counters[0] == cTxAborted || !slices.Contains(ls.Counters, cTxErrors) || slices.Contains(ls.Counters, cTxDropped) {
				continue
			}
			for _, k := range ls.Kinds {
				if pairsDrops(k) {
					m[k] = true
				}
			}
		}
	}
	return m
}()

// alwaysDrops marks the buckets of a kind whose every cause moves
// tx_dropped too: each of their events is a paired drop. Derived from the
// catalogue at init (after candidateTable).
var alwaysDrops = func() map[candidateKey]bool {
	m := map[candidateKey]bool{}
	for k, causes := range candidateTable {
		all := len(causes) > 0
		for _, c := range causes {
			for _, ls := range c.linkSignatures(k.kind) {
				if b, ok := bucketOf(ls.Counters[0], k.split); ok && b == k.key && !slices.Contains(ls.Counters, cTxDropped) {
					all = false
				}
			}
		}
		m[k] = all
	}
	return m
}()

// kindXfrmHidden keys candidateTable for an xfrm interface whose kernel
// reports no error counters: before 5.11 xfrmi_get_stats64 exported only
// packets, bytes, rx_dropped and tx_dropped (mainline moved it to
// dev_get_tstats64 in 5.11, "net: xfrm: use core API for updating/providing
// stats"; 5.10.y never took it). Every transmit error that drops the packet
// then shows as tx_dropped alone, and every receive error as rx_dropped
// alone: the drop buckets have the candidates of every cause whose xfrm
// signature moves that drop counter, besides the plain drops.
const kindXfrmHidden = "xfrm (stats before 5.11)"

// xfrmHiddenSince is the first release whose xfrm interfaces report their
// error counters.
var xfrmHiddenSince = KernelVersion{Major: 5, Minor: 11}

func init() {
	for i := range catalogue {
		c := &catalogue[i]
		for _, drop := range [...]string{cTxDropped, cRxDropped} {
			if !c.movesAny(KindXfrm, drop) {
				continue
			}
			for _, split := range [...]bool{true, false} {
				key, _ := bucketOf(drop, split)
				k := candidateKey{kindXfrmHidden, key, split}
				if !slices.Contains(candidateTable[k], c) {
					candidateTable[k] = append(candidateTable[k], c)
				}
			}
		}
	}
}

// bucketOf maps a signature's distinguishing counter to the bucket it
// lands in: itself for stats64, its /proc/net/dev column otherwise.
func bucketOf(counter string, split bool) (ctr, bool) {
	i := slices.Index(ctrNames[:], counter)
	if i < 0 {
		return 0, false
	}
	c := ctr(i)
	if split {
		return c, true
	}
	switch c {
	case ctrTxCarrier, ctrTxAborted, ctrTxWindow, ctrTxHeartbeat:
		return ctrTxCarrier, true
	case ctrRxDropped, ctrRxMissed:
		return ctrRxDropped, true
	case ctrRxLength, ctrRxOver, ctrRxCRC, ctrRxFrame:
		return ctrRxFrame, true
	}
	return c, true
}

// mibMask returns the MIB counters a set of causes uses.
func mibMask(cs []*Cause) uint64 {
	var m uint64
	for _, c := range cs {
		for _, name := range c.Signature.MIB {
			m |= 1 << mibIndex[name]
		}
	}
	return m
}
