/* SPDX-License-Identifier: MIT */
/*
 * DOC: transport — the successor handoff over a Unix SOCK_SEQPACKET socket
 *
 * The predecessor listens under a random abstract name and tells the
 * successor the name in its environment; the successor connects back. The
 * kernel keeps message boundaries on SOCK_SEQPACKET, so one recvmsg() is one
 * message of core/msg.h; SCM_RIGHTS carries up to 253 descriptors per
 * message, so the fd table of an image goes in numbered batches. Every
 * receive is bounded in size, in descriptors and in time, and a message or
 * descriptor list the kernel had to truncate is an error, never a partial
 * success.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/msg.h"
#include "fault.h"
#include "transport.h"

uint64_t baton_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void baton_tp_close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int abstract_addr(struct sockaddr_un *sa, socklen_t *salen, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > BATON_HANDOFF_NAME_MAX || n + 1 > sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, name, n);   /* sun_path[0] = '\0': abstract */
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}

int baton_tp_listen(char *name, size_t size, struct baton_diag *d)
{
	struct sockaddr_un sa;
	socklen_t salen = 0;
	uint8_t rnd[8];
	int fd, rc;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return baton_diag_set(d, -errno ? -errno : -EIO,
				      "handoff socket: no random bytes for its name: %s", strerror(errno));
	rc = snprintf(name, size, "baton-handoff-%d-%02x%02x%02x%02x%02x%02x%02x%02x",
		      (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (rc < 0 || (size_t)rc >= size)
		return baton_diag_set(d, -ENAMETOOLONG, "handoff socket: name does not fit");
	if (BATON_FAULT("socket"))
		return baton_diag_set(d, -EMFILE, "handoff socket: socket(): %s (injected)",
				      strerror(EMFILE));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return baton_diag_set(d, -errno, "handoff socket: socket(): %s", strerror(errno));
	abstract_addr(&sa, &salen, name);
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 8) < 0) {
		rc = -errno;
		close(fd);
		return baton_diag_set(d, rc, "handoff socket @%s: %s", name, strerror(-rc));
	}
	return fd;
}

int baton_tp_connect(const char *name, struct baton_diag *d)
{
	struct sockaddr_un sa;
	socklen_t salen = 0;
	int fd, rc;

	if (abstract_addr(&sa, &salen, name) < 0)
		return baton_diag_set(d, -EINVAL, "handoff socket name \"%.100s\" is not valid", name);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return baton_diag_set(d, -errno, "handoff socket: socket(): %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		rc = -errno;
		close(fd);
		return baton_diag_set(d, rc, "cannot connect to the predecessor at @%s: %s",
				      name, strerror(-rc));
	}
	return fd;
}

int baton_tp_peercred(int sock, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return -errno;
	if (len != sizeof(*cred))
		return -EPROTO;
	return 0;
}

int baton_tp_accept(int listener, struct ucred *cred, struct baton_diag *d)
{
	int fd, rc;

	if (BATON_FAULT("accept"))
		return baton_diag_set(d, -ECONNABORTED, "handoff socket: accept(): %s (injected)",
				      strerror(ECONNABORTED));
	fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return baton_diag_set(d, -errno, "handoff socket: accept(): %s", strerror(errno));
	rc = baton_tp_peercred(fd, cred);
	if (rc < 0) {
		close(fd);
		return baton_diag_set(d, rc, "handoff socket: SO_PEERCRED: %s", strerror(-rc));
	}
	return fd;
}

int baton_tp_send(int sock, const void *msg, size_t len, const int *fds, size_t nfds,
		  struct baton_diag *d)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * BATON_SCM_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > BATON_SCM_MAX_FDS)
		return baton_diag_set(d, -EINVAL, "%zu fds in one message, at most %d",
				      nfds, BATON_SCM_MAX_FDS);
	if (nfds) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (BATON_FAULT("sendmsg"))
		return baton_diag_set(d, -ENOBUFS, "sendmsg(): %s (injected)", strerror(ENOBUFS));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return baton_diag_set(d, -errno, "sendmsg(): %s", strerror(errno));
	if ((size_t)n != len)
		return baton_diag_set(d, -EIO, "sendmsg(): sent %zd of %zu bytes", n, len);
	return 0;
}

static int wait_readable(int sock, int timeout_ms, int watch_fd, struct baton_diag *d)
{
	uint64_t deadline = timeout_ms >= 0 ? baton_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = watch_fd, .events = POLLIN },
		};
		int left = -1, rc;

		if (timeout_ms >= 0) {
			uint64_t now = baton_now_ns();

			left = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
		}
		rc = poll(p, watch_fd >= 0 ? 2 : 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return baton_diag_set(d, -errno, "poll(): %s", strerror(errno));
		if (p[0].revents)
			return 0;
		if (watch_fd >= 0 && p[1].revents)
			return baton_diag_set(d, -ECHILD, "the peer process exited");
		if (rc == 0)
			return baton_diag_set(d, -ETIMEDOUT, "no message within %d ms", timeout_ms);
	}
}

int baton_tp_recv(int sock, void *buf, size_t size, size_t *len, int *fds, size_t maxfds,
		  size_t *nfds, int timeout_ms, int watch_fd, struct baton_diag *d)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * BATON_SCM_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	size_t got = 0;
	ssize_t n;
	int rc;

	*len = 0;
	if (nfds)
		*nfds = 0;
	rc = wait_readable(sock, timeout_ms, watch_fd, d);
	if (rc < 0)
		return rc;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	if (BATON_FAULT("recvmsg"))
		return baton_diag_set(d, -ENOMEM, "recvmsg(): %s (injected)", strerror(ENOMEM));
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return baton_diag_set(d, -errno, "recvmsg(): %s", strerror(errno));
	/* Collect what came first, so that it is closed on every error below. */
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, cnt;
		int *p;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)(void *)CMSG_DATA(c);
		for (k = 0; k < cnt; k++) {
			int fd;

			memcpy(&fd, p + k, sizeof(fd));
			if (got < maxfds && fds) {
				fds[got++] = fd;
			} else {
				close(fd);
				rc = -EMSGSIZE;   /* more fds than the message may carry */
			}
		}
	}
	if (n == 0 && got == 0)
		return baton_diag_set(d, -EPIPE, "the peer closed the connection");
	if (rc < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		baton_tp_close_all(fds, got);
		return baton_diag_set(d, -EMSGSIZE,
				      "message truncated (%zd bytes, flags 0x%x, more fds than the %zu expected)",
				      n, mh.msg_flags, maxfds);
	}
	*len = (size_t)n;
	if (nfds)
		*nfds = got;
	return 0;
}

int baton_tp_send_fds(int sock, const int *fds, size_t n, struct baton_diag *d)
{
	uint8_t buf[64];
	size_t first, len;
	int rc;

	for (first = 0; first < n; first += BATON_SCM_MAX_FDS) {
		size_t cnt = n - first < BATON_SCM_MAX_FDS ? n - first : BATON_SCM_MAX_FDS;
		struct baton_msg_writer w;

		baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_FDS);
		baton_msg_put_u32(&w, BATON_TAG_FD_FIRST, (uint32_t)first);
		baton_msg_put_u32(&w, BATON_TAG_FD_COUNT, (uint32_t)cnt);
		rc = baton_msg_end(&w, &len);
		if (rc < 0)
			return baton_diag_set(d, rc, "fds message: %s", strerror(-rc));
		rc = baton_tp_send(sock, buf, len, fds + first, cnt, d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int baton_tp_recv_fds(int sock, int *fds, size_t n, int timeout_ms, int watch_fd,
		      struct baton_diag *d)
{
	uint8_t buf[BATON_MSG_MAX];
	size_t first = 0, i;
	int rc;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	while (first < n) {
		struct baton_msg m;
		uint32_t f, cnt;
		size_t len, got;

		rc = baton_tp_recv(sock, buf, sizeof(buf), &len, fds + first,
				   n - first < BATON_SCM_MAX_FDS ? n - first : BATON_SCM_MAX_FDS,
				   &got, timeout_ms, watch_fd, d);
		if (rc < 0)
			goto fail;
		rc = baton_msg_parse(&m, buf, len, d);
		if (rc == 0 && m.type != BATON_MSG_FDS)
			rc = baton_diag_set(d, -EBADMSG, "expected an fds message, got %s",
					    baton_msg_type_name(m.type));
		if (rc < 0) {
			baton_tp_close_all(fds + first, got);
			goto fail;
		}
		baton_msg_get_u32(&m, BATON_TAG_FD_FIRST, &f);
		baton_msg_get_u32(&m, BATON_TAG_FD_COUNT, &cnt);
		if (f != first || cnt != got || cnt == 0) {
			rc = baton_diag_set(d, -EBADMSG,
					    "fds message carries indexes %u..+%u with %zu fds; expected index %zu",
					    f, cnt, got, first);
			baton_tp_close_all(fds + first, got);
			goto fail;
		}
		first += got;
	}
	return 0;
fail:
	baton_tp_close_all(fds, first);
	return rc;
}
