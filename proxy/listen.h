/* listen.h — a listening TCP socket on the event loop, shared by both roles:
 * non-blocking accepted sockets with TCP_NODELAY, and a pause instead of a
 * busy loop when accept() fails (EMFILE, ENFILE, ENOBUFS). */
#ifndef DP_LISTEN_H
#define DP_LISTEN_H

#include <sys/socket.h>

#include <event2/util.h>

#include "util.h"

struct event_base;
struct dp_listener;

/* Called for each accepted connection; fd is non-blocking and now owned by
 * the callee. */
typedef void (*dp_accept_cb)(void *arg, evutil_socket_t fd,
    struct sockaddr *peer, int peer_len);

/* Binds addr and starts accepting. name appears in log lines. Returns DP_OK
 * or DP_ERR_IO (errno set) / DP_ERR_NOMEM. */
int dp_listener_start(struct event_base *base, const struct dp_addr *addr,
    const char *name, dp_accept_cb cb, void *arg, struct dp_listener **out);

/* Stops accepting and closes the socket; accepts NULL. */
void dp_listener_free(struct dp_listener *l);

#endif
