/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of the runtime — registration, objects, steps, regions
 *
 * This test program declares its own catalog (test.kv v1 and v2 with a
 * nested test.meta, test.sock), so baton_rt_new() reads it from its own
 * memory as a real program does. Objects are checked field type by field
 * type, then written into a real image, read back, upgraded by a step and
 * restored through a dry run; regions are real memfds; fault points fail
 * the calls they stand for.
 */
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
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <baton/baton.h>

#include "runtime/rt.h"
#include "transport/fault.h"

#define T_KV "0d9a1c2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
#define T_META "0d9a1c2e-3f40-4a5b-8c6d-7e8f90a1b2c4"
#define T_SOCK "0d9a1c2e-3f40-4a5b-8c6d-7e8f90a1b2c5"

#define KV_V1 BATON_FIELD_U8("u8"), BATON_FIELD_I16("i16"), BATON_FIELD_U32("u32"), \
	BATON_FIELD_I64("i64"), BATON_FIELD_U64("u64"), BATON_FIELD_BOOL("b"), \
	BATON_FIELD_BYTES("id", 4), BATON_FIELD_STRING("name", 8), \
	BATON_FIELD_ARRAY("arr", BATON_T_I32, 4), BATON_FIELD_SCHEMA("meta", T_META, 1), \
	BATON_FIELD_REGION("mem")

BATON_PROGRAM("unit", 3, 1, 0, BATON_SAME_BUILD, BATON_PATCH);
BATON_SCHEMA(T_META, "test.meta", 1, BATON_FIELD_U32("n"), BATON_FIELD_FD("fd"));
BATON_SCHEMA(T_KV, "test.kv", 1, KV_V1);
BATON_SCHEMA(T_KV, "test.kv", 2, KV_V1, BATON_FIELD_U16("extra"));
BATON_SCHEMA(T_SOCK, "test.sock", 1, BATON_FIELD_FD("fd"));
BATON_HANDLER("test.kv", BATON_WRITES(T_KV, 2), BATON_READS(T_KV, 1, 2));
BATON_HANDLER("test.sock", BATON_WRITES_OPTIONAL(T_SOCK, 1), BATON_READS(T_SOCK, 1));

static char logged[65536];

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s\n", msg);
}

static struct baton_rt *new_rt(void)
{
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.log = log_cb,
	};
	struct baton_rt *rt = NULL;

	assert_int_equal(baton_rt_new(&rt, &opt), 0);
	return rt;
}

static int nop_save(void *ctx, struct baton_save *s)
{
	(void)ctx;
	(void)s;
	return 0;
}

static int nop_restore(void *ctx, const struct baton_obj *o)
{
	(void)ctx;
	(void)o;
	return 0;
}

static int nop_step(void *ctx, const struct baton_obj *in, struct baton_obj *out)
{
	(void)ctx;
	(void)in;
	(void)out;
	return 0;
}

static void test_new_invalid(void **state)
{
	struct baton_rt_options opt = { 0 };
	struct baton_rt *rt;

	(void)state;
	assert_int_equal(baton_rt_new(&rt, &opt), -EINVAL);
	assert_int_equal(baton_rt_new(NULL, &opt), -EINVAL);
	opt.catalog = "garbage!";
	opt.catalog_len = 8;
	opt.log = log_cb;
	assert_true(baton_rt_new(&rt, &opt) < 0);
	assert_null(rt);
	assert_string_equal(baton_rt_error(NULL), "no error");
}

static void test_register(void **state)
{
	struct baton_handler_ops ops = { nop_save, nop_restore, NULL };
	struct baton_handler_ops no_save = { NULL, nop_restore, NULL };
	struct baton_rt *rt = new_rt();

	(void)state;
	assert_int_equal(baton_rt_register(rt, "nope", &ops), -ENOENT);
	assert_non_null(strstr(baton_rt_error(rt), "declares no such handler"));
	assert_int_equal(baton_rt_register(rt, "test.kv", &no_save), -EINVAL);
	assert_int_equal(baton_rt_register(rt, "test.kv", &ops), 0);
	assert_int_equal(baton_rt_register(rt, "test.kv", &ops), -EEXIST);
	/* a declared handler without code refuses the start, by name */
	assert_int_equal(baton_rt_start(rt), -ENOENT);
	assert_non_null(strstr(baton_rt_error(rt), "test.sock"));
	assert_int_equal(baton_rt_register(rt, "test.sock", &ops), 0);
	/* test.kv reads v1 and v2: the step 1 -> 2 is missing */
	assert_int_equal(baton_rt_start(rt), -ENOENT);
	assert_non_null(strstr(baton_rt_error(rt), "no upgrade step from version 1 to 2"));
	assert_non_null(strstr(baton_rt_error(rt), "test.kv"));
	assert_non_null(strstr(baton_rt_error(rt), T_KV));
	/* steps: only below the highest version read, once, for a known handler */
	assert_int_equal(baton_rt_register_step(rt, "test.kv", T_KV, 2, nop_step, NULL), -EINVAL);
	assert_int_equal(baton_rt_register_step(rt, "test.kv", T_KV, 0, nop_step, NULL), -EINVAL);
	assert_int_equal(baton_rt_register_step(rt, "test.kv", "not-a-uuid", 1, nop_step, NULL), -EINVAL);
	assert_int_equal(baton_rt_register_step(rt, "nope", T_KV, 1, nop_step, NULL), -ENOENT);
	assert_int_equal(baton_rt_register_step(rt, "test.sock", T_KV, 1, nop_step, NULL), -EINVAL);
	assert_int_equal(baton_rt_register_step(rt, "test.kv", T_KV, 1, nop_step, NULL), 0);
	assert_int_equal(baton_rt_register_step(rt, "test.kv", T_KV, 1, nop_step, NULL), -EEXIST);
	unsetenv("BATON_HANDOFF");
	assert_int_equal(baton_rt_start(rt), BATON_START_COLD);
	assert_int_equal(baton_rt_start(rt), -EALREADY);
	assert_int_equal(baton_rt_register(rt, "test.kv", &ops), -EBUSY);
	assert_true(baton_rt_fd(rt) >= 0);
	{
		struct baton_rt_origin o;

		assert_int_equal(baton_rt_origin(rt, &o), 0);
		assert_false(o.restored);
		assert_string_equal(o.program, "unit");
		assert_int_equal(o.release.major, 3);
		assert_int_equal(o.generation, 0);
	}
	/* nothing to do: run returns after its timeout */
	assert_int_equal(baton_rt_run(rt, 10), BATON_DISPATCH_CONTINUE);
	baton_rt_free(rt);
}

static struct baton_obj *kv(struct baton_rt *rt, uint32_t version)
{
	struct baton_obj *o;
	baton_uuid c;
	int err;

	baton_uuid_parse(&c, T_KV, strlen(T_KV));
	o = rt_obj_new(rt, baton_catalog_find_schema(rt->cat, &c, version), "kv/main", 0, &err);
	assert_non_null(o);
	o->handler = baton_catalog_find_handler(rt->cat, "test.kv");
	return o;
}

static void test_setters(void **state)
{
	struct baton_rt *rt = new_rt();
	struct baton_obj *o = kv(rt, 1), *m;
	const struct baton_obj *cm;
	int32_t arr[5] = { -1, 2, -3, 4, 5 }, back[4];
	const char *s;
	char id[4], err[256];
	uint64_t u;
	int64_t i;
	size_t n;
	bool b;
	int fd;

	(void)state;
	assert_string_equal(baton_obj_key(o), "kv/main");
	assert_int_equal(baton_obj_version(o), 1);
	/* ranges of every integer width, both signs */
	assert_int_equal(baton_obj_set_uint(o, "u8", 255), 0);
	assert_int_equal(baton_obj_set_uint(o, "u8", 256), -ERANGE);
	assert_int_equal(baton_obj_set_int(o, "u8", -1), -ERANGE);
	assert_int_equal(baton_obj_set_int(o, "i16", -32768), 0);
	assert_int_equal(baton_obj_set_int(o, "i16", -32769), -ERANGE);
	assert_int_equal(baton_obj_set_uint(o, "i16", 32768), -ERANGE);
	assert_int_equal(baton_obj_set_uint(o, "u32", UINT32_MAX), 0);
	assert_int_equal(baton_obj_set_uint(o, "u32", (uint64_t)UINT32_MAX + 1), -ERANGE);
	assert_int_equal(baton_obj_set_int(o, "i64", INT64_MIN), 0);
	assert_int_equal(baton_obj_set_uint(o, "u64", UINT64_MAX), 0);
	/* types */
	assert_int_equal(baton_obj_set_bool(o, "u8", true), -EINVAL);
	assert_int_equal(baton_obj_set_uint(o, "b", 1), -EINVAL);
	assert_int_equal(baton_obj_set_uint(o, "nope", 1), -ENOENT);
	assert_int_equal(baton_obj_set_bool(o, "b", true), 0);
	assert_int_equal(baton_obj_set_bytes(o, "id", "abc", 3), -ERANGE);
	assert_int_equal(baton_obj_set_bytes(o, "id", "abcd", 4), 0);
	assert_int_equal(baton_obj_set_string(o, "name", "123456789", 9), -ERANGE);
	assert_int_equal(baton_obj_set_string(o, "name", "a\0b", 3), -EINVAL);
	assert_int_equal(baton_obj_set_string(o, "name", "kv", 2), 0);
	assert_int_equal(baton_obj_set_array(o, "arr", arr, 5), -ERANGE);
	assert_int_equal(baton_obj_set_array(o, "arr", arr, 4), 0);
	assert_int_equal(baton_obj_set_fd(o, "arr", 0), -EINVAL);
	assert_int_equal(baton_obj_nested(o, "u8", &m), -EINVAL);
	/* not everything is set yet */
	assert_int_equal(rt_obj_check_set(o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "meta"));
	assert_int_equal(baton_obj_nested(o, "meta", &m), 0);
	assert_int_equal(baton_obj_set_uint(m, "n", 7), 0);
	assert_int_equal(rt_obj_check_set(o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fd"));
	assert_int_equal(baton_obj_set_fd(m, "fd", -1), -EBADF);
	assert_int_equal(baton_obj_set_fd(m, "fd", STDIN_FILENO), 0);
	/* getters: types, widths, ranges */
	assert_int_equal(baton_obj_get_uint(o, "u8", &u), 0);
	assert_int_equal(u, 255);
	assert_int_equal(baton_obj_get_int(o, "i16", &i), 0);
	assert_int_equal(i, -32768);
	assert_int_equal(baton_obj_get_uint(o, "i16", &u), -ERANGE);
	assert_int_equal(baton_obj_get_int(o, "u64", &i), -ERANGE);
	assert_int_equal(baton_obj_get_int(o, "i64", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(baton_obj_get_bool(o, "b", &b), 0);
	assert_true(b);
	assert_int_equal(baton_obj_get_bytes(o, "id", id, 3), -ENOSPC);
	assert_int_equal(baton_obj_get_bytes(o, "id", id, 4), 0);
	assert_memory_equal(id, "abcd", 4);
	assert_int_equal(baton_obj_get_string(o, "name", &s, &n), 0);
	assert_string_equal(s, "kv");
	assert_int_equal(baton_obj_get_array(o, "arr", back, 3, &n), -ENOSPC);
	assert_int_equal(baton_obj_get_array(o, "arr", back, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(back, arr, sizeof(back));
	assert_int_equal(baton_obj_get_region(o, "mem", NULL), -ENODATA);
	assert_int_equal(baton_obj_get_nested(o, "meta", &cm), 0);
	assert_ptr_equal(cm, m);
	assert_int_equal(baton_obj_take_fd(cm, "fd", &fd), 0);
	assert_true(fd != STDIN_FILENO);   /* a duplicate */
	assert_int_equal(baton_obj_take_fd(cm, "fd", &fd), -EALREADY);
	close(fd);
	rt_obj_free(o);
	baton_rt_free(rt);
}

static struct baton_region *make_region(struct baton_rt *rt)
{
	struct baton_region *r;

	assert_int_equal(baton_region_create(rt, "bad name!", 4096, &r), -EINVAL);
	assert_int_equal(baton_region_create(rt, "heap", 0, &r), -EINVAL);
	assert_int_equal(baton_region_create(rt, "heap", 64 << 20, &r), 0);
	assert_string_equal(baton_region_name(r), "heap");
	assert_int_equal(baton_region_size(r), 64 << 20);
	memcpy((char *)baton_region_base(r) + (32 << 20), "in the middle", 14);
	return r;
}

static void fill(struct baton_obj *o, struct baton_region *r, int fd)
{
	int32_t arr[3] = { -7, 0, 7 };
	struct baton_obj *m;

	assert_int_equal(baton_obj_set_uint(o, "u8", 1), 0);
	assert_int_equal(baton_obj_set_int(o, "i16", -2), 0);
	assert_int_equal(baton_obj_set_uint(o, "u32", 3), 0);
	assert_int_equal(baton_obj_set_int(o, "i64", -4), 0);
	assert_int_equal(baton_obj_set_uint(o, "u64", 5), 0);
	assert_int_equal(baton_obj_set_bool(o, "b", true), 0);
	assert_int_equal(baton_obj_set_bytes(o, "id", "\0\1\2\3", 4), 0);
	assert_int_equal(baton_obj_set_string(o, "name", "", 0), 0);
	assert_int_equal(baton_obj_set_array(o, "arr", arr, 3), 0);
	assert_int_equal(baton_obj_nested(o, "meta", &m), 0);
	assert_int_equal(baton_obj_set_uint(m, "n", 9), 0);
	assert_int_equal(baton_obj_set_fd(m, "fd", fd), 0);
	assert_int_equal(baton_obj_set_region(o, "mem", r), 0);
}

/* Writes the image in buf to path, and region r (index 0 of it) beside it as a dry run reads it. */
static void write_golden(const char *path, const void *buf, size_t len, struct baton_region *r)
{
	char rpath[PATH_MAX];
	uint64_t stored, size;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	snprintf(rpath, sizeof(rpath), "%s.region.0", path);
	assert_int_equal(rt_golden_region_write(r, 0, rt_golden_image_hash(buf, len), rpath, &stored,
						&size), 0);
	assert_int_equal(stored, 512);   /* one block holds "in the middle" */
}

static void unlink_golden(const char *path)
{
	char rpath[PATH_MAX];

	snprintf(rpath, sizeof(rpath), "%s.region.0", path);
	unlink(rpath);
	unlink(path);
}

static int steps_run;

static int kv_step(void *ctx, const struct baton_obj *in, struct baton_obj *out)
{
	const char *names[] = { "u8", "u32", "u64" };
	const struct baton_obj *mi;
	struct baton_obj *mo;
	struct baton_region *r;
	int32_t arr[4];
	char id[4];
	const char *s;
	size_t n;
	uint64_t u;
	int64_t i;
	bool b;
	int fd;

	(void)ctx;
	steps_run++;
	for (n = 0; n < 3; n++) {
		baton_obj_get_uint(in, names[n], &u);
		baton_obj_set_uint(out, names[n], u);
	}
	baton_obj_get_int(in, "i16", &i);
	baton_obj_set_int(out, "i16", i);
	baton_obj_get_int(in, "i64", &i);
	baton_obj_set_int(out, "i64", i);
	baton_obj_get_bool(in, "b", &b);
	baton_obj_set_bool(out, "b", b);
	baton_obj_get_bytes(in, "id", id, 4);
	baton_obj_set_bytes(out, "id", id, 4);
	baton_obj_get_string(in, "name", &s, &n);
	baton_obj_set_string(out, "name", s, n);
	baton_obj_get_array(in, "arr", arr, 4, &n);
	baton_obj_set_array(out, "arr", arr, n);
	baton_obj_get_nested(in, "meta", &mi);
	baton_obj_nested(out, "meta", &mo);
	baton_obj_get_uint(mi, "n", &u);
	baton_obj_set_uint(mo, "n", u);
	/* fds pass by take + set (a duplicate) + close */
	if (baton_obj_take_fd(mi, "fd", &fd) == 0) {
		baton_obj_set_fd(mo, "fd", fd);
		close(fd);
	}
	baton_obj_get_region(in, "mem", &r);
	baton_obj_set_region(out, "mem", r);
	return baton_obj_set_uint(out, "extra", 77);
}

static int restored;
static bool expect_content;
static uint64_t region_size = 64 << 20;

static int kv_restore(void *ctx, const struct baton_obj *o)
{
	struct baton_region *r;
	const struct baton_obj *m;
	int32_t arr[4];
	uint64_t u;
	size_t n;
	int fd;

	(void)ctx;
	assert_int_equal(baton_obj_version(o), 2);
	assert_int_equal(baton_obj_get_uint(o, "extra", &u), 0);
	assert_int_equal(u, 77);
	assert_int_equal(baton_obj_get_array(o, "arr", arr, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(arr[0], -7);
	assert_int_equal(baton_obj_get_region(o, "mem", &r), 0);
	assert_int_equal(baton_region_size(r), region_size);
	if (expect_content)
		assert_memory_equal((char *)baton_region_base(r) + region_size / 2, "in the middle", 14);
	assert_int_equal(baton_obj_get_nested(o, "meta", &m), 0);
	assert_int_equal(baton_obj_take_fd(m, "fd", &fd), 0);
	close(fd);
	restored++;
	return 0;
}

static void test_image_round_trip(void **state)
{
	struct baton_handler_ops kvops = { nop_save, kv_restore, NULL };
	struct baton_handler_ops sops = { nop_save, nop_restore, NULL };
	struct baton_image_header h = { .program = "unit", .release = { 3, 1, 0 }, .generation = 4 };
	struct baton_rt *rt = new_rt(), *rt2;
	struct baton_region *r = make_region(rt);
	struct baton_obj *o = kv(rt, 1);
	struct baton_image img;
	struct baton_diag d;
	struct baton_rt_origin org;
	char err[512], path[] = "/tmp/baton-unit-image-XXXXXX";
	size_t len, nfds;
	void *buf;
	int *fds, pfd;

	(void)state;
	fill(o, r, STDERR_FILENO);
	/* image of a v1 object (as an older release would write it) */
	buf = aligned_alloc(8, 1 << 20);
	h.build_id = rt->cat->build_id;
	assert_int_equal(rt_image_write(rt, o, buf, 1 << 20, &h, &len, &fds, &nfds, err, sizeof(err)), 0);
	assert_int_equal(nfds, 2);   /* the nested fd and the region's memfd */
	assert_int_equal(baton_image_open(&img, buf, len, &d), 0);
	assert_int_equal(img.nobjects, 1);
	assert_int_equal(img.nregions, 1);

	/* restored with the real fds, as a successor does */
	rt2 = new_rt();
	assert_int_equal(baton_rt_register(rt2, "test.kv", &kvops), 0);
	assert_int_equal(baton_rt_register(rt2, "test.sock", &sops), 0);
	assert_int_equal(baton_rt_register_step(rt2, "test.kv", T_KV, 1, kv_step, NULL), 0);
	{
		int in[2] = { fcntl(fds[0], F_DUPFD_CLOEXEC, 3), fcntl(fds[1], F_DUPFD_CLOEXEC, 3) };

		steps_run = restored = 0;
		expect_content = true;
		assert_int_equal(rt_restore_image(rt2, rt2->cat, &img, in, 2, -1, false), 1);
		assert_int_equal(steps_run, 1);
		assert_int_equal(restored, 1);
		assert_int_equal(in[0], -1);   /* consumed: taken or closed */
		assert_int_equal(in[1], -1);
		expect_content = false;
	}
	baton_rt_free(rt2);
	free(fds);
	pfd = mkstemp(path);
	assert_true(pfd >= 0);
	close(pfd);
	write_golden(path, buf, len, r);
	/* too small a buffer says so */
	{
		size_t l2, n2;
		int *f2;
		void *small = aligned_alloc(8, 256);

		assert_int_equal(rt_image_write(rt, o, small, 256, &h, &l2, &f2, &n2, err, sizeof(err)),
				 -ENOSPC);
		free(small);
	}
	rt_obj_free(o);
	baton_rt_free(rt);

	/* a dry run reads it back: bind, step v1 -> v2, restore */
	rt2 = new_rt();
	assert_int_equal(baton_rt_register(rt2, "test.kv", &kvops), 0);
	assert_int_equal(baton_rt_register(rt2, "test.sock", &sops), 0);
	assert_int_equal(baton_rt_register_step(rt2, "test.kv", T_KV, 1, kv_step, NULL), 0);
	setenv("BATON_DRY_RUN_IMAGE", path, 1);
	steps_run = restored = 0;
	logged[0] = '\0';
	expect_content = true;
	if (baton_rt_start(rt2) != BATON_START_CHECKED)
		fail_msg("dry run: %s", logged);
	expect_content = false;
	assert_null(getenv("BATON_DRY_RUN_IMAGE"));   /* read once, then gone */
	assert_int_equal(steps_run, 1);
	assert_int_equal(restored, 1);
	assert_int_equal(baton_rt_origin(rt2, &org), 0);
	assert_true(org.restored);
	assert_int_equal(org.generation, 5);
	assert_true(baton_rt_dry_run(rt2));
	assert_int_equal(baton_rt_dry_run_result(rt2), BATON_DRY_RUN_RESTORED);
	baton_rt_free(rt2);
	unlink_golden(path);
	free(buf);
}

static int failing_step(void *ctx, const struct baton_obj *in, struct baton_obj *out)
{
	(void)ctx;
	(void)in;
	/* sets nothing: an incomplete object is an error */
	(void)out;
	return 0;
}

static void test_step_incomplete(void **state)
{
	struct baton_handler_ops kvops = { nop_save, kv_restore, NULL };
	struct baton_handler_ops sops = { nop_save, nop_restore, NULL };
	struct baton_image_header h = { .program = "unit", .release = { 3, 1, 0 } };
	struct baton_rt *rt = new_rt(), *rt2;
	struct baton_region *r = make_region(rt);
	struct baton_obj *o = kv(rt, 1);
	char err[512], path[] = "/tmp/baton-unit-image-XXXXXX";
	size_t len, nfds;
	void *buf = aligned_alloc(8, 1 << 20);
	int *fds, pfd;

	(void)state;
	fill(o, r, STDERR_FILENO);
	h.build_id = rt->cat->build_id;
	assert_int_equal(rt_image_write(rt, o, buf, 1 << 20, &h, &len, &fds, &nfds, err, sizeof(err)), 0);
	free(fds);
	pfd = mkstemp(path);
	close(pfd);
	write_golden(path, buf, len, r);
	rt_obj_free(o);
	baton_rt_free(rt);

	rt2 = new_rt();
	baton_rt_register(rt2, "test.kv", &kvops);
	baton_rt_register(rt2, "test.sock", &sops);
	baton_rt_register_step(rt2, "test.kv", T_KV, 1, failing_step, NULL);
	setenv("BATON_DRY_RUN_IMAGE", path, 1);
	assert_true(baton_rt_start(rt2) < 0);
	unsetenv("BATON_DRY_RUN_IMAGE");
	assert_non_null(strstr(baton_rt_error(rt2), "upgrade step of handler test.kv from version 1 to 2 failed"));
	assert_non_null(strstr(baton_rt_error(rt2), "was not set"));
	/* the code of this release failed, not the image */
	assert_int_equal(baton_rt_dry_run_result(rt2), BATON_DRY_RUN_FAILED);
	baton_rt_free(rt2);
	unlink_golden(path);
	free(buf);
}

static void test_regions(void **state)
{
	struct baton_rt *rt = new_rt();
	struct baton_region *r, *a;
	char err[256];
	int fd;

	(void)state;
	r = make_region(rt);
	/* sparse: 64 MiB created, one page touched */
	{
		struct stat st;

		assert_int_equal(fstat(r->fd, &st), 0);
		assert_true(st.st_blocks * 512 < (1 << 20));
	}
	/* received: mapped again at another address, read-only until the commit */
	fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
	assert_int_equal(rt_region_adopt(rt, "heap", fd, 64 << 20, &a, err, sizeof(err)), 0);
	assert_ptr_not_equal(baton_region_base(a), baton_region_base(r));
	assert_memory_equal((char *)baton_region_base(a) + (32 << 20), "in the middle", 14);
	assert_true(a->read_only);
	assert_int_equal(rt_regions_commit(rt), 0);
	memcpy(baton_region_base(a), "shared", 6);
	assert_memory_equal(baton_region_base(r), "shared", 6);
	/* a region larger than its memfd is refused */
	fd = memfd_create("small", MFD_CLOEXEC);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(rt_region_adopt(rt, "small", fd, 8192, &a, err, sizeof(err)), -EBADMSG);
	close(fd);
	baton_region_destroy(r);
	baton_rt_free(rt);   /* frees the adopted one */
}

static void test_region_faults(void **state)
{
	struct baton_rt *rt = new_rt();
	struct baton_region *r;
	const char *points[] = { "memfd_create", "ftruncate", "mmap" };
	int want[] = { -EMFILE, -ENOSPC, -ENOMEM };

	(void)state;
#if !defined(BATON_FAULT_INJECTION) || !BATON_FAULT_INJECTION
	skip();
#endif
	for (int i = 0; i < 3; i++) {
		setenv("BATON_FAULT", points[i], 1);
		baton__fault_reset();
		assert_int_equal(baton_region_create(rt, "heap", 4096, &r), want[i]);
		assert_non_null(strstr(baton_rt_error(rt), "injected"));
	}
	setenv("BATON_FAULT", "dup", 1);
	baton__fault_reset();
	{
		struct baton_obj *o = kv(rt, 1), *m;

		assert_int_equal(baton_obj_nested(o, "meta", &m), 0);
		assert_int_equal(baton_obj_set_fd(m, "fd", 0), -EMFILE);
		rt_obj_free(o);
	}
	unsetenv("BATON_FAULT");
	baton__fault_reset();
	baton_rt_free(rt);

	/* the runtime's own epoll fd */
	setenv("BATON_FAULT", "epoll_create", 1);
	baton__fault_reset();
	{
		struct baton_rt_options opt = {
			.catalog = BATON_SELF_RECORDS,
			.catalog_len = BATON_SELF_RECORDS_LEN,
			.log = log_cb,
		};

		logged[0] = '\0';
		assert_int_equal(baton_rt_new(&rt, &opt), -EMFILE);
		assert_null(rt);
		assert_non_null(strstr(logged, "epoll_create1(): Too many open files (injected)"));
	}
	unsetenv("BATON_FAULT");
	baton__fault_reset();
}

static struct baton_region *golden_region;

static int kv_save(void *ctx, struct baton_save *s)
{
	struct baton_obj *o;
	int rc;

	(void)ctx;
	rc = baton_save_object(s, "kv/main", 0, &o);
	if (rc < 0)
		return rc;
	fill(o, golden_region, STDERR_FILENO);
	return baton_obj_set_uint(o, "extra", 77);
}

/* A golden image: saved by a running program, restored by a dry run. */
static void test_golden_image(void **state)
{
	struct baton_handler_ops kvops = { kv_save, kv_restore, NULL };
	struct baton_handler_ops sops = { nop_save, nop_restore, NULL };
	char dir[] = "/tmp/baton-golden-XXXXXX", path[128], rpath[160];
	struct baton_rt *rt = new_rt();
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unit-3.1.0.dtb", dir);
	snprintf(rpath, sizeof(rpath), "%s.region.0", path);
	baton_rt_register(rt, "test.kv", &kvops);
	baton_rt_register(rt, "test.sock", &sops);
	baton_rt_register_step(rt, "test.kv", T_KV, 1, kv_step, NULL);
	assert_int_equal(baton_rt_save_image(rt, path), -EAGAIN);   /* not started */
	assert_int_equal(baton_rt_start(rt), BATON_START_COLD);
	region_size = 1 << 20;   /* golden images are small */
	assert_int_equal(baton_region_create(rt, "heap", region_size, &golden_region), 0);
	memcpy((char *)baton_region_base(golden_region) + region_size / 2, "in the middle", 14);
	assert_int_equal(baton_rt_save_image(rt, path), 0);
	assert_int_equal(stat(rpath, &st), 0);
	/* header, one extent of one 512-byte block, its bytes, the checksum */
	assert_int_equal(st.st_size, 128 + 16 + 512 + 8);
	assert_int_equal(baton_rt_save_image(rt, "/nonexistent/dir/x.dtb"), -ENOENT);
	assert_non_null(strstr(baton_rt_error(rt), "/nonexistent/dir/x.dtb"));
	baton_rt_free(rt);

	rt = new_rt();
	baton_rt_register(rt, "test.kv", &kvops);
	baton_rt_register(rt, "test.sock", &sops);
	baton_rt_register_step(rt, "test.kv", T_KV, 1, kv_step, NULL);
	setenv("BATON_DRY_RUN_IMAGE", path, 1);
	restored = steps_run = 0;
	expect_content = true;
	assert_int_equal(baton_rt_start(rt), BATON_START_CHECKED);
	expect_content = false;
	unsetenv("BATON_DRY_RUN_IMAGE");
	assert_int_equal(restored, 1);
	assert_int_equal(steps_run, 0);   /* written at v2, read at v2 */
	region_size = 64 << 20;
	baton_rt_free(rt);
	unlink(rpath);
	unlink(path);
	rmdir(dir);
}

static int sock_restored;

static int sock_restore(void *ctx, const struct baton_obj *o)
{
	int fd;

	(void)ctx;
	if (baton_obj_take_fd(o, "fd", &fd) < 0)
		return -EBADF;
	close(fd);
	sock_restored++;
	return 0;
}

/* Thousands of connections: writing and restoring stay linear. */
static void test_many_objects(void **state)
{
	enum { N = 5000 };
	struct baton_handler_ops kvops = { nop_save, nop_restore, NULL };
	struct baton_handler_ops sops = { nop_save, sock_restore, NULL };
	struct baton_image_header h = { .program = "unit", .release = { 3, 1, 0 } };
	struct baton_rt *rt = new_rt();
	struct baton_obj *head = NULL, **tail = &head;
	struct baton_image img;
	struct baton_diag d;
	char err[512];
	size_t len, nfds, size = 8 << 20;
	void *buf = aligned_alloc(8, size);
	uint64_t t0, t1, t2;
	int *fds, *in, rc;
	baton_uuid c;

	(void)state;
	baton_uuid_parse(&c, T_SOCK, strlen(T_SOCK));
	for (int i = 0; i < N; i++) {
		char key[32];
		int e;

		snprintf(key, sizeof(key), "conn/%d", i);
		*tail = rt_obj_new(rt, baton_catalog_find_schema(rt->cat, &c, 1), key, 0, &e);
		assert_non_null(*tail);
		(*tail)->handler = baton_catalog_find_handler(rt->cat, "test.sock");
		assert_int_equal(baton_obj_set_fd(*tail, "fd", STDERR_FILENO), 0);
		tail = &(*tail)->next;
	}
	h.build_id = rt->cat->build_id;
	t0 = baton_now_ns();
	rc = rt_image_write(rt, head, buf, size, &h, &len, &fds, &nfds, err, sizeof(err));
	assert_int_equal(rc, 0);
	t1 = baton_now_ns();
	assert_int_equal(nfds, N);
	assert_int_equal(baton_image_open(&img, buf, len, &d), 0);
	in = calloc(N, sizeof(*in));
	for (int i = 0; i < N; i++)
		in[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
	free(fds);
	rt_obj_free_list(head);
	baton_rt_free(rt);

	rt = new_rt();
	baton_rt_register(rt, "test.kv", &kvops);
	baton_rt_register(rt, "test.sock", &sops);
	baton_rt_register_step(rt, "test.kv", T_KV, 1, kv_step, NULL);
	sock_restored = 0;
	t2 = baton_now_ns();
	assert_int_equal(rt_restore_image(rt, rt->cat, &img, in, N, -1, false), N);
	assert_int_equal(sock_restored, N);
	print_message("%d objects: image %.1f ms (%zu bytes), open+bind+restore %.1f ms\n", N,
		      (t1 - t0) / 1e6, len, (baton_now_ns() - t2) / 1e6);
	baton_rt_free(rt);
	free(in);
	free(buf);
}

static struct baton_rt *ctl_rt(const char *path)
{
	struct baton_handler_ops ops = { nop_save, nop_restore, NULL };
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.control_path = path,
		.log = log_cb,
	};
	struct baton_rt *rt = NULL;

	assert_int_equal(baton_rt_new(&rt, &opt), 0);
	baton_rt_register(rt, "test.kv", &ops);
	baton_rt_register(rt, "test.sock", &ops);
	baton_rt_register_step(rt, "test.kv", T_KV, 1, nop_step, NULL);
	return rt;
}

/* The control socket: mode 0600, one owner, stale files replaced, removed at exit. */
static void test_control_socket(void **state)
{
	char dir[] = "/tmp/baton-ctl-XXXXXX", path[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct baton_rt *a, *b;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	a = ctl_rt(path);
	assert_int_equal(baton_rt_start(a), BATON_START_COLD);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a second program at the same path is refused while the first lives */
	b = ctl_rt(path);
	assert_int_equal(baton_rt_start(b), -EADDRINUSE);
	assert_non_null(strstr(baton_rt_error(b), "already running"));
	baton_rt_free(b);
	assert_int_equal(stat(path, &st), 0);   /* and it did not remove the socket */
	baton_rt_free(a);
	assert_int_equal(stat(path, &st), -1);  /* removed at exit */
	/* a stale socket file left by a dead process is replaced */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	a = ctl_rt(path);
	assert_int_equal(baton_rt_start(a), BATON_START_COLD);
	baton_rt_free(a);
	/* a regular file there is not ours to remove */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	a = ctl_rt(path);
	assert_int_equal(baton_rt_start(a), -EADDRINUSE);
	baton_rt_free(a);
	unlink(path);
	/* too long a path */
	{
		char longp[200];

		memset(longp, 'x', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		a = ctl_rt(longp);
		assert_int_equal(baton_rt_start(a), -ENAMETOOLONG);
		baton_rt_free(a);
	}
	rmdir(dir);
}

static void test_upgrade_unstarted(void **state)
{
	struct baton_rt *rt = new_rt();

	(void)state;
	assert_int_equal(baton_rt_upgrade(rt, "/bin/true", NULL), -EAGAIN);
	baton_rt_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_image_round_trip),
		cmocka_unit_test(test_step_incomplete),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_region_faults),
		cmocka_unit_test(test_many_objects),
		cmocka_unit_test(test_golden_image),
		cmocka_unit_test(test_control_socket),
		cmocka_unit_test(test_upgrade_unstarted),
	};

	return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
