/* admin.c — see admin.h.
 *
 * A connection goes through three states: reading the head (bounded in
 * bytes by a read high-water mark and in time by one timer), writing the
 * answer, then lingering: after our FIN it reads and discards what the
 * client still sends until its FIN (at most ADMIN_LINGER_MS), so that a
 * close with unread bytes cannot reset the connection and destroy the
 * answer before the client read it. */
#include "admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "err.h"
#include "http1.h"
#include "listen.h"
#include "log.h"
#include "util.h"

#define ADMIN_WRITE_TIMEOUT_MS 5000
#define ADMIN_LINGER_MS 2000
#define ADMIN_WHY_MAX 200

enum aconn_state {
	AC_HEAD,		/* reading the request head */
	AC_WRITING,		/* the answer is queued */
	AC_LINGER,		/* FIN sent, discarding until the client's FIN */
};

struct aconn {
	struct admin_server *a;
	LIST_ENTRY(aconn) link;		/* on a->conns */
	struct bufferevent *bev;	/* owns the socket */
	struct event *timer;		/* the deadline of the current state */
	enum aconn_state state;
};

struct admin_server {
	struct event_base *base;
	struct dp_listener *listener;	/* pauses itself when accept() fails */
	struct admin_handlers h;
	LIST_HEAD(aconn_list, aconn) conns;
	unsigned n_conns;
	struct http1_request req;	/* parse scratch (large: not on the stack) */
};

static void
aconn_free(struct aconn *c)
{
	struct admin_server *a = c->a;

	LIST_REMOVE(c, link);
	a->n_conns--;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

static void
timer_arm(struct aconn *c, unsigned ms)
{
	struct timeval tv = dp_ms_tv(ms);

	event_add(c->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Head too slow, client not reading, or linger over: just close. */
	aconn_free(arg);
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

/* Queues the whole answer and stops reading; the write callback closes. */
static void
respond(struct aconn *c, int status, const char *ctype, const char *extra,
    const char *body, size_t body_len, int head_only)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "Connection: close\r\n\r\n", status, status_text(status), ctype,
	    body_len, extra != NULL ? extra : "") < 0 ||
	    (!head_only && body_len > 0 && evbuffer_add(out, body, body_len) != 0)) {
		aconn_free(c);
		return;
	}
	c->state = AC_WRITING;
	event_del(c->timer);
	timer_arm(c, ADMIN_WRITE_TIMEOUT_MS);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
respond_text(struct aconn *c, int status, const char *extra, const char *text,
    int head_only)
{
	respond(c, status, "text/plain; charset=utf-8", extra, text, strlen(text),
	    head_only);
}

static void
serve_metrics(struct aconn *c, int head_only)
{
	const struct admin_handlers *h = &c->a->h;
	char *body = NULL;
	size_t len = 0;

	if (h->metrics == NULL) {
		respond_text(c, 404, NULL, "not found\n", head_only);
		return;
	}
	if (h->metrics(h->arg, &body, &len) != DP_OK || body == NULL) {
		free(body);
		respond_text(c, 500, NULL, "internal error\n", head_only);
		return;
	}
	respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body,
	    len, head_only);
	free(body);
}

static void
serve_ready(struct aconn *c, int head_only)
{
	const struct admin_handlers *h = &c->a->h;
	char why[ADMIN_WHY_MAX], text[ADMIN_WHY_MAX + 16];
	size_t i;

	memset(why, 0, sizeof(why));
	if (h->ready == NULL || h->ready(h->arg, why, sizeof(why)) == 1) {
		respond_text(c, 200, NULL, "ready\n", head_only);
		return;
	}
	why[sizeof(why) - 1] = '\0';
	for (i = 0; why[i] != '\0'; i++)	/* one line of text */
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			why[i] = ' ';
	snprintf(text, sizeof(text), "not ready: %s\n",
	    why[0] != '\0' ? why : "unknown");
	respond_text(c, 503, NULL, text, head_only);
}

/* The request is parsed and routed: answer it. */
static void
serve(struct aconn *c, const struct admin_request *r)
{
	switch (r->route) {
	case ADMIN_ROUTE_METRICS:
		serve_metrics(c, r->head_only);
		return;
	case ADMIN_ROUTE_HEALTHZ:
		respond_text(c, 200, NULL, "ok\n", r->head_only);
		return;
	case ADMIN_ROUTE_READYZ:
		serve_ready(c, r->head_only);
		return;
	case ADMIN_ROUTE_NONE:
		break;
	}
	switch (r->status) {
	case 405:
		respond_text(c, 405, "Allow: GET, HEAD\r\n",
		    "method not allowed\n", 0);
		return;
	case 404:
		respond_text(c, 404, NULL, "not found\n", r->head_only);
		return;
	case 431:
		respond_text(c, 431, NULL, "request head too large\n", 0);
		return;
	default:
		respond_text(c, 400, NULL, "bad request\n", 0);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct aconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct admin_request r;
	size_t len = evbuffer_get_length(in);
	const char *p;

	if (c->state == AC_LINGER) {
		evbuffer_drain(in, len);
		return;
	}
	if (c->state != AC_HEAD)
		return;
	if (len > ADMIN_HEAD_MAX)
		len = ADMIN_HEAD_MAX;
	if ((p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL) {
		aconn_free(c);
		return;
	}
	if (admin_request_parse(p, len, &c->a->req, &r) == DP_ERR_AGAIN)
		return;		/* the high-water mark bounds what comes */
	serve(c, &r);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct aconn *c = arg;

	if (c->state != AC_WRITING ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	c->state = AC_LINGER;
	(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
	event_del(c->timer);
	timer_arm(c, ADMIN_LINGER_MS);
	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_enable(bev, EV_READ);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	/* EOF or error in any state: nothing more to do for this client. */
	aconn_free(arg);
}

static void
accept_cb(void *arg, evutil_socket_t fd, struct sockaddr *sa, int salen)
{
	struct admin_server *a = arg;
	struct aconn *c;

	if (a->n_conns >= ADMIN_MAX_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->a = a;
	LIST_INSERT_HEAD(&a->conns, c, link);
	a->n_conns++;
	c->state = AC_HEAD;
	if ((c->bev = bufferevent_socket_new(a->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		aconn_free(c);
		return;
	}
	if ((c->timer = evtimer_new(a->base, timer_cb, c)) == NULL) {
		aconn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* Stop reading at the limit: the parser then says too large. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, ADMIN_HEAD_MAX);
	bufferevent_enable(c->bev, EV_READ);
	timer_arm(c, ADMIN_HEAD_TIMEOUT_MS);
}

int
admin_server_new(struct event_base *base, evutil_socket_t fd,
    const struct admin_handlers *h, struct admin_server **out)
{
	struct admin_server *a;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		return DP_ERR_NOMEM;
	}
	a->base = base;
	a->h = *h;
	LIST_INIT(&a->conns);
	if (dp_listener_start_fd(base, fd, "admin", accept_cb, a,
	    &a->listener) != DP_OK) {
		free(a);
		return DP_ERR_NOMEM;
	}
	*out = a;
	return DP_OK;
}

void
admin_server_free(struct admin_server *a)
{
	if (a == NULL)
		return;
	dp_listener_free(a->listener);
	while (!LIST_EMPTY(&a->conns))
		aconn_free(LIST_FIRST(&a->conns));
	free(a);
}

void
admin_server_stop_accepting(struct admin_server *a)
{
	dp_listener_free(a->listener);
	a->listener = NULL;
}

unsigned
admin_server_active(const struct admin_server *a)
{
	return a->n_conns;
}
