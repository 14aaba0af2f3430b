// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine: per-process network confinement by cgroup, fwmark and policy
 * routing. See confine(8).
 */

#include <stdio.h>
#include <string.h>

#include "confine/commands.h"
#include "confine/common.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "check", cmd_check },	  { "apply", cmd_apply },   { "run", cmd_run },
	{ "remove", cmd_remove }, { "status", cmd_status },
};

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      "  confine check [--rules] FILE...\n"
	      "  confine apply [--netns NS] FILE...\n"
	      "  confine run [--netns NS] -p FILE [-s NAME] -- CMD [ARG...]\n"
	      "  confine remove [--netns NS] [NAME...]\n"
	      "  confine status [--netns NS] [--json]\n"
	      "See confine(8) and confine.policy(5).\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_POLICY;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "confine: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_POLICY;
}
