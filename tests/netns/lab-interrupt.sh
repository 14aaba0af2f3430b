#!/bin/bash
# A lab whose `up` is interrupted half way removes everything it had made:
# no namespace, cgroup, file or process of it is left, and the host's own
# rules, routes and ruleset are as they were. `up` is interrupted at
# several points, as a Ctrl-C does it (SIGINT to its whole process group)
# and as a plain `kill` does (SIGTERM to the script alone).

. "$(dirname "$0")/lab-lib.sh"

lab_require
host_before=$(host_net_digest)

# Job control: each background job gets a process group of its own, as a
# command started from a terminal does, and does not start with SIGINT
# ignored (a non-interactive shell ignores it in background jobs, and a
# script cannot trap a signal that was ignored when it started).
set -m

# interrupt WHEN SIGNAL TARGET: start `up`, wait until the condition WHEN
# holds, send SIGNAL to the process group (TARGET=group) or to the script
# (TARGET=script), and check that nothing of the lab is left.
interrupt() {
	local when=$1 sig=$2 target=$3 pid rc inodes want
	log "--- up, interrupted by SIG$sig to the $target once: $when"
	"$LAB_SCRIPT" up >"$TMPDIR_LAB/up.out" 2>&1 &
	pid=$!
	if ! busywait 20000 eval "$when"; then
		fail "the condition '$when' never held during up"
		cat "$TMPDIR_LAB/up.out"
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return
	fi
	inodes=$(lab_netns_inodes)
	if [ "$target" = group ]; then
		kill -"$sig" -- -"$pid"
	else
		kill -"$sig" "$pid"
	fi
	# Bounded: teardown takes a few seconds at most.
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "up did not end within 30 s of SIG$sig"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	sed 's/^/    /' "$TMPDIR_LAB/up.out"
	want=130
	[ "$sig" = TERM ] && want=143
	check "up ended with $want for SIG$sig (saw $rc)" test "$rc" -eq "$want"
	check "up said it was tearing down" grep -q "interrupted; tearing down" "$TMPDIR_LAB/up.out"
	# shellcheck disable=SC2086 # one inode per word
	check_nothing_left "SIG$sig once $when" "$host_before" $inodes
}

TMPDIR_LAB=$(mktemp -d /tmp/confine-lab-interrupt.XXXXXX)
trap 'rm -rf "$TMPDIR_LAB"; lab_cleanup' EXIT

client=/run/netns/$CONFINE_LAB_PREFIX-client
# Early: the namespaces are being made.
interrupt "test -e $client" INT group
# Half way: the log server's rsyslogd runs, the client's is not started.
interrupt "test -s $LAB_STATE_DIR/logsrv/rsyslogd.pid" INT group
# Late: confine run is applying the policy or rsyslogd is starting.
interrupt "test -e $LAB_STATE_DIR/client.pid" INT group
# A plain kill of the script alone, half way.
interrupt "test -s $LAB_STATE_DIR/router/rsyslogd.pid" TERM script

finish
