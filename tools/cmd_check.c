/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton check — may OLD hand its state to NEW?
 *
 * Reads two catalogs (each from a program's ELF section or a JSON file) and
 * runs the core check engine over them: the path (rule 4), what OLD writes
 * against what NEW reads (rules 1 and 3), both catalogs on their own (rule 2)
 * and every layout both declare (rule 6). Exit 0 allowed, 1 findings, 2 usage
 * or unreadable input. The runtime's pre-flight runs the same engine.
 * With --history DIR, cmd_history.c checks every supported path into NEW.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton check [--json] OLD NEW\n"
		"       baton check [--json] --history DIR NEW   (every supported path into NEW)\n"
		"\n"
		"Checks that the release OLD may hand its state to the release NEW, before\n"
		"anything stops: NEW's policy accepts the path from OLD (no downgrade), every\n"
		"contract version OLD writes is read by exactly one handler of NEW (unless OLD\n"
		"marks it optional), neither catalog is ambiguous or lacks a schema, and no\n"
		"layout changed without a version bump. OLD and NEW are programs (their\n"
		"baton_catalog section is read without running them) or JSON catalogs\n"
		"(baton catalog --json).\n"
		"\n"
		"Prints one line per finding, \"RULE: message\", where RULE is path, downgrade,\n"
		"unbound, ambiguous, layout or schema, then a summary line.\n"
		"\n"
		"options:\n"
		"  --json          print one JSON object: {\"ok\", \"program\", \"from\", \"to\",\n"
		"                  \"from_build\", \"to_build\", \"accepted_by\", \"contracts\",\n"
		"                  \"findings\"} (with --history, plus \"paths\")\n"
		"  --history DIR   check NEW against every release kept in DIR (one JSON\n"
		"                  catalog per shipped release) that NEW's policy accepts:\n"
		"                  every supported path into NEW, findings per path\n"
		"  -h, --help      print this help\n"
		"\n"
		"exit status: 0 the update is allowed, 1 there are findings,\n"
		"             2 usage error or an unreadable OLD or NEW\n"
		"\n"
		"example:\n"
		"  baton check /usr/lib/kvd/kvd-1.0.0 ./build/kvd\n"
		"  baton catalog --json ./build/kvd > history/kvd-1.1.0.json\n"
		"  baton check --json history/kvd-1.0.0.json history/kvd-1.1.0.json\n"
		"  baton check --history history/ ./build/kvd\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "history", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *history = NULL;
	struct baton_catalog_file *old_f = NULL, *new_f = NULL;
	struct report_check c;
	bool json = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return BATON_EXIT_OK;
		case 'H':
			history = optarg;
			break;
		default:
			usage(stderr);
			return BATON_EXIT_USAGE;
		}
	}
	if (history && argc - optind == 1)
		return check_history(history, argv[optind], json);  /* cmd_history.c */
	if (history) {
		fprintf(stderr, "baton check: --history DIR takes one release, NEW; got %d\n",
			argc - optind);
		return BATON_EXIT_USAGE;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "baton check: expected OLD and NEW, got %d argument%s\n",
			argc - optind, argc - optind == 1 ? "" : "s");
		usage(stderr);
		return BATON_EXIT_USAGE;
	}

	rc = report_load_catalog("check", argv[optind], &old_f);
	if (rc)
		goto out;
	rc = report_load_catalog("check", argv[optind + 1], &new_f);
	if (rc)
		goto out;

	rc = report_check_run(&c, &old_f->cat, &new_f->cat);
	if (rc < 0) {
		fprintf(stderr, "baton check: cannot check %s against %s: %s\n", argv[optind],
			argv[optind + 1], strerror(-rc));
		rc = BATON_EXIT_USAGE;
		goto out;
	}
	if (json) {
		if (report_json_print(stdout, report_check_json(&c)) < 0) {
			fprintf(stderr, "baton check: out of memory\n");
			rc = BATON_EXIT_USAGE;
			report_check_free(&c);
			goto out;
		}
	} else {
		report_check_print(stdout, &c);
	}
	rc = report_check_ok(&c) ? BATON_EXIT_OK : BATON_EXIT_FINDINGS;
	report_check_free(&c);
out:
	if (new_f)
		baton_catalog_file_free(new_f);
	if (old_f)
		baton_catalog_file_free(old_f);
	if (fflush(stdout) != 0 && rc != BATON_EXIT_USAGE) {
		perror("baton check: stdout");
		rc = BATON_EXIT_USAGE;
	}
	return rc;
}
