// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine run: put the calling process into its service's cgroup, with the
 * service's state in force, and exec the program in place, so that it keeps
 * the PID, environment and file descriptors it was started with (systemd's
 * main PID, notify socket and passed sockets included).
 *
 * Everything that can fail happens before the exec, in this process, and
 * the exec happens only once confinement is proven in force for the cgroup.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine/commands.h"
#include "confine/common.h"
#include "kernel-helpers/caps.h"
#include "kernel-helpers/cleanup.h"
#include "kernel-helpers/fds.h"
#include "kernel-helpers/landlock.h"
#include "kernel-helpers/mounts.h"
#include "kernel-helpers/seccomp-filter.h"
#include "kernel-helpers/sockmark.h"

#define PROBE_PORT 9 /* discard */

static bool allowed(const struct service *svc, int family,
		    const union inet_addr *a, enum l4proto proto, uint16_t port)
{
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct allow *al = &svc->allows[i];

		if ((al->proto == L4_ANY || al->proto == proto) &&
		    prefix_contains(&al->dst, family, a) &&
		    (!al->port_min ||
		     (port >= al->port_min && port <= al->port_max)))
			return true;
	}
	return false;
}

/*
 * Proves that a socket created in cg is the service's: a UDP datagram to a
 * loopback address the service may not reach must be refused by the
 * service's chain (sendto fails with EPERM). Without confinement it would
 * go to a local port and nowhere else. Returns 0, or -errno with reason.
 */
static int probe(const struct cgroup *cg, const struct service *svc,
		 char *reason, size_t size)
{
	static const struct {
		int family;
		const char *addr;
	} candidates[] = {
		{ AF_INET, "127.255.255.254" },
		{ AF_INET6, "::1" },
	};
	union inet_addr a;
	int family = 0, status;
	pid_t pid;

	for (size_t i = 0; i < 2 && !family; i++) {
		inet_pton(candidates[i].family, candidates[i].addr, &a);
		if (!allowed(svc, candidates[i].family, &a, L4_UDP, PROBE_PORT))
			family = candidates[i].family;
	}
	if (!family)
		return 0; /* everything probed is allowed; nothing to prove */

	pid = fork();
	if (pid < 0) {
		snprintf(reason, size, "cannot fork the probe: %s",
			 strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		struct sockaddr_storage ss = { .ss_family = family };
		socklen_t len;
		int fd;

		if (cgroup_join(cg, NULL) < 0)
			_exit(100);
		if (family == AF_INET) {
			struct sockaddr_in *sin = (void *)&ss;

			sin->sin_port = htons(PROBE_PORT);
			memcpy(&sin->sin_addr, &a.v4, sizeof(a.v4));
			len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (void *)&ss;

			sin6->sin6_port = htons(PROBE_PORT);
			memcpy(&sin6->sin6_addr, &a.v6, sizeof(a.v6));
			len = sizeof(*sin6);
		}
		fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			_exit(101);
		if (sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len) == 0)
			_exit(102);
		_exit(errno == EPERM ? 0 : (errno & 0x7f) + 110);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		snprintf(reason, size, "the probe process failed");
		return -ECHILD;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		return 0;
	case 100:
		snprintf(reason, size, "the probe could not join cgroup %s",
			 cg->path);
		return -EPERM;
	case 101:
		snprintf(reason, size, "the probe could not create a socket");
		return -EIO;
	case 102:
		snprintf(reason, size,
			 "a probe socket in cgroup %s sent a datagram to %s "
			 "port %d, which the policy refuses: its packets are "
			 "not the service's",
			 cg->path,
			 family == AF_INET ? "127.255.255.254" : "::1",
			 PROBE_PORT);
		return -EACCES;
	default:
		snprintf(reason, size,
			 "a probe socket in cgroup %s got \"%s\" instead of "
			 "being refused (is the loopback interface up?)",
			 cg->path, strerror(WEXITSTATUS(status) - 110));
		return -EIO;
	}
}

/*
 * Returns 0 when svc is in force for cg, or -errno with reason filled.
 * *sockmarked tells whether sockets of cg are marked from creation; that
 * is required only when require_sockmark.
 */
static int verify(struct session *s, const struct plan *plan,
		  const struct service *svc, const struct cgroup *cg,
		  bool require_sockmark, bool *sockmarked, char *reason,
		  size_t size)
{
	const struct nft_service *is = nft_state_find(&s->installed, svc->name);
	uint32_t mark = mark_of_value(plan->mark_mask, svc->mark_value);
	struct rtnl_service_state st;
	struct nft_oifs *oifs = NULL;
	struct failure f = { 0 };
	bool mapped = false, current;
	int r;

	if (!is) {
		snprintf(reason, size, "service %s is not installed",
			 svc->name);
		return -ENOENT;
	}
	r = service_oifs(s, plan, svc, &oifs, &f);
	if (r < 0) {
		snprintf(reason, size, "cannot %s: %s", f.object, strerror(-r));
		return r;
	}
	current = nft_service_current(is, svc, plan->mark_mask, oifs);
	service_oifs_free(oifs, svc->n_allows);
	if (!current) {
		snprintf(reason, size,
			 "the installed rules of service %s differ from %s, "
			 "or its routes have changed since it was applied",
			 svc->name, svc->file);
		return -ESTALE;
	}
	for (size_t i = 0; i < is->n_cgroups && !mapped; i++)
		mapped = is->cgroups[i].id == cg->id;
	if (!mapped) {
		snprintf(reason, size,
			 "cgroup %s (id %llu) is not in confine's cgroup map",
			 cg->path, (unsigned long long)cg->id);
		return -ENOENT;
	}
	r = rtnl_service_check(s->rtnl, mark, plan->mark_mask, svc->table, svc,
			       &st, &f);
	if (r < 0) {
		snprintf(reason, size, "cannot %s: %s", f.object, strerror(-r));
		return r;
	}
	for (int fam = 0; fam < 2; fam++) {
		const char *v = fam ? "IPv6" : "IPv4";

		if (!st.rule[fam]) {
			snprintf(reason, size,
				 "the %s rule fwmark 0x%x/0x%x lookup %u is "
				 "missing",
				 v, mark, plan->mark_mask, svc->table);
			return -ENOENT;
		}
		if (!st.unreachable[fam]) {
			snprintf(reason, size,
				 "the %s unreachable default route in table "
				 "%u is missing",
				 v, svc->table);
			return -ENOENT;
		}
	}
	if (st.routes_missing) {
		snprintf(reason, size, "%zu route(s) of table %u are missing",
			 st.routes_missing, svc->table);
		return -ENOENT;
	}
	r = sockmark_check(cg->path, mark, sockmarked, &f);
	if (r < 0) {
		snprintf(reason, size, "cannot %s: %s", f.object, strerror(-r));
		return r;
	}
	if (!*sockmarked && require_sockmark) {
		snprintf(reason, size,
			 "the BPF programs that mark the sockets of cgroup %s "
			 "with 0x%x are not attached",
			 cg->path, mark);
		return -ENOENT;
	}
	return probe(cg, svc, reason, size);
}

/*
 * The classic recipe's "set a default gateway" note. An allowed
 * destination that no Route= covers is routed by the main table (table T
 * throws it there); if the main table cannot reach it, connecting fails
 * with ENETUNREACH before confine sees the packet. A Route= destination
 * is fine as long as sockets are marked from creation: their first lookup
 * already uses table T.
 */
static void warn_unrouted(struct session *s, const struct service *svc,
			  bool sockmarked)
{
	for (size_t i = 0; i < svc->n_allows; i++) {
		const struct allow *a = &svc->allows[i];
		struct route_lookup rl;
		bool routed = false, seen = false;
		char dst[64];

		/* One warning per destination, at its first Allow=. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = svc->allows[j].dst.family == a->dst.family &&
			       svc->allows[j].dst.len == a->dst.len &&
			       memcmp(&svc->allows[j].dst.addr, &a->dst.addr,
				      sizeof(a->dst.addr)) == 0;
		for (size_t j = 0; j < svc->n_routes && !routed; j++)
			routed = prefix_contains(&svc->routes[j].dst,
						 a->dst.family, &a->dst.addr);
		if (seen || (routed && sockmarked))
			continue;
		if (rtnl_route_lookup(s->rtnl, a->dst.family, &a->dst.addr, 0,
				      &rl, NULL) == 0 &&
		    (rl.type == RTN_UNICAST || rl.type == RTN_LOCAL))
			continue;
		prefix_format(&a->dst, dst, sizeof(dst));
		warn("%s:%u: service %s: the main table has no route to %s, "
		     "so connecting there fails with \"Network is "
		     "unreachable\" (add a Route= for it, or a route or a "
		     "default gateway to the main table)",
		     svc->file, a->line, svc->name, dst);
	}
}

/* Whom the program runs as: User= and Group=, resolved before anything. */
struct identity {
	bool set_user, set_group;
	uid_t uid;
	gid_t gid;
	char name[64]; /* for initgroups(); "" when User= is a bare number */
};

/*
 * Resolves User= and Group= as the passwd and group databases say now.
 * Returns 0, or EXIT_FAILED after saying which name is unknown.
 */
static int resolve_identity(const struct service *svc, const char *prog,
			    struct identity *id)
{
	char *end;

	*id = (struct identity){ 0 };
	if (svc->user[0]) {
		struct passwd *pw = getpwnam(svc->user);
		unsigned long n = strtoul(svc->user, &end, 10);

		if (pw) {
			id->uid = pw->pw_uid;
			id->gid = pw->pw_gid;
			snprintf(id->name, sizeof(id->name), "%s", svc->user);
		} else if (!*end && end != svc->user) {
			id->uid = (uid_t)n;
			id->gid = (gid_t)n;
		} else {
			fprintf(stderr,
				"confine: cannot start %s: %s:%u: no user "
				"%s\n",
				prog, svc->file, svc->user_line, svc->user);
			return EXIT_FAILED;
		}
		id->set_user = id->set_group = true;
	}
	if (svc->group[0]) {
		struct group *gr = getgrnam(svc->group);
		unsigned long n = strtoul(svc->group, &end, 10);

		if (gr) {
			id->gid = gr->gr_gid;
		} else if (!*end && end != svc->group) {
			id->gid = (gid_t)n;
		} else {
			fprintf(stderr,
				"confine: cannot start %s: %s:%u: no group "
				"%s\n",
				prog, svc->file, svc->group_line, svc->group);
			return EXIT_FAILED;
		}
		id->set_group = true;
	}
	return 0;
}

/*
 * Becomes User= and Group=, as systemd's User= does: supplementary groups
 * first (the user's own, none for a bare number), then the group, then the
 * user, real, effective and saved alike. A uid change away from 0 empties
 * every capability set; the bounding set was trimmed before.
 */
static int become(const struct identity *id, struct failure *f)
{
	if (id->set_user) {
		if (id->name[0] ? initgroups(id->name, id->gid) < 0 :
				  setgroups(0, NULL) < 0) {
			failure_set(f, "set the supplementary groups of %s",
				    id->name[0] ? id->name : "the user");
			return -errno;
		}
	}
	if (id->set_group && setresgid(id->gid, id->gid, id->gid) < 0) {
		failure_set(f, "become group %u", (unsigned)id->gid);
		return -errno;
	}
	if (id->set_user && setresuid(id->uid, id->uid, id->uid) < 0) {
		failure_set(f, "become user %u", (unsigned)id->uid);
		return -errno;
	}
	return 0;
}

/*
 * A descriptor made outside the service keeps what its maker had (see
 * kernel-helpers/fds.h). Returns 0, or EXIT_FAILED after naming each one.
 */
static int refuse_inherited(const struct service *svc, const char *prog)
{
	_cleanup_free_ struct fd_refusal *list = NULL;
	size_t n = 0;
	int r = fds_unsafe(&list, &n);

	if (r < 0) {
		fprintf(stderr,
			"confine: cannot list the descriptors of process %d: "
			"%s\n",
			getpid(), strerror(-r));
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(stderr,
			"confine: refusing to start %s: fd %d is %s: %s; "
			"close it (%d<&-) before confine runs\n",
			prog, list[i].fd, list[i].what, list[i].why,
			list[i].fd);
	return n ? EXIT_FAILED : 0;
}

/*
 * The last steps before exec, in this order: the cgroup namespace and
 * the read-only kernel tunables (both need CAP_SYS_ADMIN, so before the
 * drop), the capability drop, User= and Group=, no_new_privs,
 * a Landlock domain (needs no_new_privs), and the seccomp filter, compiled
 * earlier by the caller and loaded last so that nothing confine itself
 * does afterwards is filtered. Each closes a
 * way out that the nf_tables rules cannot: see docs/security.md.
 */
static int lock_in(const struct service *svc, const struct identity *id,
		   scmp_filter_ctx filter, struct failure *f)
{
	int r = cgroup_ns_enter(f);

	if (r < 0)
		return r;
	r = mounts_protect_kernel(f);
	if (r < 0)
		return r;
	r = caps_drop_undoing(svc->keep_caps, f);
	if (r < 0)
		return r;
	r = become(id, f);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		failure_set(f, "set no_new_privs");
		return -errno;
	}
	r = landlock_enter(f);
	if (r == -EOPNOTSUPP) {
		/* Only a second line behind the seccomp filter. */
		warn("this kernel has no Landlock (Linux 5.13, lsm=landlock): "
		     "processes of the same user outside the service are not "
		     "shielded from it");
		r = 0;
	}
	if (r < 0)
		return r;
	return seccomp_filter_load(filter, f);
}

/*
 * Under a systemd unit the program must stay inside the unit's cgroup, or
 * systemd loses track of its main PID: use a leaf below the unit's cgroup
 * (the unit needs Delegate=yes). Elsewhere, the standalone cgroup.
 */
static int pick_cgroup(struct session *s, const struct plan *plan,
		       const struct service *svc, struct cgroup *cg)
{
	_cleanup_free_ char *self = NULL, *rel = NULL;
	struct failure f = { 0 };
	const char *unit_suffix = ".service";
	size_t len;
	int r;

	if (getenv("INVOCATION_ID") && cgroup_self(&self) == 0 &&
	    (len = strlen(self)) > strlen(unit_suffix) &&
	    strcmp(self + len - strlen(unit_suffix), unit_suffix) == 0) {
		if (asprintf(&rel, "%s/confine-%s", self, svc->name) < 0)
			return -ENOMEM;
		r = cgroup_ensure(s->cgroup_mnt, rel, cg, NULL, &f);
		if (r < 0) {
			report(r, &f);
			if (r == -EACCES || r == -EPERM)
				fprintf(stderr, "confine: give the unit "
						"Delegate=yes\n");
		}
		return r;
	}
	rel = service_cgroup_rel(plan, svc);
	if (!rel)
		return -ENOMEM;
	r = cgroup_ensure(s->cgroup_mnt, rel, cg, NULL, &f);
	if (r < 0)
		report(r, &f);
	return r;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ 0 },
	};
	const char *netns = NULL, *file = NULL, *name = NULL;
	struct cgroup cg = { 0 };
	scmp_filter_ctx filter = NULL;
	struct failure f = { 0 };
	bool sockmarked = false, applied = false;
	struct identity id;
	struct service *svc;
	struct session s;
	struct plan plan, one;
	char reason[512];
	int c, r;

	while ((c = getopt_long(argc, argv, "+p:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			netns = optarg;
			break;
		case 'p':
			file = optarg;
			break;
		case 's':
			name = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!file || optind >= argc)
		goto usage;

	r = load_plan(&plan, (char *const[]){ (char *)file }, 1);
	if (r)
		return r;
	if (name) {
		svc = plan_find(&plan, name);
		if (!svc) {
			fprintf(stderr, "confine: %s has no service named %s\n",
				file, name);
			plan_free(&plan);
			return EXIT_POLICY;
		}
	} else if (plan.n_services == 1) {
		svc = &plan.services[0];
	} else {
		fprintf(stderr,
			"confine: %s holds %zu services; choose one "
			"with -s NAME\n",
			file, plan.n_services);
		plan_free(&plan);
		return EXIT_POLICY;
	}
	/* Before this process opens anything of its own. */
	r = refuse_inherited(svc, argv[optind]);
	if (r == 0)
		r = resolve_identity(svc, argv[optind], &id);
	if (r) {
		plan_free(&plan);
		return r;
	}
	/* Only this service is applied; the file's others are left alone. */
	one = plan;
	one.services = svc;
	one.n_services = 1;

	r = session_open(&s, netns, LOCK_EXCLUSIVE);
	if (r)
		goto out_plan;
	r = assign_plan(&s, &one);
	if (r) {
		r = r > 0 ? r : EXIT_FAILED;
		goto out;
	}
	r = pick_cgroup(&s, &one, svc, &cg);
	if (r < 0) {
		r = EXIT_FAILED;
		goto out;
	}
	if (verify(&s, &one, svc, &cg, true, &sockmarked, reason,
		   sizeof(reason)) < 0) {
		r = apply_plan(&s, &one, &cg);
		if (r)
			goto out;
		applied = true;
		if (verify(&s, &one, svc, &cg, svc->n_routes > 0, &sockmarked,
			   reason, sizeof(reason)) < 0) {
			fprintf(stderr,
				"confine: refusing to start %s: confinement "
				"of service %s is not in force: %s\n",
				argv[optind], svc->name, reason);
			r = EXIT_FAILED;
			goto out;
		}
	}
	warn_unrouted(&s, svc, sockmarked);
	warn_policy_risks(&one);
	if (!applied) /* apply_plan has warned already */
		warn_exclusive_aliases(&s, &one);

	/* Compiled before anything irreversible, so that it fails loudly. */
	r = seccomp_filter_new(&filter, &f);
	if (r < 0) {
		report(r, &f);
		r = EXIT_FAILED;
		goto out;
	}
	r = cgroup_join(&cg, &f);
	if (r < 0) {
		fprintf(stderr,
			"confine: cannot move process %d into cgroup "
			"%s: %s\n",
			getpid(), cg.path, strerror(-r));
		r = EXIT_FAILED;
		goto out;
	}
	session_close(&s);
	r = lock_in(svc, &id, filter, &f);
	if (r < 0) {
		report(r, &f);
		fprintf(stderr, "confine: refusing to start %s unconfined\n",
			argv[optind]);
		r = EXIT_FAILED;
		goto out_closed;
	}
	seccomp_filter_free(filter);
	cgroup_clear(&cg);
	plan_free(&plan);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "confine: cannot execute %s: %s\n", argv[optind],
		strerror(errno));
	return EXIT_FAILED;
out:
	session_close(&s);
out_closed:
	seccomp_filter_free(filter);
	cgroup_clear(&cg);
out_plan:
	plan_free(&plan);
	return r;
usage:
	return usage_error(argv, c);
}
