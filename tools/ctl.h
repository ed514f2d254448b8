/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — the client side of a program's control socket
 *
 * Shared by `baton upgrade` and `baton status` (implemented in
 * cmd_upgrade.c): finding the socket of a TARGET (a path, or a pid whose
 * listening Unix sockets are looked up in /proc), and exchanging control
 * messages (src/core/msg.h) over it.
 */
#ifndef BATON_TOOLS_CTL_H
#define BATON_TOOLS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <baton/core.h>

#include "core/msg.h"

struct ctl_status {
	char program[BATON_NAME_MAX];
	char release[BATON_RELEASE_STRMAX];
	struct baton_build_id build_id;
	int pid;
	uint64_t generation;
	bool restored;
	char writer_program[BATON_NAME_MAX];
	char writer_release[BATON_RELEASE_STRMAX];
	struct baton_build_id writer_build_id;
	uint64_t writer_generation;
	uint64_t frozen_at_ns, restored_at_ns;   /* CLOCK_MONOTONIC */
};

/* TARGET (a path, or a pid) to the control socket's path. */
int ctl_resolve(const char *target, char *path, size_t size, char *err, size_t errsize);
int ctl_connect(const char *path, char *err, size_t errsize);
int ctl_send(int fd, const void *buf, size_t len);
/* One whole, parsed message into buf (BATON_MSG_MAX bytes). */
int ctl_recv(int fd, uint8_t *buf, struct baton_msg *m, int timeout_ms, char *err, size_t errsize);
int ctl_status(const char *path, struct ctl_status *s, char *err, size_t errsize);

#endif /* BATON_TOOLS_CTL_H */
