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

/* Starts accepting for addr: on fd, a listening socket bound to it (a
 * worker's, bound by the master; taken, closed on failure too), or with fd
 * -1 on a new socket bound now. name appears in log lines. Returns DP_OK or
 * DP_ERR_IO (errno set) / DP_ERR_NOMEM. */
int dp_listener_start(struct event_base *base, const struct dp_addr *addr,
    evutil_socket_t fd, const char *name, dp_accept_cb cb, void *arg,
    struct dp_listener **out);

/* The same on fd, a socket already bound and listening (ownership taken,
 * closed on failure too). Returns DP_OK or DP_ERR_NOMEM. */
int dp_listener_start_fd(struct event_base *base, evutil_socket_t fd,
    const char *name, dp_accept_cb cb, void *arg, struct dp_listener **out);

/* Creates a TCP socket bound to addr and listening: non-blocking,
 * close-on-exec, SO_REUSEADDR. Port 0 in addr lets the kernel choose one.
 * Logs, at info, the address bound: a "listening" event with role (server,
 * client, admin) and name (the section's; NULL: left out), which is how
 * whoever configured port 0 learns the port. Returns DP_OK with *fd set and,
 * if bound is not NULL, the address bound in *bound (never port 0); or
 * DP_ERR_IO with errno set. */
int dp_listen_socket(const struct dp_addr *addr, const char *role,
    const char *name, evutil_socket_t *fd, struct dp_addr *bound);

/* Stops accepting and closes the socket (this process's descriptor: other
 * processes sharing the socket keep accepting); accepts NULL. */
void dp_listener_free(struct dp_listener *l);

#endif
