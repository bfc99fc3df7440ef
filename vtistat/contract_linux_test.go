//go:build linux

package vtistat

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// The contract vtistat shares with xfrmstat (xfrmstat/contract_linux_test.go
// checks the same there): Config.DumpRetries, NetNS.FD, DecodeError.Index.

// DumpRetries: 0 is the default (10), negative is no retry.
func TestContractDumpRetries(t *testing.T) {
	ns := testns.New(t)
	for _, c := range []struct{ cfg, want int }{{0, nl.DefaultDumpRetries}, {-1, 0}, {3, 3}} {
		cl, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}, DumpRetries: c.cfg})
		if err != nil {
			t.Fatal(err)
		}
		if got := cl.c.conn.Retries; got != c.want {
			t.Errorf("DumpRetries %d: %d retries, want %d", c.cfg, got, c.want)
		}
		cl.Close()
	}
}

// NetNS.FD is duplicated at Dial: the caller may close theirs at once.
func TestContractNetNSFDDuplicated(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "link", "add", "fdm0", "type", "veth", "peer", "name", "fdm1")
	fd, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(&Config{NetNS: NetNS{FD: fd}})
	unix.Close(fd) // as soon as Dial returns
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := readLinks(context.Background(), c, ByName("fdm0"))
	if err != nil || len(l) != 1 {
		t.Fatalf("after the caller closed the FD: %+v %v", l, err)
	}
}

// Without Config.ProcNetDevFallback nothing falls back: a client that
// never saw a refusal has no FallbackReason, and the default Config has
// the fallback off.
func TestContractNoSilentFallback(t *testing.T) {
	ns := testns.New(t)
	c, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.c.fallback || c.c.mayFallBack(os.ErrPermission) || c.FallbackReason() != nil {
		t.Fatal("the /proc/net/dev fallback is on without Config.ProcNetDevFallback")
	}
	var s Snapshot
	if err := c.Snapshot(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	for _, l := range s.Links {
		if l.StatsSource == StatsProcNet || l.Dev != nil {
			t.Fatalf("%s read from /proc/net/dev: %+v", l.Name, l)
		}
	}
}

// DecodeError.Index is the position of the message in its dump (as in
// xfrmstat), -1 for a single reply or DecodeLink; IfIndex is the link's.
func TestContractDecodeErrorIndex(t *testing.T) {
	good := handmadeLink(3, "ok0", "", nil)
	bad := handmadeLink(8, "bad0", "", nil, nl.AppendAttr(nil, iflaMTU, []byte{1}))

	c := &client{dst: &Snapshot{}, q: &query{}}
	c.resetLinks()
	for i, m := range [][]byte{good, good} {
		if err := c.onLink(nl.Message{Type: unix.RTM_NEWLINK, Data: m}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	err := c.onLink(nl.Message{Type: unix.RTM_NEWLINK, Data: bad})
	var de *DecodeError
	if !errors.As(err, &de) || de.Message != "RTM_NEWLINK" || de.Index != 2 || de.IfIndex != 8 || de.Name != "bad0" {
		t.Fatalf("third message of a dump: %#v, want Message RTM_NEWLINK, Index 2, IfIndex 8, Name bad0", err)
	}
	if !strings.Contains(err.Error(), "RTM_NEWLINK #2 of the dump") || !strings.Contains(err.Error(), "link 8 (bad0)") {
		t.Errorf("message %q", err)
	}

	// A restarted dump counts from 0 again.
	c.resetLinks()
	if err := c.onLink(nl.Message{Type: unix.RTM_NEWLINK, Data: bad}); !errors.As(err, &de) || de.Index != 0 {
		t.Errorf("first message after a restart: %v", err)
	}

	// A single reply (RTM_GETLINK by name or index) has no position.
	c.resetLinks()
	c.pos = -1
	if err := c.onLink(nl.Message{Type: unix.RTM_NEWLINK, Data: bad}); !errors.As(err, &de) || de.Index != -1 || strings.Contains(err.Error(), "of the dump") {
		t.Errorf("single reply: %v", err)
	}
	var l Link
	if err := DecodeLink(bad, &l); !errors.As(err, &de) || de.Index != -1 || de.IfIndex != 8 {
		t.Errorf("DecodeLink: %v", err)
	}

	// RTM_NEWSTATS: the position among the stats messages.
	s := &Snapshot{Links: []Link{{Index: 3, Name: "ok0"}, {Index: 8, Name: "bad0"}}}
	c = &client{dst: s}
	c.resetStats()
	stats := func(index int32, attrs []byte) nl.Message {
		b := statsRequest(nil, index)
		return nl.Message{Type: unix.RTM_NEWSTATS, Data: append(b, attrs...)}
	}
	if err := c.onStats(stats(3, nl.AppendAttr(nil, iflaStatsLink64, make([]byte, 200)))); err != nil {
		t.Fatal(err)
	}
	err = c.onStats(stats(8, nil))
	if !errors.As(err, &de) || de.Message != "RTM_NEWSTATS" || de.Index != 1 || de.IfIndex != 8 || de.Name != "bad0" {
		t.Fatalf("second stats message: %#v", err)
	}
}
