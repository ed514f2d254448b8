/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton plan — a chain of supported updates for a machine left behind
 *
 * Live update is supported only along narrow forward paths, so a machine
 * several releases behind cannot jump to the newest one; it steps through
 * releases whose policies list each hop. Given the history folder, this
 * prints the shortest such chain in which every hop also passes `baton
 * check`, or the hop that breaks and the nearest release that can still
 * reach the target. The core plans (baton_history_plan); each hop is
 * printed as `baton check` prints it.
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
		"usage: baton plan [--json] DIR FROM TO\n"
		"\n"
		"Finds the shortest chain of releases FROM -> ... -> TO in which every hop is\n"
		"a path the newer release's policy accepts and that passes baton check. DIR\n"
		"holds one JSON catalog per shipped release (baton catalog --json PROGRAM);\n"
		"FROM and TO are programs, JSON catalogs or release numbers found in DIR.\n"
		"Among chains of equal length, each hop goes to the newest release that keeps\n"
		"the chain shortest. Without a chain, prints the hop that breaks the best\n"
		"route, with its findings, and the nearest release that can reach TO.\n"
		"\n"
		"options:\n"
		"  --json     print {\"ok\", \"program\", \"from\", \"to\", \"path\": [\"1.0.0\", ...],\n"
		"             \"hops\": [...]}, and when there is no chain \"reason\", \"break\"\n"
		"             and \"nearest\"\n"
		"  -h, --help print this help\n"
		"\n"
		"exit status: 0 a chain exists, 1 no supported path, 2 usage error or\n"
		"             unreadable input\n"
		"\n"
		"example:\n"
		"  baton plan history/ 1.0.0 ./build/kvd\n");
}

/* One hop, checked again by the report layer for its output. */
static int run_hop(const struct history_dir *hd, size_t u, size_t v, struct report_check *c)
{
	int rc = report_check_run(c, hd->cats[u], hd->cats[v]);

	if (rc < 0)
		return history_engine_error("plan", rc, NULL);
	return 0;
}

static int print_plan(const struct history_dir *hd, const struct baton_plan *p, size_t to)
{
	char label[BATON_RELEASE_STRMAX + 32];
	struct report_check c;
	size_t i;
	int rc;

	printf("%s\n", p->reason);
	if (p->ok) {
		for (i = 0; i + 1 < p->npath; i++) {
			rc = run_hop(hd, p->path[i], p->path[i + 1], &c);
			if (rc)
				return rc;
			printf("  ");
			report_check_summary(stdout, &c);
			report_check_free(&c);
		}
		return 0;
	}
	if (p->npath > 1) {
		printf("the route gets as far as:");
		for (i = 0; i < p->npath; i++) {
			history_label(hd, p->path[i], label, sizeof(label));
			printf("%s %s", i ? " ->" : "", label);
		}
		printf("\n");
	}
	if (p->has_break) {
		rc = run_hop(hd, p->break_from, p->break_to, &c);
		if (rc)
			return rc;
		report_check_print(stdout, &c);
		report_check_free(&c);
	}
	if (p->has_nearest) {
		char target[BATON_RELEASE_STRMAX + 32];

		history_label(hd, to, target, sizeof(target));
		history_label(hd, p->nearest, label, sizeof(label));
		printf("nearest release that reaches %s: %s (%s)\n", target, label,
		       hd->origins[p->nearest]);
	}
	return 0;
}

static int plan_json(const struct history_dir *hd, const struct baton_plan *p, size_t from,
		     size_t to, struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *path, *hops = NULL, *brk;
	char rel[BATON_RELEASE_STRMAX];
	struct report_check c;
	size_t i;
	int rc;

	path = history_releases_json(hd, p->path, p->npath);
	if (!o || !path)
		goto oom;
	json_object_object_add(o, "ok", json_object_new_boolean(p->ok));
	json_object_object_add(o, "program", json_object_new_string(hd->cats[to]->program->name));
	report_release(rel, &hd->cats[from]->program->release);
	json_object_object_add(o, "from", json_object_new_string(rel));
	report_release(rel, &hd->cats[to]->program->release);
	json_object_object_add(o, "to", json_object_new_string(rel));
	json_object_object_add(o, "path", path);
	path = NULL;
	json_object_object_add(o, "reason", json_object_new_string(p->reason));
	if (p->ok) {
		hops = json_object_new_array();
		if (!hops)
			goto oom;
		json_object_object_add(o, "hops", hops);
		for (i = 0; i + 1 < p->npath; i++) {
			rc = run_hop(hd, p->path[i], p->path[i + 1], &c);
			if (rc) {
				json_object_put(o);
				return rc;
			}
			json_object_array_add(hops, report_check_json(&c));
			report_check_free(&c);
		}
		*out = o;
		return 0;
	}
	if (p->has_break) {
		rc = run_hop(hd, p->break_from, p->break_to, &c);
		if (rc) {
			json_object_put(o);
			return rc;
		}
		brk = report_check_json(&c);
		report_check_free(&c);
		if (!brk)
			goto oom;
		json_object_object_add(brk, "reason",
				       json_object_new_string(p->break_decision.reason));
		json_object_object_add(o, "break", brk);
	}
	if (p->has_nearest) {
		report_release(rel, &hd->cats[p->nearest]->program->release);
		json_object_object_add(o, "nearest", json_object_new_string(rel));
	} else {
		json_object_object_add(o, "nearest", NULL);
	}
	*out = o;
	return 0;
oom:
	json_object_put(path);
	json_object_put(o);
	return history_engine_error("plan", -ENOMEM, NULL);
}

int cmd_plan(int argc, char **argv)
{
	struct json_object *o = NULL;
	struct history_dir hd;
	struct baton_plan plan;
	struct baton_diag d;
	long from, to;
	bool json = false;
	int rc;

	rc = cli_parse_simple(argc, argv, "DIR, FROM and TO", 3, usage, &json);
	if (rc >= 0)
		return rc;

	rc = history_load("plan", argv[optind], &hd);
	if (rc)
		return rc;
	/* FROM and TO join the history when they are not in it already */
	rc = history_resolve("plan", &hd, argv[optind + 1], true, &from, NULL);
	if (!rc)
		rc = history_resolve("plan", &hd, argv[optind + 2], true, &to, NULL);
	if (!rc && hd.n > hd.nloaded)
		rc = history_revalidate("plan", &hd);
	if (rc)
		goto out;

	baton_diag_clear(&d);
	rc = baton_history_plan(&hd.h, (size_t)from, (size_t)to, hd.work,
				BATON_HISTORY_WORK_LEN(hd.n), &plan, NULL, NULL, &d);
	if (rc < 0) {
		rc = history_engine_error("plan", rc, &d);
		goto out;
	}
	if (json) {
		int jrc = plan_json(&hd, &plan, (size_t)from, (size_t)to, &o);

		if (jrc) {
			rc = jrc;
			goto out;
		}
		report_json_print(stdout, o);
	} else {
		int prc = print_plan(&hd, &plan, (size_t)to);

		if (prc) {
			rc = prc;
			goto out;
		}
	}
	rc = plan.ok ? BATON_EXIT_OK : BATON_EXIT_FINDINGS;
out:
	history_free(&hd);
	if (fflush(stdout) != 0 && rc != BATON_EXIT_USAGE) {
		perror("baton plan: stdout");
		rc = BATON_EXIT_USAGE;
	}
	return rc;
}
