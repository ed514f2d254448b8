/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of the check engine — baton_catalog_validate() and baton_check()
 *
 * Every rule gets a case the engine accepts and one it refuses, over
 * catalogs built with the core builder (and one declared with the macros,
 * in this very test program), and the messages are checked for what a
 * person needs to act: rule, contract name and UUID, versions, handlers,
 * releases and a way out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalogs.h"

#define assert_contains(hay, needle)                                               \
	do {                                                                       \
		if (!strstr((hay), (needle)))                                      \
			fail_msg("expected \"%s\" in \"%s\"", (needle), (hay));    \
	} while (0)

static const struct baton_field cache_v1[] = {
	BATON_FIELD_U64("nitems"),
	BATON_FIELD_STRING("name", 32),
};
static const struct baton_field cache_v2[] = {
	BATON_FIELD_U64("nitems"),
	BATON_FIELD_STRING("name", 32),
	BATON_FIELD_U32("capacity"),
};
static const struct baton_field cache_v3[] = {
	BATON_FIELD_U64("nitems"),
	BATON_FIELD_U32("capacity"),
};
static const struct baton_field listener_v1[] = {
	BATON_FIELD_FD("sock"),
	BATON_FIELD_U16("port"),
};

static const uint32_t V1[] = { 1, 0 }, V2[] = { 2, 0 }, V12[] = { 1, 2, 0 }, V3[] = { 3, 0 };
static const char *const PATCH_MINOR[] = { "patch", "next-minor", NULL };
static const char *const SAME_BUILD[] = { "same-build", NULL };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct test_catalog old_c, new_c;
static struct findings got;

static int setup(void **state)
{
	(void)state;
	memset(&got, 0, sizeof(got));
	return 0;
}

/* kvd 1.0.0: writes cache v1 and listener v1 */
static void release_1_0_0(struct test_catalog *t)
{
	cat_begin(t, "kvd", 1, 0, 0, PATCH_MINOR);
	cat_schema(t, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(t, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(t, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(t, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(t), 0);
}

/* kvd 1.1.0: writes cache v2, reads 1 and 2 */
static void release_1_1_0(struct test_catalog *t)
{
	cat_begin(t, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(t, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(t, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_schema(t, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(t, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	cat_handler(t, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(t), 0);
}

/* ------------------------------------------------------------------------ */

static void test_rule_names(void **state)
{
	(void)state;
	assert_string_equal(baton_rule_name(BATON_RULE_PATH), "path");
	assert_string_equal(baton_rule_name(BATON_RULE_DOWNGRADE), "downgrade");
	assert_string_equal(baton_rule_name(BATON_RULE_UNBOUND), "unbound");
	assert_string_equal(baton_rule_name(BATON_RULE_AMBIGUOUS), "ambiguous");
	assert_string_equal(baton_rule_name(BATON_RULE_LAYOUT), "layout");
	assert_string_equal(baton_rule_name(BATON_RULE_SCHEMA), "schema");
	assert_string_equal(baton_rule_name((enum baton_rule)0), "unknown");
	assert_string_equal(baton_rule_name((enum baton_rule)(BATON_RULE_MAX_ + 1)), "unknown");
}

static void test_bad_arguments(void **state)
{
	struct baton_catalog empty = { 0 };

	(void)state;
	release_1_0_0(&old_c);
	assert_int_equal(baton_check(NULL, &old_c.cat, keep_finding, &got), -EINVAL);
	assert_int_equal(baton_check(&old_c.cat, &empty, keep_finding, &got), -EINVAL);
	assert_int_equal(baton_catalog_validate(NULL, NULL, keep_finding, &got), -EINVAL);
	assert_int_equal(baton_catalog_validate(&empty, "new", keep_finding, &got), -EINVAL);
	assert_int_equal(got.n, 0);
}

/* ------------------------------------------------------------------------ */
/* One catalog                                                              */

static void test_validate_clean(void **state)
{
	(void)state;
	release_1_1_0(&new_c);
	assert_int_equal(baton_catalog_validate(&new_c.cat, "new", keep_finding, &got), 0);
	assert_int_equal(got.n, 0);
	/* no callback: the count alone */
	assert_int_equal(baton_catalog_validate(&new_c.cat, NULL, NULL, NULL), 0);
}

static void test_validate_two_readers(void **state)
{
	const struct baton_finding *f;

	(void)state;
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	cat_handler(&new_c, "kvd.adopt", 0, NULL, 0, CACHE, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_catalog_validate(&new_c.cat, "new", keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_AMBIGUOUS);
	assert_true(f->has_contract);
	assert_int_equal(f->version, 1);
	assert_string_equal(f->contract_name, "kvd.cache");
	assert_string_equal(f->reader_handler, "kvd.cache");
	assert_string_equal(f->other_handler, "kvd.adopt");
	assert_string_equal(f->side, "new");
	assert_string_equal(f->reader_program, "kvd");
	assert_int_equal(f->reader_release.minor, 1);
	assert_contains(f->message, "ambiguous: kvd.cache (" CACHE ") version 1 is read by two "
			"handlers of kvd 1.1.0, kvd.cache and kvd.adopt");
	assert_contains(f->message, "remove version 1 from the reads of one of them");
}

static void test_validate_three_readers(void **state)
{
	(void)state;
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&new_c, "a", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "b", 0, NULL, 0, CACHE, V1);
	cat_handler(&new_c, "c", 0, NULL, 0, CACHE, V1);
	assert_int_equal(cat_end(&new_c), 0);
	/* each later claimant against the first */
	assert_int_equal(baton_catalog_validate(&new_c.cat, "new", keep_finding, &got), 2);
	assert_string_equal(got.f[0].other_handler, "b");
	assert_string_equal(got.f[1].other_handler, "c");
	assert_string_equal(got.f[1].reader_handler, "a");
}

static void test_validate_two_writers(void **state)
{
	const struct baton_finding *f;

	(void)state;
	cat_begin(&old_c, "kvd", 1, 0, 0, PATCH_MINOR);
	cat_schema(&old_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&old_c, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_handler(&old_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&old_c, "kvd.cache2", 0, CACHE, 2, CACHE, V2);
	assert_int_equal(cat_end(&old_c), 0);

	assert_int_equal(baton_catalog_validate(&old_c.cat, "old", keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_AMBIGUOUS);
	assert_int_equal(f->version, 2);
	/* side "old": the handlers belong to the writer */
	assert_string_equal(f->writer_handler, "kvd.cache");
	assert_string_equal(f->other_handler, "kvd.cache2");
	assert_string_equal(f->writer_program, "kvd");
	assert_string_equal(f->reader_program, "");
	assert_contains(f->message, "is written by two handlers of kvd 1.0.0, kvd.cache (version 1) "
			"and kvd.cache2 (version 2)");
	assert_contains(f->message, "a new UUID");
}

static void test_validate_missing_schema(void **state)
{
	(void)state;
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	/* writes and reads version 2, which has no schema: one finding for it */
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	/* reads a listener version with no schema at all: no short name known */
	cat_handler(&new_c, "kvd.listener", 0, NULL, 0, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_catalog_validate(&new_c.cat, "new", keep_finding, &got), 2);
	assert_int_equal(count_rule(&got, BATON_RULE_SCHEMA), 2);
	assert_int_equal(got.f[0].version, 2);
	assert_string_equal(got.f[0].reader_handler, "kvd.cache");
	assert_contains(got.f[0].message, "schema: handler kvd.cache of kvd 1.1.0 writes kvd.cache ("
			CACHE ") version 2, but kvd 1.1.0 declares no schema for it");
	assert_contains(got.f[0].message, "BATON_SCHEMA");
	assert_string_equal(got.f[1].contract_name, "");
	assert_contains(got.f[1].message, "reads contract " LISTENER " version 1");
}

static void test_validate_contract_names(void **state)
{
	(void)state;
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, CACHE, "kvd.store", 2, cache_v2, N(cache_v2));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_catalog_validate(&new_c.cat, NULL, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_SCHEMA);
	assert_null(got.f[0].side);
	assert_contains(got.f[0].message, "contract " CACHE " is called kvd.cache in version 1 "
			"and kvd.store in version 2 of kvd 1.1.0");
}

/* The catalog this test program declares with the macros passes as it is. */
BATON_PROGRAM("checktest", 3, 1, 4, BATON_SAME_BUILD, BATON_PATCH, BATON_FROM(3, 0));
BATON_SCHEMA(CACHE, "kvd.cache", 1, BATON_FIELD_U64("nitems"), BATON_FIELD_STRING("name", 32));
BATON_SCHEMA(CACHE, "kvd.cache", 2, BATON_FIELD_U64("nitems"), BATON_FIELD_STRING("name", 32),
	     BATON_FIELD_U32("capacity"));
BATON_SCHEMA(ENTRY, "kvd.entry", 1, BATON_FIELD_BYTES("digest", 20),
	     BATON_FIELD_ARRAY("slots", BATON_T_U32, 8));
BATON_HANDLER("kvd.cache", BATON_WRITES(CACHE, 2), BATON_READS(CACHE, 1, 2));
BATON_HANDLER("kvd.entries", BATON_WRITES_OPTIONAL(ENTRY, 1), BATON_READS(ENTRY, 1));

static void test_validate_macros(void **state)
{
	static uint64_t copy[4096];
	struct baton_catalog cat;
	struct baton_diag d;

	(void)state;
	assert_true(BATON_SELF_RECORDS_LEN <= sizeof(copy));
	memcpy(copy, BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN);
	assert_int_equal(baton_catalog_open(&cat, copy, BATON_SELF_RECORDS_LEN, NULL, &d), 0);
	assert_int_equal(cat.nhandlers, 2);
	assert_int_equal(baton_catalog_validate(&cat, "new", keep_finding, &got), 0);
	/* and it may hand over to itself: same catalog, same (unknown) build is refused... */
	assert_int_equal(baton_check(&cat, &cat, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_contains(got.f[0].message, "unknown build");
	/* ...and accepted once both builds are known and equal */
	cat.build_id.len = 2;
	cat.build_id.b[0] = 0xab;
	got.n = 0;
	assert_int_equal(baton_check(&cat, &cat, keep_finding, &got), 0);
}

/* ------------------------------------------------------------------------ */
/* Rule 4: paths                                                            */

static void test_check_accepts_next_minor(void **state)
{
	(void)state;
	release_1_0_0(&old_c);
	release_1_1_0(&new_c);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);
	assert_int_equal(got.n, 0);
}

static void test_check_accepts_patch(void **state)
{
	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 0, 7, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);
}

static void test_check_refuses_unlisted_path(void **state)
{
	const struct baton_finding *f;

	(void)state;
	release_1_0_0(&old_c);
	/* 1.2.0 with next-minor accepts 1.1.*, not 1.0.0 */
	cat_begin(&new_c, "kvd", 1, 2, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_PATH);
	assert_false(f->has_contract);
	assert_string_equal(f->writer_program, "kvd");
	assert_int_equal(f->writer_release.minor, 0);
	assert_int_equal(f->reader_release.minor, 2);
	assert_contains(f->message, "path: kvd 1.0.0 -> kvd 1.2.0: 1.0.0 to 1.2.0 is not a supported path");
	assert_contains(f->message, "next-minor (1.1.*)");
	assert_contains(f->message, "list the path in the policy of 1.2.0");
}

static void test_check_from_rule(void **state)
{
	static const char *const from_1_0[] = { "from 1.0", NULL };

	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 2, 0, 0, from_1_0);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);

	/* the same 2.0.0 refuses 1.1.0 */
	release_1_1_0(&old_c);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 2);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	/* and 1.1.0 writes cache version 2, which 2.0.0 does not read */
	assert_int_equal(got.f[1].rule, BATON_RULE_UNBOUND);
}

static void test_check_refuses_downgrade(void **state)
{
	const struct baton_finding *f;

	(void)state;
	release_1_1_0(&old_c);
	release_1_0_0(&new_c);
	assert_true(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got) >= 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_DOWNGRADE);
	assert_contains(f->message, "downgrade: kvd 1.1.0 -> kvd 1.0.0: 1.1.0 to 1.0.0 is a downgrade");
	assert_contains(f->message, "newer than 1.1.0");
	assert_null(find_rule(&got, BATON_RULE_PATH));
}

static void release_same_build(struct test_catalog *t)
{
	cat_begin(t, "kvd", 1, 0, 0, SAME_BUILD);
	cat_schema(t, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(t, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(t), 0);
}

static void test_check_same_release(void **state)
{
	(void)state;
	release_same_build(&old_c);
	release_same_build(&new_c);

	/* the identical build: accepted by same-build */
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);

	/* the same release, another build: refused */
	new_c.cat.build_id.b[3] ^= 1;
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_contains(got.f[0].message, "same release, different build");
	assert_contains(got.f[0].message, "its own release number");
}

static void test_check_same_build_not_listed(void **state)
{
	(void)state;
	release_1_0_0(&old_c);  /* patch, next-minor: no same-build */
	assert_int_equal(baton_check(&old_c.cat, &old_c.cat, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_contains(got.f[0].message, "add same-build to accept it");
}

static void test_check_other_program(void **state)
{
	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "other", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&new_c), 0);
	/* one finding: nothing else is worth comparing */
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_contains(got.f[0].message, "kvd 1.0.0 -> other 1.1.0: these are different programs");
}

/* ------------------------------------------------------------------------ */
/* Rules 1 and 3: everything the old writes is read by the new             */

static void test_check_unbound_dropped_version(void **state)
{
	const struct baton_finding *f;

	(void)state;
	release_1_0_0(&old_c);
	/* 1.1.0 that no longer reads cache version 1 */
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V2);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_UNBOUND);
	assert_true(f->has_contract);
	assert_int_equal(f->version, 1);
	assert_string_equal(f->contract_name, "kvd.cache");
	assert_string_equal(f->writer_handler, "kvd.cache");
	assert_string_equal(f->reader_handler, "");
	assert_null(f->side);
	assert_string_equal(f->message,
			    "unbound: kvd.cache (" CACHE ") version 1, written by handler kvd.cache "
			    "of kvd 1.0.0, is read by no handler of kvd 1.1.0 (kvd.cache reads "
			    "version 2); add version 1 back to a handler's reads with upgrade steps "
			    "to version 2; a version may only be dropped once no release the policy "
			    "accepts still writes it");
}

static void test_check_unbound_newer_version(void **state)
{
	(void)state;
	/* the example of the documentation: 1.2.0 writes version 3, a 1.3.0 reads 1, 2 */
	cat_begin(&old_c, "kvd", 1, 2, 0, PATCH_MINOR);
	cat_schema(&old_c, CACHE, "kvd.cache", 3, cache_v3, N(cache_v3));
	cat_handler(&old_c, "kvd.cache", 0, CACHE, 3, CACHE, V3);
	assert_int_equal(cat_end(&old_c), 0);
	cat_begin(&new_c, "kvd", 1, 3, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	assert_string_equal(got.f[0].message,
			    "unbound: kvd.cache (" CACHE ") version 3, written by handler kvd.cache "
			    "of kvd 1.2.0, is read by no handler of kvd 1.3.0 (kvd.cache reads "
			    "versions 1, 2); add version 3 to a handler's reads with an upgrade "
			    "step, or keep writing version 2");
}

static void test_check_unbound_no_reader_at_all(void **state)
{
	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_UNBOUND);
	/* the name comes from the old catalog when the new one does not know the contract */
	assert_string_equal(got.f[0].contract_name, "kvd.listener");
	assert_string_equal(got.f[0].writer_handler, "kvd.listener");
	assert_contains(got.f[0].message, "(none of its handlers reads any version of it)");
	assert_contains(got.f[0].message, "BATON_WRITES_OPTIONAL");
}

static void test_check_optional_is_dropped(void **state)
{
	(void)state;
	cat_begin(&old_c, "kvd", 1, 0, 0, PATCH_MINOR);
	cat_schema(&old_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&old_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&old_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&old_c, "kvd.listener", BATON_HANDLER_OPTIONAL, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&old_c), 0);
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&new_c), 0);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);
}

static void test_check_adoption_by_contract(void **state)
{
	(void)state;
	/* rule 1: a renamed handler adopts its predecessor's objects by contract */
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.store", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "kvd.sockets", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);
}

static void test_check_nothing_written(void **state)
{
	(void)state;
	/* a handler that writes nothing hands nothing over */
	cat_begin(&old_c, "kvd", 1, 0, 0, PATCH_MINOR);
	cat_schema(&old_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_handler(&old_c, "kvd.reader", 0, NULL, 0, CACHE, V1);
	assert_int_equal(cat_end(&old_c), 0);
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 0);
}

/* ------------------------------------------------------------------------ */
/* Rule 2 in a comparison                                                   */

static void test_check_ambiguous_sides(void **state)
{
	const struct baton_finding *f;

	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 1, 0, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, cache_v1, N(cache_v1));
	cat_schema(&new_c, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V12);
	cat_handler(&new_c, "kvd.legacy", 0, NULL, 0, CACHE, V1);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_AMBIGUOUS);
	assert_string_equal(f->side, "new");
	/* both releases are named in a comparison */
	assert_string_equal(f->writer_program, "kvd");
	assert_string_equal(f->reader_program, "kvd");
	assert_string_equal(f->reader_handler, "kvd.cache");
	assert_string_equal(f->other_handler, "kvd.legacy");

	/* the old side is checked too */
	got.n = 0;
	assert_int_equal(baton_check(&new_c.cat, &new_c.cat, keep_finding, &got), 3);
	assert_int_equal(got.f[0].rule, BATON_RULE_PATH);
	assert_string_equal(got.f[1].side, "old");
	assert_string_equal(got.f[1].writer_handler, "kvd.cache");
	assert_string_equal(got.f[2].side, "new");
}

/* ------------------------------------------------------------------------ */
/* Rule 6: layouts                                                          */

static void test_check_layout_changed(void **state)
{
	static const struct baton_field changed[] = {
		BATON_FIELD_U32("nitems"),           /* was u64 */
		BATON_FIELD_U8("flags"),             /* new */
	};                                           /* name removed */
	const struct baton_finding *f;

	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 0, 1, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, changed, N(changed));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	f = &got.f[0];
	assert_int_equal(f->rule, BATON_RULE_LAYOUT);
	assert_int_equal(f->version, 1);
	assert_string_equal(f->writer_handler, "kvd.cache");
	assert_string_equal(f->reader_handler, "kvd.cache");
	assert_contains(f->message, "layout: kvd.cache (" CACHE ") version 1 (written by handler "
			"kvd.cache) has one layout in kvd 1.0.0 and another in kvd 1.0.1 (read by "
			"handler kvd.cache): ");
	assert_contains(f->message, "field nitems changed from u64 to u32");
	assert_contains(f->message, "field name (string(max 32)) removed");
	assert_contains(f->message, "field flags (u8) added");
	assert_contains(f->message, "layout changed without a version bump");
	assert_contains(f->message, "give the new layout version 2, with an upgrade step from 1");
}

static void test_check_layout_reordered(void **state)
{
	static const struct baton_field swapped[] = {
		BATON_FIELD_STRING("name", 32),
		BATON_FIELD_U64("nitems"),
	};

	(void)state;
	release_1_0_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 0, 1, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 1, swapped, N(swapped));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, listener_v1, N(listener_v1));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);

	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 1);
	assert_int_equal(got.f[0].rule, BATON_RULE_LAYOUT);
	assert_contains(got.f[0].message, "the same fields in another order");
}

static void test_check_layout_nested(void **state)
{
	static const struct baton_field entry_a[] = { BATON_FIELD_U32("hash") };
	static const struct baton_field entry_b[] = { BATON_FIELD_U64("hash") };
	static const struct baton_field holder[] = {
		BATON_FIELD_U64("nitems"),
		BATON_FIELD_SCHEMA("first", ENTRY, 1),
	};
	const struct baton_finding *f;

	(void)state;
	cat_begin(&old_c, "kvd", 1, 0, 0, PATCH_MINOR);
	cat_schema(&old_c, ENTRY, "kvd.entry", 1, entry_a, N(entry_a));
	cat_schema(&old_c, CACHE, "kvd.cache", 1, holder, N(holder));
	cat_handler(&old_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&old_c), 0);
	cat_begin(&new_c, "kvd", 1, 0, 1, PATCH_MINOR);
	cat_schema(&new_c, ENTRY, "kvd.entry", 1, entry_b, N(entry_b));
	cat_schema(&new_c, CACHE, "kvd.cache", 1, holder, N(holder));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 1, CACHE, V1);
	assert_int_equal(cat_end(&new_c), 0);

	/* the nested schema changed, and so did every schema that holds it */
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 2);
	assert_int_equal(count_rule(&got, BATON_RULE_LAYOUT), 2);
	f = &got.f[0];
	assert_string_equal(f->contract_name, "kvd.entry");
	assert_contains(f->message, "field hash changed from u32 to u64");
	assert_string_equal(f->writer_handler, "");
	f = &got.f[1];
	assert_string_equal(f->contract_name, "kvd.cache");
	assert_contains(f->message, "field first nests schema(kvd.entry v1), whose layout differs");
}

static void test_check_layout_same_is_fine(void **state)
{
	(void)state;
	/* 1.1.0 keeps cache version 1 exactly as 1.0.0 declared it */
	release_1_0_0(&old_c);
	release_1_1_0(&new_c);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, NULL, NULL), 0);
}

static void test_check_counts_every_finding(void **state)
{
	static const struct baton_field changed[] = { BATON_FIELD_U16("port") };

	(void)state;
	/* a downgrade that also drops a contract, changes a layout and is ambiguous */
	release_1_1_0(&old_c);
	cat_begin(&new_c, "kvd", 1, 0, 5, PATCH_MINOR);
	cat_schema(&new_c, CACHE, "kvd.cache", 2, cache_v2, N(cache_v2));
	cat_schema(&new_c, LISTENER, "kvd.listener", 1, changed, N(changed));
	cat_handler(&new_c, "kvd.cache", 0, CACHE, 2, CACHE, V2);
	cat_handler(&new_c, "kvd.other", 0, NULL, 0, CACHE, V2);
	cat_handler(&new_c, "kvd.listener", 0, LISTENER, 1, LISTENER, V1);
	assert_int_equal(cat_end(&new_c), 0);
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, keep_finding, &got), 3);
	assert_int_equal(got.f[0].rule, BATON_RULE_DOWNGRADE);
	assert_int_equal(got.f[1].rule, BATON_RULE_AMBIGUOUS);
	assert_int_equal(got.f[2].rule, BATON_RULE_LAYOUT);
	/* the count does not depend on the callback */
	assert_int_equal(baton_check(&old_c.cat, &new_c.cat, NULL, NULL), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rule_names, setup),
		cmocka_unit_test_setup(test_bad_arguments, setup),
		cmocka_unit_test_setup(test_validate_clean, setup),
		cmocka_unit_test_setup(test_validate_two_readers, setup),
		cmocka_unit_test_setup(test_validate_three_readers, setup),
		cmocka_unit_test_setup(test_validate_two_writers, setup),
		cmocka_unit_test_setup(test_validate_missing_schema, setup),
		cmocka_unit_test_setup(test_validate_contract_names, setup),
		cmocka_unit_test_setup(test_validate_macros, setup),
		cmocka_unit_test_setup(test_check_accepts_next_minor, setup),
		cmocka_unit_test_setup(test_check_accepts_patch, setup),
		cmocka_unit_test_setup(test_check_refuses_unlisted_path, setup),
		cmocka_unit_test_setup(test_check_from_rule, setup),
		cmocka_unit_test_setup(test_check_refuses_downgrade, setup),
		cmocka_unit_test_setup(test_check_same_release, setup),
		cmocka_unit_test_setup(test_check_same_build_not_listed, setup),
		cmocka_unit_test_setup(test_check_other_program, setup),
		cmocka_unit_test_setup(test_check_unbound_dropped_version, setup),
		cmocka_unit_test_setup(test_check_unbound_newer_version, setup),
		cmocka_unit_test_setup(test_check_unbound_no_reader_at_all, setup),
		cmocka_unit_test_setup(test_check_optional_is_dropped, setup),
		cmocka_unit_test_setup(test_check_adoption_by_contract, setup),
		cmocka_unit_test_setup(test_check_nothing_written, setup),
		cmocka_unit_test_setup(test_check_ambiguous_sides, setup),
		cmocka_unit_test_setup(test_check_layout_changed, setup),
		cmocka_unit_test_setup(test_check_layout_reordered, setup),
		cmocka_unit_test_setup(test_check_layout_nested, setup),
		cmocka_unit_test_setup(test_check_layout_same_is_fine, setup),
		cmocka_unit_test_setup(test_check_counts_every_finding, setup),
	};

	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
