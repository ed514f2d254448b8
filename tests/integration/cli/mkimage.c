/* SPDX-License-Identifier: MIT */
/*
 * DOC: CLI tests — write the image app 1.0.0 would hand over
 *
 * `mkimage OUT [--bad-fields]` declares app 1.0.0's catalog (the same
 * macros as tests/programs/app_1_0_0.c), takes each schema's fingerprint
 * from its own records exactly as the runtime does, and writes an image with
 * the core writer: a cache, a listener (with an fd) and optional stats, an fd
 * table and a region table. --bad-fields writes a cache name longer than its
 * schema allows, which only a reader with the catalog can notice.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <baton/check.h>

#include "app.h"

BATON_PROGRAM("app", 1, 0, 0, BATON_SAME_BUILD, BATON_PATCH);
BATON_SCHEMA(APP_CACHE, "app.cache", 1, APP_CACHE_V1);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_SCHEMA(APP_STATS, "app.stats", 1, APP_STATS_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 1), BATON_READS(APP_CACHE, 1));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));
BATON_HANDLER("app.stats", BATON_WRITES_OPTIONAL(APP_STATS, 1), BATON_READS(APP_STATS, 1));

static struct baton_catalog cat;
static uint64_t image[4096];

static int begin(struct baton_image_writer *w, const char *key, const char *contract,
		 const char *handler, uint32_t flags)
{
	const struct baton_rec_schema *s;
	baton_fingerprint fp;
	baton_uuid u = baton_rec_uuid(contract);

	s = baton_catalog_find_schema(&cat, &u, 1);
	if (!s || baton_catalog_fingerprint(&cat, s, &fp, NULL) < 0)
		return -ENOENT;
	return baton_image_begin_object(w, key, &u, 1, handler, &fp, flags);
}

static void u(struct baton_image_writer *w, const char *name, uint32_t type, uint64_t v)
{
	uint8_t enc[8];

	baton_image_field(w, name, enc, baton_encode_scalar(type, v, enc));
}

static void s(struct baton_image_writer *w, const char *name, const char *text)
{
	baton_image_field(w, name, text, strlen(text) + 1);
}

int main(int argc, char **argv)
{
	static const uint32_t listener_fds[] = { 0 };
	struct baton_image_header h = { .program = "app", .release = { 1, 0, 0 },
					.generation = 3, .frozen_at_ns = 123456789 };
	struct baton_image_fd sock = { .kind = BATON_FD_SOCKET, .name = "listener" };
	struct baton_image_fd mem = { .kind = BATON_FD_MEMFD, .name = "cache-data" };
	struct baton_image_region region = { .fd = 1, .size = 1 << 20, .name = "cache-data" };
	static const uint8_t build[] = { 0xb0, 0x7a, 0x10, 0x00, 0xde, 0xad, 0xbe, 0xef };
	bool bad = argc == 3 && strcmp(argv[2], "--bad-fields") == 0;
	struct baton_image_writer w;
	struct baton_diag d;
	size_t len;
	FILE *f;

	if (argc < 2 || (argc == 3 && !bad) || argc > 3) {
		fprintf(stderr, "usage: mkimage OUT [--bad-fields]\n");
		return 2;
	}
	if (baton_catalog_open(&cat, BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, NULL, &d) < 0) {
		fprintf(stderr, "mkimage: own catalog: %s\n", d.msg);
		return 1;
	}
	memcpy(h.build_id.b, build, sizeof(build));
	h.build_id.len = sizeof(build);

	baton_image_writer_init(&w, image, sizeof(image), &h);
	baton_image_add_fd(&w, &sock);
	baton_image_add_fd(&w, &mem);
	baton_image_add_region(&w, &region);

	begin(&w, "cache/main", APP_CACHE, "app.cache", 0);
	u(&w, "nitems", BATON_T_U64, 42);
	s(&w, "name", bad ? "a-name-much-longer-than-its-thirty-two-bytes" : "main");
	baton_image_end_object(&w);

	begin(&w, "listener/tcp:11211", APP_LISTENER, "app.listener", 0);
	baton_image_object_refs(&w, listener_fds, 1);
	u(&w, "sock", BATON_T_U32, 0);  /* an index into the fd table */
	u(&w, "port", BATON_T_U16, 11211);
	baton_image_end_object(&w);

	begin(&w, "stats", APP_STATS, "app.stats", BATON_OBJECT_OPTIONAL);
	u(&w, "hits", BATON_T_U64, 7);
	u(&w, "misses", BATON_T_U64, 3);
	baton_image_end_object(&w);

	if (baton_image_finish(&w, &len) < 0) {
		fprintf(stderr, "mkimage: %s\n", w.diag.msg);
		return 1;
	}
	f = fopen(argv[1], "wb");
	if (!f || fwrite(image, 1, len, f) != len || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
