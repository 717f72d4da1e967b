/* wsframe.h — RFC 6455 WebSocket frames, the little the proxy needs: the
 * first data message a client sends after the 101 (reassembled from its
 * fragments, control frames between them skipped), and a close frame of our
 * own. Pure: no I/O, no logging; unit-tested and fuzzed. */
#ifndef DP_WSFRAME_H
#define DP_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSFRAME_MSG_MAX 4096		/* payload of the first message */
#define WSFRAME_STREAM_MAX 8192		/* bytes read looking for it */
#define WSFRAME_CLOSE_MAX 127		/* a close frame we write */

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xa

#define WS_CLOSE_POLICY 1008		/* policy violation */

/* The first data message of a client's stream. */
struct ws_message {
	unsigned opcode;		/**< WS_OP_TEXT or WS_OP_BINARY */
	size_t len;			/**< payload bytes in data */
	size_t stream_len;		/**< bytes of the stream up to the end of
					 * its last frame */
	const char *why;		/**< DP_ERR_INVALID: what was wrong (static) */
	unsigned char data[WSFRAME_MSG_MAX];	/**< the payload, unmasked */
};

/* Reads the first data message from buf: the first len bytes a client sent
 * after the 101. Client frames must be masked; reserved bits must be clear
 * (no extension is understood: permessage-deflate is refused); lengths
 * must use their shortest encoding; ping and pong frames (FIN set, at most
 * 125 bytes) are skipped wherever they come; the message is a text or binary
 * frame and its continuation frames up to FIN, at most WSFRAME_MSG_MAX
 * bytes. Returns DP_OK (m filled), DP_ERR_AGAIN (needs more bytes; never
 * once len >= WSFRAME_STREAM_MAX) or DP_ERR_INVALID (m->why set: a close
 * frame or a protocol error before the message ended, or too large). */
int wsframe_first_message(const unsigned char *buf, size_t len,
    struct ws_message *m);

/* Writes a server's close frame (unmasked) with code and reason (at most
 * 123 bytes, truncated) into out (>= WSFRAME_CLOSE_MAX bytes). Returns its
 * length. */
size_t wsframe_close(unsigned code, const char *reason, unsigned char *out);

#endif
