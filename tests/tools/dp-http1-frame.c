/* dp-http1-frame — what daneproxy's HTTP mode makes of a byte stream from a
 * client, for a differential check against an independent HTTP parser
 * (tests/lib/http1_diff.py, with Python's h11).
 *
 *   dp-http1-frame FILE...
 *
 * Each FILE is one client stream (requests, possibly pipelined). It is cut
 * into messages the way the proxy cuts it: the head parsed by
 * http1_request_parse (8 KiB, 100 fields, as the defaults), rewritten by
 * http1_request_rewrite (the identity header, X-Forwarded-*, websocket
 * upgrades, headers with '_' dropped), the body framed by Content-Length or
 * by http1_chunked_scan with the request trailers dropped, as httprelay.c
 * forwards it. It stops at the end of the input, an incomplete message,
 * a refused one, an upgrade or a request that closes the connection.
 * One JSON line per FILE on stdout:
 *   {"file": F, "messages": [{"method": M, "target": T, "end": E,
 *    "out_end": O}, ...], "stop": "eof"|"incomplete"|"refused NNN"|
 *    "upgrade"|"close", "out": HEX}
 * E is the offset in the input just past the message, O the same in the
 * forwarded bytes ("out", hex). Exit 0, or 2 on usage or I/O errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http1.h"

#define FRAME_MAX_INPUT (1 << 20)
#define FRAME_MAX_HEAD 8192
#define FRAME_MAX_HEADERS 100

static const char *const managed[] = {
	"DANE-Client-Identity", "X-Forwarded-For", "X-Forwarded-Proto"
};
static const struct http1_add added[] = {
	{ "DANE-Client-Identity", "_lorawan-ns.diff.example" },
	{ "X-Forwarded-For", "127.0.0.1" },
	{ "X-Forwarded-Proto", "https" },
};

struct out {
	char *p;
	size_t len, size;
};

static int
out_add(struct out *o, const char *p, size_t n)
{
	if (o->size - o->len < n)
		return -1;
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

static void
json_str(const char *p, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Forwards the chunked body at in (n bytes) as httprelay.c does: chunks as
 * they are, trailer fields dropped, the final CRLF kept. Returns the bytes
 * of input used, 0 when the body is incomplete, or -1 when it is invalid. */
static long
chunked_body(const char *in, size_t n, struct out *o)
{
	struct http1_chunked ck;
	size_t off = 0, used;
	int r, trailers;

	http1_chunked_init(&ck);
	ck.stop_at_trailers = 1;
	for (;;) {
		trailers = ck.in_trailers;
		r = http1_chunked_scan(&ck, in + off, n - off, &used);
		if (r == DP_ERR_INVALID)
			return -1;
		if (!trailers && out_add(o, in + off, used) != 0)
			return -1;
		off += used;
		if (r == DP_OK) {
			if (trailers && out_add(o, "\r\n", 2) != 0)
				return -1;
			return (long)off;
		}
		if (off == n)
			return 0;
	}
}

static const char *
frame(const char *in, size_t n, struct out *o)
{
	static struct http1_request req;
	static char stop[32];
	const struct http1_limits lim = { FRAME_MAX_HEAD, FRAME_MAX_HEADERS };
	const struct http1_rewrite rw = { managed, 3, added, 3, "websocket",
	    HTTP1_UNDERSCORES_DROP };
	struct http1_rewritten res;
	size_t off = 0;
	long body;
	int r, first = 1;

	printf("\"messages\": [");
	while (off < n) {
		r = http1_request_parse(in + off, n - off, &lim, &req);
		if (r == DP_ERR_AGAIN)
			return "incomplete";
		if (r == DP_OK)
			r = http1_request_rewrite(in + off, &req, &rw, o->p + o->len,
			    o->size - o->len, &res);
		if (r != DP_OK) {
			snprintf(stop, sizeof(stop), "refused %d", r < -99 ? -r : 400);
			return stop;
		}
		o->len += res.len;
		off += req.head_len;
		if (req.framing == HTTP1_BODY_LENGTH) {
			if (req.content_length > n - off)
				return "incomplete";
			if (out_add(o, in + off, (size_t)req.content_length) != 0)
				return "refused 413";
			off += (size_t)req.content_length;
		} else if (req.framing == HTTP1_BODY_CHUNKED) {
			if ((body = chunked_body(in + off, n - off, o)) <= 0)
				return body == 0 ? "incomplete" : "refused 400";
			off += (size_t)body;
		}
		printf("%s{\"method\": ", first ? "" : ", ");
		json_str(req.method, req.method_len);
		printf(", \"target\": ");
		json_str(req.target, req.target_len);
		printf(", \"end\": %zu, \"out_end\": %zu}", off, o->len);
		first = 0;
		if (res.upgrade)
			return "upgrade";
		if (!req.keep_alive)
			return "close";
	}
	return "eof";
}

int
main(int argc, char **argv)
{
	static char in[FRAME_MAX_INPUT];
	struct out o;
	const char *stop;
	size_t n, i;
	FILE *f;
	int a;

	if (argc < 2) {
		fprintf(stderr, "usage: dp-http1-frame FILE...\n");
		return 2;
	}
	o.size = 2 * FRAME_MAX_INPUT;
	if ((o.p = malloc(o.size)) == NULL)
		return 2;
	for (a = 1; a < argc; a++) {
		if ((f = fopen(argv[a], "rb")) == NULL) {
			perror(argv[a]);
			return 2;
		}
		n = fread(in, 1, sizeof(in), f);
		fclose(f);
		o.len = 0;
		printf("{\"file\": ");
		json_str(argv[a], strlen(argv[a]));
		printf(", ");
		stop = frame(in, n, &o);
		printf("], \"stop\": \"%s\", \"out\": \"", stop);
		for (i = 0; i < o.len; i++)
			printf("%02x", (unsigned char)o.p[i]);
		printf("\"}\n");
	}
	free(o.p);
	return 0;
}
