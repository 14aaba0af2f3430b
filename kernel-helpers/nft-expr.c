// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nf_tables expressions, built with libnftnl: the encoders that the
 * ruleset's rules are made of (see nft-internal.h).
 */

#include <arpa/inet.h>
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
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nft-internal.h"

struct nftnl_expr *rb_expr(struct rule_builder *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e)
		rb->err = -ENOMEM;
	return e;
}

/* The rule takes the expression. */
void rb_add(struct rule_builder *rb, struct nftnl_expr *e)
{
	if (e)
		nftnl_rule_add_expr(rb->rule, e);
}

void rb_meta_load(struct rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	rb_add(rb, e);
}

void rb_ct_load(struct rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	rb_add(rb, e);
}

void rb_cmp(struct rule_builder *rb, uint32_t reg, uint32_t op,
	    const void *data, size_t len)
{
	struct nftnl_expr *e = rb_expr(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	rb_add(rb, e);
}

void rb_payload(struct rule_builder *rb, uint32_t base, uint32_t offset,
		uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	rb_add(rb, e);
}

void rb_bitwise(struct rule_builder *rb, uint32_t reg, const void *mask,
		const void * xor, size_t len)
{
	struct nftnl_expr *e = rb_expr(rb, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	rb_add(rb, e);
}

void rb_verdict(struct rule_builder *rb, int verdict, const char *chain)
{
	struct nftnl_expr *e = rb_expr(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	rb_add(rb, e);
}

void rb_counter(struct rule_builder *rb, const char *name)
{
	struct nftnl_expr *e = rb_expr(rb, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	rb_add(rb, e);
}

void rb_lookup(struct rule_builder *rb, const char *set, uint32_t sreg,
	       bool verdict_map)
{
	struct nftnl_expr *e = rb_expr(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (verdict_map)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	rb_add(rb, e);
}

void rb_socket_cgroup(struct rule_builder *rb, uint32_t level, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "socket");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_CGROUPV2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, level);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, dreg);
	rb_add(rb, e);
}

void rb_reject(struct rule_builder *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = rb_expr(rb, "reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	rb_add(rb, e);
}

/* meta mark set (meta mark & ~mask) | value, value already shifted. */
void rb_set_mark(struct rule_builder *rb, uint32_t mask, uint32_t value)
{
	uint32_t keep = ~mask;
	struct nftnl_expr *e;

	rb_meta_load(rb, NFT_META_MARK, NFT_REG_1);
	rb_bitwise(rb, NFT_REG_1, &keep, &value, sizeof(value));
	e = rb_expr(rb, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	rb_add(rb, e);
}

void rb_nfproto(struct rule_builder *rb, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	rb_meta_load(rb, NFT_META_NFPROTO, NFT_REG_1);
	rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &proto, sizeof(proto));
}

/* Offset of the destination address in the network header. */
uint32_t daddr_offset(int family)
{
	return family == AF_INET ? 16 : 24;
}

void rb_match_allow(struct rule_builder *rb, const struct nft_allow *a)
{
	int family = a->dst.family;
	size_t alen = inet_addr_len(family);

	rb_nfproto(rb, family);
	if (a->l4proto) {
		rb_meta_load(rb, NFT_META_L4PROTO, NFT_REG_1);
		rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &a->l4proto,
		       sizeof(a->l4proto));
	}
	rb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, daddr_offset(family), alen,
		   NFT_REG_1);
	if (a->dst.len < alen * 8) {
		uint8_t mask[16], zero[16] = { 0 };

		prefix_mask(&a->dst, mask);
		rb_bitwise(rb, NFT_REG_1, mask, zero, alen);
	}
	rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, a->dst.addr.bytes, alen);
	if (a->port_min) {
		uint16_t lo = htons(a->port_min), hi = htons(a->port_max);

		rb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		if (a->port_min == a->port_max) {
			rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &lo, sizeof(lo));
		} else {
			rb_cmp(rb, NFT_REG_1, NFT_CMP_GTE, &lo, sizeof(lo));
			rb_cmp(rb, NFT_REG_1, NFT_CMP_LTE, &hi, sizeof(hi));
		}
	}
}

struct nftnl_rule *rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

/* meta oifname NAME, the name zero-padded as the kernel compares it. */
void rb_oifname(struct rule_builder *rb, const char *name)
{
	char padded[IF_NAMESIZE] = { 0 };

	snprintf(padded, sizeof(padded), "%s", name);
	rb_meta_load(rb, NFT_META_OIFNAME, NFT_REG_1);
	rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, padded, sizeof(padded));
}

void rb_limit(struct rule_builder *rb, uint32_t rate, uint32_t unit,
	      uint32_t burst)
{
	struct nftnl_expr *e = rb_expr(rb, "limit");

	if (!e)
		return;
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, unit);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
	rb_add(rb, e);
}

/*
 * Level warning (4), as iptables' LOG target by default: what syslog
 * daemons and log analysers expect of firewall lines.
 */
void rb_log_syslog(struct rule_builder *rb, const char *prefix)
{
	struct nftnl_expr *e = rb_expr(rb, "log");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_LEVEL, 4);
	rb_add(rb, e);
}

void rb_log_group(struct rule_builder *rb, uint16_t group, uint32_t snaplen,
		  const char *prefix)
{
	struct nftnl_expr *e = rb_expr(rb, "log");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, snaplen);
	rb_add(rb, e);
}
