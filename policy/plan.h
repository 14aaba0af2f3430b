#pragma once

/*
 * The plan: what a set of policy files asks for, as plain data. The parser
 * fills it, plan_assign() completes the automatic values, and the kernel
 * helpers lower it to nf_tables objects, ip rules, routes and cgroups. No
 * libnftnl or netlink types appear here, so the whole policy/ directory is
 * testable without privileges.
 */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/inet.h"
#include "common/names.h"

#define SERVICE_NAME_MAX 48

/* confine's own bits of the packet mark; other bits are never touched. */
#define DEFAULT_MARK_MASK 0xff000000u
#define DEFAULT_CGROUP_PARENT "confine"
/* Routing tables picked automatically are TABLE_AUTO_BASE + mark value. */
#define TABLE_AUTO_BASE 19000u
/*
 * Table TABLE_AUTO_BASE itself holds confine's marker: an unreachable
 * default that no rule looks up, present while services are installed,
 * so that what `nft flush ruleset` leaves behind tells a flushed confine
 * from a removed one (see rtnl.h). No service may use it.
 */
#define MARKER_TABLE TABLE_AUTO_BASE

enum l4proto {
	L4_ANY,
	L4_TCP,
	L4_UDP,
	L4_ICMP, /* ICMP for IPv4, ICMPv6 for IPv6 */
};

struct allow {
	enum l4proto proto;
	struct prefix dst;
	uint16_t port_min, port_max; /* both 0: every port */
	unsigned line;
};

struct route {
	struct prefix dst;
	bool has_gateway;
	union inet_addr gateway; /* same family as dst */
	char dev[IF_NAMESIZE]; /* "" when not given */
	unsigned line;
};

/*
 * A rate as LogRate= and the alert limits take it: count per unit seconds
 * ("10/minute" is count 10, unit 60). count 0: not given.
 */
struct rate {
	uint32_t count;
	uint32_t unit;
};

/*
 * The refusal log of a service: LogRefused=, LogRate=, LogBurst=, each
 * from the [Service], else from [Confine], else the defaults below.
 */
#define DEFAULT_LOG_RATE ((struct rate){ 6, 60 })
#define DEFAULT_LOG_BURST 10u
struct log_settings {
	bool on;
	struct rate rate;
	uint32_t burst;
};

/* What `confine watch --alerts` may run, and how often ([Confine]). */
#define DEFAULT_ALERT_RATE ((struct rate){ 1, 3600 })
#define DEFAULT_ALERT_LIMIT ((struct rate){ 20, 3600 })
#define DEFAULT_ALERT_TIMEOUT 10u

/* "OnRefused=": a program and its arguments, split at blanks. */
struct command_line {
	char **argv; /* NULL-terminated, owned; NULL: not given */
	unsigned line;
};

struct service {
	char name[SERVICE_NAME_MAX + 1];
	char *file; /* owned */
	unsigned line; /* of its [Service] header */
	struct allow *allows;
	size_t n_allows;
	struct route *routes;
	size_t n_routes;
	bool exclusive;
	/*
	 * mark_value is the service's number in confine's mark field, 1 to
	 * mark_field_size() - 1 (0 means "unconfined": every packet of no
	 * service leaves with the field cleared); 0 until plan_assign() picks
	 * one. table is the routing table, 0 likewise.
	 */
	uint32_t mark_value;
	unsigned mark_line; /* 0 when Mark= was not given */
	uint32_t table;
	unsigned table_line;
	/*
	 * Capabilities that `run` would drop for undoing confinement but
	 * that KeepCapabilities= keeps (bit N is capability N).
	 */
	uint64_t keep_caps;
	unsigned keep_cap_line[64]; /* where each was named */
	/*
	 * User= and Group=: whom `run` becomes after the lock-in, a name or
	 * a number, resolved when `run` starts; "" when not given.
	 */
	char user[64];
	unsigned user_line;
	char group[64];
	unsigned group_line;
	/* Logging and alerts as given here; 0 lines: not given. */
	bool log_refused;
	unsigned log_refused_line;
	struct rate log_rate;
	uint32_t log_burst;
	struct command_line on_refused;
};

struct plan {
	uint32_t mark_mask;
	char cgroup_parent[256]; /* relative to the cgroup2 root, no leading /
				  */
	struct service *services;
	size_t n_services;
	/* "FILE:LINE" of MarkMask= and CgroupParent=; NULL: not given. */
	char *mark_mask_where, *cgroup_parent_where;
	/* [Confine]'s defaults for the services, and the alert limits. */
	bool log_refused;
	unsigned log_refused_line;
	struct rate log_rate;
	uint32_t log_burst;
	struct command_line on_refused;
	struct rate alert_rate; /* per service, destination and port */
	struct rate alert_limit; /* for all alerts together */
	uint32_t alert_timeout; /* seconds */
	/* The services' positions by name, kept by the parser. */
	struct name_map by_name;
};

/* Filled on a policy error; msg starts "FILE:LINE: ". */
struct policy_error {
	char msg[512];
};

void plan_init(struct plan *plan);
void plan_free(struct plan *plan);

/*
 * Parse one policy file and append its services to plan. Returns 0, or
 * -EINVAL with err filled (a bad policy), or -errno when the file cannot be
 * read (err filled too). Cross-service checks (duplicate names, marks,
 * tables) run over everything parsed so far.
 */
int policy_parse_file(struct plan *plan, const char *path,
		      struct policy_error *err);

/*
 * Whether svc has routing of its own: a mark, a routing table and an ip
 * rule per family. Only Route=, Mark= or Table= ask for it. The packets of
 * any other service leave by the host's routes and its chain alone decides
 * what they may reach, so that the ip rules, which every route lookup on
 * the host walks, grow only with the services that route differently.
 */
bool service_routed(const struct service *svc);

/* The service called name, or NULL. */
struct service *plan_find(const struct plan *plan, const char *name);
/* name_of_fn for plan->services, for plan->by_name. */
const char *plan_service_name(const void *services, size_t i);

/* Values already taken by services installed outside this plan. */
struct taken {
	uint32_t *marks; /* mark values */
	size_t n_marks;
	uint32_t *tables;
	size_t n_tables;
};

/*
 * Give every service without Mark=/Table= a value: the lowest mark value not
 * used in the plan or in taken, and TABLE_AUTO_BASE + that value. Returns
 * -ENOSPC (err filled) when the mark field is full, -EEXIST (err filled)
 * when an explicit value collides with taken.
 */
int plan_assign(struct plan *plan, const struct taken *taken,
		struct policy_error *err);

/* Number of distinct values in the mark field, e.g. 256 for 0xff000000. */
uint32_t mark_field_size(uint32_t mask);
/* The packet mark for a field value: value shifted into the mask. */
uint32_t mark_of_value(uint32_t mask, uint32_t value);

/* Text forms used in messages, the plan dump and status. */
const char *l4proto_name(enum l4proto p);
/* "udp 10.99.0.1:514", "tcp [fd00::1]:600-700", "icmp 10.0.0.0/8" */
void allow_format(const struct allow *a, char *buf, size_t size);
/* "10.99.0.1 via 10.99.0.254 dev eth0" */
void route_format(const struct route *r, char *buf, size_t size);

/* "NET_ADMIN" for capability 12 (the number when it has no name). */
const char *capability_name(int cap, char *buf, size_t size);

/* A service's refusal log, its own keys over [Confine]'s. */
struct log_settings service_log(const struct plan *plan,
				const struct service *svc);
/* A service's OnRefused= over [Confine]'s; NULL when neither gives one. */
char *const *service_on_refused(const struct plan *plan,
				const struct service *svc);
/* "6/minute" */
void rate_format(const struct rate *r, char *buf, size_t size);
void command_line_free(struct command_line *c);

/* Print the plan as `confine check` shows it. */
void plan_print(const struct plan *plan, FILE *out);
