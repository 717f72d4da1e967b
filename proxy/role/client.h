/* client.h — the client role: a plain TCP listener for a local, unmodified
 * client; each connection is matched 1:1 with a TLS connection to the
 * remote that carries this route's client certificate and ClientName
 * (dane_clientid) and authenticates the remote server: by DANE (the TLSA
 * RRset at tlsa_name, looked up and DNSSEC-validated before connecting, RFC
 * 7671/7672 rules: DANE-EE without name checks, DANE-TA with them), by PKIX
 * (ca_file and server_name), or by DANE when the TLSA answer is secure and
 * PKIX when it is securely absent or insecure. Bogus and failed lookups
 * always fail. Local bytes are only read once the remote is authenticated;
 * with forward = http a failure answers the local client 502. */
#ifndef DP_CLIENT_H
#define DP_CLIENT_H

#include <stdio.h>

#include "conf.h"
#include "dane.h"

struct conn_listener;
struct event_base;
struct recheck_table;
struct tlsa_cache;

/* Builds a route for cc (TLS context; with staple_chain its chain, built
 * and kept fresh from now on). Nothing is bound yet; conn.h's
 * conn_listener_* start, stop, count and free it. sh is shared, not owned:
 * its cache serves the remote's TLSA lookups (and the chain's queries) and
 * may be NULL only with verify_server = pkix and no staple_chain; its
 * rechecks (may be NULL) re-check live connections against new answers.
 * Problems go to errs as "FILE:LINE: key: reason". Returns DP_OK or an
 * error code. */
int client_route_new(struct event_base *base, const struct conf_client *cc,
    const struct dane_shared *sh, FILE *errs, struct conn_listener **out);

/* What cc asks of the remote server (PKIX fallback, re-checks) as dane.h's
 * rules, with cache and mx; no matcher, no re-check table. */
struct dane_rules client_dane_rules(const struct conf_client *cc,
    struct tlsa_cache *cache, struct mx_listener *mx);

#endif
