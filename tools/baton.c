/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — dispatch to subcommands
 *
 * `baton COMMAND [ARGS]`. Each subcommand lives in its own cmd_*.c file and
 * parses its own options; this file only finds it and prints the overview.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "catalog", cmd_catalog, "print a release's catalog (program or JSON), for people or as JSON" },
	{ "check", cmd_check, "check that OLD may hand its state to NEW (or every supported path into NEW)" },
	{ "inspect", cmd_inspect, "validate an image file and print its header and objects" },
	{ "upgrade", cmd_upgrade, "upgrade a running program to a new release, live" },
	{ "status", cmd_status, "show a running program's release, generation and where its state came from" },
	{ "save", cmd_save, "write a golden image of a running program (it serves on, unchanged)" },
	{ "retire", cmd_retire, "say which read versions of a release are still needed and which can go" },
	{ "plan", cmd_plan, "find the shortest chain of supported updates between two releases" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: baton COMMAND [ARGS...]\n"
		"\n"
		"Hand a running program's state to its next release, with every contract\n"
		"checked before anything stops.\n"
		"\n"
		"commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"`baton COMMAND --help` describes one command; man baton(1) describes all.\n"
		"Exit status: 0 success, 1 a violation was found or an update refused,\n"
		"2 usage, connection or I/O error.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return BATON_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return BATON_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("baton %s\n", BATON_VERSION);
		return BATON_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "baton: unknown command \"%s\" (see baton --help)\n", argv[1]);
	return BATON_EXIT_USAGE;
}
