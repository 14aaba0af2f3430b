#!/bin/bash
# A process outside the service that sets the service's packet mark itself
# (SO_MARK, which root can do) is still refused: confine must decide by the
# socket's cgroup, not trust a mark that is already on the packet.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"

targets=("tcp:$SRV_V4:601" "udp:$SRV_V4:514" "tcp:[$SRV_V6]:601" "udp:[$SRV_V6]:514")

# Control: before confine, the probe with a mark set does reach the server.
ctl="ctl-$$-$RANDOM"
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --mark 0x14000000 \
	--token "$ctl" "${targets[@]}")
echo "$out"
check_connected "$out" parent tcp "$SRV_V4" 601
check "control: marked udp4 datagram arrives before apply" \
	wait_line "$SRV_LOG" "probe: $ctl parent udp $SRV_V4 514"

apply_checked "confine apply succeeds" "$policy"

mark=$(status_field syslog "s['mark']")
mask=$(status_field syslog "s['mark_mask']")
log "the service's mark is '$mark' under mask '$mask'"
check "confine status --json reports the mark" test -n "$mark"
[ -n "$mark" ] || mark=0x14000000

# The service's exact mark, the mark with foreign bits outside the mask,
# and the mark from the brief's example.
marks=("$mark" "$(printf '0x%08x' $((mark | 0x1)))" 0x14000000)
n=0
for m in "${marks[@]}"; do
	n=$((n + 1))
	tok="spoof$n-$$-$RANDOM$RANDOM"
	out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --mark "$m" \
		--token "$tok" "${targets[@]}")
	echo "SO_MARK=$m:"
	echo "$out"
	check_refused_fast "$out" parent tcp "$SRV_V4" 601
	check_refused_fast "$out" parent tcp "$SRV_V6" 601
	check "barrier" log_server_barrier
	check_absent "SO_MARK=$m: nothing at the log server" "$SRV_LOG" "$tok"
done

finish
