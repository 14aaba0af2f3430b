#pragma once

/*
 * The engine: what turns a plan (policy/) into kernel objects (through
 * kernel-helpers/), with every addition undone when a later step fails,
 * and the one check of whether a service is in force, which `run` and
 * `status` share. It never prints: it returns 0 or -errno with a struct
 * failure, and leaves what the user should read in struct notes.
 *
 *   session.c  the netlink sockets, the cgroup2 mount, the installed state
 *   lower.c    a service of the plan as nf_tables and rtnetlink take it
 *   apply.c    installing a plan, with undo
 *   verify.c   "in force"
 *   lint.c     warnings about a plan as the host sees it
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/failure.h"
#include "common/notes.h"
#include "kernel-helpers/cgroup.h"
#include "kernel-helpers/nft.h"
#include "kernel-helpers/rtnl.h"
#include "policy/plan.h"

_Static_assert(SERVICE_NAME_MAX <= NFT_SERVICE_NAME_MAX,
	       "a service name must fit nf_tables' chain comment");

struct engine {
	struct nft *nft;
	struct rtnl *rtnl;
	char *cgroup_mnt;
	struct nft_state installed;
};

/*
 * Finds cgroup2, enters netns (when not NULL), opens the netlink sockets
 * and reads confine's installed state.
 */
int engine_open(struct engine *e, const char *netns, struct failure *f);
void engine_close(struct engine *e);
/* Re-reads the installed state after a change. */
int engine_refresh(struct engine *e, struct failure *f);

/* <CgroupParent>/<name>, relative to the cgroup2 root, with a leading /. */
char *service_cgroup_rel(const struct plan *plan, const struct service *svc);

/*
 * Completes plan's automatic marks and tables; an installed service keeps
 * the values it has. A conflict with installed services is a policy error
 * (f->policy set, f->object the whole message).
 */
int engine_assign(struct engine *e, struct plan *plan, struct failure *f);

/*
 * Assigns, then installs every service of the plan: cgroups, ip rules and
 * routes, socket-mark programs and the nf_tables batch. extra (may be
 * NULL) is one more cgroup to map to plan->services[0], such as a systemd
 * unit's leaf. On failure, everything this call added is removed again.
 */
int engine_apply(struct engine *e, struct plan *plan,
		 const struct cgroup *extra, struct notes *notes,
		 struct failure *f);

/*
 * Removes the named services (n_names 0: every one, and whatever an
 * interrupted command left), refusing with -EBUSY while a cgroup of one
 * still has processes, and with -ENOENT when one is not installed.
 */
int engine_remove(struct engine *e, char *const *names, size_t n_names,
		  struct failure *f);

/*
 * The output interfaces of each of svc's Allow= destinations as its
 * installed routing chooses them now; *out holds one array of names per
 * Allow=, freed with oifs_free().
 */
struct oifs {
	char (*names)[IF_NAMESIZE];
	size_t n;
};
int service_oifs(struct engine *e, const struct plan *plan,
		 const struct service *svc, struct oifs **out,
		 struct failure *f);
void oifs_free(struct oifs *oifs, size_t n);

/* Whether a service is in force, and if not, the first thing missing. */
struct verdict {
	bool in_force;
	bool sockmarked; /* its sockets are marked from creation */
	char reason[512];
};

/*
 * The one "in force" check, which `run` and `status` share. For installed
 * service is, in this order: it has a cgroup in confine's map, and cg
 * (NULL: the first mapped cgroup that still exists) is one; the IPv4 and
 * IPv6 ip rules and unreachable defaults are there, and the routes of the
 * policy's service svc (NULL: no policy to compare with); what is
 * installed was made from svc, with the interfaces its routes choose now;
 * the socket-mark programs are attached to the cgroup (when
 * require_sockmark); and a probe process in the cgroup has its datagram
 * to a loopback address counted by the service's chain, and refused when
 * svc does not allow it. Returns 0 with v filled (v->reason names the
 * first missing piece), or -errno when it could not check.
 */
int engine_verify(struct engine *e, const struct nft_service *is,
		  const struct plan *plan, const struct service *svc,
		  const struct cgroup *cg, bool require_sockmark,
		  struct verdict *v, struct failure *f);

/* One service to check, for engine_verify_many(), and its verdict. */
struct verify_item {
	const struct nft_service *is;
	const struct service *svc; /* of the policy; NULL: none to compare */
	struct verdict v;
};

/*
 * engine_verify() of every item, each in every mapped cgroup, as one
 * batch: the probes of all services are sent by one process, between two
 * readings of the counters, so that checking 10,000 services is linear.
 */
int engine_verify_many(struct engine *e, const struct plan *plan,
		       struct verify_item *items, size_t n,
		       bool require_sockmark, struct failure *f);

/*
 * What is left of services that are not installed as a whole: confine's
 * ip rules whose table no nf_tables service uses (what `nft flush
 * ruleset` leaves behind). One "NOT IN FORCE" line each, in out. (Cgroups
 * are not asked: the cgroup tree is the host's, shared by every network
 * namespace, so a cgroup without a service here may be another's.)
 */
int engine_leftovers(struct engine *e, struct notes *out, struct failure *f);

/*
 * Warnings about a plan as this host sees it: an exclusive destination
 * whose host also answers on addresses the service does not list (from
 * the neighbour table).
 */
void lint_exclusive_aliases(struct engine *e, const struct plan *plan,
			    struct notes *notes);
