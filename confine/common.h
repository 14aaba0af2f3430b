#pragma once

/*
 * What the subcommands share: loading policies, the kernel session, the
 * apply sequence (used by both `apply` and `run`), and reporting a failure
 * once, with its object and cause.
 */

#include <stdbool.h>

#include "kernel-helpers/cgroup.h"
#include "kernel-helpers/failure.h"
#include "kernel-helpers/nft.h"
#include "kernel-helpers/rtnl.h"
#include "policy/plan.h"

#define EXIT_FAILED 1
#define EXIT_POLICY 2 /* bad policy or bad usage */

/* Prints "confine: cannot OBJECT: CAUSE (kernel: MSG)" and a hint. */
void report(int err, const struct failure *f);
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses files into plan; on error prints it and returns EXIT_POLICY. */
int load_plan(struct plan *plan, char *const *files, int n_files);

struct session {
	struct nft *nft;
	struct rtnl *rtnl;
	char *cgroup_mnt;
	struct nft_state installed;
	int lock_fd; /* confine's state lock, held until session_close() */
};

/* Commands that change confine's state lock it exclusively. */
enum session_lock { LOCK_SHARED, LOCK_EXCLUSIVE };

/*
 * Takes confine's state lock (see kernel-helpers/lock.h), enters netns
 * (when not NULL), opens the netlink sockets, finds cgroup2 and reads
 * confine's installed state. Reports and returns EXIT_FAILED on failure.
 */
int session_open(struct session *s, const char *netns, enum session_lock mode);
void session_close(struct session *s);
/* Re-reads the installed state after a change. */
int session_refresh(struct session *s);

/* <cgroup2>/<CgroupParent>/<name>, as a rel path. */
char *service_cgroup_rel(const struct plan *plan, const struct service *svc);

/*
 * Completes plan's automatic marks and tables (an installed service keeps
 * the values it has), then installs every service of the plan: cgroups,
 * ip rules and routes, socket-mark programs and the nf_tables batch.
 * extra (may be NULL) is one more cgroup to map to plan->services[0],
 * such as a systemd unit's leaf. On failure, everything this
 * call added is removed again, the failure is reported, and EXIT_FAILED
 * or EXIT_POLICY is returned.
 */
int apply_plan(struct session *s, struct plan *plan,
	       const struct cgroup *extra);

/*
 * Prints a FILE:LINE warning for what the policy allows but a sysadmin
 * would not want: a capability kept with KeepCapabilities= that lets the
 * service undo its confinement, and an exclusive service that takes
 * 127.0.0.1 or ::1 from every other process.
 */
void warn_policy_risks(const struct plan *plan);

/*
 * The output interfaces of each of svc's Allow= destinations, as its
 * installed routing chooses them now (see struct nft_oifs); *out holds
 * svc->n_allows entries, freed with service_oifs_free().
 */
int service_oifs(struct session *s, const struct plan *plan,
		 const struct service *svc, struct nft_oifs **out,
		 struct failure *f);
void service_oifs_free(struct nft_oifs *oifs, size_t n);

/*
 * Warns, at FILE:LINE, when the neighbour table shows that the host behind
 * an exclusive destination answers on addresses the service does not list
 * (its IPv6 link-local address, say), which other processes still reach.
 */
void warn_exclusive_aliases(struct session *s, const struct plan *plan);

/* Fills the automatic values only (as apply_plan does first). */
int assign_plan(struct session *s, struct plan *plan);
