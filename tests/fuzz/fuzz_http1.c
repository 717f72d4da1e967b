/* fuzz_http1.c — libFuzzer target for the HTTP/1.1 head parsers, the head
 * rewriter and the chunked body scanner.
 *
 * Request: what the parser accepts lies inside the input, every shorter
 * prefix asks for more, and the rewritten head (identity copies dropped, the
 * proxy's own added) parses again with the same framing — the property that
 * keeps the upstream's view of the stream equal to the proxy's — and holds
 * each added field exactly once, no managed name in any spelling, no
 * hop-by-hop field but its own Connection and Upgrade, and no '_' in a name
 * when those are dropped. Response:
 * the head lies inside the input and prefixes ask for more. Chunked: the
 * scanner gives the same answer in one piece, byte by byte and split in two. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_HEAD 1024
#define FUZZ_MAX_HEADERS 16
#define FUZZ_IDENTITY "_lorawan-ns.fuzz.example"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
inside(const char *p, size_t n, const char *base, size_t len)
{
	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static int
chunked_in_pieces(const char *s, size_t n, size_t first, size_t *total)
{
	struct http1_chunked ck;
	size_t off = 0, piece, used;
	int r = DP_ERR_AGAIN;

	http1_chunked_init(&ck);
	*total = 0;
	while (off < n) {
		piece = off == 0 && first > 0 ? first : 1;
		if (piece > n - off)
			piece = n - off;
		r = http1_chunked_scan(&ck, s + off, piece, &used);
		check(used <= piece);
		*total += used;
		if (r != DP_ERR_AGAIN)
			return r;
		check(used == piece);
		off += piece;
	}
	return r;
}

static void
chunked_checks(const char *s, size_t n, size_t split)
{
	struct http1_chunked ck;
	size_t used = 0, t_bytes, t_split;
	int r, r_bytes, r_split;

	http1_chunked_init(&ck);
	r = http1_chunked_scan(&ck, s, n, &used);
	check(r == DP_OK || r == DP_ERR_AGAIN || r == DP_ERR_INVALID);
	check(used <= n);
	if (r == DP_ERR_AGAIN)
		check(used == n);
	r_bytes = chunked_in_pieces(s, n, 1, &t_bytes);
	r_split = chunked_in_pieces(s, n, split % (n + 1), &t_split);
	if (n == 0)
		return;
	check(r_bytes == r && t_bytes == used);
	check(r_split == r && t_split == used);
}

static int
name_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(p, want, n) == 0;
}

/* A field name equal to want case-insensitively, with '-' and '_' alike
 * (how a CGI/WSGI/Rack upstream sees it). */
static int
name_loose_is(const char *p, size_t n, const char *want)
{
	size_t i;

	if (n != strlen(want))
		return 0;
	for (i = 0; i < n; i++) {
		char a = p[i] == '_' ? '-' : p[i], b = want[i] == '_' ? '-' : want[i];
		if ((a | 0x20) != (b | 0x20))
			return 0;
	}
	return 1;
}

static void
request_checks(const char *s, size_t size)
{
	static const char *const drop[] = {
		"DANE-Client-Identity", "X-Forwarded-For", "X-Forwarded-Proto"
	};
	static const char *const hop[] = {
		"Keep-Alive", "Proxy-Connection", "TE", "Trailer", "HTTP2-Settings"
	};
	static const struct http1_add add[] = {
		{ "DANE-Client-Identity", FUZZ_IDENTITY },
		{ "X-Forwarded-Proto", "https" },
	};
	static struct http1_request req, again;
	struct http1_rewrite rw = { drop, 3, add, 2, "websocket", HTTP1_UNDERSCORES_ALLOW };
	struct http1_rewritten res;
	const struct http1_limits lim = { FUZZ_MAX_HEAD, FUZZ_MAX_HEADERS };
	const struct http1_limits big = { 8192, HTTP1_MAX_FIELDS };
	char *out;
	size_t out_size = 2 * FUZZ_MAX_HEAD + 256, out_len = 0, i, j;
	size_t n_id = 0, n_proto = 0, n_conn = 0, n_upgrade = 0;
	int r;

	r = http1_request_parse(s, size, &lim, &req);
	check(r == DP_OK || r == DP_ERR_AGAIN || r == HTTP1_ERR_TOO_LARGE ||
	    r == HTTP1_ERR_BAD_REQUEST || r == HTTP1_ERR_NOT_IMPLEMENTED);
	if (r == DP_ERR_AGAIN)
		check(size < FUZZ_MAX_HEAD);
	if (r != DP_OK)
		return;
	check(req.head_len >= 16 && req.head_len <= size && req.head_len <= FUZZ_MAX_HEAD);
	check(memcmp(s + req.head_len - 4, "\r\n\r\n", 4) == 0);
	check(inside(req.method, req.method_len, s, req.head_len));
	check(inside(req.target, req.target_len, s, req.head_len));
	check(req.version_minor == 0 || req.version_minor == 1);
	check(req.n_fields <= FUZZ_MAX_HEADERS);
	for (i = 0; i < req.n_fields; i++) {
		check(inside(req.fields[i].name, req.fields[i].name_len, s, req.head_len));
		check(inside(req.fields[i].value, req.fields[i].value_len, s, req.head_len));
		check(req.fields[i].name_len > 0);
	}
	check(req.framing == HTTP1_BODY_NONE || req.framing == HTTP1_BODY_LENGTH ||
	    req.framing == HTTP1_BODY_CHUNKED);
	check(req.framing == HTTP1_BODY_LENGTH || req.content_length == 0);
	check(req.framing != HTTP1_BODY_CHUNKED || req.version_minor == 1);
	/* The shorter prefix must wait: no decision before the head is whole. */
	check(http1_request_parse(s, req.head_len - 1, &lim, &again) == DP_ERR_AGAIN);

	if ((out = malloc(out_size)) == NULL)
		return;
	rw.underscores = (enum http1_underscores)(size % 3);
	r = http1_request_rewrite(s, &req, &rw, out, out_size, &res);
	check(r == DP_OK || r == HTTP1_ERR_BAD_REQUEST);
	if (r != DP_OK) {
		free(out);
		return;
	}
	out_len = res.len;
	check(out_len <= out_size);
	r = http1_request_parse(out, out_len, &big, &again);
	check(r == DP_OK);
	check(again.head_len == out_len);
	check(again.method_len == req.method_len &&
	    memcmp(again.method, req.method, req.method_len) == 0);
	check(again.target_len == req.target_len &&
	    memcmp(again.target, req.target, req.target_len) == 0);
	check(again.version_minor == req.version_minor);
	check(again.framing == req.framing && again.content_length == req.content_length);
	check(again.keep_alive == req.keep_alive && again.upgrade == res.upgrade &&
	    again.expect_continue == req.expect_continue);
	check(!res.upgrade || req.upgrade);
	for (i = 0; i < again.n_fields; i++) {
		const struct http1_field *f = &again.fields[i];

		for (j = 0; j < sizeof(hop) / sizeof(hop[0]); j++)
			check(!name_is(f->name, f->name_len, hop[j]));
		check(!name_loose_is(f->name, f->name_len, drop[1]));
		if (rw.underscores == HTTP1_UNDERSCORES_DROP)
			check(memchr(f->name, '_', f->name_len) == NULL);
		n_conn += name_is(f->name, f->name_len, "Connection");
		n_upgrade += name_is(f->name, f->name_len, "Upgrade");
		if (name_loose_is(f->name, f->name_len, drop[2])) {
			check(f->value_len == 5 && memcmp(f->value, "https", 5) == 0);
			n_proto++;
		}
		if (!name_loose_is(f->name, f->name_len, drop[0]))
			continue;
		check(f->value_len == strlen(FUZZ_IDENTITY) &&
		    memcmp(f->value, FUZZ_IDENTITY, f->value_len) == 0);
		n_id++;
	}
	check(n_id == 1 && n_proto == 1);
	check(n_conn <= 1 && n_upgrade == (res.upgrade ? 1u : 0u));
	free(out);

	if (req.framing == HTTP1_BODY_CHUNKED)
		chunked_checks(s + req.head_len, size - req.head_len, size);
}

static void
response_checks(const char *s, size_t size)
{
	static const char *const methods[] = { "GET", "HEAD", "CONNECT", "POST" };
	const char *m = methods[size % 4];
	struct http1_response res, again;
	int r;

	r = http1_response_parse(s, size, FUZZ_MAX_HEAD, m, strlen(m), &res);
	check(r == DP_OK || r == DP_ERR_AGAIN || r == HTTP1_ERR_TOO_LARGE ||
	    r == DP_ERR_INVALID);
	if (r != DP_OK)
		return;
	check(res.head_len >= 14 && res.head_len <= size && res.head_len <= FUZZ_MAX_HEAD);
	check(res.status >= 100 && res.status <= 999);
	check(res.framing == HTTP1_BODY_LENGTH || res.content_length == 0);
	check(res.framing != HTTP1_BODY_CLOSE || res.keep_alive == 0);
	check(http1_response_parse(s, res.head_len - 1, FUZZ_MAX_HEAD, m, strlen(m),
	    &again) == DP_ERR_AGAIN);
	if (res.framing == HTTP1_BODY_CHUNKED)
		chunked_checks(s + res.head_len, size - res.head_len, size / 3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	request_checks(s, size);
	response_checks(s, size);
	chunked_checks(s, size, size / 2);
	return 0;
}
