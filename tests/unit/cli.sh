#!/usr/bin/env bash
# The command line says what confine(8) says: --version gives meson's
# version, `help COMMAND` starts with the command's SYNOPSIS line exactly as
# the man page has it (markup removed), `COMMAND --help` and `-h` print the
# same on stdout with status 0, and usage errors go to stderr with status 2,
# naming the command. Runs the built binary without privileges.
#
# Environment: CONFINE (the binary), CONFINE_VERSION (meson's version),
# TESTS_DIR (the tests/ directory of the source tree).
set -u

failed=0
checks=0
tmp=$(mktemp -d /tmp/confine-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

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

man=$TESTS_DIR/../docs/confine.8.scd
[ -r "$man" ] || { echo "cannot read $man"; exit 1; }

run --version
check "--version prints 'confine $CONFINE_VERSION' (saw '$(cat "$tmp/out")')" \
	test "$(cat "$tmp/out")" = "confine $CONFINE_VERSION"
check "--version exits 0 (saw $rc)" test "$rc" -eq 0

# The SYNOPSIS lines that name a command: "*confine check* [*--rules*] ...".
synopsis=$(sed -n '/^# SYNOPSIS/,/^# /p' "$man" |
	grep -E '^\*confine [a-z]+\*' | tr -d '*_')
commands=$(awk '{ print $2 }' <<<"$synopsis")
# Every command of the binary's table is in the man page, and no other.
table=$("$CONFINE" --help | awk '/^confine [a-z]+ / { print $2 }' | sort | tr '\n' ' ')
check "the SYNOPSIS names the commands of confine --help ($table)" \
	test "$(sort <<<"$commands" | tr '\n' ' ')" = "$table"

while IFS= read -r line; do
	cmd=$(awk '{ print $2 }' <<<"$line")
	run help "$cmd"
	check "help $cmd exits 0 (saw $rc)" test "$rc" -eq 0
	check "help $cmd starts with 'Usage: $line' (saw '$(head -n 1 "$tmp/out")')" \
		test "$(head -n 1 "$tmp/out")" = "Usage: $line"
	cp "$tmp/out" "$tmp/help"
	for opt in --help -h; do
		run "$cmd" "$opt"
		check "$cmd $opt exits 0 (saw $rc)" test "$rc" -eq 0
		check "$cmd $opt prints what help $cmd does, on stdout" \
			cmp -s "$tmp/out" "$tmp/help"
		check "$cmd $opt prints nothing on stderr" test ! -s "$tmp/err"
	done
	run "$cmd" --no-such-option
	check "$cmd --no-such-option exits 2 (saw $rc)" test "$rc" -eq 2
	check "$cmd --no-such-option names the command and the option on stderr" \
		grep -q "^confine $cmd: .*--no-such-option" "$tmp/err"
	check "$cmd --no-such-option prints nothing on stdout" \
		test ! -s "$tmp/out"
done <<<"$synopsis"

# An option of another command, and a missing value.
run status --rules
check "status --rules exits 2 (saw $rc)" test "$rc" -eq 2
run run -p
check "run -p without a FILE exits 2 (saw $rc)" test "$rc" -eq 2
check "run -p says the option needs a value" \
	grep -q "^confine run: option '-p' needs a value" "$tmp/err"
# Without a FILE, check reads the policy directory; an empty one is an
# error that names it (tests/unit/policy-dir.sh tests the rest).
mkdir "$tmp/policies"
CONFINE_POLICY_DIR=$tmp/policies run check
check "check without a FILE and an empty policy directory exits 2 (saw $rc)" \
	test "$rc" -eq 2
check "check without a FILE says no policy is there" \
	grep -q "none in $tmp/policies" "$tmp/err"

# The program's own -h is left to the program.
run run -p /nonexistent -- true -h
check "run -p FILE -- true -h is not a request for help" \
	test ! -s "$tmp/out"

for args in "no-such-command" "help no-such-command" "--no-such-option" ""; do
	# shellcheck disable=SC2086 # the words of args are the arguments
	run $args
	check "'confine $args' exits 2 (saw $rc)" test "$rc" -eq 2
	check "'confine $args' says why on stderr" test -s "$tmp/err"
	check "'confine $args' prints nothing on stdout" test ! -s "$tmp/out"
done

for args in "--help" "-h" "help"; do
	run $args
	check "'confine $args' exits 0 (saw $rc)" test "$rc" -eq 0
	check "'confine $args' lists every command" \
		test "$(grep -c '^confine [a-z]* ' "$tmp/out")" -eq "$(wc -l <<<"$commands")"
done

if [ "$failed" -ne 0 ]; then
	echo "cli: $failed of $checks checks failed"
	exit 1
fi
echo "cli: all $checks checks passed"
