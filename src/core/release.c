/* SPDX-License-Identifier: MIT */
/*
 * DOC: core releases — MAJOR.MINOR.PATCH and build ids
 *
 * A release is three decimal numbers; a build id tells two builds of one
 * release apart. Build ids come from the GNU build-id note of the program
 * (catalog layer); here they are only bytes to compare and print.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <baton/core.h>

#include "internal.h"

static int parse_number(const char **p, const char *end, uint32_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;  /* leading zero */
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
		s++;
	}
	*p = s;
	*out = (uint32_t)v;
	return 0;
}

int baton_release_parse(struct baton_release *out, const char *s, size_t len,
			struct baton_diag *d)
{
	const char *p = s, *end = s + len;
	uint32_t v[3];
	int i, rc;

	for (i = 0; i < 3; i++) {
		rc = parse_number(&p, end, &v[i]);
		if (rc < 0)
			goto bad;
		if (i < 2) {
			if (p >= end || *p != '.')
				goto bad;
			p++;
		}
	}
	if (p != end)
		goto bad;
	out->major = v[0];
	out->minor = v[1];
	out->patch = v[2];
	return 0;
bad:
	return baton_diag_set(d, -EINVAL,
			      "release \"%.*s\" is not MAJOR.MINOR.PATCH (three decimal numbers without leading zeros, e.g. 1.2.0)",
			      (int)(len > 64 ? 64 : len), s);
}

int baton_release_cmp(const struct baton_release *a, const struct baton_release *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

int baton_release_format(const struct baton_release *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%u.%u.%u", r->major, r->minor, r->patch);

	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int baton_build_id_parse(struct baton_build_id *out, const char *s, size_t len,
			 struct baton_diag *d)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len % 2 || len / 2 > BATON_BUILD_ID_MAX)
		return baton_diag_set(d, -EINVAL,
				      "build id \"%.*s\" is not an even number of hex digits up to %d bytes",
				      (int)(len > 80 ? 80 : len), s, BATON_BUILD_ID_MAX);
	for (i = 0; i < len; i += 2) {
		int hi = baton__hexval(s[i]), lo = baton__hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return baton_diag_set(d, -EINVAL, "build id \"%.*s\" is not hexadecimal",
					      (int)(len > 80 ? 80 : len), s);
		out->b[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	out->len = (uint32_t)(len / 2);
	return 0;
}

int baton_build_id_format(const struct baton_build_id *id, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (id->len == 0 || id->len > BATON_BUILD_ID_MAX) {
		if (size < sizeof("unknown"))
			return -ENOSPC;
		memcpy(buf, "unknown", sizeof("unknown"));
		return (int)sizeof("unknown") - 1;
	}
	if (size < (size_t)id->len * 2 + 1)
		return -ENOSPC;
	for (i = 0; i < id->len; i++) {
		buf[2 * i] = hex[id->b[i] >> 4];
		buf[2 * i + 1] = hex[id->b[i] & 0xf];
	}
	buf[2 * id->len] = '\0';
	return (int)id->len * 2;
}

bool baton_build_id_equal(const struct baton_build_id *a, const struct baton_build_id *b)
{
	if (!a || !b || a->len == 0 || a->len != b->len || a->len > BATON_BUILD_ID_MAX)
		return false;
	return memcmp(a->b, b->b, a->len) == 0;
}
