#!/usr/bin/env bash
# `meson install` puts down what a sysadmin expects: the binary, both man
# pages and the bash completion. The man pages build from scdoc without a
# warning, and man(1) renders them without one.
#
#	check-install.sh SOURCE_DIR BUILD_DIR
set -u

src=$1
build=$2
failed=0
checks=0
tmp=$(mktemp -d /tmp/confine-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

pass() { checks=$((checks + 1)); echo "PASS: $*"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*"; }

for c in scdoc man; do
	if ! command -v "$c" >/dev/null; then
		if [ "${CONFINE_TESTS_MUST_RUN:-0}" = 1 ]; then
			echo "check-install: cannot run: needs $c (CONFINE_TESTS_MUST_RUN=1, so this is a failure)"
			exit 1
		fi
		echo "check-install: SKIP: needs $c"
		exit 77
	fi
done

for page in confine.8 confine.policy.5; do
	if scdoc <"$src/docs/$page.scd" >"$tmp/$page" 2>"$tmp/$page.err" &&
	   [ ! -s "$tmp/$page.err" ]; then
		pass "scdoc builds $page without a word on stderr"
	else
		fail "scdoc on docs/$page.scd: $(cat "$tmp/$page.err")"
	fi
done

out=$(meson install -C "$build" --no-rebuild --destdir "$tmp/root" 2>&1)
rc=$?
[ $rc -eq 0 ] && pass "meson install --destdir succeeds" ||
	{ fail "meson install --destdir (exit $rc)"; echo "$out"; }

prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
root="$tmp/root$prefix"

found() {
	local what=$1 pattern=$2 f
	f=$(find "$tmp/root" -path "$pattern" -type f | head -n 1)
	if [ -n "$f" ]; then
		pass "$what installed as ${f#"$tmp/root"}"
	else
		fail "$what: nothing matching $pattern under the install root"
	fi
	printf '%s' "$f" >"$tmp/found"
}

found "the binary" "$root/sbin/confine"
[ -x "$(cat "$tmp/found")" ] && pass "it is executable" || fail "the installed binary is not executable"
found "the completion, under the prefix" "$root/*/bash-completion/completions/confine"
if [ -s "$tmp/found" ] && bash -c '. "$1" && complete -p confine' _ "$(cat "$tmp/found")" >/dev/null 2>&1; then
	pass "sourcing the installed completion registers it for confine"
else
	fail "the installed completion does not register 'complete ... confine'"
fi

found "the guard's systemd unit, under the prefix" "$root/lib/systemd/system/confine-guard.service"
unit=$(cat "$tmp/found")
if [ -n "$unit" ] && grep -qx "ExecStart=$prefix/sbin/confine guard" "$unit"; then
	pass "the unit starts the installed binary ($prefix/sbin/confine guard)"
else
	fail "the unit's ExecStart= is not $prefix/sbin/confine guard"
fi
# Verified as it would be installed: its binary where the unit says.
if [ -n "$unit" ] && command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=$prefix/sbin/confine|ExecStart=$root/sbin/confine|" \
		"$unit" >"$tmp/confine-guard.service"
	if out=$(systemd-analyze verify --man=no "$tmp/confine-guard.service" 2>&1) &&
		[ -z "$out" ]; then
		pass "systemd-analyze verify finds nothing wrong with the unit"
	else
		fail "systemd-analyze verify of the unit: $out"
	fi
fi

found "the watch's systemd unit, under the prefix" "$root/lib/systemd/system/confine-watch.service"
unit=$(cat "$tmp/found")
if [ -n "$unit" ] && grep -qx "ExecStart=$prefix/sbin/confine watch --alerts" "$unit"; then
	pass "the unit starts the installed binary ($prefix/sbin/confine watch --alerts)"
else
	fail "the unit's ExecStart= is not $prefix/sbin/confine watch --alerts"
fi
if [ -n "$unit" ] && command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=$prefix/sbin/confine|ExecStart=$root/sbin/confine|" \
		"$unit" >"$tmp/confine-watch.service"
	if out=$(systemd-analyze verify --man=no "$tmp/confine-watch.service" 2>&1) &&
		[ -z "$out" ]; then
		pass "systemd-analyze verify finds nothing wrong with the watch unit"
	else
		fail "systemd-analyze verify of the watch unit: $out"
	fi
fi

for page in man8/confine.8 man5/confine.policy.5; do
	found "man page $page" "*/man/$page"
	f=$(cat "$tmp/found")
	[ -n "$f" ] || continue
	# --warnings passes -w on to groff; anything on stderr is a warning.
	text=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" 2>"$tmp/man.err" | col -b)
	if [ -s "$tmp/man.err" ]; then
		fail "man -l $page warns: $(head -n 5 "$tmp/man.err")"
	else
		pass "man -l $page renders without a warning"
	fi
	for section in NAME SYNOPSIS DESCRIPTION; do
		grep -q "^$section" <<<"$text" && pass "$page has a $section section" ||
			fail "$page: no $section section in the rendered page"
	done
done

echo "check-install: $((checks - failed)) of $checks checks passed"
[ $failed -eq 0 ]
