package xfrmstat

import (
	"strconv"
	"strings"
)

// The names below are ip-xfrm(8)'s, so that output reads like the tool
// operators already know.

func (m Mode) String() string {
	switch m {
	case ModeTransport:
		return "transport"
	case ModeTunnel:
		return "tunnel"
	case ModeROBeet:
		return "ro"
	case ModeInTrigger:
		return "in_trigger"
	case ModeBEET:
		return "beet"
	case ModeIPTFS:
		return "iptfs"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

func (d Dir) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	case DirFwd:
		return "fwd"
	case DirSocketIn:
		return "socket in"
	case DirSocketOut:
		return "socket out"
	}
	return "dir(" + strconv.Itoa(int(d)) + ")"
}

func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "allow"
	case ActionBlock:
		return "block"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

func (a DefaultAction) String() string {
	switch a {
	case DefaultUnset:
		return "unset"
	case DefaultBlock:
		return "block"
	case DefaultAccept:
		return "accept"
	}
	return "default(" + strconv.Itoa(int(a)) + ")"
}

func (o Op) String() string {
	switch o {
	case OpNew:
		return "new"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

var groupNames = [...]string{"acquire", "expire", "sa", "policy", "aevents", "report", "migrate", "mapping"}

func (g Group) String() string {
	var parts []string
	for i, n := range groupNames {
		if g&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := g &^ GroupAll; rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}
