/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton catalog — what a release declares about itself
 *
 * Prints the catalog of a program (read from its baton_catalog ELF section
 * without running it) or of a JSON catalog file: for people by default, or
 * the canonical JSON that a project keeps in its tree, one file per shipped
 * release, for review and for `baton check --history`. Problems that the
 * catalog has on its own (rule 2, missing schemas) are printed to stderr as
 * warnings; `baton check` is the command that fails on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton catalog [--json] FILE\n"
		"\n"
		"Prints the catalog of a release: program name, release, build id, policy,\n"
		"handlers (what each writes and reads) and schemas (fields and fingerprints).\n"
		"FILE is a program built with the BATON_PROGRAM, BATON_SCHEMA and BATON_HANDLER\n"
		"macros (read without running it) or a JSON catalog.\n"
		"\n"
		"options:\n"
		"  --json     print the canonical JSON form (format \"baton-catalog-1\"), the\n"
		"             form to keep in a project's tree, one file per shipped release\n"
		"  -h, --help print this help\n"
		"\n"
		"Violations the catalog has on its own (two handlers for one contract\n"
		"version, a version without a schema) are printed to stderr as warnings.\n"
		"\n"
		"exit status: 0 printed, 2 usage error or unreadable FILE\n"
		"\n"
		"example:\n"
		"  baton catalog ./build/kvd\n"
		"  baton catalog --json ./build/kvd > history/kvd-1.1.0.json\n");
}

static void warn_finding(void *ctx, const struct baton_finding *f)
{
	(void)ctx;
	fprintf(stderr, "baton catalog: warning: ");
	report_print_finding(stderr, f);
}

int cmd_catalog(int argc, char **argv)
{
	struct baton_catalog_file *f = NULL;
	struct baton_diag d;
	bool json = false;
	int rc;

	rc = cli_parse_simple(argc, argv, "one FILE", 1, usage, &json);
	if (rc >= 0)
		return rc;

	rc = report_load_catalog("catalog", argv[optind], &f);
	if (rc)
		return rc;

	baton_diag_clear(&d);
	if (json) {
		char *text = NULL;

		rc = baton_catalog_to_json(&f->cat, &text, &d);
		if (rc < 0) {
			fprintf(stderr, "baton catalog: %s: %s\n", argv[optind],
				d.msg[0] ? d.msg : strerror(-rc));
			rc = BATON_EXIT_USAGE;
			goto out;
		}
		fputs(text, stdout);
		free(text);
	} else {
		rc = baton_catalog_print(&f->cat, stdout);
		if (rc < 0) {
			fprintf(stderr, "baton catalog: %s: %s\n", argv[optind], strerror(-rc));
			rc = BATON_EXIT_USAGE;
			goto out;
		}
	}
	baton_catalog_validate(&f->cat, NULL, warn_finding, NULL);
	rc = BATON_EXIT_OK;
out:
	baton_catalog_file_free(f);
	if (fflush(stdout) != 0 && rc == BATON_EXIT_OK) {
		perror("baton catalog: stdout");
		rc = BATON_EXIT_USAGE;
	}
	return rc;
}
