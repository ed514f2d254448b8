/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd verify — after a dry run, does the cache hold what its writer held?
 *
 * A dry run (BATON_DRY_RUN_IMAGE, or kvd --dry-run IMAGE) restores a golden
 * image without serving. These checks then look at what was restored:
 *
 * - the store on its own (always): every hash chain and LRU list is made of
 *   valid items of the right class and bucket, no chain loops, and the
 *   counts and byte totals of the header add up;
 * - against an expectations file (--verify FILE), written by the tool that
 *   made the golden image from what the writer's clients saw: the writer's
 *   release and generation, the listeners, header counts, request counters,
 *   every item (flags, exptime, length, CAS and an FNV-1a 64 of its value)
 *   and keys that must be absent (deleted, expired).
 *
 * The expectations file is text, one fact per line, '#' starts a comment:
 *
 *   kvd-expect 1                          first line: the format
 *   writer PROGRAM RELEASE GENERATION     the image's writer
 *   listener ADDRESS PORT                 one per listening socket
 *   header NAME VALUE                     curr_items, total_items, bytes, ...
 *   counter NAME VALUE                    cmd_get, get_hits, ... (stats names)
 *   item KEY FLAGS EXPTIME NBYTES CAS FNV1A64-HEX
 *   absent KEY
 *
 * Everything read from the region is bounds-checked first: a damaged cache
 * fails a check, it never crashes kvd.
 */
#ifndef KVD_VERIFY_H
#define KVD_VERIFY_H

#include "kvd.h"

/* What the dry run restored besides the cache region. */
struct kvd_restored {
	char writer_program[64];
	char writer_release[32];
	uint64_t writer_generation;
	int nlisteners;
	struct {
		char addr[64];
		uint16_t port;
	} listeners[KVD_MAX_LISTENERS];
	uint32_t nconns;
};

/* One check's outcome; detail is one line. */
typedef void (*kvd_check_fn)(void *ctx, const char *name, bool ok, const char *detail);

/*
 * The store's own consistency. Returns 0, or -1 with the first problem in
 * detail; *live gets the number of items neither expired nor flushed.
 */
int kvd_verify_store(const struct kvd_store *st, uint64_t *live, char *detail, size_t len);

/*
 * Compares the restored state with the expectations file at path, one
 * check per kind of line. Returns the number of failed checks, or -errno
 * when the file cannot be read or parsed (also reported as a failed check).
 */
int kvd_verify_expect(const struct kvd_server *s, const struct kvd_restored *r, const char *path,
		      kvd_check_fn fn, void *ctx);

/* FNV-1a, 64 bits: the value digest of the expectations file. */
uint64_t kvd_fnv1a64(const void *p, size_t n);

#endif /* KVD_VERIFY_H */
