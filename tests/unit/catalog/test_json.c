/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — the JSON form of catalogs, and the form for people
 *
 * The test program declares the kvd catalog of kvd_catalog.h, so the round
 * trip starts from records the macros really emit: records, JSON, records,
 * JSON again, byte for byte. Then the canonical layout is pinned down to the
 * byte, and every way a JSON catalog can be wrong is tried and must be
 * refused with the JSON path of the mistake in the message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <baton/catalog_io.h>

#include "kvd_catalog.h"

#define CONN_L "a1b2c3d4-e5f6-4789-8abc-def012345678"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static struct baton_catalog_file *from_text(const char *text, struct baton_diag *d)
{
	struct baton_catalog_file *f = (void *)1;
	int rc;

	baton_diag_clear(d);
	rc = baton_catalog_from_json(text, strlen(text), &f, d);
	if (rc < 0) {
		assert_null(f);
		assert_int_equal(d->code, rc);
		return NULL;
	}
	assert_non_null(f);
	return f;
}

static char *to_json(const struct baton_catalog *cat)
{
	struct baton_diag d;
	char *json = NULL;

	if (baton_catalog_to_json(cat, &json, &d) != 0)
		fail_msg("to_json: %s", d.msg);
	return json;
}

/* The canonical JSON of a JSON text, which must be accepted. */
static char *canonical(const char *text)
{
	struct baton_diag d;
	struct baton_catalog_file *f = from_text(text, &d);
	char *json;

	if (!f)
		fail_msg("refused: %s", d.msg);
	json = to_json(&f->cat);
	baton_catalog_file_free(f);
	return json;
}

/* A copy of text with the one occurrence of from replaced by to. */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out;

	if (!at)
		fail_msg("\"%s\" not in the text", from);
	if (strstr(at + 1, from))
		fail_msg("\"%s\" is in the text twice", from);
	out = malloc(n);
	assert_non_null(out);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	return out;
}

static void self_catalog(struct baton_catalog_file **f)
{
	struct baton_diag d;

	if (baton_catalog_load_self(BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, f, &d) != 0)
		fail_msg("load_self: %s", d.msg);
}

/* ------------------------------------------------------------------------ */
/* Round trips and the canonical layout                                     */

static void round_trip_from_records(void **state)
{
	struct baton_catalog_file *self, *back;
	const struct baton_rec_schema *s, *t;
	struct baton_diag d;
	char *first, *second;

	self_catalog(&self);
	first = to_json(&self->cat);
	back = from_text(first, &d);
	if (!back)
		fail_msg("%s", d.msg);
	second = to_json(&back->cat);
	assert_string_equal(first, second);

	/* the records read back describe the same catalog */
	assert_int_equal(back->cat.nschemas, self->cat.nschemas);
	assert_int_equal(back->cat.nhandlers, self->cat.nhandlers);
	assert_true(baton_build_id_equal(&back->cat.build_id, &self->cat.build_id));
	assert_string_equal(back->origin, "json");
	for (s = baton_catalog_next_schema(&self->cat, NULL),
	     t = baton_catalog_next_schema(&back->cat, NULL);
	     s && t;
	     s = baton_catalog_next_schema(&self->cat, s), t = baton_catalog_next_schema(&back->cat, t)) {
		baton_fingerprint a, b;

		assert_int_equal(baton_catalog_fingerprint(&self->cat, s, &a, NULL), 0);
		assert_int_equal(baton_catalog_fingerprint(&back->cat, t, &b, NULL), 0);
		assert_true(baton_fingerprint_equal(&a, &b));
		assert_memory_equal(baton_schema_fields(s), baton_schema_fields(t),
				    s->hdr.count * sizeof(struct baton_field));
	}
	/* the upper-case UUID of the records is written in lower case */
	assert_null(strstr(first, "A1B2C3D4"));
	assert_non_null(strstr(first, CONN_L));
	assert_non_null(strstr(first, "\"optional\": true"));
	assert_non_null(strstr(first, "\"writes\": null"));
	assert_int_equal(first[strlen(first) - 1], '\n');
	free(first);
	free(second);
	baton_catalog_file_free(back);
	baton_catalog_file_free(self);
}

static void canonical_minimal(void **state)
{
	char *json = canonical("{\"format\":\"baton-catalog-1\",\"program\":\"p\",\"release\":\"0.0.1\","
			       "\"policy\":[],\"handlers\":[],\"schemas\":[]}");

	assert_string_equal(json,
			    "{\n"
			    "  \"format\": \"baton-catalog-1\",\n"
			    "  \"program\": \"p\",\n"
			    "  \"release\": \"0.0.1\",\n"
			    "  \"build_id\": null,\n"
			    "  \"policy\": [],\n"
			    "  \"handlers\": [],\n"
			    "  \"schemas\": []\n"
			    "}\n");
	free(json);
}

static void canonical_layout(void **state)
{
	static const char input[] =
		"{\"schemas\":[{\"fields\":[{\"type\":\"u64\",\"name\":\"n\"}],\"version\":1,\"name\":\"c\","
		"\"contract\":\"AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA\"},"
		"{\"name\":\"e\",\"contract\":\"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb\",\"version\":4,\"fields\":[]}],\n"
		"\t\"handlers\":[{\"reads\":[],\"name\":\"w\",\"writes\":{\"version\":1,"
		"\"contract\":\"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"},\"optional\":true},\r\n"
		"{\"name\":\"r\",\"writes\":null,\"optional\":false,\"reads\":[{\"versions\":[3,1],"
		"\"contract\":\"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"},{\"contract\":\"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb\",\"versions\":[4]}]}],"
		"\"policy\":[\"from 1.0\",\"same-build\"],\"build_id\":\"ABCDEF\",\"release\":\"1.1.0\","
		"\"program\":\"p\",\"format\":\"baton-catalog-1\"}  \n";
	const struct baton_field n = { .name = "n", .type = BATON_T_U64 };
	char fp_n[BATON_FINGERPRINT_HEXLEN + 1], fp_e[BATON_FINGERPRINT_HEXLEN + 1], want[2048];
	baton_fingerprint fp;
	char *json, *again;

	assert_int_equal(baton_schema_fingerprint(&n, 1, NULL, NULL, &fp, NULL), 0);
	baton_fingerprint_format(&fp, fp_n);
	assert_int_equal(baton_schema_fingerprint(NULL, 0, NULL, NULL, &fp, NULL), 0);
	baton_fingerprint_format(&fp, fp_e);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"format\": \"baton-catalog-1\",\n"
		 "  \"program\": \"p\",\n"
		 "  \"release\": \"1.1.0\",\n"
		 "  \"build_id\": \"abcdef\",\n"
		 "  \"policy\": [\"from 1.0\", \"same-build\"],\n"
		 "  \"handlers\": [\n"
		 "    {\n"
		 "      \"name\": \"w\",\n"
		 "      \"writes\": {\"contract\": \"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\", \"version\": 1},\n"
		 "      \"optional\": true,\n"
		 "      \"reads\": []\n"
		 "    },\n"
		 "    {\n"
		 "      \"name\": \"r\",\n"
		 "      \"writes\": null,\n"
		 "      \"reads\": [\n"
		 "        {\"contract\": \"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\", \"versions\": [3, 1]},\n"
		 "        {\"contract\": \"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb\", \"versions\": [4]}\n"
		 "      ]\n"
		 "    }\n"
		 "  ],\n"
		 "  \"schemas\": [\n"
		 "    {\n"
		 "      \"contract\": \"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\",\n"
		 "      \"name\": \"c\",\n"
		 "      \"version\": 1,\n"
		 "      \"fingerprint\": \"%s\",\n"
		 "      \"fields\": [\n"
		 "        {\"name\": \"n\", \"type\": \"u64\"}\n"
		 "      ]\n"
		 "    },\n"
		 "    {\n"
		 "      \"contract\": \"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb\",\n"
		 "      \"name\": \"e\",\n"
		 "      \"version\": 4,\n"
		 "      \"fingerprint\": \"%s\",\n"
		 "      \"fields\": []\n"
		 "    }\n"
		 "  ]\n"
		 "}\n", fp_n, fp_e);
	json = canonical(input);
	assert_string_equal(json, want);
	/* canonical text is a fixed point */
	again = canonical(json);
	assert_string_equal(again, json);
	free(again);
	free(json);
}

static void accepted_variants(void **state)
{
	static const char base[] =
		"{\"format\": \"baton-catalog-1\", \"program\": \"p\", \"release\": \"2.0.0\", "
		"\"build_id\": \"00ff\", \"policy\": [\"next-minor\"], \"handlers\": [{\"name\": \"h\", "
		"\"writes\": {\"contract\": \"" KVD_CACHE "\", \"version\": 1}, \"reads\": []}], "
		"\"schemas\": [{\"contract\": \"" KVD_CACHE "\", \"name\": \"c\", \"version\": 1, "
		"\"fields\": [{\"name\": \"n\", \"type\": \"u64\"}]}]}";
	struct baton_catalog_file *f;
	struct baton_diag d;
	char *ref = canonical(base), *t, *json;

	/* build_id null or absent: unknown */
	t = replaced(base, "\"build_id\": \"00ff\", ", "");
	f = from_text(t, &d);
	assert_non_null(f);
	assert_int_equal(f->cat.build_id.len, 0);
	baton_catalog_file_free(f);
	free(t);
	t = replaced(base, "\"00ff\"", "null");
	json = canonical(t);
	assert_non_null(strstr(json, "\"build_id\": null,"));
	free(json);
	free(t);
	/* "optional": false is the default and is not written */
	t = replaced(base, "\"reads\": []", "\"optional\": false, \"reads\": []");
	json = canonical(t);
	assert_string_equal(json, ref);
	free(json);
	free(t);
	/* the fingerprint that the fields give may be written */
	{
		const char *at = strstr(ref, "\"fingerprint\": \"") + 16;
		char with[128];

		snprintf(with, sizeof(with), "\"version\": 1, \"fingerprint\": \"%.32s\", \"fields\"", at);
		t = replaced(base, "\"version\": 1, \"fields\"", with);
		json = canonical(t);
		assert_string_equal(json, ref);
		free(json);
		free(t);
	}
	free(ref);
}

/* ------------------------------------------------------------------------ */
/* Refusals, each naming its JSON path                                      */

static const char base_text[] =
	"{\"format\": \"baton-catalog-1\", \"program\": \"kvd\", \"release\": \"1.1.0\", "
	"\"build_id\": \"00ff\", \"policy\": [\"patch\", \"next-minor\"],\n"
	"\"handlers\": [\n"
	"{\"name\": \"kvd.cache\", \"writes\": {\"contract\": \"" KVD_CACHE "\", \"version\": 2}, "
	"\"reads\": [{\"contract\": \"" KVD_CACHE "\", \"versions\": [1, 2]}]},\n"
	"{\"name\": \"kvd.conn\", \"writes\": {\"contract\": \"" CONN_L "\", \"version\": 1}, "
	"\"optional\": true, \"reads\": [{\"contract\": \"" CONN_L "\", \"versions\": [1, 2, 3]}]}],\n"
	"\"schemas\": [\n"
	"{\"contract\": \"" KVD_CACHE "\", \"name\": \"kvd.cache\", \"version\": 1, "
	"\"fields\": [{\"name\": \"nitems\", \"type\": \"u64\"}]},\n"
	"{\"contract\": \"" KVD_CACHE "\", \"name\": \"kvd.cache\", \"version\": 2, "
	"\"fields\": [{\"name\": \"nitems\", \"type\": \"u64\"}, {\"name\": \"key\", \"type\": \"string\", \"max\": 250}, "
	"{\"name\": \"digest\", \"type\": \"bytes\", \"size\": 16}, "
	"{\"name\": \"shards\", \"type\": \"array\", \"of\": \"u32\", \"max\": 64}, "
	"{\"name\": \"last\", \"type\": \"schema\", \"contract\": \"" KVD_ENTRY "\", \"version\": 1}]},\n"
	"{\"contract\": \"" KVD_ENTRY "\", \"name\": \"kvd.entry\", \"version\": 1, "
	"\"fields\": [{\"name\": \"flags\", \"type\": \"u32\"}]}]}\n";

static const struct {
	const char *from, *to, *words;
} refusals[] = {
	/* the top */
	{ "baton-catalog-1", "baton-catalog-2", "format: \"baton-catalog-2\" is not baton-catalog-1" },
	{ "\"format\": \"baton-catalog-1\", ", "", "missing key \"format\"" },
	{ "\"program\": \"kvd\"", "\"program\": 5", "program: expected a string, found an integer" },
	{ "\"program\": \"kvd\"", "\"program\": \"k v d\"", "program: \"k v d\" is not a name" },
	{ "\"program\": \"kvd\", ", "", "missing key \"program\"" },
	{ "\"release\": \"1.1.0\"", "\"release\": \"1.1\"", "release: release \"1.1\" is not MAJOR.MINOR.PATCH" },
	{ "\"release\": \"1.1.0\"", "\"release\": \"01.1.0\"", "release: release \"01.1.0\"" },
	{ "\"release\": \"1.1.0\"", "\"release\": [1, 1, 0]", "release: expected a string, found an array" },
	{ "\"00ff\"", "\"0ff\"", "build_id: build id \"0ff\" is not an even number" },
	{ "\"00ff\"", "\"00fg\"", "build_id: build id \"00fg\" is not hexadecimal" },
	{ "\"00ff\"", "\"\"", "build_id: empty; write null" },
	{ "\"00ff\"", "12", "build_id: expected a string of hex digits or null (unknown), found an integer" },
	{ "\"build_id\"", "\"build-id\"", "build-id: unknown key; a catalog has format, program" },
	{ "\"format\": ", "\"extra\": 1, \"format\": ", "extra: unknown key" },
	/* the policy */
	{ "[\"patch\", \"next-minor\"]", "[\"any\"]", "policy[0]: policy rule \"any\" would accept releases without naming them" },
	{ "[\"patch\", \"next-minor\"]", "[\"patch\", \"*\"]", "policy[1]: policy rule \"*\" would accept" },
	{ "[\"patch\", \"next-minor\"]", "[\"all\"]", "policy[0]: policy rule \"all\" would accept" },
	{ "[\"patch\", \"next-minor\"]", "[\"from 1.*\"]", "policy[0]: policy rule \"from 1.*\" would accept" },
	{ "[\"patch\", \"next-minor\"]", "[\"from 1.x\"]", "policy[0]: policy rule \"from 1.x\" would accept" },
	{ "[\"patch\", \"next-minor\"]", "[\"from 1.2.3.4\"]", "policy[0]: policy rule \"from 1.2.3.4\": after \"from\"" },
	{ "[\"patch\", \"next-minor\"]", "[\"patch\", 3]", "policy[1]: expected a policy rule (a string), found an integer" },
	{ "[\"patch\", \"next-minor\"]", "\"patch\"", "policy: expected an array, found a string" },
	{ "[\"patch\", \"next-minor\"]",
	  "[\"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\", "
	  "\"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\", \"patch\"]",
	  "policy: 17 policy rules; at most 16" },
	/* handlers */
	{ "[1, 2, 3]", "[1, 2, 0]", "handlers[1].reads[0].versions[2]: expected a positive integer, found 0" },
	{ "[1, 2, 3]", "[1, 2, -3]", "handlers[1].reads[0].versions[2]: expected a positive integer, found -3" },
	{ "[1, 2, 3]", "[1, 2, 2.5]", "handlers[1].reads[0].versions[2]: expected a positive integer, found a fractional number" },
	{ "[1, 2, 3]", "[1, 2, \"3\"]", "handlers[1].reads[0].versions[2]: expected a positive integer, found a string" },
	{ "[1, 2, 3]", "[1, 2, null]", "handlers[1].reads[0].versions[2]: expected a positive integer, found null" },
	{ "[1, 2, 3]", "[1, 2, 4294967296]", "handlers[1].reads[0].versions[2]: expected a positive integer up to 4294967295" },
	{ "[1, 2, 3]", "[1, 2, 99999999999999999999]", "versions[2]: expected a positive integer up to 4294967295" },
	{ "[1, 2, 3]", "[1, 2, 1]", "handlers[1].reads[0].versions[2]: version 1 is listed twice" },
	{ "[1, 2, 3]", "[]", "handlers[1].reads[0].versions: 0 versions; a handler reads 1 to 16" },
	{ "[1, 2, 3]", "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", "handlers[1].reads[0].versions: 17 versions" },
	{ "[1, 2, 3]}", "[1, 2, 3], \"extra\": 1}", "handlers[1].reads[0].extra: unknown key; a read entry has contract and versions" },
	{ "[1, 2, 3]}", "[1, 2, 3]}, {\"contract\": \"A1B2C3D4-E5F6-4789-8ABC-DEF012345678\", \"versions\": [4]}",
	  "handlers[1].reads[1].contract: " CONN_L " already has an entry (handlers[1].reads[0])" },
	{ "[1, 2, 3]}", "[1, 2, 3]}, 7", "handlers[1].reads[1]: expected an object (a read entry), found an integer" },
	{ "\"writes\": {\"contract\": \"" KVD_CACHE "\"", "\"wirtes\": {\"contract\": \"" KVD_CACHE "\"",
	  "handlers[0].wirtes: unknown key; a handler has name, writes, optional, reads" },
	{ "\"writes\": {\"contract\": \"" KVD_CACHE "\"", "\"writes\": {\"contract\": \"not-a-uuid\"",
	  "handlers[0].writes.contract: \"not-a-uuid\" is not a UUID" },
	{ "\"writes\": {\"contract\": \"" KVD_CACHE "\"",
	  "\"writes\": {\"contract\": \"00000000-0000-0000-0000-000000000000\"",
	  "handlers[0].writes.contract: the nil UUID names no contract" },
	{ "\"version\": 2}, \"reads\"", "\"version\": 0}, \"reads\"", "handlers[0].writes.version: expected a positive integer, found 0" },
	{ "\"version\": 2}, \"reads\"", "\"v\": 2}, \"reads\"", "handlers[0].writes.v: unknown key; writes has contract and version" },
	{ "\"writes\": {\"contract\": \"" KVD_CACHE "\", \"version\": 2}", "\"writes\": 7",
	  "handlers[0].writes: expected an object {\"contract\", \"version\"} or null (writes nothing), found an integer" },
	{ "\"writes\": {\"contract\": \"" KVD_CACHE "\", \"version\": 2}, ", "", "handlers[0]: missing key \"writes\"" },
	{ "\"writes\": {\"contract\": \"" KVD_CACHE "\", \"version\": 2}, ", "\"writes\": null, \"optional\": true, ",
	  "handlers[0].optional: handler kvd.cache writes nothing, so it has no objects to mark optional" },
	{ "\"optional\": true", "\"optional\": \"yes\"", "handlers[1].optional: expected true or false, found a string" },
	{ "\"name\": \"kvd.conn\"", "\"name\": \"kvd.cache\"", "handlers[1].name: handler kvd.cache is declared twice (also handlers[0])" },
	{ "\"name\": \"kvd.conn\"", "\"name\": \"\"", "handlers[1].name: \"\" is not a name" },
	{ "\"name\": \"kvd.conn\"", "\"name\": \"kvd/conn\"", "handlers[1].name: \"kvd/conn\" is not a name" },
	{ ", \"reads\": [{\"contract\": \"" KVD_CACHE "\", \"versions\": [1, 2]}]", "", "handlers[0]: missing key \"reads\"" },
	{ "\"handlers\": [\n", "\"handlers\": {\"x\": [\n", "ends before" },
	/* schemas and fields */
	{ "\"version\": 1, \"fields\": [{\"name\": \"nitems\"", "\"version\": 1, \"fingerprint\": \"abc\", \"fields\": [{\"name\": \"nitems\"",
	  "schemas[0].fingerprint: \"abc\" is not a fingerprint (32 hex digits)" },
	{ "\"version\": 1, \"fields\": [{\"name\": \"nitems\"",
	  "\"version\": 1, \"fingerprint\": \"00000000000000000000000000000000\", \"fields\": [{\"name\": \"nitems\"",
	  "schemas[0].fingerprint: 00000000000000000000000000000000 does not match the fields of kvd.cache version 1, which give " },
	{ "\"version\": 1, \"fields\": [{\"name\": \"nitems\"", "\"version\": 1, \"fingerprint\": 7, \"fields\": [{\"name\": \"nitems\"",
	  "schemas[0].fingerprint: expected a string of 32 hex digits, found an integer" },
	{ "\"type\": \"u32\"", "\"type\": \"u128\"", "schemas[2].fields[0].type: unknown type \"u128\"" },
	{ "\"type\": \"u32\"", "\"type\": \"u32\", \"size\": 4", "schemas[2].fields[0].size: a field of type u32 takes no \"size\"" },
	{ "\"type\": \"u32\"", "\"type\": \"u32\", \"colour\": 4", "schemas[2].fields[0].colour: unknown key; a field has name, type" },
	{ "\"type\": \"u32\"}", "\"type\": \"u32\"}, {\"name\": \"flags\", \"type\": \"u8\"}",
	  "schemas[2].fields[1]: field \"flags\" appears twice in the schema (also schemas[2].fields[0])" },
	{ "\"name\": \"flags\", ", "", "schemas[2].fields[0]: missing key \"name\"" },
	{ "\"name\": \"flags\"", "\"name\": \".flags\"", "schemas[2].fields[0].name: \".flags\" is not a name" },
	{ "\"max\": 250", "\"size\": 250", "schemas[1].fields[1].size: a field of type string takes no \"size\"" },
	{ "\"max\": 250", "\"max\": 2000000", "schemas[1].fields[1]: field \"key\" (string) has size 2000000; it must be 1 to 1048576" },
	{ "\"max\": 250", "\"max\": 0", "schemas[1].fields[1].max: expected a positive integer, found 0" },
	{ ", \"size\": 16", "", "schemas[1].fields[2]: missing key \"size\"" },
	{ "\"of\": \"u32\"", "\"of\": \"string\"", "schemas[1].fields[3].of: arrays hold integers or bools (u8 ... i64, bool), not \"string\"" },
	{ "\"of\": \"u32\", ", "", "schemas[1].fields[3]: missing key \"of\"" },
	{ "\"of\": \"u32\", \"max\": 64", "\"of\": \"u32\", \"max\": 64, \"size\": 64", "schemas[1].fields[3].size: a field of type array takes no \"size\"" },
	{ "\"" KVD_ENTRY "\", \"version\": 1}]", "\"" KVD_ENTRY "\"}]", "schemas[1].fields[4]: missing key \"version\"" },
	{ "\"" KVD_ENTRY "\", \"version\": 1}]", "\"" KVD_ENTRY "\", \"version\": 7}]",
	  "schema kvd.cache version 2: field \"last\" nests " KVD_ENTRY " version 7, which has no schema here" },
	{ "\"type\": \"schema\", \"contract\": \"" KVD_ENTRY "\"", "\"type\": \"schema\", \"contract\": \"kvd.entry\"",
	  "schemas[1].fields[4].contract: \"kvd.entry\" is not a UUID" },
	{ "\"name\": \"kvd.cache\", \"version\": 1", "\"name\": \"kvd.cache\", \"version\": 2",
	  "schemas[1]: kvd.cache version 2 (" KVD_CACHE ") is declared twice (also schemas[0])" },
	{ "\"name\": \"kvd.cache\", \"version\": 1", "\"name\": \"kvd.cache\", \"version\": \"1\"",
	  "schemas[0].version: expected a positive integer, found a string" },
	{ "\"name\": \"kvd.entry\", \"version\": 1, \"fields\": [{\"name\": \"flags\", \"type\": \"u32\"}]",
	  "\"name\": \"kvd.entry\", \"version\": 1",
	  "schemas[2]: missing key \"fields\"" },
	{ "\"name\": \"kvd.entry\", ", "\"name\": \"kvd.entry\", \"fieldz\": [], ",
	  "schemas[2].fieldz: unknown key; a schema has contract, name, version, fingerprint, fields" },
	/* the text itself */
	{ "\"program\": \"kvd\"", "\"program\": \"kvd\", \"program\": \"kvd2\"", "program: this key appears twice in one object" },
	{ "\"name\": \"kvd.conn\"", "\"name\": \"kvd.conn\", \"name\": \"kvd.x\"", "handlers[1].name: this key appears twice" },
	{ "\"program\"", "\"pro\\u0067ram\"", "pro\\u0067ram: escape sequences in a key" },
	{ "\"release\": \"1.1.0\", ", "\"release\": \"1.1.0\",, ", "not valid JSON" },
	{ "\"kvd\"", "\"kvd\xff\"", "not valid JSON: invalid utf-8 string" },
	{ "\"kvd\"", "'kvd'", "not valid JSON" },
	{ "\"kvd\"", "\"kvd\" /* c */", "not valid JSON" },
	{ "[1, 2, 3]", "[1, 2, 3,]", "not valid JSON" },
	{ "[1, 2, 3]", "[[[[[[[[[[[[1]]]]]]]]]]]]", "nesting too deep" },
	{ "}]}\n", "}]}\n{}", "line 9, column 1: text after the end of the catalog object" },
	{ "}]}\n", "}]}\n,", "text after the end" },
	{ "}]}\n", "}]", "line 8, column 135: the JSON text ends before the catalog object does" },
};

static void refusals_name_the_path(void **state)
{
	struct baton_diag d;
	size_t i;

	/* the base is a good catalog */
	baton_catalog_file_free(from_text(base_text, &d));
	assert_int_equal(d.code, 0);

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		char *t = replaced(base_text, refusals[i].from, refusals[i].to);
		struct baton_catalog_file *f = from_text(t, &d);

		if (f)
			fail_msg("case %zu (%s) accepted", i, refusals[i].words);
		if (!strstr(d.msg, refusals[i].words))
			fail_msg("case %zu: wanted \"%s\"\n  got \"%s\"", i, refusals[i].words, d.msg);
		assert_true(d.code < 0);
		free(t);
	}
}

static void fingerprint_mismatch_says_both(void **state)
{
	const struct baton_field flags = { .name = "flags", .type = BATON_T_U32 };
	char good[BATON_FINGERPRINT_HEXLEN + 1], with[256], was;
	baton_fingerprint fp;
	struct baton_catalog_file *f;
	struct baton_diag d;
	char *t;

	assert_int_equal(baton_schema_fingerprint(&flags, 1, NULL, NULL, &fp, NULL), 0);
	baton_fingerprint_format(&fp, good);
	snprintf(with, sizeof(with),
		 "\"name\": \"kvd.entry\", \"version\": 1, \"fingerprint\": \"%s\"", good);
	t = replaced(base_text, "\"name\": \"kvd.entry\", \"version\": 1", with);
	f = from_text(t, &d);
	if (!f)
		fail_msg("%s", d.msg);
	baton_catalog_file_free(f);
	free(t);

	/* one digit off */
	was = good[5];
	good[5] = was == '0' ? '1' : '0';
	snprintf(with, sizeof(with),
		 "\"name\": \"kvd.entry\", \"version\": 1, \"fingerprint\": \"%s\"", good);
	t = replaced(base_text, "\"name\": \"kvd.entry\", \"version\": 1", with);
	assert_null(from_text(t, &d));
	assert_non_null(strstr(d.msg, "schemas[2].fingerprint"));
	assert_non_null(strstr(d.msg, good));
	good[5] = was;
	assert_non_null(strstr(d.msg, good));
	assert_non_null(strstr(d.msg, "without a version bump"));
	free(t);
}

static void refusals_of_the_text(void **state)
{
	static const char nul_text[] = "{\"format\": \0}";
	struct baton_catalog_file *f;
	struct baton_diag d;

	assert_null(from_text("", &d));
	assert_non_null(strstr(d.msg, "empty"));
	assert_null(from_text(" \n\t ", &d));
	assert_non_null(strstr(d.msg, "empty"));
	assert_null(from_text("[]", &d));
	assert_non_null(strstr(d.msg, "a JSON catalog is one object; this text holds an array"));
	assert_null(from_text("\"catalog\"", &d));
	assert_null(from_text("{", &d));
	assert_non_null(strstr(d.msg, "ends before"));
	assert_null(from_text("{}", &d));
	assert_non_null(strstr(d.msg, "missing key \"format\""));
#define MINIMAL(h, s) "{\"format\":\"baton-catalog-1\",\"program\":\"p\",\"release\":\"1.0.0\"," \
		      "\"policy\":[],\"handlers\":" h ",\"schemas\":" s "}"
	assert_null(from_text(MINIMAL("1", "[]"), &d));
	assert_non_null(strstr(d.msg, "handlers: expected an array, found an integer"));
	assert_null(from_text(MINIMAL("[5]", "[]"), &d));
	assert_non_null(strstr(d.msg, "handlers[0]: expected an object (a handler), found an integer"));
	assert_null(from_text(MINIMAL("[]", "{}"), &d));
	assert_non_null(strstr(d.msg, "schemas: expected an array, found an object"));
	assert_null(from_text(MINIMAL("[]", "[[]]"), &d));
	assert_non_null(strstr(d.msg, "schemas[0]: expected an object (a schema), found an array"));
	assert_null(from_text(MINIMAL("[]", "[{\"contract\":\"" KVD_CACHE "\",\"name\":\"c\",\"version\":1,\"fields\":[true]}]"), &d));
	assert_non_null(strstr(d.msg, "schemas[0].fields[0]: expected an object (a field), found a boolean"));
	baton_catalog_file_free(from_text(MINIMAL("[]", "[]"), &d));
	assert_int_equal(d.code, 0);

	assert_int_equal(baton_catalog_from_json(nul_text, sizeof(nul_text) - 1, &f, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "byte 11 is NUL"));
	assert_null(f);
	/* the length counts, not a NUL */
	assert_int_equal(baton_catalog_from_json(base_text, 40, &f, &d), -EINVAL);
	assert_int_equal(baton_catalog_from_json(base_text, strlen(base_text), &f, &d), 0);
	baton_catalog_file_free(f);
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */

static char *big_catalog(size_t nhandlers, size_t nfields)
{
	size_t size = 4096 + nhandlers * 128 + nfields * 64, pos, i;
	char *t = malloc(size);

	assert_non_null(t);
	pos = (size_t)snprintf(t, size,
			       "{\"format\": \"baton-catalog-1\", \"program\": \"big\", \"release\": \"1.0.0\", "
			       "\"policy\": [], \"handlers\": [");
	for (i = 0; i < nhandlers; i++)
		pos += (size_t)snprintf(t + pos, size - pos, "%s{\"name\": \"h%zu\", \"writes\": null, \"reads\": []}",
					i ? ", " : "", i);
	pos += (size_t)snprintf(t + pos, size - pos, "], \"schemas\": [{\"contract\": \"" KVD_CACHE
				"\", \"name\": \"c\", \"version\": 1, \"fields\": [");
	for (i = 0; i < nfields; i++)
		pos += (size_t)snprintf(t + pos, size - pos, "%s{\"name\": \"f%zu\", \"type\": \"u8\"}",
					i ? ", " : "", i);
	snprintf(t + pos, size - pos, "]}]}");
	return t;
}

static void limits(void **state)
{
	struct baton_catalog_file *f;
	struct baton_diag d;
	size_t big = (4u << 20) + 1;
	char *t;

	/* the largest catalog: 4094 handlers + 1 schema + the program */
	t = big_catalog(4094, 1024);
	f = from_text(t, &d);
	if (!f)
		fail_msg("%s", d.msg);
	assert_int_equal(f->cat.nhandlers, 4094);
	baton_catalog_file_free(f);
	free(t);
	t = big_catalog(4095, 1);
	assert_null(from_text(t, &d));
	assert_non_null(strstr(d.msg, "make more than 4096 records"));
	free(t);
	t = big_catalog(1, 1025);
	assert_null(from_text(t, &d));
	assert_non_null(strstr(d.msg, "schemas[0].fields: 1025 fields; a schema has at most 1024"));
	free(t);

	/* 257 read entries */
	{
		size_t size = 64 * 1024, pos, i;

		t = malloc(size);
		assert_non_null(t);
		pos = (size_t)snprintf(t, size, "{\"format\": \"baton-catalog-1\", \"program\": \"p\", "
				       "\"release\": \"1.0.0\", \"policy\": [], \"schemas\": [], "
				       "\"handlers\": [{\"name\": \"h\", \"writes\": null, \"reads\": [");
		for (i = 0; i < 257; i++)
			pos += (size_t)snprintf(t + pos, size - pos,
						"%s{\"contract\": \"%08zx-0000-4000-8000-000000000000\", \"versions\": [1]}",
						i ? ", " : "", i + 1);
		snprintf(t + pos, size - pos, "]}]}");
		assert_null(from_text(t, &d));
		assert_non_null(strstr(d.msg, "handlers[0].reads: 257 read entries; a handler has at most 256"));
		free(t);
	}

	/* JSON within its limit that makes more than 8 MiB of records */
	{
		size_t size = 4u << 20, pos, i, j;

		t = malloc(size);
		assert_non_null(t);
		pos = (size_t)snprintf(t, size, "{\"format\":\"baton-catalog-1\",\"program\":\"p\","
				       "\"release\":\"1.0.0\",\"policy\":[],\"handlers\":[],\"schemas\":[");
		for (i = 0; i < 72; i++) {
			pos += (size_t)snprintf(t + pos, size - pos,
						"%s{\"contract\":\"%08zx-0000-4000-8000-000000000000\",\"name\":\"c\","
						"\"version\":1,\"fields\":[", i ? "," : "", i + 1);
			for (j = 0; j < 1024; j++)
				pos += (size_t)snprintf(t + pos, size - pos, "%s{\"name\":\"f%zu\",\"type\":\"u8\"}",
							j ? "," : "", j);
			pos += (size_t)snprintf(t + pos, size - pos, "]}");
		}
		snprintf(t + pos, size - pos, "]}");
		assert_true(strlen(t) < (4u << 20));
		assert_null(from_text(t, &d));
		assert_int_equal(d.code, -E2BIG);
		assert_non_null(strstr(d.msg, "bytes of records, more than the limit"));
		free(t);
	}

	t = malloc(big);
	assert_non_null(t);
	memset(t, ' ', big);
	t[0] = '{';
	assert_int_equal(baton_catalog_from_json(t, big, &f, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "exceeds the limit"));
	free(t);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/baton-json-test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void json_files(void **state)
{
	struct baton_catalog_file *f;
	struct baton_diag d;
	const char *path;
	char *json, *bad;

	path = write_file("kvd.json", base_text, strlen(base_text));
	assert_int_equal(baton_catalog_load_json(path, &f, &d), 0);
	assert_string_equal(f->origin, path);
	json = to_json(&f->cat);
	baton_catalog_file_free(f);
	/* load picks JSON by the opening brace */
	assert_int_equal(baton_catalog_load(path, &f, &d), 0);
	baton_catalog_file_free(f);

	/* errors start with the file's path */
	bad = replaced(base_text, "[1, 2, 3]", "[1, 2, 0]");
	path = write_file("bad.json", bad, strlen(bad));
	assert_int_equal(baton_catalog_load(path, &f, &d), -EINVAL);
	assert_null(f);
	assert_true(strncmp(d.msg, path, strlen(path)) == 0);
	assert_non_null(strstr(d.msg, ": handlers[1].reads[0].versions[2]: expected a positive integer"));
	free(bad);

	path = write_file("text", "hello\n", 6);
	assert_int_equal(baton_catalog_load(path, &f, &d), -ENOEXEC);
	assert_non_null(strstr(d.msg, "neither a program (no ELF magic) nor a JSON catalog"));
	assert_int_equal(baton_catalog_load_json(path, &f, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "not valid JSON"));
	path = write_file("empty", "", 0);
	assert_int_equal(baton_catalog_load(path, &f, &d), -ENOEXEC);
	assert_non_null(strstr(d.msg, "is empty"));
	assert_int_equal(baton_catalog_load(tmpdir, &f, &d), -EISDIR);
	assert_non_null(strstr(d.msg, "is a directory"));
	assert_int_equal(baton_catalog_load_json(tmpdir, &f, &d), -EISDIR);
	/* a file too large for a catalog (sparse) */
	path = write_file("huge.json", "{", 1);
	assert_int_equal(truncate(path, (5 << 20)), 0);
	assert_int_equal(baton_catalog_load(path, &f, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "exceeds the limit"));
	/* a long path is shortened in front, so the words after it survive */
	{
		char name[241];

		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		bad = replaced(base_text, "[1, 2, 3]", "[1, 2, 0]");
		path = write_file(name, bad, strlen(bad));
		assert_int_equal(baton_catalog_load_json(path, &f, &d), -EINVAL);
		assert_true(strncmp(d.msg, "...", 3) == 0);
		assert_non_null(strstr(d.msg, "nnn: handlers[1].reads[0].versions[2]: expected a positive integer"));
		free(bad);
	}
	assert_int_equal(baton_catalog_load("/nonexistent/kvd.json", &f, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "/nonexistent/kvd.json: cannot open"));
	assert_int_equal(baton_catalog_load_json("/nonexistent/kvd.json", &f, &d), -ENOENT);

	/* the canonical text written to a file reads back the same */
	path = write_file("canonical.json", json, strlen(json));
	assert_int_equal(baton_catalog_load(path, &f, &d), 0);
	{
		char *again = to_json(&f->cat);

		assert_string_equal(again, json);
		free(again);
	}
	baton_catalog_file_free(f);
	free(json);
}

/* ------------------------------------------------------------------------ */
/* The form for people                                                      */

static char *printed(const struct baton_catalog *cat)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(baton_catalog_print(cat, out), 0);
	fclose(out);
	return buf;
}

static void print_for_people(void **state)
{
	static const char orphans[] =
		"{\"format\": \"baton-catalog-1\", \"program\": \"p\", \"release\": \"3.0.0\", \"policy\": [], "
		"\"handlers\": [{\"name\": \"a\", \"writes\": {\"contract\": \"" KVD_ENTRY "\", \"version\": 1}, \"reads\": []}, "
		"{\"name\": \"b\", \"writes\": null, \"reads\": [{\"contract\": \"" KVD_ENTRY "\", \"versions\": [1, 2]}]}], "
		"\"schemas\": [{\"contract\": \"" KVD_CACHE "\", \"name\": \"lonely\", \"version\": 1, \"fields\": []}]}";
	struct baton_catalog_file *f;
	struct baton_diag d;
	char bid[2 * BATON_BUILD_ID_MAX + 1], line[128];
	char *out;

	self_catalog(&f);
	out = printed(&f->cat);
	assert_non_null(strstr(out, "program   kvd 1.1.0\n"));
	baton_build_id_format(&f->cat.build_id, bid, sizeof(bid));
	snprintf(line, sizeof(line), "build id  %s\n", bid);
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "policy    patch, next-minor, from 1.0, from 0.9.3, same-build\n"));
	assert_non_null(strstr(out, "contract kvd.cache  " KVD_CACHE "\n"));
	assert_non_null(strstr(out, "contract kvd.conn  " CONN_L "\n"));
	assert_non_null(strstr(out, "  version 2  fingerprint "));
	assert_non_null(strstr(out, "    shards  array of u32 (at most 64)\n"));
	assert_non_null(strstr(out, "    last    schema kvd.entry version 1 (" KVD_ENTRY ")\n"));
	assert_non_null(strstr(out, "    key     string (at most 250 bytes)\n"));
	assert_non_null(strstr(out, "    digest  bytes (16)\n"));
	assert_non_null(strstr(out, "  written by kvd.conn (version 1, optional)\n"));
	assert_non_null(strstr(out, "  read by    kvd.cache (versions 1, 2)\n"));
	assert_non_null(strstr(out, "  kvd.adopt  writes nothing; reads kvd.entry 1\n"));
	assert_non_null(strstr(out, "  kvd.cache  writes kvd.cache version 2; reads kvd.cache 1, 2\n"));
	/* each contract once */
	assert_null(strstr(strstr(out, "contract kvd.cache") + 1, "contract kvd.cache"));
	free(out);
	baton_catalog_file_free(f);

	f = from_text(orphans, &d);
	assert_non_null(f);
	out = printed(&f->cat);
	assert_non_null(strstr(out, "build id  unknown\n"));
	assert_non_null(strstr(out, "policy    none"));
	assert_non_null(strstr(out, "contract " KVD_ENTRY "  (no schema in this catalog)\n"
				    "  written by a (version 1)\n"
				    "  read by    b (versions 1, 2)\n"));
	assert_null(strstr(strstr(out, "no schema in this catalog") + 1, "no schema in this catalog"));
	assert_non_null(strstr(out, "  b  writes nothing; reads " KVD_ENTRY " 1, 2\n"));
	assert_non_null(strstr(out, "contract lonely  " KVD_CACHE "\n"
				    "  version 1  fingerprint f5b8d2d459a1e047c78d2ed0a4c77da8  (no fields)\n"
				    "  no handler writes or reads it\n"));
	free(out);
	baton_catalog_file_free(f);

	f = from_text("{\"format\":\"baton-catalog-1\",\"program\":\"p\",\"release\":\"0.0.1\","
		      "\"policy\":[\"same-build\"],\"handlers\":[],\"schemas\":[]}", &d);
	assert_non_null(f);
	out = printed(&f->cat);
	assert_string_equal(out, "program   p 0.0.1\nbuild id  unknown\npolicy    same-build\n\nhandlers\n  none\n");
	free(out);
	baton_catalog_file_free(f);
}

static void unopened_catalogs(void **state)
{
	struct baton_catalog cat;
	struct baton_diag d;
	char *json = (char *)1;

	memset(&cat, 0, sizeof(cat));
	assert_int_equal(baton_catalog_to_json(&cat, &json, &d), -EINVAL);
	assert_null(json);
	assert_int_equal(baton_catalog_print(&cat, stdout), -EINVAL);
	assert_int_equal(baton_catalog_load_self(NULL, 0, (struct baton_catalog_file **)&json, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "declares no baton catalog"));
	baton_catalog_file_free(NULL);
}

/* The example in docs/catalog-format.md is accepted and canonical, byte for byte. */
static const char *doc_path;

static void documented_example_is_canonical(void **state)
{
	struct baton_catalog_file *f;
	struct baton_diag d;
	char *doc, *start, *end, *json;
	size_t len;
	FILE *in;

	if (!doc_path)
		skip();
	in = fopen(doc_path, "rb");
	assert_non_null(in);
	doc = malloc(1 << 20);
	assert_non_null(doc);
	len = fread(doc, 1, (1 << 20) - 1, in);
	fclose(in);
	doc[len] = '\0';
	start = strstr(doc, "```json\n");
	assert_non_null(start);
	start += 8;
	end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	if (baton_catalog_from_json(start, strlen(start), &f, &d) != 0)
		fail_msg("the documented example is refused: %s", d.msg);
	json = to_json(&f->cat);
	assert_string_equal(json, start);
	free(json);
	baton_catalog_file_free(f);
	free(doc);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_from_records),
		cmocka_unit_test(canonical_minimal),
		cmocka_unit_test(canonical_layout),
		cmocka_unit_test(accepted_variants),
		cmocka_unit_test(refusals_name_the_path),
		cmocka_unit_test(fingerprint_mismatch_says_both),
		cmocka_unit_test(refusals_of_the_text),
		cmocka_unit_test(limits),
		cmocka_unit_test_setup_teardown(json_files, make_tmpdir, remove_tmpdir),
		cmocka_unit_test(print_for_people),
		cmocka_unit_test(unopened_catalogs),
		cmocka_unit_test(documented_example_is_canonical),
	};

	/* optional argument: docs/catalog-format.md */
	doc_path = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
