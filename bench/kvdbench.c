/* SPDX-License-Identifier: MIT */
/*
 * kvdbench — the fast half of the downtime benchmark (bench/run drives it)
 *
 * Subcommands, each talking to one server on 127.0.0.1:PORT in memcached's
 * text protocol (kvd, memcached) or in RESP (redis):
 *
 *   load      pipelined sets of COUNT keys (memcached: noreply; redis: RESP
 *             pipelining, replies read as they come)
 *   verify    a random sample of keys, every value compared byte for byte
 *   waitget   from now until a get of one known key answers with the right
 *             value: retries refused connections and redis's LOADING; prints
 *             the CLOCK_MONOTONIC time of that first good answer
 *   probe     two clients until stdin closes: one get after another on one
 *             connection that stays open, and a new connection per get; prints
 *             every gap between good answers longer than --gap-us
 *   loadgen   steady load: N connections, each with one get or set in flight,
 *             latency histograms per phase (phases are named on stdin)
 *
 * Key i is "k%010u"; its value is SIZE bytes from a PRNG seeded by (seed, i),
 * so anyone can regenerate it and values do not compress. Every time printed
 * is CLOCK_MONOTONIC in nanoseconds, the clock bench/run and kvd -vv use.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>

#define KEY_FMT "k%010" PRIu64
#define KEY_LEN 11
#define MAX_VALUE (1u << 20)

enum proto { MC, REDIS };

struct opts {
	enum proto proto;
	int port;
	uint64_t count;      /* keys 0..count-1 */
	uint64_t first;      /* load: first key */
	uint64_t seed;
	uint32_t size;       /* value size */
	uint64_t sample;     /* verify: how many keys */
	uint64_t sample_seed;
	uint64_t index;      /* waitget, probe: the known key */
	uint32_t interval_us;
	uint32_t timeout_ms;
	uint32_t gap_us;
	uint32_t conns;
	uint32_t set_pct;
};

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "kvdbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint32_t us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------------ */
/* Keys and values                                                          */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

struct rng {
	uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

/* xoshiro256** */
static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

static void value_for(uint64_t seed, uint64_t i, uint8_t *out, uint32_t n)
{
	struct rng r;
	uint32_t k = 0;

	rng_seed(&r, seed ^ (i * 0xd1b54a32d192ed03ull));
	for (; k + 8 <= n; k += 8) {
		uint64_t v = rng_next(&r);

		memcpy(out + k, &v, 8);
	}
	if (k < n) {
		uint64_t v = rng_next(&r);

		memcpy(out + k, &v, n - k);
	}
}

static int key_for(uint64_t i, char *out)
{
	return sprintf(out, KEY_FMT, i);
}

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */

static int tcp_connect(int port, bool quiet)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		if (!quiet)
			die("connect to port %d: %s", port, strerror(e));
		errno = e;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void set_timeout(int fd, uint32_t ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Closes with a reset: a probe that connects thousands of times must not
 * leave thousands of sockets in TIME_WAIT. */
static void close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A blocking buffered reader. */
struct rbuf {
	int fd;
	char *buf;
	size_t cap, pos, end;
};

static void rb_init(struct rbuf *rb, int fd, size_t cap)
{
	rb->fd = fd;
	rb->cap = cap;
	rb->pos = rb->end = 0;
	rb->buf = malloc(cap);
	if (!rb->buf)
		die("out of memory");
}

static void rb_free(struct rbuf *rb)
{
	free(rb->buf);
	rb->buf = NULL;
}

/* Reads more; -1 with errno set (0 for end of stream) on failure. */
static int rb_fill(struct rbuf *rb)
{
	ssize_t r;

	if (rb->pos == rb->end)
		rb->pos = rb->end = 0;
	if (rb->end == rb->cap) {
		if (rb->pos == 0) {
			errno = EMSGSIZE;
			return -1;
		}
		memmove(rb->buf, rb->buf + rb->pos, rb->end - rb->pos);
		rb->end -= rb->pos;
		rb->pos = 0;
	}
	do
		r = read(rb->fd, rb->buf + rb->end, rb->cap - rb->end);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r == 0)
			errno = 0;
		return -1;
	}
	rb->end += (size_t)r;
	return 0;
}

/* One line without its "\r\n" (NUL-terminated in place), or NULL. */
static char *rb_line(struct rbuf *rb, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		char *s = rb->buf + rb->pos;
		char *nl = memchr(s + scanned, '\n', rb->end - rb->pos - scanned);

		if (nl) {
			size_t n = (size_t)(nl - s);

			rb->pos += n + 1;
			if (n && s[n - 1] == '\r')
				n--;
			s[n] = 0;
			if (len)
				*len = n;
			return s;
		}
		scanned = rb->end - rb->pos;
		if (rb_fill(rb) < 0)
			return NULL;
	}
}

/* n bytes, or NULL. */
static char *rb_bytes(struct rbuf *rb, size_t n)
{
	char *s;

	while (rb->end - rb->pos < n)
		if (rb_fill(rb) < 0)
			return NULL;
	s = rb->buf + rb->pos;
	rb->pos += n;
	return s;
}

/* ------------------------------------------------------------------------ */
/* load                                                                     */

struct outbuf {
	char *buf;
	size_t cap, len, off;
};

static void ob_put(struct outbuf *o, const void *p, size_t n)
{
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* Appends one set of key i to o. */
static void put_set(struct outbuf *o, const struct opts *op, uint64_t i)
{
	char key[32], head[96];
	int kn = key_for(i, key), hn;

	if (op->proto == MC) {
		hn = sprintf(head, "set %s 0 0 %u noreply\r\n", key, op->size);
		ob_put(o, head, (size_t)hn);
	} else {
		hn = sprintf(head, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%u\r\n", kn, key, op->size);
		ob_put(o, head, (size_t)hn);
	}
	value_for(op->seed, i, (uint8_t *)o->buf + o->len, op->size);
	o->len += op->size;
	ob_put(o, "\r\n", 2);
}

/*
 * Writes as fast as the server reads, and reads its replies meanwhile so
 * that neither side blocks the other: redis answers every SET; memcached's
 * noreply sets answer nothing unless something goes wrong, and the final
 * "version" tells when the server has read everything.
 */
static int cmd_load(const struct opts *op)
{
	uint64_t next = op->first, last = op->first + op->count, replies = 0, errors = 0;
	uint64_t want = op->proto == MC ? 1 : op->count, t0 = now_ns(), t1;
	struct outbuf o = { .cap = 4u << 20 };
	char *in, carry_first[256] = "";
	size_t inlen = 0, incap = 1u << 20;
	bool sent_version = op->proto != MC, done = false;
	int fd = tcp_connect(op->port, false);
	int fl = fcntl(fd, F_GETFL);

	if (op->size > MAX_VALUE)
		die("value size %u is above %u", op->size, MAX_VALUE);
	o.buf = malloc(o.cap);
	in = malloc(incap);
	if (!o.buf || !in)
		die("out of memory");
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (!done) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		bool more = o.off < o.len || next < last || !sent_version;

		if (more)
			p.events |= POLLOUT;
		if (poll(&p, 1, 60000) <= 0)
			die("load: the server stopped reading or answering (%" PRIu64 " of %" PRIu64
			    " replies)", replies, want);
		if (p.revents & (POLLERR | POLLHUP) && !(p.revents & POLLIN))
			die("load: connection lost after %" PRIu64 " keys", next - op->first);
		if (p.revents & POLLOUT) {
			if (o.off == o.len) {
				o.off = o.len = 0;
				while (next < last && o.len + op->size + 128 <= o.cap)
					put_set(&o, op, next++);
				if (next == last && !sent_version && o.len + 16 <= o.cap) {
					ob_put(&o, "version\r\n", 9);
					sent_version = true;
				}
			}
			while (o.off < o.len) {
				ssize_t w = write(fd, o.buf + o.off, o.len - o.off);

				if (w < 0) {
					if (errno == EAGAIN || errno == EINTR)
						break;
					die("load: write: %s", strerror(errno));
				}
				o.off += (size_t)w;
			}
		}
		if (p.revents & POLLIN) {
			ssize_t r = read(fd, in + inlen, incap - inlen);
			size_t start = 0;

			if (r == 0)
				die("load: the server closed the connection");
			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				die("load: read: %s", strerror(errno));
			}
			inlen += (size_t)r;
			for (;;) {
				char *nl = memchr(in + start, '\n', inlen - start);
				size_t n;

				if (!nl)
					break;
				n = (size_t)(nl - (in + start)) + 1;
				if (op->proto == REDIS && in[start] == '+') {
					replies++;
				} else if (op->proto == MC && n >= 8 && !memcmp(in + start, "VERSION ", 8)) {
					replies++;
				} else {
					if (!errors++)
						snprintf(carry_first, sizeof(carry_first), "%.*s",
							 (int)(n > 200 ? 200 : n - 1), in + start);
					if (op->proto == REDIS)
						replies++;
				}
				start += n;
			}
			memmove(in, in + start, inlen - start);
			inlen -= start;
			if (inlen == incap)
				die("load: an answer line longer than %zu bytes", incap);
			if (replies >= want && next == last && o.off == o.len)
				done = true;
		}
	}
	t1 = now_ns();
	printf("loaded %" PRIu64 " keys of %u bytes in %.3f s (%.1f MiB/s), %" PRIu64 " errors%s%s\n",
	       op->count, op->size, (t1 - t0) / 1e9,
	       (double)op->count * op->size / (1 << 20) / ((t1 - t0) / 1e9), errors,
	       errors ? ", first: " : "", carry_first);
	free(o.buf);
	free(in);
	close(fd);
	return errors ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* One get, blocking                                                        */

enum get_result { GET_OK, GET_MISS, GET_WRONG, GET_LOADING, GET_ERROR, GET_IO };

static void send_get(int fd, enum proto proto, uint64_t i, char *buf, size_t *n)
{
	char key[32];
	int kn = key_for(i, key);

	if (proto == MC)
		*n = (size_t)sprintf(buf, "get %s\r\n", key);
	else
		*n = (size_t)sprintf(buf, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kn, key);
	(void)fd;
}

/*
 * Reads the answer to one get of key i and checks its value against want
 * (size bytes). For memcached's multi-key answers see verify.
 */
static enum get_result read_get(struct rbuf *rb, enum proto proto, const uint8_t *want,
				uint32_t size)
{
	size_t n;
	char *l = rb_line(rb, &n), *v;

	if (!l)
		return GET_IO;
	if (proto == REDIS) {
		unsigned long len;

		if (l[0] == '-')
			return strncmp(l, "-LOADING", 8) == 0 ? GET_LOADING : GET_ERROR;
		if (l[0] != '$')
			return GET_ERROR;
		if (!strcmp(l, "$-1"))
			return GET_MISS;
		len = strtoul(l + 1, NULL, 10);
		v = rb_bytes(rb, len + 2);
		if (!v)
			return GET_IO;
		return len == size && !memcmp(v, want, size) ? GET_OK : GET_WRONG;
	}
	if (!strcmp(l, "END"))
		return GET_MISS;
	if (strncmp(l, "VALUE ", 6) != 0)
		return GET_ERROR;
	{
		char *sp = strrchr(l, ' ');
		unsigned long len = sp ? strtoul(sp + 1, NULL, 10) : 0;
		bool ok;

		v = rb_bytes(rb, len + 2);
		if (!v)
			return GET_IO;
		ok = len == size && !memcmp(v, want, size);
		l = rb_line(rb, &n);
		if (!l)
			return GET_IO;
		if (strcmp(l, "END") != 0)
			return GET_ERROR;
		return ok ? GET_OK : GET_WRONG;
	}
}

/* ------------------------------------------------------------------------ */
/* verify                                                                   */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A sorted sample of distinct keys, the same for the same seed. */
static uint64_t *pick_sample(uint64_t count, uint64_t want, uint64_t seed, uint64_t *got)
{
	uint64_t *s, n = 0;
	struct rng r;

	if (want > count)
		want = count;
	s = malloc((want ? want : 1) * sizeof(*s));
	if (!s)
		die("out of memory");
	if (want == count) {
		for (uint64_t i = 0; i < count; i++)
			s[i] = i;
		*got = count;
		return s;
	}
	rng_seed(&r, seed);
	while (n < want) {
		uint64_t j = 0, k;

		for (k = n; k < want; k++)
			s[k] = rng_below(&r, count);
		qsort(s, want, sizeof(*s), cmp_u64);
		for (k = 0; k < want; k++)
			if (k == 0 || s[k] != s[j - 1])
				s[j++] = s[k];
		n = j;
	}
	*got = n;
	return s;
}

static int cmd_verify(const struct opts *op)
{
	const uint32_t batch = 100;
	uint64_t n, ok = 0, missing = 0, wrong = 0, errors = 0, t0 = now_ns();
	uint64_t *keys = pick_sample(op->count, op->sample, op->sample_seed, &n);
	uint8_t *want = malloc(op->size + 8);
	char *req = malloc(batch * 64 + 16);
	struct rbuf rb;
	int fd = tcp_connect(op->port, false);

	if (!want || !req)
		die("out of memory");
	set_timeout(fd, 60000);
	rb_init(&rb, fd, 4u << 20);
	for (uint64_t b = 0; b < n; b += batch) {
		uint64_t e = b + batch < n ? b + batch : n;
		size_t len = 0;

		if (op->proto == MC) {
			len += (size_t)sprintf(req, "get");
			for (uint64_t k = b; k < e; k++) {
				req[len++] = ' ';
				len += (size_t)key_for(keys[k], req + len);
			}
			len += (size_t)sprintf(req + len, "\r\n");
		} else {
			for (uint64_t k = b; k < e; k++) {
				size_t m;

				send_get(fd, REDIS, keys[k], req + len, &m);
				len += m;
			}
		}
		if (write_all(fd, req, len) < 0)
			die("verify: write: %s", strerror(errno));
		if (op->proto == REDIS) {
			for (uint64_t k = b; k < e; k++) {
				value_for(op->seed, keys[k], want, op->size);
				switch (read_get(&rb, REDIS, want, op->size)) {
				case GET_OK: ok++; break;
				case GET_MISS: missing++; break;
				case GET_WRONG: wrong++; break;
				case GET_IO: die("verify: connection lost: %s", strerror(errno));
				default: errors++; break;
				}
			}
			continue;
		}
		/* memcached: VALUE lines in request order, misses left out, then END */
		for (uint64_t k = b;;) {
			size_t ln;
			char *l = rb_line(&rb, &ln), *sp, *v;
			char key[32];
			unsigned long len2;

			if (!l)
				die("verify: connection lost: %s", strerror(errno));
			if (!strcmp(l, "END")) {
				missing += e - k;
				break;
			}
			if (strncmp(l, "VALUE ", 6) != 0) {
				errors++;
				fprintf(stderr, "verify: unexpected answer: %.100s\n", l);
				break;
			}
			sp = strchr(l + 6, ' ');
			if (sp)
				*sp = 0;
			while (k < e) {
				key_for(keys[k], key);
				if (!strcmp(key, l + 6))
					break;
				missing++;
				k++;
			}
			sp = strrchr(sp ? sp + 1 : l, ' ');
			len2 = sp ? strtoul(sp + 1, NULL, 10) : 0;
			v = rb_bytes(&rb, len2 + 2);
			if (!v)
				die("verify: connection lost: %s", strerror(errno));
			if (k == e) {
				errors++;
				continue;
			}
			value_for(op->seed, keys[k], want, op->size);
			if (len2 == op->size && !memcmp(v, want, op->size))
				ok++;
			else
				wrong++;
			k++;
		}
	}
	printf("verified %" PRIu64 " keys in %.3f s: %" PRIu64 " right, %" PRIu64 " missing, %" PRIu64
	       " wrong, %" PRIu64 " errors\n", n, (now_ns() - t0) / 1e9, ok, missing, wrong, errors);
	rb_free(&rb);
	close(fd);
	free(keys);
	free(want);
	free(req);
	return ok == n ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* waitget                                                                  */

/*
 * From now until one get of key --index answers with its value: connects
 * again and again while the port is closed, asks again while redis answers
 * LOADING. A miss or a wrong value ends the wait too: the key was lost.
 */
static int cmd_waitget(const struct opts *op)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)op->timeout_ms * 1000000ull;
	uint64_t refused = 0, loading = 0, resets = 0, first_conn = 0;
	uint8_t *want = malloc(op->size + 8);
	char req[128];
	size_t reqlen;
	const char *what = "timeout";
	int rc = 1;

	if (!want)
		die("out of memory");
	value_for(op->seed, op->index, want, op->size);
	while (now_ns() < deadline) {
		struct rbuf rb;
		int fd = tcp_connect(op->port, true);

		if (fd < 0) {
			refused++;
			sleep_us(op->interval_us);
			continue;
		}
		if (!first_conn)
			first_conn = now_ns();
		set_timeout(fd, op->timeout_ms);
		rb_init(&rb, fd, 1u << 20);
		send_get(fd, op->proto, op->index, req, &reqlen);
		for (;;) {
			enum get_result g;

			if (write_all(fd, req, reqlen) < 0) {
				g = GET_IO;
			} else {
				g = read_get(&rb, op->proto, want, op->size);
			}
			if (g == GET_LOADING) {
				loading++;
				sleep_us(op->interval_us);
				if (now_ns() >= deadline)
					break;
				continue;
			}
			if (g == GET_IO) {
				resets++;
				sleep_us(op->interval_us);
				break;
			}
			what = g == GET_OK ? "ok" : g == GET_MISS ? "miss" : g == GET_WRONG ? "wrong" : "error";
			rc = g == GET_OK ? 0 : 1;
			break;
		}
		rb_free(&rb);
		close(fd);
		if (strcmp(what, "timeout") != 0)
			break;
	}
	printf("%s at %" PRIu64 " started %" PRIu64 " first_connect %" PRIu64 " refused %" PRIu64
	       " loading %" PRIu64 " resets %" PRIu64 "\n",
	       what, now_ns(), t0, first_conn, refused, loading, resets);
	free(want);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* probe                                                                    */

static volatile sig_atomic_t stop_flag;

struct gap {
	uint64_t from, to;
};

struct prober {
	const struct opts *op;
	bool newconn;
	uint64_t answers, wrong, errors, drops, refused;
	uint64_t first, last;
	struct gap *gaps;
	size_t ngaps, capgaps;
	uint64_t gaps_dropped;
	uint64_t events[16];      /* times of drops and refusals, the first few */
	size_t nevents;
};

static void note_answer(struct prober *p, uint64_t t)
{
	if (p->last && t - p->last > (uint64_t)p->op->gap_us * 1000) {
		if (p->ngaps == p->capgaps) {
			size_t cap = p->capgaps ? p->capgaps * 2 : 1024;
			struct gap *g = cap <= (1u << 22) ? realloc(p->gaps, cap * sizeof(*g)) : NULL;

			if (g) {
				p->gaps = g;
				p->capgaps = cap;
			}
		}
		if (p->ngaps < p->capgaps)
			p->gaps[p->ngaps++] = (struct gap){ p->last, t };
		else
			p->gaps_dropped++;
	}
	if (!p->first)
		p->first = t;
	p->last = t;
	p->answers++;
}

static void note_event(struct prober *p, uint64_t t)
{
	if (p->nevents < sizeof(p->events) / sizeof(p->events[0]))
		p->events[p->nevents++] = t;
}

static void *probe_thread(void *arg)
{
	struct prober *p = arg;
	const struct opts *op = p->op;
	uint8_t *want = malloc(op->size + 8);
	char req[128];
	size_t reqlen;
	struct rbuf rb;
	int fd = -1;

	if (!want)
		die("out of memory");
	value_for(op->seed, op->index, want, op->size);
	send_get(-1, op->proto, op->index, req, &reqlen);
	rb_init(&rb, -1, 1u << 16);
	while (!stop_flag) {
		enum get_result g;

		if (fd < 0) {
			fd = tcp_connect(op->port, true);
			if (fd < 0) {
				p->refused++;
				note_event(p, now_ns());
				sleep_us(op->interval_us ? op->interval_us : 100);
				continue;
			}
			set_timeout(fd, 30000);
			rb.fd = fd;
			rb.pos = rb.end = 0;
		}
		if (write_all(fd, req, reqlen) < 0)
			g = GET_IO;
		else
			g = read_get(&rb, op->proto, want, op->size);
		if (g == GET_OK) {
			note_answer(p, now_ns());
		} else if (g == GET_IO) {
			p->drops++;
			note_event(p, now_ns());
			close(fd);
			fd = -1;
			continue;
		} else if (g == GET_WRONG || g == GET_MISS) {
			p->wrong++;
		} else {
			p->errors++;
		}
		if (p->newconn) {
			close_reset(fd);
			fd = -1;
			if (op->interval_us)
				sleep_us(op->interval_us);
		}
	}
	if (fd >= 0)
		close(fd);
	rb_free(&rb);
	free(want);
	return NULL;
}

static void print_prober(const char *name, const struct prober *p)
{
	printf("%s answers %" PRIu64 " wrong %" PRIu64 " errors %" PRIu64 " drops %" PRIu64
	       " refused %" PRIu64 " first %" PRIu64 " last %" PRIu64 " gaps %zu gaps_dropped %" PRIu64
	       "\n", name, p->answers, p->wrong, p->errors, p->drops, p->refused, p->first, p->last,
	       p->ngaps, p->gaps_dropped);
	for (size_t i = 0; i < p->ngaps; i++)
		printf("gap %s %" PRIu64 " %" PRIu64 "\n", name, p->gaps[i].from, p->gaps[i].to);
	for (size_t i = 0; i < p->nevents; i++)
		printf("event %s %" PRIu64 "\n", name, p->events[i]);
}

static int cmd_probe(const struct opts *op)
{
	struct prober a = { .op = op }, b = { .op = op, .newconn = true };
	pthread_t ta, tb;
	char line[256];

	if (pthread_create(&ta, NULL, probe_thread, &a) || pthread_create(&tb, NULL, probe_thread, &b))
		die("pthread_create failed");
	printf("probing\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	stop_flag = 1;
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	print_prober("open", &a);
	print_prober("new", &b);
	free(a.gaps);
	free(b.gaps);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* loadgen                                                                  */

/* Log-linear latency histogram: 32 sub-buckets per power of two, in ns. */
#define H_SUB 32
#define H_BUCKETS (64 + 58 * H_SUB)

struct hist {
	uint64_t n[H_BUCKETS];
	uint64_t count, max, max_at;
};

static unsigned h_index(uint64_t v)
{
	unsigned k;

	if (v < 64)
		return (unsigned)v;
	k = 63u - (unsigned)__builtin_clzll(v);
	return 64 + (k - 6) * H_SUB + (unsigned)((v >> (k - 5)) & (H_SUB - 1));
}

static uint64_t h_value(unsigned i)
{
	unsigned k;

	if (i < 64)
		return i;
	k = (i - 64) / H_SUB + 6;
	/* the middle of the bucket */
	return ((uint64_t)(H_SUB + (i - 64) % H_SUB) << (k - 5)) + (1ull << (k - 6));
}

static void h_add(struct hist *h, uint64_t v, uint64_t at)
{
	h->n[h_index(v)]++;
	h->count++;
	if (v > h->max) {
		h->max = v;
		h->max_at = at;
	}
}

static uint64_t h_pct(const struct hist *h, double pct)
{
	uint64_t want = (uint64_t)(pct / 100.0 * (double)h->count), seen = 0;

	if (!h->count)
		return 0;
	if (want >= h->count)
		want = h->count - 1;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		seen += h->n[i];
		if (seen > want)
			return h_value(i) < h->max ? h_value(i) : h->max;
	}
	return h->max;
}

struct phase {
	char name[32];
	uint64_t start, end;
	uint64_t failed, drops, gets, sets;
	struct hist h;
};

enum lg_kind { LG_GET, LG_SET };

struct lgconn {
	int fd;
	enum lg_kind kind;
	uint64_t key, sent;
	char *in;
	size_t inlen;
	bool busy;
};

struct loadgen {
	const struct opts *op;
	struct lgconn *c;
	struct phase *ph;
	size_t nph;
	struct rng r;
	int ep;
	uint8_t *want;
	char *out;
	uint64_t reconnects, reconnect_failures;
};

static struct phase *lg_phase(struct loadgen *g)
{
	return &g->ph[g->nph - 1];
}

static void lg_open(struct loadgen *g, struct lgconn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	c->fd = tcp_connect(g->op->port, true);
	c->busy = false;
	c->inlen = 0;
	if (c->fd < 0) {
		g->reconnect_failures++;
		return;
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void lg_drop(struct loadgen *g, struct lgconn *c)
{
	struct phase *ph = lg_phase(g);

	ph->drops++;
	if (c->busy)
		ph->failed++;
	epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	g->reconnects++;
	lg_open(g, c);
}

static void lg_send(struct loadgen *g, struct lgconn *c)
{
	const struct opts *op = g->op;
	char key[32];
	size_t n;

	if (c->fd < 0)
		return;
	c->key = rng_below(&g->r, op->count);
	c->kind = rng_below(&g->r, 100) < op->set_pct ? LG_SET : LG_GET;
	key_for(c->key, key);
	if (c->kind == LG_SET) {
		n = (size_t)sprintf(g->out, "set %s 0 0 %u\r\n", key, op->size);
		value_for(op->seed, c->key, (uint8_t *)g->out + n, op->size);
		n += op->size;
		memcpy(g->out + n, "\r\n", 2);
		n += 2;
	} else {
		n = (size_t)sprintf(g->out, "get %s\r\n", key);
	}
	c->sent = now_ns();
	c->busy = true;
	/* One small request on an idle connection: the socket buffer takes it. */
	if (write_all(c->fd, g->out, n) < 0 && errno != EAGAIN)
		lg_drop(g, c);
}

/* 1: a whole answer parsed (ok says whether it is right), 0: need more. */
static int lg_parse(struct loadgen *g, struct lgconn *c, bool *ok)
{
	const struct opts *op = g->op;
	char *nl = memchr(c->in, '\n', c->inlen);
	size_t used;

	if (!nl)
		return 0;
	if (c->kind == LG_SET) {
		*ok = nl - c->in == 7 && !memcmp(c->in, "STORED\r", 7);
		used = (size_t)(nl - c->in) + 1;
	} else if (nl - c->in == 4 && !memcmp(c->in, "END\r", 4)) {
		*ok = false;  /* every key was loaded: a miss is a lost key */
		used = 5;
	} else if (!memcmp(c->in, "VALUE ", 6)) {
		size_t head = (size_t)(nl - c->in) + 1;

		if (c->inlen < head + op->size + 2 + 5)
			return 0;
		value_for(op->seed, c->key, g->want, op->size);
		*ok = !memcmp(c->in + head, g->want, op->size) &&
		      !memcmp(c->in + head + op->size, "\r\nEND\r\n", 7);
		used = head + op->size + 7;
	} else {
		*ok = false;
		used = (size_t)(nl - c->in) + 1;
	}
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	return 1;
}

static int cmd_loadgen(const struct opts *op)
{
	struct loadgen g = { .op = op };
	struct epoll_event evs[64], ev = { .events = EPOLLIN, .data.ptr = NULL };
	size_t incap = op->size + 512, cap_ph = 16;
	bool running = true;
	char line[256];
	size_t linelen = 0;

	g.c = calloc(op->conns, sizeof(*g.c));
	g.ph = calloc(cap_ph, sizeof(*g.ph));
	g.want = malloc(op->size + 8);
	g.out = malloc(op->size + 512);
	if (!g.c || !g.ph || !g.want || !g.out)
		die("out of memory");
	rng_seed(&g.r, op->sample_seed);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0 || epoll_ctl(g.ep, EPOLL_CTL_ADD, 0, &ev) < 0)
		die("epoll on stdin: %s", strerror(errno));
	g.nph = 1;
	snprintf(g.ph[0].name, sizeof(g.ph[0].name), "start");
	g.ph[0].start = now_ns();
	for (uint32_t i = 0; i < op->conns; i++) {
		g.c[i].in = malloc(incap);
		if (!g.c[i].in)
			die("out of memory");
		lg_open(&g, &g.c[i]);
		if (g.c[i].fd < 0)
			die("loadgen: cannot connect to port %d", op->port);
	}
	printf("running\n");
	fflush(stdout);
	for (uint32_t i = 0; i < op->conns; i++)
		lg_send(&g, &g.c[i]);
	while (running) {
		int n = epoll_wait(g.ep, evs, 64, 1000);

		for (int e = 0; e < n; e++) {
			struct lgconn *c = evs[e].data.ptr;
			ssize_t r;

			if (!c) {
				/* stdin: "phase NAME" or end of input */
				r = read(0, line + linelen, sizeof(line) - 1 - linelen);
				if (r <= 0) {
					running = false;
					break;
				}
				linelen += (size_t)r;
				line[linelen] = 0;
				for (char *nl; (nl = strchr(line, '\n'));) {
					*nl = 0;
					if (!strncmp(line, "phase ", 6)) {
						uint64_t t = now_ns();

						if (g.nph == cap_ph) {
							struct phase *p2 = realloc(g.ph, 2 * cap_ph * sizeof(*p2));

							if (!p2)
								die("out of memory");
							memset(p2 + cap_ph, 0, cap_ph * sizeof(*p2));
							g.ph = p2;
							cap_ph *= 2;
						}
						lg_phase(&g)->end = t;
						g.nph++;
						snprintf(lg_phase(&g)->name, sizeof(g.ph[0].name), "%.31s", line + 6);
						lg_phase(&g)->start = t;
						printf("phase %s at %" PRIu64 "\n", line + 6, t);
						fflush(stdout);
					}
					linelen -= (size_t)(nl + 1 - line);
					memmove(line, nl + 1, linelen + 1);
				}
				if (linelen >= sizeof(line) - 1)
					linelen = 0;
				continue;
			}
			r = read(c->fd, c->in + c->inlen, incap - c->inlen);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				lg_drop(&g, c);
				lg_send(&g, c);
				continue;
			}
			if (r < 0)
				continue;
			c->inlen += (size_t)r;
			for (;;) {
				bool ok;
				uint64_t t;
				struct phase *ph = lg_phase(&g);

				if (!c->busy) {
					/* an answer nobody asked for */
					ph->failed++;
					c->inlen = 0;
					break;
				}
				if (!lg_parse(&g, c, &ok)) {
					if (c->inlen == incap) {
						ph->failed++;
						c->inlen = 0;
					}
					break;
				}
				t = now_ns();
				c->busy = false;
				h_add(&ph->h, t - c->sent, t);
				if (c->kind == LG_SET)
					ph->sets++;
				else
					ph->gets++;
				if (!ok)
					ph->failed++;
				lg_send(&g, c);
				if (c->fd < 0 || !c->inlen)
					break;
			}
		}
	}
	lg_phase(&g)->end = now_ns();
	/* Requests still in flight at the end are neither failed nor counted. */
	for (size_t i = 0; i < g.nph; i++) {
		struct phase *p = &g.ph[i];

		printf("result %s seconds %.3f requests %" PRIu64 " gets %" PRIu64 " sets %" PRIu64
		       " failed %" PRIu64 " drops %" PRIu64 " p50_us %.1f p99_us %.1f p999_us %.1f"
		       " max_us %.1f max_at %" PRIu64 "\n",
		       p->name, (p->end - p->start) / 1e9, p->h.count, p->gets, p->sets, p->failed,
		       p->drops, h_pct(&p->h, 50) / 1e3, h_pct(&p->h, 99) / 1e3,
		       h_pct(&p->h, 99.9) / 1e3, p->h.max / 1e3, p->h.max_at);
	}
	printf("reconnects %" PRIu64 " reconnect_failures %" PRIu64 "\n", g.reconnects,
	       g.reconnect_failures);
	for (uint32_t i = 0; i < op->conns; i++) {
		if (g.c[i].fd >= 0)
			close(g.c[i].fd);
		free(g.c[i].in);
	}
	free(g.c);
	free(g.ph);
	free(g.want);
	free(g.out);
	close(g.ep);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvdbench COMMAND [OPTIONS]\n"
		"The load generator and probes of the kvd downtime benchmark (bench/run).\n"
		"\n"
		"Commands:\n"
		"  load      pipelined sets of keys FIRST..FIRST+COUNT-1\n"
		"  verify    a random sample of SAMPLE keys of 0..COUNT-1, byte for byte\n"
		"  waitget   until a get of key INDEX answers right; prints the time\n"
		"  probe     gets of key INDEX on one open and on new connections until\n"
		"            stdin closes; prints the gaps between answers\n"
		"  loadgen   CONNS connections, gets and SET_PCT%% sets of keys 0..COUNT-1,\n"
		"            until stdin closes; \"phase NAME\" lines on stdin start a phase\n"
		"\n"
		"Options:\n"
		"  --redis            speak RESP (default: memcached text protocol)\n"
		"  --port N           server port on 127.0.0.1 (required)\n"
		"  --count N          number of keys (default 1000)\n"
		"  --first N          load: first key (default 0)\n"
		"  --seed N           value seed (default 1)\n"
		"  --size N           value size in bytes (default 1024)\n"
		"  --sample N         verify: keys to check (default 10000)\n"
		"  --sample-seed N    verify, loadgen: seed of the random choice (default 2)\n"
		"  --index N          waitget, probe: the known key (default 0)\n"
		"  --interval-us N    waitget: pause between tries (default 1000);\n"
		"                     probe: between new connections (default 100)\n"
		"  --timeout-ms N     waitget: give up after (default 600000)\n"
		"  --gap-us N         probe: report gaps longer than this (default 100)\n"
		"  --conns N          loadgen: connections (default 8)\n"
		"  --set-pct N        loadgen: percent of sets (default 10)\n"
		"Times printed are CLOCK_MONOTONIC nanoseconds.\n");
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("not a number: %s", s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "redis", no_argument, NULL, 'R' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'z' },
		{ "sample", required_argument, NULL, 'S' },
		{ "sample-seed", required_argument, NULL, 'Q' },
		{ "index", required_argument, NULL, 'i' },
		{ "interval-us", required_argument, NULL, 'u' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "conns", required_argument, NULL, 'c' },
		{ "set-pct", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts op = {
		.proto = MC, .count = 1000, .seed = 1, .size = 1024, .sample = 10000,
		.sample_seed = 2, .timeout_ms = 600000, .gap_us = 100, .conns = 8, .set_pct = 10,
	};
	bool interval_set = false;
	const char *cmd;
	int o;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'R': op.proto = REDIS; break;
		case 'p': op.port = (int)num(optarg); break;
		case 'n': op.count = num(optarg); break;
		case 'f': op.first = num(optarg); break;
		case 's': op.seed = num(optarg); break;
		case 'z': op.size = (uint32_t)num(optarg); break;
		case 'S': op.sample = num(optarg); break;
		case 'Q': op.sample_seed = num(optarg); break;
		case 'i': op.index = num(optarg); break;
		case 'u': op.interval_us = (uint32_t)num(optarg); interval_set = true; break;
		case 't': op.timeout_ms = (uint32_t)num(optarg); break;
		case 'g': op.gap_us = (uint32_t)num(optarg); break;
		case 'c': op.conns = (uint32_t)num(optarg); break;
		case 'P': op.set_pct = (uint32_t)num(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || op.port <= 0 || op.port > 65535 || op.size == 0 ||
	    op.size > MAX_VALUE || op.conns == 0 || op.set_pct > 100) {
		usage(stderr);
		return 2;
	}
	if (!interval_set)
		op.interval_us = !strcmp(cmd, "probe") ? 100 : 1000;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "load"))
		return cmd_load(&op);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(&op);
	if (!strcmp(cmd, "waitget"))
		return cmd_waitget(&op);
	if (!strcmp(cmd, "probe"))
		return cmd_probe(&op);
	if (!strcmp(cmd, "loadgen")) {
		if (op.proto != MC)
			die("loadgen speaks the memcached protocol only");
		return cmd_loadgen(&op);
	}
	fprintf(stderr, "kvdbench: unknown command %s\n", cmd);
	usage(stderr);
	return 2;
}
