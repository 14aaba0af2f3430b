#!/bin/bash
# A server in the syslog service still answers incoming connections (the
# replies go to a peer and port the policy does not list), while the very
# same process cannot open new connections to destinations it is not
# allowed.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology
start_log_server
start_second_server

policy="$TMPDIR_TEST/syslog.conf"
write_policy "$policy"

# The server: on each connection it tries two forbidden outbound connects
# itself and answers with the results.
cat >"$TMPDIR_TEST/server.py" <<'EOF'
import errno, os, socket, sys, time

def attempt(host, port):
	fam = socket.AF_INET6 if ":" in host else socket.AF_INET
	t0 = time.monotonic()
	try:
		s = socket.create_connection((host, port), timeout=3)
		s.close()
		res = "OK"
	except socket.timeout:
		res = "TIMEOUT"
	except OSError as e:
		res = errno.errorcode.get(e.errno, str(e.errno))
	return "%s %s %.3f" % (host, res, time.monotonic() - t0)

srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::", 7000))
srv.listen(8)
print("listening", flush=True)
while True:
	c, peer = srv.accept()
	# The id (inode) of its cgroup: inside confine's cgroup namespace the
	# path reads "/", the id is the same from everywhere. CGROUP2, the
	# mount point, comes from lib.sh; confine remounts cgroup2 there.
	with open("/proc/self/cgroup") as f:
		cg = [l[3:].strip() for l in f if l.startswith("0::")][0]
	mnt = os.environ["CGROUP2"]
	lines = ["hello %s cgroup-id %d" % (peer[0], os.stat(mnt + cg).st_ino)]
	for host in sys.argv[1:]:
		lines.append("outbound " + attempt(host, 8080))
	c.sendall(("\n".join(lines) + "\n").encode())
	c.close()
EOF

# The client, in the log server's namespace: connect, read the answer.
cat >"$TMPDIR_TEST/client.py" <<'EOF'
import socket, sys, time
t0 = time.monotonic()
try:
	s = socket.create_connection((sys.argv[1], 7000), timeout=5)
	data = b""
	while True:
		b = s.recv(4096)
		if not b:
			break
		data += b
	print(data.decode(), end="")
	print("elapsed %.3f" % (time.monotonic() - t0))
except OSError as e:
	print("error %s after %.3f" % (e, time.monotonic() - t0))
	sys.exit(1)
EOF

"$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$PYTHON" -u "$TMPDIR_TEST/server.py" "$SRV2_V4" "$SRV_V4" "$SRV2_V6" "$SRV_V6" \
	>"$TMPDIR_TEST/server.log" 2>&1 &
server_pid=$!
TEST_PIDS+=("$server_pid")
if ! busywait 5000 listening "$CLIENT" tcp 7000; then
	fail "the confined server does not listen on port 7000"
	cat "$TMPDIR_TEST/server.log"
	finish
fi
cg=$(proc_cgroup "$server_pid")
check "the server (pid $server_pid) is in $(service_cgroup), saw '$cg'" \
	test "$cg" = "$(service_cgroup)"

for dst in "$CLIENT_V4" "$CLIENT_V6"; do
	out=$(timeout 20 ip netns exec "$SRV" "$PYTHON" "$TMPDIR_TEST/client.py" "$dst")
	rc=$?
	echo "from $SRV to [$dst]:7000:"
	echo "$out" | sed 's/^/    /'
	check "a client in $SRV connects to [$dst]:7000 and gets the answer (exit $rc)" \
		grep -q "^hello .* cgroup-id $(stat -c %i "$CGROUP2$(service_cgroup)")\$" <<<"$out"
	for h in "$SRV2_V4" "$SRV_V4" "$SRV2_V6" "$SRV_V6"; do
		res=$(awk -v h="$h" '$1 == "outbound" && $2 == h { print $3, $4 }' <<<"$out")
		case ${res%% *} in
		ECONNREFUSED | EHOSTUNREACH | EPERM | EACCES | ENETUNREACH)
			if awk -v s="${res##* }" 'BEGIN { exit !(s < 1.0) }'; then
				pass "the confined server's own connect to $h:8080 is refused: $res s"
			else
				fail "the confined server's connect to $h:8080 refused, but slowly: $res s"
			fi
			;;
		*)
			fail "the confined server's connect to $h:8080: want a refusal, saw '${res:-nothing}'"
			;;
		esac
	done
done

check "barrier: the log server's sink" sink_barrier "$SRV" "$SRV_SINK_LOG" tcp:8080
check "barrier: the second server's sink" sink_barrier "$SRV2" "$SRV2_SINK_LOG" tcp:8080
check_not "no connection from the client reached the log server's tcp 8080" \
	grep -qE "^tcp 8080 (::ffff:)?($CLIENT_V4|$CLIENT_V6) " "$SRV_SINK_LOG"
check_not "no connection from the client reached the second server's tcp 8080" \
	grep -qE "^tcp 8080 (::ffff:)?($CLIENT2_V4|$CLIENT2_V6) " "$SRV2_SINK_LOG"

check "the server is still running" kill -0 "$server_pid"

# ---- a UDP server: the known limit. confine tells an answer from new
# egress by the TCP header alone (no connection tracking), and a datagram
# has nothing to tell it by: the confined UDP server's answer to a client
# that the policy does not list is refused like any datagram it sends
# there (EPERM), and the client hears nothing.
cat >"$TMPDIR_TEST/udp-server.py" <<'EOF'
import errno, socket
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("0.0.0.0", 7001))
print("listening", flush=True)
while True:
	data, peer = srv.recvfrom(512)
	try:
		srv.sendto(b"answer " + data, peer)
		res = "OK"
	except OSError as e:
		res = errno.errorcode.get(e.errno, str(e.errno))
	print("answer to %s: %s" % (peer[0], res), flush=True)
EOF
cat >"$TMPDIR_TEST/udp-client.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(sys.argv[2].encode(), (sys.argv[1], 7001))
try:
	print(s.recv(512).decode())
except socket.timeout:
	print("no answer")
EOF
"$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$PYTHON" -u "$TMPDIR_TEST/udp-server.py" >"$TMPDIR_TEST/udp-server.log" 2>&1 &
TEST_PIDS+=($!)
check "the confined UDP server listens" busywait 5000 grep -q listening "$TMPDIR_TEST/udp-server.log"
tok="udp-$$-$RANDOM"
out=$(timeout 10 ip netns exec "$SRV" "$PYTHON" "$TMPDIR_TEST/udp-client.py" "$CLIENT_V4" "$tok")
echo "UDP client in $SRV: $out"
check "the client hears no answer from the confined UDP server" \
	test "$out" = "no answer"
check "the server's answer to a client the policy does not list was refused (EPERM)" \
	grep -q "^answer to $SRV_V4: EPERM" "$TMPDIR_TEST/udp-server.log"

finish
