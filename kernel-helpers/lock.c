// SPDX-License-Identifier: GPL-2.0-or-later
/* See lock.h. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kernel-helpers/lock.h"

int state_lock_open(int *fd, struct failure *fail)
{
	int r;

	if (mkdir(STATE_LOCK_DIR, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		failure_set(fail, "create %s", STATE_LOCK_DIR);
		return r;
	}
	r = open(STATE_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		 0600);
	if (r < 0) {
		r = -errno;
		failure_set(fail, "open %s", STATE_LOCK_PATH);
		return r;
	}
	*fd = r;
	return 0;
}

int state_lock_take(int fd, bool exclusive)
{
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		return errno == EINTR ? -EWOULDBLOCK : -errno;
	return 0;
}

/*
 * The kernel's own list of file locks names every holder, a shared one or
 * one that is not confine (flock(1)) too: "1: FLOCK ADVISORY WRITE PID
 * MAJ:MIN:INODE 0 EOF", device numbers in hex. Waiters' lines start "->".
 */
pid_t state_lock_holder(int fd)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256], dev[64];
	struct stat st;
	pid_t holder = 0;

	if (!f)
		return 0;
	if (fstat(fd, &st) < 0) {
		fclose(f);
		return 0;
	}
	snprintf(dev, sizeof(dev), "%02x:%02x:%lu", major(st.st_dev),
		 minor(st.st_dev), (unsigned long)st.st_ino);
	while (!holder && fgets(line, sizeof(line), f)) {
		char kind[16], where[64];
		long pid;

		if (strstr(line, "->") ||
		    sscanf(line, "%*s %15s %*s %*s %ld %63s", kind, &pid,
			   where) != 3 ||
		    strcmp(kind, "FLOCK") != 0 || strcmp(where, dev) != 0)
			continue;
		holder = (pid_t)pid;
	}
	fclose(f);
	return holder;
}
