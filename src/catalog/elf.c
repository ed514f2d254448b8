/* SPDX-License-Identifier: MIT */
/*
 * DOC: catalogs from program files — the baton_catalog ELF section
 *
 * `baton catalog PROGRAM` and `baton check OLD NEW` read a release's catalog
 * from the program file without running it: the records the declaration
 * macros put in the section "baton_catalog", and the GNU build id the linker
 * put in a note. The file is someone else's and may be anything: every
 * offset and size from it is checked against the file's real size before
 * libelf is asked for bytes, and every refusal names the file and says what
 * is wrong with it.
 *
 * The build id comes from an NT_GNU_BUILD_ID note: first the section
 * .note.gnu.build-id, then any other SHT_NOTE section, then the PT_NOTE
 * segments (for files whose section headers carry no notes). A program
 * without one has an unknown build, which no same-build rule matches.
 *
 * ELF files of either class and byte order are read. The records are copied
 * as they are in the file; records of the other byte order are refused by
 * baton_catalog_open() with words that say so.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <baton/catalog_io.h>

#include "internal.h"

struct elf_src {
	const char *path;
	int fd;
	Elf *elf;
	uint64_t file_size;
};

static bool range_in_file(const struct elf_src *src, uint64_t off, uint64_t size)
{
	return off <= src->file_size && size <= src->file_size - off;
}

/*
 * Looks for an NT_GNU_BUILD_ID note in data (notes already in host order).
 * Returns 1 when found (out filled), 0 when not, or a negative errno for a
 * build-id note baton cannot use.
 */
static int notes_build_id(const struct elf_src *src, Elf_Data *data, struct baton_build_id *out,
			  struct baton_diag *d)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!data || !data->d_buf)
		return 0;
	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *base = data->d_buf;

		if (next <= off)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == sizeof(ELF_NOTE_GNU) &&
		    name_off <= data->d_size && data->d_size - name_off >= nh.n_namesz &&
		    memcmp(base + name_off, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)) == 0) {
			if (nh.n_descsz == 0 || nh.n_descsz > BATON_BUILD_ID_MAX)
				return baton_diag_set(d, -EINVAL,
						      "%s: its GNU build id is %u bytes; baton reads 1 to %d (link with -Wl,--build-id=sha1)",
						      src->path, (unsigned)nh.n_descsz, BATON_BUILD_ID_MAX);
			if (desc_off > data->d_size || data->d_size - desc_off < nh.n_descsz)
				break;
			memset(out, 0, sizeof(*out));
			memcpy(out->b, base + desc_off, nh.n_descsz);
			out->len = (uint32_t)nh.n_descsz;
			return 1;
		}
		off = next;
	}
	return 0;
}

static int section_build_id(const struct elf_src *src, Elf_Scn *scn, const GElf_Shdr *sh,
			    struct baton_build_id *out, struct baton_diag *d)
{
	Elf_Data *data;

	if (sh->sh_type != SHT_NOTE || !range_in_file(src, sh->sh_offset, sh->sh_size))
		return 0;
	data = elf_getdata(scn, NULL);
	return notes_build_id(src, data, out, d);
}

static int segments_build_id(const struct elf_src *src, struct baton_build_id *out,
			     struct baton_diag *d)
{
	size_t n, i;
	int rc;

	if (elf_getphdrnum(src->elf, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		Elf_Data *data;

		if (!gelf_getphdr(src->elf, (int)i, &ph) || ph.p_type != PT_NOTE || ph.p_filesz == 0)
			continue;
		if (!range_in_file(src, ph.p_offset, ph.p_filesz))
			continue;
		data = elf_getdata_rawchunk(src->elf, (int64_t)ph.p_offset, ph.p_filesz,
					    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		rc = notes_build_id(src, data, out, d);
		if (rc)
			return rc;
	}
	return 0;
}

static int open_elf(struct elf_src *src, struct baton_diag *d)
{
	unsigned char ident[EI_NIDENT];
	struct stat st;
	ssize_t n;

	src->fd = open(src->path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0)
		return baton_diag_set(d, -errno, "%s: cannot open: %s", src->path, strerror(errno));
	if (fstat(src->fd, &st) < 0)
		return baton_diag_set(d, -errno, "%s: cannot stat: %s", src->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return baton_diag_set(d, -EINVAL, "%s is not a regular file, so not a program", src->path);
	src->file_size = (uint64_t)st.st_size;

	do
		n = pread(src->fd, ident, sizeof(ident), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return baton_diag_set(d, -errno, "%s: cannot read: %s", src->path, strerror(errno));
	if (n < 4 || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return baton_diag_set(d, -ENOEXEC, "%s is not a program: no ELF magic at its start",
				      src->path);
	if (n < EI_NIDENT)
		return baton_diag_set(d, -EINVAL, "%s: truncated ELF file (%zd bytes)", src->path, n);
	if (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64)
		return baton_diag_set(d, -EINVAL, "%s: unknown ELF class %u (corrupt file?)", src->path,
				      ident[EI_CLASS]);
	if (ident[EI_DATA] != ELFDATA2LSB && ident[EI_DATA] != ELFDATA2MSB)
		return baton_diag_set(d, -EINVAL, "%s: unknown ELF byte order %u (corrupt file?)",
				      src->path, ident[EI_DATA]);

	if (elf_version(EV_CURRENT) == EV_NONE)
		return baton_diag_set(d, -ENOSYS, "libelf: %s", elf_errmsg(-1));
	src->elf = elf_begin(src->fd, ELF_C_READ, NULL);
	if (!src->elf || elf_kind(src->elf) != ELF_K_ELF)
		return baton_diag_set(d, -EINVAL, "%s: corrupt ELF file: %s", src->path,
				      elf_errmsg(-1));
	return 0;
}

/*
 * libelf quietly sees no sections at all when the section header table lies
 * beyond the end of the file; a cut or corrupt program deserves those words.
 */
static int check_section_table(const struct elf_src *src, struct baton_diag *d)
{
	GElf_Ehdr eh;
	uint64_t n, entsize;

	if (!gelf_getehdr(src->elf, &eh))
		return baton_diag_set(d, -EINVAL, "%s: corrupt or truncated ELF header: %s", src->path,
				      elf_errmsg(-1));
	if (eh.e_shoff == 0)
		return 0;  /* no section headers: no catalog section, said later */
	entsize = gelf_getclass(src->elf) == ELFCLASS64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (eh.e_shentsize != entsize)
		return baton_diag_set(d, -EINVAL, "%s: corrupt ELF header: section headers of %u bytes",
				      src->path, (unsigned)eh.e_shentsize);
	n = eh.e_shnum ? eh.e_shnum : 1;  /* 0: the count is in section 0 */
	if (!range_in_file(src, eh.e_shoff, n * entsize))
		return baton_diag_set(d, -EINVAL,
				      "%s: corrupt or truncated ELF file: its section headers (at offset %llu) lie past the end of the file (%llu bytes)",
				      src->path, (unsigned long long)eh.e_shoff,
				      (unsigned long long)src->file_size);
	return 0;
}

int baton_catalog_load_elf(const char *path, struct baton_catalog_file **out, struct baton_diag *d)
{
	struct elf_src src = { .path = path, .fd = -1 };
	struct baton_build_id bid = { 0 };
	Elf_Scn *scn = NULL, *cat_scn = NULL;
	GElf_Shdr cat_sh = { 0 };
	Elf_Data *data;
	size_t shstrndx, shnum;
	int rc, found_id = 0;

	*out = NULL;
	rc = open_elf(&src, d);
	if (rc < 0)
		goto out;
	rc = check_section_table(&src, d);
	if (rc < 0)
		goto out;
	if (elf_getshdrnum(src.elf, &shnum) != 0 || elf_getshdrstrndx(src.elf, &shstrndx) != 0) {
		rc = baton_diag_set(d, -EINVAL,
				    "%s: corrupt or truncated ELF file: no section table (%s)",
				    path, elf_errmsg(-1));
		goto out;
	}
	if (shnum && shstrndx == SHN_UNDEF) {
		rc = baton_diag_set(d, -ENOENT,
				    "%s declares no baton catalog: its sections have no names, so none is %s",
				    path, BATON_CATALOG_SECTION);
		goto out;
	}
	if (shnum && shstrndx >= shnum) {
		rc = baton_diag_set(d, -EINVAL,
				    "%s: corrupt ELF file: its section name table is section %zu of %zu",
				    path, shstrndx, shnum);
		goto out;
	}

	while ((scn = elf_nextscn(src.elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh)) {
			rc = baton_diag_set(d, -EINVAL, "%s: corrupt section header %zu: %s", path,
					    elf_ndxscn(scn), elf_errmsg(-1));
			goto out;
		}
		name = elf_strptr(src.elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (strcmp(name, BATON_CATALOG_SECTION) == 0) {
			if (cat_scn) {
				rc = baton_diag_set(d, -EINVAL,
						    "%s has two %s sections (%zu and %zu); a program has one catalog",
						    path, BATON_CATALOG_SECTION, elf_ndxscn(cat_scn),
						    elf_ndxscn(scn));
				goto out;
			}
			cat_scn = scn;
			cat_sh = sh;
		} else if (!found_id && strcmp(name, ".note.gnu.build-id") == 0) {
			found_id = section_build_id(&src, scn, &sh, &bid, d);
			if (found_id < 0) {
				rc = found_id;
				goto out;
			}
		}
	}
	if (!cat_scn) {
		rc = baton_diag_set(d, -ENOENT,
				    "%s declares no baton catalog: no %s section (declare BATON_PROGRAM, "
				    "BATON_SCHEMA and BATON_HANDLER in its sources, see <baton/catalog.h>)",
				    path, BATON_CATALOG_SECTION);
		goto out;
	}
	if (cat_sh.sh_type == SHT_NOBITS) {
		rc = baton_diag_set(d, -EINVAL,
				    "%s: its %s section occupies no bytes in the file (SHT_NOBITS); corrupt or stripped program",
				    path, BATON_CATALOG_SECTION);
		goto out;
	}
	if (cat_sh.sh_flags & SHF_COMPRESSED) {
		rc = baton_diag_set(d, -EINVAL,
				    "%s: its %s section is compressed; baton reads it uncompressed",
				    path, BATON_CATALOG_SECTION);
		goto out;
	}
	if (!range_in_file(&src, cat_sh.sh_offset, cat_sh.sh_size)) {
		rc = baton_diag_set(d, -EINVAL,
				    "%s: its %s section (%llu bytes at offset %llu) runs past the end of the file (%llu bytes): truncated or corrupt program",
				    path, BATON_CATALOG_SECTION, (unsigned long long)cat_sh.sh_size,
				    (unsigned long long)cat_sh.sh_offset,
				    (unsigned long long)src.file_size);
		goto out;
	}
	if (cat_sh.sh_size == 0) {
		rc = baton_diag_set(d, -ENOENT, "%s: its %s section is empty", path,
				    BATON_CATALOG_SECTION);
		goto out;
	}
	if (cat_sh.sh_size > BATON_CATALOG_MAX_SIZE) {
		rc = baton_diag_set(d, -E2BIG, "%s: its %s section of %llu bytes exceeds the limit of %u",
				    path, BATON_CATALOG_SECTION, (unsigned long long)cat_sh.sh_size,
				    BATON_CATALOG_MAX_SIZE);
		goto out;
	}
	data = elf_rawdata(cat_scn, NULL);
	if (!data || !data->d_buf || data->d_size != cat_sh.sh_size) {
		rc = baton_diag_set(d, -EINVAL, "%s: cannot read its %s section: %s", path,
				    BATON_CATALOG_SECTION, elf_errmsg(-1));
		goto out;
	}

	/* The build id: any other note section, then the note segments. */
	for (scn = NULL; !found_id && (scn = elf_nextscn(src.elf, scn)) != NULL;) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh))
			found_id = section_build_id(&src, scn, &sh, &bid, d);
	}
	if (!found_id)
		found_id = segments_build_id(&src, &bid, d);
	if (found_id < 0) {
		rc = found_id;
		goto out;
	}

	rc = baton__file_new(data->d_buf, data->d_size, &bid, path, out, d);
	if (rc < 0)
		baton__diag_prefix(d, rc, path);
out:
	if (src.elf)
		elf_end(src.elf);
	if (src.fd >= 0)
		close(src.fd);
	return rc;
}
