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
# The functions the lab shares with the tests (checks, waiting, the cgroup2
# mount, namespaces, the syslog policy) are in lab/lib.sh; the Python
# helpers (probe.py, sink.py, status-field.py) in tests/helpers/.
#
# Environment: CONFINE (the binary; set by meson), CONFINE_TESTS_MUST_RUN=1
# turns a skip into a failure.

set -u

# shellcheck source=../../lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lab/lib.sh"
HELPERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../helpers" && pwd)

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
TEST_RESTORE=()     # commands that undo a host setting the test changed
TMPDIR_TEST=""      # scratch directory
CGROUP2=""          # cgroup2 mount point (find_cgroup2), exported
CG_TEST=""          # <cgroup2>/confine-test-$$, created and removed here
CG_PARENT_REL=""    # what policies put in CgroupParent=

if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3 || echo python3)
fi

# ---------------------------------------------------------------- output

log() {
	printf '%s: %s\n' "$TEST_NAME" "$*"
}

# pass, fail, check and check_not: lab/lib.sh.

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
	if checks_held; then
		log "all $CHECKS checks passed"
		exit 0
	fi
	if [ "$FAILED" -ne 0 ]; then
		log "$FAILED of $CHECKS checks failed"
	else
		log "no check ran"
	fi
	exit 1
}

# busywait, now_ms, wait_line: lab/lib.sh.

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

# CGROUP2 is exported for the Python helpers, which name cgroups below it.
require_cgroup2() {
	CGROUP2=$(find_cgroup2)
	[ -n "$CGROUP2" ] || skip "no cgroup2 file system mounted"
	[ -w "$CGROUP2" ] || skip "cgroup2 at $CGROUP2 is not writable"
	export CGROUP2
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

# The kernel writes LOG lines of a network namespace other than the
# initial one only with net.netfilter.nf_log_all_netns=1 (a namespace could
# otherwise flood the host's log). Set for the test, restored on exit.
allow_netns_kernel_log() {
	local f=/proc/sys/net/netfilter/nf_log_all_netns old
	[ -e "$f" ] || modprobe nf_log_syslog 2>/dev/null
	old=$(cat "$f" 2>/dev/null) ||
		skip "no $f (netfilter logging is not built into this kernel)"
	[ "$old" = 1 ] && return 0
	echo 1 >"$f" 2>/dev/null || skip "cannot set $f"
	TEST_RESTORE+=("echo $old >$f")
}

# ---------------------------------------------------------------- cleanup

kill_pid() {
	local pid=$1
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 40); do
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
	local rc=$? pid ns undo
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
	for undo in "${TEST_RESTORE[@]}"; do
		eval "$undo"
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

# add_netns NS: netns_add (lab/lib.sh), and cleanup deletes it.
add_netns() {
	netns_add "$1" || return 1
	TEST_NETNS+=("$1")
}

# addr NS DEV ADDRESS/LEN...: addrs (lab/lib.sh).
addr() {
	addrs "$@"
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

# in_ns, veth, listening: lab/lib.sh.

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
	local p target port proto
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
# tests (syslog_policy, lab/lib.sh): the four log paths to the log server,
# exclusive, under the test's cgroup subtree.
write_policy() {
	local f=$1
	shift
	syslog_policy "$CG_PARENT_REL" "$SRV_V4" "$SRV_V6" "$@" >"$f"
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
		"$PYTHON" "$HELPERS_DIR/status-field.py" "$1" "$2"
}

# ---------------------------------------------------------------- observing

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

# The Python helpers (tests/helpers/*.py, each says what it does) are
# copied into the test's scratch directory, which every user may read: a
# test may run them as User=nobody, from a clone that only its owner can.
write_helpers() {
	cp "$HELPERS_DIR"/*.py "$TMPDIR_TEST"/ &&
		chmod 755 "$TMPDIR_TEST"/*.py ||
		skip "cannot copy the helpers from $HELPERS_DIR"
}

# service_cgroup [SERVICE]: the cgroup confine puts SERVICE (syslog) in, as
# /proc/PID/cgroup shows it.
# shellcheck disable=SC2120 # every test so far wants syslog's
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
