/* conn.h — what both roles do with a connection at its end. */
#ifndef DP_CONN_H
#define DP_CONN_H

#include <stdint.h>

#include <event2/util.h>

struct event_base;

/* Closes fd gracefully: sends FIN, then reads and discards what the peer
 * still sends (at most 64 KiB, at most 2 s) before close(). Without this an
 * alert written just before close() can be destroyed by the RST the kernel
 * sends when unread data remains. At most 1024 sockets linger at once (they
 * are outside max_connections); beyond, fd is just closed. Takes ownership
 * of fd. */
void conn_linger_close(struct event_base *base, evutil_socket_t fd);

/* The facts of the one log line every connection ends with. */
struct conn_report {
	const char *role;		/* "server" or "client" */
	const char *id;
	const char *listener;		/* section name */
	const char *peer;		/* remote address */
	const char *client_name;	/* ClientName (or NULL) */
	const char *tlsa;		/* matched record "3 1 1" (or NULL) */
	const char *tlsa_wildcard;	/* the wildcard that synthesised it (or NULL) */
	const char *outcome;		/* ok, unauthenticated, refused, error */
	const char *reason;
	const char *tls_version;
	uint64_t bytes_in;		/* from the remote/local client */
	uint64_t bytes_out;		/* towards it */
	uint64_t start_ms;
};

/* Logs the connection's end line (level info for ok, warn otherwise). */
void conn_log(const struct conn_report *r);

/* Connections a listener closed at accept for one limit, reported in one
 * line at most once a second rather than one line each: a flood must not
 * turn into a flood of log lines. Zero-initialise. */
struct conn_refusals {
	uint64_t n;		/* refused since the last line */
	uint64_t since_ms;	/* dp_now_ms() of the last line; 0: none yet */
};

/* Counts one connection refused at accept by listener because limit (what,
 * e.g. "connections open (max_connections)") is reached, and writes a warn
 * line "listener L: LIMIT WHAT: refused N connections in the last S ms" if
 * none was written in the last second. */
void conn_refused(struct conn_refusals *r, const char *listener,
    const char *what, unsigned limit);

struct conf_cidrs;
struct mx_listener;
struct sockaddr;

/* allow_from at accept, before any TLS work: 1 when sa lies in allow (or
 * allow is empty). Otherwise counts the connection as outcome denied in mx,
 * writes a warn line naming the latest source at most once a second (r),
 * and returns 0: the caller closes the socket. */
int conn_source_allowed(const struct conf_cidrs *allow,
    const struct sockaddr *sa, struct mx_listener *mx,
    struct conn_refusals *r, const char *listener);

#endif
