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
	Value uint32
	Mask  uint32
}

// Selector is struct xfrm_selector: the traffic a policy or SA applies to.
// For ICMP the kernel matches type and code in SrcPort and DstPort. An SA
// selector may have Family 0: the kernel then matches it in the SA's family
// and its prefixes are read in that family (larval SAs have such
// selectors); with all-zero addresses (XFRM_STATE_AF_UNSPEC) it matches any
// traffic and Src and Dst are the zero Prefix.
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
	// ESN: the SA uses 64-bit extended sequence numbers (XFRM_STATE_ESN),
	// so SeqHi and OSeqHi count and OSeq does not overflow at 2^32. In an
	// AEvent, which carries no SA flags, it reports ESNFormat.
	ESN       bool
	Seq       uint32 // highest inbound sequence number seen
	OSeq      uint32 // last outbound sequence number used
	SeqHi     uint32 // ESN high halves
	OSeqHi    uint32
	Window    uint32 // replay window size in packets
	BitmapLen uint32 // ESN bitmap length in 32-bit words

	// Bitmap is the legacy (non-ESN) window bitmap of XFRMA_REPLAY_VAL: bit
	// n set means sequence number Seq-n was received. 0 for ESN SAs, whose
	// bitmap (BitmapLen words) is not copied.
	Bitmap uint32
	// ESNFormat: the kernel keeps and sent the state as
	// XFRMA_REPLAY_ESN_VAL, as it does for ESN SAs and for any SA whose
	// replay window is wider than 32 packets.
	ESNFormat bool
}

// Encap is XFRMA_ENCAP (NAT traversal).
type Encap struct {
	Type  uint16 // UDP_ENCAP_ESPINUDP = 2, …
	SPort uint16 // host order
	DPort uint16 // host order
	OA    netip.Addr
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

	// Seq is the sequence number of the ACQUIRE that led to this SA (the
	// IKE daemon's handle for a larval SA), 0 if none.
	Seq uint32
	// ReplayWindowConfig is xfrm_usersa_info.replay_window, the window a
	// non-ESN SA was configured with (ESN SAs configure it in Replay.Window).
	ReplayWindowConfig uint8
	// LastUsed is XFRMA_LASTUSED: when the SA last carried a packet, as
	// the kernel tracks it separately from LifetimeCurrent.UseTime (zero if
	// absent).
	LastUsed time.Time
	// CoAddr is the care-of address of a Mobile IPv6 route optimization SA.
	CoAddr netip.Addr
	// TFCPad is XFRMA_TFCPAD: traffic flow confidentiality padding in bytes.
	TFCPad uint32
	// MappingMaxAge is XFRMA_MTIMER_THRESH in seconds: how long an inbound
	// NAT-T SA waits before reporting a changed peer port as a MAPPING event.
	MappingMaxAge uint32
	// NATKeepaliveInterval is XFRMA_NAT_KEEPALIVE_INTERVAL in seconds (6.10+).
	NATKeepaliveInterval uint32
	// OffloadFlags is xfrm_user_offload.flags (XFRM_OFFLOAD_INBOUND = 2,
	// XFRM_OFFLOAD_PACKET = 4) when OffloadDev is set.
	OffloadFlags uint8
	// PerCPU and CPU are XFRMA_SA_PCPU (6.13+): the SA serves only CPU.
	PerCPU bool
	CPU    uint32
	// SecCtx is the LSM (SELinux) security context, nil if none.
	SecCtx *SecCtx
	// IPTFS holds the IP-TFS parameters of a ModeIPTFS SA (6.14+), nil
	// otherwise.
	IPTFS *IPTFS

	unknown attrSet // see UnknownAttrs
}

// UnknownAttrs returns the types of the attributes the kernel sent with the
// SA that this package does not decode, in increasing order, or nil: a
// newer kernel's additions show up here instead of vanishing.
func (sa *SA) UnknownAttrs() []uint16 { return sa.unknown.types() }

// SecCtx is an LSM security context (struct xfrm_user_sec_ctx).
type SecCtx struct {
	DOI     uint8 // XFRM_SC_DOI_LSM = 1
	Alg     uint8 // XFRM_SC_ALG_SELINUX = 1
	Context string
}

// IPTFS is the configuration of an IP-TFS SA (RFC 9347, Linux 6.14+).
// Inbound SAs report DropTime and ReorderWindow, outbound SAs the rest.
type IPTFS struct {
	DropTime      time.Duration // XFRMA_IPTFS_DROP_TIME: wait for a missing sequence number
	ReorderWindow uint16        // XFRMA_IPTFS_REORDER_WINDOW, packets
	DontFrag      bool          // XFRMA_IPTFS_DONT_FRAG: do not fragment inner packets
	InitDelay     time.Duration // XFRMA_IPTFS_INIT_DELAY: wait before sending the first packet
	MaxQueueSize  uint32        // XFRMA_IPTFS_MAX_QSIZE, octets
	PacketSize    uint32        // XFRMA_IPTFS_PKT_SIZE, octets, 0 for the path MTU
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
	Optional bool // level use: the policy applies even without this SA

	// Bit masks of the SADB algorithm IDs the template allows (all ones:
	// any). An ACQUIRE tells the IKE daemon to negotiate within them.
	AuthAlgos, EncAlgos, CompAlgos uint32
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

	// OffloadDev and OffloadFlags are XFRMA_OFFLOAD_DEV of a policy offloaded
	// to a NIC (packet offload, 6.2+); 0 if none.
	OffloadDev   int32
	OffloadFlags uint8
	// SecCtx is the LSM (SELinux) security context, nil if none.
	SecCtx *SecCtx

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
	In, Out, Fwd uint32
	// Per-socket policies per direction (IKE daemons install them so that
	// their own packets bypass IPsec). SocketFwd is always 0 in practice.
	SocketIn, SocketOut, SocketFwd uint32
	// IndexHashMask is what the kernel reports as spdhcnt: the mask of the
	// policy-by-index hash table (policy_idx_hmask), which therefore has
	// IndexHashMask+1 buckets (see HashBuckets). The kernel doubles the
	// policy hash tables as policies are added, up to HashMaxBuckets
	// (xfrm_policy_hashmax).
	IndexHashMask, HashMaxBuckets uint32
	// Selector prefix length thresholds for hashing policies: policies
	// whose local and remote prefixes are at least this long go into the
	// hash tables, shorter ones into a list searched linearly on every
	// lookup (ip xfrm policy set hthresh4/hthresh6).
	IPv4Threshold, IPv6Threshold HashThreshold

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
	LocalBits, RemoteBits uint8
}

// SADInfo is XFRM_MSG_GETSADINFO: the size of the security association
// database (SAD) of a namespace.
type SADInfo struct {
	// Count is the number of SAs, larval (acquire) states included.
	Count uint32
	// HashBuckets is the size of each SA hash table (by destination, by
	// source, by SPI; the kernel reports state_hmask+1) and HashMaxBuckets
	// the most the kernel lets them grow to as SAs are added.
	HashBuckets, HashMaxBuckets uint32

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
	In, Fwd, Out DefaultAction
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
