/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime objects — preserved state typed by its schema
 *
 * A struct baton_obj is one preserved object in memory: its key, contract and
 * version, and one value per field of the schema of that (contract, version)
 * in the program's own catalog. Setters check the type and range against the
 * schema, getters check the type, so a handler cannot write what its
 * successor's schema would not read. Objects turn into image nodes when the
 * old side saves (rt_image_write) and back into objects on the new side
 * (rt_obj_decode), where upgrade steps and restore read them.
 *
 * File descriptors. Saving (the old side: a handler's save, on a runtime
 * that has started), set_fd records the program's own fd number, without a
 * duplicate: the program is frozen from save until the update commits or is
 * cancelled, so the fd stays open and means the same file, and a duplicate
 * would cost a system call per fd and, for a server with thousands of
 * connections, twice its fds while it saves (a limit it may not have). Such
 * an fd is the program's, never the object's: it is marked taken, so that
 * nothing here closes it, on commit, cancel or error. Restoring (the new
 * side, before baton_rt_start() returns: upgrade steps), set_fd keeps a
 * duplicate as before, because a step passes an fd on by take, set and
 * close. There a received fd belongs to its object until a handler takes
 * it; whatever nobody takes is closed after restore. Each fd field is one
 * entry of the image's fd table, as before: an fd set in two objects is
 * sent twice, and the new side gets a descriptor for each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "transport/fault.h"

const char *baton_obj_key(const struct baton_obj *o)
{
	return o->key;
}

baton_uuid baton_obj_contract(const struct baton_obj *o)
{
	return o->contract;
}

uint32_t baton_obj_version(const struct baton_obj *o)
{
	return o->version;
}

/*
 * Room for a field's bytes inside the object's own allocation: values of
 * BYTES, STRING and ARRAY fields up to this size (with the NUL set_data
 * keeps) need no allocation of their own. A handover builds and frees one
 * object per connection on each side, so an object is one allocation.
 */
#define INLINE_MAX 64

static size_t inline_cap(const struct baton_field *f)
{
	size_t bytes;

	switch (f->type) {
	case BATON_T_BYTES:
	case BATON_T_STRING:
		bytes = (size_t)f->size + 1;
		break;
	case BATON_T_ARRAY:
		bytes = (size_t)f->size * baton_type_width(f->elem) + 1;
		break;
	default:
		return 0;
	}
	bytes = bytes < INLINE_MAX ? bytes : INLINE_MAX;
	return (bytes + 7) & ~(size_t)7;
}

static uint8_t *inline_room(struct baton_val *v)
{
	return v->inl_cap ? (uint8_t *)v + v->inl : NULL;
}

static bool has_data(uint32_t type)
{
	return type == BATON_T_BYTES || type == BATON_T_STRING || type == BATON_T_ARRAY;
}

struct baton_obj *rt_obj_new_as(struct baton_rt *rt, const struct baton_rec_schema *schema,
				const baton_uuid *contract, const char *key, uint32_t flags,
				int *err)
{
	const struct baton_field *fields = baton_schema_fields(schema);
	size_t room = 0, n = schema->hdr.count, klen, i;
	struct baton_obj *o;
	uint8_t *inl;
	char *k;

	klen = baton_strnlen(key, BATON_KEY_MAX);
	if (klen >= BATON_KEY_MAX) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	for (i = 0; i < n; i++)
		room += inline_cap(&fields[i]);
	_Static_assert(sizeof(struct baton_obj) % 8 == 0 && sizeof(struct baton_val) % 8 == 0,
		       "the values and their room follow the object, aligned");
	o = calloc(1, sizeof(*o) + n * sizeof(*o->vals) + room + klen + 1);
	if (!o) {
		*err = -ENOMEM;
		return NULL;
	}
	o->rt = rt;
	o->schema = schema;
	o->contract = *contract;
	o->version = schema->version;
	o->flags = flags;
	o->writer_handler = "";
	o->nfields = (uint32_t)n;
	o->vals = (struct baton_val *)(void *)(o + 1);
	inl = (uint8_t *)(o->vals + n);
	for (i = 0; i < n; i++) {
		struct baton_val *v = &o->vals[i];

		v->fd = -1;
		v->inl_cap = (uint8_t)inline_cap(&fields[i]);
		v->inl = v->inl_cap ? (uint32_t)(inl - (uint8_t *)v) : 0;
		inl += v->inl_cap;
	}
	k = (char *)inl;
	memcpy(k, key, klen);
	k[klen] = '\0';
	o->key = k;
	return o;
}

struct baton_obj *rt_obj_new(struct baton_rt *rt, const struct baton_rec_schema *schema,
			     const char *key, uint32_t flags, int *err)
{
	baton_uuid c = baton_rec_uuid(schema->contract);

	return rt_obj_new_as(rt, schema, &c, key, flags, err);
}

/* Frees a value's bytes unless they live in the object's own allocation. */
static void free_data(struct baton_val *v)
{
	if (v->data != inline_room(v))
		free(v->data);
	v->data = NULL;
}

void rt_obj_free(struct baton_obj *o)
{
	const struct baton_field *fields;
	uint32_t i;

	if (!o)
		return;
	fields = baton_schema_fields(o->schema);
	for (i = 0; i < o->nfields; i++) {
		struct baton_val *v = &o->vals[i];

		if (has_data(fields[i].type))
			free_data(v);
		else if (fields[i].type == BATON_T_SCHEMA)
			rt_obj_free(v->nested);
		if (v->fd >= 0 && !v->taken)
			close(v->fd);
	}
	free(o);
}

void rt_obj_free_list(struct baton_obj *o)
{
	while (o) {
		struct baton_obj *next = o->next;

		rt_obj_free(o);
		o = next;
	}
}

void rt_obj_close_untaken(struct baton_obj *o)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	uint32_t i;

	for (i = 0; i < o->nfields; i++) {
		struct baton_val *v = &o->vals[i];

		if (fields[i].type == BATON_T_SCHEMA && v->nested)
			rt_obj_close_untaken(v->nested);
		if (v->fd >= 0 && !v->taken) {
			close(v->fd);
			v->fd = -1;
		}
	}
}

static int field(const struct baton_obj *o, const char *name, const struct baton_field **f)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	uint32_t i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < o->nfields; i++) {
		/* the first byte first: handlers look up every field of every object by name */
		if (fields[i].name[0] == name[0] && strncmp(fields[i].name, name, BATON_NAME_MAX) == 0) {
			*f = &fields[i];
			return (int)i;
		}
	}
	return -ENOENT;
}

int rt_obj_check_set(const struct baton_obj *o, char *err, size_t size)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	uint32_t i;
	int rc;

	for (i = 0; i < o->nfields; i++) {
		if (!o->vals[i].set) {
			snprintf(err, size, "object \"%s\": field %s (%s) of %s version %u was not set",
				 o->key, fields[i].name, baton_type_name(fields[i].type),
				 o->schema->name, o->version);
			return -EINVAL;
		}
		if (fields[i].type == BATON_T_SCHEMA && o->vals[i].nested) {
			rc = rt_obj_check_set(o->vals[i].nested, err, size);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Integers                                                                 */

static bool is_signed(uint32_t t)
{
	return t >= BATON_T_I8 && t <= BATON_T_I64;
}

static bool is_unsigned(uint32_t t)
{
	return t >= BATON_T_U8 && t <= BATON_T_U64;
}

static uint64_t umax(uint32_t t)
{
	size_t w = baton_type_width(t);

	return w >= 8 ? UINT64_MAX : (1ull << (w * 8)) - 1;
}

static int64_t smax(uint32_t t)
{
	size_t w = baton_type_width(t);

	return w >= 8 ? INT64_MAX : (int64_t)((1ull << (w * 8 - 1)) - 1);
}

int baton_obj_set_uint(struct baton_obj *o, const char *name, uint64_t v)
{
	const struct baton_field *f;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (is_unsigned(f->type)) {
		if (v > umax(f->type))
			return -ERANGE;
	} else if (is_signed(f->type)) {
		if (v > (uint64_t)smax(f->type))
			return -ERANGE;
	} else {
		return -EINVAL;
	}
	o->vals[i].u = v;
	o->vals[i].set = true;
	return 0;
}

int baton_obj_set_int(struct baton_obj *o, const char *name, int64_t v)
{
	const struct baton_field *f;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (is_signed(f->type)) {
		if (v > smax(f->type) || v < -smax(f->type) - 1)
			return -ERANGE;
	} else if (is_unsigned(f->type)) {
		if (v < 0 || (uint64_t)v > umax(f->type))
			return -ERANGE;
	} else {
		return -EINVAL;
	}
	o->vals[i].u = (uint64_t)v;
	o->vals[i].set = true;
	return 0;
}

static const struct baton_val *get_val(const struct baton_obj *o, const char *name,
				       const struct baton_field **f, int *rc)
{
	int i = field(o, name, f);

	if (i < 0) {
		*rc = i;
		return NULL;
	}
	if (!o->vals[i].set) {
		*rc = -ENODATA;
		return NULL;
	}
	*rc = 0;
	return &o->vals[i];
}

int baton_obj_get_uint(const struct baton_obj *o, const char *name, uint64_t *v)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (is_signed(f->type) && (int64_t)val->u < 0)
		return -ERANGE;
	if (!is_signed(f->type) && !is_unsigned(f->type))
		return -EINVAL;
	*v = val->u;
	return 0;
}

int baton_obj_get_int(const struct baton_obj *o, const char *name, int64_t *v)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (is_unsigned(f->type) && val->u > INT64_MAX)
		return -ERANGE;
	if (!is_signed(f->type) && !is_unsigned(f->type))
		return -EINVAL;
	*v = (int64_t)val->u;
	return 0;
}

int baton_obj_set_bool(struct baton_obj *o, const char *name, bool v)
{
	const struct baton_field *f;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_BOOL)
		return -EINVAL;
	o->vals[i].u = v;
	o->vals[i].set = true;
	return 0;
}

int baton_obj_get_bool(const struct baton_obj *o, const char *name, bool *v)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_BOOL)
		return -EINVAL;
	*v = val->u != 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Bytes, strings, arrays                                                   */

/* Room for a value of bytes (and a NUL): the object's own if it fits, else allocated. */
static uint8_t *data_room(struct baton_val *v, size_t bytes)
{
	return bytes < v->inl_cap ? inline_room(v) : malloc(bytes + 1);
}

static int set_data(struct baton_val *v, const void *buf, size_t bytes, size_t len)
{
	uint8_t *p = data_room(v, bytes);

	if (!p)
		return -ENOMEM;
	if (bytes)
		memmove(p, buf, bytes);   /* buf may be this value's own bytes */
	p[bytes] = '\0';
	if (v->data != p)
		free_data(v);
	v->data = p;
	v->len = (uint32_t)len;
	v->set = true;
	return 0;
}

int baton_obj_set_bytes(struct baton_obj *o, const char *name, const void *buf, size_t len)
{
	const struct baton_field *f;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_BYTES)
		return -EINVAL;
	if (len != f->size)
		return -ERANGE;
	return set_data(&o->vals[i], buf, len, len);
}

int baton_obj_get_bytes(const struct baton_obj *o, const char *name, void *buf, size_t len)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_BYTES)
		return -EINVAL;
	if (len < f->size)
		return -ENOSPC;
	memcpy(buf, val->data, f->size);
	return 0;
}

int baton_obj_set_string(struct baton_obj *o, const char *name, const char *s, size_t len)
{
	const struct baton_field *f;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_STRING)
		return -EINVAL;
	if (len > f->size)
		return -ERANGE;
	if (len && memchr(s, '\0', len))
		return -EINVAL;
	return set_data(&o->vals[i], s, len, len);
}

int baton_obj_get_string(const struct baton_obj *o, const char *name, const char **s, size_t *len)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_STRING)
		return -EINVAL;
	*s = (const char *)val->data;
	if (len)
		*len = val->len;
	return 0;
}

int baton_obj_set_array(struct baton_obj *o, const char *name, const void *elems, size_t n)
{
	const struct baton_field *f;
	size_t w, k;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_ARRAY)
		return -EINVAL;
	if (n > f->size)
		return -ERANGE;
	w = baton_type_width(f->elem);
	if (f->elem == BATON_T_BOOL)
		for (k = 0; k < n; k++)
			if (((const uint8_t *)elems)[k] > 1)
				return -ERANGE;
	return set_data(&o->vals[i], elems, n * w, n);
}

int baton_obj_get_array(const struct baton_obj *o, const char *name, void *elems, size_t max,
			size_t *n)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_ARRAY)
		return -EINVAL;
	*n = val->len;
	if (val->len > max)
		return -ENOSPC;
	if (val->len)
		memcpy(elems, val->data, val->len * baton_type_width(f->elem));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Nested objects, fds, regions                                             */

int baton_obj_nested(struct baton_obj *o, const char *name, struct baton_obj **n)
{
	const struct baton_rec_schema *s;
	const struct baton_field *f;
	char key[BATON_KEY_MAX];
	baton_uuid c;
	int rc, i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_SCHEMA)
		return -EINVAL;
	if (!o->vals[i].nested) {
		if (baton_uuid_parse(&c, f->contract, baton_strnlen(f->contract, sizeof(f->contract))) < 0)
			return -EINVAL;
		s = baton_catalog_find_schema(o->rt->cat, &c, f->version);
		if (!s)
			return -ENOENT;
		snprintf(key, sizeof(key), "%.120s/%s", o->key, f->name);
		o->vals[i].nested = rt_obj_new_as(o->rt, s, &c, key, 0, &rc);
		if (!o->vals[i].nested)
			return rc;
		o->vals[i].set = true;
	}
	*n = o->vals[i].nested;
	return 0;
}

int baton_obj_get_nested(const struct baton_obj *o, const char *name, const struct baton_obj **n)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_SCHEMA)
		return -EINVAL;
	*n = val->nested;
	return 0;
}

int baton_obj_set_fd(struct baton_obj *o, const char *name, int fd)
{
	const struct baton_field *f;
	struct baton_val *v;
	int dup, i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_FD)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	v = &o->vals[i];
	if (o->rt->started) {
		/*
		 * Saving: the program's own fd, recorded (see the top of this
		 * file). Taken: it is the program's, not the object's, so
		 * neither freeing the object nor a second set closes it. Whether
		 * it is open is checked when the fd table is built (collect).
		 */
		if (v->fd >= 0 && !v->taken)
			close(v->fd);
		v->fd = fd;
		v->taken = true;
		v->set = true;
		return 0;
	}
	if (BATON_FAULT("dup"))
		return -EMFILE;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return -errno;
	if (v->fd >= 0 && !v->taken)
		close(v->fd);
	v->fd = dup;
	v->taken = false;
	v->set = true;
	return 0;
}

int baton_obj_take_fd(const struct baton_obj *o, const char *name, int *fd)
{
	const struct baton_field *f;
	struct baton_val *val;
	int rc;

	val = (struct baton_val *)get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_FD)
		return -EINVAL;
	if (val->taken)
		return -EALREADY;
	if (val->fd < 0)
		return -EBADF;
	val->taken = true;
	*fd = val->fd;
	return 0;
}

int baton_obj_set_region(struct baton_obj *o, const char *name, struct baton_region *r)
{
	const struct baton_field *f;
	int i = field(o, name, &f);

	if (i < 0)
		return i;
	if (f->type != BATON_T_REGION)
		return -EINVAL;
	if (!r || r->rt != o->rt)
		return -EINVAL;
	o->vals[i].region = r;
	o->vals[i].set = true;
	return 0;
}

int baton_obj_get_region(const struct baton_obj *o, const char *name, struct baton_region **r)
{
	const struct baton_field *f;
	const struct baton_val *val;
	int rc;

	val = get_val(o, name, &f, &rc);
	if (!val)
		return rc;
	if (f->type != BATON_T_REGION)
		return -EINVAL;
	*r = val->region;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Objects into an image                                                    */

struct fd_table {
	int *fds;
	struct baton_image_fd *ents;
	size_t n, cap;
	struct baton_region **regions;
	size_t nregions, rcap;
};

/*
 * What fd is, for the label in the image's fd table: 0 and *kind, or -errno
 * when fstat() fails, which for the program's own fd means it is not open
 * (the update is refused rather than a wrong or missing fd sent). One
 * fstat() per fd; readlink() only for what fstat() cannot tell apart.
 */
static int fd_kind(int fd, uint32_t *kind)
{
	char link[64], path[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISSOCK(st.st_mode)) {
		*kind = BATON_FD_SOCKET;
		return 0;
	}
	if (S_ISFIFO(st.st_mode)) {
		*kind = BATON_FD_PIPE;
		return 0;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		*kind = BATON_FD_DEVICE;
		return 0;
	}
	*kind = S_ISREG(st.st_mode) ? BATON_FD_FILE : BATON_FD_OTHER;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if (strncmp(link, "/memfd:", 7) == 0)
			*kind = BATON_FD_MEMFD;
		else if (strstr(link, "[eventfd]"))
			*kind = BATON_FD_EVENTFD;
	}
	return 0;
}

/*
 * An fd of an object about to go into the fd table: 0 and its label, or
 * -errno when it is not open. Labelling costs an fstat() per fd, about
 * 1 us for a TCP connection's socket where a system call costs 0.2 us
 * (bench/handover/README.md), which in a live update is downtime, and
 * nobody reads the labels of an image that lives only until the successor
 * has read it. So an update to a successor (rt->up.active) only checks
 * that the fd is open, with the cheapest call that does (fcntl F_GETFD,
 * 0.3 us), and labels it other; an image that is kept (a golden image,
 * baton_rt_save_image(), which `baton inspect` shows) gets every label.
 * Region memfds are labelled without a call, by the caller.
 */
static int fd_check(const struct baton_obj *o, const char *field, int fd, uint32_t *kind,
		    char *err, size_t errsize)
{
	const char *call = o->rt->up.active ? "fcntl" : "fstat";
	int rc;

	if (BATON_FAULT(call)) {
		snprintf(err, errsize, "object \"%s\": fd field %s is fd %d: %s(): %s (injected)",
			 o->key, field, fd, call, strerror(ENOMEM));
		return -ENOMEM;
	}
	if (!o->rt->up.active) {
		rc = fd_kind(fd, kind);
	} else {
		*kind = BATON_FD_OTHER;
		rc = fcntl(fd, F_GETFD) < 0 ? -errno : 0;
	}
	if (rc == -EBADF)
		snprintf(err, errsize,
			 "object \"%s\": fd field %s is fd %d, which is not open (an fd a handler saves must stay open until the update commits or is cancelled)",
			 o->key, field, fd);
	else if (rc < 0)
		snprintf(err, errsize, "object \"%s\": fd field %s is fd %d: %s(): %s", o->key, field,
			 fd, call, strerror(-rc));
	return rc;
}

static int table_add(struct fd_table *t, int fd, uint32_t kind, const char *name, uint32_t *index)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		int *fds = realloc(t->fds, cap * sizeof(*fds));
		struct baton_image_fd *ents;

		if (!fds)
			return -ENOMEM;
		t->fds = fds;
		ents = realloc(t->ents, cap * sizeof(*ents));
		if (!ents)
			return -ENOMEM;
		t->ents = ents;
		t->cap = cap;
	}
	if (t->n >= BATON_IMAGE_MAX_FDS)
		return -E2BIG;
	t->fds[t->n] = fd;
	memset(&t->ents[t->n], 0, sizeof(t->ents[t->n]));
	t->ents[t->n].kind = kind;
	baton_strlcpy(t->ents[t->n].name, name, sizeof(t->ents[t->n].name));
	*index = (uint32_t)t->n++;
	return 0;
}

/* Every fd and region of o into the table; on failure, words in err. */
static int collect(struct fd_table *t, struct baton_obj *o, char *err, size_t errsize)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	uint32_t i, kind;
	int rc;

	for (i = 0; i < o->nfields; i++) {
		struct baton_val *v = &o->vals[i];

		if (fields[i].type == BATON_T_FD && v->set) {
			rc = fd_check(o, fields[i].name, v->fd, &kind, err, errsize);
			if (rc < 0)
				return rc;
			rc = table_add(t, v->fd, kind, fields[i].name, &v->index);
			if (rc < 0)
				goto fail;
		} else if (fields[i].type == BATON_T_REGION && v->set) {
			struct baton_region *r = v->region;

			if (r->index == UINT32_MAX) {
				if (t->nregions == t->rcap) {
					size_t cap = t->rcap ? t->rcap * 2 : 8;
					struct baton_region **p = realloc(t->regions, cap * sizeof(*p));

					if (!p) {
						rc = -ENOMEM;
						goto fail;
					}
					t->regions = p;
					t->rcap = cap;
				}
				rc = table_add(t, r->fd, BATON_FD_MEMFD, r->name, &r->fd_index);
				if (rc < 0)
					goto fail;
				r->index = (uint32_t)t->nregions;
				t->regions[t->nregions++] = r;
			}
			v->index = r->index;
		} else if (fields[i].type == BATON_T_SCHEMA && v->nested) {
			rc = collect(t, v->nested, err, errsize);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
fail:
	snprintf(err, errsize, "object \"%s\": collecting its fds: %s", o->key, strerror(-rc));
	return rc;
}

/* fd-table indexes an object refers to, its nested objects included. */
static int refs(const struct baton_obj *o, uint32_t **list, size_t *n, size_t *cap)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	uint32_t i;

	for (i = 0; i < o->nfields; i++) {
		const struct baton_val *v = &o->vals[i];
		uint32_t idx;

		if (fields[i].type == BATON_T_FD)
			idx = v->index;
		else if (fields[i].type == BATON_T_REGION)
			idx = v->region->fd_index;
		else if (fields[i].type == BATON_T_SCHEMA) {
			int rc = refs(v->nested, list, n, cap);

			if (rc < 0)
				return rc;
			continue;
		} else
			continue;
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 8;
			uint32_t *p = realloc(*list, c * sizeof(*p));

			if (!p)
				return -ENOMEM;
			*list = p;
			*cap = c;
		}
		(*list)[(*n)++] = idx;
	}
	return 0;
}

static int write_fields(struct baton_image_writer *w, const struct baton_obj *o)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	uint32_t i;
	int rc;

	/* Properties first: a property may not follow a subnode. */
	for (i = 0; i < o->nfields; i++) {
		const struct baton_field *f = &fields[i];
		const struct baton_val *v = &o->vals[i];
		uint8_t sc[8];

		if (baton_type_is_scalar(f->type)) {
			size_t n = baton_encode_scalar(f->type, v->u, sc);

			rc = baton_image_field(w, f->name, sc, n);
		} else if (f->type == BATON_T_BYTES) {
			rc = baton_image_field(w, f->name, v->data, v->len);
		} else if (f->type == BATON_T_STRING) {
			/* the text and its terminating NUL (set_data keeps one) */
			rc = baton_image_field(w, f->name, v->data, v->len + 1);
		} else if (f->type == BATON_T_ARRAY) {
			size_t ew = baton_type_width(f->elem), k;
			uint8_t small[256];
			uint8_t *enc = v->len * ew <= sizeof(small) ? small : malloc(v->len * ew + 1);

			if (!enc)
				return -ENOMEM;
			for (k = 0; k < v->len; k++) {
				uint64_t e = 0;

				switch (ew) {
				case 1: e = v->data[k]; break;
				case 2: { uint16_t x; memcpy(&x, v->data + k * 2, 2); e = x; break; }
				case 4: { uint32_t x; memcpy(&x, v->data + k * 4, 4); e = x; break; }
				default: memcpy(&e, v->data + k * 8, 8); break;
				}
				baton_encode_scalar(f->elem, e, enc + k * ew);
			}
			rc = baton_image_field(w, f->name, enc, v->len * ew);
			if (enc != small)
				free(enc);
		} else if (f->type == BATON_T_FD || f->type == BATON_T_REGION) {
			baton_encode_u32(sc, v->index);
			rc = baton_image_field(w, f->name, sc, 4);
		} else {
			continue;
		}
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < o->nfields; i++) {
		if (fields[i].type != BATON_T_SCHEMA)
			continue;
		rc = baton_image_begin_nested(w, fields[i].name);
		if (rc < 0)
			return rc;
		rc = write_fields(w, o->vals[i].nested);
		if (rc < 0)
			return rc;
		rc = baton_image_end_nested(w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

#define FP_CACHE 32

int rt_image_write(struct baton_rt *rt, struct baton_obj *objs, void *buf, size_t size,
		   const struct baton_image_header *h, size_t *len, int **fdsp, size_t *nfdsp,
		   char *err, size_t errsize)
{
	struct baton_image_writer w;
	struct fd_table t = { 0 };
	struct baton_region *r;
	struct baton_obj *o;
	uint32_t *list = NULL;
	size_t i, cap = 0, nfp = 0;
	struct {
		const struct baton_rec_schema *schema;
		baton_fingerprint fp;
	} fps[FP_CACHE];
	int rc;

	for (r = rt->regions; r; r = r->next)
		r->index = r->fd_index = UINT32_MAX;
	for (o = objs; o; o = o->next) {
		rc = collect(&t, o, err, errsize);
		if (rc < 0)
			goto out;
	}
	rc = baton_image_writer_init(&w, buf, size, h);
	for (i = 0; rc == 0 && i < t.n; i++)
		rc = baton_image_add_fd(&w, &t.ents[i]) < 0 ? w.err ? w.err : -EINVAL : 0;
	for (i = 0; rc == 0 && i < t.nregions; i++) {
		struct baton_image_region ir = { .fd = t.regions[i]->fd_index,
						 .size = t.regions[i]->size };

		baton_strlcpy(ir.name, t.regions[i]->name, sizeof(ir.name));
		rc = baton_image_add_region(&w, &ir) < 0 ? w.err ? w.err : -EINVAL : 0;
	}
	for (o = objs; rc == 0 && o; o = o->next) {
		baton_fingerprint fp;
		struct baton_diag d;
		size_t n = 0, k;

		/* A few schemas, thousands of objects: each fingerprint once. */
		for (k = 0; k < nfp && fps[k].schema != o->schema; k++)
			;
		if (k == nfp) {
			rc = baton_catalog_fingerprint(rt->cat, o->schema, &fp, &d);
			if (rc < 0) {
				snprintf(err, errsize, "object \"%s\": fingerprint of %s version %u: %s",
					 o->key, o->schema->name, o->version, d.msg);
				goto out;
			}
			if (nfp < FP_CACHE) {
				fps[nfp].schema = o->schema;
				fps[nfp++].fp = fp;
			}
		} else {
			fp = fps[k].fp;
		}
		rc = baton_image_begin_object(&w, o->key, &o->contract, o->version, o->handler->name,
					      &fp, o->flags);
		if (rc == 0)
			rc = refs(o, &list, &n, &cap);
		if (rc == 0 && n)
			rc = baton_image_object_refs(&w, list, n);
		if (rc == 0)
			rc = write_fields(&w, o);
		if (rc == 0)
			rc = baton_image_end_object(&w);
		if (rc < 0 && rc != -ENOSPC) {
			snprintf(err, errsize, "object \"%s\" (%s version %u, handler %s): %s",
				 o->key, o->schema->name, o->version, o->handler->name,
				 w.diag.msg[0] ? w.diag.msg : strerror(-rc));
			goto out;
		}
	}
	if (rc == 0)
		rc = baton_image_finish(&w, len);
	if (rc < 0 && rc != -ENOSPC)
		snprintf(err, errsize, "writing the image: %s",
			 w.diag.msg[0] ? w.diag.msg : strerror(-rc));
out:
	free(list);
	free(t.ents);
	free(t.regions);
	if (rc == 0) {
		*fdsp = t.fds;
		*nfdsp = t.n;
	} else {
		free(t.fds);
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* An image node into an object                                             */

/* Values of one fields node on the stack up to this many fields; allocated beyond. */
#define DECODE_STACK 32

static int decode_fields(struct baton_rt *rt, const struct baton_image *img, int node,
			 struct baton_obj *o, int *fds, uint32_t nfds,
			 struct baton_region **regions, char *err, size_t errsize)
{
	const struct baton_field *fields = baton_schema_fields(o->schema);
	struct baton_image_value stack[DECODE_STACK], *vals = stack;
	uint32_t i;
	int rc;

	/* Every field of the node in one walk; bind has checked them all already. */
	if (o->nfields > DECODE_STACK) {
		vals = malloc(o->nfields * sizeof(*vals));
		if (!vals)
			return -ENOMEM;
	}
	rc = baton_image_get_fields(img, node, fields, o->nfields, vals);
	if (rc < 0) {
		snprintf(err, errsize, "object \"%s\": its fields node cannot be read", o->key);
		rc = -EBADMSG;
		goto out;
	}
	for (i = 0; i < o->nfields; i++) {
		const struct baton_field *f = &fields[i];
		struct baton_val *v = &o->vals[i];
		const uint8_t *val;
		size_t len;

		if (f->type == BATON_T_SCHEMA) {
			const struct baton_rec_schema *s;
			char nkey[BATON_KEY_MAX];
			baton_uuid c;
			int sub = vals[i].node;

			baton_uuid_parse(&c, f->contract, baton_strnlen(f->contract, sizeof(f->contract)));
			s = baton_catalog_find_schema(rt->cat, &c, f->version);
			if (sub < 0 || !s)
				goto missing;
			snprintf(nkey, sizeof(nkey), "%.120s/%s", o->key, f->name);
			v->nested = rt_obj_new_as(rt, s, &c, nkey, 0, &rc);
			if (!v->nested)
				goto out;
			rc = decode_fields(rt, img, sub, v->nested, fds, nfds, regions, err, errsize);
			if (rc < 0)
				goto out;
			v->set = true;
			continue;
		}
		if (!vals[i].value)
			goto missing;
		val = vals[i].value;
		len = vals[i].len;
		if (baton_type_is_scalar(f->type)) {
			if (len != baton_type_width(f->type))
				goto bad;
			v->u = baton_decode_scalar(f->type, val);
		} else if (f->type == BATON_T_BYTES) {
			if (len != f->size)
				goto bad;
			rc = set_data(v, val, len, len);
			if (rc < 0)
				goto out;
		} else if (f->type == BATON_T_STRING) {
			if (len == 0 || val[len - 1] != '\0' || len - 1 > f->size ||
			    memchr(val, '\0', len - 1))
				goto bad;
			rc = set_data(v, val, len - 1, len - 1);
			if (rc < 0)
				goto out;
		} else if (f->type == BATON_T_ARRAY) {
			size_t ew = baton_type_width(f->elem), k, n;

			if (!ew || len % ew || len / ew > f->size)
				goto bad;
			n = len / ew;
			v->data = data_room(v, len);
			if (!v->data) {
				rc = -ENOMEM;
				goto out;
			}
			for (k = 0; k < n; k++) {
				uint64_t e = baton_decode_scalar(f->elem, val + k * ew);

				switch (ew) {
				case 1: v->data[k] = (uint8_t)e; break;
				case 2: { uint16_t x = (uint16_t)e; memcpy(v->data + k * 2, &x, 2); break; }
				case 4: { uint32_t x = (uint32_t)e; memcpy(v->data + k * 4, &x, 4); break; }
				default: memcpy(v->data + k * 8, &e, 8); break;
				}
			}
			v->len = (uint32_t)n;
		} else if (f->type == BATON_T_FD) {
			uint32_t idx;

			if (len != 4)
				goto bad;
			idx = baton_decode_u32(val);
			if (idx >= nfds || fds[idx] < 0) {
				snprintf(err, errsize,
					 "object \"%s\": fd field %s refers to fd %u, which is missing or already used",
					 o->key, f->name, idx);
				rc = -EBADMSG;
				goto out;
			}
			v->fd = fds[idx];
			fds[idx] = -1;   /* the object owns it now */
		} else if (f->type == BATON_T_REGION) {
			uint32_t idx;

			if (len != 4)
				goto bad;
			idx = baton_decode_u32(val);
			if (idx >= img->nregions || !regions[idx])
				goto bad;
			v->region = regions[idx];
		}
		v->set = true;
	}
	rc = 0;
	goto out;
missing:
	snprintf(err, errsize, "object \"%s\": field %s of %s version %u is missing from the image",
		 o->key, fields[i].name, o->schema->name, o->version);
	rc = -EBADMSG;
	goto out;
bad:
	snprintf(err, errsize, "object \"%s\": field %s (%s) of %s version %u has a malformed value",
		 o->key, fields[i].name, baton_type_name(fields[i].type), o->schema->name, o->version);
	rc = -EBADMSG;
out:
	if (vals != stack)
		free(vals);
	return rc;
}

int rt_obj_decode(struct baton_rt *rt, const struct baton_image *img,
		  const struct baton_image_object *io, const struct baton_rec_schema *schema,
		  int *fds, uint32_t nfds, struct baton_region **regions, struct baton_obj **out,
		  char *err, size_t errsize)
{
	struct baton_obj *o;
	int rc;

	o = rt_obj_new_as(rt, schema, &io->contract, io->key, io->flags, &rc);
	if (!o) {
		snprintf(err, errsize, "object \"%.200s\": %s", io->key, strerror(-rc));
		return rc;
	}
	o->writer_handler = io->handler ? io->handler : "";
	rc = decode_fields(rt, img, io->fields_node, o, fds, nfds, regions, err, errsize);
	if (rc < 0) {
		rt_obj_free(o);
		return rc;
	}
	*out = o;
	return 0;
}
