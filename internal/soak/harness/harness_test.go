//go:build linux

package harness

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// envInt reads a size knob: TUNNELSTAT_CHURN_SECONDS, TUNNELSTAT_SOAK_POLLS.
func envInt(t *testing.T, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

func newNS(t *testing.T) *Namespace {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	ns, err := NewNamespace()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Delete(); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// TestChurn adds and deletes veth pairs and XFRM policies while vtistat and
// xfrmstat read in a loop (default 3 s; TUNNELSTAT_CHURN_SECONDS=60 for the
// figure). No read may miss a static link or policy, and no error other than
// ErrDumpInterrupted is allowed. The change rate is logged, not asserted
// (a loaded CI machine is slower); HARDENING.md records the measured one.
func TestChurn(t *testing.T) {
	ns := newNS(t)
	secs := envInt(t, "TUNNELSTAT_CHURN_SECONDS", 3)
	if testing.Short() {
		secs = 1
	}
	cfg := ChurnConfig{NS: ns, Duration: time.Duration(secs) * time.Second, Links: true, Policies: true, StaticLinks: 4, StaticPolicies: 16, LinkWorkers: 4, SAs: true, StaticSAs: 8}
	if err := Setup(&cfg); err != nil {
		t.Fatal(err)
	}
	fds, gs := CountFDs(), Sample().Goroutines
	res, err := Churn(context.Background(), cfg)
	t.Logf("churn: %s", &res)
	for _, e := range res.Errors {
		t.Logf("error: %s", e)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Incomplete != 0 || res.OtherErrors != 0 {
		t.Errorf("%d reads returned a partial list, %d unexpected errors", res.Incomplete, res.OtherErrors)
	}
	if res.Snapshots == 0 || res.PolicyDumps == 0 || res.SADumps == 0 || res.LinkChanges == 0 || res.PolicyChanges == 0 || res.SAChanges == 0 {
		t.Errorf("nothing happened: %s", &res)
	}
	if n := CountFDs(); n != fds {
		t.Errorf("open fds %d -> %d", fds, n)
	}
	if n := Settle(gs, 2*time.Second); n > gs {
		t.Errorf("goroutines %d -> %d", gs, n)
	}
}

// TestSoak is the short version of `go run ./bench/cmd/soak -polls 1000000`:
// TUNNELSTAT_SOAK_POLLS polls (default 20000, 2000 with -short), asserting
// constant fds and goroutines and a live heap that grew by less than
// 256 KiB.
func TestSoak(t *testing.T) {
	ns := newNS(t)
	polls := envInt(t, "TUNNELSTAT_SOAK_POLLS", 20000)
	if testing.Short() {
		polls = 2000
	}
	cfg := ChurnConfig{NS: ns, StaticLinks: 4, StaticPolicies: 16}
	if err := Setup(&cfg); err != nil {
		t.Fatal(err)
	}
	res, err := Soak(context.Background(), SoakConfig{NS: ns, Polls: polls, Samples: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d polls in %v (CPU user %v, system %v)\n%s", polls, res.Elapsed, res.User, res.System, res.Table())
	if err := res.Check(256 << 10); err != nil {
		t.Error(err)
	}
}
