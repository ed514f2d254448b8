/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd store — slab allocator, hash index and LRU inside the region
 *
 * Everything here works on offsets into one region (store.h describes the
 * layout). Per-request work is O(1): a hash chain, a free list or a carve
 * pointer, an LRU tail. The one bounded exception is the page mover, which
 * empties one slab page of the fullest class when a class that owns no
 * memory needs some and no page is left; it visits the chunks of one page.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "store.h"

#define KVD_EVICT_SEARCH 5  /* tail items looked at for an expired one */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

uint64_t kvd_hash(const char *key, size_t nkey)
{
	return XXH3_64bits(key, nkey);
}

int kvd_geometry(struct kvd_geometry *g, uint64_t limit, uint64_t item_size_max)
{
	uint64_t buckets = 1024;

	memset(g, 0, sizeof(*g));
	if (item_size_max < 1024 || item_size_max > (256u << 20))
		return -ERANGE;
	g->page_size = item_size_max > KVD_PAGE_MIN ? round_up(item_size_max, 4096) : KVD_PAGE_MIN;
	if (limit < 2 * g->page_size)
		return -ENOSPC;
	g->npages = limit / g->page_size;
	g->limit = limit;
	g->item_size_max = item_size_max;
	while (buckets < limit / 512)
		buckets <<= 1;
	g->hash_buckets = buckets;
	g->hash_offset = KVD_HDR_SIZE;
	g->page_class_offset = g->hash_offset + buckets * sizeof(uint64_t);
	g->pages_offset = round_up(g->page_class_offset + g->npages, 4096);
	g->region_size = g->pages_offset + g->npages * g->page_size;
	return 0;
}

static void set_view(struct kvd_store *st, void *base, uint32_t layout)
{
	st->base = base;
	st->hdr = base;
	st->hash = (uint64_t *)(void *)(st->base + st->hdr->hash_offset);
	st->page_class = st->base + st->hdr->page_class_offset;
	st->hash_mask = st->hdr->hash_buckets - 1;
	st->layout = layout;
}

void kvd_store_format(struct kvd_store *st, void *base, const struct kvd_geometry *g,
		      uint32_t layout, uint32_t now)
{
	struct kvd_region_hdr *h = base;
	uint64_t size = KVD_CHUNK_MIN;
	uint32_t n = 0;

	h->magic = KVD_REGION_MAGIC;
	h->layout = layout;
	h->header_size = KVD_HDR_SIZE;
	h->region_size = g->region_size;
	h->hash_offset = g->hash_offset;
	h->hash_buckets = g->hash_buckets;
	h->page_class_offset = g->page_class_offset;
	h->pages_offset = g->pages_offset;
	h->page_size = g->page_size;
	h->npages = g->npages;
	h->limit_maxbytes = g->limit;
	h->item_size_max = g->item_size_max;
	h->created_at = now;
	h->cas_next = 1;
	while (size <= g->page_size / 2 && n < KVD_MAX_CLASSES - 2) {
		struct kvd_class *c = &h->classes[++n];

		c->size = (uint32_t)size;
		c->perpage = (uint32_t)(g->page_size / size);
		size = round_up(size * KVD_GROWTH_NUM / KVD_GROWTH_DEN, 8);
	}
	h->classes[++n].size = (uint32_t)g->page_size;
	h->classes[n].perpage = 1;
	h->nclasses = n;
	set_view(st, base, layout);
}

int kvd_store_check(const void *base, uint64_t size, uint32_t max_layout, char *err,
		    size_t errlen)
{
	const struct kvd_region_hdr *h = base;
	uint64_t end;

	if (size < KVD_HDR_SIZE) {
		snprintf(err, errlen, "region of %llu bytes is smaller than its header",
			 (unsigned long long)size);
		return -EINVAL;
	}
	if (h->magic != KVD_REGION_MAGIC || h->header_size != KVD_HDR_SIZE) {
		snprintf(err, errlen, "region is not a kvd cache (bad magic or header size)");
		return -EINVAL;
	}
	if (h->layout < KVD_LAYOUT_V1 || h->layout > max_layout) {
		snprintf(err, errlen, "region layout %u is not one this release reads (1..%u)",
			 h->layout, max_layout);
		return -EINVAL;
	}
	/* Each product and sum below is bounded first: the header may be damaged. */
	if (h->page_size == 0 || h->pages_offset > size ||
	    h->npages > (size - h->pages_offset) / h->page_size ||
	    h->hash_offset > size || h->hash_buckets > (size - h->hash_offset) / 8) {
		snprintf(err, errlen, "region geometry does not add up (size %llu)",
			 (unsigned long long)size);
		return -EINVAL;
	}
	end = h->pages_offset + h->npages * h->page_size;
	if (h->region_size != size || end > size || h->hash_buckets == 0 ||
	    (h->hash_buckets & (h->hash_buckets - 1)) ||
	    h->hash_offset < KVD_HDR_SIZE ||
	    h->page_class_offset != h->hash_offset + h->hash_buckets * 8 ||
	    h->pages_offset < h->page_class_offset + h->npages ||
	    h->nclasses < 1 || h->nclasses >= KVD_MAX_CLASSES || h->pages_used > h->npages) {
		snprintf(err, errlen, "region geometry does not add up (size %llu)",
			 (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

void kvd_store_adopt(struct kvd_store *st, void *base, uint32_t layout)
{
	set_view(st, base, layout);
}

void kvd_store_upgrade_layout(struct kvd_store *st)
{
	/*
	 * Layout 1 to 2 needs no walk: items of layout 1 have atime 0, which
	 * layout 2 reads as "not bumped since the upgrade", and the per-class
	 * statistics were reserved zero bytes in layout 1.
	 */
	if (st->hdr->layout < st->layout)
		st->hdr->layout = st->layout;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                    */

static void lru_unlink(struct kvd_store *st, struct kvd_class *c, struct kvd_item *it)
{
	if (it->prev)
		kvd_item_at(st, it->prev)->next = it->next;
	else
		c->lru_head = it->next;
	if (it->next)
		kvd_item_at(st, it->next)->prev = it->prev;
	else
		c->lru_tail = it->prev;
	it->prev = it->next = 0;
}

static void lru_push_head(struct kvd_store *st, struct kvd_class *c, struct kvd_item *it)
{
	uint64_t off = kvd_item_off(st, it);

	it->prev = 0;
	it->next = c->lru_head;
	if (c->lru_head)
		kvd_item_at(st, c->lru_head)->prev = off;
	else
		c->lru_tail = off;
	c->lru_head = off;
}

static void free_remove(struct kvd_store *st, struct kvd_class *c, struct kvd_item *it)
{
	if (it->prev)
		kvd_item_at(st, it->prev)->next = it->next;
	else
		c->free_head = it->next;
	if (it->next)
		kvd_item_at(st, it->next)->prev = it->prev;
	c->nfree--;
}

static void hash_remove(struct kvd_store *st, struct kvd_item *it, uint64_t hv)
{
	uint64_t off = kvd_item_off(st, it);
	uint64_t *link = &st->hash[hv & st->hash_mask];

	while (*link && *link != off)
		link = &kvd_item_at(st, *link)->hnext;
	if (*link)
		*link = it->hnext;
	it->hnext = 0;
}

/* ------------------------------------------------------------------------ */
/* Items                                                                    */

static bool item_dead(const struct kvd_store *st, const struct kvd_item *it, int *why)
{
	const struct kvd_region_hdr *h = st->hdr;

	if (it->cas < h->flush_cas || (h->flush_at && st->now >= h->flush_at && it->time < h->flush_at)) {
		*why = 2;
		return true;
	}
	if (it->exptime && it->exptime <= st->now) {
		*why = 1;
		return true;
	}
	return false;
}

bool kvd_item_live(const struct kvd_store *st, const struct kvd_item *it)
{
	int why;

	return !item_dead(st, it, &why);
}

void kvd_free(struct kvd_store *st, struct kvd_item *it)
{
	struct kvd_class *c = &st->hdr->classes[it->cls];

	it->iflags = KVD_IT_FREE;
	it->prev = 0;
	it->next = c->free_head;
	if (c->free_head)
		kvd_item_at(st, c->free_head)->prev = kvd_item_off(st, it);
	c->free_head = kvd_item_off(st, it);
	c->nfree++;
}

static void unlink_item(struct kvd_store *st, struct kvd_item *it, uint64_t hv)
{
	struct kvd_class *c = &st->hdr->classes[it->cls];

	hash_remove(st, it, hv);
	lru_unlink(st, c, it);
	c->items--;
	st->hdr->curr_items--;
	st->hdr->bytes -= kvd_item_total(it->nkey, it->nbytes);
	it->iflags &= (uint8_t)~KVD_IT_LINKED;
}

void kvd_unlink(struct kvd_store *st, struct kvd_item *it, uint64_t hv)
{
	unlink_item(st, it, hv);
	kvd_free(st, it);
}

struct kvd_item *kvd_find(struct kvd_store *st, const char *key, size_t nkey, uint64_t hv,
			  int *why_miss)
{
	uint64_t off = st->hash[hv & st->hash_mask];
	int why = 0;

	while (off) {
		struct kvd_item *it = kvd_item_at(st, off);

		if (it->nkey == nkey && memcmp(kvd_item_key(it), key, nkey) == 0) {
			if (item_dead(st, it, &why)) {
				if (!(it->iflags & KVD_IT_FETCHED) && why == 1)
					st->hdr->expired_unfetched++;
				kvd_unlink(st, it, hv);
				break;
			}
			if (why_miss)
				*why_miss = 0;
			return it;
		}
		off = it->hnext;
	}
	if (why_miss)
		*why_miss = why;
	return NULL;
}

void kvd_touch_lru(struct kvd_store *st, struct kvd_item *it)
{
	struct kvd_class *c = &st->hdr->classes[it->cls];

	if (!(it->iflags & KVD_IT_FETCHED))
		it->iflags |= KVD_IT_FETCHED;
	if (st->hdr->layout >= KVD_LAYOUT_V2) {
		/* Bump at most once a minute: a hot key costs no writes. */
		if (it->atime && st->now - it->atime < KVD_BUMP_INTERVAL)
			return;
		it->atime = st->now;
	}
	if (c->lru_head != kvd_item_off(st, it)) {
		lru_unlink(st, c, it);
		lru_push_head(st, c, it);
	}
}

static unsigned class_for(const struct kvd_region_hdr *h, uint64_t total)
{
	unsigned lo = 1, hi = h->nclasses;

	if (total > h->classes[hi].size)
		return 0;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (h->classes[mid].size >= total)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static uint32_t item_age_base(const struct kvd_item *it)
{
	return it->atime ? it->atime : it->time;
}

/* Evicts or reclaims one item of class c other than pin; false if none. */
static bool evict_one(struct kvd_store *st, unsigned cls, const struct kvd_item *pin)
{
	struct kvd_class *c = &st->hdr->classes[cls];
	struct kvd_class_stats *cs = kvd_cstats(st, cls);
	struct kvd_item *victim = NULL;
	uint64_t off = c->lru_tail;
	int why;

	for (int i = 0; off && i < KVD_EVICT_SEARCH; i++) {
		struct kvd_item *it = kvd_item_at(st, off);

		off = it->prev;
		if (it == pin)
			continue;
		if (item_dead(st, it, &why)) {
			st->hdr->reclaimed++;
			if (cs)
				cs->reclaimed++;
			kvd_unlink(st, it, kvd_hash(kvd_item_key(it), it->nkey));
			return true;
		}
		if (!victim)
			victim = it;
	}
	if (!victim)
		return false;
	st->hdr->evictions++;
	if (!(victim->iflags & KVD_IT_FETCHED))
		st->hdr->evicted_unfetched++;
	if (cs) {
		cs->evicted++;
		if (victim->exptime)
			cs->evicted_nonzero++;
		if (!(victim->iflags & KVD_IT_FETCHED))
			cs->evicted_unfetched++;
		cs->evicted_time = st->now - item_age_base(victim);
	}
	kvd_unlink(st, victim, kvd_hash(kvd_item_key(victim), victim->nkey));
	return true;
}

static uint8_t *page_at(const struct kvd_store *st, uint64_t p)
{
	return st->base + st->hdr->pages_offset + p * st->hdr->page_size;
}

static void give_page(struct kvd_store *st, unsigned cls, uint64_t p)
{
	struct kvd_class *c = &st->hdr->classes[cls];

	st->page_class[p] = (uint8_t)cls;
	c->pages++;
	c->carve = kvd_item_off(st, (struct kvd_item *)(void *)page_at(st, p));
	c->carve_end = c->carve + (uint64_t)c->perpage * c->size;
}

/*
 * Empties one page of the class with the most pages (never cls, never the
 * page holding pin) and gives it to cls. Visits the chunks of one page.
 */
static bool move_page(struct kvd_store *st, unsigned cls, const struct kvd_item *pin)
{
	struct kvd_region_hdr *h = st->hdr;
	unsigned victim = 0;
	uint64_t p, carved;
	struct kvd_class *v;
	uint8_t *page;

	for (unsigned i = 1; i <= h->nclasses; i++)
		if (i != cls && h->classes[i].pages > 0 &&
		    (!victim || h->classes[i].pages > h->classes[victim].pages))
			victim = i;
	if (!victim)
		return false;
	v = &h->classes[victim];
	/* Prefer the page of the victim class's least recently used item. */
	if (v->lru_tail && kvd_item_at(st, v->lru_tail) != pin)
		p = (v->lru_tail - h->pages_offset) / h->page_size;
	else
		for (p = 0; p < h->pages_used; p++)
			if (st->page_class[p] == victim &&
			    !(pin && (uint64_t)((const uint8_t *)pin - page_at(st, p)) < h->page_size))
				break;
	if (p >= h->pages_used)
		return false;
	page = page_at(st, p);
	carved = v->perpage;
	if (v->carve && v->carve >= kvd_item_off(st, (struct kvd_item *)(void *)page) &&
	    v->carve < kvd_item_off(st, (struct kvd_item *)(void *)page) + h->page_size)
		carved = (v->carve - kvd_item_off(st, (struct kvd_item *)(void *)page)) / v->size;
	for (uint64_t i = 0; i < carved; i++) {
		struct kvd_item *it = (struct kvd_item *)(void *)(page + i * v->size);

		if (it == pin)
			return false;
	}
	for (uint64_t i = 0; i < carved; i++) {
		struct kvd_item *it = (struct kvd_item *)(void *)(page + i * v->size);

		if (it->iflags & KVD_IT_LINKED) {
			struct kvd_class_stats *cs = kvd_cstats(st, victim);

			h->evictions++;
			if (cs)
				cs->evicted++;
			unlink_item(st, it, kvd_hash(kvd_item_key(it), it->nkey));
		} else if (it->iflags & KVD_IT_FREE) {
			free_remove(st, v, it);
		}
	}
	if (carved != v->perpage)
		v->carve = v->carve_end = 0;
	v->pages--;
	h->slabs_moved++;
	give_page(st, cls, p);
	return true;
}

static struct kvd_item *take_chunk(struct kvd_store *st, struct kvd_class *c)
{
	struct kvd_item *it = NULL;

	if (c->free_head) {
		it = kvd_item_at(st, c->free_head);
		free_remove(st, c, it);
	} else if (c->carve) {
		it = kvd_item_at(st, c->carve);
		c->carve += c->size;
		if (c->carve + c->size > c->carve_end)
			c->carve = c->carve_end = 0;
	}
	return it;
}

static struct kvd_item *alloc_chunk(struct kvd_store *st, unsigned cls, const struct kvd_item *pin)
{
	struct kvd_region_hdr *h = st->hdr;
	struct kvd_class *c = &h->classes[cls];
	struct kvd_item *it = take_chunk(st, c);

	if (it)
		return it;
	if (h->pages_used < h->npages) {
		give_page(st, cls, h->pages_used++);
		return take_chunk(st, c);
	}
	if (evict_one(st, cls, pin) || move_page(st, cls, pin))
		return take_chunk(st, c);
	return NULL;
}

struct kvd_item *kvd_alloc(struct kvd_store *st, const char *key, size_t nkey,
			   uint64_t nbytes, bool *too_large, const struct kvd_item *pin)
{
	uint64_t total = kvd_item_total((uint32_t)nkey, nbytes);
	unsigned cls;
	struct kvd_item *it;

	*too_large = false;
	if (total > st->hdr->item_size_max || !(cls = class_for(st->hdr, total))) {
		*too_large = true;
		return NULL;
	}
	it = alloc_chunk(st, cls, pin);
	if (!it) {
		struct kvd_class_stats *cs = kvd_cstats(st, cls);

		if (cs)
			cs->outofmemory++;
		return NULL;
	}
	memset(it, 0, sizeof(*it));
	it->cls = (uint8_t)cls;
	it->nkey = (uint8_t)nkey;
	it->nbytes = (uint32_t)nbytes;
	memcpy(kvd_item_key(it), key, nkey);
	memcpy(kvd_item_value(it) + nbytes, "\r\n", 2);
	return it;
}

void kvd_link(struct kvd_store *st, struct kvd_item *it, uint64_t hv, struct kvd_item *old)
{
	struct kvd_region_hdr *h = st->hdr;
	struct kvd_class *c = &h->classes[it->cls];
	uint64_t *bucket = &st->hash[hv & st->hash_mask];

	if (old)
		kvd_unlink(st, old, hv);
	it->cas = h->cas_next++;
	it->time = st->now;
	it->atime = st->layout >= KVD_LAYOUT_V2 && h->layout >= KVD_LAYOUT_V2 ? st->now : 0;
	it->iflags = (uint8_t)((it->iflags & KVD_IT_FETCHED) | KVD_IT_LINKED);
	it->hnext = *bucket;
	*bucket = kvd_item_off(st, it);
	lru_push_head(st, c, it);
	c->items++;
	h->curr_items++;
	h->total_items++;
	h->bytes += kvd_item_total(it->nkey, it->nbytes);
}

void kvd_flush(struct kvd_store *st, uint32_t delay)
{
	uint32_t at = delay ? kvd_exptime(delay, st->now) : 0;

	if (at <= st->now) {
		st->hdr->flush_cas = st->hdr->cas_next;
		st->hdr->flush_at = 0;
	} else {
		st->hdr->flush_at = at;
	}
}

uint32_t kvd_exptime(int64_t e, uint32_t now)
{
	if (e == 0)
		return 0;
	if (e < 0)
		return 1;
	if (e <= 30 * 24 * 3600)
		return (uint64_t)now + (uint64_t)e > UINT32_MAX ? UINT32_MAX : now + (uint32_t)e;
	if (e <= now)
		return 1;
	return e > UINT32_MAX ? UINT32_MAX : (uint32_t)e;
}
