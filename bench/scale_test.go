//go:build linux

package bench

// Scaling: does the cost per link and per policy stay flat from 10 to
// 10 000 links and from 1 000 to 100 000 policies? And how long does the
// kernel spend on vtistat's link dump compared with the one ip(8) sends?
//
//	cd bench && go test -run '^$' -bench 'Scale|RTNLDump' -benchmem -count 6 -timeout 60m .
//
// go run ./bench/cmd/benchtable runs these with every other comparison and
// prints one table. Needs root (namespaces are created and deleted).
//
// SAs: this host has no ESP (no esp4/esp6 modules), so it cannot create SAs;
// the SA dumps are benchmarked in the VM kernels (BenchmarkXfrmSADump in
// xfrmstat_test.go), not here.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

var (
	scaleLinks    = []int{10, 100, 1000, 10000}
	scalePolicies = []int{1000, 10000} // 100 000: BenchmarkXfrmPolicyDump
)

// BenchmarkScaleLinks: full dump and stats-only poll of 10 … 10 000 links,
// vtistat (reused Snapshot) against the floor. ns/link and allocs/link
// should not grow with the number of links.
func BenchmarkScaleLinks(b *testing.B) {
	ctx := context.Background()
	for _, n := range scaleLinks {
		b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) {
			ns := namespaceWithLinks(b, n)
			b.Run("op=dump/impl=floor", func(b *testing.B) {
				f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg))
				perLink(b, ns.links, func() { f.dump(b, ns.links) })
			})
			b.Run("op=dump/impl=vtistat", func(b *testing.B) {
				benchVtistat(ctx, b, ns, false)
			})
			b.Run("op=stats/impl=floor", func(b *testing.B) {
				f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETSTATS, statsRequest())
				perLink(b, ns.links, func() { f.dump(b, ns.links) })
			})
			b.Run("op=stats/impl=vtistat", func(b *testing.B) {
				benchVtistat(ctx, b, ns, true)
			})
		})
	}
}

// statsRequest is struct if_stats_msg asking for IFLA_STATS_LINK_64 only.
func statsRequest() []byte {
	req := make([]byte, 12)
	binary.NativeEndian.PutUint32(req[8:], 1<<(unix.IFLA_STATS_LINK_64-1))
	return req
}

// BenchmarkScalePolicies: the SPD dump at 1 000 and 10 000 policies, the
// same policies and implementations as BenchmarkXfrmPolicyDump (100 000).
func BenchmarkScalePolicies(b *testing.B) {
	ctx := context.Background()
	for _, n := range scalePolicies {
		b.Run(fmt.Sprintf("policies=%d", n), func(b *testing.B) {
			policyDump(ctx, b, newXfrmNS(b, "policies", n, policyLine))
		})
	}
}

// ipLinkDumpRequest is the RTM_GETLINK payload `ip -s link show` sends
// (iproute2 ip/ipaddress.c iplink_filter_req, confirmed with strace on this
// host's iproute2 6.1): ifinfomsg with ifi_family AF_PACKET, then
// IFLA_EXT_MASK = RTEXT_FILTER_VF (RTEXT_FILTER_SKIP_STATS is added only
// without -s). vtistat sends a bare AF_UNSPEC ifinfomsg: no IFLA_EXT_MASK.
func ipLinkDumpRequest() []byte {
	req := make([]byte, unix.SizeofIfInfomsg+8)
	req[0] = unix.AF_PACKET
	binary.NativeEndian.PutUint16(req[16:], 8)
	binary.NativeEndian.PutUint16(req[18:], unix.IFLA_EXT_MASK)
	binary.NativeEndian.PutUint32(req[20:], 1) // RTEXT_FILTER_VF (include/uapi/linux/rtnetlink.h)
	return req
}

// BenchmarkRTNLDump: how long the kernel works on (and so how long it can
// hold RTNL for) one dump of 10 000 links, for vtistat's request and for
// the one `ip -s link show` sends, each replayed by the floor (send, then
// receive into one buffer, nothing decoded); then vtistat itself and ip
// itself (its output discarded, process start included).
func BenchmarkRTNLDump(b *testing.B) {
	ctx := context.Background()
	const n = 10000
	b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) {
		ns := namespaceWithLinks(b, n)
		b.Run("impl=floor-vtistat-request", func(b *testing.B) {
			f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg))
			perLink(b, ns.links, func() { f.dump(b, ns.links) })
		})
		b.Run("impl=floor-ip-request", func(b *testing.B) {
			f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETLINK, ipLinkDumpRequest())
			perLink(b, ns.links, func() { f.dump(b, ns.links) })
		})
		b.Run("impl=floor-stats-request", func(b *testing.B) {
			f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETSTATS, statsRequest())
			perLink(b, ns.links, func() { f.dump(b, ns.links) })
		})
		b.Run("impl=vtistat", func(b *testing.B) {
			benchVtistat(ctx, b, ns, false)
		})
		b.Run("impl=vtistat-poll", func(b *testing.B) {
			benchVtistat(ctx, b, ns, true)
		})
		b.Run("impl=iproute2", func(b *testing.B) {
			perLink(b, ns.links, func() {
				cmd := exec.Command("ip", "-n", ns.name, "-s", "link", "show")
				cmd.Stdout = io.Discard
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
			})
		})
	})
}
