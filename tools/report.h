/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — findings and checks, for people and for machines
 *
 * Every subcommand that reports protocol violations prints them the same
 * way: one line per finding ("RULE: message", the message already starts
 * with the rule), then a summary line; with --json, one object whose keys
 * other tools read (docs/baton-check.1.scd lists them). `baton check`,
 * `baton check --history`, `baton upgrade`'s pre-flight, `retire` and
 * `plan` share these helpers so that a finding looks the same everywhere.
 */
#ifndef BATON_TOOLS_REPORT_H
#define BATON_TOOLS_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include <baton/baton.h>

/* ------------------------------------------------------------------------ */
/* Findings                                                                 */

/* Findings kept by report_collect(), in the order the engine reported them. */
struct report_findings {
	struct baton_finding *v;
	size_t n, cap;
	size_t lost;   /* reported but not kept: out of memory */
};

/* A baton_finding_fn: ctx is a struct report_findings. */
void report_collect(void *ctx, const struct baton_finding *f);
void report_findings_free(struct report_findings *x);

/* "RULE: message\n" */
void report_print_finding(FILE *out, const struct baton_finding *f);
/* {"rule", "message", then the details that apply}; NULL when out of memory. */
struct json_object *report_finding_json(const struct baton_finding *f);
/* An array of report_finding_json(); NULL when out of memory. */
struct json_object *report_findings_json(const struct report_findings *x);

/* ------------------------------------------------------------------------ */
/* One check of OLD against NEW                                             */

struct report_check {
	struct report_findings findings;
	int count;                        /* findings baton_check() counted */
	struct baton_path_decision path;  /* NEW's policy about OLD's release */
	const char *path_rule;            /* the accepting rule, "" when refused */
	char path_rule_buf[48];
	char from_program[BATON_NAME_MAX], to_program[BATON_NAME_MAX];
	char from[BATON_RELEASE_STRMAX], to[BATON_RELEASE_STRMAX];
	char from_build[2 * BATON_BUILD_ID_MAX + 1], to_build[2 * BATON_BUILD_ID_MAX + 1];
	unsigned ncontracts;              /* distinct contracts OLD writes or NEW reads */
};

/*
 * Runs baton_check() and keeps what the output needs. Returns 0, or a
 * negative errno when the check itself could not run (nothing printed).
 */
int report_check_run(struct report_check *c, const struct baton_catalog *old_cat,
		     const struct baton_catalog *new_cat);
bool report_check_ok(const struct report_check *c);
/* One line per finding, then the summary line. */
void report_check_print(FILE *out, const struct report_check *c);
/* "app 1.0.0 -> app 1.1.0: allowed (path accepted by next-minor; 2 contracts checked)" */
void report_check_summary(FILE *out, const struct report_check *c);
/* {"ok", "program", "from", "to", "from_build", "to_build", "accepted_by", "contracts", "findings"} */
struct json_object *report_check_json(const struct report_check *c);
void report_check_free(struct report_check *c);

/* ------------------------------------------------------------------------ */
/* Input and output                                                         */

/*
 * Loads a catalog (program or JSON). On failure prints "baton CMD: PATH:
 * reason" to stderr and returns BATON_EXIT_USAGE; 0 on success.
 */
int report_load_catalog(const char *cmd, const char *path, struct baton_catalog_file **out);

/* Pretty JSON and a newline on out; frees o. Returns 0, or -ENOMEM when o is NULL. */
int report_json_print(FILE *out, struct json_object *o);

/* "1.2.0" */
void report_release(char buf[BATON_RELEASE_STRMAX], const struct baton_release *r);

/* Adds key: s when s is neither NULL nor empty. */
void report_json_add_string(struct json_object *o, const char *key, const char *s);

#endif /* BATON_TOOLS_REPORT_H */
