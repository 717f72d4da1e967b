/* recheck.h — live connections re-checked when the TLSA answer for their
 * peer's name changes: revocation by DNS that reaches connections
 * authenticated before it.
 *
 * A worker has one table, tied to its TLSA cache. An authenticated
 * connection registers a watch on its peer's name (the ClientName, or the
 * remote server's TLSA owner) with what a match needs. The table keeps one
 * entry per name watched:
 *  - every answer the cache gets for that name (a new handshake's lookup,
 *    or the entry's own) is looked at, on the event loop, after the cache
 *    delivered it;
 *  - when the answer in hand expires (min(TTL, RRSIG expiration,
 *    cache_max_ttl), as the cache keeps it), the entry looks the name up
 *    itself: one lookup per name, whatever the number of connections;
 *  - an answer identical to the previous one (status, records, wildcard)
 *    costs nothing per connection; a changed one is matched against every
 *    watching connection's certificate (dane_recheck);
 *  - a lookup that fails (timeout, SERVFAIL, max_inflight) is not a
 *    revocation: it is retried (1 s, doubling to 30 s) and reported only to
 *    watches that have had no secure answer for their recheck_grace_ms.
 * The watch's callback hears each change of verdict once: revoked (or DNS
 * failing past the grace), then, if a later answer authenticates the peer
 * again, valid. */
#ifndef DP_RECHECK_H
#define DP_RECHECK_H

#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "cache.h"

struct event_base;
struct dane_rules;
struct recheck_table;
struct recheck_entry;

enum recheck_event {
	RECHECK_VALID,		/* a changed answer still authenticates the peer */
	RECHECK_RESTORED,	/* after a revocation, an answer authenticates it again */
	RECHECK_REVOKED,	/* the answer no longer authenticates it */
	RECHECK_DNS_FAILING,	/* no secure answer for recheck_grace_ms */
};

/* reason: RECHECK_REVOKED and RECHECK_DNS_FAILING: why; RECHECK_VALID and
 * RECHECK_RESTORED: the record that matches ("3 1 1"). Valid during the
 * call. The callback may stop the watch (and free its connection). */
typedef void (*recheck_cb)(void *arg, enum recheck_event ev,
    const char *reason);

/* Lives in the connection; zero it before recheck_watch_start. */
struct recheck_watch {
	struct recheck_entry *e;	/* NULL: not watching */
	LIST_ENTRY(recheck_watch) link;
	const struct dane_rules *rules;
	SSL *ssl;			/* the peer's certificates, from the
					 * handshake: kept by the SSL */
	const char *match_name;		/* what a DANE-TA match looks for */
	int revoked;			/* the last verdict reported was a no */
	recheck_cb cb;
	void *arg;
};

/* A table for cache (whose observer it becomes) on base. Returns DP_OK or
 * DP_ERR_NOMEM. */
int recheck_table_new(struct event_base *base, struct tlsa_cache *cache,
    struct recheck_table **out);

/* Frees the table once every watch has stopped (the connections are
 * gone); detaches it from the cache. Accepts NULL. */
void recheck_table_free(struct recheck_table *t);

/* Starts watching name (a valid DNS name, any case) for w, a connection that ans
 * (a DNS_SECURE answer it was matched against) authenticated: ssl holds
 * its peer's certificates, match_name is what a DANE-TA match looks for,
 * rules are its listener's (outliving the watch). Returns DP_OK,
 * DP_ERR_INVALID (name too long) or DP_ERR_NOMEM (not watched). */
int recheck_watch_start(struct recheck_table *t, struct recheck_watch *w,
    const char *name, struct tlsa_answer *ans, const struct dane_rules *rules,
    SSL *ssl, const char *match_name, recheck_cb cb, void *arg);

/* Stops watching; accepts a watch never started or stopped already. */
void recheck_watch_stop(struct recheck_watch *w);

/* The name w watches (valid while it watches), or NULL. */
const char *recheck_watch_name(const struct recheck_watch *w);

/* Names watched now. */
unsigned recheck_table_names(const struct recheck_table *t);

#endif
