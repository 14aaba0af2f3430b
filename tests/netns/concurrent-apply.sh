#!/bin/bash
echo "concurrent-apply: not written yet" >&2
exit 1
