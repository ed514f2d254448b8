/* SPDX-License-Identifier: MIT */
/*
 * DOC: core check and bind — the protocol's rules, decided by machine
 *
 * Three entry points share one way of reporting: every violation becomes a
 * struct baton_finding, built on the stack and handed to the caller's
 * callback, so nothing here allocates.
 *
 * baton_catalog_validate() looks at one catalog (rule 2 and the schemas its
 * handlers need). baton_check() compares the catalogs of an old and a new
 * release: the path (rule 4), what the old writes against what the new
 * reads (rules 1 and 3), both catalogs on their own (rule 2), and every
 * (contract, version) both declare (rule 6). baton_bind() does the same work
 * at run time for an image that has actually arrived: it decides, object by
 * object, which handler of the reader binds it.
 *
 * A finding's message is one line for people. It starts with the rule's
 * name ("unbound: ...") so that it can be logged on its own, names the
 * object, contract (short name and UUID), versions, the handlers of both
 * sides and both releases, and ends with what to do about it.
 *
 * Every check is a scan over the records of one or two catalogs, quadratic
 * in the number of handlers and schemas. Catalogs hold tens of records;
 * an index can come if that ever changes.
 */
#include <errno.h>
#include <string.h>

#include <baton/check.h>

#include "internal.h"

static const char *const rule_names[] = {
	[BATON_RULE_PATH] = "path",
	[BATON_RULE_DOWNGRADE] = "downgrade",
	[BATON_RULE_UNBOUND] = "unbound",
	[BATON_RULE_AMBIGUOUS] = "ambiguous",
	[BATON_RULE_LAYOUT] = "layout",
	[BATON_RULE_SCHEMA] = "schema",
};

const char *baton_rule_name(enum baton_rule rule)
{
	if ((unsigned)rule == 0 || (unsigned)rule > BATON_RULE_MAX_)
		return "unknown";
	return rule_names[rule];
}

/* ------------------------------------------------------------------------ */
/* Findings                                                                 */

/* One run of a check: who writes, who reads, where findings go. */
struct scope {
	const char *wprog;                 /* NULL: no writer side */
	struct baton_release wrel;
	const char *rprog;                 /* NULL: no reader side */
	struct baton_release rrel;
	baton_finding_fn fn;
	void *ctx;
	int count;
};

static void scope_writer(struct scope *sc, const char *program, const struct baton_release *rel)
{
	sc->wprog = program;
	sc->wrel = *rel;
}

static void scope_reader(struct scope *sc, const struct baton_catalog *cat)
{
	sc->rprog = cat->program->name;
	sc->rrel = cat->program->release;
}

static void finding_init(const struct scope *sc, struct baton_finding *f, enum baton_rule rule)
{
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	if (sc->wprog) {
		baton_strlcpy(f->writer_program, sc->wprog, sizeof(f->writer_program));
		f->writer_release = sc->wrel;
	}
	if (sc->rprog) {
		baton_strlcpy(f->reader_program, sc->rprog, sizeof(f->reader_program));
		f->reader_release = sc->rrel;
	}
}

static void finding_contract(struct baton_finding *f, const baton_uuid *contract,
			     const char *name, uint32_t version)
{
	f->has_contract = true;
	f->contract = *contract;
	if (name)
		baton_strlcpy(f->contract_name, name, sizeof(f->contract_name));
	f->version = version;
}

static void copy_name(char dst[BATON_NAME_MAX], const char *src)
{
	if (src)
		baton_strlcpy(dst, src, BATON_NAME_MAX);
}

static void emit(struct scope *sc, const struct baton_finding *f)
{
	sc->count++;
	if (sc->fn)
		sc->fn(sc->ctx, f);
}

/* Message pieces. Every one appends at *pos of f->message. */
#define MSG(f, pos, ...) baton__appendf((f)->message, sizeof((f)->message), (pos), __VA_ARGS__)

static void msg_rule(struct baton_finding *f, size_t *pos)
{
	MSG(f, pos, "%s: ", baton_rule_name(f->rule));
}

/* "kvd.cache (6f1c...)" or, without a known short name, "contract 6f1c..." */
static void msg_contract(struct baton_finding *f, size_t *pos)
{
	char uuid[BATON_UUID_STRLEN + 1];

	baton_uuid_format(&f->contract, uuid);
	if (f->contract_name[0])
		MSG(f, pos, "%s (%s)", f->contract_name, uuid);
	else
		MSG(f, pos, "contract %s", uuid);
}

static void msg_release(struct baton_finding *f, size_t *pos, const char *program,
			const struct baton_release *rel)
{
	MSG(f, pos, "%s %u.%u.%u", program, rel->major, rel->minor, rel->patch);
}

static void msg_writer(struct baton_finding *f, size_t *pos)
{
	msg_release(f, pos, f->writer_program, &f->writer_release);
}

static void msg_reader(struct baton_finding *f, size_t *pos)
{
	msg_release(f, pos, f->reader_program, &f->reader_release);
}

/* The release a single-catalog finding is about. */
static void msg_side(struct baton_finding *f, size_t *pos)
{
	if (f->side && strcmp(f->side, "old") == 0)
		msg_writer(f, pos);
	else
		msg_reader(f, pos);
}

/* Puts a handler of the catalog named by side into the matching field. */
static char *side_handler(struct baton_finding *f)
{
	return f->side && strcmp(f->side, "old") == 0 ? f->writer_handler : f->reader_handler;
}

/* "kvd.cache reads versions 1, 2; kvd.adopt reads version 1", or "none of its handlers reads it" */
static void msg_readers_of(struct baton_finding *f, size_t *pos, const struct baton_catalog *cat)
{
	const struct baton_rec_handler *h;
	unsigned n = 0;

	baton_catalog_for_each_handler(cat, h) {
		char list[BATON_MAX_VERSIONS * 12];

		if (baton_handler_max_read(h, &f->contract) == 0)
			continue;
		baton_handler_format_reads(h, &f->contract, list, sizeof(list));
		MSG(f, pos, "%s%s reads %s %s", n++ ? "; " : "", h->name,
		    strchr(list, ',') ? "versions" : "version", list);
	}
	if (n == 0)
		MSG(f, pos, "none of its handlers reads any version of it");
}

/* The highest version of contract that any handler of cat reads; 0 if none. */
static uint32_t catalog_max_read(const struct baton_catalog *cat, const baton_uuid *contract)
{
	const struct baton_rec_handler *h;
	uint32_t max = 0, v;

	baton_catalog_for_each_handler(cat, h) {
		v = baton_handler_max_read(h, contract);
		if (v > max)
			max = v;
	}
	return max;
}

/* The highest version of contract that cat has a schema for; 0 if none. */
static uint32_t catalog_max_schema(const struct baton_catalog *cat, const baton_uuid *contract)
{
	const struct baton_rec_schema *s;
	uint32_t max = 0;

	baton_catalog_for_each_schema(cat, s) {
		baton_uuid c = baton_rec_uuid(s->contract);

		if (s->version > max && baton_uuid_cmp(&c, contract) == 0)
			max = s->version;
	}
	return max;
}

static const char *contract_name(const struct baton_catalog *a, const struct baton_catalog *b,
				 const baton_uuid *contract)
{
	const char *name = a ? baton_catalog_contract_name(a, contract) : NULL;

	if (!name && b)
		name = baton_catalog_contract_name(b, contract);
	return name;
}

/*
 * The end of an "unbound" message: (the reader's handlers of the contract);
 * what to do. Shared by the offline check and bind.
 */
static void msg_unbound_tail(struct baton_finding *f, size_t *pos, const struct baton_catalog *reader)
{
	uint32_t max = catalog_max_read(reader, &f->contract);

	MSG(f, pos, ", is read by no handler of ");
	msg_reader(f, pos);
	MSG(f, pos, " (");
	msg_readers_of(f, pos, reader);
	MSG(f, pos, "); ");
	if (max == 0)
		MSG(f, pos,
		    "add a handler that reads version %u to the reader, or, if these objects may be "
		    "dropped on update, have the writer declare them optional (BATON_WRITES_OPTIONAL)",
		    f->version);
	else if (max < f->version)
		MSG(f, pos, "add version %u to a handler's reads with an upgrade step, "
		    "or keep writing version %u", f->version, max);
	else
		MSG(f, pos, "add version %u back to a handler's reads with upgrade steps to version %u; "
		    "a version may only be dropped once no release the policy accepts still writes it",
		    f->version, max);
}

/* ------------------------------------------------------------------------ */
/* One catalog: rule 2, declared schemas, one name per contract             */

static void validate_reads(struct scope *sc, const struct baton_catalog *cat, const char *side)
{
	const struct baton_rec_handler *h, *first;
	uint32_t i, j;

	baton_catalog_for_each_handler(cat, h) {
		const struct baton_read *r = baton_handler_reads(h);

		for (i = 0; i < h->hdr.count; i++) {
			baton_uuid c = baton_rec_uuid(r[i].contract);

			for (j = 0; j < r[i].nversions; j++) {
				struct baton_finding f;
				size_t pos = 0;

				first = baton_catalog_find_reader(cat, &c, r[i].versions[j]);
				if (first == h)
					continue;
				finding_init(sc, &f, BATON_RULE_AMBIGUOUS);
				f.side = side;
				finding_contract(&f, &c, baton_catalog_contract_name(cat, &c),
						 r[i].versions[j]);
				copy_name(side_handler(&f), first->name);
				copy_name(f.other_handler, h->name);
				msg_rule(&f, &pos);
				msg_contract(&f, &pos);
				MSG(&f, &pos, " version %u is read by two handlers of ", f.version);
				msg_side(&f, &pos);
				MSG(&f, &pos, ", %s and %s; objects bind by contract and version, so "
				    "exactly one handler may read each version: remove version %u "
				    "from the reads of one of them", first->name, h->name, f.version);
				emit(sc, &f);
			}
		}
	}
}

static void validate_writes(struct scope *sc, const struct baton_catalog *cat, const char *side)
{
	const struct baton_rec_handler *h, *first;

	baton_catalog_for_each_handler(cat, h) {
		struct baton_finding f;
		size_t pos = 0;
		baton_uuid c;

		if (!(h->flags & BATON_HANDLER_WRITES))
			continue;
		c = baton_rec_uuid(h->writes.contract);
		first = baton_catalog_find_writer(cat, &c);
		if (first == h)
			continue;
		finding_init(sc, &f, BATON_RULE_AMBIGUOUS);
		f.side = side;
		finding_contract(&f, &c, baton_catalog_contract_name(cat, &c), h->writes.version);
		copy_name(side_handler(&f), first->name);
		copy_name(f.other_handler, h->name);
		msg_rule(&f, &pos);
		msg_contract(&f, &pos);
		MSG(&f, &pos, " is written by two handlers of ");
		msg_side(&f, &pos);
		MSG(&f, &pos, ", %s (version %u) and %s (version %u); one handler writes each "
		    "contract: give one of them a contract of its own (a new UUID)",
		    first->name, first->writes.version, h->name, h->writes.version);
		emit(sc, &f);
	}
}

static void missing_schema(struct scope *sc, const struct baton_catalog *cat, const char *side,
			   const struct baton_rec_handler *h, const baton_uuid *c, uint32_t version,
			   const char *verb)
{
	struct baton_finding f;
	size_t pos = 0;

	finding_init(sc, &f, BATON_RULE_SCHEMA);
	f.side = side;
	finding_contract(&f, c, baton_catalog_contract_name(cat, c), version);
	copy_name(side_handler(&f), h->name);
	msg_rule(&f, &pos);
	MSG(&f, &pos, "handler %s of ", h->name);
	msg_side(&f, &pos);
	MSG(&f, &pos, " %s ", verb);
	msg_contract(&f, &pos);
	MSG(&f, &pos, " version %u, but ", version);
	msg_side(&f, &pos);
	MSG(&f, &pos, " declares no schema for it; declare its layout with BATON_SCHEMA "
	    "(every version a handler writes or reads needs one)");
	emit(sc, &f);
}

static void validate_schemas(struct scope *sc, const struct baton_catalog *cat, const char *side)
{
	const struct baton_rec_handler *h;
	uint32_t i, j;

	baton_catalog_for_each_handler(cat, h) {
		const struct baton_read *r = baton_handler_reads(h);
		baton_uuid w = baton_rec_uuid(h->writes.contract);
		bool writes = h->flags & BATON_HANDLER_WRITES;

		if (writes && !baton_catalog_find_schema(cat, &w, h->writes.version))
			missing_schema(sc, cat, side, h, &w, h->writes.version, "writes");
		for (i = 0; i < h->hdr.count; i++) {
			baton_uuid c = baton_rec_uuid(r[i].contract);

			for (j = 0; j < r[i].nversions; j++) {
				uint32_t v = r[i].versions[j];

				if (baton_catalog_find_schema(cat, &c, v))
					continue;
				/* reported once, as written */
				if (writes && v == h->writes.version && baton_uuid_cmp(&c, &w) == 0)
					continue;
				missing_schema(sc, cat, side, h, &c, v, "reads");
			}
		}
	}
}

static void validate_names(struct scope *sc, const struct baton_catalog *cat, const char *side)
{
	const struct baton_rec_schema *s, *first;

	baton_catalog_for_each_schema(cat, s) {
		baton_uuid c = baton_rec_uuid(s->contract);
		struct baton_finding f;
		size_t pos = 0;

		baton_catalog_for_each_schema(cat, first) {
			baton_uuid fc = baton_rec_uuid(first->contract);

			if (baton_uuid_cmp(&c, &fc) == 0)
				break;
		}
		if (first == s || strcmp(first->name, s->name) == 0)
			continue;
		finding_init(sc, &f, BATON_RULE_SCHEMA);
		f.side = side;
		finding_contract(&f, &c, first->name, s->version);
		msg_rule(&f, &pos);
		MSG(&f, &pos, "contract %s is called %s in version %u and %s in version %u of ",
		    s->contract, first->name, first->version, s->name, s->version);
		msg_side(&f, &pos);
		MSG(&f, &pos, "; a contract has one short name: give every schema of it the same one");
		emit(sc, &f);
	}
}

static void validate(struct scope *sc, const struct baton_catalog *cat, const char *side)
{
	validate_reads(sc, cat, side);
	validate_writes(sc, cat, side);
	validate_schemas(sc, cat, side);
	validate_names(sc, cat, side);
}

int baton_catalog_validate(const struct baton_catalog *cat, const char *side,
			   baton_finding_fn fn, void *ctx)
{
	struct scope sc = { .fn = fn, .ctx = ctx };

	if (!cat || !cat->program)
		return -EINVAL;
	if (side && strcmp(side, "old") == 0)
		scope_writer(&sc, cat->program->name, &cat->program->release);
	else
		scope_reader(&sc, cat);
	validate(&sc, cat, side);
	return sc.count;
}

/* ------------------------------------------------------------------------ */
/* Old against new                                                          */

/* Rule 4 and one program; returns false when nothing else is worth checking. */
static bool check_path(struct scope *sc, const char *wprog, const struct baton_release *wrel,
		       const struct baton_build_id *wbuild, const struct baton_catalog *reader)
{
	struct baton_policy policy = baton_catalog_policy(reader);
	struct baton_path_decision dec;
	struct baton_finding f;
	size_t pos = 0;

	if (strcmp(wprog, reader->program->name) != 0) {
		finding_init(sc, &f, BATON_RULE_PATH);
		msg_rule(&f, &pos);
		msg_writer(&f, &pos);
		MSG(&f, &pos, " -> ");
		msg_reader(&f, &pos);
		MSG(&f, &pos, ": these are different programs; a release only takes state written "
		    "by a release of its own program (check that both names are right)");
		emit(sc, &f);
		return false;
	}

	switch (baton_policy_decide(&policy, &reader->program->release, &reader->build_id,
				    wrel, wbuild, &dec)) {
	case BATON_PATH_ACCEPT:
		return true;
	case BATON_PATH_DOWNGRADE:
		finding_init(sc, &f, BATON_RULE_DOWNGRADE);
		msg_rule(&f, &pos);
		msg_writer(&f, &pos);
		MSG(&f, &pos, " -> ");
		msg_reader(&f, &pos);
		MSG(&f, &pos, ": %s; update to a release newer than %u.%u.%u instead", dec.reason,
		    wrel->major, wrel->minor, wrel->patch);
		break;
	case BATON_PATH_OTHER_BUILD:
		finding_init(sc, &f, BATON_RULE_PATH);
		msg_rule(&f, &pos);
		msg_writer(&f, &pos);
		MSG(&f, &pos, " -> ");
		msg_reader(&f, &pos);
		MSG(&f, &pos, ": %s; ", dec.reason);
		if (!wbuild || !wbuild->len || !reader->build_id.len)
			MSG(&f, &pos, "link both with a build id (-Wl,--build-id) so that an "
			    "identical build is recognised, or ");
		MSG(&f, &pos, "give the new build its own release number and list the path in "
		    "its policy");
		break;
	default:
		finding_init(sc, &f, BATON_RULE_PATH);
		msg_rule(&f, &pos);
		msg_writer(&f, &pos);
		MSG(&f, &pos, " -> ");
		msg_reader(&f, &pos);
		MSG(&f, &pos, ": %s", dec.reason);
		if (baton_release_cmp(wrel, &reader->program->release) != 0)
			MSG(&f, &pos, "; list the path in the policy of %u.%u.%u if it is meant to "
			    "be supported, or update through releases whose policies list each hop",
			    reader->program->release.major, reader->program->release.minor,
			    reader->program->release.patch);
		break;
	}
	emit(sc, &f);
	return true;
}

/* Rules 1 and 3: what the old writes, a handler of the new must read. */
static void check_unbound(struct scope *sc, const struct baton_catalog *old_cat,
			  const struct baton_catalog *new_cat)
{
	const struct baton_rec_handler *h;

	baton_catalog_for_each_handler(old_cat, h) {
		struct baton_finding f;
		size_t pos = 0;
		baton_uuid c;

		if (!(h->flags & BATON_HANDLER_WRITES))
			continue;
		c = baton_rec_uuid(h->writes.contract);
		if (baton_catalog_find_reader(new_cat, &c, h->writes.version))
			continue;
		if (h->flags & BATON_HANDLER_OPTIONAL)
			continue;  /* the new release drops these objects, as the old allows */
		finding_init(sc, &f, BATON_RULE_UNBOUND);
		finding_contract(&f, &c, contract_name(old_cat, new_cat, &c), h->writes.version);
		copy_name(f.writer_handler, h->name);
		msg_rule(&f, &pos);
		msg_contract(&f, &pos);
		MSG(&f, &pos, " version %u, written by handler %s of ", f.version, h->name);
		msg_writer(&f, &pos);
		msg_unbound_tail(&f, &pos, new_cat);
		emit(sc, &f);
	}
}

/* "u64", "string(max 32)", "schema(kvd.entry v1)" */
static void msg_type(struct baton_finding *f, size_t *pos, const struct baton_catalog *cat,
		     const struct baton_field *fl)
{
	const char *t = baton_type_name(fl->type);

	switch (fl->type) {
	case BATON_T_BYTES:
		MSG(f, pos, "bytes(%u)", fl->size);
		break;
	case BATON_T_STRING:
		MSG(f, pos, "string(max %u)", fl->size);
		break;
	case BATON_T_ARRAY:
		MSG(f, pos, "array(%s, max %u)", baton_type_name(fl->elem), fl->size);
		break;
	case BATON_T_SCHEMA: {
		baton_uuid u = baton_rec_uuid(fl->contract);
		const char *name = baton_catalog_contract_name(cat, &u);

		MSG(f, pos, "schema(%s v%u)", name ? name : fl->contract, fl->version);
		break;
	}
	default:
		MSG(f, pos, "%s", t ? t : "?");
		break;
	}
}

static const struct baton_field *field_named(const struct baton_rec_schema *s, const char *name)
{
	const struct baton_field *fl = baton_schema_fields(s);
	uint32_t i;

	for (i = 0; i < s->hdr.count; i++)
		if (strcmp(fl[i].name, name) == 0)
			return &fl[i];
	return NULL;
}

static bool field_same(const struct baton_field *a, const struct baton_field *b)
{
	return a->type == b->type && a->elem == b->elem && a->size == b->size &&
	       a->version == b->version && strcmp(a->contract, b->contract) == 0;
}

/* Whether a nested field resolves to the same layout in both catalogs. */
static bool nested_same(const struct baton_catalog *old_cat, const struct baton_catalog *new_cat,
			const struct baton_field *fl)
{
	baton_uuid u = baton_rec_uuid(fl->contract);
	const struct baton_rec_schema *a = baton_catalog_find_schema(old_cat, &u, fl->version);
	const struct baton_rec_schema *b = baton_catalog_find_schema(new_cat, &u, fl->version);
	baton_fingerprint fa, fb;

	if (!a || !b || baton_catalog_fingerprint(old_cat, a, &fa, NULL) < 0 ||
	    baton_catalog_fingerprint(new_cat, b, &fb, NULL) < 0)
		return false;
	return baton_fingerprint_equal(&fa, &fb);
}

/* What differs between two layouts of one (contract, version), field by field. */
static void msg_layout_diff(struct baton_finding *f, size_t *pos,
			    const struct baton_catalog *old_cat, const struct baton_rec_schema *a,
			    const struct baton_catalog *new_cat, const struct baton_rec_schema *b)
{
	const struct baton_field *fa = baton_schema_fields(a), *fb = baton_schema_fields(b), *o;
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < a->hdr.count; i++) {
		o = field_named(b, fa[i].name);
		if (!o) {
			MSG(f, pos, "%sfield %s (", n++ ? ", " : "", fa[i].name);
			msg_type(f, pos, old_cat, &fa[i]);
			MSG(f, pos, ") removed");
		} else if (!field_same(&fa[i], o)) {
			MSG(f, pos, "%sfield %s changed from ", n++ ? ", " : "", fa[i].name);
			msg_type(f, pos, old_cat, &fa[i]);
			MSG(f, pos, " to ");
			msg_type(f, pos, new_cat, o);
		} else if (fa[i].type == BATON_T_SCHEMA && !nested_same(old_cat, new_cat, &fa[i])) {
			MSG(f, pos, "%sfield %s nests ", n++ ? ", " : "", fa[i].name);
			msg_type(f, pos, old_cat, &fa[i]);
			MSG(f, pos, ", whose layout differs");
		}
	}
	for (i = 0; i < b->hdr.count; i++) {
		if (field_named(a, fb[i].name))
			continue;
		MSG(f, pos, "%sfield %s (", n++ ? ", " : "", fb[i].name);
		msg_type(f, pos, new_cat, &fb[i]);
		MSG(f, pos, ") added");
	}
	if (n == 0)
		MSG(f, pos, "the same fields in another order");
}

/* Rule 6: one (contract, version), one layout, in every release. */
static int check_layouts(struct scope *sc, const struct baton_catalog *old_cat,
			 const struct baton_catalog *new_cat)
{
	const struct baton_rec_schema *s, *t;
	const struct baton_rec_handler *h;
	baton_fingerprint fs, ft;
	int rc;

	baton_catalog_for_each_schema(new_cat, s) {
		baton_uuid c = baton_rec_uuid(s->contract);
		struct baton_finding f;
		uint32_t next;
		size_t pos = 0;

		t = baton_catalog_find_schema(old_cat, &c, s->version);
		if (!t)
			continue;
		rc = baton_catalog_fingerprint(new_cat, s, &fs, NULL);
		if (rc < 0)
			return rc;
		rc = baton_catalog_fingerprint(old_cat, t, &ft, NULL);
		if (rc < 0)
			return rc;
		if (baton_fingerprint_equal(&fs, &ft))
			continue;
		finding_init(sc, &f, BATON_RULE_LAYOUT);
		finding_contract(&f, &c, s->name, s->version);
		h = baton_catalog_find_writer(old_cat, &c);
		if (h && h->writes.version == s->version)
			copy_name(f.writer_handler, h->name);
		h = baton_catalog_find_reader(new_cat, &c, s->version);
		if (h)
			copy_name(f.reader_handler, h->name);
		next = catalog_max_schema(new_cat, &c);
		if (catalog_max_schema(old_cat, &c) > next)
			next = catalog_max_schema(old_cat, &c);
		msg_rule(&f, &pos);
		msg_contract(&f, &pos);
		MSG(&f, &pos, " version %u", f.version);
		if (f.writer_handler[0])
			MSG(&f, &pos, " (written by handler %s)", f.writer_handler);
		MSG(&f, &pos, " has one layout in ");
		msg_writer(&f, &pos);
		MSG(&f, &pos, " and another in ");
		msg_reader(&f, &pos);
		if (f.reader_handler[0])
			MSG(&f, &pos, " (read by handler %s)", f.reader_handler);
		MSG(&f, &pos, ": ");
		msg_layout_diff(&f, &pos, old_cat, t, new_cat, s);
		MSG(&f, &pos, "; layout changed without a version bump: restore version %u as it "
		    "was and give the new layout version %u, with an upgrade step from %u",
		    f.version, next + 1, f.version);
		emit(sc, &f);
	}
	return 0;
}

int baton_check(const struct baton_catalog *old_cat, const struct baton_catalog *new_cat,
		baton_finding_fn fn, void *ctx)
{
	struct scope sc = { .fn = fn, .ctx = ctx };
	int rc;

	if (!old_cat || !old_cat->program || !new_cat || !new_cat->program)
		return -EINVAL;
	scope_writer(&sc, old_cat->program->name, &old_cat->program->release);
	scope_reader(&sc, new_cat);

	if (!check_path(&sc, old_cat->program->name, &old_cat->program->release,
			&old_cat->build_id, new_cat))
		return sc.count;
	check_unbound(&sc, old_cat, new_cat);
	validate(&sc, old_cat, "old");
	validate(&sc, new_cat, "new");
	rc = check_layouts(&sc, old_cat, new_cat);
	if (rc < 0)
		return rc;
	return sc.count;
}

/* ------------------------------------------------------------------------ */
/* An image against its reader                                              */

static int reader_schema(void *ctx, const baton_uuid *contract, uint32_t version,
			 const struct baton_field **fields, size_t *nfields)
{
	const struct baton_rec_schema *s = baton_catalog_find_schema(ctx, contract, version);

	if (!s)
		return -ENOENT;
	*fields = baton_schema_fields(s);
	*nfields = s->hdr.count;
	return 0;
}

/* "object cache/main: kvd.cache (...) version 2, written by handler kvd.cache of kvd 1.0.0" */
static void msg_object(struct baton_finding *f, size_t *pos)
{
	msg_rule(f, pos);
	MSG(f, pos, "object %s: ", f->key);
	msg_contract(f, pos);
	MSG(f, pos, " version %u, written by handler %s of ", f->version, f->writer_handler);
	msg_writer(f, pos);
}

static void object_finding(const struct scope *sc, struct baton_finding *f, enum baton_rule rule,
			   const struct baton_catalog *reader, const struct baton_image_object *obj)
{
	finding_init(sc, f, rule);
	finding_contract(f, &obj->contract, baton_catalog_contract_name(reader, &obj->contract),
			 obj->version);
	baton_strlcpy(f->key, obj->key, sizeof(f->key));
	copy_name(f->writer_handler, obj->handler);
}

/*
 * What binding decides for every object of one (contract, version): the
 * handlers that read it, the reader's schema and its fingerprint, the
 * version restore sees. An image holds thousands of objects of a few kinds,
 * so each kind is decided once (a fingerprint hashes the schema's canonical
 * form, and every lookup scans the catalog's records).
 */
struct bind_kind {
	baton_uuid contract;
	uint32_t version;
	const struct baton_rec_handler *first, *second;  /* readers; second: ambiguous */
	const struct baton_rec_schema *schema;           /* the reader's schema of version */
	uint32_t target_version;
	bool target_ok;                                  /* a schema of target_version too */
	int fp_rc;                                       /* of the fingerprint */
	baton_fingerprint fp;
};

#define BIND_KINDS 32

struct bind_memo {
	struct bind_kind k[BIND_KINDS];
	unsigned int n, next;   /* entries in use; the one to replace when full */
};

static const struct bind_kind *bind_kind(struct bind_memo *m, const struct baton_catalog *reader,
					 const baton_uuid *contract, uint32_t version)
{
	const struct baton_rec_handler *h;
	struct bind_kind *k;
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (m->k[i].version == version && baton_uuid_cmp(&m->k[i].contract, contract) == 0)
			return &m->k[i];
	if (m->n < BIND_KINDS) {
		k = &m->k[m->n++];
	} else {
		k = &m->k[m->next];
		m->next = (m->next + 1) % BIND_KINDS;
	}
	memset(k, 0, sizeof(*k));
	k->contract = *contract;
	k->version = version;
	baton_catalog_for_each_handler(reader, h) {
		if (!baton_handler_reads_version(h, contract, version))
			continue;
		if (!k->first)
			k->first = h;
		else if (!k->second)
			k->second = h;
	}
	if (!k->first || k->second)
		return k;
	k->target_version = baton_handler_max_read(k->first, contract);
	k->schema = baton_catalog_find_schema(reader, contract, version);
	if (k->schema)
		k->fp_rc = baton_catalog_fingerprint(reader, k->schema, &k->fp, NULL);
	k->target_ok = k->target_version == version ||
		       baton_catalog_find_schema(reader, contract, k->target_version) != NULL;
	return k;
}

static int bind_object(struct scope *sc, const struct baton_catalog *reader,
		       const struct baton_image *img, const struct baton_image_object *obj,
		       struct bind_memo *memo, struct baton_binding *b)
{
	const struct bind_kind *k = bind_kind(memo, reader, &obj->contract, obj->version);
	const struct baton_rec_handler *first = k->first, *second = k->second;
	struct baton_finding f;
	struct baton_diag d;
	size_t pos = 0;
	int rc;

	if (!first) {
		if (obj->flags & BATON_OBJECT_OPTIONAL) {
			b->dropped = true;
			return 0;
		}
		object_finding(sc, &f, BATON_RULE_UNBOUND, reader, obj);
		msg_object(&f, &pos);
		msg_unbound_tail(&f, &pos, reader);
		emit(sc, &f);
		return 0;
	}
	if (second) {
		object_finding(sc, &f, BATON_RULE_AMBIGUOUS, reader, obj);
		copy_name(f.reader_handler, first->name);
		copy_name(f.other_handler, second->name);
		f.side = "new";
		msg_object(&f, &pos);
		MSG(&f, &pos, ", is read by two handlers of ");
		msg_reader(&f, &pos);
		MSG(&f, &pos, ", %s and %s; exactly one handler may read each version: remove "
		    "version %u from the reads of one of them", first->name, second->name,
		    obj->version);
		emit(sc, &f);
		return 0;
	}

	b->handler = first;
	b->target_version = k->target_version;
	b->schema = k->schema;
	if (!b->schema) {
		object_finding(sc, &f, BATON_RULE_SCHEMA, reader, obj);
		copy_name(f.reader_handler, first->name);
		msg_object(&f, &pos);
		MSG(&f, &pos, ", binds to handler %s of ", first->name);
		msg_reader(&f, &pos);
		MSG(&f, &pos, ", which declares no schema for version %u; declare its layout "
		    "with BATON_SCHEMA", obj->version);
		emit(sc, &f);
		return 0;
	}

	if (k->fp_rc < 0)
		return k->fp_rc;
	if (!baton_fingerprint_equal(&k->fp, &obj->fingerprint)) {
		char theirs[BATON_FINGERPRINT_HEXLEN + 1], ours[BATON_FINGERPRINT_HEXLEN + 1];

		baton_fingerprint_format(&obj->fingerprint, theirs);
		baton_fingerprint_format(&k->fp, ours);
		object_finding(sc, &f, BATON_RULE_LAYOUT, reader, obj);
		copy_name(f.reader_handler, first->name);
		msg_object(&f, &pos);
		MSG(&f, &pos, " with layout %s, binds to handler %s of ", theirs, first->name);
		msg_reader(&f, &pos);
		MSG(&f, &pos, ", whose schema of version %u has layout %s; layout changed without "
		    "a version bump: give one of the two layouts a new version", obj->version, ours);
		emit(sc, &f);
		return 0;
	}

	/* an object without fields has no fields node */
	baton_diag_clear(&d);
	if (obj->fields_node < 0)
		rc = b->schema->hdr.count == 0 ? 0 :
		     baton_diag_set(&d, -EBADMSG, "it has no fields and the schema names %u",
				    b->schema->hdr.count);
	else
		/* The reader's catalog checked its schemas' fields when it was opened. */
		rc = baton__image_check_fields(img, obj->fields_node, baton_schema_fields(b->schema),
					       b->schema->hdr.count, reader_schema, (void *)reader,
					       true, &d);
	if (rc < 0) {
		object_finding(sc, &f, BATON_RULE_SCHEMA, reader, obj);
		copy_name(f.reader_handler, first->name);
		msg_object(&f, &pos);
		MSG(&f, &pos, ", does not match its schema in ");
		msg_reader(&f, &pos);
		MSG(&f, &pos, ": %s; the image is damaged or its writer broke the contract",
		    d.msg[0] ? d.msg : "fields do not match");
		emit(sc, &f);
		return 0;
	}

	if (!k->target_ok) {
		object_finding(sc, &f, BATON_RULE_SCHEMA, reader, obj);
		copy_name(f.reader_handler, first->name);
		msg_object(&f, &pos);
		MSG(&f, &pos, ", binds to handler %s of ", first->name);
		msg_reader(&f, &pos);
		MSG(&f, &pos, ", which restores version %u but declares no schema for it; declare "
		    "its layout with BATON_SCHEMA", b->target_version);
		emit(sc, &f);
	}
	return 0;
}

int baton_bind(const struct baton_catalog *reader, const struct baton_image *img,
	       struct baton_binding *out, size_t nout, baton_finding_fn fn, void *ctx)
{
	struct baton_image_object obj = { .node = -1 };
	struct scope sc = { .fn = fn, .ctx = ctx };
	struct bind_memo memo;
	int rc;

	if (!reader || !reader->program || !img || (img->nobjects && !out))
		return -EINVAL;
	if (nout < img->nobjects)
		return -ENOSPC;
	if (img->nobjects)
		memset(out, 0, img->nobjects * sizeof(*out));
	scope_writer(&sc, img->h.program, &img->h.release);
	scope_reader(&sc, reader);

	if (!check_path(&sc, img->h.program, &img->h.release, &img->h.build_id, reader))
		return sc.count;
	memo.n = memo.next = 0;
	while ((rc = baton_image_next_object(img, &obj)) > 0) {
		if (obj.index >= img->nobjects)
			return -EINVAL;
		rc = bind_object(&sc, reader, img, &obj, &memo, &out[obj.index]);
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	return sc.count;
}
