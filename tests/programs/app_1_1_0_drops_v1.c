/* SPDX-License-Identifier: MIT */
/*
 * A broken 1.1.0: it dropped cache version 1 from its reads although its
 * policy (next-minor) accepts 1.0.*, which writes version 1. baton check
 * reports the cache as unbound.
 */
#include "app.h"

BATON_PROGRAM("app", 1, 1, 0, BATON_SAME_BUILD, BATON_PATCH, BATON_NEXT_MINOR);
BATON_SCHEMA(APP_CACHE, "app.cache", 2, APP_CACHE_V2);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 2), BATON_READS(APP_CACHE, 2));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));

APP_MAIN("app 1.1.0 (drops cache version 1)")
