#pragma once

#include <stdio.h>

/* One function per subcommand; argv[0] is the subcommand's name. */
int cmd_check(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_remove(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_guard(int argc, char **argv);
int cmd_wrap(int argc, char **argv);
int cmd_unwrap(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_help(int argc, char **argv);

/*
 * The command line as confine(8)'s SYNOPSIS and COMMANDS describe it, in
 * one table (commands.c): dispatch, help and usage errors all read it.
 */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis; /* the SYNOPSIS line, without the markup */
	const char *summary; /* one paragraph, wrapped when printed */
	const char *bad_operands; /* what is wrong when the operands are */
	const struct option_help *const *options; /* NULL-terminated */
};

struct option_help {
	char short_name; /* 0: none */
	const char *long_name;
	const char *arg; /* NULL: takes no value */
	const char *text;
};

const struct command *command_find(const char *name);

/* The synopsis of every command, to out: what a bare `confine` prints. */
void usage(FILE *out);

/*
 * Prints the help of command name, or of every command when name is NULL,
 * to stdout. Returns 0, or EXIT_POLICY for a command that does not exist.
 */
int help(const char *name);

/*
 * Called by a command whose options or operands are wrong, with its argv
 * and the last value getopt_long() returned (getopt_long() runs with opterr
 * set to 0, so nothing is printed yet): for -h or --help, prints the
 * command's help and returns 0; otherwise says what is wrong, naming the
 * command, with its synopsis, on stderr, and returns EXIT_POLICY.
 */
int usage_error(char **argv, int c);
