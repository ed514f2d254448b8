/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd handover — phase 1 stand-in until the baton runtime lands
 *
 * Creates the cache region with memfd_create + mmap(MAP_SHARED) and serves
 * no upgrades.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handover.h"

static int region_create(uint64_t size, void **base)
{
	int fd = memfd_create("kvd.cache", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	*base = p;
	return 0;
}

int kvd_handover_start(struct kvd_server *s, int argc, char **argv)
{
	struct kvd_geometry g;
	void *base = NULL;
	int rc;

	(void)argc;
	(void)argv;
	rc = kvd_geometry(&g, s->set.limit, s->set.item_size_max);
	if (rc < 0) {
		kvd_log(3, "cannot size a cache of %llu bytes: %s",
			(unsigned long long)s->set.limit, strerror(-rc));
		return rc;
	}
	rc = region_create(g.region_size, &base);
	if (rc < 0) {
		kvd_log(3, "cannot create the cache region: %s", strerror(-rc));
		return rc;
	}
	kvd_store_format(&s->st, base, &g, KVD_LAYOUT, s->st.now);
	return kvd_listen(s);
}

int kvd_handover_fd(struct kvd_server *s)
{
	(void)s;
	return -1;
}

int kvd_handover_dispatch(struct kvd_server *s)
{
	(void)s;
	return 0;
}

void kvd_handover_free(struct kvd_server *s)
{
	(void)s;
}
