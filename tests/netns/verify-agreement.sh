#!/bin/bash
# `confine status` and `confine run` share one definition of "in force":
# status reports exactly what run would refuse to start on, in the same
# words. The test installs the exclusive syslog policy (with one Route=) in
# its client namespace and then breaks one piece at a time, the way an
# administrator or another tool could:
#
#	map      the cgroup's element in the cgroup map  (nft delete element)
#	rule4    the IPv4 ip rule of pref 1900            (ip rule del)
#	rule6    the IPv6 ip rule of pref 1900            (ip -6 rule del)
#	unreach4 the IPv4 unreachable default of table T  (ip route del)
#	unreach6 the IPv6 unreachable default of table T  (ip -6 route del)
#	route    the Route= route of table T              (ip route del)
#	bpf      the socket-mark program on the cgroup    (bpftool cgroup detach)
#	chain    the service's chain, emptied             (nft flush chain): every
#	         static piece is still there, only the probe sees it
#	foreign  another tool's chain that drops the probe before confine's
#	         chain sees it: apply cannot help, so run refuses
#	digest   another policy applied over this one: only `status FILE` and
#	         run, which have the file, can tell
#	table    the whole nf_tables table (nft delete table): status without
#	         the file no longer knows the service; with it, it must
#	leaf     with a second cgroup, a simulated systemd unit's leaf, only
#	         the leaf's socket-mark program: run under the unit and status
#	         must both find it
#
# First a whole install, with Mark= and Table= automatic and then set, is
# in force by status, status FILE, status --json and run. Then, for each
# piece: `confine status` exits 1 and its line names the piece; `status
# FILE` and `status --json FILE` do too; `confine run` prints the same
# reason text as `status FILE`, applies again, and either starts the
# program (status then says in force) or refuses with a reason that status
# then repeats. `confine apply` restores the piece before the next one.

. "$(dirname "$0")/lib.sh"

require_all
require_cmds bpftool
setup_topology

# 10.99.5.1 is reached by a Route= of table T only, so that one route of
# the table is the policy's and not confine's own. The pieces are broken
# under a policy with Mark= and Table=, as examples/syslog.policy has;
# one with both automatic is checked healthy first (status FILE must assign
# them as run does before it can compare anything).
auto="$TMPDIR_TEST/auto.policy"
write_policy "$auto" "Allow=udp 10.99.5.1:514" "Route=10.99.5.1 via $SRV_V4"
policy="$TMPDIR_TEST/syslog.policy"
write_policy "$policy" "Allow=udp 10.99.5.1:514" "Route=10.99.5.1 via $SRV_V4" \
	"Mark=0x14" "Table=20"
other="$TMPDIR_TEST/other.policy"
write_policy "$other" "Allow=udp 10.99.5.1:515" "Route=10.99.5.1 via $SRV_V4" \
	"Mark=0x14" "Table=20"

prog=$(type -P echo)
cg_dir="$CGROUP2$(service_cgroup)"

# ---------------------------------------------------------------- helpers

# confine_status [ARG...]: `confine status` in the client, FILE... and
# --json from ARG. Sets ST_RC, ST_OUT (stdout), ST_LINE (the syslog line)
# and ST_REASON (what follows "NOT IN FORCE: ").
confine_status() {
	ST_OUT=$(timeout 30 "$CONFINE" status --netns "$CLIENT" "$@" \
		2>"$TMPDIR_TEST/status.err")
	ST_RC=$?
	ST_LINE=$(grep -m1 '^service syslog:' <<<"$ST_OUT" ||
		echo "(no line for service syslog: $(head -n 1 <<<"$ST_OUT"))")
	ST_REASON=$(sed -n 's/^service syslog: NOT IN FORCE: //p' <<<"$ST_LINE")
}

# confine_run [FILE]: `confine run -p FILE -- echo OK`, FILE the pieces'
# policy unless given. Sets RUN_RC, RUN_OUT, RUN_ERR, RUN_REASON (of "is
# not in force: R; applying it again") and RUN_REFUSAL (of "refusing to
# start ...: ... is not in force: R").
confine_run() {
	timeout 30 "$CONFINE" run --netns "$CLIENT" -p "${1:-$policy}" -- "$prog" OK \
		>"$TMPDIR_TEST/run.out" 2>"$TMPDIR_TEST/run.err"
	RUN_RC=$?
	run_parse
}

# confine_run_in_unit: the same from a simulated systemd unit, as
# systemd-leaf.sh does it ($INVOCATION_ID and a cgroup named *.service):
# run uses, and maps, the leaf $unit_rel/confine-syslog.
unit_rel="/confine-test-$$/fake.service"
confine_run_in_unit() {
	(
		echo "$BASHPID" >"$CGROUP2$unit_rel/cgroup.procs" || exit 99
		INVOCATION_ID=0123456789abcdef0123456789abcdef exec timeout 30 \
			"$CONFINE" run --netns "$CLIENT" -p "$policy" -- "$prog" OK
	) >"$TMPDIR_TEST/run.out" 2>"$TMPDIR_TEST/run.err"
	RUN_RC=$?
	run_parse
}

run_parse() {
	RUN_OUT=$(cat "$TMPDIR_TEST/run.out")
	RUN_ERR=$(cat "$TMPDIR_TEST/run.err")
	RUN_REASON=$(sed -n 's/^confine: service syslog is not in force: \(.*\); applying it again$/\1/p' \
		<<<"$RUN_ERR" | head -n 1)
	RUN_REFUSAL=$(sed -n 's/^confine: refusing to start .*: confinement of service syslog is not in force: //p' \
		<<<"$RUN_ERR" | head -n 1)
}

# json_verdict [ARG...]: `confine status --json ARG...`; prints the syslog
# service's "in_force", then the name and text of the field that says what
# is missing (the first of the usual names, a string or an object).
json_verdict() {
	timeout 30 "$CONFINE" status --netns "$CLIENT" --json "$@" \
		2>"$TMPDIR_TEST/status-json.err" |
		"$PYTHON" -c '
import json, sys
s = {x["name"]: x for x in json.load(sys.stdin)["services"]}.get("syslog")
if s is None:
    sys.exit("no service syslog in the JSON")
print(str(s.get("in_force")).lower())
for k in ("missing", "reason", "not_in_force", "why"):
    if s.get(k) not in (None, "", [], {}):
        v = s[k]
        print(k, v if isinstance(v, str) else json.dumps(v))
        break
'
}

# same_text A B: the same words, and some.
same_text() {
	[ -n "$1" ] && [ "$1" = "$2" ]
}

# in_force FILE...: status with the files says in force, exit 0.
in_force() {
	confine_status "$@"
	[ "$ST_RC" -eq 0 ] && [ "$ST_LINE" = "service syslog: in force" ]
}

# Values of the installed service, read back after every apply since a
# remove and apply may give it a new cgroup.
read_installed() {
	MARK=$(status_field syslog "s['mark']")
	MASK=$(status_field syslog "s['mark_mask']")
	TABLE=$(status_field syslog "s['table']")
	# As ip rule prints them, without leading zeros.
	MARK_HEX=$(printf '%x' "$MARK")
	MASK_HEX=$(printf '%x' "$MASK")
	CG_ID=$(stat -c %i "$cg_dir")
	# The level of `socket cgroupv2 level N`: the depth of the cgroup.
	local rel=${cg_dir#"$CGROUP2"/}
	local slashes=${rel//[!\/]/}
	LEVEL=$((${#slashes} + 1))
}

# restore: apply again; the piece the last step broke must come back.
# Should apply not repair it, remove and apply, so that the next piece
# starts from a whole install all the same.
restore() {
	local what=$1 out
	# A piece that is not confine's own is taken away by its unbreak_.
	if declare -F "unbreak_$what" >/dev/null; then
		"unbreak_$what"
	fi
	out=$(timeout 30 "$CONFINE" apply --netns "$CLIENT" "$policy" 2>&1)
	[ -n "$out" ] && echo "$out"
	if in_force "$policy"; then
		pass "$what: confine apply restores it (status FILE: in force)"
	else
		fail "$what: after confine apply, status FILE says '$ST_LINE' (exit $ST_RC)"
		timeout 30 "$CONFINE" remove --netns "$CLIENT" syslog
		timeout 30 "$CONFINE" apply --netns "$CLIENT" "$policy"
		in_force "$policy" ||
			fail "$what: not in force even after remove and apply: '$ST_LINE'"
	fi
	read_installed
}

# piece NAME REGEX FLAGS CMD...: break one piece with CMD, then see that
# status, status FILE, status --json FILE and run all name it (REGEX,
# grep -E), that run's reason is status's word for word, and what run did.
# FLAGS, comma-separated or "-": file_only for a piece that only a command
# with the policy can see; first_run for a service gone altogether, which
# run applies without a word, as on its first start.
piece() {
	local name=$1 regex=$2 flags=",$3," json key val file_only=0
	shift 3
	[[ $flags == *,file_only,* ]] && file_only=1
	log "---- $name: $*"
	if ! in_force "$policy"; then
		fail "$name: not in force before breaking it: '$ST_LINE'"
		return
	fi
	if ! "$@"; then
		fail "$name: could not break it (command: $*)"
		return
	fi

	confine_status
	echo "status: $ST_LINE (exit $ST_RC)"
	if [ "$file_only" = 1 ]; then
		log "$name: status without the policy cannot see this piece; it says '$ST_LINE' (exit $ST_RC)"
	else
		check "$name: status exits 1 (saw $ST_RC)" test "$ST_RC" -eq 1
		check "$name: status names the piece: '$ST_REASON'" \
			grep -qE -- "$regex" <<<"$ST_REASON"
	fi
	local plain=$ST_REASON

	confine_status "$policy"
	echo "status FILE: $ST_LINE (exit $ST_RC)"
	check "$name: status FILE exits 1 (saw $ST_RC)" test "$ST_RC" -eq 1
	check "$name: status FILE names the piece: '$ST_REASON'" \
		grep -qE -- "$regex" <<<"$ST_REASON"
	if [ "$file_only" != 1 ]; then
		check "$name: status with and without FILE give the same reason" \
			same_text "$plain" "$ST_REASON"
	fi
	local reason=$ST_REASON

	json=$(json_verdict "$policy")
	echo "status --json FILE: $(tr '\n' ' ' <<<"$json")"
	check "$name: status --json FILE has in_force false" \
		test "$(head -n 1 <<<"$json")" = false
	read -r key val < <(sed -n 2p <<<"$json")
	if [ -n "$key" ] && grep -qE -- "$regex" <<<"$val"; then
		pass "$name: status --json FILE names the piece in \"$key\""
	else
		fail "$name: status --json FILE names no missing piece matching /$regex/ (saw ${key:-no field}: ${val:-})"
	fi

	confine_run
	echo "run: exit $RUN_RC, stdout '$RUN_OUT'"
	echo "$RUN_ERR" | sed 's/^/run: /'
	if [[ $flags == *,first_run,* ]] && [ -z "$RUN_REASON" ]; then
		pass "$name: run applies the service as on a first start, without a word"
	elif [ -n "$RUN_REASON" ]; then
		pass "$name: run says the service is not in force and applies it again"
	else
		fail "$name: run does not say 'confine: service syslog is not in force: ...; applying it again'"
	fi
	if same_text "$RUN_REASON" "$reason"; then
		pass "$name: run and status FILE give the same reason"
	elif [[ $flags != *,first_run,* ]] || [ -n "$RUN_REASON" ]; then
		fail "$name: run's reason '$RUN_REASON' differs from status FILE's '$reason'"
	fi
	if [ "$RUN_RC" -eq 0 ]; then
		check "$name: run repaired it and started the program (stdout '$RUN_OUT')" \
			test "$RUN_OUT" = OK
		in_force "$policy"
		check "$name: after run repaired it, status FILE says in force (saw '$ST_LINE', exit $ST_RC)" \
			test "$?" -eq 0
		in_force
		check "$name: after run repaired it, status says in force (saw '$ST_LINE', exit $ST_RC)" \
			test "$?" -eq 0
	else
		log "$name: run refused (exit $RUN_RC) after applying again: '$RUN_REFUSAL'"
		check "$name: run's refusal exits 1 (saw $RUN_RC)" test "$RUN_RC" -eq 1
		check "$name: run refused without starting the program" \
			test -z "$RUN_OUT"
		check "$name: run's refusal gives a reason" test -n "$RUN_REFUSAL"
		confine_status "$policy"
		check "$name: status FILE after the refusal gives its reason (status: '$ST_REASON')" \
			same_text "$ST_REASON" "$RUN_REFUSAL"
	fi
	restore "$name"
}

# ---------------------------------------------------------------- the pieces

# nft names a cgroupv2 element by a path under /sys/fs/cgroup, which is not
# the cgroup2 mount on a hybrid host, and takes no bare id. The service's
# cgroup is the only element of its level's map, so emptying the map takes
# exactly that entry away.
break_map() {
	in_ns "$CLIENT" nft list map inet confine "cgroup_level_$LEVEL" |
		grep -q "$CG_ID : jump svc_syslog" &&
		in_ns "$CLIENT" nft flush map inet confine "cgroup_level_$LEVEL"
}

break_rule() {
	ip -n "$CLIENT" "-$1" rule del pref 1900 fwmark "$MARK/$MASK" lookup "$TABLE"
}

break_unreachable() {
	ip -n "$CLIENT" "-$1" route del unreachable default table "$TABLE"
}

break_route() {
	ip -n "$CLIENT" route del 10.99.5.1 via "$SRV_V4" table "$TABLE"
}

# break_bpf [CGROUP_DIR]: the service cgroup's unless given.
break_bpf() {
	local dir=${1:-$cg_dir} id
	id=$(bpftool -j cgroup show "$dir" | "$PYTHON" -c '
import json, sys
print(*[p["id"] for p in json.load(sys.stdin)
        if p["attach_type"] == "cgroup_inet_sock_create"
        and p["name"].startswith("cfn_m_")])')
	[ -n "$id" ] || return 1
	bpftool cgroup detach "$dir" sock_create id "$id"
}

break_crafted() {
	in_ns "$CLIENT" nft flush chain inet confine svc_syslog &&
		in_ns "$CLIENT" nft add rule inet confine svc_syslog \
			ip daddr 127.0.0.0/8 counter name svc_syslog_refused reject &&
		in_ns "$CLIENT" nft add rule inet confine svc_syslog \
			ip6 daddr ::1 counter name svc_syslog_refused reject &&
		in_ns "$CLIENT" nft add rule inet confine svc_syslog \
			counter name svc_syslog_allowed accept
}

break_chain() {
	in_ns "$CLIENT" nft flush chain inet confine svc_syslog
}

break_table() {
	in_ns "$CLIENT" nft delete table inet confine
}

# Another tool's chain, earlier on the output hook, drops the probe's
# datagram before confine's chain can see it. No apply can help: run must
# refuse, and status must say the same.
break_foreign() {
	in_ns "$CLIENT" nft -f - <<-'NFT'
		table inet verify_agreement_foreign {
			chain out {
				type filter hook output priority raw; policy accept;
				ip daddr 127.255.255.254 udp dport 9 drop
			}
		}
	NFT
}

unbreak_foreign() {
	in_ns "$CLIENT" nft delete table inet verify_agreement_foreign
}

break_digest() {
	timeout 30 "$CONFINE" apply --netns "$CLIENT" "$other"
}

# ---------------------------------------------------------------- healthy

# healthy WHAT FILE: a whole install of FILE is in force by every command.
healthy() {
	local what=$1 file=$2 json
	confine_status
	echo "$ST_OUT"
	check "$what: status exits 0 (saw $ST_RC)" test "$ST_RC" -eq 0
	check "$what: status says 'service syslog: in force' (saw '$ST_LINE')" \
		test "$ST_LINE" = "service syslog: in force"
	confine_status "$file"
	check "$what: status FILE exits 0 (saw $ST_RC)" test "$ST_RC" -eq 0
	check "$what: status FILE says 'service syslog: in force' (saw '$ST_LINE')" \
		test "$ST_LINE" = "service syslog: in force"
	json=$(json_verdict)
	check "$what: status --json has in_force true" test "$(head -n 1 <<<"$json")" = true
	check "$what: status --json names nothing missing (saw '$(sed -n 2p <<<"$json")')" \
		test -z "$(sed -n 2p <<<"$json")"
	json=$(json_verdict "$file")
	check "$what: status --json FILE has in_force true" test "$(head -n 1 <<<"$json")" = true
	confine_run "$file"
	echo "$RUN_ERR"
	check "$what: run exits 0 (saw $RUN_RC)" test "$RUN_RC" -eq 0
	check "$what: run starts the program (stdout '$RUN_OUT')" test "$RUN_OUT" = OK
	check_not "$what: run does not say the service is not in force" \
		grep -q "not in force" <<<"$RUN_ERR"
}

apply_checked "confine apply of the policy with automatic Mark= and Table=" "$auto"
healthy "healthy, automatic mark and table" "$auto"

apply_checked "confine apply of the policy with Mark=0x14 and Table=20" "$policy"
read_installed
log "installed: mark $MARK/$MASK, table $TABLE, cgroup $cg_dir (id $CG_ID, level $LEVEL)"
healthy "healthy" "$policy"

# ---------------------------------------------------------------- broken

piece map "map" - break_map
piece rule4 "IPv4 rule fwmark 0x0*$MARK_HEX/0x0*$MASK_HEX lookup $TABLE" - break_rule 4
piece rule6 "IPv6 rule fwmark 0x0*$MARK_HEX/0x0*$MASK_HEX lookup $TABLE" - break_rule 6
piece unreach4 "IPv4 unreachable default.* $TABLE" - break_unreachable 4
piece unreach6 "IPv6 unreachable default.* $TABLE" - break_unreachable 6
piece route "route.*(10\.99\.5\.1|table $TABLE)" file_only break_route
piece bpf "BPF" - break_bpf
# With the policy, the emptied chain is named as such; without it, status
# can only see that the probe met no rule (logged by piece()).
piece chain "rules of chain svc_syslog" file_only break_chain
# A chain made by hand that lets the probe's loopback datagram be refused
# and counted, and accepts all the rest: only the comparison of the rules
# with the policy's can see it.
piece crafted "rules of chain svc_syslog" file_only break_crafted
piece foreign "probe" - break_foreign
piece digest "differ" file_only break_digest
piece table "not installed" file_only,first_run break_table

# ---------------------------------------------------------------- two cgroups

# A service started both standalone and under a unit has two cgroups. When
# only the leaf's socket-mark program is gone, run under the unit finds it
# (the leaf is the cgroup it checks); status must find it too, whichever
# cgroup it looks at first.
log "---- leaf: the unit leaf's BPF program"
leaf_dir="$CGROUP2$unit_rel/confine-syslog"
if mkdir "$CGROUP2$unit_rel"; then
	confine_run_in_unit
	echo "$RUN_ERR"
	check "leaf: run under a simulated unit starts the program (exit $RUN_RC, stdout '$RUN_OUT')" \
		test "$RUN_OUT" = OK
	check "leaf: run made the leaf $unit_rel/confine-syslog" test -d "$leaf_dir"
	in_force "$policy"
	check "leaf: with two cgroups, status FILE says in force (saw '$ST_LINE')" \
		test "$?" -eq 0
	check "leaf: detach the leaf's socket-mark program" break_bpf "$leaf_dir"
	confine_status
	echo "status: $ST_LINE (exit $ST_RC)"
	check "leaf: status exits 1 (saw $ST_RC)" test "$ST_RC" -eq 1
	check "leaf: status names the leaf's BPF programs: '$ST_REASON'" \
		grep -qE "BPF.*$unit_rel/confine-syslog" <<<"$ST_REASON"
	confine_status "$policy"
	echo "status FILE: $ST_LINE (exit $ST_RC)"
	check "leaf: status FILE exits 1 (saw $ST_RC)" test "$ST_RC" -eq 1
	reason=$ST_REASON
	confine_run_in_unit
	echo "$RUN_ERR" | sed 's/^/run in unit: /'
	check "leaf: run under the unit says the leaf is not in force" \
		grep -qE "BPF.*$unit_rel/confine-syslog" <<<"$RUN_REASON"
	if same_text "$RUN_REASON" "$reason"; then
		pass "leaf: run under the unit and status FILE give the same reason"
	else
		fail "leaf: run under the unit says '$RUN_REASON', status FILE '$reason'"
	fi
	check "leaf: run under the unit repaired it and started the program (exit $RUN_RC, stdout '$RUN_OUT')" \
		test "$RUN_OUT" = OK
	in_force "$policy"
	check "leaf: afterwards status FILE says in force (saw '$ST_LINE')" \
		test "$?" -eq 0
else
	fail "leaf: cannot create the unit cgroup $CGROUP2$unit_rel"
fi

# ---------------------------------------------------------------- many
# With more than one service, status FILE compares the chains with one dump
# of every chain's rules instead of one dump each: the crafted chain is
# found there too, and the other service is not blamed.
two="$TMPDIR_TEST/two.policy"
write_policy "$two" "Allow=udp 10.99.5.1:514" "Route=10.99.5.1 via $SRV_V4" \
	"Mark=0x14" "Table=20" "" "[Service]" "Name=plain" "Allow=tcp 10.99.6.2:443"
check "many: apply the policy of two services" \
	timeout 30 "$CONFINE" apply --netns "$CLIENT" "$two"
check "many: craft syslog's chain" break_crafted
confine_status "$two"
log "$ST_OUT"
check "many: status FILE exits 1 (saw $ST_RC)" test "$ST_RC" -eq 1
check "many: status FILE names syslog's chain: '$ST_REASON'" \
	grep -q "rules of chain svc_syslog are not the ones" <<<"$ST_REASON"
check "many: service plain is in force" grep -q "^service plain: in force" <<<"$ST_OUT"

finish
