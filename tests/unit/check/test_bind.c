/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of the bind engine — baton_bind() over real images
 *
 * Each test writes an image with the core writer, as a release of "kvd"
 * would hand it over, opens it as the successor does, and binds it to a
 * reader catalog built with the core builder: the path (rule 4), the one
 * handler per object (rules 1 to 3), the layout recorded in the image
 * against the reader's schema (rule 6), the fields against that schema, and
 * optional objects left behind (rule 5).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalogs.h"

#define assert_contains(hay, needle)                                               \
	do {                                                                       \
		if (!strstr((hay), (needle)))                                      \
			fail_msg("expected \"%s\" in \"%s\"", (needle), (hay));    \
	} while (0)

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct baton_field cache_v1[] = {
	BATON_FIELD_U64("nitems"),
	BATON_FIELD_STRING("name", 8),
};
static const struct baton_field cache_v2[] = {
	BATON_FIELD_U64("nitems"),
	BATON_FIELD_STRING("name", 8),
	BATON_FIELD_U32("capacity"),
};
static const struct baton_field listener_v1[] = {
	BATON_FIELD_FD("sock"),
	BATON_FIELD_U16("port"),
};
static const struct baton_field entry_v1[] = {
	BATON_FIELD_U32("hash"),
};
static const struct baton_field holder_v1[] = {
	BATON_FIELD_U64("nitems"),
	BATON_FIELD_SCHEMA("first", ENTRY, 1),
};

static const uint32_t V1[] = { 1, 0 }, V2[] = { 2, 0 }, V12[] = { 1, 2, 0 };
static const char *const PATCH_MINOR[] = { "patch", "next-minor", NULL };

static struct test_catalog reader;
static struct findings got;
static uint64_t image_buf[8192];
static struct baton_image img;
static struct baton_binding out[8];

static int setup(void **state)
{
	(void)state;
	memset(&got, 0, sizeof(got));
	memset(out, 0xa5, sizeof(out));  /* bind must clear what it does not set */
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing images                                                           */

static void writer_begin(struct baton_image_writer *w, const char *program, uint32_t maj,
			 uint32_t min, uint32_t pat)
{
	struct baton_image_header h = { .generation = 4 };
	struct baton_image_fd fd = { .kind = BATON_FD_SOCKET, .name = "listener" };

	strcpy(h.program, program);
	h.release = (struct baton_release){ maj, min, pat };
	h.build_id.len = 4;
	h.build_id.b[0] = (uint8_t)maj;
	h.build_id.b[1] = (uint8_t)min;
	h.build_id.b[2] = (uint8_t)pat;
	h.build_id.b[3] = 0xb1;
	assert_int_equal(baton_image_writer_init(w, image_buf, sizeof(image_buf), &h), 0);
	assert_int_equal(baton_image_add_fd(w, &fd), 0);
}

static void begin_object(struct baton_image_writer *w, const char *key, const char *contract,
			 uint32_t version, const char *handler, const struct baton_field *fields,
			 size_t n, uint32_t flags)
{
	baton_fingerprint fp;
	baton_uuid u;

	assert_int_equal(baton_uuid_parse(&u, contract, strlen(contract)), 0);
	assert_int_equal(baton_schema_fingerprint(fields, n, NULL, NULL, &fp, NULL), 0);
	assert_int_equal(baton_image_begin_object(w, key, &u, version, handler, &fp, flags), 0);
}

static void field_u(struct baton_image_writer *w, const char *name, uint32_t type, uint64_t v)
{
	uint8_t enc[8];
	size_t len = baton_encode_scalar(type, v, enc);

	assert_int_equal(baton_image_field(w, name, enc, len), 0);
}

static void field_s(struct baton_image_writer *w, const char *name, const char *s)
{
	assert_int_equal(baton_image_field(w, name, s, strlen(s) + 1), 0);
}

static void cache_object(struct baton_image_writer *w, const char *key, uint32_t version,
			 uint32_t flags)
{
	if (version == 1)
		begin_object(w, key, CACHE, 1, "kvd.cache", cache_v1, N(cache_v1), flags);
	else
		begin_object(w, key, CACHE, 2, "kvd.cache", cache_v2, N(cache_v2), flags);
	field_u(w, "nitems", BATON_T_U64, 42);
	field_s(w, "name", "main");
	if (version == 2)
		field_u(w, "capacity", BATON_T_U32, 1000);
	assert_int_equal(baton_image_end_object(w), 0);
}

static void listener_object(struct baton_image_writer *w, uint32_t flags)
{
	static const uint32_t refs[] = { 0 };

	begin_object(w, "listener/tcp:11211", LISTENER, 1, "kvd.listener", listener_v1,
		     N(listener_v1), flags);
	assert_int_equal(baton_image_object_refs(w, refs, 1), 0);
	field_u(w, "sock", BATON_T_U32, 0);
	field_u(w, "port", BATON_T_U16, 11211);
	assert_int_equal(baton_image_end_object(w), 0);
}

static void writer_end(struct baton_image_writer *w)
{
	struct baton_diag d;
	size_t len;

	assert_int_equal(baton_image_finish(w, &len), 0);
	if (baton_image_open(&img, image_buf, len, &d) < 0)
		fail_msg("image does not open: %s", d.msg);
}

/* kvd 1.0.0 hands over a cache (v1) and a listener. */
static void image_1_0_0(uint32_t listener_flags)
{
	struct baton_image_writer w;

	writer_begin(&w, "kvd", 1, 0, 0);
	cache_object(&w, "cache/main", 1, 0);
	listener_object(&w, listener_flags);
	writer_end(&w);
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                  */

static void reader_1_1_0(void)
{
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&reader, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_schema(&reader, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	cat_handler(&reader, "kvd.sockets", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&reader), 0);
}

/* ------------------------------------------------------------------------ */

static void test_bind_accepts(void **state)
{
	(void)state;
	image_1_0_0(0);
	reader_1_1_0();
	assert_int_equal(img.nobjects, 2);
	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 0);
	assert_int_equal(got.n, 0);
	/* the cache binds by contract and is upgraded to the highest version read */
	assert_non_null(out[0].handler);
	assert_string_equal(out[0].handler->name, "kvd.cache");
	assert_int_equal(out[0].target_version, 2);
	assert_non_null(out[0].schema);
	assert_int_equal(out[0].schema->version, 1);
	assert_false(out[0].dropped);
	/* a renamed handler adopts the listener: names play no part (rule 1) */
	assert_string_equal(out[1].handler->name, "kvd.sockets");
	assert_int_equal(out[1].target_version, 1);
	/* entries beyond the image are left alone */
	assert_int_equal(((uint8_t *)&out[2])[0], 0xa5);
}

static void test_bind_arguments(void **state)
{
	(void)state;
	image_1_0_0(0);
	reader_1_1_0();
	assert_int_equal(baton_bind(&reader.cat, &img, out, 1, keep_finding, &got), -ENOSPC);
	assert_int_equal(baton_bind(&reader.cat, &img, NULL, 0, keep_finding, &got), -EINVAL);
	assert_int_equal(baton_bind(NULL, &img, out, N(out), keep_finding, &got), -EINVAL);
	assert_int_equal(baton_bind(&reader.cat, NULL, out, N(out), keep_finding, &got), -EINVAL);
	assert_int_equal(got.n, 0);
	/* without a callback, the count alone */
	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), NULL, NULL), 0);
}

static void test_bind_path_refused(void **state)
{
	const struct baton_finding *f;

	(void)state;
	image_1_0_0(0);
	/* 1.2.0 accepts 1.1.* only */
	cat_begin(&reader, "kvd", 1, 2, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&reader, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&reader, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_PATH);
	assert_string_equal(f->writer_program, "kvd");
	assert_int_equal(f->writer_release.minor, 0);
	assert_int_equal(f->reader_release.minor, 2);
	assert_contains(f->message, "path: kvd 1.0.0 -> kvd 1.2.0: 1.0.0 to 1.2.0 is not a supported path");
	/* the objects were still looked at: they would bind */
	assert_non_null(out[0].handler);
}

static void test_bind_downgrade(void **state)
{
	struct baton_image_writer w;

	(void)state;
	writer_begin(&w, "kvd", 1, 3, 0);
	cache_object(&w, "cache/main", 2, 0);
	writer_end(&w);
	reader_1_1_0();
	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_DOWNGRADE);
	assert_contains(got.f[0].message, "downgrade: kvd 1.3.0 -> kvd 1.1.0");
}

static void test_bind_same_build(void **state)
{
	static const char *const same[] = { "same-build", NULL };
	struct baton_image_writer w;

	(void)state;
	writer_begin(&w, "kvd", 1, 1, 0);
	cache_object(&w, "cache/main", 2, 0);
	writer_end(&w);
	cat_begin(&reader, "kvd", 1, 1, 0, same);
	cat_schema(&reader, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 2, CACHE, V2);
	assert_int_equal(cat_end(&reader), 0);
	/* the test builds give one release one build id: identical */
	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 0);
	/* another build of the same release is refused */
	reader.cat.build_id.b[0] ^= 0xff;
	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_contains(got.f[0].message, "different build");
}

static void test_bind_other_program(void **state)
{
	struct baton_image_writer w;

	(void)state;
	writer_begin(&w, "memcache", 1, 0, 0);
	cache_object(&w, "cache/main", 1, 0);
	writer_end(&w);
	reader_1_1_0();
	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_contains(got.f[0].message, "memcache 1.0.0 -> kvd 1.1.0: these are different programs");
	/* nothing was bound */
	assert_null(out[0].handler);
}

static void test_bind_unbound(void **state)
{
	const struct baton_finding *f;

	(void)state;
	image_1_0_0(0);
	/* 1.1.0 that forgot cache version 1 and the listener */
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 2, CACHE, V2);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 2);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_UNBOUND);
	assert_string_equal(f->key, "cache/main");
	assert_string_equal(f->contract_name, "kvd.cache");
	assert_int_equal(f->version, 1);
	assert_string_equal(f->writer_handler, "kvd.cache");
	assert_string_equal(f->message,
			    "unbound: object cache/main: kvd.cache (" CACHE ") version 1, written by "
			    "handler kvd.cache of kvd 1.0.0, is read by no handler of kvd 1.1.0 "
			    "(kvd.cache reads version 2); add version 1 back to a handler's reads "
			    "with upgrade steps to version 2; a version may only be dropped once no "
			    "release the policy accepts still writes it");
	f = &got.f[1];
	assert_string_equal(f->key, "listener/tcp:11211");
	/* the reader does not know the contract: UUID only */
	assert_string_equal(f->contract_name, "");
	assert_contains(f->message, "object listener/tcp:11211: contract " LISTENER " version 1, "
			"written by handler kvd.listener of kvd 1.0.0");
	assert_null(out[0].handler);
	assert_false(out[0].dropped);
	assert_null(out[1].handler);
}

static void test_bind_optional_dropped(void **state)
{
	(void)state;
	image_1_0_0(BATON_OBJECT_OPTIONAL);
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 0);
	assert_non_null(out[0].handler);
	assert_null(out[1].handler);
	assert_true(out[1].dropped);
}

static void test_bind_ambiguous(void **state)
{
	(void)state;
	image_1_0_0(0);
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&reader, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&reader, "kvd.import", 0, NULL, 0, CACHE, V1);
	cat_handler(&reader, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_AMBIGUOUS);
	assert_string_equal(got.f[0].key, "cache/main");
	assert_string_equal(got.f[0].reader_handler, "kvd.cache");
	assert_string_equal(got.f[0].other_handler, "kvd.import");
	assert_contains(got.f[0].message, "is read by two handlers of kvd 1.1.0, kvd.cache and kvd.import");
	assert_null(out[0].handler);
	assert_non_null(out[1].handler);
}

static void test_bind_layout_mismatch(void **state)
{
	static const struct baton_field other_v1[] = {
		BATON_FIELD_U32("nitems"),
		BATON_FIELD_STRING("name", 8),
	};

	(void)state;
	image_1_0_0(0);
	cat_begin(&reader, "kvd", 1, 0, 1, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 1, other_v1, N(other_v1));
	cat_schema(&reader, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&reader, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_LAYOUT);
	assert_string_equal(got.f[0].reader_handler, "kvd.cache");
	assert_contains(got.f[0].message, "layout: object cache/main: kvd.cache (" CACHE ") version 1");
	assert_contains(got.f[0].message, "layout changed without a version bump");
	/* bound (the handler is known), but the count refuses the update */
	assert_non_null(out[0].handler);
}

static void test_bind_no_schema(void **state)
{
	(void)state;
	image_1_0_0(0);
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_schema(&reader, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 2, CACHE, V12);  /* no schema of v1 */
	cat_handler(&reader, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_SCHEMA);
	assert_contains(got.f[0].message, "binds to handler kvd.cache of kvd 1.1.0, which declares "
			"no schema for version 1");
	assert_null(out[0].schema);
}

static void test_bind_no_target_schema(void **state)
{
	(void)state;
	image_1_0_0(0);
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&reader, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 2, CACHE, V12);  /* no schema of v2 */
	cat_handler(&reader, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_SCHEMA);
	assert_contains(got.f[0].message, "which restores version 2 but declares no schema for it");
}

static void test_bind_bad_fields(void **state)
{
	struct baton_image_writer w;

	(void)state;
	writer_begin(&w, "kvd", 1, 0, 0);
	/* the right layout recorded, but a name longer than its maximum of 8 */
	begin_object(&w, "cache/main", CACHE, 1, "kvd.cache", cache_v1, N(cache_v1), 0);
	field_u(&w, "nitems", BATON_T_U64, 42);
	field_s(&w, "name", "much-too-long");
	assert_int_equal(baton_image_end_object(&w), 0);
	/* and a listener whose port is 4 bytes wide */
	begin_object(&w, "listener/tcp:11211", LISTENER, 1, "kvd.listener", listener_v1,
		     N(listener_v1), 0);
	field_u(&w, "sock", BATON_T_U32, 0);
	field_u(&w, "port", BATON_T_U32, 11211);
	assert_int_equal(baton_image_end_object(&w), 0);
	writer_end(&w);
	reader_1_1_0();

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 2);
	assert_int_equal(count_rule(&got, BATON_RULE_SCHEMA), 2);
	assert_string_equal(got.f[0].key, "cache/main");
	assert_contains(got.f[0].message, "does not match its schema in kvd 1.1.0: ");
	assert_contains(got.f[0].message, "name");
	assert_string_equal(got.f[1].key, "listener/tcp:11211");
	assert_contains(got.f[1].message, "port");
}

static void test_bind_no_fields(void **state)
{
	static const struct baton_field none[1];
	struct baton_image_writer w;

	(void)state;
	writer_begin(&w, "kvd", 1, 0, 0);
	/* an object with no fields, of a schema with no fields: fine */
	begin_object(&w, "marker", ENTRY, 1, "kvd.marker", none, 0, 0);
	assert_int_equal(baton_image_end_object(&w), 0);
	/* an object with no fields, of a schema that has some: refused */
	begin_object(&w, "cache/main", CACHE, 1, "kvd.cache", cache_v1, N(cache_v1), 0);
	assert_int_equal(baton_image_end_object(&w), 0);
	writer_end(&w);
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, ENTRY, "kvd.marker", 1, none, 0);
	cat_schema(&reader, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&reader, "kvd.marker", 0, ENTRY, 1, ENTRY, V1);
	cat_handler(&reader, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&reader), 0);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_non_null(out[0].handler);
	assert_int_equal(got.f[0].rule, BATON_RULE_SCHEMA);
	assert_string_equal(got.f[0].key, "cache/main");
	assert_contains(got.f[0].message, "field \"nitems\" is missing");
}

static void test_bind_nested(void **state)
{
	struct baton_image_writer w;
	baton_fingerprint fp;
	baton_uuid u;

	(void)state;
	cat_begin(&reader, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&reader, ENTRY, "kvd.entry", 1, entry_v1, N(entry_v1));
	cat_schema(&reader, CACHE, "kvd.cache", 1, holder_v1, N(holder_v1));
	cat_handler(&reader, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&reader), 0);
	/* the holder's layout includes the nested schema's fingerprint */
	assert_int_equal(baton_uuid_parse(&u, CACHE, strlen(CACHE)), 0);
	assert_int_equal(baton_catalog_fingerprint(&reader.cat,
						   baton_catalog_find_schema(&reader.cat, &u, 1),
						   &fp, NULL), 0);

	/* a good nested value, then one whose nested hash is the wrong width */
	writer_begin(&w, "kvd", 1, 0, 0);
	assert_int_equal(baton_image_begin_object(&w, "cache/a", &u, 1, "kvd.cache", &fp, 0), 0);
	field_u(&w, "nitems", BATON_T_U64, 1);
	assert_int_equal(baton_image_begin_nested(&w, "first"), 0);
	field_u(&w, "hash", BATON_T_U32, 7);
	assert_int_equal(baton_image_end_nested(&w), 0);
	assert_int_equal(baton_image_end_object(&w), 0);
	assert_int_equal(baton_image_begin_object(&w, "cache/b", &u, 1, "kvd.cache", &fp, 0), 0);
	field_u(&w, "nitems", BATON_T_U64, 1);
	assert_int_equal(baton_image_begin_nested(&w, "first"), 0);
	field_u(&w, "hash", BATON_T_U16, 7);
	assert_int_equal(baton_image_end_nested(&w), 0);
	assert_int_equal(baton_image_end_object(&w), 0);
	writer_end(&w);

	assert_int_equal(baton_bind(&reader.cat, &img, out, N(out), keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_SCHEMA);
	assert_string_equal(got.f[0].key, "cache/b");
	assert_contains(got.f[0].message, "first.hash");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bind_accepts, setup),
		cmocka_unit_test_setup(test_bind_arguments, setup),
		cmocka_unit_test_setup(test_bind_path_refused, setup),
		cmocka_unit_test_setup(test_bind_downgrade, setup),
		cmocka_unit_test_setup(test_bind_same_build, setup),
		cmocka_unit_test_setup(test_bind_other_program, setup),
		cmocka_unit_test_setup(test_bind_unbound, setup),
		cmocka_unit_test_setup(test_bind_optional_dropped, setup),
		cmocka_unit_test_setup(test_bind_ambiguous, setup),
		cmocka_unit_test_setup(test_bind_layout_mismatch, setup),
		cmocka_unit_test_setup(test_bind_no_schema, setup),
		cmocka_unit_test_setup(test_bind_no_target_schema, setup),
		cmocka_unit_test_setup(test_bind_bad_fields, setup),
		cmocka_unit_test_setup(test_bind_no_fields, setup),
		cmocka_unit_test_setup(test_bind_nested, setup),
	};

	return cmocka_run_group_tests_name("bind", tests, NULL, NULL);
}
