/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton status` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton status: not written yet\n");
	return BATON_EXIT_USAGE;
}
