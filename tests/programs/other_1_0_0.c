/* SPDX-License-Identifier: MIT */
/* other 1.0.0: another program with app's contracts; app's state never goes to it. */
#include "app.h"

BATON_PROGRAM("other", 1, 0, 0, BATON_SAME_BUILD, BATON_PATCH);
BATON_SCHEMA(APP_CACHE, "app.cache", 1, APP_CACHE_V1);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 1), BATON_READS(APP_CACHE, 1));
BATON_HANDLER("app.listener", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));

APP_MAIN("other 1.0.0")
