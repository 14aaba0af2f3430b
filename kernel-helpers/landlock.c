// SPDX-License-Identifier: GPL-2.0-or-later
/* A Landlock domain for its ptrace scoping; see landlock.h. */

#include <errno.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "kernel-helpers/landlock.h"

int landlock_enter(struct failure *fail)
{
	const struct landlock_ruleset_attr attr = {
		.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_BLOCK,
	};
	_cleanup_close_ int fd = -1;

	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0) {
		int err = errno == ENOSYS ? -EOPNOTSUPP : -errno;

		failure_set(fail, "create a Landlock ruleset");
		return err;
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
		failure_set(fail, "enter a Landlock domain");
		return -errno;
	}
	return 0;
}
