/* SPDX-License-Identifier: MIT */
/* A program that declares a catalog and does nothing; the ELF tests read its file. */
#include "kvd_catalog.h"

int main(void)
{
	return 0;
}
