package monitor

// Every conversion between the reading packages' types (vtistat, xfrmstat,
// procnet), the snapshot document's types and explain's input is in this
// file, so that any of those can change shape without touching the rest.

import (
	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// Reading converts s into explain's input.
func (s *Snapshot) Reading() *explain.Reading {
	r := &explain.Reading{
		Time:          s.Time,
		KernelRelease: s.KernelRelease,
		Links:         s.linkReadings(),
		Policies:      ExplainPolicies(s.Policies),
		SAs:           ExplainSAs(s.SAs),
		WireGuard:     ExplainWireGuard(nil, s.WireGuard),
	}
	if s.MIB != nil {
		mib := s.MIB.XfrmStat
		r.MIB = &mib
	}
	if s.PolicyDefaults != nil {
		block := s.PolicyDefaults.Out == xfrmstat.DefaultBlock
		r.OutboundDefaultBlock = &block
	}
	return r
}

// pollReading fills dst from a counters-only poll: links as PollStats left
// them, converted into dst's own storage, the MIB (nil if not read), no
// SAs, policies or defaults. It allocates nothing once dst's links have
// grown to the namespace's.
func pollReading(dst *explain.Reading, snap *vtistat.Snapshot, mib *procnet.XfrmStat, release string) {
	links := AppendLinkReadings(dst.Links[:0], snap.Links)
	*dst = explain.Reading{Time: snap.Time, KernelRelease: release, Links: links, MIB: mib}
}

// statsFrom names vtistat.StatsSource values in the snapshot document.
var statsFrom = map[vtistat.StatsSource]string{
	vtistat.StatsNone:    "none",
	vtistat.Stats64Bit:   "stats64",
	vtistat.Stats32Bit:   "stats32",
	vtistat.StatsProcNet: "proc/net/dev",
}

func statsSourceOf(name string) vtistat.StatsSource {
	for s, n := range statsFrom {
		if n == name {
			return s
		}
	}
	return vtistat.StatsNone
}

func operStateOf(name string) vtistat.OperState {
	for s := vtistat.OperUnknown; s <= vtistat.OperUp; s++ {
		if s.String() == name {
			return s
		}
	}
	return vtistat.OperUnknown
}

// linkFromVTIStat converts a link read by vtistat.
func linkFromVTIStat(l *vtistat.Link) Link {
	out := Link{
		Index:       l.Index,
		Name:        l.Name,
		Alias:       l.Alias,
		Kind:        l.Kind,
		Flags:       l.Flags,
		OperState:   l.OperState.String(),
		MTU:         l.MTU,
		ParentIndex: l.ParentIndex,
		LinkNetNSID: l.LinkNetNSID,
		StatsFrom:   statsFrom[l.StatsSource],
		Stats:       Stats(l.Stats),
	}
	if out.StatsFrom == "" {
		out.StatsFrom = "none"
	}
	if l.Dev != nil {
		// vtistat keeps the /proc/net/dev line apart; this document stores
		// its sums in the named fields, and StatsFrom says so.
		out.Stats = linkFromProcNetDev(l.Dev).Stats
	}
	if t := l.Tunnel; t != nil {
		out.Tunnel = &Tunnel{
			Local: t.Local, Remote: t.Remote, IKey: t.IKey, OKey: t.OKey, Link: t.Link, FwMark: t.FwMark, IfID: t.IfID,
			TTL: t.TTL, TOS: t.TOS, PMTUDisc: t.PMTUDisc, IFlags: t.IFlags, OFlags: t.OFlags, Flags: t.Flags,
			Proto: t.Proto, EncapLim: t.EncapLim, FlowInfo: t.FlowInfo, CollectMD: t.CollectMD, IgnoreDF: t.IgnoreDF,
			EncapType: t.EncapType, EncapFlags: t.EncapFlags, EncapSport: t.EncapSport, EncapDport: t.EncapDport,
			SixRDPrefix: t.SixRDPrefix, SixRDRelayPrefix: t.SixRDRelayPrefix,
		}
	}
	return out
}

// vtistat converts l back into vtistat's type.
func (l *Link) vtistat() vtistat.Link {
	out := vtistat.Link{
		Index:       l.Index,
		Name:        l.Name,
		Alias:       l.Alias,
		Kind:        l.Kind,
		Flags:       l.Flags,
		OperState:   operStateOf(l.OperState),
		MTU:         l.MTU,
		ParentIndex: l.ParentIndex,
		LinkNetNSID: l.LinkNetNSID,
		StatsSource: statsSourceOf(l.StatsFrom),
		Stats:       vtistat.Stats64(l.Stats),
	}
	if out.StatsSource == vtistat.StatsProcNet {
		// vtistat keeps a /proc/net/dev line in Dev, never in Stats.
		dev := devLine(l)
		out.Dev = &dev
		out.Stats = vtistat.Stats64{}
	}
	if t := l.Tunnel; t != nil {
		out.Tunnel = &vtistat.Tunnel{
			Local: t.Local, Remote: t.Remote, IKey: t.IKey, OKey: t.OKey, Link: t.Link, FwMark: t.FwMark, IfID: t.IfID,
			TTL: t.TTL, TOS: t.TOS, PMTUDisc: t.PMTUDisc, IFlags: t.IFlags, OFlags: t.OFlags, Flags: t.Flags,
			Proto: t.Proto, EncapLim: t.EncapLim, FlowInfo: t.FlowInfo, CollectMD: t.CollectMD, IgnoreDF: t.IgnoreDF,
			EncapType: t.EncapType, EncapFlags: t.EncapFlags, EncapSport: t.EncapSport, EncapDport: t.EncapDport,
			SixRDPrefix: t.SixRDPrefix, SixRDRelayPrefix: t.SixRDRelayPrefix,
		}
	}
	return out
}

// linkReadings converts the links into explain's input, as
// AppendLinkReadings(nil, s.vtistatLinks()) does, without the vtistat
// copies in between (a vtistat.Link is larger than the document's): the
// /proc/net/dev lines explain reads are carved from one array.
func (s *Snapshot) linkReadings() []explain.LinkReading {
	if len(s.Links) == 0 {
		return nil
	}
	out := make([]explain.LinkReading, len(s.Links))
	n := 0
	for i := range s.Links {
		if s.Links[i].StatsFrom == "proc/net/dev" {
			n++
		}
	}
	lines := make([]procnet.DevStats, 0, n) // never grown: readings point into it
	for i := range s.Links {
		l, r := &s.Links[i], &out[i]
		r.Name, r.Index, r.Kind = l.Name, l.Index, l.Kind
		if t := l.Tunnel; t != nil {
			r.Tunnel = &explain.Tunnel{Local: t.Local, Remote: t.Remote, IKey: t.IKey, OKey: t.OKey, Link: t.Link, IfID: t.IfID}
		}
		r.CrossNetns = l.Tunnel != nil && l.LinkNetNSID >= 0
		switch l.StatsFrom {
		case "stats64":
			r.Source, r.Stats = explain.SourceStats64, explain.Stats64(l.Stats)
		case "stats32":
			r.Source, r.Stats = explain.SourceStats32, explain.Stats64(l.Stats)
		case "proc/net/dev":
			lines = append(lines, devLine(l))
			r.Source, r.Dev = explain.SourceProcNetDev, &lines[len(lines)-1]
		}
	}
	return out
}

// devLine is the /proc/net/dev line a link's counters came from (the sums
// are stored in the fields they are named after).
func devLine(l *Link) procnet.DevStats {
	s := &l.Stats
	return procnet.DevStats{
		Name: l.Name, RxBytes: s.RxBytes, RxPackets: s.RxPackets, RxErrors: s.RxErrors,
		RxDropSum: procnet.Sum(s.RxDropped), RxFIFOErrors: s.RxFIFOErrors, RxFrameSum: procnet.Sum(s.RxFrameErrors),
		RxCompressed: s.RxCompressed, RxMulticast: s.Multicast,
		TxBytes: s.TxBytes, TxPackets: s.TxPackets, TxErrors: s.TxErrors, TxDropped: s.TxDropped,
		TxFIFOErrors: s.TxFIFOErrors, Collisions: s.Collisions, TxCarrierSum: procnet.Sum(s.TxCarrierErrors),
		TxCompressed: s.TxCompressed,
	}
}

func (s *Snapshot) vtistatLinks() []vtistat.Link {
	out := make([]vtistat.Link, len(s.Links))
	for i := range s.Links {
		out[i] = s.Links[i].vtistat()
	}
	return out
}

// linkFromProcNetDev converts one /proc/net/dev line. The three sum columns
// land in the field they are named after, as vtistat's own /proc/net/dev
// fallback stores them (see vtistat.Stats64), and StatsFrom says so.
func linkFromProcNetDev(d *procnet.DevStats) Link {
	return Link{
		Name:        d.Name,
		LinkNetNSID: -1,
		OperState:   "unknown",
		StatsFrom:   "proc/net/dev",
		Stats: Stats{
			RxBytes: d.RxBytes, RxPackets: d.RxPackets, RxErrors: d.RxErrors,
			RxDropped: uint64(d.RxDropSum), RxFIFOErrors: d.RxFIFOErrors, RxFrameErrors: uint64(d.RxFrameSum),
			RxCompressed: d.RxCompressed, Multicast: d.RxMulticast,
			TxBytes: d.TxBytes, TxPackets: d.TxPackets, TxErrors: d.TxErrors, TxDropped: d.TxDropped,
			TxFIFOErrors: d.TxFIFOErrors, Collisions: d.Collisions, TxCarrierErrors: uint64(d.TxCarrierSum),
			TxCompressed: d.TxCompressed,
		},
	}
}

// field returns a pointer to the field named as the kernel names it
// (vtistat.StatsFieldNames), or nil.
func (s *Stats) field(name string) *uint64 {
	p := []*uint64{
		&s.RxPackets, &s.TxPackets, &s.RxBytes, &s.TxBytes, &s.RxErrors, &s.TxErrors,
		&s.RxDropped, &s.TxDropped, &s.Multicast, &s.Collisions,
		&s.RxLengthErrors, &s.RxOverErrors, &s.RxCRCErrors, &s.RxFrameErrors, &s.RxFIFOErrors, &s.RxMissedErrors,
		&s.TxAbortedErrors, &s.TxCarrierErrors, &s.TxFIFOErrors, &s.TxHeartbeatErrors, &s.TxWindowErrors,
		&s.RxCompressed, &s.TxCompressed, &s.RxNoHandler, &s.RxOtherhostDropped,
	}
	for i, n := range vtistat.StatsFieldNames() {
		if n == name {
			return p[i]
		}
	}
	return nil
}
