//go:build linux

package testns

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Ping's echo requests cross the veth and are answered: B's veth counts
// them, and A's counts the replies.
func TestPing(t *testing.T) {
	p := NewPair(t)
	rx := func(ns *NS, dev string) uint64 {
		s := strings.TrimSpace(ns.Run(t, "cat", "/sys/class/net/"+dev+"/statistics/rx_packets"))
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	bBefore, aBefore := rx(p.B, p.BIf), rx(p.A, p.AIf)
	if n, err := p.A.Ping(t, p.AAddr, p.BAddr, 3, PingOpts{Interval: 10 * time.Millisecond, Mark: 7}); n != 3 || err != nil {
		t.Fatalf("sent %d, %v", n, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for rx(p.A, p.AIf)-aBefore < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if b, a := rx(p.B, p.BIf)-bBefore, rx(p.A, p.AIf)-aBefore; b < 3 || a < 3 {
		t.Errorf("B received %d packets, A %d (the replies), want 3 each", b, a)
	}
	if c := echoRequest(1, 1); len(c) != 40 || c[0] != 8 {
		t.Errorf("echo request % x", c)
	}
}
