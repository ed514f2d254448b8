/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton inspect — what an image holds, checked before it is believed
 *
 * Reads an image file (never more than BATON_IMAGE_MAX_SIZE bytes), opens it
 * with the core codec, which verifies the checksum and every offset and
 * length before anything here reads a byte, and prints the header, every
 * object with its fields, and the fd and region tables.
 *
 * An image does not say what type its fields are: that is in the schema of
 * the object's (contract, version). Without a catalog, values are shown by
 * their size (integers for 1, 2, 4 and 8 bytes, text when printable, hex
 * otherwise). With --catalog, fields are decoded by that catalog's schemas
 * once the fingerprint and field checks agree, and the image is bound to the
 * catalog exactly as the runtime would bind it: inspect then also says which
 * handler takes every object, and fails if the catalog's release would
 * refuse the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include "cli.h"
#include "report.h"

#define HEX_SHOWN 64  /* bytes of a long value shown in the human form */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton inspect [--json] [--catalog FILE] IMAGE\n"
		"\n"
		"Validates an image file (the handover document of one update) and prints its\n"
		"header (program, release, build id, generation), every object (key, contract,\n"
		"version, the handler that wrote it, flags, fields) and its fd and region\n"
		"tables. The checksum and every length and offset are checked before anything\n"
		"is printed; a damaged or hostile image is refused with the reason.\n"
		"\n"
		"options:\n"
		"  --catalog FILE  decode fields by the schemas of FILE (a program or a JSON\n"
		"                  catalog) and bind the image to it as that release would:\n"
		"                  say which handler takes each object, and exit 1 if the\n"
		"                  release would refuse the image\n"
		"  --json          print one JSON object instead\n"
		"  -h, --help      print this help\n"
		"\n"
		"Without --catalog, field values are shown by size: integers for 1, 2, 4 and\n"
		"8 bytes, text when printable, hex otherwise.\n"
		"\n"
		"exit status: 0 a valid image (bound, with --catalog), 1 the image is corrupt,\n"
		"             truncated or refused by the catalog, 2 usage or I/O error\n"
		"\n"
		"example:\n"
		"  baton inspect /tmp/kvd.image\n"
		"  baton inspect --catalog ./build/kvd --json /tmp/kvd.image\n");
}

/* ------------------------------------------------------------------------ */
/* Reading the file                                                         */

/*
 * Reads at most BATON_IMAGE_MAX_SIZE bytes of path into a malloc'd buffer.
 * Returns 0, or an exit code after printing why.
 */
static int read_image(const char *path, void **out, size_t *len)
{
	size_t size = 0, cap = 0;
	uint8_t *buf = NULL;
	struct stat st;
	int fd, rc = BATON_EXIT_USAGE;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "baton inspect: %s: %s\n", path, strerror(errno));
		return BATON_EXIT_USAGE;
	}
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "baton inspect: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "baton inspect: %s: is a directory, not an image\n", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > BATON_IMAGE_MAX_SIZE) {
		fprintf(stderr, "baton inspect: %s: %" PRIu64 " bytes is larger than an image may be "
			"(%u bytes); not an image, or a hostile one\n", path, (uint64_t)st.st_size,
			BATON_IMAGE_MAX_SIZE);
		rc = BATON_EXIT_FINDINGS;
		goto out;
	}
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	for (;;) {
		ssize_t n;

		if (size == cap) {
			uint8_t *bigger;

			if (cap > BATON_IMAGE_MAX_SIZE) {
				fprintf(stderr, "baton inspect: %s: more than %u bytes; larger than an "
					"image may be\n", path, BATON_IMAGE_MAX_SIZE);
				rc = BATON_EXIT_FINDINGS;
				goto out;
			}
			cap = cap * 2 > (size_t)BATON_IMAGE_MAX_SIZE + 1 ? (size_t)BATON_IMAGE_MAX_SIZE + 1
									 : cap * 2;
			bigger = realloc(buf, cap);
			if (!bigger) {
				fprintf(stderr, "baton inspect: %s: out of memory\n", path);
				goto out;
			}
			buf = bigger;
		}
		if (!buf) {
			buf = malloc(cap);
			if (!buf) {
				fprintf(stderr, "baton inspect: %s: out of memory\n", path);
				goto out;
			}
		}
		n = read(fd, buf + size, cap - size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "baton inspect: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > BATON_IMAGE_MAX_SIZE) {
			fprintf(stderr, "baton inspect: %s: more than %u bytes; larger than an image "
				"may be\n", path, BATON_IMAGE_MAX_SIZE);
			rc = BATON_EXIT_FINDINGS;
			goto out;
		}
	}
	*out = buf;
	*len = size;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */

struct inspect {
	const struct baton_image *img;
	const struct baton_catalog *cat;   /* NULL without --catalog */
	bool json;
	FILE *out;
	/*
	 * The fd and region tables, read once in order: objects refer to them
	 * by index, and looking an entry up by index walks the table from its
	 * start (a handover of thousands of connections has thousands of fds).
	 */
	struct baton_image_fd *fds;
	struct baton_image_region *regions;
};

/* Reads both tables with the image's iterators. 0, or -ENOMEM / -EBADMSG. */
static int load_tables(struct inspect *in)
{
	struct baton_image_iter it = { .node = -1 };
	uint32_t n = 0;
	int rc;

	in->fds = calloc(in->img->nfds ? in->img->nfds : 1, sizeof(*in->fds));
	in->regions = calloc(in->img->nregions ? in->img->nregions : 1, sizeof(*in->regions));
	if (!in->fds || !in->regions)
		return -ENOMEM;
	while (n < in->img->nfds && (rc = baton_image_next_fd(in->img, &it, &in->fds[n])) > 0)
		n++;
	if (n != in->img->nfds)
		return -EBADMSG;
	it.node = -1;
	n = 0;
	while (n < in->img->nregions &&
	       (rc = baton_image_next_region(in->img, &it, &in->regions[n])) > 0)
		n++;
	return n == in->img->nregions ? 0 : -EBADMSG;
}

static void print_hex(FILE *out, const uint8_t *v, size_t len, size_t max)
{
	size_t i;

	for (i = 0; i < len && i < max; i++)
		fprintf(out, "%02x", v[i]);
	if (len > max)
		fprintf(out, "... (%zu bytes)", len);
	if (len == 0)
		fprintf(out, "(empty)");
}

static char *hex_string(const uint8_t *v, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * len + 1);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[v[i] >> 4];
		s[2 * i + 1] = digits[v[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}

static struct json_object *json_hex(const uint8_t *v, size_t len)
{
	struct json_object *o = json_object_new_object();
	char *s = hex_string(v, len);

	if (o && s)
		json_object_object_add(o, "hex", json_object_new_string(s));
	free(s);
	return o;
}

/* Text of printable ASCII ending in one NUL: what a string field looks like. */
static bool looks_like_text(const uint8_t *v, size_t len)
{
	size_t i;

	if (len < 2 || v[len - 1] != '\0')
		return false;
	for (i = 0; i + 1 < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return false;
	return true;
}

static void print_text(FILE *out, const uint8_t *v, size_t len)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < len && v[i]; i++) {
		if (v[i] == '"' || v[i] == '\\')
			fprintf(out, "\\%c", v[i]);
		else if (v[i] < 0x20 || v[i] > 0x7e)
			fprintf(out, "\\x%02x", v[i]);
		else
			fputc(v[i], out);
	}
	fputc('"', out);
}

static uint64_t be_uint(const uint8_t *v, size_t len)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < len; i++)
		x = x << 8 | v[i];
	return x;
}

static bool integer_width(size_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

/* A value whose type is not known: by its size. */
static void print_raw(FILE *out, const uint8_t *v, size_t len)
{
	if (integer_width(len)) {
		fprintf(out, "%" PRIu64, be_uint(v, len));
		if (looks_like_text(v, len)) {
			fprintf(out, " (or ");
			print_text(out, v, len);
			fprintf(out, ")");
		}
	} else if (looks_like_text(v, len)) {
		print_text(out, v, len);
	} else {
		fprintf(out, "0x");
		print_hex(out, v, len, HEX_SHOWN);
	}
}

static struct json_object *json_raw(const uint8_t *v, size_t len)
{
	if (integer_width(len))
		return json_object_new_uint64(be_uint(v, len));
	if (looks_like_text(v, len))
		return json_object_new_string((const char *)v);
	return json_hex(v, len);
}

static void print_fd_ref(const struct inspect *in, uint32_t index)
{
	struct baton_image_fd fd;
	const char *kind;

	fprintf(in->out, "fd %u", index);
	if (index < in->img->nfds) {
		fd = in->fds[index];
		kind = baton_fd_kind_name(fd.kind);
		fprintf(in->out, " (%s%s%s)", kind ? kind : "?", fd.name[0] ? " " : "", fd.name);
	}
}

static void print_region_ref(const struct inspect *in, uint32_t index)
{
	const struct baton_image_region *r;

	fprintf(in->out, "region %u", index);
	if (index >= in->img->nregions)
		return;
	r = &in->regions[index];
	fprintf(in->out, " (fd %u, %" PRIu64 " bytes%s%s)", r->fd, r->size, r->name[0] ? ", " : "",
		r->name);
}

/* A value of a known type, checked by baton_image_check_fields() already. */
static void print_typed(const struct inspect *in, const struct baton_field *f, const uint8_t *v,
			size_t len)
{
	size_t i, w;

	switch (f->type) {
	case BATON_T_U8:
	case BATON_T_U16:
	case BATON_T_U32:
	case BATON_T_U64:
		fprintf(in->out, "%" PRIu64, baton_decode_scalar(f->type, v));
		break;
	case BATON_T_I8:
	case BATON_T_I16:
	case BATON_T_I32:
	case BATON_T_I64:
		fprintf(in->out, "%" PRId64, (int64_t)baton_decode_scalar(f->type, v));
		break;
	case BATON_T_BOOL:
		fprintf(in->out, "%s", v[0] ? "true" : "false");
		break;
	case BATON_T_STRING:
		print_text(in->out, v, len);
		break;
	case BATON_T_ARRAY:
		w = baton_type_width(f->elem);
		fputc('[', in->out);
		for (i = 0; w && i < len / w; i++) {
			uint64_t x = baton_decode_scalar(f->elem, v + i * w);

			if (i)
				fprintf(in->out, ", ");
			if (f->elem == BATON_T_BOOL)
				fprintf(in->out, "%s", x ? "true" : "false");
			else if (f->elem >= BATON_T_I8 && f->elem <= BATON_T_I64)
				fprintf(in->out, "%" PRId64, (int64_t)x);
			else
				fprintf(in->out, "%" PRIu64, x);
		}
		fputc(']', in->out);
		break;
	case BATON_T_FD:
		print_fd_ref(in, baton_decode_u32(v));
		break;
	case BATON_T_REGION:
		print_region_ref(in, baton_decode_u32(v));
		break;
	default:
		fprintf(in->out, "0x");
		print_hex(in->out, v, len, HEX_SHOWN);
		break;
	}
}

static struct json_object *json_typed(const struct inspect *in, const struct baton_field *f,
				      const uint8_t *v, size_t len)
{
	struct json_object *o;
	size_t i, w;

	switch (f->type) {
	case BATON_T_U8:
	case BATON_T_U16:
	case BATON_T_U32:
	case BATON_T_U64:
		return json_object_new_uint64(baton_decode_scalar(f->type, v));
	case BATON_T_I8:
	case BATON_T_I16:
	case BATON_T_I32:
	case BATON_T_I64:
		return json_object_new_int64((int64_t)baton_decode_scalar(f->type, v));
	case BATON_T_BOOL:
		return json_object_new_boolean(v[0] != 0);
	case BATON_T_STRING:
		return json_object_new_string_len((const char *)v, (int)(len ? len - 1 : 0));
	case BATON_T_ARRAY:
		o = json_object_new_array();
		w = baton_type_width(f->elem);
		for (i = 0; o && w && i < len / w; i++) {
			uint64_t x = baton_decode_scalar(f->elem, v + i * w);

			if (f->elem == BATON_T_BOOL)
				json_object_array_add(o, json_object_new_boolean(x != 0));
			else if (f->elem >= BATON_T_I8 && f->elem <= BATON_T_I64)
				json_object_array_add(o, json_object_new_int64((int64_t)x));
			else
				json_object_array_add(o, json_object_new_uint64(x));
		}
		return o;
	case BATON_T_FD:
		o = json_object_new_object();
		if (o)
			json_object_object_add(o, "fd", json_object_new_int64(baton_decode_u32(v)));
		return o;
	case BATON_T_REGION:
		o = json_object_new_object();
		if (o)
			json_object_object_add(o, "region", json_object_new_int64(baton_decode_u32(v)));
		return o;
	default:
		return json_hex(v, len);
	}
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                   */

static void indent(FILE *out, int depth)
{
	fprintf(out, "%*s", 4 + 2 * depth, "");
}

/* Every property and subnode of a fields node, by size. */
static void fields_raw(const struct inspect *in, int node, int depth, struct json_object *jo)
{
	const void *fdt = in->img->fdt;
	int prop, sub;

	fdt_for_each_property_offset(prop, fdt, node) {
		const char *name;
		const void *v;
		int len;

		v = fdt_getprop_by_offset(fdt, prop, &name, &len);
		if (!v || len < 0)
			continue;
		if (jo) {
			json_object_object_add(jo, name, json_raw(v, (size_t)len));
		} else {
			indent(in->out, depth);
			fprintf(in->out, "%s = ", name);
			print_raw(in->out, v, (size_t)len);
			fputc('\n', in->out);
		}
	}
	fdt_for_each_subnode(sub, fdt, node) {
		const char *name = fdt_get_name(fdt, sub, NULL);
		struct json_object *child = NULL;

		if (!name)
			continue;
		if (jo) {
			child = json_object_new_object();
			json_object_object_add(jo, name, child);
			if (!child)
				continue;
		} else {
			indent(in->out, depth);
			fprintf(in->out, "%s:\n", name);
		}
		fields_raw(in, sub, depth + 1, child);
	}
}

/* The fields of a node by their schema (already checked against it). */
static void fields_typed(const struct inspect *in, int node, const struct baton_field *fields,
			 size_t n, int depth, struct json_object *jo)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct baton_field *f = &fields[i];
		const void *v;
		size_t len;

		if (f->type == BATON_T_SCHEMA) {
			const struct baton_rec_schema *s;
			struct json_object *child = NULL;
			baton_uuid u = baton_rec_uuid(f->contract);
			int sub = baton_image_get_nested(in->img, node, f->name);

			s = baton_catalog_find_schema(in->cat, &u, f->version);
			if (sub < 0 || !s)
				continue;
			if (jo) {
				child = json_object_new_object();
				json_object_object_add(jo, f->name, child);
				if (!child)
					continue;
			} else {
				indent(in->out, depth);
				fprintf(in->out, "%s: (%s version %u)\n", f->name, s->name, s->version);
			}
			fields_typed(in, sub, baton_schema_fields(s), s->hdr.count, depth + 1, child);
			continue;
		}
		if (baton_image_get_field(in->img, node, f->name, &v, &len) < 0)
			continue;
		if (jo) {
			json_object_object_add(jo, f->name, json_typed(in, f, v, len));
		} else {
			indent(in->out, depth);
			fprintf(in->out, "%s = ", f->name);
			print_typed(in, f, v, len);
			fprintf(in->out, " (%s)\n", baton_type_name(f->type));
		}
	}
}

static int catalog_schema(void *ctx, const baton_uuid *contract, uint32_t version,
			  const struct baton_field **fields, size_t *nfields)
{
	const struct baton_rec_schema *s = baton_catalog_find_schema(ctx, contract, version);

	if (!s)
		return -ENOENT;
	*fields = baton_schema_fields(s);
	*nfields = s->hdr.count;
	return 0;
}

/*
 * The schema to decode obj's fields with, or NULL with the reason in why:
 * the catalog must declare the object's (contract, version) with the layout
 * the image recorded, and the fields must pass the checks.
 */
static const struct baton_rec_schema *decoding_schema(const struct inspect *in,
						      const struct baton_image_object *obj,
						      char *why, size_t size)
{
	const struct baton_rec_schema *s;
	baton_fingerprint fp;
	struct baton_diag d;

	why[0] = '\0';
	if (!in->cat)
		return NULL;
	s = baton_catalog_find_schema(in->cat, &obj->contract, obj->version);
	if (!s) {
		snprintf(why, size, "the catalog has no schema for version %u of this contract",
			 obj->version);
		return NULL;
	}
	if (baton_catalog_fingerprint(in->cat, s, &fp, NULL) < 0 ||
	    !baton_fingerprint_equal(&fp, &obj->fingerprint)) {
		snprintf(why, size, "the catalog's schema of version %u has another layout", obj->version);
		return NULL;
	}
	if (obj->fields_node < 0)
		return s->hdr.count == 0 ? s : NULL;
	baton_diag_clear(&d);
	if (baton_image_check_fields(in->img, obj->fields_node, baton_schema_fields(s),
				     s->hdr.count, catalog_schema, (void *)in->cat, &d) < 0) {
		snprintf(why, size, "the fields do not match the schema: %s", d.msg);
		return NULL;
	}
	return s;
}

/* ------------------------------------------------------------------------ */
/* The image                                                                */

static const char *binding_text(const struct baton_binding *b, char *buf, size_t size)
{
	if (b->handler)
		snprintf(buf, size, "handler %s (restores version %u)", b->handler->name,
			 b->target_version);
	else if (b->dropped)
		snprintf(buf, size, "none; optional, dropped");
	else
		snprintf(buf, size, "none");
	return buf;
}

static void print_object(const struct inspect *in, const struct baton_image_object *obj,
			 const struct baton_binding *b)
{
	char uuid[BATON_UUID_STRLEN + 1], fp[BATON_FINGERPRINT_HEXLEN + 1], why[BATON_DIAG_MAX + 64];
	const char *cname = in->cat ? baton_catalog_contract_name(in->cat, &obj->contract) : NULL;
	const struct baton_rec_schema *s;
	uint32_t i;

	baton_uuid_format(&obj->contract, uuid);
	baton_fingerprint_format(&obj->fingerprint, fp);
	fprintf(in->out, "object %u: %s\n", obj->index, obj->key);
	fprintf(in->out, "  contract:    %s%s%s%s\n", uuid, cname ? " (" : "", cname ? cname : "",
		cname ? ")" : "");
	fprintf(in->out, "  version:     %u\n", obj->version);
	fprintf(in->out, "  handler:     %s\n", obj->handler);
	fprintf(in->out, "  fingerprint: %s\n", fp);
	fprintf(in->out, "  flags:       %s\n",
		obj->flags & BATON_OBJECT_OPTIONAL ? "optional" : "none");
	if (obj->nrefs) {
		fprintf(in->out, "  fds:        ");
		for (i = 0; i < obj->nrefs; i++) {
			fprintf(in->out, "%s ", i ? "," : "");
			print_fd_ref(in, baton_decode_u32(obj->refs + 4 * i));
		}
		fputc('\n', in->out);
	}
	if (b) {
		char text[BATON_NAME_MAX + 64];

		fprintf(in->out, "  binds to:    %s\n", binding_text(b, text, sizeof(text)));
	}
	s = decoding_schema(in, obj, why, sizeof(why));
	if (obj->fields_node < 0) {
		fprintf(in->out, "  fields:      none\n");
		return;
	}
	if (s) {
		fprintf(in->out, "  fields (by schema %s version %u):\n", s->name, s->version);
		fields_typed(in, obj->fields_node, baton_schema_fields(s), s->hdr.count, 0, NULL);
	} else {
		if (why[0])
			fprintf(in->out, "  fields (by size; %s):\n", why);
		else
			fprintf(in->out, "  fields (by size; --catalog decodes them by type):\n");
		fields_raw(in, obj->fields_node, 0, NULL);
	}
}

static struct json_object *json_object_of(const struct inspect *in,
					  const struct baton_image_object *obj,
					  const struct baton_binding *b)
{
	char uuid[BATON_UUID_STRLEN + 1], fp[BATON_FINGERPRINT_HEXLEN + 1], why[BATON_DIAG_MAX + 64];
	const char *cname = in->cat ? baton_catalog_contract_name(in->cat, &obj->contract) : NULL;
	struct json_object *o = json_object_new_object(), *a, *fields;
	const struct baton_rec_schema *s;
	uint32_t i;

	if (!o)
		return NULL;
	baton_uuid_format(&obj->contract, uuid);
	baton_fingerprint_format(&obj->fingerprint, fp);
	json_object_object_add(o, "key", json_object_new_string(obj->key));
	json_object_object_add(o, "contract", json_object_new_string(uuid));
	report_json_add_string(o, "contract_name", cname);
	json_object_object_add(o, "version", json_object_new_int64(obj->version));
	json_object_object_add(o, "handler", json_object_new_string(obj->handler));
	json_object_object_add(o, "fingerprint", json_object_new_string(fp));
	json_object_object_add(o, "optional",
			       json_object_new_boolean(obj->flags & BATON_OBJECT_OPTIONAL));
	a = json_object_new_array();
	for (i = 0; a && i < obj->nrefs; i++)
		json_object_array_add(a, json_object_new_int64(baton_decode_u32(obj->refs + 4 * i)));
	json_object_object_add(o, "fds", a);
	if (b) {
		struct json_object *bo = json_object_new_object();

		if (bo && b->handler) {
			json_object_object_add(bo, "handler", json_object_new_string(b->handler->name));
			json_object_object_add(bo, "target_version",
					       json_object_new_int64(b->target_version));
		}
		if (bo)
			json_object_object_add(bo, "dropped", json_object_new_boolean(b->dropped));
		json_object_object_add(o, "binding", bo);
	}
	fields = json_object_new_object();
	json_object_object_add(o, "fields", fields);
	if (!fields || obj->fields_node < 0)
		return o;
	s = decoding_schema(in, obj, why, sizeof(why));
	json_object_object_add(o, "decoded", json_object_new_boolean(s != NULL));
	report_json_add_string(o, "not_decoded_because", why);
	if (s)
		fields_typed(in, obj->fields_node, baton_schema_fields(s), s->hdr.count, 0, fields);
	else
		fields_raw(in, obj->fields_node, 0, fields);
	return o;
}

static void print_header(const struct inspect *in, const char *path, size_t len)
{
	const struct baton_image_header *h = &in->img->h;
	char rel[BATON_RELEASE_STRMAX], build[2 * BATON_BUILD_ID_MAX + 1];

	report_release(rel, &h->release);
	baton_build_id_format(&h->build_id, build, sizeof(build));
	fprintf(in->out, "image:       %s (%zu bytes, checksum verified)\n", path, len);
	fprintf(in->out, "program:     %s\n", h->program);
	fprintf(in->out, "release:     %s\n", rel);
	fprintf(in->out, "build id:    %s\n", build);
	fprintf(in->out, "generation:  %" PRIu64 "\n", h->generation);
	if (h->frozen_at_ns)
		fprintf(in->out, "frozen at:   %" PRIu64 " ns (the writer's CLOCK_MONOTONIC)\n",
			h->frozen_at_ns);
	fprintf(in->out, "objects:     %u\nfds:         %u\nregions:     %u\n",
		in->img->nobjects, in->img->nfds, in->img->nregions);
}

static void print_tables(const struct inspect *in)
{
	uint32_t i;

	for (i = 0; i < in->img->nfds; i++) {
		struct baton_image_fd fd;
		const char *kind;

		fd = in->fds[i];
		kind = baton_fd_kind_name(fd.kind);
		fprintf(in->out, "fd %u: %s%s%s\n", i, kind ? kind : "?", fd.name[0] ? " " : "",
			fd.name);
	}
	for (i = 0; i < in->img->nregions; i++) {
		struct baton_image_region r;

		r = in->regions[i];
		fprintf(in->out, "region %u: fd %u, %" PRIu64 " bytes%s%s\n", i, r.fd, r.size,
			r.name[0] ? ", " : "", r.name);
	}
}

static struct json_object *json_tables(const struct inspect *in, struct json_object *o)
{
	struct json_object *fds = json_object_new_array(), *regions = json_object_new_array();
	uint32_t i;

	for (i = 0; fds && i < in->img->nfds; i++) {
		struct json_object *e = json_object_new_object();
		struct baton_image_fd fd;
		const char *kind;

		if (!e)
			continue;
		fd = in->fds[i];
		kind = baton_fd_kind_name(fd.kind);
		json_object_object_add(e, "kind", json_object_new_string(kind ? kind : "unknown"));
		json_object_object_add(e, "name", json_object_new_string(fd.name));
		json_object_array_add(fds, e);
	}
	for (i = 0; regions && i < in->img->nregions; i++) {
		struct json_object *e = json_object_new_object();
		struct baton_image_region r;

		if (!e)
			continue;
		r = in->regions[i];
		json_object_object_add(e, "fd", json_object_new_int64(r.fd));
		json_object_object_add(e, "size", json_object_new_uint64(r.size));
		json_object_object_add(e, "name", json_object_new_string(r.name));
		json_object_array_add(regions, e);
	}
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "regions", regions);
	return o;
}

static struct json_object *json_header(const struct inspect *in, const char *path, size_t len)
{
	const struct baton_image_header *h = &in->img->h;
	char rel[BATON_RELEASE_STRMAX], build[2 * BATON_BUILD_ID_MAX + 1];
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	report_release(rel, &h->release);
	baton_build_id_format(&h->build_id, build, sizeof(build));
	json_object_object_add(o, "file", json_object_new_string(path));
	json_object_object_add(o, "size", json_object_new_uint64(len));
	json_object_object_add(o, "program", json_object_new_string(h->program));
	json_object_object_add(o, "release", json_object_new_string(rel));
	json_object_object_add(o, "build_id", json_object_new_string(build));
	json_object_object_add(o, "generation", json_object_new_uint64(h->generation));
	json_object_object_add(o, "frozen_at_ns", json_object_new_uint64(h->frozen_at_ns));
	return o;
}

/* ------------------------------------------------------------------------ */

int cmd_inspect(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct baton_catalog_file *cf = NULL;
	struct report_findings findings = { 0 };
	struct baton_binding *bindings = NULL;
	struct json_object *jo = NULL, *objs = NULL;
	struct baton_image_object obj = { .node = -1 };
	const char *catalog_path = NULL, *path;
	struct inspect in = { .out = stdout };
	struct baton_image img;
	struct baton_diag d;
	void *buf = NULL;
	size_t len = 0;
	int opt, rc, bound = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			in.json = true;
			break;
		case 'c':
			catalog_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return BATON_EXIT_OK;
		default:
			usage(stderr);
			return BATON_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "baton inspect: expected one IMAGE, got %d arguments\n", argc - optind);
		usage(stderr);
		return BATON_EXIT_USAGE;
	}
	path = argv[optind];

	if (catalog_path) {
		rc = report_load_catalog("inspect", catalog_path, &cf);
		if (rc)
			return rc;
		in.cat = &cf->cat;
	}
	rc = read_image(path, &buf, &len);
	if (rc)
		goto out;
	baton_diag_clear(&d);
	rc = baton_image_open(&img, buf, len, &d);
	if (rc < 0) {
		fprintf(stderr, "baton inspect: %s: not a valid image: %s\n", path,
			d.msg[0] ? d.msg : strerror(-rc));
		rc = BATON_EXIT_FINDINGS;
		goto out;
	}
	in.img = &img;
	rc = load_tables(&in);
	if (rc < 0) {
		fprintf(stderr, "baton inspect: %s: %s\n", path,
			rc == -ENOMEM ? "out of memory" : "the fd or region table cannot be read");
		rc = rc == -ENOMEM ? BATON_EXIT_USAGE : BATON_EXIT_FINDINGS;
		goto out;
	}

	if (in.cat) {
		bindings = calloc(img.nobjects ? img.nobjects : 1, sizeof(*bindings));
		if (!bindings) {
			fprintf(stderr, "baton inspect: out of memory\n");
			rc = BATON_EXIT_USAGE;
			goto out;
		}
		bound = baton_bind(in.cat, &img, bindings, img.nobjects, report_collect, &findings);
		if (bound < 0 || findings.lost) {
			fprintf(stderr, "baton inspect: %s: cannot bind to %s: %s\n", path, catalog_path,
				strerror(bound < 0 ? -bound : ENOMEM));
			rc = BATON_EXIT_USAGE;
			goto out;
		}
	}

	if (in.json) {
		jo = json_header(&in, path, len);
		objs = json_object_new_array();
		if (!jo || !objs) {
			json_object_put(objs);
			fprintf(stderr, "baton inspect: out of memory\n");
			rc = BATON_EXIT_USAGE;
			goto out;
		}
		json_object_object_add(jo, "objects", objs);
	} else {
		print_header(&in, path, len);
	}
	while (baton_image_next_object(&img, &obj) > 0) {
		const struct baton_binding *b = bindings ? &bindings[obj.index] : NULL;

		if (in.json)
			json_object_array_add(objs, json_object_of(&in, &obj, b));
		else
			print_object(&in, &obj, b);
	}
	if (in.json) {
		json_tables(&in, jo);
		if (in.cat) {
			char rel[BATON_RELEASE_STRMAX];

			report_release(rel, &in.cat->program->release);
			json_object_object_add(jo, "catalog_program",
					       json_object_new_string(in.cat->program->name));
			json_object_object_add(jo, "catalog_release", json_object_new_string(rel));
			json_object_object_add(jo, "ok", json_object_new_boolean(bound == 0));
			json_object_object_add(jo, "findings", report_findings_json(&findings));
		}
		rc = report_json_print(stdout, jo);
		jo = NULL;
		if (rc < 0) {
			fprintf(stderr, "baton inspect: out of memory\n");
			rc = BATON_EXIT_USAGE;
			goto out;
		}
	} else {
		print_tables(&in);
		if (in.cat) {
			char wrel[BATON_RELEASE_STRMAX], rrel[BATON_RELEASE_STRMAX];
			size_t i;

			for (i = 0; i < findings.n; i++)
				report_print_finding(stdout, &findings.v[i]);
			report_release(wrel, &img.h.release);
			report_release(rrel, &in.cat->program->release);
			if (bound == 0)
				printf("%s %s -> %s %s: the image binds (%u object%s)\n", img.h.program,
				       wrel, in.cat->program->name, rrel, img.nobjects,
				       img.nobjects == 1 ? "" : "s");
			else
				printf("%s %s -> %s %s: refused, %d finding%s\n", img.h.program, wrel,
				       in.cat->program->name, rrel, bound, bound == 1 ? "" : "s");
		}
	}
	rc = bound == 0 ? BATON_EXIT_OK : BATON_EXIT_FINDINGS;
out:
	json_object_put(jo);
	report_findings_free(&findings);
	free(bindings);
	free(in.fds);
	free(in.regions);
	free(buf);
	if (cf)
		baton_catalog_file_free(cf);
	if (fflush(stdout) != 0 && rc == BATON_EXIT_OK) {
		perror("baton inspect: stdout");
		rc = BATON_EXIT_USAGE;
	}
	return rc;
}
