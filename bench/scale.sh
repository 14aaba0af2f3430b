#!/usr/bin/env bash
# How do apply, re-apply, status and remove grow with the number of
# services? For each N of SIZES, in a network namespace it makes and
# removes, it writes a policy of N services and times
#
#	apply        confine apply FILE, nothing installed before
#	reapply      confine apply FILE again, nothing changed
#	status       confine status FILE
#	remove       confine remove (everything)
#
# and reads back, after apply, the peak RSS of apply, the fib rules of the
# namespace (ip -4 rule) and its nf_tables objects. Each step has a
# timeout (STEP_TIMEOUT seconds) and prints "timeout" rather than wait
# longer; after a timed-out apply the namespace is thrown away and the
# remaining steps of that N print "-".
#
#	bash bench/scale.sh                  # CONFINE=build/confine SIZES="100 1000 10000"
#	CONFINE=/path/to/confine SIZES="100 300 1000" STEP_TIMEOUT=60 bash bench/scale.sh
#
# The policy: N services, each `Allow=tcp 10.X.Y.1:443` (one per service),
# every 10th Exclusive=yes, and ROUTED of them (5 by default) with an
# `Allow=tcp 172.16.K.0/24:443` and a `Route=172.16.K.0/24 via 10.255.0.1`
# of their own; MarkMask=0xffff0000, so that each service can have a mark
# of its own; CgroupParent unique to the run (removed at the end).
#
# Prints a table and writes it as OUT (default bench/out/scale.dat,
# whitespace separated, "timeout" or "-" for a missing figure) for
# bench/plot.sh. A step takes at most STEP_TIMEOUT, so a size at most 4 x
# STEP_TIMEOUT; on the tree of ca04893 the whole run took 11 minutes (status
# of 1,000 and apply of 10,000 timed out), a linear tree should need about
# a minute. Root; asserts nothing (machines are noisy).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
as_root "$@" || { echo "scale.sh: needs root" >&2; exit 1; }
bench_private_lock "$@"
bench_confine

sizes=${SIZES:-100 1000 10000}
step_timeout=${STEP_TIMEOUT:-300}
routed=${ROUTED:-5}
out=${OUT:-$BENCH_DIR/out/scale.dat}
mkdir -p "$(dirname "$out")"

ns=confine-scale-$$
cg2=$(find_cgroup2)
[ -n "$cg2" ] || { echo "scale.sh: no cgroup2 mount" >&2; exit 1; }
parent=confine-bench-scale-$$
dir=$(mktemp -d)

drop_ns() {
	# confine keeps nothing outside the namespace but the cgroups (no
	# pinned BPF object, no state file): deleting the namespace takes
	# rules, routes and ruleset with it, and the cgroups, which hold no
	# process, are removed directly. So a timed-out step needs no
	# `confine remove`, which could take as long again.
	ip netns del "$ns" 2>/dev/null
	remove_cgroups "$cg2/$parent"
}
cleanup() {
	drop_ns
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_ns() {
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	# A link with a gateway, so that every Allow= has a route and every
	# Route= a directly reachable gateway.
	ip -n "$ns" link add v0 type veth peer name v1 &&
		ip -n "$ns" addr add 10.255.0.2/24 dev v0 &&
		ip -n "$ns" link set v0 up && ip -n "$ns" link set v1 up &&
		ip -n "$ns" route add default via 10.255.0.1
}

policy() { # N
	local n=$1 i k excl
	printf '[Confine]\nMarkMask=0xffff0000\nCgroupParent=%s\n\n' "$parent"
	for i in $(seq 1 "$n"); do
		excl=no
		[ $((i % 10)) = 0 ] && excl=yes
		printf '[Service]\nName=s%d\nAllow=tcp 10.%d.%d.1:443\nExclusive=%s\n' \
			"$i" $((i / 250)) $((i % 250)) "$excl"
		k=$((i * routed / n))
		if [ "$routed" -gt 0 ] && [ $(((i - 1) * routed / n)) != "$k" ]; then
			printf 'Allow=tcp 172.16.%d.0/24:443\nRoute=172.16.%d.0/24 via 10.255.0.1\n' "$k" "$k"
		fi
		printf '\n'
	done
}

# step NAME OK CMD...: runs CMD under the step timeout and GNU time; sets
# SECS (wall seconds to the ms, "timeout", or "failed" when CMD exits with a status
# above OK) and RSS (peak KiB).
step() {
	local name=$1 ok=$2 rc t0 t1
	shift 2
	SECS=- RSS=-
	rm -f "$dir/time"
	t0=$(date +%s%N)
	timeout -k 5 "$step_timeout" /usr/bin/time -f '%e %M' -o "$dir/time" \
		"$@" >"$dir/$name.out" 2>"$dir/$name.err"
	rc=$?
	t1=$(date +%s%N)
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		SECS=timeout
	elif [ $rc -le "$ok" ] && [ -s "$dir/time" ]; then
		read -r _ RSS < <(tail -n 1 "$dir/time")
		SECS=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }')
	else
		SECS=failed
		echo "  $name: exit $rc: $(tail -n 3 "$dir/$name.err" | tr '\n' ' ')" >&2
	fi
}

echo "confine: $CONFINE ($CONFINE_VERSION)"
echo "step timeout ${step_timeout} s; $(nproc) CPUs"
header="services apply_s reapply_s status_s remove_s apply_rss_kib fib_rules fib6_rules nft_rules nft_chains nft_sets nft_elements cgroups_left"
{
	echo "# bench/scale.sh $(date -u +%FT%TZ) $(uname -r) confine $CONFINE_VERSION"
	echo "# $header"
} >"$out"
printf '%8s %9s %9s %9s %9s %13s %9s %10s %9s %10s %8s %12s %12s\n' $header
for n in $sizes; do
	make_ns || { echo "scale.sh: cannot make namespace $ns" >&2; exit 1; }
	policy "$n" >"$dir/scale.policy"
	fib_base=$(ip -n "$ns" -4 rule | wc -l)
	fib6_base=$(ip -n "$ns" -6 rule | wc -l)
	reapply=- status=- remove=- fib=- fib6=- left=- objs="- - - -"
	step apply 0 "$CONFINE" apply --netns "$ns" "$dir/scale.policy"
	apply=$SECS rss=$RSS
	if [ "$apply" != timeout ] && [ "$apply" != failed ]; then
		fib=$(($(ip -n "$ns" -4 rule | wc -l) - fib_base))
		fib6=$(($(ip -n "$ns" -6 rule | wc -l) - fib6_base))
		objs=$(nft_objects "$ns")
		step reapply 0 "$CONFINE" apply --netns "$ns" "$dir/scale.policy"
		reapply=$SECS
		# status exits 1 when a service is not in force: a figure still.
		step status 1 "$CONFINE" status --netns "$ns" "$dir/scale.policy"
		status=$SECS
		step remove 0 "$CONFINE" remove --netns "$ns"
		remove=$SECS
		# What remove left of the services' cgroups (the parent, which
		# the policy chose, is left in place by design and not counted).
		left=$(($(cgroup_leftovers "$cg2/$parent") - 1))
		[ "$left" -lt 0 ] && left=0
	fi
	drop_ns
	# shellcheck disable=SC2086 # objs is four fields
	row=$(printf '%8s %9s %9s %9s %9s %13s %9s %10s %9s %10s %8s %12s %12s' \
		"$n" "$apply" "$reapply" "$status" "$remove" "$rss" "$fib" "$fib6" $objs "$left")
	echo "$row"
	echo "$row" >>"$out"
done
echo "fib_rules, fib6_rules: ip -4 / -6 rule lines added by apply; cgroups_left: below the parent after remove; nft_*: the namespace's whole ruleset after apply"
echo "written: $out"
