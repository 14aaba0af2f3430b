#!/bin/bash
# Builds, once, the Debian root file system in which tests/netns/systemd-real.sh
# boots systemd as PID 1 under systemd-nspawn, and prints its path. Later
# calls reuse it: the directory holds a stamp naming the package list it was
# built with, and a different list builds it again. flock serialises
# concurrent callers, so one CI run debootstraps once (about 95 s).
#
# Usage: systemd-rootfs.sh [CACHE_DIR]   (default /var/cache/confine-test)
#
# The root holds Debian's own rsyslog and chrony units, unchanged, and the
# libraries confine links against; confine itself is bind-mounted at boot.

set -eu

cache=${1:-/var/cache/confine-test}
suite=bookworm
mirror=${CONFINE_TEST_MIRROR:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,rsyslog,chrony,iproute2,procps,libmnl0,libnftnl11,libinih1,libseccomp2,libcap-ng0,libjansson4
root="$cache/$suite-systemd"
stamp="$suite $packages"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9 || {
	echo "systemd-rootfs: cannot lock $cache/.lock within 600 s" >&2
	exit 1
}
if [ "$(cat "$root/.confine-stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$root"
	exit 0
fi

# Built aside and renamed into place, so that an interrupted build never
# passes for a finished one.
rm -rf "$root" "$root.new"
log="$cache/debootstrap.log"
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root.new" \
	"$mirror" >"$log" 2>&1; then
	echo "systemd-rootfs: debootstrap $suite into $root.new failed; its log: $log" >&2
	tail -n 15 "$log" | sed 's/^/   | /' >&2
	rm -rf "$root.new"
	exit 1
fi
# A machine-id makes journald keep a journal under /var/log/journal;
# the units the boot does not need are masked so it stays short.
systemd-machine-id-setup --root="$root.new" >/dev/null
mkdir -p "$root.new/var/log/journal"
for u in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer fstrim.timer man-db.timer dpkg-db-backup.timer; do
	ln -sf /dev/null "$root.new/etc/systemd/system/$u"
done
echo "$stamp" >"$root.new/.confine-stamp"
mv "$root.new" "$root"
echo "$root"
