#!/usr/bin/env bash
# Does the per-packet cost grow with the number of services? A confined
# sender's datagram rate with 1 service installed and with 200, side by
# side in one run, plus an unconfined sender for reference. Root; works
# only inside a network namespace and a cgroup subtree it makes and removes.
#
#	bash bench/service-count.sh [BUILD_DIR]
#
# Prints rates and the ratio; it asserts nothing (machines are noisy).
set -u
build=${1:-build}
confine=$build/confine
send=$build/bench/udp-send
count=${COUNT:-300000}
rounds=${ROUNDS:-3}
[ -x "$confine" ] && [ -x "$send" ] || { echo "build first: ninja -C $build" >&2; exit 1; }

ns=confine-bench-$$
# find_cgroup2
# shellcheck source=../lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
cg2=$(find_cgroup2)
parent=confine-bench-$$
dir=$(mktemp -d)
sink_pid=
cleanup() {
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	"$confine" remove --netns "$ns" >/dev/null 2>&1
	ip netns del "$ns" 2>/dev/null
	find "$cg2/$parent" -depth -type d -exec rmdir {} + 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
# A sink that never reads: datagrams are queued, then dropped, cheaply.
ip netns exec "$ns" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5999))
time.sleep(3600)' &
sink_pid=$!

policy() { # N: the bench service plus N-1 others
	printf '[Confine]\nCgroupParent=%s\n\n' "$parent"
	printf '[Service]\nName=bench\nAllow=udp 127.0.0.1:5999\n\n'
	for i in $(seq 2 "$1"); do
		printf '[Service]\nName=other%d\nAllow=tcp 10.%d.%d.1:443\nExclusive=yes\n\n' \
			"$i" $((i / 250)) $((i % 250))
	done
}
rate() { # sender command...: the median of $rounds rates
	for _ in $(seq "$rounds"); do "$@" 127.0.0.1 5999 "$count" | cut -d' ' -f1; done |
		sort -n | sed -n "$(( (rounds + 1) / 2 ))p"
}

base=$(rate ip netns exec "$ns" "$send")
policy 1 >"$dir/one.policy"
"$confine" apply --netns "$ns" "$dir/one.policy" || exit 1
one=$(rate "$confine" run --netns "$ns" -p "$dir/one.policy" -s bench -- "$send")
policy 200 >"$dir/many.policy"
"$confine" apply --netns "$ns" "$dir/many.policy" || exit 1
many=$(rate "$confine" run --netns "$ns" -p "$dir/many.policy" -s bench -- "$send")

echo "datagrams per second, median of $rounds runs of $count:"
printf '  unconfined sender, nothing installed:  %s\n' "$base"
printf '  confined, 1 service installed:         %s\n' "$one"
printf '  confined, 200 services installed:      %s\n' "$many"
awk -v a="$one" -v b="$many" 'BEGIN { printf "  ratio 200 services / 1 service:        %.3f\n", b / a }'
