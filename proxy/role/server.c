/* server.c — see server.h. Accept, the handshake and the DANE decision;
 * server_up.c takes the connection on from the finished handshake. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/async.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "sconn.h"
#include "util.h"

/* Handshake steps run after DNS and relay events (see worker.c). */
#define HS_PRIORITY 2

static void hs_step(struct sconn *c);

/* --- lifetime */

/* Records why the handshake does not authenticate the client: the text for
 * the log line, the reason for the metrics. */
static void
sconn_refuse(struct sconn *c, enum mx_hs_reason why, const char *text)
{
	c->reason = text;
	c->hs_fail = (int)why;
}

/* Counts the handshake failure recorded, once. */
static void
hs_fail_count(struct sconn *c)
{
	if (c->hs_fail < 0)
		return;
	mx_handshake_failure(c->base.l->mx, (enum mx_hs_reason)c->hs_fail);
	c->hs_fail = -1;
}

/* The handshake job waits in verify_cb. */
static int
job_paused(const struct sconn *c)
{
	return c->state == SC_PAUSED || c->state == SC_CHECKING;
}

void
sconn_end(struct sconn *c, enum mx_outcome outcome, const char *reason,
    int linger)
{
	int matched = sconn_authenticated(c);
	struct conn_report rep = {
		.client_name = c->name,
		.tlsa = matched ? c->dane.tlsa : NULL,
		.tlsa_wildcard = matched && c->dane.wildcard[0] != '\0' ?
		    c->dane.wildcard : NULL,
		.reason = reason,
		.hs_reason = c->hs_fail,
		.tls_version = c->ssl != NULL && SSL_is_init_finished(c->ssl) ?
		    SSL_get_version(c->ssl) : NULL,
	};

	conn_end(&c->base, outcome, &rep);
	hs_fail_count(c);
	if (job_paused(c) && c->ssl != NULL) {
		/* A paused job is not freed by SSL_free: let it run to its end. */
		c->state = SC_ABORTED;
		(void)SSL_do_handshake(c->ssl);
		ERR_clear_error();
	}
	dane_check_clear(&c->dane);
	if (c->hs != NULL)
		tls_clientid_clear(&c->hs->cid);
	free(c->hs);
	if (c->http != NULL) {
		/* The relay's end cancelled any wait; in case it did not. */
		sconn_ts002_cancel(c, NULL);
		free(c->http->client_cert);
		free(c->http->client_cert_chain);
		free(c->http);
	}
	free(c->reason_alloc);
	free(c->cert_name);
	free(c->name);
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ubev != NULL)
		bufferevent_free(c->ubev);
	else if (c->ufd >= 0)
		close(c->ufd);
	if (c->cbev != NULL) {
		/* Owns ssl and fd (BEV_OPT_CLOSE_ON_FREE). */
		bufferevent_free(c->cbev);
	} else {
		SSL_free(c->ssl);
		if (c->fd >= 0) {
			if (linger)
				conn_linger_close(c->base.l->base, c->fd);
			else
				close(c->fd);
		}
	}
	free(c);
}

void
sconn_timer_arm(struct sconn *c, unsigned ms)
{
	struct timeval tv = dp_ms_tv(ms);

	event_add(c->timer, &tv);
}

/* --- verification, on the event loop while the handshake job is paused */

/* pick_identity's work: the name into name, the DANE-TA match name into
 * c->hs->cert_name. */
static int
pick_name(struct sconn *c, char *name, size_t name_size)
{
	const struct conf_server *cs = sconn_listener(c)->conf;
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *dns = NULL;
	char san[CLIENTID_NAME_MAX + 1];
	int i, n, r = DP_ERR_DENIED;

	if (c->hs->cid.seen) {
		dp_strlcpy(name, c->hs->cid.name, name_size);
		dp_strlcpy(c->hs->cert_name, name, sizeof(c->hs->cert_name));
		return DP_OK;
	}
	if (cs->identity != IDENTITY_EXTENSION_OR_SAN) {
		sconn_refuse(c, MX_HS_NO_CLIENTID, "no dane_clientid extension");
		return DP_ERR_DENIED;
	}
	gens = X509_get_ext_d2i(c->hs->leaf, NID_subject_alt_name, NULL, NULL);
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		if (dns != NULL) {
			sconn_refuse(c, MX_HS_NO_CLIENTID,
			    "no dane_clientid and several SAN dNSNames");
			goto out;
		}
		dns = g;
	}
	if (dns == NULL) {
		sconn_refuse(c, MX_HS_NO_CLIENTID,
		    "no dane_clientid and no SAN dNSName");
		goto out;
	}
	n = ASN1_STRING_length(dns->d.dNSName);
	if (n <= 0 || (size_t)n >= sizeof(san) ||
	    dp_dns_name_check((const char *)ASN1_STRING_get0_data(dns->d.dNSName),
	    (size_t)n) != DP_OK) {
		sconn_refuse(c, MX_HS_NO_CLIENTID,
		    "SAN dNSName is not a valid name");
		goto out;
	}
	memcpy(san, ASN1_STRING_get0_data(dns->d.dNSName), (size_t)n);
	san[n] = '\0';
	dp_str_lower(san);
	dp_strlcpy(c->hs->cert_name, san, sizeof(c->hs->cert_name));
	if (cs->san_tlsa_prefix != NULL && cs->san_tlsa_prefix[0] != '\0') {
		if ((size_t)snprintf(name, name_size, "%s.%s",
		    cs->san_tlsa_prefix, san) >= name_size ||
		    dp_dns_name_check(name, strlen(name)) != DP_OK) {
			sconn_refuse(c, MX_HS_NO_CLIENTID,
			    "prefixed SAN name too long");
			goto out;
		}
	} else {
		dp_strlcpy(name, san, name_size);
	}
	r = DP_OK;
 out:
	GENERAL_NAMES_free(gens);
	return r;
}

/* The identity to look up, c->name: the ClientName, or with identity =
 * extension-or-san and no extension, the single SAN dNSName (prefixed). */
static int
pick_identity(struct sconn *c)
{
	char name[CLIENTID_NAME_MAX + 1];
	int r;

	if ((r = pick_name(c, name, sizeof(name))) != DP_OK)
		return r;
	if ((c->name = strdup(name)) == NULL) {
		sconn_refuse(c, MX_HS_TLS, "out of memory");
		return DP_ERR_NOMEM;
	}
	return DP_OK;
}

/* The check is over (state SC_DECIDED or SC_ABORTED): resume the job. */
static void
verify_resume(struct sconn *c, enum sconn_state state)
{
	c->state = state;
	hs_step(c);
}

/* Step 1 of the DANE decision is over; step 2 here, then resume. */
static void
dane_looked_up(void *arg, struct dane_check *d)
{
	struct sconn *c = arg;

	if (d->verdict == DANE_RECORDS)
		dane_match(d, c->hs->leaf, c->hs->chain, c->hs->cert_name);
	if (d->verdict != DANE_MATCHED)
		sconn_refuse(c, d->why, d->reason);
	verify_resume(c, SC_DECIDED);
}

/* stapled_chain: step 1 from the chain the client stapled, judged here
 * on the event loop (never inside the handshake's job: a validation needs
 * more stack than the job has). Returns 1 when c->dane holds step 1's
 * verdict, 0 when the name is to be looked up (off; accept and no chain;
 * a name outside the allow list, which dane_lookup refuses before any
 * work). */
static int
stapled_decide(struct sconn *c)
{
	struct server_listener *l = sconn_listener(c);
	const struct dane_rules *rules = &l->base.rules;
	const struct tls_clientid *cid = &c->hs->cid;
	struct chain_verdict v;
	char text[96];

	if (l->conf->stapled_chain == STAPLED_OFF || !dane_allowed(rules, c->name))
		return 0;
	if (!cid->chain_seen) {
		mx_stapled(l->base.mx, MX_SC_ABSENT);
		if (l->conf->stapled_chain == STAPLED_ACCEPT)
			return 0;
		dane_refuse(&c->dane, rules, MX_HS_CHAIN_MISSING, "stapled chain: "
		    "missing (stapled_chain = require)");
		return 1;
	}
	if (cid->chain == NULL) {
		snprintf(text, sizeof(text), "stapled chain: oversize: %zu bytes "
		    "(max_chain_bytes %u)", cid->chain_len,
		    l->conf->max_chain_bytes);
		dane_refuse(&c->dane, rules, MX_HS_CHAIN_OVERSIZE, text);
		mx_stapled(l->base.mx, MX_SC_REFUSED);
		return 1;
	}
	if (chaincache_judge(l->chains, cid->chain, cid->chain_len, c->name,
	    &l->chain_policy, time(NULL), &v) != DP_OK) {
		dane_refuse(&c->dane, rules, MX_HS_TLS, "stapled chain: out of "
		    "memory");
		return 1;
	}
	if (v.answer == NULL) {
		dane_refuse(&c->dane, rules, v.why, v.reason);
		mx_stapled(l->base.mx, MX_SC_REFUSED);
		return 1;
	}
	mx_stapled(l->base.mx, v.cached ? MX_SC_CACHED : MX_SC_VALIDATED);
	dane_use_answer(&c->dane, rules, c->name, v.answer);
	tlsa_answer_unref(v.answer);
	return 1;
}

static void
verify_start(struct sconn *c)
{
	c->state = SC_CHECKING;
	if (c->hs->cid.malformed) {
		sconn_refuse(c, MX_HS_BAD_CLIENTID, "malformed dane_clientid");
		verify_resume(c, SC_ABORTED);
	} else if (pick_identity(c) != DP_OK) {
		verify_resume(c, SC_DECIDED);	/* reason set */
	} else if (stapled_decide(c)) {
		dane_looked_up(c, &c->dane);	/* may resume and end c */
	} else {
		dane_lookup(&c->dane, &c->base.l->rules, c->name,
		    dane_looked_up, c);	/* may resume and end c */
	}
}

/* Runs inside the handshake's async job: hands the work to the event loop
 * and waits. Never does DNS or matching here (the job's stack is small). */
static int
verify_cb(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct sconn *c = ssl != NULL ? SSL_get_ex_data(ssl, tls_conn_index()) : NULL;

	if (c == NULL)
		return 0;
	if (c->state == SC_HANDSHAKE) {
		if (ASYNC_get_current_job() == NULL) {
			sconn_refuse(c, MX_HS_TLS,
			    "internal: handshake not in an async job");
			c->state = SC_ABORTED;
		} else {
			c->hs->leaf = X509_STORE_CTX_get0_cert(xs);
			c->hs->chain = X509_STORE_CTX_get0_untrusted(xs);
			c->state = SC_PAUSED;
			while (job_paused(c)) {
				if (!ASYNC_pause_job()) {
					sconn_refuse(c, MX_HS_TLS,
					    "internal: cannot pause handshake");
					c->state = SC_ABORTED;
					break;
				}
			}
			c->hs->leaf = NULL;
			c->hs->chain = NULL;
		}
	}
	if (c->state == SC_DECIDED && (sconn_authenticated(c) ||
	    sconn_listener(c)->conf->client_auth == CLIENT_AUTH_OPTIONAL))
		return 1;	/* optional: proceeds, upstream told: not verified */
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* --- the handshake */

static void
hs_io_cb(evutil_socket_t fd, short what, void *arg)
{
	hs_step(arg);
}

static void
hs_wait(struct sconn *c, short what)
{
	event_del(c->ev);
	event_assign(c->ev, c->base.l->base, c->fd, what, hs_io_cb, c);
	(void)event_priority_set(c->ev, HS_PRIORITY);
	event_add(c->ev, NULL);
}

/* OpenSSL's queue says the client sent no certificate (client_auth =
 * require). */
static int
no_cert_error(void)
{
	unsigned long e[2] = { ERR_peek_error(), ERR_peek_last_error() };
	int i;

	for (i = 0; i < 2; i++)
		if (ERR_GET_LIB(e[i]) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e[i]) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
			return 1;
	return 0;
}

static void
hs_failed(struct sconn *c, int ssl_err)
{
	char buf[200];

	if (c->reason == NULL && c->hs->cid.malformed)	/* refused in parsing */
		sconn_refuse(c, MX_HS_BAD_CLIENTID, "malformed dane_clientid");
	if (c->reason == NULL) {
		if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
			sconn_refuse(c, MX_HS_CLOSED, "client closed during handshake");
		} else {
			/* Before the text consumes the queue. */
			c->hs_fail = no_cert_error() ? MX_HS_NO_CERT : MX_HS_TLS;
			c->reason = tls_error_text(buf, sizeof(buf));
		}
		/* Not a DANE decision: a TLS-level failure. */
		sconn_end(c, MX_OUT_ERROR, c->reason, 1);
		return;
	}
	ERR_clear_error();
	sconn_end(c, MX_OUT_REFUSED, c->reason, 1);
}

/* The handshake is done: authenticated, or (client_auth = optional) not. */
static void
hs_done(struct sconn *c)
{
	if (!sconn_authenticated(c) &&
	    sconn_listener(c)->conf->client_auth == CLIENT_AUTH_REQUIRE) {
		/* Unreachable by construction; fail closed regardless. */
		if (c->hs_fail < 0)
			sconn_refuse(c, MX_HS_TLS, "not authenticated");
		sconn_end(c, MX_OUT_REFUSED, "not authenticated", 1);
		return;
	}
	if (!sconn_authenticated(c) && c->reason == NULL)
		sconn_refuse(c, MX_HS_NO_CERT, "no client certificate");
	hs_fail_count(c);	/* client_auth = optional: goes on */
	/* TLS 1.3 without tickets sends nothing after the client's Finished:
	 * acknowledge it now, or a client with Nagle on holds its first
	 * request until our delayed ACK. */
	dp_tcp_quickack(c->fd);
	event_del(c->ev);
	/* No renegotiation: the extension callback cannot run again. */
	tls_clientid_attach(c->ssl, NULL);
	if (sconn_authenticated(c) && strcmp(c->hs->cert_name, c->name) != 0 &&
	    (c->cert_name = strdup(c->hs->cert_name)) == NULL) {
		sconn_end(c, MX_OUT_ERROR, "out of memory", 1);
		return;
	}
	tls_clientid_clear(&c->hs->cid);
	free(c->hs);
	c->hs = NULL;
	conn_established(&c->base);
	sconn_upstream_connect(c);
}

static void
hs_step(struct sconn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		hs_done(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		hs_wait(c, EV_READ);
		return;
	case SSL_ERROR_WANT_WRITE:
		hs_wait(c, EV_WRITE);
		return;
	case SSL_ERROR_WANT_ASYNC:
		event_del(c->ev);
		if (c->state == SC_PAUSED)
			verify_start(c);	/* may resume and end c: return at once */
		return;
	default:
		hs_failed(c, e);
		return;
	}
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;

	if (c->state == SC_CONNECTING) {
		sconn_upstream_timeout(c);
		return;
	}
	if (job_paused(c)) {
		/* Resume the job with a no: the client gets handshake_failure. */
		sconn_refuse(c, MX_HS_TIMEOUT, "handshake timeout waiting for DNS");
		dane_check_clear(&c->dane);
		verify_resume(c, SC_ABORTED);
		return;
	}
	sconn_refuse(c, MX_HS_TIMEOUT, "handshake timeout");
	sconn_end(c, MX_OUT_ERROR, c->reason, 0);
}

/* --- accepting */

static void
sconn_start(struct conn *base, evutil_socket_t fd)
{
	struct sconn *c = (struct sconn *)base;
	struct server_listener *l = sconn_listener(c);

	c->fd = fd;
	c->ufd = -1;
	c->hs_fail = -1;
	c->state = SC_HANDSHAKE;
	if ((c->hs = calloc(1, sizeof(*c->hs))) == NULL) {
		sconn_end(c, MX_OUT_ERROR, "out of memory", 0);
		return;
	}
	if ((c->ssl = SSL_new(l->base.ctx)) == NULL ||
	    (c->ev = event_new(l->base.base, fd, EV_READ, hs_io_cb, c)) == NULL ||
	    (c->timer = evtimer_new(l->base.base, timeout_cb, c)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1 ||
	    !SSL_set_ex_data(c->ssl, tls_conn_index(), c) ||
	    tls_clientid_attach(c->ssl, &c->hs->cid) != DP_OK) {
		sconn_end(c, MX_OUT_ERROR, "out of memory", 0);
		return;
	}
	SSL_set_accept_state(c->ssl);
	SSL_set_mode(c->ssl, SSL_MODE_ASYNC);
	sconn_timer_arm(c, l->conf->handshake_timeout_ms);
	hs_step(c);
}

static void
sconn_close(struct conn *c, enum mx_outcome outcome, const char *reason)
{
	sconn_end((struct sconn *)c, outcome, reason, 0);
}

static void
server_listener_free_role(struct conn_listener *cl)
{
	struct server_listener *l = (struct server_listener *)cl;

	ts002_map_free(l->ts002);
	l->ts002 = NULL;
	sconn_ts002_dns_free(l);
}

static const struct conn_ops server_ops = {
	.role = "server",
	.conn_size = sizeof(struct sconn),
	.start = sconn_start,
	.close = sconn_close,
	.free = server_listener_free_role,
};

struct dane_rules
server_dane_rules(const struct conf_server *cs, struct tlsa_cache *cache,
    struct mx_listener *mx)
{
	return (struct dane_rules){
		.allow = cs->allow,
		.n_allow = cs->n_allow,
		.refuse_wildcard = cs->tlsa_wildcard_refuse,
		.peer = TLSA_PEER_CLIENT,
		.cache = cache,
		.mx = mx,
		.recheck = cs->recheck,
		.recheck_grace_ms = cs->recheck_grace_ms,
	};
}

int
server_listener_new(struct event_base *base, const struct conf_server *cs,
    const struct dane_shared *sh, FILE *errs, struct conn_listener **out)
{
	struct server_listener *l;
	char buf[256];
	unsigned neg;
	int r;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return DP_ERR_NOMEM;
	conn_listener_init(&l->base, &server_ops, base, cs->name, &cs->listen,
	    &cs->where, &cs->allow_from, cs->max_connections, cs->max_handshakes,
	    mx_listener_get(MX_SERVER, cs->name));
	l->conf = cs;
	l->base.rules = server_dane_rules(cs, sh->cache, l->base.mx);
	l->base.rules.rechecks = sh->rechecks;
	l->chains = sh->chains;
	l->chain_policy = (struct chain_policy){
		.max_bytes = cs->max_chain_bytes,
		.max_age = cs->stapled_max_age,
	};
	if (cs->stapled_chain != STAPLED_OFF) {
		if (l->chains == NULL || sh->cache == NULL) {
			r = DP_ERR_INVALID;	/* the worker said why */
			goto fail;
		}
		tlsa_cache_ttl_caps(sh->cache, &l->chain_policy.max_ttl, &neg);
	}
	if ((r = tls_server_ctx_new(cs, errs, &l->base.ctx)) != DP_OK)
		goto fail;
	SSL_CTX_set_cert_verify_callback(l->base.ctx, verify_cb, NULL);
	if ((r = tlsa_matcher_new(cs->pkix_ca_file, &l->base.rules.matcher)) != DP_OK) {
		if (errs != NULL)
			fprintf(errs, "%s:%d: pkix_ca_file: cannot load %s: %s\n",
			    cs->pkix_ca_where.file, cs->pkix_ca_where.line,
			    cs->pkix_ca_file != NULL ? cs->pkix_ca_file : "(none)",
			    tls_error_text(buf, sizeof(buf)));
		goto fail;
	}
	if ((r = sconn_ts002_load(l, errs)) != DP_OK ||
	    (r = sconn_ts002_dns_new(l, sh->cache)) != DP_OK)
		goto fail;
	*out = &l->base;
	return DP_OK;
 fail:
	conn_listener_free(&l->base);
	return r;
}
