/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd contracts — what each release hands to the next, declared once
 *
 * Include in exactly one .c file (it declares the program record). The
 * UUIDs were generated once and are fixed forever: they, not the handler
 * names, decide which handler of the next release adopts an object. A
 * schema below is an ABI: changing one under the same (contract, version) is
 * the error "layout changed without a version bump" that `baton check`
 * finds. Add a version instead, and an upgrade step.
 *
 *   kvd.cache     the region (items and index, store.h) and, as fields, its
 *                 geometry, the size limits and the request counters.
 *                 v1: kvd 0.9 and 1.0; region layout 1.
 *                 v2: kvd 1.1; region layout 2 (items carry their last LRU
 *                 bump time, classes carry statistics), an LRU bump interval,
 *                 and the counters moved into a nested kvd.stats object with
 *                 new ones. 1.1 reads v1 through kvd_cache_v1_to_v2().
 *   kvd.stats     v1: the counters, nested in kvd.cache v2.
 *   kvd.listener  v1: a listening socket (fd, address, port).
 *   kvd.conn      v1: a client connection: fd, the bytes it sent that were
 *                 not answered yet and the bytes it is owed that were not
 *                 written yet (both in a region shared by the update's
 *                 connections), and the rest of its protocol state.
 *
 * Policies: 0.9.0 accepts same-build and patch; 1.0.0 also "from 0.9" (a
 * major step is no next-minor, so the path from 0.9 is listed explicitly);
 * 1.1.0 accepts same-build, patch and next-minor — so 1.0 to 1.1 is a
 * supported path, while 0.9 to 1.1 (two steps at once) and any downgrade
 * are refused before anything stops.
 */
#ifndef KVD_CONTRACTS_H
#define KVD_CONTRACTS_H

#include <baton/catalog.h>

#include "kvd.h"

#define KVD_CACHE "428f268d-538e-4465-acc1-e51d81f78de5"
#define KVD_STATS "3b8152d4-cdf0-4cd5-b566-7a9b3b5a0c86"
#define KVD_LISTENER "91465714-9d81-4d62-ab38-8f7f65526a7f"
#define KVD_CONN "d157e552-ccc2-4604-b1c9-571c6bcd5e74"

/*
 * Whether a release that writes kvd.cache v2 still reads v1 (and has the
 * step). Every shipped release does; the test suite builds a 1.1.0 without
 * it to show that the supported 1.0.0 path then breaks.
 */
#ifndef KVD_READS_CACHE_V1
#define KVD_READS_CACHE_V1 1
#endif

#if KVD_MAJOR == 0
BATON_PROGRAM("kvd", KVD_MAJOR, KVD_MINOR, KVD_PATCH, BATON_SAME_BUILD, BATON_PATCH);
#elif KVD_MAJOR == 1 && KVD_MINOR == 0
BATON_PROGRAM("kvd", KVD_MAJOR, KVD_MINOR, KVD_PATCH, BATON_SAME_BUILD, BATON_PATCH,
	      BATON_FROM(0, 9));
#else
BATON_PROGRAM("kvd", KVD_MAJOR, KVD_MINOR, KVD_PATCH, BATON_SAME_BUILD, BATON_PATCH,
	      BATON_NEXT_MINOR);
#endif

#define KVD_GEOMETRY_FIELDS \
	BATON_FIELD_REGION("region"), \
	BATON_FIELD_U32("layout"), \
	BATON_FIELD_U64("region_size"), \
	BATON_FIELD_U64("hash_offset"), \
	BATON_FIELD_U64("hash_buckets"), \
	BATON_FIELD_U64("pages_offset"), \
	BATON_FIELD_U64("page_size"), \
	BATON_FIELD_U64("npages"), \
	BATON_FIELD_U64("limit_maxbytes"), \
	BATON_FIELD_U64("item_size_max")

#define KVD_X_SCHEMA_FIELD(n) BATON_FIELD_U64(#n),

/* Frozen: kvd 0.9 and 1.0 write it, 1.1 reads it. */
BATON_SCHEMA(KVD_CACHE, "kvd.cache", 1,
	     KVD_GEOMETRY_FIELDS,
	     KVD_COUNTERS_V1(KVD_X_SCHEMA_FIELD));

#if KVD_CACHE_VERSION >= 2
BATON_SCHEMA(KVD_STATS, "kvd.stats", 1,
	     KVD_COUNTERS_V1(KVD_X_SCHEMA_FIELD)
	     KVD_COUNTERS_NEW(KVD_X_SCHEMA_FIELD));

BATON_SCHEMA(KVD_CACHE, "kvd.cache", 2,
	     KVD_GEOMETRY_FIELDS,
	     BATON_FIELD_U32("lru_bump_interval"),
	     BATON_FIELD_SCHEMA("stats", KVD_STATS, 1));

#if KVD_READS_CACHE_V1
BATON_HANDLER("kvd.cache", BATON_WRITES(KVD_CACHE, 2), BATON_READS(KVD_CACHE, 1, 2));
#else
/* A release that deleted the read of version 1 and its step (rule 7; tests). */
BATON_HANDLER("kvd.cache", BATON_WRITES(KVD_CACHE, 2), BATON_READS(KVD_CACHE, 2));
#endif
#else
BATON_HANDLER("kvd.cache", BATON_WRITES(KVD_CACHE, 1), BATON_READS(KVD_CACHE, 1));
#endif

BATON_SCHEMA(KVD_LISTENER, "kvd.listener", 1,
	     BATON_FIELD_FD("fd"),
	     BATON_FIELD_STRING("address", 63),
	     BATON_FIELD_U32("port"));
BATON_HANDLER("kvd.listener", BATON_WRITES(KVD_LISTENER, 1), BATON_READS(KVD_LISTENER, 1));

/*
 * A connection's pending bytes travel in "buffers", one region per update
 * that every connection object of that update shares: input_offset and
 * output_offset are offsets into it. (Arrays in the image are capped at
 * 1 MiB; a client may be mid-way through sending a larger value.)
 */
BATON_SCHEMA(KVD_CONN, "kvd.conn", 1,
	     BATON_FIELD_FD("fd"),
	     BATON_FIELD_U64("id"),
	     BATON_FIELD_REGION("buffers"),
	     BATON_FIELD_U64("input_offset"),
	     BATON_FIELD_U64("input_length"),
	     BATON_FIELD_U64("output_offset"),
	     BATON_FIELD_U64("output_length"),
	     BATON_FIELD_U64("swallow"),
	     BATON_FIELD_BOOL("close_after_write"),
	     BATON_FIELD_U32("opened_at"),
	     BATON_FIELD_STRING("peer", 63));
BATON_HANDLER("kvd.conn", BATON_WRITES(KVD_CONN, 1), BATON_READS(KVD_CONN, 1));

#endif /* KVD_CONTRACTS_H */
