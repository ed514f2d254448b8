/* SPDX-License-Identifier: MIT */
/*
 * DOC: libFuzzer target for catalog records
 *
 * Opens the input as catalog records (from an exactly sized, 8-byte aligned
 * copy, as the catalog layer hands them to the core) and, when the core
 * accepts them, walks everything the view offers: the policy (each rule
 * formatted, parsed back and decided against releases around the program's
 * own), every schema (fields checked again, fingerprint, lookups) and every
 * handler (reads, lookups). Whatever the core accepts must also survive the
 * JSON form: records -> JSON -> records -> JSON gives the same text twice,
 * and the text form for people prints. A refusal must come with words.
 * Seeds: tests/fuzz/seeds/catalog_records/ (the records of real programs).
 *
 *   CC=clang meson setup build-fuzz-cat -Dfuzzing=true -Db_lundef=false
 *   ninja -C build-fuzz-cat tests/fuzz/fuzz_catalog_records
 *   build-fuzz-cat/tests/fuzz/fuzz_catalog_records CORPUS tests/fuzz/seeds/catalog_records
 */
#include <errno.h>
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

static void walk_policy(const struct baton_catalog *cat)
{
	struct baton_policy p = baton_catalog_policy(cat);
	const struct baton_release *r = &cat->program->release;
	struct baton_release writers[4] = {
		{ r->major, r->minor, r->patch ? r->patch - 1 : 0 },
		{ r->major, r->minor ? r->minor - 1 : 0, 7 },
		{ r->major ? r->major - 1 : 0, 3, 1 },
		*r,
	};
	struct baton_path_decision dec;
	size_t i;

	for (i = 0; i < p.nrules; i++) {
		struct baton_policy_rule back;
		char text[64];
		int n = baton_policy_rule_format(&p.rules[i], text, sizeof(text));

		CHECK(n > 0);
		CHECK(baton_policy_rule_parse(&back, text, (size_t)n, NULL) == 0);
		CHECK(back.kind == p.rules[i].kind);
	}
	for (i = 0; i < 4; i++) {
		enum baton_path_verdict v = baton_policy_decide(&p, r, &cat->build_id, &writers[i],
								&cat->build_id, &dec);

		CHECK(v == dec.verdict);
		CHECK(dec.reason[0]);
		CHECK((v == BATON_PATH_ACCEPT) == (dec.rule >= 0));
	}
}

static void walk(const struct baton_catalog *cat)
{
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	uint32_t i, n = 0;

	CHECK(cat->program);
	CHECK(baton_name_valid(cat->program->name, strlen(cat->program->name)));
	walk_policy(cat);
	baton_catalog_for_each_schema(cat, s) {
		const struct baton_field *f = baton_schema_fields(s);
		baton_uuid u = baton_rec_uuid(s->contract);
		baton_fingerprint fp;
		struct baton_diag d;

		CHECK(!baton_uuid_is_nil(&u));
		CHECK(baton_name_valid(s->name, strlen(s->name)));
		for (i = 0; i < s->hdr.count; i++)
			CHECK(baton_field_check(&f[i], NULL) == 0);
		if (baton_catalog_fingerprint(cat, s, &fp, &d) != 0) {
			fprintf(stderr, "an opened catalog cannot fingerprint %s: %s\n", s->name, d.msg);
			abort();
		}
		CHECK(baton_catalog_find_schema(cat, &u, s->version) == s);
		CHECK(baton_catalog_contract_name(cat, &u) != NULL);
		n++;
	}
	CHECK(n == cat->nschemas);
	n = 0;
	baton_catalog_for_each_handler(cat, h) {
		const struct baton_read *r = baton_handler_reads(h);

		CHECK(baton_catalog_find_handler(cat, h->name) == h);
		if (h->flags & BATON_HANDLER_WRITES) {
			baton_uuid u = baton_rec_uuid(h->writes.contract);

			CHECK(baton_catalog_find_writer(cat, &u) != NULL);
		}
		for (i = 0; i < h->hdr.count; i++) {
			baton_uuid u = baton_rec_uuid(r[i].contract);
			char buf[256];

			CHECK(r[i].nversions >= 1 && r[i].nversions <= BATON_MAX_VERSIONS);
			CHECK(baton_handler_reads_version(h, &u, r[i].versions[0]));
			CHECK(baton_handler_max_read(h, &u) >= r[i].versions[0]);
			CHECK(baton_catalog_find_reader(cat, &u, r[i].versions[0]) != NULL);
			CHECK(baton_handler_format_reads(h, &u, buf, sizeof(buf)) > 0);
		}
		n++;
	}
	CHECK(n == cat->nhandlers);
}

static void json_round_trip(const struct baton_catalog *cat)
{
	struct baton_catalog_file *back;
	struct baton_diag d;
	char *first, *second;

	if (baton_catalog_to_json(cat, &first, &d) != 0) {
		fprintf(stderr, "an opened catalog cannot be written as JSON: %s\n", d.msg);
		abort();
	}
	if (baton_catalog_from_json(first, strlen(first), &back, &d) != 0) {
		fprintf(stderr, "records accepted, their JSON refused: %s\n%s", d.msg, first);
		abort();
	}
	CHECK(back->cat.nschemas == cat->nschemas);
	CHECK(back->cat.nhandlers == cat->nhandlers);
	CHECK(baton_catalog_to_json(&back->cat, &second, &d) == 0);
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "JSON round trip differs:\n%s\n---\n%s", first, second);
		abort();
	}
	free(second);
	free(first);
	baton_catalog_file_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct baton_build_id id = { .len = 4, .b = { 1, 2, 3, 4 } };
	struct baton_catalog cat;
	struct baton_diag d;
	void *buf = NULL;
	int rc;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size > BATON_CATALOG_MAX_SIZE)
		return 0;
	CHECK(posix_memalign(&buf, 8, size ? size : 8) == 0);
	if (size)
		memcpy(buf, data, size);
	baton_diag_clear(&d);
	rc = baton_catalog_open(&cat, buf, size, &id, &d);
	if (rc == 0) {
		walk(&cat);
		json_round_trip(&cat);
		CHECK(baton_catalog_print(&cat, sink) == 0);
	} else {
		CHECK(rc < 0 && d.code == rc && d.msg[0]);
		CHECK(cat.program == NULL);
	}
	free(buf);
	return 0;
}
