package explain

import (
	"strconv"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/safetext"
)

// The words of the engine. Every sentence explain writes into a finding's
// explanation, a group explanation or a report note is here, apart from the
// decisions that pick it (the catalogue's own words, Cause.Title and
// Cause.Explanation, are in catalogue.go). A message names its parameters in
// braces, {dev}, and text fills them from name, value pairs:
//
//	msgDeleted.text("dev", name)
//
// A value is never scanned for parameters itself. TestMessageParameters
// checks that every call names exactly the parameters of its message.
//
// Parameters used throughout: {dev} an interface name; {n} a count of
// events; {cause} a cause ID; {mib} XFRM MIB counter names joined by "+";
// {kernel} a kernel version; {since} "" or a space and one of the msgSince
// phrases; {devarg} the interface name in a command.
//
// A value read from the kernel or a file (an interface name, a kind, a
// kernel release) goes in as showName gives it, or as shellArg gives it
// where a sentence quotes a command: the words then hold no control byte
// however the link was named, and a name that needs neither prints as it
// is. TestCraftedNames holds every message to that.

// A message is a sentence or phrase with named parameters.
type message string

// text returns m with each {name} replaced by the value that follows name
// in args. A name args does not give stays as it is.
func (m message) text(args ...string) string {
	s := string(m)
	if strings.IndexByte(s, '{') < 0 {
		return s
	}
	size := len(s)
	for i := 1; i < len(args); i += 2 {
		size += len(args[i])
	}
	var b strings.Builder
	b.Grow(size)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		v, ok := arg(args, s[i+1:i+j])
		if !ok {
			b.WriteString(s[:i+j+1])
		} else {
			b.WriteString(s[:i])
			b.WriteString(v)
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func arg(args []string, name string) (string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == name {
			return args[i+1], true
		}
	}
	return "", false
}

// num, inum, hex and quote format message values as %d, %x and %q do.
func num(n uint64) string                       { return strconv.FormatUint(n, 10) }
func inum[T ~int | ~int32 | ~uint8](n T) string { return strconv.Itoa(int(n)) }
func hex(n uint32) string                       { return strconv.FormatUint(uint64(n), 16) }
func quote(s string) string                     { return strconv.Quote(s) }

// showName is a name or value read from the kernel or a file, as text
// prints it: as it is, or Go-quoted when it holds anything but printable
// runes other than space, '"' and '\\' (safetext.Name). shellArg is the
// same value as one POSIX shell word (safetext.Shell).
func showName(s string) string { return safetext.Name(s) }
func shellArg(s string) string { return safetext.Shell(s) }

// The readings as a whole: report notes, and the reason the MIB is not used.
const (
	// annotate: the SA dumps and the events beside a finding.
	msgSACounted   message = "{n} {counter} on {sa} (peer {peer})"
	msgSAsNamed    message = "The SAs' own counters name them: {list}."
	msgEventsCited message = "XFRM events of the interval: {list}. Packets sent between an SA's delete or hard expire and its replacement find no SA."

	msgNoReading     message = "no reading to explain"
	msgKernelUnknown message = "kernel release {release} not understood ({err}): version-dependent findings are uncertain"
	msgKernelChanged message = "the kernel changed between the readings ({before} → {after}): " +
		"the host rebooted, so every counter restarted"

	msgMIBNotRead   message = "/proc/net/xfrm_stat was not read"
	msgMIBOnlyLater message = "/proc/net/xfrm_stat was read only in the later reading"
	msgMIBNotUsed   message = "{why}: the XFRM MIB is not used"
	msgMIBBackwards message = "the XFRM MIB went backwards " +
		"(the namespace was recreated or the readings are from different namespaces)"
	// The counter-reset finding of a MIB that went backwards.
	msgMIBReset message = "The namespace's XFRM MIB is smaller in the later reading, " +
		"so IPsec causes are explained from the links alone."
)

// Link pairing: notes on links renamed, deleted, listed twice or not
// tunnels, and the phrases that say since when a link's counters count.
const (
	msgPairedByOrder message = "The readings have no interface index (/proc/net/dev), so links are paired by name " +
		"and by the order the kernel lists them in: an interface that moved behind others was deleted and created again."
	msgDeleted           message = "{dev} is in the earlier reading only: it was deleted"
	msgVanishedDuplicate message = "{dev} is listed more than once in the earlier reading and not in the later one: " +
		"it is not explained"
	// {old} was renamed {dev}; {index} is its interface index.
	msgRenamed message = "{old} was renamed {dev} (the same interface, index {index}): " +
		"its counters go on, and the rename is no event"
	msgDuplicate message = "{dev} is listed more than once in a reading: " +
		"which earlier line continues which cannot be told, so it is not explained"
	msgNoCounters message = "{dev}: the kernel sent no counters"
	// {what} is msgKindQuoted or msgKindUnknown.
	msgNotTunnel   message = "{dev} is not a tunnel ({what}): its error counters moved but are not explained here"
	msgKindQuoted  message = "kind {kind}" // {kind} quoted
	msgKindUnknown message = "kind unknown, and the name does not suggest a tunnel"

	msgSinceBoot     message = "since boot (or since the interface was created)"
	msgSinceAppeared message = "since it appeared in the list (created in the interval, or renamed: " +
		"without an interface index the two look the same, so every count is at most what happened in the interval)"
	msgSinceCreated   message = "since it was created (it is new in the later reading)"
	msgSinceRecreated message = "since it was recreated (index {before} → {after})"
	msgSinceByOrder   message = "since it was created again, by the order rule " +
		"(if it was not, its counters are older: every count is at most what happened in the interval)"
	msgSinceNoCounters message = "since the interface was created (the earlier reading had no counters)"

	// What took events of the interval with it (engine.lostEvents), as
	// msgLostEvents names it.
	msgLostDeleted   message = "{dev} (deleted)"
	msgLostRecreated message = "{dev} before it was re-created"
	msgLostReset     message = "{dev} (its counters were reset)"
	msgLostOthers    message = " and others"
)

// counter-reset findings of one link.
const (
	msgRecreatedIndex message = "{dev} has a new interface index ({before} → {after}): it was deleted and created again, " +
		"so its counters restarted; they are explained since then."
	msgRecreatedKind message = "{dev} has index {index} in both readings but its kind changed ({before} → {after}): " +
		"it was deleted and another link created under the same index, so its counters restarted; " +
		"they are explained since then."
	msgRecreatedByOrder message = "{dev} moved behind interfaces it was listed before: the kernel lists interfaces " +
		"in the order they were created, so it, or the interfaces it changed places with, was deleted and created " +
		"again between the readings. The readings have no interface index: this is the order rule, the best one " +
		"/proc/net/dev allows, and it cannot tell which; {dev}'s counters are explained as an upper bound."
	msgTrafficWentBack message = "{dev}'s {counter} went back from {before} to {after}: the interface was deleted " +
		"and created again (or its counters were reset), which /proc/net/dev, without an interface index, shows " +
		"only this way. The interval is not explained for this interface; explain the later reading alone " +
		"(since boot) instead."
	// {wrap} is "" or msgResetWrap.
	msgReset message = "Counters of {dev} went backwards with the same interface index: they were reset{wrap}. " +
		"The interval is not explained for this interface; explain the later reading alone (since boot) instead."
	msgResetWrap message = " or a 32-bit counter wrapped at 2^32"
)

// What a bucket is: the first sentence of every link finding's explanation
// ({n} events of one counter of {dev}), and what it says of the link's
// other TX errors.
const (
	msgProcCarrier message = "{dev} counted {n} TX errors{since} in /proc/net/dev's carrier column. " +
		"That column adds tx_carrier_errors (on a {kind}: the route, policy or SA lookup failed, or the SA did not fit) " +
		"and tx_aborted_errors (IPsec output or the underlay failed after the packet left the tunnel), " +
		"plus tx_window and tx_heartbeat errors that tunnels never count; so from /proc/net/dev a lookup failure " +
		"and an output failure look the same. Netlink stats64 (ip -s -s link show dev {devarg}) keep them apart."
	msgProcFrame message = "{dev} counted {n} RX errors{since} in /proc/net/dev's frame column, which adds rx_length, " +
		"rx_over, rx_crc and rx_frame errors; netlink stats64 (ip -s -s link show dev {devarg}) keep them apart."
	// A /proc/net/dev column's name says its direction.
	msgRxColumn message = "RX {counter}"
	msgTxColumn message = "TX {counter}"
	// {dir} is msgDirTransmit or msgDirReceive; {when} msgHiddenKernel or
	// msgHiddenUnknown.
	msgXfrmHidden message = "{dev} counted {n} {counter}{since}. Before 5.11 an xfrm interface reports only packets, " +
		"bytes, rx_dropped and tx_dropped (xfrmi_get_stats64): its error counters are counted but never shown, " +
		"so on {when} a drop is any {dir} error that dropped the packet, or a plain drop."
	msgDirTransmit   message = "transmit"
	msgDirReceive    message = "receive"
	msgHiddenKernel  message = "kernel {kernel}"
	msgHiddenUnknown message = "if the kernel is older than 5.11 (its release is unknown)"
	msgTxErrorsOnly  message = "{dev} counted {n} TX errors{since} that no more specific counter accounts for " +
		"(tx_errors minus carrier, aborted, collisions and fifo)."
	msgDropsUpTo message = "{dev} counted {upper} {counter}{since}; up to all of them may be drops without an error " +
		"of their own (the counters do not tell how many of its errors came with a drop)."
	msgDropsAtLeast message = "{dev} counted at least {n} {counter}{since} beyond the drops it pairs with its own " +
		"errors, and at most {upper}."
	msgOnlyCounter message = "{dev} counted {n} {counter}{since} without a matching error counter."
	msgCounted     message = "{dev} counted {n} {counter}{since}."

	msgAllTxLookup message = " Every TX error of {dev} is in this counter (errs = {n}), " +
		"so none was a routing loop, an oversize packet or an unsupported protocol."
	msgAllTx message = " Every TX error of {dev} is in this counter (errs = {n}): " +
		"no other kind of transmit error happened."
)

// Which causes a bucket's events are, and how sure the count is: the
// sentences after the bucket's, shared by the findings of one group.
const (
	msgCrossNetns message = "The tunnel's underlay is in another network namespace, whose XFRM MIB counts " +
		"its IPsec events; this namespace's MIB is not used for it."
	msgNoMIB message = "Without the XFRM MIB ({why}), the IPsec causes cannot be told apart."

	// Rule-outs: {causes} are the causes ruled out, joined by ", ". A
	// rule-out that leaves no cause is set aside (msgSetAside).
	msgRuleOutKernel   message = "kernel {kernel} cannot produce {causes}"
	msgRuleOutPolicies message = "the policies rule out {causes}"
	msgRuleOutPeers    message = "the peer lists rule out {causes}"
	msgRuleOutMIB      message = "the XFRM MIB counted no {causes} event"
	msgSetAside        message = "Taken alone, {ruleout}, which would leave no cause: that evidence is set aside."

	// One cause left.
	msgOnlyOfKind message = "No other catalogued cause moves this counter on a {kind}."
	msgRuledOut   message = "Every other cause that moves this counter is ruled out."
	msgMIBShort   message = "{cause} is the only cause left, but {mib} counted only {m} such events in the whole " +
		"namespace: at most {m} of the {n} are {cause}."
	msgRemainder message = "At least {rest} of {dev}'s {n} {counter} events fit no cause left after the rule-outs, " +
		"and the XFRM MIB does not count them as {cause}."

	// The MIB tells the causes apart: {parts} are msgMIBPart, joined by ", ".
	msgTie message = "{mib} moved by exactly {m}, the same as {dev}'s count, and no other tunnel draws on it: " +
		"each event is one {cause} (this assumes no traffic outside the tunnel moved that namespace-wide counter " +
		"in the interval, which the equal totals strongly suggest)."
	msgPartition message = "The XFRM MIB splits {dev}'s {n} events exactly ({parts}), and no other tunnel draws " +
		"on these counters: each is that many events of its cause (this assumes no traffic outside the tunnel " +
		"moved them in the interval, which the equal totals strongly suggest)."
	msgClosedSplit message = "The XFRM MIB accounts for {counted} of {dev}'s {n} events ({parts}), and no other " +
		"tunnel draws on these counters: each is that many events of its cause (this assumes no traffic outside " +
		"the tunnels moved them in the interval). The rest ({rest}) are {left}, which the MIB does not count."
	msgMIBPart message = "{mib} +{m}"
	// {ids} joined by ", " but for the last, joined by " or ".
	msgOneOf message = "one of {ids} or {last}"

	// The MIB only bounds the causes.
	msgLostEvents message = "The XFRM MIB also counted the events of {lost}, which no link of the later reading " +
		"shows, so its counts are only upper bounds here."
	msgShared message = "The XFRM MIB counts the whole namespace while {shared} tunnels had such errors, " +
		"so a MIB count is only an upper bound for each."
	msgAtLeast message = "The MIB accounts for at most {m} of the {n} events; {cause} is the only candidate " +
		"the MIB does not count, so at least {rest} are {cause}."
	msgMIBBound message = " The tunnels' counters claim {n} {cause} events while {mib} counted {m} in the " +
		"whole namespace: the count is only a bound."

	// Candidates: {hints} is "" or ": " and msgHint sentences joined by
	// "; ".
	msgCannotTell   message = "The counters cannot tell these causes apart{hints}."
	msgHintCarrier  message = "ip -s -s link show splits lookup failures (carrier) from output failures (aborted)"
	msgHintXfrmStat message = "/proc/net/xfrm_stat names the IPsec cause"
	msgHintNoRoute  message = "tx-no-route needs a packet that reached the tunnel without a route, which only " +
		"a packet socket or bpf_redirect sends: where nothing on the host does that, it is one of the others"
	msgHintPolicies     message = "the outbound policy list (ip xfrm policy) settles no-policy versus SA mismatch"
	msgHintTunnelParams message = "the tunnel's parameters (local, remote, okey) let the policy list settle " +
		"no-policy versus SA mismatch"
	msgInferredKind message = "{dev}'s kind is unknown; {kind} is assumed from its name " +
		"(ip -d link show dev {devarg} tells)." // {kind} quoted
)

// The configuration's say on a VTI's or xfrm interface's lookup failure
// (resolveTX, resolveOuter).
const (
	msgNoPolicyMatches message = "Of {policies} policies read, no outbound policy can match the tunnel's traffic ({who})."
	msgWhoOKey         message = "okey 0x{okey}" // hexadecimal
	msgWhoIfID         message = "if_id {ifid}"
	// {parts}: msgPolicies first, then those of the others that apply,
	// joined by ", ".
	msgPoliciesRead    message = "Policies read: {parts}."
	msgPolicies        message = "{n} outbound {policies} can match the tunnel's traffic ({who})"
	msgPoliciesBlock   message = "{n} with action block"
	msgPoliciesNoTmpl  message = "{n} without a template (traffic passes untransformed, which the tunnel refuses)"
	msgPoliciesBad     message = "{n} whose template the tunnel cannot use ({why})" // {why}: msgTemplate, joined by "; "
	msgPoliciesGood    message = "{n} whose template fits the tunnel"
	msgPoliciesUnsure  message = "{n} whose template leaves the source address to the kernel"
	msgFamilyUncovered message = " No outbound policy of the tunnel covers {family} traffic, which it carries too " +
		"(link-local packets at least), so a lookup failure may also be an {family} packet that matched no policy."
	msgDefaultAccept message = "The namespace's default outbound policy is accept, so no outer packet was dropped " +
		"for matching no policy."

	msgTemplateMode message = "template mode {mode}, not tunnel"
	msgTemplateDst  message = "template dst {dst}, tunnel remote {remote}"
	msgTemplateSrc  message = "template src {src}, tunnel local {local}"
	msgModeNumber   message = "mode {mode}"
	msgAddrUnset    message = "unset"
)

// The peer lists' say on a wireguard link's errors and drops (resolveWG,
// wgAnnotate). {peer} and {peers} are PeerRef.String texts.
const (
	msgWGSinceCreated message = "The peers of {dev} are not used to rule causes out: its counters count since it " +
		"was created, and only the present peer list was read."
	msgWGOnlyLater message = "The peers of {dev} are not used to rule causes out: the earlier reading has no " +
		"peer list of it."
	msgWGPeersChanged message = "The peers of {dev} are not used to rule causes out: they changed between the " +
		"readings (a peer added or removed, or one whose counters or handshake time went back, removed and added again)."
	// {parts}: the facts below joined by "; ".
	msgWGPeersRead message = "Peers read, the same in both readings (taken as the configuration of the whole " +
		"interval): {parts}."
	msgWGNoPeers       message = "{dev} has no peer, so wg_xmit finds none for any packet"
	msgWGNoAllowedIPs  message = "none of the {n} peers of {dev} has an allowed IP, so wg_xmit finds none for any packet"
	msgWGReachable     message = "{dev} has {n} {peers} with allowed IPs"
	msgWGAllEndpoints  message = "each has an endpoint"
	msgWGNoEndpoints   message = "none has an endpoint, so no packet reaches segmentation"
	msgWGSomeEndpoints message = "{n} of them without an endpoint"
	msgWGCoversAll     message = "their allowed IPs hold 0.0.0.0/0 and ::/0, so every destination has a peer"
	msgWGCoversFamily  message = "their allowed IPs hold every {family} destination, not every {other} one"

	msgWGPeersNoEndpoint message = "Without an endpoint in the readings: {peers}."
	msgWGNeverHandshake  message = "{peer} has never completed a handshake."
	msgWGHandshakeAge    message = "{peer} has not completed a handshake for {age}."
	msgWGHandshakeAt     message = "{peer} last completed a handshake at {at}."
	msgWGFuture          message = "a time after the reading (clocks disagree)"
	msgWGOnlySession     message = "Only {peer} has completed a handshake on {dev}, with the same peers in both " +
		"readings: only a peer with a session can send a packet that decrypts, so it came from {peer}."
	msgWGAllUp message = "Every peer of {dev} completed a handshake in the last 180 seconds at the later " +
		"reading: the staged packets were dropped earlier in the interval, or the device went down or a peer was removed."

	msgHintWGPeers    message = "the peer list (wg show) settles some of them"
	msgHintWGProtocol message = "tx-unsupported-protocol needs a packet socket or BPF sending into the device " +
		"(ss -0 -p lists packet sockets): where nothing on the host does that, it is one of the others"
)

// Findings that explain no bucket: unexplained counters, kernel versions,
// namespace-wide counts and kernel quirks.
const (
	msgUnexplained message = "{counter} moved on {dev} (kind {kind}), and no catalogued kernel path of that kind " +
		"increments it."
	msgUnexplainedInferred message = " The kind was assumed from the name; if {dev} is not a {kind}, that explains it."

	// What changed between kernel releases (versionRules).
	msgChangeNoRoute message = "before 5.5 every packet reaching a VTI without a route counted as a carrier error; " +
		"from 5.5 the tunnel looks a route up first and counts only its failure"
	msgChangeHoldQueueWait message = "from 5.9 (xfrm_lookup_route in vti_xmit) with net.core.xfrm_larval_drop=0, " +
		"a packet without an SA waits in the hold queue and counts as sent instead"
	msgChangeHoldQueue message = "the policy hold queue exists for VTI only from 5.9"
	msgChangeTooBig    message = "before 5.12 a VTI dropped every oversize packet; from 5.12 (and in stable kernels " +
		"that took the fix) an IPv4 packet without DF passes and is fragmented after encapsulation, " +
		"so only DF or IPv6 packets count"
	msgChangeXfrmTxDropped message = "before 5.11 an xfrm interface reports no error counters, so its tx_dropped " +
		"counts every transmit error that dropped the packet"
	msgChangeXfrmRxDropped message = "before 5.11 an xfrm interface reports no error counters, so its rx_dropped " +
		"counts every IPsec input error"
	msgChangeDefaultPolicy message = "default policies exist from 5.15, and in 5.10.y from 5.10.118"
	msgChangeRecursion     message = "the tunnel recursion limit exists in 6.12.y from 6.12.78 and in newer releases; " +
		"other stable series have it once they took the fix"
	msgChangeSADir message = "SA directions exist from 6.10"

	// {changes} are msgChange texts joined by "; ".
	msgVersion     message = "{lead} {changes}."
	msgVersionNear message = "Kernel {kernel} is older than a change that stable kernels may have backported, " +
		"so what {dev} counted depends on the exact build:"
	msgVersionUnknown message = "The kernel release is unknown, and the meaning of {dev}'s {causes} depends on it:"

	msgNamespaceAll message = "{mib} counts every such event in the namespace ({n}); the tunnel findings above " +
		"may account for all of them (they are part of this count, not in addition to it)."
	msgNamespacePart message = "{mib} counts every such event in the namespace ({n}); the tunnel findings above " +
		"account for at most {attributed} of them, the rest come from other IPsec traffic (policy-based tunnels, " +
		"GRE over IPsec, an xfrm interface that does not count it) or from tunnels in namespaces that share " +
		"this underlay."
	msgNamespaceNone message = "{mib} counts every such event in the namespace ({n}). None shows on a tunnel link " +
		"in this reading: the packets belong to policy-based IPsec, GRE or IPIP over IPsec, an xfrm interface " +
		"that does not count this cause, or a path the link counts as successful."

	msgDropsCountedAsSent message = "XfrmOutStateProtoError rose by {n} with VTIs in the namespace ({vtis}), " +
		"which count such a drop as a sent packet: up to {n} IPsec drops were counted by the tunnels as sent " +
		"packets. Some may instead be asynchronous crypto failures or traffic outside the tunnels, " +
		"which no link counts either."
	msgDeadCounter message = "{counter} moved by {n}."
)
