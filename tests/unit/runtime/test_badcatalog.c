/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit test — a program whose own catalog breaks rule 2
 *
 * Two handlers read the same (contract, version). baton_rt_new() logs the
 * finding; every registration and baton_rt_start() then fail with -EINVAL
 * and say why, so such a program never serves.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <baton/baton.h>

#define C_A "9a1e0c44-1111-4aaa-8bbb-000000000001"

BATON_PROGRAM("bad", 1, 0, 0, BATON_SAME_BUILD);
BATON_SCHEMA(C_A, "bad.a", 1, BATON_FIELD_U32("n"));
BATON_HANDLER("one", BATON_WRITES(C_A, 1), BATON_READS(C_A, 1));
BATON_HANDLER("two", BATON_WRITES_NOTHING, BATON_READS(C_A, 1));

static char logged[8192];

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s\n", msg);
}

static int nop_save(void *ctx, struct baton_save *s)
{
	(void)ctx;
	(void)s;
	return 0;
}

static int nop_restore(void *ctx, const struct baton_obj *o)
{
	(void)ctx;
	(void)o;
	return 0;
}

static void test_ambiguous_own_catalog(void **state)
{
	struct baton_handler_ops ops = { nop_save, nop_restore, NULL };
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.log = log_cb,
	};
	struct baton_rt *rt = NULL;

	(void)state;
	assert_int_equal(baton_rt_new(&rt, &opt), 0);
	assert_non_null(strstr(logged, "own catalog: ambiguous"));
	assert_int_equal(baton_rt_register(rt, "one", &ops), -EINVAL);
	assert_non_null(strstr(baton_rt_error(rt), "ambiguous"));
	assert_non_null(strstr(baton_rt_error(rt), "bad 1.0.0"));
	assert_int_equal(baton_rt_start(rt), -EINVAL);
	baton_rt_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ambiguous_own_catalog),
	};

	return cmocka_run_group_tests_name("bad catalog", tests, NULL, NULL);
}
