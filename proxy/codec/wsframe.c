/* wsframe.c — see wsframe.h. RFC 6455 §5.2 (framing), §5.3 (masking),
 * §5.4 (fragmentation), §5.5 (control frames). */
#include "wsframe.h"

#include <string.h>

#include "err.h"

static int
bad(struct ws_message *m, const char *why)
{
	m->why = why;
	return DP_ERR_INVALID;
}

/* Not enough bytes for a whole frame yet. */
static int
again(struct ws_message *m, size_t len)
{
	if (len >= WSFRAME_STREAM_MAX)
		return bad(m, "no whole message within the first 8 KiB");
	return DP_ERR_AGAIN;
}

int
wsframe_first_message(const unsigned char *buf, size_t len,
    struct ws_message *m)
{
	size_t off = 0, hlen, i;
	uint64_t plen;
	unsigned op, fin;
	int started = 0;

	m->opcode = 0;
	m->len = 0;
	m->stream_len = 0;
	m->why = NULL;
	if (len > WSFRAME_STREAM_MAX)
		len = WSFRAME_STREAM_MAX;
	for (;;) {
		const unsigned char *f = buf + off, *mask;
		size_t avail = len - off;

		if (avail < 2)
			return again(m, len);
		fin = f[0] & 0x80;
		op = f[0] & 0x0f;
		if (f[0] & 0x70)
			return bad(m, "reserved bits set (no extension is understood)");
		if (!(f[1] & 0x80))
			return bad(m, "client frame not masked");
		plen = f[1] & 0x7f;
		hlen = 2;
		if (plen == 126) {
			if (avail < 4)
				return again(m, len);
			plen = (uint64_t)f[2] << 8 | f[3];
			if (plen < 126)
				return bad(m, "length not in its shortest form");
			hlen = 4;
		} else if (plen == 127) {
			if (avail < 10)
				return again(m, len);
			for (plen = 0, i = 2; i < 10; i++)
				plen = plen << 8 | f[i];
			if (plen >> 63)
				return bad(m, "length with the top bit set");
			if (plen < 65536)
				return bad(m, "length not in its shortest form");
			hlen = 10;
		}
		if (op >= 0x8) {
			if (!fin || plen > 125)
				return bad(m, "control frame fragmented or over 125 bytes");
			if (op == WS_OP_CLOSE)
				return bad(m, "closed before the first message");
			if (op != WS_OP_PING && op != WS_OP_PONG)
				return bad(m, "reserved control opcode");
		} else if (op == WS_OP_CONT) {
			if (!started)
				return bad(m, "continuation frame without a message");
		} else if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
			if (started)
				return bad(m, "new message inside a fragmented one");
			started = 1;
			m->opcode = op;
		} else {
			return bad(m, "reserved data opcode");
		}
		if (op < 0x8 && plen > WSFRAME_MSG_MAX - m->len)
			return bad(m, "first message larger than 4 KiB");
		hlen += 4;
		if (avail < hlen || avail - hlen < plen)
			return again(m, len);
		mask = f + hlen - 4;
		if (op < 0x8) {
			for (i = 0; i < plen; i++)
				m->data[m->len + i] = f[hlen + i] ^ mask[i & 3];
			m->len += (size_t)plen;
		}
		off += hlen + (size_t)plen;
		if (op < 0x8 && fin) {
			m->stream_len = off;
			return DP_OK;
		}
	}
}

size_t
wsframe_close(unsigned code, const char *reason, unsigned char *out)
{
	size_t n = reason != NULL ? strlen(reason) : 0;

	if (n > WSFRAME_CLOSE_MAX - 4)
		n = WSFRAME_CLOSE_MAX - 4;
	out[0] = 0x80 | WS_OP_CLOSE;
	out[1] = (unsigned char)(n + 2);
	out[2] = (unsigned char)(code >> 8);
	out[3] = (unsigned char)code;
	if (n > 0)
		memcpy(out + 4, reason, n);
	return n + 4;
}
