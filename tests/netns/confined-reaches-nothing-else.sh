#!/bin/bash
# A process in the syslog service (and a child it forks) reaches the allowed
# log paths and nothing else: not the second server (any port), not the log
# server on another port, IPv4 and IPv6. Each refusal is immediate, and the
# listeners that were there to receive see nothing.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server
start_second_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"

tok="else-$$-$RANDOM$RANDOM"

allowed=("tcp:$SRV_V4:601" "udp:$SRV_V4:514" "tcp:[$SRV_V6]:601" "udp:[$SRV_V6]:514")
denied=(
	"tcp:$SRV2_V4:601" "udp:$SRV2_V4:514" "tcp:$SRV2_V4:8080"
	"tcp:[$SRV2_V6]:601" "udp:[$SRV2_V6]:514" "tcp:[$SRV2_V6]:8080"
	"tcp:$SRV_V4:8080" "udp:$SRV_V4:515"
	"tcp:[$SRV_V6]:8080" "udp:[$SRV_V6]:515"
)

# Control: the same probe, unconfined and before any policy, reaches every
# one of these listeners (so a refusal below is confine's doing).
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "control-$$-$RANDOM" \
	tcp:$SRV2_V4:8080 "tcp:[$SRV_V6]:8080")
check_connected "$out" parent tcp "$SRV2_V4" 8080
check_connected "$out" parent tcp "$SRV_V6" 8080

out=$("$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$PYTHON" "$TMPDIR_TEST/probe.py" --fork --token "$tok" \
	"${allowed[@]}" "${denied[@]}" 2>"$TMPDIR_TEST/run.err")
rc=$?
echo "$out"
cat "$TMPDIR_TEST/run.err"
check "confine run ... python3 probe.py exits 0 (saw $rc)" test "$rc" -eq 0

for who in parent child; do
	check_probe_cgroup "$out" "$who"
	for spec in "${allowed[@]}"; do
		IFS=: read -r p rest <<<"$spec"
		host=${rest%:*}
		host=${host#[}
		host=${host%]}
		check_connected "$out" "$who" "$p" "$host" "${rest##*:}"
	done
	for spec in "${denied[@]}"; do
		IFS=: read -r p rest <<<"$spec"
		host=${rest%:*}
		host=${host#[}
		host=${host%]}
		check_refused_fast "$out" "$who" "$p" "$host" "${rest##*:}"
	done
done

# What arrived where.
check "barrier: the log server" log_server_barrier
check "barrier: the log server's sink" sink_barrier "$SRV" "$SRV_SINK_LOG" tcp:8080 udp:515
check "barrier: the second server's sink" sink_barrier "$SRV2" "$SRV2_SINK_LOG" tcp:601 udp:514 tcp:8080
check_absent "second server (all ports)" "$SRV2_SINK_LOG" "$tok"
check_absent "log server tcp 8080 / udp 515" "$SRV_SINK_LOG" "$tok"
for who in parent child; do
	for p in tcp udp; do
		for h in "$SRV_V4" "$SRV_V6"; do
			case $p in tcp) port=601 ;; udp) port=514 ;; esac
			check "log server got the allowed $who $p $h:$port message" \
				wait_line "$SRV_LOG" "probe: $tok $who $p $h $port"
		done
	done
done

finish
