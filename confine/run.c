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
#include "common/cleanup.h"
#include "kernel-helpers/fds.h"
#include "kernel-helpers/landlock.h"
#include "kernel-helpers/mounts.h"
#include "policy/lint.h"
#include "kernel-helpers/seccomp-filter.h"
#include "kernel-helpers/sockmark.h"

/*
 * The classic recipe's "set a default gateway" note. An allowed
 * destination that no Route= covers is routed by the main table (table T
 * throws it there); if the main table cannot reach it, connecting fails
 * with ENETUNREACH before confine sees the packet. A Route= destination
 * is fine as long as sockets are marked from creation: their first lookup
 * already uses table T.
 */
static void warn_unrouted(struct engine *s, const struct service *svc,
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
	r = caps_drop(caps_undoing() & ~svc->keep_caps, f);
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

/* The engine's check, for the service as installed now (if at all). */
static int in_force(struct engine *e, const struct plan *plan,
		    const struct service *svc, const struct cgroup *cg,
		    bool require_sockmark, struct verdict *v, struct failure *f)
{
	const struct nft_service *is = nft_state_find(&e->installed, svc->name);

	if (!is) {
		*v = (struct verdict){ 0 };
		snprintf(v->reason, sizeof(v->reason),
			 "service %s is not installed", svc->name);
		return 0;
	}
	return engine_verify(e, is, plan, svc, cg, require_sockmark, v, f);
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
		r = cgroup_ensure(s->e.cgroup_mnt, rel, cg, NULL, &f);
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
	r = cgroup_ensure(s->e.cgroup_mnt, rel, cg, NULL, &f);
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
	bool applied = false;
	struct identity id;
	struct service *svc;
	struct session s;
	struct plan plan, one;
	struct notes notes = { 0 };
	struct verdict v;
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
	svc = pick_service(&plan, file, name);
	if (!svc) {
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
	r = engine_assign(&s.e, &one, &f);
	if (r < 0) {
		r = report(r, &f);
		goto out;
	}
	r = pick_cgroup(&s, &one, svc, &cg);
	if (r < 0) {
		r = EXIT_FAILED;
		goto out;
	}
	/*
	 * Compiled before anything irreversible, so that it fails loudly.
	 * In the cgroup before the check, so that this process sends the
	 * probe itself: one fork fewer at every start.
	 */
	r = seccomp_filter_new(&filter, &f);
	if (r < 0) {
		r = report(r, &f);
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
	r = in_force(&s.e, &one, svc, &cg, true, &v, &f);
	if (r == 0 && !v.in_force) {
		fprintf(stderr,
			"confine: service %s is not in force: %s; applying "
			"it again\n",
			svc->name, v.reason);
		r = apply_plan(&s, &one, &cg);
		if (r)
			goto out;
		applied = true;
		r = in_force(&s.e, &one, svc, &cg, svc->n_routes > 0, &v, &f);
		if (r == 0 && !v.in_force) {
			fprintf(stderr,
				"confine: refusing to start %s: confinement "
				"of service %s is not in force: %s\n",
				argv[optind], svc->name, v.reason);
			r = EXIT_FAILED;
			goto out;
		}
	}
	if (r < 0) {
		r = report(r, &f);
		goto out;
	}
	warn_unrouted(&s.e, svc, v.sockmarked);
	plan_lint(&one, &notes);
	if (!applied) /* apply_plan has warned already */
		lint_exclusive_aliases(&s.e, &one, &notes);
	print_notes(&notes);

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
