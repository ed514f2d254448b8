/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — core schemas: field types, field checks, the canonical
 * form and fingerprints
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <baton/core.h>

#define ENTRY "0b7a6c1e-2d3f-4a5b-9c8d-7e6f5a4b3c2d"

static struct baton_field field(const char *name, uint32_t type)
{
	struct baton_field f;

	memset(&f, 0, sizeof(f));
	strcpy(f.name, name);
	f.type = type;
	return f;
}

static struct baton_field sized(const char *name, uint32_t type, uint32_t size)
{
	struct baton_field f = field(name, type);

	f.size = size;
	return f;
}

static struct baton_field array(const char *name, uint32_t elem, uint32_t max)
{
	struct baton_field f = sized(name, BATON_T_ARRAY, max);

	f.elem = elem;
	return f;
}

static struct baton_field nested(const char *name, const char *contract, uint32_t version)
{
	struct baton_field f = field(name, BATON_T_SCHEMA);

	strcpy(f.contract, contract);
	f.version = version;
	return f;
}

static void type_names(void **state)
{
	static const char *const names[] = {
		NULL, "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool",
		"bytes", "string", "array", "schema", "fd", "region",
	};
	static const size_t widths[] = { 0, 1, 2, 4, 8, 1, 2, 4, 8, 1, 0, 0, 0, 0, 0, 0 };
	uint32_t t;

	for (t = 1; t <= BATON_T_MAX_; t++) {
		assert_string_equal(baton_type_name(t), names[t]);
		assert_int_equal(baton_type_parse(names[t], strlen(names[t])), t);
		assert_int_equal(baton_type_width(t), widths[t]);
		assert_int_equal(baton_type_is_scalar(t), t <= BATON_T_BOOL);
	}
	assert_null(baton_type_name(0));
	assert_null(baton_type_name(BATON_T_MAX_ + 1));
	assert_int_equal(baton_type_parse("", 0), 0);
	assert_int_equal(baton_type_parse("u128", 4), 0);
	assert_int_equal(baton_type_parse("U8", 2), 0);
	assert_int_equal(baton_type_parse("u8 ", 3), 0);
	assert_int_equal(baton_type_parse("u", 1), 0);
	assert_false(baton_type_is_scalar(0));
	assert_int_equal(baton_type_width(0), 0);
}

static void field_check_accepts(void **state)
{
	struct baton_field good[] = {
		field("a", BATON_T_U8), field("b", BATON_T_U16), field("c", BATON_T_U32),
		field("d", BATON_T_U64), field("e", BATON_T_I8), field("f", BATON_T_I16),
		field("g", BATON_T_I32), field("h", BATON_T_I64), field("i", BATON_T_BOOL),
		field("fd", BATON_T_FD), field("data", BATON_T_REGION),
		sized("digest", BATON_T_BYTES, 1), sized("page", BATON_T_BYTES, 1u << 20),
		sized("key", BATON_T_STRING, 250), sized("k1", BATON_T_STRING, 1),
		array("shards", BATON_T_U32, 64), array("bits", BATON_T_BOOL, 1u << 20),
		array("deltas", BATON_T_I64, 1), nested("last", ENTRY, 1),
		nested("upper", "0B7A6C1E-2D3F-4A5B-9C8D-7E6F5A4B3C2D", 4000000000u),
	};
	struct baton_diag d;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (baton_field_check(&good[i], &d) != 0)
			fail_msg("refused %s: %s", good[i].name, d.msg);
}

static void field_check_refuses(void **state)
{
	struct {
		struct baton_field f;
		const char *words;
	} bad[] = {
		{ field("", BATON_T_U8), "is not a name" },
		{ field("a b", BATON_T_U8), "is not a name" },
		{ field(".x", BATON_T_U8), "is not a name" },
		{ field("x", 0), "unknown type 0" },
		{ field("x", BATON_T_MAX_ + 1), "unknown type 16" },
		{ sized("x", BATON_T_U32, 4), "sets a size" },
		{ sized("x", BATON_T_FD, 4), "sets a size" },
		{ sized("x", BATON_T_SCHEMA, 4), "sets a size" },
		{ array("x", BATON_T_U8, 0), "array" },
		{ sized("x", BATON_T_BYTES, 0), "must be 1 to 1048576" },
		{ sized("x", BATON_T_BYTES, (1u << 20) + 1), "must be 1 to 1048576" },
		{ sized("x", BATON_T_STRING, 0), "must be 1 to 1048576" },
		{ sized("x", BATON_T_STRING, UINT32_MAX), "must be 1 to 1048576" },
		{ array("x", 0, 4), "unknown type" },
		{ array("x", BATON_T_STRING, 4), "arrays hold integers or bools" },
		{ array("x", BATON_T_SCHEMA, 4), "arrays hold integers or bools" },
		{ array("x", BATON_T_ARRAY, 4), "arrays hold integers or bools" },
		{ array("x", 99, 4), "an unknown type" },
		{ array("x", BATON_T_U32, (1u << 20) + 1), "must be 1 to 1048576" },
		{ nested("x", "not-a-uuid", 1), "is not a UUID" },
		{ nested("x", "", 1), "is not a UUID" },
		{ nested("x", ENTRY, 0), "versions start at 1" },
	};
	struct baton_field f;
	struct baton_diag d;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		baton_diag_clear(&d);
		if (baton_field_check(&bad[i].f, &d) != -EINVAL)
			fail_msg("accepted case %zu (%s)", i, bad[i].f.name);
		if (!strstr(d.msg, bad[i].words))
			fail_msg("case %zu: %s", i, d.msg);
	}

	/* a scalar's unused parts must be zero, so one layout has one record */
	f = field("x", BATON_T_U64);
	f.elem = BATON_T_U8;
	assert_int_equal(baton_field_check(&f, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "sets an element type"));
	f = field("x", BATON_T_U64);
	f.version = 1;
	assert_int_equal(baton_field_check(&f, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "names a nested contract"));
	f = field("x", BATON_T_U64);
	f.contract[39] = 'x';
	assert_int_equal(baton_field_check(&f, &d), -EINVAL);
	f = nested("x", ENTRY, 1);
	f.contract[38] = 'x';  /* bytes after the UUID's NUL */
	assert_int_equal(baton_field_check(&f, &d), -EINVAL);
	f = nested("x", ENTRY, 1);
	memset(f.contract, 'a', sizeof(f.contract));  /* unterminated */
	assert_int_equal(baton_field_check(&f, &d), -EINVAL);
	/* an unterminated name */
	f = field("x", BATON_T_U8);
	memset(f.name, 'a', sizeof(f.name));
	assert_int_equal(baton_field_check(&f, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "is not a name"));
}

/* ------------------------------------------------------------------------ */
/* Canonical form and fingerprints                                          */

struct text {
	char buf[1024];
	size_t len;
};

static void text_sink(void *ctx, const char *s, size_t len)
{
	struct text *t = ctx;

	assert_true(t->len + len < sizeof(t->buf));
	memcpy(t->buf + t->len, s, len);
	t->len += len;
	t->buf[t->len] = '\0';
}

/* Resolves ENTRY version 1 to a fingerprint chosen by the test. */
static int fixed_nested(void *ctx, const baton_uuid *contract, uint32_t version,
			baton_fingerprint *out)
{
	const baton_fingerprint *fp = ctx;
	baton_uuid entry;

	baton_uuid_parse(&entry, ENTRY, strlen(ENTRY));
	if (baton_uuid_cmp(contract, &entry) || version != 1)
		return -ENOENT;
	*out = *fp;
	return 0;
}

static int loop_nested(void *ctx, const baton_uuid *contract, uint32_t version,
		       baton_fingerprint *out)
{
	return -ELOOP;
}

static void canonical_form(void **state)
{
	const struct baton_field fields[] = {
		field("nitems", BATON_T_U64), sized("key", BATON_T_STRING, 250),
		sized("digest", BATON_T_BYTES, 16), array("shards", BATON_T_U32, 64),
		nested("last", "0B7A6C1E-2D3F-4A5B-9C8D-7E6F5A4B3C2D", 1), field("sock", BATON_T_FD),
		field("data", BATON_T_REGION), field("warm", BATON_T_BOOL),
	};
	baton_fingerprint inner;
	struct text t = { .len = 0 };

	memset(inner.b, 0xab, sizeof(inner.b));
	assert_int_equal(baton_schema_canonical(fields, 8, fixed_nested, &inner, text_sink, &t, NULL),
			 0);
	assert_string_equal(t.buf,
			    "baton-schema-1\n"
			    "field nitems u64\n"
			    "field key string 250\n"
			    "field digest bytes 16\n"
			    "field shards array u32 64\n"
			    "field last schema 0b7a6c1e-2d3f-4a5b-9c8d-7e6f5a4b3c2d 1 abababababababababababababababab\n"
			    "field sock fd\n"
			    "field data region\n"
			    "field warm bool\n");
	t.len = 0;
	assert_int_equal(baton_schema_canonical(NULL, 0, NULL, NULL, text_sink, &t, NULL), 0);
	assert_string_equal(t.buf, "baton-schema-1\n");
}

static void fingerprint(const struct baton_field *f, size_t n, baton_fingerprint *out)
{
	baton_fingerprint inner;
	struct baton_diag d;

	memset(inner.b, 0x11, sizeof(inner.b));
	if (baton_schema_fingerprint(f, n, fixed_nested, &inner, out, &d) != 0)
		fail_msg("%s", d.msg);
}

static void fingerprint_stable(void **state)
{
	const struct baton_field a[] = { field("nitems", BATON_T_U64), sized("key", BATON_T_STRING, 250) };
	struct baton_field b[2];
	baton_fingerprint fa, fb;
	char hex[BATON_FINGERPRINT_HEXLEN + 1];

	memcpy(b, a, sizeof(b));
	fingerprint(a, 2, &fa);
	fingerprint(b, 2, &fb);
	assert_true(baton_fingerprint_equal(&fa, &fb));
	/* the same layout always hashes to this value (XXH3-128 of the canonical form) */
	baton_fingerprint_format(&fa, hex);
	assert_int_equal(strlen(hex), BATON_FINGERPRINT_HEXLEN);
	fingerprint(a, 2, &fb);
	assert_memory_equal(fa.b, fb.b, sizeof(fa.b));
	/* the empty schema has a fingerprint too */
	assert_int_equal(baton_schema_fingerprint(NULL, 0, NULL, NULL, &fa, NULL), 0);
	assert_false(baton_fingerprint_equal(&fa, &fb));
}

static void fingerprint_sensitive(void **state)
{
	const struct baton_field base[] = {
		field("nitems", BATON_T_U64), sized("key", BATON_T_STRING, 250),
		array("shards", BATON_T_U32, 64), nested("last", ENTRY, 1),
	};
	struct baton_field f[4];
	baton_fingerprint ref, fp;
	size_t i;

	fingerprint(base, 4, &ref);
	for (i = 0; i < 7; i++) {
		memcpy(f, base, sizeof(f));
		switch (i) {
		case 0: strcpy(f[0].name, "nitem"); break;               /* rename */
		case 1: f[0].type = BATON_T_U32; break;                  /* type */
		case 2: f[1].size = 251; break;                          /* size */
		case 3: f[2].elem = BATON_T_U16; break;                  /* array element */
		case 4: f[2].size = 63; break;                           /* array maximum */
		case 5: f[0] = base[1]; f[1] = base[0]; break;           /* order */
		case 6: f[1].type = BATON_T_BYTES; break;                /* bytes vs string */
		}
		fingerprint(f, 4, &fp);
		if (baton_fingerprint_equal(&fp, &ref))
			fail_msg("change %zu kept the fingerprint", i);
	}
	/* fewer fields */
	fingerprint(base, 3, &fp);
	assert_false(baton_fingerprint_equal(&fp, &ref));
}

static void fingerprint_follows_nested(void **state)
{
	const struct baton_field f[] = { field("n", BATON_T_U8), nested("last", ENTRY, 1) };
	baton_fingerprint in1, in2, out1, out2;

	memset(in1.b, 1, sizeof(in1.b));
	memset(in2.b, 1, sizeof(in2.b));
	in2.b[15] = 2;  /* the nested schema changed */
	assert_int_equal(baton_schema_fingerprint(f, 2, fixed_nested, &in1, &out1, NULL), 0);
	assert_int_equal(baton_schema_fingerprint(f, 2, fixed_nested, &in2, &out2, NULL), 0);
	assert_false(baton_fingerprint_equal(&out1, &out2));
}

static void fingerprint_refuses(void **state)
{
	const struct baton_field unknown[] = { nested("last", ENTRY, 2) };
	const struct baton_field twice[] = { field("n", BATON_T_U8), field("n", BATON_T_U16) };
	const struct baton_field bad[] = { sized("n", BATON_T_U8, 3) };
	baton_fingerprint inner, fp;
	struct baton_diag d;

	memset(inner.b, 0, sizeof(inner.b));
	assert_int_equal(baton_schema_fingerprint(unknown, 1, fixed_nested, &inner, &fp, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "has no schema here"));
	assert_non_null(strstr(d.msg, ENTRY " version 2"));
	assert_int_equal(baton_schema_fingerprint(unknown, 1, NULL, NULL, &fp, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "nothing resolves it"));
	assert_int_equal(baton_schema_fingerprint(unknown, 1, loop_nested, NULL, &fp, &d), -ELOOP);
	assert_non_null(strstr(d.msg, "nests itself"));
	assert_int_equal(baton_schema_fingerprint(twice, 2, NULL, NULL, &fp, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "\"n\" appears twice"));
	assert_int_equal(baton_schema_fingerprint(bad, 1, NULL, NULL, &fp, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "sets a size"));
}

static void fingerprint_text(void **state)
{
	baton_fingerprint fp, back;
	char hex[BATON_FINGERPRINT_HEXLEN + 1];
	size_t i;

	for (i = 0; i < sizeof(fp.b); i++)
		fp.b[i] = (uint8_t)(i * 17);
	baton_fingerprint_format(&fp, hex);
	assert_string_equal(hex, "00112233445566778899aabbccddeeff");
	assert_int_equal(baton_fingerprint_parse(&back, hex, strlen(hex)), 0);
	assert_true(baton_fingerprint_equal(&fp, &back));
	assert_int_equal(baton_fingerprint_parse(&back, "00112233445566778899AABBCCDDEEFF", 32), 0);
	assert_true(baton_fingerprint_equal(&fp, &back));
	assert_int_equal(baton_fingerprint_parse(&back, hex, 31), -EINVAL);
	assert_int_equal(baton_fingerprint_parse(&back, "00112233445566778899aabbccddeeff0", 33), -EINVAL);
	assert_int_equal(baton_fingerprint_parse(&back, "0011223344556677889-aabbccddeeff", 32), -EINVAL);
	assert_int_equal(baton_fingerprint_parse(&back, "", 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(type_names),
		cmocka_unit_test(field_check_accepts),
		cmocka_unit_test(field_check_refuses),
		cmocka_unit_test(canonical_form),
		cmocka_unit_test(fingerprint_stable),
		cmocka_unit_test(fingerprint_sensitive),
		cmocka_unit_test(fingerprint_follows_nested),
		cmocka_unit_test(fingerprint_refuses),
		cmocka_unit_test(fingerprint_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
