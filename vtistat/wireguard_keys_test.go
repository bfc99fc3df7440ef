package vtistat

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/wgtest"
)

// The wireguard test world, shared by the VM test that builds it in a
// kernel and the host tests that decode its captures: every key and
// address follows from an index, so a capture can be checked field by
// field on any machine.

// The keys of the test identities are package wgtest's, shared with
// explain's wireguard VM test.

func wgTestPrivate(i int) [32]byte   { return wgtest.Private(i) }
func wgTestPreshared(i int) [32]byte { return wgtest.Preshared(i) }
func wgTestPublic(t testing.TB, i int) WireGuardKey {
	t.Helper()
	return WireGuardKey(wgtest.Public(t, i))
}

// The big device: wgBigPeers peers of identities 1000+i, each with three
// allowed IPs, one of them (wgBigSplit) with wgBigExtra more, so that
// the kernel must split its allowed IPs over two messages of the dump.
const (
	wgBigPeers = 300
	wgBigSplit = 150
	wgBigExtra = 1500
	wgBigPort  = 51900
	wgBigMark  = 0x77
)

// wgBigAllowed returns the allowed IPs of big-device peer i, in the
// order the kernel lists them (wg_allowedips insertion order per peer).
func wgBigAllowed(i int) []netip.Prefix {
	ips := []netip.Prefix{
		netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64, byte(i >> 8), byte(i)}), 32),
		netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 65, byte(i >> 8), byte(i)}), 32),
		netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x64, 14: byte(i >> 8), 15: byte(i)}), 128),
	}
	if i == wgBigSplit {
		for k := range wgBigExtra {
			ips = append(ips, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(k >> 8), byte(k)}), 32))
		}
	}
	return ips
}

// wgBigEndpoint is big-device peer i's endpoint: IPv4 for even i, IPv6
// for odd.
func wgBigEndpoint(i int) netip.AddrPort {
	if i%2 == 0 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), uint16(40000+i))
	}
	return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), uint16(40000+i))
}

// wgBigWant is the big device as WireGuardDevice must read it (Index and
// Name aside): no handshake and no traffic, so every field is known.
func wgBigWant(t testing.TB) WireGuardDevice {
	d := WireGuardDevice{PublicKey: wgTestPublic(t, 999), ListenPort: wgBigPort, FwMark: wgBigMark}
	for i := range wgBigPeers {
		ka := 0
		if i%3 == 0 {
			ka = 25
		}
		d.Peers = append(d.Peers, WireGuardPeer{
			PublicKey: wgTestPublic(t, 1000+i), Endpoint: wgBigEndpoint(i), AllowedIPs: wgBigAllowed(i),
			PersistentKeepalive: time.Duration(ka) * time.Second, ProtocolVersion: 1,
		})
	}
	return d
}

// auditKeys fails if any secret appears in any blob, raw or in the text
// forms a program could print (base64, hex).
func auditKeys(t *testing.T, what string, secrets [][32]byte, blobs ...[]byte) {
	t.Helper()
	for _, s := range secrets {
		forms := [][]byte{s[:], []byte(WireGuardKey(s).String()), []byte(fmt.Sprintf("%x", s[:])), []byte(fmt.Sprint(s[:8]))}
		for _, b := range blobs {
			for _, f := range forms {
				if bytes.Contains(b, f) {
					t.Errorf("%s: a secret key (%x…) appears in the output", what, s[:4])
				}
			}
		}
	}
}

// wgDeviceBytes is every byte of d's memory a key could hide in: the key
// arrays and every string, laid end to end.
func wgDeviceBytes(d *WireGuardDevice) []byte {
	b := append([]byte(d.Name), d.PublicKey[:]...)
	for _, p := range d.Peers {
		b = append(b, p.PublicKey[:]...)
		b = append(b, p.Endpoint.String()...)
		for _, a := range p.AllowedIPs {
			b = append(b, a.String()...)
		}
	}
	return b
}

func equalPrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// diffWireGuard describes the first difference between got and want, or
// returns "".
func diffWireGuard(got, want *WireGuardDevice) string {
	if got.Index != want.Index || got.Name != want.Name || got.PublicKey != want.PublicKey ||
		got.ListenPort != want.ListenPort || got.FwMark != want.FwMark {
		return fmt.Sprintf("device %d %q %v port %d mark %d, want %d %q %v port %d mark %d",
			got.Index, got.Name, got.PublicKey, got.ListenPort, got.FwMark, want.Index, want.Name, want.PublicKey, want.ListenPort, want.FwMark)
	}
	if len(got.Peers) != len(want.Peers) {
		return fmt.Sprintf("%d peers, want %d", len(got.Peers), len(want.Peers))
	}
	for i := range got.Peers {
		g, w := &got.Peers[i], &want.Peers[i]
		if g.PublicKey != w.PublicKey || g.Endpoint != w.Endpoint || !g.LastHandshake.Equal(w.LastHandshake) ||
			g.RxBytes != w.RxBytes || g.TxBytes != w.TxBytes || g.PersistentKeepalive != w.PersistentKeepalive ||
			g.ProtocolVersion != w.ProtocolVersion || !equalPrefixes(g.AllowedIPs, w.AllowedIPs) {
			var ips strings.Builder
			fmt.Fprintf(&ips, "%d allowed IPs (want %d)", len(g.AllowedIPs), len(w.AllowedIPs))
			return fmt.Sprintf("peer %d:\n got %v %v %v rx %d tx %d ka %v v%d %s\nwant %v %v %v ka %v v%d",
				i, g.PublicKey, g.Endpoint, g.LastHandshake, g.RxBytes, g.TxBytes, g.PersistentKeepalive, g.ProtocolVersion, ips.String(),
				w.PublicKey, w.Endpoint, w.LastHandshake, w.PersistentKeepalive, w.ProtocolVersion)
		}
	}
	return ""
}
