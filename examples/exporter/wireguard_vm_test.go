//go:build linux

package main

// The exporter on a wireguard tunnel, in the VM rig's kernels (the host has
// no wireguard module):
//
//	go run ./internal/vmtest/cmd/vmtest -run '^TestVM' ./examples/exporter/

import (
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
)

// TestVMExporterWireGuard scrapes an exporter watching namespace A of a
// wireguard tunnel: wg0 is a tunnel (link_info, kind wireguard), its peer
// B has the per-peer series and is up after a handshake, and the output
// passes promtool's checks. Then B forgets A while A sends a 996-byte
// datagram a second: tunnel-wg-one-way is raised for B's key within 40 s.
func TestVMExporterWireGuard(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "wireguard", "veth")
	p := testns.NewPair(t)
	wgtest.Tunnel(t, p)
	wgtest.SendUDP(t, p.A, "", wgtest.TunnelInnerB+":9", 1, 32) // the handshake

	web := testns.New(t)
	n := newNSNet(t, web)
	url, _ := startExporter(t, n, "--netns", p.A.Name, "--interval", "200ms", "--scrape-timeout", "3s")
	client := n.client(1)
	defer client.CloseIdleConnections()
	l := `netns="` + p.A.Name + `"`
	keyB := wgtest.Public(t, 2).String()
	peer := `interface="wg0",` + l + `,public_key="` + keyB + `"`

	first := waitFor(t, client, url, "tunnelstat_wireguard_peer_up{"+peer+"} 1")
	wantLines(t, first, `tunnelstat_part_readable{`+l+`,part="wireguard"} 1`)
	for _, name := range []string{"tunnelstat_wireguard_peer_last_handshake_timestamp_seconds{", "tunnelstat_wireguard_peer_tx_bytes_total{", "tunnelstat_wireguard_peer_rx_bytes_total{"} {
		if v := metricValue(first, name+peer+"}"); v <= 0 {
			t.Errorf("%s%s}: %v, want above 0", name, peer, v)
		}
	}
	if hs := metricValue(first, "tunnelstat_wireguard_peer_last_handshake_timestamp_seconds{"+peer+"}"); time.Since(time.Unix(int64(hs), 0)) > time.Minute {
		t.Errorf("last handshake at %v", time.Unix(int64(hs), 0))
	}
	if !hasLine(first, func(s string) bool {
		return strings.HasPrefix(s, "tunnelstat_link_info{") && strings.Contains(s, `interface="wg0"`) && strings.Contains(s, `kind="wireguard"`)
	}) {
		t.Error("wg0 is not exported as a tunnel (tunnelstat_link_info)")
	}
	checkMetrics(t, first)

	// B forgets A: A's data goes on with the old session, nothing comes
	// back.
	wgtest.RemovePeer(t, p.B, "wg0", wgtest.Public(t, 1))
	oneWay := func(s string) bool {
		return strings.HasPrefix(s, "tunnelstat_tunnel_risk{") && strings.Contains(s, `cause="tunnel-wg-one-way"`) &&
			strings.Contains(s, `interface="wg0"`) && strings.Contains(s, `kind="wireguard"`) && strings.Contains(s, `public_key="`+keyB+`"`) &&
			strings.HasSuffix(s, "} 1")
	}
	start := time.Now()
	var body string
	for {
		wgtest.SendUDP(t, p.A, "", wgtest.TunnelInnerB+":9", 1, 996)
		body = get(t, client, url)
		if hasLine(body, oneWay) {
			break
		}
		if time.Since(start) > 40*time.Second {
			t.Fatalf("no tunnel-wg-one-way risk for %s after 40 s:\n%s", keyB, grepLines(body, "tunnelstat_tunnel_risk", "tunnelstat_wireguard_peer"))
		}
		time.Sleep(time.Second)
	}
	t.Logf("kernel %s: tunnel-wg-one-way after %.0f s", vmtest.Kernel(), time.Since(start).Seconds())
	// More than 20 s from the reading before the first datagram, which
	// may be an interval (200 ms) before start.
	if s := time.Since(start); s < 19500*time.Millisecond {
		t.Errorf("tunnel-wg-one-way after %v: it needs more than 20 s of silence", s)
	}
	checkMetrics(t, body)
}

// hasLine reports whether a line of body satisfies ok.
func hasLine(body string, ok func(string) bool) bool {
	for l := range strings.Lines(body) {
		if ok(strings.TrimSuffix(l, "\n")) {
			return true
		}
	}
	return false
}

// grepLines returns body's lines that start with one of prefixes.
func grepLines(body string, prefixes ...string) string {
	var b strings.Builder
	for l := range strings.Lines(body) {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				b.WriteString(l)
				break
			}
		}
	}
	return b.String()
}
