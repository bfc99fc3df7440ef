package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
)

// With Config.Open, Health follows each Snapshot's SAs and policies:
// every interval, the baseline included, has Health and no events;
// without Config.Health, no interval has.
func TestMonitorReplayHealth(t *testing.T) {
	before, after := decodeGolden(t, "capture-vm-6.1-before.json"), decodeGolden(t, "capture-vm-6.1-after.json")
	for _, health := range []*explain.HealthConfig{nil, {OneWayAfter: 2}} {
		src := &replay{snaps: []*Snapshot{before, after, after}}
		open := func(context.Context, NetNS) (Source, error) { return src, nil }
		m, err := New(&Config{Interval: time.Millisecond, Open: open, Health: health}, NetNS{Name: "blue"})
		if err != nil {
			t.Fatal(err)
		}
		if health != nil && (m.health == health || *m.health != *health) {
			t.Error("the Monitor does not keep its own copy of Config.Health")
		}
		n := 0
		err = m.Run(context.Background(), func(u Update) error {
			if u.Err != nil {
				t.Fatalf("interval %d: %v", n, u.Err)
			}
			if (u.Health != nil) != (health != nil) || u.Report.Events != nil || u.Total.XfrmEvents != nil {
				t.Errorf("health %v: interval %d: health %+v, events %v, total %v", health != nil, n, u.Health, u.Report.Events, u.Total.XfrmEvents)
			}
			if u.Reading == nil || !u.Reading.Time.Equal(u.Snapshot.Time) || len(u.Reading.Links) != len(u.Snapshot.Links) {
				t.Errorf("interval %d: Update.Reading %v does not hold the interval's reading", n, u.Reading)
			}
			if u.Health != nil && !u.Health.Time.Equal(u.Snapshot.Time) {
				t.Errorf("interval %d: health of %v, reading of %v", n, u.Health.Time, u.Snapshot.Time)
			}
			if n++; n == 3 {
				return ErrStop
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if (m.watched[0].tracker != nil) != (health != nil) || m.watched[0].q != nil {
			t.Errorf("health %v: tracker %v, subscription %v", health != nil, m.watched[0].tracker != nil, m.watched[0].q != nil)
		}
		m.Close()
	}
}

// The bound on an interval's events: past it, one events-lost stands for
// every event dropped.
func TestAppendEventBound(t *testing.T) {
	at := time.Unix(1, 0)
	var evs []explain.Event
	dropped := 0
	for i := range 5 {
		var d bool
		evs, d = appendEvent(evs, explain.Event{Time: at.Add(time.Duration(i)), Type: explain.EventSAAdded}, 3)
		if d {
			dropped++
		}
	}
	if len(evs) != 4 || evs[3].Type != explain.EventsLost || !evs[3].Time.Equal(at.Add(3)) || dropped != 2 {
		t.Errorf("5 events into a bound of 3: %+v, %d dropped", evs, dropped)
	}
	if evs, d := appendEvent(nil, explain.Event{Type: explain.EventsLost}, 3); d || len(evs) != 1 {
		t.Errorf("an events-lost within the bound: %+v, dropped %v", evs, d)
	}
	if flagsOf(explain.EventPolicyUpdated) != policiesChanged || flagsOf(explain.EventsLost) != eventsLost || flagsOf(explain.EventAcquire) != 0 {
		t.Error("flagsOf")
	}
}
