package tally

import (
	"os"
	"reflect"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

func readDev(t *testing.T, path string) []explain.LinkReading {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devs, err := procnet.ParseNetDev(f)
	if err != nil {
		t.Fatal(err)
	}
	return explain.LinksFromProcNetDev(devs)
}

func readMIB(t *testing.T, path string) *procnet.XfrmStat {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := procnet.ParseXfrmStat(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const demodata = "../../tunnelstat/demodata/"

// The seed: 59 and 280 events whose cause is open. Each counts once, under
// Unresolved; each candidate may explain all of them; the
// kernel-version-dependent notes count nothing.
func TestCountSeed(t *testing.T) {
	rep := explain.Explain(nil, &explain.Reading{Links: readDev(t, demodata+"vyos-seed003/proc_net_dev")})
	got := Count(rep)
	want := map[Key]uint64{{"vti0", Unresolved}: 59, {"vti1", Unresolved}: 280}
	if !reflect.DeepEqual(got.Events, want) {
		t.Errorf("Events = %v, want %v", got.Events, want)
	}
	if n := len(got.Candidates); n != 2*17 {
		t.Errorf("%d candidate series, want 34", n)
	}
	if got.Candidates[Key{"vti0", "tx-no-sa"}] != 59 || got.Candidates[Key{"vti1", "tx-crypto-backlog"}] != 280 {
		t.Errorf("Candidates = %v", got.Candidates)
	}
	gs := Groups(rep)
	if len(gs) != 4 || !gs[1].Annotation || gs[0].Cause() != Unresolved || len(gs[0].Causes()) != 17 {
		t.Errorf("groups: %+v", gs)
	}
}

// The VM rig's capture: 5 events of one cause; the namespace-wide finding
// is their total, in its own series.
func TestCountVM(t *testing.T) {
	d := demodata + "vm-6.12/"
	before := &explain.Reading{KernelRelease: "6.12.107+deb13-cloud-amd64", Links: readDev(t, d+"before/proc_net_dev"), MIB: readMIB(t, d+"before/xfrm_stat")}
	after := &explain.Reading{KernelRelease: "6.12.107+deb13-cloud-amd64", Links: readDev(t, d+"after/proc_net_dev"), MIB: readMIB(t, d+"after/xfrm_stat")}
	got := Count(explain.Explain(before, after))
	want := map[Key]uint64{{"vti0", "tx-no-sa"}: 5, {"", "tx-no-sa"}: 5}
	if !reflect.DeepEqual(got.Events, want) || len(got.Candidates) != 0 {
		t.Errorf("Events = %v, Candidates = %v; want %v and none", got.Events, got.Candidates, want)
	}
	if keys := Keys(got.Events); keys[0].Interface != "" || keys[1].Interface != "vti0" {
		t.Errorf("Keys not sorted: %v", keys)
	}
}
