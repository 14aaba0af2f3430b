#!/usr/bin/env bash
# The one command that builds confine and runs every test, on a fresh
# Debian 12 as root:
#
#	bash tests/run.sh
#
# Installs the build and test dependencies (only when something is
# missing), builds, runs all tests (unit and the netns integration tests),
# runs the unit tests again under AddressSanitizer and UBSan, and prints as
# its last line "N passed, N failed[, N skipped]". Exits non-zero when a
# test failed, or when CONFINE_TESTS_MUST_RUN=1 and a test was skipped.
#
# With --demo (as .ci/run does), it also runs lab/demo in a lab of its own
# and counts the demo as one more test.

set -u

cd "$(dirname "$0")/.." || exit 1

run_demo=0
[ "${1:-}" = --demo ] && run_demo=1

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: must run as root (it installs packages and the integration tests need network namespaces, nf_tables and cgroups)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# The package list is shared with lab/demo.
if ! bash tests/install-deps.sh; then
	echo "tests/run.sh: installing packages failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# setup_build DIR [MESON ARGS...]: configure a fresh or existing build dir.
setup_build() {
	local dir=$1
	shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" ||
			meson setup --wipe "$dir" "$@"
	else
		rm -rf "$dir"
		meson setup "$dir" "$@"
	fi
}

build_failed=0
logs=()

echo "== build"
if setup_build build && ninja -C build; then
	echo "== meson test -C build"
	rm -f build/meson-logs/testlog.json
	meson test -C build --print-errorlogs
	logs+=(build/meson-logs/testlog.json)
else
	echo "tests/run.sh: the build failed" >&2
	build_failed=$((build_failed + 1))
fi

echo "== sanitizer build (address,undefined)"
if setup_build build-asan -Db_sanitize=address,undefined -Db_lundef=false &&
   ninja -C build-asan; then
	echo "== meson test -C build-asan --suite unit"
	rm -f build-asan/meson-logs/testlog.json
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C build-asan --suite unit --print-errorlogs
	logs+=(build-asan/meson-logs/testlog.json)
else
	echo "tests/run.sh: the sanitizer build failed" >&2
	build_failed=$((build_failed + 1))
fi

# The demo builds nothing new (build/ is done) and runs under a prefix of
# its own, so that it never meets a lab someone keeps on this machine.
demo_passed=0
demo_failed=0
if [ "$run_demo" = 1 ]; then
	echo "== lab/demo"
	if CONFINE_LAB_PREFIX="cfdemo-$$" bash lab/demo; then
		demo_passed=1
	else
		echo "tests/run.sh: lab/demo failed" >&2
		demo_failed=1
	fi
fi

# Count from meson's own records: EXPECTEDFAIL is a pass, SKIP a skip,
# anything else not OK a failure. A failed build counts as a failure, the
# demo as one test.
summary=$(python3 - "$((build_failed + demo_failed))" "$demo_passed" "${logs[@]}" <<'EOF'
import json, sys

passed = failed = skipped = 0
failed += int(sys.argv[1])
passed += int(sys.argv[2])
for path in sys.argv[3:]:
	try:
		f = open(path)
	except OSError as e:
		print("cannot read %s: %s" % (path, e), file=sys.stderr)
		failed += 1
		continue
	with f:
		for line in f:
			line = line.strip()
			if not line:
				continue
			r = json.loads(line).get("result", "")
			if r in ("OK", "EXPECTEDFAIL"):
				passed += 1
			elif r == "SKIP":
				skipped += 1
			else:
				failed += 1
				print("  %s: %s" % (json.loads(line).get("name"), r), file=sys.stderr)
s = "%d passed, %d failed" % (passed, failed)
if skipped:
	s += ", %d skipped" % skipped
print(s)
EOF
)
[ -n "$summary" ] || summary="0 passed, 1 failed"

rc=0
case $summary in
*", 0 failed"*) ;;
*) rc=1 ;;
esac
case $summary in
*skipped*)
	if [ "${CONFINE_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "tests/run.sh: tests were skipped and CONFINE_TESTS_MUST_RUN=1" >&2
		rc=1
	fi
	;;
esac
echo "$summary"
exit $rc
