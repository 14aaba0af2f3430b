#!/usr/bin/env python3
"""Count test results from meson's JSON test logs into "N passed, N failed".

    count-results.py EXTRA_FAILED EXTRA_PASSED TESTLOG.json...

Adds up every test of each log (meson-logs/testlog*.json: one JSON object
per line): OK and EXPECTEDFAIL are passes, SKIP a skip, anything else a
failure; EXTRA_FAILED and EXTRA_PASSED count what ran outside meson (a
failed build, the demo). A log that cannot be read counts as a failure.
Prints the failed tests on stderr, and "N passed, N failed[, N skipped]"
on stdout.
"""

import json
import os
import sys

passed = failed = skipped = 0
failed += int(sys.argv[1])
passed += int(sys.argv[2])
for path in sys.argv[3:]:
	try:
		f = open(path)
	except OSError as e:
		print("cannot read %s: %s" % (path, e), file=sys.stderr)
		failed += 1
		continue
	# build-asan/meson-logs/testlog.json -> build-asan
	where = os.path.dirname(os.path.dirname(path)) or "."
	with f:
		for line in f:
			line = line.strip()
			if not line:
				continue
			t = json.loads(line)
			r = t.get("result", "")
			if r in ("OK", "EXPECTEDFAIL"):
				passed += 1
			elif r == "SKIP":
				skipped += 1
			else:
				failed += 1
				print("  %s: %s: %s" % (where, t.get("name"), r), file=sys.stderr)
s = "%d passed, %d failed" % (passed, failed)
if skipped:
	s += ", %d skipped" % skipped
print(s)
