// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine doctor: prints engine_doctor()'s findings, as text or JSON, and
 * exits by the worst: 1 for an error, 3 for a warning, 0 otherwise.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "confine/commands.h"
#include "confine/common.h"
#include "engine/doctor.h"

/* A warning but no error; 2 stays "bad policy or usage". */
#define EXIT_DOCTOR_WARNING 3

static void print_text(const struct findings *fs)
{
	size_t count[3] = { 0 };

	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->items[i];

		count[x->severity]++;
		printf("%s: %s: %s\n", severity_name(x->severity), x->check,
		       x->found);
		if (x->severity != SEVERITY_INFO || strcmp(x->check, "kernel"))
			printf("  why: %s\n  fix: %s\n", x->why, x->fix);
	}
	printf("%zu error%s, %zu warning%s, %zu info\n", count[SEVERITY_ERROR],
	       count[SEVERITY_ERROR] == 1 ? "" : "s", count[SEVERITY_WARNING],
	       count[SEVERITY_WARNING] == 1 ? "" : "s", count[SEVERITY_INFO]);
}

static int print_json(const struct findings *fs)
{
	json_auto_t *list = json_array();
	json_auto_t *root = NULL;

	if (!list)
		goto nomem;
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->items[i];

		if (json_array_append_new(
			    list, json_pack("{s:s,s:s,s:s,s:s,s:s}", "severity",
					    severity_name(x->severity), "check",
					    x->check, "found", x->found, "why",
					    x->why, "fix", x->fix)) < 0)
			goto nomem;
	}
	root = json_pack("{s:o}", "findings", TAKE_PTR(list));
	if (!root)
		goto nomem;
	if (json_dumpf(root, stdout, JSON_COMPACT) < 0 || putchar('\n') < 0) {
		fprintf(stderr, "confine: cannot print the findings: %m\n");
		return EXIT_FAILED;
	}
	return 0;
nomem:
	/* A finding whose text is not UTF-8 lands here too. */
	fprintf(stderr, "confine: cannot build the findings as JSON\n");
	return EXIT_FAILED;
}

/*
 * The policy, when there is one: FILE..., else the policy directory's
 * files; doctor runs without any. *plan is NULL then.
 */
static int doctor_plan(struct plan *plan, struct plan **with, char **files,
		       int n_files)
{
	char **found = NULL;
	int n = 0, r;

	*with = NULL;
	if (!n_files) {
		r = policy_dir_files(&found, &n);
		files_free(found, n);
		if (r < 0 || n == 0)
			return 0;
	}
	r = load_plan(plan, files, n_files);
	if (r)
		return r;
	*with = plan;
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	struct doctor_options o = { 0 };
	struct findings fs = { 0 };
	struct failure f = { 0 };
	struct plan plan, *with = NULL;
	const char *root = getenv("CONFINE_DOCTOR_ROOT");
	bool json = false;
	int c, r, ret = 0;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.netns = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return usage_error(argv, c);
		}
	}
	r = doctor_plan(&plan, &with, argv + optind, argc - optind);
	if (r)
		return r;
	o.plan = with;
	o.root = root ? root : "";
	r = engine_doctor(&o, &fs, &f);
	if (r < 0) {
		ret = report(r, &f);
		goto out;
	}
	if (fs.err)
		warn("some findings were lost: %s", strerror(-fs.err));
	if (json)
		ret = print_json(&fs);
	else
		print_text(&fs);
	for (size_t i = 0; i < fs.n && !ret; i++)
		if (fs.items[i].severity == SEVERITY_ERROR)
			ret = EXIT_FAILED;
	for (size_t i = 0; i < fs.n && !ret; i++)
		if (fs.items[i].severity == SEVERITY_WARNING)
			ret = EXIT_DOCTOR_WARNING;
out:
	findings_free(&fs);
	if (with)
		plan_free(with);
	return ret;
}
