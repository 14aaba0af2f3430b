#pragma once

/*
 * confine's nf_tables state, through libnftnl + libmnl: one table `inet
 * confine`, changed only in single batches whose every ACK is read and
 * mapped back to the object that failed.
 *
 *   chain output (route hook, priority mangle)
 *       ct direction reply accept            replies are not new egress
 *       socket cgroupv2 level L vmap @cgroup_level_L     one per level
 *       meta mark set meta mark & ~MASK      field 0: "unconfined"
 *       ip daddr . meta l4proto @exclusive_ip4 counter goto refuse
 *       ip6 daddr . meta l4proto @exclusive_ip6 counter goto refuse
 *       meta l4proto udp fib daddr type broadcast jump xcast
 *       meta l4proto udp fib daddr type multicast jump xcast
 *   chain forward (filter hook, priority mangle)
 *       ct direction reply accept
 *       the two exclusive lookups above, for forwarded packets
 *   chain xcast                          one jump per exclusive service
 *       jump xcast_NAME
 *   chain xcast_NAME                     its UDP ports, for others'
 *       udp dport P counter goto refuse  broadcast and multicast
 *   chain svc_NAME (comment: mark, table, exclusive, mask)
 *       <allow match> oifname IF counter mark set (mark & ~MASK) | M accept
 *       counter goto refuse
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

#include "kernel-helpers/failure.h"
#include "policy/plan.h"

#define NFT_TABLE_NAME "confine"

struct nft;

int nft_open(struct nft **out, struct failure *fail);
void nft_close(struct nft *n);

/* A cgroup whose sockets belong to a service. */
struct nft_cgroup {
	uint64_t id;
	uint32_t level;
};

/* A service as installed, read back from the kernel. */
struct nft_service {
	char name[SERVICE_NAME_MAX + 1];
	uint32_t mark_value;
	uint32_t table;
	bool exclusive;
	uint32_t digest; /* of the policy it was installed from */
	struct nft_cgroup *cgroups;
	size_t n_cgroups;
	uint64_t allowed_packets, refused_packets;
};

/* An element of an exclusive_ip4/6 set: a destination range and its owner. */
struct nft_exclusive {
	int family;
	union inet_addr start, end;
	char owner[SERVICE_NAME_MAX + 1];
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
};

int nft_read_state(struct nft *n, struct nft_state *out, struct failure *fail);
void nft_state_free(struct nft_state *s);
const struct nft_service *nft_state_find(const struct nft_state *s,
					 const char *name);

/*
 * The output interfaces by which packets to one Allow= destination may
 * leave: those the service's routing (table T, and what it throws to)
 * chose when the service was applied. A packet leaving by another one had
 * its interface forced (SO_BINDTODEVICE, IP_PKTINFO, ...), and the kernel
 * then treats even an unrouted destination as on-link there. None at all:
 * the destination had no route, and is refused until the next apply.
 */
struct nft_oifs {
	char (*names)[IF_NAMESIZE];
	size_t n;
};

/*
 * Whether installed was installed from exactly this svc and mask, with
 * these output interfaces (one nft_oifs per Allow=).
 */
bool nft_service_current(const struct nft_service *installed,
			 const struct service *svc, uint32_t mask,
			 const struct nft_oifs *oifs);

/* The cgroups to map to one service of the plan, and its interfaces. */
struct nft_service_cgroups {
	const struct service *svc;
	struct nft_cgroup *cgroups;
	size_t n_cgroups;
	const struct nft_oifs *oifs; /* one per Allow= */
};

/*
 * Install or replace the plan's services in one batch, leaving installed
 * services that are not in the plan as they are. cgroups[i] belongs to
 * plan->services[i]. Returns -EEXIST (fail names both services) when an
 * exclusive destination overlaps one that another installed service holds.
 */
int nft_apply(struct nft *n, const struct plan *plan,
	      const struct nft_service_cgroups *cgroups,
	      const struct nft_state *installed, struct failure *fail);

/* Remove the named services in one batch; n_names 0 removes the table. */
int nft_remove(struct nft *n, const struct nft_state *installed,
	       char *const *names, size_t n_names, struct failure *fail);

/*
 * For tests and `confine check --rules`: print the rules that nft_apply
 * would emit for svc, in libnftnl's expression notation. oifs NULL: as if
 * no output interface were pinned (they are known only when applied).
 */
int nft_print_service_rules(const struct service *svc, uint32_t mark_mask,
			    const struct nft_oifs *oifs, FILE *out);
