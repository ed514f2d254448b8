/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — findings and checks, for people and for machines
 *
 * The engine (src/core/check.c) reports findings through a callback and
 * keeps nothing; the command keeps them here, prints them one per line and
 * builds the --json objects with json-c. See report.h for who uses what.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

/* ------------------------------------------------------------------------ */
/* Findings                                                                 */

void report_collect(void *ctx, const struct baton_finding *f)
{
	struct report_findings *x = ctx;

	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 8;
		struct baton_finding *v = realloc(x->v, cap * sizeof(*v));

		if (!v) {
			x->lost++;
			return;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = *f;
}

void report_findings_free(struct report_findings *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

void report_print_finding(FILE *out, const struct baton_finding *f)
{
	const char *rule = baton_rule_name(f->rule);

	/* the engine's messages start with the rule; say it anyway if one does not */
	if (strncmp(f->message, rule, strlen(rule)) == 0 && f->message[strlen(rule)] == ':')
		fprintf(out, "%s\n", f->message);
	else
		fprintf(out, "%s: %s\n", rule, f->message);
}

void report_json_add_string(struct json_object *o, const char *key, const char *s)
{
	if (s && s[0])
		json_object_object_add(o, key, json_object_new_string(s));
}

void report_release(char buf[BATON_RELEASE_STRMAX], const struct baton_release *r)
{
	if (baton_release_format(r, buf, BATON_RELEASE_STRMAX) < 0)
		strcpy(buf, "?");
}

struct json_object *report_finding_json(const struct baton_finding *f)
{
	struct json_object *o = json_object_new_object();
	char rel[BATON_RELEASE_STRMAX];

	if (!o)
		return NULL;
	json_object_object_add(o, "rule", json_object_new_string(baton_rule_name(f->rule)));
	json_object_object_add(o, "message", json_object_new_string(f->message));
	report_json_add_string(o, "key", f->key);
	if (f->has_contract) {
		char uuid[BATON_UUID_STRLEN + 1];

		baton_uuid_format(&f->contract, uuid);
		json_object_object_add(o, "contract", json_object_new_string(uuid));
		report_json_add_string(o, "contract_name", f->contract_name);
	}
	if (f->version)
		json_object_object_add(o, "version", json_object_new_int64(f->version));
	report_json_add_string(o, "writer_handler", f->writer_handler);
	report_json_add_string(o, "reader_handler", f->reader_handler);
	report_json_add_string(o, "other_handler", f->other_handler);
	report_json_add_string(o, "side", f->side);
	if (f->writer_program[0]) {
		report_release(rel, &f->writer_release);
		json_object_object_add(o, "writer_program", json_object_new_string(f->writer_program));
		json_object_object_add(o, "writer_release", json_object_new_string(rel));
	}
	if (f->reader_program[0]) {
		report_release(rel, &f->reader_release);
		json_object_object_add(o, "reader_program", json_object_new_string(f->reader_program));
		json_object_object_add(o, "reader_release", json_object_new_string(rel));
	}
	return o;
}

struct json_object *report_findings_json(const struct report_findings *x)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < x->n; i++) {
		struct json_object *o = report_finding_json(&x->v[i]);

		if (!o || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* ------------------------------------------------------------------------ */
/* One check                                                                */

struct contract_set {
	baton_uuid *v;
	size_t n, cap;
};

static int contract_set_add(struct contract_set *s, const char *text)
{
	baton_uuid u = baton_rec_uuid(text);
	size_t i;

	for (i = 0; i < s->n; i++)
		if (baton_uuid_cmp(&s->v[i], &u) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		baton_uuid *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = u;
	return 0;
}

/* Distinct contracts the old release writes or the new one reads. */
static int count_contracts(const struct baton_catalog *old_cat, const struct baton_catalog *new_cat,
			   unsigned *out)
{
	struct contract_set s = { 0 };
	const struct baton_rec_handler *h;
	int rc = 0;
	uint32_t i;

	baton_catalog_for_each_handler(old_cat, h)
		if ((h->flags & BATON_HANDLER_WRITES) && rc == 0)
			rc = contract_set_add(&s, h->writes.contract);
	baton_catalog_for_each_handler(new_cat, h)
		for (i = 0; i < h->hdr.count && rc == 0; i++)
			rc = contract_set_add(&s, baton_handler_reads(h)[i].contract);
	*out = (unsigned)s.n;
	free(s.v);
	return rc;
}

int report_check_run(struct report_check *c, const struct baton_catalog *old_cat,
		     const struct baton_catalog *new_cat)
{
	struct baton_policy policy = baton_catalog_policy(new_cat);
	int rc;

	memset(c, 0, sizeof(*c));
	c->path_rule = "";
	baton_strlcpy(c->from_program, old_cat->program->name, sizeof(c->from_program));
	baton_strlcpy(c->to_program, new_cat->program->name, sizeof(c->to_program));
	report_release(c->from, &old_cat->program->release);
	report_release(c->to, &new_cat->program->release);
	baton_build_id_format(&old_cat->build_id, c->from_build, sizeof(c->from_build));
	baton_build_id_format(&new_cat->build_id, c->to_build, sizeof(c->to_build));

	baton_policy_decide(&policy, &new_cat->program->release, &new_cat->build_id,
			    &old_cat->program->release, &old_cat->build_id, &c->path);
	if (c->path.verdict == BATON_PATH_ACCEPT && c->path.rule >= 0 &&
	    (size_t)c->path.rule < policy.nrules &&
	    baton_policy_rule_format(&policy.rules[c->path.rule], c->path_rule_buf,
				     sizeof(c->path_rule_buf)) >= 0)
		c->path_rule = c->path_rule_buf;

	rc = count_contracts(old_cat, new_cat, &c->ncontracts);
	if (rc < 0)
		return rc;
	rc = baton_check(old_cat, new_cat, report_collect, &c->findings);
	if (rc < 0) {
		report_findings_free(&c->findings);
		return rc;
	}
	if (c->findings.lost) {
		report_findings_free(&c->findings);
		return -ENOMEM;
	}
	c->count = rc;
	return 0;
}

bool report_check_ok(const struct report_check *c)
{
	return c->count == 0;
}

void report_check_summary(FILE *out, const struct report_check *c)
{
	fprintf(out, "%s %s -> %s %s: ", c->from_program, c->from, c->to_program, c->to);
	if (report_check_ok(c))
		fprintf(out, "allowed (path accepted by %s; %u contract%s checked)\n",
			c->path_rule[0] ? c->path_rule : "the policy", c->ncontracts,
			c->ncontracts == 1 ? "" : "s");
	else
		fprintf(out, "refused, %d finding%s\n", c->count, c->count == 1 ? "" : "s");
}

void report_check_print(FILE *out, const struct report_check *c)
{
	size_t i;

	for (i = 0; i < c->findings.n; i++)
		report_print_finding(out, &c->findings.v[i]);
	report_check_summary(out, c);
}

struct json_object *report_check_json(const struct report_check *c)
{
	struct json_object *o = json_object_new_object(), *a;

	if (!o)
		return NULL;
	json_object_object_add(o, "ok", json_object_new_boolean(report_check_ok(c)));
	json_object_object_add(o, "program", json_object_new_string(c->to_program));
	if (strcmp(c->from_program, c->to_program) != 0)
		json_object_object_add(o, "from_program", json_object_new_string(c->from_program));
	json_object_object_add(o, "from", json_object_new_string(c->from));
	json_object_object_add(o, "to", json_object_new_string(c->to));
	json_object_object_add(o, "from_build", json_object_new_string(c->from_build));
	json_object_object_add(o, "to_build", json_object_new_string(c->to_build));
	report_json_add_string(o, "accepted_by", c->path_rule);
	json_object_object_add(o, "contracts", json_object_new_int64(c->ncontracts));
	a = report_findings_json(&c->findings);
	if (!a) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "findings", a);
	return o;
}

void report_check_free(struct report_check *c)
{
	report_findings_free(&c->findings);
}

/* ------------------------------------------------------------------------ */
/* Input and output                                                         */

int report_load_catalog(const char *cmd, const char *path, struct baton_catalog_file **out)
{
	struct baton_diag d;
	int rc;

	baton_diag_clear(&d);
	rc = baton_catalog_load(path, out, &d);
	if (rc < 0) {
		/* the loader's words usually name the file already */
		if (d.msg[0] && strncmp(d.msg, path, strlen(path)) == 0)
			fprintf(stderr, "baton %s: %s\n", cmd, d.msg);
		else
			fprintf(stderr, "baton %s: %s: %s\n", cmd, path,
				d.msg[0] ? d.msg : strerror(-rc));
		return BATON_EXIT_USAGE;
	}
	return 0;
}

int report_json_print(FILE *out, struct json_object *o)
{
	if (!o)
		return -ENOMEM;
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}
