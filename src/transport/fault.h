/* SPDX-License-Identifier: MIT */
/*
 * DOC: fault injection — failing on purpose where nothing else can
 *
 * Points named after the call they stand in for (memfd_create, mmap, seal,
 * sendmsg, spawn, ...) sit in front of the system calls of the transport and
 * the runtime whose failure a test cannot otherwise provoke. Compiled in only
 * with -DBATON_FAULT_INJECTION=1 (meson option fault_injection) and armed by
 * the environment:
 *
 *   BATON_FAULT=name[:N][,name[:N]...]
 *
 * makes the Nth pass (1-based, default 1) through point `name` in this
 * process fail once, as the real call would, with the errno that point
 * documents. docs/runtime.md lists every point. A successor started by the
 * runtime does not inherit BATON_FAULT; BATON_FAULT_CHILD becomes its
 * BATON_FAULT instead.
 */
#ifndef BATON_TRANSPORT_FAULT_H
#define BATON_TRANSPORT_FAULT_H

#include <stdbool.h>

#if defined(BATON_FAULT_INJECTION) && BATON_FAULT_INJECTION
/* True when the point should fail now (and logs nothing: the caller does). */
bool baton__fault(const char *name);
/* Forgets the counters and reads BATON_FAULT again (tests). */
void baton__fault_reset(void);
#else
static inline bool baton__fault(const char *name)
{
	(void)name;
	return false;
}
static inline void baton__fault_reset(void)
{
}
#endif

/* Fails the statement's call with errno err when point name fires. */
#define BATON_FAULT(name) baton__fault(name)

#endif /* BATON_TRANSPORT_FAULT_H */
