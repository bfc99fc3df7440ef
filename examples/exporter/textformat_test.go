package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// The families are those of v1, as the client_golang exporter wrote
// them: testdata/families-v1.txt is its output's HELP and TYPE lines and
// label names, family by family, in its order (by name).
func TestFamiliesV1(t *testing.T) {
	f, err := os.Open("testdata/families-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	for s := bufio.NewScanner(f); s.Scan(); {
		want = append(want, s.Text())
	}
	var got []string
	for _, f := range families {
		got = append(got, strings.Split(strings.TrimSuffix(f.header, "\n"), "\n")...)
		got = append(got, "# LABELS "+f.name+" "+strings.Join(f.sorted, ","))
	}
	if !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %q\nwant %q", i+1, g, w)
			}
		}
	}
}

// hostile is a namespace whose names test the escaping: its label and a
// tunnel's interface hold a double quote, a backslash and a newline (a
// /run/netns name may hold any of them, an interface name the first
// two), another interface's name is not UTF-8, a third's looks like a
// netns label.
func hostile() (label string, snap *monitor.Snapshot, h *explain.Health, total explain.Tally) {
	t0 := time.Unix(1767225600, 0)
	local, peer := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::2")
	mib, err := procnet.ParseXfrmStat(strings.NewReader("XfrmInError 1\nXfrmOutNoStates 2\n"))
	if err != nil {
		panic(err)
	}
	snap = &monitor.Snapshot{Format: monitor.Format, Time: t0, LinksFrom: "rtnetlink", MIB: &monitor.MIB{XfrmStat: *mib},
		Links: []monitor.Link{
			{Index: 1, Name: "lo", OperState: "unknown", MTU: 65536, StatsFrom: "stats64", LinkNetNSID: -1}, // no tunnel: no series
			{Index: 2, Name: `v"t\i`, Kind: "vti", OperState: "up", MTU: 1400, StatsFrom: "stats64", LinkNetNSID: -1,
				Stats:  monitor.Stats{RxPackets: 1, TxPackets: 2, RxBytes: 3, TxBytes: 1<<64 - 1, TxErrors: 5, TxCarrierErrors: 5},
				Tunnel: &monitor.Tunnel{Local: local, Remote: peer, IKey: 7, OKey: 8}},
			{Index: 3, Name: "x\xffy", Kind: "xfrm", OperState: "down", MTU: 1500, StatsFrom: "stats32", LinkNetNSID: -1,
				Tunnel: &monitor.Tunnel{IfID: 9}},
			{Index: 4, Name: `q",netns="blue`, Kind: "gre", OperState: "up", MTU: 1476, StatsFrom: "none", LinkNetNSID: -1,
				Tunnel: &monitor.Tunnel{}},
		},
		SAs: []xfrmstat.SA{{Src: peer, Dst: netip.MustParseAddr("2001:db8::1"), SPI: 0xabc, Proto: 50, Mode: xfrmstat.ModeTunnel, ReqID: 3,
			Mark: &xfrmstat.Mark{Value: 7, Mask: 0xffff}, IfID: 0, Stats: xfrmstat.Stats{ReplayWindow: 1, Replay: 2, IntegrityFailed: 3},
			LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 100, Packets: 4, AddTime: time.Unix(1700000000, 500000000)},
			Replay:          &xfrmstat.Replay{ESN: true, Seq: 5, SeqHi: 1, OSeq: 0, OSeqHi: 0}}},
		Policies:       []xfrmstat.Policy{{Dir: xfrmstat.DirOut}, {Dir: xfrmstat.DirIn}, {Dir: xfrmstat.DirSocketOut}},
		SPDInfo:        &xfrmstat.SPDInfo{In: 1, Out: 1, SocketOut: 1, IndexHashMask: 7, HashMaxBuckets: 1 << 20},
		SADInfo:        &xfrmstat.SADInfo{Count: 1, HashBuckets: 8, HashMaxBuckets: 1 << 20},
		PolicyDefaults: &xfrmstat.PolicyDefaults{Out: xfrmstat.DefaultBlock},
	}
	id := explain.TunnelID{Interface: `v"t\i`, Kind: "vti", Peer: peer}
	// A WireGuard peer on an interface whose name needs escaping, and a
	// risk of it.
	wg := explain.TunnelID{Interface: `w"g\0`, Kind: explain.KindWireGuard, PublicKey: hostileKey}
	h = &explain.Health{Time: t0, Tunnels: []explain.TunnelStatus{{ID: id, State: explain.TunnelUp,
		In:  explain.Traffic{Bytes: 10, Packets: 1, Last: t0.Add(1500 * time.Millisecond)},
		Out: explain.Traffic{Bytes: 20, Packets: 2},
		SAs: []explain.SAHealth{
			{Dir: explain.SADirIn, Added: t0, SoftExpiry: t0.Add(time.Hour)},
			{Dir: explain.SADirOut, Added: t0, HardExpiry: t0.Add(2 * time.Hour), SeqHeadroom: 1<<64 - 1, HasSeq: true},
		}}},
		Risks: []explain.Risk{{Tunnel: id, Cause: "tx-sa-expired"}, {Tunnel: wg, Cause: "tunnel-wg-handshake-failing"}},
		Peers: []explain.PeerStatus{{ID: wg, Up: true, LastHandshake: t0.Add(-10 * time.Second),
			In: explain.Traffic{Bytes: 1<<64 - 1}, Out: explain.Traffic{Bytes: 7}}},
	}
	total = explain.Tally{
		Events:     map[explain.TallyKey]uint64{{Interface: `v"t\i`, Cause: "tx-no-sa"}: 3},
		XfrmEvents: map[explain.EventType]uint64{explain.EventAcquire: 2},
	}
	return "blue \"q\" \\ \n end", snap, h, total
}

// hostileKey is a WireGuard public key (base64 holds '+' and '/').
const hostileKey = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

// series are a scrape's samples by name and labels, as parsed.
type series map[string]float64

func seriesKey(name string, labels map[string]string) string {
	var ls []string
	for k, v := range labels {
		ls = append(ls, fmt.Sprintf("%s=%q", k, v))
	}
	slices.Sort(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// parseScrape parses a scrape as Prometheus does, checks each family's
// HELP and TYPE are the declared ones and its samples contiguous, and
// returns the samples.
func parseScrape(t *testing.T, body []byte) series {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("does not parse: %v", err)
	}
	byName := map[string]*family{}
	for _, f := range families {
		byName[f.name] = f
	}
	out := series{}
	for name, mf := range mfs {
		f := byName[name]
		if f == nil {
			t.Errorf("unknown family %s", name)
			continue
		}
		typ := dto.MetricType_COUNTER
		if f.typ == gaugeType {
			typ = dto.MetricType_GAUGE
		}
		if mf.GetHelp() != f.help || mf.GetType() != typ {
			t.Errorf("%s: HELP %q TYPE %v", name, mf.GetHelp(), mf.GetType())
		}
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			var names []string
			for n := range labels {
				names = append(names, n)
			}
			slices.Sort(names)
			if !slices.Equal(names, f.sorted) {
				t.Errorf("%s: labels %q, want %q", name, names, f.sorted)
			}
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			k := seriesKey(name, labels)
			if _, dup := out[k]; dup {
				t.Errorf("%s twice", k)
			}
			out[k] = v
		}
	}
	// One family's samples in one run of lines.
	seen := map[string]bool{}
	last := ""
	for line := range strings.Lines(string(body)) {
		name := line
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			name = strings.Fields(rest)[1]
		} else if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		if name != last && seen[name] {
			t.Errorf("%s's lines are not together", name)
		}
		seen[name], last = true, name
	}
	return out
}

// The direct writer's output, for the hostile namespace beside one whose
// poll failed: every family, label and value Prometheus parses from it is
// the one expected, label values escaped as the text format says, and a
// name that is not UTF-8 kept apart (\xNN); promlint finds nothing.
func TestTextFormatHostile(t *testing.T) {
	label, snap, h, total := hostile()
	e := newExporter(4, time.Second, true)
	ent := e.addNS(nsKey{ino: 1}, label)
	p := polled(true, label, snap, h, total)
	p.duration = 250 * time.Millisecond
	e.publish(ent, p)
	failed := e.addNS(nsKey{ino: 2}, "a")
	w := &nsWriter{saMetrics: true}
	err := errors.New("gone")
	e.publish(failed, &poll{err: err, reason: failureReason(err), duration: time.Second,
		samples: w.render("a", &monitor.Update{Err: err, Total: explain.Tally{XfrmEvents: map[explain.EventType]uint64{explain.EventsLost: 1}}})})
	e.skipped(map[string]int{"changed": 1})
	e.mu.Lock()
	c := e.collector()
	e.mu.Unlock()
	body := c.render(0)
	checkMetrics(t, string(body))
	got := parseScrape(t, body)

	want := series{}
	add := func(name string, v float64, labels ...string) {
		m := map[string]string{}
		for i := 0; i < len(labels); i += 2 {
			m[labels[i]] = labels[i+1]
		}
		want[seriesKey("tunnelstat_"+name, m)] = v
	}
	n := func(name string, v float64, labels ...string) {
		add(name, v, append([]string{"netns", label}, labels...)...)
	}
	// The exporter's and the poll counts.
	add("scrapes_rejected_total", 0)
	for _, r := range skipReasons {
		add("netns_discovery_skips_total", map[bool]float64{true: 1}[r == "changed"], "reason", r)
	}
	n("up", 1)
	n("scrapes_total", 1)
	n("scrape_failures_total", 0)
	n("scrape_duration_seconds", 0.25)
	add("up", 0, "netns", "a")
	add("read_error", 1, "netns", "a", "reason", "error")
	add("scrapes_total", 1, "netns", "a")
	add("scrape_failures_total", 1, "netns", "a")
	add("scrape_duration_seconds", 1, "netns", "a")
	for _, typ := range explain.EventTypes() {
		n("xfrm_events_total", map[bool]float64{true: 2}[typ == explain.EventAcquire], "type", typ.String())
		add("xfrm_events_total", map[bool]float64{true: 1}[typ == explain.EventsLost], "netns", "a", "type", typ.String())
	}
	// The hostile namespace's reading.
	for _, part := range []string{"links", "links_rtnetlink", "xfrm_stat", "sas", "policies", "policy_defaults", "spd_info", "sad_info", "wireguard"} {
		n("part_readable", 1, "part", part)
	}
	vti, bad, gre := `v"t\i`, `x\xffy`, `q",netns="blue`
	n("link_info", 1, "interface", vti, "kind", "vti", "local", "192.0.2.1", "remote", "2001:db8::2", "ikey", "7", "okey", "8", "if_id", "0")
	n("link_info", 1, "interface", bad, "kind", "xfrm", "local", "", "remote", "", "ikey", "0", "okey", "0", "if_id", "9")
	n("link_info", 1, "interface", gre, "kind", "gre", "local", "", "remote", "", "ikey", "0", "okey", "0", "if_id", "0")
	n("link_up", 1, "interface", vti)
	n("link_up", 0, "interface", bad)
	n("link_up", 1, "interface", gre)
	n("link_mtu_bytes", 1400, "interface", vti)
	n("link_mtu_bytes", 1500, "interface", bad)
	n("link_mtu_bytes", 1476, "interface", gre)
	vtiStats := map[string]float64{"rx_packets": 1, "tx_packets": 2, "rx_bytes": 3, "tx_bytes": 1<<64 - 1, "tx_errors": 5, "tx_carrier_errors": 5}
	for _, field := range []string{"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped",
		"multicast", "collisions", "rx_length_errors", "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
		"rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors", "tx_heartbeat_errors", "tx_window_errors",
		"rx_compressed", "tx_compressed", "rx_nohandler", "rx_otherhost_dropped"} {
		n("link_"+field+"_total", vtiStats[field], "interface", vti)
		n("link_"+field+"_total", 0, "interface", bad) // gre: no counters
	}
	n("xfrm_mib_errors_total", 1, "counter", "XfrmInError")
	n("xfrm_mib_errors_total", 2, "counter", "XfrmOutNoStates")
	n("xfrm_sas", 1)
	n("xfrm_sad_sas", 1)
	n("xfrm_sad_hash_buckets", 8)
	n("xfrm_sad_hash_max_buckets", 1<<20)
	for _, sock := range []string{"false", "true"} {
		for _, dir := range []string{"in", "out", "fwd"} {
			v := map[string]float64{"in/false": 1, "out/false": 1, "out/true": 1}[dir+"/"+sock]
			n("xfrm_policies", v, "dir", dir, "socket", sock)
			n("xfrm_spd_policies", v, "dir", dir, "socket", sock)
		}
	}
	n("xfrm_spd_hash_buckets", 8)
	n("xfrm_spd_hash_max_buckets", 1<<20)
	n("xfrm_policy_default_block", 0, "dir", "in")
	n("xfrm_policy_default_block", 1, "dir", "out")
	n("xfrm_policy_default_block", 0, "dir", "fwd")
	sa := []string{"spi", "0x00000abc", "src", "2001:db8::2", "dst", "2001:db8::1", "proto", "esp", "reqid", "3", "mode", "tunnel", "mark", "0x7/0xffff", "if_id", "0"}
	n("xfrm_sa_bytes_total", 100, sa...)
	n("xfrm_sa_packets_total", 4, sa...)
	n("xfrm_sa_replay_window_errors_total", 1, sa...)
	n("xfrm_sa_replay_errors_total", 2, sa...)
	n("xfrm_sa_integrity_failed_total", 3, sa...)
	n("xfrm_sa_replay_seq", 1<<32+5, sa...)
	n("xfrm_sa_replay_oseq", 0, sa...)
	n("xfrm_sa_add_time_seconds", 1700000000.5, sa...)
	n("cause_events_total", 3, "interface", vti, "cause", "tx-no-sa")
	tl := []string{"interface", vti, "kind", "vti", "peer", "2001:db8::2", "reqid", "0"}
	n("tunnel_up", 1, tl...)
	n("tunnel_rx_bytes_total", 10, tl...)
	n("tunnel_rx_packets_total", 1, tl...)
	n("tunnel_tx_bytes_total", 20, tl...)
	n("tunnel_tx_packets_total", 2, tl...)
	n("tunnel_last_rx_timestamp_seconds", 1767225601.5, tl...)
	n("sa_soft_expiry_timestamp_seconds", 1767229200, append(tl, "dir", "in")...)
	n("sa_hard_expiry_timestamp_seconds", 1767232800, append(tl, "dir", "out")...)
	n("sa_seq_headroom", 1<<64-1, append(tl, "dir", "out")...)
	n("tunnel_risk", 1, append(tl, "public_key", "", "cause", "tx-sa-expired")...)
	pl := []string{"interface", `w"g\0`, "public_key", hostileKey}
	n("wireguard_peer_up", 1, pl...)
	n("wireguard_peer_last_handshake_timestamp_seconds", 1767225590, pl...)
	n("wireguard_peer_rx_bytes_total", 1<<64-1, pl...)
	n("wireguard_peer_tx_bytes_total", 7, pl...)
	n("tunnel_risk", 1, "interface", `w"g\0`, "kind", "wireguard", "peer", "", "reqid", "0", "public_key", hostileKey, "cause", "tunnel-wg-handshake-failing")

	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("missing %s", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s %v", k, v)
		}
	}
	// The escapes themselves, as written.
	for _, s := range []string{`netns="blue \"q\" \\ \n end"`, `interface="v\"t\\i"`, `interface="x\\xffy"`, `interface="q\",netns=\"blue"`} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("no %s in the scrape", s)
		}
	}
}

// Label values and sample values are written as expfmt writes them
// (valid UTF-8; counters aside, which are written as exact integers).
func TestTextFormatAsExpfmt(t *testing.T) {
	for _, v := range []string{"", "vti0", `a"b`, `a\b`, "a\nb", "\\n", "é✓", "tab\there", "\r"} {
		got := string(appendLabelValue(nil, v))
		want := expfmtLine(t, &dto.Metric{Label: []*dto.LabelPair{{Name: ptr("l"), Value: ptr(v)}}, Gauge: &dto.Gauge{Value: ptr(1.0)}})
		if want != `x{l="`+got+`"} 1` {
			t.Errorf("label value %q: %s, expfmt %s", v, got, want)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.25, 1767229200, 1767225601.5, 4294965295, 1 << 64, 1e21, 1e-7, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64} {
		got := string(appendFloat(nil, v))
		want := expfmtLine(t, &dto.Metric{Gauge: &dto.Gauge{Value: ptr(v)}})
		if want != "x "+got {
			t.Errorf("value %v: %s, expfmt %s", v, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func expfmtLine(t *testing.T, m *dto.Metric) string {
	t.Helper()
	var b bytes.Buffer
	mf := &dto.MetricFamily{Name: ptr("x"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{m}}
	if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	return lines[len(lines)-1]
}

// A namespace relabelled after its poll was rendered: its samples,
// rewritten, are those a rendering with the new label writes, whatever
// the labels' values hold.
func TestRelabel(t *testing.T) {
	old, snap, h, total := hostile()
	for _, to := range []string{"blue", "inode:12", "", `x"\` + "\n"} {
		a := polled(true, old, snap, h, total).samples.relabelled(to)
		b := polled(true, to, snap, h, total).samples
		if a.label != to || !bytes.Equal(a.buf, b.buf) || !slices.Equal(a.ends, b.ends) {
			t.Errorf("relabelled to %q:\n%s\nrendered:\n%s", to, a.buf, b.buf)
		}
	}
	// Through the Exporter: relabel, and a poll rendered with the old
	// label published after it.
	e, ent := published(t, true, old, polled(true, old, snap, h, total))
	e.relabel(ent, "inode:7")
	e.publish(ent, polled(true, old, snap, h, total))
	e.mu.Lock()
	body := e.collector().render(0)
	e.mu.Unlock()
	if bytes.Contains(body, []byte(`netns="blue \"`)) || !bytes.Contains(body, []byte(`tunnelstat_up{netns="inode:7"} 1`)) {
		t.Errorf("after relabelling:\n%s", body)
	}
	checkMetrics(t, string(body))
}

// A poll's reading (no full reading in the interval) renders its
// counters, SAs and policies, and takes the links' state and MTU, the SPD
// and SAD info and the default policies from the latest full reading; a
// tunnel that appeared since has its counters and parameters, and its
// state and MTU with the next full reading.
func TestPollAfterFullReading(t *testing.T) {
	label, snap, h, total := hostile()
	w := &nsWriter{}
	w.render(label, &monitor.Update{Snapshot: snap, Reading: snap.Reading(), Health: h, Total: total})

	next := *snap
	next.Links = slices.Clone(snap.Links)
	next.Links[1].Stats.TxErrors = 99
	next.Links[1].OperState, next.Links[1].MTU = "down", 1300 // unseen: the poll reads counters only
	next.Links[2] = monitor.Link{Index: 5, Name: "vti5", Kind: "vti", OperState: "up", MTU: 1400, StatsFrom: "stats64", LinkNetNSID: -1,
		Stats: monitor.Stats{TxErrors: 1}, Tunnel: &monitor.Tunnel{Remote: netip.MustParseAddr("198.51.100.5")}}
	next.SAs = nil
	next.Policies = []xfrmstat.Policy{}
	r := next.Reading()
	r.SAs = []explain.SA{}
	s := w.render(label, &monitor.Update{Reading: r, Health: h, Total: total})

	e, _ := published(t, false, label, &poll{samples: s})
	e.mu.Lock()
	body := e.collector().render(0)
	e.mu.Unlock()
	got := parseScrape(t, body)
	l := func(kv ...string) map[string]string {
		m := map[string]string{"netns": label}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for k, want := range map[string]float64{
		seriesKey("tunnelstat_link_tx_errors_total", l("interface", `v"t\i`)):                                                                                   99,
		seriesKey("tunnelstat_link_up", l("interface", `v"t\i`)):                                                                                                1,
		seriesKey("tunnelstat_link_mtu_bytes", l("interface", `v"t\i`)):                                                                                         1400,
		seriesKey("tunnelstat_link_tx_errors_total", l("interface", "vti5")):                                                                                    1,
		seriesKey("tunnelstat_link_info", l("interface", "vti5", "kind", "vti", "local", "", "remote", "198.51.100.5", "ikey", "0", "okey", "0", "if_id", "0")): 1,
		seriesKey("tunnelstat_xfrm_sas", l()):                                                                                                                   0,
		seriesKey("tunnelstat_xfrm_policies", l("dir", "out", "socket", "false")):                                                                               0,
		seriesKey("tunnelstat_xfrm_spd_policies", l("dir", "out", "socket", "false")):                                                                           1,
		seriesKey("tunnelstat_xfrm_policy_default_block", l("dir", "out")):                                                                                      1,
		seriesKey("tunnelstat_part_readable", l("part", "spd_info")):                                                                                            1,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (%v), want %v", k, v, ok, want)
		}
	}
	for k := range got {
		if strings.Contains(k, `x\\xffy`) || strings.HasPrefix(k, "tunnelstat_link_up{") && strings.Contains(k, "vti5") {
			t.Errorf("unexpected %s", k)
		}
	}
}

// What a poll publishes is bytes of its own: the monitor reusing its
// reading's storage afterwards changes nothing a scrape serves.
func TestSamplesOwnTheirBytes(t *testing.T) {
	label, snap, h, total := hostile()
	r := snap.Reading()
	w := &nsWriter{saMetrics: true}
	s := w.render(label, &monitor.Update{Snapshot: snap, Reading: r, Health: h, Total: total})
	before := bytes.Clone(s.buf)
	for i := range r.Links {
		r.Links[i].Name, r.Links[i].Stats.TxErrors = "reused", 12345
	}
	r.SAs[0].SPI, r.MIB = 1, nil
	h.Tunnels[0].ID.Interface = "reused"
	snap.Links[1].OperState, snap.SPDInfo.Out = "down", 42
	if !bytes.Equal(s.buf, before) {
		t.Error("the samples changed with the reading they were rendered from")
	}
	if w.reading != nil || w.health != nil || slices.ContainsFunc(w.links[:cap(w.links)], func(v linkView) bool { return v.l != nil }) {
		t.Error("the writer keeps pointers into the reading")
	}
}
