// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy parser against golden files, run from the tests directory so
 * that file names in messages are stable:
 *   golden/policy/good/NAME.policy  parsed and completed, then printed as
 *                                   `confine check` does: NAME.expected
 *   golden/policy/bad/NAME.policy   refused; its first line is
 *                                   "# expect: MESSAGE", the exact error
 *   golden/policy/bad/NAME.policies a list of files parsed into one plan,
 *                                   for checks across files; same header
 * CONFINE_UPDATE_GOLDEN=1 rewrites the .expected files.
 */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "policy/plan.h"

static int failed, checked;

static char *slurp(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &cap, '\0', f) < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static void check(bool ok, const char *what, const char *got, const char *want)
{
	checked++;
	if (ok) {
		printf("ok %s\n", what);
		return;
	}
	failed++;
	printf("FAIL %s\n  got:  %s\n  want: %s\n", what, got, want);
}

static void good(const char *path)
{
	_cleanup_free_ char *expected_path = NULL, *want = NULL;
	struct taken none = { 0 };
	struct policy_error err = { "" };
	struct plan plan;
	char *got = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&got, &len);

	if (asprintf(&expected_path, "%.*s.expected",
		     (int)(strlen(path) - strlen(".policy")), path) < 0 ||
	    !out)
		exit(1);
	plan_init(&plan);
	if (policy_parse_file(&plan, path, &err) < 0 ||
	    plan_assign(&plan, &none, &err) < 0)
		fprintf(out, "error: %s\n", err.msg);
	else
		plan_print(&plan, out);
	plan_free(&plan);
	fclose(out);
	if (getenv("CONFINE_UPDATE_GOLDEN")) {
		FILE *f = fopen(expected_path, "we");

		if (!f || fputs(got, f) < 0 || fclose(f))
			exit(1);
	}
	want = slurp(expected_path);
	check(want && strcmp(got, want) == 0, path, got, want ? want : "");
	free(got);
}

/* The "# expect: " header of a bad case. */
static char *expectation(const char *path)
{
	_cleanup_free_ char *text = slurp(path);
	const char *tag = "# expect: ";
	char *nl;

	if (!text || strncmp(text, tag, strlen(tag)) != 0)
		return NULL;
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	return strdup(text + strlen(tag));
}

static void bad(const char *path, bool list)
{
	_cleanup_free_ char *want = expectation(path);
	struct policy_error err = { "" };
	struct taken none = { 0 };
	struct plan plan;
	int r = 0;

	if (!want) {
		check(false, path, "(no \"# expect:\" line)", "");
		return;
	}
	plan_init(&plan);
	if (list) {
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		char line[512];

		while (r == 0 && f && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] && line[0] != '#')
				r = policy_parse_file(&plan, line, &err);
		}
	} else {
		r = policy_parse_file(&plan, path, &err);
	}
	if (r == 0)
		r = plan_assign(&plan, &none, &err);
	plan_free(&plan);
	check(r < 0 && strcmp(err.msg, want) == 0, path,
	      r < 0 ? err.msg : "(accepted)", want);
}

static void each(const char *dir, void (*fn)(const char *, const char *))
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	if (n < 0) {
		perror(dir);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;

		if (names[i]->d_name[0] != '.' &&
		    asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0)
			fn(path, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void good_file(const char *path, const char *name)
{
	if (ends_with(name, ".policy"))
		good(path);
}

static void bad_file(const char *path, const char *name)
{
	if (ends_with(name, ".policy"))
		bad(path, false);
	else if (ends_with(name, ".policies"))
		bad(path, true);
}

/*
 * The trust checks that need no root: modes, sticky directories, symlinks
 * through a writable directory, files that are not regular. Owners other
 * than root and the caller are in tests/netns/policy-file-trust.sh.
 */
static char tmp[64];

static char *at(const char *name)
{
	static char buf[4][256];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s%s%s", tmp, *name ? "/" : "", name);
	return b;
}

/* Parses path: want is "" for accepted, else the exact message. */
static void trusted(const char *what, const char *path, int want_r,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void trusted(const char *what, const char *path, int want_r,
		    const char *fmt, ...)
{
	struct policy_error err = { "" };
	char want[512];
	struct plan plan;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	plan_init(&plan);
	r = policy_parse_file(&plan, path, &err);
	plan_free(&plan);
	check(r == want_r && strcmp(r < 0 ? err.msg : "", want) == 0, what,
	      r < 0 ? err.msg : "(accepted)", *want ? want : "(accepted)");
}

static void must(int r, const char *what)
{
	if (r < 0) {
		perror(what);
		exit(1);
	}
}

static void trust_checks(void)
{
	static const char policy[] = "[Service]\nName=x\n"
				     "Allow=udp 10.0.0.1:514\n";
	FILE *f;

	/* mkdtemp makes 0700 under /tmp, which is root's and sticky. */
	umask(022);
	snprintf(tmp, sizeof(tmp), "/tmp/confine-test-policy-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(1);
	}
	f = fopen(at("a.policy"), "we");
	if (!f || fputs(policy, f) < 0 || fclose(f))
		exit(1);
	must(mkdir(at("w"), 0755), "mkdir");
	must(mkdir(at("ok"), 0755), "mkdir");
	must(symlink("../a.policy", at("w/link")), "symlink");
	must(symlink("../w/b.policy", at("ok/link")), "symlink");
	must(link(at("a.policy"), at("w/b.policy")), "link");
	must(mkfifo(at("fifo"), 0600), "mkfifo");

	trusted("trust: 0644 in a mkdtemp dir under sticky /tmp",
		at("a.policy"), 0, "%s", "");
	must(chmod(at("a.policy"), 0666), "chmod");
	trusted("trust: file 0666", at("a.policy"), -EPERM,
		"confine: refusing policy %s: it is writable by others "
		"(mode 0666); chmod go-w %s",
		at("a.policy"), at("a.policy"));
	must(chmod(at("a.policy"), 0664), "chmod");
	trusted("trust: file 0664", at("a.policy"), -EPERM,
		"confine: refusing policy %s: it is writable by its group "
		"(mode 0664); chmod g-w %s",
		at("a.policy"), at("a.policy"));
	must(chmod(at("a.policy"), 0600), "chmod");
	trusted("trust: file 0600", at("a.policy"), 0, "%s", "");

	must(chmod(tmp, 0777), "chmod");
	trusted("trust: directory 0777", at("a.policy"), -EPERM,
		"confine: refusing policy %s: directory %s is writable by "
		"others (mode 0777) and not sticky; chmod go-w %s",
		at("a.policy"), tmp, tmp);
	must(chmod(tmp, 0770), "chmod");
	trusted("trust: directory 0770", at("a.policy"), -EPERM,
		"confine: refusing policy %s: directory %s is writable by "
		"its group (mode 0770) and not sticky; chmod g-w %s",
		at("a.policy"), tmp, tmp);
	must(chmod(tmp, 01777), "chmod");
	trusted("trust: directory 1777 (sticky)", at("a.policy"), 0, "%s", "");
	must(chmod(tmp, 0700), "chmod");

	/* A symlink in a writable directory could be swapped: the way in. */
	trusted("trust: symlink in a trusted dir", at("w/link"), 0, "%s", "");
	must(chmod(at("w"), 0757), "chmod");
	trusted("trust: symlink in a writable dir", at("w/link"), -EPERM,
		"confine: refusing policy %s: directory %s is writable by "
		"others (mode 0757) and not sticky; chmod o-w %s",
		at("w/link"), at("w"), at("w"));
	/* A trusted symlink to a file in a writable directory: the target. */
	trusted("trust: symlink to a file in a writable dir", at("ok/link"),
		-EPERM,
		"confine: refusing policy %s: directory %s is writable by "
		"others (mode 0757) and not sticky; chmod o-w %s",
		at("ok/link"), at("w"), at("w"));
	must(chmod(at("w"), 0755), "chmod");
	trusted("trust: through .. and a symlink", at("ok/../ok/link"), 0, "%s",
		"");

	trusted("trust: a FIFO is refused without blocking", at("fifo"), -EPERM,
		"confine: refusing policy %s: it is a FIFO, not a regular file",
		at("fifo"));
	trusted("trust: a directory", at("ok"), -EPERM,
		"confine: refusing policy %s: it is a directory, not a regular "
		"file",
		at("ok"));

	unlink(at("fifo"));
	unlink(at("w/b.policy"));
	unlink(at("ok/link"));
	unlink(at("w/link"));
	rmdir(at("ok"));
	rmdir(at("w"));
	unlink(at("a.policy"));
	rmdir(tmp);
}

int main(int argc, char **argv)
{
	struct policy_error err;
	struct plan plan;

	if (argc != 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: test-policy TESTS_DIR\n");
		return 2;
	}
	each("golden/policy/good", good_file);
	each("golden/policy/bad", bad_file);

	/* An unreadable file is an error of its own kind, not a policy one. */
	plan_init(&plan);
	check(policy_parse_file(&plan, "golden/policy/none.policy", &err) ==
			      -ENOENT &&
		      strcmp(err.msg, "golden/policy/none.policy: cannot "
				      "open: No such file or directory") == 0,
	      "missing file", err.msg, "-ENOENT and its message");
	plan_free(&plan);

	trust_checks();

	printf("%d of %d policy checks passed\n", checked - failed, checked);
	return failed ? 1 : 0;
}
