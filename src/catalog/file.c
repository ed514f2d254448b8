/* SPDX-License-Identifier: MIT */
/*
 * DOC: catalog files — catalogs that own their records, and choosing a reader
 *
 * Every way into the catalog layer ends here: the records, wherever they came
 * from, are copied into an 8-byte aligned buffer that the catalog file owns
 * and checked by baton_catalog_open(), the same core code for all sources.
 * baton_catalog_load() picks the reader by the file's first bytes: the ELF
 * magic means a program, an opening brace a JSON catalog.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <baton/catalog_io.h>

#include "internal.h"

int baton__diag_prefix(struct baton_diag *d, int rc, const char *origin)
{
	char inner[BATON_DIAG_MAX];
	size_t n;

	if (!d)
		return rc;
	memcpy(inner, d->msg, sizeof(inner));
	inner[sizeof(inner) - 1] = '\0';
	n = strlen(origin);
	if (n > BATON__ORIGIN_SHOWN)
		return baton_diag_set(d, rc, "...%s: %s", origin + n - BATON__ORIGIN_SHOWN, inner);
	return baton_diag_set(d, rc, "%s: %s", origin, inner);
}

int baton__file_new(const void *records, size_t len, const struct baton_build_id *build_id,
		    const char *origin, struct baton_catalog_file **out, struct baton_diag *d)
{
	struct baton_catalog_file *f;
	int rc;

	*out = NULL;
	if (len > BATON_CATALOG_MAX_SIZE)
		return baton_diag_set(d, -E2BIG, "catalog of %zu bytes exceeds the limit of %u", len,
				      BATON_CATALOG_MAX_SIZE);
	f = calloc(1, sizeof(*f));
	if (!f)
		return baton_diag_set(d, -ENOMEM, "out of memory");
	f->origin = strdup(origin);
	/* 8 bytes is the records' alignment; one spare byte keeps len 0 legal */
	if (!f->origin || posix_memalign(&f->records, 8, len ? len : 8) != 0) {
		rc = baton_diag_set(d, -ENOMEM, "out of memory");
		goto fail;
	}
	if (len)
		memcpy(f->records, records, len);
	f->len = len;
	rc = baton_catalog_open(&f->cat, f->records, f->len, build_id, d);
	if (rc < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	baton_catalog_file_free(f);
	return rc;
}

void baton_catalog_file_free(struct baton_catalog_file *f)
{
	if (!f)
		return;
	free(f->records);
	free(f->origin);
	free(f);
}

int baton__read_file(const char *path, size_t max, char **buf, size_t *len, struct baton_diag *d)
{
	size_t cap = 4096, n = 0;
	char *p = NULL;
	struct stat st;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return baton_diag_set(d, -errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = baton_diag_set(d, -errno, "%s: cannot stat: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = baton_diag_set(d, -EISDIR, "%s is a directory, not a catalog", path);
		goto fail;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = baton_diag_set(d, -E2BIG, "%s: %lld bytes exceeds the limit of %zu for a catalog",
				    path, (long long)st.st_size, max);
		goto fail;
	}
	if (S_ISREG(st.st_mode))
		cap = (size_t)st.st_size + 2;  /* the NUL, and room to see the end */
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || !p) {
			char *q;

			if (p)
				cap *= 2;
			q = realloc(p, cap);
			if (!q) {
				rc = baton_diag_set(d, -ENOMEM, "%s: out of memory", path);
				goto fail;
			}
			p = q;
		}
		r = read(fd, p + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = baton_diag_set(d, -errno, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			rc = baton_diag_set(d, -E2BIG, "%s: more than %zu bytes; too large for a catalog",
					    path, max);
			goto fail;
		}
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	free(p);
	close(fd);
	return rc;
}

int baton_catalog_load(const char *path, struct baton_catalog_file **out, struct baton_diag *d)
{
	unsigned char head[64];
	ssize_t n;
	size_t i;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return baton_diag_set(d, -errno, "%s: cannot open: %s", path, strerror(errno));
	do
		n = read(fd, head, sizeof(head));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int rc = -errno;

		close(fd);
		if (rc == -EISDIR)
			return baton_diag_set(d, rc, "%s is a directory, not a program or a catalog", path);
		return baton_diag_set(d, rc, "%s: cannot read: %s", path, strerror(-rc));
	}
	close(fd);
	if (n >= 4 && memcmp(head, "\177ELF", 4) == 0)
		return baton_catalog_load_elf(path, out, d);
	for (i = 0; i < (size_t)n; i++) {
		if (head[i] == '{')
			return baton_catalog_load_json(path, out, d);
		if (head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && head[i] != '\r')
			break;
	}
	if (n == 0)
		return baton_diag_set(d, -ENOEXEC,
				      "%s is empty: expected a program (ELF) or a JSON catalog", path);
	return baton_diag_set(d, -ENOEXEC,
			      "%s is neither a program (no ELF magic) nor a JSON catalog (does not start with '{')",
			      path);
}

/* ------------------------------------------------------------------------ */
/* Text buffers                                                             */

static void text_reserve(struct baton__text *t, size_t n)
{
	size_t cap;
	char *p;

	if (t->err)
		return;
	if (t->len + n + 1 <= t->cap)
		return;
	cap = t->cap ? t->cap : 1024;
	while (cap < t->len + n + 1)
		cap *= 2;
	p = realloc(t->p, cap);
	if (!p) {
		t->err = -ENOMEM;
		return;
	}
	t->p = p;
	t->cap = cap;
}

void baton__text_put(struct baton__text *t, const char *s, size_t n)
{
	text_reserve(t, n);
	if (t->err)
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

void baton__text_printf(struct baton__text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->err = t->err ? t->err : -EINVAL;
		return;
	}
	text_reserve(t, (size_t)n);
	if (t->err)
		return;
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void baton__text_json_string(struct baton__text *t, const char *s, size_t n)
{
	size_t i;

	baton__text_put(t, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			baton__text_put(t, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			baton__text_printf(t, "\\u%04x", c);
		} else {
			baton__text_put(t, (const char *)&c, 1);
		}
	}
	baton__text_put(t, "\"", 1);
}
