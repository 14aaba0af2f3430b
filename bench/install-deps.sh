#!/usr/bin/env bash
# Install the Debian 12 packages that the benches need beyond what
# tests/install-deps.sh installs, only when one is missing: clang and
# libbpf-dev (the BPF foil of bench/packet-cost.sh), bpftool (to load and
# attach it), iperf3 (its TCP stream), time (GNU time, for bench/scale.sh's
# peak RSS) and gnuplot-nox (bench/plot.sh). Root. Prints nothing when all
# are present; apt's output goes to $CONFINE_DEPS_LOG
# (/var/log/confine-bench-deps.log by default).
set -u
packages=(clang libbpf-dev bpftool iperf3 time gnuplot-nox python3 iproute2 nftables)
missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
log=${CONFINE_DEPS_LOG:-/var/log/confine-bench-deps.log}
export DEBIAN_FRONTEND=noninteractive
if { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	echo "bench: installed ${missing[*]} (apt's output: $log)" >&2
	exit 0
fi
echo "bench: installing ${missing[*]} failed; apt's output: $log" >&2
tail -n 15 "$log" | sed 's/^/   | /' >&2
exit 1
