//go:build linux

package vmtest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
)

// Tunnel addresses from TEST-NET-3; the underlay is testns.Pair's. They
// exist only inside the two namespaces the test creates.
const (
	overlayA = "203.0.113.1"
	overlayB = "203.0.113.2"
	vtiKey   = "42" // ikey = okey = the mark on SAs and policies
	spiAtoB  = "0x1000a"
	spiBtoA  = "0x1000b"
)

// TestVMVTIMissingOutboundSA proves the rig with a real IPsec tunnel: a VTI pair
// with ESP SAs (cbc(aes) + hmac(sha256)) and policies between two namespaces
// joined by veth. Traffic passes; then, with the sender's outbound SA
// deleted, every packet sent into vti0 is counted exactly once in the
// link's tx_carrier_errors (and tx_errors) and in the namespace's
// XfrmOutNoStates. /proc/net/dev and /proc/net/xfrm_stat before and after
// are saved as fixtures.
func TestVMVTIMissingOutboundSA(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "ip_vti", "veth", "xfrm_user", "esp4", "authenc", "cbc", "aes_generic", "sha256_generic", "hmac")
	vmtest.RequireTools(t, "ip", "ping", "sysctl", "cat", "sh")

	pair := testns.NewPair(t)
	a, b := pair.A, pair.B
	underlayA, underlayB := pair.AAddr.String(), pair.BAddr.String()
	sh := &shell{t: t}

	// Keys made now, never logged: shell redacts them from every message.
	encAB, authAB, encBA, authBA := sh.key(32), sh.key(32), sh.key(32), sh.key(32)
	for _, side := range []struct {
		ns                        *testns.NS
		local, remote, addr, peer string
	}{
		{a, underlayA, underlayB, overlayA, overlayB},
		{b, underlayB, underlayA, overlayB, overlayA},
	} {
		ns := side.ns.Name
		sh.ip("-n", ns, "link", "add", "vti0", "type", "vti",
			"local", side.local, "remote", side.remote, "ikey", vtiKey, "okey", vtiKey)
		// No IPv6 on the tunnel: router solicitations would be dropped by
		// vti0 too, and the counts must be exact.
		side.ns.Run(t, "sysctl", "-q", "-w", "net.ipv6.conf.vti0.disable_ipv6=1")
		sh.ip("-n", ns, "addr", "add", side.addr, "peer", side.peer, "dev", "vti0")
		sh.ip("-n", ns, "link", "set", "vti0", "up")
		sh.ip("-n", ns, "xfrm", "state", "add", "src", underlayA, "dst", underlayB,
			"proto", "esp", "spi", spiAtoB, "mode", "tunnel", "mark", vtiKey,
			"enc", "cbc(aes)", encAB, "auth-trunc", "hmac(sha256)", authAB, "128")
		sh.ip("-n", ns, "xfrm", "state", "add", "src", underlayB, "dst", underlayA,
			"proto", "esp", "spi", spiBtoA, "mode", "tunnel", "mark", vtiKey,
			"enc", "cbc(aes)", encBA, "auth-trunc", "hmac(sha256)", authBA, "128")
		for _, dir := range []struct{ dir, src, dst string }{
			{"out", side.local, side.remote},
			{"in", side.remote, side.local},
		} {
			sh.ip("-n", ns, "xfrm", "policy", "add", "dir", dir.dir, "mark", vtiKey,
				"tmpl", "src", dir.src, "dst", dir.dst, "proto", "esp", "mode", "tunnel")
		}
	}

	// Traffic passes through the tunnel, both ways.
	const okPings = 3
	before := sh.linkStats(a, "vti0")
	sent, received := sh.ping(a, overlayB, okPings)
	if sent != okPings || received != okPings {
		t.Fatalf("through the tunnel: %d sent, %d received; want %d and %d", sent, received, okPings, okPings)
	}
	after := sh.linkStats(a, "vti0")
	if d := after["tx_packets"] - before["tx_packets"]; d != okPings {
		t.Errorf("vti0 tx_packets rose by %d, want %d", d, okPings)
	}
	if d := after["rx_packets"] - before["rx_packets"]; d != okPings {
		t.Errorf("vti0 rx_packets rose by %d, want %d", d, okPings)
	}

	// Delete the sender's outbound SA: the policy still matches, no SA.
	sh.ip("-n", a.Name, "xfrm", "state", "delete", "src", underlayA, "dst", underlayB,
		"proto", "esp", "spi", spiAtoB, "mark", vtiKey)

	sh.capture(a, "sender/before")
	sh.capture(b, "receiver/before")
	linkBefore, mibBefore := sh.linkStats(a, "vti0"), sh.xfrmStat(a)

	const lostPings = 5
	sent, received = sh.ping(a, overlayB, lostPings)

	linkAfter, mibAfter := sh.linkStats(a, "vti0"), sh.xfrmStat(a)
	sh.capture(a, "sender/after")
	sh.capture(b, "receiver/after")

	if sent != lostPings || received != 0 {
		t.Fatalf("without the outbound SA: %d sent, %d received; want %d and 0", sent, received, lostPings)
	}
	for _, c := range []struct {
		name  string
		delta uint64
	}{
		{"vti0 tx_carrier_errors", linkAfter["tx_carrier_errors"] - linkBefore["tx_carrier_errors"]},
		{"vti0 tx_errors", linkAfter["tx_errors"] - linkBefore["tx_errors"]},
		{"XfrmOutNoStates", mibAfter["XfrmOutNoStates"] - mibBefore["XfrmOutNoStates"]},
	} {
		if c.delta != lostPings {
			t.Errorf("%s rose by %d, want exactly %d (the packets sent)", c.name, c.delta, lostPings)
		}
	}
	for name, v := range mibAfter {
		if name != "XfrmOutNoStates" && v != mibBefore[name] {
			t.Errorf("%s moved from %d to %d; only XfrmOutNoStates should", name, mibBefore[name], v)
		}
	}
	for _, name := range []string{"tx_aborted_errors", "tx_packets", "collisions"} {
		if d := linkAfter[name] - linkBefore[name]; d != 0 {
			t.Errorf("vti0 %s rose by %d, want 0", name, d)
		}
	}
	t.Logf("kernel %s: %d packets without SA: tx_carrier_errors +%d, XfrmOutNoStates +%d",
		vmtest.Kernel(), sent,
		linkAfter["tx_carrier_errors"]-linkBefore["tx_carrier_errors"],
		mibAfter["XfrmOutNoStates"]-mibBefore["XfrmOutNoStates"])
}

// shell runs ip(8) and friends, failing the test on errors. Key arguments
// are replaced by <key> in every message.
type shell struct {
	t      *testing.T
	secret []string
}

func (s *shell) key(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		s.t.Fatal(err)
	}
	k := "0x" + hex.EncodeToString(b)
	s.secret = append(s.secret, k)
	return k
}

func (s *shell) redact(text string) string {
	for _, k := range s.secret {
		text = strings.ReplaceAll(text, k, "<key>")
	}
	return text
}

func (s *shell) exec(name string, args ...string) (string, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (s *shell) mustExec(name string, args ...string) string {
	s.t.Helper()
	out, err := s.exec(name, args...)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", name, s.redact(strings.Join(args, " ")), err, s.redact(out))
	}
	return out
}

func (s *shell) ip(args ...string) string {
	s.t.Helper()
	return s.mustExec("ip", args...)
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// ping sends count echo requests from ns and returns how many were sent and
// answered. A ping without answers exits non-zero; only the summary counts.
func (s *shell) ping(ns *testns.NS, dst string, count int) (sent, received int) {
	s.t.Helper()
	out, _ := ns.Try("ping", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "1", dst)
	m := pingSummary.FindStringSubmatch(out)
	if m == nil {
		s.t.Fatalf("ping %s in %s: no summary in output:\n%s", dst, ns.Name, out)
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received
}

// linkStats reads every file of /sys/class/net/<dev>/statistics inside ns.
func (s *shell) linkStats(ns *testns.NS, dev string) map[string]uint64 {
	s.t.Helper()
	script := strings.ReplaceAll(statisticsScript, "vti0", dev)
	return s.parseCounters(ns.Run(s.t, "sh", "-c", script), "link statistics of "+dev+" in "+ns.Name)
}

// xfrmStat reads /proc/net/xfrm_stat inside ns.
func (s *shell) xfrmStat(ns *testns.NS) map[string]uint64 {
	s.t.Helper()
	return s.parseCounters(string(ns.ReadFile(s.t, "/proc/net/xfrm_stat")), "/proc/net/xfrm_stat in "+ns.Name)
}

func (s *shell) parseCounters(text, what string) map[string]uint64 {
	s.t.Helper()
	m := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			s.t.Fatalf("%s line %d: want \"name value\", got %q", what, n, sc.Text())
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			s.t.Fatalf("%s line %d: %v", what, n, err)
		}
		m[f[0]] = v
	}
	if len(m) == 0 {
		s.t.Fatalf("%s: no counters", what)
	}
	return m
}

// capture saves /proc/net/dev, /proc/net/xfrm_stat and vti0's sysfs
// statistics (which, unlike /proc/net/dev, keep tx_carrier_errors and
// tx_aborted_errors apart) of ns as fixtures.
func (s *shell) capture(ns *testns.NS, name string) {
	s.t.Helper()
	for _, f := range []struct{ file, as string }{
		{"/proc/net/dev", "proc_net_dev"},
		{"/proc/net/xfrm_stat", "xfrm_stat"},
	} {
		vmtest.SaveArtifact(s.t, name+"/"+f.as, ns.ReadFile(s.t, f.file))
	}
	vmtest.SaveArtifact(s.t, name+"/vti0_statistics", []byte(ns.Run(s.t, "sh", "-c", statisticsScript)))
}

// statisticsScript prints "name value" for every file of vti0's sysfs
// statistics directory.
const statisticsScript = `cd /sys/class/net/vti0/statistics && for f in *; do echo "$f $(cat "$f")"; done`
