/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — core basics: diagnostics, bounded strings, names, UUIDs
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <baton/core.h>

static const uint8_t kvd_bytes[16] = {
	0x6f, 0x1c, 0x2d, 0x3e, 0x4a, 0x5b, 0x4c, 0x6d,
	0x8e, 0x9f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f,
};

static int parse(baton_uuid *u, const char *s)
{
	return baton_uuid_parse(u, s, strlen(s));
}

static void uuid_accepts_both_cases(void **state)
{
	baton_uuid u;
	char text[BATON_UUID_STRLEN + 1];

	assert_int_equal(parse(&u, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"), 0);
	assert_memory_equal(u.b, kvd_bytes, 16);
	assert_int_equal(parse(&u, "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F"), 0);
	assert_memory_equal(u.b, kvd_bytes, 16);
	assert_int_equal(parse(&u, "6f1C2d3E-4a5B-4C6d-8E9f-0A1b2C3d4E5f"), 0);
	assert_memory_equal(u.b, kvd_bytes, 16);
	/* formatting writes lower case, whatever was parsed */
	baton_uuid_format(&u, text);
	assert_string_equal(text, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
	assert_false(baton_uuid_is_nil(&u));
}

static void uuid_round_trips(void **state)
{
	char text[BATON_UUID_STRLEN + 1];
	baton_uuid u, v;
	int i, j;

	for (i = 0; i < 256; i++) {
		for (j = 0; j < 16; j++)
			u.b[j] = (uint8_t)(i * 31 + j * 17);
		baton_uuid_format(&u, text);
		assert_int_equal(strlen(text), BATON_UUID_STRLEN);
		assert_int_equal(parse(&v, text), 0);
		assert_int_equal(baton_uuid_cmp(&u, &v), 0);
	}
}

static void uuid_nil_and_order(void **state)
{
	baton_uuid a, b;

	assert_int_equal(parse(&a, "00000000-0000-0000-0000-000000000000"), 0);
	assert_true(baton_uuid_is_nil(&a));
	assert_int_equal(parse(&b, "00000000-0000-0000-0000-000000000001"), 0);
	assert_false(baton_uuid_is_nil(&b));
	assert_true(baton_uuid_cmp(&a, &b) < 0);
	assert_true(baton_uuid_cmp(&b, &a) > 0);
	assert_int_equal(baton_uuid_cmp(&a, &a), 0);
}

static void uuid_refuses_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5",     /* 35: short */
		"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f0",   /* 37: long */
		"6f1c2d3e4a5b4c6d8e9f0a1b2c3d4e5f",        /* no dashes */
		"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5g",    /* not hex */
		"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e 5",    /* space */
		"6f1c2d3e4-a5b-4c6d-8e9f-0a1b2c3d4e5f",    /* first dash one late */
		"6f1c2d3-e4a5b-4c6d-8e9f-0a1b2c3d4e5f",    /* first dash one early */
		"6f1c2d3e-4a5b4-c6d-8e9f-0a1b2c3d4e5f",
		"6f1c2d3e-4a5b-4c6d8-e9f-0a1b2c3d4e5f",
		"6f1c2d3e-4a5b-4c6d-8e9f0-a1b2c3d4e5f",
		"6f1c2d3e_4a5b_4c6d_8e9f_0a1b2c3d4e5f",    /* wrong separator */
		"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e-f",    /* a dash for a digit */
		"{6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5}",   /* braces */
		"urn:uuid:6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3",
		"+f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
		"0x1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
	};
	baton_uuid u;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&u, bad[i]) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* the length given counts, not a NUL */
	assert_int_equal(baton_uuid_parse(&u, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", 35), -EINVAL);
	assert_int_equal(baton_uuid_parse(&u, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5\0", 36), -EINVAL);
}

static void names_accept(void **state)
{
	static const char *const good[] = {
		"kvd", "kvd.cache", "a", "Z", "0", "9lives", "A-b_c.9", "kvd..x", "x-", "x_",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", /* 63 */
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!baton_name_valid(good[i], strlen(good[i])))
			fail_msg("refused \"%s\"", good[i]);
}

static void names_refuse(void **state)
{
	static const char *const bad[] = {
		"", ".kvd", "-x", "_x", "kv d", "kvd/x", "kvd:x", "k\xc3\xa9", "kvd\n", "*", "a,b",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", /* 64 */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (baton_name_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(baton_name_valid("a\0b", 3));  /* a NUL inside is no name character */
	assert_true(baton_name_valid("abc", 2));    /* only len bytes count */
}

static void strings_bounded(void **state)
{
	char buf[4];

	assert_int_equal(baton_strnlen("abc", 8), 3);
	assert_int_equal(baton_strnlen("abcdef", 4), 4);
	assert_int_equal(baton_strnlen("", 4), 0);

	assert_int_equal(baton_strlcpy(buf, "abc", sizeof(buf)), 0);  /* exact fit */
	assert_string_equal(buf, "abc");
	assert_int_equal(baton_strlcpy(buf, "abcd", sizeof(buf)), -ENAMETOOLONG);
	assert_string_equal(buf, "");  /* nothing half-copied */
	assert_int_equal(baton_strlcpy(buf, "", sizeof(buf)), 0);
	assert_int_equal(baton_strlcpy(buf, "a", 0), -ENAMETOOLONG);
}

static void diag_formats_and_truncates(void **state)
{
	struct baton_diag d;
	char long_text[2 * BATON_DIAG_MAX];

	assert_int_equal(baton_diag_set(NULL, -EINVAL, "nothing %d", 1), -EINVAL);
	assert_int_equal(baton_diag_set(&d, -ENOENT, "contract %s version %u", "kvd.cache", 2u),
			 -ENOENT);
	assert_int_equal(d.code, -ENOENT);
	assert_string_equal(d.msg, "contract kvd.cache version 2");
	baton_diag_clear(&d);
	assert_int_equal(d.code, 0);
	assert_string_equal(d.msg, "");
	baton_diag_clear(NULL);

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	baton_diag_set(&d, -E2BIG, "%s", long_text);
	assert_int_equal(strlen(d.msg), BATON_DIAG_MAX - 1);
}

static void diag_is_one_line(void **state)
{
	struct baton_diag d;

	/* words taken from hostile input must not break the line or drive a terminal */
	baton_diag_set(&d, -EINVAL, "name \"%s\" is bad", "a\nb\rc\033[2Jd\x7f" "e\tf");
	assert_null(strchr(d.msg, '\n'));
	assert_null(strchr(d.msg, '\r'));
	assert_null(strchr(d.msg, '\033'));
	assert_null(strchr(d.msg, '\x7f'));
	assert_null(strchr(d.msg, '\t'));
	assert_string_equal(d.msg, "name \"a?b?c?[2Jd?e?f\" is bad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_accepts_both_cases),
		cmocka_unit_test(uuid_round_trips),
		cmocka_unit_test(uuid_nil_and_order),
		cmocka_unit_test(uuid_refuses_malformed),
		cmocka_unit_test(names_accept),
		cmocka_unit_test(names_refuse),
		cmocka_unit_test(strings_bounded),
		cmocka_unit_test(diag_formats_and_truncates),
		cmocka_unit_test(diag_is_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
