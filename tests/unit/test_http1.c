/* test_http1.c — HTTP/1.1 request and response heads, the head rewriter and
 * the chunked body scanner.
 *
 * Every head below is written out by hand from RFC 9112; the smuggling
 * refusals follow the classic CL.TE / TE.CL / TE.TE shapes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http1.h"
#include "tap.h"

static const struct http1_limits lim = { 8192, 100 };
static struct http1_request req;	/* 8 KiB of fields: not on the stack */

static int
parse_n(const char *s, size_t n)
{
	return http1_request_parse(s, n, &lim, &req);
}

static int
parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static int
span_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* True if needle occurs in the n bytes at hay (memmem is not POSIX). */
static int
contains(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

/* Every strict prefix of a valid head asks for more. */
static int
all_prefixes_again(const char *s)
{
	size_t n = strlen(s), i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = parse_n(s, i)) != DP_ERR_AGAIN) {
			diag("prefix of %zu bytes gave %d", i, r);
			return 0;
		}
	return 1;
}

/* ---- requests ------------------------------------------------------------ */

static void
test_simple(void)
{
	const char *s = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.net\r\n"
	    "User-Agent:  curl/8  \r\nAccept: */*\r\n\r\n";

	is_int(parse(s), DP_OK, "simple GET parses");
	ok(span_is(req.method, req.method_len, "GET"), "method is GET");
	ok(span_is(req.target, req.target_len, "/index.html?q=1"), "target");
	is_int(req.version_minor, 1, "version 1.1");
	is_int(req.framing, HTTP1_BODY_NONE, "GET has no body");
	is_int(req.keep_alive, 1, "1.1 keep-alive by default");
	is_int(req.upgrade, 0, "no upgrade");
	is_int(req.expect_continue, 0, "no expect");
	is_int(req.head_len, strlen(s), "head_len is the whole head");
	is_int(req.n_fields, 3, "three fields");
	ok(span_is(req.fields[0].name, req.fields[0].name_len, "Host") &&
	    span_is(req.fields[0].value, req.fields[0].value_len, "example.net"),
	    "field 0 is Host: example.net");
	ok(span_is(req.fields[1].value, req.fields[1].value_len, "curl/8"),
	    "value OWS trimmed on both sides");
	ok(all_prefixes_again(s), "every prefix of a GET head is DP_ERR_AGAIN");
	is_int(parse("GET / HTTP/1.0\r\n\r\n"), DP_OK, "HTTP/1.0 without Host parses");
	is_int(req.version_minor, 0, "version 1.0");
	is_int(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), DP_OK, "asterisk form");
	is_int(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n"), DP_OK, "empty Host value is fine");
	is_int(parse("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), DP_OK,
	    "obs-text in the target is accepted");
}

static void
test_bodies(void)
{
	const char *post = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n";
	const char *chunked = "POST /up HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";

	is_int(parse(post), DP_OK, "POST with Content-Length parses");
	is_int(req.framing, HTTP1_BODY_LENGTH, "framing LENGTH");
	is_int(req.content_length, 42, "content_length 42");
	ok(all_prefixes_again(post), "every prefix of a POST head is DP_ERR_AGAIN");
	is_int(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), DP_OK,
	    "Content-Length: 0");
	ok(req.framing == HTTP1_BODY_LENGTH && req.content_length == 0,
	    "Content-Length: 0 is LENGTH 0");
	is_int(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n"),
	    DP_OK, "18-digit Content-Length accepted");
	is_int(req.content_length, 999999999999999999ULL, "18-digit value");
	is_int(parse(chunked), DP_OK, "chunked POST parses");
	is_int(req.framing, HTTP1_BODY_CHUNKED, "framing CHUNKED");
	is_int(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n"),
	    DP_OK, "chunked is case-insensitive");
	is_int(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n"),
	    DP_OK, "TE 'chunked ' (trailing OWS) accepted");
	is_int(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5\r\n\r\n"), DP_OK,
	    "CL ' 5': leading OWS is not part of the value (RFC 9110 5.5)");
	is_int(req.content_length, 5, "CL ' 5' is 5");
	is_int(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 \r\n\r\n"), DP_OK,
	    "CL '5 ': trailing OWS trimmed likewise (the rewrite sends '5')");
}

static void
test_connection(void)
{
	is_int(parse("GET / HTTP/1.0\r\n\r\n"), DP_OK, "1.0 parses");
	is_int(req.keep_alive, 0, "1.0 closes by default");
	parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	is_int(req.keep_alive, 1, "1.0 with Connection: Keep-Alive keeps");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	is_int(req.keep_alive, 0, "1.1 with Connection: close closes");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n");
	is_int(req.keep_alive, 0, "close found as the second token, any case");
	parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
	is_int(req.keep_alive, 0, "close wins over keep-alive");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
	is_int(req.keep_alive, 0, "tokens gathered over several Connection fields");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n");
	is_int(req.keep_alive, 1, "'closed' is not 'close'");

	is_int(parse("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	    "Expect: 100-Continue\r\n\r\n"), DP_OK, "Expect: 100-continue parses");
	is_int(req.expect_continue, 1, "expect_continue set");
	parse("PUT /x HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	is_int(req.expect_continue, 0, "Expect ignored in HTTP/1.0 (RFC 9110 10.1.1)");

	is_int(parse("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
	    "Connection: keep-alive, Upgrade\r\n\r\n"), DP_OK, "websocket upgrade parses");
	is_int(req.upgrade, 1, "Upgrade + Connection: upgrade → upgrade");
	parse("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
	is_int(req.upgrade, 0, "Upgrade without the Connection token → no upgrade");
	parse("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n");
	is_int(req.upgrade, 0, "Connection: upgrade without Upgrade → no upgrade");
}

static void
test_framing_of_stream(void)
{
	const char *two = "\r\n\r\nGET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t first;

	is_int(parse(two), DP_OK, "two leading CRLFs skipped");
	ok(span_is(req.target, req.target_len, "/1"), "first request target");
	first = req.head_len;
	is_int(first, 4 + strlen("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    "head_len counts the leading CRLFs");
	ok(strncmp(two + first, "GET /2 ", 7) == 0, "head_len points at the pipelined request");
	is_int(parse(two + first), DP_OK, "pipelined second request parses");
	ok(span_is(req.target, req.target_len, "/2"), "second request target");
	ok(all_prefixes_again("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    "every prefix with a leading CRLF is DP_ERR_AGAIN");
	is_int(parse("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP1_ERR_BAD_REQUEST, "three leading CRLFs refused");
	is_int(parse("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP1_ERR_BAD_REQUEST,
	    "a leading bare LF refused");
	is_int(parse(""), DP_ERR_AGAIN, "empty input asks for more");
}

static void
test_smuggling(void)
{
#define H "POST / HTTP/1.1\r\nHost: a\r\n"
	static const struct {
		const char *head;
		int want;
		const char *why;
	} cases[] = {
		{ H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL then TE" },
		{ H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "TE then CL" },
		{ H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two equal CL" },
		{ H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two different CL" },
		{ H "Content-Length: +5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL '+5'" },
		{ H "Content-Length: -1\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL '-1'" },
		{ H "Content-Length: 0x5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL '0x5'" },
		{ H "Content-Length: 5,5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL '5,5'" },
		{ H "Content-Length: 5, 5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL '5, 5'" },
		{ H "Content-Length: 5 5\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL '5 5'" },
		{ H "Content-Length:\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL empty" },
		{ H "Content-Length: 1000000000000000000\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL of 19 digits" },
		{ H "Content-Length: 99999999999999999999999\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CL overflowing 64 bits" },
		{ H "Transfer-Encoding: xchunked\r\n\r\n", HTTP1_ERR_NOT_IMPLEMENTED, "TE 'xchunked' is 501" },
		{ H "Transfer-Encoding: gzip, chunked\r\n\r\n", HTTP1_ERR_NOT_IMPLEMENTED, "TE 'gzip, chunked' is 501" },
		{ H "Transfer-Encoding: identity\r\n\r\n", HTTP1_ERR_NOT_IMPLEMENTED, "TE 'identity' is 501" },
		{ H "Transfer-Encoding: chunked, chunked\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "TE 'chunked, chunked' is 400" },
		{ H "Transfer-Encoding: chunked,\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "TE 'chunked,' is 400" },
		{ H "Transfer-Encoding:\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "TE empty is 400" },
		{ H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two TE fields" },
		{ H "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two TE fields, one unknown: 400 before 501" },
		{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "TE in HTTP/1.0" },
		{ H "Transfer-Encoding: chunked\r\n \r\n\r\n", HTTP1_ERR_BAD_REQUEST, "obs-fold (SP)" },
		{ H "X-A: b\r\n\tc\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "obs-fold (HT)" },
		{ "GET / HTTP/1.1\r\n Host: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "white space before the first field" },
		{ H "X-A: b\rc\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "bare CR inside a value" },
		{ H "X-A: b\n\r\n", HTTP1_ERR_BAD_REQUEST, "bare LF ending a field line" },
		{ "GET / HTTP/1.1\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "bare LF ending the request line" },
		{ H "\n", HTTP1_ERR_BAD_REQUEST, "bare LF as the final line" },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "space before colon ('Host : x')" },
		{ H "Transfer-Encoding : chunked\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "'Transfer-Encoding :'" },
		{ H "Transfer-Encoding\t: chunked\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "tab before colon" },
		{ "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "'(' in a field name" },
		{ "GET / HTTP/1.1\r\nHost\x01: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "\\x01 in a field name" },
		{ H "X-A: b\x7f\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "DEL in a value" },
		{ H "X-A: b\x0b\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "VT in a value" },
		{ H "no colon here\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "field line without ':'" },
		{ H ": empty name\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "empty field name" },
		{ "GET / HTTP/1.1\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "HTTP/1.1 without Host" },
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two Host fields" },
		{ "GET / HTTP/1.0\r\nhost: a\r\nHOST: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two Host fields in 1.0, any case" },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "HTTP/2.0" },
		{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "HTTP/1.2" },
		{ "GET / http/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "lowercase http/1.1" },
		{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "space after the version" },
		{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two spaces after the method" },
		{ "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "two spaces after the target" },
		{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "space before the method" },
		{ "GET HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "missing target" },
		{ "GET /\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "HTTP/0.9 request line" },
		{ "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "tab as separator" },
		{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "method not a token" },
		{ "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_BAD_REQUEST, "CTL in the target" },
		{ "\r\n", DP_ERR_AGAIN, "a lone CRLF waits" },
	};
#undef H
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(parse(cases[i].head), cases[i].want, "refused: %s", cases[i].why);

	/* NUL cannot go in a C string literal handled by strlen. */
	{
		static const char nul_value[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n";
		static const char nul_line[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
		static const char nul_partial[] = "GET / HTTP/1.1\r\nX-\0";

		is_int(parse_n(nul_value, sizeof(nul_value) - 1), HTTP1_ERR_BAD_REQUEST,
		    "refused: NUL in a value");
		is_int(parse_n(nul_line, sizeof(nul_line) - 1), HTTP1_ERR_BAD_REQUEST,
		    "refused: NUL in the request line");
		is_int(parse_n(nul_partial, sizeof(nul_partial) - 1), HTTP1_ERR_BAD_REQUEST,
		    "refused: NUL in an unfinished line, without waiting");
	}
	is_int(parse("GET / HTTP/1.1\r\nX-A: b\rc"), HTTP1_ERR_BAD_REQUEST,
	    "refused: bare CR in an unfinished line, without waiting");
}

static void
test_limits(void)
{
	static char big[2048];
	struct http1_limits small = { 64, 4 };
	const char *head = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	const char *over = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
	const char *line = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct http1_limits exact;
	size_t i, n;

	is_int(http1_request_parse(head, strlen(head), &small, &req), DP_OK,
	    "4 fields within max_headers 4");
	is_int(http1_request_parse(over, strlen(over), &small, &req), HTTP1_ERR_TOO_LARGE,
	    "5 fields over max_headers 4 → 431");
	is_int(http1_request_parse(line, strlen(line), &small, &req), HTTP1_ERR_TOO_LARGE,
	    "no end of head within max_head → 431");
	is_int(http1_request_parse(line, 63, &small, &req), DP_ERR_AGAIN,
	    "63 bytes of an unfinished head under max_head 64 → again");
	exact.max_head = strlen(head);
	exact.max_headers = 100;
	is_int(http1_request_parse(head, strlen(head), &exact, &req), DP_OK,
	    "a head of exactly max_head bytes parses");
	exact.max_head = strlen(head) - 1;
	is_int(http1_request_parse(head, strlen(head), &exact, &req), HTTP1_ERR_TOO_LARGE,
	    "a head one byte over max_head → 431");

	/* 300 fields: more than HTTP1_MAX_FIELDS, so max_headers is clamped. */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "A:\r\n");
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	exact.max_head = sizeof(big);
	exact.max_headers = 100000;
	is_int(http1_request_parse(big, n, &exact, &req), HTTP1_ERR_TOO_LARGE,
	    "301 fields → 431 (max_headers clamped to HTTP1_MAX_FIELDS)");
}

/* ---- rewriting ----------------------------------------------------------- */

/* http1_request_rewrite of the last parse (req) with managed names, added
 * fields, upgrade protocols and underscore policy. */
static int
rewrite(const char *in, const char *const *managed, size_t n_managed,
    const struct http1_add *add, size_t n_add, char *out, size_t out_size,
    size_t *out_len)
{
	const struct http1_rewrite rw = { managed, n_managed, add, n_add,
	    "websocket", HTTP1_UNDERSCORES_ALLOW };
	struct http1_rewritten res;
	int r = http1_request_rewrite(in, &req, &rw, out, out_size, &res);

	*out_len = res.len;
	return r;
}

static void
test_rewrite(void)
{
	static const char *const drop[] = { "DANE-Client-Identity", "X-Forwarded-For" };
	static const struct http1_add add[] = {
		{ "DANE-Client-Identity", "_lorawan-ns.ns.example.net" },
		{ "X-Forwarded-Proto", "https" },
	};
	const char *in = "\r\nPOST /up?x=1 HTTP/1.1\r\n"
	    "dane-client-identity: forged1\r\n"
	    "Host:   a.example  \r\n"
	    "DANE-CLIENT-IDENTITY: forged2\r\n"
	    "Content-Length: 7\r\n"
	    "Dane-Client-Identity:forged3\r\n"
	    "x-forwarded-for: 1.2.3.4\r\n"
	    "Accept: */*\r\n"
	    "\r\n";
	const char *want = "POST /up?x=1 HTTP/1.1\r\n"
	    "Host: a.example\r\n"
	    "Content-Length: 7\r\n"
	    "Accept: */*\r\n"
	    "DANE-Client-Identity: _lorawan-ns.ns.example.net\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "\r\n";
	static const struct http1_add bad_add[] = { { "X-Id", "a\r\nX-Evil: 1" } };
	static const struct http1_add bad_name[] = { { "X Id", "a" } };
	char out[1024], copy[1024];
	struct http1_request again;
	size_t out_len = 0, i;
	int all_space = 1;

	is_int(parse(in), DP_OK, "request with three forged identity copies parses");
	is_int(rewrite(in, drop, 2, add, 2, out, sizeof(out), &out_len),
	    DP_OK, "rewrite succeeds");
	ok(out_len == strlen(want) && memcmp(out, want, out_len) == 0,
	    "every case variant dropped, order kept, fields added at the end");
	if (out_len != strlen(want) || memcmp(out, want, out_len) != 0)
		diag("got '%.*s'", (int)out_len, out);
	memcpy(copy, out, out_len);
	is_int(http1_request_parse(copy, out_len, &lim, &again), DP_OK, "rewritten head parses again");
	ok(span_is(again.method, again.method_len, "POST") &&
	    span_is(again.target, again.target_len, "/up?x=1") &&
	    again.version_minor == 1, "same method, target, version");
	ok(again.framing == HTTP1_BODY_LENGTH && again.content_length == 7,
	    "same framing and content_length");
	is_int(again.head_len, out_len, "rewritten head_len is out_len");

	for (i = 0; i < strlen(want); i++)
		if (rewrite(in, drop, 2, add, 2, out, i, &out_len)
		    != DP_ERR_SPACE)
			all_space = 0;
	ok(all_space, "every buffer smaller than the result gives DP_ERR_SPACE");
	is_int(rewrite(in, drop, 2, add, 2, out, strlen(want), &out_len),
	    DP_OK, "a buffer of exactly the result's size is enough");

	is_int(rewrite(in, NULL, 0, NULL, 0, out, sizeof(out), &out_len),
	    DP_OK, "rewrite without drop or add");
	ok(out_len > 0 && contains(out, out_len, "forged3"),
	    "without a drop list the fields stay");
	is_int(rewrite(in, drop, 2, bad_add, 1, out, sizeof(out), &out_len),
	    DP_ERR_INVALID, "an added value with CRLF is refused (header injection)");
	is_int(rewrite(in, drop, 2, bad_name, 1, out, sizeof(out), &out_len),
	    DP_ERR_INVALID, "an added name that is not a token is refused");

	is_int(parse("GET /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked \r\n\r\n"),
	    DP_OK, "chunked request for rewriting");
	is_int(rewrite(NULL, drop, 2, add, 1, out, sizeof(out), &out_len),
	    DP_OK, "rewrite of a chunked request");
	ok(contains(out, out_len, "Transfer-Encoding: chunked\r\n"),
	    "TE value re-emitted trimmed");
	memcpy(copy, out, out_len);
	is_int(http1_request_parse(copy, out_len, &lim, &again), DP_OK, "parses again");
	is_int(again.framing, HTTP1_BODY_CHUNKED, "still chunked");
}

/* ---- forged identities: the spoof matrix ------------------------------- */

#define ID_NAME "DANE-Client-Identity"
#define ID_VALUE "_lorawan-ns.ns.example.net"

/* A field name equal to want, case-insensitively with '-' and '_' alike:
 * how a CGI/WSGI/Rack upstream would see it. */
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

static struct http1_request again;

/* Parses in, rewrites it with the identity header managed and added, the
 * given underscore policy and "websocket" allowed; re-parses the result
 * into again. Returns the rewrite's status. */
static int
spoof_rewrite(const char *in, enum http1_underscores us, char *out,
    size_t out_size, struct http1_rewritten *res)
{
	static const char *const managed[] = { ID_NAME, "X-Forwarded-For" };
	static const struct http1_add add[] = {
		{ ID_NAME, ID_VALUE }, { "X-Forwarded-For", "192.0.2.1" },
	};
	const struct http1_rewrite rw = { managed, 2, add, 2, "websocket", us };
	int r;

	if (parse(in) != DP_OK)
		return -1000;
	memset(res, 0, sizeof(*res));
	if ((r = http1_request_rewrite(in, &req, &rw, out, out_size, res)) != DP_OK)
		return r;
	if (http1_request_parse(out, res->len, &lim, &again) != DP_OK)
		return -2000;
	return DP_OK;
}

/* Of the re-parsed head: how many fields loosely named name, and whether
 * the one with that name has value. */
static unsigned
count_named(const char *name, const char *value, int *value_ok)
{
	size_t i;
	unsigned n = 0;

	*value_ok = 0;
	for (i = 0; i < again.n_fields; i++) {
		if (!name_loose_is(again.fields[i].name, again.fields[i].name_len, name))
			continue;
		n++;
		*value_ok = value != NULL && span_is(again.fields[i].value,
		    again.fields[i].value_len, value);
	}
	return n;
}

static const char *
field_value(const char *name, size_t *len)
{
	size_t i;

	for (i = 0; i < again.n_fields; i++)
		if (name_loose_is(again.fields[i].name, again.fields[i].name_len, name)) {
			*len = again.fields[i].value_len;
			return again.fields[i].value;
		}
	return NULL;
}

static int
field_is(const char *name, const char *want)
{
	size_t n = 0;
	const char *v = field_value(name, &n);

	return want == NULL ? v == NULL : v != NULL && span_is(v, n, want);
}

static void
test_spoof_matrix(void)
{
	static const char *const spellings[] = {
		"DANE-Client-Identity", "dane-client-identity", "DANE_Client_Identity",
		"dane_client-identity", "Dane-Client_Identity", "DANE_CLIENT_IDENTITY",
	};
	static const enum http1_underscores policies[] = {
		HTTP1_UNDERSCORES_ALLOW, HTTP1_UNDERSCORES_DROP,
	};
	static const char *const policy_names[] = { "allow", "drop" };
	char in[1024], out[2048], desc[160];
	struct http1_rewritten res;
	size_t i, k;
	int vok, r;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
			snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\n%s: victim\r\n"
			    "X_Forwarded_For: 6.6.6.6\r\n\r\n", spellings[i]);
			r = spoof_rewrite(in, policies[k], out, sizeof(out), &res);
			snprintf(desc, sizeof(desc), "underscores = %s: '%s: victim' is "
			    "replaced by exactly one identity, ours", policy_names[k], spellings[i]);
			ok(r == DP_OK && count_named(ID_NAME, ID_VALUE, &vok) == 1 && vok, "%s", desc);
			ok(r == DP_OK && count_named("X-Forwarded-For", "192.0.2.1", &vok) == 1 && vok,
			    "... and exactly one X-Forwarded-For, ours");
		}
	}

	/* Connection options name hop-by-hop fields: never ours. */
	r = spoof_rewrite("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, DANE-Client-Identity, "
	    "X-Forwarded-For, X-Custom\r\nX-Custom: 1\r\nX-Keep: 2\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res);
	is_int(r, DP_OK, "Connection naming our headers: rewritten");
	ok(count_named(ID_NAME, ID_VALUE, &vok) == 1 && vok,
	    "... our identity is there, once");
	ok(field_is("Connection", "close"), "... Connection carries only 'close'");
	ok(field_is("X-Custom", NULL) && field_is("X-Keep", "2"),
	    "... the field it named is removed, the others stay");
	is_int(again.keep_alive, 0, "... and the request is still the last one");

	is_int(spoof_rewrite("GET / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\n"
	    "Content-Length: 5\r\n\r\n", HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res),
	    HTTP1_ERR_BAD_REQUEST, "Connection naming Content-Length: 400 (framing)");
	is_int(spoof_rewrite("POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, "
	    "TRANSFER-ENCODING\r\nTransfer-Encoding: chunked\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res),
	    HTTP1_ERR_BAD_REQUEST, "Connection naming Transfer-Encoding: 400");
	is_int(spoof_rewrite("GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res),
	    HTTP1_ERR_BAD_REQUEST, "Connection naming Host: 400");
	{
		size_t n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nConnection: a0");
		for (i = 1; i < 33; i++)
			n += (size_t)snprintf(in + n, sizeof(in) - n, ",a%zu", i);
		snprintf(in + n, sizeof(in) - n, "\r\n\r\n");
		is_int(spoof_rewrite(in, HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res),
		    HTTP1_ERR_BAD_REQUEST, "33 Connection options: 400 (bounded work)");
	}
	is_int(spoof_rewrite("GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: timeout=5\r\n"
	    "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: DANE-Client-Identity\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res), DP_OK, "hop-by-hop fields");
	ok(field_is("Keep-Alive", NULL) && field_is("Proxy-Connection", NULL) &&
	    field_is("TE", NULL) && field_is("Trailer", NULL) && field_is("Connection", NULL),
	    "... Keep-Alive, Proxy-Connection, TE and Trailer removed; no Connection needed");

	/* Upgrade: only the allowed protocols pass. */
	r = spoof_rewrite("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	    "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res);
	ok(r == DP_OK && res.upgrade == 0 && again.upgrade == 0,
	    "Upgrade: h2c is not allowed: the request goes on as plain HTTP/1.1");
	ok(field_is("Upgrade", NULL) && field_is("HTTP2-Settings", NULL) &&
	    field_is("Connection", NULL), "... Upgrade, HTTP2-Settings and Connection removed");
	r = spoof_rewrite("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
	    "Upgrade: h2c, websocket\r\nSec-WebSocket-Key: x\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res);
	ok(r == DP_OK && res.upgrade == 1 && again.upgrade == 1,
	    "Upgrade: h2c, websocket: still an upgrade");
	ok(field_is("Upgrade", "websocket") && field_is("Connection", "upgrade") &&
	    field_is("Sec-WebSocket-Key", "x"), "... to websocket alone, Connection: upgrade");
	r = spoof_rewrite("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res);
	ok(r == DP_OK && res.upgrade == 0 && field_is("Upgrade", NULL),
	    "Upgrade without Connection: upgrade is no upgrade, and is removed");
	ok(http1_upgrade_allowed("websocket", "WebSocket", 9) &&
	    !http1_upgrade_allowed("websocket", "h2c", 3) &&
	    !http1_upgrade_allowed("websocket", "websocket, h2c", 14) &&
	    !http1_upgrade_allowed("websocket", "", 0) &&
	    !http1_upgrade_allowed("", "websocket", 9),
	    "a 101 may switch only to one allowed protocol");

	/* headers_with_underscores. */
	strcpy(in, "GET / HTTP/1.1\r\nHost: a\r\nX_Custom: 1\r\n\r\n");
	ok(spoof_rewrite(in, HTTP1_UNDERSCORES_ALLOW, out, sizeof(out), &res) == DP_OK &&
	    field_is("X_Custom", "1"), "underscores = allow: X_Custom passes");
	ok(spoof_rewrite(in, HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res) == DP_OK &&
	    field_is("X_Custom", NULL) && res.underscore_dropped == 1,
	    "underscores = drop: X_Custom removed and counted");
	is_int(spoof_rewrite(in, HTTP1_UNDERSCORES_REJECT, out, sizeof(out), &res),
	    HTTP1_ERR_BAD_REQUEST, "underscores = reject: 400");

	/* Connection semantics survive. */
	ok(spoof_rewrite("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    HTTP1_UNDERSCORES_DROP, out, sizeof(out), &res) == DP_OK &&
	    field_is("Connection", "keep-alive") && again.keep_alive == 1,
	    "HTTP/1.0 keep-alive is kept");
	ok(spoof_rewrite("GET / HTTP/1.0\r\n\r\n", HTTP1_UNDERSCORES_DROP, out,
	    sizeof(out), &res) == DP_OK && field_is("Connection", "close") &&
	    again.keep_alive == 0, "HTTP/1.0 without keep-alive: Connection: close");
}

static void
test_trailers_apart(void)
{
	const char *body = "5\r\nhello\r\n0\r\nDANE-Client-Identity: victim\r\n\r\n";
	struct http1_chunked ck;
	size_t used = 0, n = strlen(body), i, off;
	int r;

	http1_chunked_init(&ck);
	ck.stop_at_trailers = 1;
	r = http1_chunked_scan(&ck, body, n, &used);
	ok(r == DP_ERR_AGAIN && used == strlen("5\r\nhello\r\n0\r\n") && ck.in_trailers,
	    "stop_at_trailers: the scan stops after the last chunk's line");
	r = http1_chunked_scan(&ck, body + used, n - used, &used);
	ok(r == DP_OK && used == strlen("DANE-Client-Identity: victim\r\n\r\n"),
	    "... and the rest is the trailer section, up to the final CRLF");

	/* Byte by byte: the stop comes at the same place. */
	http1_chunked_init(&ck);
	ck.stop_at_trailers = 1;
	for (off = 0, i = 0; off < n; off++) {
		r = http1_chunked_scan(&ck, body + off, 1, &used);
		if (ck.in_trailers && i == 0)
			i = off + 1;
		if (r != DP_ERR_AGAIN)
			break;
	}
	ok(r == DP_OK && off == n - 1 && i == strlen("5\r\nhello\r\n0\r\n"),
	    "byte by byte: the same boundary and end");
	http1_chunked_init(&ck);
	r = http1_chunked_scan(&ck, body, n, &used);
	ok(r == DP_OK && used == n, "without stop_at_trailers: one scan to the end");
}

/* ---- responses ----------------------------------------------------------- */

static int
resp(const char *s, const char *method, struct http1_response *res)
{
	return http1_response_parse(s, strlen(s), 8192, method, strlen(method), res);
}

static void
test_response(void)
{
	struct http1_response res;
	const char *r200 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
	static const int codes[] = { 400, 403, 408, 413, 431, 500, 501, 502, 503, 504 };
	size_t i;

	is_int(resp(r200, "GET", &res), DP_OK, "200 with CL parses");
	ok(res.status == 200 && res.version_minor == 1, "status 200, 1.1");
	ok(res.framing == HTTP1_BODY_LENGTH && res.content_length == 5, "LENGTH 5");
	is_int(res.head_len, strlen(r200) - 5, "head_len stops before the body");
	is_int(res.keep_alive, 1, "1.1 response keeps the connection");
	for (i = 0; i < strlen(r200) - 5; i++)
		if (http1_response_parse(r200, i, 8192, "GET", 3, &res) != DP_ERR_AGAIN)
			break;
	is_int(i, strlen(r200) - 5, "every prefix of a response head is DP_ERR_AGAIN");

	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", &res);
	is_int(res.framing, HTTP1_BODY_CHUNKED, "chunked response");
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET", &res);
	is_int(res.framing, HTTP1_BODY_CHUNKED, "TE ending in chunked is chunked");
	resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "GET", &res);
	ok(res.framing == HTTP1_BODY_CLOSE && res.keep_alive == 0,
	    "TE not ending in chunked: until close");
	is_int(resp("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", "GET", &res), DP_OK,
	    "no CL/TE parses");
	ok(res.framing == HTTP1_BODY_CLOSE && res.keep_alive == 0,
	    "no CL/TE in 1.1: close-delimited, no keep-alive");
	is_int(resp("HTTP/1.1 204 No Content\r\n\r\n", "GET", &res), DP_OK, "204 parses");
	ok(res.framing == HTTP1_BODY_NONE && res.keep_alive == 1, "204 has no body, keeps");
	resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", "GET", &res);
	is_int(res.framing, HTTP1_BODY_NONE, "304 has no body despite CL");
	resp("HTTP/1.1 100 Continue\r\n\r\n", "POST", &res);
	ok(res.status == 100 && res.framing == HTTP1_BODY_NONE, "100 Continue has no body");
	resp("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD", &res);
	is_int(res.framing, HTTP1_BODY_NONE, "response to HEAD has no body");
	resp("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "head", &res);
	is_int(res.framing, HTTP1_BODY_LENGTH, "methods are case-sensitive: 'head' is not HEAD");
	is_int(resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n", "GET", &res), DP_OK, "101 parses");
	ok(res.status == 101 && res.framing == HTTP1_BODY_NONE && res.keep_alive == 0,
	    "101: no body, HTTP does not continue");
	resp("HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", &res);
	is_int(res.framing, HTTP1_BODY_NONE, "2xx to CONNECT: tunnel, no body");
	resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", &res);
	ok(res.version_minor == 0 && res.keep_alive == 0, "1.0 response closes by default");
	resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", "GET", &res);
	is_int(res.keep_alive, 1, "1.0 response with keep-alive keeps");
	resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", "GET", &res);
	is_int(res.keep_alive, 0, "Connection: close in a response");
	is_int(resp("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", "GET", &res), DP_OK,
	    "status line without reason phrase");
	is_int(resp("HTTP/1.1 200 OK\nContent-Length: 2\n\n", "GET", &res), DP_OK,
	    "bare LF line ends accepted in responses");
	is_int(res.head_len, strlen("HTTP/1.1 200 OK\nContent-Length: 2\n\n"), "bare LF head_len");
	is_int(resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	    "GET", &res), DP_OK, "equal duplicate CL tolerated in responses");
	is_int(resp("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", "GET", &res), DP_OK,
	    "CL list of equal values tolerated in responses");

	is_int(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "GET", &res), DP_ERR_INVALID, "response CL+TE refused");
	is_int(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    "GET", &res), DP_ERR_INVALID, "response TE+CL refused");
	is_int(resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	    "GET", &res), DP_ERR_INVALID, "differing CL refused");
	is_int(resp("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", "GET", &res),
	    DP_ERR_INVALID, "bad CL refused");
	is_int(resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", &res),
	    DP_ERR_INVALID, "TE in a 1.0 response refused");
	is_int(resp("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "GET", &res),
	    DP_ERR_INVALID, "obs-fold in a response refused");
	is_int(resp("HTTP/1.1 20 OK\r\n\r\n", "GET", &res), DP_ERR_INVALID, "two-digit status");
	is_int(resp("HTTP/1.1 099 OK\r\n\r\n", "GET", &res), DP_ERR_INVALID, "status below 100");
	is_int(resp("HTTP/2 200 OK\r\n\r\n", "GET", &res), DP_ERR_INVALID, "HTTP/2 status line");
	is_int(http1_response_parse("HTTP/1.1 200 OK\r\nServer: xxxxxxxx", 32, 32, "GET", 3, &res),
	    HTTP1_ERR_TOO_LARGE, "response head over max_head → too large");

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *e = http1_error_response(codes[i]);
		int r = resp(e, "GET", &res);

		ok(r == DP_OK && res.status == codes[i] &&
		    res.framing == HTTP1_BODY_LENGTH &&
		    res.content_length == strlen(e) - res.head_len && res.keep_alive == 0,
		    "error response %d: parses, Content-Length is the body size, closes",
		    codes[i]);
	}
	is_str(http1_error_response(400),
	    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
	    "Connection: close\r\n\r\nBad Request\n", "400 response text");
	ok(strncmp(http1_error_response(999), "HTTP/1.1 500 ", 13) == 0,
	    "unknown status gives 500");
}

/* ---- chunked bodies -------------------------------------------------------- */

/* What an inspector sees of a chunked body: the data, whatever the framing. */
static void
test_chunked_decode(void)
{
	char out[64];
	size_t n;
	const char *b1 = "5\r\nhello\r\n1;ext=\"x\"\r\n \r\n6\r\nworld!\r\n0\r\n\r\n";
	const char *b2 = "A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";

	is_int(http1_chunked_decode(b1, strlen(b1), out, sizeof(out), &n), DP_OK,
	    "decode: three chunks, an extension");
	ok(n == 12 && memcmp(out, "hello world!", 12) == 0, "decode: the data joined");
	is_int(http1_chunked_decode(b2, strlen(b2), out, sizeof(out), &n), DP_OK,
	    "decode: upper-case hex size, trailers skipped");
	ok(n == 10 && memcmp(out, "0123456789", 10) == 0, "decode: trailer not in the data");
	is_int(http1_chunked_decode("0\r\n\r\n", 5, out, sizeof(out), &n), DP_OK,
	    "decode: empty body");
	is_int((int)n, 0, "decode: no data");
	is_int(http1_chunked_decode(b2, strlen(b2), out, 9, &n), DP_ERR_SPACE,
	    "decode: data over out_size → SPACE");
	is_int(http1_chunked_decode(b1, 10, out, sizeof(out), &n), DP_ERR_INVALID,
	    "decode: cut in a chunk → INVALID");
	is_int(http1_chunked_decode("5\r\nhelloXX0\r\n\r\n", 16, out, sizeof(out), &n),
	    DP_ERR_INVALID, "decode: no CRLF after the data → INVALID");
	is_int(http1_chunked_decode("zz\r\n", 4, out, sizeof(out), &n), DP_ERR_INVALID,
	    "decode: no size → INVALID");
	is_int(http1_chunked_decode("0\r\n", 3, out, sizeof(out), &n), DP_ERR_INVALID,
	    "decode: no final CRLF → INVALID");
	is_int(http1_chunked_decode("fffffffffffffffff\r\n", 19, out, sizeof(out), &n),
	    DP_ERR_INVALID, "decode: size overflow → INVALID");
}

static int
scan_once(const char *s, size_t n, size_t *used)
{
	struct http1_chunked ck;

	http1_chunked_init(&ck);
	return http1_chunked_scan(&ck, s, n, used);
}

/* Feeds s in pieces whose sizes come from next_piece; returns the result and
 * the total bytes used, stopping at the first result other than again. */
static int
scan_pieces(const char *s, size_t n, size_t *total, unsigned *seed, int bytewise)
{
	struct http1_chunked ck;
	size_t off = 0, piece, used;
	int r = DP_ERR_AGAIN;

	http1_chunked_init(&ck);
	*total = 0;
	while (off < n) {
		if (bytewise) {
			piece = 1;
		} else {
			*seed = *seed * 1103515245u + 12345u;
			piece = 1 + (*seed >> 16) % 7;
		}
		if (piece > n - off)
			piece = n - off;
		r = http1_chunked_scan(&ck, s + off, piece, &used);
		*total += used;
		if (r != DP_ERR_AGAIN)
			return r;
		off += piece;
	}
	return r;
}

static void
test_chunked(void)
{
	const char body[] = "5\r\nhello\r\n"
	    "1A;name=value;q=\"x y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	    "0\r\n"
	    "Trailer-One: 1\r\n"
	    "X-Check:abc\r\n"
	    "\r\n";
	const char tail[] = "GET /next HTTP/1.1\r\n";
	char buf[256];
	size_t n = sizeof(body) - 1, used = 0, total, split;
	unsigned seed = 7;
	struct http1_chunked ck;
	int r, same = 1, k;

	memcpy(buf, body, n);
	memcpy(buf + n, tail, sizeof(tail) - 1);
	is_int(scan_once(body, n, &used), DP_OK, "chunked body in one piece ends");
	is_int(used, n, "used is the whole body");
	is_int(scan_once(buf, n + sizeof(tail) - 1, &used), DP_OK,
	    "body followed by the next request");
	is_int(used, n, "what follows the final CRLF is not consumed");
	is_int(scan_pieces(body, n, &total, &seed, 1), DP_OK, "byte by byte ends");
	is_int(total, n, "byte by byte uses the same bytes");
	for (k = 0; k < 50; k++) {
		r = scan_pieces(buf, n + sizeof(tail) - 1, &total, &seed, 0);
		if (r != DP_OK || total != n)
			same = 0;
	}
	ok(same, "50 random splits give the same end");
	same = 1;
	for (split = 0; split <= n; split++) {
		size_t u1 = 0, u2 = 0;

		http1_chunked_init(&ck);
		r = http1_chunked_scan(&ck, buf, split, &u1);
		if (r == DP_ERR_AGAIN && u1 == split)
			r = http1_chunked_scan(&ck, buf + split, n + sizeof(tail) - 1 - split, &u2);
		if (r != DP_OK || u1 + u2 != n)
			same = 0;
	}
	ok(same, "a split at every byte boundary gives the same end");
	for (split = 0; split < n; split++)
		if (scan_once(body, split, &used) != DP_ERR_AGAIN || used != split)
			break;
	is_int(split, n, "every prefix is all body and asks for more");

	http1_chunked_init(&ck);
	is_int(http1_chunked_scan(&ck, "0\r\n\r\n", 5, &used), DP_OK, "empty body '0\\r\\n\\r\\n'");
	is_int(http1_chunked_scan(&ck, "x", 1, &used), DP_OK, "a finished scanner stays finished");
	is_int(used, 0, "and uses nothing more");
	is_int(scan_once("000\r\n\r\n", 7, &used), DP_OK, "leading zeros in the last chunk");
	is_int(scan_once("4 ;a=b\r\nabcd\r\n0\r\n\r\n", 21, &used), DP_OK,
	    "white space before a chunk extension");
	is_int(scan_once("Ff\r\n", 4, &used), DP_ERR_AGAIN, "mixed-case hex size");
	is_int(scan_once("4000000000000000\r\n", 18, &used), DP_ERR_AGAIN,
	    "size 2^62 is accepted");

	{
		static const struct {
			const char *s;
			const char *why;
		} bad[] = {
			{ "g\r\n", "non-hex size" },
			{ "\r\n", "empty size line" },
			{ " 5\r\nhello\r\n0\r\n\r\n", "space before the size" },
			{ "-5\r\n", "negative size" },
			{ "0x5\r\n", "0x prefix" },
			{ "5\nhello\r\n0\r\n\r\n", "bare LF after the size" },
			{ "5\rhello", "CR not followed by LF" },
			{ "5 \r\nhello\r\n", "white space without an extension" },
			{ "5;a\nb\r\nhello\r\n", "bare LF inside an extension" },
			{ "5;a\x01\r\n", "CTL inside an extension" },
			{ "5\r\nhelloX\r\n0\r\n\r\n", "missing CRLF after data" },
			{ "5\r\nhello\n0\r\n\r\n", "bare LF after data" },
			{ "5\r\nhello\rX", "CR then junk after data" },
			{ "4000000000000001\r\n", "size just over 2^62" },
			{ "ffffffffffffffffff\r\n", "size over 64 bits" },
			{ "0\r\n\n", "bare LF as the final line" },
			{ "0\r\nX: a\n\r\n", "bare LF ending a trailer" },
			{ "0\r\n X: a\r\n\r\n", "obs-fold in the trailers" },
			{ "0\r\nX a\r\n\r\n", "trailer line without ':'" },
			{ "0\r\nX: a\rb\r\n\r\n", "bare CR in a trailer" },
			{ "0\r\n\rX", "CR then junk as the final line" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			is_int(scan_once(bad[i].s, strlen(bad[i].s), &used), DP_ERR_INVALID,
			    "chunked refused: %s", bad[i].why);
	}

	{
		static char line[5000];

		memset(line, '0', sizeof(line));
		is_int(scan_once(line, sizeof(line), &used), DP_ERR_INVALID,
		    "a size line over 4096 bytes refused");
		memcpy(line, "0;", 2);
		memset(line + 2, 'a', sizeof(line) - 2);
		is_int(scan_once(line, sizeof(line), &used), DP_ERR_INVALID,
		    "an extension line over 4096 bytes refused");
	}
	{
		static char tr[20000];
		size_t off = 0;

		off += (size_t)snprintf(tr, sizeof(tr), "0\r\n");
		while (off + 100 < sizeof(tr))
			off += (size_t)snprintf(tr + off, sizeof(tr) - off,
			    "X-T: %070d\r\n", 0);
		is_int(scan_once(tr, off, &used), DP_ERR_INVALID,
		    "trailers over 16384 bytes refused");
	}
	http1_chunked_init(&ck);
	http1_chunked_scan(&ck, "z", 1, &used);
	is_int(http1_chunked_scan(&ck, "0\r\n\r\n", 5, &used), DP_ERR_INVALID,
	    "a failed scanner stays failed");
	{
		struct http1_chunked zero;

		memset(&zero, 0, sizeof(zero));
		is_int(http1_chunked_scan(&zero, "0\r\n\r\n", 5, &used), DP_OK,
		    "a zero-initialised scanner works without init");
	}
}

int
main(void)
{
	test_simple();
	test_bodies();
	test_connection();
	test_framing_of_stream();
	test_smuggling();
	test_limits();
	test_rewrite();
	test_spoof_matrix();
	test_trailers_apart();
	test_response();
	test_chunked();
	test_chunked_decode();
	return done_testing();
}
