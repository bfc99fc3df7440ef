//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package monitor

import (
	"io/fs"
	"os"
	"syscall"
)

// openHost opens a host file for Load; on this system, with O_NONBLOCK
// where it has one, and Load checks its type before reading.
func openHost(name string) (fs.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
