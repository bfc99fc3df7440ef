package explain

import "slices"

// The catalogue. Every entry was checked against kernel source: Debian's
// linux-source-6.1 (6.1.192: ip_vti.c, ip6_vti.c, xfrm_interface_core.c,
// xfrm_policy.c, xfrm_input.c, xfrm_output.c, ip_tunnel.c, ip_tunnel_core.c,
// ip6_tunnel.c, esp4.c, esp6.c, ip_tunnels.h read; every XFRM_INC_STATS site
// in the tree listed), ip_vti.c of a 5.10-era and a 6.6-era tree, the
// xfrm_lookup_with_ifid of several releases, the 6.10 SA-direction and 6.14
// IP-TFS patches, and a 4.4 ip_vti.c for the old behaviour. Where a version
// boundary comes from the research notes rather than from trees read on both
// sides of it, the Kernels text says so.
//
// The 2026-12 audit (research/catalogue-audit.md) was checked point by point
// against Debian's linux-source 5.10.223 and 5.10.262, 6.1.172, 6.12.117 and
// 7.3.4 (net/ipv4, net/ipv6, net/xfrm, net/core, include/net, mlx5 en_accel)
// and their Debian changelogs, which list the stable backports by upstream
// release. What the catalogue's fields cannot express (a cause present only
// from a stable release, xfrm interface stats before 5.11) is said in the
// Kernels text.
//
// Every XfrmOut* MIB counter also counts packets that no tunnel sent:
// forwarded traffic (__xfrm_route_forward runs xfrm_lookup and the packet
// goes through xfrm_output) and local sockets with transport-mode policies.
// A MIB count matched with a link count is exact only on that assumption.
//
// Signatures name rtnl_link_stats64 fields as the kernel does. The /proc/net/dev
// column each lands in: tx_errors "errs", tx_dropped "drop", tx_fifo_errors
// "fifo", collisions "colls", tx_carrier_errors/tx_aborted_errors "carrier"
// (with tx_window and tx_heartbeat), rx_errors "errs", rx_dropped "drop"
// (with rx_missed), rx_fifo_errors "fifo", rx_length/over/crc/frame_errors
// "frame".

// Link kinds as IFLA_INFO_KIND names them.
const (
	KindVTI       = "vti"
	KindVTI6      = "vti6"
	KindXfrm      = "xfrm"
	KindGRE       = "gre"
	KindGRETap    = "gretap"
	KindERSPAN    = "erspan"
	KindIPIP      = "ipip"
	KindSIT       = "sit"
	KindIP6GRE    = "ip6gre"
	KindIP6GRETap = "ip6gretap"
	KindIP6ERSPAN = "ip6erspan"
	KindIP6Tnl    = "ip6tnl"
	KindWireGuard = "wireguard"
)

var (
	kindsVTI      = []string{KindVTI}
	kindsVTI6Xfrm = []string{KindVTI6, KindXfrm}
	kindsVTIAll   = []string{KindVTI, KindVTI6, KindXfrm}
	kindsVTIBoth  = []string{KindVTI, KindVTI6}
	kindsIPv4Tnl  = []string{KindGRE, KindGRETap, KindERSPAN, KindIPIP, KindSIT}
	kindsIPv6Tnl  = []string{KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl}
	kindsIPTnl    = []string{KindGRE, KindGRETap, KindERSPAN, KindIPIP, KindSIT, KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl}
	kindsAll      = []string{KindVTI, KindVTI6, KindXfrm, KindGRE, KindGRETap, KindERSPAN, KindIPIP, KindSIT,
		KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl, KindWireGuard}
)

// Counter names (rtnl_link_stats64 fields).
const (
	cTxErrors    = "tx_errors"
	cTxDropped   = "tx_dropped"
	cTxCarrier   = "tx_carrier_errors"
	cTxAborted   = "tx_aborted_errors"
	cTxFIFO      = "tx_fifo_errors"
	cCollisions  = "collisions"
	cTxWindow    = "tx_window_errors"
	cTxHeartbeat = "tx_heartbeat_errors"
	cRxErrors    = "rx_errors"
	cRxDropped   = "rx_dropped"
	cRxMissed    = "rx_missed_errors"
	cRxCRC       = "rx_crc_errors"
	cRxFIFO      = "rx_fifo_errors"
	cRxLength    = "rx_length_errors"
	cRxOver      = "rx_over_errors"
	cRxFrame     = "rx_frame_errors"
)

// Shared link signatures.
var (
	// An inbound policy check failure: VTI and vti6 always count it (their
	// rcv_cb runs the check); an xfrm interface runs it only when it is in
	// another namespace than the underlay (xfrmi_rcv_cb, xnet).
	sigRxPolicyCheck = []LinkSignature{
		{Kinds: kindsVTIBoth, Counters: []string{cRxErrors, cRxDropped}},
		{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only when the interface is in another namespace than the underlay"},
	}
	// A VTI lookup failure: vti counts carrier+errs; vti6 and xfrm also drop.
	sigLookupVTI = []LinkSignature{
		{Kinds: kindsVTI, Counters: []string{cTxCarrier, cTxErrors}},
		{Kinds: kindsVTI6Xfrm, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}},
	}
	// A failure after dst_output(): iptunnel_xmit_stats / xfrmi_xmit2.
	sigOutputVTI = []LinkSignature{
		{Kinds: kindsVTIAll, Counters: []string{cTxAborted, cTxErrors}},
	}
	sigErrsOnly = []LinkSignature{
		{Kinds: kindsVTI, Counters: []string{cTxErrors}},
		{Kinds: kindsVTI6Xfrm, Counters: []string{cTxErrors, cTxDropped}},
		{Kinds: kindsIPv4Tnl, Counters: []string{cTxErrors}},
		{Kinds: kindsIPv6Tnl, Counters: []string{cTxErrors, cTxDropped}},
	}
	sigRxVTI = []LinkSignature{
		{Kinds: kindsVTIBoth, Counters: []string{cRxErrors, cRxDropped}},
	}
	sigRxVTIAndXfrm = []LinkSignature{
		{Kinds: kindsVTIAll, Counters: []string{cRxErrors, cRxDropped}},
	}
)

// What an xfrm interface shows before 5.11. Up to 5.10 (5.10.262 included:
// "net: xfrm: use core API for updating/providing stats" went into 5.11 and
// was not backported) xfrmi_get_stats64 exports only rx/tx packets and bytes
// plus rx_dropped and tx_dropped; the driver still increments tx_errors,
// tx_carrier_errors, collisions, tx_aborted_errors and rx_errors, but
// nothing reads them. The signatures below are those of 5.11 and later.
const (
	xfrmBefore511 = " xfrm interfaces before 5.11 (5.10 LTS included) export only packets, bytes, rx_dropped and tx_dropped"
	// A failure the interface counts in xfrmi_xmit (tx_errors+tx_dropped+...).
	xfrmBefore511TX = xfrmBefore511 + ": there this shows as tx_dropped alone."
	// A failure after dst_output (tx_errors+tx_aborted_errors).
	xfrmBefore511Out = xfrmBefore511 + ": there this shows on no link counter."
	// An RX failure xfrmi_rcv_cb counts (rx_errors+rx_dropped).
	xfrmBefore511RX = xfrmBefore511 + ": there this shows as rx_dropped alone."
)

// Check templates used by many causes.
var (
	chkLinkStats = CheckTemplate{
		Command: "ip -s -s link show dev {dev}",
		Why:     "shows every TX/RX error counter apart (carrier vs aborted, crc vs frame), which /proc/net/dev sums",
	}
	chkLinkDetails = CheckTemplate{
		Command: "ip -d link show dev {dev}",
		Why:     "shows the tunnel's kind, local/remote addresses and ikey/okey marks",
	}
	chkRouteRemote = CheckTemplate{
		Command: "ip route get {remote}",
		Why:     "the route to the peer must exist and must not point into {dev} itself",
	}
	chkPolicyOut = CheckTemplate{
		Command: "ip xfrm policy get dir out src {any} dst {any} mark {okey}",
		Why: "the outbound policy the tunnel's traffic (marked with okey {okey}) should match; its tmpl " +
			"must be src {local} dst {remote} mode tunnel",
	}
	chkPolicyListOut = CheckTemplate{
		Command: "ip xfrm policy list dir out",
		Why: "every outbound policy: look for one whose mark matches {okey} (value & mask) and whose " +
			"tmpl is src {local} dst {remote} mode tunnel",
	}
	chkStateOut = CheckTemplate{
		Command: "ip -s xfrm state list src {local} dst {remote}",
		Why: "the outbound SAs to the peer: there must be one in tunnel mode, and its lifetime and " +
			"sequence counters show whether it is about to expire",
	}
	chkStateOutGet = CheckTemplate{
		Command: "ip xfrm state get src {local} dst {remote} proto esp spi {spi_out} mark {okey}",
		Why:     "the SA the tunnel uses now, by SPI",
	}
	chkStateIn = CheckTemplate{
		Command: "ip -s xfrm state list src {remote} dst {local}",
		Why:     "the inbound SAs from the peer with their replay, integrity-failure and lifetime counters; their mark must match ikey {ikey}",
	}
	chkXfrmStat = CheckTemplate{
		Command: "awk '$2 != 0' /proc/net/xfrm_stat",
		Why:     "the namespace's non-zero XFRM error counters",
	}
	chkLarvalDrop = CheckTemplate{
		Command: "sysctl net.core.xfrm_larval_drop",
		Why:     "1 (default): packets without an SA are dropped at once; 0: they wait in the policy's hold queue",
	}
	chkPolicyDefault = CheckTemplate{
		Command: "ip xfrm policy getdefault",
		Why:     "the namespace's default action for traffic that matches no policy (iproute2 5.17+; kernel 5.15+, and 5.10 from 5.10.118)",
	}
	chkIKE = CheckTemplate{
		Command: "swanctl --list-sas",
		Why:     "whether the IKE daemon (strongSwan here; use your daemon's equivalent) has the CHILD_SA up and when it last rekeyed",
	}
	chkDmesgLoop = CheckTemplate{
		Command: "dmesg | grep -i 'routing loop'",
		Why:     "vti6, xfrm and ip6 tunnels log the loop",
	}
	chkPolicyIn = CheckTemplate{
		Command: "ip xfrm policy get dir in src {any} dst {any} mark {ikey}",
		Why:     "the inbound policy the decapsulated traffic must match (VTI checks it with the ikey mark {ikey})",
	}
)

// catalogue is the table of causes. Order: TX lookup failures, other TX
// failures on the link, TX output failures (catalogue_tx.go), IP tunnel
// (GRE family) causes (catalogue_tunnels.go), WireGuard
// (catalogue_wireguard.go), RX (catalogue_rx.go), then accounting: counter
// and kernel quirks (below), and the risks (catalogue_health.go).
var catalogue = slices.Concat(causesTX, causesIPTunnel, causesWireGuard, causesRX, causesAccounting, causesHealth, causesHealthWireGuard)

// causesAccounting are the causes about the counters themselves.
var causesAccounting = []Cause{
	// ---- accounting ----
	{
		ID:         "counter-reset",
		Title:      "Counters went backwards: reset, wrapped, or the interface was recreated",
		KernelRefs: []string{"net/core/dev.c:dev_get_stats"},
		Kernels:    "all",
		Explanation: "A counter is smaller in the later reading. The interface was deleted and created " +
			"again, the module reloaded, the namespace recreated, or a 32-bit counter wrapped. The interval " +
			"cannot be explained for these counters; counts are never negative.",
		Checks: []CheckTemplate{{Command: "ip -d link show dev {dev}", Why: "the interface's index: a " +
			"new index means it was recreated"}, {Command: "journalctl -k --since -1h | grep -iF -e {dev}",
			Why: "when it was recreated"}},
	},
	{
		ID:        "kernel-drops-counted-as-sent",
		Title:     "Kernel quirk: IPsec drops the tunnel counts as transmitted",
		Signature: Signature{MIB: []string{"XfrmOutStateProtoError"}, SilentOn: kindsVTIBoth},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit", "include/net/ip_tunnels.h:iptunnel_xmit_stats", "net/ipv4/esp4.c:esp_output_tail",
			"net/xfrm/xfrm_device.c:validate_xmit_xfrm", "net/core/pktgen.c"},
		Kernels: "VTI all; vti6 from 4.19. Crypto offload validation (validate_xmit_xfrm) and an asynchronous ESP failure " +
			"(esp_output_done) are counted as sent by every tunnel kind, xfrm interfaces included",
		Explanation: "XfrmOutStateProtoError rose but the VTI links show no output error: ESP dropped packets because the " +
			"crypto queue was full (NET_XMIT_DROP) and vti_xmit counted each as one packet of one byte sent; or an " +
			"asynchronous transform failed after the tunnel had counted the packet; or crypto offload refused the packet " +
			"on the underlay (validate_xmit_xfrm), after every tunnel had counted it as sent; or pktgen's IPsec mode " +
			"failed (no tunnel involved). The tunnel's TX counters overstate what left the host.",
		Checks: []CheckTemplate{chkXfrmStat, chkLinkStats},
	},
	{
		ID:         "kernel-dead-counter",
		Title:      "Kernel quirk: a counter that no modern kernel increments moved",
		Signature:  Signature{MIB: []string{"XfrmOutBundleCheckError", "XfrmOutPolDead"}},
		KernelRefs: []string{"net/xfrm/xfrm_proc.c"},
		Kernels: "neither has an increment site in 6.1.192 (whole tree searched), nor in net/, include/ " +
			"and the mlx5 IPsec code of 5.10.262, 6.1.172, 6.12.117 and 7.3.4; per the research notes " +
			"XfrmOutPolDead has none in 3.13–6.19; when XfrmOutBundleCheckError lost its last one (~4.9, or " +
			"with the flow cache in 4.14) was not checked",
		Explanation: "These counters are printed but nothing in a modern kernel increments them. A change " +
			"means an old or patched kernel, or a reading that is not what it seems.",
		Checks: []CheckTemplate{{Command: "uname -a", Why: "which kernel this is"}, chkXfrmStat},
	},
	{
		ID:         "kernel-version-dependent",
		Title:      "What this counter means depends on the kernel version, which is unknown or near a change",
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit"},
		Kernels: "VTI no-route fallback 5.5; xfrm_lookup_route and the hold queue in VTI 5.9; xfrm interfaces export all " +
			"their error counters from 5.11 (before: only rx_dropped and tx_dropped, 5.10 LTS included); IPv4 DF rule in " +
			"the vti/vti6 MTU check 5.12 (not in 5.10.y), in the xfrm interface's 5.12 and 5.10.30; default policies 5.15 " +
			"(5.10.y from 5.10.118); collect_md xfrm interfaces 6.1; SA direction 6.10; IPTFS 6.14; rx-length in 6.1.y from " +
			"6.1.77 (IPv6) / 6.1.83 (IPv4) and 5.10.y from 5.10.210 / 5.10.214; tunnel recursion limit in 6.12.y from 6.12.78 " +
			"(mainline 7.0 cycle)",
		Explanation: "The finding it accompanies changed meaning between kernel releases. Pass the kernel " +
			"release (uname -r) so the explanation can use the right one.",
		Checks: []CheckTemplate{{Command: "uname -r", Why: "the kernel release"}},
	},
	{
		ID:          "unexplained-counter",
		Title:       "A counter moved that no catalogued kernel path for this kind increments",
		KernelRefs:  []string{"net/core/dev.c:dev_get_stats"},
		Kernels:     "all",
		Explanation: "The delta does not fit any signature in the catalogue for this interface's kind. It is reported rather than guessed.",
		Checks:      []CheckTemplate{chkLinkStats, chkLinkDetails},
	},
}
