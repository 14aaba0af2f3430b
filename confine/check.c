// SPDX-License-Identifier: GPL-2.0-or-later

#include <getopt.h>
#include <stdio.h>

#include "confine/commands.h"
#include "confine/common.h"

/* Needs no privileges: automatic values are shown as the plan has them. */
int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", no_argument, NULL, 'r' },
		{ 0 },
	};
	struct taken none = { 0 };
	struct policy_error err;
	struct plan plan;
	bool rules = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'r')
			return usage_error(argv, c);
		rules = true;
	}
	if (optind >= argc)
		return usage_error(argv, c);
	r = load_plan(&plan, argv + optind, argc - optind);
	if (r)
		return r;
	if (plan_assign(&plan, &none, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		plan_free(&plan);
		return EXIT_POLICY;
	}
	plan_print(&plan, stdout);
	warn_policy_risks(&plan);
	for (size_t i = 0; rules && i < plan.n_services; i++) {
		printf("\n# nf_tables rules of service %s\n",
		       plan.services[i].name);
		nft_print_service_rules(&plan.services[i], plan.mark_mask, NULL,
					stdout);
	}
	plan_free(&plan);
	return 0;
}
