#!/usr/bin/env bash
# Install the Debian 12 packages that building confine, its tests and the
# lab (lab/confine-lab, lab/demo) need, but only when one is missing, so
# that a second run does not touch apt at all. Run as root; used by
# tests/run.sh and lab/demo. Exits 0 when every package is installed.
#
# It prints one line: that all packages are present, or which it installed.
# apt's own output goes to a log file ($CONFINE_DEPS_LOG, by default
# /var/log/confine-install-deps.log), which the line names; when apt fails,
# the log's last lines follow on stderr.

set -u

packages=(
	build-essential meson ninja-build pkg-config
	libmnl-dev libnftnl-dev libinih-dev libseccomp-dev libcap-ng-dev libjansson-dev scdoc
	rsyslog nftables iproute2 iputils-ping bsdutils python3 procps bpftool
	clang-format git
	# man(1) and groff, which render the man pages in the install check;
	# bash-completion, whose pkg-config file says where completions go
	man-db groff-base bash-completion
	# systemd-analyze, which checks the shipped unit drop-ins
	systemd
	# tests/netns/systemd-real.sh: boots systemd in a container built
	# by debootstrap
	debootstrap systemd-container
	# the shellcheck test (tests/meson.build)
	shellcheck
	# the policy fuzzer (bench/fuzz.sh): libFuzzer's runtime is in
	# libclang-rt-14-dev, which clang only recommends
	clang libclang-rt-14-dev
	# the log analysers that read the refusal log (netns/refusal-log.sh)
	logwatch psad
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)
	[ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "== all packages present"
	exit 0
fi
log=${CONFINE_DEPS_LOG:-/var/log/confine-install-deps.log}
export DEBIAN_FRONTEND=noninteractive
if {
	echo "== $(date -R): installing ${missing[*]}"
	apt-get update -q &&
		apt-get install -y -q --no-install-recommends "${packages[@]}"
} >"$log" 2>&1; then
	echo "== installed ${missing[*]} (apt's output: $log)"
	exit 0
fi
echo "== installing ${missing[*]} failed; apt's output: $log" >&2
tail -n 15 "$log" | sed 's/^/   | /' >&2
exit 1
