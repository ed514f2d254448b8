/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd — a memcached text-protocol cache that upgrades live
 *
 * One process, one thread, one epoll loop. Items and the index live in one
 * memory region (store.h); what lives in process memory is small and is
 * handed over as fields of baton objects (handover.c): the settings, the
 * request counters, and per connection its fd and the bytes it was sent but
 * not yet answered or is owed but not yet written.
 *
 * Files: main.c (options, start), server.c (event loop, connections),
 * proto.c (the memcached text protocol), store.c (items, slabs, hash, LRU
 * in the region), handover.c (baton: the region, and what crosses an
 * upgrade), contracts.h (the catalog: releases, policies, schemas).
 */
#ifndef KVD_H
#define KVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#ifndef KVD_MAJOR
#define KVD_MAJOR 1
#define KVD_MINOR 0
#define KVD_PATCH 0
#endif
#define KVD_STR_(x) #x
#define KVD_STR(x) KVD_STR_(x)
#define KVD_RELEASE KVD_STR(KVD_MAJOR) "." KVD_STR(KVD_MINOR) "." KVD_STR(KVD_PATCH)

/* The version of the kvd.cache contract this release writes (contracts.h). */
#ifndef KVD_CACHE_VERSION
#define KVD_CACHE_VERSION 1
#endif
/* The region layout it writes: the same number as the contract version. */
#define KVD_LAYOUT KVD_CACHE_VERSION

#define KVD_MAX_LISTENERS 8
#define KVD_IN_CHUNK (16u << 10)    /* least free space for one read */
#define KVD_OUT_HIGH (1u << 20)     /* stop answering a client owed this much */
#define KVD_LINE_SOFT 2048u         /* longest line other than get's */
#define KVD_LINE_MAX (1u << 20)     /* longest get line */
#define KVD_READ_BUDGET 16          /* reads per client per loop turn */

/*
 * Request counters kept in process memory. The list of kvd.cache version 1
 * is frozen (its schema is an ABI); later ones append to KVD_COUNTERS_NEW.
 */
#define KVD_COUNTERS_V1(X) \
	X(total_connections) X(rejected_connections) X(cmd_get) X(cmd_set) \
	X(cmd_flush) X(cmd_touch) X(get_hits) X(get_misses) X(get_expired) \
	X(get_flushed) X(delete_misses) X(delete_hits) X(incr_misses) X(incr_hits) \
	X(decr_misses) X(decr_hits) X(cas_misses) X(cas_hits) X(cas_badval) \
	X(touch_hits) X(touch_misses) X(store_too_large) X(store_no_memory) \
	X(bytes_read) X(bytes_written)
/* Counters new in kvd.stats version 1 (kvd 1.1). */
#define KVD_COUNTERS_NEW(X) X(cmd_gat) X(gat_hits) X(gat_misses)

struct kvd_stats {
#define KVD_X_FIELD(n) uint64_t n;
	KVD_COUNTERS_V1(KVD_X_FIELD)
	KVD_COUNTERS_NEW(KVD_X_FIELD)
#undef KVD_X_FIELD
};

struct kvd_settings {
	uint16_t port;
	char listen[256];            /* -l: comma-separated addresses */
	uint64_t limit;              /* -m, bytes */
	uint32_t maxconns;           /* -c */
	uint64_t item_size_max;      /* -I, bytes */
	int verbose;                 /* -v */
	const char *control;         /* --control */
	const char *verify;          /* --verify: a dry run's expectations file */
};

struct kvd_buf {
	char *data;
	size_t pos, len, cap;   /* live bytes are data[pos, len) */
};

enum kvd_watch_kind { KVD_W_LISTENER = 1, KVD_W_CONN, KVD_W_BATON, KVD_W_SIGNAL };

struct kvd_watch {
	enum kvd_watch_kind kind;
};

struct kvd_listener {
	struct kvd_watch w;
	int fd;
	char addr[64];
	uint16_t port;
};

struct kvd_conn {
	struct kvd_watch w;
	int fd;
	uint64_t id;
	struct kvd_buf in;      /* received, not yet answered */
	struct kvd_buf out;     /* answered, not yet written */
	uint64_t swallow;       /* bytes of a refused value still to discard */
	bool close_after_write; /* quit, EOF, or a fatal error */
	bool readable;          /* may have more to read (edge-triggered) */
	bool ready;             /* on the ready list */
	bool want_out;          /* EPOLLOUT is asked for */
	bool noreply;           /* the command being answered said noreply */
	uint32_t opened_at;
	char peer[64];
	struct kvd_conn *next_ready;
	struct kvd_conn *prev, *next;
};

struct kvd_server {
	struct kvd_settings set;
	struct kvd_store st;
	struct kvd_stats stats;
	int epfd;
	struct kvd_listener listeners[KVD_MAX_LISTENERS];
	int nlisteners;
	struct kvd_conn *conns;
	uint32_t nconns;
	uint64_t next_conn_id;
	struct kvd_conn *ready_head, *ready_tail;
	bool frozen;                 /* an upgrade is saving state: no I/O */
	bool stopping;
	uint32_t started_at;         /* this process */
	/* Where the state came from (baton). */
	uint64_t generation;
	char state_from[32];
	uint64_t frozen_at_ns;       /* the writer froze (CLOCK_MONOTONIC) */
	uint64_t downtime_us;         /* freeze to first answer, after an upgrade */
	bool awaiting_first_answer;
	void *baton;                 /* struct kvd_handover (handover.c) */
};

extern struct kvd_server *kvd_srv;

void kvd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* buffers */
int kvd_buf_reserve(struct kvd_buf *b, size_t more);
void kvd_buf_free(struct kvd_buf *b);
static inline size_t kvd_buf_used(const struct kvd_buf *b)
{
	return b->len - b->pos;
}

/* server.c */
int kvd_listen(struct kvd_server *s);
int kvd_serve(struct kvd_server *s);
struct kvd_conn *kvd_conn_adopt(struct kvd_server *s, int fd, uint64_t id);
void kvd_conn_close(struct kvd_server *s, struct kvd_conn *c);
int kvd_listener_adopt(struct kvd_server *s, int fd, const char *addr, uint16_t port);
uint32_t kvd_now(void);
uint64_t kvd_mono_ns(void);

/* proto.c */
/* Answers every complete request buffered in c->in; 0, or -1 to close now. */
int kvd_process(struct kvd_server *s, struct kvd_conn *c);
/*
 * After an upgrade: the first answer ends the downtime (freeze to first
 * answered request). When no request was waiting, being ready to answer
 * ends it instead.
 */
void kvd_note_answer(struct kvd_server *s, const char *what);

#endif /* KVD_H */
