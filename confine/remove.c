// SPDX-License-Identifier: GPL-2.0-or-later

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confine/commands.h"
#include "confine/common.h"
#include "kernel-helpers/cleanup.h"

/*
 * A service whose cgroups still hold processes is not removed: taking the
 * rules away would leave them running unconfined without anyone noticing.
 */
static int check_empty(struct session *s, const struct nft_service *is)
{
	for (size_t i = 0; i < is->n_cgroups; i++) {
		_cleanup_free_ char *rel = NULL, *path = NULL;
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;

		if (cgroup_rel_of_id(s->cgroup_mnt, is->cgroups[i].id, &rel) <
		    0)
			continue;
		if (asprintf(&path, "%s%s", s->cgroup_mnt, rel) < 0)
			return -ENOMEM;
		if (cgroup_pids(path, &pids, &n) == 0 && n > 0) {
			fprintf(stderr,
				"confine: cannot remove service %s: cgroup %s "
				"still has %zu process(es), the first PID %d; "
				"stop them first\n",
				is->name, path, n, (int)pids[0]);
			return -EBUSY;
		}
	}
	return 0;
}

static int remove_cgroups(struct session *s, const struct nft_service *is)
{
	int ret = 0;

	for (size_t i = 0; i < is->n_cgroups; i++) {
		_cleanup_free_ char *rel = NULL, *parent = NULL;
		struct failure f = { 0 };
		char *slash;
		int r;

		if (cgroup_rel_of_id(s->cgroup_mnt, is->cgroups[i].id, &rel) <
		    0)
			continue; /* already gone */
		r = cgroup_remove(s->cgroup_mnt, rel, 1, &f);
		if (r < 0) {
			report(r, &f);
			ret = r;
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
				cgroup_remove(s->cgroup_mnt, parent, 1, NULL);
		}
	}
	return ret;
}

/* Whether NAMES (all services when empty) names this service. */
static bool chosen(char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return n == 0;
}

int cmd_remove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *netns = NULL;
	struct failure f = { 0 };
	struct session s;
	char **names;
	int c, r, n_names, ret = 0;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'n')
			return usage_error(argv, c);
		netns = optarg;
	}
	names = argv + optind;
	n_names = argc - optind;

	r = session_open(&s, netns, LOCK_EXCLUSIVE);
	if (r)
		return r;
	for (int i = 0; i < n_names; i++) {
		if (!nft_state_find(&s.installed, names[i])) {
			fprintf(stderr,
				"confine: no service named %s is "
				"installed\n",
				names[i]);
			ret = EXIT_FAILED;
			goto out;
		}
	}
	for (size_t i = 0; i < s.installed.n_services; i++) {
		const struct nft_service *is = &s.installed.services[i];
		if (chosen(names, n_names, is->name) &&
		    check_empty(&s, is) < 0) {
			ret = EXIT_FAILED;
			goto out;
		}
	}

	r = nft_remove(s.nft, &s.installed, names, n_names, &f);
	if (r < 0) {
		report(r, &f);
		ret = EXIT_FAILED;
		goto out;
	}
	/* Rules and routes only match marked packets, and none are left. */
	for (size_t i = 0; i < s.installed.n_services; i++) {
		const struct nft_service *is = &s.installed.services[i];
		if (!chosen(names, n_names, is->name))
			continue;
		r = rtnl_service_remove(s.rtnl, is->table, &f);
		if (r < 0) {
			report(r, &f);
			ret = EXIT_FAILED;
		}
		if (remove_cgroups(&s, is) < 0)
			ret = EXIT_FAILED;
	}
	/* Also what an interrupted run may have left without a table. */
	if (!n_names) {
		r = rtnl_remove_all(s.rtnl, &f);
		if (r < 0) {
			report(r, &f);
			ret = EXIT_FAILED;
		}
	}
out:
	session_close(&s);
	return ret;
}
