/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton catalog I/O — getting catalogs in and out
 *
 * Layer 2. Reads a release's catalog from a program file's "baton_catalog"
 * ELF section and GNU build-id note (libelf), from the running program's own
 * memory, and from the canonical JSON form (json-c); writes the JSON form and
 * a text form for people. docs/catalog-format.md specifies both forms.
 */
#ifndef BATON_CATALOG_IO_H
#define BATON_CATALOG_IO_H

#include <stdio.h>

#include <baton/catalog.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_CATALOG_JSON_FORMAT "baton-catalog-1"

/* A catalog that owns its records. */
struct baton_catalog_file {
	struct baton_catalog cat;
	void *records;        /* 8-byte aligned copy of the records */
	size_t len;
	char *origin;         /* path, or "self" */
};

/* Reads FILE as an ELF program or, failing the ELF magic, as a JSON catalog. */
int baton_catalog_load(const char *path, struct baton_catalog_file **out, struct baton_diag *d);
int baton_catalog_load_elf(const char *path, struct baton_catalog_file **out, struct baton_diag *d);
int baton_catalog_load_json(const char *path, struct baton_catalog_file **out, struct baton_diag *d);
/* From JSON text in memory (len bytes, no NUL needed). */
int baton_catalog_from_json(const char *text, size_t len, struct baton_catalog_file **out,
			    struct baton_diag *d);
/*
 * The running program's own catalog: pass BATON_SELF_RECORDS and
 * BATON_SELF_RECORDS_LEN; the build id is read from the program's loaded
 * GNU build-id note.
 */
int baton_catalog_load_self(const void *records, size_t len, struct baton_catalog_file **out,
			    struct baton_diag *d);
void baton_catalog_file_free(struct baton_catalog_file *f);

/* The canonical JSON form (fixed key order, two-space indent, trailing newline); malloc'd. */
int baton_catalog_to_json(const struct baton_catalog *cat, char **out, struct baton_diag *d);
/* The form for people. */
int baton_catalog_print(const struct baton_catalog *cat, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* BATON_CATALOG_IO_H */
