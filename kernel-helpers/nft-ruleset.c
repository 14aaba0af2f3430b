// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine's nf_tables ruleset: the rules of each service's chain, the base
 * chains, the sets and maps, and installing or removing services in one
 * batch. See nft.h for the shape of the ruleset.
 */

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/cleanup.h"
#include "common/names.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nft-internal.h"

char *service_chain(const char *name)
{
	char *s;

	return asprintf(&s, SERVICE_CHAIN_PREFIX "%s", name) < 0 ? NULL : s;
}

char *service_counter(const char *name, const char *kind)
{
	char *s;

	return asprintf(&s, SERVICE_CHAIN_PREFIX "%s_%s", name, kind) < 0 ?
		       NULL :
		       s;
}

/*
 * The rules of one service's chain, in order; each is handed to emit(),
 * which takes ownership. Shared by the batch and by the golden-file dump.
 */
typedef int (*rule_sink)(struct nftnl_rule *r, const char *what, void *ctx);

/*
 * One accepting rule of a service's chain: Allow= a, leaving by oif (NULL:
 * any interface, only for printing a plan).
 */
static int allow_rule(const char *chain, const struct nft_allow *a,
		      const char *oif, const char *allowed, uint32_t mask,
		      uint32_t mark, rule_sink emit, void *ctx)
{
	struct rule_builder rb = { rule_new(chain), 0 };
	char desc[160];

	if (!rb.rule)
		return -ENOMEM;
	rb_match_allow(&rb, a);
	if (oif)
		rb_oifname(&rb, oif);
	rb_counter(&rb, allowed);
	rb_set_mark(&rb, mask, mark);
	rb_verdict(&rb, NF_ACCEPT, NULL);
	if (oif)
		snprintf(desc, sizeof(desc), "%s oifname %s", a->desc, oif);
	else
		snprintf(desc, sizeof(desc), "%s", a->desc);
	if (rb.err) {
		nftnl_rule_free(rb.rule);
		return rb.err;
	}
	return emit(rb.rule, desc, ctx);
}

/* Enough for the IP and transport headers that `confine watch` reads. */
#define LOG_SNAPLEN 128

/*
 * The two rules that log a refusal before the rule that refuses it: a
 * kernel log line under a token bucket, counted (a limit that is over
 * ends its rule, so the line and its counter are skipped together and
 * refused minus logged is what the bucket suppressed), then an NFLOG
 * event for `confine watch`, never limited: nfnetlink_log drops what no
 * one reads, and a reader counts what it lost. Neither has a verdict.
 * Only refused packets reach them: allowed ones were accepted above.
 */
static int log_rules(const char *chain, const char *name,
		     const struct nft_log *log, const char *logged,
		     rule_sink emit, void *ctx)
{
	struct rule_builder rb = { rule_new(chain), 0 };
	char prefix[NFT_SERVICE_NAME_MAX + 32];
	int r;

	nft_log_prefix(name, prefix, sizeof(prefix));
	if (!rb.rule)
		return -ENOMEM;
	rb_limit(&rb, log->rate, log->unit, log->burst);
	rb_counter(&rb, logged);
	rb_log_syslog(&rb, prefix);
	if (rb.err) {
		nftnl_rule_free(rb.rule);
		return rb.err;
	}
	r = emit(rb.rule, "log refusals to the kernel log, rate-limited", ctx);
	if (r < 0)
		return r;
	rb = (struct rule_builder){ rule_new(chain), 0 };
	if (!rb.rule)
		return -ENOMEM;
	rb_log_group(&rb, NFT_LOG_GROUP, LOG_SNAPLEN, prefix);
	if (rb.err) {
		nftnl_rule_free(rb.rule);
		return rb.err;
	}
	return emit(rb.rule, "send refusals to nflog group", ctx);
}

/*
 * Refuses verify's probe datagrams before the log rules see them, counted
 * apart (verify adds the counts up), so that the refused count is of the
 * refusals that the log rules saw.
 */
static int probe_rules(const char *chain, const char *probed, rule_sink emit,
		       void *ctx)
{
	static const char *const addrs[] = { NFT_PROBE_ADDR4, NFT_PROBE_ADDR6 };

	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		int family = i ? AF_INET6 : AF_INET;
		struct nft_allow probe = { .l4proto = IPPROTO_UDP,
					   .dst = { .family = family,
						    .len = i ? 128 : 32 },
					   .port_min = NFT_PROBE_PORT,
					   .port_max = NFT_PROBE_PORT };
		struct rule_builder rb = { rule_new(chain), 0 };
		int r;

		inet_pton(family, addrs[i], probe.dst.addr.bytes);
		if (!rb.rule)
			return -ENOMEM;
		rb_match_allow(&rb, &probe);
		rb_counter(&rb, probed);
		rb_verdict(&rb, NFT_GOTO, CHAIN_REFUSE);
		if (rb.err) {
			nftnl_rule_free(rb.rule);
			return rb.err;
		}
		r = emit(rb.rule, "refuse status's probe unlogged", ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

static int service_rules(const struct nft_service_spec *spec, uint32_t mask,
			 rule_sink emit, void *ctx)
{
	_cleanup_free_ char *chain = service_chain(spec->name);
	_cleanup_free_ char *allowed = service_counter(spec->name, "allowed");
	_cleanup_free_ char *refused = service_counter(spec->name, "refused");
	uint32_t mark = spec->mark_value << __builtin_ctz(mask);
	struct rule_builder rb;
	int r;

	if (!chain || !allowed || !refused)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_allows; i++) {
		const struct nft_allow *a = &spec->allows[i];

		if (!a->oifs) {
			r = allow_rule(chain, a, NULL, allowed, mask, mark,
				       emit, ctx);
			if (r < 0)
				return r;
			continue;
		}
		/* No interface: no route when applied, so nothing passes. */
		for (size_t j = 0; j < a->n_oifs; j++) {
			r = allow_rule(chain, a, a->oifs[j], allowed, mask,
				       mark, emit, ctx);
			if (r < 0)
				return r;
		}
	}
	if (spec->log.on) {
		_cleanup_free_ char *logged =
			service_counter(spec->name, "logged");
		_cleanup_free_ char *probed =
			service_counter(spec->name, "probed");

		if (!logged || !probed)
			return -ENOMEM;
		r = probe_rules(chain, probed, emit, ctx);
		if (r < 0)
			return r;
		r = log_rules(chain, spec->name, &spec->log, logged, emit, ctx);
		if (r < 0)
			return r;
	}
	rb = (struct rule_builder){ rule_new(chain), 0 };
	if (!rb.rule)
		return -ENOMEM;
	rb_counter(&rb, refused);
	rb_verdict(&rb, NFT_GOTO, CHAIN_REFUSE);
	if (rb.err) {
		nftnl_rule_free(rb.rule);
		return rb.err;
	}
	return emit(rb.rule, "refuse the rest", ctx);
}

static int print_rule(struct nftnl_rule *rule, const char *what, void *ctx)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule;
	char buf[4096];

	nftnl_rule_snprintf(buf, sizeof(buf), r, NFTNL_OUTPUT_DEFAULT, 0);
	fprintf(ctx, "# %s\n%s\n", what, buf);
	return 0;
}

int nft_print_service_rules(const struct nft_service_spec *spec,
			    uint32_t mark_mask, FILE *out)
{
	return service_rules(spec, mark_mask, print_rule, out);
}

/*
 * Whether an exclusive Allow= covers UDP, so that others' broadcast and
 * multicast could reach the service's destination on that port (a host
 * answers a datagram to its subnet's broadcast address, to 255.255.255.255
 * or to a group it is in on any wildcard-bound socket).
 */
static bool allow_udp(const struct nft_allow *a)
{
	return a->l4proto == IPPROTO_UDP || !a->l4proto;
}

/* The rules of chain xcast_NAME: refuse the UDP ports of svc's Allow=. */
static int xcast_rules(const struct nft_service_spec *svc, rule_sink emit,
		       void *ctx)
{
	_cleanup_free_ char *chain = NULL;
	uint8_t udp = IPPROTO_UDP;

	if (asprintf(&chain, XCAST_CHAIN_PREFIX "%s", svc->name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct nft_allow *a = &svc->allows[i];
		struct rule_builder rb = { rule_new(chain), 0 };
		uint16_t lo = htons(a->port_min), hi = htons(a->port_max);
		char desc[160];
		int r;

		if (!allow_udp(a)) {
			nftnl_rule_free(rb.rule);
			continue;
		}
		if (!rb.rule)
			return -ENOMEM;
		rb_meta_load(&rb, NFT_META_L4PROTO, NFT_REG_1);
		rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &udp, sizeof(udp));
		if (a->port_min) {
			rb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2,
				   NFT_REG_1);
			rb_cmp(&rb, NFT_REG_1, NFT_CMP_GTE, &lo, sizeof(lo));
			rb_cmp(&rb, NFT_REG_1, NFT_CMP_LTE, &hi, sizeof(hi));
		}
		rb_counter(&rb, COUNTER_OTHERS);
		/* Logged there when others' log is on; refused either way. */
		rb_verdict(&rb, NFT_GOTO, CHAIN_REFUSE_OTHERS);
		if (rb.err) {
			nftnl_rule_free(rb.rule);
			return rb.err;
		}
		if (a->port_min)
			snprintf(desc, sizeof(desc),
				 "refuse others' broadcast and multicast to "
				 "udp port %u-%u",
				 a->port_min, a->port_max);
		else
			snprintf(desc, sizeof(desc),
				 "refuse others' broadcast and multicast to "
				 "every udp port");
		r = emit(rb.rule, desc, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- batch contents -------------------------------------------------- */

struct emit_ctx {
	struct batch *bt;
	const char *service;
};

static void batch_rule(struct batch *bt, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;

	nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			"add rule to chain %s (%s)",
			nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), what);
	if (!nlh)
		return;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_next(bt);
}

static int emit_to_batch(struct nftnl_rule *rule, const char *what, void *ctx)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule;
	struct emit_ctx *ec = ctx;
	char desc[256];

	snprintf(desc, sizeof(desc), "service %s: %s", ec->service, what);
	batch_rule(ec->bt, r, desc);
	return ec->bt->oom;
}

void batch_table(struct batch *bt, uint16_t type, const char *name)
{
	_cleanup_(nftnl_table_freep) struct nftnl_table *t =
		nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nlh = batch_msg(bt, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			"%s table inet %s",
			type == NFT_MSG_NEWTABLE ? "add" : "delete", name);
	if (!nlh)
		return;
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_next(bt);
}

static struct nftnl_chain *chain_new(const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	return c;
}

static void batch_chain_msg(struct batch *bt, uint16_t type,
			    struct nftnl_chain *c, const char *verb)
{
	struct nlmsghdr *nlh;

	nlh = batch_msg(bt, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0,
			"%s chain inet " NFT_TABLE_NAME " %s", verb,
			nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	if (!nlh)
		return;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_next(bt);
}

/* Empties a chain: a DELRULE that names only the chain. */
static void batch_flush_chain(struct batch *bt, const char *name)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *flush = rule_new(name);
	struct nlmsghdr *nlh;

	if (!flush) {
		bt->oom = -ENOMEM;
		return;
	}
	nlh = batch_msg(bt, NFT_MSG_DELRULE, 0, "flush chain inet %s %s",
			NFT_TABLE_NAME, name);
	if (!nlh)
		return;
	nftnl_rule_nlmsg_build_payload(nlh, flush);
	batch_next(bt);
}

/* Adds a regular chain (comment may be NULL), then empties it. */
static void batch_chain_fresh(struct batch *bt, const char *name,
			      const char *comment)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *c = chain_new(name);

	if (!c) {
		bt->oom = -ENOMEM;
		return;
	}
	if (comment) {
		_cleanup_(nftnl_udata_buf_freep) struct nftnl_udata_buf *ud =
			nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		if (!ud || !nftnl_udata_put_strz(ud, NFTNL_UDATA_CHAIN_COMMENT,
						 comment)) {
			bt->oom = -ENOMEM;
			return;
		}
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA,
				     nftnl_udata_buf_data(ud),
				     nftnl_udata_buf_len(ud));
	}
	batch_chain_msg(bt, NFT_MSG_NEWCHAIN, c, "add");
	batch_flush_chain(bt, name);
}

static void batch_del_chain(struct batch *bt, const char *name)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *c = chain_new(name);

	if (!c) {
		bt->oom = -ENOMEM;
		return;
	}
	/* A chain must be empty before it can go. */
	batch_flush_chain(bt, name);
	batch_chain_msg(bt, NFT_MSG_DELCHAIN, c, "delete");
}

/*
 * A base chain, added if missing and emptied. Output is a route chain: the
 * kernel reroutes a packet whose mark it changed, so the service's table
 * is consulted for its packets. Forward only refuses, so it filters.
 */
static void batch_base_chain(struct batch *bt, const char *name,
			     const char *type, uint32_t hook)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *c = chain_new(name);

	if (!c) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NF_IP_PRI_MANGLE);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	batch_chain_msg(bt, NFT_MSG_NEWCHAIN, c, "add");
	batch_flush_chain(bt, name);
}

static struct nftnl_set *set_new(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

static void batch_set_msg(struct batch *bt, uint16_t type, struct nftnl_set *s)
{
	struct nlmsghdr *nlh;

	/* The kernel wants a batch-unique id on every new set. */
	if (type == NFT_MSG_NEWSET)
		nftnl_set_set_u32(s, NFTNL_SET_ID, bt->seq);
	nlh = batch_msg(bt, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0,
			"%s set inet " NFT_TABLE_NAME " %s",
			type == NFT_MSG_NEWSET ? "add" : "delete",
			nftnl_set_get_str(s, NFTNL_SET_NAME));
	if (!nlh)
		return;
	nftnl_set_nlmsg_build_payload(nlh, s);
	batch_next(bt);
}

void cgroup_map_name(uint32_t level, char *buf, size_t size)
{
	snprintf(buf, size, CGROUP_MAP_PREFIX "%" PRIu32, level);
}

static void batch_cgroup_map(struct batch *bt, uint16_t type, uint32_t level)
{
	_cleanup_(nftnl_udata_buf_freep) struct nftnl_udata_buf *ud = NULL;
	_cleanup_(nftnl_set_freep) struct nftnl_set *s = NULL;
	char name[64];

	cgroup_map_name(level, name, sizeof(name));
	s = set_new(name);
	if (!s) {
		bt->oom = -ENOMEM;
		return;
	}
	if (type == NFT_MSG_NEWSET) {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_CGROUPV2);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sizeof(uint64_t));
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
		/*
		 * The kernel compares raw bytes in host order; this note only
		 * makes `nft list` print the ids as /proc and bpftool do.
		 */
		ud = nftnl_udata_buf_alloc(16);
		if (!ud ||
		    !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER,
					 NFT_BYTEORDER_HOST)) {
			bt->oom = -ENOMEM;
			return;
		}
		nftnl_set_set_data(s, NFTNL_SET_USERDATA,
				   nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
	}
	batch_set_msg(bt, type, s);
}

/*
 * Exclusive destinations are kept as `daddr . l4proto` ranges. The second
 * field is always the full protocol range; it is there because only the
 * concatenation backend (pipapo) stores a range as one element with a start
 * and an end, which can carry its owner's name and be deleted alone.
 */
static void batch_exclusive_set(struct batch *bt, int family)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *s =
		set_new(family == AF_INET ? SET_EXCLUSIVE4 : SET_EXCLUSIVE6);
	uint32_t alen = inet_addr_len(family);
	uint32_t type = family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;

	if (!s) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
			  NFT_SET_INTERVAL | NFT_SET_CONCAT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  type << NFT_TYPE_BITS | NFT_TYPE_INET_PROTOCOL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, alen + 4);
	nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, (uint8_t[]){ alen, 1 }, 2);
	batch_set_msg(bt, NFT_MSG_NEWSET, s);
}

static void batch_counter(struct batch *bt, uint16_t type, const char *name)
{
	_cleanup_(nftnl_obj_freep) struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	if (!o) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFT_TABLE_NAME);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = batch_msg(bt, type, type == NFT_MSG_NEWOBJ ? NLM_F_CREATE : 0,
			"%s counter inet " NFT_TABLE_NAME " %s",
			type == NFT_MSG_NEWOBJ ? "add" : "delete", name);
	if (!nlh)
		return;
	nftnl_obj_nlmsg_build_payload(nlh, o);
	batch_next(bt);
}

/* Sends a one-element change; elem is taken by the set. */
/* A service's counters in every chain: what each rule counts. */
static const char *const base_counters[] = { "allowed", "refused" };
/* The log rules' counters, only in chains made since logging came. */
static const char *const log_counters[] = { "logged", "probed" };

/* Adds or deletes the counters svc_NAME_KIND of the n kinds. */
static void batch_service_counters(struct batch *bt, uint16_t type,
				   const char *name, const char *const *kinds,
				   size_t n)
{
	for (size_t k = 0; k < n; k++) {
		_cleanup_free_ char *counter = service_counter(name, kinds[k]);

		if (!counter) {
			bt->oom = -ENOMEM;
			return;
		}
		batch_counter(bt, type, counter);
	}
}

static void batch_elem(struct batch *bt, uint16_t type, const char *set,
		       struct nftnl_set_elem *elem, const char *what)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *s = set_new(set);
	struct nlmsghdr *nlh;

	if (!s) {
		nftnl_set_elem_free(elem);
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_set_elem_add(s, elem);
	nlh = batch_msg(bt, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
			"%s element %s in set inet " NFT_TABLE_NAME " %s",
			type == NFT_MSG_NEWSETELEM ? "add" : "delete", what,
			set);
	if (!nlh)
		return;
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	batch_next(bt);
}

static void batch_cgroup_elem(struct batch *bt, uint16_t type,
			      const struct nft_cgroup *cg, const char *service)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	char map[64], what[128];

	if (!e) {
		bt->oom = -ENOMEM;
		return;
	}
	cgroup_map_name(cg->level, map, sizeof(map));
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &cg->id, sizeof(cg->id));
	if (type == NFT_MSG_NEWSETELEM) {
		_cleanup_free_ char *chain = service_chain(service);

		if (!chain) {
			nftnl_set_elem_free(e);
			bt->oom = -ENOMEM;
			return;
		}
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	snprintf(what, sizeof(what), "cgroup id %" PRIu64 " : service %s",
		 cg->id, service);
	batch_elem(bt, type, map, e, what);
}

static void exclusive_key(const struct nft_exclusive *x, bool end, uint8_t *key,
			  size_t *len)
{
	size_t alen = inet_addr_len(x->range.family);

	memset(key, 0, alen + 4);
	memcpy(key, end ? x->range.end.bytes : x->range.start.bytes, alen);
	key[alen] = end ? 0xff : 0;
	*len = alen + 4;
}

static void batch_exclusive_elem(struct batch *bt, uint16_t type,
				 const struct nft_exclusive *x)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint8_t key[20];
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], what[192];
	size_t len;

	if (!e) {
		bt->oom = -ENOMEM;
		return;
	}
	exclusive_key(x, false, key, &len);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
	exclusive_key(x, true, key, &len);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, key, len);
	if (type == NFT_MSG_NEWSETELEM)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, x->owner,
				   strlen(x->owner));
	inet_ntop(x->range.family, x->range.start.bytes, a, sizeof(a));
	inet_ntop(x->range.family, x->range.end.bytes, b, sizeof(b));
	snprintf(what, sizeof(what), "%s-%s (exclusive to service %s)", a, b,
		 x->owner);
	batch_elem(bt, type,
		   x->range.family == AF_INET ? SET_EXCLUSIVE4 : SET_EXCLUSIVE6,
		   e, what);
}

/* Queues a built rule and frees it; a failed build marks the batch. */
static void batch_built_rule(struct batch *bt, struct rule_builder *rb,
			     const char *what)
{
	if (!rb->rule || rb->err)
		bt->oom = rb->err ? rb->err : -ENOMEM;
	else
		batch_rule(bt, rb->rule, what);
	nftnl_rule_free(rb->rule);
	rb->rule = NULL;
}

static void batch_refuse_chain(struct batch *bt)
{
	struct rule_builder rb;
	uint8_t tcp = IPPROTO_TCP;

	batch_chain_fresh(bt, CHAIN_REFUSE, NULL);

	/* A reset makes connect() fail at once with ECONNREFUSED. */
	rb = (struct rule_builder){ rule_new(CHAIN_REFUSE), 0 };
	rb_meta_load(&rb, NFT_META_L4PROTO, NFT_REG_1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &tcp, sizeof(tcp));
	rb_reject(&rb, NFT_REJECT_TCP_RST, 0);
	batch_built_rule(bt, &rb, "reset refused TCP");

	rb = (struct rule_builder){ rule_new(CHAIN_REFUSE), 0 };
	rb_reject(&rb, NFT_REJECT_ICMPX_UNREACH,
		  NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	batch_built_rule(bt, &rb,
			 "refuse the rest as administratively "
			 "prohibited");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A TCP segment other than a bare SYN goes on with a connection that
 * exists: a confined server's answer to a peer that connected to it
 * (which the policy need not list), or the rest of a connection that was
 * allowed when it opened. Only a bare SYN opens one, and without
 * CAP_NET_RAW and CAP_NET_ADMIN (which `run` drops: no raw sockets, no
 * TCP_REPAIR) a process can send nothing else first. Telling this from the
 * header alone spares confine the connection tracking that `ct direction
 * reply` needs, which cost every packet of the host about a sixth of its
 * rate; and one rule at the top of the output chain, not one per service,
 * spares established connections the rest of the chain.
 */
static void batch_accept_continuations(struct batch *bt)
{
	struct rule_builder rb = { rule_new(CHAIN_OUTPUT), 0 };
	uint8_t tcp = IPPROTO_TCP, syn_ack = 0x12, zero = 0, syn = 0x02;

	rb_meta_load(&rb, NFT_META_L4PROTO, NFT_REG_1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &tcp, sizeof(tcp));
	/* The flags byte of the TCP header: tcp flags & (syn | ack) != syn */
	rb_payload(&rb, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	rb_bitwise(&rb, NFT_REG_1, &syn_ack, &zero, 1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_NEQ, &syn, sizeof(syn));
	rb_verdict(&rb, NF_ACCEPT, NULL);
	batch_built_rule(bt, &rb, "tcp: all but a bare SYN goes on");
}

/* ct direction reply accept: replies are not new egress. */
static void batch_accept_replies(struct batch *bt, const char *chain)
{
	uint8_t reply = IP_CT_DIR_REPLY;
	struct rule_builder rb = { rule_new(chain), 0 };

	rb_ct_load(&rb, NFT_CT_DIRECTION, NFT_REG_1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &reply, sizeof(reply));
	rb_verdict(&rb, NF_ACCEPT, NULL);
	batch_built_rule(bt, &rb, "accept replies to incoming connections");
}

/* daddr . l4proto @exclusive_ipN counter goto refuse, for both families. */
static void batch_refuse_exclusive(struct batch *bt, const char *chain,
				   const char *whose, const char *to)
{
	char what[96];

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct rule_builder rb = { rule_new(chain), 0 };

		rb_nfproto(&rb, family);
		rb_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER,
			   daddr_offset(family), inet_addr_len(family),
			   NFT_REG32_00);
		rb_meta_load(&rb, NFT_META_L4PROTO,
			     NFT_REG32_00 + inet_addr_len(family) / 4);
		rb_lookup(&rb, f ? SET_EXCLUSIVE6 : SET_EXCLUSIVE4,
			  NFT_REG32_00, false);
		rb_counter(&rb, COUNTER_OTHERS);
		rb_verdict(&rb, NFT_GOTO, to);
		snprintf(what, sizeof(what),
			 "refuse %s IPv%d packets to exclusive destinations",
			 whose, f ? 6 : 4);
		batch_built_rule(bt, &rb, what);
	}
}

/*
 * Others' UDP to a broadcast or multicast address goes to chain xcast,
 * which refuses the exclusive services' ports: such a datagram reaches an
 * exclusive server's wildcard-bound socket without naming its address.
 * IPv4 asks the FIB (the subnet broadcast addresses are the local
 * interfaces'); IPv6 has no broadcast, and its multicast is ff00::/8.
 */
static void batch_xcast_jumps(struct batch *bt)
{
	static const uint32_t types[] = { RTN_BROADCAST, RTN_MULTICAST };
	uint8_t udp = IPPROTO_UDP, ff = 0xff;
	struct rule_builder rb;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct nftnl_expr *e;

		rb = (struct rule_builder){ rule_new(CHAIN_OUTPUT), 0 };
		rb_nfproto(&rb, AF_INET);
		rb_meta_load(&rb, NFT_META_L4PROTO, NFT_REG_1);
		rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &udp, sizeof(udp));
		e = rb_expr(&rb, "fib");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS,
					   NFTA_FIB_F_DADDR);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT,
					   NFT_FIB_RESULT_ADDRTYPE);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
			rb_add(&rb, e);
		}
		rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &types[i], sizeof(types[i]));
		rb_verdict(&rb, NFT_JUMP, CHAIN_XCAST);
		batch_built_rule(bt, &rb,
				 i ? "others' IPv4 multicast UDP to xcast" :
				     "others' IPv4 broadcast UDP to xcast");
	}
	rb = (struct rule_builder){ rule_new(CHAIN_OUTPUT), 0 };
	rb_nfproto(&rb, AF_INET6);
	rb_meta_load(&rb, NFT_META_L4PROTO, NFT_REG_1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &udp, sizeof(udp));
	rb_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, daddr_offset(AF_INET6), 1,
		   NFT_REG_1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &ff, sizeof(ff));
	rb_verdict(&rb, NFT_JUMP, CHAIN_XCAST);
	batch_built_rule(bt, &rb, "others' IPv6 multicast UDP to xcast");
}

/*
 * Chain refuse_others: the log rules of others' refusals at exclusive
 * destinations, then goto refuse. The lookups go there only when the log
 * is on (refused packets then pay for one more chain, allowed ones for
 * nothing).
 */
static void batch_refuse_others_chain(struct batch *bt,
				      const struct nft_log *log)
{
	struct emit_ctx ec = { bt, NFT_LOG_OTHERS };
	struct rule_builder rb;

	batch_chain_fresh(bt, CHAIN_REFUSE_OTHERS, NULL);
	if (log->on &&
	    log_rules(CHAIN_REFUSE_OTHERS, NFT_LOG_OTHERS, log,
		      COUNTER_OTHERS_LOGGED, emit_to_batch, &ec) < 0) {
		bt->oom = bt->oom ? bt->oom : -ENOMEM;
		return;
	}
	/*
	 * Also when the log is off: a chain that something still jumps to
	 * must never end without a verdict, or the packet would go on.
	 */
	rb = (struct rule_builder){ rule_new(CHAIN_REFUSE_OTHERS), 0 };
	rb_verdict(&rb, NFT_GOTO, CHAIN_REFUSE);
	batch_built_rule(bt, &rb, "then refuse");
}

/*
 * Others' log: on when an exclusive service that stays installed logs its
 * refusals, with the most generous of their rates and bursts.
 */
static void others_log_add(struct nft_log *others, bool exclusive,
			   const struct nft_log *log)
{
	if (!exclusive || !log->on)
		return;
	if (!others->on || (uint64_t)log->rate * others->unit >
				   (uint64_t)others->rate * log->unit) {
		others->rate = log->rate;
		others->unit = log->unit;
	}
	if (log->burst > others->burst)
		others->burst = log->burst;
	others->on = true;
}

/*
 * The base chains' rules, for the given sorted, distinct levels, and chain
 * xcast, which jumps to the xcast_NAME chain of each of the n_x exclusive
 * services named in xnames (those chains must exist by now).
 */
static void batch_output_rules(struct batch *bt, uint32_t mask, bool marks,
			       const uint32_t *levels, size_t n_levels,
			       char *const *xnames, size_t n_x,
			       const struct nft_log *others_log)
{
	const char *refuse_others = others_log->on ? CHAIN_REFUSE_OTHERS :
						     CHAIN_REFUSE;
	struct rule_builder rb;
	char map[64], what[96];

	batch_chain_fresh(bt, CHAIN_XCAST, NULL);
	for (size_t i = 0; i < n_x; i++) {
		_cleanup_free_ char *to = NULL;

		if (asprintf(&to, XCAST_CHAIN_PREFIX "%s", xnames[i]) < 0) {
			bt->oom = -ENOMEM;
			return;
		}
		rb = (struct rule_builder){ rule_new(CHAIN_XCAST), 0 };
		rb_verdict(&rb, NFT_JUMP, to);
		snprintf(what, sizeof(what), "jump %s", to);
		batch_built_rule(bt, &rb, what);
	}

	batch_base_chain(bt, CHAIN_OUTPUT, "route", NF_INET_LOCAL_OUT);
	batch_accept_continuations(bt);
	for (size_t i = 0; i < n_levels; i++) {
		cgroup_map_name(levels[i], map, sizeof(map));
		rb = (struct rule_builder){ rule_new(CHAIN_OUTPUT), 0 };
		rb_socket_cgroup(&rb, levels[i], NFT_REG_1);
		rb_lookup(&rb, map, NFT_REG_1, true);
		snprintf(what, sizeof(what),
			 "socket cgroupv2 level %" PRIu32 " vmap @%s",
			 levels[i], map);
		bt->next_op = FAIL_OP_SOCKET_CGROUP;
		batch_built_rule(bt, &rb, what);
	}

	/*
	 * Everyone else's packets leave with confine's field cleared, so a
	 * process that sets SO_MARK to a service's mark is not routed as
	 * that service. A packet that carried no such bits is unchanged and
	 * therefore not rerouted. Without services that have a mark (none
	 * has routing of its own) there is nothing to pose as, and every
	 * packet on the host is spared the rule.
	 */
	if (marks) {
		rb = (struct rule_builder){ rule_new(CHAIN_OUTPUT), 0 };
		rb_set_mark(&rb, mask, 0);
		batch_built_rule(bt, &rb,
				 "clear the mark field of unconfined packets");
	}
	/*
	 * Others' packets are looked at only when something is exclusive.
	 * Their replies to an exclusive destination (a local server that
	 * the exclusive host talks to) go on: only then does confine load
	 * connection tracking, which every packet of the host pays for.
	 */
	if (n_x) {
		batch_accept_replies(bt, CHAIN_OUTPUT);
		batch_refuse_exclusive(bt, CHAIN_OUTPUT, "others'",
				       refuse_others);
		batch_xcast_jumps(bt);
	}

	/*
	 * Forwarded packets never pass the output hook: a container or VM
	 * routed through this host would reach the exclusive destinations
	 * (masqueraded, with this host's address) as if from nowhere.
	 * Without exclusive destinations the chain goes (created first, so
	 * that deleting it works whether or not it was there), and forwarded
	 * traffic meets no hook of confine's.
	 */
	batch_base_chain(bt, CHAIN_FORWARD, "filter", NF_INET_FORWARD);
	if (n_x) {
		batch_accept_replies(bt, CHAIN_FORWARD);
		batch_refuse_exclusive(bt, CHAIN_FORWARD, "forwarded",
				       refuse_others);
	} else {
		batch_del_chain(bt, CHAIN_FORWARD);
	}
}

/*
 * The destinations a service holds exclusively: its Allow= prefixes, the
 * ones inside another of its own dropped, since the set refuses overlaps.
 */
static int service_exclusive(const struct nft_service_spec *svc,
			     struct nft_exclusive **out, size_t *n_out)
{
	struct nft_exclusive *x;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (!svc->exclusive)
		return 0;
	x = calloc(svc->n_allows, sizeof(*x));
	if (!x)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_allows; i++) {
		struct nft_exclusive cand = {
			.range = prefix_range(&svc->allows[i].dst),
		};
		bool covered = false;

		snprintf(cand.owner, sizeof(cand.owner), "%s", svc->name);
		for (size_t j = 0; j < n && !covered; j++)
			covered = range_contains(&x[j].range, &cand.range);
		if (covered)
			continue;
		/* Drop earlier ones this one covers. */
		for (size_t j = 0; j < n;) {
			if (range_contains(&cand.range, &x[j].range))
				x[j] = x[--n];
			else
				j++;
		}
		x[n++] = cand;
	}
	*out = x;
	*n_out = n;
	return 0;
}

static int add_level(uint32_t **levels, size_t *n, uint32_t level)
{
	uint32_t *l;

	for (size_t i = 0; i < *n; i++)
		if ((*levels)[i] == level)
			return 0;
	l = realloc(*levels, (*n + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	l[(*n)++] = level;
	*levels = l;
	return 0;
}

/* Chain xcast_NAME of an exclusive service, filled; an exclusive one. */
static int batch_xcast_chain(struct batch *bt,
			     const struct nft_service_spec *svc)
{
	_cleanup_free_ char *chain = NULL;
	struct emit_ctx ec = { bt, svc->name };

	if (asprintf(&chain, XCAST_CHAIN_PREFIX "%s", svc->name) < 0)
		return -ENOMEM;
	batch_chain_fresh(bt, chain, NULL);
	return xcast_rules(svc, emit_to_batch, &ec);
}

static void batch_del_xcast_chain(struct batch *bt, const char *name)
{
	_cleanup_free_ char *chain = NULL;

	if (asprintf(&chain, XCAST_CHAIN_PREFIX "%s", name) < 0) {
		bt->oom = -ENOMEM;
		return;
	}
	batch_del_chain(bt, chain);
}

static int add_name(char ***names, size_t *n, char *name)
{
	char **grown = realloc(*names, (*n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	grown[(*n)++] = name;
	*names = grown;
	return 0;
}

static const char *spec_name(const void *specs, size_t i)
{
	return ((const struct nft_service_spec *)specs)[i].name;
}

static const char *listed_name(const void *names, size_t i)
{
	return ((char *const *)names)[i];
}

/* Maps the names of items to their positions (a repeated name once). */
static int map_names(struct name_map *m, const void *items, size_t n,
		     name_of_fn name_of)
{
	for (size_t i = 0; i < n; i++) {
		int r = name_map_add(m, items, name_of, i, NULL);

		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

static const struct nft_service_spec *
spec_find(const struct name_map *m, const struct nft_service_spec *specs,
	  const char *name)
{
	ssize_t at = name_map_find(m, specs, spec_name, name);

	return at < 0 ? NULL : &specs[at];
}

/* svc_NAME, fresh; its comment is set only when the chain is new. */
static int batch_service_chain(struct batch *bt, uint32_t mask,
			       const struct nft_service_spec *svc,
			       const struct nft_service *installed)
{
	_cleanup_free_ char *chain = service_chain(svc->name);
	struct nft_chain_comment cc = { .mark_value = svc->mark_value,
					.mask = mask,
					.table = svc->table,
					.exclusive = svc->exclusive,
					.digest = svc->digest,
					.log = svc->log };
	char comment[NFTNL_UDATA_COMMENT_MAXLEN];
	struct emit_ctx ec = { bt, svc->name };
	int r;

	if (!chain)
		return -ENOMEM;
	snprintf(cc.name, sizeof(cc.name), "%s", svc->name);
	r = nft_comment_format(&cc, comment, sizeof(comment));
	if (r < 0)
		return r;
	batch_chain_fresh(
		bt, chain,
		installed && installed->digest == svc->digest ? NULL : comment);
	return service_rules(svc, mask, emit_to_batch, &ec);
}

/* The installed cgroup maps of levels that none of levels[] uses any more. */
static void batch_drop_unused_maps(struct batch *bt,
				   const struct nft_state *installed,
				   const uint32_t *levels, size_t n_levels)
{
	for (size_t i = 0; i < installed->n_levels; i++) {
		bool used = false;

		for (size_t j = 0; j < n_levels && !used; j++)
			used = levels[j] == installed->levels[i];
		if (!used)
			batch_cgroup_map(bt, NFT_MSG_DELSET,
					 installed->levels[i]);
	}
}

int nft_apply(struct nft *n, uint32_t mark_mask,
	      const struct nft_service_spec *specs, size_t n_specs,
	      const struct nft_state *installed, struct failure *fail)
{
	_cleanup_free_ uint32_t *levels = NULL;
	_cleanup_free_ char **xnames = NULL;
	_cleanup_(name_map_free) struct name_map by_name = { 0 };
	size_t n_levels = 0, n_x = 0;
	struct nft_log others_log = { 0 };
	bool marks = false; /* a service has routing of its own */
	struct batch bt;
	int r;

	if (map_names(&by_name, specs, n_specs, spec_name) < 0)
		return -ENOMEM;
	/* Levels in use afterwards: the given services' and the others'. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (spec_find(&by_name, specs, s->name))
			continue;
		marks |= s->mark_value != 0;
		others_log_add(&others_log, s->exclusive, &s->log);
		for (size_t j = 0; j < s->n_cgroups; j++)
			if (add_level(&levels, &n_levels, s->cgroups[j].level))
				return -ENOMEM;
	}
	for (size_t i = 0; i < n_specs; i++) {
		marks |= specs[i].mark_value != 0;
		others_log_add(&others_log, specs[i].exclusive, &specs[i].log);
		for (size_t j = 0; j < specs[i].n_cgroups; j++)
			if (add_level(&levels, &n_levels,
				      specs[i].cgroups[j].level))
				return -ENOMEM;
	}
	if (n_levels)
		qsort(levels, n_levels, sizeof(*levels), cmp_u32);

	r = batch_init(&bt, n);
	if (r < 0)
		return r;

	batch_table(&bt, NFT_MSG_NEWTABLE, NFT_TABLE_NAME);
	batch_exclusive_set(&bt, AF_INET);
	batch_exclusive_set(&bt, AF_INET6);
	if (!installed->table_present)
		batch_counter(&bt, NFT_MSG_NEWOBJ, COUNTER_OTHERS);
	if (!installed->has_others_logged)
		batch_counter(&bt, NFT_MSG_NEWOBJ, COUNTER_OTHERS_LOGGED);
	batch_refuse_chain(&bt);
	/* Before the xcast_NAME chains, which go there. */
	batch_refuse_others_chain(&bt, &others_log);
	for (size_t i = 0; i < n_levels; i++)
		batch_cgroup_map(&bt, NFT_MSG_NEWSET, levels[i]);

	/* Take the given services out as they are installed now. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];
		const struct nft_service_spec *spec =
			spec_find(&by_name, specs, s->name);
		_cleanup_free_ char *chain = NULL;

		if (!spec)
			continue;
		for (size_t j = 0; j < s->n_cgroups; j++)
			batch_cgroup_elem(&bt, NFT_MSG_DELSETELEM,
					  &s->cgroups[j], s->name);
		/*
		 * A chain's comment cannot be changed in place: a service
		 * whose comment changes gets a new chain. An unchanged one
		 * keeps its chain, only refilled, so a repeated apply leaves
		 * the ruleset exactly as it was.
		 */
		if (s->digest == spec->digest)
			continue;
		chain = service_chain(s->name);
		if (!chain) {
			r = -ENOMEM;
			goto out;
		}
		batch_del_chain(&bt, chain);
	}
	for (size_t i = 0; i < installed->n_exclusive; i++)
		if (spec_find(&by_name, specs, installed->exclusive[i].owner))
			batch_exclusive_elem(&bt, NFT_MSG_DELSETELEM,
					     &installed->exclusive[i]);

	/* Put them back as given. */
	for (size_t i = 0; i < n_specs; i++) {
		const struct nft_service_spec *svc = &specs[i];
		_cleanup_free_ struct nft_exclusive *x = NULL;
		const struct nft_service *is =
			nft_state_find(installed, svc->name);
		size_t n_excl;

		if (!is)
			batch_service_counters(&bt, NFT_MSG_NEWOBJ, svc->name,
					       base_counters,
					       ARRAY_SIZE(base_counters));
		if (!is || !is->has_logged_counter)
			batch_service_counters(&bt, NFT_MSG_NEWOBJ, svc->name,
					       log_counters,
					       ARRAY_SIZE(log_counters));
		r = batch_service_chain(&bt, mark_mask, svc, is);
		if (r < 0)
			goto out;
		if (svc->exclusive) {
			r = batch_xcast_chain(&bt, svc);
			if (r == 0)
				r = add_name(&xnames, &n_x, (char *)svc->name);
			if (r < 0)
				goto out;
		}
		for (size_t j = 0; j < svc->n_cgroups; j++)
			batch_cgroup_elem(&bt, NFT_MSG_NEWSETELEM,
					  &svc->cgroups[j], svc->name);

		r = service_exclusive(svc, &x, &n_excl);
		if (r < 0)
			goto out;
		for (size_t j = 0; j < n_excl; j++) {
			for (size_t k = 0; k < installed->n_exclusive; k++) {
				const struct nft_exclusive *o =
					&installed->exclusive[k];

				if (spec_find(&by_name, specs, o->owner) ||
				    !range_overlaps(&x[j].range, &o->range))
					continue;
				failure_set(fail,
					    "make service %s exclusive: its "
					    "destinations overlap those held "
					    "exclusively by installed service "
					    "%s",
					    svc->name, o->owner);
				r = -EEXIST;
				goto out;
			}
			batch_exclusive_elem(&bt, NFT_MSG_NEWSETELEM, &x[j]);
		}
	}

	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (s->exclusive && !spec_find(&by_name, specs, s->name) &&
		    add_name(&xnames, &n_x, (char *)s->name) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	batch_output_rules(&bt, mark_mask, marks, levels, n_levels, xnames, n_x,
			   &others_log);
	/* Now that chain xcast no longer jumps there. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];
		const struct nft_service_spec *svc =
			spec_find(&by_name, specs, s->name);

		if (s->exclusive && svc && !svc->exclusive)
			batch_del_xcast_chain(&bt, s->name);
	}

	batch_drop_unused_maps(&bt, installed, levels, n_levels);

	r = batch_send(n, &bt, fail);
out:
	batch_free(&bt);
	return r;
}

static bool name_listed(const struct name_map *m, char *const *names,
			const char *name)
{
	return name_map_find(m, names, listed_name, name) >= 0;
}

int nft_remove(struct nft *n, const struct nft_state *installed,
	       char *const *names, size_t n_names, struct failure *fail)
{
	_cleanup_free_ uint32_t *levels = NULL;
	_cleanup_free_ char **xnames = NULL;
	_cleanup_(name_map_free) struct name_map listed = { 0 };
	size_t n_levels = 0, remaining = 0, n_x = 0;
	struct nft_log others_log = { 0 };
	bool marks = false;
	struct batch bt;
	int r;

	if (!installed->table_present)
		return 0;
	if (map_names(&listed, names, n_names, listed_name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (n_names && name_listed(&listed, names, s->name))
			continue;
		remaining++;
		marks |= s->mark_value != 0;
		others_log_add(&others_log, s->exclusive, &s->log);
		if (s->exclusive &&
		    add_name(&xnames, &n_x, (char *)s->name) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < s->n_cgroups; j++)
			if (add_level(&levels, &n_levels, s->cgroups[j].level))
				return -ENOMEM;
	}
	if (n_levels)
		qsort(levels, n_levels, sizeof(*levels), cmp_u32);

	r = batch_init(&bt, n);
	if (r < 0)
		return r;
	if (!n_names || !remaining) {
		/* Nothing of confine's stays: the table goes as a whole. */
		batch_table(&bt, NFT_MSG_DELTABLE, NFT_TABLE_NAME);
		goto send;
	}
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];
		_cleanup_free_ char *chain = service_chain(s->name);

		if (!chain) {
			r = -ENOMEM;
			goto out;
		}
		if (!name_listed(&listed, names, s->name))
			continue;
		for (size_t j = 0; j < s->n_cgroups; j++)
			batch_cgroup_elem(&bt, NFT_MSG_DELSETELEM,
					  &s->cgroups[j], s->name);
		batch_del_chain(&bt, chain);
		batch_service_counters(&bt, NFT_MSG_DELOBJ, s->name,
				       base_counters,
				       ARRAY_SIZE(base_counters));
		if (s->has_logged_counter)
			batch_service_counters(&bt, NFT_MSG_DELOBJ, s->name,
					       log_counters,
					       ARRAY_SIZE(log_counters));
	}
	for (size_t i = 0; i < installed->n_exclusive; i++)
		if (name_listed(&listed, names, installed->exclusive[i].owner))
			batch_exclusive_elem(&bt, NFT_MSG_DELSETELEM,
					     &installed->exclusive[i]);
	batch_refuse_others_chain(&bt, &others_log);
	batch_output_rules(&bt, installed->mark_mask, marks, levels, n_levels,
			   xnames, n_x, &others_log);
	/* Now that chain xcast no longer jumps there. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (s->exclusive && name_listed(&listed, names, s->name))
			batch_del_xcast_chain(&bt, s->name);
	}
	batch_drop_unused_maps(&bt, installed, levels, n_levels);
send:
	r = batch_send(n, &bt, fail);
out:
	batch_free(&bt);
	return r;
}

/* ---- comparing a chain with what confine installs --------------------- */

struct printed {
	char **rules;
	size_t n;
	int err;
};

/*
 * A rule as text, without what the kernel adds (handle, position) or
 * what the batch sets (id): what is left is what it does.
 */
static int print_into(struct nftnl_rule *rule, const char *what, void *ctx)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *r = rule;
	struct printed *p = ctx;
	char buf[4096], **grown;

	nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
	nftnl_rule_unset(r, NFTNL_RULE_POSITION);
	nftnl_rule_unset(r, NFTNL_RULE_ID);
	nftnl_rule_snprintf(buf, sizeof(buf), r, NFTNL_OUTPUT_DEFAULT, 0);
	grown = realloc(p->rules, (p->n + 1) * sizeof(*grown));
	if (!grown || !(grown[p->n] = strdup(buf))) {
		if (grown)
			p->rules = grown;
		p->err = -ENOMEM;
		return -ENOMEM;
	}
	p->rules = grown;
	p->n++;
	return 0;
}

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	return print_into(r, NULL, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static void build_rule_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NFT_TABLE_NAME);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, arg);
}

static void printed_free(struct printed *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->rules[i]);
	free(p->rules);
}

/* One chain's rules as text, in a rules_snapshot. */
struct printed_chain {
	char *name;
	struct printed rules;
};

struct rules_snapshot {
	struct printed_chain *chains;
	size_t n;
	struct name_map by_name;
	int err;
};

static const char *printed_chain_name(const void *chains, size_t i)
{
	return ((const struct printed_chain *)chains)[i].name;
}

static int snapshot_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rules_snapshot *snap = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct printed_chain *grown;
	const char *chain;
	ssize_t at;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    !(chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN))) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	at = name_map_find(&snap->by_name, snap->chains, printed_chain_name,
			   chain);
	if (at < 0) {
		grown = realloc(snap->chains, (snap->n + 1) * sizeof(*grown));
		if (!grown || !(grown[snap->n].name = strdup(chain))) {
			if (grown)
				snap->chains = grown;
			nftnl_rule_free(r);
			snap->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		snap->chains = grown;
		snap->chains[snap->n].rules = (struct printed){ 0 };
		at = (ssize_t)snap->n++;
		if (name_map_add(&snap->by_name, snap->chains,
				 printed_chain_name, (size_t)at, NULL) < 0) {
			nftnl_rule_free(r);
			snap->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
	}
	return print_into(r, NULL, &snap->chains[at].rules) < 0 ? MNL_CB_ERROR :
								  MNL_CB_OK;
}

static void build_table_rule_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NFT_TABLE_NAME);
}

void nft_forget_rules(struct nft *n)
{
	struct rules_snapshot *snap = n->rules;

	if (!snap)
		return;
	for (size_t i = 0; i < snap->n; i++) {
		free(snap->chains[i].name);
		printed_free(&snap->chains[i].rules);
	}
	free(snap->chains);
	name_map_free(&snap->by_name);
	free(snap);
	n->rules = NULL;
}

int nft_read_rules(struct nft *n, struct failure *fail)
{
	struct rules_snapshot *snap = calloc(1, sizeof(*snap));
	int r;

	if (!snap)
		return -ENOMEM;
	nft_forget_rules(n);
	n->rules = snap;
	r = nft_dump(n, NFT_MSG_GETRULE, build_table_rule_filter, NULL,
		     snapshot_rule_cb, snap, fail,
		     "list the rules of table inet " NFT_TABLE_NAME);
	if (r == 0 && snap->err)
		r = snap->err;
	if (r == -ENOENT)
		r = 0; /* no table: no rules */
	if (r < 0)
		nft_forget_rules(n);
	return r;
}

int nft_service_rules_differ(struct nft *n, uint32_t mark_mask,
			     const struct nft_service_spec *spec, size_t *at,
			     struct failure *fail)
{
	_cleanup_free_ char *chain = service_chain(spec->name);
	struct printed want = { 0 }, have = { 0 };
	const struct printed *cmp = &have;
	int r;

	if (!chain)
		return -ENOMEM;
	r = service_rules(spec, mark_mask, print_into, &want);
	if (r == 0 && n->rules) {
		static const struct printed none;
		ssize_t i = name_map_find(&n->rules->by_name, n->rules->chains,
					  printed_chain_name, chain);

		cmp = i < 0 ? &none : &n->rules->chains[i].rules;
	} else if (r == 0) {
		r = nft_dump(n, NFT_MSG_GETRULE, build_rule_filter, chain,
			     rule_dump_cb, &have, fail,
			     "list the rules of chain svc_NAME");
	}
	if (r == 0 && (want.err || have.err))
		r = -ENOMEM;
	if (r == 0) {
		size_t i = 0;

		while (i < want.n && i < cmp->n &&
		       strcmp(want.rules[i], cmp->rules[i]) == 0)
			i++;
		*at = i;
		r = i == want.n && i == cmp->n ? 0 : 1;
	}
	printed_free(&want);
	printed_free(&have);
	return r;
}
