/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of the transport (src/transport) and the fault points
 *
 * Real sockets and memfds: messages with fds over SOCK_SEQPACKET, the fd
 * table in batches of 253, truncation, end of stream and deadlines; the
 * image memfd's seals, checked by the reader; and BATON_FAULT's counting.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/msg.h"
#include "transport/fault.h"
#include "transport/transport.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

static void test_send_recv_fds(void **state)
{
	uint8_t buf[64];
	int sv[2], fds[3], got[3];
	size_t len, n;
	struct baton_diag d;

	(void)state;
	pair(sv);
	fds[0] = memfd_create("a", MFD_CLOEXEC);
	fds[1] = memfd_create("b", MFD_CLOEXEC);
	fds[2] = memfd_create("c", MFD_CLOEXEC);
	assert_int_equal(baton_tp_send(sv[0], "hello", 5, fds, 3, &d), 0);
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, got, 3, &n, 1000, -1, &d), 0);
	assert_int_equal(len, 5);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(same_file(fds[i], got[i]));
		assert_true(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		close(got[i]);
	}
	/* more fds than the receiver takes: an error, and nothing leaks */
	assert_int_equal(baton_tp_send(sv[0], "x", 1, fds, 3, &d), 0);
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, got, 2, &n, 1000, -1, &d),
			 -EMSGSIZE);
	/* a message larger than the buffer */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(baton_tp_send(sv[0], buf, sizeof(buf), NULL, 0, &d), 0);
	assert_int_equal(baton_tp_recv(sv[1], buf, 8, &len, NULL, 0, NULL, 1000, -1, &d), -EMSGSIZE);
	/* fds where none are expected */
	assert_int_equal(baton_tp_send(sv[0], "y", 1, fds, 1, &d), 0);
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, NULL, 0, NULL, 1000, -1, &d),
			 -EMSGSIZE);
	/* too many for one message */
	assert_int_equal(baton_tp_send(sv[0], "z", 1, fds, BATON_SCM_MAX_FDS + 1, &d), -EINVAL);
	/* a deadline, then the end of the stream */
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, NULL, 0, NULL, 50, -1, &d),
			 -ETIMEDOUT);
	close(sv[0]);
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, NULL, 0, NULL, 1000, -1, &d),
			 -EPIPE);
	close(sv[1]);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

static void test_watch_fd(void **state)
{
	uint8_t buf[16];
	int sv[2], ev[2];
	size_t len;
	struct baton_diag d;

	(void)state;
	pair(sv);
	assert_int_equal(pipe2(ev, O_CLOEXEC), 0);
	assert_int_equal(write(ev[1], "!", 1), 1);
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, NULL, 0, NULL, 1000, ev[0], &d),
			 -ECHILD);
	/* a message that is there wins over the watched fd */
	assert_int_equal(baton_tp_send(sv[0], "m", 1, NULL, 0, &d), 0);
	assert_int_equal(baton_tp_recv(sv[1], buf, sizeof(buf), &len, NULL, 0, NULL, 1000, ev[0], &d), 0);
	close(ev[0]);
	close(ev[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_fd_batches(void **state)
{
	enum { N = 600 };   /* three batches: 253 + 253 + 94 */
	int sv[2], *fds = calloc(N, sizeof(int)), *got = calloc(N, sizeof(int)), ev;
	struct baton_diag d;
	struct rlimit rl;

	(void)state;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 4 * N) {
		rl.rlim_cur = rl.rlim_max < 4 * N ? rl.rlim_max : 4 * N;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 2 * N + 16)
		skip();
	pair(sv);
	ev = memfd_create("x", MFD_CLOEXEC);
	for (int i = 0; i < N; i++)
		fds[i] = i % 2 ? ev : STDIN_FILENO;
	/* a socketpair's buffer holds the batches: send all, then receive */
	assert_int_equal(baton_tp_send_fds(sv[0], fds, N, &d), 0);
	assert_int_equal(baton_tp_recv_fds(sv[1], got, N, 1000, -1, &d), 0);
	for (int i = 0; i < N; i++) {
		assert_true(same_file(fds[i], got[i]));
		close(got[i]);
	}
	/* a batch out of order is refused and everything received is closed */
	assert_int_equal(baton_tp_send_fds(sv[0], fds, 10, &d), 0);
	assert_int_equal(baton_tp_recv_fds(sv[1], got, 20, 200, -1, &d), -ETIMEDOUT);
	assert_int_equal(baton_tp_send_fds(sv[0], fds, 300, &d), 0);
	assert_int_equal(baton_tp_recv_fds(sv[1], got, 100, 200, -1, &d), -EMSGSIZE);
	for (int i = 0; i < 100; i++)
		assert_int_equal(got[i], -1);
	close(ev);
	close(sv[0]);
	close(sv[1]);
	free(fds);
	free(got);
}

static void test_garbage_in_batches(void **state)
{
	int sv[2], got[4], fd = memfd_create("x", MFD_CLOEXEC);
	struct baton_diag d;

	(void)state;
	pair(sv);
	/* not a message at all */
	assert_int_equal(baton_tp_send(sv[0], "garbage!garbage!garbage!", 24, &fd, 1, &d), 0);
	assert_int_equal(baton_tp_recv_fds(sv[1], got, 4, 500, -1, &d), -EBADMSG);
	/* a message of another type */
	{
		uint8_t buf[64];
		struct baton_msg_writer w;
		size_t len;

		baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_COMMIT);
		baton_msg_end(&w, &len);
		assert_int_equal(baton_tp_send(sv[0], buf, len, NULL, 0, &d), 0);
		assert_int_equal(baton_tp_recv_fds(sv[1], got, 4, 500, -1, &d), -EBADMSG);
		assert_non_null(strstr(d.msg, "expected an fds message"));
		/* FDS claiming more fds than it carries */
		baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_FDS);
		baton_msg_put_u32(&w, BATON_TAG_FD_FIRST, 0);
		baton_msg_put_u32(&w, BATON_TAG_FD_COUNT, 4);
		baton_msg_end(&w, &len);
		assert_int_equal(baton_tp_send(sv[0], buf, len, &fd, 1, &d), 0);
		assert_int_equal(baton_tp_recv_fds(sv[1], got, 4, 500, -1, &d), -EBADMSG);
	}
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

static void test_listen_connect(void **state)
{
	char name[BATON_HANDOFF_NAME_MAX + 1];
	struct baton_diag d;
	struct ucred cred;
	int l, c, a;

	(void)state;
	l = baton_tp_listen(name, sizeof(name), &d);
	assert_true(l >= 0);
	assert_non_null(strstr(name, "baton-handoff-"));
	c = baton_tp_connect(name, &d);
	assert_true(c >= 0);
	a = baton_tp_accept(l, &cred, &d);
	assert_true(a >= 0);
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(cred.uid, geteuid());
	close(a);
	close(c);
	close(l);
	assert_true(baton_tp_connect(name, &d) < 0);
	assert_non_null(strstr(d.msg, "cannot connect"));
	assert_int_equal(baton_tp_connect("", &d), -EINVAL);
}

static void test_image_memfd(void **state)
{
	struct baton_diag d;
	const void *map;
	void *w;
	int fd, plain;

	(void)state;
	assert_int_equal(baton_tp_image_create(8192, &fd, &w, &d), 0);
	memcpy(w, "image bytes", 11);
	assert_int_equal(baton_tp_image_seal(fd, w, 8192, 100, &d), 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & BATON_IMAGE_SEALS_NEEDED, BATON_IMAGE_SEALS_NEEDED);
	/* nobody writes it any more, not even its writer */
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(ftruncate(fd, 10), -1);
	assert_int_equal(baton_tp_image_map(fd, 100, &map, &d), 0);
	assert_memory_equal(map, "image bytes", 11);
	munmap((void *)map, 100);
	/* the reader checks the size it was told */
	assert_int_equal(baton_tp_image_map(fd, 99, &map, &d), -EBADMSG);
	close(fd);

	/* an unsealed memfd and a file that cannot be sealed are refused */
	plain = memfd_create("plain", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(plain, 100), 0);
	assert_int_equal(baton_tp_image_map(plain, 100, &map, &d), -EPERM);
	assert_non_null(strstr(d.msg, "lacks seals"));
	fcntl(plain, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	assert_int_equal(baton_tp_image_map(plain, 100, &map, &d), -EPERM);
	close(plain);
	plain = memfd_create("noseal", MFD_CLOEXEC);
	assert_int_equal(baton_tp_image_map(plain, 100, &map, &d), -EPERM);
	close(plain);
}

static void test_faults(void **state)
{
	struct baton_diag d;
	void *w;
	int fd;

	(void)state;
#if !defined(BATON_FAULT_INJECTION) || !BATON_FAULT_INJECTION
	skip();
#endif
	setenv("BATON_FAULT", "a:2,b,c:0,toolongtobeafaultpointnameatallreally:1", 1);
	baton__fault_reset();
	assert_false(baton__fault("a"));
	assert_true(baton__fault("a"));
	assert_false(baton__fault("a"));
	assert_true(baton__fault("b"));
	assert_false(baton__fault("b"));
	assert_true(baton__fault("c"));   /* 0 counts as the first pass */
	assert_false(baton__fault("d"));

	/* each transport point fails the way its call would */
	setenv("BATON_FAULT", "memfd_create", 1);
	baton__fault_reset();
	assert_int_equal(baton_tp_image_create(4096, &fd, &w, &d), -EMFILE);
	assert_non_null(strstr(d.msg, "injected"));
	setenv("BATON_FAULT", "ftruncate", 1);
	baton__fault_reset();
	assert_int_equal(baton_tp_image_create(4096, &fd, &w, &d), -ENOSPC);
	setenv("BATON_FAULT", "mmap", 1);
	baton__fault_reset();
	assert_int_equal(baton_tp_image_create(4096, &fd, &w, &d), -ENOMEM);
	setenv("BATON_FAULT", "seal", 1);
	baton__fault_reset();
	assert_int_equal(baton_tp_image_create(4096, &fd, &w, &d), 0);
	assert_int_equal(baton_tp_image_seal(fd, w, 4096, 10, &d), -EPERM);
	close(fd);
	{
		int sv[2];
		size_t len;
		uint8_t buf[8];
		char name[128];

		pair(sv);
		setenv("BATON_FAULT", "sendmsg,recvmsg,socket", 1);
		baton__fault_reset();
		assert_int_equal(baton_tp_send(sv[0], "x", 1, NULL, 0, &d), -ENOBUFS);
		assert_int_equal(baton_tp_send(sv[0], "x", 1, NULL, 0, &d), 0);
		assert_int_equal(baton_tp_recv(sv[1], buf, 8, &len, NULL, 0, NULL, 100, -1, &d), -ENOMEM);
		assert_int_equal(baton_tp_listen(name, sizeof(name), &d), -EMFILE);
		close(sv[0]);
		close(sv[1]);
	}
	unsetenv("BATON_FAULT");
	baton__fault_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_recv_fds),
		cmocka_unit_test(test_watch_fd),
		cmocka_unit_test(test_fd_batches),
		cmocka_unit_test(test_garbage_in_batches),
		cmocka_unit_test(test_listen_connect),
		cmocka_unit_test(test_image_memfd),
		cmocka_unit_test(test_faults),
	};

	return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
