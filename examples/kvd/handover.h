/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd handover — what kvd gives to and takes from the next release
 *
 * The only file that talks to the baton runtime. kvd_handover_start() runs
 * before kvd serves: on a cold start it creates the cache region and the
 * listeners; in a successor it adopts the predecessor's region, listeners
 * and connections as they are. The loop then polls kvd_handover_fd() and
 * calls kvd_handover_dispatch(), which serves upgrade requests.
 */
#ifndef KVD_HANDOVER_H
#define KVD_HANDOVER_H

#include "kvd.h"

#define KVD_COMMITTED 1
#define KVD_DRY_RUN 2

/*
 * 0 (cold or restored; the server is ready to serve), KVD_DRY_RUN (a dry
 * run ended: exit with kvd_handover_dry_status(), serve nothing) or a
 * negative errno.
 */
int kvd_handover_start(struct kvd_server *s, int argc, char **argv);
/* After KVD_DRY_RUN: the exit status (enum baton_dry_run_result). */
int kvd_handover_dry_status(struct kvd_server *s);
/* The fd to poll, or -1 when upgrades are not served. */
int kvd_handover_fd(struct kvd_server *s);
/* 0, KVD_COMMITTED (the successor serves: exit now) or a negative errno. */
int kvd_handover_dispatch(struct kvd_server *s);
void kvd_handover_free(struct kvd_server *s);

/* server.c */
void kvd_server_thaw(struct kvd_server *s);

#endif /* KVD_HANDOVER_H */
