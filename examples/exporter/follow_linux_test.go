//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// --netns NAME follows the name: deleted and added again, the exporter
// reads the new namespace (and compares nothing of the old one with it);
// deleted, it says so with tunnelstat_up 0 and reason netns_gone, never
// reading the old namespace that its sockets keep alive.
func TestLiveExporterFollowsName(t *testing.T) {
	a := larvalNamespace(t, 3)
	web := testns.New(t) // where the exporter listens and is scraped from
	n := newNSNet(t, web)
	url, logs := startExporter(t, n, "--netns", a.Name)
	client := n.client(1)
	defer client.CloseIdleConnections()

	wantLines(t, get(t, client, url), "tunnelstat_up 1", "tunnelstat_xfrm_sas 3")

	a.Del(t)
	a.Add(t)
	addLarval(t, a, 7)
	wantLines(t, get(t, client, url), "tunnelstat_up 1", "tunnelstat_xfrm_sas 7")
	if !strings.Contains(logs.String(), "was replaced") {
		t.Errorf("the log does not say the namespace was replaced:\n%s", logs.String())
	}

	a.Del(t)
	body := get(t, client, url)
	wantLines(t, body, "tunnelstat_up 0", `tunnelstat_read_error{reason="netns_gone"} 1`)
	if strings.Contains(body, "\ntunnelstat_xfrm_sas ") {
		t.Errorf("a deleted namespace's SAs exported:\n%s", body)
	}
	if !strings.Contains(logs.String(), "is gone") {
		t.Errorf("the log does not say the namespace is gone:\n%s", logs.String())
	}
	promtoolCheck(t, body)

	a.Add(t)
	addLarval(t, a, 5)
	body = get(t, client, url)
	wantLines(t, body, "tunnelstat_up 1", "tunnelstat_xfrm_sas 5", "tunnelstat_scrape_failures_total 1")
	if strings.Contains(body, "\ntunnelstat_read_error{") {
		t.Errorf("read_error in a scrape that read:\n%s", body)
	}
}
