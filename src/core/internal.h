/* SPDX-License-Identifier: MIT */
/*
 * DOC: core internals — helpers shared by the core's files, not part of the API
 */
#ifndef BATON_CORE_INTERNAL_H
#define BATON_CORE_INTERNAL_H

#include <stddef.h>

#include <baton/core.h>

/* The value of one hex digit, or -1. */
int baton__hexval(char c);

/* Appends formatted text at *pos of buf (size bytes), truncating safely. */
void baton__appendf(char *buf, size_t size, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* BATON_CORE_INTERNAL_H */
