// SPDX-License-Identifier: GPL-2.0-or-later

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "kernel-helpers/netns.h"

int netns_enter(const char *ns, struct failure *fail)
{
	_cleanup_close_ int fd = -1;
	char path[4096];

	if (strchr(ns, '/'))
		snprintf(path, sizeof(path), "%s", ns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		failure_set(fail, "open network namespace %s", path);
		return -errno;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		failure_set(fail, "enter network namespace %s", path);
		return -errno;
	}
	return 0;
}
