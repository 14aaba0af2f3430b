#pragma once

/*
 * Probes of the kernel features confine depends on, each made by trying
 * the feature and mapping the errno, not by reading version numbers: a
 * distribution kernel may have a feature backported or configured out.
 * All return 0 (or a positive value where said) or -errno, and change
 * nothing that outlives the call.
 */

#include <stdbool.h>

/*
 * The Landlock ABI version (landlock_create_ruleset with
 * LANDLOCK_CREATE_RULESET_VERSION): 1 on Linux 5.13. -EOPNOTSUPP when the
 * kernel lacks it or boots without lsm=landlock.
 */
int probe_landlock_abi(void);

/*
 * Whether seccomp filters with SECCOMP_RET_ERRNO can be installed
 * (SECCOMP_GET_ACTION_AVAIL, Linux 4.14). 0, or -EOPNOTSUPP.
 */
int probe_seccomp_filter(void);

/*
 * The calling process's own seccomp mode, from the Seccomp: line of
 * /proc/self/status: 0 none, 1 strict, 2 filter.
 */
int probe_seccomp_self(void);

/*
 * Loads and closes a cgroup socket program (BPF_PROG_TYPE_CGROUP_SOCK for
 * BPF_CGROUP_INET_SOCK_CREATE), the kind that marks a service's sockets
 * at creation. 0, or the bpf(2) -errno.
 */
int probe_cgroup_bpf(void);

/*
 * The first cgroup2 mount of the whole hierarchy in /proc/self/mountinfo:
 * its mount point and its super block options ("rw,nsdelegate"), both
 * malloc'd. -ENOENT when there is none.
 */
int probe_cgroup2(char **point, char **options);

/* The kernel release (uname -r), into buf. */
int probe_kernel_release(char *buf, unsigned size);
