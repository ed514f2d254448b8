/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton history — the support model over time
 *
 * A project keeps the catalog of every release it has shipped. Because a
 * release accepts state only along the narrow forward paths its policy lists
 * (rule 4), those catalogs are enough to answer three questions by machine:
 *
 * - paths: which releases of the history may hand their state to NEW, and
 *   does each of those paths pass baton_check() — the gate a project runs in
 *   CI (`baton check --history`);
 * - retirement (rule 7): which read versions of CURRENT are still written by
 *   a release CURRENT accepts (needed), which are not (removable: the read,
 *   its upgrade step and its code can go), and which versions an accepted
 *   release writes that CURRENT no longer reads (missing: an error);
 * - planning: the shortest chain of releases FROM -> ... -> TO in which
 *   every hop is accepted by its reader's policy and passes baton_check(),
 *   for a machine several releases behind; or the hop that breaks.
 *
 * A history is an array of catalogs of one program in any order. Two builds
 * of one release may both be in it when their build ids are known and
 * differ (a rebuild that shipped); the same release twice with the same or
 * an unknown build id is refused, naming both entries.
 *
 * Core code: results go to callbacks or into memory the caller gives
 * (BATON_HISTORY_WORK_LEN entries of work space); nothing is allocated.
 * Histories are small (tens to hundreds of releases), so the functions
 * compare pairs of releases freely: cost grows with the square of the
 * history and each accepted pair costs one baton_check().
 */
#ifndef BATON_HISTORY_H
#define BATON_HISTORY_H

#include <baton/check.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_HISTORY_MAX 4096   /* releases in one history */

/* uint32_t entries of work space for a history of n releases. */
#define BATON_HISTORY_WORK_LEN(n) (7 * (size_t)(n) + 1)

struct baton_history {
	const struct baton_catalog *const *cats;  /* the releases, in any order */
	const char *const *origins;  /* may be NULL; origins[i] names cats[i] in
					messages (usually its file) */
	size_t n;
};

/*
 * Checks that h is a history of one program: at most BATON_HISTORY_MAX
 * catalogs, every one open, one program name throughout (and the same as
 * subject's when subject is not NULL), and no release twice unless the two
 * build ids are known and differ. Returns 0, -EINVAL, -E2BIG, -EXDEV
 * (another program) or -EEXIST (a release twice), with words in d.
 * Every function below runs it first.
 */
int baton_history_validate(const struct baton_history *h, const struct baton_catalog *subject,
			   struct baton_diag *d);

/*
 * The index of release r in h. build NULL matches any build of r; otherwise
 * the build ids must be equal, or both unknown. Returns the index, -ENOENT,
 * or -EEXIST when build is NULL and h holds several builds of r.
 */
int baton_history_find(const struct baton_history *h, const struct baton_release *r,
		       const struct baton_build_id *build);

/*
 * The order of releases everywhere in this API: by release, then build id
 * (unknown first, then by bytes), then by index. <0, 0, >0 like strcmp.
 */
int baton_history_cmp(const struct baton_history *h, size_t a, size_t b);

/* ------------------------------------------------------------------------ */
/* Paths into a release                                                     */

struct baton_history_path {
	size_t from;                          /* index of the writer in the history */
	const struct baton_catalog *writer;
	const struct baton_catalog *reader;   /* NEW */
	bool accepted;                        /* NEW's policy lists the path */
	struct baton_path_decision decision;  /* NEW's policy on it, with the reason */
	int nfindings;                        /* accepted: baton_check() findings; 0: passes */
};

struct baton_history_ops {
	/* Each finding of the path being checked, before that path's path() call. */
	void (*finding)(void *ctx, const struct baton_history_path *p, const struct baton_finding *f);
	/* Once per release of the history, oldest first, accepted or not. */
	void (*path)(void *ctx, const struct baton_history_path *p);
	void *ctx;
};

/*
 * Every supported path into new_cat: for each release of h (oldest first)
 * decides new_cat's policy on it and, when accepted, runs
 * baton_check(release, new_cat). Either callback may be NULL. Returns the
 * number of accepted paths with findings (0: every supported path passes)
 * or a negative errno with words in d.
 */
int baton_history_paths(const struct baton_history *h, const struct baton_catalog *new_cat,
			const struct baton_history_ops *ops, struct baton_diag *d);

/* ------------------------------------------------------------------------ */
/* Retirement (rule 7)                                                      */

enum baton_retire_status {
	BATON_RETIRE_NEEDED = 1,     /* "needed": an accepted release (or CURRENT itself) writes it */
	BATON_RETIRE_REMOVABLE = 2,  /* "removable": CURRENT reads it, no accepted release writes it */
	BATON_RETIRE_MISSING = 3,    /* "missing": an accepted release writes it, CURRENT does not
					read it (an error: that path loses state) */
	BATON_RETIRE_DROPPED = 4,    /* "dropped": like missing, but every accepted writer marks
					its objects optional, so the path drops them by design */
};

/* "needed", "removable", "missing", "dropped". */
const char *baton_retire_status_name(enum baton_retire_status status);

/* One (contract, version), as baton_history_retire() reports it. */
struct baton_retire_version {
	enum baton_retire_status status;
	baton_uuid contract;
	char contract_name[BATON_NAME_MAX];   /* CURRENT's name for it, else a writer's */
	uint32_t version;
	/* CURRENT's handler that reads it; NULL for missing and dropped. */
	const struct baton_rec_handler *reader;
	/* CURRENT writes this (contract, version) itself: always needed. */
	bool written_by_current;
	/*
	 * Removable, but an older version the same handler still needs is
	 * upgraded through this one (v1 -> v2 -> v3): its upgrade step, or its
	 * place as restore's target, stays until that older version goes too.
	 */
	bool on_upgrade_chain;
	/*
	 * Indexes into the history, oldest first. needed and missing: the
	 * accepted releases that write it. removable: the releases that last
	 * wrote it (the newest writer of each A.B series; none of them is
	 * accepted), empty if no release of the history ever wrote it.
	 * Points into the caller's work space; valid during the callback.
	 */
	const uint32_t *releases;
	size_t nreleases;
	char message[BATON_MESSAGE_MAX];       /* one line, for people */
};

typedef void (*baton_retire_fn)(void *ctx, const struct baton_retire_version *v);

/*
 * For every (contract, version) that current reads or that a release of h
 * accepted by current's policy writes, in order of contract UUID then
 * version, calls fn once. Releases of h identical to current (same release
 * and build) are current itself, not writers it accepts. work holds at
 * least BATON_HISTORY_WORK_LEN(h->n) entries. Returns the number of
 * missing versions (0: nothing an accepted path needs is gone) or a
 * negative errno with words in d.
 */
int baton_history_retire(const struct baton_history *h, const struct baton_catalog *current,
			 uint32_t *work, size_t nwork, baton_retire_fn fn, void *ctx,
			 struct baton_diag *d);

/* ------------------------------------------------------------------------ */
/* Planning                                                                 */

/*
 * A plan from one release of the history to another.
 *
 * Hops go only from an older release to a newer one (a downgrade is never
 * accepted), and a hop u -> v is good when v's policy accepts u and
 * baton_check(u, v) finds nothing. The chain is the one with the fewest
 * hops; among those, each hop from FROM on goes to the newest release that
 * still reaches TO in the fewest hops (newer releases carry more fixes).
 * The answer depends only on the catalogs, not on their order in h.
 *
 * Without a chain, the plan names the hop that breaks the best partial
 * route, among all hops from a release FROM reaches to a release that
 * reaches TO. A hop the policy accepts but baton_check() refuses comes
 * first (fixing its findings gives a chain): the one on the route with the
 * fewest hops in total, then the one furthest from FROM, then the newest
 * reader. Failing that, every such hop is refused by a policy: the break is
 * from the newest release FROM reaches to the oldest newer release that
 * reaches TO, where a release is missing or a policy has to list a path.
 * nearest is the oldest release newer than FROM that reaches TO.
 */
struct baton_plan {
	bool ok;
	/*
	 * ok: the chain, FROM first and TO last. Otherwise the good hops of
	 * the best partial route, FROM to break_from. Indexes into the
	 * history, pointing into the caller's work space.
	 */
	const uint32_t *path;
	size_t npath;
	/* Not ok: the hop that breaks. */
	bool has_break;
	size_t break_from, break_to;
	bool break_accepted;                        /* the policy lists it; the check fails */
	struct baton_path_decision break_decision;  /* break_to's policy on the hop */
	int break_findings;                         /* baton_check() findings of the hop */
	/* Not ok: the oldest release newer than FROM that reaches TO, if not TO itself. */
	bool has_nearest;
	size_t nearest;
	char reason[BATON_MESSAGE_MAX];             /* one line, for people, ok or not */
};

/*
 * Plans from h->cats[from] to h->cats[to]. When there is no chain, the
 * findings of the breaking hop (if the policy accepts it) go to fn, which
 * may be NULL. work holds at least BATON_HISTORY_WORK_LEN(h->n) entries;
 * out->path points into it. Returns 0 when a chain exists, 1 when not, or
 * a negative errno with words in d.
 */
int baton_history_plan(const struct baton_history *h, size_t from, size_t to,
		       uint32_t *work, size_t nwork, struct baton_plan *out,
		       baton_finding_fn fn, void *ctx, struct baton_diag *d);

#ifdef __cplusplus
}
#endif

#endif /* BATON_HISTORY_H */
