/* SPDX-License-Identifier: MIT */
/*
 * DOC: the baton command — a release history folder, shared by check
 * --history, retire and plan
 *
 * A history folder holds one JSON catalog per shipped release (`baton
 * catalog --json PROGRAM > DIR/RELEASE.json`). cmd_history.c loads it into a
 * struct baton_history for the core engine (include/baton/history.h) and
 * resolves the releases the commands name: a program, a JSON catalog, or a
 * release number found in the folder. Errors are printed here as "baton
 * CMD: ..." and come back as BATON_EXIT_USAGE.
 */
#ifndef BATON_TOOLS_CMD_HISTORY_H
#define BATON_TOOLS_CMD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include <baton/baton.h>

struct history_dir {
	const char *dir;
	struct baton_catalog_file **files;   /* owned */
	const struct baton_catalog **cats;
	const char **origins;                /* the files' paths */
	size_t n, cap;
	size_t nloaded;                      /* entries from the folder; the rest were added */
	struct baton_history h;
	uint32_t *work;                      /* BATON_HISTORY_WORK_LEN(n) for the engine */
};

/*
 * Loads every *.json of dir (in name order; other files are ignored).
 * Returns 0 or BATON_EXIT_USAGE after printing why (unreadable folder or
 * catalog, no catalogs at all, two programs, a release twice).
 */
int history_load(const char *cmd, const char *dir, struct history_dir *hd);
void history_free(struct history_dir *hd);

/*
 * The release an argument names: an existing file (program or JSON
 * catalog), else a release number of the folder. When add is false a file
 * comes back in *file (the caller frees it) and *index is -1. When add is
 * true a file whose release and known build are in the folder is that
 * entry, and any other joins the history as one more entry; *index is the
 * entry.
 * Returns 0 or BATON_EXIT_USAGE after printing why.
 */
int history_resolve(const char *cmd, struct history_dir *hd, const char *arg, bool add,
		    long *index, struct baton_catalog_file **file);

/* Runs the engine's validation again after entries were added; prints why. */
int history_revalidate(const char *cmd, struct history_dir *hd);

/* Prints "baton CMD: words" for an engine failure; returns BATON_EXIT_USAGE. */
int history_engine_error(const char *cmd, int rc, const struct baton_diag *d);

/* "1.2.0", or "1.2.0 (build 0a1b...)" when the history holds two builds of it. */
void history_label(const struct history_dir *hd, size_t i, char *buf, size_t size);

/* ["1.0.0", ...] of history entries; NULL when out of memory. */
struct json_object *history_releases_json(const struct history_dir *hd, const uint32_t *idx,
					  size_t n);

#endif /* BATON_TOOLS_CMD_HISTORY_H */
