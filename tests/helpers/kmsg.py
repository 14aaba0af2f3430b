#!/usr/bin/env python3
"""Read the kernel log from /dev/kmsg without consuming it.

    kmsg.py last           print the sequence number of the newest record
    kmsg.py since SEQ      print the text of every record newer than SEQ,
                           one line each

/dev/kmsg gives each reader its own position, so this takes nothing away
from the host's syslog daemon (unlike /proc/kmsg). A record is
"PRI,SEQ,USEC,FLAGS;TEXT"; continuation lines (" KEY=VALUE") are skipped.
"""

import errno
import os
import sys


def records():
	fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
	try:
		while True:
			try:
				rec = os.read(fd, 8192)
			except OSError as e:
				if e.errno == errno.EAGAIN:
					return
				if e.errno == errno.EPIPE:
					continue  # overwritten while we read: go on
				raise
			head, _, text = rec.decode("utf-8", "replace").partition(";")
			fields = head.split(",")
			yield int(fields[1]), text.split("\n", 1)[0]
	finally:
		os.close(fd)


if len(sys.argv) == 2 and sys.argv[1] == "last":
	last = 0
	for seq, _ in records():
		last = seq
	print(last)
elif len(sys.argv) == 3 and sys.argv[1] == "since":
	since = int(sys.argv[2])
	for seq, text in records():
		if seq > since:
			print(text)
else:
	sys.exit(__doc__)
