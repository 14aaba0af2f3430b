// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whether a policy file can be trusted. A policy decides what a process may
 * reach, so whoever can change the file, or swap a directory or symlink on
 * the way to it, holds that power too: refuse the file unless only root and
 * the invoking (effective) user can, as sshd's StrictModes refuses an
 * authorized_keys file. These are plain file checks; the caller reads the
 * descriptor that was checked, so the file itself cannot be swapped after
 * the check, and a directory on the way could only be swapped by someone
 * the checks already trust.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "policy/trust.h"

/* As the kernel's MAXSYMLINKS: a path that needs more is refused (ELOOP). */
#define MAX_SYMLINKS 40

static int refuse(struct policy_error *err, const char *path, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));

static int refuse(struct policy_error *err, const char *path, const char *fmt,
		  ...)
{
	va_list ap;
	int n;

	n = snprintf(err->msg, sizeof(err->msg),
		     "confine: refusing policy %s: ", path);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return -EPERM;
}

static int cannot(struct policy_error *err, const char *path, const char *what,
		  int r)
{
	snprintf(err->msg, sizeof(err->msg),
		 "confine: cannot check policy %s: %s: %s", path, what,
		 strerror(-r));
	return r;
}

/*
 * Root, or whoever runs confine. Under sudo that is also the user who
 * called sudo (SUDO_UID): that user already chooses what root applies, so
 * a file of theirs gives them nothing more, and a policy in a clone of the
 * repository works as the README shows it.
 */
static bool trusted_owner(uid_t uid)
{
	const char *sudo = geteuid() == 0 ? getenv("SUDO_UID") : NULL;
	char *end;
	unsigned long n;

	if (uid == 0 || uid == geteuid())
		return true;
	if (!sudo || !*sudo)
		return false;
	n = strtoul(sudo, &end, 10);
	return !*end && n == uid;
}

/* Who other than the owner may write: "others" or "its group". */
static const char *writers(mode_t mode)
{
	return mode & S_IWOTH ? "others" : "its group";
}

/* The chmod argument that takes those writers away. */
static const char *chmod_fix(mode_t mode)
{
	if ((mode & (S_IWGRP | S_IWOTH)) == (S_IWGRP | S_IWOTH))
		return "go-w";
	return mode & S_IWOTH ? "o-w" : "g-w";
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symlink";
	}
	return "not a regular file";
}

static int check_file(const char *path, const struct stat *st,
		      struct policy_error *err)
{
	if (!S_ISREG(st->st_mode))
		return refuse(err, path, "it is %s, not a regular file",
			      type_name(st->st_mode));
	if (!trusted_owner(st->st_uid))
		return refuse(err, path,
			      "it is owned by uid %u, not by root or you; "
			      "chown root %s",
			      (unsigned)st->st_uid, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return refuse(err, path,
			      "it is writable by %s (mode %04o); chmod %s %s",
			      writers(st->st_mode),
			      (unsigned)(st->st_mode & 07777),
			      chmod_fix(st->st_mode), path);
	return 0;
}

/*
 * A directory that others can write to lets them rename the file, or the
 * next directory, away and put their own in its place; the sticky bit
 * (/tmp) stops that for entries they do not own.
 */
static int check_dir(const char *path, const char *dir, const struct stat *st,
		     struct policy_error *err)
{
	if (!trusted_owner(st->st_uid))
		return refuse(err, path,
			      "directory %s is owned by uid %u, not by root "
			      "or you",
			      dir, (unsigned)st->st_uid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
		return refuse(err, path,
			      "directory %s is writable by %s (mode %04o) "
			      "and not sticky; chmod %s %s",
			      dir, writers(st->st_mode),
			      (unsigned)(st->st_mode & 07777),
			      chmod_fix(st->st_mode), dir);
	return 0;
}

static int walk_link(const char *path, const char *link, unsigned *links,
		     struct policy_error *err);

/*
 * Every object the kernel passes through to resolve abs, an absolute path:
 * each prefix is looked at with lstat(); a directory is checked, a symlink
 * must be owned by a trusted user (its mode means nothing) and its target
 * is walked in turn, as the kernel would. *links counts the symlinks.
 */
static int walk(const char *path, const char *abs, unsigned *links,
		struct policy_error *err)
{
	_cleanup_free_ char *buf = strdup(abs);
	struct stat st;
	size_t len;
	int r;

	if (!buf)
		return cannot(err, path, abs, -ENOMEM);
	if (lstat("/", &st) < 0)
		return cannot(err, path, "/", -errno);
	r = check_dir(path, "/", &st, err);
	if (r < 0)
		return r;
	len = strlen(buf);
	for (size_t end = 2; end <= len; end++) {
		char saved;

		/* Prefixes "/a", "/a/b", ...; a "//" adds nothing. */
		if (end < len && buf[end] != '/')
			continue;
		if (buf[end - 1] == '/')
			continue;
		saved = buf[end];
		buf[end] = '\0';
		if (lstat(buf, &st) < 0) {
			r = cannot(err, path, buf, -errno);
			buf[end] = saved;
			return r;
		}
		if (S_ISDIR(st.st_mode)) {
			r = check_dir(path, buf, &st, err);
			if (r == -EPERM) {
				/* Name it without "..", links: as ls shows it.
				 */
				_cleanup_free_ char *real = realpath(buf, NULL);

				if (real)
					check_dir(path, real, &st, err);
			}
		} else if (S_ISLNK(st.st_mode)) {
			r = 0;
			if (!trusted_owner(st.st_uid))
				r = refuse(err, path,
					   "symlink %s is owned by uid %u, not "
					   "by root or you",
					   buf, (unsigned)st.st_uid);
			if (r == 0)
				r = walk_link(path, buf, links, err);
		} else {
			r = 0; /* the file itself: checked on its descriptor */
		}
		buf[end] = saved;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The target of link, walked from the directory that holds the link. */
static int walk_link(const char *path, const char *link, unsigned *links,
		     struct policy_error *err)
{
	_cleanup_free_ char *target = NULL, *abs = NULL;
	const char *slash = strrchr(link, '/');
	ssize_t n;

	if (++*links > MAX_SYMLINKS)
		return cannot(err, path, link, -ELOOP);
	target = malloc(PATH_MAX);
	if (!target)
		return cannot(err, path, link, -ENOMEM);
	n = readlink(link, target, PATH_MAX - 1);
	if (n < 0)
		return cannot(err, path, link, -errno);
	target[n] = '\0';
	if (target[0] == '/')
		return walk(path, target, links, err);
	if (asprintf(&abs, "%.*s/%s", (int)(slash - link), link, target) < 0)
		return cannot(err, path, link, -ENOMEM);
	return walk(path, abs, links, err);
}

/* The directories that hold the opened file, as it resolved, up to /. */
static int walk_resolved(const char *path, int fd, struct policy_error *err)
{
	_cleanup_free_ char *real = NULL;
	char proc[64];
	struct stat st;
	ssize_t n;

	real = malloc(PATH_MAX);
	if (!real)
		return cannot(err, path, "resolving", -ENOMEM);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, PATH_MAX - 1);
	if (n > 0 && real[0] == '/') {
		real[n] = '\0';
	} else {
		/* No /proc: resolve the name instead. */
		free(real);
		real = realpath(path, NULL);
		if (!real)
			return cannot(err, path, "resolving", -errno);
	}
	for (char *slash = strrchr(real, '/'); slash;
	     slash = strrchr(real, '/')) {
		int r;

		/* "/a/b/f" -> "/a/b" -> "/a" -> "/", then stop. */
		if (slash == real) {
			if (!real[1])
				break;
			real[1] = '\0';
		} else {
			*slash = '\0';
		}
		if (lstat(real, &st) < 0)
			return cannot(err, path, real, -errno);
		r = check_dir(path, real, &st, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int policy_open_trusted(const char *path, struct policy_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *abs = NULL;
	unsigned links = 0;
	struct stat st;
	int r;

	/*
	 * O_NONBLOCK: a FIFO would block the open until a writer comes; it
	 * is refused below instead. Cleared again before reading.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s",
			 path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return cannot(err, path, "fstat", -errno);
	r = check_file(path, &st, err);
	if (r < 0)
		return r;
	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return cannot(err, path, "the working directory",
				      -errno);
		if (asprintf(&abs, "%s/%s", cwd, path) < 0)
			abs = NULL;
	}
	if (!abs)
		return cannot(err, path, "resolving", -ENOMEM);
	r = walk(path, abs, &links, err);
	if (r < 0)
		return r;
	r = walk_resolved(path, fd, err);
	if (r < 0)
		return r;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return cannot(err, path, "fcntl", -errno);
	return TAKE_FD(fd);
}
