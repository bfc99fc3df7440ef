package monitor

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	const d = time.Second
	at := func(ms int64) time.Time { return time.Unix(1_700_000_000, 0).Add(time.Duration(ms) * time.Millisecond) }
	for _, c := range []struct {
		name             string
		prev, start, now time.Time
		next             time.Time
		wait             time.Duration
	}{
		// The first interval started at once at 0.3 s: the second starts
		// on the first whole second a whole interval later.
		{"second interval", time.Time{}, at(300), at(350), at(2000), 1650 * time.Millisecond},
		{"second interval, start on a multiple", time.Time{}, at(1000), at(1100), at(2000), 900 * time.Millisecond},
		{"steady", at(2000), at(2000), at(2050), at(3000), 950 * time.Millisecond},
		// An interval that ran past its successor's start: the successor
		// at once, the one after on the next multiple.
		{"overran", at(2000), at(2000), at(3400), at(3000), 0},
		{"overran, then", at(3000), at(3400), at(3500), at(4000), 500 * time.Millisecond},
		// The wall clock set back an hour: counted again from now.
		{"clock set back", at(3602000), at(3602000), at(2200), at(4000), 1800 * time.Millisecond},
	} {
		next, wait := schedule(c.prev, c.start, c.now, d)
		if !next.Equal(c.next) || wait != c.wait {
			t.Errorf("%s: schedule = %v, %v; want %v, %v", c.name, next.Sub(at(0)), wait, c.next.Sub(at(0)), c.wait)
		}
	}
}

// Two Monitors of one interval, started half an interval apart, read at
// the same instants from their second interval on: the process wakes once
// for both.
func TestMonitorsShareThePhase(t *testing.T) {
	const interval = 200 * time.Millisecond
	snap := decodeGolden(t, "capture-vm-6.1-before.json")
	times := make([][]time.Time, 2)
	var wg sync.WaitGroup
	for i := range times {
		if i > 0 {
			time.Sleep(interval / 2)
		}
		src := &replay{snaps: []*Snapshot{snap, snap, snap, snap}}
		m, err := New(&Config{Interval: interval, Open: func(context.Context, NetNS) (Source, error) { return src, nil }}, NetNS{Name: "ns"})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer m.Close()
			_ = m.Run(context.Background(), func(u Update) error {
				times[i] = append(times[i], u.Time)
				if len(times[i]) == 4 {
					return ErrStop
				}
				return nil
			})
		})
	}
	wg.Wait()
	// The first intervals start when Run does; the others on multiples of
	// the interval, for both Monitors. Without the shared phase they
	// would be half an interval apart; a loaded machine delays a read by
	// a few milliseconds, rarely by a quarter of an interval.
	for k := 2; k < 4; k++ {
		a, b := times[0][k], times[1][k]
		for _, x := range []time.Time{a, b} {
			if off := x.Sub(x.Truncate(interval)); off > interval/4 {
				t.Errorf("interval %d read at %v, %v past a multiple of %v", k, x.Format(time.StampMicro), off, interval)
			}
		}
	}
}
