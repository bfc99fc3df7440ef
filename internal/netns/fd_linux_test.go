//go:build linux

package netns_test

import (
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// An FD target is duplicated: the Handle keeps referring to the namespace
// after the caller closed its descriptor, and closing the Handle leaves the
// caller's descriptor alone.
func TestOpenDuplicatesFD(t *testing.T) {
	ns := testns.New(t)
	var want unix.Stat_t
	if err := unix.Stat(ns.Path(), &want); err != nil {
		t.Fatal(err)
	}

	fd, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := netns.Open(netns.Target{FD: fd})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.FD == fd || h.FD < 0 {
		t.Fatalf("Handle FD %d, want a duplicate of %d", h.FD, fd)
	}
	if err := unix.Close(fd); err != nil {
		t.Fatal(err)
	}
	var got unix.Stat_t
	if err := unix.Fstat(h.FD, &got); err != nil {
		t.Fatalf("the Handle's descriptor died with the caller's: %v", err)
	}
	if got.Ino != want.Ino || got.Dev != want.Dev {
		t.Fatalf("Handle refers to inode %d/%d, want the namespace's %d/%d", got.Dev, got.Ino, want.Dev, want.Ino)
	}
	if flags, err := unix.FcntlInt(uintptr(h.FD), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("duplicate is not close-on-exec: flags %#x, %v", flags, err)
	}

	// Closing the Handle does not close a descriptor the caller still has.
	fd2 := ns.Open(t)
	h2, err := netns.Open(netns.Target{FD: fd2})
	if err != nil {
		t.Fatal(err)
	}
	if err := h2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(fd2, &got); err != nil {
		t.Fatalf("Handle.Close closed the caller's descriptor: %v", err)
	}

	// A descriptor that is not open fails at Open, not later.
	if _, err := netns.Open(netns.Target{FD: 1 << 20}); err == nil {
		t.Fatal("Open of a closed descriptor succeeded")
	}
}
