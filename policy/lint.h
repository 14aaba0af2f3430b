#pragma once

/*
 * What a policy allows but a sysadmin would not want. Plain data: the
 * warnings are collected for confine/ to print.
 */

#include <stdint.h>

#include "common/notes.h"
#include "policy/plan.h"

/*
 * How capability cap lets a confined process undo its confinement ("it may
 * flush confine's nf_tables rules, ip rules and routes"), or NULL when it
 * does not.
 */
const char *cap_undo_reason(int cap);

/* Bit N set for every capability cap_undo_reason() names. */
uint64_t caps_undoing(void);

/*
 * A FILE:LINE warning for each capability kept with KeepCapabilities= that
 * lets the service undo its confinement, and for each exclusive service
 * that takes 127.0.0.1 or ::1 from every other process.
 */
void plan_lint(const struct plan *plan, struct notes *notes);
