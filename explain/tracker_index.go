package explain

import (
	"cmp"
	"net/netip"
	"slices"
)

// tunnelIndex says which tunnel an SA or policy of one reading belongs to:
//
//   - a VTI's: SAs and policies whose mark matches its okey (outbound, to
//     its remote) or ikey (inbound, from its remote);
//   - an xfrm interface's: those with its if_id, one tunnel per peer;
//   - the rest are policy-based: one tunnel per reqid and peer.
//
// It is built once per reading, with maps, so that classifying every SA
// costs a few lookups, however many tunnels the namespace has.
type tunnelIndex struct {
	vtis        []vtiDef
	vtiByRemote map[netip.Addr][]int // VTIs by remote address
	vtiByLocal  map[netip.Addr][]int // VTIs with no remote ("any"), by local address
	xfrm        map[uint32]string    // xfrm interfaces by if_id
	// Addresses the outbound policies' templates send to (peers) and
	// from (locals); a VTI's local address is local too.
	peers, locals map[netip.Addr]bool
	// Tunnels that have an outbound policy, and the policy-based ones the
	// policies define (their SAs may be missing).
	outPolicy    map[TunnelID]bool
	fromPolicy   []TunnelID
	anyReqID     map[netip.Addr]bool
	order        map[string]int // interface order in the reading
	localByVTI   map[string]netip.Addr
	havePolicies bool
}

type vtiDef struct {
	id            TunnelID
	local, remote netip.Addr
	ikey, okey    uint32
}

func newTunnelIndex(r *Reading) *tunnelIndex {
	ix := &tunnelIndex{
		vtiByRemote: map[netip.Addr][]int{}, vtiByLocal: map[netip.Addr][]int{}, xfrm: map[uint32]string{},
		peers: map[netip.Addr]bool{}, locals: map[netip.Addr]bool{}, outPolicy: map[TunnelID]bool{},
		anyReqID: map[netip.Addr]bool{}, order: map[string]int{}, localByVTI: map[string]netip.Addr{},
		havePolicies: r.Policies != nil,
	}
	for i := range r.Links {
		l := &r.Links[i]
		t := l.Tunnel
		if t == nil {
			continue
		}
		switch l.Kind {
		case KindVTI, KindVTI6:
			d := vtiDef{id: TunnelID{Interface: l.Name, Kind: l.Kind, Peer: t.Remote}, local: t.Local, remote: t.Remote, ikey: t.IKey, okey: t.OKey}
			ix.order[l.Name] = i
			ix.vtis = append(ix.vtis, d)
			n := len(ix.vtis) - 1
			if t.Remote.IsValid() && !t.Remote.IsUnspecified() {
				ix.vtiByRemote[t.Remote] = append(ix.vtiByRemote[t.Remote], n)
			} else if t.Local.IsValid() {
				ix.vtiByLocal[t.Local] = append(ix.vtiByLocal[t.Local], n)
			}
			if t.Local.IsValid() && !t.Local.IsUnspecified() {
				ix.locals[t.Local] = true
				ix.localByVTI[l.Name] = t.Local
			}
		case KindXfrm:
			ix.order[l.Name] = i
			if _, dup := ix.xfrm[t.IfID]; !dup {
				ix.xfrm[t.IfID] = l.Name
			}
		}
	}
	for i := range r.Policies {
		p := &r.Policies[i]
		if p.Dir != DirOut || p.Action != ActionAllow || len(p.Templates) == 0 {
			continue
		}
		tm := &p.Templates[len(p.Templates)-1] // the outermost
		peer := tm.Dst
		if !peer.IsValid() || peer.IsUnspecified() {
			// Transport mode: the peer is the selector's single host.
			if p.Selector.Dst.IsValid() && p.Selector.Dst.IsSingleIP() {
				peer = p.Selector.Dst.Addr()
			} else {
				continue
			}
		}
		ix.peers[peer] = true
		if tm.Src.IsValid() && !tm.Src.IsUnspecified() {
			ix.locals[tm.Src] = true
		}
		var id TunnelID
		switch {
		case p.IfID != 0 && ix.xfrm[p.IfID] != "":
			id = TunnelID{Interface: ix.xfrm[p.IfID], Kind: KindXfrm, Peer: peer}
		case ix.vtiFor(p.Mark, peer, tm.Src) >= 0:
			id = ix.vtis[ix.vtiFor(p.Mark, peer, tm.Src)].id
		default:
			id = TunnelID{Kind: KindPolicy, ReqID: tm.ReqID, Peer: peer}
			if tm.ReqID == 0 {
				ix.anyReqID[peer] = true
			}
		}
		if !ix.outPolicy[id] {
			ix.outPolicy[id] = true
			if id.Kind == KindPolicy || id.Kind == KindXfrm {
				ix.fromPolicy = append(ix.fromPolicy, id)
			}
		}
	}
	return ix
}

// vtiFor returns the VTI whose okey the mark matches and whose remote is
// dst (or whose local is src, for a VTI with any remote); -1 if none.
func (ix *tunnelIndex) vtiFor(m *Mark, dst, src netip.Addr) int {
	for _, n := range ix.vtiByRemote[dst] {
		if markMatches(m, ix.vtis[n].okey) {
			return n
		}
	}
	for _, n := range ix.vtiByLocal[src] {
		if markMatches(m, ix.vtis[n].okey) {
			return n
		}
	}
	return -1
}

// classify returns the tunnel of an SA and the direction it serves there
// (SADirUnknown when that cannot be told: then it counts in no direction).
func (ix *tunnelIndex) classify(ref *SARef, dir SADir, oseq, seq uint64) (TunnelID, SADir) {
	// A VTI: outbound SAs carry its okey as mark and go to its remote,
	// inbound ones its ikey and come from it.
	for _, n := range ix.vtiByRemote[ref.Dst] {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.okey) && (dir == SADirUnknown || dir == SADirOut) {
			return v.id, SADirOut
		}
	}
	for _, n := range ix.vtiByRemote[ref.Src] {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.ikey) && (dir == SADirUnknown || dir == SADirIn) {
			return v.id, SADirIn
		}
	}
	for _, n := range ix.vtiByLocal[ref.Src] {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.okey) && dir != SADirIn {
			return TunnelID{Interface: v.id.Interface, Kind: v.id.Kind, Peer: v.id.Peer}, SADirOut
		}
	}
	for _, n := range ix.vtiByLocal[ref.Dst] {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.ikey) && dir != SADirOut {
			return v.id, SADirIn
		}
	}

	if dir == SADirUnknown {
		dir = ix.direction(ref, oseq, seq)
	}
	peer := ref.Dst
	if dir == SADirIn {
		peer = ref.Src
	}
	if name := ix.xfrm[ref.IfID]; ref.IfID != 0 && name != "" {
		return TunnelID{Interface: name, Kind: KindXfrm, Peer: peer}, dir
	}
	return TunnelID{Kind: KindPolicy, ReqID: ref.ReqID, Peer: peer}, dir
}

// direction tells an SA's direction from the policies' peers and local
// addresses, then from its sequence numbers. An SA that none of them
// places (no policy, never used) is taken as outbound to the greater of
// its two addresses, so that both SAs of a pair land in one tunnel.
func (ix *tunnelIndex) direction(ref *SARef, oseq, seq uint64) SADir {
	switch {
	case ix.peers[ref.Dst] || ix.locals[ref.Src]:
		return SADirOut
	case ix.peers[ref.Src] || ix.locals[ref.Dst]:
		return SADirIn
	case oseq > 0:
		return SADirOut
	case seq > 0:
		return SADirIn
	case ref.Dst.Compare(ref.Src) >= 0:
		return SADirOut
	}
	return SADirIn
}

// hasOutPolicy reports whether the tunnel has an outbound policy. A
// policy-based tunnel's policy may name its reqid or any (0).
func (ix *tunnelIndex) hasOutPolicy(id TunnelID) bool {
	if ix.outPolicy[id] {
		return true
	}
	switch id.Kind {
	case KindPolicy:
		return ix.anyReqID[id.Peer]
	case KindXfrm:
		// An xfrm interface's policy may be for another of its peers.
		return ix.outPolicy[TunnelID{Interface: id.Interface, Kind: KindXfrm, Peer: id.Peer}]
	}
	return false
}

// local is the tunnel's local address where the reading says it.
func (ix *tunnelIndex) local(id TunnelID) netip.Addr {
	return ix.localByVTI[id.Interface]
}

// tunnels lists the reading's tunnels: VTIs and xfrm interfaces in link
// order (an xfrm interface once per peer, or once with no peer), then
// policy-based ones by peer and reqid.
func (ix *tunnelIndex) tunnels(bySA map[TunnelID][]member) []TunnelID {
	seen := map[TunnelID]bool{}
	var out []TunnelID
	add := func(id TunnelID) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, v := range ix.vtis {
		add(v.id)
	}
	for id := range bySA {
		add(id)
	}
	for _, id := range ix.fromPolicy {
		add(id)
	}
	withPeer := map[string]bool{}
	for _, id := range out {
		if id.Kind == KindXfrm {
			withPeer[id.Interface] = true
		}
	}
	for _, name := range ix.xfrm {
		if !withPeer[name] {
			add(TunnelID{Interface: name, Kind: KindXfrm})
		}
	}
	slices.SortStableFunc(out, func(a, b TunnelID) int {
		ai, aok := ix.order[a.Interface]
		bi, bok := ix.order[b.Interface]
		switch {
		case a.Interface != "" && b.Interface == "":
			return -1
		case a.Interface == "" && b.Interface != "":
			return 1
		case aok && bok && ai != bi:
			return cmp.Compare(ai, bi)
		}
		return cmp.Or(cmp.Compare(a.Interface, b.Interface), a.Peer.Compare(b.Peer), cmp.Compare(a.ReqID, b.ReqID))
	})
	return out
}
