package main

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

const ns = "tunnelstat"

// nsFamily declares a family of a network namespace's series: its first
// label is netns.
func nsFamily(name string, typ metricType, help string, emit func(*nsWriter, *family), labels ...string) *family {
	return newFamily(name, typ, help, emit, append([]string{"netns"}, labels...)...)
}

// The families the Exporter writes when it assembles a response, from
// what it keeps of each namespace (the poll's outcome and counts), and the
// exporter's own series: about the process, not a namespace, so without
// the netns label.
var (
	famUp        = nsFamily("up", gaugeType, "1 if the namespace's last poll read its links, 0 if not (tunnelstat_read_error says why).", nil)
	famReadError = nsFamily("read_error", gaugeType, "1 when the namespace's last poll failed, with why: netns_gone (the namespace's name or path no longer exists), timeout, permission or error (the exporter's log has the message).", nil, "reason")
	famScrapes   = nsFamily("scrapes_total", counterType, "Polls of the namespace since the exporter began watching it (one per --interval; scrapes never read the namespace).", nil)
	famFailures  = nsFamily("scrape_failures_total", counterType, "Polls of the namespace in which its links could not be read.", nil)
	famDuration  = nsFamily("scrape_duration_seconds", gaugeType, "How long the namespace's last poll took.", nil)

	famRejected = newFamily("scrapes_rejected_total", counterType, "Scrapes turned away with 503 because --max-requests were being served, or no poll had ended yet; as of this response's rendering.", nil)
	famSkipped  = newFamily("netns_discovery_skips_total", counterType, "With --netns all: namespaces a discovery pass could not take, by reason: gone (the process or name went away during the pass), permission, not_netns (a /run/netns entry that is no namespace, such as one being created), changed (the namespace at the path changed between two looks), error.", nil, "reason")
)

// The families a namespace's poll renders (nsWriter), each by its emit
// function. Those named are the ones whose label sets the writer writes
// by hand (checked in init).
var (
	famLinkInfo = nsFamily("link_info", gaugeType, "A tunnel link and its parameters; always 1.", emitLinkInfo, "interface", "kind", "local", "remote", "ikey", "okey", "if_id")
	famLinkUp   = nsFamily("link_up", gaugeType, "1 if the tunnel's operational state is up.", emitLinkUp, "interface")

	saLabels   = []string{"spi", "src", "dst", "proto", "reqid", "mode", "mark", "if_id"}
	famSABytes = nsFamily("xfrm_sa_bytes_total", counterType, "Bytes the SA has carried (lifetime current).", saCounter(func(sa *explain.SA) uint64 { return sa.Usage.Bytes }), saLabels...)

	// Per tunnel (explain.Health): labels that stay when SAs are rekeyed,
	// never an SPI.
	tunnelLabels = []string{"interface", "kind", "peer", "reqid"}
	famTunnelUp  = nsFamily("tunnel_up", gaugeType, "1 if the tunnel can carry traffic now (its outbound policy or interface, and an SA in each direction), 0 if not: no SA, no outbound policy, or its interface down.", emitTunnelUp, tunnelLabels...)
	// A risk may be a WireGuard peer's: public_key names the peer (its
	// interface is interface), "" for any other tunnel.
	famRisk = nsFamily("tunnel_risk", gaugeType, "1 while a failure of this cause is ahead for the tunnel or WireGuard peer (explain.Risk: an SA near its hard limit, sequence numbers running out, traffic one way only ...); absent otherwise. public_key names a WireGuard peer, \"\" for any other tunnel.", emitRisk, append(tunnelLabels[:len(tunnelLabels):len(tunnelLabels)], "public_key", "cause")...)

	// Per WireGuard peer (explain.Health.Peers): its interface and public
	// key, never its endpoint (which changes when the peer roams).
	peerLabels       = []string{"interface", "public_key"}
	famPeerUp        = nsFamily("wireguard_peer_up", gaugeType, "1 if the WireGuard peer's last handshake completed less than 180 s ago (it has a session to send on), 0 if not. A peer without persistent keepalive that carried no traffic for 3 minutes has no session, and that is not a fault: WireGuard is silent while idle.", emitPeerUp, peerLabels...)
	famPeerHandshake = nsFamily("wireguard_peer_last_handshake_timestamp_seconds", gaugeType, "When the WireGuard peer's last handshake completed, as a Unix time; absent when none ever did.", emitPeerHandshake, peerLabels...)
	famPeerRx        = nsFamily("wireguard_peer_rx_bytes_total", counterType, "Bytes received from the WireGuard peer (its UDP payloads: data, keepalives, handshakes) since the exporter began watching it, kept monotonic when the peer is removed and added again.", peerCounter(func(p *explain.PeerStatus) uint64 { return p.In.Bytes }), peerLabels...)
	famPeerTx        = nsFamily("wireguard_peer_tx_bytes_total", counterType, "Bytes sent to the WireGuard peer (its UDP payloads: data, keepalives, handshakes) since the exporter began watching it, kept monotonic when the peer is removed and added again.", peerCounter(func(p *explain.PeerStatus) uint64 { return p.Out.Bytes }), peerLabels...)

	// Per tunnel and direction: the tunnel's newest SA of that direction.
	saDirLabels = append(tunnelLabels[:len(tunnelLabels):len(tunnelLabels)], "dir")
	famSASoft   = nsFamily("sa_soft_expiry_timestamp_seconds", gaugeType, "When the tunnel's newest SA of this direction reaches its soft (rekey) time limit, as a Unix time; absent when it has none.", saDirGauge(func(sa *explain.SAHealth) (float64, bool) { return unixSeconds(sa.SoftExpiry), !sa.SoftExpiry.IsZero() }), saDirLabels...)
)

var _ = []*family{
	nsFamily("part_readable", gaugeType, "1 if this part of the namespace was read in its last poll, 0 if not (XFRM netlink needs CAP_NET_ADMIN).", emitReadable, "part"),
	nsFamily("link_mtu_bytes", gaugeType, "The tunnel's MTU.", emitLinkMTU, "interface"),

	nsFamily("xfrm_mib_errors_total", counterType, "/proc/net/xfrm_stat: the namespace's XFRM error counters, every one the kernel prints, by kernel name.", emitMIB, "counter"),

	nsFamily("xfrm_sas", gaugeType, "SAs in the SA dump (larval acquire states included).", emitSAs),
	nsFamily("xfrm_sad_sas", gaugeType, "SAs the kernel counts in the SAD (XFRM_MSG_GETSADINFO).", sadGauge(func(i *xfrmstat.SADInfo) uint32 { return i.Count })),
	nsFamily("xfrm_sad_hash_buckets", gaugeType, "Buckets of each SAD hash table.", sadGauge(func(i *xfrmstat.SADInfo) uint32 { return i.HashBuckets })),
	nsFamily("xfrm_sad_hash_max_buckets", gaugeType, "The most buckets the SAD hash tables may grow to.", sadGauge(func(i *xfrmstat.SADInfo) uint32 { return i.HashMaxBuckets })),
	nsFamily("xfrm_policies", gaugeType, "Policies in the policy dump, by direction (socket policies have socket=\"true\").", emitPolicies, "dir", "socket"),
	nsFamily("xfrm_spd_policies", gaugeType, "Policies the kernel counts per direction (XFRM_MSG_GETSPDINFO).", emitSPDPolicies, "dir", "socket"),
	nsFamily("xfrm_spd_hash_buckets", gaugeType, "Buckets of the SPD by-index hash table.", spdGauge(func(i *xfrmstat.SPDInfo) uint64 { return i.HashBuckets() })),
	nsFamily("xfrm_spd_hash_max_buckets", gaugeType, "The most buckets the SPD hash tables may grow to.", spdGauge(func(i *xfrmstat.SPDInfo) uint64 { return uint64(i.HashMaxBuckets) })),
	nsFamily("xfrm_policy_default_block", gaugeType, "1 if packets matching no policy in this direction are dropped (default policy block), 0 if accepted.", emitPolicyDefaults, "dir"),

	nsFamily("xfrm_sa_packets_total", counterType, "Packets the SA has carried (lifetime current).", saCounter(func(sa *explain.SA) uint64 { return sa.Usage.Packets }), saLabels...),
	nsFamily("xfrm_sa_replay_window_errors_total", counterType, "Packets outside the SA's replay window.", saCounter(func(sa *explain.SA) uint64 { return uint64(sa.Errors.ReplayWindow) }), saLabels...),
	nsFamily("xfrm_sa_replay_errors_total", counterType, "Replayed packets the SA dropped.", saCounter(func(sa *explain.SA) uint64 { return uint64(sa.Errors.Replay) }), saLabels...),
	nsFamily("xfrm_sa_integrity_failed_total", counterType, "Packets that failed the SA's integrity check (ICV).", saCounter(func(sa *explain.SA) uint64 { return uint64(sa.Errors.IntegrityFailed) }), saLabels...),
	nsFamily("xfrm_sa_replay_seq", gaugeType, "Highest inbound sequence number the SA has seen (ESN: high and low halves).", saGauge(func(sa *explain.SA) (float64, bool) { return float64(sa.Seq), sa.HasReplay }), saLabels...),
	nsFamily("xfrm_sa_replay_oseq", gaugeType, "Last outbound sequence number the SA used (ESN: high and low halves).", saGauge(func(sa *explain.SA) (float64, bool) { return float64(sa.OSeq), sa.HasReplay }), saLabels...),
	nsFamily("xfrm_sa_add_time_seconds", gaugeType, "When the SA was added, as a Unix time.", saGauge(func(sa *explain.SA) (float64, bool) { return unixSeconds(sa.Usage.Added), !sa.Usage.Added.IsZero() }), saLabels...),

	nsFamily("cause_events_total", counterType, "Events explained since the exporter began watching the namespace, counted once each: by cause, or cause=\"unresolved\" when the counters leave it open between candidates. interface=\"\" is the namespace-wide count of its cause, which includes the tunnels' events of that cause.", tallyCounter(func(t *explain.Tally) map[explain.TallyKey]uint64 { return t.Events }), "interface", "cause"),
	nsFamily("cause_candidate_events_total", counterType, "Unresolved events this cause may explain: an upper bound per cause; never sum across causes.", tallyCounter(func(t *explain.Tally) map[explain.TallyKey]uint64 { return t.Candidates }), "interface", "cause"),
	nsFamily("xfrm_events_total", counterType, "XFRM events received from the namespace's kernel since the exporter began watching it, by type (acquire, sa-soft-expire, sa-hard-expire, ..., events-lost); every type from 0.", emitXfrmEvents, "type"),

	nsFamily("tunnel_rx_bytes_total", counterType, "Bytes the tunnel's inbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelCounter(func(t *explain.TunnelStatus) uint64 { return t.In.Bytes }), tunnelLabels...),
	nsFamily("tunnel_tx_bytes_total", counterType, "Bytes the tunnel's outbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelCounter(func(t *explain.TunnelStatus) uint64 { return t.Out.Bytes }), tunnelLabels...),
	nsFamily("tunnel_rx_packets_total", counterType, "Packets the tunnel's inbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelCounter(func(t *explain.TunnelStatus) uint64 { return t.In.Packets }), tunnelLabels...),
	nsFamily("tunnel_tx_packets_total", counterType, "Packets the tunnel's outbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelCounter(func(t *explain.TunnelStatus) uint64 { return t.Out.Packets }), tunnelLabels...),
	nsFamily("tunnel_last_rx_timestamp_seconds", gaugeType, "When an inbound SA of the tunnel last carried a packet, as a Unix time; absent until one has been seen to.", tunnelTime(func(t *explain.TunnelStatus) time.Time { return t.In.Last }), tunnelLabels...),
	nsFamily("tunnel_last_tx_timestamp_seconds", gaugeType, "When an outbound SA of the tunnel last carried a packet, as a Unix time; absent until one has been seen to.", tunnelTime(func(t *explain.TunnelStatus) time.Time { return t.Out.Last }), tunnelLabels...),
	nsFamily("sa_hard_expiry_timestamp_seconds", gaugeType, "When the tunnel's newest SA of this direction reaches its hard time limit and is deleted, as a Unix time; absent when it has none.", saDirGauge(func(sa *explain.SAHealth) (float64, bool) { return unixSeconds(sa.HardExpiry), !sa.HardExpiry.IsZero() }), saDirLabels...),
	nsFamily("sa_seq_headroom", gaugeType, "Sequence numbers the tunnel's newest outbound SA can still use before it can send no more (2^32-1 without ESN, 2^64-1 with, less those used).", saDirGauge(func(sa *explain.SAHealth) (float64, bool) { return float64(sa.SeqHeadroom), sa.HasSeq }), saDirLabels...),

	// The /proc/net/dev sum columns, for links read from that file
	// (rtnetlink refused): their parts cannot be told apart there.
	nsFamily("link_procfs_tx_carrier_column_total", counterType, "/proc/net/dev's carrier column (tx_carrier + tx_aborted + tx_window + tx_heartbeat errors), for links read from that file because rtnetlink was refused.", procColumn(func(s *explain.Stats64) uint64 { return s.TxCarrierErrors }), "interface"),
	nsFamily("link_procfs_rx_drop_column_total", counterType, "/proc/net/dev's receive drop column (rx_dropped + rx_missed_errors), for links read from that file.", procColumn(func(s *explain.Stats64) uint64 { return s.RxDropped }), "interface"),
	nsFamily("link_procfs_rx_frame_column_total", counterType, "/proc/net/dev's receive frame column (rx_length + rx_over + rx_crc + rx_frame errors), for links read from that file.", procColumn(func(s *explain.Stats64) uint64 { return s.RxFrameErrors }), "interface"),
}

// The rtnl_link_stats64 fields, each its own family, so that a VTI's
// lookup failures (tx_carrier_errors) are never summed with its output
// failures (tx_aborted_errors). procSum: /proc/net/dev prints the field
// inside a sum (or a /proc/net/dev reading holds the sum in it): not
// written for such readings.
var _ = func() []*family {
	f := func(name, help string, v func(*explain.Stats64) uint64, procSum bool) *family {
		return nsFamily("link_"+name+"_total", counterType, help, linkCounter(v, procSum), "interface")
	}
	return []*family{
		f("rx_packets", "rtnl_link_stats64 rx_packets.", func(s *explain.Stats64) uint64 { return s.RxPackets }, false),
		f("tx_packets", "rtnl_link_stats64 tx_packets.", func(s *explain.Stats64) uint64 { return s.TxPackets }, false),
		f("rx_bytes", "rtnl_link_stats64 rx_bytes.", func(s *explain.Stats64) uint64 { return s.RxBytes }, false),
		f("tx_bytes", "rtnl_link_stats64 tx_bytes.", func(s *explain.Stats64) uint64 { return s.TxBytes }, false),
		f("rx_errors", "rtnl_link_stats64 rx_errors: on a VTI, packets IPsec input dropped after they matched the tunnel.", func(s *explain.Stats64) uint64 { return s.RxErrors }, false),
		f("tx_errors", "rtnl_link_stats64 tx_errors: every packet the tunnel failed to send.", func(s *explain.Stats64) uint64 { return s.TxErrors }, false),
		f("rx_dropped", "rtnl_link_stats64 rx_dropped.", func(s *explain.Stats64) uint64 { return s.RxDropped }, true),
		f("tx_dropped", "rtnl_link_stats64 tx_dropped.", func(s *explain.Stats64) uint64 { return s.TxDropped }, false),
		f("multicast", "rtnl_link_stats64 multicast.", func(s *explain.Stats64) uint64 { return s.Multicast }, false),
		f("collisions", "rtnl_link_stats64 collisions: on a tunnel, a routing loop back into it.", func(s *explain.Stats64) uint64 { return s.Collisions }, false),
		f("rx_length_errors", "rtnl_link_stats64 rx_length_errors.", func(s *explain.Stats64) uint64 { return s.RxLengthErrors }, true),
		f("rx_over_errors", "rtnl_link_stats64 rx_over_errors.", func(s *explain.Stats64) uint64 { return s.RxOverErrors }, true),
		f("rx_crc_errors", "rtnl_link_stats64 rx_crc_errors: on GRE, checksum mismatches.", func(s *explain.Stats64) uint64 { return s.RxCRCErrors }, true),
		f("rx_frame_errors", "rtnl_link_stats64 rx_frame_errors: on tunnels, ECN decapsulation errors.", func(s *explain.Stats64) uint64 { return s.RxFrameErrors }, true),
		f("rx_fifo_errors", "rtnl_link_stats64 rx_fifo_errors: on GRE, missing or old sequence numbers.", func(s *explain.Stats64) uint64 { return s.RxFIFOErrors }, false),
		f("rx_missed_errors", "rtnl_link_stats64 rx_missed_errors.", func(s *explain.Stats64) uint64 { return s.RxMissedErrors }, true),
		f("tx_aborted_errors", "rtnl_link_stats64 tx_aborted_errors: on a VTI, IPsec output failed after the lookup.", func(s *explain.Stats64) uint64 { return s.TxAbortedErrors }, true),
		f("tx_carrier_errors", "rtnl_link_stats64 tx_carrier_errors: on a VTI, the route, policy or SA lookup failed; on GRE/IPIP, no route to the peer.", func(s *explain.Stats64) uint64 { return s.TxCarrierErrors }, true),
		f("tx_fifo_errors", "rtnl_link_stats64 tx_fifo_errors: on NBMA tunnels, no destination.", func(s *explain.Stats64) uint64 { return s.TxFIFOErrors }, false),
		f("tx_heartbeat_errors", "rtnl_link_stats64 tx_heartbeat_errors.", func(s *explain.Stats64) uint64 { return s.TxHeartbeatErrors }, true),
		f("tx_window_errors", "rtnl_link_stats64 tx_window_errors.", func(s *explain.Stats64) uint64 { return s.TxWindowErrors }, true),
		f("rx_compressed", "rtnl_link_stats64 rx_compressed.", func(s *explain.Stats64) uint64 { return s.RxCompressed }, false),
		f("tx_compressed", "rtnl_link_stats64 tx_compressed.", func(s *explain.Stats64) uint64 { return s.TxCompressed }, false),
		f("rx_nohandler", "rtnl_link_stats64 rx_nohandler.", func(s *explain.Stats64) uint64 { return s.RxNoHandler }, false),
		f("rx_otherhost_dropped", "rtnl_link_stats64 rx_otherhost_dropped.", func(s *explain.Stats64) uint64 { return s.RxOtherhostDropped }, false),
	}
}()

// The label sets written by hand (appendLinkSet, appendLinkInfoSet,
// appendTunnelSet, appendSASet) follow these orders: the families' label
// names sorted, as every sample writes them.
func init() {
	for _, c := range []struct {
		f     *family
		order []string
	}{
		{famLinkUp, []string{"interface", "netns"}},
		{famLinkInfo, []string{"if_id", "ikey", "interface", "kind", "local", "netns", "okey", "remote"}},
		{famTunnelUp, []string{"interface", "kind", "netns", "peer", "reqid"}},
		{famSASoft, []string{"dir", "interface", "kind", "netns", "peer", "reqid"}},
		{famRisk, []string{"cause", "interface", "kind", "netns", "peer", "public_key", "reqid"}},
		{famPeerUp, []string{"interface", "netns", "public_key"}},
		{famPeerHandshake, []string{"interface", "netns", "public_key"}},
		{famPeerRx, []string{"interface", "netns", "public_key"}},
		{famPeerTx, []string{"interface", "netns", "public_key"}},
		{famSABytes, []string{"dst", "if_id", "mark", "mode", "netns", "proto", "reqid", "spi", "src"}},
	} {
		if !slices.Equal(c.f.sorted, c.order) {
			panic("exporter: " + c.f.name + "'s labels are no longer written in the order of their names")
		}
	}
}

// eventTypes are xfrm_events_total's types, every one written from 0.
var eventTypes = explain.EventTypes()

// nsWriter renders one namespace's series into bytes, family by family:
// the agent keeps one per namespace, and calls render once per poll.
// Between polls it keeps the latest full reading's link metadata (base)
// and its scratch storage; nothing it keeps points into the monitor's
// storage once render has returned.
type nsWriter struct {
	saMetrics bool
	base      base

	// This poll's input, for the emit functions; the reading and health
	// are nil when the poll failed.
	label   string // the netns label, and escaped as a label value
	netns   []byte
	reading *explain.Reading
	health  *explain.Health
	total   *explain.Tally
	// wgUnread: the poll could not read the peers of a wireguard link.
	wgUnread bool

	buf []byte // the samples being written
	tmp []byte // a label set being written

	// The entities the families iterate, each with its label set in
	// sets (link, tunnel and SA sets: [from, to) offsets).
	sets    []byte
	links   []linkView
	tunnels []tunnelView
	risks   []span
	sas     []saView
	peers   []peerView

	seenTunnels map[explain.TunnelID]struct{}
	seenPeers   map[explain.TunnelID]struct{}
	seenRisks   map[riskKey]struct{}
	seenSAs     map[saKey]struct{}

	size int // the previous rendering's size, to size the next

	// last is the previous rendering, and lastRisks the risks it was
	// rendered with (tunnel and cause, in order): an Unchanged interval
	// with the same risks renders to the same bytes (see render).
	last      *nsSamples
	lastRisks []riskKey
	reused    uint64 // renderings skipped so (tests count them)
	// in is what the last rendering read, for an interval in which
	// something moved that no series shows (traffic on a link that is not
	// a tunnel: a management interface, the loopback): see sameInputs.
	in renderInputs
}

// renderInputs is everything a rendering reads that a poll can change
// (the rest comes with a full reading, which always renders): the tunnel
// links, the MIB, the SAs (how many, whether read), the policies (per
// direction and socket), the health and the totals. Health and Total are
// the caller's and never modified once delivered: they are kept as they
// are; the links and the MIB are the monitor's, and are copied.
type renderInputs struct {
	links     []explain.LinkReading // the tunnel links, Tunnel and Dev copied
	tunnels   []explain.Tunnel
	devs      []procnet.DevStats
	mib       procnet.XfrmStat
	hasMIB    bool
	sas       int // -1: not read
	policies  [2][3]int
	hasPol    bool
	health    *explain.Health
	total     explain.Tally
	hasHealth bool
	wgUnread  bool // an Unread "wireguard"
}

// nsSamples are one namespace's rendered sample lines: family i's are
// buf[ends[i-1]:ends[i]] (from 0 for the first). label is the netns label
// they were rendered with. Never modified once made.
type nsSamples struct {
	label string
	buf   []byte
	ends  []int
}

// family returns the sample lines of family f.
func (s *nsSamples) family(f *family) []byte {
	if s == nil {
		return nil
	}
	start := 0
	if f.id > 0 {
		start = s.ends[f.id-1]
	}
	return s.buf[start:s.ends[f.id]]
}

// relabelled returns the samples with the netns label changed to label.
func (s *nsSamples) relabelled(label string) *nsSamples {
	buf, ends := relabel(s.buf, s.ends, s.label, label)
	return &nsSamples{label: label, buf: buf, ends: ends}
}

type span struct{ from, to int }

type linkView struct {
	l        *explain.LinkReading
	set      span // {interface="…",netns="…"}
	stats    explain.Stats64
	counters bool // stats holds the link's counters
	proc     bool // read from /proc/net/dev: stats holds its sums in the fields they are named after
	meta     linkMeta
	hasMeta  bool // the last full reading had the link
}

type tunnelView struct {
	t *explain.TunnelStatus
	// rest is the tunnel's label set without its opening brace:
	// interface="…",kind="…",netns="…",peer="…",reqid="…"}, so that
	// {dir="in", or {cause="…", may come before it.
	rest span
	// newest are the newest SA of each direction (explain.SADirIn,
	// SADirOut), nil if none.
	newest [3]*explain.SAHealth
}

type peerView struct {
	p   *explain.PeerStatus
	set span // {interface="…",netns="…",public_key="…"}
}

type riskKey struct {
	id    explain.TunnelID
	cause explain.CauseID
}

type saView struct {
	sa  *explain.SA
	set span
}

// saKey is what an SA's series are labelled by: the kernel keys SAs by
// these, and two SAs with the same would be one series twice.
type saKey struct {
	spi            uint32
	src, dst       netip.Addr
	proto          uint8
	reqid, ifID    uint32
	mode           explain.Mode
	mark, markMask uint32
	hasMark        bool
}

// base is what the latest full reading (monitor.Update.Snapshot) said
// that a poll's reading does not: the links' operational state and MTU,
// where the links were read from, the SPD and SAD info and the default
// policies. Those series are as of that reading.
type base struct {
	known     bool
	linksFrom string
	links     map[string]linkMeta // the tunnels, by name
	gen       uint64
	defaults  *xfrmstat.PolicyDefaults
	spd       *xfrmstat.SPDInfo
	sad       *xfrmstat.SADInfo
}

type linkMeta struct {
	index int32
	up    bool
	mtu   uint32
	proc  bool // its counters came from /proc/net/dev
	gen   uint64
}

// set takes what the full reading s says; nothing of s is kept but its
// link names.
func (b *base) set(s *monitor.Snapshot) {
	b.known = true
	b.linksFrom = s.LinksFrom
	b.gen++
	if b.links == nil {
		b.links = map[string]linkMeta{}
	}
	for i := range s.Links {
		l := &s.Links[i]
		if l.IsTunnel() {
			b.links[l.Name] = linkMeta{index: l.Index, up: l.OperState == "up", mtu: l.MTU, proc: l.StatsFrom == "proc/net/dev", gen: b.gen}
		}
	}
	maps.DeleteFunc(b.links, func(_ string, m linkMeta) bool { return m.gen != b.gen })
	b.defaults, b.spd, b.sad = clone(s.PolicyDefaults), clone(s.SPDInfo), clone(s.SADInfo)
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// link returns the last full reading's metadata of l.
func (b *base) link(l *explain.LinkReading) (linkMeta, bool) {
	m, ok := b.links[l.Name]
	if ok && m.index != 0 && l.Index != 0 && m.index != l.Index {
		return linkMeta{}, false // another link of that name since
	}
	return m, ok
}

// isTunnel reports whether a link is a tunnel, as monitor.Link.IsTunnel
// does.
func isTunnel(l *explain.LinkReading) bool {
	if l.Tunnel != nil || l.Kind == explain.KindWireGuard {
		return true
	}
	if l.Kind != "" {
		return false
	}
	return (&monitor.Link{Name: l.Name}).IsTunnel()
}

// render renders the namespace's series of one poll, labelled label: from
// u.Reading (the links' counters, the MIB, SAs, policies), u.Health,
// u.Total, and what the latest full reading (u.Snapshot when there is
// one, else the one kept) said of the rest. Call it from the monitor's
// callback: the result holds no pointer into u.
//
// An Unchanged interval (the monitor read the same links, counters, MIB,
// SAs and policies as in the previous one, and no event; Total is the
// same) whose risks are the previous interval's renders to the previous
// interval's bytes: those are returned, and nothing is formatted. The
// tunnels of Health are then the previous interval's too (a Tracker's
// tunnels depend on what it read, not when); risks, which time alone can
// bring or take away, are compared.
func (w *nsWriter) render(label string, u *monitor.Update) *nsSamples {
	if u.Err == nil && w.last != nil && w.last.label == label && w.sameRisks(u.Health) && w.samePeers(u.Health) &&
		(u.Unchanged || w.sameInputs(u)) {
		w.reused++
		if !u.Unchanged {
			w.in.health = u.Health // the same tunnels: the newer is kept
		}
		return w.last
	}
	w.last, w.lastRisks = nil, w.lastRisks[:0]
	if u.Err == nil && u.Snapshot != nil {
		w.base.set(u.Snapshot)
	}
	w.label = label
	w.netns = appendLabelValue(w.netns[:0], label)
	w.reading, w.health, w.total = nil, nil, &u.Total
	w.wgUnread = false
	if u.Err == nil {
		w.reading, w.health = u.Reading, u.Health
		w.wgUnread = wireGuardUnread(u.Unread)
	}
	w.prepare()

	w.buf = make([]byte, 0, w.size+w.size/16+1024)
	ends := make([]int, len(families))
	for _, f := range families {
		if f.emit != nil {
			f.emit(w, f)
		}
		ends[f.id] = len(w.buf)
	}
	out := &nsSamples{label: label, buf: w.buf, ends: ends}
	w.size = len(w.buf)
	if w.reading != nil {
		w.last = out
		w.keepInputs(u)
		if w.health != nil {
			for i := range w.health.Risks {
				r := &w.health.Risks[i]
				w.lastRisks = append(w.lastRisks, riskKey{r.Tunnel, r.Cause})
			}
		}
	}

	// Forget this poll's input: the monitor reuses its storage.
	w.buf, w.reading, w.health, w.total = nil, nil, nil, nil
	clear(w.links)
	clear(w.tunnels)
	clear(w.sas)
	clear(w.peers)
	return out
}

// wireGuardUnread reports whether un says the peers of a wireguard link
// could not be read.
func wireGuardUnread(un []monitor.Unread) bool {
	for i := range un {
		if un[i].Part == "wireguard" {
			return true
		}
	}
	return false
}

// samePeers reports whether h has the peers of the last rendering, in
// order, with the values their series show (up, last handshake, bytes):
// time alone can take a peer's session away, as it can bring a risk.
func (w *nsWriter) samePeers(h *explain.Health) bool {
	var a, b []explain.PeerStatus
	if h != nil {
		a = h.Peers
	}
	if w.in.health != nil {
		b = w.in.health.Peers
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.Up != y.Up || !x.LastHandshake.Equal(y.LastHandshake) || x.In.Bytes != y.In.Bytes || x.Out.Bytes != y.Out.Bytes {
			return false
		}
	}
	return true
}

// keepInputs records what this rendering read, for sameInputs.
func (w *nsWriter) keepInputs(u *monitor.Update) {
	in, r := &w.in, u.Reading
	in.links, in.tunnels, in.devs = in.links[:0], in.tunnels[:0], in.devs[:0]
	for i := range r.Links {
		if !isTunnel(&r.Links[i]) {
			continue
		}
		l := r.Links[i]
		if l.Tunnel != nil {
			in.tunnels = append(in.tunnels, *l.Tunnel)
		}
		if l.Dev != nil {
			in.devs = append(in.devs, *l.Dev)
		}
		l.Tunnel, l.Dev = nil, nil // compared through tunnels and devs, in order
		in.links = append(in.links, l)
	}
	in.hasMIB = r.MIB != nil
	if in.hasMIB {
		in.mib = *r.MIB
		in.mib.Other = slices.Clone(r.MIB.Other)
	}
	in.sas = -1
	if r.SAs != nil {
		in.sas = len(r.SAs)
	}
	in.hasPol = r.Policies != nil
	in.policies = policyCounts(r.Policies)
	in.health, in.hasHealth, in.total = u.Health, u.Health != nil, u.Total
	in.wgUnread = wireGuardUnread(u.Unread)
}

// sameInputs reports whether u has what the last rendering read, so that
// it would render to the same bytes: no full reading (which brings link
// states, SPD and SAD info), no SA series (--sa-metrics: per-SA counters),
// the same tunnel links with the same counters, MIB, number of SAs,
// policies per direction, totals and tunnels (risks are compared apart).
func (w *nsWriter) sameInputs(u *monitor.Update) bool {
	in, r := &w.in, u.Reading
	if u.Snapshot != nil || r == nil || w.saMetrics || (u.Health != nil) != in.hasHealth {
		return false
	}
	k, nt, nd := 0, 0, 0
	for i := range r.Links {
		l := &r.Links[i]
		if !isTunnel(l) {
			continue
		}
		if k == len(in.links) {
			return false
		}
		p := &in.links[k]
		k++
		if l.Name != p.Name || l.Index != p.Index || l.Kind != p.Kind || l.Source != p.Source || l.Stats != p.Stats || l.CrossNetns != p.CrossNetns {
			return false
		}
		if l.Tunnel != nil {
			if nt == len(in.tunnels) || *l.Tunnel != in.tunnels[nt] {
				return false
			}
			nt++
		}
		if l.Dev != nil {
			if nd == len(in.devs) || *l.Dev != in.devs[nd] {
				return false
			}
			nd++
		}
	}
	if k != len(in.links) || nt != len(in.tunnels) || nd != len(in.devs) {
		return false
	}
	if (r.MIB != nil) != in.hasMIB || r.MIB != nil && !sameMIB(r.MIB, &in.mib) {
		return false
	}
	sas := -1
	if r.SAs != nil {
		sas = len(r.SAs)
	}
	if sas != in.sas || (r.Policies != nil) != in.hasPol || policyCounts(r.Policies) != in.policies {
		return false
	}
	if !sameTally(&u.Total, &in.total) || wireGuardUnread(u.Unread) != in.wgUnread {
		return false
	}
	return u.Health == nil || sameTunnels(u.Health.Tunnels, in.health.Tunnels)
}

// sameMIB reports whether two readings of the MIB have the same counters.
func sameMIB(a, b *procnet.XfrmStat) bool {
	n := 0
	for name, v := range a.All() {
		if x, ok := b.Counter(name); !ok || x != v {
			return false
		}
		n++
	}
	for range b.All() {
		n--
	}
	return n == 0
}

func sameTally(a, b *explain.Tally) bool {
	return maps.Equal(a.Events, b.Events) && maps.Equal(a.Candidates, b.Candidates) && maps.Equal(a.XfrmEvents, b.XfrmEvents)
}

// sameTunnels reports whether two tunnel lists are equal, field by field
// (the SAs' marks by value).
func sameTunnels(a, b []explain.TunnelStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.Local != y.Local || x.State != y.State || x.In != y.In || x.Out != y.Out || len(x.SAs) != len(y.SAs) {
			return false
		}
		for j := range x.SAs {
			s, t := x.SAs[j], y.SAs[j]
			if (s.SA.Mark == nil) != (t.SA.Mark == nil) || s.SA.Mark != nil && *s.SA.Mark != *t.SA.Mark {
				return false
			}
			s.SA.Mark, t.SA.Mark = nil, nil
			if s != t {
				return false
			}
		}
	}
	return true
}

// sameRisks reports whether h has the risks (tunnel and cause, in order)
// of the last rendering.
func (w *nsWriter) sameRisks(h *explain.Health) bool {
	if h == nil {
		return len(w.lastRisks) == 0
	}
	if len(h.Risks) != len(w.lastRisks) {
		return false
	}
	for i := range h.Risks {
		if r := &h.Risks[i]; w.lastRisks[i] != (riskKey{r.Tunnel, r.Cause}) {
			return false
		}
	}
	return true
}

// prepare lists the entities the families iterate, with their label sets.
func (w *nsWriter) prepare() {
	w.sets = w.sets[:0]
	w.links, w.tunnels, w.risks, w.sas, w.peers = w.links[:0], w.tunnels[:0], w.risks[:0], w.sas[:0], w.peers[:0]
	if r := w.reading; r != nil {
		for i := range r.Links {
			l := &r.Links[i]
			if !isTunnel(l) {
				continue
			}
			v := linkView{l: l}
			v.meta, v.hasMeta = w.base.link(l)
			switch l.Source {
			case explain.SourceStats64, explain.SourceStats32:
				v.stats, v.counters = l.Stats, true
			case explain.SourceProcNetDev:
				if l.Dev != nil {
					v.stats, v.counters = devStats(l.Dev), true
				}
			}
			v.proc = l.Source == explain.SourceProcNetDev || v.hasMeta && v.meta.proc
			from := len(w.sets)
			w.sets = w.appendLinkSet(w.sets, l.Name)
			v.set = span{from, len(w.sets)}
			w.links = append(w.links, v)
		}
		if w.saMetrics && r.SAs != nil {
			if w.seenSAs == nil {
				w.seenSAs = map[saKey]struct{}{}
			}
			clear(w.seenSAs)
			for i := range r.SAs {
				sa := &r.SAs[i]
				k := saKey{spi: sa.SPI, src: sa.Src, dst: sa.Dst, proto: sa.Proto, reqid: sa.ReqID, ifID: sa.IfID, mode: sa.Mode}
				if m := sa.Mark; m != nil {
					k.mark, k.markMask, k.hasMark = m.Value, m.Mask, true
				}
				if _, dup := w.seenSAs[k]; dup {
					continue // the kernel keys SAs by these; a duplicate would be one series twice
				}
				w.seenSAs[k] = struct{}{}
				from := len(w.sets)
				w.sets = w.appendSASet(w.sets, sa)
				w.sas = append(w.sas, saView{sa: sa, set: span{from, len(w.sets)}})
			}
		}
	}
	if h := w.health; h != nil {
		if w.seenTunnels == nil {
			w.seenTunnels, w.seenRisks = map[explain.TunnelID]struct{}{}, map[riskKey]struct{}{}
		}
		clear(w.seenTunnels)
		for i := range h.Tunnels {
			t := &h.Tunnels[i]
			if _, dup := w.seenTunnels[t.ID]; dup {
				continue // a Tracker has one status per tunnel; a duplicate would be one series twice
			}
			w.seenTunnels[t.ID] = struct{}{}
			from := len(w.sets)
			w.sets = w.appendTunnelRest(w.sets, t.ID)
			v := tunnelView{t: t, rest: span{from, len(w.sets)}}
			for _, dir := range []explain.SADir{explain.SADirIn, explain.SADirOut} {
				v.newest[dir] = newestSA(t.SAs, dir)
			}
			w.tunnels = append(w.tunnels, v)
		}
		clear(w.seenRisks)
		for i := range h.Risks {
			r := &h.Risks[i]
			k := riskKey{r.Tunnel, r.Cause}
			if _, dup := w.seenRisks[k]; dup {
				continue // several SAs of the tunnel at risk of one cause: one series
			}
			w.seenRisks[k] = struct{}{}
			from := len(w.sets)
			w.sets = append(w.sets, `{cause="`...)
			w.sets = appendLabelValue(w.sets, string(r.Cause))
			w.sets = append(w.sets, `",`...)
			w.sets = w.appendRiskRest(w.sets, r.Tunnel)
			w.risks = append(w.risks, span{from, len(w.sets)})
		}
		if w.seenPeers == nil {
			w.seenPeers = map[explain.TunnelID]struct{}{}
		}
		clear(w.seenPeers)
		for i := range h.Peers {
			p := &h.Peers[i]
			if _, dup := w.seenPeers[p.ID]; dup {
				continue // a Tracker has one status per peer; a duplicate would be one series twice
			}
			w.seenPeers[p.ID] = struct{}{}
			from := len(w.sets)
			w.sets = append(w.sets, `{interface="`...)
			w.sets = appendLabelValue(w.sets, p.ID.Interface)
			w.sets = append(w.sets, `",netns="`...)
			w.sets = append(w.sets, w.netns...)
			w.sets = append(w.sets, `",public_key="`...)
			w.sets = appendLabelValue(w.sets, p.ID.PublicKey)
			w.sets = append(w.sets, `"}`...)
			w.peers = append(w.peers, peerView{p: p, set: span{from, len(w.sets)}})
		}
	}
}

// devStats are a /proc/net/dev line's counters with each sum in the field
// it is named after, as vtistat's fallback and monitor.Snapshot store them.
func devStats(d *procnet.DevStats) explain.Stats64 {
	return explain.Stats64{
		RxBytes: d.RxBytes, RxPackets: d.RxPackets, RxErrors: d.RxErrors,
		RxDropped: uint64(d.RxDropSum), RxFIFOErrors: d.RxFIFOErrors, RxFrameErrors: uint64(d.RxFrameSum),
		RxCompressed: d.RxCompressed, Multicast: d.RxMulticast,
		TxBytes: d.TxBytes, TxPackets: d.TxPackets, TxErrors: d.TxErrors, TxDropped: d.TxDropped,
		TxFIFOErrors: d.TxFIFOErrors, Collisions: d.Collisions, TxCarrierErrors: uint64(d.TxCarrierSum),
		TxCompressed: d.TxCompressed,
	}
}

// appendLinkSet appends a link's label set: {interface="…",netns="…"}.
func (w *nsWriter) appendLinkSet(dst []byte, name string) []byte {
	dst = append(dst, `{interface="`...)
	dst = appendLabelValue(dst, name)
	dst = append(dst, `",netns="`...)
	dst = append(dst, w.netns...)
	return append(dst, `"}`...)
}

// appendTunnelRest appends a tunnel's label set without its opening
// brace: interface="…",kind="…",netns="…",peer="…",reqid="…"}.
func (w *nsWriter) appendTunnelRest(dst []byte, id explain.TunnelID) []byte {
	dst = append(dst, `interface="`...)
	dst = appendLabelValue(dst, id.Interface)
	dst = append(dst, `",kind="`...)
	dst = appendLabelValue(dst, id.Kind)
	dst = append(dst, `",netns="`...)
	dst = append(dst, w.netns...)
	dst = append(dst, `",peer="`...)
	dst = appendAddr(dst, id.Peer)
	dst = append(dst, `",reqid="`...)
	dst = strconv.AppendUint(dst, uint64(id.ReqID), 10)
	return append(dst, `"}`...)
}

// appendRiskRest appends a risk's tunnel labels without the opening
// brace: interface="…",kind="…",netns="…",peer="…",public_key="…",reqid="…"}
// (public_key "" but for a WireGuard peer).
func (w *nsWriter) appendRiskRest(dst []byte, id explain.TunnelID) []byte {
	dst = append(dst, `interface="`...)
	dst = appendLabelValue(dst, id.Interface)
	dst = append(dst, `",kind="`...)
	dst = appendLabelValue(dst, id.Kind)
	dst = append(dst, `",netns="`...)
	dst = append(dst, w.netns...)
	dst = append(dst, `",peer="`...)
	dst = appendAddr(dst, id.Peer)
	dst = append(dst, `",public_key="`...)
	dst = appendLabelValue(dst, id.PublicKey)
	dst = append(dst, `",reqid="`...)
	dst = strconv.AppendUint(dst, uint64(id.ReqID), 10)
	return append(dst, `"}`...)
}

// appendSASet appends an SA's label set: never anything of its keys.
// {dst,if_id,mark,mode,netns,proto,reqid,spi,src}; the mark is
// "0xVALUE/0xMASK", "" without one.
func (w *nsWriter) appendSASet(dst []byte, sa *explain.SA) []byte {
	dst = append(dst, `{dst="`...)
	dst = appendAddr(dst, sa.Dst)
	dst = append(dst, `",if_id="`...)
	dst = strconv.AppendUint(dst, uint64(sa.IfID), 10)
	dst = append(dst, `",mark="`...)
	if m := sa.Mark; m != nil {
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, uint64(m.Value), 16)
		dst = append(dst, "/0x"...)
		dst = strconv.AppendUint(dst, uint64(m.Mask), 16)
	}
	dst = append(dst, `",mode="`...)
	dst = appendLabelValue(dst, xfrmstat.Mode(sa.Mode).String())
	dst = append(dst, `",netns="`...)
	dst = append(dst, w.netns...)
	dst = append(dst, `",proto="`...)
	dst = append(dst, protoName(sa.Proto)...)
	dst = append(dst, `",reqid="`...)
	dst = strconv.AppendUint(dst, uint64(sa.ReqID), 10)
	dst = append(dst, `",spi="0x`...)
	const hex = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hex[sa.SPI>>shift&0xf])
	}
	dst = append(dst, `",src="`...)
	dst = appendAddr(dst, sa.Src)
	return append(dst, `"}`...)
}

// appendAddr appends an address as a label value; "" for an invalid one.
func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return dst
	}
	if a.Zone() != "" {
		return appendLabelValue(dst, a.String())
	}
	return a.AppendTo(dst)
}

// The sample writers: a family's name, a label set, the value.

func (w *nsWriter) set(s span) []byte { return w.sets[s.from:s.to] }

// counter writes a counter sample: its value an exact integer.
func (w *nsWriter) counter(f *family, set []byte, v uint64) {
	w.buf = append(w.buf, f.name...)
	w.buf = append(w.buf, set...)
	w.buf = append(w.buf, ' ')
	w.buf = strconv.AppendUint(w.buf, v, 10)
	w.buf = append(w.buf, '\n')
}

// gauge writes a gauge sample.
func (w *nsWriter) gauge(f *family, set []byte, v float64) {
	w.buf = append(w.buf, f.name...)
	w.buf = append(w.buf, set...)
	w.buf = append(w.buf, ' ')
	w.buf = appendFloat(w.buf, v)
	w.buf = append(w.buf, '\n')
}

// tunnelGauge writes a gauge sample of a tunnel, with first (`dir="in",`
// or none) before the tunnel's labels.
func (w *nsWriter) tunnelGauge(f *family, first string, t *tunnelView, v float64) {
	w.buf = append(w.buf, f.name...)
	w.buf = append(w.buf, '{')
	w.buf = append(w.buf, first...)
	w.buf = append(w.buf, w.set(t.rest)...)
	w.buf = append(w.buf, ' ')
	w.buf = appendFloat(w.buf, v)
	w.buf = append(w.buf, '\n')
}

// labels returns a label set of f (netns first, then the family's other
// labels' values), in scratch storage valid until the next call.
func (w *nsWriter) labels(f *family, values ...string) []byte {
	var all [4]string
	all[0] = w.label
	n := copy(all[1:], values)
	w.tmp = appendLabels(w.tmp[:0], f, all[:1+n]...)
	return w.tmp
}

// The emit functions: each writes one family's samples of the namespace.

func emitReadable(w *nsWriter, f *family) {
	r, b := w.reading, &w.base
	if r == nil {
		return
	}
	for _, part := range []struct {
		name string
		read bool
	}{
		{"links", b.linksFrom != ""},
		{"links_rtnetlink", b.linksFrom == "rtnetlink"},
		{"xfrm_stat", r.MIB != nil},
		{"sas", r.SAs != nil},
		{"policies", r.Policies != nil},
		{"policy_defaults", b.defaults != nil},
		{"spd_info", b.spd != nil},
		{"sad_info", b.sad != nil},
		{"wireguard", !w.wgUnread},
	} {
		w.gauge(f, w.labels(f, part.name), b2f(part.read))
	}
}

func emitLinkInfo(w *nsWriter, f *family) {
	for i := range w.links {
		l := w.links[i].l
		// {if_id,ikey,interface,kind,local,netns,okey,remote}: the
		// parameters as the last full dump of the links read them.
		b := append(w.tmp[:0], `{if_id="`...)
		if t := l.Tunnel; t != nil {
			b = strconv.AppendUint(b, uint64(t.IfID), 10)
		}
		b = append(b, `",ikey="`...)
		if t := l.Tunnel; t != nil {
			b = strconv.AppendUint(b, uint64(t.IKey), 10)
		}
		b = append(b, `",interface="`...)
		b = appendLabelValue(b, l.Name)
		b = append(b, `",kind="`...)
		b = appendLabelValue(b, l.Kind)
		b = append(b, `",local="`...)
		if t := l.Tunnel; t != nil {
			b = appendAddr(b, t.Local)
		}
		b = append(b, `",netns="`...)
		b = append(b, w.netns...)
		b = append(b, `",okey="`...)
		if t := l.Tunnel; t != nil {
			b = strconv.AppendUint(b, uint64(t.OKey), 10)
		}
		b = append(b, `",remote="`...)
		if t := l.Tunnel; t != nil {
			b = appendAddr(b, t.Remote)
		}
		w.tmp = append(b, `"}`...)
		w.gauge(f, w.tmp, 1)
	}
}

// hasState: the link's operational state and MTU are known (the last full
// reading had it, and not from /proc/net/dev, which has neither).
func (v *linkView) hasState() bool { return v.hasMeta && !v.proc }

func emitLinkUp(w *nsWriter, f *family) {
	for i := range w.links {
		if v := &w.links[i]; v.hasState() {
			w.gauge(f, w.set(v.set), b2f(v.meta.up))
		}
	}
}

func emitLinkMTU(w *nsWriter, f *family) {
	for i := range w.links {
		if v := &w.links[i]; v.hasState() {
			w.gauge(f, w.set(v.set), float64(v.meta.mtu))
		}
	}
}

// linkCounter emits one rtnl_link_stats64 field of every tunnel link with
// counters; procSum: not for links read from /proc/net/dev.
func linkCounter(value func(*explain.Stats64) uint64, procSum bool) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.links {
			if v := &w.links[i]; v.counters && !(procSum && v.proc) {
				w.counter(f, w.set(v.set), value(&v.stats))
			}
		}
	}
}

// procColumn emits one /proc/net/dev sum column of every tunnel link read
// from that file.
func procColumn(value func(*explain.Stats64) uint64) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.links {
			if v := &w.links[i]; v.counters && v.proc {
				w.counter(f, w.set(v.set), value(&v.stats))
			}
		}
	}
}

func emitMIB(w *nsWriter, f *family) {
	if w.reading == nil || w.reading.MIB == nil {
		return
	}
	for name, v := range w.reading.MIB.All() {
		w.counter(f, w.labels(f, name), v)
	}
}

func emitSAs(w *nsWriter, f *family) {
	if w.reading != nil && w.reading.SAs != nil {
		w.gauge(f, w.labels(f), float64(len(w.reading.SAs)))
	}
}

func sadGauge(value func(*xfrmstat.SADInfo) uint32) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		if w.reading != nil && w.base.sad != nil {
			w.gauge(f, w.labels(f), float64(value(w.base.sad)))
		}
	}
}

func spdGauge(value func(*xfrmstat.SPDInfo) uint64) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		if w.reading != nil && w.base.spd != nil {
			w.gauge(f, w.labels(f), float64(value(w.base.spd)))
		}
	}
}

func emitPolicies(w *nsWriter, f *family) {
	if w.reading == nil || w.reading.Policies == nil {
		return
	}
	n := policyCounts(w.reading.Policies)
	for s, sock := range []string{"false", "true"} {
		for d, dir := range []string{"in", "out", "fwd"} {
			w.gauge(f, w.labels(f, dir, sock), float64(n[s][d]))
		}
	}
}

// policyCounts counts policies by socket or not ([0] main, [1] socket
// policies) and direction (in, out, fwd).
func policyCounts(pols []explain.Policy) [2][3]int {
	var n [2][3]int
	for i := range pols {
		switch d := xfrmstat.Dir(pols[i].Dir); d {
		case xfrmstat.DirIn, xfrmstat.DirOut, xfrmstat.DirFwd:
			n[0][d]++
		case xfrmstat.DirSocketIn:
			n[1][0]++
		case xfrmstat.DirSocketOut:
			n[1][1]++
		}
	}
	return n
}

func emitSPDPolicies(w *nsWriter, f *family) {
	i := w.base.spd
	if w.reading == nil || i == nil {
		return
	}
	for _, c := range []struct {
		dir, sock string
		v         uint32
	}{{"in", "false", i.In}, {"out", "false", i.Out}, {"fwd", "false", i.Fwd}, {"in", "true", i.SocketIn}, {"out", "true", i.SocketOut}, {"fwd", "true", i.SocketFwd}} {
		w.gauge(f, w.labels(f, c.dir, c.sock), float64(c.v))
	}
}

func emitPolicyDefaults(w *nsWriter, f *family) {
	d := w.base.defaults
	if w.reading == nil || d == nil {
		return
	}
	w.gauge(f, w.labels(f, "in"), b2f(d.In == xfrmstat.DefaultBlock))
	w.gauge(f, w.labels(f, "out"), b2f(d.Out == xfrmstat.DefaultBlock))
	w.gauge(f, w.labels(f, "fwd"), b2f(d.Fwd == xfrmstat.DefaultBlock))
}

// saCounter and saGauge emit a per-SA series (--sa-metrics) of every SA
// read this interval.
func saCounter(value func(*explain.SA) uint64) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.sas {
			w.counter(f, w.set(w.sas[i].set), value(w.sas[i].sa))
		}
	}
}

func saGauge(value func(*explain.SA) (float64, bool)) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.sas {
			if v, ok := value(w.sas[i].sa); ok {
				w.gauge(f, w.set(w.sas[i].set), v)
			}
		}
	}
}

// tallyCounter emits a namespace's cumulative counts by interface and
// cause, as explain.Tally counts them.
func tallyCounter(counts func(*explain.Tally) map[explain.TallyKey]uint64) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		m := counts(w.total)
		for _, k := range slices.SortedFunc(maps.Keys(m), explain.TallyKey.Compare) {
			w.counter(f, w.labels(f, k.Interface, string(k.Cause)), m[k])
		}
	}
}

// emitXfrmEvents emits the XFRM events by type, every type from 0 so that
// rate() sees the first one.
func emitXfrmEvents(w *nsWriter, f *family) {
	for _, typ := range eventTypes {
		w.counter(f, w.labels(f, typ.String()), w.total.XfrmEvents[typ])
	}
}

// The per-tunnel series: labels that do not change when a tunnel's SAs are
// rekeyed (never an SPI), so that a tunnel is one set of series for as long
// as it exists.

func emitTunnelUp(w *nsWriter, f *family) {
	for i := range w.tunnels {
		t := &w.tunnels[i]
		w.tunnelGauge(f, "", t, b2f(t.t.State == explain.TunnelUp))
	}
}

func tunnelCounter(value func(*explain.TunnelStatus) uint64) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.tunnels {
			t := &w.tunnels[i]
			w.buf = append(w.buf, f.name...)
			w.buf = append(w.buf, '{')
			w.buf = append(w.buf, w.set(t.rest)...)
			w.buf = append(w.buf, ' ')
			w.buf = strconv.AppendUint(w.buf, value(t.t), 10)
			w.buf = append(w.buf, '\n')
		}
	}
}

// tunnelTime emits a timestamp of every tunnel that has it.
func tunnelTime(value func(*explain.TunnelStatus) time.Time) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.tunnels {
			t := &w.tunnels[i]
			if v := value(t.t); !v.IsZero() {
				w.tunnelGauge(f, "", t, unixSeconds(v))
			}
		}
	}
}

// saDirGauge emits a value of each tunnel's newest SA of each direction,
// when it has it.
func saDirGauge(value func(*explain.SAHealth) (float64, bool)) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.tunnels {
			t := &w.tunnels[i]
			for _, d := range []struct {
				dir   explain.SADir
				label string
			}{{explain.SADirIn, `dir="in",`}, {explain.SADirOut, `dir="out",`}} {
				if sa := t.newest[d.dir]; sa != nil {
					if v, ok := value(sa); ok {
						w.tunnelGauge(f, d.label, t, v)
					}
				}
			}
		}
	}
}

// The per-peer series (explain.Health.Peers).

func emitPeerUp(w *nsWriter, f *family) {
	for i := range w.peers {
		w.gauge(f, w.set(w.peers[i].set), b2f(w.peers[i].p.Up))
	}
}

func emitPeerHandshake(w *nsWriter, f *family) {
	for i := range w.peers {
		if hs := w.peers[i].p.LastHandshake; !hs.IsZero() {
			w.gauge(f, w.set(w.peers[i].set), unixSeconds(hs))
		}
	}
}

func peerCounter(value func(*explain.PeerStatus) uint64) func(*nsWriter, *family) {
	return func(w *nsWriter, f *family) {
		for i := range w.peers {
			w.counter(f, w.set(w.peers[i].set), value(w.peers[i].p))
		}
	}
}

func emitRisk(w *nsWriter, f *family) {
	for _, s := range w.risks {
		w.gauge(f, w.set(s), 1)
	}
}

// newestSA is the SA of the direction added last: the one the tunnel uses
// now (the old one lingers a while after a rekey). nil if there is none.
func newestSA(sas []explain.SAHealth, dir explain.SADir) *explain.SAHealth {
	var best *explain.SAHealth
	for i := range sas {
		if sa := &sas[i]; sa.Dir == dir && (best == nil || sa.Added.After(best.Added)) {
			best = sa
		}
	}
	return best
}

// unixSeconds is t as a Unix time in seconds, exact to the microsecond for
// any date (UnixNano overflows after 2262, and a "never" limit may be far).
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

func protoName(p uint8) string {
	switch p {
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 108:
		return "comp"
	}
	return strconv.Itoa(int(p))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
