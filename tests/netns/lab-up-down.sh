#!/bin/bash
# lab/confine-lab up builds what it promises (three namespaces, a router
# that forwards, a log server that takes remote syslog over UDP 514 and TCP
# 601 on IPv4 and IPv6, the client's rsyslogd confined), a second `up` of
# the same lab is refused without harming it, and `down` leaves nothing:
# no namespace, cgroup, file or process, and the host's own rules, routes
# and ruleset as they were.

. "$(dirname "$0")/lab-lib.sh"

lab_require
host_before=$(host_net_digest)

out=$(lab up 2>&1)
rc=$?
echo "$out"
check "lab up exits 0 (saw $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || finish
eval "$(lab env)"

for node in client router logsrv; do
	check "namespace $CONFINE_LAB_PREFIX-$node exists" \
		test -e "/run/netns/$CONFINE_LAB_PREFIX-$node"
done
fwd4=$(ip netns exec "$LAB_ROUTER" sysctl -n net.ipv4.ip_forward)
fwd6=$(ip netns exec "$LAB_ROUTER" sysctl -n net.ipv6.conf.all.forwarding)
check "the router forwards IPv4 ($fwd4) and IPv6 ($fwd6)" test "$fwd4$fwd6" = 11
check "the client's IPv4 default route is via the router" \
	grep -q "default via $LAB_ROUTER_V4" <<<"$(ip -n "$LAB_CLIENT" route show)"

# The log server's rsyslogd listens on both families, both protocols.
for spec in "-Hlnu 0.0.0.0:514" "-Hlnu [::]:514" "-Hlnt 0.0.0.0:601" "-Hlnt [::]:601"; do
	set -- $spec
	check "the log server listens on $2 (ss $1)" \
		grep -qF " $2 " <<<"$(ip netns exec "$LAB_LOGSRV" ss $1)"
done

pid=$(cat "$LAB_STATE/client/rsyslogd.pid" 2>/dev/null)
cg=$(proc_cgroup "${pid:-0}")
check "the client's rsyslogd (pid ${pid:-?}) is in /$CONFINE_LAB_PREFIX/syslog, saw '$cg'" \
	test "$cg" = "/$CONFINE_LAB_PREFIX/syslog"

tok="labtest-$$-$RANDOM"
logger -u "$LAB_SYSLOG_SOCKET" -t test "$tok"
for path in "$LAB_CLIENT_V4 udp514" "$LAB_CLIENT_V4 tcp601" \
	"$LAB_CLIENT_V6 udp514" "$LAB_CLIENT_V6 tcp601"; do
	check "the log server received '$tok' as '$path'" \
		wait_line "$LAB_SERVER_LOG" " $path test: $tok\$" 10000
done

out=$(lab exec client "$PROBE" tcp "$LAB_LOGSRV_V4" 601)
echo "$out"
check "an unconfined process is refused the log server: $out" \
	grep -qE ' (ECONNREFUSED|EPERM) ' <<<"$out"
out=$(lab confined "$PROBE" udp "$LAB_ROUTER_V4" 514 2>&1)
echo "$out"
check "a process of the syslog service is refused the router: $out" \
	grep -qE ' (EHOSTUNREACH|EPERM) ' <<<"$out"

out=$(lab status 2>&1)
rc=$?
echo "$out"
check "lab status exits 0 (saw $rc)" test "$rc" -eq 0
check "lab status shows confine status" grep -q "service syslog: in force" <<<"$out"

# A second `up` must refuse, and must not take the running lab down on
# its way out.
out=$(lab up 2>&1)
rc=$?
echo "$out"
check "a second lab up fails (exit $rc)" test "$rc" -ne 0
check "and says the lab exists" grep -q "exists already" <<<"$out"
check "and leaves the running lab alone (its rsyslogd ${pid:-?} still runs)" \
	kill -0 "${pid:-0}"
check "and its namespaces" test -e "/run/netns/$LAB_CLIENT"

inodes=$(lab_netns_inodes)
out=$(lab down 2>&1)
rc=$?
echo "$out"
check "lab down exits 0 (saw $rc)" test "$rc" -eq 0
# shellcheck disable=SC2086 # one inode per word
check_nothing_left "after down" "$host_before" $inodes

out=$(lab down 2>&1)
rc=$?
check "a second lab down exits 0 and says so (exit $rc: $out)" \
	test "$rc" -eq 0
finish
