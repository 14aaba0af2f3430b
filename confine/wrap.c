// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine wrap UNIT -p FILE [-s NAME] [--dry-run] and confine unwrap UNIT:
 * write or remove the drop-in /etc/systemd/system/UNIT.d/confine.conf that
 * puts `confine run` in front of the unit's own ExecStart= command.
 *
 * The command is read from the running systemd (`systemctl show -p
 * ExecStartEx`), so it is the one systemd would run: after every drop-in,
 * with specifiers resolved. systemd prints it as
 *
 *	ExecStartEx={ path=P ; argv[]=A0 A1... ; flags=F... ; ... }
 *
 * with the arguments joined by single spaces: an argument that itself
 * holds a space cannot be told apart (confine(8) says so), and one with a
 * quote, a backslash, ';' or '%' is refused. A path that is not argv[0]
 * (the `@` prefix) is refused too: confine run cannot pass it on.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine/commands.h"
#include "confine/common.h"
#include "common/cleanup.h"

#define DROPIN_NAME "confine.conf"
#define DROPIN_HEADER "# Written by confine wrap; confine unwrap removes it.\n"

/* Where drop-ins go; CONFINE_SYSTEMD_DIR moves it (for the tests). */
static const char *unit_dir(void)
{
	const char *d = getenv("CONFINE_SYSTEMD_DIR");

	return d && *d ? d : "/etc/systemd/system";
}

/* systemctl; CONFINE_SYSTEMCTL names another (the tests' recorded one). */
static const char *systemctl(void)
{
	const char *s = getenv("CONFINE_SYSTEMCTL");

	return s && *s ? s : "systemctl";
}

/*
 * A unit name as systemctl completes it: "rsyslog" is "rsyslog.service".
 * Only service units run a command confine can wrap.
 */
static int unit_name(const char *arg, char **out)
{
	const char *dot = strrchr(arg, '.');

	if (!*arg || strchr(arg, '/') || arg[0] == '.') {
		fprintf(stderr, "confine: '%s' is not a unit name\n", arg);
		return EXIT_POLICY;
	}
	if (dot && strcmp(dot, ".service") != 0) {
		fprintf(stderr,
			"confine: %s is not a service unit; only a "
			".service runs a command that confine can wrap\n",
			arg);
		return EXIT_POLICY;
	}
	if (asprintf(out, dot ? "%s" : "%s.service", arg) < 0)
		return EXIT_FAILED;
	return 0;
}

/*
 * Runs systemctl with argv (argv[0] is replaced by systemctl()); with out,
 * its standard output is read into *out. Returns its exit status, or -1
 * when it could not run (said on stderr).
 */
static int run_systemctl(char **argv, char **out)
{
	_cleanup_fclose_ FILE *mem = NULL;
	char *buf = NULL, chunk[4096];
	size_t size = 0;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	argv[0] = (char *)systemctl();
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "confine: cannot make a pipe: %m\n");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "confine: cannot fork: %m\n");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (out && dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "confine: cannot run %s: %m\n", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	mem = open_memstream(&buf, &size);
	while (mem && (n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		fwrite(chunk, 1, (size_t)n, mem);
	}
	close(fds[0]);
	if (mem)
		fclose(TAKE_PTR(mem));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "confine: cannot wait for %s: %m\n",
				argv[0]);
			free(buf);
			return -1;
		}
	}
	if (!buf) {
		fprintf(stderr, "confine: out of memory\n");
		return -1;
	}
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The value of KEY= among lines ("KEY=VALUE\n..."), or NULL. */
static const char *show_value(const char *lines, const char *key, size_t *len)
{
	size_t klen = strlen(key);

	for (const char *p = lines; p && *p; p = strchr(p, '\n'), p += !!p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			*len = strcspn(p, "\n");
			return p;
		}
	}
	return NULL;
}

/* The unit's one command, as systemd will run it. */
struct unit_command {
	char *path; /* path= */
	char *argv; /* argv[]=, its words joined by spaces */
	char prefix[8]; /* ExecStart= prefix characters for the flags */
	char *undo; /* lines that lift the unit's sandboxing where it stops
		       confine run; NULL: none needed */
};

static void unit_command_free(struct unit_command *c)
{
	free(c->path);
	free(c->argv);
	free(c->undo);
}

/* Field NAME= of "{ a=x ; b=y ; ... }" (len bytes), copied into *out. */
static int exec_field(const char *v, size_t len, const char *name, char **out)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i + nlen < len; i++) {
		if ((i == 0 || v[i - 1] == ' ') &&
		    strncmp(v + i, name, nlen) == 0 && v[i + nlen] == '=') {
			const char *s = v + i + nlen + 1;
			const char *end = strstr(s, " ; ");

			if (!end || end > v + len)
				end = v + len - 2; /* before " }" */
			*out = strndup(s, (size_t)(end - s));
			return *out ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

/*
 * The ExecStart= prefix characters for systemd's flags (systemd.service(5)
 * "Command lines"); a flag it does not know is refused.
 */
static int flags_prefix(const char *unit, const char *flags, char *prefix)
{
	static const struct {
		const char *flag;
		const char *prefix;
	} known[] = {
		{ "ignore-failure", "-" }, { "privileged", "+" },
		{ "no-setuid", "!" },	   { "ambient", "!!" },
		{ "no-env-expand", ":" },
	};
	_cleanup_free_ char *copy = strdup(flags);
	char *save = NULL;

	if (!copy)
		return EXIT_FAILED;
	prefix[0] = '\0';
	for (char *w = strtok_r(copy, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(w, known[i].flag) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			fprintf(stderr,
				"confine: %s: ExecStart= has flag %s, which "
				"confine wrap does not know; write the "
				"drop-in by hand (confine(8), SYSTEMD)\n",
				unit, w);
			return EXIT_FAILED;
		}
		strcat(prefix, known[i].prefix);
	}
	return 0;
}

/* Whether the space-separated list v (len bytes) holds word. */
static bool has_word(const char *v, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = 0; i + wlen <= len; i++)
		if ((i == 0 || v[i - 1] == ' ') &&
		    strncasecmp(v + i, word, wlen) == 0 &&
		    (i + wlen == len || v[i + wlen] == ' '))
			return true;
	return false;
}

/*
 * The lines that lift those of the unit's sandboxing settings that would
 * stop confine run (each says why), and only those, so the rest of the
 * unit's hardening stays. confine run drops CAP_SYS_ADMIN and
 * CAP_NET_ADMIN again before it executes the daemon.
 */
static int sandbox_undo(const char *show, char **undo)
{
	_cleanup_fclose_ FILE *f = NULL;
	char *text = NULL;
	size_t size = 0, len;
	const char *v;

	f = open_memstream(&text, &size);
	if (!f)
		return EXIT_FAILED;
	v = show_value(show, "ProtectControlGroups", &len);
	if (v && len == 3 && strncmp(v, "yes", 3) == 0)
		fputs("# confine run creates the daemon's cgroup below the "
		      "unit's.\n"
		      "ProtectControlGroups=no\n",
		      f);
	v = show_value(show, "RestrictNamespaces", &len);
	if (v && !(len == 2 && strncmp(v, "no", 2) == 0) &&
	    !(has_word(v, len, "cgroup") && has_word(v, len, "mnt")))
		fputs("# confine run gives the daemon a cgroup namespace, and "
		      "mounts its cgroup\n"
		      "# there in a mount namespace.\n"
		      "RestrictNamespaces=cgroup mnt\n",
		      f);
	v = show_value(show, "CapabilityBoundingSet", &len);
	if (v && (!has_word(v, len, "cap_sys_admin") ||
		  !has_word(v, len, "cap_net_admin")))
		fputs("# confine run needs them to lock the daemon in; it "
		      "drops both before it\n"
		      "# executes the daemon.\n"
		      "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_NET_ADMIN\n",
		      f);
	/* Allowed by an allow list, taken out of a deny list. */
	v = show_value(show, "SystemCallFilter", &len);
	if (v && len > 0 && !(len == 1 && v[0] == '~'))
		fputs("# confine run makes that mount namespace.\n"
		      "SystemCallFilter=unshare mount umount2 mount_setattr\n",
		      f);
	v = show_value(show, "RestrictAddressFamilies", &len);
	if (v && len > 0 && v[0] != '~' && !has_word(v, len, "AF_NETLINK"))
		fputs("# confine run talks netlink to nf_tables and "
		      "routing.\n"
		      "RestrictAddressFamilies=AF_NETLINK\n",
		      f);
	if (fclose(TAKE_PTR(f)) != 0) {
		free(text);
		return EXIT_FAILED;
	}
	if (!*text) {
		free(text);
		text = NULL;
	}
	*undo = text;
	return 0;
}

/* Reads the unit's ExecStart= command; refuses what it cannot wrap. */
static int read_unit(const char *unit, struct unit_command *c)
{
	char *argv[] = { NULL,
			 "show",
			 "--no-pager",
			 "-p",
			 "LoadState,User,ExecStartEx,ProtectControlGroups,"
			 "RestrictNamespaces,CapabilityBoundingSet,"
			 "RestrictAddressFamilies,SystemCallFilter",
			 "--",
			 (char *)unit,
			 NULL };
	_cleanup_free_ char *out = NULL, *flags = NULL;
	const char *v, *first, *argv0_end;
	size_t len, len2;
	int r;

	r = run_systemctl(argv, &out);
	if (r < 0)
		return EXIT_FAILED;
	if (r != 0) {
		fprintf(stderr,
			"confine: cannot read %s: `%s show` exited with %d\n",
			unit, systemctl(), r);
		return EXIT_FAILED;
	}
	v = show_value(out, "LoadState", &len);
	if (!v || len != 6 || strncmp(v, "loaded", 6) != 0) {
		fprintf(stderr, "confine: %s: no such unit (LoadState=%.*s)\n",
			unit, v ? (int)len : 0, v ? v : "");
		return EXIT_FAILED;
	}
	v = show_value(out, "ExecStartEx", &len);
	if (!v || len == 0 || v[0] != '{') {
		fprintf(stderr, "confine: %s has no ExecStart= command\n",
			unit);
		return EXIT_FAILED;
	}
	first = v;
	/* systemctl prints one ExecStartEx= line per command. */
	if (show_value(v + len, "ExecStartEx", &len2)) {
		fprintf(stderr,
			"confine: %s has more than one ExecStart= command; "
			"confine wrap wraps a unit with exactly one\n",
			unit);
		return EXIT_FAILED;
	}
	if (exec_field(first, len, "path", &c->path) < 0 ||
	    exec_field(first, len, "argv[]", &c->argv) < 0 ||
	    exec_field(first, len, "flags", &flags) < 0) {
		fprintf(stderr,
			"confine: cannot read %s's ExecStart= from `%s "
			"show`: %.*s\n",
			unit, systemctl(), (int)len, v);
		return EXIT_FAILED;
	}
	if (strstr(c->argv, "/confine run ") ||
	    strncmp(c->argv, "confine ", 8) == 0) {
		fprintf(stderr,
			"confine: %s already runs under confine: %s\n"
			"confine: run `confine unwrap %s` first\n",
			unit, c->argv, unit);
		return EXIT_FAILED;
	}
	/* With the @ prefix, argv[0] is not the path: confine run has no
	 * way to pass a different argv[0] on. */
	argv0_end = c->argv + strcspn(c->argv, " ");
	if (strlen(c->path) != (size_t)(argv0_end - c->argv) ||
	    strncmp(c->path, c->argv, strlen(c->path)) != 0) {
		fprintf(stderr,
			"confine: %s runs %s with argv[0] %.*s (the @ "
			"prefix); confine run cannot set another argv[0], so "
			"this unit cannot be wrapped\n",
			unit, c->path, (int)(argv0_end - c->argv), c->argv);
		return EXIT_FAILED;
	}
	r = flags_prefix(unit, flags, c->prefix);
	if (r)
		return r;
	/* With ! or !!, User= applies to the unit's other commands only. */
	v = show_value(out, "User", &len);
	if (v && len > 0 && !(len == 4 && strncmp(v, "root", 4) == 0) &&
	    !strchr(c->prefix, '!')) {
		fprintf(stderr,
			"confine: %s sets User=%.*s, but confine run must "
			"start as root: remove User= from the unit and put "
			"it in the policy's [Service] instead\n",
			unit, (int)len, v);
		return EXIT_POLICY;
	}
	return sandbox_undo(out, &c->undo);
}

/*
 * Whether s holds none of the characters ExecStart= would read as quoting,
 * escaping, a specifier or a separator, nor any of also.
 */
static bool plain(const char *s, const char *also)
{
	return !s[strcspn(s, "\"'\\;%")] && !s[strcspn(s, also)];
}

/* The policy, and the service to run: as confine run will choose it. */
static int check_policy(const char *file, const char *name)
{
	struct plan plan;
	int r;

	r = load_plan(&plan, (char *const[]){ (char *)file }, 1);
	if (r)
		return r;
	if (!pick_service(&plan, file, name))
		r = EXIT_POLICY;
	plan_free(&plan);
	return r;
}

static int write_dropin(const char *dir, const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "confine: cannot create %s: %m\n", dir);
		return EXIT_FAILED;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return EXIT_FAILED;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "confine: cannot create %s: %m\n", tmp);
		return EXIT_FAILED;
	}
	/* Written aside and renamed: systemd never reads half a file. */
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "confine: cannot write %s: %m\n", path);
		unlink(tmp);
		return EXIT_FAILED;
	}
	return 0;
}

static int daemon_reload(void)
{
	char *argv[] = { NULL, "daemon-reload", NULL };
	int r = run_systemctl(argv, NULL);

	if (r > 0)
		fprintf(stderr, "confine: `%s daemon-reload` exited with %d\n",
			systemctl(), r);
	return r == 0 ? 0 : EXIT_FAILED;
}

int cmd_wrap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ 0 },
	};
	_cleanup_free_ char *unit = NULL, *policy = NULL, *self = NULL,
			    *dir = NULL, *path = NULL, *text = NULL;
	struct unit_command c = { 0 };
	const char *file = NULL, *name = NULL;
	bool dry_run = false;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "p:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			file = optarg;
			break;
		case 's':
			name = optarg;
			break;
		case 'd':
			dry_run = true;
			break;
		default:
			return usage_error(argv, ch);
		}
	}
	if (!file || argc - optind != 1)
		return usage_error(argv, ch);
	r = unit_name(argv[optind], &unit);
	if (r)
		return r;
	/* The unit runs with / as its working directory. */
	policy = realpath(file, NULL);
	if (!policy) {
		fprintf(stderr, "confine: cannot read %s: %m\n", file);
		return EXIT_POLICY;
	}
	r = check_policy(policy, name);
	if (r)
		return r;
	self = realpath("/proc/self/exe", NULL);
	if (!self) {
		fprintf(stderr,
			"confine: cannot find confine's own path: %m\n");
		return EXIT_FAILED;
	}
	r = read_unit(unit, &c);
	if (r)
		goto out;
	/* The arguments arrive joined by spaces: those stay separators. */
	if (!plain(c.argv, "") || !plain(policy, " \t$") ||
	    !plain(self, " \t$") || (name && !plain(name, " \t$"))) {
		fprintf(stderr,
			"confine: %s: the command (%s), the policy's path or "
			"the service name holds a quote, a backslash, ';', "
			"'%%', or a space or '$' in a path, which confine "
			"wrap does not write into ExecStart=; write the "
			"drop-in by hand\n",
			unit, c.argv);
		r = EXIT_FAILED;
		goto out;
	}
	if (asprintf(
		    &text,
		    DROPIN_HEADER
		    "# confine run puts the daemon in <unit cgroup>/confine-NAME:\n"
		    "# Delegate=yes gives the unit the cgroups below its own.\n"
		    "# confine's messages (why it refused to start the daemon)\n"
		    "# go to the journal: journalctl -u %s.\n"
		    "[Service]\n"
		    "Delegate=yes\n"
		    "StandardError=journal\n"
		    "%s"
		    "ExecStart=\n"
		    "ExecStart=%s%s run -p %s%s%s -- %s\n",
		    unit, c.undo ? c.undo : "", c.prefix, self, policy,
		    name ? " -s " : "", name ? name : "", c.argv) < 0) {
		r = EXIT_FAILED;
		goto out;
	}
	if (dry_run) {
		fputs(text, stdout);
		r = fflush(stdout) == 0 ? 0 : EXIT_FAILED;
		goto out;
	}
	if (asprintf(&dir, "%s/%s.d", unit_dir(), unit) < 0 ||
	    asprintf(&path, "%s/" DROPIN_NAME, dir) < 0) {
		r = EXIT_FAILED;
		goto out;
	}
	r = write_dropin(dir, path, text);
	if (r == 0)
		r = daemon_reload();
	if (r == 0)
		fprintf(stderr,
			"confine: wrote %s; `systemctl restart %s` starts it "
			"confined\n",
			path, unit);
out:
	unit_command_free(&c);
	return r;
}

int cmd_unwrap(int argc, char **argv)
{
	static const struct option opts[] = { { 0 } };
	_cleanup_free_ char *unit = NULL, *dir = NULL, *path = NULL;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1)
		return usage_error(argv, ch);
	if (argc - optind != 1)
		return usage_error(argv, ch);
	r = unit_name(argv[optind], &unit);
	if (r)
		return r;
	if (asprintf(&dir, "%s/%s.d", unit_dir(), unit) < 0 ||
	    asprintf(&path, "%s/" DROPIN_NAME, dir) < 0)
		return EXIT_FAILED;
	if (unlink(path) < 0) {
		fprintf(stderr, "confine: cannot remove %s: %m\n", path);
		return EXIT_FAILED;
	}
	/* The directory goes too when nothing else is in it. */
	if (rmdir(dir) < 0 && errno != ENOTEMPTY && errno != EEXIST)
		fprintf(stderr, "confine: warning: cannot remove %s: %m\n",
			dir);
	r = daemon_reload();
	if (r == 0)
		fprintf(stderr,
			"confine: removed %s; `systemctl restart %s` starts "
			"it unconfined\n",
			path, unit);
	return r;
}
