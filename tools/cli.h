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
int cmd_retire(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int check_history(const char *dir, const char *new_path, _Bool json); /* check --history DIR NEW */

#endif /* BATON_TOOLS_CLI_H */
