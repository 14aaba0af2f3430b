// SPDX-License-Identifier: GPL-2.0-or-later

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "confine/commands.h"
#include "confine/common.h"
#include "engine/lower.h"
#include "policy/lint.h"

/* Needs no privileges: automatic values are shown as the plan has them. */
int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", no_argument, NULL, 'r' },
		{ 0 },
	};
	struct taken none = { 0 };
	struct notes notes = { 0 };
	struct policy_error err;
	struct plan plan;
	bool rules = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'r')
			return usage_error(argv, c);
		rules = true;
	}
	r = load_plan(&plan, argv + optind, argc - optind);
	if (r)
		return r;
	if (plan_assign(&plan, &none, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		plan_free(&plan);
		return EXIT_POLICY;
	}
	plan_print(&plan, stdout);
	plan_lint(&plan, &notes);
	print_notes(&notes);
	for (size_t i = 0; rules && i < plan.n_services && r == 0; i++) {
		struct lowered low;

		printf("\n# nf_tables rules of service %s\n",
		       plan.services[i].name);
		/* Interfaces are pinned only when applied. */
		r = lower_service(&plan, &plan.services[i], NULL, NULL, 0,
				  &low);
		if (r == 0)
			r = nft_print_service_rules(&low.nft, plan.mark_mask,
						    stdout);
		lowered_free(&low);
	}
	plan_free(&plan);
	if (r < 0) {
		fprintf(stderr, "confine: cannot print the rules: %s\n",
			strerror(-r));
		return EXIT_FAILED;
	}
	return 0;
}
