// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cgroup v2 through cgroupfs. libcgroup was tried for this and refused: see
 * docs/design.md ("Why not libcgroup").
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel-helpers/cgroup.h"
#include "common/cleanup.h"
#include "kernel-helpers/mounts.h"

/* The kernfs file handle type that carries a cgroup's 64-bit id. */
#define FILEID_KERNFS 0xfe

/* A mountinfo line of a cgroup2 mount: its root and mount point. */
static bool cgroup2_line(const char *line, struct mount_entry *m)
{
	return mountinfo_parse(line, m) && strcmp(m->fstype, "cgroup2") == 0;
}

int cgroup2_mount(char **mountpoint, struct failure *fail)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f) {
		failure_set(fail, "read /proc/self/mountinfo");
		return -errno;
	}
	while (getline(&line, &cap, f) > 0) {
		struct mount_entry m;

		/* A bind mount of a subtree would give wrong levels. */
		if (!cgroup2_line(line, &m) || strcmp(m.root, "/") != 0)
			continue;
		*mountpoint = strdup(m.point);
		return *mountpoint ? 0 : -ENOMEM;
	}
	failure_set(fail, "find the cgroup v2 hierarchy: no cgroup2 mount in "
			  "/proc/self/mountinfo (mount it, e.g. on "
			  "/sys/fs/cgroup/unified)");
	return -ENOENT;
}

void cgroup_clear(struct cgroup *cg)
{
	free(cg->rel);
	free(cg->path);
	*cg = (struct cgroup){ 0 };
}

static uint32_t depth(const char *rel)
{
	uint32_t d = 0;

	for (const char *p = rel; *p; p++)
		if (*p != '/' && (p == rel || p[-1] == '/'))
			d++;
	return d;
}

static int cgroup_id(const char *path, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return -EOPNOTSUPP;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/* Fills *out for an existing rel; -ENOENT when it does not exist. */
static int cgroup_lookup(const char *mnt, const char *rel, struct cgroup *out,
			 struct failure *fail)
{
	struct cgroup cg = { 0 };
	int r;

	if (asprintf(&cg.path, "%s%s", mnt, rel) < 0 ||
	    !(cg.rel = strdup(rel))) {
		cgroup_clear(&cg);
		return -ENOMEM;
	}
	r = cgroup_id(cg.path, &cg.id);
	if (r < 0) {
		failure_set(fail, "read the id of cgroup %s", cg.path);
		cgroup_clear(&cg);
		return r;
	}
	/*
	 * The kernel counts `socket cgroupv2 level` from the root of the
	 * cgroup namespace of whoever adds the rule; confine runs in the
	 * namespace whose root is this mount's root.
	 */
	cg.level = depth(rel);
	*out = cg;
	return 0;
}

int cgroup_ensure(const char *mnt, const char *rel, struct cgroup *out,
		  unsigned *created, struct failure *fail)
{
	_cleanup_free_ char *path = NULL;
	unsigned made = 0;
	struct stat st;
	int r;

	if (asprintf(&path, "%s%s", mnt, rel) < 0)
		return -ENOMEM;
	for (char *p = strchr(path + strlen(mnt) + 1, '/');;
	     p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, 0755) == 0) {
			made++;
		} else if (errno != EEXIST) {
			r = -errno;
			failure_set(fail, "create cgroup %s", path);
			cgroup_remove(mnt, rel, made, NULL);
			return r;
		}
		if (!p)
			break;
		*p = '/';
	}
	/*
	 * A name the parser let through that cgroupfs already uses for a
	 * file (cgroup.procs) would map that file's id as the service's.
	 */
	r = stat(path, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (r < 0) {
		failure_set(fail, "use %s as a cgroup", path);
		cgroup_remove(mnt, rel, made, NULL);
		return r;
	}
	r = cgroup_lookup(mnt, rel, out, fail);
	if (r < 0) {
		cgroup_remove(mnt, rel, made, NULL);
		return r;
	}
	if (created)
		*created = made;
	return 0;
}

int cgroup_rel_of_id(const char *mnt, uint64_t id, char **rel)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h = { .fh.handle_bytes = sizeof(uint64_t),
		.fh.handle_type = FILEID_KERNFS };
	_cleanup_close_ int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	char proc[64], target[PATH_MAX];
	size_t mlen = strlen(mnt);
	ssize_t len;

	if (mfd < 0)
		return -errno;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	len = readlink(proc, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	if (strncmp(target, mnt, mlen) != 0)
		return -EXDEV;
	*rel = strdup(target[mlen] ? target + mlen : "/");
	return *rel ? 0 : -ENOMEM;
}

int cgroup_of_id(const char *mnt, uint64_t id, struct cgroup *out)
{
	struct cgroup cg = { .id = id };
	int r = cgroup_rel_of_id(mnt, id, &cg.rel);

	if (r < 0)
		return r;
	if (asprintf(&cg.path, "%s%s", mnt, cg.rel) < 0) {
		cgroup_clear(&cg);
		return -ENOMEM;
	}
	cg.level = depth(cg.rel);
	*out = cg;
	return 0;
}

int cgroup_self(char **rel)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		*rel = strdup(line + 3);
		return *rel ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

int cgroup_join(const struct cgroup *cg, struct failure *fail)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_close_ int fd = -1;

	if (asprintf(&procs, "%s/cgroup.procs", cg->path) < 0)
		return -ENOMEM;
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	/* "0" is the writer itself. */
	if (fd < 0 || write(fd, "0", 1) != 1) {
		failure_set(fail, "move process %d into cgroup %s", getpid(),
			    cg->path);
		return -errno;
	}
	return 0;
}

int cgroup_pids(const char *path, pid_t **pids, size_t *n)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	pid_t *list = NULL;
	size_t count = 0;
	long pid;

	if (asprintf(&procs, "%s/cgroup.procs", path) < 0)
		return -ENOMEM;
	f = fopen(procs, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%ld", &pid) == 1) {
		pid_t *grown = realloc(list, (count + 1) * sizeof(*grown));

		if (!grown) {
			free(list);
			return -ENOMEM;
		}
		list = grown;
		list[count++] = (pid_t)pid;
	}
	*pids = list;
	*n = count;
	return 0;
}

int cgroup_remove(const char *mnt, const char *rel, unsigned levels,
		  struct failure *fail)
{
	_cleanup_free_ char *path = NULL;
	size_t mlen = strlen(mnt);

	if (asprintf(&path, "%s%s", mnt, rel) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < levels; i++) {
		char *slash;

		if (rmdir(path) < 0) {
			failure_set(fail, "remove cgroup %s", path);
			return -errno;
		}
		slash = strrchr(path + mlen, '/');
		if (!slash || slash == path + mlen)
			break;
		*slash = '\0';
	}
	return 0;
}

/*
 * Without the nsdelegate mount option (which only the initial namespace's
 * mount can set) the kernel checks a move into another cgroup against the
 * file permissions of cgroup.procs alone, and root passes those. So every
 * cgroup2 mount is replaced, in a mount namespace of this process's own,
 * by a fresh mount: made inside the new cgroup namespace, its root is the
 * service's cgroup, and nothing above it can be named any more. Changing
 * mounts needs CAP_SYS_ADMIN, which is dropped next.
 */
int cgroup_ns_enter(struct failure *fail)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f) {
		failure_set(fail, "read /proc/self/mountinfo");
		return -errno;
	}
	if (unshare(CLONE_NEWCGROUP | CLONE_NEWNS) < 0) {
		failure_set(fail, "enter new cgroup and mount namespaces");
		return -errno;
	}
	/* Nothing mounted here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		failure_set(fail, "make the new mount namespace a slave");
		return -errno;
	}
	while (getline(&line, &cap, f) > 0) {
		struct mount_entry m;
		const char *mnt = m.point;

		if (!cgroup2_line(line, &m))
			continue;
		/* The kernel refuses one superblock twice on one spot. */
		if (umount2(mnt, MNT_DETACH) < 0) {
			failure_set(fail,
				    "unmount %s in the new mount namespace",
				    mnt);
			return -errno;
		}
		if (mount("cgroup2", mnt, "cgroup2",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			failure_set(fail,
				    "mount cgroup2 on %s, rooted at the "
				    "service's cgroup",
				    mnt);
			return -errno;
		}
	}
	return 0;
}
