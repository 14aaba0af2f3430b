#!/bin/bash
# Concurrent confine commands (issue 9, class 7).
#
# Two `confine apply` started at the same moment, on two policy files of 30
# and more services each with automatic marks and tables, in the same
# namespace and under the same CgroupParent= (a subtree this test made).
# Both ways: files that share some services (same name, same definition),
# and files with disjoint services. Every state-changing command holds an
# exclusive flock on /run/confine/lock, so afterwards:
#
#	- both exit 0 (one may have waited, and says so on stderr);
#	- no two services share a mark or a table, read back from the kernel
#	  (ip rule, IPv4 and IPv6) and from `confine status --json`;
#	- every service has its ip rules, its throw routes and its unreachable
#	  default, and status says it is in force;
#	- `confine remove` of one file's services leaves the other file's in
#	  force, with the same marks, tables, rules and routes as before;
#	- a `remove` of one file's services racing the `apply` of the other's
#	  leaves exactly the other file's services, intact.
#
# Races are probabilistic, so the race runs a few rounds per kind. (Built
# from the tree before the lock, every round of both kinds ended with 25 to
# 30 pairs of services sharing a mark and a table, and the remove of one
# file's services took the other file's rules and routes with them.) Then
# the lock itself: while
# `flock` holds it, `apply` says it is waiting and succeeds once the lock is
# free; with CONFINE_LOCK_TIMEOUT=1 it gives up after about a second, exit
# 1, naming the lock file, and changes nothing; with 0 it does not wait.

. "$(dirname "$0")/lib.sh"

require_all
require_cmds flock
setup_topology

readonly LOCK_DIR=/run/confine
readonly LOCK=$LOCK_DIR/lock
readonly N=30       # services of each file's own
readonly SHARED=5   # services in both files, when they overlap
readonly ROUNDS=3   # races per kind
readonly WAITING="waiting for another confine command"

# ---------------------------------------------------------------- policies

# Each service allows one IPv4 and one IPv6 destination of its own, all on
# the client's second link (connected routes, so each gets a throw route),
# and has a Route= to a third one behind the log server, so that it has
# routing of its own: an automatic mark and table, which the race is about.
# svc_spec NAME GROUP INDEX: "NAME V4 V6" for the expectation lists.
svc_spec() {
	local name=$1 group=$2 i=$3 base
	case $group in
	a) base=10 ;;
	b) base=100 ;;
	s) base=200 ;;
	*) base=240 ;;
	esac
	printf '%s 10.99.1.%d fd00:99:1::%x:%x\n' "$name" $((base + i)) \
		$((base + 1)) "$i"
}

# write_file FILE SPEC...: a policy file with these services.
write_file() {
	local f=$1 spec name v4 v6 far
	shift
	{
		echo "[Confine]"
		echo "CgroupParent=$CG_PARENT_REL"
		for spec in "$@"; do
			read -r name v4 v6 <<<"$spec"
			echo
			echo "[Service]"
			echo "Name=$name"
			echo "Allow=udp $v4:514"
			echo "Allow=tcp [$v6]:601"
			far=10.99.5.${v4##*.}
			echo "Allow=udp $far:514"
			echo "Route=$far via $SRV_V4"
		done
	} >"$f"
}

specs() {
	local group=$1 first=$2 count=$3 i
	for ((i = first; i < first + count; i++)); do
		svc_spec "$(printf '%s%02d' "$group" "$i")" "$group" "$i"
	done
}

mapfile -t A_OWN < <(specs a 1 "$N")
mapfile -t B_OWN < <(specs b 1 "$N")
mapfile -t S_BOTH < <(specs s 1 "$SHARED")

F_A_OVER="$TMPDIR_TEST/a-overlap.policy"
F_B_OVER="$TMPDIR_TEST/b-overlap.policy"
F_A_DIS="$TMPDIR_TEST/a-disjoint.policy"
F_B_DIS="$TMPDIR_TEST/b-disjoint.policy"
write_file "$F_A_OVER" "${A_OWN[@]}" "${S_BOTH[@]}"
write_file "$F_B_OVER" "${S_BOTH[@]}" "${B_OWN[@]}"
write_file "$F_A_DIS" "${A_OWN[@]}"
write_file "$F_B_DIS" "${B_OWN[@]}"

names_of() {
	local spec
	for spec in "$@"; do
		echo "${spec%% *}"
	done
}

# ---------------------------------------------------------------- reading back

# verify.py EXPECTED STATUS_JSON RULE4 RULE6 ROUTE4 ROUTE6: one line per
# property, "OK what" or "BAD what"; EXPECTED has "NAME V4 V6" lines and
# lists every service that must be installed, and nothing else may be.
cat >"$TMPDIR_TEST/verify.py" <<'EOF'
import json, re, sys
from collections import defaultdict

exp_f, status_f, r4_f, r6_f, rt4_f, rt6_f = sys.argv[1:7]
expected = {}
for line in open(exp_f):
	if line.strip():
		n, v4, v6 = line.split()
		expected[n] = (v4, v6)
try:
	status = json.load(open(status_f))
except ValueError as e:
	print("BAD confine status --json is not JSON: %s" % e)
	sys.exit(0)
svcs = {s["name"]: s for s in status.get("services", [])}

def say(ok, what):
	print("%s %s" % ("OK" if ok else "BAD", what))

missing = sorted(set(expected) - set(svcs))
extra = sorted(set(svcs) - set(expected))
say(not missing, "status lists all %d services%s" %
    (len(expected), " (missing: %s)" % " ".join(missing) if missing else ""))
say(not extra, "status lists no other service%s" %
    (" (extra: %s)" % " ".join(extra) if extra else ""))
notf = sorted(n for n in expected if n in svcs and not svcs[n].get("in_force"))
say(not notf, "status: every service in force%s" %
    (" (not: %s)" % " ".join(notf) if notf else ""))

def shared(key):
	by = defaultdict(list)
	for n, s in svcs.items():
		by[str(s[key])].append(n)
	return {k: v for k, v in by.items() if len(v) > 1}

for key in ("mark", "table"):
	d = shared(key)
	say(not d, "status: no two services share a %s%s" % (key,
	    "".join(" (%s %s: %s)" % (key, k, ",".join(sorted(v))) for k, v in sorted(d.items()))))

# ip rule lines: "1900:	from all fwmark 0x1000000/0xff000000 lookup 19001 proto 245"
rule_re = re.compile(r"^(\d+):.*\bfwmark (0x[0-9a-f]+)(?:/(0x[0-9a-f]+))? lookup (\S+)")
def rules(path):
	out = []
	for line in open(path):
		m = rule_re.match(line.strip())
		if m and " proto 245" in line:
			out.append((int(m.group(2), 16), int(m.group(3) or "0xffffffff", 16), m.group(4)))
	return out

for fam, path in (("IPv4", r4_f), ("IPv6", r6_f)):
	rs = rules(path)
	say(len(rs) == len(expected), "%s: %d confine ip rules for %d services" %
	    (fam, len(rs), len(expected)))
	by_mark, by_table = defaultdict(set), defaultdict(set)
	for mark, mask, table in rs:
		by_mark[mark].add(table)
		by_table[table].add(mark)
	dm = {hex(k): v for k, v in by_mark.items() if len(v) > 1 or
	      sum(1 for r in rs if r[0] == k) > 1}
	dt = {k: v for k, v in by_table.items() if len(v) > 1 or
	      sum(1 for r in rs if r[2] == k) > 1}
	say(not dm, "%s ip rules: no fwmark in two rules%s" % (fam,
	    "".join(" (%s -> tables %s)" % (k, ",".join(sorted(v))) for k, v in dm.items())))
	say(not dt, "%s ip rules: no table in two rules%s" % (fam,
	    "".join(" (table %s <- marks %s)" % (k, ",".join(hex(x) for x in v)) for k, v in dt.items())))
	bad = []
	for n in expected:
		s = svcs.get(n)
		if not s:
			continue
		want = (int(s["mark"], 16), int(s["mark_mask"], 16), str(s["table"]))
		if want not in rs:
			bad.append("%s(%s/%s->%s)" % (n, s["mark"], s["mark_mask"], s["table"]))
	say(not bad, "%s: every service's fwmark rule leads to its table%s" %
	    (fam, " (missing: %s)" % " ".join(bad) if bad else ""))

def routes(path):
	t = defaultdict(set)
	for line in open(path):
		w = line.split()
		if "table" not in w:
			continue
		table = w[w.index("table") + 1]
		t[table].add(" ".join(w[:2]))
	return t

for fam, path, idx in (("IPv4", rt4_f, 0), ("IPv6", rt6_f, 1)):
	t = routes(path)
	bad = []
	for n, dests in expected.items():
		s = svcs.get(n)
		if not s:
			continue
		have = t.get(str(s["table"]), set())
		for want in ("throw " + dests[idx], "unreachable default"):
			if want not in have:
				bad.append("%s:table %s:%s" % (n, s["table"], want))
	say(not bad, "%s: every service's table holds its throw route and unreachable default%s" %
	    (fam, " (missing: %s)" % " ".join(bad[:10]) if bad else ""))
EOF

# snapshot DIR: status and the kernel's rules and routes in the client.
snapshot() {
	local d=$1
	mkdir -p "$d"
	"$CONFINE" status --netns "$CLIENT" --json >"$d/status.json" 2>"$d/status.err"
	ip -n "$CLIENT" rule show >"$d/rule4"
	ip -n "$CLIENT" -6 rule show >"$d/rule6"
	ip -n "$CLIENT" route show table all >"$d/route4"
	ip -n "$CLIENT" -6 route show table all >"$d/route6"
}

# verify LABEL DIR SPEC...: the snapshot in DIR shows exactly these
# services, each with a mark and a table of its own, in force.
verify() {
	local label=$1 d=$2 line
	shift 2
	printf '%s\n' "$@" >"$d/expected"
	while read -r line; do
		case $line in
		OK\ *) pass "$label: ${line#OK }" ;;
		BAD\ *) fail "$label: ${line#BAD }" ;;
		*) fail "$label: verify.py: $line" ;;
		esac
	done < <("$PYTHON" "$TMPDIR_TEST/verify.py" "$d/expected" "$d/status.json" \
		"$d/rule4" "$d/rule6" "$d/route4" "$d/route6" 2>&1)
}

# mark_table DIR NAME: "MARK TABLE" of a service in a snapshot's status.
mark_table() {
	"$PYTHON" -c '
import json, sys
for s in json.load(open(sys.argv[1])).get("services", []):
    if s["name"] == sys.argv[2]:
        print(s["mark"], s["table"])
' "$1/status.json" "$2" 2>/dev/null
}

# confine_lines DIR NAME...: these services' marks, tables, rules and
# routes in a snapshot, for comparing before and after a remove.
confine_lines() {
	local d=$1 name mark table
	shift
	for name in "$@"; do
		read -r mark table <<<"$(mark_table "$d" "$name")"
		[ -n "$table" ] || { echo "$name: not installed"; continue; }
		echo "$name $mark $table"
		grep -E "lookup $table( |$)" "$d/rule4" "$d/rule6" | sed 's/^[^:]*\///'
		grep -E "table $table( |$)" "$d/route4" "$d/route6" | sed 's/^[^:]*\///'
	done
}

remove_all() {
	local out rc
	out=$(timeout 60 "$CONFINE" remove --netns "$CLIENT" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || { echo "$out"; return 1; }
}

# ---------------------------------------------------------------- the race

# race LABEL WHAT0 WHAT1: two confine commands started at one moment; WHAT
# is a policy file to apply, or "remove" (remove the services RM_NAMES).
# Each child says it is ready, then spins (bounded) until the go file
# appears and execs confine.
race() {
	local label=$1 d="$TMPDIR_TEST/$1" i what desc rc n pid
	local -a whats=("$2" "$3") pids=()
	mkdir -p "$d"
	for i in 0 1; do
		what=${whats[$i]}
		(
			: >"$d/ready.$i"
			for _ in $(seq 1 2000); do
				[ -e "$d/go" ] && break
				sleep 0.002
			done
			if [ "$what" = remove ]; then
				exec timeout 120 "$CONFINE" remove --netns "$CLIENT" "${RM_NAMES[@]}"
			fi
			exec timeout 120 "$CONFINE" apply --netns "$CLIENT" "$what"
		) >"$d/out.$i" 2>"$d/err.$i" &
		pids+=($!)
		TEST_PIDS+=($!)
	done
	busywait 5000 test -e "$d/ready.0" -a -e "$d/ready.1" ||
		fail "$label: the two commands did not get ready"
	: >"$d/go"
	for i in 0 1; do
		wait "${pids[$i]}"
		rc=$?
		what=${whats[$i]}
		desc="apply $(basename "$what")"
		[ "$what" = remove ] && desc="remove of ${#RM_NAMES[@]} services"
		if [ -s "$d/err.$i" ]; then
			sed "s/^/    $desc stderr: /" "$d/err.$i"
		fi
		check "$label: confine $desc exits 0 (saw $rc)" test "$rc" -eq 0
		n=$(grep -c "$WAITING" "$d/err.$i")
		[ "$n" -gt 0 ] || continue
		log "$label: $desc waited for the other"
		check "$label: the waiting line comes once (saw $n)" test "$n" -eq 1
		pid=$(sed -n "s/.*$WAITING (PID \([0-9]*\)).*/\1/p" "$d/err.$i" | head -n 1)
		check "$label: the waiting line names the other command's PID (saw '$pid')" \
			test "${pid:-0}" -gt 0
	done
}

# round LABEL FILE_A FILE_B: one race from a clean namespace, the checks,
# then remove of RM_NAMES; ALL_SPECS lists what the race must install,
# KEEP_SPECS what the remove must leave.
round() {
	local label=$1 fa=$2 fb=$3 out rc before after
	local -a keep_names
	mapfile -t keep_names < <(names_of "${KEEP_SPECS[@]}")
	check "$label: confine remove (everything) before the race" remove_all
	race "$label" "$fa" "$fb"
	snapshot "$TMPDIR_TEST/$label/after-race"
	verify "$label" "$TMPDIR_TEST/$label/after-race" "${ALL_SPECS[@]}"

	before=$(confine_lines "$TMPDIR_TEST/$label/after-race" "${keep_names[@]}")
	out=$(timeout 60 "$CONFINE" remove --netns "$CLIENT" "${RM_NAMES[@]}" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed 's/^/    remove: /'
	check "$label: confine remove of the ${#RM_NAMES[@]} services of $(basename "$fa") alone exits 0 (saw $rc)" \
		test "$rc" -eq 0
	snapshot "$TMPDIR_TEST/$label/after-remove"
	verify "$label, after remove" "$TMPDIR_TEST/$label/after-remove" "${KEEP_SPECS[@]}"
	after=$(confine_lines "$TMPDIR_TEST/$label/after-remove" "${keep_names[@]}")
	if [ "$before" = "$after" ]; then
		pass "$label: the remaining services' marks, tables, rules and routes are unchanged by the remove"
	else
		fail "$label: the remove changed the remaining services:"
		diff -u <(echo "$before") <(echo "$after") | head -n 20 | sed 's/^/    /'
	fi
}

# apply-vs-remove: with A installed, `remove` of A's services races
# `apply` of B; afterwards B's services alone are there, intact.
apply_vs_remove() {
	local label=$1
	check "$label: confine remove (everything) before the race" remove_all
	local out rc
	out=$(timeout 60 "$CONFINE" apply --netns "$CLIENT" "$F_A_DIS" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed 's/^/    apply: /'
	check "$label: confine apply $(basename "$F_A_DIS") before the race (exit $rc)" \
		test "$rc" -eq 0
	race "$label" remove "$F_B_DIS"
	snapshot "$TMPDIR_TEST/$label/after-race"
	verify "$label" "$TMPDIR_TEST/$label/after-race" "${B_OWN[@]}"
}

mapfile -t RM_NAMES < <(names_of "${A_OWN[@]}")
for ((r = 1; r <= ROUNDS; r++)); do
	# A = a01..a30 + s01..s05, B = s01..s05 + b01..b30; remove A's own.
	ALL_SPECS=("${A_OWN[@]}" "${S_BOTH[@]}" "${B_OWN[@]}")
	KEEP_SPECS=("${S_BOTH[@]}" "${B_OWN[@]}")
	round "overlap-$r" "$F_A_OVER" "$F_B_OVER"
	# A = a01..a30, B = b01..b30; remove all of A.
	ALL_SPECS=("${A_OWN[@]}" "${B_OWN[@]}")
	KEEP_SPECS=("${B_OWN[@]}")
	round "disjoint-$r" "$F_A_DIS" "$F_B_DIS"
	apply_vs_remove "apply-vs-remove-$r"
done

# ---------------------------------------------------------------- the lock

check "$LOCK_DIR exists after confine commands ran" test -d "$LOCK_DIR"
mode=$(stat -c %a "$LOCK_DIR" 2>/dev/null)
check "$LOCK_DIR has mode 0700 (saw ${mode:-none})" test "$mode" = 700

C_SPEC=$(svc_spec c01 c 1)
D_SPEC=$(svc_spec d01 c 2)
E_SPEC=$(svc_spec e01 c 3)
F_C="$TMPDIR_TEST/c.policy"
F_D="$TMPDIR_TEST/d.policy"
F_E="$TMPDIR_TEST/e.policy"
write_file "$F_C" "$C_SPEC"
write_file "$F_D" "$D_SPEC"
write_file "$F_E" "$E_SPEC"

HOLDER=""
lock_is_held() {
	! flock -n "$LOCK" true
}

# hold SECONDS: flock holds the lock (-o: the sleep does not inherit it, so
# killing flock by its PID frees the lock at once).
hold() {
	flock -o "$LOCK" sleep "$1" &
	HOLDER=$!
	TEST_PIDS+=("$HOLDER")
	busywait 3000 lock_is_held
}

release() {
	[ -n "$HOLDER" ] && kill_pid "$HOLDER"
	HOLDER=""
}

installed() {
	status_field "$1" "s['in_force']" | grep -qx true
}

# timed CMD...: run it; its exit status, stderr and time in T_RC, T_ERR, T_MS.
timed() {
	local t0
	t0=$(now_ms)
	T_ERR=$("$@" 2>&1 >/dev/null)
	T_RC=$?
	T_MS=$(($(now_ms) - t0))
	echo "    exit $T_RC after $T_MS ms: $T_ERR"
}

if [ -d "$LOCK_DIR" ]; then
	# Waits, says so once, succeeds when the lock is free.
	if hold 3; then
		timed timeout 30 "$CONFINE" apply --netns "$CLIENT" "$F_C"
		check "while flock holds $LOCK: apply says '$WAITING'" \
			grep -q "$WAITING" <<<"$T_ERR"
		check "it says so once (saw $(grep -c "$WAITING" <<<"$T_ERR"))" \
			test "$(grep -c "$WAITING" <<<"$T_ERR")" -eq 1
		check "it then succeeds (exit $T_RC)" test "$T_RC" -eq 0
		check "it waited for the holder (${T_MS} ms >= 1500 ms)" test "$T_MS" -ge 1500
		check "c01 is in force afterwards" installed c01
		named=$(sed -n 's/.*(PID \([0-9]*\)).*/\1/p' <<<"$T_ERR" | head -n 1)
		log "the waiting line names PID ${named:-none}; the lock's holder is flock, PID $HOLDER"
	else
		fail "flock did not take $LOCK"
	fi
	release

	# CONFINE_LOCK_TIMEOUT=1: gives up after about a second.
	if hold 5; then
		timed env CONFINE_LOCK_TIMEOUT=1 timeout 30 "$CONFINE" apply --netns "$CLIENT" "$F_D"
		check "CONFINE_LOCK_TIMEOUT=1: apply exits 1 (saw $T_RC)" test "$T_RC" -eq 1
		check "CONFINE_LOCK_TIMEOUT=1: it says 'giving up' and names $LOCK" \
			grep -qE "giving up.*$LOCK" <<<"$T_ERR"
		check "CONFINE_LOCK_TIMEOUT=1: it gave up after about 1 s (${T_MS} ms)" \
			test "$T_MS" -ge 900 -a "$T_MS" -lt 3000
		# CONFINE_LOCK_TIMEOUT=0: no wait at all.
		timed env CONFINE_LOCK_TIMEOUT=0 timeout 30 "$CONFINE" apply --netns "$CLIENT" "$F_E"
		check "CONFINE_LOCK_TIMEOUT=0: apply exits 1 (saw $T_RC)" test "$T_RC" -eq 1
		check "CONFINE_LOCK_TIMEOUT=0: it says 'giving up'" grep -q "giving up" <<<"$T_ERR"
		check "CONFINE_LOCK_TIMEOUT=0: at once (${T_MS} ms < 900 ms)" test "$T_MS" -lt 900
		# remove holds the lock too.
		timed env CONFINE_LOCK_TIMEOUT=0 timeout 30 "$CONFINE" remove --netns "$CLIENT" c01
		check "CONFINE_LOCK_TIMEOUT=0: remove exits 1 while the lock is held (saw $T_RC)" \
			test "$T_RC" -eq 1
	else
		fail "flock did not take $LOCK"
	fi
	release
	check_not "the applies that gave up installed nothing (d01)" installed d01
	check_not "the applies that gave up installed nothing (e01)" installed e01
	check "the remove that gave up removed nothing (c01 is in force)" installed c01
fi

finish
