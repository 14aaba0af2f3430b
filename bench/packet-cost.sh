#!/usr/bin/env bash
# What does confine cost per packet, against no confine and against what a
# user would pick instead? Every figure comes from the same run: the setups
# below live side by side, each in a network namespace of its own, and each
# round measures every (setup, sender) pair once, alternating the order
# from round to round, so that the machine's drift hits all alike. A
# figure is the median over ROUNDS rounds; a ratio is the median of the
# per-round ratios to the no-confine sender of the same round.
#
# Setups (N takes each value of SERVICES, "1 100 10000" by default):
#	none        no confine
#	confine-N   confine with N services applied (MarkMask=0xffff0000):
#	            "bench" plus N-1 others
#	bpf         the allow-list of "bench" as a cgroup_skb egress BPF
#	            program on the sender's cgroup (what systemd's
#	            IPAddressAllow= compiles to; bench/foils/cgroup-skb-allow.bpf.c)
#	nft-N       a linear nf_tables output chain with one
#	            `socket cgroupv2 level L "PATH" ... accept` and one
#	            `socket cgroupv2 level L "PATH" drop` rule per service,
#	            N services, "bench" last (the iptables -m cgroup habit)
# Senders: unconfined (a plain process of the namespace), confined (by
# `confine run -s bench`, or in the foil's cgroup).
# Traffic:
#	lo      connected UDP sender, empty datagrams, loopback (the worst case)
#	lookup  unconnected UDP sender (a route lookup per datagram, through the
#	        fib rules), empty datagrams, to the peer namespace: loopback
#	        would not do, the local table's rule comes before every other
#	veth    connected UDP sender, 1400-byte datagrams, to a peer namespace
#	tcp     iperf3 TCP stream to a peer namespace (Gbit/s)
#
#	bash bench/packet-cost.sh       # CONFINE=build/confine ROUNDS=7 SERVICES="1 100 10000"
#
# A UDP measurement sends for SEND_SECS (1) seconds, a TCP one for TCP_SECS
# (2). With METRIC=cpu, a UDP figure is datagrams per second of the
# sender's own CPU time rather than of wall time: less hit by other jobs
# on a busy machine, but blind to work the kernel defers to ksoftirqd.
#
# Prints a table and writes OUT (default bench/out/packet-cost.dat) for
# bench/plot.sh. A setup whose apply takes longer than APPLY_TIMEOUT (300 s)
# is left out ("timeout"); so is a measurement that takes longer than
# MEASURE_TIMEOUT (120 s). About 6 minutes with 7 rounds and 3 sizes,
# plus the applies and the setup of nft-N (40 s for 10,000).
# Root; asserts nothing (machines are noisy). Needs clang, bpftool, iperf3:
# bench/install-deps.sh installs them.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
as_root "$@" || { echo "packet-cost.sh: needs root" >&2; exit 1; }
bash "$BENCH_DIR/install-deps.sh" || exit 1
bench_private_lock "$@"
bench_confine

sizes=${SERVICES:-1 100 10000}
rounds=${ROUNDS:-7}
send_secs=${SEND_SECS:-1}
metric=${METRIC:-wall}
tcp_secs=${TCP_SECS:-2}
apply_timeout=${APPLY_TIMEOUT:-300}
measure_timeout=${MEASURE_TIMEOUT:-120}
cpu=${CPU:-$(($(nproc) - 1))}
out=${OUT:-$BENCH_DIR/out/packet-cost.dat}
mkdir -p "$(dirname "$out")"

cg2=$(find_cgroup2)
[ -n "$cg2" ] || { echo "packet-cost.sh: no cgroup2 mount" >&2; exit 1; }
parent=confine-bench-pkt-$$
dir=$(mktemp -d)
# In the bench's own /run/confine (bench_private_lock); not under $dir,
# whose name has a dot, which libbpf turns into "_" in pinned paths.
bpffs=/run/confine/bench-bpf
peer=pk-$$-peer
namespaces=()
pids=()
cleanup() {
	local p n
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null; done
	# Deleting a namespace takes confine's and the foils' rules, routes
	# and rulesets with it; the cgroups, empty by now, go directly (and
	# with them the BPF programs attached to them).
	for n in "${namespaces[@]}" "$peer"; do ip netns del "$n" 2>/dev/null; done
	remove_cgroups "$cg2/$parent"
	umount "$bpffs" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$dir/udp-send" "$BENCH_DIR/udp-send.c" || exit 1
send=$dir/udp-send
mkdir -p "$cg2/$parent" || exit 1

# A UDP socket on 0.0.0.0:5999 that never reads: datagrams are queued,
# then dropped, cheaply.
sink() { # NS
	ip netns exec "$1" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5999))
time.sleep(86400)' &
	pids+=($!)
}

ip netns add "$peer" && ip -n "$peer" link set lo up || exit 1
namespaces+=("$peer")
sink "$peer"
ip netns exec "$peer" iperf3 -s -p 5201 >/dev/null 2>&1 &
pids+=($!)

# setup NAME INDEX: a namespace pk-$$-NAME with loopback and a sink, and a
# veth to the peer (10.201.INDEX.2 here, .1 there, also the default route).
declare -A ns_of idx_of
setup() {
	local ns=pk-$$-$1 i=$2
	ip netns add "$ns" || return 1
	namespaces+=("$ns")
	ns_of[$1]=$ns idx_of[$1]=$i
	ip -n "$ns" link set lo up &&
		ip -n "$ns" link add v0 type veth peer name "v$i" netns "$peer" &&
		ip -n "$ns" addr add "10.201.$i.2/24" dev v0 && ip -n "$ns" link set v0 up &&
		ip -n "$peer" addr add "10.201.$i.1/24" dev "v$i" && ip -n "$peer" link set "v$i" up &&
		ip -n "$ns" route add default via "10.201.$i.1" || return 1
	sink "$ns"
}

# The address of service I (2 and up) of the N others.
other_addr() { echo "10.$(($1 / 250)).$(($1 % 250)).1"; }

confine_policy() { # N INDEX
	local n=$1 i=$2 k excl
	printf '[Confine]\nMarkMask=0xffff0000\nCgroupParent=%s/c%d\n\n' "$parent" "$n"
	printf '[Service]\nName=bench\nAllow=udp 127.0.0.1:5999\n'
	printf 'Allow=udp 10.201.%d.1:5999\nAllow=tcp 10.201.%d.1:5201\n\n' "$i" "$i"
	for k in $(seq 2 "$n"); do
		excl=no
		[ $((k % 10)) = 0 ] && excl=yes
		printf '[Service]\nName=s%d\nAllow=tcp %s:443\nExclusive=%s\n\n' "$k" "$(other_addr "$k")" "$excl"
	done
}

nft_foil() { # N INDEX: the ruleset, and the cgroups it names
	local n=$1 i=$2 k base=$parent/n$1 level
	level=$(($(tr -cd / <<<"$base" | wc -c) + 2))
	mkdir -p "$cg2/$base/bench" || return 1
	echo 'table inet foil {'
	echo '	chain out {'
	echo '		type filter hook output priority filter; policy accept;'
	for k in $(seq 2 "$n"); do
		mkdir -p "$cg2/$base/s$k" || return 1
		printf '\t\tsocket cgroupv2 level %d "%s/s%d" ip daddr %s tcp dport 443 accept\n' \
			"$level" "$base" "$k" "$(other_addr "$k")"
		printf '\t\tsocket cgroupv2 level %d "%s/s%d" drop\n' "$level" "$base" "$k"
	done
	printf '\t\tsocket cgroupv2 level %d "%s/bench" ip daddr { 127.0.0.1, 10.201.%d.1 } udp dport 5999 accept\n' \
		"$level" "$base" "$i"
	printf '\t\tsocket cgroupv2 level %d "%s/bench" ip daddr 10.201.%d.1 tcp dport 5201 accept\n' \
		"$level" "$base" "$i"
	printf '\t\tsocket cgroupv2 level %d "%s/bench" drop\n' "$level" "$base"
	echo '	}'
	echo '}'
}

# nft resolves a cgroupv2 path under /sys/fs/cgroup, which is not the
# cgroup2 mount on a hybrid host, and ip netns exec mounts a /sys of its
# own: load the ruleset from a mount namespace where /sys/fs/cgroup is the
# cgroup2 mount.
nft_load() { # NS FILE
	unshare --mount --propagation private -- sh -c \
		'mount --bind "$1" /sys/fs/cgroup && exec nsenter --net=/run/netns/"$2" nft -f "$3"' \
		_ "$cg2" "$1" "$2"
}

hex_port() { printf '%02x %02x' $(($1 / 256)) $(($1 % 256)); }
hex_addr() { local IFS=.; set -- $1; printf '%02x %02x %02x %02x' "$@"; }
bpf_foil() { # INDEX
	local i=$1 cg=$cg2/$parent/bpf/bench entry proto addr port
	mkdir -p "$cg" "$bpffs" || return 1
	mount -t bpf bpf "$bpffs" || return 1
	clang -O2 -g -target bpf -I"/usr/include/$(gcc -print-multiarch)" \
		-c "$BENCH_DIR/foils/cgroup-skb-allow.bpf.c" -o "$dir/allow.o" || return 1
	mkdir -p "$bpffs/maps" &&
		bpftool prog load "$dir/allow.o" "$bpffs/prog" pinmaps "$bpffs/maps" || return 1
	for entry in "17 127.0.0.1 5999" "17 10.201.$i.1 5999" "6 10.201.$i.1 5201"; do
		read -r proto addr port <<<"$entry"
		# shellcheck disable=SC2046 # hex bytes, one word each
		bpftool map update pinned "$bpffs/maps/allow" \
			key hex 38 00 00 00 $(printf '%02x' "$proto") $(hex_port "$port") $(hex_addr "$addr") \
			value hex 01 || return 1
	done
	bpftool cgroup attach "$cg" egress pinned "$bpffs/prog"
}

# ---------------------------------------------------------------- setups

echo "confine: $CONFINE ($CONFINE_VERSION)"
echo "$(nproc) CPUs; $rounds rounds; services: $sizes; UDP rate per $metric second"
setup none 1 || exit 1
setup bpf 2 && bpf_foil 2 || { echo "packet-cost.sh: cannot set up the BPF foil" >&2; exit 1; }
declare -A policy_of
confined_sizes=() nft_sizes=()
i=10
for n in $sizes; do
	i=$((i + 1))
	setup "confine-$n" $i || exit 1
	confine_policy "$n" $i >"$dir/c$n.policy"
	policy_of[confine-$n]=$dir/c$n.policy
	t0=$(now_ms)
	timeout -k 5 "$apply_timeout" "$CONFINE" apply --netns "${ns_of[confine-$n]}" "$dir/c$n.policy" \
		>/dev/null 2>"$dir/apply.err"
	rc=$?
	if [ $rc = 0 ]; then
		echo "setup confine-$n: applied in $(($(now_ms) - t0)) ms"
		confined_sizes+=("$n")
	else
		[ $rc = 124 ] || [ $rc = 137 ] && echo "setup confine-$n: apply timeout (${apply_timeout} s): left out"
		[ $rc = 124 ] || [ $rc = 137 ] || { echo "setup confine-$n: apply failed:"; cat "$dir/apply.err"; }
	fi
	i=$((i + 1))
	setup "nft-$n" $i || exit 1
	t0=$(now_ms)
	if nft_foil "$n" $i >"$dir/nft$n.nft" && nft_load "${ns_of[nft-$n]}" "$dir/nft$n.nft"; then
		echo "setup nft-$n: loaded in $(($(now_ms) - t0)) ms"
		nft_sizes+=("$n")
	else
		echo "setup nft-$n: failed: left out"
	fi
done
max_c=${confined_sizes[-1]:-}
max_n=${nft_sizes[-1]:-}

# ---------------------------------------------------------------- measurements

# measure TRAFFIC SETUP SENDER: one figure (datagrams/s, or Gbit/s for
# tcp), or "timeout"/"failed".
measure() {
	local traffic=$1 name=$2 sender=$3 ns=${ns_of[$2]} i=${idx_of[$2]} cmd wrap=()
	case $traffic in
	lo) cmd=("$send" -t "$send_secs" 127.0.0.1 5999 1000000000) ;;
	lookup) cmd=("$send" -t "$send_secs" -u "10.201.$i.1" 5999 1000000000) ;;
	veth) cmd=("$send" -t "$send_secs" -s 1400 "10.201.$i.1" 5999 1000000000) ;;
	tcp) cmd=(iperf3 -c "10.201.$i.1" -p 5201 -t "$tcp_secs" -J) ;;
	esac
	case $sender in
	unconfined) wrap=(ip netns exec "$ns") ;;
	confined)
		case $name in
		confine-*) wrap=("$CONFINE" run --netns "$ns" -p "${policy_of[$name]}" -s bench --) ;;
		# Into the foil's cgroup first, then into the namespace.
		bpf) wrap=(sh -c 'echo 0 >"$0/cgroup.procs" && exec "$@"' "$cg2/$parent/bpf/bench" ip netns exec "$ns") ;;
		nft-*) wrap=(sh -c 'echo 0 >"$0/cgroup.procs" && exec "$@"' "$cg2/$parent/n${name#nft-}/bench" ip netns exec "$ns") ;;
		esac
		;;
	esac
	# The sender on one CPU, the same for all, to cut the noise of
	# migrations.
	timeout -k 5 "$measure_timeout" "${wrap[@]}" taskset -c "$cpu" "${cmd[@]}" >"$dir/m.out" 2>"$dir/m.err"
	case $? in
	0) ;;
	124 | 137) echo timeout; return ;;
	*) echo failed; return ;;
	esac
	if [ "$traffic" = tcp ]; then
		python3 -c 'import json, sys
print("%.3f" % (json.load(sys.stdin)["end"]["sum_sent"]["bits_per_second"] / 1e9))' <"$dir/m.out" 2>/dev/null || echo failed
	else
		# A figure only if every datagram left: a refused one means the
		# setup is wrong, not fast.
		awk -v col="$([ "$metric" = cpu ] && echo 3 || echo 1)" \
			'$2 == 0 { print $col; ok = 1 } END { if (!ok) print "failed" }' "$dir/m.out"
	fi
}

# The rows: TRAFFIC SETUP SENDER. The first of each traffic is the baseline.
rows=("lo none unconfined")
for n in "${confined_sizes[@]}"; do rows+=("lo confine-$n unconfined" "lo confine-$n confined"); done
rows+=("lo bpf confined")
for n in "${nft_sizes[@]}"; do rows+=("lo nft-$n unconfined" "lo nft-$n confined"); done
rows+=("lookup none unconfined")
for n in "${confined_sizes[@]}"; do rows+=("lookup confine-$n unconfined"); done
[ -n "$max_n" ] && rows+=("lookup nft-$max_n unconfined")
for traffic in veth tcp; do
	rows+=("$traffic none unconfined")
	[ -n "$max_c" ] && rows+=("$traffic confine-$max_c unconfined" "$traffic confine-$max_c confined")
	rows+=("$traffic bpf confined")
	[ -n "$max_n" ] && rows+=("$traffic nft-$max_n unconfined" "$traffic nft-$max_n confined")
done

declare -A values ratios
for r in $(seq 1 "$rounds"); do
	order=("${rows[@]}")
	if [ $((r % 2)) = 0 ]; then
		order=()
		for ((k = ${#rows[@]} - 1; k >= 0; k--)); do order+=("${rows[k]}"); done
	fi
	declare -A this=()
	for row in "${order[@]}"; do
		# shellcheck disable=SC2086 # three words
		this[$row]=$(measure $row)
		values[$row]+="${this[$row]} "
	done
	for row in "${rows[@]}"; do
		ratios[$row]+="$(ratio "${this[$row]}" "${this[${row%% *} none unconfined]}") "
	done
	echo "round $r of $rounds done"
done

{
	echo "# bench/packet-cost.sh $(date -u +%FT%TZ) $(uname -r) confine $CONFINE_VERSION rounds=$rounds metric=$metric"
	echo "# traffic setup sender median unit ratio_to_none"
} >"$out"
printf '\n%-7s %-14s %-11s %12s %-5s %s\n' traffic setup sender median unit "ratio to none (median of per-round ratios)"
for row in "${rows[@]}"; do
	read -r traffic name sender <<<"$row"
	unit=pps
	[ "$traffic" = tcp ] && unit=Gbit/s
	med=$(tr ' ' '\n' <<<"${values[$row]}" | grep -E '^[0-9.]+$' | median)
	# A timeout or failure in any round is shown rather than hidden.
	grep -qE 'timeout|failed' <<<"${values[$row]}" && med="$med($(grep -oE 'timeout|failed' <<<"${values[$row]}" | head -n 1))"
	rat=$(tr ' ' '\n' <<<"${ratios[$row]}" | grep -E '^[0-9.]+$' | median)
	printf '%-7s %-14s %-11s %12s %-5s %s\n' "$traffic" "$name" "$sender" "$med" "$unit" "$rat"
	echo "$traffic $name $sender $med $unit $rat" >>"$out"
done
echo "written: $out"
