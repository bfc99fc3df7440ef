package reading

import (
	"fmt"
	"strings"
)

// NetNS selects the network namespace to read: the zero value is the
// process's own.
type NetNS struct {
	Name string // a name under /run/netns, as ip netns add makes
	Path string // a namespace file: /proc/PID/ns/net, a bind mount
}

// ParseNetNS reads a --netns value: a path when it contains a slash, else
// the name of a namespace made by ip netns add. "" is the process's own.
func ParseNetNS(s string) (NetNS, error) {
	switch {
	case s == "":
		return NetNS{}, nil
	case strings.ContainsRune(s, '/'):
		return NetNS{Path: s}, nil
	case s == "." || s == "..":
		return NetNS{}, fmt.Errorf("--netns %q: not a namespace name (use a path such as /proc/PID/ns/net, or a name from `ip netns list`)", s)
	}
	return NetNS{Name: s}, nil
}

// String returns the value as it was given ("" for the own namespace).
func (n NetNS) String() string {
	if n.Path != "" {
		return n.Path
	}
	return n.Name
}

// describe names the namespace for messages.
func (n NetNS) describe() string {
	switch {
	case n.Name != "":
		return fmt.Sprintf("network namespace %q", n.Name)
	case n.Path != "":
		return "network namespace " + n.Path
	}
	return "this network namespace"
}
