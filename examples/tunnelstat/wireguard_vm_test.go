//go:build linux

package main

// The CLI on a wireguard tunnel, in the VM rig's kernels (the host has no
// wireguard module):
//
//	go run ./internal/vmtest/cmd/vmtest -run '^TestVM' ./examples/tunnelstat/

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
)

// TestVMCLIWireGuard runs show, snapshot and explain on namespace A of a
// wireguard tunnel: show lists wg0 and its peer (key, endpoint, allowed
// IPs, a handshake); datagrams to an address no peer allows are tx_errors
// that explain --since gives to the causes that count tx_errors alone on
// wireguard, tx-wg-no-peer among them; and show as nobody in A lists wg0
// and says its peers were not read.
func TestVMCLIWireGuard(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "wireguard", "veth")
	p := testns.NewPair(t)
	wgtest.Tunnel(t, p)
	wgtest.SendUDP(t, p.A, "", wgtest.TunnelInnerB+":9", 1, 32) // the handshake
	keyB := wgtest.Public(t, 2).String()

	// Wait for the handshake, through the CLI.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out, errOut := runApp(t, nil, "show", "--json", "--netns", p.A.Name)
		s, err := monitor.Decode(strings.NewReader(out))
		if code != exitOK || err != nil {
			t.Fatalf("show --json: exit %d, %v, %s", code, err, errOut)
		}
		if len(s.WireGuard) == 1 && len(s.WireGuard[0].Peers) == 1 && !s.WireGuard[0].Peers[0].LastHandshake.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no handshake in 10 s: %+v", s.WireGuard)
		}
		time.Sleep(100 * time.Millisecond)
	}

	code, out, errOut := runApp(t, nil, "show", "--netns", p.A.Name)
	if code != exitOK || errOut != "" {
		t.Fatalf("show: exit %d, stderr %q", code, errOut)
	}
	t.Logf("kernel %s: show:\n%s", vmtest.Kernel(), out)
	for _, want := range []string{"wg0", "wireguard", keyB, p.BAddr.String() + ":51821", wgtest.TunnelInnerB + "/32"} {
		if !strings.Contains(out, want) {
			t.Errorf("show does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "never") {
		t.Errorf("show says a handshake never completed:\n%s", out)
	}

	before := filepath.Join(t.TempDir(), "before.json")
	if code, _, errOut := runApp(t, nil, "snapshot", "--netns", p.A.Name, "-o", before); code != exitOK {
		t.Fatalf("snapshot: exit %d, %s", code, errOut)
	}
	const n = 5
	if errs := wgtest.TrySendUDP(t, p.A, "", "10.9.0.99:9", n, 32); errs["ENOKEY"] != n {
		t.Fatalf("datagrams to an address no peer allows: send errors %v, want ENOKEY × %d", errs, n)
	}
	code, out, errOut = runApp(t, nil, "explain", "--json", "--netns", p.A.Name, "--since", before)
	if code != exitOK {
		t.Fatalf("explain --since: exit %d, %s", code, errOut)
	}
	fs := decodeReport(t, out)
	causes := map[string]bool{}
	for _, f := range fs {
		causes[f.Cause] = true
		if f.Interface != "wg0" || f.Count != n || f.Certainty != "candidate" {
			t.Errorf("explain --since: finding %+v: want wg0, %d, candidate", f, n)
		}
	}
	if !causes["tx-wg-no-peer"] || causes["tx-wg-no-endpoint"] {
		t.Errorf("explain --since: causes %v: want tx-wg-no-peer among them, tx-wg-no-endpoint ruled out (the peer has one)", causes)
	}

	// As nobody, in A: the link, not its peers.
	stdout, stderr, err := p.A.AsNobody(t, []string{"TUNNELSTAT_RUN_MAIN=1"}, os.Args[0], "show")
	t.Logf("kernel %s: show as nobody: %v\n%s\nstderr:\n%s", vmtest.Kernel(), err, stdout, stderr)
	if out := string(stdout); err != nil || !strings.Contains(out, "wg0") || !strings.Contains(out, "WireGuard wg0: peers not read") ||
		strings.Contains(out, keyB) {
		t.Errorf("show as nobody: %v: want wg0 listed, its peers not read", err)
	}
}
