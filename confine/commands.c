// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command table: each command's synopsis, summary and options, as
 * confine(8) gives them. tests/unit/cli.sh checks every synopsis against
 * the man page, so the two cannot drift apart unseen.
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "confine/commands.h"
#include "confine/common.h"

/* Help output: where an option's text starts, and where lines wrap. */
#define OPTION_COLUMN 22
#define WIDTH 76

#define OPTIONS(...) ((const struct option_help *const[]){ __VA_ARGS__, NULL })

static const struct option_help opt_netns = {
	.long_name = "netns",
	.arg = "NS",
	.text = "Work in network namespace NS: a name under /run/netns or "
		"the path of a namespace file.",
};
static const struct option_help opt_policy = {
	.short_name = 'p',
	.long_name = "policy",
	.arg = "FILE",
	.text = "The policy file; run reads this one file only.",
};
static const struct option_help opt_service = {
	.short_name = 's',
	.long_name = "service",
	.arg = "NAME",
	.text = "The service of FILE to run; may be left out when FILE "
		"holds exactly one service.",
};
static const struct option_help opt_rules = {
	.long_name = "rules",
	.text = "Also print each service's nf_tables rules.",
};
static const struct option_help opt_json = {
	.long_name = "json",
	.text = "Print the status as one JSON object.",
};
static const struct option_help opt_dry_run = {
	.long_name = "dry-run",
	.text = "Print the drop-in instead of writing it.",
};
static const struct option_help opt_watch_service = {
	.short_name = 's',
	.long_name = "service",
	.arg = "NAME",
	.text = "Show only the refusals of service NAME (\"others\": of "
		"processes of no service).",
};
static const struct option_help opt_watch_json = {
	.long_name = "json",
	.text = "Print each event as one JSON object a line.",
};
static const struct option_help opt_alerts = {
	.long_name = "alerts",
	.text = "Run the OnRefused= programs of FILE (by default the "
		"policy directory) for the refusals, within its alert "
		"limits.",
};
static const struct option_help opt_help = {
	.short_name = 'h',
	.long_name = "help",
	.text = "Print this help.",
};
static const struct option_help opt_version = {
	.long_name = "version",
	.text = "Print confine's version.",
};

static const struct command commands[] = {
	{
		.name = "check",
		.fn = cmd_check,
		.synopsis = "confine check [--rules] [FILE...]",
		.summary =
			"Parse the policy files and print the plan: for each "
			"service its mark, routing table, exclusivity, "
			"allowed destinations and routes. Marks and tables "
			"left automatic are shown as they would be on a host "
			"where nothing is installed. Warns, at FILE:LINE, "
			"about what a policy may say but a sysadmin rarely "
			"wants. Needs no privileges and does not touch the "
			"kernel.",
		.bad_operands = "no policy FILE given",
		.options = OPTIONS(&opt_rules, &opt_help),
	},
	{
		.name = "apply",
		.fn = cmd_apply,
		.synopsis = "confine apply [--netns NS] [FILE...]",
		.summary = "Install or update the services of the files: "
			   "cgroups, ip rules, routes and nf_tables rules. "
			   "Installed services that the files do not name are "
			   "left alone; applying the same files again changes "
			   "nothing. If a step fails, everything this call "
			   "added is removed again.",
		.bad_operands = "no policy FILE given",
		.options = OPTIONS(&opt_netns, &opt_help),
	},
	{
		.name = "run",
		.fn = cmd_run,
		.synopsis = "confine run [--netns NS] -p FILE [-s NAME] [--] "
			    "COMMAND [ARG...]",
		.summary =
			"Start COMMAND confined as service NAME of FILE. run "
			"checks that the service's confinement is in force "
			"for its cgroup, and applies the service (only this "
			"one) if it is not. Then it moves itself into the "
			"cgroup, locks itself in and executes COMMAND in "
			"place, keeping its PID, environment and open "
			"descriptors. If confinement is not proven, COMMAND "
			"is not started.",
		.bad_operands = "needs -p FILE and a COMMAND",
		.options = OPTIONS(&opt_netns, &opt_policy, &opt_service,
				   &opt_help),
	},
	{
		.name = "remove",
		.fn = cmd_remove,
		.synopsis = "confine remove [--netns NS] [NAME...]",
		.summary =
			"Remove the named services: their nf_tables rules, "
			"ip rules, routes and cgroups. Without a NAME, "
			"remove everything confine installed. If a cgroup of "
			"a service still has processes, nothing is removed: "
			"stop the processes first.",
		.options = OPTIONS(&opt_netns, &opt_help),
	},
	{
		.name = "status",
		.fn = cmd_status,
		.synopsis = "confine status [--netns NS] [--json] [FILE...]",
		.summary =
			"For each installed service: whether it is in force "
			"by the check run makes, and if not the first missing "
			"piece; its mark and table, its cgroups with their "
			"processes and whether their sockets are marked from "
			"creation, and how many packets it allowed and "
			"refused. With FILE, also the checks that need the "
			"policy, and the services of FILE that are not "
			"installed. Exits 1 when a service is not in force.",
		.options = OPTIONS(&opt_netns, &opt_json, &opt_help),
	},
	{
		.name = "doctor",
		.fn = cmd_doctor,
		.synopsis = "confine doctor [--netns NS] [--json] [FILE...]",
		.summary =
			"Check the host for what makes confinement fail or "
			"leak: kernel features, the cgroup2 mount, "
			"reverse-path filtering, routes to allowed "
			"destinations, other users of confine's mark bits, "
			"nftables.service, forwarding, broadcast under "
			"exclusive services and the classic hardening "
			"sysctls. Each finding has a severity, what was "
			"found, why it matters and the fix. FILE (by default "
			"the policy directory) is optional. Exits 1 for an "
			"error, 3 for a warning, 0 otherwise.",
		.options = OPTIONS(&opt_netns, &opt_json, &opt_help),
	},
	{
		.name = "guard",
		.fn = cmd_guard,
		.synopsis = "confine guard [--netns NS] [FILE...]",
		.summary =
			"Stay running, watch nf_tables and the ip rules and "
			"routes, and re-apply each service of FILE (by "
			"default the policy directory) that someone else "
			"damaged, at once, saying what it repaired and, when "
			"the kernel tells, who changed nf_tables. A service "
			"of which nothing is left (confine remove) stays "
			"removed. At most 10 repairs in a row, then one "
			"every 100 ms.",
		.options = OPTIONS(&opt_netns, &opt_help),
	},
	{
		.name = "watch",
		.fn = cmd_watch,
		.synopsis = "confine watch [--netns NS] [-s NAME] [--json] "
			    "[--alerts] [FILE...]",
		.summary =
			"Stay running and print each refusal of the services "
			"that log them (LogRefused=yes) as it happens: time, "
			"service or \"others\", protocol, source and "
			"destination with ports, uid and gid, and the "
			"sending process when its socket is still open "
			"(\"unknown\" otherwise). Events the kernel could "
			"not deliver are counted and shown. With --alerts, "
			"also run OnRefused= programs, at most as often as "
			"AlertRate= and AlertLimit= allow, with a line "
			"saying how many alerts were suppressed. FILE is "
			"read only with --alerts.",
		.bad_operands = "FILE is read only with --alerts",
		.options = OPTIONS(&opt_netns, &opt_watch_service,
				   &opt_watch_json, &opt_alerts, &opt_help),
	},
	{
		.name = "wrap",
		.fn = cmd_wrap,
		.synopsis = "confine wrap UNIT -p FILE [-s NAME] [--dry-run]",
		.summary =
			"Write the drop-in /etc/systemd/system/UNIT.d/"
			"confine.conf that runs the service unit's own "
			"ExecStart= command, as systemctl show gives it, "
			"under `confine run -p FILE [-s NAME]`, with "
			"Delegate=yes and StandardError=journal, then run "
			"systemctl daemon-reload. The policy is checked "
			"first; a unit with User=, several commands or the @ "
			"prefix is refused.",
		.bad_operands = "needs -p FILE and one UNIT",
		.options = OPTIONS(&opt_policy, &opt_service, &opt_dry_run,
				   &opt_help),
	},
	{
		.name = "unwrap",
		.fn = cmd_unwrap,
		.synopsis = "confine unwrap UNIT",
		.summary = "Remove the drop-in that confine wrap wrote for "
			   "UNIT, then run systemctl daemon-reload.",
		.bad_operands = "needs one UNIT",
		.options = OPTIONS(&opt_help),
	},
	{
		.name = "help",
		.fn = cmd_help,
		.synopsis = "confine help [COMMAND]",
		.summary = "Print the help of COMMAND, or of every command.",
		.bad_operands = "one COMMAND at most",
		.options = OPTIONS(&opt_help),
	},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The options of the full help, in the order they are shown. */
static const struct option_help *const all_options[] = {
	&opt_netns,  &opt_policy, &opt_service, &opt_rules,   &opt_json,
	&opt_alerts, &opt_help,	  &opt_version, &opt_dry_run, NULL,
};

const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void usage(FILE *out)
{
	fputs("Usage:\n", out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s\n", commands[i].synopsis);
	fputs("  confine COMMAND --help\n"
	      "  confine --version\n"
	      "See 'confine help'.\n",
	      out);
}

/*
 * Prints text from column col, wrapped at WIDTH, each further line
 * indented by indent columns, and ends the line.
 */
static void print_wrapped(const char *text, int col, int indent)
{
	const char *p = text;

	while (*p) {
		int len = (int)strcspn(p, " ");

		if (p != text && col + 1 + len > WIDTH) {
			col = printf("\n%*s", indent, "") - 1;
		} else if (p != text) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", len, p);
		p += len;
		p += strspn(p, " ");
	}
	putchar('\n');
}

static void print_options(const struct option_help *const *opts)
{
	printf("Options:\n");
	for (; *opts; opts++) {
		const struct option_help *o = *opts;
		int n;

		if (o->short_name)
			n = printf("  -%c, --%s", o->short_name, o->long_name);
		else
			n = printf("  --%s", o->long_name);
		if (o->arg)
			n += printf(" %s", o->arg);
		if (n < OPTION_COLUMN)
			n += printf("%*s", OPTION_COLUMN - n, "");
		else
			n = printf("\n%*s", OPTION_COLUMN, "") - 1;
		print_wrapped(o->text, n, OPTION_COLUMN);
	}
}

static int help_done(void)
{
	if (fflush(stdout) != 0) {
		fprintf(stderr, "confine: cannot print the help: %m\n");
		return EXIT_FAILED;
	}
	return 0;
}

int help(const char *name)
{
	const struct command *cmd;

	if (!name) {
		printf("Usage: confine COMMAND [OPTION...] [ARG...]\n");
		for (size_t i = 0; i < N_COMMANDS; i++) {
			printf("\n%s\n    ", commands[i].synopsis);
			print_wrapped(commands[i].summary, 4, 4);
		}
		putchar('\n');
		print_options(all_options);
		printf("\nSee confine(8) and confine.policy(5).\n");
		return help_done();
	}
	cmd = command_find(name);
	if (!cmd) {
		fprintf(stderr,
			"confine help: unknown command '%s'\n"
			"See 'confine help'.\n",
			name);
		return EXIT_POLICY;
	}
	printf("Usage: %s\n\n", cmd->synopsis);
	print_wrapped(cmd->summary, 0, 0);
	putchar('\n');
	print_options(cmd->options);
	printf("\nSee confine(8).\n");
	return help_done();
}

static const struct option_help *find_short(const struct command *cmd, int c)
{
	for (const struct option_help *const *o = cmd->options; *o; o++)
		if ((*o)->short_name == c)
			return *o;
	return NULL;
}

int usage_error(char **argv, int c)
{
	const struct command *cmd = command_find(argv[0]);
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const struct option_help *o;

	if (!cmd)
		return EXIT_POLICY;
	if (c == '?' && (optopt == 'h' || strcmp(arg, "--help") == 0))
		return help(cmd->name);

	fprintf(stderr, "confine %s: ", cmd->name);
	if (c != '?') {
		fprintf(stderr, "%s\n",
			cmd->bad_operands ? cmd->bad_operands : "bad usage");
	} else if (strncmp(arg, "--", 2) == 0) {
		/* getopt_long() sets optopt only for an option it knows. */
		if (!optopt)
			fprintf(stderr, "unrecognized option '%s'\n", arg);
		else if (strchr(arg, '='))
			fprintf(stderr, "option '%.*s' takes no value\n",
				(int)(strchr(arg, '=') - arg), arg);
		else
			fprintf(stderr, "option '%s' needs a value\n", arg);
	} else {
		o = find_short(cmd, optopt);
		if (o && o->arg)
			fprintf(stderr, "option '-%c' needs a value\n", optopt);
		else
			fprintf(stderr, "invalid option '-%c'\n", optopt);
	}
	fprintf(stderr, "Usage: %s\nSee 'confine help %s'.\n", cmd->synopsis,
		cmd->name);
	return EXIT_POLICY;
}

int cmd_help(int argc, char **argv)
{
	static const struct option opts[] = { { 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1)
		return usage_error(argv, c);
	if (argc - optind > 1)
		return usage_error(argv, c);
	return help(optind < argc ? argv[optind] : NULL);
}
