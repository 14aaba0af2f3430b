#pragma once

/*
 * cgroup v2 on cgroupfs directly. Paths called "rel" are relative to the
 * cgroup2 mount's root and start with "/" ("/confine/syslog"), as in
 * /proc/PID/cgroup.
 */

#include <stdint.h>
#include <sys/types.h>

#include "common/failure.h"

/* The cgroup2 mount point, from /proc/self/mountinfo. */
int cgroup2_mount(char **mountpoint, struct failure *fail);

struct cgroup {
	char *rel; /* "/confine/syslog" */
	char *path; /* "/sys/fs/cgroup/unified/confine/syslog" */
	uint64_t id;
	uint32_t level; /* depth below the root of this cgroup namespace */
};
void cgroup_clear(struct cgroup *cg);

/*
 * Creates rel and its missing parents; fills *out. *created (may be NULL)
 * is how many trailing components of rel this call created, for undo.
 */
int cgroup_ensure(const char *mnt, const char *rel, struct cgroup *out,
		  unsigned *created, struct failure *fail);
/* The rel path of the cgroup with this id; -ESTALE/-ENOENT when gone. */
int cgroup_rel_of_id(const char *mnt, uint64_t id, char **rel);
/* The cgroup with this id, all of it filled; -ESTALE/-ENOENT when gone. */
int cgroup_of_id(const char *mnt, uint64_t id, struct cgroup *out);
/* The calling process's cgroup2 rel path, from /proc/self/cgroup. */
int cgroup_self(char **rel);
/* Moves the calling process into cg. */
int cgroup_join(const struct cgroup *cg, struct failure *fail);
/*
 * Gives the calling process a cgroup namespace rooted at its current
 * cgroup, and a mount namespace in which every cgroup2 mount shows that
 * cgroup as its root: no cgroup outside it can be named to move into.
 */
int cgroup_ns_enter(struct failure *fail);
/* The processes in cg (not its children). */
int cgroup_pids(const char *path, pid_t **pids, size_t *n);
/*
 * Removes the (empty) cgroup rel and then levels - 1 of its parents;
 * -EBUSY when processes are still in one.
 */
int cgroup_remove(const char *mnt, const char *rel, unsigned levels,
		  struct failure *fail);
