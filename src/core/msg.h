/* SPDX-License-Identifier: MIT */
/*
 * DOC: messages — the codec of control and handoff messages
 *
 * Every byte that travels between `baton upgrade` and a running program (the
 * control socket) and between a program and its successor (the handoff
 * socket) is one of these messages. Core code: buffers in, results out, no
 * system calls, no allocation, so the parser can be fuzzed in isolation
 * (tests/fuzz/fuzz_msg.c). Every message is hostile input until
 * baton_msg_parse() has accepted it.
 *
 * Wire format (all integers big-endian, no padding), docs/runtime.md:
 *
 *   header, 16 bytes:  u32 magic "BTNM" | u16 protocol version | u16 type |
 *                      u32 payload length | u32 reserved (0)
 *   payload:           items, each  u16 tag | u16 length | value
 *
 * A message is at most BATON_MSG_MAX bytes, header included. The parser
 * checks the header, that the payload length is exactly what follows, every
 * item's bounds, the width of every fixed-size item, that strings hold no NUL
 * and fit their limit, that each item is allowed in the message's type and
 * appears at most once unless it is a list, and that every item the type
 * requires is present. A tag with BATON_MSG_TAG_OPTIONAL set that this
 * version does not know is skipped (room for additions within a protocol
 * version); any other unknown tag is refused. A change that older peers could
 * misread needs a new BATON_MSG_VERSION.
 */
#ifndef BATON_CORE_MSG_H
#define BATON_CORE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <baton/core.h>

#define BATON_MSG_MAGIC 0x42544e4du    /* "BTNM" */
#define BATON_MSG_VERSION 1
#define BATON_MSG_HDR_LEN 16
#define BATON_MSG_ITEM_HDR_LEN 4
#define BATON_MSG_MAX (64u << 10)      /* a whole message, header included */
#define BATON_MSG_TEXT_MAX 4096        /* longest string item (paths, reasons) */
#define BATON_MSG_TAG_OPTIONAL 0x8000u /* unknown tags with this bit are skipped */

enum baton_msg_type {
	/* handoff socket, successor to predecessor */
	BATON_MSG_HELLO = 1,       /* pid, program, release, build id */
	BATON_MSG_READY = 2,       /* restored; timings of the new side */
	BATON_MSG_REFUSE = 3,      /* reasons and findings; the successor exits */
	/* handoff socket, predecessor to successor */
	BATON_MSG_IMAGE = 4,       /* the sealed image memfd (+ control listener) */
	BATON_MSG_FDS = 5,         /* one batch of the image's fd table */
	BATON_MSG_COMMIT = 6,      /* the commit point: serve now */
	BATON_MSG_ABORT = 7,       /* the update is cancelled: release all, exit */
	/* control socket, client to program */
	BATON_MSG_UPGRADE = 16,    /* program, args, transport, timeout */
	BATON_MSG_STATUS = 17,     /* no items */
	/* control socket, program to client */
	BATON_MSG_STEP = 18,       /* one finished step of an update and its duration */
	BATON_MSG_RESULT = 19,     /* the outcome of an update: status, reasons, timings */
	BATON_MSG_STATUS_REPLY = 20,
	/* control socket: write a golden image (docs/runtime.md) */
	BATON_MSG_SAVE = 21,       /* client to program: path, force */
	BATON_MSG_SAVE_RESULT = 22,/* program to client: status, what was written, freeze time */
	BATON_MSG_TYPE_MAX_ = BATON_MSG_SAVE_RESULT,
};

enum baton_msg_tag {
	BATON_TAG_PID = 1,            /* u32 */
	BATON_TAG_PROGRAM = 2,        /* string: program name or path */
	BATON_TAG_RELEASE = 3,        /* string "A.B.C" */
	BATON_TAG_BUILD_ID = 4,       /* bytes, at most BATON_BUILD_ID_MAX */
	BATON_TAG_GENERATION = 5,     /* u64 */
	BATON_TAG_IMAGE_LEN = 6,      /* u64: bytes of the image in the memfd */
	BATON_TAG_NFDS = 7,           /* u32: entries of the image's fd table */
	BATON_TAG_FD_FIRST = 8,       /* u32: index of the first fd of a batch */
	BATON_TAG_FD_COUNT = 9,       /* u32: fds in this message */
	BATON_TAG_CONTROL_FD = 10,    /* u32 1: the control listener rides with IMAGE */
	BATON_TAG_REASON = 11,        /* string, list */
	BATON_TAG_FINDING = 12,       /* u16 rule + text, list */
	BATON_TAG_ARG = 13,           /* string, list: argv of the new program */
	BATON_TAG_TRANSPORT = 14,     /* u32 enum baton_msg_transport */
	BATON_TAG_TIMEOUT_MS = 15,    /* u32 */
	BATON_TAG_STATUS = 16,        /* i32: 0 or a negative errno */
	BATON_TAG_STEP = 17,          /* string: step name */
	BATON_TAG_DURATION_NS = 18,   /* u64 */
	BATON_TAG_DOWNTIME_NS = 19,   /* u64 */
	BATON_TAG_RESTORE_NS = 20,    /* u64 */
	BATON_TAG_FROZEN_AT_NS = 21,  /* u64, CLOCK_MONOTONIC */
	BATON_TAG_RESTORED_AT_NS = 22,/* u64, CLOCK_MONOTONIC */
	BATON_TAG_WRITER_PROGRAM = 23,/* string */
	BATON_TAG_WRITER_RELEASE = 24,/* string */
	BATON_TAG_WRITER_BUILD_ID = 25,/* bytes */
	BATON_TAG_WRITER_GENERATION = 26,/* u64 */
	BATON_TAG_RESTORED = 27,      /* u32 0 or 1 */
	BATON_TAG_OBJECTS = 28,       /* u32 */
	BATON_TAG_NEW_PID = 29,       /* u32: pid of the successor */
	BATON_TAG_ROLLED_BACK = 30,   /* u32 1: exec transport fell back to the old program */
	BATON_TAG_PATH = 31,          /* string: an absolute path (the golden image to write) */
	BATON_TAG_FORCE = 32,         /* u32 1: replace existing files */
	BATON_TAG_FILE = 33,          /* string, list: a file written, with its size first ("SIZE PATH") */
	BATON_TAG_REGIONS = 34,       /* u32: regions in the image */
	BATON_TAG_REGION_BYTES = 35,  /* u64: bytes of region contents stored (holes left out) */
	BATON_TAG_MAX_ = BATON_TAG_REGION_BYTES,
};

enum baton_msg_transport {
	BATON_TRANSPORT_SUCCESSOR = 0, /* a new process connects back (default) */
	BATON_TRANSPORT_EXEC = 1,      /* the process execs the new program in place */
};

/* "hello", "image", ...; NULL for an unknown type. */
const char *baton_msg_type_name(uint32_t type);

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

struct baton_msg_writer {
	uint8_t *buf;
	size_t size;
	size_t len;
	int err;      /* first error, sticky */
};

/* Starts a message of type in buf (at most BATON_MSG_MAX bytes are used). */
int baton_msg_begin(struct baton_msg_writer *w, void *buf, size_t size, uint16_t type);
int baton_msg_put(struct baton_msg_writer *w, uint16_t tag, const void *value, size_t len);
int baton_msg_put_u32(struct baton_msg_writer *w, uint16_t tag, uint32_t v);
int baton_msg_put_i32(struct baton_msg_writer *w, uint16_t tag, int32_t v);
int baton_msg_put_u64(struct baton_msg_writer *w, uint16_t tag, uint64_t v);
/* A NUL-terminated string; longer than BATON_MSG_TEXT_MAX is -ENAMETOOLONG. */
int baton_msg_put_str(struct baton_msg_writer *w, uint16_t tag, const char *s);
/* A finding: rule and one line of text (truncated to BATON_MSG_TEXT_MAX). */
int baton_msg_put_finding(struct baton_msg_writer *w, uint16_t rule, const char *text);
/* Writes the payload length; returns 0 and the message size, or the first error. */
int baton_msg_end(struct baton_msg_writer *w, size_t *len);

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

struct baton_msg {
	uint16_t type;
	uint16_t version;
	const uint8_t *payload;
	uint32_t len;           /* payload bytes */
};

struct baton_msg_item {
	uint16_t tag;
	uint16_t len;
	const uint8_t *value;
};

/*
 * For stream sockets: given the first len bytes received, sets *need to the
 * size of the whole message (0 while fewer than BATON_MSG_HDR_LEN bytes are
 * there). Fails with -EBADMSG when the header cannot start a valid message.
 */
int baton_msg_frame(const void *buf, size_t len, size_t *need, struct baton_diag *d);

/* Validates one whole message of exactly len bytes (see the DOC above). */
int baton_msg_parse(struct baton_msg *m, const void *buf, size_t len, struct baton_diag *d);

/*
 * Iterates the items of a parsed message: *pos starts at 0. Returns 1 with
 * the item, 0 after the last.
 */
int baton_msg_next(const struct baton_msg *m, size_t *pos, struct baton_msg_item *it);

/* The first item with tag: 0, or -ENOENT. Widths were checked by the parser. */
int baton_msg_get(const struct baton_msg *m, uint16_t tag, struct baton_msg_item *it);
int baton_msg_get_u32(const struct baton_msg *m, uint16_t tag, uint32_t *v);
int baton_msg_get_i32(const struct baton_msg *m, uint16_t tag, int32_t *v);
int baton_msg_get_u64(const struct baton_msg *m, uint16_t tag, uint64_t *v);
/* Copies a string item and a NUL into buf; -ENAMETOOLONG if it does not fit. */
int baton_msg_get_str(const struct baton_msg *m, uint16_t tag, char *buf, size_t size);
/* Copies a string item's value (of any item) into buf with a NUL. */
int baton_msg_item_str(const struct baton_msg_item *it, char *buf, size_t size);
/* Splits a FINDING item into its rule and text (copied with a NUL). */
int baton_msg_item_finding(const struct baton_msg_item *it, uint16_t *rule, char *buf, size_t size);

#endif /* BATON_CORE_MSG_H */
