package explain

import (
	"fmt"
	"net/netip"
	"time"
)

// EventType is the kind of an XFRM event. In JSON, text and metric labels
// it is the name String returns; the names are part of the v1 promise.
type EventType uint8

const (
	// EventAcquire: an outbound packet matched a policy whose template has
	// no SA; the kernel asked the key manager for one (XFRM_MSG_ACQUIRE).
	EventAcquire EventType = iota + 1
	// EventSoftExpire: an SA reached a soft limit: time to rekey
	// (XFRM_MSG_EXPIRE, hard 0).
	EventSoftExpire
	// EventHardExpire: an SA reached a hard limit and the kernel deleted
	// it (XFRM_MSG_EXPIRE, hard 1). Also a larval SA nobody completed.
	EventHardExpire
	// EventSAAdded, EventSAUpdated, EventSADeleted: a key manager or
	// ip-xfrm added, updated or deleted an SA (XFRM_MSG_NEWSA, _UPDSA,
	// _DELSA).
	EventSAAdded
	EventSAUpdated
	EventSADeleted
	// EventSAFlush: every SA (of a protocol) was deleted at once.
	EventSAFlush
	// EventPolicyAdded, EventPolicyUpdated, EventPolicyDeleted: a policy
	// was added, updated or deleted (XFRM_MSG_NEWPOLICY, _UPDPOLICY,
	// _DELPOLICY).
	EventPolicyAdded
	EventPolicyUpdated
	EventPolicyDeleted
	// EventPolicyExpire: a policy reached a lifetime limit
	// (XFRM_MSG_POLEXPIRE); Hard says which.
	EventPolicyExpire
	// EventPolicyFlush: every policy was deleted at once.
	EventPolicyFlush
	// EventMapping: the NAT in front of a NAT-T peer changed the peer's
	// address or port (XFRM_MSG_MAPPING); Addr is the new one.
	EventMapping
	// EventMigrate: SAs and a policy moved to new endpoints (MOBIKE).
	EventMigrate
	// EventsLost: the kernel dropped events because the subscriber's
	// socket buffer was full. Events between the one before and the one
	// after are missing; the monitor read the SAs and policies again.
	EventsLost
)

var eventNames = [...]string{
	EventAcquire:       "acquire",
	EventSoftExpire:    "sa-soft-expire",
	EventHardExpire:    "sa-hard-expire",
	EventSAAdded:       "sa-added",
	EventSAUpdated:     "sa-updated",
	EventSADeleted:     "sa-deleted",
	EventSAFlush:       "sa-flush",
	EventPolicyAdded:   "policy-added",
	EventPolicyUpdated: "policy-updated",
	EventPolicyDeleted: "policy-deleted",
	EventPolicyExpire:  "policy-expire",
	EventPolicyFlush:   "policy-flush",
	EventMapping:       "nat-mapping",
	EventMigrate:       "migrate",
	EventsLost:         "events-lost",
}

// EventTypes returns every event type, in order.
func EventTypes() []EventType {
	out := make([]EventType, 0, len(eventNames)-1)
	for t := EventAcquire; int(t) < len(eventNames); t++ {
		out = append(out, t)
	}
	return out
}

// String returns the type's name ("acquire", "sa-hard-expire", …), or
// "unknown".
func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "unknown"
}

// MarshalText returns String's name.
func (t EventType) MarshalText() ([]byte, error) {
	if t.String() == "unknown" {
		return nil, fmt.Errorf("explain: unknown event type %d", uint8(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads a name String returns.
func (t *EventType) UnmarshalText(b []byte) error {
	for i, n := range eventNames {
		if n != "" && n == string(b) {
			*t = EventType(i)
			return nil
		}
	}
	return fmt.Errorf("explain: unknown event type %q", b)
}

// SARef identifies an SA and the tunnel it belongs to, without its
// counters: what a finding, an event or a risk names.
type SARef struct {
	SPI   uint32     `json:"spi"`
	Proto uint8      `json:"proto"`
	Src   netip.Addr `json:"src"`
	Dst   netip.Addr `json:"dst"`
	ReqID uint32     `json:"reqid,omitempty"`
	Mark  *Mark      `json:"mark,omitempty"`
	IfID  uint32     `json:"if_id,omitempty"`
}

// Ref returns the SA's identity.
func (sa *SA) Ref() SARef {
	r := SARef{SPI: sa.SPI, Proto: sa.Proto, Src: sa.Src, Dst: sa.Dst, ReqID: sa.ReqID, IfID: sa.IfID}
	if sa.Mark != nil {
		m := *sa.Mark
		r.Mark = &m
	}
	return r
}

// String names the SA as ip xfrm state does: "esp spi 0x00001001 198.51.100.2 > 192.0.2.1".
func (r SARef) String() string {
	return fmt.Sprintf("%s spi 0x%08x %s > %s", protoWord(r.Proto), r.SPI, addrWord(r.Src), addrWord(r.Dst))
}

func protoWord(p uint8) string {
	switch p {
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 108:
		return "comp"
	}
	return fmt.Sprintf("proto %d", p)
}

func addrWord(a netip.Addr) string {
	if !a.IsValid() {
		return "?"
	}
	return a.String()
}

// Event is one XFRM event, as the monitor received it.
type Event struct {
	// Time is when it was received.
	Time time.Time `json:"time"`
	Type EventType `json:"type"`
	// SA identifies the SA of an SA event, an expire, a mapping or a
	// migrate; of an acquire, the SA wanted (its SPI is 0, its ReqID the
	// template's). Zero for policy events, flushes and lost events.
	SA SARef `json:"sa,omitzero"`
	// Usage is what a deleted or expired SA carried until then: its final
	// counters, which the next dump no longer has. Nil for other events.
	Usage *Usage `json:"usage,omitempty"`
	// Hard is true for a policy expire that deleted the policy.
	Hard bool `json:"hard,omitempty"`
	// Policy is the policy of a policy event or of an acquire: its index
	// and direction (Index 0 when the kernel did not say).
	Policy *PolicyRef `json:"policy,omitempty"`
	// Addr is a mapping's new peer address and port.
	Addr netip.AddrPort `json:"addr,omitzero"`
}

// PolicyRef identifies a policy.
type PolicyRef struct {
	Index uint32 `json:"index"`
	Dir   Dir    `json:"dir"`
}

// String returns "in", "out" or "fwd", or the number of another direction.
func (d Dir) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	case DirFwd:
		return "fwd"
	}
	return fmt.Sprint(uint8(d))
}

// MarshalText returns String's name.
func (d Dir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (d *Dir) UnmarshalText(b []byte) error {
	for _, c := range []Dir{DirIn, DirOut, DirFwd} {
		if c.String() == string(b) {
			*d = c
			return nil
		}
	}
	var n uint8
	if _, err := fmt.Sscanf(string(b), "%d", &n); err != nil {
		return fmt.Errorf("explain: unknown policy direction %q", b)
	}
	*d = Dir(n)
	return nil
}
