/* admin.h — the admin HTTP endpoint (served by the admin process,
 * adminproc.h): GET or HEAD /metrics
 * (Prometheus text exposition), /healthz (the master's loop runs) and
 * /readyz (what the master's ready handler says).
 *
 * Deliberately small: HTTP/1.0 and 1.1, one request per connection, every
 * answer with Content-Length and Connection: close, flushed before the
 * close. The request head is parsed by http1.c (strict), at most 8 KiB
 * (431 beyond), within 5 s of the accept (then the connection is closed);
 * at most 64 admin connections at once (more are closed at accept). A query
 * string is ignored; another path is 404, another method 405 (Allow: GET,
 * HEAD), a malformed head 400. */
#ifndef DP_ADMIN_H
#define DP_ADMIN_H

#include <stddef.h>

#include <event2/util.h>

struct event_base;

#define ADMIN_MAX_CONNS 64
#define ADMIN_HEAD_MAX 8192
#define ADMIN_HEAD_TIMEOUT_MS 5000

struct admin_handlers {
	/* New malloc'ed exposition body; DP_OK or an error (→ 500). NULL:
	 * /metrics is 404. */
	int (*metrics)(void *arg, char **body, size_t *len);
	/* 1 when ready; else 0 with a short reason written into why. NULL:
	 * always ready. */
	int (*ready)(void *arg, char *why, size_t why_size);
	void *arg;
};

struct admin_server;
struct http1_request;

enum admin_route {
	ADMIN_ROUTE_NONE,		/* status says why: 400, 404, 405, 431 */
	ADMIN_ROUTE_METRICS,
	ADMIN_ROUTE_HEALTHZ,
	ADMIN_ROUTE_READYZ,
};

struct admin_request {
	int status;		/* 200 when route is set, else the error's */
	enum admin_route route;
	int head_only;		/* HEAD */
};

/* Parses the first len received bytes of a connection (at most
 * ADMIN_HEAD_MAX are looked at) and routes the request. scratch is the
 * parser's work area. Returns DP_ERR_AGAIN while the head is incomplete,
 * else DP_OK with out filled: a route and status 200, or ADMIN_ROUTE_NONE
 * and the status to answer. Pure: no I/O, no state. */
int admin_request_parse(const char *p, size_t len,
    struct http1_request *scratch, struct admin_request *out);

/* Serves on fd (bound, listening, non-blocking; ownership taken, closed on
 * failure too) from base. h is copied. The caller keeps the number of fd:
 * a process forked from the master should close it. Returns DP_OK or
 * DP_ERR_NOMEM. */
int admin_server_new(struct event_base *base, evutil_socket_t fd,
    const struct admin_handlers *h, struct admin_server **out);

/* Stops listening and closes every admin connection; accepts NULL. */
void admin_server_free(struct admin_server *a);

/* Closes the listening socket; the connections in progress go on. */
void admin_server_stop_accepting(struct admin_server *a);

/* Admin connections in progress. */
unsigned admin_server_active(const struct admin_server *a);

#endif
