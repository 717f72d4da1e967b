/* conn.h — what both roles do with a connection at its end. */
#ifndef DP_CONN_H
#define DP_CONN_H

#include <stdint.h>

#include <event2/util.h>

struct event_base;

/* Closes fd gracefully: sends FIN, then reads and discards what the peer
 * still sends (at most 64 KiB, at most 2 s) before close(). Without this an
 * alert written just before close() can be destroyed by the RST the kernel
 * sends when unread data remains. Takes ownership of fd. */
void conn_linger_close(struct event_base *base, evutil_socket_t fd);

/* The facts of the one log line every connection ends with. */
struct conn_report {
	const char *role;		/* "server" or "client" */
	const char *id;
	const char *listener;		/* section name */
	const char *peer;		/* remote address */
	const char *client_name;	/* ClientName (or NULL) */
	const char *tlsa;		/* matched record "3 1 1" (or NULL) */
	const char *outcome;		/* ok, unauthenticated, refused, error */
	const char *reason;
	const char *tls_version;
	uint64_t bytes_in;		/* from the remote/local client */
	uint64_t bytes_out;		/* towards it */
	uint64_t start_ms;
};

/* Logs the connection's end line (level info for ok, warn otherwise). */
void conn_log(const struct conn_report *r);

#endif
