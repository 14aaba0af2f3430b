// SPDX-License-Identifier: GPL-2.0-or-later
/* Dropping capabilities with libcap-ng; see caps.h. */

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "common/cleanup.h"
#include "kernel-helpers/caps.h"

int caps_drop(uint64_t drop, struct failure *fail)
{
	const capng_type_t every = CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				   CAPNG_INHERITABLE | CAPNG_BOUNDING_SET |
				   CAPNG_AMBIENT;
	int r;

	/* libcap-ng keeps one state per thread; start from the real one. */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_get_caps_process() < 0) {
		failure_set(fail, "read the capabilities of this process");
		return -EIO;
	}
	for (int cap = 0; cap < 64; cap++) {
		/* Unknown to the running kernel: nothing to drop. */
		if (!(drop & (UINT64_C(1) << cap)) ||
		    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			continue;
		if (capng_update(CAPNG_DROP, every, (unsigned)cap) < 0) {
			failure_set(fail, "drop capability %d", cap);
			return -EINVAL;
		}
	}
	/*
	 * Bounding set first (it needs CAP_SETPCAP, still effective), then
	 * the process sets, then ambient.
	 */
	r = capng_apply(CAPNG_SELECT_ALL);
	if (r < 0) {
		failure_set(fail,
			    "drop the capabilities that undo confinement "
			    "(libcap-ng step %d)",
			    -r);
		return -EPERM;
	}
	return 0;
}
