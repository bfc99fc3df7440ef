package explain

import (
	"encoding/binary"
	"math"
	"net/netip"
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
	vtiByRemote map[netip.Addr]int // first VTI with this remote address (vtiDef.nextSame chains the rest)
	vtiByLocal  map[netip.Addr]int // first VTI with no remote ("any"), by local address
	xfrm        map[uint32]string  // xfrm interfaces by if_id
	// Addresses the outbound policies' templates send to (peers) and
	// from (locals); a VTI's local address is local too.
	peers, locals map[netip.Addr]bool
	// Tunnels that have an outbound policy.
	outPolicy  map[TunnelID]bool
	anyReqID   map[netip.Addr]bool // peers of policies whose template takes any reqid
	order      map[string]int      // interface order in the reading
	localByVTI map[string]netip.Addr
	// defined lists the tunnels the links and policies define, whether
	// or not they have SAs: VTIs, xfrm interfaces (per peer of their
	// policies, or once with no peer), policy-based tunnels.
	defined []TunnelID
}

type vtiDef struct {
	id            TunnelID
	local, remote netip.Addr
	ikey, okey    uint32
	nextSame      int // the next VTI in the same vtiByRemote or vtiByLocal chain, -1 at the end
}

// build indexes r's links and policies, reusing ix's storage.
func (ix *tunnelIndex) build(r *Reading) {
	if ix.vtiByRemote == nil {
		ix.vtiByRemote, ix.vtiByLocal, ix.xfrm = map[netip.Addr]int{}, map[netip.Addr]int{}, map[uint32]string{}
		ix.peers, ix.locals, ix.outPolicy = map[netip.Addr]bool{}, map[netip.Addr]bool{}, map[TunnelID]bool{}
		ix.anyReqID, ix.order, ix.localByVTI = map[netip.Addr]bool{}, map[string]int{}, map[string]netip.Addr{}
	}
	clear(ix.vtiByRemote)
	clear(ix.vtiByLocal)
	clear(ix.xfrm)
	clear(ix.peers)
	clear(ix.locals)
	clear(ix.outPolicy)
	clear(ix.anyReqID)
	clear(ix.order)
	clear(ix.localByVTI)
	ix.vtis, ix.defined = ix.vtis[:0], ix.defined[:0]
	chain := func(m map[netip.Addr]int, a netip.Addr, n int) {
		if first, ok := m[a]; ok {
			// Keep link order along the chain: append at its end.
			for ix.vtis[first].nextSame >= 0 {
				first = ix.vtis[first].nextSame
			}
			ix.vtis[first].nextSame = n
		} else {
			m[a] = n
		}
	}
	for i := range r.Links {
		l := &r.Links[i]
		t := l.Tunnel
		if t == nil {
			continue
		}
		switch l.Kind {
		case KindVTI, KindVTI6:
			if _, dup := ix.order[l.Name]; dup {
				continue // a name listed twice: the first is the tunnel
			}
			ix.order[l.Name] = i
			ix.vtis = append(ix.vtis, vtiDef{id: TunnelID{Interface: l.Name, Kind: l.Kind, Peer: t.Remote},
				local: t.Local, remote: t.Remote, ikey: t.IKey, okey: t.OKey, nextSame: -1})
			n := len(ix.vtis) - 1
			if t.Remote.IsValid() && !t.Remote.IsUnspecified() {
				chain(ix.vtiByRemote, t.Remote, n)
			} else if t.Local.IsValid() {
				chain(ix.vtiByLocal, t.Local, n)
			}
			if t.Local.IsValid() && !t.Local.IsUnspecified() {
				ix.locals[t.Local] = true
				ix.localByVTI[l.Name] = t.Local
			}
			ix.defined = append(ix.defined, ix.vtis[n].id)
		case KindXfrm:
			if _, dup := ix.order[l.Name]; dup {
				continue
			}
			ix.order[l.Name] = i
			if _, dup := ix.xfrm[t.IfID]; !dup {
				ix.xfrm[t.IfID] = l.Name
			}
		}
	}
	withPolicy := map[string]bool{}
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
		if p.IfID != 0 && ix.xfrm[p.IfID] != "" {
			id = TunnelID{Interface: ix.xfrm[p.IfID], Kind: KindXfrm, Peer: peer}
			withPolicy[id.Interface] = true
		} else if n := ix.vtiFor(p.Mark, peer, tm.Src); n >= 0 {
			id = ix.vtis[n].id
		} else {
			id = TunnelID{Kind: KindPolicy, ReqID: tm.ReqID, Peer: peer}
			if tm.ReqID == 0 {
				ix.anyReqID[peer] = true
			}
		}
		if !ix.outPolicy[id] {
			ix.outPolicy[id] = true
			if id.Kind == KindPolicy || id.Kind == KindXfrm {
				ix.defined = append(ix.defined, id)
			}
		}
	}
	for i := range r.Links {
		l := &r.Links[i]
		if l.Kind == KindXfrm && l.Tunnel != nil && !withPolicy[l.Name] && ix.order[l.Name] == i {
			ix.defined = append(ix.defined, TunnelID{Interface: l.Name, Kind: KindXfrm})
		}
	}
}

// indexSum is a fingerprint of what build reads: the links' names, kinds
// and tunnel parameters, and the policies. Readings with the same
// fingerprint have the same tunnels.
func indexSum(r *Reading) uint64 {
	h := fnvSum{v: 14695981039346656037}
	h.u64(uint64(len(r.Links)))
	for i := range r.Links {
		l := &r.Links[i]
		t := l.Tunnel
		if t == nil || (l.Kind != KindVTI && l.Kind != KindVTI6 && l.Kind != KindXfrm) {
			continue
		}
		h.u64(uint64(i))
		h.str(l.Name)
		h.str(l.Kind)
		h.addr(t.Local)
		h.addr(t.Remote)
		h.u64(uint64(t.IKey)<<32 | uint64(t.OKey))
		h.u64(uint64(t.IfID))
	}
	if r.Policies == nil {
		h.u64(math.MaxUint64)
	}
	h.u64(uint64(len(r.Policies)))
	for i := range r.Policies {
		p := &r.Policies[i]
		h.u64(uint64(p.Dir)<<40 | uint64(p.Action)<<32 | uint64(p.IfID))
		if p.Mark != nil {
			h.u64(uint64(p.Mark.Value)<<32 | uint64(p.Mark.Mask))
		}
		h.u64(uint64(len(p.Templates)))
		for j := range p.Templates {
			tm := &p.Templates[j]
			h.addr(tm.Src)
			h.addr(tm.Dst)
			h.u64(uint64(tm.ReqID))
		}
		h.addr(p.Selector.Dst.Addr())
		h.u64(uint64(p.Selector.Dst.Bits() + 1))
	}
	return h.v
}

// fnvSum is FNV-1a over 64-bit words.
type fnvSum struct{ v uint64 }

func (h *fnvSum) u64(x uint64) {
	h.v ^= x
	h.v *= 1099511628211
}

func (h *fnvSum) addr(a netip.Addr) {
	b := a.As16()
	h.u64(binary.LittleEndian.Uint64(b[:8]))
	h.u64(binary.LittleEndian.Uint64(b[8:]))
	h.u64(uint64(a.BitLen()))
}

func (h *fnvSum) str(s string) {
	h.u64(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h.v ^= uint64(s[i])
		h.v *= 1099511628211
	}
}

// vtiFor returns the VTI whose okey the mark matches and whose remote is
// dst (or whose local is src, for a VTI with any remote); -1 if none.
func (ix *tunnelIndex) vtiFor(m *Mark, dst, src netip.Addr) int {
	for n := range ix.chain(ix.vtiByRemote, dst) {
		if markMatches(m, ix.vtis[n].okey) {
			return n
		}
	}
	for n := range ix.chain(ix.vtiByLocal, src) {
		if markMatches(m, ix.vtis[n].okey) {
			return n
		}
	}
	return -1
}

// chain yields the VTIs of m's chain for a.
func (ix *tunnelIndex) chain(m map[netip.Addr]int, a netip.Addr) func(func(int) bool) {
	return func(yield func(int) bool) {
		n, ok := m[a]
		for ok && n >= 0 {
			if !yield(n) {
				return
			}
			n = ix.vtis[n].nextSame
		}
	}
}

// classify returns the tunnel of an SA and the direction it serves there
// (SADirUnknown when that cannot be told: then it counts in no direction).
func (ix *tunnelIndex) classify(ref *SARef, dir SADir, oseq, seq uint64) (TunnelID, SADir) {
	// A VTI: outbound SAs carry its okey as mark and go to its remote,
	// inbound ones its ikey and come from it.
	for n := range ix.chain(ix.vtiByRemote, ref.Dst) {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.okey) && (dir == SADirUnknown || dir == SADirOut) {
			return v.id, SADirOut
		}
	}
	for n := range ix.chain(ix.vtiByRemote, ref.Src) {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.ikey) && (dir == SADirUnknown || dir == SADirIn) {
			return v.id, SADirIn
		}
	}
	for n := range ix.chain(ix.vtiByLocal, ref.Src) {
		if v := &ix.vtis[n]; markMatches(ref.Mark, v.okey) && dir != SADirIn {
			return v.id, SADirOut
		}
	}
	for n := range ix.chain(ix.vtiByLocal, ref.Dst) {
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
