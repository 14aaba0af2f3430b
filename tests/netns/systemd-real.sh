#!/bin/bash
# Debian's own rsyslog.service and chrony.service under confine, run by a
# real systemd: systemd 252 boots as PID 1 in systemd-nspawn, in the
# client namespace of lib.sh's topology, from a Debian root file system
# built once (tests/helpers/systemd-rootfs.sh). confine is bind-mounted
# from the build tree.
#
#	systemd-real.sh unified|hybrid
#
# unified: the container gets a pure cgroup2 tree; hybrid: cgroup2 at
# /sys/fs/cgroup/unified beside the v1 hierarchies, as on this host.
#
# rsyslog with the shipped drop-in: MainPID is rsyslogd, in the leaf; its
# messages reach the log server, an unconfined `logger -n` does not;
# restart maps a new leaf and forgets the old; a crash comes back
# confined; stop leaves nothing; a bad policy fails the unit with
# confine's FILE:LINE reason in `journalctl -u`. Then `confine wrap` on
# rsyslog and on chrony (Type=forking), whose chronyd reaches the NTP
# server its policy allows and not the other one; `confine unwrap`.
#
# nspawn runs with --keep-unit --register=no (no systemd on the host), in
# a cgroup of the test's subtree, with CAP_NET_ADMIN (nspawn drops it
# unless it makes the network itself) and the system calls confine's
# lock-in needs allowed: the container is a test fixture, not a boundary.

. "$(dirname "$0")/lib.sh"

LAYOUT=${1:-unified}
case $LAYOUT in
unified | hybrid) ;;
*)
	echo "usage: $0 unified|hybrid" >&2
	exit 2
	;;
esac
TEST_NAME="$TEST_NAME-$LAYOUT"

require_all
trap cleanup_container EXIT
require_cmds systemd-nspawn debootstrap nsenter flock bpftool
if [ "$LAYOUT" = hybrid ] && [ "$CGROUP2" = /sys/fs/cgroup ]; then
	skip "the host has a pure cgroup2 tree, so nspawn cannot give the container the hybrid layout"
fi
log "building or reusing the root file system (debootstrap, once)"
ROOTFS=$(bash "$HELPERS_DIR/systemd-rootfs.sh" \
	"${CONFINE_TEST_CACHE:-/var/cache/confine-test}") ||
	skip "cannot build the Debian root file system for the container"

setup_topology
start_log_server

NTP_OK=$SRV2_V4   # the NTP server chrony's policy allows
NTP_NO=10.99.1.3  # one it does not (the same chronyd, another address)
LEADER=""         # the container's PID 1, as the host sees it

# ---------------------------------------------------------------- the container

# ctr CMD...: CMD inside the container (all its namespaces).
ctr() {
	nsenter -t "$LEADER" -a -- "$@"
}

# ctr_root: the container's root directory, from the host.
ctr_root() {
	echo "/proc/$LEADER/root"
}

leader_found() {
	LEADER=$(ps --ppid "$NSPAWN_PID" -o pid= 2>/dev/null | tr -d ' ' | head -n 1)
	[ -n "$LEADER" ] && [ "$(cat "/proc/$LEADER/comm" 2>/dev/null)" = systemd ]
}

boot_container() {
	local cg="$CG_TEST/nspawn" unified state
	mkdir "$cg" || skip "cannot create $cg"
	[ "$LAYOUT" = unified ] && unified=1
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 99
		if [ -n "${unified:-}" ]; then
			export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
		else
			unset SYSTEMD_NSPAWN_UNIFIED_HIERARCHY
		fi
		exec systemd-nspawn --quiet --boot --directory="$ROOTFS" \
			--volatile=overlay --keep-unit --register=no \
			--machine="cft$$" \
			--network-namespace-path="/run/netns/$CLIENT" \
			--capability=CAP_NET_ADMIN \
			--system-call-filter='bpf landlock_create_ruleset landlock_add_rule landlock_restrict_self open_by_handle_at' \
			--bind-ro="$CONFINE:/usr/local/sbin/confine" \
			</dev/null >"$TMPDIR_TEST/console.log" 2>&1
	) &
	NSPAWN_PID=$!
	TEST_PIDS+=("$NSPAWN_PID")
	busywait 20000 leader_found ||
		skip "systemd-nspawn did not start systemd (see $TMPDIR_TEST/console.log)"
	# systemctl needs PID 1's private socket, which comes a moment later.
	busywait 20000 ctr test -S /run/systemd/private ||
		skip "the container's systemd did not come up (see $TMPDIR_TEST/console.log)"
	state=$(timeout 60 nsenter -t "$LEADER" -a -- systemctl is-system-running --wait)
	log "container booted: PID 1 is host pid $LEADER, state '$state'"
	case $state in
	running | degraded) ;;
	*) skip "the container's systemd did not finish booting (state '$state')" ;;
	esac
	[ "$state" = running ] || ctr systemctl --failed --no-pager
}

nspawn_gone() {
	! kill -0 "$NSPAWN_PID" 2>/dev/null
}

# Powers the container off and waits for nspawn. If it does not finish,
# cgroup.kill ends every process of the container at once.
poweroff_container() {
	ctr systemctl poweroff --no-block >/dev/null 2>&1
	busywait 20000 nspawn_gone && return 0
	log "the container did not power off within 20 s; killing its cgroup"
	echo 1 >"$CG_TEST/nspawn/cgroup.kill"
	busywait 5000 nspawn_gone
}

# Before lib.sh's cleanup, which would kill the container's processes one
# by one: power it off.
cleanup_container() {
	local rc=$?
	[ -n "${NSPAWN_PID:-}" ] && ! nspawn_gone && poweroff_container
	(exit $rc)
	cleanup
}

# The container's cgroup2 mount: where `confine run` finds it too.
ctr_cgroup2() {
	ctr awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
}

# unit_prop UNIT PROP: one property, by `systemctl show`.
unit_prop() {
	ctr systemctl show -p "$2" --value "$1"
}

# main_cgroup UNIT: the cgroup of the unit's MainPID, as it sees it.
main_cgroup() {
	local pid
	pid=$(unit_prop "$1" MainPID)
	[ "${pid:-0}" -gt 0 ] || return 1
	ctr sed -n 's/^0:://p' "/proc/$pid/cgroup"
}

# ids SERVICE: "PATH=ID" of each cgroup confine maps for SERVICE, by
# `confine status --json` in the container.
mapped_ids() {
	ctr confine status --json 2>/dev/null |
		"$PYTHON" "$HELPERS_DIR/status-field.py" "$1" \
			"' '.join('%s=%s' % (c['path'], c['id']) for c in s['cgroups'])"
}

# leaf_id UNIT SERVICE: the id (inode) of <unit cgroup>/confine-SERVICE.
leaf_id() {
	ctr stat -c %i "$CTR_CG2/system.slice/$1/confine-$2" 2>/dev/null
}

is_active() {
	[ "$(unit_prop "$1" ActiveState)" = active ]
}

# new_main_pid UNIT OLD: the unit is active with a main PID other than OLD.
new_main_pid() {
	local pid
	is_active "$1" || return 1
	pid=$(unit_prop "$1" MainPID)
	[ "${pid:-0}" -gt 0 ] && [ "$pid" != "$2" ]
}

# check_confined UNIT SERVICE PROG: the unit runs PROG as its main
# process, in the leaf, and confine status says the service is in force
# for the leaf's cgroup id.
check_confined() {
	local unit=$1 svc=$2 prog=$3 pid comm cg id ids
	pid=$(unit_prop "$unit" MainPID)
	comm=$(ctr cat "/proc/$pid/comm" 2>/dev/null)
	check "$unit: MainPID $pid is $prog (saw '$comm')" test "$comm" = "$prog"
	cg=$(main_cgroup "$unit")
	check "$unit: $prog runs in /system.slice/$unit/confine-$svc (saw '$cg')" \
		test "$cg" = "/system.slice/$unit/confine-$svc"
	id=$(leaf_id "$unit" "$svc")
	ids=$(mapped_ids "$svc")
	check "$unit: confine maps the leaf's cgroup id ${id:-?} for $svc (mapped: $ids)" \
		id_mapped "$svc" "${id:-none}"
	check "$unit: confine status says $svc is in force" \
		test "$(ctr confine status --json 2>/dev/null |
			"$PYTHON" "$HELPERS_DIR/status-field.py" "$svc" "s['in_force']")" = true
}

# journal_has UNIT REGEX: a line of `journalctl -u UNIT` matches.
journal_has() {
	ctr journalctl -u "$1" --no-pager -o cat | grep -q -- "$2"
}

# start_ntp_server NS NAME: chronyd of the container's root file system,
# serving time on udp 123 in NS; chroot'd, with a /run of its own so the
# shared root stays untouched, and never setting the clock (-x).
start_ntp_server() {
	# shellcheck disable=SC2016 # expanded by that sh
	in_ns "$1" unshare -m sh -c 'mount -t tmpfs tmpfs "$0/run" &&
		exec chroot "$0" /usr/sbin/chronyd -d -x "local stratum 8" \
			allow "cmdport 0" "pidfile /run/chronyd.pid"' "$ROOTFS" \
		>"$TMPDIR_TEST/$2.log" 2>&1 &
	TEST_PIDS+=($!)
	busywait 5000 listening "$1" udp 123 ||
		skip "the NTP server $2 does not listen (see $TMPDIR_TEST/$2.log)"
}

# reach ADDRESS: the container's chronyd's reach register for the source
# (octal), from `chronyc -c sources`: MODE,STATE,ADDRESS,STRATUM,POLL,REACH,...
reach() {
	ctr chronyc -n -c sources 2>/dev/null | awk -F, -v a="$1" '$3 == a { print $6 }'
}

reach_is() {
	[ "$(reach "$1")" = "$2" ]
}

reached() {
	local r
	r=$(reach "$1")
	[ -n "$r" ] && [ "$r" != 0 ]
}

# id_mapped_as SERVICE PATH ID
id_mapped_as() {
	mapped_ids "$1" | tr ' ' '\n' | grep -qx -- "$2=$3"
}

# id_mapped SERVICE ID
id_mapped() {
	mapped_ids "$1" | tr ' ' '\n' | grep -q "=$2\$"
}

boot_container
CTR_CG2=$(ctr_cgroup2)
if [ "$LAYOUT" = unified ]; then
	check "the container has a pure cgroup2 tree (cgroup2 at ${CTR_CG2:-nothing})" \
		test "$CTR_CG2" = /sys/fs/cgroup
else
	check "the container has the hybrid layout (cgroup2 at ${CTR_CG2:-nothing})" \
		test "$CTR_CG2" = /sys/fs/cgroup/unified
fi

# ---------------------------------------------------------------- rsyslog, the shipped drop-in

root=$(ctr_root)
mkdir -p "$root/etc/confine" "$root/etc/systemd/system/rsyslog.service.d"
syslog_policy confine "$SRV_V4" "$SRV_V6" >"$root/etc/confine/syslog.policy"
# Debian's rsyslog.conf, plus forwarding of everything to the log server.
cat >"$root/etc/rsyslog.d/50-forward.conf" <<EOF
*.* action(type="omfwd" target="$SRV_V4" port="601" protocol="tcp" action.resumeInterval="1" action.resumeRetryCount="-1" queue.type="LinkedList")
EOF
cp "$TESTS_DIR/../examples/systemd/rsyslog.service.d/confine.conf" \
	"$root/etc/systemd/system/rsyslog.service.d/confine.conf"
ctr systemctl daemon-reload
ctr systemctl restart rsyslog.service
rc=$?
check "systemctl restart rsyslog with the shipped drop-in succeeds (exit $rc)" test "$rc" -eq 0
if [ "$rc" -ne 0 ]; then
	ctr journalctl -u rsyslog.service --no-pager | tail -n 20
fi
check_confined rsyslog.service syslog rsyslogd

# A message from the container's journal, forwarded by rsyslogd.
tok="journal-$$-$RANDOM$RANDOM"
ctr logger -t ctest "$tok"
check "a message logged in the container reaches the log server through the confined rsyslogd" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imtcp .*$tok" 10000

# An unconfined process of the container (a transient unit of its own).
tok="unconfined-$$-$RANDOM$RANDOM"
out=$(ctr systemd-run --quiet --wait --pipe logger -T -n "$SRV_V4" -P 601 -t unconf "$tok" 2>&1)
rc=$?
log "unconfined logger -n: exit $rc: $out"
check "an unconfined 'logger -T -n $SRV_V4 -P 601' in the container fails (exit $rc)" \
	test "$rc" -ne 0
log_server_barrier || fail "the log server's barrier did not arrive"
# (systemd's own "Started run-..." line names the token too: look for
# the message that logger would have sent, tagged unconf.)
check_absent "unconfined logger -n" "$SRV_LOG" "unconf: $tok"

# Restart: a new leaf, mapped; the old one forgotten.
old_id=$(leaf_id rsyslog.service syslog)
old_pid=$(unit_prop rsyslog.service MainPID)
ctr systemctl restart rsyslog.service
check "systemctl restart rsyslog succeeds" busywait 10000 new_main_pid rsyslog.service "$old_pid"
new_id=$(leaf_id rsyslog.service syslog)
check "restart: the leaf is a new cgroup (id ${old_id:-?} -> ${new_id:-?})" \
	test -n "$new_id" -a "$new_id" != "$old_id"
check_confined rsyslog.service syslog rsyslogd
check_not "restart: the old leaf's id $old_id is no longer mapped (mapped: $(mapped_ids syslog))" \
	id_mapped syslog "$old_id"

# A crash: Debian's unit has Restart=on-failure; it comes back confined.
old_pid=$(unit_prop rsyslog.service MainPID)
old_id=$(leaf_id rsyslog.service syslog)
ctr kill -KILL "$old_pid"
check "after SIGKILL of rsyslogd ($old_pid), systemd restarts it" \
	busywait 15000 new_main_pid rsyslog.service "$old_pid"
check_confined rsyslog.service syslog rsyslogd
check_not "crash: the crashed leaf's id $old_id is no longer mapped" \
	id_mapped syslog "$old_id"
tok="after-crash-$$-$RANDOM$RANDOM"
ctr logger -t ctest "$tok"
check "after the crash, messages reach the log server again" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imtcp .*$tok" 10000

# Stop (with its socket, which would start it again): nothing is left.
old_id=$(leaf_id rsyslog.service syslog)
ctr systemctl stop syslog.socket rsyslog.service
check_not "stop: no leaf cgroup is left" \
	ctr test -d "$CTR_CG2/system.slice/rsyslog.service/confine-syslog"
# Nothing runs confine when the unit stops (ExecStopPost= would run while
# the empty leaf still exists), so the gone leaf's id stays in the map,
# where it matches nothing, since cgroup ids are never reused; status
# shows it without a path. The next start of the unit, or `confine
# apply`, drops it.
check "stop: the gone leaf's id $old_id is listed without a path (mapped: $(mapped_ids syslog))" \
	id_mapped_as syslog None "$old_id"
ctr confine apply /etc/confine/syslog.policy
check_not "stop: after confine apply, the gone leaf's id $old_id is no longer mapped (mapped: $(mapped_ids syslog))" \
	id_mapped syslog "$old_id"

# A bad policy: the unit fails, and the journal says why, at FILE:LINE.
syslog_policy confine "$SRV_V4" "$SRV_V6" "Allow=tcp $SRV_V4:70000" \
	>"$root/etc/confine/bad.policy"
bad_line=$(grep -n ':70000' "$root/etc/confine/bad.policy" | cut -d: -f1)
sed -i 's|/etc/confine/syslog.policy|/etc/confine/bad.policy|' \
	"$root/etc/systemd/system/rsyslog.service.d/confine.conf"
ctr systemctl daemon-reload
ctr systemctl start rsyslog.service
rc=$?
check "a drop-in naming a bad policy: systemctl start rsyslog fails (exit $rc)" test "$rc" -ne 0
check_not "a drop-in naming a bad policy: rsyslogd does not run" is_active rsyslog.service
# journald reads confine's stderr stream a moment after the unit failed.
check "journalctl -u rsyslog shows confine's reason at /etc/confine/bad.policy:$bad_line" \
	busywait 10000 journal_has rsyslog.service "^/etc/confine/bad.policy:$bad_line: "
ctr journalctl -u rsyslog.service --no-pager -o cat | grep -m 1 bad.policy
ctr systemctl stop syslog.socket rsyslog.service
ctr systemctl reset-failed rsyslog.service

# ---------------------------------------------------------------- confine wrap

ctr confine unwrap rsyslog.service
check_not "confine unwrap rsyslog removes the drop-in" \
	test -e "$root/etc/systemd/system/rsyslog.service.d/confine.conf"
check "after unwrap, systemd runs Debian's own command again" \
	grep -q 'argv\[\]=/usr/sbin/rsyslogd -n -iNONE ;' \
	<<<"$(unit_prop rsyslog.service ExecStartEx)"

dry=$(ctr confine wrap rsyslog -p /etc/confine/syslog.policy --dry-run)
echo "$dry"
check "wrap --dry-run prints the drop-in with rsyslog's own command after confine run" \
	grep -qx 'ExecStart=/usr/local/sbin/confine run -p /etc/confine/syslog.policy -- /usr/sbin/rsyslogd -n -iNONE' <<<"$dry"
check_not "wrap --dry-run writes nothing" \
	test -e "$root/etc/systemd/system/rsyslog.service.d/confine.conf"

out=$(ctr confine wrap rsyslog -p /etc/confine/syslog.policy 2>&1)
rc=$?
echo "$out"
check "confine wrap rsyslog succeeds (exit $rc)" test "$rc" -eq 0
check "the written drop-in is what --dry-run printed" \
	test "$(cat "$root/etc/systemd/system/rsyslog.service.d/confine.conf")" = "$dry"
ctr systemctl start rsyslog.service
check "the wrapped rsyslog starts" busywait 10000 is_active rsyslog.service
check_confined rsyslog.service syslog rsyslogd
tok="wrapped-$$-$RANDOM$RANDOM"
ctr logger -t ctest "$tok"
check "wrapped rsyslog: messages reach the log server" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imtcp .*$tok" 10000

# systemd's IPAddressDeny=/IPAddressAllow= (cgroup BPF on the unit's
# cgroup) reach the daemon in the leaf below it too: both filters apply.
mkdir -p "$root/etc/systemd/system/rsyslog.service.d"
printf '[Service]\nIPAddressDeny=any\n' \
	>"$root/etc/systemd/system/rsyslog.service.d/ipaddress.conf"
ctr systemctl daemon-reload
ctr systemctl restart rsyslog.service
check "rsyslog restarts with IPAddressDeny=any" busywait 10000 is_active rsyslog.service
check_confined rsyslog.service syslog rsyslogd
tok="ipdeny-$$-$RANDOM$RANDOM"
ctr logger -t ctest "$tok"
# rsyslogd retries every second; a few seconds without the line, then the
# allow below must make it arrive (the queue keeps it).
log_server_barrier || fail "the log server's barrier did not arrive"
check_absent "IPAddressDeny=any stops the confined rsyslogd's message" "$SRV_LOG" "$tok"
leaf=$(find "$CG_TEST/nspawn" -type d -path '*/system.slice/rsyslog.service/confine-syslog' | head -n 1)
effective=$(bpftool cgroup show "$leaf" effective 2>&1)
echo "$effective"
check "the leaf's effective BPF programs include systemd's egress filter ($leaf)" \
	grep -q "cgroup_inet_egress *sd_fw_egress" <<<"$effective"
printf '[Service]\nIPAddressDeny=any\nIPAddressAllow=%s\n' "$SRV_V4" \
	>"$root/etc/systemd/system/rsyslog.service.d/ipaddress.conf"
ctr systemctl daemon-reload
ctr systemctl restart rsyslog.service
check "rsyslog restarts with IPAddressAllow=$SRV_V4" busywait 10000 is_active rsyslog.service
tok="ipallow-$$-$RANDOM$RANDOM"
ctr logger -t ctest "$tok"
check "with IPAddressAllow=$SRV_V4 too, the message arrives" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imtcp .*$tok" 10000
rm "$root/etc/systemd/system/rsyslog.service.d/ipaddress.conf"
ctr systemctl daemon-reload

out=$(ctr confine wrap rsyslog -p /etc/confine/syslog.policy 2>&1)
rc=$?
check "wrapping a wrapped unit again is refused (exit $rc: $out)" \
	test "$rc" -ne 0 -a -n "$out"

# ---------------------------------------------------------------- the EPERM hint

# Inside the container everything runs under nspawn's seccomp filter
# (Seccomp: 2); the hint must still tell a missing capability from a
# system call that the filter refuses.
out=$(ctr systemd-run --quiet --wait --pipe -p CapabilityBoundingSet=~CAP_NET_ADMIN \
	confine status 2>&1)
echo "$out"
check "without CAP_NET_ADMIN (under a seccomp filter too), the hint names the capability" \
	grep -q "lacks CAP_NET_ADMIN" <<<"$out"
out=$(ctr systemd-run --quiet --wait --pipe -p SystemCallFilter=~socket \
	-p SystemCallErrorNumber=EPERM confine status 2>&1)
echo "$out"
check "with socket(2) refused by a seccomp filter, the hint names the filter" \
	grep -q "a seccomp filter refuses this" <<<"$out"

# ---------------------------------------------------------------- chrony, wrapped

# An NTP server at two addresses: chronyd of the root file system in
# server mode, in the second server's namespace. chrony's policy allows
# only the first address. (Not the log server: syslog's policy holds its
# address exclusively, so no other process could reach it at all.)
ip -n "$SRV2" addr add "$NTP_NO/24" dev s1 || fail "cannot add $NTP_NO to s1"
start_ntp_server "$SRV2" ntp-server

# Debian's chrony.service, unchanged but for two things a container
# needs: without CAP_SYS_TIME its condition fails, and chronyd must not
# set the clock (-x), which it shares with the host.
mkdir -p "$root/etc/systemd/system/chrony.service.d"
printf '[Unit]\nConditionCapability=\n' \
	>"$root/etc/systemd/system/chrony.service.d/container.conf"
echo 'DAEMON_OPTS="-F 1 -x"' >"$root/etc/default/chrony"
cat >"$root/etc/chrony/chrony.conf" <<EOF
server $NTP_OK iburst minpoll -4 maxpoll -4
server $NTP_NO iburst minpoll -4 maxpoll -4
EOF
cat >"$root/etc/confine/ntp.policy" <<EOF
[Confine]
CgroupParent=confine

[Service]
Name=ntp
Allow=udp $NTP_OK:123
EOF
ctr systemctl daemon-reload

# Both servers answer an unconfined chronyd -Q from the container.
for srv in "$NTP_OK" "$NTP_NO"; do
	out=$(ctr timeout 30 chronyd -Q -t 20 "server $srv iburst maxsamples 1" \
		"pidfile /run/chronyd-q-$srv.pid" "cmdport 0" 2>&1)
	check "an unconfined chronyd -Q from the container gets time from $srv ($(grep -m 1 "wrong by" <<<"$out" || echo "$out" | tr "\n" "|"))" \
		grep -q "System clock wrong by" <<<"$out"
done

dry=$(ctr confine wrap chrony -p /etc/confine/ntp.policy --dry-run)
echo "$dry"
# shellcheck disable=SC2016 # $DAEMON_OPTS is systemd's to expand
check "wrap chrony keeps the ! prefix and \$DAEMON_OPTS" \
	grep -qx 'ExecStart=!/usr/local/sbin/confine run -p /etc/confine/ntp.policy -- /usr/sbin/chronyd $DAEMON_OPTS' <<<"$dry"
check "wrap chrony lifts ProtectControlGroups=yes" grep -qx 'ProtectControlGroups=no' <<<"$dry"
out=$(ctr confine wrap chrony -p /etc/confine/ntp.policy 2>&1)
rc=$?
check "confine wrap chrony succeeds (exit $rc: $out)" test "$rc" -eq 0
ctr systemctl restart chrony.service
rc=$?
check "the wrapped chrony (Type=forking) starts (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || ctr journalctl -u chrony.service --no-pager -o cat | tail -n 15
check_confined chrony.service ntp chronyd

check "the confined chronyd reaches $NTP_OK, which its policy allows" \
	busywait 20000 reached "$NTP_OK"
# A few more polls of both servers, 1/16 s apart: the last 8 all answered.
busywait 10000 reach_is "$NTP_OK" 377
check "the confined chronyd never reaches $NTP_NO (reach, octal: $NTP_OK $(reach "$NTP_OK"), $NTP_NO $(reach "$NTP_NO"))" \
	reach_is "$NTP_NO" 0
refused=$(ctr confine status --json 2>/dev/null |
	"$PYTHON" "$HELPERS_DIR/status-field.py" ntp "s['packets']['refused']")
check "confine status counts the ntp service's refused packets (saw '$refused')" \
	test "${refused:-0}" -gt 0

out=$(ctr confine unwrap chrony 2>&1)
rc=$?
check "confine unwrap chrony succeeds (exit $rc: $out)" test "$rc" -eq 0
ctr systemctl restart chrony.service
check "after unwrap and restart, chronyd runs in the unit's own cgroup (saw '$(main_cgroup chrony.service)')" \
	test "$(main_cgroup chrony.service)" = /system.slice/chrony.service

finish
