/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton check --history — every supported path into NEW, checked
 *
 * The gate a project runs in CI: NEW is checked against every release of
 * the history folder that NEW's policy accepts, each path with the same
 * engine and the same output as `baton check OLD NEW`. Releases NEW does
 * not accept are listed, not checked (an update from them is not
 * supported, so there is nothing to keep working).
 *
 * This file also loads history folders and resolves release arguments for
 * `baton retire` and `baton plan` (cmd_history.h). The computation is the
 * core's (include/baton/history.h); what is here is input and output.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmd_history.h"
#include "report.h"

/* ------------------------------------------------------------------------ */
/* History folders                                                          */

static int grow(struct history_dir *hd)
{
	size_t cap = hd->cap ? 2 * hd->cap : 16;
	struct baton_catalog_file **files;
	const struct baton_catalog **cats;
	const char **origins;

	files = realloc(hd->files, cap * sizeof(*files));
	if (!files)
		return -ENOMEM;
	hd->files = files;
	cats = realloc(hd->cats, cap * sizeof(*cats));
	if (!cats)
		return -ENOMEM;
	hd->cats = cats;
	origins = realloc(hd->origins, cap * sizeof(*origins));
	if (!origins)
		return -ENOMEM;
	hd->origins = origins;
	hd->cap = cap;
	return 0;
}

/* Takes f; updates the engine's view and its work space. */
static int history_append(struct history_dir *hd, struct baton_catalog_file *f)
{
	uint32_t *work;

	if (hd->n == hd->cap && grow(hd) < 0)
		return -ENOMEM;
	work = realloc(hd->work, BATON_HISTORY_WORK_LEN(hd->n + 1) * sizeof(*work));
	if (!work)
		return -ENOMEM;
	hd->work = work;
	hd->files[hd->n] = f;
	hd->cats[hd->n] = &f->cat;
	hd->origins[hd->n] = f->origin;
	hd->n++;
	hd->h.cats = hd->cats;
	hd->h.origins = hd->origins;
	hd->h.n = hd->n;
	return 0;
}

static bool is_catalog_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of dir, sorted; -errno. */
static int list_catalogs(const char *dir, char ***out, size_t *nout)
{
	char **names = NULL, **grown;
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	DIR *dp;
	int rc = 0;

	dp = opendir(dir);
	if (!dp)
		return -errno;
	while ((errno = 0, e = readdir(dp)) != NULL) {
		if (!is_catalog_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	if (!rc && errno)
		rc = -errno;
	closedir(dp);
	if (rc < 0) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return rc;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*nout = n;
	return 0;
}

int history_engine_error(const char *cmd, int rc, const struct baton_diag *d)
{
	fprintf(stderr, "baton %s: %s\n", cmd, d && d->msg[0] ? d->msg : strerror(-rc));
	return BATON_EXIT_USAGE;
}

int history_revalidate(const char *cmd, struct history_dir *hd)
{
	struct baton_diag d;
	int rc;

	baton_diag_clear(&d);
	rc = baton_history_validate(&hd->h, NULL, &d);
	if (rc < 0)
		return history_engine_error(cmd, rc, &d);
	return 0;
}

int history_load(const char *cmd, const char *dir, struct history_dir *hd)
{
	char **names = NULL;
	size_t nnames = 0, i;
	int rc;

	memset(hd, 0, sizeof(*hd));
	hd->dir = dir;
	rc = list_catalogs(dir, &names, &nnames);
	if (rc < 0) {
		fprintf(stderr, "baton %s: %s: cannot read the history folder: %s\n", cmd, dir,
			strerror(-rc));
		return BATON_EXIT_USAGE;
	}
	if (nnames == 0) {
		fprintf(stderr,
			"baton %s: %s holds no *.json catalogs; keep `baton catalog --json PROGRAM` "
			"of every shipped release there\n", cmd, dir);
		rc = BATON_EXIT_USAGE;
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		struct baton_catalog_file *f = NULL;
		struct baton_diag d;
		struct stat st;
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);

		if (!path) {
			rc = history_engine_error(cmd, -ENOMEM, NULL);
			goto out;
		}
		snprintf(path, len, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
			 names[i]);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			free(path);
			continue;  /* a folder that happens to end in .json */
		}
		baton_diag_clear(&d);
		rc = baton_catalog_load_json(path, &f, &d);
		if (rc < 0) {
			/* the loader names the file in its words already */
			fprintf(stderr, "baton %s: %s\n", cmd,
				d.msg[0] ? d.msg : strerror(-rc));
			fprintf(stderr, "baton %s: every *.json in %s must be a catalog "
				"(baton catalog --json PROGRAM)\n", cmd, dir);
			free(path);
			rc = BATON_EXIT_USAGE;
			goto out;
		}
		free(path);
		if (history_append(hd, f) < 0) {
			baton_catalog_file_free(f);
			rc = history_engine_error(cmd, -ENOMEM, NULL);
			goto out;
		}
	}
	hd->nloaded = hd->n;
	rc = history_revalidate(cmd, hd);
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (rc)
		history_free(hd);
	return rc;
}

void history_free(struct history_dir *hd)
{
	size_t i;

	for (i = 0; i < hd->n; i++)
		baton_catalog_file_free(hd->files[i]);
	free(hd->files);
	free(hd->cats);
	free(hd->origins);
	free(hd->work);
	memset(hd, 0, sizeof(*hd));
}

/* Lists the folder's releases, oldest first, after a "not found". */
static void print_known(const struct history_dir *hd)
{
	char label[BATON_RELEASE_STRMAX + 32];
	size_t k, i, last = 0;

	fprintf(stderr, "baton: releases in %s:", hd->dir);
	for (k = 0; k < hd->nloaded && k < 40; k++) {
		size_t next = hd->nloaded;

		for (i = 0; i < hd->nloaded; i++) {
			if (k && baton_history_cmp(&hd->h, i, last) <= 0)
				continue;
			if (next == hd->nloaded || baton_history_cmp(&hd->h, i, next) < 0)
				next = i;
		}
		history_label(hd, next, label, sizeof(label));
		fprintf(stderr, " %s", label);
		last = next;
	}
	fprintf(stderr, "%s\n", hd->nloaded > 40 ? " ..." : "");
}

int history_resolve(const char *cmd, struct history_dir *hd, const char *arg, bool add,
		    long *index, struct baton_catalog_file **file)
{
	struct baton_catalog_file *f = NULL;
	struct baton_release r;
	struct stat st;
	int rc, i;

	*index = -1;
	if (file)
		*file = NULL;
	if (stat(arg, &st) != 0 &&
	    baton_release_parse(&r, arg, strlen(arg), NULL) == 0) {
		i = baton_history_find(&hd->h, &r, NULL);
		if (i >= 0) {
			*index = i;
			return 0;
		}
		if (i == -EEXIST)
			fprintf(stderr,
				"baton %s: %s has two builds of %s; name the catalog file instead\n",
				cmd, hd->dir, arg);
		else
			fprintf(stderr,
				"baton %s: release %s is not in %s (and no file of that name exists)\n",
				cmd, arg, hd->dir);
		print_known(hd);
		return BATON_EXIT_USAGE;
	}
	rc = report_load_catalog(cmd, arg, &f);
	if (rc)
		return rc;
	if (!add) {
		/* the file as given, even when the folder holds the same build */
		*file = f;
		return 0;
	}
	/*
	 * The same known build as an entry is that entry. Without a build id
	 * it may be another build: it joins, and the validation that follows
	 * says the release is there twice, naming both files.
	 */
	i = f->cat.build_id.len ?
	    baton_history_find(&hd->h, &f->cat.program->release, &f->cat.build_id) : -ENOENT;
	if (i >= 0 && strcmp(hd->cats[i]->program->name, f->cat.program->name) == 0) {
		baton_catalog_file_free(f);
		*index = i;
		return 0;
	}
	if (history_append(hd, f) < 0) {
		baton_catalog_file_free(f);
		return history_engine_error(cmd, -ENOMEM, NULL);
	}
	*index = (long)hd->n - 1;
	return 0;
}

void history_label(const struct history_dir *hd, size_t i, char *buf, size_t size)
{
	const struct baton_catalog *c = hd->cats[i];
	char rel[BATON_RELEASE_STRMAX], build[2 * BATON_BUILD_ID_MAX + 1];
	size_t j;

	report_release(rel, &c->program->release);
	for (j = 0; j < hd->n; j++) {
		if (j == i || baton_release_cmp(&hd->cats[j]->program->release,
						&c->program->release) != 0)
			continue;
		baton_build_id_format(&c->build_id, build, sizeof(build));
		snprintf(buf, size, "%s (build %.12s)", rel, build);
		return;
	}
	snprintf(buf, size, "%s", rel);
}

struct json_object *history_releases_json(const struct history_dir *hd, const uint32_t *idx,
					  size_t n)
{
	struct json_object *a = json_object_new_array();
	char rel[BATON_RELEASE_STRMAX];
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < n; i++) {
		report_release(rel, &hd->cats[idx[i]]->program->release);
		if (json_object_array_add(a, json_object_new_string(rel)) < 0) {
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* ------------------------------------------------------------------------ */
/* check --history                                                          */

struct hist_path {
	size_t from;
	bool accepted;
	char reason[BATON_DIAG_MAX];   /* why not, when refused */
	struct report_check check;     /* accepted: the check, as `baton check` runs it */
};

struct hist_check {
	struct hist_path *v;
	size_t n;
	int err;                       /* first failure of report_check_run */
};

/* The engine decided; the report layer runs the same check again for its output. */
static void on_path(void *ctx, const struct baton_history_path *p)
{
	struct hist_check *hc = ctx;
	struct hist_path *e = &hc->v[hc->n++];
	int rc;

	e->from = p->from;
	e->accepted = p->accepted;
	baton_strlcpy(e->reason, p->decision.reason, sizeof(e->reason));
	if (!p->accepted)
		return;
	if (hc->err) {
		e->accepted = false;
		return;
	}
	rc = report_check_run(&e->check, p->writer, p->reader);
	if (rc < 0) {
		hc->err = rc;
		e->accepted = false;
	}
}

/* Appends f to x unless an equal finding is there (NEW's own, seen on every path). */
static void collect_unique(struct report_findings *x, const struct baton_finding *f)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (x->v[i].rule == f->rule && strcmp(x->v[i].message, f->message) == 0)
			return;
	report_collect(x, f);
}

static void print_human(const struct history_dir *hd, const struct baton_catalog *new_cat,
			const struct hist_check *hc, const struct report_findings *own,
			size_t naccepted, size_t nfailing)
{
	char rel[BATON_RELEASE_STRMAX], label[BATON_RELEASE_STRMAX + 32];
	size_t i, shown = 0, nrefused = hc->n - naccepted;

	report_release(rel, &new_cat->program->release);
	for (i = 0; i < hc->n; i++)
		if (hc->v[i].accepted)
			report_check_print(stdout, &hc->v[i].check);
	if (naccepted == 0)
		for (i = 0; i < own->n; i++)
			report_print_finding(stdout, &own->v[i]);
	if (nrefused) {
		printf("not supported paths into %s, not checked:", rel);
		for (i = 0; i < hc->n && shown < 12; i++) {
			if (hc->v[i].accepted)
				continue;
			history_label(hd, hc->v[i].from, label, sizeof(label));
			printf("%s %s", shown ? "," : "", label);
			shown++;
		}
		if (nrefused > shown)
			printf(" and %zu more", nrefused - shown);
		printf("\n");
	}
	printf("%s %s: ", new_cat->program->name, rel);
	if (naccepted == 0)
		printf("no release in %s is on a supported path into it (every update into %s "
		       "starts cold)%s\n", hd->dir, rel,
		       own->n ? "; its own catalog has findings" : "");
	else if (nfailing == 0 && own->n == 0)
		printf("every supported path from %s passes (%zu path%s)\n", hd->dir, naccepted,
		       naccepted == 1 ? "" : "s");
	else
		printf("%zu of %zu supported path%s from %s refused\n", nfailing, naccepted,
		       naccepted == 1 ? "" : "s", hd->dir);
}

static struct json_object *to_json(const struct history_dir *hd,
				   const struct baton_catalog *new_cat,
				   const struct hist_check *hc, struct report_findings *all,
				   bool ok)
{
	struct json_object *o = json_object_new_object(), *paths, *findings, *refused;
	char rel[BATON_RELEASE_STRMAX], build[2 * BATON_BUILD_ID_MAX + 1];
	size_t i;

	if (!o)
		return NULL;
	report_release(rel, &new_cat->program->release);
	baton_build_id_format(&new_cat->build_id, build, sizeof(build));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "program", json_object_new_string(new_cat->program->name));
	json_object_object_add(o, "to", json_object_new_string(rel));
	json_object_object_add(o, "to_build", json_object_new_string(build));
	json_object_object_add(o, "history", json_object_new_string(hd->dir));
	findings = report_findings_json(all);
	paths = json_object_new_array();
	refused = json_object_new_array();
	if (!findings || !paths || !refused)
		goto oom;
	json_object_object_add(o, "findings", findings);
	json_object_object_add(o, "paths", paths);
	json_object_object_add(o, "unsupported", refused);
	for (i = 0; i < hc->n; i++) {
		const struct hist_path *e = &hc->v[i];
		struct json_object *p;

		if (e->accepted) {
			p = report_check_json(&e->check);
			if (!p)
				goto oom_added;
			report_json_add_string(p, "origin", hd->origins[e->from]);
			json_object_array_add(paths, p);
			continue;
		}
		p = json_object_new_object();
		if (!p)
			goto oom_added;
		report_release(rel, &hd->cats[e->from]->program->release);
		json_object_object_add(p, "from", json_object_new_string(rel));
		report_json_add_string(p, "origin", hd->origins[e->from]);
		json_object_object_add(p, "reason", json_object_new_string(e->reason));
		json_object_array_add(refused, p);
	}
	return o;
oom_added:
	json_object_put(o);  /* holds the arrays by now */
	return NULL;
oom:
	json_object_put(findings);
	json_object_put(paths);
	json_object_put(refused);
	json_object_put(o);
	return NULL;
}

int check_history(const char *dir, const char *new_path, bool json)
{
	struct baton_history_ops ops = { NULL, on_path, NULL };
	struct report_findings own = { 0 }, all = { 0 };
	struct baton_catalog_file *new_f = NULL;
	const struct baton_catalog *new_cat;
	struct history_dir hd;
	struct hist_check hc = { 0 };
	struct baton_diag d;
	size_t i, j, naccepted = 0, nfailing = 0;
	long new_index;
	int rc;
	bool ok;

	rc = history_load("check", dir, &hd);
	if (rc)
		return rc;
	rc = history_resolve("check", &hd, new_path, false, &new_index, &new_f);
	if (rc)
		goto out;
	new_cat = new_f ? &new_f->cat : hd.cats[new_index];

	hc.v = calloc(hd.n ? hd.n : 1, sizeof(*hc.v));
	if (!hc.v) {
		rc = history_engine_error("check", -ENOMEM, NULL);
		goto out;
	}
	ops.ctx = &hc;
	baton_diag_clear(&d);
	rc = baton_history_paths(&hd.h, new_cat, &ops, &d);
	if (rc < 0) {
		rc = history_engine_error("check", rc, &d);
		goto out;
	}
	if (hc.err) {
		rc = history_engine_error("check", hc.err, NULL);
		goto out;
	}
	rc = baton_catalog_validate(new_cat, "new", report_collect, &own);
	if (rc < 0 || own.lost) {
		rc = history_engine_error("check", rc < 0 ? rc : -ENOMEM, NULL);
		goto out;
	}

	/* every finding once: NEW's own first, then each path's */
	for (i = 0; i < own.n; i++)
		collect_unique(&all, &own.v[i]);
	for (i = 0; i < hc.n; i++) {
		if (!hc.v[i].accepted)
			continue;
		naccepted++;
		nfailing += !report_check_ok(&hc.v[i].check);
		for (j = 0; j < hc.v[i].check.findings.n; j++)
			collect_unique(&all, &hc.v[i].check.findings.v[j]);
	}
	if (all.lost) {
		rc = history_engine_error("check", -ENOMEM, NULL);
		goto out;
	}
	ok = nfailing == 0 && own.n == 0;
	if (json) {
		if (report_json_print(stdout, to_json(&hd, new_cat, &hc, &all, ok)) < 0) {
			rc = history_engine_error("check", -ENOMEM, NULL);
			goto out;
		}
	} else {
		print_human(&hd, new_cat, &hc, &own, naccepted, nfailing);
	}
	rc = ok ? BATON_EXIT_OK : BATON_EXIT_FINDINGS;
out:
	for (i = 0; i < hc.n; i++)
		if (hc.v[i].accepted)
			report_check_free(&hc.v[i].check);
	free(hc.v);
	report_findings_free(&own);
	report_findings_free(&all);
	baton_catalog_file_free(new_f);
	history_free(&hd);
	if (fflush(stdout) != 0 && rc != BATON_EXIT_USAGE) {
		perror("baton check: stdout");
		rc = BATON_EXIT_USAGE;
	}
	return rc;
}
