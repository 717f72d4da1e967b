/* server.h — the server role: a listener that terminates TLS from remote
 * clients, authenticates them by DANE (dane_clientid → allowlist → TLSA
 * lookup → match) while the handshake is paused, and only then connects to
 * the upstream and relays, announcing the identity in a PROXY header.
 *
 * Flow of one connection:
 *   accept and admission (conn.c) → SSL_do_handshake under SSL_MODE_ASYNC →
 *   the certificate verify callback pauses the handshake (ASYNC_pause_job) →
 *   on the event loop: the identity, then the DANE decision (dane.h: allow
 *   list, TLSA answer, match) → resume: the callback returns yes, or no and
 *   OpenSSL sends handshake_failure → upstream connect → PROXY header or
 *   HTTP → relay (server_up.c) → one log line (conn.c). */
#ifndef DP_SERVER_H
#define DP_SERVER_H

#include <stdio.h>

#include "conf.h"
#include "dane.h"

struct conn_listener;
struct event_base;
struct recheck_table;
struct tlsa_cache;

/* Builds a listener for cs: TLS context, TLSA matcher. Nothing is bound yet;
 * conn.h's conn_listener_* start, stop, count and free it. sh (the cache,
 * the live connections' re-checks, the stapled chains' judge) is shared,
 * not owned; sh->chains is needed with stapled_chain. Problems are written
 * to errs as "FILE:LINE: key: reason". Returns DP_OK or an error code. */
int server_listener_new(struct event_base *base, const struct conf_server *cs,
    const struct dane_shared *sh, FILE *errs, struct conn_listener **out);

/* What cs asks of a client (allow list, wildcard policy, re-checks) as
 * dane.h's rules, with cache and mx; no matcher, no re-check table. */
struct dane_rules server_dane_rules(const struct conf_server *cs,
    struct tlsa_cache *cache, struct mx_listener *mx);

#endif
