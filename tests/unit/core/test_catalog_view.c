/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — the catalog view over real records, and the builder
 *
 * This test program declares its own catalog with the BATON_PROGRAM,
 * BATON_SCHEMA and BATON_HANDLER macros, so the records under test are the
 * ones the compiler and linker really emit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <baton/catalog.h>

#define CACHE "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
#define ENTRY "0b7a6c1e-2d3f-4a5b-9c8d-7e6f5a4b3c2d"
#define CONN "A1B2C3D4-E5F6-4789-8ABC-DEF012345678"
#define GONE "11111111-2222-4333-8444-555555555555"  /* read, no schema, not written */

BATON_PROGRAM("viewtest", 2, 3, 4, BATON_PATCH, BATON_FROM(2, 1), BATON_SAME_BUILD);
BATON_SCHEMA(ENTRY, "kvd.entry", 1, BATON_FIELD_STRING("key", 250), BATON_FIELD_U32("flags"));
BATON_SCHEMA(CACHE, "kvd.cache", 1, BATON_FIELD_U64("nitems"));
BATON_SCHEMA(CACHE, "kvd.cache", 2, BATON_FIELD_U64("nitems"), BATON_FIELD_SCHEMA("last", ENTRY, 1),
	     BATON_FIELD_ARRAY("shards", BATON_T_U16, 8));
BATON_SCHEMA(CONN, "kvd.conn", 3, BATON_FIELD_FD("sock"), BATON_FIELD_REGION("buf"));
BATON_HANDLER("kvd.cache", BATON_WRITES(CACHE, 2), BATON_READS(CACHE, 1, 2));
BATON_HANDLER("kvd.conn", BATON_WRITES_OPTIONAL(CONN, 3), BATON_READS(CONN, 3));
BATON_HANDLER("kvd.adopt", BATON_WRITES_NOTHING, BATON_READS(ENTRY, 1), BATON_READS(GONE, 7, 5, 6));

static baton_uuid uuid(const char *s)
{
	baton_uuid u;

	assert_int_equal(baton_uuid_parse(&u, s, strlen(s)), 0);
	return u;
}

/* An aligned copy of the program's own records. */
static void *self_copy(size_t *len)
{
	void *p = NULL;

	*len = BATON_SELF_RECORDS_LEN;
	assert_true(*len > 0);
	assert_int_equal(posix_memalign(&p, 8, *len), 0);
	memcpy(p, BATON_SELF_RECORDS, *len);
	return p;
}

static void open_self(struct baton_catalog *cat)
{
	struct baton_build_id id;
	struct baton_diag d;

	baton_build_id_parse(&id, "0123456789abcdef", 16, NULL);
	if (baton_catalog_open(cat, BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, &id, &d) != 0)
		fail_msg("%s", d.msg);
}

static void view_program(void **state)
{
	struct baton_catalog cat;
	struct baton_policy p;
	char bid[2 * BATON_BUILD_ID_MAX + 1];

	open_self(&cat);
	assert_non_null(cat.program);
	assert_string_equal(cat.program->name, "viewtest");
	assert_int_equal(cat.program->release.major, 2);
	assert_int_equal(cat.program->release.minor, 3);
	assert_int_equal(cat.program->release.patch, 4);
	assert_int_equal(cat.nschemas, 4);
	assert_int_equal(cat.nhandlers, 3);
	baton_build_id_format(&cat.build_id, bid, sizeof(bid));
	assert_string_equal(bid, "0123456789abcdef");

	p = baton_catalog_policy(&cat);
	assert_int_equal(p.nrules, 3);
	assert_int_equal(p.rules[0].kind, BATON_POLICY_PATCH);
	assert_int_equal(p.rules[1].kind, BATON_POLICY_FROM_MINOR);
	assert_int_equal(p.rules[1].from.major, 2);
	assert_int_equal(p.rules[1].from.minor, 1);
	assert_int_equal(p.rules[2].kind, BATON_POLICY_SAME_BUILD);

	/* the build id is optional */
	assert_int_equal(baton_catalog_open(&cat, BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, NULL,
					    NULL), 0);
	assert_int_equal(cat.build_id.len, 0);
	p = baton_catalog_policy(NULL);
	assert_null(p.rules);
	assert_int_equal(p.nrules, 0);
}

static void view_iterates(void **state)
{
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	struct baton_catalog cat;
	unsigned seen = 0, n = 0;

	open_self(&cat);
	baton_catalog_for_each_schema(&cat, s) {
		const struct baton_field *f = baton_schema_fields(s);

		n++;
		if (strcmp(s->name, "kvd.cache") == 0 && s->version == 2) {
			seen |= 1;
			assert_int_equal(s->hdr.count, 3);
			assert_string_equal(f[0].name, "nitems");
			assert_int_equal(f[0].type, BATON_T_U64);
			assert_string_equal(f[1].name, "last");
			assert_int_equal(f[1].type, BATON_T_SCHEMA);
			assert_string_equal(f[1].contract, ENTRY);
			assert_int_equal(f[1].version, 1);
			assert_int_equal(f[2].type, BATON_T_ARRAY);
			assert_int_equal(f[2].elem, BATON_T_U16);
			assert_int_equal(f[2].size, 8);
		} else if (strcmp(s->name, "kvd.entry") == 0) {
			seen |= 2;
			assert_int_equal(f[0].type, BATON_T_STRING);
			assert_int_equal(f[0].size, 250);
		}
	}
	assert_int_equal(n, 4);
	assert_int_equal(seen, 3);

	n = 0;
	baton_catalog_for_each_handler(&cat, h) {
		n++;
		if (strcmp(h->name, "kvd.adopt") == 0) {
			const struct baton_read *r = baton_handler_reads(h);

			assert_int_equal(h->flags, 0);
			assert_int_equal(h->hdr.count, 2);
			assert_string_equal(r[1].contract, GONE);
			assert_int_equal(r[1].nversions, 3);
			assert_int_equal(r[1].versions[0], 7);
		}
		if (strcmp(h->name, "kvd.conn") == 0)
			assert_int_equal(h->flags, BATON_HANDLER_WRITES | BATON_HANDLER_OPTIONAL);
	}
	assert_int_equal(n, 3);

	/* an empty view iterates nothing */
	memset(&cat, 0, sizeof(cat));
	assert_null(baton_catalog_next_schema(&cat, NULL));
	assert_null(baton_catalog_next_handler(NULL, NULL));
}

static void view_lookups(void **state)
{
	baton_uuid cache = uuid(CACHE), entry = uuid(ENTRY), conn = uuid(CONN), gone = uuid(GONE);
	baton_uuid other = uuid("99999999-9999-4999-8999-999999999999");
	const struct baton_rec_handler *h;
	const struct baton_rec_schema *s;
	struct baton_catalog cat;
	char buf[64];

	open_self(&cat);
	s = baton_catalog_find_schema(&cat, &cache, 2);
	assert_non_null(s);
	assert_int_equal(s->version, 2);
	assert_null(baton_catalog_find_schema(&cat, &cache, 3));
	assert_null(baton_catalog_find_schema(&cat, &other, 1));
	/* the record's upper-case UUID text is found by its value */
	s = baton_catalog_find_schema(&cat, &conn, 3);
	assert_non_null(s);
	assert_string_equal(s->name, "kvd.conn");

	h = baton_catalog_find_reader(&cat, &cache, 1);
	assert_non_null(h);
	assert_string_equal(h->name, "kvd.cache");
	assert_ptr_equal(baton_catalog_find_reader(&cat, &cache, 2), h);
	assert_null(baton_catalog_find_reader(&cat, &cache, 3));
	assert_string_equal(baton_catalog_find_reader(&cat, &gone, 6)->name, "kvd.adopt");
	assert_null(baton_catalog_find_reader(&cat, &gone, 8));

	assert_ptr_equal(baton_catalog_find_writer(&cat, &cache), h);
	assert_string_equal(baton_catalog_find_writer(&cat, &conn)->name, "kvd.conn");
	assert_null(baton_catalog_find_writer(&cat, &entry));  /* only read */
	assert_null(baton_catalog_find_writer(&cat, &other));

	assert_ptr_equal(baton_catalog_find_handler(&cat, "kvd.cache"), h);
	assert_null(baton_catalog_find_handler(&cat, "kvd.cach"));
	assert_null(baton_catalog_find_handler(&cat, ""));

	assert_string_equal(baton_catalog_contract_name(&cat, &cache), "kvd.cache");
	assert_string_equal(baton_catalog_contract_name(&cat, &conn), "kvd.conn");
	assert_null(baton_catalog_contract_name(&cat, &gone));

	assert_true(baton_handler_reads_version(h, &cache, 1));
	assert_false(baton_handler_reads_version(h, &cache, 3));
	assert_false(baton_handler_reads_version(h, &entry, 1));
	assert_int_equal(baton_handler_max_read(h, &cache), 2);
	assert_int_equal(baton_handler_max_read(h, &entry), 0);

	assert_int_equal(baton_handler_format_reads(h, &cache, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "1, 2");
	assert_int_equal(baton_handler_format_reads(h, &entry, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "none");
	h = baton_catalog_find_handler(&cat, "kvd.adopt");
	assert_int_equal(baton_handler_max_read(h, &gone), 7);
	baton_handler_format_reads(h, &gone, buf, sizeof(buf));
	assert_string_equal(buf, "7, 5, 6");
	baton_handler_format_reads(h, &gone, buf, 3);  /* truncates, stays terminated */
	assert_string_equal(buf, "7,");
	assert_int_equal(baton_handler_format_reads(h, &gone, buf, 0), -ENOSPC);
}

static void rec_uuid_of_bad_text(void **state)
{
	baton_uuid u = baton_rec_uuid("not a uuid"), c = baton_rec_uuid(CONN), want = uuid(CONN);

	assert_true(baton_uuid_is_nil(&u));
	assert_int_equal(baton_uuid_cmp(&c, &want), 0);
}

/* Resolves nested schemas for baton_schema_fingerprint from the catalog, by hand. */
static int resolve(void *ctx, const baton_uuid *contract, uint32_t version, baton_fingerprint *out)
{
	const struct baton_catalog *cat = ctx;
	const struct baton_rec_schema *s = baton_catalog_find_schema(cat, contract, version);

	if (!s)
		return -ENOENT;
	return baton_schema_fingerprint(baton_schema_fields(s), s->hdr.count, resolve, ctx, out, NULL);
}

static void view_fingerprints(void **state)
{
	const struct baton_rec_schema *s;
	struct baton_catalog cat;
	baton_uuid entry = uuid(ENTRY), cache = uuid(CACHE);
	baton_fingerprint a, b, c;

	open_self(&cat);
	baton_catalog_for_each_schema(&cat, s) {
		assert_int_equal(baton_catalog_fingerprint(&cat, s, &a, NULL), 0);
		assert_int_equal(baton_schema_fingerprint(baton_schema_fields(s), s->hdr.count, resolve,
							  &cat, &b, NULL), 0);
		assert_true(baton_fingerprint_equal(&a, &b));
	}
	/* versions 1 and 2 of kvd.cache differ; kvd.entry differs from both */
	baton_catalog_fingerprint(&cat, baton_catalog_find_schema(&cat, &cache, 1), &a, NULL);
	baton_catalog_fingerprint(&cat, baton_catalog_find_schema(&cat, &cache, 2), &b, NULL);
	baton_catalog_fingerprint(&cat, baton_catalog_find_schema(&cat, &entry, 1), &c, NULL);
	assert_false(baton_fingerprint_equal(&a, &b));
	assert_false(baton_fingerprint_equal(&a, &c));
}

/* ------------------------------------------------------------------------ */
/* The builder                                                              */

/* Rebuilds the view's records in view order: program, schemas, handlers. */
static size_t rebuild(const struct baton_catalog *cat, void *buf, size_t size, int *rc)
{
	struct baton_catalog_builder b;
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	size_t len;

	baton_catalog_builder_init(&b, buf, size);
	baton_catalog_add_program(&b, cat->program->name, &cat->program->release,
				  baton_program_rules(cat->program), cat->program->hdr.count);
	baton_catalog_for_each_schema(cat, s)
		baton_catalog_add_schema(&b, s->contract, s->name, s->version, baton_schema_fields(s),
					 s->hdr.count);
	baton_catalog_for_each_handler(cat, h)
		baton_catalog_add_handler(&b, h->name, h->flags, &h->writes, baton_handler_reads(h),
					  h->hdr.count);
	*rc = baton_catalog_builder_finish(&b, &len);
	return len;
}

static const void *find_same(const struct baton_catalog *cat, const struct baton_rec *r)
{
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;

	if (r->kind == BATON_REC_PROGRAM)
		return cat->program;
	baton_catalog_for_each_schema(cat, s)
		if (r->kind == BATON_REC_SCHEMA &&
		    strcmp(s->contract, ((const struct baton_rec_schema *)(const void *)r)->contract) == 0 &&
		    s->version == ((const struct baton_rec_schema *)(const void *)r)->version)
			return s;
	baton_catalog_for_each_handler(cat, h)
		if (r->kind == BATON_REC_HANDLER &&
		    strcmp(h->name, ((const struct baton_rec_handler *)(const void *)r)->name) == 0)
			return h;
	return NULL;
}

static void builder_round_trip(void **state)
{
	struct baton_catalog cat, again;
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	size_t need, len;
	void *buf = NULL;
	int rc;

	open_self(&cat);
	need = rebuild(&cat, NULL, 0, &rc);  /* measure */
	assert_int_equal(rc, -ENOSPC);
	assert_true(need > 0);
	assert_int_equal(posix_memalign(&buf, 8, need), 0);
	len = rebuild(&cat, buf, need - 8, &rc);  /* too small: says how much */
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(len, need);
	len = rebuild(&cat, buf, need, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(len, need);
	assert_int_equal(baton_catalog_open(&again, buf, len, NULL, NULL), 0);
	assert_int_equal(again.nschemas, cat.nschemas);
	assert_int_equal(again.nhandlers, cat.nhandlers);

	/* the builder writes the very bytes the macros emit */
	assert_memory_equal(again.program, cat.program, cat.program->hdr.size);
	baton_catalog_for_each_schema(&again, s)
		assert_memory_equal(s, find_same(&cat, &s->hdr), s->hdr.size);
	baton_catalog_for_each_handler(&again, h)
		assert_memory_equal(h, find_same(&cat, &h->hdr), h->hdr.size);
	free(buf);
}

static void builder_errors(void **state)
{
	struct baton_policy_rule rules[BATON_MAX_POLICY_RULES + 1];
	struct baton_release rel = { 1, 0, 0 };
	struct baton_catalog_builder b;
	char long_name[BATON_NAME_MAX + 1];
	uint64_t aligned[64];
	size_t len;

	memset(rules, 0, sizeof(rules));
	baton_catalog_builder_init(&b, (char *)aligned + 4, sizeof(aligned) - 4);
	assert_int_equal(b.err, -EINVAL);  /* misaligned */
	assert_int_equal(baton_catalog_add_program(&b, "p", &rel, NULL, 0), -EINVAL);
	assert_int_equal(baton_catalog_builder_finish(&b, &len), -EINVAL);

	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_program(&b, "p", &rel, rules, BATON_MAX_POLICY_RULES + 1),
			 -E2BIG);
	/* the first error sticks */
	assert_int_equal(baton_catalog_add_schema(&b, ENTRY, "e", 1, NULL, 0), -E2BIG);
	assert_int_equal(baton_catalog_builder_finish(&b, &len), -E2BIG);

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_program(&b, long_name, &rel, NULL, 0), -ENAMETOOLONG);
	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_handler(&b, long_name, 0, NULL, NULL, 0), -ENAMETOOLONG);
	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_schema(&b, ENTRY, long_name, 1, NULL, 0), -ENAMETOOLONG);
	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_schema(&b, ENTRY "-too-long-for-the-field", "e", 1, NULL, 0),
			 -ENAMETOOLONG);
	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_schema(&b, ENTRY, "e", 1, NULL, 1025), -E2BIG);
	baton_catalog_builder_init(&b, aligned, sizeof(aligned));
	assert_int_equal(baton_catalog_add_handler(&b, "h", 0, NULL, NULL, 257), -E2BIG);
}

/* ------------------------------------------------------------------------ */
/* Nesting across schemas                                                   */

#define A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

static struct baton_field nest(const char *name, const char *contract, uint32_t version)
{
	struct baton_field f;

	memset(&f, 0, sizeof(f));
	strcpy(f.name, name);
	f.type = BATON_T_SCHEMA;
	strcpy(f.contract, contract);
	f.version = version;
	return f;
}

static int open_built(uint64_t *buf, size_t size, void (*add)(struct baton_catalog_builder *),
		      struct baton_catalog *cat, struct baton_diag *d)
{
	struct baton_release rel = { 1, 0, 0 };
	struct baton_catalog_builder b;
	size_t len;

	baton_catalog_builder_init(&b, buf, size);
	baton_catalog_add_program(&b, "nest", &rel, NULL, 0);
	add(&b);
	assert_int_equal(baton_catalog_builder_finish(&b, &len), 0);
	baton_diag_clear(d);
	return baton_catalog_open(cat, buf, len, NULL, d);
}

static void add_cycle(struct baton_catalog_builder *b)
{
	struct baton_field fa = nest("b", B, 1), fb = nest("a", A, 1);

	baton_catalog_add_schema(b, A, "a", 1, &fa, 1);
	baton_catalog_add_schema(b, B, "b", 1, &fb, 1);
}

static void add_self(struct baton_catalog_builder *b)
{
	struct baton_field f = nest("me", A, 1);

	baton_catalog_add_schema(b, A, "a", 1, &f, 1);
}

static void add_missing(struct baton_catalog_builder *b)
{
	struct baton_field f = nest("b", B, 2);

	baton_catalog_add_schema(b, A, "a", 1, &f, 1);
	baton_catalog_add_schema(b, B, "b", 1, NULL, 0);
}

static unsigned chain_length;

/* Schema version i nests version i + 1 of the same contract, chain_length times. */
static void add_chain(struct baton_catalog_builder *b)
{
	unsigned i;

	for (i = 1; i <= chain_length; i++) {
		struct baton_field f = nest("next", A, i + 1);

		baton_catalog_add_schema(b, A, "a", i, &f, 1);
	}
	baton_catalog_add_schema(b, A, "a", chain_length + 1, NULL, 0);
}

static void nesting_refused(void **state)
{
	static uint64_t buf[1024];
	struct baton_catalog cat;
	struct baton_diag d;

	assert_int_equal(open_built(buf, sizeof(buf), add_cycle, &cat, &d), -ELOOP);
	assert_non_null(strstr(d.msg, "nests itself"));
	assert_null(cat.program);  /* a failed open leaves an empty view */
	assert_int_equal(open_built(buf, sizeof(buf), add_self, &cat, &d), -ELOOP);
	assert_non_null(strstr(d.msg, "schema a version 1"));
	assert_int_equal(open_built(buf, sizeof(buf), add_missing, &cat, &d), -ENOENT);
	assert_non_null(strstr(d.msg, B " version 2, which has no schema here"));

	/* BATON_MAX_NESTING levels of nesting are fine, one more is not */
	chain_length = BATON_MAX_NESTING;
	assert_int_equal(open_built(buf, sizeof(buf), add_chain, &cat, &d), 0);
	chain_length = BATON_MAX_NESTING + 1;
	assert_int_equal(open_built(buf, sizeof(buf), add_chain, &cat, &d), -ELOOP);
}

static void open_refuses_buffers(void **state)
{
	struct baton_catalog cat;
	struct baton_build_id big = { .len = BATON_BUILD_ID_MAX + 1 };
	struct baton_diag d;
	size_t len;
	char *p = self_copy(&len);

	assert_int_equal(baton_catalog_open(&cat, NULL, 0, NULL, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "empty"));
	assert_int_equal(baton_catalog_open(&cat, p, 0, NULL, &d), -ENOENT);
	assert_int_equal(baton_catalog_open(&cat, p + 4, len - 8, NULL, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "aligned"));
	assert_int_equal(baton_catalog_open(&cat, p, BATON_CATALOG_MAX_SIZE + 1, NULL, &d), -E2BIG);
	assert_int_equal(baton_catalog_open(&cat, p, len, &big, &d), -EINVAL);
	assert_int_equal(baton_catalog_open(&cat, p, len, NULL, &d), 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(view_program),
		cmocka_unit_test(view_iterates),
		cmocka_unit_test(view_lookups),
		cmocka_unit_test(rec_uuid_of_bad_text),
		cmocka_unit_test(view_fingerprints),
		cmocka_unit_test(builder_round_trip),
		cmocka_unit_test(builder_errors),
		cmocka_unit_test(nesting_refused),
		cmocka_unit_test(open_refuses_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
