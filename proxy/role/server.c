/* server.c — see server.h. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/async.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cache.h"
#include "clientid.h"
#include "conn.h"
#include "err.h"
#include "http1.h"
#include "httprelay.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "proxyproto.h"
#include "relay.h"
#include "tls.h"
#include "tlsa.h"
#include "util.h"

struct server_listener {
	struct event_base *base;
	const struct conf_server *conf;
	struct tlsa_cache *cache;
	struct tlsa_matcher *matcher;
	SSL_CTX *ctx;
	struct dp_listener *listener;
	struct sconn *conns;		/* all live connections */
	unsigned n_conns;
	unsigned n_handshaking;
	struct mx_listener *mx;		/* metrics of this listener */
	struct conn_refusals refused_conns;	/* max_connections */
	struct conn_refusals refused_hs;	/* max_handshakes */
	struct conn_refusals denied;		/* allow_from */
};

enum sconn_state {
	SC_HANDSHAKE,		/* TLS handshake, possibly paused for DNS */
	SC_CONNECTING,		/* handshake done, connecting to the upstream */
	SC_RELAY,
};

struct sconn {
	struct server_listener *l;
	struct sconn *prev, *next;
	enum sconn_state state;
	char id[LOG_CONN_ID_LEN];
	char peer_str[DP_ADDR_STRLEN];
	struct sockaddr_storage peer, local;
	evutil_socket_t fd;
	SSL *ssl;
	struct event *ev;		/* socket readiness while handshaking */
	struct event *timer;		/* handshake, then connect timeout */
	struct tls_clientid cid;	/* filled by the extension callback */
	uint64_t start_ms;

	/* Verification, between the paused callback and the event loop. */
	int verify_pending;		/* the handshake job waits in the callback */
	int verify_started;		/* the event loop took the work up */
	int verify_done;		/* verify_ok is final; resume the job */
	int verify_ok;
	int abort;			/* fail whatever client_auth says */
	X509 *leaf;			/* borrowed from the paused job */
	STACK_OF(X509) *chain;
	struct cache_wait *wait;
	char name[CLIENTID_NAME_MAX + 1];	/* identity being checked */
	/* The name a DANE-TA match looks for among the certificate's SAN
	 * dNSNames: the ClientName, or after a SAN fallback the SAN itself
	 * (name then carries san_tlsa_prefix, which no SAN has). */
	char cert_name[CLIENTID_NAME_MAX + 1];
	char wildcard[DNS_WILDCARD_MAX];	/* the wildcard that synthesised the
					 * matched TLSA record, or "" */
	char id_value[CLIENTID_NAME_MAX + DNS_WILDCARD_MAX + 16];	/* HTTP header */
	char tlsa[16];			/* matched record, "3 1 1" */
	const char *reason;		/* why not authenticated / why it ended */
	char reason_buf[200];
	int hs_fail;			/* enum mx_hs_reason behind reason; -1: none
					 * (or counted already) */
	int authenticated;

	struct bufferevent *cbev;	/* client side after the handshake */
	struct bufferevent *ubev;	/* upstream */
	struct relay *relay;

	/* forward = http: what every request gets and loses. */
	struct http_relay *hrelay;
	struct http_relay_opts hopts;
	struct http1_add hadd[6];
	const char *hdrop[6];
	char xff[DP_ADDR_STRLEN];
	char *client_cert;		/* RFC 9440 values, malloc'd */
	char *client_cert_chain;
	STACK_OF(X509) *verified;	/* the chain DANE-TA/PKIX verified, leaf first;
					 * NULL after DANE-EE (tlsa_result.verified) */
};

/* Handshake steps run after DNS and relay events (see main.c). */
#define HS_PRIORITY 2

static void hs_step(struct sconn *c);

/* --- lifetime */

static void
sconn_unlink(struct sconn *c)
{
	struct server_listener *l = c->l;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	l->n_conns--;
	if (c->state == SC_HANDSHAKE)
		l->n_handshaking--;
}

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
	mx_handshake_failure(c->l->mx, (enum mx_hs_reason)c->hs_fail);
	c->hs_fail = -1;
}

/* Ends the connection: logs its line, counts it, frees everything. With
 * linger the client socket is closed gracefully (an alert just written
 * survives). */
static void
sconn_end(struct sconn *c, enum mx_outcome outcome, const char *reason,
    int linger)
{
	struct conn_report rep = {
		.role = "server",
		.id = c->id,
		.listener = c->l->conf->name,
		.peer = c->peer_str,
		.client_name = c->name[0] != '\0' ? c->name : NULL,
		.tlsa = c->tlsa[0] != '\0' ? c->tlsa : NULL,
		.tlsa_wildcard = c->tlsa[0] != '\0' && c->wildcard[0] != '\0' ?
		    c->wildcard : NULL,
		.outcome = mx_outcome_name(outcome),
		.reason = reason,
		.tls_version = c->ssl != NULL && SSL_is_init_finished(c->ssl) ?
		    SSL_get_version(c->ssl) : NULL,
		.start_ms = c->start_ms,
	};

	if (c->relay != NULL) {
		rep.bytes_in = relay_stats(c->relay)->a_to_b;
		rep.bytes_out = relay_stats(c->relay)->b_to_a;
	} else if (c->hrelay != NULL) {
		rep.bytes_in = http_relay_stats(c->hrelay)->a_to_b;
		rep.bytes_out = http_relay_stats(c->hrelay)->b_to_a;
	}
	conn_log(&rep);
	hs_fail_count(c);
	mx_conn_close(c->l->mx, outcome, rep.bytes_in, rep.bytes_out);

	if (c->wait != NULL)
		tlsa_cache_cancel(c->wait);
	if (c->verify_pending && c->ssl != NULL) {
		/* A paused job is not freed by SSL_free: let it run to its end. */
		c->abort = 1;
		c->verify_done = 1;
		(void)SSL_do_handshake(c->ssl);
		ERR_clear_error();
	}
	relay_free(c->relay);
	http_relay_free(c->hrelay);
	free(c->client_cert);
	free(c->client_cert_chain);
	sk_X509_pop_free(c->verified, X509_free);
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ubev != NULL)
		bufferevent_free(c->ubev);
	if (c->cbev != NULL) {
		/* Owns ssl and fd (BEV_OPT_CLOSE_ON_FREE). */
		bufferevent_free(c->cbev);
	} else {
		SSL_free(c->ssl);
		if (c->fd >= 0) {
			if (linger)
				conn_linger_close(c->l->base, c->fd);
			else
				close(c->fd);
		}
	}
	sconn_unlink(c);
	free(c);
}

static void
timer_arm(struct sconn *c, unsigned ms)
{
	struct timeval tv = dp_ms_tv(ms);

	event_add(c->timer, &tv);
}

/* --- verification, on the event loop while the handshake job is paused */

/* The identity to look up: the ClientName, or with identity =
 * extension-or-san and no extension, the single SAN dNSName (prefixed). */
static int
pick_identity(struct sconn *c)
{
	const struct conf_server *cs = c->l->conf;
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *dns = NULL;
	char san[CLIENTID_NAME_MAX + 1];
	int i, n, r = DP_ERR_DENIED;

	if (c->cid.seen) {
		dp_strlcpy(c->name, c->cid.name, sizeof(c->name));
		dp_strlcpy(c->cert_name, c->name, sizeof(c->cert_name));
		return DP_OK;
	}
	if (cs->identity != IDENTITY_EXTENSION_OR_SAN) {
		sconn_refuse(c, MX_HS_NO_CLIENTID, "no dane_clientid extension");
		return DP_ERR_DENIED;
	}
	gens = X509_get_ext_d2i(c->leaf, NID_subject_alt_name, NULL, NULL);
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
	dp_strlcpy(c->cert_name, san, sizeof(c->cert_name));
	if (cs->san_tlsa_prefix != NULL && cs->san_tlsa_prefix[0] != '\0') {
		if ((size_t)snprintf(c->name, sizeof(c->name), "%s.%s",
		    cs->san_tlsa_prefix, san) >= sizeof(c->name) ||
		    dp_dns_name_check(c->name, strlen(c->name)) != DP_OK) {
			c->name[0] = '\0';
			sconn_refuse(c, MX_HS_NO_CLIENTID,
			    "prefixed SAN name too long");
			goto out;
		}
	} else {
		dp_strlcpy(c->name, san, sizeof(c->name));
	}
	r = DP_OK;
 out:
	GENERAL_NAMES_free(gens);
	return r;
}

/* Decides with the TLSA answer, then resumes the handshake. */
static void
verify_with(struct sconn *c, struct tlsa_answer *ans)
{
	struct tlsa_result res;
	int r;

	if (ans->status != DNS_SECURE) {
		snprintf(c->reason_buf, sizeof(c->reason_buf), "TLSA lookup: %s%s%s",
		    dns_status_str(ans->status), ans->why != NULL ? ": " : "",
		    ans->why != NULL ? ans->why : "");
		sconn_refuse(c, mx_hs_dns(ans->status), c->reason_buf);
	} else if (ans->wildcard != NULL && c->l->conf->tlsa_wildcard_refuse) {
		snprintf(c->reason_buf, sizeof(c->reason_buf), "TLSA record "
		    "synthesised from the wildcard %s (tlsa_wildcard = refuse)",
		    ans->wildcard);
		sconn_refuse(c, MX_HS_NOT_ALLOWED, c->reason_buf);
	} else if ((r = tlsa_match(c->l->matcher, &ans->rrset, c->leaf, c->chain,
	    c->cert_name, TLSA_PEER_CLIENT, &res)) == DP_OK && res.matched) {
		c->verify_ok = 1;
		tlsa_rr_str(&res.rr, c->tlsa, sizeof(c->tlsa));
		dp_strlcpy(c->wildcard, ans->wildcard != NULL ? ans->wildcard : "",
		    sizeof(c->wildcard));
		mx_dane(c->l->mx, res.rr.usage, 1);
		sk_X509_pop_free(c->verified, X509_free);
		c->verified = res.verified;	/* transferred */
		res.verified = NULL;
	} else {
		snprintf(c->reason_buf, sizeof(c->reason_buf), "DANE: %s",
		    res.reason != NULL ? res.reason : dp_strerror(r));
		sconn_refuse(c, MX_HS_MISMATCH, c->reason_buf);
		if (r == DP_ERR_NOMATCH)
			mx_dane(c->l->mx, tlsa_rrset_usage(&ans->rrset), 0);
		ERR_clear_error();
	}
}

static void
verify_resume(struct sconn *c)
{
	c->verify_done = 1;
	hs_step(c);
}

static void
cache_answer_cb(void *arg, struct tlsa_answer *ans)
{
	struct sconn *c = arg;

	c->wait = NULL;
	verify_with(c, ans);
	tlsa_answer_unref(ans);
	verify_resume(c);
}

static void
verify_start(struct sconn *c)
{
	const struct conf_server *cs = c->l->conf;
	struct tlsa_answer *ans = NULL;
	int r;

	c->verify_started = 1;
	if (c->cid.malformed) {
		sconn_refuse(c, MX_HS_BAD_CLIENTID, "malformed dane_clientid");
		c->abort = 1;
	} else if (pick_identity(c) != DP_OK) {
		/* reason set */
	} else if (!allow_match(cs->allow, cs->n_allow, c->name)) {
		/* Before any DNS query: strangers cannot make us look names up. */
		sconn_refuse(c, MX_HS_NOT_ALLOWED, "name not allowed");
	} else {
		r = tlsa_cache_get(c->l->cache, c->name, cache_answer_cb, c, &ans,
		    &c->wait);
		if (r == DP_ERR_AGAIN)
			return;		/* cache_answer_cb resumes */
		if (r == DP_OK) {
			verify_with(c, ans);
			tlsa_answer_unref(ans);
		} else if (r == DP_ERR_BUSY) {
			sconn_refuse(c, MX_HS_BUSY, "too many TLSA lookups in flight");
		} else {
			sconn_refuse(c, MX_HS_DNS_ERROR, dp_strerror(r));
		}
	}
	verify_resume(c);
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
	if (!c->verify_done) {
		if (ASYNC_get_current_job() == NULL) {
			sconn_refuse(c, MX_HS_TLS,
			    "internal: handshake not in an async job");
			c->abort = 1;
		} else {
			c->leaf = X509_STORE_CTX_get0_cert(xs);
			c->chain = X509_STORE_CTX_get0_untrusted(xs);
			c->verify_pending = 1;
			while (!c->verify_done) {
				if (!ASYNC_pause_job()) {
					sconn_refuse(c, MX_HS_TLS,
					    "internal: cannot pause handshake");
					c->abort = 1;
					break;
				}
			}
			c->verify_pending = 0;
			c->leaf = NULL;
			c->chain = NULL;
		}
	}
	if (c->verify_ok && !c->abort) {
		c->authenticated = 1;
		return 1;
	}
	if (c->l->conf->client_auth == CLIENT_AUTH_OPTIONAL && !c->abort)
		return 1;	/* proceeds, upstream told: not verified */
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* --- upstream and relay */

static void
relay_done(void *arg, const struct relay_stats *st, const char *reason)
{
	struct sconn *c = arg;

	sconn_end(c, c->authenticated ? MX_OUT_OK : MX_OUT_UNAUTHENTICATED,
	    reason, 0);
}

static int
send_proxy_header(struct sconn *c)
{
	const struct conf_server *cs = c->l->conf;
	unsigned char buf[PP2_HEADER_MAX];
	char key_alg[32];
	size_t len = 0;
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;
	int r;

	if (cs->forward == FORWARD_NONE || cs->forward == FORWARD_HTTP)
		return DP_OK;
	if (cs->forward == FORWARD_PROXY_V1) {
		r = pp1_encode((struct sockaddr *)&c->peer,
		    (struct sockaddr *)&c->local, (char *)buf, sizeof(buf), &len);
	} else {
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
		struct pp_info info = {
			.src = (struct sockaddr *)&c->peer,
			.dst = (struct sockaddr *)&c->local,
			.ssl = 1,
			.cert_conn = peer != NULL,
			.verified = c->authenticated,
			.tls_version = SSL_get_version(c->ssl),
			.cipher = SSL_get_cipher_name(c->ssl),
			.sig_alg = peer != NULL ?
			    OBJ_nid2ln(X509_get_signature_nid(peer)) : NULL,
			.key_alg = peer != NULL ? tls_key_alg(X509_get0_pubkey(peer),
			    key_alg, sizeof(key_alg)) : NULL,
			.identity = c->authenticated ? c->name : NULL,
			.tlsa_wildcard = c->authenticated && c->wildcard[0] != '\0' ?
			    c->wildcard : NULL,
			.authority = SSL_get_servername(c->ssl,
			    TLSEXT_NAMETYPE_host_name),
			.alpn = alpn,
			.alpn_len = alpn_len,
			.unique_id = c->id,
			.identity_tlv = cs->pp2_identity_tlv,
			.minimal = cs->pp2_minimal,
			.crc32c = cs->pp2_crc32c,
		};
		r = pp2_encode(&info, buf, sizeof(buf), &len);
	}
	if (r != DP_OK)
		return r;
	return bufferevent_write(c->ubev, buf, len) == 0 ? DP_OK : DP_ERR_NOMEM;
}

/* ":base64(DER):", an RFC 8941 byte sequence as RFC 9440 wants; NULL on
 * failure. */
static char *
cert_sf_bytes(X509 *x)
{
	unsigned char *der = NULL;
	char *out = NULL;
	int n = i2d_X509(x, &der);

	if (n > 0 && (out = malloc((size_t)(4 * ((n + 2) / 3)) + 3)) != NULL) {
		out[0] = ':';
		n = EVP_EncodeBlock((unsigned char *)out + 1, der, n);
		out[n + 1] = ':';
		out[n + 2] = '\0';
	}
	OPENSSL_free(der);
	return out;
}

/* RFC 9440 Client-Cert-Chain: the certificates of the verified chain
 * besides the leaf, up to and including the trust anchor, as a list of byte
 * sequences. Only what the DANE decision verified: after a DANE-EE match
 * (which looks at the leaf alone) chain is NULL and there is no header,
 * whatever else the client sent. NULL when there is nothing to send. */
static char *
cert_chain_sf(STACK_OF(X509) *chain)
{
	size_t len = 0, cap = 0;
	char *out = NULL, *one, *grown;
	int i;

	for (i = 1; chain != NULL && i < sk_X509_num(chain); i++) {
		if ((one = cert_sf_bytes(sk_X509_value(chain, i))) == NULL)
			break;
		if (len + strlen(one) + 3 > cap) {
			cap = (len + strlen(one) + 3) * 2;
			if ((grown = realloc(out, cap)) == NULL) {
				free(one);
				break;
			}
			out = grown;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
		    len > 0 ? ", " : "", one);
		free(one);
	}
	return out;
}

/* forward = http: the header set every request of this connection loses
 * (whatever the client sent under these names) and gets. */
static void
http_setup(struct sconn *c)
{
	const struct conf_server *cs = c->l->conf;
	struct http_relay_opts *o = &c->hopts;
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	size_t na = 0, nd = 0;
	char *colon;

	c->hdrop[nd++] = cs->http_header;
	c->hdrop[nd++] = "DANE-Client-TLSA";
	c->hdrop[nd++] = "Client-Cert";
	c->hdrop[nd++] = "Client-Cert-Chain";
	if (cs->add_xff)
		c->hdrop[nd++] = "X-Forwarded-For";
	if (cs->add_xfp)
		c->hdrop[nd++] = "X-Forwarded-Proto";
	if (c->authenticated) {
		/* A record synthesised from a wildcard says so, as a
		 * parameter: one key may then speak for many names. */
		if (c->wildcard[0] != '\0')
			snprintf(c->id_value, sizeof(c->id_value),
			    "%s; wildcard=\"%s\"", c->name, c->wildcard);
		else
			dp_strlcpy(c->id_value, c->name, sizeof(c->id_value));
		c->hadd[na++] = (struct http1_add){ cs->http_header, c->id_value };
		if (cs->add_tlsa_header)
			c->hadd[na++] = (struct http1_add){ "DANE-Client-TLSA", c->tlsa };
		if (cs->add_client_cert && peer != NULL &&
		    (c->client_cert = cert_sf_bytes(peer)) != NULL)
			c->hadd[na++] = (struct http1_add){ "Client-Cert", c->client_cert };
		if (cs->add_client_cert_chain &&
		    (c->client_cert_chain = cert_chain_sf(c->verified)) != NULL)
			c->hadd[na++] = (struct http1_add){ "Client-Cert-Chain",
			    c->client_cert_chain };
	}
	if (cs->add_xff) {
		/* The address without the port (and without IPv6 brackets). */
		dp_strlcpy(c->xff, c->peer_str[0] == '[' ? c->peer_str + 1 :
		    c->peer_str, sizeof(c->xff));
		if ((colon = strrchr(c->xff, c->peer_str[0] == '[' ? ']' : ':')) != NULL)
			*colon = '\0';
		c->hadd[na++] = (struct http1_add){ "X-Forwarded-For", c->xff };
	}
	if (cs->add_xfp)
		c->hadd[na++] = (struct http1_add){ "X-Forwarded-Proto", "https" };
	o->limits.max_head = cs->max_request_head;
	o->limits.max_headers = cs->max_request_headers;
	o->rw.managed = c->hdrop;
	o->rw.n_managed = nd;
	o->rw.add = c->hadd;
	o->rw.n_add = na;
	o->rw.upgrade_protocols = cs->upgrade_protocols;
	o->rw.underscores = (enum http1_underscores)cs->underscores;
	o->idle_timeout_ms = cs->idle_timeout_ms;
	o->upstream_timeout_ms = cs->upstream_timeout_ms;
	o->mx = c->l->mx;
}

static void
upstream_connected(struct sconn *c)
{
	int r;

	event_del(c->timer);
	dp_tcp_nodelay(bufferevent_getfd(c->ubev));
	if ((r = send_proxy_header(c)) != DP_OK) {
		sconn_end(c, MX_OUT_ERROR, "cannot encode PROXY header", 1);
		return;
	}
	c->cbev = bufferevent_openssl_socket_new(c->l->base, c->fd, c->ssl,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	if (c->cbev == NULL) {
		c->ssl = NULL;	/* libevent freed it (BEV_OPT_CLOSE_ON_FREE) */
		sconn_end(c, MX_OUT_ERROR, "out of memory", 1);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->cbev, 1);
	c->state = SC_RELAY;
	if (c->l->conf->forward == FORWARD_HTTP) {
		http_setup(c);
		r = http_relay_start(c->l->base, c->cbev, c->ubev, &c->hopts,
		    relay_done, c, &c->hrelay);
	} else {
		r = relay_start(c->l->base, c->cbev, "client", c->ubev, "upstream",
		    c->l->conf->idle_timeout_ms, relay_done, c, &c->relay);
	}
	if (r != DP_OK)
		sconn_end(c, MX_OUT_ERROR, "out of memory", 0);
}

/* The upstream could not be reached: close the client's TLS cleanly.
 * mx_why: the upstream error to count, -1 for none (our own failure). */
static void
upstream_failed(struct sconn *c, int http_status, int mx_why, const char *why)
{
	if (mx_why >= 0)
		mx_upstream_error(c->l->mx, (enum mx_up_reason)mx_why);
	snprintf(c->reason_buf, sizeof(c->reason_buf), "upstream %s", why);
	if (c->l->conf->forward == FORWARD_HTTP) {
		/* Small enough for the socket buffer: one try, no waiting. */
		const char *resp = http1_error_response(http_status);
		(void)SSL_write(c->ssl, resp, (int)strlen(resp));
	}
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	sconn_end(c, MX_OUT_ERROR, c->reason_buf, 1);
}

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		upstream_connected(c);
	else if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		upstream_failed(c, 502, MX_UP_CONNECT,
		    strerror(EVUTIL_SOCKET_ERROR() != 0 ?
		    EVUTIL_SOCKET_ERROR() : ECONNRESET));
}

static void
upstream_connect(struct sconn *c)
{
	const struct conf_server *cs = c->l->conf;

	c->state = SC_CONNECTING;
	c->l->n_handshaking--;
	event_free(c->ev);
	c->ev = NULL;
	/* Reads and writes from now on are plain: no job switches. */
	SSL_clear_mode(c->ssl, SSL_MODE_ASYNC);
	c->ubev = bufferevent_socket_new(c->l->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->ubev == NULL) {
		upstream_failed(c, 502, -1, "connect: out of memory");
		return;
	}
	bufferevent_setcb(c->ubev, NULL, NULL, upstream_event_cb, c);
	timer_arm(c, cs->connect_timeout_ms);
	if (bufferevent_socket_connect(c->ubev, (struct sockaddr *)&cs->upstream.ss,
	    (int)cs->upstream.len) != 0)
		upstream_failed(c, 502, MX_UP_CONNECT, strerror(errno));
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
	event_assign(c->ev, c->l->base, c->fd, what, hs_io_cb, c);
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

	if (c->reason == NULL && c->cid.malformed)	/* refused in parsing */
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

static void
hs_step(struct sconn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		if (!c->authenticated &&
		    c->l->conf->client_auth == CLIENT_AUTH_REQUIRE) {
			/* Unreachable by construction; fail closed regardless. */
			if (c->hs_fail < 0)
				sconn_refuse(c, MX_HS_TLS, "not authenticated");
			sconn_end(c, MX_OUT_REFUSED, "not authenticated", 1);
			return;
		}
		if (!c->authenticated && c->reason == NULL)
			sconn_refuse(c, MX_HS_NO_CERT, "no client certificate");
		hs_fail_count(c);	/* client_auth = optional: goes on */
		upstream_connect(c);
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
		if (c->verify_pending && !c->verify_started)
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
		upstream_failed(c, 504, MX_UP_CONNECT_TIMEOUT, "connect timeout");
		return;
	}
	sconn_refuse(c, MX_HS_TIMEOUT, c->verify_pending ?
	    "handshake timeout waiting for DNS" : "handshake timeout");
	if (c->verify_pending) {
		/* Resume the job with a no: the client gets handshake_failure. */
		if (c->wait != NULL) {
			tlsa_cache_cancel(c->wait);
			c->wait = NULL;
		}
		c->abort = 1;
		verify_resume(c);
		return;
	}
	sconn_end(c, MX_OUT_ERROR, c->reason, 0);
}

/* --- accepting */

static void
accept_cb(void *arg, evutil_socket_t fd, struct sockaddr *sa, int salen)
{
	struct server_listener *l = arg;
	struct sconn *c;
	socklen_t len = sizeof(c->local);

	/* The source, then the limits, closing at once: no TLS, no alert, no
	 * line each. */
	if (!conn_source_allowed(&l->conf->allow_from, sa, l->mx, &l->denied,
	    l->conf->name)) {
		close(fd);
		return;
	}
	if (l->n_conns >= l->conf->max_connections) {
		mx_conn_limit(l->mx);
		conn_refused(&l->refused_conns, l->conf->name,
		    "connections open (max_connections)", l->conf->max_connections);
		close(fd);
		return;
	}
	if (l->n_handshaking >= l->conf->max_handshakes) {
		mx_conn_limit(l->mx);
		mx_handshake_failure(l->mx, MX_HS_BUSY);
		conn_refused(&l->refused_hs, l->conf->name,
		    "handshakes in progress (max_handshakes)",
		    l->conf->max_handshakes);
		close(fd);
		return;
	}
	if (mx_conn_open(l->mx) != DP_OK) {
		/* This listener's other workers hold the rest. */
		conn_refused(&l->refused_conns, l->conf->name,
		    "connections open (max_connections)", l->conf->max_connections);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		mx_conn_close(l->mx, MX_OUT_ERROR, 0, 0);
		close(fd);
		return;
	}
	c->l = l;
	c->fd = fd;
	c->hs_fail = -1;
	c->start_ms = dp_now_ms();
	c->state = SC_HANDSHAKE;
	log_conn_id(c->id, sizeof(c->id));
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen : sizeof(c->peer));
	dp_addr_str(sa, c->peer_str, sizeof(c->peer_str));
	if (l->conf->forward == FORWARD_PROXY_V1 ||
	    l->conf->forward == FORWARD_PROXY_V2)	/* only PROXY headers need it */
		getsockname(fd, (struct sockaddr *)&c->local, &len);
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	l->n_conns++;
	l->n_handshaking++;

	if ((c->ssl = SSL_new(l->ctx)) == NULL ||
	    (c->ev = event_new(l->base, fd, EV_READ, hs_io_cb, c)) == NULL ||
	    (c->timer = evtimer_new(l->base, timeout_cb, c)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1 ||
	    !SSL_set_ex_data(c->ssl, tls_conn_index(), c) ||
	    tls_clientid_attach(c->ssl, &c->cid) != DP_OK) {
		sconn_end(c, MX_OUT_ERROR, "out of memory", 0);
		return;
	}
	SSL_set_accept_state(c->ssl);
	SSL_set_mode(c->ssl, SSL_MODE_ASYNC);
	timer_arm(c, l->conf->handshake_timeout_ms);
	hs_step(c);
}

int
server_listener_new(struct event_base *base, const struct conf_server *cs,
    struct tlsa_cache *cache, FILE *errs, struct server_listener **out)
{
	struct server_listener *l;
	int r;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return DP_ERR_NOMEM;
	l->base = base;
	l->conf = cs;
	l->cache = cache;
	l->mx = mx_listener_get(MX_SERVER, cs->name);
	if ((r = tls_server_ctx_new(cs, errs, &l->ctx)) != DP_OK)
		goto fail;
	SSL_CTX_set_cert_verify_callback(l->ctx, verify_cb, NULL);
	if ((r = tlsa_matcher_new(cs->pkix_ca_file, &l->matcher)) != DP_OK) {
		char buf[256];
		if (errs != NULL)
			fprintf(errs, "%s:%d: pkix_ca_file: cannot load %s: %s\n",
			    cs->pkix_ca_where.file, cs->pkix_ca_where.line,
			    cs->pkix_ca_file != NULL ? cs->pkix_ca_file : "(none)",
			    tls_error_text(buf, sizeof(buf)));
		goto fail;
	}
	*out = l;
	return DP_OK;
 fail:
	server_listener_free(l);
	return r;
}

int
server_listener_start(struct server_listener *l, int fd)
{
	return dp_listener_start(l->base, &l->conf->listen, fd, l->conf->name,
	    accept_cb, l, &l->listener);
}

void
server_listener_stop(struct server_listener *l)
{
	struct sconn *c;

	dp_listener_free(l->listener);
	l->listener = NULL;
	/* Idle keep-alive HTTP connections close now, busy ones after their
	 * answer, instead of lingering until the drain timeout cuts them. */
	for (c = l->conns; c != NULL; c = c->next)
		http_relay_drain(c->hrelay);
}

unsigned
server_listener_active(const struct server_listener *l)
{
	return l->n_conns;
}

void
server_listener_free(struct server_listener *l)
{
	if (l == NULL)
		return;
	server_listener_stop(l);
	while (l->conns != NULL)
		sconn_end(l->conns, MX_OUT_ERROR, "shutting down", 0);
	tlsa_matcher_free(l->matcher);
	SSL_CTX_free(l->ctx);
	free(l);
}
