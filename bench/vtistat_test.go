//go:build linux

package bench

// vtistat against jsimonetti/rtnetlink, vishvananda/netlink, ip(8) and the
// kernel's own cost, on one namespace of 1 000 or 10 000 veth links:
//
//	cd bench && GOWORK=off go test -run '^$' -bench 'Link(Dump|Stats)' -benchmem -count 6 -timeout 60m . | tee vtistat.txt
//	benchstat -col /impl vtistat.txt
//
// Needs root (it creates the namespace and deletes it at the end).

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	rtnetlink "github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"github.com/tunnelstat/tunnelstat/vtistat"
	vnl "github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestMain deletes what the benchmarks created (namespaces outlive a
// benchmark function, which -count runs again and again).
func TestMain(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// atExit registers f to run when the test binary ends.
func atExit(f func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, f)
	cleanupMu.Unlock()
}

// linkNS is a namespace holding lo and veth pairs: links links in all.
type linkNS struct {
	name  string
	fd    int
	links int
}

var (
	nsMu    sync.Mutex
	nsBySiz = map[linkNSKey]*linkNS{}

	// linkKind picks the stand-in links. veth pairs work on every kernel;
	// vxlan (one device per VNI, no remote) reads its counters through the
	// same per-CPU tstats path as vti and the other IP tunnels
	// (dev_get_tstats64, or the core's NETDEV_PCPU_STAT_TSTATS since the
	// drivers were converted), so it is the closer stand-in where the host
	// has the vxlan module.
	linkKind = flag.String("links.kind", "veth", "the benchmarks' stand-in links: veth (pairs) or vxlan (one per VNI)")
)

type linkNSKey struct {
	kind string
	n    int
}

// namespaceWithLinks returns a namespace with n links (lo + (n-1)/2 veth
// pairs, so n-1 rounded down to even), made once per process with
// ip -batch.
func namespaceWithLinks(tb testing.TB, n int) *linkNS {
	return namespaceWithLinksOf(tb, *linkKind, n)
}

// namespaceWithLinksOf is namespaceWithLinks with links of the given kind.
func namespaceWithLinksOf(tb testing.TB, kind string, n int) *linkNS {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create a namespace with veth links")
	}
	nsMu.Lock()
	defer nsMu.Unlock()
	key := linkNSKey{kind, n}
	if ns := nsBySiz[key]; ns != nil {
		return ns
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	ns := &linkNS{name: "ts-bench-" + hex.EncodeToString(rnd[:])}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add: %v: %s", err, out)
	}
	atExit(func() { _ = exec.Command("ip", "netns", "del", ns.name).Run() })
	var b strings.Builder
	made := 0
	switch kind {
	case "veth":
		for ; made+2 <= n-1; made += 2 {
			fmt.Fprintf(&b, "link add a%d type veth peer name b%d\n", made/2, made/2)
		}
	case "vxlan":
		for ; made < n-1; made++ {
			fmt.Fprintf(&b, "link add x%d type vxlan id %d dstport 4789\n", made, made+1)
		}
	default:
		tb.Fatalf("link kind %q: want veth or vxlan", kind)
	}
	b.WriteString("link set lo up\n")
	cmd := exec.Command("ip", "-n", ns.name, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ip -batch (%d %s links): %v: %s", n-1, kind, err, firstLine(out))
	}
	fd, err := unix.Open("/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	atExit(func() { unix.Close(fd) })
	ns.fd, ns.links = fd, 1+made
	nsBySiz[key] = ns
	return ns
}

var sizes = []int{1000, 10000}

// perLink reports ns/link and allocs/link beside the usual metrics.
func perLink(b *testing.B, links int, run func()) {
	b.Helper()
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(links), "ns/link")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N)/float64(links), "allocs/link")
}

// BenchmarkLinkDump: every link with its parameters and counters.
func BenchmarkLinkDump(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) {
			ns := namespaceWithLinks(b, n)
			b.Run("impl=floor", func(b *testing.B) {
				f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg))
				perLink(b, ns.links, func() { f.dump(b, ns.links) })
			})
			b.Run("impl=vtistat", func(b *testing.B) { // Snapshot into reused storage
				benchVtistat(ctx, b, ns, false)
			})
			b.Run("impl=vtistat-links", func(b *testing.B) { // Snapshot into fresh storage: a one-shot read
				c := dialVtistat(b, ns)
				perLink(b, ns.links, func() {
					var s vtistat.Snapshot
					if err := c.Snapshot(ctx, &s); err != nil || len(s.Links) != ns.links {
						b.Fatalf("%d links, %v", len(s.Links), err)
					}
				})
			})
			b.Run("impl=rtnetlink", func(b *testing.B) {
				c, err := rtnetlink.Dial(&netlink.Config{NetNS: ns.fd})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				perLink(b, ns.links, func() {
					if l, err := c.Link.List(); err != nil || len(l) != ns.links {
						b.Fatalf("%d links, %v", len(l), err)
					}
				})
			})
			b.Run("impl=vishvananda", func(b *testing.B) {
				h, err := vnl.NewHandleAt(vns.NsHandle(ns.fd))
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				perLink(b, ns.links, func() {
					if l, err := h.LinkList(); err != nil || len(l) != ns.links {
						b.Fatalf("%d links, %v", len(l), err)
					}
				})
			})
			b.Run("impl=iproute2-json", func(b *testing.B) {
				perLink(b, ns.links, func() {
					out, err := exec.Command("ip", "-n", ns.name, "-s", "-s", "-j", "link", "show").Output()
					if err != nil {
						b.Fatal(err)
					}
					var links []ipLink
					if err := json.Unmarshal(out, &links); err != nil || len(links) != ns.links {
						b.Fatalf("%d links, %v", len(links), err)
					}
				})
			})
		})
	}
}

// BenchmarkLinkStats: counters only.
func BenchmarkLinkStats(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) {
			ns := namespaceWithLinks(b, n)
			b.Run("impl=floor", func(b *testing.B) {
				f := newFloor(b, ns.fd, unix.NETLINK_ROUTE, unix.RTM_GETSTATS, statsRequest())
				perLink(b, ns.links, func() { f.dump(b, ns.links) })
			})
			b.Run("impl=vtistat", func(b *testing.B) { // PollStats
				benchVtistat(ctx, b, ns, true)
			})
		})
	}
}

// benchVtistat times Snapshot (poll false) or PollStats (poll true) into one
// Snapshot reused from op to op, filled once before timing; a PollStats run
// fails if it fell back to full dumps.
func benchVtistat(ctx context.Context, b *testing.B, ns *linkNS, poll bool) {
	c := dialVtistat(b, ns)
	var s vtistat.Snapshot
	if err := c.Snapshot(ctx, &s); err != nil {
		b.Fatal(err)
	}
	perLink(b, ns.links, func() {
		var err error
		if poll {
			err = c.PollStats(ctx, &s)
		} else {
			err = c.Snapshot(ctx, &s)
		}
		if err != nil || len(s.Links) != ns.links {
			b.Fatalf("%d links, %v", len(s.Links), err)
		}
	})
	if poll && !s.ParamsTime.Before(s.Time) {
		b.Fatal("PollStats did full dumps")
	}
}

func dialVtistat(b *testing.B, ns *linkNS) *vtistat.Client {
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{FD: ns.fd}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// ipLink is what a consumer of ip -s -s -j link would read.
type ipLink struct {
	IfIndex   int    `json:"ifindex"`
	IfName    string `json:"ifname"`
	MTU       int    `json:"mtu"`
	OperState string `json:"operstate"`
	Stats64   struct {
		RX map[string]uint64 `json:"rx"`
		TX map[string]uint64 `json:"tx"`
	} `json:"stats64"`
}

// floor is the kernel's cost of a dump: the same request sent and its
// replies received with plain system calls into one reused 64 KiB buffer
// (the buffer vtistat and xfrmstat use), nothing decoded. Only the message
// headers are walked, to find NLMSG_DONE.
type floor struct {
	fd  int
	req []byte
	buf []byte
	seq uint32
}

// newFloor opens a netlink socket of family (NETLINK_ROUTE, NETLINK_XFRM)
// in the namespace nsFD refers to, for dumps of typ with payload.
func newFloor(b testing.TB, nsFD, family int, typ uint16, payload []byte) *floor {
	b.Helper()
	var fd int
	// The socket belongs to the namespace it is created in.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread dies with its namespace changed
		var err error
		if err = unix.Setns(nsFD, unix.CLONE_NEWNET); err == nil {
			fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, family)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		b.Fatal(err)
	}
	req := make([]byte, 16, 16+len(payload))
	binary.NativeEndian.PutUint32(req[0:], uint32(16+len(payload)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	return &floor{fd: fd, req: append(req, payload...), buf: make([]byte, 64<<10)}
}

func (f *floor) dump(b testing.TB, want int) {
	f.seq++
	binary.NativeEndian.PutUint32(f.req[8:], f.seq)
	if err := unix.Sendto(f.fd, f.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		b.Fatal(err)
	}
	msgs := 0
	for {
		n, err := unix.Read(f.fd, f.buf)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off+16 <= n; {
			l := int(binary.NativeEndian.Uint32(f.buf[off:]))
			switch binary.NativeEndian.Uint16(f.buf[off+4:]) {
			case unix.NLMSG_DONE:
				if want >= 0 && msgs != want { // want < 0: any number
					b.Fatalf("%d messages, want %d", msgs, want)
				}
				return
			case unix.NLMSG_ERROR:
				b.Fatalf("NLMSG_ERROR %d", int32(binary.NativeEndian.Uint32(f.buf[off+16:])))
			}
			msgs++
			off += (l + 3) &^ 3
		}
	}
}

// TestSameCountersAsPeers: on a namespace with traffic, vtistat reads the
// same counters as rtnetlink and vishvananda/netlink for every link.
func TestSameCountersAsPeers(t *testing.T) {
	ns := namespaceWithLinks(t, 21)
	// Traffic: a pair up with addresses, whose IPv6 autoconfiguration (ND,
	// MLD) moves counters; only equality matters.
	for _, args := range [][]string{
		{"addr", "add", "198.51.100.1/24", "dev", "a0"}, {"addr", "add", "198.51.100.2/24", "dev", "b0"},
		{"link", "set", "a0", "up"}, {"link", "set", "b0", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}

	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{FD: ns.fd}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := rtnetlink.Dial(&netlink.Config{NetNS: ns.fd})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h, err := vnl.NewHandleAt(vns.NsHandle(ns.fd))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	// Counters can move between reads (IPv6 on the up pair): retry a few
	// times until three reads agree.
	for try := 0; ; try++ {
		var snap vtistat.Snapshot
		if err := c.Snapshot(context.Background(), &snap); err != nil {
			t.Fatal(err)
		}
		ours := snap.Links
		theirs, err := rc.Link.List()
		if err != nil {
			t.Fatal(err)
		}
		vl, err := h.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		mismatch := ""
		rByIdx := map[int32]*rtnetlink.LinkStats64{}
		for _, m := range theirs {
			rByIdx[int32(m.Index)] = m.Attributes.Stats64
		}
		vByIdx := map[int32]*vnl.LinkStatistics{}
		for _, l := range vl {
			vByIdx[int32(l.Attrs().Index)] = l.Attrs().Statistics
		}
		for _, l := range ours {
			r, v := rByIdx[l.Index], vByIdx[l.Index]
			if r == nil || v == nil {
				t.Fatalf("%s missing from a peer", l.Name)
			}
			s := l.Stats
			if s.RxPackets != r.RXPackets || s.TxPackets != r.TXPackets || s.RxBytes != r.RXBytes || s.TxBytes != r.TXBytes ||
				s.TxCarrierErrors != r.TXCarrierErrors || s.TxAbortedErrors != r.TXAbortedErrors || s.RxNoHandler != r.RXNoHandler ||
				s.RxOtherhostDropped != r.RXOtherhostDropped || s.Multicast != r.Multicast {
				mismatch = fmt.Sprintf("%s: vtistat %+v, rtnetlink %+v", l.Name, s, *r)
			}
			if s.RxPackets != v.RxPackets || s.TxPackets != v.TxPackets || s.RxBytes != v.RxBytes || s.TxBytes != v.TxBytes ||
				s.TxCarrierErrors != v.TxCarrierErrors || s.TxAbortedErrors != v.TxAbortedErrors {
				mismatch = fmt.Sprintf("%s: vtistat %+v, vishvananda %+v", l.Name, s, *v)
			}
		}
		if mismatch == "" {
			return
		}
		if try == 20 {
			t.Fatal(mismatch)
		}
	}
}
