// SPDX-License-Identifier: GPL-2.0-or-later

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "confine/commands.h"
#include "confine/common.h"
#include "kernel-helpers/sockmark.h"
#include "common/cleanup.h"

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
	struct verdict verdict; /* the same check as run's */
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

/* What status shows of one installed service, besides its verdict. */
static int view_fill(struct session *s, const struct plan *plan,
		     const struct nft_service *is, struct service_view *v)
{
	const struct nft_state *st = &s->e.installed;
	struct failure f = { 0 };
	struct rtnl_service rt;
	int r;

	*v = (struct service_view){ .is = is };
	v->mark = mark_of_value(st->mark_mask, is->mark_value);
	rt = (struct rtnl_service){ .name = is->name,
				    .mark = v->mark,
				    .mask = st->mark_mask,
				    .table = is->table };
	v->cgroups =
		calloc(is->n_cgroups ? is->n_cgroups : 1, sizeof(*v->cgroups));
	if (!v->cgroups)
		return -ENOMEM;
	for (size_t i = 0; i < is->n_cgroups; i++) {
		struct cgroup_view *cv = &v->cgroups[i];
		struct cgroup cg;

		cv->id = is->cgroups[i].id;
		if (cgroup_of_id(s->e.cgroup_mnt, cv->id, &cg) < 0)
			continue;
		cv->rel = TAKE_PTR(cg.rel);
		cgroup_pids(cg.path, &cv->pids, &cv->n_pids);
		if (v->mark)
			sockmark_check(cg.path, v->mark, &cv->sockets_marked,
				       NULL);
		cgroup_clear(&cg);
	}
	/* A service without routing of its own has no rule or table. */
	r = is->table ? rtnl_service_check(s->e.rtnl, &rt, &v->rt, &f) : 0;
	if (r < 0)
		return report(r, &f);
	return 0;
}

/*
 * Whether each service is in force, by the check `run` makes
 * (engine_verify), with its service from the policy when one was given;
 * all at once, so that 10,000 services take a second, not minutes.
 */
static int views_verify(struct session *s, const struct plan *plan,
			struct service_view *views, size_t n)
{
	_cleanup_free_ struct verify_item *items = NULL;
	struct failure f = { 0 };
	int r;

	items = calloc(n + 1, sizeof(*items));
	if (!items)
		return report(-ENOMEM, &f);
	for (size_t i = 0; i < n; i++) {
		items[i].is = views[i].is;
		items[i].svc = plan ? plan_find(plan, views[i].is->name) : NULL;
	}
	r = engine_verify_many(&s->e, plan, items, n, true, &f);
	if (r < 0)
		return report(r, &f);
	for (size_t i = 0; i < n; i++) {
		views[i].verdict = items[i].v;
		views[i].in_force = items[i].v.in_force;
	}
	return 0;
}

static const char *yes(bool b)
{
	return b ? "present" : "MISSING";
}

/* A service of the given policy that is not installed at all. */
static bool absent(const struct nft_state *st, const struct plan *plan,
		   size_t i)
{
	return plan && !nft_state_find(st, plan->services[i].name);
}

/*
 * Refused minus logged: the log rule sits right before the refusing one
 * and is skipped only by its rate limit. The two counters are read a
 * moment apart, hence the clamp.
 */
static uint64_t suppressed(uint64_t refused, uint64_t logged)
{
	return refused > logged ? refused - logged : 0;
}

/* Others' refusals are logged while an exclusive service logs its own. */
static bool others_logging(const struct nft_state *st)
{
	for (size_t i = 0; i < st->n_services; i++)
		if (st->services[i].exclusive && st->services[i].log.on)
			return true;
	return false;
}

static void print_text(const struct nft_state *st, const struct plan *plan,
		       const struct notes *left, struct service_view *v,
		       size_t n)
{
	size_t n_absent = left->n;

	for (size_t i = 0; i < left->n; i++)
		printf("%s\n", left->lines[i]);
	for (size_t i = 0; plan && i < plan->n_services; i++) {
		if (!absent(st, plan, i))
			continue;
		printf("service %s: NOT IN FORCE: service %s is not "
		       "installed\n",
		       plan->services[i].name, plan->services[i].name);
		n_absent++;
	}
	if (!n && !n_absent)
		printf("no service is installed\n");
	for (size_t i = 0; i < n; i++) {
		const struct nft_service *is = v[i].is;

		if (v[i].in_force)
			printf("service %s: in force\n", is->name);
		else
			printf("service %s: NOT IN FORCE: %s\n", is->name,
			       v[i].verdict.reason);
		if (is->table) {
			printf("  mark       0x%08" PRIx32 "/0x%08" PRIx32 "\n",
			       v[i].mark, st->mark_mask);
			printf("  table      %" PRIu32 "\n", is->table);
		} else {
			printf("  routing    the host's (no Route=, Mark= or "
			       "Table=)\n");
		}
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
			if (cv->rel && is->table)
				printf(", sockets marked from creation: %s",
				       yes(cv->sockets_marked));
			putchar('\n');
		}
		printf("  nf_tables  chain svc_%s present\n", is->name);
		if (is->table) {
			printf("  ip rule    IPv4 %s, IPv6 %s\n",
			       yes(v[i].rt.rule[0]), yes(v[i].rt.rule[1]));
			printf("  routes     unreachable default IPv4 %s, IPv6 "
			       "%s\n",
			       yes(v[i].rt.unreachable[0]),
			       yes(v[i].rt.unreachable[1]));
		}
		printf("  packets    %" PRIu64 " allowed, %" PRIu64
		       " refused\n",
		       is->allowed_packets, is->refused_packets);
		if (is->log.on)
			printf("  log        %" PRIu64 " refusals logged, "
			       "%" PRIu64 " suppressed by the rate limit\n",
			       is->logged_packets,
			       suppressed(is->refused_packets,
					  is->logged_packets));
	}
	if (st->table_present)
		printf("others' packets refused at exclusive destinations: "
		       "%" PRIu64 "\n",
		       st->others_refused);
	if (others_logging(st))
		printf("others' refusals logged: %" PRIu64 ", suppressed by "
		       "the rate limit: %" PRIu64 "\n",
		       st->others_logged,
		       suppressed(st->others_refused, st->others_logged));
}

/*
 * A JSON string holds Unicode, and jansson refuses bytes that are not
 * UTF-8. A cgroup name may hold any byte but '/' and NUL, so a path that
 * is not UTF-8 is shown with each byte above 0x7f as U+FFFD, not dropped.
 */
static json_t *json_text(const char *s)
{
	_cleanup_free_ char *u = NULL;
	size_t len = 0;
	json_t *j;

	j = json_string(s);
	if (j)
		return j;
	u = malloc(strlen(s) * 3 + 1);
	if (!u)
		return NULL;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x80) {
			u[len++] = *s;
			continue;
		}
		memcpy(u + len, "\xef\xbf\xbd", 3);
		len += 3;
	}
	return json_stringn(u, len);
}

static json_t *json_cgroup(const struct cgroup_view *cv)
{
	json_auto_t *pids = json_array();

	if (!pids)
		return NULL;
	for (size_t k = 0; k < cv->n_pids; k++)
		if (json_array_append_new(pids, json_integer(cv->pids[k])) < 0)
			return NULL;
	/* "o" hands the path and the pids to the new object. */
	return json_pack("{s:o,s:I,s:b,s:o}", "path",
			 cv->rel ? json_text(cv->rel) : json_null(), "id",
			 (json_int_t)cv->id, "sockets_marked",
			 cv->sockets_marked, "pids", TAKE_PTR(pids));
}

static json_t *json_service(const struct nft_state *st,
			    const struct service_view *v)
{
	json_auto_t *cgroups = json_array();
	const struct nft_service *is = v->is;
	char mark[16], mask[16];

	if (!cgroups)
		return NULL;
	for (size_t j = 0; j < is->n_cgroups; j++)
		if (json_array_append_new(cgroups,
					  json_cgroup(&v->cgroups[j])) < 0)
			return NULL;
	snprintf(mark, sizeof(mark), "0x%08" PRIx32, v->mark);
	snprintf(mask, sizeof(mask), "0x%08" PRIx32, st->mark_mask);
	/* One key and its value a line; "o" hands the value over. */
	/* clang-format off */
	return json_pack("{s:o,s:s,s:s,s:I,s:b,s:o,"
			 "s:{s:b,s:b,s:b,s:b,s:b},s:b,s:o,s:{s:I,s:I},s:o}",
		"name", json_text(is->name),
		"mark", mark,
		"mark_mask", mask,
		"table", (json_int_t)is->table,
		"exclusive", is->exclusive,
		"cgroups", TAKE_PTR(cgroups),
		"state",
			"nft", 1,
			"rule_ipv4", v->rt.rule[0],
			"rule_ipv6", v->rt.rule[1],
			"unreachable_ipv4", v->rt.unreachable[0],
			"unreachable_ipv6", v->rt.unreachable[1],
		"in_force", v->in_force,
		"missing", v->in_force ? json_null() :
					 json_text(v->verdict.reason),
		"packets",
			"allowed", (json_int_t)is->allowed_packets,
			"refused", (json_int_t)is->refused_packets,
		"log", is->log.on ? json_pack("{s:I,s:I}",
			"logged", (json_int_t)is->logged_packets,
			"suppressed", (json_int_t)suppressed(
				is->refused_packets, is->logged_packets)) :
			json_null());
	/* clang-format on */
}

/*
 * Through jansson, so that every string is escaped: a leaf under a systemd
 * unit is named after the unit's cgroup, which may hold "\x2d", a quote or
 * a backslash. Keys keep the order they are added in (jansson >= 2.8).
 */
static int print_json(const struct nft_state *st, const struct plan *plan,
		      const struct notes *left, struct service_view *v,
		      size_t n)
{
	json_auto_t *root = NULL;
	json_auto_t *services = json_array();
	json_auto_t *leftovers = json_array();
	char why[128];

	if (!services || !leftovers)
		goto nomem;
	for (size_t i = 0; i < left->n; i++)
		if (json_array_append_new(leftovers,
					  json_text(left->lines[i])) < 0)
			goto nomem;
	for (size_t i = 0; plan && i < plan->n_services; i++) {
		if (!absent(st, plan, i))
			continue;
		snprintf(why, sizeof(why), "service %s is not installed",
			 plan->services[i].name);
		if (json_array_append_new(
			    services,
			    json_pack("{s:o,s:b,s:o}", "name",
				      json_text(plan->services[i].name),
				      "in_force", 0, "missing",
				      json_text(why))) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(services, json_service(st, &v[i])) <
		    0)
			goto nomem;
	root = json_pack(
		"{s:o,s:I,s:o,s:o}", "services", TAKE_PTR(services),
		"others_refused", (json_int_t)st->others_refused, "leftovers",
		TAKE_PTR(leftovers), "others_log",
		others_logging(st) ?
			json_pack("{s:I,s:I}", "logged",
				  (json_int_t)st->others_logged, "suppressed",
				  (json_int_t)suppressed(st->others_refused,
							 st->others_logged)) :
			json_null());
	if (!root)
		goto nomem;
	if (json_dumpf(root, stdout, JSON_COMPACT) < 0 || putchar('\n') < 0) {
		fprintf(stderr, "confine: cannot print the status: %m\n");
		return EXIT_FAILED;
	}
	return 0;
nomem:
	fprintf(stderr, "confine: cannot build the status as JSON: %s\n",
		strerror(ENOMEM));
	return EXIT_FAILED;
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
	struct plan plan, *with = NULL;
	struct notes left = { 0 };
	struct failure f = { 0 };
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
	/* With policy files, also what needs them: rules and routes. */
	if (optind < argc) {
		r = load_plan(&plan, argv + optind, argc - optind);
		if (r)
			return r;
		with = &plan;
	}
	r = session_open(&s, netns, LOCK_SHARED);
	if (r)
		goto out_plan;
	/* The automatic marks and tables, as the installed services have. */
	if (with && (r = engine_assign(&s.e, with, &f)) < 0) {
		r = report(r, &f);
		goto out;
	}
	/* What a flushed nf_tables table leaves: routing of no service. */
	r = engine_leftovers(&s.e, &left, &f);
	if (r < 0) {
		r = report(r, &f);
		goto out;
	}
	views = calloc(s.e.installed.n_services + 1, sizeof(*views));
	if (!views) {
		ret = EXIT_FAILED;
		goto out;
	}
	for (; filled < s.e.installed.n_services; filled++) {
		r = view_fill(&s, with, &s.e.installed.services[filled],
			      &views[filled]);
		if (r) {
			filled++;
			ret = r;
			goto out;
		}
	}
	ret = views_verify(&s, with, views, filled);
	if (ret)
		goto out;
	if (json)
		ret = print_json(&s.e.installed, with, &left, views, filled);
	else
		print_text(&s.e.installed, with, &left, views, filled);
	/* Like systemctl is-active: what is not in force fails. */
	for (size_t i = 0; i < filled && !ret; i++)
		if (!views[i].in_force)
			ret = EXIT_FAILED;
	if (left.n && !ret)
		ret = EXIT_FAILED;
	for (size_t i = 0; with && i < with->n_services && !ret; i++)
		if (absent(&s.e.installed, with, i))
			ret = EXIT_FAILED;
out:
	for (size_t i = 0; i < filled; i++)
		view_free(&views[i]);
	free(views);
	notes_free(&left);
	session_close(&s);
out_plan:
	if (with)
		plan_free(with);
	return r ? r : ret;
}
