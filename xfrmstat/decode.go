package xfrmstat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// The decoders in this file are pure: they read one message's bytes where
// the kernel put them and copy out only what the data model holds. They
// build on every OS so that they can be fuzzed anywhere.
//
// Key material: struct xfrm_algo, xfrm_algo_auth and xfrm_algo_aead end in
// the key. The decoders read the 64-byte name and the length fields in front
// of it and never index past xfrm.SizeofAlgoAuth into an algorithm
// attribute, so the key bytes are not even read, let alone copied.

var (
	ne = binary.NativeEndian
	be = binary.BigEndian
)

// DecodeError reports a kernel message that could not be decoded: which
// message, where in its dump, and what was wrong (the wrapped error names
// the attribute or structure and the byte offset). Message and Index mean
// what they mean in vtistat.DecodeError.
type DecodeError struct {
	Message string // the kernel's message name, e.g. "XFRM_MSG_NEWSA"
	Index   int    // position of the message in its dump (0 is the first), -1 for a single reply or an event
	Err     error
}

func (e *DecodeError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("xfrmstat: decode %s #%d of the dump: %v", e.Message, e.Index, e.Err)
	}
	return fmt.Sprintf("xfrmstat: decode %s: %v", e.Message, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// shortError says that a structure did not fit the bytes the kernel sent.
func shortError(what string, have, want int) error {
	return fmt.Errorf("%s: %d bytes, want at least %d", what, have, want)
}

// msgName names a message type for errors.
func msgName(t uint16) string {
	if n := xfrm.MsgName(t); n != "" {
		return n
	}
	return fmt.Sprintf("message type %#x", t)
}

// decodeAddr reads an xfrm_address_t of the given family. An address of any
// other family decodes to the zero Addr if its bytes are all zero (the
// kernel's "no address"), and is an error otherwise: it cannot be read
// without guessing.
func decodeAddr(b []byte, family uint16, what string) (netip.Addr, error) {
	switch family {
	case xfrm.AFInet:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case xfrm.AFInet6:
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	if !allZero(b[:xfrm.SizeofAddress]) {
		if what != "" {
			what += ": "
		}
		return netip.Addr{}, fmt.Errorf("%saddress family %d is neither AF_INET nor AF_INET6 but the address is not zero", what, family)
	}
	return netip.Addr{}, nil
}

// decodePrefix reads a selector address and its prefix length. what and
// part name it in errors (concatenated only then: this runs per message).
func decodePrefix(b []byte, family uint16, bits uint8, what, part string) (netip.Prefix, error) {
	a, err := decodeAddr(b, family, "")
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s %s: %v", what, part, err)
	}
	if !a.IsValid() {
		if bits != 0 {
			return netip.Prefix{}, fmt.Errorf("%s %s: prefix length %d with address family %d", what, part, bits, family)
		}
		return netip.Prefix{}, nil
	}
	if int(bits) > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("%s %s: prefix length %d is longer than the %d-bit address", what, part, bits, a.BitLen())
	}
	// PrefixFrom keeps the address as the kernel stores it: unmasked bits
	// stay visible rather than being silently cleared.
	return netip.PrefixFrom(a, int(bits)), nil
}

// decodeSelector reads a struct xfrm_selector; b holds at least
// xfrm.SizeofSelector bytes.
func decodeSelector(s *Selector, b []byte, what string) error {
	return decodeSelectorIn(s, b, what, 0)
}

// decodeSelectorIn reads a selector that belongs to an SA of family
// saFamily. An SA selector may have family 0 and still hold addresses: the
// kernel then matches it in the SA's family (xfrm_selector_match is given
// the flow's family; larval SAs from ALLOCSPI are made so), so its prefixes
// are read in saFamily while Family stays 0 as the kernel has it. A family
// 0 selector whose addresses and prefix lengths are all zero (an SA with
// XFRM_STATE_AF_UNSPEC) matches any flow and decodes to zero prefixes.
func decodeSelectorIn(s *Selector, b []byte, what string, saFamily uint16) error {
	s.Family = ne.Uint16(b[xfrm.SelFamily:])
	fam := s.Family
	if fam == 0 && (b[xfrm.SelPrefixlenD] != 0 || b[xfrm.SelPrefixlenS] != 0 || !allZero(b[xfrm.SelDaddr:xfrm.SelDaddr+2*xfrm.SizeofAddress])) {
		fam = saFamily
	}
	var err error
	if s.Dst, err = decodePrefix(b[xfrm.SelDaddr:], fam, b[xfrm.SelPrefixlenD], what, "daddr"); err != nil {
		return err
	}
	if s.Src, err = decodePrefix(b[xfrm.SelSaddr:], fam, b[xfrm.SelPrefixlenS], what, "saddr"); err != nil {
		return err
	}
	s.DstPort = be.Uint16(b[xfrm.SelDport:])
	s.DstPortMask = be.Uint16(b[xfrm.SelDportMask:])
	s.SrcPort = be.Uint16(b[xfrm.SelSport:])
	s.SrcPortMask = be.Uint16(b[xfrm.SelSportMask:])
	s.Proto = b[xfrm.SelProto]
	s.IfIndex = int32(ne.Uint32(b[xfrm.SelIfindex:]))
	s.User = ne.Uint32(b[xfrm.SelUser:])
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// seconds converts the kernel's time64 seconds to a time, 0 meaning never.
func seconds(s uint64) time.Time {
	if s == 0 || s > math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

func decodeLifetimeConfig(l *LifetimeConfig, b []byte) {
	l.SoftByteLimit = ne.Uint64(b[0:])
	l.HardByteLimit = ne.Uint64(b[8:])
	l.SoftPacketLimit = ne.Uint64(b[16:])
	l.HardPacketLimit = ne.Uint64(b[24:])
	l.SoftAddExpiresSeconds = ne.Uint64(b[32:])
	l.HardAddExpiresSeconds = ne.Uint64(b[40:])
	l.SoftUseExpiresSeconds = ne.Uint64(b[48:])
	l.HardUseExpiresSeconds = ne.Uint64(b[56:])
}

func decodeLifetimeCurrent(l *LifetimeCurrent, b []byte) {
	l.Bytes = ne.Uint64(b[0:])
	l.Packets = ne.Uint64(b[8:])
	l.AddTime = seconds(ne.Uint64(b[16:]))
	l.UseTime = seconds(ne.Uint64(b[24:]))
}

// decoder holds what decoding reuses across messages: a slab that hands
// out the pointed-to values (marks, replay states, algorithms, templates) in
// chunks instead of one allocation each, and a table that keeps one copy of
// each algorithm name. A decoder is not safe for concurrent use; the Client
// serialises access.
type decoder struct {
	slab  slab
	names map[string]string
}

// maxNames bounds the interned algorithm names: a kernel has a few dozen
// algorithms, so more than this means something odd and the rest are simply
// not interned.
const maxNames = 256

// name returns the algorithm name in b as a string without allocating when
// it equals old (the same SA polled again) or a name seen before.
func (d *decoder) name(b []byte, old string) string {
	if old == string(b) { // compiled without a conversion
		return old
	}
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.names == nil {
		d.names = make(map[string]string)
	}
	if len(d.names) < maxNames {
		d.names[s] = s
	}
	return s
}

// slab hands out values from chunks. Values it has handed out are never
// handed out again, so results stay valid; a new chunk is allocated only
// when one runs out, and chunks grow with use, so a dump of n items makes
// O(log n + n/maxChunk) allocations for its pointed-to values.
type slab struct {
	marks    []Mark
	replays  []Replay
	algs     []Algorithm
	encaps   []Encap
	tmpls    []Template
	chunkLen int
}

const (
	minChunk = 8
	maxChunk = 1024
)

func (s *slab) grow() int {
	if s.chunkLen < minChunk {
		s.chunkLen = minChunk
	} else if s.chunkLen < maxChunk {
		s.chunkLen *= 2
	}
	return s.chunkLen
}

func (s *slab) mark() *Mark {
	if len(s.marks) == cap(s.marks) {
		s.marks = make([]Mark, 0, s.grow())
	}
	s.marks = s.marks[:len(s.marks)+1]
	return &s.marks[len(s.marks)-1]
}

func (s *slab) replay() *Replay {
	if len(s.replays) == cap(s.replays) {
		s.replays = make([]Replay, 0, s.grow())
	}
	s.replays = s.replays[:len(s.replays)+1]
	return &s.replays[len(s.replays)-1]
}

func (s *slab) alg() *Algorithm {
	if len(s.algs) == cap(s.algs) {
		s.algs = make([]Algorithm, 0, s.grow())
	}
	s.algs = s.algs[:len(s.algs)+1]
	return &s.algs[len(s.algs)-1]
}

func (s *slab) encap() *Encap {
	if len(s.encaps) == cap(s.encaps) {
		s.encaps = make([]Encap, 0, s.grow())
	}
	s.encaps = s.encaps[:len(s.encaps)+1]
	return &s.encaps[len(s.encaps)-1]
}

// templates returns n templates whose capacity ends at n, so that an
// append by the caller cannot run into a neighbour's templates.
func (s *slab) templates(n int) []Template {
	if n > maxChunk/4 {
		return make([]Template, n)
	}
	if cap(s.tmpls)-len(s.tmpls) < n {
		s.tmpls = make([]Template, 0, max(s.grow(), n))
	}
	l := len(s.tmpls)
	s.tmpls = s.tmpls[:l+n]
	return s.tmpls[l : l+n : l+n]
}

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
