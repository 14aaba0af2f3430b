#!/bin/bash
# confine check with no FILE reads the policy directory's *.policy files in
# name order (CONFINE_POLICY_DIR stands in for /etc/confine, which this
# test never touches); an empty or missing directory is a usage error.
# Needs no privileges. Usage: policy-dir.sh CONFINE
set -u
CONFINE=${1:?usage: policy-dir.sh CONFINE}
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
umask 022
failed=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

out=$(CONFINE_POLICY_DIR=$dir "$CONFINE" check 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q "none in $dir" <<<"$out"; then
	ok "an empty directory: exit 2, naming it"
else
	bad "an empty directory: exit 2 naming it (saw $rc: $out)"
fi

printf '[Service]\nName=b\nAllow=udp 10.0.0.2:514\n' >"$dir/20-b.policy"
printf '[Service]\nName=a\nAllow=udp 10.0.0.1:514\n' >"$dir/10-a.policy"
printf '[Service]\nName=ignored\nAllow=udp 10.0.0.3:514\n' >"$dir/notes.txt"
out=$(CONFINE_POLICY_DIR=$dir "$CONFINE" check 2>&1)
rc=$?
order=$(grep -o '^service [a-z]*' <<<"$out" | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$order" = "service a service b " ]; then
	ok "10-a.policy, then 20-b.policy; notes.txt is not a policy"
else
	bad "the files in name order, only *.policy (saw $rc: $order)"
fi
if grep -q "$dir/10-a.policy" <<<"$out"; then
	ok "the plan names the file each service came from"
else
	bad "the plan names $dir/10-a.policy (saw: $out)"
fi

printf '[Service]\nName=a\nAllow=udp 10.0.0.9:514\n' >"$dir/30-dup.policy"
out=$(CONFINE_POLICY_DIR=$dir "$CONFINE" check 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q "30-dup.policy:2" <<<"$out"; then
	ok "the files are one plan: a duplicate name is refused at FILE:LINE"
else
	bad "a duplicate across files refused at 30-dup.policy:2 (saw $rc: $out)"
fi

out=$(CONFINE_POLICY_DIR=$dir/none "$CONFINE" check 2>&1)
rc=$?
if [ "$rc" -eq 2 ]; then
	ok "a missing directory: exit 2"
else
	bad "a missing directory: exit 2 (saw $rc: $out)"
fi
echo "$failed failure(s)"
[ "$failed" -eq 0 ]
