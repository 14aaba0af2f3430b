#pragma once

/*
 * A Landlock domain of its own for a confined process. Its file rules are
 * next to nothing (creating block devices, which needs CAP_MKNOD anyway);
 * what confine wants is the side effect that Landlock has on ptrace
 * access: a process in a domain may not ptrace, read /proc/PID/mem or
 * /proc/PID/root of, or take file descriptors from, any process outside
 * that domain, whatever their users and capabilities. That shields
 * unconfined processes and other services of the same user, where the
 * kernel's ordinary ptrace rules do not.
 */

#include "common/failure.h"

/*
 * Restricts the calling thread (and what it starts). Needs no_new_privs.
 * -EOPNOTSUPP when the kernel has Landlock disabled or built out.
 */
int landlock_enter(struct failure *fail);
