package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// runApp runs the program in-process and returns its exit status, stdout
// and stderr.
func runApp(t *testing.T, a *app, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if a == nil {
		a = newApp(nil, nil)
	}
	a.stdout, a.stderr = &out, &errOut
	code := a.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it after review):\n%s", path, t.Name(), diffLines(string(want), got))
	}
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
			shown++
		}
	}
	return b.String()
}

func itoa(i int) string { return u(uint64(i)) }

// The README's main command: it must work anywhere, without root or
// tunnels, and answer the seed question.
func TestDemoGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"demo.golden", []string{"demo"}},
		{"demo-full.golden", []string{"demo", "--full"}},
		{"demo-vm-5.10.golden", []string{"demo", "--vm", "5.10"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			code, out, errOut := runApp(t, nil, tc.args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestDemoAnswers(t *testing.T) {
	_, out, _ := runApp(t, nil, "demo")
	for _, want := range []string{
		// The seed's numbers, and what they are.
		"vti0:    TX errs 59, TX carrier 59",
		"vti1:    TX errs 280, TX carrier 280",
		"vti0: 59 events, cause open: one of 17",
		"lookup failed (tx_carrier_errors): tx-no-route, tx-no-policy,",
		"IPsec output failed (tx_aborted_errors): tx-sa-expired",
		"check: ip -s -s link show dev vti0",
		// The VM capture, exact on every kernel and from both sources.
		"vti0: 5 × tx-no-sa (exact)",
		"5.10  proc     vti0 tx-no-sa 5 exact",
		"6.12  stats64  vti0 tx-no-sa 5 exact",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestDemoJSON(t *testing.T) {
	code, out, _ := runApp(t, nil, "demo", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Cases []struct {
			Name   string
			Report struct {
				Findings []map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) != 7 {
		t.Fatalf("%d cases, want 7 (the seed and 3 kernels × 2 sources)", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		if len(c.Report.Findings) == 0 {
			t.Errorf("%s: no finding", c.Name)
		}
		for _, f := range c.Report.Findings {
			for _, key := range []string{"interface", "cause", "count", "certainty", "evidence", "checks"} {
				if _, ok := f[key]; !ok {
					t.Errorf("%s: a finding has no %q: %v", c.Name, key, f)
				}
			}
		}
	}
}

// findingJSON is the part of a finding the tests check.
type findingJSON struct {
	Interface string `json:"interface"`
	Cause     string `json:"cause"`
	Count     uint64 `json:"count"`
	Certainty string `json:"certainty"`
	Group     string `json:"group"`
	Evidence  []struct {
		Counter string `json:"counter"`
		Delta   uint64 `json:"delta"`
		Source  string `json:"source"`
	} `json:"evidence"`
	Checks []struct {
		Command string `json:"command"`
	} `json:"checks"`
}

func decodeReport(t *testing.T, out string) []findingJSON {
	t.Helper()
	var rep struct {
		Findings []findingJSON `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	return rep.Findings
}

// Two raw captures of a real kernel, given as files and as directories.
func TestExplainRawCaptures(t *testing.T) {
	d := "demodata/vm-6.1"
	for name, args := range map[string][]string{
		"files": {"--before", d + "/before/proc_net_dev", "--before", d + "/before/xfrm_stat",
			"--after", d + "/after/proc_net_dev", "--after", d + "/after/xfrm_stat"},
		"directories": {"--before", d + "/before", "--after", d + "/after", "--kernel", "6.1.0-50-cloud-amd64"},
		"flags after": {"--json", "--before", d + "/before/xfrm_stat", "--after", d + "/after/xfrm_stat",
			"--before", d + "/before/proc_net_dev", "--after", d + "/after/proc_net_dev"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runApp(t, nil, append([]string{"explain", "--json"}, args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			fs := decodeReport(t, out)
			if len(fs) < 1 || fs[0].Interface != "vti0" || fs[0].Cause != "tx-no-sa" || fs[0].Count != 5 || fs[0].Certainty != "exact" {
				t.Fatalf("first finding %+v, want vti0 tx-no-sa 5 exact", fs)
			}
			var sawMIB bool
			for _, e := range fs[0].Evidence {
				sawMIB = sawMIB || e.Counter == "XfrmOutNoStates" && e.Delta == 5
			}
			if !sawMIB {
				t.Errorf("evidence %+v lacks XfrmOutNoStates +5", fs[0].Evidence)
			}
		})
	}
	// Without the MIB, the same link counters leave the cause open.
	code, out, _ := runApp(t, nil, "explain", "--json", "--before", d+"/before/proc_net_dev", "--after", d+"/after/proc_net_dev")
	if code != exitOK {
		t.Fatal(code)
	}
	fs := decodeReport(t, out)
	if len(fs) < 2 || fs[0].Certainty != "candidate" || fs[0].Group == "" {
		t.Fatalf("without xfrm_stat: %+v, want candidates of one group", fs)
	}
}

// One capture explained since boot: the seed.
func TestExplainSinceBootFile(t *testing.T) {
	code, out, errOut := runApp(t, nil, "explain", "demodata/vyos-seed003/proc_net_dev")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"since boot", "vti0: 59 events, one or more of 17 candidate causes", "vti1: 280 events"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, _, _ = runApp(t, nil, "explain", "--fail-on-findings", "demodata/vyos-seed003/proc_net_dev")
	if code != exitFindings {
		t.Errorf("--fail-on-findings: exit %d, want %d", code, exitFindings)
	}
}

func TestExitCodesAndErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"explain", "--before", "x"}, exitUsage, "--before and --after go together"},
		{[]string{"explain", "--nope"}, exitUsage, "flag provided but not defined: -nope"},
		{[]string{"explain", "--since", "a", "b"}, exitUsage, "--since and --netns do not apply"},
		{[]string{"watch", "--interval", "1ms"}, exitUsage, "too short"},
		{[]string{"demo", "--vm", "4.4"}, exitUsage, "the captures are from 5.10, 6.1, 6.12"},
		{[]string{"explain", "no/such/file"}, exitError, "no such file"},
		{[]string{"explain", "demodata/README.md"}, exitError, "not a recognised reading"},
		{[]string{"explain", "demodata/vm-6.1/after/xfrm_stat"}, exitError, "xfrm_stat alone is not a reading"},
		{[]string{"show", "--netns", ".."}, exitUsage, "not a namespace name"},
	} {
		code, _, errOut := runApp(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "explain"}, {"explain", "-h"}, {"snapshot", "--help"}} {
		code, out, _ := runApp(t, nil, args...)
		if code != exitOK || !strings.Contains(out, "Usage") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
}

// A bad line in a capture is reported with its file and line.
func TestExplainBadCapture(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("demodata/vyos-seed003/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), "59          0", "5x9          0", 1)
	p := filepath.Join(dir, "dev")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runApp(t, nil, "explain", p)
	if code != exitError || !strings.Contains(errOut, "line 3") {
		t.Errorf("exit %d, stderr %q: want exit 1 naming line 3", code, errOut)
	}
}

// fakeSource replays readings.
type fakeSource struct{ snaps []*monitor.Snapshot }

func (f *fakeSource) Read(context.Context) (*monitor.Snapshot, error) {
	if len(f.snaps) == 0 {
		return nil, errors.New("no more readings")
	}
	s := f.snaps[0]
	f.snaps = f.snaps[1:]
	return s, nil
}
func (f *fakeSource) Close() error { return nil }

func loadDemo(t *testing.T, paths ...string) *monitor.Snapshot {
	t.Helper()
	s, err := monitor.Load(nil, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWatch(t *testing.T) {
	d := "demodata/vm-6.12/"
	before := loadDemo(t, d+"before", d+"KERNEL")
	after := loadDemo(t, d+"after", d+"KERNEL")
	before.Time = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	after.Time = before.Time.Add(10 * time.Second)
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return &fakeSource{[]*monitor.Snapshot{before, after, after}}, nil
	}
	start := time.Now()
	code, out, errOut := runApp(t, a, "watch", "--count", "2", "--json", "--interval", "100ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d reports, want 2:\n%s", len(lines), out)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("two 100ms intervals took %v", d)
	}
	if fs := decodeReport(t, lines[0]); len(fs) == 0 || fs[0].Cause != "tx-no-sa" || fs[0].Count != 5 {
		t.Errorf("first interval: %+v", fs)
	}
	if fs := decodeReport(t, lines[1]); len(fs) != 0 {
		t.Errorf("second interval, nothing moved: %+v", fs)
	}
}

// Peers of a wireguard link refused for want of CAP_NET_ADMIN are not
// blamed on XFRM netlink.
func TestWarnUnreadWireGuard(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"sas", "policies"}, "not read: sas, policies: XFRM netlink needs CAP_NET_ADMIN"},
		{[]string{"sas", "wireguard"}, "not read: sas, wireguard: XFRM netlink and the wireguard family need CAP_NET_ADMIN"},
		{[]string{"wireguard"}, "not read: wireguard: the wireguard family needs CAP_NET_ADMIN"},
	} {
		var errOut strings.Builder
		a := newApp(io.Discard, &errOut)
		var un []monitor.Unread
		for _, p := range tc.parts {
			un = append(un, monitor.Unread{Part: p, Error: "operation not permitted", Needs: "CAP_NET_ADMIN"})
		}
		a.warnUnread(un)
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: %q, want %q", tc.parts, errOut.String(), tc.want)
		}
	}
}
