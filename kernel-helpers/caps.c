// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The capabilities that undo confinement, and dropping them with
 * libcap-ng. The list is the one place that says which capability is
 * dangerous and why; `check` quotes the reason when a policy keeps one.
 */

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "kernel-helpers/caps.h"
#include "kernel-helpers/cleanup.h"

/* Older headers lack the split-out capabilities of Linux 5.8. */
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct {
	int cap;
	const char *how;
} undoing[] = {
	{ CAP_NET_ADMIN, "it may flush confine's nf_tables rules, ip rules "
			 "and routes" },
	{ CAP_NET_RAW, "it may open AF_PACKET sockets, which bypass IP "
		       "routing and the inet hooks (the seccomp filter "
		       "refuses them too)" },
	{ CAP_SYS_ADMIN, "it may unmount the cgroup2 mount that hides the "
			 "other cgroups, and detach BPF programs" },
	{ CAP_BPF, "it may load BPF programs (the seccomp filter refuses "
		   "bpf() too)" },
	{ CAP_SYS_PTRACE, "it may take over a process outside its cgroup "
			  "and send through it" },
	{ CAP_SYS_MODULE, "it may load a kernel module that changes the "
			  "rules" },
	{ CAP_SYS_RAWIO, "it may write kernel memory through /dev/mem" },
	{ CAP_SYS_BOOT, "it may kexec a kernel without confine's rules" },
	/*
	 * open_by_handle_at() names a file by its handle alone, and a kernfs
	 * handle is just the 64-bit cgroup id: any cgroup's directory, the
	 * host's root included, opens from inside the service's own cgroup2
	 * mount, and its cgroup.procs then takes the process out.
	 */
	{ CAP_DAC_READ_SEARCH, "it may open any file or cgroup by its handle "
			       "(open_by_handle_at), outside its own view, "
			       "and move itself out of its cgroup (the "
			       "seccomp filter refuses open_by_handle_at "
			       "too)" },
};

const char *cap_undo_reason(int cap)
{
	for (size_t i = 0; i < ARRAY_SIZE(undoing); i++)
		if (undoing[i].cap == cap)
			return undoing[i].how;
	return NULL;
}

uint64_t caps_undoing(void)
{
	uint64_t set = 0;

	for (size_t i = 0; i < ARRAY_SIZE(undoing); i++)
		set |= UINT64_C(1) << undoing[i].cap;
	return set;
}

int caps_drop_undoing(uint64_t keep, struct failure *fail)
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
	for (size_t i = 0; i < ARRAY_SIZE(undoing); i++) {
		int cap = undoing[i].cap;

		/* Unknown to the running kernel: nothing to drop. */
		if ((keep & (UINT64_C(1) << cap)) ||
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
