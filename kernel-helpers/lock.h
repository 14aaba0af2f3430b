#pragma once

/*
 * confine's state lock: one file under /run, flock()ed exclusively by every
 * command that changes confine's kernel state, from reading that state to
 * its last write, and shared by those that only read it. Without it, two
 * commands that pick automatic marks from the same reading hand one mark
 * and one table to two services.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "common/failure.h"

#define STATE_LOCK_DIR "/run/confine"
#define STATE_LOCK_PATH STATE_LOCK_DIR "/lock"

/* Opens (creating it and its directory, 0700) the lock file. */
int state_lock_open(int *fd, struct failure *fail);
/* Takes the lock without waiting: 0, or -EWOULDBLOCK while it is held. */
int state_lock_take(int fd, bool exclusive);
/* The PID of a process that holds the lock now, 0 when unknown. */
pid_t state_lock_holder(int fd);
