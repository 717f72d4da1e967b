/* test_wsframe.c — the first WebSocket message of a client, and our close
 * frame. Frames are built byte by byte here, as RFC 6455 §5.2 draws them. */
#include <string.h>

#include "err.h"
#include "tap.h"
#include "wsframe.h"

static const unsigned char MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Appends one client frame (masked unless nomask) to buf at *off. */
static void
frame(unsigned char *buf, size_t *off, int fin, unsigned op, const char *p,
    size_t n, int nomask)
{
	size_t i, o = *off;

	buf[o++] = (unsigned char)((fin ? 0x80 : 0) | op);
	if (n < 126) {
		buf[o++] = (unsigned char)((nomask ? 0 : 0x80) | n);
	} else if (n < 65536) {
		buf[o++] = (unsigned char)((nomask ? 0 : 0x80) | 126);
		buf[o++] = (unsigned char)(n >> 8);
		buf[o++] = (unsigned char)n;
	} else {
		buf[o++] = (unsigned char)((nomask ? 0 : 0x80) | 127);
		for (i = 0; i < 8; i++)
			buf[o++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	}
	if (!nomask) {
		memcpy(buf + o, MASK, 4);
		o += 4;
	}
	for (i = 0; i < n; i++)
		buf[o + i] = (unsigned char)p[i] ^ (nomask ? 0 : MASK[i & 3]);
	*off = o + n;
}

static unsigned char buf[80000];
static char src[70000];
static struct ws_message m;

static void
test_first_message(void)
{
	const char *msg = "{\"router\":\"b827:ebff:fe61:1234\"}";
	size_t n = 0, i;
	int r;

	frame(buf, &n, 1, WS_OP_TEXT, msg, strlen(msg), 0);
	is_int(wsframe_first_message(buf, n, &m), DP_OK, "one text frame");
	is_int(m.opcode, WS_OP_TEXT, "text opcode");
	ok(m.len == strlen(msg) && memcmp(m.data, msg, m.len) == 0, "payload unmasked");
	is_int(m.stream_len, n, "stream_len: the whole frame");
	for (i = 0, r = DP_OK; i < n; i++)
		if (wsframe_first_message(buf, i, &m) != DP_ERR_AGAIN)
			r = DP_ERR_INTERNAL;
	is_int(r, DP_OK, "every shorter prefix: DP_ERR_AGAIN");

	n = 0;
	frame(buf, &n, 1, WS_OP_PING, "hi", 2, 0);
	frame(buf, &n, 0, WS_OP_TEXT, msg, 10, 0);
	frame(buf, &n, 1, WS_OP_PONG, "", 0, 0);
	frame(buf, &n, 0, WS_OP_CONT, msg + 10, 10, 0);
	frame(buf, &n, 1, WS_OP_CONT, msg + 20, strlen(msg) - 20, 0);
	frame(buf, &n, 1, WS_OP_TEXT, "next", 4, 0);
	is_int(wsframe_first_message(buf, n, &m), DP_OK,
	    "fragmented, with ping and pong between");
	ok(m.len == strlen(msg) && memcmp(m.data, msg, m.len) == 0,
	    "fragments reassembled");
	is_int(m.stream_len, n - 10, "stream_len stops before the next message");

	n = 0;
	frame(buf, &n, 1, WS_OP_BINARY, "\x01\x02", 2, 0);
	is_int(wsframe_first_message(buf, n, &m), DP_OK, "binary frame");
	is_int(m.opcode, WS_OP_BINARY, "binary opcode");

	n = 0;
	memset(src, 'a', sizeof(src));
	frame(buf, &n, 1, WS_OP_TEXT, src, 200, 0);
	is_int(wsframe_first_message(buf, n, &m), DP_OK, "16-bit length");
	is_int(m.len, 200, "16-bit length: 200 bytes");

	n = 0;
	frame(buf, &n, 1, WS_OP_TEXT, src, WSFRAME_MSG_MAX, 0);
	is_int(wsframe_first_message(buf, n, &m), DP_OK, "exactly 4 KiB");
	n = 0;
	frame(buf, &n, 1, WS_OP_TEXT, src, WSFRAME_MSG_MAX + 1, 0);
	is_int(wsframe_first_message(buf, 8, &m), DP_ERR_INVALID,
	    "4 KiB + 1 refused from its header alone");
	n = 0;
	frame(buf, &n, 0, WS_OP_TEXT, src, 4000, 0);
	frame(buf, &n, 1, WS_OP_CONT, src, 97, 0);
	is_int(wsframe_first_message(buf, n, &m), DP_ERR_INVALID,
	    "fragments adding up over 4 KiB refused");

	n = 0;
	frame(buf, &n, 1, WS_OP_TEXT, src, 70000, 0);
	is_int(wsframe_first_message(buf, n, &m), DP_ERR_INVALID,
	    "64-bit length refused (too large)");
}

/* One frame built by hand must be refused. */
static void
refused(const unsigned char *f, size_t n, const char *what)
{
	is_int(wsframe_first_message(f, n, &m), DP_ERR_INVALID, "%s", what);
}

static void
test_refusals(void)
{
	size_t n = 0, i;
	static const unsigned char rsv1[] = { 0xc1, 0x80, 1, 2, 3, 4 };
	static const unsigned char long16[] = { 0x81, 0x80 | 126, 0, 5, 1, 2, 3, 4,
	    'a', 'b', 'c', 'd', 'e' };
	static const unsigned char long64[] = { 0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0,
	    0, 5, 1, 2, 3, 4 };
	static const unsigned char top[] = { 0x81, 0x80 | 127, 0x80, 0, 0, 0, 0,
	    0, 0, 5, 1, 2, 3, 4 };
	static const unsigned char op3[] = { 0x83, 0x80, 1, 2, 3, 4 };
	static const unsigned char opb[] = { 0x8b, 0x80, 1, 2, 3, 4 };
	static const unsigned char pingfrag[] = { 0x09, 0x80, 1, 2, 3, 4 };
	static const unsigned char ping126[] = { 0x89, 0x80 | 126, 0, 126 };

	frame(buf, &n, 1, WS_OP_TEXT, "{}", 2, 1);
	refused(buf, n, "unmasked client frame");
	refused(rsv1, sizeof(rsv1), "RSV1 (permessage-deflate) refused");
	refused(long16, sizeof(long16), "16-bit length under 126 refused");
	refused(long64, sizeof(long64), "64-bit length under 65536 refused");
	refused(top, sizeof(top), "64-bit length with the top bit refused");
	refused(op3, sizeof(op3), "reserved data opcode");
	refused(opb, sizeof(opb), "reserved control opcode");
	refused(pingfrag, sizeof(pingfrag), "fragmented ping");
	refused(ping126, sizeof(ping126), "ping over 125 bytes");
	n = 0;
	frame(buf, &n, 1, WS_OP_CLOSE, "\x03\xe8", 2, 0);
	frame(buf, &n, 1, WS_OP_TEXT, "{}", 2, 0);
	refused(buf, n, "close before the message");
	n = 0;
	frame(buf, &n, 1, WS_OP_CONT, "{}", 2, 0);
	refused(buf, n, "continuation first");
	n = 0;
	frame(buf, &n, 0, WS_OP_TEXT, "{", 1, 0);
	frame(buf, &n, 1, WS_OP_TEXT, "}", 1, 0);
	refused(buf, n, "new message inside a fragmented one");
	n = 0;
	for (i = 0; n < WSFRAME_STREAM_MAX; i++)
		frame(buf, &n, 1, WS_OP_PING, "", 0, 0);
	refused(buf, n, "8 KiB of pings and no message");
	is_int(wsframe_first_message(buf, WSFRAME_STREAM_MAX - 6, &m), DP_ERR_AGAIN,
	    "under 8 KiB of pings: still waiting");
}

static void
test_close(void)
{
	unsigned char out[WSFRAME_CLOSE_MAX];
	char reason[300];
	size_t n;

	n = wsframe_close(WS_CLOSE_POLICY, "router-info", out);
	is_int(n, 15, "close frame length");
	ok(out[0] == 0x88 && out[1] == 13 && out[2] == 0x03 && out[3] == 0xf0 &&
	    memcmp(out + 4, "router-info", 11) == 0, "close 1008, unmasked, reason");
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	n = wsframe_close(WS_CLOSE_POLICY, reason, out);
	is_int(n, WSFRAME_CLOSE_MAX, "long reason truncated to a 125-byte payload");
	is_int(out[1], 125, "payload length 125");
	n = wsframe_close(1000, NULL, out);
	is_int(n, 4, "no reason");
}

int
main(void)
{
	test_first_message();
	test_refusals();
	test_close();
	return done_testing();
}
