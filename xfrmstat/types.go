package xfrmstat

import (
	"net/netip"
	"time"
)

// Mode is an SA or template mode (XFRM_MODE_*).
type Mode uint8

const (
	ModeTransport Mode = 0
	ModeTunnel    Mode = 1
	ModeROBeet    Mode = 2 // route optimization (MIPv6)
	ModeInTrigger Mode = 3
	ModeBEET      Mode = 4
	ModeIPTFS     Mode = 5 // Linux 6.14+
)

// Dir is a policy direction (XFRM_POLICY_IN/OUT/FWD) or, for SAs on 6.10+,
// the SA direction (XFRM_SA_DIR_IN=1, XFRM_SA_DIR_OUT=2; see SA.Dir).
type Dir uint8

const (
	DirIn  Dir = 0
	DirOut Dir = 1
	DirFwd Dir = 2
)

// Action is a policy action.
type Action uint8

const (
	ActionAllow Action = 0
	ActionBlock Action = 1
)

// Mark is an XFRMA_MARK value and mask.
type Mark struct {
	Value uint32
	Mask  uint32
}

// Selector is struct xfrm_selector.
type Selector struct {
	Src, Dst         netip.Prefix
	SrcPort, DstPort uint16 // host order
	SrcPortMask      uint16
	DstPortMask      uint16
	Family           uint16
	Proto            uint8
	IfIndex          int32
	User             uint32
}

// LifetimeConfig is struct xfrm_lifetime_cfg. The kernel's "no limit" is
// math.MaxUint64.
type LifetimeConfig struct {
	SoftByteLimit, HardByteLimit                 uint64
	SoftPacketLimit, HardPacketLimit             uint64
	SoftAddExpiresSeconds, HardAddExpiresSeconds uint64
	SoftUseExpiresSeconds, HardUseExpiresSeconds uint64
}

// LifetimeCurrent is struct xfrm_lifetime_cur: what the SA or policy has
// carried so far and when it was added and last used.
type LifetimeCurrent struct {
	Bytes   uint64
	Packets uint64
	AddTime time.Time // zero if never
	UseTime time.Time // zero if never used
}

// Stats is struct xfrm_stats of an SA.
type Stats struct {
	ReplayWindow    uint32 // packets outside the replay window
	Replay          uint32 // replayed packets
	IntegrityFailed uint32 // ICV (authentication) failures
}

// Replay is the SA's anti-replay state, from XFRMA_REPLAY_VAL or, for ESN
// SAs, XFRMA_REPLAY_ESN_VAL.
type Replay struct {
	ESN       bool
	Seq       uint32 // highest inbound sequence number seen
	OSeq      uint32 // last outbound sequence number used
	SeqHi     uint32 // ESN high halves
	OSeqHi    uint32
	Window    uint32 // replay window size in packets
	BitmapLen uint32 // ESN bitmap length in 32-bit words
}

// Encap is XFRMA_ENCAP (NAT traversal).
type Encap struct {
	Type  uint16 // UDP_ENCAP_ESPINUDP = 2, …
	SPort uint16 // host order
	DPort uint16 // host order
	OA    netip.Addr
}

// Algorithm names an SA's algorithm. The key is never read: only its length.
type Algorithm struct {
	Name      string
	KeyBits   uint32
	ICVBits   uint32 // AEAD / truncated auth
	TruncBits uint32
}

// SA is one XFRM state. It never contains key material.
type SA struct {
	Src, Dst   netip.Addr
	SPI        uint32 // host order
	Proto      uint8  // IPPROTO_ESP (50), IPPROTO_AH (51), IPPROTO_COMP (108)
	Family     uint16
	Mode       Mode
	ReqID      uint32
	Flags      uint8
	ExtraFlags uint32
	Selector   Selector

	LifetimeConfig  LifetimeConfig
	LifetimeCurrent LifetimeCurrent
	Stats           Stats
	Replay          *Replay // nil if the kernel sent no replay state

	Mark       *Mark // nil if unset
	OutputMark *Mark // XFRMA_SET_MARK / _MASK; nil if unset
	IfID       uint32
	Encap      *Encap // nil without NAT-T
	OffloadDev int32  // XFRMA_OFFLOAD_DEV ifindex, 0 if none
	SADir      uint8  // XFRMA_SA_DIR (6.10+): 0 unset, 1 in, 2 out

	Auth, Crypt, AEAD, Comp *Algorithm // nil where absent
}

// Template is one struct xfrm_user_tmpl of a policy.
type Template struct {
	Src, Dst netip.Addr
	SPI      uint32
	Proto    uint8
	Mode     Mode
	ReqID    uint32
	Family   uint16
	Share    uint8
	Optional bool
}

// Policy is one XFRM policy.
type Policy struct {
	Selector Selector
	Dir      Dir
	Action   Action
	Priority uint32
	Index    uint32
	Share    uint8
	Flags    uint8
	Type     uint8 // XFRM_POLICY_TYPE_MAIN (0) or _SUB (1)

	LifetimeConfig  LifetimeConfig
	LifetimeCurrent LifetimeCurrent

	Templates []Template
	Mark      *Mark
	IfID      uint32
}
