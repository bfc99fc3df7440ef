package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/safetext"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

const showAbout = `Shows the namespace's tunnels (vti, vti6, xfrm, gre, ipip, sit, ip6tnl,
wireguard …) with their kind, state and parameters, and the error
counters that say why packets were dropped, every stats64 field apart:

  TX-ERR   tx_errors, the total
  CARRIER  tx_carrier_errors: on an IPsec tunnel, the route, policy or SA
           lookup failed; on GRE/IPIP, no route to the peer
  ABORTED  tx_aborted_errors: IPsec output failed after the lookup
  COLLS    collisions: a routing loop back into the tunnel
  TX-DROP, RX-ERR, RX-DROP  tx_dropped, rx_errors, rx_dropped

Each wireguard link's peers follow: public key, endpoint, allowed IPs,
how long ago the latest handshake completed, bytes received and sent
(UDP payloads: data, keepalives, handshakes) and the persistent
keepalive; never a private or preshared key. Then the XFRM MIB counters
that are not zero, the SPD and SAD sizes, and every SA with its
traffic, replay and integrity counters (never keys).
"tunnelstat explain" says what the numbers mean.`

func (a *app) show(ctx context.Context, args []string) error {
	fs := a.flagSet("show", "show [--all] [--netns NS] [--json]", showAbout)
	all := fs.Bool("all", false, "list every link, not only tunnels")
	netns := netnsFlag(fs)
	jsonOut := fs.Bool("json", false, "print the reading as a snapshot document (tunnels only, unless --all)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	snap, err := a.readLive(ctx, *netns)
	if err != nil {
		return err
	}
	if !*all {
		snap.Links = snap.Tunnels()
	}
	if *jsonOut {
		return snap.Encode(a.stdout)
	}
	return writeShow(a.stdout, snap)
}

// writeShow prints a reading as tables. Every name and value read from the
// kernel or a file prints as shown does, so none can reach the terminal
// with a control byte or forge a line.
func writeShow(w io.Writer, snap *monitor.Snapshot) error {
	var b strings.Builder
	links := snap.Links
	if len(links) == 0 {
		b.WriteString("No tunnel in " + nsWords(snap.NetNS) + ".\n")
	} else {
		t := newTable("NAME", "KIND", "STATE", "LOCAL", "REMOTE", "KEYS", "MTU", "TX-PKTS", "TX-ERR", "CARRIER", "ABORTED", "COLLS", "TX-DROP", "RX-PKTS", "RX-ERR", "RX-DROP")
		sums := false
		for _, l := range links {
			kind := l.Kind
			switch {
			case kind != "":
			case l.StatsFrom == "proc/net/dev":
				kind = "?" // unknown: /proc/net/dev does not say
			default:
				kind = "-" // no IFLA_INFO_KIND: a physical device or lo
			}
			local, remote, keys := "-", "-", "-"
			if tn := l.Tunnel; tn != nil {
				local, remote, keys = addr(tn.Local), addr(tn.Remote), tunnelKeys(l.Kind, tn)
			}
			s := l.Stats
			carrier, aborted := u(s.TxCarrierErrors), u(s.TxAbortedErrors)
			if l.StatsFrom == "proc/net/dev" {
				carrier, aborted = u(s.TxCarrierErrors)+"*", "*"
				sums = true
			}
			t.row(shown(l.Name), shown(kind), shown(l.OperState), local, remote, keys, u32(l.MTU),
				u(s.TxPackets), u(s.TxErrors), carrier, aborted, u(s.Collisions), u(s.TxDropped),
				u(s.RxPackets), u(s.RxErrors), u(s.RxDropped))
		}
		t.write(&b)
		if sums {
			b.WriteString("* read from /proc/net/dev: CARRIER is carrier+aborted+window+heartbeat errors, ABORTED is in it.\n")
		}
	}

	writeWireGuard(&b, snap)

	b.WriteString("\nXFRM MIB (/proc/net/xfrm_stat): ")
	if snap.MIB == nil {
		b.WriteString(unreadText(snap, "xfrm_stat"))
	} else {
		var moved []string
		for name, v := range snap.MIB.All() {
			if v != 0 {
				moved = append(moved, shown(name)+" "+u(v))
			}
		}
		if len(moved) == 0 {
			b.WriteString("every counter is 0")
		} else {
			b.WriteString(strings.Join(moved, ", "))
		}
	}
	b.WriteString("\n")

	b.WriteString("Policies: ")
	switch {
	case snap.SPDInfo != nil:
		i := snap.SPDInfo
		fmt.Fprintf(&b, "%d in, %d out, %d fwd, %d socket", i.In, i.Out, i.Fwd, i.SocketIn+i.SocketOut+i.SocketFwd)
	case snap.Policies != nil:
		fmt.Fprintf(&b, "%d", len(snap.Policies))
	default:
		b.WriteString(unreadText(snap, "policies"))
	}
	if d := snap.PolicyDefaults; d != nil {
		fmt.Fprintf(&b, "; default out %s, in %s, fwd %s", d.Out, d.In, d.Fwd)
	}
	if len(snap.Policies) > 0 {
		b.WriteString("\n")
		t := newTable("DIR", "SRC", "DST", "ACTION", "MARK", "IF_ID", "TEMPLATES")
		for _, p := range snap.Policies {
			var tmpls []string
			for _, tm := range p.Templates {
				tmpls = append(tmpls, fmt.Sprintf("%s %s>%s %s reqid %d", protoName(tm.Proto), addr(tm.Src), addr(tm.Dst), tm.Mode, tm.ReqID))
			}
			if len(tmpls) == 0 {
				tmpls = []string{"-"}
			}
			t.row(p.Dir.String(), prefix(p.Selector.Src), prefix(p.Selector.Dst), p.Action.String(), markText(p.Mark), u32(p.IfID), strings.Join(tmpls, "; "))
		}
		t.write(&b)
	}
	b.WriteString("\nSAs: ")
	switch {
	case snap.SAs == nil:
		b.WriteString(unreadText(snap, "sas") + "\n")
	case len(snap.SAs) == 0:
		b.WriteString("none\n")
	default:
		fmt.Fprintf(&b, "%d\n", len(snap.SAs))
		t := newTable("SRC", "DST", "SPI", "PROTO", "MODE", "REQID", "MARK", "IF_ID", "BYTES", "PACKETS", "REPLAY-WIN", "REPLAY", "INTEGRITY-FAILED")
		for _, sa := range snap.SAs {
			t.row(addr(sa.Src), addr(sa.Dst), spiText(sa.SPI), protoName(sa.Proto), sa.Mode.String(), u32(sa.ReqID),
				markText(sa.Mark), u32(sa.IfID), u(sa.LifetimeCurrent.Bytes), u(sa.LifetimeCurrent.Packets),
				u32(sa.Stats.ReplayWindow), u32(sa.Stats.Replay), u32(sa.Stats.IntegrityFailed))
		}
		t.write(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func unreadText(snap *monitor.Snapshot, part string) string {
	if un, ok := snap.Unreadable(part); ok {
		if un.Needs != "" {
			return "not read (needs " + safetext.Text(un.Needs) + ")"
		}
		return "not read (" + safetext.Text(un.Error) + ")"
	}
	return "not read"
}

func tunnelKeys(kind string, t *monitor.Tunnel) string {
	switch kind {
	case "xfrm":
		return "if_id " + u32(t.IfID)
	case "vti", "vti6", "gre", "gretap", "ip6gre", "ip6gretap", "erspan", "ip6erspan":
		if t.IKey == t.OKey {
			return "key " + u32(t.IKey)
		}
		return "ikey " + u32(t.IKey) + " okey " + u32(t.OKey)
	}
	return "-"
}

// table is a text table with left-aligned text and right-aligned numbers.
type table struct{ rows [][]string }

func newTable(header ...string) *table { return &table{rows: [][]string{header}} }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(b *strings.Builder) {
	width := make([]int, len(t.rows[0]))
	numeric := make([]bool, len(width))
	for i := range numeric {
		numeric[i] = true
	}
	for r, row := range t.rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
			if r > 0 && !isNumber(c) {
				numeric[i] = false
			}
		}
	}
	for _, row := range t.rows {
		var line strings.Builder
		for i, c := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if numeric[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}

func isNumber(s string) bool {
	s = strings.TrimSuffix(s, "*")
	if s == "-" || s == "" {
		return true
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func u(v uint64) string   { return strconv.FormatUint(v, 10) }
func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func addr(a interface {
	IsValid() bool
	IsUnspecified() bool
	String() string
}) string {
	switch {
	case !a.IsValid():
		return "-"
	case a.IsUnspecified():
		return "any"
	}
	return shown(a.String()) // an IPv6 zone read from a file can be anything
}

// shown is a name or value read from the kernel or a file, as the text
// output prints it: as it is when it is plain, Go-quoted otherwise
// ("vti\x1b[2J"), as explain's reports print names.
func shown(s string) string { return safetext.Name(s) }

func prefix(p netip.Prefix) string {
	if !p.IsValid() {
		return "-"
	}
	return p.String()
}

func spiText(spi uint32) string { return fmt.Sprintf("0x%08x", spi) }

func protoName(p uint8) string {
	switch p {
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 108:
		return "comp"
	}
	return u32(uint32(p))
}

func markText(m *xfrmstat.Mark) string {
	if m == nil {
		return "-"
	}
	if m.Mask == 0xffffffff {
		return u32(m.Value)
	}
	return fmt.Sprintf("%d/0x%x", m.Value, m.Mask)
}

// writeWireGuard writes the peers of each wireguard link of snap.Links:
// those read, and for a link whose peers were not read, why.
func writeWireGuard(b *strings.Builder, snap *monitor.Snapshot) {
	for i := range snap.Links {
		l := &snap.Links[i]
		if l.Kind != explain.KindWireGuard {
			continue
		}
		var d *vtistat.WireGuardDevice
		for j := range snap.WireGuard {
			if snap.WireGuard[j].Index == l.Index {
				d = &snap.WireGuard[j]
			}
		}
		b.WriteString("\nWireGuard " + shown(l.Name) + ": ")
		if d == nil {
			b.WriteString("peers " + unreadText(snap, "wireguard") + "\n")
			continue
		}
		if d.PublicKey.IsZero() {
			b.WriteString("no private key")
		} else {
			b.WriteString("public key " + d.PublicKey.String())
		}
		b.WriteString(", listening on port " + u32(uint32(d.ListenPort)))
		if d.FwMark != 0 {
			fmt.Fprintf(b, ", fwmark 0x%x", d.FwMark)
		}
		if len(d.Peers) == 0 {
			b.WriteString(", no peer\n")
			continue
		}
		fmt.Fprintf(b, ", %d peer%s\n", len(d.Peers), plural(len(d.Peers)))
		t := newTable("PEER", "ENDPOINT", "ALLOWED-IPS", "HANDSHAKE", "RX-BYTES", "TX-BYTES", "KEEPALIVE")
		for _, p := range d.Peers {
			ep := "(none)"
			if p.Endpoint.IsValid() {
				ep = shown(p.Endpoint.String())
			}
			// A few; the JSON output (--json) has them all.
			var ips []string
			for k, pfx := range p.AllowedIPs {
				if k == maxAllowedShown {
					ips = append(ips, fmt.Sprintf("(+%d more)", len(p.AllowedIPs)-k))
					break
				}
				ips = append(ips, prefix(pfx))
			}
			allowed := strings.Join(ips, ",")
			if allowed == "" {
				allowed = "(none)"
			}
			ka := "off"
			if p.PersistentKeepalive > 0 {
				ka = "every " + p.PersistentKeepalive.String()
			}
			t.row(p.PublicKey.String(), ep, allowed, handshakeAge(snap.Time, p.LastHandshake), u(p.RxBytes), u(p.TxBytes), ka)
		}
		t.write(b)
	}
}

// maxAllowedShown is how many allowed IPs of a peer the text shows.
const maxAllowedShown = 4

// handshakeAge says how long before now a handshake completed: "never",
// "1m23s ago", or the time itself when it is after now (a clock stepped
// back).
func handshakeAge(now, hs time.Time) string {
	switch {
	case hs.IsZero():
		return "never"
	case hs.After(now):
		return hs.UTC().Format(time.RFC3339)
	}
	return now.Sub(hs).Truncate(time.Second).String() + " ago"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
