/* SPDX-License-Identifier: MIT */
/*
 * DOC: handover — what a live update costs against the number of objects
 *
 * baton promises that an update does not cost more with the data a program
 * holds in its regions. It does cost more with the number of objects: kvd
 * hands over one object per client connection. This program measures that
 * cost, in one run, for several numbers of objects of a kvd-like connection
 * schema (an fd, a region and nine scalar and string fields each):
 *
 *   inproc  the runtime's own code in one process, phase by phase: the old
 *           side's save, image build and seal (rt_update_save, what runs
 *           between freeze and send), the new side's verify (map and
 *           baton_image_open), bind, decode and restore (rt_restore_image).
 *           The fds are not sent: the new side uses the old side's (region
 *           memfds duplicated, since a region owns its fd), so this measures
 *           baton's work, not the kernel's fd passing. Each side's CPU time
 *           is shown too: on a loaded machine it varies much less than the
 *           wall time.
 *   e2e     a real update of a real process: `handover serve` holds N TCP
 *           connections from this process and is upgraded to itself (same
 *           build) by the real `baton upgrade --json`, N times in a row; the
 *           downtime (freeze to commit) and the steps come from baton, and
 *           every connection is checked to answer afterwards.
 *
 * Each figure is the median of several runs, with the minimum and maximum;
 * ratios between sizes come from the same run. Usage:
 *
 *   handover [inproc|e2e|all] [--sizes 10,100,1000] [--reps N] [--baton PATH] [--tcp]
 *   handover serve PORTFILE CONTROL_PATH      (the service e2e upgrades)
 *
 * --tcp: inproc gives every connection object a TCP connection of its own
 * (this process holds both ends, so the sizes must fit in half its fd
 * limit) instead of one socket for all: the per-fd system calls of the old
 * side then meet cold sockets, as in a real server.
 *
 * This program links the runtime's internals (src/runtime/rt.h) to time its
 * phases one by one; it is a benchmark, not an example of the API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <baton/baton.h>

#include "runtime/rt.h"
#include "transport/transport.h"

#ifndef BATON_PATH
#define BATON_PATH "baton"
#endif

/* ------------------------------------------------------------------------ */
/* The catalog: kvd's connection, listener and cache schemas, in spirit     */

#define B_LISTENER "9b1e5c70-44a1-4c2b-9d3e-6f7a8b9c0d01"
#define B_CONN "9b1e5c70-44a1-4c2b-9d3e-6f7a8b9c0d02"
#define B_CACHE "9b1e5c70-44a1-4c2b-9d3e-6f7a8b9c0d03"

BATON_SCHEMA(B_LISTENER, "bench.listener", 1, BATON_FIELD_FD("fd"),
	     BATON_FIELD_STRING("address", 63), BATON_FIELD_U32("port"));
BATON_SCHEMA(B_CONN, "bench.conn", 1,
	     BATON_FIELD_FD("fd"),
	     BATON_FIELD_U64("id"),
	     BATON_FIELD_REGION("buffers"),
	     BATON_FIELD_U64("input_offset"),
	     BATON_FIELD_U64("input_length"),
	     BATON_FIELD_U64("output_offset"),
	     BATON_FIELD_U64("output_length"),
	     BATON_FIELD_U64("swallow"),
	     BATON_FIELD_BOOL("close_after_write"),
	     BATON_FIELD_U32("opened_at"),
	     BATON_FIELD_STRING("peer", 63));
BATON_SCHEMA(B_CACHE, "bench.cache", 1, BATON_FIELD_REGION("region"),
	     BATON_FIELD_U64("items"), BATON_FIELD_U64("bytes"));
BATON_HANDLER("bench.listener", BATON_WRITES(B_LISTENER, 1), BATON_READS(B_LISTENER, 1));
BATON_HANDLER("bench.conn", BATON_WRITES(B_CONN, 1), BATON_READS(B_CONN, 1));
BATON_HANDLER("bench.cache", BATON_WRITES(B_CACHE, 1), BATON_READS(B_CACHE, 1));
BATON_PROGRAM("handover-bench", 1, 0, 0, BATON_SAME_BUILD);

#define MAX_SIZES 16
#define MAX_REPS 101
#define REGION_BYTES (4u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "handover: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ------------------------------------------------------------------------ */
/* The state a program holds, and its handlers                              */

struct conn {
	int fd;
	uint64_t id;
	char peer[64];
};

static struct {
	struct baton_rt *rt;
	int lfd;
	uint16_t port;
	struct conn *conns;
	size_t nconns, cap;
	struct baton_region *buffers, *cache;
	bool frozen, committed;
	uint64_t handler_ns;   /* time spent in the handlers' own calls, this update */
	uint64_t restored;     /* connection objects restored, this update */
	int *taken;            /* inproc: the fds the new side took */
	size_t ntaken;
	char debug[512];       /* the last "restore: bind ..." log line (inproc) */
} st;

static int listener_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o;
	int rc;

	(void)ctx;
	if ((rc = baton_save_object(s, "listener/tcp", 0, &o)) < 0 ||
	    (rc = baton_obj_set_fd(o, "fd", st.lfd)) < 0 ||
	    (rc = baton_obj_set_string(o, "address", "127.0.0.1", 9)) < 0 ||
	    (rc = baton_obj_set_uint(o, "port", st.port)) < 0)
		return rc;
	return 0;
}

static int listener_restore(void *ctx, const struct baton_obj *o)
{
	uint64_t port;

	int fd, rc;

	(void)ctx;
	if ((rc = baton_obj_take_fd(o, "fd", &fd)) < 0 ||
	    (rc = baton_obj_get_uint(o, "port", &port)) < 0)
		return rc;
	if (st.taken) {
		/* inproc: the old side's listener goes on being the old side's */
		st.taken[st.ntaken++] = fd;
		return 0;
	}
	st.lfd = fd;
	st.port = (uint16_t)port;
	return 0;
}

/* As kvd does: every field set, one object per connection. */
static int conn_save(void *ctx, struct baton_save *s)
{
	uint64_t t0 = now_ns();
	size_t i;
	int rc;

	(void)ctx;
	for (i = 0; i < st.nconns; i++) {
		struct conn *c = &st.conns[i];
		struct baton_obj *o;
		char key[64];

		snprintf(key, sizeof(key), "conn/%" PRIu64, c->id);
		if ((rc = baton_save_object(s, key, 0, &o)) < 0 ||
		    (rc = baton_obj_set_fd(o, "fd", c->fd)) < 0 ||
		    (rc = baton_obj_set_uint(o, "id", c->id)) < 0 ||
		    (rc = baton_obj_set_region(o, "buffers", st.buffers)) < 0 ||
		    (rc = baton_obj_set_uint(o, "input_offset", i * 64)) < 0 ||
		    (rc = baton_obj_set_uint(o, "input_length", 17)) < 0 ||
		    (rc = baton_obj_set_uint(o, "output_offset", i * 64 + 17)) < 0 ||
		    (rc = baton_obj_set_uint(o, "output_length", 0)) < 0 ||
		    (rc = baton_obj_set_uint(o, "swallow", 0)) < 0 ||
		    (rc = baton_obj_set_bool(o, "close_after_write", false)) < 0 ||
		    (rc = baton_obj_set_uint(o, "opened_at", 1700000000u + (uint32_t)i)) < 0 ||
		    (rc = baton_obj_set_string(o, "peer", c->peer, strlen(c->peer))) < 0)
			return rc;
	}
	st.handler_ns += now_ns() - t0;
	return 0;
}

static int conn_restore(void *ctx, const struct baton_obj *o)
{
	uint64_t t0 = now_ns(), id, v;
	struct baton_region *r;
	const char *peer;
	bool b;
	int fd, rc;

	(void)ctx;
	if ((rc = baton_obj_get_uint(o, "id", &id)) < 0 ||
	    (rc = baton_obj_get_uint(o, "input_offset", &v)) < 0 ||
	    (rc = baton_obj_get_uint(o, "input_length", &v)) < 0 ||
	    (rc = baton_obj_get_uint(o, "output_offset", &v)) < 0 ||
	    (rc = baton_obj_get_uint(o, "output_length", &v)) < 0 ||
	    (rc = baton_obj_get_uint(o, "swallow", &v)) < 0 ||
	    (rc = baton_obj_get_bool(o, "close_after_write", &b)) < 0 ||
	    (rc = baton_obj_get_uint(o, "opened_at", &v)) < 0 ||
	    (rc = baton_obj_get_string(o, "peer", &peer, NULL)) < 0 ||
	    (rc = baton_obj_get_region(o, "buffers", &r)) < 0 ||
	    (rc = baton_obj_take_fd(o, "fd", &fd)) < 0)
		return rc;
	if (st.taken) {
		/* inproc: the fd is the old side's; remember it, do not own it */
		st.taken[st.ntaken++] = fd;
	} else {
		struct conn *c;

		if (st.nconns == st.cap) {
			st.cap = st.cap ? st.cap * 2 : 1024;
			st.conns = realloc(st.conns, st.cap * sizeof(*st.conns));
			if (!st.conns)
				return -ENOMEM;
		}
		c = &st.conns[st.nconns++];
		c->fd = fd;
		c->id = id;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		st.buffers = r;
	}
	st.restored++;
	st.handler_ns += now_ns() - t0;
	return 0;
}

static int cache_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o;
	int rc;

	(void)ctx;
	if ((rc = baton_save_object(s, "cache/main", 0, &o)) < 0 ||
	    (rc = baton_obj_set_region(o, "region", st.cache)) < 0 ||
	    (rc = baton_obj_set_uint(o, "items", 12345)) < 0 ||
	    (rc = baton_obj_set_uint(o, "bytes", REGION_BYTES)) < 0)
		return rc;
	return 0;
}

static int cache_restore(void *ctx, const struct baton_obj *o)
{
	struct baton_region *r;
	int rc;

	(void)ctx;
	rc = baton_obj_get_region(o, "region", &r);
	if (rc == 0 && !st.taken)
		st.cache = r;   /* inproc: the old side's region stays the one saved */
	return rc;
}

static int on_freeze(void *ctx)
{
	(void)ctx;
	st.frozen = true;
	return 0;
}

static void on_thaw(void *ctx)
{
	(void)ctx;
	st.frozen = false;
}

static void on_commit(void *ctx)
{
	(void)ctx;
	st.committed = true;
}

static int quiet;   /* inproc: keep the runtime's info lines off the table */

static void log_cb(void *ctx, int level, const char *msg)
{
	/* the message alone, or after "program release[pid]: " (baton before 8365daf) */
	const char *t = strstr(msg, "restore: bind ");

	(void)ctx;
	if (t)
		snprintf(st.debug, sizeof(st.debug), "%s", t);
	if (level <= BATON_LOG_WARNING || (!quiet && level <= BATON_LOG_DEBUG))
		fprintf(stderr, "handover[%d] %d: %s\n", (int)getpid(), level, msg);
}

static struct baton_rt *rt_make(int argc, char **argv, const char *control)
{
	struct baton_handler_ops lops = { listener_save, listener_restore, NULL };
	struct baton_handler_ops cops = { conn_save, conn_restore, NULL };
	struct baton_handler_ops kops = { cache_save, cache_restore, NULL };
	struct baton_lifecycle_ops life = { on_freeze, on_thaw, on_commit, NULL };
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.control_path = control,
		.argc = argc,
		.argv = argv,
		.timeout_ms = 60000,
		.log = log_cb,
	};
	struct baton_rt *rt;

	if (baton_rt_new(&rt, &opt) < 0)
		die("baton_rt_new failed");
	baton_rt_set_lifecycle(rt, &life);
	if (baton_rt_register(rt, "bench.listener", &lops) < 0 ||
	    baton_rt_register(rt, "bench.conn", &cops) < 0 ||
	    baton_rt_register(rt, "bench.cache", &kops) < 0)
		die("register: %s", baton_rt_error(rt));
	return rt;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		die("listener: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */

struct stat3 {
	double med, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_REPS];
	struct stat3 r;

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

/* ------------------------------------------------------------------------ */
/* In process: the runtime's phases one by one                              */

enum { P_SAVE, P_HANDLERS_SAVE, P_VERIFY, P_BIND, P_DECODE, P_RESTORE, P_HANDLERS_RESTORE,
       P_OLD, P_NEW, P_TOTAL, P_OLD_CPU, P_NEW_CPU, P_MAX };

static const char *const phase_names[P_MAX] = {
	[P_SAVE] = "save+build+seal",
	[P_HANDLERS_SAVE] = "  of which handlers",
	[P_VERIFY] = "verify (map, open)",
	[P_BIND] = "bind",
	[P_DECODE] = "regions+decode",
	[P_RESTORE] = "steps+restore",
	[P_HANDLERS_RESTORE] = "  of which handlers",
	[P_OLD] = "old side",
	[P_NEW] = "new side",
	[P_TOTAL] = "both sides",
	[P_OLD_CPU] = "old side, cpu",
	[P_NEW_CPU] = "new side, cpu",
};

/*
 * This thread's CPU time: what the work cost, without the time it waited
 * for a core. On a loaded machine the wall time of a phase varies by half
 * from run to run; its CPU time much less (the "cpu" rows).
 */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One update of n connection objects (plus a listener and a cache), in ms per phase. */
static void inproc_once(struct baton_rt *old, struct baton_rt *new, size_t n, double *ms)
{
	struct baton_image img;
	struct baton_region *r;
	struct baton_diag d;
	char err[BATON_MESSAGE_MAX];
	const void *map = NULL;
	int image_fd = -1, *fds = NULL, *newfds, rc;
	size_t image_len = 0, nfds = 0;
	uint64_t t0, t1, t2, t3, t4, c0, c1, c2, c3;
	double bind, decode, restore;

	/*
	 * Each side starts with no free memory in its heap, as a successor (a
	 * new process) does and as an old process's first update does: the
	 * objects' pages are the kernel's to supply, as in a real update.
	 */
	malloc_trim(0);
	st.nconns = n;
	st.handler_ns = 0;
	/* as in an update to a successor, which is what old.c saves for */
	old->up.active = true;
	c0 = cpu_ns();
	t0 = now_ns();
	rc = rt_update_save(old, &image_fd, &image_len, &fds, &nfds, err, sizeof(err));
	t1 = now_ns();
	c1 = cpu_ns();
	old->up.active = false;
	if (rc < 0)
		die("save of %zu objects: %s", n, err);
	ms[P_HANDLERS_SAVE] = st.handler_ns / 1e6;

	c2 = cpu_ns();
	rc = baton_tp_image_map(image_fd, image_len, &map, &d);
	if (rc == 0)
		rc = baton_image_open(&img, map, image_len, &d);
	t2 = now_ns();
	c2 = cpu_ns() - c2;
	if (rc < 0)
		die("image of %zu objects: %s", n, d.msg);

	/* The new side's fds: the old side's, but a region owns its memfd. */
	newfds = malloc((nfds ? nfds : 1) * sizeof(*newfds));
	if (!newfds)
		die("out of memory");
	memcpy(newfds, fds, nfds * sizeof(*newfds));
	for (r = old->regions; r; r = r->next)
		if (r->fd_index != UINT32_MAX && r->fd_index < nfds)
			newfds[r->fd_index] = fcntl(fds[r->fd_index], F_DUPFD_CLOEXEC, 3);
	st.handler_ns = 0;
	st.ntaken = 0;
	st.debug[0] = '\0';
	malloc_trim(0);
	c3 = cpu_ns();
	t3 = now_ns();
	rc = rt_restore_image(new, new->cat, &img, newfds, (uint32_t)nfds, -1, false);
	t4 = now_ns();
	c3 = cpu_ns() - c3;
	if (rc < 0)
		die("restore of %zu objects: %s", n, new->err);
	ms[P_HANDLERS_RESTORE] = st.handler_ns / 1e6;
	if (sscanf(st.debug, "restore: bind %lf ms, regions and decode %lf ms, steps and restore %lf ms",
		   &bind, &decode, &restore) != 3)
		die("no restore timings in the runtime's log (\"%s\")", st.debug);

	ms[P_SAVE] = (t1 - t0) / 1e6;
	ms[P_VERIFY] = (t2 - t1) / 1e6;
	ms[P_BIND] = bind;
	ms[P_DECODE] = decode;
	ms[P_RESTORE] = restore;
	ms[P_OLD] = ms[P_SAVE];
	ms[P_NEW] = ms[P_VERIFY] + (t4 - t3) / 1e6;
	ms[P_TOTAL] = ms[P_OLD] + ms[P_NEW];
	ms[P_OLD_CPU] = (c1 - c0) / 1e6;
	ms[P_NEW_CPU] = (c2 + c3) / 1e6;

	/* Undo: the new side's regions, the image, the old side's saved objects. */
	while (new->regions)
		baton_region_destroy(new->regions);
	munmap((void *)map, image_len);
	close(image_fd);
	free(newfds);
	free(fds);
	rt_obj_free_list(old->saved);
	old->saved = old->saved_tail = NULL;
	on_thaw(NULL);
}

static bool opt_tcp;

static int inproc(const size_t *sizes, int nsizes, int reps)
{
	static double ms[MAX_SIZES][P_MAX][MAX_REPS];
	struct stat3 s[MAX_SIZES][P_MAX];
	struct baton_rt *old, *new;
	size_t max = 0, i;
	int k, p, rep, sock[2], *clients;

	for (k = 0; k < nsizes; k++)
		if (sizes[k] > max)
			max = sizes[k];
	quiet = 1;
	old = rt_make(0, NULL, NULL);
	if (baton_rt_start(old) < 0)
		die("start: %s", baton_rt_error(old));
	new = rt_make(0, NULL, NULL);
	if (baton_region_create(old, "bench.buffers", REGION_BYTES, &st.buffers) < 0 ||
	    baton_region_create(old, "bench.cache", REGION_BYTES, &st.cache) < 0)
		die("regions: %s", baton_rt_error(old));
	st.lfd = listen_loopback(&st.port);

	/*
	 * Every connection object names the same socket, so that this process
	 * needs no 10,000 sockets: the fd table still has one entry per object
	 * (all the same number since set_fd records the program's fd; a
	 * library that keeps a duplicate per object makes one fd each).
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
		die("socketpair: %s", strerror(errno));
	st.conns = calloc(max ? max : 1, sizeof(*st.conns));
	st.taken = calloc(max + 8, sizeof(*st.taken));
	clients = calloc(max ? max : 1, sizeof(*clients));
	if (!st.conns || !st.taken || !clients)
		die("out of memory");
	if (opt_tcp) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					  .sin_port = htons(st.port) };
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && 2 * max + 64 > rl.rlim_cur)
			die("--tcp: %zu connections need %zu fds here; the limit is %llu", max,
			    2 * max + 64, (unsigned long long)rl.rlim_cur);
		for (i = 0; i < max; i++) {
			clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (clients[i] < 0 || connect(clients[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
				die("--tcp: connection %zu: %s", i, strerror(errno));
			st.conns[i].fd = accept4(st.lfd, NULL, NULL, SOCK_CLOEXEC);
			if (st.conns[i].fd < 0)
				die("--tcp: accept: %s", strerror(errno));
		}
	}
	for (i = 0; i < max; i++) {
		if (!opt_tcp)
			st.conns[i].fd = sock[0];
		st.conns[i].id = i + 1;
		snprintf(st.conns[i].peer, sizeof(st.conns[i].peer), "127.0.0.1:%zu", 20000 + i % 40000);
	}

	printf("in-process handover: %d runs per size, interleaved; median [min-max] in ms, "
	       "and microseconds per connection object; %s\n", reps,
	       opt_tcp ? "a TCP connection per object" : "one socket for all objects");
	fflush(stdout);
	/* One warm-up of the largest size, then the sizes in turn, rep by rep. */
	{
		double w[P_MAX];

		inproc_once(old, new, max, w);
	}
	for (rep = 0; rep < reps; rep++)
		for (k = 0; k < nsizes; k++) {
			double m[P_MAX];

			inproc_once(old, new, sizes[k], m);
			for (p = 0; p < P_MAX; p++)
				ms[k][p][rep] = m[p];
		}
	for (k = 0; k < nsizes; k++)
		for (p = 0; p < P_MAX; p++)
			s[k][p] = stats(ms[k][p], reps);

	printf("\n%-22s", "objects (connections)");
	for (k = 0; k < nsizes; k++)
		printf(" %24zu", sizes[k]);
	printf("\n");
	for (p = 0; p < P_MAX; p++) {
		printf("%-22s", phase_names[p]);
		for (k = 0; k < nsizes; k++) {
			char cell[64];

			snprintf(cell, sizeof(cell), "%.3f [%.3f-%.3f]", s[k][p].med, s[k][p].min,
				 s[k][p].max);
			printf(" %24s", cell);
		}
		printf("\n");
	}
	printf("\nmicroseconds per object (median / objects)\n%-22s", "objects");
	for (k = 0; k < nsizes; k++)
		printf(" %10zu", sizes[k]);
	printf("\n");
	for (p = 0; p < P_MAX; p++) {
		printf("%-22s", phase_names[p]);
		for (k = 0; k < nsizes; k++)
			printf(" %10.2f", sizes[k] ? s[k][p].med * 1e3 / (double)sizes[k] : 0.0);
		printf("\n");
	}
	printf("\nratios between sizes (median time; linear = the ratio of the sizes)\n");
	for (k = 1; k < nsizes; k++) {
		if (!sizes[k - 1])
			continue;
		printf("%6zu -> %-6zu (x%.1f):", sizes[k - 1], sizes[k],
		       (double)sizes[k] / (double)sizes[k - 1]);
		printf(" old x%.2f, new x%.2f, both x%.2f\n",
		       s[k][P_OLD].med / s[k - 1][P_OLD].med, s[k][P_NEW].med / s[k - 1][P_NEW].med,
		       s[k][P_TOTAL].med / s[k - 1][P_TOTAL].med);
	}
	/* For scripts (bench/handover/compare): medians in ms. */
	for (k = 0; k < nsizes; k++)
		printf("summary inproc %zu old %.3f new %.3f both %.3f oldcpu %.3f newcpu %.3f\n",
		       sizes[k], s[k][P_OLD].med, s[k][P_NEW].med, s[k][P_TOTAL].med,
		       s[k][P_OLD_CPU].med, s[k][P_NEW_CPU].med);
	fflush(stdout);
	baton_rt_free(new);
	baton_rt_free(old);
	close(sock[0]);
	close(sock[1]);
	if (opt_tcp)
		for (i = 0; i < max; i++) {
			close(clients[i]);
			close(st.conns[i].fd);
		}
	free(clients);
	close(st.lfd);
	free(st.conns);
	free(st.taken);
	memset(&st, 0, sizeof(st));
	quiet = 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The service that e2e upgrades                                            */

/*
 * Echoes whatever a connection sends. Cold: listens on loopback and writes
 * its port to PORTFILE. Restored: takes the listener and connections over.
 * Exits once its successor has committed.
 */
static int serve(int argc, char **argv)
{
	struct epoll_event evs[256];
	int ep, rc, i;

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	st.rt = rt_make(argc, argv, argv[3]);
	rc = baton_rt_start(st.rt);
	if (rc < 0) {
		fprintf(stderr, "handover serve: %s\n", baton_rt_error(st.rt));
		return 1;
	}
	if (rc == BATON_START_COLD) {
		FILE *f;

		st.lfd = listen_loopback(&st.port);
		if (baton_region_create(st.rt, "bench.buffers", REGION_BYTES, &st.buffers) < 0 ||
		    baton_region_create(st.rt, "bench.cache", REGION_BYTES, &st.cache) < 0)
			die("regions: %s", baton_rt_error(st.rt));
		f = fopen(argv[2], "w");
		if (!f)
			die("%s: %s", argv[2], strerror(errno));
		fprintf(f, "%u\n", st.port);
		fclose(f);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll: %s", strerror(errno));
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };

		epoll_ctl(ep, EPOLL_CTL_ADD, baton_rt_fd(st.rt), &ev);
		ev.data.u64 = UINT64_MAX - 1;
		epoll_ctl(ep, EPOLL_CTL_ADD, st.lfd, &ev);
		for (size_t k = 0; k < st.nconns; k++) {
			ev.data.u64 = k;
			epoll_ctl(ep, EPOLL_CTL_ADD, st.conns[k].fd, &ev);
		}
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			uint64_t k = evs[i].data.u64;

			if (k == UINT64_MAX) {
				rc = baton_rt_dispatch(st.rt);
				if (rc == BATON_DISPATCH_COMMITTED || st.committed) {
					baton_rt_free(st.rt);
					return 0;
				}
			} else if (k == UINT64_MAX - 1) {
				struct epoll_event ev = { .events = EPOLLIN };
				int fd;

				if (st.frozen)
					continue;
				fd = accept4(st.lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd < 0)
					continue;
				if (st.nconns == st.cap) {
					st.cap = st.cap ? st.cap * 2 : 1024;
					st.conns = realloc(st.conns, st.cap * sizeof(*st.conns));
					if (!st.conns)
						die("out of memory");
				}
				st.conns[st.nconns].fd = fd;
				st.conns[st.nconns].id = st.nconns + 1;
				snprintf(st.conns[st.nconns].peer, sizeof(st.conns[0].peer),
					 "127.0.0.1:%zu", st.nconns);
				ev.data.u64 = st.nconns++;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			} else if (!st.frozen && k < st.nconns) {
				char buf[256];
				ssize_t r = read(st.conns[k].fd, buf, sizeof(buf));

				if (r > 0)
					(void)!write(st.conns[k].fd, buf, (size_t)r);
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* End to end: real updates of a real process                               */

static const char *const e2e_steps[] = { "freeze+save", "send", "restore", "commit" };
#define E2E_NSTEPS 4

struct e2e_run {
	double downtime, wall, step[E2E_NSTEPS], save, image, bind, decode, restore;
};

/* Sends one byte on every connection and reads it back: all served. */
static void ping_all(const int *fds, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (write(fds[i], &c, 1) != 1)
			die("connection %zu: write: %s", i, strerror(errno));
	for (i = 0; i < n; i++) {
		char r;
		ssize_t got = read(fds[i], &r, 1);

		if (got != 1 || r != c)
			die("connection %zu: no echo after the update (%zd: %s)", i, got,
			    got < 0 ? strerror(errno) : "closed");
	}
}

/* The last line of the service's log that starts with prefix, or NULL. */
static char *last_line(const char *path, const char *prefix, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool found = false;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, prefix);

		if (p) {
			snprintf(out, size, "%s", p);
			found = true;
		}
	}
	fclose(f);
	return found ? out : NULL;
}

static void e2e_upgrade(const char *baton, const char *ctl, const char *self, const char *logpath,
			struct e2e_run *run)
{
	char cmd[3 * 4096 + 64], line[1024], *out = NULL;
	size_t len = 0, cap = 0;
	struct json_object *j, *v, *steps;
	uint64_t t0;
	FILE *p;
	int k;

	snprintf(cmd, sizeof(cmd), "'%s' upgrade --json '%s' '%s'", baton, ctl, self);
	t0 = now_ns();
	p = popen(cmd, "r");
	if (!p)
		die("popen: %s", strerror(errno));
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			out = realloc(out, cap);
			if (!out)
				die("out of memory");
		}
		size_t n = fread(out + len, 1, cap - len - 1, p);

		if (n == 0)
			break;
		len += n;
	}
	out[len] = '\0';
	if (pclose(p) != 0)
		die("baton upgrade failed:\n%s", out);
	run->wall = (now_ns() - t0) / 1e6;
	j = json_tokener_parse(out);
	if (!j || !json_object_object_get_ex(j, "downtime_ms", &v))
		die("baton upgrade: no downtime in\n%s", out);
	run->downtime = json_object_get_double(v);
	memset(run->step, 0, sizeof(run->step));
	if (json_object_object_get_ex(j, "steps", &steps)) {
		size_t i, n = json_object_array_length(steps);

		for (i = 0; i < n; i++) {
			struct json_object *s = json_object_array_get_idx(steps, i), *name, *ms;

			if (!json_object_object_get_ex(s, "name", &name) ||
			    !json_object_object_get_ex(s, "ms", &ms))
				continue;
			for (k = 0; k < E2E_NSTEPS; k++)
				if (strcmp(json_object_get_string(name), e2e_steps[k]) == 0)
					run->step[k] = json_object_get_double(ms);
		}
	}
	json_object_put(j);
	free(out);

	/* The services' own split of the two sides, from their debug log. */
	run->save = run->image = run->bind = run->decode = run->restore = 0;
	if (last_line(logpath, "freeze+save: freeze and save ", line, sizeof(line)))
		sscanf(line, "freeze+save: freeze and save %lf ms, image %lf ms", &run->save,
		       &run->image);
	if (last_line(logpath, "restore: bind ", line, sizeof(line)))
		sscanf(line, "restore: bind %lf ms, regions and decode %lf ms, steps and restore %lf ms",
		       &run->bind, &run->decode, &run->restore);
}

/* A service of one size, and the connections this process holds to it. */
struct e2e_service {
	char dir[64], portfile[128], ctl[128], logpath[128];
	pid_t pid;
	int *fds;
	size_t n;
};

static void e2e_start(struct e2e_service *sv, const char *self, size_t n)
{
	char *argv[] = { (char *)self, "serve", sv->portfile, sv->ctl, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t c;
	FILE *f;
	int i;

	snprintf(sv->dir, sizeof(sv->dir), "/tmp/baton-handover-XXXXXX");
	if (!mkdtemp(sv->dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(sv->portfile, sizeof(sv->portfile), "%s/port", sv->dir);
	snprintf(sv->ctl, sizeof(sv->ctl), "%s/ctl.sock", sv->dir);
	snprintf(sv->logpath, sizeof(sv->logpath), "%s/log", sv->dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, sv->logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	if (posix_spawn(&sv->pid, self, &fa, &attr, argv, environ) != 0)
		die("spawn %s: %s", self, strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	for (i = 0; i < 1000; i++) {
		unsigned port;

		f = fopen(sv->portfile, "r");
		if (f && fscanf(f, "%u", &port) == 1) {
			sa.sin_port = htons((uint16_t)port);
			fclose(f);
			break;
		}
		if (f)
			fclose(f);
		usleep(10000);
	}
	if (!sa.sin_port)
		die("the service did not start (see %s)", sv->logpath);
	sv->n = n;
	sv->fds = calloc(n ? n : 1, sizeof(*sv->fds));
	if (!sv->fds)
		die("out of memory");
	for (c = 0; c < n; c++) {
		sv->fds[c] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sv->fds[c] < 0 || connect(sv->fds[c], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connection %zu: %s", c, strerror(errno));
	}
	ping_all(sv->fds, n, 'a');
}

static void e2e_stop(struct e2e_service *sv)
{
	size_t c;
	int status;

	for (c = 0; c < sv->n; c++)
		close(sv->fds[c]);
	free(sv->fds);
	kill(-sv->pid, SIGKILL);
	waitpid(sv->pid, &status, 0);
	unlink(sv->portfile);
	unlink(sv->ctl);
	unlink(sv->logpath);
	rmdir(sv->dir);
}

static struct e2e_service services[MAX_SIZES];
static int nservices;

static void kill_services(void)
{
	int k;

	for (k = 0; k < nservices; k++)
		if (services[k].pid > 0)
			kill(-services[k].pid, SIGKILL);
}

/*
 * How many fds the old process holds per connection while it saves: 1 when
 * baton_obj_set_fd() records the program's own fd, 2 when it keeps a
 * duplicate (baton before the change that stopped that; bench/handover/compare
 * runs this benchmark against such a library too). Found by saving one
 * connection in this process and looking at the fd table.
 */
static int fds_per_saved_conn(void)
{
	char err[BATON_MESSAGE_MAX];
	int sock[2], image_fd = -1, *fds = NULL, copies = 2;
	size_t len = 0, nfds = 0, i;
	struct baton_rt *rt;

	quiet = 1;
	rt = rt_make(0, NULL, NULL);
	if (baton_rt_start(rt) < 0)
		die("probe: start: %s", baton_rt_error(rt));
	if (baton_region_create(rt, "bench.buffers", 4096, &st.buffers) < 0 ||
	    baton_region_create(rt, "bench.cache", 4096, &st.cache) < 0)
		die("probe: regions: %s", baton_rt_error(rt));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
		die("probe: socketpair: %s", strerror(errno));
	st.lfd = sock[1];
	st.conns = calloc(1, sizeof(*st.conns));
	if (!st.conns)
		die("out of memory");
	st.conns[0].fd = sock[0];
	st.conns[0].id = 1;
	snprintf(st.conns[0].peer, sizeof(st.conns[0].peer), "probe");
	st.nconns = 1;
	if (rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err)) < 0)
		die("probe: save: %s", err);
	for (i = 0; i < nfds; i++)
		if (fds[i] == sock[0])
			copies = 1;
	free(fds);
	close(image_fd);
	rt_obj_free_list(rt->saved);
	rt->saved = rt->saved_tail = NULL;
	baton_rt_free(rt);
	close(sock[0]);
	close(sock[1]);
	free(st.conns);
	memset(&st, 0, sizeof(st));
	quiet = 0;
	return copies;
}

static int e2e(const char *baton, const size_t *all, int nall, int reps)
{
	static struct e2e_run runs[MAX_SIZES][MAX_REPS];
	size_t sizes[MAX_SIZES], held = 0;
	struct rlimit rl;
	char self[4096];
	ssize_t sl;
	int k, i, nsizes = 0, copies;

	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		die("/proc/self/exe: %s", strerror(errno));
	self[sl] = '\0';
	raise_nofile();
	getrlimit(RLIMIT_NOFILE, &rl);
	copies = fds_per_saved_conn();
	printf("\nreal updates: `%s upgrade --json` of `handover serve` to itself; %d rounds, each "
	       "upgrading every size once; median [min-max] in ms\n", baton, reps);
	printf("(downtime = freeze to commit, as baton reports it; save/image and bind/decode/restore "
	       "from the services' debug log)\n");
	for (k = 0; k < nall; k++) {
		/*
		 * The old process holds each connection once, or twice with a
		 * library whose set_fd keeps a duplicate, while it saves, and
		 * this process holds the other end of every connection of
		 * every size.
		 */
		if ((size_t)copies * all[k] + 64 > rl.rlim_cur || held + all[k] + 64 > rl.rlim_cur) {
			printf("%zu connections: skipped; the fd limit (%llu) is below %d times that "
			       "(the fds the old process holds per connection while it saves) or this "
			       "process holds too many\n",
			       all[k], (unsigned long long)rl.rlim_cur, copies);
			continue;
		}
		held += all[k];
		sizes[nsizes++] = all[k];
	}
	fflush(stdout);
	atexit(kill_services);
	for (k = 0; k < nsizes; k++) {
		e2e_start(&services[k], self, sizes[k]);
		nservices = k + 1;
	}
	for (i = 0; i < reps; i++)
		for (k = 0; k < nsizes; k++) {
			e2e_upgrade(baton, services[k].ctl, self, services[k].logpath, &runs[k][i]);
			ping_all(services[k].fds, services[k].n, (char)('b' + i % 20));
		}
	for (k = 0; k < nsizes; k++)
		e2e_stop(&services[k]);
	nservices = 0;

	printf("\n%-8s %-26s %-22s %-22s %-22s %-22s %10s\n", "objects", "downtime", "freeze+save",
	       "send", "restore", "commit", "us/object");
	for (k = 0; k < nsizes; k++) {
		double v[MAX_REPS];
		struct stat3 d, s[E2E_NSTEPS];
		char cell[64];
		int j;

		for (i = 0; i < reps; i++)
			v[i] = runs[k][i].downtime;
		d = stats(v, reps);
		for (j = 0; j < E2E_NSTEPS; j++) {
			for (i = 0; i < reps; i++)
				v[i] = runs[k][i].step[j];
			s[j] = stats(v, reps);
		}
		printf("%-8zu", sizes[k]);
		snprintf(cell, sizeof(cell), "%.3f [%.3f-%.3f]", d.med, d.min, d.max);
		printf(" %-26s", cell);
		for (j = 0; j < E2E_NSTEPS; j++) {
			snprintf(cell, sizeof(cell), "%.3f [%.3f-%.3f]", s[j].med, s[j].min, s[j].max);
			printf(" %-22s", cell);
		}
		printf(" %10.2f\n", sizes[k] ? d.med * 1e3 / (double)sizes[k] : 0.0);
	}
	printf("\n%-8s %12s %12s %12s %12s %12s %14s\n", "objects", "save", "image", "bind",
	       "decode", "restore", "upgrade (wall)");
	for (k = 0; k < nsizes; k++) {
		double v[6][MAX_REPS];

		for (i = 0; i < reps; i++) {
			v[0][i] = runs[k][i].save;
			v[1][i] = runs[k][i].image;
			v[2][i] = runs[k][i].bind;
			v[3][i] = runs[k][i].decode;
			v[4][i] = runs[k][i].restore;
			v[5][i] = runs[k][i].wall;
		}
		printf("%-8zu %12.3f %12.3f %12.3f %12.3f %12.3f %14.3f\n", sizes[k],
		       stats(v[0], reps).med, stats(v[1], reps).med, stats(v[2], reps).med,
		       stats(v[3], reps).med, stats(v[4], reps).med, stats(v[5], reps).med);
	}
	printf("\nratios between sizes (median downtime; linear = the ratio of the sizes)\n");
	for (k = 1; k < nsizes; k++) {
		double a[MAX_REPS], b[MAX_REPS];

		if (!sizes[k - 1])
			continue;
		for (i = 0; i < reps; i++) {
			a[i] = runs[k - 1][i].downtime;
			b[i] = runs[k][i].downtime;
		}
		printf("%6zu -> %-6zu (x%.1f): downtime x%.2f\n", sizes[k - 1], sizes[k],
		       (double)sizes[k] / (double)sizes[k - 1], stats(b, reps).med / stats(a, reps).med);
	}
	for (k = 0; k < nsizes; k++) {
		double v[MAX_REPS];

		for (i = 0; i < reps; i++)
			v[i] = runs[k][i].downtime;
		printf("summary e2e %zu downtime %.3f\n", sizes[k], stats(v, reps).med);
	}
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------------ */

static int parse_sizes(const char *s, size_t *sizes)
{
	int n = 0;

	while (*s && n < MAX_SIZES) {
		char *end;
		unsigned long long v = strtoull(s, &end, 10);

		if (end == s || v > 60000)
			die("--sizes: \"%s\" is not a list of numbers up to 60000", s);
		sizes[n++] = (size_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			die("--sizes: unexpected \"%s\"", end);
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = { 10, 100, 1000, 5000, 10000 };
	int nsizes = 5, reps = 0, i;
	const char *mode = "all", *baton = BATON_PATH;

	if (argc >= 4 && strcmp(argv[1], "serve") == 0)
		return serve(argc, argv);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			nsizes = parse_sizes(argv[++i], sizes);
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--baton") == 0 && i + 1 < argc)
			baton = argv[++i];
		else if (strcmp(argv[i], "--tcp") == 0)
			opt_tcp = true;
		else if (strcmp(argv[i], "inproc") == 0 || strcmp(argv[i], "e2e") == 0 ||
			 strcmp(argv[i], "all") == 0)
			mode = argv[i];
		else
			die("usage: handover [inproc|e2e|all] [--sizes 10,100,1000] [--reps N] [--baton PATH] [--tcp]\n"
			    "       handover serve PORTFILE CONTROL_PATH");
	}
	if (nsizes < 1)
		die("--sizes: no sizes");
	if (reps < 0 || reps > MAX_REPS)
		die("--reps: 1 to %d", MAX_REPS);
	raise_nofile();
	if (strcmp(mode, "e2e") != 0)
		inproc(sizes, nsizes, reps ? reps : 7);
	if (strcmp(mode, "inproc") != 0)
		e2e(baton, sizes, nsizes, reps ? reps : 5);
	return 0;
}
