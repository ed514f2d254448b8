/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — shared declarations of its subcommands
 *
 * Exit codes are the same for every subcommand: 0 success, 1 when a check
 * finds a contract or path violation (or an update is refused or rolled
 * back), 2 on usage, connection or I/O errors.
 */
#ifndef BATON_TOOLS_CLI_H
#define BATON_TOOLS_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>  /* optind, which cli_parse_simple leaves at the first argument */

enum {
	BATON_EXIT_OK = 0,
	BATON_EXIT_FINDINGS = 1,
	BATON_EXIT_USAGE = 2,
};

/* Each takes argv from the subcommand's name on (argv[0] is "catalog"...). */
int cmd_catalog(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_retire(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int check_history(const char *dir, const char *new_path, _Bool json); /* check --history DIR NEW */

/*
 * The options of a command that takes only --json and --help, followed by
 * exactly npositional arguments (described by what, e.g. "DIR and CURRENT").
 * Returns -1 when the command should go on (optind is at the first
 * positional argument), or the exit code to return (help printed, or a usage
 * error explained).
 */
int cli_parse_simple(int argc, char **argv, const char *what, int npositional,
		     void (*usage)(FILE *), bool *json);

#endif /* BATON_TOOLS_CLI_H */
