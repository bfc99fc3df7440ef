package explain

import (
	"net/netip"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// The counters of a VTI lookup failure are the same whether no policy
// matched, the matched policy's SA had other endpoints, or the policy had
// no SA. The policy list (as of the later reading) settles most of it:
// which outbound policies can match the tunnel's traffic (mark = okey,
// if_id 0), what they do, and what their templates say.

// txLookupCauses are the causes a resolution may rule in or out.
var txLookupCauses = [...]CauseID{
	"tx-no-policy", "tx-policy-default-block", "tx-sa-mismatch", "tx-no-sa",
	"tx-policy-block", "tx-policy-error", "tx-sa-dir-error", "tx-underlay-unreachable",
}

// resolution is what the configuration says about one tunnel's TX lookup.
type resolution struct {
	done    bool
	exclude map[CauseID]bool
	why     string
	wg      bool // a wireguard link's peer lists (resolveWG), not the policy list
}

func (r *resolution) excluded(id CauseID) bool { return r.done && r.exclude[id] }

// bears reports whether the resolution speaks to cause c: the policy list
// to the lookup failures, the peer list to the WireGuard causes.
func (r *resolution) bears(c *Cause) bool {
	if r.wg {
		return isWGResolvable(c)
	}
	return isTxLookup(c)
}

// markMatches reports whether a flow marked m matches an XFRM mark (nil:
// 0/0, which matches every mark), as xfrm_policy_match does.
func markMatches(pm *Mark, m uint32) bool {
	if pm == nil {
		return true
	}
	return m&pm.Mask == pm.Value
}

func wildcardPrefix(p netip.Prefix) bool { return !p.IsValid() || p.Bits() == 0 }

// selectorFamily is the address family a selector matches: its Family, or
// where that is unset, its prefixes'.
func selectorFamily(s *Selector) uint16 {
	if s.Family != 0 {
		return s.Family
	}
	for _, p := range [...]netip.Prefix{s.Dst, s.Src} {
		if p.IsValid() {
			if p.Addr().Is4() {
				return xfrm.AFInet
			}
			return xfrm.AFInet6
		}
	}
	return 0
}

func wildcardSelector(s *Selector) bool {
	return wildcardPrefix(s.Src) && wildcardPrefix(s.Dst) && s.Proto == 0 &&
		s.SrcPortMask == 0 && s.DstPortMask == 0 && s.IfIndex == 0
}

// resolveTX looks at the outbound policies that can match the tunnel's
// traffic and returns the lookup-failure causes they rule out. look finds
// the policies (a scan when nil).
func resolveTX(kind string, t *Tunnel, r *Reading, look *lookups) resolution {
	if r.Policies == nil || t == nil {
		return resolution{}
	}
	res := resolution{done: true, exclude: map[CauseID]bool{}}
	exclude := func(ids ...CauseID) {
		for _, id := range ids {
			res.exclude[id] = true
		}
	}
	matching := look.outboundPolicies(r, kind, t.OKey, t.IfID)
	who := msgWhoOKey.text("okey", hex(t.OKey))
	if kind == KindXfrm {
		who = msgWhoIfID.text("ifid", num(uint64(t.IfID)))
	}
	defaultKnown := r.OutboundDefaultBlock != nil
	if len(matching) == 0 {
		exclude("tx-sa-mismatch", "tx-no-sa", "tx-policy-block", "tx-policy-error", "tx-sa-dir-error", "tx-underlay-unreachable")
		switch {
		case defaultKnown && *r.OutboundDefaultBlock:
			exclude("tx-no-policy")
		case defaultKnown:
			exclude("tx-policy-default-block")
		}
		res.why = msgNoPolicyMatches.text("policies", inum(len(r.Policies)), "who", who)
		return res
	}
	var block, noTmpl, bad, good, unsure int
	var wildcard [2]bool // a policy covers every IPv4 (0) or IPv6 (1) flow
	var badWhy []string
	for _, p := range matching {
		if wildcardSelector(&p.Selector) {
			switch selectorFamily(&p.Selector) {
			case xfrm.AFInet:
				wildcard[0] = true
			case xfrm.AFInet6:
				wildcard[1] = true
			}
		}
		if p.Action == ActionBlock {
			block++
			continue
		}
		if len(p.Templates) == 0 {
			noTmpl++
			continue
		}
		switch ok, why := templatesFit(kind, t, p.Templates); ok {
		case fitYes:
			good++
		case fitUnsure:
			unsure++
		default:
			bad++
			badWhy = append(badWhy, why)
		}
	}
	// Policies whose selectors cover every flow of both families mean no
	// packet of the tunnel misses all policies: "no policy" is then only the
	// untransformed pass of a policy without template. A selector rules a
	// cause out only for the traffic it covers, and a tunnel carries IPv6
	// as well as IPv4 (link-local traffic alone is always there), so one
	// family's wildcard leaves the other family's packets to no-policy.
	coversAll := wildcard[0] && wildcard[1]
	uncovered := ""
	if !coversAll && (wildcard[0] || wildcard[1]) {
		uncovered = "IPv6"
		if wildcard[1] {
			uncovered = "IPv4"
		}
	}
	if coversAll {
		exclude("tx-policy-default-block")
		if noTmpl == 0 {
			exclude("tx-no-policy")
		}
	} else if defaultKnown {
		if *r.OutboundDefaultBlock {
			if noTmpl == 0 {
				exclude("tx-no-policy")
			}
		} else {
			exclude("tx-policy-default-block")
		}
	}
	if good+bad+unsure == 0 { // no allow policy with a template: no SA is ever looked up
		exclude("tx-sa-mismatch", "tx-no-sa", "tx-policy-error", "tx-sa-dir-error", "tx-underlay-unreachable")
	}
	if bad == 0 && unsure == 0 {
		exclude("tx-sa-mismatch")
	}
	if block == 0 {
		exclude("tx-policy-block")
	}
	var parts []string
	policies := plural(len(matching), "policy", "policies")
	parts = append(parts, msgPolicies.text("n", inum(len(matching)), "policies", policies, "who", who))
	if block > 0 {
		parts = append(parts, msgPoliciesBlock.text("n", inum(block)))
	}
	if noTmpl > 0 {
		parts = append(parts, msgPoliciesNoTmpl.text("n", inum(noTmpl)))
	}
	if bad > 0 {
		parts = append(parts, msgPoliciesBad.text("n", inum(bad), "why", strings.Join(badWhy, "; ")))
	}
	if good > 0 {
		parts = append(parts, msgPoliciesGood.text("n", inum(good)))
	}
	if unsure > 0 {
		parts = append(parts, msgPoliciesUnsure.text("n", inum(unsure)))
	}
	res.why = msgPoliciesRead.text("parts", strings.Join(parts, ", "))
	if uncovered != "" {
		res.why += msgFamilyUncovered.text("family", uncovered)
	}
	return res
}

// excludeDefaultBlock is the resolution of an outer lookup under a default
// outbound policy of accept (shared, never modified).
var excludeDefaultBlock = map[CauseID]bool{"tx-policy-default-block": true}

// resolveOuter is resolveTX for tunnels whose outer packets go through the
// namespace's ordinary IPsec lookup (GRE, IPIP, SIT, ip6 tunnels): there
// only the default outbound policy settles a cause. With the default
// accept, no outer packet was dropped for matching no policy.
func resolveOuter(r *Reading) resolution {
	if r.OutboundDefaultBlock == nil || *r.OutboundDefaultBlock {
		return resolution{}
	}
	return resolution{done: true, exclude: excludeDefaultBlock, why: msgDefaultAccept.text()}
}

type fit uint8

const (
	fitNo fit = iota
	fitYes
	fitUnsure
)

// templatesFit says whether the SA a policy's templates select can pass the
// tunnel's check: vti_state_check / vti6_state_check require tunnel mode
// and the tunnel's local/remote as the SA's source/destination (only the
// source when the tunnel has no remote). xfrm interfaces check only if_id,
// which the lookup already matched.
func templatesFit(kind string, t *Tunnel, tmpls []Template) (fit, string) {
	if kind == KindXfrm {
		return fitYes, ""
	}
	// The SA that reaches vti_state_check is the outermost: the last
	// template that is not optional.
	var last *Template
	for i := range tmpls {
		if !tmpls[i].Optional {
			last = &tmpls[i]
		}
	}
	if last == nil {
		return fitUnsure, ""
	}
	if last.Mode != ModeTunnel {
		return fitNo, msgTemplateMode.text("mode", modeName(last.Mode))
	}
	if t.Remote.IsValid() && !t.Remote.IsUnspecified() && last.Dst != t.Remote {
		return fitNo, msgTemplateDst.text("dst", addrText(last.Dst), "remote", t.Remote.String())
	}
	if !last.Src.IsValid() || last.Src.IsUnspecified() {
		return fitUnsure, ""
	}
	if t.Local.IsValid() && last.Src != t.Local {
		return fitNo, msgTemplateSrc.text("src", last.Src.String(), "local", addrText(t.Local))
	}
	return fitYes, ""
}

func modeName(m Mode) string {
	switch m {
	case ModeTransport:
		return "transport"
	case ModeTunnel:
		return "tunnel"
	case ModeROBeet:
		return "ro"
	case ModeInTrigger:
		return "in_trigger"
	case ModeBEET:
		return "beet"
	case ModeIPTFS:
		return "iptfs"
	}
	return msgModeNumber.text("mode", inum(m))
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return msgAddrUnset.text()
	}
	return a.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
