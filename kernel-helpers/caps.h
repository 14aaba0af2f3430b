#pragma once

/*
 * Capabilities, with libcap-ng. The launcher drops, from every set, the
 * capabilities with which a process could undo its own confinement.
 */

#include <stdint.h>

#include "kernel-helpers/failure.h"

/*
 * How capability cap lets a confined process undo its confinement ("flush
 * confine's nf_tables rules and ip rules"), or NULL when it does not.
 */
const char *cap_undo_reason(int cap);

/* Bit N set for every capability cap_undo_reason() names. */
uint64_t caps_undoing(void);

/*
 * Drops every capability that undoes confinement, except those in keep,
 * from the bounding, permitted, effective, inheritable and ambient sets of
 * the calling process. The bounding set is what keeps a root process from
 * getting them back at execve().
 */
int caps_drop_undoing(uint64_t keep, struct failure *fail);
