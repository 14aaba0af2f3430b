// SPDX-License-Identifier: GPL-2.0-or-later

#include <getopt.h>
#include <stdio.h>

#include "confine/commands.h"
#include "confine/common.h"

int cmd_remove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *netns = NULL;
	struct failure f = { 0 };
	struct session s;
	char **names;
	int c, r, n_names, ret = 0;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'n')
			return usage_error(argv, c);
		netns = optarg;
	}
	names = argv + optind;
	n_names = argc - optind;

	r = session_open(&s, netns, LOCK_EXCLUSIVE);
	if (r)
		return r;
	r = engine_remove(&s.e, names, (size_t)n_names, &f);
	if (r < 0)
		ret = report(r, &f);
	session_close(&s);
	return ret;
}
