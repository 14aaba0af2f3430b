// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confine: per-process network confinement by cgroup, fwmark and policy
 * routing. See confine(8).
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "confine/commands.h"
#include "confine/common.h"

int main(int argc, char **argv)
{
	const struct command *cmd;

	/*
	 * usage_error() says what is wrong with an option, naming the
	 * command, and treats -h and --help as a request for help, which
	 * getopt_long() would otherwise call an unrecognized option first.
	 */
	opterr = 0;
	if (argc < 2) {
		usage(stderr);
		return EXIT_POLICY;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help(NULL);
	if (strcmp(argv[1], "--version") == 0) {
		printf("confine %s\n", CONFINE_VERSION);
		return 0;
	}
	cmd = command_find(argv[1]);
	if (!cmd) {
		fprintf(stderr,
			"confine: unknown %s '%s'\nSee 'confine help'.\n",
			argv[1][0] == '-' ? "option" : "command", argv[1]);
		return EXIT_POLICY;
	}
	return cmd->fn(argc - 1, argv + 1);
}
