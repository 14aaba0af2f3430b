#!/bin/bash
# confine run loads its seccomp filter, and the filter is what refuses:
# a service that keeps CAP_NET_RAW (KeepCapabilities=net_raw) still cannot
# open an AF_PACKET socket, although the capability drop, which hides a
# missing filter everywhere else, lets it through. The confined program
# reads /proc/self/status ("Seccomp: 2", "NoNewPrivs: 1", CAP_NET_RAW in
# CapEff) and tries what only the filter refuses:
#
#	packet    socket(AF_PACKET, SOCK_RAW)          EPERM (CAP_NET_RAW kept)
#	packet-dgram socket(AF_PACKET, SOCK_DGRAM)     EPERM (CAP_NET_RAW kept)
#	raw-icmp  socket(AF_INET, SOCK_RAW, ICMP)      OK: the kept capability
#	                                               works, so the EPERMs
#	                                               above are the filter's
#	bindtodevice SO_BINDTODEVICE on a new socket   EPERM (needs no
#	                                               capability at all)
#	clone3    clone3()                             ENOSYS
#
# The same program unconfined in the client namespace is the control: as
# root every one of these works (clone3 gets EINVAL for its zero size),
# and as nobody, without any capability, SO_BINDTODEVICE still works; so
# the refusals above are the filter's.

. "$(dirname "$0")/lib.sh"

require_all
setup_topology

prog="$TMPDIR_TEST/seccomp-probe.py"
cat >"$prog" <<'EOF'
import ctypes, errno, os, socket, sys

def res(name, fn):
	try:
		fn()
		print("TRY", name, "OK", flush=True)
	except OSError as e:
		print("TRY", name, errno.errorcode.get(e.errno, str(e.errno)), flush=True)

with open("/proc/self/status") as f:
	for line in f:
		k, _, v = line.partition(":")
		if k in ("Seccomp", "Seccomp_filters", "NoNewPrivs", "CapEff"):
			print("STATUS", k, v.strip(), flush=True)

def packet(typ):
	socket.socket(socket.AF_PACKET, typ, socket.htons(0x0003)).close()

def raw_icmp():
	socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()

def bindtodevice():
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	try:
		s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"c0")
	finally:
		s.close()

libc = ctypes.CDLL(None, use_errno=True)
def clone3():
	# A zero size: the kernel answers EINVAL, the filter ENOSYS.
	if libc.syscall(435, None, 0) < 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e))

res("packet", lambda: packet(socket.SOCK_RAW))
res("packet-dgram", lambda: packet(socket.SOCK_DGRAM))
res("raw-icmp", raw_icmp)
res("bindtodevice", bindtodevice)
res("clone3", clone3)
EOF
chmod 644 "$prog"

policy="$TMPDIR_TEST/syslog.policy"
write_policy "$policy" "KeepCapabilities=net_raw" "" "[Service]" "Name=plain" \
	"Allow=udp $SRV2_V4:514"

# field OUTPUT KIND NAME: the value of "KIND NAME VALUE".
field() {
	awk -v k="$2" -v n="$3" '$1 == k && $2 == n { print $3; exit }' <<<"$1"
}

expect() {
	local who=$1 out=$2 name=$3 want=$4 got
	got=$(field "$out" TRY "$name")
	check "$who: $name: $want (saw ${got:-nothing})" test "$got" = "$want"
}

# ---------------------------------------------------------------- control

out=$(in_ns "$CLIENT" "$PYTHON" "$prog" 2>&1)
echo "unconfined root:"
echo "$out"
check "control, root: Seccomp 0 (saw $(field "$out" STATUS Seccomp))" \
	test "$(field "$out" STATUS Seccomp)" = 0
expect "control, root" "$out" packet OK
expect "control, root" "$out" packet-dgram OK
expect "control, root" "$out" raw-icmp OK
expect "control, root" "$out" bindtodevice OK
expect "control, root" "$out" clone3 EINVAL
if command -v setpriv >/dev/null 2>&1; then
	out=$(in_ns "$CLIENT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$PYTHON" "$prog" 2>&1)
	echo "unconfined nobody:"
	echo "$out"
	expect "control, nobody without capabilities" "$out" bindtodevice OK
	expect "control, nobody without capabilities" "$out" packet EPERM
fi

# ---------------------------------------------------------------- confined

apply_checked "confine apply" "$policy"

out=$(timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$policy" -s syslog -- \
	"$PYTHON" "$prog" 2>"$TMPDIR_TEST/run.err")
rc=$?
echo "confined, KeepCapabilities=net_raw (exit $rc):"
echo "$out"
cat "$TMPDIR_TEST/run.err"
check "run exits 0 (saw $rc)" test "$rc" -eq 0
check "Seccomp: 2 (saw '$(field "$out" STATUS Seccomp)')" \
	test "$(field "$out" STATUS Seccomp)" = 2
check "at least one seccomp filter (saw '$(field "$out" STATUS Seccomp_filters)')" \
	test "$(field "$out" STATUS Seccomp_filters)" -ge 1
check "NoNewPrivs: 1" test "$(field "$out" STATUS NoNewPrivs)" = 1
capeff=$(field "$out" STATUS CapEff)
check "CAP_NET_RAW is kept, in CapEff ($capeff)" \
	test -n "$capeff" -a $(((0x${capeff:-0} >> 13) & 1)) -eq 1
expect "confined with net_raw" "$out" raw-icmp OK
expect "confined with net_raw" "$out" packet EPERM
expect "confined with net_raw" "$out" packet-dgram EPERM
expect "confined with net_raw" "$out" bindtodevice EPERM
expect "confined with net_raw" "$out" clone3 ENOSYS

# A service that keeps nothing: the filter is there too, and refuses what
# no capability guards.
out=$(timeout 30 "$CONFINE" run --netns "$CLIENT" -p "$policy" -s plain -- \
	"$PYTHON" "$prog" 2>"$TMPDIR_TEST/run.err")
rc=$?
echo "confined, no capability kept (exit $rc):"
echo "$out"
check "run of plain exits 0 (saw $rc)" test "$rc" -eq 0
check "plain: Seccomp: 2" test "$(field "$out" STATUS Seccomp)" = 2
expect "confined, plain" "$out" bindtodevice EPERM
expect "confined, plain" "$out" clone3 ENOSYS

finish
