package reading

// Everything that depends on package vtistat's types is in this file.

import (
	"context"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

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

// LinkFromVTIStat converts a link read by vtistat.
func LinkFromVTIStat(l *vtistat.Link) Link {
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

// VTIStat converts l back into vtistat's type.
func (l *Link) VTIStat() vtistat.Link {
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

func (s *Snapshot) vtistatLinks() []vtistat.Link {
	out := make([]vtistat.Link, len(s.Links))
	for i := range s.Links {
		out[i] = s.Links[i].VTIStat()
	}
	return out
}

// LinkFromProcNetDev converts one /proc/net/dev line. The three sum columns
// land in the field they are named after, as vtistat's own /proc/net/dev
// fallback stores them (see vtistat.Stats64), and StatsFrom says so.
func LinkFromProcNetDev(d *procnet.DevStats) Link {
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

// statsFieldNames are the kernel's names of Stats' fields, in struct order.
var statsFieldNames = vtistat.StatsFieldNames()

// field returns a pointer to the field named as the kernel names it.
func (s *Stats) field(name string) *uint64 {
	p := []*uint64{
		&s.RxPackets, &s.TxPackets, &s.RxBytes, &s.TxBytes, &s.RxErrors, &s.TxErrors,
		&s.RxDropped, &s.TxDropped, &s.Multicast, &s.Collisions,
		&s.RxLengthErrors, &s.RxOverErrors, &s.RxCRCErrors, &s.RxFrameErrors, &s.RxFIFOErrors, &s.RxMissedErrors,
		&s.TxAbortedErrors, &s.TxCarrierErrors, &s.TxFIFOErrors, &s.TxHeartbeatErrors, &s.TxWindowErrors,
		&s.RxCompressed, &s.TxCompressed, &s.RxNoHandler, &s.RxOtherhostDropped,
	}
	for i, n := range statsFieldNames {
		if n == name {
			return p[i]
		}
	}
	return nil
}

// linkReader reads links over rtnetlink (or vtistat's /proc/net/dev
// fallback when the kernel refuses rtnetlink).
type linkReader struct {
	c *vtistat.Client
}

func (r *linkReader) open(ns NetNS) error {
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name, Path: ns.Path}})
	if err != nil {
		return err
	}
	r.c = c
	return nil
}

func (r *linkReader) close() error {
	if r.c == nil {
		return nil
	}
	return r.c.Close()
}

func (r *linkReader) read(ctx context.Context, snap *Snapshot) error {
	var vs vtistat.Snapshot
	if err := r.c.Snapshot(ctx, &vs); err != nil {
		return err
	}
	links := vs.Links
	snap.Links = make([]Link, len(links))
	for i := range links {
		snap.Links[i] = LinkFromVTIStat(&links[i])
	}
	snap.LinksFrom = "rtnetlink"
	if ferr := r.c.FallbackReason(); ferr != nil {
		snap.LinksFrom = "proc/net/dev"
		snap.Unread = append(snap.Unread, Unread{Part: "links_rtnetlink", err: ferr,
			Error: "rtnetlink refused, links read from /proc/net/dev (no kinds, no tunnel parameters, three columns are sums): " + ferr.Error()})
	}
	return nil
}
