/* http1.c — see http1.h.
 *
 * RFC 9112 (HTTP/1.1 messaging) and RFC 9110 (semantics). The request parser
 * is the proxy's defence against request smuggling: anything two HTTP
 * implementations could frame differently is refused rather than repaired,
 * and the rewriter re-emits only what was parsed (request line verbatim,
 * "Name: value" with the value trimmed), so the upstream never sees the odd
 * spacing a client sent.
 *
 * Decisions where the RFCs leave a choice:
 * - Content-Length " 5" and "5 " are accepted as 5: optional white space
 *   around a field value is not part of it (RFC 9110 §5.5), and the rewriter
 *   sends "Content-Length: 5", so the upstream cannot read it otherwise.
 *   "+5", "0x5", "5,5", "5 5", "" and more than 18 digits are 400.
 * - Content-Length: 0 is framing LENGTH with content_length 0.
 * - Transfer-Encoding "chunked, chunked" (and "chunked," or an empty value)
 *   is 400: chunked must not be applied twice (RFC 9112 §6.1), so it is a
 *   malformed request, not an unsupported coding. A list naming any other
 *   coding ("gzip, chunked", "xchunked", "identity") is 501.
 * - Expect: 100-continue and Upgrade count only in HTTP/1.1 requests (RFC
 *   9110 §10.1.1 and §7.8 tell servers to ignore them in HTTP/1.0).
 * - lim->max_headers is clamped to HTTP1_MAX_FIELDS; 0 means HTTP1_MAX_FIELDS.
 * - The request target may hold obs-text (bytes >= 0x80): not a CTL nor a
 *   space, and harmless for framing.
 * - Responses: status lines without a reason phrase ("HTTP/1.1 200") and bare
 *   LF line ends are accepted; obs-fold, white space before ':', CL+TE,
 *   Transfer-Encoding in HTTP/1.0 and differing Content-Length values are
 *   DP_ERR_INVALID. 101 and a 2xx answer to CONNECT have framing NONE and
 *   keep_alive 0: what follows is no longer HTTP.
 * - Rewrite also returns DP_ERR_INVALID when an added name is not a token or
 *   an added value holds a CTL (CR, LF, NUL...): that would be header
 *   injection.
 *
 * The parts: http1_rewrite.c rewrites a request head, http1_chunked.c
 * scans a chunked body; http1lex.h is the lexical ground they share. */
#include "http1.h"

#include <stddef.h>
#include <string.h>

#include "err.h"
#include "http1lex.h"

#define HTTP1_LEADING_EMPTY_LINES 2	/* RFC 9112 §2.2: "at least one" */
#define HTTP1_CL_DIGITS_MAX 18		/* < 2^63: no overflow to check */

/* ---- characters -------------------------------------------------------- */

/* RFC 9110 §5.6.2 tchar. */
int
http1_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return 1;
	default:
		return 0;
	}
}

int
http1_is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* A byte allowed inside a field value: VCHAR, obs-text, SP, HT. */
int
http1_is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A byte allowed in a request target: anything but CTLs and SP. */
static int
is_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

unsigned char
http1_ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* True if the n bytes at s equal lit, ASCII case-insensitively. */
int
http1_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' ||
		    http1_ascii_lower((unsigned char)s[i]) != http1_ascii_lower((unsigned char)lit[i]))
			return 0;
	return lit[n] == '\0';
}

/* ---- comma-separated lists (RFC 9110 §5.6.1) ---------------------------- */

void
http1_list_init(struct list_iter *it, const char *s, size_t n)
{
	it->p = s;
	it->end = s + n;
	it->done = 0;
}

/* Gives the next element, OWS-trimmed and possibly empty; 0 at the end. */
int
http1_list_next(struct list_iter *it, const char **elem, size_t *elem_len)
{
	const char *comma, *s, *e;

	if (it->done)
		return 0;
	comma = it->p < it->end ? memchr(it->p, ',', (size_t)(it->end - it->p)) : NULL;
	s = it->p;
	e = comma != NULL ? comma : it->end;
	if (comma != NULL)
		it->p = comma + 1;
	else
		it->done = 1;
	while (s < e && http1_is_ows((unsigned char)*s))
		s++;
	while (e > s && http1_is_ows((unsigned char)e[-1]))
		e--;
	*elem = s;
	*elem_len = (size_t)(e - s);
	return 1;
}

/* ---- shared head pieces ------------------------------------------------- */

/* Content-Length digits: 1..18 of them, nothing else. */
static int
parse_content_length(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > HTTP1_CL_DIGITS_MAX)
		return DP_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return DP_ERR_INVALID;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return DP_OK;
}

/* Splits the field line p[0..n) into name and trimmed value. The name must
 * be a token directly followed by ':' — which also refuses obs-fold (a line
 * starting with white space) and "Name : value". */
static int
parse_field(const char *p, size_t n, struct http1_field *f)
{
	size_t i = 0, vs, ve, k;

	while (i < n && http1_is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ':')
		return DP_ERR_INVALID;
	vs = i + 1;
	ve = n;
	while (vs < ve && http1_is_ows((unsigned char)p[vs]))
		vs++;
	while (ve > vs && http1_is_ows((unsigned char)p[ve - 1]))
		ve--;
	for (k = vs; k < ve; k++)
		if (!http1_is_value_char((unsigned char)p[k]))
			return DP_ERR_INVALID;
	f->name = p;
	f->name_len = i;
	f->value = p + vs;
	f->value_len = ve - vs;
	return DP_OK;
}

/* Connection options that matter here (RFC 9110 §7.6.1). */
struct conn_opts {
	int close;
	int keep_alive;
	int upgrade;
};

static void
parse_connection(const struct http1_field *f, struct conn_opts *c)
{
	struct list_iter it;
	const char *e;
	size_t n;

	http1_list_init(&it, f->value, f->value_len);
	while (http1_list_next(&it, &e, &n)) {
		if (http1_ieq(e, n, "close"))
			c->close = 1;
		else if (http1_ieq(e, n, "keep-alive"))
			c->keep_alive = 1;
		else if (http1_ieq(e, n, "upgrade"))
			c->upgrade = 1;
	}
}

/* Finds the end of the line at p, before end. strict: CRLF only (requests);
 * else a bare LF ends a line too (responses). Returns DP_OK with the line's
 * length without its line end and *next after it; DP_ERR_AGAIN when no LF
 * comes before end; DP_ERR_INVALID for a bare LF (strict) or for a NUL or a
 * CR not followed by LF in the unterminated rest (so garbage is refused
 * without waiting for max_head bytes). */
static int
find_line(const char *p, const char *end, int strict, size_t *line_len,
    const char **next)
{
	const char *lf, *cr;
	size_t n = (size_t)(end - p);

	if (n == 0)
		return DP_ERR_AGAIN;
	if ((lf = memchr(p, '\n', n)) == NULL) {
		if (memchr(p, '\0', n) != NULL)
			return DP_ERR_INVALID;
		cr = memchr(p, '\r', n);
		if (cr != NULL && cr != end - 1)
			return DP_ERR_INVALID;
		return DP_ERR_AGAIN;
	}
	*next = lf + 1;
	if (lf > p && lf[-1] == '\r')
		*line_len = (size_t)(lf - 1 - p);
	else if (strict)
		return DP_ERR_INVALID;
	else
		*line_len = (size_t)(lf - p);
	return DP_OK;
}

/* ---- requests ----------------------------------------------------------- */

/* What the field lines of a request said, gathered for the final checks. */
struct req_seen {
	unsigned n_cl;
	unsigned n_te;
	unsigned n_host;
	unsigned n_upgrade;
	const struct http1_field *cl;
	const struct http1_field *te;
	struct conn_opts conn;
	int expect_continue;
};

/* "METHOD SP target SP HTTP/1.x", nothing more. */
static int
parse_request_line(const char *p, size_t n, struct http1_request *req)
{
	size_t i = 0, t;

	while (i < n && http1_is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ')
		return DP_ERR_INVALID;
	req->method = p;
	req->method_len = i;
	t = ++i;
	while (i < n && is_target_char((unsigned char)p[i]))
		i++;
	if (i == t || i == n || p[i] != ' ')
		return DP_ERR_INVALID;
	req->target = p + t;
	req->target_len = i - t;
	i++;
	if (n - i != HTTP1_VERSION_LEN || memcmp(p + i, "HTTP/1.", 7) != 0 ||
	    (p[i + 7] != '0' && p[i + 7] != '1'))
		return DP_ERR_INVALID;
	req->version_minor = p[i + 7] - '0';
	return DP_OK;
}

static void
note_request_field(const struct http1_field *f, struct req_seen *s)
{
	if (http1_ieq(f->name, f->name_len, "content-length")) {
		s->n_cl++;
		s->cl = f;
	} else if (http1_ieq(f->name, f->name_len, "transfer-encoding")) {
		s->n_te++;
		s->te = f;
	} else if (http1_ieq(f->name, f->name_len, "host")) {
		s->n_host++;
	} else if (http1_ieq(f->name, f->name_len, "connection")) {
		parse_connection(f, &s->conn);
	} else if (http1_ieq(f->name, f->name_len, "upgrade")) {
		s->n_upgrade++;
	} else if (http1_ieq(f->name, f->name_len, "expect")) {
		if (http1_ieq(f->value, f->value_len, "100-continue"))
			s->expect_continue = 1;
	}
}

/* The one Transfer-Encoding value a request may carry is "chunked". */
static int
check_request_te(const struct http1_field *te)
{
	struct list_iter it;
	const char *e;
	size_t n;

	if (http1_ieq(te->value, te->value_len, "chunked"))
		return DP_OK;
	http1_list_init(&it, te->value, te->value_len);
	while (http1_list_next(&it, &e, &n)) {
		if (n == 0)
			continue;
		if (!http1_ieq(e, n, "chunked"))
			return HTTP1_ERR_NOT_IMPLEMENTED;
	}
	/* Empty, "chunked," or "chunked, chunked": malformed, not unknown. */
	return HTTP1_ERR_BAD_REQUEST;
}

/* Framing and connection semantics once all fields are known. */
static int
finish_request(struct http1_request *req, const struct req_seen *s)
{
	int r;

	if (s->n_host > 1 || (req->version_minor == 1 && s->n_host == 0))
		return HTTP1_ERR_BAD_REQUEST;
	if (s->n_te > 0) {
		if (s->n_cl > 0 || s->n_te > 1 || req->version_minor == 0)
			return HTTP1_ERR_BAD_REQUEST;
		if ((r = check_request_te(s->te)) != DP_OK)
			return r;
		req->framing = HTTP1_BODY_CHUNKED;
	} else if (s->n_cl > 0) {
		if (s->n_cl > 1 || parse_content_length(s->cl->value,
		    s->cl->value_len, &req->content_length) != DP_OK)
			return HTTP1_ERR_BAD_REQUEST;
		req->framing = HTTP1_BODY_LENGTH;
	} else {
		req->framing = HTTP1_BODY_NONE;
	}
	if (s->conn.close)
		req->keep_alive = 0;
	else
		req->keep_alive = req->version_minor == 1 || s->conn.keep_alive;
	req->upgrade = req->version_minor == 1 && s->n_upgrade > 0 && s->conn.upgrade;
	req->expect_continue = req->version_minor == 1 && s->expect_continue;
	return DP_OK;
}

int
http1_request_parse(const char *buf, size_t len,
    const struct http1_limits *lim, struct http1_request *req)
{
	struct req_seen seen;
	const char *p = buf, *end, *next = NULL;
	size_t avail = len < lim->max_head ? len : lim->max_head;
	size_t n = 0;
	unsigned max_fields = lim->max_headers;
	int r, skipped;

	if (max_fields == 0 || max_fields > HTTP1_MAX_FIELDS)
		max_fields = HTTP1_MAX_FIELDS;
	/* Not the fields array: it is filled as far as n_fields says. */
	memset(req, 0, offsetof(struct http1_request, fields));
	memset(&seen, 0, sizeof(seen));
	if (len == 0)
		goto incomplete;
	end = buf + avail;

	for (skipped = 0; skipped < HTTP1_LEADING_EMPTY_LINES && end - p >= 2 &&
	    p[0] == '\r' && p[1] == '\n'; skipped++)
		p += 2;

	r = find_line(p, end, 1, &n, &next);
	if (r == DP_ERR_AGAIN)
		goto incomplete;
	if (r != DP_OK || parse_request_line(p, n, req) != DP_OK)
		return HTTP1_ERR_BAD_REQUEST;
	p = next;

	for (;;) {
		const char *line = p;
		struct http1_field *f;

		r = find_line(p, end, 1, &n, &next);
		if (r == DP_ERR_AGAIN)
			goto incomplete;
		if (r != DP_OK)
			return HTTP1_ERR_BAD_REQUEST;
		p = next;
		if (n == 0)
			break;
		if (req->n_fields >= max_fields)
			return HTTP1_ERR_TOO_LARGE;
		f = &req->fields[req->n_fields];
		if (parse_field(line, n, f) != DP_OK)
			return HTTP1_ERR_BAD_REQUEST;
		req->n_fields++;
		note_request_field(f, &seen);
	}
	if ((r = finish_request(req, &seen)) != DP_OK)
		return r;
	req->head_len = (size_t)(p - buf);
	return DP_OK;

incomplete:
	return len >= lim->max_head ? HTTP1_ERR_TOO_LARGE : DP_ERR_AGAIN;
}

/* ---- responses ---------------------------------------------------------- */

/* "HTTP/1.x SP 3DIGIT [SP reason-phrase]". */
static int
parse_status_line(const char *p, size_t n, struct http1_response *res)
{
	size_t i;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '9' || !is_digit((unsigned char)p[10]) ||
	    !is_digit((unsigned char)p[11]))
		return DP_ERR_INVALID;
	if (n > 12 && p[12] != ' ')
		return DP_ERR_INVALID;
	for (i = 13; i < n; i++)
		if (!http1_is_value_char((unsigned char)p[i]))
			return DP_ERR_INVALID;
	res->version_minor = p[7] - '0';
	res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	return DP_OK;
}

struct resp_seen {
	unsigned n_cl;
	unsigned n_te;
	uint64_t cl;
	int te_last_chunked;
	struct conn_opts conn;
	const char *upgrade;
	size_t upgrade_len;
	unsigned n_upgrade;
};

/* Content-Length in a response: repeated fields and lists are tolerated
 * when every value is the same (RFC 9110 §8.6). */
static int
note_response_cl(const struct http1_field *f, struct resp_seen *s)
{
	struct list_iter it;
	const char *e;
	size_t n;
	uint64_t v;

	http1_list_init(&it, f->value, f->value_len);
	while (http1_list_next(&it, &e, &n)) {
		if (parse_content_length(e, n, &v) != DP_OK)
			return DP_ERR_INVALID;
		if (s->n_cl > 0 && v != s->cl)
			return DP_ERR_INVALID;
		s->cl = v;
		s->n_cl++;
	}
	return DP_OK;
}

static int
note_response_field(const struct http1_field *f, struct resp_seen *s)
{
	struct list_iter it;
	const char *e;
	size_t n;

	if (http1_ieq(f->name, f->name_len, "content-length"))
		return note_response_cl(f, s);
	if (http1_ieq(f->name, f->name_len, "transfer-encoding")) {
		s->n_te++;
		http1_list_init(&it, f->value, f->value_len);
		while (http1_list_next(&it, &e, &n))
			if (n > 0)
				s->te_last_chunked = http1_ieq(e, n, "chunked");
	} else if (http1_ieq(f->name, f->name_len, "connection")) {
		parse_connection(f, &s->conn);
	} else if (http1_ieq(f->name, f->name_len, "upgrade")) {
		if (s->n_upgrade++ == 0) {
			s->upgrade = f->value;
			s->upgrade_len = f->value_len;
		}
	}
	return DP_OK;
}

/* RFC 9112 §6.3, in its order. */
static int
finish_response(struct http1_response *res, const struct resp_seen *s,
    const char *method, size_t method_len)
{
	/* Methods are case-sensitive (RFC 9110 §9.1): "head" is not HEAD. */
	int is_head = method_len == 4 && memcmp(method, "HEAD", 4) == 0;
	int is_connect = method_len == 7 && memcmp(method, "CONNECT", 7) == 0;
	int tunnel = res->status == 101 || (is_connect && res->status / 100 == 2);

	if (s->n_te > 0 && (s->n_cl > 0 || res->version_minor == 0))
		return DP_ERR_INVALID;
	if (res->status < 200 || res->status == 204 || res->status == 304 ||
	    is_head || tunnel)
		res->framing = HTTP1_BODY_NONE;
	else if (s->n_te > 0)
		res->framing = s->te_last_chunked ? HTTP1_BODY_CHUNKED : HTTP1_BODY_CLOSE;
	else if (s->n_cl > 0) {
		res->framing = HTTP1_BODY_LENGTH;
		res->content_length = s->cl;
	} else
		res->framing = HTTP1_BODY_CLOSE;
	if (s->conn.close || tunnel || res->framing == HTTP1_BODY_CLOSE)
		res->keep_alive = 0;
	else
		res->keep_alive = res->version_minor == 1 || s->conn.keep_alive;
	return DP_OK;
}

int
http1_response_parse(const char *buf, size_t len, size_t max_head,
    const char *request_method, size_t method_len, struct http1_response *res)
{
	struct resp_seen seen;
	struct http1_field f;
	const char *p = buf, *end, *next = NULL;
	size_t n = 0;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&seen, 0, sizeof(seen));
	if (len == 0)
		goto incomplete;
	end = buf + (len < max_head ? len : max_head);

	r = find_line(p, end, 0, &n, &next);
	if (r == DP_ERR_AGAIN)
		goto incomplete;
	if (r != DP_OK || parse_status_line(p, n, res) != DP_OK)
		return DP_ERR_INVALID;
	p = next;
	for (;;) {
		const char *line = p;

		r = find_line(p, end, 0, &n, &next);
		if (r == DP_ERR_AGAIN)
			goto incomplete;
		if (r != DP_OK)
			return DP_ERR_INVALID;
		p = next;
		if (n == 0)
			break;
		if (parse_field(line, n, &f) != DP_OK ||
		    note_response_field(&f, &seen) != DP_OK)
			return DP_ERR_INVALID;
	}
	if (finish_response(res, &seen, request_method, method_len) != DP_OK)
		return DP_ERR_INVALID;
	res->upgrade = seen.upgrade;
	res->upgrade_len = seen.upgrade_len;
	res->n_upgrade = seen.n_upgrade;
	res->head_len = (size_t)(p - buf);
	return DP_OK;

incomplete:
	return len >= max_head ? HTTP1_ERR_TOO_LARGE : DP_ERR_AGAIN;
}

/* ---- error responses ---------------------------------------------------- */

#define ERROR_RESPONSE(code, reason, body_len) \
	"HTTP/1.1 " #code " " reason "\r\n" \
	"Content-Type: text/plain\r\n" \
	"Content-Length: " #body_len "\r\n" \
	"Connection: close\r\n" \
	"\r\n" \
	reason "\n"

const char *
http1_error_response(int status)
{
	/* body_len is strlen(reason) + 1; test_http1 checks every one. */
	switch (status) {
	case 400: return ERROR_RESPONSE(400, "Bad Request", 12);
	case 403: return ERROR_RESPONSE(403, "Forbidden", 10);
	case 408: return ERROR_RESPONSE(408, "Request Timeout", 16);
	case 413: return ERROR_RESPONSE(413, "Content Too Large", 18);
	case 431: return ERROR_RESPONSE(431, "Request Header Fields Too Large", 32);
	case 501: return ERROR_RESPONSE(501, "Not Implemented", 16);
	case 502: return ERROR_RESPONSE(502, "Bad Gateway", 12);
	case 503: return ERROR_RESPONSE(503, "Service Unavailable", 20);
	case 504: return ERROR_RESPONSE(504, "Gateway Timeout", 16);
	default: return ERROR_RESPONSE(500, "Internal Server Error", 22);
	}
}
