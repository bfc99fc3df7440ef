package explain

import (
	"slices"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// Reading is everything read from one network namespace at one time. Only
// the links are required (Links, VTIStatLinks, or both); every other part
// makes the explanation sharper:
//
//   - KernelRelease picks the right meaning where the kernel changed.
//   - MIB (/proc/net/xfrm_stat) names the IPsec cause behind link errors.
//   - Policies and SAs settle causes that counters alone cannot tell apart
//     (no policy, or an SA whose endpoints differ from the tunnel's).
//
// A nil MIB, Policies or SAs means "not read"; an empty non-nil slice means
// "read, and there were none".
type Reading struct {
	Time time.Time
	// KernelRelease is uname -r ("6.1.0-31-cloud-amd64"); "" if unknown.
	KernelRelease string

	Links []LinkReading
	// VTIStatLinks are links as vtistat read them (Snapshot.Links), the
	// cheaper way for a poll loop: explain reads their counters where they
	// are and converts only the links it has to explain, where Links needs
	// every link converted first (LinksFromVTIStat). A reading's links are
	// Links followed by VTIStatLinks; either may be empty. Explain only
	// reads them, but they must not change while it runs, and the earlier
	// reading needs links of its own: a poll loop alternates two
	// Snapshots.
	VTIStatLinks []vtistat.Link

	MIB      *procnet.XfrmStat
	Policies []xfrmstat.Policy
	SAs      []xfrmstat.SA

	// OutboundDefaultBlock is the namespace's default outbound XFRM policy
	// (ip xfrm policy getdefault): true for block, false for accept, nil if
	// not read.
	OutboundDefaultBlock *bool
}

// CounterSource says where a LinkReading's counters come from.
type CounterSource uint8

const (
	// SourceStats64 is rtnetlink's rtnl_link_stats64: every field apart.
	SourceStats64 CounterSource = iota + 1
	// SourceStats32 is the legacy 32-bit IFLA_STATS: fields apart, but they
	// wrap at 2^32.
	SourceStats32
	// SourceProcNetDev is /proc/net/dev: three columns are sums.
	SourceProcNetDev
)

// String returns the name used in Evidence.Source.
func (s CounterSource) String() string {
	switch s {
	case SourceStats64:
		return "stats64"
	case SourceStats32:
		return "stats32"
	case SourceProcNetDev:
		return "proc/net/dev"
	}
	return "none"
}

// LinkReading is one interface's counters and, when known, its kind and
// tunnel parameters.
type LinkReading struct {
	Name  string
	Index int32 // 0 if unknown (/proc/net/dev has no index)
	// Kind is IFLA_INFO_KIND ("vti", "vti6", "xfrm", "gre", …); "" if
	// unknown. When it is unknown the kind is inferred from the name
	// ("vti0" → vti) and every finding says so.
	Kind string
	// Tunnel holds local/remote/ikey/okey/if_id; nil if unknown. Checks
	// then show placeholders such as <remote>.
	Tunnel *vtistat.Tunnel
	// CrossNetns is true when the tunnel's underlay is in another network
	// namespace (IFLA_LINK_NETNSID present): its IPsec events are then
	// counted in that namespace's MIB, not in this one's.
	CrossNetns bool

	Source CounterSource
	// Stats holds the counters when Source is SourceStats64 or SourceStats32.
	Stats vtistat.Stats64
	// Dev holds the counters when Source is SourceProcNetDev.
	Dev procnet.DevStats
}

// LinksFromVTIStat converts rtnetlink links. Links the kernel sent without
// counters are kept with Source 0, and are reported, not explained.
func LinksFromVTIStat(links []vtistat.Link) []LinkReading {
	return AppendLinksFromVTIStat(make([]LinkReading, 0, len(links)), links)
}

// AppendLinksFromVTIStat is LinksFromVTIStat into caller-owned storage: it
// appends the readings of links to dst and returns the extended slice. A
// poll loop that keeps two readings and alternates them,
//
//	r.Links = explain.AppendLinksFromVTIStat(r.Links[:0], snap.Links)
//
// allocates nothing once the slices are large enough. The readings share
// Name, Kind and Tunnel with links (strings and a pointer, not copies).
func AppendLinksFromVTIStat(dst []LinkReading, links []vtistat.Link) []LinkReading {
	// Written in place, field by field: a LinkReading is about 400 bytes
	// and a poll loop converts thousands, so building each on the stack
	// and copying it would double the memory traffic.
	n := len(dst)
	dst = slices.Grow(dst, len(links))[:n+len(links)]
	for i := range links {
		l, r := &links[i], &dst[n+i]
		r.Name, r.Index, r.Kind, r.Tunnel = l.Name, l.Index, l.Kind, l.Tunnel
		r.CrossNetns = l.Tunnel != nil && l.LinkNetNSID >= 0
		switch l.StatsSource {
		case vtistat.Stats64Bit, vtistat.Stats32Bit:
			r.Source = SourceStats64
			if l.StatsSource == vtistat.Stats32Bit {
				r.Source = SourceStats32
			}
			r.Stats = l.Stats
			r.Dev = procnet.DevStats{}
		case vtistat.StatsProcNet:
			if l.Dev == nil { // no line: no counters
				r.Source = 0
				r.Stats, r.Dev = vtistat.Stats64{}, procnet.DevStats{}
				break
			}
			r.Source = SourceProcNetDev
			r.Stats = vtistat.Stats64{}
			r.Dev = *l.Dev
		default:
			r.Source = 0
			r.Stats, r.Dev = vtistat.Stats64{}, procnet.DevStats{}
		}
	}
	return dst
}

// devStatsFromStats64 is the /proc/net/dev view of rtnetlink counters: the
// columns /proc/net/dev prints as sums are summed, as the kernel sums them.
func devStatsFromStats64(name string, s *vtistat.Stats64) procnet.DevStats {
	return procnet.DevStats{
		Name:         name,
		RxBytes:      s.RxBytes,
		RxPackets:    s.RxPackets,
		RxErrors:     s.RxErrors,
		RxDropSum:    procnet.Sum(s.RxDropped + s.RxMissedErrors),
		RxFIFOErrors: s.RxFIFOErrors,
		RxFrameSum:   procnet.Sum(s.RxLengthErrors + s.RxOverErrors + s.RxCRCErrors + s.RxFrameErrors),
		RxCompressed: s.RxCompressed,
		RxMulticast:  s.Multicast,
		TxBytes:      s.TxBytes,
		TxPackets:    s.TxPackets,
		TxErrors:     s.TxErrors,
		TxDropped:    s.TxDropped,
		TxFIFOErrors: s.TxFIFOErrors,
		Collisions:   s.Collisions,
		TxCarrierSum: procnet.Sum(s.TxCarrierErrors + s.TxAbortedErrors + s.TxWindowErrors + s.TxHeartbeatErrors),
		TxCompressed: s.TxCompressed,
	}
}

// LinksFromProcNetDev converts /proc/net/dev lines. Kinds and tunnel
// parameters are unknown: set them on the result if another source knows
// them (ip -d link), which sharpens the explanation.
func LinksFromProcNetDev(devs []procnet.DevStats) []LinkReading {
	out := make([]LinkReading, len(devs))
	for i := range devs {
		out[i] = LinkReading{Name: devs[i].Name, Source: SourceProcNetDev, Dev: devs[i]}
	}
	return out
}
