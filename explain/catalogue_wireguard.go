package explain

// causesWireGuard are the error and drop counters of a wireguard link. Every
// increment site was read in drivers/net/wireguard of Debian's linux-source
// 5.10.223, 6.1.172, 6.12.117 and 7.3.4: the driver counts with
// DEV_STATS_INC/DEV_STATS_ADD into dev->stats in wg_xmit (device.c),
// wg_packet_purge_staged_packets (send.c) and wg_packet_consume_data_done
// (receive.c), and nowhere else; its packets and bytes are per-CPU tstats
// (exported by ip_tunnel_get_stats64 in 5.10, dev_get_tstats64 in 6.1, the
// core's NETDEV_PCPU_STAT_TSTATS from 6.12), and dev_get_stats adds the
// core's own drops (tx-core-drop, rx-backlog-full). The code of these sites
// is the same in the four trees.
//
// What the kernel counts nowhere: a handshake message that fails (wrong
// key, cookie or timestamp, under-load rate limiting), a data packet that
// fails decryption or authentication, a replayed or too-old counter, a
// packet for an unknown receiver index, a handshake queue that is full, a
// decrypted packet that pskb_trim cannot trim. All of them are dropped in
// receive.c without a device counter; on transmit, a packet skb_share_check
// cannot copy is dropped uncounted in wg_xmit too. No link finding can name
// them; the peer list's handshake ages and byte counters
// (Tracker: tunnel-wg-handshake-failing, tunnel-wg-one-way) are the only
// trace they leave.
var causesWireGuard = []Cause{
	{
		ID:    "tx-wg-no-peer",
		Title: "No WireGuard peer's allowed IPs contain the packet's destination",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cTxErrors}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/device.c:wg_xmit", "drivers/net/wireguard/allowedips.c:wg_allowedips_lookup_dst"},
		Kernels:    wgKernels,
		Explanation: "A packet was routed into the WireGuard device, but the allowed IPs of none of its peers contain its " +
			"destination, so there is no peer to encrypt it for (wg_xmit returns -ENOKEY and sends an ICMP host " +
			"unreachable back). Typical causes: a route through the device wider than the peers' allowed IPs, a peer " +
			"removed or its allowed IPs replaced, or a device without peers (wg-quick brought it up before the peers " +
			"were set).",
		Checks: []CheckTemplate{chkWGAllowedIPs, chkWGRoutes, chkWGDebug},
	},
	{
		ID:    "tx-wg-no-endpoint",
		Title: "The WireGuard peer for the destination has no endpoint",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cTxErrors}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/device.c:wg_xmit"},
		Kernels:    wgKernels,
		Explanation: "A peer's allowed IPs contain the destination, but the peer has no endpoint: none was configured and " +
			"the peer has sent nothing this side could learn one from (wg_xmit returns -EDESTADDRREQ). An endpoint " +
			"cannot be cleared once set, only lost with the peer: a peer without one was added without it (the " +
			"responding side of a road-warrior setup, before the peer's first packet).",
		Checks: []CheckTemplate{chkWGEndpoints, chkWGShow, chkWGDebug},
	},
	{
		ID:    "tx-wg-gso-error",
		Title: "A GSO packet sent into the WireGuard device could not be segmented",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cTxErrors}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/device.c:wg_xmit", "net/core/dev.c:__skb_gso_segment"},
		Kernels: wgKernels + " (__skb_gso_segment is in net/core/dev.c in 5.10 and 6.1; 6.12 and 7.3 have it in " +
			"net/core/gso.c, which was not among the files read)",
		Explanation: "The packet found a peer with an endpoint and was a GSO super-packet, and skb_gso_segment failed " +
			"(out of memory, or a GSO type the device cannot segment). Rare: a steady count points at memory pressure " +
			"or an offload set by a packet socket or BPF.",
		Checks: []CheckTemplate{chkLinkStats, {Command: "ethtool -k {dev}", Why: "the device's offload features"},
			{Command: "grep -E -e '^(MemAvailable|Slab)' /proc/meminfo", Why: "memory pressure makes segmentation fail"}},
	},
	{
		ID:    "tx-wg-staged-overflow",
		Title: "Packets waiting for a WireGuard handshake overflowed the peer's queue",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cTxDropped}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/device.c:wg_xmit", "drivers/net/wireguard/send.c:wg_packet_send_staged_packets"},
		Kernels:    wgKernels + "; MAX_STAGED_PACKETS is 128 in all of them",
		Explanation: "Packets for a peer wait in its staged queue until the peer has a session (a completed handshake). " +
			"The queue holds 128; each packet beyond that drops the oldest. So the peer had no session while traffic " +
			"for it kept coming: the handshake is not completing (the peer is down or unreachable, its endpoint is " +
			"wrong, or the keys do not match), or is slow to.",
		Checks: []CheckTemplate{chkWGPeerHandshake, chkWGHandshakes, chkWGEndpoints, chkWGTransfer, chkWGDebug},
	},
	{
		ID:    "tx-wg-staged-purged",
		Title: "Packets waiting for a WireGuard handshake were discarded (handshake gave up, device down or peer removed)",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cTxDropped}, Note: "one per packet still staged"},
		}},
		KernelRefs: []string{"drivers/net/wireguard/send.c:wg_packet_purge_staged_packets",
			"drivers/net/wireguard/timers.c:wg_expired_retransmit_handshake", "drivers/net/wireguard/device.c:wg_stop",
			"drivers/net/wireguard/peer.c:peer_remove_after_dead"},
		Kernels: wgKernels + "; the handshake gives up after MAX_TIMER_HANDSHAKES + 2 = 20 attempts, REKEY_TIMEOUT " +
			"(5 s, with jitter) apart: about 90 s",
		Explanation: "The packets still staged for a peer, waiting for a session, were dropped at once: the handshake was " +
			"retried for about 90 seconds without an answer and the kernel gave up, or the device went down, or the " +
			"peer was removed. A steady count means a peer that never answers while traffic for it keeps coming.",
		Checks: []CheckTemplate{chkWGPeerHandshake, chkWGHandshakes, chkWGEndpoints, chkWGTransfer, {Command: "ip link show dev {dev}",
			Why: "whether the device is up (wg_stop purges every peer's queue)"}, chkWGDebug},
	},
	{
		ID:    "rx-wg-src-not-allowed",
		Title: "A WireGuard peer sent a packet from a source address its allowed IPs do not cover",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cRxFrame, cRxErrors}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/receive.c:wg_packet_consume_data_done", "drivers/net/wireguard/allowedips.c:wg_allowedips_lookup_src"},
		Kernels:    wgKernels,
		Explanation: "A packet decrypted and authenticated as coming from a peer carried an inner source address that the " +
			"allowed IPs route to another peer or to none, so WireGuard's cryptokey routing refused it. The peer's " +
			"allowed IPs on this side miss an address or network behind it (after a change on the peer's side), or " +
			"the peer forwards traffic it should not.",
		Checks: []CheckTemplate{chkWGAllowedIPs, chkWGDebug},
	},
	{
		ID:    "rx-wg-bad-protocol",
		Title: "A WireGuard peer sent a packet that is neither IPv4 nor IPv6",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cRxFrame, cRxErrors}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/receive.c:wg_packet_consume_data_done"},
		Kernels:    wgKernels,
		Explanation: "A packet decrypted and authenticated from a peer held neither an IPv4 nor an IPv6 header (or one too " +
			"short to read). Only a broken or non-standard peer implementation sends that.",
		Checks: []CheckTemplate{chkWGShow, chkWGDebug},
	},
	{
		ID:    "rx-wg-bad-length",
		Title: "A WireGuard peer sent a packet whose IP length does not fit the decrypted data",
		Signature: Signature{Link: []LinkSignature{
			{Kinds: kindsWG, Counters: []string{cRxLength, cRxErrors}},
		}},
		KernelRefs: []string{"drivers/net/wireguard/receive.c:wg_packet_consume_data_done"},
		Kernels:    wgKernels,
		Explanation: "A packet decrypted and authenticated from a peer had an IPv4 total length below the header's size " +
			"or an IP length beyond the data that arrived. Only a broken or non-standard peer implementation sends that.",
		Checks: []CheckTemplate{chkWGShow, chkWGDebug},
	},
}

const wgKernels = "all WireGuard kernels (mainline from 5.6; the same code read in 5.10.223, 6.1.172, 6.12.117 and 7.3.4; " +
	"older kernels with the out-of-tree wireguard-linux-compat module were not read)"

var kindsWG = []string{KindWireGuard}

// Checks of the WireGuard causes. {peer} is the public key of the peer a
// finding names, when the counters and the peer list name one.
var (
	chkWGShow = CheckTemplate{
		Command: "wg show {dev}",
		Why:     "every peer of {dev} with its endpoint, allowed IPs, latest handshake and transfer",
	}
	chkWGAllowedIPs = CheckTemplate{
		Command: "wg show {dev} allowed-ips",
		Why:     "each peer's allowed IPs: a packet goes to the peer whose allowed IPs hold its destination, and is accepted from it only from a source they hold",
	}
	chkWGRoutes = CheckTemplate{
		Command: "ip route show table all dev {dev}",
		Why:     "the routes into {dev}: a destination they send there that no peer's allowed IPs hold fails",
	}
	chkWGEndpoints = CheckTemplate{
		Command: "wg show {dev} endpoints",
		Why:     "each peer's endpoint; (none) is a peer every packet to which fails",
	}
	chkWGHandshakes = CheckTemplate{
		Command: "wg show {dev} latest-handshakes",
		Why:     "when each peer's last handshake completed (0: never): under two minutes for a peer that carries traffic",
	}
	chkWGPeerHandshake = CheckTemplate{
		Command: "wg show {dev} latest-handshakes | grep -F -e {peer}",
		Why:     "when peer {peer} last completed a handshake, in seconds since the epoch (0: never)",
	}
	chkWGTransfer = CheckTemplate{
		Command: "wg show {dev} transfer",
		Why:     "bytes received from and sent to each peer: sent growing while received stays flat is a peer that does not answer",
	}
	chkWGDebug = CheckTemplate{
		Command: "dmesg | grep -F -e {dev}",
		Why: "with the wireguard module's debug messages on (echo module wireguard +p > " +
			"/sys/kernel/debug/dynamic_debug/control), the kernel logs each of these drops with the peer and address",
	}
)
