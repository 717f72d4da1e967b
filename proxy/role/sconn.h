/* sconn.h — the server role's connection, shared by server.c (accept, the
 * handshake, the DANE decision) and server_up.c (the upstream: connect,
 * PROXY header or HTTP, relay). Internal to the server module. */
#ifndef DP_SCONN_H
#define DP_SCONN_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "clientid.h"
#include "conf.h"
#include "chaincache.h"
#include "conn.h"
#include "dane.h"
#include "http1.h"
#include "httprelay.h"
#include "tls.h"
#include "ts002.h"

struct server_listener {
	struct conn_listener base;	/* first: conn.c's part, with the TLS
					 * context and the DANE rules */
	const struct conf_server *conf;
	struct ts002_map *ts002;	/* ts002_binding = map; else NULL */
	struct ts002_dns *ts002_dns;	/* ts002_binding = dns; else NULL */
	struct chaincache *chains;	/* stapled_chain: the worker's judge */
	struct chain_policy chain_policy; /* stapled_chain: what it asks */
};

/* A connection's way from accept to relay. The handshake runs under
 * SSL_MODE_ASYNC: the certificate callback (verify_cb) pauses its job in
 * SC_PAUSED, the event loop runs the DANE check (SC_CHECKING) and resumes
 * the job with the decision (SC_DECIDED, or SC_ABORTED: a no whatever
 * client_auth says). The handshake then goes on in that state. */
enum sconn_state {
	SC_HANDSHAKE,		/* TLS handshake, no certificate seen yet */
	SC_PAUSED,		/* the job waits in verify_cb for the check to start */
	SC_CHECKING,		/* the job waits; the DANE check runs */
	SC_DECIDED,		/* c->dane has the verdict */
	SC_ABORTED,		/* fail the handshake */
	SC_CONNECTING,		/* handshake done, connecting to the upstream */
	SC_RELAY,
};

/* What only the handshake needs: allocated at accept, freed when the
 * handshake ends, so that an established connection does not carry it. */
struct sconn_hs {
	struct tls_clientid cid;	/* filled by the extension callback */
	X509 *leaf;			/* borrowed from the paused job */
	STACK_OF(X509) *chain;
	/* The name a DANE-TA match looks for among the certificate's SAN
	 * dNSNames: the ClientName, or after a SAN fallback the SAN itself
	 * (name then carries san_tlsa_prefix, which no SAN has). */
	char cert_name[CLIENTID_NAME_MAX + 1];
};

/* The most fields http_setup adds and drops: the identity header,
 * DANE-Client-TLSA, Client-Cert, Client-Cert-Chain, X-Forwarded-For and
 * X-Forwarded-Proto; dropped too: DANE-TS002-Binding (the relay's
 * inspection adds it per request) and, with ts002_binding, Expect. A new
 * field raises these; http_setup asserts them. */
#define SCONN_HTTP_ADD_MAX	6
#define SCONN_HTTP_DROP_MAX	8

/* The field the TS002 binding adds to a request it let through. */
#define SCONN_TS002_HEADER	"DANE-TS002-Binding"

/* forward = http: what every request gets and loses; allocated when the
 * HTTP relay starts. */
struct sconn_http {
	struct http_relay_opts opts;
	struct http1_add add[SCONN_HTTP_ADD_MAX];
	const char *drop[SCONN_HTTP_DROP_MAX];
	char id_value[CLIENTID_NAME_MAX + DNS_WILDCARD_MAX + 16];
	char xff[DP_ADDR_STRLEN];
	char *client_cert;		/* RFC 9440 values, malloc'd */
	char *client_cert_chain;
	/* station_binding (server_station.c): */
	int station_named;		/* the name fits the template */
	uint64_t station_eui;		/* the EUI it encodes */
	char station_reason[200];	/* the last refusal, for the log line */
	/* ts002_binding = dns (server_ts002_dns.c): the request waiting for
	 * its SenderID's DNS answer, or NULL. */
	struct ts002_wait *ts002_wait;
};

struct sconn {
	struct conn base;		/* first: conn.c's part */
	enum sconn_state state;
	evutil_socket_t fd;
	SSL *ssl;
	struct event *ev;		/* socket readiness while handshaking, then
					 * the upstream connect */
	struct event *timer;		/* handshake, then connect timeout */
	struct sconn_hs *hs;		/* until the handshake ends */
	struct dane_check dane;
	char *name;			/* the identity checked (malloc'd), or NULL */
	char *cert_name;		/* authenticated: sconn_hs.cert_name when it
					 * is not name (malloc'd), for re-checks */
	const char *reason;		/* why not authenticated / why it ended */
	char *reason_alloc;		/* a reason formatted for this connection */
	int hs_fail;			/* enum mx_hs_reason behind reason; -1: none
					 * (or counted already) */

	evutil_socket_t ufd;		/* upstream, -1 before the connect (and
					 * with forward = http: ubev's) */
	struct bufferevent *cbev;	/* forward = http: the client side */
	struct bufferevent *ubev;	/* forward = http: the upstream */
	struct sconn_http *http;	/* forward = http */
};

static inline struct server_listener *
sconn_listener(const struct sconn *c)
{
	return (struct server_listener *)c->base.l;
}

/* The DANE check authenticated the client. */
static inline int
sconn_authenticated(const struct sconn *c)
{
	return c->dane.verdict == DANE_MATCHED;
}

/* server.c: ends c (log line, metrics, frees); with linger the client socket
 * is closed gracefully (an alert just written survives). */
void sconn_end(struct sconn *c, enum mx_outcome outcome, const char *reason,
    int linger);
void sconn_timer_arm(struct sconn *c, unsigned ms);

/* server_station.c: station_binding on this connection's HTTP relay: reads
 * the station's EUI from its name and sets o's head check. */
void sconn_station_setup(struct sconn *c, struct http_relay_opts *o);
/* server_ts002.c: ts002_binding. The map loaded for l (errors as
 * "FILE:LINE: reason" to errs); DP_OK when the binding is off. */
int sconn_ts002_load(struct server_listener *l, FILE *errs);
/* The inspection hook of the HTTP relay (struct http_inspect), arg the
 * struct sconn: a TS002 request passes when its SenderID is bound to the
 * client's authenticated name, else it gets the refusal TS002 or HTTP
 * says; every refusal is logged and counted. */
void sconn_ts002_inspect(void *arg, struct http_relay *h,
    const struct http_inspected *rq);
/* The relay's cancel hook: a verdict owed to h will not be given (the
 * request waiting for DNS is forgotten). */
void sconn_ts002_cancel(void *arg, struct http_relay *h);
/* server_ts002_dns.c: ts002_binding = dns. The listener's state (lookups
 * on cache's DNS client), created when the binding is dns; its end. */
int sconn_ts002_dns_new(struct server_listener *l, struct tlsa_cache *cache);
void sconn_ts002_dns_free(struct server_listener *l);
/* The verdict on m (parsed, c authenticated) by DNS: now, or later from
 * the loop. */
void sconn_ts002_dns_judge(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m);
/* server_ts002.c: the verdicts, logged and counted: m bound (by: "map",
 * "dns"; via: the DNS target that matched, or NULL), m not bound
 * (UnknownSender, or 403 for an answer), no verdict possible now (503). */
void sconn_ts002_bound(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m, const char *by, const char *via);
void sconn_ts002_unbound(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m, const char *desc);
void sconn_ts002_unavailable(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m, const char *why);
void sconn_ts002_oversize(void *arg, struct http_relay *h, const char *method,
    const char *target, uint64_t declared);

/* server_up.c: the handshake is done; connect to the upstream, then
 * relay. */
void sconn_upstream_connect(struct sconn *c);
/* connect_timeout_ms passed while connecting. */
void sconn_upstream_timeout(struct sconn *c);

#endif
