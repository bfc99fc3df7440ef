//go:build linux

package vtistat

// Tests that need tunnel drivers this host lacks. They run inside the VM
// rig's kernels (5.10, 6.1, 6.12) and skip elsewhere with the reason:
//
//	go run ./internal/vmtest/cmd/vmtest -run 'TestVM' ./vtistat/
//
// TestVMTunnelParams saves the RTM_NEWLINK message of every tunnel it
// creates; to refresh the fixtures TestDecodeVMFixtures reads:
//
//	go run ./internal/vmtest/cmd/vmtest -run TestVMTunnelParams -captures vtistat/testdata/vm ./vtistat/

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/procnet"
)

func TestVMTunnelParams(t *testing.T) {
	vmtest.RequireRoot(t)
	var mods []string
	for _, c := range tunnelCases {
		mods = append(mods, c.module)
	}
	vmtest.RequireModules(t, append(mods, "veth")...)
	ns := testns.New(t)
	ns.IP(t, "link", "add", "u0", "type", "veth", "peer", "name", "u1")
	ns.IP(t, "addr", "add", "192.0.2.1/24", "dev", "u0")
	ns.IP(t, "link", "set", "u0", "up")
	ns.IP(t, "link", "set", "u1", "up")
	for _, c := range tunnelCases {
		args := append([]string{"link", "add", c.name, "type", c.kind}, c.args...)
		for i := range args {
			if args[i] == "UNDERLAY" {
				args[i] = "u0"
			}
		}
		ns.IP(t, args...)
	}

	cl := dialNS(t, ns)
	ctx := context.Background()
	var s Snapshot
	if err := cl.Snapshot(ctx, &s); err != nil {
		t.Fatal(err)
	}
	u0 := s.ByName("u0")
	if u0 == nil {
		t.Fatal("no u0")
	}
	for i := range tunnelCases {
		c := &tunnelCases[i]
		t.Run(c.name, func(t *testing.T) {
			l := s.ByName(c.name)
			if l == nil {
				t.Fatalf("%s not listed", c.name)
			}
			c.checkTunnel(t, l)
			if want := uint32(0); c.bound {
				if l.Tunnel.Link != uint32(u0.Index) {
					t.Errorf("Link %d, want u0's ifindex %d", l.Tunnel.Link, u0.Index)
				}
			} else if l.Tunnel.Link != want {
				t.Errorf("Link %d, want unbound", l.Tunnel.Link)
			}
			// Selecting the kind gives this link among its kind only.
			ls, err := readLinks(ctx, cl, ByKind(c.kind))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, k := range ls {
				found = found || k.Name == c.name
				if k.Kind != c.kind {
					t.Errorf("ByKind(%q) returned %s of kind %q", c.kind, k.Name, k.Kind)
				}
			}
			if !found {
				t.Errorf("ByKind(%q) misses %s", c.kind, c.name)
			}
		})
	}
	// The drivers' fallback devices (gre0, ip_vti0, sit0, ip6tnl0 …) decode too.
	for _, l := range s.Links {
		if hasTunnelParams(l.Kind) && l.Tunnel == nil {
			t.Errorf("%s of kind %s has no parameters", l.Name, l.Kind)
		}
	}

	raw, _ := captureLinks(t, ns.Name)
	for _, c := range tunnelCases {
		vmtest.SaveArtifact(t, "rtm_newlink-"+c.name+".bin", raw[c.name])
	}
	t.Logf("kernel %s: %d tunnel kinds read back", vmtest.Kernel(), len(tunnelCases))
}

// TestVMVTICounters produces the three VTI transmit failures with real
// packets and reads each back exactly, in its own field:
//
//   - no IPsec policy for the tunnel's mark: tx_carrier_errors (vti_state_check fails)
//   - an SA whose output sequence number is exhausted: tx_aborted_errors
//     (xfrm_output returns -EOVERFLOW through dst_output)
//   - the route to the tunnel's remote points into the tunnel: collisions
//
// and checks that /proc/net/dev's carrier column holds carrier + aborted.
func TestVMVTICounters(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "ip_vti", "xfrm_user", "esp4", "authenc", "cbc", "aes_generic", "sha256_generic", "hmac", "veth")
	ns := quietNS(t)
	ns.IP(t, "link", "add", "u0", "type", "veth", "peer", "name", "u1")
	ns.IP(t, "addr", "add", "192.0.2.1/24", "dev", "u0")
	ns.IP(t, "link", "set", "u0", "up")
	ns.IP(t, "link", "set", "u1", "up")
	ns.IP(t, "link", "add", "vti0", "type", "vti", "local", "192.0.2.1", "remote", "192.0.2.2", "ikey", "42", "okey", "42")
	ns.IP(t, "addr", "add", "198.51.100.1", "peer", "198.51.100.2", "dev", "vti0")
	ns.IP(t, "link", "set", "vti0", "up")

	cl := dialNS(t, ns)
	ctx := context.Background()
	var before, after Snapshot
	var procBefore, procAfter []procnet.DevStats
	read := func(s *Snapshot, p *[]procnet.DevStats) {
		t.Helper()
		if err := cl.Snapshot(ctx, s, ByName("vti0")); err != nil {
			t.Fatal(err)
		}
		devs, err := procnet.ParseNetDev(strings.NewReader(ns.Run(t, "cat", "/proc/net/dev")))
		if err != nil {
			t.Fatal(err)
		}
		*p = devs
	}
	carrierColumn := func(devs []procnet.DevStats) uint64 {
		for _, d := range devs {
			if d.Name == "vti0" {
				return uint64(d.TxCarrierSum)
			}
		}
		t.Fatal("vti0 not in /proc/net/dev")
		return 0
	}
	const n = 5
	phase := func(name string, want Stats64) {
		t.Helper()
		read(&before, &procBefore)
		sendUDPFrom(t, ns, "198.51.100.1", "198.51.100.2:9", n)
		read(&after, &procAfter)
		d := diff(&before, &after)
		if len(d.Links) != 1 || d.Links[0].Reset != NoReset {
			t.Fatalf("%s: delta %+v", name, d)
		}
		got := d.Links[0].Stats
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
		col := carrierColumn(procAfter) - carrierColumn(procBefore)
		if col != got.TxCarrierErrors+got.TxAbortedErrors {
			t.Errorf("%s: /proc/net/dev carrier column rose by %d, want carrier %d + aborted %d", name, col, got.TxCarrierErrors, got.TxAbortedErrors)
		}
		t.Logf("kernel %s, %s: %d packets -> tx_errors %d, tx_carrier_errors %d, tx_aborted_errors %d, collisions %d; /proc/net/dev carrier +%d",
			vmtest.Kernel(), name, n, got.TxErrors, got.TxCarrierErrors, got.TxAbortedErrors, got.Collisions, col)
	}

	// 1. No policy: the route into vti0 has no xfrm state.
	phase("no policy", Stats64{TxErrors: n, TxCarrierErrors: n})

	// 2. Policy and SA, but the SA's output sequence is exhausted.
	encKey, authKey := testKey(t, 16), testKey(t, 32)
	ns.IP(t, "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x2001", "mode", "tunnel",
		"mark", "42", "replay-oseq", "0xffffffff", "enc", "cbc(aes)", encKey, "auth-trunc", "hmac(sha256)", authKey, "128")
	ns.IP(t, "xfrm", "policy", "add", "dir", "out", "mark", "42", "tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel")
	phase("sequence exhausted", Stats64{TxErrors: n, TxAbortedErrors: n})

	// 3. Same SA and policy, but the remote is routed into the tunnel.
	ns.IP(t, "route", "add", "192.0.2.2/32", "dev", "vti0")
	phase("routing loop", Stats64{TxErrors: n, Collisions: n})
}

// testKey returns a fixed, obviously fake key of n bytes for test SAs.
func testKey(t *testing.T, n int) string {
	t.Helper()
	return "0x" + strings.Repeat("5a", n)
}

// sendUDPFrom sends n small datagrams from src to dst inside ns, from an
// unconnected socket (so local ICMP errors do not stop it).
func sendUDPFrom(t *testing.T, ns *testns.NS, src, dst string, n int) {
	t.Helper()
	var conn net.PacketConn
	inNS(t, ns, func() (err error) {
		conn, err = net.ListenPacket("udp4", src+":0")
		return err
	})
	defer conn.Close()
	to, err := net.ResolveUDPAddr("udp4", dst)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := conn.WriteTo([]byte("tunnelstat"), to); err != nil {
			t.Fatalf("datagram %d: %v", i+1, err)
		}
	}
}
