// SPDX-License-Identifier: GPL-2.0-or-later

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "confine/common.h"
#include "kernel-helpers/cleanup.h"
#include "kernel-helpers/caps.h"
#include "kernel-helpers/lock.h"
#include "kernel-helpers/netns.h"
#include "kernel-helpers/sockmark.h"

void report(int err, const struct failure *f)
{
	fprintf(stderr, "confine: cannot %s: %s", f->object, strerror(-err));
	if (f->kernel_msg[0])
		fprintf(stderr, " (kernel: %s)", f->kernel_msg);
	fputc('\n', stderr);
	/*
	 * The kernel answers a rule with an expression it does not know with
	 * ENOENT (no such expression type) or EOPNOTSUPP: name the feature.
	 */
	if ((err == -ENOENT || err == -EOPNOTSUPP) &&
	    strstr(f->object, "socket cgroupv2"))
		fprintf(stderr, "confine: this kernel lacks nf_tables "
				"`socket cgroupv2` matching in output route "
				"chains (Linux 5.13 or later, "
				"CONFIG_NFT_SOCKET)\n");
	else if (err == -EPERM)
		fprintf(stderr, "confine: this needs root (CAP_NET_ADMIN and "
				"write access to cgroupfs)\n");
}

void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("confine: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int load_plan(struct plan *plan, char *const *files, int n_files)
{
	struct policy_error err;

	plan_init(plan);
	for (int i = 0; i < n_files; i++) {
		if (policy_parse_file(plan, files[i], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			plan_free(plan);
			return EXIT_POLICY;
		}
	}
	if (plan->n_services == 0) {
		fprintf(stderr, "confine: no [Service] in %s%s\n", files[0],
			n_files > 1 ? " and the other files" : "");
		plan_free(plan);
		return EXIT_POLICY;
	}
	return 0;
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

/*
 * Takes confine's state lock, waiting for it up to CONFINE_LOCK_TIMEOUT
 * seconds (60 by default, 0: not at all) and saying so once.
 */
static int lock_state(struct session *s, enum session_lock mode)
{
	const char *env = getenv("CONFINE_LOCK_TIMEOUT");
	long timeout = env && *env ? strtol(env, NULL, 10) : 60;
	struct timespec start, tick = { 0, 20 * 1000 * 1000 };
	struct failure f = { 0 };
	bool said = false;
	int r;

	r = state_lock_open(&s->lock_fd, &f);
	if (r < 0) {
		s->lock_fd = -1;
		report(r, &f);
		return EXIT_FAILED;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((r = state_lock_take(s->lock_fd, mode == LOCK_EXCLUSIVE)) ==
	       -EWOULDBLOCK) {
		pid_t holder = state_lock_holder(s->lock_fd);
		char who[32] = "";

		if (holder)
			snprintf(who, sizeof(who), " (PID %d)", (int)holder);
		if (elapsed_ms(&start) >= timeout * 1000) {
			fprintf(stderr,
				"confine: giving up after %ld s: another "
				"confine command%s holds %s\n",
				timeout, who, STATE_LOCK_PATH);
			return EXIT_FAILED;
		}
		if (!said)
			fprintf(stderr,
				"confine: waiting for another confine "
				"command%s to finish\n",
				who);
		said = true;
		nanosleep(&tick, NULL);
	}
	if (r < 0) {
		fprintf(stderr, "confine: cannot lock %s: %s\n",
			STATE_LOCK_PATH, strerror(-r));
		return EXIT_FAILED;
	}
	return 0;
}

int session_open(struct session *s, const char *netns, enum session_lock mode)
{
	struct failure f = { 0 };
	int r;

	*s = (struct session){ .lock_fd = -1 };
	/* Held from the first reading of the state to the last write. */
	r = lock_state(s, mode);
	if (r) {
		session_close(s);
		return r;
	}
	/* cgroupfs does not depend on the network namespace: find it first. */
	r = cgroup2_mount(&s->cgroup_mnt, &f);
	if (r < 0)
		goto fail;
	if (netns) {
		r = netns_enter(netns, &f);
		if (r < 0)
			goto fail;
	}
	r = nft_open(&s->nft, &f);
	if (r < 0)
		goto fail;
	r = rtnl_open(&s->rtnl, &f);
	if (r < 0)
		goto fail;
	r = nft_read_state(s->nft, &s->installed, &f);
	if (r < 0)
		goto fail;
	return 0;
fail:
	report(r, &f);
	session_close(s);
	return EXIT_FAILED;
}

void session_close(struct session *s)
{
	nft_state_free(&s->installed);
	nft_close(s->nft);
	rtnl_close(s->rtnl);
	free(s->cgroup_mnt);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	*s = (struct session){ .lock_fd = -1 };
}

int session_refresh(struct session *s)
{
	struct failure f = { 0 };
	int r;

	nft_state_free(&s->installed);
	r = nft_read_state(s->nft, &s->installed, &f);
	if (r < 0) {
		report(r, &f);
		return EXIT_FAILED;
	}
	return 0;
}

char *service_cgroup_rel(const struct plan *plan, const struct service *svc)
{
	char *rel;

	if (asprintf(&rel, "/%s/%s", plan->cgroup_parent, svc->name) < 0)
		return NULL;
	return rel;
}

int assign_plan(struct session *s, struct plan *plan)
{
	_cleanup_free_ uint32_t *marks = NULL, *tables = NULL;
	const struct nft_state *in = &s->installed;
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
		if (!svc->mark_line)
			svc->mark_value = is->mark_value;
		if (!svc->table_line)
			svc->table = is->table;
	}
	if (others && in->mark_mask && in->mark_mask != plan->mark_mask) {
		fprintf(stderr,
			"confine: %s: MarkMask=0x%08x differs from the mask "
			"0x%08x that installed services use; remove them "
			"first or use the same mask\n",
			plan->services[0].file, plan->mark_mask, in->mark_mask);
		return EXIT_POLICY;
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
	if (plan_assign(plan, &taken, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_POLICY;
	}
	return 0;
}

/*
 * Whether p holds the loopback address that every local service uses,
 * 127.0.0.1 or ::1 (a deliberate 127.0.0.2 is the service's own).
 */
static bool holds_common_loopback(const struct prefix *p)
{
	union inet_addr lo = { 0 };

	if (p->family == AF_INET)
		lo.v4.s_addr = htonl(INADDR_LOOPBACK);
	else
		lo.v6 = in6addr_loopback;
	return prefix_contains(p, p->family, &lo);
}

void warn_policy_risks(const struct plan *plan)
{
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		for (int cap = 0; cap < 64; cap++) {
			const char *how = cap_undo_reason(cap);
			char name[32];

			if (!how || !(svc->keep_caps & (UINT64_C(1) << cap)))
				continue;
			fprintf(stderr,
				"%s:%u: warning: service %s keeps CAP_%s, "
				"with which it can undo its confinement: "
				"%s\n",
				svc->file, svc->keep_cap_line[cap], svc->name,
				capability_name(cap, name, sizeof(name)), how);
		}
		/*
		 * Exclusive covers whole addresses: a loopback one would be
		 * closed to every local service on every other port.
		 */
		for (size_t j = 0; svc->exclusive && j < svc->n_allows; j++) {
			const struct allow *a = &svc->allows[j];
			char dst[64];

			if (!holds_common_loopback(&a->dst))
				continue;
			prefix_format(&a->dst, dst, sizeof(dst));
			fprintf(stderr,
				"%s:%u: warning: service %s is exclusive, so no "
				"other process may reach %s at all, on any "
				"port; %s\n",
				svc->file, a->line, svc->name, dst,
				a->dst.family == AF_INET ?
					"give the service a loopback address "
					"of its own, such as 127.0.0.2" :
					"IPv6 has no other loopback address, "
					"so list ::1 only in a service that "
					"is not exclusive");
		}
	}
}

static bool allowed_address(const struct service *svc, int family,
			    const union inet_addr *a)
{
	for (size_t i = 0; i < svc->n_allows; i++)
		if (prefix_contains(&svc->allows[i].dst, family, a))
			return true;
	return false;
}

/*
 * Exclusive= covers the addresses listed, while the host behind them may
 * answer on others too (its IPv6 link-local address, a second address on
 * the same link), which other processes then still reach. The neighbour
 * table shows them: the same link-layer address on the same interface.
 */
/* Other addresses of neighbour nb's host (same link-layer address). */
static size_t aliases(const struct rtnl_neighbour *all, size_t n,
		      const struct rtnl_neighbour *nb,
		      const struct service *svc, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		char addr[INET6_ADDRSTRLEN];

		if (all[i].ifindex != nb->ifindex ||
		    all[i].lladdr_len != nb->lladdr_len ||
		    memcmp(all[i].lladdr, nb->lladdr, nb->lladdr_len) != 0 ||
		    allowed_address(svc, all[i].family, &all[i].addr))
			continue;
		inet_ntop(all[i].family, &all[i].addr, addr, sizeof(addr));
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					len ? ", " : "", addr);
	}
	return len;
}

void warn_exclusive_aliases(struct session *s, const struct plan *plan)
{
	_cleanup_free_ struct rtnl_neighbour *nb = NULL;
	size_t n = 0;

	if (rtnl_neighbours(s->rtnl, &nb, &n, NULL) < 0)
		return; /* only a warning is lost */
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		for (size_t k = 0; svc->exclusive && k < n; k++) {
			char dst[INET6_ADDRSTRLEN], others[512], ll[100] = "";
			char ifname[IF_NAMESIZE] = "?";
			const struct allow *a = NULL;
			size_t len = 0;

			for (size_t j = 0; j < svc->n_allows && !a; j++)
				if (prefix_contains(&svc->allows[j].dst,
						    nb[k].family, &nb[k].addr))
					a = &svc->allows[j];
			if (!a || !aliases(nb, n, &nb[k], svc, others,
					   sizeof(others)))
				continue;
			for (size_t b = 0; b < nb[k].lladdr_len; b++)
				len += (size_t)snprintf(ll + len,
							sizeof(ll) - len,
							"%s%02x", b ? ":" : "",
							nb[k].lladdr[b]);
			if_indextoname((unsigned)nb[k].ifindex, ifname);
			inet_ntop(nb[k].family, &nb[k].addr, dst, sizeof(dst));
			fprintf(stderr,
				"%s:%u: warning: service %s is exclusive for "
				"%s, but the same link-layer address (%s) on "
				"%s also answers for %s; other processes reach "
				"that host there: list those addresses in "
				"Allow= too\n",
				svc->file, a->line, svc->name, dst, ll, ifname,
				others);
		}
	}
}

/* Cgroups created by this call, removed again if it fails. */
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
			struct failure *f)
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
		fprintf(stderr,
			"confine: service %s needs its sockets marked from "
			"creation, because its Route= (%s:%u) must choose the "
			"route and source address at the first lookup:\n",
			svc->name, svc->file, svc->routes[0].line);
		return r;
	}
	if (r < 0) {
		report(r, f);
		warn("service %s: sockets are marked only by the nf_tables "
		     "rules; it has no Route=, so its traffic is routed as "
		     "before",
		     svc->name);
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

static int ensure_cgroup(struct session *s, const char *rel, struct cgroup *cg,
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

static void created_undo(struct session *s, struct created *c)
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
static int service_cgroups(struct session *s, const struct service *svc,
			   const struct cgroup *own, const struct cgroup *extra,
			   struct nft_service_cgroups *out)
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
	*out = (struct nft_service_cgroups){ svc, list, n };
	return 0;
}

void service_oifs_free(struct nft_oifs *oifs, size_t n)
{
	for (size_t i = 0; oifs && i < n; i++)
		free(oifs[i].names);
	free(oifs);
}

int service_oifs(struct session *s, const struct plan *plan,
		 const struct service *svc, struct nft_oifs **out,
		 struct failure *f)
{
	uint32_t mark = mark_of_value(plan->mark_mask, svc->mark_value);
	struct nft_oifs *oifs = calloc(svc->n_allows, sizeof(*oifs));

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
			service_oifs_free(oifs, svc->n_allows);
			return r;
		}
	}
	*out = oifs;
	return 0;
}

/* An Allow= whose destination has no route now stays refused (nft.h). */
static void warn_no_interface(const struct service *svc,
			      const struct nft_oifs *oifs)
{
	for (size_t i = 0; i < svc->n_allows; i++) {
		char dst[INET6_ADDRSTRLEN + 8];

		if (oifs[i].n)
			continue;
		prefix_format(&svc->allows[i].dst, dst, sizeof(dst));
		fprintf(stderr,
			"%s:%u: warning: service %s: nothing routes %s now, "
			"so the service's packets there are refused until "
			"`confine apply` runs again with a route in place\n",
			svc->file, svc->allows[i].line, svc->name, dst);
	}
}

int apply_plan(struct session *s, struct plan *plan, const struct cgroup *extra)
{
	struct nft_service_cgroups *maps = NULL;
	struct cgroup *own = NULL;
	struct created created = { 0 };
	struct marked marked = { 0 };
	struct rtnl_undo *undo = NULL;
	struct failure f = { 0 };
	int r, ret = EXIT_FAILED;

	r = assign_plan(s, plan);
	if (r)
		return r > 0 ? r : EXIT_FAILED;

	maps = calloc(plan->n_services, sizeof(*maps));
	own = calloc(plan->n_services, sizeof(*own));
	undo = rtnl_undo_new();
	if (!maps || !own || !undo) {
		r = -ENOMEM;
		snprintf(f.object, sizeof(f.object), "apply the policy");
		goto fail;
	}
	for (size_t i = 0; i < plan->n_services; i++) {
		_cleanup_free_ char *rel =
			service_cgroup_rel(plan, &plan->services[i]);

		if (!rel) {
			r = -ENOMEM;
			goto fail;
		}
		r = ensure_cgroup(s, rel, &own[i], &created, &f);
		if (r < 0)
			goto fail;
		r = service_cgroups(s, &plan->services[i], &own[i],
				    i == 0 ? extra : NULL, &maps[i]);
		if (r < 0)
			goto fail;
	}
	/*
	 * Routing first: until the nf_tables commit marks anything, the new
	 * rules and routes match no packet, so a failure in between leaves
	 * traffic exactly as it was.
	 */
	for (size_t i = 0; i < plan->n_services; i++) {
		struct nft_oifs *oifs = NULL;

		r = rtnl_service_install(s->rtnl, plan->mark_mask,
					 &plan->services[i], undo, &f);
		if (r < 0)
			goto fail;
		/* The interfaces its routes choose, with table T in place. */
		r = service_oifs(s, plan, &plan->services[i], &oifs, &f);
		if (r < 0)
			goto fail;
		maps[i].oifs = oifs;
		warn_no_interface(&plan->services[i], oifs);
	}
	/*
	 * Sockets marked from now on route by the tables just installed.
	 * Every mapped cgroup gets the programs, a systemd unit's leaf
	 * mapped by an earlier `run` too, so that a changed mark reaches it.
	 */
	for (size_t i = 0; i < plan->n_services; i++) {
		for (size_t j = 0; j < maps[i].n_cgroups; j++) {
			_cleanup_free_ char *rel = NULL, *path = NULL;
			uint64_t id = maps[i].cgroups[j].id;

			if (id == own[i].id)
				path = strdup(own[i].path);
			else if (extra && id == extra->id)
				path = strdup(extra->path);
			else if (cgroup_rel_of_id(s->cgroup_mnt, id, &rel) < 0)
				continue; /* gone since it was listed */
			else if (asprintf(&path, "%s%s", s->cgroup_mnt, rel) <
				 0)
				path = NULL;
			if (!path) {
				r = -ENOMEM;
				snprintf(f.object, sizeof(f.object),
					 "mark the sockets of service %s",
					 plan->services[i].name);
				goto fail;
			}
			r = mark_sockets(plan, &plan->services[i], path,
					 &marked, &f);
			if (r < 0)
				goto fail;
		}
	}
	r = nft_apply(s->nft, plan, maps, &s->installed, &f);
	if (r < 0)
		goto fail;

	/* Committed. What the new policy no longer wants goes now. */
	ret = 0;
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];
		const struct nft_service *is =
			nft_state_find(&s->installed, svc->name);

		r = rtnl_service_prune(s->rtnl, plan->mark_mask, svc, &f);
		if (r == 0 && is && is->table != svc->table)
			r = rtnl_service_remove(s->rtnl, is->table, &f);
		if (r < 0) {
			report(r, &f);
			ret = EXIT_FAILED;
		}
	}
	goto out;
fail:
	report(r, &f);
	marked_undo(&marked);
	rtnl_undo_run(s->rtnl, undo);
	created_undo(s, &created);
out:
	for (size_t i = 0; maps && i < plan->n_services; i++) {
		free(maps[i].cgroups);
		service_oifs_free((struct nft_oifs *)maps[i].oifs,
				  plan->services[i].n_allows);
	}
	for (size_t i = 0; own && i < plan->n_services; i++)
		cgroup_clear(&own[i]);
	free(maps);
	free(own);
	rtnl_undo_free(undo);
	created_free(&created);
	marked_free(&marked);
	if (ret == 0)
		ret = session_refresh(s);
	if (ret == 0)
		warn_exclusive_aliases(s, plan);
	return ret;
}
