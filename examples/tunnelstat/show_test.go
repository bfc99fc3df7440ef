package main

import (
	"context"
	"net/netip"
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
