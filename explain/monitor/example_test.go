package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// Read a namespace live and explain its counters since boot. Reading
// another namespace needs CAP_SYS_ADMIN, SAs and policies CAP_NET_ADMIN;
// without them the snapshot says what it could not read.
func ExampleOpen() {
	ctx := context.Background()
	r, err := monitor.Open(ctx, monitor.NetNS{Name: "blue"})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	snap, err := r.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range snap.Unread {
		fmt.Printf("not read: %s (%s)\n", u.Part, u.Error)
	}
	for _, l := range snap.Tunnels() {
		fmt.Printf("%s (%s): %d transmit errors\n", l.Name, l.Kind, l.Stats.TxErrors)
	}
	fmt.Print(explain.Explain(nil, snap.Reading()))
}

// Explain two saved readings of a namespace: three packets dropped because
// the outbound policy's SA did not exist.
func ExampleSnapshot_Reading() {
	before, after := decodeFile("testdata/snapshots/live-root-before-linux6.18.json"), decodeFile("testdata/snapshots/live-root-after-linux6.18.json")
	rep := explain.Explain(before.Reading(), after.Reading())
	for _, f := range rep.Findings {
		fmt.Printf("%q %s %d %s\n", f.Interface, f.Cause, f.Count, f.Certainty)
	}
	// Output:
	// "" tx-no-sa 3 exact
}

// Save a reading as a snapshot document and load it back.
func ExampleSnapshot_Encode() {
	// A reading from raw captures of a VM's namespace (a live Reader.Read
	// saves the same way).
	snap, err := monitor.Load(nil, "testdata/captures/vm-6.1/after", "testdata/captures/vm-6.1/KERNEL")
	if err != nil {
		log.Fatal(err)
	}
	var saved bytes.Buffer // or a file
	if err := snap.Encode(&saved); err != nil {
		log.Fatal(err)
	}
	loaded, err := monitor.Decode(&saved)
	if err != nil {
		log.Fatal(err)
	}
	noStates, _ := loaded.MIB.Counter("XfrmOutNoStates")
	fmt.Println(loaded.Format, loaded.KernelRelease, len(loaded.Links), "links")
	fmt.Println("XfrmOutNoStates", noStates)
	// Output:
	// tunnelstat.snapshot/v1 6.1.0-50-cloud-amd64 4 links
	// XfrmOutNoStates 5
}

// Explain raw captures: copies of /proc/net/dev and xfrm_stat, and of
// vti0's sysfs statistics, taken before and after five packets were sent
// into a VTI whose outbound SA was deleted.
func ExampleLoad() {
	before, err := monitor.Load(nil, "testdata/captures/vm-6.1/before", "testdata/captures/vm-6.1/KERNEL")
	if err != nil {
		log.Fatal(err)
	}
	after, err := monitor.Load(nil, "testdata/captures/vm-6.1/after", "testdata/captures/vm-6.1/KERNEL")
	if err != nil {
		log.Fatal(err)
	}
	rep := explain.Explain(before.Reading(), after.Reading())
	for _, f := range rep.Findings {
		fmt.Printf("%q %s %d %s\n", f.Interface, f.Cause, f.Count, f.Certainty)
	}
	// Output:
	// "vti0" tx-no-sa 5 exact
	// "" tx-no-sa 5 exact
}

// Watch two namespaces live until interrupted, and print what moved.
func ExampleMonitor() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, err := monitor.New(&monitor.Config{Interval: 10 * time.Second},
		monitor.NetNS{Name: "blue"}, monitor.NetNS{Path: "/proc/1234/ns/net"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	err = m.Run(ctx, func(u monitor.Update) error {
		switch {
		case u.Err != nil:
			log.Printf("%s: %v", u.NetNS, u.Err) // tried again next interval
		case len(u.Report.Findings) > 0:
			fmt.Printf("%s:\n%s", u.NetNS, u.Report)
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// A Monitor over two namespaces that replays saved readings (Config.Open):
// each interval brings one Update per namespace, in order, and Total counts
// each namespace's events once per cause.
func ExampleMonitor_replay() {
	saved := map[string][]string{
		"blue": {"capture-vm-6.1-before.json", "capture-vm-6.1-after.json", "capture-vm-6.1-after.json"},
		"red":  {"live-root-before-linux6.18.json", "live-root-after-linux6.18.json", "live-root-after-linux6.18.json"},
	}
	open := func(_ context.Context, ns monitor.NetNS) (monitor.Source, error) {
		return &replay{files: saved[ns.Name]}, nil
	}
	m, err := monitor.New(&monitor.Config{Interval: time.Millisecond, Open: open},
		monitor.NetNS{Name: "blue"}, monitor.NetNS{Name: "red"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	totals := map[string]explain.Tally{}
	intervals := 0
	err = m.Run(context.Background(), func(u monitor.Update) error {
		if u.Err != nil {
			return u.Err
		}
		totals[u.NetNS.Name] = u.Total
		if u.NetNS.Name == "red" {
			if intervals++; intervals == 3 {
				return monitor.ErrStop
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, ns := range []string{"blue", "red"} {
		t := totals[ns]
		for _, k := range slices.SortedFunc(maps.Keys(t.Events), explain.TallyKey.Compare) {
			fmt.Printf("%s %q %s: %d\n", ns, k.Interface, k.Cause, t.Events[k])
		}
	}
	// Output:
	// blue "" tx-no-sa: 5
	// blue "vti0" tx-no-sa: 5
	// red "" tx-no-sa: 3
}

// replay is a Source that decodes saved snapshot documents in turn.
type replay struct{ files []string }

func (r *replay) Read(context.Context) (*monitor.Snapshot, error) {
	if len(r.files) == 0 {
		return nil, errors.New("no more saved readings")
	}
	f, err := os.Open("testdata/snapshots/" + r.files[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r.files = r.files[1:]
	return monitor.Decode(f)
}

func (r *replay) Close() error { return nil }

func decodeFile(path string) *monitor.Snapshot {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	s, err := monitor.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	return s
}
