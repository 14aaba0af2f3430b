// SPDX-License-Identifier: GPL-2.0-or-later

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "confine/commands.h"
#include "confine/common.h"
#include "kernel-helpers/sockmark.h"
#include "kernel-helpers/cleanup.h"

struct cgroup_view {
	char *rel; /* NULL when the cgroup is gone */
	uint64_t id;
	pid_t *pids;
	size_t n_pids;
	bool sockets_marked; /* the socket-mark BPF programs are attached */
};

struct service_view {
	const struct nft_service *is;
	uint32_t mark;
	struct cgroup_view *cgroups;
	struct rtnl_service_state rt;
	bool rt_ok;
	bool in_force;
};

static void view_free(struct service_view *v)
{
	for (size_t i = 0; i < v->is->n_cgroups; i++) {
		free(v->cgroups[i].rel);
		free(v->cgroups[i].pids);
	}
	free(v->cgroups);
}

static int view_fill(struct session *s, const struct nft_service *is,
		     struct service_view *v)
{
	struct failure f = { 0 };
	bool any_cgroup = false;
	int r;

	*v = (struct service_view){ .is = is };
	v->mark = mark_of_value(s->installed.mark_mask, is->mark_value);
	v->cgroups =
		calloc(is->n_cgroups ? is->n_cgroups : 1, sizeof(*v->cgroups));
	if (!v->cgroups)
		return -ENOMEM;
	for (size_t i = 0; i < is->n_cgroups; i++) {
		struct cgroup_view *cv = &v->cgroups[i];
		_cleanup_free_ char *path = NULL;

		cv->id = is->cgroups[i].id;
		if (cgroup_rel_of_id(s->cgroup_mnt, cv->id, &cv->rel) < 0)
			continue;
		any_cgroup = true;
		if (asprintf(&path, "%s%s", s->cgroup_mnt, cv->rel) < 0)
			return -ENOMEM;
		cgroup_pids(path, &cv->pids, &cv->n_pids);
		sockmark_check(path, v->mark, &cv->sockets_marked, NULL);
	}
	r = rtnl_service_check(s->rtnl, v->mark, s->installed.mark_mask,
			       is->table, NULL, &v->rt, &f);
	if (r < 0) {
		report(r, &f);
		return r;
	}
	v->rt_ok = v->rt.rule[0] && v->rt.rule[1] && v->rt.unreachable[0] &&
		   v->rt.unreachable[1];
	v->in_force = any_cgroup && v->rt_ok;
	return 0;
}

static const char *yes(bool b)
{
	return b ? "present" : "MISSING";
}

static void print_text(const struct nft_state *st, struct service_view *v,
		       size_t n)
{
	if (!n)
		printf("no service is installed\n");
	for (size_t i = 0; i < n; i++) {
		const struct nft_service *is = v[i].is;

		printf("service %s: %s\n", is->name,
		       v[i].in_force ? "in force" : "NOT IN FORCE");
		printf("  mark       0x%08" PRIx32 "/0x%08" PRIx32 "\n",
		       v[i].mark, st->mark_mask);
		printf("  table      %" PRIu32 "\n", is->table);
		printf("  exclusive  %s\n", is->exclusive ? "yes" : "no");
		for (size_t j = 0; j < is->n_cgroups; j++) {
			struct cgroup_view *cv = &v[i].cgroups[j];

			printf("  cgroup     %s (id %" PRIu64 ")",
			       cv->rel ? cv->rel : "(gone)", cv->id);
			if (cv->n_pids) {
				printf(" pids");
				for (size_t k = 0; k < cv->n_pids; k++)
					printf(" %d", (int)cv->pids[k]);
			}
			if (cv->rel)
				printf(", sockets marked from creation: %s",
				       yes(cv->sockets_marked));
			putchar('\n');
		}
		printf("  nf_tables  chain svc_%s present\n", is->name);
		printf("  ip rule    IPv4 %s, IPv6 %s\n", yes(v[i].rt.rule[0]),
		       yes(v[i].rt.rule[1]));
		printf("  routes     unreachable default IPv4 %s, IPv6 %s\n",
		       yes(v[i].rt.unreachable[0]),
		       yes(v[i].rt.unreachable[1]));
		printf("  packets    %" PRIu64 " allowed, %" PRIu64
		       " refused\n",
		       is->allowed_packets, is->refused_packets);
	}
	if (st->table_present)
		printf("others' packets refused at exclusive destinations: "
		       "%" PRIu64 "\n",
		       st->others_refused);
}

static const char *jbool(bool b)
{
	return b ? "true" : "false";
}

/* Service names and cgroup paths are restricted to JSON-safe characters. */
static void print_json(const struct nft_state *st, struct service_view *v,
		       size_t n)
{
	printf("{\"services\":[");
	for (size_t i = 0; i < n; i++) {
		const struct nft_service *is = v[i].is;

		printf("%s{\"name\":\"%s\",\"mark\":\"0x%08" PRIx32
		       "\",\"mark_mask\":\"0x%08" PRIx32 "\",\"table\":%" PRIu32
		       ",\"exclusive\":%s,\"cgroups\":[",
		       i ? "," : "", is->name, v[i].mark, st->mark_mask,
		       is->table, jbool(is->exclusive));
		for (size_t j = 0; j < is->n_cgroups; j++) {
			struct cgroup_view *cv = &v[i].cgroups[j];

			printf("%s{\"path\":", j ? "," : "");
			if (cv->rel)
				printf("\"%s\"", cv->rel);
			else
				printf("null");
			printf(",\"id\":%" PRIu64 ",\"sockets_marked\":%s"
			       ",\"pids\":[",
			       cv->id, jbool(cv->sockets_marked));
			for (size_t k = 0; k < cv->n_pids; k++)
				printf("%s%d", k ? "," : "", (int)cv->pids[k]);
			printf("]}");
		}
		printf("],\"state\":{\"nft\":true,\"rule_ipv4\":%s,"
		       "\"rule_ipv6\":%s,\"unreachable_ipv4\":%s,"
		       "\"unreachable_ipv6\":%s},\"in_force\":%s,"
		       "\"packets\":{\"allowed\":%" PRIu64
		       ",\"refused\":%" PRIu64 "}}",
		       jbool(v[i].rt.rule[0]), jbool(v[i].rt.rule[1]),
		       jbool(v[i].rt.unreachable[0]),
		       jbool(v[i].rt.unreachable[1]), jbool(v[i].in_force),
		       is->allowed_packets, is->refused_packets);
	}
	printf("],\"others_refused\":%" PRIu64 "}\n", st->others_refused);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	struct service_view *views = NULL;
	const char *netns = NULL;
	bool json = false;
	struct session s;
	size_t filled = 0;
	int c, r, ret = 0;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			netns = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return usage_error(argv, c);
		}
	}
	r = session_open(&s, netns, LOCK_SHARED);
	if (r)
		return r;
	views = calloc(s.installed.n_services + 1, sizeof(*views));
	if (!views) {
		ret = EXIT_FAILED;
		goto out;
	}
	for (; filled < s.installed.n_services; filled++) {
		if (view_fill(&s, &s.installed.services[filled],
			      &views[filled]) < 0) {
			filled++;
			ret = EXIT_FAILED;
			goto out;
		}
	}
	if (json)
		print_json(&s.installed, views, filled);
	else
		print_text(&s.installed, views, filled);
out:
	for (size_t i = 0; i < filled; i++)
		view_free(&views[i]);
	free(views);
	session_close(&s);
	return ret;
}
