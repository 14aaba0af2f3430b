// SPDX-License-Identifier: GPL-2.0-or-later
/* See mounts.h. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/mount.h>

#include "common/cleanup.h"
#include "kernel-helpers/mounts.h"

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] &&
		    s[3]) {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

bool mountinfo_parse(const char *line, struct mount_entry *out)
{
	const char *sep = strstr(line, " - ");

	/* id parent major:minor root mountpoint ... - fstype source ... */
	if (!sep || sscanf(sep, " - %31s", out->fstype) != 1)
		return false;
	if (sscanf(line, "%*s %*s %*s %4095s %4095s", out->root, out->point) !=
	    2)
		return false;
	unescape(out->root);
	unescape(out->point);
	return true;
}

/*
 * Filesystems whose files are the kernel's knobs, not anyone's data: a
 * write there changes the host (uevent_helper and module parameters in
 * sysfs, release_agent in cgroup v1, binfmt_misc's interpreters, the
 * SELinux policy, ...).
 */
static const char *const kernel_fstypes[] = {
	"sysfs", "cgroup", "debugfs",  "tracefs",     "securityfs", "configfs",
	"bpf",	 "pstore", "efivarfs", "binfmt_misc", "fusectl",    "selinuxfs",
};

/*
 * Below a proc mount: the sysctls (core_pattern and modprobe run programs
 * as root outside every namespace; the network ones change the namespace
 * for every process), and the other host-wide knobs, as systemd's
 * ProtectKernelTunables= lists them.
 */
static const char *const proc_knobs[] = {
	"sys", "sysrq-trigger", "irq", "bus", "fs", "acpi",
};

static int set_readonly(const char *path, unsigned flags, struct failure *f)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr,
		    sizeof(attr)) < 0) {
		failure_set(f, "make %s read-only in the new mount namespace",
			    path);
		return -errno;
	}
	return 0;
}

/* A bind mount of path on itself, so that it can be made read-only. */
static int protect_below_proc(const char *proc, const char *knob,
			      struct failure *f)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (asprintf(&path, "%s/%s", proc, knob) < 0)
		return -ENOMEM;
	if (lstat(path, &st) < 0)
		return 0; /* this kernel has no such knob */
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		failure_set(f, "bind %s on itself in the new mount namespace",
			    path);
		return -errno;
	}
	return set_readonly(path, AT_RECURSIVE, f);
}

/* One mount as mounts_protect_kernel() treats it. */
static int protect(const struct mount_entry *m, struct failure *fail)
{
	int r;

	if (strcmp(m->fstype, "proc") == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(proc_knobs); i++) {
			r = protect_below_proc(m->point, proc_knobs[i], fail);
			if (r < 0)
				return r;
		}
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kernel_fstypes); i++) {
		if (strcmp(m->fstype, kernel_fstypes[i]) != 0)
			continue;
		r = set_readonly(m->point, 0, fail);
		/* Hidden under a later mount: nothing to reach there. */
		return r == -ENOENT ? 0 : r;
	}
	return 0;
}

int mounts_protect_kernel(struct failure *fail)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ struct mount_entry *list = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, n = 0;
	int r;

	if (!f) {
		failure_set(fail, "read /proc/self/mountinfo");
		return -errno;
	}
	/* Read whole first: the bind mounts below add entries of their own. */
	while (getline(&line, &cap, f) > 0) {
		struct mount_entry *grown =
			realloc(list, (n + 1) * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		list = grown;
		if (mountinfo_parse(line, &list[n]))
			n++;
	}
	for (size_t i = 0; i < n; i++) {
		r = protect(&list[i], fail);
		if (r < 0)
			return r;
	}
	return 0;
}
