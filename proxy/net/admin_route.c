/* admin_route.c — the admin endpoint's request parser and router (admin.h):
 * a pure function of the received bytes, so that it can be fuzzed apart
 * from the sockets (tests/fuzz/fuzz_admin.c). */
#include "admin.h"

#include <string.h>

#include "err.h"
#include "http1.h"

#define ADMIN_MAX_HEADERS 100

static int
path_is(const char *path, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(path, s, len) == 0;
}

int
admin_request_parse(const char *p, size_t len, struct http1_request *scratch,
    struct admin_request *out)
{
	struct http1_limits lim = { ADMIN_HEAD_MAX, ADMIN_MAX_HEADERS };
	const char *q;
	size_t plen;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > ADMIN_HEAD_MAX)
		len = ADMIN_HEAD_MAX;
	r = http1_request_parse(p, len, &lim, scratch);
	if (r == DP_ERR_AGAIN)
		return DP_ERR_AGAIN;
	if (r == HTTP1_ERR_TOO_LARGE) {
		out->status = 431;
		return DP_OK;
	}
	if (r != DP_OK) {
		out->status = 400;
		return DP_OK;
	}
	if (scratch->method_len == 3 && memcmp(scratch->method, "GET", 3) == 0)
		out->head_only = 0;
	else if (scratch->method_len == 4 &&
	    memcmp(scratch->method, "HEAD", 4) == 0)
		out->head_only = 1;
	else {
		out->status = 405;
		return DP_OK;
	}
	q = memchr(scratch->target, '?', scratch->target_len);
	plen = q != NULL ? (size_t)(q - scratch->target) : scratch->target_len;
	out->status = 200;
	if (path_is(scratch->target, plen, "/metrics"))
		out->route = ADMIN_ROUTE_METRICS;
	else if (path_is(scratch->target, plen, "/healthz"))
		out->route = ADMIN_ROUTE_HEALTHZ;
	else if (path_is(scratch->target, plen, "/readyz"))
		out->route = ADMIN_ROUTE_READYZ;
	else
		out->status = 404;
	return DP_OK;
}
