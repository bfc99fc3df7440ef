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

// Dir is a policy direction (XFRM_POLICY_IN/OUT/FWD, and the directions of
// per-socket policies). An SA's direction (Linux 6.10+) is numbered
// differently (XFRM_SA_DIR_IN=1, XFRM_SA_DIR_OUT=2) and is not a Dir: it is
// SA.SADir, compared with SADirIn and SADirOut.
type Dir uint8

const (
	DirIn  Dir = 0
	DirOut Dir = 1
	DirFwd Dir = 2

	// Per-socket policies (setsockopt IP_XFRM_POLICY / IPV6_XFRM_POLICY, as
	// IKE daemons install them to let their own packets bypass IPsec) appear
	// in a policy dump with these directions: XFRM_POLICY_MAX + in/out.
	DirSocketIn  Dir = 3
	DirSocketOut Dir = 4
)

// SA directions (XFRMA_SA_DIR, Linux 6.10+), the values of SA.SADir.
const (
	SADirUnset uint8 = 0
	SADirIn    uint8 = 1
	SADirOut   uint8 = 2
)

// Action is a policy action.
type Action uint8

const (
	ActionAllow Action = 0
	ActionBlock Action = 1
)

// Mark is an XFRMA_MARK value and mask.
type Mark struct {
	Value uint32 `json:"Value"`
	Mask  uint32 `json:"Mask"`
}

// Selector is struct xfrm_selector: the traffic a policy or SA applies to.
// For ICMP the kernel matches type and code in SrcPort and DstPort. An SA
// selector may have Family 0: the kernel then matches it in the SA's family
// and its prefixes are read in that family (larval SAs have such
// selectors); with all-zero addresses (XFRM_STATE_AF_UNSPEC) it matches any
// traffic and Src and Dst are the zero Prefix.
type Selector struct {
	Src         netip.Prefix `json:"Src"`
	Dst         netip.Prefix `json:"Dst"`
	SrcPort     uint16       `json:"SrcPort"` // host order
	DstPort     uint16       `json:"DstPort"` // host order
	SrcPortMask uint16       `json:"SrcPortMask"`
	DstPortMask uint16       `json:"DstPortMask"`
	Family      uint16       `json:"Family"`
	Proto       uint8        `json:"Proto"`
	IfIndex     int32        `json:"IfIndex"`
	User        uint32       `json:"User"`
}

// LifetimeConfig is struct xfrm_lifetime_cfg. The kernel's "no limit" is
// math.MaxUint64.
type LifetimeConfig struct {
	SoftByteLimit         uint64 `json:"SoftByteLimit"`
	HardByteLimit         uint64 `json:"HardByteLimit"`
	SoftPacketLimit       uint64 `json:"SoftPacketLimit"`
	HardPacketLimit       uint64 `json:"HardPacketLimit"`
	SoftAddExpiresSeconds uint64 `json:"SoftAddExpiresSeconds"`
	HardAddExpiresSeconds uint64 `json:"HardAddExpiresSeconds"`
	SoftUseExpiresSeconds uint64 `json:"SoftUseExpiresSeconds"`
	HardUseExpiresSeconds uint64 `json:"HardUseExpiresSeconds"`
}

// LifetimeCurrent is struct xfrm_lifetime_cur: what the SA or policy has
// carried so far and when it was added and last used.
type LifetimeCurrent struct {
	Bytes   uint64    `json:"Bytes"`
	Packets uint64    `json:"Packets"`
	AddTime time.Time `json:"AddTime"` // zero if never
	UseTime time.Time `json:"UseTime"` // zero if never used
}

// Stats is struct xfrm_stats of an SA.
type Stats struct {
	ReplayWindow    uint32 `json:"ReplayWindow"`    // packets outside the replay window
	Replay          uint32 `json:"Replay"`          // replayed packets
	IntegrityFailed uint32 `json:"IntegrityFailed"` // ICV (authentication) failures
}

// Replay is the SA's anti-replay state, from XFRMA_REPLAY_VAL or, for ESN
// SAs, XFRMA_REPLAY_ESN_VAL.
type Replay struct {
	// ESN: the SA uses 64-bit extended sequence numbers (XFRM_STATE_ESN),
	// so SeqHi and OSeqHi count and OSeq does not overflow at 2^32. In an
	// AEvent, which carries no SA flags, it reports ESNFormat.
	ESN       bool   `json:"ESN"`
	Seq       uint32 `json:"Seq"`   // highest inbound sequence number seen
	OSeq      uint32 `json:"OSeq"`  // last outbound sequence number used
	SeqHi     uint32 `json:"SeqHi"` // ESN high halves
	OSeqHi    uint32 `json:"OSeqHi"`
	Window    uint32 `json:"Window"`    // replay window size in packets
	BitmapLen uint32 `json:"BitmapLen"` // ESN bitmap length in 32-bit words

	// Bitmap is the legacy (non-ESN) window bitmap of XFRMA_REPLAY_VAL: bit
	// n set means sequence number Seq-n was received. 0 for ESN SAs, whose
	// bitmap (BitmapLen words) is not copied.
	Bitmap uint32 `json:"Bitmap"`
	// ESNFormat: the kernel keeps and sent the state as
	// XFRMA_REPLAY_ESN_VAL, as it does for ESN SAs and for any SA whose
	// replay window is wider than 32 packets.
	ESNFormat bool `json:"ESNFormat"`
}

// Encap is XFRMA_ENCAP (NAT traversal).
type Encap struct {
	Type  uint16     `json:"Type"`  // UDP_ENCAP_ESPINUDP = 2, …
	SPort uint16     `json:"SPort"` // host order
	DPort uint16     `json:"DPort"` // host order
	OA    netip.Addr `json:"OA"`
}

// Encapsulation types (Encap.Type), from include/uapi/linux/udp.h.
const (
	EncapESPInUDPNonIKE uint16 = 1 // draft-ietf-ipsec-nat-t-ike-00/01
	EncapESPInUDP       uint16 = 2 // RFC 3948
	EncapL2TPInUDP      uint16 = 3
	EncapGTP0           uint16 = 4
	EncapGTP1U          uint16 = 5
	EncapRXRPC          uint16 = 6
	EncapESPInTCP       uint16 = 7 // RFC 8229
)

// Algorithm names an SA's algorithm. The key is never read: only its length.
type Algorithm struct {
	Name      string `json:"Name"`
	KeyBits   uint32 `json:"KeyBits"`
	ICVBits   uint32 `json:"ICVBits"` // AEAD / truncated auth
	TruncBits uint32 `json:"TruncBits"`
}

// SA is one XFRM state. It never contains key material.
type SA struct {
	Src        netip.Addr `json:"Src"`
	Dst        netip.Addr `json:"Dst"`
	SPI        uint32     `json:"SPI"`   // host order
	Proto      uint8      `json:"Proto"` // IPPROTO_ESP (50), IPPROTO_AH (51), IPPROTO_COMP (108)
	Family     uint16     `json:"Family"`
	Mode       Mode       `json:"Mode"`
	ReqID      uint32     `json:"ReqID"`
	Flags      uint8      `json:"Flags"`
	ExtraFlags uint32     `json:"ExtraFlags"`
	Selector   Selector   `json:"Selector"`

	LifetimeConfig  LifetimeConfig  `json:"LifetimeConfig"`
	LifetimeCurrent LifetimeCurrent `json:"LifetimeCurrent"`
	Stats           Stats           `json:"Stats"`
	Replay          *Replay         `json:"Replay"` // nil if the kernel sent no replay state

	Mark       *Mark  `json:"Mark"`       // nil if unset
	OutputMark *Mark  `json:"OutputMark"` // XFRMA_SET_MARK / _MASK; nil if unset
	IfID       uint32 `json:"IfID"`
	Encap      *Encap `json:"Encap"`      // nil without NAT-T
	OffloadDev int32  `json:"OffloadDev"` // XFRMA_OFFLOAD_DEV ifindex, 0 if none
	SADir      uint8  `json:"SADir"`      // XFRMA_SA_DIR (6.10+): 0 unset, 1 in, 2 out

	Auth  *Algorithm `json:"Auth"`  // nil where absent
	Crypt *Algorithm `json:"Crypt"` // nil where absent
	AEAD  *Algorithm `json:"AEAD"`  // nil where absent
	Comp  *Algorithm `json:"Comp"`  // nil where absent

	// Seq is the sequence number of the ACQUIRE that led to this SA (the
	// IKE daemon's handle for a larval SA), 0 if none.
	Seq uint32 `json:"Seq"`
	// ReplayWindowConfig is xfrm_usersa_info.replay_window, the window a
	// non-ESN SA was configured with (ESN SAs configure it in Replay.Window).
	ReplayWindowConfig uint8 `json:"ReplayWindowConfig"`
	// LastUsed is XFRMA_LASTUSED: when the SA last carried a packet, as
	// the kernel tracks it separately from LifetimeCurrent.UseTime (zero if
	// absent).
	LastUsed time.Time `json:"LastUsed"`
	// CoAddr is the care-of address of a Mobile IPv6 route optimization SA.
	CoAddr netip.Addr `json:"CoAddr"`
	// TFCPad is XFRMA_TFCPAD: traffic flow confidentiality padding in bytes.
	TFCPad uint32 `json:"TFCPad"`
	// MappingMaxAge is XFRMA_MTIMER_THRESH in seconds: how long an inbound
	// NAT-T SA waits before reporting a changed peer port as a MAPPING event.
	MappingMaxAge uint32 `json:"MappingMaxAge"`
	// NATKeepaliveInterval is XFRMA_NAT_KEEPALIVE_INTERVAL in seconds (6.10+).
	NATKeepaliveInterval uint32 `json:"NATKeepaliveInterval"`
	// OffloadFlags is xfrm_user_offload.flags (XFRM_OFFLOAD_INBOUND = 2,
	// XFRM_OFFLOAD_PACKET = 4) when OffloadDev is set.
	OffloadFlags uint8 `json:"OffloadFlags"`
	// PerCPU and CPU are XFRMA_SA_PCPU (6.13+): the SA serves only CPU.
	PerCPU bool   `json:"PerCPU"`
	CPU    uint32 `json:"CPU"`
	// SecCtx is the LSM (SELinux) security context, nil if none.
	SecCtx *SecCtx `json:"SecCtx"`
	// IPTFS holds the IP-TFS parameters of a ModeIPTFS SA (6.14+), nil
	// otherwise.
	IPTFS *IPTFS `json:"IPTFS"`

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent with the
// SA that this package does not decode, in increasing order, or nil: a
// newer kernel's additions show up here instead of vanishing.
func (sa *SA) UnknownAttrs() []uint16 { return sa.unknown.types() }

// SecCtx is an LSM security context (struct xfrm_user_sec_ctx).
type SecCtx struct {
	DOI     uint8  `json:"DOI"` // XFRM_SC_DOI_LSM = 1
	Alg     uint8  `json:"Alg"` // XFRM_SC_ALG_SELINUX = 1
	Context string `json:"Context"`
}

// IPTFS is the configuration of an IP-TFS SA (RFC 9347, Linux 6.14+).
// Inbound SAs report DropTime and ReorderWindow, outbound SAs the rest.
type IPTFS struct {
	DropTime      time.Duration `json:"DropTime"`      // XFRMA_IPTFS_DROP_TIME: wait for a missing sequence number
	ReorderWindow uint16        `json:"ReorderWindow"` // XFRMA_IPTFS_REORDER_WINDOW, packets
	DontFrag      bool          `json:"DontFrag"`      // XFRMA_IPTFS_DONT_FRAG: do not fragment inner packets
	InitDelay     time.Duration `json:"InitDelay"`     // XFRMA_IPTFS_INIT_DELAY: wait before sending the first packet
	MaxQueueSize  uint32        `json:"MaxQueueSize"`  // XFRMA_IPTFS_MAX_QSIZE, octets
	PacketSize    uint32        `json:"PacketSize"`    // XFRMA_IPTFS_PKT_SIZE, octets, 0 for the path MTU
}

// Template is one struct xfrm_user_tmpl of a policy.
type Template struct {
	Src      netip.Addr `json:"Src"`
	Dst      netip.Addr `json:"Dst"`
	SPI      uint32     `json:"SPI"`
	Proto    uint8      `json:"Proto"`
	Mode     Mode       `json:"Mode"`
	ReqID    uint32     `json:"ReqID"`
	Family   uint16     `json:"Family"`
	Share    uint8      `json:"Share"`
	Optional bool       `json:"Optional"` // level use: the policy applies even without this SA

	// Bit masks of the SADB algorithm IDs the template allows (all ones:
	// any). An ACQUIRE tells the IKE daemon to negotiate within them.
	AuthAlgos uint32 `json:"AuthAlgos"`
	EncAlgos  uint32 `json:"EncAlgos"`
	CompAlgos uint32 `json:"CompAlgos"`
}

// Policy is one XFRM policy.
type Policy struct {
	Selector Selector `json:"Selector"`
	Dir      Dir      `json:"Dir"`
	Action   Action   `json:"Action"`
	Priority uint32   `json:"Priority"`
	Index    uint32   `json:"Index"`
	Share    uint8    `json:"Share"`
	Flags    uint8    `json:"Flags"`
	Type     uint8    `json:"Type"` // XFRM_POLICY_TYPE_MAIN (0) or _SUB (1)

	LifetimeConfig  LifetimeConfig  `json:"LifetimeConfig"`
	LifetimeCurrent LifetimeCurrent `json:"LifetimeCurrent"`

	Templates []Template `json:"Templates"`
	Mark      *Mark      `json:"Mark"`
	IfID      uint32     `json:"IfID"`

	// OffloadDev and OffloadFlags are XFRMA_OFFLOAD_DEV of a policy offloaded
	// to a NIC (packet offload, 6.2+); 0 if none.
	OffloadDev   int32 `json:"OffloadDev"`
	OffloadFlags uint8 `json:"OffloadFlags"`
	// SecCtx is the LSM (SELinux) security context, nil if none.
	SecCtx *SecCtx `json:"SecCtx"`

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent with the
// policy that this package does not decode, as SA.UnknownAttrs.
func (p *Policy) UnknownAttrs() []uint16 { return p.unknown.types() }

// SPDInfo is XFRM_MSG_GETSPDINFO: the size and shape of the security policy
// database (SPD) of a namespace.
type SPDInfo struct {
	// Policies per direction, as the kernel counts them
	// (net->xfrm.policy_count): main and sub policies together.
	In  uint32 `json:"In"`
	Out uint32 `json:"Out"`
	Fwd uint32 `json:"Fwd"`
	// Per-socket policies per direction (IKE daemons install them so that
	// their own packets bypass IPsec). SocketFwd is always 0 in practice.
	SocketIn  uint32 `json:"SocketIn"`
	SocketOut uint32 `json:"SocketOut"`
	SocketFwd uint32 `json:"SocketFwd"`
	// IndexHashMask is what the kernel reports as spdhcnt: the mask of the
	// policy-by-index hash table (policy_idx_hmask), which therefore has
	// IndexHashMask+1 buckets (see HashBuckets). The kernel doubles the
	// policy hash tables as policies are added, up to HashMaxBuckets
	// (xfrm_policy_hashmax).
	IndexHashMask  uint32 `json:"IndexHashMask"`
	HashMaxBuckets uint32 `json:"HashMaxBuckets"`
	// Selector prefix length thresholds for hashing policies: policies
	// whose local and remote prefixes are at least this long go into the
	// hash tables, shorter ones into a list searched linearly on every
	// lookup (ip xfrm policy set hthresh4/hthresh6).
	IPv4Threshold HashThreshold `json:"IPv4Threshold"`
	IPv6Threshold HashThreshold `json:"IPv6Threshold"`

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent in the
// reply that this package does not decode, as SA.UnknownAttrs.
func (s SPDInfo) UnknownAttrs() []uint16 { return s.unknown.types() }

// Total is the number of policies in the SPD, socket policies included.
func (s SPDInfo) Total() uint64 {
	return uint64(s.In) + uint64(s.Out) + uint64(s.Fwd) + uint64(s.SocketIn) + uint64(s.SocketOut) + uint64(s.SocketFwd)
}

// HashBuckets is the number of buckets of the policy-by-index hash table.
func (s SPDInfo) HashBuckets() uint64 { return uint64(s.IndexHashMask) + 1 }

// HashThreshold is struct xfrmu_spdhthresh.
type HashThreshold struct {
	LocalBits  uint8 `json:"LocalBits"`
	RemoteBits uint8 `json:"RemoteBits"`
}

// SADInfo is XFRM_MSG_GETSADINFO: the size of the security association
// database (SAD) of a namespace.
type SADInfo struct {
	// Count is the number of SAs, larval (acquire) states included.
	Count uint32 `json:"Count"`
	// HashBuckets is the size of each SA hash table (by destination, by
	// source, by SPI; the kernel reports state_hmask+1) and HashMaxBuckets
	// the most the kernel lets them grow to as SAs are added.
	HashBuckets    uint32 `json:"HashBuckets"`
	HashMaxBuckets uint32 `json:"HashMaxBuckets"`

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent in the
// reply that this package does not decode, as SA.UnknownAttrs.
func (s SADInfo) UnknownAttrs() []uint16 { return s.unknown.types() }

// DefaultAction is what the kernel does with a packet no policy matches
// (XFRM_MSG_GETDEFAULT, Linux 5.16+).
type DefaultAction uint8

const (
	DefaultUnset  DefaultAction = 0 // XFRM_USERPOLICY_UNSPEC
	DefaultBlock  DefaultAction = 1 // XFRM_USERPOLICY_BLOCK: packets without a policy are dropped
	DefaultAccept DefaultAction = 2 // XFRM_USERPOLICY_ACCEPT: the usual: no policy, no IPsec
)

// PolicyDefaults are the namespace's default actions per direction.
type PolicyDefaults struct {
	In  DefaultAction `json:"In"`
	Fwd DefaultAction `json:"Fwd"`
	Out DefaultAction `json:"Out"`
}

// attrSet is a set of netlink attribute types that a decoder skipped. It is
// a value (comparable, copied with the struct that holds it) and adding to
// it never allocates. Types below 256 are kept exactly; of the types above
// (no kernel sends any: XFRMA_MAX is 41 in Linux 6.14) the largest is kept.
// The storage can grow without changing the UnknownAttrs methods.
type attrSet struct {
	low  [4]uint64
	high uint16
}

func (s *attrSet) add(t uint16) {
	if int(t) < 64*len(s.low) {
		s.low[t/64] |= 1 << (t % 64)
	} else {
		s.high = max(s.high, t)
	}
}

// types returns the set in increasing order, or nil if it is empty.
func (s *attrSet) types() []uint16 {
	var out []uint16
	for i, w := range s.low {
		for b := range 64 {
			if w&(1<<b) != 0 {
				out = append(out, uint16(64*i+b))
			}
		}
	}
	if s.high != 0 {
		out = append(out, s.high)
	}
	return out
}
