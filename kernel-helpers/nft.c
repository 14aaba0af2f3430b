// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine's nf_tables table, built with libnftnl and sent with libmnl.
 * See nft.h for the shape of the ruleset.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
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

#include "kernel-helpers/cleanup.h"
#include "kernel-helpers/netlink.h"
#include "kernel-helpers/nft.h"

#define CHAIN_OUTPUT "output"
#define CHAIN_REFUSE "refuse"
#define CHAIN_FORWARD "forward"
#define CHAIN_XCAST "xcast"
#define XCAST_CHAIN_PREFIX "xcast_"
#define SERVICE_CHAIN_PREFIX "svc_"
#define CGROUP_MAP_PREFIX "cgroup_level_"
#define SET_EXCLUSIVE4 "exclusive_ip4"
#define SET_EXCLUSIVE6 "exclusive_ip6"
#define COUNTER_OTHERS "others_refused"
#define COMMENT_TAG "confine"

/* nftables' datatype numbers, so that `nft list` shows the sets' keys. */
#define NFT_TYPE_VERDICT 1
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_PROTOCOL 12
#define NFT_TYPE_CGROUPV2 46
#define NFT_TYPE_BITS 6
#define NFT_BYTEORDER_HOST 1

/* From the kernel's internal headers, stable ABI values. */
#define NF_IP_PRI_MANGLE (-150)
#define IP_CT_DIR_REPLY 1

/*
 * One batch is one transaction, so it is never split: a policy that needs
 * more than this is refused with E2BIG. 16 MiB is thousands of services.
 */
#define BATCH_LIMIT (16 * 1024 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_rule *, nftnl_rule_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_chain *, nftnl_chain_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_set *, nftnl_set_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_set_elem *, nftnl_set_elem_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_table *, nftnl_table_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_obj *, nftnl_obj_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_udata_buf *, nftnl_udata_buf_free)

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

int nft_open(struct nft **out, struct failure *fail)
{
	_cleanup_free_ struct nft *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	r = nl_open(NETLINK_NETFILTER, &n->nl, &n->portid);
	if (r < 0) {
		failure_set(fail, "open nf_tables netlink socket");
		return r;
	}
	n->seq = time(NULL);
	*out = TAKE_PTR(n);
	return 0;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	mnl_socket_close(n->nl);
	free(n);
}

/* ---- batches --------------------------------------------------------- */

/*
 * One nfnetlink transaction. Every message asks for an ACK and has its
 * description kept by sequence number, so that an error is reported with
 * the object the kernel refused, not just an errno.
 */
struct batch {
	char *buf;
	struct mnl_nlmsg_batch *b;
	uint32_t first_seq, seq;
	char **what; /* indexed by seq - first_seq */
	size_t n_what, cap_what;
	bool overflow;
	int oom;
};

static void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	for (size_t i = 0; i < bt->n_what; i++)
		free(bt->what[i]);
	free(bt->what);
}

static int batch_init(struct batch *bt, struct nft *n)
{
	*bt = (struct batch){ 0 };
	/* libmnl may write one message past the limit before refusing it. */
	bt->buf = malloc(BATCH_LIMIT + MNL_SOCKET_BUFFER_SIZE);
	if (!bt->buf)
		return -ENOMEM;
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_LIMIT);
	if (!bt->b)
		return -ENOMEM;
	bt->seq = n->seq;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	bt->first_seq = bt->seq;
	return 0;
}

/* Starts a message; the caller fills it and calls batch_commit_msg(). */
static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type,
				  uint16_t flags, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type,
				  uint16_t flags, const char *fmt, ...)
{
	struct nlmsghdr *nlh;
	va_list ap;
	char *what;

	if (bt->n_what == bt->cap_what) {
		size_t cap = bt->cap_what ? bt->cap_what * 2 : 64;
		char **w = realloc(bt->what, cap * sizeof(*w));

		if (!w) {
			bt->oom = -ENOMEM;
			return NULL;
		}
		bt->what = w;
		bt->cap_what = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!what) {
		bt->oom = -ENOMEM;
		return NULL;
	}
	bt->what[bt->n_what++] = what;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type,
				    NFPROTO_INET, flags | NLM_F_ACK, bt->seq++);
	return nlh;
}

static void batch_next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->overflow = true;
}

/*
 * The whole batch goes in one sendmsg() and all its ACKs are queued before
 * it returns, so both socket buffers must hold that much; the defaults
 * (about 200 KiB) do not for a large policy. Root may exceed the sysctl
 * limits with the FORCE variants.
 */
static void size_buffers(struct nft *n, size_t batch, size_t acks)
{
	int fd = mnl_socket_get_fd(n->nl);
	int snd = (int)batch + 65536;
	/*
	 * Each ACK is a skb of its own, charged at its true size (about
	 * 1 KiB with its overhead), not at the 36 bytes it carries.
	 */
	int rcv = (int)(acks * 2048) + 65536;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

/*
 * Sends the batch and reads every ACK. On failure, fail names the first
 * object the kernel refused.
 */
static int batch_send(struct nft *n, struct batch *bt, struct failure *fail)
{
	_cleanup_free_ char *rbuf = NULL;
	int first_err = 0;
	size_t acked = 0;

	if (bt->oom)
		return bt->oom;
	if (bt->overflow) {
		failure_set(fail,
			    "build one nf_tables batch for this policy "
			    "(over %d bytes)",
			    BATCH_LIMIT);
		return -E2BIG;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	n->seq = bt->seq;
	size_buffers(n, mnl_nlmsg_batch_size(bt->b), bt->n_what);

	if (mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b)) < 0) {
		failure_set(fail, "send nf_tables batch");
		return -errno;
	}

	rbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!rbuf)
		return -ENOMEM;
	/*
	 * The kernel processes the whole batch inside sendmsg(), so every
	 * ACK is already queued: read until all arrived or the queue is dry.
	 */
	while (acked < bt->n_what) {
		ssize_t len = recv(mnl_socket_get_fd(n->nl), rbuf,
				   MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int rem;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			failure_set(fail, "read nf_tables batch replies");
			return -errno;
		}
		rem = len;
		for (nlh = (void *)rbuf; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			char msg[sizeof(fail->kernel_msg)] = "";
			uint32_t idx = nlh->nlmsg_seq - bt->first_seq;
			int err;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			acked++;
			err = nl_ack_error(nlh, msg, sizeof(msg));
			if (err == 0 || first_err)
				continue;
			first_err = err;
			if (fail) {
				snprintf(fail->object, sizeof(fail->object),
					 "%s",
					 idx < bt->n_what ?
						 bt->what[idx] :
						 "commit nf_tables batch");
				snprintf(fail->kernel_msg,
					 sizeof(fail->kernel_msg), "%s", msg);
			}
		}
	}
	if (!first_err && acked < bt->n_what) {
		failure_set(fail, "commit nf_tables batch (%zu of %zu replies)",
			    acked, bt->n_what);
		return -EPROTO;
	}
	return first_err;
}

/* ---- rule building --------------------------------------------------- */

/*
 * Expression builders. libnftnl setters only fail on allocation, so a rule
 * keeps the first failure in *err and later calls become no-ops; the rule
 * is checked once before it goes into the batch.
 */
struct rule_builder {
	struct nftnl_rule *rule;
	int err;
};

static struct nftnl_expr *rb_expr(struct rule_builder *rb, const char *name)
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
static void rb_add(struct rule_builder *rb, struct nftnl_expr *e)
{
	if (e)
		nftnl_rule_add_expr(rb->rule, e);
}

static void rb_meta_load(struct rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	rb_add(rb, e);
}

static void rb_ct_load(struct rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	rb_add(rb, e);
}

static void rb_cmp(struct rule_builder *rb, uint32_t reg, uint32_t op,
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

static void rb_payload(struct rule_builder *rb, uint32_t base, uint32_t offset,
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

static void rb_bitwise(struct rule_builder *rb, uint32_t reg, const void *mask,
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

static void rb_verdict(struct rule_builder *rb, int verdict, const char *chain)
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

static void rb_counter(struct rule_builder *rb, const char *name)
{
	struct nftnl_expr *e = rb_expr(rb, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	rb_add(rb, e);
}

static void rb_lookup(struct rule_builder *rb, const char *set, uint32_t sreg,
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

static void rb_socket_cgroup(struct rule_builder *rb, uint32_t level,
			     uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(rb, "socket");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_CGROUPV2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, level);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, dreg);
	rb_add(rb, e);
}

static void rb_reject(struct rule_builder *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = rb_expr(rb, "reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	rb_add(rb, e);
}

/* meta mark set (meta mark & ~mask) | value, value already shifted. */
static void rb_set_mark(struct rule_builder *rb, uint32_t mask, uint32_t value)
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

static void rb_nfproto(struct rule_builder *rb, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	rb_meta_load(rb, NFT_META_NFPROTO, NFT_REG_1);
	rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &proto, sizeof(proto));
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

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Offset of the destination address in the network header. */
static uint32_t daddr_offset(int family)
{
	return family == AF_INET ? 16 : 24;
}

static void prefix_mask(const struct prefix *p, uint8_t *mask)
{
	size_t len = addr_len(p->family);

	memset(mask, 0, len);
	for (size_t bit = 0; bit < p->len; bit++)
		mask[bit / 8] |= 0x80 >> (bit % 8);
}

static void rb_match_allow(struct rule_builder *rb, const struct allow *a)
{
	int family = a->dst.family;
	size_t alen = addr_len(family);

	rb_nfproto(rb, family);
	if (a->proto != L4_ANY) {
		uint8_t proto = l4proto_number(a->proto, family);

		rb_meta_load(rb, NFT_META_L4PROTO, NFT_REG_1);
		rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &proto, sizeof(proto));
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

static char *service_chain(const char *name)
{
	char *s;

	return asprintf(&s, SERVICE_CHAIN_PREFIX "%s", name) < 0 ? NULL : s;
}

static char *service_counter(const char *name, const char *kind)
{
	char *s;

	return asprintf(&s, SERVICE_CHAIN_PREFIX "%s_%s", name, kind) < 0 ?
		       NULL :
		       s;
}

static struct nftnl_rule *rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

/*
 * The rules of one service's chain, in order; each is handed to emit(),
 * which takes ownership. Shared by the batch and by the golden-file dump.
 */
typedef int (*rule_sink)(struct nftnl_rule *r, const char *what, void *ctx);

/* meta oifname NAME, the name zero-padded as the kernel compares it. */
static void rb_oifname(struct rule_builder *rb, const char *name)
{
	char padded[IF_NAMESIZE] = { 0 };

	snprintf(padded, sizeof(padded), "%s", name);
	rb_meta_load(rb, NFT_META_OIFNAME, NFT_REG_1);
	rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, padded, sizeof(padded));
}

/*
 * One accepting rule of a service's chain: Allow= a, leaving by oif (NULL:
 * any interface, only for printing a plan).
 */
static int allow_rule(const char *chain, const struct allow *a, const char *oif,
		      const char *allowed, uint32_t mask, uint32_t mark,
		      rule_sink emit, void *ctx)
{
	struct rule_builder rb = { rule_new(chain), 0 };
	char desc[160];
	size_t len;

	if (!rb.rule)
		return -ENOMEM;
	rb_match_allow(&rb, a);
	if (oif)
		rb_oifname(&rb, oif);
	rb_counter(&rb, allowed);
	rb_set_mark(&rb, mask, mark);
	rb_verdict(&rb, NF_ACCEPT, NULL);
	allow_format(a, desc, sizeof(desc));
	len = strlen(desc);
	if (oif)
		snprintf(desc + len, sizeof(desc) - len, " oifname %s", oif);
	if (rb.err) {
		nftnl_rule_free(rb.rule);
		return rb.err;
	}
	return emit(rb.rule, desc, ctx);
}

static int service_rules(const struct service *svc, uint32_t mask,
			 const struct nft_oifs *oifs, rule_sink emit, void *ctx)
{
	_cleanup_free_ char *chain = service_chain(svc->name);
	_cleanup_free_ char *allowed = service_counter(svc->name, "allowed");
	_cleanup_free_ char *refused = service_counter(svc->name, "refused");
	uint32_t mark = mark_of_value(mask, svc->mark_value);
	struct rule_builder rb;
	int r;

	if (!chain || !allowed || !refused)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct allow *a = &svc->allows[i];

		if (!oifs) {
			r = allow_rule(chain, a, NULL, allowed, mask, mark,
				       emit, ctx);
			if (r < 0)
				return r;
			continue;
		}
		/* No interface: no route when applied, so nothing passes. */
		for (size_t j = 0; j < oifs[i].n; j++) {
			r = allow_rule(chain, a, oifs[i].names[j], allowed,
				       mask, mark, emit, ctx);
			if (r < 0)
				return r;
		}
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

int nft_print_service_rules(const struct service *svc, uint32_t mark_mask,
			    const struct nft_oifs *oifs, FILE *out)
{
	return service_rules(svc, mark_mask, oifs, print_rule, out);
}

/*
 * Whether an exclusive Allow= covers UDP, so that others' broadcast and
 * multicast could reach the service's destination on that port (a host
 * answers a datagram to its subnet's broadcast address, to 255.255.255.255
 * or to a group it is in on any wildcard-bound socket).
 */
static bool allow_udp(const struct allow *a)
{
	return a->proto == L4_UDP || a->proto == L4_ANY;
}

/* The rules of chain xcast_NAME: refuse the UDP ports of svc's Allow=. */
static int xcast_rules(const struct service *svc, rule_sink emit, void *ctx)
{
	_cleanup_free_ char *chain = NULL;
	uint8_t udp = IPPROTO_UDP;

	if (asprintf(&chain, XCAST_CHAIN_PREFIX "%s", svc->name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct allow *a = &svc->allows[i];
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
		rb_verdict(&rb, NFT_GOTO, CHAIN_REFUSE);
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

static void batch_table(struct batch *bt, uint16_t type)
{
	_cleanup_(nftnl_table_freep) struct nftnl_table *t =
		nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		bt->oom = -ENOMEM;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	nlh = batch_msg(bt, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			"%s table inet " NFT_TABLE_NAME,
			type == NFT_MSG_NEWTABLE ? "add" : "delete");
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

static void cgroup_map_name(uint32_t level, char *buf, size_t size)
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
	uint32_t alen = addr_len(family);
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
	size_t alen = addr_len(x->family);

	memset(key, 0, alen + 4);
	memcpy(key, end ? x->end.bytes : x->start.bytes, alen);
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
	inet_ntop(x->family, x->start.bytes, a, sizeof(a));
	inet_ntop(x->family, x->end.bytes, b, sizeof(b));
	snprintf(what, sizeof(what), "%s-%s (exclusive to service %s)", a, b,
		 x->owner);
	batch_elem(bt, type,
		   x->family == AF_INET ? SET_EXCLUSIVE4 : SET_EXCLUSIVE6, e,
		   what);
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
				   const char *whose)
{
	char what[96];

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		struct rule_builder rb = { rule_new(chain), 0 };

		rb_nfproto(&rb, family);
		rb_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER,
			   daddr_offset(family), addr_len(family),
			   NFT_REG32_00);
		rb_meta_load(&rb, NFT_META_L4PROTO,
			     NFT_REG32_00 + addr_len(family) / 4);
		rb_lookup(&rb, f ? SET_EXCLUSIVE6 : SET_EXCLUSIVE4,
			  NFT_REG32_00, false);
		rb_counter(&rb, COUNTER_OTHERS);
		rb_verdict(&rb, NFT_GOTO, CHAIN_REFUSE);
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
 * The base chains' rules, for the given sorted, distinct levels, and chain
 * xcast, which jumps to the xcast_NAME chain of each of the n_x exclusive
 * services named in xnames (those chains must exist by now).
 */
static void batch_output_rules(struct batch *bt, uint32_t mask,
			       const uint32_t *levels, size_t n_levels,
			       char *const *xnames, size_t n_x)
{
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
	batch_accept_replies(bt, CHAIN_OUTPUT);
	for (size_t i = 0; i < n_levels; i++) {
		cgroup_map_name(levels[i], map, sizeof(map));
		rb = (struct rule_builder){ rule_new(CHAIN_OUTPUT), 0 };
		rb_socket_cgroup(&rb, levels[i], NFT_REG_1);
		rb_lookup(&rb, map, NFT_REG_1, true);
		snprintf(what, sizeof(what),
			 "socket cgroupv2 level %" PRIu32 " vmap @%s",
			 levels[i], map);
		batch_built_rule(bt, &rb, what);
	}

	/*
	 * Everyone else's packets leave with confine's field cleared, so a
	 * process that sets SO_MARK to a service's mark is not routed as
	 * that service. A packet that carried no such bits is unchanged and
	 * therefore not rerouted.
	 */
	rb = (struct rule_builder){ rule_new(CHAIN_OUTPUT), 0 };
	rb_set_mark(&rb, mask, 0);
	batch_built_rule(bt, &rb, "clear the mark field of unconfined packets");
	batch_refuse_exclusive(bt, CHAIN_OUTPUT, "others'");
	if (n_x)
		batch_xcast_jumps(bt);

	/*
	 * Forwarded packets never pass the output hook: a container or VM
	 * routed through this host would reach the exclusive destinations
	 * (masqueraded, with this host's address) as if from nowhere.
	 */
	batch_base_chain(bt, CHAIN_FORWARD, "filter", NF_INET_FORWARD);
	batch_accept_replies(bt, CHAIN_FORWARD);
	batch_refuse_exclusive(bt, CHAIN_FORWARD, "forwarded");
}

/* ---- exclusive destinations ------------------------------------------ */

static void prefix_range(const struct prefix *p, union inet_addr *start,
			 union inet_addr *end)
{
	size_t alen = addr_len(p->family);
	uint8_t mask[16];

	prefix_mask(p, mask);
	memset(start, 0, sizeof(*start));
	memset(end, 0, sizeof(*end));
	for (size_t i = 0; i < alen; i++) {
		start->bytes[i] = p->addr.bytes[i] & mask[i];
		end->bytes[i] = p->addr.bytes[i] | (uint8_t)~mask[i];
	}
}

static bool ranges_overlap(const struct nft_exclusive *a,
			   const struct nft_exclusive *b)
{
	size_t alen = addr_len(a->family);

	return a->family == b->family &&
	       memcmp(a->start.bytes, b->end.bytes, alen) <= 0 &&
	       memcmp(b->start.bytes, a->end.bytes, alen) <= 0;
}

static bool range_contains(const struct nft_exclusive *outer,
			   const struct nft_exclusive *inner)
{
	size_t alen = addr_len(outer->family);

	return outer->family == inner->family &&
	       memcmp(outer->start.bytes, inner->start.bytes, alen) <= 0 &&
	       memcmp(inner->end.bytes, outer->end.bytes, alen) <= 0;
}

/*
 * The destinations a service holds exclusively: its Allow= prefixes, the
 * ones inside another of its own dropped, since the set refuses overlaps.
 */
static int service_exclusive(const struct service *svc,
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
			.family = svc->allows[i].dst.family
		};
		bool covered = false;

		prefix_range(&svc->allows[i].dst, &cand.start, &cand.end);
		snprintf(cand.owner, sizeof(cand.owner), "%s", svc->name);
		for (size_t j = 0; j < n && !covered; j++)
			covered = range_contains(&x[j], &cand);
		if (covered)
			continue;
		/* Drop earlier ones this one covers. */
		for (size_t j = 0; j < n;) {
			if (range_contains(&cand, &x[j]))
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

/* ---- apply and remove ------------------------------------------------ */

static bool in_plan(const struct plan *plan, const char *name)
{
	return plan_find(plan, name) != NULL;
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

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (const char *c = s; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return (h ^ '\n') * 16777619u;
}

/*
 * A digest of everything in svc that shapes its chain, the output
 * interfaces its routing chose included, kept in the chain's comment so
 * that `run` can tell an installed service from an edited one, or from
 * one whose routes have changed since.
 */
static uint32_t service_digest(const struct service *svc, uint32_t mask,
			       const struct nft_oifs *oifs)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	char line[256];

	for (size_t i = 0; i <= svc->n_allows + svc->n_routes; i++) {
		if (i < svc->n_allows) {
			allow_format(&svc->allows[i], line, sizeof(line));
			for (size_t j = 0; oifs && j < oifs[i].n; j++)
				h = fnv1a(h, oifs[i].names[j]);
		} else if (i < svc->n_allows + svc->n_routes)
			route_format(&svc->routes[i - svc->n_allows], line,
				     sizeof(line));
		else
			snprintf(line, sizeof(line),
				 "%" PRIx32 " %" PRIx32 " %" PRIu32 " %d", mask,
				 svc->mark_value, svc->table, svc->exclusive);
		h = fnv1a(h, line);
	}
	return h;
}

static void format_comment(const struct service *svc, uint32_t mask,
			   const struct nft_oifs *oifs, char *buf, size_t size)
{
	snprintf(buf, size,
		 COMMENT_TAG " %s mark=0x%" PRIx32 " mask=0x%08" PRIx32
			     " table=%" PRIu32
			     " exclusive=%s digest=%08" PRIx32,
		 svc->name, svc->mark_value, mask, svc->table,
		 svc->exclusive ? "yes" : "no",
		 service_digest(svc, mask, oifs));
}

bool nft_service_current(const struct nft_service *installed,
			 const struct service *svc, uint32_t mask,
			 const struct nft_oifs *oifs)
{
	return installed->digest == service_digest(svc, mask, oifs);
}

/* Chain xcast_NAME of an exclusive service, filled; an exclusive one. */
static int batch_xcast_chain(struct batch *bt, const struct service *svc)
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

int nft_apply(struct nft *n, const struct plan *plan,
	      const struct nft_service_cgroups *cgroups,
	      const struct nft_state *installed, struct failure *fail)
{
	_cleanup_free_ uint32_t *levels = NULL;
	_cleanup_free_ char **xnames = NULL;
	size_t n_levels = 0, n_x = 0;
	struct batch bt;
	int r;

	/* Levels in use afterwards: the plan's and other services'. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (in_plan(plan, s->name))
			continue;
		for (size_t j = 0; j < s->n_cgroups; j++)
			if (add_level(&levels, &n_levels, s->cgroups[j].level))
				return -ENOMEM;
	}
	for (size_t i = 0; i < plan->n_services; i++)
		for (size_t j = 0; j < cgroups[i].n_cgroups; j++)
			if (add_level(&levels, &n_levels,
				      cgroups[i].cgroups[j].level))
				return -ENOMEM;
	if (n_levels)
		qsort(levels, n_levels, sizeof(*levels), cmp_u32);

	r = batch_init(&bt, n);
	if (r < 0)
		return r;

	batch_table(&bt, NFT_MSG_NEWTABLE);
	batch_exclusive_set(&bt, AF_INET);
	batch_exclusive_set(&bt, AF_INET6);
	if (!installed->table_present)
		batch_counter(&bt, NFT_MSG_NEWOBJ, COUNTER_OTHERS);
	batch_refuse_chain(&bt);
	for (size_t i = 0; i < n_levels; i++)
		batch_cgroup_map(&bt, NFT_MSG_NEWSET, levels[i]);

	/* Take the plan's services out as they are installed now. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];
		_cleanup_free_ char *chain = NULL;

		if (!in_plan(plan, s->name))
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
		if (nft_service_current(
			    s, plan_find(plan, s->name), plan->mark_mask,
			    cgroups[plan_find(plan, s->name) - plan->services]
				    .oifs))
			continue;
		chain = service_chain(s->name);
		if (!chain) {
			r = -ENOMEM;
			goto out;
		}
		batch_del_chain(&bt, chain);
	}
	for (size_t i = 0; i < installed->n_exclusive; i++)
		if (in_plan(plan, installed->exclusive[i].owner))
			batch_exclusive_elem(&bt, NFT_MSG_DELSETELEM,
					     &installed->exclusive[i]);

	/* Put them back as the plan says. */
	for (size_t i = 0; i < plan->n_services; i++) {
		const struct service *svc = &plan->services[i];
		_cleanup_free_ char *chain = service_chain(svc->name);
		_cleanup_free_ struct nft_exclusive *x = NULL;
		struct emit_ctx ec = { &bt, svc->name };
		const struct nft_service *is;
		char comment[NFTNL_UDATA_COMMENT_MAXLEN];
		size_t n_excl;

		if (!chain) {
			r = -ENOMEM;
			goto out;
		}
		if (!nft_state_find(installed, svc->name)) {
			_cleanup_free_ char *a =
				service_counter(svc->name, "allowed");
			_cleanup_free_ char *rf =
				service_counter(svc->name, "refused");

			if (!a || !rf) {
				r = -ENOMEM;
				goto out;
			}
			batch_counter(&bt, NFT_MSG_NEWOBJ, a);
			batch_counter(&bt, NFT_MSG_NEWOBJ, rf);
		}
		format_comment(svc, plan->mark_mask, cgroups[i].oifs, comment,
			       sizeof(comment));
		is = nft_state_find(installed, svc->name);
		batch_chain_fresh(&bt, chain,
				  is && nft_service_current(is, svc,
							    plan->mark_mask,
							    cgroups[i].oifs) ?
					  NULL :
					  comment);
		r = service_rules(svc, plan->mark_mask, cgroups[i].oifs,
				  emit_to_batch, &ec);
		if (r < 0)
			goto out;
		if (svc->exclusive) {
			r = batch_xcast_chain(&bt, svc);
			if (r == 0)
				r = add_name(&xnames, &n_x, (char *)svc->name);
			if (r < 0)
				goto out;
		}
		for (size_t j = 0; j < cgroups[i].n_cgroups; j++)
			batch_cgroup_elem(&bt, NFT_MSG_NEWSETELEM,
					  &cgroups[i].cgroups[j], svc->name);

		r = service_exclusive(svc, &x, &n_excl);
		if (r < 0)
			goto out;
		for (size_t j = 0; j < n_excl; j++) {
			for (size_t k = 0; k < installed->n_exclusive; k++) {
				const struct nft_exclusive *o =
					&installed->exclusive[k];

				if (in_plan(plan, o->owner) ||
				    !ranges_overlap(&x[j], o))
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

		if (s->exclusive && !in_plan(plan, s->name) &&
		    add_name(&xnames, &n_x, (char *)s->name) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	batch_output_rules(&bt, plan->mark_mask, levels, n_levels, xnames, n_x);
	/* Now that chain xcast no longer jumps there. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];
		const struct service *svc = plan_find(plan, s->name);

		if (s->exclusive && svc && !svc->exclusive)
			batch_del_xcast_chain(&bt, s->name);
	}

	/* Maps of levels that nothing uses any more. */
	for (size_t i = 0; i < installed->n_levels; i++) {
		bool used = false;

		for (size_t j = 0; j < n_levels && !used; j++)
			used = levels[j] == installed->levels[i];
		if (!used)
			batch_cgroup_map(&bt, NFT_MSG_DELSET,
					 installed->levels[i]);
	}

	r = batch_send(n, &bt, fail);
out:
	batch_free(&bt);
	return r;
}

static bool name_listed(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int nft_remove(struct nft *n, const struct nft_state *installed,
	       char *const *names, size_t n_names, struct failure *fail)
{
	_cleanup_free_ uint32_t *levels = NULL;
	_cleanup_free_ char **xnames = NULL;
	size_t n_levels = 0, remaining = 0, n_x = 0;
	struct batch bt;
	int r;

	if (!installed->table_present)
		return 0;
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (n_names && name_listed(names, n_names, s->name))
			continue;
		remaining++;
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
		batch_table(&bt, NFT_MSG_DELTABLE);
		goto send;
	}
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];
		_cleanup_free_ char *chain = service_chain(s->name);
		_cleanup_free_ char *a = service_counter(s->name, "allowed");
		_cleanup_free_ char *rf = service_counter(s->name, "refused");

		if (!chain || !a || !rf) {
			r = -ENOMEM;
			goto out;
		}
		if (!name_listed(names, n_names, s->name))
			continue;
		for (size_t j = 0; j < s->n_cgroups; j++)
			batch_cgroup_elem(&bt, NFT_MSG_DELSETELEM,
					  &s->cgroups[j], s->name);
		batch_del_chain(&bt, chain);
		batch_counter(&bt, NFT_MSG_DELOBJ, a);
		batch_counter(&bt, NFT_MSG_DELOBJ, rf);
	}
	for (size_t i = 0; i < installed->n_exclusive; i++)
		if (name_listed(names, n_names, installed->exclusive[i].owner))
			batch_exclusive_elem(&bt, NFT_MSG_DELSETELEM,
					     &installed->exclusive[i]);
	batch_output_rules(&bt, installed->mark_mask, levels, n_levels, xnames,
			   n_x);
	/* Now that chain xcast no longer jumps there. */
	for (size_t i = 0; i < installed->n_services; i++) {
		const struct nft_service *s = &installed->services[i];

		if (s->exclusive && name_listed(names, n_names, s->name))
			batch_del_xcast_chain(&bt, s->name);
	}
	for (size_t i = 0; i < installed->n_levels; i++) {
		bool used = false;

		for (size_t j = 0; j < n_levels && !used; j++)
			used = levels[j] == installed->levels[i];
		if (!used)
			batch_cgroup_map(&bt, NFT_MSG_DELSET,
					 installed->levels[i]);
	}
send:
	r = batch_send(n, &bt, fail);
out:
	batch_free(&bt);
	return r;
}

/* ---- reading the installed state ------------------------------------- */

typedef int (*dump_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * One dump request; build() fills the message. -ENOENT from the kernel
 * (no table) is returned as is for the caller to interpret.
 */
static int dump(struct nft *n, uint16_t type,
		void (*build)(struct nlmsghdr *, const void *), const void *arg,
		mnl_cb_t cb, void *data, struct failure *fail, const char *what)
{
	_cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	struct nlmsghdr *nlh;
	uint32_t seq;
	int r;

	if (!buf)
		return -ENOMEM;
	seq = n->seq++;
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET,
				    NLM_F_DUMP | NLM_F_ACK, seq);
	if (build)
		build(nlh, arg);
	r = nl_talk(n->nl, n->portid, nlh, seq, buf, MNL_SOCKET_BUFFER_SIZE, cb,
		    data, fail ? fail->kernel_msg : NULL,
		    fail ? sizeof(fail->kernel_msg) : 0);
	if (r < 0 && r != -ENOENT)
		failure_set(fail, "%s", what);
	return r;
}

static void build_table_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NFT_TABLE_NAME);
}

static void build_chain_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFT_TABLE_NAME);
}

static void build_set_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NFT_TABLE_NAME);
}

static void build_obj_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NFT_TABLE_NAME);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
}

static void build_elem_filter(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE_NAME);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, arg);
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t = nftnl_table_alloc();
	bool *present = data;

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
	    nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == NFPROTO_INET &&
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), NFT_TABLE_NAME) ==
		    0)
		*present = true;
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_CHAIN_COMMENT)
		*comment = nftnl_udata_get(attr);
	return 0;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *c =
		nftnl_chain_alloc();
	struct nft_state *s = data;
	struct nft_service *svc, *grown;
	const char *comment = NULL, *name;
	const void *ud;
	uint32_t ud_len;
	char exclusive[4];
	int matched;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
		return MNL_CB_OK;
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (!name ||
	    strncmp(name, SERVICE_CHAIN_PREFIX, strlen(SERVICE_CHAIN_PREFIX)) !=
		    0 ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA))
		return MNL_CB_OK;
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &ud_len);
	if (nftnl_udata_parse(ud, ud_len, comment_cb, &comment) < 0 || !comment)
		return MNL_CB_OK;

	grown = realloc(s->services, (s->n_services + 1) * sizeof(*grown));
	if (!grown)
		return MNL_CB_ERROR;
	s->services = grown;
	svc = &s->services[s->n_services];
	*svc = (struct nft_service){ 0 };
	matched = sscanf(comment,
			 COMMENT_TAG " %48s mark=0x%" SCNx32 " mask=0x%" SCNx32
				     " table=%" SCNu32
				     " exclusive=%3s digest=%" SCNx32,
			 svc->name, &svc->mark_value, &s->mark_mask,
			 &svc->table, exclusive, &svc->digest);
	/* A chain of this prefix whose comment is not ours is not a service. */
	if (matched != 6)
		return MNL_CB_OK;
	svc->exclusive = strcmp(exclusive, "yes") == 0;
	s->n_services++;
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *set = nftnl_set_alloc();
	struct nft_state *s = data;
	const char *name;
	uint32_t level, *grown;
	char extra;

	if (!set)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, set) < 0)
		return MNL_CB_OK;
	name = nftnl_set_get_str(set, NFTNL_SET_NAME);
	if (!name || sscanf(name, CGROUP_MAP_PREFIX "%" SCNu32 "%c", &level,
			    &extra) != 1)
		return MNL_CB_OK;
	grown = realloc(s->levels, (s->n_levels + 1) * sizeof(*grown));
	if (!grown)
		return MNL_CB_ERROR;
	s->levels = grown;
	s->levels[s->n_levels++] = level;
	return MNL_CB_OK;
}

struct elem_ctx {
	struct nft_state *state;
	uint32_t level; /* for cgroup maps */
	int family; /* for exclusive sets, else 0 */
};

static int add_cgroup_to_service(struct nft_state *s, const char *chain,
				 uint64_t id, uint32_t level)
{
	const char *name = chain + strlen(SERVICE_CHAIN_PREFIX);
	struct nft_service *svc = NULL;
	struct nft_cgroup *grown;

	if (strncmp(chain, SERVICE_CHAIN_PREFIX, strlen(SERVICE_CHAIN_PREFIX)))
		return 0;
	for (size_t i = 0; i < s->n_services && !svc; i++)
		if (strcmp(s->services[i].name, name) == 0)
			svc = &s->services[i];
	if (!svc)
		return 0;
	grown = realloc(svc->cgroups, (svc->n_cgroups + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	svc->cgroups = grown;
	svc->cgroups[svc->n_cgroups++] = (struct nft_cgroup){ id, level };
	return 0;
}

static int add_exclusive(struct nft_state *s, int family,
			 struct nftnl_set_elem *e)
{
	size_t alen = addr_len(family);
	struct nft_exclusive *x, *grown;
	const void *key, *end, *owner;
	uint32_t klen = 0, elen = 0, olen = 0;

	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &elen);
	owner = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &olen);
	if (!key || !end || klen < alen || elen < alen)
		return 0;
	grown = realloc(s->exclusive, (s->n_exclusive + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->exclusive = grown;
	x = &s->exclusive[s->n_exclusive++];
	*x = (struct nft_exclusive){ .family = family };
	memcpy(x->start.bytes, key, alen);
	memcpy(x->end.bytes, end, alen);
	if (owner && olen < sizeof(x->owner))
		memcpy(x->owner, owner, olen);
	return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *set = nftnl_set_alloc();
	struct elem_ctx *ec = data;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	int r = 0;

	if (!set)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, set) < 0)
		return MNL_CB_OK;
	it = nftnl_set_elems_iter_create(set);
	if (!it)
		return MNL_CB_ERROR;
	for (e = nftnl_set_elems_iter_next(it); e && r == 0;
	     e = nftnl_set_elems_iter_next(it)) {
		if (ec->family) {
			r = add_exclusive(ec->state, ec->family, e);
		} else {
			uint32_t len = 0;
			const void *key =
				nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
			const char *chain =
				nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
			uint64_t id;

			if (!key || len != sizeof(id) || !chain)
				continue;
			memcpy(&id, key, sizeof(id));
			r = add_cgroup_to_service(ec->state, chain, id,
						  ec->level);
		}
	}
	nftnl_set_elems_iter_destroy(it);
	return r < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	_cleanup_(nftnl_obj_freep) struct nftnl_obj *o = nftnl_obj_alloc();
	struct nft_state *s = data;
	const char *name;
	uint64_t pkts;

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) < 0)
		return MNL_CB_OK;
	name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	pkts = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	if (!name)
		return MNL_CB_OK;
	if (strcmp(name, COUNTER_OTHERS) == 0) {
		s->others_refused = pkts;
		return MNL_CB_OK;
	}
	for (size_t i = 0; i < s->n_services; i++) {
		struct nft_service *svc = &s->services[i];
		_cleanup_free_ char *a = service_counter(svc->name, "allowed");
		_cleanup_free_ char *rf = service_counter(svc->name, "refused");

		if (!a || !rf)
			return MNL_CB_ERROR;
		if (strcmp(name, a) == 0)
			svc->allowed_packets = pkts;
		else if (strcmp(name, rf) == 0)
			svc->refused_packets = pkts;
	}
	return MNL_CB_OK;
}

int nft_read_state(struct nft *n, struct nft_state *out, struct failure *fail)
{
	struct nft_state s = { 0 };
	struct elem_ctx ec = { &s, 0, 0 };
	char map[64];
	int r;

	r = dump(n, NFT_MSG_GETTABLE, build_table_filter, NULL, table_cb,
		 &s.table_present, fail, "list nf_tables tables");
	if (r < 0 && r != -ENOENT)
		goto fail;
	if (!s.table_present) {
		*out = s;
		return 0;
	}
	r = dump(n, NFT_MSG_GETCHAIN, build_chain_filter, NULL, chain_cb, &s,
		 fail, "list chains of table inet " NFT_TABLE_NAME);
	if (r < 0)
		goto fail;
	r = dump(n, NFT_MSG_GETSET, build_set_filter, NULL, set_cb, &s, fail,
		 "list sets of table inet " NFT_TABLE_NAME);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < s.n_levels; i++) {
		ec.level = s.levels[i];
		cgroup_map_name(s.levels[i], map, sizeof(map));
		r = dump(n, NFT_MSG_GETSETELEM, build_elem_filter, map, elem_cb,
			 &ec, fail, "list cgroup map elements");
		if (r < 0)
			goto fail;
	}
	ec.family = AF_INET;
	r = dump(n, NFT_MSG_GETSETELEM, build_elem_filter, SET_EXCLUSIVE4,
		 elem_cb, &ec, fail, "list set " SET_EXCLUSIVE4);
	if (r < 0 && r != -ENOENT)
		goto fail;
	ec.family = AF_INET6;
	r = dump(n, NFT_MSG_GETSETELEM, build_elem_filter, SET_EXCLUSIVE6,
		 elem_cb, &ec, fail, "list set " SET_EXCLUSIVE6);
	if (r < 0 && r != -ENOENT)
		goto fail;
	r = dump(n, NFT_MSG_GETOBJ, build_obj_filter, NULL, obj_cb, &s, fail,
		 "list counters of table inet " NFT_TABLE_NAME);
	if (r < 0 && r != -ENOENT)
		goto fail;
	*out = s;
	return 0;
fail:
	nft_state_free(&s);
	return r;
}

void nft_state_free(struct nft_state *s)
{
	for (size_t i = 0; i < s->n_services; i++)
		free(s->services[i].cgroups);
	free(s->services);
	free(s->levels);
	free(s->exclusive);
	*s = (struct nft_state){ 0 };
}

const struct nft_service *nft_state_find(const struct nft_state *s,
					 const char *name)
{
	for (size_t i = 0; i < s->n_services; i++)
		if (strcmp(s->services[i].name, name) == 0)
			return &s->services[i];
	return NULL;
}
