/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton catalog — what a release declares about itself
 *
 * A catalog describes one release of a program: its name, release, policy,
 * the schemas of the contracts it knows and the handlers that write and read
 * them. A program declares its catalog in C with the BATON_PROGRAM,
 * BATON_SCHEMA and BATON_HANDLER macros below; they emit pointer-free records
 * into the ELF section "baton_catalog", so that the file can be read without
 * running it (libelf) and the program can read the same bytes in memory.
 *
 * This header is the ABI of those records (docs/catalog-format.md describes
 * them byte by byte). Any change to a record's layout needs a new
 * BATON_REC_ABI; readers refuse records of an ABI they do not know.
 *
 * The catalog view (struct baton_catalog) is core code: it validates a
 * buffer of records from an untrusted source and gives read access to them
 * without allocating. Programs get the buffer from baton_catalog_io.h.
 */
#ifndef BATON_CATALOG_H
#define BATON_CATALOG_H

#include <baton/core.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_CATALOG_SECTION "baton_catalog"
#define BATON_REC_MAGIC 0x52544e42u  /* bytes "BNTR" in little-endian order */
#define BATON_REC_ABI 1
#define BATON_CATALOG_MAX_RECORDS 4096
#define BATON_CATALOG_MAX_SIZE (8u << 20)

enum baton_rec_kind {
	BATON_REC_PROGRAM = 1,
	BATON_REC_SCHEMA = 2,
	BATON_REC_HANDLER = 3,
};

/*
 * Every record starts with this header and is 8-byte aligned. Records follow
 * each other at 8-byte boundaries; the linker may leave zero padding between
 * them, which readers skip.
 */
struct baton_rec {
	uint32_t magic;   /* BATON_REC_MAGIC */
	uint16_t kind;    /* enum baton_rec_kind */
	uint16_t abi;     /* BATON_REC_ABI */
	uint32_t size;    /* bytes, this header and trailing entries included */
	uint32_t count;   /* trailing entries: policy rules, fields or reads */
} __attribute__((aligned(8)));

/* One per program. Followed by count struct baton_policy_rule. */
struct baton_rec_program {
	struct baton_rec hdr;
	char name[BATON_NAME_MAX];
	struct baton_release release;
	uint32_t flags;   /* none defined; 0 */
} __attribute__((aligned(8)));

/*
 * One per (contract, version) the release writes or reads. name is the
 * contract's short name; every schema of one contract carries the same name.
 * Followed by count struct baton_field.
 */
struct baton_rec_schema {
	struct baton_rec hdr;
	char contract[BATON_UUID_STRLEN + 4];
	char name[BATON_NAME_MAX];
	uint32_t version;
	uint32_t flags;   /* none defined; 0 */
} __attribute__((aligned(8)));

/* A (contract, version) pair, as a handler writes it. */
struct baton_cv {
	char contract[BATON_UUID_STRLEN + 4];
	uint32_t version;
	uint32_t flags;   /* none defined; 0 */
};

/* The versions of one contract a handler reads. */
struct baton_read {
	char contract[BATON_UUID_STRLEN + 4];
	uint32_t nversions;
	uint32_t versions[BATON_MAX_VERSIONS];
	uint32_t reserved;
};

enum baton_handler_flags {
	BATON_HANDLER_WRITES = 1u << 0,   /* writes is meaningful */
	BATON_HANDLER_OPTIONAL = 1u << 1, /* its objects may be dropped by a successor
					     that has no handler for them */
	BATON_HANDLER_FLAGS_ALL_ = 3u,
};

/* One per handler. Followed by count struct baton_read. */
struct baton_rec_handler {
	struct baton_rec hdr;
	char name[BATON_NAME_MAX];
	uint32_t flags;   /* enum baton_handler_flags */
	uint32_t reserved;
	struct baton_cv writes;
} __attribute__((aligned(8)));

_Static_assert(sizeof(struct baton_rec) == 16, "record header ABI");
_Static_assert(sizeof(struct baton_rec_program) % 8 == 0, "record ABI");
_Static_assert(sizeof(struct baton_rec_schema) % 8 == 0, "record ABI");
_Static_assert(sizeof(struct baton_rec_handler) % 8 == 0, "record ABI");
_Static_assert(sizeof(struct baton_field) % 8 == 0, "record ABI");
_Static_assert(sizeof(struct baton_read) % 8 == 0, "record ABI");
_Static_assert(sizeof(struct baton_policy_rule) == 16, "record ABI");

/* ------------------------------------------------------------------------ */
/* Declaration macros                                                       */

#define BATON__CAT2(a, b) a##b
#define BATON__CAT(a, b) BATON__CAT2(a, b)
#define BATON__COUNT(T, ...) (sizeof((T[]){ __VA_ARGS__ }) / sizeof(T))
#define BATON__REC_ATTR \
	__attribute__((used, section(BATON_CATALOG_SECTION), aligned(8)))
#define BATON__HDR(kind_, size_, count_) \
	{ .magic = BATON_REC_MAGIC, .kind = (kind_), .abi = BATON_REC_ABI, \
	  .size = (uint32_t)(size_), .count = (uint32_t)(count_) }

/* Policy rules, for BATON_PROGRAM. */
#define BATON_SAME_BUILD { .kind = BATON_POLICY_SAME_BUILD }
#define BATON_PATCH { .kind = BATON_POLICY_PATCH }
#define BATON_NEXT_MINOR { .kind = BATON_POLICY_NEXT_MINOR }
#define BATON_FROM(maj, min) \
	{ .kind = BATON_POLICY_FROM_MINOR, .from = { (maj), (min), 0 } }
#define BATON_FROM_RELEASE(maj, min, pat) \
	{ .kind = BATON_POLICY_FROM_RELEASE, .from = { (maj), (min), (pat) } }

/*
 * BATON_PROGRAM("kvd", 1, 1, 0, BATON_PATCH, BATON_NEXT_MINOR);
 * Once per program (a second one is a link error). At least one rule.
 */
#define BATON_PROGRAM(pname, maj, min, pat, ...)                                  \
	const struct {                                                            \
		struct baton_rec_program p;                                       \
		struct baton_policy_rule r[BATON__COUNT(struct baton_policy_rule, \
							__VA_ARGS__)];            \
	} baton__program __attribute__((visibility("hidden"))) BATON__REC_ATTR = { \
		.p = { .hdr = BATON__HDR(BATON_REC_PROGRAM, sizeof(baton__program),  \
					 BATON__COUNT(struct baton_policy_rule,    \
						      __VA_ARGS__)),               \
		       .name = pname, .release = { (maj), (min), (pat) } },        \
		.r = { __VA_ARGS__ } }

/* Fields, for BATON_SCHEMA. Names are string literals. */
#define BATON_FIELD_(n, t, ...) { .name = (n), .type = (t), __VA_ARGS__ }
#define BATON_FIELD_U8(n) BATON_FIELD_(n, BATON_T_U8)
#define BATON_FIELD_U16(n) BATON_FIELD_(n, BATON_T_U16)
#define BATON_FIELD_U32(n) BATON_FIELD_(n, BATON_T_U32)
#define BATON_FIELD_U64(n) BATON_FIELD_(n, BATON_T_U64)
#define BATON_FIELD_I8(n) BATON_FIELD_(n, BATON_T_I8)
#define BATON_FIELD_I16(n) BATON_FIELD_(n, BATON_T_I16)
#define BATON_FIELD_I32(n) BATON_FIELD_(n, BATON_T_I32)
#define BATON_FIELD_I64(n) BATON_FIELD_(n, BATON_T_I64)
#define BATON_FIELD_BOOL(n) BATON_FIELD_(n, BATON_T_BOOL)
#define BATON_FIELD_BYTES(n, sz) BATON_FIELD_(n, BATON_T_BYTES, .size = (sz))
#define BATON_FIELD_STRING(n, max) BATON_FIELD_(n, BATON_T_STRING, .size = (max))
#define BATON_FIELD_ARRAY(n, elem_, max) \
	BATON_FIELD_(n, BATON_T_ARRAY, .elem = (elem_), .size = (max))
#define BATON_FIELD_SCHEMA(n, contract_, ver) \
	BATON_FIELD_(n, BATON_T_SCHEMA, .contract = contract_, .version = (ver))
#define BATON_FIELD_FD(n) BATON_FIELD_(n, BATON_T_FD)
#define BATON_FIELD_REGION(n) BATON_FIELD_(n, BATON_T_REGION)

/*
 * BATON_SCHEMA(KVD_CACHE, "kvd.cache", 2, BATON_FIELD_U64("nitems"), ...);
 * contract is the UUID in its text form, a string literal (usually a macro).
 */
#define BATON_SCHEMA(contract_, cname, ver, ...) \
	BATON__SCHEMA(BATON__CAT(baton__schema_, __COUNTER__), contract_, cname, ver, __VA_ARGS__)
#define BATON__SCHEMA(sym, contract_, cname, ver, ...)                                   \
	static const struct {                                                            \
		struct baton_rec_schema s;                                               \
		struct baton_field f[BATON__COUNT(struct baton_field, __VA_ARGS__)];     \
	} sym BATON__REC_ATTR = {                                                        \
		.s = { .hdr = BATON__HDR(BATON_REC_SCHEMA, sizeof(sym),                  \
					 BATON__COUNT(struct baton_field, __VA_ARGS__)), \
		       .contract = contract_, .name = cname, .version = (ver) },         \
		.f = { __VA_ARGS__ } }

/*
 * What a handler writes, for BATON_HANDLER: each expands to the three values
 * (flags, contract, version) that the handler record takes.
 */
#define BATON_WRITES(contract_, ver) BATON_HANDLER_WRITES, contract_, (ver)
/* Like BATON_WRITES, and a successor without a handler for them may drop its objects. */
#define BATON_WRITES_OPTIONAL(contract_, ver) \
	BATON_HANDLER_WRITES | BATON_HANDLER_OPTIONAL, contract_, (ver)
/* A handler that only adopts objects of other contracts. */
#define BATON_WRITES_NOTHING 0, "", 0
/* The versions of one contract a handler reads (at most BATON_MAX_VERSIONS). */
#define BATON_READS(contract_, ...)                                       \
	{ .contract = contract_,                                          \
	  .nversions = BATON__COUNT(uint32_t, __VA_ARGS__),               \
	  .versions = { __VA_ARGS__ } }

/*
 * BATON_HANDLER("kvd.cache", BATON_WRITES(KVD_CACHE, 2),
 *               BATON_READS(KVD_CACHE, 1, 2));
 * The name ties the declaration to the code registered at run time; it plays
 * no part in binding objects, which goes by contract alone.
 */
#define BATON_HANDLER(hname, ...) \
	BATON__HANDLER(BATON__CAT(baton__handler_, __COUNTER__), hname, __VA_ARGS__)
#define BATON__HANDLER(sym, hname, ...) BATON__HANDLER2(sym, hname, __VA_ARGS__)
#define BATON__HANDLER2(sym, hname, wflags, wcontract, wversion, ...)                    \
	static const struct {                                                            \
		struct baton_rec_handler h;                                              \
		struct baton_read r[BATON__COUNT(struct baton_read, __VA_ARGS__)];       \
	} sym BATON__REC_ATTR = {                                                        \
		.h = { .hdr = BATON__HDR(BATON_REC_HANDLER, sizeof(sym),                 \
					 BATON__COUNT(struct baton_read, __VA_ARGS__)),  \
		       .name = hname, .flags = (wflags),                                 \
		       .writes = { .contract = wcontract, .version = (wversion) } },     \
		.r = { __VA_ARGS__ } }

/* The catalog records of the program being compiled, in its own memory. */
extern const char __start_baton_catalog[] __attribute__((weak, visibility("hidden")));
extern const char __stop_baton_catalog[] __attribute__((weak, visibility("hidden")));
#define BATON_SELF_RECORDS __start_baton_catalog
#define BATON_SELF_RECORDS_LEN \
	((size_t)(__stop_baton_catalog - __start_baton_catalog))

/* ------------------------------------------------------------------------ */
/* The catalog view                                                         */

/*
 * A validated view of a buffer of records. The buffer must stay alive and
 * unchanged while the view is used, and must be 8-byte aligned.
 */
struct baton_catalog {
	const uint8_t *buf;
	size_t len;
	const struct baton_rec_program *program;
	uint32_t nschemas;
	uint32_t nhandlers;
	struct baton_build_id build_id;
};

/*
 * Validates buf as catalog records from an untrusted source: every header,
 * size, count and string bounded; names and UUIDs well-formed; exactly one
 * program record; every schema's fields well-formed and its nested schemas
 * present in the catalog without cycles. The semantic rules (ambiguity,
 * schemas a handler needs) are checked by baton_catalog_validate() in
 * check.h, so that `baton check` can report them as findings.
 * build_id may be NULL (unknown).
 */
int baton_catalog_open(struct baton_catalog *cat, const void *buf, size_t len,
		       const struct baton_build_id *build_id, struct baton_diag *d);

/* Iteration: pass NULL to get the first; returns NULL after the last. */
const struct baton_rec_schema *baton_catalog_next_schema(const struct baton_catalog *cat,
							 const struct baton_rec_schema *prev);
const struct baton_rec_handler *baton_catalog_next_handler(const struct baton_catalog *cat,
							   const struct baton_rec_handler *prev);
#define baton_catalog_for_each_schema(cat, s) \
	for ((s) = baton_catalog_next_schema((cat), NULL); (s); (s) = baton_catalog_next_schema((cat), (s)))
#define baton_catalog_for_each_handler(cat, h) \
	for ((h) = baton_catalog_next_handler((cat), NULL); (h); (h) = baton_catalog_next_handler((cat), (h)))

static inline const struct baton_policy_rule *
baton_program_rules(const struct baton_rec_program *p)
{
	return (const struct baton_policy_rule *)(const void *)(p + 1);
}
static inline const struct baton_field *
baton_schema_fields(const struct baton_rec_schema *s)
{
	return (const struct baton_field *)(const void *)(s + 1);
}
static inline const struct baton_read *
baton_handler_reads(const struct baton_rec_handler *h)
{
	return (const struct baton_read *)(const void *)(h + 1);
}

struct baton_policy baton_catalog_policy(const struct baton_catalog *cat);

/* Lookups; NULL when absent. find_reader/find_writer return the first match. */
const struct baton_rec_schema *baton_catalog_find_schema(const struct baton_catalog *cat,
							 const baton_uuid *contract, uint32_t version);
const struct baton_rec_handler *baton_catalog_find_reader(const struct baton_catalog *cat,
							  const baton_uuid *contract, uint32_t version);
const struct baton_rec_handler *baton_catalog_find_writer(const struct baton_catalog *cat,
							  const baton_uuid *contract);
const struct baton_rec_handler *baton_catalog_find_handler(const struct baton_catalog *cat,
							   const char *name);
/* The short name of a contract as its schemas declare it, or NULL. */
const char *baton_catalog_contract_name(const struct baton_catalog *cat, const baton_uuid *contract);

bool baton_handler_reads_version(const struct baton_rec_handler *h, const baton_uuid *contract,
				 uint32_t version);
/* The highest version of contract that h reads, 0 if none. */
uint32_t baton_handler_max_read(const struct baton_rec_handler *h, const baton_uuid *contract);
/* Text such as "1, 2" of the versions h reads of contract ("none" if none). */
int baton_handler_format_reads(const struct baton_rec_handler *h, const baton_uuid *contract,
			       char *buf, size_t size);

/* The parsed UUID of a record's text field; the view has already validated it. */
baton_uuid baton_rec_uuid(const char *text);

/* The fingerprint of a schema in this catalog (nested schemas resolved here). */
int baton_catalog_fingerprint(const struct baton_catalog *cat, const struct baton_rec_schema *s,
			      baton_fingerprint *out, struct baton_diag *d);

/* ------------------------------------------------------------------------ */
/* Building records (for catalogs read from JSON, and for tests)            */

struct baton_catalog_builder {
	uint8_t *buf;
	size_t size;
	size_t len;     /* bytes needed so far, even beyond size */
	int err;        /* first error, sticky */
};

/* buf must be 8-byte aligned; it may be NULL with size 0 to measure. */
void baton_catalog_builder_init(struct baton_catalog_builder *b, void *buf, size_t size);
int baton_catalog_add_program(struct baton_catalog_builder *b, const char *name,
			      const struct baton_release *release,
			      const struct baton_policy_rule *rules, size_t nrules);
int baton_catalog_add_schema(struct baton_catalog_builder *b, const char *contract,
			     const char *name, uint32_t version,
			     const struct baton_field *fields, size_t nfields);
int baton_catalog_add_handler(struct baton_catalog_builder *b, const char *name, uint32_t flags,
			      const struct baton_cv *writes,
			      const struct baton_read *reads, size_t nreads);
/* 0 and the length in *len, -ENOSPC (with the size needed in *len) or the first error. */
int baton_catalog_builder_finish(struct baton_catalog_builder *b, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* BATON_CATALOG_H */
