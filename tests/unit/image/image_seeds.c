/* SPDX-License-Identifier: MIT */
/*
 * DOC: seed images for the image fuzzer, and a check that they are current
 *
 *   image_seeds DIR           writes the seed images into DIR
 *   image_seeds --check DIR   compares DIR with what the writer writes now
 *
 * The seeds in tests/fuzz/seeds/image/ are written by this program, so they
 * are real images of the current format; the unit suite runs --check so
 * that a change of the format cannot leave stale seeds behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

#define SEED_MAX (256 * 1024)

typedef int (*seed_fn)(void *buf, size_t size, size_t *len);

static int seed_sample(void *buf, size_t size, size_t *len)
{
	return sample_write(buf, size, len);
}

static int seed_empty(void *buf, size_t size, size_t *len)
{
	struct baton_image_writer w;
	struct baton_image_header h;

	memset(&h, 0, sizeof(h));
	strcpy(h.program, "p");
	baton_image_writer_init(&w, buf, size, &h);
	return baton_image_finish(&w, len);
}

/* Tables only, and every limit of a text at its largest. */
static int seed_edges(void *buf, size_t size, size_t *len)
{
	struct baton_image_writer w;
	struct baton_image_header h;
	struct baton_image_fd fd;
	struct baton_image_region r;
	baton_uuid c = sample_uuid(SAMPLE_CONN);
	baton_fingerprint fp;
	char key[BATON_KEY_MAX];
	uint32_t k;

	memset(&h, 0, sizeof(h));
	memset(h.program, 'p', BATON_NAME_MAX - 1);
	h.release = (struct baton_release){ UINT32_MAX, UINT32_MAX, UINT32_MAX };
	h.build_id.len = BATON_BUILD_ID_MAX;
	memset(h.build_id.b, 0xff, BATON_BUILD_ID_MAX);
	h.generation = UINT64_MAX;
	h.frozen_at_ns = UINT64_MAX;
	baton_image_writer_init(&w, buf, size, &h);
	for (k = 0; k <= BATON_FD_KIND_MAX_; k++) {
		fd.kind = k;
		memset(fd.name, '~', sizeof(fd.name));
		fd.name[BATON_NAME_MAX - 1] = '\0';
		baton_image_add_fd(&w, &fd);
	}
	r.fd = BATON_FD_KIND_MAX_;
	r.size = UINT64_MAX;
	strcpy(r.name, " ");
	baton_image_add_region(&w, &r);
	memset(key, '!', sizeof(key));
	key[BATON_KEY_MAX - 1] = '\0';
	memset(&fp, 0xff, sizeof(fp));
	baton_image_begin_object(&w, key, &c, UINT32_MAX, "h", &fp, BATON_OBJECT_FLAGS_ALL_);
	baton_image_end_object(&w);
	return baton_image_finish(&w, len);
}

/* One object nested as deep as the format allows. */
static int seed_deep(void *buf, size_t size, size_t *len)
{
	struct baton_image_writer w;
	struct baton_image_header h;
	int i;

	sample_header(&h);
	baton_image_writer_init(&w, buf, size, &h);
	sample_object(&w, "deep", SAMPLE_STATS, 1, "kvd.stats", 0);
	for (i = 0; i < BATON_MAX_NESTING; i++) {
		sample_scalar(&w, "hits", BATON_T_U64, (uint64_t)i);
		sample_scalar(&w, "misses", BATON_T_U64, 0);
		baton_image_begin_nested(&w, "window");
	}
	sample_scalar(&w, "count", BATON_T_U32, 1);
	for (i = 0; i < BATON_MAX_NESTING; i++)
		baton_image_end_nested(&w);
	baton_image_end_object(&w);
	return baton_image_finish(&w, len);
}

/* Many small objects with fds, as a server with connections writes. */
static int seed_many(void *buf, size_t size, size_t *len)
{
	static const struct baton_image_fd conn = { BATON_FD_SOCKET, "conn" };
	struct baton_image_writer w;
	struct baton_image_header h;
	uint32_t i;

	sample_header(&h);
	baton_image_writer_init(&w, buf, size, &h);
	for (i = 0; i < 32; i++)
		baton_image_add_fd(&w, &conn);
	for (i = 0; i < 32; i++) {
		char key[32];
		uint8_t b[4];

		snprintf(key, sizeof(key), "conn/%u", i);
		sample_object(&w, key, SAMPLE_CONN, 1, "kvd.conn", BATON_OBJECT_OPTIONAL);
		baton_image_object_refs(&w, &i, 1);
		baton_encode_u32(b, i);
		baton_image_field(&w, "sock", b, 4);
		sample_scalar(&w, "id", BATON_T_U64, i);
		baton_image_end_object(&w);
	}
	return baton_image_finish(&w, len);
}

static const struct {
	const char *name;
	seed_fn fn;
} seeds[] = {
	{ "sample.img", seed_sample },
	{ "empty.img", seed_empty },
	{ "edges.img", seed_edges },
	{ "deep.img", seed_deep },
	{ "many.img", seed_many },
};

int main(int argc, char **argv)
{
	static uint64_t buf[SEED_MAX / 8], file[SEED_MAX / 8];
	bool check = argc == 3 && strcmp(argv[1], "--check") == 0;
	const char *dir = argv[argc - 1];
	size_t i;
	int bad = 0;

	if (argc != 2 && !check) {
		fprintf(stderr, "usage: %s [--check] DIR\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct baton_image img;
		struct baton_diag d;
		char path[4096];
		size_t len = 0, got;
		FILE *f;
		int rc;

		rc = seeds[i].fn(buf, sizeof(buf), &len);
		if (rc == 0)
			rc = baton_image_open(&img, buf, len, &d);
		if (rc) {
			fprintf(stderr, "%s: %s\n", seeds[i].name, strerror(-rc));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
		f = fopen(path, check ? "rb" : "wb");
		if (!f) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		if (check) {
			got = fread(file, 1, sizeof(file), f);
			if (got != len || memcmp(file, buf, len) != 0) {
				fprintf(stderr, "%s is stale: run image_seeds %s\n", path, dir);
				bad = 1;
			}
		} else if (fwrite(buf, 1, len, f) != len) {
			fprintf(stderr, "%s: short write\n", path);
			bad = 1;
		}
		fclose(f);
	}
	return bad;
}
