#!/usr/bin/env python3
"""Listen and write down whatever arrives, one line per connection or datagram.

    sink.py LOGFILE PROTO:PORT...

Listens on every address, IPv4 and IPv6, on each PROTO (tcp or udp) and
PORT, and appends to LOGFILE "tcp PORT PEER connect" when a connection is
accepted, then "PROTO PORT PEER DATA" for its first data or for each
datagram (DATA as Python's repr of the bytes). Runs until killed.
"""

import socket
import sys
import threading

logf = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()

def write(line):
	with lock:
		logf.write(line + "\n")
		logf.flush()

def listen(proto, port):
	typ = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
	s = socket.socket(socket.AF_INET6, typ)
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("::", port))
	if proto == "udp":
		while True:
			data, peer = s.recvfrom(65535)
			write("udp %d %s %r" % (port, peer[0], data))
	s.listen(16)
	while True:
		c, peer = s.accept()
		threading.Thread(target=conn, args=(c, peer, port), daemon=True).start()

def conn(c, peer, port):
	c.settimeout(5)
	write("tcp %d %s connect" % (port, peer[0]))
	try:
		data = c.recv(65535)
		write("tcp %d %s %r" % (port, peer[0], data))
	except OSError:
		pass
	c.close()

for spec in sys.argv[2:]:
	proto, port = spec.split(":")
	threading.Thread(target=listen, args=(proto, int(port)), daemon=True).start()
threading.Event().wait()
