/* SPDX-License-Identifier: MIT */
/*
 * DOC: image codec unit tests — reading each node once, writing each name once
 *
 * The reader steps through an opened image itself (instead of asking libfdt
 * for every property by name) and has iterators over the fd and region
 * tables and a bulk accessor for a fields node; the writer remembers where
 * each property name is, closes the tree itself and grows inside the
 * caller's buffer. These tests hold them to what the slower paths did:
 *
 *   - the iterators and baton_image_get_fields() agree with get_fd,
 *     get_region, get_field and get_nested;
 *   - every accessor, handed any node offset at all, stays inside the image
 *     (run under ASan) and answers with an error, not a crash;
 *   - check_fields finds missing and twice-written fields of schemas larger
 *     than its bitmap;
 *   - the writer's images are byte for byte those libfdt's sequential writer
 *     writes alone (names that are the tail of another name, a table of
 *     names too small for the image, an image larger than the writer's first
 *     room), whatever the caller's buffer held before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <libfdt.h>

#include "sample.h"

#define BIG (4u << 20)

static uint64_t sample[65536 / 8];
static size_t sample_len;

static int setup(void **state)
{
	(void)state;
	return sample_write(sample, sizeof(sample), &sample_len);
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                   */

static void write_tables(void *buf, size_t size, size_t *len, uint32_t nfds, uint32_t nregions)
{
	struct baton_image_writer w;
	struct baton_image_header h;
	uint32_t i;

	sample_header(&h);
	assert_int_equal(baton_image_writer_init(&w, buf, size, &h), 0);
	for (i = 0; i < nfds; i++) {
		struct baton_image_fd fd = { .kind = i % (BATON_FD_KIND_MAX_ + 1) };

		snprintf(fd.name, sizeof(fd.name), "fd %u", i);
		assert_int_equal(baton_image_add_fd(&w, &fd), (int)i);
	}
	for (i = 0; i < nregions; i++) {
		struct baton_image_region r = { .fd = i % nfds, .size = 4096ull * (i + 1) };

		snprintf(r.name, sizeof(r.name), "region %u", i);
		assert_int_equal(baton_image_add_region(&w, &r), (int)i);
	}
	assert_int_equal(baton_image_finish(&w, len), 0);
}

static void test_iterate_tables(void **state)
{
	uint64_t *buf = malloc(BIG);
	struct baton_image_iter it = { .node = -1 };
	struct baton_image img;
	struct baton_image_fd fd, byindex;
	struct baton_image_region r, rbyindex;
	struct baton_diag d;
	uint32_t n = 0;
	size_t len;
	int rc;

	(void)state;
	assert_non_null(buf);
	write_tables(buf, BIG, &len, 700, 90);
	assert_int_equal(baton_image_open(&img, buf, len, &d), 0);
	assert_int_equal(img.nfds, 700);
	while ((rc = baton_image_next_fd(&img, &it, &fd)) == 1) {
		assert_int_equal(it.index, n);
		assert_int_equal(baton_image_get_fd(&img, n, &byindex), 0);
		assert_int_equal(fd.kind, byindex.kind);
		assert_string_equal(fd.name, byindex.name);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 700);
	/* after the last, it stays after the last */
	assert_int_equal(baton_image_next_fd(&img, &it, &fd), 0);

	it.node = -1;
	n = 0;
	while ((rc = baton_image_next_region(&img, &it, &r)) == 1) {
		assert_int_equal(it.index, n);
		assert_int_equal(baton_image_get_region(&img, n, &rbyindex), 0);
		assert_int_equal(r.fd, rbyindex.fd);
		assert_int_equal(r.fd, n % 700);
		assert_true(r.size == 4096ull * (n + 1));
		assert_string_equal(r.name, rbyindex.name);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 90);
	free(buf);
}

static void test_iterate_empty_tables_and_arguments(void **state)
{
	uint64_t buf[8192];
	struct baton_image_iter it = { .node = -1 };
	struct baton_image img;
	struct baton_image_fd fd;
	struct baton_image_region r;
	struct baton_diag d;
	size_t len;

	(void)state;
	write_tables(buf, sizeof(buf), &len, 0, 0);
	assert_int_equal(baton_image_open(&img, buf, len, &d), 0);
	assert_int_equal(baton_image_next_fd(&img, &it, &fd), 0);
	it.node = -1;
	assert_int_equal(baton_image_next_region(&img, &it, &r), 0);

	assert_int_equal(baton_image_open(&img, sample, sample_len, &d), 0);
	it.node = -1;
	assert_int_equal(baton_image_next_fd(NULL, &it, &fd), -EINVAL);
	assert_int_equal(baton_image_next_fd(&img, NULL, &fd), -EINVAL);
	assert_int_equal(baton_image_next_fd(&img, &it, NULL), -EINVAL);
	assert_int_equal(baton_image_next_region(&img, &it, NULL), -EINVAL);
	/* an iterator that is not on an entry of this image */
	it.node = 3;
	assert_int_equal(baton_image_next_fd(&img, &it, &fd), -EINVAL);
	it.node = 1 << 30;
	assert_int_equal(baton_image_next_region(&img, &it, &r), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */

static int cache_fields_node(struct baton_image *img)
{
	struct baton_image_object o = { .node = -1 };
	struct baton_diag d;

	assert_int_equal(baton_image_open(img, sample, sample_len, &d), 0);
	while (baton_image_next_object(img, &o) == 1)
		if (strcmp(o.key, "cache/main") == 0)
			return o.fields_node;
	fail();
	return -1;
}

static void test_get_fields_agrees(void **state)
{
	struct baton_image_value v[SAMPLE_N(sample_cache_v2)];
	struct baton_image img;
	int node = cache_fields_node(&img);
	size_t i;

	(void)state;
	assert_int_equal(baton_image_get_fields(&img, node, sample_cache_v2, SAMPLE_N(sample_cache_v2), v),
			 (int)SAMPLE_N(sample_cache_v2));
	for (i = 0; i < SAMPLE_N(sample_cache_v2); i++) {
		const struct baton_field *f = &sample_cache_v2[i];
		const void *val;
		size_t len;

		if (f->type == BATON_T_SCHEMA) {
			assert_null(v[i].value);
			assert_int_equal(v[i].node, baton_image_get_nested(&img, node, f->name));
			continue;
		}
		assert_int_equal(baton_image_get_field(&img, node, f->name, &val, &len), 0);
		assert_ptr_equal(v[i].value, val);
		assert_int_equal(v[i].len, len);
		assert_int_equal(v[i].node, -1);
	}
}

static void test_get_fields_other_schemas(void **state)
{
	/* in another order, with a field the image lacks, without most of its fields */
	static const struct baton_field other[] = {
		{ .name = "stats", .type = BATON_T_SCHEMA, .contract = SAMPLE_STATS, .version = 1 },
		{ .name = "absent", .type = BATON_T_U32 },
		{ .name = "name", .type = BATON_T_STRING, .size = 32 },
		{ .name = "nitems", .type = BATON_T_U64 },
		{ .name = "window", .type = BATON_T_SCHEMA, .contract = SAMPLE_WINDOW, .version = 1 },
		/* a value the image has as a value, named as a nested field: not found */
		{ .name = "hot", .type = BATON_T_SCHEMA, .contract = SAMPLE_WINDOW, .version = 1 },
	};
	struct baton_image_value v[SAMPLE_N(other)];
	struct baton_image img;
	int node = cache_fields_node(&img);

	(void)state;
	assert_int_equal(baton_image_get_fields(&img, node, other, SAMPLE_N(other), v), 3);
	assert_int_equal(v[0].node, baton_image_get_nested(&img, node, "stats"));
	assert_null(v[1].value);
	assert_int_equal(v[1].node, -1);
	assert_int_equal(v[2].len, 11);
	assert_string_equal(v[2].value, "main cache");
	assert_int_equal(v[3].len, 8);
	assert_true(baton_decode_u64(v[3].value) == 0x0102030405060708ull);
	assert_int_equal(v[4].node, -1);   /* "window" is inside "stats", not here */
	assert_int_equal(v[5].node, -1);
	assert_null(v[5].value);

	/* no fields asked for; arguments */
	assert_int_equal(baton_image_get_fields(&img, node, NULL, 0, NULL), 0);
	assert_int_equal(baton_image_get_fields(NULL, node, other, 1, v), -EINVAL);
	assert_int_equal(baton_image_get_fields(&img, node, NULL, 1, v), -EINVAL);
	assert_int_equal(baton_image_get_fields(&img, node, other, 1, NULL), -EINVAL);
	assert_int_equal(baton_image_get_fields(&img, -1, other, 1, v), -EINVAL);
	assert_int_equal(baton_image_get_fields(&img, node + 4, other, 1, v), -EINVAL);
}

/*
 * Every offset of the structure block, and some beyond it, handed to every
 * accessor that takes one: errors are fine, reading outside the image is
 * not (ASan and UBSan watch this test).
 */
static void test_any_offset_stays_inside(void **state)
{
	struct baton_image_value v[SAMPLE_N(sample_cache_v2)];
	struct baton_image img;
	struct baton_diag d;
	int node, size, off;

	(void)state;
	node = cache_fields_node(&img);
	size = (int)fdt_size_dt_struct(sample);
	for (off = -8; off < size + 64; off++) {
		struct baton_image_object o = { .node = off, .index = 0 };
		struct baton_image_iter it = { .node = off };
		struct baton_image_fd fd;
		struct baton_image_region r;
		const void *val;
		size_t len;
		int rc;

		rc = baton_image_get_field(&img, off, "port", &val, &len);
		assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
		rc = baton_image_get_nested(&img, off, "stats");
		assert_true(rc >= 0 || rc == -ENOENT || rc == -EINVAL);
		rc = baton_image_get_fields(&img, off, sample_cache_v2, SAMPLE_N(sample_cache_v2), v);
		assert_true(rc >= 0 || rc == -EINVAL);
		rc = baton_image_check_fields(&img, off, sample_cache_v2, SAMPLE_N(sample_cache_v2),
					      sample_lookup, NULL, &d);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -EINVAL || rc == -ENOENT);
		if (off >= 0) {
			rc = baton_image_next_object(&img, &o);
			assert_true(rc == 0 || rc == 1 || rc == -EINVAL);
		}
		rc = baton_image_next_fd(&img, &it, &fd);
		assert_true(rc == 0 || rc == 1 || rc == -EINVAL);
		it.node = off;
		rc = baton_image_next_region(&img, &it, &r);
		assert_true(rc == 0 || rc == 1 || rc == -EINVAL);
	}
	/* and the real node still reads */
	assert_int_equal(baton_image_check_fields(&img, node, sample_cache_v2, SAMPLE_N(sample_cache_v2),
						  sample_lookup, NULL, &d), 0);
}

/* ------------------------------------------------------------------------ */
/* Schemas larger than the check's bitmap                                   */

#define MANY 1100

static struct baton_field many[MANY];

static void many_fields(void)
{
	uint32_t i;

	for (i = 0; i < MANY; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		snprintf(many[i].name, sizeof(many[i].name), "f%u", i);
		many[i].type = BATON_T_U8;
	}
}

/* An object with fields 0..MANY-1 but skip, and twice again. */
static void write_many(void *buf, size_t size, size_t *len, long skip, long twice)
{
	struct baton_image_writer w;
	struct baton_image_header h;
	baton_uuid c = sample_uuid(SAMPLE_MARKER);
	baton_fingerprint fp = { { 0 } };
	uint8_t one = 1;
	long i;

	sample_header(&h);
	assert_int_equal(baton_image_writer_init(&w, buf, size, &h), 0);
	assert_int_equal(baton_image_begin_object(&w, "many", &c, 1, "h", &fp, 0), 0);
	for (i = 0; i < MANY; i++)
		if (i != skip)
			assert_int_equal(baton_image_field(&w, many[i].name, &one, 1), 0);
	if (twice >= 0)
		assert_int_equal(baton_image_field(&w, many[twice].name, &one, 1), 0);
	assert_int_equal(baton_image_end_object(&w), 0);
	assert_int_equal(baton_image_finish(&w, len), 0);
}

static void check_many(long skip, long twice, int want, const char *needle)
{
	static uint64_t buf[65536 / 8];
	struct baton_image_object o = { .node = -1 };
	struct baton_image img;
	struct baton_diag d;
	size_t len;

	write_many(buf, sizeof(buf), &len, skip, twice);
	assert_int_equal(baton_image_open(&img, buf, len, &d), 0);
	assert_int_equal(baton_image_next_object(&img, &o), 1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(baton_image_check_fields(&img, o.fields_node, many, MANY, NULL, NULL, &d),
			 want);
	if (needle && !strstr(d.msg, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, d.msg);
}

static void test_check_fields_large_schema(void **state)
{
	(void)state;
	many_fields();
	check_many(-1, -1, 0, NULL);
	check_many(3, -1, -EBADMSG, "field \"f3\" is missing");
	check_many(1077, -1, -EBADMSG, "field \"f1077\" is missing");
	check_many(-1, 5, -EBADMSG, "field \"f5\" appears twice");
	check_many(-1, 1090, -EBADMSG, "field \"f1090\" appears twice");
}

/* ------------------------------------------------------------------------ */
/* The writer against libfdt's sequential writer alone                      */

/*
 * The objects both writers write: n objects, each with a field named "id"
 * (the tail of the header's "build-id"), one of 100 field names (more than
 * the writer's table of names holds), and from object 5 on "pid" as well (a
 * new string ending with "id", which libfdt's lookup finds first from then
 * on), and one object with an fd reference.
 */
static void obj_names(uint32_t i, char *name, size_t size)
{
	snprintf(name, size, "field-%u", i % 100);
}

static int ref_write(void *buf, size_t size, uint32_t n, size_t *len)
{
	struct baton_image_header h;
	char release[BATON_RELEASE_STRMAX], name[32], unit[32];
	uint8_t zero[16] = { 0 }, b[8];
	baton_uuid c = sample_uuid(SAMPLE_CONN);
	baton_fingerprint fp = sample_fingerprint(SAMPLE_CONN, 1);
	XXH128_canonical_t canon;
	uint32_t i, ref = 0;
	size_t pos;
	int rc = 0;

	sample_header(&h);
	baton_release_format(&h.release, release, sizeof(release));
	rc |= fdt_create(buf, (int)size);
	rc |= fdt_finish_reservemap(buf);
	rc |= fdt_begin_node(buf, "");
	rc |= fdt_property(buf, "checksum", zero, 16);
	rc |= fdt_property_string(buf, "compatible", BATON_IMAGE_COMPATIBLE);
	rc |= fdt_property(buf, "program", h.program, (int)strlen(h.program) + 1);
	rc |= fdt_property_string(buf, "release", release);
	rc |= fdt_property(buf, "build-id", h.build_id.b, (int)h.build_id.len);
	rc |= fdt_property_u64(buf, "generation", h.generation);
	rc |= fdt_property_u64(buf, "frozen-at-ns", h.frozen_at_ns);
	rc |= fdt_begin_node(buf, "fds");
	rc |= fdt_begin_node(buf, "fd@0");
	rc |= fdt_property_u32(buf, "kind", BATON_FD_SOCKET);
	rc |= fdt_property(buf, "label", "conn", 5);
	rc |= fdt_end_node(buf);
	rc |= fdt_end_node(buf);
	rc |= fdt_begin_node(buf, "regions");
	rc |= fdt_end_node(buf);
	rc |= fdt_begin_node(buf, "objects");
	for (i = 0; i < n; i++) {
		char key[32];

		snprintf(unit, sizeof(unit), "object@%u", i);
		snprintf(key, sizeof(key), "conn/%u", i);
		rc |= fdt_begin_node(buf, unit);
		rc |= fdt_property(buf, "key", key, (int)strlen(key) + 1);
		rc |= fdt_property(buf, "contract", c.b, 16);
		rc |= fdt_property_u32(buf, "version", 1);
		rc |= fdt_property(buf, "handler", "kvd.conn", 9);
		rc |= fdt_property(buf, "fingerprint", fp.b, 16);
		rc |= fdt_property_u32(buf, "flags", 0);
		baton_encode_u32((uint8_t *)&ref, 0);
		rc |= fdt_property(buf, "fds", &ref, i == 1 ? 4 : 0);
		rc |= fdt_begin_node(buf, "fields");
		baton_encode_u64(b, i);
		rc |= fdt_property(buf, "id", b, 8);
		obj_names(i, name, sizeof(name));
		rc |= fdt_property(buf, name, b, (int)(i % 7));
		if (i >= 5)
			rc |= fdt_property(buf, "pid", b, 3);
		rc |= fdt_end_node(buf);
		rc |= fdt_end_node(buf);
	}
	rc |= fdt_end_node(buf);
	rc |= fdt_end_node(buf);
	rc |= fdt_finish(buf);
	if (rc)
		return -1;
	*len = fdt_totalsize(buf);
	pos = fdt_off_dt_struct(buf) + 20;
	XXH128_canonicalFromHash(&canon, XXH3_128bits(buf, *len));
	memcpy((uint8_t *)buf + pos, canon.digest, 16);
	return 0;
}

static int baton_write(void *buf, size_t size, uint32_t n, size_t *len)
{
	static const struct baton_image_fd fd = { BATON_FD_SOCKET, "conn" };
	struct baton_image_writer w;
	struct baton_image_header h;
	baton_uuid c = sample_uuid(SAMPLE_CONN);
	baton_fingerprint fp = sample_fingerprint(SAMPLE_CONN, 1);
	char name[32], key[32];
	uint32_t i, ref = 0;
	uint8_t b[8];

	sample_header(&h);
	baton_image_writer_init(&w, buf, size, &h);
	baton_image_add_fd(&w, &fd);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "conn/%u", i);
		baton_image_begin_object(&w, key, &c, 1, "kvd.conn", &fp, 0);
		if (i == 1)
			baton_image_object_refs(&w, &ref, 1);
		baton_encode_u64(b, i);
		baton_image_field(&w, "id", b, 8);
		obj_names(i, name, sizeof(name));
		baton_image_field(&w, name, b, i % 7);
		if (i >= 5)
			baton_image_field(&w, "pid", b, 3);
		baton_image_end_object(&w);
	}
	return baton_image_finish(&w, len);
}

static void test_writer_matches_libfdt(void **state)
{
	static const uint32_t counts[] = { 0, 1, 6, 150, 3000 };
	uint8_t *ref = malloc(BIG), *out = malloc(BIG);
	size_t i, rlen = 0, olen = 0;

	(void)state;
	assert_non_null(ref);
	assert_non_null(out);
	for (i = 0; i < SAMPLE_N(counts); i++) {
		struct baton_image img;
		struct baton_diag d;

		assert_int_equal(ref_write(ref, BIG, counts[i], &rlen), 0);
		/* a buffer that held something else before */
		memset(out, 0xa5, BIG);
		assert_int_equal(baton_write(out, BIG, counts[i], &olen), 0);
		assert_int_equal(olen, rlen);
		assert_memory_equal(out, ref, rlen);
		assert_int_equal(baton_image_open(&img, out, olen, &d), 0);
		assert_int_equal(img.nobjects, counts[i]);
	}
	/* the 3000-object image is larger than the writer's first room */
	assert_true(olen > (64u << 10));
	free(ref);
	free(out);
}

/* The buffer's exact size still suffices, and one byte less is -ENOSPC. */
static void test_writer_grows_to_the_buffer(void **state)
{
	uint8_t *out = malloc(BIG), *again;
	size_t len, len2;

	(void)state;
	assert_non_null(out);
	assert_int_equal(baton_write(out, BIG, 3000, &len), 0);
	again = malloc(len);
	assert_non_null(again);
	assert_int_equal(baton_write(again, len, 3000, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, out, len);
	assert_int_equal(baton_write(again, len - 8, 3000, &len2), -ENOSPC);
	free(again);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iterate_tables),
		cmocka_unit_test(test_iterate_empty_tables_and_arguments),
		cmocka_unit_test(test_get_fields_agrees),
		cmocka_unit_test(test_get_fields_other_schemas),
		cmocka_unit_test(test_any_offset_stays_inside),
		cmocka_unit_test(test_check_fields_large_schema),
		cmocka_unit_test(test_writer_matches_libfdt),
		cmocka_unit_test(test_writer_grows_to_the_buffer),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
