//go:build linux

package bench

// vtistat.Client.WireGuardDevice against wgctrl-go's Client.Device, on one
// wireguard device with 10 000 peers (each with an IPv4 endpoint and one
// allowed IP), in the same namespace and the same run. The host has no
// wireguard module; in a VM (see the README of internal/vmtest):
//
//	go build -o /tmp/vmtest ./internal/vmtest/cmd/vmtest
//	cd bench && GOWORK=off /tmp/vmtest -kernels 6.12 -timeout 60m -run '^TestWireGuardSameAsWgctrl$' \
//	    -args '-test.bench=WireGuard -test.benchmem -test.count=1 -wg.rounds=8 -test.benchtime=2s' .
//	# the Benchmark lines of <results>/6.12/console.log, then
//	sed -E 's/#[0-9]+//' out.txt | benchstat -col /impl -
//
// vmtest reports the benchmarks as NO RESULT and exits 1 (test2json
// gives a benchmark without output no pass event); the package's PASS and
// the Benchmark lines in the console log are what count.
//
// The device is made once per process: no private key (with one, adding a
// peer makes the kernel precompute a Curve25519 shared secret, work a dump
// does not repeat; the dump loses one 36-byte attribute), peers added over
// generic netlink in requests of 50 (package internal/wgtest), link down
// (no traffic, no handshake). Needs root.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// wgNS is a namespace holding wg0 with n peers.
type wgNS struct {
	name string
	fd   int
	n    int
	fam  uint16 // the wireguard generic netlink family
}

var (
	wgNSMu sync.Mutex
	wgNSes = map[int]*wgNS{}
)

// wgBenchKey is peer i's public key: 32 distinct bytes (without a private
// key on the device the kernel does no Curve25519 with them).
func wgBenchKey(i int) wgtest.Key {
	var k wgtest.Key
	for j := range k {
		k[j] = byte(0x5b + 13*j)
	}
	binary.BigEndian.PutUint32(k[:], uint32(i))
	return k
}

// wgBenchPeer is peer i: endpoint 192.0.2.x:port, allowed IP 10.a.b.c/32.
func wgBenchPeer(i int) wgtest.Peer {
	return wgtest.Peer{
		Public:   wgBenchKey(i),
		Endpoint: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), uint16(20000+i)),
		Allowed:  []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)},
	}
}

// newWGNS makes (once per process and size) a namespace with wg0 and n
// peers.
func newWGNS(tb testing.TB, n int) *wgNS {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create a namespace with a wireguard device")
	}
	wgNSMu.Lock()
	defer wgNSMu.Unlock()
	if ns := wgNSes[n]; ns != nil {
		return ns
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	ns := &wgNS{name: "ts-bench-" + hex.EncodeToString(rnd[:]), n: n}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add: %v: %s", err, out)
	}
	atExit(func() { _ = exec.Command("ip", "netns", "del", ns.name).Run() })
	if out, err := exec.Command("ip", "-n", ns.name, "link", "add", "wg0", "type", "wireguard").CombinedOutput(); err != nil {
		if strings.Contains(string(out), "not supported") || strings.Contains(string(out), "Unknown device type") {
			tb.Skipf("this kernel has no wireguard (run it in the VM rig, see the top of this file): %s", firstLine(out))
		}
		tb.Fatalf("ip link add wg0 type wireguard: %v: %s", err, out)
	}
	fd, err := unix.Open("/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	atExit(func() { unix.Close(fd) })
	ns.fd = fd
	c, err := nl.Dial(unix.NETLINK_GENERIC, fd, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	fam, err := c.ResolveFamily(context.Background(), wgtest.GenlName)
	if err != nil {
		tb.Fatal(err)
	}
	peers := make([]wgtest.Peer, n)
	for i := range peers {
		peers[i] = wgBenchPeer(i)
	}
	if err := wgtest.SetWith(c, fam, "wg0", &wgtest.Device{ListenPort: 51820}, peers); err != nil {
		tb.Fatal(err)
	}
	ns.fam = fam.ID
	wgNSes[n] = ns
	return ns
}

// wgctrlIn opens a wgctrl client whose netlink socket lives in ns: wgctrl
// has no namespace option, so the socket is made on a thread moved there.
func wgctrlIn(tb testing.TB, ns *wgNS) *wgctrl.Client {
	tb.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatal(err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		tb.Fatal(err)
	}
	c, cerr := wgctrl.New()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, and dies with the goroutine.
		panic(fmt.Sprintf("back to the original namespace: %v", err))
	}
	runtime.UnlockOSThread()
	if cerr != nil {
		tb.Fatal(cerr)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func dialVtistatWG(tb testing.TB, ns *wgNS) *vtistat.Client {
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{FD: ns.fd}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// wgRounds interleaves the implementations: -test.count repeats each
// sub-benchmark back to back, so a slow spell of a shared machine lands on
// one implementation; with -wg.rounds=N (and -test.count=1) each round runs
// every implementation once, in an order rotated per round. Go names the
// repeats impl=X#01, #02 …: strip the suffix for benchstat,
// sed -E 's/#[0-9]+//'.
var wgRounds = flag.Int("wg.rounds", 1, "BenchmarkWireGuardDump: rounds of all implementations, interleaved")

// BenchmarkWireGuardDump: one wireguard device of 10 000 peers, read
// whole. impl=floor sends the same WG_CMD_GET_DEVICE request and receives
// the dump into one reused buffer with plain syscalls, decoding nothing:
// the kernel's share. impl=tunnelstat reads into the same WireGuardDevice each time
// (the poll-loop path: no allocation once it held the device);
// impl=tunnelstat-fresh into a new one (one allocation per peer: its
// AllowedIPs); impl=wgctrl is wgctrl-go's Client.Device, which returns a
// new wgtypes.Device each time (its API has no reuse).
func BenchmarkWireGuardDump(b *testing.B) {
	ctx := context.Background()
	const n = 10000
	ns := newWGNS(b, n)
	impls := []struct {
		name string
		run  func(b *testing.B)
	}{
		{"impl=floor", func(b *testing.B) {
			req := nl.AppendStringAttr(nl.AppendGenlHeader(nil, wgtest.CmdGetDev, wgtest.GenlVersion), wgtest.DeviceIfName, "wg0")
			f := newFloor(b, ns.fd, unix.NETLINK_GENERIC, ns.fam, req)
			perItem(b, n, "peer", func() { f.dump(b, -1) })
		}},
		{"impl=tunnelstat", func(b *testing.B) {
			c := dialVtistatWG(b, ns)
			var d vtistat.WireGuardDevice
			perItem(b, n, "peer", func() {
				if err := c.WireGuardDevice(ctx, &d, vtistat.ByName("wg0")); err != nil || len(d.Peers) != n {
					b.Fatalf("%d peers: %v", len(d.Peers), err)
				}
			})
		}},
		{"impl=tunnelstat-fresh", func(b *testing.B) {
			c := dialVtistatWG(b, ns)
			perItem(b, n, "peer", func() {
				var d vtistat.WireGuardDevice
				if err := c.WireGuardDevice(ctx, &d, vtistat.ByName("wg0")); err != nil || len(d.Peers) != n {
					b.Fatalf("%d peers: %v", len(d.Peers), err)
				}
			})
		}},
		{"impl=wgctrl", func(b *testing.B) {
			c := wgctrlIn(b, ns)
			perItem(b, n, "peer", func() {
				d, err := c.Device("wg0")
				if err != nil || len(d.Peers) != n {
					b.Fatalf("%v: %v", d, err)
				}
			})
		}},
	}
	b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
		for r := range *wgRounds {
			for i := range impls {
				im := impls[(i+r)%len(impls)]
				b.Run(im.name, im.run)
			}
		}
	})
}

// TestWireGuardSameAsWgctrl checks that both read the same device: the
// benchmark compares the same work.
func TestWireGuardSameAsWgctrl(t *testing.T) {
	const n = 10000
	ns := newWGNS(t, n)
	var ours vtistat.WireGuardDevice
	if err := dialVtistatWG(t, ns).WireGuardDevice(context.Background(), &ours, vtistat.ByName("wg0")); err != nil {
		t.Fatal(err)
	}
	theirs, err := wgctrlIn(t, ns).Device("wg0")
	if err != nil {
		t.Fatal(err)
	}
	if len(ours.Peers) != n || len(theirs.Peers) != n || ours.ListenPort != uint16(theirs.ListenPort) || ours.Name != theirs.Name {
		t.Fatalf("tunnelstat %s port %d %d peers, wgctrl %s port %d %d peers", ours.Name, ours.ListenPort, len(ours.Peers), theirs.Name, theirs.ListenPort, len(theirs.Peers))
	}
	for i := range ours.Peers {
		o, w, want := &ours.Peers[i], &theirs.Peers[i], wgBenchPeer(i)
		if o.PublicKey != vtistat.WireGuardKey(want.Public) || w.PublicKey != wgtypes.Key(want.Public) ||
			o.Endpoint != want.Endpoint || w.Endpoint == nil || w.Endpoint.AddrPort() != want.Endpoint ||
			len(o.AllowedIPs) != 1 || o.AllowedIPs[0] != want.Allowed[0] || len(w.AllowedIPs) != 1 || w.AllowedIPs[0].String() != want.Allowed[0].String() {
			t.Fatalf("peer %d: tunnelstat %+v, wgctrl %+v, want %+v", i, o, w, want)
		}
	}
}
