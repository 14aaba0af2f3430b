#!/bin/bash
# A confined rsyslogd forwards a message to the log server over every allowed
# path: UDP 514 and TCP 601, IPv4 and IPv6. Each path is checked on its own
# in the server's file (source address, input module, via= tag).

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"

out=$("$CONFINE" check "$policy" 2>&1)
rc=$?
echo "$out"
check "confine check accepts the policy (exit $rc)" test "$rc" -eq 0

start_confined_rsyslog "$policy" || finish

cg=$(proc_cgroup "$CLIENT_RSYSLOG_PID")
check "rsyslogd (pid $CLIENT_RSYSLOG_PID) is in $(service_cgroup), saw '$cg'" \
	test "$cg" = "$(service_cgroup)"

in_force=$(status_field syslog "s['in_force']")
check "confine status says in_force, saw '$in_force'" test "$in_force" = true
pids=$(status_field syslog "[p for c in s['cgroups'] for p in c['pids']]")
check "confine status lists pid $CLIENT_RSYSLOG_PID, saw $pids" \
	grep -qw "$CLIENT_RSYSLOG_PID" <<<"$pids"

tok="fwd-$$-$RANDOM$RANDOM"
logger -u "$CLIENT_SOCK" -t test "$tok"
log "sent '$tok' to the confined rsyslogd through $CLIENT_SOCK"

for p in udp4 tcp4 udp6 tcp6; do
	case $p in
	*4) src=$CLIENT_V4 ;;
	*6) src=$CLIENT_V6 ;;
	esac
	case $p in
	udp*) input=imudp ;;
	tcp*) input=imtcp ;;
	esac
	if wait_line "$SRV_LOG" "^$src $input .*via=$p $tok" 10000; then
		pass "$p: arrived: $(grep -F "via=$p $tok" "$SRV_LOG")"
	else
		fail "$p: no line '$src $input ... via=$p $tok' in the server file within 10 s"
	fi
done

# A second message: the paths stay open, not just the first connection.
tok2="fwd2-$$-$RANDOM$RANDOM"
logger -u "$CLIENT_SOCK" -t test "$tok2"
check "a second message arrives over tcp6 too" \
	wait_line "$SRV_LOG" "^$CLIENT_V6 imtcp .*via=tcp6 $tok2" 10000
check "a second message arrives over udp4 too" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imudp .*via=udp4 $tok2" 10000

allowed=$(status_field syslog "s['packets']['allowed']")
check "confine status counts allowed packets, saw '$allowed'" \
	test "${allowed:-0}" -gt 0 2>/dev/null

finish
