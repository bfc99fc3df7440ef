// Package explain turns tunnel and XFRM counter deltas into documented
// causes: for every error counter that moved on a VTI, vti6, xfrm, GRE,
// IPIP or WireGuard tunnel, it says which kernel code path counted it, how many events
// that explains and how sure that count is, and which commands confirm it.
// It is pure Go, does no I/O and builds on any OS.
//
// Explain compares two Readings of one network namespace (a nil before:
// since boot). Only the links are required; LinksFromProcNetDev accepts a
// bare /proc/net/dev, and explain/monitor converts vtistat links and
// xfrmstat SAs and policies. The kernel release picks version-dependent
// meanings, the XFRM MIB names IPsec causes, and the policy and SA lists
// (and for WireGuard the peer list) settle causes the counters cannot tell
// apart and fill the checks.
//
//	rep := explain.Explain(before, after)
//	fmt.Print(rep) // or json.Marshal(rep)
//
// # Findings
//
// A Finding names a cause of the catalogue (CauseID, stable), the interface
// ("" for a namespace-wide finding), a Count and its Certainty: Exact (the
// counters account for every event), AtMost (a bound, typically a MIB
// counter several tunnels share), AtLeast (the events the MIB cannot
// account for), or Candidate (one of several causes that fit the same
// events equally well: Candidates lists the others, and findings sharing a
// Group explain the same events, so count one per group). Each carries its
// Evidence with the counters' source, kernel references and versions, an
// Explanation, and Checks with the tunnel's real addresses, keys and SPIs
// filled in, each as one shell word, so that a command is safe to paste
// into a POSIX shell whatever the link is called; an unknown value stays
// visible as <remote> and is listed in Check.Placeholders. Interface keeps
// the name's exact bytes; Report.Format prints it, and everything else,
// with no control character (a name that needs it Go-quoted).
//
// A finding never claims more than the counters prove. Explain never fails:
// what no catalogue entry explains is an unexplained-counter finding or a
// Report note, never dropped; a counter that went backwards is a
// counter-reset finding, and counts are never negative or huge. Links pair
// by ifindex and kind, by name and list order for /proc/net/dev. A
// namespace where nothing moved is explained without allocating, however
// many tunnels it has. The rules behind these promises, and the soundness
// oracle and VM tests that hold the engine to them, are in the README
// ("How sure a finding is"); Causes and Lookup return the catalogue, which
// CATALOGUE.md renders (WriteCatalogueMarkdown).
//
// # Cause IDs
//
// TX lookup of a VTI or xfrm interface (tx_carrier_errors): tx-no-route,
// tx-no-policy, tx-policy-default-block, tx-sa-mismatch, tx-no-sa,
// tx-underlay-unreachable, tx-policy-block, tx-policy-error, tx-sa-dir-error.
// Other tunnel errors: tx-routing-loop (collisions), tx-too-big and
// tx-unsupported-protocol (tx_errors alone), tx-core-drop (tx_dropped alone).
// After the packet left the tunnel (tx_aborted_errors): tx-sa-expired,
// tx-seq-overflow, tx-sa-invalid, tx-mode-error, tx-output-error,
// tx-crypto-backlog, tx-queue-full, tx-netfilter-drop.
//
// GRE, IPIP, SIT and ip6 tunnels: tx-nbma-no-dst, tx-local-out-error,
// tx-gre-drop, tx-tunnel-recursion, tx-ip6-xmit-ctl, tx-sit-route-type,
// tx-encap-limit, rx-checksum, rx-sequence, rx-length, rx-ecn, rx-sit-spoofed.
//
// WireGuard (wg_xmit's tx_errors): tx-wg-no-peer, tx-wg-no-endpoint,
// tx-wg-gso-error, and tx-unsupported-protocol; its tx_dropped:
// tx-wg-staged-overflow, tx-wg-staged-purged (or tx-core-drop); its
// rx_errors with rx_frame_errors: rx-wg-src-not-allowed, rx-wg-bad-protocol;
// with rx_length_errors: rx-wg-bad-length. WireGuard counts no failed
// handshake, decryption, authentication or replay on any counter: the peer
// list (Reading.WireGuard) and a Tracker's peer health are all that show
// them.
//
// IPsec input (rx_errors + rx_dropped on a VTI): rx-no-sa, rx-integrity-failed,
// rx-replay, rx-no-policy, rx-template-mismatch, rx-policy-block,
// rx-policy-error, rx-sa-expired, rx-sa-invalid, rx-encap-mismatch,
// rx-mode-error, rx-header-error, rx-buffer-error, rx-error, rx-acquire-error,
// rx-dir-error, rx-iptfs-error, rx-metadata-nomem; rx_dropped alone:
// rx-backlog-full, rx-endpoint-mismatch; forwarding: fwd-header-error.
//
// Accounting: counter-reset, kernel-drops-counted-as-sent,
// kernel-dead-counter, kernel-version-dependent, unexplained-counter.
//
// Risks (Health.Risks; they count no events): sa-soft-expired-no-rekey,
// sa-lifetime-margin, sa-seq-exhaustion, tunnel-one-way; of WireGuard peers
// (Health.Peers): tunnel-wg-handshake-failing, tunnel-wg-one-way.
//
// # Events and per-SA counters
//
// A Reading may carry the XFRM events received since the previous one
// (Reading.Events; explain/monitor subscribes to them). Explain lists them
// in Report.Events and cites those that bear on a finding as Evidence of
// Source SourceEvent: the delete, hard expire or flush of a tunnel's
// outbound SA, and acquires for it, beside tx-no-sa. When both readings
// have SAs, the SAs' own error counters name the SA and the peer behind
// rx-integrity-failed and rx-replay (Evidence of Source SourceSA). Neither
// changes a count or a certainty: the counters alone decide those.
//
// # Tunnel health
//
// A Tracker takes one Reading after another and returns Health: the
// namespace's tunnels, not their SPIs (a VTI by its keys as marks, an xfrm
// interface by if_id and peer, a policy-based tunnel by reqid and peer),
// each with its state (up, no-sa, no-policy), its traffic in and out kept
// monotonic across rekeys (the final counters of deleted SAs come from
// their events or the last dump that had them), the last use in each
// direction, and each SA's expiry times, bytes and packets left and
// sequence-number headroom; and Risks, the failures ahead: an SA past its
// soft limit with no replacement, hard limits too close to soft ones,
// sequence numbers that run out before the next rekey at the current rate,
// and traffic in one direction only for HealthConfig.OneWayAfter readings.
//
// WireGuard peers (Reading.WireGuard) are Health.Peers: each peer by its
// device and public key, up while its last handshake is under 180 s old
// (REJECT_AFTER_TIME), its bytes kept monotonic across its removal and
// re-adding and its device's re-creation. Their risks stand in for the
// failures WireGuard counts nowhere: handshake initiations that nobody
// answers (tunnel-wg-handshake-failing), and data one way with not a byte
// back, keepalives included (tunnel-wg-one-way).
package explain

//go:generate go run ./internal/mkcatalogue -o CATALOGUE.md
