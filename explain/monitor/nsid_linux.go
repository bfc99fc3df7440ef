//go:build linux

package monitor

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openNS opens a namespace file and returns it (while it is open, the
// namespace lives and no other namespace can take its inode number) and
// the identity of the namespace it refers to.
func openNS(path string) (io.Closer, nsID, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nsID{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nsID{}, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return fdCloser(fd), nsID{dev: st.Dev, ino: st.Ino}, nil
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

type fdCloser int

func (fd fdCloser) Close() error { return unix.Close(int(fd)) }
