/* SPDX-License-Identifier: MIT */
/*
 * DOC: image codec unit tests — encodings, round trip, writer misuse, field checks
 *
 * Hostile input (truncation, bit flips, crafted trees) is in
 * test_image_hostile.c; this file covers what a correct caller and a
 * careless one see.
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

#define BUF_SIZE (64 * 1024)
static uint64_t buf[BUF_SIZE / 8];

static void assert_msg_has(const char *msg, const char *needle)
{
	if (!strstr(msg, needle)) {
		print_error("message \"%s\"\n  does not contain \"%s\"\n", msg, needle);
		fail();
	}
}

static void assert_diag(const struct baton_diag *d, int code, const char *needle)
{
	assert_int_equal(d->code, code);
	assert_true(strlen(d->msg) > 0);
	if (needle)
		assert_msg_has(d->msg, needle);
}

/* ------------------------------------------------------------------------ */
/* Encodings                                                                */

static void test_encode_fixed(void **state)
{
	uint8_t b[8];

	(void)state;
	baton_encode_u16(b, 0x1234);
	assert_memory_equal(b, "\x12\x34", 2);
	assert_int_equal(baton_decode_u16(b), 0x1234);
	baton_encode_u32(b, 0xdeadbeef);
	assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
	assert_int_equal(baton_decode_u32(b), 0xdeadbeef);
	baton_encode_u64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(baton_decode_u64(b) == 0x0102030405060708ull);
}

static void test_encode_scalar(void **state)
{
	static const struct {
		uint32_t type;
		uint64_t in;
		size_t width;
		const char *bytes;
		uint64_t out;
	} cases[] = {
		{ BATON_T_U8, 0x1ff, 1, "\xff", 0xff },
		{ BATON_T_U16, 0x12345, 2, "\x23\x45", 0x2345 },
		{ BATON_T_U32, 0x1deadbeefull, 4, "\xde\xad\xbe\xef", 0xdeadbeef },
		{ BATON_T_U64, UINT64_MAX, 8, "\xff\xff\xff\xff\xff\xff\xff\xff", UINT64_MAX },
		{ BATON_T_I8, (uint64_t)-5, 1, "\xfb", (uint64_t)-5 },
		{ BATON_T_I8, 127, 1, "\x7f", 127 },
		{ BATON_T_I16, (uint64_t)-300, 2, "\xfe\xd4", (uint64_t)-300 },
		{ BATON_T_I32, (uint64_t)-70000, 4, "\xff\xfe\xee\x90", (uint64_t)-70000 },
		{ BATON_T_I32, 0x7fffffff, 4, "\x7f\xff\xff\xff", 0x7fffffff },
		{ BATON_T_I64, (uint64_t)INT64_MIN, 8, "\x80\0\0\0\0\0\0\0", (uint64_t)INT64_MIN },
		{ BATON_T_BOOL, 1, 1, "\x01", 1 },
		{ BATON_T_BOOL, 0, 1, "\x00", 0 },
		{ BATON_T_BOOL, 256, 1, "\x01", 1 },   /* not truncated to 0 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[8];

		assert_int_equal(baton_encode_scalar(cases[i].type, cases[i].in, b), cases[i].width);
		assert_memory_equal(b, cases[i].bytes, cases[i].width);
		assert_true(baton_decode_scalar(cases[i].type, b) == cases[i].out);
	}
}

static void test_encode_not_scalar(void **state)
{
	uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	assert_int_equal(baton_encode_scalar(BATON_T_STRING, 1, b), 0);
	assert_int_equal(baton_encode_scalar(BATON_T_FD, 1, b), 0);
	assert_int_equal(baton_encode_scalar(0, 1, b), 0);
	assert_int_equal(baton_encode_scalar(99, 1, b), 0);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(baton_decode_scalar(BATON_T_ARRAY, b) == 0);
}

static void test_fd_kind_name(void **state)
{
	(void)state;
	assert_string_equal(baton_fd_kind_name(BATON_FD_OTHER), "other");
	assert_string_equal(baton_fd_kind_name(BATON_FD_SOCKET), "socket");
	assert_string_equal(baton_fd_kind_name(BATON_FD_MEMFD), "memfd");
	assert_string_equal(baton_fd_kind_name(BATON_FD_PIPE), "pipe");
	assert_string_equal(baton_fd_kind_name(BATON_FD_EVENTFD), "eventfd");
	assert_string_equal(baton_fd_kind_name(BATON_FD_DEVICE), "device");
	assert_string_equal(baton_fd_kind_name(BATON_FD_FILE), "file");
	assert_null(baton_fd_kind_name(BATON_FD_KIND_MAX_ + 1));
	assert_null(baton_fd_kind_name(UINT32_MAX));
}

/* ------------------------------------------------------------------------ */
/* Round trip                                                               */

static size_t write_sample(void)
{
	size_t len = 0;

	memset(buf, 0, sizeof(buf));
	assert_int_equal(sample_write(buf, sizeof(buf), &len), 0);
	assert_true(len > 0 && len <= sizeof(buf));
	return len;
}

static void open_ok(struct baton_image *img, const void *p, size_t len)
{
	struct baton_diag d = { 0 };
	int rc = baton_image_open(img, p, len, &d);

	if (rc)
		print_error("open: %d %s\n", rc, d.msg);
	assert_int_equal(rc, 0);
}

static void expect_field(const struct baton_image *img, int node, const char *name,
			 const void *bytes, size_t len)
{
	const void *v;
	size_t n;

	assert_int_equal(baton_image_get_field(img, node, name, &v, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(v, bytes, len);
}

static uint64_t field_scalar(const struct baton_image *img, int node, const char *name, uint32_t type)
{
	const void *v;
	size_t n;

	assert_int_equal(baton_image_get_field(img, node, name, &v, &n), 0);
	assert_int_equal(n, baton_type_width(type));
	return baton_decode_scalar(type, v);
}

static void check_object(const struct baton_image_object *o, const char *key, const char *contract,
			 uint32_t version, const char *handler, uint32_t flags, uint32_t ref)
{
	baton_uuid c = sample_uuid(contract);
	baton_fingerprint fp = sample_fingerprint(contract, version);

	assert_string_equal(o->key, key);
	assert_int_equal(baton_uuid_cmp(&o->contract, &c), 0);
	assert_int_equal(o->version, version);
	assert_string_equal(o->handler, handler);
	assert_true(baton_fingerprint_equal(&o->fingerprint, &fp));
	assert_int_equal(o->flags, flags);
	if (ref == UINT32_MAX) {
		assert_int_equal(o->nrefs, 0);
	} else {
		assert_int_equal(o->nrefs, 1);
		assert_int_equal(baton_decode_u32(o->refs), ref);
	}
	assert_true(o->fields_node > 0);
}

static void test_round_trip(void **state)
{
	struct baton_image img;
	struct baton_image_object o = { .node = -1 };
	struct baton_image_fd fd;
	struct baton_image_region r;
	struct baton_diag d = { 0 };
	const struct baton_field *f = NULL;
	size_t len = write_sample(), n = 0;
	int node, nested;

	(void)state;
	open_ok(&img, buf, len);
	assert_string_equal(img.h.program, "kvd");
	assert_int_equal(img.h.release.major, 1);
	assert_int_equal(img.h.release.minor, 2);
	assert_int_equal(img.h.release.patch, 3);
	assert_int_equal(img.h.build_id.len, 20);
	assert_int_equal(img.h.build_id.b[0], 0xa0);
	assert_int_equal(img.h.build_id.b[19], 0xb3);
	assert_true(img.h.generation == 7);
	assert_true(img.h.frozen_at_ns == 123456789012345ull);
	assert_int_equal(img.nobjects, 4);
	assert_int_equal(img.nfds, 3);
	assert_int_equal(img.nregions, 1);
	assert_ptr_equal(img.fdt, buf);
	assert_int_equal(img.len, len);

	assert_int_equal(baton_image_get_fd(&img, 0, &fd), 0);
	assert_int_equal(fd.kind, BATON_FD_SOCKET);
	assert_string_equal(fd.name, "listener");
	assert_int_equal(baton_image_get_fd(&img, 1, &fd), 0);
	assert_int_equal(fd.kind, BATON_FD_MEMFD);
	assert_string_equal(fd.name, "cache data");
	assert_int_equal(baton_image_get_fd(&img, 2, &fd), 0);
	assert_string_equal(fd.name, "conn");
	assert_int_equal(baton_image_get_fd(&img, 3, &fd), -ERANGE);
	assert_int_equal(baton_image_get_region(&img, 0, &r), 0);
	assert_int_equal(r.fd, 1);
	assert_true(r.size == 1u << 20);
	assert_string_equal(r.name, "cache data");
	assert_int_equal(baton_image_get_region(&img, 1, &r), -ERANGE);

	/* listener */
	assert_int_equal(baton_image_next_object(&img, &o), 1);
	assert_int_equal(o.index, 0);
	check_object(&o, "listener/tcp:11211", SAMPLE_LISTENER, 1, "kvd.listener", 0, 0);
	assert_int_equal(field_scalar(&img, o.fields_node, "sock", BATON_T_U32), 0);
	assert_int_equal(field_scalar(&img, o.fields_node, "port", BATON_T_U16), 11211);
	assert_true((int64_t)field_scalar(&img, o.fields_node, "backlog", BATON_T_I32) == -1);
	expect_field(&img, o.fields_node, "addr", "0.0.0.0", 8);
	assert_int_equal(baton_image_check_fields(&img, o.fields_node, sample_listener_v1,
						  SAMPLE_N(sample_listener_v1), sample_lookup, NULL, &d), 0);

	/* cache: every field type, nested twice */
	assert_int_equal(baton_image_next_object(&img, &o), 1);
	assert_int_equal(o.index, 1);
	check_object(&o, "cache/main", SAMPLE_CACHE, 2, "kvd.cache", 0, 1);
	node = o.fields_node;
	assert_true(field_scalar(&img, node, "nitems", BATON_T_U64) == 0x0102030405060708ull);
	assert_int_equal(field_scalar(&img, node, "capacity", BATON_T_U32), 1u << 20);
	assert_int_equal(field_scalar(&img, node, "mid", BATON_T_U16), 0xbeef);
	assert_int_equal(field_scalar(&img, node, "tiny", BATON_T_U8), 0xfe);
	assert_true((int64_t)field_scalar(&img, node, "evictions", BATON_T_I64) == -1234567890123ll);
	assert_true((int64_t)field_scalar(&img, node, "medium", BATON_T_I32) == -70000);
	assert_true((int64_t)field_scalar(&img, node, "small", BATON_T_I16) == -300);
	assert_true((int64_t)field_scalar(&img, node, "delta", BATON_T_I8) == -5);
	assert_int_equal(field_scalar(&img, node, "hot", BATON_T_BOOL), 1);
	expect_field(&img, node, "tag", "\x00\xffok", 4);
	expect_field(&img, node, "name", "main cache", 11);
	expect_field(&img, node, "shards", "\x00\x64\x00\x65\x00\x66", 6);
	expect_field(&img, node, "enabled", "\x01\x00\x01\x01", 4);
	expect_field(&img, node, "data", "\0\0\0\0", 4);
	nested = baton_image_get_nested(&img, node, "stats");
	assert_true(nested > node);
	assert_int_equal(field_scalar(&img, nested, "hits", BATON_T_U64), 1000);
	assert_int_equal(field_scalar(&img, nested, "misses", BATON_T_U64), 10);
	nested = baton_image_get_nested(&img, nested, "window");
	assert_true(nested > 0);
	assert_int_equal(field_scalar(&img, nested, "count", BATON_T_U32), 60);
	assert_true(field_scalar(&img, nested, "span-ns", BATON_T_U64) == 60000000000ull);
	assert_int_equal(baton_image_get_nested(&img, node, "nope"), -ENOENT);
	assert_int_equal(baton_image_get_nested(&img, node, "nitems"), -ENOENT);
	{
		const void *v;

		assert_int_equal(baton_image_get_field(&img, node, "nope", &v, &n), -ENOENT);
		assert_int_equal(baton_image_get_field(&img, node, "stats", &v, &n), -ENOENT);
	}
	assert_int_equal(baton_image_check_fields(&img, node, sample_cache_v2, SAMPLE_N(sample_cache_v2),
						  sample_lookup, NULL, &d), 0);

	/* optional connection */
	assert_int_equal(baton_image_next_object(&img, &o), 1);
	check_object(&o, "conn/7", SAMPLE_CONN, 1, "kvd.conn", BATON_OBJECT_OPTIONAL, 2);
	assert_int_equal(field_scalar(&img, o.fields_node, "sock", BATON_T_U32), 2);

	/* a marker without fields or fds */
	assert_int_equal(baton_image_next_object(&img, &o), 1);
	assert_int_equal(o.index, 3);
	check_object(&o, "marker/ready", SAMPLE_MARKER, 1, "kvd.marker", 0, UINT32_MAX);
	assert_int_equal(baton_image_check_fields(&img, o.fields_node, NULL, 0, NULL, NULL, &d), 0);

	assert_int_equal(baton_image_next_object(&img, &o), 0);
	assert_int_equal(baton_image_next_object(&img, &o), 0);

	/* every object against its schema, through the lookup */
	o.node = -1;
	while (baton_image_next_object(&img, &o) == 1) {
		assert_int_equal(sample_lookup(NULL, &o.contract, o.version, &f, &n), 0);
		assert_int_equal(baton_image_check_fields(&img, o.fields_node, f, n, sample_lookup, NULL, &d), 0);
	}
}

/* The checksum rule, computed here independently of the codec. */
static void test_checksum_rule(void **state)
{
	size_t len = write_sample(), pos;
	uint8_t copy[BUF_SIZE], sum[16];
	XXH128_canonical_t canon;

	(void)state;
	memcpy(copy, buf, len);
	pos = fdt_off_dt_struct(copy) + 20;
	/* the root's first property, named "checksum", 16 bytes */
	assert_int_equal(baton_decode_u32(copy + pos - 12), FDT_PROP);
	assert_int_equal(baton_decode_u32(copy + pos - 8), 16);
	assert_string_equal((const char *)copy + fdt_off_dt_strings(copy) + baton_decode_u32(copy + pos - 4),
			    "checksum");
	memcpy(sum, copy + pos, 16);
	memset(copy + pos, 0, 16);
	XXH128_canonicalFromHash(&canon, XXH3_128bits(copy, len));
	assert_memory_equal(sum, canon.digest, 16);
	assert_int_equal(fdt_totalsize(copy), len);
}

static void test_deterministic(void **state)
{
	static uint64_t first[BUF_SIZE / 8];
	size_t len = write_sample(), len2;

	(void)state;
	memcpy(first, buf, len);
	len2 = write_sample();
	assert_int_equal(len, len2);
	assert_memory_equal(first, buf, len);
}

static void test_empty_image(void **state)
{
	struct baton_image_writer w;
	struct baton_image_header h;
	struct baton_image img;
	struct baton_image_object o = { .node = -1 };
	struct baton_image_fd fd;
	size_t len;

	(void)state;
	sample_header(&h);
	h.build_id.len = 0;
	assert_int_equal(baton_image_writer_init(&w, buf, sizeof(buf), &h), 0);
	assert_int_equal(baton_image_finish(&w, &len), 0);
	open_ok(&img, buf, len);
	assert_int_equal(img.nobjects, 0);
	assert_int_equal(img.nfds, 0);
	assert_int_equal(img.nregions, 0);
	assert_int_equal(img.h.build_id.len, 0);
	assert_int_equal(baton_image_next_object(&img, &o), 0);
	assert_int_equal(baton_image_get_fd(&img, 0, &fd), -ERANGE);
}

/* Each table phase can be the last one before finish or the first object. */
static void test_tables_optional(void **state)
{
	static const struct baton_image_fd fd = { BATON_FD_PIPE, "" };
	struct baton_image_writer w;
	struct baton_image_header h;
	struct baton_image img;
	baton_uuid c = sample_uuid(SAMPLE_MARKER);
	baton_fingerprint fp = { { 0 } };
	struct baton_image_fd out;
	size_t len;

	(void)state;
	sample_header(&h);
	assert_int_equal(baton_image_writer_init(&w, buf, sizeof(buf), &h), 0);
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	assert_int_equal(baton_image_add_fd(&w, &fd), 1);
	assert_int_equal(baton_image_finish(&w, &len), 0);
	open_ok(&img, buf, len);
	assert_int_equal(img.nfds, 2);
	assert_int_equal(baton_image_get_fd(&img, 1, &out), 0);
	assert_int_equal(out.kind, BATON_FD_PIPE);
	assert_string_equal(out.name, "");

	assert_int_equal(baton_image_writer_init(&w, buf, sizeof(buf), &h), 0);
	assert_int_equal(baton_image_begin_object(&w, "m", &c, 1, "m", &fp, 0), 0);
	assert_int_equal(baton_image_end_object(&w), 0);
	assert_int_equal(baton_image_finish(&w, &len), 0);
	open_ok(&img, buf, len);
	assert_int_equal(img.nobjects, 1);
	assert_int_equal(img.nfds, 0);
}

/* ------------------------------------------------------------------------ */
/* Writer misuse                                                            */

static struct baton_image_writer w;

static void start(void)
{
	struct baton_image_header h;

	sample_header(&h);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(baton_image_writer_init(&w, buf, sizeof(buf), &h), 0);
}

static void begin(const char *key)
{
	baton_uuid c = sample_uuid(SAMPLE_CACHE);
	baton_fingerprint fp = sample_fingerprint(SAMPLE_CACHE, 2);

	assert_int_equal(baton_image_begin_object(&w, key, &c, 2, "kvd.cache", &fp, 0), 0);
}

/* rc is the failing call's result: exact code, words, and the writer stays failed. */
static void expect_fail(int rc, int code, const char *needle)
{
	char msg[BATON_DIAG_MAX];
	size_t len = 0;

	assert_int_equal(rc, code);
	assert_int_equal(w.err, code);
	assert_diag(&w.diag, code, needle);
	strcpy(msg, w.diag.msg);
	assert_int_equal(baton_image_end_object(&w), code);
	assert_int_equal(baton_image_add_fd(&w, &(struct baton_image_fd){ 0, "x" }), code);
	assert_int_equal(baton_image_finish(&w, &len), code);
	assert_int_equal(len, 0);
	assert_string_equal(w.diag.msg, msg);
}

static void test_misuse_init(void **state)
{
	struct baton_image_header h;

	(void)state;
	sample_header(&h);
	assert_int_equal(baton_image_writer_init(NULL, buf, sizeof(buf), &h), -EINVAL);
	expect_fail(baton_image_writer_init(&w, NULL, sizeof(buf), &h), -EINVAL, "no buffer");
	expect_fail(baton_image_writer_init(&w, buf, sizeof(buf), NULL), -EINVAL, "no header");
	expect_fail(baton_image_writer_init(&w, (char *)buf + 4, sizeof(buf) - 4, &h), -EINVAL,
		    "8-byte aligned");
	strcpy(h.program, "has space");
	expect_fail(baton_image_writer_init(&w, buf, sizeof(buf), &h), -EINVAL, "\"has space\" is not a name");
	h.program[0] = '\0';
	expect_fail(baton_image_writer_init(&w, buf, sizeof(buf), &h), -EINVAL, "not a name");
	sample_header(&h);
	h.build_id.len = BATON_BUILD_ID_MAX + 1;
	expect_fail(baton_image_writer_init(&w, buf, sizeof(buf), &h), -EINVAL, "build id of 33 bytes");
	sample_header(&h);
	expect_fail(baton_image_writer_init(&w, buf, 16, &h), -ENOSPC, "buffer of 16 bytes");
}

static void test_misuse_uninitialised(void **state)
{
	struct baton_image_writer z;
	size_t len;

	(void)state;
	memset(&z, 0, sizeof(z));
	assert_int_equal(baton_image_field(&z, "x", "", 1), -EINVAL);
	assert_diag(&z.diag, -EINVAL, "not initialised");
	assert_int_equal(baton_image_finish(&z, &len), -EINVAL);
	assert_int_equal(baton_image_finish(NULL, &len), -EINVAL);
	assert_int_equal(baton_image_end_nested(NULL), -EINVAL);
}

static void test_misuse_tables(void **state)
{
	static const struct baton_image_fd fd = { BATON_FD_SOCKET, "s" };
	struct baton_image_region r = { 0, 4096, "r" };
	struct baton_image_fd bad = { BATON_FD_SOCKET, "s" };

	(void)state;
	start();
	expect_fail(baton_image_add_region(&w, &r), -EINVAL, "names fd 0; the fd table has 0 entries");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	assert_int_equal(baton_image_add_region(&w, &r), 0);
	expect_fail(baton_image_add_fd(&w, &fd), -EINVAL, "every fd comes before the first region");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	begin("a");
	assert_int_equal(baton_image_end_object(&w), 0);
	expect_fail(baton_image_add_fd(&w, &fd), -EINVAL, "tables come before them");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	begin("a");
	assert_int_equal(baton_image_end_object(&w), 0);
	expect_fail(baton_image_add_region(&w, &r), -EINVAL, "tables come before them");

	start();
	begin("a");
	expect_fail(baton_image_add_fd(&w, &fd), -EINVAL, "an object is open");

	start();
	bad.kind = BATON_FD_KIND_MAX_ + 1;
	expect_fail(baton_image_add_fd(&w, &bad), -EINVAL, "unknown kind 7");

	start();
	bad.kind = 0;
	strcpy(bad.name, "tab\there");
	expect_fail(baton_image_add_fd(&w, &bad), -EINVAL, "label \"tab?here\"");

	start();
	memset(bad.name, 'x', sizeof(bad.name));   /* no NUL */
	expect_fail(baton_image_add_fd(&w, &bad), -EINVAL, "printable ASCII");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	memset(r.name, 'x', sizeof(r.name));
	expect_fail(baton_image_add_region(&w, &r), -EINVAL, "printable ASCII");

	start();
	expect_fail(baton_image_add_fd(&w, NULL), -EINVAL, "no entry");
	start();
	expect_fail(baton_image_add_region(&w, NULL), -EINVAL, "no entry");
}

static void test_misuse_objects(void **state)
{
	baton_uuid c = sample_uuid(SAMPLE_CACHE), nil = { { 0 } };
	baton_fingerprint fp = { { 1 } };
	char key[BATON_KEY_MAX + 1];

	(void)state;
	start();
	begin("a");
	expect_fail(baton_image_begin_object(&w, "b", &c, 1, "h", &fp, 0), -EINVAL, "an object is open");

	start();
	memset(key, 'k', BATON_KEY_MAX);
	key[BATON_KEY_MAX] = '\0';
	expect_fail(baton_image_begin_object(&w, key, &c, 1, "h", &fp, 0), -ENAMETOOLONG,
		    "longer than 255 bytes");
	/* 255 bytes is the longest key */
	start();
	key[BATON_KEY_MAX - 1] = '\0';
	assert_int_equal(baton_image_begin_object(&w, key, &c, 1, "h", &fp, 0), 0);

	start();
	expect_fail(baton_image_begin_object(&w, "", &c, 1, "h", &fp, 0), -EINVAL, "printable ASCII");
	start();
	expect_fail(baton_image_begin_object(&w, "a b", &c, 1, "h", &fp, 0), -EINVAL, "\"a b\"");
	start();
	expect_fail(baton_image_begin_object(&w, "a\nb", &c, 1, "h", &fp, 0), -EINVAL, "\"a?b\"");
	start();
	expect_fail(baton_image_begin_object(&w, "a", &nil, 1, "h", &fp, 0), -EINVAL, "nil UUID");
	start();
	expect_fail(baton_image_begin_object(&w, "a", &c, 0, "h", &fp, 0), -EINVAL, "version 0");
	start();
	expect_fail(baton_image_begin_object(&w, "a", &c, 1, "kvd/cache", &fp, 0), -EINVAL,
		    "handler \"kvd/cache\" is not a name");
	start();
	expect_fail(baton_image_begin_object(&w, "a", &c, 1, "h", &fp, 2), -EINVAL, "unknown flags 0x2");
	start();
	expect_fail(baton_image_begin_object(&w, NULL, &c, 1, "h", &fp, 0), -EINVAL, "required");
	start();
	expect_fail(baton_image_begin_object(&w, "a", NULL, 1, "h", &fp, 0), -EINVAL, "required");
	start();
	expect_fail(baton_image_begin_object(&w, "a", &c, 1, NULL, &fp, 0), -EINVAL, "required");
	start();
	expect_fail(baton_image_begin_object(&w, "a", &c, 1, "h", NULL, 0), -EINVAL, "required");

	start();
	expect_fail(baton_image_end_object(&w), -EINVAL, "no object is open");
}

static void test_misuse_refs(void **state)
{
	static const struct baton_image_fd fd = { BATON_FD_SOCKET, "s" };
	uint32_t refs[2] = { 0, 1 };

	(void)state;
	start();
	expect_fail(baton_image_object_refs(&w, refs, 1), -EINVAL, "outside an object");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	begin("a");
	expect_fail(baton_image_object_refs(&w, refs, 2), -EINVAL, "refers to fd 1; the fd table has 1 entries");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	begin("a");
	assert_int_equal(baton_image_object_refs(&w, refs, 1), 0);
	expect_fail(baton_image_object_refs(&w, refs, 1), -EINVAL, "references come once");

	start();
	assert_int_equal(baton_image_add_fd(&w, &fd), 0);
	begin("a");
	assert_int_equal(baton_image_field(&w, "x", "", 1), 0);
	expect_fail(baton_image_object_refs(&w, refs, 1), -EINVAL, "references come once");

	start();
	begin("a");
	expect_fail(baton_image_object_refs(&w, NULL, 1), -EINVAL, "no array");

	start();
	begin("a");
	expect_fail(baton_image_object_refs(&w, refs, BATON_IMAGE_MAX_FDS + 1), -E2BIG, "at most 65536");
}

static void test_misuse_fields(void **state)
{
	int i;

	(void)state;
	start();
	expect_fail(baton_image_field(&w, "x", "", 1), -EINVAL, "outside an object");
	start();
	expect_fail(baton_image_begin_nested(&w, "x"), -EINVAL, "outside an object");
	start();
	begin("a");
	expect_fail(baton_image_field(&w, "bad name", "", 1), -EINVAL, "field name \"bad name\"");
	start();
	begin("a");
	expect_fail(baton_image_field(&w, NULL, "", 1), -EINVAL, "no field name");
	start();
	begin("a");
	expect_fail(baton_image_begin_nested(&w, "x@1"), -EINVAL, "\"x@1\" is not a name");
	start();
	begin("a");
	expect_fail(baton_image_begin_nested(&w, NULL), -EINVAL, "no field name");
	start();
	begin("a");
	expect_fail(baton_image_field(&w, "x", NULL, 4), -EINVAL, "has no value");
	start();
	begin("a");
	expect_fail(baton_image_field(&w, "x", buf, (size_t)BATON_IMAGE_MAX_SIZE + 1), -E2BIG,
		    "larger than an image may be");

	/* values before nested nodes, in every node */
	start();
	begin("a");
	assert_int_equal(baton_image_field(&w, "x", "", 1), 0);
	assert_int_equal(baton_image_begin_nested(&w, "n"), 0);
	assert_int_equal(baton_image_end_nested(&w), 0);
	expect_fail(baton_image_field(&w, "y", "", 1), -EINVAL, "follows a nested field");
	start();
	begin("a");
	assert_int_equal(baton_image_begin_nested(&w, "n"), 0);
	assert_int_equal(baton_image_begin_nested(&w, "m"), 0);
	assert_int_equal(baton_image_end_nested(&w), 0);
	expect_fail(baton_image_field(&w, "y", "", 1), -EINVAL, "follows a nested field");
	/* ...but a value inside a new nested node after a sibling is fine */
	start();
	begin("a");
	assert_int_equal(baton_image_begin_nested(&w, "n"), 0);
	assert_int_equal(baton_image_end_nested(&w), 0);
	assert_int_equal(baton_image_begin_nested(&w, "m"), 0);
	assert_int_equal(baton_image_field(&w, "y", "", 1), 0);
	assert_int_equal(baton_image_end_nested(&w), 0);
	assert_int_equal(baton_image_end_object(&w), 0);

	start();
	begin("a");
	expect_fail(baton_image_end_nested(&w), -EINVAL, "no nested field is open");
	start();
	expect_fail(baton_image_end_nested(&w), -EINVAL, "no nested field is open");

	start();
	begin("a");
	assert_int_equal(baton_image_begin_nested(&w, "n"), 0);
	expect_fail(baton_image_end_object(&w), -EINVAL, "1 nested field(s) still open");

	start();
	begin("a");
	for (i = 0; i < BATON_MAX_NESTING; i++)
		assert_int_equal(baton_image_begin_nested(&w, "n"), 0);
	expect_fail(baton_image_begin_nested(&w, "n"), -ELOOP, "deeper than 8 levels");
}

static void test_misuse_finish(void **state)
{
	size_t len;

	(void)state;
	start();
	begin("a");
	expect_fail(baton_image_finish(&w, &len), -EINVAL, "object 0 is still open");

	start();
	expect_fail(baton_image_finish(&w, NULL), -EINVAL, "no place for the length");

	start();
	assert_int_equal(baton_image_finish(&w, &len), 0);
	expect_fail(baton_image_finish(&w, &len), -EINVAL, "already finished");
	start();
	assert_int_equal(baton_image_finish(&w, &len), 0);
	expect_fail(baton_image_field(&w, "x", "", 1), -EINVAL, "already finished");
}

/* Every buffer size short of the image fails with -ENOSPC, cleanly. */
static void test_every_short_buffer(void **state)
{
	static uint64_t small[BUF_SIZE / 8];
	size_t need = write_sample(), size, len;
	struct baton_image img;

	(void)state;
	for (size = 0; size < need; size++) {
		len = 0;
		assert_int_equal(sample_write(small, size, &len), -ENOSPC);
		assert_int_equal(len, 0);
	}
	assert_int_equal(sample_write(small, need, &len), 0);
	assert_int_equal(len, need);
	assert_memory_equal(small, buf, need);
	open_ok(&img, small, len);
}

static void test_limit_objects(void **state)
{
	size_t size = 16u << 20, len;
	uint64_t *big = malloc(size);
	baton_uuid c = sample_uuid(SAMPLE_MARKER);
	baton_fingerprint fp = { { 0 } };
	struct baton_image_header h;
	struct baton_image img;
	uint32_t i;

	(void)state;
	assert_non_null(big);
	sample_header(&h);
	assert_int_equal(baton_image_writer_init(&w, big, size, &h), 0);
	for (i = 0; i < BATON_IMAGE_MAX_OBJECTS; i++) {
		char key[16];

		snprintf(key, sizeof(key), "o/%u", i);
		assert_int_equal(baton_image_begin_object(&w, key, &c, 1, "m", &fp, 0), 0);
		assert_int_equal(baton_image_end_object(&w), 0);
	}
	assert_int_equal(baton_image_begin_object(&w, "one-more", &c, 1, "m", &fp, 0), -E2BIG);
	assert_diag(&w.diag, -E2BIG, "more than 65536 objects");

	/* the largest count still opens */
	w.err = 0;
	assert_int_equal(baton_image_finish(&w, &len), 0);
	open_ok(&img, big, len);
	assert_int_equal(img.nobjects, BATON_IMAGE_MAX_OBJECTS);
	free(big);
}

static void test_limit_fds(void **state)
{
	size_t size = 8u << 20, len;
	uint64_t *big = malloc(size);
	struct baton_image_fd fd = { BATON_FD_SOCKET, "c" };
	struct baton_image_region r = { 0, 1, "r" };
	struct baton_image_header h;
	struct baton_image img;
	uint32_t i;

	(void)state;
	assert_non_null(big);
	sample_header(&h);
	assert_int_equal(baton_image_writer_init(&w, big, size, &h), 0);
	for (i = 0; i < BATON_IMAGE_MAX_FDS; i++)
		assert_int_equal(baton_image_add_fd(&w, &fd), (int)i);
	assert_int_equal(baton_image_add_fd(&w, &fd), -E2BIG);
	assert_diag(&w.diag, -E2BIG, "more than 65536 fds");
	w.err = 0;
	for (i = 0; i < BATON_IMAGE_MAX_FDS; i++)
		assert_int_equal(baton_image_add_region(&w, &r), (int)i);
	assert_int_equal(baton_image_add_region(&w, &r), -E2BIG);
	assert_diag(&w.diag, -E2BIG, "more than 65536 regions");
	w.err = 0;
	assert_int_equal(baton_image_finish(&w, &len), 0);
	open_ok(&img, big, len);
	assert_int_equal(img.nfds, BATON_IMAGE_MAX_FDS);
	assert_int_equal(img.nregions, BATON_IMAGE_MAX_FDS);
	free(big);
}

/* An image may not outgrow BATON_IMAGE_MAX_SIZE, whatever the buffer. */
static void test_limit_size(void **state)
{
	size_t size = (size_t)BATON_IMAGE_MAX_SIZE + (1u << 20), chunk = 24u << 20, len;
	uint64_t *big = malloc(size);
	uint8_t *value = calloc(1, chunk);
	struct baton_image_header h;

	(void)state;
	assert_non_null(big);
	assert_non_null(value);
	sample_header(&h);
	assert_int_equal(baton_image_writer_init(&w, big, size, &h), 0);
	begin("big");
	assert_int_equal(baton_image_field(&w, "a", value, chunk), 0);
	assert_int_equal(baton_image_field(&w, "b", value, chunk), 0);
	assert_int_equal(baton_image_field(&w, "c", value, chunk), -E2BIG);
	assert_diag(&w.diag, -E2BIG, "larger than 67108864 bytes");
	assert_int_equal(baton_image_finish(&w, &len), -E2BIG);
	free(value);
	free(big);
}

/* ------------------------------------------------------------------------ */
/* Field checks                                                             */

typedef void (*fill_fn)(struct baton_image_writer *w);

/* One object "cache/main" (contract SAMPLE_CACHE, version 2) filled by fill. */
static void build(fill_fn fill, struct baton_image *img)
{
	static const struct baton_image_fd fds[] = { { BATON_FD_SOCKET, "a" }, { BATON_FD_MEMFD, "b" } };
	static const struct baton_image_region r = { 1, 4096, "b" };
	struct baton_image_header h;
	size_t len;

	sample_header(&h);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(baton_image_writer_init(&w, buf, sizeof(buf), &h), 0);
	baton_image_add_fd(&w, &fds[0]);
	baton_image_add_fd(&w, &fds[1]);
	baton_image_add_region(&w, &r);
	begin("cache/main");
	fill(&w);
	baton_image_end_object(&w);
	if (baton_image_finish(&w, &len))
		print_error("build: %s\n", w.diag.msg);
	assert_int_equal(w.err, 0);
	open_ok(img, buf, len);
}

static int first_fields(const struct baton_image *img)
{
	struct baton_image_object o = { .node = -1 };

	assert_int_equal(baton_image_next_object(img, &o), 1);
	return o.fields_node;
}

/* The sample cache's fields, with one of them replaced or left out. */
static const char *skip_field;
static const char *swap_field;
static const void *swap_value;
static size_t swap_len;

static void put(struct baton_image_writer *wr, const char *name, const void *v, size_t len)
{
	if (skip_field && strcmp(name, skip_field) == 0)
		return;
	if (swap_field && strcmp(name, swap_field) == 0) {
		v = swap_value;
		len = swap_len;
	}
	baton_image_field(wr, name, v, len);
}

static void put_scalar(struct baton_image_writer *wr, const char *name, uint32_t type, uint64_t v)
{
	uint8_t b[8];

	put(wr, name, b, baton_encode_scalar(type, v, b));
}

static void fill_cache(struct baton_image_writer *wr)
{
	put_scalar(wr, "nitems", BATON_T_U64, 5);
	put_scalar(wr, "capacity", BATON_T_U32, 6);
	put_scalar(wr, "mid", BATON_T_U16, 7);
	put_scalar(wr, "tiny", BATON_T_U8, 8);
	put_scalar(wr, "evictions", BATON_T_I64, 9);
	put_scalar(wr, "medium", BATON_T_I32, 10);
	put_scalar(wr, "small", BATON_T_I16, 11);
	put_scalar(wr, "delta", BATON_T_I8, 12);
	put_scalar(wr, "hot", BATON_T_BOOL, 0);
	put(wr, "tag", "abcd", 4);
	put(wr, "name", "n", 2);
	put(wr, "shards", "\0\1\0\2", 4);
	put(wr, "enabled", "\1", 1);
	put(wr, "data", "\0\0\0\0", 4);
	if (!(skip_field && strcmp(skip_field, "stats") == 0)) {
		baton_image_begin_nested(wr, "stats");
		put_scalar(wr, "hits", BATON_T_U64, 1);
		put_scalar(wr, "misses", BATON_T_U64, 2);
		if (!(skip_field && strcmp(skip_field, "window") == 0)) {
			baton_image_begin_nested(wr, "window");
			put_scalar(wr, "count", BATON_T_U32, 3);
			put_scalar(wr, "span-ns", BATON_T_U64, 4);
			baton_image_end_nested(wr);
		}
		baton_image_end_nested(wr);
	}
}

static int check_cache(const struct baton_image *img, struct baton_diag *d)
{
	return baton_image_check_fields(img, first_fields(img), sample_cache_v2,
					SAMPLE_N(sample_cache_v2), sample_lookup, NULL, d);
}

/* Writes the cache with field name replaced by value (or left out if NULL) and checks it. */
static void expect_mismatch(const char *name, const void *value, size_t len, int code,
			    const char *needle)
{
	struct baton_image img;
	struct baton_diag d = { 0 };

	skip_field = value ? NULL : name;
	swap_field = value ? name : NULL;
	swap_value = value;
	swap_len = len;
	build(fill_cache, &img);
	skip_field = swap_field = NULL;
	assert_int_equal(check_cache(&img, &d), code);
	assert_diag(&d, code, needle);
	assert_msg_has(d.msg, "object \"cache/main\": ");
}

static void test_check_ok(void **state)
{
	struct baton_image img;
	struct baton_diag d = { 0 };

	(void)state;
	build(fill_cache, &img);
	assert_int_equal(check_cache(&img, &d), 0);
}

static void test_check_scalar_length(void **state)
{
	struct baton_image img;
	struct baton_diag d = { 0 };

	(void)state;
	swap_field = "nitems";
	swap_value = "\0\0\0\5";
	swap_len = 4;
	build(fill_cache, &img);
	swap_field = NULL;
	assert_int_equal(check_cache(&img, &d), -EBADMSG);
	assert_int_equal(d.code, -EBADMSG);
	assert_string_equal(d.msg,
			    "object \"cache/main\": field \"nitems\" is 4 bytes; schema "
			    "1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says u64 (8 bytes)");

	expect_mismatch("capacity", "\0\0", 2, -EBADMSG, "field \"capacity\" is 2 bytes");
	expect_mismatch("mid", "", 0, -EBADMSG, "field \"mid\" is 0 bytes; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says u16 (2 bytes)");
	expect_mismatch("delta", "\0\0", 2, -EBADMSG, "says i8 (1 bytes)");
	expect_mismatch("evictions", "\0", 1, -EBADMSG, "says i64 (8 bytes)");
}

static void test_check_bool(void **state)
{
	(void)state;
	expect_mismatch("hot", "\2", 1, -EBADMSG, "field \"hot\" holds 2; ");
	expect_mismatch("hot", "\0\0", 2, -EBADMSG, "field \"hot\" is 2 bytes");
	expect_mismatch("enabled", "\1\0\3", 3, -EBADMSG, "has element 2 holding 3, not a bool");
}

static void test_check_bytes(void **state)
{
	(void)state;
	expect_mismatch("tag", "abc", 3, -EBADMSG, "field \"tag\" is 3 bytes; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says bytes (exactly 4)");
	expect_mismatch("tag", "abcde", 5, -EBADMSG, "is 5 bytes");
}

static void test_check_string(void **state)
{
	char longer[40];

	(void)state;
	expect_mismatch("name", "abc", 3, -EBADMSG, "field \"name\" is 3 bytes without a terminating NUL");
	expect_mismatch("name", "", 0, -EBADMSG, "is 0 bytes without a terminating NUL");
	expect_mismatch("name", "a\0b", 4, -EBADMSG, "has a NUL inside its text (byte 1 of 4)");
	memset(longer, 'x', 33);
	longer[33] = '\0';
	expect_mismatch("name", longer, 34, -EBADMSG,
			"field \"name\" is 33 bytes of text; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says string (at most 32 bytes");
	/* exactly the maximum, and empty text, are fine */
	{
		struct baton_image img;
		struct baton_diag d = { 0 };

		longer[32] = '\0';
		swap_field = "name";
		swap_value = longer;
		swap_len = 33;
		build(fill_cache, &img);
		assert_int_equal(check_cache(&img, &d), 0);
		swap_value = "";
		swap_len = 1;
		build(fill_cache, &img);
		swap_field = NULL;
		assert_int_equal(check_cache(&img, &d), 0);
	}
}

static void test_check_array(void **state)
{
	uint8_t nine[18] = { 0 };

	(void)state;
	expect_mismatch("shards", "\0\1\0", 3, -EBADMSG, "field \"shards\" is 3 bytes, not a whole number of elements; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says array of at most 8 u16 (2 bytes each)");
	expect_mismatch("shards", nine, sizeof(nine), -EBADMSG, "field \"shards\" has 9 elements");
	expect_mismatch("enabled", "\1\1\1\1\1", 5, -EBADMSG, "field \"enabled\" has 5 elements");
	{
		struct baton_image img;
		struct baton_diag d = { 0 };

		swap_field = "shards";   /* empty arrays are fine */
		swap_value = "";
		swap_len = 0;
		build(fill_cache, &img);
		swap_field = NULL;
		assert_int_equal(check_cache(&img, &d), 0);
	}
}

static void test_check_fd_region(void **state)
{
	(void)state;
	expect_mismatch("data", "\0\0\0\1", 4, -EBADMSG,
			"field \"data\" refers to region 1, and the image has 1 regions; schema "
			"1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says region (a u32 index into the region table)");
	expect_mismatch("data", "\0\0\0", 3, -EBADMSG, "field \"data\" is 3 bytes");
	expect_mismatch("data", "\xff\xff\xff\xff", 4, -EBADMSG, "refers to region 4294967295");
}

static void fill_fd(struct baton_image_writer *wr)
{
	baton_image_field(wr, "sock", swap_value, swap_len);
}

static void test_check_fd_index(void **state)
{
	static const struct baton_field schema[] = { { .name = "sock", .type = BATON_T_FD } };
	struct baton_image img;
	struct baton_diag d = { 0 };

	(void)state;
	swap_value = "\0\0\0\1";
	swap_len = 4;
	build(fill_fd, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), schema, 1, NULL, NULL, &d), 0);
	swap_value = "\0\0\0\2";
	build(fill_fd, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), schema, 1, NULL, NULL, &d),
			 -EBADMSG);
	assert_diag(&d, -EBADMSG, "object \"cache/main\": field \"sock\" refers to fd 2, and the image has 2 fds");
	assert_msg_has(d.msg, "says fd (a u32 index into the fd table)");
	swap_value = "\0\0\0\0\0";
	swap_len = 5;
	build(fill_fd, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), schema, 1, NULL, NULL, &d),
			 -EBADMSG);
	assert_diag(&d, -EBADMSG, "field \"sock\" is 5 bytes");
}

static void test_check_missing_extra(void **state)
{
	struct baton_image img;
	struct baton_diag d = { 0 };

	(void)state;
	expect_mismatch("capacity", NULL, 0, -EBADMSG,
			"field \"capacity\" is missing; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says u32 (4 bytes)");
	expect_mismatch("stats", NULL, 0, -EBADMSG,
			"field \"stats\" is missing; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says nested schema 9a3b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d version 1");
	expect_mismatch("window", NULL, 0, -EBADMSG,
			"field \"stats.window\" is missing; schema 9a3b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d version 1 says nested schema c0ffee00");

	/* an extra value: the schema without "tiny" */
	build(fill_cache, &img);
	{
		struct baton_field less[SAMPLE_N(sample_cache_v2)];
		size_t i, n = 0;

		for (i = 0; i < SAMPLE_N(sample_cache_v2); i++)
			if (strcmp(sample_cache_v2[i].name, "tiny") != 0)
				less[n++] = sample_cache_v2[i];
		assert_int_equal(baton_image_check_fields(&img, first_fields(&img), less, n, sample_lookup,
							  NULL, &d), -EBADMSG);
		assert_diag(&d, -EBADMSG,
			    "object \"cache/main\": field \"tiny\" is not in schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2");
		/* an extra nested node: the schema without "stats" */
		n = 0;
		for (i = 0; i < SAMPLE_N(sample_cache_v2); i++)
			if (strcmp(sample_cache_v2[i].name, "stats") != 0)
				less[n++] = sample_cache_v2[i];
		assert_int_equal(baton_image_check_fields(&img, first_fields(&img), less, n, sample_lookup,
							  NULL, &d), -EBADMSG);
		assert_diag(&d, -EBADMSG, "nested field \"stats\" is not in schema 1b4e28ba");
	}
}

static void fill_value_for_nested(struct baton_image_writer *wr)
{
	baton_image_field(wr, "inner", "\0\0\0\1", 4);
}

static void fill_nested_for_value(struct baton_image_writer *wr)
{
	baton_image_begin_nested(wr, "count");
	baton_image_end_nested(wr);
}

static void fill_dup(struct baton_image_writer *wr)
{
	baton_image_field(wr, "count", "\0\0\0\1", 4);
	baton_image_field(wr, "count", "\0\0\0\2", 4);
}

static void fill_dup_nested(struct baton_image_writer *wr)
{
	baton_image_begin_nested(wr, "inner");
	baton_image_field(wr, "count", "\0\0\0\1", 4);
	baton_image_field(wr, "span-ns", "\0\0\0\0\0\0\0\1", 8);
	baton_image_end_nested(wr);
	baton_image_begin_nested(wr, "inner");
	baton_image_end_nested(wr);
}

static void test_check_form(void **state)
{
	static const struct baton_field nest[] = {
		{ .name = "inner", .type = BATON_T_SCHEMA, .contract = SAMPLE_WINDOW, .version = 1 },
	};
	static const struct baton_field count[] = { { .name = "count", .type = BATON_T_U32 } };
	struct baton_image img;
	struct baton_diag d = { 0 };

	(void)state;
	build(fill_value_for_nested, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), nest, 1, sample_lookup, NULL, &d),
			 -EBADMSG);
	assert_diag(&d, -EBADMSG, "field \"inner\" is a value; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says nested schema c0ffee00-1234-4abc-9def-001122334455 version 1 (a node)");

	build(fill_nested_for_value, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), count, 1, NULL, NULL, &d), -EBADMSG);
	assert_diag(&d, -EBADMSG, "field \"count\" is a nested node; schema 1b4e28ba-2fa1-4d2e-883f-0016d3cca427 version 2 says u32 (4 bytes)");

	/* The writer cannot see a name twice (it has no memory); the check does. */
	build(fill_dup, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), count, 1, NULL, NULL, &d), -EBADMSG);
	assert_diag(&d, -EBADMSG, "object \"cache/main\": field \"count\" appears twice");
	build(fill_dup_nested, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), nest, 1, sample_lookup, NULL, &d),
			 -EBADMSG);
	assert_diag(&d, -EBADMSG, "field \"inner\" appears twice");
}

static void test_check_nested(void **state)
{
	static const char zeros[8];
	struct baton_image img;
	struct baton_diag d = { 0 };
	int node;

	(void)state;
	expect_mismatch("count", "\0\0", 2, -EBADMSG,
			"object \"cache/main\": field \"stats.window.count\" is 2 bytes; schema c0ffee00-1234-4abc-9def-001122334455 version 1 says u32 (4 bytes)");
	expect_mismatch("hits", zeros, 7, -EBADMSG,
			"field \"stats.hits\" is 7 bytes; schema 9a3b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d version 1 says u64");

	/* no lookup, or a lookup that does not know the nested schema */
	build(fill_cache, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), sample_cache_v2,
						  SAMPLE_N(sample_cache_v2), NULL, NULL, &d), -ENOENT);
	assert_diag(&d, -ENOENT, "field \"stats\" nests schema 9a3b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d version 1, and no lookup was given");
	{
		struct baton_field other[SAMPLE_N(sample_cache_v2)];

		memcpy(other, sample_cache_v2, sizeof(other));
		other[SAMPLE_N(other) - 1].version = 9;
		assert_int_equal(baton_image_check_fields(&img, first_fields(&img), other, SAMPLE_N(other),
							  sample_lookup, NULL, &d), -ENOENT);
		assert_diag(&d, -ENOENT, "field \"stats\" nests schema 9a3b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d version 9, which has no schema here");
	}

	/* checking a nested node on its own: no object to name */
	node = baton_image_get_nested(&img, first_fields(&img), "stats");
	assert_true(node > 0);
	assert_int_equal(baton_image_check_fields(&img, node, sample_stats_v1, SAMPLE_N(sample_stats_v1),
						  sample_lookup, NULL, &d), 0);
	assert_int_equal(baton_image_check_fields(&img, node, sample_window_v1, SAMPLE_N(sample_window_v1),
						  sample_lookup, NULL, &d), -EBADMSG);
	assert_diag(&d, -EBADMSG, "field \"hits\" is not in the schema");
	assert_true(strncmp(d.msg, "field", 5) == 0);
}

/* A schema that nests itself runs into the depth limit, not into a loop. */
static int self_lookup(void *ctx, const baton_uuid *c, uint32_t version,
		       const struct baton_field **fields, size_t *n)
{
	static const struct baton_field self[] = {
		{ .name = "next", .type = BATON_T_SCHEMA, .contract = SAMPLE_WINDOW, .version = 1 },
	};

	(void)ctx;
	(void)c;
	(void)version;
	*fields = self;
	*n = 1;
	return 0;
}

static void fill_deep(struct baton_image_writer *wr)
{
	int i;

	for (i = 0; i < BATON_MAX_NESTING; i++)
		baton_image_begin_nested(wr, "next");
	for (i = 0; i < BATON_MAX_NESTING; i++)
		baton_image_end_nested(wr);
}

static void test_check_depth(void **state)
{
	const struct baton_field *self;
	struct baton_image img;
	struct baton_diag d = { 0 };
	size_t n;

	(void)state;
	self_lookup(NULL, NULL, 0, &self, &n);
	build(fill_deep, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), self, n, self_lookup, NULL, &d),
			 -ELOOP);
	assert_diag(&d, -ELOOP, "field \"next.next.next.next.next.next.next.next.next\" nests schema c0ffee00-1234-4abc-9def-001122334455 version 1 deeper than 8 levels");
}

static void test_check_bad_arguments(void **state)
{
	static const struct baton_field bad_array[] = {
		{ .name = "a", .type = BATON_T_ARRAY, .elem = BATON_T_STRING, .size = 4 },
	};
	static const struct baton_field bad_type[] = { { .name = "a", .type = 99 } };
	struct baton_image img;
	struct baton_diag d = { 0 };

	(void)state;
	build(fill_cache, &img);
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), bad_array, 1, NULL, NULL, &d),
			 -EINVAL);
	assert_diag(&d, -EINVAL, "field \"a\" is an array of string");
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), bad_type, 1, NULL, NULL, &d),
			 -EINVAL);
	assert_diag(&d, -EINVAL, "unknown type 99");
	assert_int_equal(baton_image_check_fields(NULL, 0, NULL, 0, NULL, NULL, &d), -EINVAL);
	assert_diag(&d, -EINVAL, "no image");
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), NULL, 3, NULL, NULL, &d), -EINVAL);
	assert_int_equal(baton_image_check_fields(&img, -1, NULL, 0, NULL, NULL, &d), -EINVAL);
	assert_diag(&d, -EINVAL, "-1 is not a node");
	assert_int_equal(baton_image_check_fields(&img, 3, NULL, 0, NULL, NULL, &d), -EINVAL);
	assert_diag(&d, -EINVAL, "3 is not a node");
	/* a diag is optional */
	assert_int_equal(baton_image_check_fields(&img, first_fields(&img), bad_type, 1, NULL, NULL, NULL),
			 -EINVAL);
}

static void test_accessor_arguments(void **state)
{
	struct baton_image img, none;
	struct baton_image_object o = { .node = -1 };
	struct baton_image_fd fd;
	struct baton_image_region r;
	const void *v;
	size_t n;

	(void)state;
	memset(&none, 0, sizeof(none));
	build(fill_cache, &img);
	assert_int_equal(baton_image_next_object(NULL, &o), -EINVAL);
	assert_int_equal(baton_image_next_object(&none, &o), -EINVAL);
	assert_int_equal(baton_image_next_object(&img, NULL), -EINVAL);
	assert_int_equal(baton_image_get_fd(&img, 0, NULL), -EINVAL);
	assert_int_equal(baton_image_get_fd(&none, 0, &fd), -EINVAL);
	assert_int_equal(baton_image_get_region(&img, 0, NULL), -EINVAL);
	assert_int_equal(baton_image_get_region(&img, UINT32_MAX, &r), -ERANGE);
	assert_int_equal(baton_image_get_field(&img, first_fields(&img), NULL, &v, &n), -EINVAL);
	assert_int_equal(baton_image_get_field(&img, -5, "nitems", &v, &n), -EINVAL);
	assert_int_equal(baton_image_get_nested(&img, -5, "stats"), -EINVAL);
	assert_int_equal(baton_image_get_nested(NULL, 0, "stats"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_fixed),
		cmocka_unit_test(test_encode_scalar),
		cmocka_unit_test(test_encode_not_scalar),
		cmocka_unit_test(test_fd_kind_name),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_checksum_rule),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_empty_image),
		cmocka_unit_test(test_tables_optional),
		cmocka_unit_test(test_misuse_init),
		cmocka_unit_test(test_misuse_uninitialised),
		cmocka_unit_test(test_misuse_tables),
		cmocka_unit_test(test_misuse_objects),
		cmocka_unit_test(test_misuse_refs),
		cmocka_unit_test(test_misuse_fields),
		cmocka_unit_test(test_misuse_finish),
		cmocka_unit_test(test_every_short_buffer),
		cmocka_unit_test(test_limit_objects),
		cmocka_unit_test(test_limit_fds),
		cmocka_unit_test(test_limit_size),
		cmocka_unit_test(test_check_ok),
		cmocka_unit_test(test_check_scalar_length),
		cmocka_unit_test(test_check_bool),
		cmocka_unit_test(test_check_bytes),
		cmocka_unit_test(test_check_string),
		cmocka_unit_test(test_check_array),
		cmocka_unit_test(test_check_fd_region),
		cmocka_unit_test(test_check_fd_index),
		cmocka_unit_test(test_check_missing_extra),
		cmocka_unit_test(test_check_form),
		cmocka_unit_test(test_check_nested),
		cmocka_unit_test(test_check_depth),
		cmocka_unit_test(test_check_bad_arguments),
		cmocka_unit_test(test_accessor_arguments),
	};

	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
