//go:build linux

package procnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// These tests build their own network namespaces, read them through
// /proc/PID/net of a process living there, and check that what the kernel
// counts is what procnet reports. Traffic never leaves the namespaces.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash (/dev/udp) to send datagrams")
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates a namespace named ts-procnet-<random> that is deleted
// when the test ends, pass or fail.
func newNetns(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "ts-procnet-" + hex.EncodeToString(b[:])
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// pidIn starts a process that lives in ns until the test ends.
func pidIn(t *testing.T, ns string) int {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// ip netns exec enters ns, then execs sleep in the same process; wait
	// until it has.
	for range 1000 { // up to 10 s: a loaded machine can be slow to exec
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
		if strings.HasSuffix(exe, "sleep") {
			return cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not enter %s", cmd.Process.Pid, ns)
	return 0
}

func sendUDP(t *testing.T, ns, dst string, port, count int) {
	t.Helper()
	script := fmt.Sprintf("for i in $(seq %d); do echo procnet > /dev/udp/%s/%d; done", count, dst, port)
	// Blocked sends fail with EPERM: that is the point, ignore the status.
	_ = exec.Command("ip", "netns", "exec", ns, "bash", "-c", script).Run()
}

func TestIntegrationNetnsDeltas(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	a, b := newNetns(t), newNetns(t)
	// ts-old comes first so that re-creating it moves it in ifindex order.
	run(t, "ip", "-n", a, "link", "add", "ts-old", "type", "veth", "peer", "name", "ts-old", "netns", b)
	run(t, "ip", "-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", b)
	run(t, "ip", "-n", a, "link", "add", "ts-gone", "type", "veth", "peer", "name", "ts-gone", "netns", b)
	run(t, "ip", "-n", a, "addr", "add", "192.0.2.1/24", "dev", "veth0")
	run(t, "ip", "-n", b, "addr", "add", "192.0.2.2/24", "dev", "veth0")
	for _, ns := range []string{a, b} {
		for _, dev := range []string{"ts-old", "veth0", "ts-gone"} {
			run(t, "ip", "-n", ns, "link", "set", dev, "up")
		}
	}

	pid := pidIn(t, a)
	f := NewFS("/proc").Proc(pid)
	r, err := f.OpenNetDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before, err := r.Read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range before {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, " "); got != "lo ts-old veth0 ts-gone" {
		t.Fatalf("%s: interfaces %q", r.Path(), got)
	}

	sendUDP(t, a, "192.0.2.2", 7, 10)
	run(t, "ip", "-n", a, "link", "del", "ts-old")
	run(t, "ip", "-n", a, "link", "add", "ts-old", "type", "veth", "peer", "name", "ts-old", "netns", b)
	run(t, "ip", "-n", a, "link", "del", "ts-gone")
	run(t, "ip", "-n", a, "link", "add", "ts-new", "type", "veth", "peer", "name", "ts-new", "netns", b)

	after, err := r.Read(ctx, make([]DevStats, 0, 8))
	if err != nil {
		t.Fatal(err)
	}
	var d NetDevDelta
	DiffNetDev(&d, before, after)
	veth, ok := d.Dev("veth0")
	if !ok || veth.TxPackets < 10 || veth.TxBytes < 10*8 {
		t.Errorf("veth0 delta = %+v, %v; want >= 10 packets sent", veth, ok)
	}
	if got, want := resetsString(d.Resets), "ts-old:reordered ts-new:appeared ts-gone:vanished"; got != want {
		t.Errorf("resets = %q, want %q", got, want)
	}

	// The peer namespace saw the same datagrams arrive.
	peer, err := NewFS("/proc").Proc(pidIn(t, b)).ReadNetDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peer {
		if p.Name == "veth0" && p.RxPackets < 10 {
			t.Errorf("peer veth0 received %d packets", p.RxPackets)
		}
	}
}

func TestIntegrationNetnsXfrmStat(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	a, b := newNetns(t), newNetns(t)
	run(t, "ip", "-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", b)
	run(t, "ip", "-n", a, "addr", "add", "192.0.2.1/24", "dev", "veth0")
	run(t, "ip", "-n", b, "addr", "add", "192.0.2.2/24", "dev", "veth0")
	run(t, "ip", "-n", a, "link", "set", "veth0", "up")
	run(t, "ip", "-n", b, "link", "set", "veth0", "up")

	pid := pidIn(t, a)
	xr, err := NewFS("/proc").Proc(pid).OpenXfrmStat(ctx)
	if err != nil {
		t.Skipf("no xfrm_stat in a new namespace: %v", err)
	}
	defer xr.Close()
	var before, after XfrmStat
	if err := xr.Read(ctx, &before); err != nil {
		t.Fatal(err)
	}
	// A fresh namespace starts at zero.
	for name, v := range before.All() {
		if v != 0 {
			t.Errorf("fresh namespace: %s = %d", name, v)
		}
	}

	run(t, "ip", "-n", a, "xfrm", "policy", "add", "dir", "out", "src", "192.0.2.1/32", "dst", "192.0.2.2/32",
		"proto", "udp", "dport", "10", "action", "block")
	run(t, "ip", "-n", a, "xfrm", "policy", "add", "dir", "in", "src", "192.0.2.2/32", "dst", "192.0.2.1/32",
		"proto", "udp", "dport", "11", "action", "block")
	sendUDP(t, a, "192.0.2.2", 10, 4)
	sendUDP(t, b, "192.0.2.1", 11, 3)
	// Inbound datagrams are counted when the receiving namespace processes
	// them: wait a little for the last one.
	deadline := time.Now().Add(2 * time.Second)
	for {
		if err := xr.Read(ctx, &after); err != nil {
			t.Fatal(err)
		}
		if after.InPolBlock >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var d XfrmStatDelta
	DiffXfrmStat(&d, &before, &after)
	if len(d.Resets) != 0 {
		t.Errorf("resets: %+v", d.Resets)
	}
	if d.OutPolBlock != 4 || d.InPolBlock != 3 {
		t.Errorf("OutPolBlock, InPolBlock deltas = %d, %d; want 4, 3", d.OutPolBlock, d.InPolBlock)
	}
	for name, v := range d.All() {
		if v != 0 && name != "XfrmOutPolBlock" && name != "XfrmInPolBlock" {
			t.Errorf("unexpected %s +%d", name, v)
		}
	}
}
