package xfrmstat

import (
	"fmt"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// The policy decoder, and the SPD, SAD and default-policy replies
// (decode.go has what the decoders share).

// policySpare keeps what a Policy being decoded over points to.
type policySpare struct {
	mark   *Mark
	tmpls  []Template
	secCtx *SecCtx
}

func resetPolicy(p *Policy) policySpare {
	sp := policySpare{mark: p.Mark, tmpls: p.Templates, secCtx: p.SecCtx}
	*p = Policy{}
	return sp
}

// decodeUserpolicyInfo reads a struct xfrm_userpolicy_info.
func decodeUserpolicyInfo(p *Policy, b []byte) error {
	if len(b) < xfrm.SizeofUserpolicyInfo {
		return shortError("struct xfrm_userpolicy_info", len(b), xfrm.SizeofUserpolicyInfo)
	}
	if err := decodeSelector(&p.Selector, b[xfrm.UserpolSel:], "policy selector"); err != nil {
		return err
	}
	decodeLifetimeConfig(&p.LifetimeConfig, b[xfrm.UserpolLft:])
	decodeLifetimeCurrent(&p.LifetimeCurrent, b[xfrm.UserpolCurlft:])
	p.Priority = ne.Uint32(b[xfrm.UserpolPriority:])
	p.Index = ne.Uint32(b[xfrm.UserpolIndex:])
	p.Dir = Dir(b[xfrm.UserpolDir])
	p.Action = Action(b[xfrm.UserpolAction])
	p.Flags = b[xfrm.UserpolFlags]
	p.Share = b[xfrm.UserpolShare]
	return nil
}

// templates decodes XFRMA_TMPL.
func (d *decoder) templates(p *Policy, sp *policySpare, a *nl.Attrs) {
	data := a.Data()
	if len(data)%xfrm.SizeofUserTmpl != 0 {
		a.Fail(fmt.Sprintf("%d bytes are not a whole number of %d-byte templates", len(data), xfrm.SizeofUserTmpl))
		return
	}
	n := len(data) / xfrm.SizeofUserTmpl
	if n == 0 { // the kernel leaves XFRMA_TMPL out rather than send it empty
		p.Templates = nil
		return
	}
	ts := sp.tmpls[:0]
	if cap(ts) < n {
		ts = d.slab.templates(n)
	}
	ts = ts[:n]
	for i := range ts {
		b := data[i*xfrm.SizeofUserTmpl:]
		t := &ts[i]
		t.Family = ne.Uint16(b[xfrm.TmplFamily:])
		var err error
		if t.Dst, err = decodeAddr(b[xfrm.TmplID+xfrm.IDDaddr:], t.Family, "template daddr"); err != nil {
			a.Fail(fmt.Sprintf("template %d: %v", i, err))
			return
		}
		if t.Src, err = decodeAddr(b[xfrm.TmplSaddr:], t.Family, "template saddr"); err != nil {
			a.Fail(fmt.Sprintf("template %d: %v", i, err))
			return
		}
		t.SPI = be.Uint32(b[xfrm.TmplID+xfrm.IDSPI:])
		t.Proto = b[xfrm.TmplID+xfrm.IDProto]
		t.ReqID = ne.Uint32(b[xfrm.TmplReqid:])
		t.Mode = Mode(b[xfrm.TmplMode])
		t.Share = b[xfrm.TmplShare]
		t.Optional = b[xfrm.TmplOptional] != 0
		t.AuthAlgos = ne.Uint32(b[xfrm.TmplAalgos:])
		t.EncAlgos = ne.Uint32(b[xfrm.TmplEalgos:])
		t.CompAlgos = ne.Uint32(b[xfrm.TmplCalgos:])
	}
	p.Templates = ts
}

// policyAttr decodes one attribute of a policy message, reporting false for
// types it does not handle.
func (d *decoder) policyAttr(p *Policy, sp *policySpare, a *nl.Attrs) bool {
	data := a.Data()
	switch a.Type() {
	case xfrm.AttrPolicy: // XFRM_MSG_DELPOLICY carries the policy in an attribute
		if err := decodeUserpolicyInfo(p, data); err != nil {
			a.Fail(err.Error())
		}
	case xfrm.AttrTmpl:
		d.templates(p, sp, a)
	case xfrm.AttrMark:
		p.Mark = d.mark(a, sp.mark)
	case xfrm.AttrIfID:
		p.IfID = a.Uint32()
	case xfrm.AttrPolicyType:
		if len(data) < 1 {
			a.Fail("empty struct xfrm_userpolicy_type")
			return true
		}
		p.Type = data[0]
	case xfrm.AttrOffloadDev:
		if len(data) < xfrm.SizeofUserOffload {
			a.Fail(fmt.Sprintf("want an %d-byte struct xfrm_user_offload, have %d bytes", xfrm.SizeofUserOffload, len(data)))
			return true
		}
		p.OffloadDev, p.OffloadFlags = int32(ne.Uint32(data)), data[4]
	case xfrm.AttrSecCtx:
		p.SecCtx = decodeSecCtx(a, sp.secCtx)
	case xfrm.AttrPad:
	default:
		return false
	}
	return true
}

func (d *decoder) decodePolicy(p *Policy, info, attrs []byte, context string) error {
	var sp policySpare
	if info != nil {
		// decodeUserpolicyInfo sets every fixed field, so only what the
		// attributes set needs clearing: cheaper than zeroing the whole
		// struct for each of 100 000 policies. (The fuzz targets check that
		// decoding over a used Policy equals decoding into a zero one.)
		sp = policySpare{mark: p.Mark, tmpls: p.Templates, secCtx: p.SecCtx}
		p.Templates, p.Mark, p.SecCtx = nil, nil, nil
		p.Type, p.IfID, p.OffloadDev, p.OffloadFlags, p.unknown = 0, 0, 0, 0, attrSet{}
		if err := decodeUserpolicyInfo(p, info); err != nil {
			return err
		}
	} else {
		sp = resetPolicy(p)
	}
	a := nl.NewAttrs(attrs, context)
	for a.Next() {
		if !d.policyAttr(p, &sp, &a) {
			p.unknown.add(a.Type())
		}
	}
	return a.Err()
}

// policyMessage decodes an XFRM_MSG_NEWPOLICY / UPDPOLICY payload.
func (d *decoder) policyMessage(p *Policy, b []byte) error {
	if len(b) < xfrm.SizeofUserpolicyInfo {
		return shortError("struct xfrm_userpolicy_info", len(b), xfrm.SizeofUserpolicyInfo)
	}
	return d.decodePolicy(p, b[:xfrm.SizeofUserpolicyInfo], attrsAfter(b, xfrm.SizeofUserpolicyInfo), "XFRM policy attributes")
}

// decodeSPDInfo decodes an XFRM_MSG_NEWSPDINFO payload: a __u32 of flags,
// then attributes.
func decodeSPDInfo(s *SPDInfo, b []byte) error {
	if len(b) < 4 {
		return shortError("XFRM_MSG_NEWSPDINFO flags", len(b), 4)
	}
	*s = SPDInfo{}
	var haveInfo bool
	a := nl.NewAttrs(b[4:], "XFRMA_SPD")
	for a.Next() {
		d := a.Data()
		switch a.Type() {
		case xfrm.SPDAttrInfo:
			if len(d) < xfrm.SizeofSPDInfo {
				a.Fail(fmt.Sprintf("want a %d-byte struct xfrmu_spdinfo, have %d bytes", xfrm.SizeofSPDInfo, len(d)))
				continue
			}
			s.In, s.Out, s.Fwd = ne.Uint32(d[0:]), ne.Uint32(d[4:]), ne.Uint32(d[8:])
			s.SocketIn, s.SocketOut, s.SocketFwd = ne.Uint32(d[12:]), ne.Uint32(d[16:]), ne.Uint32(d[20:])
			haveInfo = true
		case xfrm.SPDAttrHInfo:
			if len(d) < xfrm.SizeofSPDHInfo {
				a.Fail(fmt.Sprintf("want an %d-byte struct xfrmu_spdhinfo, have %d bytes", xfrm.SizeofSPDHInfo, len(d)))
				continue
			}
			s.IndexHashMask, s.HashMaxBuckets = ne.Uint32(d[0:]), ne.Uint32(d[4:])
		case xfrm.SPDAttrIPv4HThresh, xfrm.SPDAttrIPv6HThresh:
			if len(d) < xfrm.SizeofSPDHThresh {
				a.Fail(fmt.Sprintf("want a %d-byte struct xfrmu_spdhthresh, have %d bytes", xfrm.SizeofSPDHThresh, len(d)))
				continue
			}
			t := HashThreshold{LocalBits: d[0], RemoteBits: d[1]}
			if a.Type() == xfrm.SPDAttrIPv4HThresh {
				s.IPv4Threshold = t
			} else {
				s.IPv6Threshold = t
			}
		default:
			s.unknown.add(a.Type())
		}
	}
	if err := a.Err(); err != nil {
		return err
	}
	if !haveInfo {
		return fmt.Errorf("reply has no XFRMA_SPD_INFO attribute")
	}
	return nil
}

// decodeSADInfo decodes an XFRM_MSG_NEWSADINFO payload.
func decodeSADInfo(s *SADInfo, b []byte) error {
	if len(b) < 4 {
		return shortError("XFRM_MSG_NEWSADINFO flags", len(b), 4)
	}
	*s = SADInfo{}
	var haveCount bool
	a := nl.NewAttrs(b[4:], "XFRMA_SAD")
	for a.Next() {
		d := a.Data()
		switch a.Type() {
		case xfrm.SADAttrCnt:
			s.Count = a.Uint32()
			haveCount = true
		case xfrm.SADAttrHInfo:
			if len(d) < xfrm.SizeofSADHInfo {
				a.Fail(fmt.Sprintf("want an %d-byte struct xfrmu_sadhinfo, have %d bytes", xfrm.SizeofSADHInfo, len(d)))
				continue
			}
			s.HashBuckets, s.HashMaxBuckets = ne.Uint32(d[0:]), ne.Uint32(d[4:])
		default:
			s.unknown.add(a.Type())
		}
	}
	if err := a.Err(); err != nil {
		return err
	}
	if !haveCount {
		return fmt.Errorf("reply has no XFRMA_SAD_CNT attribute")
	}
	return nil
}

// decodePolicyDefaults decodes an XFRM_MSG_GETDEFAULT reply.
func decodePolicyDefaults(d *PolicyDefaults, b []byte) error {
	if len(b) < xfrm.SizeofUserpolDefault {
		return shortError("struct xfrm_userpolicy_default", len(b), xfrm.SizeofUserpolDefault)
	}
	*d = PolicyDefaults{In: DefaultAction(b[0]), Fwd: DefaultAction(b[1]), Out: DefaultAction(b[2])}
	return nil
}
