// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Installing a plan: cgroups, routing, socket marks, then the nf_tables
 * batch, in an order that leaves traffic as it was when a step fails, and
 * with every addition undone then.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/engine.h"
#include "engine/lower.h"
#include "kernel-helpers/sockmark.h"

struct created {
	struct {
		char *rel;
		unsigned levels;
	} * list;
	size_t n;
};

/* Cgroups that got confine's socket-mark programs from this call. */
struct marked {
	char **paths;
	size_t n;
};

/*
 * Gives the sockets of cg the service's mark from creation. A kernel that
 * refuses the programs is fatal only to a service with Route=: without it
 * the first route lookup uses the main table, and the nf_tables rules mark
 * and reroute the allowed packets as before.
 */
static int mark_sockets(const struct plan *plan, const struct service *svc,
			const char *cgroup_path, struct marked *m,
			struct notes *notes, struct failure *f)
{
	uint32_t mark = mark_of_value(plan->mark_mask, svc->mark_value);
	bool attached = false;
	char **grown;
	int r;

	grown = realloc(m->paths, (m->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->paths = grown;
	r = sockmark_attach(cgroup_path, mark, &attached, f);
	if (attached) {
		m->paths[m->n] = strdup(cgroup_path);
		if (!m->paths[m->n]) {
			sockmark_detach(cgroup_path, NULL);
			return -ENOMEM;
		}
		m->n++;
	}
	if (r < 0 && svc->n_routes) {
		char why[sizeof(f->object)];

		snprintf(why, sizeof(why),
			 "%s (service %s needs its sockets marked from "
			 "creation, because its Route= at %s:%u must choose "
			 "the route and source address at the first lookup)",
			 f->object, svc->name, svc->file, svc->routes[0].line);
		snprintf(f->object, sizeof(f->object), "%s", why);
		return r;
	}
	if (r < 0) {
		notes_add(
			notes,
			"confine: warning: cannot %s: %s; service %s: sockets "
			"are marked only by the nf_tables rules; it has no "
			"Route=, so its traffic is routed as before",
			f->object, strerror(-r), svc->name);
		memset(f, 0, sizeof(*f));
	}
	return 0;
}

static void marked_undo(struct marked *m)
{
	for (size_t i = m->n; i-- > 0;)
		sockmark_detach(m->paths[i], NULL);
}

static void marked_free(struct marked *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->paths[i]);
	free(m->paths);
}

static int ensure_cgroup(struct engine *s, const char *rel, struct cgroup *cg,
			 struct created *c, struct failure *f)
{
	unsigned levels = 0;
	void *grown;
	int r;

	grown = realloc(c->list, (c->n + 1) * sizeof(*c->list));
	if (!grown)
		return -ENOMEM;
	c->list = grown;
	r = cgroup_ensure(s->cgroup_mnt, rel, cg, &levels, f);
	if (r < 0 || !levels)
		return r;
	c->list[c->n].rel = strdup(rel);
	if (!c->list[c->n].rel) {
		cgroup_remove(s->cgroup_mnt, rel, levels, NULL);
		return -ENOMEM;
	}
	c->list[c->n++].levels = levels;
	return 0;
}

static void created_undo(struct engine *s, struct created *c)
{
	for (size_t i = c->n; i-- > 0;)
		cgroup_remove(s->cgroup_mnt, c->list[i].rel, c->list[i].levels,
			      NULL);
}

static void created_free(struct created *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->list[i].rel);
	free(c->list);
}

/*
 * The cgroups to map to svc: its own, any other that an earlier `run`
 * mapped and that still exists (a systemd unit's leaf), and extra.
 */
static int service_cgroups(struct engine *s, const struct service *svc,
			   const struct cgroup *own, const struct cgroup *extra,
			   struct nft_cgroup **out, size_t *n_out)
{
	const struct nft_service *is = nft_state_find(&s->installed, svc->name);
	size_t max = 2 + (is ? is->n_cgroups : 0), n = 0;
	struct nft_cgroup *list = calloc(max, sizeof(*list));

	if (!list)
		return -ENOMEM;
	list[n++] = (struct nft_cgroup){ own->id, own->level };
	if (extra && extra->id != own->id)
		list[n++] = (struct nft_cgroup){ extra->id, extra->level };
	for (size_t i = 0; is && i < is->n_cgroups; i++) {
		_cleanup_free_ char *rel = NULL;
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++)
			dup = list[j].id == is->cgroups[i].id;
		/* Ids are never reused, so a gone cgroup's entry just goes. */
		if (dup || cgroup_rel_of_id(s->cgroup_mnt, is->cgroups[i].id,
					    &rel) < 0)
			continue;
		list[n++] = is->cgroups[i];
	}
	*out = list;
	*n_out = n;
	return 0;
}

void oifs_free(struct oifs *oifs, size_t n)
{
	for (size_t i = 0; oifs && i < n; i++)
		free(oifs[i].names);
	free(oifs);
}

int service_oifs(struct engine *s, const struct plan *plan,
		 const struct service *svc, struct oifs **out,
		 struct failure *f)
{
	uint32_t mark = mark_of_value(plan->mark_mask, svc->mark_value);
	struct oifs *oifs = calloc(svc->n_allows + 1, sizeof(*oifs));

	if (!oifs)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_allows; i++) {
		_cleanup_free_ int *idx = NULL;
		size_t n = 0;
		int r = rtnl_allow_oifs(s->rtnl, mark, svc->table,
					&svc->allows[i].dst, &idx, &n, f);

		if (r == 0 && n &&
		    !(oifs[i].names = calloc(n, sizeof(*oifs[i].names))))
			r = -ENOMEM;
		for (size_t j = 0; r == 0 && j < n; j++)
			if (if_indextoname((unsigned)idx[j],
					   oifs[i].names[oifs[i].n]))
				oifs[i].n++; /* gone since: not a way out */
		if (r < 0) {
			oifs_free(oifs, svc->n_allows);
			return r;
		}
	}
	*out = oifs;
	return 0;
}

/* An Allow= whose destination has no route now stays refused (nft.h). */
static void note_no_interface(const struct service *svc,
			      const struct oifs *oifs, struct notes *notes)
{
	for (size_t i = 0; i < svc->n_allows; i++) {
		char dst[INET6_ADDRSTRLEN + 8];

		if (oifs[i].n)
			continue;
		prefix_format(&svc->allows[i].dst, dst, sizeof(dst));
		notes_add(notes,
			  "%s:%u: warning: service %s: nothing routes %s now, "
			  "so the service's packets there are refused until "
			  "`confine apply` runs again with a route in place",
			  svc->file, svc->allows[i].line, svc->name, dst);
	}
}

/* What the plan's services need of the kernel, per service. */
struct planned {
	struct cgroup own;
	struct nft_cgroup *cgroups;
	size_t n_cgroups;
	struct oifs *oifs;
	struct lowered low;
};

static void planned_free(struct planned *p, const struct service *svc)
{
	cgroup_clear(&p->own);
	free(p->cgroups);
	oifs_free(p->oifs, svc->n_allows);
	lowered_free(&p->low);
}

/*
 * The socket-mark programs go to every mapped cgroup, a systemd unit's
 * leaf mapped by an earlier `run` too, so that a changed mark reaches it.
 * A service without routing of its own has no mark to give: the programs
 * of a mark it had before go, as its ip rules do.
 */
static int mark_service(struct engine *s, const struct plan *plan,
			const struct service *svc, const struct planned *p,
			const struct cgroup *extra, struct marked *marked,
			struct notes *notes, struct failure *f)
{
	const struct nft_service *is = nft_state_find(&s->installed, svc->name);

	if (!svc->mark_value && !(is && is->mark_value))
		return 0;
	for (size_t j = 0; j < p->n_cgroups; j++) {
		struct cgroup cg = { 0 };
		const char *path;
		int r = 0;

		if (p->cgroups[j].id == p->own.id)
			path = p->own.path;
		else if (extra && p->cgroups[j].id == extra->id)
			path = extra->path;
		else if (cgroup_of_id(s->cgroup_mnt, p->cgroups[j].id, &cg) ==
			 0)
			path = cg.path;
		else
			continue; /* gone since it was listed */
		if (svc->mark_value)
			r = mark_sockets(plan, svc, path, marked, notes, f);
		else
			sockmark_detach(path, NULL);
		cgroup_clear(&cg);
		if (r < 0)
			return r;
	}
	return 0;
}

int engine_apply(struct engine *s, struct plan *plan,
		 const struct cgroup *extra, struct notes *notes,
		 struct failure *f)
{
	_cleanup_free_ struct nft_service_spec *specs = NULL;
	struct planned *p = NULL;
	struct created created = { 0 };
	struct marked marked = { 0 };
	struct rtnl_undo *undo = NULL;
	int r;

	r = engine_assign(s, plan, f);
	if (r < 0)
		return r;
	p = calloc(plan->n_services, sizeof(*p));
	specs = calloc(plan->n_services, sizeof(*specs));
	undo = rtnl_undo_new();
	if (!p || !specs || !undo) {
		failure_set(f, "apply the policy");
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < plan->n_services; i++) {
		_cleanup_free_ char *rel =
			service_cgroup_rel(plan, &plan->services[i]);

		if (!rel) {
			r = -ENOMEM;
			goto fail;
		}
		r = ensure_cgroup(s, rel, &p[i].own, &created, f);
		if (r == 0)
			r = service_cgroups(s, &plan->services[i], &p[i].own,
					    i == 0 ? extra : NULL,
					    &p[i].cgroups, &p[i].n_cgroups);
		if (r < 0)
			goto fail;
	}
	/*
	 * Routing first: until the nf_tables commit marks anything, the new
	 * rules and routes match no packet, so a failure in between leaves
	 * traffic exactly as it was.
	 */
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		r = lower_service(plan, svc, NULL, NULL, 0, &p[i].low);
		if (r == 0 && svc->table)
			r = rtnl_service_install(s->rtnl, &p[i].low.rt, undo,
						 f);
		/* The interfaces its routes choose, with table T in place. */
		if (r == 0)
			r = service_oifs(s, plan, svc, &p[i].oifs, f);
		if (r < 0)
			goto fail;
		note_no_interface(svc, p[i].oifs, notes);
		lowered_free(&p[i].low);
		r = lower_service(plan, svc, p[i].oifs, p[i].cgroups,
				  p[i].n_cgroups, &p[i].low);
		if (r < 0)
			goto fail;
		specs[i] = p[i].low.nft;
	}
	/* So that what a flush leaves says services were installed here. */
	r = rtnl_marker_set(s->rtnl, MARKER_TABLE, undo, f);
	if (r < 0)
		goto fail;
	/* Sockets marked from now on route by the tables just installed. */
	for (size_t i = 0; i < plan->n_services; i++) {
		r = mark_service(s, plan, &plan->services[i], &p[i], extra,
				 &marked, notes, f);
		if (r < 0)
			goto fail;
	}
	r = nft_apply(s->nft, plan->mark_mask, specs, plan->n_services,
		      &s->installed, f);
	if (r < 0)
		goto fail;

	/* Committed. What the new policy no longer wants goes now. */
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];
		const struct nft_service *is =
			nft_state_find(&s->installed, svc->name);
		struct failure pf = { 0 };
		int pr = svc->table ? rtnl_service_prune(s->rtnl, &p[i].low.rt,
							 &pf) :
				      0;

		if (pr == 0 && is && is->table != svc->table)
			pr = rtnl_service_remove(s->rtnl, is->table, &pf);
		if (pr < 0 && r == 0) {
			r = pr;
			*f = pf;
		}
	}
	if (r == 0)
		r = engine_refresh(s, f);
	if (r == 0)
		lint_exclusive_aliases(s, plan, notes);
	goto out;
fail:
	marked_undo(&marked);
	rtnl_undo_run(s->rtnl, undo);
	created_undo(s, &created);
out:
	for (size_t i = 0; p && i < plan->n_services; i++)
		planned_free(&p[i], &plan->services[i]);
	free(p);
	rtnl_undo_free(undo);
	created_free(&created);
	marked_free(&marked);
	return r;
}
