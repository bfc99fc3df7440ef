// Package netns resolves the network namespace a client should work in: by
// name (/run/netns/NAME, as ip-netns(8) creates them), by path, by an open file
// descriptor, or by a process ID (/proc/PID/ns/net).
package netns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Target selects a network namespace. The zero value selects the caller's
// own namespace. At most one field may be set.
type Target struct {
	Name string // a name under /run/netns
	Path string // a path to a namespace file, e.g. /proc/1234/ns/net or a bind mount
	FD   int    // an open namespace file descriptor (>0); Open duplicates it, the caller keeps theirs
	PID  int    // a process whose namespace to use
}

// RunDir is where ip-netns(8) keeps named namespaces.
const RunDir = "/run/netns"

// IsZero reports whether t selects the caller's own namespace.
func (t Target) IsZero() bool { return t == Target{} }

// Validate checks that at most one selector is set and that it is sane.
func (t Target) Validate() error {
	n := 0
	if t.Name != "" {
		n++
		if strings.ContainsRune(t.Name, '/') || t.Name == "." || t.Name == ".." {
			return fmt.Errorf("netns: name %q is not a plain name (use Path for a path)", t.Name)
		}
	}
	if t.Path != "" {
		n++
	}
	if t.FD != 0 {
		n++
		if t.FD < 0 {
			return fmt.Errorf("netns: file descriptor %d is negative", t.FD)
		}
	}
	if t.PID != 0 {
		n++
		if t.PID < 0 {
			return fmt.Errorf("netns: PID %d is negative", t.PID)
		}
	}
	if n > 1 {
		return errors.New("netns: set at most one of Name, Path, FD and PID")
	}
	return nil
}

// FilePath returns the namespace file a Name, Path or PID target refers to,
// or "" for the caller's namespace and for FD targets.
func (t Target) FilePath() string {
	switch {
	case t.Name != "":
		return RunDir + "/" + t.Name
	case t.Path != "":
		return t.Path
	case t.PID != 0:
		return "/proc/" + strconv.Itoa(t.PID) + "/ns/net"
	}
	return ""
}

// String describes the target for error messages.
func (t Target) String() string {
	switch {
	case t.Name != "":
		return "netns " + strconv.Quote(t.Name)
	case t.Path != "":
		return "netns at " + t.Path
	case t.FD != 0:
		return "netns fd " + strconv.Itoa(t.FD)
	case t.PID != 0:
		return "netns of PID " + strconv.Itoa(t.PID)
	}
	return "current netns"
}

// NotANetNS says why the kernel refused to enter a file (setns: EINVAL):
// the --netns argument named a file that is no network namespace.
const NotANetNS = "the file is not a network namespace: give a name from `ip netns list` or a path such as /proc/PID/ns/net"

// ErrNotNamespaceFile is wrapped by Open when the path is a FIFO, a
// device, a socket or a directory: refused at once, never waited on.
var ErrNotNamespaceFile = errors.New("not a namespace file")
