//go:build linux

package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Handle is an open namespace. FD is -1 for the caller's own namespace.
type Handle struct {
	FD    int
	owned bool
}

// Open resolves t to a namespace file descriptor of the Handle's own.
// Close the Handle when done. A Name, Path or PID is opened; an FD target is
// duplicated (close-on-exec), so that the caller may close theirs as soon as
// Open returns and the Handle keeps working.
func Open(t Target) (*Handle, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.IsZero() {
		return &Handle{FD: -1}, nil
	}
	if t.FD != 0 {
		fd, err := unix.FcntlInt(uintptr(t.FD), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("netns: duplicate %s: %w", t, os.NewSyscallError("fcntl", err))
		}
		return &Handle{FD: fd, owned: true}, nil
	}
	p := t.FilePath()
	// Non-blocking: a FIFO given as a namespace must be refused, not
	// waited on (without O_NONBLOCK, open blocks until a writer comes).
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err == unix.ENXIO { // a socket cannot be opened: say what it is
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
			err = notNamespaceFile(st.Mode)
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open " + t.String(), Path: p, Err: err}
	}
	// A namespace file (nsfs, or a bind mount of one) is a regular file;
	// setns refuses any other regular file itself.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat " + t.String(), Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open " + t.String(), Path: p, Err: notNamespaceFile(st.Mode)}
	}
	return &Handle{FD: fd, owned: true}, nil
}

// Close releases the descriptor if Open opened it.
func (h *Handle) Close() error {
	if h == nil || !h.owned || h.FD < 0 {
		return nil
	}
	fd := h.FD
	h.FD, h.owned = -1, false
	return unix.Close(fd)
}

// Do runs fn on a locked OS thread that has entered the namespace, then
// returns the thread to its original namespace. It is how a per-namespace
// /proc file (/proc/thread-self/net/…) is opened for another namespace:
// once open, the file keeps reporting that namespace.
func (h *Handle) Do(fn func() error) error {
	if h == nil || h.FD < 0 {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is not unlocked if restoring fails: the runtime then
		// discards it rather than reuse a thread in the wrong namespace.
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns: open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(h.FD, unix.CLONE_NEWNET); err != nil {
			why := ""
			if err == unix.EINVAL {
				why = " (" + NotANetNS + ")"
			}
			errc <- fmt.Errorf("netns: enter namespace%s: %w", why, os.NewSyscallError("setns", err))
			runtime.UnlockOSThread()
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: return to own namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// notNamespaceFile is the error for a path of another type than a
// namespace file: "a named pipe (FIFO), not a namespace file".
func notNamespaceFile(mode uint32) error {
	return fmt.Errorf("%s, %w", fileKind(mode), ErrNotNamespaceFile)
}

// fileKind names a file type for messages.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a named pipe (FIFO)"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	}
	return "not a regular file"
}
