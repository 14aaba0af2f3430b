#!/bin/bash
# `confine run` proves confinement with a live probe before it starts a
# program; it never trusts the static checks alone. The installed state
# here passes every static check (cgroup map entry, ip rules, table T,
# socket-mark programs, the chain and its comment with the policy's
# digest) and yet does not confine, because the service's chain was
# changed by hand:
#
#	flushed  nft flush chain inet confine svc_syslog: the chain is there,
#	         with its comment, and empty;
#	accept   its rules replaced by one that counts into the service's own
#	         "allowed" counter and accepts everything, so that a probe
#	         that only watched the counters would be satisfied.
#
# Then `confine run -p FILE -- probe.py ...`: run must not start the
# program unconfined. Either it refuses (exit 1, the program never ran) or
# it repairs the chain first; then the program's own traffic is confined:
# it runs in the service's cgroup, its sends to the second server (not
# allowed) are refused at once and never arrive, its send to the log
# server (allowed) does, and status says in force afterwards.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server
start_second_server

# Not exclusive: with an exclusive service, the exclusive set after the
# cgroup map would still refuse the log server's other ports to a flushed
# chain's packets. Here only the service's chain keeps its process from
# the log server's port 8080 (table T throws the address to the main
# table), and from the second server.
policy="$TMPDIR_TEST/syslog.policy"
cat >"$policy" <<EOF
[Confine]
CgroupParent=$CG_PARENT_REL

[Service]
Name=syslog
Allow=udp $SRV_V4:514
Allow=tcp $SRV_V4:601
Allow=udp [$SRV_V6]:514
Allow=tcp [$SRV_V6]:601
EOF
apply_checked "confine apply of the syslog service" "$policy"

counter=svc_syslog_allowed
check "the service has its counter $counter" \
	bash -c "ip netns exec '$CLIENT' nft list counters table inet confine | grep -q 'counter $counter '"

break_flushed() {
	in_ns "$CLIENT" nft flush chain inet confine svc_syslog
}

break_accept() {
	in_ns "$CLIENT" nft flush chain inet confine svc_syslog &&
		in_ns "$CLIENT" nft add rule inet confine svc_syslog \
			counter name "$counter" accept
}

# static_whole: what the static checks look at is all there (the service
# has no routing of its own; confine's marker of installed services is).
static_whole() {
	in_ns "$CLIENT" nft list chain inet confine svc_syslog | grep -q 'comment "confine syslog' &&
		in_ns "$CLIENT" nft list ruleset | grep -q 'jump svc_syslog' &&
		ip -n "$CLIENT" route show table 19000 | grep -q '^unreachable default'
}

for how in flushed accept; do
	log "---- $how"
	check "$how: the service is in force before" \
		timeout 30 "$CONFINE" status --netns "$CLIENT" "$policy"
	check "$how: break the service's chain" "break_$how"
	check "$how: the static pieces are all still there" static_whole

	# Without confine's chain doing its work, a process of the service
	# reaches the log server's port 8080: the control that the break is
	# real.
	tok="$how-ctl-$$-$RANDOM"
	out=$(timeout 30 bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
		sh "$CGROUP2$(service_cgroup)" ip netns exec "$CLIENT" \
		"$PYTHON" "$TMPDIR_TEST/probe.py" --timeout 2 --token "$tok" "tcp:$SRV_V4:8080")
	echo "$out"
	check "$how: control: a process put in the service's cgroup by hand reaches the log server's tcp 8080" \
		wait_line "$SRV_SINK_LOG" "^tcp 8080 .*$tok"
	ctl_lines=$(wc -l <"$SRV_SINK_LOG")

	tok="$how-$$-$RANDOM"
	timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$policy" -- \
		"$PYTHON" "$TMPDIR_TEST/probe.py" --timeout 2 --token "$tok" \
		"tcp:$SRV_V4:8080" "udp:$SRV_V4:515" "udp:$SRV2_V4:514" \
		"tcp:$SRV2_V4:601" "udp:$SRV_V4:514" >"$TMPDIR_TEST/run.out" 2>"$TMPDIR_TEST/run.err"
	rc=$?
	out=$(cat "$TMPDIR_TEST/run.out")
	echo "run: exit $rc"
	sed 's/^/run: /' "$TMPDIR_TEST/run.err"
	echo "$out"
	if [ "$rc" -ne 0 ]; then
		log "$how: run refused (exit $rc)"
		check "$how: run's refusal exits 1" test "$rc" -eq 1
		check "$how: the program never ran" test -z "$out"
		check "$how: run says why" grep -q 'not in force' "$TMPDIR_TEST/run.err"
	else
		log "$how: run repaired the service and started the program"
		check "$how: run said the service was not in force" \
			grep -q 'service syslog is not in force' "$TMPDIR_TEST/run.err"
		check_probe_cgroup "$out" parent
		check_refused_fast "$out" parent tcp "$SRV_V4" 8080
		check_refused_fast "$out" parent udp "$SRV_V4" 515
		check_refused_fast "$out" parent udp "$SRV2_V4" 514
		check_refused_fast "$out" parent tcp "$SRV2_V4" 601
		check_connected "$out" parent udp "$SRV_V4" 514
		check "$how: the allowed datagram reached the log server" \
			wait_line "$SRV_LOG" "probe: $tok parent udp $SRV_V4 514"
		check "$how: status says in force after the run" \
			timeout 30 "$CONFINE" status --netns "$CLIENT" "$policy"
	fi
	check "barrier: the second server has handled everything sent so far" \
		sink_barrier "$SRV2" "$SRV2_SINK_LOG" udp:514 tcp:601 tcp:8080
	check "barrier: the log server's sink has handled everything sent so far" \
		sink_barrier "$SRV" "$SRV_SINK_LOG" tcp:8080 udp:515
	check_absent "$how: the program's sends at the second server" "$SRV2_SINK_LOG" "$tok"
	check_absent "$how: the program's sends at the log server's tcp 8080 and udp 515" \
		"$SRV_SINK_LOG" "$tok"
	check_not "$how: no TCP connection from the client reached the second server" \
		grep -qE "^tcp (601|8080) .*(10\\.99\\.[01]\\.2|fd00:99).* connect" "$SRV2_SINK_LOG"
	check "$how: no TCP connection from the client reached the log server's tcp 8080 after the control" \
		test "$(tail -n +$((ctl_lines + 1)) "$SRV_SINK_LOG" | grep -c "^tcp 8080 .*$CLIENT_V4.*connect")" -eq 0

	# Whatever run did, the next case starts from a whole install.
	apply_checked "$how: confine apply restores the chain" "$policy" >/dev/null
done

finish
