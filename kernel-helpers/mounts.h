#pragma once

/*
 * The mount table, from /proc/self/mountinfo, and the read-only view of the
 * kernel's tunables that a confined process gets in its own mount
 * namespace.
 */

#include <limits.h>
#include <stdbool.h>

#include "common/failure.h"

struct mount_entry {
	char root[PATH_MAX]; /* of the mount, inside its filesystem */
	char point[PATH_MAX]; /* where it is mounted */
	char fstype[32];
};

/* Parses one mountinfo line (octal escapes undone); false when malformed. */
bool mountinfo_parse(const char *line, struct mount_entry *out);

/*
 * In the calling process's private mount namespace (see cgroup_ns_enter),
 * makes read-only what would let root change the host's kernel: every
 * proc mount's sys/, sysrq-trigger, irq/, bus/, fs/ and acpi/, and every
 * mount of sysfs, cgroup v1, debugfs, tracefs, securityfs, configfs, bpf,
 * pstore, efivarfs, binfmt_misc, fusectl and selinuxfs. cgroup2 mounts
 * stay as they are (the service's own, made by cgroup_ns_enter). Needs
 * CAP_SYS_ADMIN.
 */
int mounts_protect_kernel(struct failure *fail);
