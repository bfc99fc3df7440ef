//go:build linux

package bench

// xfrmstat against vishvananda/netlink, ip(8) and the kernel's own cost:
//
//	cd bench && GOWORK=off go test -run '^$' -bench 'XfrmPolicyDump' -benchmem -count 6 -timeout 60m . | tee xfrm-policy.txt
//	benchstat -col /impl xfrm-policy.txt
//
// 100 000 policies in one namespace (made once per process with ip -batch,
// about 5 s). The SA benchmarks need ESP (esp4, cbc, aes, hmac, sha256),
// which only the VM kernels have; on a host without them they skip. In a
// VM (see the README of internal/vmtest):
//
//	go build -o /tmp/vmtest ./internal/vmtest/cmd/vmtest
//	cd bench && GOWORK=off /tmp/vmtest -kernels 6.12 -timeout 60m -run '^$' \
//	    -args '-test.bench=XfrmSADump -test.benchmem -test.count=6' .
//
// Needs root.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tunnelstat/tunnelstat/xfrmstat"
	vnl "github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// xfrmNS is a namespace holding n policies or n SAs.
type xfrmNS struct {
	name string
	fd   int
	n    int
}

var (
	xfrmNSMu sync.Mutex
	xfrmNSes = map[string]*xfrmNS{}
)

// newXfrmNS makes (once per process and kind) a namespace, runs setup (a
// command, if any) inside it, and feeds it lines to ip -batch.
func newXfrmNS(tb testing.TB, kind string, n int, line func(i int) string, setup ...string) *xfrmNS {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create a namespace with XFRM state")
	}
	key := fmt.Sprintf("%s/%d", kind, n)
	xfrmNSMu.Lock()
	defer xfrmNSMu.Unlock()
	if ns := xfrmNSes[key]; ns != nil {
		return ns
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	ns := &xfrmNS{name: "ts-bench-" + hex.EncodeToString(rnd[:]), n: n}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add: %v: %s", err, out)
	}
	atExit(func() { _ = exec.Command("ip", "netns", "del", ns.name).Run() })
	if len(setup) > 0 {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name}, setup...)...).CombinedOutput(); err != nil {
			tb.Fatalf("%s: %v: %s", strings.Join(setup, " "), err, out)
		}
	}
	var b strings.Builder
	for i := range n {
		b.WriteString(line(i))
		b.WriteByte('\n')
	}
	cmd := exec.Command("ip", "-n", ns.name, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("not found")) || bytes.Contains(out, []byte("not supported")) {
			tb.Skipf("this kernel cannot create %s (run it in the VM rig, see the top of this file): %s", kind, firstLine(out))
		}
		tb.Fatalf("ip -batch: %v: %s", err, firstLine(out))
	}
	fd, err := unix.Open("/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	atExit(func() { unix.Close(fd) })
	ns.fd = fd
	xfrmNSes[key] = ns
	return ns
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// policyLine is one outbound policy with a distinct selector and a tunnel
// template, the shape an IKE daemon installs per child SA.
func policyLine(i int) string {
	return fmt.Sprintf("xfrm policy add src 10.%d.%d.%d/32 dst 172.16.0.0/16 dir out priority %d "+
		"tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid %d mode tunnel",
		(i>>8)&255, i&255, (i>>16)&255, 1000+i%7, i+1)
}

// saLine is one tunnel-mode ESP SA (AES-CBC + HMAC-SHA256), distinct SPI.
// The keys are fixed test values.
func saLine(i int) string {
	return fmt.Sprintf("xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi %#x reqid %d mode tunnel replay-window 32 "+
		"enc cbc(aes) 0x000102030405060708090a0b0c0d0e0f "+
		"auth-trunc hmac(sha256) 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 128",
		0x10000+i, i%1000+1)
}

// perItem reports ns and allocations per policy or SA.
func perItem(b *testing.B, n int, unit string, run func()) {
	b.Helper()
	b.ReportAllocs()
	run() // warm up: connections open, reused storage grown
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/"+unit)
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N)/float64(n), "allocs/"+unit)
}

// BenchmarkXfrmPolicyDump: every policy of a namespace.
func BenchmarkXfrmPolicyDump(b *testing.B) {
	const n = 100000
	ns := newXfrmNS(b, "policies", n, policyLine)
	b.Run(fmt.Sprintf("policies=%d", n), func(b *testing.B) { policyDump(context.Background(), b, ns) })
}

// policyDump runs every implementation on the SPD of ns.
func policyDump(ctx context.Context, b *testing.B, ns *xfrmNS) {
	n := ns.n
	b.Run("impl=floor", func(b *testing.B) {
		f := newFloor(b, ns.fd, unix.NETLINK_XFRM, 0x15 /* XFRM_MSG_GETPOLICY */, nil)
		perItem(b, n, "policy", func() { f.dump(b, n) })
	})
	b.Run("impl=xfrmstat-into", func(b *testing.B) { // Policies, storage reused
		c := dialXfrmstat(b, ns)
		var pols []xfrmstat.Policy
		perItem(b, n, "policy", func() {
			var err error
			if pols, err = c.Policies(ctx, pols); err != nil || len(pols) != n {
				b.Fatalf("%d policies, %v", len(pols), err)
			}
		})
	})
	b.Run("impl=xfrmstat", func(b *testing.B) { // Policies: a fresh slice every time
		c := dialXfrmstat(b, ns)
		perItem(b, n, "policy", func() {
			if pols, err := c.Policies(ctx, nil); err != nil || len(pols) != n {
				b.Fatalf("%d policies, %v", len(pols), err)
			}
		})
	})
	b.Run("impl=vishvananda", func(b *testing.B) {
		h := vishvanandaHandle(b, ns)
		perItem(b, n, "policy", func() {
			if pols, err := h.XfrmPolicyList(vnl.FAMILY_ALL); err != nil || len(pols) != n {
				b.Fatalf("%d policies, %v", len(pols), err)
			}
		})
	})
	b.Run("impl=iproute2", func(b *testing.B) {
		perItem(b, n, "policy", func() { ipOutput(b, ns, "policy", 14*n) })
	})
}

// BenchmarkXfrmSADump: every SA of a namespace (VM kernels only).
func BenchmarkXfrmSADump(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("sas=%d", n), func(b *testing.B) {
			saDump(ctx, b, newXfrmNS(b, "sas", n, saLine), 10)
		})
	}
}

// BenchmarkXfrmLarvalSADump: the SA dump on this host, which cannot make
// ESP SAs but makes larval ones (ip xfrm state allocspi): real SAD entries
// the kernel dumps with the same code (xfrm_state_walk, copy_to_user_state),
// without algorithm attributes. 1 000, 10 000 and 100 000 of them: the SA
// scaling curve. The kernel's insertion slows as the SAD grows (100 000
// take about two minutes to create here), so each size is made once per
// process.
func BenchmarkXfrmLarvalSADump(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("larval-sas=%d", n), func(b *testing.B) {
			// Larval SAs live net.core.xfrm_acq_expires seconds (30): keep
			// them for the whole run.
			saDump(ctx, b, newXfrmNS(b, "larval-sas", n, larvalLine, "sysctl", "-qw", "net.core.xfrm_acq_expires=86400"), 6)
		})
	}
}

// saDump runs every implementation on the SAD of ns; ipLines is how many
// lines `ip -s xfrm state` prints per SA at least.
func saDump(ctx context.Context, b *testing.B, ns *xfrmNS, ipLines int) {
	n := ns.n
	b.Run("impl=floor", func(b *testing.B) {
		f := newFloor(b, ns.fd, unix.NETLINK_XFRM, 0x12 /* XFRM_MSG_GETSA */, nil)
		perItem(b, n, "sa", func() { f.dump(b, n) })
	})
	b.Run("impl=xfrmstat-into", func(b *testing.B) {
		c := dialXfrmstat(b, ns)
		var sas []xfrmstat.SA
		perItem(b, n, "sa", func() {
			var err error
			if sas, err = c.SAs(ctx, sas); err != nil || len(sas) != n {
				b.Fatalf("%d SAs, %v", len(sas), err)
			}
		})
	})
	b.Run("impl=xfrmstat", func(b *testing.B) {
		c := dialXfrmstat(b, ns)
		perItem(b, n, "sa", func() {
			if sas, err := c.SAs(ctx, nil); err != nil || len(sas) != n {
				b.Fatalf("%d SAs, %v", len(sas), err)
			}
		})
	})
	b.Run("impl=vishvananda", func(b *testing.B) {
		h := vishvanandaHandle(b, ns)
		perItem(b, n, "sa", func() {
			if sas, err := h.XfrmStateList(vnl.FAMILY_ALL); err != nil || len(sas) != n {
				b.Fatalf("%d SAs, %v", len(sas), err)
			}
		})
	})
	b.Run("impl=iproute2", func(b *testing.B) {
		perItem(b, n, "sa", func() { ipOutput(b, ns, "state", ipLines*n) })
	})
}

func larvalLine(i int) string {
	return fmt.Sprintf("xfrm state allocspi src 192.0.2.1 dst 10.%d.%d.%d proto esp mode tunnel reqid %d",
		(i>>16)&255, (i>>8)&255, i&255, i%1000+1)
}

// ipOutput runs ip -s xfrm <what> and reads all its output (the consumer
// would have to parse it on top).
func ipOutput(b *testing.B, ns *xfrmNS, what string, minLines int) {
	out, err := exec.Command("ip", "-n", ns.name, "-s", "xfrm", what).Output()
	if err != nil {
		b.Fatal(err)
	}
	if l := bytes.Count(out, []byte{'\n'}); l < minLines {
		b.Fatalf("ip -s xfrm %s: %d lines, want at least %d", what, l, minLines)
	}
}

func dialXfrmstat(b *testing.B, ns *xfrmNS) *xfrmstat.Client {
	c, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{FD: ns.fd}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func vishvanandaHandle(tb testing.TB, ns *xfrmNS) *vnl.Handle {
	h, err := vnl.NewHandleAt(vns.NsHandle(ns.fd), unix.NETLINK_XFRM)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	return h
}

// TestSamePoliciesAsVishvananda: on the same namespace, xfrmstat and
// vishvananda/netlink read the same policies (every field both decode).
func TestSamePoliciesAsVishvananda(t *testing.T) {
	ns := newXfrmNS(t, "policies-small", 200, func(i int) string {
		l := policyLine(i)
		if i%3 == 0 {
			l += fmt.Sprintf(" mark %d mask 0xff if_id %d", i%256, i+7)
		}
		return l
	})
	c, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{FD: ns.fd}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ours, err := c.Policies(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := vishvanandaHandle(t, ns).XfrmPolicyList(vnl.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != len(theirs) || len(ours) != 200 {
		t.Fatalf("xfrmstat %d policies, vishvananda %d", len(ours), len(theirs))
	}
	byIndex := map[int]vnl.XfrmPolicy{}
	for _, p := range theirs {
		byIndex[p.Index] = p
	}
	for _, p := range ours {
		v, ok := byIndex[int(p.Index)]
		if !ok {
			t.Fatalf("index %d missing in vishvananda's list", p.Index)
		}
		if p.Selector.Src.String() != v.Src.String() || p.Selector.Dst.String() != v.Dst.String() ||
			int(p.Dir) != int(v.Dir) || int(p.Priority) != v.Priority || len(p.Templates) != len(v.Tmpls) ||
			int(p.IfID) != v.Ifid || (p.Mark == nil) != (v.Mark == nil) {
			t.Fatalf("policy %d differs:\nxfrmstat    %+v\nvishvananda %+v", p.Index, p, v)
		}
		if p.Mark != nil && (p.Mark.Value != v.Mark.Value || p.Mark.Mask != v.Mark.Mask) {
			t.Fatalf("policy %d mark %+v vs %+v", p.Index, *p.Mark, *v.Mark)
		}
		for i, tm := range p.Templates {
			vt := v.Tmpls[i]
			if !net.IP(tm.Src.AsSlice()).Equal(vt.Src) || !net.IP(tm.Dst.AsSlice()).Equal(vt.Dst) ||
				int(tm.ReqID) != vt.Reqid || int(tm.Mode) != int(vt.Mode) || int(tm.Proto) != int(vt.Proto) {
				t.Fatalf("policy %d template %d: %+v vs %+v", p.Index, i, tm, vt)
			}
		}
	}
}
