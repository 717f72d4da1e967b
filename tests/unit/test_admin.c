/* test_admin.c — the admin HTTP endpoint on 127.0.0.1:0, driven by plain
 * client sockets on the same event loop: every route, HEAD, 404, 405, 400,
 * 431, handler failure, ready and not ready, the head timeout and the
 * connection cap. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "err.h"
#include "tap.h"

static struct event_base *base;
static struct sockaddr_in srv;

/* ---- the handlers, steered by the test ---- */

static int metrics_fail;
static int is_ready = 1;
static int metrics_calls;

static const char exposition[] =
    "# HELP daneproxy_up x\n# TYPE daneproxy_up gauge\ndaneproxy_up 1\n";

static int
h_metrics(void *arg, char **body, size_t *len)
{
	metrics_calls++;
	if (metrics_fail)
		return DP_ERR_NOMEM;
	if ((*body = strdup(exposition)) == NULL)
		return DP_ERR_NOMEM;
	*len = strlen(exposition);
	return DP_OK;
}

static int
h_ready(void *arg, char *why, size_t why_size)
{
	if (is_ready)
		return 1;
	snprintf(why, why_size, "DNS probe\nfailing");
	return 0;
}

/* ---- a client on the same loop ---- */

struct client {
	int fd;
	struct event *ev;
	char buf[65536];
	size_t len;
	int eof;		/* server closed (FIN or reset) */
	const char *req;	/* what is left to send */
	size_t req_len;
};

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n = -1;

	if ((what & EV_WRITE) && c->req_len > 0) {
		n = send(fd, c->req, c->req_len, MSG_NOSIGNAL);
		if (n > 0) {
			c->req += n;
			c->req_len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			c->req_len = 0;
		}
		if (c->req_len == 0) {
			event_del(c->ev);
			event_assign(c->ev, base, fd, EV_READ | EV_PERSIST,
			    client_cb, c);
			event_add(c->ev, NULL);
		}
	}
	if (what & EV_READ) {
		while (c->len < sizeof(c->buf) - 1 &&
		    (n = recv(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len,
		    0)) > 0)
			c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (c->len >= sizeof(c->buf) - 1)
			n = 0;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    c->len >= sizeof(c->buf) - 1) {
			c->eof = 1;
			event_del(c->ev);
			event_base_loopbreak(base);
		}
	}
}

static int
client_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&srv, sizeof(srv)) != 0) {
		perror("connect");
		exit(1);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
loop_for(unsigned ms)
{
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Sends req (len bytes) and reads until the server closes, at most
 * limit_ms. Returns the answer in c (c->eof tells whether it closed). */
static void
exchange_n(struct client *c, const char *req, size_t len, unsigned limit_ms)
{
	struct timeval tv = { limit_ms / 1000,
	    (suseconds_t)(limit_ms % 1000) * 1000 };

	memset(c, 0, sizeof(*c));
	c->fd = client_connect();
	c->req = req;
	c->req_len = len;
	c->ev = event_new(base, c->fd, len > 0 ? EV_WRITE | EV_READ | EV_PERSIST :
	    EV_READ | EV_PERSIST, client_cb, c);
	event_add(c->ev, NULL);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	event_free(c->ev);
	close(c->fd);
	/* Let the server see our close and free its side. */
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static struct client cl;

static const char *
exchange(const char *req)
{
	exchange_n(&cl, req, strlen(req), 10000);
	return cl.buf;
}

static int
status_of(const char *resp)
{
	int st = 0;

	if (sscanf(resp, "HTTP/1.1 %d ", &st) != 1)
		return -1;
	return st;
}

/* The header's value (up to CRLF) into buf, or "" when absent. */
static const char *
header(const char *resp, const char *name, char *buf, size_t size)
{
	const char *end = strstr(resp, "\r\n\r\n"), *p = resp;
	size_t n = strlen(name), k;

	buf[0] = '\0';
	while (end != NULL && (p = strstr(p, "\r\n")) != NULL && p < end) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			k = strcspn(p, "\r");
			if (k >= size)
				k = size - 1;
			memcpy(buf, p, k);
			buf[k] = '\0';
			break;
		}
	}
	return buf;
}

static const char *
body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

/* Content-Length matches the body received (or, for HEAD, want). */
static int
length_ok(const char *resp, long want)
{
	char v[32];

	header(resp, "Content-Length", v, sizeof(v));
	if (v[0] == '\0')
		return 0;
	return want >= 0 ? atol(v) == want : atol(v) == (long)strlen(body_of(resp));
}

/* ---- tests ---- */

static void
test_routes(void)
{
	const char *r;
	char v[128];

	r = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 200, "GET /metrics: 200");
	is_str(header(r, "Content-Type", v, sizeof(v)),
	    "text/plain; version=0.0.4; charset=utf-8", "... exposition type");
	is_str(body_of(r), exposition, "... the handler's body");
	ok(length_ok(r, -1), "... Content-Length matches");
	is_str(header(r, "Connection", v, sizeof(v)), "close", "... Connection: close");
	ok(cl.eof, "... and the server closed");

	r = exchange("GET /metrics?name[]=daneproxy_up HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 200, "a query string is ignored");

	r = exchange("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 200, "HEAD /metrics: 200");
	is_str(body_of(r), "", "... no body");
	ok(length_ok(r, (long)strlen(exposition)), "... Content-Length of the GET body");

	r = exchange("GET /healthz HTTP/1.0\r\n\r\n");
	is_int(status_of(r), 200, "GET /healthz (HTTP/1.0, no Host): 200");
	is_str(body_of(r), "ok\n", "... ok");
	ok(length_ok(r, -1), "... Content-Length matches");

	r = exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 200, "GET /readyz when ready: 200");
	is_str(body_of(r), "ready\n", "... ready");

	is_ready = 0;
	r = exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 503, "GET /readyz when not ready: 503");
	is_str(body_of(r), "not ready: DNS probe failing\n",
	    "... the reason, on one line");
	ok(length_ok(r, -1), "... Content-Length matches");
	r = exchange("HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 503, "HEAD /readyz when not ready: 503");
	is_str(body_of(r), "", "... no body");
	is_ready = 1;

	r = exchange("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 404, "unknown path: 404");
	ok(length_ok(r, -1), "... Content-Length matches");
	r = exchange("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 404, "a longer path is not /metrics");
	r = exchange("GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 404, "absolute form: 404");

	r = exchange("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
	is_int(status_of(r), 405, "POST: 405");
	is_str(header(r, "Allow", v, sizeof(v)), "GET, HEAD", "... Allow: GET, HEAD");
	ok(length_ok(r, -1), "... Content-Length matches");
	r = exchange("get /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 405, "methods are case-sensitive: 405");

	metrics_fail = 1;
	r = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(r), 500, "metrics handler fails: 500");
	metrics_fail = 0;
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"garbage\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n\r\n",		/* no Host */
		"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\nHost: x\n\n",		/* bare LF */
		"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	};
	char bin[300];
	size_t i;
	int all = 1, closed = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		exchange(bad[i]);
		if (status_of(cl.buf) != 400) {
			diag("request %zu: got %.40s", i, cl.buf);
			all = 0;
		}
		if (!cl.eof)
			closed = 0;
	}
	ok(all, "malformed heads: 400");
	ok(closed, "... each connection closed");
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i * 7 + 3);
	memcpy(bin + 200, "\r\n\r\n", 4);
	exchange_n(&cl, bin, sizeof(bin), 10000);
	is_int(status_of(cl.buf), 400, "binary garbage with NULs: 400");
}

static void
test_too_large(void)
{
	static char big[20000];
	size_t n;

	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	while (n < 9000)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Pad: %080d\r\n", 0);
	exchange_n(&cl, big, n, 10000);
	is_int(status_of(cl.buf), 431, "head beyond 8 KiB without its end: 431");
	ok(cl.eof, "... and closed");

	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	while (n < 16000)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Pad: %080d\r\n", 0);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	exchange_n(&cl, big, n, 10000);
	is_int(status_of(cl.buf), 431, "a complete 16 KB head: 431 too");
}

static void
test_timeout(void)
{
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	exchange_n(&cl, "GET /metrics HTTP/1.1\r\n", 23, 10000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(cl.eof && cl.len == 0, "incomplete head: closed without an answer");
	ok(ms >= ADMIN_HEAD_TIMEOUT_MS - 200 && ms < ADMIN_HEAD_TIMEOUT_MS + 2000,
	    "... after the head timeout (%ld ms)", ms);
}

static void
test_conn_cap(void)
{
	int fds[ADMIN_MAX_CONNS + 1], i, open_ok = 1;
	char ch;
	ssize_t n;

	for (i = 0; i <= ADMIN_MAX_CONNS; i++) {
		fds[i] = client_connect();
		if (i < ADMIN_MAX_CONNS)
			loop_for(5);	/* accepted in this order */
	}
	loop_for(200);
	for (i = 0; i < ADMIN_MAX_CONNS; i++) {
		n = recv(fds[i], &ch, 1, 0);
		if (!(n < 0 && errno == EAGAIN))
			open_ok = 0;
	}
	ok(open_ok, "%d idle admin connections stay open", ADMIN_MAX_CONNS);
	n = recv(fds[ADMIN_MAX_CONNS], &ch, 1, 0);
	ok(n == 0 || (n < 0 && errno == ECONNRESET),
	    "connection %d is closed at accept", ADMIN_MAX_CONNS + 1);
	for (i = 0; i <= ADMIN_MAX_CONNS; i++)
		close(fds[i]);
	loop_for(100);
	exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(status_of(cl.buf), 200, "once they are gone, the next one is served");
}

int
main(void)
{
	struct admin_handlers h = { h_metrics, h_ready, NULL };
	struct admin_server *a = NULL;
	socklen_t len = sizeof(srv);
	int fd;

	base = event_base_new();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (base == NULL || fd < 0 ||
	    bind(fd, (struct sockaddr *)&srv, sizeof(srv)) != 0 ||
	    listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&srv, &len) != 0) {
		perror("setup");
		return 1;
	}
	is_int(admin_server_new(base, fd, &h, &a), DP_OK, "admin server on 127.0.0.1:%u",
	    ntohs(srv.sin_port));
	test_routes();
	test_malformed();
	test_too_large();
	test_conn_cap();
	test_timeout();
	ok(metrics_calls >= 4, "the metrics handler ran (%d calls)", metrics_calls);
	admin_server_free(a);
	admin_server_free(NULL);
	event_base_free(base);
	return done_testing();
}
