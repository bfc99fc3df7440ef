package explain

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The peers below are the real ones of vtistat/testdata/wg (dumps of the
// VM kernels 5.10.223 and 6.12.117, decoded by vtistat's decoder): wg0's
// only peer after a ping, and the first peers of wg1, which has 300. Only
// what a test changes (an endpoint taken away, a handshake time moved to
// the test's clock, an allowed IP widened) differs from the dump, and each
// test says so.
const (
	wgKey0 = "TE0leAlcDKrizPDuMd5i+wYxaHrKN8z24ZULtBKopHs=" // wg0's peer
	wgKeyA = "2pTwd1VLNECwCEjLrzTy9GZyvVcNgx1BClWCByh9+yc=" // wg1's first peer
	wgKeyB = "/dQUGUzOoA54USrNqATzFyYuQe61KmudjtdXEN2Rz2k=" // wg1's second peer (IPv6 endpoint)
)

// wg0Peer is wg0's peer as dumped (5.10): endpoint 198.51.100.2:51821,
// allowed IPs 10.9.0.2/32, 180 bytes received and 492 sent (one handshake
// and a ping), its handshake moved to hs.
func wg0Peer(hs time.Time) WireGuardPeer {
	return WireGuardPeer{PublicKey: wgKey0, Endpoint: netip.MustParseAddrPort("198.51.100.2:51821"),
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32")}, LastHandshake: hs, RxBytes: 180, TxBytes: 492}
}

// wg1Peers are wg1's first two peers as dumped (never a handshake).
func wg1Peers() []WireGuardPeer {
	return []WireGuardPeer{
		{PublicKey: wgKeyA, Endpoint: netip.MustParseAddrPort("192.0.2.0:40000"), PersistentKeepalive: 25 * time.Second,
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.64.0.0/32"), netip.MustParsePrefix("10.65.0.0/32"), netip.MustParsePrefix("fd00:64::/128")}},
		{PublicKey: wgKeyB, Endpoint: netip.MustParseAddrPort("[2001:db8::1]:40001"),
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.64.0.1/32"), netip.MustParsePrefix("10.65.0.1/32"), netip.MustParsePrefix("fd00:64::1/128")}},
	}
}

// wgReadings builds two readings 10 s apart of one wireguard link named
// wg0 (ifindex 3, as in the dumps) whose counters moved by d, with the
// peer lists before and after (nil: not read).
func wgReadings(d Stats64, before, after []WireGuardPeer) (*Reading, *Reading) {
	b, a := pair("6.12.117+deb13-cloud-amd64", []LinkReading{link("wg0", KindWireGuard, 3, d)}, nil, nil)
	if before != nil {
		b.WireGuard = []WireGuardDevice{{Index: 3, Name: "wg0", Peers: before}}
	}
	if after != nil {
		a.WireGuard = []WireGuardDevice{{Index: 3, Name: "wg0", Peers: after}}
	}
	return b, a
}

func linkCauses(rep Report, iface string) []CauseID {
	return causesOn(rep, iface, true)
}

func TestWireGuardExplain(t *testing.T) {
	at := t0.Add(10 * time.Second) // the later reading
	recent := at.Add(-40 * time.Second)
	stale := at.Add(-10 * time.Minute)
	noEndpoint := func(p WireGuardPeer) WireGuardPeer { p.Endpoint = netip.AddrPort{}; return p }
	allowed := func(p WireGuardPeer, s ...string) WireGuardPeer {
		p.AllowedIPs = nil
		for _, x := range s {
			p.AllowedIPs = append(p.AllowedIPs, netip.MustParsePrefix(x))
		}
		return p
	}
	sent := func(p WireGuardPeer, n uint64) WireGuardPeer { p.TxBytes += n; return p }
	for _, c := range []struct {
		name          string
		d             Stats64
		before, after []WireGuardPeer
		want          []want    // findings that must be there
		causes        []CauseID // every link cause (kernel-* left out)
		why           string    // in the findings' explanation
		peer          string    // a check names this peer
	}{
		{
			// A device without peers: every packet routed into it fails
			// the peer lookup, unless something sends raw packets.
			name:   "no peers",
			d:      Stats64{TxErrors: 5},
			before: []WireGuardPeer{}, after: []WireGuardPeer{},
			want:   []want{{"wg0", "tx-wg-no-peer", 5, Candidate}, {"wg0", "tx-unsupported-protocol", 5, Candidate}},
			causes: ids("tx-wg-no-peer", "tx-unsupported-protocol"),
			why:    "wg0 has no peer",
		},
		{
			name:   "peers without allowed IPs",
			d:      Stats64{TxErrors: 2},
			before: []WireGuardPeer{allowed(wg0Peer(recent))}, after: []WireGuardPeer{allowed(wg0Peer(recent))},
			causes: ids("tx-wg-no-peer", "tx-unsupported-protocol"),
			why:    "none of the 1 peers of wg0 has an allowed IP",
		},
		{
			// The real wg0: a peer with an endpoint for 10.9.0.2 only.
			name:   "peer with endpoint",
			d:      Stats64{TxErrors: 7},
			before: []WireGuardPeer{wg0Peer(recent)}, after: []WireGuardPeer{sent(wg0Peer(recent), 96)},
			want:   []want{{"wg0", "tx-wg-no-peer", 7, Candidate}},
			causes: ids("tx-wg-no-peer", "tx-wg-gso-error", "tx-unsupported-protocol"),
			why:    "each has an endpoint",
		},
		{
			// A responder's peer before its first packet: no endpoint, and
			// its allowed IPs hold every address.
			name:   "peer without endpoint takes everything",
			d:      Stats64{TxErrors: 4},
			before: []WireGuardPeer{allowed(noEndpoint(wg0Peer(time.Time{})), "0.0.0.0/0", "::/0")},
			after:  []WireGuardPeer{allowed(noEndpoint(wg0Peer(time.Time{})), "0.0.0.0/0", "::/0")},
			want:   []want{{"wg0", "tx-wg-no-endpoint", 4, Candidate}},
			causes: ids("tx-wg-no-endpoint", "tx-unsupported-protocol"),
			why:    "Without an endpoint in the readings: peer " + wgKey0 + " (no endpoint).",
		},
		{
			// IPv6 inner traffic: the peer takes every IPv6 destination,
			// so an IPv4 packet may still find none.
			name:   "IPv6 only",
			d:      Stats64{TxErrors: 1},
			before: []WireGuardPeer{allowed(wg0Peer(recent), "::/0")}, after: []WireGuardPeer{allowed(wg0Peer(recent), "::/0")},
			causes: ids("tx-wg-no-peer", "tx-wg-gso-error", "tx-unsupported-protocol"),
			why:    "their allowed IPs hold every IPv6 destination, not every IPv4 one",
		},
		{
			// Two of wg1's peers split the address space between them.
			name:   "both families covered",
			d:      Stats64{TxErrors: 3},
			before: []WireGuardPeer{allowed(wg1Peers()[0], "0.0.0.0/0"), allowed(wg1Peers()[1], "::/0")},
			after:  []WireGuardPeer{allowed(wg1Peers()[0], "0.0.0.0/0"), allowed(wg1Peers()[1], "::/0")},
			causes: ids("tx-wg-gso-error", "tx-unsupported-protocol"),
			why:    "every destination has a peer",
		},
		{
			// The peer does not answer: packets wait for a handshake and
			// are dropped; the finding names the peer and its age.
			name:   "staged drops name the peer",
			d:      Stats64{TxDropped: 130},
			before: []WireGuardPeer{wg0Peer(stale)}, after: []WireGuardPeer{sent(wg0Peer(stale), 2*148)},
			want: []want{{"wg0", "tx-wg-staged-overflow", 130, Candidate}, {"wg0", "tx-wg-staged-purged", 130, Candidate},
				{"wg0", "tx-core-drop", 130, Candidate}},
			causes: ids("tx-wg-staged-overflow", "tx-wg-staged-purged", "tx-core-drop"),
			why:    "Peer " + wgKey0 + " (198.51.100.2:51821) has not completed a handshake for 10 minutes.",
			peer:   wgKey0,
		},
		{
			name:   "drops with no peer are the core's",
			d:      Stats64{TxDropped: 3},
			before: []WireGuardPeer{}, after: []WireGuardPeer{},
			want:   []want{{"wg0", "tx-core-drop", 3, Exact}},
			causes: ids("tx-core-drop"),
		},
		{
			// A peer without allowed IPs still has keepalives staged: they
			// can be purged, never overflow the queue.
			name:   "keepalive purged",
			d:      Stats64{TxDropped: 1},
			before: []WireGuardPeer{allowed(wg1Peers()[0])}, after: []WireGuardPeer{allowed(wg1Peers()[0])},
			causes: ids("tx-wg-staged-purged", "tx-core-drop"),
			peer:   wgKeyA,
		},
		{
			name:   "bad length",
			d:      Stats64{RxErrors: 4, RxLengthErrors: 4},
			before: []WireGuardPeer{wg0Peer(recent)}, after: []WireGuardPeer{wg0Peer(recent)},
			want:   []want{{"wg0", "rx-wg-bad-length", 4, Exact}},
			causes: ids("rx-wg-bad-length"),
		},
		{
			// wg0's peer may send from 10.9.0.2 only: either frame cause.
			name:   "frame errors",
			d:      Stats64{RxErrors: 3, RxFrameErrors: 3},
			before: []WireGuardPeer{wg0Peer(recent)}, after: []WireGuardPeer{wg0Peer(recent)},
			want:   []want{{"wg0", "rx-wg-src-not-allowed", 3, Candidate}, {"wg0", "rx-wg-bad-protocol", 3, Candidate}},
			causes: ids("rx-wg-src-not-allowed", "rx-wg-bad-protocol"),
			// The packets decrypted: the only peer with a handshake sent them.
			why: "so it came from peer " + wgKey0,
		},
		{
			// The only peer may send from anywhere: no source is refused.
			name:   "frame errors from the only peer that takes everything",
			d:      Stats64{RxErrors: 3, RxFrameErrors: 3},
			before: []WireGuardPeer{allowed(wg0Peer(recent), "0.0.0.0/0", "::/0")},
			after:  []WireGuardPeer{allowed(wg0Peer(recent), "0.0.0.0/0", "::/0")},
			want:   []want{{"wg0", "rx-wg-bad-protocol", 3, Exact}},
			causes: ids("rx-wg-bad-protocol"),
		},
		{
			// Mixed causes on one link: each bucket on its own.
			name:   "mixed",
			d:      Stats64{TxErrors: 5, TxDropped: 2, RxErrors: 3, RxFrameErrors: 1, RxLengthErrors: 2},
			before: []WireGuardPeer{}, after: []WireGuardPeer{},
			want: []want{{"wg0", "tx-wg-no-peer", 5, Candidate}, {"wg0", "tx-core-drop", 2, Exact},
				{"wg0", "rx-wg-bad-length", 2, Exact}},
			causes: ids("tx-wg-no-peer", "tx-unsupported-protocol", "tx-core-drop", "rx-wg-bad-length",
				"rx-wg-src-not-allowed", "rx-wg-bad-protocol"),
		},
		{
			// The peer was removed and added again: its counters restarted.
			// Nothing is ruled out, although neither reading has a peer
			// without an endpoint.
			name:   "peer re-added",
			d:      Stats64{TxErrors: 2},
			before: []WireGuardPeer{wg0Peer(stale)},
			after:  []WireGuardPeer{func() WireGuardPeer { p := wg0Peer(time.Time{}); p.RxBytes, p.TxBytes = 0, 148; return p }()},
			causes: ids("tx-wg-no-peer", "tx-wg-no-endpoint", "tx-wg-gso-error", "tx-unsupported-protocol"),
			why:    "they changed between the readings",
		},
		{
			name:   "earlier peer list not read",
			d:      Stats64{TxErrors: 2},
			before: nil, after: []WireGuardPeer{},
			causes: ids("tx-wg-no-peer", "tx-wg-no-endpoint", "tx-wg-gso-error", "tx-unsupported-protocol"),
			why:    "the earlier reading has no peer list of it",
		},
		{
			name:   "peer list not read",
			d:      Stats64{TxErrors: 2},
			causes: ids("tx-wg-no-peer", "tx-wg-no-endpoint", "tx-wg-gso-error", "tx-unsupported-protocol"),
			why:    "the peer list (wg show) settles some of them",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, a := wgReadings(c.d, c.before, c.after)
			rep := Explain(b, a)
			for _, w := range c.want {
				mustFind(t, rep, w)
			}
			if got := linkCauses(rep, "wg0"); !slices.Equal(got, c.causes) {
				t.Errorf("causes %v, want %v; report:\n%s", got, c.causes, rep.String())
			}
			if c.why != "" && !strings.Contains(rep.String(), c.why) {
				t.Errorf("report does not say %q:\n%s", c.why, rep.String())
			}
			if c.peer != "" {
				named := false
				for _, f := range findingsOf(rep, "wg0") {
					for _, ch := range f.Checks {
						if strings.Contains(ch.Why, c.peer) {
							named = true
						}
						if strings.Contains(ch.Command, "<peer>") || strings.Contains(ch.Why, "<peer>") {
							t.Errorf("%s: check %q left <peer>", f.Cause, ch.Command)
						}
					}
					for _, ev := range f.Evidence {
						if ev.Peer != nil && ev.Peer.PublicKey != c.peer {
							t.Errorf("%s: evidence names %s", f.Cause, ev.Peer)
						}
					}
				}
				if !named {
					t.Errorf("no check names peer %s; report:\n%s", c.peer, rep.String())
				}
			}
			checkJSONRoundTrip(t, rep)
		})
	}
}

// A device deleted and created again (a new ifindex, wg-quick down and up)
// is explained since it was created: its old peer list says nothing about
// the new device's interval.
func TestWireGuardRecreated(t *testing.T) {
	b, a := wgReadings(Stats64{}, []WireGuardPeer{}, []WireGuardPeer{})
	a.Links[1].Index = 9
	a.Links[1].Stats.TxErrors = 3
	a.Links[1].Stats.TxPackets, a.Links[1].Stats.TxBytes = 10, 1000
	a.Links[1].Stats.RxPackets, a.Links[1].Stats.RxBytes = 10, 1000
	a.WireGuard[0].Index = 9
	rep := Explain(b, a)
	if find(rep, "wg0", "counter-reset") == nil {
		t.Fatalf("no counter-reset:\n%s", rep)
	}
	want := ids("counter-reset", "tx-wg-no-peer", "tx-wg-no-endpoint", "tx-wg-gso-error", "tx-unsupported-protocol")
	if got := linkCauses(rep, "wg0"); !slices.Equal(got, want) {
		t.Errorf("causes %v, want %v:\n%s", got, want, rep)
	}
	if !strings.Contains(rep.String(), "count since it was created") {
		t.Errorf("the report does not say why the peers rule nothing out:\n%s", rep)
	}
}

// Since boot the peer list's history is unknown: nothing is ruled out, but
// the peers are still named.
func TestWireGuardSinceBoot(t *testing.T) {
	_, a := wgReadings(Stats64{TxDropped: 4}, nil, []WireGuardPeer{wg0Peer(time.Time{})})
	rep := Explain(nil, a)
	want := ids("tx-wg-staged-overflow", "tx-wg-staged-purged", "tx-core-drop")
	if got := linkCauses(rep, "wg0"); !slices.Equal(got, want) {
		t.Errorf("causes %v, want %v:\n%s", got, want, rep)
	}
	if !strings.Contains(rep.String(), "Peer "+wgKey0+" (198.51.100.2:51821) has never completed a handshake.") {
		t.Errorf("the peer is not named:\n%s", rep)
	}
}

// A renamed device keeps its index: its peer list is found by index.
func TestWireGuardRenamed(t *testing.T) {
	b, a := wgReadings(Stats64{TxDropped: 2}, []WireGuardPeer{}, []WireGuardPeer{})
	a.Links[1].Name = "wg-office"
	a.WireGuard[0].Name = "wg-office"
	rep := Explain(b, a)
	mustFind(t, rep, want{"wg-office", "tx-core-drop", 2, Exact})
}

// A peer list holds no secret: explain's types have no field a private or
// preshared key could be put in.
func TestWireGuardNoSecrets(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[WireGuardDevice](), reflect.TypeFor[WireGuardPeer](),
		reflect.TypeFor[PeerRef](), reflect.TypeFor[PeerStatus]()} {
		for f := range typ.Fields() {
			n := strings.ToLower(f.Name)
			if strings.Contains(n, "private") || strings.Contains(n, "preshared") || strings.Contains(n, "secret") {
				t.Errorf("%s.%s could hold a secret", typ, f.Name)
			}
		}
	}
}

// A crafted key cannot put a control character into the report's text,
// and is one shell word in a command.
func TestWireGuardCraftedKey(t *testing.T) {
	p := wg0Peer(time.Time{})
	p.PublicKey = "x\x1b[31m'$(id)\n"
	b, a := wgReadings(Stats64{TxDropped: 1}, []WireGuardPeer{p}, []WireGuardPeer{p})
	rep := Explain(b, a)
	s := rep.String()
	if strings.ContainsAny(s, "\x1b") {
		t.Errorf("control byte in the report:\n%q", s)
	}
	for _, f := range rep.Findings {
		for _, ch := range f.Checks {
			if strings.ContainsAny(ch.Command, "\x1b\n") {
				t.Errorf("control byte in %q", ch.Command)
			}
		}
	}
}

// A received packet that wireguard refuses after decrypting it names its
// sender only when the peer list proves it: the same peers in both
// readings, and exactly one of them with a handshake (only a peer with a
// session can send a packet that decrypts).
func TestWireGuardRxSender(t *testing.T) {
	at := t0.Add(10 * time.Second)
	recent := at.Add(-40 * time.Second)
	never := wg1Peers()[0] // no handshake
	other := wg1Peers()[1]
	other.LastHandshake = recent
	d := Stats64{RxErrors: 3, RxFrameErrors: 3}
	for _, c := range []struct {
		name          string
		before, after []WireGuardPeer
		sender        string // "": none named
	}{
		{"one peer with a handshake", []WireGuardPeer{wg0Peer(recent), never}, []WireGuardPeer{wg0Peer(recent), never}, wgKey0},
		{"two peers with a handshake", []WireGuardPeer{wg0Peer(recent), other}, []WireGuardPeer{wg0Peer(recent), other}, ""},
		{"peers changed", []WireGuardPeer{wg0Peer(recent), never}, []WireGuardPeer{wg0Peer(recent)}, ""},
		{"earlier peer list not read", nil, []WireGuardPeer{wg0Peer(recent)}, ""},
		{"no handshake at all", []WireGuardPeer{never}, []WireGuardPeer{never}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, a := wgReadings(d, c.before, c.after)
			rep := Explain(b, a)
			fs := findingsOf(rep, "wg0")
			if len(fs) != 2 {
				t.Fatalf("findings %v", linkCauses(rep, "wg0"))
			}
			for _, f := range fs {
				if f.Certainty != Candidate {
					t.Errorf("%s: %s", f.Cause, f.Certainty)
				}
				var named []string
				for _, ev := range f.Evidence {
					if ev.Peer != nil {
						named = append(named, ev.Counter+" "+ev.Peer.PublicKey)
					}
				}
				switch {
				case c.sender == "" && len(named) > 0:
					t.Errorf("%s names %q", f.Cause, named)
				case c.sender != "" && !slices.Equal(named, []string{"handshake_age " + c.sender}):
					t.Errorf("%s names %q, want %s", f.Cause, named, c.sender)
				}
			}
			checkJSONRoundTrip(t, rep)
		})
	}
}
