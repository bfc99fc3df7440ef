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
