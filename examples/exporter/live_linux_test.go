//go:build linux

package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// The exporter as it runs: a real listener on loopback, a namespace made
// for the test with an outbound policy whose template has no SA, and
// packets it drops for that (they never leave the namespace).
func TestLiveExporter(t *testing.T) {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns.IP(t, "addr", "add", "10.0.0.1/24", "dev", "v0")
	ns.IP(t, "link", "set", "v0", "up")
	ns.IP(t, "link", "set", "v1", "up")
	ns.IP(t, "route", "add", "10.0.1.0/24", "dev", "v0")
	ns.IP(t, "xfrm", "policy", "add", "dir", "out", "src", "10.0.0.0/24", "dst", "10.0.1.0/24",
		"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel")
	ns.IP(t, "xfrm", "policy", "add", "dir", "in", "src", "10.0.1.0/24", "dst", "10.0.0.0/24", "action", "block")

	web := testns.New(t) // where the exporter listens and is scraped from
	n := newNSNet(t, web)
	url, _ := startExporter(t, n, "--netns", ns.Name, "--interval", "100ms", "--scrape-timeout", "3s")
	client := n.client(1)
	defer client.CloseIdleConnections()
	l := `netns="` + ns.Name + `"`

	first := get(t, client, url)
	wantLines(t, first,
		"tunnelstat_up{"+l+"} 1",
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates",`+l+`} 0`,
		`tunnelstat_xfrm_spd_policies{dir="out",`+l+`,socket="false"} 1`,
		`tunnelstat_xfrm_spd_policies{dir="in",`+l+`,socket="false"} 1`,
		`tunnelstat_xfrm_policies{dir="out",`+l+`,socket="false"} 1`,
		"tunnelstat_xfrm_sas{"+l+"} 0",
		`tunnelstat_part_readable{`+l+`,part="sas"} 1`,
		`tunnelstat_xfrm_policy_default_block{dir="out",`+l+`} 0`,
		`tunnelstat_xfrm_events_total{`+l+`,type="acquire"} 0`,
	)
	if strings.Contains(first, "tunnelstat_link_info{") {
		t.Error("veth and lo exported as tunnels")
	}
	checkMetrics(t, first)

	_, _ = ns.Ping(t, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.2"), 3, testns.PingOpts{Interval: 200 * time.Millisecond})
	second := waitFor(t, client, url, `tunnelstat_cause_events_total{cause="tx-no-sa",interface="",`+l+`} 3`)
	wantLines(t, second, `tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates",`+l+`} 3`)
	checkMetrics(t, second)

	// Nothing moved since: the counter stays, poll after poll.
	polls := metricValue(second, "tunnelstat_scrapes_total{"+l+"}")
	third := waitForFunc(t, client, url, func(b string) bool { return metricValue(b, "tunnelstat_scrapes_total{"+l+"}") >= polls+3 })
	wantLines(t, third, `tunnelstat_cause_events_total{cause="tx-no-sa",interface="",`+l+`} 3`)
}
