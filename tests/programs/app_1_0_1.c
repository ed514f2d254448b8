/* SPDX-License-Identifier: MIT */
/* app 1.0.1: a patch release; same contracts as 1.0.0, which it accepts (patch). */
#include "app.h"

BATON_PROGRAM("app", 1, 0, 1, BATON_SAME_BUILD, BATON_PATCH);
BATON_SCHEMA(APP_CACHE, "app.cache", 1, APP_CACHE_V1);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_SCHEMA(APP_STATS, "app.stats", 1, APP_STATS_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 1), BATON_READS(APP_CACHE, 1));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));
BATON_HANDLER("app.stats", BATON_WRITES_OPTIONAL(APP_STATS, 1), BATON_READS(APP_STATS, 1));

APP_MAIN("app 1.0.1")
