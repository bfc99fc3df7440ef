//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// openDirect opens a character device or a named pipe for writing without
// replacing it. It opens without blocking, so that a FIFO with no reader
// is waited for here, watching the context, rather than in the kernel; it
// checks the open file's type (fstat) and then makes writes block as
// usual.
func (a *app) openDirect(ctx context.Context, path string, mode fs.FileMode) (*os.File, error) {
	waiting := false
	for {
		fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.ENXIO && mode&fs.ModeNamedPipe != 0: // no reader yet
			if !waiting {
				waiting = true
				a.setStage("waiting for a reader of %s", path)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			syscall.Close(fd)
			return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		switch uint32(st.Mode) & syscall.S_IFMT {
		case syscall.S_IFCHR, syscall.S_IFIFO:
		default:
			syscall.Close(fd)
			return nil, fmt.Errorf("%s changed while it was opened: no longer a character device or a pipe", path)
		}
		if err := syscall.SetNonblock(fd, false); err != nil {
			syscall.Close(fd)
			return nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
		}
		a.setStage("writing %s", path)
		return os.NewFile(uintptr(fd), path), nil
	}
}
