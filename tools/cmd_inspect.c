/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton inspect` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_inspect(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton inspect: not written yet\n");
	return BATON_EXIT_USAGE;
}
