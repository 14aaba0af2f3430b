#pragma once

/* One function per subcommand; argv[0] is the subcommand's name. */
int cmd_check(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_remove(int argc, char **argv);
int cmd_status(int argc, char **argv);
