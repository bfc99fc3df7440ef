//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// TestMain lets a test run this test binary as the program itself (as
// another user, see TestNonRoot): with TUNNELSTAT_RUN_MAIN=1 it is main.
func TestMain(m *testing.M) {
	if os.Getenv("TUNNELSTAT_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// xfrmNamespace makes a namespace with a veth pair and an outbound policy
// whose template has no SA, so that packets matching it are dropped and
// counted in XfrmOutNoStates. Those packets never leave the namespace.
func xfrmNamespace(t *testing.T) *testns.NS {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns.IP(t, "addr", "add", "10.0.0.1/24", "dev", "v0")
	ns.IP(t, "link", "set", "v0", "up")
	ns.IP(t, "link", "set", "v1", "up")
	ns.IP(t, "route", "add", "10.0.1.0/24", "dev", "v0")
	ns.IP(t, "xfrm", "policy", "add", "dir", "out", "src", "10.0.0.0/24", "dst", "10.0.1.0/24", "mark", "42",
		"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel", "reqid", "7")
	return ns
}

// sendNoSA sends n packets that the namespace's policy drops for want of
// an SA (marked 42, as the policy wants).
func sendNoSA(t *testing.T, ns *testns.NS, n int) {
	t.Helper()
	_, _ = ns.Ping(t, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.2"), n, testns.PingOpts{Interval: 200 * time.Millisecond, Mark: 42})
}

func TestLiveShowSnapshotExplain(t *testing.T) {
	ns := xfrmNamespace(t)

	code, out, errOut := runApp(t, nil, "show", "--netns", ns.Name)
	if code != exitOK || errOut != "" {
		t.Fatalf("show: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"No tunnel in network namespace " + ns.Name, "Policies: 0 in, 1 out", "out  10.0.0.0/24  10.0.1.0/24  allow     42", "esp 192.0.2.1>192.0.2.2 tunnel reqid 7", "SAs: none"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = runApp(t, nil, "show", "--all", "--netns", ns.Name)
	if !strings.Contains(out, "v0    veth  up") || !strings.Contains(out, "lo    -") {
		t.Errorf("show --all:\n%s", out)
	}

	// snapshot → file, then what moved since.
	before := filepath.Join(t.TempDir(), "before.json")
	code, _, errOut = runApp(t, nil, "snapshot", "--netns", ns.Name, "-o", before)
	if code != exitOK || !strings.Contains(errOut, "wrote "+before+": 3 links (0 tunnels), 0 SAs, 1 policies") {
		t.Fatalf("snapshot: exit %d, stderr %q", code, errOut)
	}
	snap := decodeFile(t, before)
	if snap.NetNS != ns.Name || snap.KernelRelease == "" || snap.MIB == nil || snap.SAs == nil || len(snap.SAs) != 0 ||
		len(snap.Policies) != 1 || snap.Policies[0].Mark.Value != 42 || snap.SPDInfo.Out != 1 || len(snap.Unread) != 0 {
		t.Errorf("snapshot: %+v", snap)
	}
	if v0 := linkNamed(snap, "v0"); v0 == nil || v0.Kind != "veth" || v0.StatsFrom != "stats64" || v0.OperState != "up" {
		t.Errorf("v0 in the snapshot: %+v", v0)
	}

	sendNoSA(t, ns, 3)
	code, out, errOut = runApp(t, nil, "explain", "--json", "--netns", ns.Name, "--since", before)
	if code != exitOK {
		t.Fatalf("explain --since: exit %d, %s", code, errOut)
	}
	fs := decodeReport(t, out)
	if len(fs) != 1 || fs[0].Interface != "" || fs[0].Cause != "tx-no-sa" || fs[0].Count != 3 || fs[0].Certainty != "exact" {
		t.Fatalf("explain --since: %+v, want one namespace-wide tx-no-sa 3 exact", fs)
	}

	// Two snapshots, offline; and the JSON show prints decodes as one.
	after := filepath.Join(t.TempDir(), "after.json")
	if code, _, errOut := runApp(t, nil, "snapshot", "--netns", ns.Name, "-o", after); code != exitOK {
		t.Fatal(errOut)
	}
	_, out, _ = runApp(t, nil, "explain", "--json", "--before", before, "--after", after)
	if fs := decodeReport(t, out); len(fs) != 1 || fs[0].Count != 3 {
		t.Errorf("explain --before --after: %+v", fs)
	}
	_, out, _ = runApp(t, nil, "show", "--json", "--all", "--netns", ns.Name)
	if s, err := monitor.Decode(strings.NewReader(out)); err != nil || len(s.Links) != 3 {
		t.Errorf("show --json: %v, %+v", err, s)
	}
}

// watch on a live namespace: the packets dropped after the first reading
// are explained in the intervals that follow, once.
func TestLiveWatch(t *testing.T) {
	ns := xfrmNamespace(t)
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runApp(t, nil, "watch", "--netns", ns.Name, "--interval", "300ms", "--count", "2", "--json")
		done <- result{code, out, errOut}
	}()
	time.Sleep(100 * time.Millisecond) // the first reading is taken at once
	sendNoSA(t, ns, 3)
	r := <-done
	if r.code != exitOK || r.err != "" {
		t.Fatalf("watch: exit %d, stderr %q", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d reports, want 2:\n%s", len(lines), r.out)
	}
	var total uint64
	for _, l := range lines {
		for _, f := range decodeReport(t, l) {
			if f.Interface != "" || f.Cause != "tx-no-sa" || f.Certainty != "exact" {
				t.Errorf("finding %+v", f)
			}
			total += f.Count
		}
	}
	if total != 3 {
		t.Errorf("%d events over two intervals, want 3:\n%s", total, r.out)
	}
}

func decodeFile(t *testing.T, path string) *monitor.Snapshot {
	t.Helper()
	f, err := os.Open(path)
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

// TestNonRoot runs the program as the user nobody: what any user may read
// is shown, and it says what needs which privilege.
func TestNonRoot(t *testing.T) {
	ns := xfrmNamespace(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	// The test binary, where nobody may run it.
	dir, err := os.MkdirTemp("", "tunnelstat-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "tunnelstat")
	copyFile(t, os.Args[0], bin)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) (int, string, string) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin}, args...)...)
		cmd.Env = append(os.Environ(), "TUNNELSTAT_RUN_MAIN=1")
		cmd.Dir = dir
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errOut.String()
	}

	code, out, errOut := asNobody("show")
	if code != exitOK || !strings.Contains(out, "XFRM MIB (/proc/net/xfrm_stat): ") || !strings.Contains(out, "SAs: not read (needs CAP_NET_ADMIN)") ||
		!strings.Contains(errOut, "not read: sas, policies, policy_defaults, spd_info, sad_info: XFRM netlink needs CAP_NET_ADMIN") {
		t.Errorf("show as nobody: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = asNobody("snapshot")
	s, err := monitor.Decode(strings.NewReader(out))
	if code != exitOK || err != nil {
		t.Fatalf("snapshot as nobody: exit %d, %v", code, err)
	}
	if len(s.Links) == 0 || s.MIB == nil || s.SAs != nil || s.Policies != nil {
		t.Errorf("snapshot as nobody: links %d, MIB %v, SAs %v, policies %v", len(s.Links), s.MIB != nil, s.SAs, s.Policies)
	}
	if u, ok := s.Unreadable("sas"); !ok || u.Needs != "CAP_NET_ADMIN" {
		t.Errorf("unread sas: %+v", s.Unread)
	}
	code, _, errOut = asNobody("explain")
	if code != exitOK {
		t.Errorf("explain as nobody: exit %d, %s", code, errOut)
	}
	code, _, errOut = asNobody("show", "--netns", ns.Name)
	if code != exitError || !strings.Contains(errOut, "CAP_SYS_ADMIN") {
		t.Errorf("show --netns as nobody: exit %d, stderr %q: want exit 1 naming CAP_SYS_ADMIN", code, errOut)
	}
	code, out, _ = asNobody("demo")
	if code != exitOK || !strings.Contains(out, "vti0: 5 × tx-no-sa (exact)") {
		t.Errorf("demo as nobody: exit %d", code)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// watch follows the namespace's XFRM events: a policy added and the
// ACQUIREs of packets into a policy without an SA print one line each in
// text, and are in the report's "events" with --json, beside "health".
func TestLiveWatchHealth(t *testing.T) {
	for _, jsonOut := range []bool{false, true} {
		ns := xfrmNamespace(t)
		args := []string{"watch", "--netns", ns.Name, "--interval", "400ms", "--count", "2"}
		if jsonOut {
			args = append(args, "--json")
		}
		type result struct {
			code     int
			out, err string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errOut := runApp(t, nil, args...)
			done <- result{code, out, errOut}
		}()
		time.Sleep(150 * time.Millisecond) // the first reading is taken at once
		ns.IP(t, "xfrm", "policy", "add", "dir", "in", "src", "10.0.1.0/24", "dst", "10.0.0.0/24")
		_, _ = ns.Ping(t, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.2"), 1, testns.PingOpts{Mark: 42})
		r := <-done
		if r.code != exitOK || (jsonOut && r.err != "") {
			t.Fatalf("watch %v: exit %d, stderr %q", args, r.code, r.err)
		}
		t.Logf("watch %v:\n%s", args, r.out)
		if !jsonOut {
			for _, want := range []string{" policy-added policy dir in index ", " acquire esp spi 0x00000000 192.0.2.1 > 192.0.2.2\n"} {
				if !strings.Contains(r.out, want) {
					t.Errorf("text: no %q in\n%s", want, r.out)
				}
			}
			continue
		}
		var types []string
		for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
			var line struct {
				Events []struct {
					Type string `json:"type"`
				} `json:"events"`
				Health *struct {
					Time time.Time `json:"time"`
				} `json:"health"`
			}
			if err := json.Unmarshal([]byte(l), &line); err != nil || line.Health == nil || line.Health.Time.IsZero() {
				t.Errorf("line %v, health %v: %s", err, line.Health, l)
			}
			for _, e := range line.Events {
				types = append(types, e.Type)
			}
		}
		if strings.Join(types, " ") != "policy-added acquire" {
			t.Errorf("--json: events %q, want policy-added acquire", types)
		}
	}
}
