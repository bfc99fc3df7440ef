//go:build linux

package xfrmstat

import (
	"context"
	"errors"
	"github.com/tunnelstat/tunnelstat/procnet"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
	"golang.org/x/sys/unix"
)

// The contract xfrmstat shares with vtistat (vtistat/contract_linux_test.go
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

// NetNS.FD is duplicated at Dial: the caller may close theirs at once, and
// everything (dumps, the MIB, subscriptions) still reads that namespace.
func TestContractNetNSFDDuplicated(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "xfrm", "policy", "add", "src", "10.0.0.0/8", "dst", "10.0.0.0/8", "dir", "fwd")
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
	ctx := context.Background()
	if pols, err := c.Policies(ctx, nil); err != nil || len(pols) != 1 {
		t.Fatalf("after the caller closed the FD: %d policies, %v", len(pols), err)
	}
	if err := c.MIB(ctx, new(procnet.XfrmStat)); err != nil {
		t.Fatalf("MIB after the caller closed the FD: %v", err)
	}
	sub, err := c.Subscribe(ctx, GroupPolicy)
	if err != nil {
		t.Fatalf("Subscribe after the caller closed the FD: %v", err)
	}
	sub.Close()
}

// DecodeError.Index is the position of the message in its dump (as in
// vtistat), -1 for a single reply.
func TestContractDecodeErrorIndex(t *testing.T) {
	_, sa := handmadeSA()
	c := &client{}
	c.sas = make([]SA, 0, 4)
	for i := range 2 {
		if err := c.onSA(nl.Message{Type: xfrm.MsgNewSA, Data: sa}); err != nil {
			t.Fatalf("SA %d: %v", i, err)
		}
	}
	err := c.onSA(nl.Message{Type: xfrm.MsgNewSA, Data: sa[:100]})
	var de *DecodeError
	if !errors.As(err, &de) || de.Message != "XFRM_MSG_NEWSA" || de.Index != 2 || !strings.Contains(err.Error(), "#2 of the dump") {
		t.Fatalf("third message of a dump: %#v", err)
	}
	if err := c.onSADInfo(nl.Message{Type: xfrm.MsgNewSADInfo, Data: []byte{1}}); !errors.As(err, &de) || de.Index != -1 {
		t.Errorf("single reply: %v", err)
	}
}
