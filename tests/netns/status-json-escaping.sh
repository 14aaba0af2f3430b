#!/bin/bash
# `confine status --json` escapes every string. systemd names a unit's
# cgroup after the unit, escaped its own way: a "-" inside an instance name
# becomes the four characters \x2d, and nothing stops a quote or a
# backslash. Under such a unit, `confine run` maps the leaf
# <unit cgroup>/confine-syslog, and status must give that path back to a
# JSON parser exactly. systemd is simulated as in systemd-leaf.sh:
# $INVOCATION_ID set and a cgroup whose name ends in .service, inside the
# test's own cgroup subtree.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"
# A backslash before x2d, a double quote, a lone backslash.
unit_name='getty@tty\x2d1"quoted\back.service'
unit_rel="/confine-test-$$/$unit_name"
leaf_rel="$unit_rel/confine-syslog"
mkdir "$CGROUP2$unit_rel" || fail "cannot create the unit cgroup $unit_rel"

# The "unit" process joins the unit cgroup, then execs confine run, which
# maps the leaf and execs true there.
out=$(
	echo "$BASHPID" >"$CGROUP2$unit_rel/cgroup.procs" || exit 99
	INVOCATION_ID=0123456789abcdef0123456789abcdef exec "$CONFINE" run \
		--netns "$CLIENT" -p "$policy" -s syslog -- true 2>&1
)
rc=$?
echo "$out"
check "confine run under the unit $unit_name exits 0 (saw $rc)" \
	test "$rc" -eq 0
check "the leaf $leaf_rel exists" test -d "$CGROUP2$leaf_rel"

"$CONFINE" status --netns "$CLIENT" --json >"$TMPDIR_TEST/status.json" \
	2>"$TMPDIR_TEST/status.err"
rc=$?
check "confine status --json exits 0 (saw $rc)" test "$rc" -eq 0
cat "$TMPDIR_TEST/status.json"

# Each cgroup path of the service, one per line, written by python with
# repr() so that what the parser read is shown unambiguously.
paths=$("$PYTHON" -c '
import json, sys
with open(sys.argv[1]) as f:
	d = json.load(f)
for s in d["services"]:
	if s["name"] == "syslog":
		for c in s["cgroups"]:
			print(repr(c["path"]))' "$TMPDIR_TEST/status.json")
rc=$?
echo "status cgroups: $paths"
check "python's json module parses confine status --json (exit $rc)" \
	test "$rc" -eq 0
want=$("$PYTHON" -c 'import sys; print(repr(sys.argv[1]))' "$leaf_rel")
check "status gives back the leaf path exactly: $want" \
	grep -qxF -- "$want" <<<"$paths"
check "the JSON escapes the quote and the backslashes" \
	grep -qF -- 'getty@tty\\x2d1\"quoted\\back.service' "$TMPDIR_TEST/status.json"

# The same structure as before, field for field and in order (the refusal
# log's counters, "log" and "others_log", were added at the ends).
keys=$("$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(",".join(d))
s = d["services"][0]
print(",".join(s))
print(",".join(s["cgroups"][0]))
print(",".join(s["state"]))
print(",".join(s["packets"]))' "$TMPDIR_TEST/status.json")
check "the JSON keeps its fields and their order" test "$keys" = \
"services,others_refused,leftovers,others_log
name,mark,mark_mask,table,exclusive,cgroups,state,in_force,missing,packets,log
path,id,sockets_marked,pids
nft,rule_ipv4,rule_ipv6,unreachable_ipv4,unreachable_ipv6
allowed,refused"

finish
