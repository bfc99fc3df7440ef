//go:build linux

// Package testns creates throwaway network namespaces for the project's
// real-kernel tests: on the host, and inside the VM rig's kernels. Every
// namespace is named ts-<random>, is deleted when the test ends, and has no
// route out, so test traffic never leaves the namespaces a test made.
package testns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireRoot skips t unless the process can create namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (run as root, as CI does)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2 to build test namespaces")
	}
}

// NS is a network namespace created for one test.
type NS struct {
	Name string

	deleted bool // by Del, and not added again
}

// Path is the namespace's file under /run/netns.
func (ns *NS) Path() string { return "/run/netns/" + ns.Name }

// New creates a namespace with its loopback up and registers its deletion.
func New(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	ns := &NS{Name: "ts-" + hex.EncodeToString(b[:])}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(func() {
		if ns.deleted {
			return
		}
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Del deletes the namespace now (ip netns del): its name no longer
// exists. What still holds the namespace (a socket in it) keeps it alive,
// nameless.
func (ns *NS) Del(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del %s: %v: %s", ns.Name, err, out)
	}
	ns.deleted = true
}

// Add creates a new namespace under the name of one deleted with Del,
// with its loopback up; the test's cleanup deletes it.
func (ns *NS) Add(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	ns.deleted = false
	ns.Run(t, "ip", "link", "set", "lo", "up")
}

// Try runs a command inside the namespace and returns its combined output.
func (ns *NS) Try(args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s: %w: %s", ns.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Run runs a command inside the namespace and fails the test if it fails.
func (ns *NS) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := ns.Try(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// IP runs ip(8) with -n NAME and fails the test if it fails.
func (ns *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Open returns an open descriptor of the namespace, closed at cleanup.
func (ns *NS) Open(t testing.TB) int {
	t.Helper()
	fd, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", ns.Path(), err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// ReadFile reads a file as seen from inside the namespace (e.g.
// /proc/net/xfrm_stat).
func (ns *NS) ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	return []byte(ns.Run(t, "cat", path))
}

// Pair is two namespaces joined by a veth pair: the two test hosts.
type Pair struct {
	A, B         *NS
	AIf, BIf     string     // veth names inside A and B
	AAddr, BAddr netip.Addr // IPv4 addresses on the veth ends (TEST-NET-2, /24)
	A6, B6       netip.Addr // IPv6 addresses on the veth ends (documentation prefix, /64)
}

// NewPair creates two namespaces joined by veth with IPv4 and IPv6
// addresses, links up.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	p := &Pair{
		A: New(t), B: New(t), AIf: "veth-a", BIf: "veth-b",
		AAddr: netip.MustParseAddr("198.51.100.1"), BAddr: netip.MustParseAddr("198.51.100.2"),
		A6: netip.MustParseAddr("2001:db8:1::1"), B6: netip.MustParseAddr("2001:db8:1::2"),
	}
	p.A.IP(t, "link", "add", p.AIf, "type", "veth", "peer", "name", p.BIf, "netns", p.B.Name)
	p.A.IP(t, "addr", "add", p.AAddr.String()+"/24", "dev", p.AIf)
	p.B.IP(t, "addr", "add", p.BAddr.String()+"/24", "dev", p.BIf)
	p.A.IP(t, "addr", "add", p.A6.String()+"/64", "dev", p.AIf, "nodad")
	p.B.IP(t, "addr", "add", p.B6.String()+"/64", "dev", p.BIf, "nodad")
	p.A.IP(t, "link", "set", p.AIf, "up")
	p.B.IP(t, "link", "set", p.BIf, "up")
	return p
}
