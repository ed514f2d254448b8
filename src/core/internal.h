/* SPDX-License-Identifier: MIT */
/*
 * DOC: core internals — helpers shared by the core's files, not part of the API
 */
#ifndef BATON_CORE_INTERNAL_H
#define BATON_CORE_INTERNAL_H

#include <stddef.h>

#include <baton/core.h>
#include <baton/image.h>

/* The value of one hex digit, or -1. */
int baton__hexval(char c);

/* Appends formatted text at *pos of buf (size bytes), truncating safely. */
void baton__appendf(char *buf, size_t size, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * baton_image_check_fields(), for fields of a catalog that baton_catalog_open()
 * has checked already (trusted): each field's own check is skipped, since
 * baton_bind() runs this once per object against the same few schemas.
 */
int baton__image_check_fields(const struct baton_image *img, int fields_node,
			      const struct baton_field *fields, size_t nfields,
			      baton_schema_fn schema, void *schema_ctx, bool trusted,
			      struct baton_diag *d);

#endif /* BATON_CORE_INTERNAL_H */
