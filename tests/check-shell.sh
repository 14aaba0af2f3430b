#!/usr/bin/env bash
# Every shell script in the repository is shellcheck clean at the warning
# level, following the files it sources (.shellcheckrc). A script is a file
# git tracks that ends in .sh or .bash, or starts with a #! line naming sh
# or bash.
set -u
cd "$(dirname "$0")/.." || exit 1

if ! command -v shellcheck >/dev/null; then
	if [ "${CONFINE_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "check-shell: cannot run: needs shellcheck (CONFINE_TESTS_MUST_RUN=1, so this is a failure)"
		exit 1
	fi
	echo "check-shell: SKIP: needs shellcheck"
	exit 77
fi

scripts=()
while IFS= read -r f; do
	[ -f "$f" ] || continue
	case $f in
	*.sh | *.bash) scripts+=("$f") ;;
	*)
		head -n 1 "$f" | grep -qE '^#!.*[/ ](ba)?sh( |$)' && scripts+=("$f")
		;;
	esac
done < <(git ls-files 2>/dev/null || find . -type f -not -path './build*' -not -path './.git/*')

if [ ${#scripts[@]} -eq 0 ]; then
	echo "check-shell: no shell script found (not a git checkout?)"
	exit 1
fi
echo "check-shell: shellcheck -S warning on ${#scripts[@]} scripts"
# Two scripts per shellcheck, as many at once as there are CPUs: each
# follows what its scripts source, which takes a while.
if printf '%s\0' "${scripts[@]}" |
	xargs -0 -n 2 -P "$(nproc)" shellcheck -S warning; then
	echo "check-shell: all ${#scripts[@]} scripts are clean"
	exit 0
fi
exit 1
