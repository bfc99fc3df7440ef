package xfrmstat

// Builders of XFRM messages for hand-made test cases: the layouts of
// internal/xfrm written out the way the kernel fills them. Real captures
// live in testdata/; these cover what this host cannot produce.

import (
	"encoding/binary"
	"net/netip"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

func putAddr(b []byte, a netip.Addr) {
	if !a.IsValid() {
		return
	}
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

func putSelector(b []byte, s Selector) {
	putAddr(b[xfrm.SelDaddr:], s.Dst.Addr())
	putAddr(b[xfrm.SelSaddr:], s.Src.Addr())
	binary.BigEndian.PutUint16(b[xfrm.SelDport:], s.DstPort)
	binary.BigEndian.PutUint16(b[xfrm.SelDportMask:], s.DstPortMask)
	binary.BigEndian.PutUint16(b[xfrm.SelSport:], s.SrcPort)
	binary.BigEndian.PutUint16(b[xfrm.SelSportMask:], s.SrcPortMask)
	ne.PutUint16(b[xfrm.SelFamily:], s.Family)
	if s.Dst.IsValid() {
		b[xfrm.SelPrefixlenD] = uint8(s.Dst.Bits())
	}
	if s.Src.IsValid() {
		b[xfrm.SelPrefixlenS] = uint8(s.Src.Bits())
	}
	b[xfrm.SelProto] = s.Proto
	ne.PutUint32(b[xfrm.SelIfindex:], uint32(s.IfIndex))
	ne.PutUint32(b[xfrm.SelUser:], s.User)
}

func putLifetimes(b []byte, c LifetimeConfig, cur LifetimeCurrent) {
	for i, v := range []uint64{c.SoftByteLimit, c.HardByteLimit, c.SoftPacketLimit, c.HardPacketLimit,
		c.SoftAddExpiresSeconds, c.HardAddExpiresSeconds, c.SoftUseExpiresSeconds, c.HardUseExpiresSeconds} {
		ne.PutUint64(b[8*i:], v)
	}
	ne.PutUint64(b[64:], cur.Bytes)
	ne.PutUint64(b[72:], cur.Packets)
	if !cur.AddTime.IsZero() {
		ne.PutUint64(b[80:], uint64(cur.AddTime.Unix()))
	}
	if !cur.UseTime.IsZero() {
		ne.PutUint64(b[88:], uint64(cur.UseTime.Unix()))
	}
}

// usersaInfo builds a struct xfrm_usersa_info.
func usersaInfo(sa *SA) []byte {
	b := make([]byte, xfrm.SizeofUsersaInfo)
	putSelector(b[xfrm.UsersaSel:], sa.Selector)
	putAddr(b[xfrm.UsersaID+xfrm.IDDaddr:], sa.Dst)
	binary.BigEndian.PutUint32(b[xfrm.UsersaID+xfrm.IDSPI:], sa.SPI)
	b[xfrm.UsersaID+xfrm.IDProto] = sa.Proto
	putAddr(b[xfrm.UsersaSaddr:], sa.Src)
	putLifetimes(b[xfrm.UsersaLft:], sa.LifetimeConfig, sa.LifetimeCurrent)
	ne.PutUint32(b[xfrm.UsersaStats:], sa.Stats.ReplayWindow)
	ne.PutUint32(b[xfrm.UsersaStats+4:], sa.Stats.Replay)
	ne.PutUint32(b[xfrm.UsersaStats+8:], sa.Stats.IntegrityFailed)
	ne.PutUint32(b[xfrm.UsersaSeq:], sa.Seq)
	ne.PutUint32(b[xfrm.UsersaReqid:], sa.ReqID)
	ne.PutUint16(b[xfrm.UsersaFamily:], sa.Family)
	b[xfrm.UsersaMode] = uint8(sa.Mode)
	b[xfrm.UsersaReplayWindow] = sa.ReplayWindowConfig
	b[xfrm.UsersaFlags] = sa.Flags
	return b
}

// algo builds an algorithm attribute payload as the kernel sends it: the
// header, then the key.
func algo(name string, keyBits, truncOrICV uint32, key []byte, withLen2 bool) []byte {
	hdr := xfrm.SizeofAlgo
	if withLen2 {
		hdr = xfrm.SizeofAlgoAuth
	}
	b := make([]byte, hdr, hdr+len(key))
	copy(b, name)
	ne.PutUint32(b[xfrm.AlgKeyLen:], keyBits)
	if withLen2 {
		ne.PutUint32(b[xfrm.AlgTruncOrICVLen:], truncOrICV)
	}
	return append(b, key...)
}

func u32(v uint32) []byte { return ne.AppendUint32(nil, v) }
func u64(v uint64) []byte { return ne.AppendUint64(nil, v) }

func markAttr(m Mark) []byte { return append(u32(m.Value), u32(m.Mask)...) }

// withAttrs appends attributes after a fixed header padded to 4 bytes.
func withAttrs(hdr []byte, attrs ...[]byte) []byte {
	b := append([]byte(nil), hdr...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

func attr(typ uint16, data []byte) []byte { return nl.AppendAttr(nil, typ, data) }

// userpolicyInfo builds a struct xfrm_userpolicy_info.
func userpolicyInfo(p *Policy) []byte {
	b := make([]byte, xfrm.SizeofUserpolicyInfo)
	putSelector(b[xfrm.UserpolSel:], p.Selector)
	putLifetimes(b[xfrm.UserpolLft:], p.LifetimeConfig, p.LifetimeCurrent)
	ne.PutUint32(b[xfrm.UserpolPriority:], p.Priority)
	ne.PutUint32(b[xfrm.UserpolIndex:], p.Index)
	b[xfrm.UserpolDir] = uint8(p.Dir)
	b[xfrm.UserpolAction] = uint8(p.Action)
	b[xfrm.UserpolFlags] = p.Flags
	b[xfrm.UserpolShare] = p.Share
	return b
}

func tmplAttr(ts []Template) []byte {
	var b []byte
	for _, t := range ts {
		u := make([]byte, xfrm.SizeofUserTmpl)
		putAddr(u[xfrm.TmplID+xfrm.IDDaddr:], t.Dst)
		binary.BigEndian.PutUint32(u[xfrm.TmplID+xfrm.IDSPI:], t.SPI)
		u[xfrm.TmplID+xfrm.IDProto] = t.Proto
		ne.PutUint16(u[xfrm.TmplFamily:], t.Family)
		putAddr(u[xfrm.TmplSaddr:], t.Src)
		ne.PutUint32(u[xfrm.TmplReqid:], t.ReqID)
		u[xfrm.TmplMode] = uint8(t.Mode)
		u[xfrm.TmplShare] = t.Share
		if t.Optional {
			u[xfrm.TmplOptional] = 1
		}
		ne.PutUint32(u[xfrm.TmplAalgos:], t.AuthAlgos)
		ne.PutUint32(u[xfrm.TmplEalgos:], t.EncAlgos)
		ne.PutUint32(u[xfrm.TmplCalgos:], t.CompAlgos)
		b = append(b, u...)
	}
	return attr(xfrm.AttrTmpl, b)
}
