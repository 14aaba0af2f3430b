# shellcheck shell=bash
#
# The shell functions that the lab (lab/confine-lab, lab/demo) and the
# tests (tests/run.sh, tests/netns/*.sh) share, so that each is written
# once. Source it; it defines functions and a few counters, and runs
# nothing:
#
#	. "$(dirname "$0")/lib.sh"            # from lab/
#	. "$(dirname "$0")/../../lab/lib.sh"  # from tests/netns/
#
# It works from the source tree only; nothing of it is installed.
#
#	as_root ARG...            re-run the calling script as root (sudo)
#	pass, fail, check, check_not, checks_held
#	                          count and print checks
#	now_ms, busywait          time, and bounded waits instead of sleeps
#	has_line, wait_line       look for a line in a file
#	running                   is a process running (not a zombie)
#	find_cgroup2              the cgroup2 mount point
#	in_ns, netns_add, veth, addrs, listening, reaches
#	                          network namespaces and what is in them
#	host_net_state            the host namespace's rules, routes, ruleset
#	syslog_policy             the syslog service's policy

# ---------------------------------------------------------------- root

# The variables that say how to run the lab and the tests; as_root keeps
# them across sudo, which would otherwise reset the environment.
CONFINE_ENV_VARS=CONFINE,CONFINE_LAB_PREFIX,CONFINE_LAB_GATEWAY,CONFINE_TESTS_MUST_RUN,CONFINE_LOCK_TIMEOUT,CONFINE_DEPS_LOG

# as_root "$@": from the top of a script that needs root. As root, returns.
# Otherwise runs the script again through sudo (saying so on stderr) and
# exits with its status, or, with no sudo on this machine, returns 1 for
# the script to say so in its own way.
as_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	command -v sudo >/dev/null 2>&1 || return 1
	local script
	script=$(realpath "$0")
	printf '%s: not running as root; running it again with sudo\n' \
		"$(basename "$0")" >&2
	exec sudo --preserve-env="$CONFINE_ENV_VARS" -- "$BASH" "$script" "$@"
}

# ---------------------------------------------------------------- checks

# Every check prints one line, PASS_FORMAT or FAIL_FORMAT (printf formats
# with one %s), and is counted. A script may change the formats, and set
# CHECK_CONTEXT, which prefixes what FAILED_CHECKS records.
CHECKS=0
FAILED=0
FAILED_CHECKS=()
PASS_FORMAT='PASS: %s\n'
FAIL_FORMAT='FAIL: %s\n'
CHECK_CONTEXT=""

pass() {
	CHECKS=$((CHECKS + 1))
	# shellcheck disable=SC2059 # the format is the point
	printf "$PASS_FORMAT" "$*"
}

# fail WHAT [DETAIL...]: FAILED_CHECKS records WHAT; the line shows all.
fail() {
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	FAILED_CHECKS+=("$CHECK_CONTEXT$1")
	# shellcheck disable=SC2059
	printf "$FAIL_FORMAT" "$*"
}

# check DESCRIPTION CMD [ARG...]: PASS when CMD exits 0.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what" "(command: $*)"
	fi
}

# check_not DESCRIPTION CMD [ARG...]: PASS when CMD fails.
check_not() {
	local what=$1
	shift
	if "$@"; then
		fail "$what" "(command unexpectedly succeeded: $*)"
	else
		pass "$what"
	fi
}

# True when at least one check ran and none failed.
checks_held() {
	[ "$FAILED" -eq 0 ] && [ "$CHECKS" -gt 0 ]
}

# ---------------------------------------------------------------- waiting

# Milliseconds since the epoch, for measuring how long something took.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# busywait TIMEOUT_MS CMD [ARG...]: run CMD every 50 ms until it succeeds or
# TIMEOUT_MS have passed (counted both by attempts and by the clock, so
# that a slow CMD cannot stretch the wait). Returns CMD's last status.
busywait() {
	local timeout_ms=$1
	shift
	local max_tries=$((timeout_ms / 50 + 1))
	local start tries=0 rc
	start=$(now_ms)
	while :; do
		"$@" && return 0
		rc=$?
		tries=$((tries + 1))
		if [ $tries -ge $max_tries ] ||
		   [ $(($(now_ms) - start)) -ge "$timeout_ms" ]; then
			return $rc
		fi
		sleep 0.05
	done
}

# has_line FILE STRING...: FILE has a line that contains every STRING (as
# fixed text); FOUND is set to the first such line.
# shellcheck disable=SC2034 # FOUND is for the caller
has_line() {
	local file=$1 line s hit
	shift
	while IFS= read -r line; do
		hit=1
		for s in "$@"; do
			[[ $line == *"$s"* ]] || { hit=0; break; }
		done
		[ $hit = 1 ] && { FOUND=$line; return 0; }
	done <"$file"
	return 1
}

# wait_line FILE REGEX [TIMEOUT_MS]: wait until a line matching REGEX
# (grep -E) is in FILE; 5 s by default.
wait_line() {
	busywait "${3:-5000}" grep -qE -- "$2" "$1"
}

# ---------------------------------------------------------------- processes

# running PID: the process exists and has not stopped. A zombie still
# answers kill -0, but it only waits to be reaped, so it does not count.
running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# ---------------------------------------------------------------- cgroups

# The cgroup2 mount point, found, never assumed: Debian 12's hybrid layout
# mounts it at /sys/fs/cgroup/unified, a unified host at /sys/fs/cgroup.
# As confine itself does, only a mount that shows the whole hierarchy (its
# root is "/") counts: a cgroup path read from /proc/PID/cgroup names a
# directory below it. Prints nothing when there is none.
find_cgroup2() {
	# ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE ...
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break
	       if ($(i + 1) == "cgroup2" && $4 == "/") { print $5; exit } }' \
		/proc/self/mountinfo
}

# ---------------------------------------------------------------- network namespaces

# in_ns NS CMD...: run CMD in the network namespace NS. (`ip netns exec`
# mounts a /sys of its own, which hides cgroupfs: confine itself is run
# with --netns NS instead.)
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# netns_add NS: a network namespace with its loopback up.
netns_add() {
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
	# The links are private veth pairs: duplicate address detection would
	# only keep IPv6 addresses "tentative" for a second or more.
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
}

# veth NS_A IF_A NS_B IF_B: a veth pair made directly inside the two
# namespaces, so that it never appears in the host's.
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.accept_dad=0"
	ip netns exec "$3" sysctl -qw "net.ipv6.conf.$4.accept_dad=0"
}

# addrs NS IF ADDRESS/LEN...: the addresses, and the link up.
addrs() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" ;;
		esac || return 1
	done
	ip -n "$ns" link set "$dev" up
}

# listening NS udp|tcp PORT: something in NS listens on PORT.
listening() {
	local opt=-Hlnt
	[ "$2" = udp ] && opt=-Hlnu
	in_ns "$1" ss $opt "sport = :$3" | grep -q .
}

# reaches NS ADDRESS: one ping from NS is answered within a second.
reaches() {
	in_ns "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1
}

# What the host's own network namespace holds; the lab and the tests must
# leave it exactly as it was.
host_net_state() {
	ip rule show
	ip -6 rule show
	ip route show table all
	ip -6 route show table all
	nft list ruleset 2>/dev/null
}

# ---------------------------------------------------------------- policy

# syslog_policy CGROUP_PARENT V4 V6 [LINE...]: the syslog service of the
# lab and of the tests: UDP 514 and TCP 601 at the log server's V4 and V6
# address, exclusive; each LINE is added to the [Service] section (or
# after it: a LINE may start another section). Tests expect errors at
# fixed lines: keep the line numbers.
syslog_policy() {
	local parent=$1 v4=$2 v6=$3
	shift 3
	cat <<EOF
[Confine]
CgroupParent=$parent

[Service]
Name=syslog
Allow=udp $v4:514
Allow=tcp $v4:601
Allow=udp [$v6]:514
Allow=tcp [$v6]:601
Exclusive=yes
EOF
	[ $# -eq 0 ] || printf '%s\n' "$@"
}
