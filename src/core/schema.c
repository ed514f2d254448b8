/* SPDX-License-Identifier: MIT */
/*
 * DOC: core schemas — field types, the canonical form and fingerprints
 *
 * A schema is the layout of one version of a contract: ordered, typed, named
 * fields. Its canonical form is a small text that says exactly that and
 * nothing else; its fingerprint is XXH3-128 of the canonical form. Two
 * catalogs that give one (contract, version) different fingerprints changed
 * a layout without a version bump (rule 6).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <baton/core.h>

#include "internal.h"

#define MAX_FIELD_SIZE (1u << 20)

static const char *const type_names[] = {
	[BATON_T_U8] = "u8",       [BATON_T_U16] = "u16",   [BATON_T_U32] = "u32",
	[BATON_T_U64] = "u64",     [BATON_T_I8] = "i8",     [BATON_T_I16] = "i16",
	[BATON_T_I32] = "i32",     [BATON_T_I64] = "i64",   [BATON_T_BOOL] = "bool",
	[BATON_T_BYTES] = "bytes", [BATON_T_STRING] = "string",
	[BATON_T_ARRAY] = "array", [BATON_T_SCHEMA] = "schema",
	[BATON_T_FD] = "fd",       [BATON_T_REGION] = "region",
};

const char *baton_type_name(uint32_t type)
{
	if (type == 0 || type > BATON_T_MAX_)
		return NULL;
	return type_names[type];
}

uint32_t baton_type_parse(const char *s, size_t len)
{
	uint32_t t;

	for (t = 1; t <= BATON_T_MAX_; t++)
		if (strlen(type_names[t]) == len && memcmp(type_names[t], s, len) == 0)
			return t;
	return 0;
}

bool baton_type_is_scalar(uint32_t type)
{
	return type >= BATON_T_U8 && type <= BATON_T_BOOL;
}

size_t baton_type_width(uint32_t type)
{
	switch (type) {
	case BATON_T_U8:
	case BATON_T_I8:
	case BATON_T_BOOL:
		return 1;
	case BATON_T_U16:
	case BATON_T_I16:
		return 2;
	case BATON_T_U32:
	case BATON_T_I32:
		return 4;
	case BATON_T_U64:
	case BATON_T_I64:
		return 8;
	default:
		return 0;
	}
}

static bool all_zero(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i])
			return false;
	return true;
}

int baton_field_check(const struct baton_field *f, struct baton_diag *d)
{
	size_t nlen = baton_strnlen(f->name, sizeof(f->name));
	const char *tname;

	if (nlen >= sizeof(f->name) || !baton_name_valid(f->name, nlen))
		return baton_diag_set(d, -EINVAL,
				      "field name \"%.*s\" is not a name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
				      (int)(nlen > 63 ? 63 : nlen), f->name);
	tname = baton_type_name(f->type);
	if (!tname)
		return baton_diag_set(d, -EINVAL, "field \"%s\" has unknown type %u", f->name, f->type);

	/* What a type does not use must be zero, so one layout has one record. */
	if (f->type != BATON_T_ARRAY && f->elem)
		return baton_diag_set(d, -EINVAL, "field \"%s\" (%s) sets an element type", f->name, tname);
	if (f->type != BATON_T_BYTES && f->type != BATON_T_STRING && f->type != BATON_T_ARRAY &&
	    f->size)
		return baton_diag_set(d, -EINVAL, "field \"%s\" (%s) sets a size", f->name, tname);
	if (f->type != BATON_T_SCHEMA &&
	    (f->version || !all_zero(f->contract, sizeof(f->contract))))
		return baton_diag_set(d, -EINVAL, "field \"%s\" (%s) names a nested contract", f->name,
				      tname);

	switch (f->type) {
	case BATON_T_BYTES:
	case BATON_T_STRING:
		if (f->size == 0 || f->size > MAX_FIELD_SIZE)
			return baton_diag_set(d, -EINVAL,
					      "field \"%s\" (%s) has size %u; it must be 1 to %u",
					      f->name, tname, f->size, MAX_FIELD_SIZE);
		break;
	case BATON_T_ARRAY:
		if (!baton_type_is_scalar(f->elem))
			return baton_diag_set(d, -EINVAL,
					      "field \"%s\" is an array of %s; arrays hold integers or bools",
					      f->name, baton_type_name(f->elem) ? baton_type_name(f->elem) : "an unknown type");
		if (f->size == 0 || f->size > MAX_FIELD_SIZE)
			return baton_diag_set(d, -EINVAL,
					      "field \"%s\" (array) has maximum %u; it must be 1 to %u",
					      f->name, f->size, MAX_FIELD_SIZE);
		break;
	case BATON_T_SCHEMA: {
		size_t clen = baton_strnlen(f->contract, sizeof(f->contract));
		baton_uuid u;

		if (clen >= sizeof(f->contract) || baton_uuid_parse(&u, f->contract, clen) < 0 ||
		    !all_zero(f->contract + clen, sizeof(f->contract) - clen))
			return baton_diag_set(d, -EINVAL,
					      "field \"%s\" names nested contract \"%.*s\", which is not a UUID",
					      f->name, (int)(clen > 40 ? 40 : clen), f->contract);
		if (f->version == 0)
			return baton_diag_set(d, -EINVAL,
					      "field \"%s\" names nested version 0; versions start at 1",
					      f->name);
		break;
	}
	default:
		break;
	}
	return 0;
}

void baton_fingerprint_format(const baton_fingerprint *fp, char out[BATON_FINGERPRINT_HEXLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < BATON_FINGERPRINT_LEN; i++) {
		out[2 * i] = hex[fp->b[i] >> 4];
		out[2 * i + 1] = hex[fp->b[i] & 0xf];
	}
	out[BATON_FINGERPRINT_HEXLEN] = '\0';
}

int baton_fingerprint_parse(baton_fingerprint *out, const char *s, size_t len)
{
	size_t i;

	if (len != BATON_FINGERPRINT_HEXLEN)
		return -EINVAL;
	for (i = 0; i < BATON_FINGERPRINT_LEN; i++) {
		int hi = baton__hexval(s[2 * i]), lo = baton__hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool baton_fingerprint_equal(const baton_fingerprint *a, const baton_fingerprint *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int baton_schema_canonical(const struct baton_field *fields, size_t nfields,
			   baton_nested_fn nested, void *nested_ctx,
			   baton_sink_fn sink, void *sink_ctx, struct baton_diag *d)
{
	static const char head[] = "baton-schema-1\n";
	size_t i, j;
	int rc;

	sink(sink_ctx, head, sizeof(head) - 1);
	for (i = 0; i < nfields; i++) {
		const struct baton_field *f = &fields[i];
		char line[256];
		size_t pos = 0;

		rc = baton_field_check(f, d);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(fields[j].name, f->name) == 0)
				return baton_diag_set(d, -EINVAL, "field \"%s\" appears twice", f->name);

		baton__appendf(line, sizeof(line), &pos, "field %s %s", f->name,
			       baton_type_name(f->type));
		switch (f->type) {
		case BATON_T_BYTES:
		case BATON_T_STRING:
			baton__appendf(line, sizeof(line), &pos, " %u", f->size);
			break;
		case BATON_T_ARRAY:
			baton__appendf(line, sizeof(line), &pos, " %s %u", baton_type_name(f->elem),
				       f->size);
			break;
		case BATON_T_SCHEMA: {
			char uuid[BATON_UUID_STRLEN + 1], fp[BATON_FINGERPRINT_HEXLEN + 1];
			baton_fingerprint nfp;
			baton_uuid u;

			baton_uuid_parse(&u, f->contract, BATON_UUID_STRLEN);
			if (!nested)
				return baton_diag_set(d, -ENOENT,
						      "field \"%s\" nests a schema and nothing resolves it",
						      f->name);
			rc = nested(nested_ctx, &u, f->version, &nfp);
			if (rc < 0) {
				baton_uuid_format(&u, uuid);
				if (rc == -ELOOP)
					return baton_diag_set(d, rc,
							      "field \"%s\" nests %s version %u, which nests itself (directly or deeper than %d levels)",
							      f->name, uuid, f->version, BATON_MAX_NESTING);
				return baton_diag_set(d, rc,
						      "field \"%s\" nests %s version %u, which has no schema here",
						      f->name, uuid, f->version);
			}
			baton_uuid_format(&u, uuid);
			baton_fingerprint_format(&nfp, fp);
			baton__appendf(line, sizeof(line), &pos, " %s %u %s", uuid, f->version, fp);
			break;
		}
		default:
			break;
		}
		baton__appendf(line, sizeof(line), &pos, "\n");
		sink(sink_ctx, line, pos);
	}
	return 0;
}

static void hash_sink(void *ctx, const char *s, size_t len)
{
	XXH3_128bits_update((XXH3_state_t *)ctx, s, len);
}

int baton_schema_fingerprint(const struct baton_field *fields, size_t nfields,
			     baton_nested_fn nested, void *nested_ctx,
			     baton_fingerprint *out, struct baton_diag *d)
{
	XXH3_state_t state;
	XXH128_canonical_t canon;
	int rc;

	XXH3_INITSTATE(&state);
	XXH3_128bits_reset(&state);
	rc = baton_schema_canonical(fields, nfields, nested, nested_ctx, hash_sink, &state, d);
	if (rc < 0)
		return rc;
	XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&state));
	_Static_assert(sizeof(canon.digest) == BATON_FINGERPRINT_LEN, "XXH3-128 is 16 bytes");
	memcpy(out->b, canon.digest, BATON_FINGERPRINT_LEN);
	return 0;
}
