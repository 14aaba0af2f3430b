#!/usr/bin/env bash
# What does the refusal log cost per packet? A confined sender's datagram
# rate to an allowed port and to a refused one, with LogRefused=no and
# =yes, and the refused one again while `confine watch` reads the events.
# The log rules sit after the accepting ones, so the allowed figures should
# not move; the refused ones pay for the limit, the counter and the NFLOG
# event. Root; works only inside a network namespace and a cgroup subtree
# it makes and removes; sets net.netfilter.nf_log_all_netns=1 for the run
# (so that the lines the bucket lets through are really written) and puts
# it back.
#
#	bash bench/log-cost.sh [BUILD_DIR]
#
# Prints rates and nanoseconds per datagram; asserts nothing.
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
sink_pid=''
watch_pid=''
all_netns=/proc/sys/net/netfilter/nf_log_all_netns
old_all=$(cat "$all_netns" 2>/dev/null)
cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	"$confine" remove --netns "$ns" >/dev/null 2>&1
	ip netns del "$ns" 2>/dev/null
	find "$cg2/$parent" -depth -type d -exec rmdir {} + 2>/dev/null
	[ -n "$old_all" ] && echo "$old_all" >"$all_netns"
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
[ -n "$old_all" ] && echo 1 >"$all_netns"
# A sink that never reads: datagrams are queued, then dropped, cheaply.
ip netns exec "$ns" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5999))
time.sleep(3600)' &
sink_pid=$!

policy() { # LogRefused=yes|no
	printf '[Confine]\nCgroupParent=%s\n\n' "$parent"
	printf '[Service]\nName=bench\nAllow=udp 127.0.0.1:5999\nLogRefused=%s\n' "$1"
}
rate() { # PORT: the median of $rounds rates of the confined sender
	for _ in $(seq "$rounds"); do
		"$confine" run --netns "$ns" -p "$dir/p.policy" -s bench -- \
			"$send" 127.0.0.1 "$1" "$count" | cut -d' ' -f1
	done | sort -n | sed -n "$(((rounds + 1) / 2))p"
}
ns_per() { awk -v r="$1" 'BEGIN { printf "%.0f", 1e9 / r }'; }
row() { printf '  %-46s %10s/s  %6s ns\n' "$1" "$2" "$(ns_per "$2")"; }

policy no >"$dir/p.policy"
"$confine" apply --netns "$ns" "$dir/p.policy" >/dev/null || exit 1
allowed_off=$(rate 5999)
refused_off=$(rate 5998)
policy yes >"$dir/p.policy"
"$confine" apply --netns "$ns" "$dir/p.policy" >/dev/null || exit 1
allowed_on=$(rate 5999)
refused_on=$(rate 5998)
"$confine" watch --netns "$ns" >/dev/null 2>&1 &
watch_pid=$!
sleep 0.5
refused_watched=$(rate 5998)
kill -INT "$watch_pid"
wait "$watch_pid" 2>/dev/null
watch_pid=

echo "confined sender, datagrams per second (median of $rounds runs of $count) and ns per datagram:"
row "allowed, LogRefused=no" "$allowed_off"
row "allowed, LogRefused=yes" "$allowed_on"
row "refused, LogRefused=no" "$refused_off"
row "refused, LogRefused=yes, no reader" "$refused_on"
row "refused, LogRefused=yes, confine watch reading" "$refused_watched"
awk -v a="$allowed_off" -v b="$allowed_on" -v c="$refused_off" -v d="$refused_on" -v e="$refused_watched" 'BEGIN {
	printf "  allowed: the log adds %+.0f ns per datagram\n", 1e9 / b - 1e9 / a
	printf "  refused: the log adds %+.0f ns per datagram, %+.0f ns with a reader\n", 1e9 / d - 1e9 / c, 1e9 / e - 1e9 / c
}'
