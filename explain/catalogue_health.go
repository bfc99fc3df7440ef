package explain

// Risks: states of an SA or a tunnel that will drop packets unless
// something changes. They count no events (their signatures are empty, so
// Explain never matches them to counters): a Tracker raises them from the
// SA dump, its lifetimes and sequence numbers, and from the tunnels'
// traffic over several readings. The drops they foresee are counted, when
// they happen, under the tx and rx causes they name.
var causesHealth = []Cause{
	{
		ID:    "sa-soft-expired-no-rekey",
		Title: "The SA passed its soft limit and no replacement is installed",
		KernelRefs: []string{"net/xfrm/xfrm_state.c:xfrm_timer_handler", "net/xfrm/xfrm_state.c:xfrm_state_check_expire",
			"net/xfrm/xfrm_user.c:xfrm_exp_state_notify"},
		Kernels: "all. The kernel marks the SA dying and sends XFRM_MSG_EXPIRE (soft) once, when the soft time limit " +
			"passes (xfrm_timer_handler) or the byte or packet limit is reached (xfrm_state_check_expire); it keeps " +
			"using the SA until the hard limit deletes it.",
		Explanation: "The soft limit is the key manager's signal to rekey. The SA is past it and the tunnel has no newer SA " +
			"in the same direction: when the hard limit comes, the kernel deletes the SA and packets are dropped " +
			"(tx-no-sa outbound, rx-no-sa inbound) until a new one is installed. The IKE daemon is down, did not see " +
			"the expire, or the peer refuses the rekey.",
		Checks: []CheckTemplate{chkStateSA, chkIKE, chkMonitorXfrm},
	},
	{
		ID:    "sa-lifetime-margin",
		Title: "The SA's hard limit is too close to its soft limit for a rekey to finish",
		KernelRefs: []string{"net/xfrm/xfrm_state.c:xfrm_timer_handler", "net/xfrm/xfrm_state.c:xfrm_state_check_expire",
			"net/xfrm/xfrm_user.c:xfrm_add_sa"},
		Kernels: "all. Time limits are in seconds (xfrm_timer_handler); byte and packet limits are checked per packet " +
			"(xfrm_state_check_expire). A hard limit with no soft limit expires the SA without any warning.",
		Explanation: "Between the soft limit (rekey now) and the hard limit (the SA is deleted) the key manager must " +
			"negotiate and install a new SA. This SA leaves less than the margin between them (or has a hard limit and " +
			"no soft one), so each rekey risks a gap in which packets find no SA: tx-no-sa bursts at every rekey. " +
			"Set the soft limit well before the hard one (strongSwan: rekey_time below life_time, with margin).",
		Checks: []CheckTemplate{chkStateSA, chkIKE},
	},
	{
		ID:         "sa-seq-exhaustion",
		Title:      "The outbound SA will run out of sequence numbers before it is rekeyed",
		KernelRefs: []string{"net/xfrm/xfrm_replay.c:xfrm_replay_overflow", "net/xfrm/xfrm_output.c:xfrm_output_one"},
		Kernels: "all. Without ESN the sequence number is 32 bits and may not wrap (unless the SA has the oseq-may-wrap " +
			"flag, 6.2+ for offloaded SAs); with ESN it is 64 bits.",
		Explanation: "At the rate it sent since the previous reading, the SA uses its last sequence number before its " +
			"soft limit asks for a rekey. From then on every packet fails with XfrmOutStateSeqError (tx-seq-overflow) " +
			"until a new SA is installed. Rekey by packets or bytes sooner, or use ESN.",
		Checks: []CheckTemplate{chkStateSA, chkIKE},
	},
	{
		ID:         "tunnel-one-way",
		Title:      "The tunnel carries packets in one direction only",
		KernelRefs: []string{"net/xfrm/xfrm_input.c:xfrm_input", "net/xfrm/xfrm_output.c:xfrm_output_one"},
		Kernels:    "all: the SAs' lifetime counters count every packet each SA carried.",
		Explanation: "For several readings in a row the tunnel's SAs of one direction counted packets while those of " +
			"the other counted none. Traffic is sent but nothing comes back (the peer drops it, replies take another " +
			"path, or the peer's SAs differ from this side's), or this side receives and never answers. Compare the " +
			"peer's counters and the error counters on both sides.",
		Checks: []CheckTemplate{chkStateSA, chkXfrmStat},
	},
}

// Checks of the risks. {local} is the SA's source, {remote} its
// destination, {spi_out} its SPI.
var (
	chkStateSA = CheckTemplate{
		Command: "ip -s xfrm state get src {local} dst {remote} proto esp spi {spi_out}",
		Why:     "the SA's lifetime limits and current use, its sequence numbers and its error counters",
	}
	chkMonitorXfrm = CheckTemplate{
		Command: "ip xfrm monitor",
		Why:     "the expires, acquires and new SAs as they happen: a rekey shows as a new SA, then the old one's delete",
	}
)

// The risks of WireGuard peers (tracker_wireguard.go). WireGuard counts no
// failed handshake, decryption or authentication on any device counter:
// these risks, from the peer's byte counters and handshake time, are all
// that show them.
var causesHealthWireGuard = []Cause{
	{
		ID:    "tunnel-wg-handshake-failing",
		Title: "A WireGuard peer is sent handshake initiations and answers none",
		KernelRefs: []string{"drivers/net/wireguard/send.c:wg_packet_send_handshake_initiation",
			"drivers/net/wireguard/timers.c:wg_expired_retransmit_handshake", "drivers/net/wireguard/socket.c:wg_socket_send_skb_to_peer",
			"drivers/net/wireguard/receive.c:wg_receive_handshake_packet", "drivers/net/wireguard/noise.c:wg_noise_handshake_consume_response"},
		Kernels: wgKernels + ". REKEY_TIMEOUT 5 s, REJECT_AFTER_TIME 180 s and the 148-byte initiation are the " +
			"same in all of them; a peer's tx_bytes count every UDP payload sent to it (wg_socket_send_skb_to_peer), its rx_bytes " +
			"every one received and authenticated (receive.c)",
		Explanation: "Over one or more intervals between readings in a row the peer had no session (no handshake " +
			"completed in them, and the last one was over 180 seconds old already at their start), received nothing, " +
			"and was sent at least two handshake initiations' worth of bytes: an initiation is resent only after " +
			"REKEY_TIMEOUT (5 s) without an answer. The traffic for it waits in its staged queue and is dropped (tx-wg-staged-overflow, then " +
			"tx-wg-staged-purged when the kernel gives up after about 90 s). WireGuard counts no failed handshake: " +
			"a wrong public key on either side, a preshared key that differs, the peer down or unreachable at its " +
			"endpoint, a firewall on the UDP port, or a clock that went back on the peer all look the same here.",
		Checks: []CheckTemplate{chkWGPeerHandshake, chkWGEndpoints, chkWGTransfer,
			{Command: "wg show {dev} peers", Why: "the public keys this side knows: the peer's configuration must name this side's public key, and this side must list {peer}"},
			chkWGDebug},
	},
	{
		ID:         "tunnel-wg-one-way",
		Title:      "A WireGuard peer carries data in one direction only",
		KernelRefs: []string{"drivers/net/wireguard/socket.c:wg_socket_send_skb_to_peer", "drivers/net/wireguard/receive.c:update_rx_stats", "drivers/net/wireguard/timers.c:wg_timers_data_received"},
		Kernels:    wgKernels + ". KEEPALIVE_TIMEOUT is 10 s in all of them",
		Explanation: "In several readings, over more than 20 seconds, more bytes went one way than " +
			"handshakes and keepalives can account for, and since the first of them not a byte came the other " +
			"way (a silence both ways ends the run only when it lasts over 10 seconds). A peer that receives " +
			"data sends a keepalive within KEEPALIVE_TIMEOUT (10 s) when it has nothing else to send, so silence " +
			"the other way means the data does not arrive or the answers are lost: the peer's endpoint is stale " +
			"(it roamed), a firewall or NAT drops one direction, or the peer decrypts nothing (WireGuard counts " +
			"no decryption or authentication failure).",
		Checks: []CheckTemplate{chkWGTransfer, chkWGEndpoints, chkWGPeerHandshake, chkWGDebug},
	},
}
