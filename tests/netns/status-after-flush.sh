#!/bin/bash
# `nft flush ruleset` (what Debian's nftables.service does on every start)
# takes confine's table and leaves its ip rules, routes and cgroups. status
# must not then say "no service is installed" and exit 0: it names the
# routing that is left as NOT IN FORCE and exits 1, and the same after
# `ip rule flush`-style partial removals is covered by verify-agreement.
# A fresh apply brings the service back in force.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"
apply_checked "confine apply succeeds" "$policy"
table=$(status_field syslog "s['table']")
log "service syslog routes by table $table"

out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
rc=$?
log "$out"
check "status: in force before the flush, exit 0" test "$rc" -eq 0

check "nft flush ruleset in the client's namespace" in_ns "$CLIENT" nft flush ruleset
check "the ip rule to table $table is still there" \
	bash -c "ip -n '$CLIENT' rule show | grep -q 'lookup $table'"

out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
rc=$?
log "$out"
check "status after the flush exits 1 (saw $rc)" test "$rc" -eq 1
check "status after the flush names table $table as NOT IN FORCE" \
	grep -qE "routing table $table .*NOT IN FORCE" <<<"$out"
check_not "status after the flush does not say that no service is installed" \
	grep -q "no service is installed" <<<"$out"

json=$("$CONFINE" status --netns "$CLIENT" --json 2>/dev/null)
left=$("$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(len(d["leftovers"]))' <<<"$json")
check "status --json lists one leftover (saw ${left:-none})" test "${left:-0}" -eq 1

out=$("$CONFINE" status --netns "$CLIENT" "$policy" 2>&1)
rc=$?
log "$out"
check "status FILE after the flush exits 1 and names the service not installed" \
	grep -q "service syslog: NOT IN FORCE: service syslog is not installed" <<<"$out"

apply_checked "confine apply again" "$policy"
out=$("$CONFINE" status --netns "$CLIENT" 2>&1)
rc=$?
log "$out"
check "status after the new apply: in force, exit 0 (saw $rc)" test "$rc" -eq 0
check_not "no leftover after the new apply" grep -q "routing table" <<<"$out"

finish
