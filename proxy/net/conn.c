/* conn.c — see conn.h. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "conf.h"
#include "err.h"
#include "httprelay.h"
#include "listen.h"
#include "relay.h"

#define LINGER_MAX_BYTES (64 * 1024)
#define LINGER_MAX_MS 2000
#define LINGER_MAX_SOCKETS 1024	/* beyond: plain close() */
#define REFUSALS_LOG_MS 1000

struct lingerer {
	struct event *ev;
	evutil_socket_t fd;
	size_t drained;
};

/* Sockets lingering now: they are outside max_connections, so a flood of
 * failing handshakes must not turn them into a descriptor leak. */
static unsigned n_lingering;

static void
linger_end(struct lingerer *lg)
{
	n_lingering--;
	event_free(lg->ev);
	close(lg->fd);
	free(lg);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lingerer *lg = arg;
	char buf[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		linger_end(lg);
		return;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		lg->drained += (size_t)n;
		if (lg->drained >= LINGER_MAX_BYTES) {
			linger_end(lg);
			return;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		linger_end(lg);
}

void
conn_linger_close(struct event_base *base, evutil_socket_t fd)
{
	struct lingerer *lg;
	struct timeval tv = dp_ms_tv(LINGER_MAX_MS);

	if (fd < 0)
		return;
	if (n_lingering >= LINGER_MAX_SOCKETS) {
		close(fd);
		return;
	}
	(void)shutdown(fd, SHUT_WR);
	if ((lg = calloc(1, sizeof(*lg))) == NULL ||
	    (lg->ev = event_new(base, fd, EV_READ | EV_PERSIST, linger_cb, lg)) == NULL) {
		free(lg);
		close(fd);
		return;
	}
	lg->fd = fd;
	n_lingering++;
	event_add(lg->ev, &tv);
}

/* Counts one refusal in r. Returns 1 when a line is due (none in the last
 * second), with *n the refusals it reports and *elapsed_ms the time they
 * cover (0: the first line), and starts counting anew. */
static int
refusal_due(struct conn_refusals *r, uint64_t *n, uint64_t *elapsed_ms)
{
	uint64_t now = dp_now_ms();

	r->n++;
	if (r->since_ms != 0 && now - r->since_ms < REFUSALS_LOG_MS)
		return 0;
	*n = r->n;
	*elapsed_ms = r->since_ms == 0 ? 0 : now - r->since_ms;
	r->n = 0;
	r->since_ms = now;
	return 1;
}

void
conn_refused(struct conn_refusals *r, const char *listener, const char *what,
    unsigned limit)
{
	uint64_t n, ms;

	if (!refusal_due(r, &n, &ms))
		return;
	if (ms == 0)
		log_warn("listener %s: %u %s: refused %llu connection%s", listener,
		    limit, what, (unsigned long long)n, n == 1 ? "" : "s");
	else
		log_warn("listener %s: %u %s: refused %llu connection%s in the "
		    "last %llu ms", listener, limit, what, (unsigned long long)n,
		    n == 1 ? "" : "s", (unsigned long long)ms);
}

/* allow_from: 1 when sa lies in allow (or allow is empty). Otherwise counts
 * the connection as outcome denied in mx, writes a warn line naming the
 * latest source at most once a second (r), and returns 0. */
static int
source_allowed(const struct conf_cidrs *allow, const struct sockaddr *sa,
    struct mx_listener *mx, struct conn_refusals *r, const char *listener)
{
	char peer[DP_ADDR_STRLEN];
	uint64_t n, ms;

	if (allow->n == 0 || dp_cidr_match(allow->v, allow->n, sa))
		return 1;
	mx_conn_denied(mx);
	if (!refusal_due(r, &n, &ms))
		return 0;
	dp_addr_str(sa, peer, sizeof(peer));
	if (ms == 0)
		log_warn("listener %s: %s is not in allow_from: connection refused",
		    listener, peer);
	else
		log_warn("listener %s: sources not in allow_from: refused %llu "
		    "connection%s in the last %llu ms, the latest from %s", listener,
		    (unsigned long long)n, n == 1 ? "" : "s", (unsigned long long)ms,
		    peer);
	return 0;
}


/* The line every connection ends with; suppressed: refusal lines like it
 * left out before it (0: none). */
static void
conn_log(const struct conn_report *r, uint64_t suppressed)
{
	char in[24], out[24], ms[24], sup[24];
	int ok = strcmp(r->outcome, "ok") == 0;

	snprintf(in, sizeof(in), "%llu", (unsigned long long)r->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)r->bytes_out);
	snprintf(ms, sizeof(ms), "%llu",
	    (unsigned long long)(dp_now_ms() - r->start_ms));
	snprintf(sup, sizeof(sup), "%llu", (unsigned long long)suppressed);
	struct log_kv kv[] = {
		{ "id", r->id },
		{ "role", r->role },
		{ "listener", r->listener },
		{ "peer", r->peer },
		{ "client_name", r->client_name },
		{ "tlsa", r->tlsa },
		{ "tlsa_wildcard", r->tlsa_wildcard },
		{ "outcome", r->outcome },
		{ "reason", r->reason },
		{ "tls", r->tls_version },
		{ "bytes_in", in },
		{ "bytes_out", out },
		{ "ms", ms },
		{ "suppressed", suppressed > 0 ? sup : NULL },
	};
	log_event(ok ? DP_LOG_INFO : DP_LOG_WARN, "conn", kv,
	    (int)(sizeof(kv) / sizeof(kv[0])));
}

/* --- refusal lines: the same refusal again within CONN_REFUSAL_LINES_MS is
 * left out (conn.h) */

/* One key: the peer's address without its port, the client name and the
 * kind of refusal (outcome and metrics reason); what was left out since its
 * last line. */
struct conn_line_key {
	uint64_t hash;			/* 0: the slot is free */
	uint64_t logged_ms;		/* the key's last line (or flush) */
	uint64_t suppressed;		/* lines left out since */
	int outcome;			/* enum mx_outcome */
	int hs_reason;			/* enum mx_hs_reason, or -1 */
	char ip[INET6_ADDRSTRLEN];
	char name[256];			/* a DNS name fits; longer ones cut
					 * (the hash covers them whole) */
};

struct conn_lines {
	uint64_t seed;			/* keys a flood cannot aim at one slot
					 * without knowing it */
	struct event *flush;		/* reports what a quiet key left out */
	struct conn_listener *l;
	struct conn_line_key slot[CONN_REFUSAL_LINES_SLOTS];
};

static uint64_t
line_hash(uint64_t seed, const char *ip, const char *name, int outcome,
    int hs_reason)
{
	uint64_t h = 14695981039346656037ull ^ seed;	/* FNV-1a, seeded */
	const char *parts[2] = { ip, name };
	const unsigned char *p;
	int i;

	for (i = 0; i < 2; i++) {
		for (p = (const unsigned char *)parts[i]; *p != '\0'; p++)
			h = (h ^ *p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;	/* separator */
	}
	h = (h ^ (uint64_t)(unsigned)outcome) * 1099511628211ull;
	h = (h ^ (uint64_t)(unsigned)(hs_reason + 1)) * 1099511628211ull;
	h ^= h >> 29;
	return h != 0 ? h : 1;
}

/* The address of sa without its port; "" for a family without one. */
static void
peer_ip(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const void *a = NULL;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (a == NULL || inet_ntop(ss->ss_family, a, buf, (socklen_t)size) == NULL)
		buf[0] = '\0';
}

/* Writes the line that reports what k left out, and starts its count
 * anew. */
static void
line_flush(const struct conn_listener *l, struct conn_line_key *k,
    uint64_t now)
{
	char sup[24];
	struct log_kv kv[] = {
		{ "role", l->ops->role },
		{ "listener", l->name },
		{ "peer", k->ip },
		{ "client_name", k->name[0] != '\0' ? k->name : NULL },
		{ "outcome", mx_outcome_name((enum mx_outcome)k->outcome) },
		{ "hs_reason", k->hs_reason >= 0 ?
		    mx_hs_reason_name((enum mx_hs_reason)k->hs_reason) : NULL },
		{ "suppressed", sup },
	};

	snprintf(sup, sizeof(sup), "%llu", (unsigned long long)k->suppressed);
	log_event(DP_LOG_WARN, "conn_suppressed", kv,
	    (int)(sizeof(kv) / sizeof(kv[0])));
	k->suppressed = 0;
	k->logged_ms = now;
}

/* Arms the flush for the soonest key whose window ends with lines left
 * out; none: not armed. */
static void
lines_arm(struct conn_lines *ls, uint64_t now)
{
	uint64_t due = UINT64_MAX, end;
	struct timeval tv;
	size_t i;

	for (i = 0; i < CONN_REFUSAL_LINES_SLOTS; i++) {
		if (ls->slot[i].suppressed == 0)
			continue;
		end = ls->slot[i].logged_ms + CONN_REFUSAL_LINES_MS;
		if (end < due)
			due = end;
	}
	if (due == UINT64_MAX)
		return;
	tv = dp_ms_tv((unsigned)(due > now ? due - now : 0) + 1);
	event_add(ls->flush, &tv);
}

/* Reports the keys whose window has ended with lines left out (all of
 * them with all != 0), then arms itself for the next. */
static void
lines_flush(struct conn_lines *ls, int all)
{
	uint64_t now = dp_now_ms();
	size_t i;

	for (i = 0; i < CONN_REFUSAL_LINES_SLOTS; i++) {
		struct conn_line_key *k = &ls->slot[i];
		if (k->suppressed > 0 && (all ||
		    now - k->logged_ms >= CONN_REFUSAL_LINES_MS))
			line_flush(ls->l, k, now);
	}
	if (!all)
		lines_arm(ls, now);
}

static void
lines_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	lines_flush(arg, 0);
}

static void
lines_free(struct conn_lines *ls)
{
	if (ls == NULL)
		return;
	lines_flush(ls, 1);
	event_free(ls->flush);
	free(ls);
}

/* Whether the line rep is due; else it is counted as left out. *suppressed:
 * the lines left out for its key before it. Refusal lines only; any other
 * line, or no memory for the table: due. */
static int
line_due(struct conn_listener *l, const struct sockaddr_storage *peer,
    enum mx_outcome outcome, const struct conn_report *rep,
    uint64_t *suppressed)
{
	struct conn_lines *ls = l->lines;
	struct conn_line_key *k;
	char ip[INET6_ADDRSTRLEN];
	const char *name = rep->client_name != NULL ? rep->client_name : "";
	uint64_t h, now;

	*suppressed = 0;
	if (outcome != MX_OUT_REFUSED && outcome != MX_OUT_ERROR)
		return 1;
	if (ls == NULL) {
		if ((ls = calloc(1, sizeof(*ls))) == NULL)
			return 1;
		if ((ls->flush = evtimer_new(l->base, lines_flush_cb, ls)) == NULL) {
			free(ls);
			return 1;
		}
		if (RAND_bytes((unsigned char *)&ls->seed, sizeof(ls->seed)) != 1)
			ls->seed = dp_now_ms() ^ (uint64_t)getpid() << 32;
		ls->l = l;
		l->lines = ls;
	}
	peer_ip(peer, ip, sizeof(ip));
	h = line_hash(ls->seed, ip, name, (int)outcome, rep->hs_reason);
	k = &ls->slot[h % CONN_REFUSAL_LINES_SLOTS];
	now = dp_now_ms();
	if (k->hash == h && k->outcome == (int)outcome &&
	    k->hs_reason == rep->hs_reason && strcmp(k->ip, ip) == 0 &&
	    strncmp(k->name, name, sizeof(k->name) - 1) == 0) {
		if (now - k->logged_ms < CONN_REFUSAL_LINES_MS) {
			if (k->suppressed++ == 0 && !evtimer_pending(ls->flush, NULL))
				lines_arm(ls, now);
			mx_log_suppressed(l->mx);
			return 0;
		}
		*suppressed = k->suppressed;
		k->suppressed = 0;
		k->logged_ms = now;
		return 1;
	}
	/* A new key, in a free slot or over another key (whose left-out
	 * lines are reported first: none goes unsaid). */
	if (k->suppressed > 0)
		line_flush(l, k, now);
	k->hash = h;
	k->logged_ms = now;
	k->suppressed = 0;
	k->outcome = (int)outcome;
	k->hs_reason = rep->hs_reason;
	dp_strlcpy(k->ip, ip, sizeof(k->ip));
	dp_strlcpy(k->name, name, sizeof(k->name));
	return 1;
}

/* --- the base of both roles */

void
conn_listener_init(struct conn_listener *l, const struct conn_ops *ops,
    struct event_base *base, const char *name, const struct dp_addr *listen,
    const struct conf_where *where, const struct conf_cidrs *allow_from,
    unsigned max_connections, unsigned max_handshakes,
    struct mx_listener *mx)
{
	l->ops = ops;
	l->base = base;
	l->name = name;
	l->listen = listen;
	l->where = where;
	l->allow_from = allow_from;
	l->max_connections = max_connections;
	l->max_handshakes = max_handshakes;
	l->mx = mx;
	LIST_INIT(&l->conns);
}

/* The limits, in order; 1: admitted (counted as open in mx). */
static int
admit(struct conn_listener *l, const struct sockaddr *sa)
{
	if (!source_allowed(l->allow_from, sa, l->mx, &l->denied, l->name))
		return 0;
	if (l->n_conns >= l->max_connections) {
		mx_conn_limit(l->mx);
		conn_refused(&l->refused_conns, l->name,
		    "connections open (max_connections)", l->max_connections);
		return 0;
	}
	if (l->n_handshaking >= l->max_handshakes) {
		mx_conn_limit(l->mx);
		mx_handshake_failure(l->mx, MX_HS_BUSY);
		conn_refused(&l->refused_hs, l->name,
		    "handshakes in progress (max_handshakes)", l->max_handshakes);
		return 0;
	}
	if (mx_conn_open(l->mx) != DP_OK) {
		/* This listener's other workers hold the rest. */
		conn_refused(&l->refused_conns, l->name,
		    "connections open (max_connections)", l->max_connections);
		return 0;
	}
	return 1;
}

/* Closing at once a connection the limits refuse: no TLS, no alert, no
 * line each. */
static void
accept_cb(void *arg, evutil_socket_t fd, struct sockaddr *sa, int salen)
{
	struct conn_listener *l = arg;
	struct conn *c;

	if (!admit(l, sa)) {
		close(fd);
		return;
	}
	if ((c = calloc(1, l->ops->conn_size)) == NULL) {
		mx_conn_close(l->mx, MX_OUT_ERROR, 0, 0);
		close(fd);
		return;
	}
	c->l = l;
	c->phase = CONN_HANDSHAKE;
	c->start_ms = dp_now_ms();
	log_conn_id(c->id, sizeof(c->id));
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen :
	    sizeof(c->peer));
	dp_addr_str(sa, c->peer_str, sizeof(c->peer_str));
	LIST_INSERT_HEAD(&l->conns, c, link);
	l->n_conns++;
	l->n_handshaking++;
	l->ops->start(c, fd);
}

int
conn_listener_start(struct conn_listener *l, int fd)
{
	return dp_listener_start(l->base, l->listen, fd, l->name, accept_cb, l,
	    &l->listener);
}

void
conn_listener_stop(struct conn_listener *l)
{
	struct conn *c;

	dp_listener_free(l->listener);
	l->listener = NULL;
	/* Idle keep-alive HTTP connections close now, busy ones after their
	 * answer, instead of lingering until the drain timeout cuts them. */
	LIST_FOREACH(c, &l->conns, link)
		http_relay_drain(c->hrelay);
}

unsigned
conn_listener_active(const struct conn_listener *l)
{
	return l->n_conns;
}

void
conn_listener_free(struct conn_listener *l)
{
	if (l == NULL)
		return;
	conn_listener_stop(l);
	while (!LIST_EMPTY(&l->conns))
		l->ops->close(LIST_FIRST(&l->conns), MX_OUT_ERROR, "shutting down");
	lines_free(l->lines);	/* what was left out, said now */
	l->lines = NULL;
	if (l->ops->free != NULL)
		l->ops->free(l);
	tlsa_matcher_free(l->rules.matcher);
	SSL_CTX_free(l->ctx);
	free(l);
}

void
conn_established(struct conn *c)
{
	if (c->phase == CONN_HANDSHAKE) {
		c->phase = CONN_ESTABLISHED;
		c->l->n_handshaking--;
	}
}

/* The line a re-check writes about a live connection. */
static void
recheck_log(struct conn *c, int level, const char *result, const char *what)
{
	struct log_kv kv[] = {
		{ "id", c->id },
		{ "role", c->l->ops->role },
		{ "listener", c->l->name },
		{ "peer", c->peer_str },
		{ "tlsa_name", recheck_watch_name(&c->watch) },
		{ "recheck", result },
		{ "reason", what },
	};

	log_event(level, "recheck", kv, (int)(sizeof(kv) / sizeof(kv[0])));
}

/* recheck = close: now, or in HTTP mode after the response in flight. */
static void
conn_revoke(struct conn *c, const char *why)
{
	size_t n = sizeof("revoked: ") + strlen(why);

	recheck_watch_stop(&c->watch);	/* nothing more to hear */
	if ((c->revoked = malloc(n)) != NULL)
		snprintf(c->revoked, n, "revoked: %s", why);
	if (c->hrelay != NULL && c->revoked != NULL &&
	    http_relay_close_after_response(c->hrelay, c->revoked))
		return;
	c->l->ops->close(c, MX_OUT_REVOKED, c->revoked != NULL ? c->revoked :
	    "revoked");
}

static void
recheck_event(void *arg, enum recheck_event ev, const char *why)
{
	struct conn *c = arg;
	struct conn_listener *l = c->l;
	int closing = l->rules.recheck == RECHECK_CLOSE;

	switch (ev) {
	case RECHECK_VALID:
		mx_recheck(l->mx, MX_RC_VALID);
		recheck_log(c, DP_LOG_DEBUG, "valid", why);
		return;
	case RECHECK_RESTORED:
		mx_recheck(l->mx, MX_RC_RESTORED);
		recheck_log(c, DP_LOG_INFO, "restored", why);
		return;
	case RECHECK_REVOKED:
	case RECHECK_DNS_FAILING:
		mx_recheck(l->mx, ev == RECHECK_DNS_FAILING ? MX_RC_DNS_FAILING :
		    closing ? MX_RC_CLOSED : MX_RC_REVOKED);
		recheck_log(c, DP_LOG_WARN, closing ? "revoked, closing" :
		    "revoked, kept (recheck = log)", why);
		if (closing)
			conn_revoke(c, why);	/* may end c */
		return;
	}
}

void
conn_watch(struct conn *c, const char *name, struct tlsa_answer *ans,
    SSL *ssl, const char *match_name)
{
	const struct dane_rules *r = &c->l->rules;
	int e;

	if (r->rechecks == NULL || r->recheck == RECHECK_OFF || ans == NULL ||
	    ans->status != DNS_SECURE)
		return;
	if ((e = recheck_watch_start(r->rechecks, &c->watch, name, ans, r, ssl,
	    match_name, recheck_event, c)) != DP_OK)
		log_warn("conn %s: %s is not re-checked: %s", c->id, name,
		    dp_strerror(e));
}

void
conn_end(struct conn *c, enum mx_outcome outcome, struct conn_report *rep)
{
	struct conn_listener *l = c->l;
	uint64_t suppressed;

	if (c->revoked != NULL && rep->reason == c->revoked)
		outcome = MX_OUT_REVOKED;	/* closed after its response */
	rep->role = l->ops->role;
	rep->id = c->id;
	rep->listener = l->name;
	rep->peer = c->peer_str;
	rep->outcome = mx_outcome_name(outcome);
	rep->start_ms = c->start_ms;
	if (c->relay != NULL) {
		rep->bytes_in = relay_stats(c->relay)->a_to_b;
		rep->bytes_out = relay_stats(c->relay)->b_to_a;
	} else if (c->hrelay != NULL) {
		rep->bytes_in = http_relay_stats(c->hrelay)->a_to_b;
		rep->bytes_out = http_relay_stats(c->hrelay)->b_to_a;
	}
	if (line_due(l, &c->peer, outcome, rep, &suppressed))
		conn_log(rep, suppressed);
	mx_conn_close(l->mx, outcome, rep->bytes_in, rep->bytes_out);
	recheck_watch_stop(&c->watch);
	free(c->revoked);
	c->revoked = NULL;
	relay_free(c->relay);
	c->relay = NULL;
	http_relay_free(c->hrelay);
	c->hrelay = NULL;
	conn_established(c);
	LIST_REMOVE(c, link);
	l->n_conns--;
}
