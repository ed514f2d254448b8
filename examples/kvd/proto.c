/* SPDX-License-Identifier: MIT */
/*
 * DOC: kvd protocol — memcached's text protocol over a connection's buffers
 *
 * kvd_process() answers every complete request in a connection's input
 * buffer and leaves the rest there: a storage command is consumed only once
 * its whole data block has arrived. So what a client has sent but not been
 * answered is always exactly the bytes in c->in, and what it is owed is
 * exactly c->out; that is what an upgrade hands over (handover.c), and why
 * a request half-sent across an upgrade is simply finished by the next
 * release. Replies and error strings follow memcached 1.6 (protocol.txt).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kvd.h"

#define MAX_TOKENS 8

struct tok {
	const char *s;
	size_t n;
};

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

static bool out_room(struct kvd_conn *c, size_t n)
{
	if (kvd_buf_reserve(&c->out, n) < 0) {
		/* No memory for the answer: the client cannot be served any more. */
		c->close_after_write = true;
		return false;
	}
	return true;
}

static void out_bytes(struct kvd_conn *c, const void *p, size_t n)
{
	if (!out_room(c, n))
		return;
	memcpy(c->out.data + c->out.len, p, n);
	c->out.len += n;
}

static void out_str(struct kvd_conn *c, const char *s)
{
	out_bytes(c, s, strlen(s));
}

/* One reply line, unless the request said noreply. */
static void reply(struct kvd_conn *c, const char *line)
{
	if (c->noreply)
		return;
	out_str(c, line);
	out_bytes(c, "\r\n", 2);
}

static char *fmt_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void out_u64(struct kvd_conn *c, uint64_t v)
{
	char buf[24];
	char *p = fmt_u64(buf + sizeof(buf), v);

	out_bytes(c, p, (size_t)(buf + sizeof(buf) - p));
}

static void stat_u64(struct kvd_conn *c, const char *name, uint64_t v)
{
	out_str(c, "STAT ");
	out_str(c, name);
	out_bytes(c, " ", 1);
	out_u64(c, v);
	out_bytes(c, "\r\n", 2);
}

static void stat_str(struct kvd_conn *c, const char *name, const char *v)
{
	out_str(c, "STAT ");
	out_str(c, name);
	out_bytes(c, " ", 1);
	out_str(c, v);
	out_bytes(c, "\r\n", 2);
}

static void stat_fmt(struct kvd_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stat_fmt(struct kvd_conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out_str(c, "STAT ");
	out_bytes(c, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	out_bytes(c, "\r\n", 2);
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

/*
 * The next space-separated word of s[0..len) at or after *i: its start in
 * *start and its length returned, *i just past it; 0 when none is left.
 */
static size_t next_word(const char *s, size_t len, size_t *i, size_t *start)
{
	while (*i < len && s[*i] == ' ')
		(*i)++;
	*start = *i;
	while (*i < len && s[*i] != ' ')
		(*i)++;
	return *i - *start;
}

/* Splits on spaces; returns the number of tokens (which may exceed max). */
static size_t tokenize(const char *s, size_t len, struct tok *t, size_t max)
{
	size_t n = 0, i = 0, start, wlen;

	while ((wlen = next_word(s, len, &i, &start)) > 0) {
		if (n < max) {
			t[n].s = s + start;
			t[n].n = wlen;
		}
		n++;
	}
	return n;
}

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);

	return t->n == n && memcmp(t->s, word, n) == 0;
}

static bool parse_u64(const struct tok *t, uint64_t *out)
{
	uint64_t v = 0;

	if (t->n == 0 || t->n > 20)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		unsigned d = (unsigned)(t->s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_u32(const struct tok *t, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(t, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_i64(const struct tok *t, int64_t *out)
{
	struct tok u = *t;
	uint64_t v;
	bool neg = false;

	if (u.n && u.s[0] == '-') {
		neg = true;
		u.s++;
		u.n--;
	}
	if (!parse_u64(&u, &v) || v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool key_ok(const struct tok *k)
{
	return k->n > 0 && k->n <= KVD_KEY_MAX;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                 */

void kvd_note_answer(struct kvd_server *s, const char *what)
{
	if (s->awaiting_first_answer) {
		uint64_t now = kvd_mono_ns();

		s->awaiting_first_answer = false;
		s->downtime_us = now > s->frozen_at_ns ? (now - s->frozen_at_ns) / 1000 : 0;
		kvd_log(6, "%s %" PRIu64 " us after the predecessor froze", what, s->downtime_us);
	}
}

static void out_value(struct kvd_conn *c, struct kvd_item *it, bool with_cas)
{
	char head[KVD_KEY_MAX + 80];
	char num[24], *p;
	size_t n = 0;

	memcpy(head, "VALUE ", 6);
	n = 6;
	memcpy(head + n, kvd_item_key(it), it->nkey);
	n += it->nkey;
	head[n++] = ' ';
	p = fmt_u64(num + sizeof(num), it->flags);
	memcpy(head + n, p, (size_t)(num + sizeof(num) - p));
	n += (size_t)(num + sizeof(num) - p);
	head[n++] = ' ';
	p = fmt_u64(num + sizeof(num), it->nbytes);
	memcpy(head + n, p, (size_t)(num + sizeof(num) - p));
	n += (size_t)(num + sizeof(num) - p);
	if (with_cas) {
		head[n++] = ' ';
		p = fmt_u64(num + sizeof(num), it->cas);
		memcpy(head + n, p, (size_t)(num + sizeof(num) - p));
		n += (size_t)(num + sizeof(num) - p);
	}
	head[n++] = '\r';
	head[n++] = '\n';
	if (!out_room(c, n + it->nbytes + 2))
		return;
	memcpy(c->out.data + c->out.len, head, n);
	memcpy(c->out.data + c->out.len + n, kvd_item_value(it), (size_t)it->nbytes + 2);
	c->out.len += n + it->nbytes + 2;
}

/* get, gets, gat, gats: keys are the tokens of line from offset keys on. */
static void cmd_get(struct kvd_server *s, struct kvd_conn *c, const char *line, size_t len,
		    bool with_cas, bool touch, uint32_t exptime)
{
	struct kvd_stats *stt = &s->stats;
	size_t i = 0, nkeys = 0, start, klen;

	/* Check every key first, so an error comes alone. */
	while ((klen = next_word(line, len, &i, &start)) > 0) {
		if (klen > KVD_KEY_MAX) {
			reply(c, "CLIENT_ERROR bad command line format");
			return;
		}
		nkeys++;
	}
	if (nkeys == 0) {
		/* "gat 10" with no key is answered, "get" alone is not a command. */
		out_str(c, touch ? "END\r\n" : "ERROR\r\n");
		return;
	}
	i = 0;
	while ((klen = next_word(line, len, &i, &start)) > 0) {
		struct kvd_item *it;
		uint64_t hv;
		int why;

		hv = kvd_hash(line + start, klen);
		it = kvd_find(&s->st, line + start, klen, hv, &why);
		if (touch) {
			stt->cmd_touch++;
			stt->cmd_gat++;
		} else {
			stt->cmd_get++;
		}
		if (it) {
			struct kvd_class_stats *cs = kvd_cstats(&s->st, it->cls);

			if (touch) {
				it->exptime = exptime;
				stt->touch_hits++;
				stt->gat_hits++;
				if (cs)
					cs->touch_hits++;
			} else {
				stt->get_hits++;
				if (cs)
					cs->get_hits++;
			}
			kvd_touch_lru(&s->st, it);
			out_value(c, it, with_cas);
		} else {
			if (touch) {
				stt->touch_misses++;
				stt->gat_misses++;
			} else {
				stt->get_misses++;
			}
			if (why == 1)
				stt->get_expired++;
			else if (why == 2)
				stt->get_flushed++;
		}
	}
	out_bytes(c, "END\r\n", 5);
}

enum store_op { OP_SET, OP_ADD, OP_REPLACE, OP_APPEND, OP_PREPEND, OP_CAS };

/* Runs a storage command whose data block (with its "\r\n") is complete. */
static void do_store(struct kvd_server *s, struct kvd_conn *c, enum store_op op,
		     const struct tok *key, uint32_t flags, uint32_t exptime, const char *data,
		     uint64_t nbytes, uint64_t cas)
{
	struct kvd_store *st = &s->st;
	uint64_t hv = kvd_hash(key->s, key->n);
	struct kvd_item *old = NULL, *it;
	struct kvd_class_stats *cs;
	bool too_large;
	uint64_t total = nbytes;

	s->stats.cmd_set++;
	if (op != OP_SET) {
		old = kvd_find(st, key->s, key->n, hv, NULL);
		switch (op) {
		case OP_ADD:
			if (old) {
				/* memcached refreshes an item an add collided with. */
				kvd_touch_lru(st, old);
				reply(c, "NOT_STORED");
				return;
			}
			break;
		case OP_REPLACE:
		case OP_APPEND:
		case OP_PREPEND:
			if (!old) {
				reply(c, "NOT_STORED");
				return;
			}
			break;
		case OP_CAS:
			if (!old) {
				s->stats.cas_misses++;
				reply(c, "NOT_FOUND");
				return;
			}
			cs = kvd_cstats(st, old->cls);
			if (old->cas != cas) {
				s->stats.cas_badval++;
				if (cs)
					cs->cas_badval++;
				reply(c, "EXISTS");
				return;
			}
			s->stats.cas_hits++;
			if (cs)
				cs->cas_hits++;
			break;
		default:
			break;
		}
	}
	if (op == OP_APPEND || op == OP_PREPEND) {
		total = nbytes + old->nbytes;
		flags = old->flags;
		exptime = old->exptime;
	}
	it = kvd_alloc(st, key->s, key->n, total, &too_large, old);
	if (!it) {
		if (too_large && op != OP_APPEND && op != OP_PREPEND) {
			s->stats.store_too_large++;
			reply(c, "SERVER_ERROR object too large for cache");
		} else {
			s->stats.store_no_memory++;
			reply(c, "SERVER_ERROR out of memory storing object");
		}
		return;
	}
	it->flags = flags;
	it->exptime = exptime;
	if (op == OP_APPEND) {
		memcpy(kvd_item_value(it), kvd_item_value(old), old->nbytes);
		memcpy(kvd_item_value(it) + old->nbytes, data, nbytes);
	} else if (op == OP_PREPEND) {
		memcpy(kvd_item_value(it), data, nbytes);
		memcpy(kvd_item_value(it) + nbytes, kvd_item_value(old), old->nbytes);
	} else {
		memcpy(kvd_item_value(it), data, nbytes);
	}
	/* A set looks its old item up only now: the allocation may have evicted it. */
	if (op == OP_SET)
		old = kvd_find(st, key->s, key->n, hv, NULL);
	kvd_link(st, it, hv, old);
	cs = kvd_cstats(st, it->cls);
	if (cs)
		cs->cmd_set++;
	reply(c, "STORED");
}

/*
 * A storage command line. Returns the bytes consumed (line and data block),
 * or 0 when the data block has not fully arrived.
 */
static size_t cmd_store(struct kvd_server *s, struct kvd_conn *c, enum store_op op,
			const struct tok *t, size_t nt, const char *line, size_t line_len,
			size_t avail)
{
	size_t want = op == OP_CAS ? 6 : 5;
	uint32_t flags;
	int64_t exptime;
	uint64_t nbytes, cas = 0;
	const char *data;

	if (nt != want && nt != want + 1) {
		reply(c, "ERROR");
		return line_len;
	}
	if (nt == want + 1 && tok_is(&t[want], "noreply"))
		c->noreply = true;
	if (!parse_u32(&t[2], &flags) || !parse_i64(&t[3], &exptime) || !parse_u64(&t[4], &nbytes) ||
	    nbytes > (uint64_t)INT32_MAX - 2 || (op == OP_CAS && !parse_u64(&t[5], &cas))) {
		reply(c, "CLIENT_ERROR bad command line format");
		return line_len;
	}
	if (!key_ok(&t[1])) {
		/* Unlike memcached, skip the data block too: one request, one answer. */
		reply(c, "CLIENT_ERROR bad command line format");
		c->swallow = nbytes + 2;
		return line_len;
	}
	if (kvd_item_total((uint32_t)t[1].n, nbytes) > s->st.hdr->item_size_max) {
		s->stats.store_too_large++;
		s->stats.cmd_set++;
		reply(c, "SERVER_ERROR object too large for cache");
		c->swallow = nbytes + 2;
		if (op == OP_SET) {
			/* Do not leave a stale value behind a failed set. */
			uint64_t hv = kvd_hash(t[1].s, t[1].n);
			struct kvd_item *old = kvd_find(&s->st, t[1].s, t[1].n, hv, NULL);

			if (old)
				kvd_unlink(&s->st, old, hv);
		}
		return line_len;
	}
	if (avail < line_len + nbytes + 2) {
		/* Make room for the whole request so the reads can complete it. */
		if (kvd_buf_reserve(&c->in, line_len + nbytes + 2 - avail) < 0)
			c->close_after_write = true;
		return 0;
	}
	data = line + line_len;
	if (memcmp(data + nbytes, "\r\n", 2) != 0) {
		reply(c, "CLIENT_ERROR bad data chunk");
		return line_len + nbytes + 2;
	}
	do_store(s, c, op, &t[1], flags, kvd_exptime(exptime, s->st.now), data, nbytes, cas);
	return line_len + nbytes + 2;
}

static void cmd_delete(struct kvd_server *s, struct kvd_conn *c, const struct tok *t, size_t nt)
{
	uint64_t hv;
	struct kvd_item *it;

	if (nt > 2 && tok_is(&t[nt - 1], "noreply"))
		c->noreply = true;
	if (nt > 4) {
		reply(c, "ERROR");
		return;
	}
	if ((nt >= 3 && !tok_is(&t[2], "0") && !(nt == 3 && c->noreply))) {
		reply(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
		return;
	}
	if (!key_ok(&t[1])) {
		reply(c, "CLIENT_ERROR bad command line format");
		return;
	}
	hv = kvd_hash(t[1].s, t[1].n);
	it = kvd_find(&s->st, t[1].s, t[1].n, hv, NULL);
	if (!it) {
		s->stats.delete_misses++;
		reply(c, "NOT_FOUND");
		return;
	}
	s->stats.delete_hits++;
	if (kvd_cstats(&s->st, it->cls))
		kvd_cstats(&s->st, it->cls)->delete_hits++;
	kvd_unlink(&s->st, it, hv);
	reply(c, "DELETED");
}

static void cmd_arith(struct kvd_server *s, struct kvd_conn *c, const struct tok *t, size_t nt,
		      bool incr)
{
	struct kvd_store *st = &s->st;
	struct kvd_class_stats *cs;
	struct kvd_item *it, *nit;
	uint64_t delta, v = 0, hv;
	char num[24], *p;
	size_t n;
	bool too_large;

	if (nt == 4 && tok_is(&t[3], "noreply"))
		c->noreply = true;
	if (!key_ok(&t[1])) {
		reply(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!parse_u64(&t[2], &delta)) {
		reply(c, "CLIENT_ERROR invalid numeric delta argument");
		return;
	}
	hv = kvd_hash(t[1].s, t[1].n);
	it = kvd_find(st, t[1].s, t[1].n, hv, NULL);
	if (!it) {
		if (incr)
			s->stats.incr_misses++;
		else
			s->stats.decr_misses++;
		reply(c, "NOT_FOUND");
		return;
	}
	{
		/* The value: decimal digits, possibly padded with spaces. */
		struct tok vt = { kvd_item_value(it), it->nbytes };

		while (vt.n && vt.s[vt.n - 1] == ' ')
			vt.n--;
		if (!parse_u64(&vt, &v)) {
			reply(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
			return;
		}
	}
	if (incr)
		v += delta;  /* wraps at 2^64, as memcached does */
	else
		v = delta > v ? 0 : v - delta;
	cs = kvd_cstats(st, it->cls);
	if (incr) {
		s->stats.incr_hits++;
		if (cs)
			cs->incr_hits++;
	} else {
		s->stats.decr_hits++;
		if (cs)
			cs->decr_hits++;
	}
	p = fmt_u64(num + sizeof(num), v);
	n = (size_t)(num + sizeof(num) - p);
	if (n == it->nbytes) {
		memcpy(kvd_item_value(it), p, n);
		it->cas = st->hdr->cas_next++;
		kvd_touch_lru(st, it);
	} else {
		nit = kvd_alloc(st, t[1].s, t[1].n, n, &too_large, it);
		if (!nit) {
			s->stats.store_no_memory++;
			reply(c, "SERVER_ERROR out of memory");
			return;
		}
		nit->flags = it->flags;
		nit->exptime = it->exptime;
		memcpy(kvd_item_value(nit), p, n);
		kvd_link(st, nit, hv, it);
	}
	if (c->noreply)
		return;
	out_bytes(c, p, n);
	out_bytes(c, "\r\n", 2);
}

static void cmd_touch(struct kvd_server *s, struct kvd_conn *c, const struct tok *t, size_t nt)
{
	struct kvd_item *it;
	int64_t exptime;

	if (nt == 4 && tok_is(&t[3], "noreply"))
		c->noreply = true;
	if (!key_ok(&t[1])) {
		reply(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!parse_i64(&t[2], &exptime)) {
		reply(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	s->stats.cmd_touch++;
	it = kvd_find(&s->st, t[1].s, t[1].n, kvd_hash(t[1].s, t[1].n), NULL);
	if (!it) {
		s->stats.touch_misses++;
		reply(c, "NOT_FOUND");
		return;
	}
	s->stats.touch_hits++;
	if (kvd_cstats(&s->st, it->cls))
		kvd_cstats(&s->st, it->cls)->touch_hits++;
	it->exptime = kvd_exptime(exptime, s->st.now);
	kvd_touch_lru(&s->st, it);
	reply(c, "TOUCHED");
}

static void cmd_flush_all(struct kvd_server *s, struct kvd_conn *c, const struct tok *t, size_t nt)
{
	int64_t delay = 0;

	if (nt > 1 && tok_is(&t[nt - 1], "noreply")) {
		c->noreply = true;
		nt--;
	}
	if (nt > 2 || (nt == 2 && !parse_i64(&t[1], &delay))) {
		reply(c, "CLIENT_ERROR bad command line format");
		return;
	}
	s->stats.cmd_flush++;
	/* A negative delay flushes now, as in memcached. */
	kvd_flush(&s->st, delay <= 0 ? 0 : delay > UINT32_MAX ? UINT32_MAX : (uint32_t)delay);
	reply(c, "OK");
}

/* ------------------------------------------------------------------------ */
/* stats                                                                    */

static void stats_general(struct kvd_server *s, struct kvd_conn *c)
{
	const struct kvd_region_hdr *h = s->st.hdr;
	uint32_t now = s->st.now;
	struct rusage ru;
	unsigned hashpower = 0;

	while ((1ull << hashpower) < h->hash_buckets)
		hashpower++;
	kvd_note_answer(s, "first request answered");
	getrusage(RUSAGE_SELF, &ru);
	stat_u64(c, "pid", (uint64_t)getpid());
	/* The service's uptime: it goes on across upgrades. */
	stat_u64(c, "uptime", now - h->created_at);
	stat_u64(c, "time", now);
	stat_str(c, "version", KVD_RELEASE);
	stat_str(c, "libevent", "none");
	stat_u64(c, "pointer_size", 8 * sizeof(void *));
	stat_fmt(c, "rusage_user %ld.%06ld", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
	stat_fmt(c, "rusage_system %ld.%06ld", (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
	stat_u64(c, "max_connections", s->set.maxconns);
	stat_u64(c, "curr_connections", s->nconns);
	stat_u64(c, "total_connections", s->stats.total_connections);
	stat_u64(c, "rejected_connections", s->stats.rejected_connections);
	stat_u64(c, "connection_structures", s->nconns);
	stat_u64(c, "cmd_get", s->stats.cmd_get);
	stat_u64(c, "cmd_set", s->stats.cmd_set);
	stat_u64(c, "cmd_flush", s->stats.cmd_flush);
	stat_u64(c, "cmd_touch", s->stats.cmd_touch);
	stat_u64(c, "get_hits", s->stats.get_hits);
	stat_u64(c, "get_misses", s->stats.get_misses);
	stat_u64(c, "get_expired", s->stats.get_expired);
	stat_u64(c, "get_flushed", s->stats.get_flushed);
	stat_u64(c, "delete_misses", s->stats.delete_misses);
	stat_u64(c, "delete_hits", s->stats.delete_hits);
	stat_u64(c, "incr_misses", s->stats.incr_misses);
	stat_u64(c, "incr_hits", s->stats.incr_hits);
	stat_u64(c, "decr_misses", s->stats.decr_misses);
	stat_u64(c, "decr_hits", s->stats.decr_hits);
	stat_u64(c, "cas_misses", s->stats.cas_misses);
	stat_u64(c, "cas_hits", s->stats.cas_hits);
	stat_u64(c, "cas_badval", s->stats.cas_badval);
	stat_u64(c, "touch_hits", s->stats.touch_hits);
	stat_u64(c, "touch_misses", s->stats.touch_misses);
	stat_u64(c, "store_too_large", s->stats.store_too_large);
	stat_u64(c, "store_no_memory", s->stats.store_no_memory);
	stat_u64(c, "auth_cmds", 0);
	stat_u64(c, "auth_errors", 0);
	stat_u64(c, "bytes_read", s->stats.bytes_read);
	stat_u64(c, "bytes_written", s->stats.bytes_written);
	stat_u64(c, "limit_maxbytes", h->limit_maxbytes);
	stat_u64(c, "accepting_conns", s->nconns < s->set.maxconns);
	stat_u64(c, "threads", 1);
	stat_u64(c, "hash_power_level", hashpower);
	stat_u64(c, "hash_bytes", h->hash_buckets * 8);
	stat_u64(c, "hash_is_expanding", 0);
	stat_u64(c, "slabs_moved", h->slabs_moved);
	stat_u64(c, "evicted_unfetched", h->evicted_unfetched);
	stat_u64(c, "expired_unfetched", h->expired_unfetched);
	stat_u64(c, "reclaimed", h->reclaimed);
	stat_u64(c, "curr_items", h->curr_items);
	stat_u64(c, "total_items", h->total_items);
	stat_u64(c, "evictions", h->evictions);
	stat_u64(c, "bytes", h->bytes);
#if KVD_CACHE_VERSION >= 2
	stat_u64(c, "cmd_gat", s->stats.cmd_gat);
	stat_u64(c, "gat_hits", s->stats.gat_hits);
	stat_u64(c, "gat_misses", s->stats.gat_misses);
#endif
	stat_u64(c, "process_uptime", now - s->started_at);
	stat_u64(c, "region_bytes", h->region_size);
	stat_u64(c, "region_layout", h->layout);
	stat_u64(c, "baton_generation", s->generation);
	stat_str(c, "baton_state_from", s->state_from);
	stat_u64(c, "baton_last_downtime_us", s->downtime_us);
	out_bytes(c, "END\r\n", 5);
}

static void stats_settings(struct kvd_server *s, struct kvd_conn *c)
{
	const struct kvd_region_hdr *h = s->st.hdr;

	stat_u64(c, "maxbytes", h->limit_maxbytes);
	stat_u64(c, "maxconns", s->set.maxconns);
	stat_u64(c, "tcpport", s->set.port);
	stat_u64(c, "udpport", 0);
	stat_str(c, "inter", s->set.listen[0] ? s->set.listen : "NULL");
	stat_u64(c, "verbosity", (uint64_t)s->set.verbose);
	stat_u64(c, "oldest", 0);
	stat_str(c, "evictions", "on");
	stat_str(c, "domain_socket", "NULL");
	stat_str(c, "umask", "700");
	stat_str(c, "shutdown_command", "no");
	stat_str(c, "growth_factor", "1.25");
	stat_u64(c, "chunk_size", KVD_CHUNK_MIN - sizeof(struct kvd_item));
	stat_u64(c, "num_threads", 1);
	stat_str(c, "stat_key_prefix", ":");
	stat_str(c, "detail_enabled", "no");
	stat_str(c, "cas_enabled", "yes");
	stat_u64(c, "tcp_backlog", 1024);
	stat_str(c, "binding_protocol", "ascii");
	stat_str(c, "auth_enabled_sasl", "no");
	stat_u64(c, "item_size_max", h->item_size_max);
	stat_str(c, "maxconns_fast", "yes");
	stat_str(c, "slab_reassign", "yes");
	stat_u64(c, "slab_page_size", h->page_size);
	stat_u64(c, "hash_buckets", h->hash_buckets);
	stat_str(c, "lru_bump", h->layout >= KVD_LAYOUT_V2 ? "once-a-minute" : "every-hit");
	stat_str(c, "baton_control", s->set.control ? s->set.control : "NULL");
	out_bytes(c, "END\r\n", 5);
}

static void stats_items(struct kvd_server *s, struct kvd_conn *c)
{
	struct kvd_store *st = &s->st;
	const struct kvd_region_hdr *h = st->hdr;

	for (unsigned i = 1; i <= h->nclasses; i++) {
		const struct kvd_class *k = &h->classes[i];
		const struct kvd_class_stats *cs = kvd_cstats(st, i);
		struct kvd_item *tail;

		if (!k->items)
			continue;
		tail = kvd_item_at(st, k->lru_tail);
		stat_fmt(c, "items:%u:number %" PRIu64, i, k->items);
		stat_fmt(c, "items:%u:age %u", i,
			 st->now - (tail->atime ? tail->atime : tail->time));
		if (!cs)
			continue;
		stat_fmt(c, "items:%u:evicted %" PRIu64, i, cs->evicted);
		stat_fmt(c, "items:%u:evicted_nonzero %" PRIu64, i, cs->evicted_nonzero);
		stat_fmt(c, "items:%u:evicted_time %" PRIu64, i, cs->evicted_time);
		stat_fmt(c, "items:%u:outofmemory %" PRIu64, i, cs->outofmemory);
		stat_fmt(c, "items:%u:reclaimed %" PRIu64, i, cs->reclaimed);
		stat_fmt(c, "items:%u:expired_unfetched %" PRIu64, i, cs->expired_unfetched);
		stat_fmt(c, "items:%u:evicted_unfetched %" PRIu64, i, cs->evicted_unfetched);
	}
	out_bytes(c, "END\r\n", 5);
}

static void stats_slabs(struct kvd_server *s, struct kvd_conn *c)
{
	struct kvd_store *st = &s->st;
	const struct kvd_region_hdr *h = st->hdr;
	unsigned active = 0;

	for (unsigned i = 1; i <= h->nclasses; i++) {
		const struct kvd_class *k = &h->classes[i];
		const struct kvd_class_stats *cs = kvd_cstats(st, i);
		uint64_t end_free = k->carve ? (k->carve_end - k->carve) / k->size : 0;

		if (!k->pages)
			continue;
		active++;
		stat_fmt(c, "%u:chunk_size %u", i, k->size);
		stat_fmt(c, "%u:chunks_per_page %u", i, k->perpage);
		stat_fmt(c, "%u:total_pages %u", i, k->pages);
		stat_fmt(c, "%u:total_chunks %" PRIu64, i, (uint64_t)k->pages * k->perpage);
		stat_fmt(c, "%u:used_chunks %" PRIu64, i, k->items);
		stat_fmt(c, "%u:free_chunks %u", i, k->nfree);
		stat_fmt(c, "%u:free_chunks_end %" PRIu64, i, end_free);
		if (!cs)
			continue;
		stat_fmt(c, "%u:get_hits %" PRIu64, i, cs->get_hits);
		stat_fmt(c, "%u:cmd_set %" PRIu64, i, cs->cmd_set);
		stat_fmt(c, "%u:delete_hits %" PRIu64, i, cs->delete_hits);
		stat_fmt(c, "%u:incr_hits %" PRIu64, i, cs->incr_hits);
		stat_fmt(c, "%u:decr_hits %" PRIu64, i, cs->decr_hits);
		stat_fmt(c, "%u:cas_hits %" PRIu64, i, cs->cas_hits);
		stat_fmt(c, "%u:cas_badval %" PRIu64, i, cs->cas_badval);
		stat_fmt(c, "%u:touch_hits %" PRIu64, i, cs->touch_hits);
	}
	stat_u64(c, "active_slabs", active);
	stat_u64(c, "total_malloced", h->pages_used * h->page_size);
	out_bytes(c, "END\r\n", 5);
}

static void stats_conns(struct kvd_server *s, struct kvd_conn *c)
{
	for (struct kvd_conn *k = s->conns; k; k = k->next) {
		stat_fmt(c, "%d:addr %s", k->fd, k->peer);
		stat_fmt(c, "%d:id %" PRIu64, k->fd, k->id);
		stat_fmt(c, "%d:age %u", k->fd, s->st.now - k->opened_at);
		stat_fmt(c, "%d:state conn_%s", k->fd, k == c ? "parse_cmd" : "waiting");
	}
	out_bytes(c, "END\r\n", 5);
}

static void cmd_stats(struct kvd_server *s, struct kvd_conn *c, const struct tok *t, size_t nt)
{
	if (nt == 1)
		stats_general(s, c);
	else if (nt == 2 && tok_is(&t[1], "settings"))
		stats_settings(s, c);
	else if (nt == 2 && tok_is(&t[1], "items"))
		stats_items(s, c);
	else if (nt == 2 && tok_is(&t[1], "slabs"))
		stats_slabs(s, c);
	else if (nt == 2 && tok_is(&t[1], "conns"))
		stats_conns(s, c);
	else if (nt == 2 && tok_is(&t[1], "sizes"))
		out_str(c, "STAT sizes_status disabled\r\nEND\r\n");
	else if (nt == 2 && tok_is(&t[1], "reset")) {
		uint64_t total = s->stats.total_connections;

		memset(&s->stats, 0, sizeof(s->stats));
		s->stats.total_connections = total;
		s->st.hdr->evictions = s->st.hdr->reclaimed = 0;
		out_str(c, "RESET\r\n");
	} else
		out_str(c, "ERROR\r\n");
}

/* ------------------------------------------------------------------------ */
/* The request loop                                                         */

static bool starts_with(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(s, p, k) == 0;
}

/*
 * One request at the start of data: returns the bytes it took, 0 when it is
 * not complete yet.
 */
static size_t one_request(struct kvd_server *s, struct kvd_conn *c, char *data, size_t avail)
{
	char *nl = memchr(data, '\n', avail);
	size_t line_len, len, nt;
	struct tok t[MAX_TOKENS];

	if (!nl) {
		bool get = starts_with(data, avail, "get ") || starts_with(data, avail, "gets ") ||
			   starts_with(data, avail, "gat ") || starts_with(data, avail, "gats ");

		if (avail > KVD_LINE_MAX || (avail > KVD_LINE_SOFT && !get)) {
			out_str(c, "CLIENT_ERROR line too long\r\n");
			c->close_after_write = true;
			return avail;
		}
		return 0;
	}
	line_len = (size_t)(nl - data) + 1;
	len = line_len - 1;
	if (len && data[len - 1] == '\r')
		len--;
	c->noreply = false;
	nt = tokenize(data, len, t, MAX_TOKENS);
	if (nt == 0) {
		reply(c, "ERROR");
		return line_len;
	}
	/* Requests other than get and stats are short. */
	switch (t[0].s[0]) {
	case 'g':
		if (tok_is(&t[0], "get") || tok_is(&t[0], "gets")) {
			size_t off = (size_t)(t[0].s + t[0].n - data);

			cmd_get(s, c, data + off, len - off, t[0].n == 4, false, 0);
			return line_len;
		}
		if (tok_is(&t[0], "gat") || tok_is(&t[0], "gats")) {
			int64_t e;
			size_t off;

			if (nt < 2) {
				reply(c, "ERROR");
				return line_len;
			}
			if (!parse_i64(&t[1], &e)) {
				reply(c, "CLIENT_ERROR invalid exptime argument");
				return line_len;
			}
			off = (size_t)(t[1].s + t[1].n - data);
			cmd_get(s, c, data + off, len - off, t[0].n == 4, true,
				kvd_exptime(e, s->st.now));
			return line_len;
		}
		break;
	case 's':
		if (tok_is(&t[0], "set"))
			return nt > MAX_TOKENS ? (reply(c, "ERROR"), line_len)
					       : cmd_store(s, c, OP_SET, t, nt, data, line_len, avail);
		if (tok_is(&t[0], "stats")) {
			cmd_stats(s, c, t, nt);
			return line_len;
		}
		break;
	case 'a':
		if (tok_is(&t[0], "add"))
			return nt > MAX_TOKENS ? (reply(c, "ERROR"), line_len)
					       : cmd_store(s, c, OP_ADD, t, nt, data, line_len, avail);
		if (tok_is(&t[0], "append"))
			return nt > MAX_TOKENS ? (reply(c, "ERROR"), line_len)
					       : cmd_store(s, c, OP_APPEND, t, nt, data, line_len, avail);
		break;
	case 'r':
		if (tok_is(&t[0], "replace"))
			return nt > MAX_TOKENS ? (reply(c, "ERROR"), line_len)
					       : cmd_store(s, c, OP_REPLACE, t, nt, data, line_len, avail);
		break;
	case 'p':
		if (tok_is(&t[0], "prepend"))
			return nt > MAX_TOKENS ? (reply(c, "ERROR"), line_len)
					       : cmd_store(s, c, OP_PREPEND, t, nt, data, line_len, avail);
		break;
	case 'c':
		if (tok_is(&t[0], "cas"))
			return nt > MAX_TOKENS ? (reply(c, "ERROR"), line_len)
					       : cmd_store(s, c, OP_CAS, t, nt, data, line_len, avail);
		break;
	case 'd':
		if (tok_is(&t[0], "delete") && nt >= 2) {
			cmd_delete(s, c, t, nt);
			return line_len;
		}
		if (tok_is(&t[0], "decr") && (nt == 3 || nt == 4)) {
			cmd_arith(s, c, t, nt, false);
			return line_len;
		}
		break;
	case 'i':
		if (tok_is(&t[0], "incr") && (nt == 3 || nt == 4)) {
			cmd_arith(s, c, t, nt, true);
			return line_len;
		}
		break;
	case 't':
		if (tok_is(&t[0], "touch") && (nt == 3 || nt == 4)) {
			cmd_touch(s, c, t, nt);
			return line_len;
		}
		break;
	case 'f':
		if (tok_is(&t[0], "flush_all") && nt <= 3) {
			cmd_flush_all(s, c, t, nt);
			return line_len;
		}
		break;
	case 'v':
		if (tok_is(&t[0], "version") && nt == 1) {
			out_str(c, "VERSION " KVD_RELEASE "\r\n");
			return line_len;
		}
		if (tok_is(&t[0], "verbosity") && (nt == 2 || nt == 3)) {
			uint32_t level;

			/* "verbosity noreply" sets nothing and says nothing, as in memcached. */
			if (tok_is(&t[nt - 1], "noreply"))
				c->noreply = true;
			if (parse_u32(&t[1], &level))
				s->set.verbose = level > 3 ? 3 : (int)level;
			reply(c, "OK");
			return line_len;
		}
		break;
	case 'q':
		if (tok_is(&t[0], "quit") && nt == 1) {
			c->close_after_write = true;
			return line_len;
		}
		break;
	default:
		break;
	}
	reply(c, "ERROR");
	return line_len;
}

int kvd_process(struct kvd_server *s, struct kvd_conn *c)
{
	struct kvd_buf *in = &c->in;

	while (kvd_buf_used(in) && !c->close_after_write && !s->frozen) {
		size_t used;

		if (c->swallow) {
			size_t n = kvd_buf_used(in) < c->swallow ? kvd_buf_used(in) : c->swallow;

			in->pos += n;
			c->swallow -= n;
			continue;
		}
		if (kvd_buf_used(&c->out) >= KVD_OUT_HIGH)
			break;
		used = one_request(s, c, in->data + in->pos, kvd_buf_used(in));
		if (!used)
			break;
		in->pos += used;
		if (s->awaiting_first_answer)
			kvd_note_answer(s, "first request answered");
	}
	if (in->pos == in->len)
		in->pos = in->len = 0;
	return 0;
}
