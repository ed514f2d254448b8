/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton core — the vocabulary of the versioning protocol
 *
 * Contracts (UUIDs), releases, build ids, policies, field types and schema
 * fingerprints. Everything here is pure computation on caller-owned memory:
 * no system calls, no allocation, no global state, so it can be fuzzed in
 * isolation and reused in freestanding code.
 *
 * Functions return 0 (or a documented non-negative value) on success and a
 * negative errno on failure. Functions that read input which may have crossed
 * a process boundary take a struct baton_diag to describe the failure in
 * words; it may be NULL.
 */
#ifndef BATON_CORE_H
#define BATON_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lengths of the fixed text forms, without the terminating NUL. */
#define BATON_UUID_STRLEN 36       /* 6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f */
#define BATON_NAME_MAX 64          /* names of programs, handlers, contracts, fields (incl. NUL) */
#define BATON_RELEASE_STRMAX 33    /* "4294967295.4294967295.4294967295" (32) + NUL fits */
#define BATON_BUILD_ID_MAX 32      /* bytes; a GNU build id is usually 20 */
#define BATON_FINGERPRINT_LEN 16   /* XXH3-128 */
#define BATON_FINGERPRINT_HEXLEN 32
#define BATON_DIAG_MAX 512
#define BATON_MAX_VERSIONS 16      /* versions of one contract one handler reads */
#define BATON_MAX_POLICY_RULES 16
#define BATON_MAX_NESTING 8        /* depth of nested schemas */

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                              */

/*
 * A caller-owned buffer for the words that go with a negative return value.
 * Core functions never keep a pointer to it.
 */
struct baton_diag {
	int code;                  /* the negative errno also returned */
	char msg[BATON_DIAG_MAX];  /* one line, no trailing newline */
};

/* Sets d->code and formats d->msg (printf-style); returns code. d may be NULL. */
int baton_diag_set(struct baton_diag *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void baton_diag_clear(struct baton_diag *d);

/* ------------------------------------------------------------------------ */
/* Contracts                                                                */

typedef struct baton_uuid {
	uint8_t b[16];
} baton_uuid;

/* Parses the RFC 9562 text form (8-4-4-4-12 hex digits, either case). */
int baton_uuid_parse(baton_uuid *out, const char *s, size_t len);
/* Writes the lowercase text form and a NUL into out. */
void baton_uuid_format(const baton_uuid *u, char out[BATON_UUID_STRLEN + 1]);
int baton_uuid_cmp(const baton_uuid *a, const baton_uuid *b);
bool baton_uuid_is_nil(const baton_uuid *u);

/*
 * Names of programs, handlers, contracts and fields: 1 to 63 characters from
 * [A-Za-z0-9._-], starting with a letter or digit. They are also property
 * names in the image, which is why the set is narrow.
 */
bool baton_name_valid(const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Releases and builds                                                      */

struct baton_release {
	uint32_t major, minor, patch;
};

/* "MAJOR.MINOR.PATCH", decimal, no leading zeros, no sign, no suffix. */
int baton_release_parse(struct baton_release *out, const char *s, size_t len,
			struct baton_diag *d);
/* Returns <0, 0, >0 as a is older than, the same as, newer than b. */
int baton_release_cmp(const struct baton_release *a, const struct baton_release *b);
/* Writes "A.B.C"; returns the length or -ENOSPC. */
int baton_release_format(const struct baton_release *r, char *buf, size_t size);

struct baton_build_id {
	uint32_t len;                  /* 0: unknown */
	uint8_t b[BATON_BUILD_ID_MAX];
};

/* Lowercase hex, even length, at most 2 * BATON_BUILD_ID_MAX digits. */
int baton_build_id_parse(struct baton_build_id *out, const char *s, size_t len,
			 struct baton_diag *d);
/* Writes hex and a NUL; "unknown" for an empty id. Returns length or -ENOSPC. */
int baton_build_id_format(const struct baton_build_id *id, char *buf, size_t size);
/* True only when both are known and equal: an unknown build never matches. */
bool baton_build_id_equal(const struct baton_build_id *a, const struct baton_build_id *b);

/* ------------------------------------------------------------------------ */
/* Policies (rule 4)                                                        */

/*
 * The forward paths a reader release accepts. There is deliberately no rule
 * that accepts any release: a policy is a short list of narrow paths.
 */
enum baton_policy_kind {
	BATON_POLICY_SAME_BUILD = 1,   /* "same-build": the identical build (phase 0) */
	BATON_POLICY_PATCH = 2,        /* "patch": A.B.x to A.B.y, x < y */
	BATON_POLICY_NEXT_MINOR = 3,   /* "next-minor": A.B.* to A.(B+1).* */
	BATON_POLICY_FROM_MINOR = 4,   /* "from A.B": A.B.* to this release */
	BATON_POLICY_FROM_RELEASE = 5, /* "from A.B.C": exactly A.B.C to this release */
};

/* Pointer-free; also the layout of policy rules in catalog records. */
struct baton_policy_rule {
	uint32_t kind;                /* enum baton_policy_kind */
	struct baton_release from;    /* FROM_MINOR (patch ignored), FROM_RELEASE */
};

/*
 * Parses one rule in its text form. "*", "any", "all" and other spellings of
 * "any release" are refused with a message saying why.
 */
int baton_policy_rule_parse(struct baton_policy_rule *out, const char *s, size_t len,
			    struct baton_diag *d);
/* Writes the text form; returns the length or -ENOSPC / -EINVAL. */
int baton_policy_rule_format(const struct baton_policy_rule *r, char *buf, size_t size);
/* Checks a rule's kind and fields: 0 or -EINVAL with words in d. */
int baton_policy_rule_check(const struct baton_policy_rule *r, struct baton_diag *d);

enum baton_path_verdict {
	BATON_PATH_ACCEPT = 0,
	BATON_PATH_DOWNGRADE = 1,      /* writer newer than reader: never */
	BATON_PATH_OTHER_BUILD = 2,    /* same release, different or unknown build */
	BATON_PATH_UNLISTED = 3,       /* forward, but no rule of the policy lists it */
};

struct baton_path_decision {
	enum baton_path_verdict verdict;
	int rule;                      /* index of the accepting rule, or -1 */
	char reason[BATON_DIAG_MAX];   /* words, for accept and refuse alike */
};

struct baton_policy {
	const struct baton_policy_rule *rules;
	size_t nrules;
};

/*
 * Decides whether a reader release with the given policy accepts state
 * written by the writer release. Returns the verdict (also in out).
 */
enum baton_path_verdict
baton_policy_decide(const struct baton_policy *policy,
		    const struct baton_release *reader, const struct baton_build_id *reader_build,
		    const struct baton_release *writer, const struct baton_build_id *writer_build,
		    struct baton_path_decision *out);

/* ------------------------------------------------------------------------ */
/* Field types and schemas                                                  */

enum baton_type {
	BATON_T_U8 = 1, BATON_T_U16, BATON_T_U32, BATON_T_U64,
	BATON_T_I8, BATON_T_I16, BATON_T_I32, BATON_T_I64,
	BATON_T_BOOL,
	BATON_T_BYTES,   /* exactly size bytes */
	BATON_T_STRING,  /* at most size bytes of text, no NUL inside */
	BATON_T_ARRAY,   /* at most size elements of the scalar type elem */
	BATON_T_SCHEMA,  /* a nested object of (contract, version) */
	BATON_T_FD,      /* a file descriptor sent beside the image */
	BATON_T_REGION,  /* a memory region (memfd) sent beside the image */
	BATON_T_MAX_ = BATON_T_REGION,
};

/* "u8" ... "region"; NULL for an unknown type. */
const char *baton_type_name(uint32_t type);
/* Parses a type name; returns the type or 0. */
uint32_t baton_type_parse(const char *s, size_t len);
/* True for the integer and bool types (the only array elements). */
bool baton_type_is_scalar(uint32_t type);
/* Width in bytes of a scalar type's encoding, 0 otherwise. */
size_t baton_type_width(uint32_t type);

/*
 * One field of a schema. Pointer-free; also the layout of fields in catalog
 * records (change it only with a new catalog record ABI).
 */
struct baton_field {
	char name[BATON_NAME_MAX];
	uint32_t type;                         /* enum baton_type */
	uint32_t elem;                         /* ARRAY: scalar element type */
	uint32_t size;                         /* BYTES: size; STRING, ARRAY: maximum */
	uint32_t version;                      /* SCHEMA: nested version */
	char contract[BATON_UUID_STRLEN + 4];  /* SCHEMA: nested contract, text form */
};

/* Checks one field's name, type and sizes; 0 or -EINVAL with words in d. */
int baton_field_check(const struct baton_field *f, struct baton_diag *d);

typedef struct baton_fingerprint {
	uint8_t b[BATON_FINGERPRINT_LEN];
} baton_fingerprint;

void baton_fingerprint_format(const baton_fingerprint *fp, char out[BATON_FINGERPRINT_HEXLEN + 1]);
int baton_fingerprint_parse(baton_fingerprint *out, const char *s, size_t len);
bool baton_fingerprint_equal(const baton_fingerprint *a, const baton_fingerprint *b);

/*
 * A sink for the canonical form: called with consecutive pieces of text.
 */
typedef void (*baton_sink_fn)(void *ctx, const char *s, size_t len);

/*
 * Looks up a nested schema's fingerprint for the canonical form of an
 * outer one. Returns 0, or -ENOENT when (contract, version) is unknown.
 */
typedef int (*baton_nested_fn)(void *ctx, const baton_uuid *contract, uint32_t version,
			       baton_fingerprint *out);

/*
 * The canonical form of a schema's layout: one line per field in order,
 * "field NAME TYPE [ARGS]\n", after the line "baton-schema-1\n". A nested
 * field's line carries the nested schema's fingerprint, so a change inside a
 * nested schema changes every schema that holds it. The contract and version
 * are not part of the form: it describes a layout, not an identity.
 */
int baton_schema_canonical(const struct baton_field *fields, size_t nfields,
			   baton_nested_fn nested, void *nested_ctx,
			   baton_sink_fn sink, void *sink_ctx, struct baton_diag *d);

/* XXH3-128 of the canonical form. */
int baton_schema_fingerprint(const struct baton_field *fields, size_t nfields,
			     baton_nested_fn nested, void *nested_ctx,
			     baton_fingerprint *out, struct baton_diag *d);

/* ------------------------------------------------------------------------ */
/* Small helpers shared by the codecs                                       */

/* Bounded strlen: the length, or max when no NUL is found within max. */
size_t baton_strnlen(const char *s, size_t max);
/* Copies a NUL-terminated string into a fixed array; -ENAMETOOLONG if it does not fit. */
int baton_strlcpy(char *dst, const char *src, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* BATON_CORE_H */
