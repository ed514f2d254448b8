/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime, old side — the control socket and handing state over
 *
 * Everything the running release does for an update happens from the
 * program's event loop: baton_rt_fd() is an epoll fd that holds the control
 * socket listener and its clients, the signalfd of the upgrade signal and,
 * during an update, the handoff listener, a pidfd of the new process and a
 * timerfd for the deadline. baton_rt_dispatch() serves whatever is ready.
 *
 * An update, as docs/runtime.md tells it message by message:
 *
 *   pre-flight   the new program's catalog is read from its file and checked
 *                against ours (baton_check, rule 8); a refusal is answered
 *                with every finding and nothing else happens
 *   spawn        the new program starts with BATON_HANDOFF naming a fresh
 *                abstract SOCK_SEQPACKET socket; the program keeps serving
 *                while it starts (asynchronous, bounded by the timerfd)
 *   connect      a connection whose SO_PEERCRED is not (our uid, the child's
 *                pid) is logged and closed; the update goes on waiting
 *   hello        the new process names its program and release, which must be
 *                those the pre-flight checked
 *   freeze, save the lifecycle freeze callback, then every handler's save
 *   image        the image is built in a memfd and sealed; it and every fd
 *                (and the control listener) are sent
 *   ready        the new process restored everything (bounded by the deadline;
 *                blocking here costs nothing, the service is frozen anyway)
 *   commit       COMMIT sent: the commit point; the requester hears success,
 *                the commit callback runs and dispatch returns
 *                BATON_DISPATCH_COMMITTED
 *
 * Before the commit point every failure — a refusal, the child's death, a
 * deadline, a malformed or unexpected message, a failed system call — sends
 * ABORT where it can, kills and reaps the child, thaws the program and
 * answers the requester with the reasons. Nothing of the program's state was
 * changed by save, so it goes on serving as it was.
 *
 * The control socket also answers STATUS, and SAVE: freeze, save and write a
 * golden image to files, thaw (golden.c), all within one dispatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"
#include "transport/fault.h"

extern char **environ;

/* ------------------------------------------------------------------------ */
/* Reasons of a refusal                                                     */

void rt_reason_add(struct rt_reasons *rs, uint16_t rule, const char *text)
{
	if (rs->n == RT_REASONS_MAX) {
		rs->dropped++;
		return;
	}
	rs->r[rs->n].rule = rule;
	snprintf(rs->r[rs->n].text, sizeof(rs->r[rs->n].text), "%s", text);
	rs->n++;
}

void rt_finding_line(uint16_t rule, const char *text, char *buf, size_t size)
{
	const char *name = rule ? baton_rule_name(rule) : NULL;
	size_t n = name ? strlen(name) : 0;

	/* the engine's messages start with their rule already */
	if (name && !(strncmp(text, name, n) == 0 && text[n] == ':'))
		snprintf(buf, size, "%s: %s", name, text);
	else
		snprintf(buf, size, "%s", text);
}

static void reason_add(struct rt_reasons *rs, uint16_t rule, const char *text)
{
	rt_reason_add(rs, rule, text);
}

static void finding_cb(void *ctx, const struct baton_finding *f)
{
	reason_add(ctx, (uint16_t)f->rule, f->message);
}

/* ------------------------------------------------------------------------ */
/* Control socket clients                                                   */

static int client_send(struct rt_client *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = c->fd, .events = POLLOUT };

			if (poll(&pf, 1, 1000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void client_close(struct baton_rt *rt, struct rt_client *c)
{
	struct rt_client **pp;

	for (pp = &rt->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (rt->up.client == c)
		rt->up.client = NULL;
	rt_epoll_del(rt, c->fd);
	close(c->fd);
	free(c);
}

static void send_step(struct baton_rt *rt, const char *name, uint64_t ns)
{
	struct baton_msg_writer w;
	uint8_t buf[512];
	size_t len;

	if (rt->up.nsteps < RT_STEPS_MAX) {
		rt->up.steps[rt->up.nsteps].name = name;
		rt->up.steps[rt->up.nsteps].ns = ns;
		rt->up.nsteps++;
	}
	rt_log(rt, BATON_LOG_INFO, "update to %s: %s took %.3f ms", rt->up.program, name, ns / 1e6);
	if (!rt->up.client)
		return;
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_STEP);
	baton_msg_put_str(&w, BATON_TAG_STEP, name);
	baton_msg_put_u64(&w, BATON_TAG_DURATION_NS, ns);
	if (baton_msg_end(&w, &len) == 0 && client_send(rt->up.client, buf, len) < 0)
		client_close(rt, rt->up.client);
}

/* The outcome, to the requester. */
static void send_result(struct baton_rt *rt, struct rt_client *c, int status,
			const struct rt_reasons *rs, uint64_t downtime, pid_t new_pid,
			const char *release, bool rolled_back)
{
	static uint8_t buf[BATON_MSG_MAX];
	struct baton_msg_writer w;
	unsigned int i, shown = 0;
	size_t len;

	if (!c)
		return;
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_RESULT);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, status);
	if (downtime)
		baton_msg_put_u64(&w, BATON_TAG_DOWNTIME_NS, downtime);
	if (new_pid > 0)
		baton_msg_put_u32(&w, BATON_TAG_NEW_PID, (uint32_t)new_pid);
	if (release)
		baton_msg_put_str(&w, BATON_TAG_RELEASE, release);
	if (rolled_back)
		baton_msg_put_u32(&w, BATON_TAG_ROLLED_BACK, 1);
	for (i = 0; rs && i < rs->n; i++) {
		size_t need = BATON_MSG_ITEM_HDR_LEN + 2 + strlen(rs->r[i].text);

		if (w.len + need + 128 > BATON_MSG_MAX)
			break;
		if (rs->r[i].rule)
			baton_msg_put_finding(&w, rs->r[i].rule, rs->r[i].text);
		else
			baton_msg_put_str(&w, BATON_TAG_REASON, rs->r[i].text);
		shown++;
	}
	if (rs && (shown < rs->n || rs->dropped)) {
		char more[96];

		snprintf(more, sizeof(more), "%u more reason(s) not shown; see the program's log",
			 rs->n - shown + rs->dropped);
		baton_msg_put_str(&w, BATON_TAG_REASON, more);
	}
	if (baton_msg_end(&w, &len) == 0 && client_send(c, buf, len) < 0)
		client_close(rt, c);
}

void rt_msg_put_self(const struct baton_rt *rt, struct baton_msg_writer *w)
{
	baton_msg_put_str(w, BATON_TAG_PROGRAM, rt->name);
	baton_msg_put_str(w, BATON_TAG_RELEASE, rt->release);
	if (rt->cat->build_id.len)
		baton_msg_put(w, BATON_TAG_BUILD_ID, rt->cat->build_id.b, rt->cat->build_id.len);
	baton_msg_put_u32(w, BATON_TAG_PID, (uint32_t)getpid());
}

int rt_status_reply(struct baton_rt *rt, uint8_t *buf, size_t size, size_t *len)
{
	const struct baton_rt_origin *o = &rt->origin;
	struct baton_msg_writer w;
	char rel[BATON_RELEASE_STRMAX];

	baton_msg_begin(&w, buf, size, BATON_MSG_STATUS_REPLY);
	rt_msg_put_self(rt, &w);
	baton_msg_put_u64(&w, BATON_TAG_GENERATION, rt->generation);
	baton_msg_put_u32(&w, BATON_TAG_RESTORED, o->restored);
	if (o->restored) {
		baton_release_format(&o->release, rel, sizeof(rel));
		baton_msg_put_str(&w, BATON_TAG_WRITER_PROGRAM, o->program);
		baton_msg_put_str(&w, BATON_TAG_WRITER_RELEASE, rel);
		if (o->build_id.len)
			baton_msg_put(&w, BATON_TAG_WRITER_BUILD_ID, o->build_id.b, o->build_id.len);
		baton_msg_put_u64(&w, BATON_TAG_WRITER_GENERATION, o->generation - 1);
		baton_msg_put_u64(&w, BATON_TAG_FROZEN_AT_NS, o->frozen_at_ns);
		baton_msg_put_u64(&w, BATON_TAG_RESTORED_AT_NS, o->restored_at_ns);
	}
	return baton_msg_end(&w, len);
}

/* ------------------------------------------------------------------------ */
/* The control socket                                                       */

static int bind_control(struct baton_rt *rt)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(rt->control_path);
	int fd, rc;

	if (n >= sizeof(sa.sun_path))
		return rt_fail(rt, -ENAMETOOLONG,
			       "control socket %s: path longer than %zu bytes; choose a shorter one",
			       rt->control_path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, rt->control_path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return rt_fail(rt, -errno, "control socket %s: socket(): %s", rt->control_path,
			       strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* A stale socket file of a process that is gone may be replaced. */
		int probe;
		bool stale;
		struct stat st;

		if (errno != EADDRINUSE)
			goto fail;
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		stale = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
			errno == ECONNREFUSED;
		if (probe >= 0)
			close(probe);
		if (!stale || lstat(rt->control_path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
			close(fd);
			return rt_fail(rt, -EADDRINUSE,
				       "control socket %s: in use by a running process (or not a socket); is %s already running?",
				       rt->control_path, rt->name);
		}
		unlink(rt->control_path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	/* Not connectable before listen(): no window between bind and chmod. */
	if (chmod(rt->control_path, 0600) < 0 || listen(fd, 64) < 0)
		goto fail;
	rt->ctl_listener = fd;
	rt->ctl_owned = true;
	return 0;
fail:
	rc = -errno;
	close(fd);
	return rt_fail(rt, rc, "control socket %s: %s", rt->control_path, strerror(-rc));
}

static bool same_path(int fd, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return false;
	return strncmp(sa.sun_path, path, sizeof(sa.sun_path)) == 0;
}

int rt_control_open(struct baton_rt *rt, int inherited)
{
	int rc;

	if (inherited >= 0) {
		if (rt->control_path && same_path(inherited, rt->control_path)) {
			rt->ctl_listener = inherited;
			rt->ctl_owned = true;
			fcntl(inherited, F_SETFL, fcntl(inherited, F_GETFL) | O_NONBLOCK);
			fcntl(inherited, F_SETFD, FD_CLOEXEC);
			goto add;
		}
		rt_log(rt, BATON_LOG_INFO,
		       "the predecessor's control socket is not at this program's control path (%s): closing it",
		       rt->control_path ? rt->control_path : "none");
		close(inherited);
	}
	if (!rt->control_path)
		return 0;
	rc = bind_control(rt);
	if (rc < 0)
		return rc;
add:
	rc = rt_epoll_add(rt, rt->ctl_listener);
	if (rc < 0)
		return rt_fail(rt, rc, "control socket %s: epoll: %s", rt->control_path, strerror(-rc));
	return 0;
}

/* Each client may hold a 64 KiB buffer: a bounded number of them. */
#define RT_CLIENTS_MAX 64

static void control_accept(struct baton_rt *rt)
{
	struct rt_client *c;
	struct ucred cred;
	unsigned int n;
	int fd;

	fd = accept4(rt->ctl_listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (baton_tp_peercred(fd, &cred) < 0 || (cred.uid != geteuid() && cred.uid != 0)) {
		rt_log(rt, BATON_LOG_WARNING,
		       "control socket %s: refused a client (pid %d, uid %d): only uid %d or root may ask",
		       rt->control_path, (int)cred.pid, (int)cred.uid, (int)geteuid());
		close(fd);
		return;
	}
	for (c = rt->clients, n = 0; c; c = c->next)
		n++;
	if (n >= RT_CLIENTS_MAX) {
		rt_log(rt, BATON_LOG_WARNING,
		       "control socket %s: %u clients already connected; closing a new one (pid %d)",
		       rt->control_path, n, (int)cred.pid);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	if (rt_epoll_add(rt, fd) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = rt->clients;
	rt->clients = c;
}

/* ------------------------------------------------------------------------ */
/* The update                                                               */

static void update_release(struct baton_rt *rt)
{
	struct rt_update *u = &rt->up;
	int i;

	rt_epoll_del(rt, u->listener);
	rt_epoll_del(rt, u->pidfd);
	rt_epoll_del(rt, u->timerfd);
	if (u->listener >= 0)
		close(u->listener);
	if (u->pidfd >= 0)
		close(u->pidfd);
	if (u->timerfd >= 0)
		close(u->timerfd);
	u->listener = u->pidfd = u->timerfd = -1;
	for (i = 0; u->argv && u->argv[i]; i++)
		free(u->argv[i]);
	free(u->argv);
	u->argv = NULL;
	u->child = 0;
	u->active = false;
	u->client = NULL;
	rt_obj_free_list(rt->saved);
	rt->saved = rt->saved_tail = NULL;
}

static void kill_child(struct baton_rt *rt)
{
	struct rt_update *u = &rt->up;
	int status;

	if (u->child <= 0)
		return;
	/* Still our unreaped child, so the pid cannot have been reused. */
	kill(u->child, SIGKILL);
	while (waitpid(u->child, &status, 0) < 0 && errno == EINTR)
		;
	u->child = 0;
}

/* Cancels the update before the commit point; the program goes on serving. */
static int update_fail(struct baton_rt *rt, int sock, bool frozen, int status,
		       struct rt_reasons *rs)
{
	struct rt_update *u = &rt->up;
	unsigned int i;

	if (sock >= 0) {
		struct baton_msg_writer w;
		uint8_t buf[BATON_MSG_TEXT_MAX + 64];
		size_t len;

		baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_ABORT);
		if (rs->n)
			baton_msg_put_str(&w, BATON_TAG_REASON, rs->r[0].text);
		if (baton_msg_end(&w, &len) == 0)
			baton_tp_send(sock, buf, len, NULL, 0, NULL);
		close(sock);
	}
	kill_child(rt);
	if (frozen && rt->has_life && rt->life.thaw)
		rt->life.thaw(rt->life.ctx);
	for (i = 0; i < rs->n; i++) {
		char line[BATON_MESSAGE_MAX + 32];

		rt_finding_line(rs->r[i].rule, rs->r[i].text, line, sizeof(line));
		rt_log(rt, BATON_LOG_ERROR, "update from %s %s to %s refused: %s", rt->name,
		       rt->release, u->program, line);
	}
	rt_log(rt, BATON_LOG_WARNING, "update to %s cancelled; %s %s goes on serving, state unchanged",
	       u->program, rt->name, rt->release);
	send_result(rt, u->client, status, rs, 0, 0, NULL, false);
	snprintf(rt->err, sizeof(rt->err), "update to %.256s refused: %.700s", u->program,
		 rs->n ? rs->r[0].text : strerror(-status));
	update_release(rt);
	return status;
}

static int fail1(struct baton_rt *rt, int sock, bool frozen, int status, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail1(struct baton_rt *rt, int sock, bool frozen, int status, const char *fmt, ...)
{
	static struct rt_reasons rs;
	va_list ap;

	rs.n = rs.dropped = 0;
	rs.r[0].rule = 0;
	va_start(ap, fmt);
	vsnprintf(rs.r[0].text, sizeof(rs.r[0].text), fmt, ap);
	va_end(ap);
	rs.n = 1;
	return update_fail(rt, sock, frozen, status, &rs);
}

/*
 * The successor's environment: ours without the runtime's own variables,
 * plus where to connect. BATON_FAULT_CHILD becomes the child's BATON_FAULT.
 * extra[] gets the allocated strings, to be freed by the caller.
 */
static char **child_env(const char *handoff, char *extra[2])
{
	size_t n = 0, i, k = 0;
	const char *fault_child = getenv("BATON_FAULT_CHILD");
	char **env;

	extra[0] = extra[1] = NULL;
	while (environ && environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *e = environ[i];

		if (strncmp(e, "BATON_HANDOFF=", 14) == 0 || strncmp(e, "BATON_EXEC_", 11) == 0 ||
		    strncmp(e, "BATON_FAULT=", 12) == 0 || strncmp(e, "BATON_FAULT_CHILD=", 18) == 0 ||
		    strncmp(e, "BATON_DRY_RUN_IMAGE=", 20) == 0)
			continue;
		env[k++] = (char *)e;
	}
	if (handoff) {
		if (asprintf(&extra[0], "%s=%s", BATON_ENV_HANDOFF, handoff) < 0) {
			extra[0] = NULL;
			free(env);
			return NULL;
		}
		env[k++] = extra[0];
	}
	if (fault_child) {
		if (asprintf(&extra[1], "BATON_FAULT=%s", fault_child) < 0) {
			extra[1] = NULL;
			free(extra[0]);
			free(env);
			return NULL;
		}
		env[k++] = extra[1];
	}
	return env;
}

char **rt_child_env(const char *handoff, char *extra[2])
{
	return child_env(handoff, extra);
}

static int spawn(struct baton_rt *rt)
{
	struct rt_update *u = &rt->up;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char **env, *extra[2];
	pid_t pid;
	int rc;

	env = child_env(u->name, extra);
	if (!env)
		return -ENOMEM;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	if (BATON_FAULT("spawn"))
		rc = EAGAIN;
	else
		rc = posix_spawn(&pid, u->program, NULL, &attr, u->argv, env);
	posix_spawnattr_destroy(&attr);
	free(extra[0]);
	free(extra[1]);
	free(env);
	if (rc)
		return -rc;
	u->child = pid;
	return 0;
}

static struct rt_update *update_init(struct baton_rt *rt, struct rt_client *c, const char *program,
				     char *const argv[], int argc)
{
	struct rt_update *u = &rt->up;
	int i, n = 0;

	memset(u->steps, 0, sizeof(u->steps));
	u->nsteps = 0;
	u->client = c;
	u->listener = u->pidfd = u->timerfd = -1;
	u->child = 0;
	snprintf(u->program, sizeof(u->program), "%s", program);
	/* argv: the request's, else ours with the new program as argv[0] */
	if (argv)
		while (argc < 0 ? argv[n] != NULL : n < argc)
			n++;
	else
		n = rt->argc > 0 ? rt->argc : 1;
	u->argv = calloc((size_t)n + 1, sizeof(char *));
	if (!u->argv)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *a = argv ? argv[i] : i == 0 ? program : rt->argv[i];

		u->argv[i] = strdup(a ? a : "");
		if (!u->argv[i])
			return NULL;
	}
	return u;
}

/*
 * Pre-flight and spawn; the rest happens when the child connects. Returns 0
 * once the child runs, or the refusal (already answered and logged).
 */
static int update_begin(struct baton_rt *rt, struct rt_client *c, const char *program,
			char *const argv[], int argc, uint32_t transport, uint32_t timeout_ms)
{
	struct rt_update *u = &rt->up;
	struct baton_catalog_file *nc = NULL;
	static struct rt_reasons rs;
	struct itimerspec its = { 0 };
	struct baton_diag d;
	uint64_t t;
	int rc;

	if (u->active) {
		rs.n = rs.dropped = 0;
		reason_add(&rs, 0, "an update is already in progress; try again when it has finished");
		send_result(rt, c, -EBUSY, &rs, 0, 0, NULL, false);
		return rt_fail(rt, -EBUSY, "update to %s: another update is in progress", program);
	}
	if (!rt->started)
		return rt_fail(rt, -EAGAIN, "update to %s: call baton_rt_start() first", program);
	if (!update_init(rt, c, program, argv, argc)) {
		update_release(rt);
		return -ENOMEM;
	}
	u->active = true;
	u->transport = transport;
	u->timeout_ms = timeout_ms ? timeout_ms : rt->timeout_ms;
	u->t_begin = baton_now_ns();
	rt_log(rt, BATON_LOG_INFO, "update from %s %s to %s: pre-flight", rt->name, rt->release, program);

	/* Rule 8: check before anything stops. */
	rc = baton_catalog_load_elf(program, &nc, &d);
	if (rc < 0)
		return fail1(rt, -1, false, rc,
			     "pre-flight: cannot read the catalog of %s: %s", program, d.msg);
	rs.n = rs.dropped = 0;
	rc = baton_check(rt->cat, &nc->cat, finding_cb, &rs);
	if (rc != 0) {
		baton_catalog_file_free(nc);
		if (rc < 0)
			return fail1(rt, -1, false, rc, "pre-flight: the check of %s failed: %s",
				     program, strerror(-rc));
		return update_fail(rt, -1, false, -EPERM, &rs);
	}
	/* What the process that connects must say it is. */
	baton_strlcpy(u->new_name, nc->cat.program->name, sizeof(u->new_name));
	baton_release_format(&nc->cat.program->release, u->new_release, sizeof(u->new_release));
	u->new_build = nc->cat.build_id;
	baton_catalog_file_free(nc);
	t = baton_now_ns();
	send_step(rt, "pre-flight", t - u->t_begin);
	if (!u->active)
		return -EPIPE;

	if (u->transport == BATON_TRANSPORT_EXEC)
		return rt_exec_upgrade(rt);

	u->t_spawn = t;
	rc = u->listener = baton_tp_listen(u->name, sizeof(u->name), &d);
	if (rc < 0)
		return fail1(rt, -1, false, rc, "spawn: %s", d.msg);
	rc = spawn(rt);
	if (rc < 0)
		return fail1(rt, -1, false, rc, "spawn: cannot start %s: %s", program, strerror(-rc));
	u->pidfd = (int)syscall(SYS_pidfd_open, u->child, 0);
	if (BATON_FAULT("pidfd_open")) {
		if (u->pidfd >= 0)
			close(u->pidfd);
		u->pidfd = -1;
		errno = EMFILE;
	}
	if (u->pidfd < 0)
		return fail1(rt, -1, false, -errno, "spawn: pidfd_open(%d): %s", (int)u->child,
			     strerror(errno));
	u->timerfd = BATON_FAULT("timerfd") ? -1 :
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (u->timerfd < 0)
		return fail1(rt, -1, false, -EMFILE, "spawn: timerfd_create(): %s", strerror(EMFILE));
	its.it_value.tv_sec = u->timeout_ms / 1000;
	its.it_value.tv_nsec = (long)(u->timeout_ms % 1000) * 1000000L;
	timerfd_settime(u->timerfd, 0, &its, NULL);
	if (rt_epoll_add(rt, u->listener) < 0 || rt_epoll_add(rt, u->pidfd) < 0 ||
	    rt_epoll_add(rt, u->timerfd) < 0)
		return fail1(rt, -1, false, -errno, "spawn: epoll: %s", strerror(errno));
	rt_log(rt, BATON_LOG_INFO, "update to %s: started pid %d, waiting for it to connect",
	       program, (int)u->child);
	return 0;
}

/*
 * How the child ended, if it did: its sockets close before it can be
 * reaped, so it gets a moment. how is left alone while it still runs.
 */
static void child_fate(struct rt_update *u, char *how, size_t size)
{
	struct pollfd pf = { .fd = u->pidfd, .events = POLLIN };
	int status;

	if (u->child <= 0)
		return;
	poll(&pf, 1, 200);
	if (waitpid(u->child, &status, WNOHANG) != u->child)
		return;
	u->child = 0;
	if (WIFSIGNALED(status))
		snprintf(how, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(how, size, "exited with status %d", WEXITSTATUS(status));
}

/* Receives one message of the expected type (or REFUSE) from the successor. */
static int recv_msg(struct baton_rt *rt, int sock, uint8_t *buf, struct baton_msg *m,
		    uint16_t want, const char *step, struct rt_reasons *rs)
{
	struct rt_update *u = &rt->up;
	struct baton_diag d;
	size_t len;
	int rc;

	rs->r[0].rule = 0;
	rc = baton_tp_recv(sock, buf, BATON_MSG_MAX, &len, NULL, 0, NULL, (int)u->timeout_ms,
			   u->pidfd, &d);
	if (rc == -EPIPE || rc == -ECHILD || rc == -ECONNRESET) {
		char how[64] = "closed the connection";
		pid_t pid = u->child;

		child_fate(u, how, sizeof(how));
		snprintf(rs->r[0].text, sizeof(rs->r[0].text),
			 "%s: the new process (pid %d) %s before it was ready", step, (int)pid, how);
		rs->n = 1;
		return -ECHILD;
	}
	if (rc == -ETIMEDOUT) {
		snprintf(rs->r[0].text, sizeof(rs->r[0].text),
			 "%s: the new process (pid %d) sent nothing within %u ms (deadline)", step,
			 (int)u->child, u->timeout_ms);
		rs->n = 1;
		return rc;
	}
	if (rc == 0)
		rc = baton_msg_parse(m, buf, len, &d);
	if (rc < 0) {
		snprintf(rs->r[0].text, sizeof(rs->r[0].text), "%s: from the new process: %s", step,
			 d.msg);
		rs->n = 1;
		return rc;
	}
	if (m->type == BATON_MSG_REFUSE) {
		struct baton_msg_item it;
		size_t pos = 0;
		int32_t st = -EPERM;

		baton_msg_get_i32(m, BATON_TAG_STATUS, &st);
		rs->n = rs->dropped = 0;
		while (baton_msg_next(m, &pos, &it) > 0) {
			char text[BATON_MSG_TEXT_MAX + 1];
			uint16_t rule = 0;

			if (it.tag == BATON_TAG_REASON)
				baton_msg_item_str(&it, text, sizeof(text));
			else if (it.tag == BATON_TAG_FINDING)
				baton_msg_item_finding(&it, &rule, text, sizeof(text));
			else
				continue;
			reason_add(rs, rule > BATON_RULE_MAX_ ? 0 : rule, text);
		}
		if (!rs->n)
			reason_add(rs, 0, "the new process refused without giving a reason");
		return st < 0 ? st : -EPERM;
	}
	if (m->type != want) {
		snprintf(rs->r[0].text, sizeof(rs->r[0].text),
			 "%s: the new process sent a %s message where %s was expected", step,
			 baton_msg_type_name(m->type), baton_msg_type_name(want));
		rs->n = 1;
		return -EPROTO;
	}
	return 0;
}

static uint32_t key_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int save_all(struct baton_rt *rt, char *err, size_t size)
{
	const char **keys;
	struct baton_obj *o;
	size_t i, n, cap;
	int rc;

	for (i = 0; i < rt->nhandlers; i++) {
		struct rt_handler *h = &rt->handlers[i];
		struct baton_save s = { .rt = rt, .h = h };

		if (!(h->rec->flags & BATON_HANDLER_WRITES) || !h->ops.save)
			continue;
		rc = h->ops.save(h->ops.ctx, &s);
		if (rc < 0) {
			snprintf(err, size, "save: handler %s failed: %s (%.300s)", h->rec->name,
				 strerror(-rc), rt->err);
			return rc;
		}
		if (rc > 0) {
			snprintf(err, size, "save: handler %s returned %d", h->rec->name, rc);
			return -ECANCELED;
		}
	}
	for (o = rt->saved, n = 0; o; o = o->next)
		n++;
	/* Keys are unique in an image: a hash set, so thousands of objects stay cheap. */
	for (cap = 16; cap < 2 * n; cap *= 2)
		;
	keys = calloc(cap, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (o = rt->saved; o; o = o->next) {
		for (i = key_hash(o->key) & (cap - 1); keys[i]; i = (i + 1) & (cap - 1)) {
			if (strcmp(keys[i], o->key) == 0) {
				snprintf(err, size, "save: object \"%.200s\" was saved twice in one update",
					 o->key);
				free(keys);
				return -EEXIST;
			}
		}
		keys[i] = o->key;
	}
	free(keys);
	for (o = rt->saved; o; o = o->next) {
		rc = rt_obj_check_set(o, err, size);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int baton_save_object(struct baton_save *s, const char *key, uint32_t flags,
		      struct baton_obj **out)
{
	const struct baton_rec_schema *schema;
	struct baton_rt *rt;
	struct baton_obj *o, **tail;
	baton_uuid c;
	int rc;

	if (!s || !key || !out)
		return -EINVAL;
	rt = s->rt;
	if (flags & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_)
		return rt_fail(rt, -EINVAL, "object \"%.200s\": unknown flags 0x%x", key, flags);
	if (!*key || strlen(key) >= BATON_KEY_MAX)
		return rt_fail(rt, -EINVAL, "object key \"%.200s\": empty or longer than %d bytes",
			       key, BATON_KEY_MAX - 1);
	/* Found once per handler: a handler saves thousands of objects of one schema. */
	if (!s->h->writes_schema) {
		c = baton_rec_uuid(s->h->rec->writes.contract);
		schema = baton_catalog_find_schema(rt->cat, &c, s->h->rec->writes.version);
		if (!schema)
			return rt_fail(rt, -ENOENT, "object \"%s\": no schema of %s version %u in the catalog",
				       key, s->h->rec->writes.contract, s->h->rec->writes.version);
		s->h->writes_schema = schema;
		s->h->writes_contract = c;
	}
	o = rt_obj_new_as(rt, s->h->writes_schema, &s->h->writes_contract, key, flags, &rc);
	if (!o)
		return rc;
	o->handler = s->h->rec;
	if (s->h->rec->flags & BATON_HANDLER_OPTIONAL)
		o->flags |= BATON_OBJECT_OPTIONAL;
	tail = rt->saved ? &rt->saved_tail->next : &rt->saved;
	*tail = o;
	rt->saved_tail = o;
	*out = o;
	return 0;
}

/* Builds and seals the image; on success *fd is the sealed memfd. */
static int build_image(struct baton_rt *rt, int *fdp, size_t *lenp, int **fds, size_t *nfds,
		       char *err, size_t errsize)
{
	struct baton_image_header h = { 0 };
	struct baton_diag d;
	struct baton_obj *o;
	size_t size = 64 << 10, len = 0;
	void *map;
	int fd, rc;

	baton_strlcpy(h.program, rt->name, sizeof(h.program));
	h.release = rt->cat->program->release;
	h.build_id = rt->cat->build_id;
	h.generation = rt->generation;
	h.frozen_at_ns = rt->up.t_freeze;
	for (o = rt->saved; o; o = o->next)
		size += 2048;
	for (;;) {
		rc = baton_tp_image_create(size, &fd, &map, &d);
		if (rc < 0) {
			snprintf(err, errsize, "image: %s", d.msg);
			return rc;
		}
		rc = rt_image_write(rt, rt->saved, map, size, &h, &len, fds, nfds, err, errsize);
		if (rc != -ENOSPC)
			break;
		munmap(map, size);
		close(fd);
		if (size >= BATON_IMAGE_MAX_SIZE) {
			snprintf(err, errsize, "image: larger than the %u-byte limit", BATON_IMAGE_MAX_SIZE);
			return -E2BIG;
		}
		size *= 2;
	}
	if (rc < 0) {
		munmap(map, size);
		close(fd);
		return rc;
	}
	rc = baton_tp_image_seal(fd, map, size, len, &d);
	if (rc < 0) {
		snprintf(err, errsize, "image: %s", d.msg);
		close(fd);
		free(*fds);
		*fds = NULL;
		return rc;
	}
	*fdp = fd;
	*lenp = len;
	return 0;
}

/* After the predecessor authenticated the child: the synchronous handoff. */
static int handoff(struct baton_rt *rt, int sock)
{
	static uint8_t buf[BATON_MSG_MAX];
	static struct rt_reasons rs;
	struct rt_update *u = &rt->up;
	struct baton_msg_writer w;
	struct baton_msg m;
	struct baton_diag d;
	char err[BATON_MESSAGE_MAX], name[BATON_NAME_MAX], rel[BATON_RELEASE_STRMAX];
	int image_fd = -1, *fds = NULL, send_fds[2], rc;
	size_t image_len = 0, nfds = 0, len, nsend = 0;
	uint64_t restore_ns = 0, t, downtime;
	uint32_t pid;
	pid_t child;

	rs.n = rs.dropped = 0;
	rc = recv_msg(rt, sock, buf, &m, BATON_MSG_HELLO, "hello", &rs);
	if (rc < 0)
		return update_fail(rt, sock, false, rc, &rs);
	baton_msg_get_u32(&m, BATON_TAG_PID, &pid);
	baton_msg_get_str(&m, BATON_TAG_PROGRAM, name, sizeof(name));
	baton_msg_get_str(&m, BATON_TAG_RELEASE, rel, sizeof(rel));
	if (pid != (uint32_t)u->child)
		return fail1(rt, sock, false, -EPROTO,
			     "hello: the new process says it is pid %u, the kernel says %d", pid,
			     (int)u->child);
	{
		struct baton_build_id b = { 0 };
		struct baton_msg_item it;

		if (baton_msg_get(&m, BATON_TAG_BUILD_ID, &it) == 0) {
			b.len = it.len;
			memcpy(b.b, it.value, it.len);
		}
		/* the file may have been replaced since the pre-flight read it */
		if (strcmp(name, u->new_name) || strcmp(rel, u->new_release) ||
		    (b.len && u->new_build.len && !baton_build_id_equal(&b, &u->new_build))) {
			char hb[2 * BATON_BUILD_ID_MAX + 1], pb[2 * BATON_BUILD_ID_MAX + 1];

			baton_build_id_format(&b, hb, sizeof(hb));
			baton_build_id_format(&u->new_build, pb, sizeof(pb));
			return fail1(rt, sock, false, -ESTALE,
				     "hello: the new process is %s %s (build %s), but the pre-flight checked %s %s (build %s): was %s replaced meanwhile? try again",
				     name, rel, hb, u->new_name, u->new_release, pb, u->program);
		}
	}
	t = baton_now_ns();
	send_step(rt, "spawn+connect", t - u->t_spawn);

	/* Freeze and save: the downtime starts here. */
	u->t_freeze = baton_now_ns();
	if (rt->has_life && rt->life.freeze) {
		rc = rt->life.freeze(rt->life.ctx);
		if (rc)
			return fail1(rt, sock, false, rc < 0 ? rc : -ECANCELED,
				     "freeze: the program's freeze callback returned %d", rc);
	}
	rc = save_all(rt, err, sizeof(err));
	t = baton_now_ns();
	if (rc == 0)
		rc = build_image(rt, &image_fd, &image_len, &fds, &nfds, err, sizeof(err));
	if (rc < 0)
		return fail1(rt, sock, true, rc, "%s", err);
	rt_log(rt, BATON_LOG_DEBUG, "freeze+save: freeze and save %.3f ms, image %.3f ms (%zu bytes, %zu fds)",
	       (t - u->t_freeze) / 1e6, (baton_now_ns() - t) / 1e6, image_len, nfds);
	t = baton_now_ns();
	send_step(rt, "freeze+save", t - u->t_freeze);

	/* The image, the control listener, then the fd table in batches. */
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_IMAGE);
	baton_msg_put_u64(&w, BATON_TAG_IMAGE_LEN, image_len);
	baton_msg_put_u32(&w, BATON_TAG_NFDS, (uint32_t)nfds);
	baton_msg_put_u32(&w, BATON_TAG_PID, (uint32_t)getpid());
	send_fds[nsend++] = image_fd;
	if (rt->ctl_listener >= 0) {
		baton_msg_put_u32(&w, BATON_TAG_CONTROL_FD, 1);
		send_fds[nsend++] = rt->ctl_listener;
	}
	rc = baton_msg_end(&w, &len);
	if (rc == 0)
		rc = baton_tp_send(sock, buf, len, send_fds, nsend, &d);
	if (rc == 0)
		rc = baton_tp_send_fds(sock, fds, nfds, &d);
	close(image_fd);
	free(fds);
	if (rc < 0) {
		char how[64] = "";
		pid_t dead = u->child;

		if (rc == -EPIPE || rc == -ECONNRESET)
			child_fate(u, how, sizeof(how));
		if (how[0])
			return fail1(rt, sock, true, rc,
				     "send: the new process (pid %d) %s while the state was sent",
				     (int)dead, how);
		return fail1(rt, sock, true, rc, "send: %s", d.msg);
	}
	send_step(rt, "send", baton_now_ns() - t);

	/* Ready, or the reasons it is not. */
	rs.n = rs.dropped = 0;
	rc = recv_msg(rt, sock, buf, &m, BATON_MSG_READY, "restore", &rs);
	if (rc < 0)
		return update_fail(rt, sock, true, rc, &rs);
	baton_msg_get_u64(&m, BATON_TAG_RESTORE_NS, &restore_ns);
	send_step(rt, "restore", restore_ns);

	/* The commit point. */
	if (BATON_FAULT("die_before_commit"))
		abort();   /* tests: the successor must take over alone */
	if (BATON_FAULT("stall_before_commit"))
		usleep(2000 * u->timeout_ms);   /* tests: the successor must wait */
	t = baton_now_ns();
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_COMMIT);
	baton_msg_put_u64(&w, BATON_TAG_DOWNTIME_NS, t - u->t_freeze);
	rc = baton_msg_end(&w, &len);
	if (rc == 0)
		rc = baton_tp_send(sock, buf, len, NULL, 0, &d);
	if (rc < 0)
		return fail1(rt, sock, true, rc, "commit: %s", d.msg);
	downtime = baton_now_ns() - u->t_freeze;
	send_step(rt, "commit", baton_now_ns() - t);
	close(sock);
	child = u->child;
	rt_log(rt, BATON_LOG_INFO,
	       "update from %s %s to %s %s committed: pid %d serves now (downtime %.3f ms)",
	       rt->name, rt->release, name, rel, (int)child, downtime / 1e6);
	rt->committed = true;
	send_result(rt, u->client, 0, NULL, downtime, child, rel, false);
	u->child = 0;   /* not ours to kill any more */
	update_release(rt);
	/* The successor owns the control socket now. */
	if (rt->ctl_listener >= 0) {
		rt_epoll_del(rt, rt->ctl_listener);
		close(rt->ctl_listener);
		rt->ctl_listener = -1;
		rt->ctl_owned = false;
	}
	while (rt->clients)
		client_close(rt, rt->clients);
	if (rt->has_life && rt->life.commit)
		rt->life.commit(rt->life.ctx);
	/*
	 * The successor is runnable now with the commit in hand, often on
	 * this CPU: it was preempted when it woke us with READY. This process
	 * exits next, and exiting unmaps its view of every region. That is
	 * kernel time in proportion to what was mapped (tens of ms per GiB),
	 * and a PREEMPT_NONE kernel does not preempt it. Let the successor
	 * run first, or its first answers wait for our time slice to end.
	 */
	sched_yield();
	return BATON_DISPATCH_COMMITTED;
}

static int on_handoff_listener(struct baton_rt *rt)
{
	struct rt_update *u = &rt->up;
	struct baton_diag d;
	struct ucred cred;
	int sock;

	sock = baton_tp_accept(u->listener, &cred, &d);
	if (sock < 0) {
		if (sock != -EAGAIN)
			rt_log(rt, BATON_LOG_WARNING, "update to %s: %s", u->program, d.msg);
		return BATON_DISPATCH_CONTINUE;
	}
	if (cred.uid != geteuid() || cred.pid != u->child) {
		rt_log(rt, BATON_LOG_WARNING,
		       "update to %s: rejected a connection to the handoff socket from pid %d uid %d: only pid %d uid %d (the process this update started) may connect",
		       u->program, (int)cred.pid, (int)cred.uid, (int)u->child, (int)geteuid());
		close(sock);
		return BATON_DISPATCH_CONTINUE;
	}
	rt_epoll_del(rt, u->timerfd);
	return handoff(rt, sock);
}

static int handle_request(struct baton_rt *rt, struct rt_client *c, const struct baton_msg *m)
{
	static uint8_t buf[BATON_MSG_MAX];
	size_t len;

	if (m->type == BATON_MSG_STATUS) {
		if (rt_status_reply(rt, buf, sizeof(buf), &len) == 0 && client_send(c, buf, len) < 0)
			client_close(rt, c);
		return BATON_DISPATCH_CONTINUE;
	}
	if (m->type == BATON_MSG_SAVE) {
		/* Synchronous: freeze, save, write, thaw, then the answer. */
		if (rt_save_request(rt, m, buf, sizeof(buf), &len) == 0 && client_send(c, buf, len) < 0)
			client_close(rt, c);
		return BATON_DISPATCH_CONTINUE;
	}
	if (m->type == BATON_MSG_UPGRADE) {
		char program[PATH_MAX], *args[256];
		struct baton_msg_item it;
		uint32_t transport = 0, timeout = 0;
		size_t pos = 0;
		int n = 0, rc;

		if (baton_msg_get_str(m, BATON_TAG_PROGRAM, program, sizeof(program)) < 0)
			program[0] = '\0';
		baton_msg_get_u32(m, BATON_TAG_TRANSPORT, &transport);
		baton_msg_get_u32(m, BATON_TAG_TIMEOUT_MS, &timeout);
		while (baton_msg_next(m, &pos, &it) > 0 && n < 255) {
			if (it.tag != BATON_TAG_ARG)
				continue;
			args[n] = malloc((size_t)it.len + 1);
			if (!args[n])
				break;
			baton_msg_item_str(&it, args[n], (size_t)it.len + 1);
			n++;
		}
		args[n] = NULL;
		rt_log(rt, BATON_LOG_INFO, "control socket: upgrade to %s requested", program);
		rc = update_begin(rt, c, program, n ? args : NULL, n, transport, timeout);
		while (n--)
			free(args[n]);
		return rc == BATON_DISPATCH_COMMITTED ? rc : BATON_DISPATCH_CONTINUE;
	}
	rt_log(rt, BATON_LOG_WARNING, "control socket: a %s message is not a request; closing",
	       baton_msg_type_name(m->type));
	client_close(rt, c);
	return BATON_DISPATCH_CONTINUE;
}

static int on_client(struct baton_rt *rt, struct rt_client *c)
{
	struct baton_diag d;
	struct baton_msg m;
	size_t need;
	ssize_t n;
	int rc;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return BATON_DISPATCH_CONTINUE;
	if (n <= 0) {
		client_close(rt, c);
		return BATON_DISPATCH_CONTINUE;
	}
	c->len += (size_t)n;
	for (;;) {
		rc = baton_msg_frame(c->buf, c->len, &need, &d);
		if (rc == 0 && (need == 0 || c->len < need))
			return BATON_DISPATCH_CONTINUE;
		if (rc == 0)
			rc = baton_msg_parse(&m, c->buf, need, &d);
		if (rc < 0) {
			rt_log(rt, BATON_LOG_WARNING, "control socket: malformed request: %s; closing",
			       d.msg);
			client_close(rt, c);
			return BATON_DISPATCH_CONTINUE;
		}
		rc = handle_request(rt, c, &m);
		if (rc != BATON_DISPATCH_CONTINUE)
			return rc;
		/* The client may be gone (closed by the handler). */
		{
			struct rt_client *p;

			for (p = rt->clients; p && p != c; p = p->next)
				;
			if (!p)
				return BATON_DISPATCH_CONTINUE;
		}
		memmove(c->buf, c->buf + need, c->len - need);
		c->len -= need;
	}
}

static void on_child_exit(struct baton_rt *rt)
{
	struct rt_update *u = &rt->up;
	int status = 0;
	char how[64];

	if (waitpid(u->child, &status, WNOHANG) != u->child)
		return;
	u->child = 0;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	fail1(rt, -1, false, -ECHILD, "spawn: the new program %s %s before it connected",
	      u->program, how);
}

int baton_rt_dispatch(struct baton_rt *rt)
{
	struct epoll_event ev[16];
	int n, i, rc;

	if (!rt)
		return -EINVAL;
	n = epoll_wait(rt->epfd, ev, 16, 0);
	if (n < 0)
		return errno == EINTR ? BATON_DISPATCH_CONTINUE : -errno;
	for (i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		struct rt_client *c;

		if (rt->committed)
			return BATON_DISPATCH_COMMITTED;
		if (fd == rt->ctl_listener && fd >= 0) {
			control_accept(rt);
		} else if (fd == rt->sigfd && fd >= 0) {
			struct signalfd_siginfo si;

			while (read(rt->sigfd, &si, sizeof(si)) == sizeof(si)) {
				const char *prog = rt->upgrade_program ? rt->upgrade_program :
					rt->program_path;

				rt_log(rt, BATON_LOG_INFO, "signal %d: upgrade to %s", (int)si.ssi_signo,
				       prog);
				rc = update_begin(rt, NULL, prog, NULL, 0, BATON_TRANSPORT_SUCCESSOR, 0);
				if (rc == BATON_DISPATCH_COMMITTED)
					return rc;
			}
		} else if (rt->up.active && fd == rt->up.listener) {
			rc = on_handoff_listener(rt);
			if (rc == BATON_DISPATCH_COMMITTED)
				return rc;
		} else if (rt->up.active && fd == rt->up.pidfd) {
			on_child_exit(rt);
		} else if (rt->up.active && fd == rt->up.timerfd) {
			fail1(rt, -1, false, -ETIMEDOUT,
			      "spawn: the new program %s (pid %d) did not connect within %u ms (deadline)",
			      rt->up.program, (int)rt->up.child, rt->up.timeout_ms);
		} else {
			for (c = rt->clients; c && c->fd != fd; c = c->next)
				;
			if (c) {
				rc = on_client(rt, c);
				if (rc == BATON_DISPATCH_COMMITTED)
					return rc;
			}
		}
	}
	return rt->committed ? BATON_DISPATCH_COMMITTED : BATON_DISPATCH_CONTINUE;
}

int baton_rt_upgrade(struct baton_rt *rt, const char *program, char *const argv[])
{
	if (!rt)
		return -EINVAL;
	if (!program)
		program = rt->program_path;
	return update_begin(rt, NULL, program, argv, -1, BATON_TRANSPORT_SUCCESSOR, 0);
}

/* For exec.c: what the exec transport needs of the update. */
int rt_update_fail(struct baton_rt *rt, bool frozen, int status, const char *reason)
{
	return fail1(rt, -1, frozen, status, "%s", reason);
}

void rt_update_step(struct baton_rt *rt, const char *name, uint64_t ns)
{
	send_step(rt, name, ns);
}

int rt_update_save(struct baton_rt *rt, int *image_fd, size_t *image_len, int **fds,
		   size_t *nfds, char *err, size_t errsize)
{
	int rc;

	rt->up.t_freeze = baton_now_ns();
	if (rt->has_life && rt->life.freeze) {
		rc = rt->life.freeze(rt->life.ctx);
		if (rc) {
			snprintf(err, errsize, "freeze: the program's freeze callback returned %d", rc);
			return -ECANCELED;
		}
	}
	rc = save_all(rt, err, errsize);
	if (rc == 0)
		rc = build_image(rt, image_fd, image_len, fds, nfds, err, errsize);
	if (rc < 0 && rt->has_life && rt->life.thaw)
		rt->life.thaw(rt->life.ctx);
	return rc;
}

void rt_old_free(struct baton_rt *rt)
{
	if (rt->up.active) {
		kill_child(rt);
		update_release(rt);
	}
	while (rt->clients)
		client_close(rt, rt->clients);
	if (rt->ctl_listener >= 0) {
		close(rt->ctl_listener);
		if (rt->ctl_owned && rt->control_path)
			unlink(rt->control_path);
	}
	rt->ctl_listener = -1;
}
