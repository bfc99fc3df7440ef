package monitor

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// maxEvents is how many XFRM events a namespace keeps for one interval;
// past that, one explain.EventsLost stands for every event dropped, and
// the SAs and policies are read again.
const maxEvents = 1 << 16

// eventGroups are the XFRM multicast groups a Monitor with Config.Health
// subscribes to: everything explain has an event type for.
const eventGroups = xfrmstat.GroupAcquire | xfrmstat.GroupExpire | xfrmstat.GroupSA | xfrmstat.GroupPolicy |
	xfrmstat.GroupMapping | xfrmstat.GroupMigrate

// eventFlags say what an interval's events mean for its reading.
type eventFlags uint8

const (
	// policiesChanged: a policy was added, updated, deleted, expired,
	// flushed or migrated, or a message could not be decoded: the
	// policies are read again.
	policiesChanged eventFlags = 1 << iota
	// eventsLost: events are missing (the kernel's socket buffer or the
	// interval's bound overflowed, or nobody listened for a while): the
	// SAs and policies are read again.
	eventsLost
	// linksChanged: a link was added, deleted or changed (state, MTU,
	// name, parameters; RTNLGRP_LINK), or such notifications were lost:
	// the interval takes a full reading, so that the links' parameters
	// are fresh. Not an event of Report.Events.
	linksChanged
)

// flagsOf says what an event means for the reading.
func flagsOf(t explain.EventType) eventFlags {
	switch t {
	case explain.EventPolicyAdded, explain.EventPolicyUpdated, explain.EventPolicyDeleted,
		explain.EventPolicyExpire, explain.EventPolicyFlush, explain.EventMigrate:
		return policiesChanged
	case explain.EventsLost:
		return eventsLost
	}
	return 0
}

// appendEvent appends e to evs unless evs already holds max events: then
// the first event dropped is replaced by one explain.EventsLost, which
// stands for it and for every later one, and appendEvent says it dropped.
func appendEvent(evs []explain.Event, e explain.Event, max int) ([]explain.Event, bool) {
	switch {
	case len(evs) < max:
		return append(evs, e), false
	case len(evs) == max:
		evs = append(evs, explain.Event{Time: e.Time, Type: explain.EventsLost})
	}
	return evs, true
}

// eventQueue receives one namespace's XFRM events, from a subscription in
// the namespace the Reader reads, into a bounded buffer that each interval
// takes. Its goroutine runs from subscribe to close.
type eventQueue struct {
	sub  *xfrmstat.Subscription
	max  int
	done chan struct{} // closed when the receiving goroutine has returned

	// The link notifications, which set linksChanged; nil when they
	// could not be subscribed to (linkErr says why).
	links     *vtistat.Subscription
	linksDone chan struct{}
	linkErr   error

	mu      sync.Mutex
	evs     []explain.Event
	flags   eventFlags
	err     error // why receiving stopped by itself
	closing bool
}

// subscribeEvents subscribes to the XFRM events of the namespace r's
// sockets are in now, and starts receiving them.
func subscribeEvents(r *Reader, groups xfrmstat.Group, max int) (*eventQueue, error) {
	sub, err := r.subscribe(groups)
	if err != nil {
		return nil, err
	}
	q := &eventQueue{sub: sub, max: max, done: make(chan struct{})}
	if q.links, q.linkErr = r.subscribeLinks(); q.links != nil {
		q.linksDone = make(chan struct{})
		go func() {
			defer close(q.linksDone)
			_ = q.links.Receive(func(vtistat.LinkChange) error {
				q.mu.Lock()
				q.flags |= linksChanged
				q.mu.Unlock()
				return nil
			})
			// Ended by close, or by a failed socket: then nothing says
			// when links change, and every interval reads them in full.
			q.mu.Lock()
			if !q.closing {
				q.linkErr = fmt.Errorf("receive the link notifications of %s: the subscription ended", r.ns.describe())
			}
			q.mu.Unlock()
		}()
	}
	go func() {
		defer close(q.done)
		err := sub.Receive(q.receive)
		q.mu.Lock()
		if !q.closing {
			if err == nil {
				err = errors.New("the subscription ended")
			}
			q.err = fmt.Errorf("receive the XFRM events of %s: %w", r.ns.describe(), err)
		}
		q.mu.Unlock()
	}()
	return q, nil
}

// receive is the subscription's callback: one event, converted and kept.
func (q *eventQueue) receive(ev xfrmstat.Event) error {
	e, ok := ExplainEvent(ev, time.Now())
	var f eventFlags
	if ok {
		f = flagsOf(e.Type)
	} else if u, isUnknown := ev.(*xfrmstat.UnknownEvent); isUnknown && u.Err != nil {
		// A message of the groups subscribed to that could not be
		// decoded: it may have been a policy's.
		f = policiesChanged
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.flags |= f
	if ok {
		var dropped bool
		if q.evs, dropped = appendEvent(q.evs, e, q.max); dropped {
			q.flags |= eventsLost
		}
	}
	return nil
}

// take returns the events received since the previous take and what they
// mean, and empties the buffer; err is why receiving stopped, if it did.
func (q *eventQueue) take() (evs []explain.Event, f eventFlags, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs, f, err = q.evs, q.flags, q.err
	if q.linkErr != nil {
		f |= linksChanged // nothing says when they change: read them every interval
	}
	q.evs, q.flags = nil, 0
	return evs, f, err
}

// close ends the subscription and waits for its goroutine.
func (q *eventQueue) close() error {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	err := q.sub.Close()
	<-q.done
	if q.links != nil {
		_ = q.links.Close()
		<-q.linksDone
	}
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}
