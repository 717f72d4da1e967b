/* httprelay.h — relays HTTP/1.1 between a client and an upstream, parsing
 * every request head (keep-alive and pipelined requests alike) so that the
 * headers the proxy sets are removed from what the client sent and added
 * anew, and every response head so that each body is framed exactly as the
 * upstream framed it. Bodies stream through (Content-Length, chunked,
 * until-close) with back-pressure; nothing is buffered whole. After a 101
 * answer to an Upgrade request the connection becomes a plain relay.
 *
 * The client gets an HTTP error and the connection closes when its request
 * is malformed (400, 501), too large (431), when the upstream resets before
 * answering (502) or does not answer in time (504). The upstream's failures
 * (its 502s and 504s, and a malformed or unsolicited response) are counted
 * in metrics as upstream errors. */
#ifndef DP_HTTPRELAY_H
#define DP_HTTPRELAY_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"
#include "relay.h"

struct bev_ws_first;
struct bufferevent;
struct event_base;
struct mx_listener;
struct http_relay;

/* A request held for inspection: its head as the client sent it (parsed)
 * and, when it has one, its whole body (de-chunked when it came chunked).
 * The pointers stay valid until the verdict is given or cancelled. */
struct http_inspected {
	const struct http1_request *head;	/* NULL once the call returns */
	const char *method;		/* NUL-terminated */
	const char *target;		/* NUL-terminated */
	const char *body;		/* body_len bytes; NULL when it has none */
	size_t body_len;
	int has_body;			/* Content-Length > 0 or chunked */
};

/* What an inspector concluded about one request. */
struct http_verdict {
	int pass;		/* 1: forwarded; 0: answered by the relay */
	/* pass: one more field added after the rewritten head's own
	 * ("name: value"; a token and a value without control characters,
	 * else the request is refused with 500); NULL: none. Copied. */
	const char *add_name;
	const char *add_value;
	/* refuse: the status (200..599), the reason phrase, the answer's
	 * Content-Type and body (copied), and an Allow value for a 405. */
	int status;
	const char *status_text;
	const char *content_type;
	const char *body;
	size_t body_len;
	const char *allow;
};

/* Called once per request, after its whole body arrived and before any
 * byte of it goes upstream. The inspector answers with
 * http_relay_verdict(h, ...), inside this call or later from the loop;
 * until then the relay reads nothing more from the client. */
typedef void (*http_inspect_cb)(void *arg, struct http_relay *h,
    const struct http_inspected *rq);
/* The relay ends (or is freed) while a verdict is owed: the inspector
 * forgets h and must not call http_relay_verdict for it. */
typedef void (*http_inspect_cancel_cb)(void *arg, struct http_relay *h);
/* A body went over max_body: the relay answers 413 and closes; the
 * inspector is told only so that it can log and count. */
typedef void (*http_inspect_oversize_cb)(void *arg, struct http_relay *h,
    const char *method, const char *target, uint64_t declared);

struct http_inspect {
	http_inspect_cb inspect;	/* NULL: no inspection (the rest unused) */
	http_inspect_cancel_cb cancel;	/* may be NULL */
	http_inspect_oversize_cb oversize;	/* may be NULL */
	void *arg;
	size_t max_body;		/* bytes of (de-chunked) body, >= 1 */
};

struct http_relay_opts {
	struct http1_limits limits;	/* request heads */
	struct http1_rewrite rw;	/* how every request head is rewritten */
	unsigned idle_timeout_ms;	/* no traffic either way: close */
	unsigned upstream_timeout_ms;	/* request sent, no response head: 504; 0 = none */
	struct mx_listener *mx;		/* counts upstream errors (502, 504); NULL: none */
	/* The role's policy on each request head, before anything of it is
	 * forwarded (station_binding); NULL: none. Returns 0 to forward it,
	 * or an HTTP status (403) to answer instead, *reason (static, or
	 * kept by head_check_arg) saying why; the connection then closes.
	 * It may fill *ws_first (zeroed before each call): if the request
	 * upgrades, the tunnel checks the client's first WebSocket message. */
	int (*head_check)(void *arg, const struct http1_request *rq,
	    struct bev_ws_first *ws_first, const char **reason);
	void *head_check_arg;
	/* Every request held whole (head and body, the body within
	 * max_body, else 413 and close) until an inspector's verdict; one
	 * request at a time per connection, the client not read meanwhile.
	 * inspect.inspect NULL: requests stream as they arrive. */
	struct http_inspect inspect;
};

/* Starts relaying HTTP between client and upstream (both connected, not
 * owned). opts and everything it points to must outlive the relay. done is
 * called once, as for relay_start(). Returns DP_OK or DP_ERR_NOMEM. */
int http_relay_start(struct event_base *base, struct bufferevent *client,
    struct bufferevent *upstream, const struct http_relay_opts *opts,
    relay_done_cb done, void *arg, struct http_relay **out);

/* The proxy is draining (shutdown or reload): requests already read are
 * answered, no new one is read, then the connection is closed, at once if
 * it is idle. A connection upgraded after 101 carries on until it ends or
 * the drain times out. Accepts NULL. */
void http_relay_drain(struct http_relay *h);

/* Ends the exchange as a drain does, after the response to the request in
 * flight (at once if idle), with reason as the done callback's reason
 * (kept by the caller until then). Returns 1, or 0 when that cannot be
 * done (the connection is a tunnel after 101, or waiting for the answer to
 * an Upgrade): then the caller ends it itself. */
int http_relay_close_after_response(struct http_relay *h, const char *reason);

/* The verdict on the request handed to the inspector (see struct
 * http_inspect): pass forwards it (the rewritten head, add_name: add_value,
 * the body bytes exactly as the client sent them, trailers dropped);
 * refuse answers the client with v's status and body once every earlier
 * request is answered, and keeps the connection unless the request was
 * its last (Connection: close, HTTP/1.0 without keep-alive, an Upgrade,
 * a drain). Ignored when no verdict is owed. */
void http_relay_verdict(struct http_relay *h, const struct http_verdict *v);

/* Stops (no callback) and frees; accepts NULL. */
void http_relay_free(struct http_relay *h);

/* Bytes moved so far: a_to_b client → upstream, b_to_a back. */
const struct relay_stats *http_relay_stats(const struct http_relay *h);

/* Requests forwarded so far. */
unsigned long http_relay_requests(const struct http_relay *h);

#endif
