/* SPDX-License-Identifier: MIT */
/*
 * DOC: baton upgrade and baton status — talking to a running program
 *
 * Both speak the control protocol (src/core/msg.h) over the program's
 * control socket, a Unix stream socket the program's runtime listens on.
 * TARGET is that socket's path, or a pid: the program's listening Unix
 * sockets are found by matching the socket inodes of /proc/PID/fd against
 * the listening entries of /proc/net/unix (docs/baton-upgrade.1.scd).
 *
 * upgrade sends one UPGRADE request and prints the STEP messages as the
 * program reports them, then the RESULT; on success it asks the new release
 * for its status over the same path, since the control socket was handed
 * over with everything else.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <baton/baton.h>

#include "cli.h"
#include "core/msg.h"
#include "ctl.h"

/* ------------------------------------------------------------------------ */
/* Finding the control socket and talking to it                             */

static int socket_of_pid(const char *pidstr, char *path, size_t size, char *err, size_t errsize)
{
	char dir[64], line[PATH_MAX + 128];
	unsigned long *inodes = NULL;
	size_t n = 0, cap = 0, found = 0;
	struct dirent *de;
	FILE *f;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pidstr);
	d = opendir(dir);
	if (!d) {
		snprintf(err, errsize, "cannot read %s: %s (no such process, or not yours)", dir,
			 strerror(errno));
		return -errno;
	}
	while ((de = readdir(d))) {
		char lp[PATH_MAX], target[128];
		ssize_t k;

		snprintf(lp, sizeof(lp), "%s/%s", dir, de->d_name);
		k = readlink(lp, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (strncmp(target, "socket:[", 8) != 0)
			continue;
		if (n == cap) {
			unsigned long *p = realloc(inodes, (cap = cap ? cap * 2 : 64) * sizeof(*p));

			if (!p)
				break;
			inodes = p;
		}
		inodes[n++] = strtoul(target + 8, NULL, 10);
	}
	closedir(d);
	f = fopen("/proc/net/unix", "r");
	if (!f) {
		free(inodes);
		snprintf(err, errsize, "cannot read /proc/net/unix: %s", strerror(errno));
		return -EIO;
	}
	/* Num RefCount Protocol Flags Type St Inode Path */
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags, type, st, inode;
		char p[PATH_MAX + 1];
		size_t i;

		p[0] = '\0';
		if (sscanf(line, "%*s %*s %*s %lx %lx %lx %lu %4096s", &flags, &type, &st, &inode, p) < 4)
			continue;
		/* listening (__SO_ACCEPTCON), stream, with a path in the file system */
		if (!(flags & 0x10000) || type != 1 || p[0] != '/')
			continue;
		for (i = 0; i < n; i++) {
			if (inodes[i] != inode)
				continue;
			if (found++ == 0)
				snprintf(path, size, "%s", p);
			else
				fprintf(stderr, "baton: pid %s also listens on %s\n", pidstr, p);
		}
	}
	fclose(f);
	free(inodes);
	if (!found) {
		snprintf(err, errsize,
			 "pid %s listens on no Unix socket with a path: is its runtime's control_path set?",
			 pidstr);
		return -ENOENT;
	}
	if (found > 1) {
		snprintf(err, errsize, "pid %s listens on %zu Unix sockets; name the control socket's path",
			 pidstr, found);
		return -EEXIST;
	}
	return 0;
}

int ctl_resolve(const char *target, char *path, size_t size, char *err, size_t errsize)
{
	const char *p;

	for (p = target; *p && isdigit((unsigned char)*p); p++)
		;
	if (*target && !*p)
		return socket_of_pid(target, path, size, err, errsize);
	if (strlen(target) >= size) {
		snprintf(err, errsize, "%s: path too long", target);
		return -ENAMETOOLONG;
	}
	snprintf(path, size, "%s", target);
	return 0;
}

int ctl_connect(const char *path, char *err, size_t errsize)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsize, "%s: path too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		snprintf(err, errsize, "cannot connect to the control socket %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

int ctl_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_recv(int fd, uint8_t *buf, struct baton_msg *m, int timeout_ms, char *err, size_t errsize)
{
	struct baton_diag d;
	size_t have = 0, need = BATON_MSG_HDR_LEN;

	while (have < need) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc = poll(&p, 1, timeout_ms);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			snprintf(err, errsize, "no answer within %d ms", timeout_ms);
			return -ETIMEDOUT;
		}
		n = recv(fd, buf + have, need - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errsize, "the program closed the control connection%s",
				 have ? " in the middle of a message" : "");
			return -EPIPE;
		}
		have += (size_t)n;
		if (have == BATON_MSG_HDR_LEN) {
			rc = baton_msg_frame(buf, have, &need, &d);
			if (rc < 0) {
				snprintf(err, errsize, "malformed answer: %s", d.msg);
				return rc;
			}
		}
	}
	if (baton_msg_parse(m, buf, need, &d) < 0) {
		snprintf(err, errsize, "malformed answer: %s", d.msg);
		return -EBADMSG;
	}
	return 0;
}

int ctl_status(const char *path, struct ctl_status *s, char *err, size_t errsize)
{
	static uint8_t buf[BATON_MSG_MAX];
	struct baton_msg_writer w;
	struct baton_msg_item it;
	struct baton_msg m;
	size_t len;
	uint32_t u;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	fd = ctl_connect(path, err, errsize);
	if (fd < 0)
		return fd;
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_STATUS);
	baton_msg_end(&w, &len);
	rc = ctl_send(fd, buf, len);
	if (rc < 0) {
		snprintf(err, errsize, "sending to %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	rc = ctl_recv(fd, buf, &m, 5000, err, errsize);
	close(fd);
	if (rc < 0)
		return rc;
	if (m.type != BATON_MSG_STATUS_REPLY) {
		snprintf(err, errsize, "a %s message instead of the status", baton_msg_type_name(m.type));
		return -EPROTO;
	}
	baton_msg_get_str(&m, BATON_TAG_PROGRAM, s->program, sizeof(s->program));
	baton_msg_get_str(&m, BATON_TAG_RELEASE, s->release, sizeof(s->release));
	if (baton_msg_get(&m, BATON_TAG_BUILD_ID, &it) == 0) {
		s->build_id.len = it.len;
		memcpy(s->build_id.b, it.value, it.len);
	}
	baton_msg_get_u32(&m, BATON_TAG_PID, &u);
	s->pid = (int)u;
	baton_msg_get_u64(&m, BATON_TAG_GENERATION, &s->generation);
	baton_msg_get_u32(&m, BATON_TAG_RESTORED, &u);
	s->restored = u != 0;
	baton_msg_get_str(&m, BATON_TAG_WRITER_PROGRAM, s->writer_program, sizeof(s->writer_program));
	baton_msg_get_str(&m, BATON_TAG_WRITER_RELEASE, s->writer_release, sizeof(s->writer_release));
	if (baton_msg_get(&m, BATON_TAG_WRITER_BUILD_ID, &it) == 0) {
		s->writer_build_id.len = it.len;
		memcpy(s->writer_build_id.b, it.value, it.len);
	}
	baton_msg_get_u64(&m, BATON_TAG_WRITER_GENERATION, &s->writer_generation);
	baton_msg_get_u64(&m, BATON_TAG_FROZEN_AT_NS, &s->frozen_at_ns);
	baton_msg_get_u64(&m, BATON_TAG_RESTORED_AT_NS, &s->restored_at_ns);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* baton upgrade                                                            */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: baton upgrade [--json] [--timeout MS] [--exec] TARGET NEW_PROGRAM [-- ARGS...]\n"
		"\n"
		"Upgrades the running program at TARGET (its control socket, or its pid) to\n"
		"NEW_PROGRAM, live: pre-flight check, freeze, handoff, restore, commit. The\n"
		"program keeps serving unchanged if anything is refused or fails.\n"
		"\n"
		"  --json        one JSON object on stdout\n"
		"  --timeout MS  deadline of each handoff step (default: the program's)\n"
		"  --exec        replace the process in place (same pid) instead of a successor\n"
		"  -- ARGS       the new program's arguments (default: the running ones)\n"
		"\n"
		"Exit status: 0 the new release serves, 1 refused or rolled back,\n"
		"2 usage or connection error.\n");
}

static void print_finding(uint16_t rule, const char *text)
{
	const char *name = rule ? baton_rule_name(rule) : NULL;

	if (name && !(strncmp(text, name, strlen(name)) == 0 && text[strlen(name)] == ':'))
		printf("%s: %s\n", name, text);
	else
		printf("%s\n", text);
}

int cmd_upgrade(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "exec", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t buf[BATON_MSG_MAX];
	char path[PATH_MAX], program[PATH_MAX], err[1024];
	struct ctl_status before, after;
	struct baton_msg_writer w;
	struct json_object *j = NULL, *jsteps = NULL, *jfind = NULL, *jreasons = NULL;
	bool json = false, exec_ = false, have_before;
	unsigned long timeout = 0;
	int c, fd, rc, i, wait_ms, status = 0, ret = BATON_EXIT_FINDINGS;
	size_t len;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+jt:eh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't': {
			char *end;

			timeout = strtoul(optarg, &end, 10);
			if (*end || !timeout || timeout > 3600000) {
				fprintf(stderr, "baton upgrade: --timeout %s: milliseconds, 1 to 3600000\n",
					optarg);
				return BATON_EXIT_USAGE;
			}
			break;
		}
		case 'e':
			exec_ = true;
			break;
		case 'h':
			usage(stdout);
			return BATON_EXIT_OK;
		default:
			usage(stderr);
			return BATON_EXIT_USAGE;
		}
	}
	if (argc - optind < 2 || (argc - optind > 2 && strcmp(argv[optind + 2], "--") != 0)) {
		usage(stderr);
		return BATON_EXIT_USAGE;
	}
	if (ctl_resolve(argv[optind], path, sizeof(path), err, sizeof(err)) < 0) {
		fprintf(stderr, "baton upgrade: %s\n", err);
		return BATON_EXIT_USAGE;
	}
	/* The program runs elsewhere (another cwd): give it an absolute path. */
	if (!realpath(argv[optind + 1], program) || access(program, X_OK) < 0) {
		fprintf(stderr, "baton upgrade: %s: %s\n", argv[optind + 1],
			errno ? strerror(errno) : "not executable");
		return BATON_EXIT_USAGE;
	}
	have_before = ctl_status(path, &before, err, sizeof(err)) == 0;
	if (!have_before) {
		fprintf(stderr, "baton upgrade: %s\n", err);
		return BATON_EXIT_USAGE;
	}
	fd = ctl_connect(path, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "baton upgrade: %s\n", err);
		return BATON_EXIT_USAGE;
	}
	baton_msg_begin(&w, buf, sizeof(buf), BATON_MSG_UPGRADE);
	baton_msg_put_str(&w, BATON_TAG_PROGRAM, program);
	if (argc - optind > 2) {
		baton_msg_put_str(&w, BATON_TAG_ARG, program);
		for (i = optind + 3; i < argc; i++)
			baton_msg_put_str(&w, BATON_TAG_ARG, argv[i]);
	}
	baton_msg_put_u32(&w, BATON_TAG_TRANSPORT, exec_ ? BATON_TRANSPORT_EXEC : BATON_TRANSPORT_SUCCESSOR);
	if (timeout)
		baton_msg_put_u32(&w, BATON_TAG_TIMEOUT_MS, (uint32_t)timeout);
	rc = baton_msg_end(&w, &len);
	if (rc < 0) {
		fprintf(stderr, "baton upgrade: the request does not fit in a message: %s\n",
			strerror(-rc));
		close(fd);
		return BATON_EXIT_USAGE;
	}
	if (ctl_send(fd, buf, len) < 0) {
		fprintf(stderr, "baton upgrade: sending the request to %s: %s\n", path, strerror(errno));
		close(fd);
		return BATON_EXIT_USAGE;
	}
	if (json) {
		j = json_object_new_object();
		jsteps = json_object_new_array();
		jfind = json_object_new_array();
		jreasons = json_object_new_array();
		json_object_object_add(j, "target", json_object_new_string(path));
		json_object_object_add(j, "program", json_object_new_string(before.program));
		json_object_object_add(j, "from", json_object_new_string(before.release));
		json_object_object_add(j, "pid", json_object_new_int(before.pid));
		json_object_object_add(j, "new_program", json_object_new_string(program));
		json_object_object_add(j, "transport", json_object_new_string(exec_ ? "exec" : "successor"));
	} else {
		printf("upgrading %s %s (pid %d, generation %llu) at %s to %s%s\n", before.program,
		       before.release, before.pid, (unsigned long long)before.generation, path, program,
		       exec_ ? " (exec in place)" : "");
		fflush(stdout);
	}

	/* Every step can take the deadline; the pre-flight and a spawn add some. */
	wait_ms = (int)((timeout ? timeout : 30000) * 4 + 10000);
	for (;;) {
		struct baton_msg m;
		struct baton_msg_item it;
		size_t pos = 0;
		char text[BATON_MSG_TEXT_MAX + 1];
		uint64_t ns = 0, downtime = 0;
		uint32_t u = 0;

		rc = ctl_recv(fd, buf, &m, wait_ms, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "baton upgrade: %s; the outcome is unknown: ask `baton status %s`\n",
				err, path);
			close(fd);
			if (j)
				json_object_put(j);
			return BATON_EXIT_USAGE;
		}
		if (m.type == BATON_MSG_STEP) {
			baton_msg_get_str(&m, BATON_TAG_STEP, text, sizeof(text));
			baton_msg_get_u64(&m, BATON_TAG_DURATION_NS, &ns);
			if (j) {
				struct json_object *s = json_object_new_object();

				json_object_object_add(s, "name", json_object_new_string(text));
				json_object_object_add(s, "ms", json_object_new_double(ns / 1e6));
				json_object_array_add(jsteps, s);
			} else {
				printf("  %-14s %10.3f ms\n", text, ns / 1e6);
				fflush(stdout);
			}
			continue;
		}
		if (m.type != BATON_MSG_RESULT) {
			fprintf(stderr, "baton upgrade: unexpected %s message from the program\n",
				baton_msg_type_name(m.type));
			close(fd);
			if (j)
				json_object_put(j);
			return BATON_EXIT_USAGE;
		}
		baton_msg_get_i32(&m, BATON_TAG_STATUS, &status);
		baton_msg_get_u64(&m, BATON_TAG_DOWNTIME_NS, &downtime);
		baton_msg_get_u32(&m, BATON_TAG_ROLLED_BACK, &u);
		if (j) {
			json_object_object_add(j, "steps", jsteps);
			json_object_object_add(j, "ok", json_object_new_boolean(status == 0));
			json_object_object_add(j, "rolled_back", json_object_new_boolean(u != 0));
			if (downtime)
				json_object_object_add(j, "downtime_ms", json_object_new_double(downtime / 1e6));
			if (status)
				json_object_object_add(j, "error", json_object_new_string(strerror(-status)));
		} else if (status == 0) {
			printf("downtime %.3f ms\n", downtime / 1e6);
		} else {
			printf("refused%s: %s %s (pid %d) goes on serving with its state unchanged\n",
			       u ? " and rolled back" : "", before.program, before.release, before.pid);
		}
		while (baton_msg_next(&m, &pos, &it) > 0) {
			uint16_t rule = 0;

			if (it.tag == BATON_TAG_REASON)
				baton_msg_item_str(&it, text, sizeof(text));
			else if (it.tag == BATON_TAG_FINDING)
				baton_msg_item_finding(&it, &rule, text, sizeof(text));
			else
				continue;
			if (j && rule) {
				struct json_object *f = json_object_new_object();
				const char *name = baton_rule_name(rule);

				json_object_object_add(f, "rule", json_object_new_string(name ? name : "?"));
				json_object_object_add(f, "message", json_object_new_string(text));
				json_object_array_add(jfind, f);
			} else if (j) {
				json_object_array_add(jreasons, json_object_new_string(text));
			} else {
				print_finding(rule, text);
			}
		}
		break;
	}
	close(fd);
	if (status == 0) {
		/* The control socket went with everything else: ask the new release. */
		rc = ctl_status(path, &after, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "baton upgrade: committed, but the new release does not answer: %s\n",
				err);
			ret = BATON_EXIT_USAGE;
		} else {
			ret = BATON_EXIT_OK;
			if (j) {
				struct json_object *s = json_object_new_object();

				json_object_object_add(s, "program", json_object_new_string(after.program));
				json_object_object_add(s, "release", json_object_new_string(after.release));
				json_object_object_add(s, "pid", json_object_new_int(after.pid));
				json_object_object_add(s, "generation",
						       json_object_new_int64((int64_t)after.generation));
				json_object_object_add(j, "serving", s);
			} else {
				printf("serving: %s %s, pid %d, generation %llu (state from %s %s, generation %llu)\n",
				       after.program, after.release, after.pid,
				       (unsigned long long)after.generation, after.writer_program,
				       after.writer_release, (unsigned long long)after.writer_generation);
			}
		}
	} else if (status == -ETIMEDOUT || status == -EBUSY) {
		ret = BATON_EXIT_FINDINGS;
	}
	if (j) {
		json_object_object_add(j, "findings", jfind);
		json_object_object_add(j, "reasons", jreasons);
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	}
	return ret;
}
