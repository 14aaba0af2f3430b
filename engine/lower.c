// SPDX-License-Identifier: GPL-2.0-or-later
/* See lower.h. */

#include <errno.h>
#include <inttypes.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/lower.h"

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (const char *c = s; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return (h ^ '\n') * 16777619u;
}

uint32_t service_digest(const struct service *svc, uint32_t mask,
			const struct oifs *oifs, const struct nft_log *log)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	char line[256];

	for (size_t i = 0; i <= svc->n_allows + svc->n_routes; i++) {
		if (i < svc->n_allows) {
			allow_format(&svc->allows[i], line, sizeof(line));
			for (size_t j = 0; oifs && j < oifs[i].n; j++)
				h = fnv1a(h, oifs[i].names[j]);
		} else if (i < svc->n_allows + svc->n_routes) {
			route_format(&svc->routes[i - svc->n_allows], line,
				     sizeof(line));
		} else {
			snprintf(line, sizeof(line),
				 "%" PRIx32 " %" PRIx32 " %" PRIu32 " %d", mask,
				 svc->mark_value, svc->table, svc->exclusive);
		}
		h = fnv1a(h, line);
	}
	/* Only when on, so that a service without a log keeps its digest. */
	if (log && log->on) {
		snprintf(line, sizeof(line),
			 "log %" PRIu32 "/%" PRIu32 " %" PRIu32, log->rate,
			 log->unit, log->burst);
		h = fnv1a(h, line);
	}
	return h;
}

static uint8_t l4proto_number(enum l4proto p, int family)
{
	switch (p) {
	case L4_TCP:
		return IPPROTO_TCP;
	case L4_UDP:
		return IPPROTO_UDP;
	case L4_ICMP:
		return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	case L4_ANY:
		break;
	}
	return 0;
}

/*
 * Table T's routes besides the unreachable defaults: each Route=, and a
 * `throw` for each allowed destination that no Route= covers (one per
 * distinct destination).
 */
static int lower_routes(const struct service *svc, struct lowered *out)
{
	size_t n = 0;

	out->routes =
		calloc(svc->n_routes + svc->n_allows + 1, sizeof(*out->routes));
	out->route_descs = calloc(svc->n_routes + svc->n_allows + 1,
				  sizeof(*out->route_descs));
	if (!out->routes || !out->route_descs)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_routes; i++) {
		const struct route *ro = &svc->routes[i];
		struct rtnl_route *rt = &out->routes[n];

		route_format(ro, out->route_descs[n],
			     sizeof(out->route_descs[n]));
		*rt = (struct rtnl_route){ .type = RTN_UNICAST,
					   .dst = ro->dst,
					   .has_gateway = ro->has_gateway,
					   .gateway = ro->gateway,
					   .desc = out->route_descs[n] };
		snprintf(rt->dev, sizeof(rt->dev), "%s", ro->dev);
		n++;
	}
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct prefix *dst = &svc->allows[i].dst;
		bool covered = false;

		for (size_t j = 0; j < n && !covered; j++)
			covered = (out->routes[j].type == RTN_UNICAST &&
				   prefix_inside(dst, &out->routes[j].dst)) ||
				  (out->routes[j].type == RTN_THROW &&
				   out->routes[j].dst.len == dst->len &&
				   prefix_inside(dst, &out->routes[j].dst));
		if (covered)
			continue;
		prefix_format(dst, out->route_descs[n],
			      sizeof(out->route_descs[n]));
		out->routes[n] = (struct rtnl_route){
			.type = RTN_THROW,
			.dst = *dst,
			.desc = out->route_descs[n],
		};
		n++;
	}
	out->rt.routes = out->routes;
	out->rt.n_routes = n;
	return 0;
}

static const char no_interface[1][IF_NAMESIZE];

int lower_service(const struct plan *plan, const struct service *svc,
		  const struct oifs *oifs, const struct nft_cgroup *cgroups,
		  size_t n_cgroups, struct lowered *out)
{
	uint32_t mark = mark_of_value(plan->mark_mask, svc->mark_value);
	struct log_settings ls = service_log(plan, svc);
	struct nft_log log = { .on = ls.on,
			       .rate = ls.rate.count,
			       .unit = ls.rate.unit,
			       .burst = ls.burst };
	int r;

	*out = (struct lowered){ 0 };
	out->allows = calloc(svc->n_allows + 1, sizeof(*out->allows));
	out->descs = calloc(svc->n_allows + 1, sizeof(*out->descs));
	if (!out->allows || !out->descs) {
		lowered_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct allow *a = &svc->allows[i];

		allow_format(a, out->descs[i], sizeof(out->descs[i]));
		out->allows[i] = (struct nft_allow){
			.l4proto = l4proto_number(a->proto, a->dst.family),
			.dst = a->dst,
			.port_min = a->port_min,
			.port_max = a->port_max,
			.oifs = oifs ? (const char(*)[IF_NAMESIZE])oifs[i].names :
				       NULL,
			.n_oifs = oifs ? oifs[i].n : 0,
			.desc = out->descs[i],
		};
		/* Pinned to nothing is not the same as not pinned. */
		if (oifs && !oifs[i].n)
			out->allows[i].oifs = no_interface;
	}
	out->nft = (struct nft_service_spec){
		.name = svc->name,
		.mark_value = svc->mark_value,
		.table = svc->table,
		.exclusive = svc->exclusive,
		.digest = service_digest(svc, plan->mark_mask, oifs, &log),
		.log = log,
		.allows = out->allows,
		.n_allows = svc->n_allows,
		.cgroups = cgroups,
		.n_cgroups = n_cgroups,
	};
	out->rt = (struct rtnl_service){ .name = svc->name,
					 .mark = mark,
					 .mask = plan->mark_mask,
					 .table = svc->table };
	r = lower_routes(svc, out);
	if (r < 0)
		lowered_free(out);
	return r;
}

void lowered_free(struct lowered *l)
{
	free(l->allows);
	free(l->descs);
	free(l->routes);
	free(l->route_descs);
	*l = (struct lowered){ 0 };
}
