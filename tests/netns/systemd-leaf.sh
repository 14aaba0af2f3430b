#!/bin/bash
# Under a systemd service, `confine run` must keep the program inside the
# unit's cgroup (systemd tracks the main PID by it): the program runs in a
# leaf <unit cgroup>/confine-syslog, keeps its PID, and is confined there
# just as in the standalone cgroup. systemd is simulated the way confine
# recognises it: $INVOCATION_ID set and a cgroup whose name ends in .service.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server
start_second_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"
unit_rel="/confine-test-$$/fake.service"
mkdir "$CGROUP2$unit_rel" || fail "cannot create the unit cgroup"

# The "unit" process: joins the unit cgroup, then execs confine run, which
# execs a shell that reports its PID and cgroup and runs the probe.
tok="unit-$$-$RANDOM$RANDOM"
out=$(
	echo "$BASHPID" >"$CGROUP2$unit_rel/cgroup.procs" || exit 99
	echo "UNITPID $BASHPID"
	CGROUP2=$CGROUP2 INVOCATION_ID=0123456789abcdef0123456789abcdef exec "$CONFINE" run \
		--netns "$CLIENT" -p "$policy" -s syslog -- \
		sh -c 'echo "PROGPID $$"; echo "PROGCG $(stat -c %i "$CGROUP2")"
			exec "$0" "$@"' \
		"$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" \
		tcp:$SRV_V4:601 tcp:$SRV2_V4:601 2>&1
)
rc=$?
echo "$out"
check "confine run under the simulated unit exits 0 (saw $rc)" test "$rc" -eq 0

unit_pid=$(awk '$1 == "UNITPID" { print $2 }' <<<"$out")
prog_pid=$(awk '$1 == "PROGPID" { print $2 }' <<<"$out")
prog_cg=$(awk '$1 == "PROGCG" { print $2 }' <<<"$out")
check "the program keeps the PID the unit started ($unit_pid = $prog_pid)" \
	test -n "$unit_pid" -a "$unit_pid" = "$prog_pid"
leaf_id=$(stat -c %i "$CGROUP2$unit_rel/confine-syslog" 2>/dev/null)
check "the program runs in the leaf $unit_rel/confine-syslog (id ${leaf_id:-none}; the program saw its cgroup root as id $prog_cg)" \
	test -n "$leaf_id" -a "$prog_cg" = "$leaf_id"
check_connected "$out" parent tcp "$SRV_V4" 601
check_refused_fast "$out" parent tcp "$SRV2_V4" 601

paths=$("$CONFINE" status --netns "$CLIENT" --json | "$PYTHON" -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
	for c in s["cgroups"]:
		print(c["path"])')
echo "status cgroups: $paths"
check "status lists the unit leaf among the service's cgroups" \
	grep -qx "$unit_rel/confine-syslog" <<<"$paths"

# A new mark reaches the leaf too, though only `run` maps leaves: the
# unit's daemon keeps running, and the sockets it creates from now on must
# carry the new mark, or they would be routed by the old table's rule.
write_policy "$policy" "Mark=0x33"
apply_checked "apply with Mark=0x33 succeeds" "$policy"
sock_mark=$(
	echo "$BASHPID" >"$CGROUP2$unit_rel/confine-syslog/cgroup.procs" || exit 99
	exec "$PYTHON" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("0x%08x" % s.getsockopt(socket.SOL_SOCKET, socket.SO_MARK))'
)
check "a socket created in the leaf after the change carries 0x33000000 (saw ${sock_mark:-nothing})" \
	test "$sock_mark" = 0x33000000
marked=$("$CONFINE" status --netns "$CLIENT" --json | "$PYTHON" -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
	for c in s["cgroups"]:
		if c["path"] == sys.argv[1]:
			print(str(c["sockets_marked"]).lower())' "$unit_rel/confine-syslog")
check "status: the leaf's sockets are marked from creation with the new mark (saw ${marked:-nothing})" \
	test "$marked" = true

finish
