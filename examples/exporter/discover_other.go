//go:build !linux

package main

import (
	"io"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// canDiscover: --netns all needs Linux (/run/netns, /proc/PID/ns/net).
const canDiscover = false

func discoverNetNS() (discovery, error) { return discovery{}, errNoDiscovery }

func holdNetNS(candidate) (monitor.NetNS, io.Closer, error) {
	return monitor.NetNS{}, nil, errNoDiscovery
}
