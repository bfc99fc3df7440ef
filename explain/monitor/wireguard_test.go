package monitor

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// testKey is a made-up public key: n repeated.
func testKey(n byte) vtistat.WireGuardKey {
	var k vtistat.WireGuardKey
	for i := range k {
		k[i] = n
	}
	return k
}

func testWireGuard() []vtistat.WireGuardDevice {
	hs := time.Unix(1764730000, 123456789)
	return []vtistat.WireGuardDevice{
		{Index: 7, Name: "wg0", PublicKey: testKey(1), ListenPort: 51820, Peers: []vtistat.WireGuardPeer{
			{PublicKey: testKey(2), Endpoint: netip.MustParseAddrPort("198.51.100.2:51821"),
				AllowedIPs:    []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32"), netip.MustParsePrefix("fd00:9::/64")},
				LastHandshake: hs, RxBytes: 1124, TxBytes: 988, PersistentKeepalive: 25 * time.Second, ProtocolVersion: 1},
			{PublicKey: testKey(3), AllowedIPs: []netip.Prefix{}}, // no endpoint, never a handshake
		}},
		{Index: 9, Name: "wg1", Peers: []vtistat.WireGuardPeer{}},
	}
}

// freshWireGuard is ExplainWireGuard's result written out by hand.
func freshWireGuard(devs []vtistat.WireGuardDevice) []explain.WireGuardDevice {
	if devs == nil {
		return nil
	}
	out := []explain.WireGuardDevice{}
	for _, d := range devs {
		e := explain.WireGuardDevice{Index: d.Index, Name: d.Name, Peers: []explain.WireGuardPeer{}}
		for _, p := range d.Peers {
			e.Peers = append(e.Peers, explain.WireGuardPeer{PublicKey: p.PublicKey.String(), Endpoint: p.Endpoint,
				AllowedIPs: append([]netip.Prefix(nil), p.AllowedIPs...), LastHandshake: p.LastHandshake,
				RxBytes: p.RxBytes, TxBytes: p.TxBytes, PersistentKeepalive: p.PersistentKeepalive})
		}
		out = append(out, e)
	}
	return out
}

// emptyAllowed makes every empty AllowedIPs nil, as freshWireGuard has
// them (reused storage leaves them empty, not nil: the same to explain).
func emptyAllowed(devs []explain.WireGuardDevice) []explain.WireGuardDevice {
	for i := range devs {
		for j := range devs[i].Peers {
			if p := &devs[i].Peers[j]; len(p.AllowedIPs) == 0 {
				p.AllowedIPs = nil
			}
		}
	}
	return devs
}

func TestExplainWireGuard(t *testing.T) {
	if got := ExplainWireGuard(nil, nil); got != nil {
		t.Errorf("nil devices (not read): got %#v, want nil", got)
	}
	if got := ExplainWireGuard(nil, []vtistat.WireGuardDevice{}); got == nil || len(got) != 0 {
		t.Errorf("no device (read, none): got %#v, want an empty slice", got)
	}
	devs := testWireGuard()
	got := ExplainWireGuard(nil, devs)
	if !reflect.DeepEqual(emptyAllowed(got), freshWireGuard(devs)) {
		t.Fatalf("got %+v\nwant %+v", got, freshWireGuard(devs))
	}
	if got[0].Peers[0].PublicKey != "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=" {
		t.Errorf("key %q, want base64 as wg(8) prints it", got[0].Peers[0].PublicKey)
	}
	// Nothing of devs is shared but names: devs may be read into again.
	devs[0].Peers[0].AllowedIPs[0] = netip.MustParsePrefix("192.0.2.0/24")
	if got[0].Peers[0].AllowedIPs[0].String() != "10.9.0.2/32" {
		t.Error("the allowed IPs are shared with the vtistat device")
	}
	devs = testWireGuard()

	// Converting into the same storage again allocates nothing, keys
	// included.
	key := got[0].Peers[0].PublicKey
	if n := testing.AllocsPerRun(100, func() { got = ExplainWireGuard(got, devs) }); n != 0 {
		t.Errorf("%v allocations per conversion into reused storage, want 0", n)
	}
	if got[0].Peers[0].PublicKey != key {
		t.Error("key changed")
	}

	// Peers reordered, then grown, then the first again: nothing of the
	// old values stays.
	swapped := testWireGuard()
	swapped[0].Peers[0], swapped[0].Peers[1] = swapped[0].Peers[1], swapped[0].Peers[0]
	got = ExplainWireGuard(got, swapped)
	if !reflect.DeepEqual(emptyAllowed(got), freshWireGuard(swapped)) {
		t.Fatalf("reordered peers: got %+v", got)
	}
	more := testWireGuard()
	more = append(more, vtistat.WireGuardDevice{Index: 11, Name: "wg2", Peers: []vtistat.WireGuardPeer{{PublicKey: testKey(4)}}})
	got = ExplainWireGuard(got, more)
	if !reflect.DeepEqual(emptyAllowed(got), freshWireGuard(more)) {
		t.Fatalf("more devices: got %+v", got)
	}
	got = ExplainWireGuard(got, devs)
	if !reflect.DeepEqual(emptyAllowed(got), freshWireGuard(devs)) {
		t.Fatalf("reused storage kept old values:\n got %+v\nwant %+v", got, freshWireGuard(devs))
	}
}

func TestSameWireGuard(t *testing.T) {
	a := ExplainWireGuard(nil, testWireGuard())
	if !sameWireGuard(a, ExplainWireGuard(nil, testWireGuard())) || !sameWireGuard(nil, nil) {
		t.Fatal("equal readings differ")
	}
	if sameWireGuard(nil, []explain.WireGuardDevice{}) {
		t.Error("not read is the same as read, none")
	}
	for name, change := range map[string]func(d []vtistat.WireGuardDevice){
		"handshake": func(d []vtistat.WireGuardDevice) {
			d[0].Peers[0].LastHandshake = d[0].Peers[0].LastHandshake.Add(time.Second)
		},
		"rx":        func(d []vtistat.WireGuardDevice) { d[0].Peers[0].RxBytes++ },
		"tx":        func(d []vtistat.WireGuardDevice) { d[0].Peers[1].TxBytes++ },
		"endpoint":  func(d []vtistat.WireGuardDevice) { d[0].Peers[1].Endpoint = netip.MustParseAddrPort("192.0.2.9:1") },
		"allowed":   func(d []vtistat.WireGuardDevice) { d[0].Peers[0].AllowedIPs = d[0].Peers[0].AllowedIPs[:1] },
		"keepalive": func(d []vtistat.WireGuardDevice) { d[0].Peers[0].PersistentKeepalive = 0 },
		"key":       func(d []vtistat.WireGuardDevice) { d[0].Peers[1].PublicKey = testKey(9) },
		"peer gone": func(d []vtistat.WireGuardDevice) { d[0].Peers = d[0].Peers[:1] },
		"renamed":   func(d []vtistat.WireGuardDevice) { d[1].Name = "wg9" },
		"new index": func(d []vtistat.WireGuardDevice) { d[1].Index = 10 },
	} {
		d := testWireGuard()
		change(d)
		if sameWireGuard(a, ExplainWireGuard(nil, d)) {
			t.Errorf("%s: a change not seen", name)
		}
	}
}

// A snapshot with wireguard devices encodes them under "wireguard", with
// public keys only, and decodes back to itself; one without leaves the
// field out.
func TestSnapshotWireGuardRoundTrip(t *testing.T) {
	s := richSnapshot(t)
	var plain bytes.Buffer
	if err := s.Encode(&plain); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte(`"wireguard"`)) {
		t.Errorf("a snapshot without wireguard devices names the field:\n%s", plain.Bytes())
	}
	s.WireGuard = testWireGuard()
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"wireguard": [`, `"public_key": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="`,
		`"endpoint": "198.51.100.2:51821"`, `"allowed_ips": [`, `"10.9.0.2/32"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("document lacks %s:\n%s", want, buf.String())
		}
	}
	back, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.WireGuard, s.WireGuard) {
		// time.Time's location differs after a round trip; compare the text.
		var again bytes.Buffer
		if err := back.Encode(&again); err != nil {
			t.Fatal(err)
		}
		if again.String() != buf.String() {
			t.Fatalf("round trip differs:\n%s", firstDiff(buf.String(), again.String()))
		}
	}
	r := back.Reading()
	if len(r.WireGuard) != 2 || r.WireGuard[0].Peers[0].PublicKey != testKey(2).String() || r.WireGuard[1].Peers == nil {
		t.Errorf("Reading().WireGuard = %+v", r.WireGuard)
	}
	if r := richSnapshot(t).Reading(); r.WireGuard != nil {
		t.Errorf("no devices read: Reading().WireGuard = %#v, want nil", r.WireGuard)
	}
}

func TestDecodeWireGuardErrors(t *testing.T) {
	s := richSnapshot(t)
	s.WireGuard = testWireGuard()
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for name, tc := range map[string]struct{ old, new, path string }{
		"same index":   {`"ifindex": 9`, `"ifindex": 7`, "wireguard[1].ifindex"},
		"same name":    {`"name": "wg1"`, `"name": "wg0"`, "wireguard[1].name"},
		"bad name":     {`"name": "wg1"`, `"name": "wg/1"`, "wireguard[1].name"},
		"no index":     {`"ifindex": 9`, `"ifindex": 0`, "wireguard[1].ifindex"},
		"short key":    {`"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="`, `"AgIC"`, "wireguard[0].peers[0].public_key"},
		"unknown":      {`"listen_port": 51820`, `"listen_port": 51820, "private_key": "x"`, "wireguard[0]"},
		"not an array": {`"wireguard": [`, `"wireguard": 1, "x": [`, "wireguard"},
	} {
		edited := strings.Replace(doc, tc.old, tc.new, 1)
		if edited == doc {
			t.Fatalf("%s: %s not in the document", name, tc.old)
		}
		_, err := Decode(strings.NewReader(edited))
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrNotSnapshot) {
			t.Errorf("%s: error %v, want a *DecodeError", name, err)
			continue
		}
		if de.Path != tc.path {
			t.Errorf("%s: %v: path %q, want %q", name, err, de.Path, tc.path)
		}
	}
}

// The real 6.12 snapshot with a wireguard device (testdata/README.md):
// its Reading carries the peer to explain, and explain and a Tracker
// take it.
func TestGoldenWireGuardReading(t *testing.T) {
	s := decodeGolden(t, "vm-6.12-wireguard.json")
	if len(s.WireGuard) != 1 || len(s.WireGuard[0].Peers) != 1 {
		t.Fatalf("WireGuard = %+v", s.WireGuard)
	}
	r := s.Reading()
	if len(r.WireGuard) != 1 || r.WireGuard[0].Name != "wg0" || len(r.WireGuard[0].Peers) != 1 {
		t.Fatalf("Reading().WireGuard = %+v", r.WireGuard)
	}
	p := r.WireGuard[0].Peers[0]
	want := s.WireGuard[0].Peers[0]
	if p.PublicKey != want.PublicKey.String() || p.Endpoint != want.Endpoint || p.RxBytes != want.RxBytes || p.TxBytes != want.TxBytes ||
		!p.LastHandshake.Equal(want.LastHandshake) || len(p.AllowedIPs) != 2 {
		t.Errorf("peer %+v, snapshot's %+v", p, want)
	}
	var wg *Link
	for i := range s.Links {
		if s.Links[i].Kind == explain.KindWireGuard {
			wg = &s.Links[i]
		}
	}
	if wg == nil || !wg.IsTunnel() || len(s.Tunnels()) != 1 {
		t.Errorf("wireguard link %+v not a tunnel; tunnels %+v", wg, s.Tunnels())
	}
	explain.Explain(nil, r)
	var tr explain.Tracker
	var h explain.Health
	tr.Add(&h, r)
}

// A document Encode writes decodes within the memory bound, however many
// allowed IPs a peer has: an allowed IP takes more memory decoded (a
// netip.Prefix, 32 bytes) than its indented text (some 27 to 31 bytes),
// which the bound's slack absorbs.
func TestDecodeWireGuardManyAllowedIPs(t *testing.T) {
	for _, n := range []int{1000, 20000, 100000} {
		s := richSnapshot(t)
		s.WireGuard = testWireGuard()
		p := &s.WireGuard[0].Peers[0]
		p.AllowedIPs = p.AllowedIPs[:0]
		for i := range n {
			if i%2 == 0 {
				p.AllowedIPs = append(p.AllowedIPs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32))
			} else {
				p.AllowedIPs = append(p.AllowedIPs, netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, 9, 14: byte(i >> 8), 15: byte(i)}), 128))
			}
		}
		var buf bytes.Buffer
		if err := s.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := Decode(&buf)
		if err != nil {
			t.Fatalf("%d allowed IPs: %v", n, err)
		}
		if got := len(back.WireGuard[0].Peers[0].AllowedIPs); got != n {
			t.Fatalf("%d allowed IPs decoded, want %d", got, n)
		}
	}
}

// A device made of empty peers ({} repeated) is refused before it is
// decoded, as a document made to exhaust memory.
func TestDecodeWireGuardMemoryBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"format":"tunnelstat.snapshot/v1","time":"2026-01-01T00:00:00Z","netns":"","kernel_release":"","links":[],"links_from":"rtnetlink","xfrm_stat":null,"sas":null,"policies":null,"policy_defaults":null,"spd_info":null,"sad_info":null,"wireguard":[{"ifindex":1,"name":"wg0","public_key":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=","listen_port":0,"peers":[`)
	for i := range 1 << 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString("]}]}")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(strings.NewReader(b.String()))
	runtime.ReadMemStats(&after)
	var de *DecodeError
	if !errors.As(err, &de) || de.Path != "wireguard[0]" || !strings.Contains(err.Error(), "exhaust memory") {
		t.Fatalf("%.300v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("%d MB allocated before refusing a %d MB document", grew>>20, b.Len()>>20)
	}
}

// Converting a device of 5 000 peers (2 allowed IPs each) into the
// storage of the previous conversion, as every poll does: no allocation.
func BenchmarkExplainWireGuard5000(b *testing.B) {
	d := vtistat.WireGuardDevice{Index: 7, Name: "wg0"}
	for i := range 5000 {
		k := testKey(byte(i))
		k[1], k[2] = byte(i>>8), byte(i)
		d.Peers = append(d.Peers, vtistat.WireGuardPeer{PublicKey: k, Endpoint: netip.MustParseAddrPort("198.51.100.2:51820"),
			AllowedIPs:    []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32"), netip.MustParsePrefix("fd00:9::/64")},
			LastHandshake: time.Unix(1764730000, 0), RxBytes: uint64(i), TxBytes: uint64(i)})
	}
	devs := []vtistat.WireGuardDevice{d}
	dst := ExplainWireGuard(nil, devs)
	b.ReportAllocs()
	for b.Loop() {
		dst = ExplainWireGuard(dst, devs)
	}
}
