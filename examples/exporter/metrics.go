package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

const ns = "tunnelstat"

// desc describes a metric of the exporter itself, with no netns label.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(ns+"_"+name, help, labels, nil)
}

// nsDesc describes a metric of a network namespace: its first label is
// netns (see netnsHelp).
func nsDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(ns+"_"+name, help, append([]string{"netns"}, labels...), nil)
}

var (
	descUp        = nsDesc("up", "1 if the namespace's last poll read its links, 0 if not (tunnelstat_read_error says why).")
	descReadError = nsDesc("read_error", "1 when the namespace's last poll failed, with why: netns_gone (the namespace's name or path no longer exists), timeout, permission or error (the exporter's log has the message).", "reason")
	descScrapes   = nsDesc("scrapes_total", "Polls of the namespace since the exporter began watching it (one per --interval; scrapes never read the namespace).")
	descFailures  = nsDesc("scrape_failures_total", "Polls of the namespace in which its links could not be read.")
	descDuration  = nsDesc("scrape_duration_seconds", "How long the namespace's last poll took.")
	descReadable  = nsDesc("part_readable", "1 if this part of the namespace was read in its last poll, 0 if not (XFRM netlink needs CAP_NET_ADMIN).", "part")

	// The exporter's own series: about the process, not a namespace, so
	// without the netns label.
	descRejected = desc("scrapes_rejected_total", "Scrapes turned away with 503 because --max-requests were being served, or no poll had ended yet; as of this response's rendering.")
	descSkipped  = desc("netns_discovery_skips_total", "With --netns all: namespaces a discovery pass could not take, by reason: gone (the process or name went away during the pass), permission, not_netns (a /run/netns entry that is no namespace, such as one being created), changed (the namespace at the path changed between two looks), error.", "reason")

	descLinkInfo = nsDesc("link_info", "A tunnel link and its parameters; always 1.", "interface", "kind", "local", "remote", "ikey", "okey", "if_id")
	descLinkUp   = nsDesc("link_up", "1 if the tunnel's operational state is up.", "interface")
	descLinkMTU  = nsDesc("link_mtu_bytes", "The tunnel's MTU.", "interface")

	descMIB = nsDesc("xfrm_mib_errors_total", "/proc/net/xfrm_stat: the namespace's XFRM error counters, every one the kernel prints, by kernel name.", "counter")

	descSAs           = nsDesc("xfrm_sas", "SAs in the SA dump (larval acquire states included).")
	descSADCount      = nsDesc("xfrm_sad_sas", "SAs the kernel counts in the SAD (XFRM_MSG_GETSADINFO).")
	descSADBuckets    = nsDesc("xfrm_sad_hash_buckets", "Buckets of each SAD hash table.")
	descSADMax        = nsDesc("xfrm_sad_hash_max_buckets", "The most buckets the SAD hash tables may grow to.")
	descPolicies      = nsDesc("xfrm_policies", "Policies in the policy dump, by direction (socket policies have socket=\"true\").", "dir", "socket")
	descSPDPolicies   = nsDesc("xfrm_spd_policies", "Policies the kernel counts per direction (XFRM_MSG_GETSPDINFO).", "dir", "socket")
	descSPDBuckets    = nsDesc("xfrm_spd_hash_buckets", "Buckets of the SPD by-index hash table.")
	descSPDMax        = nsDesc("xfrm_spd_hash_max_buckets", "The most buckets the SPD hash tables may grow to.")
	descPolicyDefault = nsDesc("xfrm_policy_default_block", "1 if packets matching no policy in this direction are dropped (default policy block), 0 if accepted.", "dir")

	saLabels        = []string{"spi", "src", "dst", "proto", "reqid", "mode", "mark", "if_id"}
	descSABytes     = nsDesc("xfrm_sa_bytes_total", "Bytes the SA has carried (lifetime current).", saLabels...)
	descSAPackets   = nsDesc("xfrm_sa_packets_total", "Packets the SA has carried (lifetime current).", saLabels...)
	descSAReplayWin = nsDesc("xfrm_sa_replay_window_errors_total", "Packets outside the SA's replay window.", saLabels...)
	descSAReplay    = nsDesc("xfrm_sa_replay_errors_total", "Replayed packets the SA dropped.", saLabels...)
	descSAIntegrity = nsDesc("xfrm_sa_integrity_failed_total", "Packets that failed the SA's integrity check (ICV).", saLabels...)
	descSASeq       = nsDesc("xfrm_sa_replay_seq", "Highest inbound sequence number the SA has seen (ESN: high and low halves).", saLabels...)
	descSAOSeq      = nsDesc("xfrm_sa_replay_oseq", "Last outbound sequence number the SA used (ESN: high and low halves).", saLabels...)
	descSAAdded     = nsDesc("xfrm_sa_add_time_seconds", "When the SA was added, as a Unix time.", saLabels...)
	descCauses      = nsDesc("cause_events_total", "Events explained since the exporter began watching the namespace, counted once each: by cause, or cause=\"unresolved\" when the counters leave it open between candidates. interface=\"\" is the namespace-wide count of its cause, which includes the tunnels' events of that cause.", "interface", "cause")
	descCandidates  = nsDesc("cause_candidate_events_total", "Unresolved events this cause may explain: an upper bound per cause; never sum across causes.", "interface", "cause")

	// Per tunnel (explain.Health): labels that stay when SAs are rekeyed,
	// never an SPI.
	tunnelLabels     = []string{"interface", "kind", "peer", "reqid"}
	descTunnelUp     = nsDesc("tunnel_up", "1 if the tunnel can carry traffic now (its outbound policy or interface, and an SA in each direction), 0 if not: no SA, no outbound policy, or its interface down.", tunnelLabels...)
	descTunnelRxB    = nsDesc("tunnel_rx_bytes_total", "Bytes the tunnel's inbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelLabels...)
	descTunnelTxB    = nsDesc("tunnel_tx_bytes_total", "Bytes the tunnel's outbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelLabels...)
	descTunnelRxP    = nsDesc("tunnel_rx_packets_total", "Packets the tunnel's inbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelLabels...)
	descTunnelTxP    = nsDesc("tunnel_tx_packets_total", "Packets the tunnel's outbound SAs carried since the exporter began watching it, kept across rekeys.", tunnelLabels...)
	descTunnelLastRx = nsDesc("tunnel_last_rx_timestamp_seconds", "When an inbound SA of the tunnel last carried a packet, as a Unix time; absent until one has been seen to.", tunnelLabels...)
	descTunnelLastTx = nsDesc("tunnel_last_tx_timestamp_seconds", "When an outbound SA of the tunnel last carried a packet, as a Unix time; absent until one has been seen to.", tunnelLabels...)
	descTunnelRisk   = nsDesc("tunnel_risk", "1 while a failure of this cause is ahead for the tunnel (explain.Risk: an SA near its hard limit, sequence numbers running out, traffic one way only ...); absent otherwise.", append(tunnelLabels[:len(tunnelLabels):len(tunnelLabels)], "cause")...)

	// Per tunnel and direction: the tunnel's newest SA of that direction.
	saDirLabels    = append(tunnelLabels[:len(tunnelLabels):len(tunnelLabels)], "dir")
	descSASoft     = nsDesc("sa_soft_expiry_timestamp_seconds", "When the tunnel's newest SA of this direction reaches its soft (rekey) time limit, as a Unix time; absent when it has none.", saDirLabels...)
	descSAHard     = nsDesc("sa_hard_expiry_timestamp_seconds", "When the tunnel's newest SA of this direction reaches its hard time limit and is deleted, as a Unix time; absent when it has none.", saDirLabels...)
	descSAHeadroom = nsDesc("sa_seq_headroom", "Sequence numbers the tunnel's newest outbound SA can still use before it can send no more (2^32-1 without ESN, 2^64-1 with, less those used).", saDirLabels...)

	descXfrmEvents = nsDesc("xfrm_events_total", "XFRM events received from the namespace's kernel since the exporter began watching it, by type (acquire, sa-soft-expire, sa-hard-expire, ..., events-lost); every type from 0.", "type")
)

// statsMetrics are the rtnl_link_stats64 fields, each its own metric, so
// that a VTI's lookup failures (tx_carrier_errors) are never summed with
// its output failures (tx_aborted_errors).
var statsMetrics = func() []struct {
	desc  *prometheus.Desc
	value func(*monitor.Stats) uint64
	// procSum: /proc/net/dev prints this field inside a sum (or it holds
	// the sum in a /proc/net/dev reading): skipped for such readings.
	procSum bool
} {
	type m = struct {
		desc    *prometheus.Desc
		value   func(*monitor.Stats) uint64
		procSum bool
	}
	f := func(name, help string, v func(*monitor.Stats) uint64, procSum bool) m {
		return m{nsDesc("link_"+name+"_total", help, "interface"), v, procSum}
	}
	return []m{
		f("rx_packets", "rtnl_link_stats64 rx_packets.", func(s *monitor.Stats) uint64 { return s.RxPackets }, false),
		f("tx_packets", "rtnl_link_stats64 tx_packets.", func(s *monitor.Stats) uint64 { return s.TxPackets }, false),
		f("rx_bytes", "rtnl_link_stats64 rx_bytes.", func(s *monitor.Stats) uint64 { return s.RxBytes }, false),
		f("tx_bytes", "rtnl_link_stats64 tx_bytes.", func(s *monitor.Stats) uint64 { return s.TxBytes }, false),
		f("rx_errors", "rtnl_link_stats64 rx_errors: on a VTI, packets IPsec input dropped after they matched the tunnel.", func(s *monitor.Stats) uint64 { return s.RxErrors }, false),
		f("tx_errors", "rtnl_link_stats64 tx_errors: every packet the tunnel failed to send.", func(s *monitor.Stats) uint64 { return s.TxErrors }, false),
		f("rx_dropped", "rtnl_link_stats64 rx_dropped.", func(s *monitor.Stats) uint64 { return s.RxDropped }, true),
		f("tx_dropped", "rtnl_link_stats64 tx_dropped.", func(s *monitor.Stats) uint64 { return s.TxDropped }, false),
		f("multicast", "rtnl_link_stats64 multicast.", func(s *monitor.Stats) uint64 { return s.Multicast }, false),
		f("collisions", "rtnl_link_stats64 collisions: on a tunnel, a routing loop back into it.", func(s *monitor.Stats) uint64 { return s.Collisions }, false),
		f("rx_length_errors", "rtnl_link_stats64 rx_length_errors.", func(s *monitor.Stats) uint64 { return s.RxLengthErrors }, true),
		f("rx_over_errors", "rtnl_link_stats64 rx_over_errors.", func(s *monitor.Stats) uint64 { return s.RxOverErrors }, true),
		f("rx_crc_errors", "rtnl_link_stats64 rx_crc_errors: on GRE, checksum mismatches.", func(s *monitor.Stats) uint64 { return s.RxCRCErrors }, true),
		f("rx_frame_errors", "rtnl_link_stats64 rx_frame_errors: on tunnels, ECN decapsulation errors.", func(s *monitor.Stats) uint64 { return s.RxFrameErrors }, true),
		f("rx_fifo_errors", "rtnl_link_stats64 rx_fifo_errors: on GRE, missing or old sequence numbers.", func(s *monitor.Stats) uint64 { return s.RxFIFOErrors }, false),
		f("rx_missed_errors", "rtnl_link_stats64 rx_missed_errors.", func(s *monitor.Stats) uint64 { return s.RxMissedErrors }, true),
		f("tx_aborted_errors", "rtnl_link_stats64 tx_aborted_errors: on a VTI, IPsec output failed after the lookup.", func(s *monitor.Stats) uint64 { return s.TxAbortedErrors }, true),
		f("tx_carrier_errors", "rtnl_link_stats64 tx_carrier_errors: on a VTI, the route, policy or SA lookup failed; on GRE/IPIP, no route to the peer.", func(s *monitor.Stats) uint64 { return s.TxCarrierErrors }, true),
		f("tx_fifo_errors", "rtnl_link_stats64 tx_fifo_errors: on NBMA tunnels, no destination.", func(s *monitor.Stats) uint64 { return s.TxFIFOErrors }, false),
		f("tx_heartbeat_errors", "rtnl_link_stats64 tx_heartbeat_errors.", func(s *monitor.Stats) uint64 { return s.TxHeartbeatErrors }, true),
		f("tx_window_errors", "rtnl_link_stats64 tx_window_errors.", func(s *monitor.Stats) uint64 { return s.TxWindowErrors }, true),
		f("rx_compressed", "rtnl_link_stats64 rx_compressed.", func(s *monitor.Stats) uint64 { return s.RxCompressed }, false),
		f("tx_compressed", "rtnl_link_stats64 tx_compressed.", func(s *monitor.Stats) uint64 { return s.TxCompressed }, false),
		f("rx_nohandler", "rtnl_link_stats64 rx_nohandler.", func(s *monitor.Stats) uint64 { return s.RxNoHandler }, false),
		f("rx_otherhost_dropped", "rtnl_link_stats64 rx_otherhost_dropped.", func(s *monitor.Stats) uint64 { return s.RxOtherhostDropped }, false),
	}
}()

// The /proc/net/dev sum columns, for links read from that file (rtnetlink
// refused): their parts cannot be told apart there.
var (
	descProcCarrier = nsDesc("link_procfs_tx_carrier_column_total", "/proc/net/dev's carrier column (tx_carrier + tx_aborted + tx_window + tx_heartbeat errors), for links read from that file because rtnetlink was refused.", "interface")
	descProcDrop    = nsDesc("link_procfs_rx_drop_column_total", "/proc/net/dev's receive drop column (rx_dropped + rx_missed_errors), for links read from that file.", "interface")
	descProcFrame   = nsDesc("link_procfs_rx_frame_column_total", "/proc/net/dev's receive frame column (rx_length + rx_over + rx_crc + rx_frame errors), for links read from that file.", "interface")
)

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// collectSnapshot sends the metrics of one namespace's reading, each with
// the namespace's label first; the per-SA series only when saMetrics.
func collectSnapshot(ch chan<- prometheus.Metric, netns string, snap *monitor.Snapshot, saMetrics bool) {
	for _, part := range []struct {
		name string
		read bool
	}{
		{"links", snap.LinksFrom != ""},
		{"links_rtnetlink", snap.LinksFrom == "rtnetlink"},
		{"xfrm_stat", snap.MIB != nil},
		{"sas", snap.SAs != nil},
		{"policies", snap.Policies != nil},
		{"policy_defaults", snap.PolicyDefaults != nil},
		{"spd_info", snap.SPDInfo != nil},
		{"sad_info", snap.SADInfo != nil},
	} {
		gauge(ch, descReadable, b2f(part.read), netns, part.name)
	}

	for _, l := range snap.Tunnels() {
		var local, remote, ikey, okey, ifid string
		if t := l.Tunnel; t != nil {
			local, remote = addrLabel(t.Local), addrLabel(t.Remote)
			ikey, okey, ifid = u32(t.IKey), u32(t.OKey), u32(t.IfID)
		}
		gauge(ch, descLinkInfo, 1, netns, l.Name, l.Kind, local, remote, ikey, okey, ifid)
		if l.StatsFrom != "proc/net/dev" {
			gauge(ch, descLinkUp, b2f(l.OperState == "up"), netns, l.Name)
			gauge(ch, descLinkMTU, float64(l.MTU), netns, l.Name)
		}
		if l.StatsFrom == "none" {
			continue
		}
		proc := l.StatsFrom == "proc/net/dev"
		for _, m := range statsMetrics {
			if proc && m.procSum {
				continue
			}
			counter(ch, m.desc, m.value(&l.Stats), netns, l.Name)
		}
		if proc {
			// vtistat's fallback stores each sum in the field it is named after.
			counter(ch, descProcCarrier, l.Stats.TxCarrierErrors, netns, l.Name)
			counter(ch, descProcDrop, l.Stats.RxDropped, netns, l.Name)
			counter(ch, descProcFrame, l.Stats.RxFrameErrors, netns, l.Name)
		}
	}

	if snap.MIB != nil {
		for name, v := range snap.MIB.All() {
			counter(ch, descMIB, v, netns, name)
		}
	}

	if snap.SAs != nil {
		gauge(ch, descSAs, float64(len(snap.SAs)), netns)
	}
	if snap.SAs != nil && saMetrics {
		seen := map[string]bool{}
		for i := range snap.SAs {
			sa := &snap.SAs[i]
			l := append([]string{netns}, saLabelValues(sa)...)
			key := fmt.Sprint(l)
			if seen[key] {
				continue // the kernel keys SAs by these; a duplicate would break the scrape
			}
			seen[key] = true
			counter(ch, descSABytes, sa.LifetimeCurrent.Bytes, l...)
			counter(ch, descSAPackets, sa.LifetimeCurrent.Packets, l...)
			counter(ch, descSAReplayWin, uint64(sa.Stats.ReplayWindow), l...)
			counter(ch, descSAReplay, uint64(sa.Stats.Replay), l...)
			counter(ch, descSAIntegrity, uint64(sa.Stats.IntegrityFailed), l...)
			if r := sa.Replay; r != nil {
				gauge(ch, descSASeq, float64(uint64(r.SeqHi)<<32|uint64(r.Seq)), l...)
				gauge(ch, descSAOSeq, float64(uint64(r.OSeqHi)<<32|uint64(r.OSeq)), l...)
			}
			if t := sa.LifetimeCurrent.AddTime; !t.IsZero() {
				gauge(ch, descSAAdded, unixSeconds(t), l...)
			}
		}
	}
	if snap.SADInfo != nil {
		gauge(ch, descSADCount, float64(snap.SADInfo.Count), netns)
		gauge(ch, descSADBuckets, float64(snap.SADInfo.HashBuckets), netns)
		gauge(ch, descSADMax, float64(snap.SADInfo.HashMaxBuckets), netns)
	}
	if snap.Policies != nil {
		var n [2][3]int
		for _, p := range snap.Policies {
			switch p.Dir {
			case xfrmstat.DirIn, xfrmstat.DirOut, xfrmstat.DirFwd:
				n[0][p.Dir]++
			case xfrmstat.DirSocketIn:
				n[1][0]++
			case xfrmstat.DirSocketOut:
				n[1][1]++
			}
		}
		for s, sock := range []string{"false", "true"} {
			for d, dir := range []string{"in", "out", "fwd"} {
				gauge(ch, descPolicies, float64(n[s][d]), netns, dir, sock)
			}
		}
	}
	if i := snap.SPDInfo; i != nil {
		for _, c := range []struct {
			dir, sock string
			v         uint32
		}{{"in", "false", i.In}, {"out", "false", i.Out}, {"fwd", "false", i.Fwd}, {"in", "true", i.SocketIn}, {"out", "true", i.SocketOut}, {"fwd", "true", i.SocketFwd}} {
			gauge(ch, descSPDPolicies, float64(c.v), netns, c.dir, c.sock)
		}
		gauge(ch, descSPDBuckets, float64(i.HashBuckets()), netns)
		gauge(ch, descSPDMax, float64(i.HashMaxBuckets), netns)
	}
	if d := snap.PolicyDefaults; d != nil {
		gauge(ch, descPolicyDefault, b2f(d.In == xfrmstat.DefaultBlock), netns, "in")
		gauge(ch, descPolicyDefault, b2f(d.Out == xfrmstat.DefaultBlock), netns, "out")
		gauge(ch, descPolicyDefault, b2f(d.Fwd == xfrmstat.DefaultBlock), netns, "fwd")
	}
}

// collectHealth sends the per-tunnel series of one namespace: labels that
// do not change when a tunnel's SAs are rekeyed (never an SPI), so that a
// tunnel is one set of series for as long as it exists.
func collectHealth(ch chan<- prometheus.Metric, netns string, h *explain.Health) {
	seen := make(map[explain.TunnelID]bool, len(h.Tunnels))
	for i := range h.Tunnels {
		t := &h.Tunnels[i]
		if seen[t.ID] {
			continue // a Tracker has one status per tunnel; a duplicate would break the scrape
		}
		seen[t.ID] = true
		l := tunnelLabelValues(netns, t.ID)
		gauge(ch, descTunnelUp, b2f(t.State == explain.TunnelUp), l...)
		counter(ch, descTunnelRxB, t.In.Bytes, l...)
		counter(ch, descTunnelRxP, t.In.Packets, l...)
		counter(ch, descTunnelTxB, t.Out.Bytes, l...)
		counter(ch, descTunnelTxP, t.Out.Packets, l...)
		if !t.In.Last.IsZero() {
			gauge(ch, descTunnelLastRx, unixSeconds(t.In.Last), l...)
		}
		if !t.Out.Last.IsZero() {
			gauge(ch, descTunnelLastTx, unixSeconds(t.Out.Last), l...)
		}
		for _, dir := range []explain.SADir{explain.SADirIn, explain.SADirOut} {
			sa := newestSA(t.SAs, dir)
			if sa == nil {
				continue
			}
			ld := append(l[:len(l):len(l)], dir.String())
			if !sa.SoftExpiry.IsZero() {
				gauge(ch, descSASoft, unixSeconds(sa.SoftExpiry), ld...)
			}
			if !sa.HardExpiry.IsZero() {
				gauge(ch, descSAHard, unixSeconds(sa.HardExpiry), ld...)
			}
			if sa.HasSeq {
				gauge(ch, descSAHeadroom, float64(sa.SeqHeadroom), ld...)
			}
		}
	}
	type riskKey struct {
		id    explain.TunnelID
		cause explain.CauseID
	}
	risks := map[riskKey]bool{}
	for i := range h.Risks {
		r := &h.Risks[i]
		k := riskKey{r.Tunnel, r.Cause}
		if risks[k] {
			continue // several SAs of the tunnel at risk of one cause: one series
		}
		risks[k] = true
		gauge(ch, descTunnelRisk, 1, append(tunnelLabelValues(netns, r.Tunnel), string(r.Cause))...)
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

// tunnelLabelValues are a tunnel's labels: netns, interface, kind, peer,
// reqid.
func tunnelLabelValues(netns string, id explain.TunnelID) []string {
	return []string{netns, id.Interface, id.Kind, addrLabel(id.Peer), u32(id.ReqID)}
}

// collectCauses sends a namespace's cumulative counts: the causes and
// their candidates as explain.Tally counts them, and the XFRM events by
// type, every type from 0 so that rate() sees the first one.
func collectCauses(ch chan<- prometheus.Metric, netns string, t *explain.Tally) {
	for _, k := range slices.SortedFunc(maps.Keys(t.Events), explain.TallyKey.Compare) {
		counter(ch, descCauses, t.Events[k], netns, k.Interface, string(k.Cause))
	}
	for _, k := range slices.SortedFunc(maps.Keys(t.Candidates), explain.TallyKey.Compare) {
		counter(ch, descCandidates, t.Candidates[k], netns, k.Interface, string(k.Cause))
	}
	for _, typ := range explain.EventTypes() {
		counter(ch, descXfrmEvents, t.XfrmEvents[typ], netns, typ.String())
	}
}

// unixSeconds is t as a Unix time in seconds, exact to the microsecond for
// any date (UnixNano overflows after 2262, and a "never" limit may be far).
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// saLabelValues are an SA's labels: never anything of its keys.
func saLabelValues(sa *xfrmstat.SA) []string {
	mark := ""
	if m := sa.Mark; m != nil {
		mark = fmt.Sprintf("0x%x/0x%x", m.Value, m.Mask)
	}
	return []string{
		fmt.Sprintf("0x%08x", sa.SPI), addrLabel(sa.Src), addrLabel(sa.Dst), protoName(sa.Proto),
		u32(sa.ReqID), sa.Mode.String(), mark, u32(sa.IfID),
	}
}

func addrLabel(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
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

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
