#!/usr/bin/env bash
# confine wrap and unwrap against `systemctl show` output recorded from
# systemd 252 (tests/unit/systemctl-show/UNIT, captured in the container
# of tests/netns/systemd-real.sh): the drop-in --dry-run prints for
# Debian's rsyslog and chrony units, the prefixes kept, the sandboxing
# lifted only where it stops confine run, what is refused and why, and
# that wrap writes the file whole and unwrap removes it, each followed by
# daemon-reload. A stand-in systemctl (CONFINE_SYSTEMCTL) prints the
# recordings and logs its calls; drop-ins go to CONFINE_SYSTEMD_DIR.
#
# Environment: CONFINE (the binary), TESTS_DIR (the tests/ directory).
set -u

failed=0
checks=0
tmp=$(mktemp -d /tmp/confine-wrap.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

check() {
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "PASS: $what"
	else
		echo "FAIL: $what"
		failed=$((failed + 1))
	fi
}

# run ARG...: runs confine; its status in $rc, its output in out and err.
run() {
	"$CONFINE" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

shows=$tmp/show
cp -r "$TESTS_DIR/unit/systemctl-show" "$shows"
# Variants of rsyslog's recording: a User= without the ! prefix, a quote
# in an argument, a flag confine does not know.
sed 's/^User=$/User=syslog/' "$shows/rsyslog.service" >"$shows/user.service"
sed 's/-iNONE/-f "x"/' "$shows/rsyslog.service" >"$shows/quote.service"
sed 's/flags= ;/flags=ignore-failure sparkle ;/' "$shows/rsyslog.service" \
	>"$shows/flag.service"
sed 's/flags= ;/flags=ignore-failure privileged no-env-expand ;/' \
	"$shows/rsyslog.service" >"$shows/prefixes.service"

cat >"$tmp/systemctl" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/calls"
case \$1 in
show) eval "unit=\\\${\$#}"; cat "$shows/\$unit" ;;
daemon-reload) ;;
*) exit 1 ;;
esac
EOF
chmod 755 "$tmp/systemctl"
export CONFINE_SYSTEMCTL=$tmp/systemctl
export CONFINE_SYSTEMD_DIR=$tmp/system
mkdir "$CONFINE_SYSTEMD_DIR"

policy=$tmp/syslog.policy
cat >"$policy" <<EOF
[Service]
Name=syslog
Allow=tcp 192.0.2.1:601
EOF
chmod 644 "$policy"
two=$tmp/two.policy
cat "$policy" - >"$two" <<EOF

[Service]
Name=ntp
Allow=udp 192.0.2.2:123
EOF
chmod 644 "$two"
self=$(realpath "$CONFINE")

# Debian's rsyslog.service: the plain case.
run wrap rsyslog -p "$policy" --dry-run
check "wrap rsyslog --dry-run exits 0 (saw $rc: $(cat "$tmp/err"))" test "$rc" -eq 0
cat >"$tmp/want" <<EOF
# Written by confine wrap; confine unwrap removes it.
# confine run puts the daemon in <unit cgroup>/confine-NAME:
# Delegate=yes gives the unit the cgroups below its own.
# confine's messages (why it refused to start the daemon)
# go to the journal: journalctl -u rsyslog.service.
[Service]
Delegate=yes
StandardError=journal
ExecStart=
ExecStart=$self run -p $policy -- /usr/sbin/rsyslogd -n -iNONE
EOF
check "wrap rsyslog --dry-run prints the drop-in" diff -u "$tmp/want" "$tmp/out"
check "--dry-run writes nothing" test ! -e "$CONFINE_SYSTEMD_DIR/rsyslog.service.d"
check "--dry-run does not reload systemd" test "$(grep -c daemon-reload "$tmp/calls")" = 0

# Debian's chrony.service: ExecStart=!..., User=_chrony, hardened.
run wrap chrony.service -p "$two" -s ntp --dry-run
check "wrap chrony -s ntp --dry-run exits 0 (saw $rc: $(cat "$tmp/err"))" test "$rc" -eq 0
check "chrony: the ! prefix and \$DAEMON_OPTS are kept, -s is passed on" \
	grep -qxF "ExecStart=!$self run -p $two -s ntp -- /usr/sbin/chronyd \$DAEMON_OPTS" "$tmp/out"
for l in ProtectControlGroups=no 'RestrictNamespaces=cgroup mnt' \
	'CapabilityBoundingSet=CAP_SYS_ADMIN CAP_NET_ADMIN' \
	'SystemCallFilter=unshare mount umount2 mount_setattr'; do
	check "chrony: the drop-in has '$l'" grep -qxF "$l" "$tmp/out"
done
check "chrony: RestrictAddressFamilies= is left alone (it has AF_NETLINK)" \
	test "$(grep -c '^RestrictAddressFamilies=' "$tmp/out")" = 0
check "rsyslog (no sandboxing): nothing is lifted" \
	test "$(grep -cE '^(Protect|Restrict|Capability|SystemCall)' "$tmp/want")" = 0

run wrap prefixes -p "$policy" --dry-run
check "the -, + and : prefixes are kept" \
	grep -qxF "ExecStart=-+:$self run -p $policy -- /usr/sbin/rsyslogd -n -iNONE" "$tmp/out"

# refused WHAT PATTERN ARG...: wrap fails, saying PATTERN.
refused() {
	local what=$1 pattern=$2
	shift 2
	run "$@"
	check "$what: refused (exit $rc: $(head -n 1 "$tmp/err"))" \
		test "$rc" -ne 0 -a ! -s "$tmp/out"
	check "$what: the message says '$pattern'" grep -q -- "$pattern" "$tmp/err"
}
refused "the @ prefix" "cannot set another argv\[0\]" wrap at-prefix -p "$policy"
refused "two ExecStart= commands" "more than one ExecStart=" wrap two-commands -p "$policy"
refused "a missing unit" "no such unit" wrap nosuch -p "$policy"
refused "User= without !" "sets User=syslog" wrap user -p "$policy"
refused "a quote in the command" "write the drop-in by hand" wrap quote -p "$policy"
refused "an unknown flag" "flag sparkle" wrap flag -p "$policy"
refused "a timer unit" "not a service unit" wrap rsyslog.timer -p "$policy"
refused "a policy of two services without -s" "choose one with -s" wrap rsyslog -p "$two"
refused "an unknown -s" "no service named nope" wrap rsyslog -p "$two" -s nope
printf '[Service]\nName=syslog\nAllow=tcp 192.0.2.1:70000\n' >"$tmp/bad.policy"
chmod 644 "$tmp/bad.policy"
refused "a bad policy" "^$tmp/bad.policy:3: " wrap rsyslog -p "$tmp/bad.policy"
refused "no UNIT" "Usage: confine wrap" wrap -p "$policy"
check "nothing refused was written" test -z "$(ls "$CONFINE_SYSTEMD_DIR")"

# Writing: the file --dry-run printed, then daemon-reload; no temp file.
: >"$tmp/calls"
run wrap rsyslog -p "$policy"
dropin=$CONFINE_SYSTEMD_DIR/rsyslog.service.d/confine.conf
check "wrap rsyslog exits 0 (saw $rc: $(cat "$tmp/err"))" test "$rc" -eq 0
check "wrap writes $dropin as --dry-run printed it" diff -u "$tmp/want" "$dropin"
check "the drop-in is mode 644 (saw $(stat -c %a "$dropin"))" test "$(stat -c %a "$dropin")" = 644
check "no temporary file is left ($(ls "$CONFINE_SYSTEMD_DIR/rsyslog.service.d" | tr '\n' ' '))" \
	test "$(ls "$CONFINE_SYSTEMD_DIR/rsyslog.service.d")" = confine.conf
check "then systemctl daemon-reload (calls: $(tr '\n' '|' <"$tmp/calls"))" \
	test "$(tail -n 1 "$tmp/calls")" = daemon-reload

: >"$tmp/calls"
run unwrap rsyslog
check "unwrap rsyslog exits 0 (saw $rc: $(cat "$tmp/err"))" test "$rc" -eq 0
check "unwrap removes the drop-in and its empty directory" \
	test ! -e "$CONFINE_SYSTEMD_DIR/rsyslog.service.d"
check "then systemctl daemon-reload" test "$(cat "$tmp/calls")" = daemon-reload
run unwrap rsyslog
check "unwrap of a unit that is not wrapped fails, naming the file (exit $rc: $(cat "$tmp/err"))" \
	grep -q "cannot remove $CONFINE_SYSTEMD_DIR/rsyslog.service.d/confine.conf" "$tmp/err"

if [ "$failed" -ne 0 ]; then
	echo "$failed of $checks checks failed"
	exit 1
fi
echo "all $checks checks passed"
