//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// canDiscover: --netns all works here.
const canDiscover = true

// Where discovery looks; tests leave them be.
const (
	runNetNS = "/run/netns"
	procDir  = "/proc"
)

// discoverNetNS lists every network namespace: those named in /run/netns
// (ip netns add), those of every running process (/proc/PID/ns/net) and
// the exporter's own, each once, keyed by the device and inode of its
// nsfs file. A named one is labelled with its name (the first in order if
// it has several); the exporter's own, unless named, with ""; any other
// with "inode:N", which does not change while it lives. What cannot be
// looked at (a process that exits meanwhile, permission denied, an entry
// of /run/netns that is no namespace) is skipped and counted, never the
// whole pass; only the exporter's own namespace failing fails it.
func discoverNetNS() (discovery, error) {
	d := discovery{skipped: map[string]int{}}
	self, err := ownNetNS()
	if err != nil {
		return d, err
	}
	nsfs := uint64(self.Dev) // every namespace file is on nsfs
	selfKey := nsKey{uint64(self.Dev), self.Ino}
	byKey := map[nsKey]*candidate{}
	add := func(c candidate) {
		if byKey[c.key] == nil {
			byKey[c.key] = &c
		}
	}

	names, err := readNames(runNetNS)
	switch {
	case errors.Is(err, os.ErrNotExist): // no namespace was ever named
	case err != nil:
		d.skipped[skipReason(err)]++
	}
	slices.Sort(names)
	for _, name := range names {
		p := runNetNS + "/" + name
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			d.skipped[skipReason(err)]++
			continue
		}
		if uint64(st.Dev) != nsfs || st.Mode&unix.S_IFMT != unix.S_IFREG {
			d.skipped["not_netns"]++ // ip netns add makes the file, then mounts the namespace on it
			continue
		}
		key := nsKey{uint64(st.Dev), st.Ino}
		add(candidate{key: key, label: name, path: p, own: key == selfKey})
	}
	add(candidate{key: selfKey, label: "", own: true})

	pids, err := readNames(procDir)
	if err != nil {
		return d, err
	}
	for _, s := range pids {
		if _, err := strconv.ParseUint(s, 10, 32); err != nil {
			continue
		}
		p := procDir + "/" + s + "/ns/net"
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			// The process exited (ENOENT, ESRCH), or may not be looked
			// at (EACCES: another user's, without CAP_SYS_PTRACE).
			d.skipped[skipReason(err)]++
			continue
		}
		key := nsKey{uint64(st.Dev), st.Ino}
		add(candidate{key: key, label: inodeLabel(st.Ino), path: p})
	}
	for _, c := range byKey {
		d.found = append(d.found, *c)
	}
	slices.SortFunc(d.found, func(a, b candidate) int { return strings.Compare(a.label, b.label) })
	return d, nil
}

// ownNetNS stats the exporter's own namespace: that of the calling
// thread, /proc/thread-self/ns/net. Not /proc/self/ns/net, which is the
// main thread's: a goroutine that enters another namespace for a moment
// (a monitor opening its sockets there) may be running on the main
// thread, and the exporter would then take that namespace for its own
// for a pass. A thread that is not locked by such a goroutine is always
// in the process's namespace. (Before Linux 3.17, without thread-self,
// /proc/self.)
func ownNetNS() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Stat(procDir+"/thread-self/ns/net", &st)
	if errors.Is(err, unix.ENOENT) {
		err = unix.Stat(procDir+"/self/ns/net", &st)
	}
	if err != nil {
		return st, fmt.Errorf("stat the exporter's own network namespace (%s/thread-self/ns/net): %w", procDir, err)
	}
	return st, nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// holdNetNS opens a namespace discovery found, checks it is that one, and
// returns it for a monitor as /proc/self/fd/N: the descriptor keeps
// referring to the namespace whatever becomes of the process or name it
// was found by, until discovery no longer finds it and the monitor is
// stopped (then the Closer closes it). The exporter's own namespace is
// NetNS{}.
func holdNetNS(c candidate) (monitor.NetNS, io.Closer, error) {
	if c.own {
		return monitor.NetNS{}, nil, nil
	}
	// Non-blocking: whatever replaced the file meanwhile is never waited on.
	fd, err := unix.Open(c.path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return monitor.NetNS{}, nil, &os.PathError{Op: "open", Path: c.path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return monitor.NetNS{}, nil, &os.PathError{Op: "stat", Path: c.path, Err: err}
	}
	if (nsKey{uint64(st.Dev), st.Ino}) != c.key {
		unix.Close(fd)
		return monitor.NetNS{}, nil, fmt.Errorf("%s: %w", c.path, errChanged)
	}
	f := os.NewFile(uintptr(fd), c.path)
	return monitor.NetNS{Path: "/proc/self/fd/" + strconv.Itoa(fd)}, f, nil
}
