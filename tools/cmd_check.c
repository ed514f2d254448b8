/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton check` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton check: not written yet\n");
	return BATON_EXIT_USAGE;
}
