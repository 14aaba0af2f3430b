# shellcheck shell=bash
#
# Shared setup for confine's integration tests. Source it from a test script:
#
#	. "$(dirname "$0")/lib.sh"
#	require_all
#	setup_topology
#	...
#	finish
#
# Every test builds its own world and throws it away: three network
# namespaces with unique names, veth pairs between them, a real rsyslogd as
# the log server, and a cgroup subtree <cgroup2>/confine-test-$$ under which
# confine puts the service cgroups. The host's own network namespace (its
# ruleset, rules and routes) and its cgroup tree outside that subtree are
# never touched. The idea follows the kernel's
# tools/testing/selftests/net/lib.sh: unique names, trap cleanup, bounded
# busy waits instead of sleeps.
#
#	client  c0 10.99.0.2/24 fd00:99::2/64   <->  s0 10.99.0.1/24 fd00:99::1/64    log server
#	        c1 10.99.1.2/24 fd00:99:1::2/64 <->  s1 10.99.1.1/24 fd00:99:1::1/64  second server
#
# The client reaches both servers over connected routes only; it has no
# default route.
#
# Environment: CONFINE (the binary; set by meson), CONFINE_TESTS_MUST_RUN=1
# turns a skip into a failure.

set -u

readonly KSFT_SKIP=77

CONFINE=${CONFINE:-}
TEST_NAME=$(basename "$0" .sh)

# Unique per run, so that tests can never collide with each other or with
# anything on the host.
readonly NS_PREFIX="cft-$$"
readonly CLIENT="$NS_PREFIX-client"
readonly SRV="$NS_PREFIX-logsrv"
readonly SRV2="$NS_PREFIX-srv2"

readonly SRV_V4=10.99.0.1
readonly SRV_V6=fd00:99::1
readonly CLIENT_V4=10.99.0.2
readonly CLIENT_V6=fd00:99::2
readonly SRV2_V4=10.99.1.1
readonly SRV2_V6=fd00:99:1::1
readonly CLIENT2_V4=10.99.1.2
readonly CLIENT2_V6=fd00:99:1::2

# Filled in as the test goes, read by cleanup.
TEST_PIDS=()        # processes this test started, killed by PID
TEST_NETNS=()       # namespaces this test created
TMPDIR_TEST=""      # scratch directory
CGROUP2=""          # cgroup2 mount point, from /proc/self/mountinfo
CG_TEST=""          # <cgroup2>/confine-test-$$, created and removed here
CG_PARENT_REL=""    # what policies put in CgroupParent=
FAILED=0
CHECKS=0

if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3 || echo python3)
fi

# ---------------------------------------------------------------- output

log() {
	printf '%s: %s\n' "$TEST_NAME" "$*"
}

pass() {
	CHECKS=$((CHECKS + 1))
	printf 'PASS: %s\n' "$*"
}

fail() {
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	printf 'FAIL: %s\n' "$*"
}

# check DESCRIPTION CMD [ARG...]: run CMD, PASS when it exits 0.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what (command: $*)"
	fi
}

# check_not DESCRIPTION CMD [ARG...]: PASS when CMD fails.
check_not() {
	local what=$1
	shift
	if "$@"; then
		fail "$what (command unexpectedly succeeded: $*)"
	else
		pass "$what"
	fi
}

# Exit 77 so meson counts a skip; in CI (CONFINE_TESTS_MUST_RUN=1) a test
# that cannot run is a failure, as bubblewrap's BWRAP_MUST_WORK.
skip() {
	if [ "${CONFINE_TESTS_MUST_RUN:-0}" = 1 ]; then
		printf '%s: cannot run: %s (CONFINE_TESTS_MUST_RUN=1, so this is a failure)\n' \
			"$TEST_NAME" "$*"
		exit 1
	fi
	printf '%s: SKIP: %s\n' "$TEST_NAME" "$*"
	exit $KSFT_SKIP
}

# Call at the end of a test: the exit status says whether every check held.
finish() {
	if [ "$FAILED" -ne 0 ]; then
		log "$FAILED of $CHECKS checks failed"
		exit 1
	fi
	if [ "$CHECKS" -eq 0 ]; then
		log "no check ran"
		exit 1
	fi
	log "all $CHECKS checks passed"
	exit 0
}

# ---------------------------------------------------------------- waiting

# busywait TIMEOUT_MS CMD [ARG...]: run CMD every 50 ms until it succeeds or
# TIMEOUT_MS have passed (counted both by attempts and by the clock, so
# that a slow CMD cannot stretch the wait). Returns CMD's last status.
busywait() {
	local timeout_ms=$1
	shift
	local max_tries=$((timeout_ms / 50 + 1))
	local start now tries=0 rc
	start=$(date +%s%N)
	while :; do
		"$@" && return 0
		rc=$?
		tries=$((tries + 1))
		now=$(date +%s%N)
		if [ $tries -ge $max_tries ] ||
		   [ $(((now - start) / 1000000)) -ge "$timeout_ms" ]; then
			return $rc
		fi
		sleep 0.05
	done
}

# Milliseconds since the epoch, for measuring how long something took.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# ---------------------------------------------------------------- requirements

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nf_tables, cgroups)"
}

require_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs the '$c' command"
	done
}

# The cgroup2 mount is found, never assumed: on hybrid hosts it is
# /sys/fs/cgroup/unified, on unified ones /sys/fs/cgroup.
find_cgroup2() {
	# mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SRC SUPEROPTS
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo
}

require_cgroup2() {
	CGROUP2=$(find_cgroup2)
	[ -n "$CGROUP2" ] || skip "no cgroup2 file system mounted"
	[ -w "$CGROUP2" ] || skip "cgroup2 at $CGROUP2 is not writable"
}

require_confine() {
	[ -n "$CONFINE" ] || skip "CONFINE is not set (run through meson test)"
	[ -x "$CONFINE" ] || skip "CONFINE=$CONFINE is not an executable"
}

require_all() {
	require_root
	require_cmds ip nft ss rsyslogd logger ping timeout "$PYTHON"
	require_cgroup2
	require_confine
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	TMPDIR_TEST=$(mktemp -d "/tmp/confine-$TEST_NAME.XXXXXX")
	chmod 755 "$TMPDIR_TEST"
	write_helpers
	make_cgroup_subtree
}

# ---------------------------------------------------------------- cleanup

kill_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Every process left in a cgroup of our subtree is one this test started
# (directly or through confine run).
cgroup_pids_recursive() {
	local dir=$1
	[ -d "$dir" ] || return 0
	find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null
}

cleanup() {
	local rc=$? pid ns d
	trap - EXIT
	# A second signal must not cut the cleanup short and leave
	# namespaces or cgroups behind.
	trap '' INT TERM
	set +e

	for pid in "${TEST_PIDS[@]}"; do
		kill_pid "$pid"
	done
	if [ -n "$CG_TEST" ]; then
		for pid in $(cgroup_pids_recursive "$CG_TEST"); do
			kill_pid "$pid"
		done
	fi
	for ns in "${TEST_NETNS[@]}"; do
		# Processes still inside our namespaces were started by us.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill_pid "$pid"
		done
		if [ -n "$CONFINE" ] && [ -x "$CONFINE" ]; then
			timeout 30 "$CONFINE" remove --netns "$ns" >/dev/null 2>&1
		fi
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$CG_TEST" ] && [ -d "$CG_TEST" ]; then
		# rmdir depth first: children before parents.
		find "$CG_TEST" -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -d "$CG_TEST" ] && echo "$TEST_NAME: warning: could not remove $CG_TEST" >&2
	fi
	if [ -n "$TMPDIR_TEST" ] && [ -d "$TMPDIR_TEST" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne $KSFT_SKIP ]; then
			dump_logs
		fi
		rm -rf "$TMPDIR_TEST"
	fi
	exit $rc
}

# On failure, show what the peers logged: it is usually the answer.
dump_logs() {
	local f
	for f in "$TMPDIR_TEST"/*.log "$TMPDIR_TEST"/*.err; do
		[ -s "$f" ] || continue
		echo "----- $f (last 30 lines)"
		tail -n 30 "$f"
	done
}

make_cgroup_subtree() {
	CG_TEST="$CGROUP2/confine-test-$$"
	CG_PARENT_REL="confine-test-$$/svc"
	mkdir -p "$CG_TEST/svc" || skip "cannot create $CG_TEST/svc"
}

# ---------------------------------------------------------------- topology

add_netns() {
	local ns=$1
	ip netns add "$ns" || return 1
	TEST_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	# Duplicate address detection would hold IPv6 addresses "tentative"
	# for a second or more; these links are private, so skip it.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
}

# veth NS_A IF_A NS_B IF_B: a veth pair created directly inside the
# namespaces, so it never appears in the host's.
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.accept_dad=0"
	ip netns exec "$3" sysctl -qw "net.ipv6.conf.$4.accept_dad=0"
}

addr() {
	local ns=$1 dev=$2
	shift 2
	local a
	for a in "$@"; do
		ip -n "$ns" addr add "$a" dev "$dev" nodad 2>/dev/null ||
			ip -n "$ns" addr add "$a" dev "$dev" || return 1
	done
	ip -n "$ns" link set "$dev" up
}

v6_ready() {
	# No address tentative any more.
	! ip -n "$1" -6 addr show tentative | grep -q inet6
}

setup_topology() {
	add_netns "$CLIENT" && add_netns "$SRV" && add_netns "$SRV2" ||
		skip "cannot create network namespaces"
	veth "$CLIENT" c0 "$SRV" s0 && veth "$CLIENT" c1 "$SRV2" s1 ||
		skip "cannot create veth pairs"
	addr "$CLIENT" c0 "$CLIENT_V4/24" "$CLIENT_V6/64" &&
	addr "$SRV" s0 "$SRV_V4/24" "$SRV_V6/64" &&
	addr "$CLIENT" c1 "$CLIENT2_V4/24" "$CLIENT2_V6/64" &&
	addr "$SRV2" s1 "$SRV2_V4/24" "$SRV2_V6/64" ||
		skip "cannot configure addresses"
	local ns
	for ns in "$CLIENT" "$SRV" "$SRV2"; do
		busywait 3000 v6_ready "$ns" || skip "IPv6 addresses stay tentative in $ns"
	done
	# Plain reachability before confine is involved: if this fails the
	# test bed is broken, not confine.
	busywait 3000 ip netns exec "$CLIENT" ping -c1 -W1 -q "$SRV_V4" >/dev/null &&
	busywait 3000 ip netns exec "$CLIENT" ping -6 -c1 -W1 -q "$SRV_V6" >/dev/null &&
	busywait 3000 ip netns exec "$CLIENT" ping -c1 -W1 -q "$SRV2_V4" >/dev/null &&
	busywait 3000 ip netns exec "$CLIENT" ping -6 -c1 -W1 -q "$SRV2_V6" >/dev/null ||
		skip "test bed: the client cannot ping the servers before confine is applied"
	log "topology up: $CLIENT, $SRV ($SRV_V4 $SRV_V6), $SRV2 ($SRV2_V4 $SRV2_V6)"
}

# in_ns NS CMD...: shorthand.
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# listening NS udp|tcp PORT
listening() {
	local opt=-Hlnt
	[ "$2" = udp ] && opt=-Hlnu
	in_ns "$1" ss $opt "sport = :$3" | grep -q .
}

# ---------------------------------------------------------------- rsyslog

# The log server: a real rsyslogd with imudp 514 and imtcp 601 on every
# address (IPv4 and IPv6), writing "FROMHOST-IP INPUT TAGMSG" per line to
# $SRV_LOG. Also starts a sink on tcp 8080 and udp 515 so that "nothing
# arrives there" is a real observation and not a closed port answering.
start_log_server() {
	local dir="$TMPDIR_TEST/logsrv"
	mkdir -p "$dir/work"
	SRV_LOG="$TMPDIR_TEST/logsrv-received.log"
	: >"$SRV_LOG"
	cat >"$dir/server.conf" <<-EOF
	global(workDirectory="$dir/work")
	module(load="imudp")
	module(load="imtcp")
	input(type="imudp" port="514")
	input(type="imtcp" port="601")
	template(name="line" type="string"
		 string="%fromhost-ip% %inputname% %syslogtag%%msg%\n")
	action(type="omfile" file="$SRV_LOG" template="line")
	EOF
	in_ns "$SRV" rsyslogd -n -f "$dir/server.conf" -i "$dir/server.pid" \
		>"$TMPDIR_TEST/logsrv-rsyslogd.err" 2>&1 &
	TEST_PIDS+=($!)
	SRV_RSYSLOG_PID=$!
	busywait 5000 listening "$SRV" udp 514 &&
	busywait 5000 listening "$SRV" tcp 601 ||
		skip "the log server's rsyslogd does not listen (see $TMPDIR_TEST/logsrv-rsyslogd.err)"
	SRV_SINK_LOG="$TMPDIR_TEST/logsrv-sink.log"
	start_sink "$SRV" "$SRV_SINK_LOG" tcp:8080 udp:515
	log "log server: rsyslogd pid $SRV_RSYSLOG_PID on udp 514, tcp 601; sink on tcp 8080, udp 515"
}

# The second server: only a sink, on the log ports and on tcp 8080.
start_second_server() {
	SRV2_SINK_LOG="$TMPDIR_TEST/srv2-sink.log"
	start_sink "$SRV2" "$SRV2_SINK_LOG" udp:514 tcp:601 tcp:8080
	log "second server: sink on udp 514, tcp 601, tcp 8080"
}

# start_sink NS LOGFILE PROTO:PORT...: python3 listener (sink.py) on every
# address; one line per connection or datagram.
start_sink() {
	local ns=$1 logf=$2 spec
	shift 2
	: >"$logf"
	in_ns "$ns" "$PYTHON" "$TMPDIR_TEST/sink.py" "$logf" "$@" \
		>"$logf.err" 2>&1 &
	TEST_PIDS+=($!)
	for spec in "$@"; do
		busywait 5000 listening "$ns" "${spec%%:*}" "${spec#*:}" ||
			skip "sink in $ns does not listen on $spec (see $logf.err)"
	done
}

# The client's rsyslogd configuration: a private imuxsock socket and four
# forwarding actions, one per path, each tagging the message "via=PATH" so
# that the server file shows which path carried it.
write_client_rsyslog_conf() {
	local dir="$TMPDIR_TEST/client"
	mkdir -p "$dir/work"
	CLIENT_SOCK="$dir/log.sock"
	CLIENT_CONF="$dir/client.conf"
	CLIENT_PIDFILE="$dir/client.pid"
	local p t target port proto
	{
		echo "global(workDirectory=\"$dir/work\")"
		echo 'module(load="imuxsock" SysSock.Use="off")'
		echo "input(type=\"imuxsock\" Socket=\"$CLIENT_SOCK\")"
		for p in udp4 tcp4 udp6 tcp6; do
			case $p in
			*4) target=$SRV_V4 ;;
			*6) target=$SRV_V6 ;;
			esac
			case $p in
			udp*) proto=udp port=514 ;;
			tcp*) proto=tcp port=601 ;;
			esac
			echo "template(name=\"fwd_$p\" type=\"string\" string=\"<%PRI%>%TIMESTAMP% %HOSTNAME% %syslogtag% via=$p%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\")"
			# A short resume interval: a test waits seconds, not
			# rsyslog's default 30 s, if a first try failed.
			echo "action(type=\"omfwd\" target=\"$target\" port=\"$port\" protocol=\"$proto\" template=\"fwd_$p\" action.resumeInterval=\"1\" action.resumeRetryCount=\"-1\" queue.type=\"LinkedList\")"
		done
		echo "action(type=\"omfile\" file=\"$TMPDIR_TEST/client-local.log\")"
	} >"$CLIENT_CONF"
}

# ---------------------------------------------------------------- policy

# write_policy FILE [EXTRA_SERVICE_LINES...]: the syslog service of the
# tests: the four log paths, exclusive.
write_policy() {
	local f=$1
	shift
	{
		echo "[Confine]"
		echo "CgroupParent=$CG_PARENT_REL"
		echo
		echo "[Service]"
		echo "Name=syslog"
		echo "Allow=udp $SRV_V4:514"
		echo "Allow=tcp $SRV_V4:601"
		echo "Allow=udp [$SRV_V6]:514"
		echo "Allow=tcp [$SRV_V6]:601"
		echo "Exclusive=yes"
		local l
		for l in "$@"; do
			echo "$l"
		done
	} >"$f"
}

# apply_checked DESCRIPTION FILE: `confine apply FILE` in the client, and a
# check that it succeeded; its output is shown, and kept in APPLY_OUT.
apply_checked() {
	local rc
	APPLY_OUT=$("$CONFINE" apply --netns "$CLIENT" "$2" 2>&1)
	rc=$?
	echo "$APPLY_OUT"
	check "$1 (exit $rc)" test "$rc" -eq 0
}

# Start the client's rsyslogd confined: `confine run` applies the policy,
# joins the service cgroup and execs rsyslogd in place, so $! is rsyslogd.
start_confined_rsyslog() {
	local policy=$1
	write_client_rsyslog_conf
	"$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
		"$(command -v rsyslogd)" -n -f "$CLIENT_CONF" -i "$CLIENT_PIDFILE" \
		>"$TMPDIR_TEST/client-rsyslogd.err" 2>&1 &
	CLIENT_RSYSLOG_PID=$!
	TEST_PIDS+=("$CLIENT_RSYSLOG_PID")
	if ! busywait 5000 test -S "$CLIENT_SOCK"; then
		fail "confined rsyslogd did not create $CLIENT_SOCK"
		cat "$TMPDIR_TEST/client-rsyslogd.err"
		return 1
	fi
	log "confined client rsyslogd: pid $CLIENT_RSYSLOG_PID"
}

# The cgroup of a process as /proc shows it (cgroup2 line).
proc_cgroup() {
	sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null
}

# status_field SERVICE EXPR: a value from `confine status --json` in the
# client namespace; EXPR is a python expression on the service object s,
# e.g. status_field syslog "s['mark']". Fails when the service is not listed.
status_field() {
	"$CONFINE" status --netns "$CLIENT" --json 2>"$TMPDIR_TEST/status.err" |
		"$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
svc = {x["name"]: x for x in d.get("services", [])}
s = svc.get(sys.argv[1])
if s is None:
    sys.exit(1)
v = eval(sys.argv[2], {"s": s})
print(str(v).lower() if isinstance(v, bool) else v)
' "$1" "$2"
}

# ---------------------------------------------------------------- observing

# wait_line FILE REGEX [TIMEOUT_MS]: wait until a line matching REGEX
# (grep -E) is in FILE.
wait_line() {
	busywait "${3:-5000}" grep -qE -- "$2" "$1"
}

# A barrier for "nothing arrived": send a marker to the log server from
# inside its own namespace (UDP and TCP) and wait for both. rsyslog handles
# messages in order per input, so anything sent before the marker and
# accepted by the kernel would be in the file by then.
log_server_barrier() {
	local tok="barrier-$RANDOM$RANDOM"
	in_ns "$SRV" logger -d -n 127.0.0.1 -P 514 -t barrier "$tok-udp"
	in_ns "$SRV" logger -T -n 127.0.0.1 -P 601 -t barrier "$tok-tcp"
	wait_line "$SRV_LOG" "$tok-udp" 5000 && wait_line "$SRV_LOG" "$tok-tcp" 5000
}

# sink_barrier NS LOGFILE PROTO:PORT...: the same for a sink.
sink_barrier() {
	local ns=$1 logf=$2 spec tok="barrier-$RANDOM$RANDOM"
	shift 2
	for spec in "$@"; do
		in_ns "$ns" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$tok" \
			"${spec%%:*}:127.0.0.1:${spec#*:}" >/dev/null
	done
	for spec in "$@"; do
		wait_line "$logf" "^${spec%%:*} ${spec#*:} .*$tok" 5000 || return 1
	done
}

# Assert that TOKEN is nowhere in FILE.
check_absent() {
	local what=$1 file=$2 tok=$3
	if grep -qF -- "$tok" "$file"; then
		fail "$what: '$tok' arrived: $(grep -F -- "$tok" "$file" | head -n 3 | tr '\n' '|')"
	else
		pass "$what: '$tok' did not arrive"
	fi
}

# probe_field OUTPUT WHO PROTO HOST PORT FIELD: from probe.py's line
# "RESULT WHO PROTO HOST PORT RESULT SECONDS", the RESULT (FIELD 4) or the
# SECONDS (FIELD 5).
probe_field() {
	awk -v who="$2" -v p="$3" -v h="$4" -v port="$5" -v f="$6" \
		'$1 == "RESULT" && $2 == who && $3 == p && $4 == h && $5 == port { print $(f + 2); exit }' \
		<<<"$1"
}

# check_refused_fast OUTPUT WHO PROTO HOST PORT: the probe line shows a
# refusal (connection refused, no route, not permitted) in under 1 s.
check_refused_fast() {
	local out=$1 who=$2 p=$3 h=$4 port=$5 res secs
	res=$(probe_field "$out" "$who" "$p" "$h" "$port" 4)
	secs=$(probe_field "$out" "$who" "$p" "$h" "$port" 5)
	case $res in
	ECONNREFUSED | EHOSTUNREACH | EPERM | EACCES | ENETUNREACH)
		if awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }'; then
			pass "$who $p $h:$port refused: $res after ${secs}s"
		else
			fail "$who $p $h:$port refused ($res) but only after ${secs}s (want < 1 s)"
		fi
		;;
	"")
		fail "$who $p $h:$port: no result from the probe"
		;;
	*)
		fail "$who $p $h:$port: want a refusal, saw $res after ${secs}s"
		;;
	esac
}

# check_connected OUTPUT WHO PROTO HOST PORT
check_connected() {
	local out=$1 who=$2 p=$3 h=$4 port=$5 res secs
	res=$(probe_field "$out" "$who" "$p" "$h" "$port" 4)
	secs=$(probe_field "$out" "$who" "$p" "$h" "$port" 5)
	if [ "$res" = OK ]; then
		pass "$who $p $h:$port works (${secs}s)"
	else
		fail "$who $p $h:$port: want success, saw ${res:-no result} after ${secs:-?}s"
	fi
}

# ---------------------------------------------------------------- helpers in python

write_helpers() {
	# probe.py: try connections and datagrams and say what happened, one
	# line per try: "RESULT WHO PROTO HOST PORT RESULT SECONDS".
	cat >"$TMPDIR_TEST/probe.py" <<'EOF'
import argparse, errno, os, select, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--mark", type=lambda s: int(s, 0), default=None,
		help="set SO_MARK on every socket (needs CAP_NET_ADMIN)")
ap.add_argument("--fork", action="store_true",
		help="also run every probe in a forked child")
ap.add_argument("--token", default="probe")
ap.add_argument("--timeout", type=float, default=3.0)
ap.add_argument("probes", nargs="+", help="tcp:HOST:PORT or udp:HOST:PORT; HOST may be [v6]")
args = ap.parse_args()

def split(spec):
	proto, rest = spec.split(":", 1)
	host, port = rest.rsplit(":", 1)
	return proto, host.strip("[]"), int(port)

def errname(e):
	return errno.errorcode.get(e, "E%d" % e)

def sock(proto, host):
	fam = socket.AF_INET6 if ":" in host else socket.AF_INET
	typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
	s = socket.socket(fam, typ)
	if args.mark is not None:
		s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, args.mark)
	return s

def probe(who, spec):
	proto, host, port = split(spec)
	msg = ("<13>probe: %s %s %s %s %d\n" % (args.token, who, proto, host, port)).encode()
	t0 = time.monotonic()
	try:
		s = sock(proto, host)
		s.settimeout(args.timeout)
		if proto == "tcp":
			s.connect((host, port))
			s.sendall(msg)
			res = "OK"
		else:
			s.connect((host, port))
			s.send(msg)
			# An ICMP error (or a local reject) shows up as a
			# pending socket error; give it a moment to come.
			r, _, _ = select.select([s], [], [], 0.3)
			err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
			res = errname(err) if err else "OK"
		s.close()
	except socket.timeout:
		res = "TIMEOUT"
	except OSError as e:
		res = errname(e.errno) if e.errno else str(e)
	dt = time.monotonic() - t0
	print("RESULT %s %s %s %d %s %.3f" % (who, proto, host, port, res, dt), flush=True)

# The cgroup's inode number is its id, the same seen from any namespace;
# the path is relative to the root of this process's cgroup namespace,
# which confine roots at the service cgroup.
def cgroup_ino():
	with open("/proc/self/cgroup") as f:
		path = [l[3:].strip() for l in f if l.startswith("0::")][0]
	with open("/proc/self/mountinfo") as f:
		for line in f:
			pre, _, post = line.partition(" - ")
			if post.split()[0] == "cgroup2":
				return path, os.stat(pre.split()[4] + path).st_ino
	return path, 0

def run(who):
	path, ino = cgroup_ino()
	print("CGROUP %s %d %s %d" % (who, os.getpid(), path, ino), flush=True)
	for p in args.probes:
		probe(who, p)

if args.fork:
	pid = os.fork()
	if pid == 0:
		run("child")
		os._exit(0)
	os.waitpid(pid, 0)
run("parent")
EOF

	# sink.py LOGFILE PROTO:PORT...: listen on every address (v4 and v6)
	# and write one line per TCP connection / datagram:
	# "PROTO PORT PEER DATA".
	cat >"$TMPDIR_TEST/sink.py" <<'EOF'
import socket, sys, threading

logf = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()

def write(line):
	with lock:
		logf.write(line + "\n")
		logf.flush()

def listen(proto, port):
	typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
	s = socket.socket(socket.AF_INET6, typ)
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("::", port))
	if proto == "udp":
		while True:
			data, peer = s.recvfrom(65535)
			write("udp %d %s %r" % (port, peer[0], data))
	s.listen(16)
	while True:
		c, peer = s.accept()
		threading.Thread(target=conn, args=(c, peer, port), daemon=True).start()

def conn(c, peer, port):
	c.settimeout(5)
	write("tcp %d %s connect" % (port, peer[0]))
	try:
		data = c.recv(65535)
		write("tcp %d %s %r" % (port, peer[0], data))
	except OSError:
		pass
	c.close()

for spec in sys.argv[2:]:
	proto, port = spec.split(":")
	threading.Thread(target=listen, args=(proto, int(port)), daemon=True).start()
threading.Event().wait()
EOF
}

# The cgroup confine puts the syslog service in, as /proc/PID/cgroup shows it.
service_cgroup() {
	echo "/$CG_PARENT_REL/${1:-syslog}"
}

# check_probe_cgroup OUTPUT WHO: the probe process ran in the service
# cgroup, compared by cgroup id (inode number), since the probe itself sees
# the service cgroup as the root of its cgroup namespace.
check_probe_cgroup() {
	local ino want
	ino=$(awk -v who="$2" '$1 == "CGROUP" && $2 == who { print $5; exit }' <<<"$1")
	want=$(stat -c %i "$CGROUP2$(service_cgroup)" 2>/dev/null)
	if [ -n "$ino" ] && [ "$ino" = "$want" ]; then
		pass "$2 process runs in cgroup $(service_cgroup) (id $ino)"
	else
		fail "$2 process: want cgroup $(service_cgroup) (id ${want:-?}), saw id '${ino:-nothing}'"
	fi
}
