/* SPDX-License-Identifier: MIT */
/*
 * DOC: transport — the image in a sealed memfd
 *
 * The writer builds the image straight into a shared mapping of a memfd,
 * unmaps it (a writable shared mapping would make F_SEAL_WRITE fail with
 * EBUSY), cuts the file to the image's length and seals it against writing,
 * shrinking, growing and further sealing. The reader checks those four seals
 * and the size before it maps the file: once sealed, nobody — not even the
 * writer — can change a byte under the reader's checksum check.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "transport.h"

int baton_tp_image_create(size_t size, int *fd, void **map, struct baton_diag *d)
{
	int rc;

	*fd = -1;
	*map = NULL;
	if (BATON_FAULT("memfd_create"))
		return baton_diag_set(d, -EMFILE, "image memfd: memfd_create(): %s (injected)",
				      strerror(EMFILE));
	*fd = memfd_create("baton-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0) {
		rc = -errno;
		*fd = -1;
		return baton_diag_set(d, rc, "image memfd: memfd_create(): %s", strerror(-rc));
	}
	if (BATON_FAULT("ftruncate")) {
		rc = baton_diag_set(d, -ENOSPC, "image memfd: ftruncate(): %s (injected)",
				    strerror(ENOSPC));
		goto fail;
	}
	if (ftruncate(*fd, (off_t)size) < 0) {
		rc = baton_diag_set(d, -errno, "image memfd: ftruncate(%zu): %s", size,
				    strerror(errno));
		goto fail;
	}
	if (BATON_FAULT("mmap")) {
		rc = baton_diag_set(d, -ENOMEM, "image memfd: mmap(): %s (injected)", strerror(ENOMEM));
		goto fail;
	}
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		rc = baton_diag_set(d, -errno, "image memfd: mmap(%zu): %s", size, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return rc;
}

int baton_tp_image_seal(int fd, void *map, size_t size, size_t len, struct baton_diag *d)
{
	if (map)
		munmap(map, size);
	if (ftruncate(fd, (off_t)len) < 0)
		return baton_diag_set(d, -errno, "image memfd: ftruncate(%zu): %s", len,
				      strerror(errno));
	if (BATON_FAULT("seal"))
		return baton_diag_set(d, -EPERM, "image memfd: F_ADD_SEALS: %s (injected)",
				      strerror(EPERM));
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return baton_diag_set(d, -errno, "image memfd: F_ADD_SEALS: %s", strerror(errno));
	return 0;
}

int baton_tp_image_map(int fd, size_t len, const void **map, struct baton_diag *d)
{
	const int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct stat st;
	void *p;
	int seals;

	*map = NULL;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return baton_diag_set(d, -EPERM,
				      "the image does not come in a sealable memfd (F_GET_SEALS: %s): refusing to read it",
				      strerror(errno));
	if ((seals & need) != need)
		return baton_diag_set(d, -EPERM,
				      "the image memfd lacks seals (has 0x%x, needs write, shrink, grow and seal): refusing to read it",
				      seals);
	if (fstat(fd, &st) < 0)
		return baton_diag_set(d, -errno, "image memfd: fstat(): %s", strerror(errno));
	if (st.st_size < 0 || (uint64_t)st.st_size != len || len == 0)
		return baton_diag_set(d, -EBADMSG,
				      "the image memfd holds %lld bytes, the image message says %zu",
				      (long long)st.st_size, len);
	if (BATON_FAULT("mmap"))
		return baton_diag_set(d, -ENOMEM, "image memfd: mmap(): %s (injected)", strerror(ENOMEM));
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return baton_diag_set(d, -errno, "image memfd: mmap(%zu): %s", len, strerror(errno));
	*map = p;
	return 0;
}
