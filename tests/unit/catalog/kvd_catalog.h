/* SPDX-License-Identifier: MIT */
/*
 * DOC: the catalog of a small kvd-like release, for the catalog-layer tests
 *
 * Include it in exactly one .c file of a program: it declares the program
 * record. It uses every field type, a nested schema, a handler that writes
 * nothing, an optional contract and a handler that reads two versions.
 */
#ifndef KVD_CATALOG_H
#define KVD_CATALOG_H

#include <baton/catalog.h>

#define KVD_CACHE "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
#define KVD_ENTRY "0b7a6c1e-2d3f-4a5b-9c8d-7e6f5a4b3c2d"
#define KVD_CONN "A1B2C3D4-E5F6-4789-8ABC-DEF012345678" /* upper case on purpose */

BATON_PROGRAM("kvd", 1, 1, 0, BATON_PATCH, BATON_NEXT_MINOR, BATON_FROM(1, 0),
	      BATON_FROM_RELEASE(0, 9, 3), BATON_SAME_BUILD);

BATON_SCHEMA(KVD_ENTRY, "kvd.entry", 1,
	     BATON_FIELD_STRING("key", 250),
	     BATON_FIELD_BYTES("digest", 16),
	     BATON_FIELD_U32("flags"));

BATON_SCHEMA(KVD_CACHE, "kvd.cache", 1,
	     BATON_FIELD_U64("nitems"),
	     BATON_FIELD_REGION("data"));

BATON_SCHEMA(KVD_CACHE, "kvd.cache", 2,
	     BATON_FIELD_U64("nitems"),
	     BATON_FIELD_REGION("data"),
	     BATON_FIELD_ARRAY("shards", BATON_T_U32, 64),
	     BATON_FIELD_SCHEMA("last", KVD_ENTRY, 1),
	     BATON_FIELD_I64("epoch"),
	     BATON_FIELD_BOOL("warm"));

BATON_SCHEMA(KVD_CONN, "kvd.conn", 1,
	     BATON_FIELD_FD("sock"),
	     BATON_FIELD_U8("state"),
	     BATON_FIELD_I8("prio"),
	     BATON_FIELD_U16("port"),
	     BATON_FIELD_I16("delta"),
	     BATON_FIELD_I32("offset"),
	     BATON_FIELD_ARRAY("window", BATON_T_BOOL, 8));

BATON_HANDLER("kvd.cache", BATON_WRITES(KVD_CACHE, 2), BATON_READS(KVD_CACHE, 1, 2));
BATON_HANDLER("kvd.conn", BATON_WRITES_OPTIONAL(KVD_CONN, 1), BATON_READS(KVD_CONN, 1));
BATON_HANDLER("kvd.adopt", BATON_WRITES_NOTHING, BATON_READS(KVD_ENTRY, 1));

#endif /* KVD_CATALOG_H */
