/* SPDX-License-Identifier: MIT */
/*
 * DOC: runtime — creating the runtime, registering code, starting
 *
 * baton_rt_new() reads the program's own catalog (BATON_SELF_RECORDS) and
 * checks it on its own (rule 2, schemas): findings there are errors of the
 * program, logged at once and returned by every registration and by
 * baton_rt_start(). Handlers attach code to the names the catalog declares;
 * upgrade steps attach code to (handler, contract, version). baton_rt_start()
 * refuses to run while a declared handler has no code or a read version has
 * no path of steps to the highest one, so that a successor never finds out
 * in the middle of an update that it cannot read what it declared.
 *
 * Then start looks at the environment: a successor (BATON_HANDOFF) receives
 * its predecessor's state (new.c), a program re-executed in place
 * (BATON_EXEC_IMAGE) reads its image from an inherited memfd (exec.c), a dry
 * run (BATON_DRY_RUN_IMAGE) restores a golden image without serving (new.c,
 * golden.c) and reports every outcome, this release's own faults included;
 * anything else is a cold start. Last, the control socket is opened or
 * adopted (not in a dry run).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "rt.h"
#include "transport/fault.h"

static const char *level_name(int level)
{
	switch (level) {
	case BATON_LOG_ERROR: return "error";
	case BATON_LOG_WARNING: return "warning";
	case BATON_LOG_INFO: return "info";
	default: return "debug";
	}
}

static void rt_vlog(struct baton_rt *rt, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void rt_vlog(struct baton_rt *rt, int level, const char *fmt, va_list ap)
{
	char msg[BATON_MESSAGE_MAX + 256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* a program's own logger says who it is; the default one says it here */
	if (rt->log_fn)
		rt->log_fn(rt->log_ctx, level, msg);
	else
		fprintf(stderr, "%s %s[%d]: %s: %s\n", rt->name[0] ? rt->name : "baton",
			rt->release, (int)getpid(), level_name(level), msg);
}

void rt_log(struct baton_rt *rt, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vlog(rt, level, fmt, ap);
	va_end(ap);
}

int rt_fail(struct baton_rt *rt, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rt->err, sizeof(rt->err), fmt, ap);
	va_end(ap);
	rt_log(rt, BATON_LOG_ERROR, "%s", rt->err);
	return code;
}

const char *baton_rt_error(const struct baton_rt *rt)
{
	return rt && rt->err[0] ? rt->err : "no error";
}

struct rt_handler *rt_find_handler(struct baton_rt *rt, const char *name)
{
	size_t i;

	for (i = 0; i < rt->nhandlers; i++)
		if (strncmp(rt->handlers[i].rec->name, name, BATON_NAME_MAX) == 0)
			return &rt->handlers[i];
	return NULL;
}

struct rt_step *rt_find_step(struct baton_rt *rt, const struct rt_handler *h,
			     const baton_uuid *contract, uint32_t from)
{
	size_t i;

	for (i = 0; i < rt->nsteps; i++)
		if (rt->steps[i].h == h && rt->steps[i].from == from &&
		    baton_uuid_cmp(&rt->steps[i].contract, contract) == 0)
			return &rt->steps[i];
	return NULL;
}

int rt_epoll_add(struct baton_rt *rt, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void rt_epoll_del(struct baton_rt *rt, int fd)
{
	if (fd >= 0)
		epoll_ctl(rt->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void own_finding(void *ctx, const struct baton_finding *f)
{
	struct baton_rt *rt = ctx;
	char line[BATON_MESSAGE_MAX + 32];

	/* the engine's messages already start with their rule */
	rt_finding_line((uint16_t)f->rule, f->message, line, sizeof(line));
	if (!rt->catalog_findings++)
		snprintf(rt->catalog_problem, sizeof(rt->catalog_problem), "%.900s", line);
	rt_log(rt, BATON_LOG_ERROR, "own catalog: %s", line);
}

static char **argv_copy(int argc, char *const *argv)
{
	char **v;
	int i;

	if (argc < 0)
		argc = 0;
	v = calloc((size_t)argc + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < argc && argv && argv[i]; i++) {
		v[i] = strdup(argv[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

int baton_rt_new(struct baton_rt **out, const struct baton_rt_options *opt)
{
	const struct baton_rec_handler *h;
	struct baton_diag d;
	struct baton_rt *rt;
	ssize_t n;
	size_t i;
	int rc;

	if (!out || !opt || !opt->catalog || !opt->catalog_len)
		return -EINVAL;
	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->epfd = rt->ctl_listener = rt->sigfd = -1;
	rt->up.pidfd = rt->up.listener = rt->up.timerfd = -1;
	rt->in.sock = rt->in.image_fd = -1;
	rt->log_fn = opt->log;
	rt->log_ctx = opt->log_ctx;
	rt->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 10000;
	rt->upgrade_signal = opt->upgrade_signal;
	snprintf(rt->release, sizeof(rt->release), "?");

	rc = baton_catalog_load_self(opt->catalog, opt->catalog_len, &rt->self, &d);
	if (rc < 0) {
		rt_log(rt, BATON_LOG_ERROR, "own catalog: %s", d.msg);
		goto fail;
	}
	rt->cat = &rt->self->cat;
	baton_strlcpy(rt->name, rt->cat->program->name, sizeof(rt->name));
	baton_release_format(&rt->cat->program->release, rt->release, sizeof(rt->release));
	rc = baton_catalog_validate(rt->cat, NULL, own_finding, rt);
	if (rc < 0) {
		rt_log(rt, BATON_LOG_ERROR, "own catalog: validation failed: %s", strerror(-rc));
		goto fail;
	}

	rt->nhandlers = rt->cat->nhandlers;
	rt->handlers = calloc(rt->nhandlers ? rt->nhandlers : 1, sizeof(*rt->handlers));
	rc = -ENOMEM;
	if (!rt->handlers)
		goto fail;
	i = 0;
	baton_catalog_for_each_handler(rt->cat, h)
		if (i < rt->nhandlers)
			rt->handlers[i++].rec = h;
	rt->nhandlers = i;

	rt->argc = opt->argc;
	rt->argv = argv_copy(opt->argc, opt->argv);
	if (!rt->argv)
		goto fail;
	if (opt->control_path && !(rt->control_path = strdup(opt->control_path)))
		goto fail;
	if (opt->upgrade_program && !(rt->upgrade_program = strdup(opt->upgrade_program)))
		goto fail;
	n = readlink("/proc/self/exe", rt->program_path, sizeof(rt->program_path) - 1);
	if (n < 0)
		n = 0;
	rt->program_path[n] = '\0';

	if (BATON_FAULT("epoll_create")) {
		rc = -EMFILE;
		rt_log(rt, BATON_LOG_ERROR, "epoll_create1(): %s (injected)", strerror(EMFILE));
		goto fail;
	}
	rt->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rt->epfd < 0) {
		rc = -errno;
		rt_log(rt, BATON_LOG_ERROR, "epoll_create1(): %s", strerror(errno));
		goto fail;
	}
	if (rt->upgrade_signal) {
		sigset_t set;

		sigemptyset(&set);
		if (sigaddset(&set, rt->upgrade_signal) < 0) {
			rc = -EINVAL;
			rt_log(rt, BATON_LOG_ERROR, "upgrade signal %d is not a signal", rt->upgrade_signal);
			goto fail;
		}
		/* Blocked, so it is read from the signalfd instead of delivered. */
		sigprocmask(SIG_BLOCK, &set, NULL);
		rt->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
		if (rt->sigfd < 0 || rt_epoll_add(rt, rt->sigfd) < 0) {
			rc = -errno;
			rt_log(rt, BATON_LOG_ERROR, "signalfd for signal %d: %s", rt->upgrade_signal,
			       strerror(errno));
			goto fail;
		}
	}
	*out = rt;
	return 0;
fail:
	baton_rt_free(rt);
	return rc;
}

void baton_rt_free(struct baton_rt *rt)
{
	int i;

	if (!rt)
		return;
	rt_old_free(rt);
	rt_dry_free(rt->dry);
	rt_obj_free_list(rt->saved);
	while (rt->regions)
		baton_region_destroy(rt->regions);
	if (rt->sigfd >= 0)
		close(rt->sigfd);
	if (rt->epfd >= 0)
		close(rt->epfd);
	for (i = 0; rt->argv && rt->argv[i]; i++)
		free(rt->argv[i]);
	free(rt->argv);
	free(rt->control_path);
	free(rt->upgrade_program);
	free(rt->steps);
	free(rt->handlers);
	baton_catalog_file_free(rt->self);
	free(rt);
}

int baton_rt_set_lifecycle(struct baton_rt *rt, const struct baton_lifecycle_ops *ops)
{
	if (!rt || !ops)
		return -EINVAL;
	rt->life = *ops;
	rt->has_life = true;
	return 0;
}

static int catalog_ok(struct baton_rt *rt)
{
	if (rt->catalog_findings)
		return rt_fail(rt, -EINVAL,
			       "%s %s: its own catalog has %d finding(s), first: %s; fix the BATON_HANDLER/BATON_SCHEMA declarations",
			       rt->name, rt->release, rt->catalog_findings, rt->catalog_problem);
	return 0;
}

int baton_rt_register(struct baton_rt *rt, const char *handler, const struct baton_handler_ops *ops)
{
	struct rt_handler *h;
	int rc;

	if (!rt || !handler || !ops)
		return -EINVAL;
	rc = catalog_ok(rt);
	if (rc < 0)
		return rc;
	if (rt->started)
		return rt_fail(rt, -EBUSY, "handler %s: register handlers before baton_rt_start()",
			       handler);
	h = rt_find_handler(rt, handler);
	if (!h)
		return rt_fail(rt, -ENOENT,
			       "handler %s: %s %s declares no such handler (BATON_HANDLER); handlers it declares: %zu",
			       handler, rt->name, rt->release, rt->nhandlers);
	if (h->registered)
		return rt_fail(rt, -EEXIST, "handler %s: already registered", handler);
	if ((h->rec->flags & BATON_HANDLER_WRITES) && !ops->save)
		return rt_fail(rt, -EINVAL, "handler %s writes %s version %u but has no save function",
			       handler, h->rec->writes.contract, h->rec->writes.version);
	if (h->rec->hdr.count && !ops->restore)
		return rt_fail(rt, -EINVAL, "handler %s reads contracts but has no restore function",
			       handler);
	h->ops = *ops;
	h->registered = true;
	return 0;
}

int baton_rt_register_step(struct baton_rt *rt, const char *handler, const char *contract,
			   uint32_t from, baton_step_fn fn, void *ctx)
{
	struct rt_handler *h;
	struct rt_step *s;
	baton_uuid c;
	int rc;

	if (!rt || !handler || !contract || !fn)
		return -EINVAL;
	rc = catalog_ok(rt);
	if (rc < 0)
		return rc;
	h = rt_find_handler(rt, handler);
	if (!h)
		return rt_fail(rt, -ENOENT, "upgrade step: %s %s declares no handler %s",
			       rt->name, rt->release, handler);
	if (baton_uuid_parse(&c, contract, strlen(contract)) < 0)
		return rt_fail(rt, -EINVAL, "upgrade step of handler %s: \"%.64s\" is not a contract UUID",
			       handler, contract);
	if (from == 0 || from >= baton_handler_max_read(h->rec, &c))
		return rt_fail(rt, -EINVAL,
			       "upgrade step of handler %s: %s version %u to %u is not below the highest version it reads (%u)",
			       handler, contract, from, from + 1, baton_handler_max_read(h->rec, &c));
	if (rt_find_step(rt, h, &c, from))
		return rt_fail(rt, -EEXIST, "upgrade step of handler %s: %s version %u to %u already registered",
			       handler, contract, from, from + 1);
	if (rt->nsteps == rt->steps_cap) {
		size_t cap = rt->steps_cap ? rt->steps_cap * 2 : 8;

		s = realloc(rt->steps, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		rt->steps = s;
		rt->steps_cap = cap;
	}
	s = &rt->steps[rt->nsteps++];
	s->h = h;
	s->contract = c;
	s->from = from;
	s->fn = fn;
	s->ctx = ctx;
	return 0;
}

/* Every read version below the highest has a chain of steps and schemas up to it. */
static int check_steps(struct baton_rt *rt)
{
	size_t i;

	for (i = 0; i < rt->nhandlers; i++) {
		struct rt_handler *h = &rt->handlers[i];
		const struct baton_read *r = baton_handler_reads(h->rec);
		uint32_t k, j;

		for (k = 0; k < h->rec->hdr.count; k++) {
			baton_uuid c = baton_rec_uuid(r[k].contract);
			uint32_t max = baton_handler_max_read(h->rec, &c), low = max;
			char reads[128];

			for (j = 0; j < r[k].nversions; j++)
				if (r[k].versions[j] < low)
					low = r[k].versions[j];
			baton_handler_format_reads(h->rec, &c, reads, sizeof(reads));
			for (j = low; j < max; j++) {
				if (!rt_find_step(rt, h, &c, j))
					return rt_fail(rt, -ENOENT,
						       "handler %s reads %s (%s) versions %s but has no upgrade step from version %u to %u; register one with baton_rt_register_step() before baton_rt_start()",
						       h->rec->name,
						       baton_catalog_contract_name(rt->cat, &c) ?: "?",
						       r[k].contract, reads, j, j + 1);
				if (!baton_catalog_find_schema(rt->cat, &c, j) ||
				    !baton_catalog_find_schema(rt->cat, &c, j + 1))
					return rt_fail(rt, -ENOENT,
						       "handler %s: the step of %s from version %u to %u needs schemas of both versions; declare them with BATON_SCHEMA",
						       h->rec->name, r[k].contract, j, j + 1);
			}
		}
	}
	return 0;
}

/* Every declared handler has code, every read version its steps. */
static int ready_to_start(struct baton_rt *rt)
{
	size_t i;
	int rc;

	rc = catalog_ok(rt);
	if (rc < 0)
		return rc;
	for (i = 0; i < rt->nhandlers; i++)
		if (!rt->handlers[i].registered)
			return rt_fail(rt, -ENOENT,
				       "handler %s is declared in the catalog of %s %s but has no code: call baton_rt_register() before baton_rt_start()",
				       rt->handlers[i].rec->name, rt->name, rt->release);
	return check_steps(rt);
}

int baton_rt_start(struct baton_rt *rt)
{
	const char *s;
	int rc, result = BATON_START_COLD;

	if (!rt)
		return -EINVAL;
	if (rt->started)
		return rt_fail(rt, -EALREADY, "baton_rt_start(): already started");
	/* A dry run reports every outcome, this release's own faults too. */
	if (!rt->dry && (s = getenv(BATON_ENV_DRY_RUN)) && *s) {
		rc = rt_dry_begin(rt, s);
		if (rc < 0)
			return rt_fail(rt, rc, "dry run of %s: %s", s, strerror(-rc));
	}
	rc = ready_to_start(rt);
	if (rc < 0) {
		if (rt->dry)
			rt_dry_end(rt, BATON_DRY_RUN_FAILED);
		return rc;
	}

	rt->origin.generation = 0;
	baton_strlcpy(rt->origin.program, rt->name, sizeof(rt->origin.program));
	rt->origin.release = rt->cat->program->release;
	rt->origin.build_id = rt->cat->build_id;

	if (rt->dry) {
		rc = rt_dry_run(rt);
		if (rc < 0)
			return rc;
		rt->started = true;
		return BATON_START_CHECKED;
	}
	if ((s = getenv(BATON_ENV_HANDOFF)) && *s) {
		rc = rt_new_start(rt);
		if (rc < 0)
			return rc;
		result = BATON_START_RESTORED;
	} else if ((s = getenv(BATON_ENV_EXEC_IMAGE)) && *s) {
		rc = rt_exec_start(rt);
		if (rc < 0)
			return rc;
		result = BATON_START_RESTORED;
	} else {
		rc = rt_control_open(rt, -1);
		if (rc < 0)
			return rc;
		rt_log(rt, BATON_LOG_DEBUG, "cold start, generation 0");
	}
	rt->started = true;
	return result;
}

int baton_rt_fd(const struct baton_rt *rt)
{
	return rt ? rt->epfd : -EINVAL;
}

int baton_rt_run(struct baton_rt *rt, int timeout_ms)
{
	uint64_t end = timeout_ms >= 0 ? baton_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;

	for (;;) {
		struct pollfd p = { .fd = rt->epfd, .events = POLLIN };
		int left = -1, rc;

		if (timeout_ms >= 0) {
			uint64_t now = baton_now_ns();

			if (now >= end)
				return BATON_DISPATCH_CONTINUE;
			left = (int)((end - now + 999999) / 1000000);
		}
		rc = poll(&p, 1, left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0) {
			rc = baton_rt_dispatch(rt);
			if (rc != BATON_DISPATCH_CONTINUE)
				return rc;
		}
	}
}

int baton_rt_origin(const struct baton_rt *rt, struct baton_rt_origin *out)
{
	if (!rt || !out)
		return -EINVAL;
	*out = rt->origin;
	return 0;
}
