# shellcheck shell=bash
#
# Shared by the tests of lab/confine-lab (tests/netns/lab-*.sh). On top of
# lib.sh's output, waiting and skip conventions: a lab prefix of its own
# per test run, so that a test never meets a lab that someone keeps on this
# machine, a trap that takes that lab down whatever happens, and a way to
# list everything of a lab that is left.

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB_SCRIPT=$(cd "$(dirname "$0")/../.." && pwd)/lab/confine-lab
# shellcheck disable=SC2034 # for the lab tests that source this file
PROBE=$(cd "$(dirname "$0")/../.." && pwd)/lab/probe
export CONFINE_LAB_PREFIX="cfl-$$"
readonly LAB_STATE_DIR=/run/confine-lab/$CONFINE_LAB_PREFIX

lab_require() {
	require_root
	require_cmds ip nft ss rsyslogd logger ping timeout setsid sha256sum "$PYTHON"
	require_cgroup2
	require_confine
	[ -x "$LAB_SCRIPT" ] || skip "no executable $LAB_SCRIPT"
	export CONFINE
	trap lab_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lab_cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM
	"$LAB_SCRIPT" down >/dev/null 2>&1
	exit $rc
}

lab() {
	"$LAB_SCRIPT" "$@"
}

# A digest of the host's own network namespace (host_net_state,
# lab/lib.sh), which the lab must never change.
host_net_digest() {
	host_net_state | sha256sum
}

# The inode numbers of the lab's network namespaces that exist now; a
# process still in one of them is found even after the name is gone.
lab_netns_inodes() {
	local node
	for node in client router logsrv; do
		stat -L -c %i "/run/netns/$CONFINE_LAB_PREFIX-$node" 2>/dev/null
	done
}

# lab_leftovers [NETNS_INODE...]: one line per object of the lab that
# exists: namespace, cgroup, state directory, or a running process in one
# of the given namespaces or with the lab's files on its command line.
lab_leftovers() {
	local node ino pid link
	for node in client router logsrv; do
		[ -e "/run/netns/$CONFINE_LAB_PREFIX-$node" ] &&
			echo "network namespace $CONFINE_LAB_PREFIX-$node"
	done
	[ -e "$CGROUP2/$CONFINE_LAB_PREFIX" ] && echo "cgroup $CGROUP2/$CONFINE_LAB_PREFIX"
	[ -e "$LAB_STATE_DIR" ] && echo "directory $LAB_STATE_DIR"
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		[ "$pid" = "$$" ] && continue
		running "$pid" || continue
		link=$(readlink "/proc/$pid/ns/net" 2>/dev/null)
		for ino in "$@"; do
			[ "$link" = "net:[$ino]" ] &&
				echo "process $pid in the lab's namespace: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		done
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LAB_STATE_DIR"; then
			echo "process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		fi
	done
}

# check_nothing_left WHAT HOST_STATE [NETNS_INODE...]
check_nothing_left() {
	local what=$1 host=$2 left
	shift 2
	left=$(lab_leftovers "$@" | sort -u)
	if [ -z "$left" ]; then
		pass "$what: nothing of the lab is left"
	else
		fail "$what: left behind: $(tr '\n' ';' <<<"$left")"
	fi
	check "$what: the host's ip rules, routes and nf_tables ruleset are unchanged" \
		test "$(host_net_digest)" = "$host"
}
