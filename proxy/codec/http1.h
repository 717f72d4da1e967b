/* http1.h — HTTP/1.1 message heads (RFC 9112): a strict request-head parser
 * that refuses every input a request-smuggling attack needs, a response-head
 * parser that tells how the body is framed, a head rewriter, and a chunked
 * body scanner that finds where a chunked body ends while the bytes are
 * passed on unchanged. Pure: no I/O, no logging, no allocation. */
#ifndef DP_HTTP1_H
#define DP_HTTP1_H

#include <stddef.h>
#include <stdint.h>

/* Errors beyond err.h's: what the proxy answers the client. */
#define HTTP1_ERR_BAD_REQUEST (-400)	/* 400 Bad Request */
#define HTTP1_ERR_TOO_LARGE (-431)	/* 431 Request Header Fields Too Large */
#define HTTP1_ERR_NOT_IMPLEMENTED (-501)	/* 501: a Transfer-Encoding other than chunked */

struct http1_limits {
	size_t max_head;		/* bytes of a head including the final CRLFCRLF */
	unsigned max_headers;		/* header fields in one head */
};

enum http1_framing {
	HTTP1_BODY_NONE,		/* no body */
	HTTP1_BODY_LENGTH,		/* content_length bytes */
	HTTP1_BODY_CHUNKED,		/* chunked, ends with the last chunk and trailers */
	HTTP1_BODY_CLOSE,		/* response only: until the server closes */
};

/* One header field as found in a head: pointers into the parsed buffer. */
struct http1_field {
	const char *name;
	size_t name_len;
	const char *value;		/* without leading/trailing white space */
	size_t value_len;
};

#define HTTP1_MAX_FIELDS 256

struct http1_request {
	const char *method;		/* into the buffer, method_len bytes */
	size_t method_len;
	const char *target;
	size_t target_len;
	int version_minor;		/* HTTP/1.0 → 0, HTTP/1.1 → 1 */
	enum http1_framing framing;	/* NONE, LENGTH or CHUNKED */
	uint64_t content_length;
	int expect_continue;		/* Expect: 100-continue */
	int upgrade;			/* Connection: upgrade with an Upgrade header */
	int keep_alive;			/* the connection may carry another request */
	size_t head_len;		/* bytes of the head, CRLFCRLF included */
	size_t n_fields;
	struct http1_field fields[HTTP1_MAX_FIELDS];
};

/* Parses the request head at the start of buf. Strict, to make smuggling
 * impossible: only CRLF line ends (a bare CR or bare LF anywhere in the head
 * is 400); no obs-fold (a line starting with SP/HT is 400); field names are
 * tokens (RFC 9110 tchar) followed directly by ':' (no white space before the
 * colon); field values have no CTLs other than HT; Content-Length must be
 * digits only, and may appear once (two, even equal, are 400; a list is 400);
 * Transfer-Encoding together with Content-Length is 400; Transfer-Encoding
 * must be exactly "chunked" (case-insensitive) — another coding is 501, and
 * Transfer-Encoding in an HTTP/1.0 request is 400; a request line is
 * "METHOD SP target SP HTTP/1.x" with a token method and a target without
 * CTLs or spaces; the version is 1.0 or 1.1 (else 400; "HTTP/2.0" etc.
 * 505-worthy but reported as 400). HTTP/1.1 without Host is 400; more than
 * one Host is 400. Up to two leading empty lines (CRLF) before the request
 * line are skipped (RFC 9112 §2.2) and counted in head_len.
 * Returns DP_OK (req filled), DP_ERR_AGAIN (the head is incomplete and
 * len < lim->max_head), HTTP1_ERR_TOO_LARGE (no end of head within
 * max_head bytes, or more than max_headers fields), HTTP1_ERR_BAD_REQUEST
 * or HTTP1_ERR_NOT_IMPLEMENTED. */
int http1_request_parse(const char *buf, size_t len,
    const struct http1_limits *lim, struct http1_request *req);

struct http1_response {
	int status;			/* 100..999 */
	int version_minor;
	enum http1_framing framing;
	uint64_t content_length;
	int keep_alive;			/* the server keeps the connection open */
	size_t head_len;
	const char *upgrade;		/* the Upgrade value, into the buffer; NULL: none */
	size_t upgrade_len;
	unsigned n_upgrade;		/* Upgrade fields seen */
};

/* Parses a response head. request_method is the method of the request it
 * answers (HEAD and CONNECT change the framing). Framing per RFC 9112 §6.3:
 * 1xx, 204, 304 and responses to HEAD have no body; chunked when
 * Transfer-Encoding ends in chunked; else Content-Length; else until close.
 * Stricter than needed is fine (bare LF line ends are accepted here, as
 * clients do, but CL+TE, bad or duplicate differing Content-Length are
 * DP_ERR_INVALID). Returns DP_OK, DP_ERR_AGAIN, HTTP1_ERR_TOO_LARGE or
 * DP_ERR_INVALID. */
int http1_response_parse(const char *buf, size_t len, size_t max_head,
    const char *request_method, size_t method_len, struct http1_response *res);

/* A header to add: name and value, NUL-terminated. */
struct http1_add {
	const char *name;
	const char *value;
};

/* What to do with a request field whose name holds '_' (Envoy's
 * headers_with_underscores): such names are valid tokens, but CGI, WSGI and
 * Rack map '_' and '-' to one variable, so X_Foo can pose as X-Foo. */
enum http1_underscores {
	HTTP1_UNDERSCORES_ALLOW,	/* pass it on */
	HTTP1_UNDERSCORES_DROP,		/* remove the field */
	HTTP1_UNDERSCORES_REJECT,	/* refuse the request (400) */
};

struct http1_rewrite {
	/* The names the proxy sets: every field whose name equals one of
	 * them, case-insensitively and with '-' and '_' alike, is removed. */
	const char *const *managed;
	size_t n_managed;
	const struct http1_add *add;	/* added after the client's fields */
	size_t n_add;
	/* Comma-separated protocol names an Upgrade may ask for (e.g.
	 * "websocket"); NULL or "" allows none. */
	const char *upgrade_protocols;
	enum http1_underscores underscores;
};

struct http1_rewritten {
	size_t len;			/* bytes written to out */
	int upgrade;			/* the head asks for an allowed upgrade */
	unsigned underscore_dropped;	/* fields removed for an '_' in the name */
};

/* Writes the request head req (parsed from buf) to out, as an intermediary
 * must (RFC 9110 §7.6.1) and so that no field the proxy sets can be forged:
 * - the request line as received;
 * - the client's fields in their order, as "Name: value", except: the
 *   hop-by-hop ones (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 *   Upgrade, HTTP2-Settings, and every field a Connection option names),
 *   the managed names in any spelling, and with HTTP1_UNDERSCORES_DROP
 *   every name holding '_';
 * - "Upgrade:" with the elements whose protocol is in upgrade_protocols,
 *   when the request asks to upgrade and any is left (HTTP2-Settings is
 *   kept only when h2c is); otherwise the request goes on as plain HTTP;
 * - "Connection:" with only what daneproxy itself means: upgrade (as
 *   above), close (the client's last request) or keep-alive (an HTTP/1.0
 *   client keeping the connection), so it never names a field;
 * - the added fields, then CRLF.
 * Returns DP_OK (*res filled), DP_ERR_SPACE, DP_ERR_INVALID when an added
 * name is not a token or an added value holds a control character (no
 * header injection through a value), or HTTP1_ERR_BAD_REQUEST when a
 * Connection option names Content-Length, Transfer-Encoding or Host (the
 * upstream would frame the message otherwise), names more than 32 fields,
 * or a name holds '_' under HTTP1_UNDERSCORES_REJECT. */
int http1_request_rewrite(const char *buf, const struct http1_request *req,
    const struct http1_rewrite *rw, char *out, size_t out_size,
    struct http1_rewritten *res);

/* For a 101 answer: 1 if the response's Upgrade value names exactly one
 * protocol and its name (before any "/version") is in the comma-separated
 * allowed list, else 0. */
int http1_upgrade_allowed(const char *allowed, const char *value, size_t len);

/* Progress through a chunked body. Zero-initialise (or http1_chunked_init). */
struct http1_chunked {
	int state;
	uint64_t remaining;		/* bytes left in the current chunk's data */
	unsigned line_len;		/* bytes in the current size/trailer line */
	unsigned trailer_bytes;		/* total trailer bytes, bounded */
	/* Set by the caller after init: the scan returns (DP_ERR_AGAIN) right
	 * after the last chunk's line, so the caller can treat the trailer
	 * section (trailer fields and the final CRLF) apart: daneproxy drops
	 * request trailers, since a server may merge them into the headers. */
	int stop_at_trailers;
	int in_trailers;		/* the scan has reached the trailer section */
};

void http1_chunked_init(struct http1_chunked *ck);

/* Scans len bytes of a chunked body (chunk sizes in hex, optional chunk
 * extensions, CRLF, data, CRLF; last chunk "0"; optional trailer fields;
 * final CRLF). *used is how many of the bytes belong to the body.
 * Returns DP_OK when the body ended within these bytes (*used = bytes up to
 * and including its final CRLF), DP_ERR_AGAIN when all len bytes were body
 * and more is needed, DP_ERR_INVALID on a malformed body (bad hex, a size
 * over 2^62, missing CRLF after data, a line over 4096 bytes, trailers over
 * 16384 bytes, bare LF). */
int http1_chunked_scan(struct http1_chunked *ck, const char *buf, size_t len,
    size_t *used);

/* The data of a chunked body that http1_chunked_scan accepted whole (the
 * chunks, the last chunk, any trailers and the final CRLF, or the same
 * without trailers): the chunk data concatenated into out. Returns DP_OK
 * (*out_len set), DP_ERR_SPACE when the data exceed out_size bytes, or
 * DP_ERR_INVALID when buf is not such a body. Never reads past len. */
int http1_chunked_decode(const char *buf, size_t len, char *out,
    size_t out_size, size_t *out_len);

/* A complete, minimal error response for status (400, 408, 413, 431, 501,
 * 502, 503, 504; any other is 500):
 * a static string with "Connection: close" and a short text body. */
const char *http1_error_response(int status);

#endif
