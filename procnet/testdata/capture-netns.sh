#!/bin/bash
# capture-netns.sh OUTDIR — how netdev-netns-veth-*.txt and
# xfrm_stat-netns-*.txt were made: two fresh network namespaces joined by
# veth pairs (one with a 15-byte name, the longest the kernel allows), a few
# UDP datagrams between them, and XFRM policies that make the MIB move
# without any SA or key:
#
#	out policy with an ESP template and no SA  -> XfrmOutNoStates
#	out policy "action block"                  -> XfrmOutPolBlock
#	in policy "action block"                   -> XfrmInPolBlock
#
# Traffic never leaves the two namespaces this script creates; they are
# deleted on exit, also on failure. Needs root and iproute2.
set -euo pipefail
out=${1:?usage: capture-netns.sh OUTDIR}
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
A=ts-procnet-a-$suffix
B=ts-procnet-b-$suffix
cleanup() {
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$A"
ip netns add "$B"
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link add veth0 type veth peer name veth0 netns "$B"
ip -n "$A" link add tun-a-long-name type veth peer name peer-15-bytes-x netns "$B"
ip -n "$A" addr add 192.0.2.1/24 dev veth0
ip -n "$B" addr add 192.0.2.2/24 dev veth0
for ns in "$A" "$B"; do
	for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip -n "$ns" link set "$dev" up
	done
done

ip -n "$A" xfrm policy add dir out src 192.0.2.1/32 dst 192.0.2.2/32 proto udp dport 9 \
	tmpl proto esp mode transport
ip -n "$A" xfrm policy add dir out src 192.0.2.1/32 dst 192.0.2.2/32 proto udp dport 10 action block
ip -n "$A" xfrm policy add dir in src 192.0.2.2/32 dst 192.0.2.1/32 proto udp dport 11 action block

send() { # send NS DST PORT COUNT
	for _ in $(seq "$4"); do
		ip netns exec "$1" bash -c "echo procnet > /dev/udp/$2/$3" 2>/dev/null || true
	done
}
send "$A" 192.0.2.2 7 20    # plain datagrams: packet and byte counters
send "$A" 192.0.2.2 9 3     # no SA: XfrmOutNoStates
send "$A" 192.0.2.2 10 4    # blocked: XfrmOutPolBlock
send "$B" 192.0.2.1 11 5    # blocked on input in A: XfrmInPolBlock
sleep 1

kver=$(uname -r | cut -d. -f1,2)
ip netns exec "$A" cat /proc/net/dev > "$out/netdev-netns-veth-linux$kver.txt"
ip netns exec "$A" cat /proc/net/xfrm_stat > "$out/xfrm_stat-netns-policies-linux$kver.txt"
ip netns exec "$B" cat /proc/net/dev > "$out/netdev-netns-veth-peer-linux$kver.txt"
