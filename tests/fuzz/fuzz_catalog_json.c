/* SPDX-License-Identifier: MIT */
/*
 * DOC: libFuzzer target for JSON catalogs
 *
 * Reads the input as a JSON catalog. When it is accepted, its canonical JSON
 * must be accepted too and reproduce itself (JSON -> records -> JSON ->
 * records -> JSON, the last two texts equal), the records must say the same
 * as the records read back, and the text form for people prints. A refusal
 * must come with words. Seeds: tests/fuzz/seeds/catalog_json/.
 *
 *   CC=clang meson setup build-fuzz-cat -Dfuzzing=true -Db_lundef=false
 *   ninja -C build-fuzz-cat tests/fuzz/fuzz_catalog_json
 *   build-fuzz-cat/tests/fuzz/fuzz_catalog_json CORPUS tests/fuzz/seeds/catalog_json
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <baton/catalog_io.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                     \
		}                                                                    \
	} while (0)

static char *to_json(const struct baton_catalog *cat)
{
	struct baton_diag d;
	char *json;

	if (baton_catalog_to_json(cat, &json, &d) != 0) {
		fprintf(stderr, "an accepted catalog cannot be written: %s\n", d.msg);
		abort();
	}
	return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct baton_catalog_file *f, *back;
	struct baton_diag d;
	char *first, *second;
	int rc;

	if (!sink)
		sink = fopen("/dev/null", "w");
	baton_diag_clear(&d);
	rc = baton_catalog_from_json((const char *)data, size, &f, &d);
	if (rc < 0) {
		CHECK(f == NULL && d.code == rc && d.msg[0]);
		return 0;
	}
	first = to_json(&f->cat);
	if (baton_catalog_from_json(first, strlen(first), &back, &d) != 0) {
		fprintf(stderr, "canonical JSON of an accepted catalog refused: %s\n%s", d.msg, first);
		abort();
	}
	second = to_json(&back->cat);
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "canonical JSON does not reproduce itself:\n%s\n---\n%s", first, second);
		abort();
	}
	CHECK(back->cat.nschemas == f->cat.nschemas);
	CHECK(back->cat.nhandlers == f->cat.nhandlers);
	CHECK(back->len == f->len);
	CHECK(memcmp(back->records, f->records, f->len) == 0);
	CHECK(baton_catalog_print(&f->cat, sink) == 0);
	free(first);
	free(second);
	baton_catalog_file_free(back);
	baton_catalog_file_free(f);
	return 0;
}
