//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package monitor

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// openHost opens a host file for Load without ever waiting: O_NONBLOCK, so
// that a named pipe with no writer, or a device, does not block the open,
// and its type is then checked from the open descriptor (fstat), so that
// what is checked is what is read. Reads go straight to the descriptor,
// still non-blocking: a file whose read would wait (a /proc stream such as
// /proc/kmsg is a "regular" file) fails instead of blocking.
func openHost(name string) (fs.File, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		if err == syscall.ENXIO { // a socket, or a device without a driver
			if st, serr := os.Stat(name); serr == nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: notRegular(st.Mode())}
			}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var st syscall.Stat_t
	for {
		err = syscall.Fstat(fd, &st)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return &hostFile{fd: fd, name: name, info: statInfo(name, &st)}, nil
}

// hostFile is a host file opened by openHost.
type hostFile struct {
	fd   int
	name string
	info fileInfo
	dir  *os.File // for ReadDir
}

// errWouldBlock is a read that would have waited for data.
var errWouldBlock = errors.New("no data to read without waiting: not a file's saved content (a device, or a /proc stream such as /proc/kmsg?)")

func (f *hostFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *hostFile) Read(p []byte) (int, error) {
	if f.info.IsDir() {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: syscall.EISDIR}
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: errWouldBlock}
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *hostFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if f.dir == nil {
		if !f.info.IsDir() {
			return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: syscall.ENOTDIR}
		}
		f.dir = os.NewFile(uintptr(f.fd), f.name)
	}
	return f.dir.ReadDir(n)
}

func (f *hostFile) Close() error {
	if f.dir != nil {
		return f.dir.Close()
	}
	return syscall.Close(f.fd)
}

// fileInfo is what openHost's fstat says.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func statInfo(name string, st *syscall.Stat_t) fileInfo {
	info := fileInfo{name: name, size: st.Size, mode: fs.FileMode(st.Mode & 0o777)}
	switch uint32(st.Mode) & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		info.mode |= fs.ModeDir
	case syscall.S_IFIFO:
		info.mode |= fs.ModeNamedPipe
	case syscall.S_IFCHR:
		info.mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		info.mode |= fs.ModeDevice
	case syscall.S_IFSOCK:
		info.mode |= fs.ModeSocket
	case syscall.S_IFLNK:
		info.mode |= fs.ModeSymlink
	default:
		info.mode |= fs.ModeIrregular
	}
	return info
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
