/* SPDX-License-Identifier: MIT */
/*
 * DOC: unit tests — catalogs read from program files and from the program itself
 *
 * Usage: test_elf CATALOG_PROG PLAIN_PROG. CATALOG_PROG is a real program
 * that declares the catalog of kvd_catalog.h (built by meson next to this
 * test), PLAIN_PROG one that declares none. This test program declares the
 * same catalog itself, so the catalog read from its own memory and from its
 * own file (/proc/self/exe) must agree to the byte, build id included.
 *
 * The hostile files are made here: copies of the real program cut short or
 * with a section header changed, and small ELF files written from scratch in
 * both classes and byte orders, so that every refusal of the reader is seen.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <baton/catalog_io.h>

#include "kvd_catalog.h"

static const char *catalog_prog, *plain_prog;
static char tmpdir[64];

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

static uint8_t *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/baton-elf-test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Loads path, expecting a refusal with rc whose words name the file and hold words. */
static void refused(const char *path, int rc, const char *words)
{
	struct baton_catalog_file *f = (void *)1;
	struct baton_diag d;
	int got;

	baton_diag_clear(&d);
	got = baton_catalog_load_elf(path, &f, &d);
	if (got != rc || !strstr(d.msg, words) || !strstr(d.msg, path))
		fail_msg("%s: expected %d \"%s\", got %d \"%s\"", path, rc, words, got, d.msg);
	assert_null(f);
}

/* ------------------------------------------------------------------------ */
/* The real program                                                         */

/* The GNU build id of a 64-bit little-endian file, found without libelf. */
static struct baton_build_id build_id_by_hand(const uint8_t *file, size_t len)
{
	struct baton_build_id id = { 0 };
	Elf64_Ehdr eh;
	size_t i;

	assert_true(len >= sizeof(eh));
	memcpy(&eh, file, sizeof(eh));
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	for (i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh;
		size_t off;

		memcpy(&sh, file + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_NOTE)
			continue;
		for (off = sh.sh_offset; off + sizeof(Elf64_Nhdr) <= sh.sh_offset + sh.sh_size;) {
			Elf64_Nhdr nh;
			size_t name = off + sizeof(nh), desc;

			memcpy(&nh, file + off, sizeof(nh));
			desc = name + ((nh.n_namesz + 3) & ~3u);
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp(file + name, "GNU", 4) == 0) {
				id.len = nh.n_descsz;
				memcpy(id.b, file + desc, nh.n_descsz);
				return id;
			}
			off = desc + ((nh.n_descsz + 3) & ~3u);
		}
	}
	return id;
}

static char *json_of(const struct baton_catalog_file *f)
{
	struct baton_diag d;
	char *json;

	if (baton_catalog_to_json(&f->cat, &json, &d) != 0)
		fail_msg("%s", d.msg);
	return json;
}

static void program_file(void **state)
{
	struct baton_catalog_file *f, *g, *back;
	struct baton_build_id want;
	struct baton_diag d;
	uint8_t *file;
	size_t len;
	char *json, *again;

	if (baton_catalog_load_elf(catalog_prog, &f, &d) != 0)
		fail_msg("%s", d.msg);
	assert_string_equal(f->origin, catalog_prog);
	assert_string_equal(f->cat.program->name, "kvd");
	assert_int_equal(f->cat.nschemas, 4);
	assert_int_equal(f->cat.nhandlers, 3);
	assert_int_equal((uintptr_t)f->records % 8, 0);

	/* the build id is the linker's note */
	file = read_whole(catalog_prog, &len);
	want = build_id_by_hand(file, len);
	assert_int_equal(want.len, 20);  /* --build-id=sha1 */
	assert_true(baton_build_id_equal(&f->cat.build_id, &want));
	free(file);

	/* ELF -> JSON -> records -> JSON, byte for byte */
	json = json_of(f);
	assert_int_equal(baton_catalog_from_json(json, strlen(json), &back, &d), 0);
	again = json_of(back);
	assert_string_equal(json, again);
	assert_true(baton_build_id_equal(&back->cat.build_id, &want));
	free(again);
	baton_catalog_file_free(back);

	/* load picks ELF by its magic */
	assert_int_equal(baton_catalog_load(catalog_prog, &g, &d), 0);
	again = json_of(g);
	assert_string_equal(json, again);
	free(again);
	free(json);
	baton_catalog_file_free(g);
	baton_catalog_file_free(f);
}

static void self_and_own_file_agree(void **state)
{
	struct baton_catalog_file *self, *file;
	struct baton_diag d;
	char *a, *b;

	if (baton_catalog_load_self(BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN, &self, &d) != 0)
		fail_msg("%s", d.msg);
	assert_string_equal(self->origin, "self");
	assert_int_equal(self->cat.build_id.len, 20);
	if (baton_catalog_load_elf("/proc/self/exe", &file, &d) != 0)
		fail_msg("%s", d.msg);
	assert_true(baton_build_id_equal(&self->cat.build_id, &file->cat.build_id));
	a = json_of(self);
	b = json_of(file);
	assert_string_equal(a, b);
	free(a);
	free(b);
	baton_catalog_file_free(file);

	/* records copied elsewhere still get the main program's build id */
	{
		void *copy = malloc(BATON_SELF_RECORDS_LEN);
		struct baton_catalog_file *c;

		memcpy(copy, BATON_SELF_RECORDS, BATON_SELF_RECORDS_LEN);
		assert_int_equal(baton_catalog_load_self(copy, BATON_SELF_RECORDS_LEN, &c, &d), 0);
		assert_true(baton_build_id_equal(&self->cat.build_id, &c->cat.build_id));
		baton_catalog_file_free(c);
		free(copy);
	}
	baton_catalog_file_free(self);

	assert_int_equal(baton_catalog_load_self(BATON_SELF_RECORDS, 8, &self, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "this program's own catalog: "));
}

static void program_without_catalog(void **state)
{
	struct baton_catalog_file *f;
	struct baton_diag d;

	refused(plain_prog, -ENOENT, "declares no baton catalog: no baton_catalog section");
	assert_int_equal(baton_catalog_load(plain_prog, &f, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "BATON_PROGRAM"));
}

static void not_programs(void **state)
{
	refused(write_file("text", "{\"format\": 1}\n", 14), -ENOEXEC, "is not a program: no ELF magic");
	refused(write_file("empty", "", 0), -ENOEXEC, "no ELF magic");
	refused(write_file("magic", "\177ELF", 4), -EINVAL, "truncated ELF file");
	refused(write_file("class", "\177ELF\003\001\001\0\0\0\0\0\0\0\0\0", 16), -EINVAL, "unknown ELF class 3");
	refused(write_file("order", "\177ELF\002\003\001\0\0\0\0\0\0\0\0\0", 16), -EINVAL, "unknown ELF byte order 3");
	refused(write_file("header", "\177ELF\002\001\001\0\0\0\0\0\0\0\0\0\002\0", 18), -EINVAL, "corrupt");
	refused(tmpdir, -EINVAL, "is not a regular file");
	refused("/nonexistent/prog", -ENOENT, "cannot open");
}

static void truncated_program(void **state)
{
	uint8_t *file;
	size_t len, cut, step;
	unsigned tried = 0;

	file = read_whole(catalog_prog, &len);
	step = len / 1500 + 1;
	for (cut = 0; cut < len; cut += (cut < 256 || cut + 256 > len) ? 1 : step) {
		struct baton_catalog_file *f = (void *)1;
		struct baton_diag d;
		const char *path = write_file("cut", file, cut);

		baton_diag_clear(&d);
		if (baton_catalog_load_elf(path, &f, &d) == 0)
			fail_msg("the program cut at %zu of %zu bytes was read", cut, len);
		assert_null(f);
		assert_non_null(strstr(d.msg, path));
		tried++;
	}
	assert_true(tried > 500);
	free(file);
}

/* The section header of the catalog section in a 64-bit little-endian file. */
static Elf64_Shdr *catalog_header(uint8_t *file, size_t len, Elf64_Shdr **strtab_out)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)file;
	Elf64_Shdr *sh = (Elf64_Shdr *)(void *)(file + eh->e_shoff), *strtab = &sh[eh->e_shstrndx];
	size_t i;

	assert_true(eh->e_shoff + eh->e_shnum * sizeof(*sh) <= len);
	if (strtab_out)
		*strtab_out = strtab;
	for (i = 0; i < eh->e_shnum; i++)
		if (strcmp((const char *)file + strtab->sh_offset + sh[i].sh_name, BATON_CATALOG_SECTION) == 0)
			return &sh[i];
	fail_msg("no catalog section");
	return NULL;
}

static void broken_section_headers(void **state)
{
	uint8_t *file;
	Elf64_Shdr *sh, *strtab;
	Elf64_Ehdr *eh;
	size_t len;

	file = read_whole(catalog_prog, &len);
	eh = (Elf64_Ehdr *)(void *)file;

	sh = catalog_header(file, len, NULL);
	sh->sh_size = len;  /* runs past the end */
	refused(write_file("past-end", file, len), -EINVAL, "runs past the end of the file");
	free(file);

	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_offset = UINT64_MAX - 4;
	refused(write_file("far-offset", file, len), -EINVAL, "runs past the end of the file");
	free(file);

	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_type = SHT_NOBITS;
	refused(write_file("nobits", file, len), -EINVAL, "SHT_NOBITS");
	free(file);

	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_flags |= SHF_COMPRESSED;
	refused(write_file("compressed", file, len), -EINVAL, "is compressed");
	free(file);

	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_size = 0;
	refused(write_file("empty-section", file, len), -ENOENT, "section is empty");
	free(file);

	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_size -= 8;  /* cuts the last record */
	refused(write_file("short-section", file, len), -EINVAL, "(truncated or corrupt catalog)");
	free(file);

	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_offset += 8;  /* misplaced: the records no longer start at a record */
	refused(write_file("shifted", file, len), -EINVAL, "bad magic");
	free(file);

	/* a second section of the same name */
	file = read_whole(catalog_prog, &len);
	eh = (Elf64_Ehdr *)(void *)file;
	sh = catalog_header(file, len, NULL);
	((Elf64_Shdr *)(void *)(file + eh->e_shoff))[eh->e_shnum - 1].sh_name = sh->sh_name;
	refused(write_file("two", file, len), -EINVAL, "has two baton_catalog sections");
	free(file);

	/* renamed: no section of that name */
	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, &strtab);
	file[strtab->sh_offset + sh->sh_name + 5] = 'X';
	refused(write_file("renamed", file, len), -ENOENT, "declares no baton catalog");
	free(file);

	/* section headers of the wrong size */
	file = read_whole(catalog_prog, &len);
	eh = (Elf64_Ehdr *)(void *)file;
	eh->e_shentsize = 32;
	refused(write_file("shentsize", file, len), -EINVAL, "section headers of 32 bytes");
	free(file);

	/* a section larger than a catalog may be, within a (sparse) file */
	file = read_whole(catalog_prog, &len);
	sh = catalog_header(file, len, NULL);
	sh->sh_offset = len;
	sh->sh_size = 9u << 20;
	{
		const char *path = write_file("huge", file, len);

		assert_int_equal(truncate(path, (off_t)len + (10 << 20)), 0);
		refused(path, -E2BIG, "section of 9437184 bytes exceeds the limit");
	}
	free(file);

	/* section headers beyond the file */
	file = read_whole(catalog_prog, &len);
	eh = (Elf64_Ehdr *)(void *)file;
	eh->e_shoff = len - 16;
	refused(write_file("shoff", file, len), -EINVAL, "corrupt");
	free(file);

	/* sections without names */
	file = read_whole(catalog_prog, &len);
	eh = (Elf64_Ehdr *)(void *)file;
	eh->e_shstrndx = SHN_UNDEF;
	refused(write_file("unnamed", file, len), -ENOENT, "its sections have no names");
	free(file);

	/* a section name table that is no table */
	file = read_whole(catalog_prog, &len);
	eh = (Elf64_Ehdr *)(void *)file;
	eh->e_shstrndx = 0xfffe;
	refused(write_file("shstrndx", file, len), -EINVAL, "corrupt");
	free(file);
}

/* ------------------------------------------------------------------------ */
/* Small ELF files written from scratch                                     */

struct elf_spec {
	bool is64;
	bool msb;
	const void *records;
	size_t nrecords;
	uint32_t catalog_type;   /* SHT_PROGBITS normally */
	const uint8_t *build_id; /* NULL: no note */
	uint32_t build_id_len;
	bool note_section;       /* the note as a SHT_NOTE section */
	bool note_segment;       /* the note as a PT_NOTE segment */
	bool no_catalog;
};

struct out {
	uint8_t buf[16384];
	size_t len;
	bool msb;
};

static void put(struct out *o, size_t off, uint64_t v, int width)
{
	int i;

	assert_true(off + (size_t)width <= sizeof(o->buf));
	for (i = 0; i < width; i++) {
		int shift = o->msb ? 8 * (width - 1 - i) : 8 * i;

		o->buf[off + (size_t)i] = (uint8_t)(v >> shift);
	}
	if (off + (size_t)width > o->len)
		o->len = off + (size_t)width;
}

static size_t align(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* One section header; w is the address width (4 or 8). */
static void put_shdr(struct out *o, size_t off, bool is64, uint32_t name, uint32_t type,
		     uint64_t offset, uint64_t size, uint64_t addralign)
{
	int w = is64 ? 8 : 4;

	put(o, off, name, 4);
	put(o, off + 4, type, 4);
	put(o, off + 8, 0, w);                       /* flags */
	put(o, off + 8 + w, 0, w);                   /* addr */
	put(o, off + 8 + 2 * w, offset, w);
	put(o, off + 8 + 3 * w, size, w);
	put(o, off + 8 + 4 * w, 0, 4);               /* link */
	put(o, off + 12 + 4 * w, 0, 4);              /* info */
	put(o, off + 16 + 4 * w, addralign, w);
	put(o, off + 16 + 5 * w, 0, w);              /* entsize */
}

static size_t make_elf(const struct elf_spec *s, struct out *o)
{
	static const char strtab[] = "\0baton_catalog\0.note.gnu.build-id\0.shstrtab\0";
	const size_t ehsize = s->is64 ? 64 : 52, phentsize = s->is64 ? 56 : 32;
	const size_t shentsize = s->is64 ? 64 : 40;
	size_t phoff = ehsize, cat_off, note_off, note_len, str_off, shoff;
	unsigned shnum = 0, sec_cat = 0, sec_note = 0, phnum = s->note_segment ? 1 : 0;
	int w = s->is64 ? 8 : 4;

	memset(o, 0, sizeof(*o));
	o->msb = s->msb;
	cat_off = align(phoff + phnum * phentsize, 8);
	memcpy(o->buf + cat_off, s->records, s->nrecords);
	note_off = align(cat_off + s->nrecords, 4);
	note_len = 0;
	if (s->build_id) {
		put(o, note_off, 4, 4);
		put(o, note_off + 4, s->build_id_len, 4);
		put(o, note_off + 8, NT_GNU_BUILD_ID, 4);
		memcpy(o->buf + note_off + 12, "GNU", 4);
		memcpy(o->buf + note_off + 16, s->build_id, s->build_id_len);
		note_len = 16 + align(s->build_id_len, 4);
	}
	str_off = note_off + note_len;
	memcpy(o->buf + str_off, strtab, sizeof(strtab));
	shoff = align(str_off + sizeof(strtab), 8);

	/* sections: null, [catalog], [note], shstrtab */
	shnum = 1;
	if (!s->no_catalog)
		sec_cat = shnum++;
	if (s->build_id && s->note_section)
		sec_note = shnum++;
	put_shdr(o, shoff, s->is64, 0, SHT_NULL, 0, 0, 0);
	if (sec_cat)
		put_shdr(o, shoff + sec_cat * shentsize, s->is64, 1, s->catalog_type, cat_off,
			 s->nrecords, 8);
	if (sec_note)
		put_shdr(o, shoff + sec_note * shentsize, s->is64, 15, SHT_NOTE, note_off, note_len, 4);
	put_shdr(o, shoff + shnum * shentsize, s->is64, 34, SHT_STRTAB, str_off, sizeof(strtab), 1);
	shnum++;

	if (phnum) {
		if (s->is64) {
			put(o, phoff, PT_NOTE, 4);
			put(o, phoff + 4, PF_R, 4);
			put(o, phoff + 8, note_off, 8);
			put(o, phoff + 16, 0, 8);
			put(o, phoff + 24, 0, 8);
			put(o, phoff + 32, note_len, 8);
			put(o, phoff + 40, note_len, 8);
			put(o, phoff + 48, 4, 8);
		} else {
			put(o, phoff, PT_NOTE, 4);
			put(o, phoff + 4, note_off, 4);
			put(o, phoff + 8, 0, 4);
			put(o, phoff + 12, 0, 4);
			put(o, phoff + 16, note_len, 4);
			put(o, phoff + 20, note_len, 4);
			put(o, phoff + 24, PF_R, 4);
			put(o, phoff + 28, 4, 4);
		}
	}

	memcpy(o->buf, ELFMAG, SELFMAG);
	o->buf[EI_CLASS] = s->is64 ? ELFCLASS64 : ELFCLASS32;
	o->buf[EI_DATA] = s->msb ? ELFDATA2MSB : ELFDATA2LSB;
	o->buf[EI_VERSION] = EV_CURRENT;
	put(o, 16, ET_EXEC, 2);
	put(o, 18, s->is64 ? (s->msb ? EM_PPC64 : EM_X86_64) : (s->msb ? EM_PPC : EM_386), 2);
	put(o, 20, EV_CURRENT, 4);
	put(o, 24, 0, w);                                  /* entry */
	put(o, 24 + w, phnum ? phoff : 0, w);
	put(o, 24 + 2 * w, shoff, w);
	put(o, 24 + 3 * w, 0, 4);                          /* flags */
	put(o, 28 + 3 * w, ehsize, 2);
	put(o, 30 + 3 * w, phentsize, 2);
	put(o, 32 + 3 * w, phnum, 2);
	put(o, 34 + 3 * w, shentsize, 2);
	put(o, 36 + 3 * w, shnum, 2);
	put(o, 38 + 3 * w, shnum - 1, 2);                  /* shstrndx: the last */
	o->len = shoff + shnum * shentsize;
	return o->len;
}

/* Records of a small catalog, made with the builder. */
static size_t small_records(uint64_t *buf, size_t size)
{
	struct baton_release rel = { 4, 5, 6 };
	struct baton_policy_rule rule = { BATON_POLICY_PATCH, { 0, 0, 0 } };
	struct baton_field f = { .name = "n", .type = BATON_T_U32 };
	struct baton_catalog_builder b;
	size_t len;

	baton_catalog_builder_init(&b, buf, size);
	baton_catalog_add_program(&b, "tiny", &rel, &rule, 1);
	baton_catalog_add_schema(&b, KVD_CACHE, "tiny.state", 1, &f, 1);
	assert_int_equal(baton_catalog_builder_finish(&b, &len), 0);
	return len;
}

static const uint8_t bid[20] = {
	0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static void load_made(const struct elf_spec *s, struct baton_catalog_file **f, struct baton_diag *d,
		      int want)
{
	static struct out o;
	const char *path;
	int rc;

	make_elf(s, &o);
	path = write_file("made", o.buf, o.len);
	baton_diag_clear(d);
	*f = NULL;
	rc = baton_catalog_load_elf(path, f, d);
	if (rc != want)
		fail_msg("expected %d, got %d: %s", want, rc, d->msg);
}

static void made_files_every_class_and_order(void **state)
{
	uint64_t records[128];
	size_t n = small_records(records, sizeof(records));
	struct baton_catalog_file *f;
	struct baton_diag d;
	char hex[2 * BATON_BUILD_ID_MAX + 1];
	int is64, msb;

	for (is64 = 0; is64 < 2; is64++)
		for (msb = 0; msb < 2; msb++) {
			struct elf_spec s = { .is64 = is64, .msb = msb, .records = records,
					      .nrecords = n, .catalog_type = SHT_PROGBITS,
					      .build_id = bid, .build_id_len = 20,
					      .note_section = true };

			load_made(&s, &f, &d, 0);
			assert_string_equal(f->cat.program->name, "tiny");
			assert_int_equal(f->cat.nschemas, 1);
			/* notes are converted from the file's byte order */
			baton_build_id_format(&f->cat.build_id, hex, sizeof(hex));
			assert_string_equal(hex, "deadbeef0102030405060708090a0b0c0d0e0f10");
			baton_catalog_file_free(f);

			/* the build id from a PT_NOTE segment when no section holds it */
			s.note_section = false;
			s.note_segment = true;
			load_made(&s, &f, &d, 0);
			baton_build_id_format(&f->cat.build_id, hex, sizeof(hex));
			assert_string_equal(hex, "deadbeef0102030405060708090a0b0c0d0e0f10");
			baton_catalog_file_free(f);

			/* no note at all: an unknown build */
			s.note_segment = false;
			s.build_id = NULL;
			load_made(&s, &f, &d, 0);
			assert_int_equal(f->cat.build_id.len, 0);
			baton_catalog_file_free(f);
		}
}

static void made_files_refused(void **state)
{
	uint64_t records[128], swapped[128];
	size_t n = small_records(records, sizeof(records)), off;
	uint8_t long_id[40];
	struct baton_catalog_file *f;
	struct baton_diag d;
	struct elf_spec s = { .is64 = true, .records = records, .nrecords = n,
			      .catalog_type = SHT_PROGBITS, .build_id = bid, .build_id_len = 20,
			      .note_section = true };

	/* a build id longer than baton keeps */
	memset(long_id, 7, sizeof(long_id));
	s.build_id = long_id;
	s.build_id_len = 33;
	load_made(&s, &f, &d, -EINVAL);
	assert_non_null(strstr(d.msg, "GNU build id is 33 bytes"));
	s.build_id = bid;
	s.build_id_len = 20;

	/* records of the other byte order (a big-endian compiler's) */
	memcpy(swapped, records, n);
	for (off = 0; off < n;) {
		struct baton_rec *h = (struct baton_rec *)(void *)((uint8_t *)swapped + off);
		uint32_t size = h->size;

		h->magic = __builtin_bswap32(h->magic);
		h->kind = __builtin_bswap16(h->kind);
		h->abi = __builtin_bswap16(h->abi);
		h->size = __builtin_bswap32(h->size);
		h->count = __builtin_bswap32(h->count);
		off += size;
	}
	s.msb = true;
	s.records = swapped;
	load_made(&s, &f, &d, -EPROTO);
	assert_non_null(strstr(d.msg, "other byte order"));
	s.msb = false;
	s.records = records;

	s.catalog_type = SHT_NOBITS;
	load_made(&s, &f, &d, -EINVAL);
	assert_non_null(strstr(d.msg, "SHT_NOBITS"));
	s.catalog_type = SHT_PROGBITS;

	s.no_catalog = true;
	load_made(&s, &f, &d, -ENOENT);
	assert_non_null(strstr(d.msg, "declares no baton catalog"));
	s.no_catalog = false;

	/* records that are not a catalog */
	memset(swapped, 0xa5, sizeof(swapped));
	s.records = swapped;
	load_made(&s, &f, &d, -EINVAL);
	assert_non_null(strstr(d.msg, "bad magic"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(program_file),
		cmocka_unit_test(self_and_own_file_agree),
		cmocka_unit_test(program_without_catalog),
		cmocka_unit_test_setup_teardown(not_programs, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(truncated_program, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(broken_section_headers, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(made_files_every_class_and_order, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(made_files_refused, make_tmpdir, remove_tmpdir),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s CATALOG_PROG PLAIN_PROG\n", argv[0]);
		return 2;
	}
	catalog_prog = argv[1];
	plain_prog = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
