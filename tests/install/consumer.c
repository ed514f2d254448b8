/* SPDX-License-Identifier: MIT */
/*
 * DOC: an outside program built against an installed baton (pkg-config)
 *
 * .ci/run installs baton into a staging folder, builds this file with
 * `pkg-config --cflags --libs baton` and runs it: the headers, the library,
 * the catalog macros and reading one's own catalog must all work from an
 * installation, not only from the build tree.
 */
#include <stdio.h>
#include <baton/baton.h>
#define C1 "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
BATON_PROGRAM("consumer", 1, 0, 0, BATON_SAME_BUILD);
BATON_SCHEMA(C1, "consumer.state", 1, BATON_FIELD_U64("n"));
BATON_HANDLER("consumer.state", BATON_WRITES(C1, 1), BATON_READS(C1, 1));
int main(void)
{
	struct baton_catalog_file *f; struct baton_diag d;
	int rc = baton_catalog_load_self(BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, &f, &d);
	if (rc) { printf("%s\n", d.msg); return 1; }
	baton_catalog_print(&f->cat, stdout); baton_catalog_file_free(f); return 0;
}
