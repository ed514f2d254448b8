/* SPDX-License-Identifier: MIT */
/*
 * DOC: test programs — the contracts of "app", shared by all its releases
 *
 * app is a pretend service whose releases exist only to be compared: each
 * app_*.c file is one release (or one deliberately broken variant of one),
 * declared with the catalog macros exactly as a real program would, and
 * built by the test suite. Its contracts:
 *
 *   app.cache     its data; v1 in 1.0, v2 (adds capacity) from 1.1, v3 in 2.0
 *   app.listener  its listening socket; v1 throughout
 *   app.stats     counters a successor may drop (written optional)
 *
 * A layout, once released under a (contract, version), never changes; the
 * field lists below are that promise, written once.
 */
#ifndef BATON_TESTS_APP_H
#define BATON_TESTS_APP_H

#include <stdio.h>

#include <baton/catalog.h>

#define APP_CACHE "a3c1f0e2-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
#define APP_LISTENER "b4d2e1f3-6c7e-4f80-9bac-1d2e3f4a5b6c"
#define APP_STATS "c5e3f2a4-7d8f-4091-acbd-2e3f4a5b6c7d"

#define APP_CACHE_V1 BATON_FIELD_U64("nitems"), BATON_FIELD_STRING("name", 32)
#define APP_CACHE_V2 APP_CACHE_V1, BATON_FIELD_U32("capacity")
#define APP_CACHE_V3 BATON_FIELD_U64("nitems"), BATON_FIELD_U32("capacity"), \
	BATON_FIELD_ARRAY("buckets", BATON_T_U32, 64)
#define APP_LISTENER_V1 BATON_FIELD_FD("sock"), BATON_FIELD_U16("port")
#define APP_STATS_V1 BATON_FIELD_U64("hits"), BATON_FIELD_U64("misses")

/* The programs do nothing but exist; main says which release this is. */
#define APP_MAIN(text)                \
	int main(void)                \
	{                             \
		puts(text);           \
		return 0;             \
	}

#endif
