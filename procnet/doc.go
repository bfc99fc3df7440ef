// Package procnet parses /proc/net/dev and /proc/net/xfrm_stat exactly and
// fast, in pure Go, on any OS.
package procnet
