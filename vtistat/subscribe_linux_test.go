//go:build linux

package vtistat

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// A link added, brought up, given another MTU and deleted each notify the
// subscription, with its index and name; counters moving do not.
func TestSubscribeLinkChanges(t *testing.T) {
	ns := quietNS(t)
	c, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	changes := make(chan LinkChange, 64)
	done := make(chan error, 1)
	go func() { done <- sub.Receive(func(ch LinkChange) error { changes <- ch; return nil }) }()

	next := func(what string, want func(LinkChange) bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case ch := <-changes:
				if want(ch) {
					return
				}
			case <-deadline:
				t.Fatalf("%s: no notification", what)
			}
		}
	}
	ns.IP(t, "link", "add", "ch0", "type", "veth", "peer", "name", "ch1")
	next("add", func(ch LinkChange) bool { return ch.Name == "ch0" && !ch.Deleted && ch.Index > 0 })
	ns.IP(t, "link", "set", "ch0", "mtu", "1400")
	next("mtu", func(ch LinkChange) bool { return ch.Name == "ch0" && !ch.Deleted })
	ns.IP(t, "link", "del", "ch0")
	next("delete", func(ch LinkChange) bool { return ch.Name == "ch0" && ch.Deleted })

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not end with its context")
	}
	c.Close()
	if _, err := c.Subscribe(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want os.ErrClosed", err)
	}
}
