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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-helpers/cleanup.h"
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

	printf("%d of %d policy checks passed\n", checked - failed, checked);
	return failed ? 1 : 0;
}
