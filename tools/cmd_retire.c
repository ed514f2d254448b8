/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton retire — which read versions a release still needs (rule 7)
 *
 * A read version, with its upgrade step and code, may be deleted once no
 * release that CURRENT's policy accepts writes it. Given the history folder
 * of shipped releases, this says for every version CURRENT reads whether it
 * is needed (and by which releases) or removable (and which releases last
 * wrote it), and reports as an error every version an accepted release
 * writes that CURRENT no longer reads: the update from that release would
 * lose state. The core computes (baton_history_retire); this prints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_history.h"
#include "report.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton retire [--json] DIR CURRENT\n"
		"\n"
		"Says which read versions of the release CURRENT are still needed and which\n"
		"can be deleted. DIR holds one JSON catalog per shipped release (baton catalog\n"
		"--json PROGRAM); CURRENT is a program, a JSON catalog, or a release number\n"
		"found in DIR. For every contract version CURRENT reads:\n"
		"\n"
		"  needed     a release CURRENT's policy accepts writes it (or CURRENT does)\n"
		"  removable  none does any more: delete it from the handler's reads, with\n"
		"             its upgrade step (the releases that last wrote it are named)\n"
		"\n"
		"and for every version an accepted release writes that CURRENT does not read:\n"
		"\n"
		"  missing    an error: the update from that release would lose the state\n"
		"  dropped    the writer marks those objects optional: not an error\n"
		"\n"
		"options:\n"
		"  --json     print {\"ok\", \"program\", \"release\", \"accepted\", \"versions\":\n"
		"             [{\"contract\", \"contract_name\", \"version\", \"status\",\n"
		"             \"releases\", ...}], \"dropped\": [...]}\n"
		"  -h, --help print this help\n"
		"\n"
		"exit status: 0 nothing is missing, 1 a version an accepted path needs is\n"
		"             missing, 2 usage error or unreadable input\n"
		"\n"
		"example:\n"
		"  baton retire history/ ./build/kvd\n");
}

struct retire_out {
	const struct history_dir *hd;
	const struct baton_catalog *current;
	bool json;
	struct json_object *versions, *dropped;
	int counts[BATON_RETIRE_DROPPED + 1];
	int err;
};

static struct json_object *version_json(const struct retire_out *ro,
					const struct baton_retire_version *v)
{
	struct json_object *o = json_object_new_object(), *rel;
	char uuid[BATON_UUID_STRLEN + 1], cur[BATON_RELEASE_STRMAX];

	if (!o)
		return NULL;
	baton_uuid_format(&v->contract, uuid);
	json_object_object_add(o, "contract", json_object_new_string(uuid));
	report_json_add_string(o, "contract_name", v->contract_name);
	json_object_object_add(o, "version", json_object_new_int64(v->version));
	json_object_object_add(o, "status",
			       json_object_new_string(baton_retire_status_name(v->status)));
	rel = history_releases_json(ro->hd, v->releases, v->nreleases);
	if (!rel) {
		json_object_put(o);
		return NULL;
	}
	/* a version CURRENT writes is needed by CURRENT itself */
	if (v->written_by_current && v->status == BATON_RETIRE_NEEDED) {
		report_release(cur, &ro->current->program->release);
		json_object_array_add(rel, json_object_new_string(cur));
	}
	json_object_object_add(o, "releases", rel);
	if (v->reader)
		json_object_object_add(o, "handler", json_object_new_string(v->reader->name));
	json_object_object_add(o, "written_by_current",
			       json_object_new_boolean(v->written_by_current));
	if (v->status == BATON_RETIRE_REMOVABLE)
		json_object_object_add(o, "on_upgrade_chain",
				       json_object_new_boolean(v->on_upgrade_chain));
	json_object_object_add(o, "message", json_object_new_string(v->message));
	return o;
}

static void on_version(void *ctx, const struct baton_retire_version *v)
{
	struct retire_out *ro = ctx;
	struct json_object *o;

	ro->counts[v->status]++;
	if (!ro->json) {
		/* the engine's message starts with the status, like a finding with its rule */
		printf("%s\n", v->message);
		return;
	}
	if (ro->err)
		return;
	o = version_json(ro, v);
	if (!o) {
		ro->err = -ENOMEM;
		return;
	}
	json_object_array_add(v->status == BATON_RETIRE_DROPPED ? ro->dropped : ro->versions, o);
}

/* The accepted releases of the history, oldest first, into idx; the count. */
static size_t accepted_releases(const struct history_dir *hd, const struct baton_catalog *current,
				uint32_t *idx)
{
	struct baton_policy policy = baton_catalog_policy(current);
	size_t i, j, n = 0;

	for (i = 0; i < hd->n; i++) {
		struct baton_path_decision dec;

		if (baton_policy_decide(&policy, &current->program->release, &current->build_id,
					&hd->cats[i]->program->release, &hd->cats[i]->build_id,
					&dec) != BATON_PATH_ACCEPT)
			continue;
		if (baton_release_cmp(&hd->cats[i]->program->release,
				      &current->program->release) == 0)
			continue;  /* current itself (same-build), as the engine counts it */
		for (j = n; j > 0 && baton_history_cmp(&hd->h, idx[j - 1], i) > 0; j--)
			idx[j] = idx[j - 1];
		idx[j] = (uint32_t)i;
		n++;
	}
	return n;
}

int cmd_retire(int argc, char **argv)
{
	struct retire_out ro = { 0 };
	struct baton_catalog_file *cur_f = NULL;
	const struct baton_catalog *current;
	struct history_dir hd;
	struct baton_diag d;
	char rel[BATON_RELEASE_STRMAX], label[BATON_RELEASE_STRMAX + 32];
	uint32_t *acc = NULL;
	size_t nacc, i;
	long cur_index;
	int rc;

	rc = cli_parse_simple(argc, argv, "DIR and CURRENT", 2, usage, &ro.json);
	if (rc >= 0)
		return rc;

	rc = history_load("retire", argv[optind], &hd);
	if (rc)
		return rc;
	rc = history_resolve("retire", &hd, argv[optind + 1], false, &cur_index, &cur_f);
	if (rc)
		goto out;
	current = cur_f ? &cur_f->cat : hd.cats[cur_index];
	acc = calloc(hd.n ? hd.n : 1, sizeof(*acc));
	if (!acc) {
		rc = history_engine_error("retire", -ENOMEM, NULL);
		goto out;
	}
	nacc = accepted_releases(&hd, current, acc);
	report_release(rel, &current->program->release);

	if (ro.json) {
		ro.versions = json_object_new_array();
		ro.dropped = json_object_new_array();
		if (!ro.versions || !ro.dropped) {
			rc = history_engine_error("retire", -ENOMEM, NULL);
			goto out;
		}
	} else {
		printf("%s %s accepts %zu of the %zu release%s in %s%s", current->program->name,
		       rel, nacc, hd.nloaded, hd.nloaded == 1 ? "" : "s", hd.dir,
		       nacc ? ":" : "");
		for (i = 0; i < nacc; i++) {
			history_label(&hd, acc[i], label, sizeof(label));
			printf(" %s", label);
		}
		printf("\n");
	}

	ro.hd = &hd;
	ro.current = current;
	baton_diag_clear(&d);
	rc = baton_history_retire(&hd.h, current, hd.work, BATON_HISTORY_WORK_LEN(hd.n),
				  on_version, &ro, &d);
	if (rc < 0) {
		rc = history_engine_error("retire", rc, &d);
		goto out;
	}
	if (ro.err) {
		rc = history_engine_error("retire", ro.err, NULL);
		goto out;
	}

	if (ro.json) {
		struct json_object *o = json_object_new_object(), *a;
		char build[2 * BATON_BUILD_ID_MAX + 1];

		a = history_releases_json(&hd, acc, nacc);
		if (!o || !a) {
			json_object_put(o);
			json_object_put(a);
			rc = history_engine_error("retire", -ENOMEM, NULL);
			goto out;
		}
		baton_build_id_format(&current->build_id, build, sizeof(build));
		json_object_object_add(o, "ok", json_object_new_boolean(rc == 0));
		json_object_object_add(o, "program", json_object_new_string(current->program->name));
		json_object_object_add(o, "release", json_object_new_string(rel));
		json_object_object_add(o, "build_id", json_object_new_string(build));
		json_object_object_add(o, "history", json_object_new_string(hd.dir));
		json_object_object_add(o, "accepted", a);
		json_object_object_add(o, "versions", ro.versions);
		json_object_object_add(o, "dropped", ro.dropped);
		ro.versions = ro.dropped = NULL;
		report_json_print(stdout, o);
	} else {
		printf("%s %s: %d needed, %d removable, %d missing%s\n", current->program->name,
		       rel, ro.counts[BATON_RETIRE_NEEDED], ro.counts[BATON_RETIRE_REMOVABLE],
		       ro.counts[BATON_RETIRE_MISSING],
		       ro.counts[BATON_RETIRE_DROPPED] ? " (and optional objects dropped)" : "");
	}
	rc = rc > 0 ? BATON_EXIT_FINDINGS : BATON_EXIT_OK;
out:
	json_object_put(ro.versions);
	json_object_put(ro.dropped);
	free(acc);
	baton_catalog_file_free(cur_f);
	history_free(&hd);
	if (fflush(stdout) != 0 && rc != BATON_EXIT_USAGE) {
		perror("baton retire: stdout");
		rc = BATON_EXIT_USAGE;
	}
	return rc;
}
