/* SPDX-License-Identifier: MIT */
/*
 * DOC: core catalog view and builder — records in, checked records out
 *
 * baton_catalog_open() takes a buffer of catalog records from anywhere (an
 * ELF section of a file someone handed us, our own memory, a JSON file turned
 * into records) and checks it as hostile input before anything reads it:
 * every header, size, count, string, name, UUID, policy rule and field.
 * After that the accessors walk the buffer without further checks.
 *
 * The builder writes the same records, so catalogs read from JSON are
 * checked by exactly the code that checks catalogs read from programs.
 */
#include <errno.h>
#include <string.h>

#include <baton/catalog.h>

#include "internal.h"

#define MAX_FIELDS 1024
#define MAX_READS 256
/*
 * Work allowed while resolving nested schemas for fingerprints, in units of
 * about one field line checked and hashed (about a microsecond). A nested
 * visit costs one unit per field, n * n / 256 for the duplicate-name check of
 * its n fields, and one unit per 64 schema records scanned to find it.
 * Nesting fans out (a schema of 1024 fields that each nest a schema of 1024
 * fields ...), and a budget of visits alone let a hostile catalog of under a
 * megabyte keep a reader busy for over a minute; with the work bounded the
 * worst case stays under a second. Real catalogs use a tiny fraction of it.
 */
#define FINGERPRINT_BUDGET (1u << 19)

static uint16_t bswap16(uint16_t v)
{
	return (uint16_t)(v >> 8 | v << 8);
}

static uint32_t bswap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static const struct baton_rec *rec_at(const struct baton_catalog *cat, size_t off)
{
	return (const struct baton_rec *)(const void *)(cat->buf + off);
}

/*
 * The offset of the first record at or after off, skipping zero padding;
 * len when there is none. Only used after open has validated the buffer.
 */
static size_t skip_padding(const struct baton_catalog *cat, size_t off)
{
	while (off + sizeof(struct baton_rec) <= cat->len && rec_at(cat, off)->magic == 0)
		off += 8;
	return off + sizeof(struct baton_rec) <= cat->len ? off : cat->len;
}

static const struct baton_rec *next_rec(const struct baton_catalog *cat, const struct baton_rec *prev,
					uint16_t kind)
{
	size_t off;

	if (!cat || !cat->buf)
		return NULL;
	off = prev ? (size_t)((const uint8_t *)prev - cat->buf) + prev->size : 0;
	for (;;) {
		const struct baton_rec *r;

		off = skip_padding(cat, off);
		if (off >= cat->len)
			return NULL;
		r = rec_at(cat, off);
		if (r->kind == kind)
			return r;
		off += r->size;
	}
}

const struct baton_rec_schema *baton_catalog_next_schema(const struct baton_catalog *cat,
							 const struct baton_rec_schema *prev)
{
	return (const struct baton_rec_schema *)next_rec(cat, prev ? &prev->hdr : NULL,
							 BATON_REC_SCHEMA);
}

const struct baton_rec_handler *baton_catalog_next_handler(const struct baton_catalog *cat,
							   const struct baton_rec_handler *prev)
{
	return (const struct baton_rec_handler *)next_rec(cat, prev ? &prev->hdr : NULL,
							  BATON_REC_HANDLER);
}

baton_uuid baton_rec_uuid(const char *text)
{
	baton_uuid u;

	if (baton_uuid_parse(&u, text, baton_strnlen(text, BATON_UUID_STRLEN + 1)) < 0)
		memset(&u, 0, sizeof(u));
	return u;
}

/* Two validated UUID texts name one contract, whatever their case. */
static bool same_uuid_text(const char *a, const char *b)
{
	baton_uuid ua = baton_rec_uuid(a), ub = baton_rec_uuid(b);

	return baton_uuid_cmp(&ua, &ub) == 0;
}

static bool rec_uuid_is(const char *text, const baton_uuid *u)
{
	baton_uuid t = baton_rec_uuid(text);

	return baton_uuid_cmp(&t, u) == 0;
}

struct baton_policy baton_catalog_policy(const struct baton_catalog *cat)
{
	struct baton_policy p = { NULL, 0 };

	if (cat && cat->program) {
		p.rules = baton_program_rules(cat->program);
		p.nrules = cat->program->hdr.count;
	}
	return p;
}

/*
 * Whether a validated UUID text (36 characters, either case) is want, the
 * lowercase text form: cheaper than parsing, and most mismatches end at the
 * first character.
 */
static bool uuid_text_is(const char *text, const char *want)
{
	size_t i;

	for (i = 0; i < BATON_UUID_STRLEN; i++) {
		char c = text[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return text[BATON_UUID_STRLEN] == '\0';
}

/* find_schema, counting the schema records looked at in *scanned. */
static const struct baton_rec_schema *find_schema_counted(const struct baton_catalog *cat,
							  const baton_uuid *contract,
							  uint32_t version, size_t *scanned)
{
	char want[BATON_UUID_STRLEN + 1];
	const struct baton_rec_schema *s;

	baton_uuid_format(contract, want);
	baton_catalog_for_each_schema(cat, s) {
		(*scanned)++;
		if (s->version == version && uuid_text_is(s->contract, want))
			return s;
	}
	return NULL;
}

const struct baton_rec_schema *baton_catalog_find_schema(const struct baton_catalog *cat,
							 const baton_uuid *contract, uint32_t version)
{
	size_t scanned = 0;

	return find_schema_counted(cat, contract, version, &scanned);
}

bool baton_handler_reads_version(const struct baton_rec_handler *h, const baton_uuid *contract,
				 uint32_t version)
{
	const struct baton_read *r = baton_handler_reads(h);
	uint32_t i, j;

	for (i = 0; i < h->hdr.count; i++) {
		if (!rec_uuid_is(r[i].contract, contract))
			continue;
		for (j = 0; j < r[i].nversions; j++)
			if (r[i].versions[j] == version)
				return true;
	}
	return false;
}

uint32_t baton_handler_max_read(const struct baton_rec_handler *h, const baton_uuid *contract)
{
	const struct baton_read *r = baton_handler_reads(h);
	uint32_t i, j, max = 0;

	for (i = 0; i < h->hdr.count; i++) {
		if (!rec_uuid_is(r[i].contract, contract))
			continue;
		for (j = 0; j < r[i].nversions; j++)
			if (r[i].versions[j] > max)
				max = r[i].versions[j];
	}
	return max;
}

int baton_handler_format_reads(const struct baton_rec_handler *h, const baton_uuid *contract,
			       char *buf, size_t size)
{
	const struct baton_read *r = baton_handler_reads(h);
	uint32_t i, j, n = 0;
	size_t pos = 0;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (i = 0; i < h->hdr.count; i++) {
		if (!rec_uuid_is(r[i].contract, contract))
			continue;
		for (j = 0; j < r[i].nversions; j++)
			baton__appendf(buf, size, &pos, "%s%u", n++ ? ", " : "", r[i].versions[j]);
	}
	if (n == 0)
		baton__appendf(buf, size, &pos, "none");
	return (int)pos;
}

const struct baton_rec_handler *baton_catalog_find_reader(const struct baton_catalog *cat,
							  const baton_uuid *contract, uint32_t version)
{
	const struct baton_rec_handler *h;

	baton_catalog_for_each_handler(cat, h)
		if (baton_handler_reads_version(h, contract, version))
			return h;
	return NULL;
}

const struct baton_rec_handler *baton_catalog_find_writer(const struct baton_catalog *cat,
							  const baton_uuid *contract)
{
	const struct baton_rec_handler *h;

	baton_catalog_for_each_handler(cat, h)
		if ((h->flags & BATON_HANDLER_WRITES) && rec_uuid_is(h->writes.contract, contract))
			return h;
	return NULL;
}

const struct baton_rec_handler *baton_catalog_find_handler(const struct baton_catalog *cat,
							   const char *name)
{
	const struct baton_rec_handler *h;

	baton_catalog_for_each_handler(cat, h)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

const char *baton_catalog_contract_name(const struct baton_catalog *cat, const baton_uuid *contract)
{
	const struct baton_rec_schema *s;

	baton_catalog_for_each_schema(cat, s)
		if (rec_uuid_is(s->contract, contract))
			return s->name;
	return NULL;
}

/* Fingerprints, resolving nested schemas in the same catalog. */
struct fp_ctx {
	const struct baton_catalog *cat;
	int depth;
	unsigned *budget;
};

static int nested_fingerprint(void *ctx, const baton_uuid *contract, uint32_t version,
			      baton_fingerprint *out)
{
	struct fp_ctx *x = ctx, inner;
	const struct baton_rec_schema *s;
	size_t scanned = 0, cost;

	if (x->depth >= BATON_MAX_NESTING)
		return -ELOOP;
	if (*x->budget == 0)
		return -E2BIG;
	s = find_schema_counted(x->cat, contract, version, &scanned);
	cost = 1 + scanned / 64;
	if (s)
		cost += s->hdr.count + (size_t)s->hdr.count * s->hdr.count / 256;
	if (cost > *x->budget) {
		*x->budget = 0;
		return -E2BIG;
	}
	*x->budget -= (unsigned)cost;
	if (!s)
		return -ENOENT;
	inner.cat = x->cat;
	inner.depth = x->depth + 1;
	inner.budget = x->budget;
	return baton_schema_fingerprint(baton_schema_fields(s), s->hdr.count, nested_fingerprint,
					&inner, out, NULL);
}

static int fingerprint_budgeted(const struct baton_catalog *cat, const struct baton_rec_schema *s,
				baton_fingerprint *out, unsigned *budget, struct baton_diag *d)
{
	struct fp_ctx x = { cat, 0, budget };
	int rc;

	rc = baton_schema_fingerprint(baton_schema_fields(s), s->hdr.count, nested_fingerprint, &x,
				      out, d);
	if (rc == -E2BIG)
		baton_diag_set(d, rc, "schema %s version %u nests schemas too widely to fingerprint",
			       s->name, s->version);
	return rc;
}

int baton_catalog_fingerprint(const struct baton_catalog *cat, const struct baton_rec_schema *s,
			      baton_fingerprint *out, struct baton_diag *d)
{
	unsigned budget = FINGERPRINT_BUDGET;

	return fingerprint_budgeted(cat, s, out, &budget, d);
}

/* ------------------------------------------------------------------------ */
/* Opening: the hostile-input checks                                        */

static int check_text(const char *field, size_t size, const char *what, size_t off, bool name,
		      struct baton_diag *d)
{
	size_t n = baton_strnlen(field, size);

	if (n >= size)
		return baton_diag_set(d, -EINVAL, "record at offset %zu: %s is not terminated", off,
				      what);
	if (name && !baton_name_valid(field, n))
		return baton_diag_set(d, -EINVAL,
				      "record at offset %zu: %s \"%.*s\" is not a name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
				      off, what, (int)(n > 63 ? 63 : n), field);
	return 0;
}

static int check_uuid_text(const char *field, size_t size, const char *what, size_t off,
			   struct baton_diag *d)
{
	size_t n = baton_strnlen(field, size);
	baton_uuid u;

	if (n >= size || baton_uuid_parse(&u, field, n) < 0)
		return baton_diag_set(d, -EINVAL,
				      "record at offset %zu: %s \"%.*s\" is not a UUID (8-4-4-4-12 hex digits)",
				      off, what, (int)(n > 40 ? 40 : n), field);
	if (baton_uuid_is_nil(&u))
		return baton_diag_set(d, -EINVAL, "record at offset %zu: %s is the nil UUID", off,
				      what);
	return 0;
}

/* count entries of entry_size after base bytes fill exactly size bytes */
static bool size_fits(uint32_t size, size_t base, uint32_t count, size_t entry_size, size_t max)
{
	if (count > max)
		return false;
	return (size_t)size == base + (size_t)count * entry_size;
}

static int check_program(const struct baton_rec_program *p, size_t off, struct baton_diag *d)
{
	const struct baton_policy_rule *r = baton_program_rules(p);
	uint32_t i;
	int rc;

	if (!size_fits(p->hdr.size, sizeof(*p), p->hdr.count, sizeof(*r), BATON_MAX_POLICY_RULES))
		return baton_diag_set(d, -EINVAL,
				      "program record at offset %zu: size %u does not hold %u policy rules (at most %d)",
				      off, p->hdr.size, p->hdr.count, BATON_MAX_POLICY_RULES);
	rc = check_text(p->name, sizeof(p->name), "program name", off, true, d);
	if (rc < 0)
		return rc;
	if (p->flags)
		return baton_diag_set(d, -EINVAL, "program record at offset %zu: unknown flags 0x%x",
				      off, p->flags);
	for (i = 0; i < p->hdr.count; i++) {
		rc = baton_policy_rule_check(&r[i], d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_schema(const struct baton_rec_schema *s, size_t off, struct baton_diag *d)
{
	const struct baton_field *f = baton_schema_fields(s);
	uint32_t i, j;
	int rc;

	if (!size_fits(s->hdr.size, sizeof(*s), s->hdr.count, sizeof(*f), MAX_FIELDS))
		return baton_diag_set(d, -EINVAL,
				      "schema record at offset %zu: size %u does not hold %u fields (at most %d)",
				      off, s->hdr.size, s->hdr.count, MAX_FIELDS);
	rc = check_uuid_text(s->contract, sizeof(s->contract), "schema contract", off, d);
	if (!rc)
		rc = check_text(s->name, sizeof(s->name), "contract name", off, true, d);
	if (rc < 0)
		return rc;
	if (s->version == 0)
		return baton_diag_set(d, -EINVAL,
				      "schema %s at offset %zu has version 0; versions start at 1", s->name, off);
	if (s->flags)
		return baton_diag_set(d, -EINVAL, "schema %s version %u: unknown flags 0x%x", s->name,
				      s->version, s->flags);
	for (i = 0; i < s->hdr.count; i++) {
		rc = baton_field_check(&f[i], d);
		if (rc < 0) {
			if (d) {
				char inner[BATON_DIAG_MAX];

				memcpy(inner, d->msg, sizeof(inner));
				baton_diag_set(d, rc, "schema %s version %u: %s", s->name, s->version, inner);
			}
			return rc;
		}
		for (j = 0; j < i; j++)
			if (strcmp(f[j].name, f[i].name) == 0)
				return baton_diag_set(d, -EINVAL,
						      "schema %s version %u: field \"%s\" appears twice",
						      s->name, s->version, f[i].name);
	}
	return 0;
}

static int check_handler(const struct baton_rec_handler *h, size_t off, struct baton_diag *d)
{
	const struct baton_read *r = baton_handler_reads(h);
	uint32_t i, j, k;
	int rc;

	if (!size_fits(h->hdr.size, sizeof(*h), h->hdr.count, sizeof(*r), MAX_READS))
		return baton_diag_set(d, -EINVAL,
				      "handler record at offset %zu: size %u does not hold %u read entries (at most %d)",
				      off, h->hdr.size, h->hdr.count, MAX_READS);
	rc = check_text(h->name, sizeof(h->name), "handler name", off, true, d);
	if (rc < 0)
		return rc;
	if (h->flags & ~(uint32_t)BATON_HANDLER_FLAGS_ALL_)
		return baton_diag_set(d, -EINVAL, "handler %s: unknown flags 0x%x", h->name, h->flags);
	if (h->flags & BATON_HANDLER_WRITES) {
		rc = check_uuid_text(h->writes.contract, sizeof(h->writes.contract),
				     "written contract", off, d);
		if (rc < 0)
			return rc;
		if (h->writes.version == 0)
			return baton_diag_set(d, -EINVAL,
					      "handler %s writes version 0; versions start at 1", h->name);
	} else if (h->flags & BATON_HANDLER_OPTIONAL) {
		return baton_diag_set(d, -EINVAL,
				      "handler %s marks its objects optional but writes nothing", h->name);
	}
	for (i = 0; i < h->hdr.count; i++) {
		rc = check_uuid_text(r[i].contract, sizeof(r[i].contract), "read contract", off, d);
		if (rc < 0)
			return rc;
		if (r[i].nversions == 0 || r[i].nversions > BATON_MAX_VERSIONS)
			return baton_diag_set(d, -EINVAL,
					      "handler %s reads %u versions of %s; 1 to %d per contract",
					      h->name, r[i].nversions, r[i].contract, BATON_MAX_VERSIONS);
		for (j = 0; j < r[i].nversions; j++) {
			if (r[i].versions[j] == 0)
				return baton_diag_set(d, -EINVAL,
						      "handler %s reads version 0 of %s; versions start at 1",
						      h->name, r[i].contract);
			for (k = 0; k < j; k++)
				if (r[i].versions[k] == r[i].versions[j])
					return baton_diag_set(d, -EINVAL,
							      "handler %s lists version %u of %s twice",
							      h->name, r[i].versions[j], r[i].contract);
		}
		for (k = 0; k < i; k++)
			if (same_uuid_text(r[k].contract, r[i].contract))
				return baton_diag_set(d, -EINVAL,
						      "handler %s has two read entries for %s; list its versions in one",
						      h->name, r[i].contract);
	}
	return 0;
}

/* Duplicates across records: one schema per (contract, version), one handler per name. */
static int check_duplicates(const struct baton_catalog *cat, struct baton_diag *d)
{
	const struct baton_rec_schema *s, *t;
	const struct baton_rec_handler *h, *g;

	baton_catalog_for_each_schema(cat, s) {
		char us[BATON_UUID_STRLEN + 1];
		baton_uuid u = baton_rec_uuid(s->contract);

		baton_uuid_format(&u, us);
		for (t = baton_catalog_next_schema(cat, s); t; t = baton_catalog_next_schema(cat, t)) {
			if (t->version == s->version && uuid_text_is(t->contract, us))
				return baton_diag_set(d, -EINVAL,
						      "schema %s (%s) version %u is declared twice; declare each schema once, in one .c file",
						      s->name, s->contract, s->version);
		}
	}
	baton_catalog_for_each_handler(cat, h)
		for (g = baton_catalog_next_handler(cat, h); g; g = baton_catalog_next_handler(cat, g))
			if (strcmp(h->name, g->name) == 0)
				return baton_diag_set(d, -EINVAL,
						      "handler %s is declared twice; declare each handler once, in one .c file",
						      h->name);
	return 0;
}

int baton_catalog_open(struct baton_catalog *cat, const void *buf, size_t len,
		       const struct baton_build_id *build_id, struct baton_diag *d)
{
	const struct baton_rec_schema *s;
	unsigned budget = FINGERPRINT_BUDGET;
	size_t off = 0, nrec = 0;
	int rc;

	memset(cat, 0, sizeof(*cat));
	if (!buf || len == 0)
		return baton_diag_set(d, -ENOENT, "the catalog is empty: no baton_catalog records");
	if ((uintptr_t)buf % 8)
		return baton_diag_set(d, -EINVAL, "catalog records must be 8-byte aligned in memory");
	if (len > BATON_CATALOG_MAX_SIZE)
		return baton_diag_set(d, -E2BIG, "catalog of %zu bytes exceeds the limit of %u", len,
				      BATON_CATALOG_MAX_SIZE);
	if (build_id && build_id->len > BATON_BUILD_ID_MAX)
		return baton_diag_set(d, -EINVAL, "build id of %u bytes exceeds %d", build_id->len,
				      BATON_BUILD_ID_MAX);

	cat->buf = buf;
	cat->len = len;
	while (off < len) {
		struct baton_rec h;

		if (len - off < 8 || len - off < sizeof(h)) {
			/* a tail shorter than a header may only be padding */
			size_t i;

			for (i = off; i < len; i++)
				if (cat->buf[i])
					goto truncated;
			break;
		}
		memcpy(&h, cat->buf + off, sizeof(h));
		if (h.magic == 0) {
			uint8_t zero[8] = { 0 };

			if (memcmp(cat->buf + off, zero, 8))
				goto bad_magic;
			off += 8;
			continue;
		}
		if (h.magic == bswap32(BATON_REC_MAGIC)) {
			rc = baton_diag_set(d, -EPROTO,
					    "catalog records at offset %zu are in the other byte order; "
					    "read them with a baton built for that machine", off);
			goto fail;
		}
		if (h.magic != BATON_REC_MAGIC)
			goto bad_magic;
		if (h.abi != BATON_REC_ABI) {
			rc = baton_diag_set(d, -EPROTO,
					    "record at offset %zu has ABI %u; this baton reads ABI %d "
					    "(a newer baton wrote it?)", off,
					    h.abi == bswap16(BATON_REC_ABI) ? BATON_REC_ABI : h.abi,
					    BATON_REC_ABI);
			goto fail;
		}
		if (h.size < sizeof(h) || h.size % 8 || h.size > len - off) {
			rc = baton_diag_set(d, -EINVAL,
					    "record at offset %zu claims %u bytes; %zu remain (truncated or corrupt catalog)",
					    off, h.size, len - off);
			goto fail;
		}
		if (++nrec > BATON_CATALOG_MAX_RECORDS) {
			rc = baton_diag_set(d, -E2BIG, "catalog has more than %d records",
					    BATON_CATALOG_MAX_RECORDS);
			goto fail;
		}
		switch (h.kind) {
		case BATON_REC_PROGRAM: {
			const struct baton_rec_program *p = (const void *)(cat->buf + off);

			if (h.size < sizeof(*p)) {
				rc = baton_diag_set(d, -EINVAL, "program record at offset %zu is too short", off);
				goto fail;
			}
			if (cat->program) {
				rc = baton_diag_set(d, -EINVAL,
						    "two program records (offsets %zu and %zu): one BATON_PROGRAM per program",
						    (size_t)((const uint8_t *)cat->program - cat->buf), off);
				goto fail;
			}
			rc = check_program(p, off, d);
			if (rc < 0)
				goto fail;
			cat->program = p;
			break;
		}
		case BATON_REC_SCHEMA:
			if (h.size < sizeof(struct baton_rec_schema)) {
				rc = baton_diag_set(d, -EINVAL, "schema record at offset %zu is too short", off);
				goto fail;
			}
			rc = check_schema((const void *)(cat->buf + off), off, d);
			if (rc < 0)
				goto fail;
			cat->nschemas++;
			break;
		case BATON_REC_HANDLER:
			if (h.size < sizeof(struct baton_rec_handler)) {
				rc = baton_diag_set(d, -EINVAL, "handler record at offset %zu is too short", off);
				goto fail;
			}
			rc = check_handler((const void *)(cat->buf + off), off, d);
			if (rc < 0)
				goto fail;
			cat->nhandlers++;
			break;
		default:
			rc = baton_diag_set(d, -EPROTO, "record at offset %zu has unknown kind %u", off,
					    h.kind);
			goto fail;
		}
		off += h.size;
	}
	if (!cat->program) {
		rc = baton_diag_set(d, -ENOENT,
				    "the catalog has no program record: declare BATON_PROGRAM once");
		goto fail;
	}
	rc = check_duplicates(cat, d);
	if (rc < 0)
		goto fail;
	/* Every nested schema must resolve, without cycles. */
	baton_catalog_for_each_schema(cat, s) {
		baton_fingerprint fp;

		rc = fingerprint_budgeted(cat, s, &fp, &budget, d);
		if (rc < 0) {
			if (d && rc != -E2BIG) {
				char inner[BATON_DIAG_MAX];

				memcpy(inner, d->msg, sizeof(inner));
				baton_diag_set(d, rc, "schema %s version %u: %s", s->name, s->version, inner);
			}
			goto fail;
		}
	}
	if (build_id)
		cat->build_id = *build_id;
	return 0;

truncated:
	rc = baton_diag_set(d, -EINVAL, "catalog ends with %zu stray bytes at offset %zu (truncated?)",
			    len - off, off);
	goto fail;
bad_magic:
	rc = baton_diag_set(d, -EINVAL, "no catalog record at offset %zu (bad magic): corrupt catalog",
			    off);
fail:
	memset(cat, 0, sizeof(*cat));
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Building                                                                 */

void baton_catalog_builder_init(struct baton_catalog_builder *b, void *buf, size_t size)
{
	b->buf = buf;
	b->size = buf ? size : 0;
	b->len = 0;
	b->err = ((uintptr_t)buf % 8) ? -EINVAL : 0;
}

/* Reserves size bytes (a multiple of 8); NULL when measuring or out of space. */
static void *reserve(struct baton_catalog_builder *b, size_t size)
{
	void *p = NULL;

	if (b->err)
		return NULL;
	if (b->len + size <= b->size) {
		p = b->buf + b->len;
		memset(p, 0, size);
	}
	b->len += size;
	return p;
}

static int copy_text(struct baton_catalog_builder *b, char *dst, size_t size, const char *src)
{
	if (baton_strlcpy(dst, src ? src : "", size) < 0)
		return b->err = -ENAMETOOLONG;
	return 0;
}

int baton_catalog_add_program(struct baton_catalog_builder *b, const char *name,
			      const struct baton_release *release,
			      const struct baton_policy_rule *rules, size_t nrules)
{
	size_t size = sizeof(struct baton_rec_program) + nrules * sizeof(*rules);
	struct baton_rec_program *p;

	if (b->err)
		return b->err;
	if (nrules > BATON_MAX_POLICY_RULES)
		return b->err = -E2BIG;
	p = reserve(b, size);
	if (!p)
		return b->err;
	p->hdr = (struct baton_rec)BATON__HDR(BATON_REC_PROGRAM, size, nrules);
	if (copy_text(b, p->name, sizeof(p->name), name) < 0)
		return b->err;
	p->release = *release;
	if (nrules)
		memcpy(p + 1, rules, nrules * sizeof(*rules));
	return 0;
}

int baton_catalog_add_schema(struct baton_catalog_builder *b, const char *contract,
			     const char *name, uint32_t version,
			     const struct baton_field *fields, size_t nfields)
{
	size_t size = sizeof(struct baton_rec_schema) + nfields * sizeof(*fields);
	struct baton_rec_schema *s;

	if (b->err)
		return b->err;
	if (nfields > MAX_FIELDS)
		return b->err = -E2BIG;
	s = reserve(b, size);
	if (!s)
		return b->err;
	s->hdr = (struct baton_rec)BATON__HDR(BATON_REC_SCHEMA, size, nfields);
	if (copy_text(b, s->contract, sizeof(s->contract), contract) < 0 ||
	    copy_text(b, s->name, sizeof(s->name), name) < 0)
		return b->err;
	s->version = version;
	if (nfields)
		memcpy(s + 1, fields, nfields * sizeof(*fields));
	return 0;
}

int baton_catalog_add_handler(struct baton_catalog_builder *b, const char *name, uint32_t flags,
			      const struct baton_cv *writes,
			      const struct baton_read *reads, size_t nreads)
{
	size_t size = sizeof(struct baton_rec_handler) + nreads * sizeof(*reads);
	struct baton_rec_handler *h;

	if (b->err)
		return b->err;
	if (nreads > MAX_READS)
		return b->err = -E2BIG;
	h = reserve(b, size);
	if (!h)
		return b->err;
	h->hdr = (struct baton_rec)BATON__HDR(BATON_REC_HANDLER, size, nreads);
	if (copy_text(b, h->name, sizeof(h->name), name) < 0)
		return b->err;
	h->flags = flags;
	if (writes)
		h->writes = *writes;
	if (nreads)
		memcpy(h + 1, reads, nreads * sizeof(*reads));
	return 0;
}

int baton_catalog_builder_finish(struct baton_catalog_builder *b, size_t *len)
{
	if (len)
		*len = b->len;
	if (b->err)
		return b->err;
	return b->len > b->size ? -ENOSPC : 0;
}
