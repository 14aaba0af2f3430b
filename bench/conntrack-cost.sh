#!/usr/bin/env bash
# What connection tracking costs every packet of the host, side by side in
# one run. confine loads it only while a service is exclusive (the
# `ct direction reply accept` before the exclusive lookups lets others'
# answers go on); otherwise it tells a confined server's TCP answers by the
# header alone. Four namespaces, each with an unconfined connected UDP
# sender of empty datagrams over loopback (the worst case):
#
#	none        no confine
#	route       an empty nf_tables route chain at the output hook: what
#	            any output rule set costs before its first rule
#	plain       confine with one service, not exclusive: no conntrack
#	exclusive   confine with the same service, Exclusive=yes: conntrack
#	            and the exclusive lookups
#
#	bash bench/conntrack-cost.sh      # CONFINE=build/confine ROUNDS=7 SEND_SECS=1
#
# Each round measures every namespace once, in one order on odd rounds and
# the reverse on even ones, the sender on the same CPU; a ratio is the
# median of the per-round ratios to none. About 30 s. Root; works only in
# namespaces and a cgroup subtree that it makes and removes; asserts
# nothing (machines are noisy).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
as_root "$@" || { echo "conntrack-cost.sh: needs root" >&2; exit 1; }
bench_private_lock "$@"
bench_confine

rounds=${ROUNDS:-7}
send_secs=${SEND_SECS:-1}
cpu=${CPU:-$(($(nproc) - 1))}
send=$(dirname "$CONFINE")/bench/udp-send
[ -x "$send" ] || { echo "no $send: build first (ninja -C build)" >&2; exit 1; }

cg2=$(find_cgroup2)
tag=cfct-$$
setups=(none route plain exclusive)
dir=$(mktemp -d)
sinks=()
cleanup() {
	local s
	for s in "${sinks[@]}"; do kill "$s" 2>/dev/null; done
	for s in "${setups[@]}"; do
		"$CONFINE" remove --netns "$tag-$s" >/dev/null 2>&1
		ip netns del "$tag-$s" 2>/dev/null
	done
	remove_cgroups "$cg2/$tag"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# policy [LINE...]: one service, allowed to an address no one sends to,
# so that the unconfined sender is never refused, only looked at.
policy() {
	printf '[Confine]\nCgroupParent=%s\n\n[Service]\nName=bench\n' "$tag"
	printf 'Allow=udp 10.255.255.1:514\n'
	[ $# -eq 0 ] || printf '%s\n' "$@"
}
policy >"$dir/plain.policy"
policy Exclusive=yes >"$dir/exclusive.policy"

for s in "${setups[@]}"; do
	ip netns add "$tag-$s" || exit 1
	ip -n "$tag-$s" link set lo up
	# A sink that never reads: datagrams queue, then drop cheaply.
	ip netns exec "$tag-$s" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5999))
time.sleep(3600)' &
	sinks+=($!)
done
ip netns exec "$tag-route" nft -f - <<'NFT' || exit 1
table inet bench {
	chain out {
		type route hook output priority mangle; policy accept;
	}
}
NFT
for s in plain exclusive; do
	"$CONFINE" apply --netns "$tag-$s" "$dir/$s.policy" >/dev/null 2>&1 ||
		{ echo "confine apply in $tag-$s failed" >&2; exit 1; }
done
sleep 0.3

echo "confine: $CONFINE ($CONFINE_VERSION)"
echo "$(nproc) CPUs; $rounds rounds of $send_secs s; sender on CPU $cpu"
for s in "${setups[@]}"; do : >"$dir/$s.rates"; : >"$dir/$s.ratios"; done
for r in $(seq 1 "$rounds"); do
	order=("${setups[@]}")
	if [ $((r % 2)) = 0 ]; then
		order=(exclusive plain route none)
	fi
	declare -A rate=()
	for s in "${order[@]}"; do
		rate[$s]=$(ip netns exec "$tag-$s" taskset -c "$cpu" "$send" \
			-t "$send_secs" 127.0.0.1 5999 1000000000 2>/dev/null |
			awk '{ print $1 }')
		echo "${rate[$s]}" >>"$dir/$s.rates"
	done
	for s in "${setups[@]}"; do
		ratio "${rate[$s]}" "${rate[none]}" >>"$dir/$s.ratios"
	done
	echo "round $r of $rounds done" >&2
done

printf '%-10s %12s %8s\n' setup "median pps" ratio
for s in "${setups[@]}"; do
	printf '%-10s %12s %8s\n' "$s" "$(median <"$dir/$s.rates")" \
		"$(median <"$dir/$s.ratios")"
done
