/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime unit tests — objects in one allocation, thousands per update
 *
 * An object is one allocation now: its values, room for short bytes,
 * strings and arrays, and its key; longer values get an allocation of their
 * own. These tests move values between the two (and onto themselves), save
 * thousands of objects through the old side's own code (rt_update_save:
 * save, the duplicate-key check, the image), restore them through the new
 * side's (rt_restore_image: bind, decode, restore) and compare every value,
 * and find a key saved twice among thousands. ASan and LeakSanitizer watch
 * the allocations in the sanitizer build.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <baton/baton.h>

#include "runtime/rt.h"

#define T_CONN "4a1f0c22-9b3e-4d5a-8e6f-708192a3b4c5"

BATON_PROGRAM("many", 1, 0, 0, BATON_SAME_BUILD);
BATON_SCHEMA(T_CONN, "test.conn", 1, BATON_FIELD_FD("fd"), BATON_FIELD_U64("id"),
	     BATON_FIELD_STRING("peer", 63), BATON_FIELD_STRING("note", 200),
	     BATON_FIELD_ARRAY("tags", BATON_T_U16, 40), BATON_FIELD_BYTES("blob", 8));
BATON_HANDLER("test.conn", BATON_WRITES(T_CONN, 1), BATON_READS(T_CONN, 1));

static char logged[8192];

static void log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s\n", msg);
}

static struct {
	int sock;            /* every object's fd is this socket (set_fd duplicates it) */
	size_t n;            /* objects to save */
	long twice;          /* save this one's key again, or -1 */
	size_t restored;
	int bad;             /* restored objects whose values differ */
} t;

static void note_of(size_t i, char *buf, size_t size)
{
	/* every third note is longer than an object keeps in its own room */
	if (i % 3 == 0)
		snprintf(buf, size, "a long note of object %zu, %0150zu", i, i);
	else
		snprintf(buf, size, "note %zu", i);
}

static size_t tags_of(size_t i, uint16_t *tags)
{
	size_t n = i % 2 ? 40 : 3, k;

	for (k = 0; k < n; k++)
		tags[k] = (uint16_t)(i * 7 + k);
	return n;
}

static int conn_save(void *ctx, struct baton_save *s)
{
	size_t i;
	int rc;

	(void)ctx;
	for (i = 0; i < t.n + (t.twice >= 0); i++) {
		size_t k = i < t.n ? i : (size_t)t.twice;
		struct baton_obj *o;
		char key[32], peer[64], note[256];
		uint16_t tags[40];
		size_t ntags = tags_of(k, tags);

		snprintf(key, sizeof(key), "conn/%zu", k);
		snprintf(peer, sizeof(peer), "10.0.%zu.%zu:%zu", k / 256 % 256, k % 256, 1024 + k);
		note_of(k, note, sizeof(note));
		if ((rc = baton_save_object(s, key, 0, &o)) < 0 ||
		    (rc = baton_obj_set_fd(o, "fd", t.sock)) < 0 ||
		    (rc = baton_obj_set_uint(o, "id", k)) < 0 ||
		    (rc = baton_obj_set_string(o, "peer", peer, strlen(peer))) < 0 ||
		    (rc = baton_obj_set_string(o, "note", note, strlen(note))) < 0 ||
		    (rc = baton_obj_set_array(o, "tags", tags, ntags)) < 0 ||
		    (rc = baton_obj_set_bytes(o, "blob", "12345678", 8)) < 0)
			return rc;
	}
	return 0;
}

static int conn_restore(void *ctx, const struct baton_obj *o)
{
	const char *peer, *note;
	char want[256], wkey[32];
	uint16_t tags[40], wtags[40];
	uint64_t id;
	size_t n, wn;
	char blob[8];
	int fd, rc;

	(void)ctx;
	if ((rc = baton_obj_get_uint(o, "id", &id)) < 0 ||
	    (rc = baton_obj_get_string(o, "peer", &peer, NULL)) < 0 ||
	    (rc = baton_obj_get_string(o, "note", &note, NULL)) < 0 ||
	    (rc = baton_obj_get_array(o, "tags", tags, 40, &n)) < 0 ||
	    (rc = baton_obj_get_bytes(o, "blob", blob, 8)) < 0 ||
	    (rc = baton_obj_take_fd(o, "fd", &fd)) < 0)
		return rc;
	close(fd);
	note_of(id, want, sizeof(want));
	wn = tags_of(id, wtags);
	snprintf(wkey, sizeof(wkey), "conn/%llu", (unsigned long long)id);
	if (strcmp(note, want) || n != wn || memcmp(tags, wtags, n * 2) ||
	    memcmp(blob, "12345678", 8) || strcmp(baton_obj_key(o), wkey) || !*peer)
		t.bad++;
	t.restored++;
	return 0;
}

static struct baton_rt *new_rt(void)
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
	return rt;
}

/* As many objects as the fd limit allows (each is held three times here), up to want. */
static size_t objects_for(size_t want)
{
	struct rlimit rl;
	size_t fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 100;
	fit = rl.rlim_cur > 300 ? (rl.rlim_cur - 100) / 3 : 50;
	return fit < want ? fit : want;
}

static void test_values_inline_and_allocated(void **state)
{
	struct baton_rt *rt = new_rt();
	struct baton_obj *o;
	baton_uuid c;
	char long_note[201];
	const char *s;
	uint16_t tags[40], back[40];
	size_t n, k;
	int err;

	(void)state;
	baton_uuid_parse(&c, T_CONN, strlen(T_CONN));
	o = rt_obj_new(rt, baton_catalog_find_schema(rt->cat, &c, 1), "conn/x", 0, &err);
	assert_non_null(o);
	assert_string_equal(baton_obj_key(o), "conn/x");
	memset(long_note, 'n', 200);
	long_note[200] = '\0';
	for (k = 0; k < 40; k++)
		tags[k] = (uint16_t)(k + 1000);

	/* in the object's room, then allocated, then back in the room */
	assert_int_equal(baton_obj_set_string(o, "note", "short", 5), 0);
	assert_int_equal(baton_obj_get_string(o, "note", &s, &n), 0);
	assert_string_equal(s, "short");
	assert_int_equal(baton_obj_set_string(o, "note", long_note, 200), 0);
	assert_int_equal(baton_obj_get_string(o, "note", &s, &n), 0);
	assert_int_equal(n, 200);
	assert_string_equal(s, long_note);
	/* a value set from its own bytes, allocated and in the room */
	assert_int_equal(baton_obj_set_string(o, "note", s + 150, 50), 0);
	assert_int_equal(baton_obj_get_string(o, "note", &s, &n), 0);
	assert_int_equal(n, 50);
	assert_string_equal(s, long_note + 150);
	assert_int_equal(baton_obj_set_string(o, "note", s + 1, 10), 0);
	assert_int_equal(baton_obj_get_string(o, "note", &s, &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(s, long_note, 10);
	assert_int_equal(s[10], '\0');
	assert_int_equal(baton_obj_set_string(o, "note", "", 0), 0);
	assert_int_equal(baton_obj_get_string(o, "note", &s, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(s, "");

	/* arrays: 80 bytes do not fit, 6 do */
	assert_int_equal(baton_obj_set_array(o, "tags", tags, 40), 0);
	assert_int_equal(baton_obj_get_array(o, "tags", back, 40, &n), 0);
	assert_int_equal(n, 40);
	assert_memory_equal(back, tags, sizeof(tags));
	assert_int_equal(baton_obj_set_array(o, "tags", tags + 37, 3), 0);
	assert_int_equal(baton_obj_get_array(o, "tags", back, 40, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(back, tags + 37, 6);
	assert_int_equal(baton_obj_set_bytes(o, "blob", "abcdefgh", 8), 0);
	assert_int_equal(baton_obj_set_bytes(o, "blob", "ABCDEFGH", 8), 0);
	assert_int_equal(baton_obj_get_bytes(o, "blob", long_note, 8), 0);
	assert_memory_equal(long_note, "ABCDEFGH", 8);
	/* fields of the other kinds are untouched by all this */
	assert_int_equal(baton_obj_set_uint(o, "id", 77), 0);
	{
		uint64_t v;

		assert_int_equal(baton_obj_get_uint(o, "id", &v), 0);
		assert_int_equal(v, 77);
	}
	rt_obj_free(o);

	/* a key too long for an object is refused */
	{
		char key[BATON_KEY_MAX + 1];

		memset(key, 'k', BATON_KEY_MAX);
		key[BATON_KEY_MAX] = '\0';
		assert_null(rt_obj_new(rt, baton_catalog_find_schema(rt->cat, &c, 1), key, 0, &err));
		assert_int_equal(err, -ENAMETOOLONG);
	}
	baton_rt_free(rt);
}

static void test_many_objects_round_trip(void **state)
{
	struct baton_rt *old, *new;
	struct baton_image img;
	struct baton_diag d;
	char err[BATON_MESSAGE_MAX];
	const void *map = NULL;
	int sv[2], image_fd = -1, *fds = NULL, *in;
	size_t len = 0, nfds = 0, i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(&t, 0, sizeof(t));
	t.sock = sv[0];
	t.n = objects_for(3000);
	t.twice = -1;
	old = new_rt();
	new = new_rt();
	if (rt_update_save(old, &image_fd, &len, &fds, &nfds, err, sizeof(err)) < 0)
		fail_msg("save: %s", err);
	assert_int_equal(nfds, t.n);
	assert_int_equal(baton_tp_image_map(image_fd, len, &map, &d), 0);
	assert_int_equal(baton_image_open(&img, map, len, &d), 0);
	assert_int_equal(img.nobjects, t.n);

	/* the successor's own fds, as SCM_RIGHTS would give it */
	in = calloc(nfds, sizeof(*in));
	assert_non_null(in);
	for (i = 0; i < nfds; i++)
		in[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
	assert_int_equal(rt_restore_image(new, new->cat, &img, in, (uint32_t)nfds, -1, false),
			 (int)t.n);
	assert_int_equal(t.restored, t.n);
	assert_int_equal(t.bad, 0);
	for (i = 0; i < nfds; i++)
		assert_int_equal(in[i], -1);   /* every fd taken */

	free(in);
	free(fds);
	munmap((void *)map, len);
	close(image_fd);
	baton_rt_free(new);
	baton_rt_free(old);   /* frees the saved objects and their duplicates */
	close(sv[0]);
	close(sv[1]);
}

static void test_key_saved_twice_among_many(void **state)
{
	struct baton_rt *rt;
	char err[BATON_MESSAGE_MAX];
	int sv[2], image_fd = -1, *fds = NULL;
	size_t len = 0, nfds = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(&t, 0, sizeof(t));
	t.sock = sv[0];
	t.n = objects_for(3000);
	t.twice = (long)t.n / 2;
	rt = new_rt();
	err[0] = '\0';
	assert_int_equal(rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err)), -EEXIST);
	{
		char want[64];

		snprintf(want, sizeof(want), "\"conn/%ld\" was saved twice", t.twice);
		if (!strstr(err, want))
			fail_msg("expected \"%s\" in \"%s\"", want, err);
	}
	baton_rt_free(rt);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_inline_and_allocated),
		cmocka_unit_test(test_many_objects_round_trip),
		cmocka_unit_test(test_key_saved_twice_among_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
