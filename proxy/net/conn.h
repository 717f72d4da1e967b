/* conn.h — what both roles do with a connection: admission at accept
 * (allow_from, max_connections, max_handshakes, counting), the list of live
 * connections, draining, and the end (the log line, the metrics, lingering
 * close).
 *
 * A role embeds struct conn first in its connection and struct
 * conn_listener in its listener, and fills a struct conn_ops: the base
 * accepts, admits, allocates ops->conn_size bytes, links and counts the
 * connection, then hands it to ops->start with the socket. The role ends
 * every connection through conn_end, then frees its own part and the
 * connection. */
#ifndef DP_CONN_H
#define DP_CONN_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "dane.h"
#include "log.h"
#include "metrics.h"
#include "recheck.h"
#include "util.h"

struct conf_cidrs;
struct conf_where;
struct dp_listener;
struct event_base;
struct http_relay;
struct relay;

/* Closes fd gracefully: sends FIN, then reads and discards what the peer
 * still sends (at most 64 KiB, at most 2 s) before close(). Without this an
 * alert written just before close() can be destroyed by the RST the kernel
 * sends when unread data remains. At most 1024 sockets linger at once (they
 * are outside max_connections); beyond, fd is just closed. Takes ownership
 * of fd. */
void conn_linger_close(struct event_base *base, evutil_socket_t fd);

/* The facts of the one log line every connection ends with (conn_end
 * writes it: level info for ok, warn otherwise; a refusal repeated within
 * CONN_REFUSAL_LINES_MS is left out, see conn_end). */
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
	int hs_reason;			/* enum mx_hs_reason counted for the
					 * connection, or -1: none */
	const char *tls_version;
	uint64_t bytes_in;		/* from the remote/local client */
	uint64_t bytes_out;		/* towards it */
	uint64_t start_ms;
};


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

/* --- the base of both roles' connections and listeners */

struct conn_listener;
struct conn_lines;

/* Where a connection stands for the limits: handshakes in progress count
 * against max_handshakes. */
enum conn_phase {
	CONN_HANDSHAKE,		/* accepted, not yet authenticated and connected */
	CONN_ESTABLISHED,	/* conn_established: relaying, or about to */
};

struct conn {
	struct conn_listener *l;
	LIST_ENTRY(conn) link;
	enum conn_phase phase;
	char id[LOG_CONN_ID_LEN];
	char peer_str[DP_ADDR_STRLEN];
	struct sockaddr_storage peer;
	uint64_t start_ms;
	/* Set by the role once it relays; conn_end reads their byte counts
	 * and frees them, conn_listener_stop drains hrelay. */
	struct relay *relay;
	struct http_relay *hrelay;
	/* conn_watch: re-checked when the peer's TLSA answer changes; a
	 * revocation under recheck = close leaves its reason here (the
	 * connection's last reason, freed by conn_end). */
	struct recheck_watch watch;
	char *revoked;
};

struct conn_ops {
	const char *role;	/* "server" or "client", for the log line */
	size_t conn_size;	/* the role's connection, struct conn first */
	/* An admitted connection: c is zeroed past the base, linked, counted
	 * as open and handshaking; fd (non-blocking) is the role's now. The
	 * role ends c with conn_end, at once on failure. */
	void (*start)(struct conn *c, evutil_socket_t fd);
	/* Ends c now with outcome and reason: MX_OUT_ERROR, "shutting down"
	 * when the listener is freed with connections open; MX_OUT_REVOKED
	 * when a re-check revoked it (recheck = close). */
	void (*close)(struct conn *c, enum mx_outcome outcome,
	    const char *reason);
	/* Frees what the role's listener holds besides the base (NULL:
	 * nothing), after every connection is gone. */
	void (*free)(struct conn_listener *l);
};

struct conn_listener {
	const struct conn_ops *ops;
	struct event_base *base;
	const char *name;		/* section name */
	const struct dp_addr *listen;
	const struct conf_where *where;	/* the section, for error lines */
	const struct conf_cidrs *allow_from;
	unsigned max_connections;
	unsigned max_handshakes;	/* UINT_MAX: no limit */
	struct mx_listener *mx;
	SSL_CTX *ctx;			/* the role's TLS context (owned) */
	struct dane_rules rules;	/* what the role asks of a peer; the
					 * matcher is owned */
	struct dp_listener *listener;
	LIST_HEAD(conn_list, conn) conns;
	unsigned n_conns;
	unsigned n_handshaking;
	struct conn_refusals refused_conns;	/* max_connections */
	struct conn_refusals refused_hs;	/* max_handshakes */
	struct conn_refusals denied;		/* allow_from */
	struct conn_lines *lines;	/* refusal lines' rate limit (conn_end);
					 * allocated at the first refusal */
};

/* Fills the base of a role's listener (the rest of it zeroed before). */
void conn_listener_init(struct conn_listener *l, const struct conn_ops *ops,
    struct event_base *base, const char *name, const struct dp_addr *listen,
    const struct conf_where *where, const struct conf_cidrs *allow_from,
    unsigned max_connections, unsigned max_handshakes,
    struct mx_listener *mx);

/* Starts accepting on fd, the listening socket the master bound for this
 * listener (taken, closed on failure too), or with fd -1 on a socket bound
 * now. Each connection is admitted, in this order, by allow_from,
 * max_connections (this worker's, then the listener's across workers) and
 * max_handshakes; a refused one is closed at once, counted, and reported
 * in one line a second at most. Returns DP_OK, DP_ERR_IO (errno set) or
 * DP_ERR_NOMEM. */
int conn_listener_start(struct conn_listener *l, int fd);

/* Stops accepting (draining): connections in progress go on, but an HTTP
 * keep-alive connection takes no new request and closes once its requests
 * are answered. */
void conn_listener_stop(struct conn_listener *l);

/* Connections open now. */
unsigned conn_listener_active(const struct conn_listener *l);

/* Stops, closes every connection (ops->close), frees the role's part
 * (ops->free), the TLS context, the matcher and the listener; accepts
 * NULL. */
void conn_listener_free(struct conn_listener *l);

/* c's handshake is over: it no longer counts against max_handshakes. */
void conn_established(struct conn *c);

/* c, authenticated by DANE against ans for name, relays now: unless its
 * listener's recheck is off, it is re-checked whenever the answer for name
 * changes (recheck.h). ssl holds the peer's certificates, match_name is
 * what a DANE-TA match looks for (both outlive c's watch, which conn_end
 * stops). A revocation is logged and counted; under recheck = close the
 * connection is closed at once, or in HTTP mode after the response in
 * flight, with outcome revoked. */
void conn_watch(struct conn *c, const char *name, struct tlsa_answer *ans,
    SSL *ssl, const char *match_name);

/* A refusal line (outcome refused or error) repeated within this long for
 * the same key, the peer's address without its port, the client name and
 * the metrics reason (rep->hs_reason, with the outcome), is not logged, so
 * that a flood of failing handshakes (say, a fleet presenting a key its
 * records no longer publish) does not turn into a flood of lines. The
 * next line logged for the key, or the listener's periodic flush, says
 * suppressed=N; every left-out line is counted in
 * daneproxy_log_suppressed_total, and the connection in the metrics as
 * always. Lines of authenticated (ok), unauthenticated and revoked
 * connections are never left out. Keys are held per listener in
 * CONN_REFUSAL_LINES_SLOTS hashed slots (a new key overwrites the one in
 * its slot). */
#define CONN_REFUSAL_LINES_MS 10000
#define CONN_REFUSAL_LINES_SLOTS 256

/* Ends c's life in the base: fills rep's id, role, listener, peer, bytes
 * (from relay or hrelay) and start, logs the line with outcome (revoked
 * when it ends with the reason of its revocation; or leaves it out,
 * CONN_REFUSAL_LINES_MS), counts the close, stops its re-checks, frees
 * relay and hrelay, and unlinks c. rep carries what only the role knows
 * (client_name, tlsa, tlsa_wildcard, reason, hs_reason, tls_version). The
 * caller then frees the rest of c, and c. */
void conn_end(struct conn *c, enum mx_outcome outcome, struct conn_report *rep);

#endif
