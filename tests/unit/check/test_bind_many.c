/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of the bind engine with many objects of many kinds
 *
 * baton_bind() decides the handler, schema, fingerprint and target version
 * once per (contract, version) and keeps the decision in a small table for
 * the objects of the same kind that follow. These tests bind images of
 * hundreds of objects of more kinds than that table holds, and check that
 * every object is still bound as it would be on its own: the right handler
 * and versions for each, and a finding for exactly the objects that break
 * the contract (a layout or fields of their own, a kind nobody reads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalogs.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KINDS 40        /* more than bind's table of kinds */
#define OBJECTS 400

static const struct baton_field v1[] = { BATON_FIELD_U64("n") };
static const struct baton_field v2[] = { BATON_FIELD_U64("n"), BATON_FIELD_U32("m") };
static const uint32_t V1[] = { 1, 0 }, V12[] = { 1, 2, 0 };
static const char *const PATCH[] = { "patch", NULL };

static struct test_catalog reader;
static struct findings got;
static uint64_t image_buf[(1u << 20) / 8];
static struct baton_image img;
static struct baton_binding out[OBJECTS];

static void contract(char out_[BATON_UUID_STRLEN + 4], unsigned k)
{
	snprintf(out_, BATON_UUID_STRLEN + 4, "0b7e6a52-31c4-4f0e-9d2a-7c5b3e1f%04x", k);
}

/* Kind k: schema v1 (and v2 when k % 4 == 0, which its handler upgrades to), handler h-k. */
static void reader_of(unsigned skip_kind)
{
	char c[BATON_UUID_STRLEN + 4], h[32];
	unsigned k;

	cat_begin(&reader, "svc", 1, 0, 1, PATCH);
	for (k = 0; k < KINDS; k++) {
		contract(c, k);
		cat_schema(&reader, c, "svc.kind", 1, v1, N(v1));
		if (k % 4 == 0)
			cat_schema(&reader, c, "svc.kind", 2, v2, N(v2));
	}
	for (k = 0; k < KINDS; k++) {
		if (k == skip_kind)
			continue;
		contract(c, k);
		snprintf(h, sizeof(h), "h-%u", k);
		cat_handler(&reader, h, 0, c, k % 4 == 0 ? 2 : 1, c, k % 4 == 0 ? V12 : V1);
	}
	assert_int_equal(cat_end(&reader), 0);
}

/* Object i is of kind i % KINDS, version 1; bad_fp and no_n break one object each. */
static void image_of(int bad_fp, int no_n)
{
	struct baton_image_header hd = { .generation = 1 };
	struct baton_image_writer w;
	struct baton_diag d;
	baton_fingerprint fp;
	char c[BATON_UUID_STRLEN + 4], key[32], h[32];
	uint8_t enc[8];
	size_t len;
	int i;

	strcpy(hd.program, "svc");
	hd.release = (struct baton_release){ 1, 0, 0 };
	assert_int_equal(baton_image_writer_init(&w, image_buf, sizeof(image_buf), &hd), 0);
	assert_int_equal(baton_schema_fingerprint(v1, N(v1), NULL, NULL, &fp, NULL), 0);
	for (i = 0; i < OBJECTS; i++) {
		baton_fingerprint f = fp;
		baton_uuid u;

		contract(c, (unsigned)i % KINDS);
		assert_int_equal(baton_uuid_parse(&u, c, strlen(c)), 0);
		snprintf(key, sizeof(key), "obj/%d", i);
		snprintf(h, sizeof(h), "h-%u", (unsigned)i % KINDS);
		if (i == bad_fp)
			f.b[0] ^= 1;
		assert_int_equal(baton_image_begin_object(&w, key, &u, 1, h, &f, 0), 0);
		baton_encode_u64(enc, (uint64_t)i);
		if (i != no_n)
			assert_int_equal(baton_image_field(&w, "n", enc, 8), 0);
		else
			assert_int_equal(baton_image_field(&w, "other", enc, 8), 0);
		assert_int_equal(baton_image_end_object(&w), 0);
	}
	assert_int_equal(baton_image_finish(&w, &len), 0);
	if (baton_image_open(&img, image_buf, len, &d) < 0)
		fail_msg("image does not open: %s", d.msg);
}

static int bind(void)
{
	memset(&got, 0, sizeof(got));
	memset(out, 0xa5, sizeof(out));
	return baton_bind(&reader.cat, &img, out, OBJECTS, keep_finding, &got);
}

static void test_every_object_bound_as_its_kind(void **state)
{
	int i;

	(void)state;
	reader_of(KINDS);
	image_of(-1, -1);
	assert_int_equal(bind(), 0);
	for (i = 0; i < OBJECTS; i++) {
		unsigned k = (unsigned)i % KINDS;
		char h[32];

		snprintf(h, sizeof(h), "h-%u", k);
		assert_non_null(out[i].handler);
		assert_string_equal(out[i].handler->name, h);
		assert_non_null(out[i].schema);
		assert_int_equal(out[i].schema->version, 1);
		assert_int_equal(out[i].target_version, k % 4 == 0 ? 2 : 1);
		assert_false(out[i].dropped);
	}
}

static void test_one_object_breaks_its_contract(void **state)
{
	(void)state;
	reader_of(KINDS);
	image_of(333, -1);
	assert_int_equal(bind(), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_LAYOUT);
	assert_string_equal(got.f[0].key, "obj/333");

	image_of(-1, 250);
	assert_int_equal(bind(), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_SCHEMA);
	assert_string_equal(got.f[0].key, "obj/250");
	if (!strstr(got.f[0].message, "\"other\" is not in"))
		fail_msg("unexpected message: %s", got.f[0].message);

	/* both, in image order */
	image_of(399, 12);
	assert_int_equal(bind(), 2);
	assert_string_equal(got.f[0].key, "obj/12");
	assert_string_equal(got.f[1].key, "obj/399");
}

static void test_one_kind_unread(void **state)
{
	int i;

	(void)state;
	reader_of(7);
	image_of(-1, -1);
	assert_int_equal(bind(), OBJECTS / KINDS);
	assert_int_equal(count_rule(&got, BATON_RULE_UNBOUND), OBJECTS / KINDS);
	for (i = 0; i < OBJECTS; i++)
		assert_int_equal(out[i].handler == NULL, i % KINDS == 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_object_bound_as_its_kind),
		cmocka_unit_test(test_one_object_breaks_its_contract),
		cmocka_unit_test(test_one_kind_unread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
