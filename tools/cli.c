/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — argument handling shared by the subcommands
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int cli_parse_simple(int argc, char **argv, const char *what, int npositional,
		     void (*usage)(FILE *), bool *json)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, n;

	*json = false;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			*json = true;
			break;
		case 'h':
			usage(stdout);
			return BATON_EXIT_OK;
		default:
			usage(stderr);
			return BATON_EXIT_USAGE;
		}
	}
	n = argc - optind;
	if (n != npositional) {
		fprintf(stderr, "baton %s: expected %s, got %d argument%s\n", argv[0], what, n,
			n == 1 ? "" : "s");
		usage(stderr);
		return BATON_EXIT_USAGE;
	}
	return -1;
}
