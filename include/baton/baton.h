/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton — hand a running program's state to its next release
 *
 * The umbrella header. core.h, catalog.h, image.h and check.h are the core
 * (pure computation, no system calls); catalog_io.h reads and writes
 * catalogs; runtime.h runs the live-update life cycle inside a program.
 */
#ifndef BATON_BATON_H
#define BATON_BATON_H

#include <baton/core.h>
#include <baton/catalog.h>
#include <baton/image.h>
#include <baton/check.h>
#include <baton/history.h>
#include <baton/catalog_io.h>
#include <baton/runtime.h>

#endif /* BATON_BATON_H */
