/* bevrelay.h — the HTTP relay's tunnel after an Upgrade (httprelay_tunnel.c):
 * bytes both ways between the two bufferevents it already had, with
 * back-pressure (a side stops reading while the other's output is above a
 * high-water mark), half-close (EOF on one side is passed on as a TCP FIN or
 * a TLS close_notify once everything before it is written) and an idle
 * timeout. Either side may be a plain socket or an OpenSSL bufferevent.
 * Internal to the httprelay module; bulk TCP relaying is relay.h's. */
#ifndef DP_BEVRELAY_H
#define DP_BEVRELAY_H

#include "relay.h"

struct bufferevent;
struct event_base;

#define BEV_RELAY_HIGH_WATER (256 * 1024)	/* bytes queued towards one side */

struct bev_relay;

/* Re-arms writing on a TLS bufferevent that has reported EOF: libevent 2.1's
 * OpenSSL bufferevent stops its write event when it sees the peer's
 * close_notify, so bytes queued after that are written only while the socket
 * takes them at once, and stall for good the first time it does not. Call
 * after queueing output to such a side. No-op for plain sockets. */
void bev_rearm_write(struct bufferevent *bev);

/* Starts relaying between a and b (both connected; not owned: the caller
 * frees them after the done callback or after bev_relay_free). a_name and
 * b_name ("client", "upstream") appear in reasons. Data already in a's or
 * b's input buffers is moved at once. Returns DP_OK or DP_ERR_NOMEM. */
int bev_relay_start(struct event_base *base, struct bufferevent *a,
    const char *a_name, struct bufferevent *b, const char *b_name,
    unsigned idle_timeout_ms, relay_done_cb done, void *arg, struct bev_relay **out);

/* Stops relaying (no callback) and frees the relay; accepts NULL. */
void bev_relay_free(struct bev_relay *r);

/* Counters so far. */
const struct relay_stats *bev_relay_stats(const struct bev_relay *r);

#endif
