package main

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// showSnapshot is the VM rig's real "after" capture of the sender (vti0's
// stats64 from sysfs, the MIB), completed by hand with what the rig's
// README says the scenario configured: vti0's kind, state, addresses and
// keys, its policies, and the inbound SA left after the outbound one was
// deleted (its SPI and counters are made up).
func showSnapshot(t *testing.T) *monitor.Snapshot {
	d := "demodata/vm-6.1/"
	s := loadDemo(t, d+"after", d+"KERNEL")
	s.LinksFrom = "rtnetlink"
	local, remote := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
	for i := range s.Links {
		l := &s.Links[i]
		l.OperState = "up"
		switch l.Name {
		case "vti0":
			l.Kind, l.MTU = "vti", 1480
			l.Tunnel = &monitor.Tunnel{Local: local, Remote: remote, IKey: 42, OKey: 42}
		case "ip_vti0":
			l.Kind, l.OperState, l.MTU = "vti", "down", 1480
			l.Tunnel = &monitor.Tunnel{}
		}
	}
	mark := &xfrmstat.Mark{Value: 42, Mask: 0xffffffff}
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	s.Policies = []xfrmstat.Policy{
		{Dir: xfrmstat.DirOut, Mark: mark, Selector: xfrmstat.Selector{Src: any4, Dst: any4},
			Templates: []xfrmstat.Template{{Src: local, Dst: remote, Proto: 50, Mode: xfrmstat.ModeTunnel}}},
		{Dir: xfrmstat.DirIn, Mark: mark, Selector: xfrmstat.Selector{Src: any4, Dst: any4},
			Templates: []xfrmstat.Template{{Src: remote, Dst: local, Proto: 50, Mode: xfrmstat.ModeTunnel}}},
	}
	s.SPDInfo = &xfrmstat.SPDInfo{In: 1, Out: 1}
	s.PolicyDefaults = &xfrmstat.PolicyDefaults{In: xfrmstat.DefaultAccept, Fwd: xfrmstat.DefaultAccept, Out: xfrmstat.DefaultAccept}
	s.SAs = []xfrmstat.SA{{Src: remote, Dst: local, SPI: 0x1000b, Proto: 50, Mode: xfrmstat.ModeTunnel, Mark: mark,
		LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 252, Packets: 3}, Stats: xfrmstat.Stats{IntegrityFailed: 1}}}
	s.Time = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	return s
}

func TestShowGolden(t *testing.T) {
	snap := showSnapshot(t)
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return &fakeSource{[]*monitor.Snapshot{snap}}, nil
	}
	code, out, errOut := runApp(t, a, "show")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "show.golden", out)
	if strings.Contains(out, "veth-a") {
		t.Error("show lists a link that is not a tunnel")
	}
}

// A /proc/net/dev reading (rtnetlink refused) marks the sum column.
func TestShowProcNetDev(t *testing.T) {
	s := loadDemo(t, "demodata/vyos-seed003/proc_net_dev")
	var b strings.Builder
	if err := writeShow(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "vti0  ?") || !strings.Contains(b.String(), "59*") || !strings.Contains(b.String(), "* read from /proc/net/dev") {
		t.Errorf("show of a /proc/net/dev reading:\n%s", b.String())
	}
}

// wireGuardSnapshot is TestVMWireGuardMonitor's real snapshot on 6.12
// (explain/monitor/testdata/README.md): wg0 with one peer.
func wireGuardSnapshot(t *testing.T) *monitor.Snapshot {
	t.Helper()
	f, err := os.Open("testdata/vm-6.12-wireguard.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := monitor.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// show lists a wireguard link with the tunnels, and its peers after the
// table; --json has the peers in "wireguard"; a wireguard link whose
// peers were not read says why.
func TestShowWireGuard(t *testing.T) {
	snap := wireGuardSnapshot(t)
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return &fakeSource{[]*monitor.Snapshot{snap}}, nil
	}
	code, out, errOut := runApp(t, a, "show")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "show-wireguard.golden", out)
	for _, want := range []string{"wg0   wireguard  unknown", "WireGuard wg0: public key " + snap.WireGuard[0].PublicKey.String() + ", listening on port 51820, 1 peer",
		snap.WireGuard[0].Peers[0].PublicKey.String() + "  198.51.100.2:51821  10.9.0.2/32,fd00:9::/64"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runApp(t, a, "show", "--json")
	if code != exitOK || errOut != "" {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	back, err := monitor.Decode(strings.NewReader(out))
	if err != nil || len(back.WireGuard) != 1 || len(back.WireGuard[0].Peers) != 1 {
		t.Fatalf("--json: %v, %+v", err, back)
	}

	unreadSnap := wireGuardSnapshot(t)
	unreadSnap.WireGuard = nil
	unreadSnap.Unread = append(unreadSnap.Unread, monitor.Unread{Part: "wireguard", Error: "peers of wg0 (ifindex 3): gone", Needs: ""})
	var b strings.Builder
	if err := writeShow(&b, unreadSnap); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "WireGuard wg0: peers not read (peers of wg0 (ifindex 3): gone)") {
		t.Errorf("peers not read:\n%s", b.String())
	}
}

func TestHandshakeAge(t *testing.T) {
	now := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	for hs, want := range map[time.Time]string{
		{}: "never",
		now.Add(-83*time.Second - 400*time.Millisecond): "1m23s ago",
		now:                  "0s ago",
		now.Add(time.Minute): "2026-12-03T04:01:00Z",
	} {
		if got := handshakeAge(now, hs); got != want {
			t.Errorf("handshakeAge(%v) = %q, want %q", hs, got, want)
		}
	}
}

// snapshot -o says how many wireguard peers it wrote, and writes them.
func TestSnapshotWireGuard(t *testing.T) {
	snap := wireGuardSnapshot(t)
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return &fakeSource{[]*monitor.Snapshot{snap}}, nil
	}
	out := t.TempDir() + "/s.json"
	code, _, errOut := runApp(t, a, "snapshot", "-o", out)
	if code != exitOK || !strings.Contains(errOut, "1 tunnels), 0 SAs, 0 policies, 1 wireguard peers\n") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := monitor.Decode(f)
	if err != nil || len(back.WireGuard) != 1 {
		t.Fatalf("%v, %+v", err, back)
	}
}
