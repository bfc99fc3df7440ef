//go:build linux

package nl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// ifinfomsg for a dump of all links.
var ifinfo = make([]byte, unix.SizeofIfInfomsg)

func TestDumpLinksInNamespace(t *testing.T) {
	ns := testns.New(t)
	const veths = 50
	for i := 0; i < veths; i++ {
		ns.IP(t, "link", "add", fmt.Sprintf("a%d", i), "type", "veth", "peer", "name", fmt.Sprintf("b%d", i))
	}
	c, err := nl.Dial(unix.NETLINK_ROUTE, ns.Open(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for round := 0; round < 3; round++ {
		n := 0
		err = c.Dump(context.Background(), "RTM_GETLINK dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo,
			func() { n = 0 }, func(m nl.Message) error {
				if m.Type != unix.RTM_NEWLINK {
					return fmt.Errorf("unexpected type %d", m.Type)
				}
				n++
				return nil
			}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := 2*veths + 1; n != want { // + lo
			t.Fatalf("round %d: %d links, want %d", round, n, want)
		}
	}
}

func TestAbandonedDumpIsDrained(t *testing.T) {
	ns := testns.New(t)
	for i := 0; i < 100; i++ {
		ns.IP(t, "link", "add", fmt.Sprintf("a%d", i), "type", "veth", "peer", "name", fmt.Sprintf("b%d", i))
	}
	c, err := nl.Dial(unix.NETLINK_ROUTE, ns.Open(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := errors.New("stop")
	err = c.Dump(context.Background(), "dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo, nil,
		func(nl.Message) error { return stop }, nil)
	if !errors.Is(err, stop) {
		t.Fatalf("got %v", err)
	}
	n := 0
	err = c.Dump(context.Background(), "dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo, func() { n = 0 },
		func(nl.Message) error { n++; return nil }, nil)
	if err != nil || n != 201 {
		t.Fatalf("after abandoned dump: n=%d err=%v", n, err)
	}
}

func TestCancelledContext(t *testing.T) {
	c, err := nl.Dial(unix.NETLINK_ROUTE, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = c.Dump(ctx, "dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo, nil, func(nl.Message) error { return nil }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	if err := c.Dump(ctx, "dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo, nil, func(nl.Message) error { return nil }, nil); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
	c.Close()
	if err := c.Dump(context.Background(), "dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo, nil, nil, nil); !errors.Is(err, nl.ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
}

func TestReuseAllocs(t *testing.T) {
	c, err := nl.Dial(unix.NETLINK_ROUTE, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fn := func(nl.Message) error { return nil }
	ctx := context.Background()
	allocs := testing.AllocsPerRun(50, func() {
		if err := c.Dump(ctx, "dump", unix.RTM_GETLINK, nl.FlagDump, ifinfo, nil, fn, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per dump, want 0", allocs)
	}
}

// A file that is no network namespace is refused with a message that says
// so, not as a missing capability.
func TestDialNotANamespace(t *testing.T) {
	testns.RequireRoot(t)
	f, err := os.CreateTemp(t.TempDir(), "notns")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = nl.Dial(unix.NETLINK_ROUTE, int(f.Fd()), 0)
	if err == nil || !strings.Contains(err.Error(), "not a network namespace") || strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
		t.Fatalf("got %v", err)
	}
}
