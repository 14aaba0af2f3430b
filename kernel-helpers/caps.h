#pragma once

/*
 * Capabilities, with libcap-ng: dropping them from every set.
 */

#include <stdint.h>

#include "common/failure.h"

/*
 * Drops the capabilities in drop (bit N: capability N) from the bounding,
 * permitted, effective, inheritable and ambient sets of the calling
 * process. The bounding set is what keeps a root process from getting them
 * back at execve(). Which ones undo confinement is policy/lint.h's to say.
 */
int caps_drop(uint64_t drop, struct failure *fail);
