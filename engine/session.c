// SPDX-License-Identifier: GPL-2.0-or-later
/* The engine's session: sockets, cgroup2 and the installed state. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/engine.h"
#include "kernel-helpers/netns.h"

int engine_open(struct engine *e, const char *netns, struct failure *f)
{
	int r;

	*e = (struct engine){ 0 };
	/* cgroupfs does not depend on the network namespace: find it first. */
	r = cgroup2_mount(&e->cgroup_mnt, f);
	if (r == 0 && netns)
		r = netns_enter(netns, f);
	if (r == 0)
		r = nft_open(&e->nft, f);
	if (r == 0)
		r = rtnl_open(&e->rtnl, f);
	if (r == 0)
		r = nft_read_state(e->nft, &e->installed, f);
	if (r < 0)
		engine_close(e);
	return r;
}

void engine_close(struct engine *e)
{
	nft_state_free(&e->installed);
	nft_close(e->nft);
	rtnl_close(e->rtnl);
	free(e->cgroup_mnt);
	*e = (struct engine){ 0 };
}

int engine_refresh(struct engine *e, struct failure *f)
{
	rtnl_forget(e->rtnl);
	nft_state_free(&e->installed);
	return nft_read_state(e->nft, &e->installed, f);
}

char *service_cgroup_rel(const struct plan *plan, const struct service *svc)
{
	char *rel;

	if (asprintf(&rel, "/%s/%s", plan->cgroup_parent, svc->name) < 0)
		return NULL;
	return rel;
}

/* A conflict with what is installed is the policy's to fix: exit 2. */
static int policy_failure(struct failure *f, const char *msg)
{
	if (f) {
		snprintf(f->object, sizeof(f->object), "%s", msg);
		f->policy = true;
	}
	return -EINVAL;
}

int engine_assign(struct engine *e, struct plan *plan, struct failure *f)
{
	_cleanup_free_ uint32_t *marks = NULL, *tables = NULL;
	const struct nft_state *in = &e->installed;
	struct taken taken = { 0 };
	struct policy_error err;
	size_t others = 0;

	marks = calloc(in->n_services + 1, sizeof(*marks));
	tables = calloc(in->n_services + 1, sizeof(*tables));
	if (!marks || !tables)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_services; i++) {
		const struct nft_service *is = &in->services[i];
		struct service *svc = plan_find(plan, is->name);

		if (!svc) {
			marks[taken.n_marks++] = is->mark_value;
			tables[taken.n_tables++] = is->table;
			others++;
			continue;
		}
		/* An installed service keeps its automatic values. */
		if (!service_routed(svc))
			continue;
		if (!svc->mark_line)
			svc->mark_value = is->mark_value;
		if (!svc->table_line)
			svc->table = is->table;
	}
	if (others && in->mark_mask && in->mark_mask != plan->mark_mask) {
		snprintf(err.msg, sizeof(err.msg),
			 "confine: %s: MarkMask=0x%08x differs from the mask "
			 "0x%08x that installed services use; remove them "
			 "first or use the same mask",
			 plan->services[0].file, plan->mark_mask,
			 in->mark_mask);
		return policy_failure(f, err.msg);
	}
	/* A kept value may not fit a changed mask: pick a new one then. */
	for (size_t i = 0; i < plan->n_services; i++) {
		struct service *svc = &plan->services[i];

		if (!svc->mark_line &&
		    svc->mark_value >= mark_field_size(plan->mark_mask)) {
			svc->mark_value = 0;
			if (!svc->table_line)
				svc->table = 0;
		}
	}
	taken.marks = marks;
	taken.tables = tables;
	if (plan_assign(plan, &taken, &err) < 0)
		return policy_failure(f, err.msg);
	return 0;
}
