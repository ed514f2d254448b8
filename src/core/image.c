/* SPDX-License-Identifier: MIT */
/*
 * DOC: core image codec — the handover document, written and read
 *
 * An image is a flattened device tree written in one pass with libfdt's
 * sequential-write API into a caller's buffer, and read back with libfdt's
 * read-only API from a buffer that came from another process and is treated
 * as hostile. docs/image-format.md is the specification; this file is its
 * implementation and the two must say the same thing.
 *
 * The writer keeps the order the tree needs (the fd and region tables, then
 * the objects; in every node the values before the nested nodes) in a small
 * state machine and refuses calls out of order. It seals the image with the
 * checksum, the root node's first property, once the tree is closed.
 *
 * The reader first locates the checksum at its fixed place and verifies it,
 * then walks every tag and length itself (libfdt 1.6.1 can loop on a
 * hostile length) checking the shape of the tree (one root, no NOPs,
 * properties before subnodes, bounded depth), then lets libfdt check the
 * whole tree, then checks every node and property this format names, with
 * exact lengths, and refuses anything it does not name. After that the
 * accessors only walk. Field values are checked separately against the
 * reader's schema, because only the reader knows which schema applies.
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
/* Depths below the root: tables and /objects 1, entries and objects 2,
 * fields 3, then the nested fields. */
#define FIELDS_DEPTH 3
#define MAX_DEPTH (FIELDS_DEPTH + BATON_MAX_NESTING)
#define LABEL_MAX BATON_NAME_MAX

static const char checksum_name[] = "checksum";

/* ------------------------------------------------------------------------ */
/* Encodings                                                                */

void baton_encode_u16(uint8_t out[2], uint16_t v)
{
	out[0] = (uint8_t)(v >> 8);
	out[1] = (uint8_t)v;
}

void baton_encode_u32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

void baton_encode_u64(uint8_t out[8], uint64_t v)
{
	baton_encode_u32(out, (uint32_t)(v >> 32));
	baton_encode_u32(out + 4, (uint32_t)v);
}

uint16_t baton_decode_u16(const uint8_t in[2])
{
	return (uint16_t)(in[0] << 8 | in[1]);
}

uint32_t baton_decode_u32(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

uint64_t baton_decode_u64(const uint8_t in[8])
{
	return (uint64_t)baton_decode_u32(in) << 32 | baton_decode_u32(in + 4);
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
		return baton_decode_u32(in);
	case BATON_T_U64:
	case BATON_T_I64:
		return baton_decode_u64(in);
	case BATON_T_I8:
		return (uint64_t)(int64_t)(int8_t)in[0];
	case BATON_T_I16:
		return (uint64_t)(int64_t)(int16_t)baton_decode_u16(in);
	case BATON_T_I32:
		return (uint64_t)(int64_t)(int32_t)baton_decode_u32(in);
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

/* "object@12": the node name of entry i of a table. */
static void unit_name(char *out, size_t size, const char *base, uint32_t i)
{
	snprintf(out, size, "%s@%u", base, i);
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
 * The offset of the checksum value, for a buffer whose header fdt_check_header
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
	tag = baton_decode_u32(p + st);
	if (tag != FDT_BEGIN_NODE || p[st + 4] != '\0')
		return baton_diag_set(d, -EBADMSG,
				      "image is malformed: the structure block does not open with the root node");
	tag = baton_decode_u32(p + st + CHECKSUM_TAG_OFF);
	if (tag != FDT_PROP)
		return baton_diag_set(d, -EBADMSG,
				      "image has no checksum: the root node's first item is not a property (tag 0x%x); it must be \"checksum\"",
				      tag);
	plen = baton_decode_u32(p + st + CHECKSUM_TAG_OFF + 4);
	nameoff = baton_decode_u32(p + st + CHECKSUM_TAG_OFF + 8);
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
			rc = fdt_begin_node(w->buf, "fds");
			break;
		case W_FDS:
			rc = fdt_end_node(w->buf);
			if (rc >= 0)
				rc = fdt_begin_node(w->buf, "regions");
			break;
		case W_REGIONS:
			rc = fdt_end_node(w->buf);
			if (rc >= 0)
				rc = fdt_begin_node(w->buf, "objects");
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

	rc = fdt_property_placeholder(w->buf, "fds", (int)(n * 4), &val);
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
		rc = fdt_begin_node(w->buf, "fields");
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

	rc = fdt_create(buf, (int)w->size);
	if (rc >= 0)
		rc = fdt_finish_reservemap(buf);
	if (rc >= 0)
		rc = fdt_begin_node(buf, "");
	/* First, so that readers find it at a fixed place; sealed by finish. */
	if (rc >= 0)
		rc = fdt_property(buf, checksum_name, zero, CHECKSUM_LEN);
	if (rc >= 0)
		rc = fdt_property_string(buf, "compatible", BATON_IMAGE_COMPATIBLE);
	if (rc >= 0)
		rc = fdt_property(buf, "program", h->program, (int)plen + 1);
	if (rc >= 0)
		rc = fdt_property_string(buf, "release", release);
	if (rc >= 0)
		rc = fdt_property(buf, "build-id", h->build_id.b, (int)h->build_id.len);
	if (rc >= 0)
		rc = fdt_property_u64(buf, "generation", h->generation);
	if (rc >= 0)
		rc = fdt_property_u64(buf, "frozen-at-ns", h->frozen_at_ns);
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
	rc = fdt_begin_node(w->buf, node);
	if (rc >= 0)
		rc = fdt_property_u32(w->buf, "kind", fd->kind);
	if (rc >= 0)
		rc = fdt_property(w->buf, "label", fd->name, (int)llen + 1);
	if (rc >= 0)
		rc = fdt_end_node(w->buf);
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
	rc = fdt_begin_node(w->buf, node);
	if (rc >= 0)
		rc = fdt_property_u32(w->buf, "fd", r->fd);
	if (rc >= 0)
		rc = fdt_property_u64(w->buf, "size", r->size);
	if (rc >= 0)
		rc = fdt_property(w->buf, "label", r->name, (int)llen + 1);
	if (rc >= 0)
		rc = fdt_end_node(w->buf);
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
	rc = fdt_begin_node(w->buf, node);
	if (rc >= 0)
		rc = fdt_property(w->buf, "key", key, (int)klen + 1);
	if (rc >= 0)
		rc = fdt_property(w->buf, "contract", contract->b, sizeof(contract->b));
	if (rc >= 0)
		rc = fdt_property_u32(w->buf, "version", version);
	if (rc >= 0)
		rc = fdt_property(w->buf, "handler", handler, (int)hlen + 1);
	if (rc >= 0)
		rc = fdt_property(w->buf, "fingerprint", fingerprint->b, sizeof(fingerprint->b));
	if (rc >= 0)
		rc = fdt_property_u32(w->buf, "flags", flags);
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
	rc = fdt_property_placeholder(w->buf, name, (int)len, &val);
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
	rc = fdt_begin_node(w->buf, name);
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
	rc = fdt_end_node(w->buf);
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
	rc = fdt_end_node(w->buf);
	if (rc >= 0)
		rc = fdt_end_node(w->buf);
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
	rc = fdt_end_node(w->buf);   /* /objects */
	if (rc >= 0)
		rc = fdt_end_node(w->buf);   /* / */
	if (rc >= 0)
		rc = fdt_finish(w->buf);
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
/* Reading: checks at open                                                  */

/* A property's value if it has exactly len bytes, else NULL. */
static const uint8_t *prop_exact(const void *fdt, int node, const char *name, int len)
{
	int plen;
	const void *val = fdt_getprop(fdt, node, name, &plen);

	return val && plen == len ? val : NULL;
}

/*
 * A property holding text: NUL-terminated, no NUL inside, at most max bytes
 * with the NUL. Returns the text and its length without the NUL, or NULL.
 */
static const char *prop_text(const void *fdt, int node, const char *name, size_t max, size_t *tlen)
{
	int plen;
	const char *val = fdt_getprop(fdt, node, name, &plen);

	if (!val || plen < 1 || (size_t)plen > max || val[plen - 1] != '\0' ||
	    memchr(val, '\0', (size_t)plen - 1))
		return NULL;
	*tlen = (size_t)plen - 1;
	return val;
}

/*
 * Every property of node is one of names[] and appears once, and every one
 * of names[] is there. What the format does not name is refused: a newer
 * format says so with a new compatible string.
 */
static int check_props(const void *fdt, int node, const char *const *names, unsigned int n,
		       const char *where, struct baton_diag *d)
{
	uint32_t seen = 0;
	unsigned int i;
	int prop;

	fdt_for_each_property_offset(prop, fdt, node) {
		const char *pname;
		char text[64];
		int plen;

		if (!fdt_getprop_by_offset(fdt, prop, &pname, &plen))
			return baton_diag_set(d, -EBADMSG, "%s: unreadable property: %s", where,
					      fdt_strerror(plen));
		for (i = 0; i < n; i++)
			if (strcmp(pname, names[i]) == 0)
				break;
		if (i == n)
			return baton_diag_set(d, -EBADMSG,
					      "%s has property \"%s\", which baton,image-v1 does not define",
					      where, safe_text(text, sizeof(text), pname, strlen(pname)));
		if (seen & (1u << i))
			return baton_diag_set(d, -EBADMSG, "%s has property \"%s\" twice", where,
					      names[i]);
		seen |= 1u << i;
	}
	if (prop != -FDT_ERR_NOTFOUND)
		return baton_diag_set(d, -EBADMSG, "%s: %s", where, fdt_strerror(prop));
	for (i = 0; i < n; i++)
		if (!(seen & (1u << i)))
			return baton_diag_set(d, -EBADMSG, "%s lacks property \"%s\"", where, names[i]);
	return 0;
}

static bool node_named(const void *fdt, int node, const char *want)
{
	int len;
	const char *name = fdt_get_name(fdt, node, &len);

	return name && (size_t)len == strlen(want) && memcmp(name, want, (size_t)len) == 0;
}

static const char *node_name_text(const void *fdt, int node, char *out, size_t size)
{
	int len;
	const char *name = fdt_get_name(fdt, node, &len);

	return name ? safe_text(out, size, name, (size_t)len) : "?";
}

static int no_subnodes(const void *fdt, int node, const char *where, struct baton_diag *d)
{
	char text[64];
	int sub = fdt_first_subnode(fdt, node);

	if (sub >= 0)
		return baton_diag_set(d, -EBADMSG, "%s has node \"%s\", which baton,image-v1 does not define",
				      where, node_name_text(fdt, sub, text, sizeof(text)));
	return 0;
}

/*
 * Every tag and length of the structure block, and the shape libfdt does not
 * insist on, in one bounded walk over the raw bytes. This runs before any
 * libfdt function walks the tree: libfdt 1.6.1's fdt_next_tag() adds a
 * property's length to its offset unchecked, so a length such as 0xfffffff4
 * steps back onto the same tag and fdt_check_full() never returns. After
 * this walk every step of fdt_next_tag() moves forward within the block.
 *
 * The shape: one root node, no FDT_NOP (the writer never emits one),
 * properties before subnodes in every node (libfdt would not find a
 * property after a subnode, so a reader could not see it), no deeper
 * nesting than the format has, and nothing after FDT_END.
 */
static int check_shape(const uint8_t *p, struct baton_diag *d)
{
	const uint8_t *s = p + fdt_off_dt_struct(p);
	size_t size = fdt_size_dt_struct(p), off = 0, next;
	bool subnode_seen[MAX_DEPTH + 1];
	int depth = -1, roots = 0;

	for (;;) {
		const uint8_t *nul;
		uint32_t tag, len;

		if (size - off < 4)
			return baton_diag_set(d, -EBADMSG,
					      "image is malformed: the structure block ends without FDT_END");
		tag = baton_decode_u32(s + off);
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
			len = baton_decode_u32(s + off + 4);
			if (len > size - off - 12)
				return baton_diag_set(d, -EBADMSG,
						      "image is malformed: the property at structure offset %zu says it is %u bytes, past the end of the block",
						      off, len);
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

static int open_header(struct baton_image *img, struct baton_diag *d)
{
	static const char *const root_props[] = {
		"checksum", "compatible", "program", "release", "build-id", "generation",
		"frozen-at-ns",
	};
	const void *fdt = img->fdt;
	const uint8_t *v;
	const char *s;
	char text[64];
	size_t tlen;
	int len, rc;

	s = fdt_getprop(fdt, 0, "compatible", &len);
	if (!s)
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "not a baton image: the root node has no \"compatible\" (want \"%s\")",
				      BATON_IMAGE_COMPATIBLE);
	if (len < 1 || s[len - 1] != '\0')
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "not an image this reader knows: compatible is %d bytes without a terminating NUL; want \"%s\"",
				      len, BATON_IMAGE_COMPATIBLE);
	if ((size_t)len != sizeof(BATON_IMAGE_COMPATIBLE) ||
	    memcmp(s, BATON_IMAGE_COMPATIBLE, sizeof(BATON_IMAGE_COMPATIBLE)) != 0)
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "not an image this reader knows: compatible is \"%s\"%s, not \"%s\"",
				      safe_text(text, sizeof(text), s, (size_t)len),
				      strlen(s) + 1 < (size_t)len ? " and more strings" : "",
				      BATON_IMAGE_COMPATIBLE);
	rc = check_props(fdt, 0, root_props, sizeof(root_props) / sizeof(root_props[0]),
			 "the root node", d);
	if (rc < 0)
		return rc;

	s = prop_text(fdt, 0, "program", BATON_NAME_MAX, &tlen);
	if (!s || !baton_name_valid(s, tlen))
		return baton_diag_set(d, -EBADMSG,
				      "image header: \"program\" is not a name of 1-63 bytes with its NUL");
	memcpy(img->h.program, s, tlen + 1);
	s = prop_text(fdt, 0, "release", BATON_RELEASE_STRMAX, &tlen);
	if (!s || baton_release_parse(&img->h.release, s, tlen, NULL) < 0)
		return baton_diag_set(d, -EBADMSG,
				      "image header: \"release\" is not MAJOR.MINOR.PATCH text with its NUL");
	v = fdt_getprop(fdt, 0, "build-id", &len);
	if (!v || len > BATON_BUILD_ID_MAX)
		return baton_diag_set(d, -EBADMSG, "image header: \"build-id\" is %d bytes; at most %d",
				      v ? len : 0, BATON_BUILD_ID_MAX);
	img->h.build_id.len = (uint32_t)len;
	memcpy(img->h.build_id.b, v, (size_t)len);
	v = prop_exact(fdt, 0, "generation", 8);
	if (!v)
		return baton_diag_set(d, -EBADMSG, "image header: \"generation\" is not a u64 (8 bytes)");
	img->h.generation = baton_decode_u64(v);
	v = prop_exact(fdt, 0, "frozen-at-ns", 8);
	if (!v)
		return baton_diag_set(d, -EBADMSG, "image header: \"frozen-at-ns\" is not a u64 (8 bytes)");
	img->h.frozen_at_ns = baton_decode_u64(v);
	return 0;
}

/* The root's subnodes are exactly /fds, /regions and /objects, in that order. */
static int open_tables(struct baton_image *img, struct baton_diag *d)
{
	static const char *const names[] = { "fds", "regions", "objects" };
	int *nodes[] = { &img->fds_node, &img->regions_node, &img->objects_node };
	const void *fdt = img->fdt;
	unsigned int i = 0;
	char text[64], where[16];
	int node, rc;

	fdt_for_each_subnode(node, fdt, 0) {
		if (i >= 3)
			return baton_diag_set(d, -EBADMSG,
					      "image has node /%s, which baton,image-v1 does not define",
					      node_name_text(fdt, node, text, sizeof(text)));
		if (!node_named(fdt, node, names[i]))
			return baton_diag_set(d, -EBADMSG,
					      "image has node /%s where /%s belongs (the root holds fds, regions and objects, in this order)",
					      node_name_text(fdt, node, text, sizeof(text)), names[i]);
		snprintf(where, sizeof(where), "/%s", names[i]);
		rc = check_props(fdt, node, NULL, 0, where, d);
		if (rc < 0)
			return rc;
		*nodes[i++] = node;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return baton_diag_set(d, -EBADMSG, "image root: %s", fdt_strerror(node));
	if (i < 3)
		return baton_diag_set(d, -EBADMSG, "image lacks node /%s", names[i]);
	return 0;
}

static int open_fds(struct baton_image *img, struct baton_diag *d)
{
	static const char *const props[] = { "kind", "label" };
	const void *fdt = img->fdt;
	char want[32], where[48], text[64];
	const uint8_t *kind;
	uint32_t i = 0;
	size_t tlen;
	int node, rc;

	fdt_for_each_subnode(node, fdt, img->fds_node) {
		if (i >= BATON_IMAGE_MAX_FDS)
			return baton_diag_set(d, -E2BIG, "image has more than %d fds", BATON_IMAGE_MAX_FDS);
		unit_name(want, sizeof(want), "fd", i);
		if (!node_named(fdt, node, want))
			return baton_diag_set(d, -EBADMSG, "image has /fds/%s where /fds/%s belongs",
					      node_name_text(fdt, node, text, sizeof(text)), want);
		snprintf(where, sizeof(where), "/fds/%s", want);
		rc = check_props(fdt, node, props, 2, where, d);
		if (rc < 0)
			return rc;
		rc = no_subnodes(fdt, node, where, d);
		if (rc < 0)
			return rc;
		kind = prop_exact(fdt, node, "kind", 4);
		if (!kind || baton_decode_u32(kind) > BATON_FD_KIND_MAX_)
			return baton_diag_set(d, -EBADMSG, "%s: \"kind\" is not a known fd kind (a u32 up to %d)",
					      where, BATON_FD_KIND_MAX_);
		if (!prop_text(fdt, node, "label", LABEL_MAX, &tlen) ||
		    !label_valid(fdt_getprop(fdt, node, "label", NULL), tlen))
			return baton_diag_set(d, -EBADMSG,
					      "%s: \"label\" is not 0-63 bytes of printable ASCII with a NUL", where);
		i++;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return baton_diag_set(d, -EBADMSG, "image /fds: %s", fdt_strerror(node));
	img->nfds = i;
	return 0;
}

static int open_regions(struct baton_image *img, struct baton_diag *d)
{
	static const char *const props[] = { "fd", "size", "label" };
	const void *fdt = img->fdt;
	char want[32], where[48], text[64];
	const uint8_t *fd;
	uint32_t i = 0;
	size_t tlen;
	int node, rc;

	fdt_for_each_subnode(node, fdt, img->regions_node) {
		if (i >= BATON_IMAGE_MAX_FDS)
			return baton_diag_set(d, -E2BIG, "image has more than %d regions", BATON_IMAGE_MAX_FDS);
		unit_name(want, sizeof(want), "region", i);
		if (!node_named(fdt, node, want))
			return baton_diag_set(d, -EBADMSG, "image has /regions/%s where /regions/%s belongs",
					      node_name_text(fdt, node, text, sizeof(text)), want);
		snprintf(where, sizeof(where), "/regions/%s", want);
		rc = check_props(fdt, node, props, 3, where, d);
		if (rc < 0)
			return rc;
		rc = no_subnodes(fdt, node, where, d);
		if (rc < 0)
			return rc;
		fd = prop_exact(fdt, node, "fd", 4);
		if (!fd)
			return baton_diag_set(d, -EBADMSG, "%s: \"fd\" is not a u32 (4 bytes)", where);
		if (baton_decode_u32(fd) >= img->nfds)
			return baton_diag_set(d, -EBADMSG, "%s names fd %u; the image has %u fds", where,
					      baton_decode_u32(fd), img->nfds);
		if (!prop_exact(fdt, node, "size", 8))
			return baton_diag_set(d, -EBADMSG, "%s: \"size\" is not a u64 (8 bytes)", where);
		if (!prop_text(fdt, node, "label", LABEL_MAX, &tlen) ||
		    !label_valid(fdt_getprop(fdt, node, "label", NULL), tlen))
			return baton_diag_set(d, -EBADMSG,
					      "%s: \"label\" is not 0-63 bytes of printable ASCII with a NUL", where);
		i++;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return baton_diag_set(d, -EBADMSG, "image /regions: %s", fdt_strerror(node));
	img->nregions = i;
	return 0;
}

/* Names in a fields tree are field names, so a reader can print them as they are. */
static int check_field_names(const void *fdt, int fields, const char *key, struct baton_diag *d)
{
	int node = fields, depth = 0;
	char text[64];

	do {
		int prop;

		if (node != fields) {
			int len;
			const char *name = fdt_get_name(fdt, node, &len);

			if (!name || !baton_name_valid(name, (size_t)len))
				return baton_diag_set(d, -EBADMSG,
						      "object \"%s\": nested field \"%s\" is not a field name",
						      key, node_name_text(fdt, node, text, sizeof(text)));
		}
		fdt_for_each_property_offset(prop, fdt, node) {
			const char *pname;
			int plen;

			if (!fdt_getprop_by_offset(fdt, prop, &pname, &plen))
				return baton_diag_set(d, -EBADMSG, "object \"%s\": unreadable field: %s",
						      key, fdt_strerror(plen));
			if (!baton_name_valid(pname, strlen(pname)))
				return baton_diag_set(d, -EBADMSG,
						      "object \"%s\": field \"%s\" is not a field name", key,
						      safe_text(text, sizeof(text), pname, strlen(pname)));
		}
		node = fdt_next_node(fdt, node, &depth);
	} while (node >= 0 && depth > 0);
	if (node < 0 && node != -FDT_ERR_NOTFOUND)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": fields: %s", key, fdt_strerror(node));
	return 0;
}

static int open_object(const struct baton_image *img, int node, uint32_t index, struct baton_diag *d)
{
	static const char *const props[] = {
		"key", "contract", "version", "handler", "fingerprint", "flags", "fds",
	};
	const void *fdt = img->fdt;
	char where[48], text[64];
	const uint8_t *v, *refs;
	const char *key, *s;
	size_t tlen;
	uint32_t i, n;
	int len, sub, rc;

	snprintf(where, sizeof(where), "/objects/object@%u", index);
	rc = check_props(fdt, node, props, sizeof(props) / sizeof(props[0]), where, d);
	if (rc < 0)
		return rc;
	key = prop_text(fdt, node, "key", BATON_KEY_MAX, &tlen);
	if (!key || !key_valid(key, tlen))
		return baton_diag_set(d, -EBADMSG,
				      "%s: \"key\" is not 1-%d bytes of printable ASCII without spaces, with a NUL",
				      where, BATON_KEY_MAX - 1);
	v = prop_exact(fdt, node, "contract", 16);
	if (!v)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"contract\" is not a UUID (16 bytes)", key);
	if (baton_uuid_is_nil((const baton_uuid *)(const void *)v))
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"contract\" is the nil UUID", key);
	v = prop_exact(fdt, node, "version", 4);
	if (!v || baton_decode_u32(v) == 0)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"version\" is not a u32 of at least 1", key);
	s = prop_text(fdt, node, "handler", BATON_NAME_MAX, &tlen);
	if (!s || !baton_name_valid(s, tlen))
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"handler\" is not a name with a NUL", key);
	if (!prop_exact(fdt, node, "fingerprint", BATON_FINGERPRINT_LEN))
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"fingerprint\" is not %d bytes", key,
				      BATON_FINGERPRINT_LEN);
	v = prop_exact(fdt, node, "flags", 4);
	if (!v)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": \"flags\" is not a u32 (4 bytes)", key);
	if (baton_decode_u32(v) & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_)
		return baton_diag_set(d, -EBADMSG, "object \"%s\": unknown flags 0x%x", key,
				      baton_decode_u32(v) & ~(uint32_t)BATON_OBJECT_FLAGS_ALL_);
	refs = fdt_getprop(fdt, node, "fds", &len);
	if (!refs || len % 4)
		return baton_diag_set(d, -EBADMSG,
				      "object \"%s\": \"fds\" is %d bytes, not a list of u32 fd indexes", key, len);
	n = (uint32_t)len / 4;
	if (n > BATON_IMAGE_MAX_FDS)
		return baton_diag_set(d, -E2BIG, "object \"%s\" refers to %u fds; at most %d", key, n,
				      BATON_IMAGE_MAX_FDS);
	for (i = 0; i < n; i++)
		if (baton_decode_u32(refs + 4 * i) >= img->nfds)
			return baton_diag_set(d, -EBADMSG,
					      "object \"%s\" refers to fd %u; the image has %u fds", key,
					      baton_decode_u32(refs + 4 * i), img->nfds);

	sub = fdt_first_subnode(fdt, node);
	if (sub < 0 || !node_named(fdt, sub, "fields"))
		return baton_diag_set(d, -EBADMSG, "object \"%s\" has %s where its node \"fields\" belongs",
				      key, sub < 0 ? "nothing" : node_name_text(fdt, sub, text, sizeof(text)));
	rc = fdt_next_subnode(fdt, sub);
	if (rc >= 0)
		return baton_diag_set(d, -EBADMSG,
				      "object \"%s\" has node \"%s\", which baton,image-v1 does not define", key,
				      node_name_text(fdt, rc, text, sizeof(text)));
	return check_field_names(fdt, sub, key, d);
}

static int open_objects(struct baton_image *img, struct baton_diag *d)
{
	const void *fdt = img->fdt;
	char want[32], text[64];
	uint32_t i = 0;
	int node, rc;

	fdt_for_each_subnode(node, fdt, img->objects_node) {
		if (i >= BATON_IMAGE_MAX_OBJECTS)
			return baton_diag_set(d, -E2BIG, "image has more than %d objects",
					      BATON_IMAGE_MAX_OBJECTS);
		unit_name(want, sizeof(want), "object", i);
		if (!node_named(fdt, node, want))
			return baton_diag_set(d, -EBADMSG, "image has /objects/%s where /objects/%s belongs",
					      node_name_text(fdt, node, text, sizeof(text)), want);
		rc = open_object(img, node, i, d);
		if (rc < 0)
			return rc;
		i++;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return baton_diag_set(d, -EBADMSG, "image /objects: %s", fdt_strerror(node));
	img->nobjects = i;
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
	rc = fdt_check_header(p);
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "image header is inconsistent: %s", fdt_strerror(rc));
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
	rc = check_shape(buf, d);
	if (rc < 0)
		return rc;
	rc = fdt_check_full(buf, len);
	if (rc < 0)
		return baton_diag_set(d, -EBADMSG, "image is not a valid device tree: %s", fdt_strerror(rc));
	if (fdt_num_mem_rsv(buf) != 0)
		return baton_diag_set(d, -EBADMSG, "image has memory reservations; baton images have none");

	img->fdt = buf;
	img->len = len;
	rc = open_header(img, d);
	if (rc >= 0)
		rc = open_tables(img, d);
	if (rc >= 0)
		rc = open_fds(img, d);
	if (rc >= 0)
		rc = open_regions(img, d);
	if (rc >= 0)
		rc = open_objects(img, d);
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
	const void *fdt;
	const uint8_t *v;
	int node, len;

	if (!img || !img->fdt || !obj)
		return -EINVAL;
	fdt = img->fdt;
	node = obj->node < 0 ? fdt_first_subnode(fdt, img->objects_node)
			     : fdt_next_subnode(fdt, obj->node);
	if (node == -FDT_ERR_NOTFOUND)
		return 0;
	if (node < 0)
		return -EINVAL;
	obj->index = obj->node < 0 ? 0 : obj->index + 1;
	obj->node = node;
	obj->key = fdt_getprop(fdt, node, "key", NULL);
	v = prop_exact(fdt, node, "contract", 16);
	if (!obj->key || !v)
		return -EINVAL;
	memcpy(obj->contract.b, v, 16);
	v = prop_exact(fdt, node, "version", 4);
	obj->version = v ? baton_decode_u32(v) : 0;
	obj->handler = fdt_getprop(fdt, node, "handler", NULL);
	v = prop_exact(fdt, node, "fingerprint", BATON_FINGERPRINT_LEN);
	if (v)
		memcpy(obj->fingerprint.b, v, BATON_FINGERPRINT_LEN);
	v = prop_exact(fdt, node, "flags", 4);
	obj->flags = v ? baton_decode_u32(v) : 0;
	obj->refs = fdt_getprop(fdt, node, "fds", &len);
	obj->nrefs = obj->refs && len > 0 ? (uint32_t)len / 4 : 0;
	obj->fields_node = fdt_subnode_offset(fdt, node, "fields");
	return 1;
}

/* The index-th subnode of a table: linear in index (see the format spec). */
static int table_entry(const void *fdt, int table, uint32_t index)
{
	int node = fdt_first_subnode(fdt, table);

	while (node >= 0 && index--)
		node = fdt_next_subnode(fdt, node);
	return node;
}

static void copy_label(char out[BATON_NAME_MAX], const void *fdt, int node)
{
	int len;
	const char *s = fdt_getprop(fdt, node, "label", &len);

	out[0] = '\0';
	if (s && len > 0 && len <= BATON_NAME_MAX)
		memcpy(out, s, (size_t)len);
}

int baton_image_get_fd(const struct baton_image *img, uint32_t index, struct baton_image_fd *out)
{
	const uint8_t *v;
	int node;

	if (!img || !img->fdt || !out)
		return -EINVAL;
	if (index >= img->nfds)
		return -ERANGE;
	node = table_entry(img->fdt, img->fds_node, index);
	if (node < 0)
		return -EINVAL;
	v = prop_exact(img->fdt, node, "kind", 4);
	out->kind = v ? baton_decode_u32(v) : BATON_FD_OTHER;
	copy_label(out->name, img->fdt, node);
	return 0;
}

int baton_image_get_region(const struct baton_image *img, uint32_t index, struct baton_image_region *out)
{
	const uint8_t *v;
	int node;

	if (!img || !img->fdt || !out)
		return -EINVAL;
	if (index >= img->nregions)
		return -ERANGE;
	node = table_entry(img->fdt, img->regions_node, index);
	if (node < 0)
		return -EINVAL;
	v = prop_exact(img->fdt, node, "fd", 4);
	out->fd = v ? baton_decode_u32(v) : 0;
	v = prop_exact(img->fdt, node, "size", 8);
	out->size = v ? baton_decode_u64(v) : 0;
	copy_label(out->name, img->fdt, node);
	return 0;
}

int baton_image_get_field(const struct baton_image *img, int fields_node, const char *name,
			  const void **value, size_t *len)
{
	const void *val;
	int plen;

	if (!img || !img->fdt || !name || !value || !len)
		return -EINVAL;
	val = fdt_getprop(img->fdt, fields_node, name, &plen);
	if (!val)
		return plen == -FDT_ERR_NOTFOUND ? -ENOENT : -EINVAL;
	*value = val;
	*len = (size_t)plen;
	return 0;
}

int baton_image_get_nested(const struct baton_image *img, int fields_node, const char *name)
{
	int node;

	if (!img || !img->fdt || !name)
		return -EINVAL;
	node = fdt_subnode_offset(img->fdt, fields_node, name);
	if (node < 0)
		return node == -FDT_ERR_NOTFOUND ? -ENOENT : -EINVAL;
	return node;
}

/* ------------------------------------------------------------------------ */
/* Field checks against a schema                                            */

struct fcheck {
	const struct baton_image *img;
	int top;                 /* the fields node the caller gave */
	baton_schema_fn schema;
	void *schema_ctx;
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
	const void *fdt = fc->img->fdt;
	const uint8_t *contract, *version;
	const char *key;
	size_t klen;
	int parent;

	if (fc->resolved)
		return;
	fc->resolved = true;
	fc->obj[0] = '\0';
	snprintf(fc->top_desc, sizeof(fc->top_desc), "the schema");
	if (!node_named(fdt, fc->top, "fields"))
		return;
	parent = fdt_parent_offset(fdt, fc->top);
	if (parent < 0)
		return;
	key = prop_text(fdt, parent, "key", BATON_KEY_MAX, &klen);
	contract = prop_exact(fdt, parent, "contract", 16);
	version = prop_exact(fdt, parent, "version", 4);
	if (key && key_valid(key, klen))
		snprintf(fc->obj, sizeof(fc->obj), "object \"%s\": ", key);
	if (contract && version) {
		char uuid[BATON_UUID_STRLEN + 1];

		baton_uuid_format((const baton_uuid *)(const void *)contract, uuid);
		snprintf(fc->top_desc, sizeof(fc->top_desc), "schema %s version %u", uuid,
			 baton_decode_u32(version));
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
		index = baton_decode_u32(v);
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

static const struct baton_field *find_field(const struct baton_field *fields, size_t n,
					    const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(fields[i].name) == len && memcmp(fields[i].name, name, len) == 0)
			return &fields[i];
	return NULL;
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
	sub = fdt_subnode_offset(fc->img->fdt, node, f->name);
	if (sub == -FDT_ERR_NOTFOUND)
		return fc_fail(fc, -EBADMSG, "field \"%s%s\" is missing; %s says %s", fc->path, f->name,
			       fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
	if (sub < 0)
		return fc_fail(fc, -EBADMSG, "field \"%s%s\": %s", fc->path, f->name, fdt_strerror(sub));
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

static int check_level(struct fcheck *fc, int node, const struct baton_field *fields, size_t n,
		       const char *desc, int depth)
{
	const void *fdt = fc->img->fdt;
	const struct baton_field *f;
	char tw[96], text[64];
	size_t i;
	int prop, sub, rc;

	for (i = 0; i < n; i++) {
		struct baton_diag why;

		if (baton_field_check(&fields[i], &why) < 0)
			return fc_fail(fc, -EINVAL, "%s: %s", fc_desc(fc, desc), why.msg);
	}

	/* Nothing the schema does not name, and nothing twice. */
	fdt_for_each_property_offset(prop, fdt, node) {
		const void *val, *first;
		const char *pname;
		int plen;

		val = fdt_getprop_by_offset(fdt, prop, &pname, &plen);
		if (!val)
			return fc_fail(fc, -EBADMSG, "unreadable field: %s", fdt_strerror(plen));
		f = find_field(fields, n, pname, strlen(pname));
		if (!f)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is not in %s", fc->path,
				       safe_text(text, sizeof(text), pname, strlen(pname)), fc_desc(fc, desc));
		if (f->type == BATON_T_SCHEMA)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is a value; %s says %s", fc->path,
				       f->name, fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
		first = fdt_getprop(fdt, node, pname, NULL);
		if (first != val)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" appears twice", fc->path, f->name);
	}
	if (prop != -FDT_ERR_NOTFOUND)
		return fc_fail(fc, -EINVAL, "not a fields node: %s", fdt_strerror(prop));
	fdt_for_each_subnode(sub, fdt, node) {
		int nlen;
		const char *name = fdt_get_name(fdt, sub, &nlen);

		if (!name)
			return fc_fail(fc, -EBADMSG, "unreadable nested field: %s", fdt_strerror(nlen));
		f = find_field(fields, n, name, (size_t)nlen);
		if (!f)
			return fc_fail(fc, -EBADMSG, "nested field \"%s%s\" is not in %s", fc->path,
				       safe_text(text, sizeof(text), name, (size_t)nlen), fc_desc(fc, desc));
		if (f->type != BATON_T_SCHEMA)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is a nested node; %s says %s", fc->path,
				       f->name, fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
		if (fdt_subnode_offset_namelen(fdt, node, name, nlen) != sub)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" appears twice", fc->path, f->name);
	}

	/* Everything the schema names, in the right form. */
	for (i = 0; i < n; i++) {
		const void *val;
		int len;

		f = &fields[i];
		if (f->type == BATON_T_SCHEMA) {
			rc = check_nested(fc, node, f, desc, depth);
			if (rc < 0)
				return rc;
			continue;
		}
		val = fdt_getprop(fdt, node, f->name, &len);
		if (!val)
			return fc_fail(fc, -EBADMSG, "field \"%s%s\" is missing; %s says %s", fc->path,
				       f->name, fc_desc(fc, desc), type_words(f, tw, sizeof(tw)));
		rc = check_value(fc, f, val, (size_t)len, desc);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int baton_image_check_fields(const struct baton_image *img, int fields_node,
			     const struct baton_field *fields, size_t nfields,
			     baton_schema_fn schema, void *schema_ctx, struct baton_diag *d)
{
	struct fcheck fc;

	if (!img || !img->fdt || (nfields && !fields))
		return baton_diag_set(d, -EINVAL, "baton_image_check_fields: no image or no fields");
	if (fields_node < 0 || !fdt_get_name(img->fdt, fields_node, NULL))
		return baton_diag_set(d, -EINVAL, "baton_image_check_fields: %d is not a node", fields_node);
	memset(&fc, 0, sizeof(fc));
	fc.img = img;
	fc.top = fields_node;
	fc.schema = schema;
	fc.schema_ctx = schema_ctx;
	fc.d = d;
	return check_level(&fc, fields_node, fields, nfields, NULL, 0);
}
