#!/bin/bash
# SIGKILL at any point of `confine apply`, `confine remove` and `confine
# run` (before its exec) leaves a state that confine itself cleans up: a
# new apply succeeds and status then says every service is in force (exit
# 0), and `confine remove` of everything succeeds and leaves nothing of
# confine's in the client namespace (no ip rule or route of protocol 245,
# no table inet confine) and no cgroup below the test's CgroupParent=.
#
# The policy has 100 services (one exclusive, every tenth with a Route=).
# The kill points are of two kinds:
#
#	time     SIGKILL from the shell 0, 2, 5, 10, 20, 50, 100, 200 ms (and
#	         fractions of a measured apply's duration) after the start;
#	syscall  strace's fault injection delivers SIGKILL at the entry of
#	         the Nth sendto (netlink: ip rules, routes, the nf_tables
#	         batch), mkdir (cgroups) or bpf (socket-mark programs) call,
#	         so a kill lands exactly between two kernel changes even on a
#	         slow or a busy machine.
#
# confine's state lock is host-wide, and other tests may hold it: a kill
# while waiting for it is a kill point too (before the first change).
# The loop is bounded in count and in time (KILL_BUDGET_S, 100 s by
# default); it says how many kill points ran, and needs at least a few.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

N_SERVICES=${N_SERVICES:-100}
KILL_BUDGET_S=${KILL_BUDGET_S:-100}
HAVE_STRACE=0
command -v strace >/dev/null 2>&1 && HAVE_STRACE=1

# Destinations behind the log server that only a service's Route= leads to.
for i in $(seq 1 10); do
	ip -n "$SRV" addr add "10.99.5.$i/32" dev lo
done

# policy FILE PORTBASE: the 100 services; PORTBASE changes every Allow=
# port, so a second version of the policy changes every chain.
write_many() {
	local f=$1 base=$2 i
	{
		echo "[Confine]"
		echo "CgroupParent=$CG_PARENT_REL"
		for ((i = 0; i < N_SERVICES; i++)); do
			echo
			echo "[Service]"
			printf 'Name=s%03d\n' "$i"
			echo "Allow=udp $SRV_V4:$((base + i))"
			echo "Allow=tcp [$SRV_V6]:$((base + i))"
			if ((i == 0)); then
				echo "Allow=udp $SRV2_V4:514"
				echo "Exclusive=yes"
			fi
			if ((i % 10 == 5)); then
				echo "Allow=udp 10.99.5.$((i / 10 + 1)):514"
				echo "Route=10.99.5.$((i / 10 + 1)) via $SRV_V4"
			fi
		done
	} >"$f"
}

policy="$TMPDIR_TEST/many.policy"
policy2="$TMPDIR_TEST/many-v2.policy"
write_many "$policy" 2000
write_many "$policy2" 3000
prog=$(type -P true)

# ---------------------------------------------------------------- checks

# What of confine's is in the client namespace, one line each; empty when
# nothing is.
confine_leftovers() {
	ip -n "$CLIENT" -4 rule show | grep -E 'proto 245|lookup 19[0-9]{3}' | sed 's/^/ip rule: /'
	ip -n "$CLIENT" -6 rule show | grep -E 'proto 245|lookup 19[0-9]{3}' | sed 's/^/ip -6 rule: /'
	ip -n "$CLIENT" -4 route show table all proto 245 | sed 's/^/route: /'
	ip -n "$CLIENT" -6 route show table all proto 245 | sed 's/^/route6: /'
	in_ns "$CLIENT" nft list table inet confine >/dev/null 2>&1 &&
		echo "nft: table inet confine"
	find "$CG_TEST/svc" -mindepth 1 -type d 2>/dev/null | sed 's/^/cgroup: /'
}

# A process that run had forked (its probe) may outlive a killed run for
# a moment; remove rightly refuses while a service cgroup has processes.
subtree_empty() {
	[ -z "$(cgroup_pids_recursive "$CG_TEST/svc")" ]
}

# consistent WHAT: after a kill, apply, status and remove put things right.
consistent() {
	local what=$1 out rc n left
	out=$(timeout 60 "$CONFINE" apply --netns "$CLIENT" "$policy" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$what: apply after the kill exits $rc: $(tail -n 3 <<<"$out" | tr '\n' '|')"
	else
		pass "$what: apply after the kill succeeds"
	fi
	out=$(timeout 60 "$CONFINE" status --netns "$CLIENT" "$policy" 2>/dev/null)
	rc=$?
	n=$(grep -cE '^service s[0-9]{3}: in force$' <<<"$out")
	if [ "$rc" -eq 0 ] && [ "$n" -eq "$N_SERVICES" ]; then
		pass "$what: status FILE exits 0, all $n services in force"
	else
		fail "$what: status FILE exits $rc with $n of $N_SERVICES services in force: $(grep -vE ': in force$' <<<"$out" | grep -m 3 -E '^service|NOT' | tr '\n' '|')"
	fi
	busywait 3000 subtree_empty ||
		fail "$what: processes left in $CG_TEST/svc: $(cgroup_pids_recursive "$CG_TEST/svc" | tr '\n' ' ')"
	out=$(timeout 60 "$CONFINE" remove --netns "$CLIENT" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$what: remove of everything exits $rc: $(tail -n 3 <<<"$out" | tr '\n' '|')"
	else
		pass "$what: remove of everything succeeds"
	fi
	left=$(confine_leftovers)
	if [ -z "$left" ]; then
		pass "$what: after remove, no ip rule, route, nf_tables table or cgroup of confine's is left"
	else
		fail "$what: after remove, left: $(head -n 5 <<<"$left" | tr '\n' '|') ($(wc -l <<<"$left") lines)"
		# The next kill point must start from nothing all the same.
		clean_slate
	fi
}

# Nothing of confine's, whatever a failed check left.
clean_slate() {
	timeout 60 "$CONFINE" remove --netns "$CLIENT" >/dev/null 2>&1
	in_ns "$CLIENT" nft delete table inet confine 2>/dev/null
	local fam pref
	for fam in 4 6; do
		for pref in $(ip -n "$CLIENT" "-$fam" rule show | sed -n 's/^\([0-9]*\):.*proto 245.*/\1/p'); do
			ip -n "$CLIENT" "-$fam" rule del pref "$pref" 2>/dev/null
		done
		ip -n "$CLIENT" "-$fam" route flush table all proto 245 2>/dev/null
	done
	find "$CG_TEST/svc" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
}

# ---------------------------------------------------------------- killing

# Set before each kill point: the command's output and how it ended.
KILLED_HOW=""

# kill_after MS CMD...: start CMD, SIGKILL it MS milliseconds later (if it
# still runs), reap it.
kill_after() {
	local ms=$1 pid
	shift
	"$@" >"$TMPDIR_TEST/killed.out" 2>&1 &
	pid=$!
	if [ "$ms" -gt 0 ]; then
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	fi
	if kill -KILL "$pid" 2>/dev/null; then
		KILLED_HOW="killed"
	else
		KILLED_HOW="had already ended"
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# kill_at_syscall SYSCALL N CMD...: CMD under strace, SIGKILL at the entry
# of its Nth SYSCALL (counted per process). strace exits with the
# tracee's status, so 137 says the kill happened.
kill_at_syscall() {
	local sc=$1 nth=$2 rc
	shift 2
	timeout 60 strace -f -qq -o /dev/null \
		-e trace="$sc" -e inject="$sc:signal=SIGKILL:when=$nth" \
		"$@" >"$TMPDIR_TEST/killed.out" 2>&1
	rc=$?
	if [ "$rc" -eq 137 ] || grep -q 'Killed' "$TMPDIR_TEST/killed.out"; then
		KILLED_HOW="killed"
	else
		KILLED_HOW="ended with $rc before"
	fi
	return 0
}

# count_syscalls SYSCALL CMD...: how often CMD's first process calls
# SYSCALL (strace -c over -f would count the probes' too).
count_syscalls() {
	local sc=$1
	shift
	timeout 60 strace -qq -o "$TMPDIR_TEST/count.strace" -e trace="$sc" \
		"$@" >/dev/null 2>&1
	grep -c "^$sc(" "$TMPDIR_TEST/count.strace"
}

APPLY=("$CONFINE" apply --netns "$CLIENT" "$policy")
REMOVE=("$CONFINE" remove --netns "$CLIENT")
RUN=("$CONFINE" run --netns "$CLIENT" -p "$policy" -s s005 -- "$prog")

loop_start=$(date +%s)
POINTS=0
SKIPPED=0

in_budget() {
	[ $(($(date +%s) - loop_start)) -lt "$KILL_BUDGET_S" ]
}

# point WHAT SETUP KILLER...: one kill point. SETUP is the state before
# (empty, installed: the policy, v2: the second version); KILLER is
# kill_after or kill_at_syscall with its arguments and the command.
point() {
	local what=$1 setup=$2
	shift 2
	if ! in_budget; then
		SKIPPED=$((SKIPPED + 1))
		return
	fi
	case $setup in
	installed) timeout 60 "$CONFINE" apply --netns "$CLIENT" "$policy" >/dev/null 2>&1 ||
		fail "$what: could not install the policy before the kill" ;;
	v2) timeout 60 "$CONFINE" apply --netns "$CLIENT" "$policy2" >/dev/null 2>&1 ||
		fail "$what: could not install the second policy before the kill" ;;
	esac
	"$@"
	POINTS=$((POINTS + 1))
	log "---- $what ($setup before): $KILLED_HOW; $(confine_leftovers | wc -l) objects of confine's left"
	consistent "$what"
}

# ---------------------------------------------------------------- baseline

t0=$(now_ms)
apply_checked "baseline: apply of $N_SERVICES services" "$policy" >/dev/null
apply_ms=$(($(now_ms) - t0))
log "baseline: apply of $N_SERVICES services took $apply_ms ms"
consistent "baseline"

# ---------------------------------------------------------------- timed

# The timed points of all three commands first, so that each command has
# its share even when the budget runs out later.
for ms in 0 2 5 10 20 50 100; do
	point "apply, SIGKILL after $ms ms" empty kill_after "$ms" "${APPLY[@]}"
done
for pct in 30 60 90; do
	ms=$((apply_ms * pct / 100))
	point "apply, SIGKILL after $ms ms ($pct% of an apply)" empty \
		kill_after "$ms" "${APPLY[@]}"
done
# An update: every chain changes, tables and marks stay.
for ms in 5 50; do
	point "apply over the second version, SIGKILL after $ms ms" v2 \
		kill_after "$ms" "${APPLY[@]}"
done
for ms in 0 5 20 50; do
	point "remove, SIGKILL after $ms ms" installed kill_after "$ms" "${REMOVE[@]}"
done
# run of one service of the policy, from nothing (run applies it) and with
# the policy installed (run only checks, probes, joins and execs).
for ms in 0 1 2 3 5 10; do
	point "run, SIGKILL after $ms ms" empty kill_after "$ms" "${RUN[@]}"
done
for ms in 2 10; do
	point "run with the policy installed, SIGKILL after $ms ms" installed \
		kill_after "$ms" "${RUN[@]}"
done

# ---------------------------------------------------------------- exact

if [ "$HAVE_STRACE" = 0 ]; then
	log "no strace: only the timed kill points"
	log "$POINTS kill points ran, $SKIPPED skipped for the ${KILL_BUDGET_S}s budget"
	check "at least 12 kill points ran (saw $POINTS)" test "$POINTS" -ge 12
	finish
fi

# points SYSCALL SETUP LABEL N CMD...: kill points at the 1st, 2nd, a
# quarter, half, and the last two and last of N calls of SYSCALL; with
# FEW=1, at the first, the middle and the last only.
points() {
	local sc=$1 setup=$2 label=$3 n=$4 nth at
	shift 4
	at=(1 2 $((n / 4)) $((n / 2)) $((n - 1)) "$n")
	[ "${FEW:-0}" = 1 ] && at=(1 $((n / 2)) "$n")
	for nth in $(printf '%s\n' "${at[@]}" | sort -nu); do
		[ "$nth" -ge 1 ] || continue
		point "$label, SIGKILL at $sc $nth of $n" "$setup" \
			kill_at_syscall "$sc" "$nth" "$@"
	done
}

n_sendto=$(count_syscalls sendto "${APPLY[@]}")
clean_slate
n_mkdir=$(count_syscalls mkdir "${APPLY[@]}")
clean_slate
n_bpf=$(count_syscalls bpf "${APPLY[@]}")
clean_slate
n_rs=$(count_syscalls sendto "${RUN[@]}")
clean_slate
log "a fresh apply calls sendto $n_sendto times, mkdir $n_mkdir, bpf $n_bpf; a run from nothing sendto $n_rs"
timeout 60 "$CONFINE" apply --netns "$CLIENT" "$policy" >/dev/null 2>&1
n_rm=$(count_syscalls sendto "${REMOVE[@]}")
timeout 60 "$CONFINE" apply --netns "$CLIENT" "$policy" >/dev/null 2>&1
n_rmdir=$(count_syscalls rmdir "${REMOVE[@]}")
log "a remove of everything calls sendto $n_rm times, rmdir $n_rmdir"

points sendto empty apply "$n_sendto" "${APPLY[@]}"
points sendto installed remove "$n_rm" "${REMOVE[@]}"
points sendto empty run "$n_rs" "${RUN[@]}"
# The probe's fork and the exec itself: run is killed in its last steps
# (joining the cgroup, locking itself in). strace's own exec of confine
# is not counted: execve 1 is the exec of the program.
for sc in clone execve; do
	point "run with the policy installed, SIGKILL at its first $sc" installed \
		kill_at_syscall "$sc" 1 "${RUN[@]}"
done
point "apply over the second version, SIGKILL at its last sendto" v2 \
	kill_at_syscall sendto "$n_sendto" "${APPLY[@]}"
FEW=1 points mkdir empty apply "$n_mkdir" "${APPLY[@]}"
FEW=1 points bpf empty apply "$n_bpf" "${APPLY[@]}"
FEW=1 points rmdir installed remove "$n_rmdir" "${REMOVE[@]}"

log "$POINTS kill points ran, $SKIPPED skipped for the ${KILL_BUDGET_S}s budget"
check "at least 12 kill points ran (saw $POINTS)" test "$POINTS" -ge 12

finish
