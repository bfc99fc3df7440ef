//go:build linux

package monitor

import (
	"io"
	"os"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"golang.org/x/sys/unix"
)

// openNS opens a namespace file and returns it (while it is open, the
// namespace lives and no other namespace can take its inode number) and
// the identity of the namespace it refers to. It opens the file as the
// netlink clients do (internal/netns): without blocking, and refusing
// anything but a namespace file (a named pipe is not waited on).
func openNS(path string) (io.Closer, nsID, error) {
	h, err := netns.Open(netns.Target{Path: path})
	if err != nil {
		return nil, nsID{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(h.FD, &st); err != nil {
		h.Close()
		return nil, nsID{}, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return h, nsID{dev: st.Dev, ino: st.Ino}, nil
}

// statNS returns the identity of the namespace path refers to now: a
// name under /run/netns is a bind mount of the namespace's nsfs inode,
// /proc/PID/ns/net a link to it, and stat follows both.
func statNS(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}
