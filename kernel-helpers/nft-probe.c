// SPDX-License-Identifier: GPL-2.0-or-later
/* What `confine doctor` asks nf_tables; see nft-probe.h. */

#include <errno.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "common/cleanup.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nft-internal.h"
#include "kernel-helpers/nft-probe.h"

#define PROBE_TABLE "confine_probe"

/* Large enough for the kernel's biggest dump message (32 KiB). */
#define DUMP_BUFFER_SIZE 32768

static void probe_chain(struct batch *bt)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *c =
		nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, PROBE_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "output");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "route");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NF_IP_PRI_MANGLE);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE,
			"add chain inet " PROBE_TABLE " output");
	if (!nlh)
		return;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_next(bt);
}

static void probe_rule(struct batch *bt)
{
	struct rule_builder rb = { .rule = rule_new("output") };
	const uint64_t zero = 0;
	struct nlmsghdr *nlh;

	if (!rb.rule) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_rule_set_str(rb.rule, NFTNL_RULE_TABLE, PROBE_TABLE);
	rb_socket_cgroup(&rb, 1, NFT_REG_1);
	rb_cmp(&rb, NFT_REG_1, NFT_CMP_EQ, &zero, sizeof(zero));
	if (rb.err) {
		bt->oom = rb.err;
		nftnl_rule_free(rb.rule);
		return;
	}
	bt->next_op = FAIL_OP_SOCKET_CGROUP;
	nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			"add rule socket cgroupv2 level 1 to chain inet "
			"%s output",
			PROBE_TABLE);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, rb.rule);
		batch_next(bt);
	}
	nftnl_rule_free(rb.rule);
}

int nft_probe_socket_cgroup(struct nft *n, struct failure *fail)
{
	struct batch bt;
	int r;

	r = batch_init(&bt, n);
	if (r == 0) {
		batch_table(&bt, NFT_MSG_NEWTABLE, PROBE_TABLE);
		probe_chain(&bt);
		probe_rule(&bt);
		r = batch_send(n, &bt, fail);
	}
	batch_free(&bt);
	if (r < 0)
		return r;
	/*
	 * A second batch: a table added and deleted in one transaction
	 * would not have its chains validated against their hooks.
	 */
	r = batch_init(&bt, n);
	if (r == 0) {
		batch_table(&bt, NFT_MSG_DELTABLE, PROBE_TABLE);
		r = batch_send(n, &bt, fail);
	}
	batch_free(&bt);
	return r;
}

const char *nft_family_name(uint32_t family)
{
	switch (family) {
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_ARP:
		return "arp";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	default:
		return "?";
	}
}

/*
 * What each register holds, as far as a mark is concerned: the packet's
 * mark with the bits in `changed` altered, or anything else (known false).
 * Registers are counted in 32-bit units: NFT_REG_1 to NFT_REG_4 are 16
 * bytes each, NFT_REG32_00 to NFT_REG32_15 four.
 */
#define N_REG32 16
struct reg_state {
	bool known[N_REG32];
	uint32_t changed[N_REG32];
};

static int reg32_index(uint32_t reg)
{
	if (reg >= NFT_REG32_00 && reg < NFT_REG32_00 + N_REG32)
		return (int)(reg - NFT_REG32_00);
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return (int)(reg - NFT_REG_1) * 4;
	return -1;
}

/* A write to reg of something that is not the mark. */
static void reg_clobber(struct reg_state *s, uint32_t reg)
{
	int i = reg32_index(reg);
	int width = reg >= NFT_REG_1 && reg <= NFT_REG_4 ? 4 : 1;

	for (int k = 0; i >= 0 && k < width && i + k < N_REG32; k++)
		s->known[i + k] = false;
}

static void reg_set_mark(struct reg_state *s, uint32_t reg, uint32_t changed)
{
	int i = reg32_index(reg);

	reg_clobber(s, reg);
	if (i >= 0) {
		s->known[i] = true;
		s->changed[i] = changed;
	}
}

/* The bits a value from reg would change in the mark. */
static uint32_t reg_changed(const struct reg_state *s, uint32_t reg)
{
	int i = reg32_index(reg);

	return i >= 0 && s->known[i] ? s->changed[i] : 0xffffffff;
}

/* The destination register attribute of the expressions that have one. */
static const struct {
	const char *name;
	uint16_t dreg;
} dregs[] = {
	{ "immediate", NFTNL_EXPR_IMM_DREG },
	{ "meta", NFTNL_EXPR_META_DREG },
	{ "ct", NFTNL_EXPR_CT_DREG },
	{ "payload", NFTNL_EXPR_PAYLOAD_DREG },
	{ "bitwise", NFTNL_EXPR_BITWISE_DREG },
	{ "lookup", NFTNL_EXPR_LOOKUP_DREG },
	{ "exthdr", NFTNL_EXPR_EXTHDR_DREG },
	{ "rt", NFTNL_EXPR_RT_DREG },
	{ "socket", NFTNL_EXPR_SOCKET_DREG },
	{ "fib", NFTNL_EXPR_FIB_DREG },
	{ "hash", NFTNL_EXPR_HASH_DREG },
	{ "numgen", NFTNL_EXPR_NG_DREG },
	{ "byteorder", NFTNL_EXPR_BYTEORDER_DREG },
	{ "osf", NFTNL_EXPR_OSF_DREG },
	{ "xfrm", NFTNL_EXPR_XFRM_DREG },
};

/* xt_mark_tginfo2, the MARK target's revision 2 (--set-xmark). */
struct xt_mark_v2 {
	uint32_t mark, mask;
};

/*
 * Whether expression e sets the mark, and which bits; otherwise records
 * what it leaves in the registers.
 */
static bool expr_sets_mark(struct nftnl_expr *e, struct reg_state *s,
			   uint32_t *bits, const char **how)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!name)
		return false;
	if (strcmp(name, "meta") == 0 &&
	    nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_MARK) {
		if (nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG)) {
			*bits = reg_changed(
				s, nftnl_expr_get_u32(e, NFTNL_EXPR_META_SREG));
			*how = "meta mark set";
			return true;
		}
		reg_set_mark(s, nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG), 0);
		return false;
	}
	if (strcmp(name, "bitwise") == 0 &&
	    nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_LEN) == 4 &&
	    (!nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP) ||
	     nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP) ==
		     NFT_BITWISE_BOOL)) {
		uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG);
		uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG);
		uint32_t len = 0, mask = 0, xor = 0;
		const void *m =
			nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
		const void *x;
		int i = reg32_index(sreg);

		if (m && len == 4)
			memcpy(&mask, m, 4);
		x = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_XOR, &len);
		if (x && len == 4)
			memcpy(&xor, x, 4);
		if (i >= 0 && s->known[i])
			reg_set_mark(s, dreg, s->changed[i] | ~mask | xor);
		else
			reg_clobber(s, dreg);
		return false;
	}
	if (strcmp(name, "target") == 0) {
		const char *tg = nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME);
		uint32_t len = 0;
		const void *info = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &len);
		struct xt_mark_v2 mk;

		if (!tg || (strcmp(tg, "MARK") && strcmp(tg, "CONNMARK")))
			return false;
		*how = strcmp(tg, "MARK") == 0 ? "iptables MARK target" :
						 "iptables CONNMARK target";
		*bits = 0xffffffff;
		if (strcmp(tg, "MARK") == 0 && info && len >= sizeof(mk) &&
		    nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV) == 2) {
			memcpy(&mk, info, sizeof(mk));
			*bits = mk.mask | mk.mark;
		}
		return true;
	}
	for (size_t k = 0; k < ARRAY_SIZE(dregs); k++)
		if (strcmp(name, dregs[k].name) == 0 &&
		    nftnl_expr_is_set(e, dregs[k].dreg))
			reg_clobber(s, nftnl_expr_get_u32(e, dregs[k].dreg));
	return false;
}

struct setter_list {
	struct nft_mark_setter *items;
	size_t n;
	int err;
};

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *r = nftnl_rule_alloc();
	struct setter_list *list = data;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	struct reg_state regs = { 0 };
	const char *table, *chain;
	uint32_t family;

	if (!r) {
		list->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		return MNL_CB_OK;
	family = nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (!table || !chain ||
	    (family == NFPROTO_INET && strcmp(table, NFT_TABLE_NAME) == 0))
		return MNL_CB_OK;
	it = nftnl_expr_iter_create(r);
	if (!it) {
		list->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	while ((e = nftnl_expr_iter_next(it))) {
		struct nft_mark_setter *grown, *m;
		const char *how = NULL;
		uint32_t bits = 0;

		if (!expr_sets_mark(e, &regs, &bits, &how))
			continue;
		grown = realloc(list->items, (list->n + 1) * sizeof(*grown));
		if (!grown) {
			list->err = -ENOMEM;
			break;
		}
		list->items = grown;
		m = &list->items[list->n++];
		*m = (struct nft_mark_setter){
			.family = family,
			.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE),
			.bits = bits,
			.how = how,
		};
		snprintf(m->table, sizeof(m->table), "%s", table);
		snprintf(m->chain, sizeof(m->chain), "%s", chain);
	}
	nftnl_expr_iter_destroy(it);
	return list->err ? MNL_CB_ERROR : MNL_CB_OK;
}

int nft_mark_setters(struct nft *n, struct nft_mark_setter **out, size_t *n_out,
		     struct failure *fail)
{
	_cleanup_free_ char *buf = malloc(DUMP_BUFFER_SIZE);
	struct setter_list list = { 0 };
	struct nlmsghdr *nlh;
	uint32_t seq;
	int r;

	if (!buf)
		return -ENOMEM;
	seq = n->seq++;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_UNSPEC,
				    NLM_F_DUMP | NLM_F_ACK, seq);
	r = nl_talk(n->nl, n->portid, nlh, seq, buf, DUMP_BUFFER_SIZE, rule_cb,
		    &list, fail ? fail->kernel_msg : NULL,
		    fail ? sizeof(fail->kernel_msg) : 0);
	if (r == 0 && list.err)
		r = list.err;
	if (r < 0) {
		failure_set(fail, "list the nf_tables rules of every table");
		free(list.items);
		return r;
	}
	*out = list.items;
	*n_out = list.n;
	return 0;
}
