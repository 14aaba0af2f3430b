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

/*
 * Sends one empty UDP datagram to addr port 9 from a process in cg.
 * Returns 0 with *err the errno of sendto() (0: sent), or -errno when the
 * probe itself could not run, with why filled.
 */
static int probe_send(const struct cgroup *cg, int family,
		      const union inet_addr *addr, int *err, char *why,
		      size_t size)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(why, size, "cannot fork the probe: %s",
			 strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		struct sockaddr_storage ss = { .ss_family = family };
		socklen_t len;
		int fd;

		if (cgroup_join(cg, NULL) < 0)
			_exit(100);
		if (family == AF_INET) {
			struct sockaddr_in *sin = (void *)&ss;

			sin->sin_port = htons(PROBE_PORT);
			memcpy(&sin->sin_addr, &addr->v4, sizeof(addr->v4));
			len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (void *)&ss;

			sin6->sin6_port = htons(PROBE_PORT);
			memcpy(&sin6->sin6_addr, &addr->v6, sizeof(addr->v6));
			len = sizeof(*sin6);
		}
		fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			_exit(101);
		if (sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len) == 0)
			_exit(0);
		_exit(errno < 100 ? errno : 99);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		snprintf(why, size, "the probe process failed");
		return -ECHILD;
	}
	switch (WEXITSTATUS(status)) {
	case 100:
		snprintf(why, size, "the probe could not join cgroup %s",
			 cg->path);
		return -EPERM;
	case 101:
		snprintf(why, size, "the probe could not create a socket");
		return -EIO;
	default:
		*err = WEXITSTATUS(status);
		return 0;
	}
}

/* The packets the service's chain has counted so far, read afresh. */
static int counted(struct engine *e, const char *name, uint64_t *out,
		   struct failure *f)
{
	struct nft_state st;
	const struct nft_service *is;
	int r = nft_read_state(e->nft, &st, f);

	if (r < 0)
		return r;
	is = nft_state_find(&st, name);
	*out = is ? is->allowed_packets + is->refused_packets +
			       is->probe_packets :
		    0;
	nft_state_free(&st);
	return 0;
}

/*
 * Proves that a socket created in cg is the service's: its datagram must
 * be counted by a rule of the service's chain (an emptied chain counts
 * nothing), and, when the policy is known and does not allow the address,
 * refused with EPERM. Without confinement it would go to a local port and
 * nowhere else.
 */
static int probe(struct engine *e, const struct nft_service *is,
		 const struct service *svc, const struct cgroup *cg,
		 struct verdict *v, struct failure *f)
{
	static const struct {
		int family;
		const char *addr;
	} candidates[] = {
		{ AF_INET, NFT_PROBE_ADDR4 },
		{ AF_INET6, NFT_PROBE_ADDR6 },
	};
	union inet_addr a;
	uint64_t before, after;
	int family = 0, err = 0, r;
	const char *shown;

	for (size_t i = 0; i < 2 && !family; i++) {
		inet_pton(candidates[i].family, candidates[i].addr, &a);
		if (!svc ||
		    !allowed(svc, candidates[i].family, &a, L4_UDP, PROBE_PORT))
			family = candidates[i].family;
	}
	if (!family)
		return 0; /* everything probed is allowed; nothing to prove */
	shown = family == AF_INET ? NFT_PROBE_ADDR4 : NFT_PROBE_ADDR6;
	r = counted(e, is->name, &before, f);
	if (r < 0)
		return r;
	r = probe_send(cg, family, &a, &err, v->reason, sizeof(v->reason));
	if (r < 0)
		return r;
	r = counted(e, is->name, &after, f);
	if (r < 0)
		return r;
	if (err && err != EPERM && err != ECONNREFUSED) {
		snprintf(v->reason, sizeof(v->reason),
			 "a probe socket in cgroup %s got \"%s\" instead of "
			 "being refused (is the loopback interface up?)",
			 cg->path, strerror(err));
		return 0;
	}
	if (after == before) {
		snprintf(v->reason, sizeof(v->reason),
			 "a probe datagram from cgroup %s to %s port %d met "
			 "no rule of service %s's chain: its packets are not "
			 "the service's",
			 cg->path, shown, PROBE_PORT, is->name);
		return 0;
	}
	if (svc && err != EPERM) {
		snprintf(v->reason, sizeof(v->reason),
			 "a probe socket in cgroup %s sent a datagram to %s "
			 "port %d, which the policy refuses: its packets are "
			 "not the service's",
			 cg->path, shown, PROBE_PORT);
		return 0;
	}
	v->in_force = true;
	return 0;
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

/* The socket-mark programs and the probe, for one cgroup of the service. */
static int cgroup_in_force(struct engine *e, const struct nft_service *is,
			   const struct service *svc, const struct cgroup *cg,
			   uint32_t mark, bool require_sockmark,
			   struct verdict *v, struct failure *f)
{
	int r = sockmark_check(cg->path, mark, &v->sockmarked, f);

	v->in_force = false;
	if (r < 0)
		return r;
	if (!v->sockmarked && require_sockmark) {
		snprintf(v->reason, sizeof(v->reason),
			 "the BPF programs that mark the sockets of cgroup %s "
			 "with 0x%x are not attached",
			 cg->path, mark);
		return 0;
	}
	return probe(e, is, svc, cg, v, f);
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

int engine_verify(struct engine *e, const struct nft_service *is,
		  const struct plan *plan, const struct service *svc,
		  const struct cgroup *cg, bool require_sockmark,
		  struct verdict *v, struct failure *f)
{
	uint32_t mask = plan ? plan->mark_mask : e->installed.mark_mask;
	uint32_t mark = mark_of_value(mask, is->mark_value);
	struct rtnl_service rt = {
		.name = is->name, .mark = mark, .mask = mask, .table = is->table
	};
	struct lowered low = { 0 };
	struct cgroup found = { 0 };
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
	r = routing_in_force(e, &rt, v, f);
	if (r <= 0)
		goto out;
	/* After the routing, whose missing pieces change the interfaces. */
	if (svc) {
		r = policy_current(e, is, plan, svc, v, f);
		if (r <= 0)
			goto out;
	}
	if (cg) {
		r = cgroup_in_force(e, is, svc, cg, mark, require_sockmark, v,
				    f);
		goto out;
	}
	/* Without a cgroup of its own to ask about: every mapped one. */
	for (size_t i = 0; i < is->n_cgroups; i++) {
		r = cgroup_of_id(e->cgroup_mnt, is->cgroups[i].id, &found);
		if (r < 0)
			continue; /* gone: ids are never reused */
		r = cgroup_in_force(e, is, svc, &found, mark, require_sockmark,
				    v, f);
		cgroup_clear(&found);
		if (r < 0 || !v->in_force)
			goto out;
		mapped = true;
	}
	if (!mapped)
		snprintf(v->reason, sizeof(v->reason),
			 "no cgroup in confine's map for service %s exists",
			 is->name);
	r = 0;
out:
	lowered_free(&low);
	cgroup_clear(&found);
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
	return orphan_rules(e, out, f);
}
