package monitor

// Every conversion from vtistat's and xfrmstat's types into explain's
// input is in this file.

import (
	"encoding/base64"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
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
// empty slice for an empty one (read, none). Every field of explain.SA is
// filled: identity, reqid, direction, lifetime limits and usage, sequence
// numbers and the SA's own error counters.
func ExplainSAs(sas []xfrmstat.SA) []explain.SA {
	if sas == nil {
		return nil
	}
	return appendSAs(make([]explain.SA, 0, len(sas)), sas)
}

// appendSAs appends explain's view of sas to dst, as AppendLinkReadings
// does for links: the marks that dst's spare capacity already points to
// are overwritten, not allocated again, so a poll loop that alternates two
// slices converts its SAs without allocating once they have grown.
func appendSAs(dst []explain.SA, sas []xfrmstat.SA) []explain.SA {
	n := len(dst)
	dst = slices.Grow(dst, len(sas))[:n+len(sas)]
	for i := range sas {
		saInto(&dst[n+i], &sas[i])
	}
	return dst
}

// saInto writes explain's view of sa into d, reusing the mark d points to.
func saInto(d *explain.SA, sa *xfrmstat.SA) {
	mark := markInto(d.Mark, sa.Mark)
	lc, cur := &sa.LifetimeConfig, &sa.LifetimeCurrent
	*d = explain.SA{
		Src: sa.Src, Dst: sa.Dst, SPI: sa.SPI, Proto: sa.Proto, Mode: explain.Mode(sa.Mode), Mark: mark, IfID: sa.IfID,
		ReqID: sa.ReqID,
		Dir:   explainSADir(sa.SADir),
		Lifetime: explain.Lifetime{
			SoftBytes: lc.SoftByteLimit, HardBytes: lc.HardByteLimit,
			SoftPackets: lc.SoftPacketLimit, HardPackets: lc.HardPacketLimit,
			SoftAdd: seconds(lc.SoftAddExpiresSeconds), HardAdd: seconds(lc.HardAddExpiresSeconds),
			SoftUse: seconds(lc.SoftUseExpiresSeconds), HardUse: seconds(lc.HardUseExpiresSeconds),
		},
		Usage:    explainUsage(cur),
		LastUsed: sa.LastUsed,
		Errors:   explain.SAErrors{ReplayWindow: sa.Stats.ReplayWindow, Replay: sa.Stats.Replay, IntegrityFailed: sa.Stats.IntegrityFailed},
		Larval:   isLarval(sa),
	}
	if r := sa.Replay; r != nil {
		d.HasReplay, d.ESN = true, r.ESN
		d.OSeq, d.Seq = uint64(r.OSeq), uint64(r.Seq)
		if r.ESN {
			d.OSeq |= uint64(r.OSeqHi) << 32
			d.Seq |= uint64(r.SeqHi) << 32
		}
	} else {
		d.ESN = sa.Flags&xfrm.StateESN != 0
	}
}

// isLarval reports whether sa is a placeholder no packet can use: the SA an
// ACQUIRE installs (SPI 0) or one whose SPI was only allocated, which the
// kernel dumps without the algorithms its protocol needs.
func isLarval(sa *xfrmstat.SA) bool {
	switch {
	case sa.SPI == 0 && sa.Proto != 108:
		return true
	case sa.Proto == 50: // ESP: a cipher, or an AEAD
		return sa.Crypt == nil && sa.AEAD == nil
	case sa.Proto == 51: // AH
		return sa.Auth == nil
	case sa.Proto == 108: // IPComp
		return sa.Comp == nil
	}
	return false
}

// seconds converts a lifetime limit in seconds, saturating at the longest
// time.Duration (some 292 years) rather than wrapping.
func seconds(s uint64) time.Duration {
	if s > uint64(math.MaxInt64/int64(time.Second)) {
		return math.MaxInt64
	}
	return time.Duration(s) * time.Second
}

func explainSADir(d uint8) explain.SADir {
	switch d {
	case xfrmstat.SADirIn:
		return explain.SADirIn
	case xfrmstat.SADirOut:
		return explain.SADirOut
	}
	return explain.SADirUnknown
}

func explainUsage(c *xfrmstat.LifetimeCurrent) explain.Usage {
	return explain.Usage{Bytes: c.Bytes, Packets: c.Packets, Added: c.AddTime, Used: c.UseTime}
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
				tmpls[j] = explain.Template{Src: t.Src, Dst: t.Dst, Proto: t.Proto, Mode: explain.Mode(t.Mode), Optional: t.Optional,
					ReqID: t.ReqID}
			}
			out[i].Templates = tmpls
		}
	}
	return out
}

// ExplainEvent returns explain's view of an XFRM event received at
// received, and false for the events explain has no type for (AEvent,
// Report, UnknownEvent). The SA an event names is identified as in
// explain.SA.Ref: an SA event's, an expire's or a deletion's SA, with its
// final counters (Usage) for a deletion or an expire; an acquire's the SA
// wanted (SPI 0), with the reqid of the policy template it is for and the
// policy's mark and if_id, as the kernel gives the larval SA; a mapping's
// the inbound SA (its destination, SPI and protocol, and its source as it
// was), Addr the peer's new address and port; a migrate's the first SA it
// moved, at its new endpoints. A policy event, a policy expire, an acquire
// and a migrate name their policy (a migrate's without an index). Flushes
// and lost events name nothing.
func ExplainEvent(ev xfrmstat.Event, received time.Time) (explain.Event, bool) {
	out := explain.Event{Time: received}
	switch e := ev.(type) {
	case *xfrmstat.EventsLost:
		out.Type = explain.EventsLost
	case *xfrmstat.SAExpire:
		out.Type = explain.EventSoftExpire
		if e.Hard {
			out.Type = explain.EventHardExpire
		}
		out.SA, out.Usage = saRef(&e.SA), usageOf(&e.SA)
	case *xfrmstat.SAEvent:
		switch e.Op {
		case xfrmstat.OpNew:
			out.Type = explain.EventSAAdded
		case xfrmstat.OpUpdate:
			out.Type = explain.EventSAUpdated
		case xfrmstat.OpDelete:
			out.Type, out.Usage = explain.EventSADeleted, usageOf(&e.SA)
		default:
			return explain.Event{}, false
		}
		out.SA = saRef(&e.SA)
	case *xfrmstat.SAFlush:
		out.Type = explain.EventSAFlush
	case *xfrmstat.PolicyEvent:
		switch e.Op {
		case xfrmstat.OpNew:
			out.Type = explain.EventPolicyAdded
		case xfrmstat.OpUpdate:
			out.Type = explain.EventPolicyUpdated
		case xfrmstat.OpDelete:
			out.Type = explain.EventPolicyDeleted
		default:
			return explain.Event{}, false
		}
		out.Policy = policyRef(&e.Policy)
	case *xfrmstat.PolicyExpire:
		out.Type, out.Hard, out.Policy = explain.EventPolicyExpire, e.Hard, policyRef(&e.Policy)
	case *xfrmstat.PolicyFlush:
		out.Type = explain.EventPolicyFlush
	case *xfrmstat.Acquire:
		out.Type = explain.EventAcquire
		out.SA = explain.SARef{SPI: e.SPI, Proto: e.Proto, Src: e.Src, Dst: e.Dst, ReqID: acquireReqID(e),
			Mark: explainMark(e.Policy.Mark), IfID: e.Policy.IfID}
		out.Policy = policyRef(&e.Policy)
	case *xfrmstat.Mapping:
		out.Type = explain.EventMapping
		out.SA = explain.SARef{SPI: e.SPI, Proto: e.Proto, Src: e.OldSrc, Dst: e.Dst, ReqID: e.ReqID}
		out.Addr = netip.AddrPortFrom(e.NewSrc, e.NewSPort)
	case *xfrmstat.Migrate:
		out.Type = explain.EventMigrate
		if len(e.Entries) > 0 {
			m := &e.Entries[0]
			out.SA = explain.SARef{Proto: m.Proto, Src: m.NewSrc, Dst: m.NewDst, ReqID: m.ReqID}
		}
		out.Policy = &explain.PolicyRef{Dir: explain.Dir(e.Dir)}
	default: // *AEvent, *Report, *UnknownEvent, and types to come
		return explain.Event{}, false
	}
	return out, true
}

// acquireReqID is the reqid of the template of the acquire's policy that
// the larval SA was made from: the first with the acquire's protocol and
// destination (a transport-mode template has none: any), else the first
// with its protocol; 0 if none.
func acquireReqID(e *xfrmstat.Acquire) uint32 {
	var first *xfrmstat.Template
	for i := range e.Policy.Templates {
		t := &e.Policy.Templates[i]
		if t.Proto != e.Proto {
			continue
		}
		if t.Dst == e.Dst || !t.Dst.IsValid() || t.Dst.IsUnspecified() {
			return t.ReqID
		}
		if first == nil {
			first = t
		}
	}
	if first != nil {
		return first.ReqID
	}
	return 0
}

func saRef(sa *xfrmstat.SA) explain.SARef {
	return explain.SARef{SPI: sa.SPI, Proto: sa.Proto, Src: sa.Src, Dst: sa.Dst, ReqID: sa.ReqID, Mark: explainMark(sa.Mark), IfID: sa.IfID}
}

func usageOf(sa *xfrmstat.SA) *explain.Usage {
	u := explainUsage(&sa.LifetimeCurrent)
	return &u
}

func policyRef(p *xfrmstat.Policy) *explain.PolicyRef {
	return &explain.PolicyRef{Index: p.Index, Dir: explain.Dir(p.Dir)}
}

// markInto returns explain's view of m, stored in reuse when it is not nil.
func markInto(reuse *explain.Mark, m *xfrmstat.Mark) *explain.Mark {
	if m == nil {
		return nil
	}
	if reuse == nil {
		reuse = new(explain.Mark)
	}
	*reuse = explain.Mark{Value: m.Value, Mask: m.Mask}
	return reuse
}

func explainMark(m *xfrmstat.Mark) *explain.Mark {
	if m == nil {
		return nil
	}
	return &explain.Mark{Value: m.Value, Mask: m.Mask}
}

// ExplainWireGuard returns what explain reads of the wireguard devices
// devs; nil for nil (not read), an empty slice for an empty one (read,
// none). Devices and peers keep their order.
//
// dst's storage is reused, as a poll loop that alternates two readings
// needs,
//
//	r.WireGuard = monitor.ExplainWireGuard(r.WireGuard, devs)
//
// which allocates nothing once dst has held the same devices: the devices,
// their peers and the peers' allowed IPs are written over those dst (up to
// its capacity) already holds, and a peer's PublicKey string is kept when
// the key at its position did not change, not encoded again. So nothing
// taken from dst stays valid once it is converted into again. Names are
// shared with devs; nothing else is, so devs may change once
// ExplainWireGuard returns.
func ExplainWireGuard(dst []explain.WireGuardDevice, devs []vtistat.WireGuardDevice) []explain.WireGuardDevice {
	if devs == nil {
		return nil
	}
	dst = slices.Grow(dst[:0], len(devs))[:len(devs)]
	if dst == nil {
		dst = []explain.WireGuardDevice{} // read, none
	}
	for i := range devs {
		v, d := &devs[i], &dst[i]
		d.Index, d.Name = v.Index, v.Name
		d.Peers = slices.Grow(d.Peers[:0], len(v.Peers))[:len(v.Peers)]
		if d.Peers == nil {
			d.Peers = []explain.WireGuardPeer{} // read, none
		}
		for j := range v.Peers {
			wireGuardPeerInto(&d.Peers[j], &v.Peers[j])
		}
	}
	return dst
}

// wireGuardPeerInto writes explain's view of p into d, reusing d's
// allowed IPs storage and, when the key is the same, its key string.
func wireGuardPeerInto(d *explain.WireGuardPeer, p *vtistat.WireGuardPeer) {
	var b [44]byte // base64 of 32 bytes
	base64.StdEncoding.Encode(b[:], p.PublicKey[:])
	key := d.PublicKey
	if key != string(b[:]) {
		key = string(b[:])
	}
	*d = explain.WireGuardPeer{
		PublicKey:           key,
		Endpoint:            p.Endpoint,
		AllowedIPs:          append(d.AllowedIPs[:0], p.AllowedIPs...),
		LastHandshake:       p.LastHandshake,
		RxBytes:             p.RxBytes,
		TxBytes:             p.TxBytes,
		PersistentKeepalive: p.PersistentKeepalive,
	}
}

// sameWireGuard reports whether two readings' wireguard devices are the
// same, in the same order, peer by peer and field by field; nil (not
// read) is the same only as nil.
func sameWireGuard(a, b []explain.WireGuardDevice) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Index != y.Index || x.Name != y.Name || len(x.Peers) != len(y.Peers) {
			return false
		}
		for j := range x.Peers {
			p, q := &x.Peers[j], &y.Peers[j]
			if p.PublicKey != q.PublicKey || p.Endpoint != q.Endpoint || !p.LastHandshake.Equal(q.LastHandshake) ||
				p.RxBytes != q.RxBytes || p.TxBytes != q.TxBytes || p.PersistentKeepalive != q.PersistentKeepalive ||
				!slices.Equal(p.AllowedIPs, q.AllowedIPs) {
				return false
			}
		}
	}
	return true
}
