//go:build linux

package nl_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// TestReceiveNotifications joins RTNLGRP_LINK in a test namespace and
// receives the RTM_NEWLINK notifications of a veth pair, then ends with its
// context.
func TestReceiveNotifications(t *testing.T) {
	ns := testns.New(t)
	c, err := nl.Dial(unix.NETLINK_ROUTE, ns.Open(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.NetlinkConn().JoinGroup(unix.RTNLGRP_LINK); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	seen := 0
	go func() {
		done <- c.Receive(ctx, func(m nl.Message) error {
			if m.Type == unix.RTM_NEWLINK {
				seen++
				if seen == 2 {
					cancel()
				}
			}
			return nil
		})
	}()
	ns.IP(t, "link", "add", "xa", "type", "veth", "peer", "name", "xb")
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || seen < 2 {
			t.Fatalf("Receive: %v after %d RTM_NEWLINK", err, seen)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Receive did not return")
	}
	// The socket is usable again after a cancelled Receive.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := c.Receive(ctx2, func(nl.Message) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Receive: %v", err)
	}
	c.Close()
	if err := c.Receive(context.Background(), nil); !errors.Is(err, nl.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
