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
	url, logs := startExporter(t, n, "--netns", a.Name, "--interval", "100ms")
	client := n.client(1)
	defer client.CloseIdleConnections()
	up := `tunnelstat_up{netns="` + a.Name + `"} `
	sas := `tunnelstat_xfrm_sas{netns="` + a.Name + `"} `

	wantLines(t, get(t, client, url), up+"1", sas+"3")

	a.Del(t)
	a.Add(t)
	addLarval(t, a, 7)
	waitFor(t, client, url, sas+"7")
	waitLog(t, logs, "was replaced")

	a.Del(t)
	body := waitFor(t, client, url, up+"0")
	wantLines(t, body, `tunnelstat_read_error{netns="`+a.Name+`",reason="netns_gone"} 1`)
	if strings.Contains(body, "\n"+sas) {
		t.Errorf("a deleted namespace's SAs exported:\n%s", body)
	}
	waitLog(t, logs, "is gone")
	checkMetrics(t, body)

	a.Add(t)
	addLarval(t, a, 5)
	body = waitFor(t, client, url, sas+"5")
	wantLines(t, body, up+"1")
	if strings.Contains(body, "\ntunnelstat_read_error{") {
		t.Errorf("read_error in a scrape that read:\n%s", body)
	}
}
