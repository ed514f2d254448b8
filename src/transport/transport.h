/* SPDX-License-Identifier: MIT */
/*
 * DOC: transport — how an image and its fds travel to the next process
 *
 * Layer 3, internal to libbaton. The default carrier is a successor handoff
 * over a Unix SOCK_SEQPACKET socket in the abstract namespace: message
 * boundaries are kept by the kernel, so every message (core/msg.h) arrives
 * whole or not at all, and file descriptors ride along as SCM_RIGHTS, at most
 * BATON_SCM_MAX_FDS per message (the kernel's SCM_MAX_FD). The image itself
 * travels as a memfd sealed against writing, shrinking and growing; the
 * reader refuses to map one whose seals are missing.
 *
 * The socket in the abstract namespace has no file permissions at all: who
 * may speak on it is decided by the credentials the kernel reports for the
 * peer (SO_PEERCRED), which the runtime checks before it sends a byte.
 *
 * Every function returns 0 (or a non-negative fd) or a negative errno and,
 * where given one, says what failed in a struct baton_diag.
 */
#ifndef BATON_TRANSPORT_H
#define BATON_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <baton/core.h>

#define BATON_SCM_MAX_FDS 253          /* SCM_MAX_FD in the kernel */
#define BATON_HANDOFF_NAME_MAX 100     /* abstract socket names, without the leading NUL */
#define BATON_IMAGE_SEALS_NEEDED 0xf   /* F_SEAL_SEAL|SHRINK|GROW|WRITE */

/* The monotonic clock in nanoseconds. */
uint64_t baton_now_ns(void);

/*
 * A listening SOCK_SEQPACKET socket under a fresh random abstract name
 * ("baton-handoff-PID-RANDOM"), non-blocking and close-on-exec. name gets the
 * text form that baton_tp_connect() takes (what the env variable carries).
 */
int baton_tp_listen(char *name, size_t size, struct baton_diag *d);
int baton_tp_connect(const char *name, struct baton_diag *d);
/* Accepts one connection and reports the peer's credentials. */
int baton_tp_accept(int listener, struct ucred *cred, struct baton_diag *d);
int baton_tp_peercred(int sock, struct ucred *cred);

/* Sends one message with up to BATON_SCM_MAX_FDS descriptors. */
int baton_tp_send(int sock, const void *msg, size_t len, const int *fds, size_t nfds,
		  struct baton_diag *d);
/*
 * Receives one message of at most size bytes and up to maxfds descriptors
 * (close-on-exec), waiting at most timeout_ms (-1: forever). Also polls
 * watch_fd (a pidfd, or -1): when it fires first, -ECHILD. End of stream is
 * -EPIPE; a truncated message or a truncated fd list is -EMSGSIZE (and any
 * fds that came are closed); a deadline is -ETIMEDOUT.
 */
int baton_tp_recv(int sock, void *buf, size_t size, size_t *len, int *fds, size_t maxfds,
		  size_t *nfds, int timeout_ms, int watch_fd, struct baton_diag *d);

/*
 * The fd table of an image after the IMAGE message: FDS messages of at most
 * BATON_SCM_MAX_FDS descriptors each, every message saying which indexes it
 * carries. recv_fds checks that the batches come in order and complete, and
 * closes what it got on any failure.
 */
int baton_tp_send_fds(int sock, const int *fds, size_t n, struct baton_diag *d);
int baton_tp_recv_fds(int sock, int *fds, size_t n, int timeout_ms, int watch_fd,
		      struct baton_diag *d);

/*
 * The image memfd. create: a memfd of size bytes that allows sealing, mapped
 * shared and writable at *map. seal: unmaps, cuts the file to len bytes and
 * adds F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_GROW and F_SEAL_SEAL.
 * map: checks that fd is such a sealed memfd of exactly len bytes and maps
 * it read-only; unmap with munmap(map, len).
 */
int baton_tp_image_create(size_t size, int *fd, void **map, struct baton_diag *d);
int baton_tp_image_seal(int fd, void *map, size_t size, size_t len, struct baton_diag *d);
int baton_tp_image_map(int fd, size_t len, const void **map, struct baton_diag *d);

/* Closes n fds of an array that are >= 0 and sets them to -1. */
void baton_tp_close_all(int *fds, size_t n);

#endif /* BATON_TRANSPORT_H */
