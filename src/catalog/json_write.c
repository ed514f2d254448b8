/* SPDX-License-Identifier: MIT */
/*
 * DOC: the canonical JSON form of a catalog — writing
 *
 * One catalog has exactly one canonical text, so that the catalogs of past
 * releases kept in a project's tree diff cleanly and two tools that print the
 * same catalog print the same bytes: keys in a fixed order, two spaces of
 * indent per level, objects that hold lists spread over lines, small leaf
 * objects (what a handler writes, one read entry, one field) and lists of
 * numbers or words on one line, schemas and handlers in record order, and a
 * newline at the end. docs/catalog-format.md shows the layout.
 *
 * The text is written by hand rather than through json-c's printer so that
 * the layout is ours to specify and does not move with a library version;
 * every string in a checked catalog is a name, a UUID, a release, hex or a
 * policy rule, so escaping is there for safety only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <baton/catalog_io.h>

#include "internal.h"

static void put(struct baton__text *t, const char *s)
{
	baton__text_put(t, s, strlen(s));
}

static void put_string(struct baton__text *t, const char *s, size_t max)
{
	baton__text_json_string(t, s, baton_strnlen(s, max));
}

static void put_uuid(struct baton__text *t, const char *text)
{
	char uuid[BATON_UUID_STRLEN + 1];
	baton_uuid u = baton_rec_uuid(text);

	baton_uuid_format(&u, uuid);
	baton__text_json_string(t, uuid, BATON_UUID_STRLEN);
}

static int write_policy(struct baton__text *t, const struct baton_catalog *cat)
{
	struct baton_policy p = baton_catalog_policy(cat);
	size_t i;

	put(t, "  \"policy\": [");
	for (i = 0; i < p.nrules; i++) {
		char rule[64];
		int n = baton_policy_rule_format(&p.rules[i], rule, sizeof(rule));

		if (n < 0)
			return n;
		if (i)
			put(t, ", ");
		baton__text_json_string(t, rule, (size_t)n);
	}
	put(t, "],\n");
	return 0;
}

static void write_handler(struct baton__text *t, const struct baton_rec_handler *h)
{
	const struct baton_read *r = baton_handler_reads(h);
	uint32_t i, j;

	put(t, "    {\n      \"name\": ");
	put_string(t, h->name, sizeof(h->name));
	put(t, ",\n      \"writes\": ");
	if (h->flags & BATON_HANDLER_WRITES) {
		put(t, "{\"contract\": ");
		put_uuid(t, h->writes.contract);
		baton__text_printf(t, ", \"version\": %u}", h->writes.version);
	} else {
		put(t, "null");
	}
	if (h->flags & BATON_HANDLER_OPTIONAL)
		put(t, ",\n      \"optional\": true");
	put(t, ",\n      \"reads\": [");
	for (i = 0; i < h->hdr.count; i++) {
		put(t, i ? ",\n        {\"contract\": " : "\n        {\"contract\": ");
		put_uuid(t, r[i].contract);
		put(t, ", \"versions\": [");
		for (j = 0; j < r[i].nversions; j++)
			baton__text_printf(t, "%s%u", j ? ", " : "", r[i].versions[j]);
		put(t, "]}");
	}
	put(t, h->hdr.count ? "\n      ]\n    }" : "]\n    }");
}

static void write_field(struct baton__text *t, const struct baton_field *f)
{
	put(t, "{\"name\": ");
	put_string(t, f->name, sizeof(f->name));
	put(t, ", \"type\": \"");
	put(t, baton_type_name(f->type) ? baton_type_name(f->type) : "?");
	put(t, "\"");
	switch (f->type) {
	case BATON_T_BYTES:
		baton__text_printf(t, ", \"size\": %u", f->size);
		break;
	case BATON_T_STRING:
		baton__text_printf(t, ", \"max\": %u", f->size);
		break;
	case BATON_T_ARRAY:
		baton__text_printf(t, ", \"of\": \"%s\", \"max\": %u",
				   baton_type_name(f->elem) ? baton_type_name(f->elem) : "?", f->size);
		break;
	case BATON_T_SCHEMA:
		put(t, ", \"contract\": ");
		put_uuid(t, f->contract);
		baton__text_printf(t, ", \"version\": %u", f->version);
		break;
	default:
		break;
	}
	put(t, "}");
}

static int write_schema(struct baton__text *t, const struct baton_catalog *cat,
			const struct baton_rec_schema *s, struct baton_diag *d)
{
	const struct baton_field *f = baton_schema_fields(s);
	char fp[BATON_FINGERPRINT_HEXLEN + 1];
	baton_fingerprint sum;
	uint32_t i;
	int rc;

	rc = baton_catalog_fingerprint(cat, s, &sum, d);
	if (rc < 0)
		return rc;
	baton_fingerprint_format(&sum, fp);
	put(t, "    {\n      \"contract\": ");
	put_uuid(t, s->contract);
	put(t, ",\n      \"name\": ");
	put_string(t, s->name, sizeof(s->name));
	baton__text_printf(t, ",\n      \"version\": %u,\n      \"fingerprint\": \"%s\",\n      \"fields\": [",
			   s->version, fp);
	for (i = 0; i < s->hdr.count; i++) {
		put(t, i ? ",\n        " : "\n        ");
		write_field(t, &f[i]);
	}
	put(t, s->hdr.count ? "\n      ]\n    }" : "]\n    }");
	return 0;
}

int baton_catalog_to_json(const struct baton_catalog *cat, char **out, struct baton_diag *d)
{
	struct baton__text t = { 0 };
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	char rel[BATON_RELEASE_STRMAX], bid[2 * BATON_BUILD_ID_MAX + 1];
	bool first;
	int rc;

	*out = NULL;
	if (!cat || !cat->program)
		return baton_diag_set(d, -EINVAL, "no catalog to write: open one first");
	baton_release_format(&cat->program->release, rel, sizeof(rel));

	put(&t, "{\n  \"format\": \"" BATON_CATALOG_JSON_FORMAT "\",\n  \"program\": ");
	put_string(&t, cat->program->name, sizeof(cat->program->name));
	baton__text_printf(&t, ",\n  \"release\": \"%s\",\n  \"build_id\": ", rel);
	if (cat->build_id.len) {
		baton_build_id_format(&cat->build_id, bid, sizeof(bid));
		baton__text_printf(&t, "\"%s\",\n", bid);
	} else {
		put(&t, "null,\n");
	}
	rc = write_policy(&t, cat);
	if (rc < 0) {
		baton_diag_set(d, rc, "the catalog's policy has a rule baton cannot write");
		goto fail;
	}

	put(&t, "  \"handlers\": [");
	first = true;
	baton_catalog_for_each_handler(cat, h) {
		put(&t, first ? "\n" : ",\n");
		write_handler(&t, h);
		first = false;
	}
	put(&t, first ? "],\n" : "\n  ],\n");

	put(&t, "  \"schemas\": [");
	first = true;
	baton_catalog_for_each_schema(cat, s) {
		put(&t, first ? "\n" : ",\n");
		rc = write_schema(&t, cat, s, d);
		if (rc < 0)
			goto fail;
		first = false;
	}
	put(&t, first ? "]\n}\n" : "\n  ]\n}\n");

	if (t.err) {
		rc = baton_diag_set(d, t.err, "out of memory writing the JSON catalog");
		goto fail;
	}
	*out = t.p;
	return 0;
fail:
	free(t.p);
	return rc;
}
