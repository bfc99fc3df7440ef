//go:build linux

package explain_test

// VM scenario tests: each breaks a real tunnel between two namespaces in
// one documented way, sends a fixed number of packets into the failure,
// and checks that Explain names the cause with the exact count, from
// netlink readings and again from /proc/net/dev. Run them in the kernel
// matrix with
//
//	go run ./internal/vmtest/cmd/vmtest -run '^TestVMExplain' ./explain/
//
// and refresh the captures the host test explains (TestExplainVMCaptures)
// as testdata/vm/README.md says.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// vmStep is the VM half of a scenario: breakTunnel breaks the tunnel
// (after the rig checked that traffic passes), traffic sends the packets.
type vmStep struct {
	breakTunnel func(r *rig)
	traffic     func(r *rig)
	// check, if set, asserts more kernel facts on the readings (per-SA
	// counters …).
	check func(t *testing.T, r *rig, before, after *capturedReading)
}

// sendAB sends the scenario's packets from A into the tunnel.
func sendAB(r *rig) { r.send(r.a, r.a.peerInner, events, sendOpts{}) }

// sendBA sends the scenario's packets from B through the tunnel to A.
func sendBA(r *rig) { r.send(r.b, r.b.peerInner, events, sendOpts{}) }

// Commands that break A's side of the VTI.
func (r *rig) deleteOutSA() string {
	return fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %s mark %s", r.a.underlay, r.b.underlay, spiAtoB, tunnelKey)
}

func (r *rig) deleteInSA() string {
	return fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %s mark %s", r.b.underlay, r.a.underlay, spiBtoA, tunnelKey)
}

func deletePolicy(dir string) string {
	return fmt.Sprintf("xfrm policy delete dir %s src 0.0.0.0/0 dst 0.0.0.0/0 mark %s", dir, tunnelKey)
}

// outSA is A's outbound SA again, with extra options.
func (r *rig) outSA(extra string) string {
	return r.saLine(r.a.underlay, r.b.underlay, spiAtoB, r.encAB, r.authAB, extra)
}

// recreateGRE replaces A's gre1 by one with extra options.
func (r *rig) recreateGRE(extra string) {
	r.batch(r.a, append([]string{"link del gre1"}, r.a.greLines(extra)...)...)
}

var vmSteps = map[string]vmStep{
	"tx-no-sa": {
		breakTunnel: func(r *rig) { r.batch(r.a, r.deleteOutSA()) },
		traffic:     sendAB,
	},
	"tx-no-policy": {
		breakTunnel: func(r *rig) { r.batch(r.a, deletePolicy("out")) },
		traffic:     sendAB,
	},
	"tx-sa-mismatch": {
		// The policy and its SA lead to C, routable via B: a working
		// bundle whose endpoints are not the tunnel's.
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteOutSA(), deletePolicy("out"),
				fmt.Sprintf("route add %s/32 via %s", underlayC, r.b.underlay),
				r.saLine(r.a.underlay, underlayC, spiAtoB, r.encAB, r.authAB, ""),
				r.a.policyLine("out", fmt.Sprintf("tmpl src %s dst %s proto esp mode tunnel", r.a.underlay, underlayC)))
		},
		traffic: sendAB,
	},
	"tx-sa-mismatch-transport": {
		// A transport-mode SA for the inner addresses: the bundle
		// builds, the VTI refuses an SA that is not tunnel mode.
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteOutSA(), deletePolicy("out"),
				r.saLine(vtiInnerA, vtiInnerB, spiAtoB, r.encAB, r.authAB, "mode transport"),
				r.a.policyLine("out", "tmpl proto esp mode transport"))
		},
		traffic: sendAB,
	},
	"tx-underlay-unreachable": {
		breakTunnel: func(r *rig) { r.batch(r.a, fmt.Sprintf("route add unreachable %s/32", r.b.underlay)) },
		traffic:     sendAB,
	},
	"tx-policy-block": {
		breakTunnel: func(r *rig) {
			r.batch(r.a, deletePolicy("out"), r.a.policyLine("out", "action block"))
		},
		traffic: sendAB,
	},
	"tx-policy-default-block": {
		// No policy for the tunnel's mark and the default outbound
		// action block. The inner packets (mark 0) need a policy of
		// their own to reach the tunnel at all: a bypass that matches
		// only mark 0, as a VTI host with a default block has.
		breakTunnel: func(r *rig) {
			r.batch(r.a, deletePolicy("out"),
				"xfrm policy add dir out src 0.0.0.0/0 dst 0.0.0.0/0 mark 0 mask 0xffffffff action allow",
				"xfrm policy setdefault out block")
		},
		traffic: sendAB,
	},
	"tx-routing-loop": {
		breakTunnel: func(r *rig) { r.batch(r.a, fmt.Sprintf("route add %s/32 dev vti0", r.b.underlay)) },
		traffic:     sendAB,
	},
	"tx-too-big": {
		breakTunnel: func(r *rig) {},
		// Datagrams as large as vti0's MTU, with DF and the path MTU
		// ignored (IP_PMTUDISC_PROBE): every one reaches the VTI, which
		// finds it larger than the IPsec path MTU.
		traffic: func(r *rig) {
			mtu := r.mtu(r.a, "vti0")
			r.t.Logf("vti0 MTU %d: sending %d-byte IP packets with DF", mtu, mtu)
			r.send(r.a, r.a.peerInner, events, sendOpts{size: int(mtu) - 28, df: true})
		},
	},
	"tx-sa-expired": {
		// The SA's hard packet limit is 10; 10 + events are sent.
		breakTunnel: func(r *rig) { r.batch(r.a, r.deleteOutSA(), r.outSA("limit packet-hard 10")) },
		traffic: func(r *rig) {
			r.send(r.a, r.a.peerInner, 10+events, sendOpts{})
		},
	},
	"tx-seq-overflow": {
		// Two sequence numbers left: 0xfffffffe and 0xffffffff.
		breakTunnel: func(r *rig) { r.batch(r.a, r.deleteOutSA(), r.outSA("replay-oseq 0xfffffffd")) },
		traffic: func(r *rig) {
			r.send(r.a, r.a.peerInner, 2+events, sendOpts{})
		},
	},
	"rx-no-sa": {
		breakTunnel: func(r *rig) { r.batch(r.a, r.deleteInSA()) },
		traffic:     sendBA,
	},
	"rx-integrity-failed": {
		// A's inbound SA gets another authentication key than B's
		// outbound one.
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteInSA(), r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.key(), ""))
		},
		traffic: sendBA,
		check: func(t *testing.T, r *rig, before, after *capturedReading) {
			b, a := inboundSA(t, before), inboundSA(t, after)
			if d := a.Stats.IntegrityFailed - b.Stats.IntegrityFailed; d != events {
				t.Errorf("inbound SA integrity_failed rose by %d, want %d", d, events)
			}
		},
	},
	"rx-replay": {
		// A sees sequence numbers 2 to 1+events; then B's outbound SA is
		// installed again, so its sequence numbers start over.
		breakTunnel: func(r *rig) {
			r.send(r.b, r.b.peerInner, events, sendOpts{})
			r.expectReceived(r.a, events)
			r.batch(r.b, fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %s mark %s", r.b.underlay, r.a.underlay, spiBtoA, tunnelKey),
				r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA, ""))
		},
		traffic: sendBA,
	},
	"rx-sa-expired": {
		// A's inbound SA expires after 3 packets; B sends 3+events, with
		// a pause between them so the expiry timer deletes the SA before
		// the next one.
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteInSA(), r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA, "limit packet-hard 3"))
		},
		traffic: func(r *rig) { r.send(r.b, r.b.peerInner, 3+events, sendOpts{gap: 50 * time.Millisecond}) },
	},
	"rx-mode-error": {
		// B sends transport-mode ESP with the SPI of A's tunnel-mode
		// inbound SA (same keys): A decrypts a payload that is not an
		// inner IP packet.
		breakTunnel: func(r *rig) {
			r.batch(r.b,
				// Sequence numbers from 2: A's SA has seen 1.
				strings.Replace(r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA, "mode transport replay-oseq 1"),
					"mark "+tunnelKey, "mark 0 mask 0xffffffff", 1),
				fmt.Sprintf("xfrm policy add dir out src %s/32 dst %s/32 proto 17 mark 0 mask 0xffffffff tmpl src %s dst %s proto esp mode transport",
					r.b.underlay, r.a.underlay, r.b.underlay, r.a.underlay))
		},
		traffic: func(r *rig) { r.send(r.b, r.a.underlay, events, sendOpts{}) },
	},
	"rx-encap-mismatch": {
		// A's inbound SA only admits inner addresses in 10.0.0.0/8.
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteInSA(), r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA, "sel src 10.0.0.0/8 dst 10.0.0.0/8"))
		},
		traffic: sendBA,
	},
	"rx-acquire-error": {
		// A holds a larval SA (ip xfrm state allocspi, as an IKE daemon
		// does while negotiating) for SPI 0x2000; B already sends on it.
		breakTunnel: func(r *rig) {
			r.batch(r.a, fmt.Sprintf("xfrm state allocspi src %s dst %s proto esp mark %s min 0x2000 max 0x2000", r.b.underlay, r.a.underlay, tunnelKey))
			r.batch(r.b, fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %s mark %s", r.b.underlay, r.a.underlay, spiBtoA, tunnelKey),
				r.saLine(r.b.underlay, r.a.underlay, "0x2000", r.encBA, r.authBA, ""))
		},
		traffic: sendBA,
	},
	"rx-header-error": {
		// ESP packets too short to hold an SPI, from the tunnel's peer.
		breakTunnel: func(r *rig) {},
		traffic: func(r *rig) {
			r.sendIP(r.b, r.a.underlay, unix.IPPROTO_ESP, 0, []byte{0, 0, 0x10}, events)
		},
	},
	"rx-no-policy": {
		breakTunnel: func(r *rig) { r.batch(r.a, deletePolicy("in")) },
		traffic:     sendBA,
	},
	"rx-template-mismatch": {
		// The inbound policy wants an SA from C.
		breakTunnel: func(r *rig) {
			r.batch(r.a, deletePolicy("in"), r.a.policyLine("in", fmt.Sprintf("tmpl src %s dst %s proto esp mode tunnel", underlayC, r.a.underlay)))
		},
		traffic: sendBA,
	},
	"rx-policy-block": {
		breakTunnel: func(r *rig) {
			r.batch(r.a, deletePolicy("in"), r.a.policyLine("in", "action block"))
		},
		traffic: sendBA,
	},
	"tx-policy-error": {
		// The template leaves the source address to the kernel, and the
		// peer is unreachable: resolving the template fails.
		breakTunnel: func(r *rig) {
			r.batch(r.a, deletePolicy("out"), r.a.policyLine("out", fmt.Sprintf("tmpl dst %s proto esp mode tunnel", r.b.underlay)),
				fmt.Sprintf("route add unreachable %s/32", r.b.underlay))
		},
		traffic: sendAB,
	},
	"tx-no-route": {
		// Packets written into vti0 by a packet socket carry no route;
		// the VTI looks one up, which fails for a multicast source.
		breakTunnel: func(r *rig) {},
		traffic: func(r *rig) {
			r.sendPacket(r.a, "vti0", ipv4UDP("224.0.0.1", vtiInnerB, 0, make([]byte, 32)), events)
		},
	},
	"tx-queue-full": {
		// With xfrm_larval_drop=0 and no SA, packets wait in the
		// policy's hold queue (VTI from 5.9), which holds about 100.
		breakTunnel: func(r *rig) {
			r.sysctl(r.a, "/proc/sys/net/core/xfrm_larval_drop", "0")
			r.batch(r.a, r.deleteOutSA())
		},
		traffic: func(r *rig) { r.send(r.a, r.a.peerInner, 101+events, sendOpts{}) },
	},
	"tx-sa-dir-error": {
		// A's outbound SA is marked as an inbound one (SA direction).
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteOutSA())
			r.addSAWithDir(r.a, r.a.underlay, r.b.underlay, 0x1000a, xfrmstat.SADirIn)
		},
		traffic: sendAB,
	},
	"rx-dir-error": {
		// A's inbound SA is marked as an outbound one.
		breakTunnel: func(r *rig) {
			r.batch(r.a, r.deleteInSA())
			r.addSAWithDir(r.a, r.b.underlay, r.a.underlay, 0x1000b, xfrmstat.SADirOut)
		},
		traffic: sendBA,
	},
	"counter-reset": {
		// vti0 is deleted and created again between the readings.
		breakTunnel: func(r *rig) {},
		traffic: func(r *rig) {
			r.batch(r.a, append([]string{"link del vti0"}, r.a.vtiLines()...)...)
		},
	},
	"gre-tx-no-route": {
		breakTunnel: func(r *rig) { r.batch(r.a, fmt.Sprintf("route add unreachable %s/32", r.b.underlay)) },
		traffic:     sendAB,
	},
	"gre-tx-policy-block": {
		// GRE over IPsec: a policy blocks the outer GRE packets.
		breakTunnel: func(r *rig) {
			r.batch(r.a, fmt.Sprintf("xfrm policy add dir out src %s/32 dst %s/32 proto 47 action block", r.a.underlay, r.b.underlay))
		},
		traffic: sendAB,
	},
	"gre-ipsec-no-sa": {
		// GRE over IPsec: the policy for the outer GRE packets has no
		// SA. The kernel hands GRE a blackhole route and GRE counts the
		// packets as sent; only the MIB sees them.
		breakTunnel: func(r *rig) {
			r.batch(r.a, fmt.Sprintf("xfrm policy add dir out src %s/32 dst %s/32 proto 47 tmpl src %s dst %s proto esp mode transport",
				r.a.underlay, r.b.underlay, r.a.underlay, r.b.underlay))
		},
		traffic: sendAB,
	},
	"gre-tx-routing-loop": {
		breakTunnel: func(r *rig) { r.batch(r.a, fmt.Sprintf("route add %s/32 dev gre1", r.b.underlay)) },
		traffic:     sendAB,
	},
	"gre-rx-checksum": {
		// A wants checksums, B sends none.
		breakTunnel: func(r *rig) { r.recreateGRE("icsum") },
		traffic:     sendBA,
	},
	"gre-rx-ecn": {
		// GRE packets whose outer header says Congestion Experienced
		// around an inner packet that is not ECN-capable, from B.
		breakTunnel: func(r *rig) {},
		traffic: func(r *rig) {
			gre := append([]byte{0, 0, 0x08, 0x00}, ipv4UDP(greInnerB, greInnerA, 0, make([]byte, 32))...)
			r.sendIP(r.b, r.a.underlay, unix.IPPROTO_GRE, 3, gre, events)
		},
	},
	"gre-rx-length": {
		// GRE packets whose inner IPv4 header is cut short.
		breakTunnel: func(r *rig) {},
		traffic: func(r *rig) {
			gre := append([]byte{0, 0, 0x08, 0x00}, ipv4UDP(greInnerB, greInnerA, 0, nil)[:12]...)
			r.sendIP(r.b, r.a.underlay, unix.IPPROTO_GRE, 0, gre, events)
		},
	},
	"gre-tx-nbma-no-dst": {
		// An NBMA GRE tunnel (no remote) gets, through a packet socket,
		// a packet whose GRE header names no destination and that has no
		// route to take the next hop from.
		breakTunnel: func(r *rig) {
			r.batch(r.a, fmt.Sprintf("link add gre2 type gre local %s ttl 64", r.a.underlay), "link set gre2 up")
		},
		traffic: func(r *rig) {
			outer := ipv4Header(r.a.underlay, "0.0.0.0", unix.IPPROTO_GRE, 0, 20+4+28+32)
			pkt := append(append(outer, 0, 0, 0x08, 0x00), ipv4UDP(greInnerA, greInnerB, 0, make([]byte, 32))...)
			r.sendPacketRaw(r.a, "gre2", pkt, events)
		},
	},
	"gre-rx-sequence": {
		// A wants sequence numbers, B sends none.
		breakTunnel: func(r *rig) { r.recreateGRE("iseq") },
		traffic:     sendBA,
	},
}

// TestVMExplain runs every scenario of vm_expect_test.go in a fresh pair of
// namespaces: build the tunnel, break it, read A, send the packets, read A
// again, save both readings as artifacts, and check Explain's findings
// from the netlink, counters and procfs views.
func TestVMExplain(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "ip_vti", "ip_gre", "veth", "xfrm_user", "esp4", "authenc", "cbc", "aes_generic", "sha256_generic", "hmac")
	vmtest.RequireTools(t, "ip")
	for i := range scenarios {
		sc := &scenarios[i]
		step, ok := vmSteps[sc.name]
		if !ok {
			t.Errorf("scenario %s has no VM step", sc.name)
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			if sc.since != "" {
				vmtest.SkipOnOldKernel(t, sc.since, sc.name)
			}
			start := time.Now()
			r := newRig(t, sc.tunnel)
			t1 := time.Now()
			step.breakTunnel(r)
			t2 := time.Now()
			before := r.read(r.a)
			t3 := time.Now()
			step.traffic(r)
			t4 := time.Now()
			after := r.read(r.a)
			t5 := time.Now()
			r.save("before", before)
			r.save("after", after)
			logDeltas(t, before, after)
			if step.check != nil {
				step.check(t, r, before, after)
			}
			checkScenario(t, sc, before, after)
			t.Logf("times: rig %v, break %v, read %v, traffic %v, read %v, check %v",
				t1.Sub(start).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond),
				t4.Sub(t3).Round(time.Millisecond), t5.Sub(t4).Round(time.Millisecond), time.Since(t5).Round(time.Millisecond))
		})
	}
}

// inboundSA returns A's inbound SA from B (SPI spiBtoA) in a reading.
func inboundSA(t *testing.T, c *capturedReading) *xfrmstat.SA {
	t.Helper()
	for i := range c.Netlink.SAs {
		sa := &c.Netlink.SAs[i]
		if fmt.Sprintf("0x%x", sa.SPI) == spiBtoA && sa.Proto == unix.IPPROTO_ESP {
			return sa
		}
	}
	t.Fatalf("no inbound SA with SPI %s in the reading", spiBtoA)
	return nil
}

// logDeltas logs every counter of the tunnels and the MIB that moved, so
// that a run documents what each kernel did.
func logDeltas(t *testing.T, before, after *capturedReading) {
	t.Helper()
	var moved []string
	change := func(name string, b, a uint64) {
		switch {
		case a > b:
			moved = append(moved, fmt.Sprintf("%s+%d", name, a-b))
		case a < b:
			moved = append(moved, fmt.Sprintf("%s %d→%d", name, b, a))
		}
	}
	for _, l := range after.Netlink.Links {
		if l.Tunnel == nil {
			continue
		}
		var b vtistat.Stats64
		for _, bl := range before.Netlink.Links {
			if bl.Name == l.Name {
				b = bl.Stats
			}
		}
		bv, av := statsValues(&b), statsValues(&l.Stats)
		for i, name := range statsNames {
			change(l.Name+" "+name, bv[i], av[i])
		}
	}
	for name, v := range after.Netlink.MIB.All() {
		w, _ := before.Netlink.MIB.Counter(name)
		change(name, w, v)
	}
	t.Logf("kernel %s: moved: %v", after.Release, moved)
}
