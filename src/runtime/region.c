/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime regions — memory that travels as a memfd, not as bytes
 *
 * A region is a memfd mapped MAP_SHARED. Its pages belong to the memfd, not
 * to the process, so handing a region to the successor is sending one fd and
 * mapping it again there: O(1) in the region's size, with no MAP_POPULATE and
 * no copy, which is why downtime does not grow with the data.
 *
 * The successor maps the region at an address of the kernel's choosing, so
 * references inside a region must be offsets from its base, never pointers.
 * Until the commit point the successor's mapping is read-only: the
 * predecessor may still have to resume with exactly the bytes it froze, and a
 * write by the successor before the commit would change them under it.
 * rt_regions_commit() makes the mappings writable once the old process has
 * let go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "transport/fault.h"

static void region_link(struct baton_rt *rt, struct baton_region *r)
{
	r->next = rt->regions;
	rt->regions = r;
}

int baton_region_create(struct baton_rt *rt, const char *name, uint64_t size,
			struct baton_region **out)
{
	struct baton_region *r;
	int rc;

	if (!rt || !name || !out || size == 0 || size > (uint64_t)SIZE_MAX)
		return -EINVAL;
	if (!baton_name_valid(name, strlen(name)))
		return rt_fail(rt, -EINVAL, "region \"%.64s\": not a valid name ([A-Za-z0-9._-], at most 63)",
			       name);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->rt = rt;
	r->fd = -1;
	baton_strlcpy(r->name, name, sizeof(r->name));
	r->size = size;
	if (BATON_FAULT("memfd_create")) {
		rc = rt_fail(rt, -EMFILE, "region %s: memfd_create(): %s (injected)", name,
			     strerror(EMFILE));
		goto fail;
	}
	r->fd = memfd_create(name, MFD_CLOEXEC);
	if (r->fd < 0) {
		rc = rt_fail(rt, -errno, "region %s: memfd_create(): %s", name, strerror(errno));
		goto fail;
	}
	if (BATON_FAULT("ftruncate")) {
		rc = rt_fail(rt, -ENOSPC, "region %s: ftruncate(): %s (injected)", name,
			     strerror(ENOSPC));
		goto fail;
	}
	if (ftruncate(r->fd, (off_t)size) < 0) {
		rc = rt_fail(rt, -errno, "region %s: ftruncate(%llu): %s", name,
			     (unsigned long long)size, strerror(errno));
		goto fail;
	}
	if (BATON_FAULT("mmap")) {
		rc = rt_fail(rt, -ENOMEM, "region %s: mmap(): %s (injected)", name, strerror(ENOMEM));
		goto fail;
	}
	r->base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		rc = rt_fail(rt, -errno, "region %s: mmap(%llu bytes): %s", name,
			     (unsigned long long)size, strerror(errno));
		goto fail;
	}
	region_link(rt, r);
	*out = r;
	return 0;
fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return rc;
}

int rt_region_adopt(struct baton_rt *rt, const char *name, int fd, uint64_t size,
		    struct baton_region **out, char *err, size_t errsize)
{
	struct baton_region *r;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size ||
	    size == 0 || size > (uint64_t)SIZE_MAX) {
		snprintf(err, errsize,
			 "region %s: the fd sent for it is not a memfd of at least %llu bytes",
			 name, (unsigned long long)size);
		return -EBADMSG;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->rt = rt;
	r->fd = fd;
	r->size = size;
	r->read_only = true;
	baton_strlcpy(r->name, name, sizeof(r->name));
	if (BATON_FAULT("mmap")) {
		snprintf(err, errsize, "region %s: mmap(): %s (injected)", name, strerror(ENOMEM));
		free(r);
		return -ENOMEM;
	}
	r->base = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		int rc = -errno;

		snprintf(err, errsize, "region %s: mmap(%llu bytes): %s", name,
			 (unsigned long long)size, strerror(-rc));
		free(r);
		return rc;
	}
	region_link(rt, r);
	*out = r;
	return 0;
}

int rt_regions_commit(struct baton_rt *rt)
{
	struct baton_region *r;

	for (r = rt->regions; r; r = r->next) {
		if (!r->read_only)
			continue;
		if (mprotect(r->base, (size_t)r->size, PROT_READ | PROT_WRITE) < 0)
			return rt_fail(rt, -errno, "region %s: making it writable: %s", r->name,
				       strerror(errno));
		r->read_only = false;
	}
	return 0;
}

void *baton_region_base(const struct baton_region *r)
{
	return r->base;
}

uint64_t baton_region_size(const struct baton_region *r)
{
	return r->size;
}

const char *baton_region_name(const struct baton_region *r)
{
	return r->name;
}

void baton_region_destroy(struct baton_region *r)
{
	struct baton_region **pp;

	if (!r)
		return;
	for (pp = &r->rt->regions; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->base)
		munmap(r->base, (size_t)r->size);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}
