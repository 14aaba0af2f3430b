#!/bin/bash
# An allowed destination that the main table cannot reach would fail with
# "Network is unreachable" before confine marks the packet (the route is
# looked up first). `confine run` says so, naming the destination, and still
# starts the program; a routed destination draws no warning.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

policy="$TMPDIR_TEST/syslog.conf"
# 10.77.0.1 is on no link of the client and the client has no default route.
write_policy "$policy" "Allow=udp 10.77.0.1:514"

out=$("$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	sh -c 'echo started' 2>"$TMPDIR_TEST/run.err")
rc=$?
err=$(cat "$TMPDIR_TEST/run.err")
echo "stdout: $out"
echo "stderr: $err"
check "confine run exits 0 (saw $rc)" test "$rc" -eq 0
check "the program was started" test "$out" = started
check "a warning names the unrouted destination 10.77.0.1" \
	grep -q "service syslog: the main table has no route to 10.77.0.1," <<<"$err"
check_not "no warning for the routed log server $SRV_V4" \
	grep -q "no route to $SRV_V4," <<<"$err"
check_not "no warning for the routed log server $SRV_V6" \
	grep -q "no route to $SRV_V6," <<<"$err"

finish
