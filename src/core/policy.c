/* SPDX-License-Identifier: MIT */
/*
 * DOC: core policies — which writer releases a reader accepts (rule 4)
 *
 * A policy is a short list of narrow forward paths. A downgrade is refused
 * before any rule is looked at; within one release only the identical build
 * may hand over, and only when the policy says same-build; a forward path
 * must be listed by a rule. Nothing can express "any release to any
 * release", and the parser says so when someone tries.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <baton/core.h>

#include "internal.h"

static bool text_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

static bool text_has_char(const char *s, size_t len, char c)
{
	return memchr(s, c, len) != NULL;
}

/* Spellings that would mean "any release"; refused with a reason. */
static bool means_any(const char *s, size_t len)
{
	static const char *const words[] = {
		"any", "all", "always", "every", "any-to-any", "anything",
		"from any", "from all",
	};
	size_t i;

	if (text_has_char(s, len, '*'))
		return true;
	if (len > 5 && memcmp(s, "from ", 5) == 0) {
		static const char wild[] = "xX><^~";

		for (i = 0; i < sizeof(wild) - 1; i++)
			if (text_has_char(s + 5, len - 5, wild[i]))
				return true;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (text_is(s, len, words[i]))
			return true;
	return false;
}

/* Parses "A.B" into from (patch 0); 0 or -EINVAL. */
static int parse_minor(const char *s, size_t len, struct baton_release *from)
{
	char buf[BATON_RELEASE_STRMAX + 4];

	if (len + 2 >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	memcpy(buf + len, ".0", 2);
	return baton_release_parse(from, buf, len + 2, NULL);
}

int baton_policy_rule_parse(struct baton_policy_rule *out, const char *s, size_t len,
			    struct baton_diag *d)
{
	const int shown = (int)(len > 64 ? 64 : len);
	size_t dots = 0, i;

	memset(out, 0, sizeof(*out));
	if (means_any(s, len))
		return baton_diag_set(d, -EINVAL,
				      "policy rule \"%.*s\" would accept releases without naming them; "
				      "baton has no such rule: list narrow forward paths "
				      "(same-build, patch, next-minor, from A.B, from A.B.C)",
				      shown, s);
	if (text_is(s, len, "same-build")) {
		out->kind = BATON_POLICY_SAME_BUILD;
		return 0;
	}
	if (text_is(s, len, "patch")) {
		out->kind = BATON_POLICY_PATCH;
		return 0;
	}
	if (text_is(s, len, "next-minor")) {
		out->kind = BATON_POLICY_NEXT_MINOR;
		return 0;
	}
	if (len > 5 && memcmp(s, "from ", 5) == 0) {
		const char *r = s + 5;
		size_t rlen = len - 5;

		for (i = 0; i < rlen; i++)
			dots += r[i] == '.';
		if (dots == 1 && parse_minor(r, rlen, &out->from) == 0) {
			out->kind = BATON_POLICY_FROM_MINOR;
			return 0;
		}
		if (dots == 2 && baton_release_parse(&out->from, r, rlen, NULL) == 0) {
			out->kind = BATON_POLICY_FROM_RELEASE;
			return 0;
		}
		memset(out, 0, sizeof(*out));
		return baton_diag_set(d, -EINVAL,
				      "policy rule \"%.*s\": after \"from\" comes one release series A.B "
				      "or one release A.B.C (decimal, no leading zeros)",
				      shown, s);
	}
	return baton_diag_set(d, -EINVAL,
			      "unknown policy rule \"%.*s\": expected same-build, patch, next-minor, "
			      "from A.B or from A.B.C",
			      shown, s);
}

int baton_policy_rule_format(const struct baton_policy_rule *r, char *buf, size_t size)
{
	const char *word = NULL;
	int n = 0;

	switch (r->kind) {
	case BATON_POLICY_SAME_BUILD:
		word = "same-build";
		break;
	case BATON_POLICY_PATCH:
		word = "patch";
		break;
	case BATON_POLICY_NEXT_MINOR:
		word = "next-minor";
		break;
	case BATON_POLICY_FROM_MINOR:
		n = snprintf(buf, size, "from %u.%u", r->from.major, r->from.minor);
		break;
	case BATON_POLICY_FROM_RELEASE:
		n = snprintf(buf, size, "from %u.%u.%u", r->from.major, r->from.minor,
			     r->from.patch);
		break;
	default:
		return -EINVAL;
	}
	if (word) {
		if (baton_strlcpy(buf, word, size) < 0)
			return -ENOSPC;
		return (int)strlen(word);
	}
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int baton_policy_rule_check(const struct baton_policy_rule *r, struct baton_diag *d)
{
	switch (r->kind) {
	case BATON_POLICY_SAME_BUILD:
	case BATON_POLICY_PATCH:
	case BATON_POLICY_NEXT_MINOR:
		return 0;
	case BATON_POLICY_FROM_MINOR:
		if (r->from.patch != 0)
			return baton_diag_set(d, -EINVAL,
					      "policy rule \"from %u.%u\" carries a patch number (%u); use from A.B.C for one release",
					      r->from.major, r->from.minor, r->from.patch);
		return 0;
	case BATON_POLICY_FROM_RELEASE:
		return 0;
	default:
		return baton_diag_set(d, -EINVAL, "unknown policy rule kind %u", r->kind);
	}
}

/* Appends what one rule accepts into a reader release, for refusals. */
static void describe_rule(char *buf, size_t size, size_t *pos, const struct baton_policy_rule *r,
			  const struct baton_release *reader)
{
	switch (r->kind) {
	case BATON_POLICY_SAME_BUILD:
		baton__appendf(buf, size, pos, "same-build (the identical build of %u.%u.%u)",
			       reader->major, reader->minor, reader->patch);
		break;
	case BATON_POLICY_PATCH:
		if (reader->patch == 0)
			baton__appendf(buf, size, pos, "patch (no earlier %u.%u.x exists)",
				       reader->major, reader->minor);
		else
			baton__appendf(buf, size, pos, "patch (%u.%u.0 to %u.%u.%u)", reader->major,
				       reader->minor, reader->major, reader->minor, reader->patch - 1);
		break;
	case BATON_POLICY_NEXT_MINOR:
		if (reader->minor == 0)
			baton__appendf(buf, size, pos, "next-minor (no %u.x series precedes %u.0)",
				       reader->major, reader->major);
		else
			baton__appendf(buf, size, pos, "next-minor (%u.%u.*)", reader->major,
				       reader->minor - 1);
		break;
	case BATON_POLICY_FROM_MINOR:
		baton__appendf(buf, size, pos, "from %u.%u (%u.%u.*)", r->from.major, r->from.minor,
			       r->from.major, r->from.minor);
		break;
	case BATON_POLICY_FROM_RELEASE:
		baton__appendf(buf, size, pos, "from %u.%u.%u", r->from.major, r->from.minor,
			       r->from.patch);
		break;
	default:
		baton__appendf(buf, size, pos, "(unknown rule %u)", r->kind);
		break;
	}
}

static void describe_policy(char *buf, size_t size, size_t *pos, const struct baton_policy *p,
			    const struct baton_release *reader)
{
	size_t i;

	if (!p || p->nrules == 0) {
		baton__appendf(buf, size, pos, "nothing (the policy is empty)");
		return;
	}
	for (i = 0; i < p->nrules; i++) {
		if (i)
			baton__appendf(buf, size, pos, ", ");
		describe_rule(buf, size, pos, &p->rules[i], reader);
	}
}

static bool rule_accepts_forward(const struct baton_policy_rule *r,
				 const struct baton_release *reader,
				 const struct baton_release *writer)
{
	switch (r->kind) {
	case BATON_POLICY_PATCH:
		return writer->major == reader->major && writer->minor == reader->minor &&
		       writer->patch < reader->patch;
	case BATON_POLICY_NEXT_MINOR:
		return writer->major == reader->major && reader->minor > 0 &&
		       writer->minor == reader->minor - 1;
	case BATON_POLICY_FROM_MINOR:
		return writer->major == r->from.major && writer->minor == r->from.minor;
	case BATON_POLICY_FROM_RELEASE:
		return baton_release_cmp(writer, &r->from) == 0;
	default:
		return false;
	}
}

enum baton_path_verdict
baton_policy_decide(const struct baton_policy *policy,
		    const struct baton_release *reader, const struct baton_build_id *reader_build,
		    const struct baton_release *writer, const struct baton_build_id *writer_build,
		    struct baton_path_decision *out)
{
	static const struct baton_build_id unknown_build;
	char rbuild[2 * BATON_BUILD_ID_MAX + 1], wbuild[2 * BATON_BUILD_ID_MAX + 1];
	const size_t size = sizeof(out->reason);
	size_t pos = 0, i, nrules = policy ? policy->nrules : 0;
	int cmp = baton_release_cmp(writer, reader);

	out->rule = -1;
	out->reason[0] = '\0';
	/* a missing build id is an unknown one */
	if (!reader_build)
		reader_build = &unknown_build;
	if (!writer_build)
		writer_build = &unknown_build;

	if (cmp > 0) {
		out->verdict = BATON_PATH_DOWNGRADE;
		baton__appendf(out->reason, size, &pos,
			       "%u.%u.%u to %u.%u.%u is a downgrade: a release never takes state "
			       "written by a newer one",
			       writer->major, writer->minor, writer->patch,
			       reader->major, reader->minor, reader->patch);
		return out->verdict;
	}

	if (cmp == 0) {
		bool same = baton_build_id_equal(reader_build, writer_build);

		baton_build_id_format(writer_build, wbuild, sizeof(wbuild));
		baton_build_id_format(reader_build, rbuild, sizeof(rbuild));
		if (!same) {
			out->verdict = BATON_PATH_OTHER_BUILD;
			baton__appendf(out->reason, size, &pos,
				       "%u.%u.%u (build %s) to %u.%u.%u (build %s): same release, "
				       "%s build; within one release only the identical build may hand over",
				       writer->major, writer->minor, writer->patch, wbuild,
				       reader->major, reader->minor, reader->patch, rbuild,
				       (writer_build && writer_build->len && reader_build &&
					reader_build->len) ? "different" : "unknown");
			return out->verdict;
		}
		for (i = 0; i < nrules; i++) {
			if (policy->rules[i].kind == BATON_POLICY_SAME_BUILD) {
				out->verdict = BATON_PATH_ACCEPT;
				out->rule = (int)i;
				baton__appendf(out->reason, size, &pos,
					       "%u.%u.%u to the identical build (%s) is accepted by same-build",
					       reader->major, reader->minor, reader->patch, rbuild);
				return out->verdict;
			}
		}
		out->verdict = BATON_PATH_UNLISTED;
		baton__appendf(out->reason, size, &pos,
			       "%u.%u.%u to the identical build is not a supported path: the policy of "
			       "%u.%u.%u accepts ",
			       reader->major, reader->minor, reader->patch,
			       reader->major, reader->minor, reader->patch);
		describe_policy(out->reason, size, &pos, policy, reader);
		baton__appendf(out->reason, size, &pos, "; add same-build to accept it");
		return out->verdict;
	}

	for (i = 0; i < nrules; i++) {
		char rule[48];

		if (!rule_accepts_forward(&policy->rules[i], reader, writer))
			continue;
		out->verdict = BATON_PATH_ACCEPT;
		out->rule = (int)i;
		baton_policy_rule_format(&policy->rules[i], rule, sizeof(rule));
		baton__appendf(out->reason, size, &pos, "%u.%u.%u to %u.%u.%u is accepted by %s",
			       writer->major, writer->minor, writer->patch,
			       reader->major, reader->minor, reader->patch, rule);
		return out->verdict;
	}
	out->verdict = BATON_PATH_UNLISTED;
	baton__appendf(out->reason, size, &pos,
		       "%u.%u.%u to %u.%u.%u is not a supported path: the policy of %u.%u.%u accepts ",
		       writer->major, writer->minor, writer->patch,
		       reader->major, reader->minor, reader->patch,
		       reader->major, reader->minor, reader->patch);
	describe_policy(out->reason, size, &pos, policy, reader);
	return out->verdict;
}
