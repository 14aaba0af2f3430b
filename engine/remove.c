// SPDX-License-Identifier: GPL-2.0-or-later
/* Removing services: their rules, routes and cgroups. See engine.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/engine.h"

/* Whether names (every service when n is 0) names this one. */
static bool chosen(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return n == 0;
}

/*
 * A service whose cgroups still hold processes is not removed: taking the
 * rules away would leave them running unconfined without anyone noticing.
 */
static int check_empty(struct engine *e, const struct nft_service *is,
		       struct failure *f)
{
	for (size_t i = 0; i < is->n_cgroups; i++) {
		_cleanup_free_ pid_t *pids = NULL;
		struct cgroup cg;
		size_t n = 0;
		int busy;

		if (cgroup_of_id(e->cgroup_mnt, is->cgroups[i].id, &cg) < 0)
			continue;
		busy = cgroup_pids(cg.path, &pids, &n) == 0 && n > 0;
		if (busy)
			failure_set(f,
				    "remove service %s: cgroup %s still has "
				    "%zu process(es), the first PID %d; stop "
				    "them first",
				    is->name, cg.path, n, (int)pids[0]);
		cgroup_clear(&cg);
		if (busy)
			return -EBUSY;
	}
	return 0;
}

static int remove_cgroups(struct engine *e, const struct nft_service *is,
			  struct failure *f)
{
	int ret = 0;

	for (size_t i = 0; i < is->n_cgroups; i++) {
		_cleanup_free_ char *rel = NULL, *parent = NULL;
		char *slash;
		int r;

		if (cgroup_rel_of_id(e->cgroup_mnt, is->cgroups[i].id, &rel) <
		    0)
			continue; /* already gone */
		r = cgroup_remove(e->cgroup_mnt, rel, 1, ret ? NULL : f);
		if (r < 0) {
			ret = ret ? ret : r;
			continue;
		}
		/*
		 * The default parent is confine's own and goes when empty; a
		 * CgroupParent= the admin chose is theirs and stays.
		 */
		parent = strdup(rel);
		if (parent && (slash = strrchr(parent, '/')) &&
		    slash != parent) {
			*slash = '\0';
			if (strcmp(parent, "/" DEFAULT_CGROUP_PARENT) == 0)
				cgroup_remove(e->cgroup_mnt, parent, 1, NULL);
		}
	}
	return ret;
}

/* How many installed services are not named. */
static size_t remaining(const struct nft_state *in, char *const *names,
			size_t n_names)
{
	size_t n = 0;

	for (size_t i = 0; i < in->n_services; i++)
		n += !chosen(names, n_names, in->services[i].name);
	return n;
}

int engine_remove(struct engine *e, char *const *names, size_t n_names,
		  struct failure *f)
{
	const struct nft_state *in = &e->installed;
	int r, ret = 0;

	for (size_t i = 0; i < n_names; i++) {
		if (!nft_state_find(in, names[i])) {
			failure_set(f,
				    "remove service %s: no service of that "
				    "name is installed",
				    names[i]);
			return -ENOENT;
		}
	}
	for (size_t i = 0; i < in->n_services; i++) {
		if (!chosen(names, n_names, in->services[i].name))
			continue;
		r = check_empty(e, &in->services[i], f);
		if (r < 0)
			return r;
	}
	r = nft_remove(e->nft, in, names, n_names, f);
	if (r < 0)
		return r;
	/* Rules and routes only match marked packets, and none are left. */
	for (size_t i = 0; i < in->n_services; i++) {
		const struct nft_service *is = &in->services[i];
		struct failure mine = { 0 };

		if (!chosen(names, n_names, is->name))
			continue;
		r = rtnl_service_remove(e->rtnl, is->table, &mine);
		if (r == 0)
			r = remove_cgroups(e, is, &mine);
		if (r < 0 && !ret) {
			ret = r;
			*f = mine;
		}
	}
	/* With the last service goes the marker of installed services. */
	if (n_names && !remaining(in, names, n_names)) {
		struct failure mine = { 0 };

		r = rtnl_service_remove(e->rtnl, MARKER_TABLE, &mine);
		if (r < 0 && !ret) {
			ret = r;
			*f = mine;
		}
	}
	/* Also what an interrupted run may have left without a table. */
	if (!n_names) {
		struct failure mine = { 0 };

		r = rtnl_remove_all(e->rtnl, &mine);
		if (r < 0 && !ret) {
			ret = r;
			*f = mine;
		}
	}
	return ret;
}
