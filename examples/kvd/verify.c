/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd verify — the checks of a dry run (verify.h says what and why)
 *
 * Read-only walks over a region that may be damaged: every offset is
 * checked against the header's geometry before it is followed, and every
 * walk is bounded by the number of items the header claims, so a loop or a
 * wild offset ends in a failed check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

uint64_t kvd_fnv1a64(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

/* ------------------------------------------------------------------------ */
/* The store on its own                                                     */

/* The header's geometry, overflow-safe, before any offset is followed. */
static int geometry_ok(const struct kvd_region_hdr *h, char *why, size_t len)
{
	if (!h->page_size || h->pages_offset > h->region_size ||
	    h->npages > (h->region_size - h->pages_offset) / h->page_size ||
	    h->page_class_offset > h->pages_offset || h->npages > h->pages_offset - h->page_class_offset ||
	    h->pages_used > h->npages || h->nclasses < 1 || h->nclasses >= KVD_MAX_CLASSES) {
		snprintf(why, len, "the header's geometry does not add up");
		return -1;
	}
	for (unsigned c = 1; c <= h->nclasses; c++) {
		const struct kvd_class *k = &h->classes[c];

		if (k->size < sizeof(struct kvd_item) || k->size > h->page_size || k->perpage == 0 ||
		    (uint64_t)k->perpage * k->size > h->page_size) {
			snprintf(why, len, "size class %u (chunks of %u, %u per page) does not fit a page",
				 c, k->size, k->perpage);
			return -1;
		}
	}
	return 0;
}

/* The item at off, if off is the start of a chunk of the class that owns its page. */
static const struct kvd_item *item_at(const struct kvd_store *st, uint64_t off, char *why,
				      size_t len)
{
	const struct kvd_region_hdr *h = st->hdr;
	const struct kvd_item *it;
	uint64_t rel, page, in;
	unsigned cls;

	if (off < h->pages_offset || off - h->pages_offset >= h->npages * h->page_size) {
		snprintf(why, len, "offset %" PRIu64 " lies outside the slab pages", off);
		return NULL;
	}
	rel = off - h->pages_offset;
	page = rel / h->page_size;
	in = rel % h->page_size;
	cls = st->page_class[page];
	if (page >= h->pages_used || cls == 0 || cls > h->nclasses) {
		snprintf(why, len, "offset %" PRIu64 " lies in page %" PRIu64 ", which no class owns",
			 off, page);
		return NULL;
	}
	if (in % h->classes[cls].size || in / h->classes[cls].size >= h->classes[cls].perpage) {
		snprintf(why, len, "offset %" PRIu64 " is not a chunk of class %u", off, cls);
		return NULL;
	}
	it = (const struct kvd_item *)(const void *)(st->base + off);
	if (it->cls != cls || it->nkey == 0 ||
	    kvd_item_total(it->nkey, it->nbytes) > h->classes[cls].size) {
		snprintf(why, len, "the item at %" PRIu64 " (class %u, key %u bytes, value %u bytes) does not fit its chunk of class %u",
			 off, it->cls, it->nkey, it->nbytes, cls);
		return NULL;
	}
	return it;
}

int kvd_verify_store(const struct kvd_store *st, uint64_t *live, char *detail, size_t len)
{
	const struct kvd_region_hdr *h = st->hdr;
	uint64_t count = 0, bytes = 0, per_class[KVD_MAX_CLASSES] = { 0 }, sum = 0;
	char why[256];

	*live = 0;
	if (geometry_ok(h, detail, len) < 0)
		return -1;
	for (uint64_t b = 0; b < h->hash_buckets; b++) {
		for (uint64_t off = st->hash[b]; off;) {
			const struct kvd_item *it = item_at(st, off, why, sizeof(why));
			const char *key;

			if (!it) {
				snprintf(detail, len, "hash bucket %" PRIu64 ": %s", b, why);
				return -1;
			}
			if (++count > h->curr_items) {
				snprintf(detail, len,
					 "the hash chains hold more than the %" PRIu64 " items the header counts (or loop)",
					 h->curr_items);
				return -1;
			}
			key = (const char *)(it + 1);
			if ((it->iflags & (KVD_IT_LINKED | KVD_IT_FREE)) != KVD_IT_LINKED ||
			    (kvd_hash(key, it->nkey) & st->hash_mask) != b ||
			    memcmp(key + it->nkey + it->nbytes, "\r\n", 2) != 0) {
				snprintf(detail, len,
					 "the item at %" PRIu64 " in hash bucket %" PRIu64 " is not linked there (flags 0x%x) or its value does not end in CRLF",
					 off, b, it->iflags);
				return -1;
			}
			bytes += kvd_item_total(it->nkey, it->nbytes);
			per_class[it->cls]++;
			if (kvd_item_live(st, it))
				++*live;
			off = it->hnext;
		}
	}
	if (count != h->curr_items || bytes != h->bytes) {
		snprintf(detail, len,
			 "the hash chains hold %" PRIu64 " items of %" PRIu64 " bytes, the header says %" PRIu64 " of %" PRIu64,
			 count, bytes, h->curr_items, h->bytes);
		return -1;
	}
	for (unsigned c = 1; c <= h->nclasses; c++) {
		const struct kvd_class *k = &h->classes[c];
		uint64_t n = 0, prev = 0, off = k->lru_head;

		while (off) {
			const struct kvd_item *it = item_at(st, off, why, sizeof(why));

			if (!it) {
				snprintf(detail, len, "LRU of class %u: %s", c, why);
				return -1;
			}
			if (++n > k->items || it->cls != c || it->prev != prev ||
			    !(it->iflags & KVD_IT_LINKED)) {
				snprintf(detail, len,
					 "LRU of class %u: item %" PRIu64 " at %" PRIu64 " is not where the list says (or the list is longer than its %" PRIu64 " items)",
					 c, n, off, k->items);
				return -1;
			}
			prev = off;
			off = it->next;
		}
		if (n != k->items || prev != k->lru_tail || per_class[c] != k->items) {
			snprintf(detail, len,
				 "class %u: its LRU holds %" PRIu64 " items, the hash chains %" PRIu64 ", the class says %" PRIu64,
				 c, n, per_class[c], k->items);
			return -1;
		}
		sum += k->items;
	}
	if (sum != h->curr_items) {
		snprintf(detail, len, "the classes hold %" PRIu64 " items, the header says %" PRIu64, sum,
			 h->curr_items);
		return -1;
	}
	snprintf(detail, len, "%" PRIu64 " items (%" PRIu64 " live) of %" PRIu64 " bytes in %u classes, every chain and LRU list consistent",
		 count, *live, bytes, h->nclasses);
	return 0;
}

/* The live item with key, or NULL (checked as in kvd_verify_store). */
static const struct kvd_item *lookup(const struct kvd_store *st, const char *key, size_t nkey)
{
	uint64_t b = kvd_hash(key, nkey) & st->hash_mask, steps = 0;
	char why[128];

	for (uint64_t off = st->hash[b]; off && steps++ <= st->hdr->curr_items;) {
		const struct kvd_item *it = item_at(st, off, why, sizeof(why));

		if (!it)
			return NULL;
		if (it->nkey == nkey && memcmp(it + 1, key, nkey) == 0)
			return kvd_item_live(st, it) ? it : NULL;
		off = it->hnext;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Against the expectations file                                            */

enum { C_WRITER, C_LISTENERS, C_HEADER, C_COUNTERS, C_ITEMS, C_ABSENT, C_N };

static const char *const check_names[C_N] = {
	"kvd.expect.writer", "kvd.expect.listeners", "kvd.expect.header",
	"kvd.expect.counters", "kvd.expect.items", "kvd.expect.absent",
};

struct expect {
	unsigned lines[C_N];    /* facts of each kind */
	unsigned bad[C_N];      /* of which wrong */
	char first[C_N][320];   /* the first that was wrong */
	unsigned listeners_seen;
};

#define MISMATCH_LOGGED 20

static void wrong(struct expect *e, int kind, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void wrong(struct expect *e, int kind, unsigned line, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!e->bad[kind])
		snprintf(e->first[kind], sizeof(e->first[kind]), "line %u: %s", line, msg);
	if (e->bad[kind] < MISMATCH_LOGGED)
		kvd_log(3, "verify: line %u: %s", line, msg);
	e->bad[kind]++;
}

static bool header_value(const struct kvd_region_hdr *h, const char *name, uint64_t *v)
{
#define H(n) if (strcmp(name, #n) == 0) { *v = h->n; return true; }
	H(curr_items) H(total_items) H(bytes) H(evictions) H(reclaimed) H(expired_unfetched)
	H(evicted_unfetched) H(slabs_moved) H(limit_maxbytes) H(item_size_max) H(page_size)
	H(hash_buckets)
#undef H
	return false;
}

static bool counter_value(const struct kvd_stats *st, const char *name, uint64_t *v)
{
#define C(n) if (strcmp(name, #n) == 0) { *v = st->n; return true; }
	KVD_COUNTERS_V1(C)
#if KVD_CACHE_VERSION >= 2
	KVD_COUNTERS_NEW(C)
#endif
#undef C
	return false;
}

static bool parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !errno && !*end;
}

/* One line of the file; -EINVAL when it is not one. */
static int expect_line(const struct kvd_server *s, const struct kvd_restored *r, struct expect *e,
		       unsigned ln, char *line)
{
	char *t[8], *save = NULL;
	int n = 0;
	uint64_t a, b, c, d, x, v;

	for (char *p = strtok_r(line, " \t", &save); p && n < 8; p = strtok_r(NULL, " \t", &save))
		t[n++] = p;
	if (n == 0)
		return 0;
	if (strcmp(t[0], "writer") == 0 && n == 4 && parse_u64(t[3], 10, &v)) {
		e->lines[C_WRITER]++;
		if (strcmp(t[1], r->writer_program) || strcmp(t[2], r->writer_release) ||
		    v != r->writer_generation)
			wrong(e, C_WRITER, ln, "written by %s %s generation %" PRIu64 ", but the image says %s %s generation %" PRIu64,
			      t[1], t[2], v, r->writer_program, r->writer_release, r->writer_generation);
		return 0;
	}
	if (strcmp(t[0], "listener") == 0 && n == 3 && parse_u64(t[2], 10, &v)) {
		int i;

		e->lines[C_LISTENERS]++;
		for (i = 0; i < r->nlisteners; i++)
			if (strcmp(r->listeners[i].addr, t[1]) == 0 && r->listeners[i].port == v)
				break;
		if (i == r->nlisteners)
			wrong(e, C_LISTENERS, ln, "no listener %s port %" PRIu64 " was restored", t[1], v);
		else
			e->listeners_seen++;
		return 0;
	}
	if ((strcmp(t[0], "header") == 0 || strcmp(t[0], "counter") == 0) && n == 3 &&
	    parse_u64(t[2], 10, &v)) {
		bool header = t[0][0] == 'h';
		int kind = header ? C_HEADER : C_COUNTERS;

		e->lines[kind]++;
		if (!(header ? header_value(s->st.hdr, t[1], &x) : counter_value(&s->stats, t[1], &x)))
			wrong(e, kind, ln, "%s %s is unknown to kvd %s", t[0], t[1], KVD_RELEASE);
		else if (x != v)
			wrong(e, kind, ln, "%s %s is %" PRIu64 ", expected %" PRIu64, t[0], t[1], x, v);
		return 0;
	}
	if (strcmp(t[0], "item") == 0 && n == 7 && parse_u64(t[2], 10, &a) && parse_u64(t[3], 10, &b) &&
	    parse_u64(t[4], 10, &c) && parse_u64(t[5], 10, &d) && parse_u64(t[6], 16, &x)) {
		size_t nkey = strlen(t[1]);
		const struct kvd_item *it = nkey <= KVD_KEY_MAX ? lookup(&s->st, t[1], nkey) : NULL;

		e->lines[C_ITEMS]++;
		if (!it)
			wrong(e, C_ITEMS, ln, "item %s is missing", t[1]);
		else if (it->flags != a || it->exptime != b || it->nbytes != c || it->cas != d)
			wrong(e, C_ITEMS, ln,
			      "item %s: flags %u exptime %u length %u cas %" PRIu64 ", expected %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
			      t[1], it->flags, it->exptime, it->nbytes, it->cas, a, b, c, d);
		else if (kvd_fnv1a64((const char *)(it + 1) + it->nkey, it->nbytes) != x)
			wrong(e, C_ITEMS, ln, "item %s: the value's %u bytes differ", t[1], it->nbytes);
		return 0;
	}
	if (strcmp(t[0], "absent") == 0 && n == 2) {
		e->lines[C_ABSENT]++;
		if (strlen(t[1]) <= KVD_KEY_MAX && lookup(&s->st, t[1], strlen(t[1])))
			wrong(e, C_ABSENT, ln, "item %s is there; it was deleted or expired", t[1]);
		return 0;
	}
	return -EINVAL;
}

int kvd_verify_expect(const struct kvd_server *s, const struct kvd_restored *r, const char *path,
		      kvd_check_fn fn, void *ctx)
{
	struct expect *e = calloc(1, sizeof(*e));
	char line[1024], detail[400];
	unsigned ln = 0;
	uint64_t live = 0;
	int failed = 0, rc = 0;
	bool magic = false;
	FILE *f;

	if (!e)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(detail, sizeof(detail), "%s: %s", path, strerror(errno));
		goto bad;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		ln++;
		if (n && line[n - 1] != '\n' && !feof(f)) {
			snprintf(detail, sizeof(detail), "%s:%u: line too long", path, ln);
			rc = -EINVAL;
			goto bad;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!magic) {
			if (strcmp(line, "kvd-expect 1") != 0) {
				snprintf(detail, sizeof(detail), "%s: not a kvd-expect 1 file", path);
				rc = -EINVAL;
				goto bad;
			}
			magic = true;
			continue;
		}
		if (expect_line(s, r, e, ln, line) < 0) {
			snprintf(detail, sizeof(detail), "%s:%u: not an expectation", path, ln);
			rc = -EINVAL;
			goto bad;
		}
	}
	fclose(f);
	f = NULL;
	if (!e->lines[C_WRITER] || !e->lines[C_ITEMS]) {
		snprintf(detail, sizeof(detail), "%s names no writer or no item: not an expectations file of a golden image",
			 path);
		rc = -EINVAL;
		goto bad;
	}
	/* Nothing more than expected: every live item is listed. */
	kvd_verify_store(&s->st, &live, detail, sizeof(detail));
	if (live != e->lines[C_ITEMS])
		wrong(e, C_ITEMS, ln, "the cache holds %" PRIu64 " live items, the file lists %u",
		      live, e->lines[C_ITEMS]);
	if ((int)e->listeners_seen != r->nlisteners && !e->bad[C_LISTENERS])
		wrong(e, C_LISTENERS, ln, "%d listeners were restored, the file lists %u",
		      r->nlisteners, e->lines[C_LISTENERS]);
	for (int k = 0; k < C_N; k++) {
		if (!e->lines[k] && !e->bad[k])
			continue;
		if (e->bad[k])
			snprintf(detail, sizeof(detail), "%u of %u wrong; first: %s", e->bad[k],
				 e->lines[k], e->first[k]);
		else
			snprintf(detail, sizeof(detail), "%u as expected", e->lines[k]);
		fn(ctx, check_names[k], e->bad[k] == 0, detail);
		failed += e->bad[k] != 0;
	}
	free(e);
	return failed;
bad:
	if (f)
		fclose(f);
	fn(ctx, "kvd.expect", false, detail);
	free(e);
	return rc;
}
