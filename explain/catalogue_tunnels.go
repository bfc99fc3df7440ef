package explain

// causesIPTunnel are the causes that GRE, IPIP, SIT and ip6 tunnels count
// (ip_tunnel, ip6_tunnel, ip6_gre), sending and receiving.
var causesIPTunnel = []Cause{
	// ---- IP tunnels (GRE, IPIP, SIT, ip6 tunnels) ----
	{
		ID:    "tx-nbma-no-dst",
		Title: "NBMA tunnel (no remote address) got a packet without a route to take the next hop from",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindGRE, KindGRETap, KindERSPAN, KindIPIP}, Counters: []string{cTxFIFO, cTxErrors}},
			{Kinds: []string{KindSIT}, Counters: []string{cTxFIFO, cTxErrors}, Note: "IPv4 or MPLS inside " +
				"(sit_tunnel_xmit__ hands them to ip_tunnel_xmit); IPv6 inside takes its next hop from the " +
				"neighbour entry instead"},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel.c:ip_tunnel_xmit", "net/ipv6/sit.c:sit_tunnel_xmit__"},
		Kernels:    "all (sit: read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "A tunnel without a remote address takes the outer destination from the packet's " +
			"route; this packet had none. tx_fifo_errors counts nothing else on IP tunnels.",
		Checks: []CheckTemplate{chkLinkDetails, {Command: "ip route show dev {dev}", Why: "NBMA " +
			"tunnels need routes (or neighbour entries) via {dev} with a next hop"}},
	},
	{
		ID:    "tx-local-out-error",
		Title: "Sending the outer packet failed (ip_local_out), or no headroom for the outer header",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPv4Tnl, Counters: []string{cTxDropped}, Note: "IPv4 outer header: only tx_dropped"},
			{Kinds: kindsIPv6Tnl, Counters: []string{cTxAborted, cTxErrors}, Note: "IPv6 outer header: ip6_local_out failed"},
			{Kinds: kindsIPv6Tnl, Counters: []string{cTxErrors, cTxDropped}, Note: "IPv6 outer header: no " +
				"headroom (skb_realloc_headroom up to 6.1, skb_cow_head from 6.12 in ip6_tnl_xmit)"},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel_core.c:iptunnel_xmit",
			"include/net/ip6_tunnel.h:ip6tunnel_xmit", "net/ipv4/ip_tunnel.c:ip_tunnel_xmit",
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
			{Kinds: []string{KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN}, Counters: []string{cTxDropped},
				Note: "collect_md: no valid tunnel metadata (skb_tunnel_info_txcheck); every other failure also " +
					"counts tx_errors"},
		}},
		KernelRefs: []string{"net/ipv4/ip_gre.c:ipgre_xmit", "net/ipv4/ip_gre.c:gre_tap_xmit", "net/ipv4/ip_gre.c:erspan_xmit",
			"net/ipv4/ip_gre.c:gre_fb_xmit", "net/ipv4/ip_gre.c:erspan_fb_xmit",
			"net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit", "net/ipv6/ip6_gre.c:ip6erspan_tunnel_xmit"},
		Kernels: "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "The GRE driver dropped the packet before encapsulating it and counted only tx_dropped: " +
			"pskb_inet_may_pull found the inner headers truncated, gre_handle_offloads (GSO/checksum preparation) or " +
			"skb_cow_head failed, a header_ops (ip gre with a link-layer header) frame was too short, an ERSPAN frame could " +
			"not be trimmed or had an unknown version, or a collect_md (external) tunnel got a packet without usable tunnel " +
			"metadata (an eBPF or OVS path that did not set it).",
		Checks: []CheckTemplate{chkLinkStats, chkLinkDetails, {Command: "tcpdump -eni {dev} -c 20",
			Why: "look at what is being sent into the tunnel"}},
	},
	{
		ID:    "tx-tunnel-recursion",
		Title: "Tunnel nesting too deep: the kernel's tunnel recursion limit stopped the packet (\"Dead loop on virtual device\")",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPTnl, Counters: []string{cTxErrors}},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel_core.c:iptunnel_xmit",
			"include/net/ip6_tunnel.h:ip6tunnel_xmit", "include/net/ip_tunnels.h:IP_TUNNEL_RECURSION_LIMIT"},
		Kernels: "from \"net: add xmit recursion limit to tunnel xmit functions\" (mainline commit " +
			"6f1a9140ecda, early 2026: the 7.0 cycle, release not pinned from a tree); in 6.12.y from " +
			"6.12.78 (present in 6.12.117 and 7.3.4; absent in 6.1.172 and 5.10.262; other stable series not checked). A fix " +
			"for a CVE (CVE-2026-23276) reaches other stable series as they take it, so Since says 5.10: every kernel of " +
			"the matrix is offered it, older builds though they cannot produce it",
		Since: KernelVersion{Major: 5, Minor: 10},
		Explanation: "The packet went through more than IP_TUNNEL_RECURSION_LIMIT (5) nested tunnel transmits on this CPU, " +
			"so iptunnel_xmit (IPv4 outer header) or ip6tunnel_xmit (IPv6 outer header) dropped it and counted tx_errors " +
			"alone on the tunnel: tunnels routed into each other in a loop, or stacked too deep. The kernel logs \"Dead loop " +
			"on virtual device\".",
		Checks: []CheckTemplate{{Command: "dmesg | grep -i 'dead loop'", Why: "the kernel names the " +
			"device"}, chkRouteRemote, {Command: "ip route show dev {dev}", Why: "routes into the tunnel must " +
			"not cover {remote}"}},
	},
	{
		ID:    "tx-ip6-xmit-ctl",
		Title: "IPv6 tunnel refused to send: its local address is missing or tentative, or its remote address is local",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindVTI6, KindIP6Tnl}, Counters: []string{cTxCarrier, cTxErrors, cTxDropped}},
			{Kinds: []string{KindIP6GRE, KindIP6GRETap, KindIP6ERSPAN}, Counters: []string{cTxErrors,
				cTxDropped}, Note: "checked in ip6gre_tunnel_xmit / ip6erspan_tunnel_xmit before any route lookup"},
		}},
		KernelRefs: []string{"net/ipv6/ip6_tunnel.c:ip6_tnl_xmit_ctl", "net/ipv6/ip6_vti.c:vti6_xmit",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_xmit", "net/ipv6/ip6_gre.c:ip6gre_tunnel_xmit"},
		Kernels: "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "ip6_tnl_xmit_ctl() refused the packet: the tunnel's local address is not (or not yet: DAD tentative) " +
			"configured on this host, or the remote address is one of this host's own (a routing loop, unless the tunnel " +
			"allows local remotes), or the tunnel is not allowed to transmit. vti6 checks the SA's addresses. The kernel " +
			"logs \"Local address not yet configured!\" or \"Routing loop! Remote address found on this node!\".",
		Checks: []CheckTemplate{chkLinkDetails, {Command: "ip -6 addr show", Why: "the tunnel's local " +
			"address must be configured and not tentative; its remote must not be"}, {Command: "dmesg | grep " +
			"-iE 'not yet configured|Remote address found'", Why: "the kernel names the tunnel"}},
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
		KernelRefs: []string{"net/ipv6/ip6_tunnel.c:ipxip6_tnl_xmit",
			"net/ipv6/ip6_tunnel.c:ip6_tnl_parse_tlv_enc_lim", "net/ipv6/ip6_gre.c:prepare_ip6gre_xmit_ipv6"},
		Kernels: "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "An IPv6 packet entering the tunnel carries a tunnel encapsulation limit option of 0: it has already " +
			"been through as many nested tunnels as its sender allowed (RFC 2473). The tunnel drops it and sends an ICMPv6 " +
			"parameter problem back.",
		Checks: []CheckTemplate{chkLinkDetails, chkLinkStats, {Command: "tcpdump -ni {dev} -c 20 ip6",
			Why: "look for IPv6 packets with a destination-options header"}},
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
		KernelRefs: []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv"},
		Kernels:    "all",
		Explanation: "The tunnel expects sequence numbers (iseq) and a packet came without one or out of " +
			"order (reordering in the underlay, or a peer not sending oseq).",
		Checks: []CheckTemplate{chkLinkDetails, chkLinkStats},
	},
	{
		ID:    "rx-length",
		Title: "Decapsulated packet too short for its inner header",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPTnl, Counters: []string{cRxLength, cRxErrors}},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv"},
		Kernels: "recent, and backported to stable series: present in 6.1.y (6.1.192 read, 6.1.176 " +
			"counted it) and 5.10.y (5.10.223 counted it in a VM test); the first release with it is not " +
			"pinned, so no kernel is ruled out",
		Explanation: "pskb_inet_may_pull() found the inner IP header truncated: a malformed or damaged packet.",
		Checks: []CheckTemplate{chkLinkStats, {Command: "tcpdump -ni {underlay} -c 20 host {remote}",
			Why: "look at the encapsulated packets the peer sends"}},
	},
	{
		ID:    "rx-ecn",
		Title: "ECN decapsulation error (CE on a not-ECT inner packet)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsIPTnl, Counters: []string{cRxFrame, cRxErrors}},
		}},
		KernelRefs: []string{"net/ipv4/ip_tunnel.c:ip_tunnel_rcv", "net/ipv6/ip6_tunnel.c:__ip6_tnl_rcv", "net/ipv6/sit.c:ipip6_rcv"},
		Kernels:    "all",
		Explanation: "The outer header carries Congestion Experienced but the inner packet is not " +
			"ECN-capable, which RFC 6040 says to drop. A middlebox marks CE on traffic that did not ask for " +
			"ECN.",
		Checks: []CheckTemplate{chkLinkStats, {Command: "sysctl net.ipv4.ip_tunnel_log_ecn_error " +
			"2>/dev/null; dmesg | grep -i 'non-ECT'", Why: "the kernel logs the offending source when " +
			"log_ecn_error is set"}},
	},
}
