/* fuzz_admin.c — libFuzzer target for the admin endpoint's request parser
 * and router (admin_request_parse). Beyond "no crash": bytes past
 * ADMIN_HEAD_MAX change nothing; an incomplete head is only possible below
 * that size; a route is given only to GET or HEAD (head_only exactly for
 * HEAD) of exactly its path, with any query string; every other outcome is
 * one of the error statuses the endpoint answers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "err.h"
#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const char *
route_path(enum admin_route r)
{
	switch (r) {
	case ADMIN_ROUTE_METRICS: return "/metrics";
	case ADMIN_ROUTE_HEALTHZ: return "/healthz";
	case ADMIN_ROUTE_READYZ: return "/readyz";
	case ADMIN_ROUTE_NONE: break;
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_request req;
	struct admin_request out, again;
	const char *p = (const char *)data, *path;
	size_t plen;
	int r;

	r = admin_request_parse(p, size, &req, &out);
	if (r == DP_ERR_AGAIN) {
		check(size < ADMIN_HEAD_MAX);
		return 0;
	}
	check(r == DP_OK);
	if (size > ADMIN_HEAD_MAX) {
		check(admin_request_parse(p, ADMIN_HEAD_MAX, &req, &again) == DP_OK);
		check(again.status == out.status && again.route == out.route &&
		    again.head_only == out.head_only);
		/* req now holds the parse of the same bytes again */
	}
	if (out.route == ADMIN_ROUTE_NONE) {
		check(out.status == 400 || out.status == 404 ||
		    out.status == 405 || out.status == 431);
		check(out.status == 404 || !out.head_only);
		return 0;
	}
	check(out.status == 200);
	check(out.head_only ?
	    req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0 :
	    req.method_len == 3 && memcmp(req.method, "GET", 3) == 0);
	path = route_path(out.route);
	check(path != NULL);
	plen = strlen(path);
	check(req.target_len >= plen && memcmp(req.target, path, plen) == 0);
	check(req.target_len == plen || req.target[plen] == '?');
	/* the target lies inside the input */
	check(req.target >= p && req.target + req.target_len <= p + size);
	return 0;
}
