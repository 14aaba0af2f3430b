#!/usr/bin/env bash
# What does `confine run` add to the start of a program? /bin/true started
# ITERATIONS times each way, interleaved, in a network namespace made for
# the bench, timed from the bench's fork to the exit of the child (bash's
# EPOCHREALTIME, no extra process):
#
#	bare         /bin/true
#	nsenter      nsenter --net=/run/netns/NS /bin/true (enters the namespace
#	             as confine run --netns does: the fair bare start)
#	ip-netns     ip netns exec NS /bin/true (which also remounts /sys)
#	run-N        confine run --netns NS -p FILE -s bench -- /bin/true, with N
#	             services applied (N from SERVICES, "1 100" by default):
#	             run checks that bench's confinement is in force, moves into
#	             its cgroup, locks itself in and executes /bin/true
#
#	bash bench/run-start.sh     # CONFINE=build/confine ITERATIONS=200
#
# Prints the median and 90th percentile in ms of each, and each one's median
# minus nsenter's; writes OUT (default bench/out/run-start.dat). About a
# minute. Root; asserts nothing (machines are noisy).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
as_root "$@" || { echo "run-start.sh: needs root" >&2; exit 1; }
bench_private_lock "$@"
bench_confine

iterations=${ITERATIONS:-200}
sizes=${SERVICES:-1 100}
apply_timeout=${APPLY_TIMEOUT:-300}
out=${OUT:-$BENCH_DIR/out/run-start.dat}
mkdir -p "$(dirname "$out")"

cg2=$(find_cgroup2)
[ -n "$cg2" ] || { echo "run-start.sh: no cgroup2 mount" >&2; exit 1; }
parent=confine-bench-run-$$
dir=$(mktemp -d)
namespaces=()
cleanup() {
	local n
	for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
	remove_cgroups "$cg2/$parent"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

policy() { # N
	printf '[Confine]\nMarkMask=0xffff0000\nCgroupParent=%s/n%d\n\n' "$parent" "$1"
	printf '[Service]\nName=bench\nAllow=udp 10.203.0.1:514\n\n'
	for k in $(seq 2 "$1"); do
		printf '[Service]\nName=s%d\nAllow=tcp 10.%d.%d.1:443\n\n' "$k" $((k / 250)) $((k % 250))
	done
}

echo "confine: $CONFINE ($CONFINE_VERSION)"
# One namespace per N, each with a link and a default route, so that every
# Allow= has a route.
declare -A cmd_of
variants=(bare nsenter ip-netns)
base_ns=
for n in $sizes; do
	ns=confine-run-$$-$n
	ip netns add "$ns" || exit 1
	namespaces+=("$ns")
	ip -n "$ns" link set lo up &&
		ip -n "$ns" link add v0 type veth peer name v1 &&
		ip -n "$ns" addr add 10.203.0.2/24 dev v0 &&
		ip -n "$ns" link set v0 up && ip -n "$ns" link set v1 up &&
		ip -n "$ns" route add default via 10.203.0.1 || exit 1
	policy "$n" >"$dir/n$n.policy"
	if timeout -k 5 "$apply_timeout" "$CONFINE" apply --netns "$ns" "$dir/n$n.policy" >/dev/null 2>"$dir/apply.err"; then
		variants+=("run-$n")
		cmd_of[run-$n]="$CONFINE run --netns $ns -p $dir/n$n.policy -s bench -- /bin/true"
	else
		echo "run-$n: apply failed or took over ${apply_timeout} s: left out"
		cat "$dir/apply.err"
	fi
	[ -z "$base_ns" ] && base_ns=$ns
done
cmd_of[bare]=/bin/true
cmd_of[nsenter]="nsenter --net=/run/netns/$base_ns /bin/true"
cmd_of[ip-netns]="ip netns exec $base_ns /bin/true"

# Each variant once first, to check that it works and to warm the caches.
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086 # the command is words
	timeout 60 ${cmd_of[$v]} || { echo "run-start.sh: $v fails: ${cmd_of[$v]}" >&2; exit 1; }
done

declare -A times
for _ in $(seq 1 "$iterations"); do
	for v in "${variants[@]}"; do
		t0=$EPOCHREALTIME
		# shellcheck disable=SC2086 # the command is words
		${cmd_of[$v]}
		t1=$EPOCHREALTIME
		times[$v]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }') "
	done
done

pct() { # P: the P-th percentile of the numbers on stdin
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print v[i] }'
}
base=$(tr ' ' '\n' <<<"${times[nsenter]}" | grep . | median)
echo "# bench/run-start.sh $(date -u +%FT%TZ) $(uname -r) confine $CONFINE_VERSION iterations=$iterations" >"$out"
echo "# variant median_ms p90_ms minus_nsenter_ms" >>"$out"
printf '%-10s %10s %10s %18s\n' variant median_ms p90_ms minus_nsenter_ms
for v in "${variants[@]}"; do
	med=$(tr ' ' '\n' <<<"${times[$v]}" | grep . | median)
	p90=$(tr ' ' '\n' <<<"${times[$v]}" | grep . | pct 90)
	diff=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.3f", a - b }')
	printf '%-10s %10s %10s %18s\n' "$v" "$med" "$p90" "$diff"
	echo "$v $med $p90 $diff" >>"$out"
done
echo "written: $out"
