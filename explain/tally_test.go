package explain_test

import (
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// captureReading reads a capture directory of the VM scenario tests (or a
// single /proc/net/dev copy) into a Reading from /proc/net/dev and, when
// there is one, xfrm_stat.
func captureReading(t testing.TB, devPath string) *explain.Reading {
	t.Helper()
	f, err := os.Open(devPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devs, err := procnet.ParseNetDev(f)
	if err != nil {
		t.Fatal(err)
	}
	r := &explain.Reading{Links: explain.LinksFromProcNetDev(devs)}
	dir := strings.TrimSuffix(devPath, "proc_net_dev")
	if dir == devPath {
		return r
	}
	if b, err := os.ReadFile(dir + "osrelease"); err == nil {
		r.KernelRelease = strings.TrimSpace(string(b))
	}
	mf, err := os.Open(dir + "xfrm_stat")
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	if r.MIB, err = procnet.ParseXfrmStat(mf); err != nil {
		t.Fatal(err)
	}
	return r
}

// The seed: 59 and 280 events whose cause is open. Each counts once, under
// Unresolved; each candidate may explain all of them; the
// kernel-version-dependent notes count nothing.
func TestTallySeed(t *testing.T) {
	rep := explain.Explain(nil, captureReading(t, "testdata/vyos-seed003-proc-net-dev.txt"))
	var got explain.Tally
	got.Add(rep)
	want := map[explain.TallyKey]uint64{{"vti0", explain.Unresolved}: 59, {"vti1", explain.Unresolved}: 280}
	if !reflect.DeepEqual(got.Events, want) {
		t.Errorf("Events = %v, want %v", got.Events, want)
	}
	if n := len(got.Candidates); n != 2*17 {
		t.Errorf("%d candidate series, want 34", n)
	}
	if got.Candidates[explain.TallyKey{"vti0", "tx-no-sa"}] != 59 || got.Candidates[explain.TallyKey{"vti1", "tx-crypto-backlog"}] != 280 {
		t.Errorf("Candidates = %v", got.Candidates)
	}
	gs := rep.Groups()
	if len(gs) != 4 || !gs[1].Annotation || gs[0].Cause() != explain.Unresolved || len(gs[0].Causes()) != 17 || gs[0].Events != 59 {
		t.Errorf("groups: %+v", gs)
	}
	if _, ok := explain.Lookup(explain.Unresolved); ok {
		t.Error("Unresolved is in the catalogue")
	}
}

// A VM capture: 5 events of one cause; the namespace-wide finding is their
// total, in its own series. Two intervals add up.
func TestTallyVM(t *testing.T) {
	d := "testdata/vm/6.12/tx-no-sa/"
	before, after := captureReading(t, d+"before/proc_net_dev"), captureReading(t, d+"after/proc_net_dev")
	rep := explain.Explain(before, after)
	var got explain.Tally
	got.Add(rep)
	want := map[explain.TallyKey]uint64{{"vti0", "tx-no-sa"}: 5, {"", "tx-no-sa"}: 5}
	if !reflect.DeepEqual(got.Events, want) || got.Candidates != nil {
		t.Fatalf("Events = %v, Candidates = %v; want %v and none", got.Events, got.Candidates, want)
	}
	keys := slices.SortedFunc(maps.Keys(got.Events), explain.TallyKey.Compare)
	if keys[0].Interface != "" || keys[1].Interface != "vti0" {
		t.Errorf("keys not sorted: %v", keys)
	}
	// The next interval: nothing moved, nothing added; then the same
	// events again.
	got.Add(explain.Explain(after, after))
	got.Add(rep)
	if got.Events[explain.TallyKey{"vti0", "tx-no-sa"}] != 10 || got.Events[explain.TallyKey{"", "tx-no-sa"}] != 10 || len(got.Events) != 2 {
		t.Errorf("after three intervals: %v", got.Events)
	}
}

// An empty report allocates nothing: a monitor adds one per quiet interval.
func TestTallyQuietAllocs(t *testing.T) {
	d := "testdata/vm/6.12/tx-no-sa/"
	r := captureReading(t, d+"after/proc_net_dev")
	rep := explain.Explain(r, r)
	if len(rep.Findings) != 0 {
		t.Fatalf("findings in a quiet interval: %v", rep)
	}
	var tl explain.Tally
	if n := testing.AllocsPerRun(100, func() { tl.Add(rep) }); n != 0 || tl.Events != nil {
		t.Errorf("%v allocations, events %v", n, tl.Events)
	}
}

func TestTallyKeyCompare(t *testing.T) {
	keys := []explain.TallyKey{{"vti1", "b"}, {"", "z"}, {"vti0", "b"}, {"vti0", "a"}}
	slices.SortFunc(keys, explain.TallyKey.Compare)
	want := []explain.TallyKey{{"", "z"}, {"vti0", "a"}, {"vti0", "b"}, {"vti1", "b"}}
	if !slices.Equal(keys, want) {
		t.Errorf("%v", keys)
	}
}
