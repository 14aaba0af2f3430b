#!/usr/bin/env bash
# completion/confine.bash offers what a user expects at each point of a
# confine command line. Runs without privileges: the completion function is
# called with the COMP_WORDS that bash would give it.
set -u
cd "$(dirname "$0")/.." || exit 1

failed=0
checks=0
tmp=$(mktemp -d /tmp/confine-completion.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=completion/confine.bash
. completion/confine.bash

# complete_line LINE: the completions for LINE, one per line, as bash would
# compute them with the cursor at the end of LINE (a trailing space starts
# a new, empty word). As bash does with its default COMP_WORDBREAKS, a word
# "--opt=value" becomes three words, "--opt" "=" "value" (two for "--opt=");
# with SPLIT_EQ=0 it stays one word.
complete_line() {
	local line=$1 w words=()
	read -r -a words <<<"$line"
	[[ $line == *" " ]] && words+=("")
	COMP_WORDS=()
	for w in "${words[@]}"; do
		if [ "${SPLIT_EQ:-1}" = 1 ] && [[ $w == --*=* ]]; then
			COMP_WORDS+=("${w%%=*}" "=")
			[ -n "${w#*=}" ] && COMP_WORDS+=("${w#*=}")
		else
			COMP_WORDS+=("$w")
		fi
	done
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_confine confine "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}"
}

# want LINE WORD...: every WORD is among the completions of LINE.
want() {
	local line=$1 got w
	shift
	got=$(complete_line "$line")
	for w in "$@"; do
		checks=$((checks + 1))
		if grep -qxF -- "$w" <<<"$got"; then
			echo "PASS: '$line' offers '$w'"
		else
			echo "FAIL: '$line' does not offer '$w'; it offers: $(tr '\n' ' ' <<<"$got")"
			failed=$((failed + 1))
		fi
	done
}

# only LINE WORD...: the completions of LINE are exactly the WORDs.
only() {
	local line=$1 got wanted
	shift
	got=$(complete_line "$line" | sed '/^$/d' | sort)
	wanted=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	checks=$((checks + 1))
	if [ "$got" = "$wanted" ]; then
		echo "PASS: '$line' offers exactly: $(tr '\n' ' ' <<<"$wanted")"
	else
		echo "FAIL: '$line' offers '$(tr '\n' ' ' <<<"$got")', want '$(tr '\n' ' ' <<<"$wanted")'"
		failed=$((failed + 1))
	fi
}

cat >"$tmp/two.policy" <<'P'
[Service]
Name=syslog
Allow=udp 10.99.0.1:514
[Service]
Name = fetch-2
Allow=tcp 192.0.2.1:443
P

only "confine " check apply run remove status doctor guard watch wrap unwrap help --help --version
only "confine st" status
only "confine --" --help --version
only "confine status -" --netns --json --help
only "confine doctor -" --netns --json --help
only "confine guard -" --netns --help
only "confine watch -" --netns --service -s --json --alerts --help
only "confine watch -s o" others
only "confine check --" --rules --help
want "confine run -" --netns --policy -p --service -s --help --
want "confine apply -" --netns --help
want "confine remove -" --netns --help
only "confine help " check apply run remove status doctor guard watch wrap unwrap help
only "confine wrap -" --policy -p --service -s --dry-run --help
only "confine unwrap -" --help
only "confine wrap rsyslog -p $tmp/two.policy -s " syslog fetch-2
want "confine wrap -p $tmp/t" "$tmp/two.policy"
only "confine help r" run remove
only "confine help run " ""
only "confine run -p $tmp/two.policy -s " syslog fetch-2
only "confine run --policy=$tmp/two.policy -s f" fetch-2
SPLIT_EQ=0 only "confine run --policy=$tmp/two.policy -s f" fetch-2
# After "--policy=", bash replaces what follows the "=" when it split the
# word there, and the whole word when it did not.
want "confine run --policy=$tmp/t" "$tmp/two.policy"
SPLIT_EQ=0 want "confine run --policy=$tmp/t" "--policy=$tmp/two.policy"
only "confine run -p $tmp/two.policy --service=s" syslog
SPLIT_EQ=0 only "confine run -p $tmp/two.policy --service=s" --service=syslog
want "confine check $tmp/tw" "$tmp/two.policy"
want "confine run -p $tmp/t" "$tmp/two.policy"
# The program after the options, with or without "--", is a command.
want "confine run -p $tmp/two.policy -- bas" bash
want "confine run -p $tmp/two.policy -s syslog bas" bash
# and its arguments are files, not confine's options.
want "confine run -p $tmp/two.policy -- /bin/ls $tmp/t" "$tmp/two.policy"
only "confine run -p $tmp/two.policy -- /bin/ls -" ""
# The service units of the unit directories (rsyslog is installed here).
if [ -e /lib/systemd/system/rsyslog.service ] || [ -e /usr/lib/systemd/system/rsyslog.service ]; then
	want "confine wrap rsysl" rsyslog.service
fi
# Nothing breaks where there is nothing to offer.
only "confine bogus " ""
complete_line "confine apply --netns " >/dev/null
checks=$((checks + 1))
echo "PASS: 'confine apply --netns ' completes without an error"

if [ "$failed" -ne 0 ]; then
	echo "check-completion: $failed of $checks checks failed"
	exit 1
fi
echo "check-completion: all $checks checks passed"
