#!/bin/bash
# Exclusive=yes and the other paths to the log server (issue 9, class 3).
#
# With the syslog service exclusive for the log server's addresses, an
# unconfined process of the client (nobody, no capabilities; root only
# where nobody cannot make the try) must not reach the server's rsyslogd
# by any other path:
#
#	- the subnet broadcast address of the client-server link, 10.99.0.255
#	- 255.255.255.255 out of c0 (SO_BINDTODEVICE)
#	- multicast to all hosts, 224.0.0.1 and ff02::1, out of c0
#	- forwarded traffic: a "container" namespace behind the client, which
#	  forwards and masquerades it (IPv4 and IPv6)
#
# Each path is first tried before the policy is applied, as a control: the
# message arrives at the server's rsyslogd, so the path is real (the server
# listens on the wildcard address). After `confine apply` the same try
# fails at once (UDP sendto: EPERM; forwarded TCP: ECONNREFUSED; forwarded
# UDP: the ICMP error) and, after a barrier, nothing of it has arrived.
# Broadcast and multicast to a port no exclusive service lists (9999) still
# work for others, so the new rule is not over-broad; once the exclusive
# udp Allow= lines have no port, port 9999 is refused too.
#
# What confine cannot enforce, another unicast address of the same host
# (its IPv6 link-local address, further addresses on the same link-layer
# address), `apply` and `run` must name in a warning, once the client's
# neighbour table knows them. And the confined rsyslogd still forwards over
# all four allowed paths.

. "$(dirname "$0")/lib.sh"

require_all
require_cmds setpriv

readonly CTR="$NS_PREFIX-ctr"
readonly BCAST_V4=10.99.0.255
readonly CTR_GW_V4=10.99.2.1
readonly CTR_V4=10.99.2.2
readonly CTR_GW_V6=fd00:99:2::1
readonly CTR_V6=fd00:99:2::2
# Further unicast addresses of the log server, on the same link-layer
# address as SRV_V4; no policy lists them.
readonly SRV_EXTRA_V4=10.99.0.9
readonly SRV_EXTRA_V6=fd00:99::9
# A port no exclusive service lists.
readonly FREE_PORT=9999

setup_topology
start_log_server

addr "$SRV" s0 "$SRV_EXTRA_V4/24" "$SRV_EXTRA_V6/64" ||
	skip "cannot add $SRV_EXTRA_V4 and $SRV_EXTRA_V6 to the log server"
busywait 3000 v6_ready "$SRV" || skip "IPv6 addresses stay tentative in $SRV"

# Broadcast and multicast only reach a socket bound to the wildcard
# address; without that, every "nothing arrived" below would prove nothing.
wild=$(in_ns "$SRV" ss -Hlnu 'sport = :514' | awk '{ print $4 }' | tr '\n' ' ')
log "the log server's rsyslogd listens on udp: $wild"
check "the log server's rsyslogd listens on the IPv4 wildcard address, udp 514" \
	grep -qE '(^| )(0\.0\.0\.0|\*):514( |$)' <<<"$wild"
check "the log server's rsyslogd listens on the IPv6 wildcard address, udp 514" \
	grep -qE '(^| )(\[::\]|\*):514( |$)' <<<"$wild"

# The free port's sink: an IPv4 and an IPv6 socket, since IPv4 multicast
# does not reach a dual-stack IPv6 socket (IP_MULTICAST_ALL is off there).
BSINK_LOG="$TMPDIR_TEST/logsrv-free-port.log"
: >"$BSINK_LOG"
cat >"$TMPDIR_TEST/free-sink.py" <<'EOF'
import socket, sys, threading

logf = open(sys.argv[1], "a", buffering=1)
port = int(sys.argv[2])

def listen(fam, addr):
	s = socket.socket(fam, socket.SOCK_DGRAM)
	if fam == socket.AF_INET6:
		s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
	s.bind((addr, port))
	while True:
		data, peer = s.recvfrom(65535)
		logf.write("udp %d %s %r\n" % (port, peer[0], data))
		logf.flush()

for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
	threading.Thread(target=listen, args=(fam, addr), daemon=True).start()
threading.Event().wait()
EOF
in_ns "$SRV" "$PYTHON" "$TMPDIR_TEST/free-sink.py" "$BSINK_LOG" "$FREE_PORT" \
	>"$BSINK_LOG.err" 2>&1 &
TEST_PIDS+=($!)
busywait 5000 listening "$SRV" udp "$FREE_PORT" ||
	skip "the sink on udp $FREE_PORT does not listen (see $BSINK_LOG.err)"

SRV_LL=$(in_ns "$SRV" ip -6 -o addr show dev s0 scope link |
	awk '{ sub("/.*", "", $4); print $4; exit }')
SRV_LLADDR=$(in_ns "$SRV" cat /sys/class/net/s0/address)
[ -n "$SRV_LL" ] || skip "the log server has no IPv6 link-local address on s0"
log "log server: link-layer address $SRV_LLADDR, link-local $SRV_LL"

# ---------------------------------------------------------------- the container

# The container: its own namespace behind the client, which routes and
# masquerades its traffic (a table of this test's own, never inet confine).
setup_container() {
	add_netns "$CTR" &&
	veth "$CLIENT" ct0 "$CTR" ctr0 &&
	addr "$CLIENT" ct0 "$CTR_GW_V4/24" "$CTR_GW_V6/64" &&
	addr "$CTR" ctr0 "$CTR_V4/24" "$CTR_V6/64" &&
	ip -n "$CTR" route add default via "$CTR_GW_V4" &&
	ip -n "$CTR" -6 route add default via "$CTR_GW_V6" &&
	in_ns "$CLIENT" sysctl -qw net.ipv4.ip_forward=1 &&
	in_ns "$CLIENT" sysctl -qw net.ipv6.conf.all.forwarding=1 &&
	in_ns "$CLIENT" nft -f - <<-EOF
	table ip cnat {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr $CTR_V4 oifname "c0" masquerade
		}
	}
	table ip6 cnat {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			ip6 saddr $CTR_V6 oifname "c0" masquerade
		}
	}
	EOF
}
setup_container || skip "cannot set up the container namespace behind the client"
busywait 3000 v6_ready "$CTR" && busywait 3000 v6_ready "$CLIENT" ||
	skip "IPv6 addresses stay tentative in $CTR"
busywait 3000 in_ns "$CTR" ping -c1 -W1 -q "$CTR_GW_V4" >/dev/null &&
busywait 3000 in_ns "$CTR" ping -6 -c1 -W1 -q "$CTR_GW_V6" >/dev/null ||
	skip "test bed: the container cannot ping the client"

# ---------------------------------------------------------------- the sender

# send.py: one datagram (or connection) per argument, with the options a
# broadcast or multicast sender needs, and one line per try:
# "RESULT WHO PROTO HOST PORT RESULT SECONDS STAGE" (probe_field reads it).
cat >"$TMPDIR_TEST/send.py" <<'EOF'
import argparse, errno, select, socket, struct, time

ap = argparse.ArgumentParser()
ap.add_argument("--token", required=True)
ap.add_argument("--who", default="nobody")
ap.add_argument("--broadcast", action="store_true", help="SO_BROADCAST")
ap.add_argument("--bind-dev", help="SO_BINDTODEVICE")
ap.add_argument("--mcast-if", help="IP_MULTICAST_IF / IPV6_MULTICAST_IF")
ap.add_argument("probes", nargs="+", help="udp:HOST:PORT, HOST may be [v6%%if]")
args = ap.parse_args()

def errname(e):
	return errno.errorcode.get(e, "E%d" % e)

def probe(spec):
	proto, rest = spec.split(":", 1)
	host, port = rest.rsplit(":", 1)
	host, port = host.strip("[]"), int(port)
	msg = ("<13>probe: %s %s %s %s %d\n" %
	       (args.token, args.who, proto, host, port)).encode()
	fam = socket.AF_INET6 if ":" in host else socket.AF_INET
	typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
	stage = "socket"
	t0 = time.monotonic()
	try:
		sa = socket.getaddrinfo(host, port, fam, typ)[0][4]
		s = socket.socket(fam, typ)
		s.settimeout(3)
		stage = "setsockopt"
		if args.broadcast:
			s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
		if args.bind_dev:
			s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
				     args.bind_dev.encode())
		if args.mcast_if:
			idx = socket.if_nametoindex(args.mcast_if)
			if fam == socket.AF_INET:
				s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
					     struct.pack("4s4si", bytes(4), bytes(4), idx))
			else:
				s.setsockopt(socket.IPPROTO_IPV6,
					     socket.IPV6_MULTICAST_IF, idx)
		stage = "connect"
		s.connect(sa)
		stage = "send"
		s.send(msg)
		if proto == "udp":
			# A refusal by ICMP comes back as a pending error.
			select.select([s], [], [], 0.3)
			err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
			res = errname(err) if err else "OK"
		else:
			res = "OK"
		s.close()
	except socket.timeout:
		res = "TIMEOUT"
	except OSError as e:
		res = errname(e.errno) if e.errno else str(e)
	print("RESULT %s %s %s %d %s %.3f %s" %
	      (args.who, proto, host, port, res, time.monotonic() - t0, stage),
	      flush=True)

for p in args.probes:
	probe(p)
EOF

# send_as nobody|root SEND.PY-ARGS...: send.py in the client namespace. As
# nobody it has uid and gid 65534, no supplementary groups and no
# capabilities.
send_as() {
	local who=$1
	shift
	if [ "$who" = nobody ]; then
		in_ns "$CLIENT" setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$PYTHON" "$TMPDIR_TEST/send.py" --who nobody "$@"
	else
		in_ns "$CLIENT" "$PYTHON" "$TMPDIR_TEST/send.py" --who root "$@"
	fi
}

# Since Linux 5.7 an unprivileged process may bind an unbound socket to a
# device; where it may not, unconfined root makes the try instead.
BIND_WHO=nobody
if ! in_ns "$CLIENT" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PYTHON" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"c0")' \
	2>/dev/null; then
	BIND_WHO=root
fi
log "SO_BINDTODEVICE try made as $BIND_WHO"

# The paths: NAME WHO HOST OPTIONS...
PATHS=(
	"bcast nobody $BCAST_V4 --broadcast"
	"lbcast $BIND_WHO 255.255.255.255 --broadcast --bind-dev c0"
	"mcast4 nobody 224.0.0.1 --mcast-if c0"
	"mcast6 nobody [ff02::1%c0] --mcast-if c0"
)

path_host() {
	local h=$1
	h=${h#[}
	echo "${h%]}"
}

# try_paths TOKEN PORT: every path in PATHS once; the output of send.py.
try_paths() {
	local tok=$1 port=$2 p name who host
	local -a opts
	for p in "${PATHS[@]}"; do
		read -r name who host _ <<<"$p"
		read -r -a opts <<<"${p#* * * }"
		send_as "$who" --token "$tok-$name" "${opts[@]}" "udp:$host:$port"
	done
}

# fwd_probe TOKEN: from the container, UDP 514 and TCP 601 to the log
# server, IPv4 and IPv6, through the client.
fwd_probe() {
	in_ns "$CTR" "$PYTHON" "$TMPDIR_TEST/probe.py" --token "$1" \
		"udp:$SRV_V4:514" "tcp:$SRV_V4:601" \
		"udp:[$SRV_V6]:514" "tcp:[$SRV_V6]:601"
}

# check_errno OUTPUT WHO PROTO HOST PORT ERRNO: this exact refusal, in < 1 s.
check_errno() {
	local out=$1 who=$2 p=$3 h=$4 port=$5 want=$6 res secs stage
	res=$(probe_field "$out" "$who" "$p" "$h" "$port" 4)
	secs=$(probe_field "$out" "$who" "$p" "$h" "$port" 5)
	stage=$(probe_field "$out" "$who" "$p" "$h" "$port" 6)
	if [ "$res" != "$want" ]; then
		fail "$who $p $h:$port: want $want, saw ${res:-no result}${stage:+ at $stage} after ${secs:-?}s"
	elif awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }'; then
		pass "$who $p $h:$port refused: $res${stage:+ at $stage} after ${secs}s"
	else
		fail "$who $p $h:$port refused ($res) but only after ${secs}s (want < 1 s)"
	fi
}

others_refused() {
	"$CONFINE" status --netns "$CLIENT" --json 2>/dev/null |
		"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("others_refused", ""))'
}

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"

# ---------------------------------------------------------------- controls

ctl="ctl-$$-$RANDOM$RANDOM"
log "controls, before apply (token $ctl)"
out=$(try_paths "$ctl" 514)
echo "$out"
for p in "${PATHS[@]}"; do
	read -r name who host _ <<<"$p"
	check "control: $who udp $(path_host "$host"):514 is sent" \
		test "$(probe_field "$out" "$who" udp "$(path_host "$host")" 514 4)" = OK
	check "control: '$ctl-$name' arrives at the log server's rsyslogd" \
		wait_line "$SRV_LOG" "$ctl-$name "
done

out=$(fwd_probe "$ctl-fwd")
echo "$out"
check_connected "$out" parent udp "$SRV_V4" 514
check_connected "$out" parent tcp "$SRV_V4" 601
check_connected "$out" parent udp "$SRV_V6" 514
check_connected "$out" parent tcp "$SRV_V6" 601
# Masqueraded: the server sees the client's address.
check "control: forwarded udp4 arrives from the client's address" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imudp .*$ctl-fwd parent udp"
check "control: forwarded tcp4 arrives from the client's address" \
	wait_line "$SRV_LOG" "^$CLIENT_V4 imtcp .*$ctl-fwd parent tcp"
check "control: forwarded udp6 arrives from the client's address" \
	wait_line "$SRV_LOG" "^$CLIENT_V6 imudp .*$ctl-fwd parent udp"
check "control: forwarded tcp6 arrives from the client's address" \
	wait_line "$SRV_LOG" "^$CLIENT_V6 imtcp .*$ctl-fwd parent tcp"

# Fill the client's neighbour table with every address of the log server:
# the warning below is made from it.
for dst in "$SRV_V4" "$SRV_EXTRA_V4" "$SRV_V6" "$SRV_EXTRA_V6" "$SRV_LL%c0"; do
	fam=-4
	case $dst in *:*) fam=-6 ;; esac
	check "control: the client pings $dst before apply" \
		busywait 3000 in_ns "$CLIENT" ping "$fam" -c1 -W1 -q "$dst" >/dev/null
done
echo "client neighbour table:"
in_ns "$CLIENT" ip neigh show dev c0 | sed 's/^/    /'

# ---------------------------------------------------------------- apply

apply_checked "confine apply --netns $CLIENT succeeds" "$policy"

# check_warning WHERE TEXT: a warning names the link-local address and the
# further addresses behind the server's link-layer address.
check_warning() {
	local where=$1 text=$2 w a
	w=$(grep -i warning <<<"$text" | grep -F -- "$SRV_LL")
	check "$where warns about $SRV_LL (the log server's link-local address)" \
		test -n "$w"
	check "$where: that warning names an exclusive address ($SRV_V4 or $SRV_V6)" \
		grep -qE -- "$SRV_V4|$SRV_V6" <<<"$w"
	for a in "$SRV_EXTRA_V6" "$SRV_EXTRA_V4"; do
		check "$where: the warning also names $a, behind the same link-layer address" \
			grep -qF -- "$a" <<<"$w"
	done
}
check_warning "confine apply" "$APPLY_OUT"

o1=$(others_refused)

# ---------------------------------------------------------------- with the policy

tok="excl-$$-$RANDOM$RANDOM"
log "with the policy applied (token $tok)"
out=$(try_paths "$tok" 514)
echo "$out"
for p in "${PATHS[@]}"; do
	read -r name who host _ <<<"$p"
	check_errno "$out" "$who" udp "$(path_host "$host")" 514 EPERM
done
# TCP has no broadcast or multicast: the kernel refuses the connect
# (ENETUNREACH) with or without confine; shown so the TCP port is covered.
out=$(send_as nobody --token "$tok-tcp" --broadcast "tcp:$BCAST_V4:601" \
	"tcp:224.0.0.1:601")
echo "$out"
check_refused_fast "$out" nobody tcp "$BCAST_V4" 601
check_refused_fast "$out" nobody tcp 224.0.0.1 601

out=$(fwd_probe "$tok-fwd")
echo "$out"
check_errno "$out" parent tcp "$SRV_V4" 601 ECONNREFUSED
check_errno "$out" parent tcp "$SRV_V6" 601 ECONNREFUSED
# Forwarded UDP is refused by the client with ICMP administratively
# prohibited, which the container's socket sees as EHOSTUNREACH (IPv4) or
# EACCES (ICMPv6 "communication administratively prohibited").
check_errno "$out" parent udp "$SRV_V4" 514 EHOSTUNREACH
check_errno "$out" parent udp "$SRV_V6" 514 EACCES

# Not over-broad: the same paths to a port that no exclusive service lists.
free="free-$$-$RANDOM$RANDOM"
out=$(try_paths "$free" "$FREE_PORT")
echo "$out"
for p in "${PATHS[@]}"; do
	read -r name who host _ <<<"$p"
	check_connected "$out" "$who" udp "$(path_host "$host")" "$FREE_PORT"
	check "'$free-$name' to port $FREE_PORT arrives at the log server" \
		wait_line "$BSINK_LOG" "$free-$name "
done

check "barrier: the log server has handled everything sent so far" log_server_barrier
check_absent "no broadcast, multicast or forwarded message at the log server" \
	"$SRV_LOG" "$tok"

o2=$(others_refused)
log "others_refused: $o1 after apply, $o2 after the tries"
# At least the four forwarded tries are counted there.
check "confine status counts the refusals in others_refused ($o1 -> $o2)" \
	test "$((${o2:-0} - ${o1:-0}))" -ge 4

# What the warning is about, shown and not asserted: another unicast
# address of the same host is not exclusive, so others still reach it.
gap="gap-$$-$RANDOM$RANDOM"
send_as nobody --token "$gap" "udp:[$SRV_LL%c0]:514" "udp:[$SRV_EXTRA_V6]:514" \
	"udp:$SRV_EXTRA_V4:514"
log_server_barrier
log "unenforceable (hence the warning): arrived at the log server through other addresses:"
grep -F -- "$gap" "$SRV_LOG" | sed 's/^/    /'

# ---------------------------------------------------------------- the service

start_confined_rsyslog "$policy" || finish
run_err=$(cat "$TMPDIR_TEST/client-rsyslogd.err")
echo "confine run: $run_err"
check_warning "confine run" "$run_err"

ok="svc-$$-$RANDOM$RANDOM"
logger -u "$CLIENT_SOCK" -t test "$ok"
for p in udp4 tcp4 udp6 tcp6; do
	case $p in
	*4) src=$CLIENT_V4 ;;
	*6) src=$CLIENT_V6 ;;
	esac
	case $p in
	udp*) input=imudp ;;
	tcp*) input=imtcp ;;
	esac
	check "the confined rsyslogd still forwards over $p" \
		wait_line "$SRV_LOG" "^$src $input .*via=$p $ok" 10000
done

# ---------------------------------------------------------------- no port

# An exclusive Allow= without a port holds every port of its protocol, for
# broadcast and multicast too: now port 9999 is refused as well.
kill_pid "$CLIENT_RSYSLOG_PID"
policy2="$TMPDIR_TEST/syslog-noport.conf"
cat >"$policy2" <<EOF
[Confine]
CgroupParent=$CG_PARENT_REL

[Service]
Name=syslog
Allow=udp $SRV_V4
Allow=udp [$SRV_V6]
Allow=tcp $SRV_V4:601
Allow=tcp [$SRV_V6]:601
Exclusive=yes
EOF
apply_checked "confine apply of the policy with port-less udp Allow= lines" "$policy2"
noport="noport-$$-$RANDOM$RANDOM"
out=$(try_paths "$noport" "$FREE_PORT")
echo "$out"
for p in "${PATHS[@]}"; do
	read -r name who host _ <<<"$p"
	check_errno "$out" "$who" udp "$(path_host "$host")" "$FREE_PORT" EPERM
done
check "barrier: the port $FREE_PORT sink has handled everything sent so far" \
	sink_barrier "$SRV" "$BSINK_LOG" "udp:$FREE_PORT"
check_absent "nothing at port $FREE_PORT" "$BSINK_LOG" "$noport"

echo "server file:"
sed 's/^/    /' "$SRV_LOG"

finish
