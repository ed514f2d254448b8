/* SPDX-License-Identifier: MIT */
/*
 * DOC: fault injection — the counters behind BATON_FAULT
 *
 * See fault.h. The armed points live in one static table, parsed from the
 * environment on first use; a test that changes BATON_FAULT calls
 * baton__fault_reset(). Not thread-safe, like the rest of a test's set-up.
 */
#include <stdlib.h>
#include <string.h>

#include "fault.h"

#if defined(BATON_FAULT_INJECTION) && BATON_FAULT_INJECTION

#define FAULT_MAX 16
#define FAULT_NAME_MAX 32

static struct {
	bool parsed;
	unsigned int n;
	struct {
		char name[FAULT_NAME_MAX];
		unsigned long when;   /* fire on this pass */
		unsigned long passes;
	} point[FAULT_MAX];
} fault_state;

static void fault_parse(void)
{
	const char *s = getenv("BATON_FAULT");

	fault_state.parsed = true;
	fault_state.n = 0;
	while (s && *s && fault_state.n < FAULT_MAX) {
		size_t len = strcspn(s, ",");
		size_t nlen = strcspn(s, ":,");
		unsigned long when = 1;

		if (nlen < FAULT_NAME_MAX && nlen > 0) {
			if (nlen < len)
				when = strtoul(s + nlen + 1, NULL, 10);
			memcpy(fault_state.point[fault_state.n].name, s, nlen);
			fault_state.point[fault_state.n].name[nlen] = '\0';
			fault_state.point[fault_state.n].when = when ? when : 1;
			fault_state.point[fault_state.n].passes = 0;
			fault_state.n++;
		}
		s += len;
		if (*s == ',')
			s++;
	}
}

bool baton__fault(const char *name)
{
	unsigned int i;

	if (!fault_state.parsed)
		fault_parse();
	for (i = 0; i < fault_state.n; i++) {
		if (strcmp(fault_state.point[i].name, name) != 0)
			continue;
		if (++fault_state.point[i].passes == fault_state.point[i].when)
			return true;
	}
	return false;
}

void baton__fault_reset(void)
{
	fault_state.parsed = false;
}

#endif
