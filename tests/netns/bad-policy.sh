#!/bin/bash
# Bad policies are refused with exit 2 and a message that starts with
# FILE:LINE: pointing at the offending line, by `check`, `apply` and `run`
# alike, and nothing is installed: no nf_tables table, no rule, no route, no
# cgroup, and the command given to `run` never starts.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

good="$TMPDIR_TEST/good.conf"
write_policy "$good"
# good.conf, for the line numbers below:
#  1 [Confine]            6 Allow=udp 10.99.0.1:514
#  2 CgroupParent=...     7 Allow=tcp 10.99.0.1:601
#  3                      8 Allow=udp [fd00:99::1]:514
#  4 [Service]            9 Allow=tcp [fd00:99::1]:601
#  5 Name=syslog         10 Exclusive=yes

# bad NAME LINE SED-SCRIPT: a copy of good.conf with one change, and the
# line the error must point at.
cases=()
bad() {
	sed "$3" "$good" >"$TMPDIR_TEST/$1.conf"
	cases+=("$1:$2")
}
bad unknown-proto 6 '6s/.*/Allow=sctp 10.99.0.1:514/'
bad bad-address 7 '7s/.*/Allow=tcp 10.99.0.300:601/'
bad bad-port 8 '8s/.*/Allow=udp [fd00:99::1]:70000/'
bad bad-prefix 6 '6s/.*/Allow=udp 10.99.0.0\/33:514/'
bad reversed-ports 7 '7s/.*/Allow=tcp 10.99.0.1:700-600/'
bad unknown-key 11 '$a Frobnicate=yes'
bad bad-boolean 10 '10s/.*/Exclusive=maybe/'
bad mark-too-big 11 '$a Mark=0x100'
bad zero-mask 3 '3s/.*/MarkMask=0x0/'
bad duplicate-name 12 '$a [Service]\nName=syslog\nAllow=udp 10.99.0.1:514'

svc_cg="$CGROUP2/$CG_PARENT_REL/syslog"

# nothing_installed WHAT: the client namespace and the cgroup tree are clean.
nothing_installed() {
	local what=$1
	check_not "$what: no table inet confine" in_ns "$CLIENT" nft list table inet confine 2>/dev/null
	check "$what: no ip rule pref 1900" test -z "$(in_ns "$CLIENT" ip rule show pref 1900)$(in_ns "$CLIENT" ip -6 rule show pref 1900)"
	check "$what: no route of protocol 245" test -z "$(in_ns "$CLIENT" ip route show table all proto 245)$(in_ns "$CLIENT" ip -6 route show table all proto 245)"
	check_not "$what: no cgroup $svc_cg" test -d "$svc_cg"
}

# refused WHAT FILE LINE CMD...: exit 2, stderr's first line starts FILE:LINE:
refused() {
	local what=$1 file=$2 line=$3
	shift 3
	local err="$TMPDIR_TEST/err" rc first
	# Bounded: a hung confine is a failure, not a hung test.
	timeout 30 "$@" >/dev/null 2>"$err"
	rc=$?
	first=$(head -n 1 "$err")
	log "$what: exit $rc, stderr: $(tr '\n' '|' <"$err")"
	check "$what: exit code 2 (saw $rc)" test "$rc" -eq 2
	case $first in
	"$file:$line:"*)
		pass "$what: message starts '$file:$line:'" ;;
	*)
		fail "$what: want a message starting '$file:$line:', saw '$first'" ;;
	esac
}

for c in "${cases[@]}"; do
	name=${c%%:*}
	line=${c##*:}
	f="$TMPDIR_TEST/$name.conf"
	echo "=== $name (line $line: $(sed -n "${line}p" "$f"))"
	refused "check $name" "$f" "$line" "$CONFINE" check "$f"
	refused "apply $name" "$f" "$line" "$CONFINE" apply --netns "$CLIENT" "$f"
	rm -f "$TMPDIR_TEST/ran"
	refused "run $name" "$f" "$line" "$CONFINE" run --netns "$CLIENT" -p "$f" \
		-s syslog -- /usr/bin/touch "$TMPDIR_TEST/ran"
	check_not "run $name: the command did not run" test -e "$TMPDIR_TEST/ran"
	nothing_installed "$name"
done

# A bad file among good ones: nothing from the good one is installed either.
second="$TMPDIR_TEST/second.conf"
cat >"$second" <<-EOF
	[Confine]
	CgroupParent=$CG_PARENT_REL

	[Service]
	Name=other
	Allow=tcp 10.99.1.1:8080
EOF
refused "apply good + bad" "$TMPDIR_TEST/unknown-key.conf" 11 \
	"$CONFINE" apply --netns "$CLIENT" "$second" "$TMPDIR_TEST/unknown-key.conf"
nothing_installed "good + bad"
check_not "good + bad: no cgroup $CGROUP2/$CG_PARENT_REL/other" \
	test -d "$CGROUP2/$CG_PARENT_REL/other"

# Usage errors are exit 2 as well.
timeout 30 "$CONFINE" frobnicate >/dev/null 2>&1
rc=$?
check "unknown subcommand: exit 2 (saw $rc)" test "$rc" -eq 2
timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$good" -s syslog >/dev/null 2>&1
rc=$?
check "run without a command: exit 2 (saw $rc)" test "$rc" -eq 2
nothing_installed "usage errors"

# The good policy still passes, so the refusals above are about the lines.
"$CONFINE" check "$good" >/dev/null
rc=$?
check "the unmodified policy passes confine check (exit $rc)" test "$rc" -eq 0

finish
