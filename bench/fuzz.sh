#!/usr/bin/env bash
# How the policy parser, the planner and the lowering stand up to arbitrary
# input: builds the libFuzzer harness tests/fuzz/fuzz-policy with clang,
# AddressSanitizer and UBSan in a build directory of its own, fuzzes it for
# SECONDS (600 by default) from a fresh corpus seeded with the golden
# policies, and reports executions, executions per second, corpus size and
# crashes. Needs no root; run it under `nice -n 19` on a busy machine.
#
#	bash bench/fuzz.sh [SECONDS]
#
# FUZZ_BUILD_DIR (default build-fuzz, which meson keeps out of git) is the
# build directory; each run starts $FUZZ_BUILD_DIR/fuzz-run/ afresh with
# the corpus, libFuzzer's log and any crashing input. A crash stops the
# run. Exits 0 when nothing crashed, 1 when something did (its input's path
# is printed on stderr), 2 when the fuzzer could not be built or run.
# tests/run.sh runs it for 60 seconds and counts it as one test.
set -u
cd "$(dirname "$0")/.." || exit 2

seconds=${1:-600}
case $seconds in
'' | *[!0-9]*)
	echo "usage: bench/fuzz.sh [SECONDS]" >&2
	exit 2
	;;
esac
build=${FUZZ_BUILD_DIR:-build-fuzz}
fuzzer=$build/tests/fuzz/fuzz-policy
run=$build/fuzz-run

command -v clang >/dev/null || {
	echo "bench/fuzz.sh: needs clang (tests/install-deps.sh installs it)" >&2
	exit 2
}
# b_lundef=false: the sanitizers' runtimes are linked into executables
# only, not into the static libraries.
opts=(-Dfuzz=true "-Db_sanitize=address,undefined" -Db_lundef=false)
if [ -d "$build/meson-private" ]; then
	meson setup --reconfigure "$build" "${opts[@]}" >/dev/null
else
	rm -rf "$build"
	CC=clang meson setup "$build" "${opts[@]}" >/dev/null
fi || {
	echo "bench/fuzz.sh: meson setup $build failed" >&2
	exit 2
}
ninja -C "$build" tests/fuzz/fuzz-policy >/dev/null || {
	echo "bench/fuzz.sh: building $fuzzer failed (ninja -C $build)" >&2
	exit 2
}
[ -x "$fuzzer" ] || {
	echo "bench/fuzz.sh: $fuzzer was not built ($build is not a clang build?)" >&2
	exit 2
}

rm -rf "$run"
mkdir -p "$run/corpus" "$run/crashes" || exit 2
# Prefixed by their directory: good/ and bad/ share names.
for f in tests/golden/policy/good/*.policy tests/golden/policy/bad/*.policy \
	tests/golden/policy/*.inc tests/golden/nft/*.policy; do
	seed=${f#tests/golden/}
	cp "$f" "$run/corpus/${seed//\//-}" || exit 2
done

echo "== fuzzing the policy parser, planner and lowering for ${seconds}s ($run/log)"
# -timeout: an input that takes 10 s is a hang, kept like a crash;
# -rss_limit_mb likewise for one that eats memory.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-dict=tests/fuzz/policy.dict -print_final_stats=1 \
	-artifact_prefix="$run/crashes/" \
	"$run/corpus" >"$run/log" 2>&1
rc=$?

# libFuzzer's last progress line ("#N DONE cov: ... corp: 210/30Kb ...")
# and its -print_final_stats lines.
stat() {
	sed -n "s/^stat::$1: *//p" "$run/log" | tail -n 1
}
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$run/log" | tail -n 1)
crashes=$(find "$run/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' \
	-o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
echo "executions: ${execs:-?}"
echo "executions per second: ${rate:-?}"
corp=${corp#corp: }
echo "corpus: ${corp:-?} (inputs/size), $(find "$run/corpus" -type f | wc -l) files in $run/corpus"
echo "crashes: $crashes"

if [ "$crashes" -gt 0 ]; then
	grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$run/log" |
		head -n 5 >&2
	find "$run/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) -printf \
		'bench/fuzz.sh: crashing input kept in %p\n' >&2
	echo "bench/fuzz.sh: reproduce with $fuzzer FILE; libFuzzer's log: $run/log" >&2
	exit 1
fi
if [ $rc -ne 0 ]; then
	echo "bench/fuzz.sh: the fuzzer exited $rc without a crashing input; its log: $run/log" >&2
	tail -n 15 "$run/log" >&2
	exit 2
fi
exit 0
