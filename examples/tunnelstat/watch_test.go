package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// One line per risk; names from the kernel escaped (the events are
// Report.Format's).
func TestWatchRiskLines(t *testing.T) {
	at := time.Date(2026, 12, 2, 16, 3, 12, 0, time.Local)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	sa := explain.SARef{SPI: 0x1001, Proto: 50, Src: a, Dst: b, ReqID: 4}
	var out bytes.Buffer
	err := writeRisks(&out, []explain.Risk{
		{Tunnel: explain.TunnelID{Interface: forged, Kind: "xfrm", Peer: b}, Cause: "sa-expiring", SA: &sa, At: at.Add(time.Hour),
			Explanation: "The SA expires\x1b[2J before its replacement."},
		{Tunnel: explain.TunnelID{Kind: explain.KindPolicy, Peer: b, ReqID: 4}, Cause: "tunnel-no-sa", Explanation: "No SA."},
	})
	if err != nil {
		t.Fatal(err)
	}
	requireTerminalSafe(t, "risks", out.String())
	noForgedLine(t, "risks", out.String())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], `risk sa-expiring "vti0\n\x1b[2J`) ||
		!strings.Contains(lines[0], "(esp spi 0x00001001 10.0.0.1 > 10.0.0.2) at 2026-12-02 17:03:12: The SA expires\\x1b[2J before") ||
		lines[1] != "risk tunnel-no-sa reqid 4 to 10.0.0.2: No SA." {
		t.Errorf("risks:\n%s", out.String())
	}
}

// --json: one report per line, as before, with the interval's health as
// one more member.
func TestWatchJSONHealth(t *testing.T) {
	rep := explain.Report{Since: time.Unix(0, 0).UTC(), Until: time.Unix(10, 0).UTC(),
		Events: []explain.Event{{Time: time.Unix(5, 0).UTC(), Type: explain.EventAcquire}}}
	h := &explain.Health{Time: time.Unix(10, 0).UTC(), Tunnels: []explain.TunnelStatus{{ID: explain.TunnelID{Interface: "xfrm1", Kind: "xfrm"}, State: explain.TunnelUp}}}
	var out bytes.Buffer
	if err := writeWatchJSON(&out, rep, h); err != nil {
		t.Fatal(err)
	}
	if err := writeWatchJSON(&out, rep, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	plain, _ := json.Marshal(rep)
	if lines[1] != string(plain) {
		t.Errorf("without health: %s\nwant the report: %s", lines[1], plain)
	}
	// The report decodes as before (its own fields), the health beside it.
	var asReport explain.Report
	if err := json.Unmarshal([]byte(lines[0]), &asReport); err != nil || len(asReport.Events) != 1 || asReport.Events[0].Type != explain.EventAcquire {
		t.Errorf("the line as a report: %v, %+v", err, asReport)
	}
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	var got *explain.Health
	if err := json.Unmarshal(raw["health"], &got); err != nil || got == nil || len(got.Tunnels) != 1 ||
		got.Tunnels[0].ID.Interface != "xfrm1" {
		t.Errorf("health member: %v, %s", err, raw["health"])
	}
	if _, ok := raw["findings"]; !ok {
		t.Errorf("the report's members are gone: %s", lines[0])
	}
}

// watch turns health on: every --json line of a replay has a "health"
// member, and the text mode prints what it printed before.
func TestWatchHealthReplay(t *testing.T) {
	d := "demodata/vm-6.12/"
	before := loadDemo(t, d+"before", d+"KERNEL")
	after := loadDemo(t, d+"after", d+"KERNEL")
	before.Time = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	after.Time = before.Time.Add(10 * time.Second)
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return &fakeSource{[]*monitor.Snapshot{before, after, after}}, nil
	}
	code, out, errOut := runApp(t, a, "watch", "--count", "2", "--json", "--interval", "100ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var line struct {
			Health *explain.Health `json:"health"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil || line.Health == nil || !line.Health.Time.Equal(after.Time) {
			t.Errorf("line %d: %v, health %+v", i, err, line.Health)
		}
	}
}

// One "wireguard" line per peer in the first interval, then only for a
// peer whose session or endpoint changed, that came or that went; names
// from the kernel escaped.
func TestWatchPeerLines(t *testing.T) {
	now := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	keyA, keyB := "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
	ep := netip.MustParseAddrPort("198.51.100.2:51820")
	h := &explain.Health{Time: now, Peers: []explain.PeerStatus{
		{ID: explain.TunnelID{Interface: "wg0", Kind: explain.KindWireGuard, PublicKey: keyA}, Endpoint: ep, Up: true,
			LastHandshake: now.Add(-83 * time.Second), In: explain.Traffic{Bytes: 1124}, Out: explain.Traffic{Bytes: 988}},
		{ID: explain.TunnelID{Interface: forged, Kind: explain.KindWireGuard, PublicKey: keyB}},
	}}
	var p peerLines
	out := p.lines(h)
	requireTerminalSafe(t, "peers", out)
	noForgedLine(t, "peers", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 ||
		lines[0] != "wireguard wg0 peer "+keyA+" up: session from a handshake 1m23s ago, endpoint 198.51.100.2:51820, 1124 bytes received, 988 sent" ||
		!strings.HasSuffix(lines[1], " peer "+keyB+" no session: no handshake yet, no endpoint, 0 bytes received, 0 sent") {
		t.Errorf("first interval:\n%s", out)
	}
	// Bytes moved, nothing else: no line.
	h.Peers[0].In.Bytes += 100
	if out := p.lines(h); out != "" {
		t.Errorf("bytes only: %q", out)
	}
	// The session ended, the other peer went.
	h.Time = now.Add(3 * time.Minute)
	h.Peers[0].Up = false
	h.Peers = h.Peers[:1]
	out = p.lines(h)
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "wireguard wg0 peer "+keyA+" no session (idle, or unreachable): latest handshake 4m23s ago") ||
		!strings.HasSuffix(lines[1], " peer "+keyB+" gone: no longer a peer of the interface, or the interface is gone") {
		t.Errorf("session ended, peer gone:\n%s", out)
	}
}
