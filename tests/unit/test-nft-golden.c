// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The nf_tables expressions confine emits for a policy, compared with
 * golden files: tests/golden/nft/NAME.policy beside NAME.expected, the
 * rules in libnftnl's notation (as nftables' tests/py *.payload files).
 * Set CONFINE_UPDATE_GOLDEN=1 to rewrite the expected files after a
 * deliberate change, and review the diff.
 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/lower.h"
#include "kernel-helpers/nft.h"
#include "policy/plan.h"

static char *render(const char *policy)
{
	struct taken none = { 0 };
	struct policy_error err;
	struct plan plan;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	plan_init(&plan);
	if (policy_parse_file(&plan, policy, &err) < 0 ||
	    plan_assign(&plan, &none, &err) < 0) {
		fprintf(f, "error: %s\n", err.msg);
	} else {
		for (size_t i = 0; i < plan.n_services; i++) {
			fprintf(f, "## service %s\n", plan.services[i].name);
			struct lowered low;

			/* Interfaces are pinned only when applied. */
			if (lower_service(&plan, &plan.services[i], NULL, NULL,
					  0, &low) < 0)
				continue;
			nft_print_service_rules(&low.nft, plan.mark_mask, f);
			lowered_free(&low);
		}
	}
	plan_free(&plan);
	fclose(f);
	return out;
}

static char *slurp(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

int main(int argc, char **argv)
{
	const char *update = getenv("CONFINE_UPDATE_GOLDEN");
	_cleanup_free_ char *dir = NULL;
	int failed = 0, checked = 0;
	struct dirent **names;
	int n;

	if (argc != 2 || asprintf(&dir, "%s/golden/nft", argv[1]) < 0) {
		fprintf(stderr, "usage: test-nft-golden TESTS_DIR\n");
		return 2;
	}
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		perror(dir);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *policy = NULL, *expected_path = NULL;
		_cleanup_free_ char *got = NULL, *expected = NULL;
		char *dot = strstr(names[i]->d_name, ".policy");

		if (!dot || dot[strlen(".policy")] != '\0') {
			free(names[i]);
			continue;
		}
		if (asprintf(&policy, "%s/%s", dir, names[i]->d_name) < 0 ||
		    asprintf(&expected_path, "%s/%.*s.expected", dir,
			     (int)(dot - names[i]->d_name),
			     names[i]->d_name) < 0)
			return 1;
		free(names[i]);
		got = render(policy);
		if (!got)
			return 1;
		checked++;
		if (update && strcmp(update, "1") == 0) {
			FILE *f = fopen(expected_path, "we");

			if (!f || fputs(got, f) < 0 || fclose(f) != 0) {
				perror(expected_path);
				return 1;
			}
			printf("updated %s\n", expected_path);
			continue;
		}
		expected = slurp(expected_path);
		if (expected && strcmp(got, expected) == 0) {
			printf("ok %s\n", policy);
			continue;
		}
		failed++;
		printf("FAIL %s: emitted rules differ from %s\n--- got\n%s",
		       policy, expected_path, got);
	}
	free(names);
	if (!checked) {
		fprintf(stderr, "no golden policies in %s\n", dir);
		return 1;
	}
	printf("%d of %d golden files match\n", checked - failed, checked);
	return failed ? 1 : 0;
}
