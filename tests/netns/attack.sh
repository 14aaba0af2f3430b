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
case $ATTACK in
file-handle | kernel-tunables | inherited-socket)
	# To enter the client's network namespace only, keeping the mounts.
	require_cmds nsenter
	;;
esac
setup_topology
start_log_server
start_second_server

POLICY="$TMPDIR_TEST/attack.policy"
# The syslog service under attack, and a second service whose mark would
# open the second server's port 8080, for the attacker to pose as. The
# attacks on a service's own routing need services that have one: there
# both have Mark=, and so a mark, a table and ip rules. Every other attack
# meets the default, services without routing of their own.
case $ATTACK in
rtnl | so-mark | inherited-socket)
	SYSLOG_ROUTING=(Mark=0x41)
	OTHER_ROUTING=(Mark=0x42)
	;;
*)
	SYSLOG_ROUTING=()
	OTHER_ROUTING=()
	;;
esac
write_policy "$POLICY" "${SYSLOG_ROUTING[@]}" "" "[Service]" "Name=other" \
	"Allow=tcp $SRV2_V4:8080" "${OTHER_ROUTING[@]}"

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

# unconfined_hostmnt ARGS...: the same, but with the host's mounts: `ip
# netns exec` replaces /sys with a fresh sysfs, which hides the cgroup2
# mount and the host's /sys below it.
unconfined_hostmnt() {
	timeout 60 nsenter --net="/run/netns/$CLIENT" "$ATTACKER" --token "$CTL" \
		"$@" 2>>"$TMPDIR_TEST/unconfined.err"
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
	check "afterwards: confine's routing is there (table $TABLE)" \
		rule_present
}

# rule_present: the ip rule fwmark MARK/MASK lookup TABLE of a service with
# routing of its own, or else confine's marker of installed services.
rule_present() {
	if [ "$TABLE" = 0 ]; then
		ip -n "$CLIENT" route show table 19000 | grep -q "^unreachable default"
		return
	fi
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

# check_cap_absent OUTPUT WHO SET BIT NAME: capability BIT is not in SET
# (CapEff, CapBnd, ...) of the attacker's STATUS lines.
check_cap_absent() {
	local hex
	hex=$(awk -v w="$2" -v s="$3:" '$1 == "STATUS" && $2 == w && $3 == s { print $4; exit }' <<<"$1")
	if [ -z "$hex" ]; then
		fail "$2: no $3 line"
	elif (((0x$hex >> $4) & 1)); then
		fail "$2: CAP_$5 is in $3 ($hex)"
	else
		pass "$2: CAP_$5 is not in $3 ($hex)"
	fi
}

# check_no_caps OUTPUT WHO: every capability set but the bounding set is
# empty.
check_no_caps() {
	local set hex
	for set in CapInh CapPrm CapEff CapAmb; do
		hex=$(awk -v w="$2" -v s="$set:" '$1 == "STATUS" && $2 == w && $3 == s { print $4; exit }' <<<"$1")
		if [ -n "$hex" ] && ((0x$hex == 0)); then
			pass "$2: $set is empty"
		else
			fail "$2: $set is ${hex:-missing}, want 0"
		fi
	done
}

# refused_to_start WHAT OUTPUT ERRFILE RC FD: `confine run` did not start
# the program (it never printed a try), exited 1, and said why, naming the
# descriptor.
refused_to_start() {
	local what=$1 out=$2 err rc=$4 fd=$5
	err=$(cat "$3")
	[ -n "$err" ] && echo "$err"
	check "$what: confine run exits 1 (exit $rc)" test "$rc" -eq 1
	check "$what: it says it refuses to start" grep -q "refusing to start" <<<"$err"
	check "$what: it names fd $fd" grep -qw "fd $fd" <<<"$err"
	check "$what: the program never ran" test -z "$(grep '^ATTEMPT' <<<"$out")"
}

# run_holding ERRFILE CMD...: CMD (which holds some inherited descriptor and
# ends in `confine run`), bounded in time; its stdout is printed, its
# stderr goes to ERRFILE; returns CMD's status.
run_holding() {
	local errf=$1
	shift
	timeout 60 "$@" 2>"$errf"
}

# in_client_bash SCRIPT ARG...: bash in the client's network namespace
# only (the mount namespace stays the host's, so that `confine run` finds
# the cgroup2 mount), for descriptors opened by bash redirections such as
# 3<>/dev/udp/HOST/PORT: such sockets belong to the client's namespace.
in_client_bash() {
	local script=$1
	shift
	nsenter --net="/run/netns/$CLIENT" bash -c "$script" bash "$@"
}

# creds_field OUTPUT KEY: uid, gid or groups from the CREDS line.
creds_field() {
	sed -n "s/^CREDS .*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1" | head -n 1
}

# sorted_list "a,b c": one sorted, comma separated list of numbers.
sorted_list() {
	tr ', ' '\n\n' <<<"$1" | sed '/^$/d' | sort -n | paste -sd, -
}

# subset_of LIST ALLOWED: every number of LIST (comma or space separated)
# is in ALLOWED.
subset_of() {
	local g
	for g in ${1//,/ }; do
		[[ " ${2//,/ } " == *" $g "* ]] || return 1
	done
}

# expect_not_out OUTPUT METHOD DEST: the output interface chosen with
# METHOD did not take the packet out: either the choice was refused (and
# the send went by the policy's route, to the real log server), or it was
# taken and the send was refused.
expect_not_out() {
	local out=$1 m=$2 dest=$3 r
	r=$(result "$out" "set-$m:$dest")
	case $m in
	io_uring-* | bind-*)
		# Set through the ring, or by bind(2)'s address: out of
		# seccomp's sight. Only the packet level can refuse it.
		log "$m for $dest: ${r:-no result}"
		;;
	*)
		expect confined "$out" "set-$m:$dest" EPERM
		;;
	esac
	if [ "$r" = OK ]; then
		expect confined "$out" "after-$m:$dest" "${REFUSED[@]}"
	else
		expect confined "$out" "after-$m:$dest" OK
	fi
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

tcp-repair)
	# confine lets a TCP segment that is not a bare SYN go on, as the
	# answer of a connection that exists. TCP_REPAIR would let a process
	# make one up without a handshake (repair-mode connect, then data as
	# ACK|PSH). A counter in the second server's namespace sees every such
	# segment to port 9097.
	apply_policy
	in_ns "$SRV2" nft -f - <<-'NFT'
		table inet cfatk {
			counter seen { }
			chain in {
				type filter hook input priority -300; policy accept;
				tcp dport 9097 tcp flags & (syn | ack) != syn counter name seen
			}
		}
	NFT
	seen() {
		in_ns "$SRV2" nft list counter inet cfatk seen |
			sed -n 's/.*packets \([0-9]*\).*/\1/p'
	}
	out=$(confined tcp-repair "tcp:$SRV2_V4:9097")
	echo "$out"
	expect confined "$out" setsockopt-TCP_REPAIR EPERM
	check "no segment of the confined attacker reached the second server (saw $(seen))" \
		test "$(seen)" = 0
	still_confined
	out=$(unconfined tcp-repair "tcp:$SRV2_V4:9097")
	echo "control: $out"
	expect unconfined "$out" setsockopt-TCP_REPAIR OK
	expect unconfined "$out" repair-send OK ECONNRESET
	check "control: the unconfined segment without a handshake reached the second server" \
		busywait 3000 bash -c "test \"\$(ip netns exec '$SRV2' nft list counter inet cfatk seen | sed -n 's/.*packets \([0-9]*\).*/\1/p')\" -gt 0"
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

file-handle)
	apply_policy
	# A cgroup of the test's own subtree but outside the service: where
	# the attacker would move itself. The host's cgroups are only ever
	# opened, never written.
	decoy="$CG_TEST/decoy"
	mkdir "$decoy" || fail "cannot create $decoy"
	decoy_id=$(stat -c %i "$decoy")
	root_id=$(stat -c %i "$CGROUP2")
	out=$(unconfined_hostmnt handle-of "$decoy")
	echo "control: $out"
	check "control: cgroupfs gives $decoy the handle FILEID_KERNFS (0xfe), its id $decoy_id" \
		grep -qx "HANDLE type=0xfe bytes=8 id=$decoy_id" <<<"$out"
	out=$(unconfined_hostmnt file-handle "root:$root_id" "decoy:$decoy_id" scan:64)
	echo "control: $out"
	expect unconfined "$out" open_by_handle_at:root OK
	expect unconfined "$out" open_by_handle_at:decoy OK
	expect unconfined "$out" open_by_handle_at-scan-1..64 OK
	out=$(confined file-handle "root:$root_id" "decoy:$decoy_id:move" \
		scan:4096 "udp:$SRV2_V4:514" "tcp:$SRV2_V4:601")
	echo "$out"
	expect confined "$out" open_by_handle_at:root EPERM
	expect confined "$out" open_by_handle_at:decoy EPERM
	expect confined "$out" open_by_handle_at-scan-1..4096 EPERM
	check "confined: it never got as far as writing to the decoy's cgroup.procs" \
		test -z "$(result "$out" move-via-handle:decoy)"
	check "confined: its /proc/self/cgroup is / before and after" \
		test "$(grep '^SELF_CGROUP' <<<"$out" | sort -u)" = "SELF_CGROUP /"
	check "the decoy cgroup holds no process" test -z "$(cat "$decoy/cgroup.procs")"
	expect confined "$out" "after-handles:udp:$SRV2_V4:514" "${REFUSED[@]}"
	expect confined "$out" "after-handles:tcp:$SRV2_V4:601" "${REFUSED[@]}"

	# A directory descriptor from before confinement: a path walk from
	# it reaches the host's mount tree, cgroup2 mount included.
	procs_rel="${decoy#/}/cgroup.procs"
	out=$(unconfined openat 3 "$procs_rel" 3</)
	echo "control: $out"
	expect unconfined "$out" "openat-fd-3:$procs_rel" OK
	errf="$TMPDIR_TEST/run-dirfd.err"
	out=$(run_holding "$errf" "$CONFINE" run --netns "$CLIENT" -p "$POLICY" \
		-s syslog -- "$ATTACKER" --token "$TOK" openat 3 "$procs_rel" \
		write-pid 3</)
	rc=$?
	echo "$out"
	refused_to_start "an inherited directory descriptor (3</)" "$out" "$errf" "$rc" 3
	# The same with an O_PATH descriptor, which bash cannot open.
	errf="$TMPDIR_TEST/run-opath.err"
	out=$(run_holding "$errf" "$ATTACKER" with-fd opath:/ 3 "$CONFINE" run \
		--netns "$CLIENT" -p "$POLICY" -s syslog -- "$ATTACKER" \
		--token "$TOK" openat 3 "$procs_rel" write-pid)
	rc=$?
	echo "$out"
	refused_to_start "an inherited O_PATH descriptor of /" "$out" "$errf" "$rc" 3
	check "the decoy cgroup still holds no process" test -z "$(cat "$decoy/cgroup.procs")"

	# What open_by_handle_at needs is gone as well.
	out=$(confined ids)
	echo "$out"
	check_cap_absent "$out" ids CapEff 2 DAC_READ_SEARCH
	check_cap_absent "$out" ids CapBnd 2 DAC_READ_SEARCH
	# Kept on purpose, it is warned about like the others that undo
	# confinement.
	keep="$TMPDIR_TEST/keep.policy"
	write_policy "$keep" "KeepCapabilities=dac_read_search"
	line=$(grep -n '^KeepCapabilities=dac_read_search$' "$keep" | cut -d: -f1)
	out=$("$CONFINE" check "$keep" 2>&1 >/dev/null)
	rc=$?
	echo "$out"
	check "check accepts KeepCapabilities=dac_read_search (exit $rc)" test "$rc" -eq 0
	check "check warns at $keep:$line that CAP_DAC_READ_SEARCH is kept" \
		grep -qF "$keep:$line: warning: service syslog keeps CAP_DAC_READ_SEARCH" <<<"$out"
	nothing_reached "$TOK"
	still_confined
	;;

kernel-tunables)
	apply_policy
	# Host-wide knobs are only opened for writing, never written, by
	# either run.
	global=(/proc/sys/kernel/core_pattern)
	for f in /proc/sys/kernel/modprobe /proc/sysrq-trigger \
		/sys/kernel/uevent_helper /sys/kernel/profiling; do
		[ -e "$f" ] && global+=("$f")
	done
	# The release_agent of a cgroup v1 hierarchy, if the host has one:
	# the classic way out of a container.
	v1=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
		    if ($(i + 1) == "cgroup") { print $5; exit } }' /proc/self/mountinfo)
	[ -n "$v1" ] && [ -e "$v1/release_agent" ] && global+=("$v1/release_agent")
	out=$(unconfined_hostmnt open-wronly "${global[@]}")
	echo "control: $out"
	for f in "${global[@]}"; do
		expect unconfined "$out" "open-wronly:$f" OK
	done
	out=$(confined open-wronly "${global[@]}" "$CGROUP2/cgroup.procs")
	echo "$out"
	for f in "${global[@]}"; do
		expect confined "$out" "open-wronly:$f" EROFS
	done
	# Its own cgroup2 mount stays writable: it may manage its cgroups.
	expect confined "$out" "open-wronly:$CGROUP2/cgroup.procs" OK

	# Knobs of the client's own network namespace: the control writes
	# them and puts them back; the confined write must change nothing.
	knobs=(
		"/proc/sys/net/ipv4/conf/all/route_localnet=1"
		$'/proc/sys/net/ipv4/ping_group_range=0\t2147483647'
		"/proc/sys/net/ipv6/conf/c1/disable_ipv6=1"
		"/proc/sys/net/ipv4/conf/c0/arp_ignore=2"
	)
	for k in "${knobs[@]}"; do
		f=${k%%=*}
		new=${k#*=}
		orig=$(in_ns "$CLIENT" cat "$f")
		out=$(unconfined write "$f" "$new")
		echo "control: $out"
		expect unconfined "$out" "write:$f" OK
		check "control: $f is now '$new'" test "$(in_ns "$CLIENT" cat "$f")" = "$new"
		printf '%s\n' "$orig" | in_ns "$CLIENT" tee "$f" >/dev/null
		check "control: $f is '$orig' again" test "$(in_ns "$CLIENT" cat "$f")" = "$orig"
		out=$(confined write "$f" "$new")
		echo "$out"
		expect confined "$out" "write:$f" EROFS
		check "$f is still '$orig'" test "$(in_ns "$CLIENT" cat "$f")" = "$orig"
		# Should the write have landed, put the value back all the same.
		printf '%s\n' "$orig" | in_ns "$CLIENT" tee "$f" >/dev/null
	done
	# disable_ipv6 took c1's IPv6 address with it in the control.
	addr "$CLIENT" c1 "$CLIENT2_V6/64"
	still_confined
	;;

user)
	# With User=, the process ends with no capability at all, so keeping
	# one makes no sense: the parser refuses it.
	keep="$TMPDIR_TEST/keep.policy"
	write_policy "$keep" "User=nobody" "KeepCapabilities=net_admin"
	l1=$(grep -n '^User=nobody$' "$keep" | cut -d: -f1)
	l2=$(grep -n '^KeepCapabilities=net_admin$' "$keep" | cut -d: -f1)
	out=$("$CONFINE" check "$keep" 2>&1)
	rc=$?
	echo "$out"
	check "check refuses KeepCapabilities= with User= (exit $rc, want 2)" test "$rc" -eq 2
	check "check names $keep:$l1 or :$l2" \
		grep -qF -e "$keep:$l1:" -e "$keep:$l2:" <<<"$out"

	write_policy "$POLICY" "User=nobody" "" "[Service]" "Name=other" \
		"Allow=tcp $SRV2_V4:8080"
	apply_policy
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	out=$(confined creds "udp:$SRV2_V4:514" "tcp:$SRV2_V4:601" \
		"udp:$SRV_V4:514" "tcp:$SRV_V4:601")
	echo "$out"
	check "User=nobody: uid, euid, suid are $uid" \
		test "$(creds_field "$out" uid)" = "$uid,$uid,$uid"
	check "User=nobody: gid, egid, sgid are $gid" \
		test "$(creds_field "$out" gid)" = "$gid,$gid,$gid"
	check "User=nobody: the supplementary groups are nobody's ($(id -G nobody))" \
		test "$(sorted_list "$(creds_field "$out" groups)")" = "$(sorted_list "$(id -G nobody)")"
	check_no_caps "$out" creds
	check_caps_gone "$out" creds
	check_cap_absent "$out" creds CapBnd 2 DAC_READ_SEARCH
	expect confined "$out" setuid-0 EPERM
	expect confined "$out" setresuid-0 EPERM
	expect confined "$out" setgid-0 EPERM
	expect confined "$out" setgroups-0 EPERM
	expect confined "$out" "udp:$SRV2_V4:514" "${REFUSED[@]}"
	expect confined "$out" "tcp:$SRV2_V4:601" "${REFUSED[@]}"
	expect confined "$out" "udp:$SRV_V4:514" OK
	expect confined "$out" "tcp:$SRV_V4:601" OK
	arrived "$SRV_LOG" "$TOK" "udp:$SRV_V4:514"
	arrived "$SRV_LOG" "$TOK" "tcp:$SRV_V4:601"
	nothing_reached "$TOK" "(udp|tcp):$SRV_V4:(514|601)"

	# User= and Group=: the group is Group='s; nothing of root's.
	ggid=$(getent group daemon | cut -d: -f3)
	write_policy "$POLICY" "User=nobody" "Group=daemon" "" "[Service]" \
		"Name=other" "Allow=tcp $SRV2_V4:8080"
	out=$(confined creds "udp:$SRV2_V4:514")
	echo "$out"
	check "User=nobody Group=daemon: uid, euid, suid are $uid" \
		test "$(creds_field "$out" uid)" = "$uid,$uid,$uid"
	check "User=nobody Group=daemon: gid, egid, sgid are $ggid" \
		test "$(creds_field "$out" gid)" = "$ggid,$ggid,$ggid"
	groups=$(creds_field "$out" groups)
	check "User=nobody Group=daemon: no supplementary group but nobody's and daemon's ($groups)" \
		subset_of "$groups" "$ggid $(id -G nobody)"
	check_no_caps "$out" creds
	expect confined "$out" setuid-0 EPERM
	expect confined "$out" setgid-0 EPERM
	expect confined "$out" "udp:$SRV2_V4:514" "${REFUSED[@]}"

	# Group= alone changes the group only.
	write_policy "$POLICY" "Group=daemon" "" "[Service]" "Name=other" \
		"Allow=tcp $SRV2_V4:8080"
	out=$(confined creds "udp:$SRV2_V4:514")
	echo "$out"
	check "Group=daemon alone: uid, euid, suid stay 0" \
		test "$(creds_field "$out" uid)" = "0,0,0"
	check "Group=daemon alone: gid, egid, sgid are $ggid" \
		test "$(creds_field "$out" gid)" = "$ggid,$ggid,$ggid"
	check_caps_gone "$out" creds
	expect confined "$out" "udp:$SRV2_V4:514" "${REFUSED[@]}"

	# A user that does not exist: a failure at run time, nothing started.
	write_policy "$POLICY" "User=confine-no-such-user" "" "[Service]" \
		"Name=other" "Allow=tcp $SRV2_V4:8080"
	errf="$TMPDIR_TEST/run-nouser.err"
	out=$(run_holding "$errf" "$CONFINE" run --netns "$CLIENT" -p "$POLICY" \
		-s syslog -- "$ATTACKER" --token "$TOK" creds)
	rc=$?
	echo "$out"
	cat "$errf"
	check "an unknown user: confine run exits 1 (exit $rc)" test "$rc" -eq 1
	check "an unknown user: it says 'no user confine-no-such-user'" \
		grep -q "no user confine-no-such-user" "$errf"
	check "an unknown user: the program never ran" test -z "$out"

	write_policy "$POLICY" "User=nobody" "" "[Service]" "Name=other" \
		"Allow=tcp $SRV2_V4:8080"
	nothing_reached "$TOK" "(udp|tcp):$SRV_V4:(514|601)"
	still_confined
	;;

bind-device)
	# A third link from the client, c2, to a host that also holds the log
	# server's addresses and runs a sink on the log ports: whatever
	# leaves by c2 instead of c0 arrives there. IPv4 needs no route for
	# that (with the output interface given, the kernel assumes the
	# destination on-link); for IPv6 the client has a second, less
	# preferred route to the log server's prefix through c2.
	WRONG="$NS_PREFIX-wrong"
	add_netns "$WRONG" || skip "cannot create network namespace $WRONG"
	veth "$CLIENT" c2 "$WRONG" w0 || skip "cannot create the veth pair c2-w0"
	addr "$CLIENT" c2 10.99.2.2/24 fd00:99:2::2/64 &&
	addr "$WRONG" w0 "$SRV_V4/24" 10.99.2.1/24 "$SRV_V6/64" fd00:99:2::1/64 &&
	ip -n "$CLIENT" -6 route add fd00:99::/64 dev c2 metric 2048 ||
		skip "cannot configure c2 and w0"
	busywait 3000 v6_ready "$CLIENT" && busywait 3000 v6_ready "$WRONG" ||
		skip "IPv6 addresses stay tentative"
	WRONG_LOG="$TMPDIR_TEST/wrong-sink.log"
	start_sink "$WRONG" "$WRONG_LOG" udp:514 tcp:601
	log "wrong host $WRONG: $SRV_V4 $SRV_V6 on w0 (client c2), sink on udp 514, tcp 601"
	V4="udp:$SRV_V4:514"
	V6="udp:[$SRV_V6]:514"
	T4="tcp:$SRV_V4:601"

	# Controls, before apply (the log server's addresses are exclusive
	# afterwards): each way of choosing c2 really takes the packet to
	# the wrong host.
	for m in SO_BINDTODEVICE SO_BINDTOIFINDEX IP_UNICAST_IF io_uring-SO_BINDTODEVICE; do
		out=$(unconfined bind-device "$m" c2 "$V4")
		echo "control: $out"
		expect unconfined "$out" "set-$m:$V4" OK
		arrived "$WRONG_LOG" "$CTL" "after-$m:$V4"
	done
	out=$(unconfined bind-device SO_BINDTODEVICE c2 "$T4")
	echo "control: $out"
	expect unconfined "$out" "after-SO_BINDTODEVICE:$T4" OK
	arrived "$WRONG_LOG" "$CTL" "after-SO_BINDTODEVICE:$T4"
	for m in IPV6_UNICAST_IF bind-link-local; do
		out=$(unconfined bind-device "$m" c2 "$V6")
		echo "control: $out"
		expect unconfined "$out" "set-$m:$V6" OK
		arrived "$WRONG_LOG" "$CTL" "after-$m:udp:\\[$SRV_V6\\]:514"
	done
	out=$(unconfined bind-device PKTINFO-cmsg c2 "$V4" "$V6")
	echo "control: $out"
	expect unconfined "$out" "sendmsg-PKTINFO-cmsg:$V4" OK
	arrived "$WRONG_LOG" "$CTL" "sendmsg-PKTINFO-cmsg:$V4"
	expect unconfined "$out" "sendmsg-PKTINFO-cmsg:$V6" OK
	arrived "$WRONG_LOG" "$CTL" "sendmsg-PKTINFO-cmsg:udp:\\[$SRV_V6\\]:514"

	apply_policy
	for m in SO_BINDTODEVICE SO_BINDTOIFINDEX; do
		out=$(confined bind-device "$m" c2 "$V4" "$T4" "$V6")
		echo "$out"
		expect_not_out "$out" "$m" "$V4"
		expect_not_out "$out" "$m" "$T4"
		expect_not_out "$out" "$m" "$V6"
	done
	out=$(confined bind-device IP_UNICAST_IF c2 "$V4" "$T4")
	echo "$out"
	expect_not_out "$out" IP_UNICAST_IF "$V4"
	expect_not_out "$out" IP_UNICAST_IF "$T4"
	# The multicast interface matters to datagrams only (TCP: EINVAL).
	out=$(confined bind-device IP_MULTICAST_IF c2 "$V4")
	echo "$out"
	expect_not_out "$out" IP_MULTICAST_IF "$V4"
	for m in IPV6_UNICAST_IF IPV6_MULTICAST_IF IPV6_PKTINFO bind-link-local; do
		out=$(confined bind-device "$m" c2 "$V6")
		echo "$out"
		expect_not_out "$out" "$m" "$V6"
	done
	# Per packet, in a control message: no system call argument shows it.
	out=$(confined bind-device PKTINFO-cmsg c2 "$V4" "$V6")
	echo "$out"
	expect confined "$out" "sendmsg-PKTINFO-cmsg:$V4" EPERM
	expect confined "$out" "sendmsg-PKTINFO-cmsg:$V6" EPERM
	# Through io_uring (IORING_OP_URING_CMD, SOCKET_URING_OP_SETSOCKOPT).
	out=$(confined bind-device io_uring-SO_BINDTODEVICE c2 "$V4" "$T4")
	echo "$out"
	expect confined "$out" io_uring_setup OK
	expect_not_out "$out" io_uring-SO_BINDTODEVICE "$V4"
	expect_not_out "$out" io_uring-SO_BINDTODEVICE "$T4"
	# By the policy's route, the log server is still there.
	out=$(confined send "$V4" "$T4" "$V6")
	echo "$out"
	expect confined "$out" "$V4" OK
	expect confined "$out" "$T4" OK
	expect confined "$out" "$V6" OK
	arrived "$SRV_LOG" "$TOK" "$V4"
	arrived "$SRV_LOG" "$TOK" "$T4"
	check "barrier: the wrong host has handled everything sent so far" \
		sink_barrier "$WRONG" "$WRONG_LOG" udp:514 tcp:601
	check_absent "the wrong host (c2)" "$WRONG_LOG" "$TOK"
	nothing_reached "$TOK" "(udp|tcp):(\\[$SRV_V6\\]|$SRV_V4):(514|601)"
	still_confined
	;;

inherited-socket)
	apply_policy
	# Control: a UDP socket opened before the program started, here by
	# bash, reaches the second server, which no Allow= lists.
	out=$(in_client_bash 'exec 3<>"/dev/udp/$1/514"; exec "$2" --token "$3" send-fd 3' \
		"$SRV2_V4" "$ATTACKER" "$CTL")
	echo "control: $out"
	expect unconfined "$out" send-fd-3 OK
	arrived "$SRV2_SINK_LOG" "$CTL" send-fd-3

	# The instance of the issue: the same socket held by `confine run`.
	errf="$TMPDIR_TEST/run-udp.err"
	out=$(run_holding "$errf" nsenter --net="/run/netns/$CLIENT" bash -c \
		'exec 3<>"/dev/udp/$1/514"; exec "$2" run --netns "$3" -p "$4" -s syslog -- "$5" --token "$6" send-fd 3' \
		bash "$SRV2_V4" "$CONFINE" "$CLIENT" "$POLICY" "$ATTACKER" "$TOK")
	rc=$?
	echo "$out"
	refused_to_start "an inherited UDP socket (3<>/dev/udp)" "$out" "$errf" "$rc" 3
	check "it says what fd 3 is: an inet socket" grep -qi "inet socket" "$errf"

	# IPv6, on fd 4.
	errf="$TMPDIR_TEST/run-udp6.err"
	out=$(run_holding "$errf" "$ATTACKER" with-fd --netns "/run/netns/$CLIENT" \
		"udp:[$SRV2_V6]:514" 4 "$CONFINE" run --netns "$CLIENT" -p "$POLICY" \
		-s syslog -- "$ATTACKER" --token "$TOK" send-fd 4)
	rc=$?
	echo "$out"
	refused_to_start "an inherited IPv6 UDP socket" "$out" "$errf" "$rc" 4

	# A netlink socket opened by root outside keeps its opener's
	# credentials.
	errf="$TMPDIR_TEST/run-netlink.err"
	out=$(run_holding "$errf" "$ATTACKER" with-fd --netns "/run/netns/$CLIENT" \
		netlink-route 3 "$CONFINE" run --netns "$CLIENT" -p "$POLICY" \
		-s syslog -- "$ATTACKER" --token "$TOK" send-fd 3 "$MARK" "$MASK" "$TABLE")
	rc=$?
	echo "$out"
	refused_to_start "an inherited NETLINK_ROUTE socket" "$out" "$errf" "$rc" 3
	check "the ip rule fwmark $MARK/$MASK lookup $TABLE is still there" rule_present

	# A TCP connection on standard input: descriptors 0-2 count too.
	errf="$TMPDIR_TEST/run-tcp0.err"
	out=$(run_holding "$errf" nsenter --net="/run/netns/$CLIENT" bash -c \
		'exec 0<>"/dev/tcp/$1/601"; exec "$2" run --netns "$3" -p "$4" -s syslog -- "$5" --token "$6" send-fd 0' \
		bash "$SRV2_V4" "$CONFINE" "$CLIENT" "$POLICY" "$ATTACKER" "$TOK")
	rc=$?
	echo "$out"
	refused_to_start "a TCP socket on standard input" "$out" "$errf" "$rc" 0

	# A listening TCP socket, as systemd's socket activation passes one,
	# is no better: connect(2) to an AF_UNSPEC address ends the
	# listening, and the same socket then connects anywhere, still as
	# its maker's. The control shows it.
	out=$(timeout 60 "$ATTACKER" with-fd --netns "/run/netns/$CLIENT" \
		"tcp-listen:$CLIENT2_V4:7777" 3 "$ATTACKER" --token "$CTL" \
		send-fd 3 "tcp:$SRV2_V4:601" 2>>"$TMPDIR_TEST/unconfined.err")
	echo "control: $out"
	expect unconfined "$out" "listening-fd-3-reconnect:tcp:$SRV2_V4:601" OK
	arrived "$SRV2_SINK_LOG" "$CTL" "listening-fd-3-reconnect:tcp:$SRV2_V4:601"
	errf="$TMPDIR_TEST/run-listen.err"
	out=$(run_holding "$errf" "$ATTACKER" with-fd --netns "/run/netns/$CLIENT" \
		"tcp-listen:$CLIENT2_V4:7778" 3 "$CONFINE" run --netns "$CLIENT" \
		-p "$POLICY" -s syslog -- "$ATTACKER" --token "$TOK" send-fd 3 \
		"tcp:$SRV2_V4:601")
	rc=$?
	echo "$out"
	refused_to_start "an inherited listening TCP socket" "$out" "$errf" "$rc" 3
	check "it says fd 3 is a listening socket" grep -qi "listening" "$errf"
	nothing_reached "$TOK"
	still_confined
	;;

*)
	echo "attack.sh: no attack named '$ATTACK'" >&2
	exit 2
	;;
esac

finish
