package explain

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// Realistic values for hand-made readings: a VTI between 192.0.2.1 and
// 198.51.100.2 (documentation prefixes) with ikey/okey 0x10, as strongSwan
// installs them with mark=16.
var (
	tLocal  = netip.MustParseAddr("192.0.2.1")
	tRemote = netip.MustParseAddr("198.51.100.2")
	t0      = time.Date(2025, 5, 20, 10, 0, 0, 0, time.UTC)
)

func vtiTunnel() *Tunnel {
	return &Tunnel{Local: tLocal, Remote: tRemote, IKey: 0x10, OKey: 0x10, Link: 2}
}

// link builds a stats64 link; traffic counters are set so that the
// readings look like a busy tunnel.
func link(name, kind string, idx int32, s Stats64) LinkReading {
	s.RxPackets += 1_000_000
	s.TxPackets += 900_000
	s.RxBytes += 1_200_000_000
	s.TxBytes += 1_000_000_000
	l := LinkReading{Name: name, Index: idx, Kind: kind, Source: SourceStats64, Stats: s}
	if kind == KindVTI || kind == KindVTI6 || kind == KindXfrm {
		l.Tunnel = vtiTunnel()
	}
	if kind == KindVTI6 {
		l.Tunnel.Local = netip.MustParseAddr("2001:db8::1")
		l.Tunnel.Remote = netip.MustParseAddr("2001:db8:1::2")
	}
	if kind == KindXfrm {
		l.Tunnel = &Tunnel{IfID: 7, Link: 2}
	}
	return l
}

// underlay is the namespace's uplink, always present and quiet.
func underlay() LinkReading {
	return LinkReading{Name: "eth0", Index: 2, Kind: "", Source: SourceStats64,
		Stats: Stats64{RxPackets: 5_000_000, TxPackets: 4_000_000}}
}

// mib returns a MIB with every counter present and the given ones set.
func mib(kv ...any) *procnet.XfrmStat {
	var text []byte
	for _, name := range procnet.KnownXfrmCounters() {
		text = append(text, name+"\t0\n"...)
	}
	s, err := procnet.ParseXfrmStat(bytes.NewReader(text))
	if err != nil {
		panic(err) // the known names, printed as the kernel does
	}
	for i := 0; i < len(kv); i += 2 {
		setMIB(s, kv[i].(string), uint64(kv[i+1].(int)))
	}
	return s
}

func setMIB(s *procnet.XfrmStat, name string, v uint64) {
	p := map[string]*uint64{
		"XfrmInError": &s.InError, "XfrmInBufferError": &s.InBufferError, "XfrmInHdrError": &s.InHdrError,
		"XfrmInNoStates": &s.InNoStates, "XfrmInStateProtoError": &s.InStateProtoError,
		"XfrmInStateModeError": &s.InStateModeError, "XfrmInStateSeqError": &s.InStateSeqError,
		"XfrmInStateExpired": &s.InStateExpired, "XfrmInStateMismatch": &s.InStateMismatch,
		"XfrmInStateInvalid": &s.InStateInvalid, "XfrmInTmplMismatch": &s.InTmplMismatch,
		"XfrmInNoPols": &s.InNoPols, "XfrmInPolBlock": &s.InPolBlock, "XfrmInPolError": &s.InPolError,
		"XfrmOutError": &s.OutError, "XfrmOutBundleGenError": &s.OutBundleGenError,
		"XfrmOutBundleCheckError": &s.OutBundleCheckError, "XfrmOutNoStates": &s.OutNoStates,
		"XfrmOutStateProtoError": &s.OutStateProtoError, "XfrmOutStateModeError": &s.OutStateModeError,
		"XfrmOutStateSeqError": &s.OutStateSeqError, "XfrmOutStateExpired": &s.OutStateExpired,
		"XfrmOutPolBlock": &s.OutPolBlock, "XfrmOutPolDead": &s.OutPolDead, "XfrmOutPolError": &s.OutPolError,
		"XfrmFwdHdrError": &s.FwdHdrError, "XfrmOutStateInvalid": &s.OutStateInvalid,
		"XfrmAcquireError": &s.AcquireError, "XfrmOutStateDirError": &s.OutStateDirError,
		"XfrmInStateDirError": &s.InStateDirError, "XfrmInIptfsError": &s.InIptfsError,
		"XfrmOutNoQueueSpace": &s.OutNoQueueSpace,
	}[name]
	if p == nil {
		panic("unknown MIB counter " + name)
	}
	*p = v
}

// pair returns a before reading with the links' counters at a realistic
// baseline and an after reading where the given deltas happened.
func pair(release string, links []LinkReading, mibBefore, mibAfter *procnet.XfrmStat) (*Reading, *Reading) {
	before := &Reading{Time: t0, KernelRelease: release, MIB: mibBefore}
	after := &Reading{Time: t0.Add(10 * time.Second), KernelRelease: release, MIB: mibAfter}
	before.Links = append(before.Links, underlay())
	after.Links = append(after.Links, underlay())
	for _, l := range links {
		b := l
		b.Stats = Stats64{RxPackets: 1_000_000, TxPackets: 900_000, RxBytes: 1_200_000_000, TxBytes: 1_000_000_000}
		before.Links = append(before.Links, b)
		after.Links = append(after.Links, l)
	}
	return before, after
}

// want is an expected finding.
type want struct {
	iface string
	cause CauseID
	count uint64
	cert  Certainty
}

func findingsOf(rep Report, iface string) []Finding {
	var out []Finding
	for _, f := range rep.Findings {
		if f.Interface == iface {
			out = append(out, f)
		}
	}
	return out
}

func find(rep Report, iface string, cause CauseID) *Finding {
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if f.Interface == iface && f.Cause == cause {
			return f
		}
	}
	return nil
}

func mustFind(t *testing.T, rep Report, w want) *Finding {
	t.Helper()
	f := find(rep, w.iface, w.cause)
	if f == nil {
		t.Fatalf("no finding %s on %q; report:\n%s", w.cause, w.iface, rep.String())
	}
	if f.Count != w.count || f.Certainty != w.cert {
		t.Fatalf("%s on %q: got %d %s, want %d %s; report:\n%s", w.cause, w.iface, f.Count, f.Certainty, w.count, w.cert, rep.String())
	}
	return f
}

// causesOn returns the causes of the link findings of one group, sorted.
func causesOn(rep Report, iface string, skipKernel bool) []CauseID {
	var ids []CauseID
	for _, f := range rep.Findings {
		if f.Interface != iface || (skipKernel && strings.HasPrefix(string(f.Cause), "kernel-")) {
			continue
		}
		ids = append(ids, f.Cause)
	}
	slices.Sort(ids)
	return ids
}

func ids(s ...string) []CauseID {
	out := make([]CauseID, len(s))
	for i := range s {
		out[i] = CauseID(s[i])
	}
	slices.Sort(out)
	return out
}

// outPolicy is an outbound VTI policy as strongSwan installs it for a
// route-based tunnel: wildcard selector, mark = okey, one ESP template.
func outPolicy(mark uint32, tmpl Template) Policy {
	return Policy{
		Selector:  Selector{Src: netip.MustParsePrefix("0.0.0.0/0"), Dst: netip.MustParsePrefix("0.0.0.0/0"), Family: 2},
		Dir:       DirOut,
		Templates: []Template{tmpl},
		Mark:      &Mark{Value: mark, Mask: 0xffffffff},
	}
}

// dualStack returns p and its IPv6 twin (selector ::/0), as an IKE daemon
// installs them for traffic selectors 0.0.0.0/0,::/0: together they cover
// every flow the tunnel can carry.
func dualStack(p Policy) []Policy {
	p6 := p
	p6.Selector.Src, p6.Selector.Dst, p6.Selector.Family = netip.MustParsePrefix("::/0"), netip.MustParsePrefix("::/0"), 10
	return []Policy{p, p6}
}

func tunnelTmpl(src, dst netip.Addr) Template {
	return Template{Src: src, Dst: dst, Proto: 50, Mode: ModeTunnel}
}

func boolp(b bool) *bool { return &b }
