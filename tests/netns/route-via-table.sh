#!/bin/bash
# Sockets marked from birth make two Route= cases work that marking in the
# output hook alone cannot:
#
# 1. The log server is reachable only through the service's table T: the
#    client's main table has no route to it at all. A real logger, run by
#    `confine run`, delivers over UDP and TCP, IPv4 and IPv6; the same
#    logger unconfined fails with "Network is unreachable".
# 2. A Route= through another interface: the main table sends 10.99.6.0/24
#    out of c0, the service's Route= out of c1. The source address must be
#    c1's, or the server could not answer; the server sees 10.99.1.2.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server
start_second_server

# Addresses behind the servers, on their loopback: nothing in the client's
# main table leads to 10.99.5.1 or fd00:95::1.
ip -n "$SRV" addr add 10.99.5.1/32 dev lo
ip -n "$SRV" addr add fd00:95::1/128 dev lo
ip -n "$SRV2" addr add 10.99.6.1/32 dev lo
# The host's way to 10.99.6.0/24 is c0 (through the log server, which
# does not forward); the service's is c1.
ip -n "$CLIENT" route add 10.99.6.0/24 via "$SRV_V4" dev c0

policy="$TMPDIR_TEST/routes.policy"
cat >"$policy" <<EOF
[Confine]
CgroupParent=$CG_PARENT_REL

[Service]
Name=syslog
Allow=udp 10.99.5.1:514
Allow=tcp 10.99.5.1:601
Allow=udp [fd00:95::1]:514
Allow=tcp [fd00:95::1]:601
Route=10.99.5.1 via $SRV_V4
Route=fd00:95::1 via $SRV_V6
Exclusive=yes

[Service]
Name=web
Allow=tcp 10.99.6.1:8080
Allow=udp 10.99.6.1:514
Route=10.99.6.1 via $SRV2_V4 dev c1
EOF

logger_bin=$(command -v logger)

# logger_to WHO HOST PROTO PORT TOKEN: one message with the real logger,
# confined (WHO=confined) or not; prints logger's stderr and returns its
# exit status.
logger_to() {
	local who=$1 host=$2 proto=$3 port=$4 tok=$5 opt=-d
	[ "$proto" = tcp ] && opt=-T
	if [ "$who" = confined ]; then
		timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
			"$logger_bin" "$opt" -n "$host" -P "$port" -t routes \
			"$tok $proto $host" 2>&1
	else
		timeout 30 ip netns exec "$CLIENT" "$logger_bin" "$opt" -n "$host" \
			-P "$port" -t routes "$tok $proto $host" 2>&1
	fi
}

apply_checked "confine apply succeeds" "$policy"

# ---- 1. reachable through table T only
check_not "the client's main table has no route to 10.99.5.1" \
	sh -c "ip -n '$CLIENT' route get 10.99.5.1 >/dev/null 2>&1"

tok="tonly-$$-$RANDOM"
for dest in udp:10.99.5.1:514 tcp:10.99.5.1:601 udp:fd00:95::1:514 tcp:fd00:95::1:601; do
	proto=${dest%%:*}
	rest=${dest#*:}
	host=${rest%:*}
	port=${rest##*:}
	out=$(logger_to confined "$host" "$proto" "$port" "$tok")
	rc=$?
	[ -n "$out" ] && echo "$out"
	check "confined logger over $proto to $host: exit 0 (saw $rc)" test "$rc" -eq 0
	check_not "confine run gives no 'main table has no route' warning for a Route= destination" \
		grep -q "main table has no route" <<<"$out"
	case $host in
	*:*) src='fd00:99::2' ;;
	*) src='10\.99\.0\.2' ;;
	esac
	check "the log server got the confined $proto message to $host, from the client's address" \
		wait_line "$SRV_LOG" "^$src im$proto routes:? ?$tok $proto $host\$"
done

ctl="tonly-ctl-$$-$RANDOM"
for dest in udp:10.99.5.1:514 tcp:10.99.5.1:601 udp:fd00:95::1:514; do
	proto=${dest%%:*}
	rest=${dest#*:}
	host=${rest%:*}
	port=${rest##*:}
	t0=$(now_ms)
	out=$(logger_to unconfined "$host" "$proto" "$port" "$ctl")
	rc=$?
	ms=$(($(now_ms) - t0))
	echo "unconfined: $out"
	check "unconfined logger over $proto to $host fails (exit $rc, ${ms} ms)" test "$rc" -ne 0
done
# logger does not say why; a socket of the same process kind does.
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$ctl" \
	udp:10.99.5.1:514 tcp:10.99.5.1:601 "udp:[fd00:95::1]:514")
echo "$out"
for dest in "udp 10.99.5.1 514" "tcp 10.99.5.1 601" "udp fd00:95::1 514"; do
	read -r proto host port <<<"$dest"
	res=$(probe_field "$out" parent "$proto" "$host" "$port" 4)
	check "unconfined $proto to $host: ENETUNREACH (saw ${res:-nothing})" test "$res" = ENETUNREACH
done
check "barrier" log_server_barrier
check_absent "unconfined messages" "$SRV_LOG" "$ctl"

# ---- 2. the source address of a Route= through another interface
tok="src-$$-$RANDOM"
out=$(timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$policy" -s web -- \
	"$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" \
	tcp:10.99.6.1:8080 udp:10.99.6.1:514 2>&1)
echo "$out"
check_connected "$out" parent tcp 10.99.6.1 8080
check "the second server got the confined TCP message from 10.99.1.2 (c1's address)" \
	wait_line "$SRV2_SINK_LOG" "^tcp 8080 (::ffff:)?10\.99\.1\.2 .*$tok"
check "the second server got the confined UDP message from 10.99.1.2 (c1's address)" \
	wait_line "$SRV2_SINK_LOG" "^udp 514 (::ffff:)?10\.99\.1\.2 .*$tok"
check "barrier" sink_barrier "$SRV2" "$SRV2_SINK_LOG" udp:514 tcp:8080
check_not "nothing came from c0's address 10.99.0.2" \
	grep -qE "^(tcp|udp) [0-9]+ (::ffff:)?10\.99\.0\.2 .*$tok" "$SRV2_SINK_LOG"

finish
