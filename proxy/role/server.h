/* server.h — the server role: a listener that terminates TLS from remote
 * clients, authenticates them by DANE (dane_clientid → allowlist → TLSA
 * lookup → match) while the handshake is paused, and only then connects to
 * the upstream and relays, announcing the identity in a PROXY header.
 *
 * Flow of one connection:
 *   accept → SSL_do_handshake under SSL_MODE_ASYNC → the certificate verify
 *   callback pauses the handshake (ASYNC_pause_job) → on the event loop:
 *   identity, allowlist, TLSA cache/lookup, tlsa_match → resume: the callback
 *   returns yes, or no and OpenSSL sends handshake_failure → upstream connect
 *   → PROXY header → relay → one log line. */
#ifndef DP_SERVER_H
#define DP_SERVER_H

#include <stdio.h>

#include "conf.h"

struct event_base;
struct tlsa_cache;
struct server_listener;

/* Builds a listener for cs: TLS context, TLSA matcher. Nothing is bound yet.
 * cache is shared (not owned). Problems are written to errs as
 * "FILE:LINE: key: reason". Returns DP_OK or an error code. */
int server_listener_new(struct event_base *base, const struct conf_server *cs,
    struct tlsa_cache *cache, FILE *errs, struct server_listener **out);

/* Starts accepting on fd, the listening socket the master bound for this
 * listener (taken, closed on failure too), or with fd -1 on a socket bound
 * now. Returns DP_OK, DP_ERR_IO (errno set) or DP_ERR_NOMEM. */
int server_listener_start(struct server_listener *l, int fd);

/* Stops accepting (draining): connections in progress go on, but an HTTP
 * keep-alive connection (forward = http) takes no new request and closes
 * once its requests are answered. */
void server_listener_stop(struct server_listener *l);

/* Connections open now (handshaking, connecting or relaying). */
unsigned server_listener_active(const struct server_listener *l);

/* Closes every connection and frees the listener; accepts NULL. */
void server_listener_free(struct server_listener *l);

#endif
