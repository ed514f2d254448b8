/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd store — every item and the whole index in one memory region
 *
 * The cache lives in one memfd-backed region that the next release maps
 * again, at whatever address it gets, and uses as it is: there is no rebuild
 * and no walk over the items on an upgrade. That is why every reference
 * inside the region is an offset from its base (0 means "none"), never a
 * pointer. This header is the layout of that region, the handed-over ABI of
 * the kvd.cache contract (contracts.h): a change to any structure below
 * needs a new region layout number and a new contract version.
 *
 *   offset 0               struct kvd_region_hdr (KVD_HDR_SIZE bytes):
 *                          geometry, counters, the size classes (free
 *                          lists, LRU lists) and, from layout 2 on, the
 *                          per-class statistics
 *   hash_offset            hash table: hash_buckets uint64_t offsets of the
 *                          first item of each chain (XXH3-64 of the key,
 *                          seed 0, masked by hash_buckets - 1)
 *   page_class_offset      one byte per slab page: the class that owns it
 *                          (0: not handed out yet)
 *   pages_offset           npages slab pages of page_size bytes, each
 *                          carved into chunks of one size class
 *
 * The region is sparse: pages cost memory only once touched, so a 64 MiB
 * cache holding ten keys costs a few pages.
 *
 * Items: struct kvd_item, then the key, then the value followed by "\r\n"
 * (so a get copies value and line end in one go).
 */
#ifndef KVD_STORE_H
#define KVD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVD_REGION_MAGIC 0x314e474552445653ull /* "SVDREGN1" little-endian */
#define KVD_LAYOUT_V1 1u  /* kvd 0.9, 1.0: item atime reserved (zero) */
#define KVD_LAYOUT_V2 2u  /* kvd 1.1: item atime, per-class statistics */

#define KVD_KEY_MAX 250
#define KVD_MAX_CLASSES 64
#define KVD_HDR_SIZE 16384u
#define KVD_CHUNK_MIN 96u
#define KVD_GROWTH_NUM 5u      /* chunk sizes grow by 5/4 */
#define KVD_GROWTH_DEN 4u
#define KVD_PAGE_MIN (1u << 20)
/* Layout 2: an item read is bumped to the head of its LRU at most this often. */
#define KVD_BUMP_INTERVAL 60u

/* iflags */
#define KVD_IT_LINKED 0x01u   /* in the hash table and an LRU list */
#define KVD_IT_FREE 0x02u     /* on its class's free list */
#define KVD_IT_FETCHED 0x04u  /* read at least once since stored */

struct kvd_item {
	uint64_t hnext;     /* next item in the hash chain */
	uint64_t prev;      /* LRU (linked) or free list (free): towards the head */
	uint64_t next;      /* LRU or free list: towards the tail */
	uint64_t cas;       /* CAS unique */
	uint32_t exptime;   /* absolute Unix time; 0: never */
	uint32_t time;      /* Unix time of the last store, for delayed flush_all */
	uint32_t flags;     /* the client's opaque flags */
	uint32_t nbytes;    /* value length, without the trailing "\r\n" */
	uint8_t nkey;       /* key length, 1..KVD_KEY_MAX */
	uint8_t cls;        /* size class, 1..nclasses */
	uint8_t iflags;     /* KVD_IT_* */
	uint8_t reserved;   /* zero */
	uint32_t atime;     /* layout 1: zero. layout 2: Unix time of the last LRU
			       bump; 0 means "not since the upgrade" (use time) */
};
_Static_assert(sizeof(struct kvd_item) == 56, "item header ABI");

/* One size class. Layout 1 and 2 alike. */
struct kvd_class {
	uint32_t size;       /* chunk size */
	uint32_t perpage;    /* chunks per page */
	uint64_t free_head;  /* free chunks, doubly linked through prev/next */
	uint64_t carve;      /* next never-used chunk of the newest page (0: none) */
	uint64_t carve_end;  /* end of that page */
	uint64_t lru_head;   /* most recently used */
	uint64_t lru_tail;   /* next to evict */
	uint64_t items;      /* linked items */
	uint32_t pages;      /* pages owned */
	uint32_t nfree;      /* chunks on the free list */
};
_Static_assert(sizeof(struct kvd_class) == 64, "class ABI");

/* Layout 2 only: what `stats items` and `stats slabs` report per class. */
struct kvd_class_stats {
	uint64_t get_hits, cmd_set, delete_hits, incr_hits, decr_hits;
	uint64_t cas_hits, cas_badval, touch_hits;
	uint64_t evicted, evicted_nonzero, evicted_unfetched, expired_unfetched;
	uint64_t reclaimed, outofmemory, evicted_time, reserved;
};
_Static_assert(sizeof(struct kvd_class_stats) == 128, "class stats ABI");

struct kvd_region_hdr {
	uint64_t magic;            /* KVD_REGION_MAGIC */
	uint32_t layout;           /* KVD_LAYOUT_* */
	uint32_t header_size;      /* KVD_HDR_SIZE */
	uint64_t region_size;
	uint64_t hash_offset;
	uint64_t hash_buckets;     /* a power of two */
	uint64_t page_class_offset;
	uint64_t pages_offset;
	uint64_t page_size;
	uint64_t npages;
	uint64_t pages_used;       /* pages handed to classes so far */
	uint64_t limit_maxbytes;   /* -m, bytes */
	uint64_t item_size_max;    /* -I, bytes (an item's total size) */
	uint32_t nclasses;
	uint32_t created_at;       /* Unix time the cache was created */
	uint64_t cas_next;         /* next CAS unique */
	uint64_t flush_cas;        /* items with a smaller CAS are flushed */
	uint32_t flush_at;         /* delayed flush_all: from then on, items stored
				      before it are flushed (0: none) */
	uint32_t reserved0;
	uint64_t curr_items;
	uint64_t bytes;            /* total size of linked items */
	uint64_t evictions;
	uint64_t reclaimed;
	uint64_t expired_unfetched;
	uint64_t evicted_unfetched;
	uint64_t slabs_moved;
	uint64_t total_items;      /* items stored since the cache was created */
	uint8_t reserved[512 - 192];
	struct kvd_class classes[KVD_MAX_CLASSES];          /* index 0 unused */
	struct kvd_class_stats class_stats[KVD_MAX_CLASSES]; /* layout 2; zero in 1 */
	uint8_t tail[KVD_HDR_SIZE - 512 - 64 * KVD_MAX_CLASSES - 128 * KVD_MAX_CLASSES];
};
_Static_assert(__builtin_offsetof(struct kvd_region_hdr, reserved) == 192, "header ABI");
_Static_assert(__builtin_offsetof(struct kvd_region_hdr, classes) == 512, "header ABI");
_Static_assert(sizeof(struct kvd_region_hdr) == KVD_HDR_SIZE, "header ABI");

/* The process's view of a mapped region. */
struct kvd_store {
	uint8_t *base;
	struct kvd_region_hdr *hdr;
	uint64_t *hash;
	uint8_t *page_class;
	uint64_t hash_mask;
	uint32_t layout;     /* the layout this build writes */
	uint32_t now;        /* Unix time, refreshed by the event loop */
};

/* The region size needed for a cache of limit bytes of items. */
struct kvd_geometry {
	uint64_t region_size, hash_offset, hash_buckets, page_class_offset;
	uint64_t pages_offset, page_size, npages, limit, item_size_max;
};
int kvd_geometry(struct kvd_geometry *g, uint64_t limit, uint64_t item_size_max);

/* Formats a fresh region (already zero) of geometry g. */
void kvd_store_format(struct kvd_store *st, void *base, const struct kvd_geometry *g,
		      uint32_t layout, uint32_t now);
/*
 * Adopts a region written by this or an earlier release: checks the header
 * against size and returns 0, or -EINVAL with words in err. Reads only.
 */
int kvd_store_check(const void *base, uint64_t size, uint32_t max_layout, char *err,
		    size_t errlen);
void kvd_store_adopt(struct kvd_store *st, void *base, uint32_t layout);
/* Brings an adopted region to this build's layout (O(1); after the commit). */
void kvd_store_upgrade_layout(struct kvd_store *st);

static inline struct kvd_item *kvd_item_at(const struct kvd_store *st, uint64_t off)
{
	return off ? (struct kvd_item *)(void *)(st->base + off) : NULL;
}
static inline uint64_t kvd_item_off(const struct kvd_store *st, const struct kvd_item *it)
{
	return it ? (uint64_t)((const uint8_t *)it - st->base) : 0;
}
static inline char *kvd_item_key(struct kvd_item *it)
{
	return (char *)(it + 1);
}
static inline char *kvd_item_value(struct kvd_item *it)
{
	return (char *)(it + 1) + it->nkey;
}
static inline uint64_t kvd_item_total(uint32_t nkey, uint64_t nbytes)
{
	return sizeof(struct kvd_item) + nkey + nbytes + 2;
}

uint64_t kvd_hash(const char *key, size_t nkey);

/*
 * Finds a live item; expired and flushed items met on the way are freed
 * (lazy expiry). why_miss (may be NULL) gets 0, 1 (expired) or 2 (flushed).
 */
struct kvd_item *kvd_find(struct kvd_store *st, const char *key, size_t nkey, uint64_t hv,
			  int *why_miss);
/* Neither expired nor flushed at st->now. Reads only (a dry run's checks use it). */
bool kvd_item_live(const struct kvd_store *st, const struct kvd_item *it);
/* A read hit: marks it fetched and bumps it in the LRU. */
void kvd_touch_lru(struct kvd_store *st, struct kvd_item *it);

/*
 * Allocates an unlinked item of the given sizes with its key and line end
 * written, evicting if needed but never pin (an item the caller still
 * reads); NULL when it is too large (*too_large set) or no memory can be
 * found. Look up the item to replace only after this call: it may evict it.
 */
struct kvd_item *kvd_alloc(struct kvd_store *st, const char *key, size_t nkey,
			   uint64_t nbytes, bool *too_large, const struct kvd_item *pin);
/* Frees an unlinked item. */
void kvd_free(struct kvd_store *st, struct kvd_item *it);
/* Links it (new CAS), replacing old (which may be NULL) in place. */
void kvd_link(struct kvd_store *st, struct kvd_item *it, uint64_t hv, struct kvd_item *old);
/* Unlinks and frees. */
void kvd_unlink(struct kvd_store *st, struct kvd_item *it, uint64_t hv);

/* Immediate (delay 0) or delayed flush. */
void kvd_flush(struct kvd_store *st, uint32_t delay);

/* Per-class statistics (layout 2), or NULL. */
static inline struct kvd_class_stats *kvd_cstats(struct kvd_store *st, unsigned cls)
{
	return st->hdr->layout >= KVD_LAYOUT_V2 ? &st->hdr->class_stats[cls] : NULL;
}

/* Converts a protocol exptime to an absolute one (0 never, 1 already past). */
uint32_t kvd_exptime(int64_t exptime, uint32_t now);

#endif /* KVD_STORE_H */
