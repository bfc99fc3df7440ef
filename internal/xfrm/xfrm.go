// Package xfrm defines, once for the whole module, the XFRM netlink protocol
// of include/uapi/linux/xfrm.h: message types, attribute types, multicast
// groups, flags, and the byte layout (sizes and field offsets) of every
// structure the kernel sends. golang.org/x/sys/unix has none of these.
//
// The layouts are the kernel's C structs as compiled for this GOARCH. They
// differ between architectures only where a __u64 field sets the struct's
// alignment: i386 aligns __u64 to 4 bytes, every other Linux ABI Go supports
// aligns it to 8, so struct xfrm_usersa_info is 224 bytes on amd64 and arm
// but 220 on 386 (see align64_386.go). The kernel's own 32-bit compat
// translator (CONFIG_XFRM_USER_COMPAT) produces the 386 layout for a 32-bit
// process on a 64-bit kernel.
//
// Nothing here reads key material: the algorithm layouts stop at the key
// length fields, and decoders must never look past them.
package xfrm

// Message types (enum XFRM_MSG_*).
const (
	MsgBase        = 0x10
	MsgNewSA       = 0x10
	MsgDelSA       = 0x11
	MsgGetSA       = 0x12
	MsgNewPolicy   = 0x13
	MsgDelPolicy   = 0x14
	MsgGetPolicy   = 0x15
	MsgAllocSPI    = 0x16
	MsgAcquire     = 0x17
	MsgExpire      = 0x18
	MsgUpdPolicy   = 0x19
	MsgUpdSA       = 0x1a
	MsgPolExpire   = 0x1b
	MsgFlushSA     = 0x1c
	MsgFlushPolicy = 0x1d
	MsgNewAE       = 0x1e
	MsgGetAE       = 0x1f
	MsgReport      = 0x20
	MsgMigrate     = 0x21
	MsgNewSADInfo  = 0x22
	MsgGetSADInfo  = 0x23
	MsgNewSPDInfo  = 0x24
	MsgGetSPDInfo  = 0x25
	MsgMapping     = 0x26
	MsgSetDefault  = 0x27 // Linux 5.16+
	MsgGetDefault  = 0x28 // Linux 5.16+
)

var msgNames = [...]string{
	"XFRM_MSG_NEWSA", "XFRM_MSG_DELSA", "XFRM_MSG_GETSA",
	"XFRM_MSG_NEWPOLICY", "XFRM_MSG_DELPOLICY", "XFRM_MSG_GETPOLICY",
	"XFRM_MSG_ALLOCSPI", "XFRM_MSG_ACQUIRE", "XFRM_MSG_EXPIRE",
	"XFRM_MSG_UPDPOLICY", "XFRM_MSG_UPDSA", "XFRM_MSG_POLEXPIRE",
	"XFRM_MSG_FLUSHSA", "XFRM_MSG_FLUSHPOLICY", "XFRM_MSG_NEWAE", "XFRM_MSG_GETAE",
	"XFRM_MSG_REPORT", "XFRM_MSG_MIGRATE", "XFRM_MSG_NEWSADINFO", "XFRM_MSG_GETSADINFO",
	"XFRM_MSG_NEWSPDINFO", "XFRM_MSG_GETSPDINFO", "XFRM_MSG_MAPPING",
	"XFRM_MSG_SETDEFAULT", "XFRM_MSG_GETDEFAULT",
}

// MsgName returns the kernel's name of an XFRM message type, or "" if t is
// not one this package knows.
func MsgName(t uint16) string {
	if t < MsgBase || int(t-MsgBase) >= len(msgNames) {
		return ""
	}
	return msgNames[t-MsgBase]
}

// Attribute types (enum xfrm_attr_type_t, XFRMA_*).
const (
	AttrUnspec               = 0
	AttrAlgAuth              = 1  // struct xfrm_algo (+ key)
	AttrAlgCrypt             = 2  // struct xfrm_algo (+ key)
	AttrAlgComp              = 3  // struct xfrm_algo
	AttrEncap                = 4  // struct xfrm_encap_tmpl
	AttrTmpl                 = 5  // one or more struct xfrm_user_tmpl
	AttrSA                   = 6  // struct xfrm_usersa_info
	AttrPolicy               = 7  // struct xfrm_userpolicy_info
	AttrSecCtx               = 8  // struct xfrm_user_sec_ctx + context string
	AttrLtimeVal             = 9  // struct xfrm_lifetime_cur
	AttrReplayVal            = 10 // struct xfrm_replay_state
	AttrReplayThresh         = 11 // __u32
	AttrEtimerThresh         = 12 // __u32
	AttrSrcAddr              = 13 // xfrm_address_t
	AttrCoAddr               = 14 // xfrm_address_t
	AttrLastUsed             = 15 // __u64 seconds
	AttrPolicyType           = 16 // struct xfrm_userpolicy_type
	AttrMigrate              = 17 // one or more struct xfrm_user_migrate
	AttrAlgAEAD              = 18 // struct xfrm_algo_aead (+ key)
	AttrKMAddress            = 19 // struct xfrm_user_kmaddress
	AttrAlgAuthTrunc         = 20 // struct xfrm_algo_auth (+ key)
	AttrMark                 = 21 // struct xfrm_mark
	AttrTFCPad               = 22 // __u32
	AttrReplayESNVal         = 23 // struct xfrm_replay_state_esn (+ bitmap)
	AttrSAExtraFlags         = 24 // __u32
	AttrProto                = 25 // __u8 (dump filter)
	AttrAddressFilter        = 26 // struct xfrm_address_filter (dump filter)
	AttrPad                  = 27
	AttrOffloadDev           = 28 // struct xfrm_user_offload
	AttrSetMark              = 29 // __u32 (was XFRMA_OUTPUT_MARK)
	AttrSetMarkMask          = 30 // __u32
	AttrIfID                 = 31 // __u32
	AttrMTimerThresh         = 32 // __u32 seconds (NAT mapping max age)
	AttrSADir                = 33 // __u8, Linux 6.10+
	AttrNATKeepaliveInterval = 34 // __u32 seconds, Linux 6.10+
	AttrSAPCPU               = 35 // __u32, Linux 6.13+
	AttrIPTFSDropTime        = 36 // __u32 µs, Linux 6.14+
	AttrIPTFSReorderWindow   = 37 // __u16
	AttrIPTFSDontFrag        = 38 // flag
	AttrIPTFSInitDelay       = 39 // __u32 µs
	AttrIPTFSMaxQSize        = 40 // __u32 octets
	AttrIPTFSPktSize         = 41 // __u32 octets, 0 for PMTU
)

// SAD info attributes (enum xfrm_sadattr_type_t).
const (
	SADAttrCnt   = 1 // __u32
	SADAttrHInfo = 2 // struct xfrmu_sadhinfo
)

// SPD info attributes (enum xfrm_spdattr_type_t).
const (
	SPDAttrInfo        = 1 // struct xfrmu_spdinfo
	SPDAttrHInfo       = 2 // struct xfrmu_spdhinfo
	SPDAttrIPv4HThresh = 3 // struct xfrmu_spdhthresh
	SPDAttrIPv6HThresh = 4 // struct xfrmu_spdhthresh
)

// Multicast groups (enum xfrm_nlgroups). Join them by number.
const (
	GroupAcquire = 1
	GroupExpire  = 2
	GroupSA      = 3
	GroupPolicy  = 4
	GroupAEvents = 5
	GroupReport  = 6
	GroupMigrate = 7
	GroupMapping = 8
)

// Modes (XFRM_MODE_*).
const (
	ModeTransport = 0
	ModeTunnel    = 1
	ModeROUTEOPT  = 2
	ModeInTrigger = 3
	ModeBEET      = 4
	ModeIPTFS     = 5 // Linux 6.14+
)

// Policy directions, types, actions and flags.
const (
	PolicyIn  = 0
	PolicyOut = 1
	PolicyFwd = 2
	PolicyMax = 3 // socket policies are reported with dir PolicyMax+in/out

	PolicyTypeMain = 0
	PolicyTypeSub  = 1
	PolicyTypeAny  = 255

	PolicyAllow = 0
	PolicyBlock = 1

	PolicyLocalOK = 1
	PolicyICMP    = 2

	// XFRM_USERPOLICY_* in struct xfrm_userpolicy_default.
	UserPolicyUnspec = 0
	UserPolicyBlock  = 1
	UserPolicyAccept = 2
)

// SA flags (xfrm_usersa_info.flags) and extra flags (XFRMA_SA_EXTRA_FLAGS).
const (
	StateNoECN       = 1
	StateDecapDSCP   = 2
	StateNoPMTUDisc  = 4
	StateWildRecv    = 8
	StateICMP        = 16
	StateAFUnspec    = 32
	StateAlign4      = 64
	StateESN         = 128
	SAXFlagDontEncap = 1
	SAXFlagOSeqWrap  = 2

	SADirIn  = 1 // XFRM_SA_DIR_IN
	SADirOut = 2 // XFRM_SA_DIR_OUT

	OffloadIPv6    = 1
	OffloadInbound = 2
	OffloadPacket  = 4
)

// Async event flags (enum xfrm_ae_ftype_t) in struct xfrm_aevent_id.
const (
	AERThr = 1  // replay threshold
	AERVal = 2  // replay value
	AELVal = 4  // lifetime value
	AEEThr = 8  // expiry timer threshold
	AECR   = 16 // cause: replay update
	AECE   = 32 // cause: timer expiry
	AECU   = 64 // cause: policy update
)

// Address families as the kernel encodes them (AF_INET, AF_INET6).
const (
	AFUnspec = 0
	AFInet   = 2
	AFInet6  = 10
)

// Sizes and field offsets of the wire structs. Every offset is from the
// start of its struct.
const (
	SizeofAddress = 16 // xfrm_address_t

	// struct xfrm_id
	SizeofID = 24
	IDDaddr  = 0
	IDSPI    = 16 // __be32
	IDProto  = 20

	// struct xfrm_selector
	SizeofSelector    = 56
	SelDaddr          = 0
	SelSaddr          = 16
	SelDport          = 32 // __be16
	SelDportMask      = 34 // __be16
	SelSport          = 36 // __be16
	SelSportMask      = 38 // __be16
	SelFamily         = 40
	SelPrefixlenD     = 42
	SelPrefixlenS     = 43
	SelProto          = 44
	SelIfindex        = 48
	SelUser           = 52
	SizeofLifetimeCfg = 64 // struct xfrm_lifetime_cfg: 8 × __u64
	SizeofLifetimeCur = 32 // struct xfrm_lifetime_cur: bytes, packets, add_time, use_time
	SizeofStats       = 12 // struct xfrm_stats: replay_window, replay, integrity_failed

	// struct xfrm_replay_state
	SizeofReplayState = 12
	ReplayOSeq        = 0
	ReplaySeq         = 4
	ReplayBitmap      = 8

	// struct xfrm_replay_state_esn (a bitmap of bmp_len __u32 follows)
	SizeofReplayStateESN = 24
	ESNBmpLen            = 0
	ESNOSeq              = 4
	ESNSeq               = 8
	ESNOSeqHi            = 12
	ESNSeqHi             = 16
	ESNReplayWindow      = 20

	// struct xfrm_algo, xfrm_algo_auth, xfrm_algo_aead: the key follows
	// these headers and is never read.
	AlgNameLen        = 64
	AlgKeyLen         = 64 // __u32, bits
	AlgTruncOrICVLen  = 68 // __u32, bits (xfrm_algo_auth, xfrm_algo_aead)
	SizeofAlgo        = 68
	SizeofAlgoAuth    = 72
	SizeofAlgoAEAD    = 72
	SizeofMark        = 8
	SizeofEncapTmpl   = 24
	EncapType         = 0
	EncapSport        = 2 // __be16
	EncapDport        = 4 // __be16
	EncapOA           = 8
	SizeofUserOffload = 8 // struct xfrm_user_offload: int ifindex, __u8 flags
	SizeofUserSecCtx  = 8 // struct xfrm_user_sec_ctx; the context string follows
	SecCtxLen         = 0 // __u16 total length
	SecCtxAlg         = 4
	SecCtxDOI         = 5
	SecCtxCtxLen      = 6 // __u16

	// struct xfrm_usersa_info
	UsersaSel          = 0
	UsersaID           = 56
	UsersaSaddr        = 80
	UsersaLft          = 96
	UsersaCurlft       = 160
	UsersaStats        = 192
	UsersaSeq          = 204
	UsersaReqid        = 208
	UsersaFamily       = 212
	UsersaMode         = 214
	UsersaReplayWindow = 215
	UsersaFlags        = 216
	SizeofUsersaInfo   = (UsersaFlags + 1 + align64 - 1) &^ (align64 - 1)

	// struct xfrm_usersa_id
	SizeofUsersaID = 24
	UsersaIDDaddr  = 0
	UsersaIDSPI    = 16
	UsersaIDFamily = 20
	UsersaIDProto  = 22

	// struct xfrm_aevent_id
	SizeofAeventID = 48
	AeventSaID     = 0
	AeventSaddr    = 24
	AeventFlags    = 40
	AeventReqid    = 44

	// struct xfrm_userpolicy_info
	UserpolSel           = 0
	UserpolLft           = 56
	UserpolCurlft        = 120
	UserpolPriority      = 152
	UserpolIndex         = 156
	UserpolDir           = 160
	UserpolAction        = 161
	UserpolFlags         = 162
	UserpolShare         = 163
	SizeofUserpolicyInfo = (UserpolShare + 1 + align64 - 1) &^ (align64 - 1)

	// struct xfrm_userpolicy_id
	SizeofUserpolicyID = 64
	UserpolIDIndex     = 56
	UserpolIDDir       = 60

	// struct xfrm_userpolicy_type
	SizeofUserpolicyType = 6

	// struct xfrm_user_tmpl
	SizeofUserTmpl = 64
	TmplID         = 0
	TmplFamily     = 24
	TmplSaddr      = 28
	TmplReqid      = 44
	TmplMode       = 48
	TmplShare      = 49
	TmplOptional   = 50
	TmplAalgos     = 52
	TmplEalgos     = 56
	TmplCalgos     = 60

	// struct xfrm_user_acquire
	AcqID             = 0
	AcqSaddr          = 24
	AcqSel            = 40
	AcqPolicy         = 96
	AcqAalgos         = AcqPolicy + SizeofUserpolicyInfo
	AcqEalgos         = AcqAalgos + 4
	AcqCalgos         = AcqAalgos + 8
	AcqSeq            = AcqAalgos + 12
	SizeofUserAcquire = (AcqSeq + 4 + align64 - 1) &^ (align64 - 1)

	// struct xfrm_user_expire, xfrm_user_polexpire
	ExpireHard           = SizeofUsersaInfo
	SizeofUserExpire     = (ExpireHard + 1 + align64 - 1) &^ (align64 - 1)
	PolExpireHard        = SizeofUserpolicyInfo
	SizeofUserPolExpire  = (PolExpireHard + 1 + align64 - 1) &^ (align64 - 1)
	SizeofUsersaFlush    = 1
	SizeofUserReport     = 60
	ReportProto          = 0
	ReportSel            = 4
	SizeofUserMapping    = 64
	MappingID            = 0 // struct xfrm_usersa_id
	MappingReqid         = 24
	MappingOldSaddr      = 28
	MappingNewSaddr      = 44
	MappingOldSport      = 60 // __be16
	MappingNewSport      = 62 // __be16
	SizeofUserMigrate    = 76
	MigrateOldDaddr      = 0
	MigrateOldSaddr      = 16
	MigrateNewDaddr      = 32
	MigrateNewSaddr      = 48
	MigrateProto         = 64
	MigrateMode          = 65
	MigrateReqid         = 68
	MigrateOldFamily     = 72
	MigrateNewFamily     = 74
	SizeofUserKMAddress  = 40
	KMAddressLocal       = 0
	KMAddressRemote      = 16
	KMAddressFamily      = 36
	SizeofAddressFilter  = 36
	FilterSaddr          = 0
	FilterDaddr          = 16
	FilterFamily         = 32
	FilterSplen          = 34
	FilterDplen          = 35
	SizeofSPDInfo        = 24 // struct xfrmu_spdinfo: in, out, fwd, in-socket, out-socket, fwd-socket counts
	SizeofSPDHInfo       = 8  // struct xfrmu_spdhinfo: buckets, max buckets
	SizeofSPDHThresh     = 2  // struct xfrmu_spdhthresh: lbits, rbits
	SizeofSADHInfo       = 8  // struct xfrmu_sadhinfo: buckets, max buckets
	SizeofUserpolDefault = 3  // struct xfrm_userpolicy_default: in, fwd, out
)
