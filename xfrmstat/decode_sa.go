package xfrmstat

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// The SA decoder: struct xfrm_usersa_info and the attributes after it
// (decode.go has what the decoders share, and the key-material rule).

// saSpare keeps the pointed-to values of an SA that is being decoded over,
// so that they are reused instead of allocated again.
type saSpare struct {
	mark, outputMark        *Mark
	replay                  *Replay
	encap                   *Encap
	auth, crypt, aead, comp *Algorithm
	secCtx                  *SecCtx
	iptfs                   *IPTFS
}

func resetSA(sa *SA) saSpare {
	sp := saSpare{
		mark: sa.Mark, outputMark: sa.OutputMark, replay: sa.Replay, encap: sa.Encap,
		auth: sa.Auth, crypt: sa.Crypt, aead: sa.AEAD, comp: sa.Comp, secCtx: sa.SecCtx, iptfs: sa.IPTFS,
	}
	*sa = SA{}
	return sp
}

// decodeUsersaInfo reads a struct xfrm_usersa_info; len(b) is checked.
func decodeUsersaInfo(sa *SA, b []byte) error {
	if len(b) < xfrm.SizeofUsersaInfo {
		return shortError("struct xfrm_usersa_info", len(b), xfrm.SizeofUsersaInfo)
	}
	sa.Family = ne.Uint16(b[xfrm.UsersaFamily:])
	if err := decodeSelectorIn(&sa.Selector, b[xfrm.UsersaSel:], "SA selector", sa.Family); err != nil {
		return err
	}
	var err error
	if sa.Dst, err = decodeAddr(b[xfrm.UsersaID+xfrm.IDDaddr:], sa.Family, "SA daddr"); err != nil {
		return err
	}
	if sa.Src, err = decodeAddr(b[xfrm.UsersaSaddr:], sa.Family, "SA saddr"); err != nil {
		return err
	}
	sa.SPI = be.Uint32(b[xfrm.UsersaID+xfrm.IDSPI:])
	sa.Proto = b[xfrm.UsersaID+xfrm.IDProto]
	decodeLifetimeConfig(&sa.LifetimeConfig, b[xfrm.UsersaLft:])
	decodeLifetimeCurrent(&sa.LifetimeCurrent, b[xfrm.UsersaCurlft:])
	st := b[xfrm.UsersaStats:]
	sa.Stats = Stats{ReplayWindow: ne.Uint32(st[0:]), Replay: ne.Uint32(st[4:]), IntegrityFailed: ne.Uint32(st[8:])}
	sa.Seq = ne.Uint32(b[xfrm.UsersaSeq:])
	sa.ReqID = ne.Uint32(b[xfrm.UsersaReqid:])
	sa.Mode = Mode(b[xfrm.UsersaMode])
	sa.ReplayWindowConfig = b[xfrm.UsersaReplayWindow]
	sa.Flags = b[xfrm.UsersaFlags]
	return nil
}

// algorithm decodes one of the algorithm attributes into the SA's slot:
// name and lengths only. hdr is the header size of that attribute's struct
// (the key starts there and is not read).
func (d *decoder) algorithm(a *nl.Attrs, slot **Algorithm, spare *Algorithm, hdr int) {
	data := a.Data()
	if len(data) < hdr {
		a.Fail(fmt.Sprintf("want a %d-byte algorithm header, have %d bytes", hdr, len(data)))
		return
	}
	alg := *slot
	if alg == nil {
		alg = spare
		if alg == nil {
			alg = d.slab.alg()
		}
		*alg = Algorithm{Name: alg.Name}
		*slot = alg
	}
	name := data[:xfrm.AlgNameLen]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	alg.Name = d.name(name, alg.Name)
	alg.KeyBits = ne.Uint32(data[xfrm.AlgKeyLen:])
	switch a.Type() {
	case xfrm.AttrAlgAuthTrunc:
		alg.TruncBits = ne.Uint32(data[xfrm.AlgTruncOrICVLen:])
	case xfrm.AttrAlgAEAD:
		alg.ICVBits = ne.Uint32(data[xfrm.AlgTruncOrICVLen:])
	}
}

func (d *decoder) mark(a *nl.Attrs, spare *Mark) *Mark {
	data := a.Data()
	if len(data) < xfrm.SizeofMark {
		a.Fail(fmt.Sprintf("want an %d-byte struct xfrm_mark, have %d bytes", xfrm.SizeofMark, len(data)))
		return nil
	}
	m := spare
	if m == nil {
		m = d.slab.mark()
	}
	*m = Mark{Value: ne.Uint32(data), Mask: ne.Uint32(data[4:])}
	return m
}

func decodeSecCtx(a *nl.Attrs, spare *SecCtx) *SecCtx {
	data := a.Data()
	if len(data) < xfrm.SizeofUserSecCtx {
		a.Fail(fmt.Sprintf("want an %d-byte struct xfrm_user_sec_ctx, have %d bytes", xfrm.SizeofUserSecCtx, len(data)))
		return nil
	}
	n := int(ne.Uint16(data[xfrm.SecCtxCtxLen:]))
	if xfrm.SizeofUserSecCtx+n > len(data) {
		a.Fail(fmt.Sprintf("context of %d bytes overruns the %d-byte attribute", n, len(data)))
		return nil
	}
	ctx := data[xfrm.SizeofUserSecCtx : xfrm.SizeofUserSecCtx+n]
	for len(ctx) > 0 && ctx[len(ctx)-1] == 0 { // LSMs count the terminating NUL
		ctx = ctx[:len(ctx)-1]
	}
	s := spare
	if s == nil {
		s = new(SecCtx)
	}
	s.DOI, s.Alg = data[xfrm.SecCtxDOI], data[xfrm.SecCtxAlg]
	if s.Context != string(ctx) {
		s.Context = string(ctx)
	}
	return s
}

// saAttr decodes one attribute of an SA message. It reports false for
// attribute types it does not handle.
func (d *decoder) saAttr(sa *SA, sp *saSpare, a *nl.Attrs) bool {
	data := a.Data()
	switch a.Type() {
	case xfrm.AttrSA: // XFRM_MSG_DELSA carries the SA in an attribute
		if err := decodeUsersaInfo(sa, data); err != nil {
			a.Fail(err.Error())
		}
	case xfrm.AttrAlgAuth:
		d.algorithm(a, &sa.Auth, sp.auth, xfrm.SizeofAlgo)
	case xfrm.AttrAlgAuthTrunc:
		d.algorithm(a, &sa.Auth, sp.auth, xfrm.SizeofAlgoAuth)
	case xfrm.AttrAlgCrypt:
		d.algorithm(a, &sa.Crypt, sp.crypt, xfrm.SizeofAlgo)
	case xfrm.AttrAlgAEAD:
		d.algorithm(a, &sa.AEAD, sp.aead, xfrm.SizeofAlgoAEAD)
	case xfrm.AttrAlgComp:
		d.algorithm(a, &sa.Comp, sp.comp, xfrm.SizeofAlgo)
	case xfrm.AttrEncap:
		if len(data) < xfrm.SizeofEncapTmpl {
			a.Fail(fmt.Sprintf("want a %d-byte struct xfrm_encap_tmpl, have %d bytes", xfrm.SizeofEncapTmpl, len(data)))
			return true
		}
		e := sp.encap
		if e == nil {
			e = d.slab.encap()
		}
		*e = Encap{Type: ne.Uint16(data[xfrm.EncapType:]), SPort: be.Uint16(data[xfrm.EncapSport:]), DPort: be.Uint16(data[xfrm.EncapDport:])}
		var err error
		if e.OA, err = decodeAddr(data[xfrm.EncapOA:], sa.Family, "XFRMA_ENCAP original address"); err != nil {
			a.Fail(err.Error())
		}
		sa.Encap = e
	case xfrm.AttrMark:
		sa.Mark = d.mark(a, sp.mark)
	case xfrm.AttrSetMark:
		if sa.OutputMark == nil {
			sa.OutputMark = sp.outputMark
			if sa.OutputMark == nil {
				sa.OutputMark = d.slab.mark()
			}
			// The kernel always sends the mask after the value; without
			// one it applies the whole value (xfrm_smark_init).
			sa.OutputMark.Mask = math.MaxUint32
		}
		sa.OutputMark.Value = a.Uint32()
	case xfrm.AttrSetMarkMask:
		if sa.OutputMark == nil {
			a.Fail("XFRMA_SET_MARK_MASK without XFRMA_SET_MARK")
			return true
		}
		sa.OutputMark.Mask = a.Uint32()
	case xfrm.AttrReplayVal:
		if len(data) < xfrm.SizeofReplayState {
			a.Fail(fmt.Sprintf("want a %d-byte struct xfrm_replay_state, have %d bytes", xfrm.SizeofReplayState, len(data)))
			return true
		}
		r := sp.replay
		if r == nil {
			r = d.slab.replay()
		}
		*r = Replay{
			OSeq: ne.Uint32(data[xfrm.ReplayOSeq:]), Seq: ne.Uint32(data[xfrm.ReplaySeq:]),
			Bitmap: ne.Uint32(data[xfrm.ReplayBitmap:]), Window: uint32(sa.ReplayWindowConfig),
		}
		sa.Replay = r
	case xfrm.AttrReplayESNVal:
		if len(data) < xfrm.SizeofReplayStateESN {
			a.Fail(fmt.Sprintf("want a %d-byte struct xfrm_replay_state_esn, have %d bytes", xfrm.SizeofReplayStateESN, len(data)))
			return true
		}
		r := sp.replay
		if r == nil {
			r = d.slab.replay()
		}
		*r = Replay{
			ESN: sa.Flags&xfrm.StateESN != 0, ESNFormat: true, BitmapLen: ne.Uint32(data[xfrm.ESNBmpLen:]),
			OSeq: ne.Uint32(data[xfrm.ESNOSeq:]), Seq: ne.Uint32(data[xfrm.ESNSeq:]),
			OSeqHi: ne.Uint32(data[xfrm.ESNOSeqHi:]), SeqHi: ne.Uint32(data[xfrm.ESNSeqHi:]),
			Window: ne.Uint32(data[xfrm.ESNReplayWindow:]),
		}
		sa.Replay = r
	case xfrm.AttrSAExtraFlags:
		sa.ExtraFlags = a.Uint32()
	case xfrm.AttrIfID:
		sa.IfID = a.Uint32()
	case xfrm.AttrOffloadDev:
		if len(data) < xfrm.SizeofUserOffload {
			a.Fail(fmt.Sprintf("want an %d-byte struct xfrm_user_offload, have %d bytes", xfrm.SizeofUserOffload, len(data)))
			return true
		}
		sa.OffloadDev, sa.OffloadFlags = int32(ne.Uint32(data)), data[4]
	case xfrm.AttrSADir:
		sa.SADir = a.Uint8()
	case xfrm.AttrLastUsed:
		sa.LastUsed = seconds(a.Uint64())
	case xfrm.AttrCoAddr:
		if len(data) < xfrm.SizeofAddress {
			a.Fail(fmt.Sprintf("want a %d-byte address, have %d bytes", xfrm.SizeofAddress, len(data)))
			return true
		}
		var err error
		if sa.CoAddr, err = decodeAddr(data, sa.Family, "XFRMA_COADDR"); err != nil {
			a.Fail(err.Error())
		}
	case xfrm.AttrTFCPad:
		sa.TFCPad = a.Uint32()
	case xfrm.AttrMTimerThresh:
		sa.MappingMaxAge = a.Uint32()
	case xfrm.AttrNATKeepaliveInterval:
		sa.NATKeepaliveInterval = a.Uint32()
	case xfrm.AttrSAPCPU:
		sa.PerCPU, sa.CPU = true, a.Uint32()
	case xfrm.AttrSecCtx:
		sa.SecCtx = decodeSecCtx(a, sp.secCtx)
	case xfrm.AttrIPTFSDropTime, xfrm.AttrIPTFSReorderWindow, xfrm.AttrIPTFSDontFrag,
		xfrm.AttrIPTFSInitDelay, xfrm.AttrIPTFSMaxQSize, xfrm.AttrIPTFSPktSize:
		if sa.IPTFS == nil {
			sa.IPTFS = sp.iptfs
			if sa.IPTFS == nil {
				sa.IPTFS = new(IPTFS)
			} else {
				*sa.IPTFS = IPTFS{}
			}
		}
		t := sa.IPTFS
		switch a.Type() {
		case xfrm.AttrIPTFSDropTime:
			t.DropTime = time.Duration(a.Uint32()) * time.Microsecond
		case xfrm.AttrIPTFSReorderWindow:
			t.ReorderWindow = a.Uint16()
		case xfrm.AttrIPTFSDontFrag:
			t.DontFrag = true
		case xfrm.AttrIPTFSInitDelay:
			t.InitDelay = time.Duration(a.Uint32()) * time.Microsecond
		case xfrm.AttrIPTFSMaxQSize:
			t.MaxQueueSize = a.Uint32()
		case xfrm.AttrIPTFSPktSize:
			t.PacketSize = a.Uint32()
		}
	case xfrm.AttrPad:
	default:
		return false
	}
	return true
}

// decodeSA decodes an SA whose struct xfrm_usersa_info (if any) is info and
// whose attributes are attrs, over sa, reusing what sa points to.
func (d *decoder) decodeSA(sa *SA, info, attrs []byte, context string) error {
	var sp saSpare
	if info != nil {
		// As in decodePolicy: decodeUsersaInfo sets every fixed field, so
		// clear only what attributes set, field by field (zeroing a struct
		// with pointers in the heap costs a write-barrier pass).
		sp = saSpare{
			mark: sa.Mark, outputMark: sa.OutputMark, replay: sa.Replay, encap: sa.Encap,
			auth: sa.Auth, crypt: sa.Crypt, aead: sa.AEAD, comp: sa.Comp, secCtx: sa.SecCtx, iptfs: sa.IPTFS,
		}
		sa.Replay, sa.Mark, sa.OutputMark, sa.Encap = nil, nil, nil, nil
		sa.Auth, sa.Crypt, sa.AEAD, sa.Comp, sa.SecCtx, sa.IPTFS = nil, nil, nil, nil, nil, nil
		sa.ExtraFlags, sa.IfID, sa.OffloadDev, sa.SADir, sa.OffloadFlags = 0, 0, 0, 0, 0
		sa.LastUsed, sa.CoAddr = time.Time{}, netip.Addr{}
		sa.TFCPad, sa.MappingMaxAge, sa.NATKeepaliveInterval = 0, 0, 0
		sa.PerCPU, sa.CPU, sa.unknown = false, 0, attrSet{}
		if err := decodeUsersaInfo(sa, info); err != nil {
			return err
		}
	} else {
		sp = resetSA(sa)
	}
	a := nl.NewAttrs(attrs, context)
	for a.Next() {
		if !d.saAttr(sa, &sp, &a) {
			sa.unknown.add(a.Type())
		}
	}
	return a.Err()
}

// saMessage decodes an XFRM_MSG_NEWSA (dump, reply, or event) or
// XFRM_MSG_UPDSA payload.
func (d *decoder) saMessage(sa *SA, p []byte) error {
	if len(p) < xfrm.SizeofUsersaInfo {
		return shortError("struct xfrm_usersa_info", len(p), xfrm.SizeofUsersaInfo)
	}
	return d.decodeSA(sa, p[:xfrm.SizeofUsersaInfo], attrsAfter(p, xfrm.SizeofUsersaInfo), "XFRM SA attributes")
}

// attrsAfter returns the attributes that follow a fixed header of n bytes.
func attrsAfter(p []byte, n int) []byte {
	n = nl.Align(n)
	if n >= len(p) {
		return nil
	}
	return p[n:]
}
