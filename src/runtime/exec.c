/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime — the exec transport: replacing the program in place
 *
 * For programs that must keep their pid. After the pre-flight the old
 * program freezes, saves and seals its image exactly as for a successor, and
 * then, instead of starting a new process, clears close-on-exec on the image
 * memfd, on every fd of the image's fd table, on the control listener and on
 * the requester's connection, opens its own program file and writes its argv
 * into a memfd, and execve()s the new program with their numbers in the
 * environment (BATON_EXEC_*). The new program's baton_rt_start() restores from
 * the inherited image, working on duplicates of the inherited fds so that the
 * originals stay untouched, and answers the requester itself.
 *
 * What it can roll back: if the new program refuses the image (a finding of
 * baton_bind, an upgrade step or a restore failing) it re-executes the old
 * program file — opened before the exec, so replacing the file on disk does
 * not matter — with its old argv and the same image and fds; the old release
 * restores its own image (same build) and goes on serving, and the requester
 * hears "rolled back" with the reasons. Regions are read-only in the new
 * program until it has committed, so they are as the old one left them.
 * If execve() itself fails, nothing was replaced: the old program thaws.
 *
 * What it cannot roll back: a new program that crashes, hangs or exits before
 * baton_rt_start() returns (there is no one left to wait for a deadline or to
 * notice: the process is the new program now); state outside the image
 * (heap, threads, timers, child processes, signal dispositions); bytes the
 * new program read from a preserved socket before refusing; an old program
 * whose own restore then fails. Use the default successor transport when
 * these matter.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt.h"
#include "transport/fault.h"

extern char **environ;

static int set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -errno;
	fl = on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

/* "3-9,12": the fd table, compressed into ranges. */
static char *fd_list(const int *fds, size_t n)
{
	size_t cap = 64 + n * 12, pos = 0, i = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '\0';
	while (i < n) {
		size_t j = i;

		while (j + 1 < n && fds[j + 1] == fds[j] + 1)
			j++;
		pos += (size_t)snprintf(s + pos, cap - pos, "%s%d", pos ? "," : "", fds[i]);
		if (j > i)
			pos += (size_t)snprintf(s + pos, cap - pos, "-%d", fds[j]);
		i = j + 1;
	}
	return s;
}

static int parse_fd_list(const char *s, int **out, size_t *n)
{
	size_t cap = 16, k = 0;
	int *v = malloc(cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	while (s && *s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a > INT32_MAX)
			goto bad;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b > INT32_MAX || b - a > BATON_IMAGE_MAX_FDS)
				goto bad;
		}
		for (; a <= b; a++) {
			if (k == cap) {
				int *p;

				cap *= 2;
				if (cap > BATON_IMAGE_MAX_FDS * 2)
					goto bad;
				p = realloc(v, cap * sizeof(*v));
				if (!p)
					goto bad;
				v = p;
			}
			v[k++] = (int)a;
		}
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			goto bad;
	}
	*out = v;
	*n = k;
	return 0;
bad:
	free(v);
	return -EINVAL;
}

static int env_fd(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > INT32_MAX)
		return -1;
	return (int)v;
}

static int argv_memfd(char *const *argv)
{
	int fd = memfd_create("baton-argv", MFD_CLOEXEC), i;

	if (fd < 0)
		return -errno;
	for (i = 0; argv && argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (write(fd, argv[i], n) != (ssize_t)n) {
			close(fd);
			return -EIO;
		}
	}
	return fd;
}

static char **argv_read(int fd)
{
	char *buf = NULL, **v;
	size_t len = 0, cap = 0, n = 0, i;
	ssize_t r;

	lseek(fd, 0, SEEK_SET);
	do {
		if (len == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 4096);

			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		r = read(fd, buf + len, cap - len);
		if (r > 0)
			len += (size_t)r;
	} while (r > 0);
	for (i = 0; i < len; i++)
		n += buf[i] == '\0';
	v = calloc(n + 2, sizeof(*v));
	if (!v) {
		free(buf);
		return NULL;
	}
	/* the strings stay in buf, which lives as long as the exec */
	for (i = 0, n = 0; i < len; i += strlen(buf + i) + 1)
		v[n++] = buf + i;
	return v;
}

/* ------------------------------------------------------------------------ */
/* Old side                                                                 */

int rt_exec_upgrade(struct baton_rt *rt)
{
	struct rt_update *u = &rt->up;
	char err[BATON_MESSAGE_MAX], *list = NULL, *extra[2] = { NULL, NULL };
	char **env = NULL, **env2 = NULL;
	int image_fd = -1, *fds = NULL, *fd_flags = NULL, old_fd = -1, argv_fd = -1, rc;
	size_t image_len = 0, nfds = 0, i, k;
	uint64_t t;

	rc = rt_update_save(rt, &image_fd, &image_len, &fds, &nfds, err, sizeof(err));
	if (rc < 0)
		return rt_update_fail(rt, false, rc, err);
	t = baton_now_ns();
	rt_update_step(rt, "freeze+save", t - u->t_freeze);

	/* the running file itself, even if a new one was installed at its path */
	old_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	argv_fd = argv_memfd(rt->argv);
	list = fd_list(fds, nfds);
	env = rt_child_env(NULL, extra);
	/* the table's fds are the program's own (baton_obj_set_fd): their flags go back as they were */
	fd_flags = malloc((nfds ? nfds : 1) * sizeof(*fd_flags));
	rc = -ENOMEM;
	if (old_fd < 0 || argv_fd < 0 || !list || !env || !fd_flags)
		goto fail;
	for (k = 0; env[k]; k++)
		;
	env2 = calloc(k + 9, sizeof(*env2));
	if (!env2)
		goto fail;
	memcpy(env2, env, k * sizeof(*env2));
	if (asprintf(&env2[k++], "%s=%d:%zu", BATON_ENV_EXEC_IMAGE, image_fd, image_len) < 0 ||
	    asprintf(&env2[k++], "%s=%s", BATON_ENV_EXEC_FDS, list) < 0 ||
	    asprintf(&env2[k++], "%s=%d", BATON_ENV_EXEC_OLD, old_fd) < 0 ||
	    asprintf(&env2[k++], "%s=%d", BATON_ENV_EXEC_OLD_ARGV, argv_fd) < 0 ||
	    asprintf(&env2[k++], "%s=%d", BATON_ENV_EXEC_CONTROL, rt->ctl_listener) < 0 ||
	    asprintf(&env2[k++], "%s=%d", BATON_ENV_EXEC_CLIENT,
		     u->client ? u->client->fd : -1) < 0)
		goto fail;

	/* Everything the new program needs survives the exec; the rest does not. */
	set_cloexec(image_fd, false);
	set_cloexec(old_fd, false);
	set_cloexec(argv_fd, false);
	for (i = 0; i < nfds; i++) {
		fd_flags[i] = fcntl(fds[i], F_GETFD);
		set_cloexec(fds[i], false);
	}
	if (rt->ctl_listener >= 0)
		set_cloexec(rt->ctl_listener, false);
	if (u->client)
		set_cloexec(u->client->fd, false);
	rt_update_step(rt, "send", baton_now_ns() - t);
	rt_log(rt, BATON_LOG_INFO, "update to %s: exec in place (pid %d stays)", u->program,
	       (int)getpid());
	if (BATON_FAULT("exec"))
		errno = ENOEXEC;
	else
		execve(u->program, u->argv, env2);
	rc = -errno;
	snprintf(err, sizeof(err), "exec: execve(%.256s): %s; nothing was replaced", u->program,
		 strerror(errno));
	set_cloexec(image_fd, true);
	for (i = nfds; i-- > 0;)   /* backwards: an fd listed twice gets its first, original flags */
		if (fd_flags[i] >= 0)
			fcntl(fds[i], F_SETFD, fd_flags[i]);
	if (rt->ctl_listener >= 0)
		set_cloexec(rt->ctl_listener, true);
	if (u->client)
		set_cloexec(u->client->fd, true);
	goto out;
fail:
	snprintf(err, sizeof(err), "exec: preparing the exec of %.256s: %s", u->program, strerror(-rc));
out:
	if (env2)
		for (i = k > 6 ? k - 6 : 0; i < k; i++)
			free(env2[i]);
	free(env2);
	free(env);
	free(extra[0]);
	free(extra[1]);
	free(list);
	free(fds);
	free(fd_flags);
	if (image_fd >= 0)
		close(image_fd);
	if (old_fd >= 0)
		close(old_fd);
	if (argv_fd >= 0)
		close(argv_fd);
	return rt_update_fail(rt, true, rc, err);
}

/* ------------------------------------------------------------------------ */
/* New side                                                                 */

/* A copy of the own catalog that also accepts the same build: for a rollback. */
static int rollback_catalog(struct baton_rt *rt, void **bufp, struct baton_catalog *cat)
{
	const struct baton_catalog *c = rt->cat;
	struct baton_policy_rule rules[BATON_MAX_POLICY_RULES + 1];
	struct baton_catalog_builder b;
	const struct baton_rec_schema *s;
	const struct baton_rec_handler *h;
	struct baton_diag d;
	size_t len = 0, n = c->program->hdr.count, size;
	void *buf = NULL;
	int pass, rc = 0;

	if (n > BATON_MAX_POLICY_RULES)
		n = BATON_MAX_POLICY_RULES;
	memcpy(rules, baton_program_rules(c->program), n * sizeof(rules[0]));
	rules[n].kind = BATON_POLICY_SAME_BUILD;
	rules[n].from = (struct baton_release){ 0, 0, 0 };
	size = 0;
	for (pass = 0; pass < 2; pass++) {
		baton_catalog_builder_init(&b, buf, size);
		baton_catalog_add_program(&b, c->program->name, &c->program->release, rules, n + 1);
		baton_catalog_for_each_schema(c, s)
			baton_catalog_add_schema(&b, s->contract, s->name, s->version,
						 baton_schema_fields(s), s->hdr.count);
		baton_catalog_for_each_handler(c, h)
			baton_catalog_add_handler(&b, h->name, h->flags, &h->writes,
						  baton_handler_reads(h), h->hdr.count);
		rc = baton_catalog_builder_finish(&b, &len);
		if (pass == 0) {
			if (rc != -ENOSPC && rc != 0)
				return rc;
			size = len;
			if (posix_memalign(&buf, 8, size ? size : 8))
				return -ENOMEM;
		}
	}
	if (rc == 0)
		rc = baton_catalog_open(cat, buf, len, &c->build_id, &d);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*bufp = buf;
	return 0;
}

static void exec_result(struct baton_rt *rt, int client, int status, const char *reasons,
			uint64_t frozen_at, uint64_t restore_ns, bool rolled_back)
{
	static uint8_t buf[BATON_MSG_MAX];
	struct baton_msg_writer w;
	size_t len;

	if (client < 0)
		return;
	if (restore_ns) {
		baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_STEP);
		baton_msg_put_str(&w, BATON_TAG_STEP, "restore");
		baton_msg_put_u64(&w, BATON_TAG_DURATION_NS, restore_ns);
		if (baton_msg_end(&w, &len) == 0)
			(void)!write(client, buf, len);
	}
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_RESULT);
	baton_msg_put_i32(&w, BATON_TAG_STATUS, status);
	if (frozen_at)
		baton_msg_put_u64(&w, BATON_TAG_DOWNTIME_NS, baton_now_ns() - frozen_at);
	baton_msg_put_u32(&w, BATON_TAG_NEW_PID, (uint32_t)getpid());
	baton_msg_put_str(&w, BATON_TAG_RELEASE, rt->release);
	if (rolled_back)
		baton_msg_put_u32(&w, BATON_TAG_ROLLED_BACK, 1);
	while (reasons && *reasons) {
		char line[BATON_MSG_TEXT_MAX + 1];
		size_t n = strcspn(reasons, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)n, reasons);
		if (w.len + n + 64 < BATON_MSG_MAX)
			baton_msg_put_str(&w, BATON_TAG_REASON, line);
		reasons += n;
		if (*reasons)
			reasons++;
	}
	if (baton_msg_end(&w, &len) == 0)
		(void)!write(client, buf, len);
}

/* Re-executes the old program with the same image, fds and a reason. */
static void fall_back(struct baton_rt *rt, int old_fd, int argv_fd, const char *reason)
{
	char **argv = argv_read(argv_fd), *r = NULL;

	if (!argv || !argv[0]) {
		rt_log(rt, BATON_LOG_ERROR, "exec fallback: the old program's argv is gone");
		return;
	}
	if (asprintf(&r, "%s=%s", BATON_ENV_EXEC_ROLLBACK, reason) < 0)
		return;
	if (putenv(r) != 0)
		return;
	rt_log(rt, BATON_LOG_WARNING, "exec: %s %s refused the state; re-executing the old program",
	       rt->name, rt->release);
	fexecve(old_fd, argv, environ);
	rt_log(rt, BATON_LOG_ERROR, "exec fallback: fexecve() of the old program failed: %s",
	       strerror(errno));
}

int rt_exec_start(struct baton_rt *rt)
{
	struct baton_catalog rcat;
	struct baton_image img;
	struct baton_diag d;
	const char *spec = getenv(BATON_ENV_EXEC_IMAGE), *rb = getenv(BATON_ENV_EXEC_ROLLBACK);
	char reasons[8192] = "", *rollback = rb ? strdup(rb) : NULL;
	const void *map = NULL;
	void *rbuf = NULL;
	int image_fd = -1, ctl, client, old_fd, argv_fd, *fds = NULL, *copies = NULL, rc;
	size_t nfds = 0, i, image_len = 0;
	uint64_t t0 = baton_now_ns();

	if (sscanf(spec, "%d:%zu", &image_fd, &image_len) != 2 ||
	    parse_fd_list(getenv(BATON_ENV_EXEC_FDS), &fds, &nfds) < 0) {
		free(rollback);
		return rt_fail(rt, -EINVAL, "exec: %s or %s is malformed", BATON_ENV_EXEC_IMAGE,
			       BATON_ENV_EXEC_FDS);
	}
	ctl = env_fd(BATON_ENV_EXEC_CONTROL);
	client = env_fd(BATON_ENV_EXEC_CLIENT);
	old_fd = env_fd(BATON_ENV_EXEC_OLD);
	argv_fd = env_fd(BATON_ENV_EXEC_OLD_ARGV);

	rc = baton_tp_image_map(image_fd, image_len, &map, &d);
	if (rc == 0)
		rc = baton_image_open(&img, map, image_len, &d);
	if (rc == 0 && img.nfds != nfds)
		rc = baton_diag_set(&d, -EBADMSG, "the image lists %u fds, %zu were inherited",
				    img.nfds, nfds);
	if (rc < 0) {
		snprintf(reasons, sizeof(reasons), "exec: the inherited image: %s", d.msg);
		goto refused;
	}
	/* Work on copies: the originals stay for a fallback to the old program. */
	copies = calloc(nfds ? nfds : 1, sizeof(*copies));
	if (!copies) {
		rc = -ENOMEM;
		snprintf(reasons, sizeof(reasons), "exec: out of memory");
		goto refused;
	}
	for (i = 0; i < nfds; i++)
		copies[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
	if (rollback) {
		rc = rollback_catalog(rt, &rbuf, &rcat);
		if (rc == 0)
			rc = rt_restore_image(rt, &rcat, &img, copies, (uint32_t)nfds, -1, false);
	} else {
		rc = rt_restore_image(rt, rt->cat, &img, copies, (uint32_t)nfds, -1, false);
	}
	free(rbuf);
	if (rc < 0) {
		snprintf(reasons, sizeof(reasons), "%s %s refused the state of %s: %s", rt->name,
			 rt->release, img.h.program, rt->err);
		goto refused;
	}

	/* Restored: the originals go, the runtime's variables go, we serve. */
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	munmap((void *)map, image_len);
	close(image_fd);
	if (old_fd >= 0)
		close(old_fd);
	if (argv_fd >= 0)
		close(argv_fd);
	if (client >= 0)
		fcntl(client, F_SETFD, FD_CLOEXEC);
	unsetenv(BATON_ENV_EXEC_IMAGE);
	unsetenv(BATON_ENV_EXEC_FDS);
	unsetenv(BATON_ENV_EXEC_CONTROL);
	unsetenv(BATON_ENV_EXEC_CLIENT);
	unsetenv(BATON_ENV_EXEC_OLD);
	unsetenv(BATON_ENV_EXEC_OLD_ARGV);
	unsetenv(BATON_ENV_EXEC_ROLLBACK);
	rc = rt_finish(rt, &img.h, ctl);
	if (rollback) {
		/* The same state, back in the same release: not a new generation. */
		rt->generation = img.h.generation;
		rt->origin.generation = rt->generation;
		rt_log(rt, BATON_LOG_WARNING, "exec: rolled back to %s %s: %s", rt->name,
		       rt->release, rollback);
		exec_result(rt, client, -EPERM, rollback, img.h.frozen_at_ns, baton_now_ns() - t0,
			    true);
	} else {
		exec_result(rt, client, 0, NULL, img.h.frozen_at_ns, baton_now_ns() - t0, false);
	}
	if (client >= 0)
		close(client);
	free(rollback);
	free(fds);
	free(copies);
	return rc;

refused:
	free(copies);
	while (rt->regions)
		baton_region_destroy(rt->regions);
	if (map)
		munmap((void *)map, image_len);
	if (!rollback && old_fd >= 0 && argv_fd >= 0)
		fall_back(rt, old_fd, argv_fd, reasons);
	/* No way back: say so to the requester, the state is lost with us. */
	exec_result(rt, client, rc < 0 ? rc : -EPERM, reasons, 0, 0, false);
	free(rollback);
	free(fds);
	return rt_fail(rt, rc < 0 ? rc : -EPERM, "%s", reasons);
}
