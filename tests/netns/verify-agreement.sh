#!/bin/bash
echo "verify-agreement: not written yet" >&2
exit 1
