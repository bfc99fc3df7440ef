package explain_test

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// Count a VM's events once each, over two intervals: the 5 packets of the
// first interval are on vti0 and in the namespace-wide series (which
// includes vti0's, not in addition); the second interval adds nothing.
func ExampleTally() {
	before, after := vmCapture("before"), vmCapture("after")
	var total explain.Tally
	total.Add(explain.Explain(before, after)) // first interval
	total.Add(explain.Explain(after, after))  // second: nothing moved
	for _, k := range slices.SortedFunc(maps.Keys(total.Events), explain.TallyKey.Compare) {
		fmt.Printf("%q %s: %d\n", k.Interface, k.Cause, total.Events[k])
	}
	// Output:
	// "" tx-no-sa: 5
	// "vti0" tx-no-sa: 5
}

// The seed's /proc/net/dev since boot: each tunnel's events are one group
// of 17 candidate causes, and a note that the meaning depends on the
// kernel version. A Tally counts each group once, under Unresolved.
func ExampleReport_Groups() {
	f, err := os.Open("testdata/vyos-seed003-proc-net-dev.txt")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	devs, err := procnet.ParseNetDev(f)
	if err != nil {
		panic(err)
	}
	rep := explain.Explain(nil, &explain.Reading{Links: explain.LinksFromProcNetDev(devs)})
	for _, g := range rep.Groups() {
		if g.Annotation {
			fmt.Printf("%s: note %s\n", g.Interface, g.Findings[0].Cause)
			continue
		}
		fmt.Printf("%s: %d events, %s among %d causes\n", g.Interface, g.Events, g.Cause(), len(g.Causes()))
	}
	var t explain.Tally
	t.Add(rep)
	fmt.Println(t.Events[explain.TallyKey{Interface: "vti1", Cause: explain.Unresolved}], "unresolved on vti1;",
		t.Candidates[explain.TallyKey{Interface: "vti1", Cause: "tx-no-sa"}], "of them may be tx-no-sa")
	// Output:
	// vti0: 59 events, unresolved among 17 causes
	// vti0: note kernel-version-dependent
	// vti1: 280 events, unresolved among 17 causes
	// vti1: note kernel-version-dependent
	// 280 unresolved on vti1; 280 of them may be tx-no-sa
}

// vmCapture reads a capture of the VM scenario tests: tx-no-sa on Linux
// 6.12 (an outbound SA deleted, 5 packets into vti0), from /proc/net/dev
// and xfrm_stat.
func vmCapture(when string) *explain.Reading {
	dir := "testdata/vm/6.12/tx-no-sa/" + when + "/"
	open := func(name string) *os.File {
		f, err := os.Open(dir + name)
		if err != nil {
			panic(err)
		}
		return f
	}
	dev, xs := open("proc_net_dev"), open("xfrm_stat")
	defer dev.Close()
	defer xs.Close()
	devs, err := procnet.ParseNetDev(dev)
	if err != nil {
		panic(err)
	}
	mib, err := procnet.ParseXfrmStat(xs)
	if err != nil {
		panic(err)
	}
	release, err := os.ReadFile(dir + "osrelease")
	if err != nil {
		panic(err)
	}
	return &explain.Reading{KernelRelease: strings.TrimSpace(string(release)), Links: explain.LinksFromProcNetDev(devs), MIB: mib}
}
