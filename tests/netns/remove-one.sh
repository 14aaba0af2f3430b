#!/bin/bash
# `confine remove NAME` takes away that service and nothing of any other.
# Three services are installed: a (exclusive, the log server's syslog
# ports, without routing of its own), b (with a Route= through table T)
# and c (exclusive, the second server's port 8080, with a Route= too). b is removed, then a. After each
# remove, read from the kernel, every piece of the services that remain
# is exactly as before: both ip rules, every route of their tables, their
# chains (rules compared stateless), their elements in the cgroup map and
# in the exclusive sets, their cgroups; status says they are in force
# (exit 0) and an unconfined process is still refused at their exclusive
# destinations. Every piece of the removed service is gone.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

ip -n "$SRV" addr add 10.99.5.1/32 dev lo
ip -n "$SRV2" addr add 10.99.6.1/32 dev lo

policy="$TMPDIR_TEST/three.policy"
cat >"$policy" <<EOF
[Confine]
CgroupParent=$CG_PARENT_REL

[Service]
Name=a
Allow=udp $SRV_V4:514
Allow=tcp $SRV_V4:601
Allow=tcp [$SRV_V6]:601
Exclusive=yes

[Service]
Name=b
Allow=udp 10.99.5.1:514
Allow=tcp $SRV2_V4:601
Route=10.99.5.1 via $SRV_V4

[Service]
Name=c
Allow=tcp $SRV2_V4:8080
Allow=tcp [$SRV2_V6]:8080
Allow=udp 10.99.6.1:515
Route=10.99.6.1 via $SRV2_V4
Exclusive=yes
EOF

apply_checked "confine apply of services a, b and c" "$policy"

declare -A MARK TABLE LEVEL CGID
MASK=$(status_field a "s['mark_mask']")
MASK_HEX=$(printf '0x%x' "$MASK")

# read_service NAME: its mark, table, cgroup id and level, from status
# --json and the cgroup file system.
read_service() {
	local n=$1 dir rel slashes
	MARK[$n]=$(printf '0x%x' "$(status_field "$n" "s['mark']")")
	TABLE[$n]=$(status_field "$n" "s['table']")
	dir="$CGROUP2$(service_cgroup "$n")"
	CGID[$n]=$(stat -c %i "$dir")
	rel=${dir#"$CGROUP2"/}
	slashes=${rel//[!\/]/}
	LEVEL[$n]=$((${#slashes} + 1))
	log "service $n: mark ${MARK[$n]}/$MASK_HEX table ${TABLE[$n]} cgroup $dir (id ${CGID[$n]}, level ${LEVEL[$n]})"
}

# pieces NAME: every kernel object of the service, one line each, as the
# kernel shows it (ip rule and route lines without their position).
pieces() {
	local n=$1 fam
	# A service without routing of its own (table 0) has no rule or route.
	for fam in 4 6; do
		[ "${TABLE[$n]}" = 0 ] && break
		ip -n "$CLIENT" "-$fam" rule show |
			grep -E "fwmark ${MARK[$n]}/$MASK_HEX lookup ${TABLE[$n]}( |$)" |
			sed "s/^/rule$fam: /"
		ip -n "$CLIENT" "-$fam" route show table "${TABLE[$n]}" |
			sed "s/^/route$fam: /"
	done
	in_ns "$CLIENT" nft -s list chain inet confine "svc_$n" 2>/dev/null |
		sed "s/^/chain: /"
	in_ns "$CLIENT" nft list map inet confine "cgroup_level_${LEVEL[$n]}" 2>/dev/null |
		grep -oE "${CGID[$n]} : jump svc_$n" | sed 's/^/map: /'
	[ -d "$CGROUP2$(service_cgroup "$n")" ] && echo "cgroup: $(service_cgroup "$n")"
}

# has PIECES REGEX: a line of PIECES matches.
has() {
	grep -qE -- "$2" <<<"$1"
}

# Elements of the exclusive sets, one address range a line.
exclusive_elems() {
	local set
	for set in exclusive_ip4 exclusive_ip6; do
		in_ns "$CLIENT" nft list set inet confine "$set" 2>/dev/null |
			tr ',{}' '\n\n\n' | grep -oE '[0-9a-f.:]+(-[0-9a-f.:]+)? \. [0-9a-z-]+' |
			sed "s/^/$set: /"
	done
}

# whole NAME PIECES: the snapshot has everything a service has: both
# rules and both unreachable defaults (with routing of its own), a chain,
# the map element and the cgroup.
whole() {
	local n=$1 p=$2 what routing=()
	[ "${TABLE[$n]}" = 0 ] || routing=("^rule4: " "^rule6: " \
		"^route4: unreachable default" "^route6: unreachable default")
	for what in "${routing[@]}" "^chain: .*chain svc_$n " \
		"^map: " "^cgroup: "; do
		has "$p" "$what" || { echo "service $n lacks /$what/"; return 1; }
	done
}

for s in a b c; do
	read_service "$s"
done
declare -A BEFORE
for s in a b c; do
	BEFORE[$s]=$(pieces "$s")
	check "service $s is whole before any remove ($(wc -l <<<"${BEFORE[$s]}") pieces)" \
		whole "$s" "${BEFORE[$s]}"
done
check "service b's table ${TABLE[b]} has its Route=" has "${BEFORE[b]}" "^route4: 10\.99\.5\.1 via $SRV_V4"
check "service c's table ${TABLE[c]} has its Route=" has "${BEFORE[c]}" "^route4: 10\.99\.6\.1 via $SRV2_V4"
EXCL_BEFORE=$(exclusive_elems)
echo "$EXCL_BEFORE"
check "the exclusive set holds a's $SRV_V4" has "$EXCL_BEFORE" "^exclusive_ip4: $SRV_V4 "
check "the exclusive set holds c's $SRV2_V4" has "$EXCL_BEFORE" "^exclusive_ip4: $SRV2_V4 "

# kept WHEN NAME: the service is exactly as before the removes.
kept() {
	local when=$1 n=$2 now
	now=$(pieces "$n")
	if [ "$now" = "${BEFORE[$n]}" ]; then
		pass "$when: every piece of service $n is as before ($(wc -l <<<"$now") pieces)"
	else
		fail "$when: service $n changed: $(diff <(echo "${BEFORE[$n]}") <(echo "$now") | grep '^[<>]' | head -n 6 | tr '\n' '|')"
	fi
}

# gone WHEN NAME: nothing of the service is left.
gone() {
	local when=$1 n=$2 now fam
	now=$(pieces "$n")
	check "$when: nothing of service $n is left (saw: $(head -n 4 <<<"$now" | tr '\n' '|'))" \
		test -z "$now"
	for fam in 4 6; do
		check_not "$when: no IPv$fam rule lookup ${TABLE[$n]} is left" \
			bash -c "ip -n '$CLIENT' -$fam rule show | grep -qE 'lookup ${TABLE[$n]}( |\$)'"
	done
	check_not "$when: no map element jumps to svc_$n" \
		bash -c "ip netns exec '$CLIENT' nft list ruleset | grep -q 'jump svc_$n'"
}

# in_force_status WHEN NAME...: status exits 0 and lists exactly NAMEs,
# each in force.
in_force_status() {
	local when=$1 out rc n
	shift
	out=$(timeout 30 "$CONFINE" status --netns "$CLIENT" 2>"$TMPDIR_TEST/status.err")
	rc=$?
	echo "$out" | grep '^service '
	check "$when: status exits 0 (saw $rc)" test "$rc" -eq 0
	for n in "$@"; do
		check "$when: status says service $n is in force" \
			grep -qx "service $n: in force" <<<"$out"
	done
	check "$when: status lists $# services" \
		test "$(grep -c '^service ' <<<"$out")" -eq $#
}

# refused WHEN HOST PORT: an unconfined TCP connect is refused at once.
refused() {
	local out
	out=$(in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --timeout 2 \
		--token "$1" "tcp:$2:$3")
	check_refused_fast "$out" parent tcp "${2//[][]/}" "$3"
}

refused "before" "$SRV_V4" 601
refused "before" "$SRV2_V4" 8080

# ---------------------------------------------------------------- remove b

out=$(timeout 30 "$CONFINE" remove --netns "$CLIENT" b 2>&1)
rc=$?
echo "$out"
check "confine remove b exits 0 (saw $rc)" test "$rc" -eq 0
gone "after remove b" b
kept "after remove b" a
kept "after remove b" c
check "after remove b: the exclusive sets are as before" \
	test "$(exclusive_elems)" = "$EXCL_BEFORE"
in_force_status "after remove b" a c
refused "after remove b" "$SRV_V4" 601
refused "after remove b" "$SRV2_V4" 8080

# ---------------------------------------------------------------- remove a

out=$(timeout 30 "$CONFINE" remove --netns "$CLIENT" a 2>&1)
rc=$?
echo "$out"
check "confine remove a exits 0 (saw $rc)" test "$rc" -eq 0
gone "after remove a" a
kept "after remove a" c
excl=$(exclusive_elems)
check_not "after remove a: the exclusive set no longer holds $SRV_V4" \
	has "$excl" "^exclusive_ip4: $SRV_V4 "
check "after remove a: c's elements are as before" \
	test "$(grep -v -e "$SRV_V4" -e "$SRV_V6" <<<"$excl")" = \
	"$(grep -v -e "$SRV_V4" -e "$SRV_V6" <<<"$EXCL_BEFORE")"
in_force_status "after remove a" c
refused "after remove a" "$SRV2_V4" 8080

# Applying the file again brings a and b back beside c, and c is untouched.
apply_checked "confine apply of the file again" "$policy"
kept "after apply again" c
in_force_status "after apply again" a b c

finish
