#!/bin/bash
# With the syslog service exclusive, a process outside the service cannot
# reach the log server: logger over UDP and TCP, a plain UDP datagram and a
# TCP connect, ping, IPv4 and IPv6. TCP fails at once (a reset or an ICMP
# error from the local reject, not a timeout), and nothing arrives. Before
# the policy is applied the same tries do arrive, so this test fails if
# confine does nothing.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server
start_second_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"

# Control: without confine, an unconfined logger reaches the server.
pre="pre-$$-$RANDOM"
in_ns "$CLIENT" logger -d -n "$SRV_V4" -P 514 -t test "$pre-udp4"
in_ns "$CLIENT" logger -T -n "$SRV_V6" -P 601 -t test "$pre-tcp6"
check "control: before apply, unconfined logger udp4 arrives" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imudp .*$pre-udp4"
check "control: before apply, unconfined logger tcp6 arrives" \
	wait_line "$SRV_LOG" "^$CLIENT_V6 imtcp .*$pre-tcp6"

apply_checked "confine apply --netns $CLIENT succeeds" "$policy"

tok="unconf-$$-$RANDOM$RANDOM"

# logger over UDP: the send itself may well "succeed" (UDP has no
# handshake); what matters is that nothing arrives.
for dst in "$SRV_V4" "$SRV_V6"; do
	in_ns "$CLIENT" logger -d -n "$dst" -P 514 -t test "$tok-logger-udp-$dst" 2>&1
	log "logger -d -n $dst -P 514: exit $?"
done

# logger over TCP must fail, and fast.
for dst in "$SRV_V4" "$SRV_V6"; do
	t0=$(now_ms)
	msg=$(timeout 10 ip netns exec "$CLIENT" logger -T -n "$dst" -P 601 -t test \
		"$tok-logger-tcp-$dst" 2>&1)
	rc=$?
	dt=$(($(now_ms) - t0))
	log "logger -T -n $dst -P 601: exit $rc after ${dt} ms: $msg"
	check "logger -T to $dst:601 fails (exit $rc, '$msg')" test "$rc" -ne 0
	check "logger -T to $dst:601 fails in < 1 s (${dt} ms)" test "$dt" -lt 1000
done

# Plain sockets: TCP connect gets ECONNREFUSED/EHOSTUNREACH at once.
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok-py" \
	tcp:$SRV_V4:601 udp:$SRV_V4:514 "tcp:[$SRV_V6]:601" "udp:[$SRV_V6]:514")
echo "$out"
check_refused_fast "$out" parent tcp "$SRV_V4" 601
check_refused_fast "$out" parent tcp "$SRV_V6" 601

# ping
for dst in "$SRV_V4" "$SRV_V6"; do
	t0=$(now_ms)
	msg=$(in_ns "$CLIENT" ping -c1 -W1 "$dst" 2>&1)
	rc=$?
	dt=$(($(now_ms) - t0))
	echo "$msg" | sed 's/^/    /'
	check "ping $dst fails (exit $rc after ${dt} ms)" test "$rc" -ne 0
done

# Others are not collateral damage: the second server is not the service's
# destination, an unconfined process still reaches it.
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok-other" \
	tcp:$SRV2_V4:8080 "tcp:[$SRV2_V6]:8080")
echo "$out"
check_connected "$out" parent tcp "$SRV2_V4" 8080
check_connected "$out" parent tcp "$SRV2_V6" 8080

check "barrier: the log server still takes local messages" log_server_barrier
check_absent "nothing from the unconfined client at the log server" "$SRV_LOG" "$tok"
echo "server file:"
sed 's/^/    /' "$SRV_LOG"

finish
