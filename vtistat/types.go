package vtistat

import (
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// Stats64 is the kernel's struct rtnl_link_stats64 (include/uapi/linux/if_link.h),
// every field kept apart. Fields the running kernel does not send (RxNoHandler
// before 4.6, RxOtherhostDropped before 5.19) are zero.
//
// Every field holds the one kernel counter it is named after, never a sum of
// several: a link read from /proc/net/dev (StatsSource StatsProcNet) has
// zero Stats and its counters in Link.Dev instead.
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

// statsFieldNames are the kernel's names of the counters of Stats64, in
// the order of struct rtnl_link_stats64. Stats64.fields is indexed like it.
var statsFieldNames = [...]string{
	"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
	"rx_dropped", "tx_dropped", "multicast", "collisions",
	"rx_length_errors", "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors", "rx_missed_errors",
	"tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors", "tx_heartbeat_errors", "tx_window_errors",
	"rx_compressed", "tx_compressed", "rx_nohandler", "rx_otherhost_dropped",
}

// nStats is how many counters Stats64 has.
const nStats = len(statsFieldNames)

// StatsFieldNames returns the kernel's names of the counters of Stats64
// ("rx_packets", …, "rx_otherhost_dropped"), in the order of struct
// rtnl_link_stats64: the names Stats64.All and LinkDelta.DecreasedFields
// use, and those ip(8) and /sys/class/net/*/statistics use. The list grows
// when the kernel's struct does. The slice is the caller's to keep or
// change.
func StatsFieldNames() []string { return slices.Clone(statsFieldNames[:]) }

// All yields every counter of s by its kernel name (see StatsFieldNames),
// in struct order.
func (s *Stats64) All() iter.Seq2[string, uint64] {
	return func(yield func(string, uint64) bool) {
		for i, p := range s.fields() {
			if !yield(statsFieldNames[i], *p) {
				return
			}
		}
	}
}

// statsSet is a set of Stats64 counters, by index in statsFieldNames.
type statsSet uint64

func (s statsSet) with(i int) statsSet { return s | 1<<uint(i) }
func (s statsSet) has(i int) bool      { return s&(1<<uint(i)) != 0 }

// StatsSource says where a link's counters came from.
type StatsSource uint8

const (
	StatsNone    StatsSource = iota // the kernel sent no counters
	Stats64Bit                      // IFLA_STATS64 or IFLA_STATS_LINK_64
	Stats32Bit                      // only the legacy 32-bit IFLA_STATS: values wrap at 2^32
	StatsProcNet                    // /proc/net/dev fallback (Config.ProcNetDevFallback): the counters are in Link.Dev, Stats is zero
)

// String names the source: "none", "stats64", "stats32", "procnet".
func (s StatsSource) String() string {
	switch s {
	case StatsNone:
		return "none"
	case Stats64Bit:
		return "stats64"
	case Stats32Bit:
		return "stats32"
	case StatsProcNet:
		return "procnet"
	}
	return "StatsSource(" + strconv.Itoa(int(s)) + ")"
}

// Link is one network interface as rtnetlink reports it.
//
// Links from the /proc/net/dev fallback (StatsSource StatsProcNet) carry only
// Name and Dev: Index is 0, Kind is "" (unknown, not "no kind"), Flags,
// OperState, MTU and ParentIndex are zero, LinkNetNSID is -1, Stats is zero.
type Link struct {
	Index     int32
	Name      string
	Alias     string // IFLA_IFALIAS, "" if none
	Kind      string // IFLA_INFO_KIND: "vti", "vti6", "xfrm", "gre", … ; "" if none
	Flags     uint32 // IFF_* flags (ifinfomsg.ifi_flags)
	OperState OperState
	MTU       uint32

	// ParentIndex is IFLA_LINK (the underlay link), 0 if absent.
	ParentIndex int32
	// LinkNetNSID is IFLA_LINK_NETNSID: the namespace ParentIndex lives in, or
	// -1 when it is the link's own namespace.
	LinkNetNSID int32

	// Stats are the link's counters when StatsSource is Stats64Bit or
	// Stats32Bit; zero otherwise.
	Stats       Stats64
	StatsSource StatsSource

	// Dev is the link's line of /proc/net/dev when StatsSource is
	// StatsProcNet (the fallback Config.ProcNetDevFallback allows), nil
	// otherwise. It is not folded into Stats because three of its columns
	// are sums of several kernel counters: Dev.TxCarrierSum is tx_carrier +
	// tx_aborted + tx_window + tx_heartbeat errors, so on a VTI a failed
	// policy lookup cannot be told from a failed IPsec output (see
	// procnet.DevStats). It points into the Snapshot's storage, like
	// Tunnel, and is overwritten by the next read into that Snapshot.
	Dev *procnet.DevStats

	// Tunnel holds the decoded tunnel parameters for the kinds this package
	// knows (vti, vti6, xfrm, gre, gretap, ip6gre, ip6gretap, ipip, sit,
	// ip6tnl); nil for any other kind, wireguard included (see
	// Client.WireGuardDevice).
	Tunnel *Tunnel
}

// OperState is IFLA_OPERSTATE (RFC 2863), as /sys/class/net/*/operstate
// shows it.
type OperState uint8

// The operational states of include/uapi/linux/if.h (IF_OPER_*).
const (
	OperUnknown        OperState = 0
	OperNotPresent     OperState = 1
	OperDown           OperState = 2
	OperLowerLayerDown OperState = 3
	OperTesting        OperState = 4
	OperDormant        OperState = 5
	OperUp             OperState = 6
)

var operStateNames = [...]string{"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}

// String returns the state as sysfs spells it ("up", "lowerlayerdown" …).
func (s OperState) String() string {
	if int(s) < len(operStateNames) {
		return operStateNames[s]
	}
	return "OperState(" + strconv.Itoa(int(s)) + ")"
}

// Tunnel is the decoded IFLA_INFO_DATA of a tunnel link. Fields a kind does
// not have, and attributes the kernel did not send, are zero.
//
// Which attributes each kind sends (the kernel's fill_info functions):
//
//	vti, vti6           Link, IKey, OKey, Local, Remote, FwMark (4.12+)
//	xfrm                Link, IfID, CollectMD (collect_md mode, newer kernels)
//	gre, gretap         Link, IFlags, OFlags, IKey, OKey, Local, Remote, TTL, TOS,
//	                    PMTUDisc, IgnoreDF, FwMark, Encap*, CollectMD
//	ip6gre, ip6gretap   Link, IFlags, OFlags, IKey, OKey, Local, Remote, TTL (hop limit),
//	                    EncapLim, FlowInfo, Flags, FwMark, Encap*, CollectMD
//	ipip                Link, Local, Remote, TTL, TOS, Proto, PMTUDisc, FwMark, Encap*, CollectMD
//	sit                 as ipip, plus Flags (SIT_ISATAP) and the 6rd prefixes
//	ip6tnl              Link, Local, Remote, TTL (hop limit), EncapLim, FlowInfo, Flags,
//	                    Proto, FwMark, Encap*, CollectMD
type Tunnel struct {
	// Local and Remote are the outer addresses (IFLA_*_LOCAL, IFLA_*_REMOTE).
	// They are invalid (the zero Addr) when the kernel did not send them; the
	// unspecified address (0.0.0.0 or ::) is what ip(8) prints as "any".
	Local  netip.Addr
	Remote netip.Addr
	IKey   uint32 // IFLA_VTI_IKEY / IFLA_GRE_IKEY, host order. For vti this is the inbound SA mark.
	OKey   uint32 // IFLA_VTI_OKEY / IFLA_GRE_OKEY, host order. For vti this is the outbound policy mark.
	Link   uint32 // IFLA_*_LINK: the underlay ifindex the tunnel is bound to, 0 if unbound
	FwMark uint32 // IFLA_*_FWMARK

	TTL       uint8 // IFLA_*_TTL; the hop limit for ip6 kinds; 0 means inherit
	TOS       uint8 // IFLA_*_TOS; 1 means inherit
	PMTUDisc  bool
	IFlags    uint16 // GRE_* input flags (gre kinds), host order: see GRECsum …
	OFlags    uint16 // GRE_* output flags (gre kinds), host order
	Flags     uint32 // IFLA_IPTUN_FLAGS (ip6tnl: IP6_TNL_F_*, with the kernel's CAP_XMIT 0x10000 and CAP_RCV 0x20000 bits; sit: SIT_ISATAP) / IFLA_GRE_FLAGS (ip6gre, the same)
	Proto     uint8  // IFLA_IPTUN_PROTO: the inner protocol, 0 for any
	EncapLim  uint8  // IFLA_*_ENCAP_LIMIT (ip6 kinds)
	FlowInfo  uint32 // IFLA_*_FLOWINFO (ip6 kinds), host order
	IfID      uint32 // IFLA_XFRM_IF_ID (xfrm)
	CollectMD bool   // IFLA_*_COLLECT_METADATA
	IgnoreDF  bool   // IFLA_GRE_IGNORE_DF (gre, gretap)

	EncapType  uint16 // TUNNEL_ENCAP_NONE, _FOU, _GUE, _MPLS
	EncapFlags uint16
	EncapSport uint16 // host order
	EncapDport uint16 // host order

	// SixRDPrefix and SixRDRelayPrefix are the 6rd prefixes of a sit
	// tunnel (IFLA_IPTUN_6RD_*); invalid when the kernel did not send them.
	SixRDPrefix      netip.Prefix
	SixRDRelayPrefix netip.Prefix
}

// GRE flags in Tunnel.IFlags and Tunnel.OFlags (include/uapi/linux/if_tunnel.h,
// converted to host order).
const (
	GRECsum    = 0x8000 // checksums present: a mismatch counts rx_crc_errors
	GRERouting = 0x4000
	GREKey     = 0x2000 // the key in IKey/OKey is used
	GRESeq     = 0x1000 // sequence numbers: a missing or old one counts rx_fifo_errors
)

// Snapshot is a set of links read at one time.
//
// A Snapshot owns its storage: Client.Snapshot and Client.PollStats
// overwrite dst in place and reuse its Links slice, the Tunnel structs and
// /proc/net/dev lines (Link.Dev) it points to, and its strings. To keep an earlier reading for Diff, alternate
// between two Snapshot values (or Clone one); a shallow copy (a := *b)
// shares storage and is overwritten by the next call on b.
type Snapshot struct {
	Time  time.Time
	Links []Link // sorted by Index; in file order for the /proc/net/dev fallback

	// ParamsTime is when the parameters (names, kinds, tunnel parameters,
	// flags, MTU, state) were last read by a full dump. After a stats-only
	// PollStats it is older than Time.
	ParamsTime time.Time

	// Retries is how many times the last read restarted a dump the kernel
	// marked as interrupted by concurrent changes (NLM_F_DUMP_INTR).
	Retries int

	q       query              // the selection the snapshot was taken with
	devs    []procnet.DevStats // the /proc/net/dev lines Links[i].Dev point into (fallback only)
	skipped []int32            // sorted indexes of links the selection left out
	seen    []uint32
	gen     uint32
}

// statsSet holds one bit per counter: a Stats64 with more than 64 counters
// needs wider storage (this line stops the build until it has it).
var _ [64 - nStats]struct{}
