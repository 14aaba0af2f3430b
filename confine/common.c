// SPDX-License-Identifier: GPL-2.0-or-later
/* See common.h. */

#include <dirent.h>
#include <linux/capability.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "confine/common.h"
#include "common/cleanup.h"
#include "kernel-helpers/lock.h"

/* Whether a seccomp filter, not a missing privilege, refused us. */
static bool under_seccomp(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			return atoi(line + 8) == 2;
	return false;
}

/* Whether CAP_NET_ADMIN is in this process's effective set. */
static bool has_net_admin(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			return (strtoull(line + 7, NULL, 16) >> CAP_NET_ADMIN) &
			       1;
	return true; /* unknown: do not claim it is missing */
}

int report(int err, const struct failure *f)
{
	if (f->policy) {
		fprintf(stderr, "%s\n", f->object);
		return EXIT_POLICY;
	}
	fprintf(stderr, "confine: cannot %s: %s", f->object, strerror(-err));
	if (f->kernel_msg[0])
		fprintf(stderr, " (kernel: %s)", f->kernel_msg);
	fputc('\n', stderr);
	/*
	 * The kernel answers a rule with an expression it does not know with
	 * ENOENT (no such expression type) or EOPNOTSUPP: name the feature.
	 */
	if ((err == -ENOENT || err == -EOPNOTSUPP) &&
	    f->op == FAIL_OP_SOCKET_CGROUP)
		fprintf(stderr, "confine: this kernel lacks nf_tables "
				"`socket cgroupv2` matching in output route "
				"chains (Linux 5.13 or later, "
				"CONFIG_NFT_SOCKET)\n");
	else if (err == -EPERM && !has_net_admin())
		fprintf(stderr, "confine: this needs root (CAP_NET_ADMIN and "
				"write access to cgroupfs), and this process "
				"lacks CAP_NET_ADMIN\n");
	else if (err == -EPERM && under_seccomp())
		fprintf(stderr, "confine: a seccomp filter refuses this "
				"(/proc/self/status says Seccomp: 2); run "
				"confine where its system calls are allowed\n");
	else if (err == -EPERM)
		fprintf(stderr, "confine: this needs root (CAP_NET_ADMIN and "
				"write access to cgroupfs)\n");
	return EXIT_FAILED;
}

void print_notes(struct notes *notes)
{
	for (size_t i = 0; i < notes->n; i++)
		fprintf(stderr, "%s\n", notes->lines[i]);
	if (notes->err)
		warn("some warnings were lost: %s", strerror(-notes->err));
	notes_free(notes);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("confine: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int is_policy(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return de->d_name[0] != '.' && len > 7 &&
	       strcmp(de->d_name + len - 7, ".policy") == 0;
}

const char *policy_dir(void)
{
	const char *env = getenv("CONFINE_POLICY_DIR");

	return env && *env ? env : CONFINE_POLICY_DIR;
}

int policy_dir_files(char ***files, int *n)
{
	struct dirent **list = NULL;
	char **out;
	int count = scandir(policy_dir(), &list, is_policy, alphasort);

	*files = NULL;
	*n = 0;
	if (count < 0)
		return errno == ENOENT ? 0 : -errno;
	out = calloc((size_t)count + 1, sizeof(*out));
	for (int i = 0; i < count; i++) {
		if (out && asprintf(&out[i], "%s/%s", policy_dir(),
				    list[i]->d_name) < 0)
			out[i] = NULL;
		if (out && !out[i]) {
			files_free(out, i);
			out = NULL;
		}
		free(list[i]);
	}
	free(list);
	if (!out)
		return -ENOMEM;
	*files = out;
	*n = count;
	return 0;
}

void files_free(char **files, int n)
{
	for (int i = 0; files && i < n; i++)
		free(files[i]);
	free(files);
}

struct service *pick_service(const struct plan *plan, const char *file,
			     const char *name)
{
	struct service *svc;

	if (name) {
		svc = plan_find(plan, name);
		if (!svc)
			fprintf(stderr, "confine: %s has no service named %s\n",
				file, name);
		return svc;
	}
	if (plan->n_services == 1)
		return &plan->services[0];
	fprintf(stderr,
		"confine: %s holds %zu services; choose one with -s NAME\n",
		file, plan->n_services);
	return NULL;
}

int load_plan(struct plan *plan, char *const *files, int n_files)
{
	struct policy_error err;
	char **found = NULL;
	int r;

	if (!n_files) {
		r = policy_dir_files(&found, &n_files);
		if (r < 0) {
			fprintf(stderr, "confine: cannot read %s: %s\n",
				policy_dir(), strerror(-r));
			return EXIT_FAILED;
		}
		if (!n_files) {
			files_free(found, 0);
			fprintf(stderr,
				"confine: no policy files given and none in "
				"%s (*.policy)\n",
				policy_dir());
			return EXIT_POLICY;
		}
		files = found;
	}
	plan_init(plan);
	for (int i = 0; i < n_files; i++) {
		if (policy_parse_file(plan, files[i], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			plan_free(plan);
			files_free(found, n_files);
			return EXIT_POLICY;
		}
	}
	if (plan->n_services == 0) {
		fprintf(stderr, "confine: no [Service] in %s%s\n", files[0],
			n_files > 1 ? " and the other files" : "");
		plan_free(plan);
		files_free(found, n_files);
		return EXIT_POLICY;
	}
	files_free(found, n_files);
	return 0;
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

/*
 * Takes confine's state lock, waiting for it up to CONFINE_LOCK_TIMEOUT
 * seconds (60 by default, 0: not at all) and saying so once.
 */
static int lock_state(struct session *s, enum session_lock mode)
{
	const char *env = getenv("CONFINE_LOCK_TIMEOUT");
	long timeout = env && *env ? strtol(env, NULL, 10) : 60;
	struct timespec start, tick = { 0, 20 * 1000 * 1000 };
	struct failure f = { 0 };
	bool said = false;
	int r;

	r = state_lock_open(&s->lock_fd, &f);
	if (r < 0) {
		s->lock_fd = -1;
		report(r, &f);
		return EXIT_FAILED;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((r = state_lock_take(s->lock_fd, mode == LOCK_EXCLUSIVE)) ==
	       -EWOULDBLOCK) {
		pid_t holder = state_lock_holder(s->lock_fd);
		char who[32] = "";

		if (holder)
			snprintf(who, sizeof(who), " (PID %d)", (int)holder);
		if (elapsed_ms(&start) >= timeout * 1000) {
			fprintf(stderr,
				"confine: giving up after %ld s: another "
				"confine command%s holds %s\n",
				timeout, who, STATE_LOCK_PATH);
			return EXIT_FAILED;
		}
		/*
		 * A holder that let go between our try and our look at
		 * /proc/locks shows as none: try again before saying so.
		 */
		if (!said && (holder || elapsed_ms(&start) >= 500)) {
			fprintf(stderr,
				"confine: waiting for another confine "
				"command%s to finish\n",
				who);
			said = true;
		}
		nanosleep(&tick, NULL);
	}
	if (r < 0) {
		fprintf(stderr, "confine: cannot lock %s: %s\n",
			STATE_LOCK_PATH, strerror(-r));
		return EXIT_FAILED;
	}
	return 0;
}

int session_open(struct session *s, const char *netns, enum session_lock mode)
{
	struct failure f = { 0 };
	int r;

	*s = (struct session){ .lock_fd = -1 };
	/* Held from the first reading of the state to the last write. */
	r = lock_state(s, mode);
	if (r) {
		session_close(s);
		return r;
	}
	r = engine_open(&s->e, netns, &f);
	if (r < 0) {
		session_close(s);
		return report(r, &f);
	}
	return 0;
}

void session_close(struct session *s)
{
	engine_close(&s->e);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

int apply_plan(struct session *s, struct plan *plan, const struct cgroup *extra)
{
	struct notes notes = { 0 };
	struct failure f = { 0 };
	int r = engine_apply(&s->e, plan, extra, &notes, &f);

	print_notes(&notes);
	return r < 0 ? report(r, &f) : 0;
}
