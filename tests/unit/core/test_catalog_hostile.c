/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — catalog records as hostile input
 *
 * baton_catalog_open() reads records from files other people hand us. These
 * tests start from real records (this program's own, declared with the
 * macros) and break them every way a file can be broken: cut at every byte,
 * every bit flipped, sizes and counts pushed to their limits, magic, byte
 * order, ABI and kind wrong, strings unterminated, records duplicated. Every
 * break must give an error with words, or a catalog that is safe to walk;
 * never a crash (the sanitizer build watches for reads out of bounds, and
 * each buffer is allocated at exactly the length under test).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <baton/catalog.h>

#define CACHE "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
#define ENTRY "0b7a6c1e-2d3f-4a5b-9c8d-7e6f5a4b3c2d"

BATON_PROGRAM("hostile", 1, 0, 0, BATON_PATCH, BATON_FROM(0, 9));
BATON_SCHEMA(ENTRY, "kvd.entry", 1, BATON_FIELD_STRING("key", 250), BATON_FIELD_U32("flags"));
BATON_SCHEMA(CACHE, "kvd.cache", 1, BATON_FIELD_U64("nitems"), BATON_FIELD_SCHEMA("last", ENTRY, 1),
	     BATON_FIELD_ARRAY("shards", BATON_T_U16, 8));
BATON_HANDLER("kvd.cache", BATON_WRITES(CACHE, 1), BATON_READS(CACHE, 1));
BATON_HANDLER("kvd.adopt", BATON_WRITES_NOTHING, BATON_READS(ENTRY, 1));

/* An exactly sized, 8-byte aligned copy of len bytes of src. */
static uint8_t *copy_of(const void *src, size_t len)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, 8, len ? len : 8), 0);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* Walks everything a valid view offers; the sanitizers catch bad reads. */
static void walk(const struct baton_catalog *cat)
{
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	struct baton_policy p = baton_catalog_policy(cat);
	unsigned n = 0;
	size_t i;

	for (i = 0; i < p.nrules; i++) {
		char rule[64];

		assert_true(baton_policy_rule_format(&p.rules[i], rule, sizeof(rule)) > 0);
	}
	baton_catalog_for_each_schema(cat, s) {
		baton_uuid u = baton_rec_uuid(s->contract);
		baton_fingerprint fp;

		assert_int_equal(baton_catalog_fingerprint(cat, s, &fp, NULL), 0);
		assert_ptr_equal(baton_catalog_find_schema(cat, &u, s->version), s);
		assert_non_null(baton_catalog_contract_name(cat, &u));
		n++;
	}
	assert_int_equal(n, cat->nschemas);
	n = 0;
	baton_catalog_for_each_handler(cat, h) {
		const struct baton_read *r = baton_handler_reads(h);
		char buf[128];

		for (i = 0; i < h->hdr.count; i++) {
			baton_uuid u = baton_rec_uuid(r[i].contract);

			assert_true(baton_handler_reads_version(h, &u, r[i].versions[0]));
			assert_non_null(baton_catalog_find_reader(cat, &u, r[i].versions[0]));
			assert_true(baton_handler_format_reads(h, &u, buf, sizeof(buf)) > 0);
		}
		assert_non_null(baton_catalog_find_handler(cat, h->name));
		n++;
	}
	assert_int_equal(n, cat->nhandlers);
}

/* Opens len bytes of src in an exact copy: 0 (and walks it), or the error with words. */
static int try_open(const void *src, size_t len, struct baton_diag *d)
{
	struct baton_catalog cat;
	uint8_t *p = copy_of(src, len);
	int rc;

	baton_diag_clear(d);
	rc = baton_catalog_open(&cat, p, len, NULL, d);
	if (rc == 0) {
		walk(&cat);
	} else {
		assert_true(rc < 0);
		assert_int_equal(d->code, rc);
		assert_true(strlen(d->msg) > 10);
		assert_null(cat.program);
	}
	free(p);
	return rc;
}

static void self_records_open(void **state)
{
	struct baton_diag d;

	assert_int_equal(try_open(BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, &d), 0);
}

/* Marks the offsets where a record starts (and the end): the only places a cut may leave a valid prefix. */
static void record_starts(const uint8_t *buf, size_t len, bool *start)
{
	size_t off = 0;

	memset(start, 0, len + 1);
	while (off + 16 <= len) {
		struct baton_rec h;

		memcpy(&h, buf + off, sizeof(h));
		start[off] = true;
		if (h.magic == 0) {
			off += 8;  /* zero padding */
			continue;
		}
		off += h.size;
	}
	start[len] = true;
}

static void truncated_at_every_byte(void **state)
{
	const size_t len = BATON_SELF_RECORDS_LEN;
	const uint8_t *full = (const uint8_t *)BATON_SELF_RECORDS;
	bool *start = calloc(len + 1, 1);
	struct baton_diag d;
	unsigned valid = 0;
	size_t cut;

	assert_non_null(start);
	record_starts(full, len, start);
	for (cut = 0; cut < len; cut++) {
		if (try_open(full, cut, &d) != 0)
			continue;
		if (!start[cut])
			fail_msg("a cut at byte %zu, inside a record, opened", cut);
		valid++;
	}
	/* the linker may put the program record last: then no prefix is whole */
	assert_true(valid < len);
	free(start);
}

static void every_bit_flipped(void **state)
{
	const size_t len = BATON_SELF_RECORDS_LEN;
	uint8_t *p = copy_of(BATON_SELF_RECORDS, len);
	bool *start = calloc(len + 1, 1);
	struct baton_diag d;
	size_t i, refused = 0, total = 0;
	int bit;

	assert_non_null(start);
	record_starts(p, len, start);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			int rc;

			p[i] ^= (uint8_t)(1u << bit);
			rc = try_open(p, len, &d);
			p[i] ^= (uint8_t)(1u << bit);
			total++;
			refused += rc != 0;
		}
	}
	/* a record's magic (bytes 0-3) or size (8-11) is never flipped unnoticed */
	for (i = 0; i < len; i++) {
		if (!start[i] || i == len)
			continue;
		for (bit = 0; bit < 32; bit++) {
			uint32_t v;

			memcpy(&v, p + i, 4);
			if (v == 0)
				break;  /* padding */
			v ^= 1u << bit;
			memcpy(p + i, &v, 4);
			if (try_open(p, len, &d) == 0)
				fail_msg("magic of the record at %zu flipped (bit %d) and accepted", i, bit);
			v ^= 1u << bit;
			memcpy(p + i, &v, 4);

			memcpy(&v, p + i + 8, 4);
			v ^= 1u << bit;
			memcpy(p + i + 8, &v, 4);
			if (try_open(p, len, &d) == 0)
				fail_msg("size of the record at %zu flipped (bit %d) and accepted", i, bit);
			v ^= 1u << bit;
			memcpy(p + i + 8, &v, 4);
		}
	}
	assert_true(refused > total / 4);
	free(start);
	free(p);
}

/* ------------------------------------------------------------------------ */
/* Records made to measure, then broken                                     */

struct built {
	uint64_t buf[4096];
	size_t len;
	size_t program, schema, handler;  /* offsets of the first of each */
};

static void build(struct built *b)
{
	struct baton_release rel = { 1, 2, 3 };
	struct baton_policy_rule rules[2] = { { BATON_POLICY_PATCH, { 0, 0, 0 } },
					      { BATON_POLICY_FROM_MINOR, { 1, 1, 0 } } };
	struct baton_field fields[2];
	struct baton_read reads[2];
	struct baton_cv cv;
	struct baton_catalog_builder cb;

	memset(fields, 0, sizeof(fields));
	strcpy(fields[0].name, "nitems");
	fields[0].type = BATON_T_U64;
	strcpy(fields[1].name, "key");
	fields[1].type = BATON_T_STRING;
	fields[1].size = 32;
	memset(reads, 0, sizeof(reads));
	strcpy(reads[0].contract, CACHE);
	reads[0].nversions = 2;
	reads[0].versions[0] = 1;
	reads[0].versions[1] = 2;
	strcpy(reads[1].contract, ENTRY);
	reads[1].nversions = 1;
	reads[1].versions[0] = 1;
	memset(&cv, 0, sizeof(cv));
	strcpy(cv.contract, CACHE);
	cv.version = 2;

	memset(b, 0, sizeof(*b));
	baton_catalog_builder_init(&cb, b->buf, sizeof(b->buf));
	b->program = cb.len;
	baton_catalog_add_program(&cb, "kvd", &rel, rules, 2);
	b->schema = cb.len;
	baton_catalog_add_schema(&cb, CACHE, "kvd.cache", 2, fields, 2);
	baton_catalog_add_schema(&cb, CACHE, "kvd.cache", 1, fields, 1);
	baton_catalog_add_schema(&cb, ENTRY, "kvd.entry", 1, fields + 1, 1);
	b->handler = cb.len;
	baton_catalog_add_handler(&cb, "kvd.cache", BATON_HANDLER_WRITES, &cv, reads, 2);
	assert_int_equal(baton_catalog_builder_finish(&cb, &b->len), 0);
}

static struct baton_rec *hdr_at(struct built *b, size_t off)
{
	return (struct baton_rec *)(void *)((uint8_t *)b->buf + off);
}

static struct baton_rec_program *program(struct built *b)
{
	return (struct baton_rec_program *)(void *)hdr_at(b, b->program);
}

static struct baton_rec_schema *schema(struct built *b)
{
	return (struct baton_rec_schema *)(void *)hdr_at(b, b->schema);
}

static struct baton_rec_handler *handler(struct built *b)
{
	return (struct baton_rec_handler *)(void *)hdr_at(b, b->handler);
}

/* Expects the broken records to be refused with rc and words in the message. */
static void refused(struct built *b, int rc, const char *words)
{
	struct baton_diag d;
	int got = try_open(b->buf, b->len, &d);

	if (got != rc || !strstr(d.msg, words))
		fail_msg("expected %d \"%s\", got %d \"%s\"", rc, words, got, d.msg);
}

static void built_records_open(void **state)
{
	static struct built b;
	struct baton_diag d;

	build(&b);
	assert_int_equal(try_open(b.buf, b.len, &d), 0);
}

/* Records with the program first and no nesting: every record boundary is a valid prefix. */
static void built_truncated_at_every_byte(void **state)
{
	static struct built b;
	bool start[sizeof(b.buf) + 1];
	struct baton_diag d;
	size_t cut;

	build(&b);
	record_starts((const uint8_t *)b.buf, b.len, start);
	for (cut = 0; cut <= b.len; cut++) {
		int rc = try_open(b.buf, cut, &d);

		if (start[cut] && cut > 0)
			assert_int_equal(rc, 0);
		else
			assert_true(rc < 0);
	}
}

static void bad_magic_byte_order_abi_kind(void **state)
{
	static struct built b;

	build(&b);
	hdr_at(&b, b.schema)->magic = 0x52544e43;
	refused(&b, -EINVAL, "bad magic");
	build(&b);
	hdr_at(&b, 0)->magic = 0x424e5452;  /* "BNTR" read the other way round */
	refused(&b, -EPROTO, "other byte order");
	build(&b);
	hdr_at(&b, b.handler)->abi = 2;
	refused(&b, -EPROTO, "has ABI 2");
	build(&b);
	hdr_at(&b, b.handler)->kind = 4;
	refused(&b, -EPROTO, "unknown kind 4");
	build(&b);
	hdr_at(&b, b.handler)->kind = 0;
	refused(&b, -EPROTO, "unknown kind 0");
}

static void huge_sizes_and_counts(void **state)
{
	static struct built b;

	build(&b);
	hdr_at(&b, b.schema)->size = 0xfffffff8u;
	refused(&b, -EINVAL, "claims 4294967288 bytes");
	build(&b);
	hdr_at(&b, b.schema)->size = 8;
	refused(&b, -EINVAL, "claims 8 bytes");
	build(&b);
	hdr_at(&b, b.schema)->size += 4;  /* not a multiple of 8 */
	refused(&b, -EINVAL, "claims");
	build(&b);
	hdr_at(&b, b.schema)->count = 0xffffffffu;
	refused(&b, -EINVAL, "does not hold 4294967295 fields");
	build(&b);
	hdr_at(&b, b.program)->count = 0xffffffffu;
	refused(&b, -EINVAL, "does not hold 4294967295 policy rules");
	build(&b);
	hdr_at(&b, b.handler)->count = 0xffffffffu;
	refused(&b, -EINVAL, "does not hold 4294967295 read entries");
	build(&b);
	hdr_at(&b, b.handler)->count = 1;  /* count and size disagree */
	refused(&b, -EINVAL, "does not hold 1 read entries");
	build(&b);
	((struct baton_read *)(void *)(handler(&b) + 1))->nversions = 0xffffffffu;
	refused(&b, -EINVAL, "reads 4294967295 versions");
	build(&b);
	((struct baton_field *)(void *)(schema(&b) + 1))[1].size = 0xffffffffu;
	refused(&b, -EINVAL, "must be 1 to 1048576");
	build(&b);
	hdr_at(&b, b.program)->size = sizeof(struct baton_rec);  /* shorter than a program record */
	refused(&b, -EINVAL, "too short");
}

static void too_many_records(void **state)
{
	struct baton_release rel = { 1, 0, 0 };
	struct baton_catalog_builder cb;
	size_t size = (BATON_CATALOG_MAX_RECORDS + 1) * sizeof(struct baton_rec_handler), len, i;
	struct baton_diag d;
	void *buf = NULL;

	assert_int_equal(posix_memalign(&buf, 8, size), 0);
	baton_catalog_builder_init(&cb, buf, size);
	baton_catalog_add_program(&cb, "many", &rel, NULL, 0);
	for (i = 0; i < BATON_CATALOG_MAX_RECORDS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "h%zu", i);
		baton_catalog_add_handler(&cb, name, 0, NULL, NULL, 0);
	}
	assert_int_equal(baton_catalog_builder_finish(&cb, &len), 0);
	assert_int_equal(try_open(buf, len, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "more than 4096 records"));
	/* one fewer is fine */
	assert_int_equal(try_open(buf, len - sizeof(struct baton_rec_handler), &d), 0);
	free(buf);
}

static void unterminated_strings(void **state)
{
	static struct built b;

	build(&b);
	memset(program(&b)->name, 'a', BATON_NAME_MAX);
	refused(&b, -EINVAL, "program name is not terminated");
	build(&b);
	memset(schema(&b)->name, 'a', BATON_NAME_MAX);
	refused(&b, -EINVAL, "contract name is not terminated");
	build(&b);
	memset(schema(&b)->contract, 'a', sizeof(schema(&b)->contract));
	refused(&b, -EINVAL, "is not a UUID");
	build(&b);
	memset(handler(&b)->name, 'a', BATON_NAME_MAX);
	refused(&b, -EINVAL, "handler name is not terminated");
	build(&b);
	memset(handler(&b)->writes.contract, '1', sizeof(handler(&b)->writes.contract));
	refused(&b, -EINVAL, "written contract");
	build(&b);
	memset(((struct baton_read *)(void *)(handler(&b) + 1))->contract, 'b', BATON_UUID_STRLEN + 4);
	refused(&b, -EINVAL, "read contract");
	build(&b);
	memset(((struct baton_field *)(void *)(schema(&b) + 1))->name, 'f', BATON_NAME_MAX);
	refused(&b, -EINVAL, "is not a name");
}

static void bad_values(void **state)
{
	static struct built b;

	build(&b);
	strcpy(program(&b)->name, "k v d");
	refused(&b, -EINVAL, "program name \"k v d\" is not a name");
	build(&b);
	program(&b)->flags = 1;
	refused(&b, -EINVAL, "unknown flags");
	build(&b);
	((struct baton_policy_rule *)(void *)(program(&b) + 1))[0].kind = 0;
	refused(&b, -EINVAL, "unknown policy rule kind 0");
	build(&b);
	((struct baton_policy_rule *)(void *)(program(&b) + 1))[1].from.patch = 4;
	refused(&b, -EINVAL, "carries a patch number");
	build(&b);
	schema(&b)->version = 0;
	refused(&b, -EINVAL, "version 0");
	build(&b);
	schema(&b)->flags = 2;
	refused(&b, -EINVAL, "unknown flags 0x2");
	build(&b);
	strcpy(schema(&b)->contract, "00000000-0000-0000-0000-000000000000");
	refused(&b, -EINVAL, "nil UUID");
	build(&b);
	handler(&b)->flags = 4;
	refused(&b, -EINVAL, "unknown flags 0x4");
	build(&b);
	handler(&b)->flags = BATON_HANDLER_OPTIONAL;
	refused(&b, -EINVAL, "optional but writes nothing");
	build(&b);
	handler(&b)->writes.version = 0;
	refused(&b, -EINVAL, "writes version 0");
	build(&b);
	((struct baton_read *)(void *)(handler(&b) + 1))->versions[1] = 0;
	refused(&b, -EINVAL, "reads version 0");
	build(&b);
	((struct baton_field *)(void *)(schema(&b) + 1))->type = 77;
	refused(&b, -EINVAL, "schema kvd.cache version 2: field \"nitems\" has unknown type 77");
}

static void duplicates(void **state)
{
	static struct built b;
	struct baton_read *r;

	build(&b);
	schema(&b)->version = 1;  /* now kvd.cache 1 twice */
	refused(&b, -EINVAL, "is declared twice");
	build(&b);
	strcpy(((struct baton_field *)(void *)(schema(&b) + 1))[1].name, "nitems");
	refused(&b, -EINVAL, "field \"nitems\" appears twice");
	build(&b);
	r = (struct baton_read *)(void *)(handler(&b) + 1);
	r->versions[1] = 1;
	refused(&b, -EINVAL, "lists version 1");
	build(&b);
	strcpy(r[1].contract, CACHE);
	refused(&b, -EINVAL, "two read entries");
	/* the same contract in another case is the same contract */
	build(&b);
	strcpy(r[1].contract, "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F");
	refused(&b, -EINVAL, "two read entries");
	/* a second program record */
	build(&b);
	memcpy(hdr_at(&b, b.len), program(&b), program(&b)->hdr.size);
	b.len += program(&b)->hdr.size;
	refused(&b, -EINVAL, "two program records");
	/* a second handler of the same name */
	build(&b);
	memcpy(hdr_at(&b, b.len), handler(&b), handler(&b)->hdr.size);
	b.len += handler(&b)->hdr.size;
	refused(&b, -EINVAL, "handler kvd.cache is declared twice");
}

static void padding_and_tails(void **state)
{
	static struct built b;
	struct baton_diag d;

	/* zero padding between and after records is skipped */
	build(&b);
	memmove(hdr_at(&b, b.schema + 16), hdr_at(&b, b.schema), b.len - b.schema);
	memset(hdr_at(&b, b.schema), 0, 16);
	b.len += 16;
	assert_int_equal(try_open(b.buf, b.len, &d), 0);
	b.len += 5;  /* a short zero tail */
	assert_int_equal(try_open(b.buf, b.len, &d), 0);
	/* but padding is zero, and a short tail too */
	((uint8_t *)b.buf)[b.len - 1] = 1;
	refused(&b, -EINVAL, "stray bytes");
	build(&b);
	memmove(hdr_at(&b, b.schema + 8), hdr_at(&b, b.schema), b.len - b.schema);
	memset(hdr_at(&b, b.schema), 0, 8);
	((uint8_t *)b.buf)[b.schema + 6] = 9;
	b.len += 8;
	refused(&b, -EINVAL, "bad magic");

	/* no program record */
	build(&b);
	memmove(b.buf, hdr_at(&b, b.schema), b.len - b.schema);
	b.len -= b.schema;
	refused(&b, -ENOENT, "no program record");
	/* a nested schema that is not there */
	build(&b);
	{
		struct baton_field *f = (struct baton_field *)(void *)(schema(&b) + 1);

		memset(&f[1], 0, sizeof(f[1]));
		strcpy(f[1].name, "last");
		f[1].type = BATON_T_SCHEMA;
		strcpy(f[1].contract, ENTRY);
		f[1].version = 9;
	}
	refused(&b, -ENOENT, "has no schema here");
}

/*
 * A schema of 1024 fields that each nest a schema of 1024 fields that each
 * nest ...: fingerprinting it naively means 1024^3 visits. Opening must give
 * up with words, and quickly (it once took over a minute).
 */
static void wide_nesting_is_bounded(void **state)
{
	static const char *const level[] = {
		"10000000-0000-4000-8000-000000000000", "20000000-0000-4000-8000-000000000000",
		"30000000-0000-4000-8000-000000000000", "40000000-0000-4000-8000-000000000000",
	};
	struct baton_release rel = { 1, 0, 0 };
	size_t size = 8u << 20, len, i, l;
	struct baton_field *f = calloc(1024, sizeof(*f));
	struct baton_catalog_builder cb;
	struct baton_diag d;
	struct timespec t0, t1;
	void *buf = NULL;
	double secs;

	assert_non_null(f);
	assert_int_equal(posix_memalign(&buf, 8, size), 0);
	baton_catalog_builder_init(&cb, buf, size);
	baton_catalog_add_program(&cb, "wide", &rel, NULL, 0);
	/* many other schemas, so that every lookup scans far */
	for (i = 0; i < 3000; i++) {
		char uuid[BATON_UUID_STRLEN + 1];

		snprintf(uuid, sizeof(uuid), "%08zx-0000-4000-8000-000000000001", i + 1);
		baton_catalog_add_schema(&cb, uuid, "filler", 1, NULL, 0);
	}
	for (l = 0; l < 4; l++) {
		size_t n = l < 3 ? 1024 : 0;

		memset(f, 0, 1024 * sizeof(*f));
		for (i = 0; i < n; i++) {
			snprintf(f[i].name, sizeof(f[i].name), "f%zu", i);
			f[i].type = BATON_T_SCHEMA;
			strcpy(f[i].contract, level[l + 1]);
			f[i].version = 1;
		}
		baton_catalog_add_schema(&cb, level[l], "level", 1, f, n);
	}
	assert_int_equal(baton_catalog_builder_finish(&cb, &len), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(try_open(buf, len, &d), -E2BIG);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(d.msg, "nests schemas too widely to fingerprint"));
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (secs > 10)
		fail_msg("opening took %.1f s", secs);
	free(f);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(self_records_open),
		cmocka_unit_test(truncated_at_every_byte),
		cmocka_unit_test(every_bit_flipped),
		cmocka_unit_test(built_records_open),
		cmocka_unit_test(built_truncated_at_every_byte),
		cmocka_unit_test(bad_magic_byte_order_abi_kind),
		cmocka_unit_test(huge_sizes_and_counts),
		cmocka_unit_test(too_many_records),
		cmocka_unit_test(unterminated_strings),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(duplicates),
		cmocka_unit_test(padding_and_tails),
		cmocka_unit_test(wide_nesting_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
