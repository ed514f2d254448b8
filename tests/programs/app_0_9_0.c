/* SPDX-License-Identifier: MIT */
/* app 0.9.0: a pre-release; only the identical build may take its state. */
#include "app.h"

BATON_PROGRAM("app", 0, 9, 0, BATON_SAME_BUILD);
BATON_SCHEMA(APP_CACHE, "app.cache", 1, APP_CACHE_V1);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 1), BATON_READS(APP_CACHE, 1));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));

APP_MAIN("app 0.9.0")
