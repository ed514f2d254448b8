/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — core policies: rule text and the path decision (rule 4)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <baton/core.h>

static int parse(struct baton_policy_rule *r, const char *s, struct baton_diag *d)
{
	return baton_policy_rule_parse(r, s, strlen(s), d);
}

static void rule_parse_accepts_and_round_trips(void **state)
{
	static const struct {
		const char *text;
		uint32_t kind;
		struct baton_release from;
	} good[] = {
		{ "same-build", BATON_POLICY_SAME_BUILD, { 0, 0, 0 } },
		{ "patch", BATON_POLICY_PATCH, { 0, 0, 0 } },
		{ "next-minor", BATON_POLICY_NEXT_MINOR, { 0, 0, 0 } },
		{ "from 1.2", BATON_POLICY_FROM_MINOR, { 1, 2, 0 } },
		{ "from 0.0", BATON_POLICY_FROM_MINOR, { 0, 0, 0 } },
		{ "from 1.2.3", BATON_POLICY_FROM_RELEASE, { 1, 2, 3 } },
		{ "from 0.9.0", BATON_POLICY_FROM_RELEASE, { 0, 9, 0 } },
		{ "from 4294967295.4294967295", BATON_POLICY_FROM_MINOR, { UINT32_MAX, UINT32_MAX, 0 } },
		{ "from 4294967295.4294967295.4294967295", BATON_POLICY_FROM_RELEASE,
		  { UINT32_MAX, UINT32_MAX, UINT32_MAX } },
	};
	struct baton_policy_rule r, back;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(&r, good[i].text, NULL) != 0)
			fail_msg("refused \"%s\"", good[i].text);
		assert_int_equal(r.kind, good[i].kind);
		assert_int_equal(baton_release_cmp(&r.from, &good[i].from), 0);
		assert_int_equal(baton_policy_rule_check(&r, NULL), 0);
		/* format gives the same text back, and that parses to the same rule */
		assert_int_equal(baton_policy_rule_format(&r, buf, sizeof(buf)),
				 (int)strlen(good[i].text));
		assert_string_equal(buf, good[i].text);
		assert_int_equal(parse(&back, buf, NULL), 0);
		assert_memory_equal(&back, &r, sizeof(r));
	}
}

static void rule_parse_refuses_any(void **state)
{
	static const char *const any[] = {
		"any", "*", "all", "always", "every", "from 1.*", "from 1.x", "from *", "from 1.X",
		"from 1.2.*", "from >1.2", "from ^1.2", "from ~1.2", "*.*.*", "from any", "any-to-any",
	};
	struct baton_policy_rule r;
	struct baton_diag d;
	size_t i;

	for (i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
		baton_diag_clear(&d);
		if (parse(&r, any[i], &d) != -EINVAL)
			fail_msg("accepted \"%s\"", any[i]);
		/* says why: there is no such rule, and which rules there are */
		if (!strstr(d.msg, "without naming them") || !strstr(d.msg, "same-build, patch"))
			fail_msg("\"%s\": %s", any[i], d.msg);
		assert_non_null(strstr(d.msg, any[i]));
	}
}

static void rule_parse_refuses_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *words;
	} bad[] = {
		{ "", "unknown policy rule" },
		{ "Patch", "unknown policy rule" },
		{ "patch ", "unknown policy rule" },
		{ " patch", "unknown policy rule" },
		{ "next-major", "unknown policy rule" },
		{ "from", "unknown policy rule" },
		{ "from ", "unknown policy rule" },
		{ "from 1", "after \"from\"" },
		{ "from 1.2.3.4", "after \"from\"" },
		{ "from 01.2", "after \"from\"" },
		{ "from 1.2-rc1", "after \"from\"" },
		{ "from  1.2", "after \"from\"" },
		{ "from 1.2 ", "after \"from\"" },
		{ "from 4294967296.0", "after \"from\"" },
		{ "from 1.2.3.", "after \"from\"" },
	};
	struct baton_policy_rule r;
	struct baton_diag d;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		baton_diag_clear(&d);
		if (parse(&r, bad[i].text, &d) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i].text);
		if (!strstr(d.msg, bad[i].words))
			fail_msg("\"%s\": %s", bad[i].text, d.msg);
		assert_int_equal(r.kind, 0);
	}
}

static void rule_format_limits(void **state)
{
	struct baton_policy_rule r = { BATON_POLICY_FROM_MINOR, { 1, 2, 0 } };
	struct baton_policy_rule p = { BATON_POLICY_PATCH, { 0, 0, 0 } };
	char buf[64];

	/* "from 1.2" is 8 characters: 9 bytes hold it, 8 do not */
	assert_int_equal(baton_policy_rule_format(&r, buf, 9), 8);
	assert_string_equal(buf, "from 1.2");
	assert_int_equal(baton_policy_rule_format(&r, buf, 8), -ENOSPC);
	assert_int_equal(baton_policy_rule_format(&p, buf, 6), 5);
	assert_int_equal(baton_policy_rule_format(&p, buf, 5), -ENOSPC);
	r.kind = 0;
	assert_int_equal(baton_policy_rule_format(&r, buf, sizeof(buf)), -EINVAL);
	r.kind = BATON_POLICY_FROM_RELEASE + 1;
	assert_int_equal(baton_policy_rule_format(&r, buf, sizeof(buf)), -EINVAL);
}

static void rule_check(void **state)
{
	struct baton_policy_rule r = { BATON_POLICY_FROM_MINOR, { 1, 2, 3 } };
	struct baton_diag d;

	assert_int_equal(baton_policy_rule_check(&r, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "from A.B.C"));
	r.from.patch = 0;
	assert_int_equal(baton_policy_rule_check(&r, &d), 0);
	r.kind = 0;
	assert_int_equal(baton_policy_rule_check(&r, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown policy rule kind 0"));
	r.kind = 99;
	assert_int_equal(baton_policy_rule_check(&r, &d), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Decisions                                                                */

struct rel {
	struct baton_release r;
	struct baton_build_id b;
};

static struct rel rel(uint32_t major, uint32_t minor, uint32_t patch, const char *build)
{
	struct rel x = { { major, minor, patch }, { 0 } };

	if (build)
		assert_int_equal(baton_build_id_parse(&x.b, build, strlen(build), NULL), 0);
	return x;
}

static enum baton_path_verdict decide(const char *const *rules, struct rel reader, struct rel writer,
				      struct baton_path_decision *out)
{
	struct baton_policy_rule r[BATON_MAX_POLICY_RULES];
	struct baton_policy p = { r, 0 };
	enum baton_path_verdict v;

	for (; rules && rules[p.nrules]; p.nrules++)
		assert_int_equal(parse(&r[p.nrules], rules[p.nrules], NULL), 0);
	memset(out, 0x5a, sizeof(*out));
	v = baton_policy_decide(&p, &reader.r, &reader.b, &writer.r, &writer.b, out);
	assert_int_equal(v, out->verdict);
	return v;
}

static void assert_reason_names(const struct baton_path_decision *dec, const char *a,
				const char *b)
{
	if (a && !strstr(dec->reason, a))
		fail_msg("reason does not name %s: %s", a, dec->reason);
	if (b && !strstr(dec->reason, b))
		fail_msg("reason does not name %s: %s", b, dec->reason);
}

static void decide_same_build(void **state)
{
	static const char *const policy[] = { "same-build", NULL };
	static const char *const no_same[] = { "patch", "next-minor", NULL };
	struct baton_path_decision dec;

	assert_int_equal(decide(policy, rel(1, 2, 3, "aa11"), rel(1, 2, 3, "aa11"), &dec),
			 BATON_PATH_ACCEPT);
	assert_int_equal(dec.rule, 0);
	assert_reason_names(&dec, "1.2.3", "aa11");

	/* another build of the same release */
	assert_int_equal(decide(policy, rel(1, 2, 3, "aa11"), rel(1, 2, 3, "bb22"), &dec),
			 BATON_PATH_OTHER_BUILD);
	assert_int_equal(dec.rule, -1);
	assert_reason_names(&dec, "aa11", "bb22");
	assert_reason_names(&dec, "1.2.3", "different");

	/* an unknown build on either side, or both */
	assert_int_equal(decide(policy, rel(1, 2, 3, "aa11"), rel(1, 2, 3, NULL), &dec),
			 BATON_PATH_OTHER_BUILD);
	assert_reason_names(&dec, "1.2.3", "unknown");
	assert_int_equal(decide(policy, rel(1, 2, 3, NULL), rel(1, 2, 3, "aa11"), &dec),
			 BATON_PATH_OTHER_BUILD);
	assert_reason_names(&dec, "1.2.3", "unknown");
	assert_int_equal(decide(policy, rel(1, 2, 3, NULL), rel(1, 2, 3, NULL), &dec),
			 BATON_PATH_OTHER_BUILD);

	/* the identical build, but the policy does not list same-build */
	assert_int_equal(decide(no_same, rel(1, 2, 3, "aa11"), rel(1, 2, 3, "aa11"), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.2.3", "add same-build");
	/* same-build accepts nothing forward */
	assert_int_equal(decide(policy, rel(1, 2, 4, "aa11"), rel(1, 2, 3, "aa11"), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.2.3", "1.2.4");
}

static void decide_patch(void **state)
{
	static const char *const policy[] = { "patch", NULL };
	struct baton_path_decision dec;

	assert_int_equal(decide(policy, rel(1, 2, 5, NULL), rel(1, 2, 3, NULL), &dec),
			 BATON_PATH_ACCEPT);
	assert_int_equal(dec.rule, 0);
	assert_reason_names(&dec, "1.2.3 to 1.2.5", "patch");
	assert_int_equal(decide(policy, rel(1, 2, 1, NULL), rel(1, 2, 0, NULL), &dec),
			 BATON_PATH_ACCEPT);

	/* another minor or major is not a patch */
	assert_int_equal(decide(policy, rel(1, 3, 0, NULL), rel(1, 2, 9, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.2.9", "1.3.0");
	assert_reason_names(&dec, "no earlier 1.3.x", NULL);
	assert_int_equal(decide(policy, rel(2, 2, 5, NULL), rel(1, 2, 3, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.2.3", "2.2.5");
	assert_reason_names(&dec, "patch (2.2.0 to 2.2.4)", NULL);
	assert_int_equal(dec.rule, -1);
}

static void decide_next_minor(void **state)
{
	static const char *const policy[] = { "next-minor", NULL };
	struct baton_path_decision dec;

	assert_int_equal(decide(policy, rel(1, 3, 0, NULL), rel(1, 2, 7, NULL), &dec),
			 BATON_PATH_ACCEPT);
	assert_reason_names(&dec, "1.2.7 to 1.3.0", "next-minor");
	assert_int_equal(decide(policy, rel(1, 3, 4, NULL), rel(1, 2, 0, NULL), &dec),
			 BATON_PATH_ACCEPT);

	/* two minors back, or a patch within the minor, is not next-minor */
	assert_int_equal(decide(policy, rel(1, 3, 0, NULL), rel(1, 1, 0, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.1.0", "1.3.0");
	assert_reason_names(&dec, "next-minor (1.2.*)", NULL);
	assert_int_equal(decide(policy, rel(1, 3, 2, NULL), rel(1, 3, 1, NULL), &dec),
			 BATON_PATH_UNLISTED);
	/* minor 0: next-minor does not reach into the previous major */
	assert_int_equal(decide(policy, rel(2, 0, 0, NULL), rel(1, 9, 9, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.9.9", "2.0.0");
	assert_reason_names(&dec, "no 2.x series precedes 2.0", NULL);
	assert_int_equal(decide(policy, rel(2, 0, 0, NULL), rel(1, 4294967295u, 0, NULL), &dec),
			 BATON_PATH_UNLISTED);
}

static void decide_from_minor(void **state)
{
	static const char *const policy[] = { "from 1.0", NULL };
	static const char *const cross[] = { "from 0.9", NULL };
	struct baton_path_decision dec;

	assert_int_equal(decide(policy, rel(1, 5, 0, NULL), rel(1, 0, 7, NULL), &dec),
			 BATON_PATH_ACCEPT);
	assert_reason_names(&dec, "1.0.7 to 1.5.0", "from 1.0");
	assert_int_equal(decide(policy, rel(1, 5, 0, NULL), rel(1, 1, 0, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.1.0", "from 1.0 (1.0.*)");
	/* a from rule may cross a major */
	assert_int_equal(decide(cross, rel(1, 0, 0, NULL), rel(0, 9, 4, NULL), &dec),
			 BATON_PATH_ACCEPT);
	assert_int_equal(decide(cross, rel(1, 0, 0, NULL), rel(0, 8, 4, NULL), &dec),
			 BATON_PATH_UNLISTED);
}

static void decide_from_release(void **state)
{
	static const char *const policy[] = { "from 0.9.3", NULL };
	struct baton_path_decision dec;

	assert_int_equal(decide(policy, rel(1, 0, 0, NULL), rel(0, 9, 3, NULL), &dec),
			 BATON_PATH_ACCEPT);
	assert_reason_names(&dec, "0.9.3 to 1.0.0", "from 0.9.3");
	assert_int_equal(decide(policy, rel(1, 0, 0, NULL), rel(0, 9, 2, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "0.9.2", "1.0.0");
	assert_int_equal(decide(policy, rel(1, 0, 0, NULL), rel(0, 9, 4, NULL), &dec),
			 BATON_PATH_UNLISTED);
}

static void decide_downgrade_always_refused(void **state)
{
	static const char *const every[] = {
		"same-build", "patch", "next-minor", "from 2.0", "from 1.2.5", "from 1.3", NULL,
	};
	struct baton_path_decision dec;

	/* from 2.0 lists 2.0.1's series, but 2.0.1 is newer than the reader */
	assert_int_equal(decide(every, rel(1, 0, 0, NULL), rel(2, 0, 1, NULL), &dec),
			 BATON_PATH_DOWNGRADE);
	assert_int_equal(dec.rule, -1);
	assert_reason_names(&dec, "2.0.1 to 1.0.0", "downgrade");
	assert_int_equal(decide(every, rel(1, 2, 3, "aa"), rel(1, 2, 5, "aa"), &dec),
			 BATON_PATH_DOWNGRADE);
	assert_reason_names(&dec, "1.2.5 to 1.2.3", "downgrade");
	assert_int_equal(decide(every, rel(1, 2, 3, NULL), rel(1, 3, 0, NULL), &dec),
			 BATON_PATH_DOWNGRADE);
	assert_int_equal(decide(every, rel(1, 2, 3, NULL), rel(1, 2, 4, NULL), &dec),
			 BATON_PATH_DOWNGRADE);
}

static void decide_unlisted_and_empty(void **state)
{
	static const char *const policy[] = { "patch", "from 1.0.0", NULL };
	struct baton_release reader = { 2, 0, 0 }, writer = { 1, 5, 0 };
	struct baton_path_decision dec;

	assert_int_equal(decide(policy, rel(2, 0, 0, NULL), rel(1, 5, 0, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.5.0 to 2.0.0", "not a supported path");
	assert_reason_names(&dec, "patch (no earlier 2.0.x exists)", "from 1.0.0");
	/* the first accepting rule is reported */
	assert_int_equal(decide(policy, rel(2, 0, 0, NULL), rel(1, 0, 0, NULL), &dec),
			 BATON_PATH_ACCEPT);
	assert_int_equal(dec.rule, 1);

	/* an empty policy, or none at all, accepts nothing */
	assert_int_equal(decide(NULL, rel(2, 0, 0, NULL), rel(1, 5, 0, NULL), &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "the policy is empty", NULL);
	assert_int_equal(baton_policy_decide(NULL, &reader, NULL, &writer, NULL, &dec),
			 BATON_PATH_UNLISTED);
	assert_reason_names(&dec, "1.5.0 to 2.0.0", "the policy is empty");
	assert_int_equal(baton_policy_decide(NULL, &reader, NULL, &reader, NULL, &dec),
			 BATON_PATH_OTHER_BUILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_parse_accepts_and_round_trips),
		cmocka_unit_test(rule_parse_refuses_any),
		cmocka_unit_test(rule_parse_refuses_malformed),
		cmocka_unit_test(rule_format_limits),
		cmocka_unit_test(rule_check),
		cmocka_unit_test(decide_same_build),
		cmocka_unit_test(decide_patch),
		cmocka_unit_test(decide_next_minor),
		cmocka_unit_test(decide_from_minor),
		cmocka_unit_test(decide_from_release),
		cmocka_unit_test(decide_downgrade_always_refused),
		cmocka_unit_test(decide_unlisted_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
