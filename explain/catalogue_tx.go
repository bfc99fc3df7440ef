package explain

// causesTX are the causes of a packet leaving through a tunnel: the xfrm
// lookup of VTIs and xfrm interfaces, other failures the tunnel counts
// itself, and failures after dst_output(). See catalogue.go for what was
// checked against which kernel source, and for the shared signatures and
// checks.
var causesTX = []Cause{
	// ---- TX: the xfrm lookup that VTI/xfrm interfaces do for every packet ----
	{
		ID:    "tx-no-route",
		Title: "No route for a packet that reached the tunnel without one, or no route to the tunnel's peer",
		Signature: Signature{Link: append(sigLookupVTI[:len(sigLookupVTI):len(sigLookupVTI)],
			LinkSignature{Kinds: kindsIPv4Tnl, Counters: []string{cTxCarrier, cTxErrors}, Note: "ip_route_output_key() to the remote failed"},
			LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped},
				Note: "ip6_route_output() to the remote failed"},
		)},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit", "net/ipv6/ip6_vti.c:vti6_xmit",
			"net/xfrm/xfrm_interface_core.c:xfrmi_xmit", "net/ipv4/ip_tunnel.c:ip_tunnel_xmit",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_xmit"},
		Kernels: "all. VTI/vti6/xfrm: a packet normally arrives with the route that chose the tunnel; only " +
			"one without (bpf_redirect, AF_PACKET) is routed again, from 5.5 on (before 5.5 every such packet " +
			"counted as a carrier error). GRE/IPIP/SIT/ip6 tunnels: every release." +
			xfrmBefore511TX,
		Explanation: "On a VTI or xfrm interface: a packet arrived without a route (sent by bpf_redirect or a packet socket) and " +
			"the kernel found no route for its destination through the tunnel. On a GRE/IPIP/ip6 tunnel: there is no route " +
			"to the tunnel's remote address in the underlay (or an IPsec policy on the outer packet failed: see the XFRM counters).",
		Checks: []CheckTemplate{chkLinkStats, chkRouteRemote, {Command: "ip route show table all",
			Why: "look for a route to the peer and for routes via {dev}"}},
	},
	{
		ID:    "tx-no-policy",
		Title: "No outbound IPsec policy transforms the tunnel's traffic",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTI, Counters: []string{cTxCarrier, cTxErrors}},
			{Kinds: kindsVTI6Xfrm, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}, Note: "xfrm: no policy with the interface's if_id"},
		}},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid",
			"net/ipv4/ip_vti.c:vti_state_check", "net/ipv6/ip6_vti.c:vti6_state_check",
			"net/xfrm/xfrm_interface_core.c:xfrmi_xmit2"},
		Kernels: ">=3.15 (the VTI design that looks policies up with the okey mark)." + xfrmBefore511TX,
		Since:   KernelVersion{Major: 3, Minor: 15},
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
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_state_check", "net/ipv6/ip6_vti.c:vti6_state_check",
			"net/xfrm/xfrm_interface_core.c:xfrmi_xmit2"},
		Kernels: ">=3.15." + xfrmBefore511TX,
		Since:   KernelVersion{Major: 3, Minor: 15},
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
				LinkSignature{Kinds: kindsIPv6Tnl, Counters: []string{cTxCarrier, cTxErrors, cTxDropped},
					Note: "ip6 tunnels over IPsec: ip6_tnl_xmit calls plain xfrm_lookup, which returns the error (no " +
						"blackhole route), whatever xfrm_larval_drop says"},
			),
			MIB:      []string{"XfrmOutNoStates"},
			SilentOn: kindsIPv4Tnl,
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid",
			"net/xfrm/xfrm_policy.c:xfrm_lookup_route", "net/xfrm/xfrm_policy.c:xfrm_tmpl_resolve_one",
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
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_lookup_with_ifid"},
		Kernels:    "all." + xfrmBefore511TX,
		Explanation: "The best matching outbound policy says block (often a catch-all drop policy installed " +
			"so that nothing leaves unencrypted while IKE negotiates).",
		Checks: []CheckTemplate{chkLinkStats, chkPolicyOut, chkPolicyListOut},
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
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_resolve_and_create_bundle",
			"net/xfrm/xfrm_policy.c:xfrm_bundle_lookup", "net/xfrm/xfrm_policy.c:xfrm_tmpl_resolve_one"},
		Kernels: "all." + xfrmBefore511TX,
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
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xfrm_tmpl_resolve_one", "net/xfrm/xfrm_policy.c:xfrm_resolve_and_create_bundle"},
		Kernels: ">=6.10 (SA direction attribute); XfrmOutPolError moves too. GRE/IPIP/SIT and ip6 " +
			"tunnels over IPsec reach the same lookup for their outer packet (the error is not -EREMOTE, so no " +
			"blackhole route)",
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
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_xmit", "net/ipv6/ip6_vti.c:vti6_xmit",
			"net/xfrm/xfrm_interface_core.c:xfrmi_xmit2", "net/ipv4/ip_tunnel.c:ip_tunnel_xmit",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_xmit",
			"net/ipv6/sit.c:ipip6_tunnel_xmit"},
		Kernels: "all (sit's path-MTU case too: 5.10.262, 6.1.172, 6.12.117 and 7.3.4 read)." + xfrmBefore511TX,
		Explanation: "After encapsulation the packet would leave through the tunnel itself: the route to the peer (or a default " +
			"route) points into the tunnel. On a sit tunnel collisions also counts an IPv6 packet sent with the tunnel's " +
			"DF set (pmtudisc) when the underlay route's MTU minus the tunnel header is below 68 (ipip6_tunnel_xmit): a " +
			"broken underlay MTU rather than a loop. Apart from that, collisions counts nothing else on tunnels.",
		Checks: []CheckTemplate{chkRouteRemote, {Command: "ip route show dev {dev}", Why: "routes that send " +
			"traffic into the tunnel; none may cover {remote}"}, chkDmesgLoop},
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
		Checks: []CheckTemplate{{Command: "ip route get {remote}", Why: "the path MTU towards the peer"},
			{Command: "ip link show dev {dev}", Why: "the tunnel's own MTU"}, chkLinkStats},
	},
	{
		ID:    "tx-unsupported-protocol",
		Title: "Packet the tunnel cannot carry (not IPv4/IPv6, truncated headers, or missing metadata)",
		Signature: Signature{Link: append(sigErrsOnly[:len(sigErrsOnly):len(sigErrsOnly)],
			LinkSignature{Kinds: kindsWG, Counters: []string{cTxErrors}, Note: "wg_check_packet_protocol: only a packet socket or BPF sends one"})},
		KernelRefs: []string{"net/ipv4/ip_vti.c:vti_tunnel_xmit", "net/ipv6/ip6_vti.c:vti6_tnl_xmit", "net/xfrm/xfrm_interface_core.c:xfrmi_xmit",
			"net/ipv4/ip_tunnel.c:ip_tunnel_xmit", "net/ipv4/ipip.c:ipip_tunnel_xmit",
			"net/ipv6/sit.c:sit_tunnel_xmit", "net/ipv6/sit.c:ipip6_tunnel_xmit",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_start_xmit", "net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit",
			"drivers/net/wireguard/device.c:wg_xmit", "drivers/net/wireguard/queueing.h:wg_check_packet_protocol"},
		Kernels: "all (header check with pskb_inet_may_pull from 4.19; WireGuard: " + wgKernels + ")." + xfrmBefore511TX,
		Explanation: "The packet's protocol is neither IPv4 nor IPv6 (nor MPLS where the tunnel carries it), its headers are " +
			"truncated, or (vti6, ip6tnl) it conflicts with the tunnel's addresses or protocol; on a collect_md xfrm interface " +
			"a packet came without xfrm metadata; on GRE/IPIP/SIT an NBMA tunnel could not find the inner next hop, a sit " +
			"tunnel could not take the IPv4 destination from an ISATAP/6to4/6rd address, GSO preparation failed (ipip, sit) " +
			"or the FOU/GUE encapsulation failed. GRE, gretap and erspan count their own truncated-header and GSO " +
			"failures as tx_dropped alone (tx-gre-drop), not here. On WireGuard: the packet's protocol field does not " +
			"match its IP header's version, which the IP stack never sends; only a packet socket or BPF can.",
		Checks: []CheckTemplate{chkLinkStats, {Command: "tcpdump -eni {dev} -c 20", Why: "look at what is being sent into the tunnel"},
			{Command: "ss -0 -n -p", Why: "the packet sockets and their processes: the packets the IP stack sends always pass this check"}},
	},
	// ---- TX: failures after dst_output(): the IPsec transform and the underlay ----
	{
		ID:    "tx-sa-expired",
		Title: "The SA reached its hard byte or packet limit while sending",
		Signature: Signature{
			Link: sigOutputVTI,
			MIB:  []string{"XfrmOutStateExpired"},
		},
		KernelRefs: []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_state.c:xfrm_state_check_expire"},
		Kernels:    "all." + xfrmBefore511Out,
		Explanation: "The outbound SA hit its hard lifetime (bytes or packets) before the IKE daemon " +
			"replaced it: packets are dropped until the new SA is installed. Soft lifetimes too close to hard " +
			"ones, or a slow daemon.",
		Checks: []CheckTemplate{chkStateOut, chkIKE},
	},
	{
		ID:    "tx-seq-overflow",
		Title: "The SA's outbound sequence number ran out",
		Signature: Signature{
			Link: sigOutputVTI,
			MIB:  []string{"XfrmOutStateSeqError"},
		},
		KernelRefs: []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_replay.c:xfrm_replay_overflow"},
		Kernels:    "all." + xfrmBefore511Out,
		Explanation: "The SA sent 2^32 packets (2^64 with ESN) and may not wrap its sequence number: it " +
			"must be rekeyed. Enable ESN or rekey by packets sooner.",
		Checks: []CheckTemplate{chkStateOut, chkIKE},
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
		KernelRefs: []string{"net/xfrm/xfrm_output.c:xfrm_output_one",
			"net/xfrm/xfrm_output.c:xfrm4_tunnel_check_size", "net/xfrm/xfrm_output.c:xfrm6_tunnel_check_size"},
		Kernels: "all." + xfrmBefore511Out,
		Explanation: "Adding the outer header failed; usually the packet with DF set does not fit the path " +
			"MTU after encapsulation (EMSGSIZE, an ICMP is sent back).",
		Checks: []CheckTemplate{{Command: "ip route get {remote}", Why: "the path MTU towards the peer"}, chkStateOut},
	},
	{
		ID:    "tx-output-error",
		Title: "IPsec output or the underlay failed after the packet left the tunnel",
		Signature: Signature{
			Link:           sigOutputVTI,
			MIB:            []string{"XfrmOutError"},
			AlsoWithoutMIB: true,
		},
		KernelRefs: []string{"net/xfrm/xfrm_output.c:xfrm_output_one", "net/xfrm/xfrm_output.c:xfrm_output",
			"include/net/ip_tunnels.h:iptunnel_xmit_stats"},
		Kernels: "all." + xfrmBefore511Out,
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
				{Kinds: kindsVTIBoth, Counters: []string{cTxAborted, cTxErrors}, Note: "only a synchronous " +
					"transform error; a full crypto queue is counted as sent"},
			},
			MIB:      []string{"XfrmOutStateProtoError"},
			SilentOn: kindsVTIBoth,
		},
		KernelRefs: []string{"net/ipv4/esp4.c:esp_output_tail", "net/ipv6/esp6.c:esp6_output_tail",
			"net/xfrm/xfrm_output.c:xfrm_output_one", "net/ipv4/esp4.c:esp_output_done",
			"net/xfrm/xfrm_device.c:validate_xmit_xfrm"},
		Kernels: "all. The crypto queue returns -EBUSY up to 4.13 and -ENOSPC from 4.17 on, which ESP turns into NET_XMIT_DROP; " +
			"VTI (and vti6 from 4.19) counts a positive NET_XMIT_DROP as one packet of one byte sent." + xfrmBefore511Out,
		Explanation: "The ESP/AH transform failed. Under load this is the asynchronous crypto engine's queue being full: " +
			"ESP drops the packet and XfrmOutStateProtoError counts it, but a VTI counts it as transmitted. An asynchronous " +
			"crypto failure after the fact is also counted here and nowhere else, and so is a packet that crypto offload " +
			"refused on the underlay (validate_xmit_xfrm), which every tunnel has already counted as sent. pktgen's IPsec " +
			"mode counts its own failures in the same MIB counter.",
		Checks: []CheckTemplate{chkXfrmStat, {Command: "grep -A4 -E 'name +: (.*aes.*|.*gcm.*)' " +
			"/proc/crypto", Why: "which crypto driver (async engine or CPU) handles the SA's algorithm"},
			{Command: "mpstat -P ALL 1 5", Why: "whether a CPU is saturated by crypto work (sysstat)"}},
	},
	{
		ID:    "tx-queue-full",
		Title: "A queue on the way out was full (policy hold queue, IPTFS queue, or the underlay's qdisc)",
		Signature: Signature{
			Link: []LinkSignature{
				{Kinds: kindsVTIBoth, Counters: []string{cTxAborted, cTxErrors}, Note: "the policy hold queue (xfrm_larval_drop=0, 5.9+) is full"},
				{Kinds: []string{KindXfrm}, Counters: []string{cTxAborted, cTxErrors}, Note: "the underlay's qdisc " +
					"dropped (NET_XMIT_DROP), seen only when the crypto completed synchronously; a full IP-TFS queue is " +
					"counted as sent"},
			},
			MIB:            []string{"XfrmOutNoQueueSpace"},
			AlsoWithoutMIB: true,
			SilentOn:       kindsVTIBoth,
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:xdst_queue_output",
			"net/xfrm/xfrm_iptfs.c:iptfs_output_collect", "net/core/dev.c:__dev_xmit_skb"},
		Kernels: "hold queue: VTI/vti6 5.9+ with net.core.xfrm_larval_drop=0; IPTFS (XfrmOutNoQueueSpace): 6.14+, xfrm interfaces " +
			"only (vti_state_check and vti6_state_check accept only tunnel-mode SAs), and iptfs_output_collect frees the packet " +
			"and returns 0, so the interface counts it as sent; qdisc drop: xfrm interfaces count it when the transform ran " +
			"synchronously (an asynchronous one returns -EINPROGRESS, and the qdisc's verdict never comes back), VTI counts " +
			"it as sent." + xfrmBefore511Out,
		Explanation: "While an SA is being negotiated the policy holds up to 100 packets (only with xfrm_larval_drop=0); more " +
			"are dropped. An IPTFS SA's queue can fill up (that drop is visible only in XfrmOutNoQueueSpace: the link counts " +
			"the packet as sent). The underlay's qdisc can drop the encapsulated packet. None of these moves a MIB counter " +
			"except the IPTFS one.",
		Checks: []CheckTemplate{chkLarvalDrop, {Command: "tc -s qdisc show dev {underlay}", Why: "drops and " +
			"overlimits on the underlay's queue"}, chkXfrmStat},
	},
	{
		ID:    "tx-netfilter-drop",
		Title: "Netfilter dropped the encapsulated packet",
		Signature: Signature{
			Link: sigOutputVTI,
		},
		KernelRefs: []string{"net/xfrm/xfrm_output.c:xfrm_output_resume", "net/netfilter/core.c:nf_hook_slow"},
		Kernels:    "all." + xfrmBefore511Out,
		Explanation: "A netfilter rule in OUTPUT or POSTROUTING dropped the packet after encryption " +
			"(nf_hook returns EPERM, which the tunnel counts as an output error). No XFRM counter moves.",
		Checks: []CheckTemplate{{Command: "nft list ruleset", Why: "look for drop rules matching ESP " +
			"(proto 50) or the peer {remote}; iptables-save for legacy rules"}, chkLinkStats},
	},
	{
		ID:    "tx-core-drop",
		Title: "The network core dropped the packet before the tunnel driver saw it",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsAll, Counters: []string{cTxDropped}},
		}},
		KernelRefs: []string{"net/core/dev.c:__dev_queue_xmit"},
		Kernels: "all. On xfrm interfaces before 5.11 (5.10 LTS included) every TX failure the " +
			"interface counts itself also shows as tx_dropped alone, because only tx_dropped is exported there. " +
			"WireGuard counts its own drops as tx_dropped alone too (tx-wg-staged-overflow, tx-wg-staged-purged)",
		Explanation: "tx_dropped moved without any tunnel error: the core dropped the packet (device down, " +
			"or a transmit validation such as GSO segmentation failed). On an xfrm interface of a kernel before " +
			"5.11, tx_dropped alone is also every lookup, routing-loop, MTU or protocol failure of the " +
			"interface itself (its other TX counters are not exported).",
		Checks: []CheckTemplate{{Command: "ip link show dev {dev}", Why: "whether the tunnel is up"}, chkLinkStats},
	},
}
