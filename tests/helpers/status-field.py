#!/usr/bin/env python3
"""Print one value of a service from `confine status --json` on stdin.

    confine status --json | status-field.py SERVICE EXPR

EXPR is a Python expression on the service's object s, e.g. "s['mark']" or
"s['state']['nft']"; a boolean prints as true or false, as in the JSON.
Exits 1 when SERVICE is not listed.
"""

import json
import sys

d = json.load(sys.stdin)
svc = {x["name"]: x for x in d.get("services", [])}
s = svc.get(sys.argv[1])
if s is None:
	sys.exit(1)
v = eval(sys.argv[2], {"s": s})
print(str(v).lower() if isinstance(v, bool) else v)
