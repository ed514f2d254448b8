/* SPDX-License-Identifier: MIT */
/*
 * DOC: image codec unit tests — every check of libfdt's fdt_check_full()
 *
 * baton_image_open() used to call libfdt's fdt_check_full() after its own
 * walk of the tree, and no longer does: its own checks cover everything
 * fdt_check_full() checks. This file is the evidence, check by check. For
 * each check that fdt_check_full() (libfdt 1.6.1, with the fdt_check_header()
 * it calls) makes, a crafted image that it refuses for that reason; each
 * test asserts that libfdt refuses it, with the error that names the check,
 * and that the reader refuses it too, with its own words. The list and the
 * numbers follow docs/image-format.md §5, which says where each check lives
 * now. A last group asserts the implication on many random mutations: the
 * reader accepts an image only if fdt_check_full() does.
 *
 * libfdt is run in a child process with an alarm, because for some hostile
 * lengths fdt_check_full() never returns (libfdt 1.6.1's fdt_next_tag() adds
 * a property's length to its offset without an overflow check).
 *
 * Images are crafted from the sample by editing its bytes, inserting 32-bit
 * words into the structure block, or growing the strings block, and are
 * sealed again with the checksum computed here from the rule of
 * docs/image-format.md, so that each reaches the check it is about.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <libfdt.h>

#include "sample.h"

#define BUF_SIZE (64 * 1024)

static uint64_t sample[BUF_SIZE / 8];
static size_t sample_len;
static uint64_t work[BUF_SIZE / 8 + 1];

/* fdt_check_full() did not return within the alarm. */
#define LIBFDT_HANGS 1

static int setup(void **state)
{
	(void)state;
	return sample_write(sample, sizeof(sample), &sample_len);
}

/* fdt_check_full(buf, len), in a child: its return, or LIBFDT_HANGS. */
static int libfdt_verdict(const void *buf, size_t len)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;

		alarm(2);
		rc = fdt_check_full(buf, len);
		_exit(rc < 0 ? -rc : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		return LIBFDT_HANGS;
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static uint8_t *w8(void)
{
	return (uint8_t *)work;
}

static uint32_t get32(size_t off)
{
	return baton_decode_u32(w8() + off);
}

static void put32(size_t off, uint32_t v)
{
	baton_encode_u32(w8() + off, v);
}

/* The sample, in work; returns its length. */
static size_t fresh(void)
{
	memcpy(work, sample, sample_len);
	return sample_len;
}

/* Seals work as a writer would: XXH3-128 at the root's first property. */
static void reseal(size_t len)
{
	XXH128_canonical_t canon;
	size_t pos = fdt_off_dt_struct(work) + 20;

	memset(w8() + pos, 0, 16);
	XXH128_canonicalFromHash(&canon, XXH3_128bits(work, len));
	memcpy(w8() + pos, canon.digest, 16);
}

/*
 * Inserts n words at off (an offset in the structure block) of the image in
 * work of *len bytes: what follows moves up, the block and the image grow.
 * Name offsets are relative to the strings block and stay valid.
 */
static void insert_words(size_t *len, size_t off, const uint32_t *words, size_t n)
{
	size_t at = fdt_off_dt_struct(work) + off, k;

	assert_true(*len + 4 * n <= BUF_SIZE);
	memmove(w8() + at + 4 * n, w8() + at, *len - at);
	for (k = 0; k < n; k++)
		put32(at + 4 * k, words[k]);
	fdt_set_size_dt_struct(work, fdt_size_dt_struct(work) + (uint32_t)(4 * n));
	fdt_set_off_dt_strings(work, fdt_off_dt_strings(work) + (uint32_t)(4 * n));
	*len += 4 * n;
	fdt_set_totalsize(work, (uint32_t)*len);
}

/* Offset in the image of a property's FDT_PROP tag, found with libfdt on the intact sample. */
static size_t prop_tag(const char *path, const char *name)
{
	int node = fdt_path_offset(sample, path), len;
	const struct fdt_property *prop;

	assert_true(node >= 0);
	prop = fdt_get_property(sample, node, name, &len);
	assert_non_null(prop);
	return (size_t)((const uint8_t *)prop - (const uint8_t *)sample);
}

/* Offset of the final FDT_END in the structure block (from the block's start). */
static size_t end_tag(void)
{
	return fdt_size_dt_struct(work) - 4;
}

/*
 * The assertion of every case: libfdt refuses (with fdt_err, or by never
 * returning), and so does the reader, with code and words that contain
 * needle.
 */
static void both_refuse(const void *buf, size_t len, int fdt_err, int code, const char *needle)
{
	struct baton_diag d = { 0 };
	struct baton_image img;
	int v = libfdt_verdict(buf, len), rc;

	if (v != fdt_err) {
		print_error("fdt_check_full: %d (%s), expected %d (%s)\n", v,
			    v == LIBFDT_HANGS ? "does not return" : fdt_strerror(v), fdt_err,
			    fdt_err == LIBFDT_HANGS ? "does not return" : fdt_strerror(fdt_err));
		fail();
	}
	rc = baton_image_open(&img, buf, len, &d);
	if (rc != code || d.code != code || !strstr(d.msg, needle)) {
		print_error("baton_image_open: %d \"%s\"\n  expected %d with \"%s\"\n", rc, d.msg, code,
			    needle);
		fail();
	}
	assert_null(img.fdt);
}

/* Baton's own rules, beyond libfdt's: libfdt accepts, the reader refuses. */
static void only_baton_refuses(const void *buf, size_t len, const char *needle)
{
	struct baton_diag d = { 0 };
	struct baton_image img;
	int rc;

	assert_int_equal(libfdt_verdict(buf, len), 0);
	rc = baton_image_open(&img, buf, len, &d);
	if (rc != -EBADMSG || !strstr(d.msg, needle)) {
		print_error("baton_image_open: %d \"%s\"\n  expected -EBADMSG with \"%s\"\n", rc, d.msg,
			    needle);
		fail();
	}
}

static void test_sample_passes_both(void **state)
{
	struct baton_diag d = { 0 };
	struct baton_image img;

	(void)state;
	fresh();
	assert_int_equal(libfdt_verdict(work, sample_len), 0);
	assert_int_equal(baton_image_open(&img, work, sample_len, &d), 0);
	/* and the crafting tools keep a valid image valid */
	{
		static const uint32_t nop[] = { FDT_NOP };
		size_t len = fresh();

		insert_words(&len, end_tag(), nop, 0);
		reseal(len);
		assert_int_equal(baton_image_open(&img, work, len, &d), 0);
	}
}

/* ------------------------------------------------------------------------ */
/* fdt_check_full(), before its walk                                        */

/* F1, F2, F3: the buffer against the header's size and totalsize. */
static void test_full_buffer_size(void **state)
{
	(void)state;
	fresh();
	/* F1: bufsize < FDT_V1_SIZE (28) */
	both_refuse(work, 20, -FDT_ERR_TRUNCATED, -EBADMSG, "truncated: 20 bytes, less than a DTB header");
	/* F2: bufsize < fdt_header_size() (40 for version 17) */
	both_refuse(work, 39, -FDT_ERR_TRUNCATED, -EBADMSG, "truncated: 39 bytes, less than a DTB header");
	/* F3: bufsize < totalsize */
	both_refuse(work, sample_len - 1, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "truncated: its header says 2023 bytes, 2022 are here");
}

/* F4: fdt_num_mem_rsv(): the map's terminating entry (size 0) lies within the image. */
static void test_full_rsvmap_terminated(void **state)
{
	size_t len;

	(void)state;
	/* the map moved to the last 8-byte boundary that holds one entry: strings, not zeros */
	len = fresh();
	fdt_set_off_mem_rsvmap(work, (uint32_t)((len - 16) & ~(size_t)7));
	assert_true(baton_decode_u64(w8() + fdt_off_mem_rsvmap(work) + 8) != 0);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_TRUNCATED, -EBADMSG, "image has memory reservations");
	/* the map too close to the end for even its terminating entry */
	len = fresh();
	fdt_set_off_mem_rsvmap(work, (uint32_t)((len - 8) & ~(size_t)7));
	reseal(len);
	both_refuse(work, len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "the memory reservation map at offset 2008 does not lie between the 40-byte header and the end of the image (2023 bytes) with room for its 16-byte terminating entry");
}

/* ------------------------------------------------------------------------ */
/* fdt_check_header(), called by fdt_check_full()                           */

/* H1: the magic. */
static void test_header_magic(void **state)
{
	(void)state;
	fresh();
	put32(0, 0xd00dfeee);
	both_refuse(work, sample_len, -FDT_ERR_BADMAGIC, -EBADMSG, "not a device tree blob: magic 0xd00dfeee");
}

/* H2, H3, H4: version >= 2, last compatible version <= 17, version >= last compatible. */
static void test_header_versions(void **state)
{
	(void)state;
	fresh();
	put32(20, 1);
	put32(24, 1);
	both_refuse(work, sample_len, -FDT_ERR_BADVERSION, -EPROTONOSUPPORT, "image is DTB version 1 (compatible with 1)");
	fresh();
	put32(24, 18);
	both_refuse(work, sample_len, -FDT_ERR_BADVERSION, -EPROTONOSUPPORT, "image is DTB version 17 (compatible with 18)");
	fresh();
	put32(20, 16);
	put32(24, 17);
	both_refuse(work, sample_len, -FDT_ERR_BADVERSION, -EPROTONOSUPPORT, "image is DTB version 16 (compatible with 17)");
}

/* H5, H6: header size <= totalsize <= INT_MAX. */
static void test_header_totalsize(void **state)
{
	(void)state;
	fresh();
	put32(4, 36);
	both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG, "has 1987 bytes after its end");
	fresh();
	put32(4, 0x80000000u);
	both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "truncated: its header says 2147483648 bytes, 2023 are here");
	/* the header's own size with a buffer of that size */
	fresh();
	put32(4, 39);
	both_refuse(work, 39, -FDT_ERR_TRUNCATED, -EBADMSG, "less than a DTB header");
}

/* H7: the memory reservation map starts after the header and within the image. */
static void test_header_rsvmap_offset(void **state)
{
	(void)state;
	fresh();
	fdt_set_off_mem_rsvmap(work, 32);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "the memory reservation map at offset 32 does not lie between the 40-byte header");
	fresh();
	fdt_set_off_mem_rsvmap(work, 4096);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "the memory reservation map at offset 4096 does not lie");
	fresh();
	fdt_set_off_mem_rsvmap(work, 0xfffffff8u);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "the memory reservation map at offset 4294967288 does not lie");
}

/*
 * H8, H9: the structure block and the strings block each start after the
 * header, end within the image, and their offset plus size does not wrap.
 */
static void test_header_blocks(void **state)
{
	static const struct {
		size_t field;       /* offset of the block's offset, and of its size */
		size_t size_field;
		const char *name;
	} blocks[] = {
		{ 8, 36, "the structure block" },
		{ 12, 32, "the strings block" },
	};
	unsigned int i;
	char want[160];

	(void)state;
	for (i = 0; i < 2; i++) {
		uint32_t off, size;

		/* starts inside the header */
		fresh();
		put32(blocks[i].field, 32);
		snprintf(want, sizeof(want), "image header is inconsistent: %s (%u bytes at offset 32)",
			 blocks[i].name, get32(blocks[i].size_field));
		both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG, want);
		/* starts after the end */
		fresh();
		put32(blocks[i].field, 2024);
		snprintf(want, sizeof(want), "%s (%u bytes at offset 2024) does not lie", blocks[i].name,
			 get32(blocks[i].size_field));
		both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG, want);
		/* ends after the end */
		fresh();
		off = get32(blocks[i].field);
		size = (uint32_t)sample_len - off + 4;
		put32(blocks[i].size_field, size);
		snprintf(want, sizeof(want), "%s (%u bytes at offset %u) does not lie", blocks[i].name,
			 size, off);
		both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG, want);
		/* offset plus size wraps */
		fresh();
		put32(blocks[i].size_field, 0xffffffffu - off + 8);
		snprintf(want, sizeof(want), "%s (%u bytes at offset %u) does not lie", blocks[i].name,
			 0xffffffffu - off + 8, off);
		both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG, want);
	}
}

/* ------------------------------------------------------------------------ */
/* fdt_check_full()'s walk: fdt_next_tag()                                  */

/* W1: a tag past the end of the block (the block ends without FDT_END). */
static void test_walk_premature_end(void **state)
{
	(void)state;
	fresh();
	put32(36, get32(36) - 4);   /* the block no longer holds its FDT_END */
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "the structure block ends without FDT_END");
}

/* W2: a node name whose NUL is not inside the block. */
static void test_walk_node_name(void **state)
{
	size_t st, end;

	(void)state;
	fresh();
	st = fdt_off_dt_struct(work);
	end = st + fdt_size_dt_struct(work);
	memset(w8() + end - 40, 'x', 40);
	put32(end - 44, FDT_BEGIN_NODE);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADSTRUCTURE, -EBADMSG,
		    "the node name at structure offset 1640 runs past the block");
}

/* W3: a property whose length word is not inside the block. */
static void test_walk_prop_header(void **state)
{
	(void)state;
	fresh();
	put32(fdt_off_dt_struct(work) + end_tag(), FDT_PROP);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADSTRUCTURE, -EBADMSG,
		    "the property at structure offset 1680 runs past the block");
}

/* W4: a property whose value runs past the block, and one whose length wraps. */
static void test_walk_prop_value(void **state)
{
	size_t key = prop_tag("/objects/object@1", "key");

	(void)state;
	fresh();
	put32(key + 4, 0x1000);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADSTRUCTURE, -EBADMSG,
		    "says it is 4096 bytes, past the end of the block");
	fresh();
	put32(key + 4, 0x7fffffff);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADSTRUCTURE, -EBADMSG,
		    "says it is 2147483647 bytes, past the end of the block");
	/* the seed regress-prop-len-wraps.img: libfdt steps back onto the same tag */
	fresh();
	put32(key + 4, 0xfffffff4u);
	reseal(sample_len);
	both_refuse(work, sample_len, LIBFDT_HANGS, -EBADMSG,
		    "says it is 4294967284 bytes, past the end of the block");
}

/* W5: a tag libfdt does not know. */
static void test_walk_unknown_tag(void **state)
{
	(void)state;
	fresh();
	put32(prop_tag("/objects/object@1", "key"), 0x77);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADSTRUCTURE, -EBADMSG,
		    "unknown tag 0x77 at structure offset");
}

/* ------------------------------------------------------------------------ */
/* fdt_check_full()'s tree checks                                           */

/* T1: after the root's FDT_END_NODE, only FDT_END (no second root, no NOP, no property). */
static void test_tree_end_after_root(void **state)
{
	static const uint32_t second_root[] = { FDT_BEGIN_NODE, 0, FDT_END_NODE };
	static const uint32_t nop[] = { FDT_NOP };
	static const uint32_t end_node[] = { FDT_END_NODE };
	uint32_t prop[3] = { FDT_PROP, 0, 0 };
	size_t len;

	(void)state;
	len = fresh();
	insert_words(&len, end_tag(), second_root, 3);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_BADSTRUCTURE, -EBADMSG, "image has a second root node at structure offset");
	len = fresh();
	insert_words(&len, end_tag(), nop, 1);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_BADSTRUCTURE, -EBADMSG, "image has FDT_NOP at structure offset");
	len = fresh();
	prop[2] = get32(prop_tag("/", "compatible") + 8);
	insert_words(&len, end_tag(), prop, 3);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_BADSTRUCTURE, -EBADMSG, "image has a property outside the root node");
	len = fresh();
	insert_words(&len, end_tag(), end_node, 1);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_BADSTRUCTURE, -EBADMSG, "FDT_END_NODE outside any node");
}

/* T2: FDT_END only at depth 0. */
static void test_tree_end_inside_node(void **state)
{
	static const uint32_t end[] = { FDT_END };
	size_t len;

	(void)state;
	len = fresh();
	insert_words(&len, prop_tag("/objects/object@1", "key") - fdt_off_dt_struct(sample), end, 1);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_BADSTRUCTURE, -EBADMSG, "FDT_END inside a node at structure offset");
}

/* T3: no FDT_END_NODE at depth 0: one END_NODE too many, before the root's own. */
static void test_tree_end_node_unbalanced(void **state)
{
	static const uint32_t end_node[] = { FDT_END_NODE };
	size_t len;

	(void)state;
	len = fresh();
	insert_words(&len, end_tag() - 4, end_node, 1);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_BADSTRUCTURE, -EBADMSG, "FDT_END_NODE outside any node");
}

/* T4: the root node's name is empty. */
static void test_tree_root_name(void **state)
{
	(void)state;
	fresh();
	w8()[fdt_off_dt_struct(work) + 4] = 'x';   /* "x", padded to the same 4 bytes */
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADSTRUCTURE, -EBADMSG,
		    "the structure block does not open with the root node");
}

/*
 * T5: depth within INT_MAX. An image of at most 64 MiB cannot nest 2^31
 * nodes; the reader's own limit, 11 levels, is far below (test_image_hostile
 * test_raw_too_deep), and libfdt accepts what only that limit refuses.
 */
static void test_tree_depth(void **state)
{
	enum { N = 9 };   /* below the last object's fields (level 3): levels 4 to 12 */
	uint32_t words[3 * N];
	size_t len, at, k;

	(void)state;
	for (k = 0; k < N; k++) {
		words[2 * k] = FDT_BEGIN_NODE;
		words[2 * k + 1] = 0x6e000000;   /* "n" and its padding */
		words[2 * N + k] = FDT_END_NODE;
	}
	len = fresh();
	/* the block ends with the END_NODEs of fields, the object, /objects and the root, then FDT_END */
	at = end_tag() - 16;
	assert_int_equal(get32(fdt_off_dt_struct(work) + at), FDT_END_NODE);
	assert_memory_equal(w8() + fdt_off_dt_struct(work) + at - 8, "fields\0", 7);
	insert_words(&len, at, words, 3 * N);
	reseal(len);
	only_baton_refuses(work, len, "image nests nodes deeper than 11 levels");
}

/* ------------------------------------------------------------------------ */
/* fdt_check_full()'s property check: fdt_getprop_by_offset(), fdt_get_string() */

/* P1: a property's name offset lies in the strings block (as an int: not negative). */
static void test_prop_name_offset(void **state)
{
	size_t compat = prop_tag("/", "compatible");
	uint32_t strsize = fdt_size_dt_strings(sample);
	char want[160];

	(void)state;
	fresh();
	put32(compat + 8, strsize);
	reseal(sample_len);
	snprintf(want, sizeof(want), "is at offset %u of the strings block (%u bytes), outside it", strsize, strsize);
	both_refuse(work, sample_len, -FDT_ERR_BADOFFSET, -EBADMSG, want);
	fresh();
	put32(compat + 8, 0x7fffff00);
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADOFFSET, -EBADMSG, "is at offset 2147483392 of the strings block");
	fresh();
	put32(compat + 8, 0xffffff00u);   /* negative as libfdt's int */
	reseal(sample_len);
	both_refuse(work, sample_len, -FDT_ERR_BADOFFSET, -EBADMSG, "is at offset 4294967040 of the strings block");
}

/* P2: a property's name is NUL-terminated inside the strings block. */
static void test_prop_name_terminated(void **state)
{
	size_t compat = prop_tag("/", "compatible"), len;
	uint32_t strsize;

	(void)state;
	/* four bytes without a NUL at the end of the strings block, and a name that starts there */
	len = fresh();
	strsize = fdt_size_dt_strings(work);
	memcpy(w8() + len, "abcd", 4);
	len += 4;
	fdt_set_totalsize(work, (uint32_t)len);
	fdt_set_size_dt_strings(work, strsize + 4);
	put32(compat + 8, strsize);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "where no NUL ends a string before the block does");
	/* the same block, the name in the middle of those bytes */
	put32(compat + 8, strsize + 2);
	reseal(len);
	both_refuse(work, len, -FDT_ERR_TRUNCATED, -EBADMSG,
		    "where no NUL ends a string before the block does");
}

/* A1: the buffer is 8-byte aligned (fdt_ro_probe_(), on the way to a property's name). */
static void test_buffer_alignment(void **state)
{
	uint8_t *p = w8() + 4;
	struct baton_diag d = { 0 };
	struct baton_image img;

	(void)state;
	memcpy(p, sample, sample_len);
	assert_int_equal(libfdt_verdict(p, sample_len), -FDT_ERR_ALIGNMENT);
	assert_int_equal(baton_image_open(&img, p, sample_len, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "the buffer is not 8-byte aligned"));
}

/* ------------------------------------------------------------------------ */
/* Stricter than libfdt, for the record                                     */

static void test_baton_only(void **state)
{
	size_t len;

	(void)state;
	/* a memory reservation, and a terminating entry with an address */
	len = fresh();
	baton_encode_u64(w8() + fdt_off_mem_rsvmap(work), 0x1000);
	reseal(len);
	only_baton_refuses(work, len, "image has memory reservations (the first entry of its map is address 0x1000, size 0x0");
	/* the map at an offset that is not a multiple of 8, its entry still zeros */
	len = fresh();
	fdt_set_off_mem_rsvmap(work, 44);
	reseal(len);
	only_baton_refuses(work, len, "the memory reservation map starts at offset 44, not at an 8-byte boundary");
	/* the structure block at an offset that is not a multiple of 4 (x86 reads it unaligned) */
	len = fresh();
	memmove(w8() + 66, w8() + 64, len - 64);
	len += 2;
	fdt_set_totalsize(work, (uint32_t)len);
	fdt_set_off_dt_struct(work, 66);
	fdt_set_off_dt_strings(work, fdt_off_dt_strings(work) + 2);
	reseal(len);
	only_baton_refuses(work, len, "the structure block starts at offset 66, not at a 4-byte boundary");
	/* data after FDT_END, inside the block */
	{
		static const uint32_t nop[] = { FDT_NOP };

		len = fresh();
		insert_words(&len, end_tag() + 4, nop, 1);
		reseal(len);
		only_baton_refuses(work, len, "image has data after FDT_END");
	}
}

/* ------------------------------------------------------------------------ */
/* The implication, on many mutations                                       */

static uint32_t rnd_state = 20240601;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* A value that tends to hit a boundary of something. */
static uint32_t edgy(uint32_t old)
{
	uint32_t strsize = fdt_size_dt_strings(sample), ssize = fdt_size_dt_struct(sample);

	switch (rnd() % 10) {
	case 0: return rnd();
	case 1: return rnd() % 16;                       /* tags and small lengths */
	case 2: return 0xffffffffu - rnd() % 16;         /* wrapping lengths and offsets */
	case 3: return strsize - 4 + rnd() % 8;          /* around the strings block's end */
	case 4: return ssize - 8 + rnd() % 16;           /* around the structure block's end */
	case 5: return old + rnd() % 8 - 4;
	case 6: return old ^ (1u << (rnd() % 32));
	case 7: return (uint32_t)sample_len - 8 + rnd() % 16;
	case 8: return 0x80000000u + rnd() % 8;
	default: return old + 4 * (rnd() % 5) - 8;
	}
}

/*
 * Whatever the reader accepts, fdt_check_full() accepts: up to three words
 * of the header or the structure block changed (tags, lengths, name
 * offsets, block offsets and sizes are all words there), or bytes of the
 * strings block, sealed again. fdt_check_full() runs only on what the
 * reader accepted: on the rest it could loop.
 */
static void test_accepted_implies_libfdt_accepts(void **state)
{
	unsigned int i, accepted = 0, refused = 0;
	size_t st = fdt_off_dt_struct(sample), ssize = fdt_size_dt_struct(sample);
	size_t str = fdt_off_dt_strings(sample), strsize = fdt_size_dt_strings(sample);

	(void)state;
	for (i = 0; i < 60000; i++) {
		struct baton_diag d = { 0 };
		struct baton_image img;
		unsigned int n = 1 + rnd() % 3, k;
		int rc;

		fresh();
		for (k = 0; k < n; k++) {
			size_t off;

			switch (rnd() % 4) {
			case 0:   /* a header word, but not the magic */
				off = 4 + 4 * (rnd() % 9);
				break;
			case 1:   /* the strings block */
				off = str + rnd() % strsize;
				w8()[off] = (uint8_t)(rnd() % 3 ? 0 : rnd());
				continue;
			default:  /* a word of the structure block, not the checksum's value */
				do
					off = st + 4 * (rnd() % (ssize / 4));
				while (off >= st + 20 && off < st + 36);
				break;
			}
			put32(off, edgy(get32(off)));
		}
		if (fdt_off_dt_struct(work) <= sample_len - 36 && fdt_off_dt_struct(work) >= 40)
			reseal(sample_len);
		rc = baton_image_open(&img, work, sample_len, &d);
		if (rc < 0) {
			assert_true(rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -E2BIG);
			assert_true(d.msg[0] != '\0');
			refused++;
			continue;
		}
		accepted++;
		rc = fdt_check_full(work, sample_len);
		if (rc != 0) {
			print_error("mutation %u: the reader accepts, fdt_check_full says %s\n", i,
				    fdt_strerror(rc));
			fail();
		}
	}
	print_message("%u mutations accepted by both, %u refused by the reader\n", accepted, refused);
	assert_true(accepted > 0 && refused > accepted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_passes_both),
		cmocka_unit_test(test_full_buffer_size),
		cmocka_unit_test(test_full_rsvmap_terminated),
		cmocka_unit_test(test_header_magic),
		cmocka_unit_test(test_header_versions),
		cmocka_unit_test(test_header_totalsize),
		cmocka_unit_test(test_header_rsvmap_offset),
		cmocka_unit_test(test_header_blocks),
		cmocka_unit_test(test_walk_premature_end),
		cmocka_unit_test(test_walk_node_name),
		cmocka_unit_test(test_walk_prop_header),
		cmocka_unit_test(test_walk_prop_value),
		cmocka_unit_test(test_walk_unknown_tag),
		cmocka_unit_test(test_tree_end_after_root),
		cmocka_unit_test(test_tree_end_inside_node),
		cmocka_unit_test(test_tree_end_node_unbalanced),
		cmocka_unit_test(test_tree_root_name),
		cmocka_unit_test(test_tree_depth),
		cmocka_unit_test(test_prop_name_offset),
		cmocka_unit_test(test_prop_name_terminated),
		cmocka_unit_test(test_buffer_alignment),
		cmocka_unit_test(test_baton_only),
		cmocka_unit_test(test_accepted_implies_libfdt_accepts),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
