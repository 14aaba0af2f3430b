#pragma once

/*
 * What the nft-*.c files share, and nothing outside them uses: the names
 * of confine's objects, the batch transport and the expression encoders.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/cleanup.h"
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
#define COUNTER_OTHERS_LOGGED "others_logged"
/* Where others' refusals go when their log is on (see nft-ruleset.c). */
#define CHAIN_REFUSE_OTHERS "refuse_others"

/* nftables' datatype numbers, so that `nft list` shows the sets' keys. */
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
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_table *, nftnl_table_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_obj *, nftnl_obj_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_udata_buf *, nftnl_udata_buf_free)

struct rules_snapshot;

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	/* Every chain's rules, when nft_read_rules() read them; else NULL. */
	struct rules_snapshot *rules;
};

/* ---- nft-batch.c ----------------------------------------------------- */

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
	enum failure_op *ops; /* likewise */
	size_t n_what, cap_what;
	enum failure_op next_op; /* of the next message batch_msg() starts */
	bool overflow;
	int oom;
};

int batch_init(struct batch *bt, struct nft *n);
void batch_free(struct batch *bt);
/* Starts a message; the caller fills it and calls batch_next(). */
struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags,
			   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void batch_next(struct batch *bt);
/*
 * Sends the batch and reads every ACK. On failure, fail names the first
 * object the kernel refused.
 */
int batch_send(struct nft *n, struct batch *bt, struct failure *fail);

/* ---- nft-expr.c ------------------------------------------------------ */

/*
 * Expression builders. libnftnl setters only fail on allocation, so a rule
 * keeps the first failure in err and later calls become no-ops; the rule
 * is checked once before it goes into the batch.
 */
struct rule_builder {
	struct nftnl_rule *rule;
	int err;
};

struct nftnl_rule *rule_new(const char *chain);
struct nftnl_expr *rb_expr(struct rule_builder *rb, const char *name);
/* The rule takes the expression. */
void rb_add(struct rule_builder *rb, struct nftnl_expr *e);
void rb_meta_load(struct rule_builder *rb, uint32_t key, uint32_t dreg);
void rb_ct_load(struct rule_builder *rb, uint32_t key, uint32_t dreg);
void rb_cmp(struct rule_builder *rb, uint32_t reg, uint32_t op,
	    const void *data, size_t len);
void rb_payload(struct rule_builder *rb, uint32_t base, uint32_t offset,
		uint32_t len, uint32_t dreg);
void rb_bitwise(struct rule_builder *rb, uint32_t reg, const void *mask,
		const void * xor, size_t len);
void rb_verdict(struct rule_builder *rb, int verdict, const char *chain);
void rb_counter(struct rule_builder *rb, const char *name);
void rb_lookup(struct rule_builder *rb, const char *set, uint32_t sreg,
	       bool verdict_map);
void rb_socket_cgroup(struct rule_builder *rb, uint32_t level, uint32_t dreg);
void rb_reject(struct rule_builder *rb, uint32_t type, uint8_t code);
/* meta mark set (meta mark & ~mask) | value, value already shifted. */
void rb_set_mark(struct rule_builder *rb, uint32_t mask, uint32_t value);
void rb_nfproto(struct rule_builder *rb, int family);
/* meta oifname NAME, the name zero-padded as the kernel compares it. */
void rb_oifname(struct rule_builder *rb, const char *name);
/* Offset of the destination address in the network header. */
uint32_t daddr_offset(int family);
/* limit rate RATE/UNIT burst BURST packets: ends the rule when over. */
void rb_limit(struct rule_builder *rb, uint32_t rate, uint32_t unit,
	      uint32_t burst);
/* log prefix PREFIX to the kernel log (syslog level warning). */
void rb_log_syslog(struct rule_builder *rb, const char *prefix);
/* log group GROUP snaplen SNAPLEN prefix PREFIX: an NFLOG event. */
void rb_log_group(struct rule_builder *rb, uint16_t group, uint32_t snaplen,
		  const char *prefix);
/* The protocol, destination and ports of one Allow=. */
void rb_match_allow(struct rule_builder *rb, const struct nft_allow *a);

/* ---- nft-ruleset.c --------------------------------------------------- */

/* svc_NAME, svc_NAME_KIND and cgroup_level_N; NULL when out of memory. */
char *service_chain(const char *name);
char *service_counter(const char *name, const char *kind);
void cgroup_map_name(uint32_t level, char *buf, size_t size);
/* Adds (NFT_MSG_NEWTABLE) or deletes table inet NAME in the batch. */
void batch_table(struct batch *bt, uint16_t type, const char *name);

/* ---- nft-state.c ----------------------------------------------------- */

/*
 * One dump request; build() fills the message. -ENOENT from the kernel
 * (no table) is returned as is for the caller to interpret.
 */
int nft_dump(struct nft *n, uint16_t type,
	     void (*build)(struct nlmsghdr *, const void *), const void *arg,
	     mnl_cb_t cb, void *data, struct failure *fail, const char *what);
