/* SPDX-License-Identifier: MIT */
/*
 * DOC: core basics — diagnostics, bounded strings, names and contract UUIDs
 *
 * The smallest pieces every other core file uses. Nothing here allocates or
 * calls the system; vsnprintf is the one libc formatting routine the core
 * relies on (freestanding ports supply their own).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <baton/core.h>

#include "internal.h"

int baton_diag_set(struct baton_diag *d, int code, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (!d)
		return code;
	d->code = code;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	/*
	 * Messages quote text from hostile input (names from a catalog, a
	 * release from an image); keep them one line that cannot drive a
	 * terminal.
	 */
	for (p = d->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return code;
}

void baton_diag_clear(struct baton_diag *d)
{
	if (!d)
		return;
	d->code = 0;
	d->msg[0] = '\0';
}

void baton__appendf(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*pos = (size_t)n >= size - *pos ? size - 1 : *pos + (size_t)n;
}

size_t baton_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int baton_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (size == 0)
		return -ENAMETOOLONG;
	n = baton_strnlen(src, size);
	if (n >= size) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int baton__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int baton_uuid_parse(baton_uuid *out, const char *s, size_t len)
{
	size_t i, j = 0;

	if (len != BATON_UUID_STRLEN)
		return -EINVAL;
	for (i = 0; i < len;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = baton__hexval(s[i]);
		lo = i + 1 < len ? baton__hexval(s[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out->b[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return j == 16 ? 0 : -EINVAL;
}

void baton_uuid_format(const baton_uuid *u, char out[BATON_UUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u->b[i] >> 4];
		out[o++] = hex[u->b[i] & 0xf];
	}
	out[o] = '\0';
}

int baton_uuid_cmp(const baton_uuid *a, const baton_uuid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b));
}

bool baton_uuid_is_nil(const baton_uuid *u)
{
	size_t i;

	for (i = 0; i < sizeof(u->b); i++)
		if (u->b[i])
			return false;
	return true;
}

bool baton_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= BATON_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (alnum)
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return false;
	}
	return true;
}
