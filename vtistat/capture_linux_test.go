//go:build linux

package vtistat

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "capture real RTM_NEWLINK/RTM_NEWSTATS messages from this kernel into testdata/")

// captureLinks dumps the links of a namespace and returns each RTM_NEWLINK
// payload (struct ifinfomsg and attributes, as the kernel sent them) by
// link name, and each RTM_NEWSTATS payload by link name.
func captureLinks(t testing.TB, nsName string) (links, stats map[string][]byte) {
	t.Helper()
	h, err := netns.Open(netns.Target{Name: nsName})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	conn, err := nl.Dial(unix.NETLINK_ROUTE, h.FD, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	links, stats = map[string][]byte{}, map[string][]byte{}
	names := map[int32]string{}
	err = conn.Dump(context.Background(), "capture RTM_GETLINK", unix.RTM_GETLINK, nl.FlagDump, make([]byte, sizeofIfInfomsg),
		func() { clear(links); clear(names) },
		func(m nl.Message) error {
			var l Link
			if err := DecodeLink(m.Data, &l); err != nil {
				return err
			}
			links[l.Name] = bytes.Clone(m.Data)
			names[l.Index] = l.Name
			return nil
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Dump(context.Background(), "capture RTM_GETSTATS", unix.RTM_GETSTATS, nl.FlagDump, statsRequest(nil, 0),
		func() { clear(stats) },
		func(m nl.Message) error {
			if len(m.Data) >= sizeofIfStatsMsg {
				stats[names[int32(binary.NativeEndian.Uint32(m.Data[4:]))]] = bytes.Clone(m.Data)
			}
			return nil
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return links, stats
}

// kernelTag is "linuxMAJOR.MINOR" of the running kernel, for fixture names.
func kernelTag(t testing.TB) string {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return fmt.Sprintf("linux%d.%d", major, minor)
}

// TestCaptureHostFixtures writes testdata/*.bin from this kernel when run
// with -update (as root):
//
//	go test -run TestCaptureHostFixtures -update ./vtistat/
//
// The namespace holds the link kinds a host without tunnel modules has: lo,
// a veth pair (MTU 1400, an alias, traffic) and a vxlan. The decoder tests
// check these files against what this test configured.
func TestCaptureHostFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to capture fixtures from this kernel")
	}
	p := newQuietPair(t)
	p.A.IP(t, "link", "set", "a0", "mtu", "1400", "alias", "fixture veth")
	p.A.IP(t, "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "local", "198.51.100.1", "remote", "198.51.100.9", "dev", "a0")
	p.sendUDP(t, 3, 100)
	links, stats := captureLinks(t, p.A.Name)
	tag := kernelTag(t)
	write := func(name string, data []byte) {
		if data == nil {
			t.Fatalf("nothing captured for %s", name)
		}
		path := filepath.Join("testdata", name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", path, len(data))
	}
	write("rtm_newlink-lo-"+tag+".bin", links["lo"])
	write("rtm_newlink-veth-"+tag+".bin", links["a0"])
	write("rtm_newlink-vxlan-"+tag+".bin", links["vx0"])
	write("rtm_newstats-veth-"+tag+".bin", stats["a0"])
}
