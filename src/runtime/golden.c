/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime — golden images: saving the state to files, and reading it back
 *
 * A project keeps, per shipped release, one small real image written by that
 * release (docs/history.md), so that its test suite can prove that the
 * current release restores what every supported earlier release wrote — the
 * meaning of the fields, the upgrade steps, the regions — not only that the
 * layouts line up.
 *
 * baton_rt_save_image() writes one: freeze, every handler's save, the image,
 * thaw, exactly as an update would, but into PATH instead of a successor.
 * File descriptors cannot be stored; the fd table keeps what they were.
 * Regions can: region N of the image goes to PATH.region.N, byte for byte
 * (golden images are small; this copy is what an update never does).
 *
 * A dry run (BATON_DRY_RUN_IMAGE=PATH, new.c) reads them back: the image,
 * each PATH.region.N into a fresh memfd (an empty one where the file is
 * missing), and /dev/null for every other fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

static int write_file(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = buf;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int baton_rt_save_image(struct baton_rt *rt, const char *path)
{
	char err[BATON_MESSAGE_MAX], rpath[PATH_MAX];
	struct baton_region *r;
	const void *map = NULL;
	size_t len = 0, nfds = 0;
	int image_fd = -1, *fds = NULL, rc;
	struct baton_diag d;

	if (!rt || !path)
		return -EINVAL;
	if (!rt->started)
		return rt_fail(rt, -EAGAIN, "save image %s: call baton_rt_start() first", path);
	if (rt->up.active)
		return rt_fail(rt, -EBUSY, "save image %s: an update is in progress", path);
	rc = rt_update_save(rt, &image_fd, &len, &fds, &nfds, err, sizeof(err));
	if (rc < 0)
		goto out;
	rc = baton_tp_image_map(image_fd, len, &map, &d);
	if (rc < 0) {
		snprintf(err, sizeof(err), "%s", d.msg);
		goto thaw;
	}
	rc = write_file(path, map, len);
	if (rc < 0) {
		snprintf(err, sizeof(err), "writing %.300s: %s", path, strerror(-rc));
		goto thaw;
	}
	for (r = rt->regions; r; r = r->next) {
		if (r->index == UINT32_MAX)
			continue;   /* not in this image */
		snprintf(rpath, sizeof(rpath), "%s.region.%u", path, r->index);
		rc = write_file(rpath, r->base, (size_t)r->size);
		if (rc < 0) {
			snprintf(err, sizeof(err), "writing region %s to %.300s: %s", r->name, rpath,
				 strerror(-rc));
			goto thaw;
		}
	}
	rt_log(rt, BATON_LOG_INFO, "saved an image of %s %s generation %llu to %s (%zu bytes, %zu fds not stored)",
	       rt->name, rt->release, (unsigned long long)rt->generation, path, len, nfds);
thaw:
	if (rt->has_life && rt->life.thaw)
		rt->life.thaw(rt->life.ctx);
out:
	if (map)
		munmap((void *)map, len);
	if (image_fd >= 0)
		close(image_fd);
	free(fds);
	rt_obj_free_list(rt->saved);
	rt->saved = rt->saved_tail = NULL;
	if (rc < 0)
		return rt_fail(rt, rc, "save image %s: %s", path, err);
	return 0;
}

int rt_dry_run_region(const char *image_path, uint32_t index, int fd, uint64_t size)
{
	char rpath[PATH_MAX];
	struct stat st;
	off_t off = 0;
	int in, rc = 0;

	snprintf(rpath, sizeof(rpath), "%s.region.%u", image_path, index);
	in = open(rpath, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? 0 : -errno;   /* an empty region */
	if (fstat(in, &st) < 0 || (uint64_t)st.st_size > size) {
		close(in);
		return -EFBIG;
	}
	while (off < st.st_size) {
		char buf[65536];
		ssize_t n = pread(in, buf, sizeof(buf), off);

		if (n <= 0 || pwrite(fd, buf, (size_t)n, off) != n) {
			rc = -EIO;
			break;
		}
		off += n;
	}
	close(in);
	return rc;
}
