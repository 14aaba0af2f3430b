// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Policy routing over rtnetlink: confine's fwmark rules and the routes in
 * each service's table. See rtnl.h.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "common/cleanup.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/rtnl.h"

struct rtnl {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *buf; /* NL_DUMP_BUFFER_SIZE, for requests and replies */
	struct cache *cache;
};

/* A rule or route as confine installs and reads them. */
struct fw_rule {
	int family;
	uint32_t mark, mask, table, priority;
	uint8_t protocol;
	uint8_t action; /* FR_ACT_TO_TBL for a lookup */
	bool invert; /* `not fwmark ...` */
};

struct table_route {
	int family;
	uint8_t type; /* RTN_UNICAST, RTN_THROW, RTN_UNREACHABLE */
	uint8_t protocol;
	struct prefix dst;
	bool has_gateway;
	union inet_addr gateway;
	int oif; /* 0: any / none */
	uint32_t table;
	uint32_t metric; /* 0: the kernel's default */
};

/*
 * The catch-all goes last, so that a default Route= or an Allow= of a /0
 * can sit beside it (same prefix, lower metric) and win; IPv4 also falls
 * back to it when that route's nexthop is dead.
 */
#define UNREACHABLE_METRIC UINT32_MAX

static const int families[2] = { AF_INET, AF_INET6 };

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

int rtnl_open(struct rtnl **out, struct failure *fail)
{
	_cleanup_free_ struct rtnl *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->buf = malloc(NL_DUMP_BUFFER_SIZE);
	if (!r->buf)
		return -ENOMEM;
	err = nl_open(NETLINK_ROUTE, &r->nl, &r->portid);
	if (err < 0) {
		free(r->buf);
		failure_set(fail, "open rtnetlink socket");
		return err;
	}
	r->seq = time(NULL);
	*out = TAKE_PTR(r);
	return 0;
}

void rtnl_close(struct rtnl *r)
{
	if (!r)
		return;
	rtnl_forget(r);
	mnl_socket_close(r->nl);
	free(r->buf);
	free(r);
}

static struct nlmsghdr *msg_new(struct rtnl *r, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++r->seq;
	return nlh;
}

static int talk(struct rtnl *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		struct failure *fail)
{
	return nl_talk(r->nl, r->portid, nlh, nlh->nlmsg_seq, r->buf,
		       NL_DUMP_BUFFER_SIZE, cb, data,
		       fail ? fail->kernel_msg : NULL,
		       fail ? sizeof(fail->kernel_msg) : 0);
}

/*
 * Not every failure comes from the kernel: an unknown Route= device or a
 * foreign route must not show the text of an earlier exchange.
 */
static void fail_reset(struct failure *fail)
{
	if (fail) {
		fail->object[0] = '\0';
		fail->kernel_msg[0] = '\0';
	}
}

/* ---- text forms, for messages ---------------------------------------- */

static void rule_format(const struct fw_rule *rule, char *buf, size_t size)
{
	snprintf(buf, size, "ip rule fwmark 0x%x/0x%x lookup %u (%s)",
		 rule->mark, rule->mask, rule->table,
		 family_name(rule->family));
}

static void troute_format(const struct table_route *rt, bool with_table,
			  char *buf, size_t size)
{
	char dst[INET6_ADDRSTRLEN + 8] = "default", gw[INET6_ADDRSTRLEN];
	char dev[IF_NAMESIZE] = "";
	const char *kind = rt->type == RTN_THROW       ? "throw " :
			   rt->type == RTN_UNREACHABLE ? "unreachable " :
							 "";
	int n;

	if (rt->dst.len)
		prefix_format(&rt->dst, dst, sizeof(dst));
	n = snprintf(buf, size, "%s%s", kind, dst);
	if (rt->has_gateway && n > 0 && (size_t)n < size) {
		inet_ntop(rt->family, rt->gateway.bytes, gw, sizeof(gw));
		n += snprintf(buf + n, size - n, " via %s", gw);
	}
	if (rt->oif && if_indextoname(rt->oif, dev) && n > 0 &&
	    (size_t)n < size)
		n += snprintf(buf + n, size - n, " dev %s", dev);
	if (with_table && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - n, " table %u", rt->table);
}

/* ---- rules ------------------------------------------------------------ */

struct rule_list {
	struct fw_rule *items;
	size_t n;
	int err;
};

static int rule_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= FRA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FRA_MAX + 1] = { 0 };
	struct rule_list *list = data;
	struct fw_rule rule = { .family = frh->family, .table = frh->table };
	struct fw_rule *grown;

	if (nlh->nlmsg_type != RTM_NEWRULE)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*frh), rule_attr_cb, tb);
	if (!tb[FRA_FWMARK])
		return MNL_CB_OK;
	rule.action = frh->action;
	rule.invert = frh->flags & FIB_RULE_INVERT;
	rule.mark = mnl_attr_get_u32(tb[FRA_FWMARK]);
	rule.mask = tb[FRA_FWMASK] ? mnl_attr_get_u32(tb[FRA_FWMASK]) :
				     0xffffffff;
	if (tb[FRA_TABLE])
		rule.table = mnl_attr_get_u32(tb[FRA_TABLE]);
	if (tb[FRA_PRIORITY])
		rule.priority = mnl_attr_get_u32(tb[FRA_PRIORITY]);
	if (tb[FRA_PROTOCOL])
		rule.protocol = mnl_attr_get_u8(tb[FRA_PROTOCOL]);
	grown = realloc(list->items, (list->n + 1) * sizeof(*grown));
	if (!grown) {
		list->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	list->items = grown;
	list->items[list->n++] = rule;
	return MNL_CB_OK;
}

/* Every fwmark rule of both families, not only confine's. */
static int all_rules_dump(struct rtnl *r, struct rule_list *out,
			  struct failure *fail)
{
	*out = (struct rule_list){ 0 };
	for (int f = 0; f < 2; f++) {
		struct nlmsghdr *nlh = msg_new(r, RTM_GETRULE, NLM_F_DUMP);
		struct fib_rule_hdr *frh =
			mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		int err;

		frh->family = families[f];
		err = talk(r, nlh, rule_cb, out, fail);
		if (err < 0 || out->err < 0) {
			failure_set(fail, "list %s ip rules",
				    family_name(families[f]));
			free(out->items);
			return err < 0 ? err : out->err;
		}
	}
	return 0;
}

/* confine's fwmark rules of both families, from the kernel. */
static int rules_dump(struct rtnl *r, struct rule_list *out,
		      struct failure *fail)
{
	int err = all_rules_dump(r, out, fail);

	if (err < 0)
		return err;
	/* Keep only confine's, which are lookups. */
	for (size_t i = 0; i < out->n;) {
		if (out->items[i].protocol != RTPROT_CONFINE ||
		    out->items[i].action != FR_ACT_TO_TBL)
			out->items[i] = out->items[--out->n];
		else
			i++;
	}
	return 0;
}

static void cache_rule_sent(struct rtnl *r, uint16_t type,
			    const struct fw_rule *rule, int err);

static int rule_send(struct rtnl *r, uint16_t type, const struct fw_rule *rule,
		     struct failure *fail)
{
	struct nlmsghdr *nlh = msg_new(
		r, type, type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh =
		mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	char what[128];
	int err;

	frh->family = rule->family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = rule->table < 256 ? rule->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, rule->table);
	mnl_attr_put_u32(nlh, FRA_FWMARK, rule->mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, rule->mask);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, rule->priority);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, RTPROT_CONFINE);
	err = talk(r, nlh, NULL, NULL, fail);
	cache_rule_sent(r, type, rule, err);
	if (err < 0) {
		rule_format(rule, what, sizeof(what));
		failure_set(fail, "%s %s",
			    type == RTM_NEWRULE ? "add" : "delete", what);
	}
	return err;
}

static bool rule_equal(const struct fw_rule *a, const struct fw_rule *b)
{
	return a->family == b->family && a->mark == b->mark &&
	       a->mask == b->mask && a->table == b->table &&
	       a->priority == b->priority;
}

/* ---- routes ----------------------------------------------------------- */

struct route_list {
	struct table_route *items;
	size_t n;
	uint32_t table; /* 0: every table */
	bool confine_only;
	int err;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= RTA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static void route_parse(const struct nlmsghdr *nlh, struct table_route *rt,
			const struct nlattr **tb)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	*rt = (struct table_route){ .family = rtm->rtm_family,
				    .type = rtm->rtm_type,
				    .protocol = rtm->rtm_protocol,
				    .table = rtm->rtm_table };
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
	rt->dst.family = rtm->rtm_family;
	rt->dst.len = rtm->rtm_dst_len;
	if (tb[RTA_TABLE])
		rt->table = mnl_attr_get_u32(tb[RTA_TABLE]);
	if (tb[RTA_DST] &&
	    mnl_attr_get_payload_len(tb[RTA_DST]) == inet_addr_len(rt->family))
		memcpy(rt->dst.addr.bytes, mnl_attr_get_payload(tb[RTA_DST]),
		       inet_addr_len(rt->family));
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) ==
				       inet_addr_len(rt->family)) {
		rt->has_gateway = true;
		memcpy(rt->gateway.bytes, mnl_attr_get_payload(tb[RTA_GATEWAY]),
		       inet_addr_len(rt->family));
	}
	if (tb[RTA_OIF])
		rt->oif = mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY])
		rt->metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct route_list *list = data;
	struct table_route rt, *grown;

	if (nlh->nlmsg_type != RTM_NEWROUTE || (rtm->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	route_parse(nlh, &rt, tb);
	if ((list->table && rt.table != list->table) ||
	    (list->confine_only && rt.protocol != RTPROT_CONFINE))
		return MNL_CB_OK;
	grown = realloc(list->items, (list->n + 1) * sizeof(*grown));
	if (!grown) {
		list->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	list->items = grown;
	list->items[list->n++] = rt;
	return MNL_CB_OK;
}

/*
 * The routes of table (0: of every table), both families; only confine's
 * when confine_only, so that remove_all does not copy a full BGP table.
 */
static int routes_dump(struct rtnl *r, uint32_t table, bool confine_only,
		       struct route_list *out, struct failure *fail)
{
	*out = (struct route_list){ .table = table,
				    .confine_only = confine_only };
	for (int f = 0; f < 2; f++) {
		struct nlmsghdr *nlh = msg_new(r, RTM_GETROUTE, NLM_F_DUMP);
		struct rtmsg *rtm =
			mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		int err;

		rtm->rtm_family = families[f];
		/* Filters for strict-checking kernels; others dump all. */
		if (confine_only)
			rtm->rtm_protocol = RTPROT_CONFINE;
		if (table)
			mnl_attr_put_u32(nlh, RTA_TABLE, table);
		err = talk(r, nlh, route_cb, out, fail);
		/* A filtered dump of a table never created fails so. */
		if (err == -ENOENT && table)
			err = 0;
		if (err < 0 || out->err < 0) {
			if (table)
				failure_set(fail, "list %s routes of table %u",
					    family_name(families[f]), table);
			else
				failure_set(fail, "list %s routes",
					    family_name(families[f]));
			free(out->items);
			return err < 0 ? err : out->err;
		}
	}
	return 0;
}

static void cache_route_sent(struct rtnl *r);

static int route_send(struct rtnl *r, uint16_t type,
		      const struct table_route *rt, struct failure *fail)
{
	struct nlmsghdr *nlh = msg_new(
		r, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	char what[192];
	int err;

	rtm->rtm_family = rt->family;
	rtm->rtm_dst_len = rt->dst.len;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_CONFINE;
	rtm->rtm_type = rt->type;
	/* A directly connected destination is on the link, not beyond it. */
	rtm->rtm_scope = rt->type == RTN_UNICAST && !rt->has_gateway ?
				 RT_SCOPE_LINK :
				 RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(nlh, RTA_TABLE, rt->table);
	if (rt->dst.len)
		mnl_attr_put(nlh, RTA_DST, inet_addr_len(rt->family),
			     rt->dst.addr.bytes);
	if (rt->has_gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, inet_addr_len(rt->family),
			     rt->gateway.bytes);
	if (rt->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, rt->oif);
	if (rt->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->metric);
	err = talk(r, nlh, NULL, NULL, fail);
	cache_route_sent(r);
	if (err < 0) {
		troute_format(rt, true, what, sizeof(what));
		failure_set(fail, "%s route %s",
			    type == RTM_NEWROUTE ? "add" : "delete", what);
	}
	return err;
}

/*
 * want's oif 0 means "any interface": the kernel picked it. Its metric 0
 * means any too, as IPv6 turns 0 into 1024.
 */
static bool route_matches(const struct table_route *want,
			  const struct table_route *have)
{
	size_t alen = inet_addr_len(want->family);

	return want->family == have->family && want->type == have->type &&
	       want->dst.len == have->dst.len &&
	       memcmp(want->dst.addr.bytes, have->dst.addr.bytes, alen) == 0 &&
	       want->has_gateway == have->has_gateway &&
	       (!want->has_gateway ||
		memcmp(want->gateway.bytes, have->gateway.bytes, alen) == 0) &&
	       (!want->oif || want->oif == have->oif) &&
	       (!want->metric || want->metric == have->metric);
}

/*
 * The routes svc wants in its table: its own, with devices resolved, and
 * the unreachable defaults.
 */
static int wanted_routes(const struct rtnl_service *svc,
			 struct table_route **out, size_t *n_out,
			 struct failure *fail)
{
	size_t n = 0;
	struct table_route *w = calloc(svc->n_routes + 2, sizeof(*w));

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_routes; i++) {
		const struct rtnl_route *ro = &svc->routes[i];
		struct table_route *rt = &w[n++];

		*rt = (struct table_route){ .family = ro->dst.family,
					    .type = ro->type,
					    .dst = ro->dst,
					    .has_gateway = ro->has_gateway,
					    .gateway = ro->gateway,
					    .table = svc->table };
		if (!ro->dev[0])
			continue;
		rt->oif = (int)if_nametoindex(ro->dev);
		if (!rt->oif) {
			failure_set(fail,
				    "find interface %s of Route=%s of service "
				    "%s",
				    ro->dev, ro->desc, svc->name);
			free(w);
			return -ENODEV;
		}
	}
	for (int f = 0; f < 2; f++)
		w[n++] = (struct table_route){
			.family = families[f],
			.type = RTN_UNREACHABLE,
			.dst = { .family = families[f] },
			.table = svc->table,
			.metric = UNREACHABLE_METRIC,
		};
	*out = w;
	*n_out = n;
	return 0;
}

static struct fw_rule service_rule(int family, const struct rtnl_service *svc)
{
	return (struct fw_rule){ .family = family,
				 .mark = svc->mark,
				 .mask = svc->mask,
				 .table = svc->table,
				 .priority = CONFINE_RULE_PRIORITY,
				 .protocol = RTPROT_CONFINE };
}

/* ---- undo ------------------------------------------------------------- */

struct undo_entry {
	bool is_rule;
	struct fw_rule rule;
	struct table_route route;
};

struct rtnl_undo {
	struct undo_entry *items;
	size_t n;
};

struct rtnl_undo *rtnl_undo_new(void)
{
	return calloc(1, sizeof(struct rtnl_undo));
}

void rtnl_undo_free(struct rtnl_undo *undo)
{
	if (!undo)
		return;
	free(undo->items);
	free(undo);
}

static int undo_push(struct rtnl_undo *undo, const struct undo_entry *e)
{
	struct undo_entry *grown =
		realloc(undo->items, (undo->n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	undo->items = grown;
	undo->items[undo->n++] = *e;
	return 0;
}

static void undo_to(struct rtnl *r, struct rtnl_undo *undo, size_t mark)
{
	while (undo->n > mark) {
		const struct undo_entry *e = &undo->items[--undo->n];

		if (e->is_rule)
			rule_send(r, RTM_DELRULE, &e->rule, NULL);
		else
			route_send(r, RTM_DELROUTE, &e->route, NULL);
	}
}

void rtnl_undo_run(struct rtnl *r, struct rtnl_undo *undo)
{
	if (undo)
		undo_to(r, undo, 0);
}

/*
 * Recorded before it is sent, so that running out of memory cannot leave
 * an addition unrecorded.
 */
static int add_recorded(struct rtnl *r, struct rtnl_undo *undo,
			const struct undo_entry *e, struct failure *fail)
{
	int err = undo_push(undo, e);

	if (err < 0)
		return err;
	err = e->is_rule ? rule_send(r, RTM_NEWRULE, &e->rule, fail) :
			   route_send(r, RTM_NEWROUTE, &e->route, fail);
	if (err < 0)
		undo->n--;
	return err;
}

/* ---- what one command reads more than once --------------------------- */

/* A unicast or local route with every interface it may leave by. */
struct oif_route {
	struct table_route rt;
	int *oifs; /* its own, and each nexthop's of a multipath route */
	size_t n_oifs;
};

/*
 * confine's fwmark rules, kept up to date by this socket's own changes,
 * and the unicast and local routes of each family, dropped when this
 * socket changes a route. Read once per command instead of once per
 * service, they keep apply and status linear in the number of services.
 * rtnl_forget() drops both, so that a check after a change reads the
 * kernel afresh.
 */
struct cache {
	bool rules_read;
	struct rule_list rules;
	bool routes_read[2]; /* [0] IPv4, [1] IPv6 */
	struct oif_route *routes[2];
	size_t n_routes[2];
};

static void cache_drop_routes(struct cache *c)
{
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < c->n_routes[f]; i++)
			free(c->routes[f][i].oifs);
		free(c->routes[f]);
		c->routes[f] = NULL;
		c->n_routes[f] = 0;
		c->routes_read[f] = false;
	}
}

static void cache_drop_rules(struct cache *c)
{
	free(c->rules.items);
	c->rules = (struct rule_list){ 0 };
	c->rules_read = false;
}

void rtnl_forget(struct rtnl *r)
{
	if (!r->cache)
		return;
	cache_drop_rules(r->cache);
	cache_drop_routes(r->cache);
	free(r->cache);
	r->cache = NULL;
}

static struct cache *cache_of(struct rtnl *r)
{
	if (!r->cache)
		r->cache = calloc(1, sizeof(*r->cache));
	return r->cache;
}

/* confine's fwmark rules; the list belongs to r and changes with it. */
static int rules_get(struct rtnl *r, const struct rule_list **out,
		     struct failure *fail)
{
	struct cache *c = cache_of(r);
	int err;

	if (!c)
		return -ENOMEM;
	if (!c->rules_read) {
		err = rules_dump(r, &c->rules, fail);
		if (err < 0)
			return err;
		c->rules_read = true;
	}
	*out = &c->rules;
	return 0;
}

static void cache_rule_sent(struct rtnl *r, uint16_t type,
			    const struct fw_rule *rule, int err)
{
	struct cache *c = r->cache;
	struct rule_list *l;
	struct fw_rule *grown;

	if (!c || !c->rules_read)
		return;
	l = &c->rules;
	if (err < 0) {
		/* Whether the kernel took it is not known: ask again. */
		cache_drop_rules(c);
		return;
	}
	if (type == RTM_DELRULE) {
		for (size_t i = l->n; i-- > 0;)
			if (rule_equal(&l->items[i], rule)) {
				l->items[i] = l->items[--l->n];
				break;
			}
		return;
	}
	grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
	if (!grown) {
		cache_drop_rules(c);
		return;
	}
	l->items = grown;
	l->items[l->n] = *rule;
	l->items[l->n].protocol = RTPROT_CONFINE;
	l->items[l->n++].action = FR_ACT_TO_TBL;
}

static void cache_route_sent(struct rtnl *r)
{
	if (r->cache)
		cache_drop_routes(r->cache);
}

/* ---- services --------------------------------------------------------- */

int rtnl_service_install(struct rtnl *r, const struct rtnl_service *svc,
			 struct rtnl_undo *undo, struct failure *fail)
{
	_cleanup_free_ struct table_route *want = NULL;
	struct route_list have = { 0 };
	const struct rule_list *rules;
	size_t n_want = 0, start = undo->n;
	char what[192];
	int err;

	fail_reset(fail);
	err = wanted_routes(svc, &want, &n_want, fail);
	if (err < 0)
		return err;
	err = routes_dump(r, svc->table, false, &have, fail);
	if (err < 0)
		return err;
	/* A table with someone else's routes is theirs. */
	for (size_t i = 0; i < have.n; i++) {
		if (have.items[i].protocol == RTPROT_CONFINE)
			continue;
		troute_format(&have.items[i], false, what, sizeof(what));
		failure_set(fail,
			    "routing table %u of service %s already holds %s, "
			    "which confine did not install; set Table= to a "
			    "free table",
			    svc->table, svc->name, what);
		err = -EEXIST;
		goto out;
	}
	err = rules_get(r, &rules, fail);
	if (err < 0)
		goto out;

	for (int f = 0; f < 2; f++) {
		struct undo_entry e = {
			.is_rule = true, .rule = service_rule(families[f], svc)
		};
		bool present = false;

		for (size_t i = 0; i < rules->n && !present; i++)
			present = rule_equal(&rules->items[i], &e.rule);
		if (present)
			continue;
		err = add_recorded(r, undo, &e, fail);
		if (err < 0)
			goto out;
	}
	for (size_t i = 0; i < n_want; i++) {
		struct undo_entry e = { .route = want[i] };
		bool present = false;

		for (size_t j = 0; j < have.n && !present; j++)
			present = route_matches(&want[i], &have.items[j]);
		if (present)
			continue;
		err = add_recorded(r, undo, &e, fail);
		if (err < 0)
			goto out;
	}
out:
	if (err < 0)
		undo_to(r, undo, start);
	free(have.items);
	return err;
}

int rtnl_service_prune(struct rtnl *r, const struct rtnl_service *svc,
		       struct failure *fail)
{
	_cleanup_free_ struct table_route *want = NULL;
	_cleanup_free_ struct fw_rule *stale = NULL;
	struct route_list have = { 0 };
	const struct rule_list *rules;
	uint32_t mark = svc->mark, mark_mask = svc->mask;
	size_t n_want = 0, n_stale = 0;
	int err;

	fail_reset(fail);
	err = wanted_routes(svc, &want, &n_want, fail);
	if (err < 0)
		return err;
	err = rules_get(r, &rules, fail);
	if (err < 0)
		return err;
	/* Listed first: deleting one changes the list. */
	stale = calloc(rules->n + 1, sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	for (size_t i = 0; i < rules->n; i++) {
		const struct fw_rule *ru = &rules->items[i];

		if ((ru->mark == mark && ru->table != svc->table) ||
		    (ru->table == svc->table &&
		     (ru->mark != mark || ru->mask != mark_mask)))
			stale[n_stale++] = *ru;
	}
	for (size_t i = 0; i < n_stale; i++)
		if ((err = rule_send(r, RTM_DELRULE, &stale[i], fail)) < 0)
			goto out;
	err = routes_dump(r, svc->table, true, &have, fail);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < have.n; i++) {
		bool wanted = false;

		if (have.items[i].protocol != RTPROT_CONFINE)
			continue;
		for (size_t j = 0; j < n_want && !wanted; j++)
			wanted = route_matches(&want[j], &have.items[i]);
		if (!wanted && (err = route_send(r, RTM_DELROUTE,
						 &have.items[i], fail)) < 0)
			goto out;
	}
out:
	free(have.items);
	return err;
}

static struct table_route marker_route(uint32_t table)
{
	return (struct table_route){ .family = AF_INET,
				     .type = RTN_UNREACHABLE,
				     .protocol = RTPROT_CONFINE,
				     .table = table,
				     .metric = UNREACHABLE_METRIC };
}

int rtnl_marker_present(struct rtnl *r, uint32_t table, bool *present,
			struct failure *fail)
{
	struct table_route want = marker_route(table);
	struct route_list have = { 0 };
	int err;

	fail_reset(fail);
	*present = false;
	err = routes_dump(r, table, true, &have, fail);
	if (err < 0)
		return err;
	for (size_t i = 0; i < have.n && !*present; i++)
		*present = have.items[i].protocol == RTPROT_CONFINE &&
			   route_matches(&want, &have.items[i]);
	free(have.items);
	return 0;
}

int rtnl_marker_set(struct rtnl *r, uint32_t table, struct rtnl_undo *undo,
		    struct failure *fail)
{
	struct undo_entry e = { .route = marker_route(table) };
	bool present;
	int err = rtnl_marker_present(r, table, &present, fail);

	if (err < 0 || present)
		return err;
	return add_recorded(r, undo, &e, fail);
}

/* Deletes confine's rules and routes of table (0: of every table). */
static int remove_table(struct rtnl *r, uint32_t table, struct failure *fail)
{
	_cleanup_free_ struct fw_rule *doomed = NULL;
	struct route_list have = { 0 };
	const struct rule_list *rules;
	size_t n_doomed = 0;
	int err;

	fail_reset(fail);
	err = rules_get(r, &rules, fail);
	if (err < 0)
		return err;
	/* Listed first: deleting one changes the list. */
	doomed = calloc(rules->n + 1, sizeof(*doomed));
	if (!doomed)
		return -ENOMEM;
	for (size_t i = 0; i < rules->n; i++)
		if (!table || rules->items[i].table == table)
			doomed[n_doomed++] = rules->items[i];
	for (size_t i = 0; i < n_doomed; i++) {
		err = rule_send(r, RTM_DELRULE, &doomed[i], fail);
		if (err < 0 && err != -ENOENT)
			goto out;
	}
	err = routes_dump(r, table, true, &have, fail);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < have.n; i++) {
		if (have.items[i].protocol != RTPROT_CONFINE)
			continue;
		err = route_send(r, RTM_DELROUTE, &have.items[i], fail);
		if (err < 0 && err != -ENOENT)
			goto out;
	}
	err = 0;
out:
	free(have.items);
	return err;
}

int rtnl_service_remove(struct rtnl *r, uint32_t table, struct failure *fail)
{
	return table ? remove_table(r, table, fail) : 0;
}

int rtnl_remove_all(struct rtnl *r, struct failure *fail)
{
	return remove_table(r, 0, fail);
}

int rtnl_service_check(struct rtnl *r, const struct rtnl_service *svc,
		       struct rtnl_service_state *state, struct failure *fail)
{
	_cleanup_free_ struct table_route *want = NULL;
	struct route_list have = { 0 };
	const struct rule_list *rules;
	size_t n_want = 0;
	int err;

	fail_reset(fail);
	*state = (struct rtnl_service_state){ 0 };
	err = wanted_routes(svc, &want, &n_want, fail);
	if (err < 0)
		return err;
	err = rules_get(r, &rules, fail);
	if (err < 0)
		return err;
	err = routes_dump(r, svc->table, true, &have, fail);
	if (err < 0)
		return err;
	for (int f = 0; f < 2; f++) {
		struct fw_rule want_rule = service_rule(families[f], svc);

		for (size_t i = 0; i < rules->n && !state->rule[f]; i++)
			state->rule[f] =
				rule_equal(&rules->items[i], &want_rule);
	}
	for (size_t i = 0; i < n_want; i++) {
		bool present = false;

		for (size_t j = 0; j < have.n && !present; j++)
			present = have.items[j].protocol == RTPROT_CONFINE &&
				  route_matches(&want[i], &have.items[j]);
		if (want[i].type == RTN_UNREACHABLE) {
			state->unreachable[want[i].family == AF_INET6] =
				present;
			continue;
		}
		if (!present && !state->routes_missing++)
			troute_format(&want[i], true, state->missing,
				      sizeof(state->missing));
	}
	free(have.items);
	return 0;
}

struct lookup_ctx {
	struct route_lookup *out;
	bool got;
};

static int lookup_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct lookup_ctx *ctx = data;
	struct table_route rt;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	route_parse(nlh, &rt, tb);
	*ctx->out = (struct route_lookup){ .type = rt.type,
					   .table = rt.table,
					   .oif = rt.oif,
					   .has_gateway = rt.has_gateway,
					   .gateway = rt.gateway };
	ctx->got = true;
	return MNL_CB_OK;
}

int rtnl_route_lookup(struct rtnl *r, int family, const union inet_addr *dst,
		      uint32_t mark, struct route_lookup *out,
		      struct failure *fail)
{
	struct nlmsghdr *nlh = msg_new(r, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_lookup result = { 0 };
	struct lookup_ctx ctx = { &result, false };
	char a[INET6_ADDRSTRLEN];
	int err;

	fail_reset(fail);
	rtm->rtm_family = family;
	rtm->rtm_dst_len = inet_addr_len(family) * 8;
	/* IPv4 reports the table only when asked; IPv6 refuses the flag. */
	if (family == AF_INET)
		rtm->rtm_flags = RTM_F_LOOKUP_TABLE;
	mnl_attr_put(nlh, RTA_DST, inet_addr_len(family), dst->bytes);
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	err = talk(r, nlh, lookup_cb, &ctx, fail);
	if (err == 0 && !ctx.got)
		err = -ENOENT;
	if (err < 0) {
		inet_ntop(family, dst->bytes, a, sizeof(a));
		failure_set(fail, "look up the route to %s (fwmark 0x%x)", a,
			    mark);
		return err;
	}
	*out = result;
	return 0;
}

/* ---- output interfaces ----------------------------------------------- */

static int oif_add(int **oifs, size_t *n, int oif)
{
	int *grown;

	if (oif <= 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if ((*oifs)[i] == oif)
			return 0;
	grown = realloc(*oifs, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[(*n)++] = oif;
	*oifs = grown;
	return 0;
}

/* A route's interfaces: its own, and each nexthop's of a multipath one. */
static int route_oifs(const struct table_route *rt, const struct nlattr *mp,
		      int **oifs, size_t *n)
{
	const struct rtnexthop *nh;
	int left, err = oif_add(oifs, n, rt->oif);

	if (err < 0 || !mp)
		return err;
	nh = mnl_attr_get_payload(mp);
	left = (int)mnl_attr_get_payload_len(mp);
	while (err == 0 && left >= (int)sizeof(*nh) &&
	       nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= left) {
		err = oif_add(oifs, n, nh->rtnh_ifindex);
		left -= NLMSG_ALIGN(nh->rtnh_len);
		nh = (const void *)((const char *)nh +
				    NLMSG_ALIGN(nh->rtnh_len));
	}
	return err;
}

struct oif_fill {
	int family;
	struct oif_route *items;
	size_t n;
	int err;
};

/* Every unicast and local route of a family, with its interfaces. */
static int oif_fill_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct oif_fill *fill = data;
	struct oif_route route = { 0 }, *grown;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	route_parse(nlh, &route.rt, tb);
	if (route.rt.family != fill->family ||
	    (route.rt.type != RTN_UNICAST && route.rt.type != RTN_LOCAL))
		return MNL_CB_OK;
	fill->err = route_oifs(&route.rt, tb[RTA_MULTIPATH], &route.oifs,
			       &route.n_oifs);
	grown = fill->err ?
			NULL :
			realloc(fill->items, (fill->n + 1) * sizeof(*grown));
	if (!grown) {
		free(route.oifs);
		fill->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	fill->items = grown;
	fill->items[fill->n++] = route;
	return MNL_CB_OK;
}

/* The unicast and local routes of family; they belong to r. */
static int oif_routes_get(struct rtnl *r, int family,
			  const struct oif_route **out, size_t *n,
			  struct failure *fail)
{
	struct cache *c = cache_of(r);
	int f = family == AF_INET6;
	struct oif_fill fill = { .family = family };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	if (!c)
		return -ENOMEM;
	if (!c->routes_read[f]) {
		nlh = msg_new(r, RTM_GETROUTE, NLM_F_DUMP);
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = family;
		err = talk(r, nlh, oif_fill_cb, &fill, fail);
		if (err == 0)
			err = fill.err;
		if (err < 0) {
			for (size_t i = 0; i < fill.n; i++)
				free(fill.items[i].oifs);
			free(fill.items);
			return err;
		}
		c->routes[f] = fill.items;
		c->n_routes[f] = fill.n;
		c->routes_read[f] = true;
	}
	*out = c->routes[f];
	*n = c->n_routes[f];
	return 0;
}

/*
 * The lookup names one nexthop of a multipath route; every nexthop of the
 * route it came from counts, since the kernel spreads flows over them. For
 * a prefix, the routes inside it count too: its addresses may go there.
 */
int rtnl_allow_oifs(struct rtnl *r, uint32_t mark, uint32_t table,
		    const struct prefix *dst, int **oifs, size_t *n,
		    struct failure *fail)
{
	const uint32_t tables[] = { RT_TABLE_MAIN, RT_TABLE_LOCAL, table };
	const struct oif_route *routes, *best = NULL;
	size_t n_routes = 0, n_oifs = 0;
	uint32_t found_in = 0; /* where the lookup found dst's route */
	struct route_lookup rl;
	char a[INET6_ADDRSTRLEN + 8];
	int *list = NULL;
	int err;

	err = rtnl_route_lookup(r, dst->family, &dst->addr, mark, &rl, fail);
	if (err == 0 && (rl.type == RTN_UNICAST || rl.type == RTN_LOCAL)) {
		err = oif_add(&list, &n_oifs, rl.oif);
		found_in = rl.table;
	} else if (err == -ENETUNREACH || err == -EHOSTUNREACH ||
		   err == -EINVAL || err == -EACCES || err == 0) {
		err = 0; /* no route: no interface from the lookup */
	}
	if (err == 0)
		err = oif_routes_get(r, dst->family, &routes, &n_routes, fail);
	for (size_t i = 0; err == 0 && i < n_routes; i++) {
		const struct table_route *rt = &routes[i].rt;
		bool counted = false;

		for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
			counted |= rt->table == tables[t];
		/* A route inside the prefix: its addresses may go there. */
		for (size_t j = 0; counted && rt->dst.len > dst->len &&
				   prefix_inside(&rt->dst, dst) && err == 0 &&
				   j < routes[i].n_oifs;
		     j++)
			err = oif_add(&list, &n_oifs, routes[i].oifs[j]);
		/* The most specific route around dst in the table found. */
		if (found_in && rt->table == found_in &&
		    prefix_inside(dst, &rt->dst) &&
		    (!best || rt->dst.len > best->rt.dst.len))
			best = &routes[i];
	}
	for (size_t j = 0; err == 0 && best && j < best->n_oifs; j++)
		err = oif_add(&list, &n_oifs, best->oifs[j]);
	if (err < 0) {
		prefix_format(dst, a, sizeof(a));
		failure_set(fail, "find the interfaces that route %s", a);
		free(list);
		return err;
	}
	fail_reset(fail);
	*oifs = list;
	*n = n_oifs;
	return 0;
}

/* ---- neighbours ------------------------------------------------------ */

struct neigh_list {
	struct rtnl_neighbour *items;
	size_t n;
	int err;
};

static int neigh_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= NDA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	struct neigh_list *l = data;
	struct rtnl_neighbour nb = { 0 }, *grown;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    (nd->ndm_state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP)))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*nd), neigh_attr_cb, tb);
	alen = inet_addr_len(nd->ndm_family);
	if (!tb[NDA_DST] || !tb[NDA_LLADDR] ||
	    mnl_attr_get_payload_len(tb[NDA_DST]) != alen ||
	    mnl_attr_get_payload_len(tb[NDA_LLADDR]) > sizeof(nb.lladdr))
		return MNL_CB_OK;
	nb.family = nd->ndm_family;
	nb.ifindex = nd->ndm_ifindex;
	memcpy(nb.addr.bytes, mnl_attr_get_payload(tb[NDA_DST]), alen);
	nb.lladdr_len = mnl_attr_get_payload_len(tb[NDA_LLADDR]);
	memcpy(nb.lladdr, mnl_attr_get_payload(tb[NDA_LLADDR]), nb.lladdr_len);
	grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
	if (!grown) {
		l->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	grown[l->n++] = nb;
	l->items = grown;
	return MNL_CB_OK;
}

int rtnl_neighbours(struct rtnl *r, struct rtnl_neighbour **out, size_t *n,
		    struct failure *fail)
{
	struct neigh_list l = { 0 };

	for (int f = 0; f < 2; f++) {
		struct nlmsghdr *nlh = msg_new(r, RTM_GETNEIGH, NLM_F_DUMP);
		struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		int err;

		nd->ndm_family = families[f];
		err = talk(r, nlh, neigh_cb, &l, fail);
		if (err < 0 || l.err < 0) {
			failure_set(fail, "list the %s neighbours",
				    family_name(families[f]));
			free(l.items);
			return err < 0 ? err : l.err;
		}
	}
	*out = l.items;
	*n = l.n;
	return 0;
}

int rtnl_fwmark_rules(struct rtnl *r, struct rtnl_rule **out, size_t *n,
		      struct failure *fail)
{
	struct rule_list rules;
	struct rtnl_rule *list;
	size_t count = 0;
	int err = all_rules_dump(r, &rules, fail);

	if (err < 0)
		return err;
	list = calloc(rules.n + 1, sizeof(*list));
	if (!list) {
		free(rules.items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rules.n; i++) {
		const struct fw_rule *ru = &rules.items[i];

		/* `fwmark 0/0` matches every packet: it uses no mark bit. */
		if (!ru->mark && !ru->mask)
			continue;
		list[count++] = (struct rtnl_rule){
			.family = ru->family,
			.priority = ru->priority,
			.mark = ru->mark,
			.mask = ru->mask,
			.table = ru->table,
			.protocol = ru->protocol,
			.invert = ru->invert,
			.confine = ru->protocol == RTPROT_CONFINE &&
				   ru->action == FR_ACT_TO_TBL,
		};
	}
	*out = list;
	*n = count;
	free(rules.items);
	return 0;
}
