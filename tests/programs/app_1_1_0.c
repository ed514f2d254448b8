/* SPDX-License-Identifier: MIT */
/*
 * app 1.1.0: the next minor. The cache gains a field, so it writes version 2
 * and reads 1 (with an upgrade step) and 2. The optional stats are gone: a
 * 1.0 release's stats objects are dropped on update, as 1.0 allows.
 */
#include "app.h"

BATON_PROGRAM("app", 1, 1, 0, BATON_SAME_BUILD, BATON_PATCH, BATON_NEXT_MINOR);
BATON_SCHEMA(APP_CACHE, "app.cache", 1, APP_CACHE_V1);
BATON_SCHEMA(APP_CACHE, "app.cache", 2, APP_CACHE_V2);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 2), BATON_READS(APP_CACHE, 1, 2));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));

APP_MAIN("app 1.1.0")
