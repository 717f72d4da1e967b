/* metrics.h — counters shared by the master and its workers, and their
 * Prometheus text exposition.
 *
 * The master maps one region (MAP_SHARED | MAP_ANONYMOUS) before the first
 * fork; it holds MX_MAX_SLOTS worker slots, MX_MAX_LISTENERS listener slots,
 * the "retired" totals and a few master-only numbers. A worker writes only its
 * own slot (single writer: relaxed atomic loads and stores, no locks, no
 * lock-prefixed instructions on the hot path). The one shared-write field is
 * each listener's count of open connections, which enforces max_connections
 * across all workers (atomic add and subtract). The master reads everything to
 * render /metrics and, when a worker has exited, folds its slot into the
 * retired totals, so counters never go backwards across worker restarts and
 * reloads.
 *
 * Workers call the mx_* hooks below through a process-wide "current slot" set
 * by metrics_worker_attach(); before it (unit tests, daneproxy -t, the master)
 * the hooks count into a private sink, so callers never test for NULL. */
#ifndef DP_METRICS_H
#define DP_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dnsstatus.h"

#define MX_MAX_SLOTS 256	/* worker slots: workers of every generation alive */
#define MX_MAX_LISTENERS 64	/* listener slots: at least conf.h's CONF_MAX_LISTENERS */

enum mx_role { MX_SERVER = 0, MX_CLIENT = 1 };

/* How a connection ended: exactly one per accepted connection. */
enum mx_outcome {
	MX_OUT_OK = 0,		/* authenticated and relayed to its end */
	MX_OUT_UNAUTHENTICATED,	/* client_auth = optional, relayed without identity */
	MX_OUT_REFUSED,		/* authentication or policy said no */
	MX_OUT_ERROR,		/* TLS error, timeout, upstream failure, peer gone */
	MX_OUT_LIMIT,		/* max_connections (or, server role, max_handshakes)
				 * reached: closed at accept */
	MX_OUT_DENIED,		/* source address not in allow_from: closed at accept */
	MX_OUT_REVOKED,		/* authenticated, then closed by a re-check: its
				 * TLSA answer no longer authenticates it */
	MX_OUT_N
};

/* Why a handshake did not produce an authenticated connection. */
enum mx_hs_reason {
	MX_HS_TIMEOUT = 0,	/* handshake_timeout_ms (incl. waiting for DNS) */
	MX_HS_TLS,		/* TLS protocol error, no shared version/cipher */
	MX_HS_CLOSED,		/* peer closed or reset during the handshake */
	MX_HS_NO_CERT,		/* no client certificate (with client_auth = optional
				 * the connection goes on unauthenticated) */
	MX_HS_NO_CLIENTID,	/* no dane_clientid and no usable SAN name */
	MX_HS_BAD_CLIENTID,	/* malformed dane_clientid */
	MX_HS_NOT_ALLOWED,	/* name outside the allow list */
	MX_HS_DNS_ERROR,	/* TLSA lookup: SERVFAIL, timeout, network */
	MX_HS_DNS_BOGUS,	/* DNSSEC validation failed */
	MX_HS_DNS_INSECURE,	/* TLSA records not DNSSEC-signed */
	MX_HS_NO_TLSA,		/* NXDOMAIN or NODATA: nothing to match */
	MX_HS_MISMATCH,		/* certificate matches no TLSA record (client role:
				 * or fails PKIX verification) */
	MX_HS_BUSY,		/* max_handshakes or DNS max_inflight reached */
	/* stapled_chain (README "Stapled DNSSEC chains"): */
	MX_HS_CHAIN_MISSING,	/* require, and the client sent no chain */
	MX_HS_CHAIN_MALFORMED,	/* the chain's framing is wrong */
	MX_HS_CHAIN_OVERSIZE,	/* over max_chain_bytes, or too many RRs/RRSIGs */
	MX_HS_CHAIN_BOGUS,	/* a signature or digest fails */
	MX_HS_CHAIN_EXPIRED,	/* an RRSIG expired or not yet valid, or the
				 * inception older than stapled_max_age */
	MX_HS_CHAIN_INCOMPLETE,	/* a link missing (no verdict from the anchor) */
	MX_HS_CHAIN_INSECURE,	/* provably unsigned below the anchor */
	MX_HS_CHAIN_WRONG_NAME,	/* valid, but no TLSA record at the ClientName */
	MX_HS_N
};

/* What became of the stapled chains a server listener was offered. */
enum mx_stapled {
	MX_SC_VALIDATED = 0,	/* validated now, and it authenticated the name */
	MX_SC_CACHED,		/* a chain validated before (same digest): no work */
	MX_SC_REFUSED,		/* refused (the handshake failure says why) */
	MX_SC_ABSENT,		/* accept: no chain sent, the name looked up */
	MX_SC_N
};

/* Upstream (server role) or remote server (client role) failures. */
enum mx_up_reason {
	MX_UP_CONNECT = 0,	/* connection refused, unreachable, reset at connect */
	MX_UP_CONNECT_TIMEOUT,	/* connect_timeout_ms */
	MX_UP_RESPONSE_TIMEOUT,	/* forward = http: no response head in time (504) */
	MX_UP_PROTOCOL,		/* forward = http: malformed or unsolicited response,
				 * or closed/reset before answering (502) */
	MX_UP_N
};

/* ts002_binding: what became of a TS002 request (a POST the binding
 * judged), per listener. */
enum mx_ts002 {
	MX_TS002_BOUND = 0,	/* SenderID bound to the client's name: forwarded */
	MX_TS002_UNKNOWN_SENDER, /* not bound, or no authenticated name */
	MX_TS002_MALFORMED,	/* not a TS002 message (or not a POST) */
	MX_TS002_TOO_LARGE,	/* body over ts002_max_body: 413 */
	MX_TS002_DNS_ERROR,	/* ts002_binding = dns: no answer (timeout,
				 * SERVFAIL, too many lookups): 503 */
	MX_TS002_N
};

/* What re-checking a live connection against a new TLSA answer for its
 * peer's name concluded (recheck.h). */
enum mx_recheck {
	MX_RC_VALID = 0,	/* a changed answer still authenticates it */
	MX_RC_REVOKED,		/* it no longer does: recheck = log, kept and logged */
	MX_RC_CLOSED,		/* it no longer does: recheck = close, closed */
	MX_RC_DNS_FAILING,	/* no secure answer for recheck_grace_ms: as revoked */
	MX_RC_RESTORED,		/* recheck = log: authenticated again */
	MX_RC_N
};

/* station_binding (LoRa Basics Station): what a check concluded. */
enum mx_station {
	MX_ST_BOUND = 0,	/* the EUI in the path or /router-info is the name's */
	MX_ST_EUI_MISMATCH,	/* another EUI, or a name outside the template */
	MX_ST_BAD_ROUTER_INFO,	/* /router-info's first message unreadable or
				 * another EUI: closed with 1008 */
	MX_ST_N
};

#define MX_USAGE_NONE 4		/* no record matched and the set held several usages */
#define MX_USAGES 5

/* Buckets of the TLSA lookup latency histogram, in microseconds (+Inf
 * implied): 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s. */
#define MX_LATENCY_BUCKETS 13

struct mx_region;

/* ---- master side ---------------------------------------------------------- */

/* Maps a new zeroed region. Returns DP_OK or DP_ERR_NOMEM. */
int metrics_region_new(struct mx_region **out);

/* Unmaps the region; accepts NULL. */
void metrics_region_free(struct mx_region *r);

/* Gives the listener (role, name) a slot for a configuration about to run,
 * keeping its counters if a slot of that role and name exists (a reload),
 * and records its address (kept for diagnostics, not a label) and
 * max_connections (read by workers at every accept, so it applies at once
 * to the running generation too). A slot whose listener is in no running
 * configuration and has no open connection may be reused (its old counters
 * are dropped then). Returns the slot index (>= 0), DP_ERR_INVALID when name
 * is longer than 64 bytes, or DP_ERR_SPACE when all slots are taken. */
int metrics_listener_claim(struct mx_region *r, enum mx_role role,
    const char *name, const char *addr, unsigned max_connections);

/* Marks the listener slots not claimed since the previous call of
 * metrics_listener_commit() as no longer configured (their counters stay
 * shown until the slot is reused). Call after a configuration took over. */
void metrics_listener_commit(struct mx_region *r);

/* The configuration whose listeners were claimed since the last
 * metrics_listener_commit() will not run (a failed reload): listeners
 * claimed for the first time are freed again, the others get their previous
 * max_connections back. */
void metrics_listener_rollback(struct mx_region *r);

/* Takes a free worker slot for a worker of the given generation, zeroed.
 * Returns its index or DP_ERR_SPACE. */
int metrics_slot_take(struct mx_region *r, unsigned generation);

/* Records the pid of the worker using slot. */
void metrics_slot_set_pid(struct mx_region *r, int slot, pid_t pid);

/* The worker in slot has exited (or never started): adds its counters to the
 * retired totals, takes its open connections out of every listener's shared
 * count, and frees the slot. */
void metrics_slot_release(struct mx_region *r, int slot);

/* Master-only numbers shown in the exposition. */
struct mx_master {
	unsigned generation;		/* of the configuration accepting now */
	unsigned workers_configured;	/* in that generation */
	unsigned workers_running;	/* all generations */
	uint64_t reloads_ok, reloads_failed;
	uint64_t worker_restarts;	/* workers that died and were replaced */
	uint64_t start_time;		/* seconds since the epoch */
	int ready;			/* what /readyz says now */
};

/* Renders the Prometheus text exposition (format 0.0.4) of retired totals
 * plus every live slot, and m (NULL: zeros), into a new malloc'ed buffer
 * (*out, *len; the caller frees it). Every family has # HELP and # TYPE;
 * every listener in use gets every label combination, zeros included. Label
 * values are escaped. Returns DP_OK, DP_ERR_NOMEM, or DP_ERR_SPACE if the
 * text would exceed 16 MiB. */
int metrics_render(const struct mx_region *r, const struct mx_master *m,
    char **out, size_t *len);

/* ---- worker side ---------------------------------------------------------- */

/* Makes slot of r this process's current slot (in a worker, after fork). */
void metrics_worker_attach(struct mx_region *r, int slot);

/* The listener hooks count into; looks (role, name) up in the attached
 * region, or returns a private sink when not attached or not found. Never
 * NULL. */
struct mx_listener;
struct mx_listener *mx_listener_get(enum mx_role role, const char *name);

/* A connection was accepted. Returns DP_OK, or DP_ERR_BUSY when the
 * listener already has max_connections open in all workers together: then
 * nothing stays counted as open, MX_OUT_LIMIT is counted, and the caller
 * closes the socket at once without calling mx_conn_close(). Always DP_OK
 * for the private sink (not attached, or a listener the region lacks). */
int mx_conn_open(struct mx_listener *l);

/* A connection was closed at accept by a limit the caller checked itself
 * (its own count against max_connections, max_handshakes): counts
 * MX_OUT_LIMIT. No mx_conn_open() and no mx_conn_close() for it. */
void mx_conn_limit(struct mx_listener *l);

/* A connection was closed at accept because its source is not in the
 * listener's allow_from: counted as MX_OUT_DENIED, like mx_conn_limit(). */
void mx_conn_denied(struct mx_listener *l);

/* A connection opened with mx_conn_open() == DP_OK ended. bytes_in: from the
 * connecting client, bytes_out: towards it. */
void mx_conn_close(struct mx_listener *l, enum mx_outcome o,
    uint64_t bytes_in, uint64_t bytes_out);

/* A handshake did not authenticate the peer, for reason r: once per
 * connection, when the handshake failed or (client_auth = optional) went on
 * without an identity. */
void mx_handshake_failure(struct mx_listener *l, enum mx_hs_reason r);

/* The handshake failure reason for a TLSA answer that left nothing to match:
 * MX_HS_NO_TLSA (secure NXDOMAIN or NODATA), MX_HS_DNS_INSECURE,
 * MX_HS_DNS_BOGUS, else MX_HS_DNS_ERROR. */
enum mx_hs_reason mx_hs_dns(enum dns_status s);

/* A DANE verification finished with records to match against: usage of the
 * matched record (0..3) when matched; when not matched, the usage all
 * records of the set share, or MX_USAGE_NONE when they differ (any other
 * value counts as MX_USAGE_NONE). Labelled usage="pkix-ta", "pkix-ee",
 * "dane-ta", "dane-ee" or "mixed" (MX_USAGE_NONE, mismatches only). */
void mx_dane(struct mx_listener *l, int usage, int matched);

/* The TLSA names a client route watches (tlsamon.h): its own client_name
 * and the remote server's TLSA owner. */
enum mx_name { MX_NAME_OWN = 0, MX_NAME_REMOTE, MX_NAMES };

/* The latest lookup of a watched name: its status, the TTL as published
 * and the RRSIG expiration (seconds since the epoch; 0 unknown) of a
 * secure answer. Gauges, last writer wins. */
void mx_name_state(struct mx_listener *l, enum mx_name which,
    enum dns_status status, uint32_t ttl, int64_t sig_expires);

/* The route's own record against its own certificate: 1 matches, 0 not. */
void mx_self_check(struct mx_listener *l, int ok);

/* What the latest self-check of client route name said: 1 matches, 0 not,
 * -1 not checked (yet). For /readyz. */
int metrics_self_check(const struct mx_region *r, const char *name);

/* A live connection was re-checked with result r. */
void mx_recheck(struct mx_listener *l, enum mx_recheck r);

/* A connection's log line was left out: a refusal repeated within the
 * rate limit's window (conn.c). The connection itself is counted as
 * usual. */
void mx_log_suppressed(struct mx_listener *l);

/* The upstream (server role) or the remote server (client role) failed a
 * connection for reason r. */
void mx_upstream_error(struct mx_listener *l, enum mx_up_reason r);

/* A station_binding check concluded r. */
void mx_station(struct mx_listener *l, enum mx_station r);
/* A stapled chain (or its absence) was judged: result r. */
void mx_stapled(struct mx_listener *l, enum mx_stapled r);

/* The TS002 binding judged one request: result r. */
void mx_ts002(struct mx_listener *l, enum mx_ts002 r);

/* TLSA cache and lookups (per worker, shown summed). The cache reports
 * each get that reaches a verdict with exactly one of the first four;
 * daneproxy_tlsa_cache_misses_total shows misses and merged joins
 * together. */
void mx_tlsa_cache_hit(void);		/* fresh entry (positive or negative) */
void mx_tlsa_cache_miss(void);		/* a lookup was started */
void mx_tlsa_cache_merged(void);	/* joined the lookup in flight for the name */
void mx_tlsa_cache_busy(void);		/* refused: max_inflight lookups in flight */
void mx_tlsa_lookup_start(void);	/* in flight +1 */
void mx_tlsa_lookup_done(enum dns_status s, uint64_t usec);	/* in flight -1 */
void mx_tlsa_lookup_cancel(void);	/* in flight -1, no result counted */
/* A TLSA lookup daneproxy started itself to re-check live connections
 * (counted as well by the cache hooks above). */
void mx_recheck_lookup(void);
/* Names with live connections re-checked: +1 or -1 (a gauge). */
void mx_recheck_names(int delta);

/* Static name of an outcome, as logged and labelled: "ok",
 * "unauthenticated", "refused", "error", "limit", "denied", "revoked". */
const char *mx_outcome_name(enum mx_outcome o);

/* Static name of a handshake failure reason, as labelled: "timeout",
 * "tls", ..., "mismatch", "busy"; "unknown" out of range. */
const char *mx_hs_reason_name(enum mx_hs_reason r);

#endif
