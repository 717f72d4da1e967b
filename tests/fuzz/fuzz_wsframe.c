/* fuzz_wsframe.c — libFuzzer target for the first WebSocket message of a
 * client (wsframe) and the /router-info check run on it (station). Checks
 * invariants, not just crashes: a message found lies inside the bytes read
 * and within its bounds; every shorter prefix of its stream asks for more;
 * more bytes after it never change it; the router-info verdict is one of
 * three and a pass names the EUI asked for. The same input is also read as a
 * request target. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "station.h"
#include "wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static struct ws_message m, m2;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t claimed = 0, eui = 0xb827ebfffe611234ULL;
	int r, r2, ri;
	enum station_verdict v;

	r = wsframe_first_message(data, size, &m);
	check(r == DP_OK || r == DP_ERR_AGAIN || r == DP_ERR_INVALID);
	if (r == DP_ERR_AGAIN)
		check(size < WSFRAME_STREAM_MAX);
	if (r == DP_ERR_INVALID)
		check(m.why != NULL);
	if (r == DP_OK) {
		check(m.len <= WSFRAME_MSG_MAX);
		check(m.stream_len >= 6 && m.stream_len <= size &&
		    m.stream_len <= WSFRAME_STREAM_MAX);
		check(m.opcode == WS_OP_TEXT || m.opcode == WS_OP_BINARY);
		/* The stream up to the message's end gives the same message. */
		r2 = wsframe_first_message(data, m.stream_len, &m2);
		check(r2 == DP_OK && m2.len == m.len && m2.stream_len == m.stream_len &&
		    memcmp(m2.data, m.data, m.len) == 0);
		/* One byte less is never a message. */
		r2 = wsframe_first_message(data, m.stream_len - 1, &m2);
		check(r2 != DP_OK);
		v = station_router_info_check((const char *)m.data, m.len, eui,
		    &claimed);
		check(v == STATION_PASS || v == STATION_EUI_MISMATCH ||
		    v == STATION_BAD);
		if (v == STATION_EUI_MISMATCH)
			check(claimed != eui);
	}
	v = station_target_check((const char *)data, size, eui, &claimed, &ri);
	check(v == STATION_PASS || v == STATION_EUI_MISMATCH || v == STATION_BAD);
	check(ri == 0 || ri == 1);
	if (v == STATION_EUI_MISMATCH)
		check(claimed != eui);
	if (size <= 64) {
		uint64_t e;

		if (station_eui_parse((const char *)data, size, &e) == DP_OK) {
			char hex[17];

			station_eui_format(e, hex);
			check(station_eui_parse(hex, 16, &claimed) == DP_OK &&
			    claimed == e);
		}
	}
	return 0;
}
