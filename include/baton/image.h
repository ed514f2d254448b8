/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton image — the handover document of one update
 *
 * An image is a flattened device tree (DTB, built and read with libfdt) with
 * root compatible "baton,image-v1". It names the writer (program, release,
 * build id), the generation of the state, and holds one node per preserved
 * object: key, contract UUID, version, the writing handler's name, the
 * writer's schema fingerprint, flags and the object's fields. Bulk data never
 * goes into the tree: file descriptors and memory regions (memfds) travel
 * beside the image, and the tree holds indexes into those lists.
 *
 * The first property of the root node is "checksum": XXH3-128 over the whole
 * blob with those 16 bytes taken as zero. Readers verify it before they trust
 * any other byte. docs/image-format.md is the full specification.
 *
 * Core code: caller-owned buffers, no allocation, no system calls.
 */
#ifndef BATON_IMAGE_H
#define BATON_IMAGE_H

#include <baton/core.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_IMAGE_COMPATIBLE "baton,image-v1"
#define BATON_IMAGE_MAX_SIZE (64u << 20)   /* larger images are refused */
#define BATON_IMAGE_MAX_OBJECTS 65536
#define BATON_IMAGE_MAX_FDS 65536
#define BATON_KEY_MAX 256                  /* object keys, incl. NUL */

/* Object flags, as stored in the image. */
enum baton_object_flags {
	BATON_OBJECT_OPTIONAL = 1u << 0,   /* may stay unbound without refusing the update */
	BATON_OBJECT_FLAGS_ALL_ = 1u,
};

/* What kind of file an fd in the image's fd table is, for diagnostics. */
enum baton_fd_kind {
	BATON_FD_OTHER = 0,
	BATON_FD_SOCKET = 1,
	BATON_FD_MEMFD = 2,
	BATON_FD_PIPE = 3,
	BATON_FD_EVENTFD = 4,
	BATON_FD_DEVICE = 5,
	BATON_FD_FILE = 6,
	BATON_FD_KIND_MAX_ = 6,
};
/* "other", "socket", "memfd", "pipe", "eventfd", "device", "file"; NULL if unknown. */
const char *baton_fd_kind_name(uint32_t kind);

struct baton_image_header {
	char program[BATON_NAME_MAX];   /* the service's program name */
	struct baton_release release;   /* writer release */
	struct baton_build_id build_id; /* writer build */
	uint64_t generation;            /* updates the state has been through before this one */
	uint64_t frozen_at_ns;          /* CLOCK_MONOTONIC when the writer froze; 0 if unknown */
};

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

#define BATON_IMAGE_WRITER_NAMES 64

struct baton_image_writer {
	void *buf;
	size_t size;
	int err;            /* first error, sticky (negative errno) */
	int depth;          /* open nodes below the root */
	uint32_t nobjects;
	uint32_t nfds;
	uint32_t nregions;
	bool in_object;
	bool subnode_seen;  /* a property may not follow a subnode in one node */
	int phase;          /* private: which part of the tree is open */
	struct baton_diag diag;
	/*
	 * private: where the strings block holds each property name seen,
	 * so that a name is not looked up again for every object (image.c).
	 */
	uint32_t names_strsize;
	struct { uint32_t hash; int32_t off; } names[BATON_IMAGE_WRITER_NAMES];
};

/*
 * Sequential writer, one pass over buf (8-byte aligned). Order: init; the fd
 * and region tables (every add_fd, then every add_region: a region names its
 * memfd by fd index, so that fd is added first); then per object:
 * begin_object, object_refs (optional), its scalar fields, then its nested
 * fields (begin_nested ... end_nested), end_object; finally finish. A call
 * out of order fails with -EINVAL and the writer stays failed: every later
 * call returns the first error, and w->diag says what it was. Other errors:
 * -ENOSPC (buf is full), -E2BIG (a limit below), -ENAMETOOLONG (key),
 * -ELOOP (nested deeper than BATON_MAX_NESTING).
 */
int baton_image_writer_init(struct baton_image_writer *w, void *buf, size_t size,
			    const struct baton_image_header *h);
int baton_image_begin_object(struct baton_image_writer *w, const char *key,
			     const baton_uuid *contract, uint32_t version,
			     const char *handler, const baton_fingerprint *fingerprint,
			     uint32_t flags);
/* A field's encoded value (see baton_encode_*); name must be a valid name. */
int baton_image_field(struct baton_image_writer *w, const char *name, const void *value, size_t len);
int baton_image_begin_nested(struct baton_image_writer *w, const char *name);
int baton_image_end_nested(struct baton_image_writer *w);
/* References from the current object to fds and regions by index (u32 lists). */
int baton_image_object_refs(struct baton_image_writer *w, const uint32_t *fds, size_t nfds);
int baton_image_end_object(struct baton_image_writer *w);

/*
 * Entries of the fd and region tables; the runtime sends the fds in the same
 * order. Names are for people: 0 to 63 bytes of printable ASCII.
 */
struct baton_image_fd {
	uint32_t kind;      /* enum baton_fd_kind */
	char name[BATON_NAME_MAX]; /* what it is, for people: "listener", "conn" */
};
struct baton_image_region {
	uint32_t fd;        /* index into the fd table; that fd is a memfd */
	uint64_t size;      /* bytes to map */
	char name[BATON_NAME_MAX];
};
/* Before the first object. Return the new index (>= 0) or a negative errno. */
int baton_image_add_fd(struct baton_image_writer *w, const struct baton_image_fd *fd);
int baton_image_add_region(struct baton_image_writer *w, const struct baton_image_region *r);

/* Closes the tree and seals it with the checksum; *len is the image size. */
int baton_image_finish(struct baton_image_writer *w, size_t *len);

/* Field encodings: big-endian integers of the type's width, as DTB cells are. */
void baton_encode_u16(uint8_t out[2], uint16_t v);
void baton_encode_u32(uint8_t out[4], uint32_t v);
void baton_encode_u64(uint8_t out[8], uint64_t v);
uint16_t baton_decode_u16(const uint8_t in[2]);
uint32_t baton_decode_u32(const uint8_t in[4]);
uint64_t baton_decode_u64(const uint8_t in[8]);
/* Encodes value as a scalar of type (truncating to its width); returns the width. */
size_t baton_encode_scalar(uint32_t type, uint64_t value, uint8_t out[8]);
/* Decodes a scalar of type; signed types are sign-extended into the uint64_t. */
uint64_t baton_decode_scalar(uint32_t type, const uint8_t *in);

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/*
 * A validated view of an image in buf (8-byte aligned, as libfdt requires;
 * len is the exact image size). Opening checks, in this order: the size and
 * DTB header against len (the blocks inside the image), the checksum, no
 * memory reservations, the whole tree in one walk of its own (every tag,
 * length and property name, and the shape: this covers everything libfdt's
 * fdt_check_full() checks, which is not called; docs/image-format.md §5.1),
 * the root compatible, the header properties, the fd
 * and region tables, and every object node's properties (key, contract,
 * version, handler, fingerprint, flags, fd references). Field values are
 * checked against a schema by baton_image_check_fields(). After a successful
 * open, the accessors below cannot fail on this buffer. Returns 0, or
 * -EINVAL (arguments), -E2BIG (a limit), -EPROTONOSUPPORT (a DTB, but not
 * baton,image-v1) or -EBADMSG (anything else wrong), with words in d.
 */
struct baton_image {
	const void *fdt;
	size_t len;
	struct baton_image_header h;
	int objects_node;
	int fds_node;
	int regions_node;
	uint32_t nobjects;
	uint32_t nfds;
	uint32_t nregions;
};

int baton_image_open(struct baton_image *img, const void *buf, size_t len, struct baton_diag *d);

struct baton_image_object {
	int node;           /* node offset; -1 before the first */
	uint32_t index;     /* 0-based position in the image */
	const char *key;    /* NUL-terminated, points into the image */
	baton_uuid contract;
	uint32_t version;
	const char *handler;  /* the writer's handler name */
	baton_fingerprint fingerprint;
	uint32_t flags;
	int fields_node;
	const uint8_t *refs;  /* big-endian u32 fd indexes */
	uint32_t nrefs;
};

/*
 * Start with obj->node = -1. Returns 1 and fills obj, or 0 after the last.
 * Each call walks the object's properties once.
 */
int baton_image_next_object(const struct baton_image *img, struct baton_image_object *obj);
/*
 * Table entries by index: 0, or -ERANGE past the end. Linear in index (the
 * tree has no index of its entries): to read a whole table, iterate.
 */
int baton_image_get_fd(const struct baton_image *img, uint32_t index, struct baton_image_fd *out);
int baton_image_get_region(const struct baton_image *img, uint32_t index, struct baton_image_region *out);

/*
 * Iterating the fd and region tables in order, each entry in constant time.
 * Start with it->node = -1; returns 1 and fills out (it->index is the
 * entry's index), 0 after the last, or -EINVAL (an iterator not of this
 * image). Added for handovers of thousands of fds: reading a table with
 * baton_image_get_fd() is quadratic in its length.
 */
struct baton_image_iter {
	int node;           /* the entry's node offset; -1 before the first */
	uint32_t index;     /* 0-based position in the table */
};
int baton_image_next_fd(const struct baton_image *img, struct baton_image_iter *it,
			struct baton_image_fd *out);
int baton_image_next_region(const struct baton_image *img, struct baton_image_iter *it,
			    struct baton_image_region *out);

/* A field's raw value in a fields node: 0, or -ENOENT when absent. */
int baton_image_get_field(const struct baton_image *img, int fields_node, const char *name,
			  const void **value, size_t *len);
/* The node of a nested field, or -ENOENT. */
int baton_image_get_nested(const struct baton_image *img, int fields_node, const char *name);

/*
 * Every field of a fields node at once, in one walk over it, for readers
 * that decode all of an object's fields: get_field() walks the node from its
 * start at every call. out[i] is for fields[i]: a value field's bytes and
 * length (value NULL when the node has no such property), a nested field's
 * node (node -1 when absent; value NULL). Properties and nodes the schema
 * does not name are skipped, and of two with one name the first counts:
 * baton_image_check_fields() is the check, this is the accessor. Returns
 * the number of fields found, or -EINVAL (arguments, or not a node). Added.
 */
struct baton_image_value {
	const void *value;
	size_t len;
	int node;
};
int baton_image_get_fields(const struct baton_image *img, int fields_node,
			   const struct baton_field *fields, size_t nfields,
			   struct baton_image_value *out);

/*
 * Looks up the layout of a nested (contract, version) for field checks:
 * returns 0 and the fields, or -ENOENT.
 */
typedef int (*baton_schema_fn)(void *ctx, const baton_uuid *contract, uint32_t version,
			       const struct baton_field **fields, size_t *nfields);

/*
 * Checks a fields node against a schema: every field present with a value of
 * the right length and form (string without NUL inside and within its
 * maximum, array length a multiple of the element width and within its
 * maximum, bool 0 or 1, fd and region indexes within the tables), nested
 * nodes recursively, and nothing that the schema does not name. Returns 0,
 * -EBADMSG when the fields do not match, -ELOOP when nested deeper than
 * BATON_MAX_NESTING, -EINVAL for an invalid schema field or node, or the
 * error of the schema lookup (-ENOENT), with words in d.
 */
int baton_image_check_fields(const struct baton_image *img, int fields_node,
			     const struct baton_field *fields, size_t nfields,
			     baton_schema_fn schema, void *schema_ctx, struct baton_diag *d);

#ifdef __cplusplus
}
#endif

#endif /* BATON_IMAGE_H */
