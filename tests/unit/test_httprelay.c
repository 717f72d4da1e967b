/* test_httprelay.c — the HTTP relay's inspection hook over socket pairs:
 * verdicts given later from the loop, nothing of a request upstream before
 * its verdict, refusals answered in request order, cancel when the client
 * goes away with a verdict owed. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "err.h"
#include "httprelay.h"
#include "tap.h"

struct ctx {
	struct http_relay *h;	/* the relay owing a verdict, or NULL */
	int inspected, cancelled, oversized, done;
	char target[64];
	char body[256];
	size_t body_len;
};

static void
on_inspect(void *arg, struct http_relay *h, const struct http_inspected *rq)
{
	struct ctx *x = arg;

	x->h = h;	/* answered later, from the test's loop */
	x->inspected++;
	snprintf(x->target, sizeof(x->target), "%s", rq->target);
	x->body_len = rq->body_len < sizeof(x->body) ? rq->body_len : 0;
	if (rq->body != NULL)
		memcpy(x->body, rq->body, x->body_len);
}

static void
on_cancel(void *arg, struct http_relay *h)
{
	struct ctx *x = arg;

	(void)h;
	x->h = NULL;
	x->cancelled++;
}

static void
on_oversize(void *arg, struct http_relay *h, const char *m, const char *t,
    uint64_t declared)
{
	struct ctx *x = arg;

	(void)h; (void)m; (void)t; (void)declared;
	x->oversized++;
}

static void
on_done(void *arg, const struct relay_stats *st, const char *reason)
{
	struct ctx *x = arg;

	(void)st; (void)reason;
	x->done++;
}

/* Runs the loop until *flag reaches want (or 200 rounds pass). */
static void
run_until(struct event_base *base, const int *flag, int want)
{
	int i;

	for (i = 0; i < 200 && *flag < want; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
spin(struct event_base *base)
{
	int i;

	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* What fd has to read now (non-blocking), NUL-terminated, appended. */
static size_t
drain_fd(int fd, char *buf, size_t size, size_t have)
{
	ssize_t n;

	while (have + 1 < size &&
	    (n = read(fd, buf + have, size - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	return have;
}

static void
wr(int fd, const char *s)
{
	ok(write(fd, s, strlen(s)) == (ssize_t)strlen(s), "wrote %zu bytes",
	    strlen(s));
}

/* The relay's two bufferevents (the relay does not own them). */
static struct bufferevent *cur_cb, *cur_ub;

static void
stop(struct http_relay *h)
{
	http_relay_free(h);
	bufferevent_free(cur_cb);
	bufferevent_free(cur_ub);
	cur_cb = cur_ub = NULL;
}

static struct http_relay *
start(struct event_base *base, int *cfd, int *ufd, struct http_relay_opts *o,
    struct ctx *x)
{
	int cp[2], up[2];
	struct bufferevent *cb, *ub;
	struct http_relay *h = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, cp) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, up) != 0)
		return NULL;
	fcntl(cp[0], F_SETFL, O_NONBLOCK);
	fcntl(up[0], F_SETFL, O_NONBLOCK);
	evutil_make_socket_nonblocking(cp[1]);
	evutil_make_socket_nonblocking(up[1]);
	cb = bufferevent_socket_new(base, cp[1], BEV_OPT_CLOSE_ON_FREE);
	ub = bufferevent_socket_new(base, up[1], BEV_OPT_CLOSE_ON_FREE);
	cur_cb = cb;
	cur_ub = ub;
	memset(o, 0, sizeof(*o));
	o->limits.max_head = 8192;
	o->limits.max_headers = 64;
	o->idle_timeout_ms = 10000;
	o->inspect.inspect = on_inspect;
	o->inspect.cancel = on_cancel;
	o->inspect.oversize = on_oversize;
	o->inspect.arg = x;
	o->inspect.max_body = 16;
	if (http_relay_start(base, cb, ub, o, on_done, x, &h) != DP_OK)
		return NULL;
	*cfd = cp[0];
	*ufd = up[0];
	return h;
}

static void
test_async_in_order(struct event_base *base)
{
	struct ctx x = { 0 };
	struct http_relay_opts o;
	struct http_verdict pass = { .pass = 1, .add_name = "X-Held",
	    .add_value = "yes" };
	struct http_verdict no = { .pass = 0, .status = 403,
	    .status_text = "Forbidden", .content_type = "text/plain",
	    .body = "no\n", .body_len = 3 };
	char up[4096], cl[4096];
	size_t un = 0, cn = 0;
	int cfd, ufd;
	struct http_relay *h = start(base, &cfd, &ufd, &o, &x);

	if (!ok(h != NULL, "relay started"))
		return;
	wr(cfd, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\naa"
	    "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\nb\r\n1;e=1\r\nB\r\n0\r\nT: 1\r\n\r\n"
	    "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
	run_until(base, &x.inspected, 1);
	is_int(x.inspected, 1, "first request handed to the inspector");
	is_str(x.target, "/a", "it is /a");
	spin(base);
	is_int(x.inspected, 1, "no second request before the first verdict");
	un = drain_fd(ufd, up, sizeof(up), un);
	is_int((int)un, 0, "nothing upstream before the verdict");

	http_relay_verdict(x.h, &pass);
	run_until(base, &x.inspected, 2);
	spin(base);
	un = drain_fd(ufd, up, sizeof(up), un);
	if (!ok(strstr(up, "POST /a") != NULL &&
	    strstr(up, "X-Held: yes\r\n\r\naa") != NULL,
	    "/a forwarded with the added field, then its body"))
		diag("upstream got: %s", up);
	is_int(x.inspected, 2, "second request inspected");
	is_str(x.target, "/b", "it is /b");
	ok(x.body_len == 2 && memcmp(x.body, "bB", 2) == 0,
	    "the inspector sees the chunked body de-chunked");
	http_relay_verdict(x.h, &no);
	spin(base);
	cn = drain_fd(cfd, cl, sizeof(cl), cn);
	is_int((int)cn, 0, "the refusal waits for the answer to /a");
	is_int(x.inspected, 2, "/c not read while the refusal is owed");

	wr(ufd, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
	run_until(base, &x.inspected, 3);
	is_str(x.target, "/c", "/c inspected once /b is answered");
	http_relay_verdict(x.h, &pass);
	spin(base);
	un = drain_fd(ufd, up, sizeof(up), un);
	ok(strstr(up, "/b") == NULL, "/b never went upstream");
	ok(strstr(up, "GET /c") != NULL, "/c went upstream");
	wr(ufd, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC");
	spin(base);
	cn = drain_fd(cfd, cl, sizeof(cl), cn);
	ok(strstr(cl, "\r\n\r\nA") != NULL && strstr(cl, "403 Forbidden") != NULL &&
	    strstr(cl, "\r\n\r\nC") != NULL &&
	    strstr(cl, "\r\n\r\nA") < strstr(cl, "403 Forbidden") &&
	    strstr(cl, "403 Forbidden") < strstr(cl, "\r\n\r\nC"),
	    "client got A, the refusal, C, in that order");
	ok(strstr(cl, "Content-Length: 3\r\n") != NULL && strstr(cl, "no\n") != NULL,
	    "the refusal carries the inspector's body");
	is_int(x.done, 0, "connection kept after a refusal");
	stop(h);
	close(cfd);
	close(ufd);
}

static void
test_cancel_and_oversize(struct event_base *base)
{
	struct ctx x = { 0 };
	struct http_relay_opts o;
	char cl[1024], up[1024];

	int cfd, ufd;
	struct http_relay *h = start(base, &cfd, &ufd, &o, &x);

	if (!ok(h != NULL, "relay started"))
		return;
	wr(cfd, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\naa");
	run_until(base, &x.inspected, 1);
	is_int(x.inspected, 1, "inspected");
	/* A half-close is not the end: the answer is still owed. */
	shutdown(cfd, SHUT_WR);
	spin(base);
	is_int(x.cancelled + x.done, 0, "client half-closed: the verdict still counts");
	http_relay_verdict(x.h, &(struct http_verdict){ .pass = 1 });
	spin(base);
	(void)drain_fd(ufd, up, sizeof(up), 0);
	ok(strstr(up, "POST /a") != NULL, "passed after the half-close: forwarded");
	wr(ufd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	run_until(base, &x.done, 1);
	drain_fd(cfd, cl, sizeof(cl), 0);
	ok(strncmp(cl, "HTTP/1.1 200 ", 13) == 0, "and answered, then closed");
	stop(h);
	close(cfd);
	close(ufd);

	/* The owner frees the relay (shutdown, revocation) with a verdict
	 * owed: cancelled, once. */
	memset(&x, 0, sizeof(x));
	h = start(base, &cfd, &ufd, &o, &x);
	wr(cfd, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\naa");
	run_until(base, &x.inspected, 1);
	stop(h);
	is_int(x.cancelled, 1, "freed with a verdict owed: cancelled");
	close(cfd);
	close(ufd);

	memset(&x, 0, sizeof(x));
	h = start(base, &cfd, &ufd, &o, &x);
	wr(cfd, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n");
	run_until(base, &x.done, 1);
	drain_fd(cfd, cl, sizeof(cl), 0);
	ok(strncmp(cl, "HTTP/1.1 413 ", 13) == 0, "Content-Length over max_body: 413");
	is_int(x.oversized, 1, "the inspector is told");
	is_int(x.inspected, 0, "and never sees the request");
	stop(h);
	close(cfd);
	close(ufd);
}

int
main(void)
{
	struct event_base *base = event_base_new();

	test_async_in_order(base);
	test_cancel_and_oversize(base);
	event_base_free(base);
	return done_testing();
}
