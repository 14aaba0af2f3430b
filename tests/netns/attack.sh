#!/bin/bash
# attack.sh ATTACK: a root process started with `confine run` tries one way
# to undo or slip out of its confinement (tests/netns/attacker.c does the
# trying). Each test checks that every try failed, with which errno, that
# nothing the attacker sent reached the log server or the second server,
# and that the service is still confined afterwards. Where it is safe, the
# same attacker runs unconfined first as a control, to show that the attack
# is real: it works when confine is not in the way.
#
# meson runs it once per attack, as the test attack-ATTACK.

. "$(dirname "$0")/lib.sh"

ATTACK=${1:-}
TEST_NAME="attack-$ATTACK"
ATTACKER=${ATTACKER:-}

require_all
[ -n "$ATTACKER" ] && [ -x "$ATTACKER" ] ||
	skip "ATTACKER is not set to the attacker binary (run through meson test)"
setup_topology
start_log_server
start_second_server

POLICY="$TMPDIR_TEST/attack.policy"
# The syslog service under attack, and a second service whose mark would
# open the second server's port 8080, for the attacker to pose as.
write_policy "$POLICY" "" "[Service]" "Name=other" "Allow=tcp $SRV2_V4:8080"

# ---------------------------------------------------------------- helpers

TOK="atk-$$-$RANDOM$RANDOM"  # what the confined attacker sends
CTL="ctl-$$-$RANDOM$RANDOM"  # what the unconfined control sends

apply_policy() {
	apply_checked "confine apply succeeds" "$POLICY"
	MARK=$(status_field syslog "s['mark']")
	MASK=$(status_field syslog "s['mark_mask']")
	TABLE=$(status_field syslog "s['table']")
	OTHER_MARK=$(status_field other "s['mark']")
	log "syslog: mark $MARK/$MASK table $TABLE; other: mark $OTHER_MARK"
	[ -n "$MARK" ] && [ -n "$TABLE" ] && [ -n "$OTHER_MARK" ] ||
		fail "confine status --json names both services' marks and the table"
}

# confined ARGS...: the attacker as the syslog service's process.
confined() {
	timeout 60 "$CONFINE" run --netns "$CLIENT" -p "$POLICY" -s syslog -- \
		"$ATTACKER" --token "$TOK" "$@" 2>>"$TMPDIR_TEST/confined.err"
}

# unconfined ARGS...: the same attacker, a plain root process in the client.
unconfined() {
	timeout 60 ip netns exec "$CLIENT" "$ATTACKER" --token "$CTL" "$@" \
		2>>"$TMPDIR_TEST/unconfined.err"
}

# result OUTPUT LABEL [FIELD]: from "ATTEMPT LABEL RESULT SECONDS", the
# RESULT (or with FIELD 4, the SECONDS).
result() {
	awk -v l="$2" -v f="${3:-3}" '$1 == "ATTEMPT" && $2 == l { print $f; exit }' <<<"$1"
}

# expect WHO OUTPUT LABEL RESULT...: the try LABEL ended with one of the
# RESULTs. A refusal must also have come at once (under a second).
expect() {
	local who=$1 out=$2 label=$3 r secs want
	shift 3
	r=$(result "$out" "$label")
	secs=$(result "$out" "$label" 4)
	for want in "$@"; do
		[ "$r" = "$want" ] || continue
		if [ "$r" != OK ] && ! awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }'; then
			fail "$who: $label: $r, but only after ${secs}s (want < 1 s)"
			return
		fi
		pass "$who: $label: $r (${secs}s)"
		return
	done
	fail "$who: $label: want $(echo "$@" | sed 's/ / or /g'), saw ${r:-no result}"
}

# The answers a refused send may get: TCP is reset by the service's chain
# (ECONNREFUSED); anything else is dropped with EPERM, or finds table T's
# unreachable route (EHOSTUNREACH).
REFUSED=(ECONNREFUSED EPERM EHOSTUNREACH)

# nothing_reached TOKEN [ALLOWED_REGEX]: nothing carrying TOKEN reached the
# second server (every port of its sink) or the log server, except lines
# matching ALLOWED_REGEX, which the policy allows to reach the log server.
nothing_reached() {
	local tok=$1 allowed=${2:-} hits
	check "barrier: the log server has handled everything sent so far" \
		log_server_barrier
	check "barrier: the second server has handled everything sent so far" \
		sink_barrier "$SRV2" "$SRV2_SINK_LOG" udp:514 tcp:601 tcp:8080
	check_absent "second server" "$SRV2_SINK_LOG" "$tok"
	check_absent "log server's other ports" "$SRV_SINK_LOG" "$tok"
	hits=$(grep -F -- "$tok" "$SRV_LOG" | { [ -n "$allowed" ] && grep -vE -- "$allowed" || cat; })
	if [ -n "$hits" ]; then
		fail "log server: '$tok' arrived where it may not: $(head -n 3 <<<"$hits" | tr '\n' '|')"
	else
		pass "log server: nothing carrying '$tok' arrived but what the policy allows"
	fi
}

# arrived FILE TOKEN LABEL: a message of the attacker's arrived.
arrived() {
	check "'$2 $3' arrived in $(basename "$1")" wait_line "$1" "$2 $3" 5000
}

# After the attack, a fresh process of the service is as confined as before
# and still does its job; confine's table and rules are still there.
still_confined() {
	local t="post-$$-$RANDOM$RANDOM" out
	out=$(TOK=$t confined send "udp:$SRV2_V4:514" "tcp:$SRV2_V4:601" "udp:$SRV_V4:514")
	echo "$out"
	expect "afterwards, confined" "$out" "udp:$SRV2_V4:514" "${REFUSED[@]}"
	expect "afterwards, confined" "$out" "tcp:$SRV2_V4:601" "${REFUSED[@]}"
	expect "afterwards, confined" "$out" "udp:$SRV_V4:514" OK
	arrived "$SRV_LOG" "$t" "udp:$SRV_V4:514"
	nothing_reached "$t" "udp:$SRV_V4:514"
	check "afterwards: table inet confine is in the client's ruleset" \
		in_ns "$CLIENT" nft list table inet confine
	check "afterwards: the ip rule fwmark $MARK/$MASK lookup $TABLE is there" \
		rule_present
}

rule_present() {
	ip -n "$CLIENT" rule show | grep -q "fwmark $(printf 0x%x "$MARK")/$(printf 0x%x "$MASK") lookup $TABLE"
}

# check_caps_gone OUTPUT WHO: the capabilities that undo confinement are in
# neither the effective nor the bounding set of the attacker's STATUS lines.
check_caps_gone() {
	local set hex bit name
	for set in CapEff CapBnd; do
		hex=$(awk -v w="$2" -v s="$set:" '$1 == "STATUS" && $2 == w && $3 == s { print $4; exit }' <<<"$1")
		if [ -z "$hex" ]; then
			fail "$2: no $set line"
			continue
		fi
		for bit in 12:NET_ADMIN 13:NET_RAW 19:SYS_PTRACE 21:SYS_ADMIN 16:SYS_MODULE 39:BPF; do
			name=${bit#*:}
			bit=${bit%%:*}
			if (((0x$hex >> bit) & 1)); then
				fail "$2: CAP_$name is in $set ($hex)"
				return
			fi
		done
		pass "$2: no capability that undoes confinement in $set ($hex)"
	done
}

icmp_echos_in() {
	# IcmpInEchos (IPv4) + Icmp6InEchos (IPv6) of the second server.
	in_ns "$SRV2" awk '
		$1 == "Icmp:" && !n { for (i = 2; i <= NF; i++) h[i] = $i; n = 1; next }
		$1 == "Icmp:" { for (i = 2; i <= NF; i++) if (h[i] == "InEchos") s += $i }
		$1 == "Icmp6InEchos" { s += $2 }
		END { print s + 0 }' /proc/net/snmp /proc/net/snmp6
}

# ---------------------------------------------------------------- attacks

case $ATTACK in
cgroup-escape)
	apply_policy
	outf="$TMPDIR_TEST/attacker.out"
	"$CONFINE" run --netns "$CLIENT" -p "$POLICY" -s syslog -- \
		"$ATTACKER" --token "$TOK" cgroup-escape "$CGROUP2" \
		"udp:$SRV2_V4:514" "tcp:$SRV2_V4:601" >"$outf" \
		2>>"$TMPDIR_TEST/confined.err" &
	pid=$!
	TEST_PIDS+=("$pid")
	check "the attacker holds after its tries" wait_line "$outf" '^HOLD' 10000
	out=$(cat "$outf")
	echo "$out"
	host_view=$(proc_cgroup "$pid")
	if [ "$host_view" = "$(service_cgroup)" ]; then
		pass "after writing its PID everywhere, the host still sees it in $host_view"
	else
		fail "the attacker left its cgroup: the host sees it in '$host_view', want $(service_cgroup)"
	fi
	# Its own cgroupfs is rooted at the service cgroup: writing to the
	# "root" cgroup.procs succeeds and moves it nowhere.
	expect confined "$out" write-host-path-cgroup.procs OK
	expect confined "$out" write-via-pid1-root-cgroup.procs EACCES EPERM
	expect confined "$out" write-parent-of-mount-cgroup.procs ENOENT EACCES EPERM
	expect confined "$out" mount-cgroup2 EPERM
	check "it sees its cgroup as the root of its cgroup namespace" \
		grep -qx 'SELF_CGROUP /' "$outf"
	expect confined "$out" "udp:$SRV2_V4:514" "${REFUSED[@]}"
	expect confined "$out" "tcp:$SRV2_V4:601" "${REFUSED[@]}"
	kill_pid "$pid"
	nothing_reached "$TOK"
	still_confined
	;;

nft-delete)
	apply_policy
	out=$(confined nft-delete)
	echo "$out"
	expect confined "$out" nft-delete-table-inet-confine EPERM
	expect confined "$out" nft-flush-ruleset EPERM
	still_confined
	# Control: the same messages from an unconfined root process do
	# what they say.
	out=$(unconfined nft-delete)
	echo "control: $out"
	expect unconfined "$out" nft-delete-table-inet-confine OK
	check_not "control: table inet confine is gone after the unconfined delete" \
		in_ns "$CLIENT" nft list table inet confine
	;;

rtnl)
	apply_policy
	rules_before=$(ip -n "$CLIENT" rule show; ip -n "$CLIENT" -6 rule show)
	routes_before=$(ip -n "$CLIENT" route show table "$TABLE"; ip -n "$CLIENT" -6 route show table "$TABLE")
	out=$(confined rtnl "$MARK" "$MASK" "$TABLE" "$SRV2_V4" c1)
	echo "$out"
	expect confined "$out" rtnl-delete-rule-ipv4 EPERM
	expect confined "$out" rtnl-delete-rule-ipv6 EPERM
	expect confined "$out" rtnl-replace-default-in-table-T EPERM
	expect confined "$out" rtnl-delete-unreachable-in-table-T EPERM
	check "the ip rules are unchanged" test "$rules_before" = \
		"$(ip -n "$CLIENT" rule show; ip -n "$CLIENT" -6 rule show)"
	check "the routes of table $TABLE are unchanged" test "$routes_before" = \
		"$(ip -n "$CLIENT" route show table "$TABLE"; ip -n "$CLIENT" -6 route show table "$TABLE")"
	still_confined
	out=$(unconfined rtnl "$MARK" "$MASK" "$TABLE" "$SRV2_V4" c1)
	echo "control: $out"
	expect unconfined "$out" rtnl-delete-rule-ipv4 OK
	expect unconfined "$out" rtnl-replace-default-in-table-T OK
	expect unconfined "$out" rtnl-delete-unreachable-in-table-T OK
	check_not "control: the IPv4 rule is gone after the unconfined delete" \
		rule_present
	;;

so-mark)
	apply_policy
	out=$(confined so-mark "tcp:$SRV2_V4:8080" "$OTHER_MARK" 0)
	echo "$out"
	expect confined "$out" "setsockopt-SO_MARK=$(printf 0x%x "$OTHER_MARK")" EPERM
	expect confined "$out" setsockopt-SO_MARK=0x0 EPERM
	expect confined "$out" "after-SO_MARK=$(printf 0x%x "$OTHER_MARK"):tcp:$SRV2_V4:8080" "${REFUSED[@]}"
	expect confined "$out" "after-SO_MARK=0x0:tcp:$SRV2_V4:8080" "${REFUSED[@]}"
	nothing_reached "$TOK"
	still_confined
	out=$(unconfined so-mark "udp:$SRV2_V4:514" "$OTHER_MARK")
	echo "control: $out"
	expect unconfined "$out" "setsockopt-SO_MARK=$(printf 0x%x "$OTHER_MARK")" OK
	;;

af-packet)
	apply_policy
	mac=$(ip -n "$SRV2" -o link show s1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	log "second server's MAC: $mac"
	out=$(unconfined af-packet c1 "$mac" "$CLIENT2_V4" "$SRV2_V4" 514)
	echo "control: $out"
	expect unconfined "$out" socket-AF_PACKET-SOCK_RAW OK
	arrived "$SRV2_SINK_LOG" "$CTL" "socket-AF_PACKET-SOCK_RAW-frame-to:$SRV2_V4:514"
	out=$(confined af-packet c1 "$mac" "$CLIENT2_V4" "$SRV2_V4" 514)
	echo "$out"
	expect confined "$out" socket-AF_PACKET-SOCK_RAW EPERM
	expect confined "$out" socket-AF_PACKET-SOCK_DGRAM EPERM
	nothing_reached "$TOK"
	still_confined
	;;

raw-ip)
	apply_policy
	out=$(unconfined raw-ip "$CLIENT2_V4" "$SRV2_V4" 514)
	echo "control: $out"
	expect unconfined "$out" socket-AF_INET-SOCK_RAW-IPPROTO_RAW OK
	arrived "$SRV2_SINK_LOG" "$CTL" "socket-AF_INET-SOCK_RAW-IPPROTO_RAW-packet-to:$SRV2_V4:514"
	out=$(confined raw-ip "$CLIENT2_V4" "$SRV2_V4" 514)
	echo "$out"
	expect confined "$out" socket-AF_INET-SOCK_RAW-IPPROTO_RAW EPERM
	expect confined "$out" socket-AF_INET-SOCK_RAW-IPPROTO_UDP EPERM
	nothing_reached "$TOK"
	still_confined
	;;

unshare)
	apply_policy
	out=$(unconfined unshare)
	echo "control: $out"
	expect unconfined "$out" unshare-CLONE_NEWNET OK
	expect unconfined "$out" clone3-CLONE_NEWNET OK
	out=$(confined unshare)
	echo "$out"
	expect confined "$out" unshare-CLONE_NEWNET EPERM
	expect confined "$out" unshare-CLONE_NEWUSER EPERM
	expect confined "$out" "unshare-CLONE_NEWUSER|CLONE_NEWNET" EPERM
	expect confined "$out" clone-CLONE_NEWNET EPERM
	# clone3's flags are behind a pointer, out of seccomp's sight: the
	# whole call is refused, with ENOSYS so that libc falls back to clone.
	expect confined "$out" clone3-CLONE_NEWNET ENOSYS
	still_confined
	;;

setns)
	apply_policy
	# Into the second server's namespace, where 127.0.0.1:514 is its sink.
	out=$(unconfined setns "/run/netns/$SRV2" udp:127.0.0.1:514)
	echo "control: $out"
	expect unconfined "$out" "setns-/run/netns/$SRV2" OK
	arrived "$SRV2_SINK_LOG" "$CTL" "after-setns:udp:127.0.0.1:514"
	out=$(confined setns "/run/netns/$SRV2" udp:127.0.0.1:514)
	echo "$out"
	expect confined "$out" "setns-/run/netns/$SRV2" EPERM
	# Into the host's: an attempt only; the attacker sends nothing there.
	out=$(confined setns /proc/1/ns/net)
	echo "$out"
	r=$(result "$out" "setns-/proc/1/ns/net")
	if [ -n "$r" ]; then
		expect confined "$out" "setns-/proc/1/ns/net" EPERM
	else
		expect confined "$out" "open-/proc/1/ns/net" EACCES EPERM
	fi
	nothing_reached "$TOK"
	still_confined
	;;

ptrace)
	apply_policy
	in_ns "$CLIENT" sleep 120 &
	victim=$!
	TEST_PIDS+=("$victim")
	out=$(unconfined ptrace "$victim")
	echo "control: $out"
	expect unconfined "$out" ptrace-PTRACE_SEIZE OK
	expect unconfined "$out" ptrace-PTRACE_ATTACH OK
	# EFAULT: the call was let through, only the address is bad.
	expect unconfined "$out" process_vm_readv EFAULT
	expect unconfined "$out" open-/proc/PID/mem OK
	expect unconfined "$out" pidfd_getfd OK
	out=$(confined ptrace "$victim")
	echo "$out"
	expect confined "$out" ptrace-PTRACE_SEIZE EPERM
	expect confined "$out" ptrace-PTRACE_ATTACH EPERM
	expect confined "$out" process_vm_readv EPERM
	expect confined "$out" open-/proc/PID/mem EACCES EPERM
	expect confined "$out" open-/proc/PID/root EACCES EPERM
	expect confined "$out" pidfd_getfd EPERM
	check "the victim lives" kill -0 "$victim"
	check "the victim is traced by nobody" \
		grep -q '^TracerPid:[[:space:]]*0$' "/proc/$victim/status"
	still_confined
	;;

bpf)
	apply_policy
	out=$(unconfined bpf)
	echo "control: $out"
	expect unconfined "$out" bpf-load-socket-filter OK
	expect unconfined "$out" bpf-load-cgroup-sock OK
	out=$(confined bpf)
	echo "$out"
	expect confined "$out" bpf-load-socket-filter EPERM
	expect confined "$out" bpf-load-cgroup-sock EPERM
	expect confined "$out" bpf-prog-get-next-id EPERM
	still_confined
	;;

io-uring)
	apply_policy
	out=$(unconfined io-uring "tcp:$SRV2_V4:601" "udp:$SRV2_V4:514")
	echo "control: $out"
	expect unconfined "$out" "io_uring:tcp:$SRV2_V4:601" OK
	arrived "$SRV2_SINK_LOG" "$CTL" "io_uring:tcp:$SRV2_V4:601"
	out=$(confined io-uring "tcp:$SRV2_V4:601" "udp:$SRV2_V4:514" \
		"tcp:[$SRV2_V6]:601" "udp:$SRV_V4:514")
	echo "$out"
	expect confined "$out" io_uring_setup OK
	expect confined "$out" "io_uring:tcp:$SRV2_V4:601" "${REFUSED[@]}"
	expect confined "$out" "io_uring:udp:$SRV2_V4:514" "${REFUSED[@]}"
	expect confined "$out" "io_uring:tcp:[$SRV2_V6]:601" "${REFUSED[@]}"
	# The ring works; it just obeys the same rules.
	expect confined "$out" "io_uring:udp:$SRV_V4:514" OK
	arrived "$SRV_LOG" "$TOK" "io_uring:udp:$SRV_V4:514"
	nothing_reached "$TOK" "io_uring:udp:$SRV_V4:514"
	still_confined
	;;

exec-ping)
	apply_policy
	ping=$(command -v ping)
	log "$ping: $(getcap "$ping" 2>/dev/null || echo 'getcap not installed'); $(stat -c %A "$ping")"
	echos=$(icmp_echos_in)
	out=$(unconfined exec "$ping" -c1 -W1 "$SRV2_V4" 2>&1)
	echo "control: $out"
	check "control: ping from an unconfined process reaches the second server" \
		test "$(icmp_echos_in)" -gt "$echos"
	echos=$(icmp_echos_in)
	out=$(confined exec "$ping" -c1 -W1 "$SRV2_V4" 2>&1)
	echo "$out"
	check_caps_gone "$out" before-exec
	# ping's file capability (cap_net_raw, effective) is outside the
	# bounding set: the kernel refuses to run a program that it cannot
	# give its forced capabilities. Were ping set-user-ID instead,
	# no_new_privs would run it without raising anything.
	expect confined "$out" execv EPERM
	out=$(confined exec "$ping" -6 -c1 -W1 "$SRV2_V6" 2>&1)
	echo "$out"
	expect confined "$out" execv EPERM
	check "no echo request reached the second server" test "$(icmp_echos_in)" -eq "$echos"
	still_confined
	;;

exec-setuid)
	apply_policy
	# A set-user-ID root program (a copy of the attacker) run by the
	# service after it dropped to nobody: with no_new_privs the kernel
	# does not raise its user ID or grant it capabilities.
	suid="$TMPDIR_TEST/attacker-suid"
	install -m 4755 -o root "$ATTACKER" "$suid"
	out=$(unconfined exec-as 65534 "$suid" ids)
	echo "control: $out"
	check "control: unconfined, the setuid program runs with euid 0" \
		grep -q '^IDS uid=65534 euid=0$' <<<"$out"
	out=$(confined exec-as 65534 "$suid" ids)
	echo "$out"
	check "confined, the setuid program keeps euid 65534" \
		grep -q '^IDS uid=65534 euid=65534$' <<<"$out"
	check "confined, it has no effective capability" \
		grep -q 'STATUS ids CapEff:[[:space:]]*0*$' <<<"$out"
	check_caps_gone "$out" ids
	still_confined
	;;

ipv6)
	apply_policy
	out=$(unconfined send "udp:[$SRV2_V6]:514")
	echo "control: $out"
	expect unconfined "$out" "udp:[$SRV2_V6]:514" OK
	arrived "$SRV2_SINK_LOG" "$CTL" "udp:\\[$SRV2_V6\\]:514"
	out=$(confined send "udp:[$SRV2_V6]:514" "tcp:[$SRV2_V6]:601" \
		"tcp:[$SRV2_V6]:8080" "udp:[::ffff:$SRV2_V4]:514" \
		"tcp:[::ffff:$SRV2_V4]:601" "udp:[$SRV_V6]:514")
	echo "$out"
	expect confined "$out" "udp:[$SRV2_V6]:514" "${REFUSED[@]}"
	expect confined "$out" "tcp:[$SRV2_V6]:601" "${REFUSED[@]}"
	expect confined "$out" "tcp:[$SRV2_V6]:8080" "${REFUSED[@]}"
	# IPv4 through an IPv6 socket (a mapped address) is IPv4 on the wire.
	expect confined "$out" "udp:[::ffff:$SRV2_V4]:514" "${REFUSED[@]}"
	expect confined "$out" "tcp:[::ffff:$SRV2_V4]:601" "${REFUSED[@]}"
	expect confined "$out" "udp:[$SRV_V6]:514" OK
	arrived "$SRV_LOG" "$TOK" "udp:\\[$SRV_V6\\]:514"
	nothing_reached "$TOK" "udp:\\[$SRV_V6\\]:514"
	still_confined
	;;

loopback)
	# A local proxy (a sink here) on ports the policy does not allow, and
	# one on a port it does.
	# The allowed one is on 127.0.0.2: an exclusive service's address is
	# closed to every other process, and the control uses 127.0.0.1.
	# check says so when an exclusive service lists 127.0.0.1 or ::1.
	write_policy "$TMPDIR_TEST/lo.policy" "Allow=tcp 127.0.0.1:8890"
	line=$(grep -n '^Allow=tcp 127.0.0.1:8890$' "$TMPDIR_TEST/lo.policy" | cut -d: -f1)
	out=$("$CONFINE" check "$TMPDIR_TEST/lo.policy" 2>&1 >/dev/null)
	echo "$out"
	check "check warns that the exclusive service takes 127.0.0.1 from everyone" \
		grep -qF "$TMPDIR_TEST/lo.policy:$line: warning: service syslog is exclusive, so no other process may reach 127.0.0.1 at all" <<<"$out"
	write_policy "$POLICY" "Allow=tcp 127.0.0.2:8890" "" "[Service]" "Name=other" \
		"Allow=tcp $SRV2_V4:8080"
	apply_policy
	LOCAL_LOG="$TMPDIR_TEST/client-proxy.log"
	start_sink "$CLIENT" "$LOCAL_LOG" tcp:8888 udp:8889 tcp:8890
	out=$(unconfined send tcp:127.0.0.1:8888)
	echo "control: $out"
	expect unconfined "$out" tcp:127.0.0.1:8888 OK
	out=$(confined send tcp:127.0.0.1:8888 "tcp:[::1]:8888" udp:127.0.0.1:8889 \
		tcp:127.0.0.2:8888 tcp:127.0.0.2:8890)
	echo "$out"
	expect confined "$out" tcp:127.0.0.1:8888 "${REFUSED[@]}"
	expect confined "$out" "tcp:[::1]:8888" "${REFUSED[@]}"
	expect confined "$out" udp:127.0.0.1:8889 "${REFUSED[@]}"
	expect confined "$out" tcp:127.0.0.2:8888 "${REFUSED[@]}"
	expect confined "$out" tcp:127.0.0.2:8890 OK
	check_not "no such warning for 127.0.0.2" grep -q "is exclusive" "$TMPDIR_TEST/confined.err"
	check "barrier: the local proxy has handled everything sent so far" \
		sink_barrier "$CLIENT" "$LOCAL_LOG" tcp:8888 udp:8889
	hits=$(grep -F -- "$TOK" "$LOCAL_LOG" | grep -v "tcp 8890 ")
	check "nothing of the confined process reached the proxy's ports 8888 and 8889" \
		test -z "$hits"
	check "the allowed loopback port 8890 got its message" \
		grep -q "tcp 8890 .*$TOK" "$LOCAL_LOG"
	nothing_reached "$TOK"
	still_confined
	;;

grandchild)
	apply_policy
	out=$(confined grandchild 65534 "udp:$SRV2_V4:514" "tcp:$SRV2_V4:601" \
		"udp:$SRV_V4:514" "tcp:$SRV_V4:601")
	echo "$out"
	expect confined "$out" setuid OK
	check "the grandchild runs as uid 65534" grep -q '^GRANDCHILD .* uid=65534$' <<<"$out"
	check "the grandchild sees itself at the root of the service's cgroup namespace" \
		grep -qx 'SELF_CGROUP /' <<<"$out"
	expect grandchild "$out" grandchild-setuid-0 EPERM
	expect grandchild "$out" "grandchild:udp:$SRV2_V4:514" "${REFUSED[@]}"
	expect grandchild "$out" "grandchild:tcp:$SRV2_V4:601" "${REFUSED[@]}"
	expect grandchild "$out" "grandchild:udp:$SRV_V4:514" OK
	expect grandchild "$out" "grandchild:tcp:$SRV_V4:601" OK
	arrived "$SRV_LOG" "$TOK" "grandchild:udp:$SRV_V4:514"
	arrived "$SRV_LOG" "$TOK" "grandchild:tcp:$SRV_V4:601"
	nothing_reached "$TOK" "grandchild:(udp|tcp):$SRV_V4:(514|601)"
	still_confined
	;;

kept-capability)
	# A service that keeps CAP_NET_ADMIN can undo its confinement, so
	# check and run say so, at the line that keeps it. A harmless kept
	# capability gets no warning.
	write_policy "$POLICY" "KeepCapabilities=CAP_NET_BIND_SERVICE" \
		"KeepCapabilities=net_admin" "" "[Service]" "Name=other" \
		"Allow=tcp $SRV2_V4:8080"
	line=$(grep -n '^KeepCapabilities=net_admin$' "$POLICY" | cut -d: -f1)
	want="$POLICY:$line: warning: service syslog keeps CAP_NET_ADMIN, with which it can undo its confinement"
	out=$("$CONFINE" check "$POLICY" 2>&1 >/dev/null)
	rc=$?
	echo "$out"
	check "confine check still accepts the policy (exit $rc)" test "$rc" -eq 0
	check "confine check warns at $POLICY:$line" grep -qF -- "$want" <<<"$out"
	check_not "no warning for CAP_NET_BIND_SERVICE" grep -q NET_BIND_SERVICE <<<"$out"
	apply_policy
	out=$(confined nft-delete 2>&1)
	echo "$out"
	check "confine run warns too" grep -qF -- "$want" "$TMPDIR_TEST/confined.err"
	# The warning is true: the service deletes confine's table.
	expect confined "$out" nft-delete-table-inet-confine OK
	check_not "table inet confine is gone: the kept capability undid the confinement" \
		in_ns "$CLIENT" nft list table inet confine
	;;

*)
	echo "attack.sh: no attack named '$ATTACK'" >&2
	exit 2
	;;
esac

finish
