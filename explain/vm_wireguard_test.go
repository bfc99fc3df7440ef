//go:build linux

package explain_test

// The kernel signatures of WireGuard failures, measured in the VM rig's
// kernels (the host has no wireguard module):
//
//	go run ./internal/vmtest/cmd/vmtest -kernels 5.10,6.1,6.12,7.3 -parallel 1 \
//	    -run '^TestVMWireGuardSignatures$' -captures /tmp/wgcap ./explain/
//	# then copy /tmp/wgcap/<kernel>/TestVMWireGuardSignatures/*.json to
//	# testdata/wireguard/<kernel>/
//
// Every scenario builds a fresh pair of namespaces (A and B, IPv6 off,
// joined by veth 198.51.100.1/24 – .2/24), a wireguard device wg0 in each
// (A 192.0.2.1/24 port 51820, B 192.0.2.2/24 port 51821, each the other's
// only peer with the other's inner /32 as allowed IPs and the other's veth
// address as endpoint), checks that a datagram passes both ways, breaks one
// thing, and records both sides' links (stats64) and peer lists before and
// after. The captures (JSON, public keys only) are in
// testdata/wireguard/<kernel>/<scenario>.json.
//
// What the four kernels showed (5.10.223, 6.1.176, 6.12.117, 7.3.4; last
// run 2026-12-03 07:11–07:19 UTC, every scenario passed on every kernel,
// captures from it; the rows but handshake-stops as in the runs before).
// "A" is the side that sends, "+n" a delta of wg0's stats64 (or of the
// peer's byte counters, or of the namespace's Icmp counters), and every
// counter not named stayed where it was. Identical on the four kernels
// except where 7.3 is named:
//
//	scenario              A (sender)                                 B (receiver)
//	no-allowed-ip         tx_errors +5; each send fails ENOKEY;      nothing
//	  (5 to 192.0.2.99)   ICMP host unreachable back to the local
//	                      sender (Icmp Out/InDestUnreachs +5 each)
//	no-endpoint           tx_errors +5; each send fails              nothing
//	  (peer re-added      EDESTADDRREQ; ICMP +5/+5 as above; the
//	  without endpoint)   peer: no endpoint, tx 0, no handshake
//	tx-not-ip (5 ARP      tx_errors +5; each sendto fails            nothing
//	  frames, AF_PACKET)  EPROTONOSUPPORT; no ICMP
//	rx-unallowed-source   (B sends from 192.0.2.50, outside its      A receives: rx_errors +5,
//	                      allowed IPs on A) B: tx_packets +5,        rx_frame_errors +5, nothing
//	                      tx_bytes +480, peer tx_bytes +480          else: rx_packets, rx_bytes
//	                                                                 and the peer's rx_bytes flat
//	wrong-key (200 sent   tx_dropped +71 (200 − 129 kept staged),    nothing (no counter for an
//	  at once)            tx_packets +3, tx_bytes +444: three        initiation it cannot open)
//	                      initiations of 148 bytes, the 2nd seen at
//	                      5.1–5.8 s, the 3rd at 10.7–11.3 s; peer
//	                      tx_bytes +444, rx_bytes 0, last handshake
//	                      zero; sends succeed
//	wrong-key-gives-up    20 initiations (tx_packets +20, tx_bytes   B still had the session and
//	  (as wrong-key,      and peer tx_bytes +2960), then, at 105.2–  sent its last data: 15 s
//	  watched ≤ 115 s)    106.9 s, the 129 staged packets dropped    later it initiates too,
//	                      at once: tx_dropped 71 → 200               every 5 s (17–18 by the end:
//	                                                                 tx_packets, tx_bytes, peer
//	                                                                 tx_bytes, 148 each), rx nothing
//	handshake-stops       tx_packets +45, tx_bytes +42 980 =         nothing (data for an index
//	  (B removed peer A;  40 × 1 056 + 5 × 148: data goes on with    it no longer has and
//	  A sends one 996-    the old session, and new initiations       initiations from an unknown
//	  byte datagram a     start between 15.1 and 16.0 s after the    key are dropped uncounted);
//	  second, 40 s)       first unanswered datagram, then 5 s        nothing delivered
//	                      apart; no error or drop; peer rx_bytes
//	                      flat, last handshake unchanged; sends
//	                      succeed. 7.3: the same, or initiations
//	                      from ~6 s (7 in 40 s, tx_bytes +43 276)
//	handshake-stops-      A's wg0 and peer as in handshake-stops     wg0 nothing; its closed UDP
//	  device-down (B's    (7.3 alike, including the ~6 s start);     port answers every message:
//	  wg0 down; its       each message comes back as an ICMP port    Icmp OutDestUnreachs +45
//	  icmp_ratelimit 0)   unreachable: Icmp InDestUnreachs +45       (47 with 7.3's early start).
//	                      (47 with 7.3's early start)                With the default rate limit
//	                                                                 (1 a second per destination,
//	                                                                 a burst of 6) 44 came back
//
// 7.3's early start of new initiations: in the runs of 2026-12-03, the
// first new initiation came at 16.0 s in 6 of the 11 handshake-stops
// scenarios of 7.3 and at 6.0 s in 5 (both kinds of scenario, 5.0–6.0 s
// after the first unanswered datagram, i.e. REKEY_TIMEOUT rather than
// KEEPALIVE + REKEY_TIMEOUT); 5.10, 6.1 and 6.12 started at 16.0 s every
// time. The
// cause is not established here (the 7.3 source was not read).
//
// Each scenario also runs explain on both sides' readings (and a Tracker
// on them: every sample, samples 10 s apart, before and after) and checks
// the findings and risks against wgExpectations
// (wireguard_captures_test.go), which TestWireGuardCaptureFindings checks
// on the saved captures on the host.
//
// wg0's tx_packets and tx_bytes count UDP messages and their payload
// (data, handshake), exactly as the peer's tx_bytes do: a data message of
// a 32-byte datagram is 96 bytes, an initiation 148; rx_packets and
// rx_bytes count only what is delivered. Not measured here: the end of the
// old session (REJECT_AFTER_TIME, 180 s). In the VMs (one vCPU) the
// subtests marked parallel run one after the other: about 4 minutes a
// kernel, most of it wrong-key-gives-up.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/internal/wgtest"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// The wireguard world of the scenarios: identities 1 (A) and 2 (B) of
// package wgtest; identity 3 is the wrong key.
const (
	wgIdentA, wgIdentB, wgIdentWrong = 1, 2, 3
	wgPortA, wgPortB                 = 51820, 51821
	wgInnerA, wgInnerB               = "192.0.2.1", "192.0.2.2"
	wgUncovered                      = "192.0.2.99" // on wg0's /24, in no peer's allowed IPs
	wgSpoofB                         = "192.0.2.50" // an address of B's wg0 outside B's allowed IPs on A
	wgDatagrams                      = 5
	// wgMessageInitiation is the size of a handshake initiation
	// (struct message_handshake_initiation), the UDP payload a peer's
	// tx_bytes counts for it.
	wgMessageInitiation = 148
	// wgData32 is the UDP payload of a data message carrying a 32-byte
	// UDP datagram: IPv4 + UDP + 32 = 60 bytes, padded to 64, plus the
	// 16-byte header and the 16-byte tag.
	wgData32 = 96
)

// wgIdentities are the identities whose private keys the test uses: none
// of them may appear in a capture.
var wgIdentities = []int{wgIdentA, wgIdentB, wgIdentWrong}

type wgSide struct {
	name     string
	ns       *testns.NS
	h        *netns.Handle
	vti      *vtistat.Client
	underlay netip.Addr
	inner    string
	port     uint16
	sink     *net.UDPConn
}

type wgRig struct {
	t    *testing.T
	a, b *wgSide
}

// newWGRig builds the pair and checks that a datagram passes both ways.
func newWGRig(t *testing.T) *wgRig {
	t.Helper()
	r := &wgRig{t: t}
	r.a = r.newSide("A", "198.51.100.1", wgInnerA, wgPortA)
	r.b = r.newSide("B", "198.51.100.2", wgInnerB, wgPortB)
	r.a.ns.IP(t, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", "netns", r.b.ns.Name)
	for _, s := range []*wgSide{r.a, r.b} {
		dev := "veth-" + strings.ToLower(s.name)
		s.ns.IP(t, "addr", "add", s.underlay.String()+"/24", "dev", dev)
		s.ns.IP(t, "link", "set", dev, "up")
		wgtest.AddDevice(t, s.ns, "wg0")
		s.ns.IP(t, "addr", "add", s.inner+"/24", "dev", "wg0")
	}
	wgtest.Set(t, r.a.ns, "wg0", wgtest.Device{Private: wgtest.Private(wgIdentA), ListenPort: wgPortA}, []wgtest.Peer{r.peerOf(r.b, wgIdentB, true)})
	wgtest.Set(t, r.b.ns, "wg0", wgtest.Device{Private: wgtest.Private(wgIdentB), ListenPort: wgPortB}, []wgtest.Peer{r.peerOf(r.a, wgIdentA, true)})
	for _, s := range []*wgSide{r.a, r.b} {
		s.ns.IP(t, "link", "set", "wg0", "up")
		s.sink = r.listen(s)
	}
	r.send(r.a, "", wgInnerB, 1)
	r.expectReceived(r.b, 1)
	r.send(r.b, "", wgInnerA, 1)
	r.expectReceived(r.a, 1)
	return r
}

// peerOf is the peer entry for side s with identity id.
func (r *wgRig) peerOf(s *wgSide, id int, endpoint bool) wgtest.Peer {
	p := wgtest.Peer{Public: wgtest.Public(r.t, id), Allowed: []netip.Prefix{netip.MustParsePrefix(s.inner + "/32")}}
	if endpoint {
		p.Endpoint = netip.AddrPortFrom(s.underlay, s.port)
	}
	return p
}

func (r *wgRig) newSide(name, underlay, inner string, port uint16) *wgSide {
	t := r.t
	s := &wgSide{name: name, ns: testns.New(t), underlay: netip.MustParseAddr(underlay), inner: inner, port: port}
	h, err := netns.Open(netns.Target{Name: s.ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	s.h = h
	// IPv6 off before any link exists: no router solicitation into wg0
	// (which no peer's allowed IPs would cover: tx_errors), no neighbour
	// discovery on the veth.
	for _, f := range []string{"all", "default"} {
		if err := h.Do(func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if s.vti, err = vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: s.ns.Name}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.vti.Close() })
	return s
}

func (r *wgRig) listen(s *wgSide) *net.UDPConn {
	var c *net.UDPConn
	if err := s.h.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: udpPort})
		return err
	}); err != nil {
		r.t.Fatalf("%s: listen: %v", s.name, err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// send sends n 32-byte datagrams from s (from src, "" for any) to
// dst:udpPort (wgtest.SendUDP), and fails the test if a send fails.
func (r *wgRig) send(s *wgSide, src, dst string, n int) {
	r.t.Helper()
	wgtest.SendUDP(r.t, s.ns, src, wgUDPAddr(dst), n, 32)
}

// trySend is send that counts the send errors by errno name instead: the
// wireguard driver's ndo_start_xmit returns its errno to the sender.
func (r *wgRig) trySend(s *wgSide, src, dst string, n int) map[string]int {
	r.t.Helper()
	return wgtest.TrySendUDP(r.t, s.ns, src, wgUDPAddr(dst), n, 32)
}

// wgUDPAddr is dst:udpPort.
func wgUDPAddr(dst string) string { return net.JoinHostPort(dst, strconv.Itoa(udpPort)) }

func (r *wgRig) expectReceived(s *wgSide, n int) {
	r.t.Helper()
	buf := make([]byte, 2048)
	_ = s.sink.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		if _, _, err := s.sink.ReadFromUDP(buf); err != nil {
			r.t.Fatalf("%s received %d of %d datagrams through the tunnel: %v", s.name, i, n, err)
		}
	}
}

// expectNothing checks that s's sink has nothing waiting.
func (r *wgRig) expectNothing(s *wgSide) {
	r.t.Helper()
	buf := make([]byte, 2048)
	_ = s.sink.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, from, err := s.sink.ReadFromUDP(buf); err == nil {
		r.t.Errorf("%s received a datagram from %v: the tunnel delivered what it should have dropped", s.name, from)
	}
}

// sendNonIP sends n packets of protocol ETH_P_ARP (28 zero bytes, no IP
// header) into s's wg0 through an AF_PACKET socket.
func (r *wgRig) sendNonIP(s *wgSide, n int) map[string]int {
	r.t.Helper()
	var links vtistat.Snapshot
	if err := s.vti.Snapshot(context.Background(), &links, vtistat.ByName("wg0")); err != nil || len(links.Links) != 1 {
		r.t.Fatalf("%s: wg0: %v", s.name, err)
	}
	proto := htons(unix.ETH_P_ARP)
	fd := -1
	if err := s.h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(proto))
		return err
	}); err != nil {
		r.t.Fatalf("%s: packet socket: %v", s.name, err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: int(links.Links[0].Index)}
	errs := map[string]int{}
	for range n {
		if err := unix.Sendto(fd, make([]byte, 28), 0, to); err != nil {
			errs[wgtest.ErrnoName(err)]++
		}
	}
	return errs
}

// wgSideCapture is one side at one moment: every link (as explain's VM
// captures record links) and every wireguard device's peers, plus the
// namespace's ICMP counters (/proc/net/snmp) to prove ICMP errors.
type wgSideCapture struct {
	Links     []capturedLink
	WireGuard []vtistat.WireGuardDevice
	Icmp      map[string]uint64
}

// wgMoment is both sides at one moment.
type wgMoment struct {
	Time time.Time
	A, B wgSideCapture
}

// wgSample is one point of a timed scenario.
type wgSample struct {
	Seconds float64 // since the scenario's before
	Sent    int     // datagrams sent by then
	A, B    wgSideCapture
}

// wgCapture is what a scenario saves: testdata/wireguard/<kernel>/<name>.json.
type wgCapture struct {
	Kernel        string // vmtest.Kernel(): the matrix's name
	KernelRelease string
	Scenario      string
	Note          string
	Sent          int // datagrams (or packets) the scenario sent
	// SendErrors counts the sender's failed sends by errno name.
	SendErrors    map[string]int `json:",omitempty"`
	Before, After wgMoment
	Timeline      []wgSample `json:",omitempty"`
}

func (r *wgRig) readSide(s *wgSide) wgSideCapture {
	r.t.Helper()
	links, err := readLinks(s.vti)
	if err != nil {
		r.t.Fatalf("%s: links: %v", s.name, err)
	}
	c := wgSideCapture{Links: captureLinks(links)}
	for _, l := range links {
		if l.Kind != "wireguard" {
			continue
		}
		var d vtistat.WireGuardDevice
		if err := s.vti.WireGuardDevice(context.Background(), &d, vtistat.ByIndex(l.Index)); err != nil {
			r.t.Fatalf("%s: %s: %v", s.name, l.Name, err)
		}
		c.WireGuard = append(c.WireGuard, d)
	}
	c.Icmp = r.icmp(s)
	return c
}

// icmp reads the Icmp: lines of the namespace's /proc/net/snmp.
func (r *wgRig) icmp(s *wgSide) map[string]uint64 {
	var b []byte
	if err := s.h.Do(func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/snmp")
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	var names []string
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "Icmp:" {
			continue
		}
		if names == nil {
			names = f[1:]
			continue
		}
		for i, v := range f[1:] {
			if i < len(names) {
				n, _ := strconv.ParseUint(v, 10, 64)
				out[names[i]] = n
			}
		}
	}
	return out
}

func (r *wgRig) moment() wgMoment {
	return wgMoment{Time: time.Now(), A: r.readSide(r.a), B: r.readSide(r.b)}
}

// wg0 returns the capture's wg0 link and device.
func (c *wgSideCapture) wg0(t testing.TB) (*capturedLink, *vtistat.WireGuardDevice) {
	t.Helper()
	for i := range c.Links {
		if c.Links[i].Name == "wg0" {
			for j := range c.WireGuard {
				if c.WireGuard[j].Name == "wg0" {
					return &c.Links[i], &c.WireGuard[j]
				}
			}
		}
	}
	t.Fatal("no wg0 in the capture")
	return nil, nil
}

// wgDeltas are the stats64 counters of wg0 that moved between two
// captures of a side, plus the peer's byte counters ("peer_rx_bytes",
// "peer_tx_bytes", of the first peer) and ICMP counters ("icmp_<name>").
func wgDeltas(t testing.TB, before, after *wgSideCapture) map[string]int64 {
	t.Helper()
	lb, db := before.wg0(t)
	la, da := after.wg0(t)
	out := map[string]int64{}
	vb := statsValues(&lb.Stats)
	for i, v := range statsValues(&la.Stats) {
		if d := int64(v - vb[i]); d != 0 {
			out[statsNames[i]] = d
		}
	}
	if len(db.Peers) > 0 && len(da.Peers) > 0 {
		if d := int64(da.Peers[0].RxBytes - db.Peers[0].RxBytes); d != 0 {
			out["peer_rx_bytes"] = d
		}
		if d := int64(da.Peers[0].TxBytes - db.Peers[0].TxBytes); d != 0 {
			out["peer_tx_bytes"] = d
		}
	}
	for _, k := range []string{"InDestUnreachs", "OutDestUnreachs"} {
		if d := int64(after.Icmp[k] - before.Icmp[k]); d != 0 {
			out["icmp_"+k] = d
		}
	}
	return out
}

func formatDeltas(m map[string]int64) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s+%d ", k, m[k])
	}
	if b.Len() == 0 {
		return "(nothing)"
	}
	return strings.TrimSpace(b.String())
}

// expectDeltas fails unless exactly want moved on side name.
func expectDeltas(t testing.TB, name string, got, want map[string]int64) {
	t.Helper()
	if formatDeltas(got) != formatDeltas(want) {
		t.Errorf("kernel %s, %s moved:\n got %s\nwant %s", vmtest.Kernel(), name, formatDeltas(got), formatDeltas(want))
	}
}

// save writes the scenario's capture as an artifact, after the key audit.
func (r *wgRig) save(top *testing.T, c *wgCapture) {
	r.t.Helper()
	c.Kernel = vmtest.Kernel()
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		c.KernelRelease = strings.TrimSpace(string(rel))
	}
	js, err := json.MarshalIndent(c, "", "\t")
	if err != nil {
		r.t.Fatal(err)
	}
	auditWGCapture(r.t, c.Scenario, js)
	vmtest.SaveArtifact(top, c.Scenario+".json", append(js, '\n'))
}

// auditWGCapture fails if any private key of the test identities appears
// in a capture, in any form (raw, base64, hex), and if the capture does not
// hold the public keys it should (which would make the audit vacuous).
func auditWGCapture(t testing.TB, what string, js []byte) {
	t.Helper()
	var secrets []wgtest.Key
	for _, id := range wgIdentities {
		secrets = append(secrets, wgtest.Private(id))
	}
	wgtest.Audit(t, what, secrets, js)
	if !bytes.Contains(js, []byte(wgtest.Public(t, wgIdentA).String())) {
		t.Errorf("%s: A's public key is not in the capture", what)
	}
}

// TestVMWireGuardSignatures measures what each wireguard failure moves, on
// both sides, and saves the captures.
func TestVMWireGuardSignatures(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "wireguard", "veth")
	top := t

	// 1. A destination on wg0 that no peer's allowed IPs cover.
	t.Run("no-allowed-ip", func(t *testing.T) {
		r := newWGRig(t)
		c := &wgCapture{Scenario: "no-allowed-ip", Sent: wgDatagrams,
			Note: "A sends datagrams to " + wgUncovered + ", routed to wg0, in no peer's allowed IPs"}
		c.Before = r.moment()
		c.SendErrors = r.trySend(r.a, "", wgUncovered, wgDatagrams)
		expectSendErrors(t, c.SendErrors, "ENOKEY", wgDatagrams)
		r.waitIcmp(r.a, c.Before.A.Icmp, wgDatagrams)
		c.After = r.moment()
		expectDeltas(t, "A", wgDeltas(t, &c.Before.A, &c.After.A), map[string]int64{
			"tx_errors": wgDatagrams, "icmp_InDestUnreachs": wgDatagrams, "icmp_OutDestUnreachs": wgDatagrams})
		expectDeltas(t, "B", wgDeltas(t, &c.Before.B, &c.After.B), map[string]int64{})
		r.save(top, c)
		r.explain(c)
	})

	// 2. The sender's peer has no endpoint.
	t.Run("no-endpoint", func(t *testing.T) {
		r := newWGRig(t)
		wgtest.ReplacePeer(t, r.a.ns, "wg0", r.peerOf(r.b, wgIdentB, false))
		c := &wgCapture{Scenario: "no-endpoint", Sent: wgDatagrams,
			Note: "A's peer B removed and added again without an endpoint; A sends datagrams to B's inner address"}
		c.Before = r.moment()
		c.SendErrors = r.trySend(r.a, "", wgInnerB, wgDatagrams)
		expectSendErrors(t, c.SendErrors, "EDESTADDRREQ", wgDatagrams)
		r.waitIcmp(r.a, c.Before.A.Icmp, wgDatagrams)
		c.After = r.moment()
		expectDeltas(t, "A", wgDeltas(t, &c.Before.A, &c.After.A), map[string]int64{
			"tx_errors": wgDatagrams, "icmp_InDestUnreachs": wgDatagrams, "icmp_OutDestUnreachs": wgDatagrams})
		expectDeltas(t, "B", wgDeltas(t, &c.Before.B, &c.After.B), map[string]int64{})
		_, da := c.After.A.wg0(t)
		if p := da.Peers[0]; p.Endpoint.IsValid() || p.TxBytes != 0 || !p.LastHandshake.IsZero() {
			t.Errorf("A's peer: endpoint %v, tx %d, last handshake %v", p.Endpoint, p.TxBytes, p.LastHandshake)
		}
		r.expectNothing(r.b)
		r.save(top, c)
		r.explain(c)
	})

	// 3. A source address the receiver's allowed IPs for the peer do not
	// cover.
	t.Run("rx-unallowed-source", func(t *testing.T) {
		r := newWGRig(t)
		r.b.ns.IP(t, "addr", "add", wgSpoofB+"/32", "dev", "wg0")
		c := &wgCapture{Scenario: "rx-unallowed-source", Sent: wgDatagrams,
			Note: "B sends datagrams from " + wgSpoofB + " (its wg0, not in B's allowed IPs on A) to A's inner address"}
		c.Before = r.moment()
		r.send(r.b, wgSpoofB, wgInnerA, wgDatagrams)
		r.waitStat(r.a, "rx_errors", c.Before.A, wgDatagrams)
		c.After = r.moment()
		expectDeltas(t, "A", wgDeltas(t, &c.Before.A, &c.After.A), map[string]int64{
			"rx_errors": wgDatagrams, "rx_frame_errors": wgDatagrams})
		expectDeltas(t, "B", wgDeltas(t, &c.Before.B, &c.After.B), map[string]int64{
			"tx_packets": wgDatagrams, "tx_bytes": wgDatagrams * wgData32, "peer_tx_bytes": wgDatagrams * wgData32})
		r.expectNothing(r.a)
		r.save(top, c)
		r.explain(c)
	})

	// 4. A packet that is not IP, into wg0 through AF_PACKET.
	t.Run("tx-not-ip", func(t *testing.T) {
		r := newWGRig(t)
		c := &wgCapture{Scenario: "tx-not-ip", Sent: wgDatagrams,
			Note: "A sends 28-byte ETH_P_ARP packets (no IP header) into wg0 through an AF_PACKET socket"}
		c.Before = r.moment()
		c.SendErrors = r.sendNonIP(r.a, wgDatagrams)
		expectSendErrors(t, c.SendErrors, "EPROTONOSUPPORT", wgDatagrams)
		r.waitStat(r.a, "tx_errors", c.Before.A, wgDatagrams)
		c.After = r.moment()
		expectDeltas(t, "A", wgDeltas(t, &c.Before.A, &c.After.A), map[string]int64{"tx_errors": wgDatagrams})
		expectDeltas(t, "B", wgDeltas(t, &c.Before.B, &c.After.B), map[string]int64{})
		r.save(top, c)
		r.explain(c)
	})

	// 5. The sender has a wrong public key for its peer: the handshake
	// never completes.
	t.Run("wrong-key", func(t *testing.T) {
		t.Parallel()
		r := newWGRig(t)
		wrong := r.peerOf(r.b, wgIdentWrong, true)
		wgtest.RemovePeer(t, r.a.ns, "wg0", wgtest.Public(t, wgIdentB))
		wgtest.SetPeers(t, r.a.ns, "wg0", []wgtest.Peer{wrong})
		const n = 200
		c := &wgCapture{Scenario: "wrong-key", Sent: n,
			Note: fmt.Sprintf("A's peer for B has the public key of identity %d (wrong); A sends %d datagrams at once, then nothing; sampled every 500 ms until the third initiation", wgIdentWrong, n)}
		c.Before = r.moment()
		t0 := c.Before.Time
		r.send(r.a, "", wgInnerB, n)
		for time.Since(t0) < 16*time.Second {
			s := wgSample{Seconds: time.Since(t0).Seconds(), Sent: n, A: r.readSide(r.a), B: r.readSide(r.b)}
			c.Timeline = append(c.Timeline, s)
			_, d := s.A.wg0(t)
			if d.Peers[0].TxBytes >= 3*wgMessageInitiation {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		c.After = r.moment()
		r.logTimeline(c)
		da := wgDeltas(t, &c.Before.A, &c.After.A)
		// Three initiations, each one UDP datagram of 148 bytes, counted
		// by wg0 as a packet of 148 bytes (the UDP payload); the staged
		// queue keeps 129 packets (MAX_STAGED_PACKETS 128, trimmed
		// before each new packet is added), the rest are tx_dropped.
		expectDeltas(t, "A", da, map[string]int64{
			"tx_dropped": n - 129, "peer_tx_bytes": 3 * wgMessageInitiation,
			"tx_packets": 3, "tx_bytes": 3 * wgMessageInitiation})
		// B receives nothing it counts. It may itself begin initiating
		// 15 s after the last data it sent (see wrong-key-gives-up),
		// which a slow setup can bring into this window.
		expectInitiationsOnly(t, "B", wgDeltas(t, &c.Before.B, &c.After.B))
		// The retries: REKEY_TIMEOUT (5 s) plus up to 1/3 s of jitter
		// apart, never sooner.
		second, third := firstSample(t, c, func(d *vtistat.WireGuardDevice) bool { return d.Peers[0].TxBytes >= 2*wgMessageInitiation }),
			firstSample(t, c, func(d *vtistat.WireGuardDevice) bool { return d.Peers[0].TxBytes >= 3*wgMessageInitiation })
		t.Logf("kernel %s: second initiation seen at %.1f s, third at %.1f s", vmtest.Kernel(), second, third)
		if second < 5 || second > 8 || third < 10 || third > 14 {
			t.Errorf("kernel %s: second initiation seen at %.1f s, third at %.1f s: want after 5 s and 10 s", vmtest.Kernel(), second, third)
		}
		_, d := c.After.A.wg0(t)
		if p := d.Peers[0]; !p.LastHandshake.IsZero() || p.RxBytes != 0 {
			t.Errorf("A's peer: last handshake %v, rx %d bytes", p.LastHandshake, p.RxBytes)
		}
		r.expectNothing(r.b)
		r.save(top, c)
		r.explain(c)
	})

	// 6. A working tunnel whose other side forgets the peer: the sender
	// goes on with its session, then tries new handshakes.
	t.Run("handshake-stops", func(t *testing.T) {
		t.Parallel()
		wgHandshakeStops(t, top, "handshake-stops", "B removes its peer A after a working exchange", false, func(r *wgRig) {
			wgtest.RemovePeer(t, r.b.ns, "wg0", wgtest.Public(t, wgIdentA))
		})
	})
	t.Run("handshake-stops-device-down", func(t *testing.T) {
		t.Parallel()
		wgHandshakeStops(t, top, "handshake-stops-device-down", "B sets its wg0 down after a working exchange (its UDP socket closes); B's icmp_ratelimit 0", true, func(r *wgRig) {
			// B answers every message with a port unreachable: no
			// per-destination rate limit (1 a second, a burst of 6,
			// by default), which the initiations would exceed.
			if err := r.b.h.Do(func() error {
				return os.WriteFile("/proc/sys/net/ipv4/icmp_ratelimit", []byte("0"), 0)
			}); err != nil {
				t.Fatal(err)
			}
			r.b.ns.IP(t, "link", "set", "wg0", "down")
		})
	})

	// 7. The wrong key kept long enough for the handshake to be given up.
	t.Run("wrong-key-gives-up", func(t *testing.T) {
		t.Parallel()
		r := newWGRig(t)
		wgtest.RemovePeer(t, r.a.ns, "wg0", wgtest.Public(t, wgIdentB))
		wgtest.SetPeers(t, r.a.ns, "wg0", []wgtest.Peer{r.peerOf(r.b, wgIdentWrong, true)})
		const n = 200
		c := &wgCapture{Scenario: "wrong-key-gives-up", Sent: n,
			Note: "as wrong-key, watched every second for up to 115 s until every datagram is dropped; a sample is kept when A's wg0 or peer counters moved"}
		c.Before = r.moment()
		t0 := c.Before.Time
		r.send(r.a, "", wgInnerB, n)
		last := ""
		for time.Since(t0) < 115*time.Second {
			a := r.readSide(r.a)
			d := wgDeltas(t, &c.Before.A, &a)
			if k := formatDeltas(d); k != last {
				c.Timeline = append(c.Timeline, wgSample{Seconds: time.Since(t0).Seconds(), Sent: n, A: a, B: r.readSide(r.b)})
				last = k
			}
			if d["tx_dropped"] >= n {
				break
			}
			time.Sleep(time.Second)
		}
		c.After = r.moment()
		r.logTimeline(c)
		da := wgDeltas(t, &c.Before.A, &c.After.A)
		inits := da["peer_tx_bytes"] / wgMessageInitiation
		gaveUp := -1.0
		for i := range c.Timeline {
			if wgDeltas(t, &c.Before.A, &c.Timeline[i].A)["tx_dropped"] >= n {
				gaveUp = c.Timeline[i].Seconds
				break
			}
		}
		t.Logf("kernel %s: %d initiations, every datagram dropped at %.1f s", vmtest.Kernel(), inits, gaveUp)
		// The first initiation and 19 retries (MAX_TIMER_HANDSHAKES
		// 18 + 1) each REKEY_TIMEOUT (5 s, plus up to 1/3 s of jitter)
		// apart; at the next expiry the handshake is given up and the
		// 129 staged packets are dropped at once.
		if inits != 20 || gaveUp < 100 || gaveUp > 112 {
			t.Errorf("kernel %s: %d initiations, every datagram dropped at %.1f s: want 20, after 100 s", vmtest.Kernel(), inits, gaveUp)
		}
		expectDeltas(t, "A", da, map[string]int64{
			"tx_dropped": n, "peer_tx_bytes": inits * wgMessageInitiation,
			"tx_packets": inits, "tx_bytes": inits * wgMessageInitiation})
		// B had a session with A (the working exchange) and sent the
		// last data of it: 15 s later, nothing authenticated having
		// come back (A no longer knows B's key), B starts initiating
		// too, every 5 s; A drops them uncounted.
		binits := expectInitiationsOnly(t, "B", wgDeltas(t, &c.Before.B, &c.After.B))
		if binits < 16 {
			t.Errorf("kernel %s: B sent %d initiations in %.0f s", vmtest.Kernel(), binits, c.After.Time.Sub(t0).Seconds())
		}
		r.save(top, c)
		r.explain(c)
	})
}

// wgHandshakeStops: a working tunnel, then breakIt stops B from answering;
// A sends one datagram of wgStopsPayload bytes a second for 40 s. A goes
// on with its session, then tries new handshakes. The datagrams are large
// so that each second's data message outweighs what handshakes and
// keepalives may send in a second: a Tracker fed every sample sees the
// traffic as one-way (tunnel-wg-one-way's allowance), as it does one fed
// a sample every 10 s.
func wgHandshakeStops(t *testing.T, top *testing.T, name, what string, icmpBack bool, breakIt func(*wgRig)) {
	r := newWGRig(t)
	breakIt(r)
	const seconds = 40
	data := wgDataMessage(wgStopsPayload)
	c := &wgCapture{Scenario: name, Sent: seconds,
		Note: fmt.Sprintf("%s; A sends one datagram of %d bytes a second for %d s; sampled after each", what, wgStopsPayload, seconds)}
	c.Before = r.moment()
	t0 := c.Before.Time
	for i := range seconds {
		if d := time.Until(t0.Add(time.Duration(i) * time.Second)); d > 0 {
			time.Sleep(d)
		}
		wgtest.SendUDP(t, r.a.ns, "", wgUDPAddr(wgInnerB), 1, wgStopsPayload)
		c.Timeline = append(c.Timeline, wgSample{Seconds: time.Since(t0).Seconds(), Sent: i + 1, A: r.readSide(r.a), B: r.readSide(r.b)})
	}
	c.After = r.moment()
	r.logTimeline(c)
	da := wgDeltas(t, &c.Before.A, &c.After.A)
	_, before := c.Before.A.wg0(t)
	_, after := c.After.A.wg0(t)
	if !after.Peers[0].LastHandshake.Equal(before.Peers[0].LastHandshake) || da["peer_rx_bytes"] != 0 {
		t.Errorf("A's peer: last handshake %v → %v, rx +%d bytes", before.Peers[0].LastHandshake, after.Peers[0].LastHandshake, da["peer_rx_bytes"])
	}
	// What the peer's tx_bytes holds besides data messages is
	// initiations; a data message may still be on its way at a sample.
	initiations := func(d *vtistat.WireGuardDevice) int64 {
		return splitInitiations(int64(d.Peers[0].TxBytes-before.Peers[0].TxBytes), data)
	}
	inits := initiations(after)
	if inits < 0 {
		t.Fatalf("A's peer sent %d bytes: not data messages of %d and initiations", da["peer_tx_bytes"], data)
	}
	// The first new initiation: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT
	// (15 s) after the first data sent without an answer; then one
	// every REKEY_TIMEOUT (5 s) plus up to 1/3 s of jitter.
	first := firstSample(t, c, func(d *vtistat.WireGuardDevice) bool { return initiations(d) > 0 })
	end := c.After.Time.Sub(t0).Seconds()
	lo, hi := 1+int64((end-first-0.5)/(5+1.0/3)), 1+int64((end-first+1.5)/5)
	t.Logf("kernel %s: %d new initiations in %.1f s, the first seen at %.1f s (%d to %d expected from it)", vmtest.Kernel(), inits, end, first, lo, hi)
	early := 15.0
	if !vmtest.IsKernelLessThan(t, "7.0") {
		// 7.3 began its new initiations at 16 s in some runs and at
		// 6 s in others: see the table at the top.
		early = 5
	}
	if first < early || first > 18 || inits < lo || inits > hi {
		t.Errorf("kernel %s: %d new initiations in %.1f s, the first seen at %.1f s: want the first after %.0f s, then one every 5 to 5.33 s (%d to %d)",
			vmtest.Kernel(), inits, end, first, early, lo, hi)
	}
	// With B's wg0 down its UDP port is closed: every message A sends
	// (data and initiations) comes back as an ICMP port unreachable,
	// counted on both sides' ICMP counters (the wg0 counters do not
	// show it).
	want := map[string]int64{
		"tx_packets": seconds + inits, "tx_bytes": seconds*data + inits*wgMessageInitiation,
		"peer_tx_bytes": seconds*data + inits*wgMessageInitiation}
	wantB := map[string]int64{}
	if icmpBack {
		want["icmp_InDestUnreachs"] = seconds + inits
		wantB["icmp_OutDestUnreachs"] = seconds + inits
	}
	expectDeltas(t, "A", da, want)
	expectDeltas(t, "B", wgDeltas(t, &c.Before.B, &c.After.B), wantB)
	r.expectNothing(r.b)
	r.save(top, c)
	r.explain(c)
}

// wgStopsPayload is the size of the datagrams of the handshake-stops
// scenarios: their data messages are 1 056 bytes.
const wgStopsPayload = 996

// wgDataMessage is the UDP payload of the data message that carries a
// UDP datagram of payload bytes over IPv4: the packet (IPv4 and UDP
// headers, 28 bytes, and the payload) padded to a multiple of 16 bytes
// (below the MTU), the 16-byte header and the 16-byte tag.
func wgDataMessage(payload int) int64 {
	return int64((28+payload+15)/16*16 + 32)
}

// splitInitiations returns how many handshake initiations bytes holds
// beside a whole number of data messages of size data, or -1 when it is
// no such sum.
func splitInitiations(bytes, data int64) int64 {
	for k := int64(0); k*wgMessageInitiation <= bytes; k++ {
		if (bytes-k*wgMessageInitiation)%data == 0 {
			return k
		}
	}
	return -1
}

// expectInitiationsOnly fails unless what moved on side name is only
// handshake initiations sent (tx_packets, and tx_bytes and the peer's
// tx_bytes at 148 bytes each), and returns how many.
func expectInitiationsOnly(t testing.TB, name string, got map[string]int64) int64 {
	t.Helper()
	k := got["tx_packets"]
	want := map[string]int64{}
	if k != 0 {
		want = map[string]int64{"tx_packets": k, "tx_bytes": k * wgMessageInitiation, "peer_tx_bytes": k * wgMessageInitiation}
	}
	expectDeltas(t, name, got, want)
	t.Logf("kernel %s: %s sent %d handshake initiations", vmtest.Kernel(), name, k)
	return k
}

// expectSendErrors fails unless every one of n sends failed with errno.
func expectSendErrors(t testing.TB, got map[string]int, errno string, n int) {
	t.Helper()
	if len(got) != 1 || got[errno] != n {
		t.Errorf("kernel %s: send errors %v, want %s × %d", vmtest.Kernel(), got, errno, n)
	}
}

// firstSample returns the time of the first sample of c whose wg0 on A
// matches, or -1.
func firstSample(t testing.TB, c *wgCapture, match func(*vtistat.WireGuardDevice) bool) float64 {
	for i := range c.Timeline {
		if _, d := c.Timeline[i].A.wg0(t); match(d) {
			return c.Timeline[i].Seconds
		}
	}
	return -1
}

// waitIcmp waits until s's InDestUnreachs is n above before (ICMP errors
// reach the local sender through the backlog, after the send returns).
func (r *wgRig) waitIcmp(s *wgSide, before map[string]uint64, n uint64) {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && r.icmp(s)["InDestUnreachs"] < before["InDestUnreachs"]+n {
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStat waits until wg0's counter name on s is n above before.
func (r *wgRig) waitStat(s *wgSide, name string, before wgSideCapture, n int64) {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		now := r.readSide(s)
		if wgDeltas(r.t, &before, &now)[name] >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logTimeline logs what moved on A and B at each sample.
func (r *wgRig) logTimeline(c *wgCapture) {
	for _, s := range c.Timeline {
		_, d := s.A.wg0(r.t)
		r.t.Logf("kernel %s %s t=%5.1fs sent=%d A: %s | peer last handshake %v | B: %s", vmtest.Kernel(), c.Scenario, s.Seconds, s.Sent,
			formatDeltas(wgDeltas(r.t, &c.Before.A, &s.A)), d.Peers[0].LastHandshake.Format(time.TimeOnly), formatDeltas(wgDeltas(r.t, &c.Before.B, &s.B)))
	}
}

// TestWireGuardCapturesHoldNoPrivateKey reads every saved capture: none
// holds a private key of the test identities, every one decodes.
func TestWireGuardCapturesHoldNoPrivateKey(t *testing.T) {
	files, err := filepath.Glob("testdata/wireguard/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no wireguard captures yet")
	}
	for _, f := range files {
		js, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		auditWGCapture(t, f, js)
		var c wgCapture
		if err := json.Unmarshal(js, &c); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if c.Scenario+".json" != filepath.Base(f) || c.Kernel != filepath.Base(filepath.Dir(f)) {
			t.Errorf("%s: scenario %q kernel %q", f, c.Scenario, c.Kernel)
		}
	}
}

// explain runs explain and the Tracker on the readings the scenario took
// (after save, which names the kernel) and checks them against
// wgExpectations, as TestWireGuardCaptureFindings does with the saved
// captures.
func (r *wgRig) explain(c *wgCapture) {
	r.t.Helper()
	r.t.Logf("kernel %s %s: explain says: %s", c.Kernel, c.Scenario, checkWGFindings(r.t, c))
}
