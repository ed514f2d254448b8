/* SPDX-License-Identifier: MIT */
/*
 * DOC: svc — a small service that upgrades live, for the runtime's tests
 *
 * A line-protocol TCP server with a poll loop, built in several releases
 * (SVC_MAJOR/MINOR/PATCH and SVC_VARIANT select the catalog). It preserves
 * what a real service would: its listening socket, every client connection
 * with the bytes of a partial request held in its buffer, a memfd region of
 * a few MB whose checksum it keeps, and a state object with fields of every
 * kind (integers, bool, bytes, string, array, a nested object, a region).
 *
 * Requests, one per line:
 *   INC N     counter += N; answers "counter=X"
 *   GET       answers "release=R gen=G counter=X sum=ok|bad conns=N note=..."
 *   ECHO TXT  answers TXT
 *   UPGRADE P starts an update to program P through baton_rt_upgrade()
 *   HOLD      stops reading this connection until the next update or thaw,
 *             so that bytes the client sends stay unread in the kernel
 *
 * Usage: svc-R PORTFILE CONTROL_PATH [REGION_MB]. The port it listens on is
 * written to PORTFILE. Test-only misbehaviour of a successor:
 * SVC_MISBEHAVE=STEP-ACTION (see misbehave()); of the old side (a process
 * started cold): SVC_OLD_FAULT=freeze-fail|save-fail|save-twice|save-unset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <baton/baton.h>

#include "core/msg.h"
#include "transport/transport.h"

#define SVC_LISTENER "5f7f0a10-1b2c-4d3e-8f40-516273849501"
#define SVC_CONN "5f7f0a10-1b2c-4d3e-8f40-516273849502"
#define SVC_STATE "5f7f0a10-1b2c-4d3e-8f40-516273849503"
#define SVC_META "5f7f0a10-1b2c-4d3e-8f40-516273849504"

#define INBUF 4096

/* ------------------------------------------------------------------------ */
/* The catalog of this release                                              */

BATON_SCHEMA(SVC_LISTENER, "svc.listener", 1, BATON_FIELD_FD("sock"), BATON_FIELD_U16("port"));
BATON_SCHEMA(SVC_CONN, "svc.conn", 1, BATON_FIELD_FD("sock"), BATON_FIELD_STRING("inbuf", INBUF),
	     BATON_FIELD_U64("served"), BATON_FIELD_BOOL("held"));
BATON_SCHEMA(SVC_META, "svc.meta", 1, BATON_FIELD_U32("answer"), BATON_FIELD_STRING("note", 64));

#if SVC_VARIANT == 2
/* layout changed without a version bump: the same (contract, 1), other fields */
BATON_SCHEMA(SVC_STATE, "svc.state", 1, BATON_FIELD_U64("counter"), BATON_FIELD_I64("delta"));
#else
#define STATE_V1 BATON_FIELD_U64("counter"), BATON_FIELD_I32("delta"), BATON_FIELD_BOOL("flag"), \
	BATON_FIELD_BYTES("tag", 8), BATON_FIELD_STRING("name", 32), \
	BATON_FIELD_ARRAY("hist", BATON_T_U16, 16), BATON_FIELD_SCHEMA("meta", SVC_META, 1), \
	BATON_FIELD_REGION("heap"), BATON_FIELD_U64("sum")
BATON_SCHEMA(SVC_STATE, "svc.state", 1, STATE_V1);
#endif
#if SVC_MINOR >= 1
BATON_SCHEMA(SVC_STATE, "svc.state", 2, STATE_V1, BATON_FIELD_U64("upgraded_from"));
#define STATE_VERSION 2
#else
#define STATE_VERSION 1
#endif

BATON_HANDLER("svc.listener", BATON_WRITES(SVC_LISTENER, 1), BATON_READS(SVC_LISTENER, 1));
#if SVC_VARIANT == 1
/* forgets connections: the old release's svc.conn objects stay unbound */
BATON_HANDLER("svc.conn", BATON_WRITES_NOTHING, BATON_READS(SVC_META, 1));
#else
BATON_HANDLER("svc.conn", BATON_WRITES(SVC_CONN, 1), BATON_READS(SVC_CONN, 1));
#endif
#if SVC_MINOR >= 1
BATON_HANDLER("svc.state", BATON_WRITES(SVC_STATE, 2), BATON_READS(SVC_STATE, 1, 2));
#else
BATON_HANDLER("svc.state", BATON_WRITES(SVC_STATE, 1), BATON_READS(SVC_STATE, 1));
#endif

#if SVC_MAJOR == 0
BATON_PROGRAM("svc", SVC_MAJOR, SVC_MINOR, SVC_PATCH, BATON_SAME_BUILD, BATON_PATCH);
#elif SVC_MINOR >= 1
BATON_PROGRAM("svc", SVC_MAJOR, SVC_MINOR, SVC_PATCH, BATON_SAME_BUILD, BATON_PATCH,
	      BATON_NEXT_MINOR);
#else
BATON_PROGRAM("svc", SVC_MAJOR, SVC_MINOR, SVC_PATCH, BATON_SAME_BUILD, BATON_PATCH);
#endif

/* ------------------------------------------------------------------------ */
/* The service                                                              */

struct conn {
	int fd;
	char in[INBUF + 1];
	size_t len;
	uint64_t served;
	bool held;
};

static struct {
	struct baton_rt *rt;
	int lfd;
	uint16_t port;
	struct conn *conns;
	size_t nconns, cap;
	bool frozen, committed;
	uint64_t counter, upgraded_from;
	struct baton_region *heap;
	uint64_t sum;
	uint32_t answer;
	char note[65];
	const char *misbehave;
	const char *old_fault;   /* SVC_OLD_FAULT: the old side's own failures */
} svc;

static uint64_t checksum(const uint8_t *p, uint64_t n)
{
	uint64_t h = 1469598103934665603ull, i;

	for (i = 0; i < n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 1099511628211ull;
	}
	return h;
}

static struct conn *conn_add(int fd)
{
	if (svc.nconns == svc.cap) {
		svc.cap = svc.cap ? svc.cap * 2 : 16;
		svc.conns = realloc(svc.conns, svc.cap * sizeof(*svc.conns));
		if (!svc.conns)
			abort();
	}
	memset(&svc.conns[svc.nconns], 0, sizeof(svc.conns[0]));
	svc.conns[svc.nconns].fd = fd;
	return &svc.conns[svc.nconns++];
}

static void reply(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(struct conn *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	(void)!write(c->fd, buf, (size_t)n);
}

static void serve_line(struct conn *c, char *line)
{
	c->served++;
	if (strncmp(line, "INC ", 4) == 0) {
		svc.counter += strtoull(line + 4, NULL, 10);
		reply(c, "counter=%llu", (unsigned long long)svc.counter);
	} else if (strcmp(line, "GET") == 0) {
		const uint8_t *base = baton_region_base(svc.heap);
		bool ok = checksum(base, baton_region_size(svc.heap)) == svc.sum;
		struct baton_rt_origin o;

		baton_rt_origin(svc.rt, &o);
		reply(c, "release=%d.%d.%d gen=%llu counter=%llu sum=%s conns=%zu answer=%u note=%s from=%llu pid=%d served=%llu",
		      SVC_MAJOR, SVC_MINOR, SVC_PATCH, (unsigned long long)o.generation,
		      (unsigned long long)svc.counter, ok ? "ok" : "bad", svc.nconns, svc.answer,
		      svc.note, (unsigned long long)svc.upgraded_from, (int)getpid(),
		      (unsigned long long)c->served);
	} else if (strncmp(line, "ECHO ", 5) == 0) {
		reply(c, "%s", line + 5);
	} else if (strncmp(line, "UPGRADE ", 8) == 0) {
		/* the API trigger: the program itself asks for an update */
		int rc = baton_rt_upgrade(svc.rt, line + 8, NULL);

		reply(c, "upgrade=%d", rc);
	} else if (strcmp(line, "HOLD") == 0) {
		c->held = true;
		reply(c, "held");
	} else {
		reply(c, "error unknown request");
	}
}

/* Serves every whole line in c's buffer. */
static void serve_buffer(struct conn *c)
{
	char *nl;

	while (!c->held && (nl = memchr(c->in, '\n', c->len))) {
		size_t n = (size_t)(nl - c->in) + 1;

		*nl = '\0';
		serve_line(c, c->in);
		memmove(c->in, c->in + n, c->len - n);
		c->len -= n;
	}
}

static void conn_read(size_t i)
{
	struct conn *c = &svc.conns[i];
	ssize_t n = read(c->fd, c->in + c->len, INBUF - c->len);

	if (n <= 0) {
		close(c->fd);
		svc.conns[i] = svc.conns[--svc.nconns];
		return;
	}
	c->len += (size_t)n;
	serve_buffer(c);
}

/* ------------------------------------------------------------------------ */
/* Handlers                                                                 */

static int listener_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o;
	int rc;

	(void)ctx;
	if ((rc = baton_save_object(s, "listener/tcp", 0, &o)) < 0 ||
	    (rc = baton_obj_set_fd(o, "sock", svc.lfd)) < 0 ||
	    (rc = baton_obj_set_uint(o, "port", svc.port)) < 0)
		return rc;
	return 0;
}

static int listener_restore(void *ctx, const struct baton_obj *o)
{
	uint64_t port;
	int rc;

	(void)ctx;
	if ((rc = baton_obj_take_fd(o, "sock", &svc.lfd)) < 0 ||
	    (rc = baton_obj_get_uint(o, "port", &port)) < 0)
		return rc;
	svc.port = (uint16_t)port;
	return 0;
}

static int conn_save(void *ctx, struct baton_save *s)
{
	size_t i;
	int rc;

	(void)ctx;
	for (i = 0; i < svc.nconns; i++) {
		struct conn *c = &svc.conns[i];
		struct baton_obj *o;
		char key[64];

		snprintf(key, sizeof(key), "conn/%zu", i);
		if ((rc = baton_save_object(s, key, 0, &o)) < 0 ||
		    (rc = baton_obj_set_fd(o, "sock", c->fd)) < 0 ||
		    (rc = baton_obj_set_string(o, "inbuf", c->in, c->len)) < 0 ||
		    (rc = baton_obj_set_uint(o, "served", c->served)) < 0 ||
		    (rc = baton_obj_set_bool(o, "held", c->held)) < 0)
			return rc;
	}
	return 0;
}

static int conn_restore(void *ctx, const struct baton_obj *o)
{
	const char *in;
	struct conn *c;
	size_t len;
	uint64_t served;
	int fd, rc;

	(void)ctx;
	if ((rc = baton_obj_get_string(o, "inbuf", &in, &len)) < 0 ||
	    (rc = baton_obj_get_uint(o, "served", &served)) < 0 ||
	    (rc = baton_obj_take_fd(o, "sock", &fd)) < 0)
		return rc;
	c = conn_add(fd);
	memcpy(c->in, in, len);
	c->len = len;
	c->served = served;
	c->held = false;   /* a new release reads everything */
	return 0;
}

static int state_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o, *m;
	uint16_t hist[16];
	int rc, i;

	(void)ctx;
	for (i = 0; i < 16; i++)
		hist[i] = (uint16_t)(i * 1000 + 7);
	if (svc.old_fault && strcmp(svc.old_fault, "save-fail") == 0)
		return -EIO;
	if ((rc = baton_save_object(s, "state", 0, &o)) < 0)
		return rc;
	if (svc.old_fault && strcmp(svc.old_fault, "save-twice") == 0 &&
	    (rc = baton_save_object(s, "listener/tcp", 0, &m)) < 0)
		return rc;
	if (svc.old_fault && strcmp(svc.old_fault, "save-unset") == 0)
		return 0;   /* fields left unset */
#if SVC_VARIANT == 2
	if ((rc = baton_obj_set_uint(o, "counter", svc.counter)) < 0 ||
	    (rc = baton_obj_set_int(o, "delta", -5)) < 0)
		return rc;
	(void)m;
	(void)hist;
#else
	if ((rc = baton_obj_set_uint(o, "counter", svc.counter)) < 0 ||
	    (rc = baton_obj_set_int(o, "delta", -123456)) < 0 ||
	    (rc = baton_obj_set_bool(o, "flag", true)) < 0 ||
	    (rc = baton_obj_set_bytes(o, "tag", "svc-tag!", 8)) < 0 ||
	    (rc = baton_obj_set_string(o, "name", "svc main state", 14)) < 0 ||
	    (rc = baton_obj_set_array(o, "hist", hist, 16)) < 0 ||
	    (rc = baton_obj_nested(o, "meta", &m)) < 0 ||
	    (rc = baton_obj_set_uint(m, "answer", svc.answer)) < 0 ||
	    (rc = baton_obj_set_string(m, "note", svc.note, strlen(svc.note))) < 0 ||
	    (rc = baton_obj_set_region(o, "heap", svc.heap)) < 0 ||
	    (rc = baton_obj_set_uint(o, "sum", svc.sum)) < 0)
		return rc;
#if STATE_VERSION == 2
	if ((rc = baton_obj_set_uint(o, "upgraded_from", svc.upgraded_from)) < 0)
		return rc;
#endif
#endif
	return 0;
}

static int state_restore(void *ctx, const struct baton_obj *o)
{
	const struct baton_obj *m;
	uint16_t hist[16];
	char tag[8];
	const char *name, *note;
	size_t n, len;
	int64_t delta;
	uint64_t v;
	bool flag;
	int rc, i;

	(void)ctx;
	if (svc.misbehave && strcmp(svc.misbehave, "restore-refuse") == 0)
		return -EPROTO;
	if (svc.misbehave && strcmp(svc.misbehave, "restore-crash") == 0)
		abort();
	if (svc.misbehave && strcmp(svc.misbehave, "restore-hang") == 0)
		for (;;)
			pause();
	if (baton_obj_version(o) != STATE_VERSION)
		return -EINVAL;
	if ((rc = baton_obj_get_uint(o, "counter", &svc.counter)) < 0 ||
	    (rc = baton_obj_get_int(o, "delta", &delta)) < 0 ||
	    (rc = baton_obj_get_bool(o, "flag", &flag)) < 0 ||
	    (rc = baton_obj_get_bytes(o, "tag", tag, sizeof(tag))) < 0 ||
	    (rc = baton_obj_get_string(o, "name", &name, &len)) < 0 ||
	    (rc = baton_obj_get_array(o, "hist", hist, 16, &n)) < 0 ||
	    (rc = baton_obj_get_nested(o, "meta", &m)) < 0 ||
	    (rc = baton_obj_get_uint(m, "answer", &v)) < 0 ||
	    (rc = baton_obj_get_string(m, "note", &note, NULL)) < 0 ||
	    (rc = baton_obj_get_region(o, "heap", &svc.heap)) < 0 ||
	    (rc = baton_obj_get_uint(o, "sum", &svc.sum)) < 0)
		return rc;
	/* Every field of every type, exactly as written. */
	if (delta != -123456 || !flag || memcmp(tag, "svc-tag!", 8) || len != 14 ||
	    strcmp(name, "svc main state") || n != 16)
		return -EBADMSG;
	for (i = 0; i < 16; i++)
		if (hist[i] != (uint16_t)(i * 1000 + 7))
			return -EBADMSG;
	svc.answer = (uint32_t)v;
	snprintf(svc.note, sizeof(svc.note), "%s", note);
#if STATE_VERSION == 2
	if ((rc = baton_obj_get_uint(o, "upgraded_from", &svc.upgraded_from)) < 0)
		return rc;
#endif
	return 0;
}

#if STATE_VERSION == 2
/* v1 to v2: everything as it was, and which version it came from. */
static int state_v1_to_v2(void *ctx, const struct baton_obj *in, struct baton_obj *out)
{
	const struct baton_obj *mi;
	struct baton_obj *mo;
	struct baton_region *r;
	uint16_t hist[16];
	char tag[8];
	const char *s;
	size_t n, len;
	uint64_t u;
	int64_t i;
	bool b;
	int rc;

	(void)ctx;
	if ((rc = baton_obj_get_uint(in, "counter", &u)) < 0 ||
	    (rc = baton_obj_set_uint(out, "counter", u)) < 0 ||
	    (rc = baton_obj_get_int(in, "delta", &i)) < 0 ||
	    (rc = baton_obj_set_int(out, "delta", i)) < 0 ||
	    (rc = baton_obj_get_bool(in, "flag", &b)) < 0 ||
	    (rc = baton_obj_set_bool(out, "flag", b)) < 0 ||
	    (rc = baton_obj_get_bytes(in, "tag", tag, 8)) < 0 ||
	    (rc = baton_obj_set_bytes(out, "tag", tag, 8)) < 0 ||
	    (rc = baton_obj_get_string(in, "name", &s, &len)) < 0 ||
	    (rc = baton_obj_set_string(out, "name", s, len)) < 0 ||
	    (rc = baton_obj_get_array(in, "hist", hist, 16, &n)) < 0 ||
	    (rc = baton_obj_set_array(out, "hist", hist, n)) < 0 ||
	    (rc = baton_obj_get_nested(in, "meta", &mi)) < 0 ||
	    (rc = baton_obj_nested(out, "meta", &mo)) < 0 ||
	    (rc = baton_obj_get_uint(mi, "answer", &u)) < 0 ||
	    (rc = baton_obj_set_uint(mo, "answer", u)) < 0 ||
	    (rc = baton_obj_get_string(mi, "note", &s, &len)) < 0 ||
	    (rc = baton_obj_set_string(mo, "note", s, len)) < 0 ||
	    (rc = baton_obj_get_region(in, "heap", &r)) < 0 ||
	    (rc = baton_obj_set_region(out, "heap", r)) < 0 ||
	    (rc = baton_obj_get_uint(in, "sum", &u)) < 0 ||
	    (rc = baton_obj_set_uint(out, "sum", u)) < 0 ||
	    (rc = baton_obj_set_uint(out, "upgraded_from", 1)) < 0)
		return rc;
	return 0;
}
#endif

static int on_freeze(void *ctx)
{
	(void)ctx;
	if (svc.old_fault && strcmp(svc.old_fault, "freeze-fail") == 0)
		return -EBUSY;
	svc.frozen = true;
	return 0;
}

static void on_thaw(void *ctx)
{
	size_t i;

	(void)ctx;
	fprintf(stderr, "svc: thawed\n");
	svc.frozen = false;
	for (i = 0; i < svc.nconns; i++)
		svc.conns[i].held = false;
}

static void on_commit(void *ctx)
{
	(void)ctx;
	svc.committed = true;
}

/* ------------------------------------------------------------------------ */
/* A successor that misbehaves on purpose, speaking the protocol by hand    */

static void send_raw(int sock, uint16_t type, bool garbage)
{
	uint8_t buf[256];
	struct baton_msg_writer w;
	size_t len;

	if (garbage) {
		memset(buf, 0x5a, 64);
		baton_tp_send(sock, buf, 64, NULL, 0, NULL);
		return;
	}
	baton_msg_begin(&w, buf, sizeof(buf), type);
	if (type == BATON_MSG_HELLO) {
		baton_msg_put_u32(&w, BATON_TAG_PID, (uint32_t)getpid());
		baton_msg_put_str(&w, BATON_TAG_PROGRAM, "svc");
		baton_msg_put_str(&w, BATON_TAG_RELEASE, "1.1.0");
	} else if (type == BATON_MSG_READY) {
		baton_msg_put_u64(&w, BATON_TAG_RESTORE_NS, 1);
	}
	if (baton_msg_end(&w, &len) == 0)
		baton_tp_send(sock, buf, len, NULL, 0, NULL);
}

static void stranger(const char *name, bool other_uid)
{
	pid_t pid = fork();

	if (pid == 0) {
		int sock;

		if (other_uid && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		sock = baton_tp_connect(name, NULL);
		if (sock < 0)
			_exit(2);
		send_raw(sock, BATON_MSG_HELLO, false);
		/* rejected: the predecessor closes without sending a byte */
		{
			uint8_t buf[BATON_MSG_MAX];
			size_t len;

			int rc = baton_tp_recv(sock, buf, sizeof(buf), &len, NULL, 0, NULL, 5000, -1,
					       NULL);

			/* closed unread: an orderly close or a reset */
			_exit(rc == -EPIPE || rc == -ECONNRESET ? 0 : 1);
		}
	}
	if (pid > 0) {
		int st;

		waitpid(pid, &st, 0);
		fprintf(stderr, "svc: stranger (%s) exit %d\n", other_uid ? "other uid" : "same uid",
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

/*
 * SVC_MISBEHAVE in a successor: STEP-ACTION where STEP is when (connect:
 * instead of connecting; hello: instead of hello; image: after receiving the
 * image, instead of ready) and ACTION is crash, hang or garbage. "stranger"
 * and "stranger-uid" first let a process of the same uid (another pid) or
 * of another uid connect to the handoff socket, then go on as usual.
 * restore-refuse, restore-crash and restore-hang act in state_restore.
 */
static void misbehave(const char *m)
{
	const char *name = getenv("BATON_HANDOFF");
	uint8_t buf[BATON_MSG_MAX];
	int fds[2], sock;
	size_t len, got;

	if (!name)
		return;
	if (strcmp(m, "stranger") == 0 || strcmp(m, "stranger-uid") == 0) {
		stranger(name, strcmp(m, "stranger-uid") == 0);
		return;
	}
	if (strncmp(m, "restore-", 8) == 0)
		return;
	if (strcmp(m, "connect-crash") == 0)
		abort();
	if (strcmp(m, "connect-hang") == 0)
		for (;;)
			pause();
	sock = baton_tp_connect(name, NULL);
	if (sock < 0)
		exit(9);
	if (strcmp(m, "connect-garbage") == 0) {
		send_raw(sock, 0, true);
		sleep(5);
		exit(9);
	}
	if (strcmp(m, "hello-crash") == 0)
		abort();
	if (strcmp(m, "hello-hang") == 0)
		for (;;)
			pause();
	if (strcmp(m, "hello-otherrelease") == 0) {
		/* as if the file had been replaced after the pre-flight */
		struct baton_msg_writer w;
		size_t n;

		baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_HELLO);
		baton_msg_put_u32(&w, BATON_TAG_PID, (uint32_t)getpid());
		baton_msg_put_str(&w, BATON_TAG_PROGRAM, "svc");
		baton_msg_put_str(&w, BATON_TAG_RELEASE, "9.9.9");
		baton_msg_end(&w, &n);
		baton_tp_send(sock, buf, n, NULL, 0, NULL);
		sleep(5);
		exit(9);
	}
	if (strcmp(m, "hello-wrongtype") == 0) {
		send_raw(sock, BATON_MSG_READY, false);
		sleep(5);
		exit(9);
	}
	send_raw(sock, BATON_MSG_HELLO, false);
	baton_tp_recv(sock, buf, sizeof(buf), &len, fds, 2, &got, 5000, -1, NULL);
	if (strcmp(m, "image-crash") == 0)
		abort();
	if (strcmp(m, "image-hang") == 0)
		for (;;)
			pause();
	if (strcmp(m, "image-garbage") == 0) {
		send_raw(sock, 0, true);
		sleep(5);
		exit(9);
	}
	if (strcmp(m, "image-early-ready") == 0) {
		/* ready before the fds arrived, then gone: the old side must not commit blindly */
		send_raw(sock, BATON_MSG_READY, false);
		sleep(5);
		exit(9);
	}
	exit(9);
}

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "svc[%d] %d: %s\n", (int)getpid(), level, msg);
}

int main(int argc, char **argv)
{
	struct baton_handler_ops lops = { listener_save, listener_restore, NULL };
	struct baton_handler_ops cops = { conn_save, conn_restore, NULL };
	struct baton_handler_ops sops = { state_save, state_restore, NULL };
	struct baton_lifecycle_ops life = { on_freeze, on_thaw, on_commit, NULL };
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.argc = argc,
		.argv = argv,
		.upgrade_signal = SIGUSR2,
		.log = log_cb,
	};
	const char *to = getenv("SVC_TIMEOUT_MS");
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PORTFILE CONTROL_PATH [REGION_MB]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	{
		/* room for many connections, each also dup'ed while it is saved */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	opt.control_path = argv[2];
	opt.timeout_ms = to ? (uint32_t)atoi(to) : 3000;
	/* only a successor misbehaves; an old program rolled back to does not */
	svc.misbehave = getenv("BATON_HANDOFF") ||
		(getenv("BATON_EXEC_IMAGE") && !getenv("BATON_EXEC_ROLLBACK")) ?
		getenv("SVC_MISBEHAVE") : NULL;
	if (svc.misbehave)
		misbehave(svc.misbehave);
	if (!getenv("BATON_HANDOFF") && !getenv("BATON_EXEC_IMAGE"))
		svc.old_fault = getenv("SVC_OLD_FAULT");

	rc = baton_rt_new(&svc.rt, &opt);
	if (rc < 0) {
		fprintf(stderr, "svc: baton_rt_new: %s\n", strerror(-rc));
		return 1;
	}
	baton_rt_set_lifecycle(svc.rt, &life);
	if (baton_rt_register(svc.rt, "svc.listener", &lops) < 0 ||
	    baton_rt_register(svc.rt, "svc.conn", &cops) < 0 ||
	    baton_rt_register(svc.rt, "svc.state", &sops) < 0)
		goto fail;
#if STATE_VERSION == 2
	if (baton_rt_register_step(svc.rt, "svc.state", SVC_STATE, 1, state_v1_to_v2, NULL) < 0)
		goto fail;
#endif
	rc = baton_rt_start(svc.rt);
	if (rc < 0)
		goto fail;
	if (rc == BATON_START_COLD) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(sa);
		uint64_t mb = argc > 3 ? strtoull(argv[3], NULL, 10) : 4, i;
		uint8_t *p;
		FILE *f;

		svc.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (svc.lfd < 0 || bind(svc.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(svc.lfd, 64) < 0 || getsockname(svc.lfd, (struct sockaddr *)&sa, &sl) < 0)
			return 1;
		svc.port = ntohs(sa.sin_port);
		if (baton_region_create(svc.rt, "svc.heap", mb << 20, &svc.heap) < 0)
			goto fail;
		p = baton_region_base(svc.heap);
		for (i = 0; i < (mb << 20); i += 8) {
			uint64_t w = i * 2654435761u + 17;

			memcpy(p + i, &w, 8);
		}
		svc.sum = checksum(p, mb << 20);
		svc.answer = 42;
		snprintf(svc.note, sizeof(svc.note), "cold-start");
		f = fopen(argv[1], "w");
		if (!f)
			return 1;
		fprintf(f, "%u\n", svc.port);
		fclose(f);
	}
	fprintf(stderr, "svc %d.%d.%d pid %d serving on port %u\n", SVC_MAJOR, SVC_MINOR, SVC_PATCH,
		(int)getpid(), svc.port);

	for (;;) {
		struct pollfd *p = calloc(svc.nconns + 2, sizeof(*p));
		size_t i, n = 0, nc = svc.nconns;

		p[n++] = (struct pollfd){ .fd = baton_rt_fd(svc.rt), .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = svc.frozen ? -1 : svc.lfd, .events = POLLIN };
		for (i = 0; i < nc; i++)
			p[n++] = (struct pollfd){ .fd = svc.frozen || svc.conns[i].held ? -1 :
						  svc.conns[i].fd, .events = POLLIN };
		/* bytes held in a buffer from a predecessor are served at once */
		for (i = 0; i < svc.nconns && !svc.frozen; i++)
			serve_buffer(&svc.conns[i]);
		if (poll(p, n, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents) {
			rc = baton_rt_dispatch(svc.rt);
			if (rc == BATON_DISPATCH_COMMITTED || svc.committed) {
				fprintf(stderr, "svc %d.%d.%d pid %d: committed, exiting\n", SVC_MAJOR,
					SVC_MINOR, SVC_PATCH, (int)getpid());
				free(p);
				baton_rt_free(svc.rt);
				return 0;
			}
		}
		for (i = nc; i-- > 0;)
			if (!svc.frozen && p[2 + i].revents && i < svc.nconns)
				conn_read(i);
		if (!svc.frozen && p[1].revents) {
			int fd = accept4(svc.lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0)
				conn_add(fd);
		}
		free(p);
	}
fail:
	fprintf(stderr, "svc: %s\n", baton_rt_error(svc.rt));
	baton_rt_free(svc.rt);
	return 1;
}
