/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — core releases (MAJOR.MINOR.PATCH) and build ids
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <baton/core.h>

static int parse(struct baton_release *r, const char *s, struct baton_diag *d)
{
	return baton_release_parse(r, s, strlen(s), d);
}

static void release_parse_accepts(void **state)
{
	static const struct {
		const char *text;
		uint32_t major, minor, patch;
	} good[] = {
		{ "0.0.0", 0, 0, 0 },
		{ "1.2.3", 1, 2, 3 },
		{ "10.20.30", 10, 20, 30 },
		{ "1.0.10", 1, 0, 10 },
		{ "4294967295.4294967295.4294967295", UINT32_MAX, UINT32_MAX, UINT32_MAX },
	};
	struct baton_release r;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse(&r, good[i].text, NULL), 0);
		assert_int_equal(r.major, good[i].major);
		assert_int_equal(r.minor, good[i].minor);
		assert_int_equal(r.patch, good[i].patch);
	}
}

static void release_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"", "1", "1.2", "1.2.", ".1.2", "1..2", "1.2.3.4",      /* missing or extra parts */
		"01.2.3", "1.02.3", "1.2.03", "00.0.0", "1.2.00",       /* leading zeros */
		"4294967296.0.0", "0.4294967296.0", "0.0.4294967296",   /* overflow */
		"99999999999999999999.0.0",
		"1.2.3-rc1", "1.2.3+build", "1.2.3 ", " 1.2.3", "v1.2.3", /* suffixes, prefixes */
		"+1.2.3", "-1.2.3", "1.-2.3", "1.2.x", "1.2.*", "a.b.c", "1,2,3", "1.2.3\n",
	};
	struct baton_release r;
	struct baton_diag d;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		baton_diag_clear(&d);
		if (parse(&r, bad[i], &d) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(d.code, -EINVAL);
		assert_non_null(strstr(d.msg, "MAJOR.MINOR.PATCH"));
	}
	/* the message quotes the text */
	parse(&r, "1.02.3", &d);
	assert_non_null(strstr(d.msg, "\"1.02.3\""));
	/* only len bytes are read */
	assert_int_equal(baton_release_parse(&r, "1.2.3", 3, NULL), -EINVAL);
	assert_int_equal(baton_release_parse(&r, "1.2.345", 5, NULL), 0);
	assert_int_equal(r.patch, 3);
}

static void release_compare(void **state)
{
	static const struct baton_release ordered[] = {
		{ 0, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 }, { 0, 9, 9 }, { 1, 0, 0 }, { 1, 0, 9 },
		{ 1, 2, 3 }, { 1, 10, 0 }, { 2, 0, 0 }, { UINT32_MAX, 0, 0 },
	};
	size_t n = sizeof(ordered) / sizeof(ordered[0]), i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int c = baton_release_cmp(&ordered[i], &ordered[j]);

			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
}

static void release_format(void **state)
{
	struct baton_release r = { 1, 20, 300 }, max = { UINT32_MAX, UINT32_MAX, UINT32_MAX }, back;
	char buf[BATON_RELEASE_STRMAX];

	assert_int_equal(baton_release_format(&r, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "1.20.300");
	assert_int_equal(baton_release_format(&r, buf, 9), 8);   /* exact fit */
	assert_int_equal(baton_release_format(&r, buf, 8), -ENOSPC);
	assert_int_equal(baton_release_format(&max, buf, sizeof(buf)), 32);
	assert_int_equal(parse(&back, buf, NULL), 0);
	assert_int_equal(baton_release_cmp(&back, &max), 0);
}

static void build_id_parse_accepts(void **state)
{
	struct baton_build_id id;
	char hex[2 * BATON_BUILD_ID_MAX + 1];
	size_t i;

	assert_int_equal(baton_build_id_parse(&id, "", 0, NULL), 0);
	assert_int_equal(id.len, 0);  /* empty: unknown */
	assert_int_equal(baton_build_id_parse(&id, "00ff7a", 6, NULL), 0);
	assert_int_equal(id.len, 3);
	assert_int_equal(id.b[0], 0x00);
	assert_int_equal(id.b[1], 0xff);
	assert_int_equal(id.b[2], 0x7a);
	/* the longest: 32 bytes */
	for (i = 0; i < 2 * BATON_BUILD_ID_MAX; i++)
		hex[i] = "0123456789abcdef"[i % 16];
	assert_int_equal(baton_build_id_parse(&id, hex, 2 * BATON_BUILD_ID_MAX, NULL), 0);
	assert_int_equal(id.len, BATON_BUILD_ID_MAX);
}

static void build_id_parse_refuses(void **state)
{
	char hex[2 * BATON_BUILD_ID_MAX + 3];
	struct baton_build_id id;
	struct baton_diag d;

	assert_int_equal(baton_build_id_parse(&id, "abc", 3, &d), -EINVAL);   /* odd */
	assert_non_null(strstr(d.msg, "\"abc\""));
	assert_int_equal(id.len, 0);
	assert_int_equal(baton_build_id_parse(&id, "zz", 2, &d), -EINVAL);    /* not hex */
	assert_non_null(strstr(d.msg, "hexadecimal"));
	assert_int_equal(baton_build_id_parse(&id, "0x12", 4, &d), -EINVAL);
	assert_int_equal(baton_build_id_parse(&id, "12 4", 4, &d), -EINVAL);
	memset(hex, 'a', sizeof(hex));
	assert_int_equal(baton_build_id_parse(&id, hex, 2 * BATON_BUILD_ID_MAX + 2, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "32 bytes"));
	assert_int_equal(id.len, 0);
}

static void build_id_format_and_equal(void **state)
{
	struct baton_build_id a, b, unknown = { 0 };
	char buf[2 * BATON_BUILD_ID_MAX + 1];

	baton_build_id_parse(&a, "deadbeef", 8, NULL);
	baton_build_id_parse(&b, "deadbeef", 8, NULL);
	assert_int_equal(baton_build_id_format(&a, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "deadbeef");
	assert_int_equal(baton_build_id_format(&a, buf, 9), 8);
	assert_int_equal(baton_build_id_format(&a, buf, 8), -ENOSPC);
	assert_int_equal(baton_build_id_format(&unknown, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "unknown");

	assert_true(baton_build_id_equal(&a, &b));
	b.b[3] ^= 1;
	assert_false(baton_build_id_equal(&a, &b));
	baton_build_id_parse(&b, "deadbe", 6, NULL);  /* a prefix is another build */
	assert_false(baton_build_id_equal(&a, &b));
	/* an unknown build never matches, not even another unknown one */
	assert_false(baton_build_id_equal(&unknown, &unknown));
	assert_false(baton_build_id_equal(&a, &unknown));
	assert_false(baton_build_id_equal(NULL, &a));
	assert_false(baton_build_id_equal(&a, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(release_parse_accepts),
		cmocka_unit_test(release_parse_refuses),
		cmocka_unit_test(release_compare),
		cmocka_unit_test(release_format),
		cmocka_unit_test(build_id_parse_accepts),
		cmocka_unit_test(build_id_parse_refuses),
		cmocka_unit_test(build_id_format_and_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
