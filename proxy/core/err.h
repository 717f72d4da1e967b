/* err.h — the one error space of daneproxy.
 *
 * Every function that can fail returns DP_OK (0) or one of the negative codes
 * below; dp_strerror() gives the text. Details for a human (which byte, which
 * file) travel separately, in a caller-provided buffer or a result struct. */
#ifndef DP_ERR_H
#define DP_ERR_H

enum dp_err {
	DP_OK = 0,
	DP_ERR_INTERNAL = -1,	/* a bug or an unexpected library failure */
	DP_ERR_NOMEM = -2,	/* allocation failed */
	DP_ERR_INVALID = -3,	/* malformed input */
	DP_ERR_SPACE = -4,	/* output buffer too small / input too long */
	DP_ERR_NOT_FOUND = -5,
	DP_ERR_BUSY = -6,	/* a configured limit is reached */
	DP_ERR_AGAIN = -7,	/* not yet: a callback will follow */
	DP_ERR_IO = -8,		/* system call failed (see errno) */
	DP_ERR_TLS = -9,	/* OpenSSL failed (see its error queue) */
	DP_ERR_DNS = -10,	/* DNS answer unusable */
	DP_ERR_NOMATCH = -11,	/* TLSA records do not authenticate the peer */
	DP_ERR_DENIED = -12,	/* policy (allowlist) says no */
};

/* Returns a static text for an error code; never NULL. */
const char *dp_strerror(int r);

#endif
