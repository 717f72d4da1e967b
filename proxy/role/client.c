/* client.c — see client.h. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "cache.h"
#include "conn.h"
#include "dane.h"
#include "err.h"
#include "httprelay.h"
#include "metrics.h"
#include "relay.h"
#include "staple.h"
#include "tls.h"
#include "util.h"

/* Sessions older than this are not offered (RFC 8446 allows a week; a
 * shorter life bounds how long a changed PKIX trust decision is skipped). */
#define CLIENT_SESSION_MAX_AGE_S 3600

struct client_route {
	struct conn_listener base;	/* first: conn.c's part, with the TLS
					 * context and the DANE rules (cache NULL
					 * with verify_server = pkix; the matcher
					 * re-checks resumed sessions) */
	const struct conf_client *conf;
	SSL_SESSION *session;		/* the latest session the remote gave us */
	struct http_relay_opts hopts;	/* forward = http with header_out */
	const char *hdrop[1];
	struct http1_add hadd[1];
	struct evdns_base *dns;		/* only when connect is a host name */
	struct dp_addr remote;		/* when connect is an IP literal */
	int remote_literal;
	struct staple *staple;		/* staple_chain: our own chain; else NULL */
	struct tls_chain_source chain_src; /* what the TLS context asks it */
};

struct cconn {
	struct conn base;		/* first: conn.c's part */
	struct client_route *rt;
	evutil_socket_t lfd;		/* the local client, plain TCP: nothing is
					 * read from it before the remote is
					 * authenticated */
	struct bufferevent *lbev;	/* forward = http: lfd's (then -1) */
	struct bufferevent *tbev;	/* TLS to the remote */
	struct evdns_getaddrinfo_request *gai;
	struct dane_check dane;		/* the remote's TLSA answer, kept to
					 * re-check a resumption */
	char auth[24];			/* how the remote is authenticated: "3 1 1", "pkix" */
	struct event *timer;		/* resolve + connect + handshake */
	char reason_buf[200];
	int hs_fail;			/* enum mx_hs_reason counted, or -1: the
					 * log line's rate limit keys on it */
};

/* Ends the connection: logs its line, counts it, frees everything. */
static void
cconn_end(struct cconn *c, enum mx_outcome outcome, const char *reason)
{
	SSL *ssl = c->tbev != NULL ? bufferevent_openssl_get_ssl(c->tbev) : NULL;
	struct conn_report rep = {
		.client_name = c->rt->conf->client_name,
		.tlsa = c->auth[0] != '\0' ? c->auth : NULL,
		.reason = reason,
		.hs_reason = c->hs_fail,
		.tls_version = ssl != NULL && SSL_is_init_finished(ssl) ?
		    SSL_get_version(ssl) : NULL,
	};

	conn_end(&c->base, outcome, &rep);
	dane_check_clear(&c->dane);
	if (c->gai != NULL)
		evdns_getaddrinfo_cancel(c->gai);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->tbev != NULL)
		bufferevent_free(c->tbev);
	if (c->lbev != NULL)
		bufferevent_free(c->lbev);
	else if (c->lfd >= 0)
		close(c->lfd);
	free(c);
}

/* The remote could not be reached or authenticated: in HTTP mode the local
 * client hears 502 (a few bytes on a fresh socket: sent at once). */
static void
cconn_fail(struct cconn *c, const char *reason)
{
	if (c->rt->conf->forward == FORWARD_HTTP && c->base.relay == NULL &&
	    c->base.hrelay == NULL) {
		/* A mismatch's details (after "; ") are for the log line:
		 * the local client hears the short reason. */
		int len = (int)strcspn(reason, ";");
		char resp[400];
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 502 Bad Gateway\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %d\r\n"
		    "Connection: close\r\n\r\n%.*s\n", len + 1, len, reason);

		if (n > 0 && (size_t)n < sizeof(resp))
			(void)send(c->lfd, resp, (size_t)n,
			    MSG_NOSIGNAL);
	}
	cconn_end(c, MX_OUT_ERROR, reason);
}

/* The remote was not authenticated (why), or not reached (cconn_fail_up):
 * counted, then as cconn_fail. */
static void
cconn_fail_hs(struct cconn *c, enum mx_hs_reason why, const char *reason)
{
	mx_handshake_failure(c->base.l->mx, why);
	c->hs_fail = (int)why;
	cconn_fail(c, reason);
}

static void
cconn_fail_up(struct cconn *c, enum mx_up_reason why, const char *reason)
{
	mx_upstream_error(c->base.l->mx, why);
	cconn_fail(c, reason);
}

/* Bytes of TLS written to the remote: 0 while the TCP connection is not
 * established (libevent starts the handshake as soon as it is). */
static uint64_t
remote_bytes_written(struct cconn *c)
{
	SSL *ssl = c->tbev != NULL ? bufferevent_openssl_get_ssl(c->tbev) : NULL;
	BIO *wbio = ssl != NULL ? SSL_get_wbio(ssl) : NULL;

	return wbio != NULL ? BIO_number_written(wbio) : 0;
}

static void
relay_done(void *arg, const struct relay_stats *st, const char *reason)
{
	cconn_end(arg, MX_OUT_OK, reason);
}

/* The resumed session's certificate verifies now by PKIX: ca_file, purpose
 * sslserver, server_name. */
static int
pkix_still_valid(struct client_route *rt, SSL *ssl)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	X509_STORE_CTX *xs = NULL;
	int ok = 0;

	if (peer == NULL || (xs = X509_STORE_CTX_new()) == NULL)
		goto out;
	if (!X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(rt->base.ctx), peer,
	    SSL_get_peer_cert_chain(ssl)) ||
	    !X509_STORE_CTX_set_default(xs, "ssl_server") ||
	    !X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(xs),
	    rt->conf->server_name, 0))
		goto out;
	ok = X509_verify_cert(xs) == 1;
 out:
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return ok;
}

/* A resumed session skips certificate verification: check the certificate
 * it carries against the TLSA RRset looked up for this connection, or by
 * PKIX when there is none, as a full handshake would have, before a byte of
 * the local client goes out. */
static int
resumed_still_valid(struct cconn *c, SSL *ssl)
{
	struct client_route *rt = c->rt;
	X509 *peer = SSL_get0_peer_certificate(ssl);

	if (c->dane.answer == NULL) {
		/* PKIX now (chosen, or fallen back to because the records are
		 * gone): the session may have been authenticated by DANE
		 * alone, and resumption skips verification. */
		if (pkix_still_valid(rt, ssl)) {
			dp_strlcpy(c->auth, "pkix resumed", sizeof(c->auth));
			return 1;
		}
		SSL_SESSION_free(rt->session);	/* never offer it again */
		rt->session = NULL;
		cconn_fail_hs(c, MX_HS_MISMATCH, "resumed session: the remote's "
		    "certificate does not verify by PKIX (its TLSA records are gone)");
		return 0;
	}
	if (peer != NULL)
		dane_match(&c->dane, peer, SSL_get_peer_cert_chain(ssl),
		    rt->conf->server_name);
	else
		dane_failed_by_tls(&c->dane, ssl,
		    "resumed session without a certificate");
	if (c->dane.verdict == DANE_MATCHED) {
		snprintf(c->auth, sizeof(c->auth), "%s resumed", c->dane.tlsa);
		return 1;
	}
	SSL_SESSION_free(rt->session);	/* never offer it again */
	rt->session = NULL;
	cconn_fail_hs(c, MX_HS_MISMATCH,
	    "resumed session no longer matches the remote's TLSA records");
	return 0;
}

/* Keeps the newest resumable session of the route (TLS 1.3 tickets arrive
 * after the handshake). Returns 1: the reference is ours. */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct cconn *c = SSL_get_ex_data(ssl, tls_conn_index());

	if (c == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION_free(c->rt->session);
	c->rt->session = sess;
	return 1;
}

/* The remote is authenticated: relay. forward = http parses on
 * bufferevents; otherwise the relay moves bytes between the two sockets
 * itself, tbev (which did the connect and the handshake) kept idle as the
 * owner of the remote's socket and SSL. */
static int
relay_go(struct cconn *c, SSL *ssl)
{
	struct event_base *base = c->base.l->base;
	struct relay_end local = { c->lfd, NULL, "client" };
	struct relay_end remote = { bufferevent_getfd(c->tbev), ssl, "remote" };

	if (c->rt->hopts.rw.n_add > 0) {
		if ((c->lbev = bufferevent_socket_new(base, c->lfd,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL)
			return DP_ERR_NOMEM;
		c->lfd = -1;	/* lbev's */
		return http_relay_start(base, c->lbev, c->tbev, &c->rt->hopts,
		    relay_done, c, &c->base.hrelay);
	}
	bufferevent_disable(c->tbev, EV_READ | EV_WRITE);
	/* The handshake just ended: libevent has read nothing past it. */
	if (evbuffer_get_length(bufferevent_get_input(c->tbev)) != 0)
		return DP_ERR_INTERNAL;
	return relay_start(base, &local, &remote, c->rt->conf->idle_timeout_ms,
	    relay_done, c, &c->base.relay);
}

static void
tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cconn *c = arg;
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		int r;

		event_del(c->timer);
		conn_established(&c->base);
		if (SSL_session_reused(ssl)) {
			if (!resumed_still_valid(c, ssl))
				return;
		} else if (c->dane.answer != NULL) {	/* DANE was in force */
			if (!dane_matched_by_tls(&c->dane, ssl)) {
				cconn_fail_hs(c, c->dane.why, c->dane.reason);
				return;
			}
			dp_strlcpy(c->auth, c->dane.tlsa, sizeof(c->auth));
		}
		dp_tcp_nodelay(bufferevent_getfd(c->tbev));
		if ((r = relay_go(c, ssl)) != DP_OK) {
			cconn_end(c, MX_OUT_ERROR, r == DP_ERR_NOMEM ?
			    "out of memory" : "remote sent data during the handshake");
			return;
		}
		if (c->dane.verdict == DANE_MATCHED)
			conn_watch(&c->base, c->rt->conf->tlsa_name,
			    c->dane.answer, ssl, c->rt->conf->server_name);
		return;
	}
	if (remote_bytes_written(c) == 0) {
		/* Nothing ever went out: the TCP connection failed (libevent
		 * reports it as a TLS I/O error or a dirty EOF). */
		int se = EVUTIL_SOCKET_ERROR();
		snprintf(c->reason_buf, sizeof(c->reason_buf), "remote connect: %s",
		    se != 0 ? strerror(se) : "connection failed");
		cconn_fail_up(c, MX_UP_CONNECT, c->reason_buf);
	} else if ((e = bufferevent_get_openssl_error(bev)) != 0 &&
	    ERR_GET_LIB(e) != 0) {
		/* (Library 0: libevent's note of an SSL_ERROR_SYSCALL, the
		 * remote closed or reset: below.) */
		long v = SSL_get_verify_result(ssl);
		char buf[120];

		ERR_error_string_n(e, buf, sizeof(buf));
		if (v != X509_V_OK) {
			snprintf(c->reason_buf, sizeof(c->reason_buf),
			    "remote not authenticated: %s",
			    X509_verify_cert_error_string(v));
			if (c->dane.answer != NULL)	/* DANE was in force */
				dane_failed_by_tls(&c->dane, ssl, c->reason_buf);
			/* With DANE: what was presented, what was published. */
			cconn_fail_hs(c, MX_HS_MISMATCH, c->dane.answer != NULL ?
			    c->dane.reason : c->reason_buf);
		} else {
			snprintf(c->reason_buf, sizeof(c->reason_buf),
			    "remote TLS: %s", buf);
			cconn_fail_hs(c, MX_HS_TLS, c->reason_buf);
		}
	} else {
		int se = EVUTIL_SOCKET_ERROR();
		snprintf(c->reason_buf, sizeof(c->reason_buf), "remote: %s",
		    (what & BEV_EVENT_EOF) || se == 0 ? "closed during handshake" :
		    strerror(se));
		cconn_fail_hs(c, MX_HS_CLOSED, c->reason_buf);
	}
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cconn *c = arg;

	/* Waiting for the TLSA answer counts as handshake time, as for the
	 * server role; resolving and connecting as connect time. */
	if (!dane_waiting(&c->dane) &&
	    (c->gai != NULL || remote_bytes_written(c) == 0))
		cconn_fail_up(c, MX_UP_CONNECT_TIMEOUT, "remote connect timeout");
	else
		cconn_fail_hs(c, MX_HS_TIMEOUT, "remote handshake timeout");
}

static void
connect_remote(struct cconn *c, const struct sockaddr *sa, socklen_t len)
{
	if (bufferevent_socket_connect(c->tbev, sa, (int)len) != 0) {
		snprintf(c->reason_buf, sizeof(c->reason_buf), "remote connect: %s",
		    strerror(errno));
		cconn_fail_up(c, MX_UP_CONNECT, c->reason_buf);
	}
}

static void
resolved_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct cconn *c = arg;

	/* Cancelled by cconn_end: c is freed already, touch nothing. */
	if (err == EVUTIL_EAI_CANCEL)
		return;
	c->gai = NULL;
	if (err != 0 || res == NULL) {
		snprintf(c->reason_buf, sizeof(c->reason_buf), "resolve %s: %s",
		    c->rt->conf->connect_host, evutil_gai_strerror(err));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		cconn_fail_up(c, MX_UP_CONNECT, c->reason_buf);
		return;
	}
	connect_remote(c, res->ai_addr, res->ai_addrlen);
	evutil_freeaddrinfo(res);
}

/* Resolves the remote's address (if it is a name) and connects. */
static void
remote_go(struct cconn *c)
{
	struct client_route *rt = c->rt;
	const struct conf_client *cc = rt->conf;
	struct evdns_getaddrinfo_request *req;
	struct evutil_addrinfo hints;
	char port[8];

	if (rt->remote_literal) {
		connect_remote(c, (struct sockaddr *)&rt->remote.ss, rt->remote.len);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", cc->connect_port);
	req = evdns_getaddrinfo(rt->dns, cc->connect_host, port, &hints,
	    resolved_cb, c);
	/* NULL: resolved_cb already ran, and c may be gone. */
	if (req != NULL)
		c->gai = req;
}

/* The remote's TLSA answer is in (dane.h step 1): DANE with the records,
 * PKIX, or no connection at all. */
static void
remote_looked_up(void *arg, struct dane_check *d)
{
	struct cconn *c = arg;
	int usable;

	if (d->verdict == DANE_RECORDS) {
		usable = tls_client_use_tlsa(bufferevent_openssl_get_ssl(c->tbev),
		    c->rt->conf, &d->answer->rrset);
		if (usable < 0) {
			cconn_fail_hs(c, MX_HS_TLS, "remote TLSA records: TLS error");
			return;
		}
		if (usable == 0)
			dane_unusable(d);
	}
	switch (d->verdict) {
	case DANE_RECORDS:
		remote_go(c);
		return;
	case DANE_PKIX:
		dp_strlcpy(c->auth, "pkix", sizeof(c->auth));
		remote_go(c);
		return;
	default:
		cconn_fail_hs(c, d->why, d->reason);
		return;
	}
}

static void
cconn_start(struct conn *base, evutil_socket_t fd)
{
	struct cconn *c = (struct cconn *)base;
	struct client_route *rt = (struct client_route *)base->l;
	const struct conf_client *cc = rt->conf;
	SSL *ssl = NULL;
	struct timeval tv;

	c->rt = rt;
	c->lfd = fd;
	c->hs_fail = -1;
	if ((c->timer = evtimer_new(rt->base.base, timeout_cb, c)) == NULL ||
	    (ssl = SSL_new(rt->base.ctx)) == NULL ||
	    tls_client_prepare(ssl, cc) != DP_OK ||
	    !SSL_set_ex_data(ssl, tls_conn_index(), c)) {
		SSL_free(ssl);
		cconn_end(c, MX_OUT_ERROR, "out of memory");
		return;
	}
	/* Offer the route's last session while it is young: a resumption is
	 * re-checked against the TLSA records anyway. */
	if (rt->session != NULL &&
	    (uint64_t)time(NULL) < (uint64_t)SSL_SESSION_get_time(rt->session) +
	    CLIENT_SESSION_MAX_AGE_S)
		SSL_set_session(ssl, rt->session);
	c->tbev = bufferevent_openssl_socket_new(rt->base.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->tbev == NULL) {
		/* libevent freed ssl already (BEV_OPT_CLOSE_ON_FREE). */
		cconn_end(c, MX_OUT_ERROR, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->tbev, 1);
	bufferevent_setcb(c->tbev, NULL, NULL, tls_event_cb, c);
	bufferevent_enable(c->tbev, EV_READ | EV_WRITE);
	tv = dp_ms_tv((uint64_t)cc->connect_timeout_ms + cc->handshake_timeout_ms);
	event_add(c->timer, &tv);

	if (cc->verify_server == VERIFY_PKIX) {
		dp_strlcpy(c->auth, "pkix", sizeof(c->auth));
		remote_go(c);
		return;
	}
	dane_lookup(&c->dane, &rt->base.rules, cc->tlsa_name, remote_looked_up, c);
}

static void
cconn_close(struct conn *c, enum mx_outcome outcome, const char *reason)
{
	cconn_end((struct cconn *)c, outcome, reason);
}

static void
route_free(struct conn_listener *base)
{
	struct client_route *rt = (struct client_route *)base;

	if (rt->dns != NULL)
		evdns_base_free(rt->dns, 1);
	SSL_SESSION_free(rt->session);
	staple_free(rt->staple);
}

static size_t
route_chain(void *arg, const unsigned char **data)
{
	return staple_get(arg, data);
}

/* staple_chain: the route's own chain, built from now on through the
 * worker's DNS client, stopping at [dns]'s anchors. */
static int
route_staple(struct client_route *rt, const struct dane_shared *sh, FILE *errs)
{
	const struct conf_client *cc = rt->conf;
	char err[256];
	int r;

	if (sh->cache == NULL || sh->trust_anchor_file == NULL) {
		dp_strlcpy(err, "no DNS client", sizeof(err));
		r = DP_ERR_INVALID;
	} else {
		r = staple_new(rt->base.base, tlsa_cache_dns(sh->cache),
		    cc->client_name, sh->trust_anchor_file, &rt->staple, err,
		    sizeof(err));
	}
	if (r != DP_OK) {
		if (errs != NULL)
			fprintf(errs, "%s:%d: staple_chain: %s\n", cc->where.file,
			    cc->where.line, err);
		return r;
	}
	rt->chain_src = (struct tls_chain_source){ route_chain, rt->staple };
	return DP_OK;
}

static const struct conn_ops client_ops = {
	.role = "client",
	.conn_size = sizeof(struct cconn),
	.start = cconn_start,
	.close = cconn_close,
	.free = route_free,
};

struct dane_rules
client_dane_rules(const struct conf_client *cc, struct tlsa_cache *cache,
    struct mx_listener *mx)
{
	return (struct dane_rules){
		.pkix_fallback = cc->verify_server == VERIFY_DANE_OR_PKIX,
		.peer = TLSA_PEER_SERVER,
		.cache = cache,
		.mx = mx,
		.recheck = cc->recheck,
		.recheck_grace_ms = cc->recheck_grace_ms,
	};
}

int
client_route_new(struct event_base *base, const struct conf_client *cc,
    const struct dane_shared *sh, FILE *errs, struct conn_listener **out)
{
	struct client_route *rt;
	char addr[DP_ADDR_STRLEN + 8];
	int r;

	*out = NULL;
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return DP_ERR_NOMEM;
	/* max_handshakes is the server role's: the client role's handshakes
	 * are its own, one per local connection. */
	conn_listener_init(&rt->base, &client_ops, base, cc->name, &cc->listen,
	    &cc->where, &cc->allow_from, cc->max_connections, UINT_MAX,
	    mx_listener_get(MX_CLIENT, cc->name));
	rt->conf = cc;
	rt->base.rules = client_dane_rules(cc, sh->cache, rt->base.mx);
	rt->base.rules.rechecks = sh->rechecks;
	rt->hopts.mx = rt->base.mx;
	if (cc->forward == FORWARD_HTTP && cc->header_out[0] != '\0') {
		/* The local client's own copies of the header go; ours comes. */
		rt->hdrop[0] = cc->header_out;
		rt->hadd[0] = (struct http1_add){ cc->header_out, cc->client_name };
		rt->hopts.rw.managed = rt->hdrop;
		rt->hopts.rw.n_managed = 1;
		rt->hopts.rw.add = rt->hadd;
		rt->hopts.rw.n_add = 1;
		rt->hopts.rw.upgrade_protocols = cc->upgrade_protocols;
		rt->hopts.rw.underscores = (enum http1_underscores)cc->underscores;
		rt->hopts.limits.max_head = cc->max_request_head;
		rt->hopts.limits.max_headers = cc->max_request_headers;
		rt->hopts.idle_timeout_ms = cc->idle_timeout_ms;
	}
	if (cc->staple_chain && (r = route_staple(rt, sh, errs)) != DP_OK)
		goto fail;
	if ((r = tls_client_ctx_new(cc, rt->staple != NULL ? &rt->chain_src :
	    NULL, errs, &rt->base.ctx)) != DP_OK)
		goto fail;
	SSL_CTX_set_session_cache_mode(rt->base.ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(rt->base.ctx, new_session_cb);
	if (cc->verify_server != VERIFY_PKIX &&
	    (r = tlsa_matcher_new(cc->ca_file, &rt->base.rules.matcher)) != DP_OK)
		goto fail;
	snprintf(addr, sizeof(addr), strchr(cc->connect_host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", cc->connect_host, cc->connect_port);
	rt->remote_literal = dp_addr_parse(addr, &rt->remote) == DP_OK;
	if (!rt->remote_literal &&
	    (rt->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s:%d: connect: cannot set up name resolution "
			    "for %s\n", cc->where.file, cc->where.line, cc->connect_host);
		r = DP_ERR_DNS;
		goto fail;
	}
	*out = &rt->base;
	return DP_OK;
 fail:
	conn_listener_free(&rt->base);
	return r;
}
