//go:build linux

package nl

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// A route conn holds a receive buffer only during an exchange; a generic
// netlink conn keeps its own.
func TestReceiveBufferHeldOnlyDuringExchange(t *testing.T) {
	c, err := Dial(unix.NETLINK_ROUTE, -1, 0)
	if err != nil {
		t.Skipf("no rtnetlink here: %v", err)
	}
	defer c.Close()
	if c.buf != nil {
		t.Fatal("a buffer right after Dial")
	}
	req := make([]byte, 16) // ifinfomsg, AF_UNSPEC
	held := false
	err = c.Dump(context.Background(), "dump links", unix.RTM_GETLINK, FlagDump, req, nil, func(Message) error {
		held = c.buf != nil // fn runs under the exchange, c.mu held by it
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !held || c.buf != nil || c.bufp != nil {
		t.Errorf("buffer during the dump %v, after it %v", held, c.buf != nil || c.bufp != nil)
	}

	g, err := Dial(unix.NETLINK_GENERIC, -1, 0)
	if err != nil {
		t.Skipf("no generic netlink here: %v", err)
	}
	defer g.Close()
	if !g.own || len(g.buf) != recvBufSize {
		t.Errorf("generic netlink conn: own %v, buffer %d bytes", g.own, len(g.buf))
	}
}

// Conns that share the pool, dumping at once, each read their own replies
// (the links of a namespace of their own, where nothing moves).
func TestPooledBuffersConcurrentDumps(t *testing.T) {
	ns := testns.New(t)
	fd := ns.Open(t)
	dump := func(c *Conn) []byte {
		var out []byte
		err := c.Dump(context.Background(), "dump links", unix.RTM_GETLINK, FlagDump, make([]byte, 16), func() { out = out[:0] }, func(m Message) error {
			out = append(out, m.Data...)
			return nil
		}, nil)
		if err != nil {
			t.Error(err)
		}
		return out
	}
	conns := make([]*Conn, 8)
	for i := range conns {
		c, err := Dial(unix.NETLINK_ROUTE, fd, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	want := dump(conns[0])
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for range 20 {
				if got := dump(c); !bytes.Equal(got, want) {
					t.Errorf("a dump of %d bytes differs from the first (%d bytes)", len(got), len(want))
					return
				}
			}
		})
	}
	wg.Wait()
}
