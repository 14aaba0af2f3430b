#!/bin/bash
# The refusal log, end to end. With LogRefused=yes, a refused packet of the
# confined rsyslogd (a forwarding action to a destination it may not
# reach), of a confined probe and of an unconfined process at the service's
# exclusive destination each make a kernel log line with confine's prefix
# and the fields log analysers read (SRC= DST= PROTO= DPT=); allowed
# traffic makes none. A real rsyslogd reads the kernel log (imkmsg) and
# writes it as a classic syslog file and to the log server, as a sysadmin
# would set it up; logwatch's iptables service and psad read that file
# unmodified. `confine watch --json` shows the same refusals with their
# service, destination and port, and the sending rsyslogd by PID. A burst
# shows the rate limit, and status's suppressed count is refused minus the
# lines that really reached the kernel log.

. "$(dirname "$0")/lib.sh"

require_all
require_cmds logwatch psad
setup_topology
start_log_server

# Ports no other test uses, so that the lines are this run's.
P_RSYSLOG=$((20000 + $$ % 10000))
P_PROBE=$((P_RSYSLOG + 10000))
P_OTHERS=$((P_RSYSLOG + 20000))
P_BURST=$((P_RSYSLOG + 30000))
BURST_LIMIT=100
BURST=500
kmsg_start=$("$PYTHON" "$TMPDIR_TEST/kmsg.py" last)

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy" LogRefused=yes LogRate=1/hour "LogBurst=$BURST_LIMIT"
out=$("$CONFINE" check "$policy" 2>&1)
echo "$out"
check "confine check shows the log settings" \
	grep -q "log       refused, 1/hour burst $BURST_LIMIT" <<<"$out"
apply_checked "confine apply --netns $CLIENT succeeds" "$policy"

# doctor: the namespace's kernel log lines need nf_log_all_netns=1.
netns_log_finding() {
	"$CONFINE" doctor --netns "$CLIENT" --json "$policy" 2>/dev/null |
		"$PYTHON" -c 'import json, sys
print(sum(f["check"] == "netns-kernel-log" for f in json.load(sys.stdin)["findings"]))'
}
if [ "$(cat /proc/sys/net/netfilter/nf_log_all_netns 2>/dev/null)" = 0 ]; then
	n=$(netns_log_finding)
	check "doctor warns that the namespace's log lines are dropped ($n)" test "$n" = 1
fi
allow_netns_kernel_log
n=$(netns_log_finding)
check "doctor has nothing to say with nf_log_all_netns=1 ($n)" test "$n" = 0

# The sysadmin's rsyslogd: the kernel log (imkmsg reads /dev/kmsg, taking
# nothing from the host's syslog) to a classic file and to the log server.
kdir="$TMPDIR_TEST/klog"
mkdir -p "$kdir/work"
KLOG="$kdir/messages"
cat >"$kdir/rsyslog.conf" <<EOF
global(workDirectory="$kdir/work")
module(load="imkmsg")
kern.* action(type="omfile" file="$KLOG" template="RSYSLOG_TraditionalFileFormat")
kern.* action(type="omfwd" target="127.0.0.1" port="601" protocol="tcp")
EOF
in_ns "$SRV" rsyslogd -n -f "$kdir/rsyslog.conf" -i "$kdir/rsyslogd.pid" \
	>"$TMPDIR_TEST/klog-rsyslogd.err" 2>&1 &
TEST_PIDS+=($!)
busywait 5000 test -s "$KLOG" ||
	skip "rsyslogd with imkmsg writes nothing (see $TMPDIR_TEST/klog-rsyslogd.err)"

"$CONFINE" watch --netns "$CLIENT" --json >"$TMPDIR_TEST/watch.json" \
	2>"$TMPDIR_TEST/watch.err" &
WATCH_PID=$!
TEST_PIDS+=("$WATCH_PID")
check "confine watch starts reading" \
	wait_line "$TMPDIR_TEST/watch.err" "reading nflog group" 5000
out=$(timeout 10 "$CONFINE" watch --netns "$CLIENT" 2>&1)
rc=$?
echo "$out"
check "a second watch in the namespace fails at once, saying why (exit $rc)" \
	test "$rc" -eq 1 -a -n "$(grep -F "another program" <<<"$out")"

# The confined rsyslogd, with one more forwarding action that its policy
# does not allow: the log server's address, but another port.
write_client_rsyslog_conf
sed -i "\$i action(type=\"omfwd\" target=\"$SRV_V4\" port=\"$P_RSYSLOG\" protocol=\"udp\")" \
	"$CLIENT_CONF"
"$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$(command -v rsyslogd)" -n -f "$CLIENT_CONF" -i "$CLIENT_PIDFILE" \
	>"$TMPDIR_TEST/client-rsyslogd.err" 2>&1 &
CLIENT_RSYSLOG_PID=$!
TEST_PIDS+=("$CLIENT_RSYSLOG_PID")
busywait 5000 test -S "$CLIENT_SOCK" || {
	fail "confined rsyslogd did not create $CLIENT_SOCK"
	finish
}
tok="rlog-$$-$RANDOM"
logger -u "$CLIENT_SOCK" -t test "$tok"
check "allowed: the message arrives at the log server over tcp4" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imtcp .*via=tcp4 $tok" 10000

# A confined probe to a port the service may not reach, and to an address
# no Allow= names: the service has no routing table of its own that would
# refuse it before a packet exists, so its chain refuses and logs it too.
out=$("$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" "tcp:$SRV_V4:$P_PROBE" \
	"tcp:[$SRV_V6]:$P_PROBE" "tcp:$SRV2_V4:$P_PROBE")
echo "$out"
check_refused_fast "$out" parent tcp "$SRV_V4" "$P_PROBE"
check_refused_fast "$out" parent tcp "$SRV_V6" "$P_PROBE"
check_refused_fast "$out" parent tcp "$SRV2_V4" "$P_PROBE"

# An unconfined process at the service's exclusive destination.
out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" \
	"tcp:$SRV_V4:$P_OTHERS")
echo "$out"
check_refused_fast "$out" parent tcp "$SRV_V4" "$P_OTHERS"

# Others' broadcast to the exclusive service's port, which reaches a
# wildcard-bound server without naming its address.
in_ns "$CLIENT" "$PYTHON" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
try:
    s.sendto(b'$tok', ('10.99.0.255', 514))
except PermissionError:
    pass  # refused
"

kmsg() {
	"$PYTHON" "$TMPDIR_TEST/kmsg.py" since "$kmsg_start"
}
# kernel_line PREFIX FIELDS: a line of this run with the prefix right
# before IN= and the given fields in the kernel's order.
kernel_line() {
	kmsg | grep -E "^$1 IN=.* OUT=.*$2"
}

check "the confined rsyslogd's refused datagram is logged" \
	busywait 5000 kernel_line "confine syslog REJECT:" \
	"SRC=$CLIENT_V4 DST=$SRV_V4 .*PROTO=UDP SPT=[0-9]+ DPT=$P_RSYSLOG "
check "the confined probe's refused connect is logged" \
	busywait 5000 kernel_line "confine syslog REJECT:" \
	"SRC=$CLIENT_V4 DST=$SRV_V4 .*PROTO=TCP SPT=[0-9]+ DPT=$P_PROBE .*SYN"
check "the confined probe's refused connect to an address no Allow= names is logged" \
	busywait 5000 kernel_line "confine syslog REJECT:" \
	"SRC=$CLIENT2_V4 DST=$SRV2_V4 .*PROTO=TCP SPT=[0-9]+ DPT=$P_PROBE .*SYN"
# The kernel writes IPv6 addresses in full.
check "the confined probe's refused IPv6 connect is logged" \
	busywait 5000 kernel_line "confine syslog REJECT:" \
	"SRC=fd00:0099:0000:0000:0000:0000:0000:0002 DST=fd00:0099:0000:0000:0000:0000:0000:0001 .*PROTO=TCP SPT=[0-9]+ DPT=$P_PROBE .*SYN"
check "others' refused connect at the exclusive destination is logged" \
	busywait 5000 kernel_line "confine others REJECT:" \
	"SRC=$CLIENT_V4 DST=$SRV_V4 .*PROTO=TCP SPT=[0-9]+ DPT=$P_OTHERS .*SYN"
check "others' refused broadcast to the service's port is logged" \
	busywait 5000 kernel_line "confine others REJECT:" \
	"SRC=$CLIENT_V4 DST=10.99.0.255 .*PROTO=UDP SPT=[0-9]+ DPT=514 "
kmsg | grep -E "^confine (syslog|others) REJECT:" | sed 's/^/    /'
allowed=$(kmsg | grep -E "^confine [a-z]+ REJECT:" |
	grep -E "DST=($SRV_V4|$SRV_V6) .*DPT=(514|601) ")
check "allowed traffic (the forwarded messages) made no log line" \
	test -z "$allowed"

# The same lines through the sysadmin's rsyslogd.
check "rsyslogd wrote the service's line to the syslog file" \
	wait_line "$KLOG" "kernel: .*confine syslog REJECT: IN=.*DPT=$P_PROBE " 5000
check "rsyslogd wrote others' line to the syslog file" \
	wait_line "$KLOG" "kernel: .*confine others REJECT: IN=.*DPT=$P_OTHERS " 5000
check "the log server got the line from the forwarding rsyslogd" \
	wait_line "$SRV_LOG" "^127.0.0.1 imtcp kernel:.*confine syslog REJECT: IN=.*DPT=$P_PROBE " 5000

# Log analysers read the file as it is.
lw="$TMPDIR_TEST/logwatch"
mkdir -p "$lw"
grep -E "DPT=($P_RSYSLOG|$P_PROBE|$P_OTHERS) " "$KLOG" >"$lw/messages"
out=$(timeout 60 logwatch --service iptables --logdir "$lw" --range all \
	--detail high --output stdout 2>&1)
echo "$out" | sed -n '/iptables firewall Begin/,/iptables firewall End/p'
check "logwatch files the lines as rejected packets" \
	grep -qE "Rejected [0-9]+ packets? on interface c0" <<<"$out"
check "logwatch names the service's prefix and port" \
	grep -qE "Service: $P_PROBE \(tcp/$P_PROBE\) \(confine syslog REJECT:\)" <<<"$out"
check "logwatch names others' prefix and port" \
	grep -qE "Service: $P_OTHERS \(tcp/$P_OTHERS\) \(confine others REJECT:\)" <<<"$out"
out=$(timeout 60 psad -A -m "$lw/messages" 2>&1)
echo "$out" | sed -n '/Found/p;/Top 25 attackers/,/^$/p;/prefix counters/,/^$/p'
check "psad takes every line as an iptables log message" \
	grep -qE "Found ([0-9]+) iptables log messages out of \1 total lines" <<<"$out"
check "psad counts the service's prefix" \
	grep -q '"confine syslog REJECT:"' <<<"$out"
check "psad counts others' prefix" \
	grep -q '"confine others REJECT:"' <<<"$out"
check "psad lists the client as a scan source" \
	grep -qE "^ +$CLIENT_V4 +DL: [0-9]+, Packets: [0-9]+" <<<"$out"

# A burst of refused datagrams from the confined service, more than the
# bucket holds (1/hour refills nothing during the test). The sender keeps
# its socket open a moment, so that watch can name it.
refused0=$(status_field syslog "s['packets']['refused']")
"$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- "$PYTHON" -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range($BURST):
    try:
        s.sendto(b'burst', ('$SRV_V4', $P_BURST))
    except PermissionError:
        pass  # refused: the output hook's reject makes sendto fail
time.sleep(2)
" &
SENDER_PID=$!
TEST_PIDS+=("$SENDER_PID")
wait "$SENDER_PID"
refused1=$(status_field syslog "s['packets']['refused']")
check "the burst's $BURST datagrams are refused ($refused0 -> $refused1)" \
	test "$((refused1 - refused0))" -eq "$BURST"
burst_lines=$(kmsg | grep -cE "^confine syslog REJECT: .*DPT=$P_BURST ")
all_lines=$(kmsg | grep -cE "^confine syslog REJECT: ")
check "the burst's datagrams are logged until the bucket is empty ($burst_lines lines)" \
	test "$burst_lines" -ge 1
check "the rate limit held: $all_lines lines in all, LogBurst=$BURST_LIMIT" \
	test "$all_lines" -ge "$BURST_LIMIT" -a "$all_lines" -le "$((BURST_LIMIT + 1))"
logged=$(status_field syslog "s['log']['logged']")
suppressed=$(status_field syslog "s['log']['suppressed']")
refused=$(status_field syslog "s['packets']['refused']")
check "status's logged count is the lines in the kernel log ($logged, $all_lines)" \
	test "$logged" -eq "$all_lines"
check "status's suppressed count is refused minus logged ($suppressed = $refused - $all_lines)" \
	test "$suppressed" -eq "$((refused - all_lines))"
out=$("$CONFINE" status --netns "$CLIENT")
check "status says how many were logged and suppressed" \
	grep -qE "^  log +$logged refusals logged, $suppressed suppressed by the rate limit" <<<"$out"
echo "$out" | grep -E "packets|log|others"

# What watch saw.
kill -INT "$WATCH_PID"
busywait 5000 grep -q '"type":"summary"' "$TMPDIR_TEST/watch.json"
ev() {
	"$PYTHON" - "$TMPDIR_TEST/watch.json" "$@" <<'EOF'
import json, sys
path, service, proto, dst, dport = sys.argv[1:6]
n = 0
pids = set()
for line in open(path):
    e = json.loads(line)
    if (e.get("type") == "refused" and e["service"] == service and
            e["protocol"] == proto and e["dst"] == dst and
            e["dport"] == int(dport) and e["uid"] == 0):
        n += 1
        pids.add(e["pid"])
print(n, *sorted(str(p) for p in pids))
EOF
}
read -r n _ <<<"$(ev syslog udp "$SRV_V4" "$P_RSYSLOG")"
check "watch shows the confined rsyslogd's refusal ($n events)" test "$n" -ge 1
read -r n _ <<<"$(ev syslog tcp "$SRV_V4" "$P_PROBE")"
check "watch shows the confined probe's refusal ($n events)" test "$n" -ge 1
read -r n _ <<<"$(ev syslog tcp "$SRV_V6" "$P_PROBE")"
check "watch shows the confined probe's IPv6 refusal ($n events)" test "$n" -ge 1
read -r n _ <<<"$(ev others tcp "$SRV_V4" "$P_OTHERS")"
check "watch shows others' refusal ($n events)" test "$n" -ge 1
read -r n pids <<<"$(ev syslog udp "$SRV_V4" "$P_BURST")"
lost=$("$PYTHON" -c '
import json, sys
print(sum(e.get("count", 0) for e in map(json.loads, open(sys.argv[1]))
          if e.get("type") == "lost"))' "$TMPDIR_TEST/watch.json")
check "watch shows the whole burst, not rate-limited ($n shown + $lost lost of $BURST)" \
	test "$n" -le "$BURST" -a "$((n + lost))" -ge "$BURST"
check "watch names the sender (PID $SENDER_PID), saw '$pids'" \
	grep -qw "$SENDER_PID" <<<"$pids"
allowed=$(grep -cE "\"dst\":\"($SRV_V4|$SRV_V6)\",\"dport\":(514|601)," "$TMPDIR_TEST/watch.json")
check "watch shows no event for allowed traffic" test "$allowed" -eq 0
head -n 5 "$TMPDIR_TEST/watch.json" | sed 's/^/    /'

finish
