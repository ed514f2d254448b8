/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of golden images — saving over the control socket, the
 * golden region file, and the dry run and its report
 *
 * This program declares its own small catalog ("gold" 2.1.0: a state object
 * with a region, versions 1 and 2 with a step between them, and a socket
 * object) and drives the runtime's own code: the SAVE request through a real
 * control socket, the files it writes, a dry run of them (restored, refused
 * by the path, a restore that fails, the program's own checks), and every
 * way the files can be damaged, each refused with words and never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <xxhash.h>

#include <baton/baton.h>

#include "runtime/rt.h"
#include "transport/fault.h"

#define G_STATE "5b1f4a52-6c3e-4d7a-9e21-0a1b2c3d4e50"
#define G_SOCK "5b1f4a52-6c3e-4d7a-9e21-0a1b2c3d4e51"

BATON_PROGRAM("gold", 2, 1, 0, BATON_SAME_BUILD, BATON_PATCH);
BATON_SCHEMA(G_STATE, "g.state", 1, BATON_FIELD_U64("count"), BATON_FIELD_REGION("heap"));
BATON_SCHEMA(G_STATE, "g.state", 2, BATON_FIELD_U64("count"), BATON_FIELD_REGION("heap"),
	     BATON_FIELD_U32("flags"));
BATON_SCHEMA(G_SOCK, "g.sock", 1, BATON_FIELD_FD("fd"), BATON_FIELD_STRING("label", 16));
BATON_HANDLER("g.state", BATON_WRITES(G_STATE, 2), BATON_READS(G_STATE, 1, 2));
BATON_HANDLER("g.sock", BATON_WRITES(G_SOCK, 1), BATON_READS(G_SOCK, 1));

#define HEAP_SIZE (64ull << 20)

/* The program's state, as its handlers see it. */
static struct app {
	struct baton_rt *rt;
	struct baton_region *heap;
	uint64_t count;
	uint32_t flags;
	int sock;
	int freezes, thaws;
	int save_fails;         /* save returns this when non-zero */
	int restore_fails;
	/* what the restore saw */
	int restored, steps;
	bool dry_in_restore, fd_is_null;
	uint64_t got_count;
	uint32_t got_flags;
	struct baton_region *got_heap;
} app;

static char logged[65536];

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s\n", msg);
}

static int freeze(void *ctx)
{
	(void)ctx;
	app.freezes++;
	return 0;
}

static void thaw(void *ctx)
{
	(void)ctx;
	app.thaws++;
}

static int state_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o;
	int rc;

	(void)ctx;
	if (app.save_fails)
		return app.save_fails;
	if ((rc = baton_save_object(s, "state/main", 0, &o)) < 0 ||
	    (rc = baton_obj_set_uint(o, "count", app.count)) < 0 ||
	    (rc = baton_obj_set_region(o, "heap", app.heap)) < 0 ||
	    (rc = baton_obj_set_uint(o, "flags", app.flags)) < 0)
		return rc;
	return 0;
}

static int state_restore(void *ctx, const struct baton_obj *o)
{
	uint64_t v;

	(void)ctx;
	app.dry_in_restore = baton_rt_dry_run(app.rt);
	if (app.restore_fails)
		return app.restore_fails;
	assert_int_equal(baton_obj_version(o), 2);
	assert_int_equal(baton_obj_get_uint(o, "count", &app.got_count), 0);
	assert_int_equal(baton_obj_get_uint(o, "flags", &v), 0);
	app.got_flags = (uint32_t)v;
	assert_int_equal(baton_obj_get_region(o, "heap", &app.got_heap), 0);
	app.restored++;
	return 0;
}

static int state_v1_to_v2(void *ctx, const struct baton_obj *in, struct baton_obj *out)
{
	struct baton_region *r;
	uint64_t v;

	(void)ctx;
	app.steps++;
	if (baton_obj_get_uint(in, "count", &v) < 0 || baton_obj_get_region(in, "heap", &r) < 0)
		return -EINVAL;
	baton_obj_set_uint(out, "count", v);
	baton_obj_set_region(out, "heap", r);
	return baton_obj_set_uint(out, "flags", 0xabc);
}

static int sock_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o;
	int rc;

	(void)ctx;
	if ((rc = baton_save_object(s, "sock/0", 0, &o)) < 0 ||
	    (rc = baton_obj_set_fd(o, "fd", app.sock)) < 0 ||
	    (rc = baton_obj_set_string(o, "label", "client", 6)) < 0)
		return rc;
	return 0;
}

static int sock_restore(void *ctx, const struct baton_obj *o)
{
	struct stat st, null;
	int fd;

	(void)ctx;
	assert_int_equal(baton_obj_take_fd(o, "fd", &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(stat("/dev/null", &null), 0);
	app.fd_is_null = S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev;
	close(fd);
	app.restored++;
	return 0;
}

static struct baton_rt *new_rt(const char *control, bool register_all)
{
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.control_path = control,
		.log = log_cb,
	};
	struct baton_handler_ops state = { state_save, state_restore, NULL };
	struct baton_handler_ops sock = { sock_save, sock_restore, NULL };
	struct baton_lifecycle_ops life = { freeze, thaw, NULL, NULL };
	struct baton_rt *rt = NULL;

	assert_int_equal(baton_rt_new(&rt, &opt), 0);
	assert_int_equal(baton_rt_set_lifecycle(rt, &life), 0);
	assert_int_equal(baton_rt_register(rt, "g.state", &state), 0);
	if (register_all)
		assert_int_equal(baton_rt_register(rt, "g.sock", &sock), 0);
	assert_int_equal(baton_rt_register_step(rt, "g.state", G_STATE, 1, state_v1_to_v2, NULL), 0);
	app.rt = rt;
	return rt;
}

/* A running program: cold start, a 64 MiB heap with a few bytes in it, a socket. */
static struct baton_rt *running(const char *control, int sv[2])
{
	struct baton_rt *rt;
	uint8_t *h;

	memset(&app, 0, sizeof(app));
	rt = new_rt(control, true);
	assert_int_equal(baton_rt_start(rt), BATON_START_COLD);
	assert_false(baton_rt_dry_run(rt));
	assert_int_equal(baton_rt_dry_run_result(rt), -1);
	assert_int_equal(baton_region_create(rt, "heap", HEAP_SIZE, &app.heap), 0);
	h = baton_region_base(app.heap);
	memcpy(h, "head of the heap", 16);
	memcpy(h + (20 << 20) + 100, "somewhere inside", 16);
	memset(h + (40 << 20), 0x5a, 3000);          /* across 512-byte blocks */
	memcpy(h + HEAP_SIZE - 4, "end!", 4);
	app.count = 42;
	app.flags = 7;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	app.sock = sv[0];
	return rt;
}

static void check_heap(const uint8_t *h)
{
	assert_memory_equal(h, "head of the heap", 16);
	assert_memory_equal(h + (20 << 20) + 100, "somewhere inside", 16);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(h[(40 << 20) + i], 0x5a);
	assert_int_equal(h[(40 << 20) + 3000], 0);
	assert_int_equal(h[(10 << 20)], 0);
	assert_memory_equal(h + HEAP_SIZE - 4, "end!", 4);
}

/* ------------------------------------------------------------------------ */
/* The control socket's SAVE request                                        */

/* Sends SAVE and serves the program until its answer has arrived whole. */
static void request_save(struct baton_rt *rt, const char *control, const char *path, bool force,
			 uint8_t *buf, struct baton_msg *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct baton_msg_writer w;
	struct baton_diag d;
	size_t len, have = 0, need = BATON_MSG_HDR_LEN;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", control);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	baton_msg_begin(&w, buf, BATON_MSG_MAX, BATON_MSG_SAVE);
	baton_msg_put_str(&w, BATON_TAG_PATH, path);
	if (force)
		baton_msg_put_u32(&w, BATON_TAG_FORCE, 1);
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
	for (int turns = 0; have < need; turns++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_true(turns < 1000);
		assert_true(baton_rt_dispatch(rt) >= 0);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(fd, buf + have, need - have, 0);
		assert_true(n > 0);
		have += (size_t)n;
		if (have == BATON_MSG_HDR_LEN)
			assert_int_equal(baton_msg_frame(buf, have, &need, &d), 0);
	}
	close(fd);
	assert_int_equal(baton_msg_parse(m, buf, need, &d), 0);
	assert_int_equal(m->type, BATON_MSG_SAVE_RESULT);
}

static int32_t status_of(const struct baton_msg *m)
{
	int32_t st = 1;

	assert_int_equal(baton_msg_get_i32(m, BATON_TAG_STATUS, &st), 0);
	return st;
}

static void test_save_request(void **state)
{
	static uint8_t buf[BATON_MSG_MAX];
	char dir[] = "/tmp/baton-golden-XXXXXX", ctl[128], path[128], rpath[160];
	char text[BATON_MSG_TEXT_MAX + 1];
	struct baton_msg_item it;
	struct baton_msg m;
	struct baton_rt *rt;
	struct stat st;
	uint64_t u64 = 0;
	uint32_t u = 0;
	size_t pos = 0;
	int sv[2], files = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ctl, sizeof(ctl), "%s/ctl", dir);
	snprintf(path, sizeof(path), "%s/gold.image", dir);
	rt = running(ctl, sv);

	request_save(rt, ctl, path, false, buf, &m);
	assert_int_equal(status_of(&m), 0);
	assert_int_equal(app.freezes, 1);
	assert_int_equal(app.thaws, 1);          /* serving again */
	assert_int_equal(baton_msg_get_u32(&m, BATON_TAG_OBJECTS, &u), 0);
	assert_int_equal(u, 2);
	assert_int_equal(baton_msg_get_u32(&m, BATON_TAG_NFDS, &u), 0);
	assert_int_equal(u, 2);                  /* the socket and the heap's memfd */
	assert_int_equal(baton_msg_get_u32(&m, BATON_TAG_REGIONS, &u), 0);
	assert_int_equal(u, 1);
	assert_int_equal(baton_msg_get_u64(&m, BATON_TAG_REGION_BYTES, &u64), 0);
	/* 16 + 16 + 3000 + 4 bytes, in whole 512-byte blocks: holes stay holes */
	assert_int_equal(u64, 512 * 9);
	assert_int_equal(baton_msg_get_u64(&m, BATON_TAG_DURATION_NS, &u64), 0);
	assert_true(u64 > 0);
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_RELEASE, text, sizeof(text)), 0);
	assert_string_equal(text, "2.1.0");
	while (baton_msg_next(&m, &pos, &it) > 0) {
		char *sp;

		if (it.tag != BATON_TAG_FILE)
			continue;
		baton_msg_item_str(&it, text, sizeof(text));
		sp = strchr(text, ' ');
		assert_non_null(sp);
		assert_int_equal(stat(sp + 1, &st), 0);
		assert_int_equal(strtoull(text, NULL, 10), (unsigned long long)st.st_size);
		assert_string_equal(sp + 1, files == 0 ? path : (snprintf(rpath, sizeof(rpath),
						"%s.region.0", path), rpath));
		files++;
	}
	assert_int_equal(files, 2);
	snprintf(rpath, sizeof(rpath), "%s.region.0", path);
	assert_int_equal(stat(rpath, &st), 0);
	assert_true(st.st_size < 8192);          /* a 64 MiB heap */

	/* written once: not replaced without force */
	request_save(rt, ctl, path, false, buf, &m);
	assert_int_equal(status_of(&m), -EEXIST);
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_REASON, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "--force"));
	assert_int_equal(app.freezes, 1);        /* refused before freezing */
	app.count = 43;
	request_save(rt, ctl, path, true, buf, &m);
	assert_int_equal(status_of(&m), 0);
	assert_int_equal(app.freezes, 2);
	assert_int_equal(app.thaws, 2);

	/* relative paths mean nothing to a program with another cwd */
	request_save(rt, ctl, "gold.image", false, buf, &m);
	assert_int_equal(status_of(&m), -EINVAL);
	/* nor do paths longer than a path may be */
	{
		static char longp[BATON_MSG_TEXT_MAX + 1];

		memset(longp, 'x', BATON_MSG_TEXT_MAX);
		longp[0] = '/';
		request_save(rt, ctl, longp, false, buf, &m);
		assert_int_equal(status_of(&m), -ENAMETOOLONG);
		longp[PATH_MAX - 20] = '\0';
		request_save(rt, ctl, longp, false, buf, &m);
		assert_int_equal(status_of(&m), -ENAMETOOLONG);
		assert_int_equal(app.freezes, 2);
	}

	/* a save that fails thaws and says where */
	app.save_fails = -EIO;
	snprintf(path, sizeof(path), "%s/other.image", dir);
	request_save(rt, ctl, path, false, buf, &m);
	assert_int_equal(status_of(&m), -EIO);
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_STEP, text, sizeof(text)), 0);
	assert_string_equal(text, "freeze+save");
	assert_int_equal(app.freezes, 3);
	assert_int_equal(app.thaws, 3);
	assert_int_equal(stat(path, &st), -1);
	app.save_fails = 0;

	/* writing fails: thawed, nothing left behind, the old files untouched */
#if defined(BATON_FAULT_INJECTION) && BATON_FAULT_INJECTION
	{
		char p2[128];

		snprintf(p2, sizeof(p2), "%s/gold.image", dir);
		assert_int_equal(stat(p2, &st), 0);
		setenv("BATON_FAULT", "golden_write", 1);
		baton__fault_reset();
		request_save(rt, ctl, p2, true, buf, &m);
		unsetenv("BATON_FAULT");
		baton__fault_reset();
		assert_int_equal(status_of(&m), -ENOSPC);
		assert_int_equal(baton_msg_get_str(&m, BATON_TAG_STEP, text, sizeof(text)), 0);
		assert_string_equal(text, "write");
		assert_int_equal(app.thaws, 4);
		snprintf(rpath, sizeof(rpath), "%s.region.0.tmp", p2);
		assert_int_equal(stat(rpath, &st), -1);
		snprintf(rpath, sizeof(rpath), "%s.tmp", p2);
		assert_int_equal(stat(rpath, &st), -1);
	}
#endif
	assert_int_equal(baton_rt_save_image(rt, "/nonexistent/dir/x.image"), -ENOENT);

	baton_rt_free(rt);
	close(sv[0]);
	close(sv[1]);
	snprintf(path, sizeof(path), "%s/gold.image", dir);
	unlink(path);
	unlink(rpath);
	snprintf(rpath, sizeof(rpath), "%s.region.0", path);
	unlink(rpath);
	rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Dry runs                                                                 */

struct golden {
	char dir[64];
	char path[128];
	char region[160];
	char report[160];
};

/* A golden image of the running program (current release, same build). */
static void make_golden(struct golden *g)
{
	struct baton_rt *rt;
	int sv[2];

	snprintf(g->dir, sizeof(g->dir), "/tmp/baton-golden-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/gold.image", g->dir);
	snprintf(g->region, sizeof(g->region), "%s.region.0", g->path);
	snprintf(g->report, sizeof(g->report), "%s/report.json", g->dir);
	rt = running(NULL, sv);
	assert_int_equal(baton_rt_save_image(rt, g->path), 0);
	baton_rt_free(rt);
	close(sv[0]);
	close(sv[1]);
}

static void remove_golden(struct golden *g)
{
	unlink(g->path);
	unlink(g->region);
	unlink(g->report);
	rmdir(g->dir);
}

/* A dry run of path in a fresh program; returns what baton_rt_start() did. */
static int dry_run(const char *path, const char *report, bool register_all, struct baton_rt **out)
{
	int rc;

	memset(&app, 0, sizeof(app));
	app.sock = -1;
	*out = new_rt(NULL, register_all);
	setenv("BATON_DRY_RUN_IMAGE", path, 1);
	if (report)
		setenv("BATON_DRY_RUN_REPORT", report, 1);
	logged[0] = '\0';
	rc = baton_rt_start(*out);
	assert_null(getenv("BATON_DRY_RUN_IMAGE"));
	assert_null(getenv("BATON_DRY_RUN_REPORT"));
	assert_true(baton_rt_dry_run(*out));
	return rc;
}

static struct json_object *read_report(const char *path)
{
	struct json_object *j = json_object_from_file(path);

	if (!j)
		fail_msg("no report in %s", path);
	return j;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in the report", key);
	return v;
}

static void test_dry_run_report(void **state)
{
	struct golden g;
	struct baton_rt *rt;
	struct json_object *j, *o, *a;
	struct stat st;
	static uint8_t before[8192], after[8192];
	ssize_t size;
	int fd;

	(void)state;
	make_golden(&g);
	fd = open(g.region, O_RDONLY);
	size = read(fd, before, sizeof(before));
	close(fd);
	/* header, 4 extents, 9 blocks of 512 bytes, checksum */
	assert_int_equal(size, 128 + 16 * 4 + 512 * 9 + 8);

	assert_int_equal(dry_run(g.path, g.report, true, &rt), BATON_START_CHECKED);
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_RESTORED);
	assert_int_equal(app.restored, 2);
	assert_int_equal(app.steps, 0);
	assert_true(app.dry_in_restore);
	assert_true(app.fd_is_null);             /* the socket's placeholder */
	assert_int_equal(app.got_count, 42);
	assert_int_equal(app.got_flags, 7);
	check_heap(baton_region_base(app.got_heap));
	/* its holes stayed holes: a few pages of a 64 MiB memfd */
	assert_int_equal(fstat(app.got_heap->fd, &st), 0);
	assert_true(st.st_blocks * 512 < (1 << 20));
	/* writable after the restore, and a private copy: the files stay as they were */
	memset(baton_region_base(app.got_heap), 0xff, 4096);
	fd = open(g.region, O_RDONLY);
	assert_int_equal(read(fd, after, sizeof(after)), size);
	close(fd);
	assert_memory_equal(before, after, (size_t)size);

	j = read_report(g.report);
	assert_true(json_object_get_boolean(get(j, "ok")));
	assert_string_equal(json_object_get_string(get(j, "result")), "restored");
	assert_int_equal(json_object_get_int(get(j, "exit_status")), 0);
	assert_string_equal(json_object_get_string(get(j, "release")), "2.1.0");
	o = get(j, "writer");
	assert_string_equal(json_object_get_string(get(o, "program")), "gold");
	assert_string_equal(json_object_get_string(get(o, "release")), "2.1.0");
	assert_int_equal(json_object_get_int(get(o, "generation")), 0);
	a = get(j, "objects");
	assert_int_equal(json_object_array_length(a), 2);
	o = json_object_array_get_idx(a, 0);
	if (strcmp(json_object_get_string(get(o, "key")), "state/main") != 0)
		o = json_object_array_get_idx(a, 1);
	assert_string_equal(json_object_get_string(get(o, "key")), "state/main");
	assert_string_equal(json_object_get_string(get(o, "contract")), G_STATE);
	assert_string_equal(json_object_get_string(get(o, "contract_name")), "g.state");
	assert_string_equal(json_object_get_string(get(o, "handler")), "g.state");
	assert_int_equal(json_object_array_length(get(o, "steps")), 0);
	assert_true(json_object_get_boolean(get(o, "restored")));
	a = get(j, "fds");
	assert_int_equal(json_object_array_length(a), 2);
	a = get(j, "regions");
	o = json_object_array_get_idx(a, 0);
	assert_string_equal(json_object_get_string(get(o, "name")), "heap");
	assert_int_equal(json_object_get_int64(get(o, "stored_bytes")), 512 * 9);
	assert_int_equal(json_object_array_length(get(j, "findings")), 0);
	assert_int_equal(json_object_array_length(get(j, "checks")), 0);
	json_object_put(j);

	/* the program's own checks go into the same report */
	assert_int_equal(baton_rt_dry_run_check(rt, "count", true, "count is %d", 42), 0);
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_RESTORED);
	assert_int_equal(baton_rt_dry_run_check(rt, "heap", false, "byte %d differs", 7), 0);
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_CHECK_FAILED);
	j = read_report(g.report);
	assert_false(json_object_get_boolean(get(j, "ok")));
	assert_string_equal(json_object_get_string(get(j, "result")), "check-failed");
	assert_int_equal(json_object_get_int(get(j, "exit_status")), 4);
	a = get(j, "checks");
	assert_int_equal(json_object_array_length(a), 2);
	o = json_object_array_get_idx(a, 1);
	assert_string_equal(json_object_get_string(get(o, "name")), "heap");
	assert_false(json_object_get_boolean(get(o, "ok")));
	assert_string_equal(json_object_get_string(get(o, "detail")), "byte 7 differs");
	json_object_put(j);
	/* a dry run saves nothing */
	assert_int_equal(baton_rt_save_image(rt, g.path), -EINVAL);
	baton_rt_free(rt);

	/* not a dry run: no checks to record */
	rt = new_rt(NULL, true);
	assert_int_equal(baton_rt_dry_run_check(rt, "x", true, NULL), -EINVAL);
	baton_rt_free(rt);
	remove_golden(&g);
}

/* An image as an older release would have written it, with its region file. */
static void write_old_image(const char *path, struct baton_release rel, uint32_t version)
{
	struct baton_image_header h = { .program = "gold", .release = rel, .generation = 3 };
	struct baton_rt *rt;
	struct baton_region *r;
	struct baton_obj *o;
	char err[512], rpath[PATH_MAX];
	size_t len, nfds;
	uint64_t stored, size;
	baton_uuid c;
	void *buf = aligned_alloc(8, 1 << 16);
	int *fds, fd, e;

	memset(&app, 0, sizeof(app));
	rt = new_rt(NULL, true);
	assert_int_equal(baton_region_create(rt, "heap", 1 << 20, &r), 0);
	memcpy(baton_region_base(r), "old", 3);
	baton_uuid_parse(&c, G_STATE, strlen(G_STATE));
	o = rt_obj_new(rt, baton_catalog_find_schema(rt->cat, &c, version), "state/main", 0, &e);
	assert_non_null(o);
	o->handler = baton_catalog_find_handler(rt->cat, "g.state");
	assert_int_equal(baton_obj_set_uint(o, "count", 9), 0);
	assert_int_equal(baton_obj_set_region(o, "heap", r), 0);
	if (version == 2)
		assert_int_equal(baton_obj_set_uint(o, "flags", 1), 0);
	h.build_id = rt->cat->build_id;
	assert_int_equal(rt_image_write(rt, o, buf, 1 << 16, &h, &len, &fds, &nfds, err, sizeof(err)), 0);
	free(fds);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	snprintf(rpath, sizeof(rpath), "%s.region.0", path);
	assert_int_equal(rt_golden_region_write(r, 0, rt_golden_image_hash(buf, len), rpath, &stored,
						&size), 0);
	rt_obj_free(o);
	baton_rt_free(rt);
	free(buf);
}

static void test_dry_run_step_and_refusal(void **state)
{
	struct golden g;
	struct baton_rt *rt;
	struct json_object *j, *o, *f;

	(void)state;
	snprintf(g.dir, sizeof(g.dir), "/tmp/baton-golden-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	snprintf(g.path, sizeof(g.path), "%s/gold-2.0.3.image", g.dir);
	snprintf(g.region, sizeof(g.region), "%s.region.0", g.path);
	snprintf(g.report, sizeof(g.report), "%s/report.json", g.dir);

	/* 2.0.3 -> 2.1.0 is no patch path: refused by the path, exit status 1 */
	write_old_image(g.path, (struct baton_release){ 2, 0, 3 }, 1);
	assert_true(dry_run(g.path, g.report, true, &rt) < 0);
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_REFUSED);
	assert_int_equal(app.restored, 0);
	j = read_report(g.report);
	assert_string_equal(json_object_get_string(get(j, "result")), "refused");
	assert_int_equal(json_object_get_int(get(j, "exit_status")), 1);
	f = json_object_array_get_idx(get(j, "findings"), 0);
	assert_non_null(f);
	assert_string_equal(json_object_get_string(get(f, "rule")), "path");
	assert_non_null(strstr(json_object_get_string(get(f, "message")), "2.0.3"));
	o = json_object_array_get_idx(get(j, "objects"), 0);
	assert_false(json_object_get_boolean(get(o, "restored")));
	json_object_put(j);
	assert_int_equal(baton_rt_dry_run_check(rt, "x", true, NULL), -EINVAL);
	baton_rt_free(rt);

	/* 2.1.0 of another build, version 1: the step runs, restore sees version 2 */
	write_old_image(g.path, (struct baton_release){ 2, 1, 0 }, 1);
	assert_int_equal(dry_run(g.path, g.report, true, &rt), BATON_START_CHECKED);
	assert_int_equal(app.steps, 1);
	assert_int_equal(app.got_flags, 0xabc);
	assert_int_equal(app.got_count, 9);
	assert_memory_equal(baton_region_base(app.got_heap), "old", 3);
	j = read_report(g.report);
	o = json_object_array_get_idx(get(j, "objects"), 0);
	assert_int_equal(json_object_get_int(get(o, "version")), 1);
	assert_int_equal(json_object_get_int(get(o, "restored_version")), 2);
	f = json_object_array_get_idx(get(o, "steps"), 0);
	assert_int_equal(json_object_get_int(get(f, "from")), 1);
	assert_int_equal(json_object_get_int(get(f, "to")), 2);
	assert_int_equal(json_object_get_int(get(get(j, "writer"), "generation")), 3);
	json_object_put(j);
	{
		struct baton_rt_origin org;

		assert_int_equal(baton_rt_origin(rt, &org), 0);
		assert_int_equal(org.generation, 4);
	}
	baton_rt_free(rt);

	/* a restore that fails: this release's code, exit status 3 */
	memset(&app, 0, sizeof(app));
	app.restore_fails = -EPROTO;
	rt = new_rt(NULL, true);
	setenv("BATON_DRY_RUN_IMAGE", g.path, 1);
	setenv("BATON_DRY_RUN_REPORT", g.report, 1);
	assert_true(baton_rt_start(rt) < 0);
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_FAILED);
	assert_non_null(strstr(baton_rt_error(rt), "restore by handler g.state returned"));
	j = read_report(g.report);
	assert_string_equal(json_object_get_string(get(j, "result")), "failed");
	json_object_put(j);
	baton_rt_free(rt);

	/* a release that cannot start at all (a handler without code) says so too */
	assert_true(dry_run(g.path, g.report, false, &rt) < 0);
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_FAILED);
	j = read_report(g.report);
	f = json_object_array_get_idx(get(j, "findings"), 0);
	assert_non_null(strstr(json_object_get_string(get(f, "message")), "g.sock"));
	json_object_put(j);
	baton_rt_free(rt);
	remove_golden(&g);
}

/* A dry run serves nothing: no control socket. */
static void test_dry_run_no_control(void **state)
{
	struct golden g;
	struct baton_rt *rt;
	struct stat st;
	char ctl[128];

	(void)state;
	make_golden(&g);
	snprintf(ctl, sizeof(ctl), "%s/ctl", g.dir);
	memset(&app, 0, sizeof(app));
	rt = new_rt(ctl, true);
	setenv("BATON_DRY_RUN_IMAGE", g.path, 1);
	assert_int_equal(baton_rt_start(rt), BATON_START_CHECKED);
	assert_int_equal(stat(ctl, &st), -1);
	baton_rt_free(rt);
	remove_golden(&g);
}

/* ------------------------------------------------------------------------ */
/* Damaged files: refused with the reason, exit status 2, never trusted     */

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void poke(const char *path, off_t off, uint8_t x)
{
	uint8_t b;
	int fd = open(path, O_RDWR);

	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= x;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void put_be64(const char *path, off_t off, uint64_t v)
{
	uint8_t b[8];
	int fd = open(path, O_RDWR);

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	assert_int_equal(pwrite(fd, b, 8, off), 8);
	close(fd);
}

/* Rewrites the trailing checksum, as a forger would, so that only the checks behind it remain. */
static void reseal(const char *path)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDWR);

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	put_be64(path, st.st_size - 8, XXH64(buf, (size_t)st.st_size - 8, 0));
	free(buf);
}

static void expect_unreadable(const struct golden *g, const char *words)
{
	struct baton_rt *rt;
	struct json_object *j;

	assert_true(dry_run(g->path, g->report, true, &rt) < 0);
	if (!strstr(baton_rt_error(rt), words))
		fail_msg("\"%s\" not in: %s", words, baton_rt_error(rt));
	assert_int_equal(baton_rt_dry_run_result(rt), BATON_DRY_RUN_UNREADABLE);
	assert_int_equal(app.restored, 0);
	j = read_report(g->report);
	assert_string_equal(json_object_get_string(get(j, "result")), "unreadable");
	assert_int_equal(json_object_get_int(get(j, "exit_status")), 2);
	json_object_put(j);
	baton_rt_free(rt);
}

static void test_damaged(void **state)
{
	struct golden g, other;
	char keep[200], keep_image[200];
	struct stat st;

	(void)state;
	make_golden(&g);
	snprintf(keep, sizeof(keep), "%s.keep", g.region);
	snprintf(keep_image, sizeof(keep_image), "%s.keep", g.path);
	copy_file(g.region, keep);
	copy_file(g.path, keep_image);
	assert_int_equal(stat(g.region, &st), 0);

	/* a byte of the data */
	poke(g.region, 128 + 16 * 4 + 100, 0x01);
	expect_unreadable(&g, "checksum mismatch");
	copy_file(keep, g.region);
	/* a byte of the checksum itself */
	poke(g.region, st.st_size - 1, 0x80);
	expect_unreadable(&g, "checksum mismatch");
	copy_file(keep, g.region);
	/* truncated, extended */
	assert_int_equal(truncate(g.region, st.st_size - 1), 0);
	expect_unreadable(&g, "truncated");
	assert_int_equal(truncate(g.region, 100), 0);
	expect_unreadable(&g, "truncated");
	assert_int_equal(truncate(g.region, 0), 0);
	expect_unreadable(&g, "too short");
	copy_file(keep, g.region);
	assert_int_equal(truncate(g.region, st.st_size + 16), 0);
	expect_unreadable(&g, "truncated or extended");
	/* not a region file at all */
	copy_file(keep, g.region);
	poke(g.region, 0, 0x20);
	expect_unreadable(&g, "not a golden region file");
	/* missing */
	unlink(g.region);
	expect_unreadable(&g, "No such file");
	/* another region's header, resealed: the image says otherwise */
	copy_file(keep, g.region);
	put_be64(g.region, 24, HEAP_SIZE / 2);
	reseal(g.region);
	expect_unreadable(&g, "but the image's region 0 is heap");
	/* extents out of order, overlapping, outside the region: checked before use */
	copy_file(keep, g.region);
	put_be64(g.region, 128 + 16, 0);      /* the second extent starts at 0 again */
	reseal(g.region);
	expect_unreadable(&g, "out of order");
	copy_file(keep, g.region);
	put_be64(g.region, 128 + 16 * 3, HEAP_SIZE - 8);   /* the last one runs past the end */
	reseal(g.region);
	expect_unreadable(&g, "outside the");
	copy_file(keep, g.region);
	put_be64(g.region, 32, UINT64_MAX / 8);            /* an absurd number of extents */
	reseal(g.region);
	expect_unreadable(&g, "truncated or extended");
	/* the region file of another image */
	make_golden(&other);
	copy_file(other.region, g.region);
	expect_unreadable(&g, "the files of two golden images are mixed");
	remove_golden(&other);
	/* the image itself */
	copy_file(keep, g.region);
	poke(g.path, 200, 0x01);
	expect_unreadable(&g, "checksum");
	assert_int_equal(truncate(g.path, 10), 0);
	expect_unreadable(&g, g.path);
	unlink(g.path);
	expect_unreadable(&g, "cannot open the image");

	/* and untouched, it restores */
	copy_file(keep_image, g.path);
	{
		struct baton_rt *rt;

		assert_int_equal(dry_run(g.path, NULL, true, &rt), BATON_START_CHECKED);
		check_heap(baton_region_base(app.got_heap));
		baton_rt_free(rt);
	}
	unlink(keep);
	unlink(keep_image);
	remove_golden(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_request),
		cmocka_unit_test(test_dry_run_report),
		cmocka_unit_test(test_dry_run_step_and_refusal),
		cmocka_unit_test(test_dry_run_no_control),
		cmocka_unit_test(test_damaged),
	};

	unsetenv("BATON_FAULT");
	return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
