package explain_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// Hand-built worlds, one per class of false claim TestSoundnessOracle
// found in the engine it was first run against, judged by the same model
// and checks. They are minimal reproductions, not skips: each fails while
// the engine makes the false claim.

func handWorld(label string, release string, view oView, withMIB bool, phase int) *oWorld {
	w := &oWorld{label: label, phase: phase, view: view, withMIB: withMIB, release: release}
	for _, k := range oKernelList {
		if k.release == release {
			w.kernel = k
		}
	}
	for i, n := range procnet.KnownXfrmCounters() {
		w.present[i] = mibPrinted(n, w.kernel.v)
	}
	return w
}

func (w *oWorld) hand(kind, nameB, nameA string, idxB, idxA int32, fate oFate, before explain.Stats64) *oLink {
	l := &oLink{kind: kind, nameB: nameB, nameA: nameA, idxB: idxB, idxA: idxA, fate: fate, sB: before, tun: tunnelFor(kind, len(w.links))}
	if nameB == "" {
		l.sB = explain.Stats64{}
	}
	if fate == fNormal || fate == fRenamed {
		l.sA = l.sB
	}
	l.sA.TxPackets += 100
	l.sA.TxBytes += 13000
	l.pol = &oPolCfg{}
	w.links = append(w.links, l)
	return l
}

func (w *oWorld) handEvent(l *oLink, id explain.CauseID, variant byte, fam byte, n uint64) {
	ev := oEv{cause: id, variant: variant, fam: fam, n: n}
	w.apply(l, oCauses[id], ev)
	l.evs = append(l.evs, ev)
}

func TestSoundnessOracleKnown(t *testing.T) {
	base := explain.Stats64{TxPackets: 5000, RxPackets: 5000, TxBytes: 650000, RxBytes: 600000}
	cases := map[string]func() *oWorld{
		// An xfrm interface whose only outbound policy is IPv4 0.0.0.0/0
		// without an SA: 3 IPv4 packets meet no SA (XfrmOutNoStates +3), an
		// IPv6 router solicitation meets no policy.
		"xfrm IPv4-only policy, IPv6 packet has no policy": func() *oWorld {
			w := handWorld("known/xfrm-ipv6-no-policy", "6.1.0-50-cloud-amd64", vStats64, true, 2)
			l := w.hand(explain.KindXfrm, "xfrm1", "xfrm1", 3, 3, fNormal, base)
			l.pol.fam[0] = oFamCfg{policy: true}
			l.tLocal, l.tRemote = netipMust("203.0.113.1"), netipMust("203.0.113.10")
			w.policies = []explain.Policy{{Dir: explain.DirOut, IfID: l.tun.IfID, Index: 8,
				Selector:  explain.Selector{Src: prefixMust("0.0.0.0/0"), Dst: prefixMust("0.0.0.0/0"), Family: 2},
				Templates: []explain.Template{{Src: l.tLocal, Dst: l.tRemote, Proto: 50, Mode: explain.ModeTunnel}}}}
			w.sas = []explain.SA{}
			w.handEvent(l, "tx-no-sa", 'M', '4', 3)
			w.handEvent(l, "tx-no-policy", 'L', '6', 1)
			return w
		},
		// A VTI renamed between the readings (same ifindex, same
		// position): nothing happened on it.
		"renamed VTI, nothing happened": func() *oWorld {
			w := handWorld("known/renamed-vti", "6.1.0-50-cloud-amd64", vStats64, true, 1)
			b := base
			b.TxErrors, b.TxCarrierErrors = 7, 7
			w.hand(explain.KindVTI, "vti1", "vti11", 3, 3, fRenamed, b)
			return w
		},
		// /proc/net/dev: vti1 deleted and created again; it moves behind
		// vti2 and its new counters overtake the old ones.
		"proc-net-dev re-created VTI": func() *oWorld {
			w := handWorld("known/procnet-recreated", "6.1.0-50-cloud-amd64", vProcKind, false, 1)
			young := explain.Stats64{TxPackets: 3, TxBytes: 300, TxErrors: 1, TxCarrierErrors: 1}
			l := w.hand(explain.KindVTI, "vti1", "vti1", 3, 5, fRecreated, young)
			w.hand(explain.KindVTI, "vti2", "vti2", 4, 4, fNormal, base)
			w.handEvent(l, "tx-no-policy", 'L', 0, 3)
			return w
		},
		// An xfrm interface on 5.10 reports no error field but
		// rx_dropped and tx_dropped: two missing SAs show as tx_dropped +2.
		"xfrm interface on 5.10": func() *oWorld {
			w := handWorld("known/xfrm-5.10", "5.10.0-32-cloud-amd64", vStats64, true, 1)
			l := w.hand(explain.KindXfrm, "xfrm1", "xfrm1", 3, 3, fNormal, base)
			w.handEvent(l, "tx-no-sa", 'M', 0, 2)
			return w
		},
		// A GRE tunnel over IPsec counts a packet without SA as sent
		// (SilentOn): XfrmOutNoStates +3 is its, not the VTI's.
		"silent GRE events share the MIB": func() *oWorld {
			w := handWorld("known/silent-gre", "6.1.0-50-cloud-amd64", vStats64, true, 1)
			g := w.hand(explain.KindGRE, "gre1", "gre1", 3, 3, fNormal, base)
			v := w.hand(explain.KindVTI, "vti1", "vti1", 4, 4, fNormal, base)
			w.handEvent(g, "tx-no-sa", 'S', 0, 3)
			w.handEvent(v, "tx-sa-mismatch", 'L', 0, 3)
			return w
		},
		// A VTI with no outbound policy at all: a packet that reached it
		// without a route (bpf_redirect) fails the route lookup first.
		"no-route under a policy list": func() *oWorld {
			w := handWorld("known/no-route", "6.1.0-50-cloud-amd64", vStats64, true, 2)
			w.policies, w.sas = []explain.Policy{}, []explain.SA{}
			l := w.hand(explain.KindVTI, "vti1", "vti1", 3, 3, fNormal, base)
			w.handEvent(l, "tx-no-route", 'L', '4', 1)
			return w
		},
		// A GRE tunnel whose counters were reset still shares the MIB.
		"reset link shares the MIB": func() *oWorld {
			w := handWorld("known/reset-sibling", "6.1.0-50-cloud-amd64", vStats64, true, 1)
			b := base
			b.TxPackets, b.RxPackets = 100000, 100000
			g := w.hand(explain.KindGRE, "gre1", "gre1", 3, 3, fReset, b)
			v := w.hand(explain.KindVTI, "vti1", "vti1", 4, 4, fNormal, base)
			w.handEvent(g, "tx-underlay-unreachable", 'M', 0, 2)
			w.handEvent(v, "tx-no-route", 'L', 0, 2)
			return w
		},
		// Four crypto-queue drops counted as sent on a VTI, plus one output
		// failure of another kind: all four XfrmOutStateProtoError are drops
		// counted as sent.
		"kernel-drops-counted-as-sent bound": func() *oWorld {
			w := handWorld("known/drops-counted-as-sent", "6.12.107+deb13-cloud-amd64", vStats64, true, 1)
			v := w.hand(explain.KindVTI, "vti1", "vti1", 3, 3, fNormal, base)
			w.handEvent(v, "tx-crypto-backlog", 'S', 0, 4)
			w.handEvent(v, "tx-sa-invalid", 'M', 0, 1)
			return w
		},
		// A VTI counts a full crypto queue as sent (SilentOn): the
		// XfrmOutStateProtoError is not one of the link's carrier errors.
		"silent VTI crypto drop taken for a link error": func() *oWorld {
			w := handWorld("known/silent-vti-crypto", "6.1.0-50-cloud-amd64", vProcKind, true, 1)
			v := w.hand(explain.KindVTI, "vti1", "vti1", 3, 3, fNormal, base)
			w.handEvent(v, "tx-crypto-backlog", 'S', 0, 1)
			w.handEvent(v, "tx-sa-expired", 'M', 0, 1)
			w.handEvent(v, "tx-no-route", 'L', 0, 1)
			return w
		},
		// A policy settles one family only: the IPv6 packets of a vti6
		// whose only outbound policy is an IPv4 block policy meet no policy.
		"vti6 IPv4 block policy, IPv6 packets have no policy": func() *oWorld {
			w := handWorld("known/vti6-ipv6-no-policy", "7.3.1+bpo-cloud-amd64", vStats64, true, 2)
			l := w.hand(explain.KindVTI6, "ip6_vti1", "ip6_vti1", 3, 3, fNormal, base)
			l.pol.fam[0] = oFamCfg{policy: true, block: true}
			w.policies = []explain.Policy{{Dir: explain.DirOut, Action: explain.ActionBlock, Index: 8,
				Mark:     &explain.Mark{Value: l.tun.OKey, Mask: 0xffffffff},
				Selector: explain.Selector{Src: prefixMust("0.0.0.0/0"), Dst: prefixMust("0.0.0.0/0"), Family: 2}}}
			w.sas = []explain.SA{}
			w.handEvent(l, "tx-policy-block", 'M', '4', 1)
			w.handEvent(l, "tx-no-policy", 'L', '6', 2)
			return w
		},
		// Kernel default names in /proc/net/dev without kinds.
		"ip6_vti default name in proc-net-dev": func() *oWorld {
			w := handWorld("known/ip6_vti-name", "6.1.0-50-cloud-amd64", vProc, true, 1)
			l := w.hand(explain.KindVTI6, "ip6_vti1", "ip6_vti1", 3, 3, fNormal, base)
			w.handEvent(l, "tx-unsupported-protocol", 'L', 0, 1)
			return w
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			w := mk()
			rep, vs := runWorld(w)
			if len(vs) == 0 {
				t.Logf("no false claim\n%s  report:\n%s", w.dump(), reportDump(rep))
				return
			}
			var b strings.Builder
			for _, v := range vs {
				fmt.Fprintf(&b, "false claim: %s\n  %s\n", v.class, v.msg)
			}
			t.Errorf("%s%s  report:\n%s", b.String(), w.dump(), reportDump(rep))
		})
	}
}

func netipMust(s string) netip.Addr    { return netip.MustParseAddr(s) }
func prefixMust(s string) netip.Prefix { return netip.MustParsePrefix(s) }
