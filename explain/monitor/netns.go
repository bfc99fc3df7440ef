package monitor

import (
	"fmt"
	"strings"
)

// NetNS selects a network namespace. The zero value is the process's own.
// Set at most one field.
type NetNS struct {
	Name string // a namespace made by ip netns add: /run/netns/NAME
	Path string // a namespace file: /proc/PID/ns/net, a bind mount …
}

// ParseNetNS reads a namespace as a person gives it (a --netns flag): a
// path when it contains a slash, else the name of a namespace made by ip
// netns add. "" is the process's own namespace.
func ParseNetNS(s string) (NetNS, error) {
	switch {
	case s == "":
		return NetNS{}, nil
	case strings.ContainsRune(s, '/'):
		return NetNS{Path: s}, nil
	case s == "." || s == "..":
		return NetNS{}, fmt.Errorf("network namespace %q: not a namespace name (use a path such as /proc/PID/ns/net, or a name from `ip netns list`)", s)
	}
	return NetNS{Name: s}, nil
}

// String returns the namespace as ParseNetNS reads it: the path, the name,
// or "" for the process's own.
func (n NetNS) String() string {
	if n.Path != "" {
		return n.Path
	}
	return n.Name
}

// file is the namespace file n refers to: /run/netns/NAME, the path, or
// "" for the process's own namespace.
func (n NetNS) file() string {
	switch {
	case n.Path != "":
		return n.Path
	case n.Name != "":
		return "/run/netns/" + n.Name
	}
	return ""
}

// describe names the namespace in messages.
func (n NetNS) describe() string {
	switch {
	case n.Name != "":
		return fmt.Sprintf("network namespace %q", n.Name)
	case n.Path != "":
		return "network namespace " + n.Path
	}
	return "this network namespace"
}
