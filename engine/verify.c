// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * "In force": the one check that `run` makes before it starts a program
 * and that `status` reports, so that a user who trusts status is told
 * exactly what run would find.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "engine/engine.h"
#include "engine/lower.h"
#include "kernel-helpers/sockmark.h"

#define PROBE_PORT NFT_PROBE_PORT /* discard */

static bool allowed(const struct service *svc, int family,
		    const union inet_addr *a, enum l4proto proto, uint16_t port)
{
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct allow *al = &svc->allows[i];

		if ((al->proto == L4_ANY || al->proto == proto) &&
		    prefix_contains(&al->dst, family, a) &&
		    (!al->port_min ||
		     (port >= al->port_min && port <= al->port_max)))
			return true;
	}
	return false;
}

/* A probe process's failures before it could send, as results. */
#define PROBE_NO_JOIN (-1)
#define PROBE_NO_SOCKET (-2)

/*
 * One probe: an empty UDP datagram to addr port 9 from a process in cg,
 * for the service of item. Without confinement it would go to a local
 * port and nowhere else.
 */
struct probe_job {
	size_t item;
	size_t round; /* its place among its service's probes */
	struct cgroup cg; /* owned */
	int family;
	union inet_addr addr;
	uint64_t before; /* what the service's chain had counted */
	int result; /* errno of sendto(), 0 when sent, or PROBE_NO_* */
};

struct probe_jobs {
	struct probe_job *list;
	size_t n;
};

static void probe_jobs_free(struct probe_jobs *j)
{
	for (size_t i = 0; i < j->n; i++)
		cgroup_clear(&j->list[i].cg);
	free(j->list);
	*j = (struct probe_jobs){ 0 };
}

static int probe_sockaddr(const struct probe_job *job,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	*ss = (struct sockaddr_storage){ .ss_family = job->family };
	if (job->family == AF_INET) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_port = htons(PROBE_PORT);
		memcpy(&sin->sin_addr, &job->addr.v4, sizeof(job->addr.v4));
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_port = htons(PROBE_PORT);
		memcpy(&sin6->sin6_addr, &job->addr.v6, sizeof(job->addr.v6));
		*len = sizeof(*sin6);
	}
	return 0;
}

/* One probe, from this process: the errno of sendto(), or PROBE_NO_*. */
static int probe_one(const struct probe_job *job)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(job->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), result;

	if (fd < 0)
		return PROBE_NO_SOCKET;
	probe_sockaddr(job, &ss, &len);
	result = sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len) == 0 ? 0 :
									  errno;
	close(fd);
	return result;
}

/* Whether this process is in cg already, as `run` is when it checks. */
static bool here(const struct cgroup *cg)
{
	_cleanup_free_ char *self = NULL;

	return cg->rel && cgroup_self(&self) == 0 && strcmp(self, cg->rel) == 0;
}

/*
 * Sends the probes of jobs[0..n), each from its cgroup: one child process
 * moves from cgroup to cgroup and creates a socket in each, since a
 * socket belongs to the cgroup its creator was in when it was made. One
 * process for all of them, not one each, keeps checking 10,000 services
 * fast. Fills each job's result; -errno when the probe could not run.
 */
static int probe_send(struct probe_job **jobs, size_t n, char *why, size_t size)
{
	int *results, status;
	pid_t pid;

	/* A process in the cgroup already needs no other to probe it. */
	if (n == 1 && here(&jobs[0]->cg)) {
		jobs[0]->result = probe_one(jobs[0]);
		return 0;
	}
	results = mmap(NULL, n * sizeof(*results), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED) {
		snprintf(why, size, "cannot map the probe's results: %s",
			 strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, size, "cannot fork the probe: %s",
			 strerror(errno));
		munmap(results, n * sizeof(*results));
		return -errno;
	}
	if (pid == 0) {
		for (size_t i = 0; i < n; i++)
			results[i] = cgroup_join(&jobs[i]->cg, NULL) < 0 ?
					     PROBE_NO_JOIN :
					     probe_one(jobs[i]);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		snprintf(why, size, "the probe process failed");
		munmap(results, n * sizeof(*results));
		return -ECHILD;
	}
	for (size_t i = 0; i < n; i++)
		jobs[i]->result = results[i];
	munmap(results, n * sizeof(*results));
	return 0;
}

/*
 * A probe's address: one the policy refuses (when it is known), so that
 * the datagram must be refused as well as counted; false when everything
 * probed is allowed, and there is nothing to prove.
 */
static bool probe_target(const struct service *svc, int *family,
			 union inet_addr *a)
{
	static const struct {
		int family;
		const char *addr;
	} candidates[] = {
		{ AF_INET, NFT_PROBE_ADDR4 },
		{ AF_INET6, NFT_PROBE_ADDR6 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
		inet_pton(candidates[i].family, candidates[i].addr, a);
		if (!svc || !allowed(svc, candidates[i].family, a, L4_UDP,
				     PROBE_PORT)) {
			*family = candidates[i].family;
			return true;
		}
	}
	return false;
}

/* What the service's chain has counted, for each of jobs[0..n). */
static int read_counted(struct engine *e, const struct verify_item *items,
			struct probe_job **jobs, size_t n, uint64_t *out,
			struct failure *f)
{
	int r;

	/* A few: ask for their counters; many: read them all at once. */
	if (n <= 8) {
		for (size_t i = 0; i < n; i++) {
			r = nft_service_packets(e->nft,
						items[jobs[i]->item].is->name,
						&out[i], f);
			if (r < 0)
				return r;
		}
		return 0;
	}
	r = nft_read_counters(e->nft, &e->installed, f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct nft_service *is = nft_state_find(
			&e->installed, items[jobs[i]->item].is->name);

		out[i] = is ? is->allowed_packets + is->refused_packets +
					 is->probe_packets :
			      0;
	}
	return 0;
}

/* Judges a probe that ran: counted by the service's chain, and refused. */
static void probe_judge(const struct probe_job *job, uint64_t after,
			const struct verify_item *it, struct verdict *v)
{
	char shown[INET6_ADDRSTRLEN];
	int err = job->result;

	inet_ntop(job->family, job->addr.bytes, shown, sizeof(shown));
	if (err == PROBE_NO_JOIN || err == PROBE_NO_SOCKET) {
		snprintf(v->reason, sizeof(v->reason),
			 err == PROBE_NO_JOIN ?
				 "the probe could not join cgroup %s" :
				 "the probe could not create a socket in "
				 "cgroup %s",
			 job->cg.path);
	} else if (err && err != EPERM && err != ECONNREFUSED) {
		snprintf(v->reason, sizeof(v->reason),
			 "a probe socket in cgroup %s got \"%s\" instead of "
			 "being refused (is the loopback interface up?)",
			 job->cg.path, strerror(err));
	} else if (after == job->before) {
		snprintf(v->reason, sizeof(v->reason),
			 "a probe datagram from cgroup %s to %s port %d met "
			 "no rule of service %s's chain: its packets are not "
			 "the service's",
			 job->cg.path, shown, PROBE_PORT, it->is->name);
	} else if (it->svc && err != EPERM) {
		snprintf(v->reason, sizeof(v->reason),
			 "a probe socket in cgroup %s sent a datagram to %s "
			 "port %d, which the policy refuses: its packets are "
			 "not the service's",
			 job->cg.path, shown, PROBE_PORT);
	} else {
		return;
	}
	v->in_force = false;
}

/*
 * Proves for each job that a socket created in its cgroup is its
 * service's: the datagram must be counted by a rule of the service's
 * chain (an emptied chain counts nothing) and, when the policy is known,
 * refused. A service's probes go in rounds, one per round, so that each
 * count is its own.
 */
static int run_probes(struct engine *e, struct verify_item *items,
		      struct probe_jobs *jobs, struct failure *f)
{
	_cleanup_free_ struct probe_job **round = NULL;
	_cleanup_free_ uint64_t *after = NULL;
	char why[sizeof(items[0].v.reason)];
	int r = 0;

	round = calloc(jobs->n + 1, sizeof(*round));
	after = calloc(jobs->n + 1, sizeof(*after));
	if (!round || !after)
		return -ENOMEM;
	for (size_t k = 0; r == 0; k++) {
		_cleanup_free_ uint64_t *before = NULL;
		size_t n = 0;

		for (size_t i = 0; i < jobs->n; i++)
			if (jobs->list[i].round == k &&
			    items[jobs->list[i].item].v.in_force)
				round[n++] = &jobs->list[i];
		if (!n)
			break;
		before = calloc(n, sizeof(*before));
		if (!before)
			return -ENOMEM;
		r = read_counted(e, items, round, n, before, f);
		for (size_t i = 0; r == 0 && i < n; i++)
			round[i]->before = before[i];
		if (r == 0)
			r = probe_send(round, n, why, sizeof(why));
		if (r < 0 && f && !f->object[0])
			failure_set(f, "%s", why);
		if (r == 0)
			r = read_counted(e, items, round, n, after, f);
		for (size_t i = 0; r == 0 && i < n; i++)
			probe_judge(round[i], after[i], &items[round[i]->item],
				    &items[round[i]->item].v);
	}
	return r;
}

/* The routing checks; false with v->reason filled when one fails. */
static int routing_in_force(struct engine *e, const struct rtnl_service *rt,
			    struct verdict *v, struct failure *f)
{
	struct rtnl_service_state st;
	int r = rtnl_service_check(e->rtnl, rt, &st, f);

	if (r < 0)
		return r;
	for (int fam = 0; fam < 2; fam++) {
		const char *name = fam ? "IPv6" : "IPv4";

		if (!st.rule[fam]) {
			snprintf(v->reason, sizeof(v->reason),
				 "the %s rule fwmark 0x%x/0x%x lookup %u is "
				 "missing",
				 name, rt->mark, rt->mask, rt->table);
			return 0;
		}
		if (!st.unreachable[fam]) {
			snprintf(v->reason, sizeof(v->reason),
				 "the %s unreachable default route in table "
				 "%u is missing",
				 name, rt->table);
			return 0;
		}
	}
	if (st.routes_missing) {
		snprintf(v->reason, sizeof(v->reason),
			 "%zu route(s) of table %u are missing, %s among "
			 "them",
			 st.routes_missing, rt->table, st.missing);
		return 0;
	}
	return 1;
}

/*
 * The socket-mark programs of one cgroup of the service, and its probe
 * queued in jobs; false with v->reason filled when the programs are
 * missing.
 */
static int cgroup_in_force(struct verify_item *it, size_t item,
			   const struct cgroup *cg, uint32_t mark,
			   bool require_sockmark, struct probe_jobs *jobs,
			   size_t *round, struct failure *f)
{
	struct verdict *v = &it->v;
	struct probe_job *grown, job = { .item = item, .round = *round };
	int r = 0;

	/* A service without routing of its own has no mark to give. */
	if (mark)
		r = sockmark_check(cg->path, mark, &v->sockmarked, f);
	if (r < 0)
		return r;
	if (mark && !v->sockmarked && require_sockmark) {
		snprintf(v->reason, sizeof(v->reason),
			 "the BPF programs that mark the sockets of cgroup %s "
			 "with 0x%x are not attached",
			 cg->path, mark);
		return 0;
	}
	if (!probe_target(it->svc, &job.family, &job.addr))
		return 1; /* everything probed is allowed: nothing to prove */
	job.cg.path = strdup(cg->path);
	job.cg.rel = cg->rel ? strdup(cg->rel) : NULL;
	grown = realloc(jobs->list, (jobs->n + 1) * sizeof(*grown));
	if (!job.cg.path || (cg->rel && !job.cg.rel) || !grown) {
		cgroup_clear(&job.cg);
		if (grown)
			jobs->list = grown;
		return -ENOMEM;
	}
	jobs->list = grown;
	jobs->list[jobs->n++] = job;
	(*round)++;
	return 1;
}

/* Whether is was installed from svc, with the interfaces routed now. */
static int policy_current(struct engine *e, const struct nft_service *is,
			  const struct plan *plan, const struct service *svc,
			  struct verdict *v, struct failure *f)
{
	struct oifs *oifs = NULL;
	struct lowered low;
	uint32_t digest;
	size_t at = 0;
	int r = service_oifs(e, plan, svc, &oifs, f);

	if (r < 0)
		return r;
	r = lower_service(plan, svc, oifs, NULL, 0, &low);
	if (r < 0) {
		oifs_free(oifs, svc->n_allows);
		return r;
	}
	digest = low.nft.digest;
	if (is->digest != digest) {
		lowered_free(&low);
		oifs_free(oifs, svc->n_allows);
		snprintf(v->reason, sizeof(v->reason),
			 "the installed rules of service %s differ from %s, or "
			 "its routes have changed since it was applied",
			 svc->name, svc->file);
		return 0;
	}
	/*
	 * The digest is only what the chain's comment says: its rules
	 * themselves may have been changed by hand since.
	 */
	r = nft_service_rules_differ(e->nft, plan->mark_mask, &low.nft, &at, f);
	lowered_free(&low);
	oifs_free(oifs, svc->n_allows);
	if (r <= 0)
		return r < 0 ? r : 1;
	snprintf(v->reason, sizeof(v->reason),
		 "the rules of chain svc_%s are not the ones confine installs "
		 "for %s (they part after rule %zu)",
		 svc->name, svc->file, at);
	return 0;
}

/*
 * Everything but the probes, for one service: it queues those in jobs.
 * Returns 0 with it->v.reason filled when something is missing already.
 */
static int prepare(struct engine *e, const struct plan *plan,
		   struct verify_item *it, size_t item, const struct cgroup *cg,
		   bool require_sockmark, struct probe_jobs *jobs,
		   struct failure *f)
{
	const struct nft_service *is = it->is;
	const struct service *svc = it->svc;
	struct verdict *v = &it->v;
	uint32_t mask = svc ? plan->mark_mask : e->installed.mark_mask;
	uint32_t mark = mark_of_value(mask, is->mark_value);
	struct rtnl_service rt = {
		.name = is->name, .mark = mark, .mask = mask, .table = is->table
	};
	struct lowered low = { 0 };
	struct cgroup found = { 0 };
	size_t first_job = jobs->n, round = 0;
	bool mapped = false;
	int r;

	*v = (struct verdict){ 0 };
	if (svc) {
		r = lower_service(plan, svc, NULL, NULL, 0, &low);
		if (r < 0)
			return r;
		rt = low.rt;
	}
	if (!is->n_cgroups) {
		snprintf(v->reason, sizeof(v->reason),
			 "no cgroup of service %s is in confine's cgroup map",
			 is->name);
		r = 0;
		goto out;
	}
	if (cg) {
		for (size_t i = 0; i < is->n_cgroups && !mapped; i++)
			mapped = is->cgroups[i].id == cg->id;
		if (!mapped) {
			snprintf(v->reason, sizeof(v->reason),
				 "cgroup %s (id %llu) is not in confine's "
				 "cgroup map",
				 cg->path, (unsigned long long)cg->id);
			r = 0;
			goto out;
		}
	}
	/* A service without routing of its own has no rule or table. */
	r = rt.table ? routing_in_force(e, &rt, v, f) : 1;
	if (r <= 0)
		goto out;
	/* After the routing, whose missing pieces change the interfaces. */
	if (svc) {
		r = policy_current(e, is, plan, svc, v, f);
		if (r <= 0)
			goto out;
	}
	if (cg) {
		r = cgroup_in_force(it, item, cg, mark, require_sockmark, jobs,
				    &round, f);
		mapped = true;
	}
	/* Without a cgroup of its own to ask about: every mapped one. */
	for (size_t i = 0; !cg && i < is->n_cgroups; i++) {
		/* Gone: ids are never reused. */
		if (cgroup_of_id(e->cgroup_mnt, is->cgroups[i].id, &found) < 0)
			continue;
		r = cgroup_in_force(it, item, &found, mark, require_sockmark,
				    jobs, &round, f);
		cgroup_clear(&found);
		if (r <= 0)
			break;
		mapped = true;
	}
	if (r > 0 && !mapped) {
		snprintf(v->reason, sizeof(v->reason),
			 "no cgroup in confine's map for service %s exists",
			 is->name);
		r = 0;
	}
	/* In force unless a probe shows otherwise. */
	v->in_force = r > 0;
	r = r < 0 ? r : 0;
out:
	if (!v->in_force)
		while (jobs->n > first_job)
			cgroup_clear(&jobs->list[--jobs->n].cg);
	lowered_free(&low);
	cgroup_clear(&found);
	return r;
}

static int verify_items(struct engine *e, const struct plan *plan,
			struct verify_item *items, size_t n,
			const struct cgroup *cg, bool require_sockmark,
			struct failure *f)
{
	struct probe_jobs jobs = { 0 };
	int r = 0;

	/* More than one: read every chain's rules at once, not one by one. */
	if (n > 1 && plan)
		r = nft_read_rules(e->nft, f);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = prepare(e, plan, &items[i], i, cg, require_sockmark, &jobs,
			    f);
	if (r == 0)
		r = run_probes(e, items, &jobs, f);
	nft_forget_rules(e->nft);
	probe_jobs_free(&jobs);
	return r;
}

int engine_verify_many(struct engine *e, const struct plan *plan,
		       struct verify_item *items, size_t n,
		       bool require_sockmark, struct failure *f)
{
	return verify_items(e, plan, items, n, NULL, require_sockmark, f);
}

int engine_verify(struct engine *e, const struct nft_service *is,
		  const struct plan *plan, const struct service *svc,
		  const struct cgroup *cg, bool require_sockmark,
		  struct verdict *v, struct failure *f)
{
	struct verify_item it = { .is = is, .svc = svc };
	int r = verify_items(e, plan, &it, 1, cg, require_sockmark, f);

	*v = it.v;
	return r;
}

static bool table_installed(const struct nft_state *st, uint32_t table)
{
	for (size_t i = 0; i < st->n_services; i++)
		if (st->services[i].table == table)
			return true;
	return false;
}

/* Confine's ip rules whose table no nf_tables service routes by. */
static int orphan_rules(struct engine *e, struct notes *out, struct failure *f)
{
	_cleanup_free_ struct rtnl_rule *rules = NULL;
	size_t n = 0;
	int r = rtnl_fwmark_rules(e->rtnl, &rules, &n, f);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (!rules[i].confine)
			continue;
		/* One line per table, not one per family. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = rules[j].confine &&
			       rules[j].table == rules[i].table;
		if (seen || table_installed(&e->installed, rules[i].table))
			continue;
		notes_add(out,
			  "routing table %u (ip rule fwmark 0x%x/0x%x): NOT IN "
			  "FORCE: confine's ip rule and routes are there, but "
			  "no nf_tables service of confine's uses them (the "
			  "table inet confine was deleted or flushed, as `nft "
			  "flush ruleset` does); run `confine apply` again",
			  rules[i].table, rules[i].mark, rules[i].mask);
	}
	return 0;
}

int engine_leftovers(struct engine *e, struct notes *out, struct failure *f)
{
	size_t before = out->n;
	bool marker;
	int r = orphan_rules(e, out, f);

	if (r < 0)
		return r;
	/* Services without routing of their own leave only the marker. */
	if (out->n > before || e->installed.n_services)
		return 0;
	r = rtnl_marker_present(e->rtnl, MARKER_TABLE, &marker, f);
	if (r < 0 || !marker)
		return r;
	notes_add(out,
		  "confine's services: NOT IN FORCE: routing table %u holds "
		  "confine's marker of installed services, but no nf_tables "
		  "service of confine's is there (the table inet confine was "
		  "deleted or flushed, as `nft flush ruleset` does); run "
		  "`confine apply` again",
		  MARKER_TABLE);
	return 0;
}
