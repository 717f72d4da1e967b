/* bevrelay.h — the HTTP relay's tunnel after an Upgrade (httprelay_tunnel.c):
 * bytes both ways between the two bufferevents it already had, with
 * back-pressure (a side stops reading while the other's output is above a
 * high-water mark), half-close (EOF on one side is passed on as a TCP FIN or
 * a TLS close_notify once everything before it is written) and an idle
 * timeout. Either side may be a plain socket or an OpenSSL bufferevent.
 * Internal to the httprelay module (struct bev_ws_first also reaches the
 * roles through http_relay_opts.head_check); bulk TCP relaying is relay.h's. */
#ifndef DP_BEVRELAY_H
#define DP_BEVRELAY_H

#include "relay.h"
#include "wsframe.h"

struct bufferevent;
struct event_base;

#define BEV_RELAY_HIGH_WATER (256 * 1024)	/* bytes queued towards one side */

struct bev_relay;

/* A check of the first WebSocket message the first side (the client) sends
 * through the tunnel, before any byte of it reaches the other side:
 * check(arg, m, why) gets the message (m), or m == NULL and why when the
 * stream holds no readable one (wsframe_first_message's refusals: a close
 * frame, an extension bit, over 4 KiB, ...). It returns NULL to let the
 * message and all that follows through (the tunnel then relays bytes as
 * before), or a reason (static, or kept by arg until the done callback):
 * the client is then sent a close frame 1008 (policy violation), the other
 * side nothing of what the client sent, and the relay ends with that
 * reason once the close frame is written. */
struct bev_ws_first {
	const char *(*check)(void *arg, const struct ws_message *m,
	    const char *why);
	void *arg;
};

/* Re-arms writing on a TLS bufferevent that has reported EOF: libevent 2.1's
 * OpenSSL bufferevent stops its write event when it sees the peer's
 * close_notify, so bytes queued after that are written only while the socket
 * takes them at once, and stall for good the first time it does not. Call
 * after queueing output to such a side. No-op for plain sockets. */
void bev_rearm_write(struct bufferevent *bev);

/* Starts relaying between a and b (both connected; not owned: the caller
 * frees them after the done callback or after bev_relay_free). a_name and
 * b_name ("client", "upstream") appear in reasons. Data already in a's or
 * b's input buffers is moved at once (a's after first's check, when first
 * is not NULL: copied, see struct bev_ws_first). Returns DP_OK or
 * DP_ERR_NOMEM. */
int bev_relay_start(struct event_base *base, struct bufferevent *a,
    const char *a_name, struct bufferevent *b, const char *b_name,
    unsigned idle_timeout_ms, const struct bev_ws_first *first,
    relay_done_cb done, void *arg, struct bev_relay **out);

/* Stops relaying (no callback) and frees the relay; accepts NULL. */
void bev_relay_free(struct bev_relay *r);

/* Counters so far. */
const struct relay_stats *bev_relay_stats(const struct bev_relay *r);

#endif
