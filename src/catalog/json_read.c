/* SPDX-License-Identifier: MIT */
/*
 * DOC: the canonical JSON form of a catalog — reading
 *
 * A JSON catalog is turned into the same records the declaration macros
 * emit, with the core's builder, and those records are checked by
 * baton_catalog_open() exactly as records read from a program are: one
 * checker, whatever the source. Before that, this file checks what only the
 * JSON form can get wrong, and names the place with a JSON path
 * ("handlers[1].reads[0].versions[2]: expected a positive integer"):
 *
 *  - the text: at most BATON__JSON_MAX_SIZE bytes, no NUL byte, valid UTF-8,
 *    strict JSON (json-c's strict mode), nesting at most JSON_DEPTH deep,
 *    nothing after the top-level object;
 *  - keys: every key known (a typo must not pass silently as an ignored
 *    key), no key twice in one object (json-c would keep the last one
 *    silently), no escape sequences in keys;
 *  - values: the right JSON type, numbers integers within range, names,
 *    UUIDs, releases, build ids, policy rules and field types well-formed,
 *    counts within the core's limits, before anything is allocated by count;
 *  - fingerprints: a schema's "fingerprint", when present, must be the one
 *    its fields give; when absent it is computed.
 *
 * The conversion runs twice over the parsed tree: once to measure the
 * records, once to write them into a buffer of that size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <baton/catalog_io.h>

#include "internal.h"

#define JSON_DEPTH 10   /* the catalog itself nests 6 deep */
#define PATH_SIZE 192
#define KEYS_TRACKED 32 /* per object, for duplicates; no valid object has half as many */

struct schema_note {
	baton_uuid contract;
	uint32_t version;
	bool has_fingerprint;
	baton_fingerprint fingerprint;
};

struct jread {
	struct baton_catalog_builder b;
	struct baton_diag *d;
	struct baton_build_id build_id;
	struct schema_note *schemas;   /* one per JSON schema */
	const char **handler_names;    /* one per JSON handler; strings of the tree */
	struct baton_field *fields;    /* scratch: BATON__MAX_FIELDS */
	struct baton_read *reads;      /* scratch: BATON__MAX_READS */
};

/* ------------------------------------------------------------------------ */
/* Paths and words                                                          */

/* Copies text for a message: printable ASCII only, at most 40 characters. */
static const char *shown(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < size && i < 40; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* Appends to a path, truncating at PATH_SIZE. */
static void path_append(char *out, size_t *pos, const char *s)
{
	while (*s && *pos + 1 < PATH_SIZE)
		out[(*pos)++] = *s++;
	out[*pos] = '\0';
}

static void path_key(char *out, const char *path, const char *key, size_t keylen)
{
	char k[64], copy[PATH_SIZE];
	size_t pos = 0;

	memcpy(copy, path, baton_strnlen(path, PATH_SIZE - 1));
	copy[baton_strnlen(path, PATH_SIZE - 1)] = '\0';
	shown(key, keylen, k, sizeof(k));
	path_append(out, &pos, copy);
	if (copy[0])
		path_append(out, &pos, ".");
	path_append(out, &pos, k);
}

static void path_index(char *out, const char *path, size_t i)
{
	char idx[32], copy[PATH_SIZE];
	size_t pos = 0;

	memcpy(copy, path, baton_strnlen(path, PATH_SIZE - 1));
	copy[baton_strnlen(path, PATH_SIZE - 1)] = '\0';
	snprintf(idx, sizeof(idx), "[%zu]", i);
	path_append(out, &pos, copy);
	path_append(out, &pos, idx);
}

static int jerr(struct baton_diag *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int jerr(struct baton_diag *d, const char *path, const char *fmt, ...)
{
	char msg[BATON_DIAG_MAX];
	va_list ap;

	if (!d)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!path[0])
		return baton_diag_set(d, -EINVAL, "%s", msg);
	return baton_diag_set(d, -EINVAL, "%s: %s", path, msg);
}

/* Puts the JSON path in front of words the core wrote into d. */
static int jwrap(struct baton_diag *d, int rc, const char *path)
{
	return baton__diag_prefix(d, rc < 0 ? rc : -EINVAL, path);
}

/* ------------------------------------------------------------------------ */
/* Typed access                                                             */

static const char *type_words(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static int check_keys(struct json_object *o, const char *path, const char *const *keys,
		      const char *what, struct baton_diag *d)
{
	struct json_object_iterator it = json_object_iter_begin(o);
	struct json_object_iterator end = json_object_iter_end(o);

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		const char *const *p;
		char kp[PATH_SIZE];

		for (p = keys; *p; p++)
			if (strcmp(*p, k) == 0)
				break;
		if (*p)
			continue;
		path_key(kp, path, k, strlen(k));
		return jerr(d, kp, "unknown key; %s", what);
	}
	return 0;
}

/*
 * The member key of o: 1 and *v when present (*v is NULL for JSON null),
 * 0 when absent and optional, or an error when absent and required.
 */
static int member(struct json_object *o, const char *path, const char *key, bool required,
		  struct json_object **v, struct baton_diag *d)
{
	*v = NULL;
	if (json_object_object_get_ex(o, key, v))
		return 1;
	if (!required)
		return 0;
	return jerr(d, path, "missing key \"%s\"", key);
}

static int want_type(struct json_object *v, json_type type, const char *path, const char *words,
		     struct baton_diag *d)
{
	if (v && json_object_get_type(v) == type)
		return 0;
	return jerr(d, path, "expected %s, found %s", words, type_words(v));
}

static int get_string(struct json_object *o, const char *path, const char *key,
		      const char **s, size_t *len, struct baton_diag *d)
{
	struct json_object *v;
	char kp[PATH_SIZE];
	int rc;

	rc = member(o, path, key, true, &v, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, key, strlen(key));
	rc = want_type(v, json_type_string, kp, "a string", d);
	if (rc < 0)
		return rc;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
}

static int uint_value(struct json_object *v, const char *path, uint32_t *out, struct baton_diag *d)
{
	int64_t n;

	if (!v || json_object_get_type(v) != json_type_int)
		return jerr(d, path, "expected a positive integer, found %s", type_words(v));
	n = json_object_get_int64(v);
	if (n < 1)
		return jerr(d, path, "expected a positive integer, found %lld", (long long)n);
	if (n > UINT32_MAX)
		return jerr(d, path, "expected a positive integer up to %u, found a larger one",
			    UINT32_MAX);
	*out = (uint32_t)n;
	return 0;
}

static int get_uint(struct json_object *o, const char *path, const char *key, uint32_t *out,
		    struct baton_diag *d)
{
	struct json_object *v;
	char kp[PATH_SIZE];
	int rc;

	rc = member(o, path, key, true, &v, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, key, strlen(key));
	return uint_value(v, kp, out, d);
}

static int get_name(struct json_object *o, const char *path, const char *key, const char **s,
		    struct baton_diag *d)
{
	char kp[PATH_SIZE], buf[64];
	size_t len;
	int rc;

	rc = get_string(o, path, key, s, &len, d);
	if (rc < 0)
		return rc;
	if (!baton_name_valid(*s, len)) {
		path_key(kp, path, key, strlen(key));
		return jerr(d, kp,
			    "\"%s\" is not a name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
			    shown(*s, len, buf, sizeof(buf)));
	}
	return 0;
}

/* A contract UUID, written back in its canonical lowercase text form. */
static int get_contract(struct json_object *o, const char *path, const char *key,
			baton_uuid *u, char text[BATON_UUID_STRLEN + 1], struct baton_diag *d)
{
	char kp[PATH_SIZE], buf[64];
	const char *s;
	size_t len;
	int rc;

	rc = get_string(o, path, key, &s, &len, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, key, strlen(key));
	if (baton_uuid_parse(u, s, len) < 0)
		return jerr(d, kp, "\"%s\" is not a UUID (8-4-4-4-12 hex digits)",
			    shown(s, len, buf, sizeof(buf)));
	if (baton_uuid_is_nil(u))
		return jerr(d, kp, "the nil UUID names no contract; generate one (uuidgen)");
	baton_uuid_format(u, text);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Fields and schemas                                                       */

static const char *const field_keys[] = {
	"name", "type", "size", "max", "of", "contract", "version", NULL,
};

/* The keys a field of type takes beyond name and type, as a bit per field_keys entry. */
static unsigned field_extras(uint32_t type)
{
	switch (type) {
	case BATON_T_BYTES: return 1u << 2;
	case BATON_T_STRING: return 1u << 3;
	case BATON_T_ARRAY: return 1u << 4 | 1u << 3;
	case BATON_T_SCHEMA: return 1u << 5 | 1u << 6;
	default: return 0;
	}
}

static int convert_field(struct jread *jr, struct json_object *o, const char *path,
			 struct baton_field *f)
{
	struct baton_diag *d = jr->d;
	char kp[PATH_SIZE], buf[64];
	const char *name, *type;
	unsigned extras;
	size_t len, i;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = want_type(o, json_type_object, path, "an object (a field)", d);
	if (!rc)
		rc = check_keys(o, path, field_keys,
				"a field has name, type and, by type, size, max, of, contract, version", d);
	if (!rc)
		rc = get_name(o, path, "name", &name, d);
	if (!rc)
		rc = get_string(o, path, "type", &type, &len, d);
	if (rc < 0)
		return rc;
	memcpy(f->name, name, strlen(name) + 1);
	f->type = baton_type_parse(type, len);
	if (!f->type) {
		path_key(kp, path, "type", 4);
		return jerr(d, kp,
			    "unknown type \"%s\" (u8, u16, u32, u64, i8, i16, i32, i64, bool, bytes, string, array, schema, fd, region)",
			    shown(type, len, buf, sizeof(buf)));
	}
	extras = field_extras(f->type);
	for (i = 2; field_keys[i]; i++) {
		struct json_object *v;

		if (extras & (1u << i) || !json_object_object_get_ex(o, field_keys[i], &v))
			continue;
		path_key(kp, path, field_keys[i], strlen(field_keys[i]));
		return jerr(d, kp, "a field of type %s takes no \"%s\"", baton_type_name(f->type),
			    field_keys[i]);
	}

	switch (f->type) {
	case BATON_T_BYTES:
		rc = get_uint(o, path, "size", &f->size, d);
		break;
	case BATON_T_STRING:
		rc = get_uint(o, path, "max", &f->size, d);
		break;
	case BATON_T_ARRAY: {
		const char *of;

		rc = get_string(o, path, "of", &of, &len, d);
		if (rc < 0)
			return rc;
		f->elem = baton_type_parse(of, len);
		if (!baton_type_is_scalar(f->elem)) {
			path_key(kp, path, "of", 2);
			return jerr(d, kp,
				    "arrays hold integers or bools (u8 ... i64, bool), not \"%s\"",
				    shown(of, len, buf, sizeof(buf)));
		}
		rc = get_uint(o, path, "max", &f->size, d);
		break;
	}
	case BATON_T_SCHEMA: {
		baton_uuid u;

		rc = get_contract(o, path, "contract", &u, f->contract, d);
		if (!rc)
			rc = get_uint(o, path, "version", &f->version, d);
		break;
	}
	default:
		break;
	}
	if (rc < 0)
		return rc;
	rc = baton_field_check(f, d);
	if (rc < 0)
		return jwrap(d, rc, path);
	return 0;
}

static const char *const schema_keys[] = {
	"contract", "name", "version", "fingerprint", "fields", NULL,
};

static int convert_schema(struct jread *jr, struct json_object *o, const char *path, size_t index)
{
	struct schema_note *note = &jr->schemas[index];
	struct baton_diag *d = jr->d;
	char contract[BATON_UUID_STRLEN + 1], kp[PATH_SIZE], fp[PATH_SIZE];
	struct json_object *v, *fields;
	const char *name;
	size_t n, i, j;
	int rc;

	memset(note, 0, sizeof(*note));
	rc = want_type(o, json_type_object, path, "an object (a schema)", d);
	if (!rc)
		rc = check_keys(o, path, schema_keys,
				"a schema has contract, name, version, fingerprint, fields", d);
	if (!rc)
		rc = get_contract(o, path, "contract", &note->contract, contract, d);
	if (!rc)
		rc = get_name(o, path, "name", &name, d);
	if (!rc)
		rc = get_uint(o, path, "version", &note->version, d);
	if (rc < 0)
		return rc;

	rc = member(o, path, "fingerprint", false, &v, d);
	if (rc > 0) {
		const char *s;
		size_t len;

		path_key(fp, path, "fingerprint", 11);
		rc = want_type(v, json_type_string, fp, "a string of 32 hex digits", d);
		if (rc < 0)
			return rc;
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (baton_fingerprint_parse(&note->fingerprint, s, len) < 0) {
			char buf[64];

			return jerr(d, fp,
				    "\"%s\" is not a fingerprint (32 hex digits); leave the key out to have it computed",
				    shown(s, len, buf, sizeof(buf)));
		}
		note->has_fingerprint = true;
	}

	rc = member(o, path, "fields", true, &fields, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, "fields", 6);
	rc = want_type(fields, json_type_array, kp, "an array of fields", d);
	if (rc < 0)
		return rc;
	n = json_object_array_length(fields);
	if (n > BATON__MAX_FIELDS)
		return jerr(d, kp, "%zu fields; a schema has at most %d", n, BATON__MAX_FIELDS);
	for (i = 0; i < n; i++) {
		char ip[PATH_SIZE];

		path_index(ip, kp, i);
		rc = convert_field(jr, json_object_array_get_idx(fields, i), ip, &jr->fields[i]);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(jr->fields[j].name, jr->fields[i].name) == 0)
				return jerr(d, ip, "field \"%s\" appears twice in the schema (also %s[%zu])",
					    jr->fields[i].name, kp, j);
	}

	for (j = 0; j < index; j++)
		if (jr->schemas[j].version == note->version &&
		    baton_uuid_cmp(&jr->schemas[j].contract, &note->contract) == 0)
			return jerr(d, path,
				    "%s version %u (%s) is declared twice (also schemas[%zu]); declare each schema once",
				    name, note->version, contract, j);

	baton_catalog_add_schema(&jr->b, contract, name, note->version, jr->fields, n);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Handlers                                                                 */

static const char *const handler_keys[] = { "name", "writes", "optional", "reads", NULL };
static const char *const writes_keys[] = { "contract", "version", NULL };
static const char *const read_keys[] = { "contract", "versions", NULL };

static int convert_read(struct jread *jr, struct json_object *o, const char *path,
			struct baton_read *r)
{
	struct baton_diag *d = jr->d;
	struct json_object *versions;
	char kp[PATH_SIZE];
	baton_uuid u;
	size_t n, i, j;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = want_type(o, json_type_object, path, "an object (a read entry)", d);
	if (!rc)
		rc = check_keys(o, path, read_keys, "a read entry has contract and versions", d);
	if (!rc)
		rc = get_contract(o, path, "contract", &u, r->contract, d);
	if (!rc)
		rc = member(o, path, "versions", true, &versions, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, "versions", 8);
	rc = want_type(versions, json_type_array, kp, "an array of versions", d);
	if (rc < 0)
		return rc;
	n = json_object_array_length(versions);
	if (n == 0 || n > BATON_MAX_VERSIONS)
		return jerr(d, kp, "%zu versions; a handler reads 1 to %d versions of one contract", n,
			    BATON_MAX_VERSIONS);
	for (i = 0; i < n; i++) {
		char ip[PATH_SIZE];

		path_index(ip, kp, i);
		rc = uint_value(json_object_array_get_idx(versions, i), ip, &r->versions[i], d);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++)
			if (r->versions[j] == r->versions[i])
				return jerr(d, ip, "version %u is listed twice", r->versions[i]);
	}
	r->nversions = (uint32_t)n;
	return 0;
}

static int convert_handler(struct jread *jr, struct json_object *o, const char *path, size_t index)
{
	struct baton_diag *d = jr->d;
	struct json_object *writes, *optional, *reads;
	struct baton_cv cv;
	char kp[PATH_SIZE];
	const char *name;
	uint32_t flags = 0;
	size_t n, i, j;
	int rc;

	memset(&cv, 0, sizeof(cv));
	rc = want_type(o, json_type_object, path, "an object (a handler)", d);
	if (!rc)
		rc = check_keys(o, path, handler_keys, "a handler has name, writes, optional, reads", d);
	if (!rc)
		rc = get_name(o, path, "name", &name, d);
	if (rc < 0)
		return rc;
	for (j = 0; j < index; j++)
		if (strcmp(jr->handler_names[j], name) == 0) {
			path_key(kp, path, "name", 4);
			return jerr(d, kp, "handler %s is declared twice (also handlers[%zu])", name, j);
		}
	jr->handler_names[index] = name;

	rc = member(o, path, "writes", true, &writes, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, "writes", 6);
	if (writes) {
		baton_uuid u;

		rc = want_type(writes, json_type_object, kp,
			       "an object {\"contract\", \"version\"} or null (writes nothing)", d);
		if (!rc)
			rc = check_keys(writes, kp, writes_keys, "writes has contract and version", d);
		if (!rc)
			rc = get_contract(writes, kp, "contract", &u, cv.contract, d);
		if (!rc)
			rc = get_uint(writes, kp, "version", &cv.version, d);
		if (rc < 0)
			return rc;
		flags |= BATON_HANDLER_WRITES;
	}

	rc = member(o, path, "optional", false, &optional, d);
	if (rc > 0) {
		path_key(kp, path, "optional", 8);
		rc = want_type(optional, json_type_boolean, kp, "true or false", d);
		if (rc < 0)
			return rc;
		if (json_object_get_boolean(optional)) {
			if (!writes)
				return jerr(d, kp,
					    "handler %s writes nothing, so it has no objects to mark optional",
					    name);
			flags |= BATON_HANDLER_OPTIONAL;
		}
	}

	rc = member(o, path, "reads", true, &reads, d);
	if (rc < 0)
		return rc;
	path_key(kp, path, "reads", 5);
	rc = want_type(reads, json_type_array, kp, "an array of read entries", d);
	if (rc < 0)
		return rc;
	n = json_object_array_length(reads);
	if (n > BATON__MAX_READS)
		return jerr(d, kp, "%zu read entries; a handler has at most %d", n, BATON__MAX_READS);
	for (i = 0; i < n; i++) {
		char ip[PATH_SIZE];

		path_index(ip, kp, i);
		rc = convert_read(jr, json_object_array_get_idx(reads, i), ip, &jr->reads[i]);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(jr->reads[j].contract, jr->reads[i].contract) == 0) {
				char cp[PATH_SIZE];

				path_key(cp, ip, "contract", 8);
				return jerr(d, cp,
					    "%s already has an entry (%s[%zu]); list all its versions in one",
					    jr->reads[i].contract, kp, j);
			}
	}
	baton_catalog_add_handler(&jr->b, name, flags, &cv, jr->reads, n);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The catalog                                                              */

static const char *const top_keys[] = {
	"format", "program", "release", "build_id", "policy", "handlers", "schemas", NULL,
};

static int get_array(struct json_object *o, const char *key, size_t max, const char *what,
		     struct json_object **a, size_t *n, struct baton_diag *d)
{
	int rc = member(o, "", key, true, a, d);

	if (rc < 0)
		return rc;
	rc = want_type(*a, json_type_array, key, "an array", d);
	if (rc < 0)
		return rc;
	*n = json_object_array_length(*a);
	if (*n > max)
		return jerr(d, key, "%zu %s; at most %zu", *n, what, max);
	return 0;
}

static int convert(struct jread *jr, struct json_object *root)
{
	struct baton_policy_rule rules[BATON_MAX_POLICY_RULES];
	struct json_object *v, *policy, *schemas, *handlers;
	struct baton_diag *d = jr->d;
	struct baton_release release;
	const char *s, *program;
	size_t len, n, nschemas, nhandlers, i;
	char buf[64];
	int rc;

	if (!root || json_object_get_type(root) != json_type_object)
		return jerr(d, "", "a JSON catalog is one object; this text holds %s",
			    type_words(root));
	rc = check_keys(root, "", top_keys,
			"a catalog has format, program, release, build_id, policy, handlers, schemas", d);
	if (rc < 0)
		return rc;

	rc = get_string(root, "", "format", &s, &len, d);
	if (rc < 0)
		return rc;
	if (strlen(BATON_CATALOG_JSON_FORMAT) != len || memcmp(s, BATON_CATALOG_JSON_FORMAT, len))
		return jerr(d, "format", "\"%s\" is not %s, the only format this baton reads",
			    shown(s, len, buf, sizeof(buf)), BATON_CATALOG_JSON_FORMAT);
	rc = get_name(root, "", "program", &program, d);
	if (!rc)
		rc = get_string(root, "", "release", &s, &len, d);
	if (rc < 0)
		return rc;
	rc = baton_release_parse(&release, s, len, d);
	if (rc < 0)
		return jwrap(d, rc, "release");

	memset(&jr->build_id, 0, sizeof(jr->build_id));
	rc = member(root, "", "build_id", false, &v, d);
	if (rc > 0 && v) {
		rc = want_type(v, json_type_string, "build_id", "a string of hex digits or null (unknown)", d);
		if (rc < 0)
			return rc;
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (len == 0)
			return jerr(d, "build_id", "empty; write null for an unknown build");
		rc = baton_build_id_parse(&jr->build_id, s, len, d);
		if (rc < 0)
			return jwrap(d, rc, "build_id");
	}

	rc = get_array(root, "policy", BATON_MAX_POLICY_RULES, "policy rules", &policy, &n, d);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		char ip[PATH_SIZE];

		path_index(ip, "policy", i);
		v = json_object_array_get_idx(policy, i);
		rc = want_type(v, json_type_string, ip, "a policy rule (a string)", d);
		if (rc < 0)
			return rc;
		rc = baton_policy_rule_parse(&rules[i], json_object_get_string(v),
					     (size_t)json_object_get_string_len(v), d);
		if (rc < 0)
			return jwrap(d, rc, ip);
	}
	baton_catalog_add_program(&jr->b, program, &release, rules, n);

	rc = get_array(root, "schemas", BATON_CATALOG_MAX_RECORDS - 1, "schemas", &schemas,
		       &nschemas, d);
	if (!rc)
		rc = get_array(root, "handlers", BATON_CATALOG_MAX_RECORDS - 1, "handlers", &handlers,
			       &nhandlers, d);
	if (rc < 0)
		return rc;
	if (1 + nschemas + nhandlers > BATON_CATALOG_MAX_RECORDS)
		return jerr(d, "", "%zu schemas and %zu handlers make more than %d records, the limit of a catalog",
			    nschemas, nhandlers, BATON_CATALOG_MAX_RECORDS);
	if (!jr->schemas) {
		jr->schemas = calloc(nschemas ? nschemas : 1, sizeof(*jr->schemas));
		jr->handler_names = calloc(nhandlers ? nhandlers : 1, sizeof(*jr->handler_names));
		jr->fields = calloc(BATON__MAX_FIELDS, sizeof(*jr->fields));
		jr->reads = calloc(BATON__MAX_READS, sizeof(*jr->reads));
		if (!jr->schemas || !jr->handler_names || !jr->fields || !jr->reads)
			return baton_diag_set(d, -ENOMEM, "out of memory");
	}

	for (i = 0; i < nschemas; i++) {
		char ip[PATH_SIZE];

		path_index(ip, "schemas", i);
		rc = convert_schema(jr, json_object_array_get_idx(schemas, i), ip, i);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < nhandlers; i++) {
		char ip[PATH_SIZE];

		path_index(ip, "handlers", i);
		rc = convert_handler(jr, json_object_array_get_idx(handlers, i), ip, i);
		if (rc < 0)
			return rc;
	}
	if (jr->b.err)
		return baton_diag_set(d, jr->b.err, "cannot build the catalog records (error %d)",
				      jr->b.err);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The text                                                                 */

static void line_column(const char *text, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct scan_frame {
	bool object;
	bool expect_key;
	size_t index;                  /* arrays: the element; objects: keys seen */
	const char *key;               /* objects: the current key */
	size_t keylen;
	const char *keys[KEYS_TRACKED];
	size_t keylens[KEYS_TRACKED];
};

static void scan_path(const struct scan_frame *st, int top, char *out)
{
	int f;

	out[0] = '\0';
	for (f = 1; f <= top; f++) {
		char next[PATH_SIZE];

		if (st[f - 1].object)
			path_key(next, out, st[f - 1].key, st[f - 1].keylen);
		else
			path_index(next, out, st[f - 1].index);
		memcpy(out, next, PATH_SIZE);
	}
}

/*
 * json-c keeps the last of two equal keys without a word; a catalog with a
 * key twice is ambiguous to its reviewers, so the text is scanned for them.
 * Runs on text json-c has accepted, so strings and nesting are well-formed.
 */
static int scan_keys(const char *text, size_t len, struct baton_diag *d)
{
	struct scan_frame st[JSON_DEPTH + 2];
	int top = -1;
	size_t i = 0;

	while (i < len) {
		char c = text[i];

		if (c == '"') {
			size_t start = ++i;
			bool escaped = false;

			while (i < len && text[i] != '"') {
				if (text[i] == '\\') {
					escaped = true;
					i++;
				}
				i++;
			}
			if (top >= 0 && st[top].object && st[top].expect_key) {
				struct scan_frame *fr = &st[top];
				size_t klen = i - start, k;
				char path[PATH_SIZE], kp[PATH_SIZE];

				scan_path(st, top, path);
				path_key(kp, path, text + start, klen);
				if (escaped)
					return jerr(d, kp, "escape sequences in a key; write keys as plain names");
				for (k = 0; k < fr->index && k < KEYS_TRACKED; k++)
					if (fr->keylens[k] == klen && memcmp(fr->keys[k], text + start, klen) == 0)
						return jerr(d, kp, "this key appears twice in one object");
				if (fr->index < KEYS_TRACKED) {
					fr->keys[fr->index] = text + start;
					fr->keylens[fr->index] = klen;
				}
				fr->index++;
				fr->key = text + start;
				fr->keylen = klen;
				fr->expect_key = false;
			}
			i++;
			continue;
		}
		switch (c) {
		case '{':
		case '[':
			if (top + 1 >= (int)(sizeof(st) / sizeof(st[0])))
				return jerr(d, "", "the JSON nests deeper than %d levels", JSON_DEPTH);
			top++;
			st[top].object = c == '{';
			st[top].expect_key = c == '{';
			st[top].index = 0;
			st[top].key = "";
			st[top].keylen = 0;
			break;
		case '}':
		case ']':
			if (top >= 0)
				top--;
			break;
		case ',':
			if (top >= 0 && st[top].object)
				st[top].expect_key = true;
			else if (top >= 0)
				st[top].index++;
			break;
		default:
			break;
		}
		i++;
	}
	return 0;
}

/*
 * Strict json-c refuses text after the top-level value as an unexpected
 * character; whether the text up to there was a whole value tells the two
 * mistakes apart, for the message.
 */
static bool complete_before(const char *text, size_t end)
{
	struct json_tokener *tok;
	struct json_object *o;
	bool whole;

	if (end == 0)
		return false;
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return false;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)end);
	whole = o && json_tokener_get_error(tok) == json_tokener_success;
	json_object_put(o);
	json_tokener_free(tok);
	return whole;
}

static int parse_text(const char *text, size_t len, struct json_object **root, struct baton_diag *d)
{
	struct json_tokener *tok;
	enum json_tokener_error err;
	size_t end, line, col, i;
	const char *nul;
	int rc = 0;

	*root = NULL;
	if (len == 0 || !text)
		return baton_diag_set(d, -EINVAL, "no JSON in the text: it is empty");
	if (len > BATON__JSON_MAX_SIZE)
		return baton_diag_set(d, -E2BIG, "%zu bytes of JSON exceeds the limit of %u for a catalog",
				      len, BATON__JSON_MAX_SIZE);
	nul = memchr(text, '\0', len);
	if (nul)
		return baton_diag_set(d, -EINVAL, "byte %zu is NUL: not JSON text", (size_t)(nul - text));
	for (i = 0; i < len && is_space(text[i]); i++)
		;
	if (i == len)
		return baton_diag_set(d, -EINVAL, "no JSON in the text: it is empty");

	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return baton_diag_set(d, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*root = json_tokener_parse_ex(tok, text, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (end > len)
		end = len;
	line_column(text, end, &line, &col);
	if (err == json_tokener_continue) {
		rc = baton_diag_set(d, -EINVAL,
				    "line %zu, column %zu: the JSON text ends before the catalog object does (truncated?)",
				    line, col);
	} else if (err != json_tokener_success && complete_before(text, end)) {
		rc = baton_diag_set(d, -EINVAL,
				    "line %zu, column %zu: text after the end of the catalog object",
				    line, col);
	} else if (err != json_tokener_success) {
		rc = baton_diag_set(d, -EINVAL, "line %zu, column %zu: not valid JSON: %s", line, col,
				    json_tokener_error_desc(err));
	} else {
		for (i = end; i < len && is_space(text[i]); i++)
			;
		if (i < len) {
			line_column(text, i, &line, &col);
			rc = baton_diag_set(d, -EINVAL,
					    "line %zu, column %zu: text after the end of the catalog object",
					    line, col);
		}
	}
	json_tokener_free(tok);
	if (!rc)
		rc = scan_keys(text, end, d);
	if (rc < 0) {
		json_object_put(*root);
		*root = NULL;
	}
	return rc;
}

static int check_fingerprints(const struct jread *jr, const struct baton_catalog *cat,
			      struct baton_diag *d)
{
	const struct baton_rec_schema *s;
	size_t i = 0;
	int rc;

	baton_catalog_for_each_schema(cat, s) {
		const struct schema_note *note = &jr->schemas[i];
		char have[BATON_FINGERPRINT_HEXLEN + 1], want[BATON_FINGERPRINT_HEXLEN + 1];
		char path[PATH_SIZE];
		baton_fingerprint fp;

		path_index(path, "schemas", i++);
		if (!note->has_fingerprint)
			continue;
		rc = baton_catalog_fingerprint(cat, s, &fp, d);
		if (rc < 0)
			return jwrap(d, rc, path);
		if (baton_fingerprint_equal(&fp, &note->fingerprint))
			continue;
		baton_fingerprint_format(&note->fingerprint, have);
		baton_fingerprint_format(&fp, want);
		return baton_diag_set(d, -EINVAL,
				      "%s.fingerprint: %s does not match the fields of %s version %u, which give %s; "
				      "the layout changed without a version bump, or the fingerprint was edited",
				      path, have, s->name, s->version, want);
	}
	return 0;
}

static int from_json(const char *text, size_t len, const char *origin,
		     struct baton_catalog_file **out, struct baton_diag *d)
{
	struct jread jr = { .d = d };
	struct json_object *root;
	size_t need = 0;
	void *records = NULL;
	int rc;

	*out = NULL;
	rc = parse_text(text, len, &root, d);
	if (rc < 0)
		return rc;

	baton_catalog_builder_init(&jr.b, NULL, 0);
	rc = convert(&jr, root);
	if (rc < 0)
		goto out;
	baton_catalog_builder_finish(&jr.b, &need);
	if (need > BATON_CATALOG_MAX_SIZE) {
		rc = baton_diag_set(d, -E2BIG, "the catalog makes %zu bytes of records, more than the limit of %u",
				    need, BATON_CATALOG_MAX_SIZE);
		goto out;
	}
	if (posix_memalign(&records, 8, need ? need : 8) != 0) {
		records = NULL;
		rc = baton_diag_set(d, -ENOMEM, "out of memory");
		goto out;
	}
	baton_catalog_builder_init(&jr.b, records, need);
	rc = convert(&jr, root);
	if (rc < 0)
		goto out;
	rc = baton_catalog_builder_finish(&jr.b, &need);
	if (rc < 0) {
		rc = baton_diag_set(d, rc, "cannot build the catalog records (error %d)", rc);
		goto out;
	}
	rc = baton__file_new(records, need, &jr.build_id, origin, out, d);
	if (rc < 0)
		goto out;
	rc = check_fingerprints(&jr, &(*out)->cat, d);
	if (rc < 0) {
		baton_catalog_file_free(*out);
		*out = NULL;
	}
out:
	free(records);
	free(jr.schemas);
	free(jr.handler_names);
	free(jr.fields);
	free(jr.reads);
	json_object_put(root);
	return rc;
}

int baton_catalog_from_json(const char *text, size_t len, struct baton_catalog_file **out,
			    struct baton_diag *d)
{
	return from_json(text, len, "json", out, d);
}

int baton_catalog_load_json(const char *path, struct baton_catalog_file **out, struct baton_diag *d)
{
	size_t len;
	char *text;
	int rc;

	*out = NULL;
	rc = baton__read_file(path, BATON__JSON_MAX_SIZE, &text, &len, d);
	if (rc < 0)
		return rc;
	rc = from_json(text, len, path, out, d);
	if (rc < 0)
		baton__diag_prefix(d, rc, path);
	free(text);
	return rc;
}
