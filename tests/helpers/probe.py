#!/usr/bin/env python3
"""Try connections and datagrams and say what happened, one line per try.

    probe.py [--mark MARK] [--fork] [--token TOKEN] [--timeout SECONDS]
             PROTO:HOST:PORT...

PROTO is tcp or udp; HOST may be an IPv6 address in brackets. For each
process that probes (the parent, and with --fork a child first), prints

    CGROUP WHO PID PATH ID
    RESULT WHO PROTO HOST PORT RESULT SECONDS

where PATH is the process's cgroup as /proc/self/cgroup shows it, ID the
cgroup's id (the inode number of its directory under $CGROUP2, the cgroup2
mount point that the tests' lib.sh exports; 0 without it), and RESULT is
OK, TIMEOUT or the name of the errno of the failing call. tcp connects and
sends a syslog line holding TOKEN; udp sends it as one datagram and then
waits 0.3 s for an ICMP error to come back.
"""

import argparse
import errno
import os
import select
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--mark", type=lambda s: int(s, 0), default=None,
		help="set SO_MARK on every socket (needs CAP_NET_ADMIN)")
ap.add_argument("--fork", action="store_true",
		help="also run every probe in a forked child")
ap.add_argument("--token", default="probe")
ap.add_argument("--timeout", type=float, default=3.0)
ap.add_argument("probes", nargs="+", help="tcp:HOST:PORT or udp:HOST:PORT; HOST may be [v6]")
args = ap.parse_args()

def split(spec):
	proto, rest = spec.split(":", 1)
	host, port = rest.rsplit(":", 1)
	return proto, host.strip("[]"), int(port)

def errname(e):
	return errno.errorcode.get(e, "E%d" % e)

def sock(proto, host):
	fam = socket.AF_INET6 if ":" in host else socket.AF_INET
	typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
	s = socket.socket(fam, typ)
	if args.mark is not None:
		s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, args.mark)
	return s

def probe(who, spec):
	proto, host, port = split(spec)
	msg = ("<13>probe: %s %s %s %s %d\n" % (args.token, who, proto, host, port)).encode()
	t0 = time.monotonic()
	try:
		s = sock(proto, host)
		s.settimeout(args.timeout)
		if proto == "tcp":
			s.connect((host, port))
			s.sendall(msg)
			res = "OK"
		else:
			s.connect((host, port))
			s.send(msg)
			# An ICMP error (or a local reject) shows up as a
			# pending socket error; give it a moment to come.
			r, _, _ = select.select([s], [], [], 0.3)
			err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
			res = errname(err) if err else "OK"
		s.close()
	except socket.timeout:
		res = "TIMEOUT"
	except OSError as e:
		res = errname(e.errno) if e.errno else str(e)
	dt = time.monotonic() - t0
	print("RESULT %s %s %s %d %s %.3f" % (who, proto, host, port, res, dt), flush=True)

# The cgroup's inode number is its id, the same seen from any namespace;
# the path is relative to the root of this process's cgroup namespace,
# which confine roots at the service cgroup (and remounts cgroup2 at the
# same place to show it as the root).
def cgroup_ino():
	with open("/proc/self/cgroup") as f:
		path = [l[3:].strip() for l in f if l.startswith("0::")][0]
	mnt = os.environ.get("CGROUP2", "")
	try:
		return path, os.stat(mnt + path).st_ino if mnt else 0
	except OSError:
		return path, 0

def run(who):
	path, ino = cgroup_ino()
	print("CGROUP %s %d %s %d" % (who, os.getpid(), path, ino), flush=True)
	for p in args.probes:
		probe(who, p)

if args.fork:
	pid = os.fork()
	if pid == 0:
		run("child")
		os._exit(0)
	os.waitpid(pid, 0)
run("parent")
