#!/usr/bin/env bash
# confine doctor: every check is found in a namespace set up to trigger it
# and not found in one set up not to, read from `doctor --json`.
#
#   GOOD  hardened sysctls, routes to every allowed destination, others'
#         marks clear of MarkMask (fwmark 0x4000/0x4000, meta mark | 0x4000)
#   BAD   the classic recipe's sysctls undone, forwarding on, strict
#         rp_filter on the interface a Route= sends by, no route to one
#         Allow=, WireGuard's fwmark 0xca6c rule and a meta mark set 0xca6c
#
# Host-wide checks are set up around the process instead: nftables.service
# through CONFINE_DOCTOR_ROOT, the cgroup2 mount through a mountinfo bound
# over /proc/PID/mountinfo in a private mount namespace, and missing kernel
# features through a seccomp filter that fails their system calls
# (tests/helpers/seccomp-deny.py). Nothing outside the test's namespaces is
# changed; doctor always runs with --netns, so its probe table is made there.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_cmds ip nft "$PYTHON" unshare mount
require_confine
trap cleanup EXIT
TMPDIR_TEST=$(mktemp -d "/tmp/confine-$TEST_NAME.XXXXXX")
write_helpers

GOOD="$NS_PREFIX-good"
BAD="$NS_PREFIX-bad"

# net NS: two links, d0 (10.99.0.2/24, the log server's) and d1, each a
# veth whose peer (d0p, d1p) stays in NS too.
net() {
	local d
	add_netns "$1" || skip "cannot create network namespace $1"
	for d in d0 d1; do
		ip -n "$1" link add "$d" type veth peer name "${d}p" &&
			ip -n "$1" link set "$d" up &&
			ip -n "$1" link set "${d}p" up ||
			skip "cannot add veth $d in $1"
	done
	addr "$1" d0 10.99.0.2/24 fd00:99::2/64 && addr "$1" d1 10.99.1.2/24 ||
		skip "cannot configure addresses in $1"
}

# knobs NS VALUE...: net.ipv4.conf.{all,default,d0,d1}.KNOB=VALUE for each
# KNOB=VALUE.
knobs() {
	local ns=$1 kv ifc
	shift
	for kv in "$@"; do
		for ifc in all default d0 d1 d0p d1p; do
			in_ns "$ns" sysctl -qw "net.ipv4.conf.$ifc.${kv%%=*}=${kv#*=}" ||
				skip "cannot set ${kv%%=*} in $ns"
		done
	done
}

net "$GOOD"
net "$BAD"
knobs "$GOOD" accept_source_route=0 accept_redirects=0 send_redirects=0 \
	rp_filter=2 log_martians=1
in_ns "$GOOD" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
# Turning ip_forward on sets all.accept_redirects to 0: first.
in_ns "$BAD" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.src_valid_mark=0
knobs "$BAD" accept_source_route=1 accept_redirects=1 send_redirects=1 \
	rp_filter=0 log_martians=0
# Strict on d1 alone, the interface the Route= below sends by.
in_ns "$BAD" sysctl -qw net.ipv4.conf.d1.rp_filter=1
# Every allowed destination has a route in GOOD; 10.77.0.1 none in BAD.
ip -n "$GOOD" route add 10.77.0.0/24 dev d0
# Others' marks: clear of 0xff000000 in GOOD, over it in BAD.
ip -n "$GOOD" rule add fwmark 0x4000/0x4000 lookup 100
ip -n "$BAD" rule add fwmark 0xca6c lookup 51820
in_ns "$GOOD" nft add table ip kube &&
	in_ns "$GOOD" nft add chain ip kube out '{ type route hook output priority 0; }' &&
	in_ns "$GOOD" nft add rule ip kube out meta mark set meta mark or 0x4000 &&
	in_ns "$BAD" nft add table ip wg &&
	in_ns "$BAD" nft add chain ip wg out '{ type route hook output priority 0; }' &&
	in_ns "$BAD" nft add rule ip wg out meta mark set 0xca6c ||
	skip "cannot add the other tools' nf_tables rules"

# The syslog policy, plus an allowed destination the main table must
# route, and a Route= that sends the log server by d1 (not d0, as the main
# table does).
POLICY="$TMPDIR_TEST/syslog.policy"
syslog_policy confine-test-$$ 10.99.0.1 fd00:99::1 \
	'Allow=tcp 10.77.0.1:443' 'Route=10.99.0.1 dev d1' >"$POLICY"
# An exclusive Allow= without a port.
ANYPORT="$TMPDIR_TEST/anyport.policy"
syslog_policy confine-test-$$ 10.99.0.1 fd00:99::1 'Allow=udp 10.99.0.9' \
	>"$ANYPORT"

EMPTY_ROOT="$TMPDIR_TEST/root-empty"
UNIT_ROOT="$TMPDIR_TEST/root-unit"
CONF_ROOT="$TMPDIR_TEST/root-conf"
mkdir -p "$EMPTY_ROOT/etc" "$UNIT_ROOT/lib/systemd/system" "$CONF_ROOT/etc"
printf '[Unit]\nDescription=nftables\n' >"$UNIT_ROOT/lib/systemd/system/nftables.service"
printf '#!/usr/sbin/nft -f\n\nflush ruleset\n' >"$CONF_ROOT/etc/nftables.conf"
printf '#!/usr/sbin/nft -f\n\ntable inet filter {\n}\n' >"$EMPTY_ROOT/etc/nftables.conf"

# doctor NAME NS ROOT [FILE...]: doctor --json into $TMPDIR_TEST/NAME.json,
# its status into $TMPDIR_TEST/NAME.rc.
doctor() {
	local name=$1 ns=$2 root=$3 rc
	shift 3
	CONFINE_DOCTOR_ROOT=$root "$CONFINE" doctor --netns "$ns" --json "$@" \
		>"$TMPDIR_TEST/$name.json" 2>"$TMPDIR_TEST/$name.err"
	rc=$?
	echo "$rc" >"$TMPDIR_TEST/$name.rc"
}

# has NAME SEVERITY CHECK: the run's findings hold CHECK with SEVERITY.
has() {
	"$PYTHON" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if any(f["check"] == sys.argv[3] and f["severity"] == sys.argv[2]
                  for f in doc["findings"]) else 1)' \
		"$TMPDIR_TEST/$1.json" "$2" "$3"
}

# both CHECK SEVERITY TRIGGERED CLEAN
both() {
	check "$1 ($2) found in $3" has "$3" "$2" "$1"
	check_not "$1 not found in $4" has "$4" "$2" "$1"
}

doctor good "$GOOD" "$EMPTY_ROOT" "$POLICY"
doctor bad "$BAD" "$EMPTY_ROOT" "$POLICY"
mkdir "$TMPDIR_TEST/no-policies"
CONFINE_POLICY_DIR="$TMPDIR_TEST/no-policies" doctor nopolicy "$GOOD" "$EMPTY_ROOT"
doctor anyport "$GOOD" "$EMPTY_ROOT" "$ANYPORT"
doctor unit "$GOOD" "$UNIT_ROOT" "$POLICY"
doctor conf "$GOOD" "$CONF_ROOT" "$POLICY"
for f in good bad nopolicy anyport unit conf; do
	check "doctor $f wrote JSON (see $f.err)" \
		"$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' \
		"$TMPDIR_TEST/$f.json"
done

for k in accept_source_route accept_redirects; do
	both "hardening.$k" warning bad good
done
for k in send_redirects rp_filter log_martians ip_forward; do
	both "hardening.$k" info bad good
done
both forwarding info bad good
both rp-filter warning bad good
both route warning bad good
both fwmark-rule warning bad good
both nft-mark warning bad good
both exclusive-broadcast warning anyport good
both nftables-service warning unit good
both nftables-service warning conf good
check_not "no nf_tables probe error where the kernel has socket cgroupv2" \
	has good error nft-socket-cgroupv2
check_not "the probe table is gone again" \
	in_ns "$GOOD" nft list table inet confine_probe 2>/dev/null
check "doctor exits 0 with nothing above info (saw $(cat "$TMPDIR_TEST/good.rc"))" \
	test "$(cat "$TMPDIR_TEST/good.rc")" = 0
check "doctor without any policy exits 0 (saw $(cat "$TMPDIR_TEST/nopolicy.rc"))" \
	test "$(cat "$TMPDIR_TEST/nopolicy.rc")" = 0
check "doctor exits 3 with warnings and no error (saw $(cat "$TMPDIR_TEST/bad.rc"))" \
	test "$(cat "$TMPDIR_TEST/bad.rc")" = 3

# The cgroup2 mount, as /proc/self/mountinfo shows it to doctor.
mountinfo_doctor() {
	local name=$1 line=$2
	printf '%s\n' "$line" >"$TMPDIR_TEST/$name.mountinfo"
	# shellcheck disable=SC2016 # $$ is the inner shell's, which execs
	unshare -m sh -c 'mount --make-rprivate / &&
		mount --bind "$1" /proc/$$/mountinfo &&
		exec "$2" doctor --netns "$3" --json' sh \
		"$TMPDIR_TEST/$name.mountinfo" "$CONFINE" "$GOOD" \
		>"$TMPDIR_TEST/$name.json" 2>"$TMPDIR_TEST/$name.err"
	echo $? >"$TMPDIR_TEST/$name.rc"
}
mountinfo_doctor delegated '30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate'
mountinfo_doctor undelegated '30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw'
mountinfo_doctor nocgroup '30 1 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw'
if has undelegated info kernel; then
	both cgroup2-nsdelegate info undelegated delegated
	both cgroup2 error nocgroup delegated
	check "doctor exits 1 with an error (saw $(cat "$TMPDIR_TEST/nocgroup.rc"))" \
		test "$(cat "$TMPDIR_TEST/nocgroup.rc")" = 1
else
	fail "doctor did not run with a mountinfo bound over its own (see undelegated.err)"
fi

# Kernel features, as a kernel that lacks them answers.
"$PYTHON" "$TMPDIR_TEST/seccomp-deny.py" bpf=EPERM \
	landlock_create_ruleset=ENOSYS seccomp=ENOSYS -- \
	"$CONFINE" doctor --netns "$GOOD" --json \
	>"$TMPDIR_TEST/nofeatures.json" 2>"$TMPDIR_TEST/nofeatures.err"
rc=$?
if [ "$rc" -eq 77 ]; then
	log "no seccomp filter on $(uname -m): kernel feature checks only clean"
	for c in cgroup-bpf seccomp; do
		check_not "$c not found" has good error "$c"
	done
	check_not "landlock not found" has good warning landlock
else
	both cgroup-bpf error nofeatures good
	both seccomp error nofeatures good
	both landlock warning nofeatures good
	both seccomp-self info nofeatures good
fi

finish
