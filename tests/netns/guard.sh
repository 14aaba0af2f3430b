#!/bin/bash
# confine guard repairs what someone else removes, in the lab with a real
# rsyslog: after `nft flush ruleset` (what Debian's nftables.service does
# on every start), after the ip rules are deleted, and after table T's
# routes are deleted, the exclusive log server is closed to unconfined
# processes again, the confined rsyslogd still reaches only its Allow=
# list, status says in force, and the guard's log names each repair. A
# deliberate `confine remove` is not undone. The syslog service has a
# Route=, so it has ip rules and a table to delete; then a service without
# routing of its own, which a flush leaves only confine's marker of, is
# repaired after a flush too.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy" "Allow=udp 10.99.6.1:514" "Route=10.99.6.1 via $SRV_V4"
apply_checked "confine apply succeeds" "$policy"
table=$(status_field syslog "s['table']")
start_confined_rsyslog "$policy"

GUARD_LOG="$TMPDIR_TEST/guard.log"
"$CONFINE" guard --netns "$CLIENT" "$policy" >"$GUARD_LOG" 2>&1 &
GUARD_PID=$!
TEST_PIDS+=("$GUARD_PID")
check "the guard says it is watching" \
	busywait 5000 grep -q "watching 1 service" "$GUARD_LOG"

# in_force: status exits 0 and says so.
in_force() {
	"$CONFINE" status --netns "$CLIENT" "$policy" 2>/dev/null |
		grep -q "^service syslog: in force"
}

# repairs_beyond N: the guard has logged more than N repairs.
repairs_beyond() {
	test "$(grep -c 'repaired service syslog' "$GUARD_LOG")" -gt "$1"
}

# after BREAKAGE CMD...: break something, then check that the guard
# repaired it and that confinement holds again.
after() {
	local what=$1 n
	shift
	n=$(grep -c "repaired service syslog" "$GUARD_LOG")
	check "$what" "$@"
	check "$what: the guard logs a repair" busywait 5000 repairs_beyond "$n"
	check "$what: status says in force again" busywait 5000 in_force
	local tok="after-$RANDOM$RANDOM" out
	out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" \
		"udp:$SRV_V4:514" "tcp:$SRV_V4:601")
	echo "$out"
	check_refused_fast "$out" parent udp "$SRV_V4" 514
	check_refused_fast "$out" parent tcp "$SRV_V4" 601
	check "$what: barrier" log_server_barrier
	check_absent "$what: nothing unconfined reached the log server" "$SRV_LOG" "$tok"
	tok="confined-$RANDOM$RANDOM"
	check "$what: the confined rsyslogd takes a message" \
		logger -u "$CLIENT_SOCK" "$tok"
	check "$what: ... at the log server" wait_line "$SRV_LOG" "$tok" 5000
}

after "nft flush ruleset" in_ns "$CLIENT" nft flush ruleset
after "ip rule del of the IPv4 rule" ip -n "$CLIENT" rule del pref 1900 table "$table"
after "ip -6 rule del of the IPv6 rule" ip -n "$CLIENT" -6 rule del pref 1900 table "$table"
after "the unreachable default of table $table deleted" \
	ip -n "$CLIENT" route del unreachable default table "$table"

# A flush storm: 150 flushes, one every 20 ms or so; the guard
# rate-limits its repairs and says so, and ends with everything in force.
storm() {
	for _ in $(seq 1 150); do
		ip netns exec "$CLIENT" nft flush ruleset || return 1
		sleep 0.02
	done
}
check "a storm of 150 flushes" storm
check "after the storm, status says in force" busywait 10000 in_force
check "the guard said it rate-limits" grep -q "rate limit reached" "$GUARD_LOG"
# The kernel names the committer of an nf_tables change (NFT_MSG_NEWGEN).
check "the guard names who flushed (a PID, and nft)" \
	grep -qE "repaired service syslog: .*by PID [0-9]+, nft\)" "$GUARD_LOG"

# The confined daemon is stopped and the service removed on purpose.
kill_pid "$CLIENT_RSYSLOG_PID"
check "confine remove syslog" "$CONFINE" remove --netns "$CLIENT" syslog
n=$(grep -c "repaired" "$GUARD_LOG")
sleep 1
check "the guard did not re-apply a removed service" \
	test "$(grep -c 'repaired' "$GUARD_LOG")" -eq "$n"
check_not "no table inet confine after remove" in_ns "$CLIENT" nft list table inet confine
log "guard log:"
cat "$GUARD_LOG"

# ---- a service without routing of its own, after a flush
# The first guard goes: it would take the new policy for damage to its own.
kill_pid "$GUARD_PID"
plain="$TMPDIR_TEST/plain.conf"
write_policy "$plain"
apply_checked "apply the service without Route=" "$plain"
check "it has no routing table of its own" test "$(status_field syslog "s['table']")" = 0
PLAIN_LOG="$TMPDIR_TEST/guard-plain.log"
"$CONFINE" guard --netns "$CLIENT" "$plain" >"$PLAIN_LOG" 2>&1 &
TEST_PIDS+=($!)
check "the second guard says it is watching" \
	busywait 5000 grep -q "watching 1 service" "$PLAIN_LOG"
check "nft flush ruleset" in_ns "$CLIENT" nft flush ruleset
check "the guard repairs the service without routing of its own" \
	busywait 5000 grep -q "repaired service syslog" "$PLAIN_LOG"
check "status says in force again" busywait 5000 \
	bash -c "'$CONFINE' status --netns '$CLIENT' '$plain' | grep -q '^service syslog: in force'"
tok="plain-$RANDOM$RANDOM"
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" \
	"udp:$SRV_V4:514" "tcp:$SRV_V4:601")
echo "$out"
check_refused_fast "$out" parent udp "$SRV_V4" 514
check_refused_fast "$out" parent tcp "$SRV_V4" 601
check "barrier" log_server_barrier
check_absent "nothing unconfined reached the log server" "$SRV_LOG" "$tok"
log "second guard log:"
cat "$PLAIN_LOG"
finish
