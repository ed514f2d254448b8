/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests of the message codec (src/core/msg.c)
 *
 * Round trips of every message type, and every way a message can be
 * malformed: truncated header, wrong magic, version, type, reserved word,
 * payload length, item bounds, widths, strings with NUL or too long, items
 * in the wrong type, duplicates, missing required items, unknown tags.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/msg.h"

static uint8_t buf[BATON_MSG_MAX + 64];

static size_t hello(void)
{
	struct baton_msg_writer w;
	size_t len;

	assert_int_equal(baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_HELLO), 0);
	baton_msg_put_u32(&w, BATON_TAG_PID, 4242);
	baton_msg_put_str(&w, BATON_TAG_PROGRAM, "kvd");
	baton_msg_put_str(&w, BATON_TAG_RELEASE, "1.1.0");
	baton_msg_put(&w, BATON_TAG_BUILD_ID, "\x01\x02\x03", 3);
	assert_int_equal(baton_msg_end(&w, &len), 0);
	return len;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int parse(size_t len, struct baton_diag *d)
{
	struct baton_msg m;

	baton_diag_clear(d);
	return baton_msg_parse(&m, buf, len, d);
}

static void test_round_trip(void **state)
{
	struct baton_msg m;
	struct baton_diag d;
	char s[64];
	uint32_t pid;
	size_t len = hello();

	(void)state;
	assert_int_equal(baton_msg_parse(&m, buf, len, &d), 0);
	assert_int_equal(m.type, BATON_MSG_HELLO);
	assert_int_equal(baton_msg_get_u32(&m, BATON_TAG_PID, &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_PROGRAM, s, sizeof(s)), 0);
	assert_string_equal(s, "kvd");
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_RELEASE, s, 4), -ENAMETOOLONG);
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_REASON, s, sizeof(s)), -ENOENT);
	assert_string_equal(baton_msg_type_name(BATON_MSG_HELLO), "hello");
	assert_null(baton_msg_type_name(99));
}

static void test_lists_and_findings(void **state)
{
	struct baton_msg_writer w;
	struct baton_msg m;
	struct baton_msg_item it;
	struct baton_diag d;
	char s[64];
	uint16_t rule;
	size_t len, pos = 0;
	int32_t status;
	int n = 0;

	(void)state;
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_RESULT);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, -EPERM);
	baton_msg_put_str(&w, BATON_TAG_REASON, "one");
	baton_msg_put_str(&w, BATON_TAG_REASON, "two");
	baton_msg_put_finding(&w, 2, "downgrade: 1.1.0 to 1.0.0");
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(baton_msg_parse(&m, buf, len, &d), 0);
	assert_int_equal(baton_msg_get_i32(&m, BATON_TAG_STATUS, &status), 0);
	assert_int_equal(status, -EPERM);
	while (baton_msg_next(&m, &pos, &it) > 0) {
		if (it.tag == BATON_TAG_REASON)
			n++;
		if (it.tag == BATON_TAG_FINDING) {
			assert_int_equal(baton_msg_item_finding(&it, &rule, s, sizeof(s)), 0);
			assert_int_equal(rule, 2);
			assert_string_equal(s, "downgrade: 1.1.0 to 1.0.0");
		}
	}
	assert_int_equal(n, 2);
}

static void test_writer_limits(void **state)
{
	static char big[BATON_MSG_TEXT_MAX + 2];
	struct baton_msg_writer w;
	uint8_t small[8];
	size_t len;
	int i;

	(void)state;
	assert_int_equal(baton_msg_begin(&w, small, sizeof(small), BATON_MSG_STATUS), -ENOSPC);
	assert_int_equal(baton_msg_begin(&w, buf, sizeof(buf), 0), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_ABORT);
	assert_int_equal(baton_msg_put_str(&w, BATON_TAG_REASON, big), -ENAMETOOLONG);
	assert_int_equal(baton_msg_end(&w, &len), -ENAMETOOLONG);
	/* The writer never goes past 64 KiB, whatever the buffer. */
	big[BATON_MSG_TEXT_MAX] = '\0';
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_ABORT);
	for (i = 0; i < 20; i++)
		baton_msg_put_str(&w, BATON_TAG_REASON, big);
	assert_int_equal(w.err, -EMSGSIZE);
	assert_true(w.len <= BATON_MSG_MAX);
}

static void test_header_errors(void **state)
{
	struct baton_diag d;
	size_t len = hello();

	(void)state;
	assert_int_equal(parse(0, &d), -EBADMSG);
	assert_int_equal(parse(BATON_MSG_HDR_LEN - 1, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "truncated"));
	assert_int_equal(parse(BATON_MSG_MAX + 1, &d), -EMSGSIZE);

	buf[0] ^= 0xff;
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "magic"));
	buf[0] ^= 0xff;

	put16(buf + 4, 2);
	assert_int_equal(parse(len, &d), -EPROTONOSUPPORT);
	assert_non_null(strstr(d.msg, "version 2"));
	put16(buf + 4, BATON_MSG_VERSION);

	put16(buf + 6, 0);
	assert_int_equal(parse(len, &d), -EBADMSG);
	put16(buf + 6, 15);
	assert_int_equal(parse(len, &d), -EBADMSG);
	put16(buf + 6, 0xffff);
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "unknown message type"));
	put16(buf + 6, BATON_MSG_HELLO);

	put32(buf + 12, 1);
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "reserved"));
	put32(buf + 12, 0);

	/* payload length: larger than the limit, than what came, smaller */
	put32(buf + 8, BATON_MSG_MAX);
	assert_int_equal(parse(len, &d), -EMSGSIZE);
	put32(buf + 8, (uint32_t)(len - BATON_MSG_HDR_LEN + 1));
	assert_int_equal(parse(len, &d), -EBADMSG);
	put32(buf + 8, (uint32_t)(len - BATON_MSG_HDR_LEN - 1));
	assert_int_equal(parse(len, &d), -EBADMSG);
	put32(buf + 8, (uint32_t)(len - BATON_MSG_HDR_LEN));
	assert_int_equal(parse(len, &d), 0);
	/* a message cut anywhere is refused */
	for (size_t cut = 0; cut < len; cut++)
		assert_true(parse(cut, &d) < 0);
}

static void test_frame(void **state)
{
	struct baton_diag d;
	size_t need, len = hello();

	(void)state;
	assert_int_equal(baton_msg_frame(buf, 3, &need, &d), 0);
	assert_int_equal(need, 0);
	assert_int_equal(baton_msg_frame(buf, BATON_MSG_HDR_LEN, &need, &d), 0);
	assert_int_equal(need, len);
	buf[1] = 'X';
	assert_int_equal(baton_msg_frame(buf, BATON_MSG_HDR_LEN, &need, &d), -EBADMSG);
	hello();
	put32(buf + 8, 0x7fffffff);
	assert_int_equal(baton_msg_frame(buf, BATON_MSG_HDR_LEN, &need, &d), -EMSGSIZE);
}

/* Builds a raw message of type with one raw item. */
static size_t raw(uint16_t type, const uint8_t *items, size_t n)
{
	put32(buf, BATON_MSG_MAGIC);
	put16(buf + 4, BATON_MSG_VERSION);
	put16(buf + 6, type);
	put32(buf + 8, (uint32_t)n);
	put32(buf + 12, 0);
	memcpy(buf + BATON_MSG_HDR_LEN, items, n);
	return BATON_MSG_HDR_LEN + n;
}

static void test_item_errors(void **state)
{
	struct baton_diag d;
	uint8_t it[64];

	(void)state;
	/* truncated item header */
	memcpy(it, "\x00\x09\x00", 3);
	assert_int_equal(parse(raw(BATON_MSG_STATUS, it, 3), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "truncated item header"));
	/* item longer than the payload */
	memcpy(it, "\x00\x0b\x00\x10" "abc", 7);
	assert_int_equal(parse(raw(BATON_MSG_ABORT, it, 7), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "claims 16 bytes"));
	/* unknown tag, without and with the optional bit */
	memcpy(it, "\x00\x63\x00\x00", 4);
	assert_int_equal(parse(raw(BATON_MSG_STATUS, it, 4), &d), -EBADMSG);
	memcpy(it, "\x80\x63\x00\x01" "z", 5);
	assert_int_equal(parse(raw(BATON_MSG_STATUS, it, 5), &d), 0);
	/* an item that does not belong in the type */
	memcpy(it, "\x00\x01\x00\x04\x00\x00\x00\x01", 8);
	assert_int_equal(parse(raw(BATON_MSG_STATUS, it, 8), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "does not belong"));
	/* wrong widths */
	memcpy(it, "\x00\x08\x00\x03\x00\x00\x01" "\x00\x09\x00\x04\x00\x00\x00\x01", 15);
	assert_int_equal(parse(raw(BATON_MSG_FDS, it, 15), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "wrong width"));
	memcpy(it, "\x00\x14\x00\x04\x00\x00\x00\x01", 8);
	assert_int_equal(parse(raw(BATON_MSG_READY, it, 8), &d), -EBADMSG);
	/* duplicates of a single item, lists allowed */
	memcpy(it, "\x00\x14\x00\x08" "\0\0\0\0\0\0\0\1" "\x00\x14\x00\x08" "\0\0\0\0\0\0\0\1", 24);
	assert_int_equal(parse(raw(BATON_MSG_READY, it, 24), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "twice"));
	memcpy(it, "\x00\x0b\x00\x01" "a" "\x00\x0b\x00\x01" "b", 10);
	assert_int_equal(parse(raw(BATON_MSG_ABORT, it, 10), &d), 0);
	/* strings with a NUL */
	memcpy(it, "\x00\x0b\x00\x03" "a\0b", 7);
	assert_int_equal(parse(raw(BATON_MSG_ABORT, it, 7), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "NUL"));
	/* findings too short */
	memcpy(it, "\x00\x10\x00\x04\0\0\0\0" "\x00\x0c\x00\x01" "x", 13);
	assert_int_equal(parse(raw(BATON_MSG_REFUSE, it, 13), &d), -EBADMSG);
	/* missing required items */
	assert_int_equal(parse(raw(BATON_MSG_READY, it, 0), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "restore-ns"));
	/* bool and status out of range, unknown transport */
	memcpy(it, "\x00\x06\x00\x08" "\0\0\0\0\0\0\0\1" "\x00\x07\x00\x04\0\0\0\1"
	       "\x00\x0a\x00\x04\0\0\0\2", 28);
	assert_int_equal(parse(raw(BATON_MSG_IMAGE, it, 28), &d), -EBADMSG);
	memcpy(it, "\x00\x10\x00\x04\0\0\0\1", 8);
	assert_int_equal(parse(raw(BATON_MSG_RESULT, it, 8), &d), -EBADMSG);
	memcpy(it, "\x00\x02\x00\x01" "p" "\x00\x0e\x00\x04\0\0\0\7", 13);
	assert_int_equal(parse(raw(BATON_MSG_UPGRADE, it, 13), &d), -EBADMSG);
	/* build ids are bounded */
	{
		uint8_t hb[64];

		memcpy(hb, "\x00\x01\x00\x04\0\0\0\1" "\x00\x02\x00\x01" "p" "\x00\x03\x00\x05" "1.0.0"
		       "\x00\x04\x00\x21", 26);
		memset(hb + 26, 7, 33);
		assert_int_equal(parse(raw(BATON_MSG_HELLO, hb, 59), &d), -EBADMSG);
		assert_non_null(strstr(d.msg, "build-id"));
	}
}

static void test_text_limit(void **state)
{
	static uint8_t it[BATON_MSG_TEXT_MAX + 16];
	struct baton_diag d;

	(void)state;
	put16(it, BATON_TAG_REASON);
	put16(it + 2, BATON_MSG_TEXT_MAX + 1);
	memset(it + 4, 'a', BATON_MSG_TEXT_MAX + 1);
	assert_int_equal(parse(raw(BATON_MSG_ABORT, it, BATON_MSG_TEXT_MAX + 5), &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "at most"));
	put16(it + 2, BATON_MSG_TEXT_MAX);
	assert_int_equal(parse(raw(BATON_MSG_ABORT, it, BATON_MSG_TEXT_MAX + 4), &d), 0);
}

/* The golden image request and its answer (control socket). */
static void test_save_messages(void **state)
{
	struct baton_msg_writer w;
	struct baton_msg_item it;
	struct baton_msg m;
	struct baton_diag d;
	char s[64];
	uint64_t v;
	size_t len, pos = 0;
	int files = 0;

	(void)state;
	assert_string_equal(baton_msg_type_name(BATON_MSG_SAVE), "save");
	assert_string_equal(baton_msg_type_name(BATON_MSG_SAVE_RESULT), "save-result");
	/* the path is required */
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_SAVE);
	baton_msg_put_u32(&w, BATON_TAG_FORCE, 1);
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "required item path"));
	/* force is a flag: 0 or 1 */
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_SAVE);
	baton_msg_put_str(&w, BATON_TAG_PATH, "/tmp/kvd.image");
	baton_msg_put_u32(&w, BATON_TAG_FORCE, 2);
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "not 0 or 1"));
	/* nothing else belongs in it */
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_SAVE);
	baton_msg_put_str(&w, BATON_TAG_PATH, "/tmp/kvd.image");
	baton_msg_put_str(&w, BATON_TAG_PROGRAM, "/bin/sh");
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "does not belong"));
	/* the answer: a list of files, the totals */
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_SAVE_RESULT);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, 0);
	baton_msg_put_str(&w, BATON_TAG_PATH, "/tmp/kvd.image");
	baton_msg_put_str(&w, BATON_TAG_FILE, "4096 /tmp/kvd.image");
	baton_msg_put_str(&w, BATON_TAG_FILE, "300000 /tmp/kvd.image.region.0");
	baton_msg_put_u32(&w, BATON_TAG_REGIONS, 1);
	baton_msg_put_u64(&w, BATON_TAG_REGION_BYTES, 299000);
	baton_msg_put_u64(&w, BATON_TAG_DURATION_NS, 1234);
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(baton_msg_parse(&m, buf, len, &d), 0);
	while (baton_msg_next(&m, &pos, &it) > 0)
		if (it.tag == BATON_TAG_FILE)
			files++;
	assert_int_equal(files, 2);
	assert_int_equal(baton_msg_get_u64(&m, BATON_TAG_REGION_BYTES, &v), 0);
	assert_int_equal(v, 299000);
	assert_int_equal(baton_msg_get_str(&m, BATON_TAG_PATH, s, sizeof(s)), 0);
	assert_string_equal(s, "/tmp/kvd.image");
	/* a path is not a list */
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_SAVE_RESULT);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, -17);
	baton_msg_put_str(&w, BATON_TAG_PATH, "/a");
	baton_msg_put_str(&w, BATON_TAG_PATH, "/b");
	assert_int_equal(baton_msg_end(&w, &len), 0);
	assert_int_equal(parse(len, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "appears twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_lists_and_findings),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_item_errors),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_save_messages),
	};

	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
