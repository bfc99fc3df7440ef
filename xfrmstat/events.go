package xfrmstat

import (
	"fmt"
	"net/netip"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// Group is a set of XFRM multicast groups to subscribe to.
type Group uint32

const (
	// GroupAcquire delivers Acquire: a packet matched a policy for which
	// no SA exists, and the kernel asks the IKE daemon to negotiate one.
	GroupAcquire Group = 1 << iota
	// GroupExpire delivers SAExpire and PolicyExpire: a soft lifetime
	// limit (time to rekey) or a hard one (the SA or policy is gone).
	GroupExpire
	// GroupSA delivers SAEvent (new, updated, deleted SAs) and SAFlush.
	GroupSA
	// GroupPolicy delivers PolicyEvent and PolicyFlush.
	GroupPolicy
	// GroupAEvents delivers AEvent: replay and lifetime snapshots of SAs
	// that have asynchronous events enabled (for SA replication to a
	// standby; see ip-xfrm(8) "replay-thresh" and the sysctls
	// xfrm_aevent_etime and xfrm_aevent_rseqth).
	GroupAEvents
	// GroupReport delivers Report (Mobile IPv6 route optimization).
	GroupReport
	// GroupMigrate delivers Migrate (MOBIKE / Mobile IPv6 address changes).
	GroupMigrate
	// GroupMapping delivers Mapping: the NAT in front of a NAT-T peer
	// changed its address or port.
	GroupMapping

	// GroupAll is every group above.
	GroupAll = GroupAcquire | GroupExpire | GroupSA | GroupPolicy | GroupAEvents | GroupReport | GroupMigrate | GroupMapping
)

// groupNumbers maps each Group bit to the kernel's group number.
var groupNumbers = [...]uint32{
	xfrm.GroupAcquire, xfrm.GroupExpire, xfrm.GroupSA, xfrm.GroupPolicy,
	xfrm.GroupAEvents, xfrm.GroupReport, xfrm.GroupMigrate, xfrm.GroupMapping,
}

// Event is one XFRM notification: one of *Acquire, *SAExpire,
// *PolicyExpire, *SAEvent, *SAFlush, *PolicyEvent, *PolicyFlush, *AEvent,
// *Report, *Migrate, *Mapping, *EventsLost or *UnknownEvent. Like every
// value of this package, no event holds key material, even though the
// kernel's SA notifications carry the keys.
type Event interface {
	// Message is the kernel's name of the message the event came from,
	// e.g. "XFRM_MSG_ACQUIRE".
	Message() string
}

// Acquire is XFRM_MSG_ACQUIRE: an outbound packet matched a policy whose
// template has no SA. The kernel installed a larval SA (visible in the SA
// dump, state acquire, counted in SADInfo) and asks the key manager to
// negotiate a real one; meanwhile packets of the flow are dropped (sysctl
// net.core.xfrm_larval_drop=1, the default, counting XfrmOutNoStates) or
// queued. An Acquire nobody answers is the classic "IKE daemon not
// running" or "peer unreachable" symptom.
type Acquire struct {
	// The SA wanted: destination, SPI (0: to be chosen), protocol.
	Dst   netip.Addr
	SPI   uint32
	Proto uint8
	Src   netip.Addr
	// Family is the address family Dst and Src were read in. The kernel's
	// struct xfrm_user_acquire does not carry one: it is the family of the
	// policy's first template with this Proto (the template the larval SA
	// was made from), or the selector's family if no template matches.
	Family uint16
	// Selector is the flow of the packet that triggered the acquire.
	Selector Selector
	// Policy is the policy the packet matched, with its templates.
	Policy Policy
	// SADB algorithm ID bit masks the negotiation may use.
	AuthAlgos, EncAlgos, CompAlgos uint32
	// Seq identifies this acquire; the IKE daemon passes it back when it
	// installs the SA (SA.Seq).
	Seq uint32
	// PerCPU and CPU are XFRMA_SA_PCPU (6.13+).
	PerCPU bool
	CPU    uint32
}

// SAExpire is XFRM_MSG_EXPIRE: an SA reached a soft lifetime limit (Hard
// false: rekey now) or a hard one (Hard true: the kernel deleted it). A
// larval SA whose acquire was never answered expires hard too.
type SAExpire struct {
	SA   SA
	Hard bool
}

// PolicyExpire is XFRM_MSG_POLEXPIRE: a policy reached a soft or hard
// lifetime limit (hard: the kernel deleted it).
type PolicyExpire struct {
	Policy Policy
	Hard   bool
}

// Op is what happened to an SA or policy.
type Op uint8

const (
	OpNew    Op = iota + 1 // XFRM_MSG_NEWSA / XFRM_MSG_NEWPOLICY
	OpUpdate               // XFRM_MSG_UPDSA / XFRM_MSG_UPDPOLICY
	OpDelete               // XFRM_MSG_DELSA / XFRM_MSG_DELPOLICY
)

// SAEvent reports an SA added, updated or deleted (by a key manager or
// ip-xfrm; the kernel's own expiry is an SAExpire).
type SAEvent struct {
	Op Op
	SA SA
}

// SAFlush is XFRM_MSG_FLUSHSA: every SA of Proto (0: of every protocol) was
// deleted at once.
type SAFlush struct {
	Proto uint8
}

// PolicyEvent reports a policy added, updated or deleted.
type PolicyEvent struct {
	Op     Op
	Policy Policy
}

// PolicyFlush is XFRM_MSG_FLUSHPOLICY: every policy of Type was deleted.
type PolicyFlush struct {
	Type uint8 // XFRM_POLICY_TYPE_MAIN (0) unless the kernel said otherwise
}

// AEvent is XFRM_MSG_NEWAE: a snapshot of an SA's replay state and
// lifetime counters, sent when the replay sequence advanced by the
// threshold or the timer fired (Flags says which).
type AEvent struct {
	Dst    netip.Addr
	SPI    uint32
	Proto  uint8
	Family uint16
	Src    netip.Addr
	ReqID  uint32
	// Flags are XFRM_AE_* bits: 16 (CR) replay update, 32 (CE) timer
	// expiry, 64 (CU) update by a key manager.
	Flags uint32
	// Replay is the replay state; an AEvent carries no window size, so
	// Replay.Window is 0 unless the state came in ESN format.
	Replay   *Replay
	Lifetime LifetimeCurrent
	// ReplayThreshold is XFRMA_REPLAY_THRESH (packets) and TimerThreshold
	// XFRMA_ETIMER_THRESH (tenths of a second), when sent.
	ReplayThreshold, TimerThreshold uint32
	Mark                            *Mark
	IfID                            uint32
	SADir                           uint8
	PerCPU                          bool
	CPU                             uint32

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent with the
// event that this package does not decode, as SA.UnknownAttrs.
func (e *AEvent) UnknownAttrs() []uint16 { return e.unknown.types() }

// Report is XFRM_MSG_REPORT (Mobile IPv6).
type Report struct {
	Proto    uint8
	Selector Selector
	CoAddr   netip.Addr
}

// Mapping is XFRM_MSG_MAPPING: the kernel saw ESP-in-UDP from a NAT-T
// peer's new address or port (its NAT rebound), for the SA identified by
// Dst, SPI and Proto.
type Mapping struct {
	Dst                netip.Addr
	SPI                uint32
	Proto              uint8
	Family             uint16
	ReqID              uint32
	OldSrc, NewSrc     netip.Addr
	OldSPort, NewSPort uint16 // host order
}

// Migrate is XFRM_MSG_MIGRATE: the kernel moved SAs and a policy to new
// endpoints (MOBIKE, Mobile IPv6).
type Migrate struct {
	Selector          Selector
	Dir               Dir
	Type              uint8
	Entries           []MigrateEntry
	KMLocal, KMRemote netip.Addr // XFRMA_KMADDRESS: the key manager's endpoints, if sent
	Encap             *Encap

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent with the
// event that this package does not decode, as SA.UnknownAttrs.
func (e *Migrate) UnknownAttrs() []uint16 { return e.unknown.types() }

// MigrateEntry is one struct xfrm_user_migrate.
type MigrateEntry struct {
	OldDst, OldSrc, NewDst, NewSrc netip.Addr
	Proto                          uint8
	Mode                           Mode
	ReqID                          uint32
	OldFamily, NewFamily           uint16
}

// EventsLost reports that the kernel dropped notifications because the
// subscription's socket buffer was full (ENOBUFS): events between the last
// one delivered and the next are missing. Re-read what you track (SAs,
// policies) to resynchronise.
type EventsLost struct{}

// UnknownEvent is a message of a type this package does not decode (Err
// nil), or one it could not decode (Err says why and where).
type UnknownEvent struct {
	Type uint16
	Len  int
	Err  error
}

func (*Acquire) Message() string      { return "XFRM_MSG_ACQUIRE" }
func (*SAExpire) Message() string     { return "XFRM_MSG_EXPIRE" }
func (*PolicyExpire) Message() string { return "XFRM_MSG_POLEXPIRE" }
func (*SAFlush) Message() string      { return "XFRM_MSG_FLUSHSA" }
func (*PolicyFlush) Message() string  { return "XFRM_MSG_FLUSHPOLICY" }
func (*AEvent) Message() string       { return "XFRM_MSG_NEWAE" }
func (*Report) Message() string       { return "XFRM_MSG_REPORT" }
func (*Mapping) Message() string      { return "XFRM_MSG_MAPPING" }
func (*Migrate) Message() string      { return "XFRM_MSG_MIGRATE" }
func (*EventsLost) Message() string   { return "ENOBUFS" }
func (e *UnknownEvent) Message() string {
	return msgName(e.Type)
}

func (e *SAEvent) Message() string {
	switch e.Op {
	case OpNew:
		return "XFRM_MSG_NEWSA"
	case OpUpdate:
		return "XFRM_MSG_UPDSA"
	}
	return "XFRM_MSG_DELSA"
}

func (e *PolicyEvent) Message() string {
	switch e.Op {
	case OpNew:
		return "XFRM_MSG_NEWPOLICY"
	case OpUpdate:
		return "XFRM_MSG_UPDPOLICY"
	}
	return "XFRM_MSG_DELPOLICY"
}

// decodeEvent decodes one multicast message. Events are fresh values: a
// subscriber may keep them.
func (d *decoder) decodeEvent(typ uint16, p []byte) (Event, error) {
	switch typ {
	case xfrm.MsgAcquire:
		return d.acquire(p)
	case xfrm.MsgExpire:
		if len(p) < xfrm.SizeofUserExpire {
			return nil, shortError("struct xfrm_user_expire", len(p), xfrm.SizeofUserExpire)
		}
		e := &SAExpire{Hard: p[xfrm.ExpireHard] != 0}
		err := d.decodeSA(&e.SA, p[:xfrm.SizeofUsersaInfo], attrsAfter(p, xfrm.SizeofUserExpire), "XFRM_MSG_EXPIRE attributes")
		return e, err
	case xfrm.MsgPolExpire:
		if len(p) < xfrm.SizeofUserPolExpire {
			return nil, shortError("struct xfrm_user_polexpire", len(p), xfrm.SizeofUserPolExpire)
		}
		e := &PolicyExpire{Hard: p[xfrm.PolExpireHard] != 0}
		err := d.decodePolicy(&e.Policy, p[:xfrm.SizeofUserpolicyInfo], attrsAfter(p, xfrm.SizeofUserPolExpire), "XFRM_MSG_POLEXPIRE attributes")
		return e, err
	case xfrm.MsgNewSA, xfrm.MsgUpdSA:
		e := &SAEvent{Op: OpNew}
		if typ == xfrm.MsgUpdSA {
			e.Op = OpUpdate
		}
		return e, d.saMessage(&e.SA, p)
	case xfrm.MsgDelSA:
		// struct xfrm_usersa_id, then the whole SA in XFRMA_SA.
		if len(p) < xfrm.SizeofUsersaID {
			return nil, shortError("struct xfrm_usersa_id", len(p), xfrm.SizeofUsersaID)
		}
		e := &SAEvent{Op: OpDelete}
		if err := d.decodeSA(&e.SA, nil, attrsAfter(p, xfrm.SizeofUsersaID), "XFRM_MSG_DELSA attributes"); err != nil {
			return e, err
		}
		if e.SA.Family == 0 { // no XFRMA_SA: fall back on the ID in the header
			if err := decodeUsersaID(p, &e.SA.Dst, &e.SA.SPI, &e.SA.Proto, &e.SA.Family); err != nil {
				return e, err
			}
		}
		return e, nil
	case xfrm.MsgFlushSA:
		if len(p) < xfrm.SizeofUsersaFlush {
			return nil, shortError("struct xfrm_usersa_flush", len(p), xfrm.SizeofUsersaFlush)
		}
		return &SAFlush{Proto: p[0]}, nil
	case xfrm.MsgNewPolicy, xfrm.MsgUpdPolicy:
		e := &PolicyEvent{Op: OpNew}
		if typ == xfrm.MsgUpdPolicy {
			e.Op = OpUpdate
		}
		return e, d.policyMessage(&e.Policy, p)
	case xfrm.MsgDelPolicy:
		// struct xfrm_userpolicy_id, then the policy in XFRMA_POLICY.
		if len(p) < xfrm.SizeofUserpolicyID {
			return nil, shortError("struct xfrm_userpolicy_id", len(p), xfrm.SizeofUserpolicyID)
		}
		e := &PolicyEvent{Op: OpDelete}
		if err := d.decodePolicy(&e.Policy, nil, attrsAfter(p, xfrm.SizeofUserpolicyID), "XFRM_MSG_DELPOLICY attributes"); err != nil {
			return e, err
		}
		if e.Policy.Selector.Family == 0 && e.Policy.Index == 0 { // no XFRMA_POLICY: use the ID
			if err := decodeSelector(&e.Policy.Selector, p, "policy selector"); err != nil {
				return e, err
			}
			e.Policy.Index = ne.Uint32(p[xfrm.UserpolIDIndex:])
			e.Policy.Dir = Dir(p[xfrm.UserpolIDDir])
		}
		return e, nil
	case xfrm.MsgFlushPolicy:
		e := &PolicyFlush{}
		a := nl.NewAttrs(p, "XFRM_MSG_FLUSHPOLICY attributes")
		for a.Next() {
			if a.Type() == xfrm.AttrPolicyType {
				e.Type = a.Uint8()
			}
		}
		return e, a.Err()
	case xfrm.MsgNewAE:
		return d.aevent(p)
	case xfrm.MsgReport:
		if len(p) < xfrm.SizeofUserReport {
			return nil, shortError("struct xfrm_user_report", len(p), xfrm.SizeofUserReport)
		}
		e := &Report{Proto: p[xfrm.ReportProto]}
		if err := decodeSelector(&e.Selector, p[xfrm.ReportSel:], "report selector"); err != nil {
			return e, err
		}
		a := nl.NewAttrs(attrsAfter(p, xfrm.SizeofUserReport), "XFRM_MSG_REPORT attributes")
		for a.Next() {
			if a.Type() == xfrm.AttrCoAddr {
				if len(a.Data()) < xfrm.SizeofAddress {
					a.Fail("short XFRMA_COADDR")
					continue
				}
				var err error
				if e.CoAddr, err = decodeAddr(a.Data(), e.Selector.Family, "XFRMA_COADDR"); err != nil {
					a.Fail(err.Error())
				}
			}
		}
		return e, a.Err()
	case xfrm.MsgMapping:
		if len(p) < xfrm.SizeofUserMapping {
			return nil, shortError("struct xfrm_user_mapping", len(p), xfrm.SizeofUserMapping)
		}
		e := &Mapping{ReqID: ne.Uint32(p[xfrm.MappingReqid:]), OldSPort: be.Uint16(p[xfrm.MappingOldSport:]), NewSPort: be.Uint16(p[xfrm.MappingNewSport:])}
		if err := decodeUsersaID(p[xfrm.MappingID:], &e.Dst, &e.SPI, &e.Proto, &e.Family); err != nil {
			return e, err
		}
		var err error
		if e.OldSrc, err = decodeAddr(p[xfrm.MappingOldSaddr:], e.Family, "mapping old saddr"); err != nil {
			return e, err
		}
		e.NewSrc, err = decodeAddr(p[xfrm.MappingNewSaddr:], e.Family, "mapping new saddr")
		return e, err
	case xfrm.MsgMigrate:
		return d.migrate(p)
	}
	return &UnknownEvent{Type: typ, Len: len(p)}, nil
}

// decodeUsersaID reads a struct xfrm_usersa_id.
func decodeUsersaID(b []byte, dst *netip.Addr, spi *uint32, proto *uint8, family *uint16) error {
	if len(b) < xfrm.SizeofUsersaID {
		return shortError("struct xfrm_usersa_id", len(b), xfrm.SizeofUsersaID)
	}
	*family = ne.Uint16(b[xfrm.UsersaIDFamily:])
	*spi = be.Uint32(b[xfrm.UsersaIDSPI:])
	*proto = b[xfrm.UsersaIDProto]
	var err error
	*dst, err = decodeAddr(b[xfrm.UsersaIDDaddr:], *family, "SA ID daddr")
	return err
}

func (d *decoder) acquire(p []byte) (*Acquire, error) {
	if len(p) < xfrm.SizeofUserAcquire {
		return nil, shortError("struct xfrm_user_acquire", len(p), xfrm.SizeofUserAcquire)
	}
	e := &Acquire{
		SPI:       be.Uint32(p[xfrm.AcqID+xfrm.IDSPI:]),
		Proto:     p[xfrm.AcqID+xfrm.IDProto],
		AuthAlgos: ne.Uint32(p[xfrm.AcqAalgos:]),
		EncAlgos:  ne.Uint32(p[xfrm.AcqEalgos:]),
		CompAlgos: ne.Uint32(p[xfrm.AcqCalgos:]),
		Seq:       ne.Uint32(p[xfrm.AcqSeq:]),
	}
	if err := decodeSelector(&e.Selector, p[xfrm.AcqSel:], "acquire selector"); err != nil {
		return e, err
	}
	sp := resetPolicy(&e.Policy)
	if err := decodeUserpolicyInfo(&e.Policy, p[xfrm.AcqPolicy:xfrm.AcqPolicy+xfrm.SizeofUserpolicyInfo]); err != nil {
		return e, err
	}
	a := nl.NewAttrs(attrsAfter(p, xfrm.SizeofUserAcquire), "XFRM_MSG_ACQUIRE attributes")
	for a.Next() {
		switch {
		case a.Type() == xfrm.AttrSAPCPU:
			e.PerCPU, e.CPU = true, a.Uint32()
		case d.policyAttr(&e.Policy, &sp, &a):
		default:
			e.Policy.unknown.add(a.Type())
		}
	}
	if err := a.Err(); err != nil {
		return e, err
	}
	e.Family = e.Selector.Family
	for _, t := range e.Policy.Templates {
		if t.Proto == e.Proto {
			e.Family = t.Family
			break
		}
	}
	var err error
	if e.Dst, err = decodeAddr(p[xfrm.AcqID+xfrm.IDDaddr:], e.Family, "acquire daddr"); err != nil {
		return e, err
	}
	e.Src, err = decodeAddr(p[xfrm.AcqSaddr:], e.Family, "acquire saddr")
	return e, err
}

func (d *decoder) aevent(p []byte) (*AEvent, error) {
	if len(p) < xfrm.SizeofAeventID {
		return nil, shortError("struct xfrm_aevent_id", len(p), xfrm.SizeofAeventID)
	}
	e := &AEvent{ReqID: ne.Uint32(p[xfrm.AeventReqid:]), Flags: ne.Uint32(p[xfrm.AeventFlags:])}
	if err := decodeUsersaID(p[xfrm.AeventSaID:], &e.Dst, &e.SPI, &e.Proto, &e.Family); err != nil {
		return e, err
	}
	var err error
	if e.Src, err = decodeAddr(p[xfrm.AeventSaddr:], e.Family, "aevent saddr"); err != nil {
		return e, err
	}
	// The replay and mark attributes decode as they do in an SA.
	var sa SA
	var sp saSpare
	a := nl.NewAttrs(attrsAfter(p, xfrm.SizeofAeventID), "XFRM_MSG_NEWAE attributes")
	for a.Next() {
		switch a.Type() {
		case xfrm.AttrLtimeVal:
			if len(a.Data()) < xfrm.SizeofLifetimeCur {
				a.Fail(fmt.Sprintf("want a %d-byte struct xfrm_lifetime_cur, have %d bytes", xfrm.SizeofLifetimeCur, len(a.Data())))
				continue
			}
			decodeLifetimeCurrent(&e.Lifetime, a.Data())
		case xfrm.AttrReplayThresh:
			e.ReplayThreshold = a.Uint32()
		case xfrm.AttrEtimerThresh:
			e.TimerThreshold = a.Uint32()
		case xfrm.AttrReplayVal, xfrm.AttrReplayESNVal, xfrm.AttrMark, xfrm.AttrIfID, xfrm.AttrSADir, xfrm.AttrSAPCPU, xfrm.AttrPad:
			d.saAttr(&sa, &sp, &a)
		default:
			e.unknown.add(a.Type())
		}
	}
	e.Replay, e.Mark, e.IfID, e.SADir, e.PerCPU, e.CPU = sa.Replay, sa.Mark, sa.IfID, sa.SADir, sa.PerCPU, sa.CPU
	if e.Replay != nil {
		e.Replay.ESN = e.Replay.ESNFormat // no SA flags here to tell
	}
	return e, a.Err()
}

func (d *decoder) migrate(p []byte) (*Migrate, error) {
	if len(p) < xfrm.SizeofUserpolicyID {
		return nil, shortError("struct xfrm_userpolicy_id", len(p), xfrm.SizeofUserpolicyID)
	}
	e := &Migrate{Dir: Dir(p[xfrm.UserpolIDDir])}
	if err := decodeSelector(&e.Selector, p, "migrate selector"); err != nil {
		return e, err
	}
	var encap []byte
	a := nl.NewAttrs(attrsAfter(p, xfrm.SizeofUserpolicyID), "XFRM_MSG_MIGRATE attributes")
	for a.Next() {
		b := a.Data()
		switch a.Type() {
		case xfrm.AttrMigrate:
			if len(b)%xfrm.SizeofUserMigrate != 0 {
				a.Fail(fmt.Sprintf("%d bytes are not a whole number of %d-byte struct xfrm_user_migrate", len(b), xfrm.SizeofUserMigrate))
				continue
			}
			for ; len(b) > 0; b = b[xfrm.SizeofUserMigrate:] {
				m := MigrateEntry{
					Proto: b[xfrm.MigrateProto], Mode: Mode(b[xfrm.MigrateMode]), ReqID: ne.Uint32(b[xfrm.MigrateReqid:]),
					OldFamily: ne.Uint16(b[xfrm.MigrateOldFamily:]), NewFamily: ne.Uint16(b[xfrm.MigrateNewFamily:]),
				}
				var errs [4]error
				m.OldDst, errs[0] = decodeAddr(b[xfrm.MigrateOldDaddr:], m.OldFamily, "migrate old daddr")
				m.OldSrc, errs[1] = decodeAddr(b[xfrm.MigrateOldSaddr:], m.OldFamily, "migrate old saddr")
				m.NewDst, errs[2] = decodeAddr(b[xfrm.MigrateNewDaddr:], m.NewFamily, "migrate new daddr")
				m.NewSrc, errs[3] = decodeAddr(b[xfrm.MigrateNewSaddr:], m.NewFamily, "migrate new saddr")
				for _, err := range errs {
					if err != nil {
						a.Fail(err.Error())
					}
				}
				e.Entries = append(e.Entries, m)
			}
		case xfrm.AttrKMAddress:
			if len(b) < xfrm.SizeofUserKMAddress {
				a.Fail(fmt.Sprintf("want a %d-byte struct xfrm_user_kmaddress, have %d bytes", xfrm.SizeofUserKMAddress, len(b)))
				continue
			}
			fam := ne.Uint16(b[xfrm.KMAddressFamily:])
			var err error
			if e.KMLocal, err = decodeAddr(b[xfrm.KMAddressLocal:], fam, "kmaddress local"); err != nil {
				a.Fail(err.Error())
			}
			if e.KMRemote, err = decodeAddr(b[xfrm.KMAddressRemote:], fam, "kmaddress remote"); err != nil {
				a.Fail(err.Error())
			}
		case xfrm.AttrEncap:
			// The encapsulation belongs to the new endpoints, whose family
			// the entries (which may follow) give; decode it after them.
			encap = append(encap[:0], a.Data()...)
		case xfrm.AttrPolicyType:
			e.Type = a.Uint8()
		default:
			e.unknown.add(a.Type())
		}
	}
	if err := a.Err(); err != nil {
		return e, err
	}
	if encap != nil {
		sa := SA{Family: e.Selector.Family}
		if len(e.Entries) > 0 {
			sa.Family = e.Entries[0].NewFamily
		}
		var sp saSpare
		b := nl.AppendAttr(nil, xfrm.AttrEncap, encap)
		ea := nl.NewAttrs(b, "XFRM_MSG_MIGRATE XFRMA_ENCAP")
		for ea.Next() {
			d.saAttr(&sa, &sp, &ea)
		}
		e.Encap = sa.Encap
		return e, ea.Err()
	}
	return e, nil
}
