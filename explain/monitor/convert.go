package monitor

// Every conversion from vtistat's and xfrmstat's types into explain's
// input is in this file.

import (
	"slices"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// AppendLinkReadings appends explain's view of links to dst and returns the
// extended slice. Links the kernel sent without counters get Source 0:
// explain reports them and explains nothing.
//
// It is made for a poll loop that keeps two explain.Readings and
// alternates them,
//
//	r.Links = monitor.AppendLinkReadings(r.Links[:0], snap.Links)
//
// which allocates nothing once dst is large enough: the Tunnel values (and
// the /proc/net/dev lines, Dev) that dst's spare capacity already points to
// are overwritten, not allocated again. So a *Tunnel or Dev taken from a
// reading is only valid until that reading's links are converted again.
// Names and kinds are shared with links (strings are not copied); nothing
// else is, so links may change once AppendLinkReadings returns.
func AppendLinkReadings(dst []explain.LinkReading, links []vtistat.Link) []explain.LinkReading {
	// Written in place, field by field: a LinkReading is some 260 bytes
	// and a poll loop converts thousands, so building each on the stack
	// and copying it would double the memory traffic.
	n := len(dst)
	dst = slices.Grow(dst, len(links))[:n+len(links)]
	for i := range links {
		l, r := &links[i], &dst[n+i]
		r.Name, r.Index, r.Kind = l.Name, l.Index, l.Kind
		r.Tunnel = tunnelInto(r.Tunnel, l.Tunnel)
		r.CrossNetns = l.Tunnel != nil && l.LinkNetNSID >= 0
		switch l.StatsSource {
		case vtistat.Stats64Bit, vtistat.Stats32Bit:
			r.Source = explain.SourceStats64
			if l.StatsSource == vtistat.Stats32Bit {
				r.Source = explain.SourceStats32
			}
			r.Stats = explain.Stats64(l.Stats)
			r.Dev = nil
		case vtistat.StatsProcNet:
			// The /proc/net/dev fallback: the line, with its sum columns,
			// is in Dev; a link without one has no counters.
			r.Stats = explain.Stats64{}
			if l.Dev != nil {
				if r.Dev == nil {
					r.Dev = new(procnet.DevStats)
				}
				r.Source, *r.Dev = explain.SourceProcNetDev, *l.Dev
			} else {
				r.Source, r.Dev = 0, nil
			}
		default:
			r.Source = 0
			r.Stats, r.Dev = explain.Stats64{}, nil
		}
	}
	return dst
}

// tunnelInto returns explain's view of t, stored in reuse when it is not
// nil; nil for a link without tunnel parameters.
func tunnelInto(reuse *explain.Tunnel, t *vtistat.Tunnel) *explain.Tunnel {
	if t == nil {
		return nil
	}
	if reuse == nil {
		reuse = new(explain.Tunnel)
	}
	*reuse = ExplainTunnel(t)
	return reuse
}

// ExplainTunnel returns what explain reads of a tunnel's parameters.
func ExplainTunnel(t *vtistat.Tunnel) explain.Tunnel {
	return explain.Tunnel{Local: t.Local, Remote: t.Remote, IKey: t.IKey, OKey: t.OKey, Link: t.Link, IfID: t.IfID}
}

// ExplainSAs returns what explain reads of sas; nil for nil (not read), an
// empty slice for an empty one (read, none).
func ExplainSAs(sas []xfrmstat.SA) []explain.SA {
	if sas == nil {
		return nil
	}
	out := make([]explain.SA, len(sas))
	for i := range sas {
		sa := &sas[i]
		out[i] = explain.SA{Src: sa.Src, Dst: sa.Dst, SPI: sa.SPI, Proto: sa.Proto,
			Mode: explain.Mode(sa.Mode), Mark: explainMark(sa.Mark), IfID: sa.IfID}
	}
	return out
}

// ExplainPolicies returns what explain reads of policies; nil for nil (not
// read), an empty slice for an empty one (read, none).
func ExplainPolicies(policies []xfrmstat.Policy) []explain.Policy {
	if policies == nil {
		return nil
	}
	out := make([]explain.Policy, len(policies))
	for i := range policies {
		p := &policies[i]
		s := &p.Selector
		out[i] = explain.Policy{
			Selector: explain.Selector{Src: s.Src, Dst: s.Dst, SrcPortMask: s.SrcPortMask, DstPortMask: s.DstPortMask,
				Family: s.Family, Proto: s.Proto, IfIndex: s.IfIndex},
			Dir: explain.Dir(p.Dir), Action: explain.Action(p.Action), Type: p.Type, Index: p.Index,
			Mark: explainMark(p.Mark), IfID: p.IfID,
		}
		if p.Templates != nil {
			tmpls := make([]explain.Template, len(p.Templates))
			for j := range p.Templates {
				t := &p.Templates[j]
				tmpls[j] = explain.Template{Src: t.Src, Dst: t.Dst, Proto: t.Proto, Mode: explain.Mode(t.Mode), Optional: t.Optional}
			}
			out[i].Templates = tmpls
		}
	}
	return out
}

func explainMark(m *xfrmstat.Mark) *explain.Mark {
	if m == nil {
		return nil
	}
	return &explain.Mark{Value: m.Value, Mask: m.Mask}
}
