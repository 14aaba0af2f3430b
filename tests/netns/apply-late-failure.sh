#!/bin/bash
# An apply that fails late, after its ip rules and routes are in, takes
# them away again, with its cgroups, and leaves the services installed
# before it untouched.
#
# The syslog service holds the log server's addresses exclusively. A
# second policy brings "fresh" (harmless) and "late", which wants the log
# server's port 8080 exclusively too. Nothing in the plan forbids it; only
# the nf_tables step finds the overlap with the installed service and
# refuses ("File exists"), after the routing step has installed the ip
# rules and table routes of both new services. `ip monitor` watches the
# client namespace meanwhile, to prove that the failure came that late
# (the rules were added, then deleted): a test of the undo that never got
# to the undo would prove nothing.
#
# After the failed apply (exit 1): no ip rule, route or cgroup of either
# new service, the same number of confine's rules and routes as before,
# every piece of syslog as it was, and status says it is in force.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

ip -n "$SRV" addr add 10.99.5.1/32 dev lo

first="$TMPDIR_TEST/syslog.policy"
# With routing of its own, so that its rule and table are there to keep.
write_policy "$first" "Mark=0x40"
second="$TMPDIR_TEST/late.policy"
cat >"$second" <<EOF
[Confine]
CgroupParent=$CG_PARENT_REL

[Service]
Name=fresh
Allow=udp $SRV2_V4:514
Mark=0x41
Table=4241

[Service]
Name=late
Allow=udp 10.99.5.1:514
Allow=tcp $SRV_V4:8080
Route=10.99.5.1 via $SRV_V4
Exclusive=yes
Mark=0x42
Table=4242
EOF
check "confine check accepts the second policy on its own" \
	"$CONFINE" check "$second"

apply_checked "confine apply of the syslog service" "$first"
MARK=$(printf '0x%x' "$(status_field syslog "s['mark']")")
MASK=$(printf '0x%x' "$(status_field syslog "s['mark_mask']")")
TABLE=$(status_field syslog "s['table']")
log "syslog: mark $MARK/$MASK table $TABLE"

# syslog's pieces, as the kernel shows them.
syslog_pieces() {
	local fam
	for fam in 4 6; do
		ip -n "$CLIENT" "-$fam" rule show | grep -E "lookup $TABLE( |$)" |
			sed "s/^/rule$fam: /"
		ip -n "$CLIENT" "-$fam" route show table "$TABLE" | sed "s/^/route$fam: /"
	done
	in_ns "$CLIENT" nft -s list table inet confine 2>/dev/null | sed 's/^/nft: /'
	find "$CG_TEST/svc" -mindepth 1 -type d | sed 's/^/cgroup: /'
}

# confine's rules and routes in the client, counted.
count_245() {
	{
		ip -n "$CLIENT" -4 rule show | grep 'proto 245'
		ip -n "$CLIENT" -6 rule show | grep 'proto 245'
		ip -n "$CLIENT" -4 route show table all proto 245
		ip -n "$CLIENT" -6 route show table all proto 245
	} | wc -l
}

chain_exists() {
	in_ns "$CLIENT" nft list chain inet confine "$1" >/dev/null 2>&1
}

before=$(syslog_pieces)
n_before=$(count_245)
check "syslog's rule and table $TABLE are there" \
	grep -q "^rule4: .*fwmark $MARK/$MASK lookup $TABLE" <<<"$before"

# ---------------------------------------------------------------- the failure

in_ns "$CLIENT" ip monitor rule route >"$TMPDIR_TEST/monitor.log" 2>&1 &
monitor_pid=$!
TEST_PIDS+=("$monitor_pid")
# ip monitor subscribes before it prints anything; give it that moment.
busywait 2000 kill -0 "$monitor_pid"
sleep 0.3

out=$(timeout 30 "$CONFINE" apply --netns "$CLIENT" "$second" 2>&1)
rc=$?
echo "$out"
check "confine apply of the overlapping policy fails with exit 1 (saw $rc)" \
	test "$rc" -eq 1
check "it says the destinations overlap syslog's" \
	grep -qiE "overlap.*syslog|syslog.*overlap|exclusive to service syslog" <<<"$out"

# Wait for the monitor to have seen the deletion, then stop it.
busywait 3000 grep -q "^Deleted.*lookup 4242" "$TMPDIR_TEST/monitor.log"
kill_pid "$monitor_pid"
echo "ip monitor saw (first lines):"
head -n 12 "$TMPDIR_TEST/monitor.log"
check "the failure came after the routing step: ip rule lookup 4242 was added" \
	grep -qE "^[0-9]+:.*fwmark 0x42000000/$MASK lookup 4242" "$TMPDIR_TEST/monitor.log"
check "the failure came after the routing step: table 4242's unreachable default was added" \
	grep -qE "^unreachable default .*table 4242" "$TMPDIR_TEST/monitor.log"
check "the undo deleted the ip rule lookup 4242" \
	grep -qE "^Deleted .*lookup 4242" "$TMPDIR_TEST/monitor.log"

# ---------------------------------------------------------------- nothing left

for t in 4241 4242; do
	for fam in 4 6; do
		check_not "no IPv$fam ip rule lookup $t is left" \
			bash -c "ip -n '$CLIENT' -$fam rule show | grep -qE 'lookup $t( |\$)'"
		routes=$(ip -n "$CLIENT" "-$fam" route show table "$t" 2>/dev/null)
		check "IPv$fam table $t is empty (saw: $(tr '\n' '|' <<<"$routes"))" \
			test -z "$routes"
	done
done
for s in fresh late; do
	check_not "no cgroup $(service_cgroup "$s") is left" test -d "$CGROUP2$(service_cgroup "$s")"
	check_not "no chain svc_$s is left" chain_exists "svc_$s"
done
n_after=$(count_245)
check "confine's rules and routes: $n_after, as before ($n_before)" \
	test "$n_after" -eq "$n_before"

# ---------------------------------------------------------------- syslog intact

after=$(syslog_pieces)
if [ "$after" = "$before" ]; then
	pass "every piece of syslog is as before: rules, table $TABLE, table inet confine, cgroups ($(wc -l <<<"$after") lines)"
else
	fail "syslog changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -n 6 | tr '\n' '|')"
fi
out=$(timeout 30 "$CONFINE" status --netns "$CLIENT" 2>/dev/null)
rc=$?
echo "$out" | grep '^service '
check "status exits 0 (saw $rc)" test "$rc" -eq 0
check "status: syslog is in force" grep -qx "service syslog: in force" <<<"$out"
check "status lists syslog only" test "$(grep -c '^service ' <<<"$out")" -eq 1
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --timeout 2 "tcp:$SRV_V4:8080")
check_refused_fast "$out" parent tcp "$SRV_V4" 8080

# Without the overlap the same services apply: the failure was the overlap.
sed -i "s/^Allow=tcp $SRV_V4:8080\$/Allow=tcp 10.99.5.1:8080/" "$second"
apply_checked "the second policy without the overlap applies" "$second"
out=$(timeout 30 "$CONFINE" status --netns "$CLIENT" 2>/dev/null)
rc=$?
check "status then exits 0 with three services in force (saw $rc)" \
	test "$rc" -eq 0 -a "$(grep -c ': in force$' <<<"$out")" -eq 3

finish
