// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel feature probes; see features.h. */

#include <errno.h>
#include <linux/bpf.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "kernel-helpers/features.h"
#include "kernel-helpers/mounts.h"

int probe_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 0)
		return errno == ENOSYS ? -EOPNOTSUPP : -errno;
	return (int)abi;
}

int probe_seccomp_filter(void)
{
	unsigned int action = SECCOMP_RET_ERRNO;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return errno == ENOSYS || errno == EINVAL ? -EOPNOTSUPP :
							    -errno;
	return 0;
}

int probe_seccomp_self(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[128];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			return atoi(line + 8);
	return 0;
}

int probe_cgroup_bpf(void)
{
	static const char license[] = "GPL";
	/* r0 = 1 (let the socket be created); exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_CGROUP_SOCK,
		.expected_attach_type = BPF_CGROUP_INET_SOCK_CREATE,
		.insns = (uintptr_t)insns,
		.insn_cnt = ARRAY_SIZE(insns),
		.license = (uintptr_t)license,
	};
	long fd;

	snprintf(attr.prog_name, sizeof(attr.prog_name), "cfn_probe");
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return errno == ENOSYS ? -EOPNOTSUPP : -errno;
	close((int)fd);
	return 0;
}

/*
 * mountinfo's super block options: the field after the file system type
 * and the source, which follow the " - " separator.
 */
static char *super_options(const char *line)
{
	const char *p = strstr(line, " - ");
	char *opts;
	size_t len;

	if (!p)
		return NULL;
	p += 3;
	for (int field = 0; field < 2 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return NULL;
	len = strcspn(p, " \n");
	opts = strndup(p, len);
	return opts;
}

int probe_cgroup2(char **point, char **options)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		struct mount_entry m;
		char *pt, *opts;

		if (!mountinfo_parse(line, &m) ||
		    strcmp(m.fstype, "cgroup2") != 0 ||
		    strcmp(m.root, "/") != 0)
			continue;
		pt = strdup(m.point);
		opts = super_options(line);
		if (!pt || !opts) {
			free(pt);
			free(opts);
			return -ENOMEM;
		}
		*point = pt;
		*options = opts;
		return 0;
	}
	return -ENOENT;
}

int probe_kernel_release(char *buf, unsigned size)
{
	struct utsname u;

	if (uname(&u) < 0)
		return -errno;
	snprintf(buf, size, "%s", u.release);
	return 0;
}
