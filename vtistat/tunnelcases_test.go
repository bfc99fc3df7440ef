package vtistat

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tunnelCase is one tunnel created with ip(8) in the VM tests, and what
// must be read back. The same table checks the RTM_NEWLINK messages those
// tests captured (testdata/vm), on any machine.
type tunnelCase struct {
	name   string   // link name, also the fixture name
	kind   string   // ip link ... type KIND
	module string   // kernel module providing the kind
	args   []string // after "type KIND"; "UNDERLAY" is the underlay link
	bound  bool     // Tunnel.Link must be the underlay's ifindex
	want   Tunnel   // Link is checked apart (ifindexes differ per run)
	check  func(t *testing.T, got *Tunnel)
}

var (
	u4a, u4b = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	u6a, u6b = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
)

var tunnelCases = []tunnelCase{
	{name: "vti1", kind: "vti", module: "ip_vti", bound: true,
		args: []string{"local", "192.0.2.1", "remote", "192.0.2.2", "ikey", "10", "okey", "20", "fwmark", "7", "dev", "UNDERLAY"},
		want: Tunnel{Local: u4a, Remote: u4b, IKey: 10, OKey: 20, FwMark: 7}},
	{name: "vti6x", kind: "vti6", module: "ip6_vti", bound: true,
		args: []string{"local", "2001:db8::1", "remote", "2001:db8::2", "ikey", "11", "okey", "0.0.0.21", "fwmark", "8", "dev", "UNDERLAY"},
		want: Tunnel{Local: u6a, Remote: u6b, IKey: 11, OKey: 21, FwMark: 8}},
	{name: "xfrm1", kind: "xfrm", module: "xfrm_interface", bound: true,
		args: []string{"dev", "UNDERLAY", "if_id", "42"},
		want: Tunnel{IfID: 42}},
	{name: "gre1", kind: "gre", module: "ip_gre", bound: true,
		args: []string{"local", "192.0.2.1", "remote", "192.0.2.2", "ikey", "1000", "okey", "2000", "ttl", "64", "tos", "0x10",
			"icsum", "oseq", "fwmark", "9", "dev", "UNDERLAY"},
		want: Tunnel{Local: u4a, Remote: u4b, IKey: 1000, OKey: 2000, IFlags: GREKey | GRECsum, OFlags: GREKey | GRESeq,
			TTL: 64, TOS: 0x10, PMTUDisc: true, FwMark: 9}},
	{name: "gretap1", kind: "gretap", module: "ip_gre",
		args: []string{"local", "192.0.2.1", "remote", "192.0.2.3", "key", "77", "ttl", "inherit", "nopmtudisc", "ignore-df"},
		want: Tunnel{Local: u4a, Remote: netip.MustParseAddr("192.0.2.3"), IKey: 77, OKey: 77, IFlags: GREKey, OFlags: GREKey, IgnoreDF: true}},
	{name: "ip6gre1", kind: "ip6gre", module: "ip6_gre", bound: true,
		args: []string{"local", "2001:db8::1", "remote", "2001:db8::2", "key", "5", "hoplimit", "32", "encaplimit", "3", "flowlabel", "0x1234", "dev", "UNDERLAY"},
		want: Tunnel{Local: u6a, Remote: u6b, IKey: 5, OKey: 5, IFlags: GREKey, OFlags: GREKey, TTL: 32, EncapLim: 3, FlowInfo: 0x1234,
			Flags: ip6CapXmit | ip6CapRcv, EncapFlags: encapFlagCsum6}},
	{name: "ip6gretap1", kind: "ip6gretap", module: "ip6_gre",
		args: []string{"local", "2001:db8::1", "remote", "2001:db8::3", "ikey", "6", "okey", "7"},
		want: Tunnel{Local: u6a, Remote: netip.MustParseAddr("2001:db8::3"), IKey: 6, OKey: 7, IFlags: GREKey, OFlags: GREKey, TTL: 64, EncapLim: 4,
			Flags: ip6CapXmit | ip6CapRcv, EncapFlags: encapFlagCsum6}},
	{name: "ipip1", kind: "ipip", module: "ipip", bound: true,
		args: []string{"local", "192.0.2.1", "remote", "192.0.2.4", "ttl", "100", "tos", "0x20", "dev", "UNDERLAY"},
		want: Tunnel{Local: u4a, Remote: netip.MustParseAddr("192.0.2.4"), TTL: 100, TOS: 0x20, PMTUDisc: true, Proto: 0 /* any: ipip or mpls */}},
	{name: "sit1", kind: "sit", module: "sit",
		args:  []string{"local", "192.0.2.1", "remote", "192.0.2.5", "ttl", "64", "mode", "ip6ip"},
		want:  Tunnel{Local: u4a, Remote: netip.MustParseAddr("192.0.2.5"), TTL: 64, PMTUDisc: true, Proto: 41},
		check: check6RD},
	{name: "isatap1", kind: "sit", module: "sit",
		args:  []string{"local", "192.0.2.1", "isatap"},
		want:  Tunnel{Local: u4a, Remote: netip.IPv4Unspecified(), PMTUDisc: true, Proto: 0 /* no mode: any */, Flags: 1 /* SIT_ISATAP */},
		check: check6RD},
	{name: "ip6tnl1", kind: "ip6tnl", module: "ip6_tunnel", bound: true,
		args: []string{"local", "2001:db8::1", "remote", "2001:db8::2", "mode", "any", "hoplimit", "40", "encaplimit", "5", "flowlabel", "0xabcde", "dev", "UNDERLAY"},
		want: Tunnel{Local: u6a, Remote: u6b, TTL: 40, EncapLim: 5, FlowInfo: 0xabcde, Flags: ip6CapXmit | ip6CapRcv, EncapFlags: encapFlagCsum6}},
}

// Values neither the test nor ip(8)'s options set, but the kernel and ip(8)
// add: ip6 tunnels report their capability bits (include/net/ip6_tunnel.h,
// set by ip6_tnl_get_cap: the local and remote addresses allow sending and
// receiving), and ip(8) asks ip6 tunnels for checksummed IPv6 encapsulation
// (TUNNEL_ENCAP_FLAG_CSUM6) by default.
const (
	ip6CapXmit     = 0x10000 // IP6_TNL_F_CAP_XMIT
	ip6CapRcv      = 0x20000 // IP6_TNL_F_CAP_RCV
	encapFlagCsum6 = 1 << 1  // TUNNEL_ENCAP_FLAG_CSUM6
)

// check6RD: the kernel fills the 6rd prefixes (defaults 2002::/16 and
// 0.0.0.0/0) when built with CONFIG_IPV6_SIT_6RD, as Debian's are.
func check6RD(t *testing.T, got *Tunnel) {
	t.Helper()
	if got.SixRDPrefix != netip.MustParsePrefix("2002::/16") || got.SixRDRelayPrefix != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("6rd prefixes %v relay %v, want the defaults 2002::/16 and 0.0.0.0/0", got.SixRDPrefix, got.SixRDRelayPrefix)
	}
}

// checkTunnel compares everything but Link and the 6rd prefixes, which
// case.check (if any) covers.
func (c *tunnelCase) checkTunnel(t *testing.T, l *Link) {
	t.Helper()
	if l.Kind != c.kind || l.Tunnel == nil {
		t.Fatalf("%s: kind %q tunnel %v, want kind %q with parameters", c.name, l.Kind, l.Tunnel, c.kind)
	}
	got := *l.Tunnel
	got.Link = 0
	got.SixRDPrefix, got.SixRDRelayPrefix = netip.Prefix{}, netip.Prefix{}
	if got != c.want {
		t.Errorf("%s (%s):\n got %+v\nwant %+v", c.name, c.kind, got, c.want)
	}
	if c.check != nil {
		c.check(t, l.Tunnel)
	}
}

// TestDecodeVMFixtures decodes the RTM_NEWLINK messages that
// TestVMTunnelParams captured in the VM kernels (see that test for how to
// refresh them).
func TestDecodeVMFixtures(t *testing.T) {
	requireLittleEndian(t)
	paths, _ := filepath.Glob(filepath.Join("testdata", "vm", "*", "TestVMTunnelParams", "rtm_newlink-*.bin"))
	if len(paths) == 0 {
		t.Skip("no VM captures in testdata/vm (see TestVMTunnelParams)")
	}
	seen := map[string]int{}
	for _, p := range paths {
		kernel := filepath.Base(filepath.Dir(filepath.Dir(p)))
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "rtm_newlink-"), ".bin")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var l Link
		if err := DecodeLink(b, &l); err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for i := range tunnelCases {
			if c := &tunnelCases[i]; c.name == name {
				t.Run(kernel+"/"+name, func(t *testing.T) {
					c.checkTunnel(t, &l)
					if c.bound != (l.Tunnel.Link != 0) {
						t.Errorf("bound %v but Link %d", c.bound, l.Tunnel.Link)
					}
				})
				seen[kernel]++
			}
		}
	}
	for k, n := range seen {
		if n != len(tunnelCases) {
			t.Errorf("kernel %s: %d of %d tunnel captures", k, n, len(tunnelCases))
		}
	}
}
