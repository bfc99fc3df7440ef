package xfrmstat

import (
	"bytes"
	"encoding/json"
)

// JSON: SA, Policy, SPDInfo and SADInfo encode as encoding/json writes
// their exported fields, plus "UnknownAttrs", the attribute types the
// decoder skipped as a bitmask: bit n for type n, types of 63 and above in
// bit 63. That is the layout of the snapshot document explain/monitor
// writes ("tunnelstat.snapshot/v1"), whose saved files must keep loading.

// mask is the set as the JSON bitmask.
func (s *attrSet) mask() uint64 {
	m := s.low[0]
	for _, w := range s.low[1:] {
		if w != 0 {
			m |= 1 << 63
		}
	}
	if s.high != 0 {
		m |= 1 << 63
	}
	return m
}

// attrSetOfMask reads the JSON bitmask (bit 63 reads as type 63).
func attrSetOfMask(m uint64) attrSet { return attrSet{low: [4]uint64{m}} }

// MarshalJSON writes sa's fields and its UnknownAttrs bitmask.
func (sa SA) MarshalJSON() ([]byte, error) {
	type plain SA
	return json.Marshal(struct {
		plain
		UnknownAttrs uint64
	}{plain(sa), sa.unknown.mask()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (sa *SA) UnmarshalJSON(b []byte) error {
	type plain SA
	v := struct {
		*plain
		UnknownAttrs uint64
	}{plain: (*plain)(sa)}
	if err := strictJSON(b, &v); err != nil {
		return err
	}
	sa.unknown = attrSetOfMask(v.UnknownAttrs)
	return nil
}

// MarshalJSON writes p's fields and its UnknownAttrs bitmask.
func (p Policy) MarshalJSON() ([]byte, error) {
	type plain Policy
	return json.Marshal(struct {
		plain
		UnknownAttrs uint64
	}{plain(p), p.unknown.mask()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Policy) UnmarshalJSON(b []byte) error {
	type plain Policy
	v := struct {
		*plain
		UnknownAttrs uint64
	}{plain: (*plain)(p)}
	if err := strictJSON(b, &v); err != nil {
		return err
	}
	p.unknown = attrSetOfMask(v.UnknownAttrs)
	return nil
}

// MarshalJSON writes s's fields and its UnknownAttrs bitmask.
func (s SPDInfo) MarshalJSON() ([]byte, error) {
	type plain SPDInfo
	return json.Marshal(struct {
		plain
		UnknownAttrs uint64
	}{plain(s), s.unknown.mask()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *SPDInfo) UnmarshalJSON(b []byte) error {
	type plain SPDInfo
	v := struct {
		*plain
		UnknownAttrs uint64
	}{plain: (*plain)(s)}
	if err := strictJSON(b, &v); err != nil {
		return err
	}
	s.unknown = attrSetOfMask(v.UnknownAttrs)
	return nil
}

// MarshalJSON writes s's fields and its UnknownAttrs bitmask.
func (s SADInfo) MarshalJSON() ([]byte, error) {
	type plain SADInfo
	return json.Marshal(struct {
		plain
		UnknownAttrs uint64
	}{plain(s), s.unknown.mask()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *SADInfo) UnmarshalJSON(b []byte) error {
	type plain SADInfo
	v := struct {
		*plain
		UnknownAttrs uint64
	}{plain: (*plain)(s)}
	if err := strictJSON(b, &v); err != nil {
		return err
	}
	s.unknown = attrSetOfMask(v.UnknownAttrs)
	return nil
}

// strictJSON decodes b into v and refuses fields v does not have, as the
// snapshot document is read: a misspelt or newer document is refused
// rather than half read.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
