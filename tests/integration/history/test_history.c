/* SPDX-License-Identifier: MIT */
/*
 * DOC: history engine unit tests — paths, retirement and plans
 *
 * Synthetic histories built with the core builder (histories.h): long
 * chains, gaps, stable branches, hops across majors, releases with no path,
 * duplicates, and versions dropped too early or kept too long. Every test
 * asserts what a project would read in `baton check --history`, `baton
 * retire` and `baton plan`, including that the answers do not depend on the
 * order the releases come in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "histories.h"

#define MAX_RELS 64

struct hist {
	struct rel *rels;
	size_t n;
	const struct baton_catalog *cats[MAX_RELS];
	const char *origins[MAX_RELS];
	struct baton_history h;
	uint32_t work[BATON_HISTORY_WORK_LEN(MAX_RELS)];
	struct baton_diag d;
};

static struct hist *hist_new(void)
{
	struct hist *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->rels = calloc(MAX_RELS, sizeof(struct rel));
	assert_non_null(x->rels);
	x->h.cats = x->cats;
	x->h.origins = x->origins;
	return x;
}

static void hist_free(struct hist *x)
{
	free(x->rels);
	free(x);
}

/* Adds a release to the history; returns its index. */
static size_t add_build(struct hist *x, const char *release, const char *policy, const char *spec,
			uint8_t tag)
{
	size_t i = x->n++;

	assert_true(i < MAX_RELS);
	assert_int_equal(rel_make_build(&x->rels[i], release, policy, spec, tag), 0);
	x->cats[i] = &x->rels[i].cat;
	x->origins[i] = x->rels[i].name;
	x->h.n = x->n;
	return i;
}

static size_t add(struct hist *x, const char *release, const char *policy, const char *spec)
{
	return add_build(x, release, policy, spec, 0);
}

/* A release outside the history (NEW, CURRENT). */
static struct rel *standalone(const char *release, const char *policy, const char *spec)
{
	struct rel *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(rel_make_build(r, release, policy, spec, 0), 0);
	return r;
}

/* Reverses the order of the history's entries (same releases, other order). */
static void hist_reverse(struct hist *x)
{
	size_t i;

	for (i = 0; i < x->n / 2; i++) {
		const struct baton_catalog *c = x->cats[i];
		const char *o = x->origins[i];

		x->cats[i] = x->cats[x->n - 1 - i];
		x->origins[i] = x->origins[x->n - 1 - i];
		x->cats[x->n - 1 - i] = c;
		x->origins[x->n - 1 - i] = o;
	}
}

/* A fixed shuffle: every third entry first, then the rest. */
static void hist_shuffle(struct hist *x)
{
	const struct baton_catalog *c[MAX_RELS];
	const char *o[MAX_RELS];
	size_t i, k = 0, pass;

	for (pass = 0; pass < 3; pass++)
		for (i = (pass * 2) % 3; i < x->n; i += 3) {
			c[k] = x->cats[i];
			o[k++] = x->origins[i];
		}
	assert_int_equal(k, x->n);
	memcpy(x->cats, c, sizeof(c[0]) * k);
	memcpy(x->origins, o, sizeof(o[0]) * k);
}

static const char *rel_of(const struct hist *x, size_t i)
{
	static char buf[4][BATON_RELEASE_STRMAX];
	static int turn;
	char *b = buf[turn++ % 4];

	baton_release_format(&x->cats[i]->program->release, b, BATON_RELEASE_STRMAX);
	return b;
}

static size_t idx(const struct hist *x, const char *release)
{
	struct baton_release r;
	int i;

	assert_int_equal(baton_release_parse(&r, release, strlen(release), NULL), 0);
	i = baton_history_find(&x->h, &r, NULL);
	assert_true(i >= 0);
	return (size_t)i;
}

/* ------------------------------------------------------------------------ */
/* Recording callbacks                                                      */

struct path_log {
	int npaths, naccepted, nfindings;
	char from[MAX_RELS][BATON_RELEASE_STRMAX];
	bool accepted[MAX_RELS];
	int findings[MAX_RELS];
	enum baton_rule first_rule[MAX_RELS];
	int findings_before_path;  /* findings seen since the last path() */
};

static void log_finding(void *ctx, const struct baton_history_path *p, const struct baton_finding *f)
{
	struct path_log *l = ctx;

	assert_true(p->accepted);
	if (l->findings_before_path == 0 && l->npaths < MAX_RELS)
		l->first_rule[l->npaths] = f->rule;
	l->findings_before_path++;
	l->nfindings++;
}

static void log_path(void *ctx, const struct baton_history_path *p)
{
	struct path_log *l = ctx;

	assert_true(l->npaths < MAX_RELS);
	baton_release_format(&p->writer->program->release, l->from[l->npaths], BATON_RELEASE_STRMAX);
	l->accepted[l->npaths] = p->accepted;
	l->findings[l->npaths] = p->nfindings;
	assert_int_equal(p->nfindings, l->findings_before_path);
	assert_int_equal(p->accepted, p->decision.verdict == BATON_PATH_ACCEPT);
	l->findings_before_path = 0;
	l->naccepted += p->accepted;
	l->npaths++;
}

static int run_paths(struct hist *x, const struct rel *new_rel, struct path_log *l)
{
	struct baton_history_ops ops = { log_finding, log_path, l };

	memset(l, 0, sizeof(*l));
	return baton_history_paths(&x->h, &new_rel->cat, &ops, &x->d);
}

struct retire_log {
	int n;
	struct {
		enum baton_retire_status status;
		char contract_name[BATON_NAME_MAX];
		uint32_t version;
		bool chain, self;
		char releases[128];
		char message[BATON_MESSAGE_MAX];
	} v[32];
	const struct hist *x;
};

static void log_retire(void *ctx, const struct baton_retire_version *v)
{
	struct retire_log *l = ctx;
	size_t i, pos = 0;

	assert_true(l->n < 32);
	l->v[l->n].status = v->status;
	strcpy(l->v[l->n].contract_name, v->contract_name);
	l->v[l->n].version = v->version;
	l->v[l->n].chain = v->on_upgrade_chain;
	l->v[l->n].self = v->written_by_current;
	l->v[l->n].releases[0] = '\0';
	for (i = 0; i < v->nreleases; i++)
		pos += (size_t)snprintf(l->v[l->n].releases + pos, sizeof(l->v[0].releases) - pos,
					"%s%s", i ? " " : "", rel_of(l->x, v->releases[i]));
	strcpy(l->v[l->n].message, v->message);
	l->n++;
}

static int run_retire(struct hist *x, const struct rel *cur, struct retire_log *l)
{
	memset(l, 0, sizeof(*l));
	l->x = x;
	return baton_history_retire(&x->h, &cur->cat, x->work, sizeof(x->work) / sizeof(x->work[0]),
				    log_retire, l, &x->d);
}

/* The logged entry for (contract, version), or fail. */
static int retired(const struct retire_log *l, const char *contract, uint32_t version)
{
	char name[BATON_NAME_MAX];
	int i;

	snprintf(name, sizeof(name), "svc.%s", contract);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].contract_name, name) == 0 && l->v[i].version == version)
			return i;
	fail_msg("no retire entry for %s version %u", contract, version);
	return -1;
}

static void collect_finding(void *ctx, const struct baton_finding *f)
{
	int *n = ctx;

	assert_true(f->rule >= BATON_RULE_PATH && f->rule <= BATON_RULE_MAX_);
	(*n)++;
}

struct plan_result {
	int rc;
	struct baton_plan plan;
	char path[512];
	int findings;
};

static void run_plan(struct hist *x, const char *from, const char *to, struct plan_result *r)
{
	size_t i, pos = 0;

	memset(r, 0, sizeof(*r));
	r->rc = baton_history_plan(&x->h, idx(x, from), idx(x, to), x->work,
				   sizeof(x->work) / sizeof(x->work[0]), &r->plan, collect_finding,
				   &r->findings, &x->d);
	assert_true(r->rc >= 0);
	for (i = 0; i < r->plan.npath; i++)
		pos += (size_t)snprintf(r->path + pos, sizeof(r->path) - pos, "%s%s", i ? " " : "",
					rel_of(x, r->plan.path[i]));
}

/* 1.0.0 ... 1.(n-1).0, each accepting the previous minor; all write cache v1. */
static void long_chain(struct hist *x, int n)
{
	char r[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(r, sizeof(r), "1.%d.0", i);
		add(x, r, "patch,next-minor", "cache=1/1");
	}
}

/* ------------------------------------------------------------------------ */
/* Validation and lookup                                                    */

static void test_duplicate_release_is_refused(void **state)
{
	struct hist *x = hist_new();

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add(x, "1.1.0", "next-minor", "cache=1/1");
	add(x, "1.0.0", "patch", "cache=1/1");
	assert_int_equal(baton_history_validate(&x->h, NULL, &x->d), -EEXIST);
	/* names both entries, says which release and what to do */
	assert_non_null(strstr(x->d.msg, "release 1.0.0 of svc"));
	assert_non_null(strstr(x->d.msg, "1.0.0.json and 1.0.0.json (both build 010000b1)"));
	assert_non_null(strstr(x->d.msg, "keep one catalog per shipped build"));
	hist_free(x);
}

static void test_unknown_build_is_a_duplicate(void **state)
{
	struct hist *x = hist_new();

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add_build(x, "1.0.0", "patch", "cache=1/1", 0x22);
	assert_int_equal(baton_history_validate(&x->h, NULL, &x->d), 0);
	/* one build unknown: it may be the same build, so it is refused */
	x->rels[1].cat.build_id.len = 0;
	assert_int_equal(baton_history_validate(&x->h, NULL, &x->d), -EEXIST);
	assert_non_null(strstr(x->d.msg, "without a build id"));
	hist_free(x);
}

static void test_two_builds_of_one_release(void **state)
{
	struct hist *x = hist_new();
	struct baton_release r = { 1, 0, 0 };
	struct rel *new_rel = standalone("1.0.1", "patch", "cache=1/1");
	struct path_log l;

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add_build(x, "1.0.0", "patch", "cache=1/1", 0x22);
	assert_int_equal(baton_history_find(&x->h, &r, NULL), -EEXIST);
	assert_int_equal(baton_history_find(&x->h, &r, &x->rels[1].build), 1);
	assert_int_equal(baton_history_find(&x->h, &r, &x->rels[0].build), 0);
	/* both builds are writers 1.0.1 accepts: two paths */
	assert_int_equal(run_paths(x, new_rel, &l), 0);
	assert_int_equal(l.naccepted, 2);
	free(new_rel);
	hist_free(x);
}

static void test_other_program_is_refused(void **state)
{
	struct hist *x = hist_new();

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add(x, "1.1.0", "next-minor", "cache=1/1");
	strcpy((char *)x->rels[1].cat.program->name, "other");
	assert_int_equal(baton_history_validate(&x->h, NULL, &x->d), -EXDEV);
	assert_non_null(strstr(x->d.msg, "1.1.0.json is a release of program other"));
	hist_free(x);
}

static void test_find(void **state)
{
	struct hist *x = hist_new();
	struct baton_release r = { 1, 1, 0 }, missing = { 9, 9, 9 };
	struct baton_build_id other = { .len = 1, .b = { 7 } };

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add(x, "1.1.0", "next-minor", "cache=1/1");
	assert_int_equal(baton_history_find(&x->h, &r, NULL), 1);
	assert_int_equal(baton_history_find(&x->h, &r, &x->rels[1].build), 1);
	assert_int_equal(baton_history_find(&x->h, &r, &other), -ENOENT);
	assert_int_equal(baton_history_find(&x->h, &missing, NULL), -ENOENT);
	hist_free(x);
}

/* ------------------------------------------------------------------------ */
/* Paths into NEW                                                           */

static void test_paths_long_chain(void **state)
{
	struct hist *x = hist_new();
	struct rel *new_rel = standalone("1.20.0", "patch,next-minor", "cache=1/1");
	struct path_log l;
	int i;

	(void)state;
	long_chain(x, 20);  /* 1.0.0 ... 1.19.0 */
	hist_shuffle(x);
	assert_int_equal(run_paths(x, new_rel, &l), 0);
	/* every release is reported, oldest first, whatever the input order */
	assert_int_equal(l.npaths, 20);
	for (i = 0; i < 20; i++) {
		char want[16];

		snprintf(want, sizeof(want), "1.%d.0", i);
		assert_string_equal(l.from[i], want);
		assert_int_equal(l.accepted[i], i == 19);
	}
	assert_int_equal(l.naccepted, 1);
	free(new_rel);
	hist_free(x);
}

static void test_paths_stable_branches(void **state)
{
	struct hist *x = hist_new();
	struct rel *new_rel = standalone("1.3.2", "patch,next-minor", "cache=2/1,2");
	struct path_log l;

	(void)state;
	add(x, "1.1.0", "patch,next-minor", "cache=1/1");
	add(x, "1.2.0", "patch,next-minor", "cache=1/1");
	add(x, "1.2.1", "patch,next-minor", "cache=1/1");
	add(x, "1.2.2", "patch,next-minor", "cache=1/1");
	add(x, "1.3.0", "patch,next-minor", "cache=2/1,2");
	add(x, "1.3.1", "patch,next-minor", "cache=2/1,2");
	add(x, "1.4.0", "patch,next-minor", "cache=2/2");  /* newer than NEW: a downgrade */
	hist_reverse(x);
	assert_int_equal(run_paths(x, new_rel, &l), 0);
	assert_int_equal(l.npaths, 7);
	assert_int_equal(l.naccepted, 5);  /* 1.2.0, 1.2.1, 1.2.2, 1.3.0, 1.3.1 */
	assert_false(l.accepted[0]);       /* 1.1.0: two minors back */
	assert_false(l.accepted[6]);       /* 1.4.0: downgrade */
	assert_string_equal(l.from[6], "1.4.0");
	free(new_rel);
	hist_free(x);
}

static void test_paths_report_findings_per_path(void **state)
{
	struct hist *x = hist_new();
	/* 1.2.0 reads only v2 of cache: 1.1.x writing v1 breaks */
	struct rel *new_rel = standalone("1.2.0", "patch,next-minor", "cache=2/2");
	struct path_log l;

	(void)state;
	add(x, "1.1.0", "patch,next-minor", "cache=1/1");
	add(x, "1.1.1", "patch,next-minor", "cache=2/1,2");
	add(x, "1.2.0", "patch,next-minor", "cache=2/2");  /* NEW itself: no same-build */
	assert_int_equal(run_paths(x, new_rel, &l), 1);
	assert_int_equal(l.naccepted, 2);
	assert_string_equal(l.from[0], "1.1.0");
	assert_true(l.findings[0] >= 1);
	assert_int_equal(l.first_rule[0], BATON_RULE_UNBOUND);
	assert_string_equal(l.from[1], "1.1.1");
	assert_int_equal(l.findings[1], 0);
	/* the same release is accepted only as the identical build */
	assert_false(l.accepted[2]);
	free(new_rel);
	hist_free(x);
}

static void test_paths_across_majors_with_from(void **state)
{
	struct hist *x = hist_new();
	struct rel *new_rel = standalone("2.0.0", "patch,next-minor,from 1.19", "cache=2/1,2");
	struct rel *nopath = standalone("2.0.0", "patch,next-minor", "cache=2/2");
	struct path_log l;

	(void)state;
	long_chain(x, 20);
	assert_int_equal(run_paths(x, new_rel, &l), 0);
	assert_int_equal(l.naccepted, 1);
	assert_true(l.accepted[19]);
	/* a new major without a from rule: no supported path at all, nothing fails */
	assert_int_equal(run_paths(x, nopath, &l), 0);
	assert_int_equal(l.naccepted, 0);
	assert_int_equal(l.npaths, 20);
	free(new_rel);
	free(nopath);
	hist_free(x);
}

static void test_paths_empty_history(void **state)
{
	struct hist *x = hist_new();
	struct rel *new_rel = standalone("1.0.0", "patch", "cache=1/1");
	struct path_log l;

	(void)state;
	assert_int_equal(run_paths(x, new_rel, &l), 0);
	assert_int_equal(l.npaths, 0);
	free(new_rel);
	hist_free(x);
}

/* ------------------------------------------------------------------------ */
/* Retirement                                                               */

static void test_retire_version_dropped_too_early(void **state)
{
	struct hist *x = hist_new();
	/* 1.1.0 accepts 1.0.x, which writes cache v1, but reads only v2 */
	struct rel *cur = standalone("1.1.0", "patch,next-minor", "cache=2/2");
	struct retire_log l;
	int i;

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add(x, "1.0.1", "patch", "cache=1/1");
	assert_int_equal(run_retire(x, cur, &l), 1);
	assert_int_equal(l.n, 2);
	i = retired(&l, "cache", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_MISSING);
	assert_string_equal(l.v[i].releases, "1.0.0 1.0.1");
	assert_non_null(strstr(l.v[i].message, "1.0.0 and 1.0.1 write svc.cache"));
	assert_non_null(strstr(l.v[i].message, "no handler of 1.1.0 reads version 1"));
	i = retired(&l, "cache", 2);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	assert_true(l.v[i].self);
	assert_string_equal(l.v[i].releases, "");
	free(cur);
	hist_free(x);
}

static void test_retire_removable_once_out_of_policy(void **state)
{
	struct hist *x = hist_new();
	struct rel *keeps = standalone("1.1.0", "patch,next-minor", "cache=2/1,2");
	struct rel *narrow = standalone("1.1.0", "patch", "cache=2/1,2");
	struct retire_log l;
	int i;

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add(x, "1.0.1", "patch", "cache=1/1");
	add(x, "1.0.2", "patch", "cache=1/1");
	hist_reverse(x);
	/* 1.0.x is accepted: version 1 is needed, by every 1.0.x */
	assert_int_equal(run_retire(x, keeps, &l), 0);
	i = retired(&l, "cache", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	assert_string_equal(l.v[i].releases, "1.0.0 1.0.1 1.0.2");
	/* 1.0.x falls out of the policy: the same version is removable */
	assert_int_equal(run_retire(x, narrow, &l), 0);
	i = retired(&l, "cache", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_REMOVABLE);
	assert_string_equal(l.v[i].releases, "1.0.2");  /* the last writer of the series */
	assert_false(l.v[i].chain);
	assert_non_null(strstr(l.v[i].message, "removable"));
	assert_non_null(strstr(l.v[i].message, "last written by 1.0.2"));
	free(keeps);
	free(narrow);
	hist_free(x);
}

static void test_retire_upgrade_chain(void **state)
{
	struct hist *x = hist_new();
	/* 1.2.0 accepts 1.0.x only (a from rule): v1 needed, v2 only on the way */
	struct rel *cur = standalone("1.2.0", "from 1.0", "cache=3/1,2,3");
	struct retire_log l;
	int i;

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	add(x, "1.1.0", "next-minor", "cache=2/1,2");
	assert_int_equal(run_retire(x, cur, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].version, 1);  /* in version order */
	assert_int_equal(l.v[0].status, BATON_RETIRE_NEEDED);
	assert_int_equal(l.v[1].version, 2);
	assert_int_equal(l.v[1].status, BATON_RETIRE_REMOVABLE);
	assert_true(l.v[1].chain);
	assert_string_equal(l.v[1].releases, "1.1.0");
	assert_non_null(strstr(l.v[1].message, "version 1, still needed, is upgraded through it"));
	i = retired(&l, "cache", 3);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	assert_true(l.v[i].self);
	free(cur);
	hist_free(x);
}

static void test_retire_stable_branches(void **state)
{
	struct hist *x = hist_new();
	/* 1.5.0 accepts 1.4.x (v2); v1 was last written by 1.2.3 and by 1.3.0 */
	struct rel *cur = standalone("1.5.0", "patch,next-minor", "cache=2/1,2");
	struct retire_log l;
	int i;

	(void)state;
	add(x, "1.2.0", "patch,next-minor", "cache=1/1");
	add(x, "1.2.1", "patch,next-minor", "cache=1/1");
	add(x, "1.2.3", "patch,next-minor", "cache=1/1");
	add(x, "1.3.0", "patch,next-minor", "cache=1/1");
	add(x, "1.3.1", "patch,next-minor", "cache=2/1,2");
	add(x, "1.4.0", "patch,next-minor", "cache=2/1,2");
	add(x, "1.4.1", "patch,next-minor", "cache=2/2");
	hist_shuffle(x);
	assert_int_equal(run_retire(x, cur, &l), 0);
	i = retired(&l, "cache", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_REMOVABLE);
	assert_string_equal(l.v[i].releases, "1.2.3 1.3.0");
	i = retired(&l, "cache", 2);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	assert_string_equal(l.v[i].releases, "1.4.0 1.4.1");
	assert_true(l.v[i].self);
	free(cur);
	hist_free(x);
}

static void test_retire_optional_and_adopted(void **state)
{
	struct hist *x = hist_new();
	/*
	 * 1.1.0 drops the optional stats objects and adopts oldcache objects
	 * into its new cache handler; 1.0.0 wrote both.
	 */
	struct rel *cur = standalone("1.1.0", "next-minor", "cache=1/1+oldcache:1 listener=1/1");
	struct retire_log l;
	int i;

	(void)state;
	add(x, "1.0.0", "patch", "oldcache=1/1 stats=1?/1 listener=1/1");
	assert_int_equal(run_retire(x, cur, &l), 0);
	i = retired(&l, "stats", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_DROPPED);
	assert_non_null(strstr(l.v[i].message, "optional"));
	i = retired(&l, "oldcache", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	assert_string_equal(l.v[i].releases, "1.0.0");
	i = retired(&l, "listener", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	/* version 1 of cache: 1.1.0 writes it itself */
	i = retired(&l, "cache", 1);
	assert_int_equal(l.v[i].status, BATON_RETIRE_NEEDED);
	assert_true(l.v[i].self);
	free(cur);
	hist_free(x);
}

static void test_retire_current_in_history_and_never_written(void **state)
{
	struct hist *x = hist_new();
	/* reads a version nobody ever wrote; its own catalog is in the history */
	struct rel *cur = standalone("1.1.0", "same-build,next-minor", "cache=2/2,3");
	struct retire_log l;
	int i;

	(void)state;
	add(x, "1.0.0", "patch", "cache=2/2");
	add(x, "1.1.0", "same-build,next-minor", "cache=2/2,3");
	assert_int_equal(run_retire(x, cur, &l), 0);
	i = retired(&l, "cache", 2);
	/* 1.1.0's own history entry is itself, not an accepted writer */
	assert_string_equal(l.v[i].releases, "1.0.0");
	assert_true(l.v[i].self);
	i = retired(&l, "cache", 3);
	assert_int_equal(l.v[i].status, BATON_RETIRE_REMOVABLE);
	assert_string_equal(l.v[i].releases, "");
	assert_non_null(strstr(l.v[i].message, "no release in the history wrote it"));
	free(cur);
	hist_free(x);
}

static void test_retire_work_space(void **state)
{
	struct hist *x = hist_new();
	struct rel *cur = standalone("1.1.0", "next-minor", "cache=1/1");

	(void)state;
	add(x, "1.0.0", "patch", "cache=1/1");
	assert_int_equal(baton_history_retire(&x->h, &cur->cat, x->work, 3, log_retire, NULL, &x->d),
			 -ENOSPC);
	assert_int_equal(baton_history_retire(&x->h, NULL, x->work, 100, log_retire, NULL, &x->d),
			 -EINVAL);
	free(cur);
	hist_free(x);
}

/* ------------------------------------------------------------------------ */
/* Planning                                                                 */

static void test_plan_long_chain(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	long_chain(x, 21);  /* 1.0.0 ... 1.20.0 */
	hist_shuffle(x);
	run_plan(x, "1.0.0", "1.20.0", &r);
	assert_int_equal(r.rc, 0);
	assert_true(r.plan.ok);
	assert_int_equal(r.plan.npath, 21);
	assert_string_equal(r.path, "1.0.0 1.1.0 1.2.0 1.3.0 1.4.0 1.5.0 1.6.0 1.7.0 1.8.0 1.9.0 "
			    "1.10.0 1.11.0 1.12.0 1.13.0 1.14.0 1.15.0 1.16.0 1.17.0 1.18.0 "
			    "1.19.0 1.20.0");
	assert_non_null(strstr(r.plan.reason, "20 hops"));
	hist_free(x);
}

static void test_plan_prefers_newer_intermediates(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r, again;

	(void)state;
	add(x, "1.0.0", "patch,next-minor", "cache=1/1");
	add(x, "1.1.0", "patch,next-minor", "cache=1/1");
	add(x, "1.1.1", "patch,next-minor", "cache=1/1");
	add(x, "1.1.2", "patch,next-minor", "cache=1/1");
	add(x, "1.2.0", "patch,next-minor", "cache=1/1");
	run_plan(x, "1.0.0", "1.2.0", &r);
	assert_true(r.plan.ok);
	assert_string_equal(r.path, "1.0.0 1.1.2 1.2.0");
	/* the same answer whatever the order of the history */
	hist_reverse(x);
	run_plan(x, "1.0.0", "1.2.0", &again);
	assert_string_equal(again.path, r.path);
	hist_shuffle(x);
	run_plan(x, "1.0.0", "1.2.0", &again);
	assert_string_equal(again.path, r.path);
	/* patch hops within a series: straight to the newest */
	run_plan(x, "1.1.0", "1.1.2", &r);
	assert_string_equal(r.path, "1.1.0 1.1.2");
	hist_free(x);
}

static void test_plan_stable_branches(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	add(x, "1.2.0", "patch,next-minor", "cache=1/1");
	add(x, "1.2.1", "patch,next-minor", "cache=1/1");
	add(x, "1.3.0", "patch,next-minor", "cache=1/1");
	add(x, "1.2.2", "patch,next-minor", "cache=1/1");  /* patched after 1.3.0 shipped */
	add(x, "1.3.1", "patch,next-minor", "cache=1/1");
	add(x, "1.4.0", "patch,next-minor", "cache=1/1");
	run_plan(x, "1.2.1", "1.4.0", &r);
	assert_string_equal(r.path, "1.2.1 1.3.1 1.4.0");
	run_plan(x, "1.2.2", "1.3.0", &r);
	assert_string_equal(r.path, "1.2.2 1.3.0");
	/* 1.3.1 to 1.2.2 is a downgrade, though 1.2.2 is the later build */
	run_plan(x, "1.3.1", "1.2.2", &r);
	assert_int_equal(r.rc, 1);
	assert_false(r.plan.ok);
	assert_true(r.plan.has_break);
	assert_int_equal(r.plan.break_decision.verdict, BATON_PATH_DOWNGRADE);
	assert_non_null(strstr(r.plan.reason, "downgrade"));
	assert_string_equal(r.path, "1.3.1");
	hist_free(x);
}

static void test_plan_across_majors(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	long_chain(x, 6);  /* 1.0.0 ... 1.5.0 */
	add(x, "2.0.0", "patch,next-minor,from 1.3,from 1.5", "cache=1/1");
	add(x, "2.1.0", "patch,next-minor", "cache=1/1");
	run_plan(x, "1.0.0", "2.1.0", &r);
	assert_true(r.plan.ok);
	assert_string_equal(r.path, "1.0.0 1.1.0 1.2.0 1.3.0 2.0.0 2.1.0");
	run_plan(x, "1.4.0", "2.1.0", &r);
	assert_string_equal(r.path, "1.4.0 1.5.0 2.0.0 2.1.0");
	hist_free(x);
}

static void test_plan_gap_has_no_path(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	/* 1.1.0 never made it into the history */
	add(x, "1.0.0", "patch,next-minor", "cache=1/1");
	add(x, "1.2.0", "patch,next-minor", "cache=1/1");
	add(x, "1.3.0", "patch,next-minor", "cache=1/1");
	run_plan(x, "1.0.0", "1.3.0", &r);
	assert_int_equal(r.rc, 1);
	assert_false(r.plan.ok);
	assert_true(r.plan.has_break);
	assert_false(r.plan.break_accepted);
	assert_int_equal(r.plan.break_decision.verdict, BATON_PATH_UNLISTED);
	/* the break points at the gap: 1.2.0 accepts 1.1.x, which is missing */
	assert_string_equal(rel_of(x, r.plan.break_from), "1.0.0");
	assert_string_equal(rel_of(x, r.plan.break_to), "1.2.0");
	assert_true(r.plan.has_nearest);
	assert_string_equal(rel_of(x, r.plan.nearest), "1.2.0");
	assert_string_equal(r.path, "1.0.0");
	assert_int_equal(r.findings, 0);
	assert_non_null(strstr(r.plan.reason, "no supported path from 1.0.0 to 1.3.0"));
	assert_non_null(strstr(r.plan.reason, "the nearest release that reaches 1.3.0 is 1.2.0"));
	hist_free(x);
}

static void test_plan_release_with_no_path(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	long_chain(x, 3);  /* 1.0.0 1.1.0 1.2.0 */
	add(x, "2.0.0", "patch,next-minor", "cache=1/1");  /* accepts nothing before it */
	run_plan(x, "1.0.0", "2.0.0", &r);
	assert_int_equal(r.rc, 1);
	assert_false(r.plan.has_nearest);
	assert_non_null(strstr(r.plan.reason, "no release between 1.0.0 and 2.0.0 reaches 2.0.0"));
	/* every hop into 2.0.0 is refused: the break is from as far as 1.0.0 gets */
	assert_string_equal(r.path, "1.0.0 1.1.0 1.2.0");
	assert_string_equal(rel_of(x, r.plan.break_from), "1.2.0");
	assert_string_equal(rel_of(x, r.plan.break_to), "2.0.0");
	assert_non_null(strstr(r.plan.reason, "1.2.0 -> 2.0.0"));
	hist_free(x);
}

static void test_plan_broken_hop_with_findings(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	add(x, "1.0.0", "patch,next-minor", "cache=1/1");
	add(x, "1.0.1", "patch,next-minor", "cache=1/1");
	add(x, "1.1.0", "patch,next-minor", "cache=2/2");  /* dropped version 1 too early */
	add(x, "1.2.0", "patch,next-minor", "cache=2/2");
	run_plan(x, "1.0.0", "1.2.0", &r);
	assert_int_equal(r.rc, 1);
	assert_true(r.plan.break_accepted);
	/*
	 * 1.0.0 -> 1.1.0 -> 1.2.0 would be the shortest chain; it breaks at
	 * its first hop (1.0.1 -> 1.1.0 fails alike, on a longer route)
	 */
	assert_string_equal(r.path, "1.0.0");
	assert_string_equal(rel_of(x, r.plan.break_from), "1.0.0");
	assert_string_equal(rel_of(x, r.plan.break_to), "1.1.0");
	assert_true(r.plan.break_findings >= 1);
	assert_int_equal(r.findings, r.plan.break_findings);
	assert_true(r.plan.has_nearest);
	assert_string_equal(rel_of(x, r.plan.nearest), "1.1.0");
	assert_non_null(strstr(r.plan.reason, "accepts but baton check refuses"));
	hist_free(x);
}

static void test_plan_check_failure_preferred_to_policy(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;

	(void)state;
	/*
	 * 2.0.0 lists 1.1 but cannot read what 1.1.0 writes; 1.0.0 -> 2.0.0
	 * is shorter but unlisted. The listed, failing hop is the reason.
	 */
	add(x, "1.0.0", "patch,next-minor", "cache=1/1");
	add(x, "1.1.0", "patch,next-minor", "cache=1/1");
	add(x, "2.0.0", "patch,next-minor,from 1.1", "cache=2/2");
	run_plan(x, "1.0.0", "2.0.0", &r);
	assert_int_equal(r.rc, 1);
	assert_true(r.plan.break_accepted);
	assert_string_equal(r.path, "1.0.0 1.1.0");
	assert_string_equal(rel_of(x, r.plan.break_to), "2.0.0");
	assert_true(r.findings >= 1);
	hist_free(x);
}

static void test_plan_same_release_and_builds(void **state)
{
	struct hist *x = hist_new();
	struct plan_result r;
	size_t a, b;

	(void)state;
	a = add(x, "1.0.0", "same-build,patch", "cache=1/1");
	b = add_build(x, "1.0.0", "same-build,patch", "cache=1/1", 0x22);
	memset(&r, 0, sizeof(r));
	r.rc = baton_history_plan(&x->h, a, a, x->work, sizeof(x->work) / sizeof(x->work[0]),
				  &r.plan, NULL, NULL, &x->d);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.plan.npath, 1);
	/* two builds of one release never hand over to each other, either way */
	r.rc = baton_history_plan(&x->h, a, b, x->work, sizeof(x->work) / sizeof(x->work[0]),
				  &r.plan, NULL, NULL, &x->d);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.plan.break_decision.verdict, BATON_PATH_OTHER_BUILD);
	r.rc = baton_history_plan(&x->h, b, a, x->work, sizeof(x->work) / sizeof(x->work[0]),
				  &r.plan, NULL, NULL, &x->d);
	assert_int_equal(r.rc, 1);
	assert_false(r.plan.ok);
	assert_int_equal(r.plan.break_decision.verdict, BATON_PATH_OTHER_BUILD);
	assert_non_null(strstr(r.plan.reason, "same release"));
	hist_free(x);
}

static void test_plan_bad_arguments(void **state)
{
	struct hist *x = hist_new();
	struct baton_plan p;

	(void)state;
	long_chain(x, 3);
	assert_int_equal(baton_history_plan(&x->h, 0, 7, x->work, 100, &p, NULL, NULL, &x->d),
			 -EINVAL);
	assert_int_equal(baton_history_plan(&x->h, 0, 2, x->work, 5, &p, NULL, NULL, &x->d),
			 -ENOSPC);
	assert_non_null(strstr(x->d.msg, "too small"));
	assert_int_equal(baton_history_plan(&x->h, 0, 2, x->work, 100, NULL, NULL, NULL, &x->d),
			 -EINVAL);
	hist_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duplicate_release_is_refused),
		cmocka_unit_test(test_unknown_build_is_a_duplicate),
		cmocka_unit_test(test_two_builds_of_one_release),
		cmocka_unit_test(test_other_program_is_refused),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_paths_long_chain),
		cmocka_unit_test(test_paths_stable_branches),
		cmocka_unit_test(test_paths_report_findings_per_path),
		cmocka_unit_test(test_paths_across_majors_with_from),
		cmocka_unit_test(test_paths_empty_history),
		cmocka_unit_test(test_retire_version_dropped_too_early),
		cmocka_unit_test(test_retire_removable_once_out_of_policy),
		cmocka_unit_test(test_retire_upgrade_chain),
		cmocka_unit_test(test_retire_stable_branches),
		cmocka_unit_test(test_retire_optional_and_adopted),
		cmocka_unit_test(test_retire_current_in_history_and_never_written),
		cmocka_unit_test(test_retire_work_space),
		cmocka_unit_test(test_plan_long_chain),
		cmocka_unit_test(test_plan_prefers_newer_intermediates),
		cmocka_unit_test(test_plan_stable_branches),
		cmocka_unit_test(test_plan_across_majors),
		cmocka_unit_test(test_plan_gap_has_no_path),
		cmocka_unit_test(test_plan_release_with_no_path),
		cmocka_unit_test(test_plan_broken_hop_with_findings),
		cmocka_unit_test(test_plan_check_failure_preferred_to_policy),
		cmocka_unit_test(test_plan_same_release_and_builds),
		cmocka_unit_test(test_plan_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
