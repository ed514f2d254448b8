/* SPDX-License-Identifier: MIT */
/*
 * DOC: messages — a bounded, versioned codec of typed items
 *
 * The control socket and the handoff socket speak these messages (msg.h has
 * the wire format). Both ends of either socket may be hostile: a stranger on
 * the control socket, a broken or malicious successor on the handoff socket.
 * So the parser accepts a message only when every length, width, string and
 * item fits the table below for its type; the runtime then reads items
 * without checking their form again.
 *
 * No system calls and no allocation: this file is core code and fuzzed.
 */
#include <errno.h>
#include <string.h>

#include <baton/image.h>

#include "msg.h"

enum item_kind {
	K_NONE = 0,
	K_U32,
	K_I32,
	K_U64,
	K_STR,
	K_BYTES,     /* at most BATON_BUILD_ID_MAX bytes */
	K_FINDING,   /* u16 rule + text */
	K_BOOL,      /* u32 0 or 1 */
};

struct tag_info {
	const char *name;
	enum item_kind kind;
	bool list;
};

static const struct tag_info tags[BATON_TAG_MAX_ + 1] = {
	[BATON_TAG_PID] = { "pid", K_U32, false },
	[BATON_TAG_PROGRAM] = { "program", K_STR, false },
	[BATON_TAG_RELEASE] = { "release", K_STR, false },
	[BATON_TAG_BUILD_ID] = { "build-id", K_BYTES, false },
	[BATON_TAG_GENERATION] = { "generation", K_U64, false },
	[BATON_TAG_IMAGE_LEN] = { "image-len", K_U64, false },
	[BATON_TAG_NFDS] = { "nfds", K_U32, false },
	[BATON_TAG_FD_FIRST] = { "fd-first", K_U32, false },
	[BATON_TAG_FD_COUNT] = { "fd-count", K_U32, false },
	[BATON_TAG_CONTROL_FD] = { "control-fd", K_BOOL, false },
	[BATON_TAG_REASON] = { "reason", K_STR, true },
	[BATON_TAG_FINDING] = { "finding", K_FINDING, true },
	[BATON_TAG_ARG] = { "arg", K_STR, true },
	[BATON_TAG_TRANSPORT] = { "transport", K_U32, false },
	[BATON_TAG_TIMEOUT_MS] = { "timeout-ms", K_U32, false },
	[BATON_TAG_STATUS] = { "status", K_I32, false },
	[BATON_TAG_STEP] = { "step", K_STR, false },
	[BATON_TAG_DURATION_NS] = { "duration-ns", K_U64, false },
	[BATON_TAG_DOWNTIME_NS] = { "downtime-ns", K_U64, false },
	[BATON_TAG_RESTORE_NS] = { "restore-ns", K_U64, false },
	[BATON_TAG_FROZEN_AT_NS] = { "frozen-at-ns", K_U64, false },
	[BATON_TAG_RESTORED_AT_NS] = { "restored-at-ns", K_U64, false },
	[BATON_TAG_WRITER_PROGRAM] = { "writer-program", K_STR, false },
	[BATON_TAG_WRITER_RELEASE] = { "writer-release", K_STR, false },
	[BATON_TAG_WRITER_BUILD_ID] = { "writer-build-id", K_BYTES, false },
	[BATON_TAG_WRITER_GENERATION] = { "writer-generation", K_U64, false },
	[BATON_TAG_RESTORED] = { "restored", K_BOOL, false },
	[BATON_TAG_OBJECTS] = { "objects", K_U32, false },
	[BATON_TAG_NEW_PID] = { "new-pid", K_U32, false },
	[BATON_TAG_ROLLED_BACK] = { "rolled-back", K_BOOL, false },
	[BATON_TAG_PATH] = { "path", K_STR, false },
	[BATON_TAG_FORCE] = { "force", K_BOOL, false },
	[BATON_TAG_FILE] = { "file", K_STR, true },
	[BATON_TAG_REGIONS] = { "regions", K_U32, false },
	[BATON_TAG_REGION_BYTES] = { "region-bytes", K_U64, false },
};

#define T(tag) (1ull << (tag))

struct type_info {
	const char *name;
	uint64_t required;
	uint64_t allowed;   /* required tags are allowed too */
};

static const struct type_info types[BATON_MSG_TYPE_MAX_ + 1] = {
	[BATON_MSG_HELLO] = { "hello",
		T(BATON_TAG_PID) | T(BATON_TAG_PROGRAM) | T(BATON_TAG_RELEASE),
		T(BATON_TAG_BUILD_ID) },
	[BATON_MSG_READY] = { "ready",
		T(BATON_TAG_RESTORE_NS),
		T(BATON_TAG_OBJECTS) },
	[BATON_MSG_REFUSE] = { "refuse",
		T(BATON_TAG_STATUS),
		T(BATON_TAG_REASON) | T(BATON_TAG_FINDING) },
	[BATON_MSG_IMAGE] = { "image",
		T(BATON_TAG_IMAGE_LEN) | T(BATON_TAG_NFDS),
		T(BATON_TAG_CONTROL_FD) | T(BATON_TAG_PID) },
	[BATON_MSG_FDS] = { "fds",
		T(BATON_TAG_FD_FIRST) | T(BATON_TAG_FD_COUNT), 0 },
	[BATON_MSG_COMMIT] = { "commit", 0, T(BATON_TAG_DOWNTIME_NS) },
	[BATON_MSG_ABORT] = { "abort", 0, T(BATON_TAG_REASON) },
	[BATON_MSG_UPGRADE] = { "upgrade",
		T(BATON_TAG_PROGRAM),
		T(BATON_TAG_ARG) | T(BATON_TAG_TRANSPORT) | T(BATON_TAG_TIMEOUT_MS) },
	[BATON_MSG_STATUS] = { "status", 0, 0 },
	[BATON_MSG_STEP] = { "step",
		T(BATON_TAG_STEP) | T(BATON_TAG_DURATION_NS),
		T(BATON_TAG_REASON) },
	[BATON_MSG_RESULT] = { "result",
		T(BATON_TAG_STATUS),
		T(BATON_TAG_REASON) | T(BATON_TAG_FINDING) | T(BATON_TAG_DOWNTIME_NS) |
		T(BATON_TAG_NEW_PID) | T(BATON_TAG_PROGRAM) | T(BATON_TAG_RELEASE) |
		T(BATON_TAG_GENERATION) | T(BATON_TAG_ROLLED_BACK) },
	[BATON_MSG_STATUS_REPLY] = { "status-reply",
		T(BATON_TAG_PROGRAM) | T(BATON_TAG_RELEASE) | T(BATON_TAG_PID) |
		T(BATON_TAG_GENERATION) | T(BATON_TAG_RESTORED),
		T(BATON_TAG_BUILD_ID) | T(BATON_TAG_WRITER_PROGRAM) |
		T(BATON_TAG_WRITER_RELEASE) | T(BATON_TAG_WRITER_BUILD_ID) |
		T(BATON_TAG_WRITER_GENERATION) | T(BATON_TAG_FROZEN_AT_NS) |
		T(BATON_TAG_RESTORED_AT_NS) | T(BATON_TAG_OBJECTS) },
	[BATON_MSG_SAVE] = { "save", T(BATON_TAG_PATH), T(BATON_TAG_FORCE) },
	[BATON_MSG_SAVE_RESULT] = { "save-result",
		T(BATON_TAG_STATUS),
		T(BATON_TAG_REASON) | T(BATON_TAG_STEP) | T(BATON_TAG_PROGRAM) |
		T(BATON_TAG_RELEASE) | T(BATON_TAG_BUILD_ID) | T(BATON_TAG_PID) |
		T(BATON_TAG_GENERATION) | T(BATON_TAG_PATH) | T(BATON_TAG_FILE) |
		T(BATON_TAG_IMAGE_LEN) | T(BATON_TAG_OBJECTS) | T(BATON_TAG_NFDS) |
		T(BATON_TAG_REGIONS) | T(BATON_TAG_REGION_BYTES) | T(BATON_TAG_DURATION_NS) },
};

const char *baton_msg_type_name(uint32_t type)
{
	if (type > BATON_MSG_TYPE_MAX_)
		return NULL;
	return types[type].name;
}

static const char *tag_name(uint16_t tag)
{
	if (tag <= BATON_TAG_MAX_ && tags[tag].name)
		return tags[tag].name;
	return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

int baton_msg_begin(struct baton_msg_writer *w, void *buf, size_t size, uint16_t type)
{
	w->buf = buf;
	w->size = size < BATON_MSG_MAX ? size : BATON_MSG_MAX;
	w->len = 0;
	w->err = 0;
	if (!baton_msg_type_name(type))
		return w->err = -EINVAL;
	if (w->size < BATON_MSG_HDR_LEN)
		return w->err = -ENOSPC;
	baton_encode_u32(w->buf, BATON_MSG_MAGIC);
	baton_encode_u16(w->buf + 4, BATON_MSG_VERSION);
	baton_encode_u16(w->buf + 6, type);
	baton_encode_u32(w->buf + 8, 0);
	baton_encode_u32(w->buf + 12, 0);
	w->len = BATON_MSG_HDR_LEN;
	return 0;
}

int baton_msg_put(struct baton_msg_writer *w, uint16_t tag, const void *value, size_t len)
{
	if (w->err)
		return w->err;
	if (len > UINT16_MAX)
		return w->err = -EMSGSIZE;
	if (w->size - w->len < BATON_MSG_ITEM_HDR_LEN + len)
		return w->err = -EMSGSIZE;
	baton_encode_u16(w->buf + w->len, tag);
	baton_encode_u16(w->buf + w->len + 2, (uint16_t)len);
	if (len)
		memcpy(w->buf + w->len + BATON_MSG_ITEM_HDR_LEN, value, len);
	w->len += BATON_MSG_ITEM_HDR_LEN + len;
	return 0;
}

int baton_msg_put_u32(struct baton_msg_writer *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	baton_encode_u32(b, v);
	return baton_msg_put(w, tag, b, sizeof(b));
}

int baton_msg_put_i32(struct baton_msg_writer *w, uint16_t tag, int32_t v)
{
	return baton_msg_put_u32(w, tag, (uint32_t)v);
}

int baton_msg_put_u64(struct baton_msg_writer *w, uint16_t tag, uint64_t v)
{
	uint8_t b[8];

	baton_encode_u32(b, (uint32_t)(v >> 32));
	baton_encode_u32(b + 4, (uint32_t)v);
	return baton_msg_put(w, tag, b, sizeof(b));
}

int baton_msg_put_str(struct baton_msg_writer *w, uint16_t tag, const char *s)
{
	size_t n = baton_strnlen(s, BATON_MSG_TEXT_MAX + 1);

	if (w->err)
		return w->err;
	if (n > BATON_MSG_TEXT_MAX)
		return w->err = -ENAMETOOLONG;
	return baton_msg_put(w, tag, s, n);
}

int baton_msg_put_finding(struct baton_msg_writer *w, uint16_t rule, const char *text)
{
	uint8_t b[2 + BATON_MSG_TEXT_MAX];
	size_t n = baton_strnlen(text, BATON_MSG_TEXT_MAX);

	baton_encode_u16(b, rule);
	memcpy(b + 2, text, n);
	return baton_msg_put(w, BATON_TAG_FINDING, b, 2 + n);
}

int baton_msg_end(struct baton_msg_writer *w, size_t *len)
{
	if (w->err)
		return w->err;
	baton_encode_u32(w->buf + 8, (uint32_t)(w->len - BATON_MSG_HDR_LEN));
	*len = w->len;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

static int check_header(const uint8_t *p, size_t len, uint32_t *plen, struct baton_diag *d)
{
	uint32_t magic = baton_decode_u32(p), version = baton_decode_u16(p + 4), type = baton_decode_u16(p + 6);

	(void)len;
	if (magic != BATON_MSG_MAGIC)
		return baton_diag_set(d, -EBADMSG,
				      "not a baton message: magic 0x%08x instead of 0x%08x",
				      magic, BATON_MSG_MAGIC);
	if (version != BATON_MSG_VERSION)
		return baton_diag_set(d, -EPROTONOSUPPORT,
				      "message protocol version %u; this side speaks only version %u",
				      version, BATON_MSG_VERSION);
	if (!baton_msg_type_name(type))
		return baton_diag_set(d, -EBADMSG, "unknown message type %u", type);
	if (baton_decode_u32(p + 12) != 0)
		return baton_diag_set(d, -EBADMSG, "%s message: reserved header word is not 0",
				      types[type].name);
	*plen = baton_decode_u32(p + 8);
	if (*plen > BATON_MSG_MAX - BATON_MSG_HDR_LEN)
		return baton_diag_set(d, -EMSGSIZE,
				      "%s message: payload of %u bytes exceeds the %u-byte limit",
				      types[type].name, *plen, BATON_MSG_MAX - BATON_MSG_HDR_LEN);
	return 0;
}

int baton_msg_frame(const void *buf, size_t len, size_t *need, struct baton_diag *d)
{
	uint32_t plen;
	int rc;

	*need = 0;
	if (len < BATON_MSG_HDR_LEN)
		return 0;
	rc = check_header(buf, len, &plen, d);
	if (rc < 0)
		return rc;
	*need = BATON_MSG_HDR_LEN + (size_t)plen;
	return 0;
}

static int check_item(const struct type_info *ti, const struct baton_msg_item *it,
		      struct baton_diag *d)
{
	const struct tag_info *t = &tags[it->tag];
	uint32_t v;

	switch (t->kind) {
	case K_U32:
	case K_I32:
	case K_BOOL:
		if (it->len != 4)
			goto width;
		v = baton_decode_u32(it->value);
		if (t->kind == K_BOOL && v > 1)
			return baton_diag_set(d, -EBADMSG, "%s message: item %s is %u, not 0 or 1",
					      ti->name, t->name, v);
		if (it->tag == BATON_TAG_STATUS && (int32_t)v > 0)
			return baton_diag_set(d, -EBADMSG,
					      "%s message: status %d is neither 0 nor a negative errno",
					      ti->name, (int32_t)v);
		if (it->tag == BATON_TAG_TRANSPORT && v > BATON_TRANSPORT_EXEC)
			return baton_diag_set(d, -EBADMSG, "%s message: unknown transport %u",
					      ti->name, v);
		return 0;
	case K_U64:
		if (it->len != 8)
			goto width;
		return 0;
	case K_BYTES:
		if (it->len > BATON_BUILD_ID_MAX)
			return baton_diag_set(d, -EBADMSG,
					      "%s message: item %s has %u bytes, at most %u allowed",
					      ti->name, t->name, it->len, BATON_BUILD_ID_MAX);
		return 0;
	case K_STR:
	case K_FINDING: {
		const uint8_t *s = it->value;
		size_t n = it->len;

		if (t->kind == K_FINDING) {
			if (n < 2)
				goto width;
			s += 2;
			n -= 2;
		}
		if (n > BATON_MSG_TEXT_MAX)
			return baton_diag_set(d, -EBADMSG,
					      "%s message: item %s has %zu bytes of text, at most %u allowed",
					      ti->name, t->name, n, BATON_MSG_TEXT_MAX);
		if (memchr(s, '\0', n))
			return baton_diag_set(d, -EBADMSG,
					      "%s message: item %s holds a NUL byte", ti->name, t->name);
		return 0;
	}
	case K_NONE:
		break;
	}
	return baton_diag_set(d, -EBADMSG, "%s message: unknown item %u", ti->name, it->tag);
width:
	return baton_diag_set(d, -EBADMSG, "%s message: item %s has the wrong width (%u bytes)",
			      ti->name, t->name, it->len);
}

int baton_msg_parse(struct baton_msg *m, const void *buf, size_t len, struct baton_diag *d)
{
	const uint8_t *p = buf;
	const struct type_info *ti;
	uint64_t seen = 0, missing;
	uint32_t plen;
	size_t pos;
	int rc;

	if (len < BATON_MSG_HDR_LEN)
		return baton_diag_set(d, -EBADMSG,
				      "truncated message: %zu bytes, a header alone is %u",
				      len, BATON_MSG_HDR_LEN);
	if (len > BATON_MSG_MAX)
		return baton_diag_set(d, -EMSGSIZE, "message of %zu bytes exceeds the %u-byte limit",
				      len, BATON_MSG_MAX);
	rc = check_header(p, len, &plen, d);
	if (rc < 0)
		return rc;
	m->version = baton_decode_u16(p + 4);
	m->type = baton_decode_u16(p + 6);
	ti = &types[m->type];
	if ((size_t)plen != len - BATON_MSG_HDR_LEN)
		return baton_diag_set(d, -EBADMSG,
				      "%s message: header says %u payload bytes, %zu arrived",
				      ti->name, plen, len - BATON_MSG_HDR_LEN);
	m->payload = p + BATON_MSG_HDR_LEN;
	m->len = plen;

	for (pos = 0; pos < plen;) {
		struct baton_msg_item it;

		if (plen - pos < BATON_MSG_ITEM_HDR_LEN)
			return baton_diag_set(d, -EBADMSG,
					      "%s message: truncated item header at offset %zu",
					      ti->name, pos);
		it.tag = baton_decode_u16(m->payload + pos);
		it.len = baton_decode_u16(m->payload + pos + 2);
		it.value = m->payload + pos + BATON_MSG_ITEM_HDR_LEN;
		if ((size_t)it.len > plen - pos - BATON_MSG_ITEM_HDR_LEN)
			return baton_diag_set(d, -EBADMSG,
					      "%s message: item %s at offset %zu claims %u bytes, %zu remain",
					      ti->name, tag_name(it.tag), pos, it.len,
					      plen - pos - BATON_MSG_ITEM_HDR_LEN);
		pos += BATON_MSG_ITEM_HDR_LEN + it.len;
		if (it.tag > BATON_TAG_MAX_ || !tags[it.tag].name) {
			if (it.tag & BATON_MSG_TAG_OPTIONAL)
				continue;
			return baton_diag_set(d, -EBADMSG, "%s message: unknown item %u",
					      ti->name, it.tag);
		}
		if (!((ti->required | ti->allowed) & T(it.tag)))
			return baton_diag_set(d, -EBADMSG, "%s message: item %s does not belong here",
					      ti->name, tags[it.tag].name);
		if ((seen & T(it.tag)) && !tags[it.tag].list)
			return baton_diag_set(d, -EBADMSG, "%s message: item %s appears twice",
					      ti->name, tags[it.tag].name);
		seen |= T(it.tag);
		rc = check_item(ti, &it, d);
		if (rc < 0)
			return rc;
	}
	missing = ti->required & ~seen;
	if (missing) {
		uint16_t tag = (uint16_t)__builtin_ctzll(missing);

		return baton_diag_set(d, -EBADMSG, "%s message: required item %s is missing",
				      ti->name, tags[tag].name);
	}
	return 0;
}

int baton_msg_next(const struct baton_msg *m, size_t *pos, struct baton_msg_item *it)
{
	while (*pos + BATON_MSG_ITEM_HDR_LEN <= m->len) {
		it->tag = baton_decode_u16(m->payload + *pos);
		it->len = baton_decode_u16(m->payload + *pos + 2);
		it->value = m->payload + *pos + BATON_MSG_ITEM_HDR_LEN;
		*pos += BATON_MSG_ITEM_HDR_LEN + it->len;
		if (it->tag > BATON_TAG_MAX_ || !tags[it->tag].name)
			continue;  /* an optional item of a later version */
		return 1;
	}
	return 0;
}

int baton_msg_get(const struct baton_msg *m, uint16_t tag, struct baton_msg_item *it)
{
	size_t pos = 0;

	while (baton_msg_next(m, &pos, it) > 0)
		if (it->tag == tag)
			return 0;
	return -ENOENT;
}

int baton_msg_get_u32(const struct baton_msg *m, uint16_t tag, uint32_t *v)
{
	struct baton_msg_item it;

	if (baton_msg_get(m, tag, &it) < 0)
		return -ENOENT;
	if (it.len != 4)
		return -EINVAL;
	*v = baton_decode_u32(it.value);
	return 0;
}

int baton_msg_get_i32(const struct baton_msg *m, uint16_t tag, int32_t *v)
{
	uint32_t u;
	int rc = baton_msg_get_u32(m, tag, &u);

	if (rc == 0)
		*v = (int32_t)u;
	return rc;
}

int baton_msg_get_u64(const struct baton_msg *m, uint16_t tag, uint64_t *v)
{
	struct baton_msg_item it;

	if (baton_msg_get(m, tag, &it) < 0)
		return -ENOENT;
	if (it.len != 8)
		return -EINVAL;
	*v = baton_decode_u64(it.value);
	return 0;
}

int baton_msg_item_str(const struct baton_msg_item *it, char *buf, size_t size)
{
	if ((size_t)it->len >= size) {
		if (size)
			buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(buf, it->value, it->len);
	buf[it->len] = '\0';
	return 0;
}

int baton_msg_get_str(const struct baton_msg *m, uint16_t tag, char *buf, size_t size)
{
	struct baton_msg_item it;

	if (baton_msg_get(m, tag, &it) < 0)
		return -ENOENT;
	return baton_msg_item_str(&it, buf, size);
}

int baton_msg_item_finding(const struct baton_msg_item *it, uint16_t *rule, char *buf, size_t size)
{
	struct baton_msg_item text;

	if (it->len < 2)
		return -EINVAL;
	*rule = baton_decode_u16(it->value);
	text.tag = it->tag;
	text.len = (uint16_t)(it->len - 2);
	text.value = it->value + 2;
	return baton_msg_item_str(&text, buf, size);
}
