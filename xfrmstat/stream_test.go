package xfrmstat

import (
	"context"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// EventStream reads a subscription with Receive in its own goroutine and
// hands the events over a channel, closed when Receive returns; Err then
// says why. It is how an embedder who wants a channel builds one from
// Receive, and how the tests read subscriptions. (Exported for the tests of
// package xfrmstat_test; it exists only in test builds.)
type EventStream struct {
	C    <-chan Event
	done chan struct{}
	err  error
}

// StreamEvents starts reading sub. A send that nobody takes ends when ctx
// is done.
func StreamEvents(ctx context.Context, sub *Subscription) *EventStream {
	ch := make(chan Event, 64)
	s := &EventStream{C: ch, done: make(chan struct{})}
	go func() {
		s.err = sub.Receive(func(ev Event) error {
			select {
			case ch <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(s.done)
		close(ch)
	}()
	return s
}

// Err is why the stream ended, nil while it runs.
func (s *EventStream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// readMIB reads the MIB into fresh storage.
func readMIB(ctx context.Context, c *Client) (*procnet.XfrmStat, error) {
	s := new(procnet.XfrmStat)
	if err := c.MIB(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}
