#pragma once

/*
 * Policy routing over rtnetlink (libmnl): the ip rules `fwmark M/MASK lookup
 * T` and the routes in each service's table T, for IPv4 and IPv6.
 *
 * Every rule and route confine installs carries protocol RTPROT_CONFINE, so
 * that confine can tell its own objects from anyone else's and never touches
 * the latter. All functions return 0 or -errno and fill *fail (may be NULL)
 * with the object they failed on and the kernel's extended ACK message.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/failure.h"
#include <net/if.h>

#include "common/inet.h"

/* "confine" in /etc/iproute2/rt_protos terms; clear of FRR's 186-199. */
#define RTPROT_CONFINE 245
/* Before the main table (32766) and before common VPN rules (5210+). */
#define CONFINE_RULE_PRIORITY 1900

struct rtnl;

int rtnl_open(struct rtnl **out, struct failure *fail);
void rtnl_close(struct rtnl *r);
/*
 * Forget what was read (confine's ip rules, the routes by which allowed
 * destinations leave), so that the next call asks the kernel afresh. A
 * command reads them once and keeps them current with its own changes;
 * a check that must see everyone's changes since forgets them first.
 */
void rtnl_forget(struct rtnl *r);

/*
 * Undo log of what an install call added, so that a failure later in the
 * same command (another service, the nf_tables commit) can take it back.
 */
struct rtnl_undo;
struct rtnl_undo *rtnl_undo_new(void);
/* Deletes what was recorded, newest first; best effort. */
void rtnl_undo_run(struct rtnl *r, struct rtnl_undo *undo);
void rtnl_undo_free(struct rtnl_undo *undo);

/*
 * A route a service's table T should hold besides its unreachable
 * defaults: a Route= (RTN_UNICAST, via gateway and/or dev) or a `throw`
 * for an allowed destination no Route= covers, so that its lookup falls
 * through to the next rules (the main table) and the service reaches it
 * as the host does.
 */
struct rtnl_route {
	uint8_t type; /* RTN_UNICAST or RTN_THROW */
	struct prefix dst;
	bool has_gateway;
	union inet_addr gateway; /* same family as dst */
	char dev[IF_NAMESIZE]; /* "" when not given */
	const char *desc; /* "10.99.0.1 via 10.99.0.254", for messages */
};

/* What a service's routing is: its rule and the routes of its table. */
struct rtnl_service {
	const char *name; /* for messages */
	uint32_t mark, mask; /* the fwmark rule's, already shifted */
	uint32_t table;
	const struct rtnl_route *routes;
	size_t n_routes;
};

/*
 * Add what svc needs and is missing, recording each addition in undo:
 * for IPv4 and IPv6, the rule `fwmark mark/mask lookup table pref
 * CONFINE_RULE_PRIORITY proto confine`, svc's routes in its table, and
 * `unreachable default` at the highest metric, so that nothing else is
 * routed (a default Route= or Allow= of a /0 wins over it). Refuses with
 * -EEXIST, naming the route, if the table holds a route that confine did
 * not install. On failure, what this call added is undone before
 * returning (what earlier calls recorded in undo is left to the caller).
 */
int rtnl_service_install(struct rtnl *r, const struct rtnl_service *svc,
			 struct rtnl_undo *undo, struct failure *fail);

/*
 * After a successful install: delete confine's rules for this mark that
 * point elsewhere or for this table with another mark, and confine's routes
 * in svc->table that svc no longer has.
 */
int rtnl_service_prune(struct rtnl *r, const struct rtnl_service *svc,
		       struct failure *fail);

/* Delete every confine rule that looks up table, and confine's routes in it. */
int rtnl_service_remove(struct rtnl *r, uint32_t table, struct failure *fail);

/* Delete every rule and route with protocol confine, in every table. */
int rtnl_remove_all(struct rtnl *r, struct failure *fail);

/*
 * confine's marker in table: an IPv4 `unreachable default` with protocol
 * confine that no rule looks up, so no packet ever meets it. apply puts it
 * there and remove takes it away with the last service. `nft flush
 * ruleset` leaves it, and so tells status and guard that services were
 * installed here, also when none has routing of its own.
 */
int rtnl_marker_set(struct rtnl *r, uint32_t table, struct rtnl_undo *undo,
		    struct failure *fail);
int rtnl_marker_present(struct rtnl *r, uint32_t table, bool *present,
			struct failure *fail);

/* What of a service's routing is in place; used by status and by run. */
struct rtnl_service_state {
	bool rule[2]; /* [0] IPv4, [1] IPv6: fwmark rule to the table */
	bool unreachable[2]; /* unreachable default in the table */
	size_t routes_missing; /* of svc's routes */
	char missing[192]; /* the first of them, as text */
};
/* svc->routes may be empty (status without a policy). */
int rtnl_service_check(struct rtnl *r, const struct rtnl_service *svc,
		       struct rtnl_service_state *state, struct failure *fail);

/* Result of a FIB lookup, as `ip route get` would show it. */
struct route_lookup {
	unsigned char type; /* RTN_UNICAST, RTN_UNREACHABLE, RTN_LOCAL, ... */
	uint32_t table;
	int oif; /* 0 when none */
	bool has_gateway;
	union inet_addr gateway;
};

/*
 * RTM_GETROUTE for dst with fwmark mark (0 for none). Returns -ENETUNREACH,
 * -EHOSTUNREACH, ... as the kernel does when there is no route.
 */
int rtnl_route_lookup(struct rtnl *r, int family, const union inet_addr *dst,
		      uint32_t mark, struct route_lookup *out,
		      struct failure *fail);

/*
 * The interfaces by which a packet with fwmark mark to dst would leave: a
 * route lookup as the kernel does it for a socket of the service (table,
 * then what it throws to), and for a prefix wider than one address every
 * unicast or local route of the main, local and given tables that
 * overlaps it (each nexthop of a multipath route). *oifs is malloc'd; *n
 * is 0 when dst has no route at all.
 */
int rtnl_allow_oifs(struct rtnl *r, uint32_t mark, uint32_t table,
		    const struct prefix *dst, int **oifs, size_t *n,
		    struct failure *fail);

/* A neighbour table entry with a link-layer address. */
struct rtnl_neighbour {
	int family;
	int ifindex;
	union inet_addr addr;
	unsigned char lladdr[32];
	size_t lladdr_len;
};

/*
 * The IPv4 and IPv6 neighbours that have a link-layer address (neither
 * incomplete nor failed). *out is malloc'd.
 */
int rtnl_neighbours(struct rtnl *r, struct rtnl_neighbour **out, size_t *n,
		    struct failure *fail);

/* An ip rule that matches the packet mark, anyone's. */
struct rtnl_rule {
	int family;
	uint32_t priority;
	uint32_t mark, mask; /* mask 0xffffffff when the rule gave none */
	uint32_t table;
	uint8_t protocol;
	bool invert; /* `not fwmark ...` */
	bool confine; /* one of confine's lookups (protocol confine) */
};

/*
 * The fwmark rules of both families, everyone's, but for `fwmark 0/0`,
 * which uses no mark bit. *out is malloc'd.
 */
int rtnl_fwmark_rules(struct rtnl *r, struct rtnl_rule **out, size_t *n,
		      struct failure *fail);
