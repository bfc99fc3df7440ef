package xfrmstat

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The snapshot document's layout: exported fields plus the UnknownAttrs
// bitmask, last, read back exactly; unknown fields are refused.
func TestJSONUnknownAttrs(t *testing.T) {
	var sa SA
	sa.Src, sa.Dst = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	sa.unknown.add(5)
	sa.unknown.add(40)
	b, err := json.Marshal(sa)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), `,"UnknownAttrs":1099511627808}`) {
		t.Errorf("SA JSON does not end with the bitmask: %s", b)
	}
	var back SA
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.UnknownAttrs(), []uint16{5, 40}) || back.Src != sa.Src {
		t.Errorf("read back %v %v", back.UnknownAttrs(), back.Src)
	}
	// Types past the bitmask's width land in bit 63, as v1 stored them.
	var p Policy
	p.unknown.add(300)
	b, _ = json.Marshal(p)
	var pb Policy
	if err := json.Unmarshal(b, &pb); err != nil || !slices.Equal(pb.UnknownAttrs(), []uint16{63}) {
		t.Errorf("policy with type 300: %s → %v, %v", b, pb.UnknownAttrs(), err)
	}
	for _, in := range []string{`{"Srcc":"192.0.2.1"}`, `{"UnknownAttrs":1,"Extra":2}`} {
		if err := json.Unmarshal([]byte(in), &back); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
	var spd SPDInfo
	spd.unknown.add(2)
	var sad SADInfo
	for _, v := range []any{spd, sad} {
		if b, err := json.Marshal(v); err != nil || !strings.Contains(string(b), `"UnknownAttrs":`) {
			t.Errorf("%T: %s %v", v, b, err)
		}
	}
}
