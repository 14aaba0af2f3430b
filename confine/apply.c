// SPDX-License-Identifier: GPL-2.0-or-later

#include <getopt.h>
#include <stdio.h>

#include "confine/commands.h"
#include "confine/common.h"

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *netns = NULL;
	struct session s;
	struct plan plan;
	int c, r;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'n')
			goto usage;
		netns = optarg;
	}
	r = load_plan(&plan, argv + optind, argc - optind);
	if (r)
		return r;
	r = session_open(&s, netns, LOCK_EXCLUSIVE);
	if (r == 0) {
		r = apply_plan(&s, &plan, NULL);
		session_close(&s);
	}
	plan_free(&plan);
	return r;
usage:
	return usage_error(argv, c);
}
