package explain

import (
	"iter"
	"net/netip"
)

// A finding looks up the outbound policies its tunnel's traffic can match
// (resolveTX) and the SAs whose SPIs its checks name (findSPI). For a few
// moved links, scanning the lists is cheapest; when many links moved at
// once (a hub-wide outage on a router with thousands of tunnels, policies
// and SAs) a scan per link would make Explain quadratic, so the lists are
// indexed once and each link looks its entries up. Both ways give the same
// entries in the same order (TestIndexedLookupsAgree).

// indexFrom is the number of moved links from which the policy and SA
// lists are indexed. A variable so that tests can force either way.
var indexFrom = 16

// lookups holds the indexes of one Explain call; nil fields mean "scan".
type lookups struct {
	pol *policyIndex
	sas map[saEnds][]int32
}

// policyIndex lists the main-type outbound policies by what a tunnel
// matches them on, as positions in the policy list, in list order.
type policyIndex struct {
	byMark map[uint32][]int32 // if_id 0, mark with a full mask: matched by okey == value
	other  []int32            // if_id 0, any other mark (none, or a partial mask)
	byIfID map[uint32][]int32 // every one, by if_id (xfrm interfaces)
}

type saEnds struct{ src, dst netip.Addr }

func newLookups(r *Reading) *lookups {
	var l lookups
	if r.Policies != nil {
		p := &policyIndex{byMark: map[uint32][]int32{}, byIfID: map[uint32][]int32{}}
		for i := range r.Policies {
			pol := &r.Policies[i]
			if !mainOutbound(pol) {
				continue
			}
			p.byIfID[pol.IfID] = append(p.byIfID[pol.IfID], int32(i))
			switch {
			case pol.IfID != 0:
			case pol.Mark != nil && pol.Mark.Mask == 0xffffffff:
				p.byMark[pol.Mark.Value] = append(p.byMark[pol.Mark.Value], int32(i))
			default:
				p.other = append(p.other, int32(i))
			}
		}
		l.pol = p
	}
	if r.SAs != nil {
		l.sas = map[saEnds][]int32{}
		for i := range r.SAs {
			sa := &r.SAs[i]
			if sa.Proto != 50 {
				continue
			}
			k := saEnds{sa.Src, sa.Dst}
			l.sas[k] = append(l.sas[k], int32(i))
		}
	}
	return &l
}

// mainOutbound reports whether p is an outbound policy of the main type,
// the only ones a tunnel's output lookup consults.
func mainOutbound(p *Policy) bool { return p.Dir == DirOut && p.Type == 0 }

// outboundPolicies returns the main-type outbound policies that traffic of
// tunnel kind kind with output mark okey (or if_id ifID, for xfrm
// interfaces) can match, in list order.
func (l *lookups) outboundPolicies(r *Reading, kind string, okey, ifID uint32) []*Policy {
	var matching []*Policy
	if l == nil || l.pol == nil {
		for i := range r.Policies {
			p := &r.Policies[i]
			if !mainOutbound(p) {
				continue
			}
			if kind == KindXfrm {
				if p.IfID != ifID {
					continue
				}
			} else if p.IfID != 0 || !markMatches(p.Mark, okey) {
				continue
			}
			matching = append(matching, p)
		}
		return matching
	}
	if kind == KindXfrm {
		for _, i := range l.pol.byIfID[ifID] {
			matching = append(matching, &r.Policies[i])
		}
		return matching
	}
	// Merge the policies matched by exact mark with the others that match,
	// keeping list order.
	exact, other := l.pol.byMark[okey], l.pol.other
	for len(exact) > 0 || len(other) > 0 {
		if len(other) == 0 || (len(exact) > 0 && exact[0] < other[0]) {
			matching = append(matching, &r.Policies[exact[0]])
			exact = exact[1:]
			continue
		}
		if p := &r.Policies[other[0]]; markMatches(p.Mark, okey) {
			matching = append(matching, p)
		}
		other = other[1:]
	}
	return matching
}

// espSAs yields the positions of the ESP SAs from src to dst, in list
// order.
func (l *lookups) espSAs(sas []SA, src, dst netip.Addr) iter.Seq[int] {
	return func(yield func(int) bool) {
		if l == nil || l.sas == nil {
			for i := range sas {
				if sa := &sas[i]; sa.Src == src && sa.Dst == dst && sa.Proto == 50 && !yield(i) {
					return
				}
			}
			return
		}
		for _, i := range l.sas[saEnds{src, dst}] {
			if !yield(int(i)) {
				return
			}
		}
	}
}
