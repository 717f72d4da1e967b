/* http1_rewrite.c — the head rewriter of http1.c: a parsed request head
 * re-emitted without the hop-by-hop fields, the managed ones (however
 * spelled) and those its Connection fields name; Upgrade and Connection
 * rebuilt from what is allowed; added fields checked against header
 * injection. */
#include "http1.h"

#include <string.h>

#include "err.h"
#include "http1lex.h"
#include "util.h"

static void
put_field(struct dp_wbuf *w, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	dp_wbuf_put(w, name, name_len);
	dp_wbuf_put(w, ": ", 2);
	dp_wbuf_put(w, value, value_len);
	dp_wbuf_put(w, "\r\n", 2);
}

/* The n bytes at s equal lit, ASCII case-insensitively, with '-' and '_'
 * alike: the spellings a CGI, WSGI or Rack upstream maps to one variable. */
static int
ieq_loose(const char *s, size_t n, const char *lit)
{
	size_t i;
	unsigned char a, b;

	for (i = 0; i < n; i++) {
		if (lit[i] == '\0')
			return 0;
		a = http1_ascii_lower((unsigned char)s[i]);
		b = http1_ascii_lower((unsigned char)lit[i]);
		if (a == '_')
			a = '-';
		if (b == '_')
			b = '-';
		if (a != b)
			return 0;
	}
	return lit[n] == '\0';
}

/* Fields that concern this hop only (RFC 9110 §7.6.1), plus Proxy-Connection
 * (obsolete, still sent) and HTTP2-Settings (meaningful only with an h2c
 * upgrade). Trailer goes because request trailers are dropped (see
 * http1_chunked). Upgrade and Connection are re-emitted by the rewriter with
 * what it lets through. */
static const char *const hop_by_hop[] = {
	"connection", "keep-alive", "proxy-connection", "te", "trailer",
	"upgrade", "http2-settings",
};

static int
is_hop_by_hop(const struct http1_field *f)
{
	size_t i;

	for (i = 0; i < sizeof(hop_by_hop) / sizeof(hop_by_hop[0]); i++)
		if (http1_ieq(f->name, f->name_len, hop_by_hop[i]))
			return 1;
	return 0;
}

static int
is_managed(const struct http1_field *f, const struct http1_rewrite *rw)
{
	size_t i;

	for (i = 0; i < rw->n_managed; i++)
		if (ieq_loose(f->name, f->name_len, rw->managed[i]))
			return 1;
	return 0;
}

/* The two byte strings are equal, ASCII case-insensitively. */
static int
ieq_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i;

	if (an != bn)
		return 0;
	for (i = 0; i < an; i++)
		if (http1_ascii_lower((unsigned char)a[i]) != http1_ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* True if the n bytes at s are one of the elements of the comma-separated
 * list (case-insensitive). */
static int
in_list(const char *list, size_t list_len, const char *s, size_t n)
{
	struct list_iter it;
	const char *e;
	size_t m;

	http1_list_init(&it, list, list_len);
	while (http1_list_next(&it, &e, &m))
		if (ieq_bytes(e, m, s, n))
			return 1;
	return 0;
}

/* The options of a request's Connection fields (RFC 9110 §7.6.1): each
 * names a field that is hop-by-hop. Bounded: a request naming more than
 * HTTP1_MAX_CONN_OPTIONS is refused, so checking each field against them
 * stays cheap. */
#define HTTP1_MAX_CONN_OPTIONS 32

struct conn_options {
	const char *name[HTTP1_MAX_CONN_OPTIONS];
	size_t len[HTTP1_MAX_CONN_OPTIONS];
	unsigned n;
};

/* Collects the options. An option naming a field the framing or routing
 * depends on (Content-Length, Transfer-Encoding, Host) is refused: removing
 * it would make the upstream frame the message otherwise than we do. */
static int
collect_conn_options(const struct http1_request *req, struct conn_options *co)
{
	struct list_iter it;
	const char *e;
	size_t i, n;

	co->n = 0;
	for (i = 0; i < req->n_fields; i++) {
		const struct http1_field *c = &req->fields[i];

		if (!http1_ieq(c->name, c->name_len, "connection"))
			continue;
		http1_list_init(&it, c->value, c->value_len);
		while (http1_list_next(&it, &e, &n)) {
			if (n == 0)
				continue;
			if (http1_ieq(e, n, "content-length") || http1_ieq(e, n, "transfer-encoding") ||
			    http1_ieq(e, n, "host") || co->n == HTTP1_MAX_CONN_OPTIONS)
				return HTTP1_ERR_BAD_REQUEST;
			co->name[co->n] = e;
			co->len[co->n++] = n;
		}
	}
	return DP_OK;
}

static int
nominated(const struct conn_options *co, const struct http1_field *f)
{
	unsigned i;

	for (i = 0; i < co->n; i++)
		if (ieq_bytes(co->name[i], co->len[i], f->name, f->name_len))
			return 1;
	return 0;
}

/* Appends to w the elements of every Upgrade field of req whose protocol
 * name (before any "/version") is in allowed; returns how many. *h2c is set
 * when h2c is among them. */
static unsigned
put_allowed_upgrades(struct dp_wbuf *w, const struct http1_request *req,
    const char *allowed, int *h2c)
{
	struct list_iter it;
	const char *e, *slash;
	size_t i, n, proto_len;
	unsigned kept = 0;

	*h2c = 0;
	for (i = 0; i < req->n_fields; i++) {
		const struct http1_field *f = &req->fields[i];

		if (!http1_ieq(f->name, f->name_len, "upgrade"))
			continue;
		http1_list_init(&it, f->value, f->value_len);
		while (http1_list_next(&it, &e, &n)) {
			slash = n > 0 ? memchr(e, '/', n) : NULL;
			proto_len = slash != NULL ? (size_t)(slash - e) : n;
			if (proto_len == 0 ||
			    !in_list(allowed, strlen(allowed), e, proto_len))
				continue;
			if (w != NULL) {
				if (kept > 0)
					dp_wbuf_put(w, ", ", 2);
				dp_wbuf_put(w, e, n);
			}
			if (http1_ieq(e, proto_len, "h2c"))
				*h2c = 1;
			kept++;
		}
	}
	return kept;
}

int
http1_upgrade_allowed(const char *allowed, const char *value, size_t len)
{
	struct list_iter it;
	const char *e, *slash;
	size_t n, proto_len;
	unsigned seen = 0;

	http1_list_init(&it, value, len);
	while (http1_list_next(&it, &e, &n)) {
		if (n == 0)
			continue;
		slash = memchr(e, '/', n);
		proto_len = slash != NULL ? (size_t)(slash - e) : n;
		if (proto_len == 0 || !in_list(allowed, strlen(allowed), e, proto_len))
			return 0;
		seen++;
	}
	return seen == 1;
}

/* An added field must not smuggle a line end or break the field syntax. */
static int
valid_add(const struct http1_add *a)
{
	size_t i;

	if (a->name == NULL || a->value == NULL || a->name[0] == '\0')
		return 0;
	for (i = 0; a->name[i] != '\0'; i++)
		if (!http1_is_tchar((unsigned char)a->name[i]))
			return 0;
	for (i = 0; a->value[i] != '\0'; i++)
		if (!http1_is_value_char((unsigned char)a->value[i]))
			return 0;
	return 1;
}

int
http1_request_rewrite(const char *buf, const struct http1_request *req,
    const struct http1_rewrite *rw, char *out, size_t out_size,
    struct http1_rewritten *res)
{
	struct dp_wbuf w = { (unsigned char *)out, out_size, 0, 0 };
	struct conn_options co;
	const char *allowed = rw->upgrade_protocols != NULL ? rw->upgrade_protocols : "";
	const char *conn[3];
	size_t i, n_conn = 0;
	int r, h2c = 0;

	(void)buf;	/* every pointer in req already points into it */
	memset(res, 0, sizeof(*res));
	for (i = 0; i < rw->n_add; i++)
		if (!valid_add(&rw->add[i]))
			return DP_ERR_INVALID;
	if ((r = collect_conn_options(req, &co)) != DP_OK)
		return r;
	if (rw->underscores == HTTP1_UNDERSCORES_REJECT)
		for (i = 0; i < req->n_fields; i++)
			if (memchr(req->fields[i].name, '_', req->fields[i].name_len) != NULL)
				return HTTP1_ERR_BAD_REQUEST;
	res->upgrade = req->upgrade &&
	    put_allowed_upgrades(NULL, req, allowed, &h2c) > 0;

	/* The request line as received: method, target and version are
	 * contiguous, separated by single spaces. */
	dp_wbuf_put(&w, req->method, req->method_len + 1 + req->target_len + 1 +
	    HTTP1_VERSION_LEN);
	dp_wbuf_put(&w, "\r\n", 2);
	for (i = 0; i < req->n_fields; i++) {
		const struct http1_field *f = &req->fields[i];

		if (http1_ieq(f->name, f->name_len, "http2-settings") && res->upgrade && h2c) {
			put_field(&w, f->name, f->name_len, f->value, f->value_len);
			continue;
		}
		if (is_hop_by_hop(f) || is_managed(f, rw) || nominated(&co, f))
			continue;
		if (rw->underscores == HTTP1_UNDERSCORES_DROP &&
		    memchr(f->name, '_', f->name_len) != NULL) {
			res->underscore_dropped++;
			continue;
		}
		put_field(&w, f->name, f->name_len, f->value, f->value_len);
	}
	if (res->upgrade) {
		dp_wbuf_put(&w, "Upgrade: ", 9);
		put_allowed_upgrades(&w, req, allowed, &h2c);
		dp_wbuf_put(&w, "\r\n", 2);
		conn[n_conn++] = "upgrade";
	}
	if (!req->keep_alive)
		conn[n_conn++] = "close";
	else if (req->version_minor == 0)
		conn[n_conn++] = "keep-alive";
	for (i = 0; i < n_conn; i++) {
		dp_wbuf_put(&w, i == 0 ? "Connection: " : ", ", i == 0 ? 12 : 2);
		dp_wbuf_put(&w, conn[i], strlen(conn[i]));
	}
	if (n_conn > 0)
		dp_wbuf_put(&w, "\r\n", 2);
	for (i = 0; i < rw->n_add; i++)
		put_field(&w, rw->add[i].name, strlen(rw->add[i].name),
		    rw->add[i].value, strlen(rw->add[i].value));
	dp_wbuf_put(&w, "\r\n", 2);
	if (w.overflow)
		return DP_ERR_SPACE;
	res->len = w.len;
	return DP_OK;
}
