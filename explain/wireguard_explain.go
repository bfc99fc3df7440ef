package explain

import (
	"slices"
	"strings"
	"time"
)

// WireGuard's counters cannot tell its tx_errors apart (no peer for the
// destination, a peer without endpoint, a failed segmentation, a packet of
// another protocol all count tx_errors alone), nor its tx_dropped (the
// staged queue overflowing, the staged packets purged, the core's drops).
// The peer lists of both readings settle some of them: a cause is ruled
// out only when its precondition fails in both readings and the peers are
// the same ones in both (the same public keys, none of whose byte counters
// or handshake time went back: a peer removed and added again restarts
// them). Between two readings only a peer's removal can take its endpoint
// away (the kernel has no way to clear one), but its allowed IPs can be
// replaced and restored: like the policy list for IPsec, the peer lists
// are taken as the configuration of the whole interval, and the finding
// says so. Since boot (no earlier reading) nothing is ruled out.

// REJECT_AFTER_TIME (drivers/net/wireguard/messages.h): a session older
// than this carries no data, so a peer whose last handshake is older has
// none.
const wgRejectAfter = 180 * time.Second

// wgResolvable are the causes the peer lists can rule out.
var wgResolvable = []CauseID{"tx-wg-no-peer", "tx-wg-no-endpoint", "tx-wg-gso-error", "tx-wg-staged-overflow",
	"tx-wg-staged-purged", "rx-wg-src-not-allowed"}

func isWGResolvable(c *Cause) bool { return slices.Contains(wgResolvable, c.ID) }

// wgDevice returns the peer list of link l in r: by ifindex when both
// know it, else by name; nil when r has none for it.
func wgDevice(r *Reading, l *LinkReading) *WireGuardDevice {
	if r == nil || r.WireGuard == nil {
		return nil
	}
	for i := range r.WireGuard {
		d := &r.WireGuard[i]
		if (l.Index != 0 && d.Index != 0 && d.Index == l.Index) || ((l.Index == 0 || d.Index == 0) && d.Name == l.Name) {
			return d
		}
	}
	return nil
}

// wgSameDevice returns the peer list in r of device d (of another
// reading): by ifindex, which generic netlink always gives and which a
// rename keeps and a re-creation changes; by name only when an index is
// unknown.
func wgSameDevice(r *Reading, d *WireGuardDevice) *WireGuardDevice {
	if r == nil || r.WireGuard == nil {
		return nil
	}
	for i := range r.WireGuard {
		o := &r.WireGuard[i]
		if (d.Index != 0 && o.Index == d.Index) || ((d.Index == 0 || o.Index == 0) && o.Name == d.Name) {
			return o
		}
	}
	return nil
}

// wgFacts is what one reading's peer list says.
type wgFacts struct {
	reachable    int  // peers with at least one allowed IP: the only ones wg_xmit can find
	withEndpoint int  // of those, the ones with an endpoint
	all4, all6   bool // a peer's allowed IPs hold 0.0.0.0/0, ::/0
}

func wgFactsOf(d *WireGuardDevice) wgFacts {
	var f wgFacts
	for i := range d.Peers {
		p := &d.Peers[i]
		if len(p.AllowedIPs) == 0 {
			continue
		}
		f.reachable++
		if p.Endpoint.IsValid() {
			f.withEndpoint++
		}
		for _, a := range p.AllowedIPs {
			if a.IsValid() && a.Bits() == 0 {
				if a.Addr().Is4() {
					f.all4 = true
				} else {
					f.all6 = true
				}
			}
		}
	}
	return f
}

// samePeers reports whether b and a list the same peers, none of which was
// seen to be removed and added again in between.
func samePeers(b, a *WireGuardDevice) bool {
	if len(b.Peers) != len(a.Peers) {
		return false
	}
	byKey := peerIndex(b)
	if len(byKey) != len(b.Peers) {
		return false // a key listed twice: not a list the kernel gives
	}
	for i := range a.Peers {
		pa := &a.Peers[i]
		pb := byKey[pa.PublicKey]
		if pb == nil || pa.RxBytes < pb.RxBytes || pa.TxBytes < pb.TxBytes || pa.LastHandshake.Before(pb.LastHandshake) {
			return false
		}
	}
	return true
}

// peerIndex maps a device's peers by public key (nil for a nil device).
func peerIndex(d *WireGuardDevice) map[string]*WireGuardPeer {
	if d == nil {
		return nil
	}
	m := make(map[string]*WireGuardPeer, len(d.Peers))
	for i := range d.Peers {
		m[d.Peers[i].PublicKey] = &d.Peers[i]
	}
	return m
}

// resolveWG is resolveTX for a wireguard link: the causes the peer lists
// of both readings rule out.
func (e *engine) resolveWG(m *movedLink) resolution {
	res := resolution{wg: true}
	l := m.link
	a := wgDevice(e.after, l)
	var b *WireGuardDevice
	if e.before != nil && a != nil {
		b = wgSameDevice(e.before, a)
	}
	dev := showName(l.Name)
	switch {
	case a == nil:
		return res // nothing to say: the hint asks for the peer list
	case e.before == nil || m.since != "":
		res.done, res.why = true, msgWGSinceCreated.text("dev", dev)
		return res
	case b == nil:
		res.done, res.why = true, msgWGOnlyLater.text("dev", dev)
		return res
	case !samePeers(b, a):
		res.done, res.why = true, msgWGPeersChanged.text("dev", dev)
		return res
	}
	fb, fa := wgFactsOf(b), wgFactsOf(a)
	res.done, res.exclude = true, map[CauseID]bool{}
	var parts []string
	if fb.reachable == 0 && fa.reachable == 0 {
		// wg_xmit finds no peer: nothing reaches the endpoint check, the
		// segmentation or the staged queue through it. A keepalive is
		// staged for any peer (send.c:wg_packet_send_keepalive), one at a
		// time: it can be purged, it cannot overflow the queue.
		res.exclude["tx-wg-no-endpoint"] = true
		res.exclude["tx-wg-gso-error"] = true
		res.exclude["tx-wg-staged-overflow"] = true
		if len(a.Peers) == 0 {
			res.exclude["tx-wg-staged-purged"] = true
			parts = append(parts, msgWGNoPeers.text("dev", dev))
		} else {
			parts = append(parts, msgWGNoAllowedIPs.text("dev", dev, "n", inum(len(a.Peers))))
		}
	} else {
		parts = append(parts, msgWGReachable.text("dev", dev, "n", inum(fa.reachable), "peers", plural(fa.reachable, "peer", "peers")))
		switch {
		case fb.withEndpoint == fb.reachable && fa.withEndpoint == fa.reachable:
			res.exclude["tx-wg-no-endpoint"] = true
			parts = append(parts, msgWGAllEndpoints.text())
		case fb.withEndpoint == 0 && fa.withEndpoint == 0:
			// wg_xmit checks the endpoint before it segments or stages
			// a packet; a keepalive, staged one at a time, cannot
			// overflow the queue.
			res.exclude["tx-wg-gso-error"] = true
			res.exclude["tx-wg-staged-overflow"] = true
			parts = append(parts, msgWGNoEndpoints.text())
		default:
			parts = append(parts, msgWGSomeEndpoints.text("n", inum(fa.reachable-fa.withEndpoint)))
		}
		switch {
		case fb.all4 && fb.all6 && fa.all4 && fa.all6:
			res.exclude["tx-wg-no-peer"] = true
			parts = append(parts, msgWGCoversAll.text())
		case fb.all4 && fa.all4:
			parts = append(parts, msgWGCoversFamily.text("family", "IPv4", "other", "IPv6"))
		case fb.all6 && fa.all6:
			parts = append(parts, msgWGCoversFamily.text("family", "IPv6", "other", "IPv4"))
		}
	}
	// One peer whose allowed IPs hold every address: every inner source
	// routes back to the peer that sent it.
	if len(a.Peers) == 1 && fb.all4 && fb.all6 && fa.all4 && fa.all6 {
		res.exclude["rx-wg-src-not-allowed"] = true
	}
	res.why = msgWGPeersRead.text("parts", strings.Join(parts, "; "))
	return res
}

// wgAnnotate names the peers behind a wireguard link's findings where the
// peer list supports it, and fills {peer} in their checks when they name
// exactly one.
func (e *engine) wgAnnotate(m *movedLink) {
	l := m.link
	a := wgDevice(e.after, l)
	if a == nil {
		return
	}
	var before map[string]*WireGuardPeer
	var bdev *WireGuardDevice
	if e.before != nil && m.since == "" {
		bdev = wgSameDevice(e.before, a)
		before = peerIndex(bdev)
	}
	// What the peers say about one candidate of a group is said in the
	// group's shared words too, which Format prints.
	groupWords := map[string][]string{}
	for i := range m.findings {
		f := &m.findings[i]
		var named []*WireGuardPeer
		var ev []Evidence
		var words []string
		switch f.Cause {
		case "tx-wg-no-peer":
			fa := wgFactsOf(a)
			ev = append(ev, Evidence{Counter: "allowed_ips", Delta: uint64(fa.reachable), Source: SourceWireGuard})
		case "tx-wg-no-endpoint":
			// The peers without an endpoint at both readings (only the later
			// one since boot): the only ones whose packets fail here, as
			// far as the readings show.
			for pi := range a.Peers {
				p := &a.Peers[pi]
				if len(p.AllowedIPs) == 0 || p.Endpoint.IsValid() {
					continue
				}
				if pb := before[p.PublicKey]; pb != nil && pb.Endpoint.IsValid() {
					continue
				}
				named = append(named, p)
				ev = append(ev, Evidence{Counter: "no_endpoint", Source: SourceWireGuard, Peer: peerRef(p)})
			}
			if len(named) > 0 {
				words = append(words, msgWGPeersNoEndpoint.text("peers", peerList(named)))
			}
		case "tx-wg-staged-overflow", "tx-wg-staged-purged":
			// The peers without a session at the later reading that were
			// sent to (handshake initiations) in the interval.
			for pi := range a.Peers {
				p := &a.Peers[pi]
				if wgUp(p, e.after.Time) {
					continue
				}
				var sent uint64
				if pb := before[p.PublicKey]; pb != nil && p.TxBytes >= pb.TxBytes {
					sent = p.TxBytes - pb.TxBytes
				}
				named = append(named, p)
				ev = append(ev, handshakeEvidence(p, e.after.Time))
				if sent > 0 {
					ev = append(ev, Evidence{Counter: "tx_bytes", Delta: sent, Source: SourceWireGuard, Peer: peerRef(p)})
				}
				words = append(words, handshakeWords(p, e.after.Time))
			}
			if len(named) == 0 && len(a.Peers) > 0 && !e.after.Time.IsZero() {
				words = append(words, msgWGAllUp.text("dev", showName(l.Name)))
			}
		case "rx-wg-src-not-allowed", "rx-wg-bad-protocol", "rx-wg-bad-length":
			// Each of these packets was decrypted and authenticated, so it
			// came from a peer with a session: one that has completed a
			// handshake (a responder's completes with the first data
			// packet: wg_packet_consume_data_done calls
			// wg_timers_handshake_complete before its checks, in the four
			// trees read). With the same peers in both
			// readings and exactly one of them with a handshake at the
			// later one, it is that peer.
			if bdev == nil || !samePeers(bdev, a) {
				continue
			}
			for pi := range a.Peers {
				if !a.Peers[pi].LastHandshake.IsZero() {
					named = append(named, &a.Peers[pi])
				}
			}
			if len(named) != 1 {
				continue
			}
			ev = append(ev, handshakeEvidence(named[0], e.after.Time))
			words = append(words, msgWGOnlySession.text("peer", peerRef(named[0]).String(), "dev", showName(l.Name)))
		default:
			continue
		}
		f.Evidence = append(f.Evidence, ev...)
		if len(words) > 0 {
			w := strings.Join(words, " ")
			f.Explanation += " " + w
			if f.Group != "" && !slices.Contains(groupWords[f.Group], w) {
				groupWords[f.Group] = append(groupWords[f.Group], w)
			}
		}
		if len(named) == 1 {
			// The checks again, {peer} filled (a link finding has every
			// template of its cause, in order).
			v := e.values(l)
			v.peer = named[0].PublicKey
			c := causeByID(f.Cause)
			f.Checks = f.Checks[:0]
			for _, t := range c.Checks {
				f.Checks = append(f.Checks, v.fill(t))
			}
		}
	}
	for i := range m.findings {
		if f := &m.findings[i]; len(groupWords[f.Group]) > 0 {
			f.GroupExplanation += " " + strings.Join(groupWords[f.Group], " ")
		}
	}
}

// wgUp reports whether the peer's last handshake completed less than
// REJECT_AFTER_TIME before now: it has a session it can send on.
func wgUp(p *WireGuardPeer, now time.Time) bool {
	return !p.LastHandshake.IsZero() && !now.IsZero() && now.Sub(p.LastHandshake) < wgRejectAfter
}

func peerRef(p *WireGuardPeer) *PeerRef {
	return &PeerRef{PublicKey: p.PublicKey, Endpoint: p.Endpoint}
}

func peerList(ps []*WireGuardPeer) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = peerRef(p).String()
	}
	return strings.Join(s, ", ")
}

func handshakeEvidence(p *WireGuardPeer, now time.Time) Evidence {
	if p.LastHandshake.IsZero() {
		return Evidence{Counter: "no_handshake", Source: SourceWireGuard, Peer: peerRef(p)}
	}
	var age uint64
	if d := now.Sub(p.LastHandshake); d > 0 {
		age = uint64(d / time.Second)
	}
	return Evidence{Counter: "handshake_age", Delta: age, Source: SourceWireGuard, Peer: peerRef(p)}
}

// handshakeWords says how long ago the peer's last handshake was.
func handshakeWords(p *WireGuardPeer, now time.Time) string {
	who := peerRef(p).String()
	switch {
	case p.LastHandshake.IsZero():
		return msgWGNeverHandshake.text("peer", capitalize(who))
	case now.IsZero():
		return msgWGHandshakeAt.text("peer", capitalize(who), "at", p.LastHandshake.UTC().Format(time.RFC3339))
	}
	return msgWGHandshakeAge.text("peer", capitalize(who), "age", ageWords(now.Sub(p.LastHandshake)))
}

// ageWords is a duration as a reader says it: "40 seconds", "12 minutes",
// "3 hours".
func ageWords(d time.Duration) string {
	switch {
	case d < 0:
		return msgWGFuture.text()
	case d < 2*time.Minute:
		n := int(d / time.Second)
		return inum(n) + " " + plural(n, "second", "seconds")
	case d < 2*time.Hour:
		n := int(d / time.Minute)
		return inum(n) + " minutes"
	case d < 48*time.Hour:
		n := int(d / time.Hour)
		return inum(n) + " hours"
	}
	return inum(int(d/(24*time.Hour))) + " days"
}
