package vtistat

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/nl"
)

// Fixtures are real messages in the byte order of the machine that
// captured them (little-endian x86-64 and the VMs).
func requireLittleEndian(t testing.TB) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("fixtures were captured on a little-endian machine")
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The host fixtures: see TestCaptureHostFixtures for what was configured.
func TestDecodeHostFixtures(t *testing.T) {
	requireLittleEndian(t)
	var l Link
	if err := DecodeLink(readFixture(t, "rtm_newlink-lo-linux6.18.bin"), &l); err != nil {
		t.Fatal(err)
	}
	if l.Index != 1 || l.Name != "lo" || l.Kind != "" || l.MTU != 65536 || l.Flags&1 == 0 ||
		l.StatsSource != Stats64Bit || l.LinkNetNSID != -1 || l.Tunnel != nil || l.OperState != OperUnknown {
		t.Errorf("lo: %+v", l)
	}

	if err := DecodeLink(readFixture(t, "rtm_newlink-veth-linux6.18.bin"), &l); err != nil {
		t.Fatal(err)
	}
	const frame = 14 + 20 + 8 + 100
	if l.Name != "a0" || l.Kind != "veth" || l.MTU != 1400 || l.Alias != "fixture veth" || l.OperState != OperUp ||
		l.LinkNetNSID < 0 || l.ParentIndex <= 0 || l.Tunnel != nil || l.StatsSource != Stats64Bit ||
		l.Stats.TxPackets != 3 || l.Stats.TxBytes != 3*frame || l.Stats.RxPackets != 0 {
		t.Errorf("veth: %+v", l)
	}
	veth := l

	if err := DecodeLink(readFixture(t, "rtm_newlink-vxlan-linux6.18.bin"), &l); err != nil {
		t.Fatal(err)
	}
	if l.Name != "vx0" || l.Kind != "vxlan" || l.Tunnel != nil || l.MTU != 1350 || l.Alias != "" || l.LinkNetNSID != -1 {
		t.Errorf("vxlan: %+v", l)
	}

	// The stats-only message carries the same counters.
	m := readFixture(t, "rtm_newstats-veth-linux6.18.bin")
	if got := int32(binary.NativeEndian.Uint32(m[4:])); got != veth.Index {
		t.Fatalf("stats message for ifindex %d, want %d", got, veth.Index)
	}
	a := nl.NewAttrs(m[sizeofIfStatsMsg:], "test")
	var s Stats64
	for a.Next() {
		if a.Type() == 1 {
			decodeStats64(a.Data(), &s)
		}
	}
	if s != veth.Stats {
		t.Errorf("RTM_NEWSTATS %+v != RTM_NEWLINK %+v", s, veth.Stats)
	}
}

func TestDecodeReuseAllocatesNothing(t *testing.T) {
	requireLittleEndian(t)
	msgs := [][]byte{
		readFixture(t, "rtm_newlink-lo-linux6.18.bin"),
		readFixture(t, "rtm_newlink-veth-linux6.18.bin"),
		readFixture(t, "rtm_newlink-vxlan-linux6.18.bin"),
	}
	links := make([]Link, len(msgs))
	for i, m := range msgs {
		if err := DecodeLink(m, &links[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		for i, m := range msgs {
			_ = DecodeLink(m, &links[i])
		}
	}); n != 0 {
		t.Errorf("%v allocations decoding known links again, want 0", n)
	}
	// A tunnel decoded again reuses its Tunnel.
	msg := handmadeLink(7, "vti0", "vti", vtiData())
	var l Link
	if err := DecodeLink(msg, &l); err != nil {
		t.Fatal(err)
	}
	tun := l.Tunnel
	if n := testing.AllocsPerRun(100, func() { _ = DecodeLink(msg, &l) }); n != 0 || l.Tunnel != tun {
		t.Errorf("%v allocations decoding a vti again (Tunnel reused: %v)", n, l.Tunnel == tun)
	}
}

// handmadeLink builds an RTM_NEWLINK payload. Hand-made: for edge cases
// and for kinds this host cannot create; the VM captures are the real ones.
func handmadeLink(index int32, name, kind string, infoData []byte, extra ...[]byte) []byte {
	b := make([]byte, sizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	b = nl.AppendAttr(b, iflaIfname, append([]byte(name), 0))
	if kind != "" {
		li := nl.AppendAttr(nil, iflaInfoKind, append([]byte(kind), 0))
		if infoData != nil {
			li = nl.AppendAttr(li, iflaInfoData|nlaNested, infoData)
		}
		b = nl.AppendAttr(b, iflaLinkinfo|nlaNested, li)
	}
	for _, e := range extra {
		b = append(b, e...)
	}
	return b
}

const nlaNested = 1 << 15

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func ne16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }

func attrs(kv ...any) []byte {
	var b []byte
	for i := 0; i < len(kv); i += 2 {
		b = nl.AppendAttr(b, uint16(kv[i].(int)), kv[i+1].([]byte))
	}
	return b
}

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func vtiData() []byte {
	return attrs(iflaVTILink, ne32(3), iflaVTIIKey, be32(10), iflaVTIOKey, be32(0x01020304),
		iflaVTILocal, ip("192.0.2.1"), iflaVTIRemote, ip("192.0.2.2"), iflaVTIFwMark, ne32(99))
}

func TestDecodeTunnelKinds(t *testing.T) {
	a4, b4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	cases := []struct {
		kind string
		data []byte
		want Tunnel
	}{
		{"vti", vtiData(), Tunnel{Link: 3, IKey: 10, OKey: 0x01020304, Local: a4, Remote: b4, FwMark: 99}},
		{"vti6", attrs(iflaVTILink, ne32(0), iflaVTILocal, ip("2001:db8::1"), iflaVTIRemote, ip("2001:db8::2"),
			iflaVTIIKey, be32(5), iflaVTIOKey, be32(6)), Tunnel{Local: a6, Remote: b6, IKey: 5, OKey: 6}},
		{"xfrm", attrs(iflaXfrmLink, ne32(2), iflaXfrmIfID, ne32(42), iflaXfrmCollectMetadata, []byte{}),
			Tunnel{Link: 2, IfID: 42, CollectMD: true}},
		{"gre", attrs(iflaGRELink, ne32(4), iflaGREIFlags, be16(GREKey|GRECsum), iflaGREOFlags, be16(GREKey),
			iflaGREIKey, be32(1000), iflaGREOKey, be32(2000), iflaGRELocal, ip("192.0.2.1"), iflaGRERemote, ip("192.0.2.2"),
			iflaGRETTL, []byte{64}, iflaGRETOS, []byte{1}, iflaGREPMTUDisc, []byte{1}, iflaGREEncapType, ne16(2),
			iflaGREEncapFlags, ne16(1), iflaGREEncapSport, be16(5555), iflaGREEncapDport, be16(6080),
			iflaGREIgnoreDF, []byte{1}, iflaGREFwMark, ne32(7), 21, ne32(0) /* IFLA_GRE_ERSPAN_INDEX: skipped */),
			Tunnel{Link: 4, IFlags: GREKey | GRECsum, OFlags: GREKey, IKey: 1000, OKey: 2000, Local: a4, Remote: b4,
				TTL: 64, TOS: 1, PMTUDisc: true, EncapType: 2, EncapFlags: 1, EncapSport: 5555, EncapDport: 6080,
				IgnoreDF: true, FwMark: 7}},
		{"ip6gretap", attrs(iflaGRELocal, ip("2001:db8::1"), iflaGRERemote, ip("2001:db8::2"), iflaGRETTL, []byte{255},
			iflaGREEncapLimit, []byte{4}, iflaGREFlowInfo, be32(0x00012345), iflaGREFlags, ne32(0x1),
			iflaGRECollectMetadata, []byte{}),
			Tunnel{Local: a6, Remote: b6, TTL: 255, EncapLim: 4, FlowInfo: 0x12345, Flags: 1, CollectMD: true}},
		{"ipip", attrs(iflaIPTunLink, ne32(0), iflaIPTunLocal, ip("192.0.2.1"), iflaIPTunRemote, ip("0.0.0.0"),
			iflaIPTunTTL, []byte{0}, iflaIPTunTOS, []byte{0}, iflaIPTunProto, []byte{4}, iflaIPTunPMTUDisc, []byte{1},
			iflaIPTunFwMark, ne32(0)),
			Tunnel{Local: a4, Remote: netip.IPv4Unspecified(), Proto: 4, PMTUDisc: true}},
		{"sit", attrs(iflaIPTunLocal, ip("192.0.2.1"), iflaIPTunRemote, ip("192.0.2.2"), iflaIPTunFlags, ne16(1),
			iflaIPTunProto, []byte{41}, iflaIPTun6RDPrefix, ip("2002::"), iflaIPTun6RDRelayPrefix, ip("0.0.0.0"),
			iflaIPTun6RDPrefixLen, ne16(16), iflaIPTun6RDRelayPrefixLen, ne16(0)),
			Tunnel{Local: a4, Remote: b4, Flags: 1, Proto: 41, SixRDPrefix: netip.MustParsePrefix("2002::/16"),
				SixRDRelayPrefix: netip.MustParsePrefix("0.0.0.0/0")}},
		{"ip6tnl", attrs(iflaIPTunLocal, ip("2001:db8::1"), iflaIPTunRemote, ip("2001:db8::2"), iflaIPTunTTL, []byte{64},
			iflaIPTunEncapLimit, []byte{4}, iflaIPTunFlowInfo, be32(0), iflaIPTunFlags, ne32(0x30000),
			iflaIPTunProto, []byte{0}, iflaIPTunCollectMetadata, []byte{}),
			Tunnel{Local: a6, Remote: b6, TTL: 64, EncapLim: 4, Flags: 0x30000, CollectMD: true}},
	}
	for _, c := range cases {
		var l Link
		if err := DecodeLink(handmadeLink(9, "t0", c.kind, c.data), &l); err != nil {
			t.Errorf("%s: %v", c.kind, err)
			continue
		}
		if l.Kind != c.kind || l.Tunnel == nil || *l.Tunnel != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.kind, l.Tunnel, c.want)
		}
	}
}

func TestDecodeOtherKindsAndEdges(t *testing.T) {
	// Any other kind keeps its kind string, even with data we do not read.
	var l Link
	if err := DecodeLink(handmadeLink(3, "wg0", "wireguard-ng", attrs(1, []byte{1, 2, 3})), &l); err != nil || l.Kind != "wireguard-ng" || l.Tunnel != nil {
		t.Errorf("unknown kind: %+v %v", l, err)
	}
	// A tunnel kind without IFLA_INFO_DATA has no Tunnel.
	if err := DecodeLink(handmadeLink(3, "vti0", "vti", nil), &l); err != nil || l.Tunnel != nil {
		t.Errorf("vti without data: %+v %v", l, err)
	}
	// A reused Link loses what the new message does not say.
	_ = DecodeLink(handmadeLink(4, "gre0", "gre", attrs(iflaGREIKey, be32(1))), &l)
	if err := DecodeLink(handmadeLink(5, "x", "", nil), &l); err != nil || l.Kind != "" || l.Tunnel != nil || l.Index != 5 || l.LinkNetNSID != -1 {
		t.Errorf("reused link kept old values: %+v %v", l, err)
	}
}

func TestDecodeStatsSizes(t *testing.T) {
	full := make([]byte, 26*8) // one field more than today's struct
	for i := range 26 {
		binary.NativeEndian.PutUint64(full[i*8:], uint64(i+1))
	}
	for _, size := range []int{0, 7, 8, 184, 192, 200, 208} {
		var l Link
		msg := handmadeLink(2, "e0", "", nil, nl.AppendAttr(nil, iflaStats64, full[:size]))
		if err := DecodeLink(msg, &l); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		f := l.Stats.fields()
		for i, p := range f {
			want := uint64(0)
			if (i+1)*8 <= size {
				want = uint64(i + 1)
			}
			if *p != want {
				t.Errorf("size %d: %s = %d, want %d", size, statsFieldNames[i], *p, want)
			}
		}
		if l.StatsSource != Stats64Bit {
			t.Errorf("size %d: source %v", size, l.StatsSource)
		}
	}
	// 32-bit only when 64-bit is absent, whatever the order.
	s32 := make([]byte, 24*4)
	for i := range 24 {
		binary.NativeEndian.PutUint32(s32[i*4:], 0xfffffff0+uint32(i%8))
	}
	var l Link
	if err := DecodeLink(handmadeLink(2, "e0", "", nil, nl.AppendAttr(nil, iflaStats, s32)), &l); err != nil ||
		l.StatsSource != Stats32Bit || l.Stats.RxPackets != 0xfffffff0 || l.Stats.RxNoHandler != 0xfffffff7 || l.Stats.RxOtherhostDropped != 0 {
		t.Errorf("32-bit: %+v %v", l, err)
	}
	both := append(nl.AppendAttr(nil, iflaStats64, full[:200]), nl.AppendAttr(nil, iflaStats, s32)...)
	if err := DecodeLink(handmadeLink(2, "e0", "", nil, both), &l); err != nil || l.StatsSource != Stats64Bit || l.Stats.RxPackets != 1 {
		t.Errorf("64 then 32: %+v %v", l, err)
	}
	if err := DecodeLink(handmadeLink(2, "e0", "", nil), &l); err != nil || l.StatsSource != StatsNone || l.Stats != (Stats64{}) {
		t.Errorf("no stats: %+v %v", l, err)
	}
}

func TestDecodeErrorsNameTheAttribute(t *testing.T) {
	cases := []struct {
		name string
		msg  []byte
		want string
	}{
		{"short header", make([]byte, 15), "shorter than struct ifinfomsg"},
		{"bad vti address", handmadeLink(8, "vti0", "vti", attrs(iflaVTILocal, []byte{1, 2, 3, 4, 5})), "attribute type 4 at offset 0: address of 5 bytes"},
		{"short mtu", handmadeLink(8, "x", "", nil, nl.AppendAttr(nil, iflaMTU, []byte{1})), "attribute type 4"},
		{"attr overruns", append(handmadeLink(8, "x", "", nil), 200, 0, 4, 0), "overruns"},
		{"bad 6rd prefix length", handmadeLink(8, "sit0", "sit", attrs(iflaIPTun6RDPrefix, ip("2002::"), iflaIPTun6RDPrefixLen, ne16(200))), "6rd prefix length 200"},
		{"linkinfo garbage", handmadeLink(8, "x", "", nil, nl.AppendAttr(nil, iflaLinkinfo, []byte{9, 0, 1, 0})), "IFLA_LINKINFO"},
	}
	for _, c := range cases {
		var l Link
		err := DecodeLink(c.msg, &l)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a *DecodeError containing %q", c.name, err, c.want)
		}
	}
}

// BenchmarkDecodeLink is the decoder's share of a full dump: one veth
// RTM_NEWLINK (1.5 KB, 6.18) decoded into a reused Link.
func BenchmarkDecodeLink(b *testing.B) {
	requireLittleEndian(b)
	msg := readFixture(b, "rtm_newlink-veth-linux6.18.bin")
	var l Link
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := DecodeLink(msg, &l); err != nil {
			b.Fatal(err)
		}
	}
}
