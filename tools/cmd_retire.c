/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton retire` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_retire(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton retire: not written yet\n");
	return BATON_EXIT_USAGE;
}
