package vtistat

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
)

// Hand-made WG_CMD_GET_DEVICE messages, laid out as netlink.c's
// wg_get_device_dump and get_peer lay them out.

func wgU16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func wgU64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// wgPeerNest encodes p; full=false is a continuation (public key and
// allowed IPs only), as the kernel sends a peer split over two messages.
func wgPeerNest(p *WireGuardPeer, psk [32]byte, ips []netip.Prefix, full bool) []byte {
	var b []byte
	b = nl.AppendAttr(b, wgPeerPublicKey, p.PublicKey[:])
	if full {
		b = nl.AppendAttr(b, wgPeerPresharedKey, psk[:])
		var ts []byte
		if !p.LastHandshake.IsZero() {
			ts = append(wgU64(uint64(p.LastHandshake.Unix())), wgU64(uint64(p.LastHandshake.Nanosecond()))...)
		} else {
			ts = make([]byte, 16)
		}
		b = nl.AppendAttr(b, wgPeerLastHS, ts)
		b = nl.AppendAttr(b, wgPeerKeepalive, wgU16(uint16(p.PersistentKeepalive/time.Second)))
		b = nl.AppendAttr(b, 0, nil) // the u64 alignment pad (WGPEER_A_UNSPEC)
		b = nl.AppendAttr(b, wgPeerTxBytes, wgU64(p.TxBytes))
		b = nl.AppendAttr(b, wgPeerRxBytes, wgU64(p.RxBytes))
		b = nl.AppendUint32Attr(b, wgPeerProtocol, p.ProtocolVersion)
		if p.Endpoint.IsValid() {
			b = nl.AppendAttr(b, wgPeerEndpoint, wgSockaddr(p.Endpoint))
		}
	}
	if len(ips) > 0 {
		var list []byte
		for _, pfx := range ips {
			fam := uint16(afInet)
			if pfx.Addr().Is6() {
				fam = afInet6
			}
			var e []byte
			e = nl.AppendAttr(e, wgAllowedIPCIDR, []byte{byte(pfx.Bits())})
			e = nl.AppendAttr(e, wgAllowedIPFamily, wgU16(fam))
			e = nl.AppendAttr(e, wgAllowedIPAddr, pfx.Addr().AsSlice())
			list = nl.AppendAttr(list, 1<<15, e)
		}
		b = nl.AppendAttr(b, wgPeerAllowedIPs|1<<15, list)
	}
	return b
}

func wgSockaddr(ap netip.AddrPort) []byte {
	if ap.Addr().Is4() {
		b := make([]byte, 16)
		binary.NativeEndian.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], ap.Port())
		a := ap.Addr().As4()
		copy(b[4:], a[:])
		return b
	}
	b := make([]byte, 28)
	binary.NativeEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], ap.Port())
	a := ap.Addr().As16()
	copy(b[8:], a[:])
	return b
}

// wgMsg is one message: device attributes when first, then the peers.
func wgMsg(d *WireGuardDevice, priv [32]byte, first bool, peers ...[]byte) []byte {
	b := nl.AppendGenlHeader(nil, wgCmdGetDev, wgGenlVersion)
	if first {
		b = nl.AppendAttr(b, wgDeviceListenPort, wgU16(d.ListenPort))
		b = nl.AppendUint32Attr(b, wgDeviceFwMark, d.FwMark)
		b = nl.AppendUint32Attr(b, wgDeviceIfIndex, uint32(d.Index))
		b = nl.AppendStringAttr(b, wgDeviceIfName, d.Name)
		if !d.PublicKey.IsZero() {
			b = nl.AppendAttr(b, wgDevicePrivateKey, priv[:])
			b = nl.AppendAttr(b, wgDevicePublicKey, d.PublicKey[:])
		}
	}
	if len(peers) > 0 {
		var list []byte
		for _, p := range peers {
			list = nl.AppendAttr(list, 1<<15, p) // each peer a nest of type 0
		}
		b = nl.AppendAttr(b, wgDevicePeers|1<<15, list)
	}
	return b
}

// wgSample is a device of three peers, the second one's allowed IPs split
// over the first and second messages, and its three messages.
func wgSample(t testing.TB) (WireGuardDevice, [][]byte, [][32]byte) {
	priv, psk := wgTestPrivate(1), wgTestPreshared(1)
	d := WireGuardDevice{Index: 7, Name: "wg0", PublicKey: wgTestPublic(t, 1), ListenPort: 51820, FwMark: 0x42}
	d.Peers = []WireGuardPeer{
		{PublicKey: wgTestPublic(t, 2), Endpoint: netip.MustParseAddrPort("198.51.100.2:51821"),
			AllowedIPs:    []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32")},
			LastHandshake: time.Unix(1764000000, 123456789), RxBytes: 1234, TxBytes: 5678, PersistentKeepalive: 25 * time.Second, ProtocolVersion: 1},
		{PublicKey: wgTestPublic(t, 3), Endpoint: netip.MustParseAddrPort("[2001:db8::3]:51822"),
			AllowedIPs:      []netip.Prefix{netip.MustParsePrefix("10.9.0.3/32"), netip.MustParsePrefix("fd00::/64"), netip.MustParsePrefix("0.0.0.0/0")},
			ProtocolVersion: 1},
		{PublicKey: wgTestPublic(t, 4), AllowedIPs: []netip.Prefix{}, ProtocolVersion: 1},
	}
	p := d.Peers
	msgs := [][]byte{
		wgMsg(&d, priv, true, wgPeerNest(&p[0], psk, p[0].AllowedIPs, true), wgPeerNest(&p[1], psk, p[1].AllowedIPs[:1], true)),
		wgMsg(&d, priv, false, wgPeerNest(&p[1], psk, p[1].AllowedIPs[1:2], false)),
		wgMsg(&d, priv, false, wgPeerNest(&p[1], psk, p[1].AllowedIPs[2:], false), wgPeerNest(&p[2], psk, nil, true)),
	}
	return d, msgs, [][32]byte{priv, psk}
}

// decodeWG decodes the messages of one dump into dst, as the client does.
func decodeWG(dst *WireGuardDevice, msgs [][]byte) error {
	d := wgDecoder{dst: dst}
	d.reset()
	for _, m := range msgs {
		if err := d.decode(m); err != nil {
			dst.Peers = dst.Peers[:0]
			return err
		}
	}
	d.finish()
	return nil
}

func TestDecodeWireGuard(t *testing.T) {
	want, msgs, secrets := wgSample(t)
	var got WireGuardDevice
	if err := decodeWG(&got, msgs); err != nil {
		t.Fatal(err)
	}
	if msg := diffWireGuard(&got, &want); msg != "" {
		t.Fatal(msg)
	}
	// The keys were zeroed in the messages, and nothing else changed.
	_, fresh, _ := wgSample(t)
	for i := range msgs {
		auditKeys(t, "decoded message", secrets, msgs[i])
		if len(msgs[i]) != len(fresh[i]) {
			t.Fatal("message length changed")
		}
		scrubWireGuard(fresh[i])
		if !bytes.Equal(msgs[i], fresh[i]) {
			t.Errorf("message %d: decoding changed more than the key bytes", i)
		}
	}
	js, _ := json.Marshal(&got)
	auditKeys(t, "JSON", secrets, js)
	if !strings.Contains(string(js), `"public_key":"`+want.Peers[0].PublicKey.String()+`"`) ||
		!strings.Contains(string(js), `"endpoint":"[2001:db8::3]:51822"`) {
		t.Errorf("JSON %s", js)
	}
}

func TestDecodeWireGuardReuse(t *testing.T) {
	_, msgs, _ := wgSample(t)
	var d WireGuardDevice
	if err := decodeWG(&d, msgs); err != nil {
		t.Fatal(err)
	}
	_, msgs2, _ := wgSample(t)
	allocs := testing.AllocsPerRun(20, func() {
		for i := range msgs {
			copy(msgs[i], msgs2[i]) // the keys again, as a new dump brings them
		}
		if err := decodeWG(&d, msgs); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per decode into a reused device", allocs)
	}
	// A smaller device in the same value leaves nothing of the larger.
	small := WireGuardDevice{Index: 9, Name: "wg9"}
	if err := decodeWG(&d, [][]byte{wgMsg(&small, [32]byte{}, true)}); err != nil {
		t.Fatal(err)
	}
	if d.Index != 9 || d.Name != "wg9" || !d.PublicKey.IsZero() || d.ListenPort != 0 || len(d.Peers) != 0 {
		t.Errorf("%+v", d)
	}
}

func TestDecodeWireGuardErrors(t *testing.T) {
	want, msgs, _ := wgSample(t)
	p := want.Peers[0]
	short := func(typ uint16, n int) []byte {
		return nl.AppendAttr(nl.AppendGenlHeader(nil, wgCmdGetDev, 1), typ, make([]byte, n))
	}
	peerWith := func(extra []byte) []byte {
		return wgMsg(&want, [32]byte{}, false, append(nl.AppendAttr(nil, wgPeerPublicKey, p.PublicKey[:]), extra...))
	}
	ip := func(attrs ...[]byte) []byte {
		return nl.AppendAttr(nil, wgPeerAllowedIPs|1<<15, nl.AppendAttr(nil, 1<<15, slices.Concat(attrs...)))
	}
	for name, c := range map[string]struct {
		msg  []byte
		want string
	}{
		"short":            {[]byte{0, 1}, "shorter than struct genlmsghdr"},
		"command":          {nl.AppendGenlHeader(nil, 1, 1), "want WG_CMD_GET_DEVICE"},
		"device key":       {short(wgDevicePublicKey, 31), "WGDEVICE_A_PUBLIC_KEY of 31 bytes"},
		"ifindex":          {short(wgDeviceIfIndex, 2), "want 4 bytes"},
		"attr overrun":     {append(nl.AppendGenlHeader(nil, 0, 1), 200, 0, 1, 0), "overruns"},
		"peer without key": {wgMsg(&want, [32]byte{}, false, nl.AppendAttr(nil, wgPeerRxBytes, wgU64(1))), "without a 32-byte WGPEER_A_PUBLIC_KEY"},
		"handshake":        {peerWith(nl.AppendAttr(nil, wgPeerLastHS, make([]byte, 8))), "WGPEER_A_LAST_HANDSHAKE_TIME of 8 bytes"},
		"endpoint family":  {peerWith(nl.AppendAttr(nil, wgPeerEndpoint, wgU16(99))), "address family 99"},
		"endpoint short":   {peerWith(nl.AppendAttr(nil, wgPeerEndpoint, wgSockaddr(netip.MustParseAddrPort("[::1]:1"))[:20])), "sockaddr_in6 of 20 bytes"},
		"rx bytes":         {peerWith(nl.AppendAttr(nil, wgPeerRxBytes, make([]byte, 4))), "want 8 bytes"},
		"ip incomplete":    {peerWith(ip(nl.AppendAttr(nil, wgAllowedIPFamily, wgU16(afInet)))), "without family, address or CIDR"},
		"ip family":        {peerWith(ip(nl.AppendAttr(nil, wgAllowedIPFamily, wgU16(7)), nl.AppendAttr(nil, wgAllowedIPAddr, make([]byte, 4)), nl.AppendAttr(nil, wgAllowedIPCIDR, []byte{8}))), "address family 7"},
		"ip length":        {peerWith(ip(nl.AppendAttr(nil, wgAllowedIPFamily, wgU16(afInet6)), nl.AppendAttr(nil, wgAllowedIPAddr, make([]byte, 4)), nl.AppendAttr(nil, wgAllowedIPCIDR, []byte{8}))), "address of 4 bytes for family 10"},
		"ip cidr":          {peerWith(ip(nl.AppendAttr(nil, wgAllowedIPFamily, wgU16(afInet)), nl.AppendAttr(nil, wgAllowedIPAddr, make([]byte, 4)), nl.AppendAttr(nil, wgAllowedIPCIDR, []byte{33}))), "CIDR mask /33"},
		"ip nest overrun":  {peerWith(nl.AppendAttr(nil, wgPeerAllowedIPs|1<<15, []byte{50, 0, 0, 0})), "overruns"},
	} {
		t.Run(name, func(t *testing.T) {
			var d WireGuardDevice
			// As the second message of a dump, after a good first one.
			err := decodeWG(&d, [][]byte{msgs[0], c.msg})
			var de *DecodeError
			if !errors.As(err, &de) || de.Message != "WG_CMD_GET_DEVICE" || de.Index != 1 || de.Name != "wg0" {
				t.Fatalf("got %T %v", err, err)
			}
			var ae *nl.AttrError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an *nl.AttrError saying %q", err, c.want)
			}
			if ae.Offset < 0 || ae.Offset >= len(c.msg) {
				t.Errorf("offset %d outside the %d-byte message", ae.Offset, len(c.msg))
			}
			if len(d.Peers) != 0 {
				t.Errorf("%d peers kept after an error", len(d.Peers))
			}
		})
	}
}

// The offset an error names is the attribute's place in the message.
func TestDecodeWireGuardErrorOffset(t *testing.T) {
	want, _, _ := wgSample(t)
	p := want.Peers[0]
	bad := nl.AppendAttr(nil, wgPeerLastHS, make([]byte, 3))
	msg := wgMsg(&want, [32]byte{}, false, append(nl.AppendAttr(nil, wgPeerPublicKey, p.PublicKey[:]), bad...))
	var d WireGuardDevice
	err := decodeWG(&d, [][]byte{msg})
	var ae *nl.AttrError
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	if at := bytes.Index(msg, bad[:4]); ae.Offset != at || ae.Type != wgPeerLastHS {
		t.Errorf("error at offset %d type %d, the attribute is at %d: %v", ae.Offset, ae.Type, at, err)
	}
}

func TestWireGuardKeyText(t *testing.T) {
	k := wgTestPublic(t, 1)
	s := k.String()
	if len(s) != 44 || !strings.HasSuffix(s, "=") {
		t.Fatalf("%q", s)
	}
	var back WireGuardKey
	if err := back.UnmarshalText([]byte(s)); err != nil || back != k {
		t.Fatalf("round trip: %v %v", back, err)
	}
	txt, _ := k.MarshalText()
	if string(txt) != s {
		t.Fatalf("MarshalText %q, String %q", txt, s)
	}
	for _, bad := range []string{"", "AAAA", s[:43], s + "AAAA", strings.Repeat("A", 400), "!" + s[1:]} {
		if err := back.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// wg(8)'s documented example key pair form: 32 bytes of base64.
	if err := back.UnmarshalText([]byte("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=")); err != nil {
		t.Error(err)
	}
}

func TestTunnelKindsWireGuard(t *testing.T) {
	if !slices.Contains(TunnelKinds(), "wireguard") {
		t.Fatal("wireguard is not a tunnel kind")
	}
	if hasTunnelParams("wireguard") {
		t.Fatal("wireguard has no IFLA_INFO_DATA to decode")
	}
	for _, k := range paramKinds {
		if !slices.Contains(TunnelKinds(), k) {
			t.Errorf("%s missing from TunnelKinds", k)
		}
	}
	var l Link
	if err := DecodeLink(handmadeLink(5, "wg0", "wireguard", nil), &l); err != nil {
		t.Fatal(err)
	}
	if l.Kind != "wireguard" || l.Tunnel != nil {
		t.Errorf("%+v", l)
	}
}

// TestDecodeWireGuardFixtures decodes real dumps from the VM kernels
// (TestVMWireGuard), keys zeroed: wg0 after traffic, and wg1, 300 peers
// split over several messages, one peer's allowed IPs over two.
func TestDecodeWireGuardFixtures(t *testing.T) {
	requireLittleEndian(t)
	paths, _ := filepath.Glob(filepath.Join("testdata", "wg", "*", "wg_get_device-*.bin"))
	if len(paths) == 0 {
		t.Skip("no captures in testdata/wg (see TestVMWireGuard)")
	}
	for _, p := range paths {
		kernel := filepath.Base(filepath.Dir(p))
		dev := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "wg_get_device-"), ".bin")
		t.Run(kernel+"/"+dev, func(t *testing.T) {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// The saved bytes hold no private or preshared key.
			secrets := [][32]byte{wgTestPrivate(1), wgTestPrivate(2), wgTestPreshared(7), wgTestPrivate(999)}
			for i := range wgBigPeers {
				secrets = append(secrets, wgTestPreshared(1000+i))
			}
			auditKeys(t, p, secrets, raw)
			msgs := splitNetlink(t, raw)
			var d WireGuardDevice
			if err := decodeWG(&d, msgs); err != nil {
				t.Fatal(err)
			}
			switch dev {
			case "wg1":
				want := wgBigWant(t)
				want.Index, want.Name = d.Index, "wg1"
				if msg := diffWireGuard(&d, &want); msg != "" {
					t.Fatal(msg)
				}
				if len(msgs) < 2 {
					t.Fatalf("%d message(s)", len(msgs))
				}
				// The split peer's key heads a later message: a continuation.
				split := wgTestPublic(t, 1000+wgBigSplit)
				n := 0
				for _, m := range msgs {
					if bytes.Contains(m, split[:]) {
						n++
					}
				}
				if n < 2 {
					t.Errorf("peer %d appears in %d message(s): no continuation in this capture", wgBigSplit, n)
				}
			case "wg0":
				if d.Name != "wg0" || d.PublicKey != wgTestPublic(t, 1) || len(d.Peers) != 1 {
					t.Fatalf("%+v", d)
				}
				pe := d.Peers[0]
				if pe.PublicKey != wgTestPublic(t, 2) || pe.LastHandshake.IsZero() || pe.RxBytes == 0 || pe.TxBytes == 0 ||
					pe.Endpoint != netip.MustParseAddrPort("198.51.100.2:51821") || !equalPrefixes(pe.AllowedIPs, []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32")}) {
					t.Errorf("%+v", pe)
				}
			}
			t.Logf("%d messages, %d peers", len(msgs), len(d.Peers))
		})
	}
}

// splitNetlink splits a capture of whole netlink messages into their
// payloads.
func splitNetlink(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < nl.HeaderLen {
			t.Fatalf("%d trailing bytes", len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		if l < nl.HeaderLen || l > len(b) {
			t.Fatalf("message length %d of %d", l, len(b))
		}
		out = append(out, b[nl.HeaderLen:l])
		b = b[min(nl.Align(l), len(b)):]
	}
	return out
}
