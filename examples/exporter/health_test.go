package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// handHealth is a namespace's health as a Tracker would give it: an xfrm
// interface tunnel that was rekeyed (two inbound SAs, the newer one in
// use), and a policy-based one without SA; two risks of one cause on the
// first tunnel, one of another cause.
func handHealth() (*explain.Health, *monitor.Snapshot) {
	t0 := time.Unix(1767225600, 0) // 2026-01-01
	xfrm1 := explain.TunnelID{Interface: "xfrm1", Kind: "xfrm", Peer: netip.MustParseAddr("198.51.100.2")}
	pol := explain.TunnelID{Kind: explain.KindPolicy, Peer: netip.MustParseAddr("2001:db8::9"), ReqID: 5}
	ref := func(spi uint32, src, dst string) explain.SARef {
		return explain.SARef{SPI: spi, Proto: 50, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), IfID: 1}
	}
	inOld, inNew, out := ref(0xc0ffee01, "198.51.100.2", "192.0.2.1"), ref(0xc0ffee02, "198.51.100.2", "192.0.2.1"), ref(0xbeef0001, "192.0.2.1", "198.51.100.2")
	h := &explain.Health{
		Time: t0.Add(time.Hour),
		Tunnels: []explain.TunnelStatus{
			{ID: xfrm1, Local: netip.MustParseAddr("192.0.2.1"), State: explain.TunnelUp,
				In:  explain.Traffic{Bytes: 123456, Packets: 1000, Last: t0.Add(59 * time.Minute)},
				Out: explain.Traffic{Bytes: 654321, Packets: 2000, Last: t0.Add(59*time.Minute + 500*time.Millisecond)},
				SAs: []explain.SAHealth{
					{SA: inOld, Dir: explain.SADirIn, Added: t0, SoftExpiry: t0.Add(50 * time.Minute), HardExpiry: t0.Add(65 * time.Minute),
						SoftBytesLeft: math.MaxUint64, HardBytesLeft: math.MaxUint64, SoftPacketsLeft: math.MaxUint64, HardPacketsLeft: math.MaxUint64},
					{SA: inNew, Dir: explain.SADirIn, Added: t0.Add(50 * time.Minute), SoftExpiry: t0.Add(100 * time.Minute), HardExpiry: t0.Add(115 * time.Minute),
						SoftBytesLeft: math.MaxUint64, HardBytesLeft: math.MaxUint64, SoftPacketsLeft: math.MaxUint64, HardPacketsLeft: math.MaxUint64},
					{SA: out, Dir: explain.SADirOut, Added: t0.Add(50 * time.Minute), HardExpiry: t0.Add(115 * time.Minute),
						SeqHeadroom: 1<<32 - 1 - 2000, HasSeq: true,
						SoftBytesLeft: math.MaxUint64, HardBytesLeft: math.MaxUint64, SoftPacketsLeft: math.MaxUint64, HardPacketsLeft: math.MaxUint64},
				}},
			{ID: pol, State: explain.TunnelNoSA},
		},
		Risks: []explain.Risk{
			{Tunnel: xfrm1, Cause: "tx-sa-expired", SA: &out, At: t0.Add(115 * time.Minute)},
			{Tunnel: xfrm1, Cause: "tx-sa-expired", SA: &inOld, At: t0.Add(65 * time.Minute)},
			{Tunnel: pol, Cause: "tx-no-sa"},
		},
	}
	// The SAs in the reading too, for --sa-metrics.
	snap := &monitor.Snapshot{Format: monitor.Format, LinksFrom: "rtnetlink", SAs: []xfrmstat.SA{}}
	for _, r := range []explain.SARef{inOld, inNew, out} {
		snap.SAs = append(snap.SAs, xfrmstat.SA{SPI: r.SPI, Proto: 50, Src: r.Src, Dst: r.Dst, IfID: 1, Mode: xfrmstat.ModeTunnel,
			LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 1, Packets: 1, AddTime: time.Unix(1767225600, 0)}})
	}
	return h, snap
}

// Per-tunnel series: labels that stay at a rekey (no SPI by default), the
// newest SA of each direction, timestamps only when known, one risk series
// per tunnel and cause, every XFRM event type from 0; --sa-metrics adds
// the per-SA series with their SPIs. Promlint-clean either way.
func TestHealthSeries(t *testing.T) {
	h, snap := handHealth()
	total := explain.Tally{XfrmEvents: map[explain.EventType]uint64{explain.EventSoftExpire: 2, explain.EventSAAdded: 3}}
	xfrm1 := `interface="xfrm1",kind="xfrm",netns="blue",peer="198.51.100.2",reqid="0"`
	pol := `interface="",kind="policy",netns="blue",peer="2001:db8::9",reqid="5"`
	for _, saMetrics := range []bool{false, true} {
		e, _ := published(t, saMetrics, "blue", polled(saMetrics, "blue", snap, h, total))
		srv := httptest.NewServer(e)
		body := scrapeURL(t, srv.URL, nil)
		srv.Close()
		wantLines(t, body,
			`tunnelstat_tunnel_up{`+xfrm1+`} 1`,
			`tunnelstat_tunnel_up{`+pol+`} 0`,
			`tunnelstat_tunnel_rx_bytes_total{`+xfrm1+`} 123456`,
			`tunnelstat_tunnel_rx_packets_total{`+xfrm1+`} 1000`,
			`tunnelstat_tunnel_tx_bytes_total{`+xfrm1+`} 654321`,
			`tunnelstat_tunnel_tx_packets_total{`+xfrm1+`} 2000`,
			`tunnelstat_tunnel_rx_bytes_total{`+pol+`} 0`,
			`tunnelstat_tunnel_last_rx_timestamp_seconds{`+xfrm1+`} 1.76722914e+09`,
			`tunnelstat_tunnel_last_tx_timestamp_seconds{`+xfrm1+`} 1.7672291405e+09`,
			// The newer inbound SA's limits, not the old one's.
			`tunnelstat_sa_soft_expiry_timestamp_seconds{dir="in",`+xfrm1+`} 1.7672316e+09`,
			`tunnelstat_sa_hard_expiry_timestamp_seconds{dir="in",`+xfrm1+`} 1.7672325e+09`,
			`tunnelstat_sa_hard_expiry_timestamp_seconds{dir="out",`+xfrm1+`} 1.7672325e+09`,
			`tunnelstat_sa_seq_headroom{dir="out",`+xfrm1+`} 4.294965295e+09`,
			`tunnelstat_tunnel_risk{cause="tx-sa-expired",`+riskSet(xfrm1)+`} 1`,
			`tunnelstat_tunnel_risk{cause="tx-no-sa",`+riskSet(pol)+`} 1`,
			`tunnelstat_xfrm_events_total{netns="blue",type="sa-soft-expire"} 2`,
			`tunnelstat_xfrm_events_total{netns="blue",type="sa-added"} 3`,
			`tunnelstat_xfrm_events_total{netns="blue",type="acquire"} 0`,
			`tunnelstat_xfrm_events_total{netns="blue",type="nat-mapping"} 0`,
			`tunnelstat_xfrm_sas{netns="blue"} 3`,
		)
		wantNo(t, body,
			`tunnelstat_sa_soft_expiry_timestamp_seconds{dir="out"`, // the outbound SA has no soft limit
			`tunnelstat_sa_seq_headroom{dir="in"`,
			`tunnelstat_tunnel_last_rx_timestamp_seconds{`+pol,
			`tunnelstat_sa_hard_expiry_timestamp_seconds{dir="in",`+pol,
		)
		if n := strings.Count(body, "\ntunnelstat_tunnel_risk{"); n != 2 {
			t.Errorf("%d risk series, want 2 (one per tunnel and cause)", n)
		}
		if n := strings.Count(body, "\ntunnelstat_xfrm_events_total{"); n != len(explain.EventTypes()) {
			t.Errorf("%d event series, want one per type (%d)", n, len(explain.EventTypes()))
		}
		// Per tunnel by default: 12 series for the rekeyed xfrm tunnel
		// (up, 4 traffic, 2 last, 3 expiry, 1 headroom, 1 risk), 6 for the
		// tunnel without SA (up, 4 traffic, 1 risk).
		if n := seriesWith(body, `peer="198.51.100.2"`); n != 12 {
			t.Errorf("%d series for the xfrm tunnel, want 12", n)
		}
		if n := seriesWith(body, `peer="2001:db8::9"`); n != 6 {
			t.Errorf("%d series for the policy tunnel, want 6", n)
		}
		if saMetrics {
			wantLines(t, body, `tunnelstat_xfrm_sa_bytes_total{dst="192.0.2.1",if_id="1",mark="",mode="tunnel",netns="blue",proto="esp",reqid="0",spi="0xc0ffee02",src="198.51.100.2"} 1`)
		} else {
			wantNo(t, body, "spi=", "0xc0ffee", "tunnelstat_xfrm_sa_")
		}
		checkMetrics(t, body)
	}
}

// riskSet is a tunnel's label set as tunnel_risk writes it: public_key
// "" (not a WireGuard peer) before reqid.
func riskSet(tunnel string) string {
	return strings.Replace(tunnel, `,reqid=`, `,public_key="",reqid=`, 1)
}

// seriesWith counts the series whose labels contain s.
func seriesWith(body, s string) int {
	n := 0
	for l := range strings.Lines(body) {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// The agent with --netns all, on a discovery the test scripts: namespaces
// that appear are watched (their series come with their first poll), a
// name given to a namespace changes its label, one that is gone is
// dropped with its series, and what discovery or hold could not take is
// counted by reason, never failing the pass.
func TestDiscoveryLifecycle(t *testing.T) {
	own := candidate{key: nsKey{1, 10}, own: true}
	blue := candidate{key: nsKey{1, 11}, label: "blue", path: "/run/netns/blue"}
	proc := candidate{key: nsKey{1, 12}, label: "inode:12", path: "/proc/42/ns/net"}
	racing := candidate{key: nsKey{1, 13}, label: "inode:13", path: "/proc/43/ns/net"}

	var mu sync.Mutex
	passes := []discovery{
		{found: []candidate{own, blue, proc, racing}, skipped: map[string]int{"gone": 2, "permission": 1}},
	}
	var current discovery
	setPass := func(d discovery) {
		mu.Lock()
		defer mu.Unlock()
		passes = append(passes, d)
	}
	discover := func() (discovery, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(passes) > 0 {
			current, passes = passes[0], passes[1:]
		}
		if current.found == nil {
			return discovery{}, errors.New("/proc is not mounted")
		}
		return current, nil
	}
	closed := map[string]int{}
	hold := func(c candidate) (monitor.NetNS, io.Closer, error) {
		if c.key == racing.key {
			return monitor.NetNS{}, nil, errChanged
		}
		if c.own {
			return monitor.NetNS{}, nil, nil
		}
		return monitor.NetNS{Path: c.path}, closeFunc(func() {
			mu.Lock()
			defer mu.Unlock()
			closed[c.path]++
		}), nil
	}
	snaps := map[monitor.NetNS]*holder{}
	before := vmReading(t, "before")
	open := func(_ context.Context, ns monitor.NetNS) (monitor.Source, error) {
		mu.Lock()
		defer mu.Unlock()
		if snaps[ns] == nil {
			snaps[ns] = &holder{snap: before}
		}
		return snaps[ns], nil
	}
	var logs lockedBuffer
	e := newExporter(4, 5*time.Second, false)
	a := &agent{e: e, interval: 30 * time.Millisecond, logf: logs.logf, all: true, discover: discover, hold: hold, open: open}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	srv := httptest.NewServer(e)
	defer srv.Close()

	body := scrapeURL(t, srv.URL, nil)
	wantLines(t, body,
		`tunnelstat_up{netns=""} 1`,
		`tunnelstat_up{netns="blue"} 1`,
		`tunnelstat_up{netns="inode:12"} 1`,
		`tunnelstat_netns_discovery_skips_total{reason="changed"} 1`,
		`tunnelstat_netns_discovery_skips_total{reason="gone"} 2`,
		`tunnelstat_netns_discovery_skips_total{reason="permission"} 1`,
		`tunnelstat_netns_discovery_skips_total{reason="not_netns"} 0`,
	)
	wantNo(t, body, `netns="inode:13"`)
	checkMetrics(t, body)

	// blue's name is deleted while a process keeps it; the process's
	// namespace is gone.
	setPass(discovery{found: []candidate{own, {key: blue.key, label: "inode:11", path: "/proc/44/ns/net"}}})
	body = waitBody(t, srv.URL, func(b string) bool { return !strings.Contains(b, `netns="inode:12"`) })
	wantLines(t, body, `tunnelstat_up{netns="inode:11"} 1`, `tunnelstat_up{netns=""} 1`)
	wantNo(t, body, `netns="blue"`)
	if c := closedCount(&mu, closed, proc.path); c != 1 {
		t.Errorf("the gone namespace's descriptor closed %d times, want 1", c)
	}
	if c := closedCount(&mu, closed, blue.path); c != 0 {
		t.Errorf("the renamed namespace's descriptor closed %d times, want 0", c)
	}

	// A pass that fails keeps what is watched.
	setPass(discovery{})
	body = waitBody(t, srv.URL, func(b string) bool {
		return strings.Contains(b, "\n"+`tunnelstat_netns_discovery_skips_total{reason="error"} `) && !strings.Contains(b, `{reason="error"} 0`)
	})
	wantLines(t, body, `tunnelstat_up{netns="inode:11"} 1`)
	for _, want := range []string{`watching network namespace "blue"`, `network namespace "inode:12" is gone`, `network namespace "blue" is now network namespace "inode:11"`, "/proc is not mounted"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	checkMetrics(t, body)
}

type closeFunc func()

func (c closeFunc) Close() error { c(); return nil }

func closedCount(mu *sync.Mutex, m map[string]int, k string) int {
	mu.Lock()
	defer mu.Unlock()
	return m[k]
}

// waitBody scrapes url until ok accepts the body (10 s at most).
func waitBody(t *testing.T, url string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := scrapeURL(t, url, nil)
		if ok(body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scrape as wanted in 10 s; the last:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An Unchanged interval with the risks of the previous one renders to the
// previous bytes without formatting them again, and so does an interval in
// which only what no series shows moved; a change of risks, of label, of
// a tunnel's traffic, of the totals or the MIB, or a full reading renders
// afresh. Either way the bytes are those a new nsWriter writes.
func TestRenderUnchanged(t *testing.T) {
	h, snap := handHealth()
	total := explain.Tally{XfrmEvents: map[explain.EventType]uint64{explain.EventSAAdded: 3}}
	w := &nsWriter{}
	u := monitor.Update{Time: time.Now(), Snapshot: snap, Reading: snap.Reading(), Health: h, Total: total}
	first := w.render("blue", &u)
	quiet := u
	quiet.Snapshot, quiet.Unchanged = nil, true
	check := func(what string, u *monitor.Update, label string, reused bool) *nsSamples {
		t.Helper()
		before := w.reused
		s := w.render(label, u)
		if got := w.reused > before; got != reused {
			t.Fatalf("%s: reused %v, want %v", what, got, reused)
		}
		fresh := (&nsWriter{base: w.base}).render(label, u)
		if string(s.buf) != string(fresh.buf) {
			t.Fatalf("%s: the bytes differ from a fresh rendering's:\n%s\nwant\n%s", what, s.buf, fresh.buf)
		}
		return s
	}
	if s := check("unchanged", &quiet, "blue", true); s != first {
		t.Fatal("unchanged: not the previous rendering")
	}
	fewer := *h
	fewer.Risks = h.Risks[:2]
	lessRisk := quiet
	lessRisk.Health = &fewer
	check("unchanged, a risk gone", &lessRisk, "blue", false)
	check("unchanged again", &lessRisk, "blue", true)
	check("relabelled", &lessRisk, "green", false)
	moved := lessRisk
	moved.Unchanged = false
	check("something moved that no series shows", &moved, "green", true)
	busier := *lessRisk.Health
	busier.Tunnels = slices.Clone(busier.Tunnels)
	busier.Tunnels[0].In.Bytes++
	traffic := moved
	traffic.Health = &busier
	check("a tunnel's traffic moved", &traffic, "green", false)
	check("and then nothing", &traffic, "green", true)
	events := traffic
	events.Total = explain.Tally{XfrmEvents: map[explain.EventType]uint64{explain.EventSAAdded: 4}}
	check("an event counted", &events, "green", false)
	withMIB := events
	r := *events.Reading
	r.MIB = new(procnet.XfrmStat)
	withMIB.Reading = &r
	check("the MIB read", &withMIB, "green", false)
	check("the same MIB again", &withMIB, "green", true)
	full := withMIB
	full.Snapshot = snap
	check("a full reading", &full, "green", false)
	failed := quiet
	failed.Err, failed.Reading, failed.Health = errors.New("poll failed"), nil, nil
	check("a failed poll", &failed, "green", false)
	check("unchanged after a failed poll", &quiet, "green", false)
}

// A poll in which the loopback's counters moved (the scrapes' own traffic)
// keeps the previous bytes; one in which a tunnel's counters moved renders
// again. Either way the bytes are those a new nsWriter writes.
func TestRenderSameTunnelLinks(t *testing.T) {
	snap, h, total := bigNamespace(5)
	w := &nsWriter{}
	base := snap.Reading()
	w.render("", &monitor.Update{Time: time.Now(), Snapshot: snap, Reading: base, Health: h, Total: total})
	step := func(what string, r *explain.Reading, reused bool) {
		t.Helper()
		u := monitor.Update{Time: time.Now(), Reading: r, Health: h, Total: total}
		before := w.reused
		s := w.render("", &u)
		if got := w.reused > before; got != reused {
			t.Fatalf("%s: reused %v, want %v", what, got, reused)
		}
		if fresh := (&nsWriter{base: w.base}).render("", &u); string(s.buf) != string(fresh.buf) {
			t.Fatalf("%s: the bytes differ from a fresh rendering's", what)
		}
	}
	lo := *base
	lo.Links = slices.Clone(base.Links)
	if lo.Links[0].Name != "lo" {
		t.Fatalf("first link %q, want lo", lo.Links[0].Name)
	}
	lo.Links[0].Stats.RxPackets += 10
	step("the loopback moved", &lo, true)
	vti := lo
	vti.Links = slices.Clone(lo.Links)
	vti.Links[3].Stats.TxCarrierErrors++
	step("a tunnel's counter moved", &vti, false)
	step("nothing more", &vti, true)
	renamed := vti
	renamed.Links = slices.Clone(vti.Links)
	renamed.Links[2].Name = "vti-renamed"
	step("a tunnel renamed", &renamed, false)
}

// wgHealth is handHealth with two WireGuard peers of wg0 (one up, one
// that never completed a handshake) and a risk of the second, and the
// snapshot with the real wg0 among its links.
func wgHealth() (*explain.Health, *monitor.Snapshot) {
	h, snap := handHealth()
	t0 := h.Time
	a := explain.TunnelID{Interface: "wg0", Kind: explain.KindWireGuard, PublicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}
	b := explain.TunnelID{Interface: "wg0", Kind: explain.KindWireGuard, PublicKey: "TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs="}
	h.Peers = []explain.PeerStatus{
		{ID: a, Endpoint: netip.MustParseAddrPort("198.51.100.2:51820"), Up: true, LastHandshake: t0.Add(-30 * time.Second),
			In: explain.Traffic{Bytes: 1124}, Out: explain.Traffic{Bytes: 988}},
		{ID: b},
	}
	h.Risks = append(h.Risks, explain.Risk{Tunnel: b, Cause: "tunnel-wg-handshake-failing"})
	// wg0's link and peers as the VM rig read them on 6.12
	// (explain/monitor/testdata/README.md).
	f, err := os.Open("testdata/vm-6.12-wireguard.json")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	real, err := monitor.Decode(f)
	if err != nil {
		panic(err)
	}
	for _, l := range real.Links {
		if l.Kind == explain.KindWireGuard {
			snap.Links = append(snap.Links, l)
		}
	}
	snap.WireGuard = real.WireGuard
	return h, snap
}

// Per-peer series from Health.Peers: up, the last handshake only when
// there was one, bytes both ways, labelled by interface and public key
// (never the endpoint); a peer's risk in tunnel_risk with its public_key;
// the wireguard link's series as any tunnel link's. Promlint-clean.
func TestPeerSeries(t *testing.T) {
	h, snap := wgHealth()
	e, _ := published(t, false, "blue", polled(false, "blue", snap, h, explain.Tally{}))
	srv := httptest.NewServer(e)
	body := scrapeURL(t, srv.URL, nil)
	srv.Close()
	a := `interface="wg0",netns="blue",public_key="xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="`
	b := `interface="wg0",netns="blue",public_key="TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs="`
	wantLines(t, body,
		`tunnelstat_wireguard_peer_up{`+a+`} 1`,
		`tunnelstat_wireguard_peer_up{`+b+`} 0`,
		`tunnelstat_wireguard_peer_last_handshake_timestamp_seconds{`+a+`} 1.76722917e+09`,
		`tunnelstat_wireguard_peer_rx_bytes_total{`+a+`} 1124`,
		`tunnelstat_wireguard_peer_tx_bytes_total{`+a+`} 988`,
		`tunnelstat_wireguard_peer_rx_bytes_total{`+b+`} 0`,
		`tunnelstat_wireguard_peer_tx_bytes_total{`+b+`} 0`,
		`tunnelstat_tunnel_risk{cause="tunnel-wg-handshake-failing",interface="wg0",kind="wireguard",netns="blue",peer="",public_key="TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs=",reqid="0"} 1`,
		`tunnelstat_link_info{if_id="",ikey="",interface="wg0",kind="wireguard",local="",netns="blue",okey="",remote=""} 1`,
		`tunnelstat_link_tx_bytes_total{interface="wg0",netns="blue"} 548`,
		`tunnelstat_part_readable{netns="blue",part="wireguard"} 1`,
	)
	wantNo(t, body, `tunnelstat_wireguard_peer_last_handshake_timestamp_seconds{`+b, "198.51.100.2:51820")
	// Four series per peer, one more with a handshake, one per risk.
	if n := seriesWith(body, `public_key="TE0le`); n != 4 {
		t.Errorf("%d series for the peer without handshake, want 4 (up, rx, tx, risk)", n)
	}
	if n := seriesWith(body, `public_key="xTIBA`); n != 4 {
		t.Errorf("%d series for the peer with a session, want 4 (up, handshake, rx, tx)", n)
	}
	checkMetrics(t, body)
}

// The peers are part of what a rendering shows: an Unchanged interval
// whose peers' series values are the previous ones reuses the previous
// bytes (an endpoint that roamed shows in no series); a session that
// time took away, bytes that moved, a peer added, or the peers of a
// wireguard link no longer readable render afresh. Either way the bytes
// are those a new nsWriter writes.
func TestRenderPeers(t *testing.T) {
	h, snap := wgHealth()
	w := &nsWriter{}
	u := monitor.Update{Time: time.Now(), Snapshot: snap, Reading: snap.Reading(), Health: h}
	w.render("blue", &u)
	check := func(what string, u *monitor.Update, reused bool) string {
		t.Helper()
		before := w.reused
		s := w.render("blue", u)
		if got := w.reused > before; got != reused {
			t.Fatalf("%s: reused %v, want %v", what, got, reused)
		}
		fresh := (&nsWriter{base: w.base}).render("blue", u)
		if string(s.buf) != string(fresh.buf) {
			t.Fatalf("%s: the bytes differ from a fresh rendering's:\n%s\nwant\n%s", what, s.buf, fresh.buf)
		}
		return string(s.buf)
	}
	quiet := u
	quiet.Snapshot, quiet.Unchanged = nil, true
	check("unchanged", &quiet, true)
	with := func(change func(h *explain.Health)) *explain.Health {
		c := *quiet.Health
		c.Peers = slices.Clone(c.Peers)
		change(&c)
		return &c
	}
	roamed := quiet
	roamed.Health = with(func(h *explain.Health) { h.Peers[0].Endpoint = netip.MustParseAddrPort("203.0.113.9:4500") })
	check("an endpoint roamed", &roamed, true)
	expired := roamed
	expired.Health = with(func(h *explain.Health) { h.Peers[0].Up = false })
	if body := check("a session expired with time", &expired, false); !strings.Contains(body, `tunnelstat_wireguard_peer_up{interface="wg0",netns="blue",public_key="xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="} 0`) {
		t.Errorf("expired session:\n%s", body)
	}
	check("and then nothing", &expired, true)
	moved := expired
	moved.Unchanged = false
	moved.Health = with(func(h *explain.Health) { h.Peers[0].Up = false; h.Peers[1].In.Bytes = 148 })
	check("a peer's bytes moved", &moved, false)
	check("the same bytes again", &moved, true)
	added := moved
	added.Health = with(func(h *explain.Health) {
		h.Peers[0].Up = false
		h.Peers[1].In.Bytes = 148
		h.Peers = append(h.Peers, explain.PeerStatus{ID: explain.TunnelID{Interface: "wg0", Kind: explain.KindWireGuard, PublicKey: "ySeesJ5NKE9ywD7ngoQDpDJ1Xp9o+wwo/ZaCZ0yUTko="}})
	})
	check("a peer added", &added, false)
	unread := added
	unread.Unread = []monitor.Unread{{Part: "wireguard", Error: "peers of wg0 (ifindex 7): gone"}}
	if body := check("the peers not read", &unread, false); !strings.Contains(body, `tunnelstat_part_readable{netns="blue",part="wireguard"} 0`) {
		t.Errorf("peers not read:\n%s", body)
	}
	check("still not read", &unread, true)
	check("read again", &added, false)
}
