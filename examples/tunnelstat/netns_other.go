//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "github.com/tunnelstat/tunnelstat/explain/monitor"

// checkNetNSFile: namespaces exist on Linux only; the library says so.
func checkNetNSFile(monitor.NetNS) error { return nil }
