/* SPDX-License-Identifier: MIT */
/*
 * DOC: core history — paths, retirement and plans over shipped releases
 *
 * The catalogs of a program's shipped releases, with rule 4 (narrow forward
 * paths) and baton_check(), answer three questions: which paths into a new
 * release exist and pass the checks, which read versions a release still
 * needs (rule 7), and how a machine several releases behind gets to a given
 * release. See include/baton/history.h for the contract of each function.
 *
 * Every hop of the protocol goes from an older release to a newer one, so
 * the releases between FROM and TO, sorted, form a directed acyclic graph:
 * planning is two passes of dynamic programming over that order rather
 * than a search, and needs no queue. All state lives in the caller's work
 * space. Pairs of releases are compared naively (quadratic in the history);
 * histories are short, and the expensive part, baton_check(), only runs on
 * pairs the reader's policy accepts.
 */
#include <errno.h>
#include <string.h>

#include <baton/history.h>

#include "internal.h"

#define NONE UINT32_MAX
#define LIST_SHOWN 6   /* releases named in a message before "and N more" */

static const struct baton_release *release_of(const struct baton_catalog *c)
{
	return &c->program->release;
}

static void release_text(const struct baton_catalog *c, char buf[BATON_RELEASE_STRMAX])
{
	if (baton_release_format(release_of(c), buf, BATON_RELEASE_STRMAX) < 0)
		baton_strlcpy(buf, "?", BATON_RELEASE_STRMAX);
}

static int build_cmp(const struct baton_build_id *a, const struct baton_build_id *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->b, b->b, a->len);
}

/* Two builds that may be one: equal, or at least one of them unknown. */
static bool maybe_same_build(const struct baton_build_id *a, const struct baton_build_id *b)
{
	if (a->len == 0 || b->len == 0)
		return true;
	return build_cmp(a, b) == 0;
}

/* The same release and possibly the same build: one release, not two. */
static bool same_release(const struct baton_catalog *a, const struct baton_catalog *b)
{
	return baton_release_cmp(release_of(a), release_of(b)) == 0 &&
	       maybe_same_build(&a->build_id, &b->build_id);
}

static const char *origin(const struct baton_history *h, size_t i, char *buf, size_t size)
{
	size_t pos = 0;

	if (h->origins && h->origins[i])
		return h->origins[i];
	buf[0] = '\0';
	baton__appendf(buf, size, &pos, "history entry %zu", i);
	return buf;
}

int baton_history_cmp(const struct baton_history *h, size_t a, size_t b)
{
	const struct baton_catalog *ca = h->cats[a], *cb = h->cats[b];
	int c = baton_release_cmp(release_of(ca), release_of(cb));

	if (c)
		return c;
	c = build_cmp(&ca->build_id, &cb->build_id);
	if (c)
		return c < 0 ? -1 : 1;
	return a < b ? -1 : a > b;
}

int baton_history_validate(const struct baton_history *h, const struct baton_catalog *subject,
			   struct baton_diag *d)
{
	char oa[48], ob[48], ra[BATON_RELEASE_STRMAX];
	const char *program;
	size_t i, j;

	if (!h || (h->n && !h->cats))
		return baton_diag_set(d, -EINVAL, "no history given");
	if (h->n > BATON_HISTORY_MAX)
		return baton_diag_set(d, -E2BIG,
				      "a history of %zu releases exceeds the limit of %d; keep the releases that may still hand over",
				      h->n, BATON_HISTORY_MAX);
	if (subject && !subject->program)
		return baton_diag_set(d, -EINVAL, "the release to compare with the history is not an open catalog");
	for (i = 0; i < h->n; i++)
		if (!h->cats[i] || !h->cats[i]->program)
			return baton_diag_set(d, -EINVAL, "%s is not an open catalog",
					      origin(h, i, oa, sizeof(oa)));
	if (h->n == 0)
		return 0;
	program = subject ? subject->program->name : h->cats[0]->program->name;
	for (i = 0; i < h->n; i++) {
		const struct baton_rec_program *p = h->cats[i]->program;

		if (strcmp(p->name, program) == 0)
			continue;
		release_text(h->cats[i], ra);
		return baton_diag_set(d, -EXDEV,
				      "%s is a release of program %s (%s), not of %s: a history holds the releases of one program; move it to that program's history",
				      origin(h, i, oa, sizeof(oa)), p->name, ra, program);
	}
	for (i = 0; i < h->n; i++) {
		for (j = i + 1; j < h->n; j++) {
			const struct baton_catalog *a = h->cats[i], *b = h->cats[j];
			char build[2 * BATON_BUILD_ID_MAX + 1];

			if (!same_release(a, b))
				continue;
			release_text(a, ra);
			baton_build_id_format(&a->build_id, build, sizeof(build));
			return baton_diag_set(d, -EEXIST,
					      "release %s of %s is in the history twice: %s and %s (%s%s); keep one catalog per shipped build, and two builds of one release only with two different known build ids",
					      ra, program, origin(h, i, oa, sizeof(oa)),
					      origin(h, j, ob, sizeof(ob)),
					      a->build_id.len && b->build_id.len ? "both build " :
					      "at least one without a build id, so possibly one build",
					      a->build_id.len && b->build_id.len ? build : "");
		}
	}
	return 0;
}

int baton_history_find(const struct baton_history *h, const struct baton_release *r,
		       const struct baton_build_id *build)
{
	int found = -ENOENT;
	size_t i;

	if (!h || !r || (h->n && !h->cats) || h->n > BATON_HISTORY_MAX)
		return -EINVAL;
	for (i = 0; i < h->n; i++) {
		const struct baton_catalog *c = h->cats[i];

		if (!c || !c->program || baton_release_cmp(release_of(c), r) != 0)
			continue;
		if (build) {
			if (build->len == 0 ? c->build_id.len == 0
					    : baton_build_id_equal(build, &c->build_id))
				return (int)i;
			continue;
		}
		if (found >= 0)
			return -EEXIST;
		found = (int)i;
	}
	return found;
}

/* The reader's policy on a hop from writer; returns the verdict. */
static enum baton_path_verdict decide(const struct baton_catalog *reader,
				      const struct baton_catalog *writer,
				      struct baton_path_decision *out)
{
	struct baton_policy policy = baton_catalog_policy(reader);

	return baton_policy_decide(&policy, release_of(reader), &reader->build_id,
				   release_of(writer), &writer->build_id, out);
}

static void ignore_finding(void *ctx, const struct baton_finding *f)
{
	(void)ctx;
	(void)f;
}

static int check_failed(int rc, const struct baton_catalog *old_cat,
			const struct baton_catalog *new_cat, struct baton_diag *d)
{
	char ra[BATON_RELEASE_STRMAX], rb[BATON_RELEASE_STRMAX];

	release_text(old_cat, ra);
	release_text(new_cat, rb);
	return baton_diag_set(d, rc, "checking %s %s against %s failed (error %d)",
			      old_cat->program->name, ra, rb, rc);
}

/* Insertion sort of indexes by baton_history_cmp; histories are short. */
static void sort_history(const struct baton_history *h, uint32_t *order)
{
	size_t i, j;

	for (i = 0; i < h->n; i++) {
		uint32_t x = (uint32_t)i;

		for (j = i; j > 0 && baton_history_cmp(h, order[j - 1], x) > 0; j--)
			order[j] = order[j - 1];
		order[j] = x;
	}
}

/* ------------------------------------------------------------------------ */
/* Paths into a release                                                     */

struct path_tramp {
	const struct baton_history_ops *ops;
	const struct baton_history_path *path;
};

static void path_finding(void *ctx, const struct baton_finding *f)
{
	struct path_tramp *t = ctx;

	if (t->ops && t->ops->finding)
		t->ops->finding(t->ops->ctx, t->path, f);
}

int baton_history_paths(const struct baton_history *h, const struct baton_catalog *new_cat,
			const struct baton_history_ops *ops, struct baton_diag *d)
{
	size_t k, last = 0;
	int rc, failing = 0;
	bool first = true;

	if (!new_cat)
		return baton_diag_set(d, -EINVAL, "no release to check the history against");
	rc = baton_history_validate(h, new_cat, d);
	if (rc < 0)
		return rc;
	/* Oldest first without work space: each step finds the next in order. */
	for (k = 0; k < h->n; k++) {
		struct baton_history_path p;
		struct path_tramp t = { ops, &p };
		size_t i, next = h->n;

		for (i = 0; i < h->n; i++) {
			if (!first && baton_history_cmp(h, i, last) <= 0)
				continue;
			if (next == h->n || baton_history_cmp(h, i, next) < 0)
				next = i;
		}
		first = false;
		last = next;

		memset(&p, 0, sizeof(p));
		p.from = next;
		p.writer = h->cats[next];
		p.reader = new_cat;
		p.accepted = decide(new_cat, p.writer, &p.decision) == BATON_PATH_ACCEPT;
		if (p.accepted) {
			rc = baton_check(p.writer, new_cat, path_finding, &t);
			if (rc < 0)
				return check_failed(rc, p.writer, new_cat, d);
			p.nfindings = rc;
			failing += rc > 0;
		}
		if (ops && ops->path)
			ops->path(ops->ctx, &p);
	}
	return failing;
}

/* ------------------------------------------------------------------------ */
/* Retirement                                                               */

const char *baton_retire_status_name(enum baton_retire_status status)
{
	switch (status) {
	case BATON_RETIRE_NEEDED:
		return "needed";
	case BATON_RETIRE_REMOVABLE:
		return "removable";
	case BATON_RETIRE_MISSING:
		return "missing";
	case BATON_RETIRE_DROPPED:
		return "dropped";
	}
	return "unknown";
}

struct cv_key {
	baton_uuid contract;
	uint32_t version;
};

static int key_cmp(const struct cv_key *a, const struct cv_key *b)
{
	int c = baton_uuid_cmp(&a->contract, &b->contract);

	if (c)
		return c;
	return a->version < b->version ? -1 : a->version > b->version;
}

/* Keeps in *best the smallest candidate above *after (NULL: no bound). */
static void consider_key(const struct cv_key *cand, const struct cv_key *after,
			 struct cv_key *best, bool *found)
{
	if (after && key_cmp(cand, after) <= 0)
		return;
	if (!*found || key_cmp(cand, best) < 0) {
		*best = *cand;
		*found = true;
	}
}

struct retire_state {
	const struct baton_history *h;
	const struct baton_catalog *current;
	uint32_t *order;     /* the history, oldest first */
	uint32_t *accepted;  /* per index: current's policy accepts it (and it is not current) */
	uint32_t *is_current;
	uint32_t *list;
};

/*
 * The next (contract, version) after *after that current reads or an
 * accepted release writes; false when there is none.
 */
static bool next_key(const struct retire_state *st, const struct cv_key *after, struct cv_key *out)
{
	const struct baton_rec_handler *hd;
	bool found = false;
	size_t i;

	baton_catalog_for_each_handler(st->current, hd) {
		const struct baton_read *r = baton_handler_reads(hd);
		uint32_t a, v;

		for (a = 0; a < hd->hdr.count; a++) {
			struct cv_key k = { baton_rec_uuid(r[a].contract), 0 };

			for (v = 0; v < r[a].nversions; v++) {
				k.version = r[a].versions[v];
				consider_key(&k, after, out, &found);
			}
		}
	}
	for (i = 0; i < st->h->n; i++) {
		if (!st->accepted[i])
			continue;
		baton_catalog_for_each_handler(st->h->cats[i], hd) {
			struct cv_key k;

			if (!(hd->flags & BATON_HANDLER_WRITES))
				continue;
			k.contract = baton_rec_uuid(hd->writes.contract);
			k.version = hd->writes.version;
			consider_key(&k, after, out, &found);
		}
	}
	return found;
}

/* cat's handler that writes key, or NULL. */
static const struct baton_rec_handler *writer_of(const struct baton_catalog *cat,
						 const struct cv_key *key)
{
	const struct baton_rec_handler *hd = baton_catalog_find_writer(cat, &key->contract);

	return hd && hd->writes.version == key->version ? hd : NULL;
}

/*
 * The accepted releases that write key into st->list, oldest first; the
 * count. *all_optional says whether every one of them marks it optional.
 */
static size_t accepted_writers(const struct retire_state *st, const struct cv_key *key,
			       bool *all_optional)
{
	size_t k, n = 0;

	*all_optional = true;
	for (k = 0; k < st->h->n; k++) {
		uint32_t i = st->order[k];
		const struct baton_rec_handler *hd;

		if (!st->accepted[i])
			continue;
		hd = writer_of(st->h->cats[i], key);
		if (!hd)
			continue;
		st->list[n++] = i;
		if (!(hd->flags & BATON_HANDLER_OPTIONAL))
			*all_optional = false;
	}
	return n;
}

/* The newest writer of key in each A.B series (current aside), oldest first. */
static size_t last_writers(const struct retire_state *st, const struct cv_key *key)
{
	size_t k, n = 0;

	for (k = 0; k < st->h->n; k++) {
		uint32_t i = st->order[k];
		const struct baton_release *r;

		if (st->is_current[i] || !writer_of(st->h->cats[i], key))
			continue;
		r = release_of(st->h->cats[i]);
		if (n) {
			const struct baton_release *prev = release_of(st->h->cats[st->list[n - 1]]);

			if (prev->major == r->major && prev->minor == r->minor) {
				st->list[n - 1] = i;  /* same series, newer */
				continue;
			}
		}
		st->list[n++] = i;
	}
	return n;
}

static bool needed(const struct retire_state *st, const struct cv_key *key)
{
	size_t i;

	if (writer_of(st->current, key))
		return true;
	for (i = 0; i < st->h->n; i++)
		if (st->accepted[i] && writer_of(st->h->cats[i], key))
			return true;
	return false;
}

/* The oldest version below key's that reader reads and that is still needed; 0 if none. */
static uint32_t needed_below(const struct retire_state *st, const struct baton_rec_handler *reader,
			     const struct cv_key *key)
{
	const struct baton_read *r = baton_handler_reads(reader);
	uint32_t a, j, oldest = 0;

	for (a = 0; a < reader->hdr.count; a++) {
		struct cv_key k = { baton_rec_uuid(r[a].contract), 0 };

		if (baton_uuid_cmp(&k.contract, &key->contract) != 0)
			continue;
		for (j = 0; j < r[a].nversions; j++) {
			k.version = r[a].versions[j];
			if (k.version < key->version && (!oldest || k.version < oldest) &&
			    needed(st, &k))
				oldest = k.version;
		}
	}
	return oldest;
}

static void append_releases(char *buf, size_t size, size_t *pos, const struct baton_history *h,
			    const uint32_t *list, size_t n)
{
	char r[BATON_RELEASE_STRMAX];
	size_t i;

	for (i = 0; i < n && i < LIST_SHOWN; i++) {
		release_text(h->cats[list[i]], r);
		baton__appendf(buf, size, pos, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", r);
	}
	if (n > LIST_SHOWN)
		baton__appendf(buf, size, pos, " and %zu more", n - LIST_SHOWN);
}

static void retire_message(const struct retire_state *st, struct baton_retire_version *v,
			   uint32_t chain_from)
{
	const struct baton_catalog *cur = st->current;
	const size_t size = sizeof(v->message);
	char cr[BATON_RELEASE_STRMAX], uuid[BATON_UUID_STRLEN + 1];
	const char *name = v->contract_name[0] ? v->contract_name : "contract";
	size_t pos = 0;
	bool one = v->nreleases == 1;

	release_text(cur, cr);
	baton_uuid_format(&v->contract, uuid);
	v->message[0] = '\0';
	baton__appendf(v->message, size, &pos, "%s: ", baton_retire_status_name(v->status));
	switch (v->status) {
	case BATON_RETIRE_NEEDED:
		baton__appendf(v->message, size, &pos,
			       "%s %s reads %s (%s) version %u (handler %s); ",
			       cur->program->name, cr, name, uuid, v->version, v->reader->name);
		if (v->nreleases) {
			baton__appendf(v->message, size, &pos, "written by ");
			append_releases(v->message, size, &pos, st->h, v->releases, v->nreleases);
			baton__appendf(v->message, size, &pos, ", which %s accepts%s", cr,
				       v->written_by_current ? ", and by itself" : "");
		} else {
			baton__appendf(v->message, size, &pos, "%s writes it itself", cr);
		}
		break;
	case BATON_RETIRE_REMOVABLE:
		baton__appendf(v->message, size, &pos,
			       "%s %s reads %s (%s) version %u (handler %s), but no release %s accepts writes it",
			       cur->program->name, cr, name, uuid, v->version, v->reader->name, cr);
		if (v->nreleases) {
			baton__appendf(v->message, size, &pos, " (last written by ");
			append_releases(v->message, size, &pos, st->h, v->releases, v->nreleases);
			baton__appendf(v->message, size, &pos, ")");
		} else {
			baton__appendf(v->message, size, &pos, " (no release in the history wrote it)");
		}
		if (v->on_upgrade_chain)
			baton__appendf(v->message, size, &pos,
				       "; but version %u, still needed, is upgraded through it: keep its step until version %u goes too",
				       chain_from, chain_from);
		else
			baton__appendf(v->message, size, &pos,
				       "; delete it from the handler's reads, with its upgrade step and code");
		break;
	case BATON_RETIRE_MISSING:
	case BATON_RETIRE_DROPPED: {
		const struct cv_key key = { v->contract, v->version };
		const struct baton_rec_handler *w = writer_of(st->h->cats[v->releases[0]], &key);

		append_releases(v->message, size, &pos, st->h, v->releases, v->nreleases);
		baton__appendf(v->message, size, &pos,
			       " write%s %s (%s) version %u (handler %s) and %s %s accepts %s, but no handler of %s reads version %u: ",
			       one ? "s" : "", name, uuid, v->version, w ? w->name : "?",
			       cur->program->name, cr, one ? "it" : "them", cr, v->version);
		if (v->status == BATON_RETIRE_MISSING)
			baton__appendf(v->message, size, &pos,
				       "%s would lose those objects; read version %u again (with its upgrade step) or remove %s from the policy of %s",
				       one ? "that path" : "those paths", v->version,
				       one ? "that path" : "those paths", cr);
		else
			baton__appendf(v->message, size, &pos,
				       "the writers mark those objects optional, so they are dropped on the way");
		break;
	}
	}
}

int baton_history_retire(const struct baton_history *h, const struct baton_catalog *current,
			 uint32_t *work, size_t nwork, baton_retire_fn fn, void *ctx,
			 struct baton_diag *d)
{
	struct retire_state st;
	struct cv_key key, prev;
	bool have_prev = false;
	int rc, missing = 0;
	size_t i;

	if (!current)
		return baton_diag_set(d, -EINVAL, "no release to retire versions of");
	rc = baton_history_validate(h, current, d);
	if (rc < 0)
		return rc;
	if (!work || nwork < BATON_HISTORY_WORK_LEN(h->n))
		return baton_diag_set(d, -ENOSPC,
				      "work space of %zu entries is too small for a history of %zu releases (needs %zu)",
				      nwork, h->n, BATON_HISTORY_WORK_LEN(h->n));
	st.h = h;
	st.current = current;
	st.order = work;
	st.accepted = work + h->n;
	st.is_current = work + 2 * h->n;
	st.list = work + 3 * h->n;
	sort_history(h, st.order);
	for (i = 0; i < h->n; i++) {
		struct baton_path_decision dec;

		st.is_current[i] = same_release(h->cats[i], current);
		st.accepted[i] = !st.is_current[i] &&
				 decide(current, h->cats[i], &dec) == BATON_PATH_ACCEPT;
	}

	while (next_key(&st, have_prev ? &prev : NULL, &key)) {
		struct baton_retire_version v;
		const char *name;
		uint32_t chain_from = 0;
		bool all_optional;

		prev = key;
		have_prev = true;
		memset(&v, 0, sizeof(v));
		v.contract = key.contract;
		v.version = key.version;
		v.reader = baton_catalog_find_reader(current, &key.contract, key.version);
		v.written_by_current = writer_of(current, &key) != NULL;
		v.releases = st.list;
		v.nreleases = accepted_writers(&st, &key, &all_optional);

		name = baton_catalog_contract_name(current, &key.contract);
		for (i = 0; !name && i < v.nreleases; i++)
			name = baton_catalog_contract_name(h->cats[st.list[i]], &key.contract);
		if (name)
			baton_strlcpy(v.contract_name, name, sizeof(v.contract_name));

		if (!v.reader) {
			v.status = all_optional ? BATON_RETIRE_DROPPED : BATON_RETIRE_MISSING;
			missing += v.status == BATON_RETIRE_MISSING;
		} else if (v.nreleases || v.written_by_current) {
			v.status = BATON_RETIRE_NEEDED;
		} else {
			v.status = BATON_RETIRE_REMOVABLE;
			v.nreleases = last_writers(&st, &key);
			chain_from = needed_below(&st, v.reader, &key);
			v.on_upgrade_chain = chain_from != 0;
		}
		retire_message(&st, &v, chain_from);
		if (fn)
			fn(ctx, &v);
	}
	return missing;
}

/* ------------------------------------------------------------------------ */
/* Planning                                                                 */

/*
 * One hop u -> v. Returns 1 when it is good, 0 when the policy refuses it
 * or baton_check() finds something (dec and *nfindings say which), or a
 * negative errno.
 */
static int hop(const struct baton_history *h, uint32_t u, uint32_t v,
	       struct baton_path_decision *dec, int *nfindings,
	       baton_finding_fn fn, void *ctx, struct baton_diag *d)
{
	int rc;

	*nfindings = 0;
	if (decide(h->cats[v], h->cats[u], dec) != BATON_PATH_ACCEPT)
		return 0;
	rc = baton_check(h->cats[u], h->cats[v], fn ? fn : ignore_finding, ctx);
	if (rc < 0)
		return check_failed(rc, h->cats[u], h->cats[v], d);
	*nfindings = rc;
	return rc == 0;
}

struct plan_state {
	const struct baton_history *h;
	uint32_t *order, *rank, *dist_to, *next, *dist_from, *prev, *path;
	uint32_t lo, hi;  /* ranks of FROM and TO */
};

/*
 * Hops to TO, newest releases first so that each release's best next hop
 * is the newest among those that reach TO in the fewest hops.
 */
static int plan_backward(struct plan_state *s, struct baton_diag *d)
{
	struct baton_path_decision dec;
	uint32_t k, k2;
	int rc, nf;

	s->dist_to[s->order[s->hi]] = 0;
	for (k = s->hi; k-- > s->lo;) {
		uint32_t u = s->order[k], best = NONE;

		for (k2 = s->hi; k2 > k; k2--) {
			uint32_t v = s->order[k2];

			if (s->dist_to[v] == NONE || (best != NONE && s->dist_to[v] + 1 >= best))
				continue;
			rc = hop(s->h, u, v, &dec, &nf, NULL, NULL, d);
			if (rc < 0)
				return rc;
			if (rc == 1) {
				best = s->dist_to[v] + 1;
				s->next[u] = v;
			}
		}
		s->dist_to[u] = best;
	}
	return 0;
}

/*
 * Hops from FROM to every release it reaches; the releases that reach TO
 * are left out (FROM reaching one of them would be a chain).
 */
static int plan_forward(struct plan_state *s, struct baton_diag *d)
{
	struct baton_path_decision dec;
	uint32_t k, k2;
	int rc, nf;

	s->dist_from[s->order[s->lo]] = 0;
	for (k = s->lo + 1; k <= s->hi; k++) {
		uint32_t v = s->order[k], best = NONE;

		if (s->dist_to[v] != NONE)
			continue;
		for (k2 = k; k2-- > s->lo;) {
			uint32_t u = s->order[k2];

			if (s->dist_from[u] == NONE || (best != NONE && s->dist_from[u] + 1 >= best))
				continue;
			rc = hop(s->h, u, v, &dec, &nf, NULL, NULL, d);
			if (rc < 0)
				return rc;
			if (rc == 1) {
				best = s->dist_from[u] + 1;
				s->prev[v] = u;
			}
		}
		s->dist_from[v] = best;
	}
	return 0;
}

struct plan_break {
	bool found, accepted;
	uint32_t cost, u, v;
	int nfindings;
	struct baton_path_decision dec;
};

static bool break_better(const struct plan_state *s, bool accepted, uint32_t cost, uint32_t u,
			 uint32_t v, const struct plan_break *b)
{
	if (!b->found)
		return true;
	if (accepted != b->accepted)
		return accepted;
	if (accepted && cost != b->cost)
		return cost < b->cost;
	if (s->rank[u] != s->rank[b->u])
		return s->rank[u] > s->rank[b->u];
	/* a listed hop: the newest reader; an unlisted one: the gap nearest u */
	return accepted ? s->rank[v] > s->rank[b->v] : s->rank[v] < s->rank[b->v];
}

/* The hop that breaks the best partial route; see history.h. */
static int plan_break(struct plan_state *s, struct plan_break *b, struct baton_diag *d)
{
	struct baton_path_decision dec;
	uint32_t k, k2;
	int rc, nf;

	memset(b, 0, sizeof(*b));
	for (k = s->lo; k < s->hi; k++) {
		uint32_t u = s->order[k];

		if (s->dist_from[u] == NONE)
			continue;
		for (k2 = k + 1; k2 <= s->hi; k2++) {
			uint32_t v = s->order[k2], cost;
			bool accepted;

			if (s->dist_to[v] == NONE)
				continue;
			rc = hop(s->h, u, v, &dec, &nf, NULL, NULL, d);
			if (rc < 0)
				return rc;
			accepted = dec.verdict == BATON_PATH_ACCEPT;
			cost = s->dist_from[u] + 1 + s->dist_to[v];
			if (!break_better(s, accepted, cost, u, v, b))
				continue;
			b->found = true;
			b->accepted = accepted;
			b->cost = cost;
			b->u = u;
			b->v = v;
			b->nfindings = nf;
			b->dec = dec;
		}
	}
	return 0;
}

static void append_chain(char *buf, size_t size, size_t *pos, const struct baton_history *h,
			 const uint32_t *path, size_t n)
{
	char r[BATON_RELEASE_STRMAX];
	size_t i;

	for (i = 0; i < n; i++) {
		release_text(h->cats[path[i]], r);
		baton__appendf(buf, size, pos, "%s%s", i ? " -> " : "", r);
	}
}

int baton_history_plan(const struct baton_history *h, size_t from, size_t to,
		       uint32_t *work, size_t nwork, struct baton_plan *out,
		       baton_finding_fn fn, void *ctx, struct baton_diag *d)
{
	char rf[BATON_RELEASE_STRMAX], rt[BATON_RELEASE_STRMAX], ru[BATON_RELEASE_STRMAX];
	char rv[BATON_RELEASE_STRMAX];
	const size_t size = sizeof(out->reason);
	struct plan_state s;
	struct plan_break b;
	size_t pos = 0, i, n;
	uint32_t k, x;
	int rc;

	if (!out)
		return baton_diag_set(d, -EINVAL, "no plan to fill in");
	memset(out, 0, sizeof(*out));
	rc = baton_history_validate(h, NULL, d);
	if (rc < 0)
		return rc;
	n = h->n;
	if (from >= n || to >= n)
		return baton_diag_set(d, -EINVAL, "plan from entry %zu to entry %zu of a history of %zu releases",
				      from, to, n);
	if (!work || nwork < BATON_HISTORY_WORK_LEN(n))
		return baton_diag_set(d, -ENOSPC,
				      "work space of %zu entries is too small for a history of %zu releases (needs %zu)",
				      nwork, n, BATON_HISTORY_WORK_LEN(n));
	s.h = h;
	s.order = work;
	s.rank = work + n;
	s.dist_to = work + 2 * n;
	s.next = work + 3 * n;
	s.dist_from = work + 4 * n;
	s.prev = work + 5 * n;
	s.path = work + 6 * n;
	sort_history(h, s.order);
	for (k = 0; k < n; k++) {
		s.rank[s.order[k]] = k;
		s.dist_to[k] = s.dist_from[k] = s.next[k] = s.prev[k] = NONE;
	}
	s.lo = s.rank[from];
	s.hi = s.rank[to];
	out->path = s.path;
	release_text(h->cats[from], rf);
	release_text(h->cats[to], rt);

	if (from == to) {
		out->ok = true;
		s.path[0] = (uint32_t)from;
		out->npath = 1;
		baton__appendf(out->reason, size, &pos, "%s is already %s: nothing to do", rf, rt);
		return 0;
	}
	if (s.lo > s.hi) {
		out->has_break = true;
		out->break_from = from;
		out->break_to = to;
		decide(h->cats[to], h->cats[from], &out->break_decision);
		s.path[0] = (uint32_t)from;
		out->npath = 1;
		baton__appendf(out->reason, size, &pos, "no supported path from %s to %s: %s", rf, rt,
			       out->break_decision.reason);
		return 1;
	}

	rc = plan_backward(&s, d);
	if (rc < 0)
		return rc;
	if (s.dist_to[from] != NONE) {
		out->ok = true;
		for (x = (uint32_t)from; x != NONE; x = s.next[x])
			s.path[out->npath++] = x;
		append_chain(out->reason, size, &pos, h, s.path, out->npath);
		baton__appendf(out->reason, size, &pos,
			       ": %zu hop%s, each accepted by its reader's policy and passing baton check",
			       out->npath - 1, out->npath == 2 ? "" : "s");
		return 0;
	}

	rc = plan_forward(&s, d);
	if (rc < 0)
		return rc;
	rc = plan_break(&s, &b, d);
	if (rc < 0)
		return rc;
	/* (FROM, TO) is always a candidate, so a break is always found. */
	out->has_break = b.found;
	out->break_from = b.u;
	out->break_to = b.v;
	out->break_accepted = b.accepted;
	out->break_decision = b.dec;
	out->break_findings = b.nfindings;
	out->npath = s.dist_from[b.u] + 1;
	for (i = out->npath, x = b.u; i-- > 0; x = s.prev[x])
		s.path[i] = x;

	for (k = s.lo + 1; k <= s.hi; k++) {
		if (s.dist_to[s.order[k]] != NONE) {
			out->nearest = s.order[k];
			out->has_nearest = out->nearest != to;
			break;
		}
	}

	release_text(h->cats[b.u], ru);
	release_text(h->cats[b.v], rv);
	baton__appendf(out->reason, size, &pos, "no supported path from %s to %s: ", rf, rt);
	if (b.accepted)
		baton__appendf(out->reason, size, &pos,
			       "the best route breaks at %s -> %s, which the policy of %s accepts but baton check refuses (%d finding%s)",
			       ru, rv, rv, b.nfindings, b.nfindings == 1 ? "" : "s");
	else
		baton__appendf(out->reason, size, &pos, "the best route breaks at %s -> %s: %s", ru, rv,
			       b.dec.reason);
	if (out->has_nearest) {
		release_text(h->cats[out->nearest], ru);
		baton__appendf(out->reason, size, &pos, "; the nearest release that reaches %s is %s",
			       rt, ru);
	} else {
		baton__appendf(out->reason, size, &pos,
			       "; no release between %s and %s reaches %s", rf, rt, rt);
	}

	if (b.accepted && fn) {
		rc = baton_check(h->cats[b.u], h->cats[b.v], fn, ctx);
		if (rc < 0)
			return check_failed(rc, h->cats[b.u], h->cats[b.v], d);
	}
	return 1;
}
