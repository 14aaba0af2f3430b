#!/bin/bash
# Alerts that cannot become a flood. `confine watch --alerts` runs the
# policy's OnRefused= program for refusals; an unconfined process then
# sends 10,000 refused datagrams in a burst at the syslog service's
# exclusive destination, half from spoofed sources on a raw socket, each to
# another port (a scan). At most AlertLimit= programs run; each gets the
# event in its environment only (a process name that is shell code reaches
# it as text); each is killed after AlertTimeout=; the held-back alerts are
# reported as "N alerts suppressed", and with the runs they account for
# every event watch showed. Enforcement is unaffected: the kernel refused
# all 10,000, the allowed path still works and others are still refused.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server

LIMIT=5
TIMEOUT=2
N=10000

alert="$TMPDIR_TEST/alert.sh"
ALERTS="$TMPDIR_TEST/alerts.log"
: >"$ALERTS"
cat >"$alert" <<'EOF'
#!/bin/bash
# One line per run: the arguments and the event, then outstay the timeout.
printf 'args=%s service=%s proto=%s dst=%s dport=%s pid=%s comm=%s\n' \
	"$*" "$CONFINE_SERVICE" "$CONFINE_PROTOCOL" "$CONFINE_DST" \
	"$CONFINE_DPORT" "$CONFINE_PID" "${CONFINE_COMM-}" >>"$ALERTS_LOG"
exec sleep 60
EOF
chmod 755 "$alert"
# The program gets no environment but the event's: the log path is its
# first argument, which a wrapper turns into ALERTS_LOG.
wrapper="$TMPDIR_TEST/alert-wrapper.sh"
cat >"$wrapper" <<EOF
#!/bin/bash
ALERTS_LOG=$ALERTS exec $alert "\$@"
EOF
chmod 755 "$wrapper"

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy" LogRefused=yes
cat >>"$policy" <<EOF

[Confine]
OnRefused=$wrapper fixed-arg
AlertRate=1/hour
AlertLimit=$LIMIT/hour
AlertTimeout=$TIMEOUT
EOF
apply_checked "confine apply --netns $CLIENT succeeds" "$policy"

"$CONFINE" watch --netns "$CLIENT" --alerts "$policy" >"$TMPDIR_TEST/watch.out" \
	2>"$TMPDIR_TEST/watch.err" &
WATCH_PID=$!
TEST_PIDS+=("$WATCH_PID")
check "confine watch --alerts starts reading" \
	wait_line "$TMPDIR_TEST/watch.err" "reading nflog group" 5000

refused0=$("$CONFINE" status --netns "$CLIENT" --json |
	"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["others_refused"])')

# The burst: the sender names itself as shell code, which must reach the
# alert program as text, and keeps its UDP socket open so that watch can
# find it.
in_ns "$CLIENT" "$PYTHON" - "$SRV_V4" "$N" <<'EOF'
import ctypes, socket, struct, sys, time
dst, n = sys.argv[1], int(sys.argv[2])
ctypes.CDLL(None).prctl(15, b"$(echo PWNED)", 0, 0, 0)  # PR_SET_NAME
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
half = n // 2
for i in range(half):
    try:
        udp.sendto(b"scan", (dst, 10000 + i))
    except PermissionError:
        pass  # refused: the output hook's reject makes sendto fail
for i in range(n - half):
    # TEST-NET-3 sources: refused in the output hook, they never leave.
    src = socket.inet_aton("203.0.113.%d" % (1 + i % 250))
    port = 20000 + i
    u = struct.pack("!HHHH", 40000, port, 12, 0) + b"scan"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), i & 0xffff, 0,
                     64, 17, 0, src, socket.inet_aton(dst))
    try:
        raw.sendto(ip + u, (dst, 0))
    except PermissionError:
        pass
time.sleep(2)  # the socket stays open while watch looks for its owner
EOF

refused1=$("$CONFINE" status --netns "$CLIENT" --json |
	"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["others_refused"])')
check "the kernel refused all $N ($refused0 -> $refused1)" \
	test "$((refused1 - refused0))" -eq "$N"

# Every program that ran outstays its time and is killed.
killed() {
	grep -c "alert program (PID [0-9]*) killed after $TIMEOUT s" "$TMPDIR_TEST/watch.err"
}
ran() {
	grep -c . "$ALERTS"
}
busywait 5000 test "$(ran)" -ge 1
busywait $(((TIMEOUT + 3) * 1000)) test "$(killed)" -ge "$(ran)"
kill -INT "$WATCH_PID"
check "watch ends on SIGINT with a summary" \
	busywait 10000 grep -q "^confine watch: .* events" "$TMPDIR_TEST/watch.out"
grep -v " REJECT " "$TMPDIR_TEST/watch.out" | sed 's/^/    /'
echo "alerts:"
sed 's/^/    /' "$ALERTS"

runs=$(ran)
check "at most AlertLimit=$LIMIT alert programs ran (ran $runs)" \
	test "$runs" -ge 1 -a "$runs" -le "$LIMIT"
check "each was killed after AlertTimeout=$TIMEOUT s ($(killed) killed)" \
	test "$(killed)" -eq "$runs"
check "the program got its fixed argument and the event in its environment" \
	grep -qE "^args=fixed-arg service=others proto=udp dst=$SRV_V4 dport=1[0-9]{4} " "$ALERTS"
check "the sender's name reached it as text, not as shell code" \
	grep -qF 'comm=$(echo PWNED)' "$ALERTS"
check "nothing ran the name as a command" \
	test "$(grep -c 'comm=PWNED' "$ALERTS")" -eq 0

summary=$(grep "^confine watch: .* events" "$TMPDIR_TEST/watch.out")
read -r shown lost run suppressed < <(sed -E \
	's/^confine watch: ([0-9]+) events, ([0-9]+) lost; ([0-9]+) alerts run .*, ([0-9]+) suppressed$/\1 \2 \3 \4/' \
	<<<"$summary")
log "summary: $summary"
check "watch counts the programs it ran ($run, $runs)" test "$run" -eq "$runs"
check "watch showed the burst or counted it lost ($shown shown, $lost lost)" \
	test "$shown" -ge "$LIMIT" -a "$((shown + lost))" -le "$N"
check "every shown event ran an alert or was suppressed ($run + $suppressed = $shown)" \
	test "$((run + suppressed))" -eq "$shown"
digest=$(awk '/^confine watch: [0-9]+ alerts suppressed$/ { n += $3; seen = 1 }
	END { if (seen) print n }' "$TMPDIR_TEST/watch.out")
check "the digest lines report the $suppressed suppressed alerts (${digest:-none})" \
	test "${digest:-0}" -eq "$suppressed"

# Enforcement after the flood.
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token after \
	"tcp:$SRV_V4:601")
echo "$out"
check_refused_fast "$out" parent tcp "$SRV_V4" 601
out=$("$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$PYTHON" "$TMPDIR_TEST/probe.py" --token after "tcp:$SRV_V4:601")
echo "$out"
check_connected "$out" parent tcp "$SRV_V4" 601
in_force=$(status_field syslog "s['in_force']")
check "the service is still in force, saw '$in_force'" test "$in_force" = true

finish
