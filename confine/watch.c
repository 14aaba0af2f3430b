// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine watch: the refusals of services that log them (LogRefused=yes),
 * live, one line each, read from NFLOG group NFT_LOG_GROUP. With --alerts,
 * each refusal may run the policy's OnRefused= program, under limits that
 * a flood of refusals cannot get past: a token bucket per (service,
 * destination, port), one for all alerts together, a timeout per run, and
 * a digest line instead of the alerts that were held back.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "confine/commands.h"
#include "confine/common.h"
#include "kernel-helpers/netns.h"
#include "kernel-helpers/nflog.h"
#include "kernel-helpers/nft.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* IP and transport headers; what the rules' snaplen sends is enough. */
#define SNAPLEN 128
/* How often a digest of held-back alerts may be printed, at most. */
#define DIGEST_SECONDS 60
/* Alert keys remembered at once; past that, new keys count as held back. */
#define MAX_KEYS 65536
#define KEY_BUCKETS 4096
/* Alert programs running at once, at most. */
#define MAX_RUNNING 16

struct event {
	struct timespec when;
	char service[NFT_SERVICE_NAME_MAX + 1];
	const char *proto; /* "tcp", "udp", "icmp", "ipv6-icmp", or a number */
	char proto_buf[8];
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	bool has_ports;
	uint16_t sport, dport;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	pid_t pid; /* 0: unknown */
	char comm[64];
};

/* A token bucket: count tokens per unit seconds, at most count kept. */
struct bucket {
	double tokens;
	double last;
};

struct key {
	struct key *next;
	struct bucket b;
	char name[];
};

struct running {
	pid_t pid;
	double deadline;
};

struct watch {
	bool json;
	const char *only; /* -s NAME */
	struct plan *plan; /* with --alerts */
	uint64_t lost, shown;
	/* The last sender found: a flood from one socket is looked up once. */
	unsigned long last_inode;
	pid_t last_pid;
	char last_comm[64];
	bool overrun;
	/* Alerts. */
	struct bucket global;
	struct key *keys[KEY_BUCKETS];
	size_t n_keys;
	uint64_t run, failed, suppressed, suppressed_total, timed_out;
	double last_digest;
	struct running running[MAX_RUNNING];
	size_t n_running;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Takes a token if there is one, refilling by the time passed. */
static bool bucket_take(struct bucket *b, const struct rate *r, double now)
{
	double per_second = (double)r->count / (double)r->unit;

	b->tokens += (now - b->last) * per_second;
	if (b->tokens > r->count)
		b->tokens = r->count;
	b->last = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* ---- reading a logged packet ------------------------------------------ */

static void proto_name(struct event *ev, uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		ev->proto = "tcp";
		return;
	case IPPROTO_UDP:
		ev->proto = "udp";
		return;
	case IPPROTO_ICMP:
		ev->proto = "icmp";
		return;
	case IPPROTO_ICMPV6:
		ev->proto = "ipv6-icmp";
		return;
	}
	snprintf(ev->proto_buf, sizeof(ev->proto_buf), "%u", p);
	ev->proto = ev->proto_buf;
}

/* Addresses, protocol and ports from the packet's first bytes. */
static bool parse_packet(const uint8_t *p, size_t len, struct event *ev,
			 int *family, uint8_t *l4)
{
	size_t off;

	if (len < 1)
		return false;
	if (p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4;
		bool first = ((p[6] & 0x1f) | p[7]) == 0;

		if (len < 20 || ihl < 20)
			return false;
		*family = AF_INET;
		*l4 = p[9];
		inet_ntop(AF_INET, p + 12, ev->src, sizeof(ev->src));
		inet_ntop(AF_INET, p + 16, ev->dst, sizeof(ev->dst));
		off = first ? ihl : len; /* a later fragment has no ports */
	} else if (p[0] >> 4 == 6) {
		if (len < 40)
			return false;
		*family = AF_INET6;
		*l4 = p[6];
		inet_ntop(AF_INET6, p + 8, ev->src, sizeof(ev->src));
		inet_ntop(AF_INET6, p + 24, ev->dst, sizeof(ev->dst));
		off = 40; /* extension headers: no ports shown */
	} else {
		return false;
	}
	proto_name(ev, *l4);
	if ((*l4 == IPPROTO_TCP || *l4 == IPPROTO_UDP) && off + 4 <= len) {
		ev->has_ports = true;
		ev->sport = (uint16_t)(p[off] << 8 | p[off + 1]);
		ev->dport = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
	}
	return true;
}

/* ---- the sending process ---------------------------------------------- */

/*
 * The inode of the socket bound to addr:port in /proc/net/FILE of this
 * network namespace, owned by uid; a wildcard-bound socket matches too.
 * The kernel prints each 32-bit word of an address as the number it is in
 * memory, so the words are compared as such.
 */
static unsigned long socket_inode(const char *file, int family,
				  const uint8_t *addr, uint16_t port, uid_t uid)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[512];
	size_t words = family == AF_INET ? 1 : 4;
	unsigned long found = 0;

	snprintf(path, sizeof(path), "/proc/net/%s", file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) /* the header */
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned lport, luid;
		unsigned long inode;
		bool match = true, wildcard = true;

		if (sscanf(line,
			   "%*s %63[0-9A-Fa-f]:%x %*s %*s %*s %*s %*s %u "
			   "%*s %lu",
			   local, &lport, &luid, &inode) != 4)
			continue;
		if (lport != port || luid != uid || strlen(local) != words * 8)
			continue;
		for (size_t w = 0; w < words; w++) {
			char hex[9];
			uint32_t v, want;

			memcpy(hex, local + w * 8, 8);
			hex[8] = '\0';
			v = (uint32_t)strtoul(hex, NULL, 16);
			memcpy(&want, addr + w * 4, 4);
			match = match && v == want;
			wildcard = wildcard && v == 0;
		}
		if (match || wildcard)
			found = inode;
	}
	return found;
}

/* The process with a descriptor of socket inode, and its command. */
static pid_t socket_owner(unsigned long inode, char *comm, size_t size)
{
	_cleanup_(closedirp) DIR *proc = opendir("/proc");
	char want[64];
	struct dirent *d;

	if (!proc)
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while ((d = readdir(proc))) {
		_cleanup_(closedirp) DIR *fds = NULL;
		struct dirent *fd;
		char path[300];

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", d->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fd = readdir(fds))) {
			char link[300], target[64];
			ssize_t n;

			snprintf(link, sizeof(link), "/proc/%s/fd/%s",
				 d->d_name, fd->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, want) == 0) {
				_cleanup_fclose_ FILE *f = NULL;

				snprintf(path, sizeof(path), "/proc/%s/comm",
					 d->d_name);
				f = fopen(path, "re");
				if (!f || !fgets(comm, (int)size, f))
					snprintf(comm, size, "?");
				comm[strcspn(comm, "\n")] = '\0';
				return (pid_t)atoi(d->d_name);
			}
		}
	}
	return 0;
}

/*
 * The sender, found by its socket: only while that socket is still open
 * (a refused TCP connect closes at once, so it is often gone) and only for
 * TCP and UDP. Otherwise the event says "unknown", never a guess.
 */
static void find_sender(struct watch *w, struct event *ev, const uint8_t *pkt,
			int family, uint8_t l4)
{
	char path[64];
	const char *file;
	unsigned long inode;

	if (!ev->has_ports || !ev->has_uid)
		return;
	if (l4 == IPPROTO_TCP)
		file = family == AF_INET ? "tcp" : "tcp6";
	else
		file = family == AF_INET ? "udp" : "udp6";
	inode = socket_inode(file, family, pkt + (family == AF_INET ? 12 : 8),
			     ev->sport, ev->uid);
	if (!inode)
		return;
	/* Still the same process, if it still has that socket. */
	snprintf(path, sizeof(path), "/proc/%d", (int)w->last_pid);
	if (inode == w->last_inode && w->last_pid && access(path, F_OK) == 0) {
		ev->pid = w->last_pid;
		snprintf(ev->comm, sizeof(ev->comm), "%s", w->last_comm);
		return;
	}
	ev->pid = socket_owner(inode, ev->comm, sizeof(ev->comm));
	w->last_inode = inode;
	w->last_pid = ev->pid;
	snprintf(w->last_comm, sizeof(w->last_comm), "%s", ev->comm);
}

/* ---- output ----------------------------------------------------------- */

static void iso_time(const struct timespec *t, char *buf, size_t size)
{
	struct tm tm;
	char s[32];

	gmtime_r(&t->tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03ldZ", s, t->tv_nsec / 1000000);
}

static void endpoint(const char *addr, bool ports, uint16_t port, char *buf,
		     size_t size)
{
	bool v6 = strchr(addr, ':');

	if (!ports)
		snprintf(buf, size, "%s", addr);
	else
		snprintf(buf, size, v6 ? "[%s]:%u" : "%s:%u", addr, port);
}

/* Prints a JSON object as one line; takes o. */
static void json_line(json_t *o)
{
	if (o)
		json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	fflush(stdout);
	json_decref(o);
}

static void print_event(const struct event *ev, bool json)
{
	char t[48], src[64], dst[64];

	iso_time(&ev->when, t, sizeof(t));
	if (json) {
		json_t *o = json_pack(
			"{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}",
			"type", "refused", "time", t, "service", ev->service,
			"verdict", "reject", "protocol", ev->proto, "src",
			ev->src, "sport",
			ev->has_ports ? json_integer(ev->sport) : json_null(),
			"dst", json_string(ev->dst), "dport",
			ev->has_ports ? json_integer(ev->dport) : json_null(),
			"uid",
			ev->has_uid ? json_integer(ev->uid) : json_null(),
			"gid",
			ev->has_gid ? json_integer(ev->gid) : json_null(),
			"pid", ev->pid ? json_integer(ev->pid) : json_null());

		/* comm is the process's own text: jansson escapes it. */
		if (o)
			json_object_set_new(o, "comm",
					    ev->pid ? json_string(ev->comm) :
						      json_null());
		json_line(o);
		return;
	}
	endpoint(ev->src, ev->has_ports, ev->sport, src, sizeof(src));
	endpoint(ev->dst, ev->has_ports, ev->dport, dst, sizeof(dst));
	printf("%s %s REJECT %s %s -> %s", t, ev->service, ev->proto, src, dst);
	if (ev->has_uid)
		printf(" uid=%u", (unsigned)ev->uid);
	if (ev->has_gid)
		printf(" gid=%u", (unsigned)ev->gid);
	if (ev->pid) {
		/* Shown with %q-like care: a command name is any bytes. */
		printf(" pid=%d comm=", (int)ev->pid);
		for (const char *c = ev->comm; *c; c++)
			if (isprint((unsigned char)*c) && *c != ' ')
				putchar(*c);
			else
				printf("\\x%02x", (unsigned char)*c);
		putchar('\n');
	} else {
		printf(" pid=unknown\n");
	}
	fflush(stdout);
}

static void print_lost(struct watch *w, uint64_t n, bool overrun)
{
	const char *why = overrun ? "the receive buffer overflowed" :
				    "the kernel could not queue them";

	if (w->json) {
		json_line(json_pack("{s:s,s:I,s:s}", "type", "lost", "count",
				    (json_int_t)n, "reason", why));
		return;
	}
	printf("confine watch: %" PRIu64 " events lost: %s\n", n, why);
	fflush(stdout);
}

/* ---- alerts ----------------------------------------------------------- */

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The bucket of key name, made full on first sight; NULL when too many. */
static struct bucket *key_bucket(struct watch *w, const char *name,
				 const struct rate *r, double now)
{
	uint32_t i = hash(name) % KEY_BUCKETS;
	struct key *k;

	for (k = w->keys[i]; k; k = k->next)
		if (strcmp(k->name, name) == 0)
			return &k->b;
	if (w->n_keys >= MAX_KEYS)
		return NULL;
	k = malloc(sizeof(*k) + strlen(name) + 1);
	if (!k)
		return NULL;
	strcpy(k->name, name);
	k->b = (struct bucket){ .tokens = r->count, .last = now };
	k->next = w->keys[i];
	w->keys[i] = k;
	w->n_keys++;
	return &k->b;
}

static void keys_free(struct watch *w)
{
	for (size_t i = 0; i < KEY_BUCKETS; i++) {
		while (w->keys[i]) {
			struct key *k = w->keys[i];

			w->keys[i] = k->next;
			free(k);
		}
	}
}

static void print_digest(struct watch *w, double now)
{
	if (!w->suppressed)
		return;
	if (w->json)
		json_line(json_pack("{s:s,s:I}", "type", "alerts_suppressed",
				    "count", (json_int_t)w->suppressed));
	else
		printf("confine watch: %" PRIu64 " alerts suppressed\n",
		       w->suppressed);
	fflush(stdout);
	w->suppressed = 0;
	w->last_digest = now;
}

/* Reaps finished alert programs and kills those past their time. */
static void reap(struct watch *w, double now)
{
	for (size_t i = 0; i < w->n_running;) {
		struct running *r = &w->running[i];
		int status;
		pid_t p = waitpid(r->pid, &status, WNOHANG);

		if (p == 0 && now < r->deadline) {
			i++;
			continue;
		}
		if (p == 0) {
			/* Its process group: what it started goes too. */
			kill(-r->pid, SIGKILL);
			waitpid(r->pid, &status, 0);
			w->timed_out++;
			fprintf(stderr,
				"confine watch: alert program (PID %d) killed "
				"after %" PRIu32 " s\n",
				(int)r->pid, w->plan->alert_timeout);
		} else if (p > 0 &&
			   (!WIFEXITED(status) || WEXITSTATUS(status))) {
			w->failed++;
		}
		*r = w->running[--w->n_running];
	}
}

static int env_add(char **env, size_t *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int env_add(char **env, size_t *n, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *value = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (r < 0 || asprintf(&env[*n], "%s=%s", key, value) < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/*
 * Runs argv with the event in its environment only: no shell, nothing of
 * the packet on its command line, stdin from /dev/null, a fresh process
 * group so that the timeout ends all of it.
 */
static void run_alert(struct watch *w, char *const *argv,
		      const struct event *ev, double now)
{
	char *env[24] = { 0 };
	size_t n = 0;
	char t[48];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int r;

	iso_time(&ev->when, t, sizeof(t));
	r = env_add(env, &n, "PATH",
		    "/usr/local/sbin:/usr/local/bin:"
		    "/usr/sbin:/usr/bin:/sbin:/bin") ||
	    env_add(env, &n, "CONFINE_TIME", "%s", t) ||
	    env_add(env, &n, "CONFINE_SERVICE", "%s", ev->service) ||
	    env_add(env, &n, "CONFINE_VERDICT", "reject") ||
	    env_add(env, &n, "CONFINE_PROTOCOL", "%s", ev->proto) ||
	    env_add(env, &n, "CONFINE_SRC", "%s", ev->src) ||
	    env_add(env, &n, "CONFINE_DST", "%s", ev->dst) ||
	    env_add(env, &n, "CONFINE_SUPPRESSED", "%" PRIu64,
		    w->suppressed_total);
	if (!r && ev->has_ports)
		r = env_add(env, &n, "CONFINE_SPORT", "%u", ev->sport) ||
		    env_add(env, &n, "CONFINE_DPORT", "%u", ev->dport);
	if (!r && ev->has_uid)
		r = env_add(env, &n, "CONFINE_UID", "%u", (unsigned)ev->uid);
	if (!r && ev->has_gid)
		r = env_add(env, &n, "CONFINE_GID", "%u", (unsigned)ev->gid);
	if (!r)
		r = ev->pid ? env_add(env, &n, "CONFINE_PID", "%d",
				      (int)ev->pid) ||
				      env_add(env, &n, "CONFINE_COMM", "%s",
					      ev->comm) :
			      env_add(env, &n, "CONFINE_PID", "unknown");
	if (r) {
		fprintf(stderr, "confine watch: cannot run %s: %s\n", argv[0],
			strerror(ENOMEM));
		goto out;
	}
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
					 O_RDONLY, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r) {
		w->failed++;
		fprintf(stderr, "confine watch: cannot run %s: %s\n", argv[0],
			strerror(r));
		goto out;
	}
	w->run++;
	w->running[w->n_running++] =
		(struct running){ pid, now + w->plan->alert_timeout };
out:
	for (size_t i = 0; i < n; i++)
		free(env[i]);
}

static void alert(struct watch *w, const struct event *ev, double now)
{
	const struct service *svc = plan_find(w->plan, ev->service);
	char *const *argv = svc ? service_on_refused(w->plan, svc) :
				  w->plan->on_refused.argv;
	char key[NFT_SERVICE_NAME_MAX + INET6_ADDRSTRLEN + 32];
	struct bucket *b;

	if (!argv)
		return;
	snprintf(key, sizeof(key), "%s %s %s %u", ev->service, ev->proto,
		 ev->dst, ev->has_ports ? ev->dport : 0);
	b = key_bucket(w, key, &w->plan->alert_rate, now);
	/* The key's bucket first: a repeated key must not use up the cap. */
	if (!b || !bucket_take(b, &w->plan->alert_rate, now) ||
	    w->n_running == MAX_RUNNING ||
	    !bucket_take(&w->global, &w->plan->alert_limit, now)) {
		w->suppressed++;
		w->suppressed_total++;
		return;
	}
	run_alert(w, argv, ev, now);
}

/* ---- the loop --------------------------------------------------------- */

static void on_event(const struct nflog_event *nev, void *data)
{
	struct watch *w = data;
	struct event ev = { 0 };
	int family = 0;
	uint8_t l4 = 0;

	if (!nft_log_prefix_parse(nev->prefix, ev.service, sizeof(ev.service)))
		return; /* someone else's rule logging to this group */
	if (w->only && strcmp(w->only, ev.service) != 0)
		return;
	if (!parse_packet(nev->packet, nev->len, &ev, &family, &l4))
		return;
	clock_gettime(CLOCK_REALTIME, &ev.when);
	ev.has_uid = nev->has_uid;
	ev.uid = nev->uid;
	ev.has_gid = nev->has_gid;
	ev.gid = nev->gid;
	find_sender(w, &ev, nev->packet, family, l4);
	w->shown++;
	print_event(&ev, w->json);
	if (w->plan)
		alert(w, &ev, now_s());
}

static void print_summary(struct watch *w)
{
	if (w->json) {
		json_line(json_pack(
			"{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "type", "summary",
			"events", (json_int_t)w->shown, "lost",
			(json_int_t)w->lost, "alerts_run", (json_int_t)w->run,
			"alerts_failed", (json_int_t)w->failed,
			"alerts_timed_out", (json_int_t)w->timed_out,
			"alerts_suppressed", (json_int_t)w->suppressed_total));
		return;
	}
	printf("confine watch: %" PRIu64 " events, %" PRIu64 " lost", w->shown,
	       w->lost);
	if (w->plan)
		printf("; %" PRIu64 " alerts run (%" PRIu64 " failed, %" PRIu64
		       " timed out), %" PRIu64 " suppressed",
		       w->run, w->failed, w->timed_out, w->suppressed_total);
	putchar('\n');
	fflush(stdout);
}

static int watch_loop(struct watch *w, struct nflog *l, int sfd)
{
	struct pollfd pfd[2] = { { nflog_fd(l), POLLIN, 0 },
				 { sfd, POLLIN, 0 } };

	for (;;) {
		uint64_t lost = 0;
		bool overrun = false;
		double now;
		int r;

		/* Wake up while programs run, to hold them to their time. */
		r = poll(pfd, 2, w->n_running ? 100 : 1000);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGCHLD)
				return 0;
		}
		if (pfd[0].revents & POLLIN) {
			r = nflog_read(l, on_event, w, &lost, &overrun);
			if (r < 0)
				return r;
			/* A gap after an overrun is what the overrun lost. */
			if (lost || overrun) {
				w->lost += lost;
				print_lost(w, lost, overrun);
			}
		}
		now = now_s();
		if (w->plan) {
			reap(w, now);
			if (now - w->last_digest >= DIGEST_SECONDS)
				print_digest(w, now);
		}
	}
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "service", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "alerts", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct watch w = { 0 };
	const char *netns = NULL;
	struct failure f = { 0 };
	struct nflog *l = NULL;
	struct plan plan;
	bool alerts = false;
	_cleanup_close_ int sfd = -1;
	sigset_t mask;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			netns = optarg;
			break;
		case 's':
			w.only = optarg;
			break;
		case 'j':
			w.json = true;
			break;
		case 'a':
			alerts = true;
			break;
		default:
			return usage_error(argv, c);
		}
	}
	if (optind < argc && !alerts)
		return usage_error(argv, 0);
	if (alerts) {
		r = load_plan(&plan, argv + optind, argc - optind);
		if (r)
			return r;
		w.plan = &plan;
		w.global = (struct bucket){ .tokens = plan.alert_limit.count,
					    .last = now_s() };
		w.last_digest = now_s();
	}
	if (netns && (r = netns_enter(netns, &f)) < 0) {
		r = report(r, &f);
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr,
			"confine watch: cannot watch for signals: %m\n");
		r = EXIT_FAILED;
		goto out;
	}
	r = nflog_open(&l, NFT_LOG_GROUP, SNAPLEN, &f);
	if (r < 0) {
		r = report(r, &f);
		goto out;
	}
	fprintf(stderr,
		"confine watch: reading nflog group %u%s%s; refusals of "
		"services with LogRefused=yes\n",
		NFT_LOG_GROUP, netns ? " in network namespace " : "",
		netns ? netns : "");
	r = watch_loop(&w, l, sfd);
	if (r < 0) {
		fprintf(stderr,
			"confine watch: cannot read nflog group %u: %s\n",
			NFT_LOG_GROUP, strerror(-r));
		r = EXIT_FAILED;
	}
	if (w.plan) {
		/* Whatever still runs has had its chance. */
		for (size_t i = 0; i < w.n_running; i++)
			w.running[i].deadline = 0;
		reap(&w, now_s());
		print_digest(&w, now_s());
	}
	print_summary(&w);
out:
	nflog_close(l);
	keys_free(&w);
	if (alerts)
		plan_free(&plan);
	return r;
}
