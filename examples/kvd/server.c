/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd server — the epoll loop, listeners and client connections
 *
 * One thread. Sockets are non-blocking and edge-triggered; a connection
 * with work left (a read budget used up, output it could not write yet) sits
 * on a ready list that the loop serves before it waits again, so one busy
 * client cannot starve the others and no edge is ever lost.
 *
 * While an upgrade is saving state (frozen) the loop touches no client
 * socket and no item: it only serves the baton fd. Events that arrive
 * meanwhile stay queued in the epoll set (it is not waited on), so after a
 * refused or cancelled upgrade (thaw) they are served as if nothing happened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "handover.h"
#include "kvd.h"

struct kvd_server *kvd_srv;

uint32_t kvd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

uint64_t kvd_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void kvd_log(int level, const char *fmt, ...)
{
	int verbose = kvd_srv ? kvd_srv->set.verbose : 0;
	va_list ap;
	char line[1024];

	/* errors and warnings always; -v: info; -vv: debug */
	if (level > 4 && verbose < level - 5)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (verbose >= 2) /* -vv: with CLOCK_MONOTONIC time, to follow an upgrade across processes */
		fprintf(stderr, "%.6f kvd %s[%d]: %s\n", (double)kvd_mono_ns() / 1e9, KVD_RELEASE,
			(int)getpid(), line);
	else
		fprintf(stderr, "kvd %s[%d]: %s\n", KVD_RELEASE, (int)getpid(), line);
}

/* ------------------------------------------------------------------------ */
/* Buffers                                                                  */

int kvd_buf_reserve(struct kvd_buf *b, size_t more)
{
	size_t used = b->len - b->pos, cap;
	char *p;

	if (b->cap - b->len >= more)
		return 0;
	if (b->pos && b->cap - used >= more && used <= b->cap / 2) {
		memmove(b->data, b->data + b->pos, used);
		b->pos = 0;
		b->len = used;
		return 0;
	}
	cap = b->cap ? b->cap : KVD_IN_CHUNK;
	while (cap - used < more)
		cap *= 2;
	if (b->pos == 0) {
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
	} else {
		p = malloc(cap);
		if (!p)
			return -ENOMEM;
		memcpy(p, b->data + b->pos, used);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	b->pos = 0;
	b->len = used;
	return 0;
}

void kvd_buf_free(struct kvd_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Gives back a large buffer once it is empty. */
static void buf_trim(struct kvd_buf *b)
{
	if (b->pos == b->len) {
		b->pos = b->len = 0;
		if (b->cap > (256u << 10))
			kvd_buf_free(b);
	}
}

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

static void ready_push(struct kvd_server *s, struct kvd_conn *c)
{
	if (c->ready)
		return;
	c->ready = true;
	c->next_ready = NULL;
	if (s->ready_tail)
		s->ready_tail->next_ready = c;
	else
		s->ready_head = c;
	s->ready_tail = c;
}

static void ready_remove(struct kvd_server *s, struct kvd_conn *c)
{
	struct kvd_conn **link = &s->ready_head, *prev = NULL;

	if (!c->ready)
		return;
	while (*link && *link != c) {
		prev = *link;
		link = &(*link)->next_ready;
	}
	if (*link)
		*link = c->next_ready;
	if (s->ready_tail == c)
		s->ready_tail = prev;
	c->ready = false;
}

void kvd_conn_close(struct kvd_server *s, struct kvd_conn *c)
{
	kvd_log(7, "connection %llu (%s) closed", (unsigned long long)c->id, c->peer);
	ready_remove(s, c);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	kvd_buf_free(&c->in);
	kvd_buf_free(&c->out);
	free(c);
	s->nconns--;
}

static void peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(buf, size, ss.ss_family == AF_INET6 ? "tcp:[%s]:%u" : "tcp:%s:%u", host, port);
}

struct kvd_conn *kvd_conn_adopt(struct kvd_server *s, int fd, uint64_t id)
{
	struct kvd_conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };

	if (!c)
		return NULL;
	c->w.kind = KVD_W_CONN;
	c->fd = fd;
	c->id = id;
	c->opened_at = s->st.now;
	c->readable = true;
	peer_name(fd, c->peer, sizeof(c->peer));
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (id >= s->next_conn_id)
		s->next_conn_id = id + 1;
	ready_push(s, c);
	return c;
}

static void accept_all(struct kvd_server *s, struct kvd_listener *l)
{
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				kvd_log(4, "accept on %s:%u: %s", l->addr, l->port, strerror(errno));
			return;
		}
		if (s->nconns >= s->set.maxconns) {
			static const char msg[] = "ERROR Too many open connections\r\n";

			s->stats.rejected_connections++;
			(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!kvd_conn_adopt(s, fd, s->next_conn_id)) {
			close(fd);
			continue;
		}
		s->stats.total_connections++;
		kvd_log(7, "connection %llu from %s", (unsigned long long)s->conns->id, s->conns->peer);
	}
}

/*
 * Asks for EPOLLOUT only while a client is owed bytes the socket would not
 * take: a TCP socket reports write space on every ACK otherwise.
 */
static int want_out(struct kvd_server *s, struct kvd_conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c };

	if (c->want_out == on)
		return 0;
	if (on)
		ev.events |= EPOLLOUT;
	c->want_out = on;
	return epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what c is owed: 0 (all written or the socket is full), -1 to close. */
static int conn_flush(struct kvd_server *s, struct kvd_conn *c)
{
	struct kvd_buf *o = &c->out;

	while (o->pos < o->len) {
		ssize_t n = send(c->fd, o->data + o->pos, o->len - o->pos, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			o->pos += (size_t)n;
			s->stats.bytes_written += (uint64_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return want_out(s, c, true);
		} else {
			return -1;
		}
	}
	buf_trim(o);
	return want_out(s, c, false);
}

/* Serves one connection until it has nothing to do or used its budget. */
static void conn_run(struct kvd_server *s, struct kvd_conn *c)
{
	int budget = KVD_READ_BUDGET;

	for (;;) {
		ssize_t n;

		kvd_process(s, c);
		if (conn_flush(s, c) < 0) {
			kvd_conn_close(s, c);
			return;
		}
		if (c->close_after_write) {
			if (kvd_buf_used(&c->out) == 0)
				kvd_conn_close(s, c);
			return;  /* EPOLLOUT brings it back */
		}
		if (kvd_buf_used(&c->out) >= KVD_OUT_HIGH)
			return;  /* likewise */
		if (!c->readable)
			break;
		if (budget-- == 0) {
			ready_push(s, c);
			break;
		}
		if (kvd_buf_reserve(&c->in, KVD_IN_CHUNK) < 0) {
			kvd_conn_close(s, c);
			return;
		}
		n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			s->stats.bytes_read += (uint64_t)n;
		} else if (n == 0) {
			/* The client is done sending: answer what it sent, then close. */
			c->readable = false;
			kvd_process(s, c);
			c->close_after_write = true;
		} else if (errno == EAGAIN) {
			c->readable = false;
		} else if (errno != EINTR) {
			kvd_conn_close(s, c);
			return;
		}
	}
	buf_trim(&c->in);
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                */

int kvd_listener_adopt(struct kvd_server *s, int fd, const char *addr, uint16_t port)
{
	struct kvd_listener *l;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	if (s->nlisteners == KVD_MAX_LISTENERS)
		return -ENOSPC;
	l = &s->listeners[s->nlisteners];
	l->w.kind = KVD_W_LISTENER;
	l->fd = fd;
	l->port = port;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	ev.data.ptr = l;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->nlisteners++;
	return 0;
}

static int listen_one(struct kvd_server *s, const char *host, bool optional)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char port[8];
	int rc, bound = 0;

	snprintf(port, sizeof(port), "%u", s->set.port);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		if (optional)
			return 0;
		kvd_log(3, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		char name[INET6_ADDRSTRLEN] = "?";
		uint16_t p = s->set.port;

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
			int e = errno;

			close(fd);
			if (optional && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT))
				continue;
			kvd_log(3, "cannot listen on %s port %s: %s", host, port, strerror(e));
			freeaddrinfo(res);
			return -e;
		}
		if (ai->ai_family == AF_INET) {
			struct sockaddr_in a;
			socklen_t len = sizeof(a);

			getsockname(fd, (struct sockaddr *)&a, &len);
			inet_ntop(AF_INET, &a.sin_addr, name, sizeof(name));
			p = ntohs(a.sin_port);
		} else {
			struct sockaddr_in6 a;
			socklen_t len = sizeof(a);

			getsockname(fd, (struct sockaddr *)&a, &len);
			inet_ntop(AF_INET6, &a.sin6_addr, name, sizeof(name));
			p = ntohs(a.sin6_port);
		}
		rc = kvd_listener_adopt(s, fd, name, p);
		if (rc < 0) {
			close(fd);
			freeaddrinfo(res);
			return rc;
		}
		kvd_log(6, "listening on %s port %u", name, p);
		bound++;
	}
	freeaddrinfo(res);
	return bound || optional ? 0 : -EADDRNOTAVAIL;
}

int kvd_listen(struct kvd_server *s)
{
	char list[sizeof(s->set.listen)], *save = NULL;
	int rc;

	if (!s->set.listen[0]) {
		/* Loopback by default (memcached listens everywhere; -l 0.0.0.0 does). */
		rc = listen_one(s, "127.0.0.1", false);
		if (rc == 0)
			rc = listen_one(s, "::1", true);
		return rc;
	}
	snprintf(list, sizeof(list), "%s", s->set.listen);
	for (char *h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		rc = listen_one(s, h, false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                 */

/* After a refused or cancelled upgrade: serve whatever arrived meanwhile. */
void kvd_server_thaw(struct kvd_server *s)
{
	s->frozen = false;
	for (int i = 0; i < s->nlisteners; i++)
		accept_all(s, &s->listeners[i]);
	for (struct kvd_conn *c = s->conns; c; c = c->next) {
		c->readable = true;
		ready_push(s, c);
	}
}

static void run_ready(struct kvd_server *s)
{
	struct kvd_conn *c = s->ready_head;

	s->ready_head = s->ready_tail = NULL;
	while (c && !s->frozen) {
		struct kvd_conn *next = c->next_ready;

		c->ready = false;
		conn_run(s, c);
		c = next;
	}
	/* Frozen midway: put back what was not served. */
	while (c) {
		struct kvd_conn *next = c->next_ready;

		c->ready = false;
		ready_push(s, c);
		c = next;
	}
}

static int signal_watch(struct kvd_server *s, struct kvd_watch *w, int *sfd)
{
	sigset_t set;
	struct epoll_event ev = { .events = EPOLLIN };

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	*sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (*sfd < 0)
		return -errno;
	w->kind = KVD_W_SIGNAL;
	ev.data.ptr = w;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, *sfd, &ev) < 0 ? -errno : 0;
}

int kvd_serve(struct kvd_server *s)
{
	struct kvd_watch sigw, batonw = { .kind = KVD_W_BATON };
	struct epoll_event evs[128];
	int sfd = -1, bfd = kvd_handover_fd(s);
	int rc;

	rc = signal_watch(s, &sigw, &sfd);
	if (rc < 0)
		return rc;
	if (bfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &batonw };

		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, bfd, &ev) < 0)
			return -errno;
	}
	while (!s->stopping) {
		int n;

		if (s->frozen) {
			/* Only the upgrade goes on; clients wait in the kernel. */
			struct pollfd p = { .fd = bfd, .events = POLLIN };

			if (poll(&p, 1, 100) > 0 && kvd_handover_dispatch(s) == KVD_COMMITTED)
				return KVD_COMMITTED;
			continue;
		}
		/* Right after an upgrade, look without waiting: what is pending is served first. */
		n = epoll_wait(s->epfd, evs, 128,
			       s->ready_head || s->awaiting_first_answer ? 0 : 1000);
		if (n < 0 && errno != EINTR)
			return -errno;
		s->st.now = kvd_now();
		for (int i = 0; i < n; i++) {
			struct kvd_watch *w = evs[i].data.ptr;

			switch (w->kind) {
			case KVD_W_LISTENER:
				if (!s->frozen)
					accept_all(s, (struct kvd_listener *)(void *)w);
				break;
			case KVD_W_CONN: {
				struct kvd_conn *c = (struct kvd_conn *)(void *)w;

				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->readable = true;
				ready_push(s, c);
				break;
			}
			case KVD_W_BATON:
				if (kvd_handover_dispatch(s) == KVD_COMMITTED)
					return KVD_COMMITTED;
				break;
			case KVD_W_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					kvd_log(6, "signal %u: stopping", si.ssi_signo);
					s->stopping = true;
				}
				break;
			}
			}
		}
		if (!s->frozen)
			run_ready(s);
		/* The first turn served whatever was waiting; if nothing was, we were ready. */
		if (s->awaiting_first_answer)
			kvd_note_answer(s, "ready, no request was waiting,");
	}
	close(sfd);
	return 0;
}
