package explain

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestIndexedLookupsAgree: explaining many moved links with the policy and
// SA lists indexed gives exactly the report that scanning them gives, on
// lists that mix every way a policy or SA can match or miss: exact and
// partial marks, no mark, if_id policies, inbound and sub policies,
// blocks, transport-mode templates, several SAs per pair of endpoints,
// AH SAs and SAs with other marks.
func TestIndexedLookupsAgree(t *testing.T) {
	const n = 60
	before, after := busyReadings(n, 0)
	for i := range after.Links {
		if i%3 == 2 { // every third an xfrm interface, matched by if_id
			for _, r := range []*Reading{before, after} {
				r.Links[i].Kind = KindXfrm
				tun := *r.Links[i].Tunnel
				tun.IfID = uint32(i % 7)
				r.Links[i].Tunnel = &tun
			}
		}
	}
	remote := func(i int) netip.Addr { return after.Links[i%n].Tunnel.Remote }
	var pols []Policy
	var sas []SA
	for i := range 3 * n {
		p := outPolicy(uint32(i%n), tunnelTmpl(tLocal, remote(i)))
		switch i % 11 {
		case 1:
			p.Mark = nil // matches every okey
		case 2:
			p.Mark = &Mark{Value: uint32(i % 4), Mask: 0x3} // partial mask
		case 3:
			p.Mark.Value |= 0x100 // full mask, another value
		case 4:
			p.IfID = uint32(i % 7)
		case 5:
			p.Dir = DirIn
		case 6:
			p.Type = 1 // sub policy
		case 7:
			p.Action = ActionBlock
		case 8:
			p.Templates[0].Mode = ModeTransport
		case 9:
			p.Templates = nil
		case 10:
			p.Mark = &Mark{Value: 0x5, Mask: 0x1} // value outside the mask: never matches
		}
		pols = append(pols, p)
		for k := range 3 {
			sa := SA{Src: tLocal, Dst: remote(i), Proto: 50, SPI: uint32(0x100*k + i), Mode: ModeTunnel,
				Mark: &Mark{Value: uint32(i % n), Mask: 0xffffffff}}
			switch (i + k) % 5 {
			case 1:
				sa.Mode = ModeTransport
			case 2:
				sa.Proto = 51
			case 3:
				sa.Mark = nil
			case 4:
				sa.Src, sa.Dst = sa.Dst, sa.Src // inbound
			}
			sas = append(sas, sa)
		}
	}
	after.Policies, after.SAs = pols, sas

	defer func(v int) { indexFrom = v }(indexFrom)
	indexFrom = 1 << 30
	scanned := Explain(before, after)
	indexFrom = 0
	indexed := Explain(before, after)
	if !reflect.DeepEqual(scanned, indexed) {
		t.Fatalf("indexed lookups differ from scanning:\nscanned:\n%s\nindexed:\n%s", scanned.String(), indexed.String())
	}
	if len(indexed.Findings) < n {
		t.Fatalf("%d findings for %d failed tunnels", len(indexed.Findings), n)
	}
	// The SPIs the checks can name (no catalogue check uses them today,
	// so the reports above do not show them): the same both ways, and
	// found for some tunnels.
	look := newLookups(after)
	linkName := func(int32) string { return "" }
	var spis, several int
	for i := range after.Links {
		l := &after.Links[i]
		a, b := valuesFor(l, after, linkName, nil), valuesFor(l, after, linkName, look)
		if a != b {
			t.Errorf("%s: scanned values %+v, indexed %+v", l.Name, a, b)
		}
		if b.spiOut != "" && b.spiIn != "" {
			spis++
		}
	}
	for _, f := range indexed.Findings {
		if strings.Contains(f.Explanation, "policies can match") {
			several++
		}
	}
	if spis == 0 || spis == n || several == 0 {
		t.Fatalf("the lists did not exercise the lookups: %d of %d tunnels with both SPIs, %d findings resolved to several policies", spis, n, several)
	}
	t.Logf("%d findings, %d of %d tunnels with both SPIs, %d findings resolved to several policies", len(indexed.Findings), spis, n, several)
}
