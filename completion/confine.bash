# bash completion for confine(8).
#
# Installed by `meson install` as bash-completion/completions/confine, where
# bash-completion loads it the first time "confine" is completed. It also
# works on its own: `. completion/confine.bash`.
#
# What it completes: the commands, --help and --version; each command's
# options, --help among them; the command names after "help"; network
# namespace names after --netns (from /run/netns, where `ip netns add` puts
# them); files after -p and for check and apply; the service names of the
# -p file after -s (for watch: the installed ones and "others"); installed
# service names for remove (read with `confine status`, so only as root);
# and after "--" in run, the command to confine.

# COMPREPLY=($(compgen ...)) splits on white space, as completions usually
# do: commands, options, namespace and service names contain none.
# shellcheck disable=SC2207

_confine_netns() {
	local d
	for d in /run/netns/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}"
	done
}

# The service units installed, from the unit directories (systemctl needs a
# running systemd): what `confine wrap` takes. Templates (name@.service)
# are left out.
_confine_units() {
	local f
	for f in /etc/systemd/system/*.service /run/systemd/system/*.service \
		/usr/lib/systemd/system/*.service /lib/systemd/system/*.service; do
		[ -e "$f" ] || continue
		f=${f##*/}
		[[ $f == *@.service ]] || echo "$f"
	done | sort -u
}

# The units that have the drop-in of `confine wrap`: what unwrap takes.
_confine_wrapped() {
	local d
	for d in /etc/systemd/system/*.service.d; do
		[ -e "$d/confine.conf" ] || continue
		d=${d##*/}
		echo "${d%.d}"
	done
}

# The Name= values of a policy file: what `confine run -s` takes.
_confine_policy_names() {
	[ -r "$1" ] || return 0
	sed -n 's/^Name[[:space:]]*=[[:space:]]*\([^[:space:];]*\).*/\1/p' "$1"
}

# Installed services, as `confine status` lists them. It needs root; for
# anyone else there is nothing to offer.
_confine_installed() {
	[ "${EUID:-1}" -eq 0 ] || return 0
	local netns=$1 cmd=${COMP_WORDS[0]}
	# The command as typed (build/confine, say), or confine from PATH.
	command -v "$cmd" >/dev/null 2>&1 || cmd=confine
	if [ -n "$netns" ]; then
		timeout 5 "$cmd" status --netns "$netns" 2>/dev/null
	else
		timeout 5 "$cmd" status 2>/dev/null
	fi | sed -n 's/^service \([^:]*\):.*/\1/p'
}

_confine_files() {
	compopt -o filenames 2>/dev/null
	if declare -F _filedir >/dev/null; then
		_filedir
	else
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$1"))
	fi
}

_confine() {
	local words=() i w join=0
	# With "=" in COMP_WORDBREAKS (bash's default), bash hands over
	# "--netns=NS" as three words, "--netns" "=" "NS". Join them again, so
	# that the rest sees the words as confine will.
	for ((i = 0; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ "$w" = "=" ] && [ ${#words[@]} -gt 1 ] &&
			[[ ${words[-1]} == --* ]]; then
			words[-1]+="="
			join=1
		elif [ "$join" = 1 ]; then
			words[-1]+=$w
			join=0
		else
			words+=("$w")
		fi
	done
	local cword=$((${#words[@]} - 1))
	local cur=${words[cword]} prev=${words[cword - 1]}
	local cmd="" netns="" policy="" prog_at=0
	COMPREPLY=()

	if [ "$cword" -eq 1 ]; then
		COMPREPLY=($(compgen -W "check apply run remove status doctor guard watch wrap unwrap help --help --version" -- "$cur"))
		return 0
	fi
	cmd=${words[1]}

	# What the words before the cursor already say. For run, prog_at is
	# where the program starts: after "--", or at the first word that is
	# neither an option nor an option's value (confine stops reading
	# options there, so the program's own options are left alone).
	for ((i = 2; i < cword; i++)); do
		w=${words[i]}
		case ${words[i - 1]} in
		--netns) netns=$w; continue ;;
		-p | --policy) policy=$w; continue ;;
		-s | --service) continue ;;
		esac
		case $w in
		--) prog_at=$((i + 1)); break ;;
		--netns=*) netns=${w#--netns=} ;;
		--policy=*) policy=${w#--policy=} ;;
		-*) ;;
		*)
			[ "$cmd" = run ] && { prog_at=$i; break; }
			;;
		esac
	done

	if [ "$cmd" = run ] && [ "$prog_at" -gt 0 ]; then
		if [ "$cword" -eq "$prog_at" ]; then
			COMPREPLY=($(compgen -c -- "$cur"))
		else
			_confine_files "$cur"
		fi
		return 0
	fi

	case $prev in
	--netns)
		COMPREPLY=($(compgen -W "$(_confine_netns)" -- "$cur"))
		return 0
		;;
	-p | --policy)
		_confine_files "$cur"
		return 0
		;;
	-s | --service)
		if [ "$cmd" = watch ]; then
			# Installed services, and "others": processes of none.
			COMPREPLY=($(compgen -W "$(_confine_installed "$netns") others" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_confine_policy_names "$policy")" -- "$cur"))
		fi
		return 0
		;;
	esac

	# --OPTION=VALUE: readline replaces only what follows the "=" when
	# bash split the word there, and the whole word when it did not.
	if [[ $cur == --netns=* || $cur == --policy=* || $cur == --service=* ]]; then
		local opt=${cur%%=*} val=${cur#*=} pfx=""
		[ "${COMP_WORDS[COMP_CWORD]}" = "$cur" ] && pfx="$opt="
		case $opt in
		--netns) COMPREPLY=($(compgen -P "$pfx" -W "$(_confine_netns)" -- "$val")) ;;
		--policy)
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -P "$pfx" -f -- "$val"))
			;;
		--service)
			COMPREPLY=($(compgen -P "$pfx" -W "$(_confine_policy_names "$policy")" -- "$val"))
			;;
		esac
		return 0
	fi

	case $cmd in
	check)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--rules --help" -- "$cur"))
		else
			_confine_files "$cur"
		fi
		;;
	apply)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --help" -- "$cur"))
		else
			_confine_files "$cur"
		fi
		;;
	run)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --policy -p --service -s --help --" -- "$cur"))
		else
			COMPREPLY=($(compgen -c -- "$cur"))
		fi
		;;
	remove)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_confine_installed "$netns")" -- "$cur"))
		fi
		;;
	status | doctor)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --json --help" -- "$cur"))
		else
			_confine_files "$cur"
		fi
		;;
	guard)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --help" -- "$cur"))
		else
			_confine_files "$cur"
		fi
		;;
	wrap)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--policy -p --service -s --dry-run --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_confine_units)" -- "$cur"))
		fi
		;;
	unwrap)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_confine_wrapped)" -- "$cur"))
		fi
		;;
	watch)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--netns --service -s --json --alerts --help" -- "$cur"))
		else
			_confine_files "$cur"
		fi
		;;
	help)
		[ "$cword" -eq 2 ] &&
			COMPREPLY=($(compgen -W "check apply run remove status doctor guard watch wrap unwrap help" -- "$cur"))
		;;
	esac
	return 0
}

complete -F _confine confine
