//go:build linux

package explain_test

// The VM half of the soundness scenarios (vm_soundness_expect_test.go):
// each builds its tunnels between two fresh namespaces, breaks them, reads
// A, sends a known number of packets from this process inside A or B,
// reads A again, saves both readings, and checks the kernel facts and the
// soundness of Explain's reports. Run them with
//
//	go run ./internal/vmtest/cmd/vmtest -parallel 1 -run '^TestVMSound' -v ./explain/

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// Addresses of the soundness scenarios beyond the rig's.
const (
	xfrmi6A = "2001:db8:2::1" // IPv6 on A's xfrm1 (xfrmi-mixed)
	xfrmi6B = "2001:db8:2::2" // routed into A's xfrm1 by its /64
)

// newBareRig is newRig without a tunnel: two namespaces joined by veth,
// IPv6 off, readers open, ESP keys chosen. The scenario builds its tunnels
// and then calls r.ready.
func newBareRig(t *testing.T) (*rig, *testns.Pair) {
	t.Helper()
	pair := testns.NewPair(t)
	r := &rig{t: t}
	r.a = r.newSide("A", pair.A, pair.AAddr.String(), pair.BAddr.String())
	r.b = r.newSide("B", pair.B, pair.BAddr.String(), pair.AAddr.String())
	r.encAB, r.authAB, r.encBA, r.authBA = r.key(), r.key(), r.key(), r.key()
	return r, pair
}

// ready opens the sinks and checks that one datagram passes each way
// through the tunnel (inner addresses already set on the sides).
func (r *rig) ready() {
	r.t.Helper()
	for _, s := range []*side{r.a, r.b} {
		s.sink = r.listen(s)
	}
	r.send(r.a, r.a.peerInner, 1, sendOpts{})
	r.expectReceived(r.b, 1)
	r.send(r.b, r.b.peerInner, 1, sendOpts{})
	r.expectReceived(r.a, 1)
}

// vtiNamed is vtiLines for a VTI of another name.
func (s *side) vtiNamed(name string) []string {
	return []string{
		fmt.Sprintf("link add %s type vti local %s remote %s ikey %s okey %s", name, s.underlay, s.peerUnderlay, tunnelKey, tunnelKey),
		fmt.Sprintf("addr add %s peer %s dev %s", s.inner, s.peerInner, name),
		"link set " + name + " up",
	}
}

// buildVTI builds the rig's VTI pair and ESP SAs under another name.
func (r *rig) buildVTI(name string) {
	for _, s := range []*side{r.a, r.b} {
		s.inner, s.peerInner = vtiInnerA, vtiInnerB
		if s == r.b {
			s.inner, s.peerInner = vtiInnerB, vtiInnerA
		}
		r.batch(s, s.vtiNamed(name)...)
		r.batch(s, r.saLine(r.a.underlay, r.b.underlay, spiAtoB, r.encAB, r.authAB, ""),
			r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA, ""),
			s.policyLine("out", ""), s.policyLine("in", ""))
	}
}

func vethOf(s *side) string {
	if s.name == "A" {
		return "veth-a"
	}
	return "veth-b"
}

// xfrmiSA is an ESP tunnel-mode SA bound to the xfrm interfaces' if_id
// (no mark: xfrm interfaces select by if_id).
func (r *rig) xfrmiSA(src, dst, spi, enc, auth string) string {
	return fmt.Sprintf("xfrm state add src %s dst %s proto esp spi %s mode tunnel if_id %d replay-window 32 enc cbc(aes) %s auth-trunc hmac(sha256) %s 128",
		src, dst, spi, xfrmiIfID, enc, auth)
}

// buildXfrmi builds xfrm1 in each namespace (if_id 42, on the veth), ESP
// SAs both ways with that if_id and one IPv4 policy per direction,
// selector any.
func (r *rig) buildXfrmi() {
	for _, s := range []*side{r.a, r.b} {
		s.inner, s.peerInner = vtiInnerA, vtiInnerB
		if s == r.b {
			s.inner, s.peerInner = vtiInnerB, vtiInnerA
		}
		pol := func(dir, src, dst string) string {
			return fmt.Sprintf("xfrm policy add dir %s src 0.0.0.0/0 dst 0.0.0.0/0 if_id %d tmpl src %s dst %s proto esp mode tunnel", dir, xfrmiIfID, src, dst)
		}
		r.batch(s,
			fmt.Sprintf("link add %s type xfrm dev %s if_id %d", xfrmiName, vethOf(s), xfrmiIfID),
			fmt.Sprintf("addr add %s peer %s dev %s", s.inner, s.peerInner, xfrmiName),
			"link set "+xfrmiName+" up",
			r.xfrmiSA(r.a.underlay, r.b.underlay, spiAtoB, r.encAB, r.authAB),
			r.xfrmiSA(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA),
			pol("out", s.underlay, s.peerUnderlay), pol("in", s.peerUnderlay, s.underlay))
	}
}

func (r *rig) deleteXfrmiSA(src, dst, spi string) string {
	return fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %s", src, dst, spi)
}

// send6 sends n UDP datagrams over IPv6 from inside s to dst:udpPort.
func (r *rig) send6(s *side, dst string, n int) {
	r.t.Helper()
	var c *net.UDPConn
	if err := s.handle.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp6", nil)
		return err
	}); err != nil {
		r.t.Fatalf("%s: udp6 socket: %v", s.name, err)
	}
	defer c.Close()
	to := &net.UDPAddr{IP: net.ParseIP(dst), Port: udpPort}
	for i := range n {
		if _, err := c.WriteToUDP(make([]byte, 32), to); err != nil {
			r.t.Fatalf("%s: IPv6 packet %d to %s: %v", s.name, i+1, dst, err)
		}
	}
}

// enableIPv6 turns IPv6 back on for one link of s (newSide turned it off
// everywhere).
func (r *rig) enableIPv6(s *side, dev string) {
	r.t.Helper()
	r.sysctl(s, "/proc/sys/net/ipv6/conf/"+dev+"/disable_ipv6", "0")
}

// ip6Tunnel is an IPv6 tunnel carrying IPv4: ip6tnl1 (ipip6, outer next
// header IPIP) or ip6gre1 (outer next header GRE), both without the
// encapsulation limit option.
type ip6Tunnel struct {
	name, typ string
	proto     int // the outer packets' next header
}

var (
	tunIP6Tnl = ip6Tunnel{name: ip6tnl, typ: "ip6tnl mode ipip6", proto: 4}
	tunIP6GRE = ip6Tunnel{name: ip6greName, typ: "ip6gre", proto: 47}
)

// buildIP6Tnl turns IPv6 on on the veths (addresses 2001:db8:1::1 and ::2
// again, no DAD) and builds the tunnel in each namespace, inner addresses
// TEST-NET-1.
func (r *rig) buildIP6Tnl(pair *testns.Pair, tun ip6Tunnel) {
	for _, s := range []*side{r.a, r.b} {
		s.inner, s.peerInner = greInnerA, greInnerB
		local, remote := pair.A6.String(), pair.B6.String()
		if s == r.b {
			s.inner, s.peerInner = greInnerB, greInnerA
			local, remote = remote, local
		}
		r.enableIPv6(s, vethOf(s))
		r.batch(s, fmt.Sprintf("addr replace %s/64 dev %s nodad", local, vethOf(s)))
		r.batch(s, s.ip6tnlLines(tun, local, remote)...)
	}
}

func (s *side) ip6tnlLines(tun ip6Tunnel, local, remote string) []string {
	return []string{
		fmt.Sprintf("link add %s type %s local %s remote %s encaplimit none", tun.name, tun.typ, local, remote),
		fmt.Sprintf("addr add %s peer %s dev %s", s.inner, s.peerInner, tun.name),
		"link set " + tun.name + " up",
	}
}

// soundSteps are the VM halves of soundSpecs: build, break, read, send,
// read.
var soundSteps = map[string]func(r *rig, pair *testns.Pair) (before, after *capturedReading){
	"xfrmi-mixed": func(r *rig, _ *testns.Pair) (before, after *capturedReading) {
		r.buildXfrmi()
		r.ready()
		r.batch(r.a, r.deleteXfrmiSA(r.a.underlay, r.b.underlay, spiAtoB))
		// IPv6 on A's xfrm1 only, with an address whose /64 routes
		// xfrmi6B into it. xfrm1 is NOARP: no neighbour discovery, no
		// solicited-node group (so no MLD report), no link-local (no
		// EUI-64 without a hardware address), so no router solicitation.
		r.enableIPv6(r.a, xfrmiName)
		r.batch(r.a, fmt.Sprintf("addr add %s/64 dev %s nodad", xfrmi6A, xfrmiName))
		time.Sleep(time.Second) // whatever IPv6 sends when it comes up is counted before reading 1
		before = r.read(r.a)
		r.send(r.a, r.a.peerInner, mixedV4, sendOpts{})
		mid := r.read(r.a)
		r.send6(r.a, xfrmi6B, mixedV6)
		after = r.read(r.a)
		// Which packets moved what: the IPv4 ones the carrier errors and
		// XfrmOutNoStates, the IPv6 one the carrier errors alone.
		carrier := func(c *capturedReading) uint64 {
			if l := linkByName(c, xfrmiName); l != nil {
				return l.Stats.TxCarrierErrors
			}
			return 0
		}
		noStates := func(c *capturedReading) uint64 {
			v, _ := c.Netlink.MIB.Counter("XfrmOutNoStates")
			return v
		}
		if d4, d6 := carrier(mid)-carrier(before), carrier(after)-carrier(mid); d4 != mixedV4 || d6 != mixedV6 {
			r.t.Errorf("KERNEL FACT: %s tx_carrier_errors +%d for the %d IPv4 packets and +%d for the %d IPv6 one", xfrmiName, d4, mixedV4, d6, mixedV6)
		}
		if d4, d6 := noStates(mid)-noStates(before), noStates(after)-noStates(mid); d4 != mixedV4 || d6 != 0 {
			r.t.Errorf("KERNEL FACT: XfrmOutNoStates +%d for the %d IPv4 packets and +%d for the IPv6 one, want +%d and +0", d4, mixedV4, d6, mixedV4)
		}
		return before, after
	},
	"vti-renamed": func(r *rig, _ *testns.Pair) (before, after *capturedReading) {
		r.buildVTI("vti1")
		r.ready()
		r.batch(r.a, r.deleteOutSA())
		r.send(r.a, r.a.peerInner, renamedOld, sendOpts{})
		before = r.read(r.a)
		// A link must be down to be renamed.
		r.batch(r.a, "link set vti1 down", "link set vti1 name "+renamedTo, "link set "+renamedTo+" up")
		return before, r.read(r.a)
	},
	"vti-recreated": func(r *rig, _ *testns.Pair) (before, after *capturedReading) {
		r.buildVTI("vti1")
		// A link created after vti1: the re-created vti1 moves after it
		// in /proc/net/dev.
		r.batch(r.a, "link add dummy1 type dummy")
		r.ready()
		r.batch(r.a, r.deleteOutSA())
		r.send(r.a, r.a.peerInner, recreatedOld, sendOpts{})
		before = r.read(r.a)
		// The new vti1: it carries as many packets each way as the old one
		// and more, then loses its outbound SA again and counts more
		// carrier errors than the old one had. Every counter of the name
		// vti1 goes up.
		r.batch(r.a, append([]string{"link del vti1"}, r.a.vtiNamed("vti1")...)...)
		// Sequence numbers from 2: B's inbound SA has seen 1.
		r.batch(r.a, r.outSA("replay-oseq 1"))
		r.send(r.a, r.a.peerInner, recreatedGood, sendOpts{})
		r.expectReceived(r.b, recreatedGood)
		r.send(r.b, r.b.peerInner, recreatedGood, sendOpts{})
		r.expectReceived(r.a, recreatedGood)
		r.batch(r.a, r.deleteOutSA())
		r.send(r.a, r.a.peerInner, recreatedNew, sendOpts{})
		return before, r.read(r.a)
	},
	"xfrmi-tx-no-sa": func(r *rig, _ *testns.Pair) (before, after *capturedReading) {
		r.buildXfrmi()
		r.ready()
		r.batch(r.a, r.deleteXfrmiSA(r.a.underlay, r.b.underlay, spiAtoB))
		before = r.read(r.a)
		sendAB(r)
		return before, r.read(r.a)
	},
	"xfrmi-rx-no-sa": func(r *rig, _ *testns.Pair) (before, after *capturedReading) {
		r.buildXfrmi()
		r.ready()
		r.batch(r.a, r.deleteXfrmiSA(r.b.underlay, r.a.underlay, spiBtoA))
		before = r.read(r.a)
		sendBA(r)
		return before, r.read(r.a)
	},
	"xfrmi-rx-integrity-failed": func(r *rig, _ *testns.Pair) (before, after *capturedReading) {
		r.buildXfrmi()
		r.ready()
		r.batch(r.a, r.deleteXfrmiSA(r.b.underlay, r.a.underlay, spiBtoA),
			r.xfrmiSA(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.key()))
		before = r.read(r.a)
		sendBA(r)
		return before, r.read(r.a)
	},
	"ip6tnl-tx-no-sa": func(r *rig, pair *testns.Pair) (before, after *capturedReading) {
		return ip6tnlNoSA(r, pair, tunIP6Tnl, "1", false)
	},
	"ip6tnl-tx-no-sa-larval0": func(r *rig, pair *testns.Pair) (before, after *capturedReading) {
		return ip6tnlNoSA(r, pair, tunIP6Tnl, "0", false)
	},
	"ip6tnl-tx-no-sa-acquire": func(r *rig, pair *testns.Pair) (before, after *capturedReading) {
		return ip6tnlNoSA(r, pair, tunIP6Tnl, "1", true)
	},
	"ip6tnl-tx-no-sa-acquire-larval0": func(r *rig, pair *testns.Pair) (before, after *capturedReading) {
		return ip6tnlNoSA(r, pair, tunIP6Tnl, "0", true)
	},
	"ip6gre-tx-no-sa": func(r *rig, pair *testns.Pair) (before, after *capturedReading) {
		return ip6tnlNoSA(r, pair, tunIP6GRE, "1", false)
	},
}

// acquireListener is an XFRM netlink socket in s's namespace subscribed
// to ACQUIRE messages, as an IKE daemon's: with it, the kernel's acquire
// succeeds and installs a larval SA.
func (r *rig) acquireListener(s *side) *netlink.Conn {
	r.t.Helper()
	c, err := netlink.Dial(unix.NETLINK_XFRM, &netlink.Config{NetNS: s.ns.Open(r.t), Groups: 1 << (xfrm.GroupAcquire - 1)})
	if err != nil {
		r.t.Fatalf("%s: xfrm netlink acquire listener: %v", s.name, err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// acquires counts the ACQUIRE messages waiting on a listener.
func (r *rig) acquires(c *netlink.Conn) int {
	r.t.Helper()
	n := 0
	for {
		if err := c.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
			r.t.Fatal(err)
		}
		msgs, err := c.Receive()
		if err != nil {
			return n // the deadline: nothing more
		}
		for _, m := range msgs {
			if m.Header.Type == xfrm.MsgAcquire {
				n++
			}
		}
	}
}

// ip6tnlNoSA: the ip6 tunnel works both ways; then A's outer packets
// (IPv6, next header IPIP or GRE, between the veth addresses) get a
// transport-mode ESP policy and no SA, with net.core.xfrm_larval_drop =
// larvalDrop, and with or without a key manager listening for ACQUIRE
// messages.
func ip6tnlNoSA(r *rig, pair *testns.Pair, tun ip6Tunnel, larvalDrop string, listen bool) (before, after *capturedReading) {
	r.buildIP6Tnl(pair, tun)
	r.ready()
	a6, b6 := pair.A6.String(), pair.B6.String()
	// A fresh tunnel in A: it caches its route to the remote, and the
	// policy must be met by a lookup.
	r.batch(r.a, append([]string{"link del " + tun.name}, r.a.ip6tnlLines(tun, a6, b6)...)...)
	r.sysctl(r.a, "/proc/sys/net/core/xfrm_larval_drop", larvalDrop)
	r.batch(r.a, fmt.Sprintf("xfrm policy add dir out src %s/128 dst %s/128 proto %d tmpl src %s dst %s proto esp mode transport", a6, b6, tun.proto, a6, b6))
	var km *netlink.Conn
	if listen {
		km = r.acquireListener(r.a)
	}
	before = r.read(r.a)
	sendAB(r)
	after = r.read(r.a)
	if km != nil {
		// One ACQUIRE: the first packet's creates the larval SA, the
		// others find it (it lives XFRM_ACQ_EXPIRES, 30 s).
		if n := r.acquires(km); n != 1 {
			r.t.Errorf("KERNEL FACT: %d ACQUIRE messages for %d packets, want 1", n, events)
		}
	}
	return before, after
}

// TestVMSoundness runs the soundness scenarios in fresh namespaces, saves
// their readings (artifacts TestVMSoundness/<scenario>/{before,after}) and
// checks them (checkSoundness).
func TestVMSoundness(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "ip_vti", "xfrm_interface", "ip6_tunnel", "ip6_gre", "dummy", "veth", "xfrm_user", "esp4", "esp6",
		"authenc", "cbc", "aes_generic", "sha256_generic", "hmac")
	vmtest.RequireTools(t, "ip")
	for i := range soundSpecs {
		sp := &soundSpecs[i]
		step, ok := soundSteps[sp.name]
		if !ok {
			t.Errorf("soundness scenario %s has no VM step", sp.name)
			continue
		}
		t.Run(sp.name, func(t *testing.T) {
			if sp.since != "" {
				vmtest.SkipOnOldKernel(t, sp.since, sp.why)
			}
			start := time.Now()
			r, pair := newBareRig(t)
			before, after := step(r, pair)
			r.save("before", before)
			r.save("after", after)
			checkSoundness(t, sp, before, after)
			t.Logf("time %v", time.Since(start).Round(time.Millisecond))
		})
	}
}
