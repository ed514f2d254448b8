/* SPDX-License-Identifier: MIT */
/*
 * DOC: the running program's own catalog
 *
 * A program finds its records between the linker's __start_baton_catalog
 * and __stop_baton_catalog symbols (BATON_SELF_RECORDS); this file adds the
 * build id the linker wrote into the program's notes, as the dynamic loader
 * mapped them. The module whose loaded segments hold the records is the one
 * whose build id counts, so a shared library that declares its own catalog
 * gets its own build id; records found nowhere (a copy on the heap) take the
 * main program's, the first module dl_iterate_phdr() reports.
 */
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include <baton/catalog_io.h>

#include "internal.h"

struct self_ctx {
	uintptr_t records;
	unsigned index;
	bool found;
	struct baton_build_id id;     /* of the module holding the records */
	struct baton_build_id first;  /* of the main program */
};

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Walks notes in memory; true when an NT_GNU_BUILD_ID note was found. */
static bool mem_build_id(const uint8_t *p, size_t len, size_t align, struct baton_build_id *out)
{
	size_t off = 0;

	while (len - off >= sizeof(ElfW(Nhdr))) {
		ElfW(Nhdr) nh;
		size_t name, desc, nsz, dsz;

		memcpy(&nh, p + off, sizeof(nh));
		name = off + sizeof(nh);
		nsz = align_up(nh.n_namesz, align);
		dsz = align_up(nh.n_descsz, align);
		if (nsz > len - name)
			break;
		desc = name + nsz;
		if (dsz > len - desc)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == sizeof(ELF_NOTE_GNU) &&
		    memcmp(p + name, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)) == 0 &&
		    nh.n_descsz > 0 && nh.n_descsz <= BATON_BUILD_ID_MAX) {
			memset(out, 0, sizeof(*out));
			memcpy(out->b, p + desc, nh.n_descsz);
			out->len = nh.n_descsz;
			return true;
		}
		off = desc + dsz;
	}
	return false;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct self_ctx *x = data;
	struct baton_build_id id = { 0 };
	bool holds = false;
	ElfW(Half) i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && x->records >= start && x->records - start < ph->p_memsz)
			holds = true;
	}
	/* only the notes of the modules that can matter are read */
	for (i = 0; (holds || x->index == 0) && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_NOTE && !id.len)
			mem_build_id((const uint8_t *)start, ph->p_memsz, ph->p_align == 8 ? 8 : 4, &id);
	}
	if (x->index++ == 0)
		x->first = id;
	if (holds) {
		x->id = id;
		x->found = true;
		return 1;
	}
	return 0;
}

int baton_catalog_load_self(const void *records, size_t len, struct baton_catalog_file **out,
			    struct baton_diag *d)
{
	struct self_ctx x = { .records = (uintptr_t)records };
	int rc;

	*out = NULL;
	if (!records || len == 0)
		return baton_diag_set(d, -ENOENT,
				      "this program declares no baton catalog: no %s section (declare BATON_PROGRAM, "
				      "BATON_SCHEMA and BATON_HANDLER in its sources, see <baton/catalog.h>)",
				      BATON_CATALOG_SECTION);
	dl_iterate_phdr(module_cb, &x);
	rc = baton__file_new(records, len, x.found ? &x.id : &x.first, "self", out, d);
	if (rc < 0)
		baton__diag_prefix(d, rc, "this program's own catalog");
	return rc;
}
