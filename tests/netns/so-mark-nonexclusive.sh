#!/bin/bash
# An unconfined process that sets SO_MARK to a service's mark is not
# routed by the service's table, even where no exclusive set would refuse
# it: confine clears its mark field on every packet of no service.
#
# The service "relay" is not exclusive. Its Route= leads to 10.99.7.1 and
# fd00:97::1, addresses on the second server's loopback that the client's
# main table has no route to: only table T reaches them. So a packet of no
# service gets there only if its mark is honoured by the ip rule of the
# service. so-mark-spoof.sh poses only at exclusive destinations, where
# the exclusive set refuses the packet whatever its mark.
#
# The control at the end shows that the posing is real: with table inet
# confine deleted (the ip rules and table T still there), the same marked
# probe does arrive.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_second_server

FAR_V4=10.99.7.1
FAR_V6=fd00:97::1
ip -n "$SRV2" addr add "$FAR_V4/32" dev lo
ip -n "$SRV2" addr add "$FAR_V6/128" dev lo

policy="$TMPDIR_TEST/relay.policy"
cat >"$policy" <<EOF
[Confine]
CgroupParent=$CG_PARENT_REL

[Service]
Name=relay
Allow=udp $FAR_V4:514
Allow=tcp $FAR_V4:601
Allow=udp [$FAR_V6]:514
Allow=tcp [$FAR_V6]:601
Route=$FAR_V4 via $SRV2_V4
Route=$FAR_V6 via $SRV2_V6
EOF

targets=("udp:$FAR_V4:514" "tcp:$FAR_V4:601" "udp:[$FAR_V6]:514" "tcp:[$FAR_V6]:601")

# probe WHO TOKEN [--mark M]: probe.py at the four targets, unconfined in
# the client (WHO=plain) or as the service (WHO=confined).
probe() {
	local who=$1 tok=$2
	shift 2
	if [ "$who" = confined ]; then
		timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$policy" -- \
			"$PYTHON" "$TMPDIR_TEST/probe.py" --timeout 2 --token "$tok" \
			"${targets[@]}" 2>>"$TMPDIR_TEST/run.err"
	else
		in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/probe.py" --timeout 2 \
			--token "$tok" "$@" "${targets[@]}"
	fi
}

# The sink's connections from the client (the TCP "connect" lines carry
# no token).
connects() {
	grep -cE "^tcp 601 .*($CLIENT2_V4|$CLIENT2_V6).* connect" "$SRV2_SINK_LOG"
}

# not_there WHAT OUTPUT TOKEN CONNECTS_BEFORE: no probe got through.
not_there() {
	local what=$1 out=$2 tok=$3 before=$4 h r
	for h in "$FAR_V4" "$FAR_V6"; do
		r=$(probe_field "$out" parent tcp "$h" 601 4)
		check "$what: tcp $h:601 does not connect (saw ${r:-no result})" \
			test -n "$r" -a "$r" != OK
	done
	check "barrier: the second server has handled everything sent so far" \
		sink_barrier "$SRV2" "$SRV2_SINK_LOG" udp:514 tcp:601
	check_absent "$what: at the second server" "$SRV2_SINK_LOG" "$tok"
	check "$what: no new TCP connection from the client at the second server" \
		test "$(connects)" -eq "$before"
}

# ---------------------------------------------------------------- before

tok="before-$$-$RANDOM"
out=$(probe plain "$tok")
echo "$out"
not_there "before apply, unconfined" "$out" "$tok" "$(connects)"

apply_checked "confine apply of the non-exclusive service relay" "$policy"
mark=$(status_field relay "s['mark']")
mask=$(status_field relay "s['mark_mask']")
table=$(status_field relay "s['table']")
log "relay: mark $mark/$mask, table $table"
check "status --json names relay's mark and table" test -n "$mark" -a -n "$table"
[ -n "$mark" ] || mark=0x01000000
check "relay's table $table has the Route= to $FAR_V4" \
	bash -c "ip -n '$CLIENT' route show table '$table' | grep -q '^$FAR_V4 via $SRV2_V4'"

# ---------------------------------------------------------------- the service

tok="svc-$$-$RANDOM"
out=$(probe confined "$tok")
echo "$out"
for h in "$FAR_V4" "$FAR_V6"; do
	check_connected "$out" parent udp "$h" 514
	check_connected "$out" parent tcp "$h" 601
	check "the service's udp datagram to $h arrived" \
		wait_line "$SRV2_SINK_LOG" "^udp 514 .*$tok parent udp $h 514"
	check "the service's tcp data to $h arrived" \
		wait_line "$SRV2_SINK_LOG" "^tcp 601 .*$tok parent tcp $h 601"
done

# ---------------------------------------------------------------- posing

tok="plain-$$-$RANDOM"
before=$(connects)
out=$(probe plain "$tok")
echo "unconfined, no mark:"
echo "$out"
not_there "unconfined, no mark" "$out" "$tok" "$before"

# The service's exact mark, and with a bit outside confine's mask, which
# confine must leave alone and which must not help either.
n=0
for m in "$mark" "$(printf '0x%08x' $((mark | 0x1)))"; do
	n=$((n + 1))
	tok="pose$n-$$-$RANDOM"
	before=$(connects)
	out=$(probe plain "$tok" --mark "$m")
	echo "unconfined, SO_MARK=$m:"
	echo "$out"
	not_there "unconfined with SO_MARK=$m" "$out" "$tok" "$before"
done

# ---------------------------------------------------------------- control

# Without confine's nf_tables table nothing clears the mark: the ip rule
# sends the marked probe through table T, and it arrives. This is what a
# confine that forgot to clear the field would let through.
check "control: delete table inet confine (ip rules and table $table stay)" \
	in_ns "$CLIENT" nft delete table inet confine
tok="ctl-$$-$RANDOM"
out=$(probe plain "$tok" --mark "$mark")
echo "control, SO_MARK=$mark without confine's table:"
echo "$out"
check "control: the marked udp datagram to $FAR_V4 arrives through table $table" \
	wait_line "$SRV2_SINK_LOG" "^udp 514 .*$tok parent udp $FAR_V4 514"
check_connected "$out" parent tcp "$FAR_V4" 601

finish
