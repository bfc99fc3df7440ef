package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// replay is a source that returns readings in turn, then fails.
type replay struct {
	snaps []*monitor.Snapshot
	ctxs  []context.Context
}

func (r *replay) Read(ctx context.Context) (*monitor.Snapshot, error) {
	r.ctxs = append(r.ctxs, ctx)
	if len(r.snaps) == 0 {
		return nil, errors.New("no more readings")
	}
	s := r.snaps[0]
	r.snaps = r.snaps[1:]
	return s, nil
}

// vmReading loads a real capture of the VM rig (the CLI's demo data): vti0
// with stats64 from sysfs, the MIB, the kernel release.
func vmReading(t *testing.T, when string) *monitor.Snapshot {
	t.Helper()
	d := "../tunnelstat/demodata/vm-6.1/"
	s, err := monitor.Load(nil, d+when, d+"KERNEL")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scrapeURL(t *testing.T, url string, header http.Header) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body)
}

// promtoolCheck runs `promtool check metrics` on a scrape. promtool is in
// Debian's prometheus package; CI installs it.
func promtoolCheck(t *testing.T, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): the exposition format is not checked")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("scrape lacks the line %q", l)
		}
	}
}

// Two scrapes of the VM rig's capture: the second one explains what moved
// (5 packets without an outbound SA) and counts it once per series.
func TestScrapeCaptures(t *testing.T) {
	before, after := vmReading(t, "before"), vmReading(t, "after")
	// A hand-made SA and policy, to exercise their metrics (the captures
	// have no SA dump).
	sa := xfrmstat.SA{Src: netip.MustParseAddr("203.0.113.2"), Dst: netip.MustParseAddr("203.0.113.1"), SPI: 0x1000b, Proto: 50,
		Mode: xfrmstat.ModeTunnel, ReqID: 2, Mark: &xfrmstat.Mark{Value: 42, Mask: 0xffffffff},
		LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 252, Packets: 3, AddTime: time.Unix(1700000000, 0)},
		Stats:           xfrmstat.Stats{IntegrityFailed: 4, Replay: 1}, Replay: &xfrmstat.Replay{Seq: 3, Window: 32}}
	after.SAs = []xfrmstat.SA{sa, sa} // a duplicate must not break the scrape
	after.Policies = []xfrmstat.Policy{{Dir: xfrmstat.DirOut}, {Dir: xfrmstat.DirIn}, {Dir: xfrmstat.DirSocketOut}}
	after.SPDInfo = &xfrmstat.SPDInfo{In: 1, Out: 1, SocketOut: 1, IndexHashMask: 7, HashMaxBuckets: 1 << 20}
	after.SADInfo = &xfrmstat.SADInfo{Count: 1, HashBuckets: 8, HashMaxBuckets: 1 << 20}
	after.PolicyDefaults = &xfrmstat.PolicyDefaults{In: xfrmstat.DefaultAccept, Fwd: xfrmstat.DefaultAccept, Out: xfrmstat.DefaultBlock}

	src := &replay{snaps: []*monitor.Snapshot{before, after}}
	srv := httptest.NewServer(NewExporter(src, 5*time.Second))
	defer srv.Close()

	first := scrapeURL(t, srv.URL, nil)
	wantLines(t, first,
		"tunnelstat_up 1",
		`tunnelstat_link_tx_carrier_errors_total{interface="vti0"} 0`,
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates"} 0`,
		`tunnelstat_part_readable{part="sas"} 0`,
	)
	if strings.Contains(first, "tunnelstat_cause_events_total{") {
		t.Error("the first scrape has cause counts: nothing was explained yet")
	}
	promtoolCheck(t, first)

	second := scrapeURL(t, srv.URL, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"2"}})
	wantLines(t, second,
		`tunnelstat_link_info{if_id="",ikey="",interface="vti0",kind="",local="",okey="",remote=""} 1`,
		`tunnelstat_link_tx_carrier_errors_total{interface="vti0"} 5`,
		`tunnelstat_link_tx_aborted_errors_total{interface="vti0"} 0`,
		`tunnelstat_link_tx_errors_total{interface="vti0"} 5`,
		`tunnelstat_xfrm_mib_errors_total{counter="XfrmOutNoStates"} 5`,
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface="vti0"} 5`,
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface=""} 5`,
		`tunnelstat_xfrm_sas 2`,
		`tunnelstat_xfrm_sa_integrity_failed_total{dst="203.0.113.1",if_id="0",mark="0x2a/0xffffffff",mode="tunnel",proto="esp",reqid="2",spi="0x0001000b",src="203.0.113.2"} 4`,
		`tunnelstat_xfrm_sa_bytes_total{dst="203.0.113.1",if_id="0",mark="0x2a/0xffffffff",mode="tunnel",proto="esp",reqid="2",spi="0x0001000b",src="203.0.113.2"} 252`,
		`tunnelstat_xfrm_policies{dir="out",socket="true"} 1`,
		`tunnelstat_xfrm_spd_policies{dir="out",socket="false"} 1`,
		`tunnelstat_xfrm_spd_hash_buckets 8`,
		`tunnelstat_xfrm_sad_sas 1`,
		`tunnelstat_xfrm_policy_default_block{dir="out"} 1`,
		`tunnelstat_part_readable{part="sas"} 1`,
	)
	if strings.Contains(second, "cause_candidate_events_total{") {
		t.Error("candidate counts for a cause that is settled")
	}
	if d, ok := src.ctxs[1].Deadline(); !ok || time.Until(d) > 2*time.Second {
		t.Errorf("the scraper's 2s timeout was not applied: deadline %v, %v", d, ok)
	}
	promtoolCheck(t, second)

	// A failed read: up 0, the cause counters kept.
	third := scrapeURL(t, srv.URL, nil)
	wantLines(t, third, "tunnelstat_up 0", "tunnelstat_scrape_failures_total 1",
		`tunnelstat_cause_events_total{cause="tx-no-sa",interface="vti0"} 5`)
	promtoolCheck(t, third)
}

// The seed's counters since boot leave the cause open: the events count
// once under "unresolved", and each candidate gets them as a bound.
func TestScrapeUnresolved(t *testing.T) {
	empty := &monitor.Snapshot{Format: monitor.Format, LinksFrom: "proc/net/dev"}
	seed, err := monitor.Load(nil, "../tunnelstat/demodata/vyos-seed003/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	for i := range seed.Links {
		empty.Links = append(empty.Links, monitor.Link{Name: seed.Links[i].Name, StatsFrom: "proc/net/dev", LinkNetNSID: -1})
	}
	srv := httptest.NewServer(NewExporter(&replay{snaps: []*monitor.Snapshot{empty, seed}}, time.Second))
	defer srv.Close()
	scrapeURL(t, srv.URL, nil)
	body := scrapeURL(t, srv.URL, nil)
	wantLines(t, body,
		`tunnelstat_cause_events_total{cause="unresolved",interface="vti0"} 59`,
		`tunnelstat_cause_events_total{cause="unresolved",interface="vti1"} 280`,
		`tunnelstat_cause_candidate_events_total{cause="tx-no-sa",interface="vti0"} 59`,
		`tunnelstat_cause_candidate_events_total{cause="tx-crypto-backlog",interface="vti1"} 280`,
		`tunnelstat_link_procfs_tx_carrier_column_total{interface="vti0"} 59`,
	)
	if strings.Contains(body, "kernel-version-dependent") {
		t.Error("kernel-version-dependent counted as events")
	}
	if strings.Contains(body, `tunnelstat_link_tx_carrier_errors_total{interface="vti0"}`) {
		t.Error("a /proc/net/dev sum exported as tx_carrier_errors")
	}
	promtoolCheck(t, body)
}

func TestRunFlags(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"--scrape-timeout", "0s"}, {"extra"}, {"--netns", ".."}, {"--nope"}} {
		err := run(context.Background(), args, &stderr, nil)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
