/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton plan` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_plan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton plan: not written yet\n");
	return BATON_EXIT_USAGE;
}
