#!/bin/bash
# `confine apply` twice installs the same state as once; `confine remove`
# takes away everything confine installed (nf_tables table, ip rules, routes,
# the service cgroup) and nothing else: someone else's table, rule and
# routes in the same namespace are byte-identical before and after. The
# syslog service has a Route=, so routing of its own; the second service,
# plain, has none, and gets no ip rule or table.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy" "Allow=udp 10.99.6.1:514" "Route=10.99.6.1 via $SRV_V4" \
	"" "[Service]" "Name=plain" "Allow=tcp 10.99.6.2:443"
snap="$TMPDIR_TEST/snap"
mkdir -p "$snap"

# Foreign state, as another tool would leave it.
in_ns "$CLIENT" nft -f - <<-'NFT'
	table inet foreign {
		chain out {
			type filter hook output priority 0; policy accept;
			meta mark 0x00000001 counter accept
		}
	}
NFT
in_ns "$CLIENT" ip rule add pref 2000 fwmark 0x1 lookup 100
in_ns "$CLIENT" ip -6 rule add pref 2000 fwmark 0x1 lookup 100
in_ns "$CLIENT" ip route add 10.99.5.0/24 via "$SRV_V4" table 100
in_ns "$CLIENT" ip -6 route add fd00:99:5::/64 via "$SRV_V6" table 100

# snapshot NAME: everything a user would look at, in the client namespace.
snapshot() {
	local d="$snap/$1"
	mkdir -p "$d"
	in_ns "$CLIENT" nft list ruleset >"$d/ruleset"
	in_ns "$CLIENT" nft list table inet foreign >"$d/foreign" 2>&1
	in_ns "$CLIENT" ip -d rule show >"$d/rule4"
	in_ns "$CLIENT" ip -6 -d rule show >"$d/rule6"
	in_ns "$CLIENT" ip route show table all >"$d/route4"
	in_ns "$CLIENT" ip -6 route show table all >"$d/route6"
}

# confine_state NAME TABLE: confine's own objects.
confine_state() {
	local d="$snap/$1"
	mkdir -p "$d"
	in_ns "$CLIENT" nft -s list table inet confine >"$d/confine-table" 2>&1
	in_ns "$CLIENT" ip -d rule show pref 1900 >"$d/confine-rule4"
	in_ns "$CLIENT" ip -6 -d rule show pref 1900 >"$d/confine-rule6"
	in_ns "$CLIENT" ip route show table "$2" >"$d/confine-route4" 2>&1
	in_ns "$CLIENT" ip -6 route show table "$2" >"$d/confine-route6" 2>&1
}

# same A B FILE: byte-identical, else show the diff.
same() {
	if cmp -s "$snap/$1/$3" "$snap/$2/$3"; then
		pass "$3: identical after $1 and $2 ($(wc -l <"$snap/$1/$3") lines)"
	else
		fail "$3 differs between $1 and $2:"
		diff -u "$snap/$1/$3" "$snap/$2/$3" | sed 's/^/    /'
	fi
}

snapshot before

# First apply.
apply_checked "first confine apply succeeds" "$policy"

table=$(status_field syslog "s['table']")
mark=$(status_field syslog "s['mark']")
log "status: mark $mark table $table"
check "confine status reports a routing table ('$table')" test -n "$table"
[ -n "$table" ] || table=19001
for k in nft rule_ipv4 rule_ipv6 unreachable_ipv4 unreachable_ipv6; do
	v=$(status_field syslog "s['state']['$k']")
	check "status state.$k is true (saw '$v')" test "$v" = true
done

confine_state apply1 "$table"
snapshot apply1
for f in confine-table confine-rule4 confine-rule6 confine-route4 confine-route6; do
	echo "--- $f after the first apply:"
	sed 's/^/    /' "$snap/apply1/$f"
done
check "table inet confine exists" grep -q '^table inet confine' "$snap/apply1/confine-table"
check "IPv4 rule pref 1900 fwmark ... lookup $table, protocol 245" \
	grep -qE "^1900:.*fwmark .*lookup $table.*proto (245|confine)" "$snap/apply1/confine-rule4"
check "IPv6 rule pref 1900 fwmark ... lookup $table, protocol 245" \
	grep -qE "^1900:.*fwmark .*lookup $table.*proto (245|confine)" "$snap/apply1/confine-rule6"
check "one confine rule per family: service plain, without Route=, has none" \
	test "$(grep -c '^1900:' "$snap/apply1/confine-rule4")$(grep -c '^1900:' "$snap/apply1/confine-rule6")" = 11
check "status: service plain routes by the host's tables (table 0)" \
	test "$(status_field plain "s['table']")" = 0
check "IPv4 table $table has the unreachable default" \
	grep -q '^unreachable default' "$snap/apply1/confine-route4"
check "IPv6 table $table has the unreachable default" \
	grep -q '^unreachable default' "$snap/apply1/confine-route6"
check "IPv4 table $table throws $SRV_V4" grep -q "^throw $SRV_V4" "$snap/apply1/confine-route4"
check "IPv6 table $table throws $SRV_V6" grep -q "^throw $SRV_V6" "$snap/apply1/confine-route6"
check "the service cgroup exists: $CGROUP2/$CG_PARENT_REL/syslog" \
	test -d "$CGROUP2/$CG_PARENT_REL/syslog"
same before apply1 foreign

# Second apply: nothing changes.
apply_checked "second confine apply succeeds" "$policy"
confine_state apply2 "$table"
snapshot apply2
for f in confine-table confine-rule4 confine-rule6 confine-route4 confine-route6 \
	 rule4 rule6 route4 route6; do
	same apply1 apply2 "$f"
done

# Remove by name, then remove everything (nothing left: still success).
out=$("$CONFINE" remove --netns "$CLIENT" syslog 2>&1)
rc=$?
echo "$out"
check "confine remove syslog succeeds (exit $rc)" test "$rc" -eq 0
out=$("$CONFINE" remove --netns "$CLIENT" 2>&1)
rc=$?
echo "$out"
check "a second confine remove (nothing left) succeeds (exit $rc)" test "$rc" -eq 0

snapshot after
check_not "no table inet confine after remove" in_ns "$CLIENT" nft list table inet confine 2>/dev/null
check "no rule with pref 1900 (IPv4)" test -z "$(in_ns "$CLIENT" ip rule show pref 1900)"
check "no rule with pref 1900 (IPv6)" test -z "$(in_ns "$CLIENT" ip -6 rule show pref 1900)"
check_not "no rule with protocol 245 (IPv4)" grep -qE 'proto (245|confine)' "$snap/after/rule4"
check_not "no rule with protocol 245 (IPv6)" grep -qE 'proto (245|confine)' "$snap/after/rule6"
check "no route in table $table (IPv4)" test -z "$(in_ns "$CLIENT" ip route show table "$table" 2>/dev/null)"
check "no route in table $table (IPv6)" test -z "$(in_ns "$CLIENT" ip -6 route show table "$table" 2>/dev/null)"
check "no route with protocol 245 (IPv4)" \
	test -z "$(in_ns "$CLIENT" ip route show table all proto 245)"
check "no route with protocol 245 (IPv6)" \
	test -z "$(in_ns "$CLIENT" ip -6 route show table all proto 245)"
check_not "no service cgroup $CGROUP2/$CG_PARENT_REL/syslog" \
	test -d "$CGROUP2/$CG_PARENT_REL/syslog"
for f in ruleset foreign rule4 rule6 route4 route6; do
	same before after "$f"
done

n=$("$CONFINE" status --netns "$CLIENT" --json | "$PYTHON" -c \
	'import json, sys; print(len(json.load(sys.stdin)["services"]))')
check "confine status --json lists no service after remove (saw '$n')" test "$n" = 0

finish
