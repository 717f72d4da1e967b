/* server_up.c — the server role after the handshake: connect to the
 * upstream, announce the client (PROXY header, or the HTTP header set every
 * request gets), relay. See server.h. */
#include "server.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "err.h"
#include "proxyproto.h"
#include "relay.h"
#include "sconn.h"
#include "util.h"

static void
relay_done(void *arg, const struct relay_stats *st, const char *reason)
{
	struct sconn *c = arg;

	sconn_end(c, sconn_authenticated(c) ? MX_OUT_OK : MX_OUT_UNAUTHENTICATED,
	    reason, 0);
}

static int
send_proxy_header(struct sconn *c)
{
	const struct conf_server *cs = sconn_listener(c)->conf;
	unsigned char buf[PP2_HEADER_MAX];
	char key_alg[32];
	size_t len = 0;
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	int r;

	if (cs->forward == FORWARD_NONE || cs->forward == FORWARD_HTTP)
		return DP_OK;
	/* The address the client connected to: the header's destination. */
	if (getsockname(c->fd, (struct sockaddr *)&local, &local_len) != 0)
		return DP_ERR_IO;
	if (cs->forward == FORWARD_PROXY_V1) {
		r = pp1_encode((struct sockaddr *)&c->base.peer,
		    (struct sockaddr *)&local, (char *)buf, sizeof(buf), &len);
	} else {
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
		struct pp_info info = {
			.src = (struct sockaddr *)&c->base.peer,
			.dst = (struct sockaddr *)&local,
			.ssl = 1,
			.cert_conn = peer != NULL,
			.verified = sconn_authenticated(c),
			.tls_version = SSL_get_version(c->ssl),
			.cipher = SSL_get_cipher_name(c->ssl),
			.sig_alg = peer != NULL ?
			    OBJ_nid2ln(X509_get_signature_nid(peer)) : NULL,
			.key_alg = peer != NULL ? tls_key_alg(X509_get0_pubkey(peer),
			    key_alg, sizeof(key_alg)) : NULL,
			.identity = sconn_authenticated(c) ? c->name : NULL,
			.tlsa_wildcard = sconn_authenticated(c) &&
			    c->dane.wildcard[0] != '\0' ? c->dane.wildcard : NULL,
			.authority = SSL_get_servername(c->ssl,
			    TLSEXT_NAMETYPE_host_name),
			.alpn = alpn,
			.alpn_len = alpn_len,
			.unique_id = c->base.id,
			.identity_tlv = cs->pp2_identity_tlv,
			.minimal = cs->pp2_minimal,
			.crc32c = cs->pp2_crc32c,
		};
		r = pp2_encode(&info, buf, sizeof(buf), &len);
	}
	if (r != DP_OK)
		return r;
	/* A fresh socket's buffer takes a header (at most PP2_HEADER_MAX). */
	return send(c->ufd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? DP_OK :
	    DP_ERR_IO;
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
 * whatever else the client sent. NULL when there is nothing to send, and
 * on any failure: a truncated list would pass for the whole chain. */
static char *
cert_chain_sf(STACK_OF(X509) *chain)
{
	size_t len = 0, cap = 0;
	char *out = NULL, *one, *grown;
	int i;

	for (i = 1; chain != NULL && i < sk_X509_num(chain); i++) {
		if ((one = cert_sf_bytes(sk_X509_value(chain, i))) == NULL)
			goto fail;
		if (len + strlen(one) + 3 > cap) {
			cap = (len + strlen(one) + 3) * 2;
			if ((grown = realloc(out, cap)) == NULL) {
				free(one);
				goto fail;
			}
			out = grown;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
		    len > 0 ? ", " : "", one);
		free(one);
	}
	return out;

fail:
	free(out);
	return NULL;
}

/* forward = http: the header set every request of this connection loses
 * (whatever the client sent under these names) and gets. */
static void
http_setup(struct sconn *c)
{
	const struct conf_server *cs = sconn_listener(c)->conf;
	struct sconn_http *h = c->http;
	struct http_relay_opts *o = &h->opts;
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	size_t na = 0, nd = 0;
	char *colon;

/* Bounded pushes: an overflow would land silently in the neighbouring
 * array of the same struct, where no sanitizer sees it. */
#define DROP(name) do { \
	assert(nd < SCONN_HTTP_DROP_MAX); \
	h->drop[nd++] = (name); \
} while (0)
#define ADD(name, value) do { \
	assert(na < SCONN_HTTP_ADD_MAX); \
	h->add[na++] = (struct http1_add){ (name), (value) }; \
} while (0)

	DROP(cs->http_header);
	DROP("DANE-Client-TLSA");
	DROP("Client-Cert");
	DROP("Client-Cert-Chain");
	/* Said by the TS002 binding alone, per request: never the client's. */
	DROP(SCONN_TS002_HEADER);
	if (cs->ts002_binding != TS002_OFF)
		/* The relay holds the body and answers 100 Continue itself;
		 * the upstream gets head and body at once. */
		DROP("Expect");
	if (cs->add_xff)
		DROP("X-Forwarded-For");
	if (cs->add_xfp)
		DROP("X-Forwarded-Proto");
	if (sconn_authenticated(c)) {
		/* A record synthesised from a wildcard says so, as a
		 * parameter: one key may then speak for many names. */
		if (c->dane.wildcard[0] != '\0')
			snprintf(h->id_value, sizeof(h->id_value),
			    "%s; wildcard=\"%s\"", c->name, c->dane.wildcard);
		else
			dp_strlcpy(h->id_value, c->name, sizeof(h->id_value));
		ADD(cs->http_header, h->id_value);
		if (cs->add_tlsa_header)
			ADD("DANE-Client-TLSA", c->dane.tlsa);
		if (cs->add_client_cert && peer != NULL &&
		    (h->client_cert = cert_sf_bytes(peer)) != NULL)
			ADD("Client-Cert", h->client_cert);
		if (cs->add_client_cert_chain &&
		    (h->client_cert_chain = cert_chain_sf(c->dane.verified)) != NULL)
			ADD("Client-Cert-Chain", h->client_cert_chain);
	}
	if (cs->add_xff) {
		/* The address without the port (and without IPv6 brackets). */
		const char *src = c->base.peer_str;

		dp_strlcpy(h->xff, src[0] == '[' ? src + 1 : src, sizeof(h->xff));
		if ((colon = strrchr(h->xff, src[0] == '[' ? ']' : ':')) != NULL)
			*colon = '\0';
		ADD("X-Forwarded-For", h->xff);
	}
	if (cs->add_xfp)
		ADD("X-Forwarded-Proto", "https");
	o->limits.max_head = cs->max_request_head;
	o->limits.max_headers = cs->max_request_headers;
	o->rw.managed = h->drop;
	o->rw.n_managed = nd;
	o->rw.add = h->add;
	o->rw.n_add = na;
	o->rw.upgrade_protocols = cs->upgrade_protocols;
	o->rw.underscores = (enum http1_underscores)cs->underscores;
	o->idle_timeout_ms = cs->idle_timeout_ms;
	o->upstream_timeout_ms = cs->upstream_timeout_ms;
	o->mx = c->base.l->mx;
	if (cs->station_binding != NULL)
		sconn_station_setup(c, o);
	if (cs->ts002_binding != TS002_OFF) {
		o->inspect.inspect = sconn_ts002_inspect;
		o->inspect.oversize = sconn_ts002_oversize;
		o->inspect.cancel = sconn_ts002_cancel;
		o->inspect.arg = c;
		o->inspect.max_body = cs->ts002_max_body;
	}
#undef DROP
#undef ADD
}

/* forward = http: the HTTP relay parses and rewrites, on bufferevents. */
static int
http_start(struct sconn *c)
{
	struct event_base *base = c->base.l->base;

	if ((c->ubev = bufferevent_socket_new(base, c->ufd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return DP_ERR_NOMEM;
	c->ufd = -1;	/* ubev's */
	if ((c->http = calloc(1, sizeof(*c->http))) == NULL)
		return DP_ERR_NOMEM;
	c->cbev = bufferevent_openssl_socket_new(base, c->fd, c->ssl,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	if (c->cbev == NULL) {
		c->ssl = NULL;	/* libevent freed it (BEV_OPT_CLOSE_ON_FREE) */
		return DP_ERR_NOMEM;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->cbev, 1);
	http_setup(c);
	return http_relay_start(base, c->cbev, c->ubev, &c->http->opts, relay_done,
	    c, &c->base.hrelay);
}

static void
upstream_connected(struct sconn *c)
{
	const struct conf_server *cs = sconn_listener(c)->conf;
	struct relay_end client = { c->fd, c->ssl, "client" };
	struct relay_end upstream = { c->ufd, NULL, "upstream" };
	int r;

	event_del(c->timer);
	if ((r = send_proxy_header(c)) != DP_OK) {
		sconn_end(c, MX_OUT_ERROR, r == DP_ERR_IO ? "cannot send PROXY "
		    "header" : "cannot encode PROXY header", 1);
		return;
	}
	c->state = SC_RELAY;
	/* The handshake's and the connect's events are done with. */
	event_free(c->ev);
	c->ev = NULL;
	event_free(c->timer);
	c->timer = NULL;
	if (cs->forward == FORWARD_HTTP)
		r = http_start(c);
	else
		r = relay_start(c->base.l->base, &client, &upstream,
		    cs->idle_timeout_ms, relay_done, c, &c->base.relay);
	if (r != DP_OK) {
		sconn_end(c, MX_OUT_ERROR, "out of memory", 0);
		return;
	}
	if (sconn_authenticated(c))
		conn_watch(&c->base, c->name, c->dane.answer, c->ssl,
		    c->cert_name != NULL ? c->cert_name : c->name);
}

/* The upstream could not be reached: close the client's TLS cleanly.
 * mx_why: the upstream error to count, -1 for none (our own failure). */
static void
upstream_failed(struct sconn *c, int http_status, int mx_why, const char *why)
{
	size_t n = sizeof("upstream ") + strlen(why);

	if (mx_why >= 0)
		mx_upstream_error(c->base.l->mx, (enum mx_up_reason)mx_why);
	if ((c->reason_alloc = malloc(n)) != NULL)
		snprintf(c->reason_alloc, n, "upstream %s", why);
	if (sconn_listener(c)->conf->forward == FORWARD_HTTP) {
		/* Small enough for the socket buffer: one try, no waiting. */
		const char *resp = http1_error_response(http_status);
		(void)SSL_write(c->ssl, resp, (int)strlen(resp));
	}
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	sconn_end(c, MX_OUT_ERROR, c->reason_alloc != NULL ? c->reason_alloc :
	    "upstream failed", 1);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0)
		upstream_failed(c, 502, MX_UP_CONNECT, strerror(err));
	else
		upstream_connected(c);
}

void
sconn_upstream_connect(struct sconn *c)
{
	const struct conf_server *cs = sconn_listener(c)->conf;
	const struct sockaddr *sa = (const struct sockaddr *)&cs->upstream.ss;

	c->state = SC_CONNECTING;
	/* Reads and writes from now on are plain: no job switches. */
	SSL_clear_mode(c->ssl, SSL_MODE_ASYNC);
	if ((c->ufd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		upstream_failed(c, 502, MX_UP_CONNECT, strerror(errno));
		return;
	}
	dp_tcp_nodelay(c->ufd);
	if (connect(c->ufd, sa, cs->upstream.len) == 0) {
		upstream_connected(c);
		return;
	}
	if (errno != EINPROGRESS) {
		upstream_failed(c, 502, MX_UP_CONNECT, strerror(errno));
		return;
	}
	sconn_timer_arm(c, cs->connect_timeout_ms);
	event_assign(c->ev, c->base.l->base, c->ufd, EV_WRITE, connect_cb, c);
	event_add(c->ev, NULL);
}

/* --- the handshake */

void
sconn_upstream_timeout(struct sconn *c)
{
	upstream_failed(c, 504, MX_UP_CONNECT_TIMEOUT, "connect timeout");
}
