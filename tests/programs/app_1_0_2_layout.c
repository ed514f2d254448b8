/* SPDX-License-Identifier: MIT */
/*
 * A broken 1.0.2: it widened the cache's name and narrowed nitems but kept
 * calling the layout version 1. baton check reports the layout change.
 */
#include "app.h"

BATON_PROGRAM("app", 1, 0, 2, BATON_SAME_BUILD, BATON_PATCH);
BATON_SCHEMA(APP_CACHE, "app.cache", 1, BATON_FIELD_U32("nitems"), BATON_FIELD_STRING("name", 64));
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_SCHEMA(APP_STATS, "app.stats", 1, APP_STATS_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 1), BATON_READS(APP_CACHE, 1));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));
BATON_HANDLER("app.stats", BATON_WRITES_OPTIONAL(APP_STATS, 1), BATON_READS(APP_STATS, 1));

APP_MAIN("app 1.0.2 (layout changed without a version bump)")
