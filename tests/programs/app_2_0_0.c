/* SPDX-License-Identifier: MIT */
/*
 * app 2.0.0: a new major that accepts the last 1.x series only (from 1.2).
 * The cache moves to version 3; the listener's handler was rewritten under
 * a new name, app.sockets, and adopts 1.2's listener objects by contract.
 */
#include "app.h"

BATON_PROGRAM("app", 2, 0, 0, BATON_SAME_BUILD, BATON_FROM(1, 2));
BATON_SCHEMA(APP_CACHE, "app.cache", 2, APP_CACHE_V2);
BATON_SCHEMA(APP_CACHE, "app.cache", 3, APP_CACHE_V3);
BATON_SCHEMA(APP_LISTENER, "app.listener", 1, APP_LISTENER_V1);
BATON_HANDLER("app.cache", BATON_WRITES(APP_CACHE, 3), BATON_READS(APP_CACHE, 2, 3));
BATON_HANDLER("app.sockets", BATON_WRITES(APP_LISTENER, 1), BATON_READS(APP_LISTENER, 1));

APP_MAIN("app 2.0.0")
