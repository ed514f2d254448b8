/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd main — options and start
 *
 * Takes memcached's usual options. A successor started by baton gets the
 * same arguments as its predecessor; the state it adopts wins over them
 * where they disagree (the cache keeps its size), which it says in a
 * warning.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "handover.h"
#include "kvd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvd [OPTIONS]\n"
		"A memcached text-protocol cache that upgrades live with baton (release " KVD_RELEASE ").\n"
		"\n"
		"  -p, --port=PORT            TCP port to listen on (default: 11211)\n"
		"  -l, --listen=ADDR[,ADDR]   addresses to listen on (default: 127.0.0.1 and ::1)\n"
		"  -m, --memory-limit=MB      item memory in megabytes (default: 64)\n"
		"  -c, --conn-limit=N         max simultaneous connections (default: 1024)\n"
		"  -I, --max-item-size=SIZE   largest item, with k or m suffix (default: 1m)\n"
		"  -v, --verbose              more messages; -vv for a line per connection\n"
		"      --control=PATH         the control socket `baton upgrade PATH NEW` talks to\n"
		"      --dry-run=IMAGE        restore a golden image (`baton save`) without serving,\n"
		"                             check it and exit (BATON_DRY_RUN_IMAGE does the same)\n"
		"      --verify=FILE          in a dry run, also check the cache against FILE, the\n"
		"                             expectations written with the golden image\n"
		"Exit status of a dry run: 0 restored and checked, 1 refused (path or binding),\n"
		"2 the image is unreadable or damaged, 3 a step or restore failed, 4 a check failed.\n"
		"  -V, --version              print the release and exit\n"
		"  -h, --help                 this text\n");
}

static int parse_size(const char *s, uint64_t unit, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': unit = 1ull << 10; end++; break;
	case 'm': case 'M': unit = 1ull << 20; end++; break;
	case 'g': case 'G': unit = 1ull << 30; end++; break;
	default: break;
	}
	if (*end || v > UINT64_MAX / unit)
		return -EINVAL;
	*out = v * unit;
	return 0;
}

static int parse_args(struct kvd_settings *set, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "conn-limit", required_argument, NULL, 'c' },
		{ "max-item-size", required_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "control", required_argument, NULL, 'C' },
		{ "dry-run", required_argument, NULL, 'D' },
		{ "verify", required_argument, NULL, 'E' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	uint64_t v;

	set->port = 11211;
	set->limit = 64ull << 20;
	set->maxconns = 1024;
	set->item_size_max = 1ull << 20;
	while ((o = getopt_long(argc, argv, "p:l:m:c:I:vVh", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			if (parse_size(optarg, 1, &v) < 0 || v > 65535)
				goto bad;
			set->port = (uint16_t)v;
			break;
		case 'l':
			if (strlen(optarg) >= sizeof(set->listen))
				goto bad;
			snprintf(set->listen, sizeof(set->listen), "%s", optarg);
			break;
		case 'm':
			if (parse_size(optarg, 1ull << 20, &v) < 0 || v == 0)
				goto bad;
			set->limit = v;
			break;
		case 'c':
			if (parse_size(optarg, 1, &v) < 0 || v == 0 || v > 1000000)
				goto bad;
			set->maxconns = (uint32_t)v;
			break;
		case 'I':
			if (parse_size(optarg, 1, &v) < 0 || v < 1024 || v > (256u << 20)) {
				fprintf(stderr, "kvd: -I wants 1k to 256m\n");
				return 2;
			}
			set->item_size_max = v;
			break;
		case 'v':
			set->verbose++;
			break;
		case 'C':
			set->control = optarg;
			break;
		case 'D':
			/* the runtime reads it in baton_rt_start() */
			if (setenv("BATON_DRY_RUN_IMAGE", optarg, 1) < 0)
				goto bad;
			break;
		case 'E':
			set->verify = optarg;
			break;
		case 'V':
			printf("kvd " KVD_RELEASE "\n");
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (set->verify && !(getenv("BATON_DRY_RUN_IMAGE") && *getenv("BATON_DRY_RUN_IMAGE"))) {
		fprintf(stderr, "kvd: --verify checks a dry run: give --dry-run IMAGE too\n");
		return 2;
	}
	if (set->item_size_max * 2 > set->limit) {
		fprintf(stderr, "kvd: -I must be at most half of -m\n");
		return 2;
	}
	return 0;
bad:
	fprintf(stderr, "kvd: bad value '%s' for -%c\n", optarg, o == 'C' ? '-' : o);
	usage(stderr);
	return 2;
}

/* Room for every client, the listeners and what baton needs. */
static void raise_fd_limit(uint32_t maxconns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)maxconns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct kvd_server srv;
	int rc;

	rc = parse_args(&srv.set, argc, argv);
	if (rc)
		return rc == 1 ? 0 : 2;
	kvd_srv = &srv;
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(srv.set.maxconns);
	srv.started_at = srv.st.now = kvd_now();
	srv.next_conn_id = 1;
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv.epfd < 0) {
		perror("kvd: epoll_create1");
		return 1;
	}
	rc = kvd_handover_start(&srv, argc, argv);
	if (rc == KVD_DRY_RUN) {
		rc = kvd_handover_dry_status(&srv);
		kvd_handover_free(&srv);
		return rc;
	}
	if (rc < 0)
		return 1;
	rc = kvd_serve(&srv);
	if (rc == KVD_COMMITTED) {
		/*
		 * The successor serves with the same sockets and region: leave
		 * them as they are (no shutdown, no munmap, no flush) and go.
		 */
		kvd_log(6, "handed over to the next release; exiting");
		_exit(0);
	}
	while (srv.conns)
		kvd_conn_close(&srv, srv.conns);
	kvd_handover_free(&srv);
	return rc < 0 ? 1 : 0;
}
