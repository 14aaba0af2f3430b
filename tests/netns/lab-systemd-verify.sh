#!/bin/bash
# Every systemd unit file and drop-in shipped under examples/systemd passes
# `systemd-analyze verify` without a single message. verify also checks
# that ExecStart='s program exists, so it runs in a private mount namespace
# in which the confine under test is at /usr/local/sbin/confine, where
# `meson install` puts it; the host's /usr/local is not touched. A drop-in
# is verified together with the unit it changes, found among the host's
# units (rsyslog.service comes with Debian's rsyslog package).

. "$(dirname "$0")/lib.sh"

require_root
require_cmds systemd-analyze unshare mount
require_confine

SYSTEMD_DIR=$(cd "$(dirname "$0")/../../examples/systemd" && pwd) ||
	skip "no examples/systemd"
TMPDIR_V=$(mktemp -d /tmp/confine-systemd-verify.XXXXXX)
trap 'rm -rf "$TMPDIR_V"' EXIT

# verify UNIT_PATH_DIR UNIT: run verify with DIR searched first (the
# trailing colon keeps the default search path after it). Prints what
# verify said; returns its status.
verify() {
	local dir=$1 unit=$2
	unshare -m --propagation private sh -c '
		mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin &&
		cp "$1" /usr/local/sbin/confine &&
		SYSTEMD_UNIT_PATH="$2:" systemd-analyze verify "$3"' \
		sh "$CONFINE" "$dir" "$unit" 2>&1
}

units=()
for f in "$SYSTEMD_DIR"/*; do
	case $f in
	*.d) units+=("$(basename "${f%.d}")") ;;
	*.service | *.socket | *.timer | *.path | *.target) units+=("$(basename "$f")") ;;
	esac
done
check "examples/systemd ships at least one unit or drop-in (${units[*]})" \
	test ${#units[@]} -gt 0

for unit in "${units[@]}"; do
	if [ ! -e "$SYSTEMD_DIR/$unit" ] &&
		[ ! -e "/lib/systemd/system/$unit" ] &&
		[ ! -e "/usr/lib/systemd/system/$unit" ]; then
		skip "the drop-in for $unit needs $unit itself (install its package)"
	fi
	out=$(verify "$SYSTEMD_DIR" "$unit")
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
	check "systemd-analyze verify $unit with examples/systemd: exit 0 (saw $rc)" \
		test "$rc" -eq 0
	check "systemd-analyze verify $unit with examples/systemd: no message" \
		test -z "$out"

	# The control: the same files with one key misspelt must draw a
	# message, or the check above could not see the drop-in at all.
	rm -rf "$TMPDIR_V/units"
	cp -r "$SYSTEMD_DIR" "$TMPDIR_V/units"
	find "$TMPDIR_V/units" -name '*.conf' -path "*/$unit.d/*" \
		-exec sed -i 's/^Delegate=/Delegat=/; s/^ExecStart=\//ExecStrat=\//' {} +
	[ -f "$TMPDIR_V/units/$unit" ] &&
		sed -i 's/^ExecStart=\//ExecStrat=\//' "$TMPDIR_V/units/$unit"
	out=$(verify "$TMPDIR_V/units" "$unit")
	printf '%s\n' "$out" | sed 's/^/    control: /'
	check "control: verify reports a misspelt key in the $unit files" \
		grep -q "Unknown key" <<<"$out"
done

finish
