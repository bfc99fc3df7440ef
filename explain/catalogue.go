package explain

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
)

var (
	kindsVTI      = []string{KindVTI}
	kindsVTI6Xfrm = []string{KindVTI6, KindXfrm}
	kindsVTIAll   = []string{KindVTI, KindVTI6, KindXfrm}
	kindsVTIBoth  = []string{KindVTI, KindVTI6}
	kindsIPv4Tnl  = []string{KindGRE, KindGRETap, KindERSPAN, KindIPIP, KindSIT}
	kindsIPv6Tnl  = []string{KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl}
	kindsIPTnl    = []string{KindGRE, KindGRETap, KindERSPAN, KindIPIP, KindSIT, KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl}
	kindsAll      = []string{KindVTI, KindVTI6, KindXfrm, KindGRE, KindGRETap, KindERSPAN, KindIPIP, KindSIT, KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN, KindIP6Tnl}
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
		Why:     "the outbound policy the tunnel's traffic (marked with okey {okey}) should match; its tmpl must be src {local} dst {remote} mode tunnel",
	}
	chkPolicyListOut = CheckTemplate{
		Command: "ip xfrm policy list dir out",
		Why:     "every outbound policy: look for one whose mark matches {okey} (value & mask) and whose tmpl is src {local} dst {remote} mode tunnel",
	}
	chkStateOut = CheckTemplate{
		Command: "ip -s xfrm state list src {local} dst {remote}",
		Why:     "the outbound SAs to the peer: there must be one in tunnel mode, and its lifetime and sequence counters show whether it is about to expire",
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
// failures on the link, TX output failures, IP tunnel (GRE family) causes,
// RX, then accounting (counter and kernel quirks).
var catalogue = []Cause{
	// ---- TX: the xfrm lookup that VTI/xfrm interfaces do for every packet ----
	{
		ID:    "tx-no-route",
		Title: "No route for a packet that reached the tunnel without one, or no route to the tunnel's peer",
		Signature: Signature{Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
			LinkSignature{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "ip_route_output_key() to the remote failed"},
			LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "ip6_route_output() to the remote failed"},
		)},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit", "net/ipv6/ip6_vti.c:vti6_xmit", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit", "net/ipv4/ip_tunnel.c:ip_tunnel_xmit", "net/ipv6/ip6_tunnel.c:ip6_tnl_xmit"},
		Kernels: "all. VTI/vti6/xfrm: a packet normally arrives with the route that chose the tunnel; only one without (bpf_redirect, AF_PACKET) is routed again, from 5.5 on (before 5.5 every such packet counted as a carrier error). GRE/IPIP/SIT/ip6 tunnels: every release." +
			xfrmBefore511TX,
		Explanation: "On a VTI or xfrm interface: a packet arrived without a route (sent by bpf_redirect or a packet socket) and " +
			"the kernel found no route for its destination through the tunnel. On a GRE/IPIP/ip6 tunnel: there is no route " +
			"to the tunnel's remote address in the underlay (or an IPsec policy on the outer packet failed: see the XFRM counters).",
		Checks: []CheckTemplate{chkLinkStats, chkRouteRemote, {Command: "ip route show table all", Why: "look for a route to the peer and for routes via {dev}"}},
	},
	{
		ID:    "tx-no-policy",
		Title: "No outbound IPsec policy transforms the tunnel's traffic",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTI, Counters: []string{cTxCarrier, cTxErrors}},
			{Kinds: kindsVTI6Xfrm, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "xfrm: no policy with the interface's if_id"},
		}},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid", "net/ipv4/ip_vti.c:vti_state_check", "net/ipv6/ip6_vti.c:vti6_state_check", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit2"},
		Kernels:    ">=3.15 (the VTI design that looks policies up with the okey mark)." + xfrmBefore511TX,
		Since:      KernelVersion{Major: 3, Minor: 15},
		Explanation: "The tunnel marks every packet with its okey and asks the policy database for an outbound policy. None " +
			"matched (no policy with that mark, a selector that does not cover the packet, or a policy without a template), so " +
			"the packet would leave unencrypted; the tunnel refuses it. The XFRM MIB does not count this. Typical cause: the " +
			"IKE daemon has not installed the policy yet, or installed it with another mark.",
		Checks: []CheckTemplate{chkLinkStats, chkPolicyOut, chkPolicyListOut, chkIKE},
	},
	{
		ID:    "tx-policy-default-block",
		Title: "No policy matched and the namespace's default outbound policy is block",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTI, Counters: []string{cTxCarrier, cTxErrors}},
			{Kinds: kindsVTI6Xfrm, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}},
			{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "the outer packet"},
			{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "the outer packet"},
		}},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid", "net/xfrm/xfrm_user.c:xfrm_set_default"},
		Kernels: "mainline 5.15 (\"xfrm: Add possibility to set the default to block if we have no policy\", 5.15-rc1, " +
			"its uapi fixed before 5.15), and 5.10.y from 5.10.118 (the default-policy series was backported: the nopol " +
			"path of xfrm_lookup_with_ifid and xfrm_set_default are in 5.10.223 and 5.10.262). Since says 5.10: a " +
			"distribution's 5.10 release string does not tell 5.10.118 from older builds, so on 5.10 the cause stays a " +
			"candidate and a kernel-version-dependent finding says why." + xfrmBefore511TX,
		Since: KernelVersion{Major: 5, Minor: 10},
		Explanation: "No policy matched the packet and `ip xfrm policy setdefault` made block the outbound default, so " +
			"the lookup fails with EPERM. No XFRM MIB counter moves.",
		Checks: []CheckTemplate{chkPolicyDefault, chkPolicyOut, chkPolicyListOut},
	},
	{
		ID:    "tx-sa-mismatch",
		Title: "The SA the policy selects is not tunnel mode, or its endpoints differ from the tunnel's",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTI, Counters: []string{cTxCarrier, cTxErrors}},
			{Kinds: []string{KindVTI6}, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}},
			{Kinds: []string{KindXfrm}, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "the SA's if_id differs from the interface's"},
		}},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_state_check", "net/ipv6/ip6_vti.c:vti6_state_check", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit2"},
		Kernels:    ">=3.15." + xfrmBefore511TX,
		Since:      KernelVersion{Major: 3, Minor: 15},
		Explanation: "A policy matched and an SA was found, but the VTI only sends through an SA in tunnel mode whose source " +
			"and destination are the tunnel's local and remote addresses (an xfrm interface: whose if_id is its own). The policy's " +
			"template names other endpoints, or transport/BEET mode. The XFRM MIB does not count this.",
		Checks: []CheckTemplate{chkLinkStats, chkLinkDetails, chkPolicyOut, chkStateOut},
	},
	{
		ID:    "tx-no-sa",
		Title: "The tunnel's outbound policy has no SA (not negotiated yet, expired, or being rekeyed)",
		Signature: Signature{
			Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
				LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "ip6 tunnels over IPsec: ip6_tnl_xmit calls plain xfrm_lookup, which returns the error (no blackhole route), whatever xfrm_larval_drop says"},
			),
			MIB:      []string{"XfrmOutNoStates"},
			SilentOn: kindsIPv4Tnl,
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid", "net/xfrm/xfrm_policy.c:xfrm_lookup_route", "net/xfrm/xfrm_policy.c:xfrm_tmpl_resolve_one",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_xmit", "net/ipv6/ip6_tunnel.c:ip6_tnl_start_xmit", "net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit"},
		Kernels: ">=3.15. With net.core.xfrm_larval_drop=1 (default) every release counts it. With larval_drop=0, from 5.9 " +
			"(xfrm_lookup_route in vti_xmit) VTI and vti6 queue the packet in the policy's hold queue and count it as sent; " +
			"xfrm interfaces never queue. GRE/IPIP/SIT over IPsec (ip_route_output_flow -> xfrm_lookup_route) get a blackhole " +
			"route (larval_drop=1) or the hold queue (larval_drop=0) and count the packet as sent. ip6gre, ip6gretap, ip6erspan " +
			"and ip6tnl use plain xfrm_lookup (-EREMOTE or -EAGAIN comes back): carrier+errs+drop with either larval_drop " +
			"setting (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)." + xfrmBefore511TX,
		Since: KernelVersion{Major: 3, Minor: 15},
		Explanation: "The policy matched but no SA exists for its template yet: the kernel asks the IKE daemon for one " +
			"(ACQUIRE) and drops the packet. Short bursts happen at startup and when an SA expires before its replacement is " +
			"installed (rekeying with hard lifetimes too close to soft ones); a steady count means IKE is down.",
		Checks: []CheckTemplate{chkLinkStats, chkStateOut, chkPolicyOut, chkIKE, chkLarvalDrop},
	},
	{
		ID:    "tx-underlay-unreachable",
		Title: "No route to the IPsec peer while building the bundle",
		Signature: Signature{
			Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
				LinkSignature{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "GRE over IPsec: the outer packet"},
				LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "over IPsec: the outer packet"},
			),
			MIB: []string{"XfrmOutBundleGenError"},
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_resolve_and_create_bundle", "net/xfrm/xfrm_policy.c:xfrm_bundle_create"},
		Kernels:    "all." + xfrmBefore511TX,
		Explanation: "An SA was found but the kernel could not route its outer packet to the SA's destination (the peer), so the " +
			"bundle could not be built. When the policy's template has no source address, the source-address lookup " +
			"(xfrm_get_saddr in xfrm_tmpl_resolve_one) needs that route first: its failure is counted by XfrmOutPolError " +
			"(tx-policy-error), not here.",
		Checks: []CheckTemplate{chkLinkStats, chkRouteRemote, chkStateOut},
	},
	{
		ID:    "tx-policy-block",
		Title: "An outbound policy with action block matched",
		Signature: Signature{
			Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
				LinkSignature{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "the outer packet"},
				LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "the outer packet"},
			),
			MIB: []string{"XfrmOutPolBlock"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid"},
		Kernels:     "all." + xfrmBefore511TX,
		Explanation: "The best matching outbound policy says block (often a catch-all drop policy installed so that nothing leaves unencrypted while IKE negotiates).",
		Checks:      []CheckTemplate{chkLinkStats, chkPolicyOut, chkPolicyListOut},
	},
	{
		ID:    "tx-policy-error",
		Title: "The outbound policy lookup or template resolution failed",
		Signature: Signature{
			Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
				LinkSignature{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "the outer packet"},
				LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "the outer packet"},
			),
			MIB:      []string{"XfrmOutPolError"},
			MIBMinus: []string{"XfrmOutStateDirError"},
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_resolve_and_create_bundle", "net/xfrm/xfrm_policy.c:xfrm_bundle_lookup", "net/xfrm/xfrm_policy.c:xfrm_tmpl_resolve_one"},
		Kernels:    "all." + xfrmBefore511TX,
		Explanation: "Resolving the policy's templates failed with an error other than \"no SA yet\": typically the SA the " +
			"template selects is in the error state (its key manager failed), the policy lookup itself failed, or the " +
			"template has no source address and there is no route to the peer to pick one from (xfrm_get_saddr fails " +
			"before any SA is looked up).",
		Checks: []CheckTemplate{chkLinkStats, chkStateOut, chkPolicyOut, chkXfrmStat},
	},
	{
		ID:    "tx-sa-dir-error",
		Title: "The SA the outbound policy selects is an inbound SA (SA direction mismatch)",
		Signature: Signature{
			Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
				LinkSignature{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "over IPsec: the outer packet"},
				LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "over IPsec: the outer packet"},
			),
			MIB: []string{"XfrmOutStateDirError"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:xfrm_tmpl_resolve_one", "net/xfrm/xfrm_policy.c:xfrm_resolve_and_create_bundle"},
		Kernels:     ">=6.10 (SA direction attribute); XfrmOutPolError moves too. GRE/IPIP/SIT and ip6 tunnels over IPsec reach the same lookup for their outer packet (the error is not -EREMOTE, so no blackhole route)",
		Since:       KernelVersion{Major: 6, Minor: 10},
		Explanation: "The SA found for the template was installed with direction \"in\" (XFRMA_SA_DIR), so it cannot be used for output.",
		Checks:      []CheckTemplate{chkStateOut, chkXfrmStat},
	},
	// ---- TX: other failures the tunnel counts itself ----
	{
		ID:    "tx-routing-loop",
		Title: "Routing loop: the route to the tunnel's peer leads back into the tunnel",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTI, Counters: []string{cCollisions, cTxErrors}},
			{Kinds: kindsVTI6Xfrm, Counters: []string{cCollisions, cTxErrors, cTxDropped}},
			{Kinds: kindsIPv4Tnl, Counters: []string{cCollisions, cTxErrors}},
			{Kinds: kindsIPv6Tnl, Counters: []string{cCollisions, cTxErrors, cTxDropped}},
		}},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit", "net/ipv6/ip6_vti.c:vti6_xmit", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit2", "net/ipv4/ip_tunnel.c:ip_tunnel_xmit", "net/ipv6/ip6_tunnel.c:ip6_tnl_xmit",
			"net/ipv6/sit.c:ipip6_tunnel_xmit"},
		Kernels: "all (sit's path-MTU case too: 5.10.262, 6.1.172, 6.12.117 and 7.3.4 read)." + xfrmBefore511TX,
		Explanation: "After encapsulation the packet would leave through the tunnel itself: the route to the peer (or a default " +
			"route) points into the tunnel. On a sit tunnel collisions also counts an IPv6 packet sent with the tunnel's " +
			"DF set (pmtudisc) when the underlay route's MTU minus the tunnel header is below 68 (ipip6_tunnel_xmit): a " +
			"broken underlay MTU rather than a loop. Apart from that, collisions counts nothing else on tunnels.",
		Checks: []CheckTemplate{chkRouteRemote, {Command: "ip route show dev {dev}", Why: "routes that send traffic into the tunnel; none may cover {remote}"}, chkDmesgLoop},
	},
	{
		ID:        "tx-too-big",
		Title:     "Packet larger than the tunnel's path MTU (ICMP \"fragmentation needed\" / \"packet too big\" sent back)",
		Signature: Signature{Link: sigErrsOnly},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit", "net/ipv6/ip6_vti.c:vti6_xmit", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit2",
			"net/ipv4/ip_tunnel.c:tnl_update_pmtu", "net/ipv6/ip6_tunnel.c:ip6_tnl_xmit"},
		Kernels: "VTI >=4.6 (pmtu check in vti_xmit). IPv4 packets without DF on vti and vti6: dropped before 5.12, sent and " +
			"fragmented after encapsulation from 5.12 (\"vti: fix ipv4 pmtu check to honor ip header df\"; not in 5.10.262, " +
			"present in 6.1.172). xfrm interfaces: the same DF rule from 5.12 and in 5.10.y from 5.10.30 (\"xfrm: interface: " +
			"fix ipv4 pmtu check to honor ip header df\"), and they send an IPv6 packet of at most 1280 bytes whatever the " +
			"MTU. GRE/IPIP/SIT/ip6 tunnels: all." + xfrmBefore511TX,
		Explanation: "The packet plus the ESP or GRE overhead does not fit the path MTU and may not be fragmented, so the " +
			"tunnel drops it and tells the sender the MTU. A few are normal (path MTU discovery); many mean a sender " +
			"ignores ICMP or the tunnel MTU is wrong.",
		Checks: []CheckTemplate{{Command: "ip route get {remote}", Why: "the path MTU towards the peer"}, {Command: "ip link show dev {dev}", Why: "the tunnel's own MTU"}, chkLinkStats},
	},
	{
		ID:        "tx-unsupported-protocol",
		Title:     "Packet the tunnel cannot carry (not IPv4/IPv6, truncated headers, or missing metadata)",
		Signature: Signature{Link: sigErrsOnly},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_tunnel_xmit", "net/ipv6/ip6_vti.c:vti6_tnl_xmit", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit",
			"net/ipv4/ip_tunnel.c:ip_tunnel_xmit", "net/ipv4/ipip.c:ipip_tunnel_xmit", "net/ipv6/sit.c:sit_tunnel_xmit", "net/ipv6/sit.c:ipip6_tunnel_xmit",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_start_xmit", "net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit"},
		Kernels: "all (header check with pskb_inet_may_pull from 4.19)." + xfrmBefore511TX,
		Explanation: "The packet's protocol is neither IPv4 nor IPv6 (nor MPLS where the tunnel carries it), its headers are " +
			"truncated, or (vti6, ip6tnl) it conflicts with the tunnel's addresses or protocol; on a collect_md xfrm interface " +
			"a packet came without xfrm metadata; on GRE/IPIP/SIT an NBMA tunnel could not find the inner next hop, a sit " +
			"tunnel could not take the IPv4 destination from an ISATAP/6to4/6rd address, GSO preparation failed (ipip, sit) " +
			"or the FOU/GUE encapsulation failed. GRE, gretap and erspan count their own truncated-header and GSO " +
			"failures as tx_dropped alone (tx-gre-drop), not here.",
		Checks: []CheckTemplate{chkLinkStats, {Command: "tcpdump -eni {dev} -c 20", Why: "look at what is being sent into the tunnel"}},
	},
	// ---- TX: failures after dst_output(): the IPsec transform and the underlay ----
	{
		ID:    "tx-sa-expired",
		Title: "The SA reached its hard byte or packet limit while sending",
		Signature: Signature{
			Link: sigOutputVTI,
			MIB:  []string{"XfrmOutStateExpired"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_state.c:xfrm_state_check_expire"},
		Kernels:     "all." + xfrmBefore511Out,
		Explanation: "The outbound SA hit its hard lifetime (bytes or packets) before the IKE daemon replaced it: packets are dropped until the new SA is installed. Soft lifetimes too close to hard ones, or a slow daemon.",
		Checks:      []CheckTemplate{chkStateOut, chkIKE},
	},
	{
		ID:    "tx-seq-overflow",
		Title: "The SA's outbound sequence number ran out",
		Signature: Signature{
			Link: sigOutputVTI,
			MIB:  []string{"XfrmOutStateSeqError"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_replay.c:xfrm_replay_overflow"},
		Kernels:     "all." + xfrmBefore511Out,
		Explanation: "The SA sent 2^32 packets (2^64 with ESN) and may not wrap its sequence number: it must be rekeyed. Enable ESN or rekey by packets sooner.",
		Checks:      []CheckTemplate{chkStateOut, chkIKE},
	},
	{
		ID:    "tx-sa-invalid",
		Title: "The SA stopped being valid between lookup and transmit (deleted or expired)",
		Signature: Signature{
			Link: sigOutputVTI,
			MIB:  []string{"XfrmOutStateInvalid"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_output.c:xfrm_output_one"},
		Kernels:     "all." + xfrmBefore511Out,
		Explanation: "The packet's SA was deleted or expired while the packet was on its way (typically during a rekey, when the old SA is removed).",
		Checks:      []CheckTemplate{chkStateOut, chkIKE},
	},
	{
		ID:    "tx-mode-error",
		Title: "The IPsec mode's output step failed (often: too big after encapsulation)",
		Signature: Signature{
			Link: sigOutputVTI,
			MIB:  []string{"XfrmOutStateModeError"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_output.c:xfrm4_tunnel_check_size", "net/xfrm/xfrm_output.c:xfrm6_tunnel_check_size"},
		Kernels:     "all." + xfrmBefore511Out,
		Explanation: "Adding the outer header failed; usually the packet with DF set does not fit the path MTU after encapsulation (EMSGSIZE, an ICMP is sent back).",
		Checks:      []CheckTemplate{{Command: "ip route get {remote}", Why: "the path MTU towards the peer"}, chkStateOut},
	},
	{
		ID:    "tx-output-error",
		Title: "IPsec output or the underlay failed after the packet left the tunnel",
		Signature: Signature{
			Link:           sigOutputVTI,
			MIB:            []string{"XfrmOutError"},
			AlsoWithoutMIB: true,
		},
		KernelRefs: []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_output.c:xfrm_output", "include/net/ip_tunnels.h:iptunnel_xmit_stats"},
		Kernels:    "all." + xfrmBefore511Out,
		Explanation: "The transform or the underlay returned an error: no memory or headroom (XfrmOutError), no route after " +
			"the transform (XfrmOutError), or an error from the underlay's output path that no XFRM counter records.",
		Checks: []CheckTemplate{chkLinkStats, chkRouteRemote, chkXfrmStat},
	},
	{
		ID:    "tx-crypto-backlog",
		Title: "ESP/AH output failed: crypto queue full, or a transform error",
		Signature: Signature{
			Link: []LinkSignature{
				{Kinds: []string{KindXfrm}, Counters: []string{cTxAborted, cTxErrors}, Note: "a full queue (NET_XMIT_DROP) is counted as an error"},
				{Kinds: kindsVTIBoth, Counters: []string{cTxAborted, cTxErrors}, Note: "only a synchronous transform error; a full crypto queue is counted as sent"},
			},
			MIB:      []string{"XfrmOutStateProtoError"},
			SilentOn: kindsVTIBoth,
		},
		KernelRefs: []string{"net/ipv4/esp4.c:esp_output_tail", "net/ipv6/esp6.c:esp6_output_tail", "net/xfrm/xfrm_output.c:xfrm_output_one", "net/ipv4/esp4.c:esp_output_done",
			"net/xfrm/xfrm_device.c:validate_xmit_xfrm"},
		Kernels: "all. The crypto queue returns -EBUSY up to 4.13 and -ENOSPC from 4.17 on, which ESP turns into NET_XMIT_DROP; " +
			"VTI (and vti6 from 4.19) counts a positive NET_XMIT_DROP as one packet of one byte sent." + xfrmBefore511Out,
		Explanation: "The ESP/AH transform failed. Under load this is the asynchronous crypto engine's queue being full: " +
			"ESP drops the packet and XfrmOutStateProtoError counts it, but a VTI counts it as transmitted. An asynchronous " +
			"crypto failure after the fact is also counted here and nowhere else, and so is a packet that crypto offload " +
			"refused on the underlay (validate_xmit_xfrm), which every tunnel has already counted as sent. pktgen's IPsec " +
			"mode counts its own failures in the same MIB counter.",
		Checks: []CheckTemplate{chkXfrmStat, {Command: "grep -A4 -E 'name +: (.*aes.*|.*gcm.*)' /proc/crypto", Why: "which crypto driver (async engine or CPU) handles the SA's algorithm"}, {Command: "mpstat -P ALL 1 5", Why: "whether a CPU is saturated by crypto work (sysstat)"}},
	},
	{
		ID:    "tx-queue-full",
		Title: "A queue on the way out was full (policy hold queue, IPTFS queue, or the underlay's qdisc)",
		Signature: Signature{
			Link: []LinkSignature{
				{Kinds: kindsVTIBoth, Counters: []string{cTxAborted, cTxErrors}, Note: "the policy hold queue (xfrm_larval_drop=0, 5.9+) is full"},
				{Kinds: []string{KindXfrm}, Counters: []string{cTxAborted, cTxErrors}, Note: "the underlay's qdisc dropped (NET_XMIT_DROP), seen only when the crypto completed synchronously; a full IP-TFS queue is counted as sent"},
			},
			MIB:            []string{"XfrmOutNoQueueSpace"},
			AlsoWithoutMIB: true,
			SilentOn:       kindsVTIBoth,
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xdst_queue_output", "net/xfrm/xfrm_iptfs.c:iptfs_output_collect", "net/core/dev.c:__dev_xmit_skb"},
		Kernels: "hold queue: VTI/vti6 5.9+ with net.core.xfrm_larval_drop=0; IPTFS (XfrmOutNoQueueSpace): 6.14+, xfrm interfaces " +
			"only (vti_state_check and vti6_state_check accept only tunnel-mode SAs), and iptfs_output_collect frees the packet " +
			"and returns 0, so the interface counts it as sent; qdisc drop: xfrm interfaces count it when the transform ran " +
			"synchronously (an asynchronous one returns -EINPROGRESS, and the qdisc's verdict never comes back), VTI counts " +
			"it as sent." + xfrmBefore511Out,
		Explanation: "While an SA is being negotiated the policy holds up to 100 packets (only with xfrm_larval_drop=0); more " +
			"are dropped. An IPTFS SA's queue can fill up (that drop is visible only in XfrmOutNoQueueSpace: the link counts " +
			"the packet as sent). The underlay's qdisc can drop the encapsulated packet. None of these moves a MIB counter " +
			"except the IPTFS one.",
		Checks: []CheckTemplate{chkLarvalDrop, {Command: "tc -s qdisc show dev {underlay}", Why: "drops and overlimits on the underlay's queue"}, chkXfrmStat},
	},
	{
		ID:    "tx-netfilter-drop",
		Title: "Netfilter dropped the encapsulated packet",
		Signature: Signature{
			Link: sigOutputVTI,
		},
		KernelRefs:  []string{"net/xfrm/xfrm_output.c:xfrm_output_resume", "net/netfilter/core.c:nf_hook_slow"},
		Kernels:     "all." + xfrmBefore511Out,
		Explanation: "A netfilter rule in OUTPUT or POSTROUTING dropped the packet after encryption (nf_hook returns EPERM, which the tunnel counts as an output error). No XFRM counter moves.",
		Checks:      []CheckTemplate{{Command: "nft list ruleset", Why: "look for drop rules matching ESP (proto 50) or the peer {remote}; iptables-save for legacy rules"}, chkLinkStats},
	},
	{
		ID:    "tx-core-drop",
		Title: "The network core dropped the packet before the tunnel driver saw it",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsAll, Counters: []string{cTxDropped}},
		}},
		KernelRefs:  []string{"net/core/dev.c:__dev_queue_xmit"},
		Kernels:     "all. On xfrm interfaces before 5.11 (5.10 LTS included) every TX failure the interface counts itself also shows as tx_dropped alone, because only tx_dropped is exported there",
		Explanation: "tx_dropped moved without any tunnel error: the core dropped the packet (device down, or a transmit validation such as GSO segmentation failed). On an xfrm interface of a kernel before 5.11, tx_dropped alone is also every lookup, routing-loop, MTU or protocol failure of the interface itself (its other TX counters are not exported).",
		Checks:      []CheckTemplate{{Command: "ip link show dev {dev}", Why: "whether the tunnel is up"}, chkLinkStats},
	},
	// ---- IP tunnels (GRE, IPIP, SIT, ip6 tunnels) ----
	{
		ID:    "tx-nbma-no-dst",
		Title: "NBMA tunnel (no remote address) got a packet without a route to take the next hop from",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindGRE, KindGRETap, KindERSPAN, KindIPIP}, Counters: []string{cTxFIFO, cTxErrors}},
			{Kinds: []string{KindSIT}, Counters: []string{cTxFIFO, cTxErrors}, Note: "IPv4 or MPLS inside (sit_tunnel_xmit__ hands them to ip_tunnel_xmit); IPv6 inside takes its next hop from the neighbour entry instead"},
		}},
		KernelRefs:  []string{"net/ipv4/ip_tunnel.c:ip_tunnel_xmit", "net/ipv6/sit.c:sit_tunnel_xmit__"},
		Kernels:     "all (sit: read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "A tunnel without a remote address takes the outer destination from the packet's route; this packet had none. tx_fifo_errors counts nothing else on IP tunnels.",
		Checks:      []CheckTemplate{chkLinkDetails, {Command: "ip route show dev {dev}", Why: "NBMA tunnels need routes (or neighbour entries) via {dev} with a next hop"}},
	},
	{
		ID:    "tx-local-out-error",
		Title: "Sending the outer packet failed (ip_local_out), or no headroom for the outer header",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPv4Tnl, Counters: []string{cTxDropped}, Note: "IPv4 outer header: only tx_dropped"},
			{Kinds: kindsIPv6Tnl, Counters: []string{cTxAborted, cTxErrors}, Note: "IPv6 outer header: ip6_local_out failed"},
			{Kinds: kindsIPv6Tnl, Counters: []string{cTxErrors, cTxDropped}, Note: "IPv6 outer header: no headroom (skb_realloc_headroom up to 6.1, skb_cow_head from 6.12 in ip6_tnl_xmit)"},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel_core.c:iptunnel_xmit", "include/net/ip6_tunnel.h:ip6tunnel_xmit", "net/ipv4/ip_tunnel.c:ip_tunnel_xmit",
			"net/ipv6/sit.c:ipip6_tunnel_xmit", "net/ipv6/ip6_tunnel.c:ip6_tnl_xmit"},
		Kernels: "all",
		Explanation: "The encapsulated packet was dropped on its way out: by netfilter, by the underlay's qdisc, by an IPsec " +
			"transform of the outer packet (GRE over IPsec: see the XFRM counters), or there was no memory for the outer " +
			"header (skb_cow_head in ip_tunnel_xmit, skb_realloc_headroom in sit's ipip6_tunnel_xmit: tx_dropped alone; " +
			"in ip6_tnl_xmit the caller counts tx_errors and tx_dropped).",
		Checks: []CheckTemplate{chkLinkStats, chkXfrmStat, {Command: "tc -s qdisc show dev {underlay}", Why: "drops on the underlay's queue"}},
	},
	{
		ID:    "tx-gre-drop",
		Title: "GRE/ERSPAN could not prepare the packet (truncated headers, GSO or checksum setup, headroom, collect_md metadata)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindGRE, KindGRETap, KindERSPAN}, Counters: []string{cTxDropped}},
			{Kinds: []string{KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN}, Counters: []string{cTxDropped}, Note: "collect_md: no valid tunnel metadata (skb_tunnel_info_txcheck); every other failure also counts tx_errors"},
		}},
		KernelRefs: []string{"net/ipv4/ip_gre.c:ipgre_xmit", "net/ipv4/ip_gre.c:gre_tap_xmit", "net/ipv4/ip_gre.c:erspan_xmit",
			"net/ipv4/ip_gre.c:gre_fb_xmit", "net/ipv4/ip_gre.c:erspan_fb_xmit", "net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit", "net/ipv6/ip6_gre.c:ip6erspan_tunnel_xmit"},
		Kernels: "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "The GRE driver dropped the packet before encapsulating it and counted only tx_dropped: " +
			"pskb_inet_may_pull found the inner headers truncated, gre_handle_offloads (GSO/checksum preparation) or " +
			"skb_cow_head failed, a header_ops (ip gre with a link-layer header) frame was too short, an ERSPAN frame could " +
			"not be trimmed or had an unknown version, or a collect_md (external) tunnel got a packet without usable tunnel " +
			"metadata (an eBPF or OVS path that did not set it).",
		Checks: []CheckTemplate{chkLinkStats, chkLinkDetails, {Command: "tcpdump -eni {dev} -c 20", Why: "look at what is being sent into the tunnel"}},
	},
	{
		ID:    "tx-tunnel-recursion",
		Title: "Tunnel nesting too deep: the kernel's tunnel recursion limit stopped the packet (\"Dead loop on virtual device\")",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPTnl, Counters: []string{cTxErrors}},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel_core.c:iptunnel_xmit", "include/net/ip6_tunnel.h:ip6tunnel_xmit", "include/net/ip_tunnels.h:IP_TUNNEL_RECURSION_LIMIT"},
		Kernels: "from \"net: add xmit recursion limit to tunnel xmit functions\" (mainline commit 6f1a9140ecda, early 2026: the 7.0 cycle, release not pinned from a tree); in 6.12.y from " +
			"6.12.78 (present in 6.12.117 and 7.3.4; absent in 6.1.172 and 5.10.262; other stable series not checked). A fix " +
			"for a CVE (CVE-2026-23276) reaches other stable series as they take it, so Since says 5.10: every kernel of " +
			"the matrix is offered it, older builds though they cannot produce it",
		Since: KernelVersion{Major: 5, Minor: 10},
		Explanation: "The packet went through more than IP_TUNNEL_RECURSION_LIMIT (5) nested tunnel transmits on this CPU, " +
			"so iptunnel_xmit (IPv4 outer header) or ip6tunnel_xmit (IPv6 outer header) dropped it and counted tx_errors " +
			"alone on the tunnel: tunnels routed into each other in a loop, or stacked too deep. The kernel logs \"Dead loop " +
			"on virtual device\".",
		Checks: []CheckTemplate{{Command: "dmesg | grep -i 'dead loop'", Why: "the kernel names the device"}, chkRouteRemote, {Command: "ip route show dev {dev}", Why: "routes into the tunnel must not cover {remote}"}},
	},
	{
		ID:    "tx-ip6-xmit-ctl",
		Title: "IPv6 tunnel refused to send: its local address is missing or tentative, or its remote address is local",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindVTI6, KindIP6Tnl}, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}},
			{Kinds: []string{KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN}, Counters: []string{cTxErrors, cTxDropped}, Note: "checked in ip6gre_tunnel_xmit / ip6erspan_tunnel_xmit before any route lookup"},
		}},
		KernelRefs: []string{"net/ipv6/ip6_tunnel.c:ip6_tnl_xmit_ctl", "net/ipv6/ip6_vti.c:vti6_xmit", "net/ipv6/ip6_tunnel.c:ip6_tnl_xmit", "net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit"},
		Kernels:    "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "ip6_tnl_xmit_ctl() refused the packet: the tunnel's local address is not (or not yet: DAD tentative) " +
			"configured on this host, or the remote address is one of this host's own (a routing loop, unless the tunnel " +
			"allows local remotes), or the tunnel is not allowed to transmit. vti6 checks the SA's addresses. The kernel " +
			"logs \"Local address not yet configured!\" or \"Routing loop! Remote address found on this node!\".",
		Checks: []CheckTemplate{chkLinkDetails, {Command: "ip -6 addr show", Why: "the tunnel's local address must be configured and not tentative; its remote must not be"}, {Command: "dmesg | grep -iE 'not yet configured|Remote address found'", Why: "the kernel names the tunnel"}},
	},
	{
		ID:    "tx-sit-route-type",
		Title: "sit: the route to the IPv4 endpoint is not a unicast route",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindSIT}, Counters: []string{cTxCarrier, cTxErrors}, Note: "IPv6 inside (ipip6_tunnel_xmit)"},
		}},
		KernelRefs: []string{"net/ipv6/sit.c:ipip6_tunnel_xmit"},
		Kernels:    "all. Up to 5.10.y (5.10.262) only RTN_UNICAST passes; from 6.1 (6.1.172 read) RTN_LOCAL passes too",
		Explanation: "The IPv4 route to the tunnel's endpoint (the configured remote, or the address taken from a 6to4, " +
			"6rd or ISATAP destination) is a broadcast, multicast or other non-unicast route, so sit refuses to send " +
			"(ICMPv6 unreachable to the sender).",
		Checks: []CheckTemplate{chkLinkDetails, chkRouteRemote},
	},
	{
		ID:    "tx-encap-limit",
		Title: "IPv6 tunnel encapsulation limit reached (ICMPv6 parameter problem sent)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPv6Tnl, Counters: []string{cTxErrors, cTxDropped}},
		}},
		KernelRefs: []string{"net/ipv6/ip6_tunnel.c:ipxip6_tnl_xmit", "net/ipv6/ip6_tunnel.c:ip6_tnl_parse_tlv_enc_lim", "net/ipv6/ip6_gre.c:prepare_ip6gre_xmit_ipv6"},
		Kernels:    "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "An IPv6 packet entering the tunnel carries a tunnel encapsulation limit option of 0: it has already " +
			"been through as many nested tunnels as its sender allowed (RFC 2473). The tunnel drops it and sends an ICMPv6 " +
			"parameter problem back.",
		Checks: []CheckTemplate{chkLinkDetails, chkLinkStats, {Command: "tcpdump -ni {dev} -c 20 ip6", Why: "look for IPv6 packets with a destination-options header"}},
	},
	{
		ID:    "rx-checksum",
		Title: "GRE checksum flag does not match the tunnel's configuration",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindGRE, KindGRETap, KindERSPAN, KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN}, Counters: []string{cRxCRC, cRxErrors}},
		}},
		KernelRefs:  []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv"},
		Kernels:     "all",
		Explanation: "One side sends GRE checksums (ocsum) and the other does not expect them (icsum), or the reverse.",
		Checks:      []CheckTemplate{chkLinkDetails, chkLinkStats},
	},
	{
		ID:    "rx-sequence",
		Title: "GRE sequence number missing or going backwards",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindGRE, KindGRETap, KindERSPAN, KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN}, Counters: []string{cRxFIFO, cRxErrors}},
		}},
		KernelRefs:  []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv"},
		Kernels:     "all",
		Explanation: "The tunnel expects sequence numbers (iseq) and a packet came without one or out of order (reordering in the underlay, or a peer not sending oseq).",
		Checks:      []CheckTemplate{chkLinkDetails, chkLinkStats},
	},
	{
		ID:    "rx-length",
		Title: "Decapsulated packet too short for its inner header",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPTnl, Counters: []string{cRxLength, cRxErrors}},
		}},
		KernelRefs:  []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv"},
		Kernels:     "recent, and backported to stable series: present in 6.1.y (6.1.192 read, 6.1.176 counted it) and 5.10.y (5.10.223 counted it in a VM test); the first release with it is not pinned, so no kernel is ruled out",
		Explanation: "pskb_inet_may_pull() found the inner IP header truncated: a malformed or damaged packet.",
		Checks:      []CheckTemplate{chkLinkStats, {Command: "tcpdump -ni {underlay} -c 20 host {remote}", Why: "look at the encapsulated packets the peer sends"}},
	},
	{
		ID:    "rx-ecn",
		Title: "ECN decapsulation error (CE on a not-ECT inner packet)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPTnl, Counters: []string{cRxFrame, cRxErrors}},
		}},
		KernelRefs:  []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv", "net/ipv6/sit.c:ipip6_rcv"},
		Kernels:     "all",
		Explanation: "The outer header carries Congestion Experienced but the inner packet is not ECN-capable, which RFC 6040 says to drop. A middlebox marks CE on traffic that did not ask for ECN.",
		Checks:      []CheckTemplate{chkLinkStats, {Command: "sysctl net.ipv4.ip_tunnel_log_ecn_error 2>/dev/null; dmesg | grep -i 'non-ECT'", Why: "the kernel logs the offending source when log_ecn_error is set"}},
	},
	// ---- RX: IPsec input (VTI and xfrm interfaces) ----
	{
		ID:    "rx-no-sa",
		Title: "Inbound ESP/AH packet for an unknown SPI, or no SA with the tunnel's ikey mark",
		Signature: Signature{
			Link: sigRxVTI,
			MIB:  []string{"XfrmInNoStates"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv4/ip_vti.c:vti_rcv_cb", "net/ipv6/ip6_vti.c:vti6_rcv_cb"},
		Kernels:     ">=3.15. xfrm interfaces do not count it on the link (namespace-wide only)",
		Since:       KernelVersion{Major: 3, Minor: 15},
		Explanation: "The VTI matched the packet by its outer addresses and looked its SA up by SPI with the tunnel's ikey as mark: there is none. The peer uses an SA this side deleted (or never installed), or the inbound SA's mark is not the tunnel's ikey.",
		Checks:      []CheckTemplate{chkStateIn, chkLinkDetails, chkIKE},
	},
	{
		ID:          "rx-integrity-failed",
		Title:       "Inbound packet failed its integrity check (ICV), or its ESP payload was malformed",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateProtoError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv4/esp4.c:esp_input_done2"},
		Kernels:     "all. With mlx5 packet offload (the 6.12.117 and 7.3.4 trees; not 6.1.172) the driver adds its own drop counts to this MIB counter in bulk (mlx5e_xfrm_update_stats, XFRM_ADD_STATS), with no link counter moving." + xfrmBefore511RX,
		Explanation: "Decryption or authentication failed (EBADMSG: the SA's integrity_failed counter moves too): the keys differ between peers, or packets are corrupted in the underlay.",
		Checks:      []CheckTemplate{chkStateIn, chkIKE},
	},
	{
		ID:          "rx-replay",
		Title:       "Inbound packet replayed or outside the anti-replay window",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateSeqError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_replay.c:xfrm_replay_check"},
		Kernels:     "all. With mlx5 packet offload (the 6.12.117 and 7.3.4 trees; not 6.1.172) the driver adds its own drop counts to this MIB counter in bulk (mlx5e_xfrm_update_stats, XFRM_ADD_STATS), with no link counter moving." + xfrmBefore511RX,
		Explanation: "The sequence number was seen before or is older than the replay window: reordering in the underlay beyond the window (raise replay-window), QoS reordering, or a real replay.",
		Checks:      []CheckTemplate{chkStateIn},
	},
	{
		ID:    "rx-no-policy",
		Title: "Decapsulated packet matches no inbound policy (or the inbound default is block)",
		Signature: Signature{
			Link: sigRxPolicyCheck,
			MIB:  []string{"XfrmInNoPols"},
		},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/ipv4/ip_vti.c:vti_rcv_cb", "net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:     "all (the inbound default block: mainline 5.15, 5.10.y from 5.10.118)." + xfrmBefore511RX,
		Explanation: "The packet was decrypted by a tunnel-mode SA but no inbound policy (looked up with the tunnel's ikey as mark) allows it.",
		Checks:      []CheckTemplate{chkPolicyIn, chkPolicyDefault},
	},
	{
		ID:          "rx-template-mismatch",
		Title:       "Decapsulated packet's SAs do not match the inbound policy's templates",
		Signature:   Signature{Link: sigRxPolicyCheck, MIB: []string{"XfrmInTmplMismatch"}},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/xfrm/xfrm_policy.c:xfrm_policy_ok", "net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "An inbound policy matched but the SA the packet came through is not the one its template names (other endpoints, mode, or reqid).",
		Checks:      []CheckTemplate{chkPolicyIn, chkStateIn},
	},
	{
		ID:          "rx-policy-block",
		Title:       "Decapsulated packet matched an inbound block policy",
		Signature:   Signature{Link: sigRxPolicyCheck, MIB: []string{"XfrmInPolBlock"}},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "The best inbound policy for the decrypted packet says block.",
		Checks:      []CheckTemplate{chkPolicyIn},
	},
	{
		ID:          "rx-policy-error",
		Title:       "Inbound policy lookup failed",
		Signature:   Signature{Link: sigRxPolicyCheck, MIB: []string{"XfrmInPolError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "The inbound policy lookup returned an error (for example a socket policy that failed).",
		Checks:      []CheckTemplate{chkPolicyIn, chkXfrmStat},
	},
	{
		ID:          "rx-sa-expired",
		Title:       "Inbound SA reached its hard lifetime",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateExpired"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_state.c:xfrm_state_check_expire"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "The inbound SA hit its hard byte or packet limit while the peer kept using it: the peer rekeys later than this side expires.",
		Checks:      []CheckTemplate{chkStateIn, chkIKE},
	},
	{
		ID:          "rx-sa-invalid",
		Title:       "Inbound SA is no longer valid (being deleted)",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateInvalid"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "A packet arrived for an SA that is being deleted or has expired (around a rekey).",
		Checks:      []CheckTemplate{chkStateIn, chkIKE},
	},
	{
		ID:          "rx-encap-mismatch",
		Title:       "Inbound packet's encapsulation or inner addresses do not match its SA",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateMismatch"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_policy.c:__xfrm_policy_check"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "The packet came with another UDP encapsulation (NAT-T) than its SA expects, or (VTI/vti6, after decryption) its inner addresses are outside the SA's selector.",
		Checks:      []CheckTemplate{chkStateIn},
	},
	{
		ID:          "rx-mode-error",
		Title:       "Inbound mode processing failed (tunnel check or inner mode)",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateModeError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv4/ip_vti.c:vti_rcv_cb"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "The decrypted payload does not fit the SA's mode: an inner protocol the SA does not allow, or (VTI with an AF_UNSPEC selector) no inner mode for the payload.",
		Checks:      []CheckTemplate{chkStateIn},
	},
	{
		ID:    "rx-header-error",
		Title: "Inbound IPsec header could not be parsed",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTIBoth, Counters: []string{cRxErrors, cRxDropped}},
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only when the packet already has a secpath (GRO/offload path, or the SPI of a nested SA after a transport-mode one) or the interface is in another namespace (policy check); not the first SPI parse"},
		}, MIB: []string{"XfrmInHdrError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/xfrm/espintcp.c", "net/xfrm/xfrm_iptfs.c",
			"net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels: "all (IP-TFS from 6.14). With mlx5 packet offload (the 6.12.117 and 7.3.4 trees; not 6.1.172) the driver adds " +
			"its own trailer-error count to XfrmInHdrError in bulk, with no link counter moving." + xfrmBefore511RX,
		Explanation: "The SPI could not be read, or the decrypted packet's headers could not be decoded for the policy " +
			"check, or (ESP in TCP) the stream carried a bad frame, or (IP-TFS) an inner packet header was malformed.",
		Checks: []CheckTemplate{{Command: "tcpdump -ni {underlay} -c 20 esp and host {remote}", Why: "look at the ESP packets the peer sends"}},
	},
	{
		ID:    "rx-buffer-error",
		Title: "Inbound packet nested too many transforms, or offloaded crypto failed",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTIBoth, Counters: []string{cRxErrors, cRxDropped}},
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only an offloaded crypto failure (GRO/offload path) or, in another namespace, too many templates; not the XFRM_MAX_DEPTH case (the secpath is reset first)"},
		}, MIB: []string{"XfrmInBufferError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/ipv6/xfrm6_input.c:xfrm6_input_addr",
			"net/xfrm/xfrm_iptfs.c", "net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels: "all (IP-TFS from 6.14)." + xfrmBefore511RX,
		Explanation: "The packet went through more transforms than XFRM_MAX_DEPTH (6), or the policies together name too " +
			"many templates, or a crypto offload reported a failure; also xfrm6_input_addr (Mobile IPv6) and IP-TFS " +
			"reassembly running out of buffers.",
		Checks: []CheckTemplate{chkStateIn, chkPolicyIn},
	},
	{
		ID:    "rx-error",
		Title: "Other inbound IPsec error (no memory, no route for the packet)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTIBoth, Counters: []string{cRxErrors, cRxDropped}},
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only the lost route (skb_dst_force); a failed secpath_set leaves no secpath and the interface counts nothing"},
		}, MIB: []string{"XfrmInError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/espintcp.c", "net/ipv6/xfrm6_input.c:xfrm6_input_addr", "net/xfrm/xfrm_iptfs.c"},
		Kernels:    "all (IP-TFS from 6.14)." + xfrmBefore511RX,
		Explanation: "The kernel could not attach the security path (no memory) or the packet lost its route during input; " +
			"for ESP in TCP, the stream's buffer was full; also xfrm6_input_addr (Mobile IPv6) and IP-TFS allocation failures.",
		Checks: []CheckTemplate{chkXfrmStat},
	},
	{
		ID:          "rx-acquire-error",
		Title:       "Inbound packet for an SA that is still being negotiated (larval)",
		Signature:   Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmAcquireError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input"},
		Kernels:     "all." + xfrmBefore511RX,
		Explanation: "The SPI matched a placeholder SA that the kernel created while asking the IKE daemon for a key: the peer already sends on an SA this side has not installed.",
		Checks:      []CheckTemplate{chkStateIn, chkIKE},
	},
	{
		ID:          "rx-dir-error",
		Title:       "Inbound packet found an outbound SA (SA direction mismatch)",
		Signature:   Signature{Link: sigRxVTI, MIB: []string{"XfrmInStateDirError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv6/xfrm6_input.c:xfrm6_input_addr"},
		Kernels:     ">=6.10 (SA direction attribute)",
		Since:       KernelVersion{Major: 6, Minor: 10},
		Explanation: "The SA matched by SPI was installed with direction \"out\" (XFRMA_SA_DIR), so it cannot be used for input.",
		Checks:      []CheckTemplate{chkStateIn},
	},
	{
		ID:          "rx-iptfs-error",
		Title:       "IPTFS reassembly or payload error",
		Signature:   Signature{MIB: []string{"XfrmInIptfsError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_iptfs.c"},
		Kernels:     ">=6.14 (IP-TFS)",
		Since:       KernelVersion{Major: 6, Minor: 14},
		Explanation: "An IP-TFS SA received a malformed payload or could not reassemble inner packets.",
		Checks:      []CheckTemplate{chkStateIn, chkXfrmStat},
	},
	{
		ID:    "rx-backlog-full",
		Title: "Decapsulated packet dropped by the network core on its way into the stack (backlog full, device down, or no handler for its protocol)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsAll, Counters: []string{cRxDropped}},
		}},
		KernelRefs: []string{"net/core/gro_cells.c:gro_cells_receive", "net/core/dev.c:enqueue_to_backlog", "net/core/dev.c:__netif_receive_skb_core"},
		Kernels: "all (gro_cells from 4.19; netif_rx before). On xfrm interfaces before 5.11 (5.10 LTS included) every RX " +
			"IPsec failure the interface counts also shows as rx_dropped alone, because only rx_dropped is exported there",
		Explanation: "The packet was decrypted/decapsulated and then dropped by the core: the per-CPU queue was longer than " +
			"net.core.netdev_max_backlog, the tunnel was down, or no protocol handler took the inner packet (an inner " +
			"protocol this host does not run, such as MPLS without the mpls_router module, or IPv6 when it is disabled: " +
			"__netif_receive_skb_core counts rx_dropped on the tunnel). rx_dropped moved without rx_errors. On an xfrm " +
			"interface of a kernel before 5.11 it is also every IPsec RX failure the interface counts (rx_errors is not " +
			"exported there).",
		Checks: []CheckTemplate{{Command: "sysctl net.core.netdev_max_backlog", Why: "the queue length limit"}, {Command: "cat /proc/net/softnet_stat", Why: "the second column counts backlog drops per CPU"},
			{Command: "ip -s -s link show dev {dev}", Why: "on a recent iproute2, rx_nohandler is printed too (drops with no handler on an exact-match device)"}},
	},
	{
		ID:    "rx-metadata-nomem",
		Title: "xfrm interface in collect_md mode could not allocate the packet's metadata",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "collect_md (external) interfaces only"},
		}},
		KernelRefs:  []string{"net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:     ">=6.1 (collect_md xfrm interfaces; present in 6.1.172, 6.12.117 and 7.3.4, absent in 5.10.262)",
		Since:       KernelVersion{Major: 6, Minor: 1},
		Explanation: "The packet was decrypted and passed its checks, but metadata_dst_alloc() failed (GFP_ATOMIC, no memory), so xfrmi_rcv_cb returned -ENOMEM and xfrm_input dropped it. No XFRM MIB counter moves.",
		Checks:      []CheckTemplate{{Command: "grep -E 'MemAvailable|Slab' /proc/meminfo", Why: "memory pressure"}, chkLinkDetails},
	},
	{
		ID:    "rx-sit-spoofed",
		Title: "sit: the packet's outer IPv4 source does not match its inner IPv6 source (ISATAP, 6to4, 6rd check)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindSIT}, Counters: []string{cRxErrors}, Note: "rx_errors alone, IPv6 inside"},
		}},
		KernelRefs:  []string{"net/ipv6/sit.c:ipip6_rcv", "net/ipv6/sit.c:packet_is_spoofed"},
		Kernels:     "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "packet_is_spoofed() refused the packet: on an ISATAP tunnel the source is not an allowed router or its inner address does not embed the outer one; otherwise the inner IPv6 source is a 6to4/6rd or IPv4-compatible address that does not carry the outer IPv4 source. A misconfigured peer or a spoofed packet.",
		Checks:      []CheckTemplate{chkLinkDetails, {Command: "tcpdump -ni {underlay} -c 20 ip proto 41", Why: "compare each packet's outer IPv4 source with its inner IPv6 source"}},
	},
	{
		ID:    "rx-endpoint-mismatch",
		Title: "vti6: packet's outer addresses failed the tunnel's receive check",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindVTI6}, Counters: []string{cRxDropped}},
		}},
		KernelRefs:  []string{"net/ipv6/ip6_vti.c:vti6_input_proto", "net/ipv6/ip6_tunnel.c:ip6_tnl_rcv_ctl"},
		Kernels:     "all",
		Explanation: "ip6_tnl_rcv_ctl() refused the packet: the tunnel's local address is not an address of this host, or the remote address is one of ours.",
		Checks:      []CheckTemplate{chkLinkDetails, {Command: "ip -6 addr show", Why: "the tunnel's local address must be configured on this host"}},
	},
	{
		ID:          "fwd-header-error",
		Title:       "Forwarded packet could not be decoded or routed for the IPsec check",
		Signature:   Signature{MIB: []string{"XfrmFwdHdrError"}},
		KernelRefs:  []string{"net/xfrm/xfrm_policy.c:__xfrm_route_forward"},
		Kernels:     "all",
		Explanation: "A packet being forwarded could not be decoded into a flow, or had no route, when the kernel checked it against the forward policies.",
		Checks:      []CheckTemplate{{Command: "ip xfrm policy list dir fwd", Why: "the forward policies"}},
	},
	// ---- accounting ----
	{
		ID:          "counter-reset",
		Title:       "Counters went backwards: reset, wrapped, or the interface was recreated",
		KernelRefs:  []string{"net/core/dev.c:dev_get_stats"},
		Kernels:     "all",
		Explanation: "A counter is smaller in the later reading. The interface was deleted and created again, the module reloaded, the namespace recreated, or a 32-bit counter wrapped. The interval cannot be explained for these counters; counts are never negative.",
		Checks:      []CheckTemplate{{Command: "ip -d link show dev {dev}", Why: "the interface's index: a new index means it was recreated"}, {Command: "journalctl -k --since -1h | grep -i {dev}", Why: "when it was recreated"}},
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
		ID:          "kernel-dead-counter",
		Title:       "Kernel quirk: a counter that no modern kernel increments moved",
		Signature:   Signature{MIB: []string{"XfrmOutBundleCheckError", "XfrmOutPolDead"}},
		KernelRefs:  []string{"net/xfrm/xfrm_proc.c"},
		Kernels:     "neither has an increment site in 6.1.192 (whole tree searched), nor in net/, include/ and the mlx5 IPsec code of 5.10.262, 6.1.172, 6.12.117 and 7.3.4; per the research notes XfrmOutPolDead has none in 3.13–6.19; when XfrmOutBundleCheckError lost its last one (~4.9, or with the flow cache in 4.14) was not checked",
		Explanation: "These counters are printed but nothing in a modern kernel increments them. A change means an old or patched kernel, or a reading that is not what it seems.",
		Checks:      []CheckTemplate{{Command: "uname -a", Why: "which kernel this is"}, chkXfrmStat},
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
		Explanation: "The finding it accompanies changed meaning between kernel releases. Pass the kernel release (uname -r) so the explanation can use the right one.",
		Checks:      []CheckTemplate{{Command: "uname -r", Why: "the kernel release"}},
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
