/* SPDX-License-Identifier: MIT */
/*
 * DOC: libFuzzer target for the image reader
 *
 * Opens the input as an image (from an 8-byte aligned copy, as a sealed
 * memfd would be mapped), walks every fd, region, object and field, and
 * checks every object's fields against the sample schemas of
 * tests/unit/image/sample.h (an unknown contract against the cache schema).
 * Whatever the reader accepts must also be writable: the target writes the
 * image again from what it read and requires that the copy opens and says
 * the same. Seeds: tests/fuzz/seeds/image/ (image_seeds writes them).
 *
 * A mutation almost never comes with a matching checksum, so each input is
 * opened twice: as it is (the checksum check itself), and resealed with the
 * checksum computed here by the rule of docs/image-format.md, so that the
 * mutations reach every check behind it.
 *
 *   CC=clang meson setup build-fuzz-img -Dfuzzing=true
 *   ninja -C build-fuzz-img tests/fuzz/fuzz_image
 *   build-fuzz-img/tests/fuzz/fuzz_image -max_len=8192 CORPUS tests/fuzz/seeds/image
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <libfdt.h>

#include "../unit/image/sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Reads every field of a fields node and writes it again, depth first. */
static void copy_fields(const struct baton_image *img, int node, struct baton_image_writer *w, int depth)
{
	const void *fdt = img->fdt;
	int prop, sub;

	CHECK(depth <= BATON_MAX_NESTING);
	fdt_for_each_property_offset(prop, fdt, node) {
		const char *name;
		const void *v, *again;
		size_t len;
		int plen;

		v = fdt_getprop_by_offset(fdt, prop, &name, &plen);
		CHECK(v && plen >= 0);
		CHECK(baton_name_valid(name, strlen(name)));
		CHECK(baton_image_get_field(img, node, name, &again, &len) == 0);
		if (len == 8)
			(void)baton_decode_scalar(BATON_T_I64, again);
		CHECK(baton_image_field(w, name, v, (size_t)plen) == 0);
	}
	fdt_for_each_subnode(sub, fdt, node) {
		const char *name = fdt_get_name(fdt, sub, NULL);

		CHECK(name && baton_name_valid(name, strlen(name)));
		CHECK(baton_image_get_nested(img, node, name) >= 0);
		CHECK(baton_image_begin_nested(w, name) == 0);
		copy_fields(img, sub, w, depth + 1);
		CHECK(baton_image_end_nested(w) == 0);
	}
}

static void rewrite(const struct baton_image *img, size_t size)
{
	size_t cap = 2 * size + 65536, len = 0;
	uint64_t *out = malloc(cap);
	struct baton_image_writer w;
	struct baton_image_object o = { .node = -1 };
	struct baton_image again;
	struct baton_diag d;
	uint32_t i;

	CHECK(out);
	CHECK(baton_image_writer_init(&w, out, cap, &img->h) == 0);
	for (i = 0; i < img->nfds; i++) {
		struct baton_image_fd fd;

		CHECK(baton_image_get_fd(img, i, &fd) == 0);
		CHECK(baton_image_add_fd(&w, &fd) == (int)i);
	}
	for (i = 0; i < img->nregions; i++) {
		struct baton_image_region r;

		CHECK(baton_image_get_region(img, i, &r) == 0);
		CHECK(baton_image_add_region(&w, &r) == (int)i);
	}
	while (baton_image_next_object(img, &o) == 1) {
		uint32_t refs[64];
		uint32_t n = o.nrefs < 64 ? o.nrefs : 64;

		for (i = 0; i < n; i++)
			refs[i] = baton_decode_u32(o.refs + 4 * i);
		CHECK(baton_image_begin_object(&w, o.key, &o.contract, o.version, o.handler,
					       &o.fingerprint, o.flags) == 0);
		CHECK(baton_image_object_refs(&w, refs, n) == 0);
		copy_fields(img, o.fields_node, &w, 0);
		CHECK(baton_image_end_object(&w) == 0);
	}
	if (baton_image_finish(&w, &len) != 0) {
		fprintf(stderr, "rewrite: %s\n", w.diag.msg);
		abort();
	}
	if (baton_image_open(&again, out, len, &d) != 0) {
		fprintf(stderr, "rewritten image does not open: %s\n", d.msg);
		abort();
	}
	CHECK(memcmp(&again.h, &img->h, sizeof(again.h)) == 0);
	CHECK(again.nobjects == img->nobjects);
	CHECK(again.nfds == img->nfds);
	CHECK(again.nregions == img->nregions);
	free(out);
}

static void walk(const struct baton_image *img, size_t size)
{
	struct baton_image_object o = { .node = -1 };
	struct baton_image_fd fd;
	struct baton_image_region r;
	uint32_t i, nobjects = 0;
	int rc;

	for (i = 0; i < img->nfds; i++) {
		CHECK(baton_image_get_fd(img, i, &fd) == 0);
		CHECK(baton_fd_kind_name(fd.kind) != NULL);
		CHECK(strlen(fd.name) < BATON_NAME_MAX);
	}
	CHECK(baton_image_get_fd(img, img->nfds, &fd) == -ERANGE);
	for (i = 0; i < img->nregions; i++) {
		CHECK(baton_image_get_region(img, i, &r) == 0);
		CHECK(r.fd < img->nfds);
	}
	CHECK(baton_image_get_region(img, img->nregions, &r) == -ERANGE);

	while ((rc = baton_image_next_object(img, &o)) == 1) {
		const struct baton_field *fields = sample_cache_v2;
		size_t nfields = SAMPLE_N(sample_cache_v2);
		struct baton_diag d;
		int c;

		CHECK(o.index == nobjects++);
		CHECK(o.key && strlen(o.key) > 0 && strlen(o.key) < BATON_KEY_MAX);
		CHECK(o.handler && baton_name_valid(o.handler, strlen(o.handler)));
		CHECK(o.version > 0 && !baton_uuid_is_nil(&o.contract));
		CHECK((o.flags & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_) == 0);
		CHECK(o.fields_node > 0);
		for (i = 0; i < o.nrefs; i++)
			CHECK(baton_decode_u32(o.refs + 4 * i) < img->nfds);
		sample_lookup(NULL, &o.contract, o.version, &fields, &nfields);
		c = baton_image_check_fields(img, o.fields_node, fields, nfields, sample_lookup, NULL, &d);
		CHECK(c == 0 || c == -EBADMSG || c == -ENOENT || c == -ELOOP);
		CHECK(c == 0 || (d.code == c && d.msg[0]));
	}
	CHECK(rc == 0);
	CHECK(nobjects == img->nobjects);
	rewrite(img, size);
}

/* Writes the checksum a writer would, if the header leaves room for it. */
static bool reseal(uint8_t *p, size_t size)
{
	XXH128_canonical_t canon;
	size_t pos;

	if (size < 40 || fdt_off_dt_struct(p) < 40 || fdt_off_dt_struct(p) > size ||
	    size - fdt_off_dt_struct(p) < 36)
		return false;
	pos = fdt_off_dt_struct(p) + 20;
	memset(p + pos, 0, 16);
	XXH128_canonicalFromHash(&canon, XXH3_128bits(p, size));
	memcpy(p + pos, canon.digest, 16);
	return true;
}

static void one(const uint64_t *buf, size_t size)
{
	struct baton_image img;
	struct baton_diag d;
	int rc = baton_image_open(&img, buf, size, &d);

	if (rc == 0)
		walk(&img, size);
	else
		CHECK((rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -E2BIG) && d.code == rc &&
		      d.msg[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t *buf = malloc(size ? size : 1);   /* malloc aligns to at least 8 */

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	one(buf, size);
	if (reseal((uint8_t *)buf, size))
		one(buf, size);
	free(buf);
	return 0;
}
