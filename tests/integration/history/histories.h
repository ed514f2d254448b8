/* SPDX-License-Identifier: MIT */
/*
 * DOC: history tests — synthetic releases from one line each
 *
 * A history test needs many small releases. Each is described in one line
 * and built with the core builder, so the tests read like the histories
 * they model:
 *
 *	rel_make(&r, "1.1.0", "patch,next-minor", "cache=2/1,2 listener=1/1");
 *
 * Handlers are separated by spaces: NAME=W/R, where NAME is the handler and
 * its contract (one of the contracts below), W the version it writes ("-":
 * nothing; a trailing "?" marks its objects optional) and R the versions of
 * its own contract it reads ("-": none). "+OTHER:1,2" after R adds reads of
 * another contract (a handler adopting its predecessor's objects). Every
 * (contract, version) used gets a schema whose layout depends only on the
 * version, so the layouts agree between releases (rule 6 holds).
 */
#ifndef BATON_TESTS_HISTORY_HISTORIES_H
#define BATON_TESTS_HISTORY_HISTORIES_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <baton/history.h>

static const struct {
	const char *name;
	const char *uuid;
} test_contracts[] = {
	{ "cache", "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f" },
	{ "listener", "0b7e6a52-31c4-4f0e-9d2a-7c5b3e1f8a90" },
	{ "stats", "a1b2c3d4-0000-4000-8000-00000000c0de" },
	{ "oldcache", "f00dcafe-1234-4567-89ab-cdef01234567" },
};

static inline const char *contract_uuid(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(test_contracts) / sizeof(test_contracts[0]); i++)
		if (strlen(test_contracts[i].name) == len &&
		    memcmp(test_contracts[i].name, name, len) == 0)
			return test_contracts[i].uuid;
	fprintf(stderr, "histories.h: unknown contract %.*s\n", (int)len, name);
	abort();
}

struct rel {
	uint64_t buf[4096];   /* 32 KiB, 8-byte aligned */
	struct baton_catalog cat;
	struct baton_build_id build;
	char name[32];        /* its "origin", e.g. "1.2.0.json" */
};

struct cv_used {
	const char *contract;
	uint32_t version;
};

static inline void used_add(struct cv_used *u, size_t *n, const char *contract, uint32_t version)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (u[i].contract == contract && u[i].version == version)
			return;
	u[*n].contract = contract;
	u[*n].version = version;
	(*n)++;
}

/* Parses "1,2,3" (or "-") into versions; returns the count. */
static inline uint32_t parse_versions(const char *s, size_t len, uint32_t *out)
{
	uint32_t n = 0;
	size_t i = 0;

	if (len == 1 && s[0] == '-')
		return 0;
	while (i < len) {
		out[n++] = (uint32_t)strtoul(s + i, NULL, 10);
		while (i < len && s[i] != ',')
			i++;
		i++;
	}
	return n;
}

/*
 * Builds and opens one release; build_tag != 0 gives it a build id of its
 * own (two builds of one release), 0 derives the build id from the release.
 * Returns the open's result.
 */
static inline int rel_make_build(struct rel *r, const char *release, const char *policy,
				 const char *spec, uint8_t build_tag)
{
	struct baton_catalog_builder b;
	struct baton_policy_rule rules[BATON_MAX_POLICY_RULES];
	struct baton_release rv;
	struct cv_used used[64];
	size_t nrules = 0, nused = 0, len, i;
	const char *p;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s%s.json", release, build_tag ? "+b" : "");
	if (baton_release_parse(&rv, release, strlen(release), NULL) < 0)
		abort();
	for (p = policy; p && *p;) {
		size_t n = strcspn(p, ",");

		if (baton_policy_rule_parse(&rules[nrules++], p, n, NULL) < 0)
			abort();
		p += n + (p[n] == ',');
	}
	baton_catalog_builder_init(&b, r->buf, sizeof(r->buf));
	baton_catalog_add_program(&b, "svc", &rv, rules, nrules);

	for (p = spec; p && *p;) {
		size_t n = strcspn(p, " "), eq = strcspn(p, "="), slash;
		const char *item = p, *contract = contract_uuid(item, eq);
		char hname[32];
		struct baton_cv cv = { .version = 0 };
		struct baton_read reads[2];
		const char *read_contract[2] = { contract, NULL };
		size_t nreads = 0, plus;
		uint32_t flags = 0;

		memset(reads, 0, sizeof(reads));
		snprintf(hname, sizeof(hname), "%.*s", (int)eq, item);
		slash = eq + strcspn(item + eq, "/");
		if (item[eq + 1] != '-') {
			cv.version = (uint32_t)strtoul(item + eq + 1, NULL, 10);
			strcpy(cv.contract, contract);
			flags |= BATON_HANDLER_WRITES;
			if (item[slash - 1] == '?')
				flags |= BATON_HANDLER_OPTIONAL;
			used_add(used, &nused, contract, cv.version);
		}
		plus = slash + 1 + strcspn(item + slash + 1, "+ ");
		if (plus > n)
			plus = n;
		reads[0].nversions = parse_versions(item + slash + 1, plus - slash - 1,
						    reads[0].versions);
		if (reads[0].nversions) {
			strcpy(reads[0].contract, contract);
			nreads++;
		} else {
			read_contract[0] = NULL;
		}
		if (plus < n && item[plus] == '+') {
			size_t colon = plus + 1 + strcspn(item + plus + 1, ":");
			const char *other = contract_uuid(item + plus + 1, colon - plus - 1);

			strcpy(reads[nreads].contract, other);
			read_contract[nreads] = other;
			reads[nreads].nversions = parse_versions(item + colon + 1, n - colon - 1,
								 reads[nreads].versions);
			nreads++;
		}
		for (i = 0; i < nreads; i++) {
			uint32_t v;

			for (v = 0; v < reads[i].nversions; v++)
				used_add(used, &nused, read_contract[i], reads[i].versions[v]);
		}
		baton_catalog_add_handler(&b, hname, flags, (flags & BATON_HANDLER_WRITES) ? &cv : NULL,
					  reads, nreads);
		p += n;
		while (*p == ' ')
			p++;
	}
	for (i = 0; i < nused; i++) {
		struct baton_field f[2];
		char cname[16];
		size_t c;

		memset(f, 0, sizeof(f));
		snprintf(f[0].name, sizeof(f[0].name), "count");
		f[0].type = BATON_T_U64;
		snprintf(f[1].name, sizeof(f[1].name), "v%u", used[i].version);
		f[1].type = BATON_T_U32;
		for (c = 0; strcmp(test_contracts[c].uuid, used[i].contract) != 0; c++)
			;
		snprintf(cname, sizeof(cname), "svc.%s", test_contracts[c].name);
		baton_catalog_add_schema(&b, used[i].contract, cname, used[i].version, f, 2);
	}
	rc = baton_catalog_builder_finish(&b, &len);
	if (rc < 0)
		return rc;
	r->build.len = 4;
	r->build.b[0] = (uint8_t)rv.major;
	r->build.b[1] = (uint8_t)rv.minor;
	r->build.b[2] = (uint8_t)rv.patch;
	r->build.b[3] = build_tag ? build_tag : 0xb1;
	return baton_catalog_open(&r->cat, r->buf, len, &r->build, NULL);
}

#endif /* BATON_TESTS_HISTORY_HISTORIES_H */
