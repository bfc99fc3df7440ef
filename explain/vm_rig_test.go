//go:build linux

package explain_test

// The rig the VM scenarios run on: two namespaces joined by veth (A and B,
// from testns.NewPair), a tunnel between them, readings of A through
// vtistat, xfrmstat and its /proc files, and UDP traffic sent from inside a
// namespace by this process.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/proctext"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// Addresses: the underlay is testns.Pair's (198.51.100.1 and .2 on veth);
// the tunnels' inner addresses are TEST-NET-3 (VTI) and TEST-NET-1 (GRE).
// A third underlay address, 198.51.100.3, is nobody's: scenarios that need
// SA endpoints other than the tunnel's use it, routed via B.
const (
	vtiInnerA = "203.0.113.1"
	vtiInnerB = "203.0.113.2"
	greInnerA = "192.0.2.1"
	greInnerB = "192.0.2.2"
	underlayC = "198.51.100.3"
	tunnelKey = "16" // VTI ikey = okey = the mark of SAs and policies (strongSwan's mark=16)
	spiAtoB   = "0x1000a"
	spiBtoA   = "0x1000b"
	udpPort   = 9999 // where each namespace's sink listens
)

// rig is one pair of namespaces with a tunnel between them.
type rig struct {
	t      *testing.T
	a, b   *side
	secret []string // key arguments, redacted from every message

	// ESP keys of the two SAs, as ip-xfrm arguments.
	encAB, authAB, encBA, authBA string
}

// side is one namespace of the rig.
type side struct {
	name            string // "A" or "B"
	ns              *testns.NS
	handle          *netns.Handle
	underlay, inner string
	peerUnderlay    string
	peerInner       string
	vti             *vtistat.Client
	xfrm            *xfrmstat.Client
	dev, xstat      *os.File     // /proc/net/dev and /proc/net/xfrm_stat of the namespace, kept open
	sink            *net.UDPConn // bound to udpPort: tunnel traffic ends here, no ICMP port unreachable
}

// newRig builds two namespaces joined by veth, IPv6 off (its neighbour and
// router discovery would move counters), with either a VTI pair with ESP
// SAs and policies both ways ("vti0") or a GRE pair ("gre1"), and checks
// that traffic passes both ways.
func newRig(t *testing.T, tunnel string) *rig {
	t.Helper()
	t0 := time.Now()
	pair := testns.NewPair(t)
	t1 := time.Now()
	r := &rig{t: t}
	r.a = r.newSide("A", pair.A, pair.AAddr.String(), pair.BAddr.String())
	r.b = r.newSide("B", pair.B, pair.BAddr.String(), pair.AAddr.String())
	t2 := time.Now()
	switch tunnel {
	case "vti0":
		r.encAB, r.authAB, r.encBA, r.authBA = r.key(), r.key(), r.key(), r.key()
		for _, s := range []*side{r.a, r.b} {
			s.inner, s.peerInner = vtiInnerA, vtiInnerB
			if s == r.b {
				s.inner, s.peerInner = vtiInnerB, vtiInnerA
			}
			r.batch(s, s.vtiLines()...)
			r.batch(s, r.saLine(r.a.underlay, r.b.underlay, spiAtoB, r.encAB, r.authAB, ""),
				r.saLine(r.b.underlay, r.a.underlay, spiBtoA, r.encBA, r.authBA, ""),
				s.policyLine("out", ""), s.policyLine("in", ""))
		}
	case "gre1":
		for _, s := range []*side{r.a, r.b} {
			s.inner, s.peerInner = greInnerA, greInnerB
			if s == r.b {
				s.inner, s.peerInner = greInnerB, greInnerA
			}
			r.batch(s, s.greLines("")...)
		}
	default:
		t.Fatalf("unknown tunnel %q", tunnel)
	}
	for _, s := range []*side{r.a, r.b} {
		s.sink = r.listen(s)
	}
	t3 := time.Now()
	// Traffic passes both ways; this also resolves the underlay's ARP, so
	// that nothing but the scenario moves a counter later.
	r.send(r.a, r.a.peerInner, 1, sendOpts{})
	r.expectReceived(r.b, 1)
	r.send(r.b, r.b.peerInner, 1, sendOpts{})
	r.expectReceived(r.a, 1)
	t.Logf("rig: pair %v, sides %v, tunnel %v, first packets %v", t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond), time.Since(t3).Round(time.Millisecond))
	return r
}

func (r *rig) newSide(name string, ns *testns.NS, underlay, peer string) *side {
	t := r.t
	s := &side{name: name, ns: ns, underlay: underlay, peerUnderlay: peer}
	h, err := netns.Open(netns.Target{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	s.handle = h
	// IPv6 off in the namespace, before any tunnel exists: no router
	// solicitations into the tunnels, no neighbour discovery on the veth.
	for _, f := range []string{"all", "default"} {
		r.sysctl(s, "/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", "1")
	}
	if s.vti, err = vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.vti.Close() })
	if s.xfrm, err = xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: ns.Name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.xfrm.Close() })
	// /proc/thread-self/net/* opened from a thread inside the namespace
	// keeps showing that namespace.
	if err := h.Do(func() error {
		var err error
		if s.dev, err = os.Open("/proc/thread-self/net/dev"); err != nil {
			return err
		}
		s.xstat, err = os.Open("/proc/thread-self/net/xfrm_stat")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.dev.Close(); s.xstat.Close() })
	return s
}

func (s *side) vtiLines() []string {
	return []string{
		fmt.Sprintf("link add vti0 type vti local %s remote %s ikey %s okey %s", s.underlay, s.peerUnderlay, tunnelKey, tunnelKey),
		fmt.Sprintf("addr add %s peer %s dev vti0", s.inner, s.peerInner),
		"link set vti0 up",
	}
}

// greLines creates gre1 with extra options (icsum, iseq …).
func (s *side) greLines(extra string) []string {
	return []string{
		strings.TrimSpace(fmt.Sprintf("link add gre1 type gre local %s remote %s ttl 64 %s", s.underlay, s.peerUnderlay, extra)),
		fmt.Sprintf("addr add %s peer %s dev gre1", s.inner, s.peerInner),
		"link set gre1 up",
	}
}

// saLine adds an ESP SA with the tunnel's mark; extra adds options
// ("mode transport", "limit packet-hard 10" …; the default is tunnel mode).
func (r *rig) saLine(src, dst, spi, enc, auth, extra string) string {
	mode := "mode tunnel"
	if strings.Contains(extra, "mode ") {
		mode = ""
	}
	return strings.Join(strings.Fields(fmt.Sprintf(
		"xfrm state add src %s dst %s proto esp spi %s %s mark %s replay-window 32 %s enc cbc(aes) %s auth-trunc hmac(sha256) %s 128",
		src, dst, spi, mode, tunnelKey, extra, enc, auth)), " ")
}

// policyLine adds this side's policy for dir (out: local → remote, in:
// remote → local) with the tunnel's mark; tmpl overrides the template.
func (s *side) policyLine(dir, tmpl string) string {
	src, dst := s.underlay, s.peerUnderlay
	if dir == "in" {
		src, dst = dst, src
	}
	if tmpl == "" {
		tmpl = fmt.Sprintf("tmpl src %s dst %s proto esp mode tunnel", src, dst)
	}
	return fmt.Sprintf("xfrm policy add dir %s src 0.0.0.0/0 dst 0.0.0.0/0 mark %s %s", dir, tunnelKey, tmpl)
}

func (r *rig) key() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		r.t.Fatal(err)
	}
	k := "0x" + hex.EncodeToString(b)
	r.secret = append(r.secret, k)
	return k
}

func (r *rig) redact(s string) string {
	for _, k := range r.secret {
		s = strings.ReplaceAll(s, k, "<key>")
	}
	return s
}

// batch runs ip(8) commands in the side's namespace, one process for all
// (ip -batch reads them from stdin, so keys are not on a command line).
func (r *rig) batch(s *side, lines ...string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-n", s.ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("ip -n %s -batch: %v\n%s\ncommands:\n%s", s.ns.Name, err, r.redact(out.String()), r.redact(strings.Join(lines, "\n")))
	}
}

// sysctl writes a /proc/sys file from inside the side's namespace.
func (r *rig) sysctl(s *side, path, value string) {
	r.t.Helper()
	if err := s.handle.Do(func() error { return os.WriteFile(path, []byte(value), 0) }); err != nil {
		r.t.Fatalf("%s: %s = %s: %v", s.name, path, value, err)
	}
}

func (r *rig) listen(s *side) *net.UDPConn {
	var c *net.UDPConn
	if err := s.handle.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: udpPort})
		return err
	}); err != nil {
		r.t.Fatalf("%s: listen: %v", s.name, err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

type sendOpts struct {
	size int           // UDP payload bytes; 0 means 32
	df   bool          // set DF and ignore the path MTU (IP_PMTUDISC_PROBE): every packet reaches the tunnel at full size
	gap  time.Duration // pause between packets (lets kernel timers, such as an SA's hard expiry, run)
}

// send sends n UDP datagrams from inside s to dst:udpPort, from a socket
// that lives in s's namespace.
func (r *rig) send(s *side, dst string, n int, o sendOpts) {
	r.t.Helper()
	var c *net.UDPConn
	if err := s.handle.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", nil)
		return err
	}); err != nil {
		r.t.Fatalf("%s: socket: %v", s.name, err)
	}
	defer c.Close()
	if o.df {
		rc, err := c.SyscallConn()
		if err != nil {
			r.t.Fatal(err)
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		}); err != nil || serr != nil {
			r.t.Fatalf("IP_MTU_DISCOVER: %v %v", err, serr)
		}
	}
	size := o.size
	if size == 0 {
		size = 32
	}
	payload := make([]byte, size)
	to := &net.UDPAddr{IP: net.ParseIP(dst), Port: udpPort}
	for i := range n {
		if i > 0 && o.gap > 0 {
			time.Sleep(o.gap)
		}
		if _, err := c.WriteToUDP(payload, to); err != nil {
			// The tunnel drops silently; a send error means the packet
			// never reached it, and the counts would be wrong.
			r.t.Fatalf("%s: packet %d to %s: %v", s.name, i+1, dst, err)
		}
	}
}

// sendIP sends n IP packets of protocol proto with the given payload from
// a raw socket inside s (the kernel builds the IP header), with the IP TOS
// byte set to tos.
func (r *rig) sendIP(s *side, dst string, proto int, tos int, payload []byte, n int) {
	r.t.Helper()
	var c net.PacketConn
	if err := s.handle.Do(func() error {
		var err error
		c, err = net.ListenPacket(fmt.Sprintf("ip4:%d", proto), "0.0.0.0")
		return err
	}); err != nil {
		r.t.Fatalf("%s: raw socket: %v", s.name, err)
	}
	defer c.Close()
	rc, err := c.(*net.IPConn).SyscallConn()
	if err != nil {
		r.t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, tos)
	}); err != nil || serr != nil {
		r.t.Fatalf("IP_TOS: %v %v", err, serr)
	}
	to := &net.IPAddr{IP: net.ParseIP(dst)}
	for i := range n {
		if _, err := c.WriteTo(payload, to); err != nil {
			r.t.Fatalf("%s: raw packet %d to %s: %v", s.name, i+1, dst, err)
		}
	}
}

// sendPacket sends n copies of an IPv4 packet (header included) straight
// into the link named dev of s through a packet socket: the packet reaches
// the driver without a route, as bpf_redirect or AF_PACKET traffic does.
func (r *rig) sendPacket(s *side, dev string, pkt []byte, n int) {
	r.t.Helper()
	r.sendLink(s, dev, unix.SOCK_DGRAM, pkt, n)
}

// sendPacketRaw is sendPacket with the link's own header (for GRE with
// header_ops: the outer IPv4 and GRE headers) at the start of pkt.
func (r *rig) sendPacketRaw(s *side, dev string, pkt []byte, n int) {
	r.t.Helper()
	r.sendLink(s, dev, unix.SOCK_RAW, pkt, n)
}

func (r *rig) sendLink(s *side, dev string, typ int, pkt []byte, n int) {
	r.t.Helper()
	links, err := readLinks(s.vti, vtistat.ByName(dev))
	if err != nil || len(links) != 1 {
		r.t.Fatalf("%s: link %s: %v", s.name, dev, err)
	}
	proto := htons(unix.ETH_P_IP)
	fd := -1
	if err := s.handle.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC, int(proto))
		return err
	}); err != nil {
		r.t.Fatalf("%s: packet socket: %v", s.name, err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: int(links[0].Index)}
	for i := range n {
		if err := unix.Sendto(fd, pkt, 0, to); err != nil {
			r.t.Fatalf("%s: packet %d into %s: %v", s.name, i+1, dev, err)
		}
	}
}

// ipv4Header builds a 20-byte IPv4 header with its checksum.
func ipv4Header(src, dst string, proto int, tos byte, totalLen int) []byte {
	p := make([]byte, 20)
	p[0] = 0x45
	p[1] = tos
	binary.BigEndian.PutUint16(p[2:], uint16(totalLen))
	p[8] = 64 // TTL
	p[9] = byte(proto)
	copy(p[12:16], net.ParseIP(src).To4())
	copy(p[16:20], net.ParseIP(dst).To4())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	return p
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ipv4UDP builds an IPv4 packet carrying a UDP datagram to udpPort, with
// the given TOS byte. The UDP checksum is 0 (none), which IPv4 allows.
func ipv4UDP(src, dst string, tos byte, data []byte) []byte {
	p := append(ipv4Header(src, dst, unix.IPPROTO_UDP, tos, 20+8+len(data)), make([]byte, 8+len(data))...)
	binary.BigEndian.PutUint16(p[20:], 40000)
	binary.BigEndian.PutUint16(p[22:], udpPort)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(data)))
	copy(p[28:], data)
	return p
}

// expectReceived reads n datagrams from s's sink.
func (r *rig) expectReceived(s *side, n int) {
	r.t.Helper()
	buf := make([]byte, 65536)
	s.sink.SetReadDeadline(time.Now().Add(3 * time.Second))
	for i := range n {
		if _, _, err := s.sink.ReadFromUDP(buf); err != nil {
			r.t.Fatalf("%s received %d of %d datagrams through the tunnel: %v", s.name, i, n, err)
		}
	}
}

// mtu returns the MTU of a link of s.
func (r *rig) mtu(s *side, name string) uint32 {
	r.t.Helper()
	links, err := readLinks(s.vti, vtistat.ByName(name))
	if err != nil || len(links) != 1 {
		r.t.Fatalf("%s: link %s: %v", s.name, name, err)
	}
	return links[0].MTU
}

// readProc reads an open /proc file from its start.
func readProc(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// read takes one reading of s: the netlink view (links, MIB, policies, SAs,
// default policies) and the raw /proc files, after the counters stopped
// moving.
func (r *rig) read(s *side) *capturedReading {
	r.t.Helper()
	t := r.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	c := &capturedReading{Release: strings.TrimSpace(string(rel))}
	// Wait for the counters to settle: two /proc readings 50 ms apart
	// that are equal (received packets are processed in softirq context).
	deadline := time.Now().Add(3 * time.Second)
	var prevDev, prevStat []byte
	for {
		if c.ProcNetDev, err = readProc(s.dev); err != nil {
			t.Fatal(err)
		}
		if c.XfrmStat, err = readProc(s.xstat); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(c.ProcNetDev, prevDev) && bytes.Equal(c.XfrmStat, prevStat) {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("%s: counters still moving after 3 s; reading anyway", s.name)
			break
		}
		prevDev, prevStat = c.ProcNetDev, c.XfrmStat
		time.Sleep(50 * time.Millisecond)
	}
	nl := &netlinkCapture{Time: time.Now(), KernelRelease: c.Release}
	links, err := readLinks(s.vti)
	if err != nil {
		t.Fatalf("%s: vtistat links: %v", s.name, err)
	}
	nl.Links = captureLinks(links)
	nl.MIB = new(procnet.XfrmStat)
	if err = s.xfrm.MIB(ctx, nl.MIB); err != nil {
		t.Fatalf("%s: xfrmstat MIB: %v", s.name, err)
	}
	if nl.Policies, err = s.xfrm.Policies(ctx, nil); err != nil {
		t.Fatalf("%s: xfrmstat policies: %v", s.name, err)
	}
	if nl.SAs, err = s.xfrm.SAs(ctx, nil); err != nil {
		t.Fatalf("%s: xfrmstat SAs: %v", s.name, err)
	}
	defaults, err := s.xfrm.PolicyDefaults(ctx)
	switch {
	case errors.Is(err, xfrmstat.ErrNotSupported):
		// Before 5.16 there is no default policy: packets without one pass.
		block := false
		nl.OutboundDefaultBlock = &block
	case err != nil:
		t.Fatalf("%s: xfrmstat policy defaults: %v", s.name, err)
	default:
		block := defaults.Out == xfrmstat.DefaultBlock
		nl.OutboundDefaultBlock = &block
	}
	// Both readers of the MIB must agree: nothing moves between them.
	if text := proctext.AppendXfrmStat(nil, nl.MIB.All()); !bytes.Equal(text, c.XfrmStat) {
		t.Errorf("%s: xfrmstat.MIB and /proc/net/xfrm_stat differ:\n%s\n---\n%s", s.name, text, c.XfrmStat)
	}
	c.Netlink = nl
	return c
}

// save stores a reading as artifacts under name (before, after).
func (r *rig) save(name string, c *capturedReading) {
	r.t.Helper()
	js, err := json.Marshal(c.Netlink)
	if err != nil {
		r.t.Fatal(err)
	}
	// The captures are test input: what the host test decodes must be
	// what was checked here.
	var back *netlinkCapture
	if err := json.Unmarshal(js, &back); err != nil {
		r.t.Fatalf("netlink.json does not decode: %v", err)
	}
	if js2, _ := json.Marshal(back); !bytes.Equal(js, js2) {
		r.t.Errorf("netlink.json does not survive a round trip:\n%s\n---\n%s", js, js2)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(append(js, '\n')); err != nil {
		r.t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		r.t.Fatal(err)
	}
	vmtest.SaveArtifact(r.t, name+"/netlink.json.gz", gz.Bytes())
	vmtest.SaveArtifact(r.t, name+"/proc_net_dev", c.ProcNetDev)
	vmtest.SaveArtifact(r.t, name+"/xfrm_stat", c.XfrmStat)
	vmtest.SaveArtifact(r.t, name+"/osrelease", []byte(c.Release+"\n"))
}

// readLinks reads links once into a fresh Snapshot.
func readLinks(c *vtistat.Client, filters ...vtistat.LinkFilter) ([]vtistat.Link, error) {
	var s vtistat.Snapshot
	err := c.Snapshot(context.Background(), &s, filters...)
	return s.Links, err
}

// statsNames are the stats64 field names, in struct order.
var statsNames = vtistat.StatsFieldNames()

// statsValues returns the stats64 fields in struct order.
func statsValues(s *vtistat.Stats64) []uint64 {
	var out []uint64
	for _, v := range s.All() {
		out = append(out, v)
	}
	return out
}

// addSAWithDir adds an ESP tunnel-mode SA (cbc(aes) + hmac(sha256), fresh
// random keys, the tunnel's mark) with an SA direction (XFRMA_SA_DIR,
// Linux 6.10+) over XFRM netlink, which the iproute2 of the VM images
// cannot set. The keys never leave this function.
func (r *rig) addSAWithDir(s *side, src, dst string, spi uint32, dir uint8) {
	r.t.Helper()
	info := make([]byte, xfrm.SizeofUsersaInfo)
	copy(info[xfrm.UsersaID+xfrm.IDDaddr:], net.ParseIP(dst).To4())
	binary.BigEndian.PutUint32(info[xfrm.UsersaID+xfrm.IDSPI:], spi)
	info[xfrm.UsersaID+xfrm.IDProto] = unix.IPPROTO_ESP
	copy(info[xfrm.UsersaSaddr:], net.ParseIP(src).To4())
	for i := range 4 { // byte and packet limits: none (XFRM_INF)
		binary.NativeEndian.PutUint64(info[xfrm.UsersaLft+8*i:], math.MaxUint64)
	}
	binary.NativeEndian.PutUint16(info[xfrm.UsersaFamily:], xfrm.AFInet)
	info[xfrm.UsersaMode] = xfrm.ModeTunnel

	key := func() []byte {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			r.t.Fatal(err)
		}
		return k
	}
	algo := func(name string, trunc uint32, k []byte) []byte {
		n := xfrm.SizeofAlgo
		if trunc != 0 {
			n = xfrm.SizeofAlgoAuth
		}
		b := make([]byte, n, n+len(k))
		copy(b, name)
		binary.NativeEndian.PutUint32(b[xfrm.AlgKeyLen:], uint32(8*len(k)))
		if trunc != 0 {
			binary.NativeEndian.PutUint32(b[xfrm.AlgTruncOrICVLen:], trunc)
		}
		return append(b, k...)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(xfrm.AttrAlgCrypt, algo("cbc(aes)", 0, key()))
	ae.Bytes(xfrm.AttrAlgAuthTrunc, algo("hmac(sha256)", 128, key()))
	mark := make([]byte, xfrm.SizeofMark)
	binary.NativeEndian.PutUint32(mark, 16)
	binary.NativeEndian.PutUint32(mark[4:], math.MaxUint32)
	ae.Bytes(xfrm.AttrMark, mark)
	ae.Uint8(xfrm.AttrSADir, dir)
	attrs, err := ae.Encode()
	if err != nil {
		r.t.Fatal(err)
	}
	c, err := netlink.Dial(unix.NETLINK_XFRM, &netlink.Config{NetNS: s.ns.Open(r.t)})
	if err != nil {
		r.t.Fatalf("%s: xfrm netlink: %v", s.name, err)
	}
	defer c.Close()
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: xfrm.MsgNewSA,
			Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
		Data: append(info, attrs...),
	})
	if err != nil {
		r.t.Fatalf("%s: XFRM_MSG_NEWSA %s → %s spi 0x%x dir %d: %v", s.name, src, dst, spi, dir, err)
	}
}
