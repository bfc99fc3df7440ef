//go:build linux

package main

import (
	"bytes"
	"context"
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

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--netns", ns.Name, "--scrape-timeout", "3s"}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("exporter: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("exporter did not start")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	url := "http://" + addr + "/metrics"

	first := scrapeURL(t, url, nil)
	wantLines(t, first,
		"tunnelstat_up 1",
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates"} 0`,
		`tunnelstat_xfrm_spd_policies{dir="out",socket="false"} 1`,
		`tunnelstat_xfrm_spd_policies{dir="in",socket="false"} 1`,
		`tunnelstat_xfrm_policies{dir="out",socket="false"} 1`,
		`tunnelstat_xfrm_sas 0`,
		`tunnelstat_part_readable{part="sas"} 1`,
		`tunnelstat_xfrm_policy_default_block{dir="out"} 0`,
	)
	if strings.Contains(first, "tunnelstat_link_info{") {
		t.Error("veth and lo exported as tunnels")
	}
	promtoolCheck(t, first)

	_, _ = ns.Ping(t, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.2"), 3, testns.PingOpts{Interval: 200 * time.Millisecond})
	second := scrapeURL(t, url, nil)
	wantLines(t, second,
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates"} 3`,
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface=""} 3`,
		"tunnelstat_scrapes_total 2",
	)
	promtoolCheck(t, second)

	// Nothing moved since: the counter stays.
	third := scrapeURL(t, url, nil)
	wantLines(t, third, `tunnelstat_cause_events_total{cause="tx-no-sa",interface=""} 3`)
}
