#!/bin/bash
# A policy file is trusted as sshd's StrictModes trusts authorized_keys:
# check, apply and run refuse (exit 2, "confine: refusing policy FILE: ...")
# a file that someone other than root or the invoking user owns or can
# write, or that is reached through a directory or symlink someone else
# owns or can write (a sticky directory such as /tmp excepted). The cases
# here need root: files owned by nobody, and a run as nobody. Mode checks
# that need no root are in tests/unit/test-policy.c. No network namespace
# is made: a refused policy stops confine before it looks at one.

. "$(dirname "$0")/lib.sh"

require_root
require_confine
require_cmds setpriv timeout
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
umask 022
TMPDIR_TEST=$(mktemp -d "/tmp/confine-$TEST_NAME.XXXXXX")
# nobody must be able to reach the files for the runs as nobody.
chmod 755 "$TMPDIR_TEST"
T=$TMPDIR_TEST
NOBODY=65534
# Never created: a refused policy must stop confine before it is used.
NONS="cft-$$-none"

# policy FILE: a valid policy.
policy() {
	cat >"$1" <<-EOF
		[Service]
		Name=syslog
		Allow=udp 10.99.0.1:514
	EOF
}

# confine_as WHO ARGS...: run confine as root, or as nobody.
confine_as() {
	local who=$1
	shift
	if [ "$who" = nobody ]; then
		timeout 30 setpriv --reuid=$NOBODY --regid=$NOBODY \
			--clear-groups "$CONFINE" "$@"
	else
		timeout 30 "$CONFINE" "$@"
	fi
}

# accepted WHAT WHO FILE: `confine check FILE` exits 0.
accepted() {
	local what=$1 who=$2 file=$3 rc
	confine_as "$who" check "$file" >/dev/null 2>"$T/err"
	rc=$?
	check "$what: check exits 0 (saw $rc: $(tr '\n' '|' <"$T/err"))" \
		test "$rc" -eq 0
}

# refused WHAT WHO FILE MESSAGE: check, apply and run exit 2 with MESSAGE
# as the first line of stderr, and run's command never starts.
refused() {
	local what=$1 who=$2 file=$3 want=$4 rc first cmd
	for cmd in check apply run; do
		rm -f "$T/ran"
		case $cmd in
		check)
			confine_as "$who" check "$file" ;;
		apply)
			confine_as "$who" apply --netns "$NONS" "$file" ;;
		run)
			confine_as "$who" run --netns "$NONS" -p "$file" \
				-s syslog -- /usr/bin/touch "$T/ran" ;;
		esac >/dev/null 2>"$T/err"
		rc=$?
		first=$(head -n 1 "$T/err")
		log "$what: $cmd: exit $rc, stderr: $(tr '\n' '|' <"$T/err")"
		check "$what: $cmd exits 2 (saw $rc)" test "$rc" -eq 2
		if [ "$first" = "$want" ]; then
			pass "$what: $cmd says '$want'"
		else
			fail "$what: $cmd: want '$want', saw '$first'"
		fi
		check_not "$what: $cmd: the command did not run" test -e "$T/ran"
	done
}

# The fine cases: root's file in a mktemp directory under /tmp (sticky),
# directly in a root-owned sticky world-writable directory, and by a
# relative path.
mkdir "$T/ok"
policy "$T/ok/a.policy"
accepted "0644 file in a mktemp dir under /tmp" root "$T/ok/a.policy"
mkdir -m 1777 "$T/sticky"
policy "$T/sticky/a.policy"
accepted "root's file in a sticky 1777 dir" root "$T/sticky/a.policy"
(cd "$T/ok" && accepted "relative path" root a.policy)
ln -s ok "$T/link-root"
accepted "through root's symlink" root "$T/link-root/a.policy"

# The file itself.
policy "$T/ok/others.policy"
chmod 0666 "$T/ok/others.policy"
refused "file 0666" root "$T/ok/others.policy" \
	"confine: refusing policy $T/ok/others.policy: it is writable by others (mode 0666); chmod go-w $T/ok/others.policy"
policy "$T/ok/group.policy"
chmod 0620 "$T/ok/group.policy"
refused "file 0620" root "$T/ok/group.policy" \
	"confine: refusing policy $T/ok/group.policy: it is writable by its group (mode 0620); chmod g-w $T/ok/group.policy"
policy "$T/ok/nobody.policy"
chown $NOBODY "$T/ok/nobody.policy"
refused "file owned by nobody" root "$T/ok/nobody.policy" \
	"confine: refusing policy $T/ok/nobody.policy: it is owned by uid $NOBODY, not by root or you; chown root $T/ok/nobody.policy"

# Directories on the way.
mkdir -m 0775 "$T/gw"
policy "$T/gw/a.policy"
refused "group-writable dir" root "$T/gw/a.policy" \
	"confine: refusing policy $T/gw/a.policy: directory $T/gw is writable by its group (mode 0775) and not sticky; chmod g-w $T/gw"
mkdir -m 0777 "$T/ww"
policy "$T/ww/a.policy"
refused "world-writable dir, not sticky" root "$T/ww/a.policy" \
	"confine: refusing policy $T/ww/a.policy: directory $T/ww is writable by others (mode 0777) and not sticky; chmod go-w $T/ww"
mkdir -p "$T/nob/sub"
chown $NOBODY "$T/nob"
policy "$T/nob/sub/a.policy"
refused "a dir owned by nobody higher up" root "$T/nob/sub/a.policy" \
	"confine: refusing policy $T/nob/sub/a.policy: directory $T/nob is owned by uid $NOBODY, not by root or you"

# Symlinks: one owned by nobody (in a root-owned 0755 directory, where
# fs.protected_symlinks does not apply, so confine's own check is what
# refuses it); a root-owned one that leads into a writable directory.
mkdir "$T/links"
ln -s ../ok/a.policy "$T/links/nobody-link"
chown -h $NOBODY "$T/links/nobody-link"
refused "symlink owned by nobody" root "$T/links/nobody-link" \
	"confine: refusing policy $T/links/nobody-link: symlink $T/links/nobody-link is owned by uid $NOBODY, not by root or you"
ln -s ../ww/a.policy "$T/links/into-writable"
refused "root's symlink into a writable dir" root "$T/links/into-writable" \
	"confine: refusing policy $T/links/into-writable: directory $T/ww is writable by others (mode 0777) and not sticky; chmod go-w $T/ww"
ln -s ../ok "$T/ww/dirlink"
refused "root's symlink in a writable dir" root "$T/ww/dirlink/a.policy" \
	"confine: refusing policy $T/ww/dirlink/a.policy: directory $T/ww is writable by others (mode 0777) and not sticky; chmod go-w $T/ww"
# nobody's symlink in a sticky world-writable dir, as an attacker in /tmp
# would leave: refused, by the kernel (protected_symlinks) or by confine.
ln -s ../ok/a.policy "$T/sticky/nobody-link"
chown -h $NOBODY "$T/sticky/nobody-link"
confine_as root check "$T/sticky/nobody-link" >/dev/null 2>"$T/err"
rc=$?
log "nobody's symlink in a sticky dir: exit $rc, stderr: $(tr '\n' '|' <"$T/err")"
check "nobody's symlink in a sticky dir: exit 2 (saw $rc)" test "$rc" -eq 2

# A user other than root: their own file is fine, root's too; another
# user's is not, even when readable.
policy "$T/ok/mine.policy"
chown $NOBODY "$T/ok/mine.policy"
accepted "nobody's own file, checked by nobody" nobody "$T/ok/mine.policy"
accepted "root's file, checked by nobody" nobody "$T/ok/a.policy"
policy "$T/ok/daemon.policy"
chown 1 "$T/ok/daemon.policy"
refused "another user's file, checked by nobody" nobody "$T/ok/daemon.policy" \
	"confine: refusing policy $T/ok/daemon.policy: it is owned by uid 1, not by root or you; chown root $T/ok/daemon.policy"

finish
