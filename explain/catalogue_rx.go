package explain

// causesRX are the causes of a packet arriving through a tunnel: IPsec
// input on VTIs and xfrm interfaces, then receive drops that are no IPsec
// input error (backlog, metadata, a spoofed SIT source, an unknown
// endpoint) and the forward policy check's header error.
var causesRX = []Cause{
	// ---- RX: IPsec input (VTI and xfrm interfaces) ----
	{
		ID:    "rx-no-sa",
		Title: "Inbound ESP/AH packet for an unknown SPI, or no SA with the tunnel's ikey mark",
		Signature: Signature{
			Link: sigRxVTI,
			MIB:  []string{"XfrmInNoStates"},
		},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv4/ip_vti.c:vti_rcv_cb", "net/ipv6/ip6_vti.c:vti6_rcv_cb"},
		Kernels:    ">=3.15. xfrm interfaces do not count it on the link (namespace-wide only)",
		Since:      KernelVersion{Major: 3, Minor: 15},
		Explanation: "The VTI matched the packet by its outer addresses and looked its SA up by SPI with " +
			"the tunnel's ikey as mark: there is none. The peer uses an SA this side deleted (or never " +
			"installed), or the inbound SA's mark is not the tunnel's ikey.",
		Checks: []CheckTemplate{chkStateIn, chkLinkDetails, chkIKE},
	},
	{
		ID:         "rx-integrity-failed",
		Title:      "Inbound packet failed its integrity check (ICV), or its ESP payload was malformed",
		Signature:  Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateProtoError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv4/esp4.c:esp_input_done2"},
		Kernels: "all. With mlx5 packet offload (the 6.12.117 and 7.3.4 trees; not 6.1.172) the driver " +
			"adds its own drop counts to this MIB counter in bulk (mlx5e_xfrm_update_stats, XFRM_ADD_STATS), " +
			"with no link counter moving." + xfrmBefore511RX,
		Explanation: "Decryption or authentication failed (EBADMSG: the SA's integrity_failed counter moves " +
			"too): the keys differ between peers, or packets are corrupted in the underlay.",
		Checks: []CheckTemplate{chkStateIn, chkIKE},
	},
	{
		ID:         "rx-replay",
		Title:      "Inbound packet replayed or outside the anti-replay window",
		Signature:  Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateSeqError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_replay.c:xfrm_replay_check"},
		Kernels: "all. With mlx5 packet offload (the 6.12.117 and 7.3.4 trees; not 6.1.172) the driver " +
			"adds its own drop counts to this MIB counter in bulk (mlx5e_xfrm_update_stats, XFRM_ADD_STATS), " +
			"with no link counter moving." + xfrmBefore511RX,
		Explanation: "The sequence number was seen before or is older than the replay window: reordering in " +
			"the underlay beyond the window (raise replay-window), QoS reordering, or a real replay.",
		Checks: []CheckTemplate{chkStateIn},
	},
	{
		ID:    "rx-no-policy",
		Title: "Decapsulated packet matches no inbound policy (or the inbound default is block)",
		Signature: Signature{
			Link: sigRxPolicyCheck,
			MIB:  []string{"XfrmInNoPols"},
		},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/ipv4/ip_vti.c:vti_rcv_cb",
			"net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:     "all (the inbound default block: mainline 5.15, 5.10.y from 5.10.118)." + xfrmBefore511RX,
		Explanation: "The packet was decrypted by a tunnel-mode SA but no inbound policy (looked up with the tunnel's ikey as mark) allows it.",
		Checks:      []CheckTemplate{chkPolicyIn, chkPolicyDefault},
	},
	{
		ID:        "rx-template-mismatch",
		Title:     "Decapsulated packet's SAs do not match the inbound policy's templates",
		Signature: Signature{Link: sigRxPolicyCheck, MIB: []string{"XfrmInTmplMismatch"}},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:__xfrm_policy_check",
			"net/xfrm/xfrm_policy.c:xfrm_policy_ok", "net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels: "all." + xfrmBefore511RX,
		Explanation: "An inbound policy matched but the SA the packet came through is not the one its " +
			"template names (other endpoints, mode, or reqid).",
		Checks: []CheckTemplate{chkPolicyIn, chkStateIn},
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
		ID:         "rx-encap-mismatch",
		Title:      "Inbound packet's encapsulation or inner addresses do not match its SA",
		Signature:  Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateMismatch"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_policy.c:__xfrm_policy_check"},
		Kernels:    "all." + xfrmBefore511RX,
		Explanation: "The packet came with another UDP encapsulation (NAT-T) than its SA expects, or " +
			"(VTI/vti6, after decryption) its inner addresses are outside the SA's selector.",
		Checks: []CheckTemplate{chkStateIn},
	},
	{
		ID:         "rx-mode-error",
		Title:      "Inbound mode processing failed (tunnel check or inner mode)",
		Signature:  Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmInStateModeError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/ipv4/ip_vti.c:vti_rcv_cb"},
		Kernels:    "all." + xfrmBefore511RX,
		Explanation: "The decrypted payload does not fit the SA's mode: an inner protocol the SA does not " +
			"allow, or (VTI with an AF_UNSPEC selector) no inner mode for the payload.",
		Checks: []CheckTemplate{chkStateIn},
	},
	{
		ID:    "rx-header-error",
		Title: "Inbound IPsec header could not be parsed",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsVTIBoth, Counters: []string{cRxErrors, cRxDropped}},
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only when the packet " +
				"already has a secpath (GRO/offload path, or the SPI of a nested SA after a transport-mode one) or " +
				"the interface is in another namespace (policy check); not the first SPI parse"},
		}, MIB: []string{"XfrmInHdrError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input",
			"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/xfrm/espintcp.c", "net/xfrm/xfrm_iptfs.c",
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
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only an offloaded " +
				"crypto failure (GRO/offload path) or, in another namespace, too many templates; not the " +
				"XFRM_MAX_DEPTH case (the secpath is reset first)"},
		}, MIB: []string{"XfrmInBufferError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input",
			"net/xfrm/xfrm_policy.c:__xfrm_policy_check", "net/ipv6/xfrm6_input.c:xfrm6_input_addr",
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
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "only the lost route " +
				"(skb_dst_force); a failed secpath_set leaves no secpath and the interface counts nothing"},
		}, MIB: []string{"XfrmInError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/espintcp.c",
			"net/ipv6/xfrm6_input.c:xfrm6_input_addr", "net/xfrm/xfrm_iptfs.c"},
		Kernels: "all (IP-TFS from 6.14)." + xfrmBefore511RX,
		Explanation: "The kernel could not attach the security path (no memory) or the packet lost its route during input; " +
			"for ESP in TCP, the stream's buffer was full; also xfrm6_input_addr (Mobile IPv6) and IP-TFS allocation failures.",
		Checks: []CheckTemplate{chkXfrmStat},
	},
	{
		ID:         "rx-acquire-error",
		Title:      "Inbound packet for an SA that is still being negotiated (larval)",
		Signature:  Signature{Link: sigRxVTIAndXfrm, MIB: []string{"XfrmAcquireError"}},
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input"},
		Kernels:    "all." + xfrmBefore511RX,
		Explanation: "The SPI matched a placeholder SA that the kernel created while asking the IKE daemon " +
			"for a key: the peer already sends on an SA this side has not installed.",
		Checks: []CheckTemplate{chkStateIn, chkIKE},
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
		ID: "rx-backlog-full",
		Title: "Decapsulated packet dropped by the network core on its way into the stack (backlog full, " +
			"device down, or no handler for its protocol)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsAll, Counters: []string{cRxDropped}},
		}},
		KernelRefs: []string{"net/core/gro_cells.c:gro_cells_receive", "net/core/dev.c:enqueue_to_backlog",
			"net/core/dev.c:__netif_receive_skb_core"},
		Kernels: "all (gro_cells from 4.19; netif_rx before). On xfrm interfaces before 5.11 (5.10 LTS included) every RX " +
			"IPsec failure the interface counts also shows as rx_dropped alone, because only rx_dropped is exported there. " +
			"WireGuard hands packets up through each peer's NAPI (napi_gro_receive): there only the no-handler drop " +
			"and, with RPS, the backlog apply",
		Explanation: "The packet was decrypted/decapsulated and then dropped by the core: the per-CPU queue was longer than " +
			"net.core.netdev_max_backlog, the tunnel was down, or no protocol handler took the inner packet (an inner " +
			"protocol this host does not run, such as MPLS without the mpls_router module, or IPv6 when it is disabled: " +
			"__netif_receive_skb_core counts rx_dropped on the tunnel). rx_dropped moved without rx_errors. On an xfrm " +
			"interface of a kernel before 5.11 it is also every IPsec RX failure the interface counts (rx_errors is not " +
			"exported there).",
		Checks: []CheckTemplate{{Command: "sysctl net.core.netdev_max_backlog", Why: "the queue length " +
			"limit"}, {Command: "cat /proc/net/softnet_stat", Why: "the second column counts backlog drops per " +
			"CPU"},
			{Command: "ip -s -s link show dev {dev}", Why: "on a recent iproute2, rx_nohandler is printed too " +
				"(drops with no handler on an exact-match device)"}},
	},
	{
		ID:    "rx-metadata-nomem",
		Title: "xfrm interface in collect_md mode could not allocate the packet's metadata",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindXfrm}, Counters: []string{cRxErrors, cRxDropped}, Note: "collect_md (external) interfaces only"},
		}},
		KernelRefs: []string{"net/xfrm/xfrm_interface_core.c:xfrmi_rcv_cb"},
		Kernels:    ">=6.1 (collect_md xfrm interfaces; present in 6.1.172, 6.12.117 and 7.3.4, absent in 5.10.262)",
		Since:      KernelVersion{Major: 6, Minor: 1},
		Explanation: "The packet was decrypted and passed its checks, but metadata_dst_alloc() failed " +
			"(GFP_ATOMIC, no memory), so xfrmi_rcv_cb returned -ENOMEM and xfrm_input dropped it. No XFRM MIB " +
			"counter moves.",
		Checks: []CheckTemplate{{Command: "grep -E 'MemAvailable|Slab' /proc/meminfo", Why: "memory pressure"}, chkLinkDetails},
	},
	{
		ID:    "rx-sit-spoofed",
		Title: "sit: the packet's outer IPv4 source does not match its inner IPv6 source (ISATAP, 6to4, 6rd check)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindSIT}, Counters: []string{cRxErrors}, Note: "rx_errors alone, IPv6 inside"},
		}},
		KernelRefs: []string{"net/ipv6/sit.c:ipip6_rcv", "net/ipv6/sit.c:packet_is_spoofed"},
		Kernels:    "all (read in 5.10.262, 6.1.172, 6.12.117, 7.3.4)",
		Explanation: "packet_is_spoofed() refused the packet: on an ISATAP tunnel the source is not an " +
			"allowed router or its inner address does not embed the outer one; otherwise the inner IPv6 source " +
			"is a 6to4/6rd or IPv4-compatible address that does not carry the outer IPv4 source. A " +
			"misconfigured peer or a spoofed packet.",
		Checks: []CheckTemplate{chkLinkDetails, {Command: "tcpdump -ni {underlay} -c 20 ip proto 41",
			Why: "compare each packet's outer IPv4 source with its inner IPv6 source"}},
	},
	{
		ID:    "rx-endpoint-mismatch",
		Title: "vti6: packet's outer addresses failed the tunnel's receive check",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: []string{KindVTI6}, Counters: []string{cRxDropped}},
		}},
		KernelRefs: []string{"net/ipv6/ip6_vti.c:vti6_input_proto", "net/ipv6/ip6_tunnel.c:ip6_tnl_rcv_ctl"},
		Kernels:    "all",
		Explanation: "ip6_tnl_rcv_ctl() refused the packet: the tunnel's local address is not an address of " +
			"this host, or the remote address is one of ours.",
		Checks: []CheckTemplate{chkLinkDetails, {Command: "ip -6 addr show", Why: "the tunnel's local address must be configured on this host"}},
	},
	{
		ID:         "fwd-header-error",
		Title:      "Forwarded packet could not be decoded or routed for the IPsec check",
		Signature:  Signature{MIB: []string{"XfrmFwdHdrError"}},
		KernelRefs: []string{"net/xfrm/xfrm_policy.c:__xfrm_route_forward"},
		Kernels:    "all",
		Explanation: "A packet being forwarded could not be decoded into a flow, or had no route, when the " +
			"kernel checked it against the forward policies.",
		Checks: []CheckTemplate{{Command: "ip xfrm policy list dir fwd", Why: "the forward policies"}},
	},
}
