package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
)

// replay is a Source that returns its readings in turn; a nil reading is a
// failed read.
type replay struct {
	mu     sync.Mutex
	snaps  []*Snapshot
	closed bool
}

func (r *replay) Read(ctx context.Context) (*Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.snaps) == 0 {
		return nil, errors.New("no more readings")
	}
	s := r.snaps[0]
	r.snaps = r.snaps[1:]
	if s == nil {
		return nil, errors.New("read failed")
	}
	return s, nil
}

func (r *replay) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// replays opens the replay of each namespace; a namespace's opens fail
// while failOpens says so.
type replays struct {
	mu        sync.Mutex
	sources   map[NetNS]*replay
	failOpens map[NetNS]int
}

func (rs *replays) open(_ context.Context, ns NetNS) (Source, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.failOpens[ns] > 0 {
		rs.failOpens[ns]--
		return nil, fmt.Errorf("open %s: %w", ns.describe(), os.ErrNotExist)
	}
	r, ok := rs.sources[ns]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", ns.describe(), os.ErrNotExist)
	}
	return r, nil
}

func key(iface string, c explain.CauseID) explain.TallyKey {
	return explain.TallyKey{Interface: iface, Cause: c}
}

// Two namespaces, one of which cannot be opened at first and then fails a
// read: every interval yields one Update per namespace, in order; the
// failures do not stop the other; no event is lost or counted twice.
func TestMonitorReplay(t *testing.T) {
	vmBefore, vmAfter := decodeGolden(t, "capture-vm-6.1-before.json"), decodeGolden(t, "capture-vm-6.1-after.json")
	liveBefore, liveAfter := decodeGolden(t, "live-root-before-linux6.18.json"), decodeGolden(t, "live-root-after-linux6.18.json")
	blue, red := NetNS{Name: "blue"}, NetNS{Name: "red"}
	rs := &replays{
		sources: map[NetNS]*replay{
			blue: {snaps: []*Snapshot{vmBefore, vmAfter, vmAfter, vmAfter, vmAfter}},
			red:  {snaps: []*Snapshot{liveBefore, nil, liveAfter, liveAfter}},
		},
		failOpens: map[NetNS]int{red: 1},
	}
	m, err := New(&Config{Interval: time.Millisecond, Open: rs.open}, blue, red)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var totals []explain.Tally
	err = m.Run(context.Background(), func(u Update) error {
		var line string
		switch {
		case u.Err != nil:
			line = "error: " + u.Err.Error()
			if !errors.Is(u.Err, os.ErrNotExist) && !strings.Contains(u.Err.Error(), "read failed") {
				t.Errorf("%s: %v", u.NetNS, u.Err)
			}
		case u.Baseline:
			line = "baseline"
		default:
			line = fmt.Sprintf("%d findings", len(u.Report.Findings))
		}
		if u.Err == nil && u.Snapshot == nil {
			t.Errorf("%s: a Source's reading without its Snapshot", u.NetNS)
		}
		got = append(got, u.NetNS.Name+": "+line+fmt.Sprint(" ", u.Total.Events))
		if u.NetNS == blue {
			totals = append(totals, u.Total)
		}
		if len(got) == 10 {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{
		`blue: baseline map[]`,
		`red: error: open network namespace "red": file does not exist map[]`,
		`blue: 2 findings map[{ tx-no-sa}:5 {vti0 tx-no-sa}:5]`,
		`red: baseline map[]`,
		`blue: 0 findings map[{ tx-no-sa}:5 {vti0 tx-no-sa}:5]`,
		`red: error: read failed map[]`,
		`blue: 0 findings map[{ tx-no-sa}:5 {vti0 tx-no-sa}:5]`,
		`red: 1 findings map[{ tx-no-sa}:3]`,
		`blue: 0 findings map[{ tx-no-sa}:5 {vti0 tx-no-sa}:5]`,
		`red: 0 findings map[{ tx-no-sa}:3]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("updates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A delivered Total never changes.
	if totals[0].Events != nil || totals[1].Events[key("vti0", "tx-no-sa")] != 5 {
		t.Errorf("totals: %v", totals)
	}

	// Run again: it carries on from the previous readings and totals.
	rs.sources[blue].snaps = []*Snapshot{vmBefore, vmAfter}
	rs.sources[red].snaps = []*Snapshot{liveBefore, liveAfter}
	var again []explain.Tally
	err = m.Run(context.Background(), func(u Update) error {
		if u.Err != nil || u.Baseline {
			t.Errorf("second Run: %+v", u)
		}
		again = append(again, u.Total)
		if len(again) == 4 {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// blue: after → before is a counter reset (1 event), then 5 more.
	if b := again[2].Events; b[key("vti0", "tx-no-sa")] != 10 || b[key("vti0", "counter-reset")] != 1 {
		t.Errorf("blue after the second Run: %v", b)
	}
	if r := again[3].Events; r[key("", "tx-no-sa")] != 6 {
		t.Errorf("red after the second Run: %v", r)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !rs.sources[blue].closed || !rs.sources[red].closed {
		t.Error("Close did not close the sources")
	}
	if err := m.Run(context.Background(), func(Update) error { return nil }); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

// How Run ends: ctx, fn's error, ErrStop; and what it refuses.
func TestMonitorRunEnds(t *testing.T) {
	snap := decodeGolden(t, "capture-vm-6.1-after.json")
	endless := func(context.Context, NetNS) (Source, error) { return &endlessSource{snap}, nil }
	goroutines := runtime.NumGoroutine()

	m, err := New(&Config{Interval: time.Millisecond, Open: endless}, NetNS{}, NetNS{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = m.Run(ctx, func(Update) error {
		if n++; n == 7 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n < 7 {
		t.Errorf("cancelled Run: %v after %d updates", err, n)
	}
	boom := errors.New("boom")
	if err := m.Run(context.Background(), func(Update) error { return boom }); err != boom {
		t.Errorf("fn's error: %v", err)
	}

	// Run twice at once, or Close during Run, is refused.
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		first := true
		done <- m.Run(context.Background(), func(Update) error {
			if first {
				first = false
				close(started)
				<-release
			}
			return ErrStop
		})
	}()
	<-started
	if err := m.Run(context.Background(), func(Update) error { return nil }); err == nil || !strings.Contains(err.Error(), "while running") {
		t.Errorf("second Run at once: %v", err)
	}
	if err := m.Close(); err == nil {
		t.Error("Close during Run succeeded")
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("Run stopped with ErrStop: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// No goroutine left behind.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("%d goroutines after Run, %d before", g, goroutines)
	}
}

type endlessSource struct{ s *Snapshot }

func (e *endlessSource) Read(context.Context) (*Snapshot, error) { return e.s, nil }
func (e *endlessSource) Close() error                            { return nil }

// A Source that hangs is cut off at the interval: the other namespace's
// Update still comes.
func TestMonitorSlowSource(t *testing.T) {
	snap := decodeGolden(t, "capture-vm-6.1-after.json")
	open := func(_ context.Context, ns NetNS) (Source, error) {
		if ns.Name == "slow" {
			return hang{}, nil
		}
		return &endlessSource{snap}, nil
	}
	m, err := New(&Config{Interval: 20 * time.Millisecond, Open: open}, NetNS{Name: "slow"}, NetNS{Name: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var got []Update
	err = m.Run(context.Background(), func(u Update) error {
		got = append(got, u)
		if len(got) == 2 {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got[0].Err, context.DeadlineExceeded) || got[1].Err != nil || !got[1].Baseline {
		t.Errorf("updates: %v / %v", got[0].Err, got[1].Err)
	}
}

type hang struct{}

func (hang) Read(ctx context.Context) (*Snapshot, error) { <-ctx.Done(); return nil, ctx.Err() }
func (hang) Close() error                                { return nil }

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  *Config
		ns   []NetNS
		want string
	}{
		{nil, nil, "no namespace"},
		{nil, []NetNS{{Name: "a"}, {Name: "a"}}, "given twice"},
		{&Config{Interval: -time.Second}, []NetNS{{}}, "negative interval"},
		{&Config{Health: &explain.HealthConfig{OneWayAfter: -1}}, []NetNS{{}}, "OneWayAfter -1"},
		{&Config{Health: &explain.HealthConfig{RekeyMargin: -time.Second}}, []NetNS{{}}, "RekeyMargin -1s"},
	} {
		if _, err := New(tc.cfg, tc.ns...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v, %v): %v, want %q", tc.cfg, tc.ns, err, tc.want)
		}
	}
	m, err := New(nil, NetNS{})
	if err != nil || m.interval != DefaultInterval {
		t.Errorf("defaults: %v, %v", m, err)
	}
}
