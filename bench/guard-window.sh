#!/usr/bin/env bash
# How long is confine's nf_tables table gone after `nft flush ruleset`
# while `confine guard` runs? TRIALS flushes, each timed from just before
# the flush until `nft list table inet confine` finds the table again,
# polled as fast as nft runs (a few ms a call, which bounds the
# resolution). Prints the median and the worst. Root; works only inside a
# network namespace and a cgroup subtree it makes and removes.
#
#	bash bench/guard-window.sh [BUILD_DIR]
#
# It asserts nothing (machines are noisy).
set -u
build=${1:-build}
confine=$build/confine
trials=${TRIALS:-50}
[ -x "$confine" ] || { echo "build first: ninja -C $build" >&2; exit 1; }

# shellcheck source=../lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
ns=confine-gw-$$
cg2=$(find_cgroup2)
parent=confine-gw-$$
dir=$(mktemp -d)
guard_pid=
cleanup() {
	[ -n "$guard_pid" ] && kill "$guard_pid" 2>/dev/null && wait "$guard_pid" 2>/dev/null
	"$confine" remove --netns "$ns" >/dev/null 2>&1
	ip netns del "$ns" 2>/dev/null
	find "$cg2/$parent" -depth -type d -exec rmdir {} + 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
ip -n "$ns" link add v0 type veth peer name v1 &&
	ip -n "$ns" addr add 10.77.0.2/24 dev v0 &&
	ip -n "$ns" link set v0 up && ip -n "$ns" link set v1 up || exit 1
umask 022
printf '[Confine]\nCgroupParent=%s\n[Service]\nName=syslog\nAllow=udp 10.77.0.1:514\nExclusive=yes\n' \
	"$parent" >"$dir/syslog.policy"
"$confine" apply --netns "$ns" "$dir/syslog.policy" || exit 1
"$confine" guard --netns "$ns" "$dir/syslog.policy" 2>"$dir/guard.log" &
guard_pid=$!
busywait 5000 grep -q watching "$dir/guard.log" || { cat "$dir/guard.log"; exit 1; }

times=()
for _ in $(seq 1 "$trials"); do
	ip netns exec "$ns" nft list table inet confine >/dev/null 2>&1 ||
		busywait 5000 ip netns exec "$ns" nft list table inet confine
	t0=$(date +%s%N)
	ip netns exec "$ns" nft flush ruleset
	for _ in $(seq 1 2000); do
		ip netns exec "$ns" nft list table inet confine >/dev/null 2>&1 && break
	done
	t1=$(date +%s%N)
	times+=($(((t1 - t0) / 1000)))
	# Under the guard's rate limit (10 in a row, then one every 100 ms).
	sleep 0.15
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$trials" '
	{ t[NR] = $1 }
	END {
		printf "guard exposure window over %d flushes (us, nft polling resolution):\n", n
		printf "  median %d, p90 %d, worst %d\n", t[int((n + 1) / 2)], t[int(n * 0.9)], t[n]
	}'
echo "repairs logged: $(grep -c repaired "$dir/guard.log")"
