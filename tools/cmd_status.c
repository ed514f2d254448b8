/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton status — what a running program is and where its state came from
 *
 * Asks the program's runtime over its control socket (TARGET: the path, or
 * the pid) and prints its program, release, build id, pid, generation and,
 * when its state was handed over, the writer's program, release, build id
 * and generation, when that writer froze and how long the handover took.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <baton/baton.h>

#include "cli.h"
#include "ctl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton status [--json] TARGET\n"
		"\n"
		"Shows the program serving at TARGET (its control socket, or its pid):\n"
		"program, release, build id, pid, generation, and where its state came from.\n"
		"Exit status: 0 success, 2 usage or connection error.\n");
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cmd_status(int argc, char **argv)
{
	char path[PATH_MAX], err[1024], build[2 * BATON_BUILD_ID_MAX + 8];
	char wbuild[2 * BATON_BUILD_ID_MAX + 8], when[64] = "";
	struct ctl_status s;
	bool json = false;
	double ago = 0, took = 0;
	int rc;

	rc = cli_parse_simple(argc, argv, "one TARGET (control socket or pid)", 1, usage, &json);
	if (rc >= 0)
		return rc;
	if (ctl_resolve(argv[optind], path, sizeof(path), err, sizeof(err)) < 0 ||
	    ctl_status(path, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "baton status: %s\n", err);
		return BATON_EXIT_USAGE;
	}
	baton_build_id_format(&s.build_id, build, sizeof(build));
	baton_build_id_format(&s.writer_build_id, wbuild, sizeof(wbuild));
	if (s.restored) {
		/* Both clocks are this machine's CLOCK_MONOTONIC. */
		time_t t;
		struct tm tm;

		ago = (double)(mono_ns() - s.frozen_at_ns) / 1e9;
		took = (double)(s.restored_at_ns - s.frozen_at_ns) / 1e6;
		t = time(NULL) - (time_t)ago;
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (json) {
		struct json_object *j = json_object_new_object(), *o;

		json_object_object_add(j, "target", json_object_new_string(path));
		json_object_object_add(j, "program", json_object_new_string(s.program));
		json_object_object_add(j, "release", json_object_new_string(s.release));
		json_object_object_add(j, "build_id", json_object_new_string(build));
		json_object_object_add(j, "pid", json_object_new_int(s.pid));
		json_object_object_add(j, "generation", json_object_new_int64((int64_t)s.generation));
		if (s.restored) {
			o = json_object_new_object();
			json_object_object_add(o, "program", json_object_new_string(s.writer_program));
			json_object_object_add(o, "release", json_object_new_string(s.writer_release));
			json_object_object_add(o, "build_id", json_object_new_string(wbuild));
			json_object_object_add(o, "generation",
					       json_object_new_int64((int64_t)s.writer_generation));
			json_object_object_add(o, "frozen_at", json_object_new_string(when));
			json_object_object_add(o, "seconds_ago", json_object_new_double(ago));
			json_object_object_add(o, "handover_ms", json_object_new_double(took));
			json_object_object_add(j, "origin", o);
		} else {
			json_object_object_add(j, "origin", NULL);
		}
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
		return BATON_EXIT_OK;
	}
	printf("program     %s\n", s.program);
	printf("release     %s\n", s.release);
	printf("build id    %s\n", build);
	printf("pid         %d\n", s.pid);
	printf("generation  %llu\n", (unsigned long long)s.generation);
	if (s.restored)
		printf("state from  %s %s (build %s, generation %llu), frozen at %s (%.1f s ago), handed over in %.3f ms\n",
		       s.writer_program, s.writer_release, wbuild,
		       (unsigned long long)s.writer_generation, when, ago, took);
	else
		printf("state from  a cold start\n");
	return BATON_EXIT_OK;
}
