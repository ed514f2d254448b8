/* SPDX-License-Identifier: MIT */
/*
 * DOC: catalog layer internals — helpers shared by the files of src/catalog
 *
 * Not part of the API. The catalog layer turns bytes from outside (a
 * program file, our own memory, a JSON file) into a struct
 * baton_catalog_file whose records the core has checked.
 */
#ifndef BATON_CATALOG_INTERNAL_H
#define BATON_CATALOG_INTERNAL_H

#include <stddef.h>

#include <baton/catalog_io.h>

/*
 * The largest JSON catalog read. Real catalogs are a few kilobytes; json-c
 * spends tens of bytes of memory per byte of hostile input, so the bound is
 * lower than BATON_CATALOG_MAX_SIZE for records.
 */
#define BATON__JSON_MAX_SIZE (4u << 20)
/* The core's per-record limits (src/core/catalog.c), checked before allocating. */
#define BATON__MAX_FIELDS 1024
#define BATON__MAX_READS 256
/* How much of a path or origin a message shows. */
#define BATON__ORIGIN_SHOWN 200

/*
 * Copies len bytes of records into an 8-byte aligned buffer of a new
 * catalog file and opens it with baton_catalog_open(). On failure the
 * core's words are in d, not yet prefixed with the origin.
 */
int baton__file_new(const void *records, size_t len, const struct baton_build_id *build_id,
		    const char *origin, struct baton_catalog_file **out, struct baton_diag *d);

/* Rewrites d->msg as "ORIGIN: msg"; returns rc. */
int baton__diag_prefix(struct baton_diag *d, int rc, const char *origin);

/*
 * Reads a whole file of at most max bytes into a malloc'd buffer (NUL
 * added, not counted in *len). Errors name the path.
 */
int baton__read_file(const char *path, size_t max, char **buf, size_t *len, struct baton_diag *d);

/* A growing text buffer; the first allocation failure sticks in err. */
struct baton__text {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

void baton__text_put(struct baton__text *t, const char *s, size_t n);
void baton__text_printf(struct baton__text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string, quotes included. */
void baton__text_json_string(struct baton__text *t, const char *s, size_t n);

#endif /* BATON_CATALOG_INTERNAL_H */
