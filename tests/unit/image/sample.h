/* SPDX-License-Identifier: MIT */
/*
 * DOC: a realistic image for the image codec's tests, seeds and fuzzer
 *
 * The schemas of a small cache service (a listener, a cache with a nested
 * statistics schema that nests once more, optional connections and a marker
 * without fields) and a writer that produces an image with every field
 * type, fds, a region and an optional object. Shared by tests/unit/image,
 * the seed generator and tests/fuzz/fuzz_image.c, so that the fuzzer starts
 * from what the tests prove correct.
 */
#ifndef BATON_TEST_IMAGE_SAMPLE_H
#define BATON_TEST_IMAGE_SAMPLE_H

#include <errno.h>
#include <string.h>

#include <baton/image.h>

#define SAMPLE_LISTENER "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
#define SAMPLE_CACHE "1b4e28ba-2fa1-4d2e-883f-0016d3cca427"
#define SAMPLE_STATS "9a3b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
#define SAMPLE_WINDOW "c0ffee00-1234-4abc-9def-001122334455"
#define SAMPLE_CONN "0d15ea5e-dead-4bee-8f00-112233445566"
#define SAMPLE_MARKER "5ca1ab1e-0000-4000-8000-000000000001"

static const struct baton_field sample_window_v1[] = {
	{ .name = "count", .type = BATON_T_U32 },
	{ .name = "span-ns", .type = BATON_T_U64 },
};

static const struct baton_field sample_stats_v1[] = {
	{ .name = "hits", .type = BATON_T_U64 },
	{ .name = "misses", .type = BATON_T_U64 },
	{ .name = "window", .type = BATON_T_SCHEMA, .contract = SAMPLE_WINDOW, .version = 1 },
};

static const struct baton_field sample_cache_v2[] = {
	{ .name = "nitems", .type = BATON_T_U64 },
	{ .name = "capacity", .type = BATON_T_U32 },
	{ .name = "mid", .type = BATON_T_U16 },
	{ .name = "tiny", .type = BATON_T_U8 },
	{ .name = "evictions", .type = BATON_T_I64 },
	{ .name = "medium", .type = BATON_T_I32 },
	{ .name = "small", .type = BATON_T_I16 },
	{ .name = "delta", .type = BATON_T_I8 },
	{ .name = "hot", .type = BATON_T_BOOL },
	{ .name = "tag", .type = BATON_T_BYTES, .size = 4 },
	{ .name = "name", .type = BATON_T_STRING, .size = 32 },
	{ .name = "shards", .type = BATON_T_ARRAY, .elem = BATON_T_U16, .size = 8 },
	{ .name = "enabled", .type = BATON_T_ARRAY, .elem = BATON_T_BOOL, .size = 4 },
	{ .name = "data", .type = BATON_T_REGION },
	{ .name = "stats", .type = BATON_T_SCHEMA, .contract = SAMPLE_STATS, .version = 1 },
};

static const struct baton_field sample_listener_v1[] = {
	{ .name = "sock", .type = BATON_T_FD },
	{ .name = "port", .type = BATON_T_U16 },
	{ .name = "backlog", .type = BATON_T_I32 },
	{ .name = "addr", .type = BATON_T_STRING, .size = 64 },
};

static const struct baton_field sample_conn_v1[] = {
	{ .name = "sock", .type = BATON_T_FD },
	{ .name = "id", .type = BATON_T_U64 },
};

struct sample_schema {
	const char *contract;
	const char *name;
	uint32_t version;
	const struct baton_field *fields;
	size_t nfields;
};

#define SAMPLE_N(a) (sizeof(a) / sizeof((a)[0]))

static const struct sample_schema sample_schemas[] = {
	{ SAMPLE_LISTENER, "kvd.listener", 1, sample_listener_v1, SAMPLE_N(sample_listener_v1) },
	{ SAMPLE_CACHE, "kvd.cache", 2, sample_cache_v2, SAMPLE_N(sample_cache_v2) },
	{ SAMPLE_STATS, "kvd.stats", 1, sample_stats_v1, SAMPLE_N(sample_stats_v1) },
	{ SAMPLE_WINDOW, "kvd.window", 1, sample_window_v1, SAMPLE_N(sample_window_v1) },
	{ SAMPLE_CONN, "kvd.conn", 1, sample_conn_v1, SAMPLE_N(sample_conn_v1) },
	{ SAMPLE_MARKER, "kvd.marker", 1, NULL, 0 },
};

static inline const struct sample_schema *sample_find(const baton_uuid *c, uint32_t version)
{
	size_t i;

	for (i = 0; i < SAMPLE_N(sample_schemas); i++) {
		baton_uuid u;

		baton_uuid_parse(&u, sample_schemas[i].contract, BATON_UUID_STRLEN);
		if (baton_uuid_cmp(&u, c) == 0 && sample_schemas[i].version == version)
			return &sample_schemas[i];
	}
	return NULL;
}

/* A baton_schema_fn over sample_schemas; ctx unused. */
static inline int sample_lookup(void *ctx, const baton_uuid *c, uint32_t version,
				const struct baton_field **fields, size_t *nfields)
{
	const struct sample_schema *s = sample_find(c, version);

	(void)ctx;
	if (!s)
		return -ENOENT;
	*fields = s->fields;
	*nfields = s->nfields;
	return 0;
}

static inline int sample_nested_fp(void *ctx, const baton_uuid *c, uint32_t version,
				   baton_fingerprint *out)
{
	const struct sample_schema *s = sample_find(c, version);

	if (!s)
		return -ENOENT;
	return baton_schema_fingerprint(s->fields, s->nfields, sample_nested_fp, ctx, out, NULL);
}

static inline baton_uuid sample_uuid(const char *text)
{
	baton_uuid u;

	memset(&u, 0, sizeof(u));
	baton_uuid_parse(&u, text, strlen(text));
	return u;
}

static inline baton_fingerprint sample_fingerprint(const char *contract, uint32_t version)
{
	baton_uuid u = sample_uuid(contract);
	baton_fingerprint fp;

	memset(&fp, 0, sizeof(fp));
	sample_nested_fp(NULL, &u, version, &fp);
	return fp;
}

static inline void sample_header(struct baton_image_header *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->program, "kvd");
	h->release.major = 1;
	h->release.minor = 2;
	h->release.patch = 3;
	h->build_id.len = 20;
	for (uint32_t i = 0; i < 20; i++)
		h->build_id.b[i] = (uint8_t)(0xa0 + i);
	h->generation = 7;
	h->frozen_at_ns = 123456789012345ull;
}

static inline int sample_scalar(struct baton_image_writer *w, const char *name, uint32_t type,
				uint64_t v)
{
	uint8_t b[8];
	size_t n = baton_encode_scalar(type, v, b);

	return baton_image_field(w, name, b, n);
}

static inline int sample_object(struct baton_image_writer *w, const char *key, const char *contract,
				uint32_t version, const char *handler, uint32_t flags)
{
	baton_uuid c = sample_uuid(contract);
	baton_fingerprint fp = sample_fingerprint(contract, version);

	return baton_image_begin_object(w, key, &c, version, handler, &fp, flags);
}

/*
 * Writes the sample image into buf. Returns 0 and the length, or the first
 * error. Every call's result is folded into the writer's sticky error, so
 * only the last one needs a look.
 */
static inline int sample_write(void *buf, size_t size, size_t *len)
{
	static const struct baton_image_fd fds[] = {
		{ BATON_FD_SOCKET, "listener" },
		{ BATON_FD_MEMFD, "cache data" },
		{ BATON_FD_SOCKET, "conn" },
	};
	static const struct baton_image_region region = { 1, 1u << 20, "cache data" };
	static const uint32_t listener_refs[] = { 0 }, cache_refs[] = { 1 }, conn_refs[] = { 2 };
	struct baton_image_writer w;
	struct baton_image_header h;
	uint8_t b[16];
	size_t i;

	sample_header(&h);
	baton_image_writer_init(&w, buf, size, &h);
	for (i = 0; i < SAMPLE_N(fds); i++)
		baton_image_add_fd(&w, &fds[i]);
	baton_image_add_region(&w, &region);

	sample_object(&w, "listener/tcp:11211", SAMPLE_LISTENER, 1, "kvd.listener", 0);
	baton_image_object_refs(&w, listener_refs, 1);
	baton_encode_u32(b, 0);
	baton_image_field(&w, "sock", b, 4);
	sample_scalar(&w, "port", BATON_T_U16, 11211);
	sample_scalar(&w, "backlog", BATON_T_I32, (uint64_t)-1);
	baton_image_field(&w, "addr", "0.0.0.0", 8);
	baton_image_end_object(&w);

	sample_object(&w, "cache/main", SAMPLE_CACHE, 2, "kvd.cache", 0);
	baton_image_object_refs(&w, cache_refs, 1);
	sample_scalar(&w, "nitems", BATON_T_U64, 0x0102030405060708ull);
	sample_scalar(&w, "capacity", BATON_T_U32, 1u << 20);
	sample_scalar(&w, "mid", BATON_T_U16, 0xbeef);
	sample_scalar(&w, "tiny", BATON_T_U8, 0xfe);
	sample_scalar(&w, "evictions", BATON_T_I64, (uint64_t)-1234567890123ll);
	sample_scalar(&w, "medium", BATON_T_I32, (uint64_t)-70000);
	sample_scalar(&w, "small", BATON_T_I16, (uint64_t)-300);
	sample_scalar(&w, "delta", BATON_T_I8, (uint64_t)-5);
	sample_scalar(&w, "hot", BATON_T_BOOL, 1);
	baton_image_field(&w, "tag", "\x00\xffok", 4);
	baton_image_field(&w, "name", "main cache", 11);
	for (i = 0; i < 3; i++)
		baton_encode_u16(b + 2 * i, (uint16_t)(100 + i));
	baton_image_field(&w, "shards", b, 6);
	baton_image_field(&w, "enabled", "\x01\x00\x01\x01", 4);
	baton_encode_u32(b, 0);
	baton_image_field(&w, "data", b, 4);
	baton_image_begin_nested(&w, "stats");
	sample_scalar(&w, "hits", BATON_T_U64, 1000);
	sample_scalar(&w, "misses", BATON_T_U64, 10);
	baton_image_begin_nested(&w, "window");
	sample_scalar(&w, "count", BATON_T_U32, 60);
	sample_scalar(&w, "span-ns", BATON_T_U64, 60000000000ull);
	baton_image_end_nested(&w);
	baton_image_end_nested(&w);
	baton_image_end_object(&w);

	sample_object(&w, "conn/7", SAMPLE_CONN, 1, "kvd.conn", BATON_OBJECT_OPTIONAL);
	baton_image_object_refs(&w, conn_refs, 1);
	baton_encode_u32(b, 2);
	baton_image_field(&w, "sock", b, 4);
	sample_scalar(&w, "id", BATON_T_U64, 7);
	baton_image_end_object(&w);

	sample_object(&w, "marker/ready", SAMPLE_MARKER, 1, "kvd.marker", 0);
	baton_image_end_object(&w);

	return baton_image_finish(&w, len);
}

#endif /* BATON_TEST_IMAGE_SAMPLE_H */
