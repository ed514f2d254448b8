/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton check and bind — the rules of the protocol, by machine
 *
 * baton_catalog_validate() checks one catalog on its own (rule 2 and the
 * schemas its handlers need). baton_check() compares the catalogs of an old
 * and a new release (rules 1, 2, 4 and 6): what `baton check OLD NEW` and the
 * runtime's pre-flight (rule 8) run. baton_bind() decides, for an image and
 * a reader's catalog, which handler binds every object (rules 1 to 3) and
 * whether the update may proceed at all (rules 4 and 5).
 *
 * Findings are reported through a callback, one per violation, each with a
 * message that names the object, contract, versions, handlers and releases
 * involved, so no allocation is needed. Core code.
 */
#ifndef BATON_CHECK_H
#define BATON_CHECK_H

#include <baton/catalog.h>
#include <baton/image.h>

#ifdef __cplusplus
extern "C" {
#endif

enum baton_rule {
	BATON_RULE_PATH = 1,      /* "path": the new policy does not list the path */
	BATON_RULE_DOWNGRADE,     /* "downgrade": the reader is older than the writer */
	BATON_RULE_UNBOUND,       /* "unbound": no handler reads a (contract, version) */
	BATON_RULE_AMBIGUOUS,     /* "ambiguous": two handlers claim one (contract, version) */
	BATON_RULE_LAYOUT,        /* "layout": fields changed without a version bump */
	BATON_RULE_SCHEMA,        /* "schema": a handler needs a schema the catalog lacks,
				     or an object's fields do not match its schema */
	BATON_RULE_MAX_ = BATON_RULE_SCHEMA,
};

/* "path", "downgrade", ...; the words used in --json output. */
const char *baton_rule_name(enum baton_rule rule);

#define BATON_MESSAGE_MAX 1024

/*
 * One finding. Fields that do not apply to a rule are zero / empty.
 * "writer" is the old release or the image's writer, "reader" the new one.
 */
struct baton_finding {
	enum baton_rule rule;
	char message[BATON_MESSAGE_MAX];      /* one line, for people: "RULE: ..." */
	bool has_contract;
	baton_uuid contract;
	char contract_name[BATON_NAME_MAX];
	uint32_t version;                     /* the version at issue */
	char writer_handler[BATON_NAME_MAX];  /* handler of the writer (old) release */
	char reader_handler[BATON_NAME_MAX];  /* handler of the reader (new) release */
	char other_handler[BATON_NAME_MAX];   /* the second claimant (ambiguous) */
	char key[BATON_KEY_MAX];              /* object key (bind) */
	char writer_program[BATON_NAME_MAX];
	struct baton_release writer_release;
	char reader_program[BATON_NAME_MAX];
	struct baton_release reader_release;
	const char *side;                     /* "old", "new" or NULL: which catalog */
};

typedef void (*baton_finding_fn)(void *ctx, const struct baton_finding *f);

/*
 * Rule 2 and declared schemas within one catalog: each (contract, version)
 * read by at most one handler, each contract written by at most one handler,
 * a schema for everything a handler writes or reads, one short name per
 * contract. side labels the findings ("old", "new" or NULL).
 * Returns the number of findings, or a negative errno.
 */
int baton_catalog_validate(const struct baton_catalog *cat, const char *side,
			   baton_finding_fn fn, void *ctx);

/*
 * Everything that stands between OLD handing its state to NEW: NEW's policy
 * accepts OLD's release and build (rule 4), every (contract, version) OLD
 * writes is read by a handler of NEW unless OLD marks it optional (rules 1
 * and 3), both catalogs are unambiguous (rule 2), and every (contract,
 * version) with a schema in both has the same fingerprint (rule 6).
 * Returns the number of findings (0: the update is allowed) or a negative errno.
 */
int baton_check(const struct baton_catalog *old_cat, const struct baton_catalog *new_cat,
		baton_finding_fn fn, void *ctx);

/* What baton_bind decided for one object of the image. */
struct baton_binding {
	const struct baton_rec_handler *handler;  /* NULL: unbound */
	const struct baton_rec_schema *schema;    /* the reader's schema of the object's version */
	uint32_t target_version;                  /* the version restore sees after upgrade steps */
	bool dropped;                             /* optional and unbound: left behind */
};

/*
 * Binds every object of img to a handler of reader: the path from the
 * image's writer to the reader must be accepted (rule 4); each object binds
 * to the one handler whose read set holds its (contract, version) (rules 1,
 * 3); the reader's schema must have the fingerprint the writer recorded
 * (rule 6) and the object's fields must match it. An unbound object refuses
 * the update unless it is optional (rule 5). out must have img->nobjects
 * entries. Returns the number of findings (0: bind and restore may proceed)
 * or a negative errno.
 */
int baton_bind(const struct baton_catalog *reader, const struct baton_image *img,
	       struct baton_binding *out, size_t nout, baton_finding_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* BATON_CHECK_H */
