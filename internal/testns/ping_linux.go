//go:build linux

package testns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/netns"
)

// PingOpts shapes the echo requests Ping sends.
type PingOpts struct {
	// Interval between two requests (ping -i); 0 sends them back to back.
	Interval time.Duration
	// Mark is the packets' SO_MARK (ping -m); 0 leaves it unset.
	Mark uint32
}

// Ping sends n ICMP echo requests from src to dst inside the namespace,
// from a raw socket bound to src (ping -I: one route lookup per packet),
// so tests make their traffic without a ping binary. It waits for no
// reply: the tests use it to drive packets into policies and tunnels. It
// returns how many sendto calls succeeded and the first error; a packet an
// XFRM policy drops for want of an SA may fail or succeed, depending on
// the kernel and net.core.xfrm_larval_drop.
func (ns *NS) Ping(t testing.TB, src, dst netip.Addr, n int, o PingOpts) (sent int, firstErr error) {
	t.Helper()
	if !src.Is4() || !dst.Is4() {
		t.Fatalf("testns.Ping: IPv4 addresses only, got %v → %v", src, dst)
	}
	h := &netns.Handle{FD: ns.Open(t)}
	var fd int
	if err := h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	}); err != nil {
		t.Fatalf("%s: raw ICMP socket: %v", ns.Name, err)
	}
	defer unix.Close(fd)
	if o.Mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(o.Mark)); err != nil {
			t.Fatalf("%s: SO_MARK %d: %v", ns.Name, o.Mark, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
		t.Fatalf("%s: bind %v: %v", ns.Name, src, err)
	}
	to := &unix.SockaddrInet4{Addr: dst.As4()}
	for seq := range n {
		if seq > 0 && o.Interval > 0 {
			time.Sleep(o.Interval)
		}
		if err := unix.Sendto(fd, echoRequest(uint16(fd), uint16(seq+1)), 0, to); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: echo %d to %v: %w", ns.Name, seq+1, dst, err)
			}
			continue
		}
		sent++
	}
	return sent, firstErr
}

// echoRequest is an ICMP echo request with a 32-byte payload.
func echoRequest(id, seq uint16) []byte {
	b := make([]byte, 8+32)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(b[2:], ^uint16(sum))
	return b
}
