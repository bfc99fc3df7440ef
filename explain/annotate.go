package explain

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// annotate adds to the findings what the SA dumps and the interval's
// events say about them, without changing any count or certainty: the
// SAs' own error counters name the SAs (and so the peers) behind
// rx-integrity-failed and rx-replay, and SA deletes, hard expires,
// flushes and acquires back tx-no-sa. Neither can settle a count the
// counters leave open: XfrmInStateProtoError also counts malformed ESP
// that no SA counter sees, and an SA's delete does not rule out, in the
// same interval, the route or policy failures that share tx_carrier_errors.
//
// It runs on each moved link's findings as they join the report (l is the
// link, as the engine paired it), and on the namespace-wide ones with a
// nil l.
func (e *engine) annotate(fs []Finding, l *LinkReading) {
	if l != nil && l.Tunnel == nil {
		return
	}
	for i := range fs {
		f := &fs[i]
		switch f.Cause {
		case "rx-integrity-failed", "rx-replay":
			if !e.saDeltasDone {
				e.saDeltas, e.saDeltasDone = e.saErrorDeltas(), true
			}
			e.nameSAs(f, l, e.saDeltas)
		case "tx-no-sa":
			e.citeEvents(f, l)
		}
	}
}

// saErrDelta is one SA whose own error counters moved in the interval.
type saErrDelta struct {
	sa                              *SA
	integrity, replay, replayWindow uint64
}

// saErrorDeltas compares the SAs' error counters of the two readings. An
// SA in both (same key, same add time) counts its increase; one added
// during the interval counts all it has; one whose counters went down, or
// that is older than the earlier reading yet absent from it, counts
// nothing: its increase is not known.
func (e *engine) saErrorDeltas() []saErrDelta {
	if e.before == nil || e.before.SAs == nil || e.after.SAs == nil {
		return nil
	}
	prev := make(map[saKey]*SA, len(e.before.SAs))
	for i := range e.before.SAs {
		sa := &e.before.SAs[i]
		ref := sa.Ref()
		prev[keyOf(&ref)] = sa
	}
	var out []saErrDelta
	for i := range e.after.SAs {
		sa := &e.after.SAs[i]
		if sa.Errors == (SAErrors{}) {
			continue
		}
		ref := sa.Ref()
		var base SAErrors
		if p := prev[keyOf(&ref)]; p != nil && p.Usage.Added.Equal(sa.Usage.Added) {
			base = p.Errors
		} else if sa.Usage.Added.IsZero() || sa.Usage.Added.Before(e.before.Time) {
			continue
		}
		a, b := sa.Errors, base
		if a.IntegrityFailed < b.IntegrityFailed || a.Replay < b.Replay || a.ReplayWindow < b.ReplayWindow {
			continue
		}
		d := saErrDelta{sa: sa, integrity: uint64(a.IntegrityFailed - b.IntegrityFailed),
			replay: uint64(a.Replay - b.Replay), replayWindow: uint64(a.ReplayWindow - b.ReplayWindow)}
		if d.integrity+d.replay+d.replayWindow > 0 {
			out = append(out, d)
		}
	}
	return out
}

// ofLink reports whether sa is an SA of the tunnel link l (nil: the
// namespace, every SA) in one direction: outbound (out) to its remote
// with its okey as mark, or inbound from it with its ikey; for an xfrm
// interface, any SA of its if_id.
func ofLink(sa *SARef, l *LinkReading, out bool) bool {
	if l == nil {
		return true
	}
	t := l.Tunnel
	switch l.Kind {
	case KindXfrm:
		return t.IfID != 0 && sa.IfID == t.IfID
	case KindVTI, KindVTI6:
		peer, local, key := sa.Src, sa.Dst, t.IKey
		if out {
			peer, local, key = sa.Dst, sa.Src, t.OKey
		}
		if t.Remote.IsValid() && !t.Remote.IsUnspecified() {
			return peer == t.Remote && markMatches(sa.Mark, key)
		}
		return local == t.Local && markMatches(sa.Mark, key)
	}
	return false
}

// nameSAs adds the SAs whose own counters of the finding's cause moved.
func (e *engine) nameSAs(f *Finding, l *LinkReading, deltas []saErrDelta) {
	var parts []string
	for _, d := range deltas {
		ref := d.sa.Ref()
		if !ofLink(&ref, l, false) {
			continue
		}
		add := func(counter string, n uint64) {
			if n == 0 {
				return
			}
			r := ref
			f.Evidence = append(f.Evidence, Evidence{Counter: counter, Delta: n, Source: SourceSA, SA: &r})
			parts = append(parts, msgSACounted.text("n", fmt.Sprint(n), "counter", counter, "sa", ref.String(), "peer", peerWord(ref.Src)))
		}
		if f.Cause == "rx-integrity-failed" {
			add("integrity_failed", d.integrity)
		} else {
			add("replay", d.replay)
			add("replay_window", d.replayWindow)
		}
	}
	if len(parts) > 0 {
		f.Explanation += " " + msgSAsNamed.text("list", strings.Join(parts, "; "))
	}
}

// citeEvents adds the interval's events that take an outbound SA away
// (delete, hard expire, flush) or show a packet finding none (acquire).
func (e *engine) citeEvents(f *Finding, l *LinkReading) {
	type key struct {
		typ EventType
		sa  saKey
	}
	count := map[key]int{}
	var order []key
	refs := map[key]SARef{}
	for i := range e.after.Events {
		ev := &e.after.Events[i]
		switch ev.Type {
		case EventSADeleted, EventHardExpire, EventAcquire:
			if !ofLink(&ev.SA, l, true) {
				continue
			}
		case EventSAFlush:
		default:
			continue
		}
		k := key{ev.Type, keyOf(&ev.SA)}
		if count[k] == 0 {
			order = append(order, k)
			refs[k] = ev.SA
		}
		count[k]++
	}
	if len(order) == 0 {
		return
	}
	var parts []string
	for _, k := range order {
		ev := Evidence{Counter: k.typ.String(), Delta: uint64(count[k]), Source: SourceEvent}
		words := k.typ.String()
		if k.typ != EventSAFlush {
			r := refs[k]
			ev.SA = &r
			words += " of " + r.String()
		}
		if count[k] > 1 {
			words += fmt.Sprintf(" (×%d)", count[k])
		}
		f.Evidence = append(f.Evidence, ev)
		parts = append(parts, words)
	}
	f.Explanation += " " + msgEventsCited.text("list", strings.Join(parts, "; "))
}

func peerWord(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}

// eventLine is one event as Format prints it: when it came, its type and
// the SA it names ("16:03:12 sa-hard-expire esp spi 0x00001001 10.0.0.1 >
// 10.0.0.2"), or the policy of a policy event.
func eventLine(e *Event) string {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format(time.TimeOnly))
	b.WriteByte(' ')
	b.WriteString(e.Type.String())
	if e.SA != (SARef{}) {
		b.WriteByte(' ')
		b.WriteString(e.SA.String())
	} else if e.Policy != nil {
		fmt.Fprintf(&b, " policy dir %s", e.Policy.Dir)
		if e.Policy.Index != 0 {
			fmt.Fprintf(&b, " index %d", e.Policy.Index)
		}
	}
	if e.Hard {
		b.WriteString(" hard")
	}
	if e.Addr.IsValid() {
		b.WriteString(" now from ")
		b.WriteString(e.Addr.String())
	}
	if e.Usage != nil {
		fmt.Fprintf(&b, " after %d bytes, %d packets", e.Usage.Bytes, e.Usage.Packets)
	}
	return b.String()
}
