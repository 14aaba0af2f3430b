// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The plan: completing automatic values, and the text forms shared by
 * `confine check`, messages and status.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cap-ng.h>

#include "policy/plan.h"

void plan_init(struct plan *plan)
{
	*plan = (struct plan){ .mark_mask = DEFAULT_MARK_MASK,
			       .alert_rate = DEFAULT_ALERT_RATE,
			       .alert_limit = DEFAULT_ALERT_LIMIT,
			       .alert_timeout = DEFAULT_ALERT_TIMEOUT };
	snprintf(plan->cgroup_parent, sizeof(plan->cgroup_parent), "%s",
		 DEFAULT_CGROUP_PARENT);
}

void plan_free(struct plan *plan)
{
	for (size_t i = 0; i < plan->n_services; i++) {
		free(plan->services[i].file);
		free(plan->services[i].allows);
		free(plan->services[i].routes);
		command_line_free(&plan->services[i].on_refused);
	}
	command_line_free(&plan->on_refused);
	free(plan->services);
	free(plan->mark_mask_where);
	free(plan->cgroup_parent_where);
	name_map_free(&plan->by_name);
	plan_init(plan);
}

const char *plan_service_name(const void *services, size_t i)
{
	return ((const struct service *)services)[i].name;
}

struct service *plan_find(const struct plan *plan, const char *name)
{
	ssize_t at;

	/* A plan put together by hand (a subset) has no map of its own. */
	if (plan->by_name.n == plan->n_services && plan->n_services) {
		at = name_map_find(&plan->by_name, plan->services,
				   plan_service_name, name);
		return at < 0 ? NULL : &plan->services[at];
	}
	for (size_t i = 0; i < plan->n_services; i++)
		if (strcmp(plan->services[i].name, name) == 0)
			return &plan->services[i];
	return NULL;
}

bool service_routed(const struct service *svc)
{
	return svc->n_routes || svc->mark_line || svc->table_line;
}

uint32_t mark_field_size(uint32_t mask)
{
	return mask ? (mask >> __builtin_ctz(mask)) + 1 : 0;
}

uint32_t mark_of_value(uint32_t mask, uint32_t value)
{
	return mask ? value << __builtin_ctz(mask) : 0;
}

static bool listed(const uint32_t *list, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/* Whether another service of the plan has mark value v or table t. */
static bool plan_uses(const struct plan *plan, const struct service *self,
		      uint32_t v, uint32_t t)
{
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *o = &plan->services[i];

		if (o == self)
			continue;
		if ((v && o->mark_value == v) || (t && o->table == t))
			return true;
	}
	return false;
}

int plan_assign(struct plan *plan, const struct taken *taken,
		struct policy_error *err)
{
	uint32_t size = mark_field_size(plan->mark_mask);

	/* Explicit values first, so automatic ones can step around them. */
	for (size_t i = 0; i < plan->n_services; i++) {
		struct service *svc = &plan->services[i];

		if (svc->mark_value &&
		    listed(taken->marks, taken->n_marks, svc->mark_value)) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%u: Mark=0x%x of service %s is used by "
				 "another installed service; choose another",
				 svc->file,
				 svc->mark_line ? svc->mark_line : svc->line,
				 svc->mark_value, svc->name);
			return -EEXIST;
		}
		if (svc->table &&
		    listed(taken->tables, taken->n_tables, svc->table)) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%u: Table=%u of service %s is used by "
				 "another installed service; choose another",
				 svc->file,
				 svc->table_line ? svc->table_line : svc->line,
				 svc->table, svc->name);
			return -EEXIST;
		}
	}
	for (size_t i = 0; i < plan->n_services; i++) {
		struct service *svc = &plan->services[i];
		uint32_t v;

		if ((svc->mark_value && svc->table) || !service_routed(svc))
			continue;
		if (svc->mark_value) {
			/* Mark given, table automatic: it must be free too. */
			uint32_t t = TABLE_AUTO_BASE + svc->mark_value;

			if (listed(taken->tables, taken->n_tables, t) ||
			    plan_uses(plan, svc, 0, t)) {
				snprintf(err->msg, sizeof(err->msg),
					 "%s:%u: service %s would get the "
					 "automatic table %u of Mark=0x%x, "
					 "but another service uses that "
					 "table; give Table= as well",
					 svc->file, svc->mark_line, svc->name,
					 t, svc->mark_value);
				return -EEXIST;
			}
			svc->table = t;
			continue;
		}
		for (v = 1; v < size; v++) {
			uint32_t t = svc->table ? 0 : TABLE_AUTO_BASE + v;

			if (listed(taken->marks, taken->n_marks, v) ||
			    (t && listed(taken->tables, taken->n_tables, t)) ||
			    plan_uses(plan, svc, v, t))
				continue;
			break;
		}
		if (v >= size) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%u: no free mark value for service %s: "
				 "MarkMask=0x%08x has room for %u services",
				 svc->file, svc->line, svc->name,
				 plan->mark_mask, size - 1);
			return -ENOSPC;
		}
		svc->mark_value = v;
		if (!svc->table)
			svc->table = TABLE_AUTO_BASE + v;
	}
	return 0;
}

const char *l4proto_name(enum l4proto p)
{
	switch (p) {
	case L4_TCP:
		return "tcp";
	case L4_UDP:
		return "udp";
	case L4_ICMP:
		return "icmp";
	case L4_ANY:
		break;
	}
	return "any";
}

static void addr_format(int family, const union inet_addr *a, char *buf,
			size_t size)
{
	if (!inet_ntop(family, a->bytes, buf, size))
		snprintf(buf, size, "?");
}

void allow_format(const struct allow *a, char *buf, size_t size)
{
	char dst[INET6_ADDRSTRLEN + 8], port[16] = "";

	prefix_format(&a->dst, dst, sizeof(dst));
	if (a->port_min == a->port_max && a->port_min)
		snprintf(port, sizeof(port), ":%u", a->port_min);
	else if (a->port_min)
		snprintf(port, sizeof(port), ":%u-%u", a->port_min,
			 a->port_max);
	snprintf(buf, size, a->dst.family == AF_INET6 ? "%s [%s]%s" : "%s %s%s",
		 l4proto_name(a->proto), dst, port);
}

void route_format(const struct route *r, char *buf, size_t size)
{
	char dst[INET6_ADDRSTRLEN + 8], gw[INET6_ADDRSTRLEN] = "";
	int n;

	prefix_format(&r->dst, dst, sizeof(dst));
	n = snprintf(buf, size, "%s", dst);
	if (r->has_gateway && n >= 0 && (size_t)n < size) {
		addr_format(r->dst.family, &r->gateway, gw, sizeof(gw));
		n += snprintf(buf + n, size - n, " via %s", gw);
	}
	if (r->dev[0] && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, " dev %s", r->dev);
}

const char *capability_name(int cap, char *buf, size_t size)
{
	const char *name = capng_capability_to_name((unsigned)cap);
	size_t i = 0;

	if (!name) {
		snprintf(buf, size, "%d", cap);
		return buf;
	}
	for (; name[i] && i + 1 < size; i++)
		buf[i] = (char)toupper((unsigned char)name[i]);
	buf[i] = '\0';
	return buf;
}

void plan_print(const struct plan *plan, FILE *out)
{
	char line[256];

	fprintf(out, "mark-mask 0x%08x\n", plan->mark_mask);
	fprintf(out, "cgroup-parent %s\n", plan->cgroup_parent);
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];

		fprintf(out, "service %s  (%s:%u)\n", svc->name, svc->file,
			svc->line);
		if (!service_routed(svc))
			fprintf(out, "  routing   the host's (no Route=, Mark= "
				     "or Table=)\n");
		else if (svc->mark_value)
			fprintf(out,
				"  mark      0x%x (fwmark 0x%08x/0x%08x)\n",
				svc->mark_value,
				mark_of_value(plan->mark_mask, svc->mark_value),
				plan->mark_mask);
		else
			fprintf(out, "  mark      auto\n");
		if (svc->table)
			fprintf(out, "  table     %u\n", svc->table);
		else if (service_routed(svc))
			fprintf(out, "  table     auto\n");
		fprintf(out, "  exclusive %s\n", svc->exclusive ? "yes" : "no");
		/* Only when given, so that older plans print as they did. */
		if (service_log(plan, svc).on) {
			struct log_settings l = service_log(plan, svc);

			rate_format(&l.rate, line, sizeof(line));
			fprintf(out, "  log       refused, %s burst %u\n", line,
				l.burst);
		}
		if (service_on_refused(plan, svc)) {
			char *const *argv = service_on_refused(plan, svc);

			fprintf(out, "  alert     ");
			for (size_t j = 0; argv[j]; j++)
				fprintf(out, "%s%s", j ? " " : "", argv[j]);
			fputc('\n', out);
		}
		if (svc->user_line)
			fprintf(out, "  user      %s\n", svc->user);
		if (svc->group_line)
			fprintf(out, "  group     %s\n", svc->group);
		for (int cap = 0; cap < 64; cap++)
			if (svc->keep_caps & (UINT64_C(1) << cap))
				fprintf(out, "  keep      CAP_%s\n",
					capability_name(cap, line,
							sizeof(line)));
		for (size_t j = 0; j < svc->n_allows; j++) {
			allow_format(&svc->allows[j], line, sizeof(line));
			fprintf(out, "  allow     %s\n", line);
		}
		for (size_t j = 0; j < svc->n_routes; j++) {
			route_format(&svc->routes[j], line, sizeof(line));
			fprintf(out, "  route     %s\n", line);
		}
	}
}

struct log_settings service_log(const struct plan *plan,
				const struct service *svc)
{
	struct log_settings l = { .on = plan->log_refused,
				  .rate = DEFAULT_LOG_RATE,
				  .burst = DEFAULT_LOG_BURST };

	if (svc->log_refused_line)
		l.on = svc->log_refused;
	if (svc->log_rate.count)
		l.rate = svc->log_rate;
	else if (plan->log_rate.count)
		l.rate = plan->log_rate;
	if (svc->log_burst)
		l.burst = svc->log_burst;
	else if (plan->log_burst)
		l.burst = plan->log_burst;
	return l;
}

char *const *service_on_refused(const struct plan *plan,
				const struct service *svc)
{
	if (svc->on_refused.argv)
		return svc->on_refused.argv;
	return plan->on_refused.argv;
}

void rate_format(const struct rate *r, char *buf, size_t size)
{
	const char *unit = r->unit == 1	   ? "second" :
			   r->unit == 60   ? "minute" :
			   r->unit == 3600 ? "hour" :
					     "day";

	snprintf(buf, size, "%u/%s", r->count, unit);
}

void command_line_free(struct command_line *c)
{
	for (size_t i = 0; c->argv && c->argv[i]; i++)
		free(c->argv[i]);
	free(c->argv);
	*c = (struct command_line){ 0 };
}
