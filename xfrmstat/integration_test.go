//go:build linux

package xfrmstat

// Real-kernel tests on this host, each in network namespaces it creates
// (testns: ts-<random>, deleted at the end). The host kernel has XFRM
// netlink and /proc/net/xfrm_stat but no ESP/AH/IPComp: it creates
// policies and larval SAs (from ACQUIRE and ALLOCSPI) but no full SAs,
// which the VM tests cover (vm_integration_test.go).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/netns"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
	"github.com/tunnelstat/tunnelstat/procnet"
	"golang.org/x/sys/unix"
)

func dialNS(t *testing.T, ns *testns.NS) *Client {
	t.Helper()
	c, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// kernelTag names fixtures after the running kernel: "linux6.18".
func kernelTag(t testing.TB) string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return "linux" + rel
	}
	return "linux" + parts[0] + "." + strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
}

// saveFixture writes raw messages to testdata/<name>-host-<kernel>.nl when
// the tests run with -update.
func saveFixture(t *testing.T, name string, raw []byte) {
	t.Helper()
	if !*update {
		return
	}
	if len(raw) == 0 {
		t.Fatalf("fixture %s: nothing captured", name)
	}
	path := filepath.Join("testdata", fmt.Sprintf("%s-host-%s.nl", name, kernelTag(t)))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(raw))
}

// rawRequest sends a request on its own socket in the namespace and returns
// the reply messages exactly as received (headers included).
func rawRequest(t *testing.T, ns *testns.NS, typ, flags uint16, payload []byte) []byte {
	t.Helper()
	c, err := nl.Dial(unix.NETLINK_XFRM, ns.Open(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []byte
	keep := func(m nl.Message) error {
		b := nl.AppendHeader(nil, m.Type, m.Flags, m.Seq, m.PID, len(m.Data))
		b = append(b, m.Data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		out = append(out, b...)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if flags&nl.FlagDump != 0 {
		err = c.Dump(ctx, "raw dump", typ, flags, payload, func() { out = out[:0] }, keep, nil)
	} else {
		err = c.Request(ctx, "raw request", typ, flags, payload, keep)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawEvents records every notification of the groups, headers included,
// until the test ends; stop returns what arrived.
func rawEvents(t *testing.T, ns *testns.NS, groups Group) (stop func() []byte) {
	t.Helper()
	c, err := nl.Dial(unix.NETLINK_XFRM, ns.Open(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range groupNumbers {
		if groups&(1<<i) != 0 {
			if err := c.NetlinkConn().JoinGroup(g); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var out []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Receive(ctx, func(m nl.Message) error {
			b := nl.AppendHeader(nil, m.Type, m.Flags, m.Seq, m.PID, len(m.Data))
			b = append(b, m.Data...)
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
			mu.Lock()
			out = append(out, b...)
			mu.Unlock()
			return nil
		})
	}()
	var once sync.Once
	stop = func() []byte {
		once.Do(func() {
			time.Sleep(100 * time.Millisecond) // let the last notifications arrive
			cancel()
			<-done
			c.Close()
		})
		mu.Lock()
		defer mu.Unlock()
		return out
	}
	t.Cleanup(func() { stop() })
	return stop
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

var (
	infLifetime = LifetimeConfig{SoftByteLimit: math.MaxUint64, HardByteLimit: math.MaxUint64, SoftPacketLimit: math.MaxUint64, HardPacketLimit: math.MaxUint64}
	anyAlgos    = Template{AuthAlgos: math.MaxUint32, EncAlgos: math.MaxUint32, CompAlgos: math.MaxUint32}
)

func tmpl(t Template) Template {
	t.AuthAlgos, t.EncAlgos, t.CompAlgos = anyAlgos.AuthAlgos, anyAlgos.EncAlgos, anyAlgos.CompAlgos
	return t
}

// socketPolicy installs a per-socket bypass policy (as IKE daemons do for
// their own sockets) on a UDP socket opened inside the namespace, in
// direction dir (0 in, 1 out). The socket stays open until the test ends.
func socketPolicies(t *testing.T, ns *testns.NS) {
	t.Helper()
	h, err := netns.Open(netns.Target{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var fd int
	err = h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		for dir := range 2 {
			p := Policy{Selector: Selector{Family: xfrm.AFInet}, Dir: Dir(dir), LifetimeConfig: infLifetime}
			if err := unix.SetsockoptString(fd, unix.IPPROTO_IP, unix.IP_XFRM_POLICY, string(userpolicyInfo(&p))); err != nil {
				return fmt.Errorf("setsockopt IP_XFRM_POLICY dir %d: %w", dir, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
}

// TestPoliciesReadBack adds policies of every shape with ip-xfrm and reads
// them back exactly, with per-direction SPD counts that match.
func TestPoliciesReadBack(t *testing.T) {
	ns := testns.New(t)
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	add := func(args string) { ns.IP(t, append([]string{"xfrm", "policy", "add"}, strings.Fields(args)...)...) }
	add("src 10.1.0.0/24 dst 10.2.0.0/16 proto tcp sport 1000 dport 443 dir out priority 100 mark 0x5 mask 0xff if_id 7 " +
		"tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 11 mode tunnel")
	add("src 2001:db8:a::/48 dst 2001:db8:b::/48 dir in priority 200 " +
		"tmpl src 2001:db8::1 dst 2001:db8::2 proto esp reqid 12 mode tunnel level use")
	add("src 10.3.0.0/24 dst 10.4.0.0/24 dev lo dir fwd tmpl proto esp mode transport")
	add("src 10.5.0.0/24 dst 10.6.0.0/24 dir out action block priority 1 flag localok icmp " +
		"limit time-soft 100 limit time-hard 200 limit time-use-soft 30 limit time-use-hard 40 " +
		"limit byte-soft 1000 limit byte-hard 2000 limit packet-soft 10 limit packet-hard 20")
	add("src 10.7.0.1/32 dst 10.7.0.2/32 proto udp dir out " +
		"tmpl proto ah mode transport reqid 21 tmpl proto esp mode transport reqid 22")
	add("src ::/0 dst 2001:db8:c::/64 proto ipv6-icmp type 135 dir in priority 300")
	socketPolicies(t, ns)
	after := time.Now().Add(time.Second)

	want := []Policy{
		{
			Selector: Selector{Src: mustPrefix("10.1.0.0/24"), Dst: mustPrefix("10.2.0.0/16"), Family: xfrm.AFInet, Proto: 6,
				SrcPort: 1000, SrcPortMask: 0xffff, DstPort: 443, DstPortMask: 0xffff},
			Dir: DirOut, Priority: 100, LifetimeConfig: infLifetime, Mark: &Mark{Value: 5, Mask: 0xff}, IfID: 7,
			Templates: []Template{tmpl(Template{Src: mustAddr("192.0.2.1"), Dst: mustAddr("192.0.2.2"), Proto: 50, Mode: ModeTunnel, ReqID: 11, Family: xfrm.AFInet})},
		},
		{
			Selector: Selector{Src: mustPrefix("2001:db8:a::/48"), Dst: mustPrefix("2001:db8:b::/48"), Family: xfrm.AFInet6},
			Dir:      DirIn, Priority: 200, LifetimeConfig: infLifetime,
			Templates: []Template{tmpl(Template{Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2"), Proto: 50, Mode: ModeTunnel, ReqID: 12, Family: xfrm.AFInet6, Optional: true})},
		},
		{
			Selector: Selector{Src: mustPrefix("10.3.0.0/24"), Dst: mustPrefix("10.4.0.0/24"), Family: xfrm.AFInet, IfIndex: 1},
			Dir:      DirFwd, LifetimeConfig: infLifetime,
			Templates: []Template{tmpl(Template{Src: mustAddr("0.0.0.0"), Dst: mustAddr("0.0.0.0"), Proto: 50, Mode: ModeTransport, Family: xfrm.AFInet})},
		},
		{
			Selector: Selector{Src: mustPrefix("10.5.0.0/24"), Dst: mustPrefix("10.6.0.0/24"), Family: xfrm.AFInet},
			Dir:      DirOut, Action: ActionBlock, Priority: 1, Flags: xfrm.PolicyLocalOK | xfrm.PolicyICMP,
			LifetimeConfig: LifetimeConfig{
				SoftByteLimit: 1000, HardByteLimit: 2000, SoftPacketLimit: 10, HardPacketLimit: 20,
				SoftAddExpiresSeconds: 100, HardAddExpiresSeconds: 200, SoftUseExpiresSeconds: 30, HardUseExpiresSeconds: 40,
			},
		},
		{
			Selector: Selector{Src: mustPrefix("10.7.0.1/32"), Dst: mustPrefix("10.7.0.2/32"), Family: xfrm.AFInet, Proto: 17},
			Dir:      DirOut, LifetimeConfig: infLifetime,
			Templates: []Template{
				tmpl(Template{Src: mustAddr("0.0.0.0"), Dst: mustAddr("0.0.0.0"), Proto: 51, Mode: ModeTransport, ReqID: 21, Family: xfrm.AFInet}),
				tmpl(Template{Src: mustAddr("0.0.0.0"), Dst: mustAddr("0.0.0.0"), Proto: 50, Mode: ModeTransport, ReqID: 22, Family: xfrm.AFInet}),
			},
		},
		{
			// ICMPv6 type 135 lives in the source port, as the kernel
			// matches ICMP type and code in the port fields.
			Selector: Selector{Src: mustPrefix("::/0"), Dst: mustPrefix("2001:db8:c::/64"), Family: xfrm.AFInet6, Proto: 58, SrcPort: 135, SrcPortMask: 0xffff},
			Dir:      DirIn, Priority: 300, LifetimeConfig: infLifetime,
		},
		{Selector: Selector{Src: mustPrefix("0.0.0.0/0"), Dst: mustPrefix("0.0.0.0/0"), Family: xfrm.AFInet}, Dir: DirSocketIn, LifetimeConfig: infLifetime},
		{Selector: Selector{Src: mustPrefix("0.0.0.0/0"), Dst: mustPrefix("0.0.0.0/0"), Family: xfrm.AFInet}, Dir: DirSocketOut, LifetimeConfig: infLifetime},
	}

	c := dialNS(t, ns)
	ctx := context.Background()
	got, err := c.Policies(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("dumped %d policies, want %d:\n%s", len(got), len(want), dump(got))
	}
	indexes := map[uint32]bool{}
	for _, w := range want {
		var match *Policy
		for i := range got {
			if got[i].Dir == w.Dir && got[i].Selector == w.Selector {
				match = &got[i]
			}
		}
		if match == nil {
			t.Errorf("no policy dir %v %v -> %v in the dump", w.Dir, w.Selector.Src, w.Selector.Dst)
			continue
		}
		p := *match
		if p.LifetimeCurrent.AddTime.Before(before) || p.LifetimeCurrent.AddTime.After(after) {
			t.Errorf("%v: add time %v outside [%v, %v]", p.Selector.Dst, p.LifetimeCurrent.AddTime, before, after)
		}
		// The kernel numbers policies: index%8 is the direction (socket
		// policies: 3+dir), index/8 a generation count.
		if p.Index%8 != uint32(w.Dir) || indexes[p.Index] {
			t.Errorf("%v: index %d does not encode direction %d or repeats", p.Selector.Dst, p.Index, w.Dir)
		}
		indexes[p.Index] = true
		p.Index, p.LifetimeCurrent.AddTime = 0, time.Time{}
		if !reflect.DeepEqual(p, w) {
			t.Errorf("policy read back differs:\n got %s\nwant %s", dump(p), dump(w))
		}
	}

	spd, err := c.SPDInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSPD := SPDInfo{In: 2, Out: 3, Fwd: 1, SocketIn: 1, SocketOut: 1,
		IndexHashMask: spd.IndexHashMask, HashMaxBuckets: spd.HashMaxBuckets,
		IPv4Threshold: HashThreshold{32, 32}, IPv6Threshold: HashThreshold{128, 128}}
	if spd != wantSPD || spd.Total() != uint64(len(got)) {
		t.Errorf("SPD info %+v, want %+v (total %d = the dump)", spd, wantSPD, len(got))
	}
	if b := spd.HashBuckets(); b&(b-1) != 0 || spd.HashMaxBuckets < uint32(b) {
		t.Errorf("SPD hash: %d buckets (mask %d), max %d", b, spd.IndexHashMask, spd.HashMaxBuckets)
	}
	sad, err := c.SADInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sad.Count != 0 || sad.HashBuckets == 0 || sad.HashBuckets&(sad.HashBuckets-1) != 0 || sad.HashMaxBuckets < sad.HashBuckets {
		t.Errorf("SAD info of an empty namespace: %+v", sad)
	}
	defs, err := c.PolicyDefaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if defs != (PolicyDefaults{DefaultAccept, DefaultAccept, DefaultAccept}) {
		t.Errorf("default policies of a new namespace: %+v", defs)
	}

	saveFixture(t, "policy-dump", rawRequest(t, ns, xfrm.MsgGetPolicy, nl.FlagDump, nil))
	saveFixture(t, "spdinfo", rawRequest(t, ns, xfrm.MsgGetSPDInfo, 0, zeroFlags[:]))
	saveFixture(t, "sadinfo-empty", rawRequest(t, ns, xfrm.MsgGetSADInfo, 0, zeroFlags[:]))

	// Thresholds and default actions are per namespace and settable.
	ns.IP(t, "xfrm", "policy", "set", "hthresh4", "24", "16", "hthresh6", "64", "56")
	if spd, err = c.SPDInfo(ctx); err != nil || spd.IPv4Threshold != (HashThreshold{24, 16}) || spd.IPv6Threshold != (HashThreshold{64, 56}) {
		t.Errorf("after set hthresh: %+v, %v", spd, err)
	}
	if out, err := exec.Command("ip", "-n", ns.Name, "xfrm", "policy", "setdefault", "in", "block", "fwd", "block").CombinedOutput(); err != nil {
		t.Logf("ip xfrm policy setdefault unsupported by this iproute2 (%v: %s); default actions checked for accept only", err, out)
	} else {
		if defs, err = c.PolicyDefaults(ctx); err != nil || defs != (PolicyDefaults{In: DefaultBlock, Fwd: DefaultBlock, Out: DefaultAccept}) {
			t.Errorf("after setdefault: %+v, %v", defs, err)
		}
		saveFixture(t, "default-policy", rawRequest(t, ns, xfrm.MsgGetDefault, 0, make([]byte, 4)))
	}
}

// TestPolicyLifetimeAfterTraffic shows what the kernel keeps for policies:
// the use time moves with traffic; bytes and packets are never counted for
// policies (only for SAs).
func TestPolicyLifetimeAfterTraffic(t *testing.T) {
	p := testns.NewPair(t)
	a, b := p.AAddr.String(), p.BAddr.String()
	p.A.IP(t, "xfrm", "policy", "add", "src", a+"/32", "dst", b+"/32", "dir", "out", "priority", "5")
	p.A.IP(t, "xfrm", "policy", "add", "src", b+"/32", "dst", a+"/32", "dir", "in", "priority", "5")
	c := dialNS(t, p.A)
	ctx := context.Background()
	pols, err := c.Policies(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range pols {
		if !pol.LifetimeCurrent.UseTime.IsZero() {
			t.Fatalf("policy used before any traffic: %+v", pol.LifetimeCurrent)
		}
	}
	if n, err := p.A.Ping(t, mustAddr(a), mustAddr(b), 2, testns.PingOpts{Interval: 200 * time.Millisecond}); err != nil || n != 2 {
		t.Fatalf("echo requests %s → %s: %d sent, %v", a, b, n, err)
	}
	// The replies come back asynchronously (Ping returns once its requests
	// are sent): read until both policies were used, for up to 5 s.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if pols, err = c.Policies(ctx, pols); err != nil {
			t.Fatal(err)
		}
		used := 0
		for _, pol := range pols {
			if !pol.LifetimeCurrent.UseTime.IsZero() {
				used++
			}
		}
		if used == len(pols) || time.Now().After(deadline) {
			break
		}
	}
	if len(pols) != 2 {
		t.Fatalf("%d policies", len(pols))
	}
	for _, pol := range pols {
		cur := pol.LifetimeCurrent
		if cur.UseTime.IsZero() || cur.UseTime.Before(cur.AddTime) || time.Since(cur.UseTime) > time.Minute {
			t.Errorf("dir %v: use time %v (added %v) did not move with traffic", pol.Dir, cur.UseTime, cur.AddTime)
		}
		if cur.Bytes != 0 || cur.Packets != 0 {
			t.Errorf("dir %v: the kernel counted %d bytes, %d packets for a policy", pol.Dir, cur.Bytes, cur.Packets)
		}
	}
}

func mibDiff(before, after *procnet.XfrmStat) map[string]int64 {
	old := map[string]uint64{}
	for name, v := range before.All() {
		old[name] = v
	}
	d := map[string]int64{}
	for name, v := range after.All() {
		if v != old[name] {
			d[name] = int64(v - old[name])
		}
	}
	return d
}

// nextEvent waits for the next event that is not filtered out.
func nextEvent(t *testing.T, ch <-chan Event, timeout time.Duration) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatal("no event within", timeout)
	}
	return nil
}

// TestAcquireAndOutNoStates sends one packet that matches an outbound
// policy with no SA: the MIB counts exactly one XfrmOutNoStates, the
// subscription delivers the kernel's ACQUIRE, the larval SA shows in the SAD
// and the SA dump, and when it times out an EXPIRE (hard) arrives.
func TestAcquireAndOutNoStates(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "link", "add", "va", "type", "veth", "peer", "name", "vb")
	ns.IP(t, "addr", "add", "198.51.100.1/24", "dev", "va")
	ns.IP(t, "link", "set", "va", "up")
	ns.IP(t, "link", "set", "vb", "up")
	// Drop packets while the SA is negotiated (the default), and give up on
	// the larval SA after 3 s instead of 30.
	ns.Run(t, "sysctl", "-q", "-w", "net.core.xfrm_larval_drop=1", "net.core.xfrm_acq_expires=3")
	ns.IP(t, "xfrm", "policy", "add", "src", "198.51.100.1/32", "dst", "198.51.100.3/32", "dir", "out",
		"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "reqid", "9", "mode", "tunnel")

	c := dialNS(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := c.Subscribe(ctx, GroupAcquire|GroupExpire)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	stream := StreamEvents(ctx, sub)
	events := stream.C
	raw := rawEvents(t, ns, GroupAcquire|GroupExpire)

	pols, err := c.Policies(ctx, nil)
	if err != nil || len(pols) != 1 {
		t.Fatalf("policies: %v %v", pols, err)
	}
	before, err := readMIB(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// One ICMP echo from a socket bound to the source: exactly one route
	// lookup, which the policy without SA fails (the send itself may fail or
	// succeed into a blackhole, depending on the kernel).
	_, _ = ns.Ping(t, mustAddr("198.51.100.1"), mustAddr("198.51.100.3"), 1, testns.PingOpts{})
	after, err := readMIB(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if d := mibDiff(before, after); !reflect.DeepEqual(d, map[string]int64{"XfrmOutNoStates": 1}) {
		t.Errorf("MIB moved by %v, want exactly XfrmOutNoStates +1", d)
	}

	ev := nextEvent(t, events, 5*time.Second)
	acq, ok := ev.(*Acquire)
	if !ok {
		t.Fatalf("first event %T %+v, want *Acquire", ev, ev)
	}
	if acq.Dst != mustAddr("192.0.2.2") || acq.Src != mustAddr("192.0.2.1") || acq.Proto != 50 || acq.SPI != 0 ||
		acq.Family != xfrm.AFInet || acq.Seq == 0 ||
		acq.Selector.Src != mustPrefix("198.51.100.1/32") || acq.Selector.Dst != mustPrefix("198.51.100.3/32") || acq.Selector.Proto != 1 ||
		acq.Policy.Index != pols[0].Index || acq.Policy.Dir != DirOut || len(acq.Policy.Templates) != 1 || acq.Policy.Templates[0].ReqID != 9 {
		t.Errorf("acquire: %s", dump(acq))
	}

	sad, err := c.SADInfo(ctx)
	if err != nil || sad.Count != 1 {
		t.Errorf("SAD during the acquire: %+v %v, want one larval SA", sad, err)
	}
	sas, err := c.SAs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sas) != 1 {
		t.Fatalf("SA dump during the acquire: %s", dump(sas))
	}
	saveFixture(t, "sa-dump-larval-acquire", rawRequest(t, ns, xfrm.MsgGetSA, nl.FlagDump, nil))
	la := sas[0]
	if la.Proto != 50 || la.SPI != 0 || la.Dst != acq.Dst || la.Src != acq.Src || la.ReqID != 9 || la.Mode != ModeTunnel ||
		la.Seq != acq.Seq || la.Selector != acq.Selector || la.LifetimeConfig.HardAddExpiresSeconds != 3 ||
		la.Auth != nil || la.Crypt != nil || la.AEAD != nil || la.Replay == nil {
		t.Errorf("larval SA: %s", dump(la))
	}

	ev = nextEvent(t, events, 5*time.Second)
	exp, ok := ev.(*SAExpire)
	if !ok || !exp.Hard || exp.SA.Seq != acq.Seq || exp.SA.Dst != acq.Dst || exp.SA.ReqID != 9 {
		t.Fatalf("second event %T %s, want the larval SA's hard *SAExpire", ev, dump(ev))
	}
	if sad, err = c.SADInfo(ctx); err != nil || sad.Count != 0 {
		t.Errorf("SAD after the expire: %+v %v", sad, err)
	}
	rawMsgs := raw()
	msgs, err := splitMessages(rawMsgs)
	if err != nil || len(msgs) != 2 || msgs[0].Type != xfrm.MsgAcquire || msgs[1].Type != xfrm.MsgExpire {
		t.Fatalf("raw capture: %d messages, %v", len(msgs), err)
	}
	saveFixture(t, "event-acquire-expire", rawMsgs)
}

// allocSPI makes a larval SA with ip xfrm state allocspi and returns it
// from the dump.
func larvalSAs(t *testing.T, ns *testns.NS) {
	t.Helper()
	ns.IP(t, "xfrm", "state", "allocspi", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "mode", "tunnel", "reqid", "5", "mark", "3", "mask", "0xf")
	ns.IP(t, "xfrm", "state", "allocspi", "src", "192.0.2.1", "dst", "192.0.2.9", "proto", "ah", "mode", "transport", "reqid", "6", "min", "0x1000", "max", "0x1fff")
	ns.IP(t, "xfrm", "state", "allocspi", "src", "2001:db8::1", "dst", "2001:db8::2", "proto", "esp", "mode", "tunnel", "reqid", "7")
}

// TestSAFiltersKernelSide checks the kernel-side SA dump filters on larval
// SAs that ALLOCSPI creates (the host cannot make full ones).
func TestSAFiltersKernelSide(t *testing.T) {
	ns := testns.New(t)
	larvalSAs(t, ns)
	c := dialNS(t, ns)
	ctx := context.Background()
	all, err := c.SAs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d SAs: %s", len(all), dump(all))
	}
	saveFixture(t, "sa-dump-larval-allocspi", rawRequest(t, ns, xfrm.MsgGetSA, nl.FlagDump, nil))
	saveFixture(t, "sadinfo", rawRequest(t, ns, xfrm.MsgGetSADInfo, 0, zeroFlags[:]))
	byReq := map[uint32]SA{}
	for _, sa := range all {
		byReq[sa.ReqID] = sa
	}
	esp4, ah4, esp6 := byReq[5], byReq[6], byReq[7]
	if esp4.Proto != 50 || esp4.Dst != mustAddr("192.0.2.2") || esp4.Src != mustAddr("192.0.2.1") || esp4.Mode != ModeTunnel ||
		esp4.Mark == nil || *esp4.Mark != (Mark{3, 0xf}) || esp4.SPI == 0 || esp4.Family != xfrm.AFInet ||
		esp4.Selector.Src != mustPrefix("192.0.2.1/32") || esp4.Selector.Dst != mustPrefix("192.0.2.2/32") ||
		esp4.LifetimeConfig.HardAddExpiresSeconds == 0 || esp4.Replay == nil || esp4.Replay.ESN {
		t.Errorf("ESP larval SA: %s", dump(esp4))
	}
	if ah4.Proto != 51 || ah4.Mode != ModeTransport || ah4.SPI < 0x1000 || ah4.SPI > 0x1fff || ah4.Mark != nil {
		t.Errorf("AH larval SA: %s", dump(ah4))
	}
	if esp6.Proto != 50 || esp6.Family != xfrm.AFInet6 || esp6.Dst != mustAddr("2001:db8::2") {
		t.Errorf("IPv6 larval SA: %s", dump(esp6))
	}

	for _, c2 := range []struct {
		name    string
		filters []SAFilter
		want    []uint32 // reqids
	}{
		{"esp", []SAFilter{ByProto(50)}, []uint32{5, 7}},
		{"ah", []SAFilter{ByProto(51)}, []uint32{6}},
		{"any ipsec proto", []SAFilter{ByProto(255)}, []uint32{5, 6, 7}},
		{"ipv6", []SAFilter{ByFamily(xfrm.AFInet6)}, []uint32{7}},
		{"ipv4", []SAFilter{ByFamily(xfrm.AFInet)}, []uint32{5, 6}},
		{"dst host", []SAFilter{ByDst(mustPrefix("192.0.2.2/32"))}, []uint32{5}},
		{"dst net", []SAFilter{ByDst(mustPrefix("192.0.2.0/24"))}, []uint32{5, 6}},
		{"src net and esp", []SAFilter{BySrc(mustPrefix("192.0.2.0/24")), ByProto(50)}, []uint32{5}},
		{"no match", []SAFilter{ByDst(mustPrefix("203.0.113.0/24"))}, nil},
	} {
		got, err := c.SAs(ctx, nil, c2.filters...)
		if err != nil {
			t.Fatalf("%s: %v", c2.name, err)
		}
		var reqs []uint32
		for _, sa := range got {
			reqs = append(reqs, sa.ReqID)
		}
		if !sameSet(reqs, c2.want) {
			t.Errorf("%s: SAs with reqids %v, want %v", c2.name, reqs, c2.want)
		}
	}
}

func sameSet(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[uint32]int{}
	for _, v := range a {
		m[v]++
	}
	for _, v := range b {
		m[v]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestReusePathAllocatesNothing polls live dumps into reused slices.
func TestReusePathAllocatesNothing(t *testing.T) {
	ns := testns.New(t)
	larvalSAs(t, ns)
	for i := range 50 {
		ns.IP(t, "xfrm", "policy", "add", "src", fmt.Sprintf("10.%d.0.0/16", i), "dst", "10.200.0.0/16", "dir", "out",
			"mark", strconv.Itoa(i), "mask", "0xff",
			"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "reqid", strconv.Itoa(i), "mode", "tunnel")
	}
	c := dialNS(t, ns)
	ctx := context.Background()
	pols, err := c.Policies(ctx, nil)
	if err != nil || len(pols) != 50 {
		t.Fatalf("%d policies, %v", len(pols), err)
	}
	sas, err := c.SAs(ctx, nil)
	if err != nil || len(sas) != 3 {
		t.Fatalf("%d SAs, %v", len(sas), err)
	}
	var mib procnet.XfrmStat
	if err := c.MIB(ctx, &mib); err != nil {
		t.Fatal(err)
	}
	for name, fn := range map[string]func() error{
		"Policies reused": func() error {
			var err error
			if pols, err = c.Policies(ctx, pols); err == nil && len(pols) != 50 {
				err = fmt.Errorf("%d policies", len(pols))
			}
			return err
		},
		"SAs reused": func() error {
			var err error
			if sas, err = c.SAs(ctx, sas); err == nil && len(sas) != 3 {
				err = fmt.Errorf("%d SAs", len(sas))
			}
			return err
		},
		"SAs filtered": func() error {
			var err error
			if sas, err = c.SAs(ctx, sas, ByProto(50), ByDst(mustPrefix("192.0.2.0/24"))); err == nil && len(sas) != 1 {
				err = fmt.Errorf("%d SAs", len(sas))
			}
			return err
		},
		"SPDInfo": func() error { _, err := c.SPDInfo(ctx); return err },
		"SADInfo": func() error { _, err := c.SADInfo(ctx); return err },
		"MIB":     func() error { return c.MIB(ctx, &mib) },
	} {
		var ferr error
		allocs := testing.AllocsPerRun(20, func() {
			if err := fn(); err != nil {
				ferr = err
			}
		})
		if ferr != nil {
			t.Fatalf("%s: %v", name, ferr)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per poll, want 0", name, allocs)
		}
	}
}

// TestPolicyAndSAEvents drives policy and SA changes with ip-xfrm and
// checks the notifications, in order.
func TestPolicyAndSAEvents(t *testing.T) {
	ns := testns.New(t)
	c := dialNS(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := c.Subscribe(ctx, GroupPolicy|GroupSA|GroupExpire)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	stream := StreamEvents(ctx, sub)
	events := stream.C
	raw := rawEvents(t, ns, GroupPolicy|GroupSA|GroupExpire)
	ip := func(args string) { ns.IP(t, strings.Fields(args)...) }
	const sel = "src 10.0.0.0/24 dst 10.1.0.0/24"
	const tmplArgs = "tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode tunnel"

	expectPolicy := func(op Op, prio uint32) Policy {
		t.Helper()
		ev := nextEvent(t, events, 5*time.Second)
		pe, ok := ev.(*PolicyEvent)
		if !ok || pe.Op != op || pe.Policy.Priority != prio || pe.Policy.Selector.Dst != mustPrefix("10.1.0.0/24") ||
			pe.Policy.Dir != DirOut || len(pe.Policy.Templates) != 1 || pe.Policy.Templates[0].ReqID != 1 {
			t.Fatalf("got %T %s, want policy op %d priority %d", ev, dump(ev), op, prio)
		}
		return pe.Policy
	}
	ip("xfrm policy add " + sel + " dir out priority 10 " + tmplArgs)
	added := expectPolicy(OpNew, 10)
	ip("xfrm policy update " + sel + " dir out priority 20 " + tmplArgs)
	expectPolicy(OpUpdate, 20)
	ip("xfrm policy delete " + sel + " dir out")
	deleted := expectPolicy(OpDelete, 20)
	if deleted.Index != added.Index {
		t.Errorf("deleted index %d, added %d", deleted.Index, added.Index)
	}

	// The kernel's policy timer first fires a second after the add and checks
	// the hard limit before the soft one: a timer that runs late on a busy
	// machine skips the soft warning altogether once the hard limit has
	// passed. Three seconds between them leave room for that lateness.
	ip("xfrm policy add src 10.2.0.0/24 dst 10.3.0.0/24 dir in limit time-soft 1 limit time-hard 4")
	if pe, ok := nextEvent(t, events, 5*time.Second).(*PolicyEvent); !ok || pe.Op != OpNew {
		t.Fatalf("want the new policy, got %T", pe)
	}
	for _, hard := range []bool{false, true} {
		ev := nextEvent(t, events, 5*time.Second)
		pe, ok := ev.(*PolicyExpire)
		if !ok || pe.Hard != hard || pe.Policy.Selector.Dst != mustPrefix("10.3.0.0/24") || pe.Policy.LifetimeConfig.HardAddExpiresSeconds != 4 {
			t.Fatalf("got %T %s, want policy expire hard=%v", ev, dump(ev), hard)
		}
	}

	ip("xfrm policy add " + sel + " dir out " + tmplArgs)
	nextEvent(t, events, 5*time.Second)
	ip("xfrm policy flush")
	if ev := nextEvent(t, events, 5*time.Second); !reflect.DeepEqual(ev, &PolicyFlush{}) {
		t.Fatalf("got %T %s, want a main policy flush", ev, dump(ev))
	}

	// ALLOCSPI notifies nothing; deleting the larval SA does.
	ip("xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 3")
	sas, err := c.SAs(ctx, nil)
	if err != nil || len(sas) != 1 {
		t.Fatalf("%v %v", sas, err)
	}
	ip(fmt.Sprintf("xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi %#x", sas[0].SPI))
	ev := nextEvent(t, events, 5*time.Second)
	se, ok := ev.(*SAEvent)
	if !ok || se.Op != OpDelete || se.SA.SPI != sas[0].SPI || se.SA.ReqID != 3 || se.SA.Dst != mustAddr("192.0.2.2") || se.SA.Mode != ModeTunnel {
		t.Fatalf("got %T %s, want the SA deleted", ev, dump(ev))
	}
	ip("xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 4")
	ip("xfrm state flush")
	ev = nextEvent(t, events, 5*time.Second)
	if fl, ok := ev.(*SAFlush); !ok || (fl.Proto != 0 && fl.Proto != 255) {
		t.Fatalf("got %T %s, want an SA flush of every protocol", ev, dump(ev))
	}
	select {
	case ev := <-events:
		t.Errorf("unexpected event %T %s", ev, dump(ev))
	case <-time.After(200 * time.Millisecond):
	}
	saveFixture(t, "event-policy-sa", raw())

	// The subscription ends with its context.
	cancel()
	for range events {
	}
	if err := stream.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("subscription ended with %v, want context.Canceled", err)
	}
}

// TestSubscriptionReceive uses the callback form and Close.
func TestSubscriptionReceive(t *testing.T) {
	ns := testns.New(t)
	c := dialNS(t, ns)
	sub, err := c.Subscribe(context.Background(), GroupPolicy)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	got := make(chan Event, 4)
	go func() {
		done <- sub.Receive(func(ev Event) error { got <- ev; return nil })
	}()
	ns.IP(t, "xfrm", "policy", "add", "src", "10.0.0.0/8", "dst", "10.0.0.0/8", "dir", "fwd")
	if ev := nextEvent(t, got, 5*time.Second); ev.Message() != "XFRM_MSG_NEWPOLICY" {
		t.Errorf("got %s", ev.Message())
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return after Close")
	}
	if _, err := c.Subscribe(context.Background(), 0); err == nil {
		t.Error("empty group set accepted")
	}
}

// TestPermissionDenied runs the requests from a process without
// CAP_NET_ADMIN, twice: as the unprivileged user nobody (setpriv), and as
// root of a new user namespace (as in a container), which has every
// capability over its own namespaces but none over the network namespace,
// owned by the initial user namespace. The kernel checks CAP_NET_ADMIN for
// every XFRM request, dumps included; the errors must match
// os.ErrPermission.
func TestPermissionDenied(t *testing.T) {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "xfrm", "policy", "add", "src", "10.0.0.0/8", "dst", "10.0.0.0/8", "dir", "fwd")
	// The unprivileged user must be able to execute the test binary.
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "xfrmstat.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, wrap := range map[string][]string{
		"setpriv nobody": {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"},
		"user namespace": {"unshare", "--user", "--map-root-user"},
	} {
		if _, err := exec.LookPath(wrap[0]); err != nil {
			t.Logf("%s: %s not installed", name, wrap[0])
			continue
		}
		args := append([]string{"netns", "exec", ns.Name}, wrap...)
		args = append(args, bin, "-test.run=^TestPermissionHelper$", "-test.v")
		cmd := exec.Command("ip", args...)
		cmd.Env = append(os.Environ(), "XFRMSTAT_PERMISSION_HELPER=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PERMISSION-HELPER-OK") {
			t.Errorf("%s: %v\n%s", name, err, out)
		} else {
			t.Logf("%s:\n%s", name, out)
		}
	}
}

// TestPermissionHelper is TestPermissionDenied's child process.
func TestPermissionHelper(t *testing.T) {
	if os.Getenv("XFRMSTAT_PERMISSION_HELPER") != "1" {
		t.Skip("runs only as the child of TestPermissionDenied")
	}
	var eff uint64
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
				eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			}
		}
	}
	t.Logf("uid %d, effective capabilities %#x", os.Getuid(), eff)
	c, err := Dial(nil) // the namespace ip netns exec put us in
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s: %v does not match os.ErrPermission", op, err)
		} else {
			t.Logf("%s: %v", op, err)
		}
	}
	_, err = c.Policies(ctx, nil)
	check("Policies", err)
	_, err = c.SAs(ctx, nil)
	check("SAs", err)
	_, err = c.SPDInfo(ctx)
	check("SPDInfo", err)
	_, err = c.SADInfo(ctx)
	check("SADInfo", err)
	_, err = c.PolicyDefaults(ctx)
	check("PolicyDefaults", err)
	_, err = c.Subscribe(ctx, GroupAcquire)
	check("Subscribe", err)
	if !t.Failed() {
		fmt.Println("PERMISSION-HELPER-OK")
	}
}

func TestDialErrors(t *testing.T) {
	if _, err := Dial(&Config{NetNS: NetNS{Name: "ts-does-not-exist-xfrmstat"}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing namespace: %v", err)
	}
	if _, err := Dial(&Config{NetNS: NetNS{Name: "a", PID: 1}}); err == nil {
		t.Error("two namespace selectors accepted")
	}
	// A netlink family the kernel does not have fails like a kernel without
	// xfrm_user: EPROTONOSUPPORT, which must become ErrNotSupported.
	_, err := nl.Dial(30, -1, 0)
	if !errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Fatalf("netlink family 30: %v, want EPROTONOSUPPORT", err)
	}
	c := &client{where: "current netns"}
	if err := c.dialError(err); !errors.Is(err, ErrNotSupported) || !errors.Is(err, procnet.ErrNotSupported) ||
		!errors.Is(err, unix.EPROTONOSUPPORT) || !strings.Contains(err.Error(), "xfrm_user") ||
		!strings.HasPrefix(err.Error(), "xfrmstat: not supported: ") {
		t.Errorf("mapped: %v", err)
	}
}

func TestNamespaceSelectors(t *testing.T) {
	ns := testns.New(t)
	ns.IP(t, "xfrm", "policy", "add", "src", "10.0.0.0/8", "dst", "10.0.0.0/8", "dir", "fwd")
	fd := ns.Open(t)
	for name, cfg := range map[string]NetNS{
		"name": {Name: ns.Name}, "path": {Path: ns.Path()}, "fd": {FD: fd},
	} {
		c, err := Dial(&Config{NetNS: cfg})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pols, err := c.Policies(context.Background(), nil)
		if err != nil || len(pols) != 1 {
			t.Errorf("%s: %d policies, %v", name, len(pols), err)
		}
		var m procnet.XfrmStat
		if err := c.MIB(context.Background(), &m); err != nil {
			t.Errorf("%s: MIB %v", name, err)
		} else if _, ok := m.Counter("XfrmInError"); !ok {
			t.Errorf("%s: MIB %v", name, err)
		}
		c.Close()
	}
	// The FD was duplicated: the caller's descriptor is still open and ours
	// is closed.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Errorf("caller's fd closed: %v", err)
	}
}

func TestConcurrentUseAndCancel(t *testing.T) {
	ns := testns.New(t)
	for i := range 20 {
		ns.IP(t, "xfrm", "policy", "add", "src", fmt.Sprintf("10.%d.0.0/16", i), "dst", "10.0.0.0/8", "dir", "in")
	}
	c := dialNS(t, ns)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pols []Policy
			var mib procnet.XfrmStat
			for range 20 {
				var err error
				switch g {
				case 0:
					pols, err = c.Policies(ctx, pols)
					if err == nil && len(pols) != 20 {
						err = fmt.Errorf("%d policies", len(pols))
					}
				case 1:
					_, err = c.SPDInfo(ctx)
				case 2:
					err = c.MIB(ctx, &mib)
				case 3:
					_, err = c.SAs(ctx, nil)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Policies(cctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if pols, err := c.Policies(ctx, nil); err != nil || len(pols) != 20 {
		t.Errorf("after a cancelled call: %d, %v", len(pols), err)
	}
	c.Close()
	if _, err := c.Policies(ctx, nil); !errors.Is(err, nl.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestDumpInterruptedIsTyped: when the kernel marks every attempt of a dump
// NLM_F_DUMP_INTR, the error the Client returns matches ErrDumpInterrupted
// (the retrying itself is internal/nl's, tested there).
func TestDumpInterruptedIsTyped(t *testing.T) {
	c := &client{where: "netns x"}
	err := c.opError("dump SAs", &nl.OpError{Op: "XFRM_MSG_GETSA dump", Err: nl.ErrDumpInterrupted})
	if !errors.Is(err, ErrDumpInterrupted) || !strings.Contains(err.Error(), "dump SAs in netns x") {
		t.Errorf("%v", err)
	}
	ns := testns.New(t)
	cl, err := Dial(&Config{NetNS: NetNS{Name: ns.Name}, DumpRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if cl.c.conn.Retries != 3 {
		t.Errorf("DumpRetries not applied: %d", cl.c.conn.Retries)
	}
}
