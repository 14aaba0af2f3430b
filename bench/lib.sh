# shellcheck shell=bash
#
# What the benches (bench/scale.sh, packet-cost.sh, run-start.sh) share.
# Source it after setting nothing; it defines functions and runs nothing:
#
#	. "$(dirname "$0")/lib.sh"
#
#	bench_private_lock "$@"  re-run the script in a mount namespace of its
#	                         own whose /run/confine is a fresh tmpfs
#	bench_confine            the confine binary to measure ($CONFINE),
#	                         and CONFINE_VERSION, the commit of its tree
#	median, ratio            arithmetic on figures
#	nft_objects NS           "rules chains sets elements" in NS's ruleset
#	cgroup_leftovers DIR     cgroup directories left below DIR

# shellcheck source=../lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$BENCH_DIR")

# bench_private_lock "$@": from the top of a bench. confine serialises its
# commands with a host-wide lock (/run/confine/lock); a bench that holds it
# for minutes would make other confine commands on the host (tests running
# at the same time) give up, and theirs would stretch the bench's timings.
# confine keeps nothing else there, so each bench runs in a mount
# namespace of its own, with its own empty /run/confine. cgroupfs stays
# shared with the host. The network namespaces that the bench makes are
# mounted in its mount namespace only: from the host, `ip netns list`
# shows their names (with an "invalid" error) until the bench removes them,
# and `ip netns exec` cannot enter them.
bench_private_lock() {
	if [ "${CONFINE_BENCH_PRIVATE:-}" != 1 ]; then
		CONFINE_BENCH_PRIVATE=1 exec unshare --mount --propagation slave \
			-- "$BASH" "$0" "$@"
	fi
	mkdir -p /run/confine && mount -t tmpfs -o mode=0755 confine-bench /run/confine
}

# The confine binary measured: $CONFINE, else build/confine of the source
# tree. Sets CONFINE to an absolute path and checks it runs.
bench_confine() {
	CONFINE=${CONFINE:-$SRC_DIR/build/confine}
	CONFINE=$(realpath "$CONFINE" 2>/dev/null) && [ -x "$CONFINE" ] || {
		echo "no confine binary at ${CONFINE:-?}: build first (ninja -C build) or set CONFINE=PATH" >&2
		exit 1
	}
	# The tree the binary was built in, when its build directory is in one.
	# shellcheck disable=SC2034 # for the benches that source this
	CONFINE_VERSION=$(git -C "$(dirname "$CONFINE")" describe --always --dirty 2>/dev/null || echo "unknown commit")
}

# median: the median of the numbers on stdin, one a line (the lower middle
# of an even count); prints "-" for none.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# ratio A B: A / B with three decimals, "-" when either is not a number.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.3f\n", a / b
		else print "-" }'
}

# nft_objects NS: "RULES CHAINS SETS ELEMENTS" of the whole ruleset of NS
# (every table, confine's or not), counted from nft's JSON.
nft_objects() {
	ip netns exec "$1" nft -j list ruleset 2>/dev/null | python3 -c '
import json, sys
try:
    items = json.load(sys.stdin)["nftables"]
except Exception:
    print("- - - -"); sys.exit(0)
n = {"rule": 0, "chain": 0, "set": 0, "map": 0}
elements = 0
for item in items:
    for kind, obj in item.items():
        if kind in n:
            n[kind] += 1
        if kind in ("set", "map"):
            elements += len(obj.get("elem", []))
print(n["rule"], n["chain"], n["set"] + n["map"], elements)'
}

# cgroup_leftovers DIR: how many directories remain at or below DIR.
cgroup_leftovers() {
	[ -d "$1" ] || { echo 0; return; }
	find "$1" -type d | wc -l
}

# remove_cgroups DIR: remove DIR and every cgroup below it, deepest first
# (only empty cgroups can go; a bench's have no processes left by then).
remove_cgroups() {
	[ -d "$1" ] || return 0
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$1" ]
}
