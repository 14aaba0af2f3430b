// SPDX-License-Identifier: GPL-2.0-or-later
/* See lock.h. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
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
	char pid[16];
	int n;

	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		return errno == EINTR ? -EWOULDBLOCK : -errno;
	if (!exclusive)
		return 0;
	/* Who holds it, for the message of whoever waits next. */
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0)
		return 0; /* only a message is lost */
	return 0;
}

pid_t state_lock_holder(int fd)
{
	char buf[16] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	return (pid_t)atoi(buf);
}
