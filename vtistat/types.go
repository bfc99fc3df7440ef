package vtistat

import (
	"net/netip"
	"time"
)

// Stats64 is the kernel's struct rtnl_link_stats64 (include/uapi/linux/if_link.h),
// every field kept apart. Fields the running kernel does not send (RxNoHandler
// before 4.6, RxOtherhostDropped before 5.19) are zero.
type Stats64 struct {
	RxPackets          uint64
	TxPackets          uint64
	RxBytes            uint64
	TxBytes            uint64
	RxErrors           uint64
	TxErrors           uint64
	RxDropped          uint64
	TxDropped          uint64
	Multicast          uint64
	Collisions         uint64
	RxLengthErrors     uint64
	RxOverErrors       uint64
	RxCRCErrors        uint64
	RxFrameErrors      uint64
	RxFIFOErrors       uint64
	RxMissedErrors     uint64
	TxAbortedErrors    uint64
	TxCarrierErrors    uint64
	TxFIFOErrors       uint64
	TxHeartbeatErrors  uint64
	TxWindowErrors     uint64
	RxCompressed       uint64
	TxCompressed       uint64
	RxNoHandler        uint64
	RxOtherhostDropped uint64
}

// StatsSource says where a link's counters came from.
type StatsSource uint8

const (
	StatsNone    StatsSource = iota // the kernel sent no counters
	Stats64Bit                      // IFLA_STATS64 or IFLA_STATS_LINK_64
	Stats32Bit                      // only the legacy 32-bit IFLA_STATS: values wrap at 2^32
	StatsProcNet                    // /proc/net/dev fallback: three columns are sums (see procnet.DevStats)
)

// Link is one network interface as rtnetlink reports it.
type Link struct {
	Index     int32
	Name      string
	Alias     string
	Kind      string // IFLA_INFO_KIND: "vti", "vti6", "xfrm", "gre", … ; "" if none
	Flags     uint32 // IFF_* flags (ifinfomsg.ifi_flags)
	OperState OperState
	MTU       uint32

	// ParentIndex is IFLA_LINK (the underlay link), 0 if absent.
	ParentIndex int32
	// LinkNetNSID is IFLA_LINK_NETNSID: the namespace ParentIndex lives in, or
	// -1 when it is the link's own namespace.
	LinkNetNSID int32

	Stats       Stats64
	StatsSource StatsSource

	// Tunnel holds the decoded tunnel parameters for the kinds this package
	// knows (vti, vti6, xfrm, gre, gretap, ip6gre, ip6gretap, ipip, sit,
	// ip6tnl); nil for any other kind.
	Tunnel *Tunnel
}

// OperState is IFLA_OPERSTATE (RFC 2863).
type OperState uint8

// Tunnel is the decoded IFLA_INFO_DATA of a tunnel link. Fields a kind does
// not have are zero.
type Tunnel struct {
	Local  netip.Addr // IFLA_*_LOCAL; invalid (zero Addr) if unset
	Remote netip.Addr // IFLA_*_REMOTE; invalid (zero Addr) if unset
	IKey   uint32     // IFLA_VTI_IKEY / IFLA_GRE_IKEY, host order. For vti this is the inbound SA mark.
	OKey   uint32     // IFLA_VTI_OKEY / IFLA_GRE_OKEY, host order. For vti this is the outbound policy mark.
	Link   uint32     // IFLA_*_LINK: the underlay ifindex the tunnel is bound to, 0 if unbound
	FwMark uint32     // IFLA_*_FWMARK

	TTL       uint8
	TOS       uint8
	PMTUDisc  bool
	IFlags    uint16 // GRE_* input flags (gre kinds)
	OFlags    uint16 // GRE_* output flags (gre kinds)
	Flags     uint32 // IFLA_IPTUN_FLAGS / IFLA_GRE_FLAGS (ip6 kinds)
	Proto     uint8  // IFLA_IPTUN_PROTO
	EncapLim  uint8  // IFLA_*_ENCAP_LIMIT (ip6 kinds)
	FlowInfo  uint32 // IFLA_*_FLOWINFO (ip6 kinds)
	IfID      uint32 // IFLA_XFRM_IF_ID (xfrm)
	CollectMD bool   // IFLA_*_COLLECT_METADATA

	EncapType  uint16
	EncapFlags uint16
	EncapSport uint16 // host order
	EncapDport uint16 // host order
}

// Snapshot is a set of links read at one time.
type Snapshot struct {
	Time  time.Time
	Links []Link
}
