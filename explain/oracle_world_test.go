package explain_test

// # The soundness oracle: a model of the kernel, independent of the engine
//
// TestSoundnessOracle and FuzzSoundness generate namespaces in which the
// oracle knows, for every tunnel link, how many events of each catalogue
// cause happened between two readings, build the two Readings a monitoring
// agent would have taken of them, run explain.Explain, and fail on every
// claim in the report that contradicts that truth.
//
// Independence. The oracle uses only explain's public API and data: the
// catalogue as explain.Causes() returns it (Signature.Link, MIB, MIBMinus,
// AlsoWithoutMIB, SilentOn, Since), the Reading/LinkReading/Finding types and
// the documented meaning of Certainty (report.go) and the honesty rules
// (doc.go and the README's "How sure a finding is"). It never calls or
// imitates the engine's decision logic (explain.go, pairing.go,
// candidates.go, evidence.go, namespace.go, buckets.go, resolve.go,
// lookup.go, links.go): truth comes from a forward model — which counters
// one event moves in the kernel — never from inverting counters, which is
// what the engine does.
//
// # World model
//
//   - One network namespace: lo, eth0 (traffic only) and 1–8 tunnel links of
//     every kind the catalogue's Signature.Link entries name (vti, vti6, xfrm,
//     gre, gretap, erspan, ipip, sit, ip6gre, ip6gretap, ip6erspan, ip6tnl),
//     all sharing one XFRM MIB (/proc/net/xfrm_stat). No link is CrossNetns.
//   - A true kernel: 5.10, 6.1, 6.12 or 7.3 (Debian-style releases). The
//     reading carries its release string or "" (unknown). Only causes whose
//     Since ≤ the true kernel happen. The MIB prints XfrmOut/InStateDirError
//     from 6.10 and XfrmInIptfsError/XfrmOutNoQueueSpace from 6.14.
//   - An event is (link, cause, variant), repeated n times:
//     L: moves the link counters of the cause's Signature.Link entry for the
//     link's kind (all of them: the first is the distinguishing one, the rest
//     move with it), no MIB counter (causes without MIB, or AlsoWithoutMIB).
//     M: the same link counters plus the MIB counters of Signature.MIB. Every
//     MIB list of a generated cause has one counter; the only list with two
//     (kernel-dead-counter: "counters no modern kernel increments") is never
//     generated. MIBMinus is modelled explicitly: tx-policy-error's MIBMinus
//     names XfrmOutStateDirError, meaning an XfrmOutStateDirError event (a
//     tx-sa-dir-error) also moves XfrmOutPolError (xfrm_tmpl_resolve_one
//     fails with -EINVAL and xfrm_resolve_and_create_bundle counts
//     XfrmOutPolError): generically, an event moving counter X also moves
//     the MIB counter of every cause whose MIBMinus names X.
//     S: silent, on a kind in SilentOn: only the MIB moves and the link
//     counts the packet as sent (tx_packets+1, tx_bytes+). Generated only
//     when the MIB counter exists on the kernel. A cause that is both in
//     Link and SilentOn for a kind with AlsoWithoutMIB (tx-queue-full on
//     vti/vti6: the hold queue moves no MIB counter, IPTFS's
//     XfrmOutNoQueueSpace is counted as sent) has L and S variants, not M.
//     N: MIB only, on an IPsec kind (vti, vti6, xfrm) the cause's
//     Signature.Link does not list (rx-no-sa on xfrm: "namespace-wide only";
//     rx-iptfs-error and fwd-header-error, which have no link entry; rx-no-
//     policy on xfrm, whose xfrm entry is only for a CrossNetns interface).
//     The link counts nothing.
//   - xfrm interfaces on kernels before 5.11 report only rx/tx packets,
//     bytes, rx_dropped and tx_dropped: every other error field reads zero.
//   - Closed world: every MIB event comes from an event on a tunnel that is
//     in the later reading (silent and MIB-only ones included); vanished
//     links have no events in the interval; there is no policy-based traffic
//     outside tunnels. Normal traffic raises rx/tx packets and bytes.
//   - Views: netlink stats64 (Links, or vtistat links converted by explain/monitor) with Index,
//     Kind and Tunnel; or /proc/net/dev (Source proc/net/dev, the sum
//     columns carrier = carrier+aborted+window+heartbeat, drop(rx) =
//     rx_dropped+rx_missed, frame = length+over+crc+frame; no Index; Kind
//     "" or set) listed in ifindex order. With or without the MIB.
//   - Link life between the readings (all at the start of the interval, so
//     every event of the interval is on the device of the later reading):
//     renamed (same ifindex and position, new name: the same link);
//     re-created (deleted and created again under the same name: new
//     ifindex, counters restart at zero, moves to the end of /proc/net/dev);
//     counter reset (same index, counters restart at zero; the earlier
//     traffic counters are large so at least they go backwards); vanished
//     (no events); appeared (counters from zero). A link's truth is the
//     events of the interval on the device that has its later name.
//   - Phase 1: no policy list (Reading.Policies nil): any mix of causes the
//     kind and kernel allow. Phase 2: policies and SAs are generated and
//     read, and each TX packet has a family (IPv4 or IPv6) whose causes the
//     configuration must allow, following xfrm_lookup_with_ifid: per tunnel
//     no policy, an IPv4-only, or an IPv4+IPv6 wildcard outbound policy,
//     matched by mark = okey (value & mask; vti, vti6) or if_id (xfrm); a
//     policy with action block gives tx-policy-block; an allow policy has a
//     tunnel-mode ESP template; no matching policy gives tx-no-policy, or
//     tx-policy-default-block when the namespace's outbound default is block
//     (5.16+; read into OutboundDefaultBlock or not); a template whose SA is
//     missing gives tx-no-sa (xfrm_larval_drop=1, the default); an SA
//     installed with direction "in" (6.10+) gives tx-sa-dir-error; a
//     template whose endpoints are not the VTI's local/remote with an SA for
//     them gives tx-sa-mismatch (vti, vti6 only); with a usable SA the lookup
//     can still fail as tx-underlay-unreachable or tx-policy-error, and only
//     then can the packet reach the post-lookup causes (routing loop, too
//     big, tx_aborted output failures, silent drops). tx-no-route (a packet
//     without a route, before the lookup), tx-unsupported-protocol and
//     tx-core-drop need no policy; RX causes are not constrained. GRE-family
//     tunnels carry no IPsec in phase 2.
//
// The checks are described in oracle_test.go.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// ---- randomness: seeded for the test, bytes for the fuzzer ----

type oRand interface{ intn(n int) int }

type oPCG struct{ r *rand.Rand }

func (p oPCG) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return p.r.IntN(n)
}

// oBytes draws choices from fuzz input; when it runs out every choice is 0,
// which is always the simplest option.
type oBytes struct {
	b []byte
	i int
}

func (r *oBytes) intn(n int) int {
	if n <= 1 || r.i >= len(r.b) {
		return 0
	}
	v := int(r.b[r.i])
	r.i++
	if n > 256 && r.i < len(r.b) {
		v = v<<8 | int(r.b[r.i])
		r.i++
	}
	return v % n
}

// chance is true with probability pct%; 0 (an exhausted fuzz input) is false.
func chance(r oRand, pct int) bool { return r.intn(100) >= 100-pct }

// ---- the catalogue, read at run time ----

var (
	oCauses  = map[explain.CauseID]explain.Cause{}
	oGenList []explain.CauseID // causes the oracle generates, in catalogue order
	oKinds   []string          // every kind a Signature.Link entry names
	// mibAlso maps a MIB counter to the MIB counters of causes whose MIBMinus
	// names it: one event moving the first moves them too.
	mibAlso = map[string][]string{}
)

func init() {
	for _, c := range explain.Causes() {
		oCauses[c.ID] = c
		for _, ls := range c.Signature.Link {
			for _, k := range ls.Kinds {
				if !slices.Contains(oKinds, k) {
					oKinds = append(oKinds, k)
				}
			}
		}
		for _, m := range c.Signature.MIBMinus {
			mibAlso[m] = append(mibAlso[m], c.Signature.MIB...)
		}
		switch {
		case c.ID == "counter-reset", c.ID == "unexplained-counter", strings.HasPrefix(string(c.ID), "kernel-"):
			continue // accounting, not events
		}
		oGenList = append(oGenList, c.ID)
	}
}

var ipsecKinds = []string{explain.KindVTI, explain.KindVTI6, explain.KindXfrm}

func isIPsecKind(k string) bool { return slices.Contains(ipsecKinds, k) }

// The TX lookup causes of xfrm_lookup_with_ifid and the VTI's state check.
var lookupCauses = []explain.CauseID{"tx-no-route", "tx-no-policy", "tx-policy-default-block", "tx-sa-mismatch",
	"tx-no-sa", "tx-underlay-unreachable", "tx-policy-block", "tx-policy-error", "tx-sa-dir-error"}

// TX causes that need no policy or SA: before the lookup, or not IP at all.
var noLookupTX = []explain.CauseID{"tx-no-route", "tx-unsupported-protocol", "tx-core-drop"}

// ---- kernels ----

type oKernel struct {
	release string
	v       explain.KernelVersion
}

var oKernelList = func() []oKernel {
	var ks []oKernel
	for _, r := range []string{"6.1.0-50-cloud-amd64", "5.10.0-32-cloud-amd64", "6.12.107+deb13-cloud-amd64", "7.3.1+bpo-cloud-amd64"} {
		v, err := explain.ParseKernelRelease(r)
		if err != nil {
			panic(err)
		}
		ks = append(ks, oKernel{r, v})
	}
	return ks
}()

func since(c explain.Cause, v explain.KernelVersion) bool {
	return !c.Since.Known() || !v.Less(c.Since)
}

// mibExists reports whether the kernel prints every MIB counter of c.
func mibExists(c explain.Cause, v explain.KernelVersion) bool {
	if len(c.Signature.MIB) == 0 {
		return false
	}
	for _, m := range c.Signature.MIB {
		if !mibPrinted(m, v) {
			return false
		}
	}
	return true
}

func mibPrinted(name string, v explain.KernelVersion) bool {
	switch name {
	case "XfrmOutStateDirError", "XfrmInStateDirError":
		return v.AtLeast(6, 10)
	case "XfrmInIptfsError", "XfrmOutNoQueueSpace":
		return v.AtLeast(6, 14)
	}
	return true
}

// ---- the world ----

type oFate uint8

const (
	fNormal oFate = iota
	fRenamed
	fRecreated
	fReset
	fVanished
	fAppeared
)

var fateNames = [...]string{"normal", "renamed", "recreated", "reset", "vanished", "appeared"}

func (f oFate) String() string { return fateNames[f] }

type oView uint8

const (
	vStats64  oView = iota // Reading.Links from netlink
	vVTIStat               // vtistat links, converted by monitor.AppendLinkReadings
	vProc                  // /proc/net/dev, Kind ""
	vProcKind              // /proc/net/dev, Kind and Tunnel set from ip -d link
)

var viewNames = [...]string{"stats64", "vtistat-links", "proc/net/dev", "proc/net/dev+kind"}

func (v oView) String() string { return viewNames[v] }
func (v oView) proc() bool     { return v >= vProc }

// oEv is n events of one cause on one link.
type oEv struct {
	cause   explain.CauseID
	variant byte // 'L' link only, 'M' link and MIB, 'S' silent (MIB, counted as sent), 'N' MIB only
	fam     byte // '4', '6' (phase 2 TX), 0 otherwise
	n       uint64
}

// Per-family outbound configuration of a tunnel (phase 2).
type oFamCfg struct {
	policy   bool // an outbound wildcard policy for this family matches the tunnel's mark / if_id
	block    bool // its action is block
	mismatch bool // its template's endpoints are not the tunnel's (vti, vti6)
}

// SA states of a template.
const (
	saMissing uint8 = iota
	saOK
	saDirIn
)

type oPolCfg struct {
	fam [2]oFamCfg // IPv4, IPv6
	sa  [2]uint8   // SA state for the tunnel's template, for the mismatched template
}

type oLink struct {
	kind         string
	nameB, nameA string
	idxB, idxA   int32
	fate         oFate
	tun          *explain.Tunnel
	sB, sA       explain.Stats64
	evs          []oEv
	pol          *oPolCfg
	wg           *oWGCfg // a wireguard link's peers (phase 2)
	// template endpoints (phase 2)
	tLocal, tRemote, mRemote netip.Addr
}

type oWorld struct {
	label    string // "phase/seed" or "fuzz"
	phase    int
	kernel   oKernel
	release  string // what the reading says: kernel.release or ""
	view     oView
	withMIB  bool
	links    []*oLink // tunnels, in creation (ifindex) order
	mibB     [32]uint64
	mibA     [32]uint64
	present  [32]bool
	defBlock bool // the namespace's true outbound default is block
	readDef  bool // OutboundDefaultBlock was read
	policies []explain.Policy
	sas      []explain.SA
}

var mibIdx = func() map[string]int {
	m := map[string]int{}
	for i, n := range procnet.KnownXfrmCounters() {
		m[n] = i
	}
	return m
}()

// linkSig returns the counters one event of c moves on kind, nil if none. An
// entry that applies only across namespaces does not apply: no link here is
// CrossNetns.
func linkSig(c explain.Cause, kind string) []string {
	for _, ls := range c.Signature.Link {
		if slices.Contains(ls.Kinds, kind) {
			if strings.Contains(ls.Note, "namespace") {
				return nil
			}
			return ls.Counters
		}
	}
	return nil
}

// variants lists how an event of c can show on kind (see the package doc).
func variants(c explain.Cause, kind string, v explain.KernelVersion) []byte {
	sig := linkSig(c, kind)
	silent := slices.Contains(c.Signature.SilentOn, kind)
	hasMIB := mibExists(c, v)
	var vs []byte
	if sig != nil {
		if hasMIB && !(silent && c.Signature.AlsoWithoutMIB) {
			vs = append(vs, 'M')
		}
		if len(c.Signature.MIB) == 0 || c.Signature.AlsoWithoutMIB {
			vs = append(vs, 'L')
		}
	}
	if silent && hasMIB {
		vs = append(vs, 'S')
	}
	if sig == nil && !silent && hasMIB && isIPsecKind(kind) {
		vs = append(vs, 'N')
	}
	return vs
}

// visibleCounters are the counters of sig a link of kind really reports on
// kernel v: xfrm interfaces before 5.11 report only packets, bytes,
// rx_dropped and tx_dropped.
func visibleCounters(sig []string, kind string, v explain.KernelVersion) []string {
	if kind != explain.KindXfrm || v.AtLeast(5, 11) {
		return sig
	}
	var out []string
	for _, c := range sig {
		if c == "rx_dropped" || c == "tx_dropped" {
			out = append(out, c)
		}
	}
	return out
}

func statField(s *explain.Stats64, name string) *uint64 {
	switch name {
	case "tx_errors":
		return &s.TxErrors
	case "tx_dropped":
		return &s.TxDropped
	case "tx_carrier_errors":
		return &s.TxCarrierErrors
	case "tx_aborted_errors":
		return &s.TxAbortedErrors
	case "tx_fifo_errors":
		return &s.TxFIFOErrors
	case "collisions":
		return &s.Collisions
	case "tx_window_errors":
		return &s.TxWindowErrors
	case "tx_heartbeat_errors":
		return &s.TxHeartbeatErrors
	case "rx_errors":
		return &s.RxErrors
	case "rx_dropped":
		return &s.RxDropped
	case "rx_missed_errors":
		return &s.RxMissedErrors
	case "rx_crc_errors":
		return &s.RxCRCErrors
	case "rx_fifo_errors":
		return &s.RxFIFOErrors
	case "rx_length_errors":
		return &s.RxLengthErrors
	case "rx_over_errors":
		return &s.RxOverErrors
	case "rx_frame_errors":
		return &s.RxFrameErrors
	}
	panic("oracle: unknown link counter " + name)
}

// procColumn names the /proc/net/dev column a stats64 field lands in.
func procColumn(name string) string {
	switch name {
	case "tx_errors", "rx_errors":
		return "errs"
	case "tx_dropped", "rx_dropped", "rx_missed_errors":
		return "drop"
	case "tx_carrier_errors", "tx_aborted_errors", "tx_window_errors", "tx_heartbeat_errors":
		return "carrier"
	case "tx_fifo_errors", "rx_fifo_errors":
		return "fifo"
	case "collisions":
		return "colls"
	case "rx_crc_errors", "rx_length_errors", "rx_over_errors", "rx_frame_errors":
		return "frame"
	}
	return name
}

var kindNameFmt = map[string]string{
	explain.KindVTI: "vti%d", explain.KindVTI6: "ip6_vti%d", explain.KindXfrm: "xfrm%d",
	explain.KindGRE: "gre%d", explain.KindGRETap: "gretap%d", explain.KindERSPAN: "erspan%d",
	explain.KindIPIP: "tunl%d", explain.KindSIT: "sit%d", explain.KindIP6GRE: "ip6gre%d",
	explain.KindIP6GRETap: "ip6gretap%d", explain.KindIP6ERSPAN: "ip6erspan%d", explain.KindIP6Tnl: "ip6tnl%d", explain.KindWireGuard: "wg%d",
}

func kindName(kind string, n int) string {
	f, ok := kindNameFmt[kind]
	if !ok {
		f = kind + "%d"
	}
	return fmt.Sprintf(f, n)
}

// ---- generation ----

// genWorld builds a world. phase is 1 (no policies) or 2 (policies and SAs).
func genWorld(r oRand, phase int, label string) *oWorld {
	w := &oWorld{label: label, phase: phase}
	w.kernel = oKernelList[r.intn(len(oKernelList))]
	if !chance(r, 20) {
		w.release = w.kernel.release
	}
	w.view = oView(r.intn(4))
	w.withMIB = !chance(r, 25)
	kv := w.kernel.v
	for i, n := range procnet.KnownXfrmCounters() {
		w.present[i] = mibPrinted(n, kv)
		if w.present[i] && chance(r, 50) {
			w.mibB[i] = uint64(r.intn(1000))
		}
	}
	w.mibA = w.mibB
	if phase == 2 && kv.AtLeast(5, 16) {
		w.defBlock = chance(r, 15)
		w.readDef = chance(r, 50)
	}

	nLinks := 1 + r.intn(3)
	if chance(r, 15) {
		nLinks += r.intn(6)
	}
	perKind := map[string]int{}
	nextIdx := int32(3) // lo 1, eth0 2
	for li := 0; li < nLinks; li++ {
		kind := oKinds[r.intn(len(oKinds))]
		if chance(r, 40) { // IPsec tunnels are what the package is about
			kind = ipsecKinds[r.intn(len(ipsecKinds))]
		}
		perKind[kind]++
		l := &oLink{kind: kind, nameB: kindName(kind, perKind[kind]), idxB: nextIdx}
		nextIdx++
		l.nameA, l.idxA = l.nameB, l.idxB
		l.tun = tunnelFor(kind, li)
		switch f := r.intn(100); {
		case f >= 96:
			l.fate = fAppeared
		case f >= 92:
			l.fate = fVanished
		case f >= 86:
			l.fate = fReset
		case f >= 80:
			l.fate = fRecreated
		case f >= 70:
			l.fate = fRenamed
		}
		w.links = append(w.links, l)
	}
	// Before counters.
	for i, l := range w.links {
		if l.fate == fAppeared {
			continue
		}
		s := &l.sB
		// A re-created link may have been young: its new counters then
		// overtake the old ones and only the new ifindex (stats64) or its
		// move to the end of /proc/net/dev shows the re-creation. It is
		// young only where that is visible: in /proc/net/dev, only if a
		// link that keeps its ifindex follows it.
		last := !slices.ContainsFunc(w.links[i+1:], func(o *oLink) bool {
			return o.fate == fNormal || o.fate == fRenamed || o.fate == fReset // keeps its place
		})
		if l.fate == fRecreated && !(w.view.proc() && last) && chance(r, 50) {
			s.RxPackets, s.TxPackets = uint64(r.intn(20)), uint64(r.intn(20))
			s.RxBytes, s.TxBytes = s.RxPackets*120, s.TxPackets*130
			continue
		}
		s.RxPackets = uint64(r.intn(5000))
		s.TxPackets = uint64(r.intn(5000))
		if l.fate == fReset || l.fate == fRecreated {
			s.RxPackets += 100000
			s.TxPackets += 100000
		}
		s.RxBytes, s.TxBytes = s.RxPackets*120, s.TxPackets*130
		if chance(r, 40) {
			for _, name := range []string{"tx_errors", "tx_dropped", "tx_carrier_errors", "tx_aborted_errors", "collisions", "rx_errors", "rx_dropped", "rx_crc_errors", "rx_fifo_errors", "rx_length_errors", "rx_frame_errors", "tx_fifo_errors"} {
				if chance(r, 30) {
					*statField(s, name) = uint64(r.intn(40))
				}
			}
			// The kernel counts tx_errors (rx_errors) with every specific
			// TX (RX) error: keep the base consistent with that, so that a
			// link whose old counters are read as new (a rename at the end
			// of /proc/net/dev) looks as the kernel would show it.
			s.TxErrors += s.TxCarrierErrors + s.TxAbortedErrors + s.Collisions + s.TxFIFOErrors
			s.RxErrors += s.RxCRCErrors + s.RxFIFOErrors + s.RxLengthErrors + s.RxFrameErrors
			if isIPsecKind(l.kind) { // an IPsec input error is a drop too
				s.RxDropped += s.RxErrors
			}
			switch l.kind { // kinds that drop with every error but aborted ones
			case explain.KindVTI6, explain.KindXfrm, explain.KindIP6GRE, explain.KindIP6GRETap, explain.KindIP6ERSPAN, explain.KindIP6Tnl:
				s.TxDropped += s.TxErrors - s.TxAbortedErrors
			}
			// keep the base consistent with the kind on old xfrm kernels
			if l.kind == explain.KindXfrm && !kv.AtLeast(5, 11) {
				*s = explain.Stats64{RxPackets: s.RxPackets, TxPackets: s.TxPackets, RxBytes: s.RxBytes, TxBytes: s.TxBytes, RxDropped: s.RxDropped, TxDropped: s.TxDropped}
			}
		}
	}
	// Life events.
	for _, l := range w.links {
		switch l.fate {
		case fRenamed:
			perKind[l.kind]++
			l.nameA = kindName(l.kind, perKind[l.kind]+10)
		case fRecreated, fAppeared:
			l.idxA = nextIdx
			nextIdx++
			if l.fate == fAppeared {
				l.nameB, l.idxB = "", 0
			}
		case fVanished:
			l.nameA, l.idxA = "", 0
		}
	}
	if phase == 2 {
		genPolicies(r, w)
		genWireGuard(r, w)
	}
	// Events and after counters.
	for _, l := range w.links {
		if l.fate == fVanished {
			continue
		}
		s := &l.sA
		if l.fate == fNormal || l.fate == fRenamed {
			*s = l.sB
		}
		if !chance(r, 10) {
			p := uint64(r.intn(3000))
			s.RxPackets += p
			s.RxBytes += p * 120
			p = uint64(r.intn(3000))
			s.TxPackets += p
			s.TxBytes += p * 130
		}
		nc := r.intn(4)
		for range nc {
			fam := byte(0)
			if phase == 2 {
				fam = '4'
				if chance(r, 35) {
					fam = '6'
				}
			}
			allowed := w.allowedCauses(l, fam)
			if len(allowed) == 0 {
				continue
			}
			kc := allowed[r.intn(len(allowed))]
			id, vs := kc.id, kc.variants
			c := oCauses[id]
			ev := oEv{cause: id, variant: vs[r.intn(len(vs))], n: uint64(1 + r.intn(4))}
			if phase == 2 && strings.HasPrefix(string(id), "tx-") {
				ev.fam = fam
			}
			w.apply(l, c, ev)
			l.evs = append(l.evs, ev)
		}
	}
	return w
}

func tunnelFor(kind string, i int) *explain.Tunnel {
	t := &explain.Tunnel{}
	switch kind {
	case explain.KindXfrm:
		t.IfID = uint32(0x200 + i)
		return t
	case explain.KindVTI6, explain.KindIP6GRE, explain.KindIP6GRETap, explain.KindIP6ERSPAN, explain.KindIP6Tnl:
		t.Local = netip.MustParseAddr("2001:db8::1")
		t.Remote = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(i + 1)})
	default:
		t.Local = netip.MustParseAddr("192.0.2.1")
		t.Remote = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
	}
	if isIPsecKind(kind) {
		t.IKey, t.OKey = uint32(0x100+i), uint32(0x100+i)
	}
	return t
}

// kindCauses lists the causes that can happen on kind under kernel v, with
// their variants; it depends only on the catalogue, so it is computed once.
type oKindCause struct {
	id       explain.CauseID
	variants []byte
}

var kindCausesCache sync.Map // kind + "/" + version → []oKindCause

func kindCauses(kind string, v explain.KernelVersion) []oKindCause {
	key := kind + "/" + v.String()
	if x, ok := kindCausesCache.Load(key); ok {
		return x.([]oKindCause)
	}
	var out []oKindCause
	for _, id := range oGenList {
		c := oCauses[id]
		if vs := variants(c, kind, v); since(c, v) && len(vs) > 0 {
			out = append(out, oKindCause{id, vs})
		}
	}
	kindCausesCache.Store(key, out)
	return out
}

// allowedCauses lists the causes an event of family fam (phase 2 TX) on l
// can have.
func (w *oWorld) allowedCauses(l *oLink, fam byte) []oKindCause {
	all := kindCauses(l.kind, w.kernel.v)
	if w.phase == 1 {
		return all
	}
	var out []oKindCause
	for _, kc := range all {
		if w.phase2Allows(l, fam, oCauses[kc.id]) {
			out = append(out, kc)
		}
	}
	return out
}

// phase2Allows follows xfrm_lookup_with_ifid for a packet of family fam.
func (w *oWorld) phase2Allows(l *oLink, fam byte, c explain.Cause) bool {
	id := c.ID
	if l.kind == explain.KindWireGuard {
		return w.wgAllows(l, fam, c)
	}
	if !isIPsecKind(l.kind) {
		// GRE-family tunnels carry no IPsec here.
		return len(c.Signature.MIB) == 0 && (id == "tx-no-route" || !slices.Contains(lookupCauses, id))
	}
	if !strings.HasPrefix(string(id), "tx-") || slices.Contains(noLookupTX, id) {
		return true
	}
	out := w.lookupOutcome(l, fam)
	if slices.Contains(lookupCauses, id) {
		return slices.Contains(out, id)
	}
	// Post-lookup causes need a successful lookup.
	return slices.Contains(out, "tx-underlay-unreachable")
}

// lookupOutcome lists the lookup causes a packet of family fam can meet.
func (w *oWorld) lookupOutcome(l *oLink, fam byte) []explain.CauseID {
	fi := 0
	if fam == '6' {
		fi = 1
	}
	fc := l.pol.fam[fi]
	sa := l.pol.sa[0]
	if fc.mismatch {
		sa = l.pol.sa[1]
	}
	switch {
	case !fc.policy:
		if w.defBlock {
			return []explain.CauseID{"tx-policy-default-block"}
		}
		return []explain.CauseID{"tx-no-policy"}
	case fc.block:
		return []explain.CauseID{"tx-policy-block"}
	case sa == saMissing:
		return []explain.CauseID{"tx-no-sa"}
	case sa == saDirIn:
		return []explain.CauseID{"tx-sa-dir-error"}
	case fc.mismatch:
		return []explain.CauseID{"tx-sa-mismatch"}
	}
	return []explain.CauseID{"tx-underlay-unreachable", "tx-policy-error"}
}

func genPolicies(r oRand, w *oWorld) {
	w.policies = []explain.Policy{}
	w.sas = []explain.SA{}
	kv := w.kernel.v
	var index uint32 = 8
	for i, l := range w.links {
		l.pol = &oPolCfg{}
		if !isIPsecKind(l.kind) {
			continue
		}
		// Template endpoints.
		switch l.kind {
		case explain.KindXfrm:
			l.tLocal = netip.MustParseAddr("203.0.113.1")
			l.tRemote = netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)})
		default:
			l.tLocal, l.tRemote = l.tun.Local, l.tun.Remote
			if l.kind == explain.KindVTI {
				l.mRemote = netip.AddrFrom4([4]byte{198, 51, 100, byte(200 + i)})
			} else {
				l.mRemote = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 15: byte(i + 1)})
			}
		}
		nfam := r.intn(3) // none, IPv4 only, IPv4+IPv6
		for f := range nfam {
			fc := &l.pol.fam[f]
			fc.policy = true
			fc.block = chance(r, 12)
			fc.mismatch = !fc.block && l.kind != explain.KindXfrm && chance(r, 15)
		}
		for t := range 2 {
			switch x := r.intn(100); {
			case x < 45:
				l.pol.sa[t] = saMissing
			case x < 55 && kv.AtLeast(6, 10):
				l.pol.sa[t] = saDirIn
			default:
				l.pol.sa[t] = saOK
			}
		}
		for f := range nfam {
			fc := l.pol.fam[f]
			p := explain.Policy{Dir: explain.DirOut, Index: index}
			index += 8
			if f == 0 {
				p.Selector = explain.Selector{Src: netip.MustParsePrefix("0.0.0.0/0"), Dst: netip.MustParsePrefix("0.0.0.0/0"), Family: 2}
			} else {
				p.Selector = explain.Selector{Src: netip.MustParsePrefix("::/0"), Dst: netip.MustParsePrefix("::/0"), Family: 10}
			}
			remote := l.tRemote
			if fc.mismatch {
				remote = l.mRemote
			}
			if fc.block {
				p.Action = explain.ActionBlock
			} else {
				p.Templates = []explain.Template{{Src: l.tLocal, Dst: remote, Proto: 50, Mode: explain.ModeTunnel}}
			}
			in := explain.Policy{Dir: explain.DirIn, Index: index, Selector: p.Selector,
				Templates: []explain.Template{{Src: remote, Dst: l.tLocal, Proto: 50, Mode: explain.ModeTunnel}}}
			index += 8
			if l.kind == explain.KindXfrm {
				p.IfID, in.IfID = l.tun.IfID, l.tun.IfID
			} else {
				p.Mark = &explain.Mark{Value: l.tun.OKey, Mask: 0xffffffff}
				in.Mark = &explain.Mark{Value: l.tun.IKey, Mask: 0xffffffff}
			}
			w.policies = append(w.policies, p, in)
		}
		for t, remote := range []netip.Addr{l.tRemote, l.mRemote} {
			if !remote.IsValid() || l.pol.sa[t] == saMissing {
				continue
			}
			sa := explain.SA{Src: l.tLocal, Dst: remote, SPI: uint32(0xc0000000 + i*16 + t), Proto: 50,
				Mode: explain.ModeTunnel}
			// The SA's direction (XFRMA_SA_DIR, 6.10+) is not part of
			// explain's input: an outbound SA marked inbound (saDirIn)
			// looks like a usable one, which the world's truth allows for.
			inSA := explain.SA{Src: remote, Dst: l.tLocal, SPI: uint32(0xd0000000 + i*16 + t), Proto: 50,
				Mode: explain.ModeTunnel}
			if l.kind == explain.KindXfrm {
				sa.IfID, inSA.IfID = l.tun.IfID, l.tun.IfID
			} else {
				sa.Mark = &explain.Mark{Value: l.tun.OKey, Mask: 0xffffffff}
				inSA.Mark = &explain.Mark{Value: l.tun.IKey, Mask: 0xffffffff}
			}
			w.sas = append(w.sas, sa, inSA)
		}
	}
}

// apply moves the counters of ev on l and in the MIB.
func (w *oWorld) apply(l *oLink, c explain.Cause, ev oEv) {
	kv := w.kernel.v
	switch ev.variant {
	case 'L', 'M':
		for _, name := range visibleCounters(linkSig(c, l.kind), l.kind, kv) {
			*statField(&l.sA, name) += ev.n
		}
	case 'S':
		l.sA.TxPackets += ev.n
		l.sA.TxBytes += ev.n // one byte per packet (VTI: NET_XMIT_DROP counted as sent)
	}
	if ev.variant == 'L' {
		return
	}
	for _, m := range c.Signature.MIB {
		w.mibA[mibIdx[m]] += ev.n
		for _, also := range mibAlso[m] {
			w.mibA[mibIdx[also]] += ev.n
		}
	}
}

// ---- readings ----

// mib renders the counters as the kernel prints /proc/net/xfrm_stat and
// parses them, so which counters are present is what a real reading has.
func (w *oWorld) mib(v [32]uint64) *procnet.XfrmStat {
	b := make([]byte, 0, 1200)
	for i, n := range procnet.KnownXfrmCounters() {
		if w.present[i] {
			b = append(b, n...)
			b = append(b, "          \t"...)
			b = strconv.AppendUint(b, v[i], 10)
			b = append(b, '\n')
		}
	}
	s, err := procnet.ParseXfrmStat(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	return s
}

type oLinkState struct {
	name  string
	idx   int32
	kind  string
	tun   *explain.Tunnel
	stats explain.Stats64
}

func (w *oWorld) linkStates(after bool) []oLinkState {
	ls := []oLinkState{
		{name: "lo", idx: 1, stats: explain.Stats64{RxPackets: 100, TxPackets: 100, RxBytes: 6400, TxBytes: 6400}},
		{name: "eth0", idx: 2, kind: "", stats: explain.Stats64{RxPackets: 1e6, TxPackets: 9e5, RxBytes: 1e9, TxBytes: 8e8}},
	}
	if after {
		ls[0].stats.RxPackets += 10
		ls[0].stats.TxPackets += 10
		ls[1].stats.RxPackets += 1000
		ls[1].stats.TxPackets += 900
	}
	for _, l := range w.links {
		if after && l.nameA != "" {
			ls = append(ls, oLinkState{l.nameA, l.idxA, l.kind, l.tun, l.sA})
		}
		if !after && l.nameB != "" {
			ls = append(ls, oLinkState{l.nameB, l.idxB, l.kind, l.tun, l.sB})
		}
	}
	slices.SortStableFunc(ls, func(a, b oLinkState) int { return int(a.idx - b.idx) })
	return ls
}

func devStats(name string, s *explain.Stats64) procnet.DevStats {
	return procnet.DevStats{
		Name: name, RxBytes: s.RxBytes, RxPackets: s.RxPackets, RxErrors: s.RxErrors,
		RxDropSum: procnet.Sum(s.RxDropped + s.RxMissedErrors), RxFIFOErrors: s.RxFIFOErrors,
		RxFrameSum:   procnet.Sum(s.RxLengthErrors + s.RxOverErrors + s.RxCRCErrors + s.RxFrameErrors),
		RxCompressed: s.RxCompressed, RxMulticast: s.Multicast,
		TxBytes: s.TxBytes, TxPackets: s.TxPackets, TxErrors: s.TxErrors, TxDropped: s.TxDropped,
		TxFIFOErrors: s.TxFIFOErrors, Collisions: s.Collisions,
		TxCarrierSum: procnet.Sum(s.TxCarrierErrors + s.TxAbortedErrors + s.TxWindowErrors + s.TxHeartbeatErrors),
		TxCompressed: s.TxCompressed,
	}
}

func (w *oWorld) reading(after bool) *explain.Reading {
	rd := &explain.Reading{KernelRelease: w.release}
	for _, s := range w.linkStates(after) {
		switch w.view {
		case vStats64:
			rd.Links = append(rd.Links, explain.LinkReading{Name: s.name, Index: s.idx, Kind: s.kind, Tunnel: s.tun,
				Source: explain.SourceStats64, Stats: s.stats})
		case vVTIStat:
			// As a poll loop hands them over: vtistat links converted by
			// explain/monitor.
			var tun *vtistat.Tunnel
			if s.tun != nil {
				tun = &vtistat.Tunnel{Local: s.tun.Local, Remote: s.tun.Remote, IKey: s.tun.IKey, OKey: s.tun.OKey, Link: s.tun.Link, IfID: s.tun.IfID}
			}
			rd.Links = monitor.AppendLinkReadings(rd.Links, []vtistat.Link{{Index: s.idx, Name: s.name, Kind: s.kind, LinkNetNSID: -1,
				Stats: vtistat.Stats64(s.stats), StatsSource: vtistat.Stats64Bit, Tunnel: tun}})
		case vProc, vProcKind:
			dev := devStats(s.name, &s.stats)
			lr := explain.LinkReading{Name: s.name, Source: explain.SourceProcNetDev, Dev: &dev}
			if w.view == vProcKind {
				lr.Kind, lr.Tunnel = s.kind, s.tun
			}
			rd.Links = append(rd.Links, lr)
		}
	}
	if w.withMIB {
		if after {
			rd.MIB = w.mib(w.mibA)
		} else {
			rd.MIB = w.mib(w.mibB)
		}
	}
	if w.phase == 2 {
		rd.WireGuard = w.wgReading(after)
	}
	if after && w.phase == 2 {
		rd.Policies, rd.SAs = w.policies, w.sas
		if w.readDef {
			b := w.defBlock
			rd.OutboundDefaultBlock = &b
		}
	}
	return rd
}
