/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime — golden images: writing the state to files, and the dry run's report
 *
 * A project keeps, per shipped release, one small real image written by that
 * release (docs/history.md), so that its test suite can prove that the
 * current release restores what every supported earlier release wrote — the
 * meaning of the fields, the upgrade steps, the regions — not only that the
 * layouts line up.
 *
 * Writing one (baton_rt_save_image(), or the control socket's SAVE request
 * that `baton save` sends): freeze, every handler's save and the image,
 * exactly as an update does them, but into files instead of a successor:
 *
 *   PATH             the image, byte for byte (a DTB: `baton inspect PATH`)
 *   PATH.region.N    region N of the image's region table, as a golden
 *                    region file (below)
 *
 * then thaw: the program serves on with its state unchanged, whether or not
 * the files could be written. File descriptors cannot be stored; the image's
 * fd table keeps their kinds and names. Every file is written under a
 * temporary name first and renamed into place once all of them are
 * complete, region files first and the image last, so a failure leaves what
 * was there before. Without force, existing files are not replaced: a
 * golden image is written once, when its release ships.
 *
 * A golden region file holds the bytes of a region that are not zero and
 * leaves the rest out, so a 16 MiB cache holding a few hundred KiB is a few
 * hundred KiB on disk and in git, wherever the used bytes lie. All integers
 * are big-endian, as in the image:
 *
 *   offset  size   field
 *   0       16     magic "baton,region-v1" and a NUL
 *   16      4      header size: 128
 *   20      4      N, the region's index in the image's region table
 *   24      8      the region's size in bytes (the image says the same)
 *   32      8      number of extents
 *   40      8      data bytes: the sum of the extents' lengths
 *   48      8      XXH64 (seed 0) of the image file this region belongs to
 *   56      8      reserved, zero
 *   64      64     the region's name, NUL-padded (the image says the same)
 *   128     16 * number of extents: offset (8), length (8) of each extent,
 *                  in increasing order, not overlapping, each of length > 0
 *                  and inside the region
 *   ...     data bytes: the extents' contents, one after the other
 *   end-8   8      XXH64 (seed 0) of every byte before it
 *
 * Every byte of the region outside the extents is zero. The file's size is
 * exactly 128 + 16 * extents + data bytes + 8: a truncated or extended file
 * is refused before its checksum is computed. Which zero runs a writer
 * leaves out is its choice (this one skips the holes of the memfd and zero
 * blocks of 512 bytes).
 *
 * The dry run (new.c) reads them back: each region file into a fresh memfd
 * (its holes stay holes), checked against its image. Its outcome is kept in
 * struct rt_dry and written, as one JSON object, to BATON_DRY_RUN_REPORT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <json-c/json.h>

#include "rt.h"
#include "transport/fault.h"

#define GOLDEN_MAGIC "baton,region-v1"   /* with its NUL: 16 bytes */
#define GOLDEN_HDR_LEN 128u
#define GOLDEN_EXTENT_LEN 16u
#define GOLDEN_TRAILER_LEN 8u
#define GOLDEN_BLOCK 512u                /* zero blocks this writer leaves out */
#define GOLDEN_IO 65536u

_Static_assert(sizeof(GOLDEN_MAGIC) == 16, "the magic is 16 bytes with its NUL");

uint64_t rt_golden_image_hash(const void *image, size_t len)
{
	return XXH64(image, len, 0);
}

/* ------------------------------------------------------------------------ */
/* Writing a golden region file                                             */

struct extent {
	uint64_t off, len;
};

static int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;   /* the file ended early */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int full_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[GOLDEN_BLOCK];

	return n <= sizeof(zero) && memcmp(p, zero, n) == 0;
}

static int extent_add(struct extent **v, size_t *n, size_t *cap, uint64_t off, uint64_t len)
{
	if (*n && (*v)[*n - 1].off + (*v)[*n - 1].len == off) {
		(*v)[*n - 1].len += len;
		return 0;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct extent *bigger = realloc(*v, c * sizeof(**v));

		if (!bigger)
			return -ENOMEM;
		*v = bigger;
		*cap = c;
	}
	(*v)[*n].off = off;
	(*v)[(*n)++].len = len;
	return 0;
}

/*
 * The extents of a region's memfd that hold bytes other than zero. The
 * memfd's holes are skipped without reading them (SEEK_DATA); where the
 * kernel cannot say, every block is read. pread, not the mapping: reading a
 * hole through a shared mapping would allocate it.
 */
static int scan_extents(int fd, uint64_t size, struct extent **out, size_t *nout,
			uint64_t *bytes)
{
	uint8_t *buf = malloc(GOLDEN_IO);
	struct extent *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t pos = 0;
	int rc = 0;

	*bytes = 0;
	if (!buf)
		return -ENOMEM;
	while (rc == 0 && pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;
		uint64_t end;

		if (data < 0 && errno == ENXIO)
			break;   /* nothing but holes from pos on */
		if (data < 0)
			data = (off_t)pos, hole = (off_t)size;
		else if ((hole = lseek(fd, data, SEEK_HOLE)) < 0)
			hole = (off_t)size;
		end = (uint64_t)hole < size ? (uint64_t)hole : size;
		pos = (uint64_t)data - (uint64_t)data % GOLDEN_BLOCK;
		while (rc == 0 && pos < end) {
			size_t chunk = end - pos < GOLDEN_IO ? (size_t)(end - pos) : GOLDEN_IO;

			rc = full_pread(fd, buf, chunk, pos);
			for (size_t i = 0; rc == 0 && i < chunk; i += GOLDEN_BLOCK) {
				size_t b = chunk - i < GOLDEN_BLOCK ? chunk - i : GOLDEN_BLOCK;

				if (all_zero(buf + i, b))
					continue;
				rc = extent_add(&v, &n, &cap, pos + i, b);
				*bytes += b;
			}
			pos += chunk;
		}
		pos = end;
	}
	free(buf);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* Appends to a file through a buffer, hashing every byte. */
struct out {
	int fd;
	uint64_t off;
	size_t len;
	XXH64_state_t hash;
	uint8_t buf[GOLDEN_IO];
};

static int out_flush(struct out *o)
{
	int rc = full_pwrite(o->fd, o->buf, o->len, o->off);

	o->off += o->len;
	o->len = 0;
	return rc;
}

static int out_put(struct out *o, const void *p, size_t len)
{
	const uint8_t *s = p;

	XXH64_update(&o->hash, s, len);
	while (len) {
		size_t k = sizeof(o->buf) - o->len < len ? sizeof(o->buf) - o->len : len;
		int rc;

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		len -= k;
		if (o->len == sizeof(o->buf) && (rc = out_flush(o)) < 0)
			return rc;
	}
	return 0;
}

int rt_golden_region_write(const struct baton_region *r, uint32_t index, uint64_t image_hash,
			   const char *path, uint64_t *stored, uint64_t *file_size)
{
	struct extent *ext = NULL;
	uint8_t hdr[GOLDEN_HDR_LEN] = { 0 }, e[GOLDEN_EXTENT_LEN], *chunk = NULL;
	struct out *o = NULL;
	size_t n = 0, i;
	uint64_t bytes;
	int rc;

	rc = scan_extents(r->fd, r->size, &ext, &n, &bytes);
	if (rc < 0)
		return rc;
	o = malloc(sizeof(*o));
	chunk = malloc(GOLDEN_IO);
	if (!o || !chunk) {
		rc = -ENOMEM;
		goto out;
	}
	o->off = 0;
	o->len = 0;
	XXH64_reset(&o->hash, 0);
	o->fd = BATON_FAULT("golden_write") ? (errno = ENOSPC, -1) :
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		rc = -errno;
		goto out;
	}
	memcpy(hdr, GOLDEN_MAGIC, sizeof(GOLDEN_MAGIC));
	baton_encode_u32(hdr + 16, GOLDEN_HDR_LEN);
	baton_encode_u32(hdr + 20, index);
	baton_encode_u64(hdr + 24, r->size);
	baton_encode_u64(hdr + 32, n);
	baton_encode_u64(hdr + 40, bytes);
	baton_encode_u64(hdr + 48, image_hash);
	baton_strlcpy((char *)hdr + 64, r->name, 64);
	rc = out_put(o, hdr, sizeof(hdr));
	for (i = 0; rc == 0 && i < n; i++) {
		baton_encode_u64(e, ext[i].off);
		baton_encode_u64(e + 8, ext[i].len);
		rc = out_put(o, e, sizeof(e));
	}
	for (i = 0; rc == 0 && i < n; i++) {
		for (uint64_t k = 0; rc == 0 && k < ext[i].len; k += GOLDEN_IO) {
			size_t len = ext[i].len - k < GOLDEN_IO ? (size_t)(ext[i].len - k) : GOLDEN_IO;

			rc = full_pread(r->fd, chunk, len, ext[i].off + k);
			if (rc == 0)
				rc = out_put(o, chunk, len);
		}
	}
	if (rc == 0) {
		baton_encode_u64(e, XXH64_digest(&o->hash));
		rc = out_put(o, e, GOLDEN_TRAILER_LEN);
	}
	if (rc == 0)
		rc = out_flush(o);
	if (close(o->fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0) {
		*stored = bytes;
		*file_size = o->off;
	}
out:
	free(chunk);
	free(o);
	free(ext);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading a golden region file into a memfd                                */

int rt_golden_region_load(const char *image_path, uint32_t index,
			  const struct baton_image_region *ir, uint64_t image_hash, int memfd,
			  uint64_t *stored, char *err, size_t errsize)
{
	char path[PATH_MAX + 32], name[65];
	uint8_t hdr[GOLDEN_HDR_LEN], t[GOLDEN_TRAILER_LEN], *buf = NULL, *table = NULL;
	uint64_t fsize, n, bytes, sum = 0, end = 0, off;
	XXH64_state_t hash;
	struct stat st;
	int fd, rc = -EBADMSG;

	snprintf(path, sizeof(path), "%s.region.%u", image_path, index);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsize, "region %u (%s) of %s: %s: %s%s", index, ir->name, image_path,
			 path, strerror(errno),
			 errno == ENOENT ? " (a golden image keeps every region in PATH.region.N)" : "");
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errsize, "region %u of %s: %s is not a regular file", index,
			 image_path, path);
		goto out;
	}
	fsize = (uint64_t)st.st_size;
	if (fsize < GOLDEN_HDR_LEN + GOLDEN_TRAILER_LEN) {
		snprintf(err, errsize, "%s: %" PRIu64 " bytes, too short for a golden region file (truncated?)",
			 path, fsize);
		goto out;
	}
	rc = full_pread(fd, hdr, sizeof(hdr), 0);
	if (rc < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = -EBADMSG;
	memcpy(name, hdr + 64, 64);
	name[64] = '\0';
	n = baton_decode_u64(hdr + 32);
	bytes = baton_decode_u64(hdr + 40);
	if (memcmp(hdr, GOLDEN_MAGIC, sizeof(GOLDEN_MAGIC)) != 0 || baton_decode_u32(hdr + 16) != GOLDEN_HDR_LEN) {
		snprintf(err, errsize, "%s: not a golden region file (no \"%s\" header)", path,
			 GOLDEN_MAGIC);
		goto out;
	}
	if (baton_decode_u32(hdr + 20) != index || baton_decode_u64(hdr + 24) != ir->size ||
	    strncmp(name, ir->name, sizeof(name)) != 0) {
		snprintf(err, errsize,
			 "%s: holds region %u (%.64s, %" PRIu64 " bytes), but the image's region %u is %s of %" PRIu64 " bytes",
			 path, baton_decode_u32(hdr + 20), name, baton_decode_u64(hdr + 24), index, ir->name, ir->size);
		goto out;
	}
	if (baton_decode_u64(hdr + 48) != image_hash) {
		snprintf(err, errsize,
			 "%s: written with another image than %s (the image's hash differs): the files of two golden images are mixed",
			 path, image_path);
		goto out;
	}
	if (n > (fsize - GOLDEN_HDR_LEN - GOLDEN_TRAILER_LEN) / GOLDEN_EXTENT_LEN ||
	    bytes != fsize - GOLDEN_HDR_LEN - GOLDEN_TRAILER_LEN - n * GOLDEN_EXTENT_LEN) {
		snprintf(err, errsize,
			 "%s: %" PRIu64 " bytes, but its header announces %" PRIu64 " extents of %" PRIu64 " bytes: truncated or extended",
			 path, fsize, n, bytes);
		goto out;
	}
	XXH64_reset(&hash, 0);
	XXH64_update(&hash, hdr, sizeof(hdr));
	table = malloc(n ? n * GOLDEN_EXTENT_LEN : 1);
	buf = malloc(GOLDEN_IO);
	if (!table || !buf) {
		rc = -ENOMEM;
		snprintf(err, errsize, "%s: out of memory", path);
		goto out;
	}
	rc = full_pread(fd, table, n * GOLDEN_EXTENT_LEN, GOLDEN_HDR_LEN);
	if (rc < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(-rc));
		goto out;
	}
	XXH64_update(&hash, table, n * GOLDEN_EXTENT_LEN);
	rc = -EBADMSG;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t eo = baton_decode_u64(table + i * GOLDEN_EXTENT_LEN);
		uint64_t el = baton_decode_u64(table + i * GOLDEN_EXTENT_LEN + 8);

		if (el == 0 || eo < end || eo > ir->size || el > ir->size - eo) {
			snprintf(err, errsize,
				 "%s: extent %" PRIu64 " (%" PRIu64 "+%" PRIu64 ") is empty, out of order or outside the %" PRIu64 "-byte region",
				 path, i, eo, el, ir->size);
			goto out;
		}
		end = eo + el;
		sum += el;
	}
	if (sum != bytes) {
		snprintf(err, errsize, "%s: the extents hold %" PRIu64 " bytes, the header says %" PRIu64,
			 path, sum, bytes);
		goto out;
	}
	/*
	 * The bytes go into the memfd before the checksum is known: they are
	 * inside the region (checked above) and the memfd is ours alone, thrown
	 * away if the checksum then disagrees.
	 */
	off = GOLDEN_HDR_LEN + n * GOLDEN_EXTENT_LEN;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t eo = baton_decode_u64(table + i * GOLDEN_EXTENT_LEN);
		uint64_t el = baton_decode_u64(table + i * GOLDEN_EXTENT_LEN + 8);

		for (uint64_t k = 0; k < el; k += GOLDEN_IO) {
			size_t len = el - k < GOLDEN_IO ? (size_t)(el - k) : GOLDEN_IO;

			rc = full_pread(fd, buf, len, off);
			if (rc == 0)
				rc = full_pwrite(memfd, buf, len, eo + k);
			if (rc < 0) {
				snprintf(err, errsize, "%s: loading extent %" PRIu64 ": %s", path, i,
					 strerror(-rc));
				goto out;
			}
			XXH64_update(&hash, buf, len);
			off += len;
		}
	}
	rc = full_pread(fd, t, sizeof(t), off);
	if (rc < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (baton_decode_u64(t) != XXH64_digest(&hash)) {
		rc = -EBADMSG;
		snprintf(err, errsize, "%s: checksum mismatch: the file is damaged", path);
		goto out;
	}
	*stored = bytes;
	rc = 0;
out:
	free(table);
	free(buf);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int write_all_file(const char *path, const void *buf, size_t len)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = full_pwrite(fd, buf, len, 0);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int file_add(struct rt_golden_saved *s, const char *path, uint64_t size)
{
	char **v = realloc(s->files, (s->nfiles + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->files = v;
	if (asprintf(&v[s->nfiles], "%" PRIu64 " %s", size, path) < 0)
		return -ENOMEM;
	s->nfiles++;
	return 0;
}

void rt_golden_saved_free(struct rt_golden_saved *s)
{
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	s->files = NULL;
	s->nfiles = 0;
}

int rt_golden_save(struct baton_rt *rt, const char *path, bool force, struct rt_golden_saved *s,
		   char *err, size_t errsize)
{
	char tmp[PATH_MAX + 48], final[PATH_MAX + 32];
	struct baton_region *r;
	struct baton_obj *o;
	struct baton_diag d;
	const void *map = NULL;
	size_t len = 0, nfds = 0;
	uint64_t hash, stored = 0, fsize = 0;
	uint32_t nregions = 0, i;
	int image_fd = -1, *fds = NULL, rc;
	bool frozen = false;

	memset(s, 0, sizeof(*s));
	s->step = "save";
	if (!rt->started || rt->dry) {
		snprintf(err, errsize, rt->dry ? "a dry run does not save images" :
			 "call baton_rt_start() first");
		return rt->dry ? -EINVAL : -EAGAIN;
	}
	if (rt->up.active) {
		snprintf(err, errsize, "an update is in progress; try again when it has finished");
		return -EBUSY;
	}
	if (strlen(path) + 32 > PATH_MAX) {
		snprintf(err, errsize, "the path is too long");
		return -ENAMETOOLONG;
	}
	snprintf(final, sizeof(final), "%s.region.0", path);
	if (!force && (exists(path) || exists(final))) {
		snprintf(err, errsize,
			 "%s exists: a golden image is written once, when its release ships (replace it only on purpose: --force)",
			 exists(path) ? path : final);
		return -EEXIST;
	}

	/* Freeze, save, image: the code of an update (it thaws on failure). */
	s->step = "freeze+save";
	rc = rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, errsize);
	if (rc < 0)
		goto out;
	frozen = true;
	for (o = rt->saved; o; o = o->next)
		s->objects++;
	s->nfds = (uint32_t)nfds;
	s->image_len = len;
	s->step = "write";
	rc = baton_tp_image_map(image_fd, len, &map, &d);
	if (rc < 0) {
		snprintf(err, errsize, "%s", d.msg);
		goto out;
	}
	hash = rt_golden_image_hash(map, len);

	/* Every file under a temporary name, then renamed: regions first, the image last. */
	for (r = rt->regions; r; r = r->next)
		if (r->index != UINT32_MAX && r->index >= nregions)
			nregions = r->index + 1;
	for (r = rt->regions; r; r = r->next) {
		if (r->index == UINT32_MAX)
			continue;   /* not in this image */
		snprintf(tmp, sizeof(tmp), "%s.region.%u.tmp", path, r->index);
		rc = rt_golden_region_write(r, r->index, hash, tmp, &stored, &fsize);
		if (rc < 0) {
			snprintf(err, errsize, "writing region %u (%s) to %.400s: %s", r->index, r->name,
				 tmp, strerror(-rc));
			goto out;
		}
		s->region_bytes += stored;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = write_all_file(tmp, map, len);
	if (rc < 0) {
		snprintf(err, errsize, "writing %.400s: %s", tmp, strerror(-rc));
		goto out;
	}
	rc = file_add(s, path, len);
	for (i = 0; rc == 0 && i < nregions; i++) {
		struct stat st;

		snprintf(tmp, sizeof(tmp), "%s.region.%u.tmp", path, i);
		snprintf(final, sizeof(final), "%s.region.%u", path, i);
		if (rename(tmp, final) < 0 || stat(final, &st) < 0) {
			rc = -errno;
			snprintf(err, errsize, "renaming %.400s: %s", tmp, strerror(errno));
			break;
		}
		rc = file_add(s, final, (uint64_t)st.st_size);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errsize, "renaming %.400s: %s", tmp, strerror(errno));
	}
	if (rc < 0)
		goto out;
	/* Region files of an image replaced by one with fewer regions. */
	for (i = nregions;; i++) {
		snprintf(final, sizeof(final), "%s.region.%u", path, i);
		if (unlink(final) < 0)
			break;
	}
	s->nregions = nregions;
	s->step = NULL;
out:
	if (rc < 0) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		unlink(tmp);
		for (i = 0; i < nregions; i++) {
			snprintf(tmp, sizeof(tmp), "%s.region.%u.tmp", path, i);
			unlink(tmp);
		}
	}
	if (map)
		munmap((void *)map, len);
	if (image_fd >= 0)
		close(image_fd);
	free(fds);
	rt_obj_free_list(rt->saved);
	rt->saved = rt->saved_tail = NULL;
	if (frozen) {
		if (rt->has_life && rt->life.thaw)
			rt->life.thaw(rt->life.ctx);
		s->freeze_ns = baton_now_ns() - rt->up.t_freeze;
	}
	if (rc == 0)
		rt_log(rt, BATON_LOG_INFO,
		       "saved a golden image of %s %s generation %llu to %s: %zu bytes, %u object(s), %u region(s) with %llu bytes stored, %zu fd(s) not stored; frozen %.3f ms",
		       rt->name, rt->release, (unsigned long long)rt->generation, path, len,
		       s->objects, nregions, (unsigned long long)s->region_bytes, nfds,
		       s->freeze_ns / 1e6);
	return rc;
}

int baton_rt_save_image(struct baton_rt *rt, const char *path)
{
	struct rt_golden_saved s;
	char err[BATON_MESSAGE_MAX];
	int rc;

	if (!rt || !path)
		return -EINVAL;
	rc = rt_golden_save(rt, path, true, &s, err, sizeof(err));
	rt_golden_saved_free(&s);
	if (rc < 0)
		return rt_fail(rt, rc, "save image %s: %s", path, err);
	return 0;
}

/* The control socket's SAVE request: writes the golden image, answers SAVE_RESULT. */
int rt_save_request(struct baton_rt *rt, const struct baton_msg *m, uint8_t *buf, size_t size,
		    size_t *len)
{
	struct baton_msg_writer w;
	struct rt_golden_saved s = { 0 };
	char path[PATH_MAX] = "", err[BATON_MESSAGE_MAX] = "";
	uint32_t force = 0;
	int rc;

	if (baton_msg_get_str(m, BATON_TAG_PATH, path, sizeof(path)) < 0) {
		path[0] = '\0';
		rc = -ENAMETOOLONG;
		snprintf(err, sizeof(err), "the path is too long");
	} else if (path[0] != '/') {
		rc = -EINVAL;
		snprintf(err, sizeof(err), "\"%.400s\" is not an absolute path", path);
	} else {
		baton_msg_get_u32(m, BATON_TAG_FORCE, &force);
		rt_log(rt, BATON_LOG_INFO, "control socket: save a golden image to %s%s", path,
		       force ? " (replacing)" : "");
		rc = rt_golden_save(rt, path, force != 0, &s, err, sizeof(err));
	}
	if (rc < 0)
		rt_log(rt, BATON_LOG_ERROR, "save image %s: %s; %s %s serves on, state unchanged",
		       path, err, rt->name, rt->release);
	baton_msg_begin(&w, buf, size, BATON_MSG_SAVE_RESULT);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, rc < 0 ? rc : 0);
	rt_msg_put_self(rt, &w);
	baton_msg_put_u64(&w, BATON_TAG_GENERATION, rt->generation);
	baton_msg_put_str(&w, BATON_TAG_PATH, path);
	if (rc < 0) {
		if (s.step)
			baton_msg_put_str(&w, BATON_TAG_STEP, s.step);
		baton_msg_put_str(&w, BATON_TAG_REASON, err);
	} else {
		for (size_t i = 0; i < s.nfiles; i++)
			baton_msg_put_str(&w, BATON_TAG_FILE, s.files[i]);
		baton_msg_put_u64(&w, BATON_TAG_IMAGE_LEN, s.image_len);
		baton_msg_put_u32(&w, BATON_TAG_OBJECTS, s.objects);
		baton_msg_put_u32(&w, BATON_TAG_NFDS, s.nfds);
		baton_msg_put_u32(&w, BATON_TAG_REGIONS, s.nregions);
		baton_msg_put_u64(&w, BATON_TAG_REGION_BYTES, s.region_bytes);
	}
	if (s.freeze_ns)
		baton_msg_put_u64(&w, BATON_TAG_DURATION_NS, s.freeze_ns);
	rt_golden_saved_free(&s);
	return baton_msg_end(&w, len);
}

/* ------------------------------------------------------------------------ */
/* The dry run's record and report                                          */

static const char *const result_names[] = {
	[BATON_DRY_RUN_RESTORED] = "restored",
	[BATON_DRY_RUN_REFUSED] = "refused",
	[BATON_DRY_RUN_UNREADABLE] = "unreadable",
	[BATON_DRY_RUN_FAILED] = "failed",
	[BATON_DRY_RUN_CHECK_FAILED] = "check-failed",
};

int rt_dry_begin(struct baton_rt *rt, const char *image)
{
	const char *report = getenv(BATON_ENV_DRY_RUN_REPORT);
	struct rt_dry *dry = calloc(1, sizeof(*dry));

	if (!dry || !(dry->image = strdup(image)) ||
	    (report && *report && !(dry->report = strdup(report)))) {
		if (dry)
			free(dry->image);
		free(dry);
		return -ENOMEM;
	}
	dry->result = BATON_DRY_RUN_RESTORED;
	rt->dry = dry;
	unsetenv(BATON_ENV_DRY_RUN);
	unsetenv(BATON_ENV_DRY_RUN_REPORT);
	return 0;
}

void rt_dry_free(struct rt_dry *dry)
{
	size_t i;

	if (!dry)
		return;
	for (i = 0; i < dry->nobjs; i++) {
		free(dry->objs[i].key);
		free(dry->objs[i].writer_handler);
	}
	for (i = 0; i < dry->nchecks; i++) {
		free(dry->checks[i].name);
		free(dry->checks[i].detail);
	}
	free(dry->objs);
	free(dry->pos);
	free(dry->fds);
	free(dry->regions);
	free(dry->checks);
	free(dry->image);
	free(dry->report);
	free(dry);
}

void rt_dry_finding(struct baton_rt *rt, uint16_t rule, const char *text)
{
	if (rt->dry)
		rt_reason_add(&rt->dry->findings, rule, text);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static struct json_object *json_release_of(const struct baton_image_header *h)
{
	struct json_object *o = json_object_new_object();
	char rel[BATON_RELEASE_STRMAX], b[2 * BATON_BUILD_ID_MAX + 1];

	baton_release_format(&h->release, rel, sizeof(rel));
	baton_build_id_format(&h->build_id, b, sizeof(b));
	add_str(o, "program", h->program);
	add_str(o, "release", rel);
	add_str(o, "build_id", b);
	json_object_object_add(o, "generation", json_object_new_uint64(h->generation));
	return o;
}

static struct json_object *json_objects(const struct baton_rt *rt)
{
	const struct rt_dry *dry = rt->dry;
	struct json_object *a = json_object_new_array();

	for (uint32_t i = 0; i < dry->nobjs; i++) {
		const struct rt_dry_object *d = &dry->objs[i];
		struct json_object *o = json_object_new_object(), *steps = json_object_new_array();
		char cs[BATON_UUID_STRLEN + 1];

		baton_uuid_format(&d->contract, cs);
		add_str(o, "key", d->key);
		add_str(o, "contract", cs);
		add_str(o, "contract_name", baton_catalog_contract_name(rt->cat, &d->contract));
		json_object_object_add(o, "version", json_object_new_uint64(d->version));
		add_str(o, "writer_handler", d->writer_handler);
		add_str(o, "handler", d->handler);
		json_object_object_add(o, "restored_version",
				       d->handler ? json_object_new_uint64(d->target_version) : NULL);
		for (uint32_t v = d->version; v < d->reached_version; v++) {
			struct json_object *s = json_object_new_object();

			json_object_object_add(s, "from", json_object_new_uint64(v));
			json_object_object_add(s, "to", json_object_new_uint64(v + 1));
			json_object_array_add(steps, s);
		}
		json_object_object_add(o, "steps", steps);
		json_object_object_add(o, "restored", json_object_new_boolean(d->restored));
		json_object_object_add(o, "dropped", json_object_new_boolean(d->dropped));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *json_tables(const struct rt_dry *dry, struct json_object *root)
{
	struct json_object *fds = json_object_new_array(), *regions = json_object_new_array();

	for (uint32_t i = 0; i < dry->nfds; i++) {
		struct json_object *o = json_object_new_object();
		const char *kind = baton_fd_kind_name(dry->fds[i].kind);

		json_object_object_add(o, "index", json_object_new_uint64(i));
		add_str(o, "kind", kind ? kind : "unknown");
		add_str(o, "name", dry->fds[i].name);
		add_str(o, "stands_in", dry->fds[i].region ? "region" : "/dev/null");
		json_object_array_add(fds, o);
	}
	for (uint32_t i = 0; i < dry->nregions; i++) {
		struct json_object *o = json_object_new_object();
		char file[PATH_MAX + 32];

		snprintf(file, sizeof(file), "%s.region.%u", dry->image, i);
		json_object_object_add(o, "index", json_object_new_uint64(i));
		add_str(o, "name", dry->regions[i].name);
		json_object_object_add(o, "size", json_object_new_uint64(dry->regions[i].size));
		add_str(o, "file", file);
		json_object_object_add(o, "stored_bytes",
				       dry->regions[i].loaded ?
				       json_object_new_uint64(dry->regions[i].stored) : NULL);
		json_object_array_add(regions, o);
	}
	json_object_object_add(root, "fds", fds);
	json_object_object_add(root, "regions", regions);
	return root;
}

/* Writes the report to BATON_DRY_RUN_REPORT, if one was asked for. */
int rt_dry_report(struct baton_rt *rt)
{
	const struct rt_dry *dry = rt->dry;
	struct json_object *root, *a;
	char b[2 * BATON_BUILD_ID_MAX + 1];
	const char *text;
	int fd, rc;

	if (!dry || !dry->report)
		return 0;
	root = json_object_new_object();
	json_object_object_add(root, "ok", json_object_new_boolean(dry->result == BATON_DRY_RUN_RESTORED));
	add_str(root, "result", result_names[dry->result]);
	json_object_object_add(root, "exit_status", json_object_new_int(dry->result));
	add_str(root, "image", dry->image);
	add_str(root, "program", rt->name);
	add_str(root, "release", rt->release);
	baton_build_id_format(&rt->cat->build_id, b, sizeof(b));
	add_str(root, "build_id", b);
	json_object_object_add(root, "writer", dry->have_header ? json_release_of(&dry->writer) : NULL);
	json_object_object_add(root, "objects", json_objects(rt));
	json_tables(dry, root);
	a = json_object_new_array();
	for (unsigned int i = 0; i < dry->findings.n; i++) {
		struct json_object *f = json_object_new_object();
		uint16_t rule = dry->findings.r[i].rule;

		add_str(f, "rule", rule ? baton_rule_name(rule) : NULL);
		add_str(f, "message", dry->findings.r[i].text);
		json_object_array_add(a, f);
	}
	json_object_object_add(root, "findings", a);
	a = json_object_new_array();
	for (size_t i = 0; i < dry->nchecks; i++) {
		struct json_object *c = json_object_new_object();

		add_str(c, "name", dry->checks[i].name);
		json_object_object_add(c, "ok", json_object_new_boolean(dry->checks[i].passed));
		add_str(c, "detail", dry->checks[i].detail);
		json_object_array_add(a, c);
	}
	json_object_object_add(root, "checks", a);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = text ? 0 : -ENOMEM;
	fd = rc ? -1 : open(dry->report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rc == 0 && fd < 0)
		rc = -errno;
	if (rc == 0) {
		rc = full_pwrite(fd, text, strlen(text), 0);
		if (rc == 0)
			rc = full_pwrite(fd, "\n", 1, strlen(text));
		if (close(fd) < 0 && rc == 0)
			rc = -errno;
	}
	if (rc < 0)
		rt_log(rt, BATON_LOG_ERROR, "dry run: cannot write the report to %s: %s", dry->report,
		       strerror(-rc));
	json_object_put(root);
	return rc;
}

int rt_dry_end(struct baton_rt *rt, int result)
{
	struct rt_dry *dry = rt->dry;
	char line[BATON_MESSAGE_MAX + 32];

	dry->result = result;
	if (result != BATON_DRY_RUN_RESTORED && dry->findings.n == 0)
		rt_reason_add(&dry->findings, 0, rt->err[0] ? rt->err : "the dry run failed");
	if (result == BATON_DRY_RUN_RESTORED)
		rt_log(rt, BATON_LOG_INFO, "dry run of %s: restored, not serving", dry->image);
	else
		for (unsigned int i = 0; i < dry->findings.n; i++) {
			rt_finding_line(dry->findings.r[i].rule, dry->findings.r[i].text, line,
					sizeof(line));
			rt_log(rt, BATON_LOG_ERROR, "dry run of %s: %s: %s", dry->image,
			       result_names[result], line);
		}
	return rt_dry_report(rt);
}

bool baton_rt_dry_run(const struct baton_rt *rt)
{
	return rt && rt->dry;
}

int baton_rt_dry_run_result(const struct baton_rt *rt)
{
	return rt && rt->dry ? rt->dry->result : -1;
}

int baton_rt_dry_run_check(struct baton_rt *rt, const char *name, bool passed, const char *fmt, ...)
{
	struct rt_dry *dry;
	struct rt_dry_check *c;
	char detail[BATON_MESSAGE_MAX];
	va_list ap;

	if (!rt || !name || !rt->dry || !rt->started ||
	    (rt->dry->result != BATON_DRY_RUN_RESTORED &&
	     rt->dry->result != BATON_DRY_RUN_CHECK_FAILED))
		return -EINVAL;
	dry = rt->dry;
	detail[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	c = realloc(dry->checks, (dry->nchecks + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	dry->checks = c;
	c = &dry->checks[dry->nchecks];
	c->name = strdup(name);
	c->detail = strdup(detail);
	if (!c->name || !c->detail) {
		free(c->name);
		free(c->detail);
		return -ENOMEM;
	}
	c->passed = passed;
	dry->nchecks++;
	if (!passed)
		dry->result = BATON_DRY_RUN_CHECK_FAILED;
	rt_log(rt, passed ? BATON_LOG_INFO : BATON_LOG_ERROR, "dry run: check %s %s%s%s", name,
	       passed ? "passed" : "FAILED", detail[0] ? ": " : "", detail);
	return rt_dry_report(rt);
}
