//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// checkNetNSFile refuses a --netns file that is not a namespace file
// before the library opens it, which would wait for ever on a named pipe
// with no writer: it is opened without blocking and its type checked (a
// namespace file, /proc/PID/ns/net or a bind mount of it under /run/netns,
// is a regular file). A file that cannot be opened is left for the
// library to report.
func checkNetNSFile(ns monitor.NetNS) error {
	p := ns.Path
	if ns.Name != "" {
		p = "/run/netns/" + ns.Name
	}
	if p == "" {
		return nil
	}
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err == syscall.ENXIO { // a socket
		if st, err := os.Stat(p); err == nil {
			return fmt.Errorf("network namespace %s: %s, not a namespace file", p, modeWords(st.Mode()))
		}
	}
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil
	}
	switch uint32(st.Mode) & syscall.S_IFMT {
	case syscall.S_IFREG:
		return nil
	case syscall.S_IFDIR:
		return fmt.Errorf("network namespace %s: a directory, not a namespace file (/proc/PID/ns/net, or a name from \"ip netns list\")", p)
	case syscall.S_IFIFO:
		return fmt.Errorf("network namespace %s: a named pipe (FIFO), not a namespace file", p)
	case syscall.S_IFCHR, syscall.S_IFBLK:
		return fmt.Errorf("network namespace %s: a device, not a namespace file", p)
	}
	return fmt.Errorf("network namespace %s: not a namespace file", p)
}
