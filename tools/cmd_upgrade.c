/* SPDX-License-Identifier: MIT */
/* Placeholder until `baton upgrade` is written; it says so instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_upgrade(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "baton upgrade: not written yet\n");
	return BATON_EXIT_USAGE;
}
