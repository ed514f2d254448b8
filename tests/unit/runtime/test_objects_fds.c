/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime unit tests — the fds a handler saves are the program's own
 *
 * While a program saves (a handler's save, on a runtime that has started),
 * baton_obj_set_fd() records the program's fd number instead of keeping a
 * duplicate: the program is frozen until the update commits or is
 * cancelled, so the fd stays open, and a server with thousands of
 * connections no longer needs twice its fds to upgrade. These tests hold
 * the runtime to what that promises: no fd is opened or closed for a saved
 * fd; the fd table has one entry per fd field, the program's own number;
 * an fd set twice in a field is one entry, an fd set in two objects is sent
 * twice and the successor gets a descriptor for each; nothing the program
 * owns is closed when the update is cancelled (a handler fails, the
 * program's own fd is found closed), when its saved objects are freed after
 * a commit or a golden image, or when the runtime is freed; an fd that is
 * not open refuses the update with words that name the object and field.
 * On the restore side (upgrade steps), set_fd still keeps a duplicate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <baton/baton.h>

#include "runtime/rt.h"
#include "transport/fault.h"

#define T_CONN "6c0f3a51-2d7e-4b19-9a84-1e5b7c2d9f01"
#define T_PEER "6c0f3a51-2d7e-4b19-9a84-1e5b7c2d9f02"

BATON_PROGRAM("fds", 1, 0, 0, BATON_SAME_BUILD);
BATON_SCHEMA(T_PEER, "test.peer", 1, BATON_FIELD_FD("fd"), BATON_FIELD_U32("port"));
BATON_SCHEMA(T_CONN, "test.conn", 1, BATON_FIELD_FD("fd"), BATON_FIELD_U64("id"),
	     BATON_FIELD_SCHEMA("peer", T_PEER, 1));
BATON_HANDLER("test.conn", BATON_WRITES(T_CONN, 1), BATON_READS(T_CONN, 1));

static char logged[16384];

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s\n", msg);
}

/*
 * What the handler saves: conn/0 and conn/1 both name fd a (conn/0 first
 * set b, then a, in the same field), conn/2 names c; each object's nested
 * peer names c too, conn/2's twice over.
 */
static struct {
	int a, b, c;
	int fail_after;     /* the handler fails after this many objects; -1: never */
	int restored;
	int taken[8];
	int ntaken;
} t;

static int conn_save(void *ctx, struct baton_save *s)
{
	int i, rc;

	(void)ctx;
	for (i = 0; i < 3; i++) {
		struct baton_obj *o, *p;
		char key[16];

		if (i == t.fail_after)
			return -EIO;
		snprintf(key, sizeof(key), "conn/%d", i);
		if ((rc = baton_save_object(s, key, 0, &o)) < 0)
			return rc;
		if (i == 0 && (rc = baton_obj_set_fd(o, "fd", t.b)) < 0)
			return rc;
		if ((rc = baton_obj_set_fd(o, "fd", i < 2 ? t.a : t.c)) < 0 ||
		    (rc = baton_obj_set_uint(o, "id", (uint64_t)i)) < 0 ||
		    (rc = baton_obj_nested(o, "peer", &p)) < 0 ||
		    (rc = baton_obj_set_fd(p, "fd", t.c)) < 0 ||
		    (rc = baton_obj_set_uint(p, "port", 1000u + (uint32_t)i)) < 0)
			return rc;
		if (i == 2 && (rc = baton_obj_set_fd(p, "fd", t.c)) < 0)
			return rc;
	}
	return 0;
}

static int conn_restore(void *ctx, const struct baton_obj *o)
{
	const struct baton_obj *p;
	int fd, rc;

	(void)ctx;
	if ((rc = baton_obj_take_fd(o, "fd", &fd)) < 0)
		return rc;
	t.taken[t.ntaken++] = fd;
	if ((rc = baton_obj_get_nested(o, "peer", &p)) < 0 ||
	    (rc = baton_obj_take_fd(p, "fd", &fd)) < 0)
		return rc;
	t.taken[t.ntaken++] = fd;
	t.restored++;
	return 0;
}

static struct baton_rt *new_rt(bool start)
{
	struct baton_handler_ops ops = { conn_save, conn_restore, NULL };
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.log = log_cb,
	};
	struct baton_rt *rt = NULL;

	assert_int_equal(baton_rt_new(&rt, &opt), 0);
	assert_int_equal(baton_rt_register(rt, "test.conn", &ops), 0);
	if (start)
		assert_int_equal(baton_rt_start(rt), BATON_START_COLD);
	return rt;
}

/* Open fds of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;   /* not the directory's own fd */
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static bool same_file(int x, int y)
{
	struct stat a, b;

	return fstat(x, &a) == 0 && fstat(y, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The kinds of the fd table of the image in buf, into kinds[]. */
static void table_kinds(const void *buf, size_t len, uint32_t *kinds, size_t n)
{
	struct baton_image_iter it = { .node = -1 };
	struct baton_image_fd e;
	struct baton_image img;
	struct baton_diag d;
	size_t i = 0;

	assert_int_equal(baton_image_open(&img, buf, len, &d), 0);
	assert_int_equal(img.nfds, n);
	while (baton_image_next_fd(&img, &it, &e) == 1)
		kinds[i++] = e.kind;
	assert_int_equal(i, n);
}

static int sv_ab[2], sv_c[2];

/* Three sockets the "program" owns, non-CLOEXEC as inherited ones may be. */
static int setup(void **state)
{
	(void)state;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv_ab) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv_c) < 0)
		return -1;
	t.a = sv_ab[0];
	t.b = sv_ab[1];
	t.c = sv_c[0];
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(sv_ab[0]);
	close(sv_ab[1]);
	close(sv_c[0]);
	close(sv_c[1]);
	return 0;
}

static void program_fds_intact(void)
{
	assert_true(is_open(t.a));
	assert_true(is_open(t.b));
	assert_true(is_open(t.c));
	assert_int_equal(fcntl(t.a, F_GETFD) & FD_CLOEXEC, 0);
	assert_int_equal(fcntl(t.c, F_GETFD) & FD_CLOEXEC, 0);
}

/*
 * The fd table: the program's own numbers, one entry per fd field (conn/0's
 * field set twice is one), no fd opened for them, and none closed after.
 * In an update to a successor the fds are checked, not labelled.
 */
static void test_save_records_the_programs_fds(void **state)
{
	struct baton_rt *rt = new_rt(true);
	char err[BATON_MESSAGE_MAX];
	int image_fd = -1, *fds = NULL, before;
	size_t len = 0, nfds = 0, i;
	uint32_t kinds[6];

	(void)state;
	t.fail_after = -1;
	before = count_fds();
	rt->up.active = true;   /* as old.c has it while it updates */
	if (rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err)) < 0)
		fail_msg("save: %s", err);
	rt->up.active = false;
	/* the image's memfd, and nothing for the saved fds */
	assert_int_equal(count_fds(), before + 1);
	/* conn/0: fd, peer.fd; conn/1: fd, peer.fd; conn/2: fd, peer.fd, in the order of the fields */
	assert_int_equal(nfds, 6);
	assert_int_equal(fds[0], t.a);
	assert_int_equal(fds[1], t.c);
	assert_int_equal(fds[2], t.a);
	assert_int_equal(fds[3], t.c);
	assert_int_equal(fds[4], t.c);
	assert_int_equal(fds[5], t.c);
	{
		struct baton_diag d;
		const void *map = NULL;

		assert_int_equal(baton_tp_image_map(image_fd, len, &map, &d), 0);
		table_kinds(map, len, kinds, 6);
		munmap((void *)map, len);
	}
	for (i = 0; i < 6; i++)
		assert_int_equal(kinds[i], BATON_FD_OTHER);
	/* a saved object's fd is not the object's to hand out: it is the program's */
	{
		int fd;

		assert_int_equal(baton_obj_take_fd(rt->saved, "fd", &fd), -EALREADY);
	}
	free(fds);
	close(image_fd);
	/* as after a commit (update_release) or a cancel: the saved objects go, the fds stay */
	rt_obj_free_list(rt->saved);
	rt->saved = rt->saved_tail = NULL;
	assert_int_equal(count_fds(), before);
	program_fds_intact();
	baton_rt_free(rt);
	program_fds_intact();
}

/*
 * Sent as the transport sends them, the table gives the successor one
 * descriptor per entry: the fd of two objects arrives twice, as two
 * descriptors of the same socket, and each object owns one.
 */
static void test_successor_gets_a_descriptor_per_entry(void **state)
{
	struct baton_rt *old = new_rt(true), *new = new_rt(false);
	struct baton_image img;
	struct baton_diag d;
	char err[BATON_MESSAGE_MAX];
	const void *map = NULL;
	int image_fd = -1, *fds = NULL, in[6], link[2], i, j;
	size_t len = 0, nfds = 0;

	(void)state;
	t.fail_after = -1;
	t.restored = t.ntaken = 0;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link), 0);
	if (rt_update_save(old, &image_fd, &len, &fds, &nfds, err, sizeof(err)) < 0)
		fail_msg("save: %s", err);
	assert_int_equal(nfds, 6);
	assert_int_equal(baton_tp_send_fds(link[0], fds, nfds, &d), 0);
	assert_int_equal(baton_tp_recv_fds(link[1], in, nfds, 1000, -1, &d), 0);
	for (i = 0; i < 6; i++) {
		assert_true(same_file(in[i], fds[i]));
		assert_true(in[i] != fds[i]);
		for (j = 0; j < i; j++)
			assert_true(in[i] != in[j]);
	}
	assert_int_equal(baton_tp_image_map(image_fd, len, &map, &d), 0);
	assert_int_equal(baton_image_open(&img, map, len, &d), 0);
	assert_int_equal(img.nfds, 6);
	assert_int_equal(rt_restore_image(new, new->cat, &img, in, 6, -1, false), 3);
	assert_int_equal(t.restored, 3);
	assert_int_equal(t.ntaken, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(in[i], -1);   /* every one taken by its object */
		assert_true(same_file(t.taken[i], fds[i]));
		for (j = 0; j < i; j++)
			assert_true(t.taken[i] != t.taken[j]);
		close(t.taken[i]);
	}
	munmap((void *)map, len);
	close(image_fd);
	free(fds);
	close(link[0]);
	close(link[1]);
	baton_rt_free(new);
	baton_rt_free(old);   /* frees the saved objects: nothing of the program's closes */
	program_fds_intact();
}

/* Cancelled: a handler fails after objects with fds were saved. */
static void test_cancel_closes_nothing(void **state)
{
	struct baton_rt *rt = new_rt(true);
	char err[BATON_MESSAGE_MAX];
	int image_fd = -1, *fds = NULL, before;
	size_t len = 0, nfds = 0;

	(void)state;
	t.fail_after = 2;
	before = count_fds();
	err[0] = '\0';
	assert_int_equal(rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "handler test.conn failed"));
	assert_null(fds);
	rt_obj_free_list(rt->saved);
	rt->saved = rt->saved_tail = NULL;
	assert_int_equal(count_fds(), before);
	program_fds_intact();
	baton_rt_free(rt);
	program_fds_intact();
	t.fail_after = -1;
}

/*
 * An fd that is not open when the table is built (the program broke the
 * promise of runtime.h) refuses the update, and says which. A number far
 * above any open one stands for it: a number just closed would be the next
 * one the kernel gives out, here to the image's own memfd.
 */
static void test_closed_fd_refuses(void **state)
{
	struct baton_rt *rt = new_rt(true);
	char err[BATON_MESSAGE_MAX], want[160];
	int image_fd = -1, *fds = NULL, keep_c = t.c;
	size_t len = 0, nfds = 0;

	(void)state;
	t.fail_after = -1;
	t.c = 987;
	assert_false(is_open(t.c));
	snprintf(want, sizeof(want), "object \"conn/0/peer\": fd field fd is fd %d, which is not open", t.c);
	for (int live = 0; live <= 1; live++) {
		err[0] = '\0';
		rt->up.active = live;
		assert_int_equal(rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err)), -EBADF);
		rt->up.active = false;
		if (!strstr(err, want))
			fail_msg("expected \"%s\" in \"%s\"", want, err);
		assert_null(fds);
		rt_obj_free_list(rt->saved);
		rt->saved = rt->saved_tail = NULL;
	}
	baton_rt_free(rt);
	t.c = keep_c;
	program_fds_intact();
}

/* A golden image saves and frees its objects without closing the program's fds. */
static void test_golden_image_closes_nothing(void **state)
{
	struct baton_rt *rt = new_rt(true);
	char dir[] = "/tmp/baton-fds-XXXXXX", path[128];
	int before;

	(void)state;
	t.fail_after = -1;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fds.dtb", dir);
	before = count_fds();
	if (baton_rt_save_image(rt, path) < 0)
		fail_msg("save image: %s", baton_rt_error(rt));
	assert_int_equal(count_fds(), before);
	program_fds_intact();
	/* an image that is kept labels every fd */
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		uint32_t kinds[6];
		size_t i;

		void *buf;

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		buf = aligned_alloc(8, ((size_t)st.st_size + 7) & ~(size_t)7);
		assert_non_null(buf);
		assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
		table_kinds(buf, (size_t)st.st_size, kinds, 6);
		for (i = 0; i < 6; i++)
			assert_int_equal(kinds[i], BATON_FD_SOCKET);
		free(buf);
		close(fd);
	}
	baton_rt_free(rt);
	unlink(path);
	rmdir(dir);
}

/*
 * Before baton_rt_start() has returned (the successor's upgrade steps), an
 * object keeps a duplicate, as a step's take, set and close needs.
 */
static void test_restore_side_keeps_a_duplicate(void **state)
{
	struct baton_rt *rt = new_rt(false);
	const struct baton_rec_schema *s;
	struct baton_obj *in, *out;
	baton_uuid c;
	int err, fd, got, before;

	(void)state;
	baton_uuid_parse(&c, T_CONN, strlen(T_CONN));
	s = baton_catalog_find_schema(rt->cat, &c, 1);
	in = rt_obj_new(rt, s, "conn/in", 0, &err);
	out = rt_obj_new(rt, s, "conn/out", 0, &err);
	assert_non_null(in);
	assert_non_null(out);
	before = count_fds();
	assert_int_equal(baton_obj_set_fd(in, "fd", t.a), 0);
	assert_int_equal(count_fds(), before + 1);
	/* a step: take from the older object, set on the newer, close what it took */
	assert_int_equal(baton_obj_take_fd(in, "fd", &fd), 0);
	assert_true(fd != t.a && same_file(fd, t.a));
	assert_int_equal(baton_obj_set_fd(out, "fd", fd), 0);
	close(fd);
	assert_int_equal(baton_obj_take_fd(out, "fd", &got), 0);
	assert_true(is_open(got) && same_file(got, t.a));
	close(got);
	rt_obj_free(in);
	rt_obj_free(out);
	assert_int_equal(count_fds(), before);
	program_fds_intact();
	baton_rt_free(rt);
}

/* The fault points of the check: fcntl in an update, fstat for a kept image. */
static void test_fault_points(void **state)
{
	static const char *const points[] = { "fstat", "fcntl" };
	struct baton_rt *rt;
	char err[BATON_MESSAGE_MAX], want[128];
	int image_fd = -1, *fds = NULL, live;
	size_t len = 0, nfds = 0;

	(void)state;
#if !defined(BATON_FAULT_INJECTION) || !BATON_FAULT_INJECTION
	skip();
#endif
	t.fail_after = -1;
	rt = new_rt(true);
	for (live = 0; live <= 1; live++) {
		setenv("BATON_FAULT", points[live], 1);
		baton__fault_reset();
		err[0] = '\0';
		rt->up.active = live;
		assert_int_equal(rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err)), -ENOMEM);
		rt->up.active = false;
		snprintf(want, sizeof(want), "object \"conn/0\": fd field fd is fd %d: %s(): ", t.a, points[live]);
		if (!strstr(err, want) || !strstr(err, "(injected)"))
			fail_msg("expected \"%s...(injected)\" in \"%s\"", want, err);
		rt_obj_free_list(rt->saved);
		rt->saved = rt->saved_tail = NULL;
	}
	unsetenv("BATON_FAULT");
	baton__fault_reset();
	baton_rt_free(rt);
	program_fds_intact();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_records_the_programs_fds),
		cmocka_unit_test(test_successor_gets_a_descriptor_per_entry),
		cmocka_unit_test(test_cancel_closes_nothing),
		cmocka_unit_test(test_closed_fd_refuses),
		cmocka_unit_test(test_golden_image_closes_nothing),
		cmocka_unit_test(test_restore_side_keeps_a_duplicate),
		cmocka_unit_test(test_fault_points),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
