/* conn.c — see conn.h. */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

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


/* The line every connection ends with. */
static void
conn_log(const struct conn_report *r)
{
	char in[24], out[24], ms[24];
	int ok = strcmp(r->outcome, "ok") == 0;

	snprintf(in, sizeof(in), "%llu", (unsigned long long)r->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)r->bytes_out);
	snprintf(ms, sizeof(ms), "%llu",
	    (unsigned long long)(dp_now_ms() - r->start_ms));
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
	};
	log_event(ok ? DP_LOG_INFO : DP_LOG_WARN, "conn", kv,
	    (int)(sizeof(kv) / sizeof(kv[0])));
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

	if (r->rechecks == NULL || r->recheck == RECHECK_OFF || ans == NULL ||
	    ans->status != DNS_SECURE)
		return;
	if (recheck_watch_start(r->rechecks, &c->watch, name, ans, r, ssl,
	    match_name, recheck_event, c) != DP_OK)
		log_warn("conn %s: out of memory: %s is not re-checked", c->id,
		    name);
}

void
conn_end(struct conn *c, enum mx_outcome outcome, struct conn_report *rep)
{
	struct conn_listener *l = c->l;

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
	conn_log(rep);
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
