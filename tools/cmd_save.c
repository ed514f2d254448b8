/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton save — a golden image from a running program
 *
 * Asks the program's runtime over its control socket (TARGET: the path, or
 * the pid) to write a golden image to PATH (docs/history.md): the program
 * freezes, every handler saves, the image and the contents of its regions
 * are written (PATH, PATH.region.N; docs/runtime.md has the formats), and
 * the program thaws and serves on with its state unchanged. The program
 * answers with what it wrote and how long it was frozen; this command then
 * reads the image it wrote (checksum and all) to say what is in it, which
 * regions were stored and which file descriptors could not be.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <baton/baton.h>

#include "cli.h"
#include "ctl.h"
#include "report.h"

#define SAVE_TIMEOUT_MS 120000   /* a large region takes a while to write */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton save [--json] [--force] TARGET PATH\n"
		"\n"
		"Asks the program serving at TARGET (its control socket, or its pid) to write\n"
		"a golden image to PATH: it freezes, saves, writes the image to PATH and each\n"
		"region N to PATH.region.N (only the bytes that are not zero), and thaws. The\n"
		"program serves on with its state unchanged, whether or not this succeeds.\n"
		"File descriptors cannot be stored; the image names their kinds.\n"
		"\n"
		"  --force       replace an existing image (golden images are written once,\n"
		"                when their release ships)\n"
		"  --json        one JSON object on stdout\n"
		"  -h, --help    this text\n"
		"\n"
		"Exit status: 0 saved, 1 the program could not save its state (a freeze or\n"
		"save callback failed, or an update is running), 2 usage, connection or I/O\n"
		"error (including PATH existing without --force).\n");
}

/* PATH as the program must see it: absolute (it runs elsewhere). */
static int absolute(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(out, size, "%s", path) < (int)size ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(out, size, "%s/%s", cwd, path) < (int)size ? 0 : -ENAMETOOLONG;
}

/* Bytes stored in a golden region file, from its header; -1 when unreadable. */
static int64_t region_stored(const char *file)
{
	uint8_t h[48];
	uint64_t v = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, "baton,region-v1", 16) != 0)
		return -1;
	for (int i = 40; i < 48; i++)
		v = v << 8 | h[i];
	return (int64_t)v;
}

/* The image as written: its tables, to say what was stored and what not. */
struct written {
	void *buf;
	size_t len;
	struct baton_image img;
	bool ok;
};

static void read_written(const char *path, struct written *w)
{
	struct baton_diag d;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(w, 0, sizeof(*w));
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= BATON_IMAGE_MAX_SIZE &&
	    posix_memalign(&w->buf, 8, (size_t)st.st_size) == 0 &&
	    pread(fd, w->buf, (size_t)st.st_size, 0) == st.st_size) {
		w->len = (size_t)st.st_size;
		w->ok = baton_image_open(&w->img, w->buf, w->len, &d) == 0;
	}
	close(fd);
}

static bool fd_is_region(const struct written *w, uint32_t fd)
{
	struct baton_image_iter it = { .node = -1 };
	struct baton_image_region r;

	while (baton_image_next_region(&w->img, &it, &r) > 0)
		if (r.fd == fd)
			return true;
	return false;
}

static void print_human(const char *path, const struct baton_msg *m, const struct written *w)
{
	char prog[BATON_NAME_MAX] = "?", rel[BATON_RELEASE_STRMAX] = "?";
	char text[BATON_MSG_TEXT_MAX + 1];
	struct baton_msg_item it;
	struct baton_image_iter ti = { .node = -1 };
	struct baton_image_region r;
	struct baton_image_fd f;
	uint64_t gen = 0, ns = 0, bytes = 0;
	uint32_t pid = 0, objects = 0, lost = 0;
	size_t pos = 0;

	baton_msg_get_str(m, BATON_TAG_PROGRAM, prog, sizeof(prog));
	baton_msg_get_str(m, BATON_TAG_RELEASE, rel, sizeof(rel));
	baton_msg_get_u32(m, BATON_TAG_PID, &pid);
	baton_msg_get_u64(m, BATON_TAG_GENERATION, &gen);
	baton_msg_get_u64(m, BATON_TAG_DURATION_NS, &ns);
	baton_msg_get_u32(m, BATON_TAG_OBJECTS, &objects);
	baton_msg_get_u64(m, BATON_TAG_REGION_BYTES, &bytes);
	printf("saved %s %s (pid %u, generation %" PRIu64 ") to %s; frozen %.3f ms\n", prog, rel,
	       pid, gen, path, ns / 1e6);
	while (baton_msg_next(m, &pos, &it) > 0) {
		char *sp;

		if (it.tag != BATON_TAG_FILE)
			continue;
		baton_msg_item_str(&it, text, sizeof(text));
		sp = strchr(text, ' ');
		if (sp)
			*sp++ = '\0';
		printf("  %10s bytes  %s\n", text, sp ? sp : "?");
	}
	printf("  %u object%s; region contents stored: %" PRIu64 " bytes (holes and zeros left out)\n",
	       objects, objects == 1 ? "" : "s", bytes);
	if (!w->ok) {
		printf("  (the image written could not be read back to list its tables)\n");
		return;
	}
	while (baton_image_next_region(&w->img, &ti, &r) > 0) {
		char file[PATH_MAX + 32];

		snprintf(file, sizeof(file), "%s.region.%u", path, ti.index);
		printf("  region %u: %s, %" PRIu64 " bytes, %" PRId64 " stored\n", ti.index, r.name,
		       r.size, region_stored(file));
	}
	ti.node = -1;
	while (baton_image_next_fd(&w->img, &ti, &f) > 0) {
		const char *kind = baton_fd_kind_name(f.kind);

		if (fd_is_region(w, ti.index))
			continue;
		printf("  fd %u: %s %s, not stored (a dry run gives a placeholder)\n", ti.index,
		       kind ? kind : "?", f.name);
		lost++;
	}
	if (!lost)
		printf("  every fd of the image is a region's memfd: nothing left out\n");
}

static struct json_object *json_of(const char *target, const char *path, const struct baton_msg *m,
				   const struct written *w)
{
	struct json_object *j = json_object_new_object(), *files = json_object_new_array();
	struct json_object *regions = json_object_new_array(), *fds = json_object_new_array();
	char s[BATON_MSG_TEXT_MAX + 1];
	struct baton_msg_item it;
	uint64_t v = 0;
	uint32_t u = 0;
	size_t pos = 0;

	json_object_object_add(j, "ok", json_object_new_boolean(true));
	json_object_object_add(j, "target", json_object_new_string(target));
	if (baton_msg_get_str(m, BATON_TAG_PROGRAM, s, sizeof(s)) == 0)
		json_object_object_add(j, "program", json_object_new_string(s));
	if (baton_msg_get_str(m, BATON_TAG_RELEASE, s, sizeof(s)) == 0)
		json_object_object_add(j, "release", json_object_new_string(s));
	if (baton_msg_get(m, BATON_TAG_BUILD_ID, &it) == 0) {
		struct baton_build_id b = { .len = it.len };

		memcpy(b.b, it.value, it.len);
		baton_build_id_format(&b, s, sizeof(s));
		json_object_object_add(j, "build_id", json_object_new_string(s));
	}
	baton_msg_get_u32(m, BATON_TAG_PID, &u);
	json_object_object_add(j, "pid", json_object_new_int64(u));
	baton_msg_get_u64(m, BATON_TAG_GENERATION, &v);
	json_object_object_add(j, "generation", json_object_new_uint64(v));
	json_object_object_add(j, "path", json_object_new_string(path));
	v = 0;
	baton_msg_get_u64(m, BATON_TAG_DURATION_NS, &v);
	json_object_object_add(j, "freeze_ms", json_object_new_double(v / 1e6));
	v = 0;
	baton_msg_get_u64(m, BATON_TAG_IMAGE_LEN, &v);
	json_object_object_add(j, "image_bytes", json_object_new_uint64(v));
	u = 0;
	baton_msg_get_u32(m, BATON_TAG_OBJECTS, &u);
	json_object_object_add(j, "objects", json_object_new_int64(u));
	v = 0;
	baton_msg_get_u64(m, BATON_TAG_REGION_BYTES, &v);
	json_object_object_add(j, "region_bytes_stored", json_object_new_uint64(v));
	while (baton_msg_next(m, &pos, &it) > 0) {
		struct json_object *f;
		char *sp;

		if (it.tag != BATON_TAG_FILE)
			continue;
		baton_msg_item_str(&it, s, sizeof(s));
		sp = strchr(s, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		f = json_object_new_object();
		json_object_object_add(f, "path", json_object_new_string(sp));
		json_object_object_add(f, "bytes", json_object_new_uint64(strtoull(s, NULL, 10)));
		json_object_array_add(files, f);
	}
	json_object_object_add(j, "files", files);
	if (w->ok) {
		struct baton_image_iter ti = { .node = -1 };
		struct baton_image_region r;
		struct baton_image_fd fd;

		while (baton_image_next_region(&w->img, &ti, &r) > 0) {
			struct json_object *o = json_object_new_object();
			char file[PATH_MAX + 32];

			snprintf(file, sizeof(file), "%s.region.%u", path, ti.index);
			json_object_object_add(o, "index", json_object_new_int64(ti.index));
			json_object_object_add(o, "name", json_object_new_string(r.name));
			json_object_object_add(o, "size", json_object_new_uint64(r.size));
			json_object_object_add(o, "file", json_object_new_string(file));
			json_object_object_add(o, "stored", json_object_new_int64(region_stored(file)));
			json_object_array_add(regions, o);
		}
		ti.node = -1;
		while (baton_image_next_fd(&w->img, &ti, &fd) > 0) {
			struct json_object *o = json_object_new_object();
			const char *kind = baton_fd_kind_name(fd.kind);

			json_object_object_add(o, "index", json_object_new_int64(ti.index));
			json_object_object_add(o, "kind", json_object_new_string(kind ? kind : "unknown"));
			json_object_object_add(o, "name", json_object_new_string(fd.name));
			json_object_object_add(o, "stored", json_object_new_boolean(fd_is_region(w, ti.index)));
			json_object_array_add(fds, o);
		}
	}
	json_object_object_add(j, "regions", regions);
	json_object_object_add(j, "fds", fds);
	return j;
}

int cmd_save(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t buf[BATON_MSG_MAX];
	char ctl[PATH_MAX], path[PATH_MAX], err[1024], text[BATON_MSG_TEXT_MAX + 1];
	char step[64] = "";
	struct baton_msg_writer w;
	struct baton_msg m;
	struct baton_msg_item it;
	struct written wr;
	bool json = false, force = false;
	int32_t status = -EPROTO;
	size_t len, pos = 0;
	int c, fd, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return BATON_EXIT_OK;
		default:
			usage(stderr);
			return BATON_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "baton save: expected TARGET and PATH, got %d argument%s\n",
			argc - optind, argc - optind == 1 ? "" : "s");
		usage(stderr);
		return BATON_EXIT_USAGE;
	}
	if (ctl_resolve(argv[optind], ctl, sizeof(ctl), err, sizeof(err)) < 0) {
		fprintf(stderr, "baton save: %s\n", err);
		return BATON_EXIT_USAGE;
	}
	if (absolute(argv[optind + 1], path, sizeof(path)) < 0) {
		fprintf(stderr, "baton save: %s: path too long\n", argv[optind + 1]);
		return BATON_EXIT_USAGE;
	}
	fd = ctl_connect(ctl, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "baton save: %s\n", err);
		return BATON_EXIT_USAGE;
	}
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_SAVE);
	baton_msg_put_str(&w, BATON_TAG_PATH, path);
	if (force)
		baton_msg_put_u32(&w, BATON_TAG_FORCE, 1);
	rc = baton_msg_end(&w, &len);
	if (rc == 0)
		rc = ctl_send(fd, buf, len);
	if (rc < 0) {
		fprintf(stderr, "baton save: sending the request to %s: %s\n", ctl, strerror(-rc));
		close(fd);
		return BATON_EXIT_USAGE;
	}
	rc = ctl_recv(fd, buf, &m, SAVE_TIMEOUT_MS, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "baton save: %s; whether the image was written is unknown\n", err);
		return BATON_EXIT_USAGE;
	}
	if (m.type != BATON_MSG_SAVE_RESULT) {
		fprintf(stderr, "baton save: a %s message instead of the outcome (does %s's runtime know SAVE?)\n",
			baton_msg_type_name(m.type), ctl);
		return BATON_EXIT_USAGE;
	}
	baton_msg_get_i32(&m, BATON_TAG_STATUS, &status);
	baton_msg_get_str(&m, BATON_TAG_STEP, step, sizeof(step));
	if (status < 0) {
		struct json_object *j = NULL, *reasons = NULL;

		if (json) {
			j = json_object_new_object();
			reasons = json_object_new_array();
			json_object_object_add(j, "ok", json_object_new_boolean(false));
			json_object_object_add(j, "target", json_object_new_string(ctl));
			json_object_object_add(j, "path", json_object_new_string(path));
			json_object_object_add(j, "error", json_object_new_string(strerror(-status)));
			report_json_add_string(j, "step", step);
		} else {
			fprintf(stderr, "baton save: %s: not saved (%s%s%s); the program serves on, unchanged\n",
				path, strerror(-status), step[0] ? ", at " : "", step);
		}
		while (baton_msg_next(&m, &pos, &it) > 0) {
			if (it.tag != BATON_TAG_REASON)
				continue;
			baton_msg_item_str(&it, text, sizeof(text));
			if (j)
				json_object_array_add(reasons, json_object_new_string(text));
			else
				fprintf(stderr, "%s\n", text);
		}
		if (j) {
			json_object_object_add(j, "reasons", reasons);
			report_json_print(stdout, j);
		}
		return strcmp(step, "freeze+save") == 0 || status == -EBUSY ? BATON_EXIT_FINDINGS :
			BATON_EXIT_USAGE;
	}
	read_written(path, &wr);
	if (json)
		rc = report_json_print(stdout, json_of(ctl, path, &m, &wr));
	else
		print_human(path, &m, &wr);
	free(wr.buf);
	if (fflush(stdout) != 0 || rc < 0) {
		perror("baton save: stdout");
		return BATON_EXIT_USAGE;
	}
	return BATON_EXIT_OK;
}
