/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton catalog` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_catalog(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton catalog: not written yet\n");
	return BATON_EXIT_USAGE;
}
