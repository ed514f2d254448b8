/* SPDX-License-Identifier: MIT */
/*
 * DOC: check unit tests — building small catalogs and collecting findings
 *
 * Each test describes the releases it compares with the core builder, opens
 * them as catalog views exactly as `baton check` does, and keeps every
 * finding the engine reports so that it can assert on them.
 */
#ifndef BATON_TESTS_CHECK_CATALOGS_H
#define BATON_TESTS_CHECK_CATALOGS_H

#include <errno.h>
#include <string.h>

#include <baton/check.h>

#define CACHE "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
#define LISTENER "0b7e6a52-31c4-4f0e-9d2a-7c5b3e1f8a90"
#define ENTRY "d4c3b2a1-1111-4222-8333-444455556666"

struct test_catalog {
	uint64_t buf[8192];   /* 64 KiB, 8-byte aligned */
	struct baton_catalog_builder b;
	struct baton_catalog cat;
	struct baton_build_id build;
};

static inline void cat_begin(struct test_catalog *t, const char *program, uint32_t maj,
			     uint32_t min, uint32_t pat, const char *const *rules)
{
	struct baton_policy_rule r[BATON_MAX_POLICY_RULES];
	struct baton_release rel = { maj, min, pat };
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	baton_catalog_builder_init(&t->b, t->buf, sizeof(t->buf));
	for (; rules && rules[n]; n++)
		if (baton_policy_rule_parse(&r[n], rules[n], strlen(rules[n]), NULL) < 0)
			t->b.err = -EINVAL;
	baton_catalog_add_program(&t->b, program, &rel, r, n);
	/* a build id that differs between releases unless the test says otherwise */
	t->build.len = 4;
	t->build.b[0] = (uint8_t)maj;
	t->build.b[1] = (uint8_t)min;
	t->build.b[2] = (uint8_t)pat;
	t->build.b[3] = 0xb1;
}

static inline void cat_schema(struct test_catalog *t, const char *contract, const char *name,
			      uint32_t version, const struct baton_field *fields, size_t n)
{
	baton_catalog_add_schema(&t->b, contract, name, version, fields, n);
}

/* reads: contract, then a 0-terminated list of versions */
static inline void cat_handler(struct test_catalog *t, const char *name, uint32_t flags,
			       const char *writes, uint32_t wversion,
			       const char *reads, const uint32_t *versions)
{
	struct baton_cv cv = { .version = wversion };
	struct baton_read r = { 0 };
	size_t nreads = 0;

	if (writes) {
		strcpy(cv.contract, writes);
		flags |= BATON_HANDLER_WRITES;
	}
	if (reads) {
		strcpy(r.contract, reads);
		while (versions[r.nversions])
			r.versions[r.nversions] = versions[r.nversions], r.nversions++;
		nreads = 1;
	}
	baton_catalog_add_handler(&t->b, name, flags, writes ? &cv : NULL, &r, nreads);
}

/* Finishes and opens the catalog; returns the open's result. */
static inline int cat_end(struct test_catalog *t)
{
	size_t len;
	int rc = baton_catalog_builder_finish(&t->b, &len);

	if (rc < 0)
		return rc;
	return baton_catalog_open(&t->cat, t->buf, len, &t->build, NULL);
}

#define MAX_KEPT 32

struct findings {
	int n;
	struct baton_finding f[MAX_KEPT];
};

static inline void keep_finding(void *ctx, const struct baton_finding *f)
{
	struct findings *x = ctx;

	if (x->n < MAX_KEPT)
		x->f[x->n] = *f;
	x->n++;
}

/* The first finding of a rule, or NULL. */
static inline const struct baton_finding *find_rule(const struct findings *x, enum baton_rule rule)
{
	int i;

	for (i = 0; i < x->n && i < MAX_KEPT; i++)
		if (x->f[i].rule == rule)
			return &x->f[i];
	return NULL;
}

static inline int count_rule(const struct findings *x, enum baton_rule rule)
{
	int i, n = 0;

	for (i = 0; i < x->n && i < MAX_KEPT; i++)
		n += x->f[i].rule == rule;
	return n;
}

#endif
