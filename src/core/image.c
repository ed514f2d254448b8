/* SPDX-License-Identifier: MIT */
/*
 * DOC: core image codec — the handover document, written and read
 *
 * An image is a flattened device tree written in one pass with libfdt's
 * sequential-write API into a caller's buffer, and read back from a buffer
 * that came from another process and is treated as hostile.
 * docs/image-format.md is the specification; this file is its
 * implementation and the two must say the same thing.
 *
 * The writer keeps the order the tree needs (the fd and region tables, then
 * the objects; in every node the values before the nested nodes) in a small
 * state machine and refuses calls out of order. It seals the image with the
 * checksum, the root node's first property, once the tree is closed. It
 * writes properties whose names it has seen, and closes the tree, itself,
 * exactly as libfdt would (see wprop_once and wfinish_once): libfdt's own
 * name lookup and finishing walk cost more than the rest of writing an
 * object.
 *
 * The reader checks the header's blocks against the image, locates the
 * checksum at its fixed place and verifies it, then walks every tag, length
 * and property name itself, checking the shape of the tree (one root, no
 * NOPs, properties before subnodes, bounded depth) in the same walk: that
 * walk covers everything libfdt's fdt_check_full() checks, which the
 * reader therefore does not call (it cost a third of reading an image,
 * and libfdt 1.6.1 can loop on a hostile length). Then it checks every
 * node and property this format names, with exact lengths, and refuses
 * anything it does not name, stepping through the tree itself, each node
 * once, every step still bounded (see "Reading: stepping through the
 * tree"). Field values are
 * checked separately against the reader's schema, because only the reader
 * knows which schema applies. An image holds thousands of objects (one per
 * connection of a server), so nothing here is done per object that could be
 * done once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <baton/image.h>

#include "internal.h"

#define CHECKSUM_LEN 16
/* From the structure block: the root's FDT_BEGIN_NODE and empty name, then
 * the checksum's FDT_PROP, length and name offset, then its value. */
#define CHECKSUM_TAG_OFF 8
#define CHECKSUM_VALUE_OFF 20
#define DTB_VERSION 17
#define DTB_LAST_COMP_VERSION 16
#define DTB_HEADER_SIZE 40      /* the header of version 17: struct fdt_header */
#define RSV_ENTRY_SIZE 16       /* a memory reservation: address and size, u64 each */
/* Depths below the root: tables and /objects 1, entries and objects 2,
 * fields 3, then the nested fields. */
#define FIELDS_DEPTH 3
#define MAX_DEPTH (FIELDS_DEPTH + BATON_MAX_NESTING)
#define LABEL_MAX BATON_NAME_MAX
/* Items of the structure block start at 4-byte boundaries. */
#define TAG_ALIGN(x) (((x) + 3u) & ~(size_t)3)

static const char checksum_name[] = "checksum";

/* ------------------------------------------------------------------------ */
/* Encodings                                                                */

/*
 * Big-endian words, for this file's own use: no call through the library's
 * PLT on the image's hot paths. The public baton_encode/decode_* use them.
 */
static inline uint32_t be32(const uint8_t *in)
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

static inline void put_be32(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

void baton_encode_u16(uint8_t out[2], uint16_t v)
{
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
}

void baton_encode_u32(uint8_t out[4], uint32_t v)
{
	put_be32(out, v);
}

void baton_encode_u64(uint8_t out[8], uint64_t v)
{
	put_be32(out, (uint32_t)(v >> 32));
	put_be32(out + 4, (uint32_t)v);
}

uint16_t baton_decode_u16(const uint8_t in[2])
{
	return (uint16_t)(in[0] << 8 | in[1]);
}

uint32_t baton_decode_u32(const uint8_t in[4])
{
	return be32(in);
}

uint64_t baton_decode_u64(const uint8_t in[8])
{
	return (uint64_t)be32(in) << 32 | be32(in + 4);
}

size_t baton_encode_scalar(uint32_t type, uint64_t value, uint8_t out[8])
{
	switch (type) {
	case BATON_T_BOOL:
		/* Not truncated: 2 would be a bool that no reader accepts. */
		out[0] = value != 0;
		return 1;
	case BATON_T_U8:
	case BATON_T_I8:
		out[0] = (uint8_t)value;
		return 1;
	case BATON_T_U16:
	case BATON_T_I16:
		baton_encode_u16(out, (uint16_t)value);
		return 2;
	case BATON_T_U32:
	case BATON_T_I32:
		baton_encode_u32(out, (uint32_t)value);
		return 4;
	case BATON_T_U64:
	case BATON_T_I64:
		baton_encode_u64(out, value);
		return 8;
	default:
		return 0;
	}
}

uint64_t baton_decode_scalar(uint32_t type, const uint8_t *in)
{
	switch (type) {
	case BATON_T_U8:
	case BATON_T_BOOL:
		return in[0];
	case BATON_T_U16:
		return baton_decode_u16(in);
	case BATON_T_U32:
		return be32(in);
	case BATON_T_U64:
	case BATON_T_I64:
		return baton_decode_u64(in);
	case BATON_T_I8:
		return (uint64_t)(int64_t)(int8_t)in[0];
	case BATON_T_I16:
		return (uint64_t)(int64_t)(int16_t)baton_decode_u16(in);
	case BATON_T_I32:
		return (uint64_t)(int64_t)(int32_t)be32(in);
	default:
		return 0;
	}
}

const char *baton_fd_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[BATON_FD_OTHER] = "other",     [BATON_FD_SOCKET] = "socket",
		[BATON_FD_MEMFD] = "memfd",     [BATON_FD_PIPE] = "pipe",
		[BATON_FD_EVENTFD] = "eventfd", [BATON_FD_DEVICE] = "device",
		[BATON_FD_FILE] = "file",
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) == BATON_FD_KIND_MAX_ + 1,
		       "a name for every fd kind");
	return kind <= BATON_FD_KIND_MAX_ ? names[kind] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Shared by writer and reader                                              */

/* Object keys: 1 to 255 bytes of printable ASCII without space. */
static bool key_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= BATON_KEY_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* fd and region labels, for people: 0 to 63 bytes of printable ASCII. */
static bool label_valid(const char *s, size_t len)
{
	size_t i;

	if (len >= LABEL_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/*
 * "object@12": the node name of entry i of a table (base is short). Returns
 * its length. Written by hand: it runs for every object, both ways.
 */
static size_t unit_name(char *out, size_t size, const char *base, uint32_t i)
{
	char digits[10];
	size_t blen = strlen(base), n = 0, k;

	do {
		digits[n++] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	if (blen + 1 + n + 1 > size) {
		out[0] = '\0';
		return 0;
	}
	memcpy(out, base, blen);
	out[blen] = '@';
	for (k = 0; k < n; k++)
		out[blen + 1 + k] = digits[n - 1 - k];
	out[blen + 1 + n] = '\0';
	return blen + 1 + n;
}

/*
 * Copies untrusted bytes into a diagnostic as printable text: anything
 * outside printable ASCII becomes '?', and the copy stops at a NUL.
 */
static const char *safe_text(char *out, size_t size, const void *in, size_t len)
{
	const char *s = in;
	size_t i;

	for (i = 0; i < len && i + 1 < size && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/*
 * The offset of the checksum value, for a buffer whose header check_blocks()
 * accepted with totalsize == len: the structure block must open with the
 * root node, whose first property must be 16 bytes named "checksum".
 */
static int checksum_offset(const uint8_t *p, size_t *pos, struct baton_diag *d)
{
	uint32_t st = fdt_off_dt_struct(p), st_size = fdt_size_dt_struct(p);
	uint32_t str = fdt_off_dt_strings(p), str_size = fdt_size_dt_strings(p);
	uint32_t tag, plen, nameoff;

	if (st % 4 || st_size < CHECKSUM_VALUE_OFF + CHECKSUM_LEN)
		return baton_diag_set(d, -EBADMSG,
				      "image is malformed: the structure block (%u bytes at offset %u) cannot hold the root node and its checksum",
				      st_size, st);
	tag = be32(p + st);
	if (tag != FDT_BEGIN_NODE || p[st + 4] != '\0')
		return baton_diag_set(d, -EBADMSG,
				      "image is malformed: the structure block does not open with the root node");
	tag = be32(p + st + CHECKSUM_TAG_OFF);
	if (tag != FDT_PROP)
		return baton_diag_set(d, -EBADMSG,
				      "image has no checksum: the root node's first item is not a property (tag 0x%x); it must be \"checksum\"",
				      tag);
	plen = be32(p + st + CHECKSUM_TAG_OFF + 4);
	nameoff = be32(p + st + CHECKSUM_TAG_OFF + 8);
	if (nameoff >= str_size || str_size - nameoff < sizeof(checksum_name) ||
	    memcmp(p + str + nameoff, checksum_name, sizeof(checksum_name)) != 0) {
		char name[32] = "?";

		if (nameoff < str_size)
			safe_text(name, sizeof(name), p + str + nameoff, str_size - nameoff);
		return baton_diag_set(d, -EBADMSG,
				      "image has no checksum where it belongs: the root node's first property is \"%s\", not \"checksum\"",
				      name);
	}
	if (plen != CHECKSUM_LEN)
		return baton_diag_set(d, -EBADMSG,
				      "image is malformed: its checksum is %u bytes; it must be %d",
				      plen, CHECKSUM_LEN);
	*pos = (size_t)st + CHECKSUM_VALUE_OFF;
	return 0;
}

/* XXH3-128 of the image with the checksum's 16 bytes at pos taken as zero. */
static void image_checksum(const uint8_t *p, size_t len, size_t pos, uint8_t out[CHECKSUM_LEN])
{
	static const uint8_t zero[CHECKSUM_LEN];
	XXH3_state_t state;
	XXH128_canonical_t canon;

	XXH3_INITSTATE(&state);
	XXH3_128bits_reset(&state);
	XXH3_128bits_update(&state, p, pos);
	XXH3_128bits_update(&state, zero, CHECKSUM_LEN);
	XXH3_128bits_update(&state, p + pos + CHECKSUM_LEN, len - pos - CHECKSUM_LEN);
	XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&state));
	_Static_assert(sizeof(canon.digest) == CHECKSUM_LEN, "XXH3-128 is 16 bytes");
	memcpy(out, canon.digest, CHECKSUM_LEN);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

enum writer_phase {
	W_UNSET = 0,  /* not initialised */
	W_ROOT,       /* root properties written, no table yet */
	W_FDS,        /* /fds open */
	W_REGIONS,    /* /regions open */
	W_OBJECTS,    /* /objects open, between objects */
	W_OBJECT,     /* an object node open, its properties written */
	W_REFS,       /* ... and its "fds" references */
	W_FIELDS,     /* its fields node, or a nested node in it, open */
	W_DONE,       /* finished and sealed */
};

static int wfail(struct baton_image_writer *w, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int wfail(struct baton_image_writer *w, int code, const char *fmt, ...)
{
	va_list ap;

	w->err = code;
	w->diag.code = code;
	va_start(ap, fmt);
	vsnprintf(w->diag.msg, sizeof(w->diag.msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Turns a libfdt error of the writer into an errno and words. */
static int wfdt(struct baton_image_writer *w, int rc, const char *call)
{
	if (rc >= 0)
		return 0;
	if (rc == -FDT_ERR_NOSPACE && w->size >= BATON_IMAGE_MAX_SIZE)
		return wfail(w, -E2BIG, "%s: the image would be larger than %u bytes (BATON_IMAGE_MAX_SIZE)",
			     call, BATON_IMAGE_MAX_SIZE);
	if (rc == -FDT_ERR_NOSPACE)
		return wfail(w, -ENOSPC, "%s: the image does not fit in the buffer of %zu bytes",
			     call, w->size);
	return wfail(w, -EINVAL, "%s: libfdt: %s", call, fdt_strerror(rc));
}

/* Every call but init starts here: a failed or finished writer stays so. */
static int wready(struct baton_image_writer *w, const char *call)
{
	if (!w)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->phase == W_UNSET)
		return wfail(w, -EINVAL, "%s: the writer is not initialised (baton_image_writer_init)", call);
	if (w->phase == W_DONE)
		return wfail(w, -EINVAL, "%s: the image is already finished", call);
	return 0;
}

/*
 * Property names. libfdt's sequential writer looks every property's name up
 * in the strings block written so far, at every byte offset of it
 * (fdt_find_string_ runs a memcmp at each), so that each property cost a scan
 * of all the names of the image: most of what writing an object cost. The
 * writer remembers where libfdt put each name, and writes a property whose
 * name it has seen the way libfdt would: the tag, the length and the same
 * name offset at the end of the structure block (in libfdt's sequential
 * state the strings grow down from the end of the buffer and their offsets
 * are negative until fdt_finish() turns them around). A name not seen yet
 * goes through libfdt. The image is byte for byte the one libfdt alone
 * writes: its lookup depends only on the strings block, and whatever the
 * writer remembers is forgotten whenever libfdt adds a string to the block
 * (a new string can end with an older name, and libfdt's lookup would find
 * that one first).
 */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Probes of the name table before a name counts as not seen. */
#define NAME_PROBES 8

/* A property of len bytes called name; *val is where its value goes. */
static int wprop_once(struct baton_image_writer *w, const char *name, size_t len, void **val)
{
	uint8_t *fdt = w->buf;
	uint32_t strsize = fdt_size_dt_strings(fdt), off, room, h = name_hash(name);
	const char *strtab = (const char *)fdt + fdt_totalsize(fdt);
	unsigned int k, slot = h % BATON_IMAGE_WRITER_NAMES, free_slot = slot;
	bool have_free = false;
	size_t need;
	uint8_t *p;
	int rc;

	if (len > INT32_MAX)
		return -FDT_ERR_NOSPACE;
	if (strsize != w->names_strsize) {
		/* libfdt added a string: what the writer knew may no longer be its answer */
		memset(w->names, 0, sizeof(w->names));
		w->names_strsize = strsize;
	}
	for (k = 0; k < NAME_PROBES; k++) {
		unsigned int i = (slot + k) % BATON_IMAGE_WRITER_NAMES;
		int32_t noff = w->names[i].off;

		if (noff == 0) {
			if (!have_free)
				free_slot = i;
			have_free = true;
			break;
		}
		if (w->names[i].hash != h || (uint32_t)-noff > strsize || strcmp(strtab + noff, name))
			continue;
		off = fdt_size_dt_struct(fdt);
		room = fdt_totalsize(fdt) - fdt_off_dt_struct(fdt) - strsize;
		need = 12 + ((len + 3) & ~(size_t)3);
		if (off > room || need > room - off)
			return -FDT_ERR_NOSPACE;
		p = fdt + fdt_off_dt_struct(fdt) + off;
		put_be32(p, FDT_PROP);
		put_be32(p + 4, (uint32_t)len);
		put_be32(p + 8, (uint32_t)noff);
		fdt_set_size_dt_struct(fdt, off + (uint32_t)need);
		*val = p + 12;
		return 0;
	}
	rc = fdt_property_placeholder(fdt, name, (int)len, val);
	if (rc < 0)
		return rc;
	if (fdt_size_dt_strings(fdt) != strsize) {
		memset(w->names, 0, sizeof(w->names));
		w->names_strsize = fdt_size_dt_strings(fdt);
		free_slot = slot;
	}
	/* the name offset libfdt chose, from the property it has just written */
	w->names[free_slot].hash = h;
	w->names[free_slot].off = (int32_t)be32((const uint8_t *)*val - 4);
	return 0;
}

/*
 * The room the tree is laid out in at first, in the caller's buffer. libfdt's
 * fdt_create() clears all of the buffer it is given, so a writer handed room
 * for the largest image would touch (and have the kernel supply) every page
 * of it, however small the image. The tree starts small and grows with
 * fdt_resize() inside the caller's buffer whenever libfdt finds it full.
 * Grown room is not cleared: libfdt writes every byte of the tree but the
 * padding after a node's name or a property's value (which it leaves to the
 * cleared buffer), and the writer clears that padding itself, so the image
 * is the same bytes whatever the buffer held.
 */
#define WRITER_START (64u << 10)

static int wgrow(struct baton_image_writer *w)
{
	size_t cur = fdt_totalsize(w->buf), want;

	if (cur >= w->size)
		return -FDT_ERR_NOSPACE;
	want = cur * 2 < w->size ? cur * 2 : w->size;
	return fdt_resize(w->buf, w->buf, (int)want);
}

/* Clears the structure block from off (an offset in it) to its end: 0 to 3 bytes. */
static void wpad(struct baton_image_writer *w, size_t off)
{
	uint8_t *fdt = w->buf, *p = fdt + fdt_off_dt_struct(fdt);
	size_t end = fdt_size_dt_struct(fdt);

	for (; off < end; off++)
		p[off] = 0;
}

/*
 * Closes the tree as libfdt's fdt_finish() does: the FDT_END tag, the
 * strings block moved to follow the structure block, every name offset made
 * relative to its start, then the header's total size, last compatible
 * version and magic. fdt_finish() steps through the structure block with
 * fdt_next_tag(), checking the header again at every tag, which cost as much
 * as writing the objects; the writer steps through the block it wrote
 * itself. The image is the same bytes (the unit tests compare the two).
 */
static int wfinish_once(struct baton_image_writer *w)
{
	uint8_t *fdt = w->buf, *s = fdt + fdt_off_dt_struct(fdt);
	uint32_t ssize = fdt_size_dt_struct(fdt), strsize = fdt_size_dt_strings(fdt);
	uint32_t room = fdt_totalsize(fdt) - fdt_off_dt_struct(fdt) - strsize, off = 0, newstr;

	if (ssize > room || room - ssize < 4)
		return -FDT_ERR_NOSPACE;
	put_be32(s + ssize, FDT_END);
	ssize += 4;
	fdt_set_size_dt_struct(fdt, ssize);
	newstr = fdt_off_dt_struct(fdt) + ssize;
	memmove(fdt + newstr, fdt + fdt_totalsize(fdt) - strsize, strsize);
	fdt_set_off_dt_strings(fdt, newstr);
	while (off + 4 <= ssize) {
		uint32_t tag = be32(s + off), len;

		if (tag == FDT_END)
			break;
		switch (tag) {
		case FDT_BEGIN_NODE:
			off = (uint32_t)TAG_ALIGN(off + 4 + strlen((const char *)s + off + 4) + 1);
			break;
		case FDT_PROP:
			len = be32(s + off + 4);
			put_be32(s + off + 8, be32(s + off + 8) + strsize);
			off = (uint32_t)TAG_ALIGN((size_t)off + 12 + len);
			break;
		case FDT_END_NODE:
		case FDT_NOP:
			off += 4;
			break;
		default:
			return -FDT_ERR_BADSTRUCTURE;   /* not a tree this writer wrote */
		}
	}
	fdt_set_totalsize(fdt, newstr + strsize);
	fdt_set_last_comp_version(fdt, FDT_LAST_COMPATIBLE_VERSION);
	fdt_set_magic(fdt, FDT_MAGIC);
	return 0;
}

static int wprop(struct baton_image_writer *w, const char *name, size_t len, void **val)
{
	int rc;

	while ((rc = wprop_once(w, name, len, val)) == -FDT_ERR_NOSPACE && wgrow(w) == 0)
		;
	if (rc >= 0)
		wpad(w, (size_t)((uint8_t *)*val - ((uint8_t *)w->buf + fdt_off_dt_struct(w->buf))) + len);
	return rc;
}

static int wbegin(struct baton_image_writer *w, const char *name)
{
	size_t named = fdt_size_dt_struct(w->buf) + 4 + strlen(name) + 1;
	int rc;

	while ((rc = fdt_begin_node(w->buf, name)) == -FDT_ERR_NOSPACE && wgrow(w) == 0)
		;
	if (rc >= 0)
		wpad(w, named);
	return rc;
}

static int wend(struct baton_image_writer *w)
{
	int rc;

	while ((rc = fdt_end_node(w->buf)) == -FDT_ERR_NOSPACE && wgrow(w) == 0)
		;
	return rc;
}

static int wprop_copy(struct baton_image_writer *w, const char *name, const void *v, size_t len)
{
	void *val;
	int rc = wprop(w, name, len, &val);

	if (rc >= 0 && len)
		memcpy(val, v, len);
	return rc;
}

static int wprop_u32(struct baton_image_writer *w, const char *name, uint32_t v)
{
	uint8_t b[4];

	baton_encode_u32(b, v);
	return wprop_copy(w, name, b, 4);
}

static int wprop_u64(struct baton_image_writer *w, const char *name, uint64_t v)
{
	uint8_t b[8];

	baton_encode_u64(b, v);
	return wprop_copy(w, name, b, 8);
}

static const char *phase_words(int phase)
{
	switch (phase) {
	case W_REGIONS:
		return "the region table has begun, and every fd comes before the first region";
	case W_OBJECTS:
		return "the objects have begun, and the fd and region tables come before them";
	default:
		return "an object is open (baton_image_end_object closes it)";
	}
}

/* Opens and closes the tables and /objects until the writer is at target. */
static int advance(struct baton_image_writer *w, int target, const char *call)
{
	int rc = 0;

	if (w->phase > target)
		return wfail(w, -EINVAL, "%s comes too late: %s", call, phase_words(w->phase));
	while (w->phase < target) {
		switch (w->phase) {
		case W_ROOT:
			rc = wbegin(w, "fds");
			break;
		case W_FDS:
			rc = wend(w);
			if (rc >= 0)
				rc = wbegin(w, "regions");
			break;
		case W_REGIONS:
			rc = wend(w);
			if (rc >= 0)
				rc = wbegin(w, "objects");
			break;
		default:
			return wfail(w, -EINVAL, "%s: internal writer state %d", call, w->phase);
		}
		if (rc < 0)
			return wfdt(w, rc, call);
		w->phase++;
		w->depth = 1;
	}
	return 0;
}

static int write_refs(struct baton_image_writer *w, const uint32_t *fds, size_t n, const char *call)
{
	void *val;
	size_t i;
	int rc;

	rc = wprop(w, "fds", n * 4, &val);
	if (rc < 0)
		return wfdt(w, rc, call);
	for (i = 0; i < n; i++)
		baton_encode_u32((uint8_t *)val + 4 * i, fds[i]);
	w->phase = W_REFS;
	return 0;
}

/* Fields go into the object's "fields" node, opened at the first of them. */
static int enter_fields(struct baton_image_writer *w, const char *call)
{
	int rc;

	if (w->phase < W_OBJECT || w->phase > W_FIELDS)
		return wfail(w, -EINVAL, "%s outside an object (baton_image_begin_object opens one)", call);
	if (w->phase == W_OBJECT) {
		rc = write_refs(w, NULL, 0, call);
		if (rc < 0)
			return rc;
	}
	if (w->phase == W_REFS) {
		rc = wbegin(w, "fields");
		if (rc < 0)
			return wfdt(w, rc, call);
		w->phase = W_FIELDS;
		w->depth = FIELDS_DEPTH;
		w->subnode_seen = false;
	}
	return 0;
}

int baton_image_writer_init(struct baton_image_writer *w, void *buf, size_t size,
			    const struct baton_image_header *h)
{
	static const uint8_t zero[CHECKSUM_LEN];
	const char *call = "baton_image_writer_init";
	char release[BATON_RELEASE_STRMAX];
	size_t plen;
	int rc;

	if (!w)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	if (!buf || !h)
		return wfail(w, -EINVAL, "%s: no buffer or no header", call);
	if ((uintptr_t)buf % 8)
		return wfail(w, -EINVAL, "%s: the buffer is not 8-byte aligned", call);
	w->buf = buf;
	w->size = size > BATON_IMAGE_MAX_SIZE ? BATON_IMAGE_MAX_SIZE : size;

	plen = baton_strnlen(h->program, sizeof(h->program));
	if (!baton_name_valid(h->program, plen)) {
		char name[BATON_NAME_MAX];

		return wfail(w, -EINVAL,
			     "%s: program \"%s\" is not a name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
			     call, safe_text(name, sizeof(name), h->program, plen));
	}
	if (h->build_id.len > BATON_BUILD_ID_MAX)
		return wfail(w, -EINVAL, "%s: build id of %u bytes; at most %d", call,
			     h->build_id.len, BATON_BUILD_ID_MAX);
	if (baton_release_format(&h->release, release, sizeof(release)) < 0)
		return wfail(w, -EINVAL, "%s: release does not format", call);

	rc = fdt_create(buf, (int)(w->size < WRITER_START ? w->size : WRITER_START));
	if (rc >= 0)
		rc = fdt_finish_reservemap(buf);
	if (rc >= 0)
		rc = wbegin(w, "");
	/* First, so that readers find it at a fixed place; sealed by finish. */
	if (rc >= 0)
		rc = wprop_copy(w, checksum_name, zero, CHECKSUM_LEN);
	if (rc >= 0)
		rc = wprop_copy(w, "compatible", BATON_IMAGE_COMPATIBLE, sizeof(BATON_IMAGE_COMPATIBLE));
	if (rc >= 0)
		rc = wprop_copy(w, "program", h->program, plen + 1);
	if (rc >= 0)
		rc = wprop_copy(w, "release", release, strlen(release) + 1);
	if (rc >= 0)
		rc = wprop_copy(w, "build-id", h->build_id.b, h->build_id.len);
	if (rc >= 0)
		rc = wprop_u64(w, "generation", h->generation);
	if (rc >= 0)
		rc = wprop_u64(w, "frozen-at-ns", h->frozen_at_ns);
	if (rc < 0)
		return wfdt(w, rc, call);
	w->phase = W_ROOT;
	return 0;
}

int baton_image_add_fd(struct baton_image_writer *w, const struct baton_image_fd *fd)
{
	const char *call = "baton_image_add_fd";
	char node[32], label[LABEL_MAX];
	size_t llen;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (!fd)
		return wfail(w, -EINVAL, "%s: no entry", call);
	llen = baton_strnlen(fd->name, sizeof(fd->name));
	if (fd->kind > BATON_FD_KIND_MAX_)
		return wfail(w, -EINVAL, "%s: fd %u has unknown kind %u", call, w->nfds, fd->kind);
	if (!label_valid(fd->name, llen))
		return wfail(w, -EINVAL, "%s: fd %u: label \"%s\" is not 0-63 bytes of printable ASCII",
			     call, w->nfds, safe_text(label, sizeof(label), fd->name, llen));
	if (w->nfds >= BATON_IMAGE_MAX_FDS)
		return wfail(w, -E2BIG, "%s: more than %d fds", call, BATON_IMAGE_MAX_FDS);
	rc = advance(w, W_FDS, call);
	if (rc < 0)
		return rc;
	unit_name(node, sizeof(node), "fd", w->nfds);
	rc = wbegin(w, node);
	if (rc >= 0)
		rc = wprop_u32(w, "kind", fd->kind);
	if (rc >= 0)
		rc = wprop_copy(w, "label", fd->name, llen + 1);
	if (rc >= 0)
		rc = wend(w);
	if (rc < 0)
		return wfdt(w, rc, call);
	return (int)w->nfds++;
}

int baton_image_add_region(struct baton_image_writer *w, const struct baton_image_region *r)
{
	const char *call = "baton_image_add_region";
	char node[32], label[LABEL_MAX];
	size_t llen;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (!r)
		return wfail(w, -EINVAL, "%s: no entry", call);
	llen = baton_strnlen(r->name, sizeof(r->name));
	if (!label_valid(r->name, llen))
		return wfail(w, -EINVAL, "%s: region %u: label \"%s\" is not 0-63 bytes of printable ASCII",
			     call, w->nregions, safe_text(label, sizeof(label), r->name, llen));
	if (r->fd >= w->nfds)
		return wfail(w, -EINVAL, "%s: region %u (\"%s\") names fd %u; the fd table has %u entries",
			     call, w->nregions, r->name, r->fd, w->nfds);
	if (w->nregions >= BATON_IMAGE_MAX_FDS)
		return wfail(w, -E2BIG, "%s: more than %d regions", call, BATON_IMAGE_MAX_FDS);
	rc = advance(w, W_REGIONS, call);
	if (rc < 0)
		return rc;
	unit_name(node, sizeof(node), "region", w->nregions);
	rc = wbegin(w, node);
	if (rc >= 0)
		rc = wprop_u32(w, "fd", r->fd);
	if (rc >= 0)
		rc = wprop_u64(w, "size", r->size);
	if (rc >= 0)
		rc = wprop_copy(w, "label", r->name, llen + 1);
	if (rc >= 0)
		rc = wend(w);
	if (rc < 0)
		return wfdt(w, rc, call);
	return (int)w->nregions++;
}

int baton_image_begin_object(struct baton_image_writer *w, const char *key,
			     const baton_uuid *contract, uint32_t version,
			     const char *handler, const baton_fingerprint *fingerprint,
			     uint32_t flags)
{
	const char *call = "baton_image_begin_object";
	char node[32], text[BATON_KEY_MAX];
	size_t klen, hlen;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (!key || !contract || !handler || !fingerprint)
		return wfail(w, -EINVAL, "%s: object %u: key, contract, handler and fingerprint are required",
			     call, w->nobjects);
	klen = baton_strnlen(key, BATON_KEY_MAX);
	if (klen >= BATON_KEY_MAX)
		return wfail(w, -ENAMETOOLONG, "%s: object key \"%.40s...\" is longer than %d bytes",
			     call, safe_text(text, sizeof(text), key, klen), BATON_KEY_MAX - 1);
	if (!key_valid(key, klen))
		return wfail(w, -EINVAL,
			     "%s: object key \"%s\" is not 1-%d bytes of printable ASCII without spaces",
			     call, safe_text(text, sizeof(text), key, klen), BATON_KEY_MAX - 1);
	if (baton_uuid_is_nil(contract))
		return wfail(w, -EINVAL, "%s: object \"%s\": the contract is the nil UUID", call, key);
	if (version == 0)
		return wfail(w, -EINVAL, "%s: object \"%s\": version 0; versions start at 1", call, key);
	hlen = baton_strnlen(handler, BATON_NAME_MAX);
	if (!baton_name_valid(handler, hlen))
		return wfail(w, -EINVAL, "%s: object \"%s\": handler \"%s\" is not a name", call, key,
			     safe_text(text, sizeof(text), handler, hlen));
	if (flags & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_)
		return wfail(w, -EINVAL, "%s: object \"%s\": unknown flags 0x%x", call, key,
			     flags & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_);
	if (w->nobjects >= BATON_IMAGE_MAX_OBJECTS)
		return wfail(w, -E2BIG, "%s: more than %d objects", call, BATON_IMAGE_MAX_OBJECTS);
	rc = advance(w, W_OBJECTS, call);
	if (rc < 0)
		return rc;
	unit_name(node, sizeof(node), "object", w->nobjects);
	rc = wbegin(w, node);
	if (rc >= 0)
		rc = wprop_copy(w, "key", key, klen + 1);
	if (rc >= 0)
		rc = wprop_copy(w, "contract", contract->b, sizeof(contract->b));
	if (rc >= 0)
		rc = wprop_u32(w, "version", version);
	if (rc >= 0)
		rc = wprop_copy(w, "handler", handler, hlen + 1);
	if (rc >= 0)
		rc = wprop_copy(w, "fingerprint", fingerprint->b, sizeof(fingerprint->b));
	if (rc >= 0)
		rc = wprop_u32(w, "flags", flags);
	if (rc < 0)
		return wfdt(w, rc, call);
	w->phase = W_OBJECT;
	w->depth = 2;
	w->in_object = true;
	w->subnode_seen = false;
	return 0;
}

int baton_image_object_refs(struct baton_image_writer *w, const uint32_t *fds, size_t nfds)
{
	const char *call = "baton_image_object_refs";
	size_t i;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (w->phase < W_OBJECT || w->phase > W_FIELDS)
		return wfail(w, -EINVAL, "%s outside an object (baton_image_begin_object opens one)", call);
	if (w->phase != W_OBJECT)
		return wfail(w, -EINVAL,
			     "%s: object %u already has its references or fields; references come once, right after baton_image_begin_object",
			     call, w->nobjects);
	if (nfds && !fds)
		return wfail(w, -EINVAL, "%s: object %u: %zu references and no array", call,
			     w->nobjects, nfds);
	if (nfds > BATON_IMAGE_MAX_FDS)
		return wfail(w, -E2BIG, "%s: object %u: %zu references; at most %d", call,
			     w->nobjects, nfds, BATON_IMAGE_MAX_FDS);
	for (i = 0; i < nfds; i++)
		if (fds[i] >= w->nfds)
			return wfail(w, -EINVAL,
				     "%s: object %u refers to fd %u; the fd table has %u entries",
				     call, w->nobjects, fds[i], w->nfds);
	return write_refs(w, fds, nfds, call);
}

int baton_image_field(struct baton_image_writer *w, const char *name, const void *value, size_t len)
{
	const char *call = "baton_image_field";
	char text[BATON_NAME_MAX];
	size_t nlen;
	void *val;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (!name)
		return wfail(w, -EINVAL, "%s: object %u: no field name", call, w->nobjects);
	nlen = baton_strnlen(name, BATON_NAME_MAX);
	if (!baton_name_valid(name, nlen))
		return wfail(w, -EINVAL, "%s: object %u: field name \"%s\" is not a name", call,
			     w->nobjects, safe_text(text, sizeof(text), name, nlen));
	if (len && !value)
		return wfail(w, -EINVAL, "%s: object %u: field \"%s\" of %zu bytes has no value",
			     call, w->nobjects, name, len);
	if (len > BATON_IMAGE_MAX_SIZE)
		return wfail(w, -E2BIG, "%s: object %u: field \"%s\" of %zu bytes is larger than an image may be",
			     call, w->nobjects, name, len);
	rc = enter_fields(w, call);
	if (rc < 0)
		return rc;
	if (w->subnode_seen)
		return wfail(w, -EINVAL,
			     "%s: object %u: field \"%s\" follows a nested field in the same node; values come first (a DTB keeps properties before subnodes)",
			     call, w->nobjects, name);
	rc = wprop(w, name, len, &val);
	if (rc < 0)
		return wfdt(w, rc, call);
	if (len)
		memcpy(val, value, len);
	return 0;
}

int baton_image_begin_nested(struct baton_image_writer *w, const char *name)
{
	const char *call = "baton_image_begin_nested";
	char text[BATON_NAME_MAX];
	size_t nlen;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (!name)
		return wfail(w, -EINVAL, "%s: object %u: no field name", call, w->nobjects);
	nlen = baton_strnlen(name, BATON_NAME_MAX);
	if (!baton_name_valid(name, nlen))
		return wfail(w, -EINVAL, "%s: object %u: field name \"%s\" is not a name", call,
			     w->nobjects, safe_text(text, sizeof(text), name, nlen));
	rc = enter_fields(w, call);
	if (rc < 0)
		return rc;
	if (w->depth - FIELDS_DEPTH >= BATON_MAX_NESTING)
		return wfail(w, -ELOOP, "%s: object %u: field \"%s\" nests deeper than %d levels",
			     call, w->nobjects, name, BATON_MAX_NESTING);
	rc = wbegin(w, name);
	if (rc < 0)
		return wfdt(w, rc, call);
	w->depth++;
	w->subnode_seen = false;
	return 0;
}

int baton_image_end_nested(struct baton_image_writer *w)
{
	const char *call = "baton_image_end_nested";
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (w->phase != W_FIELDS || w->depth <= FIELDS_DEPTH)
		return wfail(w, -EINVAL, "%s: no nested field is open", call);
	rc = wend(w);
	if (rc < 0)
		return wfdt(w, rc, call);
	w->depth--;
	/* The parent has a subnode now: only more nested fields may follow. */
	w->subnode_seen = true;
	return 0;
}

int baton_image_end_object(struct baton_image_writer *w)
{
	const char *call = "baton_image_end_object";
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (w->phase < W_OBJECT || w->phase > W_FIELDS)
		return wfail(w, -EINVAL, "%s: no object is open", call);
	rc = enter_fields(w, call);
	if (rc < 0)
		return rc;
	if (w->depth > FIELDS_DEPTH)
		return wfail(w, -EINVAL, "%s: object %u: %d nested field(s) still open (baton_image_end_nested)",
			     call, w->nobjects, w->depth - FIELDS_DEPTH);
	rc = wend(w);
	if (rc >= 0)
		rc = wend(w);
	if (rc < 0)
		return wfdt(w, rc, call);
	w->phase = W_OBJECTS;
	w->depth = 1;
	w->in_object = false;
	w->subnode_seen = false;
	w->nobjects++;
	return 0;
}

int baton_image_finish(struct baton_image_writer *w, size_t *len)
{
	const char *call = "baton_image_finish";
	uint8_t sum[CHECKSUM_LEN];
	size_t total, pos;
	int rc;

	rc = wready(w, call);
	if (rc < 0)
		return rc;
	if (!len)
		return wfail(w, -EINVAL, "%s: no place for the length", call);
	if (w->phase > W_OBJECTS)
		return wfail(w, -EINVAL, "%s: object %u is still open (baton_image_end_object)",
			     call, w->nobjects);
	rc = advance(w, W_OBJECTS, call);
	if (rc < 0)
		return rc;
	rc = wend(w);   /* /objects */
	if (rc >= 0)
		rc = wend(w);   /* / */
	if (rc >= 0)
		while ((rc = wfinish_once(w)) == -FDT_ERR_NOSPACE && wgrow(w) == 0)
			;
	if (rc < 0)
		return wfdt(w, rc, call);
	total = fdt_totalsize(w->buf);
	rc = checksum_offset(w->buf, &pos, &w->diag);
	if (rc < 0)
		return wfail(w, -EINVAL, "%s: internal: the checksum is not where it belongs", call);
	image_checksum(w->buf, total, pos, sum);
	memcpy((uint8_t *)w->buf + pos, sum, CHECKSUM_LEN);
	w->phase = W_DONE;
	w->depth = 0;
	*len = total;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading: stepping through the tree                                       */

/*
 * After the structure block has passed check_shape(), the reader steps
 * through it itself instead of asking libfdt to look each
 * property up by name: fdt_getprop() walks a node's properties from the
 * first one and checks the header, the offsets and the name's string at
 * every step, so a node of n properties read by name cost n * n / 2 such
 * steps, several times per object. Here each node is walked once.
 *
 * Every step is still bounded (item() checks the tag, the length and that
 * the item lies inside the block; prop_at() that the name is a string of the
 * strings block): the accessors take node offsets from their callers, and
 * an offset that a caller made up must not lead a walk outside the image.
 * Offsets are those of libfdt (from the start of the structure block), so
 * they can be handed to libfdt and back.
 */

struct blocks {
	const uint8_t *s;       /* the structure block */
	uint32_t ssize;
	const char *str;        /* the strings block */
	uint32_t strsize;
};

static void blocks_of(const void *fdt, struct blocks *b)
{
	const uint8_t *p = fdt;

	b->s = p + fdt_off_dt_struct(p);
	b->ssize = fdt_size_dt_struct(p);
	b->str = (const char *)p + fdt_off_dt_strings(p);
	b->strsize = fdt_size_dt_strings(p);
}

/*
 * The item at off: returns its tag and in *next the offset of the item after
 * it, or 0 when off does not start a whole item inside the block.
 */
static uint32_t item(const struct blocks *b, uint32_t off, uint32_t *next)
{
	const uint8_t *nul;
	uint32_t tag, len;
	size_t n;

	if (off % 4 || off >= b->ssize || b->ssize - off < 4)
		return 0;
	tag = be32(b->s + off);
	switch (tag) {
	case FDT_BEGIN_NODE:
		nul = memchr(b->s + off + 4, '\0', b->ssize - off - 4);
		if (!nul)
			return 0;
		n = TAG_ALIGN((size_t)(nul - b->s) + 1);
		break;
	case FDT_PROP:
		if (b->ssize - off < 12)
			return 0;
		len = be32(b->s + off + 4);
		if (len > b->ssize - off - 12)
			return 0;
		n = TAG_ALIGN((size_t)off + 12 + len);
		break;
	case FDT_END_NODE:
	case FDT_NOP:
	case FDT_END:
		n = (size_t)off + 4;
		break;
	default:
		return 0;
	}
	if (n > b->ssize)
		return 0;
	*next = (uint32_t)n;
	return tag;
}

struct prop {
	const char *name;       /* NUL-terminated, in the strings block */
	size_t nlen;
	const uint8_t *val;
	uint32_t len;
};

/* The property whose item is at off; false if its name is not a string of the block. */
static bool prop_at(const struct blocks *b, uint32_t off, struct prop *p)
{
	uint32_t nameoff = be32(b->s + off + 8);
	const char *nul;

	if (nameoff >= b->strsize)
		return false;
	p->name = b->str + nameoff;
	nul = memchr(p->name, '\0', b->strsize - nameoff);
	if (!nul)
		return false;
	p->nlen = (size_t)(nul - p->name);
	p->len = be32(b->s + off + 4);
	p->val = b->s + off + 12;
	return true;
}

/* A node's name (NUL-terminated in the block), or NULL if node is not a node. */
static const char *name_at(const struct blocks *b, int node, size_t *len)
{
	uint32_t next;
	const char *name;

	if (node < 0 || item(b, (uint32_t)node, &next) != FDT_BEGIN_NODE)
		return NULL;
	name = (const char *)b->s + node + 4;
	*len = strlen(name);   /* item() found its NUL inside the block */
	return name;
}

/* The items of one node: its properties, then its subnodes. */
struct walk {
	const struct blocks *b;
	uint32_t off;           /* the next item */
};

static bool walk_node(const struct blocks *b, int node, struct walk *w)
{
	uint32_t next;

	if (node < 0 || item(b, (uint32_t)node, &next) != FDT_BEGIN_NODE)
		return false;
	w->b = b;
	w->off = next;
	return true;
}

/* The next property: 1, or 0 at the first subnode or the end of the node, -1 if malformed. */
static int walk_prop(struct walk *w, struct prop *p)
{
	for (;;) {
		uint32_t next, tag = item(w->b, w->off, &next);

		if (tag == FDT_NOP) {
			w->off = next;
			continue;
		}
		if (tag != FDT_PROP)
			return tag == FDT_BEGIN_NODE || tag == FDT_END_NODE ? 0 : -1;
		if (!prop_at(w->b, w->off, p))
			return -1;
		w->off = next;
		return 1;
	}
}

/* The offset after node and everything in it. */
static bool skip_node(const struct blocks *b, uint32_t node, uint32_t *after)
{
	uint32_t off = node, next, tag;
	int depth = 0;

	if (item(b, off, &next) != FDT_BEGIN_NODE)
		return false;
	do {
		tag = item(b, off, &next);
		if (tag == FDT_BEGIN_NODE)
			depth++;
		else if (tag == FDT_END_NODE)
			depth--;
		else if (tag != FDT_PROP && tag != FDT_NOP)
			return false;
		off = next;
	} while (depth > 0);
	*after = off;
	return true;
}

/* The next subnode, past any properties left: 1 and its offset, 0 at the end, -1 if malformed. */
static int walk_subnode(struct walk *w, int *sub)
{
	uint32_t next, tag;

	for (;;) {
		tag = item(w->b, w->off, &next);
		if (tag != FDT_PROP && tag != FDT_NOP)
			break;
		w->off = next;
	}
	if (tag == FDT_END_NODE)
		return 0;
	if (tag != FDT_BEGIN_NODE)
		return -1;
	*sub = (int)w->off;
	return skip_node(w->b, w->off, &w->off) ? 1 : -1;
}

/* The property of node called name: 1, 0 when it has none, -1 if node is malformed. */
static int find_prop(const struct blocks *b, int node, const char *name, struct prop *p)
{
	struct walk w;
	int rc;

	if (!walk_node(b, node, &w))
		return -1;
	while ((rc = walk_prop(&w, p)) > 0)
		if (strcmp(p->name, name) == 0)
			return 1;
	return rc;
}

/* The subnode of node called name (namelen bytes): its offset, -ENOENT, or -EINVAL. */
static int find_subnode(const struct blocks *b, int node, const char *name, size_t namelen)
{
	struct walk w;
	int sub, rc;

	if (!walk_node(b, node, &w))
		return -EINVAL;
	while ((rc = walk_subnode(&w, &sub)) > 0) {
		size_t len;
		const char *n = name_at(b, sub, &len);

		if (n && len == namelen && memcmp(n, name, len) == 0)
			return sub;
	}
	return rc < 0 ? -EINVAL : -ENOENT;
}

/* ------------------------------------------------------------------------ */
/* Reading: checks at open                                                  */

/* A property's value, as check_props() found it. */
struct pval {
	const uint8_t *v;
	uint32_t len;
};

/* v if it has exactly len bytes, else NULL. */
static const uint8_t *val_exact(const struct pval *p, uint32_t len)
{
	return p->v && p->len == len ? p->v : NULL;
}

/*
 * A value holding text: NUL-terminated, no NUL inside, at most max bytes
 * with the NUL. Returns the text and its length without the NUL, or NULL.
 */
static const char *val_text(const struct pval *p, size_t max, size_t *tlen)
{
	const char *val = (const char *)p->v;

	if (!val || p->len < 1 || p->len > max || val[p->len - 1] != '\0' ||
	    memchr(val, '\0', p->len - 1))
		return NULL;
	*tlen = p->len - 1;
	return val;
}

/*
 * Where a check is, for the words of a failure: "the root node", "/fds", or
 * an entry of a table such as "/objects/object@12", formatted only when a
 * check fails.
 */
struct where {
	const char *text;       /* the whole of it, or the table ("/objects") */
	const char *entry;      /* NULL, or the entry's base name ("object") */
	uint32_t index;
};

static const char *where_text(const struct where *wh, char *out, size_t size)
{
	char unit[32];

	if (!wh->entry)
		return wh->text;
	unit_name(unit, sizeof(unit), wh->entry, wh->index);
	snprintf(out, size, "%s/%s", wh->text, unit);
	return out;
}

static const char *node_name_text(const struct blocks *b, int node, char *out, size_t size);

/*
 * Every property of node is one of names[] and appears once, and every one
 * of names[] is there; vals[i] gets the value of names[i]. What the format
 * does not name is refused: a newer format says so with a new compatible
 * string.
 */
static int check_props(const struct blocks *b, int node, const char *const *names, unsigned int n,
		       struct pval *vals, const struct where *wh, uint32_t *end, struct baton_diag *d)
{
	char where[64];
	struct walk w;
	struct prop p;
	uint32_t seen = 0;
	unsigned int i;
	int rc;

	if (!walk_node(b, node, &w))
		return baton_diag_set(d, -EBADMSG, "%s: not a node", where_text(wh, where, sizeof(where)));
	while ((rc = walk_prop(&w, &p)) > 0) {
		char text[64];

		for (i = 0; i < n; i++)
			if (p.name[0] == names[i][0] && strcmp(p.name, names[i]) == 0)
				break;
		if (i == n)
			return baton_diag_set(d, -EBADMSG,
					      "%s has property \"%s\", which baton,image-v1 does not define",
					      where_text(wh, where, sizeof(where)),
					      safe_text(text, sizeof(text), p.name, p.nlen));
		if (seen & (1u << i))
			return baton_diag_set(d, -EBADMSG, "%s has property \"%s\" twice",
					      where_text(wh, where, sizeof(where)), names[i]);
		seen |= 1u << i;
		vals[i].v = p.val;
		vals[i].len = p.len;
	}
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "%s: unreadable property",
				      where_text(wh, where, sizeof(where)));
	for (i = 0; i < n; i++)
		if (!(seen & (1u << i)))
			return baton_diag_set(d, -EBADMSG, "%s lacks property \"%s\"",
					      where_text(wh, where, sizeof(where)), names[i]);
	if (end)
		*end = w.off;
	return 0;
}

/*
 * The node whose properties end at off has no subnodes: *after is the offset
 * after the node.
 */
static int end_of_node(const struct blocks *b, uint32_t off, const struct where *wh,
		       uint32_t *after, struct baton_diag *d)
{
	char text[64], where[64];
	uint32_t next, tag = item(b, off, &next);

	if (tag == FDT_END_NODE) {
		*after = next;
		return 0;
	}
	return baton_diag_set(d, -EBADMSG, "%s has node \"%s\", which baton,image-v1 does not define",
			      where_text(wh, where, sizeof(where)),
			      tag == FDT_BEGIN_NODE ? node_name_text(b, (int)off, text, sizeof(text)) : "?");
}

static bool node_named(const struct blocks *b, int node, const char *want, size_t wlen)
{
	size_t len;
	const char *name = name_at(b, node, &len);

	return name && len == wlen && memcmp(name, want, len) == 0;
}

static const char *node_name_text(const struct blocks *b, int node, char *out, size_t size)
{
	size_t len;
	const char *name = name_at(b, node, &len);

	return name ? safe_text(out, size, name, len) : "?";
}

/*
 * Every tag and length of the structure block, every property's name, and
 * the shape, in one bounded walk over the raw bytes. This is the whole of
 * the tree's structural check: the reader does not call libfdt's
 * fdt_check_full(), whose walk it made redundant (and which libfdt 1.6.1
 * cannot be trusted with: its fdt_next_tag() adds a property's length to
 * its offset unchecked, so a length such as 0xfffffff4 steps back onto the
 * same tag and fdt_check_full() never returns). What fdt_check_full()
 * checks is checked here, or before (check_blocks, checksum_offset,
 * check_rsvmap), each with its own words; docs/image-format.md §5 lists
 * them one by one. After this walk every libfdt read function works on the
 * tree, and every step of fdt_next_tag() moves forward within the block.
 *
 * Items: tags known, each item inside the block, a node's name NUL-
 * terminated inside it, a property's length inside it and its name offset
 * a NUL-terminated string of the strings block. The shape: one root node
 * (the first item, with the empty name: checksum_offset), no FDT_NOP (the
 * writer never emits one), END_NODE balancing BEGIN_NODE, properties
 * before subnodes in every node (libfdt would not find a property after a
 * subnode, so a reader could not see it), no deeper nesting than the
 * format has, and FDT_END right after the root, the last item of the block.
 */
static int check_shape(const uint8_t *p, struct baton_diag *d)
{
	const uint8_t *s = p + fdt_off_dt_struct(p);
	const char *str = (const char *)p + fdt_off_dt_strings(p);
	size_t size = fdt_size_dt_struct(p), off = 0, next;
	uint32_t strsize = fdt_size_dt_strings(p), names_end = strsize;
	bool subnode_seen[MAX_DEPTH + 1];
	int depth = -1, roots = 0;

	/*
	 * A property's name is a string of the strings block: an offset in it
	 * with a NUL at or after it, inside it. That holds exactly for the
	 * offsets before the block's last NUL, found here once, so each
	 * property's name costs one comparison instead of a search.
	 */
	while (names_end > 0 && str[names_end - 1] != '\0')
		names_end--;

	for (;;) {
		const uint8_t *nul;
		uint32_t tag, len, nameoff;

		if (size - off < 4)
			return baton_diag_set(d, -EBADMSG,
					      "image is malformed: the structure block ends without FDT_END");
		tag = be32(s + off);
		switch (tag) {
		case FDT_BEGIN_NODE:
			nul = memchr(s + off + 4, '\0', size - off - 4);
			if (!nul)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: the node name at structure offset %zu runs past the block",
						      off);
			next = ((size_t)(nul - s) + 1 + 3) & ~(size_t)3;
			if (depth < 0 && roots++)
				return baton_diag_set(d, -EBADMSG,
						      "image has a second root node at structure offset %zu", off);
			if (depth >= 0)
				subnode_seen[depth] = true;
			if (++depth > MAX_DEPTH)
				return baton_diag_set(d, -EBADMSG,
						      "image nests nodes deeper than %d levels (structure offset %zu)",
						      MAX_DEPTH, off);
			subnode_seen[depth] = false;
			break;
		case FDT_END_NODE:
			if (depth < 0)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: FDT_END_NODE outside any node at structure offset %zu",
						      off);
			depth--;
			next = off + 4;
			break;
		case FDT_PROP:
			if (size - off < 12)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: the property at structure offset %zu runs past the block",
						      off);
			len = be32(s + off + 4);
			if (len > size - off - 12)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: the property at structure offset %zu says it is %u bytes, past the end of the block",
						      off, len);
			nameoff = be32(s + off + 8);
			if (nameoff >= names_end)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: the name of the property at structure offset %zu is at offset %u of the strings block (%u bytes), %s",
						      off, nameoff, strsize,
						      nameoff >= strsize ? "outside it" :
						      "where no NUL ends a string before the block does");
			if (depth < 0)
				return baton_diag_set(d, -EBADMSG,
						      "image has a property outside the root node (structure offset %zu)",
						      off);
			if (subnode_seen[depth])
				return baton_diag_set(d, -EBADMSG,
						      "image has a property after a subnode (structure offset %zu); properties come first",
						      off);
			next = (off + 12 + len + 3) & ~(size_t)3;
			break;
		case FDT_NOP:
			return baton_diag_set(d, -EBADMSG,
					      "image has FDT_NOP at structure offset %zu; baton images have none", off);
		case FDT_END:
			if (depth != -1)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: FDT_END inside a node at structure offset %zu", off);
			if (off + 4 != size)
				return baton_diag_set(d, -EBADMSG,
						      "image has data after FDT_END at structure offset %zu", off);
			return 0;
		default:
			return baton_diag_set(d, -EBADMSG,
					      "image is malformed: unknown tag 0x%x at structure offset %zu", tag, off);
		}
		if (next > size)
			return baton_diag_set(d, -EBADMSG,
					      "image is malformed: the item at structure offset %zu runs past the block",
					      off);
		off = next;
	}
}

static int open_header(struct baton_image *img, const struct blocks *b, struct baton_diag *d)
{
	static const char *const root_props[] = {
		"checksum", "compatible", "program", "release", "build-id", "generation",
		"frozen-at-ns",
	};
	enum { R_CHECKSUM, R_COMPATIBLE, R_PROGRAM, R_RELEASE, R_BUILD_ID, R_GENERATION, R_FROZEN };
	static const struct where root = { "the root node", NULL, 0 };
	struct pval v[sizeof(root_props) / sizeof(root_props[0])] = { { NULL, 0 } };
	struct prop p;
	const uint8_t *u;
	const char *s;
	char text[64];
	size_t tlen;
	int rc;

	rc = find_prop(b, 0, "compatible", &p);
	if (rc <= 0)
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "not a baton image: the root node has no \"compatible\" (want \"%s\")",
				      BATON_IMAGE_COMPATIBLE);
	s = (const char *)p.val;
	if (p.len < 1 || s[p.len - 1] != '\0')
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "not an image this reader knows: compatible is %u bytes without a terminating NUL; want \"%s\"",
				      p.len, BATON_IMAGE_COMPATIBLE);
	if (p.len != sizeof(BATON_IMAGE_COMPATIBLE) ||
	    memcmp(s, BATON_IMAGE_COMPATIBLE, sizeof(BATON_IMAGE_COMPATIBLE)) != 0)
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "not an image this reader knows: compatible is \"%s\"%s, not \"%s\"",
				      safe_text(text, sizeof(text), s, p.len),
				      strlen(s) + 1 < p.len ? " and more strings" : "",
				      BATON_IMAGE_COMPATIBLE);
	rc = check_props(b, 0, root_props, sizeof(root_props) / sizeof(root_props[0]), v, &root, NULL,
			 d);
	if (rc < 0)
		return rc;

	s = val_text(&v[R_PROGRAM], BATON_NAME_MAX, &tlen);
	if (!s || !baton_name_valid(s, tlen))
		return baton_diag_set(d, -EBADMSG,
				      "image header: \"program\" is not a name of 1-63 bytes with its NUL");
	memcpy(img->h.program, s, tlen + 1);
	s = val_text(&v[R_RELEASE], BATON_RELEASE_STRMAX, &tlen);
	if (!s || baton_release_parse(&img->h.release, s, tlen, NULL) < 0)
		return baton_diag_set(d, -EBADMSG,
				      "image header: \"release\" is not MAJOR.MINOR.PATCH text with its NUL");
	if (v[R_BUILD_ID].len > BATON_BUILD_ID_MAX)
		return baton_diag_set(d, -EBADMSG, "image header: \"build-id\" is %u bytes; at most %d",
				      v[R_BUILD_ID].len, BATON_BUILD_ID_MAX);
	img->h.build_id.len = v[R_BUILD_ID].len;
	memcpy(img->h.build_id.b, v[R_BUILD_ID].v, v[R_BUILD_ID].len);
	u = val_exact(&v[R_GENERATION], 8);
	if (!u)
		return baton_diag_set(d, -EBADMSG, "image header: \"generation\" is not a u64 (8 bytes)");
	img->h.generation = baton_decode_u64(u);
	u = val_exact(&v[R_FROZEN], 8);
	if (!u)
		return baton_diag_set(d, -EBADMSG, "image header: \"frozen-at-ns\" is not a u64 (8 bytes)");
	img->h.frozen_at_ns = baton_decode_u64(u);
	return 0;
}

/* The root's subnodes are exactly /fds, /regions and /objects, in that order. */
static int open_tables(struct baton_image *img, const struct blocks *b, struct baton_diag *d)
{
	static const char *const names[] = { "fds", "regions", "objects" };
	static const struct where where[] = { { "/fds", NULL, 0 }, { "/regions", NULL, 0 },
					      { "/objects", NULL, 0 } };
	int *nodes[] = { &img->fds_node, &img->regions_node, &img->objects_node };
	unsigned int i = 0;
	char text[64];
	struct walk w;
	int node, rc;

	if (!walk_node(b, 0, &w))
		return baton_diag_set(d, -EBADMSG, "image root: not a node");
	while ((rc = walk_subnode(&w, &node)) > 0) {
		if (i >= 3)
			return baton_diag_set(d, -EBADMSG,
					      "image has node /%s, which baton,image-v1 does not define",
					      node_name_text(b, node, text, sizeof(text)));
		if (!node_named(b, node, names[i], strlen(names[i])))
			return baton_diag_set(d, -EBADMSG,
					      "image has node /%s where /%s belongs (the root holds fds, regions and objects, in this order)",
					      node_name_text(b, node, text, sizeof(text)), names[i]);
		rc = check_props(b, node, NULL, 0, NULL, &where[i], NULL, d);
		if (rc < 0)
			return rc;
		*nodes[i++] = node;
	}
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "image root: malformed");
	if (i < 3)
		return baton_diag_set(d, -EBADMSG, "image lacks node /%s", names[i]);
	return 0;
}

/*
 * The entries of a table, one after another: *off is the first item of the
 * table's node (which has no properties). Returns 1 and the entry's node,
 * 0 at the table's end (*off after it), -1 if malformed.
 */
static int next_table_node(const struct blocks *b, uint32_t *off, int *node)
{
	uint32_t next, tag = item(b, *off, &next);

	if (tag == FDT_END_NODE) {
		*off = next;
		return 0;
	}
	if (tag != FDT_BEGIN_NODE)
		return -1;
	*node = (int)*off;
	return 1;
}

static int open_fds(struct baton_image *img, const struct blocks *b, struct baton_diag *d)
{
	static const char *const props[] = { "kind", "label" };
	struct where wh = { "/fds", "fd", 0 };
	char want[32], where[64], text[64];
	const uint8_t *kind;
	const char *label;
	struct walk w;
	uint32_t i = 0, off;
	size_t tlen, wlen;
	int node, rc;

	if (!walk_node(b, img->fds_node, &w))
		return baton_diag_set(d, -EBADMSG, "image /fds: not a node");
	off = w.off;
	while ((rc = next_table_node(b, &off, &node)) > 0) {
		struct pval v[2] = { { NULL, 0 }, { NULL, 0 } };

		if (i >= BATON_IMAGE_MAX_FDS)
			return baton_diag_set(d, -E2BIG, "image has more than %d fds", BATON_IMAGE_MAX_FDS);
		wlen = unit_name(want, sizeof(want), "fd", i);
		if (!node_named(b, node, want, wlen))
			return baton_diag_set(d, -EBADMSG, "image has /fds/%s where /fds/%s belongs",
					      node_name_text(b, node, text, sizeof(text)), want);
		wh.index = i;
		rc = check_props(b, node, props, 2, v, &wh, &off, d);
		if (rc < 0)
			return rc;
		rc = end_of_node(b, off, &wh, &off, d);
		if (rc < 0)
			return rc;
		kind = val_exact(&v[0], 4);
		if (!kind || be32(kind) > BATON_FD_KIND_MAX_)
			return baton_diag_set(d, -EBADMSG, "%s: \"kind\" is not a known fd kind (a u32 up to %d)",
					      where_text(&wh, where, sizeof(where)), BATON_FD_KIND_MAX_);
		label = val_text(&v[1], LABEL_MAX, &tlen);
		if (!label || !label_valid(label, tlen))
			return baton_diag_set(d, -EBADMSG,
					      "%s: \"label\" is not 0-63 bytes of printable ASCII with a NUL",
					      where_text(&wh, where, sizeof(where)));
		i++;
	}
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "image /fds: malformed");
	img->nfds = i;
	return 0;
}

static int open_regions(struct baton_image *img, const struct blocks *b, struct baton_diag *d)
{
	static const char *const props[] = { "fd", "size", "label" };
	struct where wh = { "/regions", "region", 0 };
	char want[32], where[64], text[64];
	const uint8_t *fd;
	const char *label;
	struct walk w;
	uint32_t i = 0, off;
	size_t tlen, wlen;
	int node, rc;

	if (!walk_node(b, img->regions_node, &w))
		return baton_diag_set(d, -EBADMSG, "image /regions: not a node");
	off = w.off;
	while ((rc = next_table_node(b, &off, &node)) > 0) {
		struct pval v[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };

		if (i >= BATON_IMAGE_MAX_FDS)
			return baton_diag_set(d, -E2BIG, "image has more than %d regions", BATON_IMAGE_MAX_FDS);
		wlen = unit_name(want, sizeof(want), "region", i);
		if (!node_named(b, node, want, wlen))
			return baton_diag_set(d, -EBADMSG, "image has /regions/%s where /regions/%s belongs",
					      node_name_text(b, node, text, sizeof(text)), want);
		wh.index = i;
		rc = check_props(b, node, props, 3, v, &wh, &off, d);
		if (rc < 0)
			return rc;
		rc = end_of_node(b, off, &wh, &off, d);
		if (rc < 0)
			return rc;
		fd = val_exact(&v[0], 4);
		if (!fd)
			return baton_diag_set(d, -EBADMSG, "%s: \"fd\" is not a u32 (4 bytes)",
					      where_text(&wh, where, sizeof(where)));
		if (be32(fd) >= img->nfds)
			return baton_diag_set(d, -EBADMSG, "%s names fd %u; the image has %u fds",
					      where_text(&wh, where, sizeof(where)), be32(fd), img->nfds);
		if (!val_exact(&v[1], 8))
			return baton_diag_set(d, -EBADMSG, "%s: \"size\" is not a u64 (8 bytes)",
					      where_text(&wh, where, sizeof(where)));
		label = val_text(&v[2], LABEL_MAX, &tlen);
		if (!label || !label_valid(label, tlen))
			return baton_diag_set(d, -EBADMSG,
					      "%s: \"label\" is not 0-63 bytes of printable ASCII with a NUL",
					      where_text(&wh, where, sizeof(where)));
		i++;
	}
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "image /regions: malformed");
	img->nregions = i;
	return 0;
}

/*
 * Names in a fields tree are field names, so a reader can print them as they
 * are. *after is the offset after the fields node.
 */
static int check_field_names(const struct blocks *b, int fields, const char *key, uint32_t *after,
			     struct baton_diag *d)
{
	uint32_t off = (uint32_t)fields, next, tag;
	char text[64];
	int depth = 0;

	do {
		struct prop p;
		size_t len;
		const char *name;

		tag = item(b, off, &next);
		switch (tag) {
		case FDT_BEGIN_NODE:
			if (off != (uint32_t)fields) {
				name = (const char *)b->s + off + 4;   /* item() found its NUL */
				len = strlen(name);
				if (!baton_name_valid(name, len))
					return baton_diag_set(d, -EBADMSG,
							      "object \"%s\": nested field \"%s\" is not a field name",
							      key, safe_text(text, sizeof(text), name, len));
			}
			depth++;
			break;
		case FDT_END_NODE:
			depth--;
			break;
		case FDT_PROP:
			if (!prop_at(b, off, &p))
				return baton_diag_set(d, -EBADMSG, "object \"%s\": unreadable field", key);
			if (!baton_name_valid(p.name, p.nlen))
				return baton_diag_set(d, -EBADMSG,
						      "object \"%s\": field \"%s\" is not a field name", key,
						      safe_text(text, sizeof(text), p.name, p.nlen));
			break;
		case FDT_NOP:
			break;
		default:
			return baton_diag_set(d, -EBADMSG, "object \"%s\": fields: malformed", key);
		}
		off = next;
	} while (depth > 0);
	*after = off;
	return 0;
}

/* One object, in one pass over its items; *after is the offset after it. */
static int open_object(const struct baton_image *img, const struct blocks *b, int node,
		       uint32_t index, uint32_t *after, struct baton_diag *d)
{
	static const char *const props[] = {
		"key", "contract", "version", "handler", "fingerprint", "flags", "fds",
	};
	enum { O_KEY, O_CONTRACT, O_VERSION, O_HANDLER, O_FINGERPRINT, O_FLAGS, O_FDS, O_N };
	const struct where wh = { "/objects", "object", index };
	struct pval v[O_N];
	char where[64], text[64];
	const uint8_t *u, *refs;
	const char *key, *s;
	size_t tlen;
	uint32_t i, n, off, next, tag;
	int rc;

	memset(v, 0, sizeof(v));
	rc = check_props(b, node, props, O_N, v, &wh, &off, d);
	if (rc < 0)
		return rc;
	key = val_text(&v[O_KEY], BATON_KEY_MAX, &tlen);
	if (!key || !key_valid(key, tlen))
		return baton_diag_set(d, -EBADMSG,
				      "%s: \"key\" is not 1-%d bytes of printable ASCII without spaces, with a NUL",
				      where_text(&wh, where, sizeof(where)), BATON_KEY_MAX - 1);
	u = val_exact(&v[O_CONTRACT], 16);
	if (!u)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"contract\" is not a UUID (16 bytes)", key);
	if (baton_uuid_is_nil((const baton_uuid *)(const void *)u))
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"contract\" is the nil UUID", key);
	u = val_exact(&v[O_VERSION], 4);
	if (!u || be32(u) == 0)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"version\" is not a u32 of at least 1", key);
	s = val_text(&v[O_HANDLER], BATON_NAME_MAX, &tlen);
	if (!s || !baton_name_valid(s, tlen))
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"handler\" is not a name with a NUL", key);
	if (!val_exact(&v[O_FINGERPRINT], BATON_FINGERPRINT_LEN))
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"fingerprint\" is not %d bytes", key,
				      BATON_FINGERPRINT_LEN);
	u = val_exact(&v[O_FLAGS], 4);
	if (!u)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"flags\" is not a u32 (4 bytes)", key);
	if (be32(u) & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": unknown flags 0x%x", key,
				      be32(u) & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_);
	refs = v[O_FDS].v;
	if (v[O_FDS].len % 4)
		return baton_diag_set(d, -EBADMSG,
				      "object \"%s\": \"fds\" is %u bytes, not a list of u32 fd indexes", key,
				      v[O_FDS].len);
	n = v[O_FDS].len / 4;
	if (n > BATON_IMAGE_MAX_FDS)
		return baton_diag_set(d, -E2BIG, "object \"%s\" refers to %u fds; at most %d", key, n,
				      BATON_IMAGE_MAX_FDS);
	for (i = 0; i < n; i++)
		if (be32(refs + 4 * i) >= img->nfds)
			return baton_diag_set(d, -EBADMSG,
					      "object \"%s\" refers to fd %u; the image has %u fds", key,
					      be32(refs + 4 * i), img->nfds);

	/* Exactly one subnode, "fields", right after the properties. */
	tag = item(b, off, &next);
	if (tag != FDT_BEGIN_NODE || !node_named(b, (int)off, "fields", 6))
		return baton_diag_set(d, -EBADMSG, "object \"%s\" has %s where its node \"fields\" belongs",
				      key, tag != FDT_BEGIN_NODE ? "nothing" :
				      node_name_text(b, (int)off, text, sizeof(text)));
	rc = check_field_names(b, (int)off, key, &off, d);
	if (rc < 0)
		return rc;
	tag = item(b, off, &next);
	if (tag != FDT_END_NODE)
		return baton_diag_set(d, -EBADMSG,
				      "object \"%s\" has node \"%s\", which baton,image-v1 does not define", key,
				      tag == FDT_BEGIN_NODE ? node_name_text(b, (int)off, text, sizeof(text)) : "?");
	*after = next;
	return 0;
}

static int open_objects(struct baton_image *img, const struct blocks *b, struct baton_diag *d)
{
	char want[32], text[64];
	struct walk w;
	uint32_t i = 0, off;
	size_t wlen;
	int node, rc;

	if (!walk_node(b, img->objects_node, &w))
		return baton_diag_set(d, -EBADMSG, "image /objects: not a node");
	off = w.off;
	while ((rc = next_table_node(b, &off, &node)) > 0) {
		if (i >= BATON_IMAGE_MAX_OBJECTS)
			return baton_diag_set(d, -E2BIG, "image has more than %d objects",
					      BATON_IMAGE_MAX_OBJECTS);
		wlen = unit_name(want, sizeof(want), "object", i);
		if (!node_named(b, node, want, wlen))
			return baton_diag_set(d, -EBADMSG, "image has /objects/%s where /objects/%s belongs",
					      node_name_text(b, node, text, sizeof(text)), want);
		rc = open_object(img, b, node, i, &off, d);
		if (rc < 0)
			return rc;
		i++;
	}
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "image /objects: malformed");
	img->nobjects = i;
	return 0;
}

/*
 * The header's three blocks against the image's size (checked equal to
 * totalsize before): each after the header and within the image, the
 * structure block at a 4-byte boundary (its items are 32-bit words), the
 * memory reservation map at an 8-byte one (its entries are 64-bit pairs)
 * with room for its terminating entry. These are the block checks of
 * libfdt's fdt_check_header(), which this replaces, and the two
 * alignments, which libfdt does not check. Nothing here is read from the
 * blocks themselves: that comes after the checksum.
 */
static bool block_within(uint32_t off, uint32_t size, uint32_t total)
{
	return off >= DTB_HEADER_SIZE && off <= total && size <= total - off;
}

static int check_blocks(const uint8_t *p, struct baton_diag *d)
{
	uint32_t total = fdt_totalsize(p);
	uint32_t st = fdt_off_dt_struct(p), st_size = fdt_size_dt_struct(p);
	uint32_t str = fdt_off_dt_strings(p), str_size = fdt_size_dt_strings(p);
	uint32_t rsv = fdt_off_mem_rsvmap(p);

	_Static_assert(DTB_HEADER_SIZE == sizeof(struct fdt_header), "the header of version 17");
	_Static_assert(RSV_ENTRY_SIZE == sizeof(struct fdt_reserve_entry), "a reservation entry");
	if (!block_within(st, st_size, total))
		return baton_diag_set(d, -EBADMSG,
				      "image header is inconsistent: the structure block (%u bytes at offset %u) does not lie between the %d-byte header and the end of the image (%u bytes)",
				      st_size, st, DTB_HEADER_SIZE, total);
	if (st % 4)
		return baton_diag_set(d, -EBADMSG,
				      "image header is inconsistent: the structure block starts at offset %u, not at a 4-byte boundary",
				      st);
	if (!block_within(str, str_size, total))
		return baton_diag_set(d, -EBADMSG,
				      "image header is inconsistent: the strings block (%u bytes at offset %u) does not lie between the %d-byte header and the end of the image (%u bytes)",
				      str_size, str, DTB_HEADER_SIZE, total);
	if (!block_within(rsv, RSV_ENTRY_SIZE, total))
		return baton_diag_set(d, -EBADMSG,
				      "image header is inconsistent: the memory reservation map at offset %u does not lie between the %d-byte header and the end of the image (%u bytes) with room for its %d-byte terminating entry",
				      rsv, DTB_HEADER_SIZE, total, RSV_ENTRY_SIZE);
	if (rsv % 8)
		return baton_diag_set(d, -EBADMSG,
				      "image header is inconsistent: the memory reservation map starts at offset %u, not at an 8-byte boundary",
				      rsv);
	return 0;
}

/*
 * The memory reservation map holds its terminating entry (address and size
 * 0) and nothing before it: a baton image reserves no memory. libfdt ends
 * the map at the first entry of size 0, whatever its address; the reader
 * wants the whole entry zero, as the writer writes it.
 */
static int check_rsvmap(const uint8_t *p, struct baton_diag *d)
{
	const uint8_t *e = p + fdt_off_mem_rsvmap(p);
	uint64_t addr = baton_decode_u64(e), size = baton_decode_u64(e + 8);

	if (addr || size)
		return baton_diag_set(d, -EBADMSG,
				      "image has memory reservations (the first entry of its map is address 0x%llx, size 0x%llx, not the terminating entry of zeros); baton images have none",
				      (unsigned long long)addr, (unsigned long long)size);
	return 0;
}

/* The size and the DTB header against len, then the checksum. */
static int open_seal(const uint8_t *p, size_t len, struct baton_diag *d)
{
	uint8_t sum[CHECKSUM_LEN];
	char have[2 * CHECKSUM_LEN + 1], want[2 * CHECKSUM_LEN + 1];
	size_t pos;
	int rc;

	if (len > BATON_IMAGE_MAX_SIZE)
		return baton_diag_set(d, -E2BIG, "image is %zu bytes; the limit is %u", len,
				      BATON_IMAGE_MAX_SIZE);
	if (len < sizeof(struct fdt_header))
		return baton_diag_set(d, -EBADMSG, "image is truncated: %zu bytes, less than a DTB header",
				      len);
	if (fdt_magic(p) != FDT_MAGIC)
		return baton_diag_set(d, -EBADMSG,
				      "not a device tree blob: magic 0x%08x, not 0x%08x", fdt_magic(p),
				      FDT_MAGIC);
	if (fdt_totalsize(p) > len)
		return baton_diag_set(d, -EBADMSG, "image is truncated: its header says %u bytes, %zu are here",
				      fdt_totalsize(p), len);
	if (fdt_totalsize(p) < len)
		return baton_diag_set(d, -EBADMSG,
				      "image has %zu bytes after its end: its header says %u bytes, %zu are here",
				      len - fdt_totalsize(p), fdt_totalsize(p), len);
	if (fdt_version(p) != DTB_VERSION || fdt_last_comp_version(p) != DTB_LAST_COMP_VERSION)
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "image is DTB version %u (compatible with %u); baton,image-v1 is version %d (%d)",
				      fdt_version(p), fdt_last_comp_version(p), DTB_VERSION,
				      DTB_LAST_COMP_VERSION);
	rc = check_blocks(p, d);
	if (rc < 0)
		return rc;
	rc = checksum_offset(p, &pos, d);
	if (rc < 0)
		return rc;
	image_checksum(p, len, pos, sum);
	if (memcmp(sum, p + pos, CHECKSUM_LEN) != 0) {
		baton_fingerprint a, b;

		memcpy(a.b, p + pos, CHECKSUM_LEN);
		memcpy(b.b, sum, CHECKSUM_LEN);
		baton_fingerprint_format(&a, have);
		baton_fingerprint_format(&b, want);
		return baton_diag_set(d, -EBADMSG,
				      "image is corrupt: checksum %s does not match its contents (%s)",
				      have, want);
	}
	return 0;
}

int baton_image_open(struct baton_image *img, const void *buf, size_t len, struct baton_diag *d)
{
	struct blocks b;
	int rc;

	if (!img)
		return baton_diag_set(d, -EINVAL, "baton_image_open: no image");
	memset(img, 0, sizeof(*img));
	if (!buf)
		return baton_diag_set(d, -EINVAL, "baton_image_open: no buffer");
	if ((uintptr_t)buf % 8)
		return baton_diag_set(d, -EINVAL, "baton_image_open: the buffer is not 8-byte aligned");
	rc = open_seal(buf, len, d);
	if (rc < 0)
		return rc;
	rc = check_rsvmap(buf, d);
	if (rc < 0)
		return rc;
	rc = check_shape(buf, d);
	if (rc < 0)
		return rc;

	img->fdt = buf;
	img->len = len;
	blocks_of(buf, &b);
	rc = open_header(img, &b, d);
	if (rc >= 0)
		rc = open_tables(img, &b, d);
	if (rc >= 0)
		rc = open_fds(img, &b, d);
	if (rc >= 0)
		rc = open_regions(img, &b, d);
	if (rc >= 0)
		rc = open_objects(img, &b, d);
	if (rc < 0) {
		memset(img, 0, sizeof(*img));
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading: accessors                                                       */

int baton_image_next_object(const struct baton_image *img, struct baton_image_object *obj)
{
	struct blocks b;
	struct walk w;
	struct prop p;
	bool key = false, contract = false;
	uint32_t after, next, tag;
	int node, rc;

	if (!img || !img->fdt || !obj)
		return -EINVAL;
	blocks_of(img->fdt, &b);
	if (obj->node < 0) {
		if (!walk_node(&b, img->objects_node, &w))
			return -EINVAL;
		rc = walk_subnode(&w, &node);
		if (rc <= 0)
			return rc < 0 ? -EINVAL : 0;
	} else {
		if (!skip_node(&b, (uint32_t)obj->node, &after))
			return -EINVAL;
		tag = item(&b, after, &next);
		if (tag == FDT_END_NODE)
			return 0;
		if (tag != FDT_BEGIN_NODE)
			return -EINVAL;
		node = (int)after;
	}
	obj->index = obj->node < 0 ? 0 : obj->index + 1;
	obj->node = node;
	obj->key = NULL;
	obj->version = 0;
	obj->handler = NULL;
	memset(&obj->fingerprint, 0, sizeof(obj->fingerprint));
	obj->flags = 0;
	obj->refs = NULL;
	obj->nrefs = 0;
	obj->fields_node = -1;

	/* One walk over the object's properties (open checked each of them). */
	if (!walk_node(&b, node, &w))
		return -EINVAL;
	while ((rc = walk_prop(&w, &p)) > 0) {
		switch (p.name[0]) {
		case 'k':
			if (strcmp(p.name, "key") == 0) {
				obj->key = (const char *)p.val;
				key = true;
			}
			break;
		case 'c':
			if (strcmp(p.name, "contract") == 0 && p.len == 16) {
				memcpy(obj->contract.b, p.val, 16);
				contract = true;
			}
			break;
		case 'v':
			if (strcmp(p.name, "version") == 0 && p.len == 4)
				obj->version = be32(p.val);
			break;
		case 'h':
			if (strcmp(p.name, "handler") == 0)
				obj->handler = (const char *)p.val;
			break;
		case 'f':
			if (strcmp(p.name, "fingerprint") == 0 && p.len == BATON_FINGERPRINT_LEN)
				memcpy(obj->fingerprint.b, p.val, BATON_FINGERPRINT_LEN);
			else if (strcmp(p.name, "flags") == 0 && p.len == 4)
				obj->flags = be32(p.val);
			else if (strcmp(p.name, "fds") == 0) {
				obj->refs = p.val;
				obj->nrefs = p.len / 4;
			}
			break;
		default:
			break;
		}
	}
	if (rc < 0 || !key || !contract)
		return -EINVAL;
	/* the first subnode, right after the properties */
	if (item(&b, w.off, &next) == FDT_BEGIN_NODE && node_named(&b, (int)w.off, "fields", 6))
		obj->fields_node = (int)w.off;
	return 1;
}

/* The index-th subnode of a table: linear in index (see the format spec). */
static int table_entry(const struct blocks *b, int table, uint32_t index)
{
	struct walk w;
	int node, rc;

	if (!walk_node(b, table, &w))
		return -EINVAL;
	do {
		rc = walk_subnode(&w, &node);
		if (rc <= 0)
			return -EINVAL;
	} while (index--);
	return node;
}

static void copy_label(char out[BATON_NAME_MAX], const struct pval *label)
{
	out[0] = '\0';
	if (label->v && label->len > 0 && label->len <= BATON_NAME_MAX)
		memcpy(out, label->v, label->len);
}

/* The properties of a table entry; names[i] into v[i]. */
static void entry_props(const struct blocks *b, int node, const char *const *names, unsigned n,
			struct pval *v)
{
	struct walk w;
	struct prop p;
	unsigned i;

	memset(v, 0, n * sizeof(*v));
	if (!walk_node(b, node, &w))
		return;
	while (walk_prop(&w, &p) > 0)
		for (i = 0; i < n; i++)
			if (!v[i].v && strcmp(p.name, names[i]) == 0) {
				v[i].v = p.val;
				v[i].len = p.len;
				break;
			}
}

static void fd_entry(const struct blocks *b, int node, struct baton_image_fd *out)
{
	static const char *const names[] = { "kind", "label" };
	struct pval v[2];
	const uint8_t *k;

	entry_props(b, node, names, 2, v);
	k = val_exact(&v[0], 4);
	out->kind = k ? be32(k) : BATON_FD_OTHER;
	copy_label(out->name, &v[1]);
}

static void region_entry(const struct blocks *b, int node, struct baton_image_region *out)
{
	static const char *const names[] = { "fd", "size", "label" };
	struct pval v[3];
	const uint8_t *u;

	entry_props(b, node, names, 3, v);
	u = val_exact(&v[0], 4);
	out->fd = u ? be32(u) : 0;
	u = val_exact(&v[1], 8);
	out->size = u ? baton_decode_u64(u) : 0;
	copy_label(out->name, &v[2]);
}

int baton_image_get_fd(const struct baton_image *img, uint32_t index, struct baton_image_fd *out)
{
	struct blocks b;
	int node;

	if (!img || !img->fdt || !out)
		return -EINVAL;
	if (index >= img->nfds)
		return -ERANGE;
	blocks_of(img->fdt, &b);
	node = table_entry(&b, img->fds_node, index);
	if (node < 0)
		return -EINVAL;
	fd_entry(&b, node, out);
	return 0;
}

int baton_image_get_region(const struct baton_image *img, uint32_t index, struct baton_image_region *out)
{
	struct blocks b;
	int node;

	if (!img || !img->fdt || !out)
		return -EINVAL;
	if (index >= img->nregions)
		return -ERANGE;
	blocks_of(img->fdt, &b);
	node = table_entry(&b, img->regions_node, index);
	if (node < 0)
		return -EINVAL;
	region_entry(&b, node, out);
	return 0;
}

/* The entry after it->node in table (the first when it->node < 0): 1, 0 or -EINVAL. */
static int next_entry(const struct blocks *b, int table, struct baton_image_iter *it)
{
	uint32_t after, next, tag;
	struct walk w;
	int node, rc;

	if (it->node < 0) {
		if (!walk_node(b, table, &w))
			return -EINVAL;
		rc = walk_subnode(&w, &node);
		if (rc <= 0)
			return rc < 0 ? -EINVAL : 0;
		it->index = 0;
	} else {
		if (!skip_node(b, (uint32_t)it->node, &after))
			return -EINVAL;
		tag = item(b, after, &next);
		if (tag == FDT_END_NODE)
			return 0;
		if (tag != FDT_BEGIN_NODE)
			return -EINVAL;
		node = (int)after;
		it->index++;
	}
	it->node = node;
	return 1;
}

int baton_image_next_fd(const struct baton_image *img, struct baton_image_iter *it,
			struct baton_image_fd *out)
{
	struct blocks b;
	int rc;

	if (!img || !img->fdt || !it || !out)
		return -EINVAL;
	blocks_of(img->fdt, &b);
	rc = next_entry(&b, img->fds_node, it);
	if (rc > 0)
		fd_entry(&b, it->node, out);
	return rc;
}

int baton_image_next_region(const struct baton_image *img, struct baton_image_iter *it,
			    struct baton_image_region *out)
{
	struct blocks b;
	int rc;

	if (!img || !img->fdt || !it || !out)
		return -EINVAL;
	blocks_of(img->fdt, &b);
	rc = next_entry(&b, img->regions_node, it);
	if (rc > 0)
		region_entry(&b, it->node, out);
	return rc;
}

int baton_image_get_field(const struct baton_image *img, int fields_node, const char *name,
			  const void **value, size_t *len)
{
	struct blocks b;
	struct prop p;
	int rc;

	if (!img || !img->fdt || !name || !value || !len)
		return -EINVAL;
	blocks_of(img->fdt, &b);
	rc = find_prop(&b, fields_node, name, &p);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : -EINVAL;
	*value = p.val;
	*len = p.len;
	return 0;
}

int baton_image_get_nested(const struct baton_image *img, int fields_node, const char *name)
{
	struct blocks b;

	if (!img || !img->fdt || !name)
		return -EINVAL;
	blocks_of(img->fdt, &b);
	return find_subnode(&b, fields_node, name, strlen(name));
}

/*
 * The schema field called name (len bytes), looked for first at *hint: a
 * writer puts the fields in the schema's order, so that is almost always
 * where the next one is.
 */
static int field_index(const struct baton_field *fields, size_t n, const char *name, size_t len,
		       size_t *hint)
{
	size_t i, k;

	for (k = 0; k < n; k++) {
		i = *hint + k < n ? *hint + k : *hint + k - n;
		if (fields[i].name[0] == name[0] && strncmp(fields[i].name, name, BATON_NAME_MAX) == 0 &&
		    len < BATON_NAME_MAX) {
			*hint = i + 1 < n ? i + 1 : 0;
			return (int)i;
		}
	}
	return -1;
}

int baton_image_get_fields(const struct baton_image *img, int fields_node,
			   const struct baton_field *fields, size_t nfields,
			   struct baton_image_value *out)
{
	struct blocks b;
	struct walk w;
	struct prop p;
	size_t i, hint = 0;
	int found = 0, sub, rc, k;

	if (!img || !img->fdt || (nfields && (!fields || !out)))
		return -EINVAL;
	blocks_of(img->fdt, &b);
	if (!walk_node(&b, fields_node, &w))
		return -EINVAL;
	for (i = 0; i < nfields; i++) {
		out[i].value = NULL;
		out[i].len = 0;
		out[i].node = -1;
	}
	while ((rc = walk_prop(&w, &p)) > 0) {
		k = field_index(fields, nfields, p.name, p.nlen, &hint);
		if (k < 0 || fields[k].type == BATON_T_SCHEMA || out[k].value)
			continue;   /* not a value of the schema, or a second one */
		out[k].value = p.val;
		out[k].len = p.len;
		found++;
	}
	if (rc < 0)
		return -EINVAL;
	hint = 0;
	while ((rc = walk_subnode(&w, &sub)) > 0) {
		size_t len;
		const char *name = name_at(&b, sub, &len);

		k = name ? field_index(fields, nfields, name, len, &hint) : -1;
		if (k < 0 || fields[k].type != BATON_T_SCHEMA || out[k].node >= 0)
			continue;
		out[k].node = sub;
		found++;
	}
	if (rc < 0)
		return -EINVAL;
	return found;
}

/* ------------------------------------------------------------------------ */
/* Field checks against a schema                                            */

struct fcheck {
	const struct baton_image *img;
	struct blocks b;
	int top;                 /* the fields node the caller gave */
	baton_schema_fn schema;
	void *schema_ctx;
	bool trusted;            /* the fields come from a catalog that checked them */
	struct baton_diag *d;
	bool resolved;           /* obj and top_desc filled (only when failing) */
	char obj[BATON_KEY_MAX + 16];   /* `object "cache/main": ` or "" */
	char top_desc[96];              /* "schema <uuid> version 2" or "the schema" */
	char path[BATON_MAX_NESTING * BATON_NAME_MAX + 1];  /* "outer.inner." */
	size_t pathlen;
};

/*
 * Words for a failure name the object and its contract; that costs a walk
 * from the start of the tree (fdt_parent_offset), so it is done only when a
 * check fails.
 */
static void fc_resolve(struct fcheck *fc)
{
	const struct blocks *b = &fc->b;
	struct prop key, contract, version;
	int parent;

	if (fc->resolved)
		return;
	fc->resolved = true;
	fc->obj[0] = '\0';
	snprintf(fc->top_desc, sizeof(fc->top_desc), "the schema");
	if (!node_named(b, fc->top, "fields", 6))
		return;
	parent = fdt_parent_offset(fc->img->fdt, fc->top);
	if (parent < 0)
		return;
	if (find_prop(b, parent, "key", &key) > 0 && key.len >= 1 && key.len <= BATON_KEY_MAX &&
	    key.val[key.len - 1] == '\0' && !memchr(key.val, '\0', key.len - 1) &&
	    key_valid((const char *)key.val, key.len - 1))
		snprintf(fc->obj, sizeof(fc->obj), "object \"%s\": ", (const char *)key.val);
	if (find_prop(b, parent, "contract", &contract) > 0 && contract.len == 16 &&
	    find_prop(b, parent, "version", &version) > 0 && version.len == 4) {
		char uuid[BATON_UUID_STRLEN + 1];

		baton_uuid_format((const baton_uuid *)(const void *)contract.val, uuid);
		snprintf(fc->top_desc, sizeof(fc->top_desc), "schema %s version %u", uuid,
			 be32(version.val));
	}
}

static const char *fc_desc(struct fcheck *fc, const char *nested_desc)
{
	if (nested_desc)
		return nested_desc;
	fc_resolve(fc);
	return fc->top_desc;
}

static int fc_fail(struct fcheck *fc, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fc_fail(struct fcheck *fc, int code, const char *fmt, ...)
{
	char msg[BATON_DIAG_MAX];
	va_list ap;

	fc_resolve(fc);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return baton_diag_set(fc->d, code, "%s%s", fc->obj, msg);
}

/* What a schema says a field is, for people: "u64 (8 bytes)". */
static const char *type_words(const struct baton_field *f, char *out, size_t size)
{
	const char *tname = baton_type_name(f->type);

	switch (f->type) {
	case BATON_T_BOOL:
		snprintf(out, size, "bool (1 byte, 0 or 1)");
		break;
	case BATON_T_BYTES:
		snprintf(out, size, "bytes (exactly %u)", f->size);
		break;
	case BATON_T_STRING:
		snprintf(out, size, "string (at most %u bytes of text, then a NUL)", f->size);
		break;
	case BATON_T_ARRAY:
		snprintf(out, size, "array of at most %u %s (%zu bytes each)", f->size,
			 baton_type_name(f->elem), baton_type_width(f->elem));
		break;
	case BATON_T_SCHEMA:
		snprintf(out, size, "nested schema %.36s version %u (a node)", f->contract, f->version);
		break;
	case BATON_T_FD:
		snprintf(out, size, "fd (a u32 index into the fd table)");
		break;
	case BATON_T_REGION:
		snprintf(out, size, "region (a u32 index into the region table)");
		break;
	default:
		snprintf(out, size, "%s (%zu bytes)", tname ? tname : "?", baton_type_width(f->type));
		break;
	}
	return out;
}

static int check_value(struct fcheck *fc, const struct baton_field *f, const uint8_t *v, size_t len,
		       const char *desc)
{
	char tw[96];
	size_t i, width;
	uint32_t index;

#define FIELD_FAIL(fmt, ...) \
	fc_fail(fc, -EBADMSG, "field \"%s%s\" " fmt "; %s says %s", fc->path, f->name, __VA_ARGS__, \
		fc_desc(fc, desc), type_words(f, tw, sizeof(tw)))

	switch (f->type) {
	case BATON_T_BYTES:
		if (len != f->size)
			return FIELD_FAIL("is %zu bytes", len);
		return 0;
	case BATON_T_STRING: {
		const uint8_t *nul;

		if (len == 0 || v[len - 1] != '\0')
			return FIELD_FAIL("is %zu bytes without a terminating NUL", len);
		nul = memchr(v, '\0', len - 1);
		if (nul)
			return FIELD_FAIL("has a NUL inside its text (byte %zu of %zu)",
					  (size_t)(nul - v), len);
		if (len - 1 > f->size)
			return FIELD_FAIL("is %zu bytes of text", len - 1);
		return 0;
	}
	case BATON_T_ARRAY:
		width = baton_type_width(f->elem);
		if (len % width)
			return FIELD_FAIL("is %zu bytes, not a whole number of elements", len);
		if (len / width > f->size)
			return FIELD_FAIL("has %zu elements", len / width);
		if (f->elem == BATON_T_BOOL)
			for (i = 0; i < len; i++)
				if (v[i] > 1)
					return FIELD_FAIL("has element %zu holding %u, not a bool", i, v[i]);
		return 0;
	case BATON_T_FD:
	case BATON_T_REGION:
		if (len != 4)
			return FIELD_FAIL("is %zu bytes", len);
		index = be32(v);
		if (f->type == BATON_T_FD && index >= fc->img->nfds)
			return FIELD_FAIL("refers to fd %u, and the image has %u fds", index,
					  fc->img->nfds);
		if (f->type == BATON_T_REGION && index >= fc->img->nregions)
			return FIELD_FAIL("refers to region %u, and the image has %u regions", index,
					  fc->img->nregions);
		return 0;
	default:
		width = baton_type_width(f->type);
		if (len != width)
			return FIELD_FAIL("is %zu bytes", len);
		if (f->type == BATON_T_BOOL && v[0] > 1)
			return FIELD_FAIL("holds %u", v[0]);
		return 0;
	}
#undef FIELD_FAIL
}

/* Schemas of up to this many fields are checked for duplicates with a bitmap on the stack. */
#define SEEN_MAX 1024

/*
 * The first time field k is seen in node: true. Past SEEN_MAX, the property
 * (value, or the nested node sub) is compared with the first of its name.
 */
static bool seen_first(const struct fcheck *fc, uint64_t *seen, int node, size_t k,
		       const struct baton_field *f, const uint8_t *val, int sub)
{
	struct prop first;

	if (k < SEEN_MAX) {
		if (seen[k / 64] & (1ull << (k % 64)))
			return false;
		seen[k / 64] |= 1ull << (k % 64);
		return true;
	}
	if (sub >= 0)
		return find_subnode(&fc->b, node, f->name, strlen(f->name)) == sub;
	return find_prop(&fc->b, node, f->name, &first) > 0 && first.val == val;
}

static bool seen_any(const struct fcheck *fc, const uint64_t *seen, int node, size_t k,
		     const struct baton_field *f)
{
	struct prop p;

	if (k < SEEN_MAX)
		return seen[k / 64] & (1ull << (k % 64));
	return find_prop(&fc->b, node, f->name, &p) > 0;
}

static int check_level(struct fcheck *fc, int node, const struct baton_field *fields, size_t n,
		       const char *desc, int depth);

static int check_nested(struct fcheck *fc, int node, const struct baton_field *f, const char *desc,
			int depth)
{
	const struct baton_field *nf = NULL;
	char ndesc[96], tw[96];
	size_t nn = 0, save = fc->pathlen;
	baton_uuid u;
	int sub, rc;

	/* First, so that a schema that nests itself says so. */
	if (depth + 1 > BATON_MAX_NESTING)
		return fc_fail(fc, -ELOOP, "field \"%s%s\" nests schema %.36s version %u deeper than %d levels",
			       fc->path, f->name, f->contract, f->version, BATON_MAX_NESTING);
	sub = find_subnode(&fc->b, node, f->name, strlen(f->name));
	if (sub == -ENOENT)
		return fc_fail(fc, -EBADMSG, "field \"%s%s\" is missing; %s says %s", fc->path, f->name,
			       fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
	if (sub < 0)
		return fc_fail(fc, -EBADMSG, "field \"%s%s\": malformed node", fc->path, f->name);
	baton_uuid_parse(&u, f->contract, BATON_UUID_STRLEN);
	if (!fc->schema)
		return fc_fail(fc, -ENOENT, "field \"%s%s\" nests schema %.36s version %u, and no lookup was given",
			       fc->path, f->name, f->contract, f->version);
	rc = fc->schema(fc->schema_ctx, &u, f->version, &nf, &nn);
	if (rc < 0 || (nn && !nf))
		return fc_fail(fc, rc < 0 ? rc : -EINVAL,
			       "field \"%s%s\" nests schema %.36s version %u, which has no schema here",
			       fc->path, f->name, f->contract, f->version);
	snprintf(ndesc, sizeof(ndesc), "schema %.36s version %u", f->contract, f->version);
	baton__appendf(fc->path, sizeof(fc->path), &fc->pathlen, "%s.", f->name);
	rc = check_level(fc, sub, nf, nn, ndesc, depth + 1);
	fc->pathlen = save;
	fc->path[save] = '\0';
	return rc;
}

/*
 * One walk over the node: every property a value the schema names, once, in
 * its form; every subnode a nested field it names, once; then every field of
 * the schema present, nested ones checked recursively.
 */
static int check_level(struct fcheck *fc, int node, const struct baton_field *fields, size_t n,
		       const char *desc, int depth)
{
	const struct blocks *b = &fc->b;
	uint64_t seen[SEEN_MAX / 64];
	const struct baton_field *f;
	char tw[96], text[64];
	struct walk w;
	struct prop p;
	size_t i, hint = 0;
	int sub, rc, k;

	if (!fc->trusted)
		for (i = 0; i < n; i++) {
			struct baton_diag why;

			if (baton_field_check(&fields[i], &why) < 0)
				return fc_fail(fc, -EINVAL, "%s: %s", fc_desc(fc, desc), why.msg);
		}
	if (!walk_node(b, node, &w))
		return fc_fail(fc, -EINVAL, "not a fields node: %d is not a node", node);
	memset(seen, 0, ((n < SEEN_MAX ? n : SEEN_MAX) + 63) / 64 * sizeof(seen[0]));

	/* Nothing the schema does not name, nothing twice, every value in its form. */
	while ((rc = walk_prop(&w, &p)) > 0) {
		k = field_index(fields, n, p.name, p.nlen, &hint);
		if (k < 0)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is not in %s", fc->path,
				       safe_text(text, sizeof(text), p.name, p.nlen), fc_desc(fc, desc));
		f = &fields[k];
		if (f->type == BATON_T_SCHEMA)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is a value; %s says %s", fc->path,
				       f->name, fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
		if (!seen_first(fc, seen, node, (size_t)k, f, p.val, -1))
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" appears twice", fc->path, f->name);
		rc = check_value(fc, f, p.val, p.len, desc);
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return fc_fail(fc, -EBADMSG, "unreadable field in a fields node");
	hint = 0;
	while ((rc = walk_subnode(&w, &sub)) > 0) {
		size_t nlen;
		const char *name = name_at(b, sub, &nlen);

		if (!name)
			return fc_fail(fc, -EBADMSG, "unreadable nested field");
		k = field_index(fields, n, name, nlen, &hint);
		if (k < 0)
			return fc_fail(fc, -EBADMSG, "nested field \"%s%s\" is not in %s", fc->path,
				       safe_text(text, sizeof(text), name, nlen), fc_desc(fc, desc));
		f = &fields[k];
		if (f->type != BATON_T_SCHEMA)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is a nested node; %s says %s", fc->path,
				       f->name, fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
		if (!seen_first(fc, seen, node, (size_t)k, f, NULL, sub))
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" appears twice", fc->path, f->name);
	}
	if (rc < 0)
		return fc_fail(fc, -EBADMSG, "unreadable nested field");

	/* Everything the schema names. */
	for (i = 0; i < n; i++) {
		f = &fields[i];
		if (f->type == BATON_T_SCHEMA) {
			rc = check_nested(fc, node, f, desc, depth);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!seen_any(fc, seen, node, i, f))
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is missing; %s says %s", fc->path,
				       f->name, fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
	}
	return 0;
}

int baton__image_check_fields(const struct baton_image *img, int fields_node,
			      const struct baton_field *fields, size_t nfields,
			      baton_schema_fn schema, void *schema_ctx, bool trusted,
			      struct baton_diag *d)
{
	struct fcheck fc;
	size_t len;

	if (!img || !img->fdt || (nfields && !fields))
		return baton_diag_set(d, -EINVAL, "baton_image_check_fields: no image or no fields");
	fc.img = img;
	blocks_of(img->fdt, &fc.b);
	if (!name_at(&fc.b, fields_node, &len))
		return baton_diag_set(d, -EINVAL, "baton_image_check_fields: %d is not a node", fields_node);
	fc.top = fields_node;
	fc.schema = schema;
	fc.schema_ctx = schema_ctx;
	fc.trusted = trusted;
	fc.d = d;
	fc.resolved = false;
	fc.path[0] = '\0';
	fc.pathlen = 0;
	return check_level(&fc, fields_node, fields, nfields, NULL, 0);
}

int baton_image_check_fields(const struct baton_image *img, int fields_node,
			     const struct baton_field *fields, size_t nfields,
			     baton_schema_fn schema, void *schema_ctx, struct baton_diag *d)
{
	return baton__image_check_fields(img, fields_node, fields, nfields, schema, schema_ctx, false,
					 d);
}
