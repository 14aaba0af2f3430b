#!/bin/bash
# `nft flush ruleset` (what Debian's nftables.service does on every start)
# takes confine's table and leaves its ip rules, routes and cgroups. status
# must not then say "no service is installed" and exit 0: it names what is
# left as NOT IN FORCE and exits 1, and the same after `ip rule
# flush`-style partial removals is covered by verify-agreement. A fresh
# apply brings the service back in force, and `confine remove` leaves
# nothing that status would take for a flushed confine.
#
# Twice: a service without routing of its own, whose only trace after the
# flush is confine's marker (an unreachable default in table 19000 that no
# rule looks up), and one with a Route=, whose ip rule and table are left.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

readonly MARKER_TABLE=19000

# flush_case NAME EXTRA_POLICY_LINE...
flush_case() {
	local name=$1 policy="$TMPDIR_TEST/$1.conf" table out rc json left want
	shift
	log "---- $name"
	write_policy "$policy" "$@"
	apply_checked "$name: confine apply succeeds" "$policy"
	table=$(status_field syslog "s['table']")
	log "service syslog routes by table $table"
	check "$name: confine's marker is in table $MARKER_TABLE" \
		bash -c "ip -n '$CLIENT' route show table $MARKER_TABLE | grep -q '^unreachable default'"
	check_not "$name: no ip rule looks up table $MARKER_TABLE" \
		bash -c "ip -n '$CLIENT' rule show | grep -q 'lookup $MARKER_TABLE'"

	out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
	rc=$?
	log "$out"
	check "$name: status: in force before the flush, exit 0" test "$rc" -eq 0

	check "$name: nft flush ruleset in the client's namespace" in_ns "$CLIENT" nft flush ruleset
	if [ "$table" = 0 ]; then
		want="confine's services: NOT IN FORCE: routing table $MARKER_TABLE holds confine's marker"
	else
		check "$name: the ip rule to table $table is still there" \
			bash -c "ip -n '$CLIENT' rule show | grep -q 'lookup $table'"
		want="routing table $table .*NOT IN FORCE"
	fi

	out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
	rc=$?
	log "$out"
	check "$name: status after the flush exits 1 (saw $rc)" test "$rc" -eq 1
	check "$name: status after the flush says: $want" grep -qE "$want" <<<"$out"
	check_not "$name: status after the flush does not say that no service is installed" \
		grep -q "no service is installed" <<<"$out"

	json=$("$CONFINE" status --netns "$CLIENT" --json 2>/dev/null)
	left=$("$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(len(d["leftovers"]))' <<<"$json")
	check "$name: status --json lists one leftover (saw ${left:-none})" test "${left:-0}" -eq 1

	out=$("$CONFINE" status --netns "$CLIENT" "$policy" 2>&1)
	log "$out"
	check "$name: status FILE after the flush names the service not installed" \
		grep -q "service syslog: NOT IN FORCE: service syslog is not installed" <<<"$out"

	apply_checked "$name: confine apply again" "$policy"
	out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
	rc=$?
	log "$out"
	check "$name: status after the new apply: in force, exit 0 (saw $rc)" test "$rc" -eq 0
	check_not "$name: no leftover after the new apply" grep -q "NOT IN FORCE" <<<"$out"

	"$CONFINE" remove --netns "$CLIENT" syslog
	out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
	rc=$?
	log "$out"
	check "$name: after confine remove syslog: no service is installed, exit 0 (saw $rc)" \
		bash -c "test $rc -eq 0 && grep -q 'no service is installed' <<<'$out'"
	check_not "$name: after remove, the marker is gone" \
		bash -c "ip -n '$CLIENT' route show table $MARKER_TABLE proto 245 | grep -q ."
}

flush_case host-routing
flush_case own-routing "Allow=udp 10.99.6.1:514" "Route=10.99.6.1 via $SRV_V4"

finish
