// Package explain turns tunnel and XFRM counter deltas into documented
// causes: for every error counter that moved on a VTI, vti6, xfrm, GRE or
// IPIP tunnel, it says which kernel code path counted it, how many events
// that explains and how sure that count is, and which commands confirm it.
// It is pure Go, does no I/O and builds on any OS.
//
// # The question it answers
//
// "Our monitoring shows transmit errors on the IPsec VTIs under high load:
// what is a transmit error on a VTI?" A VTI counts a failed route, policy or
// SA lookup as tx_carrier_errors, an IPsec output failure as
// tx_aborted_errors, a routing loop as collisions and an oversize packet as
// a bare tx_errors, while the namespace's XFRM MIB (/proc/net/xfrm_stat)
// counts the IPsec reason. This package joins the two.
//
// # Use
//
// Read the namespace twice (or once, to explain since boot) into a Reading:
//
//	before := &explain.Reading{Time: t0, KernelRelease: release,
//		Links: explain.LinksFromVTIStat(links0), MIB: mib0}
//	after := &explain.Reading{Time: t1, KernelRelease: release,
//		Links: explain.LinksFromVTIStat(links1), MIB: mib1,
//		Policies: policies, SAs: sas}
//	rep := explain.Explain(before, after)
//	fmt.Print(rep.String()) // or json.Marshal(rep)
//
// Only the links are required (Links, or VTIStatLinks: see Cost).
// LinksFromProcNetDev accepts a bare /proc/net/dev;
// the kernel release picks version-dependent meanings; the MIB names IPsec
// causes; the policy and SA lists settle causes the counters cannot tell
// apart, and fill the checks with SPIs.
//
// # Findings and how sure they are
//
// A Finding names a cause from the catalogue (CauseID), the interface ("" for
// a namespace-wide finding), a Count and its Certainty:
//
//   - Exact: the counters account for every event. When a link count is
//     matched with a MIB count, "exact" means the MIB's events of the
//     interval can only be this tunnel's (see Exact).
//   - AtMost: a bound, typically a namespace-wide MIB counter shared by
//     several tunnels.
//   - AtLeast: the events the MIB cannot account for, when only one cause
//     outside the MIB is left.
//   - Candidate: one of several causes that fit the same events equally
//     well; Candidates lists the others and Group ties them together (sum
//     one finding per group, not all).
//
// Each finding carries its Evidence (the counter deltas, with the source:
// stats64, proc/net/dev or xfrm_stat), the kernel source reference and
// versions, an Explanation in plain words, and Checks: commands with the
// tunnel's real local, remote, okey, ikey and SPI filled in; unknown values
// stay visible as <remote> and are listed in Check.Placeholders.
//
// # Honesty rules
//
//   - /proc/net/dev's carrier column adds tx_carrier, tx_aborted, tx_window
//     and tx_heartbeat errors, and its frame column four RX fields: from
//     that file alone a VTI lookup failure and an output failure are
//     candidates of each other, and the finding says that netlink stats64
//     tell them apart.
//   - The XFRM MIB is per namespace, link counters are per device: with
//     several tunnels a MIB count only bounds each tunnel (AtMost). A tunnel
//     whose underlay is in another namespace (CrossNetns) is explained
//     without this namespace's MIB.
//   - Where the MIB counts every event of a cause, the exact and at-least
//     counts of that cause over all links never add up to more than the
//     MIB delta; a link whose counter moved more than the MIB can account
//     for gets the rest as causes the MIB does not count, never folded into
//     the bounded one. Equal totals (a MIB counter that moved by exactly a
//     link's count, which no other bucket draws on) are exact only while no
//     other tunnel may have moved it silently (GRE or IPIP over IPsec count
//     a packet without an SA as sent).
//   - Causes with identical counters (no policy, SA mismatch, no route, a
//     default block) stay candidates until the policy list settles them:
//     is there an outbound policy whose mark matches okey (value & mask),
//     what is its action, does its template name the tunnel's local and
//     remote in tunnel mode. A policy rules a cause out only for the traffic
//     its selector covers: a tunnel carries IPv6 as well as IPv4, so an
//     IPv4-only wildcard policy leaves tx-no-policy to IPv6 packets. A
//     packet that reached a VTI or xfrm interface without a route (a packet
//     socket, bpf_redirect) is tx-no-route, which no configuration rules
//     out: it stays a candidate, with the hint that tells it apart.
//   - Links are paired by the module's one link identity: the same ifindex
//     and kind is the same link, also under a new name (a rename is a note,
//     not an event); a name whose ifindex changed was deleted and created
//     again, and is explained since then. /proc/net/dev has no ifindex:
//     there links pair by name and by the order the kernel lists them in,
//     and the report says so when that rule found a re-created link.
//   - Before 5.11 an xfrm interface reports only packets, bytes, rx_dropped
//     and tx_dropped: its drops then stand for every error that dropped the
//     packet, and the MIB names the cause.
//   - A counter that goes backwards is a counter-reset finding; its link is
//     not explained for that interval. Counts are never negative or huge.
//   - Kernel quirks are findings: XfrmOutStateProtoError rising while the
//     VTIs show no output error (kernel-drops-counted-as-sent), counters no
//     modern kernel increments (kernel-dead-counter), and meanings that
//     changed by version when the release is unknown or near a change
//     (kernel-version-dependent).
//   - What no catalogue entry explains is an unexplained-counter finding or
//     a note, never dropped.
//
// # Soundness, and how it is checked
//
// A finding never claims more than the counters prove. Two kinds of test
// hold the engine to that:
//
//   - The soundness oracle (TestSoundnessOracle, FuzzSoundness) generates
//     namespaces with several tunnels of every kind sharing one MIB, events
//     drawn from the catalogue's signatures (link-only, link and MIB, silent,
//     MIB-only), background traffic of the other address family under
//     IPv4-only or dual-stack policies, renames, re-creations, resets, links
//     that vanish or appear, every kernel of the matrix and unknown ones, and
//     reads them as netlink stats64, as vtistat links or as /proc/net/dev. It
//     knows the true count per link and cause and fails on an exact count
//     that is not the truth, an at-most below it, an at-least above it, a
//     group whose causes miss a true cause or explain more events than
//     happened, and events no finding names. It stays independent of the
//     engine: it uses only the catalogue's data (Causes), the public types
//     and the meaning of Certainty documented here, and derives the truth
//     forward, from what one event moves in the kernel, never by inverting
//     counters as the engine does. Its one assumption is the engine's
//     documented one for equal totals: every MIB event of the interval
//     belongs to a tunnel of the reading.
//   - The VM tests make the same situations with real traffic in Debian's
//     5.10, 6.1, 6.12 and 7.3 kernels (TestVMExplain, TestVMSoundness) and
//     check the reports on the captures on any host.
//
// # The catalogue
//
// The catalogue is data: Causes returns it and Lookup finds one entry. Each
// Cause has its ID, title, signature (which link counters move together per
// kind, which MIB counters count it, on which kinds it is invisible), kernel
// references, version range and check templates. CATALOGUE.md (generated by
// WriteCatalogueMarkdown) renders it as a table. The IDs:
//
// TX, the lookup a VTI or xfrm interface does for every packet
// (tx_carrier_errors): tx-no-route, tx-no-policy, tx-policy-default-block,
// tx-sa-mismatch, tx-no-sa, tx-underlay-unreachable, tx-policy-block,
// tx-policy-error, tx-sa-dir-error.
//
// TX, other tunnel errors: tx-routing-loop (collisions), tx-too-big and
// tx-unsupported-protocol (tx_errors alone), tx-core-drop (tx_dropped alone).
//
// TX, after the packet left the tunnel (tx_aborted_errors): tx-sa-expired,
// tx-seq-overflow, tx-sa-invalid, tx-mode-error, tx-output-error,
// tx-crypto-backlog, tx-queue-full, tx-netfilter-drop.
//
// GRE, IPIP, SIT and ip6 tunnels: tx-nbma-no-dst, tx-local-out-error,
// tx-gre-drop, tx-tunnel-recursion, tx-ip6-xmit-ctl, tx-sit-route-type,
// tx-encap-limit, rx-checksum, rx-sequence, rx-length, rx-ecn,
// rx-sit-spoofed.
//
// RX, IPsec input (rx_errors + rx_dropped on a VTI): rx-no-sa,
// rx-integrity-failed, rx-replay, rx-no-policy, rx-template-mismatch,
// rx-policy-block, rx-policy-error, rx-sa-expired, rx-sa-invalid,
// rx-encap-mismatch, rx-mode-error, rx-header-error, rx-buffer-error,
// rx-error, rx-acquire-error, rx-dir-error, rx-iptfs-error,
// rx-metadata-nomem; and
// rx-backlog-full, rx-endpoint-mismatch (rx_dropped alone); fwd-header-error.
//
// Accounting: counter-reset, kernel-drops-counted-as-sent,
// kernel-dead-counter, kernel-version-dependent, unexplained-counter.
//
// Every entry was checked against kernel source: Debian's 6.1.192 tree (the
// VTI, xfrm interface, xfrm, ESP and IP tunnel code read, every
// XFRM_INC_STATS site listed), ip_vti.c of 5.10- and 6.6-era trees, the
// 6.10 SA-direction and 6.14 IP-TFS patches, and a 4.4 ip_vti.c for the old
// behaviour (see catalogue.go for what was read where).
//
// # Cost
//
// Explaining a namespace where nothing moved allocates nothing, however
// many tunnels it has (BenchmarkExplainQuiet10k: 0 allocs, about 13 ns per
// tunnel: a link whose error counters did not move and whose traffic
// counters did not go back is passed over with a few comparisons); links
// are matched by position, falling back to a name map only when the
// interface list changed order. When many links moved at once, the policy
// and SA lists are indexed once, so the cost per explained tunnel stays
// flat (BenchmarkExplainBusy: about 15 µs each, findings included, from 100
// to 10 000 failed tunnels).
//
// A poll loop alternates two vtistat Snapshots (PollStats refreshes one
// while the other keeps the previous counters) and hands their links to
// explain as Reading.VTIStatLinks:
//
//	cur := &snaps[n%2]
//	err := client.PollStats(ctx, cur)
//	readings[n%2].VTIStatLinks = cur.Links
//	rep := explain.Explain(&readings[(n+1)%2], &readings[n%2])
//
// explain then reads the counters where PollStats left them and converts
// only the links it explains; nothing is allocated per poll. Filling Links
// with AppendLinksFromVTIStat instead works the same, at the cost of a
// pass over every link.
package explain

//go:generate go run ./internal/mkcatalogue -o CATALOGUE.md
