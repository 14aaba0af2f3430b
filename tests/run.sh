#!/usr/bin/env bash
# The one command that builds confine and runs every test, on a fresh
# Debian 12:
#
#	./tests/run.sh
#
# As root, or through sudo (it runs itself again with sudo when it is not
# root). Installs the build and test dependencies (only when something is
# missing), builds, runs all tests (unit and the netns integration tests),
# runs the unit tests and the integration tests that exercise apply, run
# and remove again under AddressSanitizer and UBSan, fuzzes the policy
# parser for a minute (bench/fuzz.sh 60, one more test), and prints as its
# last line "N passed, N failed[, N skipped]". Exits non-zero when a test
# failed, or when CONFINE_TESTS_MUST_RUN=1 and a test was skipped.
#
# With --demo (as .ci/run does), it also runs lab/demo in a lab of its own
# and counts the demo as one more test.

set -u

# as_root
# shellcheck source=../lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
if ! as_root "$@"; then
	echo "tests/run.sh: must run as root (it installs packages and the integration tests need network namespaces, nf_tables and cgroups); there is no sudo here, so run it from a root shell" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

cd "$(dirname "$0")/.." || exit 1

run_demo=0
[ "${1:-}" = --demo ] && run_demo=1

# The integration tests that the sanitizer build runs too: between them
# they exercise apply (first, again, changed, concurrent), run (standalone
# and under a unit, the lock-in steps) and remove; refusal-alerts runs
# watch with its alert programs through a flood.
asan_netns_tests=(
	apply-idempotent-remove
	rsyslog-forward
	systemd-leaf
	attack-cgroup-escape
	concurrent-apply
	refusal-alerts
)

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
	# Any error report stops the binary with a failure, so that the
	# test fails; meson's CONFINE points at build-asan/confine.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	echo "== meson test -C build-asan --suite unit"
	rm -f build-asan/meson-logs/testlog.json
	meson test -C build-asan --suite unit --print-errorlogs
	logs+=(build-asan/meson-logs/testlog.json)
	echo "== meson test -C build-asan ${asan_netns_tests[*]}"
	rm -f build-asan/meson-logs/testlog-netns.json
	meson test -C build-asan --logbase testlog-netns --print-errorlogs \
		"${asan_netns_tests[@]}"
	logs+=(build-asan/meson-logs/testlog-netns.json)
	unset ASAN_OPTIONS UBSAN_OPTIONS
else
	echo "tests/run.sh: the sanitizer build failed" >&2
	build_failed=$((build_failed + 1))
fi

# The policy parser, planner and lowering under libFuzzer for a minute, in
# a clang build of its own (build-fuzz); one test. A crash fails it, and
# bench/fuzz.sh says on stderr where the crashing input is kept.
fuzz_passed=0
fuzz_failed=0
echo "== fuzz tests/fuzz/fuzz-policy (bench/fuzz.sh 60)"
if bash bench/fuzz.sh 60; then
	fuzz_passed=1
else
	echo "tests/run.sh: fuzzing the policy parser failed" >&2
	fuzz_failed=1
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
# fuzzer and the demo as one test each.
summary=$(python3 tests/helpers/count-results.py \
	"$((build_failed + fuzz_failed + demo_failed))" \
	"$((fuzz_passed + demo_passed))" "${logs[@]}")
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
