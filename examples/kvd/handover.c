/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd handover — the cache, its listeners and its clients, to the next release
 *
 * The only file that talks to the baton runtime (runtime.h); the contracts
 * are in contracts.h.
 *
 * Old side: an upgrade request arrives on the baton fd the loop polls. The
 * runtime checks the new program's catalog while kvd serves on; then freeze
 * (kvd stops touching client sockets and items), save (one object for the
 * cache, one per listener, one per connection: nothing is copied from the
 * region, which travels as its memfd), and at the commit kvd exits without
 * touching a socket: they belong to the successor now.
 *
 * Dry run (a golden image, BATON_DRY_RUN_IMAGE or --dry-run): the same
 * restore, from files, with placeholder fds that kvd leaves alone; then the
 * checks of verify.c, and kvd exits with the outcome without serving.
 *
 * New side: baton_rt_start() binds and restores every object before kvd
 * serves. Restore only reads: the region arrives read-only and is written
 * first after the commit, so a refused update leaves the old process's state
 * exactly as it was. After the commit kvd adopts the region as it is (no
 * walk, no rebuild: references are offsets), registers every connection in
 * its epoll set with its buffered bytes, and answers what was pending at
 * once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <baton/runtime.h>

#include "contracts.h"
#include "handover.h"
#include "verify.h"

struct kvd_handover {
	struct baton_rt *rt;
	struct baton_region *region;  /* the cache region (created or received) */
	struct baton_region *buffers; /* connections' pending bytes, during an update */
	bool have_cache;
	char err[256];
	struct kvd_restored dry;      /* a dry run: what it restored besides the cache */
	int dry_status;               /* a dry run: the exit status */
};

static struct kvd_handover *hv_of(struct kvd_server *s)
{
	return s->baton;
}

static void rt_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	kvd_log(level, "baton: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* kvd.cache                                                                */

#define SET_U(o, name, v) \
	do { if ((rc = baton_obj_set_uint((o), (name), (v))) < 0) goto fail; } while (0)

static int cache_save(void *ctx, struct baton_save *sv)
{
	struct kvd_server *s = ctx;
	struct kvd_handover *h = hv_of(s);
	const struct kvd_region_hdr *hdr = s->st.hdr;
	struct baton_obj *o, *stats = NULL;
	const char *what = "cache/main";
	int rc;

	rc = baton_save_object(sv, "cache/main", 0, &o);
	if (rc < 0)
		goto fail;
	if ((rc = baton_obj_set_region(o, "region", h->region)) < 0)
		goto fail;
	SET_U(o, "layout", hdr->layout);
	SET_U(o, "region_size", hdr->region_size);
	SET_U(o, "hash_offset", hdr->hash_offset);
	SET_U(o, "hash_buckets", hdr->hash_buckets);
	SET_U(o, "pages_offset", hdr->pages_offset);
	SET_U(o, "page_size", hdr->page_size);
	SET_U(o, "npages", hdr->npages);
	SET_U(o, "limit_maxbytes", hdr->limit_maxbytes);
	SET_U(o, "item_size_max", hdr->item_size_max);
#if KVD_CACHE_VERSION >= 2
	SET_U(o, "lru_bump_interval", KVD_BUMP_INTERVAL);
	if ((rc = baton_obj_nested(o, "stats", &stats)) < 0)
		goto fail;
#define KVD_X_SAVE(n) SET_U(stats, #n, s->stats.n);
	KVD_COUNTERS_V1(KVD_X_SAVE)
	KVD_COUNTERS_NEW(KVD_X_SAVE)
#undef KVD_X_SAVE
#else
	stats = o;
#define KVD_X_SAVE(n) SET_U(stats, #n, s->stats.n);
	KVD_COUNTERS_V1(KVD_X_SAVE)
#undef KVD_X_SAVE
#endif
	return 0;
fail:
	kvd_log(3, "saving %s: %s", what, strerror(-rc));
	return rc;
}

static int get_u(const struct baton_obj *o, const char *name, uint64_t *v, int *rc)
{
	*rc = baton_obj_get_uint(o, name, v);
	if (*rc < 0)
		kvd_log(3, "object %s: field %s: %s", baton_obj_key(o), name, strerror(-*rc));
	return *rc;
}

/*
 * Reads kvd.cache at the highest version this release reads (the runtime
 * ran the upgrade steps first). Reads only: the region is read-only until
 * the commit.
 */
static int cache_restore(void *ctx, const struct baton_obj *o)
{
	struct kvd_server *s = ctx;
	struct kvd_handover *h = hv_of(s);
	const struct baton_obj *stats = o;
	const struct kvd_region_hdr *hdr;
	struct baton_region *r;
	uint64_t v;
	int rc;

	if (h->have_cache) {
		kvd_log(3, "object %s: a second cache; this release keeps one", baton_obj_key(o));
		return -EEXIST;
	}
	if ((rc = baton_obj_get_region(o, "region", &r)) < 0) {
		kvd_log(3, "object %s: field region: %s", baton_obj_key(o), strerror(-rc));
		return rc;
	}
	rc = kvd_store_check(baton_region_base(r), baton_region_size(r), KVD_LAYOUT, h->err,
			     sizeof(h->err));
	if (rc < 0) {
		kvd_log(3, "object %s: %s", baton_obj_key(o), h->err);
		return rc;
	}
	hdr = baton_region_base(r);
	/* The fields describe the region; they must agree with its header. */
	if (get_u(o, "layout", &v, &rc) < 0)
		return rc;
	if (v != hdr->layout) {
		kvd_log(3, "object %s: layout %" PRIu64 " but the region says %u",
			baton_obj_key(o), v, hdr->layout);
		return -EINVAL;
	}
#define CHECK(name)                                                                      \
	do {                                                                             \
		if (get_u(o, #name, &v, &rc) < 0)                                        \
			return rc;                                                       \
		if (v != hdr->name) {                                                    \
			kvd_log(3, "object %s: %s is %" PRIu64 " but the region says %" PRIu64, \
				baton_obj_key(o), #name, v, (uint64_t)hdr->name);        \
			return -EINVAL;                                                  \
		}                                                                        \
	} while (0)
	CHECK(region_size);
	CHECK(hash_offset);
	CHECK(hash_buckets);
	CHECK(pages_offset);
	CHECK(page_size);
	CHECK(npages);
	CHECK(limit_maxbytes);
	CHECK(item_size_max);
#undef CHECK
#if KVD_CACHE_VERSION >= 2
	if ((rc = baton_obj_get_nested(o, "stats", &stats)) < 0) {
		kvd_log(3, "object %s: field stats: %s", baton_obj_key(o), strerror(-rc));
		return rc;
	}
#define KVD_X_LOAD(n) if (get_u(stats, #n, &s->stats.n, &rc) < 0) return rc;
	KVD_COUNTERS_V1(KVD_X_LOAD)
	KVD_COUNTERS_NEW(KVD_X_LOAD)
#undef KVD_X_LOAD
#else
#define KVD_X_LOAD(n) if (get_u(stats, #n, &s->stats.n, &rc) < 0) return rc;
	KVD_COUNTERS_V1(KVD_X_LOAD)
#undef KVD_X_LOAD
#endif
	if (!baton_rt_dry_run(h->rt) &&
	    (hdr->limit_maxbytes != s->set.limit || hdr->item_size_max != s->set.item_size_max))
		kvd_log(4, "the adopted cache keeps its size (-m %" PRIu64 " MiB, -I %" PRIu64
			   "); the options asked for -m %" PRIu64 " MiB, -I %" PRIu64,
			hdr->limit_maxbytes >> 20, hdr->item_size_max, s->set.limit >> 20,
			s->set.item_size_max);
	h->region = r;
	h->have_cache = true;
	kvd_store_adopt(&s->st, baton_region_base(r), KVD_LAYOUT);
	return 0;
}

#if KVD_CACHE_VERSION >= 2 && KVD_READS_CACHE_V1
/*
 * kvd.cache v1 to v2. The region is not touched (it is read-only here, and
 * the step must cost nothing per item): layout 2 reads a layout-1 region as
 * it is, and kvd_store_upgrade_layout() marks it after the commit. The
 * counters move into the nested kvd.stats; the new ones start at zero.
 */
static int cache_v1_to_v2(void *ctx, const struct baton_obj *in, struct baton_obj *out)
{
	static const char *const geometry[] = {
		"layout", "region_size", "hash_offset", "hash_buckets", "pages_offset",
		"page_size", "npages", "limit_maxbytes", "item_size_max",
	};
	struct baton_obj *stats;
	struct baton_region *r;
	uint64_t v;
	int rc;

	(void)ctx;
	if ((rc = baton_obj_get_region(in, "region", &r)) < 0 ||
	    (rc = baton_obj_set_region(out, "region", r)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(geometry) / sizeof(geometry[0]); i++)
		if ((rc = baton_obj_get_uint(in, geometry[i], &v)) < 0 ||
		    (rc = baton_obj_set_uint(out, geometry[i], v)) < 0)
			return rc;
	if ((rc = baton_obj_set_uint(out, "lru_bump_interval", KVD_BUMP_INTERVAL)) < 0 ||
	    (rc = baton_obj_nested(out, "stats", &stats)) < 0)
		return rc;
#define KVD_X_COPY(n)                                             \
	if ((rc = baton_obj_get_uint(in, #n, &v)) < 0 ||          \
	    (rc = baton_obj_set_uint(stats, #n, v)) < 0)          \
		return rc;
	KVD_COUNTERS_V1(KVD_X_COPY)
#undef KVD_X_COPY
#define KVD_X_ZERO(n) if ((rc = baton_obj_set_uint(stats, #n, 0)) < 0) return rc;
	KVD_COUNTERS_NEW(KVD_X_ZERO)
#undef KVD_X_ZERO
	return 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* kvd.listener                                                             */

static int listener_save(void *ctx, struct baton_save *sv)
{
	struct kvd_server *s = ctx;
	int rc = 0;

	for (int i = 0; i < s->nlisteners; i++) {
		const struct kvd_listener *l = &s->listeners[i];
		struct baton_obj *o;
		char key[128];

		snprintf(key, sizeof(key), "listener/tcp:%s:%u", l->addr, l->port);
		if ((rc = baton_save_object(sv, key, 0, &o)) < 0 ||
		    (rc = baton_obj_set_fd(o, "fd", l->fd)) < 0 ||
		    (rc = baton_obj_set_string(o, "address", l->addr, strlen(l->addr))) < 0 ||
		    (rc = baton_obj_set_uint(o, "port", l->port)) < 0) {
			kvd_log(3, "saving %s: %s", key, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int listener_restore(void *ctx, const struct baton_obj *o)
{
	struct kvd_server *s = ctx;
	const char *addr;
	uint64_t port;
	int fd, rc;

	if ((rc = baton_obj_get_string(o, "address", &addr, NULL)) < 0 ||
	    (rc = baton_obj_get_uint(o, "port", &port)) < 0 ||
	    (rc = baton_obj_take_fd(o, "fd", &fd)) < 0) {
		kvd_log(3, "object %s: %s", baton_obj_key(o), strerror(-rc));
		return rc;
	}
	if (port > 65535) {
		close(fd);
		kvd_log(3, "object %s: port %" PRIu64 " is no TCP port", baton_obj_key(o), port);
		return -EINVAL;
	}
	if (baton_rt_dry_run(hv_of(s)->rt)) {
		/* A placeholder, not a socket: remember what it was, listen on nothing. */
		struct kvd_restored *d = &hv_of(s)->dry;

		close(fd);
		if (d->nlisteners == KVD_MAX_LISTENERS)
			return -ENOSPC;
		snprintf(d->listeners[d->nlisteners].addr, sizeof(d->listeners[0].addr), "%s", addr);
		d->listeners[d->nlisteners++].port = (uint16_t)port;
		return 0;
	}
	rc = kvd_listener_adopt(s, fd, addr, (uint16_t)port);
	if (rc < 0) {
		close(fd);
		kvd_log(3, "object %s: %s", baton_obj_key(o), strerror(-rc));
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* kvd.conn                                                                 */

/*
 * Every connection's pending bytes go into one region made for this update
 * (dropped again if the update does not happen); each object says where its
 * bytes are.
 */
static int conn_save(void *ctx, struct baton_save *sv)
{
	struct kvd_server *s = ctx;
	struct kvd_handover *h = hv_of(s);
	uint64_t total = 0, off = 0;
	uint8_t *base;
	int rc;

	for (struct kvd_conn *c = s->conns; c; c = c->next)
		total += kvd_buf_used(&c->in) + kvd_buf_used(&c->out);
	rc = baton_region_create(h->rt, "kvd.conn-buffers", total ? total : 1, &h->buffers);
	if (rc < 0) {
		kvd_log(3, "saving connections: a region of %" PRIu64 " bytes: %s", total,
			baton_rt_error(h->rt));
		return rc;
	}
	base = baton_region_base(h->buffers);
	for (struct kvd_conn *c = s->conns; c; c = c->next) {
		size_t nin = kvd_buf_used(&c->in), nout = kvd_buf_used(&c->out);
		struct baton_obj *o;
		char key[64];

		if (nin)
			memcpy(base + off, c->in.data + c->in.pos, nin);
		if (nout)
			memcpy(base + off + nin, c->out.data + c->out.pos, nout);
		snprintf(key, sizeof(key), "conn/%" PRIu64, c->id);
		if ((rc = baton_save_object(sv, key, 0, &o)) < 0 ||
		    (rc = baton_obj_set_fd(o, "fd", c->fd)) < 0 ||
		    (rc = baton_obj_set_uint(o, "id", c->id)) < 0 ||
		    (rc = baton_obj_set_region(o, "buffers", h->buffers)) < 0 ||
		    (rc = baton_obj_set_uint(o, "input_offset", off)) < 0 ||
		    (rc = baton_obj_set_uint(o, "input_length", nin)) < 0 ||
		    (rc = baton_obj_set_uint(o, "output_offset", off + nin)) < 0 ||
		    (rc = baton_obj_set_uint(o, "output_length", nout)) < 0 ||
		    (rc = baton_obj_set_uint(o, "swallow", c->swallow)) < 0 ||
		    (rc = baton_obj_set_bool(o, "close_after_write", c->close_after_write)) < 0 ||
		    (rc = baton_obj_set_uint(o, "opened_at", c->opened_at)) < 0 ||
		    (rc = baton_obj_set_string(o, "peer", c->peer, strlen(c->peer))) < 0) {
			kvd_log(3, "saving %s: %s", key, strerror(-rc));
			return rc;
		}
		off += nin + nout;
	}
	return 0;
}

/* Copies length bytes at offset of the buffers region into b, bounds checked. */
static int get_buf(const struct baton_obj *o, struct baton_region *r, const char *what,
		   struct kvd_buf *b)
{
	char name[32];
	uint64_t off, len;
	int rc;

	snprintf(name, sizeof(name), "%s_offset", what);
	if ((rc = baton_obj_get_uint(o, name, &off)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%s_length", what);
	if ((rc = baton_obj_get_uint(o, name, &len)) < 0)
		return rc;
	if (off > baton_region_size(r) || len > baton_region_size(r) - off) {
		kvd_log(3, "object %s: %s bytes %" PRIu64 "+%" PRIu64 " lie outside its region",
			baton_obj_key(o), what, off, len);
		return -EINVAL;
	}
	if (len == 0)
		return 0;
	if (kvd_buf_reserve(b, len) < 0)
		return -ENOMEM;
	memcpy(b->data + b->len, (const uint8_t *)baton_region_base(r) + off, len);
	b->len += len;
	return 0;
}

static int conn_restore(void *ctx, const struct baton_obj *o)
{
	struct kvd_server *s = ctx;
	struct kvd_handover *h = hv_of(s);
	struct baton_region *r;
	struct kvd_conn *c;
	uint64_t id, swallow, opened;
	bool caw;
	const char *peer;
	int fd, rc;

	if ((rc = baton_obj_get_uint(o, "id", &id)) < 0 ||
	    (rc = baton_obj_get_uint(o, "swallow", &swallow)) < 0 ||
	    (rc = baton_obj_get_bool(o, "close_after_write", &caw)) < 0 ||
	    (rc = baton_obj_get_uint(o, "opened_at", &opened)) < 0 ||
	    (rc = baton_obj_get_string(o, "peer", &peer, NULL)) < 0 ||
	    (rc = baton_obj_get_region(o, "buffers", &r)) < 0 ||
	    (rc = baton_obj_take_fd(o, "fd", &fd)) < 0) {
		kvd_log(3, "object %s: %s", baton_obj_key(o), strerror(-rc));
		return rc;
	}
	if (baton_rt_dry_run(h->rt)) {
		/* A placeholder fd: no epoll, no client; the bytes are checked all the same. */
		struct kvd_buf in = { 0 }, out = { 0 };

		close(fd);
		rc = get_buf(o, r, "input", &in);
		if (rc == 0)
			rc = get_buf(o, r, "output", &out);
		kvd_buf_free(&in);
		kvd_buf_free(&out);
		if (rc == 0)
			h->dry.nconns++;
		return rc;
	}
	h->buffers = r;
	c = kvd_conn_adopt(s, fd, id);
	if (!c) {
		close(fd);
		kvd_log(3, "object %s: cannot watch fd %d", baton_obj_key(o), fd);
		return -ENOMEM;
	}
	c->swallow = swallow;
	c->close_after_write = caw;
	c->opened_at = (uint32_t)opened;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	/* On failure baton_rt_start() fails and kvd exits: nothing to undo. */
	if ((rc = get_buf(o, r, "input", &c->in)) < 0 || (rc = get_buf(o, r, "output", &c->out)) < 0)
		return rc;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */

static int on_freeze(void *ctx)
{
	struct kvd_server *s = ctx;

	s->frozen = true;
	kvd_log(6, "frozen for an upgrade (%u connections)", s->nconns);
	return 0;
}

static void on_thaw(void *ctx)
{
	struct kvd_server *s = ctx;

	struct kvd_handover *h = hv_of(s);

	kvd_log(6, "upgrade did not happen; serving on");
	if (h->buffers) {
		baton_region_destroy(h->buffers);
		h->buffers = NULL;
	}
	kvd_server_thaw(s);
}

static void on_commit(void *ctx)
{
	struct kvd_server *s = ctx;

	/* Not a byte more to any client, not a write to the region. */
	s->frozen = true;
	s->stopping = true;
}

static int cold_start(struct kvd_server *s, struct kvd_handover *h)
{
	struct kvd_geometry g;
	int rc = kvd_geometry(&g, s->set.limit, s->set.item_size_max);

	if (rc < 0) {
		kvd_log(3, "cannot size a cache of %" PRIu64 " bytes: %s", s->set.limit,
			strerror(-rc));
		return rc;
	}
	rc = baton_region_create(h->rt, "kvd.cache", g.region_size, &h->region);
	if (rc < 0) {
		kvd_log(3, "cannot create the cache region (%" PRIu64 " bytes): %s",
			g.region_size, baton_rt_error(h->rt));
		return rc;
	}
	kvd_store_format(&s->st, baton_region_base(h->region), &g, KVD_LAYOUT, s->st.now);
	return kvd_listen(s);
}

/* ------------------------------------------------------------------------ */
/* Dry runs                                                                 */

static void dry_check(void *ctx, const char *name, bool ok, const char *detail)
{
	struct kvd_handover *h = ctx;

	baton_rt_dry_run_check(h->rt, name, ok, "%s", detail);
}

/*
 * The image restored (BATON_START_CHECKED): do what a successor does after
 * the commit, then check the cache on its own and, with --verify, against
 * what its writer held. Nothing is served; kvd exits with the outcome.
 */
static int dry_run_checks(struct kvd_server *s, struct kvd_handover *h)
{
	struct baton_rt_origin origin;
	char detail[400];
	uint64_t live = 0;
	int rc;

	if (baton_rt_origin(h->rt, &origin) == 0) {
		snprintf(h->dry.writer_program, sizeof(h->dry.writer_program), "%s", origin.program);
		baton_release_format(&origin.release, h->dry.writer_release,
				     sizeof(h->dry.writer_release));
		h->dry.writer_generation = origin.generation - 1;
	}
	if (!h->have_cache) {
		baton_rt_dry_run_check(h->rt, "kvd.cache", false, "the image holds no kvd.cache object");
	} else {
		kvd_store_upgrade_layout(&s->st);
		s->st.now = kvd_now();
		rc = kvd_verify_store(&s->st, &live, detail, sizeof(detail));
		baton_rt_dry_run_check(h->rt, "kvd.store", rc == 0, "%s", detail);
		if (s->set.verify)
			kvd_verify_expect(s, &h->dry, s->set.verify, dry_check, h);
	}
	h->dry_status = baton_rt_dry_run_result(h->rt);
	printf("kvd %s: dry run of the image of %s %s (generation %" PRIu64 "): %s: %" PRIu64
	       " live items, %d listener(s), %u connection(s)%s\n",
	       KVD_RELEASE, h->dry.writer_program, h->dry.writer_release, h->dry.writer_generation,
	       h->dry_status ? "restored, but a check FAILED" : "restored and checked", live,
	       h->dry.nlisteners, h->dry.nconns,
	       s->set.verify ? "" : " (no --verify file: the cache was checked on its own only)");
	fflush(stdout);
	return KVD_DRY_RUN;
}

static const char *dry_outcome(int status)
{
	switch (status) {
	case BATON_DRY_RUN_REFUSED: return "refused";
	case BATON_DRY_RUN_UNREADABLE: return "the image is unreadable";
	case BATON_DRY_RUN_FAILED: return "restore failed";
	default: return "failed";
	}
}

int kvd_handover_dry_status(struct kvd_server *s)
{
	struct kvd_handover *h = hv_of(s);

	return h ? h->dry_status : BATON_DRY_RUN_FAILED;
}

int kvd_handover_start(struct kvd_server *s, int argc, char **argv)
{
	struct kvd_handover *h = calloc(1, sizeof(*h));
	struct baton_rt_options opt = {
		.catalog = BATON_SELF_RECORDS,
		.catalog_len = BATON_SELF_RECORDS_LEN,
		.control_path = s->set.control,
		.argc = argc,
		.argv = argv,
		.log = rt_log,
	};
	struct baton_lifecycle_ops life = {
		.freeze = on_freeze, .thaw = on_thaw, .commit = on_commit, .ctx = s,
	};
	struct baton_handler_ops cache = { .save = cache_save, .restore = cache_restore, .ctx = s };
	struct baton_handler_ops listener = { .save = listener_save, .restore = listener_restore,
					      .ctx = s };
	struct baton_handler_ops conn = { .save = conn_save, .restore = conn_restore, .ctx = s };
	struct baton_rt_origin origin;
	int rc;

	if (!h)
		return -ENOMEM;
	s->baton = h;
	rc = baton_rt_new(&h->rt, &opt);
	if (rc < 0) {
		kvd_log(3, "baton: %s", h->rt ? baton_rt_error(h->rt) : strerror(-rc));
		return rc;
	}
	if ((rc = baton_rt_set_lifecycle(h->rt, &life)) < 0 ||
	    (rc = baton_rt_register(h->rt, "kvd.cache", &cache)) < 0 ||
	    (rc = baton_rt_register(h->rt, "kvd.listener", &listener)) < 0 ||
	    (rc = baton_rt_register(h->rt, "kvd.conn", &conn)) < 0)
		goto fail;
#if KVD_CACHE_VERSION >= 2 && KVD_READS_CACHE_V1
	rc = baton_rt_register_step(h->rt, "kvd.cache", KVD_CACHE, 1, cache_v1_to_v2, NULL);
	if (rc < 0)
		goto fail;
#endif
	rc = baton_rt_start(h->rt);
	if (rc < 0 && baton_rt_dry_run(h->rt)) {
		h->dry_status = baton_rt_dry_run_result(h->rt);
		printf("kvd %s: dry run: %s: %s\n", KVD_RELEASE, dry_outcome(h->dry_status),
		       baton_rt_error(h->rt));
		fflush(stdout);
		return KVD_DRY_RUN;
	}
	if (rc < 0)
		goto fail;
	if (rc == BATON_START_CHECKED)
		return dry_run_checks(s, h);
	if (rc == BATON_START_COLD)
		return cold_start(s, h);
	/* Restored, and the predecessor has committed: the state is ours. */
	if (!h->have_cache) {
		kvd_log(3, "the predecessor handed over no cache");
		return -EINVAL;
	}
	kvd_store_upgrade_layout(&s->st);
	if (h->buffers) {
		/* Every connection has its bytes back in its own buffers. */
		baton_region_destroy(h->buffers);
		h->buffers = NULL;
	}
	if (baton_rt_origin(h->rt, &origin) == 0 && origin.restored) {
		s->generation = origin.generation;
		baton_release_format(&origin.release, s->state_from, sizeof(s->state_from));
		s->frozen_at_ns = origin.frozen_at_ns;
		s->awaiting_first_answer = true;
		kvd_log(6, "restored from kvd %s as generation %" PRIu64 ": %" PRIu64
			   " items, %u connections, %d listeners; serving %" PRIu64
			   " us after the predecessor froze",
			s->state_from, s->generation, s->st.hdr->curr_items, s->nconns,
			s->nlisteners, (kvd_mono_ns() - s->frozen_at_ns) / 1000);
		kvd_log(7, "restore finished %" PRIu64 " us after the freeze", (origin.restored_at_ns - s->frozen_at_ns) / 1000);
	}
	if (s->nlisteners == 0)
		return kvd_listen(s);
	return 0;
fail:
	kvd_log(3, "baton: %s", baton_rt_error(h->rt));
	return rc;
}

int kvd_handover_fd(struct kvd_server *s)
{
	struct kvd_handover *h = hv_of(s);

	return h && h->rt ? baton_rt_fd(h->rt) : -1;
}

int kvd_handover_dispatch(struct kvd_server *s)
{
	struct kvd_handover *h = hv_of(s);
	int rc = baton_rt_dispatch(h->rt);

	if (rc == BATON_DISPATCH_COMMITTED)
		return KVD_COMMITTED;
	if (rc < 0)
		kvd_log(4, "baton: %s", baton_rt_error(h->rt));
	return 0;
}

void kvd_handover_free(struct kvd_server *s)
{
	struct kvd_handover *h = hv_of(s);

	if (!h)
		return;
	baton_rt_free(h->rt);
	free(h);
	s->baton = NULL;
}
