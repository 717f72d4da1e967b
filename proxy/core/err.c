/* err.c — texts for the error space of err.h. */
#include "err.h"

const char *
dp_strerror(int r)
{
	switch (r) {
	case DP_OK: return "success";
	case DP_ERR_INTERNAL: return "internal error";
	case DP_ERR_NOMEM: return "out of memory";
	case DP_ERR_INVALID: return "invalid input";
	case DP_ERR_SPACE: return "too long";
	case DP_ERR_NOT_FOUND: return "not found";
	case DP_ERR_BUSY: return "limit reached";
	case DP_ERR_AGAIN: return "pending";
	case DP_ERR_IO: return "I/O error";
	case DP_ERR_TLS: return "TLS error";
	case DP_ERR_DNS: return "DNS error";
	case DP_ERR_NOMATCH: return "TLSA records do not match";
	case DP_ERR_DENIED: return "denied by policy";
	}
	return "unknown error";
}
