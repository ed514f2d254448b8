/* SPDX-License-Identifier: MIT */
/*
 * DOC: the catalog for people
 *
 * What `baton catalog PROGRAM` prints without --json: the release and its
 * policy on top, then one block per contract (name and UUID, each schema
 * with its fingerprint and fields, and which handlers write and read it),
 * then one line per handler. Contracts come in the order their first schema
 * appears; contracts that handlers name but no schema describes come last,
 * marked as such, because that is a catalog `baton check` will complain
 * about and the reader should see why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <baton/catalog_io.h>

#include "internal.h"

static bool same_contract(const char *a, const char *b)
{
	baton_uuid ua = baton_rec_uuid(a), ub = baton_rec_uuid(b);

	return baton_uuid_cmp(&ua, &ub) == 0;
}

/* The contract's short name, or its UUID when no schema names it. */
static const char *contract_label(const struct baton_catalog *cat, const char *text,
				  char buf[BATON_UUID_STRLEN + 1])
{
	baton_uuid u = baton_rec_uuid(text);
	const char *name = baton_catalog_contract_name(cat, &u);

	if (name)
		return name;
	baton_uuid_format(&u, buf);
	return buf;
}

static void print_field(FILE *out, const struct baton_catalog *cat, const struct baton_field *f,
			int width)
{
	char uuid[BATON_UUID_STRLEN + 1];
	const char *type = baton_type_name(f->type);

	fprintf(out, "    %-*s  ", width, f->name);
	switch (f->type) {
	case BATON_T_BYTES:
		fprintf(out, "bytes (%u)\n", f->size);
		break;
	case BATON_T_STRING:
		fprintf(out, "string (at most %u bytes)\n", f->size);
		break;
	case BATON_T_ARRAY:
		fprintf(out, "array of %s (at most %u)\n",
			baton_type_name(f->elem) ? baton_type_name(f->elem) : "?", f->size);
		break;
	case BATON_T_SCHEMA: {
		baton_uuid u = baton_rec_uuid(f->contract);
		const char *name = baton_catalog_contract_name(cat, &u);

		baton_uuid_format(&u, uuid);
		if (name)
			fprintf(out, "schema %s version %u (%s)\n", name, f->version, uuid);
		else
			fprintf(out, "schema %s version %u\n", uuid, f->version);
		break;
	}
	default:
		fprintf(out, "%s\n", type ? type : "?");
		break;
	}
}

static void print_schema(FILE *out, const struct baton_catalog *cat, const struct baton_rec_schema *s)
{
	const struct baton_field *f = baton_schema_fields(s);
	char fp[BATON_FINGERPRINT_HEXLEN + 1];
	baton_fingerprint sum;
	uint32_t i;
	int width = 0;

	if (baton_catalog_fingerprint(cat, s, &sum, NULL) == 0)
		baton_fingerprint_format(&sum, fp);
	else
		snprintf(fp, sizeof(fp), "(cannot be computed)");
	fprintf(out, "  version %u  fingerprint %s%s\n", s->version, fp,
		s->hdr.count ? "" : "  (no fields)");
	for (i = 0; i < s->hdr.count; i++) {
		int n = (int)baton_strnlen(f[i].name, sizeof(f[i].name));

		if (n > width)
			width = n;
	}
	for (i = 0; i < s->hdr.count; i++)
		print_field(out, cat, &f[i], width);
}

/* Who writes and reads the contract of text, under its block. */
static void print_users(FILE *out, const struct baton_catalog *cat, const char *text)
{
	const struct baton_rec_handler *h;
	baton_uuid u = baton_rec_uuid(text);
	bool any = false;

	baton_catalog_for_each_handler(cat, h) {
		if (!(h->flags & BATON_HANDLER_WRITES) || !same_contract(h->writes.contract, text))
			continue;
		fprintf(out, "  written by %s (version %u%s)\n", h->name, h->writes.version,
			(h->flags & BATON_HANDLER_OPTIONAL) ? ", optional" : "");
		any = true;
	}
	baton_catalog_for_each_handler(cat, h) {
		char versions[12 * BATON_MAX_VERSIONS + 8];  /* "4294967295, " each */

		if (!baton_handler_max_read(h, &u))
			continue;
		baton_handler_format_reads(h, &u, versions, sizeof(versions));
		fprintf(out, "  read by    %s (%s %s)\n", h->name,
			strchr(versions, ',') ? "versions" : "version", versions);
		any = true;
	}
	if (!any)
		fprintf(out, "  no handler writes or reads it\n");
}

static bool schema_seen_before(const struct baton_catalog *cat, const struct baton_rec_schema *s)
{
	const struct baton_rec_schema *t;

	baton_catalog_for_each_schema(cat, t) {
		if (t == s)
			return false;
		if (same_contract(t->contract, s->contract))
			return true;
	}
	return false;
}

static void print_contracts(FILE *out, const struct baton_catalog *cat)
{
	const struct baton_rec_schema *s, *t;

	baton_catalog_for_each_schema(cat, s) {
		char uuid[BATON_UUID_STRLEN + 1];
		baton_uuid u = baton_rec_uuid(s->contract);

		if (schema_seen_before(cat, s))
			continue;
		baton_uuid_format(&u, uuid);
		fprintf(out, "\ncontract %s  %s\n", s->name, uuid);
		for (t = s; t; t = baton_catalog_next_schema(cat, t))
			if (same_contract(t->contract, s->contract))
				print_schema(out, cat, t);
		print_users(out, cat, s->contract);
	}
}

/* Contracts a handler names without a schema; each printed once. */
static bool has_schema(const struct baton_catalog *cat, const char *text)
{
	baton_uuid u = baton_rec_uuid(text);

	return baton_catalog_contract_name(cat, &u) != NULL;
}

/*
 * The contracts a handler names: k = 0 is what it writes (NULL when
 * nothing), k = 1 ... count its read entries.
 */
static const char *handler_ref(const struct baton_rec_handler *h, uint32_t k)
{
	if (k == 0)
		return (h->flags & BATON_HANDLER_WRITES) ? h->writes.contract : NULL;
	return baton_handler_reads(h)[k - 1].contract;
}

/* Whether a reference before (h, k) names the same contract as text. */
static bool named_before(const struct baton_catalog *cat, const struct baton_rec_handler *h,
			 uint32_t k, const char *text)
{
	const struct baton_rec_handler *g;
	uint32_t j;

	baton_catalog_for_each_handler(cat, g) {
		for (j = 0; j <= g->hdr.count && (g != h || j < k); j++) {
			const char *other = handler_ref(g, j);

			if (other && same_contract(other, text))
				return true;
		}
		if (g == h)
			break;
	}
	return false;
}

static void print_orphans(FILE *out, const struct baton_catalog *cat)
{
	const struct baton_rec_handler *h;
	uint32_t k;

	baton_catalog_for_each_handler(cat, h) {
		for (k = 0; k <= h->hdr.count; k++) {
			const char *text = handler_ref(h, k);
			char uuid[BATON_UUID_STRLEN + 1];
			baton_uuid u;

			if (!text || has_schema(cat, text) || named_before(cat, h, k, text))
				continue;
			u = baton_rec_uuid(text);
			baton_uuid_format(&u, uuid);
			fprintf(out, "\ncontract %s  (no schema in this catalog)\n", uuid);
			print_users(out, cat, text);
		}
	}
}

static void print_handler(FILE *out, const struct baton_catalog *cat,
			  const struct baton_rec_handler *h, int width)
{
	const struct baton_read *r = baton_handler_reads(h);
	char label[BATON_UUID_STRLEN + 1];
	uint32_t i, j;

	fprintf(out, "  %-*s  ", width, h->name);
	if (h->flags & BATON_HANDLER_WRITES)
		fprintf(out, "writes %s version %u%s", contract_label(cat, h->writes.contract, label),
			h->writes.version, (h->flags & BATON_HANDLER_OPTIONAL) ? " (optional)" : "");
	else
		fprintf(out, "writes nothing");
	fprintf(out, "; reads ");
	if (!h->hdr.count)
		fprintf(out, "nothing");
	for (i = 0; i < h->hdr.count; i++) {
		fprintf(out, "%s%s ", i ? "; " : "", contract_label(cat, r[i].contract, label));
		for (j = 0; j < r[i].nversions; j++)
			fprintf(out, "%s%u", j ? ", " : "", r[i].versions[j]);
	}
	fprintf(out, "\n");
}

int baton_catalog_print(const struct baton_catalog *cat, FILE *out)
{
	struct baton_policy p = baton_catalog_policy(cat);
	const struct baton_rec_handler *h;
	char rel[BATON_RELEASE_STRMAX], bid[2 * BATON_BUILD_ID_MAX + 1];
	int width = 0;
	size_t i;

	if (!cat || !cat->program || !out)
		return -EINVAL;
	baton_release_format(&cat->program->release, rel, sizeof(rel));
	baton_build_id_format(&cat->build_id, bid, sizeof(bid));
	fprintf(out, "program   %s %s\n", cat->program->name, rel);
	fprintf(out, "build id  %s\n", bid);
	fprintf(out, "policy    ");
	if (!p.nrules)
		fprintf(out, "none (accepts no earlier release)");
	for (i = 0; i < p.nrules; i++) {
		char rule[64];

		if (baton_policy_rule_format(&p.rules[i], rule, sizeof(rule)) < 0)
			snprintf(rule, sizeof(rule), "(rule kind %u)", p.rules[i].kind);
		fprintf(out, "%s%s", i ? ", " : "", rule);
	}
	fprintf(out, "\n");

	print_contracts(out, cat);
	print_orphans(out, cat);

	fprintf(out, "\nhandlers\n");
	baton_catalog_for_each_handler(cat, h) {
		int n = (int)baton_strnlen(h->name, sizeof(h->name));

		if (n > width)
			width = n;
	}
	baton_catalog_for_each_handler(cat, h)
		print_handler(out, cat, h, width);
	if (!cat->nhandlers)
		fprintf(out, "  none\n");
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
