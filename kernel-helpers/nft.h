#pragma once

/*
 * confine's nf_tables state, through libnftnl + libmnl: one table `inet
 * confine`, changed only in single batches whose every ACK is read and
 * mapped back to the object that failed. Everything here is at the
 * kernel's level (marks, protocol numbers, interface names); the engine
 * lowers a policy to it.
 *
 *   nft-batch.c    the socket and the batch transport
 *   nft-expr.c     expression encoders
 *   nft-comment.c  a service chain's comment, written and read
 *   nft-ruleset.c  the rules, chains and sets; apply and remove
 *   nft-state.c    reading the installed state back
 *
 *   chain output (route hook, priority mangle)
 *       meta l4proto tcp tcp flags & (syn | ack) != syn accept
 *                 (only a bare SYN opens a connection: no conntrack)
 *       socket cgroupv2 level L vmap @cgroup_level_L     one per level
 *       meta mark set meta mark & ~MASK      field 0: "unconfined"
 *                 (only while a service has a mark: Route=, Mark=, Table=)
 *     while a service is exclusive:
 *       ct direction reply accept            others' answers go on
 *       ip daddr . meta l4proto @exclusive_ip4 counter goto refuse
 *       ip6 daddr . meta l4proto @exclusive_ip6 counter goto refuse
 *                 (goto refuse_others while others' log is on)
 *       meta l4proto udp fib daddr type broadcast jump xcast
 *       meta l4proto udp fib daddr type multicast jump xcast
 *   chain forward (filter hook, priority mangle), while one is exclusive
 *       ct direction reply accept
 *       the two exclusive lookups above, for forwarded packets
 *   chain xcast                          one jump per exclusive service
 *       jump xcast_NAME
 *   chain xcast_NAME                     its UDP ports, for others'
 *       udp dport N counter goto refuse_others  broadcast, multicast
 *   chain svc_NAME (comment: mark, table, exclusive, mask)
 *       <allow match> oifname IF counter mark set (mark & ~MASK) | M accept
 *       with LogRefused=yes (log_rules() in nft-ruleset.c):
 *         <status's probe> counter goto refuse    not logged
 *         limit rate R burst B counter log prefix P   kernel log
 *         log prefix P group NFT_LOG_GROUP       confine watch
 *       counter goto refuse
 *   chain refuse_others                  others' log rules, if on
 *       goto refuse
 *   chain refuse
 *       meta l4proto tcp reject with tcp reset
 *       reject with icmpx admin-prohibited
 *
 * The reject happens in the route chain, before the kernel reroutes by the
 * new mark: a packet dropped by a failed reroute would leave a TCP connect
 * retrying SYNs for minutes instead of failing at once.
 */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/failure.h"
#include "common/inet.h"

#define NFT_TABLE_NAME "confine"
/* The longest service name that a chain, counter and comment can carry. */
#define NFT_SERVICE_NAME_MAX 48

struct nft;

int nft_open(struct nft **out, struct failure *fail);
void nft_close(struct nft *n);

/* A cgroup whose sockets belong to a service. */
struct nft_cgroup {
	uint64_t id;
	uint32_t level;
};

/*
 * One destination a service may reach, as its chain matches it. A packet
 * may leave only by the interfaces in oifs: those the service's routing
 * chose when it was applied. A packet leaving by another one had its
 * interface forced (SO_BINDTODEVICE, IP_PKTINFO, ...), and the kernel then
 * treats even an unrouted destination as on-link there. n_oifs 0: the
 * destination had no route, and nothing is accepted. oifs NULL: not
 * pinned (only for printing a plan).
 */
struct nft_allow {
	uint8_t l4proto; /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6; 0: any */
	struct prefix dst;
	uint16_t port_min, port_max; /* both 0: every port */
	const char (*oifs)[IF_NAMESIZE];
	size_t n_oifs;
	const char *desc; /* "udp 10.99.0.1:514", for messages */
};

/*
 * The NFLOG group of confine's refusal events (nfnetlink_log), which
 * `confine watch` binds; one per network namespace.
 */
#define NFT_LOG_GROUP 6809

/*
 * A service's refusal log: a kernel log line per refused packet, at most
 * burst at once and rate per unit seconds after that, and an NFLOG event
 * (group NFT_LOG_GROUP) for every one. on false: neither.
 */
struct nft_log {
	bool on;
	uint32_t rate, unit, burst;
};

/*
 * The datagram with which `run` and `status` prove that a cgroup's sockets
 * are the service's (engine/verify.c): empty UDP to port 9 of the first of
 * these that the service may not reach. It is refused like any other, but
 * not logged: a status check is not an event.
 */
#define NFT_PROBE_ADDR4 "127.255.255.254"
#define NFT_PROBE_ADDR6 "::1"
#define NFT_PROBE_PORT 9

/* "confine NAME REJECT: ", the prefix of NAME's log lines and events. */
void nft_log_prefix(const char *name, char *buf, size_t size);
/* The name in such a prefix ("others" for those of no service). */
bool nft_log_prefix_parse(const char *prefix, char *name, size_t size);
#define NFT_LOG_OTHERS "others"

/* A service to install: its chain, its cgroups, its exclusive ranges. */
struct nft_service_spec {
	const char *name; /* at most NFT_SERVICE_NAME_MAX characters */
	uint32_t mark_value; /* its value in the mark field */
	uint32_t table;
	bool exclusive;
	uint32_t digest; /* of what it was made from; kept in the comment */
	struct nft_log log;
	const struct nft_allow *allows;
	size_t n_allows;
	const struct nft_cgroup *cgroups;
	size_t n_cgroups;
};

/* What a service chain's comment records, written and read back. */
struct nft_chain_comment {
	char name[NFT_SERVICE_NAME_MAX + 1];
	uint32_t mark_value;
	uint32_t mask;
	uint32_t table;
	bool exclusive;
	uint32_t digest;
	struct nft_log log; /* kept so that others' log can be rebuilt */
};

/*
 * "confine NAME mark=0x14 mask=0xff000000 table=20 exclusive=yes
 * digest=0a1b2c3d", and " log=6/60/10" (rate/unit/burst) when the
 * service logs its refusals. Returns 0, or -ENAMETOOLONG when it does not fit.
 */
int nft_comment_format(const struct nft_chain_comment *c, char *buf,
		       size_t size);
/* Parses what nft_comment_format() wrote; false for anyone else's text. */
bool nft_comment_parse(const char *s, struct nft_chain_comment *out);

/* A service as installed, read back from the kernel. */
struct nft_service {
	char name[NFT_SERVICE_NAME_MAX + 1];
	uint32_t mark_value;
	uint32_t table;
	bool exclusive;
	uint32_t digest; /* of the policy it was installed from */
	struct nft_log log;
	struct nft_cgroup *cgroups;
	size_t n_cgroups;
	uint64_t allowed_packets, refused_packets;
	bool has_logged_counter; /* and the probed one */
	uint64_t logged_packets; /* refusals that made a log line */
	/*
	 * verify's probes, refused unlogged and uncounted as refusals while
	 * the log is on, so that refused minus logged is what the rate limit
	 * suppressed.
	 */
	uint64_t probe_packets;
};

/* An element of an exclusive_ip4/6 set: a destination range and its owner. */
struct nft_exclusive {
	struct inet_range range;
	char owner[NFT_SERVICE_NAME_MAX + 1];
};

struct nft_state {
	bool table_present;
	uint32_t mark_mask; /* from the services' comments; 0 if none */
	struct nft_service *services;
	size_t n_services;
	uint32_t *levels; /* levels that have a cgroup map */
	size_t n_levels;
	struct nft_exclusive *exclusive;
	size_t n_exclusive;
	uint64_t others_refused; /* packets of no service refused */
	bool has_others_logged;
	uint64_t others_logged;
};

int nft_read_state(struct nft *n, struct nft_state *out, struct failure *fail);
/*
 * Reads the rules of every chain of table inet confine in one dump, for
 * nft_service_rules_differ() to compare many services without a dump
 * each; nft_forget_rules() (or any change) drops them again.
 */
int nft_read_rules(struct nft *n, struct failure *fail);
void nft_forget_rules(struct nft *n);

/*
 * Reads the counters of the services in st afresh (allowed_packets,
 * refused_packets, others_refused): one dump of the counters alone.
 */
int nft_read_counters(struct nft *n, struct nft_state *st,
		      struct failure *fail);
/*
 * The packets service name's chain has counted so far, allowed and refused
 * together, read from its two counters alone (not the whole state, which
 * would make checking every service quadratic). 0 when it has none.
 */
int nft_service_packets(struct nft *n, const char *name, uint64_t *out,
			struct failure *fail);
void nft_state_free(struct nft_state *s);
const struct nft_service *nft_state_find(const struct nft_state *s,
					 const char *name);

/*
 * Install or replace the given services in one batch, leaving installed
 * services not among them as they are. Returns -EEXIST (fail names both
 * services) when an exclusive destination overlaps one that another
 * installed service holds.
 */
int nft_apply(struct nft *n, uint32_t mark_mask,
	      const struct nft_service_spec *specs, size_t n_specs,
	      const struct nft_state *installed, struct failure *fail);

/* Remove the named services in one batch; n_names 0 removes the table. */
int nft_remove(struct nft *n, const struct nft_state *installed,
	       char *const *names, size_t n_names, struct failure *fail);

/*
 * Whether the rules of spec's chain in the kernel are exactly those
 * nft_apply would put there (counters aside): 0 when they are, 1 when
 * they differ, with *at the number of rules that match before the first
 * difference, or -errno.
 */
int nft_service_rules_differ(struct nft *n, uint32_t mark_mask,
			     const struct nft_service_spec *spec, size_t *at,
			     struct failure *fail);

/*
 * For tests and `confine check --rules`: print the rules of spec's chain,
 * in libnftnl's expression notation.
 */
int nft_print_service_rules(const struct nft_service_spec *spec,
			    uint32_t mark_mask, FILE *out);
