// SPDX-License-Identifier: GPL-2.0-or-later
/* See fds.h. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "kernel-helpers/fds.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Filesystems whose files are kernel objects or knobs (see mounts.c). */
static const struct {
	unsigned long magic;
	const char *name;
} kernel_fs[] = {
	{ PROC_SUPER_MAGIC, "procfs" },
	{ SYSFS_MAGIC, "sysfs" },
	{ CGROUP_SUPER_MAGIC, "cgroupfs" },
	{ CGROUP2_SUPER_MAGIC, "cgroupfs" },
	{ DEBUGFS_MAGIC, "debugfs" },
	{ TRACEFS_MAGIC, "tracefs" },
	{ SECURITYFS_MAGIC, "securityfs" },
	{ BPF_FS_MAGIC, "bpffs" },
	{ NSFS_MAGIC, "nsfs" },
	{ BINFMTFS_MAGIC, "binfmt_misc" },
	{ PSTOREFS_MAGIC, "pstore" },
	{ EFIVARFS_MAGIC, "efivarfs" },
};

/* Character devices that reach nothing of the kernel's: major 1 minors. */
static bool harmless_chr(int fd, dev_t rdev)
{
	static const unsigned mem_ok[] = { 3, 5, 7, 8, 9, 11 };

	if (isatty(fd))
		return true;
	if (major(rdev) == 1)
		for (size_t i = 0; i < ARRAY_SIZE(mem_ok); i++)
			if (minor(rdev) == mem_ok[i])
				return true;
	return false;
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_NETLINK:
		return "netlink";
	case AF_PACKET:
		return "packet";
	case AF_VSOCK:
		return "vsock";
	default:
		return NULL;
	}
}

/* Fills r for a socket that must not be inherited; false when it may. */
static bool socket_refused(int fd, struct fd_refusal *r)
{
	int family = 0, type = 0, proto = 0, listening = 0;
	socklen_t len = sizeof(int);
	const char *fam;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0)
		family = -1;
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);

	if (family == AF_UNIX)
		return false; /* not IP: see docs/security.md */
	if (family == AF_INET || family == AF_INET6) {
		const char *kind =
			type == SOCK_STREAM && proto == IPPROTO_TCP ?
				(listening ? "TCP, listening" : "TCP") :
			type == SOCK_DGRAM ? "UDP or ICMP" :
			type == SOCK_RAW   ? "raw" :
					     "other";

		snprintf(r->what, sizeof(r->what), "an inet socket (%s, %s)",
			 kind, family == AF_INET ? "IPv4" : "IPv6");
		snprintf(r->why, sizeof(r->why),
			 "it belongs to the cgroup of whoever made it, so its "
			 "packets are not the service's");
		return true;
	}
	fam = family_name(family);
	if (fam)
		snprintf(r->what, sizeof(r->what), "a %s socket", fam);
	else
		snprintf(r->what, sizeof(r->what), "a socket of family %d",
			 family);
	snprintf(r->why, sizeof(r->why),
		 "it keeps the cgroup and credentials of whoever opened it");
	return true;
}

/* Fills r when fd must not be inherited; false when it may. */
static bool refused(int fd, struct fd_refusal *r)
{
	char link[64], target[160] = "?";
	struct statfs sfs;
	struct stat st;
	ssize_t len;
	int flags;

	r->fd = fd;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	target[len > 0 ? len : 1] = '\0';
	if (fstat(fd, &st) < 0)
		return false; /* closed meanwhile */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0 && (flags & O_PATH)) {
		snprintf(r->what, sizeof(r->what), "an O_PATH descriptor (%s)",
			 target);
		snprintf(r->why, sizeof(r->why),
			 "path walks from it reach the mounts of the "
			 "namespace it was opened in");
		return true;
	}
	if (S_ISSOCK(st.st_mode))
		return socket_refused(fd, r);
	if (S_ISDIR(st.st_mode)) {
		snprintf(r->what, sizeof(r->what), "a directory (%s)", target);
		snprintf(r->why, sizeof(r->why),
			 "path walks from it reach the host's mounts, "
			 "its cgroup2 mount included");
		return true;
	}
	if (S_ISBLK(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && !harmless_chr(fd, st.st_rdev))) {
		snprintf(r->what, sizeof(r->what), "a %s device (%s)",
			 S_ISBLK(st.st_mode) ? "block" : "character", target);
		snprintf(r->why, sizeof(r->why),
			 "it was opened with its opener's privileges (a tun "
			 "device injects packets, a disk rewrites files)");
		return true;
	}
	if (strncmp(target, "anon_inode:", 11) == 0 &&
	    (strstr(target, "io_uring") || strstr(target, "bpf"))) {
		snprintf(r->what, sizeof(r->what), "%s", target);
		snprintf(r->why, sizeof(r->why),
			 "its work runs with the cgroup and credentials of "
			 "whoever made it");
		return true;
	}
	if (fstatfs(fd, &sfs) == 0)
		for (size_t i = 0; i < ARRAY_SIZE(kernel_fs); i++)
			if ((unsigned long)sfs.f_type == kernel_fs[i].magic) {
				snprintf(r->what, sizeof(r->what),
					 "a file on %s (%s)", kernel_fs[i].name,
					 target);
				snprintf(r->why, sizeof(r->why),
					 "it is a kernel object or knob, "
					 "opened outside the service");
				return true;
			}
	return false;
}

int fds_unsafe(struct fd_refusal **out, size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct fd_refusal *list = NULL, r;
	size_t count = 0;
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct fd_refusal *grown;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd == dirfd(d))
			continue;
		memset(&r, 0, sizeof(r));
		if (!refused((int)fd, &r))
			continue;
		grown = realloc(list, (count + 1) * sizeof(*grown));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		list = grown;
		list[count++] = r;
	}
	closedir(d);
	if (err) {
		free(list);
		return err;
	}
	*out = list;
	*n = count;
	return 0;
}
