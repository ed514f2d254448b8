/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime, new side — receiving, binding and restoring the state
 *
 * A successor finds BATON_HANDOFF in its environment and, inside
 * baton_rt_start(), connects to the abstract socket it names, checks that
 * the kernel reports its parent (same uid) at the other end, says HELLO and
 * receives the IMAGE message (the sealed image memfd and the control
 * listener) and the fd table in FDS batches. Then, all or nothing:
 *
 *   verify  the memfd's seals and size, then baton_image_open() (checksum,
 *           structure) before a byte is trusted
 *   bind    baton_bind() against the own catalog: path, binding, fingerprints
 *           and fields (rules 1 to 6); any finding refuses the update
 *   regions mapped again, read-only until the commit
 *   decode  one object per image node, in the reader's schema of its version
 *   steps   the handler's upgrade steps, version by version, to the highest
 *           version it reads
 *   restore every handler's restore, object by object
 *
 * Any failure sends REFUSE with every reason and returns an error (the
 * program exits; the predecessor thaws). Success sends READY and waits for
 * COMMIT; ABORT releases everything and returns an error. End of stream
 * without ABORT means the predecessor died: if its pid is gone this process
 * takes over (and says so in the log), since nobody else serves.
 *
 * A dry run (BATON_DRY_RUN_IMAGE, rt_dry_run() at the end of this file)
 * takes the same restore path from files: the image and its golden region
 * files (golden.c), /dev/null for every other fd, no predecessor to answer;
 * what happens to every object is recorded for its report.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "transport/fault.h"

static void bind_finding(void *ctx, const struct baton_finding *f)
{
	rt_reason_add(ctx, (uint16_t)f->rule, f->message);
}

static void refuse(struct baton_rt *rt, int sock, int status, const struct rt_reasons *rs)
{
	static uint8_t buf[BATON_MSG_MAX];
	struct baton_msg_writer w;
	unsigned int i;
	size_t len;

	if (rt->dry) {
		/* logged with the dry run's outcome (rt_dry_end) */
		for (i = 0; i < rs->n; i++)
			rt_dry_finding(rt, rs->r[i].rule, rs->r[i].text);
		return;
	}
	for (i = 0; i < rs->n; i++) {
		char line[BATON_MESSAGE_MAX + 32];

		rt_finding_line(rs->r[i].rule, rs->r[i].text, line, sizeof(line));
		rt_log(rt, BATON_LOG_ERROR, "refusing the predecessor's state: %s", line);
	}
	if (sock < 0)
		return;
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_REFUSE);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, status < 0 ? status : -EPERM);
	for (i = 0; i < rs->n; i++) {
		if (w.len + strlen(rs->r[i].text) + 64 > BATON_MSG_MAX)
			break;
		if (rs->r[i].rule)
			baton_msg_put_finding(&w, rs->r[i].rule, rs->r[i].text);
		else
			baton_msg_put_str(&w, BATON_TAG_REASON, rs->r[i].text);
	}
	if (baton_msg_end(&w, &len) == 0)
		baton_tp_send(sock, buf, len, NULL, 0, NULL);
}

static int refuse1(struct baton_rt *rt, int sock, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse1(struct baton_rt *rt, int sock, int status, const char *fmt, ...)
{
	static struct rt_reasons rs;
	va_list ap;

	rs.n = 1;
	rs.dropped = 0;
	rs.r[0].rule = 0;
	va_start(ap, fmt);
	vsnprintf(rs.r[0].text, sizeof(rs.r[0].text), fmt, ap);
	va_end(ap);
	snprintf(rt->err, sizeof(rt->err), "%s", rs.r[0].text);
	refuse(rt, sock, status, &rs);
	return status;
}

/* Runs the steps from o's version up to target; returns the upgraded object. */
static int upgrade(struct baton_rt *rt, struct rt_handler *h, struct baton_obj **po,
		   uint32_t target, int sock, const char *writer)
{
	struct baton_obj *in = *po;
	char cs[BATON_UUID_STRLEN + 1], err[BATON_MESSAGE_MAX];
	int rc;

	baton_uuid_format(&in->contract, cs);
	while (in->version < target) {
		const struct baton_rec_schema *next;
		struct rt_step *st = rt_find_step(rt, h, &in->contract, in->version);
		struct baton_obj *out;

		next = baton_catalog_find_schema(rt->cat, &in->contract, in->version + 1);
		if (!st || !next)
			return refuse1(rt, sock, -ENOENT,
				       "object \"%s\" (%s %s, written by handler %s of %s): handler %s has no upgrade step from version %u to %u",
				       in->key, in->schema->name, cs, in->writer_handler, writer,
				       h->rec->name, in->version, in->version + 1);
		out = rt_obj_new_as(rt, next, &in->contract, in->key, in->flags, &rc);
		if (!out)
			return refuse1(rt, sock, rc, "object \"%s\": %s", in->key, strerror(-rc));
		out->handler = in->handler;
		out->writer_handler = in->writer_handler;
		rc = st->fn(st->ctx, in, out);
		if (rc == 0)
			rc = rt_obj_check_set(out, err, sizeof(err)) < 0 ? -EINVAL : 0;
		else
			snprintf(err, sizeof(err), "the step returned %d", rc);
		if (rc != 0) {
			rt_obj_free(out);
			return refuse1(rt, sock, rc < 0 ? rc : -ECANCELED,
				       "object \"%s\" (%s %s, written by handler %s of %s): upgrade step of handler %s from version %u to %u failed: %s",
				       in->key, in->schema->name, cs, in->writer_handler, writer,
				       h->rec->name, in->version, in->version + 1, err);
		}
		rt_obj_free(in);
		in = out;
		*po = in;
	}
	return 0;
}

int rt_restore_image(struct baton_rt *rt, const struct baton_catalog *cat,
		     const struct baton_image *img, int *fds, uint32_t nfds,
		     int sock, bool dry_run)
{
	static struct rt_reasons rs;
	struct baton_binding *b = NULL;
	struct baton_region **regions = NULL;
	struct baton_image_object io = { .node = -1 };
	struct baton_image_iter ri = { .node = -1 };
	struct baton_obj *objs = NULL, **tail = &objs, *o;
	char writer[BATON_NAME_MAX + BATON_RELEASE_STRMAX + 2], rel[BATON_RELEASE_STRMAX];
	char err[BATON_MESSAGE_MAX];
	uint64_t t_bind, t_decode, t_restore, t0 = baton_now_ns();
	uint32_t i, restored = 0, ndecoded = 0, p = 0;
	int rc;

	baton_release_format(&img->h.release, rel, sizeof(rel));
	snprintf(writer, sizeof(writer), "%s %s", img->h.program, rel);
	rs.n = rs.dropped = 0;
	b = calloc(img->nobjects ? img->nobjects : 1, sizeof(*b));
	regions = calloc(img->nregions ? img->nregions : 1, sizeof(*regions));
	if (!b || !regions) {
		rc = refuse1(rt, sock, -ENOMEM, "restore: out of memory");
		goto out;
	}
	rc = baton_bind(cat, img, b, img->nobjects, bind_finding, &rs);
	if (rt->dry && rt->dry->nobjs == img->nobjects) {
		for (i = 0; i < img->nobjects; i++) {
			rt->dry->objs[i].handler = b[i].handler ? b[i].handler->name : NULL;
			rt->dry->objs[i].target_version = b[i].target_version;
			rt->dry->objs[i].dropped = b[i].dropped;
		}
		rt->dry->pos = calloc(img->nobjects ? img->nobjects : 1, sizeof(*rt->dry->pos));
		if (!rt->dry->pos) {
			rc = refuse1(rt, sock, -ENOMEM, "restore: out of memory");
			goto out;
		}
	}
	if (rc != 0) {
		if (rc < 0 && !rs.n)
			rt_reason_add(&rs, 0, "bind: the image could not be bound");
		snprintf(rt->err, sizeof(rt->err), "%s %s refuses the state of %s: %.700s", rt->name,
			 rt->release, writer, rs.n ? rs.r[0].text : "bind failed");
		refuse(rt, sock, rc < 0 ? rc : -EPERM, &rs);
		rc = rc < 0 ? rc : -EPERM;
		goto out;
	}
	t_bind = baton_now_ns();
	if (rt->dry)
		rt->dry->stage = RT_DRY_REGIONS;
	for (i = 0; i < img->nregions; i++) {
		struct baton_image_region ir;

		if (baton_image_next_region(img, &ri, &ir) <= 0 || ri.index != i || ir.fd >= nfds ||
		    fds[ir.fd] < 0) {
			rc = refuse1(rt, sock, -EBADMSG, "region %u of the image has no memfd", i);
			goto out;
		}
		rc = rt_region_adopt(rt, ir.name, fds[ir.fd], ir.size, &regions[i], err, sizeof(err));
		if (rc < 0) {
			refuse1(rt, sock, rc, "%s", err);
			goto out;
		}
		fds[ir.fd] = -1;
	}
	if (rt->dry)
		rt->dry->stage = RT_DRY_DECODE;
	while (baton_image_next_object(img, &io) > 0) {
		const struct baton_binding *bd = &b[io.index];
		struct rt_handler *h;

		if (bd->dropped || !bd->handler) {
			rt_log(rt, BATON_LOG_WARNING,
			       "object \"%s\" (handler %s of %s) is optional and nothing here reads it: dropped",
			       io.key, io.handler, writer);
			continue;
		}
		h = rt_find_handler(rt, bd->handler->name);
		if (!h) {
			rc = refuse1(rt, sock, -ENOENT, "object \"%s\": handler %s has no code",
				     io.key, bd->handler->name);
			goto out;
		}
		rc = rt_obj_decode(rt, img, &io, bd->schema, fds, nfds, regions, &o, err, sizeof(err));
		if (rc < 0) {
			refuse1(rt, sock, rc, "%s (written by handler %s of %s)", err, io.handler, writer);
			goto out;
		}
		o->handler = bd->handler;
		o->target_version = bd->target_version;
		*tail = o;
		tail = &o->next;
		if (rt->dry && rt->dry->pos)
			rt->dry->pos[ndecoded] = io.index;
		ndecoded++;
	}
	t_decode = baton_now_ns();
	if (rt->dry)
		rt->dry->stage = RT_DRY_RESTORE;
	/* Steps and restores, in image order, each object replaced by its upgrade. */
	for (struct baton_obj **pp = &objs; *pp; pp = &(*pp)->next, p++) {
		struct baton_obj *next = (*pp)->next;
		struct rt_handler *h = rt_find_handler(rt, (*pp)->handler->name);
		struct rt_dry_object *dro = rt->dry && rt->dry->pos ?
			&rt->dry->objs[rt->dry->pos[p]] : NULL;
		char cs[BATON_UUID_STRLEN + 1];

		(*pp)->next = NULL;
		rc = upgrade(rt, h, pp, (*pp)->target_version, sock, writer);
		(*pp)->next = next;
		if (dro)
			dro->reached_version = (*pp)->version;
		if (rc < 0)
			goto out;
		if (dry_run && !h->ops.restore)
			continue;
		rc = h->ops.restore(h->ops.ctx, *pp);
		if (dro)
			dro->restored = rc == 0;
		if (rc != 0) {
			baton_uuid_format(&(*pp)->contract, cs);
			rc = refuse1(rt, sock, rc < 0 ? rc : -ECANCELED,
				     "object \"%s\" (%s %s version %u, written by handler %s of %s): restore by handler %s returned %d",
				     (*pp)->key, (*pp)->schema->name, cs, (*pp)->version,
				     (*pp)->writer_handler, writer, h->rec->name, rc);
			goto out;
		}
		restored++;
	}
	t_restore = baton_now_ns();
	rt_log(rt, BATON_LOG_INFO, "%s %u object(s) of %s generation %llu",
	       dry_run ? "dry run: restored" : "restored", restored, writer,
	       (unsigned long long)img->h.generation);
	rt_log(rt, BATON_LOG_DEBUG, "restore: bind %.3f ms, regions and decode %.3f ms, steps and restore %.3f ms",
	       (t_bind - t0) / 1e6, (t_decode - t_bind) / 1e6, (t_restore - t_decode) / 1e6);
	rc = (int)restored;
out:
	/* Untaken fds are closed; objects end here, after their restore. */
	for (o = objs; o; o = o->next)
		rt_obj_close_untaken(o);
	rt_obj_free_list(objs);
	baton_tp_close_all(fds, nfds);
	free(regions);
	free(b);
	return rc;
}

/* A zombie or gone: exited, whether or not anyone reaped it yet. */
static bool pid_dead(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/*
 * The predecessor closed the handoff without COMMIT or ABORT. Its sockets
 * close before it is reparented or reaped, so give it a moment to be seen
 * dead.
 */
static bool predecessor_gone(pid_t pid)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (getppid() != pid || pid_dead(pid))
			return true;
		usleep(10000);
	}
	return false;
}

int rt_finish_origin(struct baton_rt *rt, const struct baton_image_header *h)
{
	int rc;

	rc = rt_regions_commit(rt);
	if (rc < 0)
		return rc;
	rt->origin.restored = true;
	baton_strlcpy(rt->origin.program, h->program, sizeof(rt->origin.program));
	rt->origin.release = h->release;
	rt->origin.build_id = h->build_id;
	rt->origin.frozen_at_ns = h->frozen_at_ns;
	rt->origin.restored_at_ns = baton_now_ns();
	rt->generation = h->generation + 1;
	rt->origin.generation = rt->generation;
	return 0;
}

int rt_finish(struct baton_rt *rt, const struct baton_image_header *h, int ctl_fd)
{
	int rc = rt_finish_origin(rt, h);

	if (rc < 0) {
		if (ctl_fd >= 0)
			close(ctl_fd);
		return rc;
	}
	return rt_control_open(rt, ctl_fd);
}

int rt_new_start(struct baton_rt *rt)
{
	static uint8_t buf[BATON_MSG_MAX];
	struct baton_image img;
	struct baton_msg_writer w;
	struct baton_msg m;
	struct baton_diag d;
	struct ucred cred;
	char name[BATON_HANDOFF_NAME_MAX + 1];
	const void *map = NULL;
	uint64_t image_len = 0, t0;
	uint32_t nfds = 0, has_ctl = 0, old_pid = 0;
	int sock, rc, in_fds[2] = { -1, -1 }, *fds = NULL, ctl_fd = -1, image_fd = -1;
	size_t len, got;

	snprintf(name, sizeof(name), "%s", getenv(BATON_ENV_HANDOFF));
	unsetenv(BATON_ENV_HANDOFF);
	sock = baton_tp_connect(name, &d);
	if (sock < 0)
		return rt_fail(rt, sock, "successor: %s", d.msg);
	rc = baton_tp_peercred(sock, &cred);
	if (rc < 0 || cred.uid != geteuid() || cred.pid != getppid()) {
		close(sock);
		return rt_fail(rt, -EPERM,
			       "successor: the handoff socket @%s is held by pid %d uid %d, not by the parent (pid %d uid %d) that started this process: not talking to it",
			       name, (int)cred.pid, (int)cred.uid, (int)getppid(), (int)geteuid());
	}

	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_HELLO);
	rt_msg_put_self(rt, &w);
	rc = baton_msg_end(&w, &len);
	if (rc == 0)
		rc = baton_tp_send(sock, buf, len, NULL, 0, &d);
	if (rc < 0) {
		close(sock);
		return rt_fail(rt, rc, "successor: hello: %s", d.msg);
	}

	rc = baton_tp_recv(sock, buf, sizeof(buf), &len, in_fds, 2, &got, (int)rt->timeout_ms, -1, &d);
	if (rc == 0)
		rc = baton_msg_parse(&m, buf, len, &d);
	if (rc == 0 && m.type == BATON_MSG_ABORT) {
		char why[BATON_MSG_TEXT_MAX + 1] = "no reason given";

		baton_msg_get_str(&m, BATON_TAG_REASON, why, sizeof(why));
		baton_tp_close_all(in_fds, got);
		close(sock);
		return rt_fail(rt, -ECANCELED,
			       "successor: the predecessor cancelled the update before sending its state: %.800s",
			       why);
	}
	if (rc == 0 && m.type != BATON_MSG_IMAGE)
		rc = baton_diag_set(&d, -EPROTO, "expected an image message, got %s",
				    baton_msg_type_name(m.type));
	if (rc == 0) {
		baton_msg_get_u64(&m, BATON_TAG_IMAGE_LEN, &image_len);
		baton_msg_get_u32(&m, BATON_TAG_NFDS, &nfds);
		baton_msg_get_u32(&m, BATON_TAG_CONTROL_FD, &has_ctl);
		baton_msg_get_u32(&m, BATON_TAG_PID, &old_pid);
		if (got != 1 + has_ctl || image_len > BATON_IMAGE_MAX_SIZE || nfds > BATON_IMAGE_MAX_FDS)
			rc = baton_diag_set(&d, -EBADMSG,
					    "image message: %zu fds, %llu bytes, %u table fds do not add up",
					    got, (unsigned long long)image_len, nfds);
	}
	if (rc < 0) {
		baton_tp_close_all(in_fds, got);
		refuse1(rt, sock, rc, "successor: %s", d.msg);
		close(sock);
		return rc;
	}
	image_fd = in_fds[0];
	ctl_fd = has_ctl ? in_fds[1] : -1;
	t0 = baton_now_ns();
	fds = calloc(nfds ? nfds : 1, sizeof(*fds));
	if (!fds) {
		rc = refuse1(rt, sock, -ENOMEM, "successor: out of memory for %u fds", nfds);
		goto fail;
	}
	rc = baton_tp_recv_fds(sock, fds, nfds, (int)rt->timeout_ms, -1, &d);
	if (rc < 0) {
		free(fds);
		fds = NULL;
		refuse1(rt, sock, rc, "successor: receiving the fd table: %s", d.msg);
		goto fail;
	}
	rc = baton_tp_image_map(image_fd, (size_t)image_len, &map, &d);
	if (rc == 0)
		rc = baton_image_open(&img, map, (size_t)image_len, &d);
	if (rc < 0) {
		baton_tp_close_all(fds, nfds);
		refuse1(rt, sock, rc, "successor: the image: %s", d.msg);
		goto fail;
	}
	if (img.nfds != nfds) {
		baton_tp_close_all(fds, nfds);
		rc = refuse1(rt, sock, -EBADMSG,
			     "successor: the image lists %u fds, the predecessor sent %u", img.nfds, nfds);
		goto fail;
	}
	rc = rt_restore_image(rt, rt->cat, &img, fds, nfds, sock, false);
	if (rc < 0)
		goto fail;

	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_READY);
	baton_msg_put_u64(&w, BATON_TAG_RESTORE_NS, baton_now_ns() - t0);
	baton_msg_put_u32(&w, BATON_TAG_OBJECTS, (uint32_t)rc);
	rc = baton_msg_end(&w, &len);
	if (rc == 0)
		rc = baton_tp_send(sock, buf, len, NULL, 0, &d);
	if (rc < 0) {
		rt_fail(rt, rc, "successor: ready: %s", d.msg);
		goto fail;
	}

	/*
	 * Wait for the commit point; the predecessor is authoritative until
	 * then. No deadline while it lives: giving up here while it might still
	 * send COMMIT could leave nobody serving.
	 */
	for (;;) {
		rc = baton_tp_recv(sock, buf, sizeof(buf), &len, NULL, 0, NULL, (int)rt->timeout_ms,
				   -1, &d);
		if (rc != -ETIMEDOUT)
			break;
		if (pid_dead((pid_t)old_pid)) {
			rc = -EPIPE;
			break;
		}
		rt_log(rt, BATON_LOG_WARNING,
		       "successor: ready for %u ms and the predecessor (pid %u) has neither committed nor aborted; still waiting",
		       rt->timeout_ms, old_pid);
	}
	if (rc == -EPIPE || rc == -ECONNRESET) {
		if (!predecessor_gone((pid_t)old_pid)) {
			rt_fail(rt, -ECONNRESET,
				"successor: the predecessor (pid %u) closed the handoff without COMMIT or ABORT and still runs: not taking over",
				old_pid);
			rc = -ECONNRESET;
			goto fail;
		}
		rt_log(rt, BATON_LOG_WARNING,
		       "successor: the predecessor (pid %u) died after READY without COMMIT; nobody else serves, so this process takes over",
		       old_pid);
	} else {
		if (rc == 0)
			rc = baton_msg_parse(&m, buf, len, &d);
		if (rc == 0 && m.type == BATON_MSG_ABORT) {
			char why[BATON_MSG_TEXT_MAX + 1] = "no reason given";

			baton_msg_get_str(&m, BATON_TAG_REASON, why, sizeof(why));
			rt_fail(rt, -ECANCELED, "successor: the predecessor aborted the update: %s", why);
			rc = -ECANCELED;
			goto fail;
		}
		if (rc == 0 && m.type != BATON_MSG_COMMIT)
			rc = baton_diag_set(&d, -EPROTO, "expected commit, got %s",
					    baton_msg_type_name(m.type));
		if (rc < 0) {
			rt_fail(rt, rc, "successor: waiting for commit: %s", d.msg);
			goto fail;
		}
	}
	close(sock);
	munmap((void *)map, (size_t)image_len);
	close(image_fd);
	free(fds);
	rc = rt_finish(rt, &img.h, ctl_fd);
	if (rc < 0)
		return rc;
	rt_log(rt, BATON_LOG_INFO, "serving as generation %llu, state from %s (pid %u)",
	       (unsigned long long)rt->generation, img.h.program, old_pid);
	return 0;
fail:
	if (map)
		munmap((void *)map, (size_t)image_len);
	while (rt->regions)
		baton_region_destroy(rt->regions);
	if (ctl_fd >= 0)
		close(ctl_fd);
	close(image_fd);
	free(fds);
	close(sock);
	return rc;
}

/* Reads a whole image file (at most BATON_IMAGE_MAX_SIZE bytes), 8-byte aligned. */
static int read_image_file(struct baton_rt *rt, const char *path, void **out, size_t *len)
{
	struct stat st;
	void *buf = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		rt_fail(rt, rc, "dry run: cannot open the image %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > BATON_IMAGE_MAX_SIZE) {
		close(fd);
		return rt_fail(rt, -EINVAL, "dry run: %s is not an image file of a sensible size", path);
	}
	if (posix_memalign(&buf, 8, (size_t)st.st_size)) {
		close(fd);
		return rt_fail(rt, -ENOMEM, "dry run: out of memory for %s", path);
	}
	for (size_t got = 0; got < (size_t)st.st_size;) {
		ssize_t n = read(fd, (char *)buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			close(fd);
			free(buf);
			return rt_fail(rt, rc, "dry run: reading %s: %s", path,
				       n < 0 ? strerror(-rc) : "the file shrank");
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

/* The dry run's record of what the image holds, before anything is bound. */
static int dry_record(struct baton_rt *rt, const struct baton_image *img)
{
	struct rt_dry *dry = rt->dry;
	struct baton_image_object io = { .node = -1 };
	struct baton_image_iter it = { .node = -1 };
	struct baton_image_fd f;
	struct baton_image_region r;

	dry->writer = img->h;
	dry->have_header = true;
	dry->objs = calloc(img->nobjects ? img->nobjects : 1, sizeof(*dry->objs));
	dry->fds = calloc(img->nfds ? img->nfds : 1, sizeof(*dry->fds));
	dry->regions = calloc(img->nregions ? img->nregions : 1, sizeof(*dry->regions));
	if (!dry->objs || !dry->fds || !dry->regions)
		return -ENOMEM;
	while (dry->nobjs < img->nobjects && baton_image_next_object(img, &io) > 0) {
		struct rt_dry_object *o = &dry->objs[dry->nobjs++];

		o->key = strdup(io.key);
		o->writer_handler = strdup(io.handler);
		if (!o->key || !o->writer_handler)
			return -ENOMEM;
		o->contract = io.contract;
		o->version = o->reached_version = io.version;
	}
	while (dry->nfds < img->nfds && baton_image_next_fd(img, &it, &f) > 0) {
		dry->fds[dry->nfds].kind = f.kind;
		baton_strlcpy(dry->fds[dry->nfds].name, f.name, sizeof(dry->fds[0].name));
		dry->nfds++;
	}
	it.node = -1;
	while (dry->nregions < img->nregions && baton_image_next_region(img, &it, &r) > 0) {
		baton_strlcpy(dry->regions[dry->nregions].name, r.name, sizeof(dry->regions[0].name));
		dry->regions[dry->nregions].size = r.size;
		if (r.fd < dry->nfds)
			dry->fds[r.fd].region = true;
		dry->nregions++;
	}
	return 0;
}

/*
 * The fds a restore gets: every region's memfd, loaded from its golden
 * region file, and /dev/null for every other entry of the fd table.
 */
static int dry_fds(struct baton_rt *rt, const struct baton_image *img, uint64_t image_hash,
		   int *fds)
{
	struct rt_dry *dry = rt->dry;
	struct baton_image_iter it = { .node = -1 };
	struct baton_image_region ir;
	char err[BATON_MESSAGE_MAX];
	uint32_t i;
	int rc;

	for (i = 0; i < img->nfds; i++) {
		fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fds[i] < 0)
			return rt_fail(rt, -errno, "dry run: /dev/null: %s", strerror(errno));
	}
	while (baton_image_next_region(img, &it, &ir) > 0) {
		uint64_t stored = 0;
		int fd;

		if (ir.fd >= img->nfds)
			return rt_fail(rt, -EBADMSG, "dry run: region %u names fd %u of %u",
				       it.index, ir.fd, img->nfds);
		fd = memfd_create(ir.name, MFD_CLOEXEC);
		if (fd < 0)
			return rt_fail(rt, -errno, "dry run: memfd for region %u (%s): %s", it.index,
				       ir.name, strerror(errno));
		close(fds[ir.fd]);
		fds[ir.fd] = fd;
		if (ftruncate(fd, (off_t)ir.size) < 0)
			return rt_fail(rt, -errno, "dry run: memfd of %llu bytes for region %u (%s): %s",
				       (unsigned long long)ir.size, it.index, ir.name, strerror(errno));
		rc = rt_golden_region_load(dry->image, it.index, &ir, image_hash, fd, &stored, err,
					   sizeof(err));
		if (rc < 0)
			return rt_fail(rt, rc, "dry run: %s", err);
		if (it.index < dry->nregions) {
			dry->regions[it.index].stored = stored;
			dry->regions[it.index].loaded = true;
		}
	}
	return 0;
}

int rt_dry_run(struct baton_rt *rt)
{
	static const int stage_result[] = {
		[RT_DRY_READ] = BATON_DRY_RUN_UNREADABLE,
		[RT_DRY_BIND] = BATON_DRY_RUN_REFUSED,
		[RT_DRY_REGIONS] = BATON_DRY_RUN_UNREADABLE,
		[RT_DRY_DECODE] = BATON_DRY_RUN_UNREADABLE,
		[RT_DRY_RESTORE] = BATON_DRY_RUN_FAILED,
	};
	struct rt_dry *dry = rt->dry;
	struct baton_image img;
	struct baton_diag d;
	void *buf = NULL;
	size_t len = 0;
	int *fds = NULL, rc;

	dry->stage = RT_DRY_READ;
	rc = read_image_file(rt, dry->image, &buf, &len);
	if (rc < 0)
		goto fail;
	rc = baton_image_open(&img, buf, len, &d);
	if (rc < 0) {
		rt_fail(rt, rc, "dry run: %s: %s", dry->image, d.msg);
		goto fail;
	}
	rc = dry_record(rt, &img);
	if (rc < 0) {
		rt_fail(rt, rc, "dry run: out of memory");
		goto fail;
	}
	fds = calloc(img.nfds ? img.nfds : 1, sizeof(*fds));
	if (!fds) {
		rc = rt_fail(rt, -ENOMEM, "dry run: out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < img.nfds; i++)
		fds[i] = -1;
	rc = dry_fds(rt, &img, rt_golden_image_hash(buf, len), fds);
	if (rc < 0) {
		baton_tp_close_all(fds, img.nfds);
		goto fail;
	}
	dry->stage = RT_DRY_BIND;
	rc = rt_restore_image(rt, rt->cat, &img, fds, img.nfds, -1, true);   /* closes fds */
	if (rc < 0)
		goto fail;
	rc = rt_finish_origin(rt, &img.h);
	if (rc < 0) {
		rt_fail(rt, rc, "dry run: making the regions writable: %s", strerror(-rc));
		dry->stage = RT_DRY_REGIONS;
		goto fail;
	}
	free(fds);
	free(buf);
	rt_dry_end(rt, BATON_DRY_RUN_RESTORED);
	return 0;
fail:
	free(fds);
	free(buf);
	while (rt->regions)
		baton_region_destroy(rt->regions);
	rt_dry_end(rt, stage_result[dry->stage]);
	return rc < 0 ? rc : -EIO;
}
