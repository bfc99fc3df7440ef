package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/safetext"
)

const watchAbout = `Reads the namespace every interval and explains what moved in between,
until interrupted (Ctrl-C) or --count intervals have passed. It also
follows the tunnels' health: the interval's XFRM events (SAs added,
expired, deleted, acquires, policy changes), one line each, and the
failures ahead (an SA about to expire with no time to rekey, a tunnel
with no SA), one "risk" line each, every interval while they last; and
each WireGuard peer, one "wireguard" line each, in the first interval
and whenever the peer comes, goes, gets or loses a session (a handshake
less than 180 s old: WireGuard is silent while idle, so a peer without
one may be idle, not broken) or changes endpoint.
Intervals in which nothing moved, with no event and no risk, print
nothing, unless --json: then every interval prints one report, one JSON
document per line, its events in "events" and the tunnels' health in one
more member, "health".

--netns NAME follows the name: deleted, nothing is read until a namespace
of that name exists again; deleted and added again, the new namespace is
watched from its first reading (stderr says so each time).`

func (a *app) watch(ctx context.Context, args []string) error {
	fs := a.flagSet("watch", "watch [--interval 10s] [--count N] [--netns NS] [--json]", watchAbout)
	interval := fs.Duration("interval", 10*time.Second, "time between readings (at least 100ms)")
	count := fs.Int("count", 0, "stop after `N` intervals (0: until interrupted)")
	netns := netnsFlag(fs)
	jsonOut := fs.Bool("json", false, "print one JSON report per interval, one per line")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *interval < 100*time.Millisecond:
		return usagef("--interval %v is too short: at least 100ms", *interval)
	case *count < 0:
		return usagef("--count %d: want 0 (until interrupted) or more", *count)
	}

	ns, err := parseNetNS(*netns)
	if err != nil {
		return err
	}
	// The monitor reads the namespace in full once, then polls its
	// counters and SAs every interval (and its policies when its events
	// say they changed) and reads it in full again only when something
	// moved.
	m, err := monitor.New(&monitor.Config{Interval: *interval, Open: a.open, Health: &explain.HealthConfig{}}, ns)
	if err != nil {
		return err
	}
	defer m.Close()
	intervals, baselines, gone := 0, 0, false
	var peers peerLines
	err = m.Run(ctx, func(u monitor.Update) error {
		switch {
		case errors.Is(u.Err, monitor.ErrNetNSGone):
			// The name was deleted: nothing is read (the monitor never
			// reads the namespace its sockets kept alive) until a
			// namespace of that name exists again.
			if !gone {
				fmt.Fprintf(a.stderr, "tunnelstat: %v; watching for a namespace of that name (Ctrl-C stops)\n", u.Err)
			}
			gone = true
			return nil
		case u.Err != nil:
			return u.Err
		case u.Baseline && baselines > 0:
			// The name now refers to another namespace: what follows is
			// explained from its first reading.
			baselines++
			gone = false
			peers = peerLines{}
			fmt.Fprintf(a.stderr, "tunnelstat: %s was replaced (deleted and added again): watching the new one (%d tunnels) from its first reading\n", nsWords(*netns), len(u.Snapshot.Tunnels()))
			return nil
		case u.Baseline:
			baselines++
			a.warnUnread(u.Unread)
			if !*jsonOut {
				fmt.Fprintf(a.stderr, "tunnelstat: watching %s (%d tunnels) every %v; Ctrl-C stops\n", nsWords(*netns), len(u.Snapshot.Tunnels()), *interval)
				peerText := ""
				if u.Health != nil {
					peerText = peers.lines(u.Health)
				}
				if u.Health != nil && (len(u.Health.Risks) > 0 || peerText != "") {
					fmt.Fprintf(a.stdout, "== %s\n", u.Time.Local().Format(time.TimeOnly))
					if _, err := io.WriteString(a.stdout, peerText); err != nil {
						return err
					}
					return writeRisks(a.stdout, u.Health.Risks)
				}
			}
			return nil
		}
		rep := u.Report
		var risks []explain.Risk
		peerText := ""
		if u.Health != nil {
			risks = u.Health.Risks
			if !*jsonOut {
				peerText = peers.lines(u.Health)
			}
		}
		if *jsonOut {
			if err := writeWatchJSON(a.stdout, rep, u.Health); err != nil {
				return err
			}
		} else if len(rep.Findings) > 0 || len(rep.Notes) > 0 || len(rep.Events) > 0 || len(risks) > 0 || peerText != "" {
			fmt.Fprintf(a.stdout, "== %s – %s\n", rep.Since.Local().Format(time.TimeOnly), rep.Until.Local().Format(time.TimeOnly))
			// Format prints the events after the findings, one line each.
			if err := rep.Format(a.stdout); err != nil {
				return err
			}
			if _, err := io.WriteString(a.stdout, peerText); err != nil {
				return err
			}
			if err := writeRisks(a.stdout, risks); err != nil {
				return err
			}
		}
		if intervals++; *count > 0 && intervals == *count {
			return monitor.ErrStop
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil // interrupted
	}
	return err
}

// writeWatchJSON writes one interval as one line: the report's JSON
// object, with the tunnels' health as one more member, "health", when
// there is one. Each line stays a report, as before watch followed
// health: a reader of reports reads it unchanged.
func writeWatchJSON(w io.Writer, rep explain.Report, h *explain.Health) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if h != nil {
		hb, err := json.Marshal(h)
		if err != nil {
			return err
		}
		b = b[:len(b)-1] // the report's closing brace
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"health":`...)
		b = append(b, hb...)
		b = append(b, '}')
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeRisks writes one line per failure ahead: its cause, the tunnel,
// when packets will start to drop (if known) and why.
func writeRisks(w io.Writer, risks []explain.Risk) error {
	var b strings.Builder
	for _, r := range risks {
		id := r.Tunnel
		id.Interface = safetext.Name(id.Interface)
		fmt.Fprintf(&b, "risk %s %s", safetext.Text(string(r.Cause)), id)
		if r.SA != nil {
			fmt.Fprintf(&b, " (%s)", r.SA)
		}
		if !r.At.IsZero() {
			fmt.Fprintf(&b, " at %s", r.At.Local().Format(time.DateTime))
		}
		b.WriteString(": ")
		b.WriteString(safetext.Text(r.Explanation))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// peerLines keeps what the last "wireguard" line of each peer said, so
// that watch prints a peer again only when that changes.
type peerLines struct {
	seen map[explain.TunnelID]peerSeen
}

type peerSeen struct {
	up       bool
	endpoint netip.AddrPort
}

// lines returns one line per peer of h that is new, or whose session or
// endpoint changed since the last call, and one per peer gone.
func (p *peerLines) lines(h *explain.Health) string {
	var b strings.Builder
	seen := make(map[explain.TunnelID]peerSeen, len(h.Peers))
	for _, ps := range h.Peers {
		now := peerSeen{up: ps.Up, endpoint: ps.Endpoint}
		seen[ps.ID] = now
		if old, ok := p.seen[ps.ID]; ok && old == now {
			continue
		}
		b.WriteString(peerLine(h.Time, &ps))
	}
	var gone []string
	for id := range p.seen {
		if _, ok := seen[id]; !ok {
			gone = append(gone, "wireguard "+peerName(id)+" gone: no longer a peer of the interface, or the interface is gone\n")
		}
	}
	slices.Sort(gone)
	for _, g := range gone {
		b.WriteString(g)
	}
	p.seen = seen
	return b.String()
}

// peerLine is one peer's state: "wireguard wg0 peer KEY up: endpoint …".
func peerLine(now time.Time, ps *explain.PeerStatus) string {
	var b strings.Builder
	b.WriteString("wireguard " + peerName(ps.ID))
	switch {
	case ps.Up:
		b.WriteString(" up: session from a handshake " + handshakeAge(now, ps.LastHandshake))
	case ps.LastHandshake.IsZero():
		b.WriteString(" no session: no handshake yet")
	default:
		b.WriteString(" no session (idle, or unreachable): latest handshake " + handshakeAge(now, ps.LastHandshake))
	}
	if ps.Endpoint.IsValid() {
		b.WriteString(", endpoint " + shown(ps.Endpoint.String()))
	} else {
		b.WriteString(", no endpoint")
	}
	fmt.Fprintf(&b, ", %d bytes received, %d sent\n", ps.In.Bytes, ps.Out.Bytes)
	return b.String()
}

func peerName(id explain.TunnelID) string {
	id.Interface = safetext.Name(id.Interface)
	id.PublicKey = safetext.Name(id.PublicKey)
	return id.String()
}
